/*
 * peer_ctl.c: see peering_int.h.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event.h>
#include <jansson.h>

#include "audit.h"
#include "crypto.h"
#include "encoding.h"
#include "http_client.h"
#include "jcs.h"
#include "log.h"
#include "metrics.h"
#include "peering.h"
#include "peering_int.h"
#include "proc.h"
#include "relayd.h"

/*
 * relayctl peer add URL
 */
static void	 add_identity(const struct hc_reply *, void *);
static void	 add_proposed(const struct hc_reply *, void *);
static void	 add_signed(void *, int, const struct key_sign_resp *,
		    const char *, size_t);
static void	 add_confirmed(const struct hc_reply *, void *);
static void	 add_activated(struct op *, int, const char *);
static void	 add_learned(struct op *, int, const char *);
static void	 add_unwound(struct op *, int, const char *);

uint32_t
count_peers(void)
{
	struct peer	*p;
	uint32_t	 n = 0;

	RB_FOREACH(p, peer_tree, &peers)
		n += peer_counts(&p->r.e);
	return (n);
}

uint32_t
count_handshakes(void)
{
	struct peer	*p;
	uint32_t	 n = 0;

	RB_FOREACH(p, peer_tree, &peers)
		n += peer_unconfirmed(&p->r.e);
	return (n);
}

/* An outbound handshake ends without a peer: refused, or failed. */
static void
add_end(struct op *op, int o, const char *fmt, va_list ap)
{
	char	 msg[256];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	metrics_handshake(METRICS_HS_OUTBOUND, o);
	op_finish(op, 0, "%s", msg);
}

static void
add_refused(struct op *op, const char *fmt, ...)
    __attribute__((__format__ (printf, 2, 3)));

static void
add_refused(struct op *op, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	add_end(op, METRICS_HS_REFUSED, fmt, ap);
	va_end(ap);
}

static void
add_failed(struct op *op, const char *fmt, ...)
    __attribute__((__format__ (printf, 2, 3)));

static void
add_failed(struct op *op, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	add_end(op, METRICS_HS_FAILED, fmt, ap);
	va_end(ap);
}

static int
add_start(struct ctl_conn *c, const char *url, char *err, size_t len)
{
	struct op	*op;
	struct peer_url	 u;

	if (!cfg.fed_enable) {
		snprintf(err, len, "federation is disabled in relayd.conf");
		return (-1);
	}
	if (!have_ident) {
		snprintf(err, len, "the relay identity is not known yet");
		return (-1);
	}
	if (!db_ready(err, len))
		return (-1);
	if (peer_url_parse(url, &u, err, len) == -1)
		return (-1);
	op = op_new(OP_ADD, NULL, c->id, OP_DEADLINE_MS);
	op->url = u;
	c->waiting = 1;
	log_info("peer add %s: fetching the identity", u.norm);
	op->http = hc_get(&op->url, "/federation/v1/identity",
	    HTTP_TIMEOUT_MS, add_identity, op);
	return (0);
}

