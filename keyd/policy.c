/*
 * keyd's signing policy: which process may ask for which kind of
 * signature, which request fields each kind uses, and the exact member
 * set of the two JSON documents keyd signs.  This file is the policy;
 * keyd(8) restates it in prose.  Change both together.
 *
 * Why a table and not code paths: an auditor can check one screen of
 * data against DESIGN.md (frontend asks for what it answers on the wire,
 * the peer engine for what it sends) instead of following branches.
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "encoding.h"
#include "keyd.h"

/*
 * Shared item rules.  A capability or extension name is a short token
 * (the reference uses "task_routing", "federation", ...).
 */
static const struct doc_rule r_token64 = {
	NULL, DT_TOKEN, 0, 64, NULL, NULL
};
static const struct doc_rule r_url = {
	NULL, DT_TOKEN, 0, RELAY_URL_MAX - 1, NULL, NULL
};

/*
 * /.well-known/motebit.json (reference section 4.17).  The caller gives
 * these members and nothing else; keyd adds relay_id, public_key and
 * suite, then signature.  federation_peers items are exactly
 * {relay_id, endpoint_url}.
 */
static const struct doc_rule r_peer[] = {
	{ "endpoint_url", DT_TOKEN, 0, RELAY_URL_MAX - 1, NULL, NULL },
	{ "relay_id", DT_RELAY_ID, 0, 0, NULL, NULL },
	{ NULL, 0, 0, 0, NULL, NULL }
};
static const struct doc_rule r_peer_item = {
	NULL, DT_OBJECT, 0, 0, r_peer, NULL
};
static const struct doc_rule r_metadata_members[] = {
	{ "agent_count", DT_UINT, 0, 0, NULL, NULL },
	{ "capabilities", DT_ARRAY, 0, 32, &r_token64, NULL },
	{ "display_name", DT_TEXT, 1, RELAY_NAME_MAX - 1, NULL, NULL },
	{ "endpoint_url", DT_TOKEN, 0, RELAY_URL_MAX - 1, NULL, NULL },
	{ "fee_rate", DT_RATE, 0, 0, NULL, NULL },
	{ "federation_peers", DT_ARRAY, 0, 256, &r_peer_item, NULL },
	{ "protocol_version", DT_TOKEN, 0, 16, NULL, NULL },
	{ NULL, 0, 0, 0, NULL, NULL }
};
static const struct doc_rule r_metadata = {
	NULL, DT_OBJECT, 0, 0, r_metadata_members, NULL
};

/*
 * /.well-known/mesh-manifest.json (PROTOCOL.md section 2).  The caller
 * gives these members; keyd adds relay_id, public_key, did and suite,
 * then signature.  generated_at must be keyd's clock +-5 minutes, so a
 * manifest cannot be pre-signed for later.  agents lists federation-
 * visible agents only, with minimal fields.
 */
static const char *const acceptance_modes[] = { "auto", "manual", NULL };
static const struct doc_rule r_agent[] = {
	{ "capabilities", DT_ARRAY, 0, 32, &r_token64, NULL },
	{ "display_name", DT_TEXT, 1, RELAY_NAME_MAX - 1, NULL, NULL },
	{ "motebit_id", DT_TOKEN, 0, 128, NULL, NULL },
	{ "public_key", DT_HEX64, 1, 0, NULL, NULL },
	{ NULL, 0, 0, 0, NULL, NULL }
};
static const struct doc_rule r_agent_item = {
	NULL, DT_OBJECT, 0, 0, r_agent, NULL
};
static const struct doc_rule r_federation[] = {
	{ "acceptance", DT_ENUM, 0, 0, NULL, acceptance_modes },
	{ "enabled", DT_BOOL, 0, 0, NULL, NULL },
	{ "extensions", DT_ARRAY, 0, 32, &r_token64, NULL },
	{ "max_hops", DT_UINT, 0, 64, NULL, NULL },
	{ "peer_count", DT_UINT, 0, 0, NULL, NULL },
	{ NULL, 0, 0, 0, NULL, NULL }
};
static const struct doc_rule r_manifest_members[] = {
	{ "agents", DT_ARRAY, 0, 512, &r_agent_item, NULL },
	{ "capabilities", DT_ARRAY, 0, 32, &r_token64, NULL },
	{ "endpoints", DT_MAP, 0, 16, &r_url, NULL },
	{ "federation", DT_OBJECT, 0, 0, r_federation, NULL },
	{ "generated_at", DT_TIME, 0, 0, NULL, NULL },
	{ "name", DT_TEXT, 0, RELAY_NAME_MAX - 1, NULL, NULL },
	{ "version", DT_TOKEN, 0, 32, NULL, NULL },
	{ NULL, 0, 0, 0, NULL, NULL }
};
static const struct doc_rule r_manifest = {
	NULL, DT_OBJECT, 0, 0, r_manifest_members, NULL
};

