/*
 * Unit tests for relayd/fed/peerstate.c, the pure part of peering: endpoint
 * URLs, spec versions, extensions, the allow and block lists, the replay
 * cache, the per-peer rate limiter, the heartbeat state machine, the
 * decision on an inbound propose, and the checks of what peers sign,
 * including the heartbeat and handshake vectors of Appendix B.
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "crypto.h"
#include "encoding.h"
#include "jcs.h"
#include "peerstate.h"
#include "vectors.h"

#define OWN_ID		"relay-00000000-0000-4000-8000-000000000000"
#define PEER_ID		"relay-11111111-1111-4111-8111-111111111111"
#define KEY_A		\
	"8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"
#define KEY_B		\
	"8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394"
#define T0		1760000000000LL


static const char *
vstr(const char *a, const char *b, const char *c)
{
	json_t	*v;

	v = json_object_get(vectors, a);
	if (b != NULL)
		v = json_object_get(v, b);
	if (c != NULL)
		v = json_object_get(v, c);
	ck_assert_msg(json_is_string(v), "vector %s.%s.%s", a, b ? b : "",
	    c ? c : "");
	return (json_string_value(v));
}

/*
 * URLs
 */
START_TEST(url_good)
{
	struct peer_url	 u;
	char		 err[128];

	ck_assert_int_eq(peer_url_parse("http://127.0.0.1:8080/", &u, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(u.tls, 0);
	ck_assert_str_eq(u.host, "127.0.0.1");
	ck_assert_uint_eq(u.port, 8080);
	ck_assert_str_eq(u.path, "");
	ck_assert_str_eq(u.norm, "http://127.0.0.1:8080");
	ck_assert_str_eq(u.hosthdr, "127.0.0.1:8080");

	ck_assert_int_eq(peer_url_parse("HTTPS://Relay.Example.COM/fed/v//",
	    &u, err, sizeof(err)), 0);
	ck_assert_int_eq(u.tls, 1);
	ck_assert_uint_eq(u.port, 443);
	ck_assert_str_eq(u.host, "relay.example.com");
	ck_assert_str_eq(u.path, "/fed/v");
	ck_assert_str_eq(u.norm, "https://relay.example.com/fed/v");
	ck_assert_str_eq(u.hosthdr, "relay.example.com");

	ck_assert_int_eq(peer_url_parse("http://[::1]:80", &u, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(u.host, "::1");
	ck_assert_uint_eq(u.port, 80);
	ck_assert_str_eq(u.norm, "http://[::1]");
	ck_assert_str_eq(u.hosthdr, "[::1]");

	ck_assert_int_eq(peer_url_parse("https://[0:0::1]:8443/x", &u, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(u.norm, "https://[::1]:8443/x");
}
END_TEST

START_TEST(url_bad)
{
	static const char *const bad[] = {
		"", "127.0.0.1:80", "ftp://host", "http://", "http:///x",
		"http://user@host", "http://host:0", "http://host:65536",
		"http://host:8a", "http://host:", "http://ho_st",
		"http://host/a?b=1", "http://host/#frag", "http://[::1",
		"http://[zz::1]", "http://[::1]x", "http://.host",
		"http://a..b", "http://host/a b", "http://host/\"",
		NULL
	};
	struct peer_url	 u;
	char		 err[128], longurl[RELAY_URL_MAX + 16];
	int		 i;

	for (i = 0; bad[i] != NULL; i++) {
		err[0] = '\0';
		ck_assert_msg(peer_url_parse(bad[i], &u, err, sizeof(err)) ==
		    -1, "accepted %s", bad[i]);
		ck_assert_msg(err[0] != '\0', "no message for %s", bad[i]);
	}
	memset(longurl, 'a', sizeof(longurl) - 1);
	longurl[sizeof(longurl) - 1] = '\0';
	memcpy(longurl, "http://", 7);
	ck_assert_int_eq(peer_url_parse(longurl, &u, err, sizeof(err)), -1);
}
END_TEST

START_TEST(spec_versions)
{
	ck_assert_int_eq(spec_major("motebit/relay-federation@1.4"), 1);
	ck_assert_int_eq(spec_major("motebit/relay-federation@2.0"), 2);
	ck_assert_int_eq(spec_major("x@y@12.3"), 12);
	ck_assert_int_eq(spec_major("motebit/relay-federation@1"), -1);
	ck_assert_int_eq(spec_major("motebit/relay-federation@.1"), -1);
	ck_assert_int_eq(spec_major("no version"), -1);
	ck_assert_int_eq(spec_major(""), -1);
}
END_TEST

START_TEST(extensions)
{
	json_t	*a;
	char	 buf[64];

	a = json_pack("[s,s,i,s]", "remove-v2", "rooms", 3, "peer-accepted");
	ck_assert_uint_eq(peer_ext_from_json(a),
	    PEER_EXT_REMOVE_V2 | PEER_EXT_PEER_ACCEPTED);
	json_decref(a);
	a = json_pack("{s:s}", "x", "remove-v2");
	ck_assert_uint_eq(peer_ext_from_json(a), 0);
	json_decref(a);
	ck_assert_uint_eq(peer_ext_from_json(NULL), 0);
	peer_ext_names(PEER_EXT_REMOVE_V2 | PEER_EXT_PEER_ACCEPTED, buf,
	    sizeof(buf));
	ck_assert_str_eq(buf, "peer-accepted remove-v2");
	peer_ext_names(0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "-");
	ck_assert_str_eq(peer_ext_name(PEER_EXT_REMOVE_V2), "remove-v2");
}
END_TEST

START_TEST(states)
{
	int	 s;

	for (s = PEER_PENDING; s <= PEER_REMOVED; s++)
		ck_assert_int_eq(peer_state_from_name(peer_state_name(s)), s);
	ck_assert_int_eq(peer_state_from_name("bogus"), PEER_NONE);
	ck_assert_str_eq(peer_state_name(99), "unknown");
}
END_TEST

START_TEST(rules)
{
	struct fedrules		 fr, nfr;
	struct cfg_fedrule	 r;
	int			 i;

	fedrules_init(&fr);
	fedrules_init(&nfr);
	ck_assert_int_eq(fedrules_lookup(&fr, PEER_ID), FEDRULE_NONE);
	for (i = 0; i < 40; i++) {
		memset(&r, 0, sizeof(r));
		snprintf(r.relay_id, sizeof(r.relay_id), "relay-%d", i);
		r.block = i % 2;
		ck_assert_int_eq(fedrules_add(&nfr, &r), 0);
	}
	fedrules_move(&fr, &nfr);
	ck_assert_uint_eq(nfr.n, 0);
	ck_assert_int_eq(fedrules_lookup(&fr, "relay-4"), FEDRULE_ALLOW);
	ck_assert_int_eq(fedrules_lookup(&fr, "relay-39"), FEDRULE_BLOCK);
	ck_assert_int_eq(fedrules_lookup(&fr, "relay-40"), FEDRULE_NONE);
	fedrules_clear(&fr);
	ck_assert_int_eq(fedrules_lookup(&fr, "relay-4"), FEDRULE_NONE);
}
END_TEST

/*
 * Replay cache and rate limiter
 */
START_TEST(replay)
{
	struct replay	 rc;

	replay_init(&rc, 3);
	/* a lookup remembers nothing */
	ck_assert_int_eq(replay_seen(&rc, PEER_ID, "aa", T0), REPLAY_NEW);
	ck_assert_uint_eq(rc.n, 0);
	ck_assert_int_eq(replay_check(&rc, PEER_ID, "aa", T0), REPLAY_NEW);
	ck_assert_int_eq(replay_seen(&rc, PEER_ID, "aa", T0), REPLAY_SEEN);
	ck_assert_int_eq(replay_check(&rc, PEER_ID, "aa", T0 + 1),
	    REPLAY_SEEN);
	/* the pair is the key: same signature from another signer */
	ck_assert_int_eq(replay_check(&rc, OWN_ID, "aa", T0 + 2), REPLAY_NEW);
	ck_assert_int_eq(replay_check(&rc, PEER_ID, "bb", T0 + 3),
	    REPLAY_NEW);
	ck_assert_int_eq(replay_check(&rc, PEER_ID, "cc", T0 + 4),
	    REPLAY_FULL);
	/* still seen just before 10 minutes, forgotten at 10 minutes */
	ck_assert_int_eq(replay_check(&rc, PEER_ID, "aa",
	    T0 + PEER_REPLAY_MS - 1), REPLAY_SEEN);
	ck_assert_int_eq(replay_check(&rc, PEER_ID, "aa",
	    T0 + PEER_REPLAY_MS), REPLAY_NEW);
	ck_assert_uint_eq(rc.n, 3);
	replay_expire(&rc, T0 + 2 * PEER_REPLAY_MS);
	ck_assert_uint_eq(rc.n, 0);
	replay_clear(&rc);
}
END_TEST

START_TEST(ratelimit)
{
	struct ratelim	 rl;
	uint32_t	 retry;
	int		 i;

	ratelim_init(&rl, 2);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(ratelim_hit(&rl, PEER_ID, T0 + i, 3, 60000,
		    &retry), 0);
	ck_assert_int_eq(ratelim_hit(&rl, PEER_ID, T0 + 10, 3, 60000,
	    &retry), -1);
	ck_assert_uint_eq(retry, 60);
	ck_assert_int_eq(ratelim_hit(&rl, PEER_ID, T0 + 59500, 3, 60000,
	    &retry), -1);
	ck_assert_uint_eq(retry, 1);
	/* another relay has its own window */
	ck_assert_int_eq(ratelim_hit(&rl, OWN_ID, T0 + 20, 3, 60000,
	    &retry), 0);
	/*
	 * The tracker is full: the oldest window goes, so a new key is
	 * never locked out (PEER_ID's spent window was the oldest).
	 */
	ck_assert_int_eq(ratelim_hit(&rl, "relay-x", T0 + 30, 3, 60000,
	    &retry), 0);
	ck_assert_uint_eq(rl.n, 2);
	ck_assert_int_eq(ratelim_hit(&rl, PEER_ID, T0 + 40, 3, 60000,
	    &retry), 0);
	/* the window closes 60 s after its first request */
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(ratelim_hit(&rl, PEER_ID, T0 + 50, 3, 60000,
		    &retry), 0);
	ck_assert_int_eq(ratelim_hit(&rl, PEER_ID, T0 + 60039, 3, 60000,
	    &retry), -1);
	ck_assert_int_eq(ratelim_hit(&rl, PEER_ID, T0 + 60040, 3, 60000,
	    &retry), 0);
	/* 4 320 fresh keys through a small table: nobody waits */
	for (i = 0; i < 4320; i++) {
		char	 key[32];

		snprintf(key, sizeof(key), "relay-%d", i);
		ck_assert_int_eq(ratelim_hit(&rl, key, T0 + 60100 + i, 3,
		    60000, &retry), 0);
	}
	ck_assert_uint_eq(rl.n, 2);
	ratelim_expire(&rl, T0 + 200000, 60000);
	ck_assert_uint_eq(rl.n, 0);
	ratelim_clear(&rl);
}
END_TEST

/*
 * The heartbeat state machine
 */
static void
entry_init(struct peer_entry *e, int state)
{
	memset(e, 0, sizeof(*e));
	strlcpy(e->relay_id, PEER_ID, sizeof(e->relay_id));
	strlcpy(e->public_key, KEY_A, sizeof(e->public_key));
	e->state = state;
	e->since = T0;
}

START_TEST(hb_suspend_remove)
{
	struct peer_entry	 e;
	char			 why[128];
	int			 i;

	entry_init(&e, PEER_ACTIVE);
	for (i = 1; i <= 2; i++) {
		ck_assert_int_eq(peer_hb_missed(&e, 3, 5, T0 + i, "timed out",
		    why, sizeof(why)), 0);
		ck_assert_int_eq(e.state, PEER_ACTIVE);
		ck_assert_uint_eq(e.missed, (unsigned)i);
	}
	ck_assert_int_eq(peer_hb_missed(&e, 3, 5, T0 + 3, "timed out", why,
	    sizeof(why)), 1);
	ck_assert_int_eq(e.state, PEER_SUSPENDED);
	ck_assert_int_eq(e.since, T0 + 3);
	ck_assert_str_eq(why, "3 heartbeats missed in a row (timed out)");
	ck_assert_int_eq(peer_hb_missed(&e, 3, 5, T0 + 4, "x", why,
	    sizeof(why)), 0);
	ck_assert_int_eq(e.state, PEER_SUSPENDED);
	ck_assert_int_eq(peer_hb_missed(&e, 3, 5, T0 + 5, "refused", why,
	    sizeof(why)), 1);
	ck_assert_int_eq(e.state, PEER_REMOVED);
	ck_assert_str_eq(why, "5 heartbeats missed in a row (refused)");
	/* removed is sticky: nothing revives it */
	ck_assert_int_eq(peer_hb_good(&e, T0 + 6, 3, why, sizeof(why)), 0);
	ck_assert_int_eq(peer_hb_inbound(&e, T0 + 7, 1, why, sizeof(why)), 0);
	ck_assert_int_eq(peer_hb_missed(&e, 3, 5, T0 + 8, "x", why,
	    sizeof(why)), 0);
	ck_assert_int_eq(e.state, PEER_REMOVED);
	ck_assert_uint_eq(e.missed, 5);
}
END_TEST

START_TEST(hb_recover)
{
	struct peer_entry	 e;
	char			 why[128];
	int			 i;

	entry_init(&e, PEER_ACTIVE);
	for (i = 0; i < 4; i++)
		peer_hb_missed(&e, 3, 5, T0 + i, "x", why, sizeof(why));
	ck_assert_int_eq(e.state, PEER_SUSPENDED);
	/* one good round restores active */
	ck_assert_int_eq(peer_hb_good(&e, T0 + 10, 42, why, sizeof(why)), 1);
	ck_assert_int_eq(e.state, PEER_ACTIVE);
	ck_assert_uint_eq(e.missed, 0);
	ck_assert_uint_eq(e.rtt_ms, 42);
	ck_assert_int_eq(e.last_heartbeat, T0 + 10);
	/* a good round while active changes nothing but the numbers */
	ck_assert_int_eq(peer_hb_good(&e, T0 + 11, 7, why, sizeof(why)), 0);
	ck_assert_uint_eq(e.rtt_ms, 7);
	/* an inbound heartbeat restores active too, and the agent count */
	for (i = 0; i < 3; i++)
		peer_hb_missed(&e, 3, 5, T0 + 20 + i, "x", why, sizeof(why));
	ck_assert_int_eq(e.state, PEER_SUSPENDED);
	ck_assert_int_eq(peer_hb_inbound(&e, T0 + 30, 9, why, sizeof(why)), 1);
	ck_assert_int_eq(e.state, PEER_ACTIVE);
	ck_assert_int_eq(e.agent_count, 9);
	ck_assert_uint_eq(e.missed, 0);
	/* a pending peer is not heartbeating */
	entry_init(&e, PEER_PENDING);
	ck_assert_int_eq(peer_hb_missed(&e, 3, 5, T0, "x", why, sizeof(why)),
	    0);
	ck_assert_uint_eq(e.missed, 0);
}
END_TEST

START_TEST(counting)
{
	struct peer_entry	 e;

	entry_init(&e, PEER_ACTIVE);
	ck_assert(peer_counts(&e));
	e.state = PEER_SUSPENDED;
	ck_assert(peer_counts(&e));
	e.state = PEER_REMOVED;
	ck_assert(!peer_counts(&e));
	e.state = PEER_PENDING;
	e.flags = PEER_F_INBOUND;
	ck_assert(!peer_counts(&e));
	ck_assert(peer_unconfirmed(&e));
	e.flags |= PEER_F_CONFIRMED | PEER_F_AWAIT_US;
	/* a request awaiting our operator holds no `max peers' slot */
	ck_assert(!peer_counts(&e));
	ck_assert(peer_awaiting_us(&e));
	ck_assert(!peer_unconfirmed(&e));
	e.flags = PEER_F_CONFIRMED | PEER_F_AWAIT_THEM;
	ck_assert(peer_counts(&e));
	ck_assert(!peer_unconfirmed(&e));
	ck_assert(!peer_awaiting_us(&e));
}
END_TEST

/*
 * The propose decision, check by check in order
 */
static struct fedrules	 prules;

static void
propose_init(struct propose_env *env, struct fed_propose *p)
{
	memset(env, 0, sizeof(*env));
	env->own_id = OWN_ID;
	env->enabled = 1;
	env->rules = &prules;
	env->max_peers = 2;
	memset(p, 0, sizeof(*p));
	strlcpy(p->relay_id, PEER_ID, sizeof(p->relay_id));
	strlcpy(p->public_key, KEY_A, sizeof(p->public_key));
	strlcpy(p->nonce, "aaaa", sizeof(p->nonce));
	strlcpy(p->spec_version, RELAYD_SPEC_VERSION,
	    sizeof(p->spec_version));
}

static int
decide(struct propose_env *env, struct fed_propose *p,
    const struct peer_entry *old, int64_t cooldown, struct fed_result *res,
    int *af)
{
	struct propose_old	 o;

	o.e = old;
	o.cooldown_until = cooldown;
	memset(res, 0, sizeof(*res));
	return (propose_check(env, p, old != NULL ? &o : NULL, T0, res, af));
}

START_TEST(propose_order)
{
	struct propose_env	 env;
	struct fed_propose	 p;
	struct fed_result	 res;
	struct peer_entry	 e;
	struct cfg_fedrule	 r;
	int			 af;

	fedrules_init(&prules);
	propose_init(&env, &p);
	ck_assert_int_eq(decide(&env, &p, NULL, 0, &res, &af), 0);
	ck_assert_int_eq(af, -1);

	/* self-propose: 400, before anything else */
	strlcpy(p.relay_id, OWN_ID, sizeof(p.relay_id));
	env.enabled = 0;
	ck_assert_int_eq(decide(&env, &p, NULL, 0, &res, &af), 400);
	propose_init(&env, &p);

	env.enabled = 0;
	ck_assert_int_eq(decide(&env, &p, NULL, 0, &res, &af), 403);
	ck_assert_str_eq(res.error, "Federation is disabled on this relay");
	env.enabled = 1;

	strlcpy(p.spec_version, "motebit/relay-federation@2.0",
	    sizeof(p.spec_version));
	ck_assert_int_eq(decide(&env, &p, NULL, 0, &res, &af), 403);
	ck_assert_int_eq(af, AUTH_FAIL_VERSION);
	/* a missing spec_version is accepted, as the reference does */
	p.spec_version[0] = '\0';
	ck_assert_int_eq(decide(&env, &p, NULL, 0, &res, &af), 0);

	memset(&r, 0, sizeof(r));
	strlcpy(r.relay_id, PEER_ID, sizeof(r.relay_id));
	r.block = 1;
	fedrules_add(&prules, &r);
	ck_assert_int_eq(decide(&env, &p, NULL, 0, &res, &af), 403);
	ck_assert_int_eq(af, AUTH_FAIL_POLICY);
	fedrules_clear(&prules);
	entry_init(&e, PEER_REMOVED);
	e.flags = PEER_F_BLOCKED;
	ck_assert_int_eq(decide(&env, &p, &e, 0, &res, &af), 403);
	ck_assert_int_eq(af, AUTH_FAIL_POLICY);

	/* a different key for a known relay */
	entry_init(&e, PEER_REMOVED);
	strlcpy(e.public_key, KEY_B, sizeof(e.public_key));
	ck_assert_int_eq(decide(&env, &p, &e, 0, &res, &af), 403);
	ck_assert_int_eq(af, AUTH_FAIL_KEY_MISMATCH);
	ck_assert_msg(strstr(res.error, "key mismatch for known relay") !=
	    NULL, "%s", res.error);

	/*
	 * One key, one relay id: a new relay id with this relay's own key,
	 * or with a key pinned to another relay id, is refused (keyd.8,
	 * "Handshakes"); the relay the key is pinned to may propose.
	 */
	env.own_key = KEY_A;
	ck_assert_int_eq(decide(&env, &p, NULL, 0, &res, &af), 403);
	ck_assert_int_eq(af, AUTH_FAIL_KEY_MISMATCH);
	ck_assert_str_eq(res.error, "public_key is this relay's own key");
	env.own_key = KEY_B;
	env.key_owner = "relay-other";
	ck_assert_int_eq(decide(&env, &p, NULL, 0, &res, &af), 403);
	ck_assert_int_eq(af, AUTH_FAIL_KEY_MISMATCH);
	ck_assert_str_eq(res.error, "public_key is pinned to relay "
	    "relay-other");
	env.key_owner = PEER_ID;
	ck_assert_int_eq(decide(&env, &p, NULL, 0, &res, &af), 0);
	env.own_key = env.key_owner = NULL;

	/* max peers; a suspended row being re-proposed does not count */
	env.npeers = 2;
	ck_assert_int_eq(decide(&env, &p, NULL, 0, &res, &af), 503);
	ck_assert_uint_eq(res.retry_after, PEER_LIMIT_RETRY_S);
	entry_init(&e, PEER_SUSPENDED);
	ck_assert_int_eq(decide(&env, &p, &e, 0, &res, &af), 0);
	env.npeers = 0;
	env.nhandshakes = PEER_HANDSHAKES_MAX;
	ck_assert_int_eq(decide(&env, &p, NULL, 0, &res, &af), 503);
	ck_assert_uint_eq(res.retry_after, PEER_HANDSHAKE_MS / 1000);
	env.nhandshakes = 0;

	/* active or pending: 409 */
	entry_init(&e, PEER_ACTIVE);
	ck_assert_int_eq(decide(&env, &p, &e, 0, &res, &af), 409);
	entry_init(&e, PEER_PENDING);
	ck_assert_int_eq(decide(&env, &p, &e, 0, &res, &af), 409);

	/* the cool-down after a removal: 429 with the time left */
	entry_init(&e, PEER_REMOVED);
	ck_assert_int_eq(decide(&env, &p, &e, T0 + 90500, &res, &af), 429);
	ck_assert_uint_eq(res.retry_after, 91);
	ck_assert_int_eq(af, -1);
	ck_assert_int_eq(decide(&env, &p, &e, T0, &res, &af), 0);
}
END_TEST

/*
 * Issue 8, findings 1 and 2: a propose is unauthenticated, so nothing is
 * charged to the relay it names (the de-peering flood charged A's budget
 * with bodies naming A); handshakes are bounded per source prefix.
 */
START_TEST(propose_ratelimit)
{
	struct propose_env	 env;
	struct fed_propose	 p;
	struct fed_result	 res;
	struct peer_entry	 e;
	int			 af, i;

	fedrules_init(&prules);
	propose_init(&env, &p);
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(decide(&env, &p, NULL, 0, &res, &af), 0);
	env.nsrc_handshakes = PEER_HANDSHAKES_SRC;
	ck_assert_int_eq(decide(&env, &p, NULL, 0, &res, &af), 429);
	ck_assert_int_eq(af, PROPOSE_LIMITED);
	ck_assert_uint_eq(res.retry_after, PEER_HANDSHAKE_MS / 1000);
	ck_assert_msg(strstr(res.error, "from your address") != NULL, "%s",
	    res.error);
	/* the source's own handshake with this relay may be replaced */
	entry_init(&e, PEER_PENDING);
	e.flags = PEER_F_INBOUND;
	ck_assert_int_eq(decide(&env, &p, &e, 0, &res, &af), 409);
	env.nsrc_handshakes = PEER_HANDSHAKES_SRC - 1;
	ck_assert_int_eq(decide(&env, &p, NULL, 0, &res, &af), 0);
}
END_TEST

START_TEST(budgets)
{
	struct budget	 b;
	uint32_t	 retry;
	int		 i;

	memset(&b, 0, sizeof(b));
	for (i = 0; i < 20; i++)
		ck_assert_int_eq(budget_hit(&b, T0 + i, 20, 60000, &retry), 0);
	ck_assert_int_eq(budget_hit(&b, T0 + 100, 20, 60000, &retry), -1);
	ck_assert_uint_eq(retry, 60);
	ck_assert_int_eq(budget_hit(&b, T0 + 59999, 20, 60000, &retry), -1);
	ck_assert_uint_eq(retry, 1);
	ck_assert_int_eq(budget_hit(&b, T0 + 60000, 20, 60000, &retry), 0);
	/* the clock went back: a new window */
	for (i = 0; i < 19; i++)
		ck_assert_int_eq(budget_hit(&b, T0 + 60000, 20, 60000, &retry),
		    0);
	ck_assert_int_eq(budget_hit(&b, T0 + 60000, 20, 60000, &retry), -1);
	ck_assert_int_eq(budget_hit(&b, T0, 20, 60000, &retry), 0);
}
END_TEST

/*
 * A 429 answer to our heartbeat is "limited", not missed, for `suspend
 * after' rounds in a row; then rounds count as missed again, so a peer
 * that only answers 429 is still suspended and removed, later.
 */
START_TEST(hb_limited)
{
	struct peer_entry	 e;
	uint32_t		 limited = 0;
	char			 why[128];
	int			 i, rounds = 0;

	entry_init(&e, PEER_ACTIVE);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(peer_hb_limited(&limited, 3), 0);
		rounds++;
	}
	ck_assert_uint_eq(e.missed, 0);
	ck_assert_uint_eq(limited, 3);
	while (e.state != PEER_REMOVED && rounds < 100) {
		if (peer_hb_limited(&limited, 3))
			peer_hb_missed(&e, 3, 5, T0 + rounds, "429", why,
			    sizeof(why));
		rounds++;
		if (e.missed == 3)
			ck_assert_int_eq(e.state, PEER_SUSPENDED);
	}
	ck_assert_int_eq(e.state, PEER_REMOVED);
	ck_assert_int_eq(rounds, 3 + 5);
}
END_TEST

/*
 * Issue 8, finding 3: the endpoint policy, with the URLs a confirm made
 * relayd fetch.
 */
static int
policy_url(const struct cfg_endpoint *ep, const char *url, char *err,
    size_t len)
{
	struct peer_url	 u;

	ck_assert_int_eq(peer_url_parse(url, &u, err, len), 0);
	return (ep_check_url(ep, &u, err, len));
}

START_TEST(endpoint_policy)
{
	struct cfg_endpoint	 ep;
	char			 err[160];
	static const struct {
		const char	*url;
		int		 class;
	} refused[] = {
		{ "http://169.254.169.254/latest/meta-data", EP_CLASS_METADATA },
		{ "http://10.0.0.1:5432/", EP_CLASS_PRIVATE },
		{ "http://127.0.0.1:8080", EP_CLASS_LOOPBACK },
		{ "http://[::1]:8080", EP_CLASS_LOOPBACK },
		{ "http://[::ffff:10.1.2.3]", EP_CLASS_PRIVATE },
		{ "http://[::ffff:169.254.169.254]", EP_CLASS_METADATA },
		{ "http://[64:ff9b::a9fe:a9fe]", EP_CLASS_METADATA },
		{ "http://[2002:7f00:1::]", EP_CLASS_LOOPBACK },
		{ "http://[fd00:ec2::254]", EP_CLASS_METADATA },
		{ "http://[fe80::1]", EP_CLASS_LINKLOCAL },
		{ "http://[fc00::5]", EP_CLASS_PRIVATE },
		{ "http://172.16.0.1", EP_CLASS_PRIVATE },
		{ "http://172.31.255.255", EP_CLASS_PRIVATE },
		{ "http://192.168.1.1", EP_CLASS_PRIVATE },
		{ "http://100.64.0.1", EP_CLASS_PRIVATE },
		{ "http://100.100.100.200", EP_CLASS_METADATA },
		{ "http://169.254.1.1", EP_CLASS_LINKLOCAL },
		{ "http://0.0.0.0", EP_CLASS_RESERVED },
		{ "http://224.0.0.1", EP_CLASS_RESERVED },
		{ "http://255.255.255.255", EP_CLASS_RESERVED },
		{ "http://[::]", EP_CLASS_RESERVED },
		{ "http://[ff02::1]", EP_CLASS_RESERVED },
		{ "http://localhost:8080", -1 },
	};
	size_t			 i;

	memset(&ep, 0, sizeof(ep));
	ep.schemes = EP_SCHEME_HTTP | EP_SCHEME_HTTPS;
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		ck_assert_msg(policy_url(&ep, refused[i].url, err,
		    sizeof(err)) == -1, "%s accepted", refused[i].url);
		if (refused[i].class >= 0)
			ck_assert_msg(strstr(err,
			    ep_class_name(refused[i].class)) != NULL,
			    "%s: %s", refused[i].url, err);
	}
	ck_assert_int_eq(policy_url(&ep, "https://relay.example.com", err,
	    sizeof(err)), 0);
	ck_assert_int_eq(policy_url(&ep, "http://8.8.8.8:8080", err,
	    sizeof(err)), 0);
	ck_assert_int_eq(policy_url(&ep, "http://172.32.0.1", err,
	    sizeof(err)), 0);
	ck_assert_int_eq(policy_url(&ep, "http://[2001:4860::1]", err,
	    sizeof(err)), 0);

	/* classes the config allows; metadata stays refused */
	ep.allow = EP_ALLOW_LOOPBACK | EP_ALLOW_PRIVATE;
	ck_assert_int_eq(policy_url(&ep, "http://127.0.0.1:8080", err,
	    sizeof(err)), 0);
	ck_assert_int_eq(policy_url(&ep, "http://localhost:8080", err,
	    sizeof(err)), 0);
	ck_assert_int_eq(policy_url(&ep, "http://10.0.0.1:5432/", err,
	    sizeof(err)), 0);
	ck_assert_int_eq(policy_url(&ep,
	    "http://169.254.169.254/latest/meta-data", err, sizeof(err)), -1);
	ep.allow |= EP_ALLOW_METADATA | EP_ALLOW_LINKLOCAL;
	ck_assert_int_eq(policy_url(&ep,
	    "http://169.254.169.254/latest/meta-data", err, sizeof(err)), 0);
	/* reserved is never allowed */
	ck_assert_int_eq(policy_url(&ep, "http://0.0.0.0", err, sizeof(err)),
	    -1);

	/* schemes and ports */
	ep.schemes = EP_SCHEME_HTTPS;
	ck_assert_int_eq(policy_url(&ep, "http://8.8.8.8", err, sizeof(err)),
	    -1);
	ck_assert_msg(strstr(err, "scheme http") != NULL, "%s", err);
	ck_assert_int_eq(policy_url(&ep, "https://8.8.8.8", err, sizeof(err)),
	    0);
	ep.nports = 2;
	ep.ports[0][0] = ep.ports[0][1] = 443;
	ep.ports[1][0] = 8000;
	ep.ports[1][1] = 8999;
	ck_assert_int_eq(policy_url(&ep, "https://8.8.8.8", err, sizeof(err)),
	    0);
	ck_assert_int_eq(policy_url(&ep, "https://8.8.8.8:8443", err,
	    sizeof(err)), 0);
	ck_assert_int_eq(policy_url(&ep, "https://8.8.8.8:5432", err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, "port 5432") != NULL, "%s", err);
}
END_TEST

/*
 * What peers sign
 */
START_TEST(vector_heartbeat)
{
	json_t		*body;
	char		 err[128];
	int64_t		 agents;

	body = json_deep_copy(json_object_get(json_object_get(vectors,
	    "heartbeat"), "body"));
	ck_assert_ptr_nonnull(body);
	ck_assert_int_eq(hb_body_verify(body, PEER_ID, KEY_A, T0, &agents,
	    err, sizeof(err)), 0);
	ck_assert_int_eq(agents, 3);
	/* within 5 minutes either way, not beyond */
	ck_assert_int_eq(hb_body_verify(body, PEER_ID, KEY_A,
	    T0 + PEER_CLOCK_SKEW_MS, &agents, err, sizeof(err)), 0);
	ck_assert_int_eq(hb_body_verify(body, PEER_ID, KEY_A,
	    T0 + PEER_CLOCK_SKEW_MS + 1, &agents, err, sizeof(err)), -1);
	ck_assert_int_eq(hb_body_verify(body, PEER_ID, KEY_A,
	    T0 - PEER_CLOCK_SKEW_MS - 1, &agents, err, sizeof(err)), -1);
	/* another key, another relay id */
	ck_assert_int_eq(hb_body_verify(body, PEER_ID, KEY_B, T0, &agents,
	    err, sizeof(err)), -1);
	ck_assert_int_eq(hb_body_verify(body, OWN_ID, KEY_A, T0, &agents,
	    err, sizeof(err)), -1);
	/* the timestamp is signed */
	json_object_set_new(body, "timestamp", json_integer(T0 + 1));
	ck_assert_int_eq(hb_body_verify(body, PEER_ID, KEY_A, T0, &agents,
	    err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "does not verify") != NULL, "%s", err);
	/* the agent count is not */
	json_object_set_new(body, "timestamp", json_integer(T0));
	json_object_set_new(body, "agent_count", json_integer(11));
	ck_assert_int_eq(hb_body_verify(body, PEER_ID, KEY_A, T0, &agents,
	    err, sizeof(err)), 0);
	ck_assert_int_eq(agents, 11);
	json_object_set_new(body, "signature", json_string("00"));
	ck_assert_int_eq(hb_body_verify(body, PEER_ID, KEY_A, T0, &agents,
	    err, sizeof(err)), -1);
	json_object_del(body, "timestamp");
	ck_assert_int_eq(hb_body_verify(body, PEER_ID, KEY_A, T0, &agents,
	    err, sizeof(err)), -1);
	json_decref(body);
	ck_assert_int_eq(hb_body_verify(NULL, PEER_ID, KEY_A, T0, &agents,
	    err, sizeof(err)), -1);
}
END_TEST

START_TEST(vector_challenge)
{
	const char	*nonce, *sig, *rnonce, *csig;

	nonce = vstr("handshake", "propose_request", "nonce");
	sig = vstr("handshake", "responder_challenge_sig_by_B", NULL);
	/* A proposed with its nonce; B's challenge verifies with B's key */
	ck_assert_int_eq(challenge_verify(KEY_B, PEER_ID, nonce, sig), 0);
	ck_assert_int_eq(challenge_verify(KEY_A, PEER_ID, nonce, sig), -1);
	ck_assert_int_eq(challenge_verify(KEY_B, OWN_ID, nonce, sig), -1);
	ck_assert_int_eq(challenge_verify(KEY_B, PEER_ID, "bbbb", sig), -1);
	ck_assert_int_eq(challenge_verify(KEY_B, PEER_ID, nonce, "abc"), -1);
	/* and A's confirm over B's nonce, with A's key */
	rnonce = vstr("handshake", "propose_response_nonce", NULL);
	csig = vstr("handshake", "confirm_challenge_response_sig_by_A", NULL);
	ck_assert_int_eq(challenge_verify(KEY_A, PEER_ID, rnonce, csig), 0);
}
END_TEST

START_TEST(metadata)
{
	static const uint8_t	 seed[32] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
	EVP_PKEY	*k;
	json_t		*o;
	uint8_t		 sig[ED25519_SIG_LEN];
	char		 sighex[SIG_HEX_MAX], err[128], *tbs;
	size_t		 len;
	uint32_t	 fee;

	ck_assert_ptr_nonnull(k = ed25519_from_seed(seed));
	o = json_pack("{s:s,s:s,s:s,s:f,s:s,s:i,s:[]}", "protocol_version",
	    "1.0", "relay_id", PEER_ID, "public_key", KEY_A, "fee_rate", 0.05,
	    "suite", SUITE_JCS_HEX, "agent_count", 2, "capabilities");
	ck_assert_ptr_nonnull(tbs = jcs_serialize(o, 1, &len));
	ck_assert_int_eq(ed25519_sign(k, (uint8_t *)tbs, len, sig), 0);
	free(tbs);
	hex_encode(sig, sizeof(sig), sighex);
	json_object_set_new(o, "signature", json_string(sighex));
	ck_assert_int_eq(metadata_verify(o, PEER_ID, KEY_A, &fee, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(fee, 50000);
	ck_assert_int_eq(metadata_verify(o, PEER_ID, KEY_B, &fee, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(metadata_verify(o, OWN_ID, KEY_A, &fee, err,
	    sizeof(err)), -1);
	json_object_set_new(o, "fee_rate", json_real(0.01));
	ck_assert_int_eq(metadata_verify(o, PEER_ID, KEY_A, &fee, err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, "does not verify") != NULL, "%s", err);
	json_decref(o);
	EVP_PKEY_free(k);
}
END_TEST

START_TEST(durations)
{
	char	 buf[32];

	fmt_ms(250, buf, sizeof(buf));
	ck_assert_str_eq(buf, "250ms");
	fmt_ms(12345, buf, sizeof(buf));
	ck_assert_str_eq(buf, "12.3s");
	fmt_ms(PEER_COOLDOWN_MS, buf, sizeof(buf));
	ck_assert_str_eq(buf, "300.0s");
	fmt_ms(3723000, buf, sizeof(buf));
	ck_assert_str_eq(buf, "62m03s");
	fmt_ms(-5, buf, sizeof(buf));
	ck_assert_str_eq(buf, "0ms");
}
END_TEST

START_TEST(clean_text)
{
	char	 buf[64];

	strlcpy(buf, "plain text", sizeof(buf));
	text_clean(buf);
	ck_assert_str_eq(buf, "plain text");
	/* \u00e9 and U+1F600 stay */
	strlcpy(buf, "caf\xc3\xa9 \xf0\x9f\x98\x80", sizeof(buf));
	text_clean(buf);
	ck_assert_str_eq(buf, "caf\xc3\xa9 \xf0\x9f\x98\x80");
	/* controls, a stray continuation byte, an overlong form */
	strlcpy(buf, "a\tb\x1b[c\x80" "d\xc0\xaf" "e\x7f", sizeof(buf));
	text_clean(buf);
	ck_assert_str_eq(buf, "a?b?[c?d??e?");
	/* a surrogate */
	strlcpy(buf, "x\xed\xa0\x80y", sizeof(buf));
	text_clean(buf);
	ck_assert_str_eq(buf, "x???y");
	/* cut short at the end by a bounded copy */
	strlcpy(buf, "end \xf0\x9f\x98", sizeof(buf));
	text_clean(buf);
	ck_assert_str_eq(buf, "end ");
	strlcpy(buf, "end \xc3", sizeof(buf));
	text_clean(buf);
	ck_assert_str_eq(buf, "end ");
	/* ... but not in the middle */
	strlcpy(buf, "mid \xc3 x", sizeof(buf));
	text_clean(buf);
	ck_assert_str_eq(buf, "mid ? x");
}
END_TEST

static Suite *
peerstate_suite(void)
{
	Suite	*s = suite_create("peerstate");
	TCase	*tc;

	tc = tcase_create("pure");
	tcase_add_test(tc, url_good);
	tcase_add_test(tc, url_bad);
	tcase_add_test(tc, spec_versions);
	tcase_add_test(tc, extensions);
	tcase_add_test(tc, states);
	tcase_add_test(tc, rules);
	tcase_add_test(tc, replay);
	tcase_add_test(tc, ratelimit);
	tcase_add_test(tc, hb_suspend_remove);
	tcase_add_test(tc, hb_recover);
	tcase_add_test(tc, counting);
	tcase_add_test(tc, propose_order);
	tcase_add_test(tc, propose_ratelimit);
	tcase_add_test(tc, budgets);
	tcase_add_test(tc, hb_limited);
	tcase_add_test(tc, endpoint_policy);
	tcase_add_test(tc, vector_heartbeat);
	tcase_add_test(tc, vector_challenge);
	tcase_add_test(tc, metadata);
	tcase_add_test(tc, durations);
	tcase_add_test(tc, clean_text);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	return (vectors_main(peerstate_suite()));
}
