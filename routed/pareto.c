/*
 * Pareto frontier over (trust max, cost min, latency min, reliability
 * max): multi-criteria label setting (Martins).
 *
 * A label is one real path: its four values, its node, the label it
 * extends and the edge taken.  Tentative labels wait in a binary heap
 * ordered lexicographically by po_order (each dimension best first).
 * Extending a label never makes it lexicographically better (all four
 * dimensions are monotone), and a label that dominates another is
 * lexicographically no worse, so a popped label is never dominated by
 * anything found later: it becomes permanent and is extended along its
 * node's out-edges.
 *
 * A new label at v is dropped if any label at v (permanent or tentative)
 * is at least as good in every dimension; otherwise it evicts the
 * tentative labels it dominates.  Evicted labels stay in the heap, marked
 * dead, and go to the free list when popped (lazy deletion).
 *
 * The bound L (po_max_labels) is enforced at both ends: a node with L
 * permanent labels takes no more, and a node whose permanent plus
 * tentative labels would exceed L evicts its lexicographically worst
 * tentative one.  An evicted label is behind L - perm tentative labels
 * that pop before it, so it could never have become permanent: the bound
 * keeps each node's L lexicographically best labels of what reaches it,
 * and costs O(L) per insertion.  Each label the bound removes is counted
 * in route_pareto_discarded(); zero means the frontier is exact.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"
#include "route_impl.h"

struct plabel {
	double		 l_trust;
	double		 l_rel;
	int64_t		 l_cost;
	int64_t		 l_lat;
	uint32_t	 l_node;	/* ROUTE_NONE: dead or free */
	uint32_t	 l_pred;	/* label extended */
	uint32_t	 l_edge;	/* edge taken from l_pred's node */
	uint32_t	 l_next;	/* node list or free list */
};

struct pheap {
	uint64_t	 h_key;		/* primary dimension's order key */
	uint32_t	 h_lab;
};

struct route_pareto {
	uint64_t	 p_gen;
	int		 p_valid;
	uint32_t	 p_src;
	uint32_t	 p_n;		/* node bound of the run */
	struct route_pareto_opts p_opts;
	size_t		 p_discarded;

	struct plabel	*p_lab;
	uint32_t	 p_nlab;
	uint32_t	 p_labcap;
	uint32_t	 p_free;	/* free list head */
	uint32_t	 p_live;	/* permanent labels */

	struct pheap	*p_heap;
	size_t		 p_hlen;
	size_t		 p_hcap;

	size_t		 p_ncap;
	uint32_t	*p_perm;	/* per node: permanent list head */
	uint32_t	*p_nperm;
	uint32_t	*p_tent;	/* per node: tentative list head */
	uint32_t	*p_ntent;
	uint32_t	*p_off;		/* results: node v's labels are */
	uint32_t	*p_res;		/* p_res[p_off[v] .. p_off[v+1]) */
	size_t		 p_rescap;
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
	if (p == NULL)
		return;
	free(p->p_lab);
	free(p->p_heap);
	free(p->p_perm);
	free(p->p_nperm);
	free(p->p_tent);
	free(p->p_ntent);
	free(p->p_off);
	free(p->p_res);
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
	size_t	 cap;

	if (n + 1 <= p->p_ncap)
		return 0;
	cap = n + 1 + n / 4;
#define RESERVE(f) do {							\
	if ((np = reallocarray(p->f, cap, sizeof(*p->f))) == NULL)	\
		return -1;						\
	p->f = np;							\
} while (0)
	RESERVE(p_perm);
	RESERVE(p_nperm);
	RESERVE(p_tent);
	RESERVE(p_ntent);
	RESERVE(p_off);
#undef RESERVE
	p->p_ncap = cap;
	return 0;
}

static uint32_t
label_alloc(struct route_pareto *p)
{
	struct plabel	*nl;
	uint32_t	 l, cap;

	if ((l = p->p_free) != ROUTE_NONE) {
		p->p_free = p->p_lab[l].l_next;
		return l;
	}
	if (p->p_nlab == p->p_labcap) {
		if (p->p_labcap >= ROUTE_EDGES_MAX) {
			errno = EOVERFLOW;
			return ROUTE_NONE;
		}
		cap = p->p_labcap == 0 ? 1024 : p->p_labcap * 2;
		if ((nl = reallocarray(p->p_lab, cap, sizeof(*nl))) == NULL)
			return ROUTE_NONE;
		p->p_lab = nl;
		p->p_labcap = cap;
	}
	return p->p_nlab++;
}

static void
label_free(struct route_pareto *p, uint32_t l)
{
	p->p_lab[l].l_node = ROUTE_NONE;
	p->p_lab[l].l_next = p->p_free;
	p->p_free = l;
}

static uint64_t
dim_key(const struct plabel *a, enum route_dim d)
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
label_cmp(const struct route_pareto *p, const struct plabel *a,
    const struct plabel *b)
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

static int
heap_less(const struct route_pareto *p, const struct pheap *a,
    const struct pheap *b)
{
	int	 c;

	if (a->h_key != b->h_key)
		return a->h_key < b->h_key;
	c = label_cmp(p, &p->p_lab[a->h_lab], &p->p_lab[b->h_lab]);
	if (c != 0)
		return c < 0;
	return a->h_lab < b->h_lab;
}

