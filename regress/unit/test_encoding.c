/*
 * Unit tests for common/encoding.c: hex, base64url, base58btc, did:key,
 * UUIDs, relay ids and the clock.  Known answers come from RFC 4648, the
 * Bitcoin base58 test set and the keys of Appendix B (VECTORS_DIR).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>
#include <jansson.h>
#include <openssl/rand.h>

#include "encoding.h"
#include "vectors.h"


static const char *
vstr(const char *obj, const char *key, const char *field)
{
	json_t	*v;

	v = json_object_get(json_object_get(json_object_get(vectors, obj),
	    key), field);
	ck_assert_msg(json_is_string(v), "vector %s.%s.%s missing", obj, key,
	    field);
	return (json_string_value(v));
}

static void
unhex(const char *s, uint8_t *out, size_t len)
{
	ck_assert_int_eq(hex_decode(s, out, len), 0);
}

/*
 * Hex
 */

START_TEST(test_hex_encode)
{
	const uint8_t	 in[] = { 0x00, 0xff, 0x10, 0xab, 0x7f };
	char		 out[2 * sizeof(in) + 1];

	ck_assert_uint_eq(hex_encode(in, sizeof(in), out), 10);
	ck_assert_str_eq(out, "00ff10ab7f");
	ck_assert_uint_eq(hex_encode(in, 0, out), 0);
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_hex_decode)
{
	uint8_t	 out[4];

	ck_assert_int_eq(hex_decode("00ff10ab", out, 4), 0);
	ck_assert_int_eq(out[0], 0x00);
	ck_assert_int_eq(out[1], 0xff);
	ck_assert_int_eq(out[2], 0x10);
	ck_assert_int_eq(out[3], 0xab);
	/* Upper case digits are hex too (the reference's parseInt). */
	ck_assert_int_eq(hex_decode("DEADbeef", out, 4), 0);
	ck_assert_int_eq(out[0], 0xde);
	ck_assert_int_eq(out[3], 0xef);
	ck_assert_int_eq(hex_decode("", out, 0), 0);
}
END_TEST

START_TEST(test_hex_reject)
{
	const char	*bad[] = {
		"abc",		/* odd */
		"abcdef",	/* too short for 4 */
		"0011223344",	/* too long for 4 */
		"0g112233",	/* not hex */
		"0x112233",
		" 0112233",
		"0011223 ",
		"001122-3",
		"",
	};
	uint8_t		 out[4];
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(out, 0xaa, sizeof(out));
		ck_assert_msg(hex_decode(bad[i], out, 4) == -1,
		    "hex \"%s\" accepted", bad[i]);
		/* Nothing written on error. */
		ck_assert_int_eq(out[0], 0xaa);
		ck_assert_int_eq(out[3], 0xaa);
	}
	ck_assert_int_eq(hex_decode("00", out, 0), -1);
	ck_assert_int_eq(hex_decode("0", out, 1), -1);
	/* Embedded NUL: the string is shorter than it looks. */
	ck_assert_int_eq(hex_decode("00\0" "0", out, 2), -1);
	/* Absurd lengths do not overflow. */
	ck_assert_int_eq(hex_decode("00", out, SIZE_MAX / 2 + 1), -1);
	ck_assert_int_eq(hex_decode("00", out, SIZE_MAX), -1);
}
END_TEST

START_TEST(test_hex_roundtrip)
{
	uint8_t	 in[100], back[100];
	char	 s[201];
	size_t	 len;

	for (len = 0; len <= sizeof(in); len++) {
		ck_assert_int_eq(RAND_bytes(in, sizeof(in)), 1);
		ck_assert_uint_eq(hex_encode(in, len, s), 2 * len);
		ck_assert_uint_eq(strlen(s), 2 * len);
		ck_assert_int_eq(hex_decode(s, back, len), 0);
		ck_assert_mem_eq(in, back, len);
	}
}
END_TEST

/*
 * base64url
 */

