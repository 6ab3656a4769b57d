/*
 * Checks on inbound federation requests: fields, signatures, the per-IP
 * limiter.  Pure; see fedauth.h.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/tree.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypto.h"
#include "encoding.h"
#include "fedauth.h"
#include "jcs.h"

#define FEDAUTH_MSG_MAX		(RELAY_ID_MAX + NONCE_MAX + 64)

static int	 ferr(int, char *, size_t, const char *, ...)
		    __attribute__((__format__ (printf, 4, 5)));
RB_GENERATE(fedlimit_tree, fedlimit_ent, entry, fedlimit_cmp)

static int
ferr(int status, char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return (status);
}

/* A member that is there and not null (the reference's "present"). */
static json_t *
member(const json_t *o, const char *key)
{
	json_t	*v;

	if ((v = json_object_get(o, key)) == NULL || json_is_null(v))
		return (NULL);
	return (v);
}

/* An integer from 0 to 2^53 - 1, as JS senders can write it. */
static int
js_uint(const json_t *v, int64_t *out)
{
	json_int_t	 i;

	if (!json_is_integer(v))
		return (0);
	i = json_integer_value(v);
	if (i < 0 || i > FEDAUTH_JS_INT_MAX)
		return (0);
	*out = (int64_t)i;
	return (1);
}

/* Exactly len hex digits of either case into out, lowercased. */
static int
hex_lower(const char *s, size_t len, char *out, size_t outlen)
{
	size_t	 i;

	if (outlen <= len || strlen(s) != len)
		return (0);
	for (i = 0; i < len; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			out[i] = s[i];
		else if (s[i] >= 'a' && s[i] <= 'f')
			out[i] = s[i];
		else if (s[i] >= 'A' && s[i] <= 'F')
			out[i] = s[i] - 'A' + 'a';
		else
			return (0);
	}
	out[len] = '\0';
	return (1);
}

/* A hex signature into raw bytes and its lowercase spelling. */
static int
sig_from_hex(const char *s, struct fedauth_cred *c)
{
	if (!hex_lower(s, 2 * ED25519_SIG_LEN, c->sighex, sizeof(c->sighex)))
		return (0);
	return (hex_decode(c->sighex, c->sig, sizeof(c->sig)) == 0);
}

/*
 * The reference compares the major version it finds with /@(\d+)\./
 * (the first match) to its own; leading zeros do not count, as with
 * parseInt.  A version without a match cannot be shown compatible.
 */
int
fedauth_spec_major_ok(const char *s)
{
	const char	*p, *d;
	size_t		 n;

	for (p = strchr(s, '@'); p != NULL; p = strchr(p + 1, '@')) {
		d = p + 1;
		n = strspn(d, "0123456789");
		if (n == 0 || d[n] != '.')
			continue;
		while (n > 1 && *d == '0') {
			d++;
			n--;
		}
		return (n == strlen(FEDAUTH_SPEC_MAJOR) &&
		    strncmp(d, FEDAUTH_SPEC_MAJOR, n) == 0);
	}
	return (0);
}

/*
 * An endpoint URL a peer advertises: http:// or https://, a host, at
 * most RELAY_URL_MAX - 1 printable characters without spaces (keyd's
 * rule for the endpoints it signs into federation_peers).
 */
int
fedauth_url_ok(const char *s)
{
	size_t	 skip;

	if (!token_valid(s, RELAY_URL_MAX - 1))
		return (0);
	if (strncmp(s, "https://", 8) == 0)
		skip = 8;
	else if (strncmp(s, "http://", 7) == 0)
		skip = 7;
	else
		return (0);
	return (!(s[skip] == '\0' || s[skip] == '/' || s[skip] == '?' ||
	    s[skip] == '#'));
}

/*
 * POST /federation/v1/peer/propose, in the reference's order (section
 * 4.2): relay_id and public_key, endpoint_url, nonce present (400);
 * federation enabled (403); spec major version (403); then relayd's own
 * checks: a proposal naming this relay (400, the self-propose oracle is
 * closed) and the formats (400).  Allow/block lists, max peers, known
 * ids, key pinning and the cool-down are the peer engine's.
 */
