/*
 * libFuzzer target for the decoders of common/encoding.c (hex, base64url,
 * base58btc, did:key) and for the bearer-token split and decode.
 *
 * Every output buffer is a heap block of exactly the size the decoder is
 * told, so ASan reports any write past it; the raw input is used without
 * a terminating NUL where the API takes a length, so any read past it is
 * reported too.  A successful decode must re-encode to an equivalent
 * string (abort() otherwise):
 * - hex: the same digits, lower case;
 * - base64url: the same characters with '+' and '/' mapped to '-' and
 *   '_' and the padding dropped;
 * - base58 and did:key: exactly the same string.
 * Encoders are also fed the raw input and must decode back to it.
 *
 * Seed corpus: regress/fuzz/corpus/encoding.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "encoding.h"

/* base58 is quadratic; longer inputs only slow the fuzzer down. */
#define B58_MAX		256
#define INPUT_MAX	4096

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void	 fuzz_hex(const char *);
static void	 fuzz_b64url(const char *, size_t);
static void	 fuzz_base58(const char *);
static void	 fuzz_did_key(const char *);
static void	 fuzz_token(const char *);
static void	 fuzz_encoders(const uint8_t *, size_t);

#define CHECK(e) do {							\
	if (!(e)) {							\
		fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #e);	\
		abort();						\
	}								\
} while (0)

static void *
xmalloc(size_t n)
{
	void	*p;

	/* malloc(0) is a valid block of size zero for ASan. */
	if ((p = malloc(n)) == NULL && n != 0)
		abort();
	return (p);
}

static void
fuzz_hex(const char *s)
{
	size_t	 len = strlen(s), n, i;
	uint8_t	*out;
	char	*enc;

	n = len / 2;
	out = xmalloc(n);
	if (hex_decode(s, out, n) == 0) {
		CHECK(len % 2 == 0);
		enc = xmalloc(2 * n + 1);
		CHECK(hex_encode(out, n, enc) == len);
		for (i = 0; i < len; i++) {
			CHECK((enc[i] >= '0' && enc[i] <= '9') ||
			    (enc[i] >= 'a' && enc[i] <= 'f'));
			CHECK(enc[i] == s[i] ||
			    (s[i] >= 'A' && s[i] <= 'F' &&
			    enc[i] == s[i] - 'A' + 'a'));
		}
		free(enc);
	}
	/* Only the exact length is accepted. */
	free(out);
	out = xmalloc(n + 1);
	CHECK(hex_decode(s, out, n + 1) == -1);
	if (n > 0)
		CHECK(hex_decode(s, out, n - 1) == -1);
	free(out);
}

/* s is not NUL-terminated: len bytes only. */
static void
fuzz_b64url(const char *s, size_t len)
{
	size_t	 max, i, j, n;
	uint8_t	*out, *again;
	char	*enc, *canon;
	int	 r;

	max = len / 4 * 3 + 2;
	out = xmalloc(max);
	r = b64url_decode(s, len, out, max);
	if (r >= 0) {
		n = (size_t)r;
		CHECK(n <= max);
		enc = xmalloc(B64URL_LEN(n) + 1);
		CHECK(b64url_encode(out, n, enc) == B64URL_LEN(n));

		/* The input, as base64url without padding. */
		canon = xmalloc(len + 1);
		for (i = j = 0; i < len; i++) {
			if (s[i] == '=')
				continue;
			canon[j++] = s[i] == '+' ? '-' : s[i] == '/' ? '_' :
			    s[i];
		}
		canon[j] = '\0';
		CHECK(strcmp(enc, canon) == 0);
		/* Padding, if any, was at the end and made len % 4 == 0. */
		if (j != len)
			CHECK(len % 4 == 0 && len - j <= 2 &&
			    s[len - 1] == '=');

		/* No room for the last byte: refused. */
		if (n > 0) {
			again = xmalloc(n - 1);
			CHECK(b64url_decode(s, len, again, n - 1) == -1);
			free(again);
		}
		free(canon);
		free(enc);
	}
	free(out);
}

