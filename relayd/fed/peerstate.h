/*
 * The pure part of the peer engine's peering (relayd/peer/peering.c): state
 * names, endpoint URLs, spec versions, extension names, the allow and
 * block lists, the replay cache, the per-peer rate limiter, the heartbeat
 * state machine and the decision on an inbound propose.  Nothing here does
 * I/O or reads the clock; every time is an argument (epoch ms), so that
 * regress/unit/test_peerstate.c can drive it.
 */
#ifndef RELAYD_PEERSTATE_H
#define RELAYD_PEERSTATE_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "relayd_imsg.h"
#include "validate.h"

#define PEER_REPLAY_MS		(10 * 60 * 1000)	/* replay cache */
#define PEER_REPLAY_MAX		65536	/* entries; full: 503 */
#define PEER_COOLDOWN_MS	(5 * 60 * 1000)	/* after a removal */
#define PEER_HANDSHAKE_MS	(60 * 1000)	/* unconfirmed inbound */
#define PEER_HANDSHAKES_MAX	32	/* unconfirmed at a time */
#define PEER_HANDSHAKES_SRC	4	/* ... from one source prefix */
#define PEER_PENDING_SRC	4	/* awaiting the operator, per prefix */
#define PEER_RATELIM_MAX	4096	/* keys tracked */
#define PEER_FETCH_MAX		4	/* outbound fetches per claimed */
#define PEER_FETCH_WINDOW_MS	(60 * 1000)	/* relay and minute */
#define PEER_LIMIT_RETRY_S	300	/* Retry-After: max peers reached */
#define PEER_CLOCK_SKEW_MS	(5 * 60 * 1000)	/* +-5 minutes */
#define PEER_SPEC_MAJOR		1

const char	*peer_state_name(int);
int		 peer_state_from_name(const char *);

/*
 * An endpoint URL: http:// or https://, a host name, an IPv4 address or
 * an IPv6 address in brackets, an optional port, an optional path
 * prefix; no user info, query or fragment.  norm is the URL as stored
 * and announced: scheme and host in lower case, the default port left
 * out, no trailing slash.
 */
struct peer_url {
	int		 tls;
	char		 host[256];	/* without brackets */
	uint16_t	 port;
	char		 path[RELAY_URL_MAX];	/* "" or "/prefix" */
	char		 hosthdr[272];	/* Host: header value */
	char		 norm[RELAY_URL_MAX];
};
int	 peer_url_parse(const char *, struct peer_url *, char *, size_t);

/* The major version in "motebit/relay-federation@1.4"; -1 if none. */
int	 spec_major(const char *);

/* PEER_EXT_* from an identity's "extensions" array (unknown ignored) */
uint32_t peer_ext_from_json(const json_t *);
/* "peer-accepted remove-v2" or "-" */
void	 peer_ext_names(uint32_t, char *, size_t);
const char *peer_ext_name(uint32_t);	/* one bit */

/*
 * relayd.conf `allow' and `block': an allowed relay is accepted without
 * the operator (even with `accept manual'), a blocked one never.
 */
struct fedrules {
	struct cfg_fedrule	*r;
	size_t			 n;
	size_t			 cap;
};
void	 fedrules_init(struct fedrules *);
void	 fedrules_clear(struct fedrules *);
int	 fedrules_add(struct fedrules *, const struct cfg_fedrule *);
void	 fedrules_move(struct fedrules *, struct fedrules *);
#define FEDRULE_NONE	0
#define FEDRULE_ALLOW	1
#define FEDRULE_BLOCK	(-1)
int	 fedrules_lookup(const struct fedrules *, const char *);

/*
 * The replay cache: each (signer, signature) pair of an authenticated
 * request is remembered for PEER_REPLAY_MS; a second sighting inside
 * that window is a replay (409).
 */
