/*
 * Semiring laws over random values, for every built-in semiring and for
 * products: associativity and commutativity of add, associativity of mul,
 * both distributive laws, identities, annihilation, idempotence and
 * selectivity where claimed, and monotonicity over the graph's weight
 * domains.  Exact comparisons everywhere except associativity of a
 * floating-point product or sum (relative 1e-12).  A broken semiring
 * shows that the checker does fail.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"
#include "route_testutil.h"

#define NSAMPLES	3000
#define EPS		1e-12

static uint64_t	 seed;

/* a random value of one part's domain, edges of the domain included */
static void
rand_part(struct trng *r, enum sr_kind k, union sr_val *v)
{
	uint32_t	 c = trng_below(r, 10);

	switch (k) {
	case SR_MINPLUS:
		if (c == 0)
			v->i = ROUTE_INF;
		else if (c == 1)
			v->i = 0;
		else if (c == 2)	/* close to infinity: saturation */
			v->i = ROUTE_INF - (int64_t)trng_below(r, 1000);
		else if (c < 6)
			v->i = (int64_t)trng_below(r, 100);
		else
			v->i = (int64_t)(trng_next(r) >> 2);
		break;
	case SR_BOOL:
		v->i = (int64_t)trng_below(r, 2);
		break;
	case SR_LOGMAX:
		if (c == 0)
			v->d = -INFINITY;
		else if (c == 1)
			v->d = 0.0;
		else
			v->d = log(trng_unit(r));
		break;
	default:	/* SR_MAXTIMES, SR_MAXMIN on [0, 1] */
		v->d = trng_unit(r);
		break;
	}
}

static void
rand_val(struct trng *r, const struct semiring *sr, union sr_val *v)
{
	size_t	 k;

	for (k = 0; k < sr->sr_width; k++)
		rand_part(r, sr->sr_part[k], &v[k]);
}

static int
eq(const struct semiring *sr, const union sr_val *a, const union sr_val *b)
{
	return sr_equal(sr, a, b, 0.0);
}

/* the number of law violations over n random triples */
static int
check_laws(const struct semiring *sr, struct trng *r, int n,
    const char **what)
{
	union sr_val	 a[SR_PARTS_MAX], b[SR_PARTS_MAX], c[SR_PARTS_MAX];
	union sr_val	 x[SR_PARTS_MAX], y[SR_PARTS_MAX], z[SR_PARTS_MAX];
	union sr_val	 zero[SR_PARTS_MAX], one[SR_PARTS_MAX];
	double		 eps = (sr->sr_flags & SR_EXACT) ? 0.0 : EPS;
	int		 i, bad = 0;

#define LAW(cond, name) do {						\
	if (!(cond)) {							\
		bad++;							\
		*what = name;						\
	}								\
} while (0)
	sr->sr_zero(sr, zero);
	sr->sr_one(sr, one);
	for (i = 0; i < n; i++) {
		rand_val(r, sr, a);
		rand_val(r, sr, b);
		rand_val(r, sr, c);

		sr->sr_add(sr, x, a, b);	/* (a + b) + c */
		sr->sr_add(sr, x, x, c);
		sr->sr_add(sr, y, b, c);	/* a + (b + c) */
		sr->sr_add(sr, y, a, y);
		LAW(eq(sr, x, y), "add associative");

		sr->sr_add(sr, x, a, b);
		sr->sr_add(sr, y, b, a);
		LAW(eq(sr, x, y), "add commutative");

		sr->sr_mul(sr, x, a, b);	/* (a b) c */
		sr->sr_mul(sr, x, x, c);
		sr->sr_mul(sr, y, b, c);	/* a (b c) */
		sr->sr_mul(sr, y, a, y);
		LAW(sr_equal(sr, x, y, eps), "mul associative");

		sr->sr_mul(sr, x, a, b);
		sr->sr_mul(sr, y, b, a);
		LAW(eq(sr, x, y), "mul commutative");

		sr->sr_add(sr, z, b, c);	/* a (b + c) = ab + ac */
		sr->sr_mul(sr, x, a, z);
		sr->sr_mul(sr, y, a, b);
		sr->sr_mul(sr, z, a, c);
		sr->sr_add(sr, y, y, z);
		LAW(eq(sr, x, y), "left distributive");

		sr->sr_add(sr, z, b, c);	/* (b + c) a = ba + ca */
		sr->sr_mul(sr, x, z, a);
		sr->sr_mul(sr, y, b, a);
		sr->sr_mul(sr, z, c, a);
		sr->sr_add(sr, y, y, z);
		LAW(eq(sr, x, y), "right distributive");

		sr->sr_add(sr, x, zero, a);
		sr->sr_add(sr, y, a, zero);
		LAW(eq(sr, x, a) && eq(sr, y, a), "additive identity");

		sr->sr_mul(sr, x, one, a);
		sr->sr_mul(sr, y, a, one);
		LAW(eq(sr, x, a) && eq(sr, y, a), "multiplicative identity");

		sr->sr_mul(sr, x, zero, a);
		sr->sr_mul(sr, y, a, zero);
		LAW(eq(sr, x, zero) && eq(sr, y, zero), "annihilation");

		if (sr->sr_flags & SR_IDEMPOTENT) {
			sr->sr_add(sr, x, a, a);
			LAW(eq(sr, x, a), "idempotent");
		}
		if (sr->sr_flags & SR_SELECTIVE) {
			sr->sr_add(sr, x, a, b);
			LAW(eq(sr, x, a) || eq(sr, x, b), "selective");
		}
	}
