/*
 * Unit tests for keyd: the policy table (every imsg type against every
 * requester), the signing inputs and signatures against the Appendix B
 * vectors, the refusals (self-propose, stale timestamps, malformed
 * requests, non-canonical or off-schema documents), the signed documents
 * (verified independently over the expected canonical bytes), the audit
 * record digest, the key file, and finally the real keyd binary driven
 * over fd 3 the way relayd drives it.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "audit.h"
#include "crypto.h"
#include "encoding.h"
#include "imsg.h"
#include "jcs.h"
#include "keyd.h"
#include "relayd_imsg.h"
#include "vectors.h"

#define RELAY_A		"relay-11111111-1111-4111-8111-111111111111"
#define RELAY_B		"relay-22222222-2222-4222-8222-222222222222"
#define RELAY_C		"relay-33333333-3333-4333-8333-333333333333"
#define TS		1760000000000LL
#define SKEW		KEYD_CLOCK_SKEW_MS
#define NONCE_A		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
			"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define NONCE_B		"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" \
			"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define PUB_B		"8139770ea87d175f56a35466c34c7ecc" \
			"cb8d8a91b4ee37a25df60f5b8fc9b394"
#define DID_B \
	"did:key:z6Mko9hTggMwjSTEaJaPUfE6tqcy2xvU6BnNq3e3o8qVBiyH"

/* /.well-known/motebit.json without relay_id, public_key, suite */
#define METADATA_DOC "{\"agent_count\":3,\"capabilities\":[\"task_routing\"," \
	"\"credential_store\",\"sync\",\"federation\",\"settlement\"]," \
	"\"display_name\":\"relay-b\",\"endpoint_url\":\"https://b.example\"," \
	"\"federation_peers\":[{\"endpoint_url\":\"https://a.example\"," \
	"\"relay_id\":\"" RELAY_A "\"}],\"fee_rate\":0.05," \
	"\"protocol_version\":\"1.0\"}"
/* what keyd must sign for it, written out by hand */
#define METADATA_TBS "{\"agent_count\":3,\"capabilities\":[\"task_routing\"," \
	"\"credential_store\",\"sync\",\"federation\",\"settlement\"]," \
	"\"display_name\":\"relay-b\",\"endpoint_url\":\"https://b.example\"," \
	"\"federation_peers\":[{\"endpoint_url\":\"https://a.example\"," \
	"\"relay_id\":\"" RELAY_A "\"}],\"fee_rate\":0.05," \
	"\"protocol_version\":\"1.0\",\"public_key\":\"" PUB_B "\"," \
	"\"relay_id\":\"" RELAY_B "\",\"suite\":" \
	"\"motebit-jcs-ed25519-hex-v1\"}"

/* mesh manifest; %lld is generated_at */
#define MANIFEST_FMT "{\"agents\":[{\"capabilities\":[\"web_search\"]," \
	"\"motebit_id\":\"019dc3f3-6027-73ca-b877-0cf9141c0b72\"," \
	"\"public_key\":\"ed4928c628d1c2c6eae90338905995612959273a5c63f936" \
	"36c14614ac8737d1\"}],\"capabilities\":[\"task_routing\"]," \
	"\"endpoints\":{\"federation\":\"https://b.example/federation/v1\"," \
	"\"identity\":\"https://b.example/federation/v1/identity\"}," \
	"\"federation\":{\"acceptance\":\"manual\",\"enabled\":true," \
	"\"extensions\":[\"remove-v2\",\"peer-accepted\"],\"max_hops\":3," \
	"\"peer_count\":1},\"generated_at\":%lld,\"name\":\"relay-b\"," \
	"\"version\":\"0.1.0\"}"

static int64_t	 fake_now = TS;

static int64_t
fake_clock(void)
{
	return (fake_now);
}

static json_t *
vget(const char *first, ...)
{
	va_list		 ap;
	const char	*k;
	json_t		*v;

	v = json_object_get(vectors, first);
	va_start(ap, first);
	while ((k = va_arg(ap, const char *)) != NULL)
		v = json_object_get(v, k);
	va_end(ap);
	ck_assert_msg(json_is_string(v), "vector %s... missing", first);
	return (v);
}

#define VSTR(...)	json_string_value(vget(__VA_ARGS__, NULL))

/* keyd state holding key name (A, B) and signing as relay_id */
static void
state_for(struct keyd_state *ks, const char *name, const char *relay_id)
{
	struct cfg_identity	 id;
	uint8_t			 seed[ED25519_SEED_LEN];
	EVP_PKEY		*key;
	char			 err[256];

	keyd_state_init(ks, fake_clock);
	ck_assert_int_eq(hex_decode(VSTR("keys", name, "seed_hex"), seed,
	    sizeof(seed)), 0);
	key = ed25519_from_seed(seed);
	ck_assert_ptr_nonnull(key);
	ck_assert_int_eq(keyd_set_key(ks, key, err, sizeof(err)), 0);
	ck_assert_str_eq(ks->ks_pubhex, VSTR("keys", name, "public_key"));
	ck_assert_str_eq(ks->ks_did, VSTR("keys", name, "did"));

	memset(&id, 0, sizeof(id));
	strlcpy(id.relay_id, relay_id, sizeof(id.relay_id));
	strlcpy(id.public_key, VSTR("keys", name, "public_key"),
	    sizeof(id.public_key));
	strlcpy(id.did, VSTR("keys", name, "did"), sizeof(id.did));
	ck_assert_msg(keyd_set_identity(ks, &id, err, sizeof(err)) == 0,
	    "identity: %s", err);
}

/* A request payload: header then doc; returns its length. */
static size_t
mkreq(uint8_t *buf, size_t size, const char *relay_id, const char *nonce,
    int64_t ts, const char *doc)
{
	struct key_sign_req	 req;
	size_t			 doclen = doc != NULL ? strlen(doc) : 0;

	memset(&req, 0, sizeof(req));
	req.reqid = 4711;
	req.timestamp = ts;
	if (relay_id != NULL)
		strlcpy(req.relay_id, relay_id, sizeof(req.relay_id));
	if (nonce != NULL)
		strlcpy(req.nonce, nonce, sizeof(req.nonce));
	req.doclen = (uint32_t)doclen;
	ck_assert_uint_le(sizeof(req) + doclen, size);
	memcpy(buf, &req, sizeof(req));
	if (doclen > 0)
		memcpy(buf + sizeof(req), doc, doclen);
	return (sizeof(req) + doclen);
}

static uint8_t	 reqbuf[sizeof(struct key_sign_req) + KEYD_DOC_MAX + 16];

static int
do_sign(struct keyd_state *ks, uint32_t type, enum proc_id from,
    const char *relay_id, const char *nonce, int64_t ts, const char *doc,
    struct keyd_result *kr)
{
	size_t	 len;

	len = mkreq(reqbuf, sizeof(reqbuf), relay_id, nonce, ts, doc);
	return (keyd_handle(ks, type, from, 1, reqbuf, len, kr));
}

/* The signature and audit record of kr are over exactly msg. */
static void
check_signed(struct keyd_state *ks, const struct keyd_result *kr,
    const char *msg, size_t len, enum key_kind kind, enum proc_id from)
{
	uint8_t	 digest[SHA256_LEN], sig[ED25519_SIG_LEN];

	ck_assert_int_eq(kr->kr_resp.kind, kind);
	ck_assert_uint_eq(kr->kr_resp.reqid, 4711);
	ck_assert_int_eq(ed25519_verify_hex(ks->ks_pubhex,
	    (const uint8_t *)msg, len, kr->kr_resp.signature), 0);
	sha256(msg, len, digest);
	ck_assert_mem_eq(kr->kr_audit.digest, digest, sizeof(digest));
	ck_assert_int_eq(hex_decode(kr->kr_resp.signature, sig,
	    sizeof(sig)), 0);
	ck_assert_mem_eq(kr->kr_audit.sig, sig, sizeof(sig));
	ck_assert_int_eq(kr->kr_audit.kind, kind);
	ck_assert_int_eq(kr->kr_audit.requester, from);
	ck_assert_int_eq(kr->kr_audit.instance, 1);
	ck_assert_int_eq(kr->kr_audit.time_ms, fake_now);
}

static void
expect_refused(int rv, struct keyd_result *kr, const char *why)
{
	ck_assert_msg(rv == KEYD_REFUSED, "signed, expected refusal: %s",
	    why);
	ck_assert_msg(kr->kr_resp.error[0] != '\0', "no error text: %s", why);
	ck_assert_msg(kr->kr_resp.signature[0] == '\0',
	    "refusal carries a signature: %s", why);
	ck_assert_ptr_null(kr->kr_doc);
	keyd_result_free(kr);
}

static char manifest_doc[4096];

static const char *
manifest(int64_t generated_at)
{
	snprintf(manifest_doc, sizeof(manifest_doc), MANIFEST_FMT,
	    (long long)generated_at);
	return (manifest_doc);
}

/* A well-formed request of each signing type, for a keyd of relay B. */
static int
valid_request(struct keyd_state *ks, uint32_t type, enum proc_id from,
    struct keyd_result *kr)
{
	switch (type) {
	case IMSG_KEY_SIGN_METADATA:
		return (do_sign(ks, type, from, NULL, NULL, 0, METADATA_DOC,
		    kr));
	case IMSG_KEY_SIGN_MANIFEST:
		return (do_sign(ks, type, from, NULL, NULL, 0,
		    manifest(fake_now), kr));
	case IMSG_KEY_SIGN_CHALLENGE:
		return (do_sign(ks, type, from, RELAY_A, NONCE_A, 0, NULL,
		    kr));
	case IMSG_KEY_SIGN_HBRESP:
	case IMSG_KEY_SIGN_HEARTBEAT:
		return (do_sign(ks, type, from, NULL, NULL, fake_now, NULL,
		    kr));
	case IMSG_KEY_SIGN_CONFIRM:
		return (do_sign(ks, type, from, NULL, NONCE_B, 0, NULL, kr));
	case IMSG_KEY_SIGN_REMOVAL:
		return (do_sign(ks, type, from, NULL, NULL, 0, NULL, kr));
	case IMSG_KEY_SIGN_REMOVAL2:
	case IMSG_KEY_SIGN_ACCEPTED:
		return (do_sign(ks, type, from, RELAY_A, NULL, fake_now, NULL,
		    kr));
	}
	ck_abort_msg("no valid request for type %u", type);
	return (-1);
}