static const struct {
	const char	*raw;
	const char	*enc;
} rfc4648[] = {
	{ "", "" },
	{ "f", "Zg" },
	{ "fo", "Zm8" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg" },
	{ "fooba", "Zm9vYmE" },
	{ "foobar", "Zm9vYmFy" },
};

START_TEST(test_b64url_rfc4648)
{
	char	 out[16];
	uint8_t	 back[16];
	size_t	 i, len;

	for (i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
		len = strlen(rfc4648[i].raw);
		ck_assert_uint_eq(B64URL_LEN(len), strlen(rfc4648[i].enc));
		ck_assert_uint_eq(b64url_encode((const uint8_t *)
		    rfc4648[i].raw, len, out), strlen(rfc4648[i].enc));
		ck_assert_str_eq(out, rfc4648[i].enc);
		ck_assert_int_eq(b64url_decode(rfc4648[i].enc,
		    strlen(rfc4648[i].enc), back, sizeof(back)), (int)len);
		ck_assert_mem_eq(back, rfc4648[i].raw, len);
		/* Exactly enough room is enough. */
		ck_assert_int_eq(b64url_decode(rfc4648[i].enc,
		    strlen(rfc4648[i].enc), back, len), (int)len);
		if (len > 0)
			ck_assert_int_eq(b64url_decode(rfc4648[i].enc,
			    strlen(rfc4648[i].enc), back, len - 1), -1);
	}
}
END_TEST

START_TEST(test_b64url_alphabet)
{
	const uint8_t	 in[] = { 0xfb, 0xff, 0xbf };
	char		 out[8];
	uint8_t		 back[8];

	ck_assert_uint_eq(b64url_encode(in, 3, out), 4);
	ck_assert_str_eq(out, "-_-_");
	ck_assert_uint_eq(b64url_encode(in, 2, out), 3);
	ck_assert_str_eq(out, "-_8");

	/* Standard base64, padding, and a mixture, as the reference. */
	ck_assert_int_eq(b64url_decode("+/+/", 4, back, sizeof(back)), 3);
	ck_assert_mem_eq(back, in, 3);
	ck_assert_int_eq(b64url_decode("+/8=", 4, back, sizeof(back)), 2);
	ck_assert_mem_eq(back, in, 2);
	ck_assert_int_eq(b64url_decode("-_8=", 4, back, sizeof(back)), 2);
	ck_assert_mem_eq(back, in, 2);
	ck_assert_int_eq(b64url_decode("+_8", 3, back, sizeof(back)), 2);
	ck_assert_mem_eq(back, in, 2);
	ck_assert_int_eq(b64url_decode("Zm9vYg==", 8, back, sizeof(back)),
	    4);
	ck_assert_mem_eq(back, "foob", 4);
	ck_assert_int_eq(b64url_decode("Zm9vYmE=", 8, back, sizeof(back)),
	    5);
	ck_assert_mem_eq(back, "fooba", 5);
	/* slen, not the NUL, bounds the input. */
	ck_assert_int_eq(b64url_decode("Zm9vYmFy", 4, back, sizeof(back)),
	    3);
	ck_assert_mem_eq(back, "foo", 3);
}
END_TEST

START_TEST(test_b64url_reject)
{
	const char	*bad[] = {
		"Z",		/* one character left over: impossible */
		"Zm9vY",
		"Zh",		/* trailing bits set (Zg is "f") */
		"Zm9",		/* trailing bits set (Zm8 is "fo") */
		"Zg=",		/* padding without a multiple of four */
		"Zg===",
		"Z===",		/* padding, then still impossible */
		"Zm9v====",
		"=Zg=",		/* '=' elsewhere than at the end */
		"Zg=g",
		"Zm 9v",	/* whitespace */
		"Zm9v\n",
		"Zm9.",		/* other characters */
		"Zm9v*A",
		"\xc3\xa9Zm",
		"=",
		"==",
		"====",
	};
	uint8_t		 out[16];
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(out, 0xaa, sizeof(out));
		ck_assert_msg(b64url_decode(bad[i], strlen(bad[i]), out,
		    sizeof(out)) == -1, "base64url \"%s\" accepted", bad[i]);
		ck_assert_int_eq(out[0], 0xaa);
	}
	/* An embedded NUL inside slen is a bad character. */
	ck_assert_int_eq(b64url_decode("Zm9v\0AAA", 8, out, sizeof(out)), -1);
	/* Room for the output is checked. */
	ck_assert_int_eq(b64url_decode("Zm9vYmFy", 8, out, 5), -1);
	ck_assert_int_eq(b64url_decode("Zm9vYmFy", 8, out, 0), -1);
}
END_TEST