#undef LAW
	return bad;
}

/*
 * Monotone: for every edge weight the graph accepts, a x w is never
 * better than a, part by part; and a + b is never worse than a.
 */
static int
check_monotone(const struct semiring *sr, struct trng *r, int n)
{
	union sr_val	 a[SR_PARTS_MAX], w[SR_PARTS_MAX], x[SR_PARTS_MAX];
	union sr_val	 b[SR_PARTS_MAX];
	struct route_ew	 ew;
	size_t		 k;
	int		 i, bad = 0;

	for (i = 0; i < n; i++) {
		rand_val(r, sr, a);
		rand_val(r, sr, b);
		trng_weights(r, &ew);
		if (trng_below(r, 4) == 0)
			ew.ew_cost = ROUTE_INF - 1;
		RT_ASSERT(route_ew_valid(&ew));
		sr->sr_weight(sr, &ew, w);
		sr->sr_mul(sr, x, a, w);
		for (k = 0; k < sr->sr_width; k++)
			if (sr_better(sr, k, x, a))
				bad++;
		sr->sr_add(sr, x, a, b);
		for (k = 0; k < sr->sr_width; k++)
			if (sr_better(sr, k, a, x))
				bad++;
	}
	return bad;
}

static void
laws_hold(const struct semiring *sr, uint64_t salt)
{
	struct trng	 r = { seed ^ salt };
	const char	*what = "";
	int		 bad;

	bad = check_laws(sr, &r, NSAMPLES, &what);
	RT_ASSERT_MSG(bad == 0, "%s: %d violations, last: %s", sr->sr_name,
	    bad, what);
	if (sr->sr_flags & SR_MONOTONE)
		RT_ASSERT_MSG(check_monotone(sr, &r, NSAMPLES) == 0,
		    "%s: not monotone", sr->sr_name);
}

START_TEST(test_laws_trust)
{
	laws_hold(&sr_trust, 1);
}
END_TEST

START_TEST(test_laws_reliability)
{
	laws_hold(&sr_reliability, 2);
}
END_TEST

START_TEST(test_laws_cost)
{
	laws_hold(&sr_cost, 3);
}
END_TEST

START_TEST(test_laws_latency)
{
	laws_hold(&sr_latency, 4);
}
END_TEST

START_TEST(test_laws_bottleneck)
{
	laws_hold(&sr_bottleneck, 5);
}
END_TEST

START_TEST(test_laws_reach)
{
	laws_hold(&sr_reach, 6);
}
END_TEST

START_TEST(test_laws_logtrust)
{
	laws_hold(&sr_logtrust, 7);
}
END_TEST

START_TEST(test_laws_record)
{
	laws_hold(&sr_record, 8);
}
END_TEST