/*
 * Policy
 */

/* Who may ask for what: the table in keyd(8), restated independently. */
static enum proc_id
owner(uint32_t type)
{
	switch (type) {
	case IMSG_KEY_SIGN_METADATA:
	case IMSG_KEY_SIGN_MANIFEST:
	case IMSG_KEY_SIGN_CHALLENGE:
	case IMSG_KEY_SIGN_HBRESP:
		return (PROC_FRONTEND);
	case IMSG_KEY_SIGN_HEARTBEAT:
	case IMSG_KEY_SIGN_CONFIRM:
	case IMSG_KEY_SIGN_REMOVAL:
	case IMSG_KEY_SIGN_REMOVAL2:
	case IMSG_KEY_SIGN_ACCEPTED:
		return (PROC_PEER);
	}
	return (PROC_MAX);	/* not a signing request */
}

START_TEST(test_policy_table)
{
	const struct key_policy	*kp;
	int			 seen[KEY_KIND_MAX];
	uint32_t		 type;
	int			 p;

	memset(seen, 0, sizeof(seen));
	for (type = 0; type < IMSG_TYPE_MAX + 8; type++) {
		kp = policy_lookup(type);
		if (owner(type) == PROC_MAX) {
			ck_assert_msg(kp == NULL, "type %u has a policy", type);
			continue;
		}
		ck_assert_msg(kp != NULL, "type %u has no policy", type);
		ck_assert_uint_eq(kp->kp_type, type);
		ck_assert_int_gt(kp->kp_kind, KEY_KIND_NONE);
		ck_assert_int_lt(kp->kp_kind, KEY_KIND_MAX);
		seen[kp->kp_kind]++;
		for (p = -1; p <= PROC_MAX; p++)
			ck_assert_msg(policy_allows(kp, (enum proc_id)p) ==
			    (p == (int)owner(type)), "type %u proc %d", type,
			    p);
		ck_assert_int_eq((kp->kp_fields & KF_DOC) != 0,
		    kp->kp_doc != NULL);
	}
	for (p = KEY_KIND_NONE + 1; p < KEY_KIND_MAX; p++)
		/* a key succession is the parent's rotation, not a request */
		ck_assert_msg(seen[p] == (p == KEY_KIND_SUCCESSION ? 0 : 1),
		    "kind %d in %d rows", p, seen[p]);
}
END_TEST

/* Every signing type from every process, through keyd_handle(). */
START_TEST(test_policy_requests)
{
	struct keyd_state	 ks;
	struct keyd_result	 kr;
	uint32_t		 type;
	int			 p, rv;

	state_for(&ks, "B", RELAY_B);
	for (type = 0; type < IMSG_TYPE_MAX; type++) {
		if (owner(type) == PROC_MAX)
			continue;
		for (p = PROC_PARENT; p < PROC_MAX; p++) {
			rv = valid_request(&ks, type, (enum proc_id)p, &kr);
			if (p == (int)owner(type)) {
				ck_assert_msg(rv == KEYD_SIGNED, "type %u from "
				    "%d refused: %s", type, p,
				    kr.kr_resp.error);
				ck_assert_uint_eq(strlen(kr.kr_resp.signature),
				    128);
			} else {
				ck_assert_msg(rv == KEYD_REFUSED, "type %u "
				    "from %d signed", type, p);
				ck_assert_ptr_nonnull(strstr(kr.kr_resp.error,
				    "may not"));
				ck_assert_uint_eq(kr.kr_resp.reqid, 4711);
				ck_assert_int_eq(kr.kr_notready, 0);
			}
			keyd_result_free(&kr);
		}
	}
	/* not a signing type at all */
	rv = valid_request(&ks, IMSG_KEY_SIGN_REMOVAL, PROC_PEER, &kr);
	keyd_result_free(&kr);
	ck_assert_int_eq(rv, KEYD_SIGNED);
	ck_assert_int_eq(keyd_handle(&ks, IMSG_KEY_SIGNATURE, PROC_PEER, 0,
	    reqbuf, sizeof(struct key_sign_req), &kr), KEYD_REFUSED);
	keyd_state_wipe(&ks);
}
END_TEST

/*
 * Appendix B vectors
 */

START_TEST(test_vector_challenge)
{
	struct keyd_state	 ks;
	struct keyd_result	 kr;
	const char		*msg;

	state_for(&ks, "B", RELAY_B);
	ck_assert_int_eq(do_sign(&ks, IMSG_KEY_SIGN_CHALLENGE, PROC_FRONTEND,
	    RELAY_A, NONCE_A, 0, NULL, &kr), KEYD_SIGNED);
	ck_assert_str_eq(kr.kr_resp.signature,
	    VSTR("handshake", "responder_challenge_sig_by_B"));
	msg = VSTR("handshake", "responder_challenge_message");
	check_signed(&ks, &kr, msg, strlen(msg), KEY_KIND_CHALLENGE,
	    PROC_FRONTEND);
	ck_assert_uint_eq(kr.kr_resp.doclen, 0);
	ck_assert_ptr_null(kr.kr_doc);
	keyd_result_free(&kr);
	keyd_state_wipe(&ks);
}
END_TEST

START_TEST(test_vector_confirm)
{
	struct keyd_state	 ks;
	struct keyd_result	 kr;
	const char		*msg;

	state_for(&ks, "A", RELAY_A);
	ck_assert_int_eq(do_sign(&ks, IMSG_KEY_SIGN_CONFIRM, PROC_PEER,
	    NULL, NONCE_B, 0, NULL, &kr), KEYD_SIGNED);
	ck_assert_str_eq(kr.kr_resp.signature,
	    VSTR("handshake", "confirm_challenge_response_sig_by_A"));
	msg = VSTR("handshake", "confirm_message");
	check_signed(&ks, &kr, msg, strlen(msg), KEY_KIND_CONFIRM, PROC_PEER);
	keyd_result_free(&kr);
	keyd_state_wipe(&ks);
}
END_TEST

START_TEST(test_vector_heartbeat)
{
	struct keyd_state	 ks;
	struct keyd_result	 kr;
	const char		*msg;

	/* keyd's clock a minute after the vector's timestamp */
	fake_now = TS + 60000;
	state_for(&ks, "A", RELAY_A);
	msg = VSTR("heartbeat", "message");

	ck_assert_int_eq(do_sign(&ks, IMSG_KEY_SIGN_HEARTBEAT, PROC_PEER,
	    NULL, NULL, TS, NULL, &kr), KEYD_SIGNED);
	ck_assert_str_eq(kr.kr_resp.signature,
	    VSTR("heartbeat", "body", "signature"));
	check_signed(&ks, &kr, msg, strlen(msg), KEY_KIND_HEARTBEAT,
	    PROC_PEER);
	keyd_result_free(&kr);

	/* the heartbeat response is the same template, other requester */
	ck_assert_int_eq(do_sign(&ks, IMSG_KEY_SIGN_HBRESP, PROC_FRONTEND,
	    NULL, NULL, TS, NULL, &kr), KEYD_SIGNED);
	ck_assert_str_eq(kr.kr_resp.signature,
	    VSTR("heartbeat", "body", "signature"));
	check_signed(&ks, &kr, msg, strlen(msg), KEY_KIND_HBRESP,
	    PROC_FRONTEND);
	keyd_result_free(&kr);
	keyd_state_wipe(&ks);
	fake_now = TS;
}
END_TEST

START_TEST(test_vector_removal)
{
	struct keyd_state	 ks;
	struct keyd_result	 kr;

	state_for(&ks, "A", RELAY_A);
	ck_assert_int_eq(do_sign(&ks, IMSG_KEY_SIGN_REMOVAL, PROC_PEER,
	    NULL, NULL, 0, NULL, &kr), KEYD_SIGNED);
	ck_assert_str_eq(kr.kr_resp.signature,
	    VSTR("peer_remove", "body", "signature"));
	check_signed(&ks, &kr, RELAY_A, strlen(RELAY_A), KEY_KIND_REMOVAL,
	    PROC_PEER);
	keyd_result_free(&kr);
	keyd_state_wipe(&ks);
}
END_TEST

/*
 * Refusals
 */

START_TEST(test_self_challenge)
{
	struct keyd_state	 ks;
	struct keyd_result	 kr;

	/* relay B asked to answer a propose naming relay B */
	state_for(&ks, "B", RELAY_B);
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_CHALLENGE, PROC_FRONTEND,
	    RELAY_B, NONCE_A, 0, NULL, &kr), &kr, "self-propose");
	/* nor may the peer engine remove this relay from itself */
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_REMOVAL2, PROC_PEER,
	    RELAY_B, NULL, TS, NULL, &kr), &kr, "self-removal");
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_ACCEPTED, PROC_PEER,
	    RELAY_B, NULL, TS, NULL, &kr), &kr, "self-acceptance");
	keyd_state_wipe(&ks);
}
END_TEST

/* the kinds that name the peer they are addressed to */
#define PEER_ID(t)	((t) == IMSG_KEY_SIGN_REMOVAL2 || \
			    (t) == IMSG_KEY_SIGN_ACCEPTED ? RELAY_A : NULL)

