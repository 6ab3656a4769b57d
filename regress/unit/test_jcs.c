/*
 * Copyright (c) 2026 The relayd authors
 *
 * Permission to use, copy, modify, and distribute this software for any
 * purpose with or without fee is hereby granted, provided that the above
 * copyright notice and this permission notice appear in all copies.
 *
 * THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
 * WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
 * MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
 * ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
 * WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
 * ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
 * OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
 */

/*
 * Canonical JSON: Appendix B vectors, ECMAScript number formatting,
 * strict parsing, and a randomized check of shortest round-trip digits.
 */

#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "jcs.h"

#ifndef VECTORS_DIR
#error "VECTORS_DIR must be defined"
#endif

static json_t	*vectors;

static void
load_vectors(void)
{
	json_error_t	 jerr;

	vectors = json_load_file(VECTORS_DIR "/appendix-b.json", 0, &jerr);
	if (vectors == NULL) {
		fprintf(stderr, "appendix-b.json: %s (line %d)\n", jerr.text,
		    jerr.line);
		abort();
	}
}

static void
free_vectors(void)
{
	json_decref(vectors);
	vectors = NULL;
}

static void
sha256_hex(const void *p, size_t len, char out[65])
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0, i;

	ck_assert_int_eq(EVP_Digest(p, len, md, &mdlen, EVP_sha256(), NULL),
	    1);
	ck_assert_uint_eq(mdlen, 32);
	for (i = 0; i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/*
 * Parse and serialize; NULL (and the error in err) if parsing fails.
 * The canonicalization cases keep \u0000 (JCS_ALLOW_NUL), as the
 * vectors need; jcs_parse() itself refuses it (test_nul_refused).
 */
static char *
canon(const char *in, size_t len, size_t *outlen, char *err, size_t errlen)
{
	json_t	*v;
	char	*s;

	if ((v = jcs_parse_flags(in, len, JCS_ALLOW_NUL, err, errlen)) ==
	    NULL)
		return (NULL);
	s = jcs_serialize(v, 0, outlen);
	ck_assert_msg(s != NULL, "serialize failed for %.*s", (int)len, in);
	json_decref(v);
	return (s);
}

/* in must canonicalize to exactly want. */
static void
check_canon(const char *in, size_t inlen, const char *want, size_t wantlen)
{
	char	 err[256];
	char	*s;
	size_t	 n;

	s = canon(in, inlen, &n, err, sizeof(err));
	ck_assert_msg(s != NULL, "rejected %s: %s", in, err);
	ck_assert_msg(n == wantlen && memcmp(s, want, n) == 0,
	    "canonical of %s is %s, want %s", in, s, want);
	ck_assert_int_eq(jcs_is_canonical(want, wantlen), 1);
	free(s);
}

#define CANON(in, want) \
	check_canon((in), sizeof(in) - 1, (want), sizeof(want) - 1)

/* in must be rejected with an error containing want and an offset. */
static void
check_reject(const char *in, size_t inlen, const char *want)
{
	char	 err[256];
	json_t	*v;

	err[0] = 'x';
	err[1] = '\0';
	v = jcs_parse_flags(in, inlen, JCS_ALLOW_NUL, err, sizeof(err));
	ck_assert_msg(v == NULL, "accepted %.*s", (int)inlen, in);
	ck_assert_msg(strstr(err, " at offset ") != NULL,
	    "no offset in \"%s\"", err);
	if (want != NULL)
		ck_assert_msg(strstr(err, want) != NULL,
		    "error for %.*s is \"%s\", want \"%s\"", (int)inlen, in,
		    err, want);
	ck_assert_int_eq(jcs_is_canonical(in, inlen), 0);
}

#define REJECT(in, want)	check_reject((in), sizeof(in) - 1, (want))

static void
check_fmt(double d, const char *want)
{
	char	 out[32];
	int	 n;

	n = jcs_format_double(d, out, sizeof(out));
	ck_assert_msg(n == (int)strlen(want) && strcmp(out, want) == 0,
	    "%.17g formats as \"%s\" (%d), want \"%s\"", d, n < 0 ? "" : out,
	    n, want);
}

/*
 * Appendix B canonical_json: vectors 1-4 and 6 are parsed from input_json,
 * re-serialized and compared byte for byte and by SHA-256.
 */
START_TEST(test_appendix_b_canonical_json)
{
	json_t		*arr, *vec;
	const char	*in, *want, *hash;
	size_t		 i, inlen, wantlen, n, done = 0;
	char		 hex[65], err[256];
	char		*s;

	arr = json_object_get(vectors, "canonical_json");
	ck_assert_ptr_nonnull(arr);
	ck_assert_uint_eq(json_array_size(arr), 6);
	json_array_foreach(arr, i, vec) {
		in = json_string_value(json_object_get(vec, "input_json"));
		want = json_string_value(json_object_get(vec, "canonical"));
		hash = json_string_value(json_object_get(vec, "sha256"));
		ck_assert_ptr_nonnull(in);
		ck_assert_ptr_nonnull(want);
		ck_assert_ptr_nonnull(hash);
		inlen = json_string_length(json_object_get(vec, "input_json"));
		wantlen = json_string_length(json_object_get(vec,
		    "canonical"));

		/* The stated hash is over the decoded canonical bytes. */
		sha256_hex(want, wantlen, hex);
		ck_assert_str_eq(hex, hash);

		if (i == 4)	/* vector 5: see test_appendix_b_vector5 */
			continue;
		s = canon(in, inlen, &n, err, sizeof(err));
		ck_assert_msg(s != NULL, "vector %zu rejected: %s", i + 1,
		    err);
		ck_assert_msg(n == wantlen && memcmp(s, want, n) == 0,
		    "vector %zu: got %s want %s", i + 1, s, want);
		sha256_hex(s, n, hex);
		ck_assert_str_eq(hex, hash);
		ck_assert_int_eq(jcs_is_canonical(s, n), 1);
		free(s);
		done++;
	}
	ck_assert_uint_eq(done, 5);
}
END_TEST

/*
 * Vector 5 is the JS quirk of an undefined array element, written as an
 * empty slot ("[1,,2]").  JSON has no undefined, so the vector cannot be
 * an input here.  Instead: that text is not JSON and is refused, the
 * nearest JSON value serializes with no empty slot, and no serialization
 * of the other vectors contains one either.
 */
START_TEST(test_appendix_b_vector5)
{
	json_t		*vec, *v;
	const char	*quirk;
	char		*s;
	size_t		 n, i;

	vec = json_array_get(json_object_get(vectors, "canonical_json"), 4);
	quirk = json_string_value(json_object_get(vec, "canonical"));
	ck_assert_str_eq(quirk, "{\"b\":1,\"c\":[1,,2]}");
	REJECT("{\"b\":1,\"c\":[1,,2]}", "unexpected character ','");
	ck_assert_int_eq(jcs_is_canonical(quirk, strlen(quirk)), 0);

	CANON("{\"c\":[1,null,2],\"b\":1}", "{\"b\":1,\"c\":[1,null,2]}");

	/* Arrays built in code: every element is printed. */
	v = json_pack("[i,n,[],{},[n],s,i]", 1, "", 2);
	ck_assert_ptr_nonnull(v);
	s = jcs_serialize(v, 0, &n);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "[1,null,[],{},[null],\"\",2]");
	for (i = 0; i + 1 < n; i++)
		ck_assert_msg(!(s[i] == ',' && (s[i + 1] == ',' ||
		    s[i + 1] == ']')) && !(s[i] == '[' && s[i + 1] == ','),
		    "empty slot in %s", s);
	free(s);
	json_decref(v);
}
END_TEST

