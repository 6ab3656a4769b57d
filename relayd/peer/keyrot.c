/*
 * Key rotation in the peer engine (relayd.8 KEY ROTATION).
 *
 * Ours: the parent hands over the key succession record keyd signed
 * (IMSG_KEY_SUCCESSION, after the new identity); every peer that pinned
 * our old key (active, suspended, or pending with a confirmed handshake)
 * is told with POST /federation/v1/peer/key-rotation {relay_id,
 * succession} (succession.h).  relayctl gets the outcome once every peer
 * answered; peers that did not acknowledge are retried every
 * KR_RETRY_MS, KR_TRIES times in all, while they stay peers.  When every
 * peer acknowledged, IMSG_KEY_OLD_DONE lets the parent remove the old
 * key file.
 *
 * Theirs: a record the frontend verified against the pinned key
 * (IMSG_FED_KEY_ROTATION) re-pins the peer's new key, stored before the
 * answer; the row keeps its state and history: no new handshake.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event.h>
#include <jansson.h>

#include "encoding.h"
#include "http_client.h"
#include "jcs.h"
#include "log.h"
#include "metrics.h"
#include "peering.h"
#include "peering_int.h"
#include "proc.h"
#include "relayd.h"
#include "succession.h"

#define KR_RETRY_MS	30000
#define KR_TRIES	20

/* One peer to tell. */
struct kr_note {
	TAILQ_ENTRY(kr_note)	 entry;
	char			 id[RELAY_ID_MAX];
	struct hc_req		*http;
	int			 tries;
	int			 done;		/* acknowledged */
	char			 why[160];	/* the last failure */
};
TAILQ_HEAD(kr_notes, kr_note);

static struct {
	int		 active;	/* notes still to be acknowledged */
	uint32_t	 ctl;		/* relayctl waiting, or 0 */
	char		*body;		/* the request, canonical JSON */
	size_t		 bodylen;
	char		 oldk[PUBKEY_HEX_MAX];
	char		 newk[PUBKEY_HEX_MAX];
	struct kr_notes	 notes;
	int		 inflight;
	struct event	 retry;
	int		 retry_set;
} kr = { .notes = TAILQ_HEAD_INITIALIZER(kr.notes) };

static void	 kr_send(struct kr_note *);
static void	 kr_answered(const struct hc_reply *, void *);

static int
kr_pinned_us(const struct peer *p)
{
	return (p->r.e.state == PEER_ACTIVE ||
	    p->r.e.state == PEER_SUSPENDED ||
	    (p->r.e.state == PEER_PENDING &&
	    (p->r.e.flags & PEER_F_CONFIRMED)));
}

static void
kr_clear(void)
{
	struct kr_note	*n;

	while ((n = TAILQ_FIRST(&kr.notes)) != NULL) {
		TAILQ_REMOVE(&kr.notes, n, entry);
		if (n->http != NULL)
			hc_cancel(n->http);
		free(n);
	}
	free(kr.body);
	kr.body = NULL;
	kr.inflight = 0;
	kr.active = 0;
	if (kr.retry_set)
		evtimer_del(&kr.retry);
}

/* Every note answered this round: tell relayctl, the parent, or retry. */
static void
kr_round_done(void)
{
	struct ctl_conn	*c;
	struct kr_note	*n;
	struct timeval	 tv;
	char		 msg[256], fails[160];
	int		 told = 0, total = 0, left = 0;
	size_t		 off = 0;

	fails[0] = '\0';
	TAILQ_FOREACH(n, &kr.notes, entry) {
		total++;
		if (n->done) {
			told++;
			continue;
		}
		if (n->tries < KR_TRIES)
			left++;
		if (off < sizeof(fails))
			off += snprintf(fails + off, sizeof(fails) - off,
			    "%s%s (%s)", off ? ", " : "", n->id, n->why);
	}
	if (kr.ctl != 0 && (c = control_conn_byid(kr.ctl)) != NULL) {
		if (told == total)
			snprintf(msg, sizeof(msg), "key rotated: %.16s... -> "
			    "%.16s...; %d of %d peers re-pinned it", kr.oldk,
			    kr.newk, told, total);
		else
			snprintf(msg, sizeof(msg), "key rotated: %.16s... -> "
			    "%.16s...; %d of %d peers re-pinned it, retrying "
			    "%s", kr.oldk, kr.newk, told, total, fails);
		control_end(c, 1, msg);
	}
	kr.ctl = 0;
	if (told == total) {
		log_info("key rotation: all %d peers re-pinned %s", total,
		    kr.newk);
		proc_compose(pp, PROC_PARENT, 0, IMSG_KEY_OLD_DONE, 0, -1,
		    NULL, 0);
		kr_clear();
		return;
	}
	if (left == 0) {
		log_warnx("key rotation: gave up telling %s; they will drop "
		    "this relay (a new peer add re-peers them); the old key "
		    "file is kept", fails);
		kr_clear();
		return;
	}
	log_warnx("key rotation: %d of %d peers re-pinned %s; retrying %s "
	    "in %d s", told, total, kr.newk, fails, KR_RETRY_MS / 1000);
	tv.tv_sec = KR_RETRY_MS / 1000;
	tv.tv_usec = 0;
	evtimer_add(&kr.retry, &tv);
}

