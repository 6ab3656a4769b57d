/*
 * The Pareto frontier against brute-force enumeration of simple paths on
 * thousands of small random graphs (exact when the bound is high enough),
 * the behaviour under a tight label bound, and the ranking: weighted sum
 * with its normalisation, budgets, lexicographic order, the explanation
 * (chosen path, exact weights, alternatives) and argument checking.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"
#include "route_testutil.h"

#define NGRAPHS		2500	/* unbounded; the variants run fewer */

static uint64_t	 seed;

struct vec4 {
	double		 trust;
	int64_t		 cost;
	int64_t		 lat;
	double		 rel;
};

static int
covers(const struct vec4 *a, const struct vec4 *b)
{
	return a->trust >= b->trust && a->cost <= b->cost &&
	    a->lat <= b->lat && a->rel >= b->rel;
}

static int
vec_eq(const struct vec4 *a, const struct vec4 *b)
{
	return a->trust == b->trust && a->cost == b->cost &&
	    a->lat == b->lat && a->rel == b->rel;
}

static int
vec_cmp(const void *x, const void *y)
{
	const struct vec4	*a = x, *b = y;

	if (a->trust != b->trust)
		return a->trust < b->trust ? -1 : 1;
	if (a->cost != b->cost)
		return a->cost < b->cost ? -1 : 1;
	if (a->lat != b->lat)
		return a->lat < b->lat ? -1 : 1;
	if (a->rel != b->rel)
		return a->rel < b->rel ? -1 : 1;
	return 0;
}

/* the path's vector, composed from the source like the engine does */
static void
path_vec(const struct route_graph *g, const uint32_t *edges, size_t len,
    struct vec4 *v, double *risk)
{
	struct route_ew	 w;
	double		 safe = 1.0;
	size_t		 i;

	v->trust = 1.0;
	v->rel = 1.0;
	v->cost = 0;
	v->lat = 0;
	for (i = 0; i < len; i++) {
		RT_IEQ(route_edge_get(g, edges[i], NULL, NULL, &w),
		    0);
		v->trust *= w.ew_trust;
		v->rel *= w.ew_reliability;
		v->cost = v->cost > ROUTE_INF - w.ew_cost ? ROUTE_INF :
		    v->cost + w.ew_cost;
		v->lat += w.ew_latency;
		safe *= 1.0 - w.ew_risk;
	}
	if (risk != NULL)
		*risk = 1.0 - safe;
}

/* brute force: every simple path's vector, per node */
struct allpaths {
	const struct route_graph *g;
	struct vec4		**v;
	size_t			*n;
	size_t			*cap;
};

static void
all_cb(void *arg, uint32_t node, const uint32_t *edges, size_t len)
{
	struct allpaths	*ap = arg;

	if (ap->n[node] == ap->cap[node]) {
		ap->cap[node] = ap->cap[node] ? ap->cap[node] * 2 : 8;
		ap->v[node] = reallocarray(ap->v[node], ap->cap[node],
		    sizeof(**ap->v));
		ck_assert_ptr_nonnull(ap->v[node]);
	}
	path_vec(ap->g, edges, len, &ap->v[node][ap->n[node]++], NULL);
}

/* reduce to the sorted set of non-dominated distinct vectors */
static size_t
frontier_of(struct vec4 *v, size_t n)
{
	size_t	 i, j, m = 0;
	int	 dominated;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), vec_cmp);
	for (i = 0; i < n; i++) {
		if (i > 0 && vec_eq(&v[i], &v[i - 1]))
			continue;
		dominated = 0;
		for (j = 0; j < n && !dominated; j++)
			if (covers(&v[j], &v[i]) && !vec_eq(&v[j], &v[i]))
				dominated = 1;
		if (!dominated)
			v[m++] = v[i];
	}
	return m;
}

