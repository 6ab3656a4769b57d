/*
 * Unit tests for keyd: the table of kinds (every imsg type against every
 * requester), the signing inputs and signatures against the Appendix B
 * vectors, keyd's own clock in every time stamp, handshakes keyd was told
 * of, the shared input rules (text, nonces, the parent's claims), the
 * documents keyd builds (exact bytes, canonical, verified independently),
 * the audit chain and its checkpoints as relayctl verifies them, the rate
 * limit, the key file, and finally the real keyd binary driven over fd 3
 * the way relayd drives it (answers held until the audit record is on
 * disk).
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
#include "validate.h"
#include "vectors.h"

#define RELAY_A		"relay-11111111-1111-4111-8111-111111111111"
#define RELAY_B		"relay-22222222-2222-4222-8222-222222222222"
#define RELAY_C		"relay-33333333-3333-4333-8333-333333333333"
#define TS		1760000000000LL
#define TS_S		"1760000000000"
#define NONCE_A		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
			"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define NONCE_B		"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" \
			"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define PUB_B		"8139770ea87d175f56a35466c34c7ecc" \
			"cb8d8a91b4ee37a25df60f5b8fc9b394"
#define DID_B \
	"did:key:z6Mko9hTggMwjSTEaJaPUfE6tqcy2xvU6BnNq3e3o8qVBiyH"
#define SUITE		"\"suite\":\"motebit-jcs-ed25519-hex-v1\""

/* what keyd signs for relay B's motebit.json (count 3, peer A) */
#define METADATA_TBS "{\"agent_count\":3,\"capabilities\":[]," \
	"\"display_name\":\"relay-b\",\"endpoint_url\":\"https://b.example\"," \
	"\"federation_peers\":[{\"endpoint_url\":\"https://a.example\"," \
	"\"relay_id\":\"" RELAY_A "\"}],\"fee_rate\":0.05," \
	"\"generated_at\":" TS_S ",\"protocol_version\":\"1.0\"," \
	"\"public_key\":\"" PUB_B "\",\"relay_id\":\"" RELAY_B "\"," SUITE "}"

/* and for its manifest (peer count 1) */
#define MANIFEST_TBS "{\"agents\":[],\"capabilities\":[],\"did\":\"" \
	DID_B "\",\"endpoints\":{\"federation\":" \
	"\"https://b.example/federation/v1\",\"health\":" \
	"\"https://b.example/health\",\"identity\":" \
	"\"https://b.example/federation/v1/identity\",\"manifest\":" \
	"\"https://b.example/.well-known/mesh-manifest.json\",\"metadata\":" \
	"\"https://b.example/.well-known/motebit.json\"},\"federation\":" \
	"{\"acceptance\":\"manual\",\"enabled\":true,\"extensions\":" \
	"[\"peer-accepted\",\"remove-v2\"],\"max_hops\":3,\"peer_count\":1}," \
	"\"generated_at\":" TS_S ",\"name\":\"relay-b\",\"public_key\":\"" \
	PUB_B "\",\"relay_id\":\"" RELAY_B "\"," SUITE ",\"version\":\"" \
	PACKAGE_VERSION "\"}"

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

/* relay B's configuration: the claims the parent gives keyd */
static void
conf_b(struct cfg_global *g)
{
	memset(g, 0, sizeof(*g));
	strlcpy(g->name, "relay-b", sizeof(g->name));
	strlcpy(g->endpoint, "https://b.example", sizeof(g->endpoint));
	g->fee_ppm = 50000;
	g->fed_enable = 1;
	g->fed_max_hops = 3;
}

/* keyd state holding key name (A, B) and signing as relay_id */
static void
state_for(struct keyd_state *ks, const char *name, const char *relay_id)
{
	struct cfg_identity	 id;
	struct cfg_global	 g;
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
	conf_b(&g);
	keyd_set_conf(ks, &g);
}

static uint8_t	 reqbuf[sizeof(struct key_sign_req) +
		    (KEYD_PEERS_MAX + 2) * sizeof(struct key_peer)];

/* A request payload: header then npeers peers; returns its length. */
static size_t
mkreq(const char *relay_id, const char *nonce, int64_t count,
    const struct key_peer *peers, size_t npeers)
{
	struct key_sign_req	 req;

	memset(&req, 0, sizeof(req));
	req.reqid = 4711;
	if (relay_id != NULL)
		strlcpy(req.relay_id, relay_id, sizeof(req.relay_id));
	if (nonce != NULL)
		strlcpy(req.nonce, nonce, sizeof(req.nonce));
	req.count = count;
	req.datalen = (uint32_t)(npeers * sizeof(*peers));
	ck_assert_uint_le(sizeof(req) + req.datalen, sizeof(reqbuf));
	memcpy(reqbuf, &req, sizeof(req));
	if (npeers > 0)
		memcpy(reqbuf + sizeof(req), peers, req.datalen);
	return (sizeof(req) + req.datalen);
}

static int
do_sign(struct keyd_state *ks, uint32_t type, enum proc_id from,
    const char *relay_id, const char *nonce, int64_t count,
    struct keyd_result *kr)
{
	size_t	 len;

	len = mkreq(relay_id, nonce, count, NULL, 0);
	return (keyd_handle(ks, type, from, 1, reqbuf, len, kr));
}

static int
do_sign_peers(struct keyd_state *ks, int64_t count,
    const struct key_peer *peers, size_t npeers, struct keyd_result *kr)
{
	size_t	 len;

	len = mkreq(NULL, NULL, count, peers, npeers);
	return (keyd_handle(ks, IMSG_KEY_SIGN_METADATA, PROC_FRONTEND, 1,
	    reqbuf, len, kr));
}

