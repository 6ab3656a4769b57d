/*
 * Ranking of frontier paths and the explanation of the choice: every
 * alternative considered, with its real path, exact weights, normalised
 * sub-scores and composite (the formulas are in route.h).
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"

static const enum route_dim default_lex[ROUTE_NDIM] = {
	ROUTE_DIM_TRUST, ROUTE_DIM_COST, ROUTE_DIM_LATENCY,
	ROUTE_DIM_RELIABILITY, ROUTE_DIM_RISK
};

void
route_rank_defaults(struct route_rank_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->ro_mode = ROUTE_RANK_WEIGHTED;
	o->ro_w[ROUTE_DIM_TRUST] = 0.3;
	o->ro_w[ROUTE_DIM_COST] = 0.2;
	o->ro_w[ROUTE_DIM_LATENCY] = 0.15;
	o->ro_w[ROUTE_DIM_RELIABILITY] = 0.15;
	o->ro_w[ROUTE_DIM_RISK] = 0.2;
	memcpy(o->ro_lex, default_lex, sizeof(o->ro_lex));
	o->ro_nlex = ROUTE_NDIM;
}

int
route_rank_valid(const struct route_rank_opts *o)
{
	unsigned int	 seen = 0;
	double		 sum = 0.0;
	size_t		 i;

	if (o->ro_mode != ROUTE_RANK_WEIGHTED &&
	    o->ro_mode != ROUTE_RANK_LEXICOGRAPHIC)
		return 0;
	for (i = 0; i < ROUTE_NDIM; i++) {
		if (!isfinite(o->ro_w[i]) || o->ro_w[i] < 0.0)
			return 0;
		sum += o->ro_w[i];
	}
	if (!(sum > 0.0) || !isfinite(sum))
		return 0;
	if (o->ro_cost_budget < 0 || o->ro_latency_budget < 0)
		return 0;
	if (o->ro_nlex > ROUTE_NDIM)
		return 0;
	for (i = 0; i < o->ro_nlex; i++) {
		if ((unsigned int)o->ro_lex[i] >= ROUTE_NDIM ||
		    (seen & (1U << o->ro_lex[i])))
			return 0;
		seen |= 1U << o->ro_lex[i];
	}
	return 1;
}

double
route_norm_score(int64_t v, int64_t lo, int64_t hi, int64_t budget)
{
	if (budget > 0) {
		if (v >= budget)
			return 0.0;
		return 1.0 - (double)v / (double)budget;
	}
	if (hi <= lo)
		return 1.0;
	if (v <= lo)
		return 1.0;
	if (v >= hi)
		return 0.0;
	return (double)(hi - v) / (double)(hi - lo);
}

static int
dim_cmp(const struct route_alt *a, const struct route_alt *b,
    enum route_dim d)
{
	const struct route_pathw	*x = &a->al_w, *y = &b->al_w;

	switch (d) {
	case ROUTE_DIM_TRUST:
		if (x->pw_trust != y->pw_trust)
			return x->pw_trust > y->pw_trust ? -1 : 1;
		break;
	case ROUTE_DIM_COST:
		if (x->pw_cost != y->pw_cost)
			return x->pw_cost < y->pw_cost ? -1 : 1;
		break;
	case ROUTE_DIM_LATENCY:
		if (x->pw_latency != y->pw_latency)
			return x->pw_latency < y->pw_latency ? -1 : 1;
		break;
	case ROUTE_DIM_RELIABILITY:
		if (x->pw_reliability != y->pw_reliability)
			return x->pw_reliability > y->pw_reliability ? -1 : 1;
		break;
	default:
		if (x->pw_risk != y->pw_risk)
			return x->pw_risk < y->pw_risk ? -1 : 1;
		break;
	}
	return 0;
}

static int
alt_cmp(const struct route_answer *an, const struct route_alt *a,
    const struct route_alt *b)
{
	const uint32_t	*pa, *pb;
	size_t		 i;
	int		 c;

	if (an->an_opts.ro_mode == ROUTE_RANK_LEXICOGRAPHIC) {
		for (i = 0; i < an->an_opts.ro_nlex; i++)
			if ((c = dim_cmp(a, b, an->an_opts.ro_lex[i])) != 0)
				return c;
	}
	if (a->al_composite != b->al_composite)
		return a->al_composite > b->al_composite ? -1 : 1;
	for (i = 0; i < ROUTE_NDIM; i++)
		if ((c = dim_cmp(a, b, default_lex[i])) != 0)
			return c;
	if (a->al_target != b->al_target)
		return a->al_target < b->al_target ? -1 : 1;
	pa = an->an_nodes + a->al_path;
	pb = an->an_nodes + b->al_path;
	for (i = 0; i < a->al_npath && i < b->al_npath; i++)
		if (pa[i] != pb[i])
			return pa[i] < pb[i] ? -1 : 1;
	if (a->al_npath != b->al_npath)
		return a->al_npath < b->al_npath ? -1 : 1;
	return 0;
}

/* stable bottom-up merge sort; qsort(3) takes no context */
static int
alt_sort(struct route_answer *an)
{
	struct route_alt	*tmp, *src, *dst, *t;
	size_t			 n = an->an_n, w, lo, mid, hi, i, j, k;

	if (n < 2)
		return 0;
	if ((tmp = reallocarray(NULL, n, sizeof(*tmp))) == NULL)
		return -1;
	src = an->an_alt;
	dst = tmp;
	for (w = 1; w < n; w *= 2) {
		for (lo = 0; lo < n; lo += 2 * w) {
			mid = lo + w < n ? lo + w : n;
			hi = lo + 2 * w < n ? lo + 2 * w : n;
			i = lo;
			j = mid;
			k = lo;
			while (i < mid && j < hi) {
				if (alt_cmp(an, &src[j], &src[i]) < 0)
					dst[k++] = src[j++];
				else
					dst[k++] = src[i++];
			}
			while (i < mid)
				dst[k++] = src[i++];
			while (j < hi)
				dst[k++] = src[j++];
		}
		t = src;
		src = dst;
		dst = t;
	}
	if (src != an->an_alt)
		memcpy(an->an_alt, src, n * sizeof(*src));
	free(tmp);
	return 0;
}