/* every label: a real simple path whose composed weights are the label */
static void
check_labels(const struct route_pareto *p, const struct route_graph *g,
    uint32_t src, uint32_t node, struct vec4 *out, size_t *nout)
{
	struct route_pathw	 pw;
	struct vec4		 v, pv;
	uint32_t		 edges[64];
	size_t			 i, j, c = route_pareto_count(p, node);
	double			 risk;
	long			 len;

	for (i = 0; i < c; i++) {
		RT_IEQ(route_pareto_get(p, g, node, i, &pw), 0);
		len = route_pareto_trace(p, g, node, i, edges, 64);
		RT_IGE(len, 0);
		RT_ASSERT(len < 64);
		RT_UEQ(pw.pw_hops, (uint32_t)len);
		RT_ASSERT(trng_is_path(g, src, node, edges, len));
		path_vec(g, edges, len, &pv, &risk);
		v.trust = pw.pw_trust;
		v.cost = pw.pw_cost;
		v.lat = pw.pw_latency;
		v.rel = pw.pw_reliability;
		RT_ASSERT_MSG(vec_eq(&v, &pv), "label %zu at node %u is not "
		    "its path's weight", i, node);
		RT_ASSERT(pw.pw_risk == risk);
		out[i] = v;
	}
	/* mutually non-dominated and distinct */
	for (i = 0; i < c; i++)
		for (j = 0; j < c; j++)
			if (i != j)
				RT_ASSERT(!covers(&out[i], &out[j]));
	*nout = c;
}

static void
cross_pareto(uint64_t salt, size_t bound, const enum route_dim *order,
    int ngraphs)
{
	struct trng		 r = { seed ^ salt };
	struct route_pareto	*p = route_pareto_new();
	struct route_pareto_opts o;
	struct route_graph	*g;
	struct allpaths		 ap;
	struct vec4		 got[512];
	uint32_t		 nv, n, src;
	size_t			 m, k, i, exact = 0;
	int			 gi;

	ck_assert_ptr_nonnull(p);
	for (gi = 0; gi < ngraphs; gi++) {
		nv = 1 + trng_below(&r, 7);
		g = trng_graph(&r, nv, 20 + trng_below(&r, 40));
		src = trng_below(&r, nv);
		route_pareto_defaults(&o);
		o.po_max_labels = bound;
		if (order != NULL)
			memcpy(o.po_order, order, sizeof(o.po_order));
		RT_IEQ(route_pareto_run(p, g, src, &o), 0);
		RT_UEQ(route_pareto_source(p), src);

		ap.g = g;
		ap.v = calloc(nv, sizeof(*ap.v));
		ap.n = calloc(nv, sizeof(*ap.n));
		ap.cap = calloc(nv, sizeof(*ap.cap));
		RT_ASSERT(ap.v != NULL && ap.n != NULL && ap.cap != NULL);
		trng_paths(g, src, all_cb, &ap);
		for (n = 0; n < nv; n++) {
			m = frontier_of(ap.v[n], ap.n[n]);
			RT_ASSERT(m <= 512);
			check_labels(p, g, src, n, got, &k);
			if (bound > 0)
				RT_ULE(k, bound);
			if (route_pareto_discarded(p) > 0) {
				/* a reachable node always keeps a path */
				RT_ASSERT(m == 0 || k > 0);
				continue;
			}
			if (k > 0)
				qsort(got, k, sizeof(got[0]), vec_cmp);
			RT_ASSERT_MSG(k == m, "graph %d node %u: frontier %zu "
			    "labels, brute force %zu", gi, n, k, m);
			for (i = 0; i < k; i++)
				RT_ASSERT(vec_eq(&got[i], &ap.v[n][i]));
		}
		if (route_pareto_discarded(p) == 0)
			exact++;
		for (n = 0; n < nv; n++)
			free(ap.v[n]);
		free(ap.v);
		free(ap.n);
		free(ap.cap);
		route_graph_free(g);
	}
	if (bound == 0 || bound >= 512)
		RT_UEQ(exact, ngraphs);
	route_pareto_free(p);
}

START_TEST(test_frontier_unbounded)
{
	cross_pareto(0x41, 0, NULL, NGRAPHS);
}
END_TEST

START_TEST(test_frontier_high_bound)
{
	cross_pareto(0x42, 512, NULL, NGRAPHS / 2);
}
END_TEST

START_TEST(test_frontier_orders)
{
	static const enum route_dim	 a[ROUTE_PARETO_NDIM] = {
		ROUTE_DIM_COST, ROUTE_DIM_LATENCY, ROUTE_DIM_TRUST,
		ROUTE_DIM_RELIABILITY
	};
	static const enum route_dim	 b[ROUTE_PARETO_NDIM] = {
		ROUTE_DIM_RELIABILITY, ROUTE_DIM_LATENCY, ROUTE_DIM_COST,
		ROUTE_DIM_TRUST
	};

	cross_pareto(0x43, 0, a, NGRAPHS / 2);
	cross_pareto(0x44, 0, b, NGRAPHS / 2);
}
END_TEST

