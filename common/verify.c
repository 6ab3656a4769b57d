/*
 * Ed25519 helpers the engines use and keyd does not: verification of
 * hex or base64url signatures
 * (crypto.c has the rest; crypto.h declares both).
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>

#include "crypto.h"
#include "encoding.h"

/* Public key as 64 hex digits, signature as 128 hex digits. */
int
ed25519_verify_hex(const char *pubhex, const uint8_t *msg, size_t len,
    const char *sighex)
{
	uint8_t	 pub[ED25519_PUB_LEN], sig[ED25519_SIG_LEN];

	if (pubhex == NULL || sighex == NULL)
		return (-1);
	if (hex_decode(pubhex, pub, sizeof(pub)) == -1 ||
	    hex_decode(sighex, sig, sizeof(sig)) == -1)
		return (-1);
	return (ed25519_verify(pub, msg, len, sig));
}

/* Public key as 64 hex digits, signature as base64url of 64 bytes. */
int
ed25519_verify_b64url(const char *pubhex, const uint8_t *msg, size_t len,
    const char *sigb64)
{
	uint8_t	 pub[ED25519_PUB_LEN], sig[ED25519_SIG_LEN];

	if (pubhex == NULL || sigb64 == NULL)
		return (-1);
	if (hex_decode(pubhex, pub, sizeof(pub)) == -1)
		return (-1);
	if (b64url_decode(sigb64, strlen(sigb64), sig, sizeof(sig)) !=
	    ED25519_SIG_LEN)
		return (-1);
	return (ed25519_verify(pub, msg, len, sig));
}
