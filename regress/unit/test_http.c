/*
 * The frontend's HTTP layer: the pure pieces (routing, JSON errors,
 * correlation ids, body limits, metrics rendering) and then the real
 * evhttp server on a loopback socket, driven by a raw client in the same
 * event loop, with the other processes replaced by fakes that answer (or
 * stay silent, or refuse) the way the real ones would.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <netinet/in.h>

#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <jansson.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "encoding.h"
#include "frontend.h"
#include "http.h"
#include "jcs.h"
#include "keyd.h"
#include "log.h"
#include "metrics.h"

#define RELAY_ID	"relay-6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab"
/* the key of the all-zero seed: the fake keyd below signs with it */
#define PUBKEY		\
	"3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29"
#define DID		\
	"did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"

/*
 * Pure pieces.
 */

START_TEST(route_lookup)
{
	const struct http_route	*r;
	int			 allowed;

	r = http_route_lookup("/health", HTTP_GET, &allowed);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->id, ROUTE_HEALTH);
	ck_assert_int_ne(r->flags & RF_ANYTIME, 0);
	r = http_route_lookup("/health", HTTP_HEAD, &allowed);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->id, ROUTE_HEALTH);

	r = http_route_lookup("/federation/v1/identity", HTTP_GET, &allowed);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->id, ROUTE_IDENTITY);
	ck_assert_int_eq(r->flags & RF_ANYTIME, 0);
	ck_assert_int_eq(http_route_lookup("/.well-known/motebit.json",
	    HTTP_GET, &allowed)->id, ROUTE_METADATA);
	ck_assert_int_eq(http_route_lookup("/.well-known/mesh-manifest.json",
	    HTTP_GET, &allowed)->id, ROUTE_MANIFEST);
	ck_assert_int_eq(http_route_lookup("/metrics", HTTP_GET,
	    &allowed)->id, ROUTE_METRICS);

	/* known path, wrong method: 405 with the route's methods */
	ck_assert_ptr_null(http_route_lookup("/health", HTTP_POST, &allowed));
	ck_assert_int_eq(allowed, HTTP_GET | HTTP_HEAD);
	ck_assert_ptr_null(http_route_lookup("/health", HTTP_OTHER,
	    &allowed));
	ck_assert_int_eq(allowed, HTTP_GET | HTTP_HEAD);

	/* unknown paths: 404; matching is exact */
	ck_assert_ptr_null(http_route_lookup("/nope", HTTP_GET, &allowed));
	ck_assert_int_eq(allowed, 0);
	ck_assert_ptr_null(http_route_lookup("/health/", HTTP_GET, &allowed));
	ck_assert_int_eq(allowed, 0);
	ck_assert_ptr_null(http_route_lookup("/HEALTH", HTTP_GET, &allowed));
	ck_assert_ptr_null(http_route_lookup("", HTTP_GET, &allowed));
	ck_assert_ptr_null(http_route_lookup(NULL, HTTP_GET, &allowed));
	ck_assert_int_eq(allowed, 0);

	ck_assert_int_eq(http_route_find("/metrics")->id, ROUTE_METRICS);
	ck_assert_ptr_null(http_route_find("/metric"));
	ck_assert_ptr_null(http_route_find(NULL));
	ck_assert_int_eq(http_route_byid(ROUTE_MANIFEST)->id, ROUTE_MANIFEST);
	ck_assert_ptr_null(http_route_byid(ROUTE_NONE));
	ck_assert_ptr_null(http_route_byid(ROUTE_MAX));
}
END_TEST

START_TEST(allow_header)
{
	char	 buf[64];

	http_allow_header(HTTP_GET | HTTP_HEAD, buf, sizeof(buf));
	ck_assert_str_eq(buf, "GET, HEAD");
	http_allow_header(HTTP_POST, buf, sizeof(buf));
	ck_assert_str_eq(buf, "POST");
	http_allow_header(HTTP_GET | HTTP_POST, buf, sizeof(buf));
	ck_assert_str_eq(buf, "GET, HEAD, POST");
}
END_TEST

START_TEST(error_json)
{
	char	*s;
	size_t	 len;
	json_t	*o;
	char	 err[128];

	s = http_error_json(404, "not found", &len);
	ck_assert_str_eq(s, "{\"error\":\"not found\",\"status\":404}");
	ck_assert_uint_eq(len, strlen(s));
	free(s);

	/* quotes and backslashes escaped, controls and non-ASCII replaced */
	s = http_error_json(400, "bad \"x\" \\ \x01\n\xc3\xa9", &len);
	ck_assert_str_eq(s,
	    "{\"error\":\"bad \\\"x\\\" \\\\ ????\",\"status\":400}");
	o = jcs_parse(s, len, err, sizeof(err));
	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "status")),
	    400);
	ck_assert_int_eq(jcs_is_canonical(s, len), 1);
	json_decref(o);
	free(s);
}
END_TEST

START_TEST(corrid)
{
	char	 out[HTTP_CORRID_MAX + 1], long64[65], long65[66];

	memset(long64, 'a', 64);
	long64[64] = '\0';
	memset(long65, 'b', 65);
	long65[65] = '\0';

	ck_assert_int_eq(http_corrid_sane("abc-123"), 1);
	ck_assert_int_eq(http_corrid_sane(long64), 1);
	ck_assert_int_eq(http_corrid_sane(long65), 0);
	ck_assert_int_eq(http_corrid_sane(""), 0);
	ck_assert_int_eq(http_corrid_sane(NULL), 0);
	ck_assert_int_eq(http_corrid_sane("a b"), 0);
	ck_assert_int_eq(http_corrid_sane("a\tb"), 0);
	ck_assert_int_eq(http_corrid_sane("a\x7f"), 0);
	ck_assert_int_eq(http_corrid_sane("caf\xc3\xa9"), 0);

	http_corrid("task-42", out);
	ck_assert_str_eq(out, "task-42");
	http_corrid(long64, out);
	ck_assert_str_eq(out, long64);
	http_corrid(long65, out);
	ck_assert_int_eq(uuid_valid(out), 1);
	ck_assert_int_eq(out[14], '4');		/* version 4 */
	http_corrid(NULL, out);
	ck_assert_int_eq(uuid_valid(out), 1);
	http_corrid("x\r\ny", out);
	ck_assert_int_eq(uuid_valid(out), 1);
}
END_TEST

START_TEST(body_limit)
{
	char	 msg[128];

	/* methods evhttp reads a body for */
	ck_assert_int_eq(http_body_check(1, "10", NULL, 10, 10, msg,
	    sizeof(msg)), 0);
	ck_assert_int_eq(http_body_check(1, "11", NULL, 11, 10, msg,
	    sizeof(msg)), 413);
	ck_assert_str_eq(msg, "request body larger than 10 bytes");
	ck_assert_int_eq(http_body_check(1, NULL, "chunked", 11, 10, msg,
	    sizeof(msg)), 413);
	ck_assert_int_eq(http_body_check(1, NULL, NULL, 0, 0, msg,
	    sizeof(msg)), 0);

	/* methods without a body */
	ck_assert_int_eq(http_body_check(0, NULL, NULL, 0, 10, msg,
	    sizeof(msg)), 0);
	ck_assert_int_eq(http_body_check(0, "0", NULL, 0, 10, msg,
	    sizeof(msg)), 0);
	ck_assert_int_eq(http_body_check(0, "000", NULL, 0, 10, msg,
	    sizeof(msg)), 0);
	ck_assert_int_eq(http_body_check(0, "010", NULL, 0, 10, msg,
	    sizeof(msg)), 400);
	ck_assert_int_eq(http_body_check(0, "5", NULL, 0, 10, msg,
	    sizeof(msg)), 400);
	ck_assert_str_eq(msg, "request body not allowed");
	ck_assert_int_eq(http_body_check(0, NULL, "chunked", 0, 10, msg,
	    sizeof(msg)), 400);

	/* evhttp's own cap: twice the limit, at least the grace more */
	ck_assert_uint_eq(http_body_cap(1024 * 1024), 2 * 1024 * 1024);
	ck_assert_uint_eq(http_body_cap(100), 100 + HTTP_BODY_GRACE);
	ck_assert_uint_eq(http_body_cap(0), HTTP_BODY_GRACE);
	ck_assert_uint_eq(http_body_cap(UINT64_MAX - 1), (uint64_t)SSIZE_MAX);
}
END_TEST

/*
 * The framing guard (http_guard.c): the header checks, chunk-size lines
 * and the stream machine, with the inputs of issue 8 finding 6.
 */
struct headcase {
	const char	*in;
	int		 status;
	const char	*msg;
};

