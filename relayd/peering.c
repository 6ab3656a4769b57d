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
#include "proc.h"
#include "relayd.h"

#define OP_DEADLINE_MS		28000	/* relayctl waits 30 s */
#define OP_INBOUND_MS		8000	/* the notifier waits 10 s */
#define HTTP_TIMEOUT_MS		10000	/* handshake and notices */
#define ACTIVATE_TRIES		3
#define ACTIVATE_GAP_MS		300
#define SWEEP_MS		5000
#define LOAD_RETRY_MS		2000
#define HB_SAVE_MS		30000	/* heartbeat times, at most */

/* The persistent part of a row (struct ldg_peer_row without reqid). */
struct prow {
	struct peer_entry	 e;
	char			 nonce[NONCE_MAX];
	char			 reason[128];
	int			 ext_known;
	int64_t			 created;
	int64_t			 cooldown_until;
};

struct op;

struct peer {
	RB_ENTRY(peer)		 entry;
	struct prow		 r;
	struct prow		*prev;		/* replaced by a handshake */
	int			 prev_stored;
	uint64_t		 gen;		/* changes */
	uint64_t		 saved_gen;	/* last change stored */
	int			 stored;	/* the database has it */
	int64_t			 hb_saved;	/* heartbeat time stored */
	struct hc_req		*hb;		/* heartbeat in flight */
	struct op		*op;
};
RB_HEAD(peer_tree, peer);

static int
peer_cmp(const struct peer *a, const struct peer *b)
{
	return (strcmp(a->r.e.relay_id, b->r.e.relay_id));
}
RB_PROTOTYPE(peer_tree, peer, entry, peer_cmp)
RB_GENERATE(peer_tree, peer, entry, peer_cmp)

/* A signature asked of keyd. */
typedef void (*key_cb)(void *, int, const struct key_sign_resp *,
    const char *, size_t);
struct keyreq {
	TAILQ_ENTRY(keyreq)	 entry;
	uint32_t		 reqid;
	key_cb			 cb;		/* NULL: nobody waits */
	void			*arg;
};
TAILQ_HEAD(keyreqs, keyreq);

/* A row write sent to ledgerd. */
typedef void (*save_cb)(void *, int, const char *);
struct saveq {
	TAILQ_ENTRY(saveq)	 entry;
	uint32_t		 reqid;
	char			 relay_id[RELAY_ID_MAX];
	uint64_t		 gen;
	save_cb			 cb;
	void			*arg;
};
TAILQ_HEAD(saveqs, saveq);

enum op_kind {
	OP_ADD,
	OP_ACCEPT,
	OP_DECLINE,
	OP_REMOVE,
	OP_BLOCK,
	OP_ACCEPTED_IN,
	OP_LEARN
};

static const char *const op_names[] = {
	"peer add", "peer accept", "peer decline", "peer remove",
	"peer block", "accepted notice", "learn"
};

typedef void (*op_done)(struct op *, int, const char *);

struct op {
	TAILQ_ENTRY(op)		 entry;
	enum op_kind		 kind;
	uint32_t		 ctl;		/* relayctl connection, or 0 */
	int			 fe_inst;	/* inbound: frontend instance */
	uint32_t		 fe_reqid;
	int			 fe;		/* an answer is owed */
	struct peer		*p;		/* the row, once there is one */
	struct peer_url		 url;		/* where we talk to */
	char			 id[RELAY_ID_MAX];
	char			 pubkey[PUBKEY_HEX_MAX];
	char			 name[RELAY_NAME_MAX];
	char			 endpoint[RELAY_URL_MAX];
	uint32_t		 ext;
	char			 our_nonce[65];
	char			 their_nonce[NONCE_MAX];
	struct hc_req		*http;
	struct keyreq		*kr;
	struct event		 deadline;
	struct event		 pause;
	int			 attempts;
	int64_t			 hb_ts;		/* activation heartbeat */
	uint32_t		 rtt;		/* its round trip */
	int64_t			 agents;	/* their agent count */
	int			 v2;		/* removal notice: remove-v2 */
	int			 fe_status;	/* answer when failing */
	int			 notify;	/* removal: tell the peer */
	struct prow		 snap;		/* undo if not stored */
	op_done			 sub;		/* continuation of a sub-flow */
	char			 note[240];	/* said with the outcome */
};
TAILQ_HEAD(ops, op);

