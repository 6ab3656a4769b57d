/*
 * peer_ops.c: see peering_int.h.
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
 * Operations
 */
static void
op_deadline(int fd, short ev, void *arg)
{
	struct op	*op = arg;

	op_finish(op, 0, "%s: timed out", op_names[op->kind]);
}

struct op *
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

void
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
void
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

struct op *
op_find_id(const char *id)
{
	struct op	*op;

	TAILQ_FOREACH(op, &ops, entry)
		if (strcmp(op->id, id) == 0)
			return (op);
	return (NULL);
}

/* A background op gives way to the operator. */
int
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
void
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
	op->kr = key_ask(IMSG_KEY_SIGN_HEARTBEAT, NULL, NULL, act_signed, op);
}

void
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
	op->hb_ts = resp->timestamp;	/* keyd's clock */
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

void
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
		    notify_signed, op);
	else
		op->kr = key_ask(IMSG_KEY_SIGN_REMOVAL, NULL, NULL,
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

void
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
void
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
struct peer *
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
void
peer_learn(struct peer *p)
{
	struct op	*op;

	uint32_t	 retry;

	if (p->op != NULL)
		return;
	/* fetches an inbound request causes: a few per claimed relay */
	if (ratelim_hit(&fetchlim, p->r.e.relay_id, now_ms(), PEER_FETCH_MAX,
	    PEER_FETCH_WINDOW_MS, &retry) == -1) {
		log_info("peer %s: not fetching its identity now (at most %d "
		    "fetches a minute per relay)", p->r.e.relay_id,
		    PEER_FETCH_MAX);
		return;
	}
	op = op_new(OP_LEARN, p, 0, 25000);
	op_learn(op, learn_done);
}

/*
 * An inbound handshake that will not complete: the row it replaced
 * comes back, or the row goes.
 */
void
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
