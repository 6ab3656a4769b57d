/*
 * routed's engine without imsg: graph maintenance as peers come, go,
 * are suspended and re-trusted; the local agent directory; queries and
 * their explanations (every reported path is real and its weights are
 * recomputed here from the graph's edges); the dot and JSON renderings.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "engine.h"
#include "route.h"

#define SELF	"relay-00000000-0000-4000-8000-000000000001"
#define PEER_B	"relay-00000000-0000-4000-8000-00000000000b"
#define PEER_C	"relay-00000000-0000-4000-8000-00000000000c"

static struct peer_entry
peer(const char *id, int state, uint32_t trust, uint32_t rtt, uint32_t fee)
{
	struct peer_entry	 pe;

	memset(&pe, 0, sizeof(pe));
	strlcpy(pe.relay_id, id, sizeof(pe.relay_id));
	strlcpy(pe.display_name, id + strlen(id) - 1,
	    sizeof(pe.display_name));
	strlcpy(pe.trust_level, "verified", sizeof(pe.trust_level));
	pe.state = state;
	pe.trust_ppm = trust;
	pe.rtt_ms = rtt;
	pe.fee_ppm = fee;
	return (pe);
}

static struct route_agent
agent(const char *id, const char *host, int64_t price, uint32_t lat,
    uint32_t trust, const char *cap1, const char *cap2)
{
	struct route_agent	 ra;

	memset(&ra, 0, sizeof(ra));
	strlcpy(ra.agent_id, id, sizeof(ra.agent_id));
	strlcpy(ra.relay_id, host, sizeof(ra.relay_id));
	ra.price = price;
	ra.latency_ms = lat;
	ra.trust_ppm = trust;
	ra.reliability_ppm = 1000000;
	ra.federation_visible = 1;
	if (cap1 != NULL)
		strlcpy(ra.caps[ra.ncaps++], cap1, ROUTE_CAP_MAX);
	if (cap2 != NULL)
		strlcpy(ra.caps[ra.ncaps++], cap2, ROUTE_CAP_MAX);
	return (ra);
}

static uint32_t
node(struct engine *e, const char *id)
{
	return (route_node_find(engine_graph(e), id));
}

/* the weights of edge u -> v, which must exist */
static struct route_ew
edge(struct engine *e, const char *u, const char *v)
{
	const struct route_graph *g = engine_graph(e);
	struct route_ew		 ew;
	uint32_t		 ed;

	ed = route_edge_find(g, node(e, u), node(e, v));
	ck_assert_msg(ed != ROUTE_NONE, "no edge %s -> %s", u, v);
	ck_assert_int_eq(route_edge_get(g, ed, NULL, NULL, &ew), 0);
	return (ew);
}

static int
has_edge(struct engine *e, const char *u, const char *v)
{
	uint32_t	 a = node(e, u), b = node(e, v);

	if (a == ROUTE_NONE || b == ROUTE_NONE)
		return (0);
	return (route_edge_find(engine_graph(e), a, b) != ROUTE_NONE);
}

/*
 * The candidate names a real path from this relay to its target, and
 * its weights are exactly those of that path's edges, composed from the
 * source; the composite is the weighted mean of its sub-scores.
 */
static void
check_candidate(struct engine *e, const struct route_candidate *c,
    const struct route_end *end)
{
	struct route_ew	 ew;
	double		 trust = 1.0, rel = 1.0, ok = 1.0, num = 0, den = 0;
	int64_t		 cost = 0, lat = 0;
	uint32_t	 j;
	int		 d;

	ck_assert_uint_ge(c->npath, 2);
	ck_assert_uint_le(c->npath, ROUTE_PATH_MAX);
	ck_assert_str_eq(c->path[0], engine_self(e));
	ck_assert_str_eq(c->path[c->npath - 1], c->target);
	for (j = 1; j < c->npath; j++) {
		ew = edge(e, c->path[j - 1], c->path[j]);
		trust *= ew.ew_trust;
		cost += ew.ew_cost;
		lat += ew.ew_latency;
		rel *= ew.ew_reliability;
		ok *= 1.0 - ew.ew_risk;
	}
	ck_assert_msg(trust == c->trust, "trust %.17g != %.17g", trust,
	    c->trust);
	ck_assert_int_eq(cost, c->cost);
	ck_assert_int_eq(lat, c->latency_ms);
	ck_assert_msg(rel == c->reliability, "reliability");
	ck_assert_msg(fabs((1.0 - ok) - c->risk) < 1e-12, "risk");
	for (d = 0; d < 5; d++) {
		ck_assert(c->score[d] >= 0.0 && c->score[d] <= 1.0);
		num += end->weights[d] * c->score[d];
		den += end->weights[d];
	}
	ck_assert_msg(fabs(num / den - c->composite) < 1e-12,
	    "composite %.17g != %.17g", num / den, c->composite);
	ck_assert_double_eq(c->score[0], c->trust);
}

