/*
 * Single-source optimal values with path traces.
 *
 * Label setting: Dijkstra over one scalar part at a time, a binary heap of
 * (order key, node) with decrease-key through a position array.  The key
 * maps each kind's order onto unsigned integers (route_impl.h), so heap
 * comparisons never call through a pointer; the relaxation loop is
 * specialised per (kind, dimension) by inlining.  Correct because every
 * built-in kind is selective and, on the weight domains the graph
 * enforces, monotone: a settled node can never be improved.
 *
 * Bellman-Ford: a FIFO work list over the whole value (every part at
 * once), through the semiring's function pointers for SR_CUSTOM.  With
 * FIFO order a node is dequeued at most once per round and a monotone
 * semiring settles within V rounds, so more than V dequeues of one node
 * means the semiring does not converge on this graph: ELOOP.
 *
 * Values and predecessor edges are stored part-major (part k of node v at
 * k * stride + v), so each label-setting pass walks dense arrays; values,
 * predecessors and heap positions are separate arrays, which measured
 * faster than one array of per-node records (the values, read on every
 * relaxation, are then 8 bytes a node).  Out-edge slots carry the head
 * and the weights, so one prefetch, issued for the heap's new top while
 * the previous node finishes, brings what the next step reads.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"
#include "route_impl.h"

#define H_NOTSEEN	ROUTE_NONE
#define H_DONE		(ROUTE_NONE - 1)

#define ALWAYS_INLINE	inline __attribute__((__always_inline__))
#define PREFETCH(p)	__builtin_prefetch(p)
#define PREFETCH_LINES	8	/* cache lines of out-edges fetched ahead */

struct hent {
	uint64_t	 h_key;
	uint32_t	 h_node;
};

struct route_sssp {
	uint64_t	 s_gen;
	struct semiring	 s_sr;
	enum route_algo	 s_algo;
	int		 s_valid;
	uint32_t	 s_src;
	uint32_t	 s_n;		/* node bound of the run */
	size_t		 s_stride;	/* nodes allocated per part */
	size_t		 s_wcap;	/* parts allocated */
	union sr_val	*s_val;		/* s_stride * s_wcap, part-major */
	uint32_t	*s_pred;	/* predecessor edges, likewise */
	struct hent	*s_heap;
	uint32_t	*s_pos;		/* heap position of each node */
	uint32_t	*s_q;
	uint32_t	*s_cnt;
	uint8_t		*s_inq;
	uint64_t	 s_work;
};

struct route_sssp *
route_sssp_new(void)
{
	return calloc(1, sizeof(struct route_sssp));
}

void
route_sssp_free(struct route_sssp *s)
{
	if (s == NULL)
		return;
	free(s->s_val);
	free(s->s_pred);
	free(s->s_heap);
	free(s->s_pos);
	free(s->s_q);
	free(s->s_cnt);
	free(s->s_inq);
	free(s);
}

static int
sssp_reserve(struct route_sssp *s, size_t n, size_t width)
{
	void	*p;
	size_t	 stride;

	if (n <= s->s_stride && width <= s->s_wcap)
		return 0;
	stride = n > s->s_stride ? n + n / 4 : s->s_stride;
	if (width < s->s_wcap)
		width = s->s_wcap;
	s->s_valid = 0;
#define RESERVE(f, cnt) do {						\
	if ((p = reallocarray(s->f, (cnt), sizeof(*s->f))) == NULL)	\
		return -1;						\
	s->f = p;							\
} while (0)
	RESERVE(s_val, stride * width);
	RESERVE(s_pred, stride * width);
	RESERVE(s_heap, stride);
	RESERVE(s_pos, stride);
	RESERVE(s_q, stride);
	RESERVE(s_cnt, stride);
	RESERVE(s_inq, stride);
#undef RESERVE
	s->s_stride = stride;
	s->s_wcap = width;
	return 0;
}

static ALWAYS_INLINE void
heap_up(struct hent *h, uint32_t *pos, uint32_t i, uint64_t key,
    uint32_t node)
{
	uint32_t	 p;

	while (i > 0) {
		p = (i - 1) / 2;
		if (h[p].h_key <= key)
			break;
		h[i] = h[p];
		pos[h[i].h_node] = i;
		i = p;
	}
	h[i].h_key = key;
	h[i].h_node = node;
	pos[node] = i;
}

