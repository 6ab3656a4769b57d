/*
 * Unit tests for common/audit.c: the line format (a golden line and its
 * SHA-256 computed independently), strict parsing, chain verification and
 * the line numbers it reports for a changed byte, a removed line, two
 * swapped lines and a torn end, audit_last_hash() for appending after a
 * restart, and the by-hand sh/awk/sha256sum check printed in keyd(8).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "audit.h"
#include "crypto.h"
#include "encoding.h"
#include "relayd_imsg.h"

#define NLINES	10

#define Z64 "0000000000000000000000000000000000000000000000000000000000000000"
#define F64 "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
#define DIG "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define MID " proc=frontend[2] kind=challenge"
#define GOLDEN_LINE \
	"prev=" Z64 " time=1760000000000" MID " digest=" DIG " sig=" F64 F64
/* printf '%s' "$GOLDEN_LINE" | sha256sum */
#define GOLDEN_HASH "2050bdc2f05fcd3c17e726fe360630e0" \
	"e931dc0963e426beb5ee6277a23490eb"

static char	 lines[NLINES][AUDIT_LINE_MAX];

static void
golden_record(struct key_audit *a)
{
	int	 i;

	memset(a, 0, sizeof(*a));
	a->time_ms = 1760000000000LL;
	a->requester = PROC_FRONTEND;
	a->instance = 2;
	a->kind = KEY_KIND_CHALLENGE;
	for (i = 0; i < 32; i++)
		a->digest[i] = (uint8_t)i;
	memset(a->sig, 0xff, sizeof(a->sig));
}

/* A chain of NLINES records, as the parent would write it. */
static void
make_chain(void)
{
	struct key_audit	 a;
	uint8_t			 prev[AUDIT_HASH_LEN];
	int			 i, n;

	memset(prev, 0, sizeof(prev));
	for (i = 0; i < NLINES; i++) {
		memset(&a, 0, sizeof(a));
		a.time_ms = 1760000000000LL + i;
		a.requester = i % 2 ? PROC_PEER : PROC_FRONTEND;
		a.instance = i % 2 ? 0 : i % 3;
		a.kind = 1 + i % (KEY_KIND_MAX - 1);
		sha256(&i, sizeof(i), a.digest);
		memset(a.sig, 0x40 + i, sizeof(a.sig));
		n = audit_format(lines[i], sizeof(lines[i]), prev, &a);
		ck_assert_int_gt(n, 0);
		audit_line_hash(lines[i], (size_t)n, prev);
	}
}

/* Writes the lines in order[] (indexes into lines, -1 ends) to a file. */
static FILE *
write_file(const int *order, const char *tail)
{
	FILE	*fp;
	int	 i;

	fp = tmpfile();
	ck_assert_ptr_nonnull(fp);
	for (i = 0; order[i] != -1; i++)
		fprintf(fp, "%s\n", lines[order[i]]);
	if (tail != NULL)
		fputs(tail, fp);
	fflush(fp);
	rewind(fp);
	return (fp);
}

static int
verify(FILE *fp, size_t *nlines, size_t *badline)
{
	char	 err[256];
	int	 rv;

	err[0] = '\0';
	rv = audit_verify(fp, NULL, nlines, badline, err, sizeof(err));
	if (rv == -1)
		ck_assert_str_ne(err, "");
	return (rv);
}

static const int in_order[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, -1 };

START_TEST(test_golden)
{
	struct key_audit	 a, b;
	uint8_t			 zero[AUDIT_HASH_LEN], prev[AUDIT_HASH_LEN];
	uint8_t			 h[AUDIT_HASH_LEN];
	char			 buf[AUDIT_LINE_MAX], hex[65], err[128];
	int			 n;

	golden_record(&a);
	memset(zero, 0, sizeof(zero));
	n = audit_format(buf, sizeof(buf), zero, &a);
	ck_assert_int_eq(n, (int)strlen(GOLDEN_LINE));
	ck_assert_str_eq(buf, GOLDEN_LINE);
	audit_line_hash(buf, (size_t)n, h);
	hex_encode(h, sizeof(h), hex);
	ck_assert_str_eq(hex, GOLDEN_HASH);

	ck_assert_int_eq(audit_parse(buf, (size_t)n, prev, &b, err,
	    sizeof(err)), 0);
	ck_assert_mem_eq(prev, zero, sizeof(zero));
	ck_assert_mem_eq(&a, &b, sizeof(a));

	/* a buffer one byte too small */
	ck_assert_int_eq(audit_format(buf, (size_t)n, zero, &a), -1);
	ck_assert_int_eq(audit_format(buf, (size_t)n + 1, zero, &a), n);
}
END_TEST