static void
add_identity(const struct hc_reply *r, void *arg)
{
	struct op	*op = arg;
	struct peer	*p;
	struct peer_url	 eu;
	const char	*spec, *id, *key, *s;
	char		 why[200], err[128];
	size_t		 blen;
	char		*body;

	op->http = NULL;
	if (r->status != 200 || r->body == NULL) {
		reply_why(r, why, sizeof(why));
		add_failed(op, "identity from %s: %s", op->url.norm,
		    why);
		return;
	}
	spec = jstr(r->body, "spec");
	if (spec == NULL || spec_major(spec) != PEER_SPEC_MAJOR) {
		add_refused(op, "refused: %s speaks %.40s, not "
		    "motebit/relay-federation@%d.x", op->url.norm,
		    spec != NULL ? spec : "no spec", PEER_SPEC_MAJOR);
		return;
	}
	id = jstr(r->body, "relay_motebit_id");
	key = jstr(r->body, "public_key");
	if (id == NULL || !relay_id_valid(id) || key == NULL ||
	    !hex64_lower(key)) {
		add_failed(op, "identity from %s: no valid relay id "
		    "and public key", op->url.norm);
		return;
	}
	if (strcmp(id, ident.relay_id) == 0) {
		add_refused(op, "refused: %s is this relay",
		    op->url.norm);
		return;
	}
	strlcpy(op->id, id, sizeof(op->id));
	strlcpy(op->pubkey, key, sizeof(op->pubkey));
	op->ext = peer_ext_from_json(json_object_get(r->body, "extensions"));
	if ((s = jstr(r->body, "display_name")) != NULL) {
		strlcpy(op->name, s, sizeof(op->name));
		text_clean(op->name);
	}
	/* the endpoint it advertises, else the URL we were given */
	if ((s = jstr(r->body, "endpoint_url")) != NULL &&
	    peer_url_parse(s, &eu, err, sizeof(err)) == 0)
		strlcpy(op->endpoint, eu.norm, sizeof(op->endpoint));

	if (fedrules_lookup(&rules, id) == FEDRULE_BLOCK) {
		add_refused(op, "refused: %s is blocked in "
		    "relayd.conf", id);
		return;
	}
	if ((p = peer_find(id)) != NULL) {
		/*
		 * A new key for a known relay: only over a removed row, on
		 * the operator's word (this command); never by a proposal.
		 */
		if (strcmp(p->r.e.public_key, key) != 0 &&
		    p->r.e.state != PEER_REMOVED) {
			add_refused(op, "refused: key mismatch "
			    "for known relay %s (pinned %.16s..., offered "
			    "%.16s...); remove it first to pin the new key",
			    id, p->r.e.public_key, key);
			return;
		}
		if (strcmp(p->r.e.public_key, key) != 0)
			log_warnx("peer add %s: the relay offers a new key "
			    "%.16s... (pinned %.16s...); the operator's peer "
			    "add pins it", id, key, p->r.e.public_key);
		if (p->r.e.state != PEER_REMOVED) {
			add_refused(op, "refused: %s is already %s "
			    "here", id, peer_state_name(p->r.e.state));
			return;
		}
		if (op_busy(p)) {
			add_refused(op, "refused: an operation on "
			    "%s is in progress", id);
			return;
		}
	}
	if (op_find_id(id) != op) {
		add_refused(op, "refused: a handshake with %s is "
		    "already in progress", id);
		return;
	}
	if (count_peers() >= cfg.fed_max_peers) {
		add_refused(op, "refused: the peer limit is reached "
		    "(max peers %u)", cfg.fed_max_peers);
		return;
	}

	nonce_new(op->our_nonce);
	body = json_body(json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "relay_id",
	    ident.relay_id, "public_key", ident.public_key, "endpoint_url",
	    cfg.endpoint, "display_name", cfg.name, "nonce", op->our_nonce,
	    "spec_version", RELAYD_SPEC_VERSION), &blen);
	op->http = hc_post(&op->url, "/federation/v1/peer/propose", body,
	    blen, HTTP_TIMEOUT_MS, add_proposed, op);
	free(body);
}