static struct proc		*pp;
static struct peer_tree		 peers = RB_INITIALIZER(&peers);
static struct cfg_global	 cfg;
static int			 have_cfg;
static struct fedrules		 rules;
static struct cfg_identity	 ident;
static int			 have_ident;
static struct ldg_state		 ldg;
static int			 loaded, loading;
static uint32_t			 load_reqid;
static struct keyreqs		 keyreqs = TAILQ_HEAD_INITIALIZER(keyreqs);
static uint32_t			 key_ids;
static struct saveqs		 saves = TAILQ_HEAD_INITIALIZER(saves);
static uint32_t			 save_ids;
static struct ops		 ops = TAILQ_HEAD_INITIALIZER(ops);
static struct replay		 replays;
static struct ratelim		 ratelim;
static struct event		 ev_tick, ev_sweep, ev_load;
static uint32_t			 tick_ms;
static struct keyreq		*tick_kr;
static int64_t			 tick_ts;

static void	 peer_publish(struct peer *);
static void	 peer_save(struct peer *, save_cb, void *);
static void	 op_finish(struct op *, int, const char *, ...)
		    __attribute__((__format__ (printf, 3, 4)));
static void	 op_activate(struct op *, op_done);
static void	 op_notify(struct op *, op_done);
static void	 op_learn(struct op *, op_done);
static void	 tick_arm(void);
static void	 load_start(void);

/*
 * Helpers
 */
static struct peer *
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
static uint32_t
hb_timeout_ms(void)
{
	uint32_t	 t = cfg.fed_hb_interval_ms;

	if (t == 0)
		return (HTTP_TIMEOUT_MS);
	t -= t / 10;
	return (t < HTTP_TIMEOUT_MS ? t : HTTP_TIMEOUT_MS);
}

static void
nonce_new(char out[65])
{
	uint8_t	 b[32];

	arc4random_buf(b, sizeof(b));
	hex_encode(b, sizeof(b), out);
}

static char *
json_body(json_t *o, size_t *len)
{
	char	*s;

	if (o == NULL || (s = jcs_serialize(o, 0, len)) == NULL)
		fatalx("%s: cannot build a request body", __func__);
	json_decref(o);
	return (s);
}

static const char *
jstr(const json_t *o, const char *name)
{
	const json_t	*v;

	v = json_object_get(o, name);
	return (json_is_string(v) ? json_string_value(v) : NULL);
}

static int
hex64_lower(const char *s)
{
	size_t	 i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return (0);
	return (s[64] == '\0');
}

/* The nonce rule keyd applies (keyd/policy.c nonce_valid). */
static int
nonce_ok(const char *s)
{
	size_t	 i, n;

	n = strnlen(s, NONCE_MAX);
	if (n == 0 || n >= NONCE_MAX)
		return (0);
	for (i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == ':' || s[i] == '|')
			return (0);
	return (1);
}

static int
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
static void
peer_state(struct peer *p, int state, int64_t now, const char *fmt, ...)
    __attribute__((__format__ (printf, 4, 5)));

static void
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
static void
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
static void
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

static struct peer *
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
static void
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

static void
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
static void
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
static struct keyreq *
key_ask(uint32_t type, const char *relay_id, const char *nonce, int64_t ts,
    key_cb cb, void *arg)
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
	req.timestamp = ts;
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
static void
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
	if (nonce != NULL)
		strlcpy(r.nonce, nonce, sizeof(r.nonce));
	r.peered_at = peered_at;
	if (state != NULL)
		strlcpy(r.peer_state, state, sizeof(r.peer_state));
	if (proc_compose(pp, PROC_FRONTEND, inst, IMSG_FED_RESULT, 0, -1, &r,
	    sizeof(r)) == -1)
		log_warn("%s: frontend %d", __func__, inst);
}

static void
fed_error(int inst, uint32_t reqid, int status, const char *fmt, ...)
    __attribute__((__format__ (printf, 4, 5)));

