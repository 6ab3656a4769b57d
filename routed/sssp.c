/*
 * Single-source optimal values with path traces.
 *
 * Label setting: one scalar part at a time, nodes settled in the order of
 * their values through a bucket queue (Dial's algorithm, generalised).
 * Each kind's order maps onto unsigned keys, smaller better (route_impl.h);
 * a node waits in bucket key >> shift.  For cost and latency (integers)
 * the shift is 0 while the graph's largest edge weight is below the
 * window (BQ_WIN_MAX buckets), so a bucket holds one value and its nodes
 * are final when it is reached: Dial's algorithm exactly.  For the double
 * kinds (trust, reliability, bottleneck, log-trust) a bucket is a slice
 * of 2^45 keys, 1/128 of an octave of the IEEE bit pattern, which orders
 * positive and negative doubles alike.  Inside such a bucket (and for
 * integers when the largest weight forces a shift) the order is not
 * exact, so a node improved by another node of the same bucket is queued
 * again and relaxed again: label correcting within the bucket, label
 * setting across buckets.  Because every built-in kind is monotone on the
 * weight domains the graph enforces, no relaxation can reach an earlier
 * bucket, and every node is final once the queue has moved past its
 * bucket.  The result is the greatest fixed point of the relaxations, the
 * same as Bellman-Ford's, bit for bit, floating-point products included.
 *
 * Entries are lazy: a node improved into another bucket is queued again
 * and its old entry skipped (it no longer waits, s_inq).  The window is
 * circular; a key beyond it waits in an overflow list that is spread into
 * the window when the queue reaches its least bucket.
 *
 * The entries of the current bucket are known before they are settled, so
 * each settling prefetches what a later one reads: a few entries ahead
 * the node's row, then the heads and weights of its out-edges in the
 * slab, then the heads' values.
 * That overlap of cache misses is what makes the bucket queue faster than
 * the binary heap it replaced (bench/RESULTS.md), whose next node is not
 * known until the previous one is done.
 *
 * Bellman-Ford: a FIFO work list over the whole value (every part at
 * once), through the semiring's function pointers for SR_CUSTOM.  With
 * FIFO order a node is dequeued at most once per round and a monotone
 * semiring settles within V rounds, so more than V dequeues of one node
 * means the semiring does not converge on this graph: ELOOP.
 *
 * Values and predecessors (the slab slot of the edge that reached the
 * node, route_impl.h) are stored part-major (part k of node v at
 * k * stride + v), so each label-setting pass walks dense arrays.
 * Predecessors change only on a strict improvement, so they form a tree
 * and each trace is a simple path whose composed value is exactly the
 * node's value (a later improvement of the predecessor that leaves the
 * head's value unchanged composes to the same value, rounding being
 * monotone).
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"
#include "route_impl.h"

#define ALWAYS_INLINE	inline __attribute__((__always_inline__))
#define PREFETCH(p)	__builtin_prefetch(p)

/*
 * The bucket queue.  A key (route_impl.h: smaller is better) falls in
 * bucket key >> shift.  A circular window of nb buckets holds the
 * buckets cur .. cur + nb - 1; a key beyond goes to the overflow list,
 * whose least bucket omin is remembered and which is spread into the
 * window when cur reaches omin (or at once when the window is empty).
 */
#define BQ_WIN_MAX	4096	/* window buckets, a power of two */
#define BQ_WIN_DBL	1024	/* window for double keys: 8 octaves */
#define BQ_SHIFT_DBL	45	/* 2^7 buckets an octave of a double */
/*
 * How many bucket entries ahead each stage fetches: the node's row and
 * state, its heads and weights, its heads' values.  Measured on the
 * benchmark graph: 10 to 24 ahead for the row all within noise.
 */
#define LOOK_HDR	16
#define LOOK_ADJ	8
#define LOOK_VAL	2

struct bucket {
	uint32_t	*b_item;
	uint32_t	 b_len;
	uint32_t	 b_cap;
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
	uint32_t	*s_pred;	/* predecessors' slab slots, likewise */
	size_t		 s_valsz;	/* bytes of the two arrays above */
	size_t		 s_predsz;
	uint8_t		*s_inq;		/* waits in the queue (both engines) */
	uint32_t	*s_q;
	uint32_t	*s_cnt;
	struct bucket	*s_win;		/* BQ_WIN_MAX buckets */
	struct bucket	 s_over;	/* the overflow list */
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
	size_t	 i;