/* Recursively check every "canonical" string in the vector file. */
static size_t
walk_canonicals(json_t *v, int in_cj)
{
	const char	*k;
	json_t		*c;
	size_t		 i, n = 0;

	if (json_is_object(v)) {
		json_object_foreach(v, k, c) {
			if (strcmp(k, "canonical") == 0 && json_is_string(c) &&
			    !in_cj) {
				ck_assert_msg(jcs_is_canonical(
				    json_string_value(c),
				    json_string_length(c)) == 1,
				    "not canonical: %s", json_string_value(c));
				n++;
			} else
				n += walk_canonicals(c, in_cj ||
				    strcmp(k, "canonical_json") == 0);
		}
	} else if (json_is_array(v))
		json_array_foreach(v, i, c)
			n += walk_canonicals(c, in_cj);
	return (n);
}

/* Every signed body in Appendix B is already canonical. */
START_TEST(test_appendix_b_signed_bodies)
{
	json_t	*fs;

	/* discover, task_forward, settlement_forward, 3 records, receipt */
	ck_assert_uint_eq(walk_canonicals(vectors, 0), 7);
	fs = json_object_get(vectors, "federation_settlement");
	ck_assert_int_eq(jcs_is_canonical(json_string_value(json_object_get(fs,
	    "batch_payload_canonical")), json_string_length(json_object_get(fs,
	    "batch_payload_canonical"))), 1);
}
END_TEST

/* obj, written out loosely by jansson, canonicalizes to want. */
static void
check_object(json_t *obj, json_t *want, int skip_sig)
{
	char	 err[256];
	char	*text, *s;
	json_t	*v;
	size_t	 n;

	ck_assert_ptr_nonnull(obj);
	ck_assert(json_is_string(want));
	text = json_dumps(obj, JSON_INDENT(2));
	ck_assert_ptr_nonnull(text);
	v = jcs_parse(text, strlen(text), err, sizeof(err));
	ck_assert_msg(v != NULL, "%s: %s", text, err);
	s = jcs_serialize(v, skip_sig, &n);
	ck_assert_ptr_nonnull(s);
	ck_assert_msg(n == json_string_length(want) &&
	    memcmp(s, json_string_value(want), n) == 0, "got %s want %s", s,
	    json_string_value(want));
	free(s);
	free(text);
	json_decref(v);
}

/*
 * The receipt is signed without its signature; the settlement records
 * are Merkle leaves with it.
 */
START_TEST(test_appendix_b_objects)
{
	json_t	*er, *recs, *r;
	size_t	 i;

	er = json_object_get(vectors, "execution_receipt");
	check_object(json_object_get(er, "receipt"),
	    json_object_get(er, "canonical"), 1);
	recs = json_object_get(json_object_get(vectors,
	    "federation_settlement"), "records");
	ck_assert_uint_eq(json_array_size(recs), 3);
	json_array_foreach(recs, i, r)
		check_object(json_object_get(r, "record"),
		    json_object_get(r, "canonical"), 0);
}
END_TEST

START_TEST(test_format_double)
{
	char	 out[32];

	check_fmt(0.0, "0");
	check_fmt(-0.0, "0");
	check_fmt(1, "1");
	check_fmt(-1, "-1");
	check_fmt(100, "100");
	check_fmt(0.05, "0.05");
	check_fmt(0.1 + 0.2, "0.30000000000000004");
	check_fmt(1e21, "1e+21");
	check_fmt(1e20, "100000000000000000000");
	check_fmt(123456789012345680000.0, "123456789012345680000");
	check_fmt(999999999999999900000.0, "999999999999999900000");
	check_fmt(1e-7, "1e-7");
	check_fmt(1e-6, "0.000001");
	check_fmt(1.2e-6, "0.0000012");
	check_fmt(1.2345e-7, "1.2345e-7");
	check_fmt(5e-324, "5e-324");
	check_fmt(-5e-324, "-5e-324");
	check_fmt(2.2250738585072014e-308, "2.2250738585072014e-308");
	check_fmt(1.7976931348623157e308, "1.7976931348623157e+308");
	check_fmt(9007199254740992.0, "9007199254740992");
	check_fmt(9007199254740994.0, "9007199254740994");
	check_fmt(1.5e-10, "1.5e-10");
	check_fmt(-3.25e25, "-3.25e+25");
	check_fmt(123.456, "123.456");
	check_fmt(1.5, "1.5");
	check_fmt(0.5, "0.5");
	check_fmt(1e300 * 10, "1e+301");
	check_fmt(4.35, "4.35");
	check_fmt(0.000001234, "0.000001234");
	check_fmt(12345678.9, "12345678.9");
	check_fmt(0.9661396215468546, "0.9661396215468546");
	/*
	 * Powers of two, whose rounding interval is narrower below: the
	 * nearest 16-digit decimal does not read back but the one above
	 * does (values checked against Node's String(x)).
	 */
	check_fmt(ldexp(1, -24), "5.960464477539063e-8");
	check_fmt(ldexp(1, -44), "5.684341886080802e-14");
	check_fmt(ldexp(1, 89), "6.189700196426902e+26");
	check_fmt(ldexp(1, 122), "5.316911983139664e+36");
	check_fmt(ldexp(1, -1017), "7.120236347223045e-307");
	check_fmt(ldexp(1, 976), "6.386688990511104e+293");

	ck_assert_int_eq(jcs_format_double(NAN, out, sizeof(out)), -1);
	ck_assert_int_eq(jcs_format_double(INFINITY, out, sizeof(out)), -1);
	ck_assert_int_eq(jcs_format_double(-INFINITY, out, sizeof(out)), -1);
	/* Too small a buffer is an error, never a truncation. */
	ck_assert_int_eq(jcs_format_double(0.25, out, 4), -1);
	ck_assert_int_eq(jcs_format_double(0.25, out, 5), 4);
	ck_assert_str_eq(out, "0.25");
}
END_TEST

