/*
 * peer_inbound.c: see peering_int.h.
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
#include "fedauth.h"
#include "http_client.h"
#include "jcs.h"
#include "log.h"
#include "metrics.h"
#include "peering.h"
#include "peering_int.h"
#include "proc.h"
#include "relayd.h"

/*
 * Inbound requests, handed over by the frontends after parsing,
 * validation and (except propose and confirm) authentication.
 */
struct fe_wait {
	int		 inst;
	uint32_t	 reqid;
	char		 id[RELAY_ID_MAX];
	struct prow	 snap;
	int		 code;		/* status when stored */
};

static struct fe_wait *
fe_wait_new(int inst, uint32_t reqid, struct peer *p, int code)
{
	struct fe_wait	*w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		fatal("%s", __func__);
	w->inst = inst;
	w->reqid = reqid;
	strlcpy(w->id, p->r.e.relay_id, sizeof(w->id));
	w->snap = p->r;
	w->code = code;
	return (w);
}

/*
 * The relay id other than `id' whose pinned key is `key', or NULL.  An
 * unconfirmed handshake pins nothing: anyone can propose with another
 * relay's public key, and that must not lock the owner out.
 */
static const char *
key_owner(const char *key, const char *id)
{
	struct peer	*q;

	RB_FOREACH(q, peer_tree, &peers)
		if (q->r.e.state != PEER_REMOVED &&
		    !peer_unconfirmed(&q->r.e) &&
		    strcmp(q->r.e.relay_id, id) != 0 &&
		    strcmp(q->r.e.public_key, key) == 0)
			return (q->r.e.relay_id);
	return (NULL);
}

/* Unconfirmed inbound handshakes from a source prefix. */
static uint32_t
count_handshakes_from(const char *src)
{
	struct peer	*p;
	uint32_t	 n = 0;

	RB_FOREACH(p, peer_tree, &peers)
		if (peer_unconfirmed(&p->r.e) && strcmp(p->src, src) == 0)
			n++;
	return (n);
}

/* The oldest unconfirmed inbound handshake other than keep, or NULL. */
static struct peer *
oldest_handshake(struct peer *keep)
{
	struct peer	*p, *old = NULL;

	RB_FOREACH(p, peer_tree, &peers)
		if (p != keep && peer_unconfirmed(&p->r.e) && p->op == NULL &&
		    (old == NULL || p->r.created < old->r.created))
			old = p;
	return (old);
}

/*
 * Room for one more request awaiting the operator: the oldest request
 * from the same source prefix gives way when that prefix has
 * PEER_PENDING_SRC, else the oldest of all when there are `max pending'.
 */
static void
pending_make_room(struct peer *keep)
{
	struct peer	*p, *old_src = NULL, *old_all = NULL;
	uint32_t	 nsrc = 0, nall = 0;

	RB_FOREACH(p, peer_tree, &peers) {
		if (p == keep || !peer_awaiting_us(&p->r.e))
			continue;
		nall++;
		if (p->op != NULL)
			continue;
		if (old_all == NULL || p->r.created < old_all->r.created)
			old_all = p;
		if (keep->src[0] != '\0' && strcmp(p->src, keep->src) == 0) {
			nsrc++;
			if (old_src == NULL ||
			    p->r.created < old_src->r.created)
				old_src = p;
		}
	}
	if (old_src != NULL && nsrc >= PEER_PENDING_SRC)
		peer_forget(old_src, "gave way to a newer request from the "
		    "same source");
	else if (old_all != NULL && nall >= cfg.fed_max_pending)
		peer_forget(old_all, "gave way to a newer request (max "
		    "pending)");
}