START_TEST(test_timestamps)
{
	static const uint32_t	 types[] = { IMSG_KEY_SIGN_HEARTBEAT,
	    IMSG_KEY_SIGN_HBRESP, IMSG_KEY_SIGN_REMOVAL2,
	    IMSG_KEY_SIGN_ACCEPTED };
	static const int64_t	 ok[] = { 0, -SKEW, SKEW, -1, 1 };
	static const int64_t	 bad[] = { -SKEW - 1, SKEW + 1, -86400000,
	    86400000 };
	struct keyd_state	 ks;
	struct keyd_result	 kr;
	size_t			 t, i;
	int			 rv;

	state_for(&ks, "B", RELAY_B);
	for (t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
			rv = do_sign(&ks, types[t], owner(types[t]),
			    PEER_ID(types[t]),
			    NULL, TS + ok[i], NULL, &kr);
			ck_assert_msg(rv == KEYD_SIGNED, "type %u ts %+lld: "
			    "%s", types[t], (long long)ok[i],
			    kr.kr_resp.error);
			keyd_result_free(&kr);
		}
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			expect_refused(do_sign(&ks, types[t], owner(types[t]),
			    PEER_ID(types[t]),
			    NULL, TS + bad[i], NULL, &kr), &kr, "stale");
		expect_refused(do_sign(&ks, types[t], owner(types[t]),
		    PEER_ID(types[t]),
		    NULL, INT64_MIN, NULL, &kr), &kr, "INT64_MIN");
		expect_refused(do_sign(&ks, types[t], owner(types[t]),
		    PEER_ID(types[t]),
		    NULL, INT64_MAX, NULL, &kr), &kr, "INT64_MAX");
	}

	/* the manifest's generated_at too */
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		rv = do_sign(&ks, IMSG_KEY_SIGN_MANIFEST, PROC_FRONTEND, NULL,
		    NULL, 0, manifest(TS + ok[i]), &kr);
		ck_assert_msg(rv == KEYD_SIGNED, "%s", kr.kr_resp.error);
		keyd_result_free(&kr);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_refused(do_sign(&ks, IMSG_KEY_SIGN_MANIFEST,
		    PROC_FRONTEND, NULL, NULL, 0, manifest(TS + bad[i]), &kr),
		    &kr, "stale manifest");
	keyd_state_wipe(&ks);
}
END_TEST

START_TEST(test_malformed)
{
	struct keyd_state	 ks;
	struct keyd_result	 kr;
	struct key_sign_req	 req;
	char			 nonce[NONCE_MAX];
	size_t			 len;

	state_for(&ks, "B", RELAY_B);

	/* sizes: short header, doclen disagreeing with the payload */
	len = mkreq(reqbuf, sizeof(reqbuf), RELAY_A, NONCE_A, 0, NULL);
	expect_refused(keyd_handle(&ks, IMSG_KEY_SIGN_CHALLENGE,
	    PROC_FRONTEND, 0, reqbuf, len - 1, &kr), &kr, "short");
	expect_refused(keyd_handle(&ks, IMSG_KEY_SIGN_CHALLENGE,
	    PROC_FRONTEND, 0, reqbuf, 0, &kr), &kr, "empty");
	expect_refused(keyd_handle(&ks, IMSG_KEY_SIGN_CHALLENGE,
	    PROC_FRONTEND, 0, reqbuf, len + 1, &kr), &kr, "trailing byte");
	len = mkreq(reqbuf, sizeof(reqbuf), NULL, NULL, 0, METADATA_DOC);
	expect_refused(keyd_handle(&ks, IMSG_KEY_SIGN_METADATA,
	    PROC_FRONTEND, 0, reqbuf, len - 1, &kr), &kr, "doc cut");
	expect_refused(keyd_handle(&ks, IMSG_KEY_SIGN_METADATA,
	    PROC_FRONTEND, 0, reqbuf, len + 1, &kr), &kr, "doc longer");
	memcpy(&req, reqbuf, sizeof(req));
	req.doclen = UINT32_MAX;
	memcpy(reqbuf, &req, sizeof(req));
	expect_refused(keyd_handle(&ks, IMSG_KEY_SIGN_METADATA,
	    PROC_FRONTEND, 0, reqbuf, len, &kr), &kr, "doclen huge");

	/* unterminated strings */
	len = mkreq(reqbuf, sizeof(reqbuf), NULL, NONCE_A, 0, NULL);
	memcpy(&req, reqbuf, sizeof(req));
	memset(req.relay_id, 'a', sizeof(req.relay_id));
	memcpy(reqbuf, &req, sizeof(req));
	expect_refused(keyd_handle(&ks, IMSG_KEY_SIGN_CHALLENGE,
	    PROC_FRONTEND, 0, reqbuf, len, &kr), &kr, "relay_id unterminated");
	len = mkreq(reqbuf, sizeof(reqbuf), NULL, NULL, 0, NULL);
	memcpy(&req, reqbuf, sizeof(req));
	memset(req.nonce, 'a', sizeof(req.nonce));
	memcpy(reqbuf, &req, sizeof(req));
	expect_refused(keyd_handle(&ks, IMSG_KEY_SIGN_CONFIRM, PROC_PEER, 0,
	    reqbuf, len, &kr), &kr, "nonce unterminated");

	/* a field the kind does not use */
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_CONFIRM, PROC_PEER, RELAY_A,
	    NONCE_B, 0, NULL, &kr), &kr, "confirm with relay_id");
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_CONFIRM, PROC_PEER, NULL,
	    NONCE_B, TS, NULL, &kr), &kr, "confirm with timestamp");
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_HEARTBEAT, PROC_PEER, NULL,
	    NONCE_B, TS, NULL, &kr), &kr, "heartbeat with nonce");
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_REMOVAL, PROC_PEER, NULL,
	    NULL, TS, NULL, &kr), &kr, "removal with timestamp");
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_REMOVAL, PROC_PEER, RELAY_A,
	    NULL, 0, NULL, &kr), &kr, "removal with relay_id");
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_CHALLENGE, PROC_FRONTEND,
	    RELAY_A, NONCE_A, 0, "{}", &kr), &kr, "challenge with doc");
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_METADATA, PROC_FRONTEND,
	    RELAY_A, NULL, 0, METADATA_DOC, &kr), &kr, "metadata with id");
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_HBRESP, PROC_FRONTEND,
	    NULL, NULL, TS, "{}", &kr), &kr, "hbresp with doc");

	/* missing fields */
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_CHALLENGE, PROC_FRONTEND,
	    NULL, NONCE_A, 0, NULL, &kr), &kr, "challenge without id");
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_CHALLENGE, PROC_FRONTEND,
	    RELAY_A, NULL, 0, NULL, &kr), &kr, "challenge without nonce");
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_HEARTBEAT, PROC_PEER,
	    NULL, NULL, 0, NULL, &kr), &kr, "heartbeat at time 0");
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_REMOVAL2, PROC_PEER,
	    NULL, NULL, TS, NULL, &kr), &kr, "removal2 without peer");
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_ACCEPTED, PROC_PEER,
	    NULL, NULL, TS, NULL, &kr), &kr, "accepted without peer");
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_ACCEPTED, PROC_PEER,
	    RELAY_A, NONCE_A, TS, NULL, &kr), &kr, "accepted with nonce");
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_METADATA, PROC_FRONTEND,
	    NULL, NULL, 0, NULL, &kr), &kr, "metadata without doc");

	/* invalid relay ids and nonces */
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_CHALLENGE, PROC_FRONTEND,
	    "relay:evil", NONCE_A, 0, NULL, &kr), &kr, "':' in relay id");
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_CHALLENGE, PROC_FRONTEND,
	    "relay|evil", NONCE_A, 0, NULL, &kr), &kr, "'|' in relay id");
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_CHALLENGE, PROC_FRONTEND,
	    "relay evil", NONCE_A, 0, NULL, &kr), &kr, "' ' in relay id");
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_CHALLENGE, PROC_FRONTEND,
	    RELAY_A, "aa:bb", 0, NULL, &kr), &kr, "':' in nonce");
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_CONFIRM, PROC_PEER,
	    NULL, "aa|bb", 0, NULL, &kr), &kr, "'|' in nonce");
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_CONFIRM, PROC_PEER,
	    NULL, "aa bb", 0, NULL, &kr), &kr, "' ' in nonce");
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_CONFIRM, PROC_PEER,
	    NULL, "aa\tbb", 0, NULL, &kr), &kr, "tab in nonce");
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_CONFIRM, PROC_PEER,
	    NULL, "aa\xc3\xa9", 0, NULL, &kr), &kr, "UTF-8 in nonce");
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_REMOVAL2, PROC_PEER,
	    "relay:x", NULL, TS, NULL, &kr), &kr, "bad removed peer");

	/* the longest nonce is fine, and one character is too */
	memset(nonce, 'f', sizeof(nonce) - 1);
	nonce[sizeof(nonce) - 1] = '\0';
	ck_assert_int_eq(do_sign(&ks, IMSG_KEY_SIGN_CONFIRM, PROC_PEER, NULL,
	    nonce, 0, NULL, &kr), KEYD_SIGNED);
	keyd_result_free(&kr);
	ck_assert_int_eq(do_sign(&ks, IMSG_KEY_SIGN_CONFIRM, PROC_PEER, NULL,
	    "0", 0, NULL, &kr), KEYD_SIGNED);
	keyd_result_free(&kr);
	keyd_state_wipe(&ks);
}
END_TEST

/*
 * Documents
 */