static void
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
static int
fed_gate(int inst, const struct fed_hdr *h, const char *key, int64_t now)
{
	char		 err[128];
	uint32_t	 retry;
	int		 rc;

	if (!loaded || !have_ident) {
		fed_error(inst, h->reqid, 503, "peer table not loaded yet");
		return (1);
	}
	if (ratelim_hit(&ratelim, key, now, cfg.fed_rate_limit,
	    cfg.fed_rate_window_ms, &retry) == -1) {
		metrics_peer_limited();
		snprintf(err, sizeof(err), "Per-peer rate limit exceeded "
		    "(peer: %s), retry after %us", key, retry);
		fed_answer(inst, h->reqid, 429, err, retry, NULL, 0, NULL);
		return (1);
	}
	if (h->signature[0] == '\0')
		return (0);
	rc = replay_check(&replays, h->signer[0] ? h->signer : key,
	    h->signature, now);
	if (rc == REPLAY_SEEN) {
		metrics_auth_failure(AUTH_FAIL_REPLAY);
		log_warnx("federation: replayed request from %s (%s)", key,
		    h->remote_addr);
		fed_error(inst, h->reqid, 409, "replayed request: this "
		    "signature was already used");
		return (1);
	}
	if (rc == REPLAY_FULL) {
		fed_error(inst, h->reqid, 503, "replay cache full");
		return (1);
	}
	return (0);
}

static void
hdr_terminate(struct fed_hdr *h)
{
	h->signer[sizeof(h->signer) - 1] = '\0';
	h->signature[sizeof(h->signature) - 1] = '\0';
	h->remote_addr[sizeof(h->remote_addr) - 1] = '\0';
}

/*
 * Operations
 */
static void
op_deadline(int fd, short ev, void *arg)
{
	struct op	*op = arg;

	op_finish(op, 0, "%s: timed out", op_names[op->kind]);
}

static struct op *
op_new(enum op_kind kind, struct peer *p, uint32_t ctl, int deadline_ms)
{
	struct op	*op;
	struct timeval	 tv;

	if ((op = calloc(1, sizeof(*op))) == NULL)
		fatal("%s", __func__);
	op->kind = kind;
	op->ctl = ctl;
	op->p = p;
	if (p != NULL) {
		p->op = op;
		strlcpy(op->id, p->r.e.relay_id, sizeof(op->id));
		strlcpy(op->pubkey, p->r.e.public_key, sizeof(op->pubkey));
		strlcpy(op->name, p->r.e.display_name, sizeof(op->name));
		strlcpy(op->endpoint, p->r.e.endpoint, sizeof(op->endpoint));
		op->ext = p->r.e.extensions;
	}
	evtimer_assign(&op->deadline, pp->evbase, op_deadline, op);
	tv.tv_sec = deadline_ms / 1000;
	tv.tv_usec = (deadline_ms % 1000) * 1000;
	evtimer_add(&op->deadline, &tv);
	TAILQ_INSERT_TAIL(&ops, op, entry);
	return (op);
}

static void
ctl_send_peer(struct ctl_conn *c, const struct peer *p)
{
	struct ctl_peer	 cp;
	uint8_t		 pub[ED25519_PUB_LEN];

	memset(&cp, 0, sizeof(cp));
	cp.e = p->r.e;
	if (hex_decode(p->r.e.public_key, pub, sizeof(pub)) == 0) {
		did_key_from_pubkey(pub, cp.did, sizeof(cp.did));
		pubkey_fingerprint(pub, cp.fingerprint);
	}
	strlcpy(cp.reason, p->r.reason, sizeof(cp.reason));
	cp.extensions_known = p->r.ext_known;
	cp.cooldown_until = p->r.cooldown_until;
	control_compose(c, IMSG_CTL_PEER, &cp, sizeof(cp));
}

