/*
 * /metrics in Prometheus text format 0.0.4.
 *
 * A scrape lands on one of N frontends, so the counters are kept where
 * every frontend reports: the peer engine.  Each frontend pushes its
 * cumulative struct fe_stats (IMSG_FE_STATS) every second, before each
 * /metrics request and on shutdown; for /metrics it sends
 * IMSG_METRICS_REQ {reqid} to the peer engine and serves the text that
 * comes back in IMSG_METRICS chunks (struct metrics_chunk + text, the last
 * one with last = 1; relayd_imsg.h).
 *
 * The peer engine's side, in its dispatch for the frontend channels:
 *
 *	case IMSG_FE_STATS:
 *		exact-size imsg_get_data() into struct fe_stats fs;
 *		fs.instance = iev->instance;	(trust the channel)
 *		metrics_fe_stats(&fs);
 *	case IMSG_METRICS_REQ:
 *		exact-size imsg_get_data() into struct metrics_req mr;
 *		metrics_answer(p, iev, mr.reqid, &ldg_state);
 *
 * metrics_answer() renders everything (frontend counters summed over the
 * instances, the signatures the peer engine itself asked keyd for, counted
 * with metrics_signature(kind), the federation checks it made itself,
 * counted with metrics_auth_failure(AUTH_FAIL_*) and
 * metrics_peer_limited() (a per-peer 429) and metrics_handshake_limited()
 * (a 429 of the handshake limits), queue depths from the frontends' reports
 * and the peer engine's own channels, PostgreSQL state from ledgerd's
 * IMSG_LDG_STATE, build info) and sends the chunks on iev.
 * metrics_render() is the pure part, for tests.
 *
 * Series:
 *	relayd_http_requests_total{route,status}	counter
 *	relayd_signatures_total{kind}			counter
 *	relayd_peer_auth_failures_total{reason}		counter
 *	relayd_rate_limited_total{scope="ip"|"peer"|"handshake"} counter
 *	relayd_peers{state}				gauge
 *	relayd_peer_heartbeats_total{result}		counter
 *	relayd_peer_handshakes_total{direction,outcome}	counter
 *	relayd_imsg_queue_depth{from,to}		gauge
 *	relayd_postgresql_up				gauge
 *	relayd_build_info{version}			gauge, 1
 */
#ifndef RELAYD_METRICS_H
#define RELAYD_METRICS_H

#include <stdint.h>

#include "proc.h"
#include "relayd_imsg.h"

struct evbuffer;

/* What the renderer needs besides the frontends' reports. */
struct metrics_self {
	const char	*version;
	int		 pg_up;			/* 1, 0 */
	enum proc_id	 self;			/* the rendering process */
	uint32_t	 queue[PROC_MAX];	/* its imsgs queued to each */
};

int	 metrics_fe_stats(const struct fe_stats *);
void	 metrics_signature(int);
void	 metrics_auth_failure(int);
void	 metrics_peer_limited(void);
void	 metrics_handshake_limited(void);

/*
 * Peering, counted by the peer engine (peering.c): heartbeats it sent
 * and how they ended, heartbeats it received; handshakes by direction
 * and outcome; the number of peers in each state (PEER_* of
 * relayd_imsg.h), set before each rendering.
 */
enum metrics_hb {
	METRICS_HB_SENT = 0,		/* outbound, one per peer and round */
	METRICS_HB_ANSWERED,		/* ... answered and verified */
	METRICS_HB_MISSED,		/* ... failed, timed out, bad answer */
	METRICS_HB_RECEIVED,		/* inbound, authenticated */
	METRICS_HB_LIMITED,		/* outbound answered 429, not missed */
	METRICS_HB_MAX
};
enum metrics_hs {
	METRICS_HS_ACTIVE = 0,		/* peered */
	METRICS_HS_PENDING,		/* awaiting an operator */
	METRICS_HS_REFUSED,		/* refused by one side */
	METRICS_HS_FAILED,		/* network, timeout, bad signature */
	METRICS_HS_MAX
};
#define METRICS_HS_OUTBOUND	0
#define METRICS_HS_INBOUND	1
void	 metrics_heartbeat(int);
void	 metrics_handshake(int, int);
void	 metrics_peer_states(const uint32_t *, int);
void	 metrics_render(struct evbuffer *, const struct metrics_self *);
void	 metrics_answer(struct proc *, struct imsgev *, uint32_t,
	    const struct ldg_state *);
void	 metrics_reset(void);

/* labels, shared with the frontend */
int	 metrics_status_bucket(int);
const char *metrics_status_label(int);
const char *metrics_route_label(int);

#endif /* RELAYD_METRICS_H */
