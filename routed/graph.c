/*
 * The routing graph: string-named nodes in a keyed hash table, edges in
 * parallel arrays, out-edges in one slab with a row per node (CSR with
 * slack, route_impl.h), per-node vectors of in-edge ids.  Insert, update
 * and remove are O(1) amortized.
 */
#include "config.h"

#include <sys/mman.h>

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"
#include "route_impl.h"

#define NHASH_MIN	16
#define EHASH_MIN	16
#define VEC_MIN		4
#define ROW_MIN		2	/* slots of a new row */
#define SLAB_MIN	256
#define SLAB_MAX	(UINT32_MAX - 1)
#define GARB_MIN	4096	/* garbage slots never worth a compaction */
#define HUGE_PAGE	((size_t)2 << 20)
#define BIG_MIN		((size_t)1 << 20)	/* slab arrays are mapped */

static uint64_t	 siphash24(const uint8_t [16], const void *, size_t);
static uint64_t	 edge_hash(const struct route_graph *, uint32_t, uint32_t);
static void	*vec_grow(void *, uint32_t *, size_t);
static int	 nodes_grow(struct route_graph *);
static int	 edges_grow(struct route_graph *);
static int	 slab_reserve(struct route_graph *, uint32_t);
static void	 slab_move(struct route_graph *, uint32_t, uint32_t, uint32_t);
static int	 slab_compact(struct route_graph *);
static int	 row_reserve(struct route_graph *, uint32_t);
static void	 row_release(struct route_graph *, uint32_t);
static int	 nhash_resize(struct route_graph *, uint32_t);
static int	 ehash_resize(struct route_graph *, uint32_t);
static uint32_t	 nhash_slot(const struct route_graph *, const char *, uint64_t);
static void	 nhash_insert(struct route_graph *, uint32_t);
static void	 nhash_delete(struct route_graph *, uint32_t);
static uint32_t	 ehash_slot(const struct route_graph *, uint32_t, uint32_t);
static void	 ehash_insert(struct route_graph *, uint32_t);
static void	 ehash_delete(struct route_graph *, uint32_t);
static void	 edge_unlink(struct route_graph *, uint32_t);
static int	 edge_put(struct route_graph *, uint32_t, uint32_t,
		    const struct route_ew *, int);

#define ROTL(x, b)	(uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND do {							\
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);	\
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;				\
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;				\
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);	\
} while (0)

static uint64_t
le64(const uint8_t *p)
{
	uint64_t	 r = 0;
	int		 i;

	for (i = 7; i >= 0; i--)
		r = (r << 8) | p[i];
	return r;
}