START_TEST(test_format_refuses)
{
	struct key_audit	 a;
	uint8_t			 zero[AUDIT_HASH_LEN];
	char			 buf[AUDIT_LINE_MAX];

	memset(zero, 0, sizeof(zero));
	golden_record(&a);
	a.time_ms = -1;
	ck_assert_int_eq(audit_format(buf, sizeof(buf), zero, &a), -1);
	golden_record(&a);
	a.requester = PROC_MAX;
	ck_assert_int_eq(audit_format(buf, sizeof(buf), zero, &a), -1);
	golden_record(&a);
	a.requester = -1;
	ck_assert_int_eq(audit_format(buf, sizeof(buf), zero, &a), -1);
	golden_record(&a);
	a.kind = KEY_KIND_NONE;
	ck_assert_int_eq(audit_format(buf, sizeof(buf), zero, &a), -1);
	golden_record(&a);
	a.kind = KEY_KIND_MAX;
	ck_assert_int_eq(audit_format(buf, sizeof(buf), zero, &a), -1);
	golden_record(&a);
	a.instance = PROC_MAX_INSTANCES;
	ck_assert_int_eq(audit_format(buf, sizeof(buf), zero, &a), -1);
	golden_record(&a);
	a.instance = -1;
	ck_assert_int_eq(audit_format(buf, sizeof(buf), zero, &a), -1);

	ck_assert_ptr_null(audit_kind_name(KEY_KIND_NONE));
	ck_assert_str_eq(audit_kind_name(KEY_KIND_REMOVAL2), "removal2");
	ck_assert_str_eq(audit_proc_name(PROC_LEDGERD), "ledgerd");
}
END_TEST

/* Each variant differs from the golden line in one way. */
/* Each variant differs from the golden line in one way. */
static const char *bad_lines[] = {
	/* uppercase hex */
	"prev=" Z64 " time=1760000000000" MID
	" digest=000102030405060708090A0B0C0D0E0F"
	"101112131415161718191a1b1c1d1e1f sig=" F64 F64,
	/* leading zero in time */
	"prev=" Z64 " time=01760000000000" MID " digest=" DIG " sig=" F64 F64,
	/* two spaces */
	"prev=" Z64 "  time=1760000000000" MID " digest=" DIG " sig=" F64 F64,
	/* trailing space */
	"prev=" Z64 " time=1760000000000" MID " digest=" DIG " sig=" F64 F64
	" ",
	/* short signature */
	"prev=" Z64 " time=1760000000000" MID " digest=" DIG " sig=" F64,
	/* long signature */
	"prev=" Z64 " time=1760000000000" MID " digest=" DIG " sig=" F64 F64
	"ff",
	/* short prev */
	"prev=0000 time=1760000000000" MID " digest=" DIG " sig=" F64 F64,
	/* unknown kind */
	"prev=" Z64 " time=1760000000000 proc=frontend[2] kind=anything"
	" digest=" DIG " sig=" F64 F64,
	/* unknown process */
	"prev=" Z64 " time=1760000000000 proc=httpd[2] kind=challenge"
	" digest=" DIG " sig=" F64 F64,
	/* instance out of range, with a leading zero, missing */
	"prev=" Z64 " time=1760000000000 proc=frontend[16] kind=challenge"
	" digest=" DIG " sig=" F64 F64,
	"prev=" Z64 " time=1760000000000 proc=frontend[02] kind=challenge"
	" digest=" DIG " sig=" F64 F64,
	"prev=" Z64 " time=1760000000000 proc=frontend kind=challenge"
	" digest=" DIG " sig=" F64 F64,
	/* negative time, time beyond int64 */
	"prev=" Z64 " time=-1" MID " digest=" DIG " sig=" F64 F64,
	"prev=" Z64 " time=9223372036854775808" MID " digest=" DIG
	" sig=" F64 F64,
	/* fields out of order */
	"time=1760000000000 prev=" Z64 MID " digest=" DIG " sig=" F64 F64,
	/* a carriage return */
	"prev=" Z64 " time=1760000000000" MID " digest=" DIG " sig=" F64 F64
	"\r",
	"",
	NULL
};