/* Routing-transcript style floats print exactly as the sender wrote. */
START_TEST(test_routing_floats)
{
	static const char	*lex[] = {
		"0.9661396215468546", "0.7234", "0.15", "0.5", "0.05",
		"0.1", "0.2", "0.3", "0.30000000000000004", "0.123456789",
		"0.8333333333333334", "0.6666666666666666", "0.01",
		"0.3333333333333333", "0.9999999999999999",
		"1.0000000000000002",
		"0.0001", "0.001", "1760000000000", "950000", "0.000042",
		"12.5", "99.99", "1e-7", "2.5e-8"
	};
	char	 in[64], *s;
	size_t	 i, n;

	for (i = 0; i < sizeof(lex) / sizeof(lex[0]); i++) {
		snprintf(in, sizeof(in), "[%s]", lex[i]);
		s = canon(in, strlen(in), &n, NULL, 0);
		ck_assert_ptr_nonnull(s);
		ck_assert_str_eq(s, in);
		free(s);
	}
	CANON("{\"sub_scores\":{\"trust\":0.15,\"success_rate\":1.0,"
	    "\"latency\":0.50},\"composite_score\":0.7234}",
	    "{\"composite_score\":0.7234,\"sub_scores\":{\"latency\":0.5,"
	    "\"success_rate\":1,\"trust\":0.15}}");
}
END_TEST

START_TEST(test_numbers)
{
	const char	*in;
	json_t		*v;

	CANON("[-0]", "[0]");
	CANON("[-0.0]", "[0]");
	CANON("[0e0]", "[0]");
	CANON("[1.0]", "[1]");
	CANON("[1E2]", "[100]");
	CANON("[1e+2]", "[100]");
	CANON("[2.50e-1]", "[0.25]");
	CANON("[1e-400]", "[0]");
	CANON("[-1e-400]", "[0]");
	CANON("[1e21]", "[1e+21]");
	CANON("[1000000000000000000000]", "[1e+21]");
	CANON("[9007199254740993]", "[9007199254740992]");
	CANON("[12345678901234567]", "[12345678901234568]");
	CANON("[9223372036854775807]", "[9223372036854776000]");
	CANON("[-9223372036854775808]", "[-9223372036854776000]");
	CANON("[18446744073709551616]", "[18446744073709552000]");
	CANON("[-9007199254740992]", "[-9007199254740992]");
	CANON("[1760000000000]", "[1760000000000]");
	CANON("[0.1e1]", "[1]");
	CANON("[1.7976931348623157e308]", "[1.7976931348623157e+308]");
	CANON("[4.9e-324]", "[5e-324]");

	/* Integer lexemes that fit int64 become integers, others reals. */
	in = "[42,-9223372036854775808,9223372036854775808,1.0,1e2]";
	v = jcs_parse(in, strlen(in), NULL, 0);
	ck_assert_ptr_nonnull(v);
	ck_assert(json_is_integer(json_array_get(v, 0)));
	ck_assert_int_eq(json_integer_value(json_array_get(v, 0)), 42);
	ck_assert(json_is_integer(json_array_get(v, 1)));
	ck_assert(json_integer_value(json_array_get(v, 1)) == INT64_MIN);
	ck_assert(json_is_real(json_array_get(v, 2)));
	ck_assert(json_is_real(json_array_get(v, 3)));
	ck_assert(json_is_real(json_array_get(v, 4)));
	json_decref(v);
}
END_TEST

/* json_t values built in code, not by the parser. */
START_TEST(test_serialize_built)
{
	json_t	*v;
	char	*s;
	size_t	 n;

	v = json_pack("{s:I,s:I,s:I,s:f,s:b,s:n}",
	    "max", (json_int_t)INT64_MAX, "big", (json_int_t)9007199254740993LL,
	    "min", (json_int_t)INT64_MIN, "r", -0.0, "t", 1, "z");
	ck_assert_ptr_nonnull(v);
	s = jcs_serialize(v, 0, &n);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "{\"big\":9007199254740992,"
	    "\"max\":9223372036854776000,\"min\":-9223372036854776000,"
	    "\"r\":0,\"t\":true,\"z\":null}");
	ck_assert_uint_eq(n, strlen(s));
	free(s);
	json_decref(v);

	/* Scalars at the top level. */
	v = json_string("a/b");
	s = jcs_serialize(v, 1, &n);
	ck_assert_str_eq(s, "\"a/b\"");
	free(s);
	json_decref(v);

	/* Invalid UTF-8 in a string or key cannot be serialized. */
	v = json_stringn_nocheck("\xff", 1);
	ck_assert_ptr_null(jcs_serialize(v, 0, &n));
	json_decref(v);
	v = json_stringn_nocheck("\xc3", 1);
	ck_assert_ptr_null(jcs_serialize(v, 0, &n));
	json_decref(v);
	v = json_object();
	json_object_setn_new_nocheck(v, "\xe2\x82", 2, json_true());
	ck_assert_ptr_null(jcs_serialize(v, 0, &n));
	json_object_setn_new_nocheck(v, "\xe2\x82\x28", 3, json_true());
	json_object_setn_new_nocheck(v, "\xe2\x82\xff", 3, json_true());
	json_object_setn_new_nocheck(v, "\xe2\xf8\x80\x80\x80", 5,
	    json_true());
	json_object_setn_new_nocheck(v, "\xe2\xf0\x80\x80", 4, json_true());
	ck_assert_ptr_null(jcs_serialize(v, 0, &n));
	json_decref(v);

	/* A WTF-8 surrogate pair is the character it stands for. */
	v = json_stringn_nocheck("\xed\xa0\xbd\xed\xb8\x80", 6);
	s = jcs_serialize(v, 0, &n);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "\"\xf0\x9f\x98\x80\"");
	free(s);
	json_decref(v);

	ck_assert_ptr_null(jcs_serialize(NULL, 0, &n));
}
END_TEST

START_TEST(test_nesting_limit_serialize)
{
	json_t	*v, *inner;
	char	*s;
	int	 i;

	/* 64 levels serialize, 65 do not (the parser refuses them too). */
	v = json_array();
	for (i = 1; i < JCS_MAX_DEPTH; i++) {
		inner = json_array();
		json_array_append_new(inner, v);
		v = inner;
	}
	s = jcs_serialize(v, 0, NULL);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(strlen(s), 2 * JCS_MAX_DEPTH);
	ck_assert_int_eq(jcs_is_canonical(s, strlen(s)), 1);
	free(s);
	inner = json_array();
	json_array_append_new(inner, v);
	ck_assert_ptr_null(jcs_serialize(inner, 0, NULL));
	json_decref(inner);
}
END_TEST

