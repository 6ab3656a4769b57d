/*
 * Decoders for the federation wire (hex, base64url, base58btc, did:key),
 * base64url encoding, UUIDs and new relay ids: what the engines need and
 * keyd does not (encoding.c has the rest; encoding.h declares both).
 *
 * The reference relay decodes leniently (bad hex becomes zero bytes,
 * atob() drops stray bits).  Every decoder here is strict instead: input
 * is checked completely before anything is written to the output, and
 * input that could not have come out of the matching encoder is refused.
 * The one allowance is that the base64url decoder, like the reference,
 * also takes standard base64 ('+', '/', '=' padding), and the hex decoder
 * takes upper case digits; callers that store or compare such strings
 * should store the re-encoded (canonical) form.
 */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "encoding.h"
#include "log.h"

static const char hex_digits[] = "0123456789abcdef";

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int	 hex_value(char);
static int	 b64url_value(char);
static int	 b58_value(char);
static void	 random_bytes(uint8_t *, size_t);
static void	 uuid_format(const uint8_t [16], char *);

/* Value of one hex digit (either case), or -1. */
static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/*
 * s must be exactly 2 * outlen hex digits and nothing else.  Returns 0, or
 * -1 with out untouched.
 */
int
hex_decode(const char *s, uint8_t *out, size_t outlen)
{
	size_t	 i;

	if (outlen > (SIZE_MAX - 1) / 2)
		return (-1);
	if (strnlen(s, 2 * outlen + 1) != 2 * outlen)
		return (-1);
	for (i = 0; i < 2 * outlen; i++)
		if (hex_value(s[i]) == -1)
			return (-1);
	for (i = 0; i < outlen; i++)
		out[i] = (uint8_t)(hex_value(s[2 * i]) << 4 |
		    hex_value(s[2 * i + 1]));
	return (0);
}

size_t
b64url_encode(const uint8_t *in, size_t len, char *out)
{
	size_t	 i, o = 0;
	uint32_t v;

	for (i = 0; i + 3 <= len; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		out[o++] = b64url_alphabet[v >> 18 & 0x3f];
		out[o++] = b64url_alphabet[v >> 12 & 0x3f];
		out[o++] = b64url_alphabet[v >> 6 & 0x3f];
		out[o++] = b64url_alphabet[v & 0x3f];
	}
	switch (len - i) {
	case 2:
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64url_alphabet[v >> 18 & 0x3f];
		out[o++] = b64url_alphabet[v >> 12 & 0x3f];
		out[o++] = b64url_alphabet[v >> 6 & 0x3f];
		break;
	case 1:
		v = (uint32_t)in[i] << 16;
		out[o++] = b64url_alphabet[v >> 18 & 0x3f];
		out[o++] = b64url_alphabet[v >> 12 & 0x3f];
		break;
	}
	out[o] = '\0';
	return (o);
}

/* Value of one base64url or base64 character, or -1. */
static int
b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return (c - 'A');
	if (c >= 'a' && c <= 'z')
		return (c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (c - '0' + 52);
	if (c == '-' || c == '+')
		return (62);
	if (c == '_' || c == '/')
		return (63);
	return (-1);
}

/*
 * Padding is taken as atob() takes it: one or two '=' at the very end of
 * a string whose length is a multiple of four.  After that, a final group
 * of one character is impossible, and the bits a short final group does
 * not use must be zero (otherwise two strings would decode to the same
 * bytes).  Returns the decoded length, or -1 with out untouched.
 */
int
b64url_decode(const char *s, size_t slen, uint8_t *out, size_t outmax)
{
	size_t	 n, i, o, need;
	uint32_t v;
	int	 last;

	n = slen;
	if (n > 0 && n % 4 == 0 && s[n - 1] == '=') {
		n--;
		if (s[n - 1] == '=')
			n--;
	}
	if (n % 4 == 1)
		return (-1);
	need = n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
	if (need > outmax || need > INT_MAX)
		return (-1);

	/* Check the whole input first. */
	for (i = 0; i < n; i++)
		if (b64url_value(s[i]) == -1)
			return (-1);
	if (n % 4 != 0) {
		last = b64url_value(s[n - 1]);
		if (n % 4 == 2 && (last & 0x0f) != 0)
			return (-1);
		if (n % 4 == 3 && (last & 0x03) != 0)
			return (-1);
	}

	o = 0;
	for (i = 0; i + 4 <= n; i += 4) {
		v = (uint32_t)b64url_value(s[i]) << 18 |
		    (uint32_t)b64url_value(s[i + 1]) << 12 |
		    (uint32_t)b64url_value(s[i + 2]) << 6 |
		    (uint32_t)b64url_value(s[i + 3]);
		out[o++] = v >> 16 & 0xff;
		out[o++] = v >> 8 & 0xff;
		out[o++] = v & 0xff;
	}
	switch (n - i) {
	case 3:
		v = (uint32_t)b64url_value(s[i]) << 18 |
		    (uint32_t)b64url_value(s[i + 1]) << 12 |
		    (uint32_t)b64url_value(s[i + 2]) << 6;
		out[o++] = v >> 16 & 0xff;
		out[o++] = v >> 8 & 0xff;
		break;
	case 2:
		v = (uint32_t)b64url_value(s[i]) << 18 |
		    (uint32_t)b64url_value(s[i + 1]) << 12;
		out[o++] = v >> 16 & 0xff;
		break;
	}
	return ((int)o);
}

