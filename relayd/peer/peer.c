/*
 * The peer engine (relayd -P peer).  It owns all outbound federation
 * traffic and the peer table (peering.c), hosts the control socket,
 * collects the frontends' statistics for /metrics, and answers the
 * operator's requests by asking the other processes.
 */
#include "config.h"

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>

#include "log.h"
#include "metrics.h"
#include "peering.h"
#include "proc.h"
#include "relayd.h"

#define STATUS_TIMEOUT_MS	2000
#define STATUS_MAX		(PROC_MAX + PROC_MAX_INSTANCES)

/* A `show status' in progress: answers collected from every process. */
struct status_query {
	struct ctl_conn		*conn;
	struct proc_status	 st[STATUS_MAX];
	int			 expect;
	int			 got;
};

static struct proc		 peer;
static struct cfg_global	 cfg, ncfg;
static struct fedrules		 nrules;
static struct cfg_identity	 identity;
static struct ldg_state		 dbstate;
static int64_t			 started;
static int			 have_identity;
static struct status_query	*queries[64];

static int	 peer_dispatch_parent(struct imsgev *, struct imsg *);
static int	 peer_dispatch_any(struct imsgev *, struct imsg *);
static void	 peer_ready(struct proc *);
static void	 peer_status(struct proc *, struct proc_status *);
static void	 peer_shutdown(struct proc *);
static void	 status_finish(struct status_query *);

static const struct proc_dispatch peer_dispatch[] = {
	{ PROC_PARENT,		peer_dispatch_parent },
	{ PROC_FRONTEND,	peer_dispatch_any },
	{ PROC_ROUTED,		peer_dispatch_any },
	{ PROC_LEDGERD,		peer_dispatch_any },
	{ PROC_KEYD,		peer_dispatch_any },
	{ 0,			NULL }
};

void
peer_main(int debug, int verbose)
{
	struct timespec	ts;

	memset(&peer, 0, sizeof(peer));
	peer.dispatch = peer_dispatch;
	peer.ready = peer_ready;
	peer.status = peer_status;
	peer.shutdown = peer_shutdown;
	proc_child_init(&peer, PROC_PEER, 0, "peer");
	setproctitle("peer engine");
	clock_gettime(CLOCK_REALTIME, &ts);
	started = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	strlcpy(dbstate.detail, "no answer from ledgerd yet",
	    sizeof(dbstate.detail));
	fedrules_init(&nrules);
	peering_init(&peer);
	proc_run(&peer);
	exit(0);
}

/* Still root, before the sandbox: the CA bundle and the resolver. */
static void
peer_ready(struct proc *p)
{
	peering_ready(p);
}

static void
peer_status(struct proc *p, struct proc_status *st)
{
	char	 peers[200];

	peering_status(peers, sizeof(peers));
	snprintf(st->detail, sizeof(st->detail), "%s; %s",
	    have_identity ? "control socket open" : "waiting for identity",
	    peers);
}

static void
peer_shutdown(struct proc *p)
{
	control_shutdown();
	peering_shutdown();
}

static int
peer_dispatch_parent(struct imsgev *iev, struct imsg *imsg)
{
	struct ctl_result	 res;
	struct ctl_key		 ck;
	struct cfg_fedrule	 fr;
	struct ctl_conn		*c;
	int			 fd;

	switch (imsg_get_type(imsg)) {
	case IMSG_CFG_GLOBAL:
		if (imsg_get_data(imsg, &ncfg, sizeof(ncfg)) == -1)
			fatalx("bad IMSG_CFG_GLOBAL");
		ncfg.name[sizeof(ncfg.name) - 1] = '\0';
		ncfg.endpoint[sizeof(ncfg.endpoint) - 1] = '\0';
		/* a new stream: its own allow/block lists follow */
		fedrules_clear(&nrules);
		return (0);
	case IMSG_CFG_FEDRULE:
		/* allow/block lists, in force at IMSG_CFG_DONE */
		if (imsg_get_data(imsg, &fr, sizeof(fr)) == -1)
			fatalx("bad IMSG_CFG_FEDRULE");
		fr.relay_id[sizeof(fr.relay_id) - 1] = '\0';
		if (fedrules_add(&nrules, &fr) == -1)
			fatal("IMSG_CFG_FEDRULE");
		return (0);
	case IMSG_CFG_CONTROL:
		if ((fd = imsg_get_fd(imsg)) == -1)
			fatalx("IMSG_CFG_CONTROL without a socket");
		control_init(&peer, fd);
		return (0);
	case IMSG_CFG_DONE:
		cfg = ncfg;
		peering_config(&cfg, &nrules);
		imsg_compose_event(iev, IMSG_CFG_ACK, 0, 0, -1, NULL, 0);
		return (0);
	case IMSG_CFG_IDENTITY:
		if (imsg_get_data(imsg, &identity, sizeof(identity)) == -1)
			fatalx("bad IMSG_CFG_IDENTITY");
		identity.relay_id[sizeof(identity.relay_id) - 1] = '\0';
		identity.public_key[sizeof(identity.public_key) - 1] = '\0';
		identity.did[sizeof(identity.did) - 1] = '\0';
		have_identity = 1;
		peering_identity(&identity);
		return (0);
	case IMSG_CTL_OK:
	case IMSG_CTL_FAIL:
		if (imsg_get_data(imsg, &res, sizeof(res)) == -1)
			fatalx("bad control answer from parent");
		res.msg[sizeof(res.msg) - 1] = '\0';
		if ((c = control_conn_byid(imsg_get_id(imsg))) != NULL)
			control_end(c, imsg_get_type(imsg) == IMSG_CTL_OK,
			    res.msg);
		return (0);
	case IMSG_CTL_SHOW_KEY:
		if (imsg_get_data(imsg, &ck, sizeof(ck)) == -1)
			fatalx("bad IMSG_CTL_SHOW_KEY");
		if ((c = control_conn_byid(imsg_get_id(imsg))) != NULL) {
			control_compose(c, IMSG_CTL_SHOW_KEY, &ck, sizeof(ck));
			control_end(c, 1, NULL);
		}
		return (0);
	}
	return (peer_dispatch_any(iev, imsg));
}