#define FE	PROC_BIT(PROC_FRONTEND)
#define PE	PROC_BIT(PROC_PEER)

/*
 * One row per imsg type.  The frontend answers inbound requests (propose,
 * heartbeat) and serves the two well-known documents; the peer engine
 * sends outbound messages (heartbeat, confirm, removal, peer-accepted).
 * ledgerd has a channel but no kind yet.  No kind is open to two
 * processes, so a compromised frontend cannot mint outbound heartbeats
 * and vice versa.
 */
static const struct key_policy policy_table[] = {
	{ IMSG_KEY_SIGN_METADATA, KEY_KIND_METADATA, FE, KF_DOC,
	    &r_metadata },
	{ IMSG_KEY_SIGN_MANIFEST, KEY_KIND_MANIFEST, FE, KF_DOC,
	    &r_manifest },
	{ IMSG_KEY_SIGN_CHALLENGE, KEY_KIND_CHALLENGE, FE,
	    KF_RELAY_ID | KF_NONCE, NULL },
	{ IMSG_KEY_SIGN_HBRESP, KEY_KIND_HBRESP, FE, KF_TIMESTAMP, NULL },
	{ IMSG_KEY_SIGN_HEARTBEAT, KEY_KIND_HEARTBEAT, PE, KF_TIMESTAMP,
	    NULL },
	{ IMSG_KEY_SIGN_CONFIRM, KEY_KIND_CONFIRM, PE, KF_NONCE, NULL },
	{ IMSG_KEY_SIGN_REMOVAL, KEY_KIND_REMOVAL, PE, 0, NULL },
	{ IMSG_KEY_SIGN_REMOVAL2, KEY_KIND_REMOVAL2, PE,
	    KF_RELAY_ID | KF_TIMESTAMP, NULL },
	{ IMSG_KEY_SIGN_ACCEPTED, KEY_KIND_ACCEPTED, PE,
	    KF_RELAY_ID | KF_TIMESTAMP, NULL },
};

#undef FE
#undef PE

const struct key_policy *
policy_lookup(uint32_t type)
{
	size_t	 i;

	for (i = 0; i < sizeof(policy_table) / sizeof(policy_table[0]); i++)
		if (policy_table[i].kp_type == type)
			return (&policy_table[i]);
	return (NULL);
}

int
policy_allows(const struct key_policy *kp, enum proc_id proc)
{
	if (proc < 0 || proc >= PROC_MAX)
		return (0);
	return ((kp->kp_requesters & PROC_BIT(proc)) != 0);
}

/*
 * A handshake nonce goes into "{relay_id}:{nonce}:suite" as text.  The
 * reference only requires it to be non-empty; we also bound its length
 * and refuse ':' and '|' (the template separators) and anything outside
 * printable ASCII, so the signed string can be split back unambiguously.
 */