START_TEST(test_frontier_tight_bound)
{
	cross_pareto(0x45, 1, NULL, NGRAPHS / 4);
	cross_pareto(0x46, 2, NULL, NGRAPHS / 4);
	cross_pareto(0x47, 3, NULL, NGRAPHS / 4);
}
END_TEST

/*
 * With bound 1 under the default order every node keeps one label, and
 * it is the trust-optimal path (ties by cost, latency, reliability):
 * lexicographic label setting with one slot is Dijkstra on trust.
 */
START_TEST(test_bound_one_is_trust)
{
	struct trng		 r = { seed ^ 0x48 };
	struct route_pareto	*p = route_pareto_new();
	struct route_sssp	*s = route_sssp_new();
	struct route_pareto_opts o;
	struct route_graph	*g;
	struct route_pathw	 pw;
	union sr_val		 v;
	uint32_t		 n;
	int			 gi;

	route_pareto_defaults(&o);
	o.po_max_labels = 1;
	for (gi = 0; gi < 500; gi++) {
		g = trng_graph(&r, 2 + trng_below(&r, 12), 30);
		RT_IEQ(route_pareto_run(p, g, 0, &o), 0);
		RT_IEQ(route_sssp_run(s, g, &sr_trust, 0,
		    ROUTE_ALGO_AUTO), 0);
		for (n = 0; n < route_graph_node_bound(g); n++) {
			RT_IEQ(route_sssp_value(s, n, &v), 0);
			if (route_pareto_count(p, n) == 0)
				continue;
			RT_UEQ(route_pareto_count(p, n), 1);
			RT_IEQ(route_pareto_get(p, g, n, 0, &pw), 0);
			RT_ASSERT(pw.pw_trust == v.d);
		}
		route_graph_free(g);
	}
	route_sssp_free(s);
	route_pareto_free(p);
}
END_TEST

/* the default heap order: trust, cost, latency, reliability, best first */
static int
lex_cmp(const void *x, const void *y)
{
	const struct vec4	*a = x, *b = y;

	if (a->trust != b->trust)
		return a->trust > b->trust ? -1 : 1;
	if (a->cost != b->cost)
		return a->cost < b->cost ? -1 : 1;
	if (a->lat != b->lat)
		return a->lat < b->lat ? -1 : 1;
	if (a->rel != b->rel)
		return a->rel > b->rel ? -1 : 1;
	return 0;
}

/*
 * What the bound keeps: src -> m_i -> t for many i, so every m_i has one
 * path and only t has a large frontier.  With bound L the labels at t
 * are exactly the L lexicographically first of its exact frontier.
 */
START_TEST(test_bound_keeps_first)
{
	enum { K = 14 };
	struct trng		 r = { seed ^ 0x4a };
	struct route_pareto	*p = route_pareto_new();
	struct route_pareto_opts o;
	struct route_graph	*g;
	struct route_ew		 w;
	struct route_pathw	 pw;
	struct vec4		 all[K], got[K];
	uint32_t		 m, t, src;
	size_t			 n, i, bound;
	int			 trial;
	char			 name[16];

	for (trial = 0; trial < 300; trial++) {
		g = route_graph_new();
		RT_IEQ(route_node_add(g, "src", ROUTE_NODE_SELF, &src), 0);
		RT_IEQ(route_node_add(g, "t", ROUTE_NODE_AGENT, &t), 0);
		for (i = 0; i < K; i++) {
			(void)snprintf(name, sizeof(name), "m%zu", i);
			RT_IEQ(route_node_add(g, name, ROUTE_NODE_RELAY, &m),
			    0);
			trng_weights(&r, &w);
			RT_IEQ(route_edge_set(g, src, m, &w), 0);
			trng_weights(&r, &w);
			RT_IEQ(route_edge_set(g, m, t, &w), 0);
		}
		route_pareto_defaults(&o);
		o.po_max_labels = 0;
		RT_IEQ(route_pareto_run(p, g, src, &o), 0);
		n = route_pareto_count(p, t);
		for (i = 0; i < n; i++) {
			RT_IEQ(route_pareto_get(p, g, t, i, &pw), 0);
			all[i].trust = pw.pw_trust;
			all[i].cost = pw.pw_cost;
			all[i].lat = pw.pw_latency;
			all[i].rel = pw.pw_reliability;
		}
		qsort(all, n, sizeof(all[0]), lex_cmp);
		for (bound = 1; bound <= 5; bound++) {
			o.po_max_labels = bound;
			RT_IEQ(route_pareto_run(p, g, src, &o), 0);
			RT_UEQ(route_pareto_count(p, t),
			    n < bound ? n : bound);
			for (i = 0; i < route_pareto_count(p, t); i++) {
				RT_IEQ(route_pareto_get(p, g, t, i, &pw), 0);
				got[i].trust = pw.pw_trust;
				got[i].cost = pw.pw_cost;
				got[i].lat = pw.pw_latency;
				got[i].rel = pw.pw_reliability;
				/* settled in heap order, best first */
				RT_ASSERT(vec_eq(&got[i], &all[i]));
			}
			if (n > bound)
				RT_UGT(route_pareto_discarded(p), 0);
		}
		route_graph_free(g);
	}
	route_pareto_free(p);
}
END_TEST

