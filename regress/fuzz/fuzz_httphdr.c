/*
 * libFuzzer target: the frontend's framing guard (relayd/frontend/
 * http_guard.c) on arbitrary bytes.  The input is one raw request stream;
 * its first byte picks how it is cut into pieces, so that the stream
 * machine sees every split of a line.  Checked:
 *	- http_head_check() and http_chunk_line() on the raw bytes neither
 *	  crash nor read out of bounds (ASan), and a refusal comes with a
 *	  status and a message;
 *	- the stream machine's output is the same however the input is cut;
 *	- what it passes on is stable: fed through a fresh machine it comes
 *	  out unchanged and unrefused (evhttp sees only framing the guard
 *	  itself accepts), unless the first run refused, in which case the
 *	  output ends with the stand-in or a last chunk.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_guard.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct out {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

static void
collect(void *arg, const char *p, size_t len)
{
	struct out	*o = arg;

	if (o->len + len > o->cap) {
		o->cap = (o->len + len) * 2;
		if ((o->p = realloc(o->p, o->cap)) == NULL)
			abort();
	}
	memcpy(o->p + o->len, p, len);
	o->len += len;
}

static void
run(const char *in, size_t len, size_t step, struct out *o,
    struct http_stream *st)
{
	size_t	 i, n;

	http_stream_init(st, 1000, collect, o);
	for (i = 0; i < len; i += n) {
		n = step == 0 ? len - i : step;
		if (n > len - i)
			n = len - i;
		http_stream_feed(st, in + i, n);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_stream	 s1, s2, s3;
	struct http_head	 h;
	struct out		 o1 = { 0 }, o2 = { 0 }, o3 = { 0 };
	const char		*in;
	char			 msg[160];
	uint64_t		 csize;
	size_t			 len, step;
	int			 rv;

	if (size < 1)
		return (0);
	step = data[0] % 8;
	in = (const char *)data + 1;
	len = size - 1;

	rv = http_head_check(in, len, 1000, &h, msg, sizeof(msg));
	if (rv != 0 && (rv < 400 || rv > 599 || msg[0] == '\0'))
		abort();
	(void)http_chunk_line(in, len < 300 ? len : 300, &csize);

	run(in, len, 0, &o1, &s1);
	run(in, len, step == 0 ? 1 : step, &o2, &s2);
	if (o1.len != o2.len || (o1.len > 0 && memcmp(o1.p, o2.p,
	    o1.len) != 0) || s1.state != s2.state || s1.status != s2.status)
		abort();

	if (s1.state != HS_DEAD) {
		run(o1.p != NULL ? o1.p : "", o1.len, 0, &o3, &s3);
		if (s3.state == HS_DEAD || o3.len != o1.len ||
		    (o1.len > 0 && memcmp(o1.p, o3.p, o1.len) != 0))
			abort();
		http_stream_free(&s3);
	} else if (s1.status < 400 || s1.status > 599)
		abort();
	http_stream_free(&s1);
	http_stream_free(&s2);
	free(o1.p);
	free(o2.p);
	free(o3.p);
	return (0);
}