static struct status_query *
query_byid(uint32_t id)
{
	size_t	i;

	for (i = 0; i < sizeof(queries) / sizeof(queries[0]); i++)
		if (queries[i] != NULL && queries[i]->conn->id == id)
			return (queries[i]);
	return (NULL);
}

/*
 * routed's answers to relayctl show routes / show graph: the data
 * messages go to the client as they are, then OK or FAIL ends the
 * request.  The imsg peer id is the control connection's id.
 */
static int
peer_routed_ctl(struct imsg *imsg)
{
	struct ctl_result	 res;
	struct ctl_conn		*c;
	uint32_t		 type = imsg_get_type(imsg);
	size_t			 len = imsg_get_len(imsg);

	switch (type) {
	case IMSG_CTL_ROUTE:
		if (len != sizeof(struct route_candidate))
			fatalx("bad IMSG_CTL_ROUTE from routed");
		break;
	case IMSG_CTL_ROUTE_END:
		if (len != sizeof(struct route_end))
			fatalx("bad IMSG_CTL_ROUTE_END from routed");
		break;
	case IMSG_CTL_GRAPH:
		if (len < sizeof(struct ctl_text) ||
		    len > sizeof(struct ctl_text) + ROUTE_TEXT_CHUNK)
			fatalx("bad IMSG_CTL_GRAPH from routed");
		break;
	case IMSG_CTL_OK:
	case IMSG_CTL_FAIL:
		if (imsg_get_data(imsg, &res, sizeof(res)) == -1)
			fatalx("bad control answer from routed");
		res.msg[sizeof(res.msg) - 1] = '\0';
		if ((c = control_conn_byid(imsg_get_id(imsg))) != NULL)
			control_end(c, type == IMSG_CTL_OK, res.msg);
		return (0);
	default:
		return (-1);
	}
	if ((c = control_conn_byid(imsg_get_id(imsg))) != NULL)
		control_compose(c, type, imsg->data, len);
	return (0);
}

/*
 * ledgerd's answers to relayctl show agents / show agent / agent revoke:
 * IMSG_CTL_AGENT rows go to the client, OK or FAIL ends the request.
 */
static int
peer_ledgerd_ctl(struct imsg *imsg)
{
	struct ctl_result	 res;
	struct ctl_conn		*c;
	uint32_t		 type = imsg_get_type(imsg);

	switch (type) {
	case IMSG_CTL_AGENT:
		if (imsg_get_len(imsg) != sizeof(struct ctl_agent))
			fatalx("bad IMSG_CTL_AGENT from ledgerd");
		if ((c = control_conn_byid(imsg_get_id(imsg))) != NULL)
			control_compose(c, type, imsg->data,
			    imsg_get_len(imsg));
		return (0);
	case IMSG_CTL_OK:
	case IMSG_CTL_FAIL:
		if (imsg_get_data(imsg, &res, sizeof(res)) == -1)
			fatalx("bad control answer from ledgerd");
		res.msg[sizeof(res.msg) - 1] = '\0';
		if ((c = control_conn_byid(imsg_get_id(imsg))) != NULL)
			control_end(c, type == IMSG_CTL_OK, res.msg);
		return (0);
	}
	return (-1);
}