START_TEST(test_pareto_args)
{
	struct trng		 r = { seed ^ 0x49 };
	struct route_pareto	*p = route_pareto_new();
	struct route_pareto_opts o;
	struct route_graph	*g = trng_graph(&r, 4, 100);
	struct route_pathw	 pw;
	struct route_ew		 w;

	route_pareto_defaults(&o);
	RT_UEQ(o.po_max_labels, 8);
	o.po_order[1] = ROUTE_DIM_TRUST;	/* twice */
	RT_IEQ(route_pareto_run(p, g, 0, &o), -1);
	RT_IEQ(errno, EINVAL);
	route_pareto_defaults(&o);
	o.po_order[3] = ROUTE_DIM_RISK;
	RT_IEQ(route_pareto_run(p, g, 0, &o), -1);
	RT_IEQ(route_pareto_run(p, g, 17, NULL), -1);
	RT_UEQ(route_pareto_source(p), ROUTE_NONE);
	RT_IEQ(route_pareto_run(p, g, 0, NULL), 0);
	RT_UEQ(route_pareto_count(p, 0), 1);
	RT_IEQ(route_pareto_get(p, g, 0, 0, &pw), 0);
	RT_ASSERT(pw.pw_trust == 1.0 && pw.pw_cost == 0 &&
	    pw.pw_latency == 0 && pw.pw_reliability == 1.0 &&
	    pw.pw_hops == 0 && pw.pw_risk == 0.0);
	RT_IEQ(route_pareto_get(p, g, 0, 1, &pw), -1);
	RT_IEQ(errno, ENOENT);
	RT_UEQ(route_pareto_count(p, 99), 0);
	route_ew_default(&w);
	RT_IEQ(route_edge_set(g, 1, 2, &w), 0);
	RT_IEQ(route_pareto_get(p, g, 0, 0, &pw), -1);
	RT_IEQ(errno, ESTALE);
	route_graph_free(g);
	route_pareto_free(p);
}
END_TEST

/*
 * A small federation: self peers with relays A (trusted, dear) and B
 * (cheap); agent 1 lives on both, agent 2 is local and fast but
 * expensive; agent 3 is unreachable.
 */
struct fed {
	struct route_graph	*g;
	uint32_t		 self, ra, rb, ag1, ag2, ag3;
};

static void
edge(struct route_graph *g, uint32_t u, uint32_t v, double t, int64_t c,
    int64_t l, double rel, double risk)
{
	struct route_ew	 w;

	w.ew_trust = t;
	w.ew_cost = c;
	w.ew_latency = l;
	w.ew_reliability = rel;
	w.ew_risk = risk;
	RT_IEQ(route_edge_set(g, u, v, &w), 0);
}

