/*
 * Ed25519 over OpenSSL EVP (RFC 8032 pure Ed25519), SHA-256 and key files.
 * Public keys and seeds are raw 32-byte arrays; signatures 64 bytes.
 */
#ifndef RELAYD_CRYPTO_H
#define RELAYD_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define ED25519_PUB_LEN		32
#define ED25519_SEED_LEN	32
#define ED25519_SIG_LEN		64
#define SHA256_LEN		32

/* Keys */
EVP_PKEY *ed25519_from_seed(const uint8_t [ED25519_SEED_LEN]);
EVP_PKEY *ed25519_generate(void);
int	 ed25519_public(EVP_PKEY *, uint8_t [ED25519_PUB_LEN]);
EVP_PKEY *ed25519_pub_from_raw(const uint8_t [ED25519_PUB_LEN]);

/* Sign and verify raw messages (0 ok, -1 failure). */
int	 ed25519_sign(EVP_PKEY *, const uint8_t *, size_t,
	    uint8_t [ED25519_SIG_LEN]);
int	 ed25519_verify(const uint8_t [ED25519_PUB_LEN], const uint8_t *,
	    size_t, const uint8_t [ED25519_SIG_LEN]);
/* Verify with hex public key and hex / base64url signature strings. */
int	 ed25519_verify_hex(const char *, const uint8_t *, size_t,
	    const char *);
int	 ed25519_verify_b64url(const char *, const uint8_t *, size_t,
	    const char *);

/*
 * PKCS#8 PEM key files.  pem_read returns NULL on error (with a message in
 * err); passphrase may be NULL.  pem_write returns a malloc'd PEM string
 * (encrypted with AES-256-CBC/PBKDF2 when passphrase is non-NULL).
 */
EVP_PKEY *ed25519_pem_read(const char *, size_t, const char *,
	    char *, size_t);
char	*ed25519_pem_write(EVP_PKEY *, const char *, size_t *);

void	 sha256(const void *, size_t, uint8_t [SHA256_LEN]);
/* fingerprint: lowercase hex SHA-256 of the raw public key */
void	 pubkey_fingerprint(const uint8_t [ED25519_PUB_LEN], char [65]);

/* Signing templates of the reference (motebit-concat-ed25519-hex-v1). */
#define SUITE_CONCAT_HEX	"motebit-concat-ed25519-hex-v1"
#define SUITE_JCS_HEX		"motebit-jcs-ed25519-hex-v1"
#define SUITE_JCS_B64		"motebit-jcs-ed25519-b64-v1"
/* "{relay_id}:{nonce}:motebit-concat-ed25519-hex-v1"; -1 if too long */
int	 msg_handshake(char *, size_t, const char *, const char *);
/* "{relay_id}|{timestamp}|motebit-concat-ed25519-hex-v1" */
int	 msg_heartbeat(char *, size_t, const char *, int64_t);
/* "revocation:{type}:{motebit_id}:{timestamp}" */
int	 msg_revocation(char *, size_t, const char *, const char *, int64_t);
/*
 * Key succession record, signed by the old and the new key: JCS of
 * {new_public_key, old_public_key, suite, timestamp} (keys lowercase hex,
 * suite motebit-jcs-ed25519-hex-v1).  Returns the length or -1.
 */
int	 msg_succession(char *, size_t, const char *, const char *, int64_t);

#endif /* RELAYD_CRYPTO_H */