START_TEST(test_strings)
{
	CANON("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]",
	    "[\"\\\"\\\\/\\b\\f\\n\\r\\t\"]");
	CANON("[\"\\u0000\\u0001\\u001F\\u0020\\u007f\\u0080\"]",
	    "[\"\\u0000\\u0001\\u001f \x7f\xc2\x80\"]");
	CANON("[\"\\u2028\\u2029\"]", "[\"\xe2\x80\xa8\xe2\x80\xa9\"]");
	CANON("[\"\\u00E9\\uD83D\\uDE00\"]", "[\"\xc3\xa9\xf0\x9f\x98\x80\"]");
	CANON("[\"\\uDBFF\\uDFFF\"]", "[\"\xf4\x8f\xbf\xbf\"]");
	CANON("[\"<>&'\\u003c\"]", "[\"<>&'<\"]");
	CANON("[\"\xef\xbf\xbf\xf0\x90\x80\x80\"]",
	    "[\"\xef\xbf\xbf\xf0\x90\x80\x80\"]");

	/* Lone surrogates are kept and round-trip, as in JS. */
	CANON("[\"\\ud800\"]", "[\"\\ud800\"]");
	CANON("[\"\\uDFFF\"]", "[\"\\udfff\"]");
	CANON("[\"\\ud800\\u0041\"]", "[\"\\ud800A\"]");
	CANON("[\"\\ud800\\ud800\"]", "[\"\\ud800\\ud800\"]");
	CANON("[\"\\udc00\\ud800\"]", "[\"\\udc00\\ud800\"]");
	CANON("[\"\\ud83d\\ude00\\ude00\"]",
	    "[\"\xf0\x9f\x98\x80\\ude00\"]");
	CANON("[\"\\ud83d\"]", "[\"\\ud83d\"]");
	CANON("[\"a\\ud83dx\"]", "[\"a\\ud83dx\"]");
}
END_TEST

/*
 * Issue 8, finding 7: "relay-<uuid>\u0000evil" was read as
 * "relay-<uuid>", and a display name "ok\u0000\u0001\u001b[31m" passed
 * a control-character check that stopped at the NUL.  jcs_parse()
 * refuses \u0000 in any string, keys included, at any depth.
 */
START_TEST(test_nul_refused)
{
	static const char *const bad[] = {
		"\"relay-6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab\\u0000evil\"",
		"{\"display_name\":\"ok\\u0000\\u0001\\u001b[31m\"}",
		"{\"a\\u0000\":1}",
		"[[[{\"k\":[\"x\",\"\\u0000\"]}]]]",
		"\"\\u0000\"",
		NULL
	};
	char	 err[256];
	json_t	*v;
	int	 i;

	for (i = 0; bad[i] != NULL; i++) {
		v = jcs_parse(bad[i], strlen(bad[i]), err, sizeof(err));
		ck_assert_msg(v == NULL, "accepted %s", bad[i]);
		ck_assert_msg(strstr(err, "\\u0000 (NUL) in string at offset")
		    != NULL, "error for %s: %s", bad[i], err);
		/* the canonicalization path keeps it */
		v = jcs_parse_flags(bad[i], strlen(bad[i]), JCS_ALLOW_NUL,
		    err, sizeof(err));
		ck_assert_ptr_nonnull(v);
		json_decref(v);
	}
	/* the other control escapes are data, as before */
	v = jcs_parse("\"\\u0001\"", 8, err, sizeof(err));
	ck_assert_ptr_nonnull(v);
	json_decref(v);
	ck_assert_ptr_null(jcs_parse("\"a\\u0000\"", 9, err, sizeof(err)));
	ck_assert_str_eq(err, "\\u0000 (NUL) in string at offset 2");
}
END_TEST

START_TEST(test_lone_surrogate_bytes)
{
	json_t	*v;

	/* Stored as WTF-8 so that it can come back out. */
	v = jcs_parse("\"\\ud800\"", 8, NULL, 0);
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(json_string_length(v), 3);
	ck_assert(memcmp(json_string_value(v), "\xed\xa0\x80", 3) == 0);
	json_decref(v);

	/* An escaped pair is the plain UTF-8 of its character. */
	v = jcs_parse("\"\\ud83d\\ude00\"", 14, NULL, 0);
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(json_string_length(v), 4);
	ck_assert(memcmp(json_string_value(v), "\xf0\x9f\x98\x80", 4) == 0);
	json_decref(v);

	/* With JCS_ALLOW_NUL a NUL escape is kept inside the string. */
	v = jcs_parse_flags("\"a\\u0000b\"", 10, JCS_ALLOW_NUL, NULL, 0);
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(json_string_length(v), 3);
	ck_assert(memcmp(json_string_value(v), "a\0b", 3) == 0);
	json_decref(v);
}
END_TEST

START_TEST(test_key_order)
{
	/* Integer-like keys are strings; UTF-16 order puts astral early. */
	CANON("{\"9\":1,\"10\":2,\"\xef\xbc\xa1\":3,\"\xf0\x9f\x98\x80\":4}",
	    "{\"10\":2,\"9\":1,\"\xf0\x9f\x98\x80\":4,\"\xef\xbc\xa1\":3}");
	/* Lone high surrogate < its pair < U+FFFF. */
	CANON("{\"\\uffff\":1,\"\\ud83d\\ude00\":2,\"\\ud83d\":3}",
	    "{\"\\ud83d\":3,\"\xf0\x9f\x98\x80\":2,\"\xef\xbf\xbf\":1}");
	/* A prefix sorts first; NUL is a real key character. */
	CANON("{\"a\\u0000b\":1,\"a\":2,\"a\\u0000\":3}",
	    "{\"a\":2,\"a\\u0000\":3,\"a\\u0000b\":1}");
	/* Keys differing only past a multi-byte prefix. */
	CANON("{\"\xc3\xa9z\":1,\"\xc3\xa9\xf0\x9f\x98\x80\":2,"
	    "\"\xc3\xa9\xee\x80\x80\":3,\"\xc3\xa9\":4}",
	    "{\"\xc3\xa9\":4,\"\xc3\xa9z\":1,\"\xc3\xa9\xf0\x9f\x98\x80\":2,"
	    "\"\xc3\xa9\xee\x80\x80\":3}");
	CANON("{\"\":1,\" \":2,\"\\u0001\":3}",
	    "{\"\":1,\"\\u0001\":3,\" \":2}");
	CANON("  { \"b\" : [ 1 , 2 ] ,\n\t\"a\"\r: { } }  ",
	    "{\"a\":{},\"b\":[1,2]}");
}
END_TEST

