/*
 * keyd's signing path: check a request, build the exact bytes to sign
 * from its typed fields, sign, check the signature, fill the answer and
 * the audit record.
 *
 * The rule everything here follows (DESIGN.md section 2): keyd never
 * signs bytes a caller chose.  A request carries typed fields (a relay
 * id, a nonce, a timestamp, or a JSON document whose member set policy.c
 * fixes); keyd validates each field, inserts its own relay id and public
 * key where the message names the signer, and assembles the signing input
 * itself from a fixed template.  So a compromised frontend or peer engine
 * can at worst obtain signatures on well-formed protocol messages of the
 * kinds it already owns, with keyd's clock on every timestamp.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audit.h"
#include "crypto.h"
#include "encoding.h"
#include "jcs.h"
#include "keyd.h"
#include "log.h"

/* The longest concatenation template: id:nonce:suite, or id|ts|suite. */
#define KEYD_MSG_MAX	(RELAY_ID_MAX + NONCE_MAX + 64)

static const char selftest_msg[] = "keyd pairwise consistency test";

static int	 refuse(struct keyd_result *, const char *, ...)
		    __attribute__((__format__ (printf, 2, 3)));
static int	 time_ok(const struct keyd_state *, int64_t);
static char	*sign_document(struct keyd_state *, const struct key_policy *,
		    const char *, size_t, struct keyd_result *, size_t *,
		    uint8_t [ED25519_SIG_LEN]);
static char	*sign_object(struct keyd_state *, json_t *,
		    struct keyd_result *, size_t *, uint8_t [ED25519_SIG_LEN]);
static char	*sign_notice(struct keyd_state *, const char *,
		    const struct key_sign_req *, struct keyd_result *, size_t *,
		    uint8_t [ED25519_SIG_LEN]);

void
keyd_state_init(struct keyd_state *ks, int64_t (*clock)(void))
{
	memset(ks, 0, sizeof(*ks));
	ks->ks_clock = clock;
}

/*
 * Takes ownership of key.  Before keyd answers anything it proves the key
 * works: a signature over a fixed string must verify under the public key
 * derived from it (a broken key file or library fails here, at start-up,
 * rather than on the first peer).
 */
int
keyd_set_key(struct keyd_state *ks, EVP_PKEY *key, char *err, size_t errlen)
{
	uint8_t	 sig[ED25519_SIG_LEN];

	if (ks->ks_key != NULL) {
		snprintf(err, errlen, "key already loaded");
		return (-1);
	}
	if (ed25519_public(key, ks->ks_pub) == -1) {
		snprintf(err, errlen, "not an Ed25519 key");
		return (-1);
	}
	if (ed25519_sign(key, (const uint8_t *)selftest_msg,
	    sizeof(selftest_msg) - 1, sig) == -1 ||
	    ed25519_verify(ks->ks_pub, (const uint8_t *)selftest_msg,
	    sizeof(selftest_msg) - 1, sig) == -1) {
		snprintf(err, errlen, "key fails the sign/verify self-test");
		return (-1);
	}
	hex_encode(ks->ks_pub, sizeof(ks->ks_pub), ks->ks_pubhex);
	if (did_key_from_pubkey(ks->ks_pub, ks->ks_did,
	    sizeof(ks->ks_did)) == -1) {
		snprintf(err, errlen, "cannot encode did:key");
		return (-1);
	}
	pubkey_fingerprint(ks->ks_pub, ks->ks_fingerprint);
	ks->ks_key = key;
	return (0);
}

/*
 * The parent tells keyd which relay id to put into messages.  It got the
 * public key from keyd (IMSG_KEY_PUBKEY) and the relay id from ledgerd;
 * if the public key or did it sends back differ from keyd's own, the
 * parent and keyd disagree about who this relay is, and signing anything
 * would publish that confusion.  The relay id cannot change later either:
 * messages already signed name it.
 */