static void
fuzz_base58(const char *s)
{
	size_t	 len = strlen(s);
	uint8_t	*out, *small;
	char	*enc;
	int	 r;

	if (len > B58_MAX)
		return;
	/* Every character yields at most one byte. */
	out = xmalloc(len);
	r = base58_decode(s, out, len);
	if (r >= 0) {
		enc = xmalloc(len + 1);
		CHECK(base58_encode(out, (size_t)r, enc, len + 1) ==
		    (int)len);
		CHECK(strcmp(enc, s) == 0);
		free(enc);
		if (r > 0) {
			small = xmalloc((size_t)r - 1);
			CHECK(base58_decode(s, small, (size_t)r - 1) == -1);
			free(small);
		}
	}
	free(out);
}

static void
fuzz_did_key(const char *s)
{
	uint8_t	*pub;
	char	*enc;

	pub = xmalloc(ED25519_PUB_LEN);
	if (did_key_to_pubkey(s, pub) == 0) {
		enc = xmalloc(DID_KEY_MAX);
		CHECK(did_key_from_pubkey(pub, enc, DID_KEY_MAX) == 0);
		CHECK(strcmp(enc, s) == 0);
		free(enc);
	}
	free(pub);
}

/*
 * "base64url(payload).base64url(signature)": split at the first '.',
 * decode both halves, and verify (with key W of Appendix B) when the
 * signature has the right length.  Junk must simply fail.
 */
static void
fuzz_token(const char *s)
{
	static const char	 pubhex[] =
	    "ed4928c628d1c2c6eae90338905995612959273a5c63f93636c14614ac8737d1";
	const char		*dot;
	size_t			 plen, max;
	uint8_t			*payload, *sig;
	int			 n, m;

	if ((dot = strchr(s, '.')) == NULL)
		return;
	plen = (size_t)(dot - s);
	max = plen / 4 * 3 + 2;
	payload = xmalloc(max);
	n = b64url_decode(s, plen, payload, max);
	sig = xmalloc(ED25519_SIG_LEN);
	m = b64url_decode(dot + 1, strlen(dot + 1), sig, ED25519_SIG_LEN);
	if (n >= 0) {
		CHECK((size_t)n <= max);
		/* Decoded alone, the signature must agree. */
		if (ed25519_verify_b64url(pubhex, payload, (size_t)n,
		    dot + 1) == 0)
			CHECK(m == ED25519_SIG_LEN);
	}
	free(sig);
	free(payload);
}

static void
fuzz_encoders(const uint8_t *data, size_t size)
{
	char	*enc;
	uint8_t	*back;
	int	 r;

	enc = xmalloc(2 * size + 1);
	CHECK(hex_encode(data, size, enc) == 2 * size);
	back = xmalloc(size);
	CHECK(hex_decode(enc, back, size) == 0);
	CHECK(size == 0 || memcmp(back, data, size) == 0);
	free(enc);

	enc = xmalloc(B64URL_LEN(size) + 1);
	CHECK(b64url_encode(data, size, enc) == B64URL_LEN(size));
	CHECK(b64url_decode(enc, B64URL_LEN(size), back, size) ==
	    (int)size);
	CHECK(size == 0 || memcmp(back, data, size) == 0);
	free(enc);

	if (size <= B58_MAX) {
		/* At most 138 digits per 100 bytes, plus one and a NUL. */
		enc = xmalloc(size * 138 / 100 + 2);
		r = base58_encode(data, size, enc, size * 138 / 100 + 2);
		CHECK(r >= 0 && (size_t)r == strlen(enc));
		CHECK(base58_decode(enc, back, size) == (int)size);
		CHECK(size == 0 || memcmp(back, data, size) == 0);
		free(enc);
	}
	free(back);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*s;

	if (size > INPUT_MAX)
		return (0);
	fuzz_b64url((const char *)data, size);
	fuzz_encoders(data, size);

	s = xmalloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	fuzz_hex(s);
	fuzz_base58(s);
	fuzz_did_key(s);
	fuzz_token(s);
	(void)uuid_valid(s);
	(void)relay_id_valid(s);
	free(s);
	return (0);
}
