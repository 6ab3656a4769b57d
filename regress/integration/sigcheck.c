/*
 * sigcheck: verify relayd's signed JSON documents from the outside, the
 * way a peer would.  Used by the integration tests.
 *
 *	sigcheck doc FILE PUBKEYHEX	signature (hex) over JCS(doc minus
 *					"signature") by PUBKEYHEX, and the
 *					document's public_key matches
 *	sigcheck canonical FILE		FILE holds canonical JSON
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypto.h"
#include "jcs.h"

static char *
slurp(const char *path, size_t *len)
{
	FILE	*f;
	char	*buf;
	long	 n;

	if ((f = fopen(path, "r")) == NULL) {
		perror(path);
		exit(1);
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	if (n < 0 || (buf = malloc(n + 1)) == NULL ||
	    fread(buf, 1, n, f) != (size_t)n) {
		fprintf(stderr, "%s: read error\n", path);
		exit(1);
	}
	buf[n] = '\0';
	fclose(f);
	*len = n;
	return (buf);
}

int
main(int argc, char *argv[])
{
	json_t		*doc, *sig, *pk;
	char		 err[256], *buf, *canon;
	size_t		 len, clen;

	if (argc < 3) {
		fprintf(stderr, "usage: sigcheck doc FILE PUBKEY | "
		    "canonical FILE\n");
		return (2);
	}
	buf = slurp(argv[2], &len);
	if (strcmp(argv[1], "canonical") == 0) {
		if (!jcs_is_canonical(buf, len)) {
			fprintf(stderr, "%s: not canonical JSON\n", argv[2]);
			return (1);
		}
		return (0);
	}
	if (strcmp(argv[1], "doc") != 0 || argc != 4)
		return (2);
	if ((doc = jcs_parse(buf, len, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s: %s\n", argv[2], err);
		return (1);
	}
	sig = json_object_get(doc, "signature");
	pk = json_object_get(doc, "public_key");
	if (!json_is_string(sig) || !json_is_string(pk)) {
		fprintf(stderr, "%s: no signature or public_key\n", argv[2]);
		return (1);
	}
	if (strcmp(json_string_value(pk), argv[3]) != 0) {
		fprintf(stderr, "%s: public_key %s is not %s\n", argv[2],
		    json_string_value(pk), argv[3]);
		return (1);
	}
	if ((canon = jcs_serialize(doc, 1, &clen)) == NULL) {
		fprintf(stderr, "%s: cannot canonicalize\n", argv[2]);
		return (1);
	}
	if (ed25519_verify_hex(argv[3], (const uint8_t *)canon, clen,
	    json_string_value(sig)) != 0) {
		fprintf(stderr, "%s: signature does not verify\n", argv[2]);
		return (1);
	}
	printf("%s: signature ok\n", argv[2]);
	free(canon);
	json_decref(doc);
	free(buf);
	return (0);
}