START_TEST(test_b64url_roundtrip)
{
	uint8_t	 in[100], back[100];
	char	 s[B64URL_LEN(100) + 1];
	size_t	 len;

	for (len = 0; len <= sizeof(in); len++) {
		ck_assert_int_eq(RAND_bytes(in, sizeof(in)), 1);
		ck_assert_uint_eq(b64url_encode(in, len, s), B64URL_LEN(len));
		ck_assert_uint_eq(strlen(s), B64URL_LEN(len));
		ck_assert_ptr_null(strchr(s, '='));
		ck_assert_ptr_null(strchr(s, '+'));
		ck_assert_ptr_null(strchr(s, '/'));
		ck_assert_int_eq(b64url_decode(s, strlen(s), back, len),
		    (int)len);
		ck_assert_mem_eq(in, back, len);
	}
}
END_TEST

/*
 * base58btc
 */

static const struct {
	const char	*hex;
	const char	*b58;
} b58vec[] = {
	{ "", "" },
	{ "61", "2g" },
	{ "626262", "a3gV" },
	{ "636363", "aPEr" },
	{ "73696d706c792061206c6f6e6720737472696e67",
	    "2cFupjhnEsSn59qHXstmK2ffpLv2" },
	{ "00eb15231dfceb60925886b67d065299925915aeb172c06647",
	    "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L" },
	{ "516b6fcd0f", "ABnLTmg" },
	{ "bf4f89001e670274dd", "3SEo3LWLoPntC" },
	{ "572e4794", "3EFU7m" },
	{ "ecac89cad93923c02321", "EJDM8drfXA6uyA" },
	{ "10c8511e", "Rt5zm" },
	{ "00000000000000000000", "1111111111" },
	{ "00", "1" },
	{ "0000ff", "115Q" },
	/* "Hello World!" */
	{ "48656c6c6f20576f726c6421", "2NEpo7TZRRrLZSi2U" },
};

START_TEST(test_base58_vectors)
{
	uint8_t	 raw[64], back[64];
	char	 out[128];
	size_t	 i, len;

	for (i = 0; i < sizeof(b58vec) / sizeof(b58vec[0]); i++) {
		len = strlen(b58vec[i].hex) / 2;
		unhex(b58vec[i].hex, raw, len);
		ck_assert_int_eq(base58_encode(raw, len, out, sizeof(out)),
		    (int)strlen(b58vec[i].b58));
		ck_assert_str_eq(out, b58vec[i].b58);
		ck_assert_int_eq(base58_decode(b58vec[i].b58, back,
		    sizeof(back)), (int)len);
		ck_assert_mem_eq(back, raw, len);

		/* Exact sizes work, one less does not. */
		ck_assert_int_eq(base58_encode(raw, len, out,
		    strlen(b58vec[i].b58) + 1), (int)strlen(b58vec[i].b58));
		ck_assert_int_eq(base58_encode(raw, len, out,
		    strlen(b58vec[i].b58)), -1);
		ck_assert_int_eq(base58_decode(b58vec[i].b58, back, len),
		    (int)len);
		if (len > 0)
			ck_assert_int_eq(base58_decode(b58vec[i].b58, back,
			    len - 1), -1);
	}
}
END_TEST

START_TEST(test_base58_reject)
{
	const char	*bad[] = { "0", "O", "I", "l", "2g0", "a3g V", "+",
	    "2g\n", "\xc3\xa9" };
	uint8_t		 out[16];
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(base58_decode(bad[i], out, sizeof(out)) == -1,
		    "base58 \"%s\" accepted", bad[i]);
}
END_TEST

