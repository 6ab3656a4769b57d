/*
 * libFuzzer target for the federation request checks (relayd/fed/fedauth.c):
 * header credentials, the bodies of every signed kind, propose and
 * confirm field checks, the small rules and the per-IP limiter.
 *
 * Input: four lines, then the body:
 *	X-Relay-Id\n X-Relay-Timestamp\n X-Relay-Signature\n address\n body
 * An empty header line means the header is absent.  The body goes through
 * the strict parser, as in the frontend, then through every check with
 * relay A (Appendix B, seed 01) as the only known key.  Invariants
 * (abort() otherwise): a parsed request names a valid relay id and a
 * lowercase 128-digit signature; a header credential survives only with
 * a body that repeats its relay and time; propose and confirm output is
 * NUL-terminated and valid; the limiter never lets more than
 * FEDLIMIT_MAX requests through per address and window.
 *
 * Seed corpus: regress/fuzz/corpus/fedauth.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "encoding.h"
#include "fedauth.h"
#include "jcs.h"

#define INPUT_MAX	(64 * 1024)
#define OWN_ID		"relay-22222222-2222-4222-8222-222222222222"
#define PUB_A		\
	"8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"
#define T0		1760000000000LL

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(e) do {							\
	if (!(e)) {							\
		fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #e);	\
		abort();						\
	}								\
} while (0)

static struct fedlimit	 lim;
static int		 lim_ready;
static int64_t		 lim_now;

/* The next line of buf (NUL-terminated in place), or NULL. */
static char *
line(char **p, char *end)
{
	char	*s = *p, *nl;

	if (s >= end)
		return (NULL);
	if ((nl = memchr(s, '\n', end - s)) == NULL)
		return (NULL);
	*nl = '\0';
	*p = nl + 1;
	return (s);
}

static int
lower_hex128(const char *s)
{
	size_t	 i;

	if (strlen(s) != 128)
		return (0);
	for (i = 0; i < 128; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return (0);
	return (1);
}

static void
fuzz_kinds(const json_t *body, const struct fedauth_cred *hdr, int have)
{
	static const enum fedauth_kind kinds[] = {
		FEDAUTH_HEARTBEAT, FEDAUTH_REMOVE, FEDAUTH_ACCEPTED
	};
	struct fedauth_cred	 c;
	char			 err[160];
	size_t			 i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (have)
			c = *hdr;
		else
			memset(&c, 0, sizeof(c));
		if (fedauth_parse(kinds[i], body, OWN_ID, &c, err,
		    sizeof(err)) == -1) {
			CHECK(memchr(err, '\0', sizeof(err)) != NULL);
			continue;
		}
		CHECK(relay_id_valid(c.signer));
		CHECK(lower_hex128(c.sighex));
		CHECK(c.style != FEDAUTH_NONE);
		if (have) {
			CHECK(c.style == FEDAUTH_HEADER);
			CHECK(strcmp(c.signer, hdr->signer) == 0);
			CHECK(c.timestamp == hdr->timestamp);
		} else
			CHECK(c.style != FEDAUTH_HEADER);
		CHECK(c.style == FEDAUTH_BAREID || (c.timestamp >= 0 &&
		    c.timestamp <= FEDAUTH_JS_INT_MAX));
		(void)fedauth_fresh(c.timestamp, T0);
		(void)fedauth_verify(body, &c, PUB_A);
	}
}

static void
fuzz_handshake(const json_t *body)
{
	struct fed_propose	 fp;
	struct fed_confirm	 fc;
	char			 err[160];
	int			 r;

	r = fedauth_propose(body, OWN_ID, 1, &fp, err, sizeof(err));
	CHECK(r == 0 || r == 400 || r == 403);
	if (r == 0) {
		CHECK(relay_id_valid(fp.relay_id));
		CHECK(strcmp(fp.relay_id, OWN_ID) != 0);
		CHECK(strlen(fp.public_key) == 64);
		CHECK(fedauth_url_ok(fp.endpoint));
		CHECK(nonce_valid(fp.nonce));
		CHECK(memchr(fp.display_name, '\0',
		    sizeof(fp.display_name)) != NULL);
		CHECK(memchr(fp.spec_version, '\0',
		    sizeof(fp.spec_version)) != NULL);
	}
	r = fedauth_propose(body, OWN_ID, 0, &fp, err, sizeof(err));
	CHECK(r == 400 || r == 403);
	r = fedauth_confirm(body, OWN_ID, 1, &fc, err, sizeof(err));
	CHECK(r == 0 || r == 400 || r == 403);
	if (r == 0) {
		CHECK(relay_id_valid(fc.relay_id));
		CHECK(lower_hex128(fc.challenge_response));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fedauth_cred	 hdr;
	const struct fedlimit_ent *a;
	char			 pfx[64];
	json_t			*body;
	char			*buf, *p, *end, *id, *ts, *sig, *addr;
	char			 err[160];
	uint32_t		 retry;
	uint8_t			 raw[ED25519_SIG_LEN];
	int			 have, i;

	if (size > INPUT_MAX)
		return (0);
	if (!lim_ready) {
		fedlimit_init(&lim);
		lim_ready = 1;
		lim_now = 1;
	}
	/* no terminating NUL past the input: ASan sees any overread */
	if ((buf = malloc(size)) == NULL)
		abort();
	memcpy(buf, data, size);
	p = buf;
	end = buf + size;
	id = line(&p, end);
	ts = line(&p, end);
	sig = line(&p, end);
	addr = line(&p, end);
	if (addr == NULL) {
		free(buf);
		return (0);
	}

	have = fedauth_headers(*id ? id : NULL, *ts ? ts : NULL,
	    *sig ? sig : NULL, &hdr, err, sizeof(err));
	CHECK(have >= -1 && have <= 1);
	if (have == 1) {
		CHECK(relay_id_valid(hdr.signer));
		CHECK(lower_hex128(hdr.sighex));
		CHECK(hex_decode(hdr.sighex, raw, sizeof(raw)) == 0);
		CHECK(memcmp(raw, hdr.sig, sizeof(raw)) == 0);
		(void)fedauth_verify_get("GET", "/federation/v1/peers",
		    hdr.timestamp, hdr.sig, PUB_A);
	}
	(void)fedauth_spec_major_ok(id);
	(void)nonce_valid(ts);
	(void)fedauth_url_ok(sig);

	if ((body = jcs_parse(p, end - p, err, sizeof(err))) != NULL) {
		fuzz_kinds(body, &hdr, have == 1);
		fuzz_handshake(body);
		json_decref(body);
	}

	/* the limiter: a fresh window every 64 inputs */
	if (strlen(addr) < 64) {
		lim_now += (size & 63) == 0 ? FEDLIMIT_WINDOW_MS : 1;
		for (i = 0; i < 4; i++)
			if (fedlimit_check(&lim, addr, lim_now, &retry) == -1)
				CHECK(retry >= 1 && retry <=
				    FEDLIMIT_WINDOW_MS / 1000);
		CHECK(lim.addrs.n <= FEDLIMIT_ADDRS);
		CHECK(lim.prefixes.n <= FEDLIMIT_PREFIXES);
		if ((a = fedlimit_find(&lim.addrs, addr)) != NULL)
			CHECK(a->count <= FEDLIMIT_MAX);
		(void)fedauth_prefix(addr, pfx, sizeof(pfx));
		if ((a = fedlimit_find(&lim.prefixes, pfx)) != NULL)
			CHECK(a->count <= FEDLIMIT_PREFIX_MAX);
	}
	free(buf);
	return (0);
}