static int
peer_dispatch_any(struct imsgev *iev, struct imsg *imsg)
{
	struct status_query	*q;
	struct proc_status	 st;
	struct fe_stats		 fs;
	struct metrics_req	 mr;

	switch (imsg_get_type(imsg)) {
	case IMSG_PROC_STATUS:
		if (imsg_get_data(imsg, &st, sizeof(st)) == -1)
			fatalx("bad IMSG_PROC_STATUS from %s",
			    proc_name(iev->peer));
		st.user[sizeof(st.user) - 1] = '\0';
		st.chroot[sizeof(st.chroot) - 1] = '\0';
		st.detail[sizeof(st.detail) - 1] = '\0';
		if ((q = query_byid(st.reqid)) == NULL)
			return (0);	/* late answer */
		if (q->got < STATUS_MAX)
			q->st[q->got++] = st;
		if (q->got == q->expect)
			status_finish(q);
		return (0);
	case IMSG_LDG_STATE:
		if (iev->peer != PROC_LEDGERD ||
		    imsg_get_data(imsg, &dbstate, sizeof(dbstate)) == -1)
			fatalx("bad IMSG_LDG_STATE");
		dbstate.detail[sizeof(dbstate.detail) - 1] = '\0';
		peering_ldg_state(&dbstate);
		return (0);
	case IMSG_FE_STATS:
		if (iev->peer != PROC_FRONTEND ||
		    imsg_get_data(imsg, &fs, sizeof(fs)) == -1)
			fatalx("bad IMSG_FE_STATS");
		fs.instance = iev->instance;
		metrics_fe_stats(&fs);
		return (0);
	case IMSG_METRICS_REQ:
		if (iev->peer != PROC_FRONTEND ||
		    imsg_get_data(imsg, &mr, sizeof(mr)) == -1)
			fatalx("bad IMSG_METRICS_REQ");
		peering_metrics();
		metrics_answer(&peer, iev, mr.reqid, &dbstate);
		return (0);
	}
	if (iev->peer == PROC_ROUTED && peer_routed_ctl(imsg) == 0)
		return (0);
	if (iev->peer == PROC_LEDGERD && peer_ledgerd_ctl(imsg) == 0)
		return (0);
	/* federation requests, the peer table, signatures */
	return (peering_dispatch(iev, imsg));
}

static void
status_timeout(int fd, short event, void *arg)
{
	struct ctl_conn		*c = arg;
	struct status_query	*q;

	if ((q = query_byid(c->id)) != NULL)
		status_finish(q);
}

static int
status_cmp(const void *a, const void *b)
{
	const struct proc_status *x = a, *y = b;

	if (x->proc != y->proc)
		return (x->proc - y->proc);
	return (x->instance - y->instance);
}

static void
status_finish(struct status_query *q)
{
	struct ctl_relay_status	 rs;
	struct ctl_conn		*c = q->conn;
	size_t			 i;
	char			 msg[64];

	qsort(q->st, q->got, sizeof(q->st[0]), status_cmp);
	memset(&rs, 0, sizeof(rs));
	strlcpy(rs.relay_id, identity.relay_id, sizeof(rs.relay_id));
	strlcpy(rs.did, identity.did, sizeof(rs.did));
	strlcpy(rs.name, cfg.name, sizeof(rs.name));
	strlcpy(rs.version, PACKAGE_VERSION, sizeof(rs.version));
	rs.started = started;
	rs.db_connected = dbstate.connected;
	strlcpy(rs.db_detail, dbstate.detail, sizeof(rs.db_detail));
	control_compose(c, IMSG_CTL_STATUS_RELAY, &rs, sizeof(rs));
	for (i = 0; i < (size_t)q->got; i++)
		control_compose(c, IMSG_CTL_STATUS_PROC, &q->st[i],
		    sizeof(q->st[i]));
	if (q->got < q->expect) {
		snprintf(msg, sizeof(msg), "%d of %d processes did not "
		    "answer", q->expect - q->got, q->expect);
		control_end(c, 0, msg);
	} else
		control_end(c, 1, NULL);
	evtimer_del(&c->ev_timeout);
	for (i = 0; i < sizeof(queries) / sizeof(queries[0]); i++)
		if (queries[i] == q)
			queries[i] = NULL;
	free(q);
}

