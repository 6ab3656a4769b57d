/*
 * Pareto frontier over (trust max, cost min, latency min, reliability
 * max): multi-criteria label setting (Martins).
 *
 * A label is one real path: its four values, the label it extends and
 * the edge taken.  Each node keeps one array of its labels, permanent
 * ones first; a permanent label is named by (node, index) and never
 * moves, so predecessors are stable.  A binary heap holds the
 * nodes that have tentative labels, keyed by their lexicographically
 * best one (po_order, each dimension best first), with decrease- and
 * increase-key through a position array: the heap never holds more than
 * V entries, and dominance checks scan contiguous memory.
 *
 * Extending a label never makes it lexicographically better (all four
 * dimensions are monotone), and a label that dominates another is
 * lexicographically no worse, so the label popped is never dominated by
 * anything found later: it becomes permanent and is extended along its
 * node's out-edges.
 *
 * A new label at v is dropped if any label at v (permanent or tentative)
 * is at least as good in every dimension; otherwise it removes the
 * tentative labels it dominates.
 *
 * The bound L (po_max_labels) limits the permanent labels per node.  As
 * labels settle in lexicographic order, a node's first L permanent labels
 * are the L lexicographically best non-dominated labels of all that reach
 * it; once it has L, its waiting labels are dropped and later ones
 * refused.  (Tentative labels are not capped: a label dropped for the
 * bound early could be needed again when one new label dominates several
 * of those ahead of it.)  A node's tentative labels come from the at most
 * L permanent labels of each predecessor, so they stay few.  Each label
 * the bound removes is counted in route_pareto_discarded(); zero means
 * the frontier is exact.  Upstream truncation changes what reaches a node
 * downstream, so a bounded frontier is an approximation, but every label
 * in it is a real path with its exact weights.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"
#include "route_impl.h"

struct plab {
	double		 l_trust;
	double		 l_rel;
	int64_t		 l_cost;
	int64_t		 l_lat;
	uint32_t	 l_edge;	/* edge taken; NONE at the source */
	uint32_t	 l_pidx;	/* label extended, at the edge's tail */
};

/*
 * A node's labels: permanent ones in [0, pl_np) in the order they were
 * settled (they never move), tentative ones in [pl_np, pl_np + pl_nt).
 */
struct plist {
	struct plab	*pl_lab;
	uint32_t	 pl_np;
	uint32_t	 pl_nt;
	uint32_t	 pl_cap;
};

struct pheap {
	uint64_t	 h_key;		/* primary dimension's order key */
	uint32_t	 h_node;
};

struct route_pareto {
	uint64_t	 p_gen;
	int		 p_valid;
	uint32_t	 p_src;
	uint32_t	 p_n;		/* node bound of the run */
	struct route_pareto_opts p_opts;
	size_t		 p_discarded;
	size_t		 p_live;	/* permanent labels */

	size_t		 p_ncap;
	struct plist	*p_lab;		/* per node */
	uint32_t	*p_best;	/* slot of the best tentative */
	uint32_t	*p_pos;		/* heap position, or ROUTE_NONE */
	struct pheap	*p_heap;
	uint32_t	 p_hlen;
};

void
route_pareto_defaults(struct route_pareto_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->po_max_labels = 8;
	o->po_order[0] = ROUTE_DIM_TRUST;
	o->po_order[1] = ROUTE_DIM_COST;
	o->po_order[2] = ROUTE_DIM_LATENCY;
	o->po_order[3] = ROUTE_DIM_RELIABILITY;
}

struct route_pareto *
route_pareto_new(void)
{
	return calloc(1, sizeof(struct route_pareto));
}

void
route_pareto_free(struct route_pareto *p)
{
	size_t	 v;

	if (p == NULL)
		return;
	for (v = 0; v < p->p_ncap; v++)
		free(p->p_lab[v].pl_lab);
	free(p->p_lab);
	free(p->p_best);
	free(p->p_pos);
	free(p->p_heap);
	free(p);
}

static int
opts_valid(const struct route_pareto_opts *o)
{
	unsigned int	 seen = 0;
	size_t		 i;

	if (o->po_max_labels > ROUTE_EDGES_MAX)
		return 0;
	for (i = 0; i < ROUTE_PARETO_NDIM; i++) {
		switch (o->po_order[i]) {
		case ROUTE_DIM_TRUST:
		case ROUTE_DIM_COST:
		case ROUTE_DIM_LATENCY:
		case ROUTE_DIM_RELIABILITY:
			seen |= 1U << o->po_order[i];
			break;
		default:
			return 0;
		}
	}
	return seen == ((1U << ROUTE_DIM_TRUST) | (1U << ROUTE_DIM_COST) |
	    (1U << ROUTE_DIM_LATENCY) | (1U << ROUTE_DIM_RELIABILITY));
}