int
fedauth_propose(const json_t *b, const char *own, int enabled,
    struct fed_propose *fp, char *err, size_t errlen)
{
	json_t		*rid, *pk, *url, *name, *nonce, *spec;
	const char	*s;

	memset(fp, 0, sizeof(*fp));
	if (!json_is_object(b))
		return (ferr(400, err, errlen, "JSON object required"));
	rid = member(b, "relay_id");
	pk = member(b, "public_key");
	url = member(b, "endpoint_url");
	nonce = member(b, "nonce");
	name = member(b, "display_name");
	spec = member(b, "spec_version");
	if (rid == NULL || pk == NULL)
		return (ferr(400, err, errlen,
		    "relay_id and public_key are required"));
	if (url == NULL)
		return (ferr(400, err, errlen, "endpoint_url is required"));
	if (nonce == NULL)
		return (ferr(400, err, errlen, "nonce is required"));
	if (!enabled)
		return (ferr(403, err, errlen,
		    "Federation is disabled on this relay"));
	/* the reference ignores a missing or empty spec_version */
	if (spec != NULL) {
		if (!json_is_string(spec))
			return (ferr(400, err, errlen,
			    "spec_version must be a string"));
		s = json_string_value(spec);
		if (s[0] != '\0' && !fedauth_spec_major_ok(s))
			return (ferr(403, err, errlen, "Incompatible spec "
			    "version %.64s: this relay speaks %s", s,
			    RELAYD_SPEC_VERSION));
		if (strlcpy(fp->spec_version, s, sizeof(fp->spec_version)) >=
		    sizeof(fp->spec_version))
			return (ferr(400, err, errlen,
			    "spec_version too long"));
	}
	if (!json_is_string(rid) || !relay_id_valid(json_string_value(rid)))
		return (ferr(400, err, errlen,
		    "relay_id is not a valid relay id"));
	if (strcmp(json_string_value(rid), own) == 0)
		return (ferr(400, err, errlen, "a proposal naming this "
		    "relay itself is refused"));
	strlcpy(fp->relay_id, json_string_value(rid), sizeof(fp->relay_id));
	if (!json_is_string(pk) || !hex_lower(json_string_value(pk),
	    2 * ED25519_PUB_LEN, fp->public_key, sizeof(fp->public_key)))
		return (ferr(400, err, errlen,
		    "public_key must be 64 hex digits"));
	if (!json_is_string(url) || !fedauth_url_ok(json_string_value(url)))
		return (ferr(400, err, errlen, "endpoint_url must be an http "
		    "or https URL of at most %d printable characters",
		    RELAY_URL_MAX - 1));
	strlcpy(fp->endpoint, json_string_value(url), sizeof(fp->endpoint));
	if (name != NULL) {
		if (!json_is_string(name) || !text_valid(json_string_value(name),
		    json_string_length(name), RELAY_NAME_MAX - 1))
			return (ferr(400, err, errlen, "display_name must be "
			    "text of 1 to %d bytes", RELAY_NAME_MAX - 1));
		strlcpy(fp->display_name, json_string_value(name),
		    sizeof(fp->display_name));
	}
	if (!json_is_string(nonce) || !nonce_valid(
	    json_string_value(nonce)))
		return (ferr(400, err, errlen, "nonce must be 1 to %d "
		    "printable characters without ':' or '|'",
		    NONCE_TEXT_MAX));
	strlcpy(fp->nonce, json_string_value(nonce), sizeof(fp->nonce));
	return (0);
}

/*
 * POST /federation/v1/peer/confirm (section 4.3): both fields present
 * (400), federation enabled (403), then the formats (400).  The
 * challenge_response is verified by the peer engine, which holds the
 * responder nonce it signs.
 */
