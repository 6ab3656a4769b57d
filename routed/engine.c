/*
 * routed's engine: see engine.h for the model.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "engine.h"
#include "route.h"

/* a peer relay, as the peer engine last published it */
struct eng_peer {
	RB_ENTRY(eng_peer)	 entry;
	struct peer_entry	 pe;
	uint32_t		 node;	/* ROUTE_NONE: not in the graph */
};
RB_HEAD(eng_peers, eng_peer);

/* a peer that hosts an agent, and the weights of its edge to it */
struct eng_host {
	TAILQ_ENTRY(eng_host)	 entry;
	struct eng_peer		*peer;
	struct route_ew		 ew;
};
TAILQ_HEAD(eng_hosts, eng_host);

struct eng_agent {
	RB_ENTRY(eng_agent)	 entry;
	char			 id[AGENT_ID_MAX];
	uint32_t		 node;
	int			 local;
	int			 visible;
	uint64_t		 seen;	/* load round that last saw it */
	struct route_ew		 lew;	/* self -> agent, when local */
	char			*caps;	/* NUL-separated */
	size_t			 capslen;
	uint32_t		 ncaps;
	struct eng_hosts	 hosts;
};
RB_HEAD(eng_agents, eng_agent);

struct engine {
	struct route_graph	*g;
	char			 self[RELAY_ID_MAX];
	uint32_t		 selfnode;
	struct eng_peers	 peers;
	struct eng_agents	 agents;
	uint64_t		 round;	/* local load round */

	/* from relayd.conf */
	double			 w[ROUTE_NDIM];
	int			 lexicographic;
	uint32_t		 suspend_after;

	/* the frontier from self, valid at pareto_gen */
	struct route_pareto	*pareto;
	struct route_pareto_opts popts;
	uint64_t		 pareto_gen;
	int			 pareto_valid;

	/* query scratch */
	struct route_answer	 an;
	uint32_t		*targets;
	size_t			 ntargets;
	size_t			 targetcap;
	size_t			*pick;	/* emitted alternatives */
	size_t			 pickcap;
};

static int
peer_cmp(const struct eng_peer *a, const struct eng_peer *b)
{
	return (strcmp(a->pe.relay_id, b->pe.relay_id));
}

static int
agent_cmp(const struct eng_agent *a, const struct eng_agent *b)
{
	return (strcmp(a->id, b->id));
}

RB_PROTOTYPE(eng_peers, eng_peer, entry, peer_cmp)
RB_GENERATE(eng_peers, eng_peer, entry, peer_cmp)
RB_PROTOTYPE(eng_agents, eng_agent, entry, agent_cmp)
RB_GENERATE(eng_agents, eng_agent, entry, agent_cmp)

static const char *const dim_names[ROUTE_NDIM] = {
	"trust", "cost", "latency", "reliability", "risk"
};

static const char *const policy_names[ROUTE_POLICY_MAX] = {
	"default", "weighted", "lexicographic", "cost", "trust", "latency"
};

/* relayd.conf(5): trust, cost, latency, reliability, risk */
static const double default_w[ROUTE_NDIM] = { 0.3, 0.2, 0.15, 0.15, 0.2 };

/* lexicographic orders of the policies */
static const enum route_dim lex_default[ROUTE_NDIM] = {
	ROUTE_DIM_TRUST, ROUTE_DIM_COST, ROUTE_DIM_LATENCY,
	ROUTE_DIM_RELIABILITY, ROUTE_DIM_RISK
};
static const enum route_dim lex_cost[ROUTE_NDIM] = {
	ROUTE_DIM_COST, ROUTE_DIM_TRUST, ROUTE_DIM_LATENCY,
	ROUTE_DIM_RELIABILITY, ROUTE_DIM_RISK
};
static const enum route_dim lex_trust[ROUTE_NDIM] = {
	ROUTE_DIM_TRUST, ROUTE_DIM_RELIABILITY, ROUTE_DIM_RISK,
	ROUTE_DIM_COST, ROUTE_DIM_LATENCY
};
static const enum route_dim lex_latency[ROUTE_NDIM] = {
	ROUTE_DIM_LATENCY, ROUTE_DIM_TRUST, ROUTE_DIM_COST,
	ROUTE_DIM_RELIABILITY, ROUTE_DIM_RISK
};

const char *
engine_policy_name(int p)
{
	if (p < 0 || p >= ROUTE_POLICY_MAX)
		return ("unknown");
	return (policy_names[p]);
}

const char *
engine_dim_name(int d)
{
	if (d < 0 || d >= ROUTE_NDIM)
		return ("unknown");
	return (dim_names[d]);
}

struct engine *
engine_new(void)
{
	struct engine	*e;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return (NULL);
	if ((e->g = route_graph_new()) == NULL ||
	    (e->pareto = route_pareto_new()) == NULL) {
		route_graph_free(e->g);
		free(e);
		return (NULL);
	}
	e->selfnode = ROUTE_NONE;
	RB_INIT(&e->peers);
	RB_INIT(&e->agents);
	memcpy(e->w, default_w, sizeof(e->w));
	e->suspend_after = 3;
	route_pareto_defaults(&e->popts);
	e->popts.po_max_labels = ENGINE_MAX_LABELS;
	return (e);
}

static void
agent_free(struct eng_agent *a)
{
	struct eng_host	*h;

	while ((h = TAILQ_FIRST(&a->hosts)) != NULL) {
		TAILQ_REMOVE(&a->hosts, h, entry);
		free(h);
	}
	free(a->caps);
	free(a);
}

void
engine_free(struct engine *e)
{
	struct eng_peer		*p;
	struct eng_agent	*a;

	if (e == NULL)
		return;
	while ((a = RB_MIN(eng_agents, &e->agents)) != NULL) {
		RB_REMOVE(eng_agents, &e->agents, a);
		agent_free(a);
	}
	while ((p = RB_MIN(eng_peers, &e->peers)) != NULL) {
		RB_REMOVE(eng_peers, &e->peers, p);
		free(p);
	}
	route_answer_clear(&e->an);
	route_pareto_free(e->pareto);
	route_graph_free(e->g);
	free(e->targets);
	free(e->pick);
	free(e);
}

