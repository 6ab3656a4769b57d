/*
 * Peering in the peer engine: see peering.h, and relayd(8) for the
 * operator's view.
 *
 * The peer table lives here, in an RB tree by relay id; ledgerd stores
 * it (ledgerd/peers.c) and every frontend keeps a read-only copy fed
 * with IMSG_PEER_UPSERT / IMSG_PEER_DELETE, which routed gets too.
 *
 * Work that waits on the network or on keyd is an `op': a chain of
 * steps, each started by the answer to the previous one:
 *
 *	OP_ADD		relayctl peer add URL: identity, propose (check the
 *			challenge), confirm (keyd signs), then activation
 *	OP_ACCEPT	relayctl peer accept: active here, then the signed
 *			peer-accepted notice, then activation
 *	OP_DECLINE, OP_REMOVE, OP_BLOCK
 *			removed here, then the signed removal notice
 *	OP_ACCEPTED_IN	a peer we proposed to accepted us: activation
 *	OP_LEARN	identity and signed metadata of an inbound peer
 *			(extensions, fee rate), in the background
 *
 * Activation is one signed heartbeat round trip to the peer's advertised
 * endpoint whose answer verifies with the pinned key (up to three
 * attempts).  A row has at most one op; the heartbeat sender runs beside
 * it.
 *
 * Persistence: every change of a row is published at once and written
 * through ledgerd.  Inbound requests that change a row (confirm, remove,
 * accepted) and operator commands are answered only once ledgerd said the
 * row is stored; if that fails they are undone and refused (503, or a
 * failed command).  Changes the engine makes by itself (heartbeat
 * results, activation) are retried after ledgerd reconnects.  An inbound
 * handshake that is not confirmed yet lives in memory only; the row it
 * replaced (a suspended or removed peer) stays in the database and comes
 * back if the handshake fails.
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

int
peer_cmp(const struct peer *a, const struct peer *b)
{
	return (strcmp(a->r.e.relay_id, b->r.e.relay_id));
}
RB_GENERATE(peer_tree, peer, entry, peer_cmp)

const char *const op_names[] = {
	"peer add", "peer accept", "peer decline", "peer remove",
	"peer block", "accepted notice", "learn"
};

struct proc		*pp;
struct peer_tree		 peers = RB_INITIALIZER(&peers);
struct cfg_global	 cfg;
int			 have_cfg;
struct fedrules		 rules;
struct cfg_identity	 ident;
int			 have_ident;
struct ldg_state		 ldg;
int			 loaded, loading;
uint32_t			 load_reqid;
struct keyreqs		 keyreqs = TAILQ_HEAD_INITIALIZER(keyreqs);
uint32_t			 key_ids;
struct saveqs		 saves = TAILQ_HEAD_INITIALIZER(saves);
uint32_t			 save_ids;
struct ops		 ops = TAILQ_HEAD_INITIALIZER(ops);
struct replay		 replays;
struct ratelim		 fetchlim;	/* outbound fetches per relay */
struct budget		 hs_budget;	/* `handshake limit' */
struct event		 ev_tick, ev_sweep, ev_load;
uint32_t			 tick_ms;
struct keyreq		*tick_kr;
int64_t			 tick_ts;

static void	 load_start(void);

/*
 * Helpers
 */
struct peer *
peer_find(const char *id)
{
	struct peer	 key;

	if (strlcpy(key.r.e.relay_id, id, sizeof(key.r.e.relay_id)) >=
	    sizeof(key.r.e.relay_id))
		return (NULL);
	return (RB_FIND(peer_tree, &peers, &key));
}

/*
 * A heartbeat must be answered before the next round starts: 90% of the
 * interval, at most 10 seconds.
 */
uint32_t
hb_timeout_ms(void)
{
	uint32_t	 t = cfg.fed_hb_interval_ms;

	if (t == 0)
		return (HTTP_TIMEOUT_MS);
	t -= t / 10;
	return (t < HTTP_TIMEOUT_MS ? t : HTTP_TIMEOUT_MS);
}

