/*
 * libFuzzer target for the agent API's parsers (relayd/frontend/
 * agent_token.c, agent_body.c): the Authorization header of an agent
 * token and the bootstrap, register, heartbeat and listing bodies.
 *
 * Input: the first line is the Authorization header value (empty: none),
 * the rest a JSON body.  The header goes through agent_token_parse() and,
 * when it parses, agent_token_claims() and agent_token_verify() with key
 * A of the vectors; the body through the strict parser and then every
 * body check.  Invariants (abort() otherwise): a parsed token has
 * NUL-terminated, valid ids and exp in [1, 2^53 - 1]; every refusal has
 * a status of 401 or 403 and a non-empty message; the register and
 * listing documents are canonicalisable, carry the fields ledgerd reads
 * with the types it casts to, and every price is an integer in
 * [0, 2^53 - 1]; a bootstrap result has valid ids and a lowercase key.
 *
 * Seed corpus: regress/fuzz/corpus/agent.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent_body.h"
#include "agent_token.h"
#include "jcs.h"

#define INPUT_MAX	(64 * 1024)
#define PUB_A		\
	"d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737"
#define T0		1760000000000LL

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(e) do {							\
	if (!(e)) {							\
		fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #e);	\
		abort();						\
	}								\
} while (0)

static int
lowerhex(const char *s, size_t n)
{
	size_t	 i;

	if (strlen(s) != n)
		return (0);
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return (0);
	return (1);
}

static void
token(const char *hdr)
{
	struct agent_token	 tok;
	enum agtok_err		 e;
	char			 err[256];

	err[0] = '\0';
	e = agent_token_parse(hdr, &tok, err, sizeof(err));
	if (e != AGTOK_OK) {
		CHECK(err[0] != '\0');
		CHECK(agent_token_status(e) == 401);
		return;
	}
	CHECK(agent_id_ok(tok.mid, sizeof(tok.mid)));
	CHECK(agent_id_ok(tok.did, sizeof(tok.did)));
	CHECK(agent_id_ok(tok.jti, sizeof(tok.jti)));
	CHECK(tok.aud[0] != '\0' && strlen(tok.aud) < sizeof(tok.aud));
	CHECK(tok.exp >= 1 && tok.exp <= AGTOK_JS_INT_MAX);
	CHECK(tok.payloadlen > 0 && tok.payloadlen <= AGTOK_PAYLOAD_MAX);
	err[0] = '\0';
	e = agent_token_claims(&tok, T0, AGTOK_AUD_ADMIN, err, sizeof(err));
	if (e != AGTOK_OK) {
		CHECK(err[0] != '\0');
		CHECK(agent_token_status(e) == 401 ||
		    agent_token_status(e) == 403);
		return;
	}
	CHECK(tok.exp > T0 && tok.exp - T0 <= AGTOK_LIFETIME_MAX);
	e = agent_token_verify(&tok, PUB_A);
	CHECK(e == AGTOK_OK || e == AGTOK_BAD_SIGNATURE);
}

static void
canonical(const json_t *doc)
{
	char	*c;
	size_t	 len;

	CHECK((c = jcs_serialize(doc, 0, &len)) != NULL);
	CHECK(len <= AG_DOC_MAX);
	free(c);
}

static void
body(const json_t *b)
{
	struct agb_bootstrap	 bs;
	const json_t		*v, *e;
	json_t			*doc;
	char			 err[256], key[PUBKEY_HEX_MAX];
	size_t			 i;
	int			 rc;

	if (agent_body_bootstrap(b, &bs, err, sizeof(err)) == 0) {
		CHECK(agent_id_ok(bs.motebit_id, sizeof(bs.motebit_id)));
		CHECK(bs.device_id[0] == '\0' ||
		    agent_id_ok(bs.device_id, sizeof(bs.device_id)));
		CHECK(lowerhex(bs.public_key, 64));
	} else
		CHECK(err[0] != '\0');

	rc = agent_body_heartbeat(b, "mid-1", err, sizeof(err));
	CHECK(rc == 0 || rc == 400 || rc == 403);

	rc = agent_body_register(b, "mid-1", &doc, key, err, sizeof(err));
	if (rc == 0) {
		canonical(doc);
		CHECK(key[0] == '\0' || lowerhex(key, 64));
		v = json_object_get(doc, "endpoint_url");
		CHECK(json_is_string(v) && agent_url_ok(json_string_value(v)));
		v = json_object_get(doc, "capabilities");
		CHECK(json_is_array(v) && json_array_size(v) <=
		    ROUTE_CAPS_MAX);
		json_array_foreach(v, i, e)
			CHECK(agent_capability_ok(json_string_value(e)));
		CHECK(json_is_boolean(json_object_get(doc,
		    "federation_visible")));
		v = json_object_get(doc, "sweep_threshold");
		CHECK(v == NULL || (json_is_integer(v) &&
		    json_integer_value(v) >= 0));
		(void)agent_guardian_verify(doc, "mid-1", err, sizeof(err));
		if ((v = json_object_get(doc, "succession")) != NULL && key[0])
			(void)agent_succession_verify(v, PUB_A, key, err,
			    sizeof(err));
		json_decref(doc);
	} else {
		CHECK(rc == 400 || rc == 403 || rc == 500);
		CHECK(doc == NULL && err[0] != '\0');
	}

	rc = agent_body_listing(b, "ls-x", &doc, err, sizeof(err));
	if (rc == 0) {
		canonical(doc);
		v = json_object_get(doc, "pricing");
		CHECK(json_is_array(v));
		json_array_foreach(v, i, e) {
			CHECK(json_is_integer(json_object_get(e, "unit_cost")));
			CHECK(json_integer_value(json_object_get(e,
			    "unit_cost")) >= 0);
			CHECK(json_integer_value(json_object_get(e,
			    "unit_cost")) <= AGTOK_JS_INT_MAX);
			CHECK(agent_capability_ok(json_string_value(
			    json_object_get(e, "capability"))));
		}
		json_decref(doc);
	} else
		CHECK(doc == NULL && err[0] != '\0');

	/* any number through the price conversion */
	if (json_is_number(b)) {
		int64_t	 m;

		if (agent_dollars_to_micro(b, &m) == 0)
			CHECK(m >= 0 && m <= AGTOK_JS_INT_MAX);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*buf, *nl;
	json_t	*b;
	size_t	 hlen;

	if (size > INPUT_MAX)
		return (0);
	if ((buf = malloc(size + 1)) == NULL)
		return (0);
	memcpy(buf, data, size);
	buf[size] = '\0';
	if ((nl = memchr(buf, '\n', size)) == NULL) {
		free(buf);
		return (0);
	}
	*nl = '\0';
	hlen = nl - buf;
	if (strlen(buf) == hlen)
		token(hlen > 0 ? buf : NULL);
	if ((b = jcs_parse(nl + 1, size - hlen - 1, NULL, 0)) != NULL) {
		body(b);
		json_decref(b);
	}
	free(buf);
	return (0);
}