int
keyd_set_identity(struct keyd_state *ks, const struct cfg_identity *id,
    char *err, size_t errlen)
{
	if (ks->ks_key == NULL) {
		snprintf(err, errlen, "identity before the key was loaded");
		return (-1);
	}
	if (memchr(id->relay_id, '\0', sizeof(id->relay_id)) == NULL ||
	    memchr(id->public_key, '\0', sizeof(id->public_key)) == NULL ||
	    memchr(id->did, '\0', sizeof(id->did)) == NULL) {
		snprintf(err, errlen, "unterminated identity string");
		return (-1);
	}
	if (!relay_id_valid(id->relay_id)) {
		snprintf(err, errlen, "invalid relay id");
		return (-1);
	}
	if (strcmp(id->public_key, ks->ks_pubhex) != 0) {
		snprintf(err, errlen, "identity public key %.64s is not "
		    "keyd's key %s", id->public_key, ks->ks_pubhex);
		return (-1);
	}
	if (strcmp(id->did, ks->ks_did) != 0) {
		snprintf(err, errlen, "identity did is not keyd's did");
		return (-1);
	}
	if (ks->ks_have_identity &&
	    strcmp(id->relay_id, ks->ks_relay_id) != 0) {
		snprintf(err, errlen, "relay id changed from %s",
		    ks->ks_relay_id);
		return (-1);
	}
	strlcpy(ks->ks_relay_id, id->relay_id, sizeof(ks->ks_relay_id));
	ks->ks_have_identity = 1;
	return (0);
}

/*
 * EVP_PKEY_free() clears the raw private key before freeing it (OpenSSL
 * 3 ecx keys use OPENSSL_secure_clear_free); the rest of the state is
 * public but is wiped anyway.
 */
void
keyd_state_wipe(struct keyd_state *ks)
{
	EVP_PKEY_free(ks->ks_key);
	explicit_bzero(ks, sizeof(*ks));
}

void
keyd_result_free(struct keyd_result *kr)
{
	free(kr->kr_doc);
	kr->kr_doc = NULL;
	kr->kr_doclen = 0;
}

static int
refuse(struct keyd_result *kr, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(kr->kr_resp.error, sizeof(kr->kr_resp.error), fmt, ap);
	va_end(ap);
	return (KEYD_REFUSED);
}

/* keyd's own clock decides freshness, never the requester's. */
static int
time_ok(const struct keyd_state *ks, int64_t ts)
{
	int64_t	 now;

	now = ks->ks_clock();
	return (ts >= now - KEYD_CLOCK_SKEW_MS &&
	    ts <= now + KEYD_CLOCK_SKEW_MS);
}

/*
 * Signs JCS(o) (o has no "signature" yet), adds "signature" and puts the
 * canonical signed document into kr.  Returns the signed bytes (their
 * length in *tbslen) and the signature in sig.
 */
static char *
sign_object(struct keyd_state *ks, json_t *o, struct keyd_result *kr,
    size_t *tbslen, uint8_t sig[ED25519_SIG_LEN])
{
	char		 sighex[SIG_HEX_MAX];
	char		*tbs, *out, *check;
	size_t		 outlen, checklen;

	if ((tbs = jcs_serialize(o, 0, tbslen)) == NULL)
		fatalx("%s: jcs_serialize", __func__);
	if (ed25519_sign(ks->ks_key, (uint8_t *)tbs, *tbslen, sig) == -1)
		fatalx("%s: ed25519_sign", __func__);
	hex_encode(sig, ED25519_SIG_LEN, sighex);
	if (json_object_set_new(o, "signature", json_string(sighex)) == -1)
		fatalx("%s: out of memory", __func__);
	if ((out = jcs_serialize(o, 0, &outlen)) == NULL)
		fatalx("%s: jcs_serialize", __func__);

	/*
	 * A verifier will recompute JCS(document minus signature).  Make
	 * sure that is exactly what was signed (and what the audit digest
	 * covers) before the document leaves keyd.
	 */
	if ((check = jcs_serialize(o, 1, &checklen)) == NULL)
		fatalx("%s: jcs_serialize", __func__);
	if (checklen != *tbslen || memcmp(check, tbs, checklen) != 0)
		fatalx("%s: canonical form changed after signing", __func__);
	free(check);

	kr->kr_doc = out;
	kr->kr_doclen = outlen;
	return (tbs);
}