static int
query(struct engine *e, const char *cap, int policy,
    struct engine_answer *ans)
{
	struct route_query	 q;

	memset(&q, 0, sizeof(q));
	q.reqid = 7;
	strlcpy(q.capability, cap, sizeof(q.capability));
	q.policy = policy;
	q.max_results = ROUTE_RESULTS_MAX;
	return (engine_query(e, &q, ans));
}

/* self, B (active, trusted, expensive, fast), C (active, cheaper, slow) */
static struct engine *
fixture(void)
{
	struct engine		*e;
	struct peer_entry	 pe;
	struct route_agent	 ra;

	ck_assert_ptr_nonnull(e = engine_new());
	ck_assert_int_eq(engine_set_self(e, SELF), 0);
	pe = peer(PEER_B, PEER_ACTIVE, 900000, 35, 50000);
	ck_assert_int_eq(engine_peer_upsert(e, &pe), 0);
	pe = peer(PEER_C, PEER_ACTIVE, 600000, 80, 10000);
	ck_assert_int_eq(engine_peer_upsert(e, &pe), 0);
	engine_local_begin(e);
	ra = agent("local-reader", "", 2000, 100, 500000, "read_url", NULL);
	ck_assert_int_eq(engine_agent_upsert(e, &ra), 0);
	ra = agent("local-summ", "", 0, 100, 900000, "summarize", NULL);
	ck_assert_int_eq(engine_agent_upsert(e, &ra), 0);
	ck_assert_uint_eq(engine_local_end(e), 0);
	ra = agent("b-reader", PEER_B, 1000, 20, 900000, "read_url",
	    "summarize");
	ck_assert_int_eq(engine_agent_upsert(e, &ra), 0);
	ra = agent("c-reader", PEER_C, 500, 300, 800000, "read_url", NULL);
	ck_assert_int_eq(engine_agent_upsert(e, &ra), 0);
	return (e);
}

START_TEST(test_peer_lifecycle)
{
	struct engine		*e;
	struct engine_stats	 st;
	struct peer_entry	 pe;
	struct route_ew		 ew;
	uint64_t		 gen;

	ck_assert_ptr_nonnull(e = engine_new());
	/* a peer known before the identity gets its edge with it */
	pe = peer(PEER_B, PEER_ACTIVE, 900000, 35, 50000);
	ck_assert_int_eq(engine_peer_upsert(e, &pe), 0);
	ck_assert_uint_eq(route_graph_nedges(engine_graph(e)), 0);
	ck_assert_int_eq(engine_set_self(e, SELF), 0);
	ck_assert_int_eq(engine_set_self(e, SELF), 0);
	ck_assert_int_eq(engine_set_self(e, PEER_C), -1);
	ck_assert_int_eq(route_node_kind(engine_graph(e), node(e, SELF)),
	    ROUTE_NODE_SELF);
	ck_assert_int_eq(route_node_kind(engine_graph(e), node(e, PEER_B)),
	    ROUTE_NODE_RELAY);
	ew = edge(e, SELF, PEER_B);
	ck_assert_double_eq(ew.ew_trust, 0.9);
	ck_assert_int_eq(ew.ew_cost, 50000);
	ck_assert_int_eq(ew.ew_latency, 35);
	ck_assert_double_eq(ew.ew_reliability, 1.0);
	ck_assert_double_eq(ew.ew_risk, 0.0);

	/* pending peers stay out of the graph */
	pe = peer(PEER_C, PEER_PENDING, 500000, 0, 0);
	ck_assert_int_eq(engine_peer_upsert(e, &pe), 0);
	ck_assert_uint_eq(node(e, PEER_C), ROUTE_NONE);
	ck_assert_uint_eq(route_graph_nnodes(engine_graph(e)), 2);

	/* missed heartbeats lower the reliability (suspend after 3) */
	pe = peer(PEER_B, PEER_ACTIVE, 900000, 35, 50000);
	pe.missed = 1;
	ck_assert_int_eq(engine_peer_upsert(e, &pe), 0);
	ck_assert_double_eq(edge(e, SELF, PEER_B).ew_reliability, 2.0 / 3);

	/* suspended: the edge goes, the node stays */
	gen = route_graph_generation(engine_graph(e));
	pe.state = PEER_SUSPENDED;
	ck_assert_int_eq(engine_peer_upsert(e, &pe), 0);
	ck_assert_uint_gt(route_graph_generation(engine_graph(e)), gen);
	ck_assert(!has_edge(e, SELF, PEER_B));
	ck_assert_uint_ne(node(e, PEER_B), ROUTE_NONE);
	engine_stats(e, &st);
	ck_assert_uint_eq(st.relays, 1);
	ck_assert_uint_eq(st.active, 0);

	/* active again, re-trusted: the edge is back with new weights */
	pe = peer(PEER_B, PEER_ACTIVE, 600000, 12, 20000);
	ck_assert_int_eq(engine_peer_upsert(e, &pe), 0);
	ew = edge(e, SELF, PEER_B);
	ck_assert_double_eq(ew.ew_trust, 0.6);
	ck_assert_int_eq(ew.ew_latency, 12);
	ck_assert_int_eq(ew.ew_cost, 20000);
	ck_assert_uint_eq(route_graph_nedges(engine_graph(e)), 1);

	/* removed: node and edge go */
	pe.state = PEER_REMOVED;
	ck_assert_int_eq(engine_peer_upsert(e, &pe), 0);
	ck_assert_uint_eq(node(e, PEER_B), ROUTE_NONE);
	ck_assert_uint_eq(route_graph_nnodes(engine_graph(e)), 1);
	ck_assert_uint_eq(route_graph_nedges(engine_graph(e)), 0);

	/* and back, then deleted outright */
	pe.state = PEER_ACTIVE;
	ck_assert_int_eq(engine_peer_upsert(e, &pe), 0);
	ck_assert(has_edge(e, SELF, PEER_B));
	ck_assert_int_eq(engine_peer_delete(e, PEER_B), 0);
	ck_assert_uint_eq(node(e, PEER_B), ROUTE_NONE);
	ck_assert_int_eq(engine_peer_delete(e, PEER_B), 0);

	/* our own id is not a peer; an empty id is refused */
	pe = peer(SELF, PEER_ACTIVE, 900000, 1, 0);
	ck_assert_int_eq(engine_peer_upsert(e, &pe), -1);
	ck_assert_int_eq(errno, EEXIST);
	pe = peer("", PEER_ACTIVE, 900000, 1, 0);
	ck_assert_int_eq(engine_peer_upsert(e, &pe), -1);
	ck_assert_int_eq(errno, EINVAL);
	engine_free(e);
}
END_TEST

