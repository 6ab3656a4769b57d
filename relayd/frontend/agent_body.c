/*
 * The agent API's request bodies (agent_body.h), field by field.
 */
#include "config.h"

#include <sys/types.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent_body.h"
#include "agent_token.h"
#include "crypto.h"
#include "encoding.h"
#include "jcs.h"

#define JS_INT_MAX	9007199254740991LL

static int
fail(char *err, size_t errlen, int status, const char *fmt, const char *arg)
{
	snprintf(err, errlen, fmt, arg);
	return (status);
}

/* Characters (code points) of valid UTF-8; -1 with a control char. */
static long
text_chars(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	long			 n = 0;

	for (; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return (-1);
		if ((*p & 0xc0) != 0x80)
			n++;
	}
	return (n);
}

/* A string of 64 hex digits, either case, into lowercase. */
int
agent_hexkey(const json_t *v, char out[PUBKEY_HEX_MAX])
{
	const char	*s;
	size_t		 i;

	if (!json_is_string(v) || json_string_length(v) != 64)
		return (-1);
	s = json_string_value(v);
	for (i = 0; i < 64; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			out[i] = s[i];
		else if (s[i] >= 'a' && s[i] <= 'f')
			out[i] = s[i];
		else if (s[i] >= 'A' && s[i] <= 'F')
			out[i] = s[i] - 'A' + 'a';
		else
			return (-1);
	}
	out[64] = '\0';
	return (0);
}

/* Hex of exactly n bytes (signatures), either case. */
static int
hex_bytes(const json_t *v, uint8_t *out, size_t n)
{
	char	 buf[2 * 64 + 1];
	size_t	 i;

	if (!json_is_string(v) || json_string_length(v) != 2 * n ||
	    n > 64)
		return (-1);
	for (i = 0; i < 2 * n; i++) {
		buf[i] = json_string_value(v)[i];
		if (buf[i] >= 'A' && buf[i] <= 'F')
			buf[i] = buf[i] - 'A' + 'a';
	}
	buf[2 * n] = '\0';
	return (hex_decode(buf, out, n));
}

/*
 * Capability names: 1 to ROUTE_CAP_MAX - 1 bytes, a letter or digit
 * first, then letters, digits and "_.:/-".
 */
int
agent_capability_ok(const char *s)
{
	size_t	 i;

	if (s == NULL || !((s[0] >= 'a' && s[0] <= 'z') ||
	    (s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= '0' && s[0] <= '9')))
		return (0);
	for (i = 0; s[i] != '\0'; i++) {
		if (i + 1 >= ROUTE_CAP_MAX)
			return (0);
		if ((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		    s[i] == '.' || s[i] == ':' || s[i] == '/' || s[i] == '-')
			continue;
		return (0);
	}
	return (1);
}

/*
 * endpoint_url: "" (an agent reached over the relay's own connection)
 * or http:// or https:// with a host, at most AGB_URL_MAX - 1 bytes of
 * visible ASCII.
 */
int
agent_url_ok(const char *s)
{
	const char	*h;
	size_t		 i;

	if (s == NULL)
		return (0);
	if (s[0] == '\0')
		return (1);
	if (strncmp(s, "http://", 7) == 0)
		h = s + 7;
	else if (strncmp(s, "https://", 8) == 0)
		h = s + 8;
	else
		return (0);
	if (*h == '\0' || *h == '/' || *h == ':' || *h == '@')
		return (0);
	for (i = 0; s[i] != '\0'; i++)
		if (i + 1 >= AGB_URL_MAX || s[i] <= 0x20 || s[i] >= 0x7f)
			return (0);
	return (1);
}

/* A Solana address: 32 to 44 base58 characters naming 32 bytes. */
int
agent_solana_ok(const char *s)
{
	uint8_t	 b[64];
	size_t	 n;

	if (s == NULL || (n = strlen(s)) < 32 || n > 44)
		return (0);
	return (base58_decode(s, b, sizeof(b)) == 32);
}

/* settlement_modes: "relay", "p2p", or both comma-separated, once each. */
int
agent_modes_ok(const char *s)
{
	return (s != NULL && (strcmp(s, "relay") == 0 ||
	    strcmp(s, "p2p") == 0 || strcmp(s, "relay,p2p") == 0 ||
	    strcmp(s, "p2p,relay") == 0));
}

int
agent_dollars_to_micro(const json_t *v, int64_t *out)
{
	double	 x, y, r;

	if (!json_is_number(v))
		return (-1);
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return (-1);
		x = (double)json_integer_value(v);
	} else
		x = json_real_value(v);
	if (!isfinite(x) || x < 0)
		return (-1);
	y = x * 1e6;		/* one IEEE multiplication, as JS */
	if (!isfinite(y) || y > (double)JS_INT_MAX)
		return (-1);
	/* Math.round: the nearest integer, halves up */
	r = floor(y);
	if (y - r >= 0.5)
		r += 1;
	if (r > (double)JS_INT_MAX)
		return (-1);
	*out = (int64_t)r;
	return (0);
}