void
fed_propose(int inst, struct fed_propose *fp)
{
	struct propose_env	 env;
	struct propose_old	 old;
	struct key_handshake	 hs;
	struct imsgev		*kiev;
	struct fed_result	 res;
	struct peer_url		 eu;
	struct peer		*p, *victim = NULL;
	char			 err[128], src[64];
	int64_t			 now = now_ms();
	uint32_t		 nhs;
	int			 status, af;

	hdr_terminate(&fp->hdr);
	fp->relay_id[sizeof(fp->relay_id) - 1] = '\0';
	fp->public_key[sizeof(fp->public_key) - 1] = '\0';
	fp->endpoint[sizeof(fp->endpoint) - 1] = '\0';
	fp->display_name[sizeof(fp->display_name) - 1] = '\0';
	fp->nonce[sizeof(fp->nonce) - 1] = '\0';
	fp->spec_version[sizeof(fp->spec_version) - 1] = '\0';

	if (!loaded || !have_ident) {
		fed_error(inst, fp->hdr.reqid, 503, "peer table not loaded "
		    "yet");
		return;
	}
	/* unauthenticated: the relay-wide budget, never the named relay's */
	if (hs_gate(inst, &fp->hdr, now))
		return;
	if (!relay_id_valid(fp->relay_id)) {
		fed_error(inst, fp->hdr.reqid, 400, "invalid relay_id");
		return;
	}
	if (!hex64_lower(fp->public_key)) {
		fed_error(inst, fp->hdr.reqid, 400, "public_key must be 64 "
		    "lowercase hex digits");
		return;
	}
	if (!nonce_valid(fp->nonce)) {
		fed_error(inst, fp->hdr.reqid, 400, "invalid nonce");
		return;
	}
	if (peer_url_parse(fp->endpoint, &eu, err, sizeof(err)) == -1) {
		fed_error(inst, fp->hdr.reqid, 400, "endpoint_url: %s", err);
		return;
	}
	if (ep_check_url(&cfg.fed_ep, &eu, err, sizeof(err)) == -1) {
		metrics_auth_failure(AUTH_FAIL_POLICY);
		log_info("peer %s: propose from %s refused: %s", fp->relay_id,
		    fp->hdr.remote_addr, err);
		fed_error(inst, fp->hdr.reqid, 403, "endpoint_url: %s", err);
		return;
	}
	fedauth_prefix(fp->hdr.remote_addr, src, sizeof(src));

	p = peer_find(fp->relay_id);
	/*
	 * A full handshake table: the oldest unconfirmed handshake gives way
	 * to this one, if this one passes every other check.
	 */
	nhs = count_handshakes();
	if ((p == NULL || !peer_unconfirmed(&p->r.e)) &&
	    nhs >= PEER_HANDSHAKES_MAX && (victim = oldest_handshake(p)) != NULL)
		nhs--;
	memset(&env, 0, sizeof(env));
	env.own_id = ident.relay_id;
	env.own_key = ident.public_key;
	env.key_owner = key_owner(fp->public_key, fp->relay_id);
	env.enabled = cfg.fed_enable;
	env.rules = &rules;
	env.max_peers = cfg.fed_max_peers;
	env.npeers = count_peers();
	env.nhandshakes = nhs;
	env.nsrc_handshakes = count_handshakes_from(src);
	old.e = p != NULL ? &p->r.e : NULL;
	old.cooldown_until = p != NULL ? p->r.cooldown_until : 0;
	memset(&res, 0, sizeof(res));
	if ((status = propose_check(&env, fp, &old, now, &res, &af)) != 0) {
		if (af == PROPOSE_LIMITED)
			metrics_handshake_limited();
		else if (af >= 0)
			metrics_auth_failure(af);
		if (status != 429 && status != 503)
			metrics_handshake(METRICS_HS_INBOUND,
			    METRICS_HS_REFUSED);
		log_info("peer %s: propose from %s refused (%d): %s",
		    fp->relay_id, fp->hdr.remote_addr, status, res.error);
		fed_answer(inst, fp->hdr.reqid, status, res.error,
		    res.retry_after, NULL, 0, NULL);
		return;
	}
	if (p != NULL && p->op != NULL && p->op->kind != OP_LEARN) {
		fed_error(inst, fp->hdr.reqid, 409, "an operation on relay %s "
		    "is in progress here", fp->relay_id);
		return;
	}
	if (op_find_id(fp->relay_id) != NULL && p == NULL) {
		/* we are proposing to them right now */
		fed_error(inst, fp->hdr.reqid, 409, "a handshake with relay "
		    "%s is in progress here", fp->relay_id);
		return;
	}
	if (victim != NULL)
		peer_drop_handshake(victim, "gave way to a newer handshake (the "
		    "table of unconfirmed handshakes is full)");
	if (p != NULL) {
		if (p->op != NULL)
			op_finish(p->op, 0, "interrupted by a new propose");
		if ((p->prev = malloc(sizeof(*p->prev))) == NULL)
			fatal("%s", __func__);
		*p->prev = p->r;
		p->prev_stored = p->stored;
	} else
		p = peer_new(fp->relay_id);
	strlcpy(p->r.e.public_key, fp->public_key, sizeof(p->r.e.public_key));
	strlcpy(p->r.e.endpoint, eu.norm, sizeof(p->r.e.endpoint));
	strlcpy(p->r.e.display_name, fp->display_name,
	    sizeof(p->r.e.display_name));
	text_clean(p->r.e.display_name);
	p->known_before = p->prev != NULL;
	strlcpy(p->src, src, sizeof(p->src));
	p->r.e.flags = PEER_F_INBOUND;
	p->r.e.extensions = 0;
	p->r.ext_known = 0;
	p->r.e.missed = 0;
	p->r.e.rtt_ms = 0;
	p->r.e.fee_ppm = 0;
	p->r.e.agent_count = 0;
	p->r.e.peered_at = 0;
	p->r.e.last_heartbeat = 0;
	p->r.cooldown_until = 0;
	p->r.created = now;
	nonce_new(p->r.nonce);
	peer_state(p, PEER_PENDING, now, "proposed from %s (%s)",
	    fp->hdr.remote_addr, eu.norm);
	p->gen++;
	peer_publish(p);
	/*
	 * keyd signs the frontend's challenge only for a proposal announced
	 * here, and only once; the announcement is written to keyd before
	 * the frontend hears the answer.
	 */
	memset(&hs, 0, sizeof(hs));
	strlcpy(hs.relay_id, fp->relay_id, sizeof(hs.relay_id));
	strlcpy(hs.nonce, fp->nonce, sizeof(hs.nonce));
	if (proc_compose(pp, PROC_KEYD, 0, IMSG_KEY_HANDSHAKE, 0, -1, &hs,
	    sizeof(hs)) == -1 || (kiev = proc_iev(pp, PROC_KEYD, 0)) == NULL ||
	    imsgbuf_flush(&kiev->ibuf) == -1)
		fatal("%s: no channel to keyd", __func__);
	fed_answer(inst, fp->hdr.reqid, 200, NULL, 0, p->r.nonce, 0,
	    "pending");
}