START_TEST(test_agents)
{
	struct engine		*e;
	struct engine_stats	 st;
	struct route_agent	 ra;
	struct peer_entry	 pe;
	struct route_ew		 ew;

	ck_assert_ptr_nonnull(e = engine_new());
	/* agents loaded before the identity hang off self once it comes */
	engine_local_begin(e);
	ra = agent("a1", "", 1500, 40, 700000, "read_url", "summarize");
	ck_assert_int_eq(engine_agent_upsert(e, &ra), 0);
	ra = agent("a2", "", 0, 0, 500000, NULL, NULL);
	ck_assert_int_eq(engine_agent_upsert(e, &ra), 0);
	ck_assert_uint_eq(engine_local_end(e), 0);
	ck_assert_int_eq(engine_set_self(e, SELF), 0);
	ew = edge(e, SELF, "a1");
	ck_assert_double_eq(ew.ew_trust, 0.7);
	ck_assert_int_eq(ew.ew_cost, 1500);
	ck_assert_int_eq(ew.ew_latency, 40);
	ck_assert(has_edge(e, SELF, "a2"));

	/* a reload without a2 sweeps it; a1's new price replaces the old */
	engine_local_begin(e);
	ra = agent("a1", SELF, 900, 40, 700000, "read_url", NULL);
	ck_assert_int_eq(engine_agent_upsert(e, &ra), 0);
	ck_assert_uint_eq(engine_local_end(e), 1);
	ck_assert_uint_eq(node(e, "a2"), ROUTE_NONE);
	ck_assert_int_eq(edge(e, SELF, "a1").ew_cost, 900);

	/* bad rows */
	ra = agent("a3", "", 0, 0, 1000001, NULL, NULL);
	ck_assert_int_eq(engine_agent_upsert(e, &ra), -1);
	ck_assert_int_eq(errno, EINVAL);
	ra = agent("a3", "", -1, 0, 1, NULL, NULL);
	ck_assert_int_eq(engine_agent_upsert(e, &ra), -1);
	ra = agent("", "", 0, 0, 1, NULL, NULL);
	ck_assert_int_eq(engine_agent_upsert(e, &ra), -1);
	ra = agent("a3", "", 0, 0, 1, "", NULL);
	ck_assert_int_eq(engine_agent_upsert(e, &ra), -1);
	ck_assert_uint_eq(node(e, "a3"), ROUTE_NONE);
	/* an agent may not take a relay's id */
	ra = agent(SELF, "", 0, 0, 1, NULL, NULL);
	ck_assert_int_eq(engine_agent_upsert(e, &ra), -1);
	ck_assert_int_eq(errno, EEXIST);

	/* federated: the host must be a peer in the graph */
	ra = agent("remote", PEER_B, 100, 5, 500000, "read_url", NULL);
	ck_assert_int_eq(engine_agent_upsert(e, &ra), -1);
	ck_assert_int_eq(errno, ENOENT);
	pe = peer(PEER_B, PEER_ACTIVE, 900000, 35, 50000);
	ck_assert_int_eq(engine_peer_upsert(e, &pe), 0);
	ck_assert_int_eq(engine_agent_upsert(e, &ra), 0);
	ck_assert(has_edge(e, PEER_B, "remote"));
	/* a1 is also known through B: both edges */
	ra = agent("a1", PEER_B, 800, 5, 500000, "read_url", NULL);
	ck_assert_int_eq(engine_agent_upsert(e, &ra), 0);
	ck_assert(has_edge(e, PEER_B, "a1"));
	ck_assert(has_edge(e, SELF, "a1"));
	engine_stats(e, &st);
	ck_assert_uint_eq(st.agents, 2);
	ck_assert_uint_eq(st.local, 1);
	ck_assert_uint_eq(st.remote, 2);

	/* suspended: B's agents stay, unreachable; active: back */
	pe.state = PEER_SUSPENDED;
	ck_assert_int_eq(engine_peer_upsert(e, &pe), 0);
	ck_assert(has_edge(e, PEER_B, "remote"));
	ck_assert(!has_edge(e, SELF, PEER_B));
	pe.state = PEER_ACTIVE;
	ck_assert_int_eq(engine_peer_upsert(e, &pe), 0);
	ck_assert(has_edge(e, SELF, PEER_B));

	/* removed: its agents go, a1 stays local */
	pe.state = PEER_REMOVED;
	ck_assert_int_eq(engine_peer_upsert(e, &pe), 0);
	ck_assert_uint_eq(node(e, "remote"), ROUTE_NONE);
	ck_assert(has_edge(e, SELF, "a1"));
	ck_assert_uint_eq(route_graph_nnodes(engine_graph(e)), 2);
	ck_assert_uint_eq(route_graph_nedges(engine_graph(e)), 1);

	/* explicit deletions */
	ck_assert_int_eq(engine_agent_delete(e, "", "a1"), 0);
	ck_assert_uint_eq(node(e, "a1"), ROUTE_NONE);
	ck_assert_int_eq(engine_agent_delete(e, "", "a1"), 0);
	engine_free(e);
}
END_TEST