/* The returned document: canonical, and verifies over tbs. */
static void
check_document(struct keyd_state *ks, struct keyd_result *kr,
    const char *tbs, enum key_kind kind)
{
	json_t	*o;
	char	*again;
	size_t	 len;

	check_signed(ks, kr, tbs, strlen(tbs), kind, PROC_FRONTEND);
	ck_assert_ptr_nonnull(kr->kr_doc);
	ck_assert_uint_eq(kr->kr_resp.doclen, kr->kr_doclen);
	ck_assert_int_eq(jcs_is_canonical(kr->kr_doc, kr->kr_doclen), 1);
	o = jcs_parse(kr->kr_doc, kr->kr_doclen, NULL, 0);
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(json_string_value(json_object_get(o, "signature")),
	    kr->kr_resp.signature);
	/* a verifier strips "signature" and gets exactly what was signed */
	again = jcs_serialize(o, 1, &len);
	ck_assert_ptr_nonnull(again);
	ck_assert_uint_eq(len, strlen(tbs));
	ck_assert_mem_eq(again, tbs, len);
	ck_assert_int_eq(ed25519_verify_hex(ks->ks_pubhex,
	    (const uint8_t *)again, len,
	    json_string_value(json_object_get(o, "signature"))), 0);
	free(again);
	json_decref(o);
}

START_TEST(test_metadata_ok)
{
	struct keyd_state	 ks;
	struct keyd_result	 kr;
	const char		*nodisplay;

	state_for(&ks, "B", RELAY_B);
	ck_assert_int_eq(do_sign(&ks, IMSG_KEY_SIGN_METADATA, PROC_FRONTEND,
	    NULL, NULL, 0, METADATA_DOC, &kr), KEYD_SIGNED);
	check_document(&ks, &kr, METADATA_TBS, KEY_KIND_METADATA);
	keyd_result_free(&kr);

	/* display_name is optional */
	nodisplay = "{\"agent_count\":0,\"capabilities\":[],\"endpoint_url\":"
	    "\"https://b.example\",\"federation_peers\":[],\"fee_rate\":0,"
	    "\"protocol_version\":\"1.0\"}";
	ck_assert_int_eq(do_sign(&ks, IMSG_KEY_SIGN_METADATA, PROC_FRONTEND,
	    NULL, NULL, 0, nodisplay, &kr), KEYD_SIGNED);
	check_document(&ks, &kr, "{\"agent_count\":0,\"capabilities\":[],"
	    "\"endpoint_url\":\"https://b.example\",\"federation_peers\":[],"
	    "\"fee_rate\":0,\"protocol_version\":\"1.0\","
	    "\"public_key\":\"" PUB_B "\",\"relay_id\":\"" RELAY_B "\","
	    "\"suite\":\"motebit-jcs-ed25519-hex-v1\"}", KEY_KIND_METADATA);
	keyd_result_free(&kr);
	keyd_state_wipe(&ks);
}
END_TEST

/*
 * Metadata documents built from parts: H is everything before
 * federation_peers, P the peers, T what follows.  Each bad document is
 * canonical and differs from a good one in one way, so it is refused for
 * the intended reason and not merely for its form.
 */
#define MD_H	"{\"agent_count\":3,\"capabilities\":[],\"endpoint_url\":\"u\","
#define MD_P	"\"federation_peers\":[],"
#define MD_T	"\"fee_rate\":0.05,\"protocol_version\":\"1.0\"}"
#define MD_PEER	"{\"endpoint_url\":\"u\",\"relay_id\":\"" RELAY_A "\"}"

static const char *noncanonical_metadata[] = {
	"{\"agent_count\": 3,\"capabilities\":[],\"endpoint_url\":\"u\","
	MD_P MD_T,
	"{\"capabilities\":[],\"agent_count\":3,\"endpoint_url\":\"u\","
	MD_P MD_T,
	MD_H MD_P "\"fee_rate\":5e-2,\"protocol_version\":\"1.0\"}",
	MD_H "\"fee_rate\":0.05," MD_P "\"protocol_version\":\"1.0\"}",
	MD_H MD_P MD_T " ",
	"{",
	"{\"agent_count\":3,\"agent_count\":3,\"capabilities\":[],"
	"\"endpoint_url\":\"u\"," MD_P MD_T,
	NULL
};

static const char *bad_metadata[] = {
	/* members keyd inserts itself */
	MD_H MD_P "\"fee_rate\":0.05,\"protocol_version\":\"1.0\","
	"\"public_key\":\"" PUB_B "\"}",
	MD_H MD_P "\"fee_rate\":0.05,\"protocol_version\":\"1.0\","
	"\"relay_id\":\"" RELAY_A "\"}",
	MD_H MD_P "\"fee_rate\":0.05,\"protocol_version\":\"1.0\","
	"\"signature\":\"00\"}",
	MD_H MD_P "\"fee_rate\":0.05,\"protocol_version\":\"1.0\","
	"\"suite\":\"motebit-jcs-ed25519-hex-v1\"}",
	/* an extra member, a missing one */
	MD_H "\"extra\":1," MD_P MD_T,
	MD_H MD_P "\"protocol_version\":\"1.0\"}",
	"{\"capabilities\":[],\"endpoint_url\":\"u\"," MD_P MD_T,
	/* wrong types and ranges */
	"{\"agent_count\":-1,\"capabilities\":[],\"endpoint_url\":\"u\","
	MD_P MD_T,
	"{\"agent_count\":1.5,\"capabilities\":[],\"endpoint_url\":\"u\","
	MD_P MD_T,
	"{\"agent_count\":9007199254740992,\"capabilities\":[],"
	"\"endpoint_url\":\"u\"," MD_P MD_T,
	"{\"agent_count\":\"3\",\"capabilities\":[],\"endpoint_url\":\"u\","
	MD_P MD_T,
	MD_H MD_P "\"fee_rate\":\"0.05\",\"protocol_version\":\"1.0\"}",
	MD_H MD_P "\"fee_rate\":1.5,\"protocol_version\":\"1.0\"}",
	MD_H MD_P "\"fee_rate\":-0.5,\"protocol_version\":\"1.0\"}",
	MD_H MD_P "\"fee_rate\":null,\"protocol_version\":\"1.0\"}",
	MD_H MD_P "\"fee_rate\":0.05,\"protocol_version\":1}",
	MD_H MD_P "\"fee_rate\":0.05,\"protocol_version\":\"\"}",
	"{\"agent_count\":3,\"capabilities\":[1],\"endpoint_url\":\"u\","
	MD_P MD_T,
	"{\"agent_count\":3,\"capabilities\":\"sync\",\"endpoint_url\":\"u\","
	MD_P MD_T,
	"{\"agent_count\":3,\"capabilities\":[\"a b\"],\"endpoint_url\":\"u\","
	MD_P MD_T,
	"{\"agent_count\":3,\"capabilities\":[\"\"],\"endpoint_url\":\"u\","
	MD_P MD_T,
	"{\"agent_count\":3,\"capabilities\":[],\"display_name\":null,"
	"\"endpoint_url\":\"u\"," MD_P MD_T,
	"{\"agent_count\":3,\"capabilities\":[],\"display_name\":\"a\\nb\","
	"\"endpoint_url\":\"u\"," MD_P MD_T,
	"{\"agent_count\":3,\"capabilities\":[],\"endpoint_url\":\"\","
	MD_P MD_T,
	"{\"agent_count\":3,\"capabilities\":[],\"endpoint_url\":\"a b\","
	MD_P MD_T,
	/* federation_peers items: exactly {endpoint_url, relay_id} */
	MD_H "\"federation_peers\":[{\"endpoint_url\":\"u\",\"public_key\":"
	"\"00\",\"relay_id\":\"" RELAY_A "\"}]," MD_T,
	MD_H "\"federation_peers\":[{\"endpoint_url\":\"u\"}]," MD_T,
	MD_H "\"federation_peers\":[{\"endpoint_url\":\"u\",\"relay_id\":"
	"\"a:b\"}]," MD_T,
	MD_H "\"federation_peers\":[\"" RELAY_A "\"]," MD_T,
	MD_H "\"federation_peers\":{}," MD_T,
	/* a NUL smuggled into a member name */
	MD_H MD_P "\"fee_rate\":0.05,\"protocol_version\":\"1.0\","
	"\"relay_id\\u0000\":\"x\"}",
	/* not an object */
	"[]",
	"\"x\"",
	"null",
	NULL
};

START_TEST(test_metadata_refused)
{
	struct keyd_state	 ks;
	struct keyd_result	 kr;
	char			*big;
	size_t			 i;
	int			 rv;

	state_for(&ks, "B", RELAY_B);
	/* the parts make a good document, with and without a peer */
	ck_assert_int_eq(do_sign(&ks, IMSG_KEY_SIGN_METADATA, PROC_FRONTEND,
	    NULL, NULL, 0, MD_H MD_P MD_T, &kr), KEYD_SIGNED);
	keyd_result_free(&kr);
	ck_assert_int_eq(do_sign(&ks, IMSG_KEY_SIGN_METADATA, PROC_FRONTEND,
	    NULL, NULL, 0, MD_H "\"federation_peers\":[" MD_PEER "]," MD_T,
	    &kr), KEYD_SIGNED);
	keyd_result_free(&kr);

	for (i = 0; noncanonical_metadata[i] != NULL; i++) {
		rv = do_sign(&ks, IMSG_KEY_SIGN_METADATA, PROC_FRONTEND,
		    NULL, NULL, 0, noncanonical_metadata[i], &kr);
		ck_assert_msg(rv == KEYD_REFUSED, "non-canonical %zu signed",
		    i);
		ck_assert_str_eq(kr.kr_resp.error,
		    "document is not canonical JSON");
		expect_refused(rv, &kr, noncanonical_metadata[i]);
	}
	for (i = 0; bad_metadata[i] != NULL; i++) {
		ck_assert_msg(jcs_is_canonical(bad_metadata[i],
		    strlen(bad_metadata[i])) == 1, "bad metadata %zu is not "
		    "canonical", i);
		rv = do_sign(&ks, IMSG_KEY_SIGN_METADATA, PROC_FRONTEND,
		    NULL, NULL, 0, bad_metadata[i], &kr);
		ck_assert_msg(rv == KEYD_REFUSED, "bad metadata %zu signed",
		    i);
		expect_refused(rv, &kr, bad_metadata[i]);
	}

	/* 256 peers are fine, 257 too many */
	big = malloc(KEYD_DOC_MAX);
	ck_assert_ptr_nonnull(big);
	strlcpy(big, MD_H "\"federation_peers\":[" MD_PEER, KEYD_DOC_MAX);
	for (i = 1; i < 256; i++)
		strlcat(big, "," MD_PEER, KEYD_DOC_MAX);
	strlcat(big, "]," MD_T, KEYD_DOC_MAX);
	ck_assert_int_eq(do_sign(&ks, IMSG_KEY_SIGN_METADATA, PROC_FRONTEND,
	    NULL, NULL, 0, big, &kr), KEYD_SIGNED);
	keyd_result_free(&kr);
	strlcpy(big, MD_H "\"federation_peers\":[" MD_PEER, KEYD_DOC_MAX);
	for (i = 1; i < 257; i++)
		strlcat(big, "," MD_PEER, KEYD_DOC_MAX);
	strlcat(big, "]," MD_T, KEYD_DOC_MAX);
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_METADATA, PROC_FRONTEND,
	    NULL, NULL, 0, big, &kr), &kr, "257 peers");
	free(big);
	keyd_state_wipe(&ks);
}
END_TEST

