/*
 * Signed agent tokens, suite motebit-jwt-ed25519-v1 (wire notes 2.3):
 *
 *	base64url(payload_bytes) "." base64url(Ed25519(payload_bytes))
 *
 * payload_bytes is whatever JSON the agent produced; the signature is
 * checked over exactly those bytes, no canonicalisation.  The payload is
 * a JSON object {mid, did, iat?, exp, jti, aud, suite}: mid the
 * motebit_id, did the device_id, iat and exp epoch milliseconds, jti a
 * single-use id, aud the audience, suite "motebit-jwt-ed25519-v1".
 *
 * Pure functions, no I/O: agent_token_parse() reads an Authorization
 * header value, agent_token_claims() checks expiry, lifetime and
 * audience against a clock and a route's audience, agent_token_verify()
 * checks the signature with the device key ledgerd returned.  The jti is
 * consumed by ledgerd, in the transaction of the change it authorises.
 * Every refusal has a code (agtok_err) with its HTTP status and a
 * message naming it.
 */
#ifndef RELAYD_AGENT_TOKEN_H
#define RELAYD_AGENT_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "relayd_imsg.h"

#define AGTOK_SUITE_NAME	"motebit-jwt-ed25519-v1"
#define AGTOK_LEN_MAX		4096	/* token characters */
#define AGTOK_PAYLOAD_MAX	2048	/* decoded payload bytes */
#define AGTOK_AUD_MAX		64
/* exp - now: a day, as the reference's long-lived tokens, and 5 min skew */
#define AGTOK_LIFETIME_MAX	((24LL * 60 + 5) * 60 * 1000)
#define AGTOK_JS_INT_MAX	9007199254740991LL

/* Audiences of the routes (wire notes 7.1) */
#define AGTOK_AUD_ADMIN		"admin:query"
#define AGTOK_AUD_LISTING	"market:listing"

enum agtok_err {
	AGTOK_OK = 0,
	AGTOK_MISSING,		/* no Authorization: Bearer */
	AGTOK_MALFORMED,	/* not two base64url parts of JSON */
	AGTOK_SUITE,		/* suite absent or another */
	AGTOK_CLAIMS,		/* mid, did, exp, jti or aud bad */
	AGTOK_EXPIRED,		/* exp <= now */
	AGTOK_LIFETIME,		/* exp too far ahead */
	AGTOK_AUDIENCE,		/* not the route's audience */
	AGTOK_UNKNOWN_DEVICE,	/* no key for (did, mid) */
	AGTOK_BAD_SIGNATURE,	/* does not verify with the device key */
	AGTOK_MAX
};

struct agent_token {
	char		 mid[AGENT_ID_MAX];
	char		 did[AG_DEVICE_MAX];
	char		 jti[AG_JTI_MAX];
	char		 aud[AGTOK_AUD_MAX];
	int64_t		 iat;		/* 0: absent */
	int64_t		 exp;
	uint8_t		 payload[AGTOK_PAYLOAD_MAX];
	size_t		 payloadlen;
	uint8_t		 sig[ED25519_SIG_LEN];
};

/*
 * Parses an Authorization header value (NULL: absent) into tok.  Returns
 * AGTOK_OK or the refusal, with details in err.
 */
enum agtok_err	 agent_token_parse(const char *, struct agent_token *,
		    char *, size_t);
/* Expiry at now (ms), lifetime, audience; err names what failed. */
enum agtok_err	 agent_token_claims(const struct agent_token *, int64_t,
		    const char *, char *, size_t);
/* Signature with the 64-hex device key: AGTOK_OK or BAD_SIGNATURE. */
enum agtok_err	 agent_token_verify(const struct agent_token *,
		    const char *);
/* The HTTP status of a refusal (401 or 403) and its short name. */
int		 agent_token_status(enum agtok_err);
const char	*agent_token_errname(enum agtok_err);

/* Identifier syntax shared with the request checks (agent_body.c). */
int		 agent_id_ok(const char *, size_t);

#endif /* RELAYD_AGENT_TOKEN_H */