/* Ends an op: tells whoever waits, releases the row, frees. */
static void
op_finish(struct op *op, int ok, const char *fmt, ...)
{
	struct ctl_conn	*c;
	char		 msg[256];
	va_list		 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (op->http != NULL) {
		hc_cancel(op->http);
		op->http = NULL;
	}
	if (op->kr != NULL)
		op->kr->cb = NULL;	/* keyd answers into the void */
	evtimer_del(&op->deadline);
	if (evtimer_initialized(&op->pause))
		evtimer_del(&op->pause);
	if (op->kind != OP_LEARN)
		log_info("%s %s: %s", op_names[op->kind],
		    op->id[0] ? op->id : op->url.norm, msg);
	if (op->ctl != 0 && (c = control_conn_byid(op->ctl)) != NULL) {
		if (op->p != NULL)
			ctl_send_peer(c, op->p);
		control_end(c, ok, msg);
	}
	if (op->fe)
		fed_answer(op->fe_inst, op->fe_reqid, ok ? 200 :
		    op->fe_status ? op->fe_status : 502, ok ? NULL : msg, 0,
		    NULL, 0, ok ? "active" : NULL);
	if (op->p != NULL && op->p->op == op)
		op->p->op = NULL;
	TAILQ_REMOVE(&ops, op, entry);
	free(op);
}

static struct op *
op_find_id(const char *id)
{
	struct op	*op;

	TAILQ_FOREACH(op, &ops, entry)
		if (strcmp(op->id, id) == 0)
			return (op);
	return (NULL);
}

/* A background op gives way to the operator. */
static int
op_busy(struct peer *p)
{
	if (p->op == NULL)
		return (0);
	if (p->op->kind == OP_LEARN) {
		op_finish(p->op, 0, "interrupted");
		return (0);
	}
	return (1);
}

/* "HTTP 403: key mismatch ..." or the transport error */
static void
reply_why(const struct hc_reply *r, char *buf, size_t len)
{
	if (r->status == 0)
		snprintf(buf, len, "%s", r->error[0] ? r->error : "no answer");
	else if (r->error[0] != '\0')
		snprintf(buf, len, "HTTP %d: %s", r->status, r->error);
	else
		snprintf(buf, len, "HTTP %d", r->status);
}

/*
 * Activation: one signed heartbeat round trip to the peer's advertised
 * endpoint, whose answer verifies with the pinned key.  Up to
 * ACTIVATE_TRIES attempts, ACTIVATE_GAP_MS apart (a frontend of the
 * peer may not have seen its own table change yet).
 */
static void	 act_signed(void *, int, const struct key_sign_resp *,
		    const char *, size_t);
static void	 act_reply(const struct hc_reply *, void *);

static void
act_try(int fd, short ev, void *arg)
{
	struct op	*op = arg;

	op->attempts++;
	op->hb_ts = now_ms();
	op->kr = key_ask(IMSG_KEY_SIGN_HEARTBEAT, NULL, NULL, op->hb_ts,
	    act_signed, op);
}

static void
op_activate(struct op *op, op_done done)
{
	char	 err[128];

	op->sub = done;
	op->attempts = 0;
	if (peer_url_parse(op->endpoint, &op->url, err, sizeof(err)) == -1) {
		done(op, 0, err);
		return;
	}
	evtimer_assign(&op->pause, pp->evbase, act_try, op);
	act_try(-1, 0, op);
}

static void
act_signed(void *arg, int ok, const struct key_sign_resp *resp,
    const char *doc, size_t len)
{
	struct op	*op = arg;
	char		*body;
	size_t		 blen;

	op->kr = NULL;
	if (!ok) {
		op->sub(op, 0, "keyd refused to sign the heartbeat");
		return;
	}
	body = json_body(json_pack("{s:s,s:I,s:I,s:s}", "relay_id",
	    ident.relay_id, "timestamp", (json_int_t)op->hb_ts,
	    "agent_count", (json_int_t)ldg.agent_count, "signature",
	    resp->signature), &blen);
	op->http = hc_post(&op->url, "/federation/v1/peer/heartbeat", body,
	    blen, op->fe ? 2500 : HTTP_TIMEOUT_MS, act_reply, op);
	free(body);
}