static void	 confirm_saved(void *, int, const char *);

void
fed_confirm(int inst, struct fed_confirm *fc)
{
	struct peer	*p;
	struct fe_wait	*w;
	char		 msg[RELAY_ID_MAX + NONCE_MAX + 64];
	int64_t		 now = now_ms();
	int		 allowed;

	hdr_terminate(&fc->hdr);
	fc->relay_id[sizeof(fc->relay_id) - 1] = '\0';
	fc->challenge_response[sizeof(fc->challenge_response) - 1] = '\0';
	if (fed_gate(inst, &fc->hdr, fc->relay_id, now))
		return;
	if ((p = peer_find(fc->relay_id)) == NULL ||
	    !peer_unconfirmed(&p->r.e) || p->r.nonce[0] == '\0') {
		fed_error(inst, fc->hdr.reqid, 404, "No pending peering for "
		    "relay %s", fc->relay_id);
		return;
	}
	if (!sighex_valid(fc->challenge_response) ||
	    msg_handshake(msg, sizeof(msg), fc->relay_id, p->r.nonce) == -1 ||
	    ed25519_verify_hex(p->r.e.public_key, (const uint8_t *)msg,
	    strlen(msg), fc->challenge_response) == -1) {
		metrics_auth_failure(AUTH_FAIL_CHALLENGE);
		metrics_handshake(METRICS_HS_INBOUND, METRICS_HS_FAILED);
		peer_drop_handshake(p, "the confirm signature does not verify");
		fed_error(inst, fc->hdr.reqid, 403, "Challenge response "
		    "verification failed");
		return;
	}
	allowed = fedrules_lookup(&rules, fc->relay_id) == FEDRULE_ALLOW;
	w = fe_wait_new(inst, fc->hdr.reqid, p, 200);
	p->r.nonce[0] = '\0';
	p->r.e.flags |= PEER_F_CONFIRMED;
	if (cfg.fed_accept_auto || allowed) {
		p->r.e.peered_at = now;
		p->r.e.last_heartbeat = now;
		peer_state(p, PEER_ACTIVE, now, "handshake confirmed; "
		    "accepted automatically (%s)", allowed ? "allow list" :
		    "accept auto");
	} else {
		pending_make_room(p);
		p->r.e.flags |= PEER_F_AWAIT_US;
		w->code = 202;
		peer_state(p, PEER_PENDING, now, "handshake confirmed; "
		    "awaiting the operator (relayctl peer accept)");
	}
	p->gen++;
	peer_publish(p);
	peer_save(p, confirm_saved, w);
}