/* The peer engine tells keyd of a proposal from relay_id with nonce. */
static void
announce(struct keyd_state *ks, const char *relay_id, const char *nonce)
{
	struct key_handshake	 h;
	char			 err[128];

	memset(&h, 0, sizeof(h));
	strlcpy(h.relay_id, relay_id, sizeof(h.relay_id));
	strlcpy(h.nonce, nonce, sizeof(h.nonce));
	ck_assert_msg(keyd_handshake(ks, &h, err, sizeof(err)) == 0, "%s",
	    err);
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

static const struct key_peer peer_a = { RELAY_A, "https://a.example" };

/* A well-formed request of each signing type, for a keyd of relay B. */
static int
valid_request(struct keyd_state *ks, uint32_t type, enum proc_id from,
    struct keyd_result *kr)
{
	switch (type) {
	case IMSG_KEY_SIGN_METADATA:
		mkreq(NULL, NULL, 3, &peer_a, 1);
		return (keyd_handle(ks, type, from, 1, reqbuf,
		    sizeof(struct key_sign_req) + sizeof(peer_a), kr));
	case IMSG_KEY_SIGN_MANIFEST:
		return (do_sign(ks, type, from, NULL, NULL, 1, kr));
	case IMSG_KEY_SIGN_CHALLENGE:
		announce(ks, RELAY_A, NONCE_A);
		return (do_sign(ks, type, from, RELAY_A, NONCE_A, 0, kr));
	case IMSG_KEY_SIGN_HBRESP:
	case IMSG_KEY_SIGN_HEARTBEAT:
	case IMSG_KEY_SIGN_REMOVAL:
		return (do_sign(ks, type, from, NULL, NULL, 0, kr));
	case IMSG_KEY_SIGN_CONFIRM:
		return (do_sign(ks, type, from, NULL, NONCE_B, 0, kr));
	case IMSG_KEY_SIGN_REMOVAL2:
	case IMSG_KEY_SIGN_ACCEPTED:
		return (do_sign(ks, type, from, RELAY_A, NULL, 0, kr));
	}
	ck_abort_msg("no valid request for type %u", type);
	return (-1);
}

/*
 * The table
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

START_TEST(test_kind_table)
{
	const struct key_kind_row	*row;
	int				 seen[KEY_KIND_MAX];
	uint32_t			 type;
	int				 k;

	memset(seen, 0, sizeof(seen));
	for (type = 0; type < IMSG_TYPE_MAX + 8; type++) {
		row = kind_by_type(type);
		if (owner(type) == PROC_MAX) {
			ck_assert_msg(row == NULL, "type %u has a row", type);
			continue;
		}
		ck_assert_msg(row != NULL, "type %u has no row", type);
		ck_assert_uint_eq(row->type, type);
		ck_assert_uint_eq(row->requesters, PROC_BIT(owner(type)));
		ck_assert_ptr_eq(kind_by_kind(row->kind), row);
		seen[row->kind]++;
	}
	/* every kind once; the checkpoint is keyd's and nobody's request */
	for (k = KEY_KIND_NONE + 1; k < KEY_KIND_MAX; k++)
		ck_assert_msg(seen[k] == (k != KEY_KIND_CHECKPOINT), "kind %d "
		    "in %d rows", k, seen[k]);
	row = kind_by_kind(KEY_KIND_CHECKPOINT);
	ck_assert_ptr_nonnull(row);
	ck_assert_uint_eq(row->requesters, 0);
	/* every time stamp is keyd's */
	for (k = KEY_KIND_NONE + 1; k < KEY_KIND_MAX; k++)
		ck_assert(kind_by_kind(k)->time == T_KEYD ||
		    k == KEY_KIND_CHALLENGE || k == KEY_KIND_CONFIRM ||
		    k == KEY_KIND_REMOVAL);
}
END_TEST

/* Every signing type from every process, through keyd_handle(). */
START_TEST(test_kind_requests)
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
				ck_assert_int_eq(kr.kr_soft, 0);
			}
			keyd_result_free(&kr);
		}
	}
	/* not a signing type at all */
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
	announce(&ks, RELAY_A, NONCE_A);
	ck_assert_int_eq(do_sign(&ks, IMSG_KEY_SIGN_CHALLENGE, PROC_FRONTEND,
	    RELAY_A, NONCE_A, 0, &kr), KEYD_SIGNED);
	ck_assert_str_eq(kr.kr_resp.signature,
	    VSTR("handshake", "responder_challenge_sig_by_B"));
	msg = VSTR("handshake", "responder_challenge_message");
	check_signed(&ks, &kr, msg, strlen(msg), KEY_KIND_CHALLENGE,
	    PROC_FRONTEND);
	ck_assert_uint_eq(kr.kr_resp.doclen, 0);
	ck_assert_int_eq(kr.kr_resp.timestamp, 0);
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
	    NULL, NONCE_B, 0, &kr), KEYD_SIGNED);
	ck_assert_str_eq(kr.kr_resp.signature,
	    VSTR("handshake", "confirm_challenge_response_sig_by_A"));
	msg = VSTR("handshake", "confirm_message");
	check_signed(&ks, &kr, msg, strlen(msg), KEY_KIND_CONFIRM, PROC_PEER);
	keyd_result_free(&kr);
	keyd_state_wipe(&ks);
}
END_TEST

/*
 * The heartbeat vector's time stamp is TS: keyd signs it when its clock
 * says TS, and only then.  A heartbeat answer and an outbound heartbeat
 * are the same bytes, so neither may be minted for another time.
 */
START_TEST(test_vector_heartbeat)
{
	struct keyd_state	 ks;
	struct keyd_result	 kr;
	const char		*msg;
	char			 later[256];

	state_for(&ks, "A", RELAY_A);
	msg = VSTR("heartbeat", "message");

	ck_assert_int_eq(do_sign(&ks, IMSG_KEY_SIGN_HEARTBEAT, PROC_PEER,
	    NULL, NULL, 0, &kr), KEYD_SIGNED);
	ck_assert_str_eq(kr.kr_resp.signature,
	    VSTR("heartbeat", "body", "signature"));
	ck_assert_int_eq(kr.kr_resp.timestamp, TS);
	check_signed(&ks, &kr, msg, strlen(msg), KEY_KIND_HEARTBEAT,
	    PROC_PEER);
	keyd_result_free(&kr);

	/* the heartbeat response is the same template, other requester */
	ck_assert_int_eq(do_sign(&ks, IMSG_KEY_SIGN_HBRESP, PROC_FRONTEND,
	    NULL, NULL, 0, &kr), KEYD_SIGNED);
	ck_assert_str_eq(kr.kr_resp.signature,
	    VSTR("heartbeat", "body", "signature"));
	check_signed(&ks, &kr, msg, strlen(msg), KEY_KIND_HBRESP,
	    PROC_FRONTEND);
	keyd_result_free(&kr);

	/* a minute later keyd signs a minute later, whatever is asked */
	fake_now = TS + 60000;
	ck_assert_int_eq(do_sign(&ks, IMSG_KEY_SIGN_HBRESP, PROC_FRONTEND,
	    NULL, NULL, 0, &kr), KEYD_SIGNED);
	ck_assert_int_eq(kr.kr_resp.timestamp, TS + 60000);
	ck_assert_int_eq(msg_heartbeat(later, sizeof(later), RELAY_A,
	    TS + 60000), (int)strlen(later));
	check_signed(&ks, &kr, later, strlen(later), KEY_KIND_HBRESP,
	    PROC_FRONTEND);
	ck_assert_str_ne(kr.kr_resp.signature,
	    VSTR("heartbeat", "body", "signature"));
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
	    NULL, NULL, 0, &kr), KEYD_SIGNED);
	ck_assert_str_eq(kr.kr_resp.signature,
	    VSTR("peer_remove", "body", "signature"));
	check_signed(&ks, &kr, RELAY_A, strlen(RELAY_A), KEY_KIND_REMOVAL,
	    PROC_PEER);
	keyd_result_free(&kr);
	keyd_state_wipe(&ks);
}
END_TEST

/*
 * Handshakes
 */

