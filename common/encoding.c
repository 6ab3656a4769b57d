/*
 * The encoders keyd needs: hex, base58btc and did:key, the relay id rule
 * and the wall clock.  The decoders, base64url, UUIDs and new relay ids
 * are in decode.c, which keyd does not link.
 *
 * keyd links this file: it has no state, allocates only in base58_encode,
 * and handles no secret material.
 */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "encoding.h"
#include "log.h"

static const char hex_digits[] = "0123456789abcdef";

/* Bitcoin's alphabet: no 0, O, I or l. */
const char base58_alphabet[] =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/*
 * Hex
 */

size_t
hex_encode(const uint8_t *in, size_t len, char *out)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hex_digits[in[i] >> 4];
		out[2 * i + 1] = hex_digits[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
	return (2 * len);
}



/*
 * base64url
 */




/*
 * base58btc: the input read as one big-endian number, written in base 58,
 * with each leading zero byte written as '1'.  Both directions use the
 * schoolbook conversion (quadratic; fine for keys and signatures).
 */


/*
 * Writes the base58 string and a NUL into out (outmax bytes).  Returns the
 * number of characters (without the NUL), or -1 if out is too small or
 * memory runs out.
 */
int
base58_encode(const uint8_t *in, size_t len, char *out, size_t outmax)
{
	uint8_t		*digits;
	size_t		 zeros, size, ndigits, i, j, total;
	unsigned int	 carry;

	for (zeros = 0; zeros < len && in[zeros] == 0; zeros++)
		;
	/*
	 * m bytes hold a number below 256^m, which needs at most
	 * m * log(256) / log(58) < m * 1.38 base-58 digits.
	 */
	if (len - zeros > (SIZE_MAX - 1) / 138)
		return (-1);
	size = (len - zeros) * 138 / 100 + 1;
	if ((digits = calloc(size, 1)) == NULL)
		return (-1);

	/* digits[size - ndigits .. size - 1] is the number so far. */
	ndigits = 0;
	for (i = zeros; i < len; i++) {
		carry = in[i];
		for (j = 0; j < ndigits || carry != 0; j++) {
			carry += 256 * (unsigned int)digits[size - 1 - j];
			digits[size - 1 - j] = carry % 58;
			carry /= 58;
		}
		ndigits = j;
	}

	total = zeros + ndigits;
	if (total >= outmax || total > INT_MAX) {
		free(digits);
		return (-1);
	}
	memset(out, '1', zeros);
	for (j = 0; j < ndigits; j++)
		out[zeros + j] = base58_alphabet[digits[size - ndigits + j]];
	out[total] = '\0';
	free(digits);
	return ((int)total);
}


/*
 * did:key
 */

/* Returns 0, or -1 (with out set to "" if it has room) if out is short. */
int
did_key_from_pubkey(const uint8_t pub[32], char *out, size_t outlen)
{
	uint8_t	 buf[2 + 32];

	if (outlen <= DID_KEY_PREFIX_LEN) {
		if (outlen > 0)
			out[0] = '\0';
		return (-1);
	}
	buf[0] = MULTICODEC_ED25519_0;
	buf[1] = MULTICODEC_ED25519_1;
	memcpy(buf + 2, pub, 32);
	memcpy(out, DID_KEY_PREFIX, DID_KEY_PREFIX_LEN);
	if (base58_encode(buf, sizeof(buf), out + DID_KEY_PREFIX_LEN,
	    outlen - DID_KEY_PREFIX_LEN) == -1) {
		out[0] = '\0';
		return (-1);
	}
	return (0);
}


/*
 * UUIDs (RFC 9562) and relay ids
 */







/*
 * Relay ids are opaque but go into the ':' and '|' separated signing
 * templates, so: 1 to 63 printable ASCII characters (0x21-0x7e) other
 * than ':' and '|'.  Returns 1 if valid, else 0.
 */
int
relay_id_valid(const char *s)
{
	size_t	 i, n;

	n = strnlen(s, RELAY_ID_MAXLEN + 1);
	if (n == 0 || n > RELAY_ID_MAXLEN)
		return (0);
	for (i = 0; i < n; i++) {
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == ':' || s[i] == '|')
			return (0);
	}
	return (1);
}

int64_t
now_ms(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		fatal("%s: clock_gettime", __func__);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}