void
engine_configure(struct engine *e, const struct cfg_global *cfg)
{
	struct eng_peer	*p, *next;
	double		 w[ROUTE_NDIM], sum = 0.0;
	size_t		 i;

	w[ROUTE_DIM_TRUST] = cfg->route_w_trust / 1e6;
	w[ROUTE_DIM_COST] = cfg->route_w_cost / 1e6;
	w[ROUTE_DIM_LATENCY] = cfg->route_w_latency / 1e6;
	w[ROUTE_DIM_RELIABILITY] = cfg->route_w_reliability / 1e6;
	w[ROUTE_DIM_RISK] = cfg->route_w_risk / 1e6;
	for (i = 0; i < ROUTE_NDIM; i++)
		sum += w[i];
	/* lexicographic ranking may leave every weight 0: the defaults */
	if (sum > 0.0)
		memcpy(e->w, w, sizeof(e->w));
	else
		memcpy(e->w, default_w, sizeof(e->w));
	e->lexicographic = cfg->route_lexicographic != 0;
	if (cfg->fed_suspend_after != e->suspend_after) {
		e->suspend_after = cfg->fed_suspend_after;
		/* reliability of the peer edges depends on it */
		RB_FOREACH_SAFE(p, eng_peers, &e->peers, next)
			(void)engine_peer_upsert(e, &p->pe);
	}
}

const char *
engine_self(const struct engine *e)
{
	return (e->self);
}

const struct route_graph *
engine_graph(const struct engine *e)
{
	return (e->g);
}

void
engine_stats(const struct engine *e, struct engine_stats *st)
{
	struct eng_peer		*p;
	struct eng_agent	*a;

	memset(st, 0, sizeof(*st));
	st->nodes = route_graph_nnodes(e->g);
	st->edges = route_graph_nedges(e->g);
	RB_FOREACH(p, eng_peers, (struct eng_peers *)&e->peers) {
		if (p->node == ROUTE_NONE)
			continue;
		st->relays++;
		if (p->pe.state == PEER_ACTIVE)
			st->active++;
	}
	RB_FOREACH(a, eng_agents, (struct eng_agents *)&e->agents) {
		st->agents++;
		if (a->local)
			st->local++;
		if (!TAILQ_EMPTY(&a->hosts))
			st->remote++;
	}
}

/*
 * Edge weights.
 */
static void
peer_ew(const struct engine *e, const struct peer_entry *pe,
    struct route_ew *ew)
{
	uint32_t	 s = e->suspend_after;

	route_ew_default(ew);
	ew->ew_trust = (pe->trust_ppm > 1000000 ? 1000000 : pe->trust_ppm) /
	    1e6;
	ew->ew_cost = pe->fee_ppm > 1000000 ? 1000000 : pe->fee_ppm;
	ew->ew_latency = pe->rtt_ms > ROUTE_LATENCY_MAX ? ROUTE_LATENCY_MAX :
	    pe->rtt_ms;
	if (s > 0)
		ew->ew_reliability = pe->missed >= s ? 0.0 :
		    (double)(s - pe->missed) / s;
}

static int
agent_ew(const struct route_agent *ra, struct route_ew *ew)
{
	if (ra->price < 0 || ra->trust_ppm > 1000000 ||
	    ra->reliability_ppm > 1000000 ||
	    ra->latency_ms > ROUTE_LATENCY_MAX) {
		errno = EINVAL;
		return (-1);
	}
	route_ew_default(ew);
	ew->ew_trust = ra->trust_ppm / 1e6;
	ew->ew_cost = ra->price;
	ew->ew_latency = ra->latency_ms;
	ew->ew_reliability = ra->reliability_ppm / 1e6;
	return (0);
}

/*
 * Nodes.
 */

/* the node named id of this kind, added if missing; EEXIST other kind */
static int
node_get(struct engine *e, const char *id, enum route_node_kind kind,
    uint32_t *n)
{
	if (route_node_add(e->g, id, kind, n) == 0)
		return (0);
	if (errno == EEXIST && route_node_kind(e->g, *n) == (int)kind)
		return (0);
	if (errno == EEXIST)
		*n = ROUTE_NONE;
	return (-1);
}

static struct eng_peer *
peer_find(struct engine *e, const char *id)
{
	struct eng_peer	 key;

	if (strlcpy(key.pe.relay_id, id, sizeof(key.pe.relay_id)) >=
	    sizeof(key.pe.relay_id))
		return (NULL);
	return (RB_FIND(eng_peers, &e->peers, &key));
}

static struct eng_agent *
agent_find(struct engine *e, const char *id)
{
	struct eng_agent key;

	if (strlcpy(key.id, id, sizeof(key.id)) >= sizeof(key.id))
		return (NULL);
	return (RB_FIND(eng_agents, &e->agents, &key));
}

/* an agent with no source left leaves the graph */
static void
agent_gc(struct engine *e, struct eng_agent *a)
{
	if (a->local || !TAILQ_EMPTY(&a->hosts))
		return;
	if (a->node != ROUTE_NONE)
		(void)route_node_remove(e->g, a->node);
	RB_REMOVE(eng_agents, &e->agents, a);
	agent_free(a);
}

/* drops every agent edge of peer p, and the agents left without a host */
static void
peer_drop_hosted(struct engine *e, struct eng_peer *p)
{
	struct eng_agent	*a, *next;
	struct eng_host		*h;

	RB_FOREACH_SAFE(a, eng_agents, &e->agents, next) {
		TAILQ_FOREACH(h, &a->hosts, entry)
			if (h->peer == p)
				break;
		if (h == NULL)
			continue;
		TAILQ_REMOVE(&a->hosts, h, entry);
		free(h);
		if (p->node != ROUTE_NONE && a->node != ROUTE_NONE)
			(void)route_edge_remove(e->g, p->node, a->node);
		agent_gc(e, a);
	}
}