static ALWAYS_INLINE uint32_t
heap_pop(struct hent *h, uint32_t *pos, uint32_t *lenp)
{
	struct hent	 x;
	uint32_t	 top, i, c, n;

	top = h[0].h_node;
	n = --*lenp;
	if (n > 0) {
		x = h[n];
		i = 0;
		while ((c = 2 * i + 1) < n) {
			if (c + 1 < n && h[c + 1].h_key < h[c].h_key)
				c++;
			if (x.h_key <= h[c].h_key)
				break;
			h[i] = h[c];
			pos[h[i].h_node] = i;
			i = c;
		}
		h[i] = x;
		pos[x.h_node] = i;
	}
	pos[top] = H_DONE;
	return top;
}

/* a label-setting pass in progress */
struct lsrun {
	union sr_val	*l_val;
	uint32_t	*l_pred;
	struct hent	*l_heap;
	uint32_t	*l_pos;
	uint32_t	 l_hlen;
	uint64_t	 l_work;
};

static ALWAYS_INLINE void
ls_init(struct route_sssp *s, enum sr_kind kind, struct lsrun *l)
{
	union sr_val	*val = l->l_val;
	uint32_t	*pred = l->l_pred;
	uint32_t	 v, n = s->s_n;

	for (v = 0; v < n; v++) {
		sr_scalar_zero(kind, &val[v]);
		pred[v] = ROUTE_NONE;
		l->l_pos[v] = H_NOTSEEN;
	}
	sr_scalar_one(kind, &val[s->s_src]);
	l->l_hlen = 1;
	l->l_work = 0;
	heap_up(l->l_heap, l->l_pos, 0,
	    sr_scalar_key(kind, &val[s->s_src]), s->s_src);
}

/*
 * Settle one node and relax its out-edges.  Inlined into each call site
 * so that constant kinds compile to straight-line relaxations.
 */
static ALWAYS_INLINE void
ls_step(const struct route_graph *g, enum sr_kind kind, enum route_dim dim,
    struct lsrun *l)
{
	const struct route_oadj	*adj;
	const struct route_ovec	*nv;
	const char		*next, *end;
	union sr_val		*val = l->l_val;
	uint32_t		*pred = l->l_pred;
	struct hent		*h = l->l_heap;
	uint32_t		*hpos = l->l_pos;
	union sr_val		 uv, w, c;
	uint32_t		 u, v, i, len, pos;

	u = heap_pop(h, hpos, &l->l_hlen);
	if (l->l_hlen > 0)
		PREFETCH(&g->n_out[h[0].h_node]);
	uv = val[u];
	adj = g->n_out[u].v_adj;
	len = g->n_out[u].v_len;
	for (i = 0; i < len; i++)
		PREFETCH(&val[adj[i].a_node]);
	for (i = 0; i < len; i++) {
		v = adj[i].a_node;
		sr_slot_weight(&adj[i], kind, dim, &w);
		sr_scalar_mul(kind, &c, &uv, &w);
		/* a settled node is never improved: monotone */
		if (!sr_scalar_better(kind, &c, &val[v]) ||
		    (pos = hpos[v]) == H_DONE)
			continue;
		l->l_work++;
		val[v] = c;
		pred[v] = adj[i].a_edge;
		if (pos == H_NOTSEEN)
			pos = l->l_hlen++;
		heap_up(h, hpos, pos, sr_scalar_key(kind, &c), v);
	}
	/*
	 * Most likely the next node: fetch its out-edges (heads and weights)
	 * while the heap sifts.
	 */
	if (l->l_hlen > 0) {
		nv = &g->n_out[h[0].h_node];
		next = (const char *)nv->v_adj;
		end = next + nv->v_len * sizeof(*nv->v_adj);
		for (i = 0; next < end && i < PREFETCH_LINES; i++, next += 64)
			PREFETCH(next);
	}
}

static ALWAYS_INLINE void
ls_pass(struct route_sssp *s, const struct route_graph *g,
    enum sr_kind kind, enum route_dim dim, struct lsrun *l)
{
	ls_init(s, kind, l);
	while (l->l_hlen > 0)
		ls_step(g, kind, dim, l);
}

/* a whole pass over part k, in a copy specialised for common parts */
static void
ls_part(struct route_sssp *s, const struct route_graph *g, size_t k,
    struct lsrun *l)
{
	const struct semiring	*sr = &s->s_sr;