	if (s == NULL)
		return;
	if (s->s_win != NULL) {
		for (i = 0; i < BQ_WIN_MAX; i++)
			free(s->s_win[i].b_item);
		free(s->s_win);
	}
	free(s->s_over.b_item);
	route_big_free(s->s_val, s->s_valsz);
	route_big_free(s->s_pred, s->s_predsz);
	free(s->s_inq);
	free(s->s_q);
	free(s->s_cnt);
	free(s);
}

static int
sssp_reserve(struct route_sssp *s, size_t n, size_t width)
{
	void	*p;
	size_t	 stride;

	if (s->s_win == NULL &&
	    (s->s_win = calloc(BQ_WIN_MAX, sizeof(*s->s_win))) == NULL)
		return -1;
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
	/* values and predecessors: huge pages, nothing to keep */
#define BIG(f, sz, cnt) do {						\
	if ((cnt) > SIZE_MAX / sizeof(*s->f)) {				\
		errno = ENOMEM;						\
		return -1;						\
	}								\
	if ((p = route_big_alloc((cnt) * sizeof(*s->f),			\
	    (cnt) * sizeof(*s->f))) == NULL)				\
		return -1;						\
	route_big_free(s->f, s->sz);					\
	s->f = p;							\
	s->sz = (cnt) * sizeof(*s->f);					\
} while (0)
	BIG(s_val, s_valsz, stride * width);
	BIG(s_pred, s_predsz, stride * width);
#undef BIG
	RESERVE(s_inq, stride);
	RESERVE(s_q, stride);
	RESERVE(s_cnt, stride);
#undef RESERVE
	s->s_stride = stride;
	s->s_wcap = width;
	return 0;
}

static int
bucket_grow(struct bucket *b)
{
	uint32_t	*p, cap;

	if (b->b_cap >= UINT32_MAX / 2) {
		errno = ENOMEM;
		return -1;
	}
	cap = b->b_cap < 16 ? 16 : b->b_cap * 2;
	if ((p = reallocarray(b->b_item, cap, sizeof(*p))) == NULL)
		return -1;
	b->b_item = p;
	b->b_cap = cap;
	return 0;
}

static ALWAYS_INLINE int
bucket_add(struct bucket *b, uint32_t v)
{
	if (b->b_len == b->b_cap && bucket_grow(b) == -1)
		return -1;
	b->b_item[b->b_len++] = v;
	return 0;
}

/* a label-setting pass in progress */
struct lsrun {
	union sr_val	*l_val;
	uint32_t	*l_pred;
	uint8_t		*l_inq;
	struct bucket	*l_win;
	struct bucket	*l_over;
	uint64_t	 l_cur;		/* the bucket being settled */
	uint64_t	 l_omin;	/* least bucket in the overflow */
	uint64_t	 l_nwin;	/* entries in the window */
	uint32_t	 l_mask;	/* window buckets - 1 */
	unsigned int	 l_shift;
	uint64_t	 l_work;
};

static ALWAYS_INLINE uint64_t
ls_bucket(enum sr_kind kind, const struct lsrun *l, const union sr_val *v)
{
	return sr_scalar_key(kind, v) >> l->l_shift;
}

/* queue v in bucket b */
static ALWAYS_INLINE int
ls_push(struct lsrun *l, uint32_t v, uint64_t b)
{
	if (b < l->l_cur)	/* cannot happen: the kind is monotone */
		b = l->l_cur;
	if (b - l->l_cur <= l->l_mask) {
		if (bucket_add(&l->l_win[b & l->l_mask], v) == -1)
			return -1;
		l->l_nwin++;
		return 0;
	}
	if (bucket_add(l->l_over, v) == -1)
		return -1;
	if (b < l->l_omin)
		l->l_omin = b;
	return 0;
}