static int
pareto_reserve(struct route_pareto *p, size_t n)
{
	void	*np;
	size_t	 cap, v;

	if (n <= p->p_ncap)
		return 0;
	cap = n + n / 4;
#define RESERVE(f) do {							\
	if ((np = reallocarray(p->f, cap, sizeof(*p->f))) == NULL)	\
		return -1;						\
	p->f = np;							\
} while (0)
	RESERVE(p_best);
	RESERVE(p_pos);
	RESERVE(p_heap);
	RESERVE(p_lab);
	for (v = p->p_ncap; v < cap; v++)
		memset(&p->p_lab[v], 0, sizeof(p->p_lab[v]));
#undef RESERVE
	p->p_ncap = cap;
	return 0;
}

/* add a tentative label; the array may move */
static int
tent_push(struct plist *pl, const struct plab *x)
{
	struct plab	*nl;
	uint32_t	 cap;

	if (pl->pl_np + pl->pl_nt == pl->pl_cap) {
		if (pl->pl_cap >= ROUTE_EDGES_MAX) {
			errno = EOVERFLOW;
			return -1;
		}
		cap = pl->pl_cap == 0 ? 4 : pl->pl_cap * 2;
		if ((nl = reallocarray(pl->pl_lab, cap, sizeof(*nl))) == NULL)
			return -1;
		pl->pl_lab = nl;
		pl->pl_cap = cap;
	}
	pl->pl_lab[pl->pl_np + pl->pl_nt++] = *x;
	return 0;
}

/* remove the tentative label in slot i */
static void
tent_del(struct plist *pl, uint32_t i)
{
	pl->pl_lab[i] = pl->pl_lab[pl->pl_np + --pl->pl_nt];
}

/* make the tentative label in slot i the next permanent one */
static void
tent_settle(struct plist *pl, uint32_t i)
{
	struct plab	 x;

	x = pl->pl_lab[i];
	pl->pl_lab[i] = pl->pl_lab[pl->pl_np];
	pl->pl_lab[pl->pl_np++] = x;
	pl->pl_nt--;
}

static uint64_t
dim_key(const struct plab *a, enum route_dim d)
{
	switch (d) {
	case ROUTE_DIM_TRUST:
		return ~sr_dkey(a->l_trust);
	case ROUTE_DIM_COST:
		return (uint64_t)a->l_cost;
	case ROUTE_DIM_LATENCY:
		return (uint64_t)a->l_lat;
	default:
		return ~sr_dkey(a->l_rel);
	}
}

/* lexicographic order: < 0 if a comes first */
static int
label_cmp(const struct route_pareto *p, const struct plab *a,
    const struct plab *b)
{
	uint64_t	 ka, kb;
	size_t		 i;

	for (i = 0; i < ROUTE_PARETO_NDIM; i++) {
		ka = dim_key(a, p->p_opts.po_order[i]);
		kb = dim_key(b, p->p_opts.po_order[i]);
		if (ka != kb)
			return ka < kb ? -1 : 1;
	}
	return 0;
}

/* a is at least as good as b in every dimension */
static int
covers(const struct plab *a, const struct plab *b)
{
	return a->l_trust >= b->l_trust && a->l_cost <= b->l_cost &&
	    a->l_lat <= b->l_lat && a->l_rel >= b->l_rel;
}

static const struct plab *
best_of(const struct route_pareto *p, uint32_t v)
{
	return &p->p_lab[v].pl_lab[p->p_best[v]];
}

static int
heap_less(const struct route_pareto *p, const struct pheap *a,
    const struct pheap *b)
{
	int	 c;

	if (a->h_key != b->h_key)
		return a->h_key < b->h_key;
	c = label_cmp(p, best_of(p, a->h_node), best_of(p, b->h_node));
	if (c != 0)
		return c < 0;
	return a->h_node < b->h_node;
}

static void
heap_place(struct route_pareto *p, uint32_t i, const struct pheap *x)
{
	p->p_heap[i] = *x;
	p->p_pos[x->h_node] = i;
}

