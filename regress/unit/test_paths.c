/*
 * The graph (insert, update, remove, node removal and index reuse, hash
 * tables and the out-edge slab with its compaction under churn, checked
 * against a plain matrix model and the slab's own invariants) and the
 * single-source engine: label setting against Bellman-Ford and against
 * brute force over all simple paths on thousands of small random graphs,
 * traces that are real paths composing exactly to the reported values,
 * the record semiring's per-dimension answers, custom semirings,
 * non-convergence, staleness, and the benchmark graph's check values.
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
#include "route_impl.h"
#include "route_testutil.h"

#define NGRAPHS		1500

static uint64_t	 seed;

static struct route_graph *
new_graph(void)
{
	struct route_graph	*g;

	g = route_graph_new();
	ck_assert_ptr_nonnull(g);
	return g;
}

static uint32_t
add(struct route_graph *g, const char *name, enum route_node_kind kind)
{
	uint32_t	 idx = ROUTE_NONE;

	RT_IEQ(route_node_add(g, name, kind, &idx), 0);
	return idx;
}

static void
ew(struct route_ew *w, double trust, int64_t cost, int64_t lat)
{
	route_ew_default(w);
	w->ew_trust = trust;
	w->ew_cost = cost;
	w->ew_latency = lat;
}

START_TEST(test_nodes)
{
	struct route_graph	*g = new_graph();
	char			 big[ROUTE_ID_MAX + 2];
	uint32_t		 a, b, c, idx;

	a = add(g, "relay-self", ROUTE_NODE_SELF);
	b = add(g, "relay-peer", ROUTE_NODE_RELAY);
	c = add(g, "agent-1", ROUTE_NODE_AGENT);
	RT_UEQ(route_graph_nnodes(g), 3);
	RT_UEQ(route_node_find(g, "relay-peer"), b);
	RT_UEQ(route_node_find(g, "nobody"), ROUTE_NONE);
	RT_UEQ(route_node_find(g, ""), ROUTE_NONE);
	ck_assert_str_eq(route_node_name(g, c), "agent-1");
	RT_IEQ(route_node_kind(g, a), ROUTE_NODE_SELF);
	RT_IEQ(route_node_kind(g, c), ROUTE_NODE_AGENT);

	idx = ROUTE_NONE;
	RT_IEQ(route_node_add(g, "relay-peer", ROUTE_NODE_RELAY,
	    &idx), -1);
	RT_IEQ(errno, EEXIST);
	RT_UEQ(idx, b);
	RT_IEQ(route_node_add(g, "", ROUTE_NODE_AGENT, NULL), -1);
	RT_IEQ(errno, EINVAL);
	RT_IEQ(route_node_add(g, "x", 0, NULL), -1);
	RT_IEQ(errno, EINVAL);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	RT_IEQ(route_node_add(g, big, ROUTE_NODE_AGENT, NULL), -1);
	RT_IEQ(errno, ENAMETOOLONG);
	big[ROUTE_ID_MAX] = '\0';
	RT_IEQ(route_node_add(g, big, ROUTE_NODE_AGENT, NULL), 0);
	RT_UNE(route_node_find(g, big), ROUTE_NONE);

	/* removal frees the index for reuse and forgets the name */
	RT_IEQ(route_node_remove(g, b), 0);
	RT_ASSERT(!route_node_valid(g, b));
	ck_assert_ptr_null(route_node_name(g, b));
	RT_UEQ(route_node_find(g, "relay-peer"), ROUTE_NONE);
	RT_IEQ(route_node_remove(g, b), -1);
	RT_IEQ(errno, ENOENT);
	idx = add(g, "relay-other", ROUTE_NODE_RELAY);
	RT_UEQ(idx, b);
	RT_UEQ(route_graph_nnodes(g), 4);
	route_graph_free(g);
}
END_TEST

