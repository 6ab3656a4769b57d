/*
 * Key rotation (relayctl key rotate): the one operation that changes
 * keyd's key.  The parent hands keyd a new, empty key file (created
 * O_EXCL, mode 0600, as KEY_PATH.new); keyd generates the new key,
 * writes its PEM there with write(2) and fsync(2)s it (nothing else
 * touches the file: no stat, no seek, so the sandbox needs only those
 * two), then signs the key succession record
 *
 *	JCS({new_public_key, old_public_key, suite, timestamp})
 *
 * (suite "motebit-jcs-ed25519-hex-v1", timestamp keyd's clock) with the
 * old key and with the new one, checks both signatures, and only then
 * switches.  The answer is the record with both signatures added
 * (old_key_signature, new_key_signature: lowercase hex), in canonical
 * JSON, and one audit record for each signature.  The private keys never
 * leave keyd; the file descriptor is the only way out, and it is the
 * parent's new key file.
 *
 * The signing input is msg_succession() (crypto.c), which the verifying
 * relays use too.  Pure apart from the descriptor and keyd's clock, so
 * that the unit test links it.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "crypto.h"
#include "encoding.h"
#include "keyd.h"

/* The new key's PEM into the empty file; -1 with a message. */
static int
write_key(int fd, EVP_PKEY *key, const char *pass, char *err, size_t errlen)
{
	char	*pem;
	size_t	 pemlen, off;
	ssize_t	 n;
	int	 rc = -1;

	if ((pem = ed25519_pem_write(key, pass, &pemlen)) == NULL) {
		snprintf(err, errlen, "cannot encode the new key as PEM");
		return (-1);
	}
	for (off = 0; off < pemlen; off += (size_t)n) {
		if ((n = write(fd, pem + off, pemlen - off)) == -1 &&
		    errno == EINTR) {
			n = 0;
			continue;
		}
		if (n <= 0) {
			snprintf(err, errlen, "the new key file: write: %s",
			    n == 0 ? "no progress" : strerror(errno));
			goto done;
		}
	}
	/* a key we signed with but did not store would be lost */
	if (fsync(fd) == -1) {
		snprintf(err, errlen, "the new key file: fsync: %s",
		    strerror(errno));
		goto done;
	}
	rc = 0;
 done:
	freezero(pem, pemlen);
	return (rc);
}

static int
sign_hex(EVP_PKEY *key, const uint8_t pub[ED25519_PUB_LEN],
    const char *msg, size_t len, char hex[SIG_HEX_MAX],
    uint8_t sig[ED25519_SIG_LEN])
{
	if (ed25519_sign(key, (const uint8_t *)msg, len, sig) == -1 ||
	    ed25519_verify(pub, (const uint8_t *)msg, len, sig) == -1)
		return (-1);
	hex_encode(sig, ED25519_SIG_LEN, hex);
	return (0);
}

int
keyd_rotate(struct keyd_state *ks, int fd, const char *pass, size_t passlen,
    struct keyd_rotation *out)
{
	EVP_PKEY	*nkey, *okey;
	uint8_t		 npub[ED25519_PUB_LEN];
	uint8_t		 osig[ED25519_SIG_LEN], nsig[ED25519_SIG_LEN];
	char		 nhex[PUBKEY_HEX_MAX], ohexsig[SIG_HEX_MAX];
	char		 nhexsig[SIG_HEX_MAX], err[256];
	char		 msg[512], line[AUDIT_LINE_MAX];
	size_t		 len = 0;
	int		 i, n;
	int64_t		 now;

	memset(out, 0, sizeof(*out));
	if (ks->ks_key == NULL) {
		snprintf(out->error, sizeof(out->error), "no key loaded");
		return (-1);
	}
	if (passlen > 0 && (pass == NULL || strnlen(pass, passlen + 1) !=
	    passlen)) {
		snprintf(out->error, sizeof(out->error), "passphrase length "
		    "mismatch");
		return (-1);
	}
	if ((nkey = ed25519_generate()) == NULL) {
		snprintf(out->error, sizeof(out->error), "cannot generate an "
		    "Ed25519 key");
		return (-1);
	}
	if (write_key(fd, nkey, passlen > 0 ? pass : NULL, err,
	    sizeof(err)) == -1) {
		EVP_PKEY_free(nkey);
		strlcpy(out->error, err, sizeof(out->error));
		return (-1);
	}
	if (ed25519_public(nkey, npub) == -1)
		goto fail;
	hex_encode(npub, sizeof(npub), nhex);
	now = ks->ks_clock();
	if ((n = msg_succession(msg, sizeof(msg), ks->ks_pubhex, nhex,
	    now)) == -1)
		goto fail;
	len = (size_t)n;
	if (sign_hex(ks->ks_key, ks->ks_pub, msg, len, ohexsig, osig) == -1 ||
	    sign_hex(nkey, npub, msg, len, nhexsig, nsig) == -1)
		goto fail;

	/* the record: the signed members and both signatures, canonical */
	n = snprintf(out->record, sizeof(out->record),
	    "{\"new_key_signature\":\"%s\",\"new_public_key\":\"%s\","
	    "\"old_key_signature\":\"%s\",\"old_public_key\":\"%s\","
	    "\"suite\":\"%s\",\"timestamp\":%lld}", nhexsig, nhex, ohexsig,
	    ks->ks_pubhex, KEY_SUCCESSION_SUITE, (long long)now);
	if (n < 0 || (size_t)n >= sizeof(out->record))
		goto fail;
	out->recordlen = (size_t)n;

	/* one audit record per signature, both over the same bytes */
	out->audit[0].time_ms = out->audit[1].time_ms = now;
	out->audit[0].requester = out->audit[1].requester = PROC_PARENT;
	out->audit[0].kind = out->audit[1].kind = KEY_KIND_SUCCESSION;
	sha256(msg, len, out->audit[0].digest);
	memcpy(out->audit[1].digest, out->audit[0].digest, SHA256_LEN);
	memcpy(out->audit[0].sig, osig, sizeof(osig));
	memcpy(out->audit[1].sig, nsig, sizeof(nsig));
	memcpy(out->audit[0].key, ks->ks_pub, ED25519_PUB_LEN);
	memcpy(out->audit[1].key, npub, ED25519_PUB_LEN);
	strlcpy(out->old_public_key, ks->ks_pubhex,
	    sizeof(out->old_public_key));
	strlcpy(out->new_public_key, nhex, sizeof(out->new_public_key));

	/* switch: from here on every signature is the new key's */
	okey = ks->ks_key;
	ks->ks_key = NULL;
	if (keyd_set_key(ks, nkey, err, sizeof(err)) == -1) {
		/* cannot happen (self-tested above); keep the old key */
		ks->ks_key = NULL;
		if (keyd_set_key(ks, okey, err, sizeof(err)) == -1)
			return (-2);
		EVP_PKEY_free(nkey);
		strlcpy(out->error, "new key refused by the self-test",
		    sizeof(out->error));
		return (-1);
	}
	EVP_PKEY_free(okey);

	/* the lines the parent will write, and so the next chain head */
	for (i = 0; i < 2; i++) {
		out->audit[i].seq = ++ks->ks_seq;
		if ((n = audit_format(line, sizeof(line), ks->ks_head,
		    &out->audit[i])) <= 0)
			return (-2);
		audit_line_hash(line, (size_t)n, ks->ks_head);
		ks->ks_since_cp++;
	}
	return (0);
 fail:
	EVP_PKEY_free(nkey);
	snprintf(out->error, sizeof(out->error), "cannot sign the key "
	    "succession record");
	return (-1);
}