START_TEST(test_handshakes)
{
	struct keyd_state	 ks;
	struct keyd_result	 kr;
	struct key_handshake	 h;
	char			 err[128], id[RELAY_ID_MAX];
	int			 i;

	state_for(&ks, "B", RELAY_B);
	/* "X:nonce:suite" for an X the peer engine did not announce */
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_CHALLENGE, PROC_FRONTEND,
	    RELAY_A, NONCE_A, 0, &kr), &kr, "no handshake");
	/* announced: once */
	announce(&ks, RELAY_A, NONCE_A);
	ck_assert_int_eq(do_sign(&ks, IMSG_KEY_SIGN_CHALLENGE, PROC_FRONTEND,
	    RELAY_A, NONCE_A, 0, &kr), KEYD_SIGNED);
	keyd_result_free(&kr);
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_CHALLENGE, PROC_FRONTEND,
	    RELAY_A, NONCE_A, 0, &kr), &kr, "second challenge");
	/* another relay id or nonce than announced */
	announce(&ks, RELAY_A, NONCE_A);
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_CHALLENGE, PROC_FRONTEND,
	    RELAY_C, NONCE_A, 0, &kr), &kr, "other relay id");
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_CHALLENGE, PROC_FRONTEND,
	    RELAY_A, NONCE_B, 0, &kr), &kr, "other nonce");
	/* expired */
	fake_now = TS + KEYD_HANDSHAKE_MS;
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_CHALLENGE, PROC_FRONTEND,
	    RELAY_A, NONCE_A, 0, &kr), &kr, "expired");
	fake_now = TS;
	/* self-propose, even announced */
	announce(&ks, RELAY_B, NONCE_A);
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_CHALLENGE, PROC_FRONTEND,
	    RELAY_B, NONCE_A, 0, &kr), &kr, "self-propose");
	/* a full table drops the oldest announcement */
	announce(&ks, RELAY_C, NONCE_B);
	for (i = 0; i < KEYD_HANDSHAKES; i++) {
		fake_now++;
		snprintf(id, sizeof(id), "relay-%d", i);
		announce(&ks, id, NONCE_A);
	}
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_CHALLENGE, PROC_FRONTEND,
	    RELAY_C, NONCE_B, 0, &kr), &kr, "evicted");
	ck_assert_int_eq(do_sign(&ks, IMSG_KEY_SIGN_CHALLENGE, PROC_FRONTEND,
	    "relay-5", NONCE_A, 0, &kr), KEYD_SIGNED);
	keyd_result_free(&kr);
	/* what the peer engine announces is checked too */
	memset(&h, 0, sizeof(h));
	strlcpy(h.relay_id, RELAY_A, sizeof(h.relay_id));
	strlcpy(h.nonce, "a:b", sizeof(h.nonce));
	ck_assert_int_eq(keyd_handshake(&ks, &h, err, sizeof(err)), -1);
	memset(h.nonce, 'n', sizeof(h.nonce));
	ck_assert_int_eq(keyd_handshake(&ks, &h, err, sizeof(err)), -1);
	fake_now = TS;
	keyd_state_wipe(&ks);
}
END_TEST

START_TEST(test_self_notices)
{
	struct keyd_state	 ks;
	struct keyd_result	 kr;

	/* the peer engine may not remove or accept this relay itself */
	state_for(&ks, "B", RELAY_B);
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_REMOVAL2, PROC_PEER,
	    RELAY_B, NULL, 0, &kr), &kr, "self-removal");
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_ACCEPTED, PROC_PEER,
	    RELAY_B, NULL, 0, &kr), &kr, "self-acceptance");
	keyd_state_wipe(&ks);
}
END_TEST

/*
 * The shared input rules (common/validate.c)
 */

START_TEST(test_text_rule)
{
	static const char *const good[] = {
		"relay", "caf\xc3\xa9", "\xf0\x9f\x98\x80 emoji",
		"\xc2\xa0nbsp", "\xe2\x80\x8f rlm", "\xe2\x81\xaa dir",
		"\xef\xbf\xbd"
	};
	static const char *const bad[] = {
		"",			/* empty */
		"a\tb", "a\nb", "\x1b[0m",	/* C0 */
		"a\x7f",		/* DEL */
		"a\xc2\x85",		/* U+0085 NEL (C1) */
		"a\xc2\x9f",		/* U+009F (C1) */
		"a\xe2\x80\xae",	/* U+202E RLO */
		"a\xe2\x80\xaa",	/* U+202A LRE */
		"a\xe2\x81\xa6",	/* U+2066 LRI */
		"a\xe2\x81\xa9",	/* U+2069 PDI */
		"a\xed\xa0\x80",	/* U+D800: "\ud800" decoded */
		"a\xed\xbf\xbf",	/* U+DFFF */
		"a\xc0\xaf",		/* overlong '/' */
		"a\xe0\x80\xaf",	/* overlong */
		"a\xf4\x90\x80\x80",	/* above U+10FFFF */
		"a\x80", "a\xc3", "a\xff"
	};
	char	 buf[8];
	size_t	 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(text_valid(good[i], strlen(good[i]), 64),
		    "good %zu refused", i);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!text_valid(bad[i], strlen(bad[i]), 64),
		    "bad %zu accepted", i);
	/* a NUL inside (a JSON "\u0000"), and the length bound */
	ck_assert(!text_valid("a\0b", 3, 64));
	ck_assert(!text_valid("abc", 3, 2));
	ck_assert(text_valid("ab", 2, 2));
	/* text_clean makes anything text (or empty) */
	strlcpy(buf, "x\xe2\x80\xaey", sizeof(buf));
	text_clean(buf);
	ck_assert_str_eq(buf, "x???y");
	strlcpy(buf, "\xc2\x85z", sizeof(buf));
	text_clean(buf);
	ck_assert_str_eq(buf, "??z");
}
END_TEST

START_TEST(test_nonce_rule)
{
	char	 n[NONCE_MAX + 1];

	ck_assert(nonce_valid(NONCE_A));
	ck_assert(!nonce_valid(""));
	ck_assert(!nonce_valid("a b"));
	ck_assert(!nonce_valid("a:b"));
	ck_assert(!nonce_valid("a|b"));
	ck_assert(!nonce_valid("a\x7f"));
	ck_assert(!nonce_valid("caf\xc3\xa9"));
	memset(n, 'n', sizeof(n));
	n[NONCE_TEXT_MAX] = '\0';
	ck_assert(nonce_valid(n));
	n[NONCE_TEXT_MAX] = 'n';
	n[NONCE_TEXT_MAX + 1] = '\0';
	ck_assert(!nonce_valid(n));
}
END_TEST

/*
 * What the frontend and the peer engine let through is what keyd signs:
 * both use these functions, and keyd signs exactly when they say yes.
 */
