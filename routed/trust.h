/*
 * The trust state machine of the reference relay (motebit
 * evaluateTrustTransition, reference/motebit-relay-wire.md 9), used for
 * peer relays and agents.  Its score is the trust weight of the edge
 * self -> peer in the routing graph (route.h).
 *
 * Levels and scores: unknown 0.1, first_contact 0.3, verified 0.6,
 * trusted 0.9, blocked 0.0; a level name we do not know scores 0.1.
 *
 * One evaluation takes at most one step.  With total = successes +
 * failures and rate = successes / total (1 when total is 0), in order:
 *
 *	1. blocked never changes;
 *	2. demotion is checked first: if total >= demote_total and
 *	   rate < demote_rate, trusted -> verified, verified ->
 *	   first_contact, and any other level stays where it is (the
 *	   evaluation ends here: unknown is not promoted in that case);
 *	3. unknown -> first_contact once total >= 1;
 *	4. first_contact -> verified if successes >= verify_succ and
 *	   rate >= verify_rate;
 *	5. verified -> trusted if successes >= trust_succ and
 *	   rate >= trust_rate;
 *	6. otherwise no change.
 *
 * The reference thresholds are 5 and 0.8, 20 and 0.9, 3 and 0.5.  The
 * rate is the IEEE double quotient, as in the reference.
 */
#ifndef ROUTED_TRUST_H
#define ROUTED_TRUST_H

#include <stdint.h>

enum trust_level {
	TRUST_UNKNOWN,
	TRUST_FIRST_CONTACT,
	TRUST_VERIFIED,
	TRUST_TRUSTED,
	TRUST_BLOCKED
};
#define TRUST_NLEVELS		5

#define TRUST_UNKNOWN_SCORE	0.1	/* also for unrecognised names */
#define TRUST_NEW_PEER_SCORE	0.5	/* a new peer row, before any update */

struct trust_thresholds {
	uint64_t	 tt_verify_succ;
	double		 tt_verify_rate;
	uint64_t	 tt_trust_succ;
	double		 tt_trust_rate;
	uint64_t	 tt_demote_total;
	double		 tt_demote_rate;
};

/* what the state machine keeps per peer or agent */
struct trust_state {
	enum trust_level ts_level;
	uint64_t	 ts_succ;
	uint64_t	 ts_fail;
	double		 ts_score;
};

extern const struct trust_thresholds trust_reference_thresholds;

double		 trust_level_score(enum trust_level);
const char	*trust_level_name(enum trust_level);
/* 0 and *level set, or -1 for a name that is not a level */
int		 trust_level_parse(const char *, enum trust_level *);
double		 trust_name_score(const char *);
/*
 * One evaluation: returns 1 and sets *next if the level changes, 0 (and
 * *next = cur) if not, -1 for a level out of range.  NULL thresholds
 * mean the reference ones.
 */
int		 trust_evaluate(const struct trust_thresholds *,
		    enum trust_level, uint64_t, uint64_t, enum trust_level *);
/* a new row: first_contact, counters 0, score 0.5 */
void		 trust_state_init(struct trust_state *);
/*
 * Record one outcome (success != 0), evaluate, and set level and score
 * as the reference does after every receipt.  Returns 1 if the level
 * changed, else 0.
 */
int		 trust_observe(struct trust_state *,
		    const struct trust_thresholds *, int);

#endif /* ROUTED_TRUST_H */
