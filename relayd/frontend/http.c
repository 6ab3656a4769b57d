/*
 * HTTP request plumbing for the frontend: evhttp servers on the passed
 * listening sockets, TLS from PEM bytes, the route table, request
 * hygiene, JSON errors and waiting requests.  See http.h.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "encoding.h"
#include "frontend.h"
#include "http.h"
#include "jcs.h"
#include "log.h"
#include "metrics.h"

#define HTTP_ROUTE_ROW(id, m, f, path, h)	{ id, m, f, path, h },
static const struct http_route http_routes[] = {
	HTTP_ROUTES(HTTP_ROUTE_ROW)
	{ ROUTE_NONE, 0, 0, NULL, NULL }
};
#undef HTTP_ROUTE_ROW

_Static_assert(ROUTE_MAX <= FE_ROUTE_MAX, "too many routes for fe_stats");

static void	 http_dispatch(struct evhttp_request *, void *);
static struct bufferevent *http_tls_bev(struct event_base *, void *);
static void	 http_req_free(struct http_req *);
static void	 http_wait_expired(int, short, void *);

/*
 * Routing.
 */

/*
 * The route for path and method.  When the path is known but the method
 * is not, returns NULL with *allowed set to the route's methods (405);
 * for an unknown path *allowed is 0 (404).
 */
const struct http_route *
http_route_lookup(const char *path, int method, int *allowed)
{
	const struct http_route	*r;
	int			 m;

	*allowed = 0;
	if ((r = http_route_find(path)) == NULL)
		return (NULL);
	m = r->methods;
	if (m & HTTP_GET)
		m |= HTTP_HEAD;
	if (method & m)
		return (r);
	*allowed = m;
	return (NULL);
}

/* The route for a path, whatever the method. */
const struct http_route *
http_route_find(const char *path)
{
	const struct http_route	*r;

	if (path == NULL)
		return (NULL);
	for (r = http_routes; r->path != NULL; r++)
		if (strcmp(r->path, path) == 0)
			return (r);
	return (NULL);
}

const struct http_route *
http_route_byid(int id)
{
	const struct http_route	*r;

	for (r = http_routes; r->path != NULL; r++)
		if (r->id == id)
			return (r);
	return (NULL);
}

/* "GET, HEAD, POST" for an Allow header. */
void
http_allow_header(int methods, char *buf, size_t len)
{
	buf[0] = '\0';
	if (methods & HTTP_GET)
		strlcat(buf, "GET, HEAD", len);
	if (methods & HTTP_POST) {
		if (buf[0] != '\0')
			strlcat(buf, ", ", len);
		strlcat(buf, "POST", len);
	}
}

/*
 * Correlation ids: 1 to HTTP_CORRID_MAX visible ASCII characters (no
 * space, no controls), else the request gets a fresh UUIDv4.
 */
int
http_corrid_sane(const char *s)
{
	size_t	 i;

	if (s == NULL)
		return (0);
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= HTTP_CORRID_MAX)
			return (0);
		if (s[i] < 0x21 || s[i] > 0x7e)
			return (0);
	}
	return (i > 0);
}

/* out holds HTTP_CORRID_MAX + 1 bytes */
void
http_corrid(const char *in, char *out)
{
	if (http_corrid_sane(in))
		strlcpy(out, in, HTTP_CORRID_MAX + 1);
	else
		uuid_v4(out);
}

/*
 * Bodies.  evhttp reads a body for POST, PUT and PATCH only; any other
 * request that announces one would leave it on the connection to be
 * read as the next request, so it is refused and the connection closed.
 * Returns 0, or the status to answer with a message in msg.
 */
int
http_body_check(int reads_body, const char *clen, const char *te,
    size_t len, uint64_t limit, char *msg, size_t msglen)
{
	if (!reads_body) {
		/* Content-Length: 0 (or 00...) announces no body */
		if (clen != NULL)
			clen += strspn(clen, "0");
		if (te != NULL || (clen != NULL && *clen != '\0')) {
			snprintf(msg, msglen, "request body not allowed");
			return (400);
		}
		return (0);
	}
	if ((uint64_t)len > limit) {
		snprintf(msg, msglen, "request body larger than %llu bytes",
		    (unsigned long long)limit);
		return (413);
	}
	return (0);
}

