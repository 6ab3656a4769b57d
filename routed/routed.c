/*
 * routed: the routing engine process.  It runs sandboxed with no network
 * and no file system; everything it knows arrives over imsg, and the
 * graph itself lives in the engine (engine.h):
 *
 *	parent		configuration (the routing block's weights,
 *			`suspend after'), the relay identity (self)
 *	peer engine	the peer table (IMSG_PEER_UPSERT/DELETE), agents
 *			hosted by peers (IMSG_ROUTE_AGENT_*), route queries,
 *			and relayctl's show routes / show graph
 *	ledgerd		the local agents: loaded when the session comes up
 *			(every reconnection reloads them all), then polled
 *			every AGENT_POLL_MS with the stamp routed holds, so
 *			only a change costs more than one tiny query
 *	frontend	route queries
 *
 * Every answer is computed from the graph as it is when the query
 * arrives; while PostgreSQL is down the last agents loaded keep routing.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/uio.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <event.h>

#include "engine.h"
#include "log.h"
#include "proc.h"

#define AGENT_POLL_MS	3000

static struct proc		 routed;
static struct engine		*eng;
static struct engine_answer	 answer;
static struct cfg_global	 ncfg;
static int			 have_identity;

/* the local agent directory, from ledgerd */
static struct {
	int		 connected;	/* ledgerd's session is up */
	int		 force;		/* next load ignores the stamp */
	uint32_t	 reqid;		/* load in flight, 0 none */
	uint32_t	 lastid;
	int		 begun;		/* rows of reqid arrived */
	int		 loaded;	/* one load succeeded */
	int64_t		 generation;	/* stamp of what we hold */
	int64_t		 live;
	size_t		 rows;
	struct event	 ev_poll;
} dir = { .generation = -1, .live = -1 };

static int	 routed_dispatch_parent(struct imsgev *, struct imsg *);
static int	 routed_dispatch_ledgerd(struct imsgev *, struct imsg *);
static int	 routed_dispatch_other(struct imsgev *, struct imsg *);
static void	 routed_status(struct proc *, struct proc_status *);
static void	 routed_shutdown(struct proc *);
static void	 agents_load(void);
static void	 agents_poll(int, short, void *);
static void	 ctl_release(void);
static void	 ctl_done(struct imsgev *, uint32_t, int, const char *);
static void	 ctl_show_routes(struct imsgev *, uint32_t,
		    struct ctl_route_req *);
static void	 ctl_show_graph(struct imsgev *, uint32_t,
		    struct ctl_route_req *);

static const struct proc_dispatch routed_dispatch[] = {
	{ PROC_PARENT,		routed_dispatch_parent },
	{ PROC_LEDGERD,		routed_dispatch_ledgerd },
	{ PROC_PEER,		routed_dispatch_other },
	{ PROC_FRONTEND,	routed_dispatch_other },
	{ 0,			NULL }
};