START_TEST(test_query_ranked)
{
	struct engine		*e = fixture();
	struct engine_answer	 ans;
	struct peer_entry	 pe;
	size_t			 i;
	int			 seen_b = 0;

	memset(&ans, 0, sizeof(ans));
	ck_assert_int_eq(query(e, "read_url", ROUTE_POLICY_DEFAULT, &ans), 0);
	ck_assert_int_eq(ans.end.ok, 1);
	ck_assert_uint_eq(ans.end.reqid, 7);
	ck_assert_int_eq(ans.end.policy, ROUTE_POLICY_WEIGHTED);
	ck_assert_uint_eq(ans.end.targets, 3);
	/* one frontier path per agent here (one route to each) */
	ck_assert_uint_eq(ans.end.considered, 3);
	ck_assert_uint_eq(ans.ncand, 3);
	ck_assert_uint_eq(ans.end.candidates, 3);
	ck_assert_uint_eq(ans.end.excluded, 0);
	ck_assert_int_eq(ans.end.cost_lo, 2000);	/* local-reader */
	ck_assert_int_eq(ans.end.cost_hi, 51000);	/* via B */
	for (i = 0; i < ans.ncand; i++) {
		check_candidate(e, &ans.cand[i], &ans.end);
		ck_assert_uint_eq(ans.cand[i].rank, i + 1);
		ck_assert_uint_eq(ans.cand[i].reqid, 7);
		ck_assert_uint_eq(ans.cand[i].considered, 3);
		ck_assert_int_eq(ans.cand[i].target_kind, ROUTE_NODE_AGENT);
		if (i > 0)
			ck_assert(ans.cand[i - 1].composite >=
			    ans.cand[i].composite);
		if (i + 1 < ans.ncand)
			ck_assert_str_ne(ans.cand[i].decided, "");
		else
			ck_assert_str_eq(ans.cand[i].decided, "");
		if (strcmp(ans.cand[i].target, "b-reader") == 0) {
			seen_b = 1;
			ck_assert_str_eq(ans.cand[i].relay_id, PEER_B);
			ck_assert_uint_eq(ans.cand[i].npath, 3);
			ck_assert_str_eq(ans.cand[i].path[1], PEER_B);
			ck_assert_int_eq(ans.cand[i].cost, 51000);
			ck_assert_int_eq(ans.cand[i].latency_ms, 55);
			ck_assert_double_eq(ans.cand[i].trust, 0.9 * 0.9);
		}
		if (strcmp(ans.cand[i].target, "local-reader") == 0) {
			ck_assert_str_eq(ans.cand[i].relay_id, "");
			ck_assert_uint_eq(ans.cand[i].npath, 2);
		}
	}
	ck_assert(seen_b);

	/* the policies put their own dimension first */
	ck_assert_int_eq(query(e, "read_url", ROUTE_POLICY_COST, &ans), 0);
	ck_assert_str_eq(ans.cand[0].target, "local-reader");
	ck_assert_str_eq(ans.cand[0].decided, "cost");
	ck_assert_int_eq(ans.end.lexicographic, 1);
	ck_assert_int_eq(ans.end.lex[0], ROUTE_DIM_COST);
	for (i = 1; i < ans.ncand; i++)
		ck_assert_int_le(ans.cand[i - 1].cost, ans.cand[i].cost);
	ck_assert_int_eq(query(e, "read_url", ROUTE_POLICY_TRUST, &ans), 0);
	ck_assert_str_eq(ans.cand[0].target, "b-reader");
	for (i = 1; i < ans.ncand; i++)
		ck_assert(ans.cand[i - 1].trust >= ans.cand[i].trust);
	ck_assert_int_eq(query(e, "read_url", ROUTE_POLICY_LATENCY, &ans), 0);
	ck_assert_str_eq(ans.cand[0].target, "b-reader");
	ck_assert_str_eq(ans.cand[0].decided, "latency");
	for (i = 1; i < ans.ncand; i++)
		ck_assert_int_le(ans.cand[i - 1].latency_ms,
		    ans.cand[i].latency_ms);

	/* the configured mode is the default policy */
	{
		struct cfg_global	 cfg;

		memset(&cfg, 0, sizeof(cfg));
		cfg.route_w_trust = 1000000;
		cfg.route_lexicographic = 1;
		cfg.fed_suspend_after = 3;
		engine_configure(e, &cfg);
		ck_assert_int_eq(query(e, "read_url", ROUTE_POLICY_DEFAULT,
		    &ans), 0);
		ck_assert_int_eq(ans.end.policy, ROUTE_POLICY_LEXICOGRAPHIC);
		ck_assert_double_eq(ans.end.weights[0], 1.0);
		ck_assert_double_eq(ans.end.weights[1], 0.0);
		ck_assert_str_eq(ans.cand[0].target, "b-reader");
		ck_assert_str_eq(ans.cand[0].decided, "trust");
		for (i = 0; i < ans.ncand; i++)
			check_candidate(e, &ans.cand[i], &ans.end);
		/* all weights 0: the defaults break the ties */
		cfg.route_w_trust = 0;
		engine_configure(e, &cfg);
		ck_assert_int_eq(query(e, "read_url", ROUTE_POLICY_DEFAULT,
		    &ans), 0);
		ck_assert_double_eq(ans.end.weights[0], 0.3);
		ck_assert_double_eq(ans.end.weights[4], 0.2);
		cfg.route_lexicographic = 0;
		cfg.route_w_trust = 300000;
		cfg.route_w_cost = 200000;
		cfg.route_w_latency = 150000;
		cfg.route_w_reliability = 150000;
		cfg.route_w_risk = 200000;
		engine_configure(e, &cfg);
	}

	/* suspending B takes its agent out of the answer; back after */
	pe = peer(PEER_B, PEER_SUSPENDED, 900000, 35, 50000);
	ck_assert_int_eq(engine_peer_upsert(e, &pe), 0);
	ck_assert_int_eq(query(e, "read_url", ROUTE_POLICY_DEFAULT, &ans), 0);
	ck_assert_uint_eq(ans.ncand, 2);
	ck_assert_uint_eq(ans.end.targets, 3);
	for (i = 0; i < ans.ncand; i++) {
		ck_assert_str_ne(ans.cand[i].target, "b-reader");
		check_candidate(e, &ans.cand[i], &ans.end);
	}
	pe.state = PEER_ACTIVE;
	ck_assert_int_eq(engine_peer_upsert(e, &pe), 0);
	ck_assert_int_eq(query(e, "read_url", ROUTE_POLICY_DEFAULT, &ans), 0);
	ck_assert_uint_eq(ans.ncand, 3);

	/* a capability nobody has: an empty, successful answer */
	ck_assert_int_eq(query(e, "translate", ROUTE_POLICY_DEFAULT, &ans),
	    0);
	ck_assert_uint_eq(ans.ncand, 0);
	ck_assert_uint_eq(ans.end.targets, 0);
	engine_answer_free(&ans);
	engine_free(e);
}
END_TEST