START_TEST(test_requesters_agree)
{
	static const char *const nonces[] = {
		NONCE_A, "x", "!", "~~", "a b", "a:b", "a|b", "\x01",
		"\xc3\xa9", "0123456789abcdef"
	};
	static const char *const names[] = {
		"relay-b", "", "a\xe2\x80\xae", "a\xc2\x85", "a\xed\xa0\x80",
		"caf\xc3\xa9", "tab\there", "quote\"back\\slash"
	};
	static const char *const endpoints[] = {
		"https://b.example", "", "http://x", "https://a b",
		"https://b.example/" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	};
	struct keyd_state	 ks;
	struct keyd_result	 kr;
	struct cfg_global	 g;
	char			 err[128];
	size_t			 i, j;
	int			 ok, rv, kind;

	state_for(&ks, "B", RELAY_B);
	for (i = 0; i < sizeof(nonces) / sizeof(nonces[0]); i++) {
		ok = nonce_valid(nonces[i]);
		if (ok)
			announce(&ks, RELAY_A, nonces[i]);
		rv = do_sign(&ks, IMSG_KEY_SIGN_CHALLENGE, PROC_FRONTEND,
		    RELAY_A, nonces[i], 0, &kr);
		ck_assert_msg((rv == KEYD_SIGNED) == ok, "nonce %zu", i);
		keyd_result_free(&kr);
		rv = do_sign(&ks, IMSG_KEY_SIGN_CONFIRM, PROC_PEER, NULL,
		    nonces[i], 0, &kr);
		ck_assert_msg((rv == KEYD_SIGNED) == ok, "nonce %zu", i);
		keyd_result_free(&kr);
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		for (j = 0; j < sizeof(endpoints) / sizeof(endpoints[0]);
		    j++) {
			conf_b(&g);
			strlcpy(g.name, names[i], sizeof(g.name));
			strlcpy(g.endpoint, endpoints[j], sizeof(g.endpoint));
			keyd_set_conf(&ks, &g);
			for (kind = KEY_KIND_METADATA;
			    kind <= KEY_KIND_MANIFEST; kind++) {
				ok = claims_usable(&g, kind, err, sizeof(err));
				rv = do_sign(&ks, kind == KEY_KIND_METADATA ?
				    IMSG_KEY_SIGN_METADATA :
				    IMSG_KEY_SIGN_MANIFEST, PROC_FRONTEND,
				    NULL, NULL, 1, &kr);
				ck_assert_msg((rv == KEYD_SIGNED) == ok,
				    "name %zu endpoint %zu kind %d: %s", i, j,
				    kind, kr.kr_resp.error);
				if (rv == KEYD_SIGNED)
					ck_assert_int_eq(jcs_is_canonical(
					    kr.kr_doc, kr.kr_doclen), 1);
				keyd_result_free(&kr);
			}
		}
	keyd_state_wipe(&ks);
}
END_TEST

/*
 * Documents: built by keyd from typed fields and its configuration
 */

/* kr's document is tbs plus "signature", and the signature is over tbs. */
static void
check_document(struct keyd_state *ks, struct keyd_result *kr,
    const char *tbs, enum key_kind kind)
{
	json_t	*o;
	char	 err[128], *without;
	size_t	 len;

	ck_assert_uint_eq(kr->kr_resp.doclen, kr->kr_doclen);
	ck_assert_int_eq(jcs_is_canonical(kr->kr_doc, kr->kr_doclen), 1);
	o = jcs_parse(kr->kr_doc, kr->kr_doclen, err, sizeof(err));
	ck_assert_msg(o != NULL, "%s", err);
	ck_assert_str_eq(json_string_value(json_object_get(o, "signature")),
	    kr->kr_resp.signature);
	without = jcs_serialize(o, 1, &len);
	ck_assert_str_eq(without, tbs);
	free(without);
	json_decref(o);
	check_signed(ks, kr, tbs, strlen(tbs), kind, PROC_FRONTEND);
}

START_TEST(test_metadata)
{
	struct keyd_state	 ks;
	struct keyd_result	 kr;
	struct key_peer		 many[KEYD_PEERS_MAX + 1], badp;
	struct cfg_global	 g;
	size_t			 i;

	state_for(&ks, "B", RELAY_B);
	ck_assert_int_eq(do_sign_peers(&ks, 3, &peer_a, 1, &kr), KEYD_SIGNED);
	check_document(&ks, &kr, METADATA_TBS, KEY_KIND_METADATA);
	ck_assert_int_eq(kr.kr_resp.timestamp, TS);
	keyd_result_free(&kr);

	/* up to 256 peers; more, or a bad one, refused */
	for (i = 0; i <= KEYD_PEERS_MAX; i++) {
		memset(&many[i], 0, sizeof(many[i]));
		snprintf(many[i].relay_id, sizeof(many[i].relay_id),
		    "relay-%zu", i);
		strlcpy(many[i].endpoint_url, "https://p.example",
		    sizeof(many[i].endpoint_url));
	}
	ck_assert_int_eq(do_sign_peers(&ks, 0, many, KEYD_PEERS_MAX, &kr),
	    KEYD_SIGNED);
	keyd_result_free(&kr);
	expect_refused(do_sign_peers(&ks, 0, many, KEYD_PEERS_MAX + 1, &kr),
	    &kr, "257 peers");
	badp = peer_a;
	strlcpy(badp.endpoint_url, "https://a example",
	    sizeof(badp.endpoint_url));
	expect_refused(do_sign_peers(&ks, 0, &badp, 1, &kr), &kr,
	    "endpoint with a space");
	badp = peer_a;
	strlcpy(badp.relay_id, "relay:a", sizeof(badp.relay_id));
	expect_refused(do_sign_peers(&ks, 0, &badp, 1, &kr), &kr,
	    "relay id with ':'");
	badp = peer_a;
	memset(badp.endpoint_url, 'h', sizeof(badp.endpoint_url));
	expect_refused(do_sign_peers(&ks, 0, &badp, 1, &kr), &kr,
	    "unterminated endpoint");
	expect_refused(do_sign_peers(&ks, -1, NULL, 0, &kr), &kr,
	    "negative count");
	expect_refused(do_sign_peers(&ks, KEYD_JS_INT_MAX + 1, NULL, 0, &kr),
	    &kr, "count above 2^53 - 1");

	/* a display name keyd.8 calls no text is left out, not signed */
	conf_b(&g);
	strlcpy(g.name, "b\xe2\x80\xae", sizeof(g.name));
	keyd_set_conf(&ks, &g);
	ck_assert_int_eq(do_sign_peers(&ks, 3, NULL, 0, &kr), KEYD_SIGNED);
	ck_assert_ptr_null(strstr(kr.kr_doc, "display_name"));
	ck_assert_ptr_null(strstr(kr.kr_doc, "\xe2\x80\xae"));
	keyd_result_free(&kr);
	/* the parent's fee, never the frontend's */
	conf_b(&g);
	g.fee_ppm = 1000001;
	keyd_set_conf(&ks, &g);
	ck_assert_int_eq(do_sign_peers(&ks, 3, NULL, 0, &kr), KEYD_REFUSED);
	/* the configuration, not the requester: not counted */
	ck_assert_int_eq(kr.kr_soft, 1);
	expect_refused(KEYD_REFUSED, &kr, "fee above 100 %");
	keyd_state_wipe(&ks);
}
END_TEST

/* fee_rate prints as the strict parser's serializer prints the double. */
START_TEST(test_fee_rate)
{
	static const uint32_t	 ppm[] = { 0, 1, 9, 10, 100, 1000, 25000,
	    50000, 100000, 123456, 333333, 500000, 999999, 1000000 };
	struct jw		 w;
	json_t			*a;
	char			*want;
	size_t			 i, len;
	uint32_t		 p;

	for (i = 0; i < sizeof(ppm) / sizeof(ppm[0]) + 2000; i++) {
		p = i < sizeof(ppm) / sizeof(ppm[0]) ? ppm[i] :
		    (uint32_t)(i * 7919 % 1000001);
		memset(&w, 0, sizeof(w));
		jw_open(&w, NULL, '[');
		jw_ppm(&w, NULL, p);
		jw_close(&w, ']');
		a = json_pack("[f]", (double)p / 1e6);
		want = jcs_serialize(a, 0, &len);
		ck_assert_msg(strcmp(w.buf, want) == 0, "ppm %u: %s, want %s",
		    p, w.buf, want);
		free(want);
		json_decref(a);
		free(w.buf);
	}
}
END_TEST

/* Strings: JCS escapes, the same as the strict serializer. */
START_TEST(test_emitter_strings)
{
	static const char *const s[] = {
		"plain", "quote\"", "back\\slash", "\x01\x1f\b\t\n\f\r",
		"caf\xc3\xa9 \xf0\x9f\x98\x80", "/"
	};
	struct jw	 w;
	json_t		*a;
	char		*want;
	size_t		 i, len;

	for (i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		memset(&w, 0, sizeof(w));
		jw_open(&w, NULL, '{');
		jw_str(&w, "a", s[i]);
		jw_int(&w, "b", -5);
		jw_bool(&w, "c", 0);
		jw_close(&w, '}');
		a = json_pack("{s:s,s:i,s:b}", "a", s[i], "b", -5, "c", 0);
		want = jcs_serialize(a, 0, &len);
		ck_assert_str_eq(w.buf, want);
		free(want);
		json_decref(a);
		free(w.buf);
	}
}
END_TEST

START_TEST(test_manifest)
{
	struct keyd_state	 ks;
	struct keyd_result	 kr;
	struct cfg_global	 g;

	state_for(&ks, "B", RELAY_B);
	ck_assert_int_eq(do_sign(&ks, IMSG_KEY_SIGN_MANIFEST, PROC_FRONTEND,
	    NULL, NULL, 1, &kr), KEYD_SIGNED);
	check_document(&ks, &kr, MANIFEST_TBS, KEY_KIND_MANIFEST);
	keyd_result_free(&kr);
	/* no peers field for the manifest */
	mkreq(NULL, NULL, 1, &peer_a, 1);
	expect_refused(keyd_handle(&ks, IMSG_KEY_SIGN_MANIFEST, PROC_FRONTEND,
	    1, reqbuf, sizeof(struct key_sign_req) + sizeof(peer_a), &kr), &kr,
	    "peers for the manifest");
	/* names keyd.8 calls no text: no manifest */
	conf_b(&g);
	strlcpy(g.name, "\xc2\x85", sizeof(g.name));
	keyd_set_conf(&ks, &g);
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_MANIFEST, PROC_FRONTEND,
	    NULL, NULL, 1, &kr), &kr, "C1 in the name");
	conf_b(&g);
	g.fed_max_hops = 65;
	keyd_set_conf(&ks, &g);
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_MANIFEST, PROC_FRONTEND,
	    NULL, NULL, 1, &kr), &kr, "65 hops");
	/* federation off: no extensions */
	conf_b(&g);
	g.fed_enable = 0;
	g.fed_accept_auto = 1;
	keyd_set_conf(&ks, &g);
	ck_assert_int_eq(do_sign(&ks, IMSG_KEY_SIGN_MANIFEST, PROC_FRONTEND,
	    NULL, NULL, 0, &kr), KEYD_SIGNED);
	ck_assert_ptr_nonnull(strstr(kr.kr_doc, "\"federation\":{"
	    "\"acceptance\":\"auto\",\"enabled\":false,\"extensions\":[],"));
	keyd_result_free(&kr);
	keyd_state_wipe(&ks);
}
END_TEST

