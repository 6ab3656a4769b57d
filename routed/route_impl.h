/*
 * libroute internals: the graph's memory layout and the scalar semiring
 * operations, shared by graph.c, semiring.c, sssp.c and pareto.c.  Not
 * for use outside routed/.
 *
 * Each node keeps a vector of its out-edges, each slot holding the head,
 * the edge id and the weights a query reads (so a relaxation finds all it
 * needs in one place, and one prefetch brings it), and a vector of (tail,
 * edge id) for its in-edges.  Edge ids index parallel arrays: the tail,
 * the head, the edge's slots in both vectors (e_outpos, e_inpos; removal
 * is a swap with the last slot) and the risk.  Removed edge
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

/*
 * One slot of a node's out-vector: the head, the edge id and the weights
 * every query reads, so that one prefetch brings all a relaxation needs.
 * Risk, read only when ranking, stays in e_risk.
 */
struct route_oadj {
	uint32_t	 a_node;
	uint32_t	 a_edge;
	int32_t		 a_lat;
	uint32_t	 a_unused;
	double		 a_trust;
	int64_t		 a_cost;
	double		 a_rel;
};

struct route_ovec {
	struct route_oadj *v_adj;
	uint32_t	 v_len;
	uint32_t	 v_cap;
};

/* one slot of a node's in-vector: the tail and the edge id */
struct route_iadj {
	uint32_t	 a_node;
	uint32_t	 a_edge;
};

struct route_ivec {
	struct route_iadj *v_adj;
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
	struct route_ovec *n_out;
	struct route_ivec *n_in;
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
	double		*e_risk;
	uint32_t	 g_efree;	/* free list head, linked by e_to */
	/*
	 * Bounds on the cost and latency of every edge: raised when an
	 * edge is stored, never lowered (the bucket width of sssp.c).
	 */
	int64_t		 g_wmax_cost;
	int64_t		 g_wmax_lat;

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

/* the out-vector slot of edge e, which holds its weights */
static inline struct route_oadj *
route_slot(const struct route_graph *g, uint32_t e)
{
	return &g->n_out[g->e_from[e]].v_adj[g->e_outpos[e]];
}

/* the weight of an out-edge slot for a built-in part */
static inline void
sr_slot_weight(const struct route_oadj *a, enum sr_kind k,
    enum route_dim dim, union sr_val *r)
{
	double	 d;

	switch (dim) {
	case ROUTE_DIM_COST:
		r->i = a->a_cost;
		return;
	case ROUTE_DIM_LATENCY:
		r->i = a->a_lat;
		return;
	case ROUTE_DIM_TRUST:
		d = a->a_trust;
		break;
	case ROUTE_DIM_RELIABILITY:
		d = a->a_rel;
		break;
	default:	/* SR_BOOL */
		r->i = 1;
		return;
	}
	r->d = k == SR_LOGMAX ? log(d) : d;
}

int	 sr_builtin_ok(const struct semiring *);
void	 route_ew_from_edge(const struct route_graph *, uint32_t,
	    struct route_ew *);

#endif /* ROUTED_ROUTE_IMPL_H */
