/*
 * Signed agent tokens (agent_token.h).  relayd is stricter than the
 * reference, which decodes hex and base64 leniently and checks only that
 * jti and aud are non-empty: here the token is two base64url parts
 * (padding refused), the payload is strict JSON (jcs_parse) and every
 * claim has its type and bounds.
 */
#include "config.h"

#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "agent_token.h"
#include "crypto.h"
#include "encoding.h"
#include "jcs.h"

static const struct {
	int		 status;
	const char	*name;
} agtok_errs[AGTOK_MAX] = {
	[AGTOK_OK] =		{ 200, "ok" },
	[AGTOK_MISSING] =	{ 401, "token_missing" },
	[AGTOK_MALFORMED] =	{ 401, "token_malformed" },
	[AGTOK_SUITE] =		{ 401, "token_suite" },
	[AGTOK_CLAIMS] =	{ 401, "token_claims" },
	[AGTOK_EXPIRED] =	{ 401, "token_expired" },
	[AGTOK_LIFETIME] =	{ 401, "token_lifetime" },
	[AGTOK_AUDIENCE] =	{ 403, "wrong_audience" },
	[AGTOK_UNKNOWN_DEVICE] = { 401, "unknown_device" },
	[AGTOK_BAD_SIGNATURE] =	{ 401, "bad_signature" },
};

int
agent_token_status(enum agtok_err e)
{
	if (e < 0 || e >= AGTOK_MAX)
		return (401);
	return (agtok_errs[e].status);
}

const char *
agent_token_errname(enum agtok_err e)
{
	if (e < 0 || e >= AGTOK_MAX)
		return ("token_error");
	return (agtok_errs[e].name);
}

/*
 * motebit_id and device_id: 1 to max - 1 bytes of letters, digits and
 * "._:-" (UUIDs, did:key strings and the like).  The colon is allowed
 * (did:key ids); "|" and "," and spaces are not, so an id can never
 * change the meaning of a signed template or a list.
 */
int
agent_id_ok(const char *s, size_t max)
{
	size_t	 i;

	if (s == NULL || s[0] == '\0')
		return (0);
	for (i = 0; s[i] != '\0'; i++) {
		if (i + 1 >= max)
			return (0);
		if ((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '.' || s[i] == '_' || s[i] == ':' || s[i] == '-')
			continue;
		return (0);
	}
	return (1);
}

static int
b64url_chars(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0)
		return (0);
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		    s[i] == '_'))
			return (0);
	return (1);
}

/* A non-empty string member of at most max - 1 bytes into out. */
static int
claim_str(const json_t *o, const char *key, char *out, size_t max)
{
	const json_t	*v = json_object_get(o, key);

	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) >= max ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return (-1);
	strlcpy(out, json_string_value(v), max);
	return (0);
}

/* An integer member in [1, 2^53 - 1]; absent is 0 when optional. */
static int
claim_ms(const json_t *o, const char *key, int optional, int64_t *out)
{
	const json_t	*v = json_object_get(o, key);

	*out = 0;
	if (v == NULL && optional)
		return (0);
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > AGTOK_JS_INT_MAX)
		return (-1);
	*out = json_integer_value(v);
	return (0);
}