static const struct headcase headcases[] = {
	{ "GET / HTTP/1.1\r\nHost: t\r\n\r\n", 0, NULL },
	{ "GET / HTTP/1.1\nHost: t\n\n", 0, NULL },
	{ "GET / HTTP/1.0\r\n\r\n", 0, NULL },
	{ "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
	    "Content-Length: 5\r\n\r\n", 0, NULL },
	{ "POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: Chunked\r\n\r\n",
	    0, NULL },
	/* smuggling: every Transfer-Encoding but chunked */
	{ "POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: identity\r\n\r\n",
	    400, "Transfer-Encoding other than chunked" },
	{ "POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: xchunked\r\n\r\n",
	    400, "Transfer-Encoding other than chunked" },
	{ "POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, "
	    "chunked\r\n\r\n", 400, "Transfer-Encoding other than chunked" },
	{ "POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", 400,
	    "Transfer-Encoding other than chunked" },
	{ "POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", 400,
	    "repeated Transfer-Encoding" },
	{ "POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
	    "Content-Length: 3\r\n\r\n", 400,
	    "Transfer-Encoding with Content-Length" },
	{ "POST /x HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
	    "Transfer-Encoding in an HTTP/1.0 request" },
	{ "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
	    "Content-Length: 6\r\n\r\n", 400,
	    "conflicting Content-Length values" },
	{ "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: +2\r\n\r\n", 400,
	    "invalid Content-Length" },
	{ "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n", 400,
	    "invalid Content-Length" },
	{ "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 0x2\r\n\r\n", 400,
	    "invalid Content-Length" },
	{ "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 2, 2\r\n\r\n", 400,
	    "invalid Content-Length" },
	{ "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: \r\n\r\n", 400,
	    "invalid Content-Length" },
	{ "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: "
	    "99999999999999999999\r\n\r\n", 400, "invalid Content-Length" },
	{ "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 101\r\n\r\n", 413,
	    "request body larger than 100 bytes" },
	/* Host */
	{ "GET / HTTP/1.1\r\n\r\n", 400,
	    "HTTP/1.1 needs exactly one Host header" },
	{ "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400,
	    "HTTP/1.1 needs exactly one Host header" },
	{ "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", 400,
	    "repeated Host header" },
	{ "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, "invalid Host header" },
	/* bodies on methods without one */
	{ "GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n", 400,
	    "request body not allowed" },
	{ "GET / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n",
	    400, "request body not allowed" },
	{ "GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n", 0, NULL },
	/* lines */
	{ "GET /  HTTP/1.1\r\nHost: t\r\n\r\n", 400,
	    "malformed request line" },
	{ "GET / HTTP/1.1 \r\nHost: t\r\n\r\n", 400,
	    "malformed request line" },
	{ "GET /\x01 HTTP/1.1\r\nHost: t\r\n\r\n", 400,
	    "malformed request target" },
	{ "GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505,
	    "HTTP version not supported" },
	{ "GET / HTTP/1.10\r\nHost: t\r\n\r\n", 400,
	    "malformed request line" },
	{ "BREW / HTTP/1.1\r\nHost: t\r\n\r\n", 501, "method not implemented" },
	{ "GET / HTTP/1.1\r\nHost: t\r\nX: a\r b\r\n\r\n", 400,
	    "bare CR in header block" },
	{ "GET / HTTP/1.1\r\nHost: t\r\n X: folded\r\n\r\n", 400,
	    "obsolete line folding in header" },
	{ "GET / HTTP/1.1\r\nHost: t\r\nX : y\r\n\r\n", 400,
	    "malformed header field" },
	{ "GET / HTTP/1.1\r\nHost: t\r\nX: \x1b[31m\r\n\r\n", 400,
	    "malformed header field" },
	{ "GET / HTTP/1.1\r\nHost: t\r\nNo colon\r\n\r\n", 400,
	    "malformed header field" },
	{ "GET / HTTP/1.1\r\nHost: t\r\nExpect: 200-ok\r\n\r\n", 417,
	    "unsupported Expect" },
	{ "POST / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
	    "Content-Length: 2\r\n\r\n", 0, NULL },
	{ NULL, 0, NULL }
};

START_TEST(guard_head)
{
	const struct headcase	*hc;
	struct http_head	 h;
	const char		*in;
	char			 msg[160], many[8192];
	size_t			 n;
	int			 i, rv;

	for (hc = headcases; hc->in != NULL; hc++) {
		msg[0] = '\0';
		rv = http_head_check(hc->in, strlen(hc->in), 100, &h, msg,
		    sizeof(msg));
		ck_assert_msg(rv == hc->status, "%s: %d (%s), want %d",
		    hc->in, rv, msg, hc->status);
		if (hc->msg != NULL)
			ck_assert_str_eq(msg, hc->msg);
	}

	/* what the checks learn */
	in = "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 42\r\n\r\n";
	ck_assert_int_eq(http_head_check(in, strlen(in), 100, &h, msg,
	    sizeof(msg)), 0);
	ck_assert_int_eq(h.body, HB_LENGTH);
	ck_assert_uint_eq(h.length, 42);
	ck_assert_int_eq(h.minor, 1);
	ck_assert_str_eq(h.method, "POST");
	in = "PUT /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
	ck_assert_int_eq(http_head_check(in, strlen(in), 100, &h, msg,
	    sizeof(msg)), 0);
	ck_assert_int_eq(h.body, HB_CHUNKED);

	/* more than HG_FIELDS_MAX fields */
	n = snprintf(many, sizeof(many), "GET / HTTP/1.1\r\nHost: t\r\n");
	for (i = 0; i < HG_FIELDS_MAX; i++)
		n += snprintf(many + n, sizeof(many) - n, "X-%d: v\r\n", i);
	n += snprintf(many + n, sizeof(many) - n, "\r\n");
	ck_assert_int_eq(http_head_check(many, n, 100, &h, msg, sizeof(msg)),
	    431);
}
END_TEST

START_TEST(guard_chunk_line)
{
	static const char *const good[] = {
		"5", "0", "ff", "FF", "5;a", "5;a=b", "5 ; a = b",
		"5;a=\"x y\"", "5;a=\"q\\\"q\";b", "ffffffffffffffff", NULL
	};
	static const char *const bad[] = {
		"", "g", "5x", "5;", "5;=b", "5;a=", "5;a=\"open", "-5", "+5",
		"0x5", " 5", "5;a b", "5,6", "10000000000000000",
		"5;a=\"\x01\"", NULL
	};
	uint64_t	 size;
	int		 i;

	for (i = 0; good[i] != NULL; i++)
		ck_assert_msg(http_chunk_line(good[i], strlen(good[i]),
		    &size) == 0, "refused \"%s\"", good[i]);
	ck_assert_int_eq(http_chunk_line("1a;x=y", 6, &size), 0);
	ck_assert_uint_eq(size, 26);
	for (i = 0; bad[i] != NULL; i++)
		ck_assert_msg(http_chunk_line(bad[i], strlen(bad[i]),
		    &size) == -1, "accepted \"%s\"", bad[i]);
}
END_TEST

static void
collect(void *arg, const char *p, size_t len)
{
	evbuffer_add(arg, p, len);
}

/* feeds in, whole or a byte at a time; returns what was passed on */
static char *
guard_run(const char *in, size_t len, int bytewise, struct http_stream *st)
{
	struct evbuffer	*out;
	char		*s;
	size_t		 i, n;

	out = evbuffer_new();
	http_stream_init(st, 100, collect, out);
	if (bytewise)
		for (i = 0; i < len; i++)
			http_stream_feed(st, in + i, 1);
	else
		http_stream_feed(st, in, len);
	n = evbuffer_get_length(out);
	s = malloc(n + 1);
	evbuffer_remove(out, s, n);
	s[n] = '\0';
	evbuffer_free(out);
	http_stream_free(st);
	return (s);
}

START_TEST(guard_stream)
{
	struct http_stream	 st;
	const char		*in, *want;
	char			*out;
	int			 bw;

	for (bw = 0; bw < 2; bw++) {
		/* pipelined: chunk extensions, trailers, LF-only lines */
		in = "\r\nPOST /a HTTP/1.1\r\nHost: t\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n"
		    "05;ext=\"v\"\r\nhello\r\n1\nx\n0\r\nTrailer: dropped\r\n"
		    "\r\nGET /b HTTP/1.0\n\n"
		    "POST /c HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\n"
		    "abc";
		want = "POST /a HTTP/1.1\r\nHost: t\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n"
		    "5\r\nhello\r\n1\r\nx\r\n0\r\n\r\n"
		    "GET /b HTTP/1.0\n\n"
		    "POST /c HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\n"
		    "abc";
		out = guard_run(in, strlen(in), bw, &st);
		ck_assert_str_eq(out, want);
		ck_assert_int_eq(st.state, HS_HEAD);
		ck_assert_int_eq(st.inreq, 0);
		ck_assert_uint_eq(st.nemitted, 3);
		free(out);

		/* the smuggling input: nothing of it is passed */
		in = "POST /health HTTP/1.1\r\nHost: t\r\n"
		    "Transfer-Encoding: identity\r\nContent-Length: 36\r\n\r\n"
		    "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n";
		out = guard_run(in, strlen(in), bw, &st);
		ck_assert_str_eq(out, HG_STANDIN);
		ck_assert_int_eq(st.state, HS_DEAD);
		ck_assert_int_eq(st.status, 400);
		ck_assert_str_eq(st.msg,
		    "Transfer-Encoding other than chunked");
		ck_assert_uint_eq(st.reject_at, 0);
		free(out);

		/* a bad chunk line after a good request: the body ends */
		in = "GET /a HTTP/1.1\r\nHost: t\r\n\r\n"
		    "POST /b HTTP/1.1\r\nHost: t\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n"
		    "2\r\nab\r\n5;\r\nhello\r\n0\r\n\r\n"
		    "GET /c HTTP/1.1\r\n\r\n";
		out = guard_run(in, strlen(in), bw, &st);
		ck_assert_str_eq(out, "GET /a HTTP/1.1\r\nHost: t\r\n\r\n"
		    "POST /b HTTP/1.1\r\nHost: t\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n");
		ck_assert_int_eq(st.status, 400);
		ck_assert_str_eq(st.msg, "malformed chunk size line");
		ck_assert_uint_eq(st.reject_at, 1);
		free(out);

		/* chunk data not followed by CRLF */
		in = "POST /b HTTP/1.1\r\nHost: t\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n";
		out = guard_run(in, strlen(in), bw, &st);
		ck_assert_int_eq(st.status, 400);
		ck_assert_str_eq(st.msg, "chunk data not followed by CRLF");
		ck_assert_ptr_nonnull(strstr(out, "2\r\nab\r\n0\r\n\r\n"));
		free(out);

		/* chunked bodies count against the limit (100 here) */
		in = "POST /b HTTP/1.1\r\nHost: t\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n64\r\n";
		out = guard_run(in, strlen(in), bw, &st);
		ck_assert_int_eq(st.state, HS_CHUNK_DATA);
		free(out);
		in = "POST /b HTTP/1.1\r\nHost: t\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n65\r\n";
		out = guard_run(in, strlen(in), bw, &st);
		ck_assert_int_eq(st.status, 413);
		ck_assert_str_eq(st.msg, "request body larger than 100 bytes");
		free(out);
	}

	/* a header block over HG_HEAD_MAX */
	{
		char	*big = malloc(HG_HEAD_MAX + 64);
		size_t	 n;

		n = snprintf(big, 64, "GET / HTTP/1.1\r\nX: ");
		memset(big + n, 'a', HG_HEAD_MAX);
		n += HG_HEAD_MAX;
		out = guard_run(big, n, 0, &st);
		ck_assert_str_eq(out, HG_STANDIN);
		ck_assert_int_eq(st.status, 431);
		free(out);
		free(big);
	}

	/* refused from outside while a header block is collected */
	out = guard_run("GET / HT", 8, 0, &st);
	ck_assert_str_eq(out, "");
	free(out);
	ck_assert_uint_eq(http_conns_cap(1024, 1024), 1024 - HTTP_FD_RESERVE);
	ck_assert_uint_eq(http_conns_cap(100, 1024), 100);
	ck_assert_uint_eq(http_conns_cap(1024, -1), 1024);
	ck_assert_uint_eq(http_conns_cap(1024, 64), 32);
}
END_TEST

/*
 * The log limiter (common/log.c), as the accept-error flood of issue 8
 * finding 4 would drive it: 100 000 identical lines become two, and
 * 10 000 distinct ones in a burst at most LOG_BURST (200) and a count.
 */
START_TEST(log_limit)
{
	FILE		*f;
	char		 line[256];
	int		 saved, i, n = 0, repeated = 0, dropped = 0;
	struct timespec	 t0, t;

	ck_assert_ptr_nonnull(f = tmpfile());
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	ck_assert_int_ne(dup2(fileno(f), STDERR_FILENO), -1);
	log_init(1, 0);
	for (i = 0; i < 100000; i++)
		log_warnx("accept: Too many open files; pausing new "
		    "connections");
	log_warnx("something else");
	for (i = 0; i < 10000; i++)
		log_warnx("distinct line %d", i);
	/* after a tenth of a second there are tokens again */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while ((t.tv_sec - t0.tv_sec) * 1000 +
	    (t.tv_nsec - t0.tv_nsec) / 1000000 < 100);
	log_warnx("after the burst");
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);

	rewind(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		n++;
		if (strstr(line, "last message repeated 99999 times") != NULL)
			repeated++;
		if (strstr(line, "messages dropped (more than 50 a second)") !=
		    NULL)
			dropped++;
	}
	fclose(f);
	ck_assert_int_eq(repeated, 1);
	ck_assert_int_eq(dropped, 1);
	ck_assert_msg(n <= 210, "%d lines", n);
}
END_TEST

