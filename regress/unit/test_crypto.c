/*
 * Unit tests for common/crypto.c: Ed25519 over the Appendix B vectors
 * (VECTORS_DIR), RFC 8032 known answers, the concat signing templates,
 * base64url signatures, the signed bearer token, SHA-256 and PKCS#8 PEM
 * key files (RFC 8410 example, plain and encrypted round trips, refusal of
 * other key types).
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "crypto.h"
#include "encoding.h"
#include "vectors.h"

#define RELAY_A		"relay-11111111-1111-4111-8111-111111111111"
#define TS		1760000000000LL


/* vectors.a.b..., a NULL-terminated path of object keys. */
static json_t *
vget(const char *first, ...)
{
	va_list		 ap;
	const char	*k;
	json_t		*v;

	v = json_object_get(vectors, first);
	va_start(ap, first);
	while ((k = va_arg(ap, const char *)) != NULL)
		v = json_object_get(v, k);
	va_end(ap);
	ck_assert_msg(v != NULL, "vector %s... missing", first);
	return (v);
}

static const char *
jstr(json_t *v)
{
	ck_assert_msg(json_is_string(v), "vector is not a string");
	return (json_string_value(v));
}

static EVP_PKEY *
key_named(const char *name)
{
	uint8_t		 seed[ED25519_SEED_LEN];
	EVP_PKEY	*pkey;

	ck_assert_int_eq(hex_decode(jstr(vget("keys", name, "seed_hex",
	    NULL)), seed, sizeof(seed)), 0);
	pkey = ed25519_from_seed(seed);
	ck_assert_ptr_nonnull(pkey);
	return (pkey);
}

static const char *
pub_named(const char *name)
{
	return (jstr(vget("keys", name, "public_key", NULL)));
}

/* Signs msg with the named key and compares with the expected hex. */
static void
check_sign_hex(const char *name, const char *msg, size_t len,
    const char *sighex)
{
	EVP_PKEY	*pkey;
	uint8_t		 sig[ED25519_SIG_LEN];
	char		 hex[2 * ED25519_SIG_LEN + 1], *bad;

	pkey = key_named(name);
	ck_assert_int_eq(ed25519_sign(pkey, (const uint8_t *)msg, len, sig),
	    0);
	hex_encode(sig, sizeof(sig), hex);
	ck_assert_str_eq(hex, sighex);
	EVP_PKEY_free(pkey);

	ck_assert_int_eq(ed25519_verify_hex(pub_named(name),
	    (const uint8_t *)msg, len, sighex), 0);
	/* One flipped bit of the signature, or of the message, fails. */
	bad = strdup(sighex);
	ck_assert_ptr_nonnull(bad);
	bad[10] = bad[10] == '0' ? '1' : '0';
	ck_assert_int_eq(ed25519_verify_hex(pub_named(name),
	    (const uint8_t *)msg, len, bad), -1);
	free(bad);
	if (len > 0) {
		bad = malloc(len);
		ck_assert_ptr_nonnull(bad);
		memcpy(bad, msg, len);
		bad[len - 1] ^= 0x01;
		ck_assert_int_eq(ed25519_verify_hex(pub_named(name),
		    (const uint8_t *)bad, len, sighex), -1);
		free(bad);
	}
}

/*
 * Keys and raw signatures
 */

START_TEST(test_keys)
{
	const char	*names[] = { "A", "B", "W", "frozen42" };
	EVP_PKEY	*pkey, *pub;
	uint8_t		 raw[ED25519_PUB_LEN], raw2[ED25519_PUB_LEN];
	char		 hex[65], did[DID_KEY_MAX];
	size_t		 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		pkey = key_named(names[i]);
		ck_assert_int_eq(ed25519_public(pkey, raw), 0);
		hex_encode(raw, sizeof(raw), hex);
		ck_assert_str_eq(hex, pub_named(names[i]));
		ck_assert_int_eq(did_key_from_pubkey(raw, did, sizeof(did)),
		    0);
		ck_assert_str_eq(did, jstr(vget("keys", names[i], "did",
		    NULL)));
		/* A public-only key gives the same raw bytes back. */
		pub = ed25519_pub_from_raw(raw);
		ck_assert_ptr_nonnull(pub);
		ck_assert_int_eq(ed25519_public(pub, raw2), 0);
		ck_assert_mem_eq(raw, raw2, sizeof(raw));
		/* ... and cannot sign. */
		ck_assert_int_eq(ed25519_sign(pub, (const uint8_t *)"x", 1,
		    (uint8_t [ED25519_SIG_LEN]){ 0 }), -1);
		EVP_PKEY_free(pub);
		EVP_PKEY_free(pkey);
	}
}
END_TEST

