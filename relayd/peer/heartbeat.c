/*
 * heartbeat.c: see peering_int.h.
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
	tick_kr = key_ask(IMSG_KEY_SIGN_HEARTBEAT, NULL, NULL, tick_signed,
	    NULL);
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
	/* keyd stamped the heartbeat with its own clock */
	tick_ts = resp->timestamp;
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
		p->hb_limited = 0;
		if (changed)
			peer_state_logged(p, old);
		peer_hb_store(p, changed, now);
		return;
	}
	if (r->status != 200 || r->body == NULL)
		reply_why(r, why, sizeof(why));
	/*
	 * 429: the peer is there but limits us.  Up to `suspend after'
	 * such rounds in a row are "limited", not missed; beyond, each
	 * counts as missed, so a peer that only ever answers 429 is still
	 * suspended and removed in bounded time.
	 */
	if (r->status == 429 &&
	    !peer_hb_limited(&p->hb_limited, cfg.fed_suspend_after)) {
		metrics_heartbeat(METRICS_HB_LIMITED);
		log_info("peer %s: heartbeat limited (%u in a row, not counted "
		    "as missed): %s", p->r.e.relay_id, p->hb_limited, why);
		return;
	}
	hb_missed(p, why, now);
}

void
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