static char *
render(const struct metrics_self *self)
{
	struct evbuffer	*b;
	char		*s;
	size_t		 len;

	b = evbuffer_new();
	metrics_render(b, self);
	len = evbuffer_get_length(b);
	s = malloc(len + 1);
	evbuffer_remove(b, s, len);
	s[len] = '\0';
	evbuffer_free(b);
	return (s);
}

START_TEST(metrics_text)
{
	struct fe_stats		 a, b;
	struct metrics_self	 self;
	char			*s;
	int			 i;

	ck_assert_str_eq(metrics_status_label(metrics_status_bucket(200)),
	    "200");
	ck_assert_str_eq(metrics_status_label(metrics_status_bucket(503)),
	    "503");
	ck_assert_str_eq(metrics_status_label(metrics_status_bucket(418)),
	    "other");
	ck_assert_int_lt(metrics_status_bucket(418), FE_STATUS_MAX);
	ck_assert_ptr_null(metrics_status_label(FE_STATUS_MAX + 1));
	ck_assert_str_eq(metrics_route_label(ROUTE_HEALTH), "/health");
	ck_assert_str_eq(metrics_route_label(ROUTE_NONE), "none");
	ck_assert_ptr_null(metrics_route_label(ROUTE_MAX));

	metrics_reset();
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.instance = 0;
	a.requests[ROUTE_HEALTH][metrics_status_bucket(200)] = 3;
	a.requests[ROUTE_NONE][metrics_status_bucket(404)] = 1;
	a.signatures[KEY_KIND_METADATA] = 2;
	a.queue[PROC_KEYD] = 4;
	b.instance = 1;
	b.requests[ROUTE_HEALTH][metrics_status_bucket(200)] = 4;
	b.requests[ROUTE_MANIFEST][metrics_status_bucket(503)] = 5;
	b.signatures[KEY_KIND_METADATA] = 1;
	b.queue[PROC_KEYD] = 1;
	ck_assert_int_eq(metrics_fe_stats(&a), 0);
	ck_assert_int_eq(metrics_fe_stats(&b), 0);
	/* a newer report of an instance replaces the older one */
	b.requests[ROUTE_HEALTH][metrics_status_bucket(200)] = 6;
	ck_assert_int_eq(metrics_fe_stats(&b), 0);
	b.instance = PROC_MAX_INSTANCES;
	ck_assert_int_eq(metrics_fe_stats(&b), -1);
	metrics_signature(KEY_KIND_HEARTBEAT);
	for (i = 0; i < 9; i++)
		metrics_signature(KEY_KIND_CONFIRM);
	metrics_signature(KEY_KIND_MAX);	/* ignored */
	metrics_signature(KEY_KIND_NONE);	/* ignored */

	memset(&self, 0, sizeof(self));
	self.version = "1.2\"3";
	self.pg_up = 1;
	self.self = PROC_PEER;
	self.queue[PROC_LEDGERD] = 7;
	s = render(&self);

	ck_assert_ptr_nonnull(strstr(s,
	    "# TYPE relayd_http_requests_total counter\n"));
	ck_assert_ptr_nonnull(strstr(s, "relayd_http_requests_total{"
	    "route=\"/health\",status=\"200\"} 9\n"));
	ck_assert_ptr_nonnull(strstr(s,
	    "relayd_http_requests_total{route=\"none\",status=\"404\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(s, "relayd_http_requests_total{route=\""
	    "/.well-known/mesh-manifest.json\",status=\"503\"} 5\n"));
	/* zero series are left out */
	ck_assert_ptr_null(strstr(s, "route=\"/metrics\""));
	ck_assert_ptr_nonnull(strstr(s,
	    "relayd_signatures_total{kind=\"metadata\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(s,
	    "relayd_signatures_total{kind=\"heartbeat\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(s,
	    "relayd_signatures_total{kind=\"confirm\"} 9\n"));
	ck_assert_ptr_nonnull(strstr(s,
	    "relayd_signatures_total{kind=\"manifest\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(s,
	    "relayd_imsg_queue_depth{from=\"frontend\",to=\"keyd\"} 5\n"));
	ck_assert_ptr_nonnull(strstr(s,
	    "relayd_imsg_queue_depth{from=\"peer\",to=\"ledgerd\"} 7\n"));
	ck_assert_ptr_null(strstr(s, "from=\"peer\",to=\"peer\""));
	ck_assert_ptr_null(strstr(s, "from=\"frontend\",to=\"frontend\""));
	ck_assert_ptr_nonnull(strstr(s,
	    "# TYPE relayd_postgresql_up gauge\nrelayd_postgresql_up 1\n"));
	ck_assert_ptr_nonnull(strstr(s,
	    "relayd_build_info{version=\"1.2\\\"3\"} 1\n"));
	free(s);

	self.pg_up = 0;
	metrics_reset();
	s = render(&self);
	ck_assert_ptr_nonnull(strstr(s, "relayd_postgresql_up 0\n"));
	ck_assert_ptr_null(strstr(s, "relayd_http_requests_total{"));
	free(s);
}
END_TEST

/*
 * The server, with fake engines.
 */

static struct event_base	*base;
static struct frontend		 fstate;
static uint16_t			 port;

/* fake processes: channel present, and how they behave */
static int		 fake_up[PROC_MAX];
static int		 fake_silent[PROC_MAX];
static int		 fake_healthy[PROC_MAX];
static int		 fake_refuse;		/* keyd refuses */
static int		 nsign[KEY_KIND_MAX];	/* signing requests */
static int		 nstatus[PROC_MAX];
static char		*last_doc;		/* last document to sign */
static const char	*ldg_detail = "connection refused";

struct fake_msg {
	enum proc_id	 to;
	uint32_t	 type;
	size_t		 len;
	char		 data[];
};

/*
 * keyd itself (keyd/kinds.c, sign.c, emit.c linked in) answers signing
 * requests, with the configuration the frontend has: every request the
 * frontend sends must be one keyd signs.
 */
static struct keyd_state	 fks;

static void
fake_sign(struct fake_msg *m)
{
	static const uint8_t	 seed[ED25519_SEED_LEN];
	struct key_sign_req	 req;
	struct keyd_result	 kr;
	struct cfg_identity	 id;
	char			 err[128];

	ck_assert_uint_ge(m->len, sizeof(req));
	memcpy(&req, m->data, sizeof(req));
	if (fks.ks_key == NULL) {
		keyd_state_init(&fks, now_ms);
		ck_assert_int_eq(keyd_set_key(&fks, ed25519_from_seed(seed),
		    err, sizeof(err)), 0);
		memset(&id, 0, sizeof(id));
		strlcpy(id.relay_id, RELAY_ID, sizeof(id.relay_id));
		strlcpy(id.public_key, PUBKEY, sizeof(id.public_key));
		strlcpy(id.did, DID, sizeof(id.did));
		ck_assert_int_eq(keyd_set_identity(&fks, &id, err,
		    sizeof(err)), 0);
	}
	keyd_set_conf(&fks, &fstate.conf);
	nsign[m->type == IMSG_KEY_SIGN_METADATA ? KEY_KIND_METADATA :
	    KEY_KIND_MANIFEST]++;
	if (fake_silent[PROC_KEYD])
		return;
	ck_assert_msg(keyd_handle(&fks, m->type, PROC_FRONTEND, 0, m->data,
	    m->len, &kr) == KEYD_SIGNED, "keyd refused the frontend: %s",
	    kr.kr_resp.error);
	free(last_doc);
	last_doc = strndup(kr.kr_doc, kr.kr_doclen);
	if (fake_refuse) {
		strlcpy(kr.kr_resp.error, "refused", sizeof(kr.kr_resp.error));
		fe_sign_answer(0, &kr.kr_resp, NULL, 0);
	} else
		fe_sign_answer(1, &kr.kr_resp, kr.kr_doc, kr.kr_doclen);
	keyd_result_free(&kr);
}

static void
fake_metrics(struct fake_msg *m)
{
	struct metrics_req	 req;
	struct metrics_self	 self;
	struct metrics_chunk	 mc;
	struct evbuffer		*b;
	size_t			 len, half;
	char			*text;

	memcpy(&req, m->data, sizeof(req));
	memset(&self, 0, sizeof(self));
	self.version = PACKAGE_VERSION;
	self.pg_up = 1;
	self.self = PROC_PEER;
	b = evbuffer_new();
	metrics_render(b, &self);
	len = evbuffer_get_length(b);
	text = (char *)evbuffer_pullup(b, -1);
	/* in two chunks, as the peer engine may send it */
	half = len / 2;
	mc.reqid = req.reqid;
	mc.last = 0;
	fe_metrics_answer(&mc, text, half);
	mc.last = 1;
	fe_metrics_answer(&mc, text + half, len - half);
	evbuffer_free(b);
}

static void
fake_react(int fd, short event, void *arg)
{
	struct fake_msg		*m = arg;
	struct proc_status_req	 sreq;
	struct proc_status	 st;
	struct fe_stats		 fs;

	switch (m->type) {
	case IMSG_PROC_STATUS_REQ:
		nstatus[m->to]++;
		if (fake_silent[m->to])
			break;
		ck_assert_uint_eq(m->len, sizeof(sreq));
		memcpy(&sreq, m->data, sizeof(sreq));
		memset(&st, 0, sizeof(st));
		st.reqid = sreq.reqid;
		st.proc = m->to;
		st.healthy = fake_healthy[m->to];
		strlcpy(st.detail, m->to == PROC_LEDGERD && !st.healthy ?
		    ldg_detail : "fine", sizeof(st.detail));
		fe_status_answer(m->to, &st);
		break;
	case IMSG_FE_STATS:
		ck_assert_uint_eq(m->len, sizeof(fs));
		memcpy(&fs, m->data, sizeof(fs));
		metrics_fe_stats(&fs);
		break;
	case IMSG_METRICS_REQ:
		if (!fake_silent[PROC_PEER])
			fake_metrics(m);
		break;
	case IMSG_KEY_SIGN_METADATA:
	case IMSG_KEY_SIGN_MANIFEST:
		fake_sign(m);
		break;
	default:
		ck_abort_msg("unexpected imsg %u to %d", m->type, m->to);
	}
	free(m);
}

/* fe->send: queue the message, the fake process reacts next turn */
static int
fake_send(enum proc_id to, uint32_t type, const struct iovec *iov, int n)
{
	struct fake_msg	*m;
	struct timeval	 tv = { 0, 0 };
	size_t		 len = 0;
	int		 i;

	if (!fake_up[to])
		return (-1);
	for (i = 0; i < n; i++)
		len += iov[i].iov_len;
	m = malloc(sizeof(*m) + len);
	m->to = to;
	m->type = type;
	m->len = 0;
	for (i = 0; i < n; i++) {
		memcpy(m->data + m->len, iov[i].iov_base, iov[i].iov_len);
		m->len += iov[i].iov_len;
	}
	event_base_once(base, -1, EV_TIMEOUT, fake_react, m, &tv);
	return (1);
}

static int
listen_socket(uint16_t *portp)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*portp = ntohs(sin.sin_port);
	return (fd);
}