int
fedauth_confirm(const json_t *b, const char *own, int enabled,
    struct fed_confirm *fc, char *err, size_t errlen)
{
	json_t	*rid, *cr;

	memset(fc, 0, sizeof(*fc));
	if (!json_is_object(b))
		return (ferr(400, err, errlen, "JSON object required"));
	rid = member(b, "relay_id");
	cr = member(b, "challenge_response");
	if (rid == NULL || cr == NULL)
		return (ferr(400, err, errlen,
		    "relay_id and challenge_response are required"));
	if (!enabled)
		return (ferr(403, err, errlen,
		    "Federation is disabled on this relay"));
	if (!json_is_string(rid) || !relay_id_valid(json_string_value(rid)))
		return (ferr(400, err, errlen,
		    "relay_id is not a valid relay id"));
	if (strcmp(json_string_value(rid), own) == 0)
		return (ferr(400, err, errlen, "a confirmation naming this "
		    "relay itself is refused"));
	strlcpy(fc->relay_id, json_string_value(rid), sizeof(fc->relay_id));
	if (!json_is_string(cr) || !hex_lower(json_string_value(cr),
	    2 * ED25519_SIG_LEN, fc->challenge_response,
	    sizeof(fc->challenge_response)))
		return (ferr(400, err, errlen,
		    "challenge_response must be 128 hex digits"));
	return (0);
}

/*
 * Header credentials.
 */

/* Epoch milliseconds: 1 to 16 decimal digits, no sign, no leading 0. */
static int
header_ms(const char *s, int64_t *out)
{
	size_t	 n;
	int64_t	 v = 0;

	n = strlen(s);
	if (n == 0 || n > 16 || strspn(s, "0123456789") != n ||
	    (n > 1 && s[0] == '0'))
		return (0);
	for (; *s != '\0'; s++)
		v = v * 10 + (*s - '0');
	if (v > FEDAUTH_JS_INT_MAX)
		return (0);
	*out = v;
	return (1);
}

int
fedauth_headers(const char *id, const char *ts, const char *sig,
    struct fedauth_cred *c, char *err, size_t errlen)
{
	size_t	 len;

	memset(c, 0, sizeof(*c));
	if (id == NULL && ts == NULL && sig == NULL)
		return (0);
	if (id == NULL || ts == NULL || sig == NULL) {
		ferr(-1, err, errlen, "X-Relay-Id, X-Relay-Timestamp and "
		    "X-Relay-Signature go together");
		return (-1);
	}
	if (!relay_id_valid(id)) {
		ferr(-1, err, errlen, "X-Relay-Id is not a valid relay id");
		return (-1);
	}
	if (!header_ms(ts, &c->timestamp)) {
		ferr(-1, err, errlen,
		    "X-Relay-Timestamp must be epoch milliseconds");
		return (-1);
	}
	len = strnlen(sig, B64URL_LEN(ED25519_SIG_LEN) + 3);
	if (len > B64URL_LEN(ED25519_SIG_LEN) + 2 ||
	    b64url_decode(sig, len, c->sig, sizeof(c->sig)) !=
	    ED25519_SIG_LEN) {
		ferr(-1, err, errlen, "X-Relay-Signature must be the "
		    "base64url encoding of 64 bytes");
		return (-1);
	}
	strlcpy(c->signer, id, sizeof(c->signer));
	hex_encode(c->sig, sizeof(c->sig), c->sighex);
	c->style = FEDAUTH_HEADER;
	return (1);
}

/*
 * Signed bodies.
 */

/*
 * The timestamped JCS bodies of relayd's extensions: exactly
 * {"action":action,"peer_relay_id":own,"relay_id":sender,"timestamp":ms}
 * plus "signature" unless the headers carry it.
 */
static int
parse_v2(const char *action, const json_t *b, const char *own,
    struct fedauth_cred *c, char *err, size_t errlen)
{
	static const char *const keys[] = {
		"action", "peer_relay_id", "relay_id", "timestamp",
		"signature"
	};
	const char	*k;
	json_t		*v;
	size_t		 i, nkeys;
	int64_t		 ts;

