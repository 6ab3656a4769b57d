/*
 * The peer engine's outbound HTTP(S) client: see http_client.h.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "encoding.h"
#include "http_client.h"
#include "jcs.h"
#include "log.h"

struct hc_req {
	struct evhttp_connection *evcon;
	struct event		 deadline;
	struct event		 later;		/* deferred callback or free */
	hc_cb			 cb;
	void			*arg;
	int64_t			 start;
	int			 timeout_ms;
	int			 tls;
	int			 failed;	/* evhttp error callback ran */
	int			 reqerr;	/* enum evhttp_request_error */
	int			 sockerr;	/* errno when it ran */
	int			 done;		/* callback delivered */
	char			 early[160];	/* failed before sending */
	char			 host[256];
	/* the request, kept while the host name is resolved */
	struct peer_url		 url;
	enum evhttp_cmd_type	 type;
	char			 uri[RELAY_URL_MAX + 128];
	char			*body;
	size_t			 len;
	struct evdns_getaddrinfo_request *dnsreq;
	int			 resolving;
	int			 abandoned;	/* freed when resolution ends */
};

static struct event_base	*hc_base;
static struct evdns_base	*hc_dns;
static SSL_CTX			*hc_ssl;
static int			 hc_ncerts;
static char			 hc_cafile[256];
static char			 hc_desc[384];
static struct cfg_endpoint	 hc_ep = { EP_SCHEME_HTTP | EP_SCHEME_HTTPS,
				    0, 0, { { 0, 0 } } };

static void	 hc_done(struct evhttp_request *, void *);
static void	 hc_error(enum evhttp_request_error, void *);
static void	 hc_timeout(int, short, void *);
static void	 hc_free_later(int, short, void *);
static void	 hc_fail_later(int, short, void *);
static void	 hc_resolved(int, struct evutil_addrinfo *, void *);
static struct hc_req *hc_connect(struct hc_req *, const char *);

void
hc_policy(const struct cfg_endpoint *ep)
{
	hc_ep = *ep;
}