static void
kr_retry(int fd, short ev, void *arg)
{
	struct kr_note	*n, *next;
	struct peer	*p;

	TAILQ_FOREACH_SAFE(n, &kr.notes, entry, next) {
		if (n->done)
			continue;
		if ((p = peer_find(n->id)) == NULL || !kr_pinned_us(p)) {
			/* no longer a peer: nothing to tell */
			n->done = 1;
			continue;
		}
		kr_send(n);
	}
	if (kr.inflight == 0)
		kr_round_done();
}

static void
kr_send(struct kr_note *n)
{
	struct peer	*p;
	struct peer_url	 u;
	char		 err[128];

	n->tries++;
	if ((p = peer_find(n->id)) == NULL ||
	    peer_url_parse(p->r.e.endpoint, &u, err, sizeof(err)) == -1) {
		snprintf(n->why, sizeof(n->why), "no usable endpoint");
		return;
	}
	kr.inflight++;
	n->http = hc_post(&u, SUCCESSION_PATH, kr.body, kr.bodylen,
	    HTTP_TIMEOUT_MS, kr_answered, n);
}

static void
kr_answered(const struct hc_reply *r, void *arg)
{
	struct kr_note	*n = arg;

	n->http = NULL;
	kr.inflight--;
	if (r->status == 200) {
		n->done = 1;
		log_info("key rotation: %s re-pinned %s", n->id, kr.newk);
	} else {
		reply_why(r, n->why, sizeof(n->why));
		log_warnx("key rotation: telling %s failed: %s", n->id,
		    n->why);
	}
	if (kr.inflight == 0)
		kr_round_done();
}

/* IMSG_KEY_SUCCESSION from the parent: struct key_rotated + record */
void
keyrot_succession(const void *data, size_t len)
{
	struct key_rotated	 krd;
	struct kr_note		*n;
	struct peer		*p;
	json_t			*rec;
	char			 err[128];

	if (len < sizeof(krd))
		fatalx("bad IMSG_KEY_SUCCESSION");
	memcpy(&krd, data, sizeof(krd));
	if (krd.doclen != len - sizeof(krd))
		fatalx("bad IMSG_KEY_SUCCESSION");
	if ((rec = jcs_parse((const char *)data + sizeof(krd), krd.doclen,
	    err, sizeof(err))) == NULL)
		fatalx("IMSG_KEY_SUCCESSION: %s", err);
	/* (the control socket refuses a rotation while one is told) */
	kr_clear();
	if (!kr.retry_set) {
		evtimer_assign(&kr.retry, pp->evbase, kr_retry, NULL);
		kr.retry_set = 1;
	}
	kr.body = json_body(json_pack("{s:s,s:o}", "relay_id",
	    ident.relay_id, "succession", rec), &kr.bodylen);
	memcpy(kr.oldk, krd.old_public_key, sizeof(kr.oldk));
	memcpy(kr.newk, krd.new_public_key, sizeof(kr.newk));
	kr.oldk[sizeof(kr.oldk) - 1] = kr.newk[sizeof(kr.newk) - 1] = '\0';
	kr.ctl = krd.ctl_id;
	kr.active = 1;
	RB_FOREACH(p, peer_tree, &peers) {
		if (!kr_pinned_us(p))
			continue;
		if ((n = calloc(1, sizeof(*n))) == NULL)
			fatal("%s", __func__);
		strlcpy(n->id, p->r.e.relay_id, sizeof(n->id));
		TAILQ_INSERT_TAIL(&kr.notes, n, entry);
	}
	log_info("key rotation: telling the peers of %s", kr.newk);
	TAILQ_FOREACH(n, &kr.notes, entry)
		kr_send(n);
	if (kr.inflight == 0)
		kr_round_done();
}

/* Peers of the last rotation still to re-pin, while they are retried. */
int
keyrot_pending(void)
{
	struct kr_note	*n;
	int		 left = 0;

	if (!kr.active)
		return (0);
	TAILQ_FOREACH(n, &kr.notes, entry)
		if (!n->done)
			left++;
	return (left);
}