static void
conf_default(struct cfg_global *g)
{
	memset(g, 0, sizeof(*g));
	strlcpy(g->name, "test relay", sizeof(g->name));
	strlcpy(g->endpoint, "https://relay.example", sizeof(g->endpoint));
	g->prefork = 1;
	g->body_limit = 100;
	g->fee_ppm = 50000;
	g->fed_enable = 1;
	g->fed_max_hops = 3;
}

static void
identity_set(void)
{
	struct cfg_identity	 id;

	memset(&id, 0, sizeof(id));
	strlcpy(id.relay_id, RELAY_ID, sizeof(id.relay_id));
	strlcpy(id.public_key, PUBKEY, sizeof(id.public_key));
	strlcpy(id.did, DID, sizeof(id.did));
	fe_set_identity(&id);
}

static void
ldg_set(int64_t agents)
{
	struct ldg_state	 ls;

	memset(&ls, 0, sizeof(ls));
	ls.connected = 1;
	ls.agent_count = agents;
	fe_set_ldg_state(&ls);
}

/* A server with all fake engines up and healthy, no identity yet. */
static void
server_setup(void)
{
	struct cfg_listen	 cl;
	struct cfg_global	 g;
	int			 fd, i;

	log_init(1, 0);
	base = event_base_new();
	fe_init(&fstate, base, 0, fake_send);
	fstate.http = http_server_new(base, &fstate.stats);
	conf_default(&g);
	fe_set_conf(&g);
	fd = listen_socket(&port);
	memset(&cl, 0, sizeof(cl));
	strlcpy(cl.addr, "127.0.0.1", sizeof(cl.addr));
	cl.port = port;
	ck_assert_int_eq(http_server_listen(fstate.http, fd, &cl, NULL), 0);
	for (i = 0; i < PROC_MAX; i++) {
		fake_up[i] = 1;
		fake_silent[i] = 0;
		fake_healthy[i] = 1;
	}
	metrics_reset();
}

static void
server_teardown(void)
{
	fe_cleanup();
	http_server_free(fstate.http);
	event_base_free(base);
	free(last_doc);
	last_doc = NULL;
}

/*
 * A raw client in the same loop: writes bytes, reads until the server
 * closes (or, with want responses, until that many are complete).
 */
struct client {
	struct bufferevent	*bev;
	struct evbuffer		*in;
	int			 done;
	int			 error;
	int			 want;
};

struct resp {
	int	 status;
	char	 head[8192];
	char	*body;
	size_t	 bodylen;
};

static int	 resp_parse(const char *, size_t, struct resp *, size_t *);
static int	 parse_head;	/* responses to HEAD have no body */

static int
client_complete(struct client *c)
{
	struct resp	 r;
	size_t		 off = 0, used;
	const char	*p;
	size_t		 len;
	int		 n = 0;

	if (c->want == 0)
		return (0);
	len = evbuffer_get_length(c->in);
	p = (const char *)evbuffer_pullup(c->in, -1);
	while (n < c->want && resp_parse(p + off, len - off, &r, &used) ==
	    0) {
		free(r.body);
		off += used;
		n++;
	}
	return (n >= c->want);
}

static void
client_read(struct bufferevent *bev, void *arg)
{
	struct client	*c = arg;

	evbuffer_add_buffer(c->in, bufferevent_get_input(bev));
	if (client_complete(c))
		c->done = 1;
}

