/*
 * keyd's hash-chained audit log: formatting (parent), parsing and chain
 * verification (relayctl, parent at restart).  The format is described in
 * audit.h and keyd(8).
 *
 * Why a chain: every line names the SHA-256 of the line before it, so a
 * line cannot be edited, removed or moved without the next line's "prev"
 * disagreeing.  Why exactly one spelling per line: the parser re-formats
 * every record it reads and compares the bytes, so relayctl, a shell
 * script and the parent always agree on what a line says.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "crypto.h"
#include "encoding.h"

static void	 audit_err(char *, size_t, const char *, ...)
		    __attribute__((__format__ (printf, 3, 4)));
static int	 lowhex_decode(const char *, size_t, uint8_t *, size_t);
static int	 parse_uint(const char *, size_t, int64_t, int64_t *);
static int	 parse_name(const char *, size_t, const char *(*)(int), int);

static void
audit_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Exactly 2 * outlen lowercase hex digits. */
static int
lowhex_decode(const char *s, size_t len, uint8_t *out, size_t outlen)
{
	char	 tmp[2 * ED25519_SIG_LEN + 1];
	size_t	 i;

	if (len != 2 * outlen || len >= sizeof(tmp))
		return (-1);
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return (-1);
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	return (hex_decode(tmp, out, outlen));
}

/* Decimal digits only, no sign, at most max. */
static int
parse_uint(const char *s, size_t len, int64_t max, int64_t *out)
{
	int64_t	 v = 0;
	size_t	 i;

	if (len == 0 || len > 19)
		return (-1);
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-1);
		if (v > (max - (s[i] - '0')) / 10)
			return (-1);
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return (0);
}

/* Index of the name s[0..len) among names(0..n), or -1. */
static int
parse_name(const char *s, size_t len, const char *(*names)(int), int n)
{
	const char	*name;
	int		 i;

	for (i = 0; i < n; i++)
		if ((name = names(i)) != NULL && strlen(name) == len &&
		    memcmp(name, s, len) == 0)
			return (i);
	return (-1);
}

/*
 * Field by field: each step consumes a fixed prefix and a value ending at
 * the next delimiter.  The re-format at the end rejects everything the
 * field parsers let through but audit_format() would not have written
 * (leading zeros, for instance).
 */
int
audit_parse(const char *line, size_t len, uint8_t prev[AUDIT_HASH_LEN],
    struct key_audit *a, char *err, size_t errlen)
{
	char		 again[AUDIT_LINE_MAX];
	const char	*p = line, *end = line + len, *v;
	int64_t		 num;
	int		 n;

	memset(a, 0, sizeof(*a));
	if (len >= AUDIT_LINE_MAX) {
		audit_err(err, errlen, "line too long");
		return (-1);
	}
	if (memchr(line, '\0', len) != NULL || memchr(line, '\n', len) !=
	    NULL) {
		audit_err(err, errlen, "NUL or newline inside the line");
		return (-1);
	}

#define EXPECT(lit) do {						\
	if ((size_t)(end - p) < sizeof(lit) - 1 ||			\
	    memcmp(p, (lit), sizeof(lit) - 1) != 0) {			\
		audit_err(err, errlen, "expected \"%s\"", (lit));	\
		return (-1);						\
	}								\
	p += sizeof(lit) - 1;						\
} while (0)
#define UNTIL(c) do {							\
	v = p;								\
	while (p < end && *p != (c))					\
		p++;							\
} while (0)

	EXPECT("prev=");
	UNTIL(' ');
	if (lowhex_decode(v, p - v, prev, AUDIT_HASH_LEN) == -1) {
		audit_err(err, errlen, "bad prev hash");
		return (-1);
	}
	EXPECT(" time=");
	UNTIL(' ');
	if (parse_uint(v, p - v, INT64_MAX, &num) == -1) {
		audit_err(err, errlen, "bad time");
		return (-1);
	}
	a->time_ms = num;
	EXPECT(" proc=");
	UNTIL('[');
	if ((n = parse_name(v, p - v, audit_proc_name, PROC_MAX)) == -1) {
		audit_err(err, errlen, "unknown process name");
		return (-1);
	}
	a->requester = n;
	EXPECT("[");
	UNTIL(']');
	if (parse_uint(v, p - v, PROC_MAX_INSTANCES - 1, &num) == -1) {
		audit_err(err, errlen, "bad instance");
		return (-1);
	}
	a->instance = (int32_t)num;
	EXPECT("] kind=");
	UNTIL(' ');
	if ((n = parse_name(v, p - v, audit_kind_name, KEY_KIND_MAX)) == -1) {
		audit_err(err, errlen, "unknown kind");
		return (-1);
	}
	a->kind = n;
	EXPECT(" digest=");
	UNTIL(' ');
	if (lowhex_decode(v, p - v, a->digest, sizeof(a->digest)) == -1) {
		audit_err(err, errlen, "bad digest");
		return (-1);
	}
	EXPECT(" sig=");
	v = p;
	p = end;
	if (lowhex_decode(v, p - v, a->sig, sizeof(a->sig)) == -1) {
		audit_err(err, errlen, "bad signature");
		return (-1);
	}