START_TEST(test_query_constraints)
{
	struct engine		*e = fixture();
	struct engine_answer	 ans;
	struct route_query	 q;
	size_t			 i;

	memset(&ans, 0, sizeof(ans));
	memset(&q, 0, sizeof(q));
	strlcpy(q.capability, "read_url", sizeof(q.capability));
	/* trust: local-reader 0.5, b-reader 0.81, c-reader 0.48 */
	q.min_trust_ppm = 500000;
	ck_assert_int_eq(engine_query(e, &q, &ans), 0);
	ck_assert_uint_eq(ans.ncand, 2);
	ck_assert_uint_eq(ans.end.excluded, 1);
	for (i = 0; i < ans.ncand; i++)
		ck_assert(ans.cand[i].trust >= 0.5);
	q.min_trust_ppm = 0;
	/* latency: 100, 55, 380 */
	q.max_latency_ms = 100;
	ck_assert_int_eq(engine_query(e, &q, &ans), 0);
	ck_assert_uint_eq(ans.ncand, 2);
	q.max_latency_ms = 0;
	/* cost: 2000, 51000, 10500; the budget is a limit and the scale */
	q.budget = 20000;
	ck_assert_int_eq(engine_query(e, &q, &ans), 0);
	ck_assert_uint_eq(ans.ncand, 2);
	ck_assert_int_eq(ans.end.budget, 20000);
	for (i = 0; i < ans.ncand; i++) {
		ck_assert_int_le(ans.cand[i].cost, 20000);
		ck_assert_double_eq_tol(ans.cand[i].score[1],
		    1.0 - ans.cand[i].cost / 20000.0, 1e-12);
		check_candidate(e, &ans.cand[i], &ans.end);
	}
	q.budget = 0;
	q.max_cost = 2000;
	ck_assert_int_eq(engine_query(e, &q, &ans), 0);
	ck_assert_uint_eq(ans.ncand, 1);
	ck_assert_str_eq(ans.cand[0].target, "local-reader");
	q.max_cost = 0;
	q.max_results = 1;
	ck_assert_int_eq(engine_query(e, &q, &ans), 0);
	ck_assert_uint_eq(ans.ncand, 1);
	ck_assert_str_ne(ans.cand[0].decided, "");

	/* bad queries */
	q.max_results = ROUTE_RESULTS_MAX + 1;
	ck_assert_int_eq(engine_query(e, &q, &ans), -1);
	ck_assert_int_eq(ans.end.ok, 0);
	ck_assert_str_ne(ans.end.error, "");
	q.max_results = 0;
	q.policy = ROUTE_POLICY_MAX;
	ck_assert_int_eq(engine_query(e, &q, &ans), -1);
	q.policy = 0;
	q.min_trust_ppm = 1000001;
	ck_assert_int_eq(engine_query(e, &q, &ans), -1);
	q.min_trust_ppm = 0;
	q.budget = -1;
	ck_assert_int_eq(engine_query(e, &q, &ans), -1);
	q.budget = 0;
	q.flags = 0x80;
	ck_assert_int_eq(engine_query(e, &q, &ans), -1);
	q.flags = 0;
	memset(q.capability, 'x', sizeof(q.capability));
	ck_assert_int_eq(engine_query(e, &q, &ans), -1);
	engine_answer_free(&ans);
	engine_free(e);

	/* no identity yet */
	ck_assert_ptr_nonnull(e = engine_new());
	memset(&q, 0, sizeof(q));
	memset(&ans, 0, sizeof(ans));
	ck_assert_int_eq(engine_query(e, &q, &ans), -1);
	ck_assert_str_eq(ans.end.error, "the relay identity is not known yet");
	engine_answer_free(&ans);
	engine_free(e);
}
END_TEST

