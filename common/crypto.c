/*
 * Ed25519 (RFC 8032 pure Ed25519: no prehash, no context) over the
 * OpenSSL 3 EVP interface, SHA-256, PKCS#8 PEM key files and the
 * reference relay's fixed-string signing templates.
 *
 * keyd links this file and is the only process that ever holds a private
 * key.  Rules kept throughout:
 * - a seed on our own stack is wiped with OPENSSL_cleanse() before return;
 *   an EVP_PKEY wipes its own key material in EVP_PKEY_free();
 * - PEM text that holds an unencrypted key is built in a secure-memory
 *   BIO (cleared on free), and the copy returned to the caller must be
 *   released with freezero();
 * - OpenSSL never prompts on a terminal: the passphrase callback answers
 *   only with the passphrase given, or fails;
 * - every failure returns an error, and leaves the OpenSSL error queue
 *   empty so that a later error report is not confused by an old one.
 */
#include "config.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "crypto.h"
#include "encoding.h"
#include "log.h"

/*
 * OpenSSL hands the passphrase callback a PEM_BUFSIZE buffer; refuse to
 * write a file whose passphrase could not be given back when reading it.
 */
#define PEM_PASS_MAX	(PEM_BUFSIZE - 1)

static void	 set_err(char *, size_t, const char *, ...)
		    __attribute__((__format__ (printf, 3, 4)));
static int	 pem_pass_cb(char *, int, int, void *);
static int	 msg_result(int, char *, size_t);

/*
 * Keys
 */

EVP_PKEY *
ed25519_from_seed(const uint8_t seed[ED25519_SEED_LEN])
{
	return (EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed,
	    ED25519_SEED_LEN));
}

/* A new key from a fresh 32-byte seed; NULL on failure. */
EVP_PKEY *
ed25519_generate(void)
{
	uint8_t		 seed[ED25519_SEED_LEN];
	EVP_PKEY	*pkey;

	if (RAND_priv_bytes(seed, sizeof(seed)) != 1) {
		OPENSSL_cleanse(seed, sizeof(seed));
		ERR_clear_error();
		return (NULL);
	}
	pkey = ed25519_from_seed(seed);
	OPENSSL_cleanse(seed, sizeof(seed));
	return (pkey);
}

/* The raw public key of an Ed25519 key (private or public); 0 or -1. */
int
ed25519_public(EVP_PKEY *pkey, uint8_t pub[ED25519_PUB_LEN])
{
	size_t	 len = ED25519_PUB_LEN;

	if (pkey == NULL || EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519)
		return (-1);
	if (EVP_PKEY_get_raw_public_key(pkey, pub, &len) != 1 ||
	    len != ED25519_PUB_LEN) {
		ERR_clear_error();
		return (-1);
	}
	return (0);
}

EVP_PKEY *
ed25519_pub_from_raw(const uint8_t pub[ED25519_PUB_LEN])
{
	return (EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub,
	    ED25519_PUB_LEN));
}

/*
 * Sign and verify.  A NULL md in EVP_DigestSignInit() selects pure
 * Ed25519, which is what every motebit suite uses.
 */

int
ed25519_sign(EVP_PKEY *pkey, const uint8_t *msg, size_t len,
    uint8_t sig[ED25519_SIG_LEN])
{
	EVP_MD_CTX	*ctx;
	size_t		 siglen = ED25519_SIG_LEN;
	int		 ret = -1;

	if (pkey == NULL || EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519)
		return (-1);
	if (msg == NULL) {
		if (len != 0)
			return (-1);
		msg = (const uint8_t *)"";
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		goto done;
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, pkey) != 1)
		goto done;
	if (EVP_DigestSign(ctx, sig, &siglen, msg, len) != 1 ||
	    siglen != ED25519_SIG_LEN)
		goto done;
	ret = 0;
 done:
	EVP_MD_CTX_free(ctx);
	if (ret == -1)
		ERR_clear_error();
	return (ret);
}

/* 0 if sig is a valid signature of msg under pub, -1 otherwise. */
int
ed25519_verify(const uint8_t pub[ED25519_PUB_LEN], const uint8_t *msg,
    size_t len, const uint8_t sig[ED25519_SIG_LEN])
{
	EVP_PKEY	*pkey = NULL;
	EVP_MD_CTX	*ctx = NULL;
	int		 ret = -1;

	if (msg == NULL) {
		if (len != 0)
			return (-1);
		msg = (const uint8_t *)"";
	}
	if ((pkey = ed25519_pub_from_raw(pub)) == NULL)
		goto done;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		goto done;
	if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) != 1)
		goto done;
	if (EVP_DigestVerify(ctx, sig, ED25519_SIG_LEN, msg, len) != 1)
		goto done;
	ret = 0;
 done:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	if (ret == -1)
		ERR_clear_error();
	return (ret);
}

/*
 * PKCS#8 PEM key files
 */

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * Gives OpenSSL the passphrase (arg), never a prompt.  With no
 * passphrase, reading an encrypted key fails instead of asking.
 */
static int
pem_pass_cb(char *buf, int size, int rwflag, void *arg)
{
	const char	*pass = arg;
	size_t		 len;

	if (pass == NULL || size <= 0)
		return (-1);
	len = strlen(pass);
	if (len > (size_t)size)
		return (-1);
	memcpy(buf, pass, len);
	return ((int)len);
}