START_TEST(test_frozen42)
{
	check_sign_hex("frozen42", "motebit", 7,
	    jstr(vget("keys", "frozen42", "sig_over_motebit", NULL)));
}
END_TEST

/* RFC 8032 section 7.1, TEST 1 (empty message) and TEST 2. */
START_TEST(test_rfc8032)
{
	uint8_t		 seed[32], pub[32], sig[64], msg = 0x72;
	char		 hex[129];
	EVP_PKEY	*pkey;

	ck_assert_int_eq(hex_decode("9d61b19deffd5a60ba844af492ec2cc4"
	    "4449c5697b326919703bac031cae7f60", seed, 32), 0);
	pkey = ed25519_from_seed(seed);
	ck_assert_int_eq(ed25519_public(pkey, pub), 0);
	hex_encode(pub, 32, hex);
	ck_assert_str_eq(hex, "d75a980182b10ab7d54bfed3c964073a"
	    "0ee172f3daa62325af021a68f707511a");
	ck_assert_int_eq(ed25519_sign(pkey, NULL, 0, sig), 0);
	hex_encode(sig, 64, hex);
	ck_assert_str_eq(hex, "e5564300c360ac729086e2cc806e828a"
	    "84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46b"
	    "d25bf5f0595bbe24655141438e7a100b");
	ck_assert_int_eq(ed25519_verify(pub, NULL, 0, sig), 0);
	ck_assert_int_eq(ed25519_verify(pub, (const uint8_t *)"", 0, sig), 0);
	ck_assert_int_eq(ed25519_verify(pub, &msg, 1, sig), -1);
	ck_assert_int_eq(ed25519_sign(pkey, NULL, 1, sig), -1);
	EVP_PKEY_free(pkey);

	ck_assert_int_eq(hex_decode("4ccd089b28ff96da9db6c346ec114e0f"
	    "5b8a319f35aba624da8cf6ed4fb8a6fb", seed, 32), 0);
	pkey = ed25519_from_seed(seed);
	ck_assert_int_eq(ed25519_public(pkey, pub), 0);
	hex_encode(pub, 32, hex);
	ck_assert_str_eq(hex, "3d4017c3e843895a92b70aa74d1b7ebc"
	    "9c982ccf2ec4968cc0cd55f12af4660c");
	ck_assert_int_eq(ed25519_sign(pkey, &msg, 1, sig), 0);
	hex_encode(sig, 64, hex);
	ck_assert_str_eq(hex, "92a009a9f0d4cab8720e820b5f642540"
	    "a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c"
	    "387b2eaeb4302aeeb00d291612bb0c00");
	ck_assert_int_eq(ed25519_verify(pub, &msg, 1, sig), 0);
	EVP_PKEY_free(pkey);
}
END_TEST

START_TEST(test_generate)
{
	EVP_PKEY	*a, *b;
	uint8_t		 pa[32], pb[32], sig[64];
	const uint8_t	 msg[] = "generated";

	a = ed25519_generate();
	b = ed25519_generate();
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(ed25519_public(a, pa), 0);
	ck_assert_int_eq(ed25519_public(b, pb), 0);
	ck_assert_mem_ne(pa, pb, 32);
	ck_assert_int_eq(ed25519_sign(a, msg, sizeof(msg), sig), 0);
	ck_assert_int_eq(ed25519_verify(pa, msg, sizeof(msg), sig), 0);
	ck_assert_int_eq(ed25519_verify(pb, msg, sizeof(msg), sig), -1);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
}
END_TEST