START_TEST(test_edges)
{
	struct route_graph	*g = new_graph();
	struct route_ew		 w, out;
	uint32_t		 a, b, c, e, u, v;
	uint64_t		 gen;

	a = add(g, "a", ROUTE_NODE_SELF);
	b = add(g, "b", ROUTE_NODE_RELAY);
	c = add(g, "c", ROUTE_NODE_AGENT);
	ew(&w, 0.5, 10, 20);
	RT_IEQ(route_edge_set(g, a, b, &w), 0);
	RT_UEQ(route_graph_nedges(g), 1);
	e = route_edge_find(g, a, b);
	RT_UNE(e, ROUTE_NONE);
	RT_UEQ(route_edge_find(g, b, a), ROUTE_NONE);
	RT_IEQ(route_edge_get(g, e, &u, &v, &out), 0);
	RT_UEQ(u, a);
	RT_UEQ(v, b);
	RT_ASSERT(out.ew_trust == 0.5 && out.ew_cost == 10 &&
	    out.ew_latency == 20 && out.ew_reliability == 1.0 &&
	    out.ew_risk == 0.0);

	/* set replaces; merge takes each dimension's best */
	gen = route_graph_generation(g);
	ew(&w, 0.25, 30, 5);
	w.ew_reliability = 0.5;
	w.ew_risk = 0.5;
	RT_IEQ(route_edge_merge(g, a, b, &w), 0);
	RT_UGT(route_graph_generation(g), gen);
	RT_IEQ(route_edge_get(g, e, NULL, NULL, &out), 0);
	RT_ASSERT(out.ew_trust == 0.5 && out.ew_cost == 10 &&
	    out.ew_latency == 5 && out.ew_reliability == 1.0 &&
	    out.ew_risk == 0.0);
	RT_IEQ(route_edge_set(g, a, b, &w), 0);
	RT_IEQ(route_edge_get(g, e, NULL, NULL, &out), 0);
	RT_ASSERT(out.ew_trust == 0.25 && out.ew_cost == 30 &&
	    out.ew_latency == 5 && out.ew_reliability == 0.5 &&
	    out.ew_risk == 0.5);
	RT_UEQ(route_graph_nedges(g), 1);

	/* weight domains */
	ew(&w, 1.5, 0, 0);
	RT_IEQ(route_edge_set(g, a, c, &w), -1);
	RT_IEQ(errno, EINVAL);
	ew(&w, NAN, 0, 0);
	RT_IEQ(route_edge_set(g, a, c, &w), -1);
	ew(&w, 1, -1, 0);
	RT_IEQ(route_edge_set(g, a, c, &w), -1);
	ew(&w, 1, ROUTE_INF, 0);
	RT_IEQ(route_edge_set(g, a, c, &w), -1);
	ew(&w, 1, 0, (int64_t)ROUTE_LATENCY_MAX + 1);
	RT_IEQ(route_edge_set(g, a, c, &w), -1);
	ew(&w, 1, 0, 0);
	w.ew_risk = -0.1;
	RT_IEQ(route_edge_set(g, a, c, &w), -1);
	ew(&w, 1, 0, 0);
	RT_IEQ(route_edge_set(g, a, a, &w), -1);	/* loop */
	RT_IEQ(errno, EINVAL);
	RT_IEQ(route_edge_set(g, a, 99, &w), -1);
	RT_IEQ(errno, ENOENT);
	ew(&w, 1, ROUTE_INF - 1, ROUTE_LATENCY_MAX);
	RT_IEQ(route_edge_set(g, a, c, &w), 0);

	/* removal, and removing a node takes its edges along */
	RT_IEQ(route_edge_set(g, b, c, &w), 0);
	RT_IEQ(route_edge_set(g, c, a, &w), 0);
	RT_UEQ(route_graph_nedges(g), 4);
	RT_UEQ(route_node_outdeg(g, a), 2);
	RT_UEQ(route_node_indeg(g, c), 2);
	RT_IEQ(route_edge_remove(g, a, c), 0);
	RT_IEQ(route_edge_remove(g, a, c), -1);
	RT_IEQ(errno, ENOENT);
	RT_UEQ(route_node_outdeg(g, a), 1);
	RT_IEQ(route_node_remove(g, c), 0);
	RT_UEQ(route_graph_nedges(g), 1);
	RT_UEQ(route_node_outdeg(g, b), 0);
	RT_UEQ(route_node_indeg(g, a), 0);
	RT_IEQ(route_edge_get(g, e, &u, &v, NULL), 0);
	RT_ASSERT(u == a && v == b);
	route_graph_free(g);
}
END_TEST

/*
 * Random churn against a matrix model: every operation's effect, and
 * after each batch the whole adjacency, both directions, and the hash
 * lookups by name and by pair.
 */
/*
 * The out-edge slab (route_impl.h) is consistent: rows lie below the
 * top and do not overlap, every used slot names its edge and that edge
 * names the slot back, and the garbage count is what no row owns.
 * Returns the garbage.
 */
static uint32_t
slab_check(const struct route_graph *g)
{
	uint8_t		*owned;
	uint32_t	 u, j, e, sum = 0;

	owned = calloc(g->g_otop + 1, 1);
	ck_assert_ptr_nonnull(owned);
	for (u = 0; u < g->g_nbound; u++) {
		if (!route_node_valid(g, u)) {
			RT_UEQ(g->n_rcap[u], 0);
			continue;
		}
		RT_ULE(g->n_row[u].r_len, g->n_rcap[u]);
		RT_ULE((uint64_t)g->n_row[u].r_off + g->n_rcap[u], g->g_otop);
		for (j = g->n_row[u].r_off;
		    j < g->n_row[u].r_off + g->n_rcap[u]; j++) {
			RT_ASSERT(!owned[j]);
			owned[j] = 1;
		}
		for (j = g->n_row[u].r_off;
		    j < g->n_row[u].r_off + g->n_row[u].r_len; j++) {
			e = g->o_edge[j];
			RT_UEQ(g->e_outpos[e], j);
			RT_UEQ(g->e_from[e], u);
			RT_UEQ(g->e_to[e], g->o_head[j]);
		}
		sum += g->n_rcap[u];
	}
	RT_UEQ(sum + g->g_ogarb, g->g_otop);
	free(owned);
	return g->g_ogarb;
}

/*
 * n nodes toggled, edges set and removed at random, checked after every
 * round against a plain matrix model (and the slab against itself).
 * Returns how often the slab's garbage went down other than to a
 * removal at its end: the compactions seen.
 */