/* Value of one base58 character, or -1. */
static int
b58_value(char c)
{
	const char	*p;

	if (c == '\0')
		return (-1);
	if ((p = strchr(base58_alphabet, c)) == NULL)
		return (-1);
	return ((int)(p - base58_alphabet));
}

/*
 * Decodes the NUL-terminated string s into out (outmax bytes).  Returns
 * the number of bytes, or -1 (bad character, out too small, no memory).
 * The empty string decodes to zero bytes.
 */
int
base58_decode(const char *s, uint8_t *out, size_t outmax)
{
	uint8_t		*bytes;
	size_t		 slen, zeros, size, nbytes, i, j, total;
	unsigned int	 carry;
	int		 v;

	slen = strlen(s);
	for (zeros = 0; zeros < slen && s[zeros] == '1'; zeros++)
		;
	/* k digits hold a number below 58^k, so below 256^(k * 0.733). */
	if (slen - zeros > (SIZE_MAX - 1) / 733)
		return (-1);
	size = (slen - zeros) * 733 / 1000 + 1;
	if ((bytes = calloc(size, 1)) == NULL)
		return (-1);

	/* bytes[size - nbytes .. size - 1] is the number so far. */
	nbytes = 0;
	for (i = zeros; i < slen; i++) {
		if ((v = b58_value(s[i])) == -1) {
			free(bytes);
			return (-1);
		}
		carry = (unsigned int)v;
		for (j = 0; j < nbytes || carry != 0; j++) {
			carry += 58 * (unsigned int)bytes[size - 1 - j];
			bytes[size - 1 - j] = carry & 0xff;
			carry >>= 8;
		}
		nbytes = j;
	}

	total = zeros + nbytes;
	if (total > outmax || total > INT_MAX) {
		free(bytes);
		return (-1);
	}
	memset(out, 0, zeros);
	memcpy(out + zeros, bytes + size - nbytes, nbytes);
	free(bytes);
	return ((int)total);
}

/*
 * Accepts only "did:key:z" + base58btc of exactly 0xed 0x01 and 32 bytes.
 * Returns 0, or -1 with pub untouched.
 */
int
did_key_to_pubkey(const char *s, uint8_t pub[32])
{
	uint8_t	 buf[2 + 32];

	/* Bound the work before decoding: a valid one is 56 characters. */
	if (strnlen(s, DID_KEY_MAX) >= DID_KEY_MAX)
		return (-1);
	if (strncmp(s, DID_KEY_PREFIX, DID_KEY_PREFIX_LEN) != 0)
		return (-1);
	if (base58_decode(s + DID_KEY_PREFIX_LEN, buf, sizeof(buf)) !=
	    (int)sizeof(buf))
		return (-1);
	if (buf[0] != MULTICODEC_ED25519_0 || buf[1] != MULTICODEC_ED25519_1)
		return (-1);
	memcpy(pub, buf + 2, 32);
	return (0);
}

/* A CSPRNG failure leaves nothing sensible to do: give up. */
static void
random_bytes(uint8_t *buf, size_t len)
{
	if (len > INT_MAX || RAND_bytes(buf, (int)len) != 1)
		fatalx("%s: RAND_bytes failed", __func__);
}

/* 16 bytes as lowercase 8-4-4-4-12 and a NUL (37 bytes). */
static void
uuid_format(const uint8_t b[16], char *out)
{
	size_t	 i;
	char	*p = out;

	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = hex_digits[b[i] >> 4];
		*p++ = hex_digits[b[i] & 0x0f];
	}
	*p = '\0';
}

/* 122 random bits, version 4, variant 10. */
void
uuid_v4(char *out)
{
	uint8_t	 b[16];

	random_bytes(b, sizeof(b));
	b[6] = 0x40 | (b[6] & 0x0f);
	b[8] = 0x80 | (b[8] & 0x3f);
	uuid_format(b, out);
}

/* 48-bit big-endian epoch ms, version 7, 74 random bits, variant 10. */
void
uuid_v7(char *out, int64_t ms)
{
	uint8_t	 b[16];
	uint64_t t = (uint64_t)ms;

	random_bytes(b, sizeof(b));
	b[0] = t >> 40 & 0xff;
	b[1] = t >> 32 & 0xff;
	b[2] = t >> 24 & 0xff;
	b[3] = t >> 16 & 0xff;
	b[4] = t >> 8 & 0xff;
	b[5] = t & 0xff;
	b[6] = 0x70 | (b[6] & 0x0f);
	b[8] = 0x80 | (b[8] & 0x3f);
	uuid_format(b, out);
}

/*
 * 1 if s is exactly 36 characters of lowercase 8-4-4-4-12 hex, else 0.
 * The version and variant nibbles are not checked: relayd meets v4, v7
 * and the reference's v8 "sovereign" ids.
 */
int
uuid_valid(const char *s)
{
	size_t	 i;

	if (strnlen(s, UUID_STR_LEN + 1) != UUID_STR_LEN)
		return (0);
	for (i = 0; i < UUID_STR_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return (0);
		} else if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return (0);
	}
	return (1);
}

/* "relay-" + UUIDv4, as the reference generates at first boot. */
void
relay_id_new(char *out)
{
	memcpy(out, RELAY_ID_PREFIX, RELAY_ID_PREFIX_LEN);
	uuid_v4(out + RELAY_ID_PREFIX_LEN);
}