START_TEST(test_verify_malformed)
{
	const char	*pub = pub_named("frozen42");
	const char	*sig = jstr(vget("keys", "frozen42", "sig_over_motebit",
	    NULL));
	const uint8_t	*m = (const uint8_t *)"motebit";
	char		 buf[256];
	uint8_t		 raw[64];
	char		 b64[B64URL_LEN(64) + 3];

	ck_assert_int_eq(ed25519_verify_hex(pub, m, 7, sig), 0);
	/* Truncated, extended, non-hex, NULL. */
	snprintf(buf, sizeof(buf), "%.127s", sig);
	ck_assert_int_eq(ed25519_verify_hex(pub, m, 7, buf), -1);
	snprintf(buf, sizeof(buf), "%s0", sig);
	ck_assert_int_eq(ed25519_verify_hex(pub, m, 7, buf), -1);
	snprintf(buf, sizeof(buf), "%s", sig);
	buf[0] = 'g';
	ck_assert_int_eq(ed25519_verify_hex(pub, m, 7, buf), -1);
	snprintf(buf, sizeof(buf), "%.63s", pub);
	ck_assert_int_eq(ed25519_verify_hex(buf, m, 7, sig), -1);
	snprintf(buf, sizeof(buf), "%s00", pub);
	ck_assert_int_eq(ed25519_verify_hex(buf, m, 7, sig), -1);
	ck_assert_int_eq(ed25519_verify_hex(NULL, m, 7, sig), -1);
	ck_assert_int_eq(ed25519_verify_hex(pub, m, 7, NULL), -1);
	ck_assert_int_eq(ed25519_verify_hex(pub, NULL, 7, sig), -1);
	/* The wrong key. */
	ck_assert_int_eq(ed25519_verify_hex(pub_named("A"), m, 7, sig), -1);

	/* The same signature as base64url, padded, and malformed. */
	ck_assert_int_eq(hex_decode(sig, raw, 64), 0);
	b64url_encode(raw, 64, b64);
	ck_assert_uint_eq(strlen(b64), 86);
	ck_assert_int_eq(ed25519_verify_b64url(pub, m, 7, b64), 0);
	snprintf(buf, sizeof(buf), "%s==", b64);
	ck_assert_int_eq(ed25519_verify_b64url(pub, m, 7, buf), 0);
	snprintf(buf, sizeof(buf), "%sAA", b64);	/* 65 bytes */
	ck_assert_int_eq(ed25519_verify_b64url(pub, m, 7, buf), -1);
	b64url_encode(raw, 63, buf);			/* 63 bytes */
	ck_assert_int_eq(ed25519_verify_b64url(pub, m, 7, buf), -1);
	snprintf(buf, sizeof(buf), "%s", b64);
	buf[5] = '.';
	ck_assert_int_eq(ed25519_verify_b64url(pub, m, 7, buf), -1);
	ck_assert_int_eq(ed25519_verify_b64url(pub, m, 7, ""), -1);
	ck_assert_int_eq(ed25519_verify_b64url("xx", m, 7, b64), -1);
	ck_assert_int_eq(ed25519_verify_b64url(pub, m, 7, NULL), -1);
}
END_TEST

/*
 * Signing templates and federation messages
 */

START_TEST(test_handshake)
{
	const char	*nonce_a, *nonce_b;
	char		 msg[256];
	int		 n;

	nonce_a = jstr(vget("handshake", "propose_request", "nonce", NULL));
	nonce_b = jstr(vget("handshake", "propose_response_nonce", NULL));
	ck_assert_str_eq(jstr(vget("handshake", "propose_request",
	    "relay_id", NULL)), RELAY_A);

	/* The responder (B) signs the proposer's id and nonce. */
	n = msg_handshake(msg, sizeof(msg), RELAY_A, nonce_a);
	ck_assert_str_eq(msg, jstr(vget("handshake",
	    "responder_challenge_message", NULL)));
	ck_assert_int_eq(n, (int)strlen(msg));
	check_sign_hex("B", msg, (size_t)n, jstr(vget("handshake",
	    "responder_challenge_sig_by_B", NULL)));

	/* The proposer (A) signs its own id and the responder's nonce. */
	n = msg_handshake(msg, sizeof(msg), RELAY_A, nonce_b);
	ck_assert_str_eq(msg, jstr(vget("handshake", "confirm_message",
	    NULL)));
	check_sign_hex("A", msg, (size_t)n, jstr(vget("handshake",
	    "confirm_challenge_response_sig_by_A", NULL)));

	/* Too small a buffer: -1 and an empty string. */
	ck_assert_int_eq(msg_handshake(msg, (size_t)n + 1, RELAY_A, nonce_b),
	    n);
	ck_assert_int_eq(msg_handshake(msg, (size_t)n, RELAY_A, nonce_b), -1);
	ck_assert_str_eq(msg, "");
	ck_assert_int_eq(msg_handshake(NULL, 0, RELAY_A, nonce_b), -1);
}
END_TEST

