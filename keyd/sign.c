/*
 * keyd's signing path, the same for every kind: check the request
 * against the kind's row (kinds.c), let the row's builder assemble the
 * exact bytes to sign, sign, verify, and make the audit record, which
 * also moves the audit chain head keyd follows.
 *
 * The rule everything here follows (DESIGN.md section 2): keyd never
 * signs bytes a caller chose.  A request carries typed fields (a relay
 * id, a nonce, a count, a list of peers); keyd validates each with the
 * shared rules (common/validate.c), takes its own relay id, key, clock
 * and the parent's configuration for everything else, and builds the
 * signing input itself.  So a compromised frontend or peer engine can at
 * worst obtain signatures on well-formed protocol messages of the kinds
 * it already owns, stamped now, naming the claims the parent configured.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "crypto.h"
#include "encoding.h"
#include "keyd.h"
#include "log.h"
#include "validate.h"

static const char selftest_msg[] = "keyd pairwise consistency test";

static int	 refuse(struct keyd_result *, const char *, ...)
		    __attribute__((__format__ (printf, 2, 3)));
static int	 sign_row(struct keyd_state *, const struct key_kind_row *,
		    struct keyd_build *, enum proc_id, int,
		    struct keyd_result *);

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

/*
 * The parent's configuration: the claims keyd signs into the well-known
 * documents.  A reload may change them; documents signed later say so.
 */
void
keyd_set_conf(struct keyd_state *ks, const struct cfg_global *g)
{
	ks->ks_conf = *g;
	ks->ks_conf.name[sizeof(g->name) - 1] = '\0';
	ks->ks_conf.endpoint[sizeof(g->endpoint) - 1] = '\0';
	ks->ks_have_conf = 1;
}

/*
 * IMSG_KEY_HANDSHAKE: the peer engine accepted a proposal and the
 * frontend may have one challenge signed for (relay id, nonce) within
 * KEYD_HANDSHAKE_MS.  A full table drops the entry closest to expiry.
 */
int
keyd_handshake(struct keyd_state *ks, const struct key_handshake *h,
    char *err, size_t errlen)
{
	struct keyd_handshake	*e, *victim = NULL;
	int64_t			 now = ks->ks_clock();
	size_t			 i;

	if (memchr(h->relay_id, '\0', sizeof(h->relay_id)) == NULL ||
	    memchr(h->nonce, '\0', sizeof(h->nonce)) == NULL ||
	    !relay_id_valid(h->relay_id) || !nonce_valid(h->nonce)) {
		snprintf(err, errlen, "invalid relay id or nonce");
		return (-1);
	}
	for (i = 0; i < KEYD_HANDSHAKES; i++) {
		e = &ks->ks_hs[i];
		if (e->expires <= now)
			e->expires = 0;
		if (victim == NULL || e->expires < victim->expires)
			victim = e;
	}
	strlcpy(victim->relay_id, h->relay_id, sizeof(victim->relay_id));
	strlcpy(victim->nonce, h->nonce, sizeof(victim->nonce));
	victim->expires = now + KEYD_HANDSHAKE_MS;
	return (0);
}

/* 1 and the entry is used up, or 0: no such handshake announced. */
int
keyd_handshake_take(struct keyd_state *ks, const char *relay_id,
    const char *nonce)
{
	struct keyd_handshake	*e;
	int64_t			 now = ks->ks_clock();
	size_t			 i;

	for (i = 0; i < KEYD_HANDSHAKES; i++) {
		e = &ks->ks_hs[i];
		if (e->expires > now && strcmp(e->relay_id, relay_id) == 0 &&
		    strcmp(e->nonce, nonce) == 0) {
			e->expires = 0;
			return (1);
		}
	}
	return (0);
}

/* One signature from the bucket, or 0: the requester is over its rate. */
int
keyd_bucket_take(struct keyd_bucket *kb, int64_t now)
{
	if (kb->kb_last == 0 || now < kb->kb_last)
		kb->kb_tokens = (int64_t)KEYD_BURST * 1000;
	else
		kb->kb_tokens += (now - kb->kb_last) * KEYD_RATE;
	if (kb->kb_tokens > (int64_t)KEYD_BURST * 1000)
		kb->kb_tokens = (int64_t)KEYD_BURST * 1000;
	kb->kb_last = now;
	if (kb->kb_tokens < 1000)
		return (0);
	kb->kb_tokens -= 1000;
	return (1);
}

/*
 * Builds, signs and records.  A document is built twice: without
 * "signature" (the bytes signed) and with it (the document returned);
 * both passes see the same fields, so the second differs from the first
 * only by that member, which is what a verifier removes.
 */