START_TEST(test_skip_signature)
{
	const char	*in;
	json_t		*v;
	char		*s;

	in = "{\"signature\":\"ab\",\"b\":{\"signature\":1},\"a\":0,"
	    "\"signatures\":2}";
	v = jcs_parse(in, strlen(in), NULL, 0);
	ck_assert_ptr_nonnull(v);
	s = jcs_serialize(v, 1, NULL);
	ck_assert_str_eq(s,
	    "{\"a\":0,\"b\":{\"signature\":1},\"signatures\":2}");
	free(s);
	s = jcs_serialize(v, 0, NULL);
	ck_assert_str_eq(s, "{\"a\":0,\"b\":{\"signature\":1},"
	    "\"signature\":\"ab\",\"signatures\":2}");
	free(s);
	json_decref(v);

	v = jcs_parse("[{\"signature\":1}]", 17, NULL, 0);
	ck_assert_ptr_nonnull(v);
	s = jcs_serialize(v, 1, NULL);
	ck_assert_str_eq(s, "[{\"signature\":1}]");
	free(s);
	json_decref(v);

	v = jcs_parse("{\"signature\":1}", 15, NULL, 0);
	ck_assert_ptr_nonnull(v);
	s = jcs_serialize(v, 1, NULL);
	ck_assert_str_eq(s, "{}");
	free(s);
	json_decref(v);
}
END_TEST

START_TEST(test_reject_duplicates)
{
	char	 err[256];

	ck_assert_ptr_null(jcs_parse("{\"a\":1,\"a\":2}", 13, err,
	    sizeof(err)));
	ck_assert_str_eq(err, "duplicate key \"a\" at offset 7");
	ck_assert_ptr_null(jcs_parse("{\"b\":1, \"aa\":{},\"aa\":3}", 23, err,
	    sizeof(err)));
	ck_assert_str_eq(err, "duplicate key \"aa\" at offset 16");

	REJECT("{\"a\\u0000b\":1,\"a\\u0000b\":2}", "duplicate key");
	REJECT("{\"\xc3\xa9\":1,\"\\u00e9\":2}", "duplicate key");
	REJECT("{\"\\ud800\":1,\"\\uD800\":2}", "duplicate key");
	REJECT("{\"\xf0\x9f\x98\x80\":1,\"\\ud83d\\ude00\":2}",
	    "duplicate key");
	REJECT("{\"x\":{\"a\":1,\"b\":2,\"a\":3}}", "duplicate key \"a\"");
	REJECT("[{\"k\":1},{\"k\":1,\"\\u006b\":2}]", "duplicate key");
	/* Keys that differ only after a NUL are different keys. */
	CANON("{\"a\\u0000b\":1,\"a\\u0000c\":2}",
	    "{\"a\\u0000b\":1,\"a\\u0000c\":2}");
	CANON("{\"a\\u0000\":1,\"a\":2}", "{\"a\":2,\"a\\u0000\":1}");
	/* Same key in sibling objects is fine. */
	CANON("[{\"k\":1},{\"k\":2}]", "[{\"k\":1},{\"k\":2}]");
}
END_TEST

START_TEST(test_reject_utf8)
{
	REJECT("[\"\xc0\x80\"]", "invalid UTF-8"); /* overlong NUL */
	REJECT("[\"\xc1\xbf\"]", "invalid UTF-8"); /* overlong */
	REJECT("[\"\xe0\x80\x80\"]", "invalid UTF-8"); /* overlong */
	REJECT("[\"\xe0\x9f\xbf\"]", "invalid UTF-8"); /* overlong */
	REJECT("[\"\xf0\x80\x80\x80\"]", "invalid UTF-8"); /* overlong */
	REJECT("[\"\xf0\x8f\xbf\xbf\"]", "invalid UTF-8"); /* overlong */
	REJECT("[\"\xed\xa0\x80\"]", "invalid UTF-8"); /* D800 */
	REJECT("[\"\xed\xbf\xbf\"]", "invalid UTF-8"); /* DFFF */
	REJECT("[\"\xed\xa0\xbd\xed\xb8\x80\"]", "invalid UTF-8");
	REJECT("[\"\xf4\x90\x80\x80\"]", "invalid UTF-8"); /* 110000 */
	REJECT("[\"\xf5\x80\x80\x80\"]", "invalid UTF-8");
	REJECT("[\"\xf8\x88\x80\x80\x80\"]", "invalid UTF-8");
	REJECT("[\"\xff\"]", "invalid UTF-8");
	REJECT("[\"\xfe\"]", "invalid UTF-8");
	REJECT("[\"\x80\"]", "invalid UTF-8"); /* stray */
	REJECT("[\"\xbf\"]", "invalid UTF-8");
	REJECT("[\"\xc3\"]", "invalid UTF-8"); /* truncated */
	REJECT("[\"\xe2\x82\"]", "invalid UTF-8");
	REJECT("[\"\xf0\x9f\x98\"]", "invalid UTF-8");
	REJECT("[\"\xc3\x28\"]", "invalid UTF-8");
	REJECT("[\"\xe2\x28\xa1\"]", "invalid UTF-8");
	REJECT("\"\xe2\x82", "invalid UTF-8"); /* at EOF */
	REJECT("{\"\xff\":1}", "invalid UTF-8"); /* in a key */
	REJECT("{\"a\\n\xc0\xaf\":1}", "invalid UTF-8"); /* after esc */
	REJECT("[\xc3\xa9]", "unexpected character 0xc3"); /* outside */
	REJECT("\xef\xbb\xbf{}", "unexpected character 0xef"); /* BOM */
	/* The valid extremes are accepted. */
	CANON("[\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80"
	    "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\"]",
	    "[\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80"
	    "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\"]");
}
END_TEST

START_TEST(test_reject_control_nul)
{
	REJECT("[\"a\x01\"]", "raw control character 0x01");
	REJECT("[\"\x1f\"]", "raw control character 0x1f");
	REJECT("[\"a\nb\"]", "raw control character 0x0a");
	REJECT("[\"\t\"]", "raw control character 0x09");
	REJECT("{\"\r\":1}", "raw control character 0x0d");
	REJECT("[\"a\\n\x02\"]", "raw control character 0x02");
	REJECT("[\"a\0b\"]", "NUL byte in string at offset 3");
	REJECT("[1]\0", "NUL byte at offset 3");
	REJECT("[1,\0 2]", "NUL byte at offset 3");
	REJECT("\0", "NUL byte at offset 0");
	REJECT("{\"a\":1 \0}", "NUL byte");
	REJECT("[1\x0b]", "0x0b"); /* VT is not JSON space */
	REJECT("[1\x0c]", "0x0c"); /* nor is FF */
}
END_TEST