	switch (sr->sr_part[k]) {
	case SR_MAXTIMES:
		if (sr->sr_dim[k] == ROUTE_DIM_TRUST)
			ls_pass(s, g, SR_MAXTIMES, ROUTE_DIM_TRUST, l);
		else
			ls_pass(s, g, SR_MAXTIMES, ROUTE_DIM_RELIABILITY, l);
		break;
	case SR_MINPLUS:
		if (sr->sr_dim[k] == ROUTE_DIM_COST)
			ls_pass(s, g, SR_MINPLUS, ROUTE_DIM_COST, l);
		else
			ls_pass(s, g, SR_MINPLUS, ROUTE_DIM_LATENCY, l);
		break;
	case SR_BOOL:
		ls_pass(s, g, SR_BOOL, ROUTE_DIM_NONE, l);
		break;
	default:	/* SR_MAXMIN, SR_LOGMAX: not hot */
		ls_pass(s, g, sr->sr_part[k], sr->sr_dim[k], l);
		break;
	}
}

/*
 * A product runs one pass per part, one after the other: each pass keeps
 * its node states and heap hot in the cache.  Interleaving the passes
 * node by node measured slower (bench/RESULTS.md), and so did one
 * Bellman-Ford pass over the whole record.
 */
static void
ls_run(struct route_sssp *s, const struct route_graph *g)
{
	struct lsrun	 l;
	size_t		 k;

	for (k = 0; k < s->s_sr.sr_width; k++) {
		l.l_val = s->s_val + k * s->s_stride;
		l.l_pred = s->s_pred + k * s->s_stride;
		l.l_heap = s->s_heap;
		l.l_pos = s->s_pos;
		ls_part(s, g, k, &l);
		s->s_work += l.l_work;
	}
}

static int
bf_run(struct route_sssp *s, const struct route_graph *g)
{
	const struct semiring	*sr = &s->s_sr;
	const struct route_ovec	*vp;
	union sr_val		*val = s->s_val;
	uint32_t		*pred = s->s_pred;
	struct route_ew		 ew;
	union sr_val		 a[SR_PARTS_MAX], w[SR_PARTS_MAX];
	union sr_val		 c[SR_PARTS_MAX], old[SR_PARTS_MAX];
	union sr_val		 nw[SR_PARTS_MAX];
	size_t			 k, width = sr->sr_width, st = s->s_stride;
	uint32_t		 u, v, e, i, n = s->s_n, head = 0, qlen = 0;
	int			 custom = sr->sr_kind == SR_CUSTOM, changed;
	uint64_t		 work = 0;

	sr->sr_zero(sr, a);
	for (v = 0; v < n; v++) {
		for (k = 0; k < width; k++) {
			val[k * st + v] = a[k];
			pred[k * st + v] = ROUTE_NONE;
		}
		s->s_inq[v] = 0;
		s->s_cnt[v] = 0;
	}
	sr->sr_one(sr, a);
	for (k = 0; k < width; k++)
		val[k * st + s->s_src] = a[k];
	s->s_q[0] = s->s_src;
	s->s_inq[s->s_src] = 1;
	qlen = 1;
	while (qlen > 0) {
		u = s->s_q[head];
		head = head + 1 == n ? 0 : head + 1;
		qlen--;
		s->s_inq[u] = 0;
		if (++s->s_cnt[u] > n) {
			s->s_work += work;
			errno = ELOOP;
			return -1;
		}
		for (k = 0; k < width; k++)
			a[k] = val[k * st + u];
		vp = &g->n_out[u];
		for (i = 0; i < vp->v_len; i++) {
			e = vp->v_adj[i].a_edge;
			v = vp->v_adj[i].a_node;
			work++;
			for (k = 0; k < width; k++)
				old[k] = val[k * st + v];
			if (custom) {
				route_ew_from_edge(g, e, &ew);
				sr->sr_weight(sr, &ew, w);
				sr->sr_mul(sr, c, a, w);
				sr->sr_add(sr, nw, old, c);
			} else {
				for (k = 0; k < width; k++) {
					sr_slot_weight(&vp->v_adj[i],
					    sr->sr_part[k], sr->sr_dim[k],
					    &w[k]);
					sr_scalar_mul(sr->sr_part[k], &c[k],
					    &a[k], &w[k]);
					sr_scalar_add(sr->sr_part[k], &nw[k],
					    &old[k], &c[k]);
				}
			}
			changed = 0;
			for (k = 0; k < width; k++) {
				if (nw[k].i == old[k].i)
					continue;
				val[k * st + v] = nw[k];
				pred[k * st + v] = e;
				changed = 1;
			}
			if (changed && !s->s_inq[v]) {
				s->s_inq[v] = 1;
				s->s_q[(head + qlen) % n] = v;
				qlen++;
			}
		}
	}
	s->s_work += work;
	return 0;
}

