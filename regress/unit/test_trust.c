/*
 * The trust state machine (reference/motebit-relay-wire.md 9): scores,
 * names, every transition and its boundaries, one step per evaluation,
 * blocked is final, demotion before promotion, custom thresholds and the
 * per-outcome update the reference does after each receipt.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "trust.h"

#define U	TRUST_UNKNOWN
#define FC	TRUST_FIRST_CONTACT
#define V	TRUST_VERIFIED
#define T	TRUST_TRUSTED
#define B	TRUST_BLOCKED

START_TEST(test_scores_names)
{
	enum trust_level	 l;

	ck_assert(trust_level_score(U) == 0.1);
	ck_assert(trust_level_score(FC) == 0.3);
	ck_assert(trust_level_score(V) == 0.6);
	ck_assert(trust_level_score(T) == 0.9);
	ck_assert(trust_level_score(B) == 0.0);
	ck_assert(trust_level_score((enum trust_level)42) == 0.1);
	ck_assert_str_eq(trust_level_name(U), "unknown");
	ck_assert_str_eq(trust_level_name(FC), "first_contact");
	ck_assert_str_eq(trust_level_name(V), "verified");
	ck_assert_str_eq(trust_level_name(T), "trusted");
	ck_assert_str_eq(trust_level_name(B), "blocked");
	ck_assert_ptr_null(trust_level_name((enum trust_level)5));
	ck_assert_int_eq(trust_level_parse("verified", &l), 0);
	ck_assert_int_eq(l, V);
	ck_assert_int_eq(trust_level_parse("first_contact", &l), 0);
	ck_assert_int_eq(l, FC);
	ck_assert_int_eq(trust_level_parse("Verified", &l), -1);
	ck_assert_int_eq(trust_level_parse("established", &l), -1);
	ck_assert_int_eq(trust_level_parse(NULL, &l), -1);
	ck_assert(trust_name_score("trusted") == 0.9);
	ck_assert(trust_name_score("blocked") == 0.0);
	ck_assert(trust_name_score("provisional") == 0.1);
	ck_assert(trust_name_score("") == 0.1);
}
END_TEST

struct step {
	enum trust_level	 from;
	uint64_t		 succ;
	uint64_t		 fail;
	enum trust_level	 to;
};

/* reference thresholds: 5 / 0.8, 20 / 0.9, demote total 3 rate < 0.5 */
static const struct step steps[] = {
	/* unknown -> first_contact once anything happened */
	{ U, 0, 0, U },
	{ U, 1, 0, FC },
	{ U, 0, 1, FC },
	{ U, 0, 2, FC },
	{ U, 50, 0, FC },		/* one step, not to verified */
	{ U, 1, 1, FC },		/* total 2: no demotion yet */
	{ U, 2, 1, FC },		/* rate 0.67 */
	/* demotion is checked first and ends the evaluation */
	{ U, 1, 2, U },
	{ U, 0, 3, U },
	/* first_contact -> verified: succ >= 5 and rate >= 0.8 */
	{ FC, 0, 0, FC },
	{ FC, 4, 0, FC },
	{ FC, 5, 0, V },
	{ FC, 5, 1, V },		/* 0.833 */
	{ FC, 4, 1, FC },		/* succ < 5 */
	{ FC, 8, 2, V },		/* rate exactly 0.8 */
	{ FC, 7, 2, FC },		/* 0.778 */
	{ FC, 5, 2, FC },		/* 0.714 */
	{ FC, 1000, 0, V },		/* one step, not to trusted */
	{ FC, 0, 3, FC },		/* demotion: first_contact stays */
	{ FC, 1, 100, FC },
	/* verified -> trusted: succ >= 20 and rate >= 0.9 */
	{ V, 19, 0, V },
	{ V, 20, 0, T },
	{ V, 20, 2, T },		/* 0.909 */
	{ V, 18, 2, V },		/* rate 0.9, succ < 20 */
	{ V, 27, 3, T },		/* rate exactly 0.9 */
	{ V, 26, 3, V },		/* 0.897 */
	{ V, 20, 3, V },		/* 0.87 */
	{ V, 0, 0, V },
	/* verified -> first_contact: total >= 3 and rate < 0.5 */
	{ V, 1, 2, FC },
	{ V, 0, 3, FC },
	{ V, 0, 2, V },			/* total 2 */
	{ V, 2, 2, V },			/* rate exactly 0.5 */
	{ V, 4, 5, FC },		/* 0.444 */
	/* trusted -> verified, one step only */
	{ T, 1, 2, V },
	{ T, 0, 10, V },
	{ T, 49, 50, V },
	{ T, 50, 50, T },
	{ T, 1, 1, T },
	{ T, 0, 0, T },
	{ T, 1000, 0, T },		/* nothing above trusted */
	{ T, 20, 10, T },		/* 0.667 >= 0.5 */
	/* blocked never changes */
	{ B, 0, 0, B },
	{ B, 1, 0, B },
	{ B, 100, 0, B },
	{ B, 0, 100, B },
	{ B, UINT64_MAX, UINT64_MAX, B },
};

