/*
 * Helpers shared by the routing tests: a seeded PRNG (splitmix64; the
 * seed is printed and can be set with ROUTE_TEST_SEED), small random
 * graphs with many ties, and brute-force enumeration of simple paths.
 */
#ifndef ROUTE_TESTUTIL_H
#define ROUTE_TESTUTIL_H

#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"

/*
 * Check's ck_assert*() records a mark point per call (a write and an
 * fflush), which dominates loops of millions of checks; these assert
 * the same way but only talk to Check on failure.
 */
#define RT_ASSERT(c) do {						\
	if (!(c))							\
		ck_abort_msg("%s:%d: assertion '%s' failed",		\
		    __FILE__, __LINE__, #c);				\
} while (0)
#define RT_IEQ(a, b)	RT_ASSERT((intmax_t)(a) == (intmax_t)(b))
#define RT_INE(a, b)	RT_ASSERT((intmax_t)(a) != (intmax_t)(b))
#define RT_IGE(a, b)	RT_ASSERT((intmax_t)(a) >= (intmax_t)(b))
#define RT_IGT(a, b)	RT_ASSERT((intmax_t)(a) > (intmax_t)(b))
#define RT_UEQ(a, b)	RT_ASSERT((uintmax_t)(a) == (uintmax_t)(b))
#define RT_UNE(a, b)	RT_ASSERT((uintmax_t)(a) != (uintmax_t)(b))
#define RT_ULE(a, b)	RT_ASSERT((uintmax_t)(a) <= (uintmax_t)(b))
#define RT_UGE(a, b)	RT_ASSERT((uintmax_t)(a) >= (uintmax_t)(b))
#define RT_UGT(a, b)	RT_ASSERT((uintmax_t)(a) > (uintmax_t)(b))
#define RT_ASSERT_MSG(c, ...) do {					\
	if (!(c))							\
		ck_abort_msg(__VA_ARGS__);				\
} while (0)

struct trng {
	uint64_t	 s;
};

static inline uint64_t
trng_next(struct trng *r)
{
	uint64_t	 z;

	z = (r->s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* uniform in [0, n) */
static inline uint32_t
trng_below(struct trng *r, uint32_t n)
{
	return (uint32_t)(((trng_next(r) >> 32) * n) >> 32);
}

/* uniform in [0, 1] including both ends now and then */
static inline double
trng_unit(struct trng *r)
{
	switch (trng_below(r, 8)) {
	case 0:
		return 0.0;
	case 1:
		return 1.0;
	default:
		return (double)(trng_next(r) >> 11) / 9007199254740992.0;
	}
}

static inline uint64_t
trng_seed(const char *test)
{
	const char	*e;
	uint64_t	 seed = 0x5eed2026ULL;

	if ((e = getenv("ROUTE_TEST_SEED")) != NULL)
		seed = strtoull(e, NULL, 0);
	printf("%s: ROUTE_TEST_SEED=%#" PRIx64 "\n", test, seed);
	fflush(stdout);
	return seed;
}

/*
 * Weights drawn from small sets so that ties, zero costs, trust 1 cycles
 * and equal path vectors are common.
 */
static inline void
trng_weights(struct trng *r, struct route_ew *w)
{
	static const double	 tv[] = { 0.0, 0.25, 0.5, 0.75, 1.0 };

	w->ew_trust = trng_below(r, 3) == 0 ? trng_unit(r) :
	    tv[trng_below(r, 5)];
	w->ew_cost = trng_below(r, 4) == 0 ? (int64_t)trng_below(r, 1000000) :
	    (int64_t)trng_below(r, 5);
	w->ew_latency = (int64_t)trng_below(r, 6);
	w->ew_reliability = trng_below(r, 2) == 0 ? trng_unit(r) :
	    tv[1 + trng_below(r, 4)];
	w->ew_risk = trng_below(r, 2) == 0 ? 0.0 : trng_unit(r);
}

/* nv nodes "v0".., each ordered pair an edge with probability pct/100 */
static inline struct route_graph *
trng_graph(struct trng *r, uint32_t nv, uint32_t pct)
{
	struct route_graph	*g;
	struct route_ew		 w;
	char			 name[16];
	uint32_t		 u, v, idx;

	if ((g = route_graph_new()) == NULL)
		abort();
	for (u = 0; u < nv; u++) {
		(void)snprintf(name, sizeof(name), "v%u", u);
		if (route_node_add(g, name, u == 0 ? ROUTE_NODE_SELF :
		    ROUTE_NODE_AGENT, &idx) == -1 || idx != u)
			abort();
	}
	for (u = 0; u < nv; u++)
		for (v = 0; v < nv; v++) {
			if (u == v || trng_below(r, 100) >= pct)
				continue;
			trng_weights(r, &w);
			if (route_edge_set(g, u, v, &w) == -1)
				abort();
		}
	return g;
}

/*
 * Every simple path from src, depth first: cb(arg, node, edges, len) is
 * called for the empty path at src and for each path reaching a node.
 */
typedef void	 trng_path_cb(void *, uint32_t, const uint32_t *, size_t);

static inline void
trng_paths_from(const struct route_graph *g, uint32_t u, uint8_t *on,
    uint32_t *edges, size_t len, trng_path_cb *cb, void *arg)
{
	uint32_t	 e, v;
	size_t		 i, deg;

	deg = route_node_outdeg(g, u);
	for (i = 0; i < deg; i++) {
		e = route_node_outedge(g, u, i);
		if (route_edge_get(g, e, NULL, &v, NULL) == -1)
			abort();
		if (on[v])
			continue;
		edges[len] = e;
		cb(arg, v, edges, len + 1);
		on[v] = 1;
		trng_paths_from(g, v, on, edges, len + 1, cb, arg);
		on[v] = 0;
	}
}

static inline void
trng_paths(const struct route_graph *g, uint32_t src, trng_path_cb *cb,
    void *arg)
{
	uint32_t	 n = route_graph_node_bound(g);
	uint8_t		*on;
	uint32_t	*edges;

	if ((on = calloc(n, 1)) == NULL ||
	    (edges = calloc(n + 1, sizeof(*edges))) == NULL)
		abort();
	cb(arg, src, edges, 0);
	on[src] = 1;
	trng_paths_from(g, src, on, edges, 0, cb, arg);
	free(on);
	free(edges);
}

/* the edges form a simple path src -> dst */
static inline int
trng_is_path(const struct route_graph *g, uint32_t src, uint32_t dst,
    const uint32_t *edges, size_t len)
{
	uint32_t	 n = route_graph_node_bound(g), at = src, u, v;
	uint8_t		*seen;
	size_t		 i;
	int		 ok = 1;

	if ((seen = calloc(n, 1)) == NULL)
		abort();
	seen[src] = 1;
	for (i = 0; i < len && ok; i++) {
		if (route_edge_get(g, edges[i], &u, &v, NULL) == -1 ||
		    u != at || seen[v])
			ok = 0;
		else {
			seen[v] = 1;
			at = v;
		}
	}
	free(seen);
	return ok && at == dst;
}

#endif /* ROUTE_TESTUTIL_H */