START_TEST(test_manifest)
{
	struct keyd_state	 ks;
	struct keyd_result	 kr;
	json_t			*o;
	char			 doc[4096];
	const char		*bad[] = {
		"\"acceptance\":\"manual\"", "\"acceptance\":\"always\"",
		"\"enabled\":true", "\"enabled\":1",
		"\"max_hops\":3", "\"max_hops\":65",
		"\"name\":\"relay-b\"", "\"name\":\"\"",
		"\"identity\":", "\"id.entity\":",
		"\"motebit_id\":", "\"owner_id\":",
		"\"public_key\":\"ed4928", "\"public_key\":\"ED4928",
		"\"version\":\"0.1.0\"}", "\"version\":\"0.1.0\",\"x\":1}",
		NULL
	};
	char			*p;
	size_t			 i;

	state_for(&ks, "B", RELAY_B);
	ck_assert_int_eq(do_sign(&ks, IMSG_KEY_SIGN_MANIFEST, PROC_FRONTEND,
	    NULL, NULL, 0, manifest(TS), &kr), KEYD_SIGNED);
	/* keyd added relay_id, public_key, did and suite */
	o = jcs_parse(kr.kr_doc, kr.kr_doclen, NULL, 0);
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(json_string_value(json_object_get(o, "relay_id")),
	    RELAY_B);
	ck_assert_str_eq(json_string_value(json_object_get(o, "public_key")),
	    PUB_B);
	ck_assert_str_eq(json_string_value(json_object_get(o, "did")), DID_B);
	ck_assert_str_eq(json_string_value(json_object_get(o, "suite")),
	    SUITE_JCS_HEX);
	ck_assert_uint_eq(json_object_size(o), 7 + 5);
	json_decref(o);
	/* signed bytes: the caller's members plus those four, canonical */
	snprintf(doc, sizeof(doc), "%.*s,\"did\":\"" DID_B "\"%s",
	    (int)(strstr(manifest(TS), ",\"endpoints\"") - manifest(TS)),
	    manifest(TS), strstr(manifest(TS), ",\"endpoints\""));
	p = strstr(doc, ",\"version\"");
	ck_assert_ptr_nonnull(p);
	strlcpy(p, ",\"public_key\":\"" PUB_B "\",\"relay_id\":\"" RELAY_B
	    "\",\"suite\":\"motebit-jcs-ed25519-hex-v1\",\"version\":"
	    "\"0.1.0\"}", sizeof(doc) - (size_t)(p - doc));
	check_document(&ks, &kr, doc, KEY_KIND_MANIFEST);
	keyd_result_free(&kr);

	/* one substitution each: the first of each pair is the good text */
	for (i = 0; bad[i] != NULL; i += 2) {
		strlcpy(doc, manifest(TS), sizeof(doc));
		p = strstr(doc, bad[i]);
		ck_assert_msg(p != NULL, "%s not in the manifest", bad[i]);
		snprintf(manifest_doc, sizeof(manifest_doc), "%.*s%s%s",
		    (int)(p - doc), doc, bad[i + 1], p + strlen(bad[i]));
		ck_assert_int_eq(jcs_is_canonical(manifest_doc,
		    strlen(manifest_doc)), 1);
		expect_refused(do_sign(&ks, IMSG_KEY_SIGN_MANIFEST,
		    PROC_FRONTEND, NULL, NULL, 0, manifest_doc, &kr), &kr,
		    bad[i + 1]);
	}
	keyd_state_wipe(&ks);
}
END_TEST

/* remove-v2 and peer-accepted: the same members, another action */
static void
check_notice(uint32_t type, enum key_kind kind, const char *action)
{
	struct keyd_state	 ks;
	struct keyd_result	 kr;
	char			 tbs[512], want[512];

	state_for(&ks, "A", RELAY_A);
	ck_assert_int_eq(do_sign(&ks, type, PROC_PEER, RELAY_B, NULL, TS,
	    NULL, &kr), KEYD_SIGNED);
	snprintf(tbs, sizeof(tbs), "{\"action\":\"%s\",\"peer_relay_id\":"
	    "\"" RELAY_B "\",\"relay_id\":\"" RELAY_A "\",\"timestamp\":"
	    "1760000000000}", action);
	check_signed(&ks, &kr, tbs, strlen(tbs), kind, PROC_PEER);
	snprintf(want, sizeof(want), "{\"action\":\"%s\","
	    "\"peer_relay_id\":\"" RELAY_B "\",\"relay_id\":\"" RELAY_A "\","
	    "\"signature\":\"%s\",\"timestamp\":1760000000000}", action,
	    kr.kr_resp.signature);
	ck_assert_uint_eq(kr.kr_doclen, strlen(want));
	ck_assert_uint_eq(kr.kr_resp.doclen, strlen(want));
	ck_assert_mem_eq(kr.kr_doc, want, kr.kr_doclen);
	keyd_result_free(&kr);
	keyd_state_wipe(&ks);
}

START_TEST(test_removal2)
{
	check_notice(IMSG_KEY_SIGN_REMOVAL2, KEY_KIND_REMOVAL2, "remove");
}
END_TEST

START_TEST(test_accepted)
{
	check_notice(IMSG_KEY_SIGN_ACCEPTED, KEY_KIND_ACCEPTED, "accepted");
}
END_TEST

START_TEST(test_identity)
{
	struct keyd_state	 ks;
	struct keyd_result	 kr;
	struct cfg_identity	 id;
	uint8_t			 seed[ED25519_SEED_LEN];
	char			 err[256];
	EVP_PKEY		*key;

	keyd_state_init(&ks, fake_clock);
	memset(&id, 0, sizeof(id));
	strlcpy(id.relay_id, RELAY_B, sizeof(id.relay_id));
	strlcpy(id.public_key, PUB_B, sizeof(id.public_key));
	strlcpy(id.did, DID_B, sizeof(id.did));

	/* no key yet: no identity, and nothing is signed */
	ck_assert_int_eq(keyd_set_identity(&ks, &id, err, sizeof(err)), -1);
	ck_assert_int_eq(do_sign(&ks, IMSG_KEY_SIGN_REMOVAL, PROC_PEER,
	    NULL, NULL, 0, NULL, &kr), KEYD_REFUSED);
	ck_assert_int_eq(kr.kr_notready, 1);

	ck_assert_int_eq(hex_decode(VSTR("keys", "B", "seed_hex"), seed,
	    sizeof(seed)), 0);
	key = ed25519_from_seed(seed);
	ck_assert_int_eq(keyd_set_key(&ks, key, err, sizeof(err)), 0);
	ck_assert_int_eq(keyd_set_key(&ks, key, err, sizeof(err)), -1);

	/* a key but no relay id: refused, flagged as not ready */
	ck_assert_int_eq(do_sign(&ks, IMSG_KEY_SIGN_REMOVAL, PROC_PEER,
	    NULL, NULL, 0, NULL, &kr), KEYD_REFUSED);
	ck_assert_int_eq(kr.kr_notready, 1);
	ck_assert_ptr_nonnull(strstr(kr.kr_resp.error, "identity"));
	/* ... but policy comes first, and that refusal does count */
	ck_assert_int_eq(do_sign(&ks, IMSG_KEY_SIGN_REMOVAL, PROC_FRONTEND,
	    NULL, NULL, 0, NULL, &kr), KEYD_REFUSED);
	ck_assert_int_eq(kr.kr_notready, 0);

	/* the parent's idea of the key must be keyd's */
	strlcpy(id.public_key, VSTR("keys", "A", "public_key"),
	    sizeof(id.public_key));
	ck_assert_int_eq(keyd_set_identity(&ks, &id, err, sizeof(err)), -1);
	strlcpy(id.public_key, PUB_B, sizeof(id.public_key));
	strlcpy(id.did, VSTR("keys", "A", "did"), sizeof(id.did));
	ck_assert_int_eq(keyd_set_identity(&ks, &id, err, sizeof(err)), -1);
	strlcpy(id.did, DID_B, sizeof(id.did));
	strlcpy(id.relay_id, "relay:b", sizeof(id.relay_id));
	ck_assert_int_eq(keyd_set_identity(&ks, &id, err, sizeof(err)), -1);
	memset(id.relay_id, 'r', sizeof(id.relay_id));
	ck_assert_int_eq(keyd_set_identity(&ks, &id, err, sizeof(err)), -1);
	ck_assert_int_eq(ks.ks_have_identity, 0);

	strlcpy(id.relay_id, RELAY_B, sizeof(id.relay_id));
	ck_assert_int_eq(keyd_set_identity(&ks, &id, err, sizeof(err)), 0);
	/* the same again is fine (reload); another relay id is not */
	ck_assert_int_eq(keyd_set_identity(&ks, &id, err, sizeof(err)), 0);
	strlcpy(id.relay_id, RELAY_C, sizeof(id.relay_id));
	ck_assert_int_eq(keyd_set_identity(&ks, &id, err, sizeof(err)), -1);
	ck_assert_str_eq(ks.ks_relay_id, RELAY_B);

	ck_assert_int_eq(do_sign(&ks, IMSG_KEY_SIGN_REMOVAL, PROC_PEER,
	    NULL, NULL, 0, NULL, &kr), KEYD_SIGNED);
	check_signed(&ks, &kr, RELAY_B, strlen(RELAY_B), KEY_KIND_REMOVAL,
	    PROC_PEER);
	keyd_state_wipe(&ks);
	ck_assert_ptr_null(ks.ks_key);
}
END_TEST