/*
 * evhttp's own limit: bodies above it get libevent's HTML 413 (http.h).
 * Up to twice the configured limit (at least HTTP_BODY_GRACE more) a
 * body is read and refused with the JSON 413.
 */
uint64_t
http_body_cap(uint64_t limit)
{
	uint64_t	 grace, cap;

	grace = limit > HTTP_BODY_GRACE ? limit : HTTP_BODY_GRACE;
	cap = limit + grace;
	if (cap < limit || cap > (uint64_t)SSIZE_MAX)
		cap = SSIZE_MAX;
	return (cap);
}

/*
 * {"error":msg,"status":status}, canonical, malloc'd.  Bytes outside
 * printable ASCII in msg (a parser message may quote input) become '?'.
 */
char *
http_error_json(int status, const char *msg, size_t *lenp)
{
	char	 clean[256];
	char	*out;
	json_t	*o;
	size_t	 i;

	for (i = 0; msg[i] != '\0' && i < sizeof(clean) - 1; i++)
		clean[i] = (msg[i] >= 0x20 && msg[i] <= 0x7e) ? msg[i] : '?';
	clean[i] = '\0';
	if ((o = json_pack("{s:s, s:i}", "error", clean, "status", status)) ==
	    NULL)
		fatalx("%s: json_pack", __func__);
	if ((out = jcs_serialize(o, 0, lenp)) == NULL)
		fatalx("%s: jcs_serialize", __func__);
	json_decref(o);
	return (out);
}

/*
 * Servers.
 */

struct http_server *
http_server_new(struct event_base *base, struct fe_stats *stats)
{
	struct http_server	*srv;

	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		fatal("%s", __func__);
	srv->base = base;
	srv->stats = stats;
	srv->body_limit = HTTP_BODY_LIMIT;
	TAILQ_INIT(&srv->listeners);
	TAILQ_INIT(&srv->reqs);
	return (srv);
}

/*
 * Requests still waiting are dropped without an answer: their
 * connections go with the evhttp objects.
 */
void
http_server_free(struct http_server *srv)
{
	struct http_req	*hr;

	if (srv == NULL)
		return;
	while ((hr = TAILQ_FIRST(&srv->reqs)) != NULL)
		http_req_free(hr);
	http_server_close_listeners(srv);
	free(srv);
}

void
http_server_close_listeners(struct http_server *srv)
{
	struct http_listener	*l;
	struct http_req		*hr, *next;

	/* requests on these connections cannot be answered any more */
	for (hr = TAILQ_FIRST(&srv->reqs); hr != NULL; hr = next) {
		next = TAILQ_NEXT(hr, entry);
		http_req_free(hr);
	}
	while ((l = TAILQ_FIRST(&srv->listeners)) != NULL) {
		TAILQ_REMOVE(&srv->listeners, l, entry);
		evhttp_free(l->http);
		SSL_CTX_free(l->ssl);
		free(l);
	}
}

void
http_server_set_limit(struct http_server *srv, uint64_t limit)
{
	struct http_listener	*l;

	srv->body_limit = limit;
	TAILQ_FOREACH(l, &srv->listeners, entry)
		evhttp_set_max_body_size(l->http,
		    (ev_ssize_t)http_body_cap(limit));
}

/*
 * Serve HTTP on a listening socket; with ssl (owned from now on) TLS.
 * Every frontend instance accepts on the same sockets.
 */