/* SipHash-2-4 (Aumasson and Bernstein) */
static uint64_t
siphash24(const uint8_t key[16], const void *data, size_t len)
{
	const uint8_t	*p = data;
	uint64_t	 k0, k1, v0, v1, v2, v3, m, b;
	size_t		 i, left;

	k0 = le64(key);
	k1 = le64(key + 8);
	v0 = k0 ^ 0x736f6d6570736575ULL;
	v1 = k1 ^ 0x646f72616e646f6dULL;
	v2 = k0 ^ 0x6c7967656e657261ULL;
	v3 = k1 ^ 0x7465646279746573ULL;
	for (i = 0; i + 8 <= len; i += 8) {
		m = le64(p + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	b = (uint64_t)len << 56;
	left = len - i;
	while (left > 0) {
		left--;
		b |= (uint64_t)p[i + left] << (8 * left);
	}
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

static uint64_t
edge_hash(const struct route_graph *g, uint32_t u, uint32_t v)
{
	uint64_t	 x;

	/* splitmix64's finalizer over the keyed pair */
	x = (((uint64_t)u << 32) | v) ^ g->g_ekey;
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

struct route_graph *
route_graph_new(void)
{
	struct route_graph	*g;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	arc4random_buf(g->g_key, sizeof(g->g_key));
	arc4random_buf(&g->g_ekey, sizeof(g->g_ekey));
	g->g_efree = ROUTE_NONE;
	if (nhash_resize(g, NHASH_MIN) == -1 ||
	    ehash_resize(g, EHASH_MIN) == -1) {
		route_graph_free(g);
		return NULL;
	}
	return g;
}

void
route_graph_free(struct route_graph *g)
{
	uint32_t	 i;

	if (g == NULL)
		return;
	for (i = 0; i < g->g_nbound; i++) {
		free(g->n_name[i]);
		free(g->n_in[i].v_edge);
	}
	free(g->n_name);
	free(g->n_hash);
	free(g->n_kind);
	free(g->n_row);
	free(g->n_rcap);
	free(g->n_in);
	free(g->n_free);
	free(g->e_from);
	free(g->e_to);
	free(g->e_outpos);
	free(g->e_inpos);
	free(g->e_risk);
	route_big_free(g->o_head, (size_t)g->g_ocap * sizeof(*g->o_head));
	route_big_free(g->o_edge, (size_t)g->g_ocap * sizeof(*g->o_edge));
	route_big_free(g->o_lat, (size_t)g->g_ocap * sizeof(*g->o_lat));
	route_big_free(g->o_cost, (size_t)g->g_ocap * sizeof(*g->o_cost));
	route_big_free(g->o_trust, (size_t)g->g_ocap * sizeof(*g->o_trust));
	route_big_free(g->o_rel, (size_t)g->g_ocap * sizeof(*g->o_rel));
	free(g->g_nhash);
	free(g->g_ehash);
	free(g);
}

uint64_t
route_graph_generation(const struct route_graph *g)
{
	return g->g_gen;
}

size_t
route_graph_nnodes(const struct route_graph *g)
{
	return g->g_nlive;
}

size_t
route_graph_nedges(const struct route_graph *g)
{
	return g->g_elive;
}

uint32_t
route_graph_node_bound(const struct route_graph *g)
{
	return g->g_nbound;
}

uint32_t
route_graph_edge_bound(const struct route_graph *g)
{
	return g->g_ebound;
}

/* double a full vector; the new array, or NULL (cap unchanged) */
static void *
vec_grow(void *v, uint32_t *capp, size_t size)
{
	void		*n;
	uint32_t	 cap;

	cap = *capp == 0 ? VEC_MIN : *capp * 2;
	if ((n = reallocarray(v, cap, size)) == NULL)
		return NULL;
	*capp = cap;
	return n;
}

#define GROW(p, n) do {							\
	void	*np_;							\
	if ((np_ = reallocarray((p), (n), sizeof(*(p)))) == NULL)	\
		return -1;						\
	(p) = np_;							\
} while (0)

static int
nodes_grow(struct route_graph *g)
{
	uint32_t	 cap, i;

	if (g->g_ncap >= ROUTE_NODES_MAX) {
		errno = EOVERFLOW;
		return -1;
	}
	cap = g->g_ncap == 0 ? 16 : g->g_ncap * 2;
	if (cap > ROUTE_NODES_MAX)
		cap = ROUTE_NODES_MAX;
	GROW(g->n_name, cap);
	GROW(g->n_hash, cap);
	GROW(g->n_kind, cap);
	GROW(g->n_row, cap);
	GROW(g->n_rcap, cap);
	GROW(g->n_in, cap);
	GROW(g->n_free, cap);
	for (i = g->g_ncap; i < cap; i++) {
		g->n_name[i] = NULL;
		g->n_kind[i] = 0;
		g->n_row[i].r_off = 0;
		g->n_row[i].r_len = 0;
		g->n_rcap[i] = 0;
		memset(&g->n_in[i], 0, sizeof(g->n_in[i]));
	}
	g->g_ncap = cap;
	return 0;
}

static int
edges_grow(struct route_graph *g)
{
	uint32_t	 cap;

	if (g->g_ecap >= ROUTE_EDGES_MAX) {
		errno = EOVERFLOW;
		return -1;
	}
	cap = g->g_ecap == 0 ? 64 : g->g_ecap * 2;
	if (cap > ROUTE_EDGES_MAX)
		cap = ROUTE_EDGES_MAX;
	GROW(g->e_from, cap);
	GROW(g->e_to, cap);
	GROW(g->e_outpos, cap);
	GROW(g->e_inpos, cap);
	GROW(g->e_risk, cap);
	g->g_ecap = cap;
	return 0;
}

#undef GROW

/*
 * Arrays that a query reads at random (the slab's, sssp.c's values and
 * predecessors): from BIG_MIN bytes on, each is an anonymous mapping of
 * its own, 2 MB aligned, with transparent huge pages asked for over its
 * first huge bytes, so that TLB misses do not add to the cache misses.
 * For the slab that is the slots in use when it is made; the rest,
 * filled later, gets small pages, as a huge page there would be counted
 * whole as soon as its first slot is written.
 */
static size_t
big_len(size_t sz)
{
	return (sz + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
}

void *
route_big_alloc(size_t sz, size_t huge)
{
	char		*m;
	size_t		 len, head;

	if (sz < BIG_MIN)
		return malloc(sz);
	len = big_len(sz);
	if (len + HUGE_PAGE < len) {
		errno = ENOMEM;
		return NULL;
	}
	/* map a huge page more than needed, unmap the unaligned ends */
	m = mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	head = (HUGE_PAGE - ((uintptr_t)m & (HUGE_PAGE - 1))) &
	    (HUGE_PAGE - 1);
	if (head > 0)
		(void)munmap(m, head);
	(void)munmap(m + head + len, HUGE_PAGE - head);
#ifdef MADV_HUGEPAGE
	huge &= ~(HUGE_PAGE - 1);
	if (huge > len)
		huge = len;
	if (huge > 0)
		(void)madvise(m + head, huge, MADV_HUGEPAGE);
#else
	(void)huge;
#endif
	return m + head;
}

void
route_big_free(void *p, size_t sz)
{
	if (p == NULL)
		return;
	if (sz < BIG_MIN)
		free(p);
	else
		(void)munmap(p, big_len(sz));
}

/* room for need more slots at the slab's end; no slot moves */
static int
slab_reserve(struct route_graph *g, uint32_t need)
{
	struct {
		uint32_t	*o_head;
		uint32_t	*o_edge;
		int32_t		*o_lat;
		int64_t		*o_cost;
		double		*o_trust;
		double		*o_rel;
	}		 n;
	uint64_t	 want;
	uint32_t	 cap;

	want = (uint64_t)g->g_otop + need;
	if (want <= g->g_ocap)
		return 0;
	if (want > SLAB_MAX) {
		errno = EOVERFLOW;
		return -1;
	}
	if (want < (uint64_t)g->g_ocap + g->g_ocap / 2)
		want = (uint64_t)g->g_ocap + g->g_ocap / 2;
	if (want < SLAB_MIN)
		want = SLAB_MIN;
	if (want > SLAB_MAX)
		want = SLAB_MAX;
	cap = (uint32_t)want;
	/* all six new arrays first, so that a failure changes nothing */
	memset(&n, 0, sizeof(n));
#define NEW(f) do {							\
	if ((n.f = route_big_alloc((size_t)cap * sizeof(*g->f),		\
	    (size_t)g->g_otop * sizeof(*g->f))) == NULL)		\
		goto fail;						\
} while (0)
	NEW(o_head);
	NEW(o_edge);
	NEW(o_lat);
	NEW(o_cost);
	NEW(o_trust);
	NEW(o_rel);
#undef NEW
#define MOVE(f) do {							\
	if (g->g_otop > 0)						\
		memcpy(n.f, g->f, (size_t)g->g_otop * sizeof(*g->f));	\
	route_big_free(g->f, (size_t)g->g_ocap * sizeof(*g->f));	\
	g->f = n.f;							\
} while (0)
	MOVE(o_head);
	MOVE(o_edge);
	MOVE(o_lat);
	MOVE(o_cost);
	MOVE(o_trust);
	MOVE(o_rel);
#undef MOVE
	g->g_ocap = cap;
	return 0;
fail:
	route_big_free(n.o_head, (size_t)cap * sizeof(*n.o_head));
	route_big_free(n.o_edge, (size_t)cap * sizeof(*n.o_edge));
	route_big_free(n.o_lat, (size_t)cap * sizeof(*n.o_lat));
	route_big_free(n.o_cost, (size_t)cap * sizeof(*n.o_cost));
	route_big_free(n.o_trust, (size_t)cap * sizeof(*n.o_trust));
	route_big_free(n.o_rel, (size_t)cap * sizeof(*n.o_rel));
	return -1;
}

/* move n slots from slot from to slot to (the ranges may overlap) */
static void
slab_move(struct route_graph *g, uint32_t to, uint32_t from, uint32_t n)
{
	uint32_t	 i;

	if (n == 0 || to == from)
		return;
	memmove(&g->o_head[to], &g->o_head[from], n * sizeof(*g->o_head));
	memmove(&g->o_edge[to], &g->o_edge[from], n * sizeof(*g->o_edge));
	memmove(&g->o_lat[to], &g->o_lat[from], n * sizeof(*g->o_lat));
	memmove(&g->o_cost[to], &g->o_cost[from], n * sizeof(*g->o_cost));
	memmove(&g->o_trust[to], &g->o_trust[from], n * sizeof(*g->o_trust));
	memmove(&g->o_rel[to], &g->o_rel[from], n * sizeof(*g->o_rel));
	for (i = 0; i < n; i++)
		g->e_outpos[g->o_edge[to + i]] = to + i;
}

static int
u64cmp(const void *a, const void *b)
{
	uint64_t	 x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Slide every row down over the garbage, in slab order; a row's room is
 * trimmed to twice its length (at least ROW_MIN).  O(V log V + E).
 */
static int
slab_compact(struct route_graph *g)
{
	uint64_t	*ord;
	uint32_t	 n = 0, i, u, top = 0, cap, len;

	if ((ord = reallocarray(NULL, g->g_nbound, sizeof(*ord))) == NULL)
		return -1;
	for (u = 0; u < g->g_nbound; u++)
		if (g->n_rcap[u] > 0)
			ord[n++] = (uint64_t)g->n_row[u].r_off << 32 | u;
	qsort(ord, n, sizeof(*ord), u64cmp);
	for (i = 0; i < n; i++) {
		u = (uint32_t)ord[i];
		len = g->n_row[u].r_len;
		cap = g->n_rcap[u];
		if (cap > 2 * len && cap > ROW_MIN)
			cap = 2 * len > ROW_MIN ? 2 * len : ROW_MIN;
		slab_move(g, top, g->n_row[u].r_off, len);
		g->n_row[u].r_off = top;
		g->n_rcap[u] = cap;
		top += cap;
	}
	free(ord);
	g->g_otop = top;
	g->g_ogarb = 0;
	return 0;
}

/* room for one more out-edge in node u's row */
static int
row_reserve(struct route_graph *g, uint32_t u)
{
	struct route_orow	*r = &g->n_row[u];
	uint32_t		 cap = g->n_rcap[u], ncap, off;

	if (r->r_len < cap)
		return 0;
	if (cap > 0 && r->r_off + cap == g->g_otop) {
		/* the slab's last row grows in place */
		if (slab_reserve(g, 1) == -1)
			return -1;
		g->g_otop++;
		g->n_rcap[u]++;
		return 0;
	}
	if (g->g_ogarb > GARB_MIN &&
	    g->g_ogarb > (g->g_otop - g->g_ogarb) / 2 &&
	    slab_compact(g) == 0) {
		/* the row may have room, or be the last one, now */
		return row_reserve(g, u);
	}
	if (cap > UINT32_MAX / 4) {
		errno = EOVERFLOW;
		return -1;
	}
	ncap = cap < ROW_MIN ? ROW_MIN : 2 * cap;
	if (slab_reserve(g, ncap) == -1)
		return -1;
	off = g->g_otop;
	slab_move(g, off, r->r_off, r->r_len);
	g->g_ogarb += cap;
	r->r_off = off;
	g->n_rcap[u] = ncap;
	g->g_otop += ncap;
	return 0;
}

/* give back the slots of node u's (empty) row */
static void
row_release(struct route_graph *g, uint32_t u)
{
	uint32_t	 cap = g->n_rcap[u];

	if (cap > 0) {
		if (g->n_row[u].r_off + cap == g->g_otop)
			g->g_otop -= cap;
		else
			g->g_ogarb += cap;
	}
	g->n_row[u].r_off = 0;
	g->n_row[u].r_len = 0;
	g->n_rcap[u] = 0;
}

static int
nhash_resize(struct route_graph *g, uint32_t size)
{
	uint32_t	*t, i;

	if ((t = reallocarray(NULL, size, sizeof(*t))) == NULL)
		return -1;
	free(g->g_nhash);
	g->g_nhash = t;
	g->g_nhmask = size - 1;
	for (i = 0; i < size; i++)
		t[i] = ROUTE_NONE;
	for (i = 0; i < g->g_nbound; i++)
		if (g->n_name[i] != NULL)
			nhash_insert(g, i);
	return 0;
}

static int
ehash_resize(struct route_graph *g, uint32_t size)
{
	uint32_t	*t, i;

	if ((t = reallocarray(NULL, size, sizeof(*t))) == NULL)
		return -1;
	free(g->g_ehash);
	g->g_ehash = t;
	g->g_ehmask = size - 1;
	for (i = 0; i < size; i++)
		t[i] = ROUTE_NONE;
	for (i = 0; i < g->g_ebound; i++)
		if (g->e_from[i] != ROUTE_NONE)
			ehash_insert(g, i);
	return 0;
}

/* the slot holding name, or the empty slot where it would go */
static uint32_t
nhash_slot(const struct route_graph *g, const char *name, uint64_t h)
{
	uint32_t	 i, n;

	for (i = h & g->g_nhmask;; i = (i + 1) & g->g_nhmask) {
		n = g->g_nhash[i];
		if (n == ROUTE_NONE)
			return i;
		if (g->n_hash[n] == h && strcmp(g->n_name[n], name) == 0)
			return i;
	}
}

static void
nhash_insert(struct route_graph *g, uint32_t n)
{
	uint32_t	 i;

	for (i = g->n_hash[n] & g->g_nhmask; g->g_nhash[i] != ROUTE_NONE;
	    i = (i + 1) & g->g_nhmask)
		;
	g->g_nhash[i] = n;
}

/* backward-shift deletion keeps probe sequences unbroken */
static void
nhash_delete(struct route_graph *g, uint32_t n)
{
	uint32_t	 i, j, k, m = g->g_nhmask;

	for (i = g->n_hash[n] & m; g->g_nhash[i] != n; i = (i + 1) & m)
		;
	g->g_nhash[i] = ROUTE_NONE;
	for (j = (i + 1) & m; g->g_nhash[j] != ROUTE_NONE; j = (j + 1) & m) {
		k = g->n_hash[g->g_nhash[j]] & m;
		/* move j back to i unless its home lies in (i, j] */
		if (((j - k) & m) >= ((j - i) & m)) {
			g->g_nhash[i] = g->g_nhash[j];
			g->g_nhash[j] = ROUTE_NONE;
			i = j;
		}
	}
}

static uint32_t
ehash_slot(const struct route_graph *g, uint32_t u, uint32_t v)
{
	uint32_t	 i, e;

	for (i = edge_hash(g, u, v) & g->g_ehmask;;
	    i = (i + 1) & g->g_ehmask) {
		e = g->g_ehash[i];
		if (e == ROUTE_NONE)
			return i;
		if (g->e_from[e] == u && g->e_to[e] == v)
			return i;
	}
}

static void
ehash_insert(struct route_graph *g, uint32_t e)
{
	uint32_t	 i;

	for (i = edge_hash(g, g->e_from[e], g->e_to[e]) & g->g_ehmask;
	    g->g_ehash[i] != ROUTE_NONE; i = (i + 1) & g->g_ehmask)
		;
	g->g_ehash[i] = e;
}

static void
ehash_delete(struct route_graph *g, uint32_t e)
{
	uint32_t	 i, j, k, f, m = g->g_ehmask;

	for (i = edge_hash(g, g->e_from[e], g->e_to[e]) & m;
	    g->g_ehash[i] != e; i = (i + 1) & m)
		;
	g->g_ehash[i] = ROUTE_NONE;
	for (j = (i + 1) & m; (f = g->g_ehash[j]) != ROUTE_NONE;
	    j = (j + 1) & m) {
		k = edge_hash(g, g->e_from[f], g->e_to[f]) & m;
		if (((j - k) & m) >= ((j - i) & m)) {
			g->g_ehash[i] = f;
			g->g_ehash[j] = ROUTE_NONE;
			i = j;
		}
	}
}

int
route_node_add(struct route_graph *g, const char *name,
    enum route_node_kind kind, uint32_t *idx)
{
	uint64_t	 h;
	uint32_t	 slot, n;
	size_t		 len;

	if (name == NULL || (len = strlen(name)) == 0 ||
	    kind < ROUTE_NODE_SELF || kind > ROUTE_NODE_AGENT) {
		errno = EINVAL;
		return -1;
	}
	if (len > ROUTE_ID_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	h = siphash24(g->g_key, name, len);
	slot = nhash_slot(g, name, h);
	if ((n = g->g_nhash[slot]) != ROUTE_NONE) {
		if (idx != NULL)
			*idx = n;
		errno = EEXIST;
		return -1;
	}
	if ((uint64_t)(g->g_nlive + 1) * 2 > (uint64_t)g->g_nhmask + 1) {
		if (nhash_resize(g, (g->g_nhmask + 1) * 2) == -1)
			return -1;
	}
	if (g->g_nfree > 0)
		n = g->n_free[g->g_nfree - 1];
	else {
		if (g->g_nbound == g->g_ncap && nodes_grow(g) == -1)
			return -1;
		n = g->g_nbound;
	}
	if ((g->n_name[n] = strdup(name)) == NULL)
		return -1;
	if (g->g_nfree > 0)
		g->g_nfree--;
	else
		g->g_nbound++;
	g->n_hash[n] = h;
	g->n_kind[n] = kind;
	g->n_row[n].r_len = 0;
	g->n_in[n].v_len = 0;
	nhash_insert(g, n);
	g->g_nlive++;
	g->g_gen++;
	if (idx != NULL)
		*idx = n;
	return 0;
}

uint32_t
route_node_find(const struct route_graph *g, const char *name)
{
	size_t		 len;
	uint64_t	 h;

	if (name == NULL || (len = strlen(name)) == 0 || len > ROUTE_ID_MAX)
		return ROUTE_NONE;
	h = siphash24(g->g_key, name, len);
	return g->g_nhash[nhash_slot(g, name, h)];
}

int
route_node_valid(const struct route_graph *g, uint32_t n)
{
	return n < g->g_nbound && g->n_name[n] != NULL;
}

int
route_node_remove(struct route_graph *g, uint32_t n)
{
	struct route_orow	*r;
	struct route_ivec	*iv;

	if (!route_node_valid(g, n)) {
		errno = ENOENT;
		return -1;
	}
	r = &g->n_row[n];
	while (r->r_len > 0)
		edge_unlink(g, g->o_edge[r->r_off + r->r_len - 1]);
	row_release(g, n);
	iv = &g->n_in[n];
	while (iv->v_len > 0)
		edge_unlink(g, iv->v_edge[iv->v_len - 1]);
	nhash_delete(g, n);
	free(g->n_name[n]);
	g->n_name[n] = NULL;
	g->n_kind[n] = 0;
	g->n_free[g->g_nfree++] = n;
	g->g_nlive--;
	g->g_gen++;
	return 0;
}

const char *
route_node_name(const struct route_graph *g, uint32_t n)
{
	if (!route_node_valid(g, n))
		return NULL;
	return g->n_name[n];
}

int
route_node_kind(const struct route_graph *g, uint32_t n)
{
	if (!route_node_valid(g, n))
		return 0;
	return g->n_kind[n];
}

size_t
route_node_outdeg(const struct route_graph *g, uint32_t n)
{
	if (!route_node_valid(g, n))
		return 0;
	return g->n_row[n].r_len;
}

size_t
route_node_indeg(const struct route_graph *g, uint32_t n)
{
	if (!route_node_valid(g, n))
		return 0;
	return g->n_in[n].v_len;
}

uint32_t
route_node_outedge(const struct route_graph *g, uint32_t n, size_t i)
{
	if (!route_node_valid(g, n) || i >= g->n_row[n].r_len)
		return ROUTE_NONE;
	return g->o_edge[g->n_row[n].r_off + i];
}

uint32_t
route_node_inedge(const struct route_graph *g, uint32_t n, size_t i)
{
	if (!route_node_valid(g, n) || i >= g->n_in[n].v_len)
		return ROUTE_NONE;
	return g->n_in[n].v_edge[i];
}

static int
unit(double d)
{
	return d >= 0.0 && d <= 1.0;	/* false for NaN */
}

int
route_ew_valid(const struct route_ew *w)
{
	return w != NULL && unit(w->ew_trust) && unit(w->ew_reliability) &&
	    unit(w->ew_risk) && w->ew_cost >= 0 && w->ew_cost < ROUTE_INF &&
	    w->ew_latency >= 0 && w->ew_latency <= ROUTE_LATENCY_MAX;
}

void
route_ew_default(struct route_ew *w)
{
	w->ew_trust = 1.0;
	w->ew_cost = 0;
	w->ew_latency = 0;
	w->ew_reliability = 1.0;
	w->ew_risk = 0.0;
}

void
route_ew_from_edge(const struct route_graph *g, uint32_t e,
    struct route_ew *w)
{
	uint32_t	 j = g->e_outpos[e];

	w->ew_trust = g->o_trust[j];
	w->ew_cost = g->o_cost[j];
	w->ew_latency = g->o_lat[j];
	w->ew_reliability = g->o_rel[j];
	w->ew_risk = g->e_risk[e];
}

static void
edge_store(struct route_graph *g, uint32_t e, const struct route_ew *w)
{
	uint32_t	 j = g->e_outpos[e];

	g->o_trust[j] = w->ew_trust;
	g->o_cost[j] = w->ew_cost;
	g->o_lat[j] = (int32_t)w->ew_latency;
	g->o_rel[j] = w->ew_reliability;
	g->e_risk[e] = w->ew_risk;
	if (w->ew_cost > g->g_wmax_cost)
		g->g_wmax_cost = w->ew_cost;
	if (w->ew_latency > g->g_wmax_lat)
		g->g_wmax_lat = w->ew_latency;
}

static int
edge_put(struct route_graph *g, uint32_t u, uint32_t v,
    const struct route_ew *w, int merge)
{
	struct route_ivec	*iv;
	void			*np;
	uint32_t		 slot, e, j;

	if (!route_ew_valid(w) || u == v) {
		errno = EINVAL;
		return -1;
	}
	if (!route_node_valid(g, u) || !route_node_valid(g, v)) {
		errno = ENOENT;
		return -1;
	}
	slot = ehash_slot(g, u, v);
	if ((e = g->g_ehash[slot]) != ROUTE_NONE) {
		if (merge) {
			j = g->e_outpos[e];
			if (w->ew_trust > g->o_trust[j])
				g->o_trust[j] = w->ew_trust;
			if (w->ew_cost < g->o_cost[j])
				g->o_cost[j] = w->ew_cost;
			if (w->ew_latency < g->o_lat[j])
				g->o_lat[j] = (int32_t)w->ew_latency;
			if (w->ew_reliability > g->o_rel[j])
				g->o_rel[j] = w->ew_reliability;
			if (w->ew_risk < g->e_risk[e])
				g->e_risk[e] = w->ew_risk;
		} else
			edge_store(g, e, w);
		g->g_gen++;
		return 0;
	}
	if ((uint64_t)(g->g_elive + 1) * 2 > (uint64_t)g->g_ehmask + 1) {
		if (ehash_resize(g, (g->g_ehmask + 1) * 2) == -1)
			return -1;
	}
	if (g->g_efree == ROUTE_NONE && g->g_ebound == g->g_ecap &&
	    edges_grow(g) == -1)
		return -1;
	if (row_reserve(g, u) == -1)
		return -1;
	iv = &g->n_in[v];
	if (iv->v_len == iv->v_cap) {
		if ((np = vec_grow(iv->v_edge, &iv->v_cap,
		    sizeof(*iv->v_edge))) == NULL)
			return -1;
		iv->v_edge = np;
	}
	e = g->g_efree != ROUTE_NONE ? g->g_efree : g->g_ebound;
	if (g->g_efree != ROUTE_NONE)
		g->g_efree = g->e_to[e];
	else
		g->g_ebound++;
	g->e_from[e] = u;
	g->e_to[e] = v;
	j = g->n_row[u].r_off + g->n_row[u].r_len++;
	g->e_outpos[e] = j;
	g->e_inpos[e] = iv->v_len++;
	g->o_head[j] = v;
	g->o_edge[j] = e;
	iv->v_edge[g->e_inpos[e]] = e;
	edge_store(g, e, w);
	ehash_insert(g, e);
	g->g_elive++;
	g->g_gen++;
	return 0;
}

int
route_edge_set(struct route_graph *g, uint32_t u, uint32_t v,
    const struct route_ew *w)
{
	return edge_put(g, u, v, w, 0);
}

int
route_edge_merge(struct route_graph *g, uint32_t u, uint32_t v,
    const struct route_ew *w)
{
	return edge_put(g, u, v, w, 1);
}

static void
edge_unlink(struct route_graph *g, uint32_t e)
{
	struct route_orow	*r = &g->n_row[g->e_from[e]];
	struct route_ivec	*iv = &g->n_in[g->e_to[e]];
	uint32_t		 pos, moved;

	ehash_delete(g, e);
	/* move the row's and the in-vector's last slot into the hole */
	r->r_len--;
	slab_move(g, g->e_outpos[e], r->r_off + r->r_len, 1);
	pos = g->e_inpos[e];
	if (pos != --iv->v_len) {
		moved = iv->v_edge[pos] = iv->v_edge[iv->v_len];
		g->e_inpos[moved] = pos;
	}
	g->e_from[e] = ROUTE_NONE;
	g->e_to[e] = g->g_efree;
	g->g_efree = e;
	g->g_elive--;
	g->g_gen++;
}

uint32_t
route_edge_find(const struct route_graph *g, uint32_t u, uint32_t v)
{
	if (!route_node_valid(g, u) || !route_node_valid(g, v))
		return ROUTE_NONE;
	return g->g_ehash[ehash_slot(g, u, v)];
}

int
route_edge_remove(struct route_graph *g, uint32_t u, uint32_t v)
{
	uint32_t	 e;

	if ((e = route_edge_find(g, u, v)) == ROUTE_NONE) {
		errno = ENOENT;
		return -1;
	}
	edge_unlink(g, e);
	return 0;
}

int
route_edge_get(const struct route_graph *g, uint32_t e, uint32_t *u,
    uint32_t *v, struct route_ew *w)
{
	if (e >= g->g_ebound || g->e_from[e] == ROUTE_NONE) {
		errno = ENOENT;
		return -1;
	}
	if (u != NULL)
		*u = g->e_from[e];
	if (v != NULL)
		*v = g->e_to[e];
	if (w != NULL)
		route_ew_from_edge(g, e, w);
	return 0;
}