int
hc_init(struct event_base *base)
{
	const char	*file;
	STACK_OF(X509_OBJECT) *objs;
	int		 i;

	hc_base = base;

	/*
	 * The resolver: /etc/resolv.conf and /etc/hosts are read now; the
	 * sandbox allows the UDP sockets evdns opens later.
	 */
	hc_dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
	    EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (hc_dns == NULL) {
		log_warnx("outbound: cannot read /etc/resolv.conf; peer "
		    "endpoints must be numeric addresses or in /etc/hosts");
		hc_dns = evdns_base_new(base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
		if (hc_dns != NULL)
			evdns_base_load_hosts(hc_dns, "/etc/hosts");
	}

	/*
	 * TLS: the CA bundle is read into the store now, because nothing
	 * can be opened once the sandbox is in place (so no CA directory
	 * with lazy lookups either).
	 */
	if ((hc_ssl = SSL_CTX_new(TLS_client_method())) == NULL)
		fatalx("%s: SSL_CTX_new", __func__);
	if (SSL_CTX_set_min_proto_version(hc_ssl, TLS1_2_VERSION) != 1)
		fatalx("%s: SSL_CTX_set_min_proto_version", __func__);
	SSL_CTX_set_verify(hc_ssl, SSL_VERIFY_PEER, NULL);
	if ((file = getenv(X509_get_default_cert_file_env())) == NULL ||
	    *file == '\0')
		file = X509_get_default_cert_file();
	strlcpy(hc_cafile, file, sizeof(hc_cafile));
	if (SSL_CTX_load_verify_locations(hc_ssl, file, NULL) != 1) {
		ERR_clear_error();
		log_warnx("outbound: cannot load the CA bundle %s; https "
		    "peers cannot be verified", file);
		hc_ncerts = 0;
	} else {
		objs = X509_STORE_get0_objects(SSL_CTX_get_cert_store(hc_ssl));
		for (i = 0; i < sk_X509_OBJECT_num(objs); i++)
			if (X509_OBJECT_get_type(sk_X509_OBJECT_value(objs,
			    i)) == X509_LU_X509)
				hc_ncerts++;
	}
	snprintf(hc_desc, sizeof(hc_desc), "CA bundle %s (%d certificates)",
	    hc_cafile, hc_ncerts);
	log_debug("outbound: %s", hc_desc);
	return (0);
}

void
hc_shutdown(void)
{
	if (hc_dns != NULL) {
		evdns_base_free(hc_dns, 0);
		hc_dns = NULL;
	}
	if (hc_ssl != NULL) {
		SSL_CTX_free(hc_ssl);
		hc_ssl = NULL;
	}
}

const char *
hc_describe(void)
{
	return (hc_desc);
}

static int
is_ip_literal(const char *host)
{
	struct in6_addr	 a6;
	struct in_addr	 a4;

	return (inet_pton(AF_INET, host, &a4) == 1 ||
	    inet_pton(AF_INET6, host, &a6) == 1);
}

/* Delivers a failure from the event loop: the caller never re-enters. */
static struct hc_req *
hc_fail(struct hc_req *hr, const char *msg)
{
	struct timeval	 tv = { 0, 0 };

	strlcpy(hr->early, msg, sizeof(hr->early));
	if (hr->evcon != NULL) {
		evhttp_connection_free(hr->evcon);
		hr->evcon = NULL;
	}
	evtimer_assign(&hr->later, hc_base, hc_fail_later, hr);
	evtimer_add(&hr->later, &tv);
	return (hr);
}

static void
hc_fail_later(int fd, short ev, void *arg)
{
	struct hc_req	*hr = arg;
	struct hc_reply	 r;

	memset(&r, 0, sizeof(r));
	strlcpy(r.error, hr->early, sizeof(r.error));
	r.rtt_ms = now_ms() - hr->start;
	evtimer_del(&hr->deadline);
	hr->done = 1;
	hr->cb(&r, hr->arg);
	free(hr->body);
	free(hr);
}

/*
 * The endpoint policy first: scheme, port and an address literal now,
 * a host name's address once it is resolved (the connection then goes
 * to that very address, so what was checked is what is contacted).
 * Redirects are never followed: a 3xx answer is handed back as it is.
 */
static struct hc_req *
hc_request(enum evhttp_cmd_type type, const struct peer_url *u,
    const char *path, const char *body, size_t len, int timeout_ms,
    hc_cb cb, void *arg)
{
	struct hc_req			*hr;
	struct evdns_getaddrinfo_request *dr;
	struct evutil_addrinfo		 hints;
	struct timeval			 tv;
	char				 err[160];

	if ((hr = calloc(1, sizeof(*hr))) == NULL)
		fatal("%s", __func__);
	hr->cb = cb;
	hr->arg = arg;
	hr->start = now_ms();
	hr->timeout_ms = timeout_ms;
	hr->tls = u->tls;
	hr->url = *u;
	hr->type = type;
	strlcpy(hr->host, u->host, sizeof(hr->host));
	snprintf(hr->uri, sizeof(hr->uri), "%s%s", u->path, path);
	evtimer_assign(&hr->deadline, hc_base, hc_timeout, hr);
	if (body != NULL) {
		if ((hr->body = malloc(len > 0 ? len : 1)) == NULL)
			fatal("%s", __func__);
		memcpy(hr->body, body, len);
		hr->len = len;
	}
	if (ep_check_url(&hc_ep, u, err, sizeof(err)) == -1)
		return (hc_fail(hr, err));
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(&hr->deadline, &tv);
	if (is_ip_literal(u->host))
		return (hc_connect(hr, u->host));
	if (hc_dns == NULL)
		return (hc_fail(hr, "no resolver: peer endpoints must be "
		    "addresses"));
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hr->resolving = 1;
	/* may call back at once (/etc/hosts): hc_resolved never calls cb */
	dr = evdns_getaddrinfo(hc_dns, u->host, NULL, &hints, hc_resolved, hr);
	if (hr->resolving)
		hr->dnsreq = dr;
	return (hr);
}

static void
hc_resolved(int result, struct evutil_addrinfo *res, void *arg)
{
	struct hc_req		*hr = arg;
	struct evutil_addrinfo	*ai;
	char			 addr[INET6_ADDRSTRLEN], err[160];
	const void		*a;

	hr->resolving = 0;
	hr->dnsreq = NULL;
	if (hr->abandoned) {
		if (res != NULL)
			evutil_freeaddrinfo(res);
		free(hr->body);
		free(hr);
		return;
	}
	if (result != 0 || res == NULL) {
		snprintf(err, sizeof(err), "cannot resolve %.64s: %.60s",
		    hr->host, evutil_gai_strerror(result));
		if (res != NULL)
			evutil_freeaddrinfo(res);
		hc_fail(hr, err);
		return;
	}
	/* the first address is the one contacted */
	for (ai = res; ai != NULL; ai = ai->ai_next)
		if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6)
			break;
	if (ai == NULL) {
		evutil_freeaddrinfo(res);
		hc_fail(hr, "the host name has no IP address");
		return;
	}
	if (ep_check_addr(&hc_ep, ai->ai_addr, err, sizeof(err)) == -1) {
		evutil_freeaddrinfo(res);
		hc_fail(hr, err);
		return;
	}
	if (ai->ai_family == AF_INET)
		a = &((struct sockaddr_in *)ai->ai_addr)->sin_addr;
	else
		a = &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
	inet_ntop(ai->ai_family, a, addr, sizeof(addr));
	evutil_freeaddrinfo(res);
	hc_connect(hr, addr);
}

