/*
 * fedsign: make and check signed federation messages from a shell test,
 * as a peer relay holding SEED would (PROTOCOL.md sections 1 and 3).
 * SEED is 64 hex digits, or two (a byte repeated 32 times: "01" is key A
 * of Appendix B).  TS is epoch ms, "now", "now+MS" or "now-MS".  Bodies
 * are printed as canonical JSON.
 *
 *	fedsign pub SEED
 *	fedsign propose SEED RELAY_ID ENDPOINT NONCE [SPEC_VERSION]
 *	fedsign confirm SEED RELAY_ID RESPONDER_NONCE
 *	fedsign heartbeat SEED RELAY_ID TS AGENT_COUNT
 *	fedsign remove SEED RELAY_ID		(legacy, bare id)
 *	fedsign remove2 SEED RELAY_ID PEER_ID TS	(remove-v2)
 *	fedsign accepted SEED RELAY_ID PEER_ID TS	(peer-accepted)
 *	fedsign header SEED RELAY_ID TS FILE	X-Relay-* lines for FILE's
 *						body (JCS, base64url)
 *	fedsign get SEED RELAY_ID TS PATH	X-Relay-* lines for a GET
 *	fedsign rotation SEED RELAY_ID NEWSEED TS
 *						the key-rotation body,
 *						SEED -> NEWSEED
 *	fedsign strip FILE			FILE's body without signature
 *	fedsign verify-heartbeat PUB FILE	FILE is a heartbeat signed
 *						with the template by PUB
 *	fedsign verify-challenge PUB RELAY_ID NONCE SIG
 */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypto.h"
#include "encoding.h"
#include "toolkey.h"
#include "jcs.h"
#include "relayd_imsg.h"

static void
usage(void)
{
	fprintf(stderr, "usage: fedsign pub | propose | confirm | heartbeat "
	    "| remove | remove2 | accepted | header | get | rotation | "
	    "strip | verify-heartbeat | verify-challenge ...\n");
	exit(2);
}

const char	*tool_name = "fedsign";

static void
pubhex(EVP_PKEY *k, char out[65])
{
	uint8_t	 pub[ED25519_PUB_LEN];

	if (ed25519_public(k, pub) == -1)
		die("no public key", NULL);
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
		die("bad timestamp", s);
	return (base + v);
}

static void
sign(EVP_PKEY *k, const void *msg, size_t len, uint8_t sig[64])
{
	if (ed25519_sign(k, msg, len, sig) == -1)
		die("cannot sign", NULL);
}

static void
print(json_t *o)
{
	char	*s;
	size_t	 len;

	if ((s = jcs_serialize(o, 0, &len)) == NULL)
		die("cannot serialize", NULL);
	printf("%s\n", s);
	free(s);
	json_decref(o);
}

/* Adds "signature": hex over JCS(o) and prints o. */
static void
print_signed(EVP_PKEY *k, json_t *o)
{
	uint8_t	 sig[ED25519_SIG_LEN];
	char	 hex[SIG_HEX_MAX], *tbs;
	size_t	 len;

	if ((tbs = jcs_serialize(o, 0, &len)) == NULL)
		die("cannot serialize", NULL);
	sign(k, tbs, len, sig);
	free(tbs);
	hex_encode(sig, sizeof(sig), hex);
	json_object_set_new(o, "signature", json_string(hex));
	print(o);
}