struct replay_ent {
	RB_ENTRY(replay_ent)	 entry;
	TAILQ_ENTRY(replay_ent)	 age;
	int64_t			 seen;
	char			 key[RELAY_ID_MAX + SIG_HEX_MAX + 1];
};
RB_HEAD(replay_tree, replay_ent);
TAILQ_HEAD(replay_ageq, replay_ent);
struct replay {
	struct replay_tree	 tree;
	struct replay_ageq	 ageq;	/* oldest first */
	size_t			 n;
	size_t			 max;
};
#define REPLAY_NEW	0
#define REPLAY_SEEN	1
#define REPLAY_FULL	(-1)
void	 replay_init(struct replay *, size_t);
int	 replay_check(struct replay *, const char *, const char *, int64_t);
/* the same lookup without remembering the pair */
int	 replay_seen(struct replay *, const char *, const char *, int64_t);
void	 replay_expire(struct replay *, int64_t);
void	 replay_clear(struct replay *);

/*
 * One fixed-window budget: opened by the first hit and closed window_ms
 * later, as the reference's limiter does.  Every peer row has one for
 * its authenticated requests (reserved: nobody else can charge or evict
 * it); the peer engine has one relay-wide for unauthenticated peering
 * requests (`handshake limit').  0 allowed; -1 spent, with the seconds
 * until the window closes (at least 1).
 */
struct budget {
	int64_t		 start;
	uint32_t	 count;
};
int	 budget_hit(struct budget *, int64_t, uint32_t, uint32_t,
	    uint32_t *);

/*
 * A keyed rate limiter: a fixed window per key (the peer engine keys
 * outbound fetches by the relay they are for).  The table holds at most
 * max keys; when it is full, expired windows go first, then the oldest
 * window, so a flood of new keys never locks out anyone for good.
 */
struct ratelim_ent {
	RB_ENTRY(ratelim_ent)	 entry;
	int64_t			 start;
	uint32_t		 count;
	char			 key[RELAY_ID_MAX];
};
RB_HEAD(ratelim_tree, ratelim_ent);
struct ratelim {
	struct ratelim_tree	 tree;
	size_t			 n;
	size_t			 max;
};
void	 ratelim_init(struct ratelim *, size_t);
/* 0 allowed; -1 limited, with the seconds until the window closes */
int	 ratelim_hit(struct ratelim *, const char *, int64_t, uint32_t,
	    uint32_t, uint32_t *);
void	 ratelim_expire(struct ratelim *, int64_t, uint32_t);
void	 ratelim_clear(struct ratelim *);

/*
 * The heartbeat state machine.  Each function updates the entry and
 * returns 1 when the state changed, with the reason in reason.
 */
void	 peer_set_state(struct peer_entry *, int, int64_t);
/* an outbound round failed (error, timeout, bad signature) */
int	 peer_hb_missed(struct peer_entry *, uint32_t, uint32_t, int64_t,
	    const char *, char *, size_t);
/* an outbound round succeeded: missed = 0, active, RTT */
int	 peer_hb_good(struct peer_entry *, int64_t, uint32_t, char *, size_t);
/*
 * An outbound round answered 429: the peer is alive but limits us.
 * Such a round is "limited", neither good nor missed, while *limited
 * (the rounds limited in a row) is below bound; returns 1 when this
 * round must count as missed after all.
 */
int	 peer_hb_limited(uint32_t *, uint32_t);
/* a valid inbound heartbeat: missed = 0, active, agent count */
int	 peer_hb_inbound(struct peer_entry *, int64_t, int64_t, char *,
	    size_t);
/*
 * counts toward `max peers': active, suspended, and pending rows that
 * are ours (proposed by our operator) or being activated; not inbound
 * requests awaiting our operator (`max pending' bounds those)
 */
int	 peer_counts(const struct peer_entry *);
/* an inbound handshake not yet confirmed */
int	 peer_unconfirmed(const struct peer_entry *);
/* an inbound request confirmed and awaiting our operator */
int	 peer_awaiting_us(const struct peer_entry *);