static void
add_proposed(const struct hc_reply *r, void *arg)
{
	struct op	*op = arg;
	struct peer_url	 eu;
	const char	*s, *challenge;
	char		 why[200], err[128];

	op->http = NULL;
	if (r->status == 0) {
		add_failed(op, "propose: %s", r->error);
		return;
	}
	if (r->status != 200) {
		reply_why(r, why, sizeof(why));
		add_refused(op, "refused: %s", why + 5);
		return;
	}
	if (r->body == NULL) {
		add_failed(op, "propose: %s", r->error);
		return;
	}
	if ((s = jstr(r->body, "relay_id")) == NULL || strcmp(s, op->id) != 0 ||
	    (s = jstr(r->body, "public_key")) == NULL ||
	    strcmp(s, op->pubkey) != 0) {
		add_failed(op, "propose: the answer names another "
		    "relay or key than the identity");
		return;
	}
	if ((s = jstr(r->body, "nonce")) == NULL || !nonce_valid(s)) {
		add_failed(op, "propose: the answer has no valid "
		    "nonce");
		return;
	}
	strlcpy(op->their_nonce, s, sizeof(op->their_nonce));
	challenge = jstr(r->body, "challenge");
	if (challenge == NULL || challenge_verify(op->pubkey, ident.relay_id,
	    op->our_nonce, challenge) == -1) {
		metrics_auth_failure(AUTH_FAIL_CHALLENGE);
		add_failed(op, "propose: the responder's challenge "
		    "does not verify with its key");
		return;
	}
	if (op->endpoint[0] == '\0' && (s = jstr(r->body, "endpoint_url")) !=
	    NULL && peer_url_parse(s, &eu, err, sizeof(err)) == 0)
		strlcpy(op->endpoint, eu.norm, sizeof(op->endpoint));
	if (op->endpoint[0] == '\0')
		strlcpy(op->endpoint, op->url.norm, sizeof(op->endpoint));
	if (op->name[0] == '\0' && (s = jstr(r->body, "display_name")) !=
	    NULL) {
		strlcpy(op->name, s, sizeof(op->name));
		text_clean(op->name);
	}
	op->kr = key_ask(IMSG_KEY_SIGN_CONFIRM, NULL, op->their_nonce,
	    add_signed, op);
}

static void
add_signed(void *arg, int ok, const struct key_sign_resp *resp,
    const char *doc, size_t len)
{
	struct op	*op = arg;
	char		*body;
	size_t		 blen;

	op->kr = NULL;
	if (!ok) {
		add_failed(op, "keyd refused to sign the confirm: %s",
		    resp->error);
		return;
	}
	body = json_body(json_pack("{s:s,s:s}", "relay_id", ident.relay_id,
	    "challenge_response", resp->signature), &blen);
	op->http = hc_post(&op->url, "/federation/v1/peer/confirm", body,
	    blen, HTTP_TIMEOUT_MS, add_confirmed, op);
	free(body);
}

/* The row for a handshake we initiated, confirmed by the responder. */
static struct peer *
add_row(struct op *op, int64_t now)
{
	struct peer	*p;

	if ((p = peer_find(op->id)) == NULL)
		p = peer_new(op->id);
	else if (p->op != NULL && p->op != op)
		op_finish(p->op, 0, "interrupted by peer add");
	strlcpy(p->r.e.public_key, op->pubkey, sizeof(p->r.e.public_key));
	strlcpy(p->r.e.endpoint, op->endpoint, sizeof(p->r.e.endpoint));
	strlcpy(p->r.e.display_name, op->name, sizeof(p->r.e.display_name));
	p->r.e.flags = PEER_F_CONFIRMED;
	p->r.e.extensions = op->ext;
	p->r.ext_known = 1;
	p->r.e.missed = 0;
	p->r.e.rtt_ms = 0;
	p->r.e.agent_count = 0;
	p->r.e.peered_at = 0;
	p->r.e.last_heartbeat = 0;
	p->r.nonce[0] = '\0';
	p->r.created = now;
	p->r.cooldown_until = 0;
	free(p->prev);
	p->prev = NULL;
	p->op = op;
	op->p = p;
	return (p);
}

