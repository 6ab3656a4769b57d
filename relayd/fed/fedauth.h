/*
 * Checks on inbound federation requests, without I/O or process state:
 * the field checks of propose and confirm, the one authentication path
 * of every signed federation request, and the per-IP request limiter.
 * The frontend's handlers (fe_fed.c) call these; the unit test and the
 * fuzz target drive them directly.
 *
 * Authentication styles (PROTOCOL.md section 1), both accepted:
 *
 * body		the reference's: the signature is a member of the body,
 *		lowercase hex (either case is read):
 *		  heartbeat	Ed25519 over "{relay_id}|{timestamp}|
 *				motebit-concat-ed25519-hex-v1"
 *		  remove (legacy) over the UTF-8 bytes of relay_id
 *		  remove-v2, accepted over JCS(body minus "signature")
 * header	X-Relay-Id, X-Relay-Timestamp (epoch ms, decimal digits) and
 *		X-Relay-Signature (base64url of the 64 signature bytes, no
 *		padding) over JCS(body).  The body then has no "signature"
 *		member and must name the same relay (relay_id) and carry the
 *		same timestamp, so the signature covers the time.  A legacy
 *		removal has no timestamp and cannot use headers.  A GET has
 *		no body: the signature covers the UTF-8 bytes of
 *		"{METHOD} {path} {timestamp}", e.g.
 *		"GET /federation/v1/peers 1760000000000".
 *
 * Every timestamp must be within FEDAUTH_WINDOW_MS of the receiver's
 * clock (400 otherwise, as the reference answers heartbeat drift).  The
 * signer's key always comes from the peer table, never from the message.
 * Signatures are handed on as lowercase hex of the raw bytes whatever
 * their encoding on the wire, so the peer engine's replay cache sees one
 * signature however it was spelled.
 */
#ifndef RELAYD_FEDAUTH_H
#define RELAYD_FEDAUTH_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "crypto.h"
#include "relayd_imsg.h"
#include "validate.h"

#define FEDAUTH_WINDOW_MS	(5 * 60 * 1000)	/* +-5 minutes */
#define FEDAUTH_JS_INT_MAX	9007199254740991LL	/* 2^53 - 1 */
#define FEDAUTH_SPEC_MAJOR	"1"	/* motebit/relay-federation@1.x */

/*
 * The per-IP limit of unauthenticated federation requests: propose,
 * confirm, the peer list without a peer's signature, and every signed
 * request whose authentication failed.  A request signed by a peer in
 * the table is never charged here (the peer engine charges the peer's
 * own budget), so traffic from its address that it did not send cannot
 * starve it.  Each address has a fixed window of FEDLIMIT_WINDOW_MS
 * opened by its first request and at most FEDLIMIT_MAX requests in it,
 * and so has its prefix (/24 for IPv4, /56 for IPv6; IPv4-mapped
 * addresses count as IPv4) with FEDLIMIT_PREFIX_MAX; in each frontend
 * instance.  The address is the TCP peer's; X-Forwarded-For is not
 * believed.  Both tables are bounded and evict the least recently used
 * entry whose window has ended; an address that finds its table full of
 * live windows is counted by its prefix alone (the prefix table evicts
 * its least recently used entry whatever its window), so a flood of
 * fresh addresses degrades to prefix limiting, never to refusing
 * everyone.
 */
#define FEDLIMIT_MAX		300
#define FEDLIMIT_PREFIX_MAX	1200
#define FEDLIMIT_WINDOW_MS	(60 * 1000)
#define FEDLIMIT_ADDRS		16384
#define FEDLIMIT_PREFIXES	4096

/* What a signed request is (selects the body's shape). */
enum fedauth_kind {
	FEDAUTH_HEARTBEAT = 0,
	FEDAUTH_REMOVE,
	FEDAUTH_ACCEPTED
};

/* How it is signed. */
enum fedauth_style {
	FEDAUTH_NONE = 0,
	FEDAUTH_TEMPLATE,	/* heartbeat template, hex in the body */
	FEDAUTH_BAREID,		/* legacy removal, hex in the body */
	FEDAUTH_JCS,		/* hex over JCS(body minus signature) */
	FEDAUTH_HEADER		/* X-Relay-*: base64url over JCS(body) */
};

