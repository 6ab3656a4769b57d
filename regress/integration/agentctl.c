/*
 * agentctl: what an agent needs to talk to relayd's agent API (relayd(8)
 * AGENTS) from a shell script with curl: keys, the bootstrap body,
 * signed agent tokens (suite motebit-jwt-ed25519-v1), key-succession
 * records and guardian attestations.  SEED is 64 hex digits, or two (a
 * byte repeated 32 times).  EXP is epoch ms, "now", "now+MS" or
 * "now-MS".  JSON is printed canonical (JCS), tokens as they go in
 * "Authorization: Bearer TOKEN".
 *
 *	agentctl seed				a fresh random seed
 *	agentctl pub SEED			its public key, hex
 *	agentctl id SEED			the sovereign motebit_id
 *						(UUIDv8 of sha256(key))
 *	agentctl bootstrap SEED MID [DID]	the bootstrap body
 *	agentctl token SEED MID DID AUD [EXP [JTI]]
 *						a token (EXP now+300000,
 *						JTI a fresh UUIDv4)
 *	agentctl sign SEED PAYLOAD		a token over exactly these
 *						payload bytes
 *	agentctl succession OLD NEW TS [REASON]	a key-succession record
 *						signed by both seeds
 *	agentctl guardian SEED MID		guardian_public_key and
 *						guardian_attestation
 */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/rand.h>

#include "crypto.h"
#include "encoding.h"
#include "toolkey.h"
#include "jcs.h"

static void
usage(void)
{
	fprintf(stderr, "usage: agentctl seed | pub | id | bootstrap | token "
	    "| sign | succession | guardian ...\n");
	exit(2);
}

const char	*tool_name = "agentctl";

static void
pubraw(EVP_PKEY *k, uint8_t pub[ED25519_PUB_LEN])
{
	if (ed25519_public(k, pub) == -1)
		die("no public key", NULL);
}

static void
pubhex(EVP_PKEY *k, char out[65])
{
	uint8_t	 pub[ED25519_PUB_LEN];

	pubraw(k, pub);
	hex_encode(pub, sizeof(pub), out);
}

static int64_t
ts(const char *s)
{
	char		*end;
	long long	 v;
	int64_t		 base = 0;

	if (strncmp(s, "now", 3) == 0) {
		base = now_ms();
		s += 3;
		if (*s == '\0')
			return (base);
	}
	v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0')
		die("bad time", s);
	return (base + v);
}

static void
print(json_t *o)
{
	char	*s = NULL;
	size_t	 len;

	if (o == NULL || (s = jcs_serialize(o, 0, &len)) == NULL)
		die("cannot serialize", NULL);
	printf("%s\n", s);
	free(s);
	json_decref(o);
}

/* base64url(payload) "." base64url(sig) */
static void
token(EVP_PKEY *k, const char *payload, size_t len)
{
	uint8_t	 sig[ED25519_SIG_LEN];
	char	*p, s[B64URL_LEN(ED25519_SIG_LEN) + 1];

	if (ed25519_sign(k, (const uint8_t *)payload, len, sig) == -1)
		die("cannot sign", NULL);
	if ((p = malloc(B64URL_LEN(len) + 1)) == NULL)
		die("out of memory", NULL);
	p[b64url_encode((const uint8_t *)payload, len, p)] = '\0';
	s[b64url_encode(sig, sizeof(sig), s)] = '\0';
	printf("%s.%s\n", p, s);
	free(p);
}

/* hex signature over JCS(o) */
static json_t *
jcs_sig(EVP_PKEY *k, json_t *o)
{
	uint8_t	 sig[ED25519_SIG_LEN];
	char	 hex[2 * ED25519_SIG_LEN + 1], *c;
	size_t	 len;

	if ((c = jcs_serialize(o, 0, &len)) == NULL)
		die("cannot serialize", NULL);
	if (ed25519_sign(k, (const uint8_t *)c, len, sig) == -1)
		die("cannot sign", NULL);
	free(c);
	hex_encode(sig, sizeof(sig), hex);
	return (json_string(hex));
}

