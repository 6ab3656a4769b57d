/*
 * The federation request checks (relayd/fed/fedauth.c) and the frontend's
 * federation routes (relayd/frontend/fe_fed.c).
 *
 * The pure part reproduces the handshake, heartbeat, removal and signed
 * body vectors of Appendix B (VECTORS_DIR/appendix-b.json) through the
 * verification functions, and checks every field rule, the header
 * credentials and the per-IP limiter.  The server part runs the frontend's
 * HTTP server in this process with a fake peer engine (it answers what
 * each test sets) and keyd's real signing code (keyd/sign.c) holding
 * relay B's key, so that the signatures in the answers are real; relay A
 * (seed 01) is the peer.  The clocks of the frontend and keyd are frozen
 * at the vectors' timestamp.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "crypto.h"
#include "encoding.h"
#include "fedauth.h"
#include "frontend.h"
#include "http.h"
#include "jcs.h"
#include "keyd.h"
#include "log.h"
#include "metrics.h"
#include "vectors.h"

#define RELAY_A		"relay-11111111-1111-4111-8111-111111111111"
#define RELAY_B		"relay-22222222-2222-4222-8222-222222222222"
#define RELAY_C		"relay-33333333-3333-4333-8333-333333333333"
#define PUB_A		\
	"8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"
#define PUB_B		\
	"8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394"
#define T0		1760000000000LL
#define NONCE_A		\
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define NONCE_B		\
	"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static int64_t	 test_now = T0;

static int64_t
test_clock(void)
{
	return (test_now);
}

/* A string in the vectors by dotted path. */
static const char *
vs(const char *path)
{
	char	 buf[256], *p, *s;
	json_t	*v = vectors;

	strlcpy(buf, path, sizeof(buf));
	for (s = buf; (p = strsep(&s, ".")) != NULL;)
		v = json_object_get(v, p);
	ck_assert_msg(json_is_string(v), "no vector %s", path);
	return (json_string_value(v));
}

static json_t *
vobj(const char *path)
{
	char	 buf[256], *p, *s;
	json_t	*v = vectors;

	strlcpy(buf, path, sizeof(buf));
	for (s = buf; (p = strsep(&s, ".")) != NULL;)
		v = json_object_get(v, p);
	ck_assert_msg(json_is_object(v), "no vector %s", path);
	return (json_deep_copy(v));
}

static void
sig_hex(const char *hex, uint8_t sig[ED25519_SIG_LEN])
{
	ck_assert_int_eq(hex_decode(hex, sig, ED25519_SIG_LEN), 0);
}

static EVP_PKEY *
seed_key(uint8_t b)
{
	uint8_t		 seed[ED25519_SEED_LEN];
	EVP_PKEY	*k;

	memset(seed, b, sizeof(seed));
	k = ed25519_from_seed(seed);
	ck_assert_ptr_nonnull(k);
	return (k);
}

/* Signs JCS(o minus signature) with seed b and sets "signature". */
static void
jcs_sign(json_t *o, uint8_t b)
{
	EVP_PKEY	*k = seed_key(b);
	uint8_t		 sig[ED25519_SIG_LEN];
	char		 hex[SIG_HEX_MAX], *tbs;
	size_t		 len;

	json_object_del(o, "signature");
	tbs = jcs_serialize(o, 1, &len);
	ck_assert_int_eq(ed25519_sign(k, (uint8_t *)tbs, len, sig), 0);
	hex_encode(sig, sizeof(sig), hex);
	json_object_set_new(o, "signature", json_string(hex));
	free(tbs);
	EVP_PKEY_free(k);
}

/* base64url signature of JCS(o) (header style) with seed b */
static void
hdr_sign(const json_t *o, uint8_t b, char *out)
{
	EVP_PKEY	*k = seed_key(b);
	uint8_t		 sig[ED25519_SIG_LEN];
	char		*tbs;
	size_t		 len;

	tbs = jcs_serialize(o, 0, &len);
	ck_assert_int_eq(ed25519_sign(k, (uint8_t *)tbs, len, sig), 0);
	out[b64url_encode(sig, sizeof(sig), out)] = '\0';
	free(tbs);
	EVP_PKEY_free(k);
}

static void
raw_sign(const char *msg, uint8_t b, char *out)
{
	EVP_PKEY	*k = seed_key(b);
	uint8_t		 sig[ED25519_SIG_LEN];

	ck_assert_int_eq(ed25519_sign(k, (const uint8_t *)msg, strlen(msg),
	    sig), 0);
	out[b64url_encode(sig, sizeof(sig), out)] = '\0';
	EVP_PKEY_free(k);
}

static json_t *
parse(const char *s)
{
	json_t	*o;
	char	 err[128];

	o = jcs_parse(s, strlen(s), err, sizeof(err));
	ck_assert_msg(o != NULL, "%s: %s", s, err);
	return (o);
}

/*
 * Appendix B through the verification functions.
 */

START_TEST(vector_handshake)
{
	uint8_t	 sig[ED25519_SIG_LEN];

	/* the responder (B) signs the proposer's id and nonce */
	sig_hex(vs("handshake.responder_challenge_sig_by_B"), sig);
	ck_assert_int_eq(fedauth_verify_handshake(RELAY_A, NONCE_A, sig,
	    PUB_B), 0);
	ck_assert_int_eq(fedauth_verify_handshake(RELAY_A, NONCE_A, sig,
	    PUB_A), -1);
	ck_assert_int_eq(fedauth_verify_handshake(RELAY_A, NONCE_B, sig,
	    PUB_B), -1);
	/* the proposer (A) signs its id and the responder's nonce */
	sig_hex(vs("handshake.confirm_challenge_response_sig_by_A"), sig);
	ck_assert_int_eq(fedauth_verify_handshake(RELAY_A, NONCE_B, sig,
	    PUB_A), 0);
	ck_assert_int_eq(fedauth_verify_handshake(RELAY_B, NONCE_B, sig,
	    PUB_A), -1);
	/* the propose request passes the field checks */
	{
		struct fed_propose	 fp;
		json_t			*o;
		char			 err[160];

		o = vobj("handshake.propose_request");
		ck_assert_int_eq(fedauth_propose(o, RELAY_B, 1, &fp, err,
		    sizeof(err)), 0);
		ck_assert_str_eq(fp.relay_id, RELAY_A);
		ck_assert_str_eq(fp.public_key, PUB_A);
		ck_assert_str_eq(fp.endpoint, "https://a.example");
		ck_assert_str_eq(fp.display_name, "relay-a");
		ck_assert_str_eq(fp.nonce, NONCE_A);
		ck_assert_str_eq(fp.spec_version, RELAYD_SPEC_VERSION);
		json_decref(o);
	}
}
END_TEST

START_TEST(vector_heartbeat)
{
	struct fedauth_cred	 c;
	json_t			*o;
	char			 err[160];

	o = vobj("heartbeat.body");
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(fedauth_parse(FEDAUTH_HEARTBEAT, o, RELAY_B, &c,
	    err, sizeof(err)), 0);
	ck_assert_int_eq(c.style, FEDAUTH_TEMPLATE);
	ck_assert_str_eq(c.signer, RELAY_A);
	ck_assert_int_eq(c.timestamp, T0);
	ck_assert_int_eq(c.agent_count, 3);
	ck_assert_str_eq(c.sighex, vs("heartbeat.body.signature"));
	ck_assert_int_eq(fedauth_verify(o, &c, PUB_A), 0);
	ck_assert_int_eq(fedauth_verify(o, &c, PUB_B), -1);
	ck_assert_int_eq(fedauth_verify_heartbeat(RELAY_A, T0, c.sig, PUB_A),
	    0);
	ck_assert_int_eq(fedauth_verify_heartbeat(RELAY_A, T0 + 1, c.sig,
	    PUB_A), -1);
	/* the template covers relay_id and timestamp, not agent_count */
	json_object_set_new(o, "agent_count", json_integer(4));
	ck_assert_int_eq(fedauth_parse(FEDAUTH_HEARTBEAT, o, RELAY_B, &c,
	    err, sizeof(err)), 0);
	ck_assert_int_eq(fedauth_verify(o, &c, PUB_A), 0);
	json_object_set_new(o, "timestamp", json_integer(T0 + 1));
	ck_assert_int_eq(fedauth_parse(FEDAUTH_HEARTBEAT, o, RELAY_B, &c,
	    err, sizeof(err)), 0);
	ck_assert_int_eq(fedauth_verify(o, &c, PUB_A), -1);
	json_decref(o);

	/* uppercase hex is read, and handed on in lowercase */
	o = vobj("heartbeat.body");
	{
		char	 up[SIG_HEX_MAX];
		size_t	 i;

		strlcpy(up, vs("heartbeat.body.signature"), sizeof(up));
		for (i = 0; up[i] != '\0'; i++)
			if (up[i] >= 'a' && up[i] <= 'f')
				up[i] -= 'a' - 'A';
		json_object_set_new(o, "signature", json_string(up));
	}
	ck_assert_int_eq(fedauth_parse(FEDAUTH_HEARTBEAT, o, RELAY_B, &c,
	    err, sizeof(err)), 0);
	ck_assert_str_eq(c.sighex, vs("heartbeat.body.signature"));
	ck_assert_int_eq(fedauth_verify(o, &c, PUB_A), 0);
	json_decref(o);
}
END_TEST