static int
opt_null(const json_t *v)
{
	return (v == NULL || json_is_null(v));
}

int
agent_body_bootstrap(const json_t *b, struct agb_bootstrap *bs, char *err,
    size_t errlen)
{
	const json_t	*v;

	memset(bs, 0, sizeof(*bs));
	if (!json_is_object(b))
		return (fail(err, errlen, 400, "%sthe body must be a JSON "
		    "object", ""));
	v = json_object_get(b, "motebit_id");
	if (!json_is_string(v) || !agent_id_ok(json_string_value(v),
	    sizeof(bs->motebit_id)))
		return (fail(err, errlen, 400, "motebit_id must be 1 to %s "
		    "letters, digits or ._:-", "127"));
	strlcpy(bs->motebit_id, json_string_value(v), sizeof(bs->motebit_id));
	v = json_object_get(b, "device_id");
	if (!opt_null(v)) {
		if (!json_is_string(v) || !agent_id_ok(json_string_value(v),
		    sizeof(bs->device_id)))
			return (fail(err, errlen, 400, "device_id must be 1 "
			    "to %s letters, digits or ._:-", "127"));
		strlcpy(bs->device_id, json_string_value(v),
		    sizeof(bs->device_id));
	}
	if (agent_hexkey(json_object_get(b, "public_key"),
	    bs->public_key) == -1)
		return (fail(err, errlen, 400, "public_key must be %s hex "
		    "digits (Ed25519)", "64"));
	return (0);
}

static int
body_mid(const json_t *b, const char *mid, char *err, size_t errlen)
{
	const json_t	*v = json_object_get(b, "motebit_id");

	if (opt_null(v))
		return (0);
	if (!json_is_string(v))
		return (fail(err, errlen, 400, "motebit_id must be a %s",
		    "string"));
	if (strcmp(json_string_value(v), mid) != 0)
		return (fail(err, errlen, 403, "motebit_id %s is not the "
		    "token's (mid)", "in the body"));
	return (0);
}

int
agent_body_heartbeat(const json_t *b, const char *mid, char *err,
    size_t errlen)
{
	if (b == NULL)
		return (0);
	if (!json_is_object(b))
		return (fail(err, errlen, 400, "%sthe body must be a JSON "
		    "object", ""));
	return (body_mid(b, mid, err, errlen));
}

/* capabilities: an array of distinct names, at most ROUTE_CAPS_MAX. */
static int
caps_check(const json_t *v, const char *field, char *err, size_t errlen)
{
	size_t	 i, j;

	if (!json_is_array(v))
		return (fail(err, errlen, 400, "%s must be an array of "
		    "capability names", field));
	if (json_array_size(v) > ROUTE_CAPS_MAX)
		return (fail(err, errlen, 400, "%s: at most 32 capabilities",
		    field));
	for (i = 0; i < json_array_size(v); i++) {
		if (!json_is_string(json_array_get(v, i)) ||
		    !agent_capability_ok(json_string_value(
		    json_array_get(v, i))))
			return (fail(err, errlen, 400, "%s: a name is 1 to 63 "
			    "letters, digits or _.:/- and starts with a "
			    "letter or digit", field));
		for (j = 0; j < i; j++)
			if (json_equal(json_array_get(v, i),
			    json_array_get(v, j)))
				return (fail(err, errlen, 400, "%s: a name is "
				    "repeated", field));
	}
	return (0);
}

static int
meta_text(const json_t *m, const char *key, long max, const char **out,
    char *err, size_t errlen)
{
	const json_t	*v = json_object_get(m, key);
	long		 n;

	if (opt_null(v))
		return (0);
	if (!json_is_string(v) ||
	    strlen(json_string_value(v)) != json_string_length(v) ||
	    (n = text_chars(json_string_value(v))) < 0 || n > max) {
		snprintf(err, errlen, "metadata.%s must be a string of at "
		    "most %ld characters without control characters", key,
		    max);
		return (400);
	}
	*out = json_string_value(v);
	return (0);
}