enum agtok_err
agent_token_parse(const char *hdr, struct agent_token *tok, char *err,
    size_t errlen)
{
	const char	*t, *dot, *s;
	json_t		*o;
	char		 msg[128];
	size_t		 len, plen, slen;
	int		 n;

	memset(tok, 0, sizeof(*tok));
	if (hdr == NULL || strncasecmp(hdr, "Bearer ", 7) != 0) {
		snprintf(err, errlen, "an agent token is required "
		    "(Authorization: Bearer)");
		return (AGTOK_MISSING);
	}
	for (t = hdr + 7; *t == ' '; t++)
		;
	len = strlen(t);
	if (len == 0 || len > AGTOK_LEN_MAX) {
		snprintf(err, errlen, "token is empty or longer than %d "
		    "characters", AGTOK_LEN_MAX);
		return (AGTOK_MALFORMED);
	}
	if ((dot = strchr(t, '.')) == NULL || strchr(dot + 1, '.') != NULL) {
		snprintf(err, errlen, "token is not payload.signature");
		return (AGTOK_MALFORMED);
	}
	plen = dot - t;
	s = dot + 1;
	slen = len - plen - 1;
	if (!b64url_chars(t, plen) || !b64url_chars(s, slen)) {
		snprintf(err, errlen, "token parts are not base64url "
		    "without padding");
		return (AGTOK_MALFORMED);
	}
	if ((n = b64url_decode(t, plen, tok->payload,
	    sizeof(tok->payload))) <= 0) {
		snprintf(err, errlen, "token payload does not decode (at "
		    "most %d bytes)", AGTOK_PAYLOAD_MAX);
		return (AGTOK_MALFORMED);
	}
	tok->payloadlen = n;
	if (slen != B64URL_LEN(ED25519_SIG_LEN) ||
	    b64url_decode(s, slen, tok->sig, sizeof(tok->sig)) !=
	    ED25519_SIG_LEN) {
		snprintf(err, errlen, "token signature is not 64 bytes");
		return (AGTOK_MALFORMED);
	}
	if ((o = jcs_parse((const char *)tok->payload, tok->payloadlen, msg,
	    sizeof(msg))) == NULL || !json_is_object(o)) {
		snprintf(err, errlen, "token payload is not a JSON object%s%s",
		    o == NULL ? ": " : "", o == NULL ? msg : "");
		json_decref(o);
		return (AGTOK_MALFORMED);
	}
	if (!json_is_string(json_object_get(o, "suite")) ||
	    strcmp(json_string_value(json_object_get(o, "suite")),
	    AGTOK_SUITE_NAME) != 0) {
		json_decref(o);
		snprintf(err, errlen, "token suite must be " AGTOK_SUITE_NAME);
		return (AGTOK_SUITE);
	}
	if (claim_str(o, "mid", tok->mid, sizeof(tok->mid)) == -1 ||
	    !agent_id_ok(tok->mid, sizeof(tok->mid)))
		snprintf(err, errlen, "mid must be a motebit_id");
	else if (claim_str(o, "did", tok->did, sizeof(tok->did)) == -1 ||
	    !agent_id_ok(tok->did, sizeof(tok->did)))
		snprintf(err, errlen, "did must be a device_id");
	else if (claim_ms(o, "exp", 0, &tok->exp) == -1)
		snprintf(err, errlen, "exp must be an integer (epoch ms)");
	else if (claim_ms(o, "iat", 1, &tok->iat) == -1)
		snprintf(err, errlen, "iat must be an integer (epoch ms)");
	else if (claim_str(o, "jti", tok->jti, sizeof(tok->jti)) == -1 ||
	    !agent_id_ok(tok->jti, sizeof(tok->jti)))
		snprintf(err, errlen, "jti must be a non-empty id of at most "
		    "%d characters", AG_JTI_MAX - 1);
	else if (claim_str(o, "aud", tok->aud, sizeof(tok->aud)) == -1)
		snprintf(err, errlen, "aud must be a non-empty string of at "
		    "most %d bytes", AGTOK_AUD_MAX - 1);
	else {
		json_decref(o);
		return (AGTOK_OK);
	}
	json_decref(o);
	return (AGTOK_CLAIMS);
}

enum agtok_err
agent_token_claims(const struct agent_token *tok, int64_t now,
    const char *aud, char *err, size_t errlen)
{
	if (tok->exp <= now) {
		snprintf(err, errlen, "token expired at %" PRId64
		    " (now %" PRId64 ")", tok->exp, now);
		return (AGTOK_EXPIRED);
	}
	if (tok->exp - now > AGTOK_LIFETIME_MAX) {
		snprintf(err, errlen, "token expires more than 24 hours "
		    "(and 5 minutes) from now");
		return (AGTOK_LIFETIME);
	}
	if (strcmp(tok->aud, aud) != 0) {
		snprintf(err, errlen, "token audience is \"%.60s\"; this "
		    "route needs \"%s\"", tok->aud, aud);
		return (AGTOK_AUDIENCE);
	}
	return (AGTOK_OK);
}

enum agtok_err
agent_token_verify(const struct agent_token *tok, const char *keyhex)
{
	uint8_t	 pub[ED25519_PUB_LEN];

	if (keyhex == NULL || hex_decode(keyhex, pub, sizeof(pub)) == -1)
		return (AGTOK_BAD_SIGNATURE);
	if (ed25519_verify(pub, tok->payload, tok->payloadlen,
	    tok->sig) == -1)
		return (AGTOK_BAD_SIGNATURE);
	return (AGTOK_OK);
}