static void
check_notice(uint32_t type, enum key_kind kind, const char *action)
{
	struct keyd_state	 ks;
	struct keyd_result	 kr;
	char			 tbs[512];

	state_for(&ks, "B", RELAY_B);
	fake_now = TS + 123;
	ck_assert_int_eq(do_sign(&ks, type, PROC_PEER, RELAY_A, NULL, 0, &kr),
	    KEYD_SIGNED);
	snprintf(tbs, sizeof(tbs), "{\"action\":\"%s\",\"peer_relay_id\":\""
	    RELAY_A "\",\"relay_id\":\"" RELAY_B "\",\"timestamp\":%lld}",
	    action, TS + 123);
	ck_assert_int_eq(kr.kr_resp.timestamp, TS + 123);
	ck_assert_int_eq(ed25519_verify_hex(ks.ks_pubhex, (uint8_t *)tbs,
	    strlen(tbs), kr.kr_resp.signature), 0);
	ck_assert_int_eq(jcs_is_canonical(kr.kr_doc, kr.kr_doclen), 1);
	ck_assert_int_eq(kr.kr_resp.kind, kind);
	keyd_result_free(&kr);
	keyd_state_wipe(&ks);
	fake_now = TS;
}

START_TEST(test_notices)
{
	check_notice(IMSG_KEY_SIGN_REMOVAL2, KEY_KIND_REMOVAL2, "remove");
	check_notice(IMSG_KEY_SIGN_ACCEPTED, KEY_KIND_ACCEPTED, "accepted");
}
END_TEST