void
keyrot_shutdown(void)
{
	kr_clear();
}

/*
 * Theirs.
 */
struct kr_in {
	int		 inst;
	uint32_t	 reqid;
	char		 id[RELAY_ID_MAX];
	char		 oldk[PUBKEY_HEX_MAX];
};

static void
kr_in_saved(void *arg, int ok, const char *err)
{
	struct kr_in	*ki = arg;
	struct peer	*p;

	if (!ok) {
		/* undo: the peer retries */
		if ((p = peer_find(ki->id)) != NULL) {
			strlcpy(p->r.e.public_key, ki->oldk,
			    sizeof(p->r.e.public_key));
			p->gen++;
			peer_publish(p);
		}
		fed_error(ki->inst, ki->reqid, 503, "not stored (%s); the "
		    "old key stays pinned", err);
	} else
		fed_answer(ki->inst, ki->reqid, 200, NULL, 0, NULL, 0,
		    "repinned");
	free(ki);
}

/* IMSG_FED_KEY_ROTATION: a record the frontend verified */
void
keyrot_inbound(int inst, struct fed_key_rotation *fk)
{
	struct kr_in	*ki;
	struct peer	*p, *q;
	char		 err[128];
	uint32_t	 retry;

	hdr_terminate(&fk->hdr);
	fk->old_public_key[sizeof(fk->old_public_key) - 1] = '\0';
	fk->new_public_key[sizeof(fk->new_public_key) - 1] = '\0';
	if (!loaded || !have_ident) {
		fed_error(inst, fk->hdr.reqid, 503, "peer table not loaded "
		    "yet");
		return;
	}
	if ((p = peer_find(fk->hdr.signer)) == NULL ||
	    p->r.e.state == PEER_REMOVED) {
		fed_error(inst, fk->hdr.reqid, 404, "Peer not found");
		return;
	}
	/*
	 * The record authenticates the peer (the frontend checked it with
	 * the pinned key), so it is charged to the peer's own budget.  No
	 * replay cache: the record says the same thing each time.
	 */
	if (budget_hit(&p->rl, now_ms(), cfg.fed_rate_limit,
	    cfg.fed_rate_window_ms, &retry) == -1) {
		metrics_peer_limited();
		snprintf(err, sizeof(err), "Per-peer rate limit exceeded "
		    "(peer: %s), retry after %us", p->r.e.relay_id, retry);
		fed_answer(inst, fk->hdr.reqid, 429, err, retry, NULL, 0,
		    NULL);
		return;
	}
	/* one key, one relay id: not ours, not another peer's */
	if (strcmp(fk->new_public_key, ident.public_key) == 0) {
		fed_error(inst, fk->hdr.reqid, 403, "the new key is this "
		    "relay's own key");
		return;
	}
	RB_FOREACH(q, peer_tree, &peers)
		if (q != p && strcmp(q->r.e.public_key,
		    fk->new_public_key) == 0) {
			fed_error(inst, fk->hdr.reqid, 403, "the new key is "
			    "pinned to another relay");
			return;
		}
	if (strcmp(p->r.e.public_key, fk->new_public_key) == 0) {
		/* told twice (a retry whose answer was lost) */
		fed_answer(inst, fk->hdr.reqid, 200, NULL, 0, NULL, 0,
		    "repinned");
		return;
	}
	if (strcmp(p->r.e.public_key, fk->old_public_key) != 0) {
		fed_error(inst, fk->hdr.reqid, 409, "the pinned key changed "
		    "meanwhile");
		return;
	}
	if (op_busy(p)) {
		fed_error(inst, fk->hdr.reqid, 409, "an operation on relay %s "
		    "is in progress here", p->r.e.relay_id);
		return;
	}
	if ((ki = calloc(1, sizeof(*ki))) == NULL)
		fatal("%s", __func__);
	ki->inst = inst;
	ki->reqid = fk->hdr.reqid;
	strlcpy(ki->id, p->r.e.relay_id, sizeof(ki->id));
	strlcpy(ki->oldk, p->r.e.public_key, sizeof(ki->oldk));
	log_info("peer %s: key rotated %s -> %s (succession record signed "
	    "by the pinned key and its successor, from %s); re-pinned",
	    p->r.e.relay_id, fk->old_public_key, fk->new_public_key,
	    fk->hdr.remote_addr);
	strlcpy(p->r.e.public_key, fk->new_public_key,
	    sizeof(p->r.e.public_key));
	p->gen++;
	peer_publish(p);
	peer_save(p, kr_in_saved, ki);
}
