/*
 * libFuzzer target for the key-rotation body a peer POSTs
 * (relayd/fed/succession.c): the strict JSON parser, then
 * succession_parse() and, when it accepts, succession_verify().
 * Properties (abort() when broken): a refusal always says why; an
 * accepted record has 64 + 64 lowercase hex key digits, 128 + 128
 * signature digits, a relay id, two different keys, and its signing
 * input (msg_succession()) is canonical JSON that parses back to the
 * same four members.
 *
 * Seed corpus: regress/fuzz/corpus/succession.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypto.h"
#include "jcs.h"
#include "succession.h"

#define INPUT_MAX	8192

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
lowhex(const char *s, size_t n)
{
	size_t	 i;

	if (strlen(s) != n)
		return (0);
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return (0);
	return (1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct succession	 sc;
	json_t			*b, *m;
	char			 err[160], msg[512];
	int			 n;

	if (size > INPUT_MAX)
		return (0);
	if ((b = jcs_parse((const char *)data, size, NULL, 0)) == NULL)
		return (0);
	err[0] = '\0';
	if (succession_parse(b, &sc, err, sizeof(err)) == -1) {
		if (err[0] == '\0')
			abort();
		json_decref(b);
		return (0);
	}
	if (!lowhex(sc.old_public_key, 64) || !lowhex(sc.new_public_key, 64) ||
	    !lowhex(sc.old_sig, 128) || !lowhex(sc.new_sig, 128) ||
	    sc.relay_id[0] == '\0' || sc.timestamp < 0 ||
	    strcmp(sc.old_public_key, sc.new_public_key) == 0)
		abort();
	if ((n = msg_succession(msg, sizeof(msg), sc.old_public_key,
	    sc.new_public_key, sc.timestamp)) <= 0 ||
	    !jcs_is_canonical(msg, (size_t)n))
		abort();
	if ((m = jcs_parse(msg, (size_t)n, NULL, 0)) == NULL ||
	    json_object_size(m) != 4 ||
	    strcmp(json_string_value(json_object_get(m, "old_public_key")),
	    sc.old_public_key) != 0 ||
	    json_integer_value(json_object_get(m, "timestamp")) !=
	    sc.timestamp)
		abort();
	json_decref(m);
	(void)succession_verify(&sc);
	json_decref(b);
	return (0);
}