START_TEST(test_heartbeat)
{
	json_t	*body;
	char	 msg[256];
	int	 n;

	body = vget("heartbeat", "body", NULL);
	ck_assert_int_eq(json_integer_value(json_object_get(body,
	    "timestamp")), TS);
	n = msg_heartbeat(msg, sizeof(msg), RELAY_A, TS);
	ck_assert_str_eq(msg, jstr(vget("heartbeat", "message", NULL)));
	check_sign_hex("A", msg, (size_t)n,
	    jstr(json_object_get(body, "signature")));

	ck_assert_int_eq(msg_heartbeat(msg, (size_t)n + 1, RELAY_A, TS), n);
	ck_assert_int_eq(msg_heartbeat(msg, (size_t)n, RELAY_A, TS), -1);
	n = msg_heartbeat(msg, sizeof(msg), "r", -5);
	ck_assert_str_eq(msg, "r|-5|motebit-concat-ed25519-hex-v1");
}
END_TEST

START_TEST(test_peer_remove)
{
	const char	*id;

	id = jstr(vget("peer_remove", "message", NULL));
	ck_assert_str_eq(id, RELAY_A);
	ck_assert_str_eq(jstr(vget("peer_remove", "body", "relay_id", NULL)),
	    id);
	check_sign_hex("A", id, strlen(id), jstr(vget("peer_remove", "body",
	    "signature", NULL)));
}
END_TEST

START_TEST(test_revocation)
{
	char	 msg[256];
	int	 n;

	n = msg_revocation(msg, sizeof(msg), "agent_revoked",
	    "019dc3f3-6027-73ca-b877-0cf9141c0b72", TS);
	ck_assert_str_eq(msg, jstr(vget("revocation_event", "message",
	    NULL)));
	check_sign_hex("A", msg, (size_t)n, jstr(vget("revocation_event",
	    "signature_by_A", NULL)));
	ck_assert_int_eq(msg_revocation(msg, (size_t)n, "agent_revoked",
	    "019dc3f3-6027-73ca-b877-0cf9141c0b72", TS), -1);
}
END_TEST

/* discover, task/forward, settlement/forward: JCS bodies signed by A. */
START_TEST(test_jcs_bodies)
{
	const char	*names[] = { "discover", "task_forward",
	    "settlement_forward" };
	const char	*canon;
	size_t		 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		canon = jstr(vget(names[i], "canonical", NULL));
		check_sign_hex("A", canon, strlen(canon),
		    jstr(vget(names[i], "signature_by_A", NULL)));
	}
}
END_TEST

/*
 * The canonical text of a signed record without its "signature" member:
 * the member is one "key":"value" pair of a sorted object, and base64url
 * needs no escaping, so cut it out with its separating comma.
 */
static char *
strip_signature(const char *canon)
{
	const char	*key = "\"signature\":\"";
	const char	*p, *end;
	char		*out;
	size_t		 len = strlen(canon);

	p = strstr(canon, key);
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_null(strstr(p + 1, key));
	end = strchr(p + strlen(key), '"');
	ck_assert_ptr_nonnull(end);
	end++;
	ck_assert_ptr_nonnull(out = malloc(len + 1));
	if (p[-1] == ',') {
		p--;			/* ,"signature":"..." */
	} else {
		ck_assert_int_eq(p[-1], '{');
		if (*end == ',')	/* {"signature":"...", */
			end++;
	}
	memcpy(out, canon, (size_t)(p - canon));
	strlcpy(out + (p - canon), end, len + 1 - (size_t)(p - canon));
	return (out);
}