static int
churn(uint32_t n, int rounds, int ops, uint64_t salt)
{
	struct route_graph	*g = new_graph();
	struct trng		 r = { seed ^ salt };
	struct route_ew		 w, out;
	double			*model;	/* trust, -1 = no edge */
	int			*live;
	uint32_t		*id, u, v, e, x, y, garb, lastgarb = 0;
	char			 name[16];
	size_t			 i, j, nedges, deg;
	int			 op, round, compactions = 0;

	model = calloc((size_t)n * n, sizeof(*model));
	live = calloc(n, sizeof(*live));
	id = calloc(n, sizeof(*id));
	ck_assert_ptr_nonnull(model);
	ck_assert_ptr_nonnull(live);
	ck_assert_ptr_nonnull(id);
#define M(a, b)	model[(size_t)(a) * n + (b)]
	for (i = 0; i < n; i++) {
		live[i] = 0;
		for (j = 0; j < n; j++)
			M(i, j) = -1;
	}
	for (round = 0; round < rounds; round++) {
		for (op = 0; op < ops; op++) {
			u = trng_below(&r, n);
			v = trng_below(&r, n);
			switch (trng_below(&r, 10)) {
			case 0:		/* toggle a node */
				(void)snprintf(name, sizeof(name), "node-%u",
				    u);
				if (live[u]) {
					RT_IEQ(route_node_remove(g,
					    id[u]), 0);
					live[u] = 0;
					for (j = 0; j < n; j++)
						M(u, j) = M(j, u) = -1;
				} else {
					id[u] = add(g, name, ROUTE_NODE_AGENT);
					live[u] = 1;
				}
				break;
			case 1:
			case 2:		/* remove an edge */
				if (!live[u] || !live[v] || u == v)
					break;
				if (M(u, v) < 0) {
					RT_IEQ(route_edge_remove(g,
					    id[u], id[v]), -1);
				} else {
					RT_IEQ(route_edge_remove(g,
					    id[u], id[v]), 0);
					M(u, v) = -1;
				}
				break;
			default:	/* set an edge */
				if (!live[u] || !live[v] || u == v)
					break;
				ew(&w, trng_unit(&r), 1, 1);
				RT_IEQ(route_edge_set(g, id[u],
				    id[v], &w), 0);
				M(u, v) = w.ew_trust;
				break;
			}
			garb = g->g_ogarb;
			if (garb == 0 && lastgarb > 0)
				compactions++;
			lastgarb = garb;
		}
		(void)slab_check(g);
		nedges = 0;
		for (i = 0; i < n; i++) {
			if (!live[i])
				continue;
			(void)snprintf(name, sizeof(name), "node-%zu", i);
			RT_UEQ(route_node_find(g, name), id[i]);
			deg = 0;
			for (j = 0; j < n; j++) {
				if (!live[j])
					continue;
				e = route_edge_find(g, id[i], id[j]);
				if (M(i, j) < 0) {
					RT_UEQ(e, ROUTE_NONE);
					continue;
				}
				RT_UNE(e, ROUTE_NONE);
				RT_IEQ(route_edge_get(g, e, &x, &y,
				    &out), 0);
				RT_ASSERT(x == id[i] && y == id[j]);
				RT_ASSERT(out.ew_trust == M(i, j));
				deg++;
			}
			nedges += deg;
			RT_UEQ(route_node_outdeg(g, id[i]), deg);
			/* every out-edge listed is a model edge */
			for (j = 0; j < deg; j++) {
				e = route_node_outedge(g, id[i], j);
				RT_IEQ(route_edge_get(g, e, &x, &y,
				    NULL), 0);
				RT_UEQ(x, id[i]);
			}
			deg = route_node_indeg(g, id[i]);
			for (j = 0; j < deg; j++) {
				e = route_node_inedge(g, id[i], j);
				RT_IEQ(route_edge_get(g, e, &x, &y,
				    NULL), 0);
				RT_UEQ(y, id[i]);
			}
			RT_UEQ(route_node_outedge(g, id[i],
			    route_node_outdeg(g, id[i])), ROUTE_NONE);
		}
		RT_UEQ(route_graph_nedges(g), nedges);
	}
#undef M
	route_graph_free(g);
	free(model);
	free(live);
	free(id);
	return compactions;
}

START_TEST(test_churn)
{
	(void)churn(40, 60, 400, 0xc4);
	/* enough moved rows and removed nodes for the slab to compact */
	RT_IGT(churn(400, 30, 20000, 0xc5), 0);
}
END_TEST

/* grow the hash tables well past their first sizes, delete half, re-add */
START_TEST(test_hash_growth)
{
	struct route_graph	*g = new_graph();
	struct route_ew		 w;
	char			 name[32];
	uint32_t		 i, n = 20000, idx;

	for (i = 0; i < n; i++) {
		(void)snprintf(name, sizeof(name), "agent-%u", i);
		RT_UEQ(add(g, name, ROUTE_NODE_AGENT), i);
	}
	ew(&w, 0.5, 1, 1);
	for (i = 0; i + 1 < n; i++)
		RT_IEQ(route_edge_set(g, i, i + 1, &w), 0);
	for (i = 0; i < n; i += 2)
		RT_IEQ(route_node_remove(g, i), 0);
	RT_UEQ(route_graph_nedges(g), 0);
	for (i = 0; i < n; i++) {
		(void)snprintf(name, sizeof(name), "agent-%u", i);
		idx = route_node_find(g, name);
		if (i % 2 == 0)
			RT_UEQ(idx, ROUTE_NONE);
		else
			RT_UEQ(idx, i);
	}
	for (i = 0; i < n; i += 2) {
		(void)snprintf(name, sizeof(name), "agent-%u", i);
		(void)add(g, name, ROUTE_NODE_AGENT);
	}
	RT_UEQ(route_graph_nnodes(g), n);
	RT_UEQ(route_graph_node_bound(g), n);
	for (i = 0; i < n; i++) {
		(void)snprintf(name, sizeof(name), "agent-%u", i);
		RT_UNE(route_node_find(g, name), ROUTE_NONE);
	}
	route_graph_free(g);
}
END_TEST