/*
 * The decision on an inbound propose, in the reference's order with
 * relayd's additions: self-propose 400, federation disabled 403, spec
 * major version 403, block list and blocked rows 403, pinned key 403,
 * max peers 503, handshakes from the same source prefix 429, handshakes
 * in progress 503, an active or pending row 409, the cool-down after a
 * removal 429.  Every 503 and 429 carries retry_after.  The relay-wide
 * `handshake limit' is charged before (the proposed id is not
 * authenticated, so nothing is charged to it).  Returns 0 when the
 * propose may proceed, else the HTTP status with res filled (error,
 * retry_after) and *authfail set to an AUTH_FAIL_*, to PROPOSE_LIMITED
 * when a limit refused, or to -1.
 */
#define PROPOSE_LIMITED	AUTH_FAIL_MAX
struct propose_env {
	const char		*own_id;
	const char		*own_key;	/* this relay's public key, hex */
	const char		*key_owner;	/* another relay id pinned to */
						/* the proposed key, or NULL */
	int			 enabled;	/* federation enabled */
	const struct fedrules	*rules;
	uint32_t		 max_peers;
	uint32_t		 npeers;	/* peer_counts() rows */
	uint32_t		 nhandshakes;	/* peer_unconfirmed() rows */
	uint32_t		 nsrc_handshakes;	/* ... from its prefix */
};
struct propose_old {
	const struct peer_entry	*e;	/* NULL: unknown relay */
	int64_t			 cooldown_until;
};
int	 propose_check(const struct propose_env *, const struct fed_propose *,
	    const struct propose_old *, int64_t, struct fed_result *, int *);

/*
 * Signed answers a peer sends us, checked against its pinned key.  Each
 * returns 0 when valid, else -1 with the reason in err.
 *
 * hb_body_verify: a heartbeat (request or response) {relay_id,
 * timestamp, agent_count, signature} from relay id, signature over
 * "{relay_id}|{timestamp}|motebit-concat-ed25519-hex-v1", timestamp
 * within +-5 minutes of now.  *agents gets agent_count (-1 if absent).
 *
 * challenge_verify: the responder's propose challenge over
 * "{own_id}:{our nonce}:motebit-concat-ed25519-hex-v1".
 *
 * metadata_verify: /.well-known/motebit.json, hex signature over
 * JCS(document minus signature), naming relay id; *fee_ppm gets
 * fee_rate in parts per million.
 */
int	 hb_body_verify(const json_t *, const char *, const char *, int64_t,
	    int64_t *, char *, size_t);
int	 challenge_verify(const char *, const char *, const char *,
	    const char *);
int	 metadata_verify(const json_t *, const char *, const char *,
	    uint32_t *, char *, size_t);
/*
 * The outbound endpoint policy (struct cfg_endpoint).  ep_class names
 * what an address is; public addresses are always allowed, reserved
 * ones (unspecified, multicast, broadcast, documentation, IPv4-
 * compatible IPv6) never, the others only when the config allows their
 * class.  IPv4-mapped, NAT64 (64:ff9b::/96) and 6to4 addresses are
 * judged by the IPv4 address inside.
 */
#define EP_CLASS_PUBLIC		0
#define EP_CLASS_LOOPBACK	1
#define EP_CLASS_LINKLOCAL	2
#define EP_CLASS_PRIVATE	3
#define EP_CLASS_METADATA	4
#define EP_CLASS_RESERVED	5
struct sockaddr;
int	 ep_class(const struct sockaddr *);
const char *ep_class_name(int);
/* scheme, port and, for an address literal, its class: 0 or -1 + err */
int	 ep_check_url(const struct cfg_endpoint *, const struct peer_url *,
	    char *, size_t);
/* one resolved address: 0 or -1 + err */
int	 ep_check_addr(const struct cfg_endpoint *, const struct sockaddr *,
	    char *, size_t);

/* 1 when s is 128 lowercase hex digits */
int	 sighex_valid(const char *);

/* text_clean(): common/validate.h */

/* "12.3s", "250ms" */
void	 fmt_ms(int64_t, char *, size_t);

#endif /* RELAYD_PEERSTATE_H */
