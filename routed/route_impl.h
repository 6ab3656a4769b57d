/*
 * libroute internals: the graph's memory layout and the scalar semiring
 * operations, shared by graph.c, semiring.c, sssp.c and pareto.c.  Not
 * for use outside routed/.
 *
 * Edges live in parallel arrays indexed by edge id (one array per weight,
 * so a query over one dimension touches only the bytes it needs).  Each
 * node keeps a vector of (head, edge id) for its out-edges and one of
 * (tail, edge id) for its in-edges, so a relaxation reads the head
 * without another indirection; e_outpos/e_inpos give an edge's slot in
 * those vectors, so removal is a swap with the last slot.  Removed edge
 * and node ids go on free lists and are reused.  Two open-addressing hash
 * tables with linear probing and backward-shift deletion map node names
 * (SipHash-2-4 with a per-graph random key, as ids come from peers) and
 * (u, v) pairs to indices.
 */
#ifndef ROUTED_ROUTE_IMPL_H
#define ROUTED_ROUTE_IMPL_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "route.h"

/* one slot of a node's out- or in-vector */
struct route_adj {
	uint32_t	 a_node;	/* the other end */
	uint32_t	 a_edge;
};

struct route_vec {
	struct route_adj *v_adj;
	uint32_t	 v_len;
	uint32_t	 v_cap;
};

struct route_graph {
	uint64_t	 g_gen;
	uint8_t		 g_key[16];	/* SipHash key for names */
	uint64_t	 g_ekey;	/* mixer key for (u, v) */

	/* nodes */
	uint32_t	 g_nbound;	/* indices in use are below */
	uint32_t	 g_ncap;
	uint32_t	 g_nlive;
	char		**n_name;	/* NULL: free slot */
	uint64_t	*n_hash;
	uint8_t		*n_kind;
	struct route_vec *n_out;
	struct route_vec *n_in;
	uint32_t	*n_free;	/* stack of free indices */
	uint32_t	 g_nfree;

	/* edges */
	uint32_t	 g_ebound;
	uint32_t	 g_ecap;
	uint32_t	 g_elive;
	uint32_t	*e_from;	/* ROUTE_NONE: free slot */
	uint32_t	*e_to;
	uint32_t	*e_outpos;
	uint32_t	*e_inpos;
	double		*e_trust;
	int64_t		*e_cost;
	int32_t		*e_lat;
	double		*e_rel;
	double		*e_risk;
	uint32_t	 g_efree;	/* free list head, linked by e_to */

	/* hash tables: slots hold an index or ROUTE_NONE */
	uint32_t	*g_nhash;
	uint32_t	 g_nhmask;
	uint32_t	*g_ehash;
	uint32_t	 g_ehmask;
};

/* ordering key of a selective scalar: smaller is better */
static inline uint64_t
sr_dkey(double d)
{
	uint64_t	 b;

	memcpy(&b, &d, sizeof(b));
	if (b >> 63)
		return ~b;
	return b | (1ULL << 63);
}

static inline int64_t
sr_satadd(int64_t a, int64_t b)
{
	if (a == ROUTE_INF || b == ROUTE_INF || a > ROUTE_INF - b)
		return ROUTE_INF;
	return a + b;
}

static inline void
sr_scalar_add(enum sr_kind k, union sr_val *r, const union sr_val *a,
    const union sr_val *b)
{
	switch (k) {
	case SR_MINPLUS:
		r->i = a->i < b->i ? a->i : b->i;
		break;
	case SR_BOOL:
		r->i = a->i | b->i;
		break;
	default:
		r->d = a->d > b->d ? a->d : b->d;
		break;
	}
}

static inline void
sr_scalar_mul(enum sr_kind k, union sr_val *r, const union sr_val *a,
    const union sr_val *b)
{
	switch (k) {
	case SR_MAXTIMES:
		r->d = a->d * b->d;
		break;
	case SR_MINPLUS:
		r->i = sr_satadd(a->i, b->i);
		break;
	case SR_MAXMIN:
		r->d = a->d < b->d ? a->d : b->d;
		break;
	case SR_BOOL:
		r->i = a->i & b->i;
		break;
	default:	/* SR_LOGMAX: -inf absorbs, +inf never occurs */
		r->d = a->d + b->d;
		break;
	}
}

static inline void
sr_scalar_zero(enum sr_kind k, union sr_val *r)
{
	switch (k) {
	case SR_MINPLUS:
		r->i = ROUTE_INF;
		break;
	case SR_BOOL:
		r->i = 0;
		break;
	case SR_LOGMAX:
		r->d = -INFINITY;
		break;
	default:
		r->d = 0.0;
		break;
	}
}

static inline void
sr_scalar_one(enum sr_kind k, union sr_val *r)
{
	switch (k) {
	case SR_MINPLUS:
		r->i = 0;
		break;
	case SR_BOOL:
		r->i = 1;
		break;
	case SR_LOGMAX:
		r->d = 0.0;
		break;
	default:
		r->d = 1.0;
		break;
	}
}

/* strictly better in the kind's order */
static inline int
sr_scalar_better(enum sr_kind k, const union sr_val *a,
    const union sr_val *b)
{
	switch (k) {
	case SR_MINPLUS:
		return a->i < b->i;
	case SR_BOOL:
		return a->i > b->i;
	default:
		return a->d > b->d;
	}
}

static inline uint64_t
sr_scalar_key(enum sr_kind k, const union sr_val *a)
{
	switch (k) {
	case SR_MINPLUS:
		return (uint64_t)a->i;
	case SR_BOOL:
		return (uint64_t)(1 - a->i);
	default:
		return ~sr_dkey(a->d);
	}
}

/* the weight of edge e for a built-in part */
static inline void
sr_scalar_edge(const struct route_graph *g, enum sr_kind k,
    enum route_dim dim, uint32_t e, union sr_val *r)
{
	double	 d;

	switch (dim) {
	case ROUTE_DIM_COST:
		r->i = g->e_cost[e];
		return;
	case ROUTE_DIM_LATENCY:
		r->i = g->e_lat[e];
		return;
	case ROUTE_DIM_TRUST:
		d = g->e_trust[e];
		break;
	case ROUTE_DIM_RELIABILITY:
		d = g->e_rel[e];
		break;
	case ROUTE_DIM_RISK:
		d = g->e_risk[e];
		break;
	default:	/* SR_BOOL */
		r->i = 1;
		return;
	}
	r->d = k == SR_LOGMAX ? log(d) : d;
}

/* the address of edge e's weight for a dimension (for prefetching) */
static inline const void *
sr_edge_addr(const struct route_graph *g, enum route_dim dim, uint32_t e)
{
	switch (dim) {
	case ROUTE_DIM_COST:
		return &g->e_cost[e];
	case ROUTE_DIM_LATENCY:
		return &g->e_lat[e];
	case ROUTE_DIM_TRUST:
		return &g->e_trust[e];
	case ROUTE_DIM_RELIABILITY:
		return &g->e_rel[e];
	default:
		return &g->e_risk[e];
	}
}

void	 route_ew_from_edge(const struct route_graph *, uint32_t,
	    struct route_ew *);

#endif /* ROUTED_ROUTE_IMPL_H */