	nkeys = c->style == FEDAUTH_HEADER ? 4 : 5;
	json_object_foreach((json_t *)b, k, v) {
		for (i = 0; i < nkeys; i++)
			if (strcmp(k, keys[i]) == 0)
				break;
		if (i == nkeys)
			return (ferr(-1, err, errlen,
			    "unexpected member \"%.32s\"", k));
	}
	for (i = 0; i < nkeys; i++)
		if (json_object_get(b, keys[i]) == NULL)
			return (ferr(-1, err, errlen,
			    "\"%s\" is required", keys[i]));
	v = json_object_get(b, "action");
	if (!json_is_string(v) || strcmp(json_string_value(v), action) != 0)
		return (ferr(-1, err, errlen, "action must be \"%s\"",
		    action));
	v = json_object_get(b, "peer_relay_id");
	if (!json_is_string(v) || strcmp(json_string_value(v), own) != 0)
		return (ferr(-1, err, errlen,
		    "peer_relay_id does not name this relay"));
	v = json_object_get(b, "relay_id");
	if (!json_is_string(v) || !relay_id_valid(json_string_value(v)))
		return (ferr(-1, err, errlen,
		    "relay_id is not a valid relay id"));
	if (c->style == FEDAUTH_HEADER &&
	    strcmp(json_string_value(v), c->signer) != 0)
		return (ferr(-1, err, errlen,
		    "X-Relay-Id does not match relay_id"));
	strlcpy(c->signer, json_string_value(v), sizeof(c->signer));
	if (!js_uint(json_object_get(b, "timestamp"), &ts))
		return (ferr(-1, err, errlen,
		    "timestamp must be an integer (epoch milliseconds)"));
	if (c->style == FEDAUTH_HEADER) {
		if (ts != c->timestamp)
			return (ferr(-1, err, errlen,
			    "X-Relay-Timestamp does not match timestamp"));
		return (0);
	}
	c->timestamp = ts;
	v = json_object_get(b, "signature");
	if (!json_is_string(v) || !sig_from_hex(json_string_value(v), c))
		return (ferr(-1, err, errlen,
		    "signature must be 128 hex digits"));
	c->style = FEDAUTH_JCS;
	return (0);
}

/* Heartbeat (section 4.4): {relay_id, timestamp, agent_count, signature} */
static int
parse_heartbeat(const json_t *b, struct fedauth_cred *c, char *err,
    size_t errlen)
{
	json_t	*rid, *ts, *ac, *sig, *rev;
	int64_t	 t;
	int	 hdr = c->style == FEDAUTH_HEADER;

	rid = member(b, "relay_id");
	ts = member(b, "timestamp");
	ac = member(b, "agent_count");
	sig = member(b, "signature");
	if (hdr && json_object_get(b, "signature") != NULL)
		return (ferr(-1, err, errlen, "a body signed with "
		    "X-Relay-Signature has no signature member"));
	if (rid == NULL || ts == NULL || ac == NULL || (!hdr && sig == NULL))
		return (ferr(-1, err, errlen, "relay_id, timestamp, "
		    "agent_count and signature are required"));
	if (!json_is_string(rid) || !relay_id_valid(json_string_value(rid)))
		return (ferr(-1, err, errlen,
		    "relay_id is not a valid relay id"));
	if (hdr && strcmp(json_string_value(rid), c->signer) != 0)
		return (ferr(-1, err, errlen,
		    "X-Relay-Id does not match relay_id"));
	if (!js_uint(ts, &t))
		return (ferr(-1, err, errlen,
		    "timestamp must be an integer (epoch milliseconds)"));
	if (hdr && t != c->timestamp)
		return (ferr(-1, err, errlen,
		    "X-Relay-Timestamp does not match timestamp"));
	c->timestamp = t;
	if (!js_uint(ac, &c->agent_count))
		return (ferr(-1, err, errlen,
		    "agent_count must be a non-negative integer"));
	/* piggybacked revocations (section 4.16): no local agents yet */
	if ((rev = member(b, "revocations")) != NULL && !json_is_array(rev))
		return (ferr(-1, err, errlen, "revocations must be an array"));
	strlcpy(c->signer, json_string_value(rid), sizeof(c->signer));
	if (hdr)
		return (0);
	if (!json_is_string(sig) || !sig_from_hex(json_string_value(sig), c))
		return (ferr(-1, err, errlen,
		    "signature must be 128 hex digits"));
	c->style = FEDAUTH_TEMPLATE;
	return (0);
}