void
nonce_new(char out[65])
{
	uint8_t	 b[32];

	arc4random_buf(b, sizeof(b));
	hex_encode(b, sizeof(b), out);
}

char *
json_body(json_t *o, size_t *len)
{
	char	*s;

	if (o == NULL || (s = jcs_serialize(o, 0, len)) == NULL)
		fatalx("%s: cannot build a request body", __func__);
	json_decref(o);
	return (s);
}

const char *
jstr(const json_t *o, const char *name)
{
	const json_t	*v;

	v = json_object_get(o, name);
	return (json_is_string(v) ? json_string_value(v) : NULL);
}

int
hex64_lower(const char *s)
{
	size_t	 i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return (0);
	return (s[64] == '\0');
}

int
db_ready(char *err, size_t len)
{
	if (!ldg.connected) {
		snprintf(err, len, "database unavailable: %s", ldg.detail);
		return (0);
	}
	if (!loaded) {
		snprintf(err, len, "the peer table is not loaded yet");
		return (0);
	}
	return (1);
}

/*
 * State changes: every one is logged with its reason.
 */
void
peer_state(struct peer *p, int state, int64_t now, const char *fmt, ...)
{
	va_list	 ap;
	int	 old = p->r.e.state;

	va_start(ap, fmt);
	vsnprintf(p->r.reason, sizeof(p->r.reason), fmt, ap);
	va_end(ap);
	text_clean(p->r.reason);
	p->r.e.state = state;
	p->r.e.since = now;
	log_info("peer %s (%s): %s -> %s: %s", p->r.e.relay_id,
	    p->r.e.display_name[0] ? p->r.e.display_name : "-",
	    peer_state_name(old), peer_state_name(state), p->r.reason);
}

/* After peer_hb_*() changed the state (the reason is in p->r.reason). */
void
peer_state_logged(struct peer *p, int old)
{
	log_info("peer %s (%s): %s -> %s: %s", p->r.e.relay_id,
	    p->r.e.display_name[0] ? p->r.e.display_name : "-",
	    peer_state_name(old), peer_state_name(p->r.e.state),
	    p->r.reason);
}

/*
 * The table: publication and persistence.
 */
void
peer_publish(struct peer *p)
{
	proc_compose(pp, PROC_FRONTEND, -1, IMSG_PEER_UPSERT, 0, -1, &p->r.e,
	    sizeof(p->r.e));
	proc_compose(pp, PROC_ROUTED, 0, IMSG_PEER_UPSERT, 0, -1, &p->r.e,
	    sizeof(p->r.e));
}

static void
peer_unpublish(const struct peer_entry *e)
{
	proc_compose(pp, PROC_FRONTEND, -1, IMSG_PEER_DELETE, 0, -1, e,
	    sizeof(*e));
	proc_compose(pp, PROC_ROUTED, 0, IMSG_PEER_DELETE, 0, -1, e,
	    sizeof(*e));
}

struct peer *
peer_new(const char *id)
{
	struct peer	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		fatal("%s", __func__);
	strlcpy(p->r.e.relay_id, id, sizeof(p->r.e.relay_id));
	p->r.e.trust_ppm = 500000;
	strlcpy(p->r.e.trust_level, "first_contact",
	    sizeof(p->r.e.trust_level));
	if (RB_INSERT(peer_tree, &peers, p) != NULL)
		fatalx("%s: %s twice", __func__, id);
	return (p);
}

/* Unlinks and frees a row; nothing may be in flight on it. */
void
peer_free(struct peer *p, int unpublish)
{
	RB_REMOVE(peer_tree, &peers, p);
	if (unpublish)
		peer_unpublish(&p->r.e);
	if (p->hb != NULL)
		hc_cancel(p->hb);
	free(p->prev);
	free(p);
}

