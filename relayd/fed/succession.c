/*
 * Key succession records: see succession.h.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "crypto.h"
#include "encoding.h"
#include "succession.h"

#define JS_INT_MAX	9007199254740991LL	/* 2^53 - 1 */

static int
hexn(const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return (0);
	return (s[n] == '\0');
}

/* A string member of exactly 2n lowercase hex digits, copied to out. */
static int
hexmember(const json_t *o, const char *name, size_t n, char *out,
    size_t outlen, char *err, size_t errlen)
{
	const json_t	*v = json_object_get(o, name);
	const char	*s;

	if (v == NULL || !json_is_string(v)) {
		snprintf(err, errlen, "succession.%s: missing or not a "
		    "string", name);
		return (-1);
	}
	s = json_string_value(v);
	if (json_string_length(v) != n || !hexn(s, n) || n >= outlen) {
		snprintf(err, errlen, "succession.%s: not %zu lowercase hex "
		    "digits", name, n);
		return (-1);
	}
	memcpy(out, s, n + 1);
	return (0);
}

int
succession_parse(const json_t *b, struct succession *sc, char *err,
    size_t errlen)
{
	const json_t	*rec, *v;
	const char	*key, *id;

	memset(sc, 0, sizeof(*sc));
	if (b == NULL || !json_is_object(b)) {
		snprintf(err, errlen, "the body is not a JSON object");
		return (-1);
	}
	json_object_foreach((json_t *)b, key, v) {
		if (strcmp(key, "relay_id") != 0 &&
		    strcmp(key, "succession") != 0) {
			snprintf(err, errlen, "unknown member %.40s", key);
			return (-1);
		}
	}
	v = json_object_get(b, "relay_id");
	if (v == NULL || !json_is_string(v) ||
	    json_string_length(v) >= sizeof(sc->relay_id) ||
	    !relay_id_valid((id = json_string_value(v)))) {
		snprintf(err, errlen, "relay_id: missing or invalid");
		return (-1);
	}
	strlcpy(sc->relay_id, id, sizeof(sc->relay_id));
	rec = json_object_get(b, "succession");
	if (rec == NULL || !json_is_object(rec)) {
		snprintf(err, errlen, "succession: missing or not an object");
		return (-1);
	}
	json_object_foreach((json_t *)rec, key, v) {
		if (strcmp(key, "old_public_key") != 0 &&
		    strcmp(key, "new_public_key") != 0 &&
		    strcmp(key, "old_key_signature") != 0 &&
		    strcmp(key, "new_key_signature") != 0 &&
		    strcmp(key, "suite") != 0 &&
		    strcmp(key, "timestamp") != 0) {
			/* reason and recovery are for agents, not relays */
			snprintf(err, errlen, "succession: unknown member "
			    "%.40s", key);
			return (-1);
		}
	}
	if (hexmember(rec, "old_public_key", 64, sc->old_public_key,
	    sizeof(sc->old_public_key), err, errlen) == -1 ||
	    hexmember(rec, "new_public_key", 64, sc->new_public_key,
	    sizeof(sc->new_public_key), err, errlen) == -1 ||
	    hexmember(rec, "old_key_signature", 128, sc->old_sig,
	    sizeof(sc->old_sig), err, errlen) == -1 ||
	    hexmember(rec, "new_key_signature", 128, sc->new_sig,
	    sizeof(sc->new_sig), err, errlen) == -1)
		return (-1);
	v = json_object_get(rec, "suite");
	if (v == NULL || !json_is_string(v) ||
	    strcmp(json_string_value(v), SUITE_JCS_HEX) != 0 ||
	    json_string_length(v) != strlen(SUITE_JCS_HEX)) {
		snprintf(err, errlen, "succession.suite: not %s",
		    SUITE_JCS_HEX);
		return (-1);
	}
	v = json_object_get(rec, "timestamp");
	if (v == NULL || !json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > JS_INT_MAX) {
		snprintf(err, errlen, "succession.timestamp: not an integer "
		    "of epoch milliseconds");
		return (-1);
	}
	sc->timestamp = json_integer_value(v);
	if (strcmp(sc->old_public_key, sc->new_public_key) == 0) {
		snprintf(err, errlen, "succession: the new key is the old "
		    "key");
		return (-1);
	}
	return (0);
}

int
succession_verify(const struct succession *sc)
{
	char	 msg[512];
	int	 n;

	if ((n = msg_succession(msg, sizeof(msg), sc->old_public_key,
	    sc->new_public_key, sc->timestamp)) == -1)
		return (-1);
	if (ed25519_verify_hex(sc->old_public_key, (const uint8_t *)msg,
	    (size_t)n, sc->old_sig) == -1 ||
	    ed25519_verify_hex(sc->new_public_key, (const uint8_t *)msg,
	    (size_t)n, sc->new_sig) == -1)
		return (-1);
	return (0);
}