START_TEST(test_laws_products)
{
	const struct semiring	*parts[4];
	struct semiring		 p, q, base;

	parts[0] = &sr_reliability;
	parts[1] = &sr_bottleneck;
	parts[2] = &sr_reach;
	parts[3] = &sr_logtrust;
	RT_IEQ(sr_product(&p, parts, 4), 0);
	RT_UEQ(p.sr_width, 4);
	laws_hold(&p, 9);

	/* products flatten: record x (latency, maxmin(reliability)) */
	RT_IEQ(sr_base(&base, SR_MAXMIN, ROUTE_DIM_RELIABILITY), 0);
	parts[0] = &sr_record;
	parts[1] = &sr_latency;
	parts[2] = &base;
	RT_IEQ(sr_product(&q, parts, 3), 0);
	RT_UEQ(q.sr_width, 5);
	RT_IEQ(q.sr_kind, SR_PRODUCT);
	RT_IEQ(q.sr_part[0], SR_MAXTIMES);
	RT_IEQ(q.sr_dim[2], ROUTE_DIM_LATENCY);
	RT_IEQ(q.sr_part[4], SR_MAXMIN);
	RT_IEQ(q.sr_dim[4], ROUTE_DIM_RELIABILITY);
	RT_ASSERT(!(q.sr_flags & SR_SELECTIVE));
	RT_ASSERT(!(q.sr_flags & SR_EXACT));	/* trust is a float product */
	RT_ASSERT(q.sr_flags & SR_MONOTONE);
	laws_hold(&q, 10);

	/* a product of one part is that part, selective again */
	parts[0] = &sr_cost;
	RT_IEQ(sr_product(&q, parts, 1), 0);
	RT_IEQ(q.sr_kind, SR_MINPLUS);
	RT_ASSERT(q.sr_flags & SR_SELECTIVE);
	RT_ASSERT(q.sr_flags & SR_EXACT);
	laws_hold(&q, 11);
}
END_TEST

START_TEST(test_base_constructors)
{
	struct semiring	 s;
	const struct semiring *parts[SR_PARTS_MAX + 1];
	size_t		 i;

	RT_IEQ(sr_base(&s, SR_MINPLUS, ROUTE_DIM_TRUST), -1);
	RT_IEQ(errno, EINVAL);
	RT_IEQ(sr_base(&s, SR_MAXTIMES, ROUTE_DIM_COST), -1);
	RT_IEQ(sr_base(&s, SR_LOGMAX, ROUTE_DIM_LATENCY), -1);
	RT_IEQ(sr_base(&s, SR_PRODUCT, ROUTE_DIM_TRUST), -1);
	RT_IEQ(sr_base(&s, SR_CUSTOM, ROUTE_DIM_TRUST), -1);
	RT_IEQ(sr_base(&s, SR_MAXTIMES, ROUTE_DIM_RELIABILITY), 0);
	ck_assert_str_eq(s.sr_name, "maxtimes(reliability)");
	RT_IEQ(sr_base(&s, SR_BOOL, ROUTE_DIM_COST), 0);
	RT_IEQ(s.sr_dim[0], ROUTE_DIM_NONE);
	laws_hold(&s, 12);

	for (i = 0; i <= SR_PARTS_MAX; i++)
		parts[i] = &sr_reach;
	RT_IEQ(sr_product(&s, parts, SR_PARTS_MAX), 0);
	RT_UEQ(s.sr_width, SR_PARTS_MAX);
	RT_IEQ(sr_product(&s, parts, SR_PARTS_MAX + 1), -1);
	RT_IEQ(sr_product(&s, parts, 0), -1);
}
END_TEST