static void
fed_init(struct fed *f)
{
	f->g = route_graph_new();
	ck_assert_ptr_nonnull(f->g);
	RT_IEQ(route_node_add(f->g, "relay-self", ROUTE_NODE_SELF,
	    &f->self), 0);
	RT_IEQ(route_node_add(f->g, "relay-a", ROUTE_NODE_RELAY,
	    &f->ra), 0);
	RT_IEQ(route_node_add(f->g, "relay-b", ROUTE_NODE_RELAY,
	    &f->rb), 0);
	RT_IEQ(route_node_add(f->g, "agent-1", ROUTE_NODE_AGENT,
	    &f->ag1), 0);
	RT_IEQ(route_node_add(f->g, "agent-2", ROUTE_NODE_AGENT,
	    &f->ag2), 0);
	RT_IEQ(route_node_add(f->g, "agent-3", ROUTE_NODE_AGENT,
	    &f->ag3), 0);
	edge(f->g, f->self, f->ra, 0.9, 100, 50, 0.99, 0.0);
	edge(f->g, f->self, f->rb, 0.6, 10, 20, 0.9, 0.1);
	edge(f->g, f->ra, f->ag1, ROUTE_REMOTE_AGENT_TRUST, 1000, 200, 0.95,
	    0.05);
	edge(f->g, f->rb, f->ag1, ROUTE_REMOTE_AGENT_TRUST, 1000, 100, 0.8,
	    0.0);
	edge(f->g, f->self, f->ag2, 0.3, 5000, 10, 1.0, 0.0);
	edge(f->g, f->ag3, f->ra, 1.0, 0, 0, 1.0, 0.0);
}

/* the composite by the documented formula, written out again */
static double
expect_composite(const struct route_rank_opts *o, double trust,
    int64_t cost, int64_t clo, int64_t chi, int64_t lat, int64_t llo,
    int64_t lhi, double rel, double risk)
{
	double	 sc, sl, sum;

	if (o->ro_cost_budget > 0)
		sc = cost >= o->ro_cost_budget ? 0.0 :
		    1.0 - (double)cost / (double)o->ro_cost_budget;
	else
		sc = chi == clo ? 1.0 : (double)(chi - cost) / (chi - clo);
	if (o->ro_latency_budget > 0)
		sl = lat >= o->ro_latency_budget ? 0.0 :
		    1.0 - (double)lat / (double)o->ro_latency_budget;
	else
		sl = lhi == llo ? 1.0 : (double)(lhi - lat) / (lhi - llo);
	sum = o->ro_w[0] + o->ro_w[1] + o->ro_w[2] + o->ro_w[3] + o->ro_w[4];
	return (o->ro_w[ROUTE_DIM_TRUST] * trust +
	    o->ro_w[ROUTE_DIM_COST] * sc +
	    o->ro_w[ROUTE_DIM_LATENCY] * sl +
	    o->ro_w[ROUTE_DIM_RELIABILITY] * rel +
	    o->ro_w[ROUTE_DIM_RISK] * (1.0 - risk)) / sum;
}

static int
path_is(const struct route_answer *an, size_t i, const uint32_t *want,
    size_t n)
{
	const uint32_t	*p;
	size_t		 len;

	p = route_answer_path(an, i, &len);
	return p != NULL && len == n && memcmp(p, want, n * sizeof(*p)) == 0;
}