static int
heap_push(struct route_pareto *p, uint32_t l)
{
	struct pheap	*nh, x;
	size_t		 i, up, cap;

	if (p->p_hlen == p->p_hcap) {
		cap = p->p_hcap == 0 ? 1024 : p->p_hcap * 2;
		if ((nh = reallocarray(p->p_heap, cap, sizeof(*nh))) == NULL)
			return -1;
		p->p_heap = nh;
		p->p_hcap = cap;
	}
	x.h_key = dim_key(&p->p_lab[l], p->p_opts.po_order[0]);
	x.h_lab = l;
	for (i = p->p_hlen++; i > 0; i = up) {
		up = (i - 1) / 2;
		if (!heap_less(p, &x, &p->p_heap[up]))
			break;
		p->p_heap[i] = p->p_heap[up];
	}
	p->p_heap[i] = x;
	return 0;
}

static uint32_t
heap_pop(struct route_pareto *p)
{
	struct pheap	 x;
	uint32_t	 top;
	size_t		 i, c, n;

	top = p->p_heap[0].h_lab;
	n = --p->p_hlen;
	if (n == 0)
		return top;
	x = p->p_heap[n];
	for (i = 0; (c = 2 * i + 1) < n; i = c) {
		if (c + 1 < n && heap_less(p, &p->p_heap[c + 1],
		    &p->p_heap[c]))
			c++;
		if (!heap_less(p, &p->p_heap[c], &x))
			break;
		p->p_heap[i] = p->p_heap[c];
	}
	p->p_heap[i] = x;
	return top;
}

/* a is at least as good as b in every dimension */
static int
covers(const struct plabel *a, const struct plabel *b)
{
	return a->l_trust >= b->l_trust && a->l_cost <= b->l_cost &&
	    a->l_lat <= b->l_lat && a->l_rel >= b->l_rel;
}

/*
 * Offer the label in slot nl (filled in, not yet linked) to its node.
 * Returns 1 if kept, 0 if dropped (the slot is then freed), -1 on error.
 */
static int
offer(struct route_pareto *p, uint32_t nl)
{
	struct plabel	*lab = p->p_lab, *x = &lab[nl];
	uint32_t	 v = x->l_node, l, *prev, worst, *wprev;
	size_t		 bound = p->p_opts.po_max_labels;

	for (l = p->p_perm[v]; l != ROUTE_NONE; l = lab[l].l_next)
		if (covers(&lab[l], x))
			goto drop;
	for (l = p->p_tent[v]; l != ROUTE_NONE; l = lab[l].l_next)
		if (covers(&lab[l], x))
			goto drop;
	if (bound > 0 && p->p_nperm[v] >= bound) {
		p->p_discarded++;
		goto drop;
	}
	/* evict what the new label dominates */
	prev = &p->p_tent[v];
	while ((l = *prev) != ROUTE_NONE) {
		if (covers(x, &lab[l])) {
			*prev = lab[l].l_next;
			lab[l].l_node = ROUTE_NONE;	/* dead in the heap */
			p->p_ntent[v]--;
		} else
			prev = &lab[l].l_next;
	}
	x->l_next = p->p_tent[v];
	p->p_tent[v] = nl;
	p->p_ntent[v]++;
	if (heap_push(p, nl) == -1) {
		p->p_tent[v] = x->l_next;
		p->p_ntent[v]--;
		return -1;
	}
	if (bound == 0 || p->p_nperm[v] + p->p_ntent[v] <= bound)
		return 1;
	/* over the bound: evict the lexicographically worst tentative */
	worst = p->p_tent[v];
	wprev = &p->p_tent[v];
	for (prev = &p->p_tent[v]; (l = *prev) != ROUTE_NONE;
	    prev = &lab[l].l_next) {
		if (label_cmp(p, &lab[l], &lab[worst]) > 0) {
			worst = l;
			wprev = prev;
		}
	}
	*wprev = lab[worst].l_next;
	lab[worst].l_node = ROUTE_NONE;
	p->p_ntent[v]--;
	p->p_discarded++;
	return worst == nl ? 0 : 1;
 drop:
	label_free(p, nl);
	return 0;
}

/* move label l from its node's tentative list to the permanent list */
static void
make_permanent(struct route_pareto *p, uint32_t l)
{
	struct plabel	*lab = p->p_lab;
	uint32_t	 v = lab[l].l_node, *prev;

	for (prev = &p->p_tent[v]; *prev != l; prev = &lab[*prev].l_next)
		;
	*prev = lab[l].l_next;
	p->p_ntent[v]--;
	lab[l].l_next = p->p_perm[v];
	p->p_perm[v] = l;
	p->p_nperm[v]++;
	p->p_live++;
}