static int
sign_row(struct keyd_state *ks, const struct key_kind_row *row,
    struct keyd_build *b, enum proc_id from, int instance,
    struct keyd_result *kr)
{
	struct jw	 doc;
	uint8_t		 sig[ED25519_SIG_LEN];
	char		 sighex[SIG_HEX_MAX];
	char		 line[AUDIT_LINE_MAX];
	int		 n;

	b->ks = ks;
	b->err = kr->kr_resp.error;
	b->errlen = sizeof(kr->kr_resp.error);
	b->ts = row->time == T_KEYD ? ks->ks_clock() : 0;
	memset(&b->w, 0, sizeof(b->w));
	if (row->build(b) == -1) {
		free(b->w.buf);
		return (KEYD_REFUSED);
	}
	if (b->w.depth != 0 || b->w.len == 0)
		fatalx("%s: %s: unfinished signing input", __func__,
		    audit_kind_name(row->kind));
	if (ed25519_sign(ks->ks_key, (uint8_t *)b->w.buf, b->w.len, sig) ==
	    -1)
		fatalx("%s: ed25519_sign", __func__);
	/* a signature that does not verify must never leave keyd */
	if (ed25519_verify(ks->ks_pub, (uint8_t *)b->w.buf, b->w.len, sig) ==
	    -1)
		fatalx("%s: signature does not verify", __func__);
	hex_encode(sig, sizeof(sig), sighex);

	if (row->json) {
		doc = b->w;
		memset(&b->w, 0, sizeof(b->w));
		b->w.sig = sighex;
		if (row->build(b) == -1)
			fatalx("%s: second pass refused", __func__);
		kr->kr_doc = b->w.buf;
		kr->kr_doclen = b->w.len;
		b->w = doc;
	}

	strlcpy(kr->kr_resp.signature, sighex, sizeof(kr->kr_resp.signature));
	kr->kr_resp.kind = row->kind;
	kr->kr_resp.timestamp = b->ts;
	kr->kr_resp.doclen = (uint32_t)kr->kr_doclen;
	kr->kr_audit.time_ms = row->time == T_KEYD ? b->ts : ks->ks_clock();
	kr->kr_audit.requester = from;
	kr->kr_audit.instance = instance;
	kr->kr_audit.kind = row->kind;
	/* a checkpoint's line carries the key that verifies it (audit.h) */
	if (row->kind == KEY_KIND_CHECKPOINT)
		memcpy(kr->kr_audit.digest, ks->ks_pub, sizeof(ks->ks_pub));
	else
		sha256(b->w.buf, b->w.len, kr->kr_audit.digest);
	memcpy(kr->kr_audit.sig, sig, sizeof(sig));
	kr->kr_audit.seq = ++ks->ks_seq;
	free(b->w.buf);

	/* the line the parent will write, and so the next head */
	if ((n = audit_format(line, sizeof(line), ks->ks_head,
	    &kr->kr_audit)) <= 0)
		fatalx("%s: audit record out of range", __func__);
	audit_line_hash(line, (size_t)n, ks->ks_head);
	ks->ks_since_cp++;
	return (KEYD_SIGNED);
}

/*
 * Handles one IMSG_KEY_SIGN_* request of len bytes from process `from`.
 * Returns KEYD_SIGNED with kr filled (answer, optional document, audit
 * record), or KEYD_REFUSED with the reason in kr->kr_resp.error.  Checks,
 * in order, each for a reason:
 *   - the type has a row (else it is not a signing request);
 *   - the header is complete (else there is nothing to echo);
 *   - the requester owns this kind (a frontend cannot sign heartbeats);
 *   - header + datalen is exactly the payload;
 *   - the relay id and the parent's claims are known;
 *   - strings are NUL-terminated inside their fields;
 *   - every field the kind does not use is empty, so a request means
 *     one thing only;
 *   - the fields the kind uses are valid (validate.h rules);
 *   - then the builder's own checks (kinds.c).
 */