START_TEST(test_benchmark_graph)
{
	struct route_graph	*g = new_graph();
	struct route_sssp	*s = route_sssp_new();
	union sr_val		 v[3];
	uint32_t		 n, reach = 0;
	int64_t			 cost = 0, lat = 0;
	double			 trust = 0;

	RT_IEQ(route_gen_lcg(g, 1000), 0);
	RT_UEQ(route_graph_nnodes(g), 1000);
	RT_UEQ(route_node_find(g, "n0"), 0);
	RT_UEQ(route_node_find(g, "n999"), 999);
	RT_IEQ(route_sssp_run(s, g, &sr_record, 0,
	    ROUTE_ALGO_AUTO), 0);
	RT_IEQ(route_sssp_algo(s), ROUTE_ALGO_LABEL);
	for (n = 0; n < 1000; n++) {
		if (!route_sssp_reached(s, n, 0))
			continue;
		RT_ASSERT(route_sssp_reached(s, n, 1));
		RT_ASSERT(route_sssp_reached(s, n, 2));
		RT_IEQ(route_sssp_value(s, n, v), 0);
		reach++;
		trust += v[0].d;
		cost += v[1].i;
		lat += v[2].i;
	}
	RT_UEQ(reach, 1000);
	RT_IEQ(cost, 85895);
	RT_IEQ(lat, 891125);
	RT_ASSERT_MSG(fabs(trust - 686.6318963359383) < 1e-9,
	    "sum trust %.17g", trust);
	route_sssp_free(s);
	route_graph_free(g);
}
END_TEST

/*
 * The brute-force answer per node: add over every simple path of the
 * mul along it, through the semiring's function pointers.
 */
struct brute {
	const struct semiring	*sr;
	const struct route_graph *g;
	union sr_val		*best;	/* width per node */
};

static void
brute_cb(void *arg, uint32_t node, const uint32_t *edges, size_t len)
{
	struct brute	*b = arg;
	union sr_val	 v[SR_PARTS_MAX];
	union sr_val	*at = b->best + node * b->sr->sr_width;

	RT_IEQ(sr_path_value(b->sr, b->g, edges, len, v), 0);
	b->sr->sr_add(b->sr, at, at, v);
}

/*
 * Check one finished run: values equal the brute force, and each
 * reached part's trace is a simple path composing to exactly that part.
 */
static void
check_run(const struct route_sssp *s, const struct route_graph *g,
    const struct semiring *sr, uint32_t src, const union sr_val *best)
{
	union sr_val	 v[SR_PARTS_MAX], pv[SR_PARTS_MAX];
	union sr_val	 z[SR_PARTS_MAX];
	uint32_t	 edges[64], n, bound = route_graph_node_bound(g);
	size_t		 k, w = sr->sr_width;
	long		 len;

	sr->sr_zero(sr, z);
	for (n = 0; n < bound; n++) {
		RT_IEQ(route_sssp_value(s, n, v), 0);
		RT_ASSERT_MSG(sr_equal(sr, v, best + n * w, 0.0),
		    "%s: node %u differs from brute force", sr->sr_name, n);
		for (k = 0; k < w; k++) {
			if (v[k].i == z[k].i) {
				RT_ASSERT(!route_sssp_reached(s, n, k));
				RT_IEQ(route_sssp_trace(s, g, n, k,
				    edges, 64), -1);
				RT_IEQ(errno, ENOENT);
				continue;
			}
			RT_ASSERT(route_sssp_reached(s, n, k));
			len = route_sssp_trace(s, g, n, k, edges, 64);
			RT_IGE(len, 0);
			RT_ASSERT(len < 64);
			RT_ASSERT(n != src || len == 0);
			RT_ASSERT(trng_is_path(g, src, n, edges, len));
			RT_IEQ(sr_path_value(sr, g, edges, len, pv),
			    0);
			RT_ASSERT_MSG(pv[k].i == v[k].i,
			    "%s: trace of node %u part %zu composes to a "
			    "different value", sr->sr_name, n, k);
		}
	}
}

static void
cross_check(const struct semiring *sr, uint64_t salt, int ngraphs)
{
	struct trng		 r = { seed ^ salt };
	struct route_sssp	*ls = route_sssp_new(), *bf = route_sssp_new();
	struct route_graph	*g;
	struct brute		 b;
	union sr_val		 a[SR_PARTS_MAX], c[SR_PARTS_MAX];
	uint32_t		 nv, n, src;
	size_t			 i;
	int			 gi;

	ck_assert_ptr_nonnull(ls);
	ck_assert_ptr_nonnull(bf);
	for (gi = 0; gi < ngraphs; gi++) {
		nv = 1 + trng_below(&r, 7);
		g = trng_graph(&r, nv, 15 + trng_below(&r, 40));
		src = trng_below(&r, nv);
		b.sr = sr;
		b.g = g;
		b.best = calloc((size_t)nv * sr->sr_width, sizeof(*b.best));
		ck_assert_ptr_nonnull(b.best);
		for (n = 0; n < nv; n++)
			sr->sr_zero(sr, b.best + n * sr->sr_width);
		trng_paths(g, src, brute_cb, &b);

		RT_IEQ(route_sssp_run(ls, g, sr, src,
		    ROUTE_ALGO_LABEL), 0);
		RT_IEQ(route_sssp_run(bf, g, sr, src,
		    ROUTE_ALGO_BF), 0);
		RT_IEQ(route_sssp_algo(bf), ROUTE_ALGO_BF);
		for (n = 0; n < nv; n++) {
			RT_IEQ(route_sssp_value(ls, n, a), 0);
			RT_IEQ(route_sssp_value(bf, n, c), 0);
			for (i = 0; i < sr->sr_width; i++)
				RT_ASSERT_MSG(a[i].i == c[i].i,
				    "%s: graph %d node %u part %zu: label "
				    "setting and Bellman-Ford disagree",
				    sr->sr_name, gi, n, i);
		}
		check_run(ls, g, sr, src, b.best);
		check_run(bf, g, sr, src, b.best);
		free(b.best);
		route_graph_free(g);
	}
	route_sssp_free(ls);
	route_sssp_free(bf);
}