static void
confirm_saved(void *arg, int ok, const char *err)
{
	struct fe_wait	*w = arg;
	struct peer	*p;

	p = peer_find(w->id);
	if (!ok) {
		if (p != NULL) {
			p->r = w->snap;
			peer_publish(p);
		}
		fed_error(w->inst, w->reqid, 503, "not stored (%s); confirm "
		    "again", err);
		free(w);
		return;
	}
	if (p != NULL) {
		free(p->prev);
		p->prev = NULL;
	}
	metrics_handshake(METRICS_HS_INBOUND, w->code == 200 ?
	    METRICS_HS_ACTIVE : METRICS_HS_PENDING);
	fed_answer(w->inst, w->reqid, w->code, NULL, 0, NULL,
	    p != NULL ? p->r.e.peered_at : 0, w->code == 200 ? "active" :
	    "pending");
	/* nothing is fetched for a request until the operator accepts it */
	if (p != NULL && w->code == 200)
		peer_learn(p);
	free(w);
}

/* A heartbeat changed the row: publish, store now and then. */
void
peer_hb_store(struct peer *p, int changed, int64_t now)
{
	if (changed || now - p->hb_saved >= HB_SAVE_MS) {
		p->hb_saved = now;
		peer_changed(p);
	} else {
		p->gen++;
		peer_publish(p);
	}
}

void
fed_heartbeat(int inst, struct fed_heartbeat *fh)
{
	struct peer	*p;
	int64_t		 now = now_ms();
	int		 old, changed;

	hdr_terminate(&fh->hdr);
	if (fed_gate(inst, &fh->hdr, fh->hdr.signer, now))
		return;
	if ((p = peer_find(fh->hdr.signer)) == NULL ||
	    (p->r.e.state != PEER_ACTIVE && p->r.e.state != PEER_SUSPENDED)) {
		fed_error(inst, fh->hdr.reqid, 404, "Peer not found or not "
		    "active");
		return;
	}
	metrics_heartbeat(METRICS_HB_RECEIVED);
	old = p->r.e.state;
	changed = peer_hb_inbound(&p->r.e, now, fh->agent_count,
	    p->r.reason, sizeof(p->r.reason));
	p->hb_limited = 0;
	if (changed)
		peer_state_logged(p, old);
	peer_hb_store(p, changed, now);
	fed_answer(inst, fh->hdr.reqid, 200, NULL, 0, NULL, 0,
	    peer_state_name(p->r.e.state));
}

static void	 remove_saved(void *, int, const char *);

void
fed_remove(int inst, struct fed_signed *fs)
{
	struct peer	*p;
	struct fe_wait	*w;
	int64_t		 now = now_ms();
	int		 declined;

	hdr_terminate(&fs->hdr);
	if (fed_gate(inst, &fs->hdr, fs->hdr.signer, now))
		return;
	if ((p = peer_find(fs->hdr.signer)) == NULL) {
		fed_error(inst, fs->hdr.reqid, 404, "Peer not found");
		return;
	}
	if (fs->style == FED_REMOVE_LEGACY && p->r.ext_known &&
	    (p->r.e.extensions & PEER_EXT_REMOVE_V2)) {
		metrics_auth_failure(AUTH_FAIL_POLICY);
		fed_error(inst, fs->hdr.reqid, 403, "relay %s speaks "
		    "remove-v2; a bare-id removal is not accepted from it",
		    fs->hdr.signer);
		return;
	}
	if (p->r.e.state == PEER_REMOVED) {
		fed_answer(inst, fs->hdr.reqid, 200, NULL, 0, NULL, 0,
		    "removed");
		return;
	}
	if (peer_unconfirmed(&p->r.e)) {
		peer_drop_handshake(p, "withdrawn by the proposer");
		fed_answer(inst, fs->hdr.reqid, 200, NULL, 0, NULL, 0,
		    "removed");
		return;
	}
	w = fe_wait_new(inst, fs->hdr.reqid, p, 200);
	declined = p->r.e.state == PEER_PENDING &&
	    (p->r.e.flags & PEER_F_AWAIT_THEM);
	p->r.e.flags &= ~(PEER_F_AWAIT_US | PEER_F_AWAIT_THEM);
	if (was_peered(p))
		p->r.cooldown_until = now + PEER_COOLDOWN_MS;
	peer_state(p, PEER_REMOVED, now, "%s (%s)", declined ?
	    "declined by the peer" : "removed by the peer",
	    fs->style == FED_REMOVE_V2 ? "remove-v2" : "legacy removal");
	p->gen++;
	peer_publish(p);
	peer_save(p, remove_saved, w);
}