static void
heap_sift(struct route_pareto *p, uint32_t i)
{
	struct pheap	 x = p->p_heap[i];
	uint32_t	 up, c, n = p->p_hlen;

	while (i > 0) {
		up = (i - 1) / 2;
		if (!heap_less(p, &x, &p->p_heap[up]))
			break;
		heap_place(p, i, &p->p_heap[up]);
		i = up;
	}
	while ((c = 2 * i + 1) < n) {
		if (c + 1 < n && heap_less(p, &p->p_heap[c + 1],
		    &p->p_heap[c]))
			c++;
		if (!heap_less(p, &p->p_heap[c], &x))
			break;
		heap_place(p, i, &p->p_heap[c]);
		i = c;
	}
	heap_place(p, i, &x);
}

/*
 * Node v's tentative labels changed: find the best again and move v in
 * the heap, in, or out of it.
 */
static void
node_update(struct route_pareto *p, uint32_t v)
{
	const struct plist	*pl = &p->p_lab[v];
	struct pheap		 x;
	uint32_t		 i, b, end, pos = p->p_pos[v];

	if (pl->pl_nt == 0) {
		if (pos == ROUTE_NONE)
			return;
		p->p_pos[v] = ROUTE_NONE;
		if (pos == --p->p_hlen)
			return;
		heap_place(p, pos, &p->p_heap[p->p_hlen]);
		heap_sift(p, pos);
		return;
	}
	b = pl->pl_np;
	end = pl->pl_np + pl->pl_nt;
	for (i = b + 1; i < end; i++)
		if (label_cmp(p, &pl->pl_lab[i], &pl->pl_lab[b]) < 0)
			b = i;
	p->p_best[v] = b;
	x.h_key = dim_key(&pl->pl_lab[b], p->p_opts.po_order[0]);
	x.h_node = v;
	if (pos == ROUTE_NONE)
		pos = p->p_hlen++;
	heap_place(p, pos, &x);
	heap_sift(p, pos);
}

/* offer a new label to node v */
static int
offer(struct route_pareto *p, uint32_t v, const struct plab *x)
{
	struct plist	*pl = &p->p_lab[v];
	size_t		 bound = p->p_opts.po_max_labels;
	uint32_t	 i;

	for (i = 0; i < pl->pl_np + pl->pl_nt; i++)
		if (covers(&pl->pl_lab[i], x))
			return 0;
	if (bound > 0 && pl->pl_np >= bound) {
		p->p_discarded++;
		return 0;
	}
	for (i = pl->pl_np; i < pl->pl_np + pl->pl_nt;) {
		if (covers(x, &pl->pl_lab[i]))
			tent_del(pl, i);
		else
			i++;
	}
	if (tent_push(pl, x) == -1)
		return -1;
	node_update(p, v);
	return 0;
}

int
route_pareto_run(struct route_pareto *p, const struct route_graph *g,
    uint32_t src, const struct route_pareto_opts *opts)
{
	struct route_pareto_opts	 def;
	struct plist			*pl;
	struct plab			 x, y;
	uint32_t			 u, v, i, j, k, len, off, n;

	p->p_valid = 0;
	if (opts == NULL) {
		route_pareto_defaults(&def);
		opts = &def;
	}
	if (!route_node_valid(g, src) || !opts_valid(opts)) {
		errno = EINVAL;
		return -1;
	}
	n = g->g_nbound;
	if (pareto_reserve(p, n) == -1)
		return -1;
	p->p_opts = *opts;
	p->p_src = src;
	p->p_n = n;
	p->p_gen = g->g_gen;
	p->p_discarded = 0;
	p->p_live = 0;
	p->p_hlen = 0;
	for (v = 0; v < n; v++) {
		p->p_lab[v].pl_np = 0;
		p->p_lab[v].pl_nt = 0;
		p->p_pos[v] = ROUTE_NONE;
	}

	x.l_trust = 1.0;
	x.l_rel = 1.0;
	x.l_cost = 0;
	x.l_lat = 0;
	x.l_edge = ROUTE_NONE;
	x.l_pidx = ROUTE_NONE;
	if (offer(p, src, &x) == -1)
		return -1;

	while (p->p_hlen > 0) {
		/* the lexicographically first tentative label */
		u = p->p_heap[0].h_node;
		pl = &p->p_lab[u];
		tent_settle(pl, p->p_best[u]);
		k = pl->pl_np - 1;
		x = pl->pl_lab[k];
		p->p_live++;
		if (pl->pl_np == p->p_opts.po_max_labels) {
			/* full: what still waits here can never settle */
			p->p_discarded += pl->pl_nt;
			pl->pl_nt = 0;
		}
		node_update(p, u);

		/* u's out-edges: slab slots off .. off + len - 1 */
		off = g->n_row[u].r_off;
		len = g->n_row[u].r_len;
		/* start the misses on the heads' label arrays together */
		for (i = 0; i < len; i++)
			__builtin_prefetch(&p->p_lab[g->o_head[off + i]]);
		for (i = 0; i < len; i++)
			__builtin_prefetch(p->p_lab[g->o_head[off + i]].pl_lab);
		for (i = 0; i < len; i++) {
			j = off + i;
			y.l_trust = x.l_trust * g->o_trust[j];
			y.l_rel = x.l_rel * g->o_rel[j];
			y.l_cost = sr_satadd(x.l_cost, g->o_cost[j]);
			y.l_lat = sr_satadd(x.l_lat, g->o_lat[j]);
			y.l_edge = g->o_edge[j];
			y.l_pidx = k;
			if (offer(p, g->o_head[j], &y) == -1)
				return -1;
		}
	}
	p->p_valid = 1;
	return 0;
}