/*
 * Move what the window can now hold out of the overflow list; an entry
 * whose node no longer waits is dropped.  Every waiting node there has
 * its bucket at or after l_cur.
 */
static ALWAYS_INLINE int
ls_spread(enum sr_kind kind, struct lsrun *l)
{
	struct bucket	*o = l->l_over;
	uint64_t	 b, omin = UINT64_MAX;
	uint32_t	 i, j, v;

	for (i = j = 0; i < o->b_len; i++) {
		v = o->b_item[i];
		if (!l->l_inq[v])
			continue;
		b = ls_bucket(kind, l, &l->l_val[v]);
		if (b < l->l_cur)
			b = l->l_cur;
		if (b - l->l_cur <= l->l_mask) {
			if (bucket_add(&l->l_win[b & l->l_mask], v) == -1)
				return -1;
			l->l_nwin++;
		} else {
			o->b_item[j++] = v;
			if (b < omin)
				omin = b;
		}
	}
	o->b_len = j;
	l->l_omin = omin;
	return 0;
}

/*
 * Settle node u (its value is final unless a node of the same bucket
 * improves it again, in which case it is queued and settled again) and
 * relax its out-edges.  Inlined into each call site so that constant
 * kinds compile to straight-line relaxations.
 */
static ALWAYS_INLINE int
ls_relax(const struct route_graph *g, enum sr_kind kind,
    enum route_dim dim, struct lsrun *l, uint32_t u)
{
	union sr_val		*val = l->l_val;
	uint8_t			*inq = l->l_inq;
	union sr_val		 uv, w, c;
	uint64_t		 b;
	uint32_t		 v, j, end;

	inq[u] = 0;
	uv = val[u];
	j = g->n_row[u].r_off;
	end = j + g->n_row[u].r_len;
	for (; j < end; j++) {
		v = g->o_head[j];
		sr_slot_weight(g, j, kind, dim, &w);
		sr_scalar_mul(kind, &c, &uv, &w);
		/* monotone: a node of an earlier bucket never improves */
		if (!sr_scalar_better(kind, &c, &val[v]))
			continue;
		l->l_work++;
		b = ls_bucket(kind, l, &c);
		if (!inq[v] || b != ls_bucket(kind, l, &val[v])) {
			if (ls_push(l, v, b) == -1)
				return -1;
			inq[v] = 1;
		}
		val[v] = c;
		l->l_pred[v] = j;
	}
	return 0;
}

/*
 * Fetch the cache lines of n elements of size sz at p: the first and
 * the last, which for a row of up to 16 heads or 8 weights is all of
 * them, and a loop over the rest only for longer rows (measured: a loop
 * for every row cost 10 % of a pass).
 */
static ALWAYS_INLINE void
prefetch_range(const void *p, size_t n, size_t sz)
{
	const char	*a = p, *last;
	size_t		 len = n * sz;

	if (len == 0)
		return;
	last = a + len - 1;
	PREFETCH(a);
	PREFETCH(last);
	if (len > 128)
		for (a += 64; a < last; a += 64)
			PREFETCH(a);
}

/* the slab array part k reads */
static ALWAYS_INLINE void
prefetch_weights(const struct route_graph *g, enum route_dim dim,
    uint32_t j, uint32_t n)
{
	switch (dim) {
	case ROUTE_DIM_COST:
		prefetch_range(&g->o_cost[j], n, sizeof(*g->o_cost));
		break;
	case ROUTE_DIM_LATENCY:
		prefetch_range(&g->o_lat[j], n, sizeof(*g->o_lat));
		break;
	case ROUTE_DIM_TRUST:
		prefetch_range(&g->o_trust[j], n, sizeof(*g->o_trust));
		break;
	case ROUTE_DIM_RELIABILITY:
		prefetch_range(&g->o_rel[j], n, sizeof(*g->o_rel));
		break;
	default:
		break;
	}
}

/*
 * Settle the current bucket.  Its entries are known in advance, so the
 * memory each will read is fetched a few entries ahead: the row, then
 * the heads and weights, then the heads' values.
 */
