/*
 * /metrics: the frontends' counters, kept and rendered by the peer
 * engine.  See metrics.h.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/uio.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "audit.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "proc.h"

/* Status buckets of fe_stats.requests; the last one is "other". */
static const int	 status_codes[] = {
	200, 202, 400, 401, 403, 404, 405, 409, 413, 414, 429, 500, 503
};
#define STATUS_OTHER	((int)(sizeof(status_codes) / sizeof(status_codes[0])))
_Static_assert(sizeof(status_codes) / sizeof(status_codes[0]) <
    FE_STATUS_MAX, "too many status buckets for fe_stats");

#define ROUTE_LABEL(id, m, f, path, h)	[id] = path,
static const char *const route_labels[ROUTE_MAX] = {
	[ROUTE_NONE] = "none",
	HTTP_ROUTES(ROUTE_LABEL)
};
#undef ROUTE_LABEL

/* The latest report of each frontend instance. */
static struct fe_stats	 fe_reports[PROC_MAX_INSTANCES];
static int		 fe_reported[PROC_MAX_INSTANCES];
/* Signatures the rendering process itself asked for. */
static uint64_t		 self_signatures[KEY_KIND_MAX];
/* Federation checks the rendering process itself made. */
static uint64_t		 self_auth_failures[AUTH_FAIL_MAX];
static uint64_t		 self_peer_limited;
static uint64_t		 self_hs_limited;
/* Peering: heartbeats, handshakes, peers by state. */
static uint64_t		 peer_heartbeats[METRICS_HB_MAX];
static uint64_t		 peer_handshakes[2][METRICS_HS_MAX];
static uint32_t		 peer_states[PEER_REMOVED + 1];

static const char *const hb_labels[METRICS_HB_MAX] = {
	[METRICS_HB_SENT] = "sent",
	[METRICS_HB_ANSWERED] = "answered",
	[METRICS_HB_MISSED] = "missed",
	[METRICS_HB_RECEIVED] = "received",
	[METRICS_HB_LIMITED] = "limited"
};
static const char *const hs_labels[METRICS_HS_MAX] = {
	[METRICS_HS_ACTIVE] = "active",
	[METRICS_HS_PENDING] = "pending",
	[METRICS_HS_REFUSED] = "refused",
	[METRICS_HS_FAILED] = "failed"
};
static const char *const peer_state_labels[PEER_REMOVED + 1] = {
	[PEER_NONE] = NULL,
	[PEER_PENDING] = "pending",
	[PEER_ACTIVE] = "active",
	[PEER_SUSPENDED] = "suspended",
	[PEER_REMOVED] = "removed"
};

/* enum auth_fail, as labels */
static const char *const auth_fail_labels[AUTH_FAIL_MAX] = {
	[AUTH_FAIL_UNKNOWN_PEER] = "unknown_peer",
	[AUTH_FAIL_BAD_SIGNATURE] = "bad_signature",
	[AUTH_FAIL_TIMESTAMP] = "timestamp",
	[AUTH_FAIL_REPLAY] = "replay",
	[AUTH_FAIL_KEY_MISMATCH] = "key_mismatch",
	[AUTH_FAIL_CHALLENGE] = "challenge",
	[AUTH_FAIL_POLICY] = "policy",
	[AUTH_FAIL_VERSION] = "version"
};

int
metrics_status_bucket(int status)
{
	int	 i;

	for (i = 0; i < STATUS_OTHER; i++)
		if (status_codes[i] == status)
			return (i);
	return (STATUS_OTHER);
}

/* "200" ... "other"; NULL past the buckets in use */
const char *
metrics_status_label(int bucket)
{
	static char	 labels[STATUS_OTHER][8];

	if (bucket < 0 || bucket > STATUS_OTHER)
		return (NULL);
	if (bucket == STATUS_OTHER)
		return ("other");
	if (labels[bucket][0] == '\0')
		snprintf(labels[bucket], sizeof(labels[bucket]), "%d",
		    status_codes[bucket]);
	return (labels[bucket]);
}

const char *
metrics_route_label(int route)
{
	if (route < 0 || route >= ROUTE_MAX)
		return (NULL);
	return (route_labels[route]);
}