START_TEST(test_cross_trust)
{
	cross_check(&sr_trust, 0x11, NGRAPHS);
}
END_TEST

START_TEST(test_cross_reliability)
{
	cross_check(&sr_reliability, 0x12, NGRAPHS);
}
END_TEST

START_TEST(test_cross_cost)
{
	cross_check(&sr_cost, 0x13, NGRAPHS);
}
END_TEST

START_TEST(test_cross_latency)
{
	cross_check(&sr_latency, 0x14, NGRAPHS);
}
END_TEST

START_TEST(test_cross_bottleneck)
{
	cross_check(&sr_bottleneck, 0x15, NGRAPHS);
}
END_TEST

START_TEST(test_cross_reach)
{
	cross_check(&sr_reach, 0x16, NGRAPHS);
}
END_TEST

START_TEST(test_cross_logtrust)
{
	cross_check(&sr_logtrust, 0x17, NGRAPHS);
}
END_TEST

START_TEST(test_cross_record)
{
	cross_check(&sr_record, 0x18, NGRAPHS);
}
END_TEST

START_TEST(test_cross_product)
{
	const struct semiring	*parts[5];
	struct semiring		 p, wide;

	parts[0] = &sr_reliability;
	parts[1] = &sr_latency;
	parts[2] = &sr_bottleneck;
	parts[3] = &sr_reach;
	parts[4] = &sr_logtrust;
	RT_IEQ(sr_product(&p, parts, 5), 0);
	cross_check(&p, 0x19, NGRAPHS / 3);
	RT_IEQ(sr_base(&wide, SR_MAXMIN, ROUTE_DIM_RELIABILITY), 0);
	cross_check(&wide, 0x1a, NGRAPHS / 3);
}
END_TEST

/*
 * Larger graphs, where the bucket queue's window, overflow list and
 * shifted buckets come into play: weights spanning many octaves of
 * trust (tiny, exactly 1 and 0), costs up to 10^12 and the full latency
 * range, with zero weights and ties.  No brute force at this size: label
 * setting must equal Bellman-Ford bit for bit, and every trace must be a
 * simple path composing exactly to its part.
 */
static void
large_weights(struct trng *r, int regime, struct route_ew *w)
{
	route_ew_default(w);
	switch (regime) {
	case 0:		/* wide: every corner of the domains */
		switch (trng_below(r, 6)) {
		case 0:
			w->ew_trust = 0.0;
			break;
		case 1:
			w->ew_trust = 1.0;
			break;
		case 2:
			w->ew_trust = ldexp(trng_unit(r), -(int)trng_below(r,
			    60));
			break;
		default:
			w->ew_trust = trng_unit(r);
			break;
		}
		w->ew_cost = trng_below(r, 3) == 0 ? 0 :
		    (int64_t)(trng_next(r) % 1000000000000ULL);
		w->ew_latency = trng_below(r, 4) == 0 ? ROUTE_LATENCY_MAX :
		    (int64_t)trng_below(r, 100000);
		w->ew_reliability = 1.0 - ldexp(trng_unit(r),
		    -(int)trng_below(r, 40));
		break;
	default:	/* narrow: many ties within one bucket */
		w->ew_trust = 1.0 - trng_below(r, 4) / 1024.0;
		w->ew_cost = trng_below(r, 3);
		w->ew_latency = trng_below(r, 2);
		w->ew_reliability = trng_below(r, 2) ? 1.0 : 0.999;
		break;
	}
}

static void
large_check(const struct semiring *sr, const struct route_graph *g,
    struct route_sssp *ls, struct route_sssp *bf, uint32_t src)
{
	union sr_val	 a[SR_PARTS_MAX], c[SR_PARTS_MAX], pv[SR_PARTS_MAX];
	uint32_t	 n, bound = route_graph_node_bound(g), *edges;
	size_t		 k;
	long		 len;

	edges = calloc(bound + 1, sizeof(*edges));
	ck_assert_ptr_nonnull(edges);
	RT_IEQ(route_sssp_run(ls, g, sr, src, ROUTE_ALGO_LABEL), 0);
	RT_IEQ(route_sssp_run(bf, g, sr, src, ROUTE_ALGO_BF), 0);
	for (n = 0; n < bound; n++) {
		RT_IEQ(route_sssp_value(ls, n, a), 0);
		RT_IEQ(route_sssp_value(bf, n, c), 0);
		for (k = 0; k < sr->sr_width; k++) {
			RT_ASSERT_MSG(a[k].i == c[k].i, "%s: node %u part %zu: "
			    "label setting and Bellman-Ford disagree",
			    sr->sr_name, n, k);
			RT_IEQ(route_sssp_reached(ls, n, k),
			    route_sssp_reached(bf, n, k));
			if (!route_sssp_reached(ls, n, k))
				continue;
			len = route_sssp_trace(ls, g, n, k, edges, bound + 1);
			RT_IGE(len, 0);
			RT_ASSERT(trng_is_path(g, src, n, edges, len));
			RT_IEQ(sr_path_value(sr, g, edges, len, pv), 0);
			RT_ASSERT_MSG(pv[k].i == a[k].i, "%s: trace of node "
			    "%u part %zu composes to a different value",
			    sr->sr_name, n, k);
		}
	}
	free(edges);
}