static int
status_start(struct ctl_conn *c)
{
	struct status_query	*q;
	struct proc_status_req	 req;
	struct timeval		 tv;
	enum proc_id		 id;
	size_t			 i, slot;
	int			 inst;

	for (slot = 0; slot < sizeof(queries) / sizeof(queries[0]); slot++)
		if (queries[slot] == NULL)
			break;
	if (slot == sizeof(queries) / sizeof(queries[0]))
		return (-1);
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return (-1);
	q->conn = c;
	queries[slot] = q;
	c->waiting = 1;

	proc_status_fill(&peer, &q->st[q->got++]);
	q->expect = 1;
	req.reqid = c->id;
	for (id = PROC_PARENT; id < PROC_MAX; id++) {
		if (id == PROC_PEER)
			continue;
		for (inst = 0; inst < peer.ninst[id]; inst++) {
			if (proc_iev(&peer, id, inst) == NULL)
				continue;
			if (proc_compose(&peer, id, inst,
			    IMSG_PROC_STATUS_REQ, 0, -1, &req,
			    sizeof(req)) != -1)
				q->expect++;
		}
	}
	evtimer_assign(&c->ev_timeout, peer.evbase, status_timeout, c);
	tv.tv_sec = STATUS_TIMEOUT_MS / 1000;
	tv.tv_usec = (STATUS_TIMEOUT_MS % 1000) * 1000;
	evtimer_add(&c->ev_timeout, &tv);
	for (i = 0; i < (size_t)q->got; i++)
		q->st[i].reqid = c->id;
	return (0);
}

/* A request from relayctl(8).  Returns -1 to drop the client. */
int
peer_ctl_request(struct ctl_conn *c, struct imsg *imsg)
{
	int	v, rc;

	if ((rc = peering_ctl(c, imsg)) != 1)
		return (rc);
	switch (imsg_get_type(imsg)) {
	case IMSG_CTL_SHOW_STATUS:
		if (imsg_get_len(imsg) != 0)
			return (-1);
		if (status_start(c) == -1)
			control_end(c, 0, "too many requests in progress");
		return (0);
	case IMSG_CTL_SHOW_KEY:
	case IMSG_CTL_RELOAD:
		if (imsg_get_len(imsg) != 0)
			return (-1);
		c->waiting = 1;
		log_info("control: %s requested by uid %d pid %d",
		    imsg_get_type(imsg) == IMSG_CTL_RELOAD ? "reload" :
		    "show key", (int)c->uid, (int)c->pid);
		proc_compose(&peer, PROC_PARENT, 0, imsg_get_type(imsg),
		    c->id, -1, NULL, 0);
		return (0);
	case IMSG_CTL_SHOW_ROUTES:
	case IMSG_CTL_SHOW_GRAPH:
		/* routed answers; see peer_routed_ctl() */
		if (imsg_get_len(imsg) != sizeof(struct ctl_route_req))
			return (-1);
		c->waiting = 1;
		if (proc_compose(&peer, PROC_ROUTED, 0, imsg_get_type(imsg),
		    c->id, -1, imsg->data, imsg_get_len(imsg)) == -1)
			control_end(c, 0, "routed is not reachable");
		return (0);
	case IMSG_CTL_SHOW_AGENTS:
	case IMSG_CTL_SHOW_AGENT:
	case IMSG_CTL_AGENT_REVOKE:
		/* ledgerd answers; see peer_ledgerd_ctl() */
		if (imsg_get_len(imsg) != sizeof(struct ctl_agent_req))
			return (-1);
		c->waiting = 1;
		if (imsg_get_type(imsg) == IMSG_CTL_AGENT_REVOKE)
			log_info("control: agent revoke requested by uid %d "
			    "pid %d", (int)c->uid, (int)c->pid);
		if (proc_compose(&peer, PROC_LEDGERD, 0, imsg_get_type(imsg),
		    c->id, -1, imsg->data, imsg_get_len(imsg)) == -1)
			control_end(c, 0, "ledgerd is not reachable");
		return (0);
	case IMSG_CTL_VERBOSE:
		if (imsg_get_data(imsg, &v, sizeof(v)) == -1 || v < 0 ||
		    v > 3)
			return (-1);
		c->waiting = 1;
		proc_compose(&peer, PROC_PARENT, 0, IMSG_CTL_VERBOSE, c->id,
		    -1, &v, sizeof(v));
		return (0);
	}
	return (-1);
}

void
peer_ctl_closed(struct ctl_conn *c)
{
	struct status_query	*q;
	size_t			 i;

	peering_ctl_closed(c);
	if ((q = query_byid(c->id)) == NULL)
		return;
	for (i = 0; i < sizeof(queries) / sizeof(queries[0]); i++)
		if (queries[i] == q)
			queries[i] = NULL;
	free(q);
}