#undef EXPECT
#undef UNTIL

	n = audit_format(again, sizeof(again), prev, a);
	if (n == -1 || (size_t)n != len || memcmp(again, line, len) != 0) {
		audit_err(err, errlen, "not in canonical form");
		return (-1);
	}
	return (0);
}

int
audit_last_hash(int fd, uint8_t out[AUDIT_HASH_LEN], char *err,
    size_t errlen)
{
	char		 buf[AUDIT_LINE_MAX + 1];
	uint8_t		 prev[AUDIT_HASH_LEN];
	struct key_audit a;
	struct stat	 st;
	size_t		 n, got, start;
	ssize_t		 r;
	off_t		 off;

	if (fstat(fd, &st) == -1) {
		audit_err(err, errlen, "fstat: %s", strerror(errno));
		return (-1);
	}
	if (!S_ISREG(st.st_mode)) {
		audit_err(err, errlen, "not a regular file");
		return (-1);
	}
	if (st.st_size == 0) {
		memset(out, 0, AUDIT_HASH_LEN);
		return (0);
	}

	/* Read the tail: enough for one full line and the newline before. */
	n = sizeof(buf);
	if ((uintmax_t)st.st_size < n)
		n = (size_t)st.st_size;
	off = st.st_size - (off_t)n;
	for (got = 0; got < n; got += (size_t)r) {
		r = pread(fd, buf + got, n - got, off + (off_t)got);
		if (r == -1 && errno == EINTR) {
			r = 0;
			continue;
		}
		if (r == -1) {
			audit_err(err, errlen, "read: %s", strerror(errno));
			return (-1);
		}
		if (r == 0) {
			audit_err(err, errlen, "file shrank while reading");
			return (-1);
		}
	}

	/*
	 * A last line without its newline means the parent died in the
	 * middle of a write: appending after it would glue two records
	 * together, so refuse and let the operator look.
	 */
	if (buf[n - 1] != '\n') {
		audit_err(err, errlen, "last line is torn (no newline)");
		return (-1);
	}
	for (start = n - 1; start > 0 && buf[start - 1] != '\n'; start--)
		;
	if (start == 0 && n < (uintmax_t)st.st_size) {
		audit_err(err, errlen, "last line too long");
		return (-1);
	}
	if (audit_parse(buf + start, n - 1 - start, prev, &a, NULL, 0) ==
	    -1) {
		audit_err(err, errlen, "last line does not parse");
		return (-1);
	}
	audit_line_hash(buf + start, n - 1 - start, out);
	return (0);
}

/*
 * One line of at most AUDIT_LINE_MAX bytes, newline included.  Reading
 * byte by byte keeps NUL bytes visible (fgets would hide them) and never
 * allocates whatever a damaged file would demand (getline would).
 */
enum read_status { LINE_OK, LINE_EOF, LINE_TORN, LINE_LONG, LINE_ERROR };

static enum read_status
read_line(FILE *fp, char *buf, size_t size, size_t *len)
{
	int	 c;

	*len = 0;
	while ((c = getc(fp)) != EOF) {
		if (*len == size)
			return (LINE_LONG);
		buf[(*len)++] = (char)c;
		if (c == '\n')
			return (LINE_OK);
	}
	if (ferror(fp))
		return (LINE_ERROR);
	return (*len == 0 ? LINE_EOF : LINE_TORN);
}

/*
 * A checkpoint line (keyd.8, "Audit log"): keyd signed
 *	{"head":prev,"public_key":key,"suite":...,"timestamp":time,
 *	 "type":"audit-checkpoint"}
 * in canonical form, prev being the line's own prev field and key the
 * public key the line carries in its digest field.  One key throughout,
 * and the one given when there is one.
 */