static void
add_confirmed(const struct hc_reply *r, void *arg)
{
	struct op	*op = arg;
	struct peer	*p;
	char		 why[200];
	int64_t		 now = now_ms();

	op->http = NULL;
	if (r->status == 200) {
		p = add_row(op, now);
		peer_state(p, PEER_PENDING, now, "handshake with %s confirmed; "
		    "checking its endpoint", op->url.norm);
		peer_changed(p);
		op_activate(op, add_activated);
		return;
	}
	if (r->status == 202) {
		p = add_row(op, now);
		p->r.e.flags |= PEER_F_AWAIT_THEM;
		peer_state(p, PEER_PENDING, now, "handshake confirmed; "
		    "awaiting approval by its operator");
		peer_changed(p);
		metrics_handshake(METRICS_HS_OUTBOUND, METRICS_HS_PENDING);
		op_finish(op, 1, "pending approval on the other side");
		return;
	}
	if (r->status == 0) {
		add_failed(op, "confirm: %s", r->error);
		return;
	}
	reply_why(r, why, sizeof(why));
	add_refused(op, "refused: %s", why + 5);
}

static void
add_activated(struct op *op, int ok, const char *why)
{
	struct peer	*p = op_row(op);
	int64_t		 now = now_ms();

	if (p == NULL || p->r.e.state != PEER_PENDING) {
		add_failed(op, "the row changed during the handshake%s"
		    "%s", p != NULL ? ": " : "", p != NULL ? p->r.reason : "");
		return;
	}
	if (!ok) {
		peer_state(p, PEER_REMOVED, now, "heartbeat round trip to %s "
		    "failed: %s", op->endpoint, why);
		peer_changed(p);
		metrics_handshake(METRICS_HS_OUTBOUND, METRICS_HS_FAILED);
		snprintf(op->note, sizeof(op->note), "the handshake verified "
		    "but the heartbeat round trip to %.80s failed: %.90s",
		    op->endpoint, why);
		op_notify(op, add_unwound);
		return;
	}
	p->r.e.peered_at = now;
	p->r.e.last_heartbeat = now;
	p->r.e.rtt_ms = op->rtt;
	if (op->agents >= 0)
		p->r.e.agent_count = op->agents;
	p->r.e.missed = 0;
	p->hb_saved = now;
	peer_state(p, PEER_ACTIVE, now, "handshake and heartbeat round trip "
	    "verified (rtt %u ms)", op->rtt);
	peer_changed(p);
	metrics_handshake(METRICS_HS_OUTBOUND, METRICS_HS_ACTIVE);
	op_metadata(op, add_learned);
}

static void
add_learned(struct op *op, int ok, const char *why)
{
	op_finish(op, 1, "active");
}

static void
add_unwound(struct op *op, int ok, const char *why)
{
	op_finish(op, 0, "%s; peer removed", op->note);
}

/*
 * relayctl peer accept ID: active here at once (the handshake verified
 * when they confirmed), then the signed peer-accepted notice, which
 * makes them check our endpoint and go active, then our own check of
 * theirs.
 */
static void	 accept_saved(void *, int, const char *);
static void	 accept_learned(struct op *, int, const char *);
static void	 accept_signed(void *, int, const struct key_sign_resp *,
		    const char *, size_t);
static void	 accept_notified(const struct hc_reply *, void *);
static void	 accept_activated(struct op *, int, const char *);

static int
accept_start(struct ctl_conn *c, struct peer *p, char *err, size_t len)
{
	struct op	*op;
	int64_t		 now = now_ms();

	if (p->r.e.state != PEER_PENDING || !(p->r.e.flags & PEER_F_AWAIT_US)) {
		snprintf(err, len, "%s has no proposal awaiting approval "
		    "(state %s)", p->r.e.relay_id,
		    peer_state_name(p->r.e.state));
		return (-1);
	}
	if (op_busy(p)) {
		snprintf(err, len, "an operation on %s is in progress",
		    p->r.e.relay_id);
		return (-1);
	}
	/* requests awaiting us do not hold a slot of `max peers' */
	if (count_peers() >= cfg.fed_max_peers) {
		snprintf(err, len, "peer limit reached (max peers %u); remove "
		    "a peer first", cfg.fed_max_peers);
		return (-1);
	}
	op = op_new(OP_ACCEPT, p, c->id, OP_DEADLINE_MS);
	c->waiting = 1;
	op->snap = p->r;
	p->r.e.flags &= ~PEER_F_AWAIT_US;
	p->r.e.peered_at = now;
	p->r.e.last_heartbeat = now;
	p->r.e.missed = 0;
	peer_state(p, PEER_ACTIVE, now, "accepted by the operator");
	p->gen++;
	peer_publish(p);
	peer_save(p, accept_saved, op);
	return (0);
}