START_TEST(test_base58_roundtrip)
{
	uint8_t	 in[80], back[80];
	char	 s[200];
	size_t	 len, zeros;
	int	 n;

	for (len = 0; len <= sizeof(in); len++) {
		ck_assert_int_eq(RAND_bytes(in, sizeof(in)), 1);
		/* Some leading zero bytes too. */
		zeros = len % 4;
		memset(in, 0, zeros < len ? zeros : len);
		n = base58_encode(in, len, s, sizeof(s));
		ck_assert_int_ge(n, 0);
		ck_assert_uint_eq(strlen(s), (size_t)n);
		ck_assert_int_eq(base58_decode(s, back, sizeof(back)),
		    (int)len);
		ck_assert_mem_eq(in, back, len);
	}
}
END_TEST

/*
 * did:key
 */

START_TEST(test_did_key_vectors)
{
	const char	*names[] = { "A", "B", "W", "frozen42" };
	uint8_t		 pub[32], back[32];
	char		 did[DID_KEY_MAX];
	size_t		 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		unhex(vstr("keys", names[i], "public_key"), pub, 32);
		ck_assert_int_eq(did_key_from_pubkey(pub, did, sizeof(did)),
		    0);
		ck_assert_str_eq(did, vstr("keys", names[i], "did"));
		ck_assert_int_eq(strncmp(did, "did:key:z6Mk", 12), 0);
		ck_assert_int_eq(did_key_to_pubkey(did, back), 0);
		ck_assert_mem_eq(back, pub, 32);
	}
}
END_TEST

START_TEST(test_did_key_roundtrip)
{
	uint8_t	 pub[32], back[32];
	char	 did[DID_KEY_MAX];
	int	 i;

	for (i = 0; i < 200; i++) {
		ck_assert_int_eq(RAND_bytes(pub, sizeof(pub)), 1);
		if (i == 0)
			memset(pub, 0, sizeof(pub));
		if (i == 1)
			memset(pub, 0xff, sizeof(pub));
		ck_assert_int_eq(did_key_from_pubkey(pub, did, sizeof(did)),
		    0);
		ck_assert_int_eq(did_key_to_pubkey(did, back), 0);
		ck_assert_mem_eq(back, pub, 32);
	}
}
END_TEST

START_TEST(test_did_key_reject)
{
	uint8_t		 buf[40], pub[32];
	char		 did[128], tmp[128];
	const char	*a;

	a = vstr("keys", "A", "did");
	unhex(vstr("keys", "A", "public_key"), pub, 32);

	/* Wrong multicodec prefixes: x25519-pub (0xec 0x01), 0xed 0x02. */
	buf[0] = 0xec;
	buf[1] = 0x01;
	memcpy(buf + 2, pub, 32);
	memcpy(did, "did:key:z", 9);
	ck_assert_int_ge(base58_encode(buf, 34, did + 9, sizeof(did) - 9), 0);
	ck_assert_int_eq(did_key_to_pubkey(did, pub), -1);
	buf[0] = 0xed;
	buf[1] = 0x02;
	ck_assert_int_ge(base58_encode(buf, 34, did + 9, sizeof(did) - 9), 0);
	ck_assert_int_eq(did_key_to_pubkey(did, pub), -1);
	/* Right prefix, wrong key length (31 and 33 bytes). */
	buf[1] = 0x01;
	ck_assert_int_ge(base58_encode(buf, 33, did + 9, sizeof(did) - 9), 0);
	ck_assert_int_eq(did_key_to_pubkey(did, pub), -1);
	buf[34] = 0x42;
	ck_assert_int_ge(base58_encode(buf, 35, did + 9, sizeof(did) - 9), 0);
	ck_assert_int_eq(did_key_to_pubkey(did, pub), -1);
	/* A leading zero byte ('1') in front of a good key. */
	snprintf(tmp, sizeof(tmp), "did:key:z1%s", a + 9);
	ck_assert_int_eq(did_key_to_pubkey(tmp, pub), -1);

	/* Wrong method, multibase or form. */
	snprintf(tmp, sizeof(tmp), "did:key:f%s", a + 9);
	ck_assert_int_eq(did_key_to_pubkey(tmp, pub), -1);
	snprintf(tmp, sizeof(tmp), "did:web:z%s", a + 9);
	ck_assert_int_eq(did_key_to_pubkey(tmp, pub), -1);
	snprintf(tmp, sizeof(tmp), "%sX", a);
	ck_assert_int_eq(did_key_to_pubkey(tmp, pub), -1);
	snprintf(tmp, sizeof(tmp), "%s", a);
	tmp[strlen(tmp) - 1] = '\0';
	ck_assert_int_eq(did_key_to_pubkey(tmp, pub), -1);
	snprintf(tmp, sizeof(tmp), "%s", a);
	tmp[20] = '0';		/* not in the alphabet */
	ck_assert_int_eq(did_key_to_pubkey(tmp, pub), -1);
	ck_assert_int_eq(did_key_to_pubkey("did:key:z", pub), -1);
	ck_assert_int_eq(did_key_to_pubkey("", pub), -1);
	ck_assert_int_eq(did_key_to_pubkey(a + 8, pub), -1);
	memset(tmp, '2', sizeof(tmp) - 1);
	tmp[sizeof(tmp) - 1] = '\0';
	memcpy(tmp, "did:key:z", 9);
	ck_assert_int_eq(did_key_to_pubkey(tmp, pub), -1);

	/* The output buffer must be large enough. */
	ck_assert_int_eq(did_key_from_pubkey(pub, tmp, strlen(a) + 1), 0);
	ck_assert_str_eq(tmp, a);
	ck_assert_int_eq(did_key_from_pubkey(pub, tmp, strlen(a)), -1);
	ck_assert_int_eq(did_key_from_pubkey(pub, tmp, 5), -1);
	ck_assert_int_eq(did_key_from_pubkey(pub, tmp, 0), -1);
}
END_TEST