int
http_server_listen(struct http_server *srv, int fd,
    const struct cfg_listen *cl, SSL_CTX *ssl)
{
	struct http_listener	*l;
	int			 flags;

	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
		log_warn("%s: fcntl", __func__);
		return (-1);
	}
	if ((l = calloc(1, sizeof(*l))) == NULL)
		fatal("%s", __func__);
	l->srv = srv;
	l->ssl = ssl;
	l->conf = *cl;
	if ((l->http = evhttp_new(srv->base)) == NULL)
		fatalx("%s: evhttp_new", __func__);
	evhttp_set_gencb(l->http, http_dispatch, l);
	evhttp_set_default_content_type(l->http, NULL);
	evhttp_set_allowed_methods(l->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
	    EVHTTP_REQ_PATCH);
	evhttp_set_max_headers_size(l->http, HTTP_HEADERS_MAX);
	evhttp_set_max_body_size(l->http,
	    (ev_ssize_t)http_body_cap(srv->body_limit));
	evhttp_set_timeout(l->http, HTTP_TIMEOUT);
	if (ssl != NULL)
		evhttp_set_bevcb(l->http, http_tls_bev, l);
	if (evhttp_accept_socket_with_handle(l->http, fd) == NULL) {
		log_warnx("%s: cannot accept on %s:%u", __func__, cl->addr,
		    cl->port);
		evhttp_free(l->http);
		free(l);
		return (-1);
	}
	TAILQ_INSERT_TAIL(&srv->listeners, l, entry);
	log_debug("serving %s on %s port %u", ssl ? "HTTPS" : "HTTP",
	    cl->addr, cl->port);
	return (0);
}

/*
 * TLS.  The certificate chain and the key arrive as PEM bytes (the
 * sandbox has no file system).  TLS 1.2 and newer, forward-secret AEAD
 * suites for 1.2, no renegotiation, no compression.
 */
static int
http_tls_err(char *err, size_t errlen, const char *what)
{
	unsigned long	 e;
	char		 buf[160];

	if ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(err, errlen, "%s: %s", what, buf);
	} else
		snprintf(err, errlen, "%s", what);
	ERR_clear_error();
	return (-1);
}

static int
http_tls_nopass(char *buf, int size, int rwflag, void *u)
{
	return (0);
}

SSL_CTX *
http_tls_ctx(const char *cert, size_t certlen, const char *key,
    size_t keylen, char *err, size_t errlen)
{
	SSL_CTX		*ctx = NULL;
	BIO		*bio = NULL;
	X509		*x = NULL;
	EVP_PKEY	*pkey = NULL;
	int		 n;

	if (certlen > INT_MAX || keylen > INT_MAX) {
		snprintf(err, errlen, "certificate or key too large");
		return (NULL);
	}
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		http_tls_err(err, errlen, "SSL_CTX_new");
		goto fail;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20") !=
	    1) {
		http_tls_err(err, errlen, "TLS parameters");
		goto fail;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);

	/* the leaf certificate, then any chain certificates */
	if ((bio = BIO_new_mem_buf(cert, (int)certlen)) == NULL) {
		http_tls_err(err, errlen, "BIO_new_mem_buf");
		goto fail;
	}
	if ((x = PEM_read_bio_X509(bio, NULL, http_tls_nopass, NULL)) ==
	    NULL) {
		http_tls_err(err, errlen, "certificate");
		goto fail;
	}
	if (SSL_CTX_use_certificate(ctx, x) != 1) {
		http_tls_err(err, errlen, "SSL_CTX_use_certificate");
		goto fail;
	}
	X509_free(x);
	for (n = 0; (x = PEM_read_bio_X509(bio, NULL, http_tls_nopass,
	    NULL)) != NULL; n++) {
		if (SSL_CTX_add0_chain_cert(ctx, x) != 1) {
			http_tls_err(err, errlen, "chain certificate");
			goto fail;
		}
	}
	x = NULL;
	/* the loop ends with "no start line": the end of the PEM data */
	ERR_clear_error();
	BIO_free(bio);

	if ((bio = BIO_new_mem_buf(key, (int)keylen)) == NULL) {
		http_tls_err(err, errlen, "BIO_new_mem_buf");
		goto fail;
	}
	if ((pkey = PEM_read_bio_PrivateKey(bio, NULL, http_tls_nopass,
	    NULL)) == NULL) {
		http_tls_err(err, errlen, "private key (unencrypted PEM "
		    "expected)");
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey(ctx, pkey) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		http_tls_err(err, errlen, "private key does not match the "
		    "certificate");
		goto fail;
	}
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	return (ctx);

 fail:
	EVP_PKEY_free(pkey);
	X509_free(x);
	BIO_free(bio);
	SSL_CTX_free(ctx);
	return (NULL);
}