START_TEST(test_query_table)
{
	struct engine		*e = fixture();
	struct engine_answer	 ans;
	struct route_query	 q;
	const char		*want[] = { PEER_B, PEER_C, "b-reader",
				    "c-reader", "local-reader",
				    "local-summ" };
	size_t			 i;

	memset(&ans, 0, sizeof(ans));
	memset(&q, 0, sizeof(q));
	q.flags = ROUTE_QF_TABLE;
	ck_assert_int_eq(engine_query(e, &q, &ans), 0);
	ck_assert_uint_eq(ans.ncand, 6);
	ck_assert_uint_eq(ans.end.targets, 6);
	for (i = 0; i < ans.ncand; i++) {
		ck_assert_str_eq(ans.cand[i].target, want[i]);
		ck_assert_uint_eq(ans.cand[i].rank, 1);
		ck_assert_uint_eq(ans.cand[i].considered, 1);
		check_candidate(e, &ans.cand[i], &ans.end);
	}
	ck_assert_int_eq(ans.cand[0].target_kind, ROUTE_NODE_RELAY);
	ck_assert_uint_eq(ans.cand[0].npath, 2);
	ck_assert_str_eq(ans.cand[0].relay_id, "");
	ck_assert_str_eq(ans.cand[2].relay_id, PEER_B);

	/* a second route to local-summ, through B: two alternatives */
	{
		struct route_agent	 ra;

		ra = agent("local-summ", PEER_B, 0, 1, 900000, "summarize",
		    NULL);
		ck_assert_int_eq(engine_agent_upsert(e, &ra), 0);
	}
	ck_assert_int_eq(engine_query(e, &q, &ans), 0);
	ck_assert_str_eq(ans.cand[5].target, "local-summ");
	ck_assert_uint_eq(ans.cand[5].considered, 2);
	ck_assert_uint_eq(ans.cand[5].npath, 2);	/* direct is better */
	ck_assert_str_ne(ans.cand[5].decided, "");
	check_candidate(e, &ans.cand[5], &ans.end);

	/* suspending C drops C and its agent from the table */
	{
		struct peer_entry pe = peer(PEER_C, PEER_SUSPENDED, 600000,
		    80, 10000);

		ck_assert_int_eq(engine_peer_upsert(e, &pe), 0);
	}
	ck_assert_int_eq(engine_query(e, &q, &ans), 0);
	ck_assert_uint_eq(ans.ncand, 4);
	for (i = 0; i < ans.ncand; i++) {
		ck_assert_str_ne(ans.cand[i].target, PEER_C);
		ck_assert_str_ne(ans.cand[i].target, "c-reader");
	}
	engine_answer_free(&ans);
	engine_free(e);
}
END_TEST