static int
jset(json_t *o, const char *key, json_t *v)
{
	if (v == NULL || json_object_set_new(o, key, v) == -1)
		return (-1);
	return (0);
}

int
agent_body_register(const json_t *b, const char *mid, json_t **docp,
    char newkey[PUBKEY_HEX_MAX], char *err, size_t errlen)
{
	const json_t	*v, *m, *s;
	const char	*name = NULL, *dname = NULL, *desc = NULL;
	json_t		*doc;
	char		 key[PUBKEY_HEX_MAX], *canon;
	uint8_t		 sig[ED25519_SIG_LEN];
	size_t		 len;
	int		 rc;

	*docp = NULL;
	newkey[0] = '\0';
	if (!json_is_object(b))
		return (fail(err, errlen, 400, "%sthe body must be a JSON "
		    "object", ""));
	if ((rc = body_mid(b, mid, err, errlen)) != 0)
		return (rc);
	v = json_object_get(b, "endpoint_url");
	if (!json_is_string(v) ||
	    strlen(json_string_value(v)) != json_string_length(v) ||
	    !agent_url_ok(json_string_value(v)))
		return (fail(err, errlen, 400, "endpoint_url is required: "
		    "\"\" or an http(s) URL of at most %s bytes", "255"));
	if ((rc = caps_check(json_object_get(b, "capabilities"),
	    "capabilities", err, errlen)) != 0)
		return (rc);
	m = json_object_get(b, "metadata");
	if (!opt_null(m)) {
		if (!json_is_object(m))
			return (fail(err, errlen, 400, "metadata must be an "
			    "object or %s", "null"));
		if ((canon = jcs_serialize(m, 0, &len)) == NULL)
			return (fail(err, errlen, 400, "metadata cannot be "
			    "%s", "canonicalised"));
		free(canon);
		if (len > AGB_META_MAX)
			return (fail(err, errlen, 400, "metadata is longer "
			    "than %s bytes", "4096"));
		if ((rc = meta_text(m, "name", AGB_NAME_MAX, &name, err,
		    errlen)) != 0 || (rc = meta_text(m, "display_name",
		    AGB_NAME_MAX, &dname, err, errlen)) != 0 ||
		    (rc = meta_text(m, "description", AGB_DESC_MAX, &desc,
		    err, errlen)) != 0)
			return (rc);
	}
	v = json_object_get(b, "public_key");
	if (!opt_null(v) && agent_hexkey(v, newkey) == -1)
		return (fail(err, errlen, 400, "public_key must be %s hex "
		    "digits (Ed25519)", "64"));
	v = json_object_get(b, "federation_visible");
	if (!opt_null(v) && !json_is_boolean(v))
		return (fail(err, errlen, 400, "federation_visible must be a "
		    "%s", "boolean"));
	v = json_object_get(b, "settlement_address");
	if (!opt_null(v) && (!json_is_string(v) ||
	    !agent_solana_ok(json_string_value(v))))
		return (fail(err, errlen, 400, "settlement_address must be a "
		    "Solana address (%s base58 characters, 32 bytes)",
		    "32 to 44"));
	v = json_object_get(b, "settlement_modes");
	if (!opt_null(v) && (!json_is_string(v) ||
	    !agent_modes_ok(json_string_value(v))))
		return (fail(err, errlen, 400, "settlement_modes must be %s",
		    "\"relay\", \"p2p\" or both, comma-separated"));
	v = json_object_get(b, "sweep_threshold");
	if (!opt_null(v) && (!json_is_integer(v) ||
	    json_integer_value(v) < 0 || json_integer_value(v) > JS_INT_MAX))
		return (fail(err, errlen, 400, "sweep_threshold must be an "
		    "integer of micro-units in [0, %s]", "2^53 - 1"));
	v = json_object_get(b, "guardian_public_key");
	if (!opt_null(v)) {
		if (agent_hexkey(v, key) == -1)
			return (fail(err, errlen, 400, "guardian_public_key "
			    "must be %s hex digits", "64"));
		if (hex_bytes(json_object_get(b, "guardian_attestation"), sig,
		    sizeof(sig)) == -1)
			return (fail(err, errlen, 400, "guardian_attestation "
			    "must be %s hex digits", "128"));
	} else if (!opt_null(json_object_get(b, "guardian_attestation")))
		return (fail(err, errlen, 400, "guardian_attestation needs "
		    "%s", "guardian_public_key"));
	s = json_object_get(b, "succession");
	if (!opt_null(s) && newkey[0] == '\0')
		return (fail(err, errlen, 400, "succession needs the new "
		    "%s", "public_key"));
	if (!opt_null(s) && !json_is_object(s))
		return (fail(err, errlen, 400, "succession must be a key "
		    "succession %s", "record"));

	/* the normalised document */
	if ((doc = json_object()) == NULL)
		return (fail(err, errlen, 500, "%sout of memory", ""));
	if (jset(doc, "endpoint_url", json_deep_copy(json_object_get(b,
	    "endpoint_url"))) == -1 ||
	    jset(doc, "capabilities", json_deep_copy(json_object_get(b,
	    "capabilities"))) == -1 ||
	    jset(doc, "metadata", opt_null(m) ? json_null() :
	    json_deep_copy(m)) == -1)
		goto oom;
	if (dname != NULL || name != NULL)
		if (jset(doc, "display_name", json_string(dname != NULL ?
		    dname : name)) == -1)
			goto oom;
	if (desc != NULL && jset(doc, "description", json_string(desc)) == -1)
		goto oom;
	if (newkey[0] != '\0' && jset(doc, "public_key",
	    json_string(newkey)) == -1)
		goto oom;
	v = json_object_get(b, "federation_visible");
	if (jset(doc, "federation_visible", json_boolean(opt_null(v) ||
	    json_is_true(v))) == -1)
		goto oom;
	if (!opt_null(v = json_object_get(b, "settlement_address")) &&
	    jset(doc, "settlement_address", json_deep_copy(v)) == -1)
		goto oom;
	if (!opt_null(v = json_object_get(b, "settlement_modes")) &&
	    jset(doc, "settlement_modes", json_deep_copy(v)) == -1)
		goto oom;
	if (!opt_null(v = json_object_get(b, "sweep_threshold")) &&
	    jset(doc, "sweep_threshold", json_deep_copy(v)) == -1)
		goto oom;
	if (!opt_null(json_object_get(b, "guardian_public_key")) &&
	    (jset(doc, "guardian_public_key", json_string(key)) == -1 ||
	    jset(doc, "guardian_attestation", json_deep_copy(
	    json_object_get(b, "guardian_attestation"))) == -1))
		goto oom;
	if (!opt_null(s) && jset(doc, "succession", json_deep_copy(s)) == -1)
		goto oom;
	*docp = doc;
	return (0);
 oom:
	json_decref(doc);
	return (fail(err, errlen, 500, "%sout of memory", ""));
}