/*
 * Key file
 */

static int
tmpkey(char *path, size_t len, mode_t mode)
{
	int	 fd;

	strlcpy(path, "/tmp/test_keyd_keyXXXXXX", len);
	fd = mkstemp(path);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	return (fd);
}

static void
pubkey_of(EVP_PKEY *key, uint8_t pub[ED25519_PUB_LEN])
{
	ck_assert_int_eq(ed25519_public(key, pub), 0);
}

/*
 * Key rotation (rotate.c): the new key goes to the descriptor, the record
 * is canonical JSON whose two signatures verify over msg_succession(),
 * the audit records name each signing key, and keyd signs with the new
 * key afterwards.  A descriptor it cannot write leaves the old key.
 */
START_TEST(test_rotate)
{
	struct keyd_state	 ks;
	struct keyd_rotation	 rot;
	struct keyd_result	 kr;
	struct key_sign_req	 req;
	char			 path[64], err[512], msg[512], oldhex[65];
	char			 canon_err[128], *canon;
	uint8_t			 oldpub[ED25519_PUB_LEN], pub[ED25519_PUB_LEN];
	uint8_t			 digest[SHA256_LEN];
	EVP_PKEY		*key;
	json_t			*o;
	size_t			 clen;
	int			 fd, gen, n;

	state_for(&ks, "A", "relay-a");
	memcpy(oldpub, ks.ks_pub, sizeof(oldpub));
	strlcpy(oldhex, ks.ks_pubhex, sizeof(oldhex));

	/* a descriptor open for reading only: refused, nothing changes */
	fd = tmpkey(path, sizeof(path), 0600);
	close(fd);
	fd = open(path, O_RDONLY);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(keyd_rotate(&ks, fd, NULL, 0, &rot), -1);
	ck_assert_ptr_nonnull(strstr(rot.error, "write"));
	ck_assert_str_eq(ks.ks_pubhex, oldhex);
	close(fd);
	unlink(path);

	fd = tmpkey(path, sizeof(path), 0600);
	ck_assert_msg(keyd_rotate(&ks, fd, NULL, 0, &rot) == 0, "%s",
	    rot.error);
	ck_assert_str_eq(rot.old_public_key, oldhex);
	ck_assert_str_eq(rot.new_public_key, ks.ks_pubhex);
	ck_assert_str_ne(rot.new_public_key, oldhex);
	ck_assert_int_eq(ks.ks_have_identity, 1);
	ck_assert_str_eq(ks.ks_relay_id, "relay-a");

	/* the file holds the new key */
	key = keyfile_load(fd, path, NULL, 0, &gen, err, sizeof(err));
	ck_assert_msg(key != NULL, "%s", err);
	ck_assert_int_eq(gen, 0);
	pubkey_of(key, pub);
	ck_assert_mem_eq(pub, ks.ks_pub, sizeof(pub));
	EVP_PKEY_free(key);
	close(fd);
	unlink(path);

	/* the record: canonical, both signatures over the signing input */
	ck_assert_uint_eq(rot.recordlen, strlen(rot.record));
	o = jcs_parse(rot.record, rot.recordlen, canon_err,
	    sizeof(canon_err));
	ck_assert_msg(o != NULL, "%s", canon_err);
	canon = jcs_serialize(o, 0, &clen);
	ck_assert_ptr_nonnull(canon);
	ck_assert_str_eq(canon, rot.record);
	free(canon);
	ck_assert_str_eq(json_string_value(json_object_get(o, "suite")),
	    "motebit-jcs-ed25519-hex-v1");
	ck_assert_int_eq(json_integer_value(json_object_get(o, "timestamp")),
	    fake_now);
	n = msg_succession(msg, sizeof(msg), oldhex, rot.new_public_key,
	    fake_now);
	ck_assert_int_gt(n, 0);
	/* the signing input is JCS of the four signed members */
	json_object_del(o, "old_key_signature");
	json_object_del(o, "new_key_signature");
	canon = jcs_serialize(o, 0, &clen);
	ck_assert_str_eq(canon, msg);
	free(canon);
	json_decref(o);
	o = jcs_parse(rot.record, rot.recordlen, NULL, 0);
	ck_assert_int_eq(ed25519_verify_hex(oldhex, (uint8_t *)msg, n,
	    json_string_value(json_object_get(o, "old_key_signature"))), 0);
	ck_assert_int_eq(ed25519_verify_hex(rot.new_public_key,
	    (uint8_t *)msg, n, json_string_value(json_object_get(o,
	    "new_key_signature"))), 0);
	/* not interchangeable */
	ck_assert_int_eq(ed25519_verify_hex(rot.new_public_key,
	    (uint8_t *)msg, n, json_string_value(json_object_get(o,
	    "old_key_signature"))), -1);
	json_decref(o);

	/* audit: the same digest, each signature with its key */
	sha256(msg, (size_t)n, digest);
	ck_assert_int_eq(rot.audit[0].kind, KEY_KIND_SUCCESSION);
	ck_assert_int_eq(rot.audit[1].kind, KEY_KIND_SUCCESSION);
	ck_assert_int_eq(rot.audit[0].requester, PROC_PARENT);
	ck_assert_mem_eq(rot.audit[0].digest, digest, sizeof(digest));
	ck_assert_mem_eq(rot.audit[1].digest, digest, sizeof(digest));
	ck_assert_mem_eq(rot.audit[0].key, oldpub, sizeof(oldpub));
	ck_assert_mem_eq(rot.audit[1].key, ks.ks_pub, sizeof(oldpub));
	ck_assert_int_eq(ed25519_verify(oldpub, (uint8_t *)msg, n,
	    rot.audit[0].sig), 0);
	ck_assert_int_eq(ed25519_verify(ks.ks_pub, (uint8_t *)msg, n,
	    rot.audit[1].sig), 0);

	/* keyd signs with the new key now */
	memset(&req, 0, sizeof(req));
	req.reqid = 7;
	req.timestamp = fake_now;
	ck_assert_int_eq(keyd_handle(&ks, IMSG_KEY_SIGN_HEARTBEAT, PROC_PEER,
	    0, &req, sizeof(req), &kr), KEYD_SIGNED);
	n = msg_heartbeat(msg, sizeof(msg), "relay-a", fake_now);
	ck_assert_int_eq(ed25519_verify_hex(rot.new_public_key,
	    (uint8_t *)msg, n, kr.kr_resp.signature), 0);
	ck_assert_int_eq(ed25519_verify_hex(oldhex, (uint8_t *)msg, n,
	    kr.kr_resp.signature), -1);
	keyd_result_free(&kr);
	keyd_state_wipe(&ks);
}
END_TEST