START_TEST(test_reject_numbers)
{
	REJECT("[01]", "leading zero");
	REJECT("[-01]", "leading zero");
	REJECT("[00]", "leading zero");
	REJECT("[-00.5]", "leading zero");
	REJECT("[+1]", "unexpected character '+'");
	REJECT("[.5]", "unexpected character '.'");
	REJECT("[1.]", "digit expected after '.'");
	REJECT("[1.e3]", "digit expected after '.'");
	REJECT("[1e]", "digit expected in exponent");
	REJECT("[1e+]", "digit expected in exponent");
	REJECT("[1E-x]", "digit expected in exponent");
	REJECT("[-]", "invalid number");
	REJECT("[-a]", "invalid number");
	REJECT("-", "invalid number");
	REJECT("[NaN]", "unexpected character 'N'");
	REJECT("[nan]", "invalid literal");
	REJECT("[Infinity]", "unexpected character 'I'");
	REJECT("[-Infinity]", "invalid number");
	REJECT("[1e400]", "number out of range at offset 1");
	REJECT("[-1e400]", "number out of range");
	REJECT("[1.8e308]", "number out of range");
	REJECT("[0x10]", "expected ',' or ']', got 'x'");
	REJECT("[1_000]", "expected ',' or ']'");
	REJECT("[1.5.2]", "expected ',' or ']'");
	REJECT("[1e5e5]", "expected ',' or ']'");
	REJECT("[- 1]", "invalid number");
}
END_TEST

START_TEST(test_reject_syntax)
{
	REJECT("", "unexpected end of input at offset 0");
	REJECT("   \n", "unexpected end of input at offset 4");
	REJECT("[1,]", "unexpected character ']'");
	REJECT("{\"a\":1,}", "expected string key, got '}'");
	REJECT("[1 2]", "expected ',' or ']', got '2'");
	REJECT("{\"a\" 1}", "expected ':', got '1'");
	REJECT("{\"a\":1 \"b\":2}", "expected ',' or '}', got '\"'");
	REJECT("{a:1}", "expected string key, got 'a'");
	REJECT("{'a':1}", "expected string key, got '''");
	REJECT("['a']", "unexpected character '''");
	REJECT("/*c*/1", "unexpected character '/'");
	REJECT("1 // c", "trailing garbage at offset 2");
	REJECT("{} x", "trailing garbage at offset 3");
	REJECT("[]]", "trailing garbage at offset 2");
	REJECT("1 2", "trailing garbage");
	REJECT("{}{}", "trailing garbage");
	REJECT("[", "unexpected end of input");
	REJECT("[1", "unterminated array");
	REJECT("{", "unterminated object");
	REJECT("{\"a\"", "unterminated object");
	REJECT("{\"a\":", "unexpected end of input");
	REJECT("{\"a\":1", "unterminated object");
	REJECT("\"abc", "unterminated string");
	REJECT("\"abc\\", "unterminated string");
	REJECT("\"a\\nb", "unterminated string");
	REJECT("[\"\\x\"]", "invalid escape at offset 2");
	REJECT("[\"\\U0041\"]", "invalid escape");
	REJECT("[\"\\'\"]", "invalid escape");
	REJECT("[\"\\u12\"]", "invalid \\u escape");
	REJECT("[\"\\u12G4\"]", "invalid \\u escape");
	REJECT("\"\\u00", "invalid \\u escape");
	REJECT("[tru]", "invalid literal");
	REJECT("[True]", "unexpected character 'T'");
	REJECT("[nul]", "invalid literal");
	REJECT("nulll", "trailing garbage");
	REJECT("[truefalse]", "expected ',' or ']'");
	REJECT("{\"a\":1}}", "trailing garbage");
	REJECT("[[]", "unterminated array");
	/* Bare scalars and surrounding space are fine. */
	CANON(" true ", "true");
	CANON("null", "null");
	CANON("\"x\"", "\"x\"");
	CANON("-12", "-12");
}
END_TEST

/* Nested containers: depth JCS_MAX_DEPTH is accepted, one more is not. */
static char *
nest(int depth, int objects, size_t *len)
{
	char	*b;
	size_t	 o = 0;
	int	 i;

	b = malloc(depth * 8 + 16);
	ck_assert_ptr_nonnull(b);
	for (i = 0; i < depth; i++) {
		if (objects && i % 2) {
			memcpy(b + o, "{\"a\":", 5);
			o += 5;
		} else
			b[o++] = '[';
	}
	b[o++] = '1';
	for (i = depth - 1; i >= 0; i--)
		b[o++] = objects && i % 2 ? '}' : ']';
	*len = o;
	return (b);
}

START_TEST(test_depth)
{
	char	 err[256];
	char	*b;
	size_t	 len;
	json_t	*v;
	int	 objects;

	for (objects = 0; objects <= 1; objects++) {
		b = nest(JCS_MAX_DEPTH, objects, &len);
		v = jcs_parse(b, len, err, sizeof(err));
		ck_assert_msg(v != NULL, "depth 64 rejected: %s", err);
		ck_assert_int_eq(jcs_is_canonical(b, len), 1);
		json_decref(v);
		free(b);

		b = nest(JCS_MAX_DEPTH + 1, objects, &len);
		ck_assert_ptr_null(jcs_parse(b, len, err, sizeof(err)));
		ck_assert_msg(strstr(err, "nesting deeper than 64") != NULL,
		    "%s", err);
		free(b);

		/* Far deeper input stops at the limit the same way. */
		b = nest(100000, objects, &len);
		ck_assert_ptr_null(jcs_parse(b, len, err, sizeof(err)));
		ck_assert_msg(strstr(err, "nesting deeper than 64") != NULL,
		    "%s", err);
		free(b);
	}

	/* The 65th container may be either kind. */
	b = malloc(2 * JCS_MAX_DEPTH + 3);
	ck_assert_ptr_nonnull(b);
	memset(b, '[', JCS_MAX_DEPTH);
	memcpy(b + JCS_MAX_DEPTH, "{}", 2);
	memset(b + JCS_MAX_DEPTH + 2, ']', JCS_MAX_DEPTH);
	len = 2 * JCS_MAX_DEPTH + 2;
	ck_assert_ptr_null(jcs_parse(b, len, err, sizeof(err)));
	ck_assert_str_eq(err, "nesting deeper than 64 at offset 64");
	b[JCS_MAX_DEPTH] = '"';
	b[JCS_MAX_DEPTH + 1] = '"';
	v = jcs_parse(b, len, err, sizeof(err));
	ck_assert_msg(v != NULL, "%s", err);
	json_decref(v);
	free(b);
}
END_TEST

