/*
 * The fixed benchmark graph, reproducible in any language:
 *
 *	32-bit LCG, s = 42; next(): s = (1664525 s + 1013904223) mod 2^32,
 *	returns s.  Nodes "n0" .. "n{V-1}" in index order, n0 the source.
 *	For u = 0 .. V-1 and k = 0 .. 7, in this order:
 *	    v = floor(next() V / 2^32), and if v = u then v = (u + 1) mod V
 *	    trust = 0.5 + 0.5 next() / 2^32
 *	    cost = 1 + floor(next() 100 / 2^32)
 *	    latency = 1 + floor(next() 1000 / 2^32)
 *	    edge u -> v, a repeated (u, v) merged with each dimension's add.
 *
 * Reliability is 1 and risk 0 on every edge.  All products are in 64 bits.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include "route.h"

static uint32_t
lcg_next(uint32_t *s)
{
	*s = 1664525U * *s + 1013904223U;
	return *s;
}

int
route_gen_lcg(struct route_graph *g, uint32_t nv)
{
	struct route_ew	 w;
	char		 name[32];
	uint32_t	 s = 42, u, v, k, base, idx;

	if (nv < 2) {
		errno = EINVAL;
		return -1;
	}
	base = route_graph_node_bound(g);
	for (u = 0; u < nv; u++) {
		(void)snprintf(name, sizeof(name), "n%u", u);
		if (route_node_add(g, name, ROUTE_NODE_AGENT, &idx) == -1)
			return -1;
		if (idx != base + u) {	/* only into an empty graph */
			errno = EINVAL;
			return -1;
		}
	}
	route_ew_default(&w);
	for (u = 0; u < nv; u++) {
		for (k = 0; k < 8; k++) {
			v = (uint32_t)(((uint64_t)lcg_next(&s) * nv) >> 32);
			if (v == u)
				v = (u + 1) % nv;
			w.ew_trust = 0.5 + 0.5 * (double)lcg_next(&s) /
			    4294967296.0;
			w.ew_cost = 1 + (int64_t)(((uint64_t)lcg_next(&s) *
			    100) >> 32);
			w.ew_latency = 1 + (int64_t)(((uint64_t)lcg_next(&s) *
			    1000) >> 32);
			if (route_edge_merge(g, base + u, base + v, &w) == -1)
				return -1;
		}
	}
	return 0;
}