START_TEST(test_parse_refuses)
{
	struct key_audit	 a;
	uint8_t			 prev[AUDIT_HASH_LEN];
	char			 err[128], buf[AUDIT_LINE_MAX];
	size_t			 len;
	int			 i;

	for (i = 0; bad_lines[i] != NULL; i++) {
		err[0] = '\0';
		ck_assert_msg(audit_parse(bad_lines[i], strlen(bad_lines[i]),
		    prev, &a, err, sizeof(err)) == -1, "bad line %d parsed",
		    i);
		ck_assert_str_ne(err, "");
	}
	/* a NUL byte inside an otherwise good line */
	len = strlen(GOLDEN_LINE);
	memcpy(buf, GOLDEN_LINE, len);
	ck_assert_int_eq(audit_parse(buf, len, prev, &a, NULL, 0), 0);
	buf[100] = '\0';
	ck_assert_int_eq(audit_parse(buf, len, prev, &a, NULL, 0), -1);
}
END_TEST

START_TEST(test_chain_ok)
{
	FILE	*fp;
	size_t	 n, bad;

	make_chain();
	fp = write_file(in_order, NULL);
	ck_assert_int_eq(verify(fp, &n, &bad), 0);
	ck_assert_uint_eq(n, NLINES);
	fclose(fp);

	/* an empty log is a valid log */
	fp = write_file((const int []){ -1 }, NULL);
	ck_assert_int_eq(verify(fp, &n, &bad), 0);
	ck_assert_uint_eq(n, 0);
	fclose(fp);
}
END_TEST

/*
 * One changed byte in line k (1-based): still a well-formed line, so the
 * chain breaks at line k + 1.  In the first line's prev, it is line 1.
 */
START_TEST(test_tamper_byte)
{
	FILE	*fp;
	size_t	 n, bad, k, off;
	char	*p;

	make_chain();
	for (k = 1; k < NLINES; k++) {
		make_chain();
		p = strstr(lines[k - 1], "digest=");
		ck_assert_ptr_nonnull(p);
		off = strlen("digest=") + 5;
		p[off] = p[off] == 'a' ? 'b' : 'a';
		fp = write_file(in_order, NULL);
		ck_assert_int_eq(verify(fp, &n, &bad), -1);
		ck_assert_uint_eq(bad, k + 1);
		ck_assert_uint_eq(n, k);
		fclose(fp);
	}

	make_chain();
	lines[0][10] = '1';			/* prev of line 1 */
	fp = write_file(in_order, NULL);
	ck_assert_int_eq(verify(fp, &n, &bad), -1);
	ck_assert_uint_eq(bad, 1);
	fclose(fp);

	/* a change that breaks the syntax is reported on the line itself */
	make_chain();
	p = strstr(lines[4], "time=");
	p[5] = 'x';
	fp = write_file(in_order, NULL);
	ck_assert_int_eq(verify(fp, &n, &bad), -1);
	ck_assert_uint_eq(bad, 5);
	fclose(fp);
}
END_TEST

START_TEST(test_delete_line)
{
	int	 order[NLINES + 1];
	FILE	*fp;
	size_t	 n, bad;
	int	 del, i, j;

	make_chain();
	/* removing line del + 1 makes the next line take its number */
	for (del = 0; del < NLINES - 1; del++) {
		for (i = 0, j = 0; i < NLINES; i++)
			if (i != del)
				order[j++] = i;
		order[j] = -1;
		fp = write_file(order, NULL);
		ck_assert_int_eq(verify(fp, &n, &bad), -1);
		ck_assert_uint_eq(bad, (size_t)del + 1);
		fclose(fp);
	}
}
END_TEST