static void
client_event(struct bufferevent *bev, short what, void *arg)
{
	struct client	*c = arg;

	if (what & BEV_EVENT_CONNECTED)
		return;
	evbuffer_add_buffer(c->in, bufferevent_get_input(bev));
	if (what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		c->error = 1;
	c->done = 1;
}

static void
client_run(struct client *c, uint16_t p, SSL *ssl, const char *data,
    size_t len, int want)
{
	struct sockaddr_in	 sin;
	struct timeval		 tv = { 10, 0 };

	memset(c, 0, sizeof(*c));
	c->in = evbuffer_new();
	c->want = want;
	if (ssl != NULL)
		c->bev = bufferevent_openssl_socket_new(base, -1, ssl,
		    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	else
		c->bev = bufferevent_socket_new(base, -1,
		    BEV_OPT_CLOSE_ON_FREE);
	ck_assert_ptr_nonnull(c->bev);
	bufferevent_setcb(c->bev, client_read, NULL, client_event, c);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(p);
	ck_assert_int_eq(bufferevent_socket_connect(c->bev,
	    (struct sockaddr *)&sin, sizeof(sin)), 0);
	bufferevent_write(c->bev, data, len);
	while (!c->done)
		event_base_loop(base, EVLOOP_ONCE);
	bufferevent_free(c->bev);
}

static void
client_free(struct client *c)
{
	evbuffer_free(c->in);
}

/* One response from buf: 0 and *used, or -1 if incomplete. */
static int
resp_parse(const char *buf, size_t len, struct resp *r, size_t *used)
{
	const char	*end, *cl;
	size_t		 hlen, blen = 0;

	memset(r, 0, sizeof(*r));
	if ((end = memmem(buf, len, "\r\n\r\n", 4)) == NULL)
		return (-1);
	hlen = end - buf + 4;
	if (hlen >= sizeof(r->head))
		return (-1);
	memcpy(r->head, buf, hlen);
	r->head[hlen] = '\0';
	if (sscanf(r->head, "HTTP/1.%*d %d", &r->status) != 1)
		return (-1);
	if ((cl = strcasestr(r->head, "\r\nContent-Length: ")) != NULL)
		blen = strtoul(cl + 18, NULL, 10);
	if (parse_head)
		blen = 0;
	if (len - hlen < blen)
		return (-1);
	r->body = malloc(blen + 1);
	memcpy(r->body, buf + hlen, blen);
	r->body[blen] = '\0';
	r->bodylen = blen;
	*used = hlen + blen;
	return (0);
}

/* The value of a response header, or NULL. */
static const char *
resp_header(const struct resp *r, const char *name, char *out, size_t len)
{
	char		 key[128];
	const char	*p, *e;

	snprintf(key, sizeof(key), "\r\n%s: ", name);
	if ((p = strcasestr(r->head, key)) == NULL)
		return (NULL);
	p += strlen(key);
	e = strstr(p, "\r\n");
	snprintf(out, len, "%.*s", (int)(e - p), p);
	return (out);
}

/* Sends a request, returns the first response. */
static void
request(const char *raw, size_t len, struct resp *r)
{
	struct client	 c;
	size_t		 used;
	int		 rv;

	client_run(&c, port, NULL, raw, len, 1);
	rv = resp_parse((const char *)evbuffer_pullup(c.in, -1),
	    evbuffer_get_length(c.in), r, &used);
	ck_assert_msg(rv == 0, "no complete response (%zu bytes)",
	    evbuffer_get_length(c.in));
	client_free(&c);
}

static void
get(const char *path, struct resp *r)
{
	char	 raw[512];

	snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: t\r\n"
	    "X-Correlation-ID: corr-%s\r\n\r\n", path, path);
	request(raw, strlen(raw), r);
}

/* status and exact JSON error body, and the header basics */
static void
check_error(const struct resp *r, int status, const char *msg)
{
	char	 want[300], h[128];

	ck_assert_int_eq(r->status, status);
	snprintf(want, sizeof(want), "{\"error\":\"%s\",\"status\":%d}", msg,
	    status);
	ck_assert_str_eq(r->body, want);
	ck_assert_ptr_nonnull(resp_header(r, "Content-Type", h, sizeof(h)));
	ck_assert_str_eq(h, "application/json");
	ck_assert_ptr_nonnull(resp_header(r, "X-Correlation-ID", h,
	    sizeof(h)));
}

START_TEST(identity_gate)
{
	struct resp	 r;
	char		 h[128];

	server_setup();
	get("/federation/v1/identity", &r);
	check_error(&r, 503, "relay identity not ready");
	ck_assert_str_eq(resp_header(&r, "X-Correlation-ID", h, sizeof(h)),
	    "corr-/federation/v1/identity");
	free(r.body);
	get("/.well-known/motebit.json", &r);
	check_error(&r, 503, "relay identity not ready");
	free(r.body);
	get("/.well-known/mesh-manifest.json", &r);
	check_error(&r, 503, "relay identity not ready");
	free(r.body);
	/* /health and /metrics answer without identity */
	get("/health", &r);
	ck_assert_int_eq(r.status, 200);
	free(r.body);
	get("/metrics", &r);
	ck_assert_int_eq(r.status, 200);
	free(r.body);
	server_teardown();
}
END_TEST

START_TEST(identity_doc)
{
	struct resp	 r;
	char		 h[128], clen[32];
	char		 raw[256];

	server_setup();
	identity_set();
	get("/federation/v1/identity", &r);
	ck_assert_int_eq(r.status, 200);
	snprintf(clen, sizeof(clen), "%zu", r.bodylen);
	ck_assert_str_eq(r.body,
	    "{\"did\":\"" DID "\",\"display_name\":\"test relay\","
	    "\"endpoint_url\":\"https://relay.example\",\"extensions\":"
	    "[\"peer-accepted\",\"remove-v2\"],\"public_key\":\"" PUBKEY
	    "\",\"relay_motebit_id\":\"" RELAY_ID "\",\"spec\":"
	    "\"motebit/relay-federation@1.4\",\"vote_policy_configured\":"
	    "false}");
	ck_assert_str_eq(resp_header(&r, "Content-Type", h, sizeof(h)),
	    "application/json");
	ck_assert_int_eq(jcs_is_canonical(r.body, r.bodylen), 1);
	free(r.body);

	/* HEAD: the same headers and length, no body */
	snprintf(raw, sizeof(raw), "HEAD /federation/v1/identity HTTP/1.1\r\n"
	    "Host: t\r\nConnection: close\r\n\r\n");
	parse_head = 1;
	request(raw, strlen(raw), &r);
	parse_head = 0;
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(resp_header(&r, "Content-Length", h, sizeof(h)),
	    clen);
	ck_assert_uint_eq(r.bodylen, 0);
	free(r.body);

	/* an insane correlation id is replaced by a UUIDv4 */
	snprintf(raw, sizeof(raw), "GET /federation/v1/identity HTTP/1.1\r\n"
	    "Host: t\r\nX-Correlation-ID: %065d\r\n\r\n", 0);
	request(raw, strlen(raw), &r);
	ck_assert_int_eq(uuid_valid(resp_header(&r, "X-Correlation-ID", h,
	    sizeof(h))), 1);
	free(r.body);
	server_teardown();
}
END_TEST

START_TEST(errors)
{
	struct resp	 r;
	char		 h[128];
	const char	*raw;

	server_setup();
	identity_set();

	get("/nope", &r);
	check_error(&r, 404, "not found");
	free(r.body);

	raw = "POST /health HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}";
	request(raw, strlen(raw), &r);
	check_error(&r, 405, "method not allowed");
	ck_assert_str_eq(resp_header(&r, "Allow", h, sizeof(h)),
	    "GET, HEAD");
	free(r.body);

	raw = "DELETE /federation/v1/identity HTTP/1.1\r\nHost: t\r\n\r\n";
	request(raw, strlen(raw), &r);
	check_error(&r, 405, "method not allowed");
	free(r.body);

	/* every body passes the strict parser before routing */
	raw = "POST /health HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\n"
	    "{bad";
	request(raw, strlen(raw), &r);
	ck_assert_int_eq(r.status, 400);
	ck_assert_ptr_nonnull(strstr(r.body, "\"error\":\"malformed JSON: "));
	free(r.body);
	raw = "POST /nope HTTP/1.1\r\nHost: t\r\nContent-Length: 15\r\n\r\n"
	    "{\"a\":1,\"a\":2}  ";
	request(raw, strlen(raw), &r);
	ck_assert_int_eq(r.status, 400);
	ck_assert_ptr_nonnull(strstr(r.body, "malformed JSON"));
	free(r.body);

	/* a GET with a body is refused and the connection closed */
	raw = "GET /health HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n"
	    "hello";
	request(raw, strlen(raw), &r);
	check_error(&r, 400, "request body not allowed");
	ck_assert_str_eq(resp_header(&r, "Connection", h, sizeof(h)),
	    "close");
	free(r.body);
	server_teardown();
}
END_TEST

/*
 * The guard on the wire: each smuggling input of issue 8 gets exactly
 * one answer, the JSON 400, and the connection closes; the request in
 * its body is never answered.
 */
static void
one_answer(const char *raw, int status, const char *msg)
{
	struct client	 c;
	struct resp	 r;
	char		 h[64];
	size_t		 used;

	client_run(&c, port, NULL, raw, strlen(raw), 0);
	ck_assert_msg(resp_parse((const char *)evbuffer_pullup(c.in, -1),
	    evbuffer_get_length(c.in), &r, &used) == 0, "no answer to %s",
	    raw);
	check_error(&r, status, msg);
	ck_assert_str_eq(resp_header(&r, "Connection", h, sizeof(h)),
	    "close");
	ck_assert_msg(used == evbuffer_get_length(c.in),
	    "a second answer to %s", raw);
	free(r.body);
	client_free(&c);
}

START_TEST(smuggling)
{
	server_setup();
	identity_set();
	one_answer("POST /health HTTP/1.1\r\nHost: t\r\n"
	    "Transfer-Encoding: identity\r\n\r\n"
	    "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n", 400,
	    "Transfer-Encoding other than chunked");
	one_answer("POST /health HTTP/1.1\r\nHost: t\r\n"
	    "Transfer-Encoding: xchunked\r\n\r\n"
	    "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n", 400,
	    "Transfer-Encoding other than chunked");
	one_answer("POST /health HTTP/1.1\r\nHost: t\r\n"
	    "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"
	    "0\r\n\r\nGET /metrics HTTP/1.1\r\nHost: t\r\n\r\n", 400,
	    "Transfer-Encoding with Content-Length");
	one_answer("POST /health HTTP/1.1\r\nHost: t\r\n"
	    "Content-Length: 2\r\nContent-Length: 40\r\n\r\n{}"
	    "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n", 400,
	    "conflicting Content-Length values");
	one_answer("POST /health HTTP/1.1\r\nHost: t\r\n"
	    "Content-Length: +2\r\n\r\n{}", 400, "invalid Content-Length");
	one_answer("GET /health HTTP/1.1\r\n\r\n", 400,
	    "HTTP/1.1 needs exactly one Host header");
	one_answer("GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400,
	    "HTTP/1.1 needs exactly one Host header");
	/* malformed chunk sizes and extensions: 400, not libevent's 413 */
	one_answer("POST /health HTTP/1.1\r\nHost: t\r\n"
	    "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400,
	    "malformed chunk size line");
	one_answer("POST /health HTTP/1.1\r\nHost: t\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n2;=x\r\n{}\r\n0\r\n\r\n", 400,
	    "malformed chunk size line");
	one_answer("POST /health HTTP/1.1\r\nHost: t\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n-2\r\n{}\r\n0\r\n\r\n", 400,
	    "malformed chunk size line");
	one_answer("POST /health HTTP/1.1\r\nHost: t\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n2 junk\r\n{}\r\n0\r\n\r\n", 400,
	    "malformed chunk size line");
	ck_assert_uint_eq(fstate.http->nrefused, 11);
	/* pipelined after a good request: the good one is answered */
	{
		struct client	 c;
		struct resp	 r;
		const char	*raw, *p;
		size_t		 used, len;

		raw = "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n"
		    "GET /nope HTTP/1.1\r\nHost: t\r\n"
		    "Transfer-Encoding: identity\r\n\r\n"
		    "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n";
		client_run(&c, port, NULL, raw, strlen(raw), 0);
		p = (const char *)evbuffer_pullup(c.in, -1);
		len = evbuffer_get_length(c.in);
		ck_assert_int_eq(resp_parse(p, len, &r, &used), 0);
		check_error(&r, 404, "not found");
		free(r.body);
		ck_assert_int_eq(resp_parse(p + used, len - used, &r, &used),
		    0);
		ck_assert_int_eq(r.status, 400);
		free(r.body);
		client_free(&c);
	}
	/* a good chunked body with extensions and trailers still works */
	{
		struct resp	 r;
		const char	*raw;

		raw = "POST /health HTTP/1.1\r\nHost: t\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n"
		    "2;name=\"v\"\r\n{}\r\n0\r\nX-Trailer: 1\r\n\r\n";
		request(raw, strlen(raw), &r);
		check_error(&r, 405, "method not allowed");
		free(r.body);
	}
	server_teardown();
}
END_TEST

/* Every 503 says when to retry, whoever produced it. */
START_TEST(retry_after)
{
	struct resp	 r;
	char		 h[64];

	server_setup();
	get("/federation/v1/identity", &r);
	check_error(&r, 503, "relay identity not ready");
	ck_assert_str_eq(resp_header(&r, "Retry-After", h, sizeof(h)),
	    HTTP_RETRY_AFTER);
	free(r.body);
	/* and nothing else does */
	get("/nope", &r);
	ck_assert_ptr_null(resp_header(&r, "Retry-After", h, sizeof(h)));
	free(r.body);
	server_teardown();
}
END_TEST

static void	 deadline_cb(int, short, void *);

static void
loop_until(int *flag, int ms)
{
	struct timeval	 tv;
	int		 expired = 0;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	event_base_once(base, -1, EV_TIMEOUT, deadline_cb, &expired, &tv);
	while (!*flag && !expired)
		event_base_loop(base, EVLOOP_ONCE);
}

static uint64_t
mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/*
 * The whole-request deadline (1 s here): a header block still coming
 * gets the JSON 408, a client that sends nothing is closed, and
 * progress does not extend it.
 */
START_TEST(request_deadline)
{
	struct client	 c;
	struct resp	 r;
	size_t		 used;
	uint64_t	 t0, dt;

	server_setup();
	identity_set();
	http_server_set_conns(fstate.http, 0, 1000);

	t0 = mono_ms();
	client_run(&c, port, NULL, "GET /health HTTP/1.1\r\nHo", 24, 0);
	dt = mono_ms() - t0;
	ck_assert_int_eq(resp_parse((const char *)evbuffer_pullup(c.in, -1),
	    evbuffer_get_length(c.in), &r, &used), 0);
	check_error(&r, 408, "request not received in time");
	free(r.body);
	client_free(&c);
	ck_assert_msg(dt >= 900 && dt < 3000, "cut after %llu ms",
	    (unsigned long long)dt);

	/* nothing at all: closed without an answer */
	t0 = mono_ms();
	client_run(&c, port, NULL, "", 0, 0);
	dt = mono_ms() - t0;
	ck_assert_uint_eq(evbuffer_get_length(c.in), 0);
	client_free(&c);
	ck_assert_msg(dt >= 900 && dt < 3000, "idle cut after %llu ms",
	    (unsigned long long)dt);

	/* a body that stops coming: closed */
	t0 = mono_ms();
	client_run(&c, port, NULL, "POST /health HTTP/1.1\r\nHost: t\r\n"
	    "Content-Length: 10\r\n\r\n{\"a\"", 58, 0);
	dt = mono_ms() - t0;
	ck_assert_uint_eq(evbuffer_get_length(c.in), 0);
	client_free(&c);
	ck_assert_msg(dt >= 900 && dt < 3000, "body cut after %llu ms",
	    (unsigned long long)dt);
	ck_assert_uint_eq(fstate.http->ndeadline, 3);
	server_teardown();
}
END_TEST

/*
 * At the connection cap the oldest idle connection makes room: 40 idle
 * connects against a cap of 16 leave 16, and a request still gets its
 * answer.
 */
START_TEST(conn_cap)
{
	struct bufferevent	*idle[40];
	struct sockaddr_in	 sin;
	struct resp		 r;
	uint64_t		 t0;
	int			 i, never = 0;

	server_setup();
	identity_set();
	http_server_set_conns(fstate.http, 16, 10000);
	ck_assert_int_eq(fstate.http->max_conns, 16);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	for (i = 0; i < 40; i++) {
		idle[i] = bufferevent_socket_new(base, -1,
		    BEV_OPT_CLOSE_ON_FREE);
		ck_assert_int_eq(bufferevent_socket_connect(idle[i],
		    (struct sockaddr *)&sin, sizeof(sin)), 0);
		bufferevent_enable(idle[i], EV_READ);
		/* until the server has it */
		t0 = mono_ms();
		while (fstate.http->nconns + (int)fstate.http->nevicted <
		    i + 1 && mono_ms() - t0 < 2000)
			loop_until(&never, 10);
		ck_assert_int_le(fstate.http->nconns, 16);
	}
	ck_assert_uint_eq(fstate.http->nevicted, 24);
	get("/nope", &r);
	check_error(&r, 404, "not found");
	free(r.body);

	/* the counts reach /metrics */
	{
		struct fe_stats		 st;
		struct metrics_self	 self;
		struct evbuffer		*b;
		const char		*txt;

		memset(&st, 0, sizeof(st));
		http_server_stats(fstate.http, &st);
		ck_assert_uint_eq(st.http_evicted, 25);	/* and get() */
		ck_assert_uint_le(st.http_conns, 16);
		ck_assert_int_eq(metrics_fe_stats(&st), 0);
		memset(&self, 0, sizeof(self));
		self.version = "t";
		self.self = PROC_PEER;
		b = evbuffer_new();
		metrics_render(b, &self);
		evbuffer_add(b, "", 1);
		txt = (const char *)evbuffer_pullup(b, -1);
		ck_assert_ptr_nonnull(strstr(txt, "relayd_http_closed_total{"
		    "reason=\"evicted\"} 25\n"));
		ck_assert_ptr_nonnull(strstr(txt,
		    "relayd_http_accept_errors_total 0\n"));
		evbuffer_free(b);
	}
	for (i = 0; i < 40; i++)
		bufferevent_free(idle[i]);
	server_teardown();
}
END_TEST

/*
 * Descriptors run out below the cap (issue 8 finding 4: the frontend
 * spun on "Too many open files"): the soft limit is cut to just above
 * what is open while 60 connects wait in the backlog.  accept(2) fails
 * with EMFILE; the server pauses with a backoff instead of retrying at
 * once, brings its cap down and pushes out idle connections, and a
 * request is still answered.
 */
START_TEST(accept_emfile)
{
	struct bufferevent	*idle[60];
	struct sockaddr_in	 sin;
	struct rlimit		 rl, saved;
	struct resp		 r;
	uint64_t		 t0;
	int			 i, never = 0, fd, nfree;

	server_setup();
	identity_set();
	http_server_set_conns(fstate.http, 1024, 10000);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	for (i = 0; i < 60; i++) {
		idle[i] = bufferevent_socket_new(base, -1,
		    BEV_OPT_CLOSE_ON_FREE);
		ck_assert_int_eq(bufferevent_socket_connect(idle[i],
		    (struct sockaddr *)&sin, sizeof(sin)), 0);
	}
	/* a limit with room for 20 new descriptors below it */
	for (fd = 0, nfree = 0; fd < 4096 && nfree < 20; fd++)
		if (fcntl(fd, F_GETFD) == -1)
			nfree++;
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &saved), 0);
	rl = saved;
	rl.rlim_cur = fd;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);

	t0 = mono_ms();
	while (fstate.http->naccept_err == 0 && mono_ms() - t0 < 5000)
		loop_until(&never, 20);
	ck_assert_uint_gt(fstate.http->naccept_err, 0);
	ck_assert_int_lt(fstate.http->max_conns, 20);
	/* paused, not spinning: a handful of errors, not thousands */
	loop_until(&never, 300);
	ck_assert_uint_lt(fstate.http->naccept_err, 20);

	/* a client needs a descriptor of its own */
	bufferevent_free(idle[0]);
	bufferevent_free(idle[1]);
	get("/nope", &r);
	check_error(&r, 404, "not found");
	free(r.body);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &saved), 0);
	for (i = 2; i < 60; i++)
		bufferevent_free(idle[i]);
	server_teardown();
}
END_TEST