START_TEST(test_random_paths)
{
	struct engine		*e;
	struct engine_answer	 ans;
	struct peer_entry	 pe;
	struct route_agent	 ra;
	char			 id[64], host[64];
	unsigned int		 seed = 12345, round;
	size_t			 i;
	int			 p, a, h;

	memset(&ans, 0, sizeof(ans));
	for (round = 0; round < 20; round++) {
		ck_assert_ptr_nonnull(e = engine_new());
		ck_assert_int_eq(engine_set_self(e, SELF), 0);
		for (p = 0; p < 6; p++) {
			snprintf(id, sizeof(id), "relay-peer-%d", p);
			pe = peer(id, rand_r(&seed) % 4 == 0 ?
			    PEER_SUSPENDED : PEER_ACTIVE,
			    rand_r(&seed) % 1000001, rand_r(&seed) % 500,
			    rand_r(&seed) % 100000);
			pe.missed = rand_r(&seed) % 3;
			ck_assert_int_eq(engine_peer_upsert(e, &pe), 0);
		}
		for (a = 0; a < 30; a++) {
			snprintf(id, sizeof(id), "agent-%d", a);
			for (h = -1; h < 6; h++) {
				if (rand_r(&seed) % 3 != 0)
					continue;
				if (h >= 0)
					snprintf(host, sizeof(host),
					    "relay-peer-%d", h);
				else
					host[0] = '\0';
				ra = agent(id, host, rand_r(&seed) % 5000,
				    rand_r(&seed) % 1000,
				    rand_r(&seed) % 1000001, "x",
				    a % 2 ? "y" : NULL);
				ra.reliability_ppm = rand_r(&seed) % 1000001;
				ck_assert_int_eq(engine_agent_upsert(e, &ra),
				    0);
			}
		}
		for (p = ROUTE_POLICY_DEFAULT; p < ROUTE_POLICY_MAX; p++) {
			ck_assert_int_eq(query(e, a % 2 ? "y" : "x", p,
			    &ans), 0);
			for (i = 0; i < ans.ncand; i++)
				check_candidate(e, &ans.cand[i], &ans.end);
		}
		engine_free(e);
	}
	engine_answer_free(&ans);
}
END_TEST

static size_t
count(const char *text, const char *needle)
{
	size_t		 n = 0;
	const char	*p = text;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	return (n);
}

/* lines "\tnN [..." that are not edges */
static size_t
count_nodes(const char *text)
{
	const char	*p, *eol;
	size_t		 n = 0;

	for (p = text; (eol = strchr(p, '\n')) != NULL; p = eol + 1)
		if (strncmp(p, "\tn", 2) == 0 && p[2] >= '0' && p[2] <= '9' &&
		    memmem(p, eol - p, " -> ", 4) == NULL)
			n++;
	return (n);
}