START_TEST(test_reorder)
{
	int	 order[NLINES + 1];
	FILE	*fp;
	size_t	 n, bad;
	int	 k, i;

	make_chain();
	for (k = 0; k < NLINES - 1; k++) {
		for (i = 0; i < NLINES; i++)
			order[i] = i;
		order[NLINES] = -1;
		order[k] = k + 1;
		order[k + 1] = k;
		fp = write_file(order, NULL);
		ck_assert_int_eq(verify(fp, &n, &bad), -1);
		ck_assert_uint_eq(bad, (size_t)k + 1);
		fclose(fp);
	}
}
END_TEST

START_TEST(test_truncate)
{
	char	 torn[AUDIT_LINE_MAX];
	int	 order[NLINES + 1];
	FILE	*fp;
	size_t	 n, bad;
	int	 i;

	make_chain();
	/* cut inside the last line: torn */
	strlcpy(torn, lines[NLINES - 1], sizeof(torn));
	torn[40] = '\0';
	for (i = 0; i < NLINES - 1; i++)
		order[i] = i;
	order[NLINES - 1] = -1;
	fp = write_file(order, torn);
	ck_assert_int_eq(verify(fp, &n, &bad), -1);
	ck_assert_uint_eq(bad, NLINES);
	ck_assert_uint_eq(n, NLINES - 1);
	fclose(fp);

	/* the whole last line but its newline: torn too */
	fp = write_file(order, lines[NLINES - 1]);
	ck_assert_int_eq(verify(fp, &n, &bad), -1);
	ck_assert_uint_eq(bad, NLINES);
	fclose(fp);

	/*
	 * Whole lines cut off the end leave a valid shorter chain: the
	 * count is all a verifier can compare (keyd(8) says so).
	 */
	fp = write_file(order, NULL);
	ck_assert_int_eq(verify(fp, &n, &bad), 0);
	ck_assert_uint_eq(n, NLINES - 1);
	fclose(fp);

	/* an over-long line */
	memset(torn, 'a', sizeof(torn) - 1);
	torn[sizeof(torn) - 1] = '\0';
	fp = write_file((const int []){ 0, -1 }, torn);
	ck_assert_int_eq(verify(fp, &n, &bad), -1);
	ck_assert_uint_eq(bad, 2);
	fclose(fp);
}
END_TEST

START_TEST(test_last_hash)
{
	struct key_audit	 a;
	uint8_t			 h[AUDIT_HASH_LEN], want[AUDIT_HASH_LEN];
	char			 err[128], line[AUDIT_LINE_MAX];
	FILE			*fp;
	size_t			 n, bad;
	int			 len;

	make_chain();

	fp = write_file((const int []){ -1 }, NULL);
	memset(h, 0xaa, sizeof(h));
	ck_assert_int_eq(audit_last_hash(fileno(fp), h, err, sizeof(err)), 0);
	memset(want, 0, sizeof(want));
	ck_assert_mem_eq(h, want, sizeof(h));
	fclose(fp);

	/* restart: append after the last line and the chain still holds */
	fp = write_file(in_order, NULL);
	ck_assert_int_eq(audit_last_hash(fileno(fp), h, err, sizeof(err)), 0);
	audit_line_hash(lines[NLINES - 1], strlen(lines[NLINES - 1]), want);
	ck_assert_mem_eq(h, want, sizeof(h));
	golden_record(&a);
	len = audit_format(line, sizeof(line), h, &a);
	ck_assert_int_gt(len, 0);
	fseek(fp, 0, SEEK_END);
	fprintf(fp, "%s\n", line);
	fflush(fp);
	rewind(fp);
	ck_assert_int_eq(verify(fp, &n, &bad), 0);
	ck_assert_uint_eq(n, NLINES + 1);
	fclose(fp);

	/* torn last line */
	fp = write_file(in_order, "prev=0000");
	ck_assert_int_eq(audit_last_hash(fileno(fp), h, err, sizeof(err)),
	    -1);
	fclose(fp);

	/* a last line that is not a record */
	fp = write_file(in_order, "hello\n");
	ck_assert_int_eq(audit_last_hash(fileno(fp), h, err, sizeof(err)),
	    -1);
	fclose(fp);

	/* a single line file */
	fp = write_file((const int []){ 0, -1 }, NULL);
	ck_assert_int_eq(audit_last_hash(fileno(fp), h, err, sizeof(err)), 0);
	audit_line_hash(lines[0], strlen(lines[0]), want);
	ck_assert_mem_eq(h, want, sizeof(h));
	fclose(fp);
}
END_TEST