/* makes the graph agree with the peer's state */
static int
peer_sync(struct engine *e, struct eng_peer *p)
{
	struct route_ew	 ew;
	uint32_t	 n;

	if (p->pe.state != PEER_ACTIVE && p->pe.state != PEER_SUSPENDED) {
		peer_drop_hosted(e, p);
		if (p->node != ROUTE_NONE)
			(void)route_node_remove(e->g, p->node);
		p->node = ROUTE_NONE;
		return (0);
	}
	if (p->node == ROUTE_NONE) {
		if (node_get(e, p->pe.relay_id, ROUTE_NODE_RELAY, &n) == -1)
			return (-1);
		p->node = n;
	}
	if (e->selfnode == ROUTE_NONE)
		return (0);
	if (p->pe.state == PEER_ACTIVE) {
		peer_ew(e, &p->pe, &ew);
		return (route_edge_set(e->g, e->selfnode, p->node, &ew));
	}
	if (route_edge_find(e->g, e->selfnode, p->node) != ROUTE_NONE)
		return (route_edge_remove(e->g, e->selfnode, p->node));
	return (0);
}

static int
peer_entry_valid(const struct peer_entry *pe)
{
	size_t	 len = strnlen(pe->relay_id, sizeof(pe->relay_id));

	return (len > 0 && len < sizeof(pe->relay_id) &&
	    pe->state >= PEER_NONE && pe->state <= PEER_REMOVED);
}

int
engine_peer_upsert(struct engine *e, const struct peer_entry *pe)
{
	struct eng_peer	*p;
	int		 rc;

	if (!peer_entry_valid(pe)) {
		errno = EINVAL;
		return (-1);
	}
	if (e->selfnode != ROUTE_NONE && strcmp(pe->relay_id, e->self) == 0) {
		errno = EEXIST;
		return (-1);
	}
	if ((p = peer_find(e, pe->relay_id)) == NULL) {
		if (pe->state != PEER_ACTIVE && pe->state != PEER_SUSPENDED)
			return (0);	/* not in the graph: nothing to keep */
		if ((p = calloc(1, sizeof(*p))) == NULL)
			return (-1);
		p->node = ROUTE_NONE;
		p->pe = *pe;
		RB_INSERT(eng_peers, &e->peers, p);
	} else if (&p->pe != pe)
		p->pe = *pe;
	rc = peer_sync(e, p);
	if (p->node == ROUTE_NONE) {
		RB_REMOVE(eng_peers, &e->peers, p);
		free(p);
	}
	return (rc);
}

int
engine_peer_delete(struct engine *e, const char *id)
{
	struct eng_peer	*p;

	if ((p = peer_find(e, id)) == NULL)
		return (0);
	p->pe.state = PEER_REMOVED;
	(void)peer_sync(e, p);
	RB_REMOVE(eng_peers, &e->peers, p);
	free(p);
	return (0);
}

int
engine_set_self(struct engine *e, const char *id)
{
	struct eng_peer		*p;
	struct eng_agent	*a;
	uint32_t		 n;

	if (e->selfnode != ROUTE_NONE)
		return (strcmp(id, e->self) == 0 ? 0 : (errno = EINVAL, -1));
	if (*id == '\0' || strlcpy(e->self, id, sizeof(e->self)) >=
	    sizeof(e->self)) {
		e->self[0] = '\0';
		errno = EINVAL;
		return (-1);
	}
	if (node_get(e, id, ROUTE_NODE_SELF, &n) == -1) {
		e->self[0] = '\0';
		return (-1);
	}
	e->selfnode = n;
	RB_FOREACH(p, eng_peers, &e->peers)
		(void)peer_sync(e, p);
	RB_FOREACH(a, eng_agents, &e->agents)
		if (a->local && a->node != ROUTE_NONE)
			(void)route_edge_set(e->g, e->selfnode, a->node,
			    &a->lew);
	return (0);
}

/*
 * Agents.
 */
static int
agent_caps(struct eng_agent *a, const struct route_agent *ra)
{
	char	*caps, *p;
	size_t	 len = 0, l;
	uint32_t i;

	for (i = 0; i < ra->ncaps; i++) {
		l = strnlen(ra->caps[i], ROUTE_CAP_MAX);
		if (l == 0 || l == ROUTE_CAP_MAX) {
			errno = EINVAL;
			return (-1);
		}
		len += l + 1;
	}
	if ((caps = malloc(len > 0 ? len : 1)) == NULL)
		return (-1);
	for (i = 0, p = caps; i < ra->ncaps; i++) {
		l = strlen(ra->caps[i]) + 1;
		memcpy(p, ra->caps[i], l);
		p += l;
	}
	free(a->caps);
	a->caps = caps;
	a->capslen = len;
	a->ncaps = ra->ncaps;
	return (0);
}

static int
agent_has_cap(const struct eng_agent *a, const char *cap)
{
	const char	*p = a->caps, *end = a->caps + a->capslen;

	while (p < end) {
		if (strcmp(p, cap) == 0)
			return (1);
		p += strlen(p) + 1;
	}
	return (0);
}

static int
is_local(const struct engine *e, const char *relay)
{
	return (*relay == '\0' || (e->self[0] != '\0' &&
	    strcmp(relay, e->self) == 0));
}