/*
 * Reads a private key from the PEM text in buf (len bytes), decrypting it
 * with passphrase if the file is encrypted.  Any key type other than
 * Ed25519 is refused.  On error returns NULL with a message in err.
 */
EVP_PKEY *
ed25519_pem_read(const char *buf, size_t len, const char *passphrase,
    char *err, size_t errlen)
{
	BIO		*bio;
	EVP_PKEY	*pkey;
	unsigned long	 e;
	const char	*reason;

	set_err(err, errlen, "no error");
	if (len > INT_MAX) {
		set_err(err, errlen, "key file too large");
		return (NULL);
	}
	ERR_clear_error();
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		set_err(err, errlen, "out of memory");
		ERR_clear_error();
		return (NULL);
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, pem_pass_cb,
	    (void *)passphrase);
	BIO_free(bio);

	if (pkey == NULL) {
		e = ERR_peek_last_error();
		reason = e != 0 ? ERR_reason_error_string(e) : NULL;
		set_err(err, errlen, "cannot read PEM private key%s: %s",
		    passphrase == NULL ? " (no passphrase given)" :
		    " (wrong passphrase?)",
		    reason != NULL ? reason : "no key found");
		ERR_clear_error();
		return (NULL);
	}
	if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
		set_err(err, errlen, "private key is %s, not Ed25519",
		    EVP_PKEY_get0_type_name(pkey) != NULL ?
		    EVP_PKEY_get0_type_name(pkey) : "of an unknown type");
		EVP_PKEY_free(pkey);
		ERR_clear_error();
		return (NULL);
	}
	return (pkey);
}

/*
 * PKCS#8 PEM of an Ed25519 private key: "ENCRYPTED PRIVATE KEY" (PBES2,
 * PBKDF2-HMAC-SHA256, AES-256-CBC) when passphrase is non-NULL, plain
 * "PRIVATE KEY" otherwise.  Returns a NUL-terminated malloc'd string that
 * the caller releases with freezero(); its length goes to *lenp if lenp
 * is not NULL.  NULL on error (also for an empty or over-long passphrase).
 */
char *
ed25519_pem_write(EVP_PKEY *pkey, const char *passphrase, size_t *lenp)
{
	BIO			*bio;
	BUF_MEM			*bm = NULL;
	const EVP_CIPHER	*cipher = NULL;
	char			*out = NULL;
	size_t			 plen = 0;

	if (pkey == NULL || EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519)
		return (NULL);
	if (passphrase != NULL) {
		plen = strlen(passphrase);
		if (plen == 0 || plen > PEM_PASS_MAX)
			return (NULL);
		cipher = EVP_aes_256_cbc();
	}
	if ((bio = BIO_new(BIO_s_secmem())) == NULL) {
		ERR_clear_error();
		return (NULL);
	}
	if (PEM_write_bio_PKCS8PrivateKey(bio, pkey, cipher, passphrase,
	    (int)plen, NULL, NULL) != 1)
		goto done;
	if (BIO_get_mem_ptr(bio, &bm) != 1 || bm == NULL ||
	    bm->length == 0)
		goto done;
	if ((out = malloc(bm->length + 1)) == NULL)
		goto done;
	memcpy(out, bm->data, bm->length);
	out[bm->length] = '\0';
	if (lenp != NULL)
		*lenp = bm->length;
 done:
	BIO_free(bio);
	ERR_clear_error();
	return (out);
}

/*
 * Hashes
 */

void
sha256(const void *data, size_t len, uint8_t md[SHA256_LEN])
{
	if (data == NULL)
		data = "";
	if (EVP_Digest(data, len, md, NULL, EVP_sha256(), NULL) != 1)
		fatalx("%s: EVP_Digest failed", __func__);
}

void
pubkey_fingerprint(const uint8_t pub[ED25519_PUB_LEN], char out[65])
{
	uint8_t	 md[SHA256_LEN];

	sha256(pub, ED25519_PUB_LEN, md);
	hex_encode(md, sizeof(md), out);
}

/*
 * Signing templates (motebit-concat-ed25519-hex-v1 and the revocation
 * event).  Each returns the length of the message written to buf, or -1
 * (with buf set to "") if it does not fit.
 */

static int
msg_result(int n, char *buf, size_t size)
{
	if (n < 0 || (size_t)n >= size) {
		if (size > 0)
			buf[0] = '\0';
		return (-1);
	}
	return (n);
}

/* "{relay_id}:{nonce}:motebit-concat-ed25519-hex-v1" */
int
msg_handshake(char *buf, size_t size, const char *relay_id,
    const char *nonce)
{
	return (msg_result(snprintf(buf, size, "%s:%s:%s", relay_id, nonce,
	    SUITE_CONCAT_HEX), buf, size));
}

/* "{relay_id}|{timestamp}|motebit-concat-ed25519-hex-v1" */
int
msg_heartbeat(char *buf, size_t size, const char *relay_id, int64_t ts)
{
	return (msg_result(snprintf(buf, size, "%s|%lld|%s", relay_id,
	    (long long)ts, SUITE_CONCAT_HEX), buf, size));
}

/* "revocation:{type}:{motebit_id}:{timestamp}" */
int
msg_revocation(char *buf, size_t size, const char *type,
    const char *motebit_id, int64_t ts)
{
	return (msg_result(snprintf(buf, size, "revocation:%s:%s:%lld",
	    type, motebit_id, (long long)ts), buf, size));
}
