/*
 * libroute internals: the graph's memory layout and the scalar semiring
 * operations, shared by graph.c, semiring.c, sssp.c and pareto.c.  Not
 * for use outside routed/.
 *
 * Out-edges live in one slab: parallel arrays indexed by slot, holding
 * the head, the edge id and the weights the queries read, one array per
 * field, so that a pass over one dimension reads 4 bytes of head and 4
 * or 8 bytes of weight an edge and nothing else.  Node u owns the slots
 * n_row[u].r_off .. r_off + n_rcap[u] - 1, the first r_len of them in
 * use (CSR with slack).  Inserting into a full row grows it in place if
 * it is the last row of the slab, and otherwise moves it to the end with
 * twice the room, leaving its old slots as garbage; removal moves the
 * row's last slot into the hole.  When the garbage exceeds half the
 * rows' room, the slab is compacted in place (rows slid down in slab
 * order), so every operation stays O(1) amortized and the slab within
 * 1.5 times the room the rows need.  In-edges are per-node vectors of
 * edge ids.  Edge ids index parallel arrays: the tail, the head, the
 * edge's slab slot (e_outpos) and in-vector slot (e_inpos), and the
 * risk.  Removed edge and node ids go on free lists and are reused.  Two
 * open-addressing hash tables with linear probing and backward-shift
 * deletion map node names (SipHash-2-4 with a per-graph random key, as
 * ids come from peers) and (u, v) pairs to indices.
 */
#ifndef ROUTED_ROUTE_IMPL_H
#define ROUTED_ROUTE_IMPL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "route.h"

/* node u's out-edges: slab slots r_off .. r_off + r_len - 1 */
struct route_orow {
	uint32_t	 r_off;
	uint32_t	 r_len;
};

/* node v's in-edges: their ids (the tail is e_from[]) */
struct route_ivec {
	uint32_t	*v_edge;
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
	struct route_orow *n_row;	/* out-edges in the slab */
	uint32_t	*n_rcap;	/* slots the row owns */
	struct route_ivec *n_in;
	uint32_t	*n_free;	/* stack of free indices */
	uint32_t	 g_nfree;

	/* edges */
	uint32_t	 g_ebound;
	uint32_t	 g_ecap;
	uint32_t	 g_elive;
	uint32_t	*e_from;	/* ROUTE_NONE: free slot */
	uint32_t	*e_to;
	uint32_t	*e_outpos;	/* slab slot */
	uint32_t	*e_inpos;
	double		*e_risk;
	uint32_t	 g_efree;	/* free list head, linked by e_to */
	/*
	 * Bounds on the cost and latency of every edge: raised when an
	 * edge is stored, never lowered (the bucket width of sssp.c).
	 */
	int64_t		 g_wmax_cost;
	int64_t		 g_wmax_lat;

	/* the out-edge slab: slots below g_otop are rows or garbage */
	uint32_t	 g_otop;
	uint32_t	 g_ocap;
	uint32_t	 g_ogarb;	/* slots below g_otop in no row */
	uint32_t	*o_head;
	uint32_t	*o_edge;
	int32_t		*o_lat;
	int64_t		*o_cost;
	double		*o_trust;
	double		*o_rel;

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

/* the weight of slab slot j for a built-in part */
static inline void
sr_slot_weight(const struct route_graph *g, uint32_t j, enum sr_kind k,
    enum route_dim dim, union sr_val *r)
{
	double	 d;

	switch (dim) {
	case ROUTE_DIM_COST:
		r->i = g->o_cost[j];
		return;
	case ROUTE_DIM_LATENCY:
		r->i = g->o_lat[j];
		return;
	case ROUTE_DIM_TRUST:
		d = g->o_trust[j];
		break;
	case ROUTE_DIM_RELIABILITY:
		d = g->o_rel[j];
		break;
	default:	/* SR_BOOL */
		r->i = 1;
		return;
	}
	r->d = k == SR_LOGMAX ? log(d) : d;
}

/*
 * An array that queries read at random: huge pages asked for over its
 * first huge bytes (graph.c).  Free it with the size it was made with.
 */
void	*route_big_alloc(size_t, size_t);
void	 route_big_free(void *, size_t);
int	 sr_builtin_ok(const struct semiring *);
void	 route_ew_from_edge(const struct route_graph *, uint32_t,
	    struct route_ew *);

#endif /* ROUTED_ROUTE_IMPL_H */