/* The connection to addr (numeric), TLS for the URL's host name. */
static struct hc_req *
hc_connect(struct hc_req *hr, const char *addr)
{
	const struct peer_url	*u = &hr->url;
	struct evhttp_request	*req;
	struct evkeyvalq	*h;
	struct bufferevent	*bev = NULL;
	struct timeval		 tv;
	SSL			*ssl;
	X509_VERIFY_PARAM	*vp;
	char			 corr[UUID_STR_LEN + 1];
	int			 timeout_ms;

	if (u->tls) {
		if (hc_ncerts == 0)
			return (hc_fail(hr, "https: no CA bundle was loaded "
			    "at start-up"));
		if ((ssl = SSL_new(hc_ssl)) == NULL)
			return (hc_fail(hr, "https: SSL_new failed"));
		vp = SSL_get0_param(ssl);
		if (is_ip_literal(u->host)) {
			if (X509_VERIFY_PARAM_set1_ip_asc(vp, u->host) != 1) {
				SSL_free(ssl);
				return (hc_fail(hr, "https: bad address"));
			}
		} else if (SSL_set_tlsext_host_name(ssl, u->host) != 1 ||
		    SSL_set1_host(ssl, u->host) != 1) {
			SSL_free(ssl);
			return (hc_fail(hr, "https: bad host name"));
		}
		bev = bufferevent_openssl_socket_new(hc_base, -1, ssl,
		    BUFFEREVENT_SSL_CONNECTING,
		    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
		if (bev == NULL) {
			SSL_free(ssl);
			return (hc_fail(hr, "https: cannot set up TLS"));
		}
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	}
	/* no resolver here: addr is numeric */
	hr->evcon = evhttp_connection_base_bufferevent_new(hc_base, NULL,
	    bev, addr, u->port);
	if (hr->evcon == NULL) {
		if (bev != NULL)
			bufferevent_free(bev);
		return (hc_fail(hr, "cannot create a connection"));
	}
	/* what is left of the deadline */
	timeout_ms = hr->timeout_ms - (int)(now_ms() - hr->start);
	if (timeout_ms < 1)
		timeout_ms = 1;
	evhttp_connection_set_retries(hr->evcon, 0);
	evhttp_connection_set_max_body_size(hr->evcon, HC_BODY_MAX);
	evhttp_connection_set_max_headers_size(hr->evcon, HC_HEADERS_MAX);
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evhttp_connection_set_timeout_tv(hr->evcon, &tv);

	if ((req = evhttp_request_new(hc_done, hr)) == NULL)
		return (hc_fail(hr, "cannot create a request"));
	evhttp_request_set_error_cb(req, hc_error);
	h = evhttp_request_get_output_headers(req);
	uuid_v4(corr);
	evhttp_add_header(h, "Host", u->hosthdr);
	evhttp_add_header(h, "User-Agent", "relayd/" PACKAGE_VERSION);
	evhttp_add_header(h, "Accept", "application/json");
	evhttp_add_header(h, "Connection", "close");
	evhttp_add_header(h, "X-Correlation-ID", corr);
	if (hr->body != NULL) {
		evhttp_add_header(h, "Content-Type", "application/json");
		evbuffer_add(evhttp_request_get_output_buffer(req), hr->body,
		    hr->len);
	}
	if (evhttp_make_request(hr->evcon, req, hr->type, hr->uri) == -1)
		return (hc_fail(hr, "cannot send the request"));
	return (hr);
}

struct hc_req *
hc_get(const struct peer_url *u, const char *path, int timeout_ms, hc_cb cb,
    void *arg)
{
	return (hc_request(EVHTTP_REQ_GET, u, path, NULL, 0, timeout_ms, cb,
	    arg));
}

struct hc_req *
hc_post(const struct peer_url *u, const char *path, const char *body,
    size_t len, int timeout_ms, hc_cb cb, void *arg)
{
	return (hc_request(EVHTTP_REQ_POST, u, path, body, len, timeout_ms,
	    cb, arg));
}

void
hc_cancel(struct hc_req *hr)
{
	if (hr == NULL || hr->done)
		return;
	evtimer_del(&hr->deadline);
	if (evtimer_initialized(&hr->later))
		evtimer_del(&hr->later);
	if (hr->resolving) {
		/* hc_resolved frees it */
		hr->abandoned = 1;
		hr->done = 1;
		return;
	}
	if (hr->evcon != NULL)
		evhttp_connection_free(hr->evcon);
	free(hr->body);
	free(hr);
}

static void
hc_error(enum evhttp_request_error err, void *arg)
{
	struct hc_req	*hr = arg;

	hr->failed = 1;
	hr->reqerr = err;
	hr->sockerr = EVUTIL_SOCKET_ERROR();
}

/* Why a request got no answer, in words. */
static void
hc_why(struct hc_req *hr, char *buf, size_t len)
{
	struct bufferevent	*bev;
	SSL			*ssl;
	unsigned long		 e;
	long			 v;
	int			 dnserr;
	char			 tls[120];

	bev = evhttp_connection_get_bufferevent(hr->evcon);
	if (bev != NULL && (dnserr = bufferevent_socket_get_dns_error(bev))
	    != 0) {
		snprintf(buf, len, "cannot resolve %.64s: %.60s", hr->host,
		    evutil_gai_strerror(dnserr));
		return;
	}
	if (hr->tls && bev != NULL) {
		if ((ssl = bufferevent_openssl_get_ssl(bev)) != NULL &&
		    (v = SSL_get_verify_result(ssl)) != X509_V_OK) {
			snprintf(buf, len, "TLS: certificate verify failed: "
			    "%s", X509_verify_cert_error_string(v));
			return;
		}
		/*
		 * libevent queues OpenSSL error codes, or the SSL_ERROR_*
		 * value when OpenSSL had none to give.
		 */
		if ((e = bufferevent_get_openssl_error(bev)) != 0) {
			if (ERR_GET_LIB(e) != 0)
				ERR_error_string_n(e, tls, sizeof(tls));
			else
				snprintf(tls, sizeof(tls), "handshake failed "
				    "(%s)", e == SSL_ERROR_SYSCALL ?
				    "connection closed" : "protocol error");
			snprintf(buf, len, "TLS: %s", tls);
			return;
		}
	}
	if (!hr->failed) {
		/*
		 * A refused connection: libevent 2.1 calls back without
		 * the error callback, and errno may have moved on.
		 */
		switch (hr->sockerr) {
		case ECONNREFUSED:
		case ECONNRESET:
		case EHOSTUNREACH:
		case ENETUNREACH:
		case ETIMEDOUT:
		case EADDRNOTAVAIL:
		case EACCES:
			snprintf(buf, len, "cannot connect: %s",
			    strerror(hr->sockerr));
			break;
		default:
			snprintf(buf, len, "cannot connect");
			break;
		}
		return;
	}
	switch (hr->reqerr) {
	case EVREQ_HTTP_TIMEOUT:
		snprintf(buf, len, "timed out");
		break;
	case EVREQ_HTTP_EOF:
		snprintf(buf, len, "connection closed without an answer");
		break;
	case EVREQ_HTTP_INVALID_HEADER:
		snprintf(buf, len, "malformed HTTP answer");
		break;
	case EVREQ_HTTP_DATA_TOO_LONG:
		snprintf(buf, len, "answer larger than %d bytes",
		    HC_BODY_MAX);
		break;
	case EVREQ_HTTP_BUFFER_ERROR:
	default:
		if (hr->sockerr != 0)
			snprintf(buf, len, "cannot connect: %s",
			    evutil_socket_error_to_string(hr->sockerr));
		else
			snprintf(buf, len, "connection failed");
		break;
	}
}

static void
hc_done(struct evhttp_request *req, void *arg)
{
	struct hc_req	*hr = arg;
	struct hc_reply	 r;
	struct evbuffer	*in;
	struct timeval	 tv = { 0, 0 };
	const json_t	*e;
	const char	*line;
	char		 err[128], *buf;
	size_t		 len;

	if (hr->done)
		return;
	if (!hr->failed)
		hr->sockerr = errno;
	hr->done = 1;
	evtimer_del(&hr->deadline);
	memset(&r, 0, sizeof(r));
	r.rtt_ms = now_ms() - hr->start;
	if (req == NULL || evhttp_request_get_response_code(req) == 0) {
		hc_why(hr, r.error, sizeof(r.error));
	} else {
		r.status = evhttp_request_get_response_code(req);
		in = evhttp_request_get_input_buffer(req);
		len = evbuffer_get_length(in);
		if (len > 0 && len <= HC_BODY_MAX) {
			if ((buf = malloc(len)) == NULL)
				fatal("%s", __func__);
			evbuffer_copyout(in, buf, len);
			r.body = jcs_parse(buf, len, err, sizeof(err));
			if (r.body == NULL)
				snprintf(r.error, sizeof(r.error), "answer is "
				    "not valid JSON: %s", err);
			free(buf);
		}
		if (r.status >= 400 && r.body != NULL &&
		    (e = json_object_get(r.body, "error")) != NULL &&
		    json_is_string(e))
			snprintf(r.error, sizeof(r.error), "%s",
			    json_string_value(e));
		else if (r.status >= 400 && r.error[0] == '\0') {
			line = evhttp_request_get_response_code_line(req);
			snprintf(r.error, sizeof(r.error), "%s",
			    line != NULL ? line : "error");
		}
	}
	hr->cb(&r, hr->arg);
	if (r.body != NULL)
		json_decref(r.body);
	/* libevent still uses the connection after this callback */
	evtimer_assign(&hr->later, hc_base, hc_free_later, hr);
	evtimer_add(&hr->later, &tv);
}

static void
hc_free_later(int fd, short ev, void *arg)
{
	struct hc_req	*hr = arg;

	if (hr->evcon != NULL)
		evhttp_connection_free(hr->evcon);
	free(hr->body);
	free(hr);
}

static void
hc_timeout(int fd, short ev, void *arg)
{
	struct hc_req	*hr = arg;
	struct hc_reply	 r;

	if (hr->done)
		return;
	hr->done = 1;
	memset(&r, 0, sizeof(r));
	r.rtt_ms = now_ms() - hr->start;
	snprintf(r.error, sizeof(r.error), "timed out after %d ms",
	    hr->timeout_ms);
	/* frees the request without calling back */
	if (hr->evcon != NULL) {
		evhttp_connection_free(hr->evcon);
		hr->evcon = NULL;
	}
	hr->cb(&r, hr->arg);
	if (hr->resolving) {
		/* hc_resolved frees it */
		hr->abandoned = 1;
		return;
	}
	free(hr->body);
	free(hr);
}