/*
 * The by-hand check printed in keyd(8), run on a good chain and on one
 * with a changed byte in line 3: it must be silent on the first and name
 * line 4 on the second.
 */
#define BYHAND \
	"prev=$(printf '%%064d' 0)\n" \
	"n=0\n" \
	"while IFS= read -r line; do\n" \
	"	n=$((n + 1))\n" \
	"	p=$(printf '%%s\\n' \"$line\" |\n" \
	"	    awk '{ print substr($1, 6) }')\n" \
	"	[ \"$p\" = \"$prev\" ] || echo \"line $n: chain broken\"\n" \
	"	prev=$(printf '%%s' \"$line\" | sha256sum |\n" \
	"	    awk '{ print $1 }')\n" \
	"done < %s\n"

/* Runs the script on path; its output (stdout and stderr) into out. */
static void
run_byhand(const char *path, char *out, size_t outlen)
{
	char	 spath[] = "/tmp/test_audit_shXXXXXX";
	char	 opath[] = "/tmp/test_audit_outXXXXXX";
	char	 cmd[256];
	FILE	*fp;
	size_t	 n;
	int	 sfd, ofd;

	sfd = mkstemp(spath);
	ck_assert_int_ne(sfd, -1);
	ofd = mkstemp(opath);
	ck_assert_int_ne(ofd, -1);
	close(ofd);
	fp = fdopen(sfd, "w");
	ck_assert_ptr_nonnull(fp);
	fprintf(fp, BYHAND, path);
	fclose(fp);

	snprintf(cmd, sizeof(cmd), "sh %s > %s 2>&1", spath, opath);
	ck_assert_int_eq(system(cmd), 0);
	fp = fopen(opath, "r");
	ck_assert_ptr_nonnull(fp);
	n = fread(out, 1, outlen - 1, fp);
	out[n] = '\0';
	fclose(fp);
	unlink(spath);
	unlink(opath);
}

START_TEST(test_byhand)
{
	char	 path[] = "/tmp/test_audit_logXXXXXX";
	char	 out[512];
	FILE	*fp;
	int	 fd, i;

	make_chain();
	fd = mkstemp(path);
	ck_assert_int_ne(fd, -1);
	fp = fdopen(fd, "w");
	for (i = 0; i < NLINES; i++)
		fprintf(fp, "%s\n", lines[i]);
	fclose(fp);
	run_byhand(path, out, sizeof(out));
	ck_assert_str_eq(out, "");

	lines[2][strlen(lines[2]) - 1] ^= 1;	/* a hex digit changes */
	fp = fopen(path, "w");
	for (i = 0; i < NLINES; i++)
		fprintf(fp, "%s\n", lines[i]);
	fclose(fp);
	run_byhand(path, out, sizeof(out));
	ck_assert_str_eq(out, "line 4: chain broken\n");
	unlink(path);
}
END_TEST

static Suite *
audit_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("audit");
	tc = tcase_create("format");
	tcase_add_test(tc, test_golden);
	tcase_add_test(tc, test_format_refuses);
	tcase_add_test(tc, test_parse_refuses);
	suite_add_tcase(s, tc);
	tc = tcase_create("chain");
	tcase_add_test(tc, test_chain_ok);
	tcase_add_test(tc, test_tamper_byte);
	tcase_add_test(tc, test_delete_line);
	tcase_add_test(tc, test_reorder);
	tcase_add_test(tc, test_truncate);
	tcase_add_test(tc, test_last_hash);
	tcase_add_test(tc, test_byhand);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(audit_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