START_TEST(test_rank_weighted)
{
	struct fed		 f;
	struct route_pareto	*p = route_pareto_new();
	struct route_rank_opts	 o;
	struct route_answer	 an;
	const struct route_alt	*al;
	uint32_t		 targets[4], via_a[3], via_b[3], local[2];
	double			 ca, cb, c2;
	size_t			 i;

	memset(&an, 0, sizeof(an));
	fed_init(&f);
	RT_IEQ(route_pareto_run(p, f.g, f.self, NULL), 0);
	RT_UEQ(route_pareto_count(p, f.ag1), 2);
	RT_UEQ(route_pareto_count(p, f.ag2), 1);
	RT_UEQ(route_pareto_count(p, f.ag3), 0);
	RT_UEQ(route_pareto_discarded(p), 0);

	targets[0] = f.ag2;
	targets[1] = f.ag1;
	targets[2] = f.ag3;
	targets[3] = f.ag1;	/* duplicate: ignored */
	route_rank_defaults(&o);
	RT_ASSERT(o.ro_w[ROUTE_DIM_TRUST] == 0.3 &&
	    o.ro_w[ROUTE_DIM_COST] == 0.2 &&
	    o.ro_w[ROUTE_DIM_LATENCY] == 0.15 &&
	    o.ro_w[ROUTE_DIM_RELIABILITY] == 0.15 &&
	    o.ro_w[ROUTE_DIM_RISK] == 0.2);
	RT_IEQ(route_rank(p, f.g, targets, 4, &o, &an), 0);
	RT_UEQ(an.an_n, 3);
	RT_IEQ(an.an_cost_lo, 1010);
	RT_IEQ(an.an_cost_hi, 5000);
	RT_IEQ(an.an_lat_lo, 10);
	RT_IEQ(an.an_lat_hi, 250);

	ca = expect_composite(&o, 0.9 * 0.5, 1100, 1010, 5000, 250, 10, 250,
	    0.99 * 0.95, 1.0 - 1.0 * (1.0 - 0.0) * (1.0 - 0.05));
	cb = expect_composite(&o, 0.6 * 0.5, 1010, 1010, 5000, 120, 10, 250,
	    0.9 * 0.8, 1.0 - (1.0 - 0.1) * (1.0 - 0.0));
	c2 = expect_composite(&o, 0.3, 5000, 1010, 5000, 10, 10, 250, 1.0,
	    0.0);
	via_a[0] = f.self;
	via_a[1] = f.ra;
	via_a[2] = f.ag1;
	via_b[0] = f.self;
	via_b[1] = f.rb;
	via_b[2] = f.ag1;
	local[0] = f.self;
	local[1] = f.ag2;
	/* ranked best first; each answer names its real path */
	for (i = 0; i < an.an_n; i++) {
		al = &an.an_alt[i];
		if (i > 0)
			RT_ASSERT(al->al_composite <=
			    an.an_alt[i - 1].al_composite);
		if (path_is(&an, i, via_a, 3)) {
			RT_UEQ(al->al_target, f.ag1);
			RT_ASSERT(al->al_w.pw_trust == 1.0 * 0.9 * 0.5);
			RT_IEQ(al->al_w.pw_cost, 1100);
			RT_IEQ(al->al_w.pw_latency, 250);
			RT_ASSERT(al->al_w.pw_reliability ==
			    1.0 * 0.99 * 0.95);
			RT_UEQ(al->al_w.pw_hops, 2);
			RT_ASSERT(fabs(al->al_composite - ca) < 1e-12);
			RT_ASSERT(al->al_score[ROUTE_DIM_LATENCY] == 0.0);
		} else if (path_is(&an, i, via_b, 3)) {
			RT_ASSERT(fabs(al->al_composite - cb) < 1e-12);
			RT_ASSERT(al->al_score[ROUTE_DIM_COST] == 1.0);
			RT_ASSERT(fabs(al->al_w.pw_risk - 0.1) < 1e-15);
		} else {
			RT_ASSERT(path_is(&an, i, local, 2));
			RT_ASSERT(fabs(al->al_composite - c2) < 1e-12);
			RT_ASSERT(al->al_score[ROUTE_DIM_COST] == 0.0);
			RT_ASSERT(al->al_score[ROUTE_DIM_LATENCY] == 1.0);
		}
	}
	/* by hand: A 0.6616, B 0.6593, local 0.5900 */
	RT_ASSERT(ca > cb && cb > c2);
	RT_ASSERT(path_is(&an, 0, via_a, 3));
	RT_ASSERT(path_is(&an, 1, via_b, 3));
	RT_ASSERT(path_is(&an, 2, local, 2));

	/* cost alone picks the cheapest */
	memset(o.ro_w, 0, sizeof(o.ro_w));
	o.ro_w[ROUTE_DIM_COST] = 1.0;
	RT_IEQ(route_rank(p, f.g, targets, 4, &o, &an), 0);
	RT_ASSERT(path_is(&an, 0, via_b, 3));
	RT_ASSERT(an.an_alt[0].al_composite == 1.0);
	RT_ASSERT(an.an_alt[2].al_composite == 0.0);

	/* budgets: cost against 2000, latency against 100 */
	route_rank_defaults(&o);
	o.ro_cost_budget = 2000;
	o.ro_latency_budget = 100;
	RT_IEQ(route_rank(p, f.g, targets, 4, &o, &an), 0);
	RT_UEQ(an.an_n, 3);
	for (i = 0; i < an.an_n; i++) {
		al = &an.an_alt[i];
		RT_ASSERT(fabs(al->al_composite - expect_composite(&o,
		    al->al_w.pw_trust, al->al_w.pw_cost, 0, 0,
		    al->al_w.pw_latency, 0, 0, al->al_w.pw_reliability,
		    al->al_w.pw_risk)) < 1e-12);
		if (path_is(&an, i, local, 2)) {
			RT_ASSERT(al->al_score[ROUTE_DIM_COST] == 0.0);
			RT_ASSERT(fabs(al->al_score[ROUTE_DIM_LATENCY] -
			    0.9) < 1e-15);
		} else
			RT_ASSERT(al->al_score[ROUTE_DIM_LATENCY] == 0.0);
	}

	/* only the unreachable agent: nothing to choose */
	RT_IEQ(route_rank(p, f.g, &f.ag3, 1, NULL, &an), 0);
	RT_UEQ(an.an_n, 0);
	ck_assert_ptr_null(route_answer_path(&an, 0, &i));

	route_answer_clear(&an);
	route_pareto_free(p);
	route_graph_free(f.g);
}
END_TEST