START_TEST(test_malformed)
{
	struct keyd_state	 ks;
	struct keyd_result	 kr;
	struct key_sign_req	 req;
	size_t			 len;

	state_for(&ks, "B", RELAY_B);
	/* shorter than the header; the header lies about the data */
	ck_assert_int_eq(keyd_handle(&ks, IMSG_KEY_SIGN_REMOVAL, PROC_PEER, 0,
	    reqbuf, sizeof(req) - 1, &kr), KEYD_REFUSED);
	len = mkreq(NULL, NULL, 0, &peer_a, 1);
	expect_refused(keyd_handle(&ks, IMSG_KEY_SIGN_METADATA, PROC_FRONTEND,
	    1, reqbuf, len - 1, &kr), &kr, "truncated data");
	expect_refused(keyd_handle(&ks, IMSG_KEY_SIGN_METADATA, PROC_FRONTEND,
	    1, reqbuf, sizeof(req), &kr), &kr, "data missing");
	/* fields a kind does not use must be empty */
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_HEARTBEAT, PROC_PEER,
	    RELAY_A, NULL, 0, &kr), &kr, "relay id on a heartbeat");
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_REMOVAL2, PROC_PEER,
	    RELAY_A, NONCE_A, 0, &kr), &kr, "nonce on a removal");
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_CONFIRM, PROC_PEER,
	    NULL, NONCE_A, 5, &kr), &kr, "count on a confirm");
	len = mkreq(NULL, NULL, 0, &peer_a, 1);
	expect_refused(keyd_handle(&ks, IMSG_KEY_SIGN_HBRESP, PROC_FRONTEND,
	    1, reqbuf, len, &kr), &kr, "peers on a heartbeat answer");
	/* the fields a kind uses must be valid */
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_REMOVAL2, PROC_PEER,
	    "relay|a", NULL, 0, &kr), &kr, "relay id with '|'");
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_CONFIRM, PROC_PEER,
	    NULL, "n:n", 0, &kr), &kr, "nonce with ':'");
	expect_refused(do_sign(&ks, IMSG_KEY_SIGN_ACCEPTED, PROC_PEER,
	    NULL, NULL, 0, &kr), &kr, "no relay id");
	/* unterminated strings */
	memset(&req, 0, sizeof(req));
	memset(req.nonce, 'n', sizeof(req.nonce));
	expect_refused(keyd_handle(&ks, IMSG_KEY_SIGN_CONFIRM, PROC_PEER, 1,
	    &req, sizeof(req), &kr), &kr, "unterminated nonce");
	memset(&req, 0, sizeof(req));
	memset(req.relay_id, 'r', sizeof(req.relay_id));
	expect_refused(keyd_handle(&ks, IMSG_KEY_SIGN_REMOVAL2, PROC_PEER, 1,
	    &req, sizeof(req), &kr), &kr, "unterminated relay id");
	keyd_state_wipe(&ks);
}
END_TEST

/*
 * The audit chain and its checkpoints
 */

/* Appends kr's audit record to fp as the parent does; returns its hash. */
static void
write_record(FILE *fp, uint8_t prev[AUDIT_HASH_LEN],
    const struct key_audit *ka)
{
	char	 line[AUDIT_LINE_MAX];
	int	 n;

	n = audit_format(line, sizeof(line), prev, ka);
	ck_assert_int_gt(n, 0);
	audit_line_hash(line, (size_t)n, prev);
	fprintf(fp, "%s\n", line);
}

static int
verify_file(FILE *fp, struct audit_seal *seal)
{
	char	 err[256];
	size_t	 n, bad;

	rewind(fp);
	return (audit_verify(fp, seal, &n, &bad, err, sizeof(err)));
}

START_TEST(test_checkpoint)
{
	struct keyd_state	 ks;
	struct keyd_result	 kr;
	struct audit_seal	 seal;
	struct key_audit	 recs[8];
	uint8_t			 prev[AUDIT_HASH_LEN], other[ED25519_PUB_LEN];
	FILE			*fp;
	int			 i;

	state_for(&ks, "B", RELAY_B);
	ck_assert_ptr_nonnull(fp = tmpfile());
	/* the log keyd extends already has one line */
	memset(prev, 0, sizeof(prev));
	recs[0].time_ms = TS - 1000;
	recs[0].requester = PROC_PEER;
	recs[0].instance = 0;
	recs[0].kind = KEY_KIND_REMOVAL;
	memset(recs[0].digest, 1, sizeof(recs[0].digest));
	memset(recs[0].sig, 2, sizeof(recs[0].sig));
	write_record(fp, prev, &recs[0]);
	memcpy(ks.ks_head, prev, sizeof(prev));	/* IMSG_KEY_AUDIT_ACK 0 */

	for (i = 1; i < 6; i++) {
		fake_now = TS + i;
		ck_assert_int_eq(do_sign(&ks, IMSG_KEY_SIGN_REMOVAL, PROC_PEER,
		    NULL, NULL, 0, &kr), KEYD_SIGNED);
		ck_assert_uint_eq(kr.kr_audit.seq, (uint64_t)i);
		recs[i] = kr.kr_audit;
		write_record(fp, prev, &recs[i]);
		/* keyd follows the chain the parent writes */
		ck_assert_mem_eq(ks.ks_head, prev, sizeof(prev));
		keyd_result_free(&kr);
	}
	ck_assert_uint_eq(ks.ks_since_cp, 5);
	ck_assert_int_eq(keyd_checkpoint(&ks, &kr), KEYD_SIGNED);
	ck_assert_int_eq(kr.kr_audit.kind, KEY_KIND_CHECKPOINT);
	ck_assert_int_eq(kr.kr_audit.requester, PROC_KEYD);
	ck_assert_mem_eq(kr.kr_audit.digest, ks.ks_pub, sizeof(ks.ks_pub));
	ck_assert_uint_eq(ks.ks_since_cp, 0);
	recs[6] = kr.kr_audit;
	write_record(fp, prev, &recs[6]);
	keyd_result_free(&kr);
	fflush(fp);

	/* relayctl verify audit: intact, sealed, by B's key */
	memset(&seal, 0, sizeof(seal));
	seal.key = ks.ks_pub;
	ck_assert_int_eq(verify_file(fp, &seal), 0);
	ck_assert_uint_eq(seal.checkpoints, 1);
	ck_assert_uint_eq(seal.unsealed, 0);
	/* another key expected: refused */
	memset(other, 7, sizeof(other));
	seal.key = other;
	ck_assert_int_eq(verify_file(fp, &seal), -1);
	fclose(fp);

	/*
	 * A rewrite: record 3 changed and the whole chain recomputed, as
	 * someone with the file but not the key would.  The chain holds;
	 * the checkpoint does not.
	 */
	ck_assert_ptr_nonnull(fp = tmpfile());
	memset(prev, 0, sizeof(prev));
	recs[3].kind = KEY_KIND_HEARTBEAT;
	for (i = 0; i < 7; i++)
		write_record(fp, prev, &recs[i]);
	fflush(fp);
	memset(&seal, 0, sizeof(seal));
	ck_assert_int_eq(verify_file(fp, &seal), -1);
	ck_assert_int_eq(verify_file(fp, NULL), 0);	/* chain alone */
	fclose(fp);

	/* cut before the checkpoint: unsealed records are reported */
	ck_assert_ptr_nonnull(fp = tmpfile());
	memset(prev, 0, sizeof(prev));
	recs[3].kind = KEY_KIND_REMOVAL;
	for (i = 0; i < 5; i++)
		write_record(fp, prev, &recs[i]);
	fflush(fp);
	memset(&seal, 0, sizeof(seal));
	ck_assert_int_eq(verify_file(fp, &seal), 0);
	ck_assert_uint_eq(seal.checkpoints, 0);
	ck_assert_uint_eq(seal.unsealed, 5);
	fclose(fp);
	fake_now = TS;
	keyd_state_wipe(&ks);
}
END_TEST

START_TEST(test_rate_limit)
{
	struct keyd_bucket	 kb;
	int			 i, n;

	memset(&kb, 0, sizeof(kb));
	for (i = 0; i < KEYD_BURST; i++)
		ck_assert(keyd_bucket_take(&kb, TS));
	ck_assert(!keyd_bucket_take(&kb, TS));
	/* a second later, KEYD_RATE more */
	for (n = 0; keyd_bucket_take(&kb, TS + 1000); n++)
		;
	ck_assert_int_eq(n, KEYD_RATE);
	/* never more than the burst, however long it rested */
	for (n = 0; keyd_bucket_take(&kb, TS + 3600 * 1000); n++)
		;
	ck_assert_int_eq(n, KEYD_BURST);
}
END_TEST