static void
accept_saved(void *arg, int ok, const char *err)
{
	struct op	*op = arg;
	struct peer	*p = op->p;

	if (!ok) {
		p->r = op->snap;
		peer_publish(p);
		op_finish(op, 0, "not stored (%s); nothing changed", err);
		return;
	}
	metrics_handshake(METRICS_HS_INBOUND, METRICS_HS_ACTIVE);
	if (!p->r.ext_known)
		op_learn(op, accept_learned);
	else
		accept_learned(op, 1, NULL);
}

static void
accept_learned(struct op *op, int ok, const char *why)
{
	if (!(op->ext & PEER_EXT_PEER_ACCEPTED)) {
		snprintf(op->note, sizeof(op->note), "%s does not speak "
		    "peer-accepted; ", op->id);
		op_activate(op, accept_activated);
		return;
	}
	if (peer_url_parse(op->endpoint, &op->url, op->note,
	    sizeof(op->note)) == -1) {
		op_finish(op, 1, "active here; cannot notify %s: %s", op->id,
		    op->note);
		return;
	}
	op->kr = key_ask(IMSG_KEY_SIGN_ACCEPTED, op->id, NULL, accept_signed,
	    op);
}

static void
accept_signed(void *arg, int ok, const struct key_sign_resp *resp,
    const char *doc, size_t len)
{
	struct op	*op = arg;

	op->kr = NULL;
	if (!ok || len == 0) {
		op_finish(op, 1, "active here; keyd refused to sign the "
		    "peer-accepted notice: %s", resp->error);
		return;
	}
	op->http = hc_post(&op->url, "/federation/v1/peer/accepted", doc, len,
	    HTTP_TIMEOUT_MS, accept_notified, op);
}

static void
accept_notified(const struct hc_reply *r, void *arg)
{
	struct op	*op = arg;
	char		 why[200];

	op->http = NULL;
	if (r->status != 200) {
		reply_why(r, why, sizeof(why));
		op_finish(op, 1, "active here; notifying %s failed: %s "
		    "(missed heartbeats will remove it if it never becomes "
		    "active)", op->id, why);
		return;
	}
	op_activate(op, accept_activated);
}

static void
accept_activated(struct op *op, int ok, const char *why)
{
	struct peer	*p = op_row(op);
	int64_t		 now = now_ms();

	if (p == NULL || p->r.e.state != PEER_ACTIVE) {
		op_finish(op, 0, "%s changed meanwhile: %s", op->id,
		    p != NULL ? p->r.reason : "gone");
		return;
	}
	if (!ok) {
		op_finish(op, 1, "active here; %sthe heartbeat round trip "
		    "failed: %s (heartbeats go on)", op->note, why);
		return;
	}
	p->r.e.rtt_ms = op->rtt;
	p->r.e.last_heartbeat = now;
	if (op->agents >= 0)
		p->r.e.agent_count = op->agents;
	p->hb_saved = now;
	peer_changed(p);
	op_metadata(op, add_learned);
}

/*
 * The cool-down after a removal applies to peers that were peered (the
 * reference measures it from the last heartbeat, so a proposal declined
 * before it was ever active has none; a peer removed by missed
 * heartbeats has none either).
 */
int
was_peered(const struct peer *p)
{
	return (p->r.e.peered_at != 0 || p->r.e.last_heartbeat != 0);
}

/*
 * relayctl peer decline / remove / block ID: removed here, stored, then
 * the removal notice (the peer's extensions are learned first if we do
 * not know them).
 */