uint32_t
route_pareto_source(const struct route_pareto *p)
{
	return p->p_valid ? p->p_src : ROUTE_NONE;
}

size_t
route_pareto_discarded(const struct route_pareto *p)
{
	return p->p_discarded;
}

size_t
route_pareto_labels(const struct route_pareto *p)
{
	return p->p_valid ? p->p_live : 0;
}

size_t
route_pareto_count(const struct route_pareto *p, uint32_t v)
{
	if (!p->p_valid || v >= p->p_n)
		return 0;
	return p->p_lab[v].pl_np;
}

static const struct plab *
lookup(const struct route_pareto *p, const struct route_graph *g,
    uint32_t v, size_t i)
{
	if (!p->p_valid || v >= p->p_n) {
		errno = EINVAL;
		return NULL;
	}
	if (g->g_gen != p->p_gen) {
		errno = ESTALE;
		return NULL;
	}
	if (i >= p->p_lab[v].pl_np) {
		errno = ENOENT;
		return NULL;
	}
	return &p->p_lab[v].pl_lab[i];
}

static const struct plab *
pred_of(const struct route_pareto *p, const struct route_graph *g,
    const struct plab *x)
{
	if (x->l_edge == ROUTE_NONE)
		return NULL;
	return &p->p_lab[g->e_from[x->l_edge]].pl_lab[x->l_pidx];
}

int
route_pareto_get(const struct route_pareto *p, const struct route_graph *g,
    uint32_t v, size_t i, struct route_pathw *pw)
{
	const struct plab	*x, *l;
	uint32_t		 stack[64], *edges = stack;
	size_t			 len = 0, j;
	double			 safe = 1.0;

	if ((l = lookup(p, g, v, i)) == NULL)
		return -1;
	pw->pw_trust = l->l_trust;
	pw->pw_cost = l->l_cost;
	pw->pw_latency = l->l_lat;
	pw->pw_reliability = l->l_rel;
	/*
	 * Risk is scored, not a frontier dimension: compose it along the
	 * path, source first, like every other path value.
	 */
	for (x = l; (x = pred_of(p, g, x)) != NULL;)
		len++;
	if (len > sizeof(stack) / sizeof(stack[0]) &&
	    (edges = reallocarray(NULL, len, sizeof(*edges))) == NULL)
		return -1;
	j = len;
	for (x = l; x->l_edge != ROUTE_NONE; x = pred_of(p, g, x))
		edges[--j] = x->l_edge;
	for (j = 0; j < len; j++)
		safe *= 1.0 - g->e_risk[edges[j]];
	if (edges != stack)
		free(edges);
	pw->pw_risk = 1.0 - safe;
	pw->pw_hops = (uint32_t)len;
	return 0;
}

long
route_pareto_trace(const struct route_pareto *p, const struct route_graph *g,
    uint32_t v, size_t i, uint32_t *buf, size_t max)
{
	const struct plab	*x, *l;
	size_t			 len = 0, j;

	if ((l = lookup(p, g, v, i)) == NULL)
		return -1;
	for (x = l; (x = pred_of(p, g, x)) != NULL;)
		len++;
	j = len;
	for (x = l; x->l_edge != ROUTE_NONE; x = pred_of(p, g, x))
		if (--j < max)
			buf[j] = x->l_edge;
	return (long)len;
}