/*
 * evhttp asks for each new connection's bufferevent.  Never NULL: evhttp
 * would fall back to a plain socket and speak cleartext on a TLS port.
 */
static struct bufferevent *
http_tls_bev(struct event_base *base, void *arg)
{
	struct http_listener	*l = arg;
	struct bufferevent	*bev;
	SSL			*ssl;

	if ((ssl = SSL_new(l->ssl)) == NULL)
		fatalx("%s: SSL_new", __func__);
	if ((bev = bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE)) == NULL)
		fatalx("%s: bufferevent_openssl_socket_new", __func__);
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return (bev);
}

/*
 * Requests.
 */

static int
http_method(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET:
		return (HTTP_GET);
	case EVHTTP_REQ_POST:
		return (HTTP_POST);
	case EVHTTP_REQ_HEAD:
		return (HTTP_HEAD);
	default:
		return (HTTP_OTHER);
	}
}

static int
http_reads_body(enum evhttp_cmd_type cmd)
{
	return (cmd == EVHTTP_REQ_POST || cmd == EVHTTP_REQ_PUT ||
	    cmd == EVHTTP_REQ_PATCH);
}

/* evhttp's callback for every complete request on every listener. */
static void
http_dispatch(struct evhttp_request *req, void *arg)
{
	struct http_listener	*l = arg;
	struct http_server	*srv = l->srv;
	const struct http_route	*r;
	struct http_req		*hr;
	struct evkeyvalq	*in;
	struct evbuffer		*body;
	const struct evhttp_uri	*uri;
	const char		*path, *s;
	char			 msg[256], allow[64];
	size_t			 len;
	int			 status, allowed;

	if ((hr = calloc(1, sizeof(*hr))) == NULL)
		fatal("%s", __func__);
	hr->srv = srv;
	hr->req = req;
	hr->method = http_method(evhttp_request_get_command(req));
	TAILQ_INSERT_TAIL(&srv->reqs, hr, entry);
	in = evhttp_request_get_input_headers(req);
	http_corrid(evhttp_find_header(in, "X-Correlation-ID"), hr->corrid);
	/* errors before routing count for the path's route */
	uri = evhttp_request_get_evhttp_uri(req);
	path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	if ((r = http_route_find(path)) != NULL)
		hr->label = r->id;

	if ((s = evhttp_request_get_uri(req)) == NULL ||
	    strlen(s) > HTTP_URI_MAX) {
		http_error(hr, 414, "request URI longer than %d bytes",
		    HTTP_URI_MAX);
		return;
	}

	body = evhttp_request_get_input_buffer(req);
	len = evbuffer_get_length(body);
	if ((status = http_body_check(
	    http_reads_body(evhttp_request_get_command(req)),
	    evhttp_find_header(in, "Content-Length"),
	    evhttp_find_header(in, "Transfer-Encoding"), len,
	    srv->body_limit, msg, sizeof(msg))) != 0) {
		if (status == 400)
			hr->close = 1;
		http_error(hr, status, "%s", msg);
		return;
	}

	/* every JSON body from outside passes the strict parser first */
	if (len > 0) {
		if ((s = (const char *)evbuffer_pullup(body, -1)) == NULL)
			fatalx("%s: evbuffer_pullup", __func__);
		if ((hr->body = jcs_parse(s, len, msg, sizeof(msg))) == NULL) {
			http_error(hr, 400, "malformed JSON: %s", msg);
			return;
		}
	}

	if ((hr->route = http_route_lookup(path, hr->method, &allowed)) ==
	    NULL) {
		if (allowed == 0) {
			http_error(hr, 404, "not found");
			return;
		}
		http_allow_header(allowed, allow, sizeof(allow));
		http_header(hr, "Allow", allow);
		http_error(hr, 405, "method not allowed");
		return;
	}
	if (!srv->ready && !(hr->route->flags & RF_ANYTIME)) {
		http_error(hr, 503, "relay identity not ready");
		return;
	}
	hr->route->handler(hr);
}