START_TEST(test_constants)
{
	union sr_val	 v[3];

	sr_trust.sr_zero(&sr_trust, v);
	RT_ASSERT(v[0].d == 0.0);
	sr_trust.sr_one(&sr_trust, v);
	RT_ASSERT(v[0].d == 1.0);
	sr_cost.sr_zero(&sr_cost, v);
	RT_ASSERT(v[0].i == ROUTE_INF);
	sr_cost.sr_one(&sr_cost, v);
	RT_ASSERT(v[0].i == 0);
	sr_logtrust.sr_zero(&sr_logtrust, v);
	RT_ASSERT(isinf(v[0].d) && v[0].d < 0);
	sr_reach.sr_one(&sr_reach, v);
	RT_ASSERT(v[0].i == 1);
	sr_record.sr_zero(&sr_record, v);
	RT_ASSERT(v[0].d == 0.0 && v[1].i == ROUTE_INF &&
	    v[2].i == ROUTE_INF);

	/* saturation: inf - 1 + 2 is inf, not a wrap to negative */
	v[0].i = ROUTE_INF - 1;
	v[1].i = 2;
	sr_cost.sr_mul(&sr_cost, &v[2], &v[0], &v[1]);
	RT_ASSERT(v[2].i == ROUTE_INF);

	/* equality: -inf, tolerance */
	v[0].d = -INFINITY;
	v[1].d = -INFINITY;
	RT_ASSERT(sr_equal(&sr_logtrust, &v[0], &v[1], 0.0));
	v[0].d = 0.5;
	v[1].d = 0.5 + 1e-15;
	RT_ASSERT(!sr_equal(&sr_trust, &v[0], &v[1], 0.0));
	RT_ASSERT(sr_equal(&sr_trust, &v[0], &v[1], 1e-12));
	RT_ASSERT(!sr_equal(&sr_trust, &v[0], &v[1], 1e-16));

	/* order: better means larger trust, smaller cost */
	v[0].d = 0.9;
	v[1].d = 0.8;
	RT_ASSERT(sr_better(&sr_trust, 0, &v[0], &v[1]));
	RT_ASSERT(!sr_better(&sr_trust, 0, &v[1], &v[0]));
	RT_ASSERT(!sr_better(&sr_trust, 0, &v[0], &v[0]));
	v[0].i = 3;
	v[1].i = 4;
	RT_ASSERT(sr_better(&sr_cost, 0, &v[0], &v[1]));
}
END_TEST

/* (min, x, 0, 1) on [0, 1]: 0 is not the identity of min */
static void
bad_add(const struct semiring *sr, union sr_val *r, const union sr_val *a,
    const union sr_val *b)
{
	r->d = a->d < b->d ? a->d : b->d;
}

static void
bad_mul(const struct semiring *sr, union sr_val *r, const union sr_val *a,
    const union sr_val *b)
{
	r->d = a->d * b->d;
}

static void
bad_zero(const struct semiring *sr, union sr_val *r)
{
	r->d = 0.0;
}

static void
bad_one(const struct semiring *sr, union sr_val *r)
{
	r->d = 1.0;
}

static void
bad_weight(const struct semiring *sr, const struct route_ew *w,
    union sr_val *r)
{
	r->d = w->ew_trust;
}

START_TEST(test_checker_fails)
{
	struct semiring	 bad;
	struct trng	 r = { seed ^ 13 };
	const char	*what = NULL;

	memset(&bad, 0, sizeof(bad));
	(void)strlcpy(bad.sr_name, "broken", sizeof(bad.sr_name));
	bad.sr_kind = SR_CUSTOM;
	bad.sr_width = 1;
	bad.sr_part[0] = SR_MAXTIMES;	/* values compared as doubles */
	bad.sr_add = bad_add;
	bad.sr_mul = bad_mul;
	bad.sr_zero = bad_zero;
	bad.sr_one = bad_one;
	bad.sr_weight = bad_weight;
	RT_IGT(check_laws(&bad, &r, 200, &what), 0);
	ck_assert_ptr_nonnull(what);
}
END_TEST

static Suite *
semiring_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("semiring");
	tc = tcase_create("laws");
	tcase_add_test(tc, test_laws_trust);
	tcase_add_test(tc, test_laws_reliability);
	tcase_add_test(tc, test_laws_cost);
	tcase_add_test(tc, test_laws_latency);
	tcase_add_test(tc, test_laws_bottleneck);
	tcase_add_test(tc, test_laws_reach);
	tcase_add_test(tc, test_laws_logtrust);
	tcase_add_test(tc, test_laws_record);
	tcase_add_test(tc, test_laws_products);
	tcase_add_test(tc, test_base_constructors);
	tcase_add_test(tc, test_constants);
	tcase_add_test(tc, test_checker_fails);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	seed = trng_seed("test_semiring");
	sr = srunner_create(semiring_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