static ALWAYS_INLINE int
ls_bucket_run(const struct route_graph *g, enum sr_kind kind,
    enum route_dim dim, struct lsrun *l, struct bucket *bk)
{
	const struct route_orow	*r;
	uint32_t		 i, j, end, x;

	for (i = 0; i < bk->b_len; i++) {
		if (i + LOOK_HDR < bk->b_len) {
			x = bk->b_item[i + LOOK_HDR];
			PREFETCH(&g->n_row[x]);
			PREFETCH(&l->l_inq[x]);
			PREFETCH(&l->l_val[x]);
		}
		if (i + LOOK_ADJ < bk->b_len) {
			r = &g->n_row[bk->b_item[i + LOOK_ADJ]];
			prefetch_range(&g->o_head[r->r_off], r->r_len,
			    sizeof(*g->o_head));
			prefetch_weights(g, dim, r->r_off, r->r_len);
		}
		if (i + LOOK_VAL < bk->b_len) {
			r = &g->n_row[bk->b_item[i + LOOK_VAL]];
			end = r->r_off + r->r_len;
			for (j = r->r_off; j < end; j++)
				PREFETCH(&l->l_val[g->o_head[j]]);
		}
		x = bk->b_item[i];
		if (!l->l_inq[x])
			continue;	/* settled already, or moved */
		if (ls_relax(g, kind, dim, l, x) == -1)
			return -1;
	}
	l->l_nwin -= bk->b_len;
	bk->b_len = 0;
	return 0;
}

static ALWAYS_INLINE int
ls_pass(struct route_sssp *s, const struct route_graph *g,
    enum sr_kind kind, enum route_dim dim, struct lsrun *l)
{
	union sr_val	*val = l->l_val;
	uint32_t	*pred = l->l_pred;
	uint8_t		*inq = l->l_inq;
	struct bucket	*bk;
	uint32_t	 v, n = s->s_n, i;

	for (v = 0; v < n; v++) {
		sr_scalar_zero(kind, &val[v]);
		pred[v] = ROUTE_NONE;
		inq[v] = 0;
	}
	for (i = 0; i <= l->l_mask; i++)
		l->l_win[i].b_len = 0;
	l->l_over->b_len = 0;
	l->l_omin = UINT64_MAX;
	l->l_nwin = 0;
	l->l_work = 0;
	sr_scalar_one(kind, &val[s->s_src]);
	l->l_cur = ls_bucket(kind, l, &val[s->s_src]);
	if (ls_push(l, s->s_src, l->l_cur) == -1)
		return -1;
	inq[s->s_src] = 1;
	for (;;) {
		if (l->l_nwin == 0) {
			if (l->l_over->b_len == 0)
				break;
			l->l_cur = l->l_omin;
		}
		if (l->l_cur == l->l_omin && ls_spread(kind, l) == -1)
			return -1;
		bk = &l->l_win[l->l_cur & l->l_mask];
		if (bk->b_len > 0 && ls_bucket_run(g, kind, dim, l, bk) == -1)
			return -1;
		l->l_cur++;
	}
	return 0;
}

/* the bucket width and window for part k on this graph */
static void
ls_shape(const struct route_graph *g, enum sr_kind kind, enum route_dim dim,
    struct lsrun *l)
{
	uint64_t	 c;
	unsigned int	 shift = 0;
	uint32_t	 nb = 4;

	switch (kind) {
	case SR_MINPLUS:
		/*
		 * One relaxation moves a key at most (c >> shift) + 1
		 * buckets ahead: with the window larger than that, nothing
		 * overflows (Dial's algorithm when shift is 0).
		 */
		c = (uint64_t)(dim == ROUTE_DIM_COST ? g->g_wmax_cost :
		    g->g_wmax_lat);
		while ((c >> shift) + 2 > BQ_WIN_MAX)
			shift++;
		while (nb < (c >> shift) + 2)
			nb *= 2;
		break;
	case SR_BOOL:
		break;
	default:
		shift = BQ_SHIFT_DBL;
		nb = BQ_WIN_DBL;
		break;
	}
	l->l_shift = shift;
	l->l_mask = nb - 1;
}

/* a whole pass over part k, in a copy specialised for common parts */
static int
ls_part(struct route_sssp *s, const struct route_graph *g, size_t k,
    struct lsrun *l)
{
	const struct semiring	*sr = &s->s_sr;

