/*
 * The routing graph: string-named nodes in a keyed hash table, edges in
 * parallel arrays, per-node vectors of out- and in-edge ids.  Insert,
 * update and remove are O(1) amortized; nothing is ever rebuilt.
 */
#include "config.h"

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

static uint64_t	 siphash24(const uint8_t [16], const void *, size_t);
static uint64_t	 edge_hash(const struct route_graph *, uint32_t, uint32_t);
static void	*vec_grow(void *, uint32_t *, size_t);
static int	 nodes_grow(struct route_graph *);
static int	 edges_grow(struct route_graph *);
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
		free(g->n_out[i].v_adj);
		free(g->n_in[i].v_adj);
	}
	free(g->n_name);
	free(g->n_hash);
	free(g->n_kind);
	free(g->n_out);
	free(g->n_in);
	free(g->n_free);
	free(g->e_from);
	free(g->e_to);
	free(g->e_outpos);
	free(g->e_inpos);
	free(g->e_risk);
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
	GROW(g->n_out, cap);
	GROW(g->n_in, cap);
	GROW(g->n_free, cap);
	for (i = g->g_ncap; i < cap; i++) {
		g->n_name[i] = NULL;
		g->n_kind[i] = 0;
		memset(&g->n_out[i], 0, sizeof(g->n_out[i]));
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
	g->n_out[n].v_len = 0;
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
	struct route_ovec	*ov;
	struct route_ivec	*iv;

	if (!route_node_valid(g, n)) {
		errno = ENOENT;
		return -1;
	}
	ov = &g->n_out[n];
	while (ov->v_len > 0)
		edge_unlink(g, ov->v_adj[ov->v_len - 1].a_edge);
	iv = &g->n_in[n];
	while (iv->v_len > 0)
		edge_unlink(g, iv->v_adj[iv->v_len - 1].a_edge);
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
	return g->n_out[n].v_len;
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
	if (!route_node_valid(g, n) || i >= g->n_out[n].v_len)
		return ROUTE_NONE;
	return g->n_out[n].v_adj[i].a_edge;
}

uint32_t
route_node_inedge(const struct route_graph *g, uint32_t n, size_t i)
{
	if (!route_node_valid(g, n) || i >= g->n_in[n].v_len)
		return ROUTE_NONE;
	return g->n_in[n].v_adj[i].a_edge;
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
	const struct route_oadj	*a = route_slot(g, e);

	w->ew_trust = a->a_trust;
	w->ew_cost = a->a_cost;
	w->ew_latency = a->a_lat;
	w->ew_reliability = a->a_rel;
	w->ew_risk = g->e_risk[e];
}

static void
edge_store(struct route_graph *g, uint32_t e, const struct route_ew *w)
{
	struct route_oadj	*a = route_slot(g, e);

	a->a_trust = w->ew_trust;
	a->a_cost = w->ew_cost;
	a->a_lat = (int32_t)w->ew_latency;
	a->a_rel = w->ew_reliability;
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
	struct route_oadj	*a;
	struct route_ovec	*ov;
	struct route_ivec	*iv;
	void			*np;
	uint32_t		 slot, e;

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
			a = route_slot(g, e);
			if (w->ew_trust > a->a_trust)
				a->a_trust = w->ew_trust;
			if (w->ew_cost < a->a_cost)
				a->a_cost = w->ew_cost;
			if (w->ew_latency < a->a_lat)
				a->a_lat = (int32_t)w->ew_latency;
			if (w->ew_reliability > a->a_rel)
				a->a_rel = w->ew_reliability;
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
	ov = &g->n_out[u];
	iv = &g->n_in[v];
	if (ov->v_len == ov->v_cap) {
		if ((np = vec_grow(ov->v_adj, &ov->v_cap,
		    sizeof(*ov->v_adj))) == NULL)
			return -1;
		ov->v_adj = np;
	}
	if (iv->v_len == iv->v_cap) {
		if ((np = vec_grow(iv->v_adj, &iv->v_cap,
		    sizeof(*iv->v_adj))) == NULL)
			return -1;
		iv->v_adj = np;
	}
	e = g->g_efree != ROUTE_NONE ? g->g_efree : g->g_ebound;
	if (g->g_efree != ROUTE_NONE)
		g->g_efree = g->e_to[e];
	else
		g->g_ebound++;
	g->e_from[e] = u;
	g->e_to[e] = v;
	g->e_outpos[e] = ov->v_len++;
	g->e_inpos[e] = iv->v_len++;
	memset(&ov->v_adj[g->e_outpos[e]], 0, sizeof(*ov->v_adj));
	ov->v_adj[g->e_outpos[e]].a_node = v;
	ov->v_adj[g->e_outpos[e]].a_edge = e;
	iv->v_adj[g->e_inpos[e]].a_node = u;
	iv->v_adj[g->e_inpos[e]].a_edge = e;
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
	struct route_ovec	*ov = &g->n_out[g->e_from[e]];
	struct route_ivec	*iv = &g->n_in[g->e_to[e]];
	uint32_t		 pos, moved;

	ehash_delete(g, e);
	/* move each vector's last slot into the hole */
	pos = g->e_outpos[e];
	if (pos != --ov->v_len) {
		ov->v_adj[pos] = ov->v_adj[ov->v_len];
		moved = ov->v_adj[pos].a_edge;
		g->e_outpos[moved] = pos;
	}
	pos = g->e_inpos[e];
	if (pos != --iv->v_len) {
		iv->v_adj[pos] = iv->v_adj[iv->v_len];
		moved = iv->v_adj[pos].a_edge;
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