/* A request's credentials, once parsed. */
struct fedauth_cred {
	enum fedauth_style	 style;
	char			 signer[RELAY_ID_MAX];
	int64_t			 timestamp;	/* 0: legacy */
	int64_t			 agent_count;	/* heartbeat */
	uint8_t			 sig[ED25519_SIG_LEN];
	char			 sighex[SIG_HEX_MAX];	/* lowercase */
};

/* Field checks: 0, or the HTTP status to answer with a message. */
int	 fedauth_propose(const json_t *, const char *, int,
	    struct fed_propose *, char *, size_t);
int	 fedauth_confirm(const json_t *, const char *, int,
	    struct fed_confirm *, char *, size_t);
int	 fedauth_spec_major_ok(const char *);
int	 fedauth_url_ok(const char *);

/*
 * X-Relay-Id, X-Relay-Timestamp, X-Relay-Signature as received (NULL:
 * absent).  0: none of them; 1: parsed into cred (style HEADER); -1:
 * malformed or incomplete, with a message.
 */
int	 fedauth_headers(const char *, const char *, const char *,
	    struct fedauth_cred *, char *, size_t);
/*
 * The body of a signed POST of a kind.  cred holds the parsed headers
 * (style HEADER) or is zero; own is this relay's id.  0, or -1 (400)
 * with a message; on success cred names the signer, the timestamp and
 * the signature.
 */
int	 fedauth_parse(enum fedauth_kind, const json_t *, const char *,
	    struct fedauth_cred *, char *, size_t);
/* 1 if ts is within FEDAUTH_WINDOW_MS of now */
int	 fedauth_fresh(int64_t, int64_t);
/* 0 if cred's signature over body verifies with the hex key */
int	 fedauth_verify(const json_t *, const struct fedauth_cred *,
	    const char *);

/* The signing inputs, one each; 0 verifies, -1 does not. */
int	 fedauth_verify_heartbeat(const char *, int64_t,
	    const uint8_t [ED25519_SIG_LEN], const char *);
int	 fedauth_verify_bareid(const char *, const uint8_t [ED25519_SIG_LEN],
	    const char *);
int	 fedauth_verify_jcs(const json_t *, int,
	    const uint8_t [ED25519_SIG_LEN], const char *);
int	 fedauth_verify_handshake(const char *, const char *,
	    const uint8_t [ED25519_SIG_LEN], const char *);
int	 fedauth_verify_get(const char *, const char *, int64_t,
	    const uint8_t [ED25519_SIG_LEN], const char *);

/*
 * "192.0.2.0/24" for "192.0.2.77", "2001:db8:0:ff00::/56" for an IPv6
 * address; 0, or -1 (not an address: the text itself is the key).
 */
int	 fedauth_prefix(const char *, char *, size_t);

/* The per-IP limiter. */
struct fedlimit_ent {
	RB_ENTRY(fedlimit_ent)	 entry;
	TAILQ_ENTRY(fedlimit_ent) lru;
	int64_t			 start;
	uint32_t		 count;
	char			 key[64];
};
RB_HEAD(fedlimit_tree, fedlimit_ent);
TAILQ_HEAD(fedlimit_lru, fedlimit_ent);
int	 fedlimit_cmp(const struct fedlimit_ent *,
	    const struct fedlimit_ent *);
RB_PROTOTYPE(fedlimit_tree, fedlimit_ent, entry, fedlimit_cmp)

struct fedlimit_tab {
	struct fedlimit_tree	 tree;
	struct fedlimit_lru	 lru;	/* least recently used first */
	size_t			 n;
	size_t			 max;
	uint32_t		 limit;
};

struct fedlimit {
	struct fedlimit_tab	 addrs;
	struct fedlimit_tab	 prefixes;
	uint64_t		 prefix_only;	/* counted by prefix alone */
};

void	 fedlimit_init(struct fedlimit *);
void	 fedlimit_clear(struct fedlimit *);
/*
 * Counts a request from addr at now (ms).  0 when allowed; else -1 with
 * the seconds until the window that refused ends in *retry (at least 1).
 */
int	 fedlimit_check(struct fedlimit *, const char *, int64_t,
	    uint32_t *);
/* the entry for a key (address or prefix), or NULL */
const struct fedlimit_ent *fedlimit_find(const struct fedlimit_tab *,
	    const char *);

#endif /* RELAYD_FEDAUTH_H */