int
route_sssp_run(struct route_sssp *s, const struct route_graph *g,
    const struct semiring *sr, uint32_t src, enum route_algo algo)
{
	int	 label_ok;

	s->s_valid = 0;
	if (sr == NULL || sr->sr_width < 1 || sr->sr_width > SR_PARTS_MAX ||
	    sr->sr_add == NULL || sr->sr_mul == NULL || sr->sr_zero == NULL ||
	    sr->sr_one == NULL || sr->sr_weight == NULL ||
	    !route_node_valid(g, src)) {
		errno = EINVAL;
		return -1;
	}
	if (sr->sr_kind != SR_CUSTOM && !sr_builtin_ok(sr)) {
		errno = EINVAL;
		return -1;
	}
	label_ok = sr->sr_kind != SR_CUSTOM && (sr->sr_flags & SR_MONOTONE);
	if (algo == ROUTE_ALGO_AUTO)
		algo = label_ok ? ROUTE_ALGO_LABEL : ROUTE_ALGO_BF;
	if ((algo == ROUTE_ALGO_LABEL && !label_ok) ||
	    (algo != ROUTE_ALGO_LABEL && algo != ROUTE_ALGO_BF)) {
		errno = EINVAL;
		return -1;
	}
	if (sssp_reserve(s, g->g_nbound, sr->sr_width) == -1)
		return -1;
	s->s_sr = *sr;
	s->s_algo = algo;
	s->s_src = src;
	s->s_n = g->g_nbound;
	s->s_gen = g->g_gen;
	s->s_work = 0;
	if (algo == ROUTE_ALGO_LABEL)
		ls_run(s, g);
	else if (bf_run(s, g) == -1)
		return -1;
	s->s_valid = 1;
	return 0;
}

enum route_algo
route_sssp_algo(const struct route_sssp *s)
{
	return s->s_algo;
}

uint64_t
route_sssp_work(const struct route_sssp *s)
{
	return s->s_work;
}

int
route_sssp_value(const struct route_sssp *s, uint32_t node,
    union sr_val *out)
{
	size_t	 k;

	if (!s->s_valid || node >= s->s_n) {
		errno = EINVAL;
		return -1;
	}
	for (k = 0; k < s->s_sr.sr_width; k++)
		out[k] = s->s_val[k * s->s_stride + node];
	return 0;
}

int
route_sssp_reached(const struct route_sssp *s, uint32_t node, size_t k)
{
	const struct semiring	*sr = &s->s_sr;
	union sr_val		 z[SR_PARTS_MAX];
	size_t			 i;

	if (!s->s_valid || node >= s->s_n || k >= sr->sr_width)
		return 0;
	sr->sr_zero(sr, z);
	if (sr->sr_kind != SR_CUSTOM)
		return s->s_val[k * s->s_stride + node].i != z[k].i;
	for (i = 0; i < sr->sr_width; i++)
		if (s->s_val[i * s->s_stride + node].i != z[i].i)
			return 1;
	return 0;
}

long
route_sssp_trace(const struct route_sssp *s, const struct route_graph *g,
    uint32_t node, size_t k, uint32_t *buf, size_t max)
{
	const uint32_t	*pred;
	uint32_t	 x, e;
	size_t		 len = 0, i;

	if (!s->s_valid || node >= s->s_n || k >= s->s_sr.sr_width) {
		errno = EINVAL;
		return -1;
	}
	if (g->g_gen != s->s_gen) {
		errno = ESTALE;
		return -1;
	}
	if (!route_sssp_reached(s, node, k)) {
		errno = ENOENT;
		return -1;
	}
	pred = s->s_pred + k * s->s_stride;
	for (x = node; x != s->s_src; x = g->e_from[e]) {
		if ((e = pred[x]) == ROUTE_NONE || ++len > s->s_n) {
			errno = EFAULT;	/* cannot happen */
			return -1;
		}
	}
	i = len;
	for (x = node; x != s->s_src; x = g->e_from[e]) {
		e = pred[x];
		if (--i < max)
			buf[i] = e;
	}
	return (long)len;
}