/* Not written to the database: an inbound handshake not confirmed. */
static int
peer_volatile(const struct peer *p)
{
	return (peer_unconfirmed(&p->r.e));
}

void
peer_save(struct peer *p, save_cb cb, void *arg)
{
	struct ldg_peer_row	 row;
	struct saveq		*s;

	if (peer_volatile(p)) {
		if (cb != NULL)
			cb(arg, 1, NULL);
		return;
	}
	if (!ldg.connected || !loaded) {
		/* retried after ledgerd reconnects */
		if (cb != NULL)
			cb(arg, 0, "database unavailable");
		return;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		fatal("%s", __func__);
	if (++save_ids == 0)
		save_ids = 1;
	s->reqid = save_ids;
	strlcpy(s->relay_id, p->r.e.relay_id, sizeof(s->relay_id));
	s->gen = p->gen;
	s->cb = cb;
	s->arg = arg;
	memset(&row, 0, sizeof(row));
	row.reqid = s->reqid;
	row.e = p->r.e;
	strlcpy(row.nonce, p->r.nonce, sizeof(row.nonce));
	strlcpy(row.reason, p->r.reason, sizeof(row.reason));
	row.extensions_known = p->r.ext_known;
	row.created = p->r.created;
	row.cooldown_until = p->r.cooldown_until;
	if (proc_compose(pp, PROC_LEDGERD, 0, IMSG_LDG_PEER_SAVE, 0, -1,
	    &row, sizeof(row)) == -1) {
		free(s);
		if (cb != NULL)
			cb(arg, 0, "no channel to ledgerd");
		return;
	}
	TAILQ_INSERT_TAIL(&saves, s, entry);
}

/*
 * A row changed: publish it, and store it in the background (a failure
 * is retried after ledgerd reconnects).
 */
void
peer_changed(struct peer *p)
{
	p->gen++;
	peer_publish(p);
	peer_save(p, NULL, NULL);
}

static void
save_answer(const struct ldg_peer_result *r)
{
	struct saveq	*s;
	struct peer	*p;

	TAILQ_FOREACH(s, &saves, entry)
		if (s->reqid == r->reqid)
			break;
	if (s == NULL) {
		log_warnx("%s: answer to unknown write %u", __func__,
		    r->reqid);
		return;
	}
	TAILQ_REMOVE(&saves, s, entry);
	if (r->ok && s->gen != 0 && (p = peer_find(s->relay_id)) != NULL) {
		if (s->gen > p->saved_gen)
			p->saved_gen = s->gen;
		p->stored = 1;
	}
	if (!r->ok)
		log_warnx("peer %s: not stored: %s", s->relay_id, r->error);
	if (s->cb != NULL)
		s->cb(s->arg, r->ok, r->error);
	free(s);
}

/* ledgerd is back: write every row it has not confirmed. */
static void
resave_all(void)
{
	struct peer	*p;
	int		 n = 0;

	RB_FOREACH(p, peer_tree, &peers) {
		if (peer_volatile(p) || p->saved_gen >= p->gen)
			continue;
		peer_save(p, NULL, NULL);
		n++;
	}
	if (n > 0)
		log_info("peer table: %d rows written again after the "
		    "database came back", n);
}

/*
 * keyd
 */
struct keyreq *
key_ask(uint32_t type, const char *relay_id, const char *nonce, key_cb cb,
    void *arg)
{
	struct key_sign_req	 req;
	struct keyreq		*k;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		fatal("%s", __func__);
	if (++key_ids == 0)
		key_ids = 1;
	k->reqid = key_ids;
	k->cb = cb;
	k->arg = arg;
	memset(&req, 0, sizeof(req));
	req.reqid = k->reqid;
	if (relay_id != NULL)
		strlcpy(req.relay_id, relay_id, sizeof(req.relay_id));
	if (nonce != NULL)
		strlcpy(req.nonce, nonce, sizeof(req.nonce));
	if (proc_compose(pp, PROC_KEYD, 0, type, 0, -1, &req,
	    sizeof(req)) == -1)
		fatal("%s: no channel to keyd", __func__);
	TAILQ_INSERT_TAIL(&keyreqs, k, entry);
	return (k);
}

static void
key_answer(int ok, const struct key_sign_resp *resp, const char *doc,
    size_t len)
{
	struct keyreq	*k;

	TAILQ_FOREACH(k, &keyreqs, entry)
		if (k->reqid == resp->reqid)
			break;
	if (k == NULL) {
		log_warnx("%s: answer to unknown request %u", __func__,
		    resp->reqid);
		return;
	}
	TAILQ_REMOVE(&keyreqs, k, entry);
	if (ok)
		metrics_signature(resp->kind);
	else
		log_warnx("keyd refused a %s signature: %s",
		    audit_kind_name(resp->kind) != NULL ?
		    audit_kind_name(resp->kind) : "?", resp->error);
	if (k->cb != NULL)
		k->cb(k->arg, ok, resp, doc, len);
	free(k);
}

/*
 * Answers to the frontends.
 */
void
fed_answer(int inst, uint32_t reqid, int status, const char *err,
    uint32_t retry_after, const char *nonce, int64_t peered_at,
    const char *state)
{
	struct fed_result	 r;

	memset(&r, 0, sizeof(r));
	r.reqid = reqid;
	r.status = status;
	if (err != NULL)
		strlcpy(r.error, err, sizeof(r.error));
	r.retry_after = retry_after;
	if (r.retry_after == 0 && (status == 503 || status == 429))
		r.retry_after = status == 503 ? 5 : 1;
	if (nonce != NULL)
		strlcpy(r.nonce, nonce, sizeof(r.nonce));
	r.peered_at = peered_at;
	if (state != NULL)
		strlcpy(r.peer_state, state, sizeof(r.peer_state));
	if (proc_compose(pp, PROC_FRONTEND, inst, IMSG_FED_RESULT, 0, -1, &r,
	    sizeof(r)) == -1)
		log_warn("%s: frontend %d", __func__, inst);
}

void
fed_error(int inst, uint32_t reqid, int status, const char *fmt, ...)
{
	char	 err[128];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(err, sizeof(err), fmt, ap);
	va_end(ap);
	fed_answer(inst, reqid, status, err, 0, NULL, 0, NULL);
}

/*
 * The gate every authenticated request passes: the table is loaded,
 * the per-peer limit, then the replay cache.  Returns 0 to go on, or 1
 * when it already answered.
 */
int
fed_gate(int inst, const struct fed_hdr *h, const char *key, int64_t now)
{
	struct peer	*p;
	char		 err[128];
	uint32_t	 retry;
	int		 rc;

	if (!loaded || !have_ident) {
		fed_error(inst, h->reqid, 503, "peer table not loaded yet");
		return (1);
	}
	if (h->signature[0] == '\0') {
		/* unauthenticated (confirm): the relay-wide budget only */
		return (hs_gate(inst, h, now));
	}
	/*
	 * Authenticated by the frontend.  A replay costs the signer
	 * nothing (so a captured request replayed cannot spend its
	 * budget); then the signer's own budget, which lives in its row
	 * (nobody else can charge or evict it); only a request within the
	 * budget is remembered, so a peer cannot fill the replay cache
	 * beyond its budget either.
	 */
	if (replay_seen(&replays, h->signer, h->signature, now) ==
	    REPLAY_SEEN) {
		metrics_auth_failure(AUTH_FAIL_REPLAY);
		log_warnx("federation: replayed request from %s (%s)", key,
		    h->remote_addr);
		fed_error(inst, h->reqid, 409, "replayed request: this "
		    "signature was already used");
		return (1);
	}
	if ((p = peer_find(h->signer)) != NULL &&
	    budget_hit(&p->rl, now, cfg.fed_rate_limit,
	    cfg.fed_rate_window_ms, &retry) == -1) {
		metrics_peer_limited();
		snprintf(err, sizeof(err), "Per-peer rate limit exceeded "
		    "(peer: %s), retry after %us", h->signer, retry);
		fed_answer(inst, h->reqid, 429, err, retry, NULL, 0, NULL);
		return (1);
	}
	/* new: looked up above; only a full cache refuses it now */
	rc = replay_check(&replays, h->signer, h->signature, now);
	if (rc != REPLAY_NEW) {
		fed_error(inst, h->reqid, 503, "replay cache full");
		return (1);
	}
	return (0);
}

/*
 * The relay-wide budget of unauthenticated peering requests (propose,
 * confirm): `handshake limit'.  1 when answered 429.
 */
int
hs_gate(int inst, const struct fed_hdr *h, int64_t now)
{
	char		 err[128];
	uint32_t	 retry;

	if (budget_hit(&hs_budget, now, cfg.fed_hs_limit,
	    cfg.fed_hs_window_ms, &retry) == 0)
		return (0);
	metrics_handshake_limited();
	snprintf(err, sizeof(err), "Handshake limit exceeded on this relay "
	    "(%u per %us), retry after %us", cfg.fed_hs_limit,
	    cfg.fed_hs_window_ms / 1000, retry);
	log_debug("federation: %s from %s", err, h->remote_addr);
	fed_answer(inst, h->reqid, 429, err, retry, NULL, 0, NULL);
	return (1);
}

/*
 * Removes a row for good, here and in the database (a request that gave
 * way or expired).  A row that was known before the request (a removed
 * peer proposing again) goes back to removed instead, so that its
 * pinned key stays.
 */
void
peer_forget(struct peer *p, const char *why)
{
	struct ldg_peer_req	 req;
	struct saveq		*s;

	if (p->known_before) {
		p->r.e.flags &= ~(PEER_F_AWAIT_US | PEER_F_CONFIRMED);
		peer_state(p, PEER_REMOVED, now_ms(), "%s", why);
		peer_changed(p);
		return;
	}
	log_info("peer %s: request dropped: %s", p->r.e.relay_id, why);
	if (p->stored || p->saved_gen > 0) {
		memset(&req, 0, sizeof(req));
		if ((s = calloc(1, sizeof(*s))) == NULL)
			fatal("%s", __func__);
		if (++save_ids == 0)
			save_ids = 1;
		s->reqid = req.reqid = save_ids;
		strlcpy(s->relay_id, p->r.e.relay_id, sizeof(s->relay_id));
		strlcpy(req.relay_id, p->r.e.relay_id, sizeof(req.relay_id));
		if (proc_compose(pp, PROC_LEDGERD, 0, IMSG_LDG_PEER_DEL, 0,
		    -1, &req, sizeof(req)) == -1) {
			log_warnx("peer %s: not deleted from the database (no "
			    "channel to ledgerd); dropped at the next start",
			    p->r.e.relay_id);
			free(s);
		} else
			TAILQ_INSERT_TAIL(&saves, s, entry);
	}
	peer_free(p, 1);
}

void
hdr_terminate(struct fed_hdr *h)
{
	h->signer[sizeof(h->signer) - 1] = '\0';
	h->signature[sizeof(h->signature) - 1] = '\0';
	h->remote_addr[sizeof(h->remote_addr) - 1] = '\0';
}

/*
 * Housekeeping: abandoned handshakes, the replay cache, the limiter.
 */
static void
sweep(int fd, short ev, void *arg)
{
	struct peer	*p, *next;
	struct timeval	 tv = { SWEEP_MS / 1000, 0 };
	int64_t		 now = now_ms();

	evtimer_add(&ev_sweep, &tv);
	RB_FOREACH_SAFE(p, peer_tree, &peers, next) {
		if (peer_unconfirmed(&p->r.e) &&
		    now - p->r.created >= PEER_HANDSHAKE_MS)
			peer_drop_handshake(p, "not confirmed in time");
		else if (loaded && peer_awaiting_us(&p->r.e) &&
		    p->op == NULL && p->r.created > 0 &&
		    now - p->r.created >= (int64_t)cfg.fed_pending_expire_ms)
			peer_forget(p, "not accepted within pending expire");
	}
	replay_expire(&replays, now);
	ratelim_expire(&fetchlim, now, PEER_FETCH_WINDOW_MS);
}

/*
 * Loading the table from ledgerd.
 */
static void
load_retry(int fd, short ev, void *arg)
{
	load_start();
}

static void
load_start(void)
{
	struct ldg_peer_req	 req;

	if (loaded || loading || !ldg.connected)
		return;
	loading = 1;
	if (++load_reqid == 0)
		load_reqid = 1;
	memset(&req, 0, sizeof(req));
	req.reqid = load_reqid;
	if (proc_compose(pp, PROC_LEDGERD, 0, IMSG_LDG_PEER_LOAD, 0, -1, &req,
	    sizeof(req)) == -1) {
		loading = 0;
		log_warn("peer table: cannot ask ledgerd");
	}
}

static void
load_row(const struct ldg_peer_row *row)
{
	struct peer	*p;

	if (!loading || row->reqid != load_reqid)
		return;
	if (!relay_id_valid(row->e.relay_id) ||
	    row->e.state < PEER_PENDING || row->e.state > PEER_REMOVED) {
		log_warnx("peer table: bad row skipped");
		return;
	}
	if (peer_find(row->e.relay_id) != NULL)
		return;
	p = peer_new(row->e.relay_id);
	p->r.e = row->e;
	strlcpy(p->r.nonce, row->nonce, sizeof(p->r.nonce));
	strlcpy(p->r.reason, row->reason, sizeof(p->r.reason));
	p->r.ext_known = row->extensions_known != 0;
	p->r.created = row->created;
	p->r.cooldown_until = row->cooldown_until;
	p->stored = 1;
	p->hb_saved = now_ms();
}

static void
load_done(const struct ldg_peer_result *r)
{
	struct peer	*p;
	struct timeval	 tv;
	int64_t		 now = now_ms();
	int		 n = 0;

	if (!loading || r->reqid != load_reqid)
		return;
	loading = 0;
	if (!r->ok) {
		log_warnx("peer table: loading failed: %s; retrying",
		    r->error);
		tv.tv_sec = LOAD_RETRY_MS / 1000;
		tv.tv_usec = (LOAD_RETRY_MS % 1000) * 1000;
		evtimer_add(&ev_load, &tv);
		return;
	}
	loaded = 1;
	RB_FOREACH(p, peer_tree, &peers) {
		n++;
		/* our own handshake, cut short by a restart */
		if (p->r.e.state == PEER_PENDING &&
		    !(p->r.e.flags & (PEER_F_INBOUND | PEER_F_AWAIT_US |
		    PEER_F_AWAIT_THEM))) {
			peer_state(p, PEER_REMOVED, now, "handshake "
			    "interrupted by a restart");
			p->gen++;
			peer_save(p, NULL, NULL);
		}
		peer_publish(p);
	}
	log_info("peer table loaded: %d rows", n);
	tick_arm();
}

/*
 * Entry points
 */
void
peering_init(struct proc *p)
{
	struct timeval	 tv = { SWEEP_MS / 1000, 0 };

	pp = p;
	replay_init(&replays, PEER_REPLAY_MAX);
	ratelim_init(&fetchlim, PEER_RATELIM_MAX);
	fedrules_init(&rules);
	strlcpy(ldg.detail, "no answer from ledgerd yet", sizeof(ldg.detail));
	evtimer_assign(&ev_sweep, p->evbase, sweep, NULL);
	evtimer_add(&ev_sweep, &tv);
	evtimer_assign(&ev_load, p->evbase, load_retry, NULL);
}

void
peering_ready(struct proc *p)
{
	hc_init(p->evbase);
}

void
peering_shutdown(void)
{
	struct peer	*p, *next;
	struct op	*op;

	while ((op = TAILQ_FIRST(&ops)) != NULL) {
		op->ctl = 0;
		op->fe = 0;
		op_finish(op, 0, "shutting down");
	}
	RB_FOREACH_SAFE(p, peer_tree, &peers, next)
		peer_free(p, 0);
	replay_clear(&replays);
	ratelim_clear(&fetchlim);
	fedrules_clear(&rules);
	hc_shutdown();
}

void
peering_config(const struct cfg_global *g, struct fedrules *nr)
{
	uint32_t	 old = cfg.fed_hb_interval_ms;

	cfg = *g;
	if (cfg.fed_rate_limit == 0)
		cfg.fed_rate_limit = 30;
	if (cfg.fed_rate_window_ms == 0)
		cfg.fed_rate_window_ms = 60000;
	if (cfg.fed_max_peers == 0)
		cfg.fed_max_peers = 10;
	if (cfg.fed_max_pending == 0)
		cfg.fed_max_pending = 16;
	if (cfg.fed_pending_expire_ms == 0)
		cfg.fed_pending_expire_ms = 24 * 3600 * 1000;
	if (cfg.fed_hs_limit == 0)
		cfg.fed_hs_limit = 120;
	if (cfg.fed_hs_window_ms == 0)
		cfg.fed_hs_window_ms = 60000;
	hc_policy(&cfg.fed_ep);
	fedrules_move(&rules, nr);
	if (!have_cfg || old != cfg.fed_hb_interval_ms)
		tick_arm();
	have_cfg = 1;
}

void
peering_identity(const struct cfg_identity *id)
{
	ident = *id;
	have_ident = 1;
}

void
peering_ldg_state(const struct ldg_state *ls)
{
	int	 was = ldg.connected;

	ldg = *ls;
	if (!ldg.connected)
		return;
	if (!loaded)
		load_start();
	else if (!was)
		resave_all();
}

static void
key_resp(struct imsg *imsg, int ok)
{
	struct key_sign_resp	 resp;
	size_t			 len;

	len = imsg_get_len(imsg);
	if (len < sizeof(resp))
		fatalx("short answer from keyd");
	memcpy(&resp, imsg->data, sizeof(resp));
	if (resp.doclen != len - sizeof(resp))
		fatalx("answer from keyd: bad document length");
	resp.signature[sizeof(resp.signature) - 1] = '\0';
	resp.error[sizeof(resp.error) - 1] = '\0';
	key_answer(ok, &resp, (const char *)imsg->data + sizeof(resp),
	    resp.doclen);
}

int
peering_dispatch(struct imsgev *iev, struct imsg *imsg)
{
	struct fed_propose	 fp;
	struct fed_confirm	 fc;
	struct fed_heartbeat	 fh;
	struct fed_signed	 fs;
	struct ldg_peer_row	 row;
	struct ldg_peer_result	 res;
	uint32_t		 type = imsg_get_type(imsg);

	switch (type) {
	case IMSG_FED_PROPOSE:
	case IMSG_FED_CONFIRM:
	case IMSG_FED_HEARTBEAT:
	case IMSG_FED_REMOVE:
	case IMSG_FED_ACCEPTED:
		if (iev->peer != PROC_FRONTEND)
			fatalx("%s: federation request from %s", __func__,
			    proc_name(iev->peer));
		break;
	case IMSG_LDG_PEER_ROW:
	case IMSG_LDG_PEER_LOADED:
	case IMSG_LDG_PEER_SAVED:
		if (iev->peer != PROC_LEDGERD)
			fatalx("%s: peer table message from %s", __func__,
			    proc_name(iev->peer));
		break;
	case IMSG_KEY_SIGNATURE:
	case IMSG_KEY_REFUSED:
		if (iev->peer != PROC_KEYD)
			fatalx("%s: signature from %s", __func__,
			    proc_name(iev->peer));
		break;
	default:
		return (-1);
	}

	switch (type) {
	case IMSG_FED_PROPOSE:
		if (imsg_get_data(imsg, &fp, sizeof(fp)) == -1)
			fatalx("bad IMSG_FED_PROPOSE");
		fed_propose(iev->instance, &fp);
		break;
	case IMSG_FED_CONFIRM:
		if (imsg_get_data(imsg, &fc, sizeof(fc)) == -1)
			fatalx("bad IMSG_FED_CONFIRM");
		fed_confirm(iev->instance, &fc);
		break;
	case IMSG_FED_HEARTBEAT:
		if (imsg_get_data(imsg, &fh, sizeof(fh)) == -1)
			fatalx("bad IMSG_FED_HEARTBEAT");
		fed_heartbeat(iev->instance, &fh);
		break;
	case IMSG_FED_REMOVE:
		if (imsg_get_data(imsg, &fs, sizeof(fs)) == -1)
			fatalx("bad IMSG_FED_REMOVE");
		fed_remove(iev->instance, &fs);
		break;
	case IMSG_FED_ACCEPTED:
		if (imsg_get_data(imsg, &fs, sizeof(fs)) == -1)
			fatalx("bad IMSG_FED_ACCEPTED");
		fed_accepted(iev->instance, &fs);
		break;
	case IMSG_LDG_PEER_ROW:
		if (imsg_get_data(imsg, &row, sizeof(row)) == -1)
			fatalx("bad IMSG_LDG_PEER_ROW");
		row.e.relay_id[sizeof(row.e.relay_id) - 1] = '\0';
		row.e.public_key[sizeof(row.e.public_key) - 1] = '\0';
		row.e.endpoint[sizeof(row.e.endpoint) - 1] = '\0';
		row.e.display_name[sizeof(row.e.display_name) - 1] = '\0';
		row.e.trust_level[sizeof(row.e.trust_level) - 1] = '\0';
		row.nonce[sizeof(row.nonce) - 1] = '\0';
		row.reason[sizeof(row.reason) - 1] = '\0';
		load_row(&row);
		break;
	case IMSG_LDG_PEER_LOADED:
	case IMSG_LDG_PEER_SAVED:
		if (imsg_get_data(imsg, &res, sizeof(res)) == -1)
			fatalx("bad peer table answer");
		res.error[sizeof(res.error) - 1] = '\0';
		if (type == IMSG_LDG_PEER_LOADED)
			load_done(&res);
		else
			save_answer(&res);
		break;
	case IMSG_KEY_SIGNATURE:
	case IMSG_KEY_REFUSED:
		key_resp(imsg, type == IMSG_KEY_SIGNATURE);
		break;
	}
	return (0);
}

static void
count_states(uint32_t n[PEER_REMOVED + 1])
{
	struct peer	*p;

	memset(n, 0, sizeof(uint32_t) * (PEER_REMOVED + 1));
	RB_FOREACH(p, peer_tree, &peers)
		if (p->r.e.state >= 0 && p->r.e.state <= PEER_REMOVED)
			n[p->r.e.state]++;
}

void
peering_metrics(void)
{
	uint32_t	 n[PEER_REMOVED + 1];

	count_states(n);
	metrics_peer_states(n, PEER_REMOVED + 1);
}

void
peering_status(char *buf, size_t len)
{
	uint32_t	 n[PEER_REMOVED + 1];

	count_states(n);
	if (!loaded)
		snprintf(buf, len, "peer table not loaded (%s)",
		    ldg.connected ? "loading" : "database unavailable");
	else
		snprintf(buf, len, "peers: %u active, %u suspended, %u "
		    "pending, %u removed", n[PEER_ACTIVE],
		    n[PEER_SUSPENDED], n[PEER_PENDING], n[PEER_REMOVED]);
}