START_TEST(test_rank_lexicographic)
{
	struct fed		 f;
	struct route_pareto	*p = route_pareto_new();
	struct route_rank_opts	 o;
	struct route_answer	 an;
	uint32_t		 targets[2], via_a[3], via_b[3], local[2];

	memset(&an, 0, sizeof(an));
	fed_init(&f);
	RT_IEQ(route_pareto_run(p, f.g, f.self, NULL), 0);
	targets[0] = f.ag1;
	targets[1] = f.ag2;
	via_a[0] = f.self;
	via_a[1] = f.ra;
	via_a[2] = f.ag1;
	via_b[0] = f.self;
	via_b[1] = f.rb;
	via_b[2] = f.ag1;
	local[0] = f.self;
	local[1] = f.ag2;

	route_rank_defaults(&o);
	o.ro_mode = ROUTE_RANK_LEXICOGRAPHIC;
	RT_IEQ(route_rank(p, f.g, targets, 2, &o, &an), 0);
	RT_ASSERT(path_is(&an, 0, via_a, 3));	/* trust first */

	o.ro_lex[0] = ROUTE_DIM_COST;
	o.ro_lex[1] = ROUTE_DIM_TRUST;
	o.ro_nlex = 2;
	RT_IEQ(route_rank(p, f.g, targets, 2, &o, &an), 0);
	RT_ASSERT(path_is(&an, 0, via_b, 3));
	RT_ASSERT(path_is(&an, 1, via_a, 3));
	RT_ASSERT(path_is(&an, 2, local, 2));

	o.ro_lex[0] = ROUTE_DIM_LATENCY;
	o.ro_nlex = 1;
	RT_IEQ(route_rank(p, f.g, targets, 2, &o, &an), 0);
	RT_ASSERT(path_is(&an, 0, local, 2));
	RT_ASSERT(path_is(&an, 1, via_b, 3));

	/* risk first, then reliability */
	o.ro_lex[0] = ROUTE_DIM_RISK;
	o.ro_lex[1] = ROUTE_DIM_RELIABILITY;
	o.ro_nlex = 2;
	RT_IEQ(route_rank(p, f.g, targets, 2, &o, &an), 0);
	RT_ASSERT(path_is(&an, 0, local, 2));	/* risk 0, reliability 1 */
	RT_ASSERT(path_is(&an, 1, via_a, 3));	/* 0.05 */
	RT_ASSERT(path_is(&an, 2, via_b, 3));	/* 0.1 */

	route_answer_clear(&an);
	route_pareto_free(p);
	route_graph_free(f.g);
}
END_TEST