/*
 * The signed peer notices between relayd peers, canonical and returned
 * signed:
 *   remove-v2	   {"action":"remove","peer_relay_id":P,"relay_id":own,
 *		    "timestamp":T}
 *   peer-accepted {"action":"accepted",...the same members}
 * The timestamp makes them expire, unlike the reference's bare-id
 * removal, which can be replayed forever; "action" keeps one from being
 * passed off as the other; peer_relay_id binds each to its addressee.
 */
static char *
sign_notice(struct keyd_state *ks, const char *action,
    const struct key_sign_req *req, struct keyd_result *kr, size_t *tbslen,
    uint8_t sig[ED25519_SIG_LEN])
{
	json_t	*o;
	char	*tbs;

	if ((o = json_object()) == NULL ||
	    json_object_set_new(o, "action", json_string(action)) == -1 ||
	    json_object_set_new(o, "peer_relay_id",
	    json_string(req->relay_id)) == -1 ||
	    json_object_set_new(o, "relay_id",
	    json_string(ks->ks_relay_id)) == -1 ||
	    json_object_set_new(o, "timestamp",
	    json_integer(req->timestamp)) == -1)
		fatalx("%s: out of memory", __func__);
	tbs = sign_object(ks, o, kr, tbslen, sig);
	json_decref(o);
	return (tbs);
}

/*
 * METADATA and MANIFEST: the caller's document must already be canonical
 * (so what it logged or cached is byte for byte what keyd saw), must
 * parse under the strict parser, and must have exactly the members
 * policy.c allows.  keyd then adds the members that name the signer and
 * the suite, signs the canonical form, and returns the canonical signed
 * document.  The return value and *tbslen are the signed bytes, sig the
 * signature; the signed document goes into kr.
 */
static char *
sign_document(struct keyd_state *ks, const struct key_policy *kp,
    const char *doc, size_t doclen, struct keyd_result *kr, size_t *tbslen,
    uint8_t sig[ED25519_SIG_LEN])
{
	char		 err[128];
	char		*tbs;
	json_t		*o;

	if (doclen == 0) {
		refuse(kr, "document missing");
		return (NULL);
	}
	if (doclen > KEYD_DOC_MAX) {
		refuse(kr, "document larger than %d bytes", KEYD_DOC_MAX);
		return (NULL);
	}
	if (jcs_is_canonical(doc, doclen) != 1) {
		refuse(kr, "document is not canonical JSON");
		return (NULL);
	}
	if ((o = jcs_parse(doc, doclen, err, sizeof(err))) == NULL) {
		refuse(kr, "document: %s", err);
		return (NULL);
	}
	if (!json_is_object(o)) {
		json_decref(o);
		refuse(kr, "document is not an object");
		return (NULL);
	}
	if (doc_check(o, kp->kp_doc, ks->ks_clock(), err, sizeof(err)) ==
	    -1) {
		json_decref(o);
		refuse(kr, "document: %s", err);
		return (NULL);
	}

	/* doc_check() allowed none of these, so nothing is overwritten. */
	if (json_object_set_new(o, "relay_id",
	    json_string(ks->ks_relay_id)) == -1 ||
	    json_object_set_new(o, "public_key",
	    json_string(ks->ks_pubhex)) == -1 ||
	    json_object_set_new(o, "suite", json_string(SUITE_JCS_HEX)) == -1)
		fatalx("%s: out of memory", __func__);
	if (kp->kp_kind == KEY_KIND_MANIFEST &&
	    json_object_set_new(o, "did", json_string(ks->ks_did)) == -1)
		fatalx("%s: out of memory", __func__);

	tbs = sign_object(ks, o, kr, tbslen, sig);
	json_decref(o);
	return (tbs);
}