static void
act_reply(const struct hc_reply *r, void *arg)
{
	struct op	*op = arg;
	struct timeval	 tv;
	char		 why[200];
	int64_t		 agents;

	op->http = NULL;
	if (r->status == 200 && r->body != NULL &&
	    hb_body_verify(r->body, op->id, op->pubkey, now_ms(), &agents,
	    why, sizeof(why)) == 0) {
		op->rtt = r->rtt_ms < 0 ? 0 : (uint32_t)r->rtt_ms;
		op->agents = agents;
		op->sub(op, 1, NULL);
		return;
	}
	if (r->status != 200 || r->body == NULL)
		reply_why(r, why, sizeof(why));
	if (op->attempts < ACTIVATE_TRIES) {
		log_debug("peer %s: activation heartbeat %d failed: %s",
		    op->id, op->attempts, why);
		tv.tv_sec = 0;
		tv.tv_usec = ACTIVATE_GAP_MS * 1000;
		evtimer_add(&op->pause, &tv);
		return;
	}
	op->sub(op, 0, why);
}

/*
 * The removal notice: the signed, timestamped remove-v2 body between
 * relays that both speak it, else the reference's bare-id signature.
 */
static void	 notify_signed(void *, int, const struct key_sign_resp *,
		    const char *, size_t);
static void	 notify_reply(const struct hc_reply *, void *);

static void
op_notify(struct op *op, op_done done)
{
	char	 err[128];

	op->sub = done;
	if (peer_url_parse(op->endpoint, &op->url, err, sizeof(err)) == -1) {
		done(op, 0, err);
		return;
	}
	op->v2 = (op->ext & PEER_EXT_REMOVE_V2) != 0;
	if (op->v2)
		op->kr = key_ask(IMSG_KEY_SIGN_REMOVAL2, op->id, NULL,
		    now_ms(), notify_signed, op);
	else
		op->kr = key_ask(IMSG_KEY_SIGN_REMOVAL, NULL, NULL, 0,
		    notify_signed, op);
}

static void
notify_signed(void *arg, int ok, const struct key_sign_resp *resp,
    const char *doc, size_t len)
{
	struct op	*op = arg;
	char		*body;
	size_t		 blen;

	op->kr = NULL;
	if (!ok) {
		op->sub(op, 0, "keyd refused to sign the removal");
		return;
	}
	if (op->v2) {
		if (len == 0) {
			op->sub(op, 0, "keyd returned no removal document");
			return;
		}
		op->http = hc_post(&op->url, "/federation/v1/peer/remove", doc,
		    len, HTTP_TIMEOUT_MS, notify_reply, op);
		return;
	}
	body = json_body(json_pack("{s:s,s:s}", "relay_id", ident.relay_id,
	    "signature", resp->signature), &blen);
	op->http = hc_post(&op->url, "/federation/v1/peer/remove", body, blen,
	    HTTP_TIMEOUT_MS, notify_reply, op);
	free(body);
}

static void
notify_reply(const struct hc_reply *r, void *arg)
{
	struct op	*op = arg;
	char		 why[200];

	op->http = NULL;
	if (r->status == 200) {
		op->sub(op, 1, "acknowledged");
		return;
	}
	if (r->status == 404) {
		op->sub(op, 1, "it had no row for us");
		return;
	}
	reply_why(r, why, sizeof(why));
	op->sub(op, 0, why);
}

/*
 * Learning about a peer from its own documents: the identity (the
 * extensions it speaks; its key must be the pinned one) and the signed
 * metadata (its fee rate).  A failure is logged, never fatal.
 */
static void	 learn_identity(const struct hc_reply *, void *);
static void	 learn_metadata(const struct hc_reply *, void *);

static void
op_learn(struct op *op, op_done done)
{
	char	 err[128];

	op->sub = done;
	if (peer_url_parse(op->endpoint, &op->url, err, sizeof(err)) == -1) {
		done(op, 0, err);
		return;
	}
	op->http = hc_get(&op->url, "/federation/v1/identity",
	    HTTP_TIMEOUT_MS, learn_identity, op);
}