START_TEST(test_dot)
{
	struct engine		*e = fixture();
	struct engine_answer	 ans;
	struct peer_entry	 pe;
	struct route_agent	 ra;
	char			*dot, *line, *eol, err[128], want[256];
	size_t			 len, i;

	dot = engine_dot(e, "read_url", &len, err, sizeof(err));
	ck_assert_ptr_nonnull(dot);
	ck_assert_uint_eq(len, strlen(dot));
	ck_assert(strncmp(dot, "digraph relayd {\n", 17) == 0);
	ck_assert(dot[len - 2] == '}' && dot[len - 1] == '\n');
	ck_assert_uint_eq(count_nodes(dot),
	    route_graph_nnodes(engine_graph(e)));
	ck_assert_uint_eq(count(dot, " -> "),
	    route_graph_nedges(engine_graph(e)));
	ck_assert_uint_eq(count(dot, "class=\"self\""), 1);
	ck_assert_uint_eq(count(dot, "class=\"relay\""), 2);
	ck_assert_uint_eq(count(dot, "class=\"agent\""), 4);
	ck_assert(strstr(dot, "label=\"t=0.90 c=50000 l=35ms\"") != NULL);

	/* the highlighted path is the first candidate's */
	memset(&ans, 0, sizeof(ans));
	ck_assert_int_eq(query(e, "read_url", ROUTE_POLICY_DEFAULT, &ans), 0);
	ck_assert_uint_eq(count(dot, "class=\"chosen\""), ans.cand[0].npath -
	    1);
	ck_assert_uint_eq(count(dot, "penwidth=3"), 2 * ans.cand[0].npath -
	    1);
	for (i = 1; i < ans.cand[0].npath; i++) {
		snprintf(want, sizeof(want), "n%u -> n%u [", node(e,
		    ans.cand[0].path[i - 1]), node(e, ans.cand[0].path[i]));
		ck_assert_ptr_nonnull(line = strstr(dot, want));
		ck_assert_ptr_nonnull(eol = strchr(line, '\n'));
		ck_assert_msg(memmem(line, eol - line, "class=\"chosen\"",
		    14) != NULL, "%s not chosen", want);
	}
	free(dot);

	/* without a capability: the best path to each of the 4 agents */
	dot = engine_dot(e, "", &len, err, sizeof(err));
	ck_assert_ptr_nonnull(dot);
	ck_assert_uint_eq(count(dot, "class=\"chosen\""), 2 + 2 + 1 + 1);
	free(dot);

	/* a suspended peer is dashed, and its edge is gone */
	pe = peer(PEER_C, PEER_SUSPENDED, 600000, 80, 10000);
	ck_assert_int_eq(engine_peer_upsert(e, &pe), 0);
	dot = engine_dot(e, "", &len, err, sizeof(err));
	ck_assert_ptr_nonnull(dot);
	ck_assert(strstr(dot, "(suspended)") != NULL);
	ck_assert_uint_eq(count(dot, "dashed"), 1);
	ck_assert_uint_eq(count(dot, " -> "),
	    route_graph_nedges(engine_graph(e)));
	free(dot);

	/* quotes and backslashes in ids are escaped */
	ra = agent("we\"ird\\id", "", 1, 1, 500000, "q", NULL);
	ck_assert_int_eq(engine_agent_upsert(e, &ra), 0);
	dot = engine_dot(e, "q", &len, err, sizeof(err));
	ck_assert_ptr_nonnull(dot);
	ck_assert(strstr(dot, "we\\\"ird\\\\id") != NULL);
	ck_assert_uint_eq(count(dot, "class=\"chosen\""), 1);
	free(dot);
	engine_answer_free(&ans);
	engine_free(e);
}
END_TEST

START_TEST(test_json)
{
	struct engine		*e = fixture();
	struct engine_answer	 ans;
	json_t			*doc, *chosen, *v;
	json_error_t		 jerr;
	char			*s, err[128];
	size_t			 len, i, nchosen = 0;

	s = engine_json(e, "read_url", &len, err, sizeof(err));
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(len, strlen(s));
	ck_assert_ptr_nonnull(doc = json_loads(s, 0, &jerr));
	free(s);
	ck_assert_str_eq(json_string_value(json_object_get(doc, "self")),
	    SELF);
	ck_assert_str_eq(json_string_value(json_object_get(doc,
	    "capability")), "read_url");
	ck_assert_uint_eq(json_array_size(json_object_get(doc, "nodes")),
	    route_graph_nnodes(engine_graph(e)));
	ck_assert_uint_eq(json_array_size(json_object_get(doc, "edges")),
	    route_graph_nedges(engine_graph(e)));
	json_array_foreach(json_object_get(doc, "edges"), i, v)
		if (json_is_true(json_object_get(v, "chosen")))
			nchosen++;
	memset(&ans, 0, sizeof(ans));
	ck_assert_int_eq(query(e, "read_url", ROUTE_POLICY_DEFAULT, &ans), 0);
	chosen = json_object_get(doc, "chosen");
	ck_assert_uint_eq(json_array_size(chosen), 1);
	ck_assert_uint_eq(json_array_size(json_array_get(chosen, 0)),
	    ans.cand[0].npath);
	ck_assert_uint_eq(nchosen, ans.cand[0].npath - 1);
	for (i = 0; i < ans.cand[0].npath; i++)
		ck_assert_str_eq(json_string_value(json_array_get(
		    json_array_get(chosen, 0), i)), ans.cand[0].path[i]);
	v = json_array_get(json_object_get(doc, "nodes"), 1);
	ck_assert_str_eq(json_string_value(json_object_get(v, "kind")),
	    "relay");
	ck_assert_str_eq(json_string_value(json_object_get(v, "state")),
	    "active");
	json_decref(doc);

	s = engine_json(e, "", &len, err, sizeof(err));
	ck_assert_ptr_nonnull(doc = json_loads(s, 0, &jerr));
	free(s);
	ck_assert(json_is_null(json_object_get(doc, "capability")));
	ck_assert_uint_eq(json_array_size(json_object_get(doc, "chosen")), 4);
	json_decref(doc);
	engine_answer_free(&ans);
	engine_free(e);
}
END_TEST

static Suite *
engine_suite(void)
{
	Suite	*s = suite_create("engine");
	TCase	*tc = tcase_create("engine");

	tcase_add_test(tc, test_peer_lifecycle);
	tcase_add_test(tc, test_agents);
	tcase_add_test(tc, test_query_ranked);
	tcase_add_test(tc, test_query_constraints);
	tcase_add_test(tc, test_query_table);
	tcase_add_test(tc, test_random_paths);
	tcase_add_test(tc, test_dot);
	tcase_add_test(tc, test_json);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr = srunner_create(engine_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