START_TEST(test_federation_settlement)
{
	json_t		*records, *r, *rec, *parsed, *unsigned_rec;
	json_error_t	 jerr;
	const char	*canon, *sig, *batch;
	char		*stripped, b64[B64URL_LEN(64) + 1], *bad;
	uint8_t		 raw[64];
	EVP_PKEY	*b;
	size_t		 i;

	records = vget("federation_settlement", "records", NULL);
	ck_assert_uint_eq(json_array_size(records), 3);
	b = key_named("B");
	json_array_foreach(records, i, r) {
		rec = json_object_get(r, "record");
		canon = jstr(json_object_get(r, "canonical"));
		sig = jstr(json_object_get(rec, "signature"));

		/* The stripped text is exactly the record minus signature. */
		stripped = strip_signature(canon);
		ck_assert_ptr_null(strstr(stripped, "signature"));
		ck_assert_uint_eq(strlen(stripped), strlen(canon) -
		    strlen(",\"signature\":\"\"") - strlen(sig));
		parsed = json_loads(stripped, 0, &jerr);
		ck_assert_msg(parsed != NULL, "stripped record: %s",
		    jerr.text);
		unsigned_rec = json_deep_copy(rec);
		ck_assert_int_eq(json_object_del(unsigned_rec, "signature"),
		    0);
		ck_assert_msg(json_equal(parsed, unsigned_rec),
		    "stripped record %zu differs", i);

		ck_assert_int_eq(ed25519_verify_b64url(pub_named("B"),
		    (const uint8_t *)stripped, strlen(stripped), sig), 0);
		/* Over the text with the signature in, it does not verify. */
		ck_assert_int_eq(ed25519_verify_b64url(pub_named("B"),
		    (const uint8_t *)canon, strlen(canon), sig), -1);
		ck_assert_int_eq(ed25519_verify_b64url(pub_named("A"),
		    (const uint8_t *)stripped, strlen(stripped), sig), -1);
		/* Deterministic: B re-signs to the same base64url. */
		ck_assert_int_eq(ed25519_sign(b, (const uint8_t *)stripped,
		    strlen(stripped), raw), 0);
		b64url_encode(raw, sizeof(raw), b64);
		ck_assert_str_eq(b64, sig);
		/* One changed character of the record fails. */
		bad = strdup(stripped);
		ck_assert_ptr_nonnull(bad);
		*strstr(bad, "950000") = '8';
		ck_assert_int_eq(ed25519_verify_b64url(pub_named("B"),
		    (const uint8_t *)bad, strlen(bad), sig), -1);
		free(bad);

		json_decref(parsed);
		json_decref(unsigned_rec);
		free(stripped);
	}
	EVP_PKEY_free(b);

	batch = jstr(vget("federation_settlement", "batch_payload_canonical",
	    NULL));
	check_sign_hex("B", batch, strlen(batch), jstr(vget(
	    "federation_settlement", "batch_signature_hex_by_B", NULL)));
}
END_TEST

START_TEST(test_signed_token)
{
	const char	*token, *payload_json, *dot;
	char		*tok, b64[1024], *p;
	uint8_t		 payload[1024], seed[32], pub[32], sig[64];
	char		 pubhex[65];
	EVP_PKEY	*w;
	int		 n;

	token = jstr(vget("signed_token", "token", NULL));
	payload_json = jstr(vget("signed_token", "payload_json", NULL));
	ck_assert_int_eq(hex_decode(jstr(vget("signed_token", "signer_seed",
	    NULL)), seed, 32), 0);
	w = ed25519_from_seed(seed);
	ck_assert_int_eq(ed25519_public(w, pub), 0);
	hex_encode(pub, 32, pubhex);
	ck_assert_str_eq(pubhex, pub_named("W"));

	/* Split at the one '.', decode the payload, verify its bytes. */
	dot = strchr(token, '.');
	ck_assert_ptr_nonnull(dot);
	ck_assert_ptr_null(strchr(dot + 1, '.'));
	n = b64url_decode(token, (size_t)(dot - token), payload,
	    sizeof(payload));
	ck_assert_int_eq(n, (int)strlen(payload_json));
	ck_assert_mem_eq(payload, payload_json, (size_t)n);
	ck_assert_int_eq(ed25519_verify_b64url(pubhex, payload, (size_t)n,
	    dot + 1), 0);

	/* W re-creates the very same token. */
	ck_assert_int_eq(ed25519_sign(w, (const uint8_t *)payload_json,
	    strlen(payload_json), sig), 0);
	p = b64;
	p += b64url_encode((const uint8_t *)payload_json,
	    strlen(payload_json), p);
	*p++ = '.';
	b64url_encode(sig, sizeof(sig), p);
	ck_assert_str_eq(b64, token);
	EVP_PKEY_free(w);

	/* Tampered payload: still decodes, no longer verifies. */
	tok = strdup(token);
	ck_assert_ptr_nonnull(tok);
	tok[20] = tok[20] == 'A' ? 'B' : 'A';
	dot = strchr(tok, '.');
	n = b64url_decode(tok, (size_t)(dot - tok), payload, sizeof(payload));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(ed25519_verify_b64url(pubhex, payload, (size_t)n,
	    dot + 1), -1);
	free(tok);
	/* Tampered signature. */
	tok = strdup(token);
	ck_assert_ptr_nonnull(tok);
	p = strchr(tok, '.') + 10;
	*p = *p == 'A' ? 'B' : 'A';
	ck_assert_int_eq(ed25519_verify_b64url(pubhex, (const uint8_t *)
	    payload_json, strlen(payload_json), strchr(tok, '.') + 1), -1);
	free(tok);
}
END_TEST

