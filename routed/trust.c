/*
 * Trust levels and their one-step transitions (see trust.h).
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "trust.h"

const struct trust_thresholds trust_reference_thresholds = {
	.tt_verify_succ = 5,
	.tt_verify_rate = 0.8,
	.tt_trust_succ = 20,
	.tt_trust_rate = 0.9,
	.tt_demote_total = 3,
	.tt_demote_rate = 0.5
};

static const struct {
	const char	*name;
	double		 score;
} levels[TRUST_NLEVELS] = {
	[TRUST_UNKNOWN] =	{ "unknown",		0.1 },
	[TRUST_FIRST_CONTACT] =	{ "first_contact",	0.3 },
	[TRUST_VERIFIED] =	{ "verified",		0.6 },
	[TRUST_TRUSTED] =	{ "trusted",		0.9 },
	[TRUST_BLOCKED] =	{ "blocked",		0.0 }
};

static int
level_ok(enum trust_level l)
{
	return (unsigned int)l < TRUST_NLEVELS;
}

double
trust_level_score(enum trust_level l)
{
	if (!level_ok(l))
		return TRUST_UNKNOWN_SCORE;
	return levels[l].score;
}

const char *
trust_level_name(enum trust_level l)
{
	if (!level_ok(l))
		return NULL;
	return levels[l].name;
}

int
trust_level_parse(const char *s, enum trust_level *l)
{
	int	 i;

	if (s == NULL)
		return -1;
	for (i = 0; i < TRUST_NLEVELS; i++) {
		if (strcmp(s, levels[i].name) == 0) {
			*l = (enum trust_level)i;
			return 0;
		}
	}
	return -1;
}

double
trust_name_score(const char *s)
{
	enum trust_level	 l;

	if (trust_level_parse(s, &l) == -1)
		return TRUST_UNKNOWN_SCORE;
	return trust_level_score(l);
}

int
trust_evaluate(const struct trust_thresholds *t, enum trust_level cur,
    uint64_t succ, uint64_t fail, enum trust_level *next)
{
	enum trust_level	 to = cur;
	uint64_t		 total;
	double			 rate;

	if (!level_ok(cur))
		return -1;
	if (t == NULL)
		t = &trust_reference_thresholds;
	total = succ + fail;
	if (total < succ)		/* saturate rather than wrap */
		total = UINT64_MAX;
	rate = total > 0 ? (double)succ / (double)total : 1.0;

	if (cur == TRUST_BLOCKED)
		goto done;
	if (total >= t->tt_demote_total && rate < t->tt_demote_rate) {
		if (cur == TRUST_TRUSTED)
			to = TRUST_VERIFIED;
		else if (cur == TRUST_VERIFIED)
			to = TRUST_FIRST_CONTACT;
		goto done;
	}
	switch (cur) {
	case TRUST_UNKNOWN:
		if (total >= 1)
			to = TRUST_FIRST_CONTACT;
		break;
	case TRUST_FIRST_CONTACT:
		if (succ >= t->tt_verify_succ && rate >= t->tt_verify_rate)
			to = TRUST_VERIFIED;
		break;
	case TRUST_VERIFIED:
		if (succ >= t->tt_trust_succ && rate >= t->tt_trust_rate)
			to = TRUST_TRUSTED;
		break;
	default:
		break;
	}
 done:
	*next = to;
	return to != cur;
}

void
trust_state_init(struct trust_state *ts)
{
	memset(ts, 0, sizeof(*ts));
	ts->ts_level = TRUST_FIRST_CONTACT;
	ts->ts_score = TRUST_NEW_PEER_SCORE;
}

int
trust_observe(struct trust_state *ts, const struct trust_thresholds *t,
    int success)
{
	enum trust_level	 next;
	int			 changed;

	if (success) {
		if (ts->ts_succ < UINT64_MAX)
			ts->ts_succ++;
	} else if (ts->ts_fail < UINT64_MAX)
		ts->ts_fail++;
	changed = trust_evaluate(t, ts->ts_level, ts->ts_succ, ts->ts_fail,
	    &next);
	if (changed == -1)
		return -1;
	ts->ts_level = next;
	ts->ts_score = trust_level_score(next);
	return changed;
}