static __attribute__((__noreturn__)) void
usage(void)
{
	fprintf(stderr, "usage: routed [-dv]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	int	ch, debug = 0, verbose = 0;

	while ((ch = getopt(argc, argv, "dv")) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	if (argc != optind)
		usage();
	log_init(debug, LOG_DAEMON);
	log_setverbose(verbose + debug);

	if ((eng = engine_new()) == NULL)
		fatal("engine_new");
	memset(&routed, 0, sizeof(routed));
	routed.dispatch = routed_dispatch;
	routed.status = routed_status;
	routed.shutdown = routed_shutdown;
	proc_child_init(&routed, PROC_ROUTED, 0, "routed");
	evtimer_assign(&dir.ev_poll, routed.evbase, agents_poll, NULL);
	proc_run(&routed);
	return (0);
}

static void
routed_shutdown(struct proc *p)
{
	evtimer_del(&dir.ev_poll);
	engine_answer_free(&answer);
	engine_free(eng);
	eng = NULL;
}

static void
routed_status(struct proc *p, struct proc_status *st)
{
	struct engine_stats	 es;
	char			 agents[96];

	if (!have_identity) {
		st->healthy = 0;
		snprintf(st->detail, sizeof(st->detail),
		    "waiting for identity");
		return;
	}
	engine_stats(eng, &es);
	if (dir.loaded)
		snprintf(agents, sizeof(agents), "agents loaded%s",
		    dir.connected ? "" : " (database unavailable: "
		    "kept the last ones)");
	else
		snprintf(agents, sizeof(agents), "local agents not loaded "
		    "yet%s", dir.connected ? "" : " (database unavailable)");
	snprintf(st->detail, sizeof(st->detail), "graph: %zu nodes, %zu "
	    "edges; %zu peers (%zu active); %zu agents (%zu local, %zu "
	    "federated); %s", es.nodes, es.edges, es.relays, es.active,
	    es.agents, es.local, es.remote, agents);
	/* it serves routes once the local agents are in */
	st->healthy = dir.loaded;
}

static int
routed_dispatch_parent(struct imsgev *iev, struct imsg *imsg)
{
	struct cfg_identity	 id;

	switch (imsg_get_type(imsg)) {
	case IMSG_CFG_GLOBAL:
		if (imsg_get_data(imsg, &ncfg, sizeof(ncfg)) == -1)
			fatalx("bad IMSG_CFG_GLOBAL");
		return (0);
	case IMSG_CFG_DONE:
		engine_configure(eng, &ncfg);
		imsg_compose_event(iev, IMSG_CFG_ACK, 0, 0, -1, NULL, 0);
		return (0);
	case IMSG_CFG_IDENTITY:
		if (imsg_get_data(imsg, &id, sizeof(id)) == -1)
			fatalx("bad IMSG_CFG_IDENTITY");
		id.relay_id[sizeof(id.relay_id) - 1] = '\0';
		if (engine_set_self(eng, id.relay_id) == -1)
			fatal("relay identity %s in the routing graph",
			    id.relay_id);
		have_identity = 1;
		log_debug("graph: this relay is %s", id.relay_id);
		return (0);
	}
	return (-1);
}

/*
 * The local agents.
 */
static void
agents_poll_arm(void)
{
	struct timeval	 tv = { AGENT_POLL_MS / 1000,
	    (AGENT_POLL_MS % 1000) * 1000 };

	evtimer_add(&dir.ev_poll, &tv);
}

static void
agents_load(void)
{
	struct ldg_agent_req	 req;

	if (!dir.connected || dir.reqid != 0)
		return;
	if (++dir.lastid == 0)
		dir.lastid = 1;
	memset(&req, 0, sizeof(req));
	req.reqid = dir.lastid;
	req.generation = dir.force ? -1 : dir.generation;
	req.live = dir.force ? -1 : dir.live;
	if (proc_compose(&routed, PROC_LEDGERD, 0, IMSG_LDG_AGENT_LOAD, 0,
	    -1, &req, sizeof(req)) == -1) {
		log_warn("agents: load request");
		agents_poll_arm();
		return;
	}
	dir.force = 0;
	dir.reqid = req.reqid;
	dir.begun = 0;
	dir.rows = 0;
}

static void
agents_poll(int fd, short ev, void *arg)
{
	agents_load();
	if (dir.reqid == 0)
		agents_poll_arm();
}

static void
agents_row(struct ldg_agent_row *row)
{
	struct route_agent	*a = &row->a;
	uint32_t		 i;

	if (row->reqid != dir.reqid || dir.reqid == 0)
		return;		/* an abandoned load */
	a->agent_id[sizeof(a->agent_id) - 1] = '\0';
	a->relay_id[0] = '\0';	/* ledgerd's agents are ours */
	if (a->ncaps > ROUTE_CAPS_MAX)
		fatalx("agents: bad capability count from ledgerd");
	for (i = 0; i < a->ncaps; i++)
		a->caps[i][ROUTE_CAP_MAX - 1] = '\0';
	if (!dir.begun) {
		engine_local_begin(eng);
		dir.begun = 1;
	}
	dir.rows++;
	if (engine_agent_upsert(eng, a) == -1)
		log_warn("agents: %s not routed", a->agent_id);
}

static void
agents_loaded(struct ldg_agent_result *res)
{
	size_t	 gone;

	if (res->reqid != dir.reqid || dir.reqid == 0)
		return;
	dir.reqid = 0;
	res->error[sizeof(res->error) - 1] = '\0';
	if (!res->ok) {
		/* ledgerd went away: its state message brings us back */
		log_debug("agents: load failed: %s", res->error);
		if (dir.connected)
			agents_poll_arm();
		return;
	}
	if (!res->unchanged) {
		if (!dir.begun)
			engine_local_begin(eng);
		gone = engine_local_end(eng);
		log_info("agents: %zu local agents loaded, %zu gone "
		    "(generation %" PRId64 ")", dir.rows, gone,
		    res->generation);
		dir.generation = res->generation;
		dir.live = res->live;
	}
	dir.loaded = 1;
	ctl_release();
	if (dir.force)
		agents_load();
	if (dir.reqid == 0)
		agents_poll_arm();
}

/*
 * relayctl show routes / show graph that arrive before the local agents
 * are loaded (start-up) are held, CTL_HOLD_SEC at most, so that the
 * answer is the whole graph; more than CTL_HOLD_MAX are answered at
 * once with what there is.
 */
#define CTL_HOLD_MAX	16
#define CTL_HOLD_SEC	10

struct ctl_hold {
	int			 used;
	struct imsgev		*iev;
	uint32_t		 id;
	uint32_t		 type;
	struct ctl_route_req	 req;
	struct event		 ev;
};
static struct ctl_hold	 holds[CTL_HOLD_MAX];

static void
ctl_serve(struct imsgev *iev, uint32_t id, uint32_t type,
    struct ctl_route_req *req)
{
	if (type == IMSG_CTL_SHOW_ROUTES)
		ctl_show_routes(iev, id, req);
	else
		ctl_show_graph(iev, id, req);
}

static void
ctl_hold_expired(int fd, short event, void *arg)
{
	struct ctl_hold	*h = arg;

	h->used = 0;
	ctl_done(h->iev, h->id, 0, "the local agents are not loaded yet "
	    "(not ready within 10 s)");
}

static void
ctl_hold(struct imsgev *iev, uint32_t id, uint32_t type,
    struct ctl_route_req *req)
{
	struct timeval	 tv = { CTL_HOLD_SEC, 0 };
	size_t		 i;

	for (i = 0; i < CTL_HOLD_MAX; i++)
		if (!holds[i].used)
			break;
	if (dir.loaded || i == CTL_HOLD_MAX) {
		ctl_serve(iev, id, type, req);
		return;
	}
	holds[i].used = 1;
	holds[i].iev = iev;
	holds[i].id = id;
	holds[i].type = type;
	holds[i].req = *req;
	evtimer_assign(&holds[i].ev, routed.evbase, ctl_hold_expired,
	    &holds[i]);
	evtimer_add(&holds[i].ev, &tv);
	log_debug("control request %u held until the agents are loaded", id);
}

static void
ctl_release(void)
{
	size_t	 i;

	for (i = 0; i < CTL_HOLD_MAX; i++) {
		if (!holds[i].used)
			continue;
		evtimer_del(&holds[i].ev);
		holds[i].used = 0;
		ctl_serve(holds[i].iev, holds[i].id, holds[i].type,
		    &holds[i].req);
	}
}

static int
routed_dispatch_ledgerd(struct imsgev *iev, struct imsg *imsg)
{
	struct ldg_state	 st;
	struct ldg_agent_row	 row;
	struct ldg_agent_result	 res;

	switch (imsg_get_type(imsg)) {
	case IMSG_LDG_STATE:
		if (imsg_get_data(imsg, &st, sizeof(st)) == -1)
			fatalx("bad IMSG_LDG_STATE");
		if (st.connected && !dir.connected) {
			/* a new session: reload everything */
			dir.connected = 1;
			dir.force = 1;
			agents_load();
		} else if (!st.connected && dir.connected) {
			dir.connected = 0;
			evtimer_del(&dir.ev_poll);
		}
		return (0);
	case IMSG_LDG_AGENT_ROW:
		if (imsg_get_data(imsg, &row, sizeof(row)) == -1)
			fatalx("bad IMSG_LDG_AGENT_ROW");
		agents_row(&row);
		return (0);
	case IMSG_LDG_AGENT_LOADED:
		if (imsg_get_data(imsg, &res, sizeof(res)) == -1)
			fatalx("bad IMSG_LDG_AGENT_LOADED");
		agents_loaded(&res);
		return (0);
	}
	return (-1);
}

/*
 * Queries and relayctl.
 */
static void
peer_entry_terminate(struct peer_entry *pe)
{
	pe->relay_id[sizeof(pe->relay_id) - 1] = '\0';
	pe->public_key[sizeof(pe->public_key) - 1] = '\0';
	pe->endpoint[sizeof(pe->endpoint) - 1] = '\0';
	pe->display_name[sizeof(pe->display_name) - 1] = '\0';
	pe->trust_level[sizeof(pe->trust_level) - 1] = '\0';
}

static void
route_query(struct imsgev *iev, struct route_query *q)
{
	size_t	 i;

	q->capability[sizeof(q->capability) - 1] = '\0';
	(void)engine_query(eng, q, &answer);
	for (i = 0; i < answer.ncand; i++)
		imsg_compose_event(iev, IMSG_ROUTE_CANDIDATE, 0, 0, -1,
		    &answer.cand[i], sizeof(answer.cand[i]));
	imsg_compose_event(iev, IMSG_ROUTE_END, 0, 0, -1, &answer.end,
	    sizeof(answer.end));
}

static void
ctl_done(struct imsgev *iev, uint32_t id, int ok, const char *msg)
{
	struct ctl_result	 res;

	memset(&res, 0, sizeof(res));
	strlcpy(res.msg, msg != NULL ? msg : "", sizeof(res.msg));
	imsg_compose_event(iev, ok ? IMSG_CTL_OK : IMSG_CTL_FAIL, id, 0, -1,
	    &res, sizeof(res));
}

static void
ctl_show_routes(struct imsgev *iev, uint32_t id, struct ctl_route_req *req)
{
	struct route_query	 q;
	size_t			 i;

	memset(&q, 0, sizeof(q));
	strlcpy(q.capability, req->capability, sizeof(q.capability));
	if (q.capability[0] == '\0')
		q.flags = ROUTE_QF_TABLE;
	q.max_results = ROUTE_RESULTS_MAX;
	if (engine_query(eng, &q, &answer) == -1) {
		ctl_done(iev, id, 0, answer.end.error);
		return;
	}
	for (i = 0; i < answer.ncand; i++)
		imsg_compose_event(iev, IMSG_CTL_ROUTE, id, 0, -1,
		    &answer.cand[i], sizeof(answer.cand[i]));
	imsg_compose_event(iev, IMSG_CTL_ROUTE_END, id, 0, -1, &answer.end,
	    sizeof(answer.end));
	ctl_done(iev, id, 1, NULL);
}

static void
ctl_show_graph(struct imsgev *iev, uint32_t id, struct ctl_route_req *req)
{
	struct ctl_text	 hdr;
	struct iovec	 iov[2];
	char		*text, err[128];
	size_t		 len, off, n;

	if (req->json)
		text = engine_json(eng, req->capability, &len, err,
		    sizeof(err));
	else
		text = engine_dot(eng, req->capability, &len, err,
		    sizeof(err));
	if (text == NULL) {
		ctl_done(iev, id, 0, err);
		return;
	}
	off = 0;
	do {
		n = len - off > ROUTE_TEXT_CHUNK ? ROUTE_TEXT_CHUNK :
		    len - off;
		memset(&hdr, 0, sizeof(hdr));
		hdr.last = off + n == len;
		iov[0].iov_base = &hdr;
		iov[0].iov_len = sizeof(hdr);
		iov[1].iov_base = text + off;
		iov[1].iov_len = n;
		if (imsg_composev_event(iev, IMSG_CTL_GRAPH, id, 0, -1, iov,
		    2) == -1)
			fatal("%s: imsg_composev_event", __func__);
		off += n;
	} while (off < len);
	free(text);
	ctl_done(iev, id, 1, NULL);
}

static int
routed_dispatch_other(struct imsgev *iev, struct imsg *imsg)
{
	struct peer_entry	 pe;
	struct route_agent	 ra;
	struct route_query	 q;
	struct ctl_route_req	 req;
	uint32_t		 type = imsg_get_type(imsg), i;

	switch (type) {
	case IMSG_PEER_UPSERT:
	case IMSG_PEER_DELETE:
		if (iev->peer != PROC_PEER ||
		    imsg_get_data(imsg, &pe, sizeof(pe)) == -1)
			fatalx("bad peer table message from %s",
			    proc_name(iev->peer));
		peer_entry_terminate(&pe);
		if (type == IMSG_PEER_DELETE)
			(void)engine_peer_delete(eng, pe.relay_id);
		else if (engine_peer_upsert(eng, &pe) == -1)
			log_warn("graph: peer %s", pe.relay_id);
		log_debug("graph: peer %s %s", pe.relay_id,
		    type == IMSG_PEER_DELETE ? "deleted" :
		    pe.state == PEER_ACTIVE ? "active" :
		    pe.state == PEER_SUSPENDED ? "suspended" : "out");
		return (0);
	case IMSG_ROUTE_AGENT_UPSERT:
	case IMSG_ROUTE_AGENT_DELETE:
		if (iev->peer != PROC_PEER ||
		    imsg_get_data(imsg, &ra, sizeof(ra)) == -1 ||
		    ra.ncaps > ROUTE_CAPS_MAX)
			fatalx("bad federated agent message from %s",
			    proc_name(iev->peer));
		ra.agent_id[sizeof(ra.agent_id) - 1] = '\0';
		ra.relay_id[sizeof(ra.relay_id) - 1] = '\0';
		for (i = 0; i < ra.ncaps; i++)
			ra.caps[i][ROUTE_CAP_MAX - 1] = '\0';
		if (ra.relay_id[0] == '\0')
			fatalx("federated agent without a host from %s",
			    proc_name(iev->peer));
		if (type == IMSG_ROUTE_AGENT_DELETE)
			(void)engine_agent_delete(eng, ra.relay_id,
			    ra.agent_id);
		else if (engine_agent_upsert(eng, &ra) == -1)
			log_warn("graph: agent %s at %s", ra.agent_id,
			    ra.relay_id);
		return (0);
	case IMSG_ROUTE_QUERY:
		if (imsg_get_data(imsg, &q, sizeof(q)) == -1)
			fatalx("bad IMSG_ROUTE_QUERY from %s",
			    proc_name(iev->peer));
		route_query(iev, &q);
		return (0);
	case IMSG_CTL_SHOW_ROUTES:
	case IMSG_CTL_SHOW_GRAPH:
		if (iev->peer != PROC_PEER ||
		    imsg_get_data(imsg, &req, sizeof(req)) == -1)
			fatalx("bad control request from %s",
			    proc_name(iev->peer));
		req.capability[sizeof(req.capability) - 1] = '\0';
		ctl_hold(iev, imsg_get_id(imsg), type, &req);
		return (0);
	}
	return (-1);
}