static int
u32_cmp(const void *a, const void *b)
{
	uint32_t	 x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int
answer_room(struct route_answer *an, size_t nodes)
{
	void	*p;
	size_t	 cap;

	if (an->an_n == an->an_altcap) {
		cap = an->an_altcap == 0 ? 16 : an->an_altcap * 2;
		if ((p = reallocarray(an->an_alt, cap,
		    sizeof(*an->an_alt))) == NULL)
			return -1;
		an->an_alt = p;
		an->an_altcap = cap;
	}
	if (an->an_nnodes + nodes > an->an_nodecap) {
		cap = an->an_nodecap == 0 ? 64 : an->an_nodecap;
		while (cap < an->an_nnodes + nodes)
			cap *= 2;
		if ((p = reallocarray(an->an_nodes, cap,
		    sizeof(*an->an_nodes))) == NULL)
			return -1;
		an->an_nodes = p;
		an->an_nodecap = cap;
	}
	return 0;
}

/* one frontier label of target t as an alternative */
static int
add_alt(struct route_answer *an, const struct route_pareto *p,
    const struct route_graph *g, uint32_t t, size_t i)
{
	struct route_alt	*al;
	struct route_pathw	 pw;
	uint32_t		*path;
	long			 len;
	size_t			 j;

	if (route_pareto_get(p, g, t, i, &pw) == -1 ||
	    (len = route_pareto_trace(p, g, t, i, NULL, 0)) == -1)
		return -1;
	if (answer_room(an, (size_t)len + 1) == -1)
		return -1;
	path = an->an_nodes + an->an_nnodes;
	/* the edges land one slot right, then become their heads */
	if (route_pareto_trace(p, g, t, i, path + 1, (size_t)len) != len)
		return -1;
	path[0] = route_pareto_source(p);
	for (j = 1; j <= (size_t)len; j++)
		if (route_edge_get(g, path[j], NULL, &path[j], NULL) == -1)
			return -1;
	al = &an->an_alt[an->an_n++];
	memset(al, 0, sizeof(*al));
	al->al_target = t;
	al->al_label = (uint32_t)i;
	al->al_w = pw;
	al->al_path = an->an_nnodes;
	al->al_npath = (size_t)len + 1;
	an->an_nnodes += (size_t)len + 1;
	return 0;
}

int
route_rank(const struct route_pareto *p, const struct route_graph *g,
    const uint32_t *targets, size_t ntargets,
    const struct route_rank_opts *opts, struct route_answer *an)
{
	struct route_rank_opts	 def;
	struct route_alt	*al;
	uint32_t		*t = NULL;
	size_t			 i, j, n, c;
	double			 num, den;

	if (opts == NULL) {
		route_rank_defaults(&def);
		opts = &def;
	}
	an->an_n = 0;
	an->an_nnodes = 0;
	if (!route_rank_valid(opts) || route_pareto_source(p) == ROUTE_NONE ||
	    (ntargets > 0 && targets == NULL)) {
		errno = EINVAL;
		return -1;
	}
	an->an_opts = *opts;
	an->an_discarded = route_pareto_discarded(p);
	if (ntargets > 0 &&
	    (t = reallocarray(NULL, ntargets, sizeof(*t))) == NULL)
		return -1;
	for (i = 0; i < ntargets; i++) {
		if (!route_node_valid(g, targets[i]))
			goto inval;
		t[i] = targets[i];
	}
	if (ntargets > 1)
		qsort(t, ntargets, sizeof(*t), u32_cmp);
	for (i = n = 0; i < ntargets; i++)
		if (n == 0 || t[n - 1] != t[i])
			t[n++] = t[i];
	for (i = 0; i < n; i++) {
		c = route_pareto_count(p, t[i]);
		for (j = 0; j < c; j++)
			if (add_alt(an, p, g, t[i], j) == -1)
				goto fail;
	}
	free(t);
	t = NULL;

	an->an_cost_lo = an->an_lat_lo = INT64_MAX;
	an->an_cost_hi = an->an_lat_hi = 0;
	for (i = 0; i < an->an_n; i++) {
		al = &an->an_alt[i];
		if (al->al_w.pw_cost < an->an_cost_lo)
			an->an_cost_lo = al->al_w.pw_cost;
		if (al->al_w.pw_cost > an->an_cost_hi)
			an->an_cost_hi = al->al_w.pw_cost;
		if (al->al_w.pw_latency < an->an_lat_lo)
			an->an_lat_lo = al->al_w.pw_latency;
		if (al->al_w.pw_latency > an->an_lat_hi)
			an->an_lat_hi = al->al_w.pw_latency;
	}
	if (an->an_n == 0)
		an->an_cost_lo = an->an_lat_lo = 0;
	den = 0.0;
	for (j = 0; j < ROUTE_NDIM; j++)
		den += opts->ro_w[j];
	for (i = 0; i < an->an_n; i++) {
		al = &an->an_alt[i];
		al->al_score[ROUTE_DIM_TRUST] = al->al_w.pw_trust;
		al->al_score[ROUTE_DIM_COST] = route_norm_score(
		    al->al_w.pw_cost, an->an_cost_lo, an->an_cost_hi,
		    opts->ro_cost_budget);
		al->al_score[ROUTE_DIM_LATENCY] = route_norm_score(
		    al->al_w.pw_latency, an->an_lat_lo, an->an_lat_hi,
		    opts->ro_latency_budget);
		al->al_score[ROUTE_DIM_RELIABILITY] = al->al_w.pw_reliability;
		al->al_score[ROUTE_DIM_RISK] = 1.0 - al->al_w.pw_risk;
		num = 0.0;
		for (j = 0; j < ROUTE_NDIM; j++)
			num += opts->ro_w[j] * al->al_score[j];
		al->al_composite = num / den;
	}
	return alt_sort(an);
 inval:
	errno = EINVAL;
 fail:
	free(t);
	an->an_n = 0;
	an->an_nnodes = 0;
	return -1;
}

const uint32_t *
route_answer_path(const struct route_answer *an, size_t i, size_t *n)
{
	if (i >= an->an_n) {
		*n = 0;
		return NULL;
	}
	*n = an->an_alt[i].al_npath;
	return an->an_nodes + an->an_alt[i].al_path;
}

void
route_answer_clear(struct route_answer *an)
{
	free(an->an_alt);
	free(an->an_nodes);
	memset(an, 0, sizeof(*an));
}