START_TEST(test_transitions)
{
	const struct step	*st = &steps[_i];
	enum trust_level	 next = (enum trust_level)99;
	int			 r;

	r = trust_evaluate(NULL, st->from, st->succ, st->fail, &next);
	ck_assert_msg(next == st->to, "%s with %ju/%ju: got %s, want %s",
	    trust_level_name(st->from), (uintmax_t)st->succ,
	    (uintmax_t)st->fail, trust_level_name(next),
	    trust_level_name(st->to));
	ck_assert_int_eq(r, st->to != st->from);
	r = trust_evaluate(&trust_reference_thresholds, st->from, st->succ,
	    st->fail, &next);
	ck_assert(next == st->to);
}
END_TEST

START_TEST(test_bad_level)
{
	enum trust_level	 next;

	ck_assert_int_eq(trust_evaluate(NULL, (enum trust_level)5, 1, 0,
	    &next), -1);
	ck_assert_int_eq(trust_evaluate(NULL, (enum trust_level)-1, 1, 0,
	    &next), -1);
}
END_TEST

START_TEST(test_custom_thresholds)
{
	struct trust_thresholds	 t = trust_reference_thresholds;
	enum trust_level	 next;

	t.tt_verify_succ = 2;
	t.tt_verify_rate = 1.0;
	t.tt_trust_succ = 3;
	t.tt_trust_rate = 0.5;
	t.tt_demote_total = 10;
	t.tt_demote_rate = 0.2;
	ck_assert_int_eq(trust_evaluate(&t, FC, 2, 0, &next), 1);
	ck_assert_int_eq(next, V);
	ck_assert_int_eq(trust_evaluate(&t, FC, 2, 1, &next), 0);
	ck_assert_int_eq(next, FC);
	ck_assert_int_eq(trust_evaluate(&t, V, 3, 3, &next), 1);
	ck_assert_int_eq(next, T);
	ck_assert_int_eq(trust_evaluate(&t, T, 1, 8, &next), 0);
	ck_assert_int_eq(trust_evaluate(&t, T, 1, 9, &next), 1);
	ck_assert_int_eq(next, V);
}
END_TEST

/* a new peer row, then receipts one by one as the reference applies them */
START_TEST(test_observe)
{
	struct trust_state	 ts;
	int			 i;

	trust_state_init(&ts);
	ck_assert_int_eq(ts.ts_level, FC);
	ck_assert(ts.ts_score == 0.5);
	ck_assert_int_eq(trust_observe(&ts, NULL, 1), 0);
	ck_assert(ts.ts_score == 0.3);		/* set on every update */
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(trust_observe(&ts, NULL, 1), 0);
	ck_assert_int_eq(trust_observe(&ts, NULL, 1), 1);	/* 5/0 */
	ck_assert_int_eq(ts.ts_level, V);
	ck_assert(ts.ts_score == 0.6);
	for (i = 0; i < 14; i++)
		ck_assert_int_eq(trust_observe(&ts, NULL, 1), 0);
	ck_assert_uint_eq(ts.ts_succ, 19);
	ck_assert_int_eq(trust_observe(&ts, NULL, 1), 1);	/* 20/0 */
	ck_assert_int_eq(ts.ts_level, T);
	ck_assert(ts.ts_score == 0.9);
	/* failures: rate falls below 0.5 at 20/21 */
	for (i = 0; i < 20; i++)
		ck_assert_int_eq(trust_observe(&ts, NULL, 0), 0);
	ck_assert_int_eq(ts.ts_level, T);
	ck_assert_int_eq(trust_observe(&ts, NULL, 0), 1);
	ck_assert_int_eq(ts.ts_level, V);
	ck_assert_int_eq(trust_observe(&ts, NULL, 0), 1);
	ck_assert_int_eq(ts.ts_level, FC);
	ck_assert(ts.ts_score == 0.3);
	ck_assert_int_eq(trust_observe(&ts, NULL, 0), 0);
	ck_assert_int_eq(ts.ts_level, FC);
	ck_assert_uint_eq(ts.ts_fail, 23);

	/* blocked stays blocked whatever happens */
	ts.ts_level = B;
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(trust_observe(&ts, NULL, 1), 0);
	ck_assert_int_eq(ts.ts_level, B);
	ck_assert(ts.ts_score == 0.0);
}
END_TEST

static Suite *
trust_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("trust");
	tc = tcase_create("machine");
	tcase_add_test(tc, test_scores_names);
	tcase_add_loop_test(tc, test_transitions, 0,
	    sizeof(steps) / sizeof(steps[0]));
	tcase_add_test(tc, test_bad_level);
	tcase_add_test(tc, test_custom_thresholds);
	tcase_add_test(tc, test_observe);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(trust_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
