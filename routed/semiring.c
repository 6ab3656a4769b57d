/*
 * Semirings: the built-in scalar kinds and their componentwise products.
 * Every built-in semiring is a product of width >= 1 scalar parts; the
 * function pointers below loop over the parts and call the same inline
 * scalar operations the label-setting engine uses (route_impl.h).
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "route.h"
#include "route_impl.h"

static void	 b_add(const struct semiring *, union sr_val *,
		    const union sr_val *, const union sr_val *);
static void	 b_mul(const struct semiring *, union sr_val *,
		    const union sr_val *, const union sr_val *);
static void	 b_zero(const struct semiring *, union sr_val *);
static void	 b_one(const struct semiring *, union sr_val *);
static void	 b_weight(const struct semiring *, const struct route_ew *,
		    union sr_val *);

#define F_SMI	(SR_SELECTIVE | SR_MONOTONE | SR_IDEMPOTENT)

#define BASE(nm, k, fl, dm) {						\
	.sr_name = nm, .sr_kind = k, .sr_flags = fl, .sr_width = 1,	\
	.sr_add = b_add, .sr_mul = b_mul, .sr_zero = b_zero,		\
	.sr_one = b_one, .sr_weight = b_weight,				\
	.sr_part = { k }, .sr_dim = { dm }				\
}

const struct semiring sr_trust =
    BASE("trust", SR_MAXTIMES, F_SMI, ROUTE_DIM_TRUST);
const struct semiring sr_reliability =
    BASE("reliability", SR_MAXTIMES, F_SMI, ROUTE_DIM_RELIABILITY);
const struct semiring sr_cost =
    BASE("cost", SR_MINPLUS, F_SMI | SR_EXACT, ROUTE_DIM_COST);
const struct semiring sr_latency =
    BASE("latency", SR_MINPLUS, F_SMI | SR_EXACT, ROUTE_DIM_LATENCY);
const struct semiring sr_bottleneck =
    BASE("bottleneck", SR_MAXMIN, F_SMI | SR_EXACT, ROUTE_DIM_TRUST);
const struct semiring sr_reach =
    BASE("reach", SR_BOOL, F_SMI | SR_EXACT, ROUTE_DIM_NONE);
const struct semiring sr_logtrust =
    BASE("logtrust", SR_LOGMAX, F_SMI, ROUTE_DIM_TRUST);
const struct semiring sr_record = {
	.sr_name = "record(trust,cost,latency)",
	.sr_kind = SR_PRODUCT,
	.sr_flags = SR_MONOTONE | SR_IDEMPOTENT,
	.sr_width = 3,
	.sr_add = b_add, .sr_mul = b_mul, .sr_zero = b_zero,
	.sr_one = b_one, .sr_weight = b_weight,
	.sr_part = { SR_MAXTIMES, SR_MINPLUS, SR_MINPLUS },
	.sr_dim = { ROUTE_DIM_TRUST, ROUTE_DIM_COST, ROUTE_DIM_LATENCY }
};

static void
b_add(const struct semiring *sr, union sr_val *r, const union sr_val *a,
    const union sr_val *b)
{
	size_t	 k;

	for (k = 0; k < sr->sr_width; k++)
		sr_scalar_add(sr->sr_part[k], &r[k], &a[k], &b[k]);
}

static void
b_mul(const struct semiring *sr, union sr_val *r, const union sr_val *a,
    const union sr_val *b)
{
	size_t	 k;

	for (k = 0; k < sr->sr_width; k++)
		sr_scalar_mul(sr->sr_part[k], &r[k], &a[k], &b[k]);
}

static void
b_zero(const struct semiring *sr, union sr_val *r)
{
	size_t	 k;

	for (k = 0; k < sr->sr_width; k++)
		sr_scalar_zero(sr->sr_part[k], &r[k]);
}

static void
b_one(const struct semiring *sr, union sr_val *r)
{
	size_t	 k;

	for (k = 0; k < sr->sr_width; k++)
		sr_scalar_one(sr->sr_part[k], &r[k]);
}

static void
b_weight(const struct semiring *sr, const struct route_ew *w,
    union sr_val *r)
{
	size_t	 k;
	double	 d;

	for (k = 0; k < sr->sr_width; k++) {
		switch (sr->sr_dim[k]) {
		case ROUTE_DIM_COST:
			r[k].i = w->ew_cost;
			continue;
		case ROUTE_DIM_LATENCY:
			r[k].i = w->ew_latency;
			continue;
		case ROUTE_DIM_TRUST:
			d = w->ew_trust;
			break;
		case ROUTE_DIM_RELIABILITY:
			d = w->ew_reliability;
			break;
		case ROUTE_DIM_RISK:
			d = w->ew_risk;
			break;
		default:
			r[k].i = 1;
			continue;
		}
		r[k].d = sr->sr_part[k] == SR_LOGMAX ? log(d) : d;
	}
}

static const char *
dim_name(enum route_dim d)
{
	switch (d) {
	case ROUTE_DIM_TRUST:
		return "trust";
	case ROUTE_DIM_COST:
		return "cost";
	case ROUTE_DIM_LATENCY:
		return "latency";
	case ROUTE_DIM_RELIABILITY:
		return "reliability";
	case ROUTE_DIM_RISK:
		return "risk";
	default:
		return "edge";
	}
}

static const char *
kind_name(enum sr_kind k)
{
	switch (k) {
	case SR_MAXTIMES:
		return "maxtimes";
	case SR_MINPLUS:
		return "minplus";
	case SR_MAXMIN:
		return "maxmin";
	case SR_BOOL:
		return "bool";
	case SR_LOGMAX:
		return "logmax";
	default:
		return "?";
	}
}

int
sr_base(struct semiring *sr, enum sr_kind kind, enum route_dim dim)
{
	unsigned int	 flags = F_SMI;

	switch (kind) {
	case SR_MINPLUS:
		if (dim != ROUTE_DIM_COST && dim != ROUTE_DIM_LATENCY)
			goto bad;
		flags |= SR_EXACT;
		break;
	case SR_MAXTIMES:
	case SR_LOGMAX:
	case SR_MAXMIN:
		if (dim != ROUTE_DIM_TRUST && dim != ROUTE_DIM_RELIABILITY)
			goto bad;
		if (kind == SR_MAXMIN)
			flags |= SR_EXACT;
		break;
	case SR_BOOL:
		dim = ROUTE_DIM_NONE;
		flags |= SR_EXACT;
		break;
	default:
		goto bad;
	}
	memset(sr, 0, sizeof(*sr));
	(void)snprintf(sr->sr_name, sizeof(sr->sr_name), "%s(%s)",
	    kind_name(kind), dim_name(dim));
	sr->sr_kind = kind;
	sr->sr_flags = flags;
	sr->sr_width = 1;
	sr->sr_add = b_add;
	sr->sr_mul = b_mul;
	sr->sr_zero = b_zero;
	sr->sr_one = b_one;
	sr->sr_weight = b_weight;
	sr->sr_part[0] = kind;
	sr->sr_dim[0] = dim;
	return 0;
 bad:
	errno = EINVAL;
	return -1;
}

int
sr_product(struct semiring *sr, const struct semiring *const *parts,
    size_t n)
{
	struct semiring	 p;
	size_t		 i, k, w = 0, len;
	unsigned int	 flags = SR_MONOTONE | SR_IDEMPOTENT | SR_EXACT;

	memset(&p, 0, sizeof(p));
	(void)strlcpy(p.sr_name, "product(", sizeof(p.sr_name));
	for (i = 0; i < n; i++) {
		if (parts[i]->sr_kind == SR_CUSTOM ||
		    parts[i]->sr_add != b_add)
			goto bad;
		for (k = 0; k < parts[i]->sr_width; k++) {
			if (w == SR_PARTS_MAX)
				goto bad;
			p.sr_part[w] = parts[i]->sr_part[k];
			p.sr_dim[w] = parts[i]->sr_dim[k];
			w++;
		}
		flags &= parts[i]->sr_flags;
		(void)strlcat(p.sr_name, i > 0 ? "," : "", sizeof(p.sr_name));
		(void)strlcat(p.sr_name, parts[i]->sr_name, sizeof(p.sr_name));
	}
	if (w == 0)
		goto bad;
	len = strlcat(p.sr_name, ")", sizeof(p.sr_name));
	if (len >= sizeof(p.sr_name))
		p.sr_name[sizeof(p.sr_name) - 2] = ')';
	if (w == 1)
		flags |= SR_SELECTIVE;
	p.sr_kind = w == 1 ? p.sr_part[0] : SR_PRODUCT;
	p.sr_flags = flags;
	p.sr_width = w;
	p.sr_add = b_add;
	p.sr_mul = b_mul;
	p.sr_zero = b_zero;
	p.sr_one = b_one;
	p.sr_weight = b_weight;
	*sr = p;
	return 0;
 bad:
	errno = EINVAL;
	return -1;
}

/* a built-in semiring's parts are kinds and dimensions sr_base() allows */
int
sr_builtin_ok(const struct semiring *sr)
{
	struct semiring	 t;
	size_t		 k;

	if (sr->sr_kind == SR_CUSTOM || sr->sr_width < 1 ||
	    sr->sr_width > SR_PARTS_MAX)
		return 0;
	for (k = 0; k < sr->sr_width; k++) {
		if (sr->sr_part[k] == SR_BOOL) {
			if (sr->sr_dim[k] != ROUTE_DIM_NONE)
				return 0;
		} else if (sr_base(&t, sr->sr_part[k], sr->sr_dim[k]) == -1)
			return 0;
	}
	return 1;
}