START_TEST(test_execution_receipt)
{
	const char	*canon, *sig;
	json_t		*receipt;

	canon = jstr(vget("execution_receipt", "canonical", NULL));
	receipt = vget("execution_receipt", "receipt", NULL);
	sig = jstr(json_object_get(receipt, "signature"));
	ck_assert_str_eq(jstr(json_object_get(receipt, "public_key")),
	    pub_named("W"));
	/* The canonical text carries U+2014 as UTF-8. */
	ck_assert_ptr_nonnull(strstr(canon, "hello \xe2\x80\x94 world"));
	ck_assert_int_eq(ed25519_verify_b64url(pub_named("W"),
	    (const uint8_t *)canon, strlen(canon), sig), 0);
	ck_assert_int_eq(ed25519_verify_b64url(pub_named("A"),
	    (const uint8_t *)canon, strlen(canon), sig), -1);
	ck_assert_int_eq(ed25519_verify_b64url(pub_named("W"),
	    (const uint8_t *)canon, strlen(canon) - 1, sig), -1);
}
END_TEST

/*
 * Hashes
 */

START_TEST(test_sha256)
{
	uint8_t	 md[SHA256_LEN], pub[32];
	char	 hex[65];

	sha256("", 0, md);
	hex_encode(md, sizeof(md), hex);
	ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
	sha256(NULL, 0, md);
	hex_encode(md, sizeof(md), hex);
	ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
	sha256("abc", 3, md);
	hex_encode(md, sizeof(md), hex);
	ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");

	ck_assert_int_eq(hex_decode(pub_named("A"), pub, 32), 0);
	pubkey_fingerprint(pub, hex);
	ck_assert_str_eq(hex, "34750f98bd59fcfc946da45aaabe933b"
	    "e154a4b5094e1c4abf42866505f3c97e");
}
END_TEST

/*
 * PEM key files
 */

/* RFC 8410 section 10.3 and its public key from section 10.1. */
static const char rfc8410_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n"
    "-----END PRIVATE KEY-----\n";

/* Key A (seed 01 x 32) as written by Python cryptography. */
static const char key_a_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB\n"
    "-----END PRIVATE KEY-----\n";

START_TEST(test_pem_known)
{
	EVP_PKEY	*pkey;
	uint8_t		 pub[32];
	char		 hex[65], err[256], *pem;
	size_t		 len;

	pkey = ed25519_pem_read(rfc8410_pem, strlen(rfc8410_pem), NULL, err,
	    sizeof(err));
	ck_assert_msg(pkey != NULL, "%s", err);
	ck_assert_int_eq(ed25519_public(pkey, pub), 0);
	hex_encode(pub, 32, hex);
	ck_assert_str_eq(hex, "19bf44096984cdfe8541bac167dc3b96"
	    "c85086aa30b6b6cb0c5c38ad703166e1");
	EVP_PKEY_free(pkey);

	/* Writing is byte-for-byte what other PKCS#8 writers produce. */
	pkey = key_named("A");
	pem = ed25519_pem_write(pkey, NULL, &len);
	ck_assert_ptr_nonnull(pem);
	ck_assert_uint_eq(len, strlen(key_a_pem));
	ck_assert_str_eq(pem, key_a_pem);
	freezero(pem, len);
	EVP_PKEY_free(pkey);
}
END_TEST