START_TEST(test_cross_large)
{
	const struct semiring	*srs[] = { &sr_record, &sr_reliability,
	    &sr_bottleneck, &sr_logtrust, &sr_reach };
	struct trng		 r = { seed ^ 0x1b };
	struct route_sssp	*ls = route_sssp_new(), *bf = route_sssp_new();
	struct route_graph	*g;
	struct route_ew		 w;
	char			 name[16];
	uint32_t		 nv, u, v, i, deg;
	size_t			 si;
	int			 regime;

	ck_assert_ptr_nonnull(ls);
	ck_assert_ptr_nonnull(bf);
	for (regime = 0; regime < 2; regime++) {
		g = new_graph();
		nv = 1500 + trng_below(&r, 500);
		for (u = 0; u < nv; u++) {
			(void)snprintf(name, sizeof(name), "x%u", u);
			(void)add(g, name, ROUTE_NODE_AGENT);
		}
		for (u = 0; u < nv; u++) {
			deg = trng_below(&r, 12);
			for (i = 0; i < deg; i++) {
				v = trng_below(&r, nv);
				if (v == u)
					continue;
				large_weights(&r, regime, &w);
				RT_IEQ(route_edge_set(g, u, v, &w), 0);
			}
		}
		for (si = 0; si < sizeof(srs) / sizeof(srs[0]); si++)
			large_check(srs[si], g, ls, bf, trng_below(&r, nv));
		/* churn, then again: rows moved, slots reused */
		for (i = 0; i < nv; i++) {
			u = trng_below(&r, nv);
			v = trng_below(&r, nv);
			if (u == v)
				continue;
			if (trng_below(&r, 3) == 0)
				(void)route_edge_remove(g, u, v);
			else {
				large_weights(&r, regime, &w);
				RT_IEQ(route_edge_set(g, u, v, &w), 0);
			}
		}
		for (si = 0; si < sizeof(srs) / sizeof(srs[0]); si++)
			large_check(srs[si], g, ls, bf, trng_below(&r, nv));
		route_graph_free(g);
	}
	g = new_graph();
	RT_IEQ(route_gen_lcg(g, 2000), 0);
	large_check(&sr_record, g, ls, bf, 0);
	route_graph_free(g);
	route_sssp_free(ls);
	route_sssp_free(bf);
}
END_TEST

/*
 * The record semiring answers each dimension separately.  Three routes
 * to the agent: via r1 (trusted, dear, slow), via r2 (cheap), direct
 * (fast, barely trusted).  No single path has the record's vector.
 */
START_TEST(test_record_dimensions)
{
	struct route_graph	*g = new_graph();
	struct route_sssp	*s = route_sssp_new();
	struct route_ew		 w;
	union sr_val		 v[3];
	uint32_t		 self, r1, r2, ag, edges[8], x;
	long			 len;

	self = add(g, "self", ROUTE_NODE_SELF);
	r1 = add(g, "r1", ROUTE_NODE_RELAY);
	r2 = add(g, "r2", ROUTE_NODE_RELAY);
	ag = add(g, "agent", ROUTE_NODE_AGENT);
	ew(&w, 0.9, 500, 300);
	RT_IEQ(route_edge_set(g, self, r1, &w), 0);
	ew(&w, 0.9, 500, 300);
	RT_IEQ(route_edge_set(g, r1, ag, &w), 0);
	ew(&w, 0.6, 10, 200);
	RT_IEQ(route_edge_set(g, self, r2, &w), 0);
	ew(&w, 0.5, 10, 200);
	RT_IEQ(route_edge_set(g, r2, ag, &w), 0);
	ew(&w, 0.1, 5000, 20);
	RT_IEQ(route_edge_set(g, self, ag, &w), 0);

	RT_IEQ(route_sssp_run(s, g, &sr_record, self,
	    ROUTE_ALGO_AUTO), 0);
	RT_IEQ(route_sssp_value(s, ag, v), 0);
	RT_ASSERT(v[0].d == 0.9 * 0.9);
	RT_IEQ(v[1].i, 20);
	RT_IEQ(v[2].i, 20);

	len = route_sssp_trace(s, g, ag, 0, edges, 8);	/* trust */
	RT_IEQ(len, 2);
	RT_IEQ(route_edge_get(g, edges[0], NULL, &x, NULL), 0);
	RT_UEQ(x, r1);
	len = route_sssp_trace(s, g, ag, 1, edges, 8);	/* cost */
	RT_IEQ(len, 2);
	RT_IEQ(route_edge_get(g, edges[0], NULL, &x, NULL), 0);
	RT_UEQ(x, r2);
	len = route_sssp_trace(s, g, ag, 2, edges, 8);	/* latency */
	RT_IEQ(len, 1);
	RT_UEQ(edges[0], route_edge_find(g, self, ag));

	/* a trace longer than the room given still reports its length */
	RT_IEQ(route_sssp_trace(s, g, ag, 0, edges, 1), 2);
	RT_IEQ(route_sssp_trace(s, g, self, 0, edges, 8), 0);

	/* incremental: the peer r1 is suspended (edge removed) */
	RT_IEQ(route_edge_remove(g, self, r1), 0);
	RT_IEQ(route_sssp_trace(s, g, ag, 0, edges, 8), -1);
	RT_IEQ(errno, ESTALE);
	RT_IEQ(route_sssp_run(s, g, &sr_record, self,
	    ROUTE_ALGO_AUTO), 0);
	RT_IEQ(route_sssp_value(s, ag, v), 0);
	RT_ASSERT(v[0].d == 0.6 * 0.5);
	RT_ASSERT(!route_sssp_reached(s, r1, 0));
	RT_ASSERT(!route_sssp_reached(s, r1, 1));

	/* its trust recovers: edge back with a new weight */
	ew(&w, 1.0, 1, 1);
	RT_IEQ(route_edge_set(g, self, r1, &w), 0);
	RT_IEQ(route_sssp_run(s, g, &sr_record, self,
	    ROUTE_ALGO_AUTO), 0);
	RT_IEQ(route_sssp_value(s, ag, v), 0);
	RT_ASSERT(v[0].d == 0.9);
	RT_IEQ(v[1].i, 20);
	RT_IEQ(v[2].i, 20);

	/* the agent leaves */
	RT_IEQ(route_node_remove(g, ag), 0);
	RT_IEQ(route_sssp_run(s, g, &sr_record, self,
	    ROUTE_ALGO_AUTO), 0);
	RT_ASSERT(!route_sssp_reached(s, ag, 0));
	RT_IEQ(route_sssp_run(s, g, &sr_record, ag,
	    ROUTE_ALGO_AUTO), -1);
	RT_IEQ(errno, EINVAL);
	route_sssp_free(s);
	route_graph_free(g);
}
END_TEST