int
engine_agent_upsert(struct engine *e, const struct route_agent *ra)
{
	struct eng_agent	*a;
	struct eng_peer		*p = NULL;
	struct eng_host		*h;
	struct route_ew		 ew;
	size_t			 idlen, rlen;
	uint32_t		 n;
	int			 created = 0;

	idlen = strnlen(ra->agent_id, sizeof(ra->agent_id));
	rlen = strnlen(ra->relay_id, sizeof(ra->relay_id));
	if (idlen == 0 || idlen == sizeof(ra->agent_id) ||
	    rlen == sizeof(ra->relay_id) || ra->ncaps > ROUTE_CAPS_MAX ||
	    agent_ew(ra, &ew) == -1) {
		errno = EINVAL;
		return (-1);
	}
	if (!is_local(e, ra->relay_id) &&
	    ((p = peer_find(e, ra->relay_id)) == NULL ||
	    p->node == ROUTE_NONE)) {
		errno = ENOENT;
		return (-1);
	}
	if ((a = agent_find(e, ra->agent_id)) == NULL) {
		if (node_get(e, ra->agent_id, ROUTE_NODE_AGENT, &n) == -1)
			return (-1);
		if ((a = calloc(1, sizeof(*a))) == NULL) {
			(void)route_node_remove(e->g, n);
			return (-1);
		}
		strlcpy(a->id, ra->agent_id, sizeof(a->id));
		a->node = n;
		TAILQ_INIT(&a->hosts);
		RB_INSERT(eng_agents, &e->agents, a);
		created = 1;
	}
	if (agent_caps(a, ra) == -1)
		goto fail;
	a->visible = ra->federation_visible != 0;
	if (p == NULL) {
		a->local = 1;
		a->lew = ew;
		a->seen = e->round;
		if (e->selfnode != ROUTE_NONE && route_edge_set(e->g,
		    e->selfnode, a->node, &ew) == -1)
			goto fail;
		return (0);
	}
	TAILQ_FOREACH(h, &a->hosts, entry)
		if (h->peer == p)
			break;
	if (h == NULL) {
		if ((h = calloc(1, sizeof(*h))) == NULL)
			goto fail;
		h->peer = p;
		TAILQ_INSERT_TAIL(&a->hosts, h, entry);
	}
	h->ew = ew;
	if (route_edge_set(e->g, p->node, a->node, &ew) == -1) {
		TAILQ_REMOVE(&a->hosts, h, entry);
		free(h);
		goto fail;
	}
	return (0);
 fail:
	if (created)
		agent_gc(e, a);
	return (-1);
}

int
engine_agent_delete(struct engine *e, const char *relay, const char *id)
{
	struct eng_agent	*a;
	struct eng_host		*h;

	if ((a = agent_find(e, id)) == NULL)
		return (0);
	if (is_local(e, relay)) {
		if (a->local && e->selfnode != ROUTE_NONE)
			(void)route_edge_remove(e->g, e->selfnode, a->node);
		a->local = 0;
	} else {
		TAILQ_FOREACH(h, &a->hosts, entry)
			if (strcmp(h->peer->pe.relay_id, relay) == 0)
				break;
		if (h == NULL)
			return (0);
		(void)route_edge_remove(e->g, h->peer->node, a->node);
		TAILQ_REMOVE(&a->hosts, h, entry);
		free(h);
	}
	agent_gc(e, a);
	return (0);
}

void
engine_local_begin(struct engine *e)
{
	e->round++;
}

size_t
engine_local_end(struct engine *e)
{
	struct eng_agent	*a, *next;
	size_t			 n = 0;

	RB_FOREACH_SAFE(a, eng_agents, &e->agents, next) {
		if (!a->local || a->seen == e->round)
			continue;
		(void)engine_agent_delete(e, "", a->id);
		n++;
	}
	return (n);
}

/*
 * Queries.
 */
static int
pareto_fresh(struct engine *e)
{
	uint64_t	 gen = route_graph_generation(e->g);

	if (e->pareto_valid && e->pareto_gen == gen)
		return (0);
	e->pareto_valid = 0;
	if (route_pareto_run(e->pareto, e->g, e->selfnode, &e->popts) == -1)
		return (-1);
	e->pareto_gen = gen;
	e->pareto_valid = 1;
	return (0);
}

static int
target_add(struct engine *e, uint32_t n)
{
	uint32_t	*t;
	size_t		 cap;

	if (e->ntargets == e->targetcap) {
		cap = e->targetcap == 0 ? 64 : e->targetcap * 2;
		if ((t = reallocarray(e->targets, cap, sizeof(*t))) == NULL)
			return (-1);
		e->targets = t;
		e->targetcap = cap;
	}
	e->targets[e->ntargets++] = n;
	return (0);
}

/* the query's targets, in kind and id order */
static int
targets_collect(struct engine *e, const char *cap, int table)
{
	struct eng_peer		*p;
	struct eng_agent	*a;

	e->ntargets = 0;
	if (table && *cap == '\0') {
		RB_FOREACH(p, eng_peers, &e->peers)
			if (p->node != ROUTE_NONE && target_add(e,
			    p->node) == -1)
				return (-1);
	}
	RB_FOREACH(a, eng_agents, &e->agents) {
		if (*cap != '\0' && !agent_has_cap(a, cap))
			continue;
		if (target_add(e, a->node) == -1)
			return (-1);
	}
	return (0);
}

static void
policy_opts(const struct engine *e, int policy, struct route_rank_opts *o,
    int *applied)
{
	const enum route_dim	*lex = lex_default;

	route_rank_defaults(o);
	memcpy(o->ro_w, e->w, sizeof(o->ro_w));
	if (policy == ROUTE_POLICY_DEFAULT)
		policy = e->lexicographic ? ROUTE_POLICY_LEXICOGRAPHIC :
		    ROUTE_POLICY_WEIGHTED;
	*applied = policy;
	switch (policy) {
	case ROUTE_POLICY_WEIGHTED:
		o->ro_mode = ROUTE_RANK_WEIGHTED;
		return;
	case ROUTE_POLICY_COST:
		lex = lex_cost;
		break;
	case ROUTE_POLICY_TRUST:
		lex = lex_trust;
		break;
	case ROUTE_POLICY_LATENCY:
		lex = lex_latency;
		break;
	default:
		break;
	}
	o->ro_mode = ROUTE_RANK_LEXICOGRAPHIC;
	memcpy(o->ro_lex, lex, sizeof(o->ro_lex));
	o->ro_nlex = ROUTE_NDIM;
}