/* Only the metadata (peer add read the identity already). */
static void
op_metadata(struct op *op, op_done done)
{
	char	 err[128];

	op->sub = done;
	if (peer_url_parse(op->endpoint, &op->url, err, sizeof(err)) == -1) {
		done(op, 0, err);
		return;
	}
	op->http = hc_get(&op->url, "/.well-known/motebit.json",
	    HTTP_TIMEOUT_MS, learn_metadata, op);
}

/* The row the op works on, if it still carries the key it started with. */
static struct peer *
op_row(struct op *op)
{
	struct peer	*p = op->p;

	if (p == NULL || strcmp(p->r.e.public_key, op->pubkey) != 0)
		return (NULL);
	return (p);
}

static void
learn_identity(const struct hc_reply *r, void *arg)
{
	struct op	*op = arg;
	struct peer	*p;
	const char	*s;
	char		 why[200];

	op->http = NULL;
	if (r->status != 200 || r->body == NULL) {
		reply_why(r, why, sizeof(why));
		log_warnx("peer %s: identity from %s: %s", op->id,
		    op->url.norm, why);
		op->sub(op, 0, why);
		return;
	}
	if ((s = jstr(r->body, "relay_motebit_id")) == NULL ||
	    strcmp(s, op->id) != 0) {
		log_warnx("peer %s: %s serves the identity of another relay",
		    op->id, op->url.norm);
		op->sub(op, 0, "the endpoint serves another relay's identity");
		return;
	}
	if ((s = jstr(r->body, "public_key")) == NULL ||
	    strcmp(s, op->pubkey) != 0) {
		log_warnx("peer %s: identity at %s carries another key than "
		    "the pinned one", op->id, op->url.norm);
		op->sub(op, 0, "the identity carries another key");
		return;
	}
	op->ext = peer_ext_from_json(json_object_get(r->body, "extensions"));
	if ((p = op_row(op)) != NULL && (!p->r.ext_known ||
	    p->r.e.extensions != op->ext)) {
		p->r.ext_known = 1;
		p->r.e.extensions = op->ext;
		peer_changed(p);
	}
	op->http = hc_get(&op->url, "/.well-known/motebit.json",
	    HTTP_TIMEOUT_MS, learn_metadata, op);
}

static void
learn_metadata(const struct hc_reply *r, void *arg)
{
	struct op	*op = arg;
	struct peer	*p;
	char		 why[200];
	uint32_t	 fee;

	op->http = NULL;
	if (r->status != 200 || r->body == NULL)
		reply_why(r, why, sizeof(why));
	else if (metadata_verify(r->body, op->id, op->pubkey, &fee, why,
	    sizeof(why)) == 0) {
		if ((p = op_row(op)) != NULL && p->r.e.fee_ppm != fee) {
			p->r.e.fee_ppm = fee;
			peer_changed(p);
		}
		op->sub(op, 1, NULL);
		return;
	}
	log_warnx("peer %s: metadata from %s: %s", op->id, op->url.norm, why);
	op->sub(op, 1, NULL);
}

static void
learn_done(struct op *op, int ok, const char *why)
{
	op_finish(op, ok, "%s", ok ? "learned" : why);
}

/* Starts learning about p in the background, unless it is busy. */
static void
peer_learn(struct peer *p)
{
	struct op	*op;

	if (p->op != NULL)
		return;
	op = op_new(OP_LEARN, p, 0, 25000);
	op_learn(op, learn_done);
}

/*
 * An inbound handshake that will not complete: the row it replaced
 * comes back, or the row goes.
 */
static void
peer_drop_handshake(struct peer *p, const char *why)
{
	log_info("peer %s: handshake dropped: %s", p->r.e.relay_id, why);
	if (p->op != NULL)
		op_finish(p->op, 0, "the handshake was dropped");
	if (p->prev != NULL) {
		p->r = *p->prev;
		p->stored = p->prev_stored;
		free(p->prev);
		p->prev = NULL;
		peer_publish(p);
	} else
		peer_free(p, 1);
}

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

static uint32_t
count_peers(void)
{
	struct peer	*p;
	uint32_t	 n = 0;

	RB_FOREACH(p, peer_tree, &peers)
		n += peer_counts(&p->r.e);
	return (n);
}