	ls_shape(g, sr->sr_part[k], sr->sr_dim[k], l);
	switch (sr->sr_part[k]) {
	case SR_MAXTIMES:
		if (sr->sr_dim[k] == ROUTE_DIM_TRUST)
			return ls_pass(s, g, SR_MAXTIMES, ROUTE_DIM_TRUST, l);
		return ls_pass(s, g, SR_MAXTIMES, ROUTE_DIM_RELIABILITY, l);
	case SR_MINPLUS:
		if (sr->sr_dim[k] == ROUTE_DIM_COST)
			return ls_pass(s, g, SR_MINPLUS, ROUTE_DIM_COST, l);
		return ls_pass(s, g, SR_MINPLUS, ROUTE_DIM_LATENCY, l);
	case SR_BOOL:
		return ls_pass(s, g, SR_BOOL, ROUTE_DIM_NONE, l);
	default:	/* SR_MAXMIN, SR_LOGMAX: not hot */
		return ls_pass(s, g, sr->sr_part[k], sr->sr_dim[k], l);
	}
}

/*
 * A product runs one pass per part, one after the other: each pass keeps
 * its node states hot in the cache.  Interleaving the passes node by
 * node measured slower (bench/RESULTS.md), and so did one Bellman-Ford
 * pass over the whole record.
 */
static int
ls_run(struct route_sssp *s, const struct route_graph *g)
{
	struct lsrun	 l;
	size_t		 k;
	int		 rv;

	for (k = 0; k < s->s_sr.sr_width; k++) {
		l.l_val = s->s_val + k * s->s_stride;
		l.l_pred = s->s_pred + k * s->s_stride;
		l.l_inq = s->s_inq;
		l.l_win = s->s_win;
		l.l_over = &s->s_over;
		rv = ls_part(s, g, k, &l);
		s->s_work += l.l_work;
		if (rv == -1)
			return -1;
	}
	return 0;
}

static int
bf_run(struct route_sssp *s, const struct route_graph *g)
{
	const struct semiring	*sr = &s->s_sr;
	union sr_val		*val = s->s_val;
	uint32_t		*pred = s->s_pred;
	struct route_ew		 ew;
	union sr_val		 a[SR_PARTS_MAX], w[SR_PARTS_MAX];
	union sr_val		 c[SR_PARTS_MAX], old[SR_PARTS_MAX];
	union sr_val		 nw[SR_PARTS_MAX];
	size_t			 k, width = sr->sr_width, st = s->s_stride;
	uint32_t		 u, v, j, end, n = s->s_n, head = 0, qlen = 0;
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
		j = g->n_row[u].r_off;
		end = j + g->n_row[u].r_len;
		for (; j < end; j++) {
			v = g->o_head[j];
			work++;
			for (k = 0; k < width; k++)
				old[k] = val[k * st + v];
			if (custom) {
				route_ew_from_edge(g, g->o_edge[j], &ew);
				sr->sr_weight(sr, &ew, w);
				sr->sr_mul(sr, c, a, w);
				sr->sr_add(sr, nw, old, c);
			} else {
				for (k = 0; k < width; k++) {
					sr_slot_weight(g, j, sr->sr_part[k],
					    sr->sr_dim[k], &w[k]);
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
				pred[k * st + v] = j;
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
	if (algo == ROUTE_ALGO_LABEL) {
		if (ls_run(s, g) == -1)
			return -1;
	} else if (bf_run(s, g) == -1)
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
	/* predecessors are slab slots: the graph has not changed since */
	pred = s->s_pred + k * s->s_stride;
	for (x = node; x != s->s_src; x = g->e_from[e]) {
		if (pred[x] >= g->g_otop || ++len > s->s_n) {
			errno = EFAULT;	/* cannot happen */
			return -1;
		}
		e = g->o_edge[pred[x]];
	}
	i = len;
	for (x = node; x != s->s_src; x = g->e_from[e]) {
		e = g->o_edge[pred[x]];
		if (--i < max)
			buf[i] = e;
	}
	return (long)len;
}