START_TEST(test_identity)
{
	struct keyd_state	 ks;
	struct keyd_result	 kr;
	struct cfg_identity	 id;
	struct cfg_global	 g;
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
	    NULL, NULL, 0, &kr), KEYD_REFUSED);
	ck_assert_int_eq(kr.kr_soft, 1);

	ck_assert_int_eq(hex_decode(VSTR("keys", "B", "seed_hex"), seed,
	    sizeof(seed)), 0);
	key = ed25519_from_seed(seed);
	ck_assert_int_eq(keyd_set_key(&ks, key, err, sizeof(err)), 0);
	ck_assert_int_eq(keyd_set_key(&ks, key, err, sizeof(err)), -1);

	/* a key but no relay id: refused, flagged as not ready */
	ck_assert_int_eq(do_sign(&ks, IMSG_KEY_SIGN_REMOVAL, PROC_PEER,
	    NULL, NULL, 0, &kr), KEYD_REFUSED);
	ck_assert_int_eq(kr.kr_soft, 1);
	ck_assert_ptr_nonnull(strstr(kr.kr_resp.error, "identity"));
	/* ... but policy comes first, and that refusal does count */
	ck_assert_int_eq(do_sign(&ks, IMSG_KEY_SIGN_REMOVAL, PROC_FRONTEND,
	    NULL, NULL, 0, &kr), KEYD_REFUSED);
	ck_assert_int_eq(kr.kr_soft, 0);

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
	/* the identity but not yet the parent's claims: not ready either */
	ck_assert_int_eq(do_sign(&ks, IMSG_KEY_SIGN_REMOVAL, PROC_PEER,
	    NULL, NULL, 0, &kr), KEYD_REFUSED);
	ck_assert_int_eq(kr.kr_soft, 1);
	conf_b(&g);
	keyd_set_conf(&ks, &g);
	/* the same again is fine (reload); another relay id is not */
	ck_assert_int_eq(keyd_set_identity(&ks, &id, err, sizeof(err)), 0);
	strlcpy(id.relay_id, RELAY_C, sizeof(id.relay_id));
	ck_assert_int_eq(keyd_set_identity(&ks, &id, err, sizeof(err)), -1);
	ck_assert_str_eq(ks.ks_relay_id, RELAY_B);

	ck_assert_int_eq(do_sign(&ks, IMSG_KEY_SIGN_REMOVAL, PROC_PEER,
	    NULL, NULL, 0, &kr), KEYD_SIGNED);
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
	uint8_t		 head[AUDIT_HASH_LEN];	/* the parent's log */
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
	struct key_audit_ack	 ack;
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

	conf_b(&cg);
	send_imsg(&c->parent, IMSG_CFG_GLOBAL, -1, &cg, sizeof(cg));
	/* the head of the parent's (empty) log */
	memset(&ack, 0, sizeof(ack));
	memset(c->head, 0, sizeof(c->head));
	send_imsg(&c->parent, IMSG_KEY_AUDIT_ACK, -1, &ack, sizeof(ack));
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

/*
 * The parent's side of an audit record: write it (here: chain it) and
 * acknowledge it, head included, as relayd.c does after its fsync.
 */
static void
parent_audit(struct child *c, struct key_audit *au)
{
	struct key_audit_ack	 ack;
	char			 line[AUDIT_LINE_MAX];
	int			 n;

	expect(&c->parent, IMSG_KEY_AUDIT, au, sizeof(*au));
	n = audit_format(line, sizeof(line), c->head, au);
	ck_assert_int_gt(n, 0);
	audit_line_hash(line, (size_t)n, c->head);
	memset(&ack, 0, sizeof(ack));
	ack.seq = au->seq;
	memcpy(ack.head, c->head, sizeof(ack.head));
	send_imsg(&c->parent, IMSG_KEY_AUDIT_ACK, -1, &ack, sizeof(ack));
}

/* No message arrives on ib for a while (EOF may). */
static void
expect_nothing(struct imsgbuf *ib)
{
	struct imsg	 imsg;

	ck_assert_int_ne(recv_imsg(ib, &imsg, 200), 1);
}

static void
child_done(struct child *c)
{
	imsgbuf_clear(&c->parent);
	imsgbuf_clear(&c->fe);
	imsgbuf_clear(&c->peer);
}