START_TEST(test_pem_roundtrip)
{
	EVP_PKEY	*pkey, *back;
	uint8_t		 pub[32], pub2[32], sig[64], sig2[64];
	char		 err[256], *pem, pass[PEM_BUFSIZE + 1];
	size_t		 len;

	pkey = ed25519_generate();
	ck_assert_ptr_nonnull(pkey);
	ck_assert_int_eq(ed25519_public(pkey, pub), 0);
	ck_assert_int_eq(ed25519_sign(pkey, (const uint8_t *)"m", 1, sig), 0);

	/* Plain. */
	pem = ed25519_pem_write(pkey, NULL, &len);
	ck_assert_ptr_nonnull(pem);
	ck_assert_uint_eq(strlen(pem), len);
	ck_assert_int_eq(strncmp(pem, "-----BEGIN PRIVATE KEY-----\n", 28),
	    0);
	back = ed25519_pem_read(pem, len, NULL, err, sizeof(err));
	ck_assert_msg(back != NULL, "%s", err);
	ck_assert_int_eq(ed25519_public(back, pub2), 0);
	ck_assert_mem_eq(pub, pub2, 32);
	ck_assert_int_eq(ed25519_sign(back, (const uint8_t *)"m", 1, sig2),
	    0);
	ck_assert_mem_eq(sig, sig2, 64);
	EVP_PKEY_free(back);
	/* A passphrase given for a plain file is not needed, not harmful. */
	back = ed25519_pem_read(pem, len, "unused", err, sizeof(err));
	ck_assert_msg(back != NULL, "%s", err);
	EVP_PKEY_free(back);
	freezero(pem, len);

	/* Encrypted. */
	pem = ed25519_pem_write(pkey, "correct horse battery", &len);
	ck_assert_ptr_nonnull(pem);
	ck_assert_int_eq(strncmp(pem,
	    "-----BEGIN ENCRYPTED PRIVATE KEY-----\n", 38), 0);
	back = ed25519_pem_read(pem, len, "correct horse battery", err,
	    sizeof(err));
	ck_assert_msg(back != NULL, "%s", err);
	ck_assert_int_eq(ed25519_public(back, pub2), 0);
	ck_assert_mem_eq(pub, pub2, 32);
	EVP_PKEY_free(back);

	/* Wrong passphrase, no passphrase: refused with a message. */
	err[0] = '\0';
	ck_assert_ptr_null(ed25519_pem_read(pem, len, "correct horse batterY",
	    err, sizeof(err)));
	ck_assert_str_ne(err, "");
	ck_assert_ptr_nonnull(strstr(err, "passphrase"));
	err[0] = '\0';
	ck_assert_ptr_null(ed25519_pem_read(pem, len, NULL, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "no passphrase"));
	ck_assert_ptr_null(ed25519_pem_read(pem, len, "", err, sizeof(err)));
	/* Truncated file. */
	ck_assert_ptr_null(ed25519_pem_read(pem, len / 2, "correct horse "
	    "battery", err, sizeof(err)));
	freezero(pem, len);

	/* The longest passphrase OpenSSL can hand back still works. */
	memset(pass, 'p', sizeof(pass));
	pass[PEM_BUFSIZE - 1] = '\0';
	pem = ed25519_pem_write(pkey, pass, &len);
	ck_assert_ptr_nonnull(pem);
	back = ed25519_pem_read(pem, len, pass, err, sizeof(err));
	ck_assert_msg(back != NULL, "%s", err);
	EVP_PKEY_free(back);
	freezero(pem, len);
	/* Longer, or empty, is refused when writing. */
	pass[PEM_BUFSIZE - 1] = 'p';
	pass[PEM_BUFSIZE] = '\0';
	ck_assert_ptr_null(ed25519_pem_write(pkey, pass, &len));
	ck_assert_ptr_null(ed25519_pem_write(pkey, "", &len));
	ck_assert_ptr_null(ed25519_pem_write(NULL, NULL, &len));

	/* lenp may be NULL. */
	pem = ed25519_pem_write(pkey, NULL, NULL);
	ck_assert_ptr_nonnull(pem);
	free(pem);
	EVP_PKEY_free(pkey);
}
END_TEST

