/*
 * Shared by the test tools: see toolkey.h.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "encoding.h"
#include "toolkey.h"

void
die(const char *msg, const char *arg)
{
	fprintf(stderr, "%s: %s%s%s\n", tool_name, msg, arg ? ": " : "",
	    arg ? arg : "");
	exit(1);
}

EVP_PKEY *
key(const char *s)
{
	uint8_t		 seed[ED25519_SEED_LEN];
	EVP_PKEY	*k;

	if (strlen(s) == 2) {
		if (hex_decode(s, seed, 1) == -1)
			die("bad seed", s);
		memset(seed + 1, seed[0], sizeof(seed) - 1);
	} else if (hex_decode(s, seed, sizeof(seed)) == -1)
		die("bad seed", s);
	if ((k = ed25519_from_seed(seed)) == NULL)
		die("cannot make the key", NULL);
	return (k);
}