/* a custom semiring, through the function pointers: reliability again */
static void
c_add(const struct semiring *sr, union sr_val *r, const union sr_val *a,
    const union sr_val *b)
{
	r->d = a->d >= b->d ? a->d : b->d;
}

static void
c_mul(const struct semiring *sr, union sr_val *r, const union sr_val *a,
    const union sr_val *b)
{
	r->d = a->d * b->d;
}

static void
c_zero(const struct semiring *sr, union sr_val *r)
{
	r->d = 0.0;
}

static void
c_one(const struct semiring *sr, union sr_val *r)
{
	r->d = 1.0;
}

static void
c_weight(const struct semiring *sr, const struct route_ew *w,
    union sr_val *r)
{
	r->d = w->ew_reliability;
}

/* counting paths, (+, x) over integers: does not converge on a cycle */
static void
n_add(const struct semiring *sr, union sr_val *r, const union sr_val *a,
    const union sr_val *b)
{
	r->i = a->i + b->i;
}

static void
n_mul(const struct semiring *sr, union sr_val *r, const union sr_val *a,
    const union sr_val *b)
{
	r->i = a->i * b->i;
}

static void
n_zero(const struct semiring *sr, union sr_val *r)
{
	r->i = 0;
}

static void
n_one(const struct semiring *sr, union sr_val *r)
{
	r->i = 1;
}

static void
n_weight(const struct semiring *sr, const struct route_ew *w,
    union sr_val *r)
{
	r->i = 1;
}

static void
custom_init(struct semiring *c, sr_binop_fn *addf, sr_binop_fn *mulf,
    sr_const_fn *zerof, sr_const_fn *onef, sr_weight_fn *wf)
{
	memset(c, 0, sizeof(*c));
	(void)strlcpy(c->sr_name, "custom", sizeof(c->sr_name));
	c->sr_kind = SR_CUSTOM;
	c->sr_flags = SR_SELECTIVE | SR_MONOTONE | SR_IDEMPOTENT;
	c->sr_width = 1;
	c->sr_add = addf;
	c->sr_mul = mulf;
	c->sr_zero = zerof;
	c->sr_one = onef;
	c->sr_weight = wf;
}