static int
dclose(double a, double b, double eps)
{
	double	 m;

	if (a == b)
		return 1;
	if (eps <= 0.0 || isinf(a) || isinf(b))
		return 0;
	m = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
	if (m < 1.0)
		m = 1.0;
	return fabs(a - b) <= eps * m;
}

int
sr_equal(const struct semiring *sr, const union sr_val *a,
    const union sr_val *b, double eps)
{
	size_t	 k;

	for (k = 0; k < sr->sr_width; k++) {
		if (sr->sr_kind == SR_CUSTOM) {
			if (a[k].i != b[k].i)
				return 0;
			continue;
		}
		switch (sr->sr_part[k]) {
		case SR_MINPLUS:
		case SR_BOOL:
			if (a[k].i != b[k].i)
				return 0;
			break;
		default:
			if (!dclose(a[k].d, b[k].d, eps))
				return 0;
			break;
		}
	}
	return 1;
}

int
sr_better(const struct semiring *sr, size_t k, const union sr_val *a,
    const union sr_val *b)
{
	union sr_val	 r[SR_PARTS_MAX];
	size_t		 i;

	if (sr->sr_kind != SR_CUSTOM)
		return k < sr->sr_width &&
		    sr_scalar_better(sr->sr_part[k], &a[k], &b[k]);
	/* custom: a + b = a and a != b */
	sr->sr_add(sr, r, a, b);
	for (i = 0; i < sr->sr_width; i++)
		if (r[i].i != a[i].i)
			return 0;
	for (i = 0; i < sr->sr_width; i++)
		if (a[i].i != b[i].i)
			return 1;
	return 0;
}

int
sr_path_value(const struct semiring *sr, const struct route_graph *g,
    const uint32_t *edges, size_t n, union sr_val *r)
{
	union sr_val	 w[SR_PARTS_MAX];
	struct route_ew	 ew;
	size_t		 i;

	sr->sr_one(sr, r);
	for (i = 0; i < n; i++) {
		if (route_edge_get(g, edges[i], NULL, NULL, &ew) == -1)
			return -1;
		sr->sr_weight(sr, &ew, w);
		sr->sr_mul(sr, r, r, w);
	}
	return 0;
}