/* Stores a frontend's cumulative counters; -1 if the instance is bad. */
int
metrics_fe_stats(const struct fe_stats *fs)
{
	if (fs->instance < 0 || fs->instance >= PROC_MAX_INSTANCES) {
		log_warnx("%s: statistics from bad instance %d", __func__,
		    fs->instance);
		return (-1);
	}
	fe_reports[fs->instance] = *fs;
	fe_reported[fs->instance] = 1;
	return (0);
}

void
metrics_signature(int kind)
{
	if (kind > KEY_KIND_NONE && kind < KEY_KIND_MAX)
		self_signatures[kind]++;
}

void
metrics_auth_failure(int reason)
{
	if (reason >= 0 && reason < AUTH_FAIL_MAX)
		self_auth_failures[reason]++;
}

void
metrics_peer_limited(void)
{
	self_peer_limited++;
}

void
metrics_handshake_limited(void)
{
	self_hs_limited++;
}

void
metrics_heartbeat(int what)
{
	if (what >= 0 && what < METRICS_HB_MAX)
		peer_heartbeats[what]++;
}

void
metrics_handshake(int direction, int outcome)
{
	if ((direction == METRICS_HS_OUTBOUND ||
	    direction == METRICS_HS_INBOUND) && outcome >= 0 &&
	    outcome < METRICS_HS_MAX)
		peer_handshakes[direction][outcome]++;
}

/* n counts, indexed by PEER_* state */
void
metrics_peer_states(const uint32_t *counts, int n)
{
	int	 i;

	memset(peer_states, 0, sizeof(peer_states));
	for (i = 0; i < n && i <= PEER_REMOVED; i++)
		peer_states[i] = counts[i];
}

void
metrics_reset(void)
{
	memset(fe_reports, 0, sizeof(fe_reports));
	memset(fe_reported, 0, sizeof(fe_reported));
	memset(self_signatures, 0, sizeof(self_signatures));
	memset(self_auth_failures, 0, sizeof(self_auth_failures));
	self_peer_limited = 0;
	self_hs_limited = 0;
	memset(peer_heartbeats, 0, sizeof(peer_heartbeats));
	memset(peer_handshakes, 0, sizeof(peer_handshakes));
	memset(peer_states, 0, sizeof(peer_states));
}

/* A label value: backslash, double quote and newline escaped. */
static void
metrics_label(struct evbuffer *b, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '\\':
			evbuffer_add(b, "\\\\", 2);
			break;
		case '"':
			evbuffer_add(b, "\\\"", 2);
			break;
		case '\n':
			evbuffer_add(b, "\\n", 2);
			break;
		default:
			evbuffer_add(b, s, 1);
			break;
		}
	}
}