static int
dim_differs(const struct route_pathw *x, const struct route_pathw *y,
    enum route_dim d)
{
	switch (d) {
	case ROUTE_DIM_TRUST:
		return (x->pw_trust != y->pw_trust);
	case ROUTE_DIM_COST:
		return (x->pw_cost != y->pw_cost);
	case ROUTE_DIM_LATENCY:
		return (x->pw_latency != y->pw_latency);
	case ROUTE_DIM_RELIABILITY:
		return (x->pw_reliability != y->pw_reliability);
	default:
		return (x->pw_risk != y->pw_risk);
	}
}

/* what ranks a ahead of b, mirroring route_rank()'s order */
static const char *
decided(const struct route_rank_opts *o, const struct route_alt *a,
    const struct route_alt *b)
{
	size_t	 i;

	if (o->ro_mode == ROUTE_RANK_LEXICOGRAPHIC)
		for (i = 0; i < o->ro_nlex; i++)
			if (dim_differs(&a->al_w, &b->al_w, o->ro_lex[i]))
				return (dim_names[o->ro_lex[i]]);
	if (a->al_composite != b->al_composite)
		return ("composite");
	for (i = 0; i < ROUTE_NDIM; i++)
		if (dim_differs(&a->al_w, &b->al_w, lex_default[i]))
			return (dim_names[lex_default[i]]);
	return ("tie");
}

/* 1 if alternative al of e->an satisfies the query's constraints */
static int
admissible(const struct route_query *q, const struct route_alt *al)
{
	const struct route_pathw *w = &al->al_w;

	if (q->min_trust_ppm > 0 && w->pw_trust * 1e6 < q->min_trust_ppm)
		return (0);
	if (q->max_latency_ms > 0 && w->pw_latency > q->max_latency_ms)
		return (0);
	if (q->max_cost > 0 && w->pw_cost > q->max_cost)
		return (0);
	if (q->budget > 0 && w->pw_cost > q->budget)
		return (0);
	if (al->al_npath > ROUTE_PATH_MAX)
		return (0);
	return (1);
}

static struct route_candidate *
cand_new(struct engine_answer *ans)
{
	struct route_candidate	*c;
	size_t			 cap;

	if (ans->ncand == ans->capcand) {
		cap = ans->capcand == 0 ? 16 : ans->capcand * 2;
		if ((c = reallocarray(ans->cand, cap, sizeof(*c))) == NULL)
			return (NULL);
		ans->cand = c;
		ans->capcand = cap;
	}
	c = &ans->cand[ans->ncand++];
	memset(c, 0, sizeof(*c));
	return (c);
}

/* candidate from alternative i of e->an */
static int
cand_fill(struct engine *e, struct engine_answer *ans, uint32_t reqid,
    size_t i, uint32_t considered)
{
	struct route_candidate	*c;
	const struct route_alt	*al = &e->an.an_alt[i];
	const uint32_t		*path;
	size_t			 n, j;
	int			 d;

	if ((c = cand_new(ans)) == NULL)
		return (-1);
	c->reqid = reqid;
	c->rank = (uint32_t)ans->ncand;
	strlcpy(c->target, route_node_name(e->g, al->al_target),
	    sizeof(c->target));
	c->target_kind = route_node_kind(e->g, al->al_target);
	path = route_answer_path(&e->an, i, &n);
	c->npath = (uint32_t)n;
	for (j = 0; j < n; j++) {
		strlcpy(c->path[j], route_node_name(e->g, path[j]),
		    sizeof(c->path[j]));
		/* the last relay before the target: the agent's host */
		if (j > 0 && j + 1 < n &&
		    route_node_kind(e->g, path[j]) == ROUTE_NODE_RELAY)
			strlcpy(c->relay_id, c->path[j], sizeof(c->relay_id));
	}
	c->trust = al->al_w.pw_trust;
	c->cost = al->al_w.pw_cost;
	c->latency_ms = al->al_w.pw_latency;
	c->reliability = al->al_w.pw_reliability;
	c->risk = al->al_w.pw_risk;
	for (d = 0; d < ROUTE_NDIM; d++)
		c->score[d] = al->al_score[d];
	c->composite = al->al_composite;
	c->considered = considered;
	return (0);
}

static int
query_fail(struct engine_answer *ans, const char *msg)
{
	ans->ncand = 0;
	ans->end.ok = 0;
	strlcpy(ans->end.error, msg, sizeof(ans->end.error));
	return (-1);
}

static int
pick_room(struct engine *e, size_t n)
{
	size_t	*p;

	if (n <= e->pickcap)
		return (0);
	if ((p = reallocarray(e->pick, n, sizeof(*p))) == NULL)
		return (-1);
	e->pick = p;
	e->pickcap = n;
	return (0);
}

static int
cand_kind_cmp(const void *x, const void *y)
{
	const struct route_candidate *a = x, *b = y;

	if (a->target_kind != b->target_kind)
		return (a->target_kind < b->target_kind ? -1 : 1);
	return (strcmp(a->target, b->target));
}

