/*
 * The relay key file: an Ed25519 private key in PKCS#8 PEM, optionally
 * encrypted with a passphrase.  The parent opens it (creating it empty,
 * mode 0600, on first start) and hands keyd the descriptor; keyd never
 * opens a path.  An empty file means "first start": keyd generates a key
 * and writes it through the same descriptor.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "crypto.h"
#include "keyd.h"

#define PEM_ENCRYPTED	"-----BEGIN ENCRYPTED PRIVATE KEY-----"

static EVP_PKEY	*keyfile_generate(int, const char *, const char *,
		    char *, size_t);
static EVP_PKEY	*keyfile_read(int, off_t, const char *, const char *,
		    char *, size_t);

/*
 * Returns the key, or NULL with a message in err.  pass is NULL or a
 * NUL-terminated passphrase of exactly passlen bytes.  *generated is set
 * when a new key was written to the file.
 */
EVP_PKEY *
keyfile_load(int fd, const char *path, const char *pass, size_t passlen,
    int *generated, char *err, size_t errlen)
{
	struct stat	 st;

	*generated = 0;
	if (passlen == 0)
		pass = NULL;
	else if (pass == NULL || strnlen(pass, passlen + 1) != passlen) {
		snprintf(err, errlen, "passphrase length mismatch");
		return (NULL);
	}

	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: fstat: %s", path, strerror(errno));
		return (NULL);
	}
	/* A device, FIFO or directory is a mistake or an attack. */
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return (NULL);
	}
	/*
	 * Anyone else who can read the file has the key; anyone who can
	 * write it can replace it.  Refuse rather than warn: the relay's
	 * identity is at stake.
	 */
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, errlen, "%s: mode %04o allows group or other "
		    "access (must be 0600 or stricter)", path,
		    (unsigned int)(st.st_mode & 07777));
		return (NULL);
	}
	/* The owner can chmod it back; only root or ourselves may own it. */
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(err, errlen, "%s: owned by uid %u, not by root",
		    path, (unsigned int)st.st_uid);
		return (NULL);
	}
	if (st.st_size > KEYD_KEYFILE_MAX) {
		snprintf(err, errlen, "%s: larger than %d bytes, not a key "
		    "file", path, KEYD_KEYFILE_MAX);
		return (NULL);
	}
	if (st.st_size == 0) {
		*generated = 1;
		return (keyfile_generate(fd, path, pass, err, errlen));
	}
	return (keyfile_read(fd, st.st_size, path, pass, err, errlen));
}

static EVP_PKEY *
keyfile_generate(int fd, const char *path, const char *pass, char *err,
    size_t errlen)
{
	EVP_PKEY	*key;
	char		*pem;
	size_t		 pemlen, off;
	ssize_t		 n;

	if ((key = ed25519_generate()) == NULL) {
		snprintf(err, errlen, "cannot generate an Ed25519 key");
		return (NULL);
	}
	if ((pem = ed25519_pem_write(key, pass, &pemlen)) == NULL) {
		snprintf(err, errlen, "cannot encode the new key as PEM");
		EVP_PKEY_free(key);
		return (NULL);
	}
	/*
	 * Write at offset 0, cut the file to exactly the PEM and fsync:
	 * a relay that signed with a key it failed to store would change
	 * identity at the next start.
	 */
	for (off = 0; off < pemlen; off += (size_t)n) {
		n = pwrite(fd, pem + off, pemlen - off, (off_t)off);
		if (n == -1 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n <= 0) {
			snprintf(err, errlen, "%s: write: %s", path,
			    n == 0 ? "no progress" : strerror(errno));
			goto fail;
		}
	}
	if (ftruncate(fd, (off_t)pemlen) == -1) {
		snprintf(err, errlen, "%s: ftruncate: %s", path,
		    strerror(errno));
		goto fail;
	}
	if (fsync(fd) == -1) {
		snprintf(err, errlen, "%s: fsync: %s", path, strerror(errno));
		goto fail;
	}
	freezero(pem, pemlen);
	return (key);
 fail:
	freezero(pem, pemlen);
	EVP_PKEY_free(key);
	return (NULL);
}

static EVP_PKEY *
keyfile_read(int fd, off_t size, const char *path, const char *pass,
    char *err, size_t errlen)
{
	char		 buf[KEYD_KEYFILE_MAX + 1];
	char		 perr[256];
	EVP_PKEY	*key = NULL;
	size_t		 len = 0;
	ssize_t		 n;

	/* Read to EOF, but never more than the bound (the file may grow). */
	for (;;) {
		n = pread(fd, buf + len, sizeof(buf) - len, (off_t)len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errlen, "%s: read: %s", path,
			    strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == sizeof(buf)) {
			snprintf(err, errlen, "%s: larger than %d bytes, not "
			    "a key file", path, KEYD_KEYFILE_MAX);
			goto done;
		}
	}
	if (len != (size_t)size) {
		snprintf(err, errlen, "%s: changed size while being read",
		    path);
		goto done;
	}

	/*
	 * A configured passphrase promises encryption at rest.  A plain
	 * key would load fine and silently break that promise.
	 */
	if (pass != NULL && (len < sizeof(PEM_ENCRYPTED) - 1 ||
	    memcmp(buf, PEM_ENCRYPTED, sizeof(PEM_ENCRYPTED) - 1) != 0)) {
		snprintf(err, errlen, "%s: a passphrase is configured but the "
		    "key file is not an encrypted PKCS#8 PEM key", path);
		goto done;
	}
	if ((key = ed25519_pem_read(buf, len, pass, perr, sizeof(perr))) ==
	    NULL)
		snprintf(err, errlen, "%s: %s", path, perr);
 done:
	explicit_bzero(buf, sizeof(buf));
	return (key);
}