START_TEST(test_keyfile)
{
	char		 path[64], err[512], pem[KEYD_KEYFILE_MAX + 2];
	uint8_t		 pub1[ED25519_PUB_LEN], pub2[ED25519_PUB_LEN];
	EVP_PKEY	*key, *ec;
	FILE		*fp;
	ssize_t		 n;
	int		 fd, gen;

	/* first start: empty file, a key is generated and stored */
	fd = tmpkey(path, sizeof(path), 0600);
	key = keyfile_load(fd, path, NULL, 0, &gen, err, sizeof(err));
	ck_assert_msg(key != NULL, "%s", err);
	ck_assert_int_eq(gen, 1);
	pubkey_of(key, pub1);
	EVP_PKEY_free(key);
	n = pread(fd, pem, sizeof(pem) - 1, 0);
	ck_assert_int_gt(n, 0);
	pem[n] = '\0';
	ck_assert_ptr_nonnull(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
	close(fd);

	/* next start: the same key */
	fd = open(path, O_RDWR);
	key = keyfile_load(fd, path, NULL, 0, &gen, err, sizeof(err));
	ck_assert_msg(key != NULL, "%s", err);
	ck_assert_int_eq(gen, 0);
	pubkey_of(key, pub2);
	ck_assert_mem_eq(pub1, pub2, sizeof(pub1));
	EVP_PKEY_free(key);

	/* a passphrase configured for a plain key file is refused */
	key = keyfile_load(fd, path, "secret", 6, &gen, err, sizeof(err));
	ck_assert_ptr_null(key);
	ck_assert_ptr_nonnull(strstr(err, "not an encrypted"));

	/* group or other access, a directory: refused */
	ck_assert_int_eq(fchmod(fd, 0640), 0);
	ck_assert_ptr_null(keyfile_load(fd, path, NULL, 0, &gen, err,
	    sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "0640"));
	ck_assert_int_eq(fchmod(fd, 0604), 0);
	ck_assert_ptr_null(keyfile_load(fd, path, NULL, 0, &gen, err,
	    sizeof(err)));
	ck_assert_int_eq(fchmod(fd, 0400), 0);
	key = keyfile_load(fd, path, NULL, 0, &gen, err, sizeof(err));
	ck_assert_msg(key != NULL, "%s", err);
	EVP_PKEY_free(key);
	close(fd);
	unlink(path);

	fd = open("/tmp", O_RDONLY | O_DIRECTORY);
	ck_assert_ptr_null(keyfile_load(fd, "/tmp", NULL, 0, &gen, err,
	    sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "regular"));
	close(fd);

	/* encrypted: generated with a passphrase, read back with it */
	fd = tmpkey(path, sizeof(path), 0600);
	key = keyfile_load(fd, path, "correct horse", 13, &gen, err,
	    sizeof(err));
	ck_assert_msg(key != NULL, "%s", err);
	ck_assert_int_eq(gen, 1);
	pubkey_of(key, pub1);
	EVP_PKEY_free(key);
	n = pread(fd, pem, sizeof(pem) - 1, 0);
	pem[n > 0 ? n : 0] = '\0';
	ck_assert_ptr_nonnull(strstr(pem, "ENCRYPTED PRIVATE KEY"));
	key = keyfile_load(fd, path, "correct horse", 13, &gen, err,
	    sizeof(err));
	ck_assert_msg(key != NULL, "%s", err);
	pubkey_of(key, pub2);
	ck_assert_mem_eq(pub1, pub2, sizeof(pub1));
	EVP_PKEY_free(key);
	ck_assert_ptr_null(keyfile_load(fd, path, "wrong horse", 11, &gen,
	    err, sizeof(err)));
	ck_assert_ptr_null(keyfile_load(fd, path, NULL, 0, &gen, err,
	    sizeof(err)));
	/* passlen disagreeing with the string */
	ck_assert_ptr_null(keyfile_load(fd, path, "correct horse", 5, &gen,
	    err, sizeof(err)));
	close(fd);
	unlink(path);

	/* not a key, too large, another key type */
	fd = tmpkey(path, sizeof(path), 0600);
	ck_assert_int_eq(write(fd, "hello\n", 6), 6);
	ck_assert_ptr_null(keyfile_load(fd, path, NULL, 0, &gen, err,
	    sizeof(err)));
	ck_assert_int_eq(ftruncate(fd, KEYD_KEYFILE_MAX + 1), 0);
	ck_assert_ptr_null(keyfile_load(fd, path, NULL, 0, &gen, err,
	    sizeof(err)));
	ck_assert_int_eq(ftruncate(fd, 0), 0);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ck_assert_ptr_nonnull(ec);
	fp = fdopen(dup(fd), "w");
	ck_assert_int_eq(PEM_write_PrivateKey(fp, ec, NULL, NULL, 0, NULL,
	    NULL), 1);
	fclose(fp);
	EVP_PKEY_free(ec);
	ck_assert_ptr_null(keyfile_load(fd, path, NULL, 0, &gen, err,
	    sizeof(err)));
	ck_assert_msg(strstr(err, "not Ed25519") != NULL, "%s", err);
	close(fd);
	unlink(path);
}
END_TEST

/*
 * The real binary, driven as relayd drives it: fd 3 to the parent, a
 * frontend and a peer engine channel, the key file, the identity.
 */

struct child {
	pid_t		 pid;
	struct imsgbuf	 parent;
	struct imsgbuf	 fe;
	struct imsgbuf	 peer;
	uint8_t		 pub[ED25519_PUB_LEN];
};

/* 1 message, 0 EOF, -1 error, -2 timeout */
static int
recv_imsg(struct imsgbuf *ib, struct imsg *imsg, int timeout)
{
	struct pollfd	 pfd;
	int		 n;

	for (;;) {
		if ((n = imsgbuf_get(ib, imsg)) != 0)
			return (n);
		pfd.fd = ib->fd;
		pfd.events = POLLIN;
		if ((n = poll(&pfd, 1, timeout)) == -1 && errno != EINTR)
			return (-1);
		if (n == 0)
			return (-2);
		if ((n = imsgbuf_read(ib)) != 1)
			return (n);
	}
}

static void
expect(struct imsgbuf *ib, uint32_t type, void *data, size_t len)
{
	struct imsg	 imsg;
	int		 n;

	n = recv_imsg(ib, &imsg, 10000);
	ck_assert_msg(n == 1, "waiting for imsg %u: %s", type,
	    n == 0 ? "EOF" : n == -2 ? "timeout" : "error");
	ck_assert_msg(imsg_get_type(&imsg) == type, "got imsg %u, want %u",
	    imsg_get_type(&imsg), type);
	if (data != NULL)
		ck_assert_int_eq(imsg_get_data(&imsg, data, len), 0);
	imsg_free(&imsg);
}

static void
send_imsg(struct imsgbuf *ib, uint32_t type, int fd, const void *data,
    size_t len)
{
	ck_assert_int_eq(imsg_compose(ib, type, 0, 0, fd, data, len), 1);
	ck_assert_int_eq(imsgbuf_flush(ib), 0);
}

/* exit status of the child, or -1 if it does not exit in time */
static int
child_wait(struct child *c)
{
	int	 status, i;

	for (i = 0; i < 1000; i++) {
		if (waitpid(c->pid, &status, WNOHANG) == c->pid) {
			if (WIFEXITED(status))
				return (WEXITSTATUS(status));
			ck_abort_msg("keyd killed by signal %d",
			    WTERMSIG(status));
		}
		usleep(10000);
	}
	kill(c->pid, SIGKILL);
	waitpid(c->pid, &status, 0);
	return (-1);
}

static void
child_start(struct child *c, const char *keypath, int created)
{
	struct cfg_proc		 cp;
	struct cfg_key		 ck;
	struct cfg_global	 cg;
	struct proc_fd		 pf;
	struct key_pubkey	 kp;
	int			 sp[2], fe[2], pe[2], keyfd;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fe), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, pe), 0);
	c->pid = fork();
	ck_assert_int_ne(c->pid, -1);
	if (c->pid == 0) {
		if (sp[1] != PROC_PARENT_FD) {
			if (dup2(sp[1], PROC_PARENT_FD) == -1)
				_exit(126);
		} else
			fcntl(sp[1], F_SETFD, 0);
		closefrom(PROC_PARENT_FD + 1);
		execl(KEYD_PATH, "keyd", "-d", (char *)NULL);
		_exit(127);
	}
	close(sp[1]);
	ck_assert_int_eq(imsgbuf_init(&c->parent, sp[0]), 0);
	imsgbuf_allow_fdpass(&c->parent);
	ck_assert_int_eq(imsgbuf_set_maxsize(&c->parent, PROC_IMSG_MAXSIZE),
	    0);

	/* development mode: no user, no chroot; the sandbox still applies */
	memset(&cp, 0, sizeof(cp));
	cp.debug = 1;
	send_imsg(&c->parent, IMSG_CFG_PROC, -1, &cp, sizeof(cp));

	pf.peer = PROC_FRONTEND;
	pf.instance = 0;
	send_imsg(&c->parent, IMSG_PROC_FD, fe[1], &pf, sizeof(pf));
	ck_assert_int_eq(imsgbuf_init(&c->fe, fe[0]), 0);
	ck_assert_int_eq(imsgbuf_set_maxsize(&c->fe, PROC_IMSG_MAXSIZE), 0);
	pf.peer = PROC_PEER;
	send_imsg(&c->parent, IMSG_PROC_FD, pe[1], &pf, sizeof(pf));
	ck_assert_int_eq(imsgbuf_init(&c->peer, pe[0]), 0);
	ck_assert_int_eq(imsgbuf_set_maxsize(&c->peer, PROC_IMSG_MAXSIZE), 0);

	keyfd = open(keypath, O_RDWR);
	ck_assert_int_ne(keyfd, -1);
	memset(&ck, 0, sizeof(ck));
	strlcpy(ck.path, keypath, sizeof(ck.path));
	ck.created = created;
	send_imsg(&c->parent, IMSG_CFG_KEY, keyfd, &ck, sizeof(ck));

	memset(&cg, 0, sizeof(cg));
	send_imsg(&c->parent, IMSG_CFG_GLOBAL, -1, &cg, sizeof(cg));
	send_imsg(&c->parent, IMSG_CFG_DONE, -1, NULL, 0);
	expect(&c->parent, IMSG_CFG_ACK, NULL, 0);

	send_imsg(&c->parent, IMSG_PROC_READY, -1, NULL, 0);
	expect(&c->parent, IMSG_KEY_PUBKEY, &kp, sizeof(kp));
	memcpy(c->pub, kp.public_key, sizeof(c->pub));
}

static void
child_identity(struct child *c, const char *relay_id)
{
	struct cfg_identity	 id;
	struct proc_status_req	 sr;
	struct proc_status	 st;

	memset(&id, 0, sizeof(id));
	strlcpy(id.relay_id, relay_id, sizeof(id.relay_id));
	hex_encode(c->pub, sizeof(c->pub), id.public_key);
	ck_assert_int_eq(did_key_from_pubkey(c->pub, id.did, sizeof(id.did)),
	    0);
	send_imsg(&c->parent, IMSG_CFG_IDENTITY, -1, &id, sizeof(id));

	/* a status round trip orders the identity before what follows */
	sr.reqid = 7;
	send_imsg(&c->parent, IMSG_PROC_STATUS_REQ, -1, &sr, sizeof(sr));
	expect(&c->parent, IMSG_PROC_STATUS, &st, sizeof(st));
	ck_assert_uint_eq(st.reqid, 7);
	ck_assert_int_eq(st.healthy, 1);
}

static char	 tmpkeypath[64];

static void
keyfile_setup(void)
{
	close(tmpkey(tmpkeypath, sizeof(tmpkeypath), 0600));
}

static void
keyfile_teardown(void)
{
	unlink(tmpkeypath);
}