/* ROUTE_QF_TABLE: each target's best admissible path */
static int
query_table(struct engine *e, const struct route_query *q,
    const struct route_rank_opts *o, struct engine_answer *ans)
{
	struct route_candidate	*c;
	size_t			 t, i, k;

	for (t = 0; t < e->ntargets; t++) {
		if (route_rank(e->pareto, e->g, &e->targets[t], 1, o,
		    &e->an) == -1)
			return (-1);
		ans->end.considered += (uint32_t)e->an.an_n;
		for (i = 0; i < e->an.an_n; i++)
			if (admissible(q, &e->an.an_alt[i]))
				break;
		ans->end.excluded += (uint32_t)i;
		if (i == e->an.an_n)
			continue;
		if (cand_fill(e, ans, q->reqid, i,
		    (uint32_t)e->an.an_n) == -1)
			return (-1);
		c = &ans->cand[ans->ncand - 1];
		c->rank = 1;
		for (k = i + 1; k < e->an.an_n; k++)
			if (admissible(q, &e->an.an_alt[k]))
				break;
		if (k < e->an.an_n)
			strlcpy(c->decided, decided(o, &e->an.an_alt[i],
			    &e->an.an_alt[k]), sizeof(c->decided));
	}
	if (ans->ncand > 1)
		qsort(ans->cand, ans->ncand, sizeof(*ans->cand),
		    cand_kind_cmp);
	/* a table has no common normalisation */
	ans->end.cost_lo = ans->end.cost_hi = 0;
	ans->end.latency_lo = ans->end.latency_hi = 0;
	return (0);
}

/* one ranking over every target */
static int
query_ranked(struct engine *e, const struct route_query *q,
    const struct route_rank_opts *o, size_t max, struct engine_answer *ans)
{
	size_t	 i, n = 0;

	if (route_rank(e->pareto, e->g, e->targets, e->ntargets, o,
	    &e->an) == -1)
		return (-1);
	ans->end.considered = (uint32_t)e->an.an_n;
	ans->end.cost_lo = e->an.an_cost_lo;
	ans->end.cost_hi = e->an.an_cost_hi;
	ans->end.latency_lo = e->an.an_lat_lo;
	ans->end.latency_hi = e->an.an_lat_hi;
	if (pick_room(e, max + 1) == -1)
		return (-1);
	/* one past the last emitted, to explain the last one's place */
	for (i = 0; i < e->an.an_n && n <= max; i++) {
		if (!admissible(q, &e->an.an_alt[i])) {
			ans->end.excluded++;
			continue;
		}
		e->pick[n++] = i;
	}
	for (; i < e->an.an_n; i++)
		if (!admissible(q, &e->an.an_alt[i]))
			ans->end.excluded++;
	for (i = 0; i < n && i < max; i++) {
		if (cand_fill(e, ans, q->reqid, e->pick[i],
		    (uint32_t)e->an.an_n) == -1)
			return (-1);
		if (i + 1 < n)
			strlcpy(ans->cand[i].decided, decided(o,
			    &e->an.an_alt[e->pick[i]],
			    &e->an.an_alt[e->pick[i + 1]]),
			    sizeof(ans->cand[i].decided));
	}
	return (0);
}

int
engine_query(struct engine *e, const struct route_query *q,
    struct engine_answer *ans)
{
	struct route_rank_opts	 o;
	size_t			 max, i;
	int			 applied, rc;
	char			 cap[ROUTE_CAP_MAX];

	ans->ncand = 0;
	memset(&ans->end, 0, sizeof(ans->end));
	ans->end.reqid = q->reqid;
	if (strnlen(q->capability, sizeof(q->capability)) ==
	    sizeof(q->capability))
		return (query_fail(ans, "capability name too long"));
	strlcpy(cap, q->capability, sizeof(cap));
	if (q->policy < 0 || q->policy >= ROUTE_POLICY_MAX)
		return (query_fail(ans, "unknown policy"));
	if (q->budget < 0 || q->max_cost < 0)
		return (query_fail(ans, "negative budget or cost limit"));
	if (q->min_trust_ppm > 1000000)
		return (query_fail(ans, "minimum trust above 1"));
	if (q->max_results > ROUTE_RESULTS_MAX)
		return (query_fail(ans, "too many results asked for"));
	if (q->flags & ~ROUTE_QF_TABLE)
		return (query_fail(ans, "unknown query flags"));
	max = q->max_results == 0 ? 10 : q->max_results;
	if (e->selfnode == ROUTE_NONE)
		return (query_fail(ans, "the relay identity is not known "
		    "yet"));

	policy_opts(e, q->policy, &o, &applied);
	o.ro_cost_budget = q->budget;
	ans->end.policy = applied;
	ans->end.lexicographic = o.ro_mode == ROUTE_RANK_LEXICOGRAPHIC;
	for (i = 0; i < ROUTE_NDIM; i++) {
		ans->end.weights[i] = o.ro_w[i];
		ans->end.lex[i] = i < o.ro_nlex ? (int32_t)o.ro_lex[i] : -1;
	}
	ans->end.budget = q->budget;

	if (targets_collect(e, cap, (q->flags & ROUTE_QF_TABLE) != 0) == -1 ||
	    pareto_fresh(e) == -1)
		return (query_fail(ans, strerror(errno)));
	ans->end.targets = (uint32_t)e->ntargets;
	ans->end.discarded = (uint32_t)route_pareto_discarded(e->pareto);
	if (q->flags & ROUTE_QF_TABLE)
		rc = query_table(e, q, &o, ans);
	else
		rc = query_ranked(e, q, &o, max, ans);
	if (rc == -1)
		return (query_fail(ans, strerror(errno)));
	ans->end.candidates = (uint32_t)ans->ncand;
	ans->end.ok = 1;
	return (0);
}

void
engine_answer_free(struct engine_answer *ans)
{
	free(ans->cand);
	memset(ans, 0, sizeof(*ans));
}

/*
 * Renderings.
 */
struct chosen {
	uint8_t		*node;		/* by node index */
	uint8_t		*edge;		/* by edge index */
	json_t		*paths;		/* arrays of node ids */
};

static void
chosen_free(struct chosen *ch)
{
	free(ch->node);
	free(ch->edge);
	json_decref(ch->paths);
}