START_TEST(test_error_buffer)
{
	const char	*in, *want;
	char		 err[12];
	char		 big[300];

	/* Messages are truncated, never overflowed. */
	memset(err, 'X', sizeof(err));
	ck_assert_ptr_null(jcs_parse("{\"a\":1,\"a\":2}", 13, err,
	    sizeof(err)));
	ck_assert_uint_eq(strlen(err), sizeof(err) - 1);
	ck_assert_ptr_null(jcs_parse("[", 1, NULL, 0));
	ck_assert_ptr_null(jcs_parse("[", 1, err, 0));
	ck_assert_ptr_null(jcs_parse(NULL, 0, NULL, 0));

	/* Long and unprintable duplicate keys are shown safely. */
	in = "{\"\\n\\u0000\xc3\xa9"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":1,"
	    "\"\\n\\u0000\xc3\xa9"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":2}";
	ck_assert_uint_eq(strlen(in), 131);
	ck_assert_ptr_null(jcs_parse_flags(in, strlen(in), JCS_ALLOW_NUL, big,
	    sizeof(big)));
	want = "duplicate key \"\\x0a\\x00\\xc3\\xa9aaa";
	ck_assert_msg(strncmp(big, want, strlen(want)) == 0, "%s", big);
	ck_assert_msg(strstr(big, "...\" at offset 66") != NULL, "%s", big);
}
END_TEST

START_TEST(test_is_canonical)
{
	static const struct {
		const char	*s;
		int		 want;
	} t[] = {
		{ "{\"a\":1}", 1 },
		{ "{\"a\": 1}", 0 },
		{ " {\"a\":1}", 0 },
		{ "{\"a\":1}\n", 0 },
		{ "{\"b\":1,\"a\":2}", 0 },
		{ "[1.0]", 0 },
		{ "[1]", 1 },
		{ "[1e21]", 0 },
		{ "[1e+21]", 1 },
		{ "[1E+21]", 0 },
		{ "[0.000001]", 1 },
		{ "[1e-6]", 0 },
		{ "[\"\\u0041\"]", 0 },
		{ "[\"A\"]", 1 },
		{ "[\"\\/\"]", 0 },
		{ "[\"\\u001F\"]", 0 },
		{ "[\"\\u001f\"]", 1 },
		{ "[\"\\ud800\"]", 1 },
		{ "[\"\\uD800\"]", 0 },
		{ "[\"\\u2028\"]", 0 },
		{ "[-0]", 0 },
		{ "[0]", 1 },
		{ "{\"a\":1,\"a\":1}", 0 },
		{ "{", 0 },
	};
	size_t	 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ck_assert_msg(jcs_is_canonical(t[i].s, strlen(t[i].s)) ==
		    t[i].want, "jcs_is_canonical(%s) != %d", t[i].s,
		    t[i].want);
}
END_TEST

/* xorshift64*: a fixed seed keeps failures reproducible. */
static uint64_t	 rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (rng_state * 0x2545f4914f6cdd1dULL);
}

static int
reads_back(const char *s, double d)
{
	return (strtod(s, NULL) == d);
}

/*
 * Significant digits of an ECMAScript number string: no sign, point,
 * exponent, leading or trailing zeros.
 */
static int
sig_digits(const char *s, char *out)
{
	int	 k = 0;

	for (; *s != '\0' && *s != 'e'; s++) {
		if (*s < '0' || *s > '9')
			continue;
		if (k == 0 && *s == '0')
			continue;
		out[k++] = *s;
	}
	while (k > 0 && out[k - 1] == '0')
		k--;
	out[k] = '\0';
	return (k);
}

/*
 * The decimals of p + 1 significant digits nearest to d on either side.
 * None of them may read back as d if the formatted string has p + 2.
 */
static void
check_none_shorter(double d, int p)
{
	char		 tmp[48], *s;
	uint64_t	 m, pow10 = 1;
	int		 x, i;

	snprintf(tmp, sizeof(tmp), "%.*e", p, d);
	ck_assert_msg(!reads_back(tmp, d), "%s reads back as %.17g", tmp, d);
	m = (uint64_t)(tmp[0] - '0');
	s = tmp + 1;
	if (*s == '.')
		for (s++, i = 0; i < p; i++, s++) {
			m = m * 10 + (uint64_t)(*s - '0');
			pow10 *= 10;
		}
	x = (int)strtol(s + 1, NULL, 10) - p;
	snprintf(tmp, sizeof(tmp), "%" PRIu64 "e%d", m + 1, x);
	ck_assert_msg(!reads_back(tmp, d), "%s reads back as %.17g", tmp, d);
	if (m == pow10)
		snprintf(tmp, sizeof(tmp), "%" PRIu64 "e%d", pow10 * 10 - 1,
		    x - 1);
	else
		snprintf(tmp, sizeof(tmp), "%" PRIu64 "e%d", m - 1, x);
	ck_assert_msg(!reads_back(tmp, d), "%s reads back as %.17g", tmp, d);
}

/*
 * Random bit patterns: every finite double formats to a string that reads
 * back to the same bits, has no shorter round-trip form, is the nearest
 * of its length, and canonicalizes to itself.
 */
START_TEST(test_random_doubles)
{
	char		 out[32], digs[32], want[32], tmp[48], in[40], *s;
	uint64_t	 bits, back;
	double		 d, r;
	int		 n, k, wk, i, tested = 0, asym;
	size_t		 len;

	for (i = 0; i < 120000; i++) {
		bits = rng();
		if (i % 8 == 0)		/* short decimals too */
			d = (double)(rng() % 100000) /
			    pow(10, (double)(rng() % 12));
		else if (i % 8 == 1)	/* and powers of two */
			d = ldexp(1, (int)(rng() % 2098) - 1074);
		else
			memcpy(&d, &bits, sizeof(d));
		if (!isfinite(d))
			continue;
		n = jcs_format_double(d, out, sizeof(out));
		ck_assert_msg(n > 0 && (size_t)n == strlen(out),
		    "%.17g: %d", d, n);
		r = strtod(out, NULL);
		if (d == 0) {
			ck_assert_str_eq(out, "0");
			continue;
		}
		memcpy(&bits, &d, sizeof(bits));
		memcpy(&back, &r, sizeof(back));
		ck_assert_msg(bits == back, "%s does not read back as %.17g",
		    out, d);
		k = sig_digits(out, digs);
		ck_assert_msg(k >= 1 && k <= 17, "%s", out);
		if (k > 1)
			check_none_shorter(d, k - 2);
		/* Nearest of its length, except at a narrow power of two. */
		asym = (bits & 0xfffffffffffffULL) == 0 &&
		    ((bits >> 52) & 0x7ff) > 1;
		if (!asym) {
			snprintf(tmp, sizeof(tmp), "%.*e", k - 1, d);
			wk = sig_digits(tmp, want);
			ck_assert_msg(wk == k && strcmp(want, digs) == 0,
			    "%s is not the nearest (%s)", out, tmp);
		}
		/* ES layout: exponent form iff outside [1e-7, 1e21). */
		ck_assert_msg((strchr(out, 'e') != NULL) ==
		    (fabs(d) < 1e-6 || fabs(d) >= 1e21), "%s", out);
		if (i % 10 == 0) {
			snprintf(in, sizeof(in), "[%s]", out);
			s = canon(in, strlen(in), &len, NULL, 0);
			ck_assert_ptr_nonnull(s);
			ck_assert_str_eq(s, in);
			free(s);
		}
		tested++;
	}
	ck_assert_int_ge(tested, 100000);
}
END_TEST