/*
 * Removal (section 4.5 and remove-v2): a body with "action", "timestamp"
 * or "peer_relay_id" is remove-v2, else the reference's legacy
 * {relay_id, signature}.
 */
static int
parse_remove(const json_t *b, const char *own, struct fedauth_cred *c,
    char *err, size_t errlen)
{
	json_t	*rid, *sig;

	if (c->style == FEDAUTH_HEADER ||
	    json_object_get(b, "action") != NULL ||
	    json_object_get(b, "timestamp") != NULL ||
	    json_object_get(b, "peer_relay_id") != NULL)
		return (parse_v2("remove", b, own, c, err, errlen));
	rid = member(b, "relay_id");
	sig = member(b, "signature");
	if (rid == NULL || sig == NULL)
		return (ferr(-1, err, errlen,
		    "relay_id and signature are required"));
	if (!json_is_string(rid) || !relay_id_valid(json_string_value(rid)))
		return (ferr(-1, err, errlen,
		    "relay_id is not a valid relay id"));
	strlcpy(c->signer, json_string_value(rid), sizeof(c->signer));
	if (!json_is_string(sig) || !sig_from_hex(json_string_value(sig), c))
		return (ferr(-1, err, errlen,
		    "signature must be 128 hex digits"));
	c->timestamp = 0;
	c->style = FEDAUTH_BAREID;
	return (0);
}

int
fedauth_parse(enum fedauth_kind kind, const json_t *b, const char *own,
    struct fedauth_cred *c, char *err, size_t errlen)
{
	if (c->style != FEDAUTH_HEADER)
		memset(c, 0, sizeof(*c));
	if (!json_is_object(b))
		return (ferr(-1, err, errlen, "JSON object required"));
	switch (kind) {
	case FEDAUTH_HEARTBEAT:
		return (parse_heartbeat(b, c, err, errlen));
	case FEDAUTH_REMOVE:
		return (parse_remove(b, own, c, err, errlen));
	case FEDAUTH_ACCEPTED:
		return (parse_v2("accepted", b, own, c, err, errlen));
	}
	return (ferr(-1, err, errlen, "unknown request kind"));
}

int
fedauth_fresh(int64_t ts, int64_t now)
{
	return (ts >= now - FEDAUTH_WINDOW_MS && ts <= now + FEDAUTH_WINDOW_MS);
}

/*
 * Verification.
 */

static int
verify_msg(const char *pubhex, const void *msg, size_t len,
    const uint8_t sig[ED25519_SIG_LEN])
{
	uint8_t	 pub[ED25519_PUB_LEN];

	if (pubhex == NULL || hex_decode(pubhex, pub, sizeof(pub)) == -1)
		return (-1);
	return (ed25519_verify(pub, msg, len, sig));
}

int
fedauth_verify_heartbeat(const char *relay_id, int64_t ts,
    const uint8_t sig[ED25519_SIG_LEN], const char *pubhex)
{
	char	 msg[FEDAUTH_MSG_MAX];

	if (msg_heartbeat(msg, sizeof(msg), relay_id, ts) == -1)
		return (-1);
	return (verify_msg(pubhex, msg, strlen(msg), sig));
}