START_TEST(test_rank_args)
{
	struct fed		 f;
	struct route_pareto	*p = route_pareto_new();
	struct route_rank_opts	 o;
	struct route_answer	 an;
	uint32_t		 bogus = 1234;

	memset(&an, 0, sizeof(an));
	fed_init(&f);
	RT_IEQ(route_pareto_run(p, f.g, f.self, NULL), 0);

	route_rank_defaults(&o);
	RT_ASSERT(route_rank_valid(&o));
	o.ro_w[ROUTE_DIM_RISK] = -0.1;
	RT_ASSERT(!route_rank_valid(&o));
	RT_IEQ(route_rank(p, f.g, &f.ag1, 1, &o, &an), -1);
	RT_IEQ(errno, EINVAL);
	memset(o.ro_w, 0, sizeof(o.ro_w));
	RT_ASSERT(!route_rank_valid(&o));
	o.ro_w[0] = NAN;
	RT_ASSERT(!route_rank_valid(&o));
	route_rank_defaults(&o);
	o.ro_lex[1] = ROUTE_DIM_TRUST;
	RT_ASSERT(!route_rank_valid(&o));
	route_rank_defaults(&o);
	o.ro_mode = 7;
	RT_ASSERT(!route_rank_valid(&o));
	route_rank_defaults(&o);
	o.ro_cost_budget = -1;
	RT_ASSERT(!route_rank_valid(&o));

	RT_IEQ(route_rank(p, f.g, &bogus, 1, NULL, &an), -1);
	RT_IEQ(errno, EINVAL);
	RT_UEQ(an.an_n, 0);

	/* the graph changed under the frontier */
	edge(f.g, f.self, f.ag3, 1.0, 0, 0, 1.0, 0.0);
	RT_IEQ(route_rank(p, f.g, &f.ag1, 1, NULL, &an), -1);
	RT_IEQ(errno, ESTALE);
	RT_IEQ(route_pareto_run(p, f.g, f.self, NULL), 0);
	RT_IEQ(route_rank(p, f.g, &f.ag3, 1, NULL, &an), 0);
	RT_UEQ(an.an_n, 1);
	RT_ASSERT(an.an_alt[0].al_w.pw_trust == 1.0);

	route_answer_clear(&an);
	route_pareto_free(p);
	route_graph_free(f.g);
}
END_TEST

START_TEST(test_norm_score)
{
	RT_ASSERT(route_norm_score(10, 10, 20, 0) == 1.0);
	RT_ASSERT(route_norm_score(20, 10, 20, 0) == 0.0);
	RT_ASSERT(route_norm_score(15, 10, 20, 0) == 0.5);
	RT_ASSERT(route_norm_score(7, 7, 7, 0) == 1.0);
	RT_ASSERT(route_norm_score(0, 0, 0, 100) == 1.0);
	RT_ASSERT(route_norm_score(25, 0, 0, 100) == 0.75);
	RT_ASSERT(route_norm_score(100, 0, 0, 100) == 0.0);
	RT_ASSERT(route_norm_score(1000, 0, 0, 100) == 0.0);
	RT_ASSERT(route_norm_score(ROUTE_INF - 1, 0, ROUTE_INF - 1, 0) ==
	    0.0);
}
END_TEST

/* the bench graph: a bound keeps sizes in check and paths real */
START_TEST(test_bounded_large)
{
	struct route_graph	*g = route_graph_new();
	struct route_pareto	*p = route_pareto_new();
	struct route_pareto_opts o;
	struct vec4		 got[8];
	uint32_t		 n;
	size_t			 k, total = 0;

	RT_IEQ(route_gen_lcg(g, 2000), 0);
	route_pareto_defaults(&o);
	o.po_max_labels = 4;
	RT_IEQ(route_pareto_run(p, g, 0, &o), 0);
	RT_UGT(route_pareto_discarded(p), 0);
	for (n = 0; n < 2000; n += 7) {
		check_labels(p, g, 0, n, got, &k);
		RT_ULE(k, 4);
		RT_UGE(k, 1);
	}
	for (n = 0; n < 2000; n++)
		total += route_pareto_count(p, n);
	RT_UEQ(total, route_pareto_labels(p));
	route_pareto_free(p);
	route_graph_free(g);
}
END_TEST

static Suite *
pareto_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("pareto");
	tc = tcase_create("frontier");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_frontier_unbounded);
	tcase_add_test(tc, test_frontier_high_bound);
	tcase_add_test(tc, test_frontier_orders);
	tcase_add_test(tc, test_frontier_tight_bound);
	tcase_add_test(tc, test_bound_one_is_trust);
	tcase_add_test(tc, test_bound_keeps_first);
	tcase_add_test(tc, test_pareto_args);
	tcase_add_test(tc, test_bounded_large);
	suite_add_tcase(s, tc);
	tc = tcase_create("rank");
	tcase_add_test(tc, test_rank_weighted);
	tcase_add_test(tc, test_rank_lexicographic);
	tcase_add_test(tc, test_rank_args);
	tcase_add_test(tc, test_norm_score);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	seed = trng_seed("test_pareto");
	sr = srunner_create(pareto_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