/* Random documents: serialize, parse, serialize again gives the same. */
static json_t *
random_value(int depth)
{
	static const char	*frag[] = {
		"a", "b", "\xc3\xa9", "\xf0\x9f\x98\x80", "\xef\xbc\xa1",
		"\xed\xa0\x80", "\xed\xbf\xbf", "\n", "\"", "\\", "/",
		"\x01", "\x7f", "\xe2\x80\xa8", "10", "9", "", "z"
	};
	json_t	*v;
	char	 s[64];
	size_t	 o, i, n;
	uint64_t bits;
	double	 d;

	switch (depth > 4 ? rng() % 5 : rng() % 7) {
	case 0:
		return (json_integer((json_int_t)rng() >> (rng() % 64)));
	case 1:
		bits = rng();
		memcpy(&d, &bits, sizeof(d));
		return (json_real(isfinite(d) ? d : 0.5));
	case 2:
	case 3:
		o = 0;
		n = rng() % 5;
		for (i = 0; i < n; i++) {
			const char *f = frag[rng() % (sizeof(frag) /
			    sizeof(frag[0]))];
			memcpy(s + o, f, strlen(f));
			o += strlen(f);
		}
		return (json_stringn_nocheck(s, o));
	case 4:
		return (rng() % 2 ? json_null() : json_boolean(rng() % 2));
	case 5:
		v = json_array();
		n = rng() % 5;
		for (i = 0; i < n; i++)
			json_array_append_new(v, random_value(depth + 1));
		return (v);
	default:
		v = json_object();
		n = rng() % 6;
		for (i = 0; i < n; i++) {
			snprintf(s, sizeof(s), "%s%s",
			    frag[rng() % (sizeof(frag) / sizeof(frag[0]))],
			    frag[rng() % (sizeof(frag) / sizeof(frag[0]))]);
			json_object_set_new_nocheck(v, s,
			    random_value(depth + 1));
		}
		return (v);
	}
}

START_TEST(test_random_documents)
{
	json_t	*v;
	char	*s1, *s2;
	size_t	 n1, n2;
	int	 i;

	for (i = 0; i < 20000; i++) {
		v = random_value(0);
		ck_assert_ptr_nonnull(v);
		s1 = jcs_serialize(v, 0, &n1);
		ck_assert_ptr_nonnull(s1);
		json_decref(v);
		s2 = canon(s1, n1, &n2, NULL, 0);
		ck_assert_msg(s2 != NULL, "own output rejected: %s", s1);
		ck_assert_msg(n1 == n2 && memcmp(s1, s2, n1) == 0,
		    "unstable: %s -> %s", s1, s2);
		ck_assert_int_eq(jcs_is_canonical(s1, n1), 1);
		free(s1);
		free(s2);
	}
}
END_TEST

/* Large bodies must not take quadratic time. */
START_TEST(test_large)
{
	const char	*want;
	char	*b, *s;
	size_t	 o = 0, n, cap = 8 * 1024 * 1024;
	int	 i;
	json_t	*v;

	b = malloc(cap);
	ck_assert_ptr_nonnull(b);
	b[o++] = '{';
	for (i = 199999; i >= 0; i--)
		o += snprintf(b + o, cap - o, "%s\"k%d\\u00e9\":[%d.5,\"v\"]",
		    i == 199999 ? "" : ",", i, i);
	b[o++] = '}';
	v = jcs_parse(b, o, NULL, 0);
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(json_object_size(v), 200000);
	s = jcs_serialize(v, 0, &n);
	ck_assert_ptr_nonnull(s);
	/* UTF-16 order: "k100000\u00e9" < "k100001\u00e9" < "k1\u00e9" */
	want = "{\"k0\xc3\xa9\":[0.5,\"v\"],\"k100000\xc3\xa9\":[100000.5,"
	    "\"v\"],\"k100001\xc3\xa9\":";
	ck_assert(strncmp(s, want, strlen(want)) == 0);
	ck_assert_int_eq(jcs_is_canonical(s, n), 1);
	free(s);
	json_decref(v);

	/* One long string with escapes, one long number. */
	o = 0;
	b[o++] = '[';
	b[o++] = '"';
	for (i = 0; i < 500000; i++) {
		memcpy(b + o, "\\n", 2);
		o += 2;
	}
	b[o++] = '"';
	b[o++] = ',';
	b[o++] = '0';
	b[o++] = '.';
	for (i = 0; i < 100000; i++)
		b[o++] = '3';
	b[o++] = ']';
	v = jcs_parse(b, o, NULL, 0);
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(json_string_length(json_array_get(v, 0)), 500000);
	s = jcs_serialize(v, 0, &n);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(n, 1 + 1 + 500000 * 2 + 1 + 1 + 18 + 1);
	ck_assert(strcmp(s + n - 20, ",0.3333333333333333]") == 0);
	free(s);
	json_decref(v);
	free(b);
}
END_TEST

static Suite *
jcs_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("jcs");

	tc = tcase_create("vectors");
	tcase_add_unchecked_fixture(tc, load_vectors, free_vectors);
	tcase_add_test(tc, test_appendix_b_canonical_json);
	tcase_add_test(tc, test_appendix_b_vector5);
	tcase_add_test(tc, test_appendix_b_signed_bodies);
	tcase_add_test(tc, test_appendix_b_objects);
	suite_add_tcase(s, tc);

	tc = tcase_create("serialize");
	tcase_add_test(tc, test_format_double);
	tcase_add_test(tc, test_routing_floats);
	tcase_add_test(tc, test_numbers);
	tcase_add_test(tc, test_serialize_built);
	tcase_add_test(tc, test_nesting_limit_serialize);
	tcase_add_test(tc, test_strings);
	tcase_add_test(tc, test_lone_surrogate_bytes);
	tcase_add_test(tc, test_nul_refused);
	tcase_add_test(tc, test_key_order);
	tcase_add_test(tc, test_skip_signature);
	tcase_add_test(tc, test_is_canonical);
	suite_add_tcase(s, tc);

	tc = tcase_create("reject");
	tcase_add_test(tc, test_reject_duplicates);
	tcase_add_test(tc, test_reject_utf8);
	tcase_add_test(tc, test_reject_control_nul);
	tcase_add_test(tc, test_reject_numbers);
	tcase_add_test(tc, test_reject_syntax);
	tcase_add_test(tc, test_depth);
	tcase_add_test(tc, test_error_buffer);
	suite_add_tcase(s, tc);

	tc = tcase_create("random");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_random_doubles);
	tcase_add_test(tc, test_random_documents);
	tcase_add_test(tc, test_large);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(jcs_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