int
fedauth_verify_bareid(const char *relay_id,
    const uint8_t sig[ED25519_SIG_LEN], const char *pubhex)
{
	return (verify_msg(pubhex, relay_id, strlen(relay_id), sig));
}

int
fedauth_verify_handshake(const char *relay_id, const char *nonce,
    const uint8_t sig[ED25519_SIG_LEN], const char *pubhex)
{
	char	 msg[FEDAUTH_MSG_MAX];

	if (msg_handshake(msg, sizeof(msg), relay_id, nonce) == -1)
		return (-1);
	return (verify_msg(pubhex, msg, strlen(msg), sig));
}

/* JCS(body), without its top-level "signature" when skip is set. */
int
fedauth_verify_jcs(const json_t *body, int skip,
    const uint8_t sig[ED25519_SIG_LEN], const char *pubhex)
{
	char	*tbs;
	size_t	 len;
	int	 r;

	if ((tbs = jcs_serialize(body, skip, &len)) == NULL)
		return (-1);
	r = verify_msg(pubhex, tbs, len, sig);
	free(tbs);
	return (r);
}

int
fedauth_verify_get(const char *method, const char *path, int64_t ts,
    const uint8_t sig[ED25519_SIG_LEN], const char *pubhex)
{
	char	 msg[512];
	int	 n;

	n = snprintf(msg, sizeof(msg), "%s %s %" PRId64, method, path, ts);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return (-1);
	return (verify_msg(pubhex, msg, (size_t)n, sig));
}

int
fedauth_verify(const json_t *body, const struct fedauth_cred *c,
    const char *pubhex)
{
	switch (c->style) {
	case FEDAUTH_TEMPLATE:
		return (fedauth_verify_heartbeat(c->signer, c->timestamp,
		    c->sig, pubhex));
	case FEDAUTH_BAREID:
		return (fedauth_verify_bareid(c->signer, c->sig, pubhex));
	case FEDAUTH_JCS:
		return (fedauth_verify_jcs(body, 1, c->sig, pubhex));
	case FEDAUTH_HEADER:
		return (fedauth_verify_jcs(body, 0, c->sig, pubhex));
	case FEDAUTH_NONE:
		break;
	}
	return (-1);
}

/*
 * The per-IP limiter.
 */

int
fedauth_prefix(const char *addr, char *out, size_t len)
{
	struct in_addr	 a4;
	struct in6_addr	 a6;
	char		 buf[INET6_ADDRSTRLEN];

	if (inet_pton(AF_INET, addr, &a4) == 1) {
		a4.s_addr &= htonl(0xffffff00);
	} else if (inet_pton(AF_INET6, addr, &a6) == 1) {
		if (IN6_IS_ADDR_V4MAPPED(&a6)) {
			memcpy(&a4, a6.s6_addr + 12, sizeof(a4));
			a4.s_addr &= htonl(0xffffff00);
		} else {
			/* /56: seven bytes */
			memset(a6.s6_addr + 7, 0, sizeof(a6.s6_addr) - 7);
			inet_ntop(AF_INET6, &a6, buf, sizeof(buf));
			snprintf(out, len, "%s/56", buf);
			return (0);
		}
	} else {
		strlcpy(out, addr, len);
		return (-1);
	}
	inet_ntop(AF_INET, &a4, buf, sizeof(buf));
	snprintf(out, len, "%s/24", buf);
	return (0);
}

int
fedlimit_cmp(const struct fedlimit_ent *a, const struct fedlimit_ent *b)
{
	return (strcmp(a->key, b->key));
}

static void
fedlimit_tab_init(struct fedlimit_tab *t, size_t max, uint32_t limit)
{
	RB_INIT(&t->tree);
	TAILQ_INIT(&t->lru);
	t->n = 0;
	t->max = max;
	t->limit = limit;
}

static void
fedlimit_drop(struct fedlimit_tab *t, struct fedlimit_ent *e)
{
	RB_REMOVE(fedlimit_tree, &t->tree, e);
	TAILQ_REMOVE(&t->lru, e, lru);
	t->n--;
	free(e);
}