/* keyd refuses to run unless fd 3 is a socket */
START_TEST(test_binary_not_a_socket)
{
	char	 buf[512];
	int	 p[2], status, fd;
	pid_t	 pid;
	ssize_t	 n;
	size_t	 got = 0;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		dup2(p[1], STDERR_FILENO);
		fd = open("/dev/null", O_RDONLY);
		if (fd != PROC_PARENT_FD) {
			dup2(fd, PROC_PARENT_FD);
			close(fd);
		}
		closefrom(PROC_PARENT_FD + 1);
		execl(KEYD_PATH, "keyd", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	while ((n = read(p[0], buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 1);
	ck_assert_msg(strstr(buf, "keyd is started by relayd(8)") != NULL,
	    "stderr: %s", buf);
}
END_TEST

START_TEST(test_binary_sign)
{
	struct child		 c;
	struct key_sign_req	 req;
	struct key_sign_resp	 resp;
	struct key_audit	 au;
	struct proc_status_req	 sr;
	struct proc_status	 st;
	struct imsg		 imsg;
	struct iovec		 iov[2];
	char			 msg[256], pubhex[PUBKEY_HEX_MAX];
	uint8_t			 digest[SHA256_LEN], first[ED25519_PUB_LEN];

	child_start(&c, tmpkeypath, 1);
	memcpy(first, c.pub, sizeof(first));
	hex_encode(c.pub, sizeof(c.pub), pubhex);

	/* before the identity: refused, and that does not count */
	memset(&req, 0, sizeof(req));
	req.reqid = 1;
	strlcpy(req.relay_id, RELAY_A, sizeof(req.relay_id));
	strlcpy(req.nonce, NONCE_A, sizeof(req.nonce));
	send_imsg(&c.fe, IMSG_KEY_SIGN_CHALLENGE, -1, &req, sizeof(req));
	expect(&c.fe, IMSG_KEY_REFUSED, &resp, sizeof(resp));
	ck_assert_uint_eq(resp.reqid, 1);

	child_identity(&c, RELAY_B);

	/* a propose challenge for relay A */
	req.reqid = 2;
	send_imsg(&c.fe, IMSG_KEY_SIGN_CHALLENGE, -1, &req, sizeof(req));
	expect(&c.fe, IMSG_KEY_SIGNATURE, &resp, sizeof(resp));
	ck_assert_uint_eq(resp.reqid, 2);
	ck_assert_int_eq(resp.kind, KEY_KIND_CHALLENGE);
	ck_assert_int_eq(msg_handshake(msg, sizeof(msg), RELAY_A, NONCE_A),
	    (int)strlen(msg));
	ck_assert_int_eq(ed25519_verify_hex(pubhex, (uint8_t *)msg,
	    strlen(msg), resp.signature), 0);
	/* and its audit record, to the parent */
	expect(&c.parent, IMSG_KEY_AUDIT, &au, sizeof(au));
	sha256(msg, strlen(msg), digest);
	ck_assert_mem_eq(au.digest, digest, sizeof(digest));
	ck_assert_int_eq(au.requester, PROC_FRONTEND);
	ck_assert_int_eq(au.kind, KEY_KIND_CHALLENGE);

	/* the metadata document comes back signed */
	memset(&req, 0, sizeof(req));
	req.reqid = 3;
	req.doclen = strlen(METADATA_DOC);
	iov[0].iov_base = &req;
	iov[0].iov_len = sizeof(req);
	iov[1].iov_base = (void *)METADATA_DOC;
	iov[1].iov_len = strlen(METADATA_DOC);
	ck_assert_int_eq(imsg_composev(&c.fe, IMSG_KEY_SIGN_METADATA, 0, 0,
	    -1, iov, 2), 1);
	ck_assert_int_eq(imsgbuf_flush(&c.fe), 0);
	ck_assert_int_eq(recv_imsg(&c.fe, &imsg, 10000), 1);
	ck_assert_uint_eq(imsg_get_type(&imsg), IMSG_KEY_SIGNATURE);
	ck_assert_uint_gt(imsg_get_len(&imsg), sizeof(resp));
	memcpy(&resp, imsg.data, sizeof(resp));
	ck_assert_uint_eq(imsg_get_len(&imsg), sizeof(resp) + resp.doclen);
	ck_assert_int_eq(jcs_is_canonical((char *)imsg.data + sizeof(resp),
	    resp.doclen), 1);
	imsg_free(&imsg);
	expect(&c.parent, IMSG_KEY_AUDIT, &au, sizeof(au));
	ck_assert_int_eq(au.kind, KEY_KIND_METADATA);

	/* status from a requester channel: sandboxed */
	sr.reqid = 9;
	send_imsg(&c.fe, IMSG_PROC_STATUS_REQ, -1, &sr, sizeof(sr));
	expect(&c.fe, IMSG_PROC_STATUS, &st, sizeof(st));
	ck_assert_uint_eq(st.reqid, 9);
	ck_assert_int_eq(st.proc, PROC_KEYD);
	ck_assert_int_eq(st.pid, c.pid);
	ck_assert_int_eq(st.healthy, 1);
	ck_assert_int_eq(st.no_new_privs, 1);
#ifdef __linux__
	ck_assert_int_eq(st.seccomp, 2);
#endif

	/* shutdown: exit 0 */
	send_imsg(&c.parent, IMSG_PROC_SHUTDOWN, -1, NULL, 0);
	ck_assert_int_eq(child_wait(&c), 0);
	imsgbuf_clear(&c.parent);
	imsgbuf_clear(&c.fe);
	imsgbuf_clear(&c.peer);

	/* the second start loads the key the first one generated */
	child_start(&c, tmpkeypath, 0);
	ck_assert_mem_eq(c.pub, first, sizeof(first));
	/* EOF from the parent: exit 0 */
	imsgbuf_clear(&c.parent);
	close(c.parent.fd);
	ck_assert_int_eq(child_wait(&c), 0);
	imsgbuf_clear(&c.fe);
	imsgbuf_clear(&c.peer);
}
END_TEST

/* Five refusals on one channel stop keyd (exit 1). */
START_TEST(test_binary_refusals)
{
	struct child		 c;
	struct key_sign_req	 req;
	struct key_sign_resp	 resp;
	int			 i;

	child_start(&c, tmpkeypath, 1);
	child_identity(&c, RELAY_B);

	memset(&req, 0, sizeof(req));
	strlcpy(req.relay_id, RELAY_A, sizeof(req.relay_id));
	strlcpy(req.nonce, NONCE_A, sizeof(req.nonce));
	for (i = 1; i < KEYD_MAX_REFUSALS; i++) {
		/* the peer engine may not answer proposes */
		req.reqid = (uint32_t)i;
		send_imsg(&c.peer, IMSG_KEY_SIGN_CHALLENGE, -1, &req,
		    sizeof(req));
		expect(&c.peer, IMSG_KEY_REFUSED, &resp, sizeof(resp));
		ck_assert_uint_eq(resp.reqid, (uint32_t)i);
		ck_assert_ptr_nonnull(strstr(resp.error, "may not"));
	}
	/* the frontend's count is its own */
	req.reqid = 100;
	send_imsg(&c.fe, IMSG_KEY_SIGN_CHALLENGE, -1, &req, sizeof(req));
	expect(&c.fe, IMSG_KEY_SIGNATURE, &resp, sizeof(resp));
	send_imsg(&c.peer, IMSG_KEY_SIGN_CHALLENGE, -1, &req, sizeof(req));
	ck_assert_int_eq(child_wait(&c), 1);
	imsgbuf_clear(&c.parent);
	imsgbuf_clear(&c.fe);
	imsgbuf_clear(&c.peer);
}
END_TEST

/* A message type no requester may send is fatal at once. */
START_TEST(test_binary_unknown_type)
{
	struct child	 c;

	child_start(&c, tmpkeypath, 1);
	send_imsg(&c.peer, IMSG_CFG_IDENTITY, -1, NULL, 0);
	ck_assert_int_eq(child_wait(&c), 1);
	imsgbuf_clear(&c.parent);
	imsgbuf_clear(&c.fe);
	imsgbuf_clear(&c.peer);
}
END_TEST

/* An identity naming another key is fatal. */
START_TEST(test_binary_wrong_identity)
{
	struct child		 c;
	struct cfg_identity	 id;

	child_start(&c, tmpkeypath, 1);
	memset(&id, 0, sizeof(id));
	strlcpy(id.relay_id, RELAY_B, sizeof(id.relay_id));
	strlcpy(id.public_key, PUB_B, sizeof(id.public_key));
	strlcpy(id.did, DID_B, sizeof(id.did));
	send_imsg(&c.parent, IMSG_CFG_IDENTITY, -1, &id, sizeof(id));
	ck_assert_int_eq(child_wait(&c), 1);
	imsgbuf_clear(&c.parent);
	imsgbuf_clear(&c.fe);
	imsgbuf_clear(&c.peer);
}
END_TEST

static Suite *
keyd_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("keyd");

	tc = tcase_create("policy");
	tcase_add_test(tc, test_policy_table);
	tcase_add_test(tc, test_policy_requests);
	suite_add_tcase(s, tc);

	tc = tcase_create("vectors");
	tcase_add_test(tc, test_vector_challenge);
	tcase_add_test(tc, test_vector_confirm);
	tcase_add_test(tc, test_vector_heartbeat);
	tcase_add_test(tc, test_vector_removal);
	suite_add_tcase(s, tc);

	tc = tcase_create("refusals");
	tcase_add_test(tc, test_self_challenge);
	tcase_add_test(tc, test_timestamps);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_identity);
	suite_add_tcase(s, tc);

	tc = tcase_create("documents");
	tcase_add_test(tc, test_metadata_ok);
	tcase_add_test(tc, test_metadata_refused);
	tcase_add_test(tc, test_manifest);
	tcase_add_test(tc, test_removal2);
	tcase_add_test(tc, test_accepted);
	suite_add_tcase(s, tc);

	tc = tcase_create("keyfile");
	tcase_add_test(tc, test_keyfile);
	tcase_add_test(tc, test_rotate);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("binary");
	tcase_add_checked_fixture(tc, keyfile_setup, keyfile_teardown);
	tcase_add_test(tc, test_binary_not_a_socket);
	tcase_add_test(tc, test_binary_sign);
	tcase_add_test(tc, test_binary_refusals);
	tcase_add_test(tc, test_binary_unknown_type);
	tcase_add_test(tc, test_binary_wrong_identity);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	return (vectors_main(keyd_suite()));
}