int
main(int argc, char *argv[])
{
	EVP_PKEY	*k, *k2;
	json_t		*o, *tbs;
	uint8_t		 seed[ED25519_SEED_LEN], pub[ED25519_PUB_LEN];
	uint8_t		 h[SHA256_LEN];
	char		 pk[65], pk2[65], hex[65], jti[UUID_STR_LEN + 1];
	char		*payload;
	int64_t		 exp, now;

	if (argc < 2)
		usage();
	if (strcmp(argv[1], "seed") == 0 && argc == 2) {
		if (RAND_bytes(seed, sizeof(seed)) != 1)
			die("no randomness", NULL);
		hex_encode(seed, sizeof(seed), hex);
		printf("%s\n", hex);
		return (0);
	}
	if (argc < 3)
		usage();
	k = key(argv[2]);
	if (strcmp(argv[1], "pub") == 0 && argc == 3) {
		pubhex(k, pk);
		printf("%s\n", pk);
	} else if (strcmp(argv[1], "id") == 0 && argc == 3) {
		/* sovereign id: UUIDv8 of sha256(key), wire notes 3 */
		pubraw(k, pub);
		sha256(pub, sizeof(pub), h);
		h[6] = 0x80 | (h[6] & 0x0f);
		h[8] = 0x80 | (h[8] & 0x3f);
		hex_encode(h, 16, hex);
		printf("%.8s-%.4s-%.4s-%.4s-%.12s\n", hex, hex + 8, hex + 12,
		    hex + 16, hex + 20);
	} else if (strcmp(argv[1], "bootstrap") == 0 &&
	    (argc == 4 || argc == 5)) {
		pubhex(k, pk);
		o = json_pack("{s:s, s:s}", "motebit_id", argv[3],
		    "public_key", pk);
		if (o != NULL && argc == 5)
			json_object_set_new(o, "device_id",
			    json_string(argv[4]));
		print(o);
	} else if (strcmp(argv[1], "token") == 0 && argc >= 6 && argc <= 8) {
		now = now_ms();
		exp = argc >= 7 ? ts(argv[6]) : now + 300000;
		if (argc == 8)
			strlcpy(jti, argv[7], sizeof(jti));
		else
			uuid_v4(jti);
		/* the reference client's key order: mid did iat exp jti aud */
		if ((o = json_object()) == NULL ||
		    json_object_set_new(o, "mid", json_string(argv[3])) ||
		    json_object_set_new(o, "did", json_string(argv[4])) ||
		    json_object_set_new(o, "iat", json_integer(now)) ||
		    json_object_set_new(o, "exp", json_integer(exp)) ||
		    json_object_set_new(o, "jti", json_string(jti)) ||
		    json_object_set_new(o, "aud", json_string(argv[5])) ||
		    json_object_set_new(o, "suite",
		    json_string("motebit-jwt-ed25519-v1")))
			die("out of memory", NULL);
		if ((payload = json_dumps(o, JSON_COMPACT |
		    JSON_PRESERVE_ORDER)) == NULL)
			die("cannot serialize", NULL);
		token(k, payload, strlen(payload));
		free(payload);
		json_decref(o);
	} else if (strcmp(argv[1], "sign") == 0 && argc == 4) {
		token(k, argv[3], strlen(argv[3]));
	} else if (strcmp(argv[1], "succession") == 0 &&
	    (argc == 5 || argc == 6)) {
		k2 = key(argv[3]);
		pubhex(k, pk);
		pubhex(k2, pk2);
		tbs = json_pack("{s:s, s:s, s:I, s:s}", "old_public_key", pk,
		    "new_public_key", pk2, "timestamp", (json_int_t)ts(argv[4]),
		    "suite", "motebit-jcs-ed25519-hex-v1");
		if (tbs == NULL)
			die("out of memory", NULL);
		if (argc == 6)
			json_object_set_new(tbs, "reason",
			    json_string(argv[5]));
		o = json_deep_copy(tbs);
		json_object_set_new(o, "old_key_signature", jcs_sig(k, tbs));
		json_object_set_new(o, "new_key_signature", jcs_sig(k2, tbs));
		json_decref(tbs);
		EVP_PKEY_free(k2);
		print(o);
	} else if (strcmp(argv[1], "guardian") == 0 && argc == 4) {
		pubhex(k, pk);
		tbs = json_pack("{s:s, s:s, s:s}", "action",
		    "guardian_attestation", "guardian_public_key", pk,
		    "motebit_id", argv[3]);
		if (tbs == NULL)
			die("out of memory", NULL);
		o = json_pack("{s:s, s:o}", "guardian_public_key", pk,
		    "guardian_attestation", jcs_sig(k, tbs));
		json_decref(tbs);
		print(o);
	} else
		usage();
	EVP_PKEY_free(k);
	fflush(stdout);
	return (0);
}