int
nonce_valid(const char *s)
{
	size_t	 i, n;

	n = strnlen(s, KEYD_NONCE_MAXLEN + 1);
	if (n == 0 || n > KEYD_NONCE_MAXLEN)
		return (0);
	for (i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == ':' || s[i] == '|')
			return (0);
	return (1);
}

static int
doc_err(char *err, size_t errlen, const char *name, const char *fmt, ...)
    __attribute__((__format__ (printf, 4, 5)));

static int
doc_err(char *err, size_t errlen, const char *name, const char *fmt, ...)
{
	char	 msg[96];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (name != NULL)
		snprintf(err, errlen, "\"%s\": %s", name, msg);
	else
		snprintf(err, errlen, "%s", msg);
	return (-1);
}

/* UTF-8 (already validated by jcs_parse) without C0 controls or DEL. */
static int
text_ok(const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return (0);
	return (1);
}

static int
token_ok(const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return (0);
	return (1);
}

static int
hex64_ok(const char *s, size_t len)
{
	size_t	 i;

	if (len != 64)
		return (0);
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return (0);
	return (1);
}

static int
mapkey_ok(const char *s)
{
	size_t	 i, n;

	n = strlen(s);
	if (n == 0 || n > 32)
		return (0);
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return (0);
	return (1);
}

/*
 * Checks one JSON value against its rule, recursively.  Depth is bounded
 * by the rule tables above (at most three levels), not by the input.
 */