static json_t *
load(const char *path)
{
	json_t		*o;
	char		 err[128];
	char		*buf;
	FILE		*f;
	long		 n;

	if ((f = fopen(path, "r")) == NULL)
		die("cannot open", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	if (n < 0 || (buf = malloc(n + 1)) == NULL ||
	    fread(buf, 1, n, f) != (size_t)n)
		die("cannot read", path);
	fclose(f);
	if ((o = jcs_parse(buf, n, err, sizeof(err))) == NULL)
		die(err, path);
	free(buf);
	return (o);
}

static void
headers(EVP_PKEY *k, const char *id, int64_t t, const void *msg, size_t len)
{
	uint8_t	 sig[ED25519_SIG_LEN];
	char	 b64[B64URL_LEN(ED25519_SIG_LEN) + 1];

	sign(k, msg, len, sig);
	b64[b64url_encode(sig, sizeof(sig), b64)] = '\0';
	printf("X-Relay-Id: %s\nX-Relay-Timestamp: %" PRId64 "\n"
	    "X-Relay-Signature: %s\n", id, t, b64);
}

int
main(int argc, char *argv[])
{
	EVP_PKEY	*k, *k2;
	json_t		*o;
	uint8_t		 sig[ED25519_SIG_LEN];
	char		 pk[65], pk2[65], sighex[SIG_HEX_MAX], msg[512], *tbs;
	size_t		 len;
	int64_t		 t;

	if (argc < 3)
		usage();
	if (strcmp(argv[1], "strip") == 0 && argc == 3) {
		o = load(argv[2]);
		json_object_del(o, "signature");
		print(o);
		return (0);
	}
	if (strcmp(argv[1], "verify-heartbeat") == 0 && argc == 4) {
		o = load(argv[3]);
		if (!json_is_string(json_object_get(o, "relay_id")) ||
		    !json_is_integer(json_object_get(o, "timestamp")) ||
		    !json_is_string(json_object_get(o, "signature")))
			die("not a heartbeat", argv[3]);
		if (msg_heartbeat(msg, sizeof(msg), json_string_value(
		    json_object_get(o, "relay_id")), json_integer_value(
		    json_object_get(o, "timestamp"))) == -1 ||
		    ed25519_verify_hex(argv[2], (uint8_t *)msg, strlen(msg),
		    json_string_value(json_object_get(o, "signature"))) != 0)
			die("heartbeat signature does not verify", argv[3]);
		json_decref(o);
		return (0);
	}
	if (strcmp(argv[1], "verify-challenge") == 0 && argc == 6) {
		if (msg_handshake(msg, sizeof(msg), argv[3], argv[4]) == -1 ||
		    ed25519_verify_hex(argv[2], (uint8_t *)msg, strlen(msg),
		    argv[5]) != 0)
			die("challenge does not verify", NULL);
		return (0);
	}

	k = key(argv[2]);
	pubhex(k, pk);
	if (strcmp(argv[1], "pub") == 0 && argc == 3) {
		printf("%s\n", pk);
	} else if (strcmp(argv[1], "propose") == 0 &&
	    (argc == 6 || argc == 7)) {
		o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "relay_id",
		    argv[3], "public_key", pk, "endpoint_url", argv[4],
		    "display_name", argv[3], "nonce", argv[5],
		    "spec_version", argc == 7 ? argv[6] :
		    "motebit/relay-federation@1.4");
		print(o);
	} else if (strcmp(argv[1], "confirm") == 0 && argc == 5) {
		if (msg_handshake(msg, sizeof(msg), argv[3], argv[4]) == -1)
			die("relay id or nonce too long", NULL);
		sign(k, msg, strlen(msg), sig);
		hex_encode(sig, sizeof(sig), msg);
		o = json_pack("{s:s, s:s}", "relay_id", argv[3],
		    "challenge_response", msg);
		print(o);
	} else if (strcmp(argv[1], "heartbeat") == 0 && argc == 6) {
		t = ts(argv[4]);
		if (msg_heartbeat(msg, sizeof(msg), argv[3], t) == -1)
			die("relay id too long", NULL);
		sign(k, msg, strlen(msg), sig);
		hex_encode(sig, sizeof(sig), msg);
		o = json_pack("{s:s, s:I, s:I, s:s}", "relay_id", argv[3],
		    "timestamp", (json_int_t)t, "agent_count",
		    (json_int_t)strtoll(argv[5], NULL, 10), "signature", msg);
		print(o);
	} else if (strcmp(argv[1], "remove") == 0 && argc == 4) {
		sign(k, argv[3], strlen(argv[3]), sig);
		hex_encode(sig, sizeof(sig), msg);
		o = json_pack("{s:s, s:s}", "relay_id", argv[3], "signature",
		    msg);
		print(o);
	} else if ((strcmp(argv[1], "remove2") == 0 ||
	    strcmp(argv[1], "accepted") == 0) && argc == 6) {
		o = json_pack("{s:s, s:s, s:s, s:I}", "action",
		    strcmp(argv[1], "remove2") == 0 ? "remove" : "accepted",
		    "peer_relay_id", argv[4], "relay_id", argv[3],
		    "timestamp", (json_int_t)ts(argv[5]));
		print_signed(k, o);
	} else if (strcmp(argv[1], "header") == 0 && argc == 6) {
		o = load(argv[5]);
		if ((tbs = jcs_serialize(o, 0, &len)) == NULL)
			die("cannot serialize", NULL);
		headers(k, argv[3], ts(argv[4]), tbs, len);
		free(tbs);
		json_decref(o);
	} else if (strcmp(argv[1], "rotation") == 0 && argc == 6) {
		/* the key-rotation body, signed by SEED and NEWSEED */
		k2 = key(argv[4]);
		pubhex(k2, pk2);
		t = ts(argv[5]);
		if (msg_succession(msg, sizeof(msg), pk, pk2, t) == -1)
			die("cannot build the succession record", NULL);
		sign(k, msg, strlen(msg), sig);
		hex_encode(sig, sizeof(sig), sighex);
		sign(k2, msg, strlen(msg), sig);
		hex_encode(sig, sizeof(sig), msg);
		o = json_pack("{s:s, s:{s:s, s:s, s:s, s:I, s:s, s:s}}",
		    "relay_id", argv[3], "succession", "old_public_key", pk,
		    "new_public_key", pk2, "suite", SUITE_JCS_HEX,
		    "timestamp", (json_int_t)t, "old_key_signature", sighex,
		    "new_key_signature", msg);
		print(o);
		EVP_PKEY_free(k2);
	} else if (strcmp(argv[1], "get") == 0 && argc == 6) {
		t = ts(argv[4]);
		snprintf(msg, sizeof(msg), "GET %s %" PRId64, argv[5], t);
		headers(k, argv[3], t, msg, strlen(msg));
	} else
		usage();
	EVP_PKEY_free(k);
	return (0);
}