START_TEST(body_too_large)
{
	struct resp	 r;
	char		 raw[512], *big;
	size_t		 n;

	server_setup();
	identity_set();

	/* 100 bytes is the limit: within it, routing goes on (405) */
	n = snprintf(raw, sizeof(raw), "POST /health HTTP/1.1\r\nHost: t\r\n"
	    "Content-Length: 100\r\n\r\n{\"x\":\"%092d\"}", 0);
	request(raw, n, &r);
	ck_assert_int_eq(r.status, 405);
	free(r.body);

	/* over the limit with Content-Length: the JSON 413 */
	n = snprintf(raw, sizeof(raw), "POST /health HTTP/1.1\r\nHost: t\r\n"
	    "Content-Length: 101\r\n\r\n{\"x\":\"%093d\"}", 0);
	request(raw, n, &r);
	check_error(&r, 413, "request body larger than 100 bytes");
	free(r.body);

	/* chunked, over the limit: the JSON 413 too */
	n = snprintf(raw, sizeof(raw), "POST /health HTTP/1.1\r\nHost: t\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n40\r\n%064d\r\n40\r\n%064d\r\n"
	    "0\r\n\r\n", 0, 0);
	request(raw, n, &r);
	check_error(&r, 413, "request body larger than 100 bytes");
	free(r.body);

	/*
	 * Over evhttp's hard cap (limit + HTTP_BODY_GRACE here): libevent
	 * answers 413 itself (HTML, see http.h).
	 */
	n = 100 + HTTP_BODY_GRACE + 1;
	big = malloc(n + 256);
	n = snprintf(big, 256, "POST /health HTTP/1.1\r\nHost: t\r\n"
	    "Content-Length: %zu\r\n\r\n", n) + n;
	memset(big + n - (100 + HTTP_BODY_GRACE + 1), 'x',
	    100 + HTTP_BODY_GRACE + 1);
	request(big, n, &r);
	ck_assert_int_eq(r.status, 413);
	free(r.body);
	free(big);
	server_teardown();
}
END_TEST