START_TEST(vector_remove)
{
	struct fedauth_cred	 c;
	json_t			*o;
	char			 err[160];

	o = vobj("peer_remove.body");
	ck_assert_int_eq(fedauth_parse(FEDAUTH_REMOVE, o, RELAY_B, &c, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(c.style, FEDAUTH_BAREID);
	ck_assert_str_eq(c.signer, RELAY_A);
	ck_assert_int_eq(c.timestamp, 0);
	ck_assert_int_eq(fedauth_verify(o, &c, PUB_A), 0);
	ck_assert_int_eq(fedauth_verify(o, &c, PUB_B), -1);
	ck_assert_int_eq(fedauth_verify_bareid(RELAY_A, c.sig, PUB_A), 0);
	ck_assert_int_eq(fedauth_verify_bareid(RELAY_B, c.sig, PUB_A), -1);
	json_decref(o);

	/* without a signature, or a relay id */
	o = parse("{\"relay_id\":\"" RELAY_A "\"}");
	ck_assert_int_eq(fedauth_parse(FEDAUTH_REMOVE, o, RELAY_B, &c, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "relay_id and signature are required");
	json_decref(o);
}
END_TEST

/* discover and task/forward bodies: hex over JCS(body minus signature) */
START_TEST(vector_jcs_bodies)
{
	const char	*names[] = { "discover", "task_forward" };
	uint8_t		 sig[ED25519_SIG_LEN];
	char		 path[64];
	json_t		*o;
	size_t		 i;

	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s.canonical", names[i]);
		o = parse(vs(path));
		snprintf(path, sizeof(path), "%s.signature_by_A", names[i]);
		json_object_set_new(o, "signature", json_string(vs(path)));
		sig_hex(vs(path), sig);
		ck_assert_int_eq(fedauth_verify_jcs(o, 1, sig, PUB_A), 0);
		ck_assert_int_eq(fedauth_verify_jcs(o, 1, sig, PUB_B), -1);
		/* with the signature inside, the bytes differ */
		ck_assert_int_eq(fedauth_verify_jcs(o, 0, sig, PUB_A), -1);
		json_object_set_new(o, "timestamp", json_integer(T0 + 1));
		ck_assert_int_eq(fedauth_verify_jcs(o, 1, sig, PUB_A), -1);
		json_decref(o);
	}
}
END_TEST

/*
 * keyd's own removal and heartbeat signatures verify here: what relayd
 * sends, relayd accepts.
 */
static void
keyd_for(struct keyd_state *ks, uint8_t b, const char *relay_id)
{
	struct cfg_identity	 id;
	uint8_t			 pub[ED25519_PUB_LEN];
	char			 err[128];
	EVP_PKEY		*k = seed_key(b);

	struct cfg_global	 g;

	keyd_state_init(ks, test_clock);
	ck_assert_int_eq(keyd_set_key(ks, k, err, sizeof(err)), 0);
	memset(&g, 0, sizeof(g));
	keyd_set_conf(ks, &g);
	memset(&id, 0, sizeof(id));
	strlcpy(id.relay_id, relay_id, sizeof(id.relay_id));
	ck_assert_int_eq(ed25519_public(k, pub), 0);
	hex_encode(pub, sizeof(pub), id.public_key);
	ck_assert_int_eq(did_key_from_pubkey(pub, id.did, sizeof(id.did)),
	    0);
	ck_assert_int_eq(keyd_set_identity(ks, &id, err, sizeof(err)), 0);
}

START_TEST(keyd_removal2)
{
	struct keyd_state	 ks;
	struct keyd_result	 kr;
	struct key_sign_req	 req;
	struct fedauth_cred	 c;
	json_t			*o;
	char			 err[160];

	keyd_for(&ks, 1, RELAY_A);
	memset(&req, 0, sizeof(req));
	req.reqid = 1;
	strlcpy(req.relay_id, RELAY_B, sizeof(req.relay_id));
	ck_assert_int_eq(keyd_handle(&ks, IMSG_KEY_SIGN_REMOVAL2, PROC_PEER,
	    0, &req, sizeof(req), &kr), KEYD_SIGNED);
	o = jcs_parse(kr.kr_doc, kr.kr_doclen, err, sizeof(err));
	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(fedauth_parse(FEDAUTH_REMOVE, o, RELAY_B, &c, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(c.style, FEDAUTH_JCS);
	ck_assert_str_eq(c.signer, RELAY_A);
	ck_assert_int_eq(c.timestamp, T0);
	ck_assert_str_eq(c.sighex, kr.kr_resp.signature);
	ck_assert_int_eq(fedauth_verify(o, &c, PUB_A), 0);
	/* addressed to another relay */
	ck_assert_int_eq(fedauth_parse(FEDAUTH_REMOVE, o, RELAY_C, &c, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "peer_relay_id does not name this relay");
	/* not an acceptance either */
	ck_assert_int_eq(fedauth_parse(FEDAUTH_ACCEPTED, o, RELAY_B, &c, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "action must be \"accepted\"");
	/* a later timestamp does not carry the signature */
	json_object_set_new(o, "timestamp", json_integer(T0 + 1000));
	ck_assert_int_eq(fedauth_parse(FEDAUTH_REMOVE, o, RELAY_B, &c, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(fedauth_verify(o, &c, PUB_A), -1);
	/* nothing may be added */
	json_object_set_new(o, "timestamp", json_integer(T0));
	json_object_set_new(o, "reason", json_string("x"));
	ck_assert_int_eq(fedauth_parse(FEDAUTH_REMOVE, o, RELAY_B, &c, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "unexpected member \"reason\"");
	json_object_del(o, "reason");
	json_object_del(o, "timestamp");
	ck_assert_int_eq(fedauth_parse(FEDAUTH_REMOVE, o, RELAY_B, &c, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "\"timestamp\" is required");
	json_decref(o);
	keyd_result_free(&kr);

	/* keyd's outbound heartbeat */
	memset(&req, 0, sizeof(req));
	ck_assert_int_eq(keyd_handle(&ks, IMSG_KEY_SIGN_HEARTBEAT, PROC_PEER,
	    0, &req, sizeof(req), &kr), KEYD_SIGNED);
	sig_hex(kr.kr_resp.signature, c.sig);
	ck_assert_str_eq(kr.kr_resp.signature, vs("heartbeat.body.signature"));
	ck_assert_int_eq(fedauth_verify_heartbeat(RELAY_A, T0, c.sig, PUB_A),
	    0);
	keyd_result_free(&kr);
	keyd_state_wipe(&ks);
}
END_TEST

START_TEST(accepted_body)
{
	struct fedauth_cred	 c;
	json_t			*o;
	char			 err[160];

	o = json_pack("{s:s, s:s, s:s, s:I}", "action", "accepted",
	    "peer_relay_id", RELAY_B, "relay_id", RELAY_A, "timestamp",
	    (json_int_t)T0);
	jcs_sign(o, 1);
	ck_assert_int_eq(fedauth_parse(FEDAUTH_ACCEPTED, o, RELAY_B, &c, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(c.style, FEDAUTH_JCS);
	ck_assert_int_eq(fedauth_verify(o, &c, PUB_A), 0);
	ck_assert_int_eq(fedauth_verify(o, &c, PUB_B), -1);
	/* an acceptance is no removal */
	ck_assert_int_eq(fedauth_parse(FEDAUTH_REMOVE, o, RELAY_B, &c, err,
	    sizeof(err)), -1);
	json_object_set_new(o, "signature", json_string("zz"));
	ck_assert_int_eq(fedauth_parse(FEDAUTH_ACCEPTED, o, RELAY_B, &c, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "signature must be 128 hex digits");
	json_decref(o);
}
END_TEST

/*
 * Header credentials.
 */

START_TEST(headers)
{
	struct fedauth_cred	 c;
	json_t			*o;
	char			 err[160], sig[128], ts[32];
	uint8_t			 raw[ED25519_SIG_LEN];

	memset(raw, 0x5a, sizeof(raw));
	sig[b64url_encode(raw, sizeof(raw), sig)] = '\0';
	ck_assert_int_eq(fedauth_headers(NULL, NULL, NULL, &c, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(fedauth_headers(RELAY_A, "1760000000000", sig, &c,
	    err, sizeof(err)), 1);
	ck_assert_int_eq(c.style, FEDAUTH_HEADER);
	ck_assert_str_eq(c.signer, RELAY_A);
	ck_assert_int_eq(c.timestamp, T0);
	ck_assert_mem_eq(c.sig, raw, sizeof(raw));
	ck_assert_int_eq(strlen(c.sighex), 128);
	/* standard base64 and padding decode to the same bytes */
	{
		char	 std[128];
		size_t	 i;

		strlcpy(std, sig, sizeof(std));
		for (i = 0; std[i] != '\0'; i++)
			if (std[i] == '-')
				std[i] = '+';
			else if (std[i] == '_')
				std[i] = '/';
		strlcat(std, "==", sizeof(std));
		ck_assert_int_eq(fedauth_headers(RELAY_A, "1", std, &c, err,
		    sizeof(err)), 1);
		ck_assert_mem_eq(c.sig, raw, sizeof(raw));
	}

	ck_assert_int_eq(fedauth_headers(RELAY_A, NULL, sig, &c, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "X-Relay-Id, X-Relay-Timestamp and "
	    "X-Relay-Signature go together");
	ck_assert_int_eq(fedauth_headers("relay:x", "1", sig, &c, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "X-Relay-Id is not a valid relay id");
	ck_assert_int_eq(fedauth_headers(RELAY_A, "01", sig, &c, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "X-Relay-Timestamp must be epoch milliseconds");
	ck_assert_int_eq(fedauth_headers(RELAY_A, "-1", sig, &c, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(fedauth_headers(RELAY_A, "1e12", sig, &c, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(fedauth_headers(RELAY_A, "", sig, &c, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(fedauth_headers(RELAY_A, "9007199254740992", sig, &c,
	    err, sizeof(err)), -1);
	ck_assert_int_eq(fedauth_headers(RELAY_A, "9007199254740991", sig, &c,
	    err, sizeof(err)), 1);
	ck_assert_int_eq(fedauth_headers(RELAY_A, "1", "abc", &c, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "X-Relay-Signature must be the base64url "
	    "encoding of 64 bytes");
	ck_assert_int_eq(fedauth_headers(RELAY_A, "1", vs("heartbeat.body."
	    "signature"), &c, err, sizeof(err)), -1);

	/* a heartbeat signed with headers */
	o = json_pack("{s:s, s:I, s:i}", "relay_id", RELAY_A, "timestamp",
	    (json_int_t)T0, "agent_count", 3);
	hdr_sign(o, 1, sig);
	snprintf(ts, sizeof(ts), "%lld", T0);
	ck_assert_int_eq(fedauth_headers(RELAY_A, ts, sig, &c, err,
	    sizeof(err)), 1);
	ck_assert_int_eq(fedauth_parse(FEDAUTH_HEARTBEAT, o, RELAY_B, &c,
	    err, sizeof(err)), 0);
	ck_assert_int_eq(c.style, FEDAUTH_HEADER);
	ck_assert_int_eq(c.agent_count, 3);
	ck_assert_int_eq(fedauth_verify(o, &c, PUB_A), 0);
	ck_assert_int_eq(fedauth_verify(o, &c, PUB_B), -1);
	/* the body must repeat the headers' relay and time */
	ck_assert_int_eq(fedauth_headers(RELAY_C, ts, sig, &c, err,
	    sizeof(err)), 1);
	ck_assert_int_eq(fedauth_parse(FEDAUTH_HEARTBEAT, o, RELAY_B, &c,
	    err, sizeof(err)), -1);
	ck_assert_str_eq(err, "X-Relay-Id does not match relay_id");
	ck_assert_int_eq(fedauth_headers(RELAY_A, "1760000000001", sig, &c,
	    err, sizeof(err)), 1);
	ck_assert_int_eq(fedauth_parse(FEDAUTH_HEARTBEAT, o, RELAY_B, &c,
	    err, sizeof(err)), -1);
	ck_assert_str_eq(err, "X-Relay-Timestamp does not match timestamp");
	/* and carries no signature of its own */
	json_object_set_new(o, "signature", json_string(vs("heartbeat.body."
	    "signature")));
	ck_assert_int_eq(fedauth_headers(RELAY_A, ts, sig, &c, err,
	    sizeof(err)), 1);
	ck_assert_int_eq(fedauth_parse(FEDAUTH_HEARTBEAT, o, RELAY_B, &c,
	    err, sizeof(err)), -1);
	ck_assert_str_eq(err, "a body signed with X-Relay-Signature has no "
	    "signature member");
	json_decref(o);

	/* a removal signed with headers is the remove-v2 body */
	o = json_pack("{s:s, s:s, s:s, s:I}", "action", "remove",
	    "peer_relay_id", RELAY_B, "relay_id", RELAY_A, "timestamp",
	    (json_int_t)T0);
	hdr_sign(o, 1, sig);
	ck_assert_int_eq(fedauth_headers(RELAY_A, ts, sig, &c, err,
	    sizeof(err)), 1);
	ck_assert_int_eq(fedauth_parse(FEDAUTH_REMOVE, o, RELAY_B, &c, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(fedauth_verify(o, &c, PUB_A), 0);
	json_decref(o);
	/* a legacy removal has no time for the headers to cover */
	o = vobj("peer_remove.body");
	json_object_del(o, "signature");
	ck_assert_int_eq(fedauth_headers(RELAY_A, ts, sig, &c, err,
	    sizeof(err)), 1);
	ck_assert_int_eq(fedauth_parse(FEDAUTH_REMOVE, o, RELAY_B, &c, err,
	    sizeof(err)), -1);
	json_decref(o);

	/* GET: "{METHOD} {path} {timestamp}" */
	raw_sign("GET /federation/v1/peers 1760000000000", 1, sig);
	ck_assert_int_eq(fedauth_headers(RELAY_A, ts, sig, &c, err,
	    sizeof(err)), 1);
	ck_assert_int_eq(fedauth_verify_get("GET", "/federation/v1/peers", T0,
	    c.sig, PUB_A), 0);
	ck_assert_int_eq(fedauth_verify_get("GET", "/federation/v1/peers",
	    T0 + 1, c.sig, PUB_A), -1);
	ck_assert_int_eq(fedauth_verify_get("GET", "/federation/v1/peer",
	    T0, c.sig, PUB_A), -1);
}
END_TEST

/*
 * Field rules.
 */

START_TEST(heartbeat_fields)
{
	struct fedauth_cred	 c;
	json_t			*o;
	char			 err[160];
	const char		*bad[][2] = {
		{ "[]", "JSON object required" },
		{ "{\"relay_id\":\"" RELAY_A "\",\"timestamp\":1,"
		    "\"agent_count\":1}", "relay_id, timestamp, agent_count "
		    "and signature are required" },
		{ "{\"relay_id\":null,\"timestamp\":1,\"agent_count\":1,"
		    "\"signature\":\"x\"}", "relay_id, timestamp, agent_count "
		    "and signature are required" },
		{ "{\"relay_id\":5,\"timestamp\":1,\"agent_count\":1,"
		    "\"signature\":\"x\"}", "relay_id is not a valid relay "
		    "id" },
		{ "{\"relay_id\":\"" RELAY_A "\",\"timestamp\":1.5,"
		    "\"agent_count\":1,\"signature\":\"x\"}", "timestamp must "
		    "be an integer (epoch milliseconds)" },
		{ "{\"relay_id\":\"" RELAY_A "\",\"timestamp\":-1,"
		    "\"agent_count\":1,\"signature\":\"x\"}", "timestamp must "
		    "be an integer (epoch milliseconds)" },
		{ "{\"relay_id\":\"" RELAY_A "\",\"timestamp\":1,"
		    "\"agent_count\":-1,\"signature\":\"x\"}", "agent_count "
		    "must be a non-negative integer" },
		{ "{\"relay_id\":\"" RELAY_A "\",\"timestamp\":1,"
		    "\"agent_count\":1,\"signature\":\"x\","
		    "\"revocations\":{}}", "revocations must be an array" },
		{ "{\"relay_id\":\"" RELAY_A "\",\"timestamp\":1,"
		    "\"agent_count\":1,\"signature\":\"xy\"}", "signature "
		    "must be 128 hex digits" },
	};
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o = parse(bad[i][0]);
		memset(&c, 0, sizeof(c));
		ck_assert_int_eq(fedauth_parse(FEDAUTH_HEARTBEAT, o, RELAY_B,
		    &c, err, sizeof(err)), -1);
		ck_assert_str_eq(err, bad[i][1]);
		json_decref(o);
	}
	/* revocations are allowed (no local agents to revoke yet) */
	o = vobj("heartbeat.body");
	json_object_set_new(o, "revocations", json_array());
	ck_assert_int_eq(fedauth_parse(FEDAUTH_HEARTBEAT, o, RELAY_B, &c,
	    err, sizeof(err)), 0);
	json_decref(o);
}
END_TEST

START_TEST(propose_fields)
{
	struct fed_propose	 fp;
	json_t			*o;
	char			 err[160];

	/* presence comes first, then federation enabled, then version */
	o = vobj("handshake.propose_request");
	json_object_del(o, "nonce");
	ck_assert_int_eq(fedauth_propose(o, RELAY_B, 0, &fp, err,
	    sizeof(err)), 400);
	ck_assert_str_eq(err, "nonce is required");
	json_decref(o);
	o = vobj("handshake.propose_request");
	json_object_del(o, "endpoint_url");
	ck_assert_int_eq(fedauth_propose(o, RELAY_B, 0, &fp, err,
	    sizeof(err)), 400);
	ck_assert_str_eq(err, "endpoint_url is required");
	json_object_set_new(o, "endpoint_url", json_string("https://a.x"));
	json_object_set_new(o, "public_key", json_null());
	ck_assert_int_eq(fedauth_propose(o, RELAY_B, 1, &fp, err,
	    sizeof(err)), 400);
	ck_assert_str_eq(err, "relay_id and public_key are required");
	json_decref(o);

	o = vobj("handshake.propose_request");
	ck_assert_int_eq(fedauth_propose(o, RELAY_B, 0, &fp, err,
	    sizeof(err)), 403);
	ck_assert_str_eq(err, "Federation is disabled on this relay");
	json_object_set_new(o, "spec_version",
	    json_string("motebit/relay-federation@2.0"));
	ck_assert_int_eq(fedauth_propose(o, RELAY_B, 1, &fp, err,
	    sizeof(err)), 403);
	ck_assert_str_eq(err, "Incompatible spec version "
	    "motebit/relay-federation@2.0: this relay speaks "
	    RELAYD_SPEC_VERSION);
	/* the version is checked before the self-propose refusal */
	ck_assert_int_eq(fedauth_propose(o, RELAY_A, 1, &fp, err,
	    sizeof(err)), 403);
	/* a missing or empty spec_version is accepted, as the reference */
	json_object_del(o, "spec_version");
	ck_assert_int_eq(fedauth_propose(o, RELAY_B, 1, &fp, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(fp.spec_version, "");
	json_object_set_new(o, "spec_version", json_string(""));
	ck_assert_int_eq(fedauth_propose(o, RELAY_B, 1, &fp, err,
	    sizeof(err)), 0);
	json_object_set_new(o, "spec_version", json_integer(1));
	ck_assert_int_eq(fedauth_propose(o, RELAY_B, 1, &fp, err,
	    sizeof(err)), 400);

	/* self-propose: the signing oracle stays closed */
	json_object_del(o, "spec_version");
	ck_assert_int_eq(fedauth_propose(o, RELAY_A, 1, &fp, err,
	    sizeof(err)), 400);
	ck_assert_str_eq(err, "a proposal naming this relay itself is "
	    "refused");

	/* formats */
	json_object_set_new(o, "public_key", json_string("abc"));
	ck_assert_int_eq(fedauth_propose(o, RELAY_B, 1, &fp, err,
	    sizeof(err)), 400);
	ck_assert_str_eq(err, "public_key must be 64 hex digits");
	json_object_set_new(o, "public_key", json_string("8A88E3DD7409F195F"
	    "D52DB2D3CBA5D72CA6709BF1D94121BF3748801B40F6F5C"));
	ck_assert_int_eq(fedauth_propose(o, RELAY_B, 1, &fp, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(fp.public_key, PUB_A);
	json_object_set_new(o, "endpoint_url", json_string("ftp://a"));
	ck_assert_int_eq(fedauth_propose(o, RELAY_B, 1, &fp, err,
	    sizeof(err)), 400);
	json_object_set_new(o, "endpoint_url", json_string("https://a b"));
	ck_assert_int_eq(fedauth_propose(o, RELAY_B, 1, &fp, err,
	    sizeof(err)), 400);
	json_object_set_new(o, "endpoint_url", json_string("http://a:1/x"));
	json_object_set_new(o, "display_name", json_string("a\nb"));
	ck_assert_int_eq(fedauth_propose(o, RELAY_B, 1, &fp, err,
	    sizeof(err)), 400);
	ck_assert_str_eq(err, "display_name must be text of 1 to 64 bytes");
	/* keyd.8's text rule: no C1, bidi override or lone surrogate */
	json_object_set_new(o, "display_name", json_string("evil\xe2\x80\xae"));
	ck_assert_int_eq(fedauth_propose(o, RELAY_B, 1, &fp, err,
	    sizeof(err)), 400);
	json_object_set_new(o, "display_name", json_string("a\xc2\x85"));
	ck_assert_int_eq(fedauth_propose(o, RELAY_B, 1, &fp, err,
	    sizeof(err)), 400);
	json_object_set_new(o, "display_name",
	    json_stringn_nocheck("a\xed\xa0\x80", 4));
	ck_assert_int_eq(fedauth_propose(o, RELAY_B, 1, &fp, err,
	    sizeof(err)), 400);
	json_object_set_new(o, "display_name", json_null());
	ck_assert_int_eq(fedauth_propose(o, RELAY_B, 1, &fp, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(fp.display_name, "");
	json_object_set_new(o, "display_name", json_string("r\xc3\xa9lai"));
	ck_assert_int_eq(fedauth_propose(o, RELAY_B, 1, &fp, err,
	    sizeof(err)), 0);
	json_object_set_new(o, "nonce", json_string("a:b"));
	ck_assert_int_eq(fedauth_propose(o, RELAY_B, 1, &fp, err,
	    sizeof(err)), 400);
	json_object_set_new(o, "nonce", json_integer(7));
	ck_assert_int_eq(fedauth_propose(o, RELAY_B, 1, &fp, err,
	    sizeof(err)), 400);
	json_object_set_new(o, "nonce", json_string(NONCE_A));
	json_object_set_new(o, "relay_id", json_string("relay|x"));
	ck_assert_int_eq(fedauth_propose(o, RELAY_B, 1, &fp, err,
	    sizeof(err)), 400);
	ck_assert_str_eq(err, "relay_id is not a valid relay id");
	json_decref(o);
	o = parse("[1]");
	ck_assert_int_eq(fedauth_propose(o, RELAY_B, 1, &fp, err,
	    sizeof(err)), 400);
	json_decref(o);
}
END_TEST

START_TEST(confirm_fields)
{
	struct fed_confirm	 fc;
	json_t			*o;
	char			 err[160];

	o = json_pack("{s:s, s:s}", "relay_id", RELAY_A,
	    "challenge_response",
	    vs("handshake.confirm_challenge_response_sig_by_A"));
	ck_assert_int_eq(fedauth_confirm(o, RELAY_B, 1, &fc, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(fc.relay_id, RELAY_A);
	ck_assert_str_eq(fc.challenge_response,
	    vs("handshake.confirm_challenge_response_sig_by_A"));
	ck_assert_int_eq(fedauth_confirm(o, RELAY_B, 0, &fc, err,
	    sizeof(err)), 403);
	ck_assert_int_eq(fedauth_confirm(o, RELAY_A, 1, &fc, err,
	    sizeof(err)), 400);
	json_object_set_new(o, "challenge_response", json_string("00"));
	ck_assert_int_eq(fedauth_confirm(o, RELAY_B, 1, &fc, err,
	    sizeof(err)), 400);
	ck_assert_str_eq(err, "challenge_response must be 128 hex digits");
	json_object_del(o, "challenge_response");
	ck_assert_int_eq(fedauth_confirm(o, RELAY_B, 0, &fc, err,
	    sizeof(err)), 400);
	ck_assert_str_eq(err, "relay_id and challenge_response are required");
	json_decref(o);
}
END_TEST

START_TEST(small_rules)
{
	ck_assert_int_eq(fedauth_spec_major_ok(RELAYD_SPEC_VERSION), 1);
	ck_assert_int_eq(fedauth_spec_major_ok("x@1.0"), 1);
	ck_assert_int_eq(fedauth_spec_major_ok("x@001.9"), 1);
	ck_assert_int_eq(fedauth_spec_major_ok("a@b@1.2"), 1);
	ck_assert_int_eq(fedauth_spec_major_ok("a@1x@2.0"), 0);
	ck_assert_int_eq(fedauth_spec_major_ok("x@2.0"), 0);
	ck_assert_int_eq(fedauth_spec_major_ok("x@10.0"), 0);
	ck_assert_int_eq(fedauth_spec_major_ok("x@0.9"), 0);
	ck_assert_int_eq(fedauth_spec_major_ok("x@1"), 0);
	ck_assert_int_eq(fedauth_spec_major_ok("1.4"), 0);
	ck_assert_int_eq(fedauth_spec_major_ok(""), 0);

	ck_assert_int_eq(nonce_valid(NONCE_A), 1);
	ck_assert_int_eq(nonce_valid(""), 0);
	ck_assert_int_eq(nonce_valid("a b"), 0);
	ck_assert_int_eq(nonce_valid("a|b"), 0);
	{
		char	 n[200];

		memset(n, 'n', sizeof(n));
		n[128] = '\0';
		ck_assert_int_eq(nonce_valid(n), 1);
		n[128] = 'n';
		n[129] = '\0';
		ck_assert_int_eq(nonce_valid(n), 0);
	}

	ck_assert_int_eq(fedauth_url_ok("https://a.example"), 1);
	ck_assert_int_eq(fedauth_url_ok("http://127.0.0.1:8080/x"), 1);
	ck_assert_int_eq(fedauth_url_ok("https://"), 0);
	ck_assert_int_eq(fedauth_url_ok("https:///x"), 0);
	ck_assert_int_eq(fedauth_url_ok("HTTP://a"), 0);
	ck_assert_int_eq(fedauth_url_ok("http://a\x7f"), 0);

	ck_assert_int_eq(fedauth_fresh(T0, T0), 1);
	ck_assert_int_eq(fedauth_fresh(T0 - FEDAUTH_WINDOW_MS, T0), 1);
	ck_assert_int_eq(fedauth_fresh(T0 + FEDAUTH_WINDOW_MS, T0), 1);
	ck_assert_int_eq(fedauth_fresh(T0 - FEDAUTH_WINDOW_MS - 1, T0), 0);
	ck_assert_int_eq(fedauth_fresh(T0 + FEDAUTH_WINDOW_MS + 1, T0), 0);
	ck_assert_int_eq(fedauth_fresh(INT64_MIN, T0), 0);
	ck_assert_int_eq(fedauth_fresh(INT64_MAX, T0), 0);
}
END_TEST

START_TEST(iplimit)
{
	struct fedlimit	 l;
	uint32_t	 retry = 0;
	char		 addr[64];
	int		 i;

	fedlimit_init(&l);
	for (i = 0; i < FEDLIMIT_MAX; i++)
		ck_assert_int_eq(fedlimit_check(&l, "192.0.2.1", 1000 + i,
		    &retry), 0);
	ck_assert_int_eq(fedlimit_check(&l, "192.0.2.1", 1500, &retry), -1);
	ck_assert_uint_eq(retry, 60);
	ck_assert_int_eq(fedlimit_check(&l, "192.0.2.1", 60999, &retry), -1);
	ck_assert_uint_eq(retry, 1);
	/* another address has its own count */
	ck_assert_int_eq(fedlimit_check(&l, "192.0.2.2", 1500, &retry), 0);
	/* the window ends, 60 s after the address's first request */
	ck_assert_int_eq(fedlimit_check(&l, "192.0.2.1", 61000, &retry), 0);
	ck_assert_uint_eq(l.addrs.n, 2);
	ck_assert_uint_eq(l.prefixes.n, 1);
	/* the clock went back: a new window */
	for (i = 0; i < FEDLIMIT_MAX - 1; i++)
		ck_assert_int_eq(fedlimit_check(&l, "192.0.2.1", 61000,
		    &retry), 0);
	ck_assert_int_eq(fedlimit_check(&l, "192.0.2.1", 61000, &retry), -1);
	ck_assert_int_eq(fedlimit_check(&l, "192.0.2.1", 5000, &retry), 0);
	fedlimit_clear(&l);
	fedlimit_init(&l);

	/* a /24 shares FEDLIMIT_PREFIX_MAX */
	for (i = 0; i < FEDLIMIT_PREFIX_MAX; i++) {
		snprintf(addr, sizeof(addr), "198.51.100.%d", i % 250);
		ck_assert_int_eq(fedlimit_check(&l, addr, 100, &retry), 0);
	}
	ck_assert_int_eq(fedlimit_check(&l, "198.51.100.251", 100, &retry),
	    -1);
	ck_assert_int_eq(fedlimit_check(&l, "198.51.101.1", 100, &retry), 0);
	/* IPv6 by /56; IPv4-mapped addresses are IPv4 */
	ck_assert_ptr_nonnull(fedlimit_find(&l.prefixes, "198.51.100.0/24"));
	ck_assert_int_eq(fedlimit_check(&l, "::ffff:198.51.100.9", 100,
	    &retry), -1);
	ck_assert_int_eq(fedlimit_check(&l, "2001:db8:0:ff42::1", 100,
	    &retry), 0);
	ck_assert_ptr_nonnull(fedlimit_find(&l.prefixes,
	    "2001:db8:0:ff00::/56"));
	fedlimit_clear(&l);
	fedlimit_init(&l);
}
END_TEST

/*
 * Issue 8, finding 5: 16 500 requests from distinct 127.100.x.y
 * addresses left every fresh address rate-limited.  The tables stay
 * bounded, overflow degrades to the prefix, and a fresh address in
 * another prefix is served.
 */
START_TEST(iplimit_flood)
{
	struct fedlimit	 l;
	uint32_t	 retry = 0;
	char		 addr[64], pfx[64];
	int		 i, limited = 0;

	fedlimit_init(&l);
	for (i = 0; i < 16500; i++) {
		snprintf(addr, sizeof(addr), "127.100.%d.%d", i / 250,
		    i % 250 + 1);
		if (fedlimit_check(&l, addr, 1000 + i / 100, &retry) == -1)
			limited++;
	}
	ck_assert_int_eq(limited, 0);
	ck_assert_uint_le(l.addrs.n, FEDLIMIT_ADDRS);
	ck_assert_uint_le(l.prefixes.n, FEDLIMIT_PREFIXES);
	ck_assert_uint_eq(l.prefix_only, 16500 - FEDLIMIT_ADDRS);
	ck_assert_int_eq(fedlimit_check(&l, "127.0.0.1", 2000, &retry), 0);
	ck_assert_int_eq(fedlimit_check(&l, "127.101.0.1", 2000, &retry), 0);
	/* an address that found no room still counts by its prefix */
	for (i = 0; i < FEDLIMIT_PREFIX_MAX; i++)
		(void)fedlimit_check(&l, "127.100.70.1", 2000, &retry);
	ck_assert_int_eq(fedlimit_check(&l, "127.100.70.2", 2000, &retry),
	    -1);
	/* more prefixes than the table holds: the oldest go, nobody waits */
	for (i = 0; i < 2 * FEDLIMIT_PREFIXES; i++) {
		snprintf(addr, sizeof(addr), "10.%d.%d.1", i / 256, i % 256);
		ck_assert_int_eq(fedlimit_check(&l, addr, 3000, &retry), 0);
	}
	ck_assert_uint_eq(l.prefixes.n, FEDLIMIT_PREFIXES);
	/* after the window the address table takes new addresses again */
	ck_assert_int_eq(fedlimit_check(&l, "127.102.0.1", 70000, &retry), 0);
	ck_assert_ptr_nonnull(fedlimit_find(&l.addrs, "127.102.0.1"));
	ck_assert_int_eq(fedauth_prefix("127.100.3.77", pfx, sizeof(pfx)), 0);
	ck_assert_str_eq(pfx, "127.100.3.0/24");
	ck_assert_int_eq(fedauth_prefix("unknown", pfx, sizeof(pfx)), -1);
	ck_assert_str_eq(pfx, "unknown");
	fedlimit_clear(&l);
}
END_TEST

/*
 * The server, with a fake peer engine and keyd's signing code.
 */

static struct event_base	*base;
static struct frontend		 fstate;
static uint16_t			 port;
static struct keyd_state	 ks_b;		/* this relay: B */
static int			 nkeyd, nrefused;

/* the fake peer engine */
static int			 eng_up, eng_silent, neng;
static struct fed_result	 eng_res;	/* what it answers */
static uint32_t			 eng_type;	/* what it last got */
static union {
	struct fed_hdr		 hdr;
	struct fed_propose	 propose;
	struct fed_confirm	 confirm;
	struct fed_heartbeat	 heartbeat;
	struct fed_signed	 sgn;
} eng_msg;

struct fake_msg {
	enum proc_id	 to;
	uint32_t	 type;
	size_t		 len;
	char		 data[];
};

static void
fake_react(int fd, short event, void *arg)
{
	struct fake_msg		*m = arg;
	struct keyd_result	 kr;
	struct fed_result	 res;
	struct key_handshake	 hs;
	char			 err[128];
	int			 r;

	if (m->to == PROC_KEYD) {
		nkeyd++;
		r = keyd_handle(&ks_b, m->type, PROC_FRONTEND, 0, m->data,
		    m->len, &kr);
		if (r != KEYD_SIGNED)
			nrefused++;
		fe_sign_answer(r == KEYD_SIGNED, &kr.kr_resp, kr.kr_doc,
		    kr.kr_doclen);
		keyd_result_free(&kr);
	} else if (m->to == PROC_PEER && m->type >= IMSG_FED_PROPOSE &&
	    m->type <= IMSG_FED_ACCEPTED) {
		neng++;
		eng_type = m->type;
		ck_assert_uint_le(m->len, sizeof(eng_msg));
		memset(&eng_msg, 0, sizeof(eng_msg));
		memcpy(&eng_msg, m->data, m->len);
		if (!eng_silent) {
			res = eng_res;
			res.reqid = eng_msg.hdr.reqid;
			/* as peer_inbound.c: keyd hears of it first */
			if (m->type == IMSG_FED_PROPOSE && res.status == 200) {
				memset(&hs, 0, sizeof(hs));
				strlcpy(hs.relay_id, eng_msg.propose.relay_id,
				    sizeof(hs.relay_id));
				strlcpy(hs.nonce, eng_msg.propose.nonce,
				    sizeof(hs.nonce));
				ck_assert_int_eq(keyd_handshake(&ks_b, &hs,
				    err, sizeof(err)), 0);
			}
			fe_fed_result(&res);
		}
	} else if (m->type != IMSG_FE_STATS)
		ck_abort_msg("unexpected imsg %u to %d", m->type, m->to);
	free(m);
}

static int
fake_send(enum proc_id to, uint32_t type, const struct iovec *iov, int n)
{
	struct fake_msg	*m;
	struct timeval	 tv = { 0, 0 };
	size_t		 len = 0;
	int		 i;

	if (to == PROC_PEER && !eng_up)
		return (-1);
	for (i = 0; i < n; i++)
		len += iov[i].iov_len;
	m = malloc(sizeof(*m) + len);
	m->to = to;
	m->type = type;
	m->len = 0;
	for (i = 0; i < n; i++) {
		memcpy(m->data + m->len, iov[i].iov_base, iov[i].iov_len);
		m->len += iov[i].iov_len;
	}
	event_base_once(base, -1, EV_TIMEOUT, fake_react, m, &tv);
	return (1);
}

static void
conf_set(int enable, int public)
{
	struct cfg_global	 g;

	memset(&g, 0, sizeof(g));
	strlcpy(g.name, "relay-b", sizeof(g.name));
	strlcpy(g.endpoint, "https://b.example", sizeof(g.endpoint));
	g.prefork = 1;
	g.body_limit = 64 * 1024;
	g.fee_ppm = 50000;
	g.fed_enable = enable;
	g.fed_peers_public = public;
	g.fed_max_hops = 3;
	fe_set_conf(&g);
}

static void
peer_set(const char *relay_id, const char *pub, int state, uint32_t ext)
{
	struct peer_entry	 e;

	memset(&e, 0, sizeof(e));
	strlcpy(e.relay_id, relay_id, sizeof(e.relay_id));
	strlcpy(e.public_key, pub, sizeof(e.public_key));
	strlcpy(e.endpoint, "https://a.example", sizeof(e.endpoint));
	strlcpy(e.display_name, "relay-a", sizeof(e.display_name));
	e.state = state;
	e.extensions = ext;
	e.trust_ppm = 500000;
	e.agent_count = 3;
	e.peered_at = T0 - 1000;
	e.last_heartbeat = T0 - 500;
	fe_peer_upsert(&e);
}

static void
server_setup(void)
{
	struct sockaddr_in	 sin;
	struct cfg_listen	 cl;
	struct cfg_identity	 id;
	struct ldg_state	 ls;
	socklen_t		 len = sizeof(sin);
	int			 fd, one = 1;

	log_init(1, 0);
	base = event_base_new();
	fe_init(&fstate, base, 0, fake_send);
	fe_fed_set_clock(test_clock);
	test_now = T0;
	fstate.http = http_server_new(base, &fstate.stats);
	conf_set(1, 0);
	keyd_for(&ks_b, 2, RELAY_B);
	memset(&id, 0, sizeof(id));
	strlcpy(id.relay_id, RELAY_B, sizeof(id.relay_id));
	strlcpy(id.public_key, PUB_B, sizeof(id.public_key));
	strlcpy(id.did, ks_b.ks_did, sizeof(id.did));
	fe_set_identity(&id);
	memset(&ls, 0, sizeof(ls));
	ls.connected = 1;
	ls.agent_count = 7;
	fe_set_ldg_state(&ls);

	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	memset(&cl, 0, sizeof(cl));
	strlcpy(cl.addr, "127.0.0.1", sizeof(cl.addr));
	cl.port = port;
	ck_assert_int_eq(http_server_listen(fstate.http, fd, &cl, NULL), 0);

	eng_up = 1;
	eng_silent = 0;
	neng = nkeyd = nrefused = 0;
	memset(&eng_res, 0, sizeof(eng_res));
	eng_res.status = 200;
	metrics_reset();
	peer_set(RELAY_A, PUB_A, PEER_ACTIVE, 0);
}

static void
server_teardown(void)
{
	/* the frontend never asks keyd for what keyd refuses */
	ck_assert_int_eq(nrefused, 0);
	fe_cleanup();
	http_server_free(fstate.http);
	fe_fed_init();
	event_base_free(base);
	keyd_state_wipe(&ks_b);
}

struct resp {
	int	 done;
	int	 status;
	char	 body[8192];
	char	 retry[32];
	json_t	*json;
};

static void
resp_cb(struct evhttp_request *req, void *arg)
{
	struct resp	*r = arg;
	struct evbuffer	*b;
	const char	*h;
	size_t		 len;
	char		 err[128];

	r->done = 1;
	if (req == NULL) {
		r->status = -1;
		return;
	}
	r->status = evhttp_request_get_response_code(req);
	b = evhttp_request_get_input_buffer(req);
	len = evbuffer_get_length(b);
	ck_assert_uint_lt(len, sizeof(r->body));
	evbuffer_remove(b, r->body, len);
	r->body[len] = '\0';
	h = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Retry-After");
	strlcpy(r->retry, h != NULL ? h : "", sizeof(r->retry));
	if (len > 0) {
		/* every answer is canonical JSON */
		ck_assert_int_eq(jcs_is_canonical(r->body, len), 1);
		r->json = jcs_parse(r->body, len, err, sizeof(err));
	}
}

/*
 * One request; hdrs is NULL or name, value, ..., NULL.  The answer's
 * JSON is in r->json (the caller frees it with resp_free()).
 */
static void
req(int method, const char *path, const char *body, const char **hdrs,
    struct resp *r)
{
	struct evhttp_connection	*c;
	struct evhttp_request		*rq;
	struct evkeyvalq		*out;

	memset(r, 0, sizeof(*r));
	c = evhttp_connection_base_new(base, NULL, "127.0.0.1", port);
	ck_assert_ptr_nonnull(c);
	evhttp_connection_set_timeout(c, 30);
	rq = evhttp_request_new(resp_cb, r);
	out = evhttp_request_get_output_headers(rq);
	evhttp_add_header(out, "Host", "b.example");
	for (; hdrs != NULL && hdrs[0] != NULL; hdrs += 2)
		evhttp_add_header(out, hdrs[0], hdrs[1]);
	if (body != NULL) {
		evhttp_add_header(out, "Content-Type", "application/json");
		evbuffer_add(evhttp_request_get_output_buffer(rq), body,
		    strlen(body));
	}
	ck_assert_int_eq(evhttp_make_request(c, rq, method == HTTP_GET ?
	    EVHTTP_REQ_GET : EVHTTP_REQ_POST, path), 0);
	while (!r->done)
		event_base_loop(base, EVLOOP_ONCE);
	evhttp_connection_free(c);
}

static void
post(const char *path, const char *body, const char **hdrs, struct resp *r)
{
	req(HTTP_POST, path, body, hdrs, r);
}

static void
post_json(const char *path, const json_t *o, const char **hdrs,
    struct resp *r)
{
	char	*s;

	s = json_dumps(o, JSON_COMPACT);
	post(path, s, hdrs, r);
	free(s);
}

static void
resp_free(struct resp *r)
{
	json_decref(r->json);
	r->json = NULL;
}

static const char *
rstr(const struct resp *r, const char *key)
{
	json_t	*v;

	ck_assert_ptr_nonnull(r->json);
	v = json_object_get(r->json, key);
	ck_assert_msg(json_is_string(v), "%s missing in %s", key, r->body);
	return (json_string_value(v));
}

static json_int_t
rjint(const struct resp *r, const char *key)
{
	json_t	*v;

	ck_assert_ptr_nonnull(r->json);
	v = json_object_get(r->json, key);
	ck_assert_msg(json_is_integer(v), "%s missing in %s", key, r->body);
	return (json_integer_value(v));
}

/* an error answer: {"error":msg,"status":status} */
static void
assert_error(struct resp *r, int status, const char *msg)
{
	ck_assert_msg(r->status == status, "status %d, want %d: %s",
	    r->status, status, r->body);
	ck_assert_int_eq(rjint(r, "status"), status);
	if (msg != NULL)
		ck_assert_str_eq(rstr(r, "error"), msg);
	resp_free(r);
}

#define P_PROPOSE	"/federation/v1/peer/propose"
#define P_CONFIRM	"/federation/v1/peer/confirm"
#define P_HEARTBEAT	"/federation/v1/peer/heartbeat"
#define P_REMOVE	"/federation/v1/peer/remove"
#define P_ACCEPTED	"/federation/v1/peer/accepted"
#define P_PEERS		"/federation/v1/peers"

START_TEST(route_propose)
{
	struct resp	 r;
	json_t		*o;
	uint8_t		 sig[ED25519_SIG_LEN];

	server_setup();
	strlcpy(eng_res.nonce, NONCE_B, sizeof(eng_res.nonce));
	o = vobj("handshake.propose_request");
	post_json(P_PROPOSE, o, NULL, &r);
	ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
	/* the peer engine got the checked fields, unauthenticated */
	ck_assert_uint_eq(eng_type, IMSG_FED_PROPOSE);
	ck_assert_str_eq(eng_msg.propose.relay_id, RELAY_A);
	ck_assert_str_eq(eng_msg.propose.public_key, PUB_A);
	ck_assert_str_eq(eng_msg.propose.nonce, NONCE_A);
	ck_assert_str_eq(eng_msg.propose.endpoint, "https://a.example");
	ck_assert_str_eq(eng_msg.hdr.signer, "");
	ck_assert_str_eq(eng_msg.hdr.remote_addr, "127.0.0.1");
	/* the reference's answer, with keyd's challenge: Appendix B */
	ck_assert_str_eq(rstr(&r, "relay_id"), RELAY_B);
	ck_assert_str_eq(rstr(&r, "public_key"), PUB_B);
	ck_assert_str_eq(rstr(&r, "endpoint_url"), "https://b.example");
	ck_assert_str_eq(rstr(&r, "display_name"), "relay-b");
	ck_assert_str_eq(rstr(&r, "nonce"), NONCE_B);
	ck_assert_str_eq(rstr(&r, "spec_version"), RELAYD_SPEC_VERSION);
	ck_assert_str_eq(rstr(&r, "challenge"),
	    vs("handshake.responder_challenge_sig_by_B"));
	sig_hex(rstr(&r, "challenge"), sig);
	ck_assert_int_eq(fedauth_verify_handshake(RELAY_A, NONCE_A, sig,
	    PUB_B), 0);
	ck_assert_int_eq(json_object_size(r.json), 7);
	resp_free(&r);
	ck_assert_int_eq(nkeyd, 1);

	/* the peer engine refuses: its status and message, no signature */
	eng_res.status = 409;
	strlcpy(eng_res.error, "relay is already a peer",
	    sizeof(eng_res.error));
	post_json(P_PROPOSE, o, NULL, &r);
	assert_error(&r, 409, "relay is already a peer");
	eng_res.status = 503;
	strlcpy(eng_res.error, "max peers reached", sizeof(eng_res.error));
	post_json(P_PROPOSE, o, NULL, &r);
	assert_error(&r, 503, "max peers reached");
	eng_res.status = 429;
	eng_res.retry_after = 240;
	strlcpy(eng_res.error, "re-peering too soon after removal",
	    sizeof(eng_res.error));
	post_json(P_PROPOSE, o, NULL, &r);
	ck_assert_str_eq(r.retry, "240");
	assert_error(&r, 429, NULL);
	ck_assert_int_eq(nkeyd, 1);

	/* refused before the peer engine */
	neng = 0;
	json_object_set_new(o, "relay_id", json_string(RELAY_B));
	post_json(P_PROPOSE, o, NULL, &r);
	assert_error(&r, 400, "a proposal naming this relay itself is "
	    "refused");
	json_object_set_new(o, "relay_id", json_string(RELAY_A));
	json_object_set_new(o, "spec_version",
	    json_string("motebit/relay-federation@2.1"));
	post_json(P_PROPOSE, o, NULL, &r);
	assert_error(&r, 403, NULL);
	ck_assert_uint_eq(fstate.stats.auth_failures[AUTH_FAIL_VERSION], 1);
	json_object_del(o, "spec_version");
	conf_set(0, 0);
	post_json(P_PROPOSE, o, NULL, &r);
	assert_error(&r, 403, "Federation is disabled on this relay");
	conf_set(1, 0);
	post(P_PROPOSE, NULL, NULL, &r);
	assert_error(&r, 400, "JSON object required");
	post(P_PROPOSE, "{\"relay_id\":", NULL, &r);
	assert_error(&r, 400, NULL);
	ck_assert_int_eq(neng, 0);
	ck_assert_int_eq(nkeyd, 1);

	/* no peer engine: 503 at once */
	eng_up = 0;
	post_json(P_PROPOSE, o, NULL, &r);
	assert_error(&r, 503, "peer engine not connected");
	json_decref(o);
	server_teardown();
}
END_TEST

START_TEST(route_confirm)
{
	struct resp	 r;
	json_t		*o;

	server_setup();
	o = json_pack("{s:s, s:s}", "relay_id", RELAY_C,
	    "challenge_response",
	    vs("handshake.confirm_challenge_response_sig_by_A"));
	eng_res.peered_at = T0 + 5;
	post_json(P_CONFIRM, o, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(rstr(&r, "status"), "active");
	ck_assert_int_eq(rjint(&r, "peered_at"), T0 + 5);
	resp_free(&r);
	ck_assert_uint_eq(eng_type, IMSG_FED_CONFIRM);
	ck_assert_str_eq(eng_msg.confirm.relay_id, RELAY_C);
	ck_assert_str_eq(eng_msg.confirm.challenge_response,
	    vs("handshake.confirm_challenge_response_sig_by_A"));
	/* accept manual: pending */
	eng_res.status = 202;
	post_json(P_CONFIRM, o, NULL, &r);
	ck_assert_int_eq(r.status, 202);
	ck_assert_str_eq(r.body, "{\"status\":\"pending\"}");
	resp_free(&r);
	/* the peer engine's verdict on the challenge */
	eng_res.status = 403;
	strlcpy(eng_res.error, "challenge_response does not verify",
	    sizeof(eng_res.error));
	post_json(P_CONFIRM, o, NULL, &r);
	assert_error(&r, 403, "challenge_response does not verify");
	json_decref(o);
	ck_assert_int_eq(nkeyd, 0);
	server_teardown();
}
END_TEST

START_TEST(route_heartbeat)
{
	struct resp	 r;
	json_t		*o;
	uint8_t		 sig[ED25519_SIG_LEN];

	server_setup();
	o = vobj("heartbeat.body");
	post_json(P_HEARTBEAT, o, NULL, &r);
	ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
	ck_assert_uint_eq(eng_type, IMSG_FED_HEARTBEAT);
	ck_assert_str_eq(eng_msg.hdr.signer, RELAY_A);
	ck_assert_str_eq(eng_msg.hdr.signature, vs("heartbeat.body."
	    "signature"));
	ck_assert_int_eq(eng_msg.hdr.header_auth, 0);
	ck_assert_int_eq(eng_msg.heartbeat.timestamp, T0);
	ck_assert_int_eq(eng_msg.heartbeat.agent_count, 3);
	/* our own heartbeat, signed by keyd */
	ck_assert_str_eq(rstr(&r, "relay_id"), RELAY_B);
	ck_assert_int_eq(rjint(&r, "timestamp"), T0);
	ck_assert_int_eq(rjint(&r, "agent_count"), 7);
	sig_hex(rstr(&r, "signature"), sig);
	ck_assert_int_eq(fedauth_verify_heartbeat(RELAY_B, T0, sig, PUB_B),
	    0);
	ck_assert_int_eq(json_object_size(r.json), 4);
	resp_free(&r);
	ck_assert_uint_eq(fstate.stats.signatures[KEY_KIND_HBRESP], 1);

	/* the peer engine: replay, per-peer limit, not active */
	eng_res.status = 409;
	strlcpy(eng_res.error, "replayed request", sizeof(eng_res.error));
	post_json(P_HEARTBEAT, o, NULL, &r);
	assert_error(&r, 409, "replayed request");
	eng_res.status = 429;
	eng_res.retry_after = 17;
	strlcpy(eng_res.error, "Per-peer rate limit exceeded",
	    sizeof(eng_res.error));
	post_json(P_HEARTBEAT, o, NULL, &r);
	ck_assert_str_eq(r.retry, "17");
	assert_error(&r, 429, "Per-peer rate limit exceeded");
	eng_res.status = 404;
	strlcpy(eng_res.error, "peer is not active", sizeof(eng_res.error));
	post_json(P_HEARTBEAT, o, NULL, &r);
	assert_error(&r, 404, NULL);
	ck_assert_int_eq(nkeyd, 1);

	/* refused before the peer engine */
	neng = 0;
	json_object_set_new(o, "signature", json_string(vs("handshake."
	    "confirm_challenge_response_sig_by_A")));
	post_json(P_HEARTBEAT, o, NULL, &r);
	assert_error(&r, 403, "signature verification failed");
	ck_assert_uint_eq(fstate.stats.auth_failures[AUTH_FAIL_BAD_SIGNATURE],
	    1);
	json_decref(o);
	o = vobj("heartbeat.body");
	test_now = T0 + FEDAUTH_WINDOW_MS + 1;
	post_json(P_HEARTBEAT, o, NULL, &r);
	assert_error(&r, 400, "timestamp is more than 5 minutes away from "
	    "this relay's clock");
	ck_assert_uint_eq(fstate.stats.auth_failures[AUTH_FAIL_TIMESTAMP], 1);
	test_now = T0;
	peer_set(RELAY_C, PUB_B, PEER_ACTIVE, 0);
	fe_peer_delete(&(struct peer_entry){ .relay_id = RELAY_A });
	post_json(P_HEARTBEAT, o, NULL, &r);
	assert_error(&r, 403, "unknown relay " RELAY_A);
	ck_assert_uint_eq(fstate.stats.auth_failures[AUTH_FAIL_UNKNOWN_PEER],
	    1);
	/* a key for another id does not do */
	json_object_set_new(o, "relay_id", json_string(RELAY_C));
	post_json(P_HEARTBEAT, o, NULL, &r);
	assert_error(&r, 403, "signature verification failed");
	ck_assert_int_eq(neng, 0);

	/* agent count not known yet */
	peer_set(RELAY_A, PUB_A, PEER_ACTIVE, 0);
	json_object_set_new(o, "relay_id", json_string(RELAY_A));
	fstate.have_ldg = 0;
	post_json(P_HEARTBEAT, o, NULL, &r);
	assert_error(&r, 503, "agent count not known yet");
	fstate.have_ldg = 1;
	json_decref(o);
	server_teardown();
}
END_TEST

START_TEST(route_heartbeat_headers)
{
	struct resp	 r;
	json_t		*o;
	char		 sig[128], ts[32];
	const char	*h[] = {
		"X-Relay-Id", RELAY_A, "X-Relay-Timestamp", ts,
		"X-Relay-Signature", sig, NULL
	};
	const char	*h2[] = {
		"X-Relay-Id", RELAY_A, "X-Relay-Timestamp", ts,
		"X-Relay-Signature", sig, "X-Relay-Id", RELAY_A, NULL
	};
	const char	*h3[] = {
		"X-Relay-Id", RELAY_A, "X-Relay-Signature", sig, NULL
	};

	server_setup();
	snprintf(ts, sizeof(ts), "%lld", T0);
	o = json_pack("{s:s, s:I, s:i}", "relay_id", RELAY_A, "timestamp",
	    (json_int_t)T0, "agent_count", 2);
	hdr_sign(o, 1, sig);
	post_json(P_HEARTBEAT, o, h, &r);
	ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
	resp_free(&r);
	ck_assert_int_eq(eng_msg.hdr.header_auth, 1);
	ck_assert_str_eq(eng_msg.hdr.signer, RELAY_A);
	ck_assert_int_eq(strlen(eng_msg.hdr.signature), 128);
	ck_assert_int_eq(eng_msg.heartbeat.agent_count, 2);

	neng = 0;
	post_json(P_HEARTBEAT, o, h2, &r);
	assert_error(&r, 400, "X-Relay-* headers must not repeat");
	post_json(P_HEARTBEAT, o, h3, &r);
	assert_error(&r, 400, "X-Relay-Id, X-Relay-Timestamp and "
	    "X-Relay-Signature go together");
	/* the body is what is signed */
	json_object_set_new(o, "agent_count", json_integer(9));
	post_json(P_HEARTBEAT, o, h, &r);
	assert_error(&r, 403, "signature verification failed");
	/* a stale header timestamp, signed and matching the body */
	json_object_set_new(o, "timestamp", json_integer(T0 - 400000));
	snprintf(ts, sizeof(ts), "%lld", T0 - 400000);
	hdr_sign(o, 1, sig);
	post_json(P_HEARTBEAT, o, h, &r);
	assert_error(&r, 400, NULL);
	ck_assert_int_eq(neng, 0);
	json_decref(o);
	server_teardown();
}
END_TEST

START_TEST(route_remove)
{
	struct keyd_state	 ks_a;
	struct keyd_result	 kr;
	struct key_sign_req	 kreq;
	struct resp		 r;
	json_t			*o;

	server_setup();
	/* the reference's bare-id removal */
	o = vobj("peer_remove.body");
	post_json(P_REMOVE, o, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "{\"status\":\"removed\"}");
	resp_free(&r);
	ck_assert_uint_eq(eng_type, IMSG_FED_REMOVE);
	ck_assert_int_eq(eng_msg.sgn.style, FED_REMOVE_LEGACY);
	ck_assert_int_eq(eng_msg.sgn.timestamp, 0);
	ck_assert_str_eq(eng_msg.hdr.signer, RELAY_A);
	/* not from a peer that speaks remove-v2 */
	peer_set(RELAY_A, PUB_A, PEER_ACTIVE, PEER_EXT_REMOVE_V2);
	neng = 0;
	post_json(P_REMOVE, o, NULL, &r);
	assert_error(&r, 403, "relay " RELAY_A " speaks remove-v2: an "
	    "untimestamped removal is refused");
	ck_assert_int_eq(neng, 0);
	json_decref(o);

	/* remove-v2 as keyd makes it for relay A */
	keyd_for(&ks_a, 1, RELAY_A);
	memset(&kreq, 0, sizeof(kreq));
	strlcpy(kreq.relay_id, RELAY_B, sizeof(kreq.relay_id));
	ck_assert_int_eq(keyd_handle(&ks_a, IMSG_KEY_SIGN_REMOVAL2, PROC_PEER,
	    0, &kreq, sizeof(kreq), &kr), KEYD_SIGNED);
	post(P_REMOVE, kr.kr_doc, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);
	ck_assert_int_eq(eng_msg.sgn.style, FED_REMOVE_V2);
	ck_assert_int_eq(eng_msg.sgn.timestamp, T0);
	ck_assert_str_eq(eng_msg.hdr.signature, kr.kr_resp.signature);
	/* the same, too late */
	test_now = T0 + 10 * 60 * 1000;
	post(P_REMOVE, kr.kr_doc, NULL, &r);
	assert_error(&r, 400, NULL);
	test_now = T0;
	keyd_result_free(&kr);
	/* addressed to another relay */
	strlcpy(kreq.relay_id, RELAY_C, sizeof(kreq.relay_id));
	ck_assert_int_eq(keyd_handle(&ks_a, IMSG_KEY_SIGN_REMOVAL2, PROC_PEER,
	    0, &kreq, sizeof(kreq), &kr), KEYD_SIGNED);
	post(P_REMOVE, kr.kr_doc, NULL, &r);
	assert_error(&r, 400, "peer_relay_id does not name this relay");
	keyd_result_free(&kr);
	keyd_state_wipe(&ks_a);
	server_teardown();
}
END_TEST

START_TEST(route_accepted)
{
	struct resp	 r;
	json_t		*o;

	server_setup();
	peer_set(RELAY_A, PUB_A, PEER_PENDING, PEER_EXT_PEER_ACCEPTED);
	o = json_pack("{s:s, s:s, s:s, s:I}", "action", "accepted",
	    "peer_relay_id", RELAY_B, "relay_id", RELAY_A, "timestamp",
	    (json_int_t)T0);
	jcs_sign(o, 1);
	post_json(P_ACCEPTED, o, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "{\"status\":\"active\"}");
	resp_free(&r);
	ck_assert_uint_eq(eng_type, IMSG_FED_ACCEPTED);
	ck_assert_int_eq(eng_msg.sgn.timestamp, T0);
	ck_assert_str_eq(eng_msg.hdr.signer, RELAY_A);
	strlcpy(eng_res.peer_state, "pending", sizeof(eng_res.peer_state));
	post_json(P_ACCEPTED, o, NULL, &r);
	ck_assert_str_eq(r.body, "{\"status\":\"pending\"}");
	resp_free(&r);
	/* signed by someone else */
	jcs_sign(o, 2);
	post_json(P_ACCEPTED, o, NULL, &r);
	assert_error(&r, 403, "signature verification failed");
	conf_set(0, 0);
	post_json(P_ACCEPTED, o, NULL, &r);
	assert_error(&r, 403, "Federation is disabled on this relay");
	json_decref(o);
	server_teardown();
}
END_TEST

START_TEST(route_peers)
{
	struct resp	 r;
	json_t		*row;
	char		 sig[128], ts[32];
	const char	*h[] = {
		"X-Relay-Id", RELAY_A, "X-Relay-Timestamp", ts,
		"X-Relay-Signature", sig, NULL
	};

	server_setup();
	peer_set(RELAY_C, PUB_B, PEER_REMOVED, 0);
	/* loopback */
	req(HTTP_GET, P_PEERS, NULL, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "peers")),
	    2);
	row = json_array_get(json_object_get(r.json, "peers"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(row,
	    "peer_relay_id")), RELAY_A);
	ck_assert_str_eq(json_string_value(json_object_get(row, "state")),
	    "active");
	ck_assert_int_eq(json_integer_value(json_object_get(row,
	    "peered_at")), T0 - 1000);
	ck_assert_int_eq(json_integer_value(json_object_get(row,
	    "last_heartbeat_at")), T0 - 500);
	ck_assert(json_real_value(json_object_get(row, "trust_score")) ==
	    0.5);
	ck_assert(json_is_null(json_object_get(row, "circuit_breaker")));
	ck_assert_int_eq(json_object_size(row), 13);
	row = json_array_get(json_object_get(r.json, "peers"), 1);
	ck_assert_str_eq(json_string_value(json_object_get(row, "state")),
	    "removed");
	resp_free(&r);

	/* as seen from elsewhere */
	fe_fed_set_loopback(0);
	req(HTTP_GET, P_PEERS, NULL, NULL, &r);
	assert_error(&r, 403, "the peer list is served to loopback clients "
	    "and authenticated peers only");
	snprintf(ts, sizeof(ts), "%lld", T0);
	raw_sign("GET /federation/v1/peers 1760000000000", 1, sig);
	req(HTTP_GET, P_PEERS, NULL, h, &r);
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);
	test_now = T0 + 301000;
	req(HTTP_GET, P_PEERS, NULL, h, &r);
	assert_error(&r, 400, NULL);
	test_now = T0;
	raw_sign("GET /federation/v1/peers 1760000000000", 2, sig);
	req(HTTP_GET, P_PEERS, NULL, h, &r);
	assert_error(&r, 403, "signature verification failed");
	/* a removed relay is no peer */
	raw_sign("GET /federation/v1/peers 1760000000000", 1, sig);
	peer_set(RELAY_A, PUB_A, PEER_REMOVED, 0);
	req(HTTP_GET, P_PEERS, NULL, h, &r);
	assert_error(&r, 403, "relay " RELAY_A " is not a peer");
	/* peers list public */
	conf_set(1, 1);
	req(HTTP_GET, P_PEERS, NULL, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);
	server_teardown();
}
END_TEST

START_TEST(route_iplimit)
{
	struct resp	 r;
	int		 i;

	server_setup();
	for (i = 0; i < FEDLIMIT_MAX; i++) {
		post(P_HEARTBEAT, "{}", NULL, &r);
		ck_assert_int_eq(r.status, 400);
		resp_free(&r);
	}
	neng = 0;
	post(P_HEARTBEAT, "{}", NULL, &r);
	ck_assert_int_eq(atoi(r.retry), 60);
	assert_error(&r, 429, "Rate limit exceeded");
	req(HTTP_GET, P_PEERS, NULL, NULL, &r);
	assert_error(&r, 429, "Rate limit exceeded");
	ck_assert_uint_eq(fstate.stats.ip_rate_limited, 2);
	/* other routes are not limited */
	req(HTTP_GET, "/federation/v1/identity", NULL, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);
	server_teardown();
}
END_TEST

/* The peer engine does not answer: 503 after FE_FED_TIMEOUT_MS. */
START_TEST(route_engine_silent)
{
	struct resp	 r;
	json_t		*o;

	server_setup();
	eng_silent = 1;
	o = vobj("heartbeat.body");
	post_json(P_HEARTBEAT, o, NULL, &r);
	assert_error(&r, 503, "peer engine did not answer");
	json_decref(o);
	ck_assert_int_eq(neng, 1);
	server_teardown();
}
END_TEST

/* Documents that show the peer table, and the metrics. */
START_TEST(documents)
{
	json_t		*o;
	char		*s;
	struct key_peer	 kp[4];
	struct evbuffer	*b;
	struct metrics_self self;

	server_setup();
	peer_set(RELAY_C, PUB_B, PEER_PENDING, 0);
	o = fe_identity_doc();
	s = json_dumps(json_object_get(o, "extensions"), JSON_COMPACT);
	ck_assert_str_eq(s, "[\"peer-accepted\",\"remove-v2\"]");
	free(s);
	json_decref(o);
	/* what keyd is given for federation_peers and peer_count */
	ck_assert_uint_eq(fe_peer_list(kp, 4), 1);
	ck_assert_str_eq(kp[0].relay_id, RELAY_A);
	ck_assert_str_eq(kp[0].endpoint_url, "https://a.example");
	ck_assert_uint_eq(fe_peer_active(), 1);
	conf_set(0, 0);
	o = fe_identity_doc();
	ck_assert_int_eq(json_array_size(json_object_get(o, "extensions")),
	    0);
	json_decref(o);

	/* counters reach /metrics */
	fstate.stats.auth_failures[AUTH_FAIL_BAD_SIGNATURE] = 2;
	fstate.stats.ip_rate_limited = 5;
	ck_assert_int_eq(metrics_fe_stats(&fstate.stats), 0);
	metrics_auth_failure(AUTH_FAIL_REPLAY);
	metrics_peer_limited();
	memset(&self, 0, sizeof(self));
	self.version = "t";
	self.self = PROC_PEER;
	b = evbuffer_new();
	metrics_render(b, &self);
	evbuffer_add(b, "", 1);
	s = (char *)evbuffer_pullup(b, -1);
	ck_assert_ptr_nonnull(strstr(s, "relayd_peer_auth_failures_total{"
	    "reason=\"bad_signature\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(s, "relayd_peer_auth_failures_total{"
	    "reason=\"replay\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(s, "relayd_peer_auth_failures_total{"
	    "reason=\"version\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(s,
	    "relayd_rate_limited_total{scope=\"ip\"} 5\n"));
	ck_assert_ptr_nonnull(strstr(s,
	    "relayd_rate_limited_total{scope=\"peer\"} 1\n"));
	evbuffer_free(b);
	server_teardown();
}
END_TEST

static Suite *
fedauth_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("fedauth");
	tc = tcase_create("appendix-b");
	tcase_add_test(tc, vector_handshake);
	tcase_add_test(tc, vector_heartbeat);
	tcase_add_test(tc, vector_remove);
	tcase_add_test(tc, vector_jcs_bodies);
	tcase_add_test(tc, keyd_removal2);
	tcase_add_test(tc, accepted_body);
	suite_add_tcase(s, tc);

	tc = tcase_create("rules");
	tcase_add_test(tc, headers);
	tcase_add_test(tc, heartbeat_fields);
	tcase_add_test(tc, propose_fields);
	tcase_add_test(tc, confirm_fields);
	tcase_add_test(tc, small_rules);
	tcase_add_test(tc, iplimit);
	tcase_add_test(tc, iplimit_flood);
	suite_add_tcase(s, tc);

	tc = tcase_create("routes");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, route_propose);
	tcase_add_test(tc, route_confirm);
	tcase_add_test(tc, route_heartbeat);
	tcase_add_test(tc, route_heartbeat_headers);
	tcase_add_test(tc, route_remove);
	tcase_add_test(tc, route_accepted);
	tcase_add_test(tc, route_peers);
	tcase_add_test(tc, route_iplimit);
	tcase_add_test(tc, route_engine_silent);
	tcase_add_test(tc, documents);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	return (vectors_main(fedauth_suite()));
}