int
doc_check(const json_t *v, const struct doc_rule *r, int64_t now, char *err,
    size_t errlen)
{
	char		 sub[128];
	const char	*s, *key;
	const json_t	*item;
	const struct doc_rule *m;
	size_t		 len, i, n, klen;
	json_int_t	 iv;
	double		 d;
	int64_t		 max;

	switch (r->dr_type) {
	case DT_TEXT:
	case DT_TOKEN:
	case DT_RELAY_ID:
	case DT_HEX64:
	case DT_ENUM:
		if (!json_is_string(v))
			return (doc_err(err, errlen, r->dr_name,
			    "not a string"));
		s = json_string_value(v);
		len = json_string_length(v);
		/* jansson allows NUL inside strings; we never do */
		if (strlen(s) != len)
			return (doc_err(err, errlen, r->dr_name,
			    "NUL in string"));
		break;
	default:
		s = NULL;
		len = 0;
		break;
	}

	switch (r->dr_type) {
	case DT_TEXT:
	case DT_TOKEN:
		if (len == 0 || (int64_t)len > r->dr_max)
			return (doc_err(err, errlen, r->dr_name,
			    "length not in 1..%lld", (long long)r->dr_max));
		if (r->dr_type == DT_TEXT ? !text_ok(s, len) :
		    !token_ok(s, len))
			return (doc_err(err, errlen, r->dr_name,
			    "invalid characters"));
		return (0);
	case DT_RELAY_ID:
		if (!relay_id_valid(s))
			return (doc_err(err, errlen, r->dr_name,
			    "invalid relay id"));
		return (0);
	case DT_HEX64:
		if (!hex64_ok(s, len))
			return (doc_err(err, errlen, r->dr_name,
			    "not 64 lowercase hex digits"));
		return (0);
	case DT_ENUM:
		for (i = 0; r->dr_enum[i] != NULL; i++)
			if (strcmp(s, r->dr_enum[i]) == 0)
				return (0);
		return (doc_err(err, errlen, r->dr_name, "unknown value"));
	case DT_UINT:
	case DT_TIME:
		if (!json_is_integer(v))
			return (doc_err(err, errlen, r->dr_name,
			    "not an integer"));
		iv = json_integer_value(v);
		if (r->dr_type == DT_TIME) {
			if (iv < now - KEYD_CLOCK_SKEW_MS ||
			    iv > now + KEYD_CLOCK_SKEW_MS)
				return (doc_err(err, errlen, r->dr_name,
				    "not within 5 minutes of keyd's clock"));
			return (0);
		}
		/* JS readers lose precision above 2^53 - 1 */
		max = r->dr_max > 0 ? r->dr_max : KEYD_JS_INT_MAX;
		if (iv < 0 || iv > max)
			return (doc_err(err, errlen, r->dr_name,
			    "not in 0..%lld", (long long)max));
		return (0);
	case DT_RATE:
		if (!json_is_number(v))
			return (doc_err(err, errlen, r->dr_name,
			    "not a number"));
		d = json_number_value(v);
		if (!isfinite(d) || d < 0.0 || d > 1.0)
			return (doc_err(err, errlen, r->dr_name,
			    "not in 0..1"));
		return (0);
	case DT_BOOL:
		if (!json_is_boolean(v))
			return (doc_err(err, errlen, r->dr_name,
			    "not a boolean"));
		return (0);
	case DT_ARRAY:
		if (!json_is_array(v))
			return (doc_err(err, errlen, r->dr_name,
			    "not an array"));
		n = json_array_size(v);
		if ((int64_t)n > r->dr_max)
			return (doc_err(err, errlen, r->dr_name,
			    "more than %lld items", (long long)r->dr_max));
		for (i = 0; i < n; i++) {
			item = json_array_get(v, i);
			if (doc_check(item, r->dr_sub, now, sub, sizeof(sub)) ==
			    -1) {
				snprintf(err, errlen, "\"%s\"[%zu]: %s",
				    r->dr_name, i, sub);
				return (-1);
			}
		}
		return (0);
	case DT_MAP:
		if (!json_is_object(v))
			return (doc_err(err, errlen, r->dr_name,
			    "not an object"));
		if ((int64_t)json_object_size(v) > r->dr_max)
			return (doc_err(err, errlen, r->dr_name,
			    "more than %lld members", (long long)r->dr_max));
		json_object_keylen_foreach((json_t *)v, key, klen, item) {
			if (strlen(key) != klen || !mapkey_ok(key))
				return (doc_err(err, errlen, r->dr_name,
				    "bad member name"));
			if (doc_check(item, r->dr_sub, now, sub, sizeof(sub)) ==
			    -1) {
				snprintf(err, errlen, "\"%s\".\"%s\": %s",
				    r->dr_name, key, sub);
				return (-1);
			}
		}
		return (0);
	case DT_OBJECT:
		if (!json_is_object(v))
			return (doc_err(err, errlen, r->dr_name,
			    "not an object"));
		/* every member present must be in the table ... */
		json_object_keylen_foreach((json_t *)v, key, klen, item) {
			/* "relay_id\u0000x" must not pass as "relay_id" */
			if (strlen(key) != klen)
				return (doc_err(err, errlen, r->dr_name,
				    "NUL in member name"));
			for (m = r->dr_sub; m->dr_name != NULL; m++)
				if (strcmp(m->dr_name, key) == 0)
					break;
			if (m->dr_name == NULL) {
				/* quote the name only when it is harmless */
				if (klen <= 32 && token_ok(key, klen))
					snprintf(err, errlen, "member \"%s\" "
					    "not allowed", key);
				else
					snprintf(err, errlen,
					    "member not allowed");
				return (-1);
			}
			if (doc_check(item, m, now, sub, sizeof(sub)) == -1) {
				if (r->dr_name != NULL)
					snprintf(err, errlen, "\"%s\".%s",
					    r->dr_name, sub);
				else
					snprintf(err, errlen, "%s", sub);
				return (-1);
			}
		}
		/* ... and every required member of the table present */
		for (m = r->dr_sub; m->dr_name != NULL; m++)
			if (!m->dr_optional &&
			    json_object_get(v, m->dr_name) == NULL)
				return (doc_err(err, errlen, m->dr_name,
				    "missing"));
		return (0);
	}
	return (doc_err(err, errlen, r->dr_name, "unknown rule"));
}