START_TEST(test_custom)
{
	struct trng		 r = { seed ^ 0x21 };
	struct route_sssp	*a = route_sssp_new(), *b = route_sssp_new();
	struct route_graph	*g;
	struct semiring		 c, bad;
	union sr_val		 x, y;
	uint32_t		 nv, n, edges[64];
	long			 la, lb;
	int			 gi;

	custom_init(&c, c_add, c_mul, c_zero, c_one, c_weight);
	g = trng_graph(&r, 5, 50);
	RT_IEQ(route_sssp_run(a, g, &c, 0, ROUTE_ALGO_LABEL), -1);
	RT_IEQ(errno, EINVAL);
	/* a built-in semiring patched into nonsense is refused */
	bad = sr_trust;
	bad.sr_dim[0] = ROUTE_DIM_COST;
	RT_IEQ(route_sssp_run(a, g, &bad, 0, ROUTE_ALGO_AUTO), -1);
	RT_IEQ(errno, EINVAL);
	bad = sr_record;
	bad.sr_part[1] = SR_CUSTOM;
	RT_IEQ(route_sssp_run(a, g, &bad, 0, ROUTE_ALGO_BF), -1);
	RT_IEQ(errno, EINVAL);
	bad = sr_reach;
	bad.sr_width = SR_PARTS_MAX + 1;
	RT_IEQ(route_sssp_run(a, g, &bad, 0, ROUTE_ALGO_AUTO), -1);
	route_graph_free(g);
	for (gi = 0; gi < 300; gi++) {
		nv = 2 + trng_below(&r, 10);
		g = trng_graph(&r, nv, 30);
		RT_IEQ(route_sssp_run(a, g, &c, 0, ROUTE_ALGO_AUTO),
		    0);
		RT_IEQ(route_sssp_algo(a), ROUTE_ALGO_BF);
		RT_IEQ(route_sssp_run(b, g, &sr_reliability, 0,
		    ROUTE_ALGO_AUTO), 0);
		RT_IEQ(route_sssp_algo(b), ROUTE_ALGO_LABEL);
		for (n = 0; n < nv; n++) {
			RT_IEQ(route_sssp_value(a, n, &x), 0);
			RT_IEQ(route_sssp_value(b, n, &y), 0);
			RT_ASSERT(x.d == y.d);
			RT_IEQ(route_sssp_reached(a, n, 0),
			    route_sssp_reached(b, n, 0));
			if (!route_sssp_reached(a, n, 0))
				continue;
			la = route_sssp_trace(a, g, n, 0, edges, 64);
			RT_ASSERT(trng_is_path(g, 0, n, edges, la));
			RT_IEQ(sr_path_value(&c, g, edges, la, &x),
			    0);
			RT_ASSERT(x.d == y.d);
			lb = route_sssp_trace(b, g, n, 0, edges, 64);
			RT_ASSERT(trng_is_path(g, 0, n, edges, lb));
		}
		route_graph_free(g);
	}

	/* path counting on a cycle never settles: ELOOP, not a hang */
	custom_init(&c, n_add, n_mul, n_zero, n_one, n_weight);
	c.sr_flags = 0;
	g = new_graph();
	(void)add(g, "a", ROUTE_NODE_SELF);
	(void)add(g, "b", ROUTE_NODE_AGENT);
	(void)add(g, "c", ROUTE_NODE_AGENT);
	{
		struct route_ew	 w;

		route_ew_default(&w);
		RT_IEQ(route_edge_set(g, 0, 1, &w), 0);
		RT_IEQ(route_edge_set(g, 1, 2, &w), 0);
		RT_IEQ(route_sssp_run(a, g, &c, 0,
		    ROUTE_ALGO_AUTO), 0);
		RT_IEQ(route_sssp_value(a, 2, &x), 0);
		RT_IEQ(x.i, 1);	/* one path a -> c */
		RT_IEQ(route_edge_set(g, 2, 1, &w), 0);
		RT_IEQ(route_sssp_run(a, g, &c, 0,
		    ROUTE_ALGO_AUTO), -1);
		RT_IEQ(errno, ELOOP);
		RT_IEQ(route_sssp_value(a, 2, &x), -1);
	}
	route_graph_free(g);
	route_sssp_free(a);
	route_sssp_free(b);
}
END_TEST

/* one query object across graphs of different sizes and widths */
START_TEST(test_scratch_reuse)
{
	struct route_sssp	*s = route_sssp_new();
	struct route_graph	*big = new_graph(), *small;
	struct trng		 r = { seed ^ 0x31 };
	union sr_val		 v[3];

	RT_IEQ(route_gen_lcg(big, 3000), 0);
	small = trng_graph(&r, 4, 100);
	RT_IEQ(route_sssp_run(s, small, &sr_cost, 0,
	    ROUTE_ALGO_AUTO), 0);
	RT_IEQ(route_sssp_run(s, big, &sr_record, 0,
	    ROUTE_ALGO_AUTO), 0);
	RT_IEQ(route_sssp_value(s, 2999, v), 0);
	RT_IEQ(route_sssp_value(s, 3000, v), -1);
	RT_IEQ(route_sssp_run(s, small, &sr_trust, 0,
	    ROUTE_ALGO_AUTO), 0);
	RT_IEQ(route_sssp_value(s, 4, v), -1);
	RT_IEQ(route_sssp_value(s, 3, v), 0);
	RT_IEQ(route_sssp_run(s, big, &sr_cost, 1,
	    ROUTE_ALGO_BF), 0);
	RT_IEQ(route_sssp_value(s, 0, v), 0);
	RT_IGT(route_sssp_work(s), 0);
	route_graph_free(small);
	route_graph_free(big);
	route_sssp_free(s);
}
END_TEST

static Suite *
paths_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("paths");
	tc = tcase_create("graph");
	tcase_add_test(tc, test_nodes);
	tcase_add_test(tc, test_edges);
	tcase_add_test(tc, test_churn);
	tcase_add_test(tc, test_hash_growth);
	tcase_add_test(tc, test_benchmark_graph);
	suite_add_tcase(s, tc);
	tc = tcase_create("sssp");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_cross_trust);
	tcase_add_test(tc, test_cross_reliability);
	tcase_add_test(tc, test_cross_cost);
	tcase_add_test(tc, test_cross_latency);
	tcase_add_test(tc, test_cross_bottleneck);
	tcase_add_test(tc, test_cross_reach);
	tcase_add_test(tc, test_cross_logtrust);
	tcase_add_test(tc, test_cross_record);
	tcase_add_test(tc, test_cross_product);
	tcase_add_test(tc, test_cross_large);
	tcase_add_test(tc, test_record_dimensions);
	tcase_add_test(tc, test_custom);
	tcase_add_test(tc, test_scratch_reuse);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	seed = trng_seed("test_paths");
	sr = srunner_create(paths_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