static void	 rm_saved(void *, int, const char *);
static void	 rm_learned(struct op *, int, const char *);
static void	 rm_notified(struct op *, int, const char *);

static const char *
rm_done_word(enum op_kind k)
{
	return (k == OP_DECLINE ? "declined" : k == OP_BLOCK ? "blocked" :
	    "removed");
}

static int
rm_start(struct ctl_conn *c, struct peer *p, enum op_kind kind, char *err,
    size_t len)
{
	struct op	*op;
	int64_t		 now = now_ms();
	int		 was = p->r.e.state;

	switch (kind) {
	case OP_DECLINE:
		if (p->r.e.state != PEER_PENDING ||
		    !(p->r.e.flags & PEER_F_AWAIT_US)) {
			snprintf(err, len, "%s has no proposal awaiting "
			    "approval (state %s)", p->r.e.relay_id,
			    peer_state_name(p->r.e.state));
			return (-1);
		}
		break;
	case OP_REMOVE:
		if (p->r.e.state == PEER_REMOVED) {
			snprintf(err, len, "%s is already removed",
			    p->r.e.relay_id);
			return (-1);
		}
		break;
	case OP_BLOCK:
		if (p->r.e.flags & PEER_F_BLOCKED) {
			snprintf(err, len, "%s is already blocked",
			    p->r.e.relay_id);
			return (-1);
		}
		break;
	default:
		fatalx("%s: kind %d", __func__, kind);
	}
	if (peer_unconfirmed(&p->r.e)) {
		snprintf(err, len, "the handshake with %s is not confirmed "
		    "yet; it is dropped by itself within %d seconds",
		    p->r.e.relay_id, PEER_HANDSHAKE_MS / 1000);
		return (-1);
	}
	if (op_busy(p)) {
		snprintf(err, len, "an operation on %s is in progress",
		    p->r.e.relay_id);
		return (-1);
	}
	op = op_new(kind, p, c->id, OP_DEADLINE_MS);
	c->waiting = 1;
	op->snap = p->r;
	op->notify = was != PEER_REMOVED;
	p->r.e.flags &= ~(PEER_F_AWAIT_US | PEER_F_AWAIT_THEM);
	if (kind == OP_BLOCK)
		p->r.e.flags |= PEER_F_BLOCKED;
	if (was_peered(p))
		p->r.cooldown_until = now + PEER_COOLDOWN_MS;
	p->r.nonce[0] = '\0';
	if (kind == OP_BLOCK && was == PEER_REMOVED) {
		/* keeps its state, reason and time; only the flag */
		log_info("peer %s: blocked by the operator", p->r.e.relay_id);
		strlcpy(p->r.reason, "blocked by the operator",
		    sizeof(p->r.reason));
	} else
		peer_state(p, PEER_REMOVED, now, "%s by the operator",
		    rm_done_word(kind));
	p->gen++;
	peer_publish(p);
	peer_save(p, rm_saved, op);
	return (0);
}

static void
rm_saved(void *arg, int ok, const char *err)
{
	struct op	*op = arg;
	struct peer	*p = op->p;

	if (!ok) {
		p->r = op->snap;
		peer_publish(p);
		op_finish(op, 0, "not stored (%s); nothing changed", err);
		return;
	}
	if (op->kind == OP_DECLINE)
		metrics_handshake(METRICS_HS_INBOUND, METRICS_HS_REFUSED);
	if (!op->notify) {
		op_finish(op, 1, "%s", rm_done_word(op->kind));
		return;
	}
	if (!p->r.ext_known)
		op_learn(op, rm_learned);
	else
		op_notify(op, rm_notified);
}

static void
rm_learned(struct op *op, int ok, const char *why)
{
	op_notify(op, rm_notified);
}