static void
metrics_head(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

void
metrics_render(struct evbuffer *b, const struct metrics_self *self)
{
	uint64_t	 n, sigs[KEY_KIND_MAX];
	uint64_t	 queue[PROC_MAX];
	int		 i, r, s, k;

	metrics_head(b, "relayd_http_requests_total", "counter",
	    "HTTP requests answered by the frontends, by route and status.");
	for (r = 0; r < ROUTE_MAX; r++) {
		for (s = 0; s <= STATUS_OTHER; s++) {
			n = 0;
			for (i = 0; i < PROC_MAX_INSTANCES; i++)
				if (fe_reported[i])
					n += fe_reports[i].requests[r][s];
			if (n == 0)
				continue;
			evbuffer_add_printf(b,
			    "relayd_http_requests_total{route=\"");
			metrics_label(b, route_labels[r]);
			evbuffer_add_printf(b, "\",status=\"%s\"} %llu\n",
			    metrics_status_label(s), (unsigned long long)n);
		}
	}

	{
		uint64_t	 h[5] = { 0, 0, 0, 0, 0 };

		for (i = 0; i < PROC_MAX_INSTANCES; i++) {
			if (!fe_reported[i])
				continue;
			h[0] += fe_reports[i].http_conns;
			h[1] += fe_reports[i].http_evicted;
			h[2] += fe_reports[i].http_deadline;
			h[3] += fe_reports[i].http_refused;
			h[4] += fe_reports[i].http_accept_err;
		}
		metrics_head(b, "relayd_http_connections", "gauge",
		    "Client connections the frontends hold.");
		evbuffer_add_printf(b, "relayd_http_connections %llu\n",
		    (unsigned long long)h[0]);
		metrics_head(b, "relayd_http_closed_total", "counter",
		    "Client connections closed by the frontends: pushed out "
		    "at max connections, or past request timeout.");
		evbuffer_add_printf(b, "relayd_http_closed_total{reason="
		    "\"evicted\"} %llu\n", (unsigned long long)h[1]);
		evbuffer_add_printf(b, "relayd_http_closed_total{reason="
		    "\"deadline\"} %llu\n", (unsigned long long)h[2]);
		metrics_head(b, "relayd_http_refused_total", "counter",
		    "Requests the framing guard refused before routing.");
		evbuffer_add_printf(b, "relayd_http_refused_total %llu\n",
		    (unsigned long long)h[3]);
		metrics_head(b, "relayd_http_accept_errors_total", "counter",
		    "accept(2) failures (EMFILE and the like) that paused "
		    "accepting.");
		evbuffer_add_printf(b, "relayd_http_accept_errors_total "
		    "%llu\n", (unsigned long long)h[4]);
	}

	metrics_head(b, "relayd_signatures_total", "counter",
	    "Signatures requested from keyd, by kind.");
	memcpy(sigs, self_signatures, sizeof(sigs));
	for (i = 0; i < PROC_MAX_INSTANCES; i++)
		if (fe_reported[i])
			for (k = 0; k < KEY_KIND_MAX; k++)
				sigs[k] += fe_reports[i].signatures[k];
	for (k = KEY_KIND_NONE + 1; k < KEY_KIND_MAX; k++)
		evbuffer_add_printf(b, "relayd_signatures_total{kind=\"%s\"} "
		    "%llu\n", audit_kind_name(k), (unsigned long long)sigs[k]);

	metrics_head(b, "relayd_peer_auth_failures_total", "counter",
	    "Federation requests refused by authentication, by reason.");
	for (k = 0; k < AUTH_FAIL_MAX; k++) {
		n = self_auth_failures[k];
		for (i = 0; i < PROC_MAX_INSTANCES; i++)
			if (fe_reported[i])
				n += fe_reports[i].auth_failures[k];
		evbuffer_add_printf(b, "relayd_peer_auth_failures_total{"
		    "reason=\"%s\"} %llu\n", auth_fail_labels[k],
		    (unsigned long long)n);
	}

	metrics_head(b, "relayd_rate_limited_total", "counter",
	    "Federation requests refused with 429: per client address "
	    "(frontends), per authenticated peer, or by the relay-wide "
	    "handshake limit and the per-source handshake bound (peer "
	    "engine).");
	n = 0;
	for (i = 0; i < PROC_MAX_INSTANCES; i++)
		if (fe_reported[i])
			n += fe_reports[i].ip_rate_limited;
	evbuffer_add_printf(b, "relayd_rate_limited_total{scope=\"ip\"} "
	    "%llu\n", (unsigned long long)n);
	evbuffer_add_printf(b, "relayd_rate_limited_total{scope=\"peer\"} "
	    "%llu\n", (unsigned long long)self_peer_limited);
	evbuffer_add_printf(b, "relayd_rate_limited_total{scope=\"handshake\"} "
	    "%llu\n", (unsigned long long)self_hs_limited);

	metrics_head(b, "relayd_peers", "gauge",
	    "Peer relays in the peer table, by state.");
	for (k = PEER_PENDING; k <= PEER_REMOVED; k++)
		evbuffer_add_printf(b, "relayd_peers{state=\"%s\"} %u\n",
		    peer_state_labels[k], peer_states[k]);

	metrics_head(b, "relayd_peer_heartbeats_total", "counter",
	    "Heartbeats: sent to peers, answered with a verified "
	    "signature, missed, received from peers, and limited (answered "
	    "429, not counted as missed).");
	for (k = 0; k < METRICS_HB_MAX; k++)
		evbuffer_add_printf(b, "relayd_peer_heartbeats_total{"
		    "result=\"%s\"} %llu\n", hb_labels[k],
		    (unsigned long long)peer_heartbeats[k]);

	metrics_head(b, "relayd_peer_handshakes_total", "counter",
	    "Peering handshakes by direction (outbound: relayctl peer add; "
	    "inbound: proposed to us) and outcome.");
	for (i = 0; i < 2; i++)
		for (k = 0; k < METRICS_HS_MAX; k++)
			evbuffer_add_printf(b, "relayd_peer_handshakes_total{"
			    "direction=\"%s\",outcome=\"%s\"} %llu\n",
			    i == METRICS_HS_OUTBOUND ? "outbound" : "inbound",
			    hs_labels[k],
			    (unsigned long long)peer_handshakes[i][k]);

	metrics_head(b, "relayd_imsg_queue_depth", "gauge",
	    "Messages queued from one process to another.");
	memset(queue, 0, sizeof(queue));
	for (i = 0; i < PROC_MAX_INSTANCES; i++)
		if (fe_reported[i])
			for (k = 0; k < PROC_MAX; k++)
				queue[k] += fe_reports[i].queue[k];
	for (k = 0; k < PROC_MAX; k++) {
		if (k == PROC_FRONTEND)
			continue;
		evbuffer_add_printf(b, "relayd_imsg_queue_depth{from=\"%s\","
		    "to=\"%s\"} %llu\n", proc_name(PROC_FRONTEND),
		    proc_name(k), (unsigned long long)queue[k]);
	}
	if (self->self != PROC_FRONTEND) {
		for (k = 0; k < PROC_MAX; k++) {
			if (k == (int)self->self)
				continue;
			evbuffer_add_printf(b, "relayd_imsg_queue_depth{"
			    "from=\"%s\",to=\"%s\"} %u\n",
			    proc_name(self->self), proc_name(k),
			    self->queue[k]);
		}
	}

	metrics_head(b, "relayd_postgresql_up", "gauge",
	    "1 when ledgerd is connected to PostgreSQL.");
	evbuffer_add_printf(b, "relayd_postgresql_up %d\n",
	    self->pg_up ? 1 : 0);

	metrics_head(b, "relayd_build_info", "gauge",
	    "The relayd version, as a label.");
	evbuffer_add_printf(b, "relayd_build_info{version=\"");
	metrics_label(b, self->version);
	evbuffer_add_printf(b, "\"} 1\n");
}

/*
 * Renders the metrics and sends them to the frontend on iev, in chunks
 * of at most METRICS_CHUNK_MAX bytes, the last one marked.
 */
void
metrics_answer(struct proc *p, struct imsgev *iev, uint32_t reqid,
    const struct ldg_state *ldg)
{
	struct metrics_self	 self;
	struct metrics_chunk	 mc;
	struct evbuffer		*b;
	struct iovec		 iov[2];
	char			*chunk;
	int			 i, n;

	memset(&self, 0, sizeof(self));
	self.version = PACKAGE_VERSION;
	self.pg_up = ldg != NULL && ldg->connected;
	self.self = p->id;
	for (i = 0; i < PROC_MAX; i++)
		if (i != (int)p->id)
			self.queue[i] = proc_queue_depth(p, i);

	if ((b = evbuffer_new()) == NULL ||
	    (chunk = malloc(METRICS_CHUNK_MAX)) == NULL)
		fatal("%s", __func__);
	metrics_render(b, &self);
	do {
		if ((n = evbuffer_remove(b, chunk, METRICS_CHUNK_MAX)) == -1)
			fatalx("%s: evbuffer_remove", __func__);
		memset(&mc, 0, sizeof(mc));
		mc.reqid = reqid;
		mc.last = evbuffer_get_length(b) == 0;
		iov[0].iov_base = &mc;
		iov[0].iov_len = sizeof(mc);
		iov[1].iov_base = chunk;
		iov[1].iov_len = n;
		if (imsg_composev_event(iev, IMSG_METRICS, 0, 0, -1, iov,
		    2) == -1)
			fatal("%s: imsg_composev_event", __func__);
	} while (!mc.last);
	free(chunk);
	evbuffer_free(b);
}