/*
 * The guardian attestation, once the motebit_id is known: hex over
 * JCS({action:"guardian_attestation", guardian_public_key, motebit_id}).
 * doc is agent_body_register()'s document: 0 or 400.
 */
int
agent_guardian_verify(const json_t *doc, const char *mid, char *err,
    size_t errlen)
{
	const json_t	*g = json_object_get(doc, "guardian_public_key");
	json_t		*o;
	uint8_t		 pub[ED25519_PUB_LEN], sig[ED25519_SIG_LEN];
	char		*c;
	size_t		 len;
	int		 ok;

	if (g == NULL)
		return (0);
	if (hex_decode(json_string_value(g), pub, sizeof(pub)) == -1 ||
	    hex_bytes(json_object_get(doc, "guardian_attestation"), sig,
	    sizeof(sig)) == -1)
		return (fail(err, errlen, 400, "%sbad guardian key", ""));
	o = json_pack("{s:s, s:O, s:s}", "action", "guardian_attestation",
	    "guardian_public_key", g, "motebit_id", mid);
	if (o == NULL || (c = jcs_serialize(o, 0, &len)) == NULL) {
		json_decref(o);
		return (fail(err, errlen, 500, "%sout of memory", ""));
	}
	ok = ed25519_verify(pub, (const uint8_t *)c, len, sig) == 0;
	free(c);
	json_decref(o);
	if (!ok)
		return (fail(err, errlen, 400, "guardian_attestation does not "
		    "verify with %s", "guardian_public_key"));
	return (0);
}