static void
fedlimit_tab_clear(struct fedlimit_tab *t)
{
	struct fedlimit_ent	*e;

	while ((e = TAILQ_FIRST(&t->lru)) != NULL)
		fedlimit_drop(t, e);
}

void
fedlimit_init(struct fedlimit *l)
{
	memset(l, 0, sizeof(*l));
	fedlimit_tab_init(&l->addrs, FEDLIMIT_ADDRS, FEDLIMIT_MAX);
	fedlimit_tab_init(&l->prefixes, FEDLIMIT_PREFIXES,
	    FEDLIMIT_PREFIX_MAX);
}

void
fedlimit_clear(struct fedlimit *l)
{
	fedlimit_tab_clear(&l->addrs);
	fedlimit_tab_clear(&l->prefixes);
	l->prefix_only = 0;
}

static int
fedlimit_ended(const struct fedlimit_ent *e, int64_t now)
{
	return (now < e->start || now - e->start >= FEDLIMIT_WINDOW_MS);
}

const struct fedlimit_ent *
fedlimit_find(const struct fedlimit_tab *t, const char *key)
{
	struct fedlimit_ent	 k;

	if (strlcpy(k.key, key, sizeof(k.key)) >= sizeof(k.key))
		return (NULL);
	return (RB_FIND(fedlimit_tree, (struct fedlimit_tree *)&t->tree, &k));
}

/*
 * The entry for key, made if there is room; when the table is full the
 * least recently used entry goes if its window ended (or always, with
 * force).  NULL: no room.
 */
static struct fedlimit_ent *
fedlimit_get(struct fedlimit_tab *t, const char *key, int64_t now, int force)
{
	struct fedlimit_ent	 k, *e;

	strlcpy(k.key, key, sizeof(k.key));
	if ((e = RB_FIND(fedlimit_tree, &t->tree, &k)) != NULL) {
		TAILQ_REMOVE(&t->lru, e, lru);
		TAILQ_INSERT_TAIL(&t->lru, e, lru);
		return (e);
	}
	if (t->n >= t->max) {
		e = TAILQ_FIRST(&t->lru);
		if (e == NULL || (!force && !fedlimit_ended(e, now)))
			return (NULL);
		fedlimit_drop(t, e);
	}
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return (NULL);
	memcpy(e->key, k.key, sizeof(e->key));
	e->start = now;
	RB_INSERT(fedlimit_tree, &t->tree, e);
	TAILQ_INSERT_TAIL(&t->lru, e, lru);
	t->n++;
	return (e);
}

/* 0 when e has room; the window restarts when it ended. */
static int
fedlimit_room(const struct fedlimit_tab *t, struct fedlimit_ent *e,
    int64_t now, uint32_t *retry)
{
	int64_t	 left;

	if (fedlimit_ended(e, now)) {
		e->start = now;
		e->count = 0;
	}
	if (e->count < t->limit)
		return (0);
	left = e->start + FEDLIMIT_WINDOW_MS - now;
	*retry = (uint32_t)((left + 999) / 1000);
	if (*retry == 0)
		*retry = 1;
	return (-1);
}

int
fedlimit_check(struct fedlimit *l, const char *addr, int64_t now,
    uint32_t *retry)
{
	struct fedlimit_ent	*a, *p;
	char			 prefix[64];

	*retry = 0;
	fedauth_prefix(addr, prefix, sizeof(prefix));
	p = fedlimit_get(&l->prefixes, prefix, now, 1);
	a = fedlimit_get(&l->addrs, addr, now, 0);
	if (a == NULL)
		l->prefix_only++;
	if (a != NULL && fedlimit_room(&l->addrs, a, now, retry) == -1)
		return (-1);
	if (p != NULL && fedlimit_room(&l->prefixes, p, now, retry) == -1)
		return (-1);
	if (a != NULL)
		a->count++;
	if (p != NULL)
		p->count++;
	return (0);
}