static int
checkpoint_ok(const uint8_t prev[AUDIT_HASH_LEN], const struct key_audit *a,
    struct audit_seal *seal, char *err, size_t errlen)
{
	char	 msg[512], head[2 * AUDIT_HASH_LEN + 1], key[65];
	int	 n;

	if (a->requester != PROC_KEYD) {
		audit_err(err, errlen, "checkpoint not made by keyd");
		return (-1);
	}
	if (seal->checkpoints == 0 && seal->key == NULL)
		memcpy(seal->seen_key, a->digest, sizeof(seal->seen_key));
	else if (memcmp(seal->key != NULL ? seal->key : seal->seen_key,
	    a->digest, sizeof(a->digest)) != 0) {
		audit_err(err, errlen, "checkpoint signed by another key");
		return (-1);
	}
	memcpy(seal->seen_key, a->digest, sizeof(seal->seen_key));
	hex_encode(prev, AUDIT_HASH_LEN, head);
	hex_encode(a->digest, sizeof(a->digest), key);
	n = snprintf(msg, sizeof(msg), "{\"head\":\"%s\",\"public_key\":"
	    "\"%s\",\"suite\":\"%s\",\"timestamp\":%" PRId64 ",\"type\":"
	    "\"audit-checkpoint\"}", head, key, SUITE_JCS_HEX, a->time_ms);
	if (n < 0 || (size_t)n >= sizeof(msg) ||
	    ed25519_verify(a->digest, (const uint8_t *)msg, (size_t)n,
	    a->sig) == -1) {
		audit_err(err, errlen, "checkpoint signature does not verify: "
		    "the lines before it were changed");
		return (-1);
	}
	seal->checkpoints++;
	seal->unsealed = 0;
	return (0);
}

int
audit_verify(FILE *fp, struct audit_seal *seal, size_t *nlines,
    size_t *badline, char *err, size_t errlen)
{
	char		 line[AUDIT_LINE_MAX + 1];
	char		 perr[128];
	size_t		 lineno = 0, len;
	uint8_t		 expect[AUDIT_HASH_LEN], prev[AUDIT_HASH_LEN];
	struct key_audit a;

	*nlines = 0;
	*badline = 0;
	memset(expect, 0, sizeof(expect));	/* first line: all zeros */
	if (seal != NULL) {
		seal->checkpoints = seal->unsealed = 0;
		memset(seal->seen_key, 0, sizeof(seal->seen_key));
	}

	for (;;) {
		switch (read_line(fp, line, sizeof(line), &len)) {
		case LINE_OK:
			break;
		case LINE_EOF:
			return (0);
		case LINE_TORN:
			audit_err(err, errlen, "line %zu: torn (no newline)",
			    lineno + 1);
			*badline = lineno + 1;
			return (-1);
		case LINE_LONG:
			audit_err(err, errlen, "line %zu: too long",
			    lineno + 1);
			*badline = lineno + 1;
			return (-1);
		case LINE_ERROR:
			audit_err(err, errlen, "read error after line %zu",
			    lineno);
			return (-1);
		}
		lineno++;
		len--;			/* the newline */
		if (audit_parse(line, len, prev, &a, perr, sizeof(perr)) ==
		    -1) {
			audit_err(err, errlen, "line %zu: %s", lineno, perr);
			*badline = lineno;
			return (-1);
		}
		if (memcmp(prev, expect, sizeof(prev)) != 0) {
			if (lineno == 1)
				audit_err(err, errlen, "line 1: prev is not "
				    "zero (start of file missing?)");
			else
				audit_err(err, errlen, "line %zu: prev does "
				    "not match the hash of line %zu (that "
				    "line changed, or lines were removed or "
				    "reordered)", lineno, lineno - 1);
			*badline = lineno;
			return (-1);
		}
		if (seal != NULL && a.kind == KEY_KIND_CHECKPOINT) {
			if (checkpoint_ok(prev, &a, seal, perr,
			    sizeof(perr)) == -1) {
				audit_err(err, errlen, "line %zu: %s", lineno,
				    perr);
				*badline = lineno;
				return (-1);
			}
		} else if (seal != NULL)
			seal->unsealed++;
		audit_line_hash(line, len, expect);
		*nlines = lineno;
	}
}