static void
rm_notified(struct op *op, int ok, const char *why)
{
	if (ok)
		op_finish(op, 1, "%s; %s notified (%s, %s)",
		    rm_done_word(op->kind), op->id, op->v2 ? "remove-v2" :
		    "legacy removal", why);
	else
		op_finish(op, 1, "%s here; notifying %s failed: %s",
		    rm_done_word(op->kind), op->id, why);
}

/*
 * relayctl
 */
int
peering_ctl(struct ctl_conn *c, struct imsg *imsg)
{
	struct ctl_peer_req	 req;
	struct peer		*p;
	uint32_t		 type = imsg_get_type(imsg);
	char			 err[256];
	int			 rc;

	switch (type) {
	case IMSG_CTL_SHOW_PEERS:
	case IMSG_CTL_SHOW_REQUESTS:
		if (imsg_get_len(imsg) != 0)
			return (-1);
		if (!loaded) {
			control_end(c, 0, "the peer table is not loaded yet");
			return (0);
		}
		RB_FOREACH(p, peer_tree, &peers) {
			if (type == IMSG_CTL_SHOW_REQUESTS &&
			    (p->r.e.state != PEER_PENDING ||
			    !(p->r.e.flags & PEER_F_AWAIT_US)))
				continue;
			ctl_send_peer(c, p);
		}
		control_end(c, 1, NULL);
		return (0);
	case IMSG_CTL_SHOW_PEER:
	case IMSG_CTL_PEER_ADD:
	case IMSG_CTL_PEER_ACCEPT:
	case IMSG_CTL_PEER_DECLINE:
	case IMSG_CTL_PEER_REMOVE:
	case IMSG_CTL_PEER_BLOCK:
		break;
	default:
		return (1);
	}

	if (imsg_get_data(imsg, &req, sizeof(req)) == -1)
		return (-1);
	req.relay_id[sizeof(req.relay_id) - 1] = '\0';
	req.url[sizeof(req.url) - 1] = '\0';
	if (type == IMSG_CTL_PEER_ADD) {
		log_info("control: peer add %s requested by uid %d pid %d",
		    req.url, (int)c->uid, (int)c->pid);
		if (add_start(c, req.url, err, sizeof(err)) == -1)
			control_end(c, 0, err);
		return (0);
	}
	if (!loaded) {
		control_end(c, 0, "the peer table is not loaded yet");
		return (0);
	}
	if ((p = peer_find(req.relay_id)) == NULL) {
		snprintf(err, sizeof(err), "no peer %s", req.relay_id);
		control_end(c, 0, err);
		return (0);
	}
	if (type == IMSG_CTL_SHOW_PEER) {
		ctl_send_peer(c, p);
		control_end(c, 1, NULL);
		return (0);
	}
	log_info("control: %s %s requested by uid %d pid %d",
	    type == IMSG_CTL_PEER_ACCEPT ? "peer accept" :
	    type == IMSG_CTL_PEER_DECLINE ? "peer decline" :
	    type == IMSG_CTL_PEER_REMOVE ? "peer remove" : "peer block",
	    req.relay_id, (int)c->uid, (int)c->pid);
	if (!db_ready(err, sizeof(err))) {
		control_end(c, 0, err);
		return (0);
	}
	switch (type) {
	case IMSG_CTL_PEER_ACCEPT:
		rc = accept_start(c, p, err, sizeof(err));
		break;
	case IMSG_CTL_PEER_DECLINE:
		rc = rm_start(c, p, OP_DECLINE, err, sizeof(err));
		break;
	case IMSG_CTL_PEER_REMOVE:
		rc = rm_start(c, p, OP_REMOVE, err, sizeof(err));
		break;
	default:
		rc = rm_start(c, p, OP_BLOCK, err, sizeof(err));
		break;
	}
	if (rc == -1)
		control_end(c, 0, err);
	return (0);
}

void
peering_ctl_closed(struct ctl_conn *c)
{
	struct op	*op;

	TAILQ_FOREACH(op, &ops, entry)
		if (op->ctl == c->id)
			op->ctl = 0;
}