START_TEST(keepalive)
{
	struct client	 c;
	struct resp	 r;
	const char	*raw, *p;
	size_t		 used, len;

	server_setup();
	identity_set();
	raw = "GET /federation/v1/identity HTTP/1.1\r\nHost: t\r\n\r\n"
	    "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n"
	    "GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
	client_run(&c, port, NULL, raw, strlen(raw), 0);
	p = (const char *)evbuffer_pullup(c.in, -1);
	len = evbuffer_get_length(c.in);
	ck_assert_int_eq(resp_parse(p, len, &r, &used), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_null(strcasestr(r.head, "Connection: close"));
	free(r.body);
	p += used;
	len -= used;
	ck_assert_int_eq(resp_parse(p, len, &r, &used), 0);
	ck_assert_int_eq(r.status, 404);
	free(r.body);
	p += used;
	len -= used;
	ck_assert_int_eq(resp_parse(p, len, &r, &used), 0);
	ck_assert_int_eq(r.status, 200);
	free(r.body);
	ck_assert_uint_eq(len, used);
	client_free(&c);
	server_teardown();
}
END_TEST

START_TEST(health)
{
	struct resp	 r;

	server_setup();
	get("/health", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "{\"checks\":{\"ledgerd\":\"ok\",\"peer\":"
	    "\"ok\",\"postgresql\":\"connected\",\"routed\":\"ok\"},"
	    "\"status\":\"ok\"}");
	free(r.body);
	ck_assert_int_eq(nstatus[PROC_PEER], 1);
	ck_assert_int_eq(nstatus[PROC_ROUTED], 1);
	ck_assert_int_eq(nstatus[PROC_LEDGERD], 1);

	/* the database is down */
	fake_healthy[PROC_LEDGERD] = 0;
	get("/health", &r);
	ck_assert_int_eq(r.status, 503);
	ck_assert_str_eq(r.body, "{\"checks\":{\"ledgerd\":\"ok\",\"peer\":"
	    "\"ok\",\"postgresql\":\"postgresql unavailable: connection "
	    "refused\",\"routed\":\"ok\"},\"error\":\"postgresql unavailable: "
	    "connection refused\",\"status\":\"unavailable\"}");
	free(r.body);
	/* a detail that names the database already is not prefixed again */
	ldg_detail = "postgresql unavailable: server closed the connection";
	get("/health", &r);
	ck_assert_int_eq(r.status, 503);
	ck_assert_ptr_nonnull(strstr(r.body, "\"postgresql\":\"postgresql "
	    "unavailable: server closed the connection\""));
	free(r.body);
	fake_healthy[PROC_LEDGERD] = 1;

	/* routed does not answer: 503 after the deadline */
	fake_silent[PROC_ROUTED] = 1;
	get("/health", &r);
	ck_assert_int_eq(r.status, 503);
	ck_assert_str_eq(r.body, "{\"checks\":{\"ledgerd\":\"ok\",\"peer\":"
	    "\"ok\",\"postgresql\":\"connected\",\"routed\":\"no answer\"},"
	    "\"error\":\"routed: no answer\",\"status\":\"unavailable\"}");
	free(r.body);
	fake_silent[PROC_ROUTED] = 0;

	/* no channel to the peer engine, routed unhealthy */
	fake_up[PROC_PEER] = 0;
	fake_healthy[PROC_ROUTED] = 0;
	get("/health", &r);
	ck_assert_int_eq(r.status, 503);
	ck_assert_ptr_nonnull(strstr(r.body, "\"peer\":\"not connected\""));
	ck_assert_ptr_nonnull(strstr(r.body,
	    "\"routed\":\"unhealthy: fine\""));
	free(r.body);

	/* nobody there at all: answered at once */
	fake_up[PROC_ROUTED] = fake_up[PROC_LEDGERD] = 0;
	get("/health", &r);
	ck_assert_int_eq(r.status, 503);
	ck_assert_ptr_nonnull(strstr(r.body, "\"postgresql\":\"unknown: no "
	    "answer from ledgerd\""));
	free(r.body);
	server_teardown();
}
END_TEST

static void
deadline_cb(int fd, short event, void *arg)
{
	*(int *)arg = 1;
}

/* The client leaves while its request waits for an engine. */
START_TEST(client_gone)
{
	struct bufferevent	*bev;
	struct sockaddr_in	 sin;
	struct timeval		 tv = { 5, 0 };
	const char		*raw;
	int			 expired = 0;

	server_setup();
	fake_silent[PROC_ROUTED] = 1;
	bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	ck_assert_int_eq(bufferevent_socket_connect(bev,
	    (struct sockaddr *)&sin, sizeof(sin)), 0);
	raw = "GET /health HTTP/1.1\r\nHost: t\r\n\r\n";
	bufferevent_write(bev, raw, strlen(raw));
	event_base_once(base, -1, EV_TIMEOUT, deadline_cb, &expired, &tv);
	while (nstatus[PROC_ROUTED] == 0 && !expired)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_int_eq(nstatus[PROC_ROUTED], 1);
	ck_assert(!TAILQ_EMPTY(&fstate.health));
	bufferevent_free(bev);		/* gone, with the request pending */

	/* the deadline answers into the closed connection, harmlessly */
	while (!TAILQ_EMPTY(&fstate.http->reqs) && !expired)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert(TAILQ_EMPTY(&fstate.http->reqs));
	ck_assert(TAILQ_EMPTY(&fstate.health));
	server_teardown();
}
END_TEST

START_TEST(metrics_route)
{
	struct resp	 r;
	char		 h[128];
	const char	*raw;

	server_setup();
	identity_set();
	get("/federation/v1/identity", &r);
	free(r.body);
	get("/nope", &r);
	free(r.body);
	raw = "POST /health HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}";
	request(raw, strlen(raw), &r);
	free(r.body);
	get("/metrics", &r);
	ck_assert_int_eq(r.status, 200);
	/* an error before routing counts for the path's route */
	ck_assert_ptr_nonnull(strstr(r.body, "relayd_http_requests_total{"
	    "route=\"/health\",status=\"405\"} 1\n"));
	ck_assert_str_eq(resp_header(&r, "Content-Type", h, sizeof(h)),
	    "text/plain; version=0.0.4; charset=utf-8");
	/* this frontend's counters reached the (fake) peer engine first */
	ck_assert_ptr_nonnull(strstr(r.body, "relayd_http_requests_total{"
	    "route=\"/federation/v1/identity\",status=\"200\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(r.body, "relayd_http_requests_total{"
	    "route=\"none\",status=\"404\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(r.body, "relayd_build_info{version=\""
	    PACKAGE_VERSION "\"} 1\n"));
	free(r.body);

	/* the second scrape counts the first */
	get("/metrics", &r);
	ck_assert_ptr_nonnull(strstr(r.body, "relayd_http_requests_total{"
	    "route=\"/metrics\",status=\"200\"} 1\n"));
	free(r.body);

	fake_silent[PROC_PEER] = 1;
	get("/metrics", &r);
	check_error(&r, 503, "metrics unavailable: no answer from the peer "
	    "engine");
	free(r.body);
	fake_up[PROC_PEER] = 0;
	get("/metrics", &r);
	check_error(&r, 503, "metrics unavailable: peer engine not "
	    "connected");
	free(r.body);
	server_teardown();
}
END_TEST

START_TEST(metadata)
{
	struct resp	 r;
	char		 h[128];
	json_t		*o;
	char		 err[128];

	server_setup();
	identity_set();

	/* the agent count comes from ledgerd */
	get("/.well-known/motebit.json", &r);
	check_error(&r, 503, "agent count not known yet");
	free(r.body);
	ck_assert_int_eq(nsign[KEY_KIND_METADATA], 0);

	ldg_set(7);
	get("/.well-known/motebit.json", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(resp_header(&r, "Cache-Control", h, sizeof(h)),
	    "public, max-age=300");
	ck_assert_int_eq(nsign[KEY_KIND_METADATA], 1);
	/*
	 * What keyd signed: the members the frontend used to send, with
	 * keyd's generated_at, and the signer; the bytes served are those.
	 */
	ck_assert_str_eq(r.body, last_doc);
	ck_assert_ptr_nonnull(strstr(last_doc, "{\"agent_count\":7,"
	    "\"capabilities\":[],\"display_name\":\"test relay\","
	    "\"endpoint_url\":\"https://relay.example\","
	    "\"federation_peers\":[],\"fee_rate\":0.05,\"generated_at\":"));
	ck_assert_ptr_nonnull(strstr(last_doc, ",\"protocol_version\":\"1.0\","
	    "\"public_key\":\"" PUBKEY "\",\"relay_id\":\"" RELAY_ID "\","
	    "\"signature\":\""));
	/* and what it serves: keyd's signed document */
	o = jcs_parse(r.body, r.bodylen, err, sizeof(err));
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(json_string_value(json_object_get(o, "relay_id")),
	    RELAY_ID);
	ck_assert_str_eq(json_string_value(json_object_get(o, "suite")),
	    FE_SUITE_JCS_HEX);
	ck_assert_ptr_nonnull(json_object_get(o, "signature"));
	json_decref(o);
	free(r.body);

	/* cached while the content is the same */
	get("/.well-known/motebit.json", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(nsign[KEY_KIND_METADATA], 1);
	free(r.body);

	/* new content: signed again */
	ldg_set(8);
	get("/.well-known/motebit.json", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(nsign[KEY_KIND_METADATA], 2);
	ck_assert_ptr_nonnull(strstr(r.body, "\"agent_count\":8"));
	free(r.body);

	/* older than five minutes: signed again */
	fstate.docs[FE_DOC_METADATA].signed_at -= FE_SIGN_MAXAGE_MS;
	get("/.well-known/motebit.json", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(nsign[KEY_KIND_METADATA], 3);
	free(r.body);

	/* keyd refuses */
	fake_refuse = 1;
	ldg_set(9);
	get("/.well-known/motebit.json", &r);
	check_error(&r, 503, "signing refused");
	free(r.body);
	fake_refuse = 0;

	/* no keyd channel */
	fake_up[PROC_KEYD] = 0;
	get("/.well-known/motebit.json", &r);
	check_error(&r, 503, "signing service unavailable");
	free(r.body);
	server_teardown();
}
END_TEST

/* A silent keyd means 503 after the deadline; the signing is retried. */
START_TEST(signing_timeout)
{
	struct resp	 r;

	server_setup();
	identity_set();
	ldg_set(1);
	fake_silent[PROC_KEYD] = 1;
	get("/.well-known/mesh-manifest.json", &r);
	check_error(&r, 503, "signing service did not answer");
	free(r.body);
	ck_assert_int_eq(nsign[KEY_KIND_MANIFEST], 1);

	fake_silent[PROC_KEYD] = 0;
	get("/.well-known/mesh-manifest.json", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(nsign[KEY_KIND_MANIFEST], 2);
	free(r.body);
	server_teardown();
}
END_TEST

static void
two_clients_cb(int fd, short event, void *arg)
{
	int	*n = arg;

	(*n)++;
}

START_TEST(signing_shared)
{
	struct client	 c[3];
	struct resp	 r;
	struct sockaddr_in sin;
	struct timeval	 tv = { 10, 0 };
	const char	*raw;
	size_t		 used;
	int		 i, ticks = 0;

	server_setup();
	identity_set();
	ldg_set(1);
	raw = "GET /.well-known/mesh-manifest.json HTTP/1.1\r\nHost: t\r\n"
	    "Connection: close\r\n\r\n";
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	for (i = 0; i < 3; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		c[i].in = evbuffer_new();
		c[i].want = 1;
		c[i].bev = bufferevent_socket_new(base, -1,
		    BEV_OPT_CLOSE_ON_FREE);
		bufferevent_setcb(c[i].bev, client_read, NULL, client_event,
		    &c[i]);
		bufferevent_set_timeouts(c[i].bev, &tv, &tv);
		bufferevent_enable(c[i].bev, EV_READ | EV_WRITE);
		ck_assert_int_eq(bufferevent_socket_connect(c[i].bev,
		    (struct sockaddr *)&sin, sizeof(sin)), 0);
		bufferevent_write(c[i].bev, raw, strlen(raw));
	}
	event_base_once(base, -1, EV_TIMEOUT, two_clients_cb, &ticks, &tv);
	while (!(c[0].done && c[1].done && c[2].done) && ticks == 0)
		event_base_loop(base, EVLOOP_ONCE);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(resp_parse(
		    (const char *)evbuffer_pullup(c[i].in, -1),
		    evbuffer_get_length(c[i].in), &r, &used), 0);
		ck_assert_int_eq(r.status, 200);
		ck_assert_ptr_nonnull(strstr(r.body, "\"generated_at\":"));
		free(r.body);
		bufferevent_free(c[i].bev);
		client_free(&c[i]);
	}
	/* all three were served by one signature */
	ck_assert_int_eq(nsign[KEY_KIND_MANIFEST], 1);
	ck_assert_ptr_nonnull(strstr(last_doc, "\"endpoints\":{"
	    "\"federation\":\"https://relay.example/federation/v1\","
	    "\"health\":\"https://relay.example/health\","
	    "\"identity\":\"https://relay.example/federation/v1/identity\","
	    "\"manifest\":\"https://relay.example/.well-known/"
	    "mesh-manifest.json\",\"metadata\":\"https://relay.example/"
	    ".well-known/motebit.json\"}"));
	ck_assert_ptr_nonnull(strstr(last_doc, "\"federation\":{\"acceptance\""
	    ":\"manual\",\"enabled\":true,\"extensions\":[\"peer-accepted\","
	    "\"remove-v2\"],\"max_hops\":3,\"peer_count\":0}"));
	ck_assert_ptr_nonnull(strstr(last_doc, "\"agents\":[]"));
	ck_assert_ptr_nonnull(strstr(last_doc, "\"name\":\"test relay\""));
	ck_assert_ptr_nonnull(strstr(last_doc, "\"version\":\""
	    PACKAGE_VERSION "\""));
	ck_assert_ptr_nonnull(strstr(last_doc, "\"relay_id\":\"" RELAY_ID
	    "\""));
	server_teardown();
}
END_TEST

/* The frontend's own check is keyd's (claims_usable()). */
static int
doc_ok(enum fe_doc d, char *err, size_t errlen)
{
	char	*req;
	size_t	 len;

	if ((req = fe_doc_request(d, &len, err, errlen)) == NULL)
		return (0);
	free(req);
	return (1);
}

START_TEST(docs_refused_locally)
{
	struct cfg_global	 g;
	struct resp		 r;
	char			 err[128];
	json_t			*o;

	server_setup();
	identity_set();
	ldg_set(1);
	conf_default(&g);
	g.endpoint[0] = '\0';
	fe_set_conf(&g);
	ck_assert_int_eq(doc_ok(FE_DOC_METADATA, err, sizeof(err)), 0);
	ck_assert_str_eq(err, "relay endpoint not configured or too long");
	ck_assert_int_eq(doc_ok(FE_DOC_MANIFEST, err, sizeof(err)), 0);

	/* the identity leaves out an empty endpoint */
	o = fe_identity_doc();
	ck_assert_ptr_null(json_object_get(o, "endpoint_url"));
	json_decref(o);

	conf_default(&g);
	g.fee_ppm = 1000001;
	fe_set_conf(&g);
	ck_assert_int_eq(doc_ok(FE_DOC_METADATA, err, sizeof(err)), 0);
	ck_assert_str_eq(err, "fee rate out of range");

	/* no name, or one keyd would refuse (U+202E): no manifest, ... */
	conf_default(&g);
	strlcpy(g.name, "evil \xe2\x80\xae", sizeof(g.name));
	fe_set_conf(&g);
	ck_assert_int_eq(doc_ok(FE_DOC_MANIFEST, err, sizeof(err)), 0);
	ck_assert_str_eq(err, "relay name not usable");
	g.name[0] = '\0';
	fe_set_conf(&g);
	ck_assert_int_eq(doc_ok(FE_DOC_MANIFEST, err, sizeof(err)), 0);
	/* ... and motebit.json just leaves the display name out */
	get("/.well-known/motebit.json", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_null(strstr(r.body, "display_name"));
	free(r.body);

	conf_default(&g);
	g.fed_max_hops = 65;
	fe_set_conf(&g);
	ck_assert_int_eq(doc_ok(FE_DOC_MANIFEST, err, sizeof(err)), 0);

	conf_default(&g);
	memset(g.endpoint, 'a', sizeof(g.endpoint) - 1);
	g.endpoint[sizeof(g.endpoint) - 1] = '\0';
	fe_set_conf(&g);
	ck_assert_int_eq(doc_ok(FE_DOC_MANIFEST, err, sizeof(err)), 0);
	ck_assert_str_eq(err, "relay endpoint not configured or too long");

	/* a reload is signed at once, not served from the cache */
	conf_default(&g);
	g.fee_ppm = 0;
	fe_set_conf(&g);
	get("/.well-known/motebit.json", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "\"fee_rate\":0,"));
	free(r.body);
	server_teardown();
}
END_TEST

/*
 * TLS from PEM bytes.
 */

static void
make_cert(char **cert, size_t *certlen, char **key, size_t *keylen,
    EVP_PKEY **pkp, X509 **xp)
{
	EVP_PKEY	*pk;
	X509		*x;
	X509_NAME	*name;
	BIO		*b;
	char		*p;
	long		 n;

	pk = EVP_EC_gen("P-256");
	ck_assert_ptr_nonnull(pk);
	x = X509_new();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, pk);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"localhost", -1, -1, 0);
	X509_set_issuer_name(x, name);
	ck_assert_int_gt(X509_sign(x, pk, EVP_sha256()), 0);

	b = BIO_new(BIO_s_mem());
	PEM_write_bio_X509(b, x);
	n = BIO_get_mem_data(b, &p);
	*cert = malloc(n);
	memcpy(*cert, p, n);
	*certlen = n;
	BIO_free(b);
	b = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL);
	n = BIO_get_mem_data(b, &p);
	*key = malloc(n);
	memcpy(*key, p, n);
	*keylen = n;
	BIO_free(b);
	*pkp = pk;
	*xp = x;
}

START_TEST(tls)
{
	struct cfg_listen	 cl;
	struct client		 c;
	struct resp		 r;
	SSL_CTX			*sctx, *cctx;
	EVP_PKEY		*pk, *pk2;
	X509			*x, *x2;
	char			*cert, *key, *cert2, *key2;
	size_t			 certlen, keylen, cert2len, key2len, used;
	char			 err[256];
	uint16_t		 tport;
	int			 fd;
	const char		*raw;

	server_setup();
	identity_set();
	make_cert(&cert, &certlen, &key, &keylen, &pk, &x);
	make_cert(&cert2, &cert2len, &key2, &key2len, &pk2, &x2);

	/* bad material is refused with a reason */
	ck_assert_ptr_null(http_tls_ctx("junk", 4, key, keylen, err,
	    sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "certificate"));
	ck_assert_ptr_null(http_tls_ctx(cert, certlen, "junk", 4, err,
	    sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "private key"));
	ck_assert_ptr_null(http_tls_ctx(cert, certlen, key2, key2len, err,
	    sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "does not match"));

	sctx = http_tls_ctx(cert, certlen, key, keylen, err, sizeof(err));
	ck_assert_msg(sctx != NULL, "%s", err);
	fd = listen_socket(&tport);
	memset(&cl, 0, sizeof(cl));
	strlcpy(cl.addr, "127.0.0.1", sizeof(cl.addr));
	cl.port = tport;
	cl.tls = 1;
	cl.index = 1;
	ck_assert_int_eq(http_server_listen(fstate.http, fd, &cl, sctx), 0);

	/* a verifying TLS client gets the identity */
	cctx = SSL_CTX_new(TLS_client_method());
	X509_STORE_add_cert(SSL_CTX_get_cert_store(cctx), x);
	SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, NULL);
	raw = "GET /federation/v1/identity HTTP/1.1\r\nHost: t\r\n"
	    "Connection: close\r\n\r\n";
	client_run(&c, tport, SSL_new(cctx), raw, strlen(raw), 1);
	ck_assert_int_eq(resp_parse((const char *)evbuffer_pullup(c.in, -1),
	    evbuffer_get_length(c.in), &r, &used), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, RELAY_ID));
	free(r.body);
	client_free(&c);
	SSL_CTX_free(cctx);

	/* TLS 1.1 is refused */
	cctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_security_level(cctx, 0);
	SSL_CTX_set_min_proto_version(cctx, TLS1_VERSION);
	SSL_CTX_set_max_proto_version(cctx, TLS1_1_VERSION);
	SSL_CTX_set_cipher_list(cctx, "ALL:@SECLEVEL=0");
	client_run(&c, tport, SSL_new(cctx), raw, strlen(raw), 1);
	ck_assert_int_eq(c.error, 1);
	ck_assert_uint_eq(evbuffer_get_length(c.in), 0);
	client_free(&c);
	SSL_CTX_free(cctx);

	/* plaintext on the TLS port gets no HTTP answer */
	client_run(&c, tport, NULL, raw, strlen(raw), 1);
	ck_assert(evbuffer_get_length(c.in) == 0 ||
	    memmem(evbuffer_pullup(c.in, -1), evbuffer_get_length(c.in),
	    "HTTP/1.1 200", 12) == NULL);
	client_free(&c);

	EVP_PKEY_free(pk);
	EVP_PKEY_free(pk2);
	X509_free(x);
	X509_free(x2);
	free(cert);
	free(key);
	free(cert2);
	free(key2);
	server_teardown();
}
END_TEST

static Suite *
http_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("http");
	tc = tcase_create("pure");
	tcase_add_test(tc, route_lookup);
	tcase_add_test(tc, allow_header);
	tcase_add_test(tc, error_json);
	tcase_add_test(tc, corrid);
	tcase_add_test(tc, body_limit);
	tcase_add_test(tc, guard_head);
	tcase_add_test(tc, guard_chunk_line);
	tcase_add_test(tc, guard_stream);
	tcase_add_test(tc, log_limit);
	tcase_add_test(tc, metrics_text);
	suite_add_tcase(s, tc);

	tc = tcase_create("server");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, identity_gate);
	tcase_add_test(tc, identity_doc);
	tcase_add_test(tc, errors);
	tcase_add_test(tc, body_too_large);
	tcase_add_test(tc, keepalive);
	tcase_add_test(tc, health);
	tcase_add_test(tc, client_gone);
	tcase_add_test(tc, metrics_route);
	tcase_add_test(tc, metadata);
	tcase_add_test(tc, signing_timeout);
	tcase_add_test(tc, signing_shared);
	tcase_add_test(tc, docs_refused_locally);
	tcase_add_test(tc, tls);
	tcase_add_test(tc, smuggling);
	tcase_add_test(tc, retry_after);
	tcase_add_test(tc, request_deadline);
	tcase_add_test(tc, conn_cap);
	tcase_add_test(tc, accept_emfile);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	/* the server may close while a client still writes */
	signal(SIGPIPE, SIG_IGN);
	sr = srunner_create(http_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
