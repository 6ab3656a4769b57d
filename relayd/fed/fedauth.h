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
#include <sys/tree.h>

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "crypto.h"
#include "relayd_imsg.h"

#define FEDAUTH_WINDOW_MS	(5 * 60 * 1000)	/* +-5 minutes */
#define FEDAUTH_JS_INT_MAX	9007199254740991LL	/* 2^53 - 1 */
#define FEDAUTH_SPEC_MAJOR	"1"	/* motebit/relay-federation@1.x */

/*
 * The per-IP limit, checked before anything else on every federation
 * route (before authentication, so it is cheap): a fixed window of
 * FEDLIMIT_WINDOW_MS shared by all addresses, at most FEDLIMIT_MAX
 * requests per address and window in each frontend instance (so
 * prefork x FEDLIMIT_MAX per relay).  The address is the TCP peer's;
 * X-Forwarded-For is not believed.  At most FEDLIMIT_ADDRS addresses are
 * counted one by one in a window; further addresses share one counter.
 * The authenticated per-peer limit (`rate limit') is the peer engine's.
 */
#define FEDLIMIT_MAX		300
#define FEDLIMIT_WINDOW_MS	(60 * 1000)
#define FEDLIMIT_ADDRS		16384

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
int	 fedauth_nonce_ok(const char *);
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

/* The per-IP limiter. */
struct fedlimit_addr {
	RB_ENTRY(fedlimit_addr)	 entry;
	uint32_t		 count;
	char			 addr[64];
};
RB_HEAD(fedlimit_tree, fedlimit_addr);
int	 fedlimit_cmp(const struct fedlimit_addr *,
	    const struct fedlimit_addr *);
RB_PROTOTYPE(fedlimit_tree, fedlimit_addr, entry, fedlimit_cmp)

struct fedlimit {
	struct fedlimit_tree	 addrs;
	size_t			 naddrs;
	uint32_t		 overflow;	/* shared by the rest */
	int64_t			 window;	/* start (ms), 0: none */
};

void	 fedlimit_init(struct fedlimit *);
void	 fedlimit_clear(struct fedlimit *);
/*
 * Counts a request from addr at now (ms).  0 when allowed; else -1 with
 * the seconds until the window ends in *retry (at least 1).
 */
int	 fedlimit_check(struct fedlimit *, const char *, int64_t,
	    uint32_t *);

#endif /* RELAYD_FEDAUTH_H */