static uint32_t
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
	if ((s = jstr(r->body, "nonce")) == NULL || !nonce_ok(s)) {
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
	op->kr = key_ask(IMSG_KEY_SIGN_CONFIRM, NULL, op->their_nonce, 0,
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
	op->kr = key_ask(IMSG_KEY_SIGN_ACCEPTED, op->id, NULL, now_ms(),
	    accept_signed, op);
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
static int
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

static void
fed_propose(int inst, struct fed_propose *fp)
{
	struct propose_env	 env;
	struct propose_old	 old;
	struct fed_result	 res;
	struct peer_url		 eu;
	struct peer		*p;
	char			 err[128];
	int64_t			 now = now_ms();
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
	if (!relay_id_valid(fp->relay_id)) {
		fed_error(inst, fp->hdr.reqid, 400, "invalid relay_id");
		return;
	}
	if (!hex64_lower(fp->public_key)) {
		fed_error(inst, fp->hdr.reqid, 400, "public_key must be 64 "
		    "lowercase hex digits");
		return;
	}
	if (!nonce_ok(fp->nonce)) {
		fed_error(inst, fp->hdr.reqid, 400, "invalid nonce");
		return;
	}
	if (peer_url_parse(fp->endpoint, &eu, err, sizeof(err)) == -1) {
		fed_error(inst, fp->hdr.reqid, 400, "endpoint_url: %s", err);
		return;
	}

	p = peer_find(fp->relay_id);
	memset(&env, 0, sizeof(env));
	env.own_id = ident.relay_id;
	env.enabled = cfg.fed_enable;
	env.rules = &rules;
	env.max_peers = cfg.fed_max_peers;
	env.npeers = count_peers();
	env.nhandshakes = count_handshakes();
	env.rl = &ratelim;
	env.rate_limit = cfg.fed_rate_limit;
	env.rate_window_ms = cfg.fed_rate_window_ms;
	old.e = p != NULL ? &p->r.e : NULL;
	old.cooldown_until = p != NULL ? p->r.cooldown_until : 0;
	memset(&res, 0, sizeof(res));
	if ((status = propose_check(&env, fp, &old, now, &res, &af)) != 0) {
		if (af == PROPOSE_LIMITED)
			metrics_peer_limited();
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
	fed_answer(inst, fp->hdr.reqid, 200, NULL, 0, p->r.nonce, 0,
	    "pending");
}

static void	 confirm_saved(void *, int, const char *);

static void
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
	if (p != NULL)
		peer_learn(p);
	free(w);
}

/* A heartbeat changed the row: publish, store now and then. */
static void
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

static void
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
	if (changed)
		peer_state_logged(p, old);
	peer_hb_store(p, changed, now);
	fed_answer(inst, fh->hdr.reqid, 200, NULL, 0, NULL, 0,
	    peer_state_name(p->r.e.state));
}

static void	 remove_saved(void *, int, const char *);

static void
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

static void
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
		fed_answer(inst, fs->hdr.reqid, 200, NULL, 0, NULL, 0,
		    "active");
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

/*
 * The heartbeat sender: every `heartbeat interval', one timestamp and
 * one signature for all active and suspended peers.
 */
static void	 tick_signed(void *, int, const struct key_sign_resp *,
		    const char *, size_t);
static void	 hb_reply(const struct hc_reply *, void *);

static int
hb_due(const struct peer *p)
{
	return ((p->r.e.state == PEER_ACTIVE ||
	    p->r.e.state == PEER_SUSPENDED) && p->hb == NULL);
}

static void
tick(int fd, short ev, void *arg)
{
	struct peer	*p;
	struct timeval	 tv;
	int		 n = 0;

	tv.tv_sec = tick_ms / 1000;
	tv.tv_usec = (tick_ms % 1000) * 1000;
	evtimer_add(&ev_tick, &tv);
	if (!cfg.fed_enable || !have_ident || tick_kr != NULL)
		return;
	RB_FOREACH(p, peer_tree, &peers)
		n += hb_due(p);
	if (n == 0)
		return;
	tick_ts = now_ms();
	tick_kr = key_ask(IMSG_KEY_SIGN_HEARTBEAT, NULL, NULL, tick_ts,
	    tick_signed, NULL);
}

static void
hb_missed(struct peer *p, const char *why, int64_t now)
{
	int	 old = p->r.e.state, changed;

	metrics_heartbeat(METRICS_HB_MISSED);
	changed = peer_hb_missed(&p->r.e, cfg.fed_suspend_after,
	    cfg.fed_remove_after, now, why, p->r.reason,
	    sizeof(p->r.reason));
	text_clean(p->r.reason);
	if (changed)
		peer_state_logged(p, old);
	else
		log_info("peer %s: heartbeat missed (%u in a row): %s",
		    p->r.e.relay_id, p->r.e.missed, why);
	peer_changed(p);
}

static void
tick_signed(void *arg, int ok, const struct key_sign_resp *resp,
    const char *doc, size_t len)
{
	struct peer	*p;
	struct peer_url	 u;
	char		*body, err[128];
	size_t		 blen;
	int64_t		 now = now_ms();

	tick_kr = NULL;
	if (!ok)
		return;
	body = json_body(json_pack("{s:s,s:I,s:I,s:s}", "relay_id",
	    ident.relay_id, "timestamp", (json_int_t)tick_ts, "agent_count",
	    (json_int_t)ldg.agent_count, "signature", resp->signature),
	    &blen);
	RB_FOREACH(p, peer_tree, &peers) {
		if (!hb_due(p))
			continue;
		if (peer_url_parse(p->r.e.endpoint, &u, err,
		    sizeof(err)) == -1) {
			hb_missed(p, err, now);
			continue;
		}
		metrics_heartbeat(METRICS_HB_SENT);
		p->hb = hc_post(&u, "/federation/v1/peer/heartbeat", body,
		    blen, hb_timeout_ms(), hb_reply, p);
	}
	free(body);
}

static void
hb_reply(const struct hc_reply *r, void *arg)
{
	struct peer	*p = arg;
	char		 why[200];
	int64_t		 now = now_ms(), agents;
	int		 old, changed;

	p->hb = NULL;
	if (p->r.e.state != PEER_ACTIVE && p->r.e.state != PEER_SUSPENDED)
		return;		/* removed meanwhile */
	if (r->status == 200 && r->body != NULL &&
	    hb_body_verify(r->body, p->r.e.relay_id, p->r.e.public_key, now,
	    &agents, why, sizeof(why)) == 0) {
		metrics_heartbeat(METRICS_HB_ANSWERED);
		old = p->r.e.state;
		changed = peer_hb_good(&p->r.e, now, r->rtt_ms < 0 ? 0 :
		    (uint32_t)r->rtt_ms, p->r.reason, sizeof(p->r.reason));
		if (agents >= 0)
			p->r.e.agent_count = agents;
		if (changed)
			peer_state_logged(p, old);
		peer_hb_store(p, changed, now);
		return;
	}
	if (r->status != 200 || r->body == NULL)
		reply_why(r, why, sizeof(why));
	hb_missed(p, why, now);
}

static void
tick_arm(void)
{
	struct timeval	 tv;

	if (evtimer_initialized(&ev_tick))
		evtimer_del(&ev_tick);
	if (!loaded)
		return;
	tick_ms = cfg.fed_hb_interval_ms > 0 ? cfg.fed_hb_interval_ms :
	    60000;
	evtimer_assign(&ev_tick, pp->evbase, tick, NULL);
	tv.tv_sec = tick_ms / 1000;
	tv.tv_usec = (tick_ms % 1000) * 1000;
	evtimer_add(&ev_tick, &tv);
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
	RB_FOREACH_SAFE(p, peer_tree, &peers, next)
		if (peer_unconfirmed(&p->r.e) &&
		    now - p->r.created >= PEER_HANDSHAKE_MS)
			peer_drop_handshake(p, "not confirmed in time");
	replay_expire(&replays, now);
	ratelim_expire(&ratelim, now, cfg.fed_rate_window_ms);
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
	ratelim_init(&ratelim, PEER_RATELIM_MAX);
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
	ratelim_clear(&ratelim);
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