static int
collect(struct route_pareto *p)
{
	uint32_t	*nr, v, l, i, n = p->p_n;
	size_t		 total = 0;

	for (v = 0; v < n; v++) {
		p->p_off[v] = (uint32_t)total;
		total += p->p_nperm[v];
	}
	p->p_off[n] = (uint32_t)total;
	if (total > p->p_rescap) {
		if ((nr = reallocarray(p->p_res, total, sizeof(*nr))) == NULL)
			return -1;
		p->p_res = nr;
		p->p_rescap = total;
	}
	/* permanent lists are newest first; store them in pop order */
	for (v = 0; v < n; v++) {
		i = p->p_off[v + 1];
		for (l = p->p_perm[v]; l != ROUTE_NONE; l = p->p_lab[l].l_next)
			p->p_res[--i] = l;
	}
	return 0;
}

int
route_pareto_run(struct route_pareto *p, const struct route_graph *g,
    uint32_t src, const struct route_pareto_opts *opts)
{
	struct route_pareto_opts	 def;
	const struct route_vec		*vp;
	struct plabel			*x, *y;
	uint32_t			 l, nl, v, e, i, n;

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
	p->p_nlab = 0;
	p->p_free = ROUTE_NONE;
	p->p_live = 0;
	p->p_hlen = 0;
	for (v = 0; v < n; v++) {
		p->p_perm[v] = p->p_tent[v] = ROUTE_NONE;
		p->p_nperm[v] = p->p_ntent[v] = 0;
	}

	if ((l = label_alloc(p)) == ROUTE_NONE)
		return -1;
	x = &p->p_lab[l];
	x->l_trust = 1.0;
	x->l_rel = 1.0;
	x->l_cost = 0;
	x->l_lat = 0;
	x->l_node = src;
	x->l_pred = ROUTE_NONE;
	x->l_edge = ROUTE_NONE;
	if (offer(p, l) == -1)
		return -1;

	while (p->p_hlen > 0) {
		l = heap_pop(p);
		if (p->p_lab[l].l_node == ROUTE_NONE) {
			label_free(p, l);	/* evicted while queued */
			continue;
		}
		make_permanent(p, l);
		vp = &g->n_out[p->p_lab[l].l_node];
		for (i = 0; i < vp->v_len; i++) {
			e = vp->v_adj[i].a_edge;
			if ((nl = label_alloc(p)) == ROUTE_NONE)
				return -1;
			x = &p->p_lab[l];	/* label_alloc may move */
			y = &p->p_lab[nl];
			y->l_trust = x->l_trust * g->e_trust[e];
			y->l_rel = x->l_rel * g->e_rel[e];
			y->l_cost = sr_satadd(x->l_cost, g->e_cost[e]);
			y->l_lat = sr_satadd(x->l_lat, g->e_lat[e]);
			y->l_node = vp->v_adj[i].a_node;
			y->l_pred = l;
			y->l_edge = e;
			if (offer(p, nl) == -1)
				return -1;
		}
	}
	if (collect(p) == -1)
		return -1;
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
	return p->p_off[v + 1] - p->p_off[v];
}

static int
lookup(const struct route_pareto *p, const struct route_graph *g,
    uint32_t v, size_t i, uint32_t *l)
{
	if (!p->p_valid || v >= p->p_n) {
		errno = EINVAL;
		return -1;
	}
	if (g->g_gen != p->p_gen) {
		errno = ESTALE;
		return -1;
	}
	if (i >= (size_t)(p->p_off[v + 1] - p->p_off[v])) {
		errno = ENOENT;
		return -1;
	}
	*l = p->p_res[p->p_off[v] + i];
	return 0;
}

int
route_pareto_get(const struct route_pareto *p, const struct route_graph *g,
    uint32_t v, size_t i, struct route_pathw *pw)
{
	const struct plabel	*x;
	uint32_t		 l, stack[64], *edges = stack;
	size_t			 len = 0, j;
	double			 safe = 1.0;

	if (lookup(p, g, v, i, &l) == -1)
		return -1;
	x = &p->p_lab[l];
	pw->pw_trust = x->l_trust;
	pw->pw_cost = x->l_cost;
	pw->pw_latency = x->l_lat;
	pw->pw_reliability = x->l_rel;
	/*
	 * Risk is scored, not a frontier dimension: compose it along the
	 * path, source first, like every other path value.
	 */
	for (; x->l_pred != ROUTE_NONE; x = &p->p_lab[x->l_pred])
		len++;
	if (len > sizeof(stack) / sizeof(stack[0]) &&
	    (edges = reallocarray(NULL, len, sizeof(*edges))) == NULL)
		return -1;
	j = len;
	for (x = &p->p_lab[l]; x->l_pred != ROUTE_NONE;
	    x = &p->p_lab[x->l_pred])
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
	const struct plabel	*x;
	uint32_t		 l;
	size_t			 len = 0, j;

	if (lookup(p, g, v, i, &l) == -1)
		return -1;
	for (x = &p->p_lab[l]; x->l_pred != ROUTE_NONE;
	    x = &p->p_lab[x->l_pred])
		len++;
	j = len;
	for (x = &p->p_lab[l]; x->l_pred != ROUTE_NONE;
	    x = &p->p_lab[x->l_pred])
		if (--j < max)
			buf[j] = x->l_edge;
	return (long)len;
}