int
agent_succession_verify(const json_t *s, const char *oldkey,
    const char *newkey, char *err, size_t errlen)
{
	const json_t	*v;
	json_t		*o;
	char		 k1[PUBKEY_HEX_MAX], k2[PUBKEY_HEX_MAX], *c;
	uint8_t		 pub[ED25519_PUB_LEN], sig1[ED25519_SIG_LEN];
	uint8_t		 sig2[ED25519_SIG_LEN];
	size_t		 len;
	int		 ok;

	if (!json_is_object(s))
		return (fail(err, errlen, 400, "a key change needs a "
		    "succession record signed by the %s key", "current"));
	v = json_object_get(s, "suite");
	if (!json_is_string(v) || strcmp(json_string_value(v),
	    AGB_SUITE_SUCCESSION) != 0)
		return (fail(err, errlen, 400, "succession.suite must be %s",
		    AGB_SUITE_SUCCESSION));
	if (json_is_true(json_object_get(s, "recovery")))
		return (fail(err, errlen, 400, "succession: %s", "guardian "
		    "recovery is not supported by this relay"));
	v = json_object_get(s, "recovery");
	if (v != NULL && !json_is_boolean(v))
		return (fail(err, errlen, 400, "succession.recovery must be "
		    "a %s", "boolean"));
	if (agent_hexkey(json_object_get(s, "old_public_key"), k1) == -1 ||
	    agent_hexkey(json_object_get(s, "new_public_key"), k2) == -1)
		return (fail(err, errlen, 400, "succession: old_public_key "
		    "and new_public_key must be %s hex digits", "64"));
	if (strcmp(k1, oldkey) != 0)
		return (fail(err, errlen, 400, "succession.old_public_key is "
		    "not the %s key of the identity", "current"));
	if (strcmp(k2, newkey) != 0)
		return (fail(err, errlen, 400, "succession.new_public_key is "
		    "not the %s", "public_key of the body"));
	v = json_object_get(s, "timestamp");
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > JS_INT_MAX)
		return (fail(err, errlen, 400, "succession.timestamp must be "
		    "an integer (%s)", "epoch ms"));
	v = json_object_get(s, "reason");
	if (!opt_null(v) && (!json_is_string(v) ||
	    json_string_length(v) > 200))
		return (fail(err, errlen, 400, "succession.reason must be a "
		    "string of at most %s bytes", "200"));
	if (hex_bytes(json_object_get(s, "old_key_signature"), sig1,
	    sizeof(sig1)) == -1 ||
	    hex_bytes(json_object_get(s, "new_key_signature"), sig2,
	    sizeof(sig2)) == -1)
		return (fail(err, errlen, 400, "succession: old_key_signature "
		    "and new_key_signature must be %s hex digits", "128"));
	/* the signed bytes: the record without its signatures */
	if ((o = json_deep_copy(s)) == NULL)
		return (fail(err, errlen, 500, "%sout of memory", ""));
	json_object_del(o, "old_key_signature");
	json_object_del(o, "new_key_signature");
	json_object_del(o, "signature");
	if ((c = jcs_serialize(o, 0, &len)) == NULL) {
		json_decref(o);
		return (fail(err, errlen, 400, "succession cannot be %s",
		    "canonicalised"));
	}
	json_decref(o);
	ok = hex_decode(k1, pub, sizeof(pub)) == 0 &&
	    ed25519_verify(pub, (const uint8_t *)c, len, sig1) == 0;
	if (ok)
		ok = hex_decode(k2, pub, sizeof(pub)) == 0 &&
		    ed25519_verify(pub, (const uint8_t *)c, len, sig2) == 0 ?
		    1 : 2;
	free(c);
	if (ok == 0)
		return (fail(err, errlen, 400, "succession: old_key_signature "
		    "does not verify with the %s key", "current"));
	if (ok == 2)
		return (fail(err, errlen, 400, "succession: new_key_signature "
		    "does not verify with the %s key", "new"));
	return (0);
}