START_TEST(test_binary_sign)
{
	struct child		 c;
	struct key_sign_req	 req;
	struct key_sign_resp	 resp;
	struct key_handshake	 hs;
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

	/* the peer engine announces the proposal; the frontend asks */
	memset(&hs, 0, sizeof(hs));
	strlcpy(hs.relay_id, RELAY_A, sizeof(hs.relay_id));
	strlcpy(hs.nonce, NONCE_A, sizeof(hs.nonce));
	send_imsg(&c.peer, IMSG_KEY_HANDSHAKE, -1, &hs, sizeof(hs));
	req.reqid = 2;
	send_imsg(&c.fe, IMSG_KEY_SIGN_CHALLENGE, -1, &req, sizeof(req));
	/* the record first; no answer before the parent has it on disk */
	expect(&c.parent, IMSG_KEY_AUDIT, &au, sizeof(au));
	expect_nothing(&c.fe);
	ck_assert_int_eq(msg_handshake(msg, sizeof(msg), RELAY_A, NONCE_A),
	    (int)strlen(msg));
	sha256(msg, strlen(msg), digest);
	ck_assert_mem_eq(au.digest, digest, sizeof(digest));
	ck_assert_int_eq(au.requester, PROC_FRONTEND);
	ck_assert_int_eq(au.kind, KEY_KIND_CHALLENGE);
	ck_assert_uint_eq(au.seq, 1);
	{
		struct key_audit_ack	 ack;
		char			 line[AUDIT_LINE_MAX];
		int			 n;

		n = audit_format(line, sizeof(line), c.head, &au);
		audit_line_hash(line, (size_t)n, c.head);
		memset(&ack, 0, sizeof(ack));
		ack.seq = 1;
		memcpy(ack.head, c.head, sizeof(ack.head));
		send_imsg(&c.parent, IMSG_KEY_AUDIT_ACK, -1, &ack,
		    sizeof(ack));
	}
	expect(&c.fe, IMSG_KEY_SIGNATURE, &resp, sizeof(resp));
	ck_assert_uint_eq(resp.reqid, 2);
	ck_assert_int_eq(resp.kind, KEY_KIND_CHALLENGE);
	ck_assert_int_eq(ed25519_verify_hex(pubhex, (uint8_t *)msg,
	    strlen(msg), resp.signature), 0);

	/* the metadata document comes back signed, keyd's claims in it */
	memset(&req, 0, sizeof(req));
	req.reqid = 3;
	req.count = 3;
	req.datalen = sizeof(peer_a);
	iov[0].iov_base = &req;
	iov[0].iov_len = sizeof(req);
	iov[1].iov_base = (void *)&peer_a;
	iov[1].iov_len = sizeof(peer_a);
	ck_assert_int_eq(imsg_composev(&c.fe, IMSG_KEY_SIGN_METADATA, 0, 0,
	    -1, iov, 2), 1);
	ck_assert_int_eq(imsgbuf_flush(&c.fe), 0);
	parent_audit(&c, &au);
	ck_assert_int_eq(au.kind, KEY_KIND_METADATA);
	ck_assert_int_eq(recv_imsg(&c.fe, &imsg, 10000), 1);
	ck_assert_uint_eq(imsg_get_type(&imsg), IMSG_KEY_SIGNATURE);
	ck_assert_uint_gt(imsg_get_len(&imsg), sizeof(resp));
	memcpy(&resp, imsg.data, sizeof(resp));
	ck_assert_uint_eq(imsg_get_len(&imsg), sizeof(resp) + resp.doclen);
	ck_assert_int_eq(jcs_is_canonical((char *)imsg.data + sizeof(resp),
	    resp.doclen), 1);
	ck_assert_ptr_nonnull(memmem(imsg.data, imsg_get_len(&imsg),
	    "\"endpoint_url\":\"https://b.example\"", 34));
	imsg_free(&imsg);

	/* status from a requester channel: sandboxed, not dumpable */
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
	ck_assert_int_eq(st.dumpable, 0);
#endif
	ck_assert_ptr_nonnull(strstr(st.detail, "key memory"));

	/* shutdown: a checkpoint over the two records, then exit 0 */
	send_imsg(&c.parent, IMSG_PROC_SHUTDOWN, -1, NULL, 0);
	expect(&c.parent, IMSG_KEY_AUDIT, &au, sizeof(au));
	ck_assert_int_eq(au.kind, KEY_KIND_CHECKPOINT);
	ck_assert_mem_eq(au.digest, c.pub, sizeof(c.pub));
	ck_assert_int_eq(child_wait(&c), 0);
	child_done(&c);

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

/* The parent's chain head must be keyd's: a lost record is fatal. */
START_TEST(test_binary_audit_head)
{
	struct child		 c;
	struct key_sign_req	 req;
	struct key_audit	 au;
	struct key_audit_ack	 ack;

	child_start(&c, tmpkeypath, 1);
	child_identity(&c, RELAY_B);
	memset(&req, 0, sizeof(req));
	req.reqid = 1;
	send_imsg(&c.peer, IMSG_KEY_SIGN_REMOVAL, -1, &req, sizeof(req));
	expect(&c.parent, IMSG_KEY_AUDIT, &au, sizeof(au));
	memset(&ack, 0, sizeof(ack));
	ack.seq = au.seq;	/* but the head of an empty log */
	send_imsg(&c.parent, IMSG_KEY_AUDIT_ACK, -1, &ack, sizeof(ack));
	expect_nothing(&c.peer);
	ck_assert_int_eq(child_wait(&c), 1);
	child_done(&c);
}
END_TEST

/* Five refusals on one channel stop keyd (exit 1). */
START_TEST(test_binary_refusals)
{
	struct child		 c;
	struct key_sign_req	 req;
	struct key_sign_resp	 resp;
	struct key_audit	 au;
	int			 i;

	child_start(&c, tmpkeypath, 1);
	child_identity(&c, RELAY_B);

	memset(&req, 0, sizeof(req));
	strlcpy(req.relay_id, RELAY_A, sizeof(req.relay_id));
	for (i = 1; i < KEYD_MAX_REFUSALS; i++) {
		/* the frontend may not send peer notices */
		req.reqid = (uint32_t)i;
		send_imsg(&c.fe, IMSG_KEY_SIGN_ACCEPTED, -1, &req,
		    sizeof(req));
		expect(&c.fe, IMSG_KEY_REFUSED, &resp, sizeof(resp));
		ck_assert_uint_eq(resp.reqid, (uint32_t)i);
		ck_assert_ptr_nonnull(strstr(resp.error, "may not"));
	}
	/* the peer engine's count is its own */
	req.reqid = 100;
	send_imsg(&c.peer, IMSG_KEY_SIGN_ACCEPTED, -1, &req, sizeof(req));
	parent_audit(&c, &au);
	expect(&c.peer, IMSG_KEY_SIGNATURE, NULL, 0);	/* with its doc */
	send_imsg(&c.fe, IMSG_KEY_SIGN_ACCEPTED, -1, &req, sizeof(req));
	ck_assert_int_eq(child_wait(&c), 1);
	child_done(&c);
}
END_TEST

/* A message type no requester may send is fatal at once. */
START_TEST(test_binary_unknown_type)
{
	struct child	 c;

	child_start(&c, tmpkeypath, 1);
	send_imsg(&c.peer, IMSG_CFG_IDENTITY, -1, NULL, 0);
	ck_assert_int_eq(child_wait(&c), 1);
	child_done(&c);
	/* nor may the frontend announce handshakes */
	child_start(&c, tmpkeypath, 1);
	send_imsg(&c.fe, IMSG_KEY_HANDSHAKE, -1, NULL, 0);
	ck_assert_int_eq(child_wait(&c), 1);
	child_done(&c);
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
	child_done(&c);
}
END_TEST

static Suite *
keyd_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("keyd");

	tc = tcase_create("table");
	tcase_add_test(tc, test_kind_table);
	tcase_add_test(tc, test_kind_requests);
	suite_add_tcase(s, tc);

	tc = tcase_create("vectors");
	tcase_add_test(tc, test_vector_challenge);
	tcase_add_test(tc, test_vector_confirm);
	tcase_add_test(tc, test_vector_heartbeat);
	tcase_add_test(tc, test_vector_removal);
	suite_add_tcase(s, tc);

	tc = tcase_create("rules");
	tcase_add_test(tc, test_handshakes);
	tcase_add_test(tc, test_self_notices);
	tcase_add_test(tc, test_text_rule);
	tcase_add_test(tc, test_nonce_rule);
	tcase_add_test(tc, test_requesters_agree);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_identity);
	tcase_add_test(tc, test_rate_limit);
	suite_add_tcase(s, tc);

	tc = tcase_create("documents");
	tcase_add_test(tc, test_metadata);
	tcase_add_test(tc, test_fee_rate);
	tcase_add_test(tc, test_emitter_strings);
	tcase_add_test(tc, test_manifest);
	tcase_add_test(tc, test_notices);
	tcase_add_test(tc, test_checkpoint);
	suite_add_tcase(s, tc);

	tc = tcase_create("keyfile");
	tcase_add_test(tc, test_keyfile);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("binary");
	tcase_add_checked_fixture(tc, keyfile_setup, keyfile_teardown);
	tcase_add_test(tc, test_binary_not_a_socket);
	tcase_add_test(tc, test_binary_sign);
	tcase_add_test(tc, test_binary_audit_head);
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