void
http_header(struct http_req *hr, const char *key, const char *value)
{
	evhttp_add_header(evhttp_request_get_output_headers(hr->req), key,
	    value);
}

static void
http_count(struct http_req *hr, int status)
{
	struct fe_stats	*st = hr->srv->stats;

	if (st == NULL)
		return;
	st->requests[hr->label][metrics_status_bucket(status)]++;
}

/*
 * Answers hr and frees it.  HEAD gets the headers (with the length the
 * body would have) and no body.
 */
void
http_reply(struct http_req *hr, int status, const char *ctype,
    const void *data, size_t len)
{
	struct evbuffer	*buf = NULL;
	char		 clen[32];

	http_unwait(hr);
	if (ctype != NULL)
		http_header(hr, "Content-Type", ctype);
	http_header(hr, "X-Correlation-ID", hr->corrid);
	snprintf(clen, sizeof(clen), "%zu", len);
	http_header(hr, "Content-Length", clen);
	if (hr->close)
		http_header(hr, "Connection", "close");
	if (hr->method != HTTP_HEAD && len > 0) {
		if ((buf = evbuffer_new()) == NULL ||
		    evbuffer_add(buf, data, len) == -1)
			fatalx("%s: evbuffer", __func__);
	}
	evhttp_send_reply(hr->req, status, NULL, buf);
	if (buf != NULL)
		evbuffer_free(buf);
	http_count(hr, status);
	http_req_free(hr);
}

void
http_reply_json(struct http_req *hr, int status, const json_t *o)
{
	char	*s;
	size_t	 len;

	if ((s = jcs_serialize(o, 0, &len)) == NULL) {
		http_error(hr, 500, "cannot serialize the answer");
		return;
	}
	http_reply(hr, status, "application/json", s, len);
	free(s);
}

void
http_error(struct http_req *hr, int status, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[256];
	char	*s;
	size_t	 len;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s = http_error_json(status, msg, &len);
	http_reply(hr, status, "application/json", s, len);
	free(s);
}

static void
http_req_free(struct http_req *hr)
{
	http_unwait(hr);
	TAILQ_REMOVE(&hr->srv->reqs, hr, entry);
	json_decref(hr->body);
	free(hr);
}

/*
 * Parks hr on q until someone answers it; after ms milliseconds
 * on_timeout(hr) runs (it must answer hr).  arg is the caller's.
 */
void
http_wait(struct http_req *hr, struct http_waitq *q, int ms,
    void (*on_timeout)(struct http_req *), void *arg)
{
	struct timeval	 tv;

	http_unwait(hr);
	hr->waitq = q;
	hr->on_timeout = on_timeout;
	hr->arg = arg;
	TAILQ_INSERT_TAIL(q, hr, wentry);
	evtimer_assign(&hr->ev_wait, hr->srv->base, http_wait_expired, hr);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(&hr->ev_wait, &tv);
}

void
http_unwait(struct http_req *hr)
{
	if (hr->waitq == NULL)
		return;
	TAILQ_REMOVE(hr->waitq, hr, wentry);
	hr->waitq = NULL;
	evtimer_del(&hr->ev_wait);
}

static void
http_wait_expired(int fd, short event, void *arg)
{
	struct http_req	*hr = arg;

	http_unwait(hr);
	hr->on_timeout(hr);
}