static void
remove_saved(void *arg, int ok, const char *err)
{
	struct fe_wait	*w = arg;
	struct peer	*p;

	if (!ok) {
		if ((p = peer_find(w->id)) != NULL) {
			p->r = w->snap;
			peer_publish(p);
		}
		fed_error(w->inst, w->reqid, 503, "not stored (%s); remove "
		    "again", err);
	} else
		fed_answer(w->inst, w->reqid, 200, NULL, 0, NULL, 0,
		    "removed");
	free(w);
}

/*
 * The peer-accepted extension: a relay we proposed to, whose operator
 * kept us pending, accepted us.  We check its endpoint with a heartbeat
 * round trip before going active, and answer once that is done (the
 * notifier waits up to 10 seconds).
 */
static void	 accin_activated(struct op *, int, const char *);
static void	 accin_saved(void *, int, const char *);

void
fed_accepted(int inst, struct fed_signed *fs)
{
	struct peer	*p;
	struct op	*op;
	int64_t		 now = now_ms();

	hdr_terminate(&fs->hdr);
	if (fed_gate(inst, &fs->hdr, fs->hdr.signer, now))
		return;
	if ((p = peer_find(fs->hdr.signer)) == NULL) {
		fed_error(inst, fs->hdr.reqid, 404, "Peer not found");
		return;
	}
	if (p->r.e.state == PEER_ACTIVE) {
		/* relayd.8: nothing awaits its approval any more */
		fed_error(inst, fs->hdr.reqid, 409, "relay %s is already an "
		    "active peer here", fs->hdr.signer);
		return;
	}
	if (p->r.e.state != PEER_PENDING ||
	    !(p->r.e.flags & PEER_F_AWAIT_THEM)) {
		fed_error(inst, fs->hdr.reqid, 409, "no proposal of ours "
		    "awaits your approval");
		return;
	}
	if (op_busy(p)) {
		fed_error(inst, fs->hdr.reqid, 409, "an operation on relay %s "
		    "is in progress here", fs->hdr.signer);
		return;
	}
	op = op_new(OP_ACCEPTED_IN, p, 0, OP_INBOUND_MS);
	op->fe = 1;
	op->fe_inst = inst;
	op->fe_reqid = fs->hdr.reqid;
	log_info("peer %s: accepted by its operator; checking its endpoint",
	    p->r.e.relay_id);
	op_activate(op, accin_activated);
}

static void
accin_activated(struct op *op, int ok, const char *why)
{
	struct peer	*p = op_row(op);
	int64_t		 now = now_ms();

	if (p == NULL || p->r.e.state != PEER_PENDING ||
	    !(p->r.e.flags & PEER_F_AWAIT_THEM)) {
		op->fe_status = 409;
		op_finish(op, 0, "the peer changed meanwhile");
		return;
	}
	if (!ok) {
		op->fe_status = 502;
		op_finish(op, 0, "heartbeat round trip to %s failed: %s",
		    op->endpoint, why);
		return;
	}
	op->snap = p->r;
	p->r.e.flags &= ~PEER_F_AWAIT_THEM;
	p->r.e.peered_at = now;
	p->r.e.last_heartbeat = now;
	p->r.e.rtt_ms = op->rtt;
	if (op->agents >= 0)
		p->r.e.agent_count = op->agents;
	p->r.e.missed = 0;
	p->hb_saved = now;
	peer_state(p, PEER_ACTIVE, now, "accepted by its operator; heartbeat "
	    "round trip verified (rtt %u ms)", op->rtt);
	p->gen++;
	peer_publish(p);
	peer_save(p, accin_saved, op);
}

static void
accin_saved(void *arg, int ok, const char *err)
{
	struct op	*op = arg;
	struct peer	*p = op->p;

	if (!ok) {
		p->r = op->snap;
		peer_publish(p);
		op->fe_status = 503;
		op_finish(op, 0, "not stored (%s)", err);
		return;
	}
	metrics_handshake(METRICS_HS_OUTBOUND, METRICS_HS_ACTIVE);
	op_finish(op, 1, "active");
	peer_learn(p);
}