int
agent_body_listing(const json_t *b, const char *listing_id, json_t **docp,
    char *err, size_t errlen)
{
	const json_t	*v, *p, *e, *sla;
	json_t		*doc, *prices, *o;
	const char	*cap;
	int64_t		 micro;
	long		 n;
	size_t		 i, j;

	*docp = NULL;
	if (!json_is_object(b))
		return (fail(err, errlen, 400, "%sthe body must be a JSON "
		    "object", ""));
	if (!opt_null(v = json_object_get(b, "capabilities")) &&
	    caps_check(v, "capabilities", err, errlen) != 0)
		return (400);
	p = json_object_get(b, "pricing");
	if (!json_is_array(p) || json_array_size(p) > AGB_PRICES_MAX)
		return (fail(err, errlen, 400, "pricing must be an array of "
		    "at most %s {capability, unit_cost} entries", "32"));
	v = json_object_get(b, "description");
	if (!opt_null(v) && (!json_is_string(v) ||
	    strlen(json_string_value(v)) != json_string_length(v) ||
	    (n = text_chars(json_string_value(v))) < 0 || n > AGB_DESC_MAX))
		return (fail(err, errlen, 400, "description must be a string "
		    "of at most %s characters", "200"));
	sla = json_object_get(b, "sla");
	if (!opt_null(sla) && !json_is_object(sla))
		return (fail(err, errlen, 400, "sla must be an %s", "object"));
	if (!opt_null(sla)) {
		v = json_object_get(sla, "max_latency_ms");
		if (!opt_null(v) && (!json_is_integer(v) ||
		    json_integer_value(v) < 0 ||
		    json_integer_value(v) > AGB_LATENCY_MAX))
			return (fail(err, errlen, 400, "sla.max_latency_ms "
			    "must be an integer in [0, %s]", "86400000"));
		v = json_object_get(sla, "availability_guarantee");
		if (!opt_null(v) && (!json_is_number(v) ||
		    json_number_value(v) < 0 || json_number_value(v) > 1))
			return (fail(err, errlen, 400, "sla.availability_"
			    "guarantee must be a number in [0, %s]", "1"));
	}
	if ((doc = json_object()) == NULL || (prices = json_array()) == NULL ||
	    json_object_set_new(doc, "pricing", prices) == -1) {
		json_decref(doc);
		return (fail(err, errlen, 500, "%sout of memory", ""));
	}
	for (i = 0; i < json_array_size(p); i++) {
		e = json_array_get(p, i);
		if (!json_is_object(e)) {
			json_decref(doc);
			return (fail(err, errlen, 400, "pricing[] entries "
			    "must be %s", "objects"));
		}
		v = json_object_get(e, "capability");
		if (!json_is_string(v) ||
		    !agent_capability_ok(json_string_value(v))) {
			json_decref(doc);
			return (fail(err, errlen, 400, "pricing[].capability "
			    "must be a capability %s", "name"));
		}
		cap = json_string_value(v);
		for (j = 0; j < i; j++)
			if (json_equal(v, json_object_get(json_array_get(p,
			    j), "capability"))) {
				json_decref(doc);
				return (fail(err, errlen, 400, "pricing: "
				    "capability %.63s is priced twice", cap));
			}
		if (agent_dollars_to_micro(json_object_get(e, "unit_cost"),
		    &micro) == -1) {
			json_decref(doc);
			return (fail(err, errlen, 400, "pricing[].unit_cost "
			    "must be a number of dollars, at least 0, whose "
			    "micro-units are at most %s", "2^53 - 1"));
		}
		v = json_object_get(e, "currency");
		if (!opt_null(v) && (!json_is_string(v) ||
		    strcmp(json_string_value(v), "USDC") != 0)) {
			json_decref(doc);
			return (fail(err, errlen, 400, "pricing[].currency "
			    "must be %s", "\"USDC\""));
		}
		v = json_object_get(e, "per");
		if (!opt_null(v) && (!json_is_string(v) ||
		    !agent_capability_ok(json_string_value(v)) ||
		    json_string_length(v) > 31)) {
			json_decref(doc);
			return (fail(err, errlen, 400, "pricing[].per must be "
			    "a unit name such as %s", "\"task\""));
		}
		o = json_pack("{s:s, s:I, s:s, s:s}", "capability", cap,
		    "unit_cost", (json_int_t)micro, "currency", "USDC", "per",
		    opt_null(v) ? "task" : json_string_value(v));
		if (o == NULL || json_array_append_new(prices, o) == -1) {
			json_decref(doc);
			return (fail(err, errlen, 500, "%sout of memory", ""));
		}
	}
	if (jset(doc, "listing_id", json_string(listing_id)) == -1 ||
	    (!opt_null(v = json_object_get(b, "description")) &&
	    jset(doc, "description", json_deep_copy(v)) == -1) ||
	    (!opt_null(sla) && !opt_null(v = json_object_get(sla,
	    "max_latency_ms")) && jset(doc, "max_latency_ms",
	    json_deep_copy(v)) == -1) ||
	    (!opt_null(sla) && !opt_null(v = json_object_get(sla,
	    "availability_guarantee")) && jset(doc, "availability",
	    json_real(json_number_value(v))) == -1)) {
		json_decref(doc);
		return (fail(err, errlen, 500, "%sout of memory", ""));
	}
	*docp = doc;
	return (0);
}