/*
 * UUIDs, relay ids, clock
 */

START_TEST(test_uuid_v4)
{
	char	 u[UUID_STR_LEN + 1], prev[UUID_STR_LEN + 1] = "";
	int	 i;

	for (i = 0; i < 1000; i++) {
		memset(u, 'x', sizeof(u));
		uuid_v4(u);
		ck_assert_uint_eq(strlen(u), UUID_STR_LEN);
		ck_assert_int_eq(uuid_valid(u), 1);
		ck_assert_int_eq(u[14], '4');
		ck_assert_ptr_nonnull(strchr("89ab", u[19]));
		ck_assert_str_ne(u, prev);
		memcpy(prev, u, sizeof(u));
	}
}
END_TEST

START_TEST(test_uuid_v7)
{
	char	 u[UUID_STR_LEN + 1], ts[13], expect[13];
	int64_t	 ms = 1760000000000LL;
	int	 i;

	snprintf(expect, sizeof(expect), "%012llx", (long long)ms);
	for (i = 0; i < 1000; i++) {
		uuid_v7(u, ms);
		ck_assert_int_eq(uuid_valid(u), 1);
		ck_assert_int_eq(u[14], '7');
		ck_assert_ptr_nonnull(strchr("89ab", u[19]));
		memcpy(ts, u, 8);
		memcpy(ts + 8, u + 9, 4);
		ts[12] = '\0';
		ck_assert_str_eq(ts, expect);
	}
	uuid_v7(u, 0);
	ck_assert_int_eq(strncmp(u, "00000000-0000-7", 15), 0);
	uuid_v7(u, 0xffffffffffffLL);
	ck_assert_int_eq(strncmp(u, "ffffffff-ffff-7", 15), 0);
}
END_TEST