/*
 * Handles one IMSG_KEY_SIGN_* request of len bytes from process `from`.
 * Returns KEYD_SIGNED with kr filled (answer, optional document, audit
 * record), or KEYD_REFUSED with the reason in kr->kr_resp.error.  Checks,
 * in order, each for a reason:
 *   - the type has a policy entry (else it is not a signing request);
 *   - the header is complete (else there is nothing to echo);
 *   - the requester owns this kind (a frontend cannot sign heartbeats);
 *   - header + doclen is exactly the payload (no trailing bytes, no
 *     truncated document);
 *   - the relay id is known (every kind names this relay);
 *   - strings are NUL-terminated inside their fields;
 *   - every field the kind does not use is empty, so a request means
 *     one thing only;
 *   - the fields the kind uses are valid (per kind, below).
 */
int
keyd_handle(struct keyd_state *ks, uint32_t type, enum proc_id from,
    int instance, const void *data, size_t len, struct keyd_result *kr)
{
	const struct key_policy	*kp;
	struct key_sign_req	 req;
	const char		*doc;
	char			 msg[KEYD_MSG_MAX];
	char			*tbs = NULL;
	const uint8_t		*tbsp;
	size_t			 tbslen;
	uint8_t			 sig[ED25519_SIG_LEN];
	int64_t			 now;

	memset(kr, 0, sizeof(*kr));
	if ((kp = policy_lookup(type)) == NULL)
		return (refuse(kr, "not a signing request"));
	kr->kr_resp.kind = kp->kp_kind;

	if (len < sizeof(req))
		return (refuse(kr, "request shorter than its header"));
	memcpy(&req, data, sizeof(req));
	kr->kr_resp.reqid = req.reqid;
	doc = (const char *)data + sizeof(req);

	if (!policy_allows(kp, from))
		return (refuse(kr, "%s may not request %s signatures",
		    audit_proc_name(from) ? audit_proc_name(from) : "?",
		    audit_kind_name(kp->kp_kind)));
	if (len - sizeof(req) != req.doclen)
		return (refuse(kr, "payload is %zu bytes, header says %zu + "
		    "%" PRIu32, len, sizeof(req), req.doclen));
	if (!ks->ks_have_identity || ks->ks_key == NULL) {
		kr->kr_notready = 1;
		return (refuse(kr, "relay identity not known yet"));
	}
	if (memchr(req.relay_id, '\0', sizeof(req.relay_id)) == NULL ||
	    memchr(req.nonce, '\0', sizeof(req.nonce)) == NULL)
		return (refuse(kr, "unterminated string field"));

	if (!(kp->kp_fields & KF_RELAY_ID) && req.relay_id[0] != '\0')
		return (refuse(kr, "relay_id set but not used by this kind"));
	if (!(kp->kp_fields & KF_NONCE) && req.nonce[0] != '\0')
		return (refuse(kr, "nonce set but not used by this kind"));
	if (!(kp->kp_fields & KF_TIMESTAMP) && req.timestamp != 0)
		return (refuse(kr, "timestamp set but not used by this kind"));
	if (!(kp->kp_fields & KF_DOC) && req.doclen != 0)
		return (refuse(kr, "document given but not used by this "
		    "kind"));

	if ((kp->kp_fields & KF_RELAY_ID) && !relay_id_valid(req.relay_id))
		return (refuse(kr, "invalid relay id"));
	if ((kp->kp_fields & KF_NONCE) && !nonce_valid(req.nonce))
		return (refuse(kr, "invalid nonce (1..%d printable "
		    "characters, no ':' or '|')", KEYD_NONCE_MAXLEN));
	if ((kp->kp_fields & KF_TIMESTAMP) && !time_ok(ks, req.timestamp))
		return (refuse(kr, "timestamp %" PRId64 " not within 5 "
		    "minutes of keyd's clock", req.timestamp));

	switch (kp->kp_kind) {
	case KEY_KIND_CHALLENGE:
		/*
		 * "{proposer}:{proposer nonce}:suite".  A proposer naming
		 * this relay would make keyd sign "{own}:{nonce}:suite",
		 * which is exactly a confirm challenge_response: the
		 * reference's self-propose oracle (PROTOCOL.md section 3).
		 */
		if (strcmp(req.relay_id, ks->ks_relay_id) == 0)
			return (refuse(kr, "proposer is this relay "
			    "(self-propose)"));
		if (msg_handshake(msg, sizeof(msg), req.relay_id,
		    req.nonce) == -1)
			fatalx("%s: msg_handshake", __func__);
		break;
	case KEY_KIND_CONFIRM:
		/* "{own}:{responder nonce}:suite" */
		if (msg_handshake(msg, sizeof(msg), ks->ks_relay_id,
		    req.nonce) == -1)
			fatalx("%s: msg_handshake", __func__);
		break;
	case KEY_KIND_HBRESP:
	case KEY_KIND_HEARTBEAT:
		/* "{own}|{timestamp}|suite" */
		if (msg_heartbeat(msg, sizeof(msg), ks->ks_relay_id,
		    req.timestamp) == -1)
			fatalx("%s: msg_heartbeat", __func__);
		break;
	case KEY_KIND_REMOVAL:
		/* the bare own relay id, as the reference signs it */
		if (strlcpy(msg, ks->ks_relay_id, sizeof(msg)) >= sizeof(msg))
			fatalx("%s: relay id too long", __func__);
		break;
	case KEY_KIND_REMOVAL2:
		if (strcmp(req.relay_id, ks->ks_relay_id) == 0)
			return (refuse(kr, "cannot remove this relay itself"));
		tbs = sign_notice(ks, "remove", &req, kr, &tbslen, sig);
		break;
	case KEY_KIND_ACCEPTED:
		if (strcmp(req.relay_id, ks->ks_relay_id) == 0)
			return (refuse(kr, "cannot accept this relay itself"));
		tbs = sign_notice(ks, "accepted", &req, kr, &tbslen, sig);
		break;
	case KEY_KIND_METADATA:
	case KEY_KIND_MANIFEST:
		tbs = sign_document(ks, kp, doc, req.doclen, kr, &tbslen,
		    sig);
		if (tbs == NULL)
			return (KEYD_REFUSED);
		break;
	default:
		fatalx("%s: kind %d has no signing input", __func__,
		    kp->kp_kind);
	}

	if (tbs != NULL)
		tbsp = (const uint8_t *)tbs;
	else {
		tbsp = (const uint8_t *)msg;
		tbslen = strlen(msg);
	}

	/*
	 * JSON documents were signed in sign_object(), which embeds the
	 * signature; sign the concatenation templates here.  For both,
	 * verify before release: a signature that does not verify (memory
	 * or library fault) must never leave keyd.
	 */
	if (tbs == NULL && ed25519_sign(ks->ks_key, tbsp, tbslen, sig) == -1)
		fatalx("%s: ed25519_sign", __func__);
	if (ed25519_verify(ks->ks_pub, tbsp, tbslen, sig) == -1)
		fatalx("%s: signature does not verify", __func__);

	now = ks->ks_clock();
	hex_encode(sig, sizeof(sig), kr->kr_resp.signature);
	kr->kr_resp.doclen = (uint32_t)kr->kr_doclen;
	kr->kr_audit.time_ms = now;
	kr->kr_audit.requester = from;
	kr->kr_audit.instance = instance;
	kr->kr_audit.kind = kp->kp_kind;
	sha256(tbsp, tbslen, kr->kr_audit.digest);
	memcpy(kr->kr_audit.sig, sig, sizeof(sig));

	free(tbs);
	explicit_bzero(msg, sizeof(msg));
	return (KEYD_SIGNED);
}