/* marks the chosen paths: the best for cap, or the best to each agent */
static int
chosen_mark(struct engine *e, const char *cap, struct chosen *ch,
    char *err, size_t errlen)
{
	struct engine_answer	 ans;
	struct route_query	 q;
	json_t			*path;
	uint32_t		 u, v, ed;
	size_t			 i, j;

	memset(ch, 0, sizeof(*ch));
	memset(&ans, 0, sizeof(ans));
	if ((ch->node = calloc(route_graph_node_bound(e->g) + 1, 1)) == NULL ||
	    (ch->edge = calloc(route_graph_edge_bound(e->g) + 1, 1)) ==
	    NULL || (ch->paths = json_array()) == NULL) {
		snprintf(err, errlen, "out of memory");
		chosen_free(ch);
		return (-1);
	}
	if (e->selfnode == ROUTE_NONE)
		return (0);
	memset(&q, 0, sizeof(q));
	if (strlcpy(q.capability, cap, sizeof(q.capability)) >=
	    sizeof(q.capability)) {
		snprintf(err, errlen, "capability name too long");
		chosen_free(ch);
		return (-1);
	}
	q.max_results = 1;
	if (*cap == '\0')
		q.flags = ROUTE_QF_TABLE;
	if (engine_query(e, &q, &ans) == -1) {
		snprintf(err, errlen, "%s", ans.end.error);
		engine_answer_free(&ans);
		chosen_free(ch);
		return (-1);
	}
	for (i = 0; i < ans.ncand; i++) {
		if (ans.cand[i].target_kind != ROUTE_NODE_AGENT)
			continue;
		path = json_array();
		for (j = 0; j < ans.cand[i].npath; j++) {
			json_array_append_new(path,
			    json_string(ans.cand[i].path[j]));
			v = route_node_find(e->g, ans.cand[i].path[j]);
			if (v == ROUTE_NONE)
				continue;
			ch->node[v] = 1;
			if (j == 0)
				continue;
			u = route_node_find(e->g, ans.cand[i].path[j - 1]);
			if (u != ROUTE_NONE &&
			    (ed = route_edge_find(e->g, u, v)) != ROUTE_NONE)
				ch->edge[ed] = 1;
		}
		json_array_append_new(ch->paths, path);
	}
	engine_answer_free(&ans);
	return (0);
}

/* dot label text: quotes and backslashes escaped, controls dropped */
static void
dot_str(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			fputc('?', f);
		else
			fputc(*s, f);
	}
}

static const char *
kind_name(int k)
{
	switch (k) {
	case ROUTE_NODE_SELF:
		return ("self");
	case ROUTE_NODE_RELAY:
		return ("relay");
	case ROUTE_NODE_AGENT:
		return ("agent");
	}
	return ("unknown");
}

static const char *
state_name(int s)
{
	switch (s) {
	case PEER_ACTIVE:
		return ("active");
	case PEER_SUSPENDED:
		return ("suspended");
	case PEER_PENDING:
		return ("pending");
	case PEER_REMOVED:
		return ("removed");
	}
	return ("none");
}

/* node indices in display order: self, peers, agents (by id) */
static int
display_order(struct engine *e)
{
	struct eng_peer		*p;
	struct eng_agent	*a;

	e->ntargets = 0;
	if (e->selfnode != ROUTE_NONE && target_add(e, e->selfnode) == -1)
		return (-1);
	RB_FOREACH(p, eng_peers, &e->peers)
		if (p->node != ROUTE_NONE && target_add(e, p->node) == -1)
			return (-1);
	RB_FOREACH(a, eng_agents, &e->agents)
		if (target_add(e, a->node) == -1)
			return (-1);
	return (0);
}

static void
dot_node(struct engine *e, FILE *f, uint32_t n, int chosen)
{
	struct eng_peer		*p;
	struct eng_agent	*a;
	const char		*name = route_node_name(e->g, n), *c;

	fprintf(f, "\tn%u [label=\"", n);
	switch (route_node_kind(e->g, n)) {
	case ROUTE_NODE_SELF:
		fputs("this relay\\n", f);
		dot_str(f, name);
		fputs("\", class=\"self\", shape=doubleoctagon, "
		    "style=filled, fillcolor=\"#9ecae1\"", f);
		break;
	case ROUTE_NODE_RELAY:
		p = peer_find(e, name);
		if (p != NULL && p->pe.display_name[0] != '\0') {
			dot_str(f, p->pe.display_name);
			fputs("\\n", f);
		}
		dot_str(f, name);
		fprintf(f, "\\n(%s)\", class=\"relay\", shape=box, ",
		    state_name(p != NULL ? p->pe.state : PEER_NONE));
		if (p != NULL && p->pe.state == PEER_ACTIVE)
			fputs("style=\"rounded,filled\", "
			    "fillcolor=\"#fdd0a2\"", f);
		else
			fputs("style=\"rounded,filled,dashed\", "
			    "fillcolor=\"#eeeeee\"", f);
		break;
	default:
		dot_str(f, name);
		if ((a = agent_find(e, name)) != NULL && a->ncaps > 0) {
			fputs("\\n", f);
			for (c = a->caps; c < a->caps + a->capslen;
			    c += strlen(c) + 1) {
				if (c != a->caps)
					fputs(", ", f);
				dot_str(f, c);
			}
		}
		fputs("\", class=\"agent\", shape=ellipse, style=filled, "
		    "fillcolor=\"#c7e9c0\"", f);
		break;
	}
	if (chosen)
		fputs(", color=\"#d62728\", penwidth=3", f);
	fputs("];\n", f);
}