START_TEST(test_uuid_valid)
{
	const char	*good[] = {
		"00000000-0000-4000-8000-000000000000",
		"019dc3f3-6027-73ca-b877-0cf9141c0b72",
		"0b8e2c1e-3f4a-4b5c-9d6e-7f8091a2b3c4",
		"ffffffff-ffff-8fff-bfff-ffffffffffff",
	};
	const char	*bad[] = {
		"",
		"019DC3F3-6027-73ca-b877-0cf9141c0b72",
		"019dc3f3-6027-73ca-b877-0cf9141c0b7",
		"019dc3f3-6027-73ca-b877-0cf9141c0b722",
		"019dc3f3a6027-73ca-b877-0cf9141c0b72",
		"019dc3f36027-73ca-b877-0cf9141c0b72-",
		"019dc3f3-6027-73ca-b877-0cf9141c0b7g",
		"{19dc3f3-6027-73ca-b877-0cf9141c0b72",
		"019dc3f3-6027-73ca-b877 0cf9141c0b72",
	};
	size_t		 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(uuid_valid(good[i]) == 1, "%s rejected",
		    good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(uuid_valid(bad[i]) == 0, "%s accepted", bad[i]);
}
END_TEST

START_TEST(test_relay_id)
{
	char	 id[43], prev[43] = "", s[80];
	int	 i;

	for (i = 0; i < 100; i++) {
		relay_id_new(id);
		ck_assert_uint_eq(strlen(id), 42);
		ck_assert_int_eq(strncmp(id, "relay-", 6), 0);
		ck_assert_int_eq(uuid_valid(id + 6), 1);
		ck_assert_int_eq(id[6 + 14], '4');
		ck_assert_int_eq(relay_id_valid(id), 1);
		ck_assert_str_ne(id, prev);
		memcpy(prev, id, sizeof(id));
	}
	ck_assert_int_eq(relay_id_valid(
	    "relay-11111111-1111-4111-8111-111111111111"), 1);
	ck_assert_int_eq(relay_id_valid("x"), 1);
	ck_assert_int_eq(relay_id_valid("!~\"#$%&'()*+,-./;<=>?@[\\]^_`{}"),
	    1);

	memset(s, 'a', sizeof(s));
	s[63] = '\0';
	ck_assert_int_eq(relay_id_valid(s), 1);
	s[63] = 'a';
	s[64] = '\0';
	ck_assert_int_eq(relay_id_valid(s), 0);

	ck_assert_int_eq(relay_id_valid(""), 0);
	ck_assert_int_eq(relay_id_valid("relay:a"), 0);
	ck_assert_int_eq(relay_id_valid("relay|a"), 0);
	ck_assert_int_eq(relay_id_valid("relay a"), 0);
	ck_assert_int_eq(relay_id_valid("relay\ta"), 0);
	ck_assert_int_eq(relay_id_valid("relay\x7f"), 0);
	ck_assert_int_eq(relay_id_valid("relay\xc3\xa9"), 0);
}
END_TEST

START_TEST(test_now_ms)
{
	int64_t	 a, b;
	time_t	 t;

	t = time(NULL);
	a = now_ms();
	b = now_ms();
	ck_assert_int_ge(b, a);
	ck_assert_int_ge(a, (int64_t)t * 1000 - 1000);
	ck_assert_int_le(a, (int64_t)t * 1000 + 2000);
	/* After 2025-01-01: milliseconds, not seconds. */
	ck_assert_int_gt(a, 1735689600000LL);
}
END_TEST

static Suite *
encoding_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("encoding");
	tc = tcase_create("hex");
	tcase_add_test(tc, test_hex_encode);
	tcase_add_test(tc, test_hex_decode);
	tcase_add_test(tc, test_hex_reject);
	tcase_add_test(tc, test_hex_roundtrip);
	suite_add_tcase(s, tc);
	tc = tcase_create("base64url");
	tcase_add_test(tc, test_b64url_rfc4648);
	tcase_add_test(tc, test_b64url_alphabet);
	tcase_add_test(tc, test_b64url_reject);
	tcase_add_test(tc, test_b64url_roundtrip);
	suite_add_tcase(s, tc);
	tc = tcase_create("base58");
	tcase_add_test(tc, test_base58_vectors);
	tcase_add_test(tc, test_base58_reject);
	tcase_add_test(tc, test_base58_roundtrip);
	suite_add_tcase(s, tc);
	tc = tcase_create("did_key");
	tcase_add_test(tc, test_did_key_vectors);
	tcase_add_test(tc, test_did_key_roundtrip);
	tcase_add_test(tc, test_did_key_reject);
	suite_add_tcase(s, tc);
	tc = tcase_create("ids");
	tcase_add_test(tc, test_uuid_v4);
	tcase_add_test(tc, test_uuid_v7);
	tcase_add_test(tc, test_uuid_valid);
	tcase_add_test(tc, test_relay_id);
	tcase_add_test(tc, test_now_ms);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	return (vectors_main(encoding_suite()));
}