int
keyd_handle(struct keyd_state *ks, uint32_t type, enum proc_id from,
    int instance, const void *data, size_t len, struct keyd_result *kr)
{
	const struct key_kind_row	*row;
	struct key_sign_req		 req;
	struct keyd_build		 b;
	const struct key_peer		*p;
	char				 err[96];
	size_t				 i;

	memset(kr, 0, sizeof(*kr));
	memset(&b, 0, sizeof(b));
	if ((row = kind_by_type(type)) == NULL)
		return (refuse(kr, "not a signing request"));
	kr->kr_resp.kind = row->kind;

	if (len < sizeof(req))
		return (refuse(kr, "request shorter than its header"));
	memcpy(&req, data, sizeof(req));
	kr->kr_resp.reqid = req.reqid;
	b.req = &req;
	b.peers = (const struct key_peer *)((const char *)data + sizeof(req));

	if (from < 0 || from >= PROC_MAX ||
	    !(row->requesters & PROC_BIT(from)))
		return (refuse(kr, "%s may not request %s signatures",
		    audit_proc_name(from) ? audit_proc_name(from) : "?",
		    audit_kind_name(row->kind)));
	if (len - sizeof(req) != req.datalen)
		return (refuse(kr, "payload is %zu bytes, header says %zu + "
		    "%" PRIu32, len, sizeof(req), req.datalen));
	if (!ks->ks_have_identity || ks->ks_key == NULL || !ks->ks_have_conf) {
		kr->kr_soft = 1;
		return (refuse(kr, "relay identity not known yet"));
	}
	if (memchr(req.relay_id, '\0', sizeof(req.relay_id)) == NULL ||
	    memchr(req.nonce, '\0', sizeof(req.nonce)) == NULL)
		return (refuse(kr, "unterminated string field"));

	if (!(row->fields & KF_RELAY_ID) && req.relay_id[0] != '\0')
		return (refuse(kr, "relay_id set but not used by this kind"));
	if (!(row->fields & KF_NONCE) && req.nonce[0] != '\0')
		return (refuse(kr, "nonce set but not used by this kind"));
	if (!(row->fields & KF_COUNT) && req.count != 0)
		return (refuse(kr, "count set but not used by this kind"));
	if (!(row->fields & KF_PEERS) && req.datalen != 0)
		return (refuse(kr, "data given but not used by this kind"));

	if ((row->fields & KF_RELAY_ID) && !relay_id_valid(req.relay_id))
		return (refuse(kr, "invalid relay id"));
	if ((row->fields & KF_NONCE) && !nonce_valid(req.nonce))
		return (refuse(kr, "invalid nonce (1..%d printable "
		    "characters, no ':' or '|')", NONCE_TEXT_MAX));
	if ((row->fields & KF_COUNT) &&
	    (req.count < 0 || req.count > KEYD_JS_INT_MAX))
		return (refuse(kr, "count not in 0..2^53-1"));
	if (row->fields & KF_PEERS) {
		if (req.datalen % sizeof(*p) != 0 ||
		    req.datalen / sizeof(*p) > KEYD_PEERS_MAX)
			return (refuse(kr, "peer list not 0..%d entries",
			    KEYD_PEERS_MAX));
		b.npeers = req.datalen / sizeof(*p);
		for (i = 0; i < b.npeers; i++) {
			p = &b.peers[i];
			if (memchr(p->relay_id, '\0', sizeof(p->relay_id)) ==
			    NULL || memchr(p->endpoint_url, '\0',
			    sizeof(p->endpoint_url)) == NULL ||
			    !relay_id_valid(p->relay_id) ||
			    !token_valid(p->endpoint_url, RELAY_URL_MAX - 1))
				return (refuse(kr, "peer %zu: invalid relay id "
				    "or endpoint", i));
		}
	}
	if ((row->kind == KEY_KIND_METADATA ||
	    row->kind == KEY_KIND_MANIFEST) &&
	    !claims_usable(&ks->ks_conf, row->kind, err, sizeof(err))) {
		/* a reload may reach the frontend first: not counted */
		kr->kr_soft = 1;
		return (refuse(kr, "configuration: %s", err));
	}

	return (sign_row(ks, row, &b, from, instance, kr));
}

/*
 * keyd's own signature over the audit chain head, every
 * KEYD_CHECKPOINT_EVERY records and at shutdown.  Not a request: no
 * requester can ask for it or choose what it covers.
 */
int
keyd_checkpoint(struct keyd_state *ks, struct keyd_result *kr)
{
	struct key_sign_req	 req;
	struct keyd_build	 b;

	memset(kr, 0, sizeof(*kr));
	memset(&req, 0, sizeof(req));
	memset(&b, 0, sizeof(b));
	b.req = &req;
	if (ks->ks_key == NULL)
		return (refuse(kr, "no key"));
	if (sign_row(ks, kind_by_kind(KEY_KIND_CHECKPOINT), &b, PROC_KEYD, 0,
	    kr) == KEYD_REFUSED)
		fatalx("%s: %s", __func__, kr->kr_resp.error);
	ks->ks_since_cp = 0;
	return (KEYD_SIGNED);
}