/* PEM text of any private key, through OpenSSL's own writer. */
static char *
other_pem(EVP_PKEY *pkey, const char *pass)
{
	BIO	*bio;
	BUF_MEM	*bm;
	char	*out;

	ck_assert_ptr_nonnull(pkey);
	bio = BIO_new(BIO_s_mem());
	ck_assert_ptr_nonnull(bio);
	ck_assert_int_eq(PEM_write_bio_PKCS8PrivateKey(bio, pkey,
	    pass != NULL ? EVP_aes_256_cbc() : NULL, pass,
	    pass != NULL ? (int)strlen(pass) : 0, NULL, NULL), 1);
	BIO_get_mem_ptr(bio, &bm);
	out = strndup(bm->data, bm->length);
	ck_assert_ptr_nonnull(out);
	BIO_free(bio);
	return (out);
}

START_TEST(test_pem_other_types)
{
	EVP_PKEY	*ec, *ed448, *x25519;
	char		*pem, err[256];

	ec = EVP_EC_gen("P-256");
	pem = other_pem(ec, NULL);
	ck_assert_ptr_nonnull(strstr(pem, "BEGIN PRIVATE KEY"));
	err[0] = '\0';
	ck_assert_ptr_null(ed25519_pem_read(pem, strlen(pem), NULL, err,
	    sizeof(err)));
	ck_assert_msg(strstr(err, "not Ed25519") != NULL, "err: %s", err);
	ck_assert_ptr_nonnull(strstr(err, "EC"));
	free(pem);
	pem = other_pem(ec, "pw");
	ck_assert_ptr_null(ed25519_pem_read(pem, strlen(pem), "pw", err,
	    sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "not Ed25519"));
	free(pem);
	/* Not usable as an Ed25519 key elsewhere either. */
	ck_assert_ptr_null(ed25519_pem_write(ec, NULL, NULL));
	ck_assert_int_eq(ed25519_public(ec, (uint8_t [32]){ 0 }), -1);
	ck_assert_int_eq(ed25519_sign(ec, (const uint8_t *)"x", 1,
	    (uint8_t [64]){ 0 }), -1);
	EVP_PKEY_free(ec);

	/* Its close relatives are not Ed25519 either. */
	ed448 = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
	pem = other_pem(ed448, NULL);
	ck_assert_ptr_null(ed25519_pem_read(pem, strlen(pem), NULL, err,
	    sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "not Ed25519"));
	free(pem);
	EVP_PKEY_free(ed448);
	x25519 = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	pem = other_pem(x25519, NULL);
	ck_assert_ptr_null(ed25519_pem_read(pem, strlen(pem), NULL, err,
	    sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "not Ed25519"));
	free(pem);
	EVP_PKEY_free(x25519);

	/* Not PEM at all. */
	err[0] = '\0';
	ck_assert_ptr_null(ed25519_pem_read("hello", 5, NULL, err,
	    sizeof(err)));
	ck_assert_str_ne(err, "");
	ck_assert_ptr_null(ed25519_pem_read("", 0, NULL, NULL, 0));
}
END_TEST

static Suite *
crypto_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("crypto");
	tc = tcase_create("ed25519");
	tcase_add_test(tc, test_keys);
	tcase_add_test(tc, test_frozen42);
	tcase_add_test(tc, test_rfc8032);
	tcase_add_test(tc, test_generate);
	tcase_add_test(tc, test_verify_malformed);
	suite_add_tcase(s, tc);
	tc = tcase_create("federation");
	tcase_add_test(tc, test_handshake);
	tcase_add_test(tc, test_heartbeat);
	tcase_add_test(tc, test_peer_remove);
	tcase_add_test(tc, test_revocation);
	tcase_add_test(tc, test_jcs_bodies);
	tcase_add_test(tc, test_federation_settlement);
	tcase_add_test(tc, test_signed_token);
	tcase_add_test(tc, test_execution_receipt);
	suite_add_tcase(s, tc);
	tc = tcase_create("hash");
	tcase_add_test(tc, test_sha256);
	suite_add_tcase(s, tc);
	tc = tcase_create("pem");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_pem_known);
	tcase_add_test(tc, test_pem_roundtrip);
	tcase_add_test(tc, test_pem_other_types);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	return (vectors_main(crypto_suite()));
}