char *
engine_dot(struct engine *e, const char *cap, size_t *len, char *err,
    size_t errlen)
{
	struct chosen	 ch;
	struct route_ew	 ew;
	FILE		*f;
	char		*buf = NULL;
	size_t		 i, k, size = 0;
	uint32_t	 n, ed, head;

	if (chosen_mark(e, cap, &ch, err, errlen) == -1)
		return (NULL);
	if (display_order(e) == -1 ||
	    (f = open_memstream(&buf, &size)) == NULL) {
		snprintf(err, errlen, "out of memory");
		chosen_free(&ch);
		return (NULL);
	}
	fputs("digraph relayd {\n", f);
	fputs("\tgraph [rankdir=LR, labelloc=t, label=\"routing graph of ",
	    f);
	dot_str(f, e->self[0] != '\0' ? e->self : "(identity not known)");
	if (*cap != '\0') {
		fputs(", best path for capability ", f);
		dot_str(f, cap);
	} else
		fputs(", best path to each agent", f);
	fputs("\"];\n", f);
	fputs("\tnode [fontname=\"Helvetica\", fontsize=10];\n", f);
	fputs("\tedge [fontname=\"Helvetica\", fontsize=9];\n", f);
	for (i = 0; i < e->ntargets; i++)
		dot_node(e, f, e->targets[i], ch.node[e->targets[i]]);
	for (i = 0; i < e->ntargets; i++) {
		n = e->targets[i];
		for (k = 0; k < route_node_outdeg(e->g, n); k++) {
			ed = route_node_outedge(e->g, n, k);
			if (route_edge_get(e->g, ed, NULL, &head, &ew) == -1)
				continue;
			fprintf(f, "\tn%u -> n%u [label=\"t=%.2f c=%" PRId64
			    " l=%" PRId64 "ms", n, head, ew.ew_trust,
			    ew.ew_cost, ew.ew_latency);
			if (ew.ew_reliability < 1.0)
				fprintf(f, " r=%.2f", ew.ew_reliability);
			fputc('"', f);
			if (ch.edge[ed])
				fputs(", class=\"chosen\", color=\"#d62728\", "
				    "penwidth=3", f);
			fputs("];\n", f);
		}
	}
	fputs("}\n", f);
	chosen_free(&ch);
	if (fclose(f) == EOF || buf == NULL) {
		free(buf);
		snprintf(err, errlen, "out of memory");
		return (NULL);
	}
	*len = size;
	return (buf);
}

static json_t *
node_json(struct engine *e, uint32_t n, int chosen)
{
	struct eng_peer		*p;
	struct eng_agent	*a;
	struct eng_host		*h;
	const char		*name = route_node_name(e->g, n), *c;
	json_t			*o, *arr;
	int			 kind = route_node_kind(e->g, n);

	o = json_pack("{s:s,s:s}", "id", name, "kind", kind_name(kind));
	if (o == NULL)
		return (NULL);
	if (kind == ROUTE_NODE_RELAY && (p = peer_find(e, name)) != NULL) {
		json_object_set_new(o, "name",
		    json_string(p->pe.display_name));
		json_object_set_new(o, "state",
		    json_string(state_name(p->pe.state)));
		json_object_set_new(o, "trust_level",
		    json_string(p->pe.trust_level));
	}
	if (kind == ROUTE_NODE_AGENT && (a = agent_find(e, name)) != NULL) {
		arr = json_array();
		for (c = a->caps; c < a->caps + a->capslen; c += strlen(c) + 1)
			json_array_append_new(arr, json_string(c));
		json_object_set_new(o, "capabilities", arr);
		json_object_set_new(o, "local", json_boolean(a->local));
		json_object_set_new(o, "federation_visible",
		    json_boolean(a->visible));
		arr = json_array();
		TAILQ_FOREACH(h, &a->hosts, entry)
			json_array_append_new(arr,
			    json_string(h->peer->pe.relay_id));
		json_object_set_new(o, "hosts", arr);
	}
	json_object_set_new(o, "chosen", json_boolean(chosen));
	return (o);
}

char *
engine_json(struct engine *e, const char *cap, size_t *len, char *err,
    size_t errlen)
{
	struct chosen	 ch;
	struct route_ew	 ew;
	json_t		*doc, *nodes, *edges, *o;
	char		*s;
	size_t		 i, k;
	uint32_t	 n, ed, head;

	if (chosen_mark(e, cap, &ch, err, errlen) == -1)
		return (NULL);
	if (display_order(e) == -1 || (nodes = json_array()) == NULL ||
	    (edges = json_array()) == NULL) {
		snprintf(err, errlen, "out of memory");
		chosen_free(&ch);
		return (NULL);
	}
	for (i = 0; i < e->ntargets; i++) {
		n = e->targets[i];
		json_array_append_new(nodes, node_json(e, n, ch.node[n]));
		for (k = 0; k < route_node_outdeg(e->g, n); k++) {
			ed = route_node_outedge(e->g, n, k);
			if (route_edge_get(e->g, ed, NULL, &head, &ew) == -1)
				continue;
			o = json_pack("{s:s,s:s,s:f,s:I,s:I,s:f,s:f,s:b}",
			    "from", route_node_name(e->g, n),
			    "to", route_node_name(e->g, head),
			    "trust", ew.ew_trust,
			    "cost", (json_int_t)ew.ew_cost,
			    "latency_ms", (json_int_t)ew.ew_latency,
			    "reliability", ew.ew_reliability,
			    "risk", ew.ew_risk,
			    "chosen", ch.edge[ed] != 0);
			json_array_append_new(edges, o);
		}
	}
	doc = json_pack("{s:s?,s:s?,s:o,s:o,s:O}",
	    "self", e->self[0] != '\0' ? e->self : NULL,
	    "capability", *cap != '\0' ? cap : NULL,
	    "nodes", nodes, "edges", edges, "chosen", ch.paths);
	chosen_free(&ch);
	if (doc == NULL || (s = json_dumps(doc, JSON_INDENT(2) |
	    JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))) == NULL) {
		json_decref(doc);
		snprintf(err, errlen, "out of memory");
		return (NULL);
	}
	json_decref(doc);
	*len = strlen(s);
	return (s);
}
