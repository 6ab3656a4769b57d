/*
 * HTTP request plumbing for the frontend: evhttp servers on the passed
 * listening sockets, TLS from PEM bytes, the route table, request
 * hygiene, JSON errors and waiting requests.  See http.h.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/tree.h>

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
#include <event2/listener.h>
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
static struct bufferevent *http_conn_bev(struct event_base *, void *);
static void	 http_req_free(struct http_req *);
static void	 http_wait_expired(int, short, void *);
static void	 http_conn_detach(struct http_server *);
static void	 http_listeners_update(struct http_server *);
static void	 http_backoff_end(int, short, void *);
static void	 http_cap_restore(int, short, void *);
static void	 http_conn_gone(struct evhttp_connection *, void *);
static void	 http_linger_end(struct http_linger *);

static int
http_conn_cmp(struct http_conn *a, struct http_conn *b)
{
	uintptr_t	 x = (uintptr_t)a->bev, y = (uintptr_t)b->bev;

	return (x < y ? -1 : x > y);
}
static TAILQ_HEAD(, http_server) http_servers =
    TAILQ_HEAD_INITIALIZER(http_servers);

RB_PROTOTYPE(http_conns, http_conn, node, http_conn_cmp)
RB_GENERATE(http_conns, http_conn, node, http_conn_cmp)

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
	for (r = http_routes; r->path != NULL; r++)
		if (strchr(r->path, '*') != NULL &&
		    http_path_match(r->path, path))
			return (r);
	return (NULL);
}

/* A route path with "*" segments against a request path. */
int
http_path_match(const char *pat, const char *path)
{
	while (*pat != '\0') {
		if (*pat == '*') {
			if (*path == '\0' || *path == '/')
				return (0);
			while (*path != '\0' && *path != '/')
				path++;
			pat++;
			continue;
		}
		if (*pat++ != *path++)
			return (0);
	}
	return (*path == '\0');
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
	if (methods & HTTP_DELETE) {
		if (buf[0] != '\0')
			strlcat(buf, ", ", len);
		strlcat(buf, "DELETE", len);
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
	TAILQ_INIT(&srv->conns);
	TAILQ_INIT(&srv->lingers);
	RB_INIT(&srv->conntree);
	evtimer_assign(&srv->ev_backoff, base, http_backoff_end, srv);
	evtimer_assign(&srv->ev_restore, base, http_cap_restore, srv);
	if ((srv->raw = evbuffer_new()) == NULL)
		fatalx("%s: evbuffer_new", __func__);
	http_server_set_conns(srv, HTTP_MAX_CONNS, HTTP_REQ_TIMEOUT_MS);
	TAILQ_INSERT_TAIL(&http_servers, srv, sentry);
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
	http_conn_detach(srv);
	while (!TAILQ_EMPTY(&srv->lingers))
		http_linger_end(TAILQ_FIRST(&srv->lingers));
	evtimer_del(&srv->ev_backoff);
	evtimer_del(&srv->ev_restore);
	evbuffer_free(srv->raw);
	TAILQ_REMOVE(&http_servers, srv, sentry);
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
 * The connection cap in force for a configured one and the descriptor
 * limit (-1: none): HTTP_FD_RESERVE descriptors stay for the imsg
 * channels, syslog and the connections being pushed out.
 */
int
http_conns_cap(int conf, long long nofile)
{
	long long	 room;

	if (nofile < 0)
		return (conf);
	room = nofile > 2 * HTTP_FD_RESERVE ? nofile - HTTP_FD_RESERVE :
	    nofile / 2;
	if (room < 1)
		room = 1;
	return (conf < room ? conf : (int)room);
}

/* The HTTP layer's counters, for /metrics. */
void
http_server_stats(const struct http_server *srv, struct fe_stats *st)
{
	if (srv == NULL)
		return;
	st->http_conns = (uint64_t)srv->nconns;
	st->http_evicted = srv->nevicted;
	st->http_deadline = srv->ndeadline;
	st->http_refused = srv->nrefused;
	st->http_accept_err = srv->naccept_err;
}

/* `max connections' and `request timeout'; 0 is the default */
void
http_server_set_conns(struct http_server *srv, int max_conns,
    int timeout_ms)
{
	struct rlimit	 rl;
	long long	 nofile = -1;
	int		 cap;

	if (max_conns <= 0)
		max_conns = HTTP_MAX_CONNS;
	if (timeout_ms <= 0)
		timeout_ms = HTTP_REQ_TIMEOUT_MS;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		nofile = (long long)rl.rlim_cur;
	cap = http_conns_cap(max_conns, nofile);
	if (cap != max_conns && (cap != srv->max_conns ||
	    max_conns != srv->conf_conns))
		log_warnx("max connections %d: the descriptor limit (%lld) "
		    "allows %d", max_conns, nofile, cap);
	srv->conf_conns = max_conns;
	srv->max_conns = cap;
	srv->req_timeout_ms = timeout_ms;
	srv->full = srv->nconns >= srv->max_conns;
	http_listeners_update(srv);
}

/*
 * Connections.
 */

/*
 * Bytes for evhttp: appended to the input buffer it reads.  A socket
 * bufferevent keeps the end of its input frozen outside its own reads.
 */
static void
http_conn_emit(void *arg, const char *p, size_t len)
{
	struct http_conn	*c = arg;
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	int			 inside = c->inside;
	int			 thaw = !inside && c->l->ssl == NULL;

	c->inside = 1;		/* the guard must not see its own output */
	if (thaw)
		evbuffer_unfreeze(in, 0);
	if (evbuffer_add(in, p, len) == -1)
		fatalx("%s: evbuffer_add", __func__);
	if (thaw)
		evbuffer_freeze(in, 0);
	c->inside = inside;
}

static void
http_conn_arm(struct http_conn *c, int ms)
{
	struct timeval	 tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(&c->ev_deadline, &tv);
}

/*
 * Closes c through evhttp, as its own idle timeout would.  evhttp frees
 * the connection at once, and c with it (http_conn_gone()).
 */
static void
http_conn_close(struct http_conn *c)
{
	int	 ready = c->ready;

	c->closing = 1;
	evtimer_del(&c->ev_deadline);
	bufferevent_trigger_event(c->bev, BEV_EVENT_READING |
	    BEV_EVENT_TIMEOUT, 0);
	/* before http_conn_init() there was no close callback to call */
	if (!ready)
		http_conn_gone(NULL, c);
}

/*
 * The request deadline.  A header block still being collected is
 * answered 408 (evhttp gets the stand-in); a body evhttp is already
 * reading cannot be, so the connection is closed; so is one where the
 * 408 could not be sent within another deadline.
 */
static void
http_conn_deadline(int fd, short event, void *arg)
{
	struct http_conn	*c = arg;
	struct http_stream	*st = &c->st;
	bufferevent_data_cb	 readcb;

	if (c->srv != NULL && !c->timedout)
		c->srv->ndeadline++;
	if (c->timedout || !st->inreq || st->state == HS_BODY ||
	    st->state == HS_CHUNK_DATA || st->state == HS_DEAD ||
	    c->srv == NULL) {
		log_debug("request deadline: closing a connection");
		http_conn_close(c);
		return;
	}
	c->timedout = 1;
	http_stream_refuse(st, 408, "request not received in time");
	http_conn_arm(c, c->srv->req_timeout_ms);
	/*
	 * evhttp reads the stand-in now if it is reading; otherwise (a
	 * request before this one is at a handler) when it starts again
	 */
	bufferevent_getcb(c->bev, &readcb, NULL, NULL, NULL);
	if (readcb != NULL && (bufferevent_get_enabled(c->bev) & EV_READ))
		bufferevent_trigger(c->bev, EV_READ,
		    BEV_TRIG_IGNORE_WATERMARKS);
}

/*
 * The guard, called as bytes arrive in the connection's input buffer
 * and before evhttp's read callback sees them: the new bytes are taken
 * out and replaced by what the stream machine passes.  Every request's
 * deadline starts with its first byte, the first request's with the
 * connect.
 */
static void
http_conn_input(struct evbuffer *in, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct http_conn	*c = arg;
	struct evbuffer		*raw;
	struct evbuffer_iovec	 v[8];
	size_t			 len, keep;
	uint32_t		 started = c->st.nstarted;
	int			 n, i;

	if (c->inside || info->n_added == 0 || c->srv == NULL)
		return;
	c->inside = 1;
	raw = c->srv->raw;
	len = evbuffer_get_length(in);
	keep = len > info->n_added ? len - info->n_added : 0;
	if (evbuffer_remove_buffer(in, raw, len) != (int)len ||
	    evbuffer_remove_buffer(raw, in, keep) != (int)keep)
		fatalx("%s: evbuffer_remove_buffer", __func__);
	while ((len = evbuffer_get_length(raw)) > 0) {
		n = evbuffer_peek(raw, len, NULL, v, 8);
		if (n > 8)
			n = 8;
		for (i = 0, len = 0; i < n; i++) {
			http_stream_feed(&c->st, v[i].iov_base, v[i].iov_len);
			len += v[i].iov_len;
		}
		evbuffer_drain(raw, len);
	}
	c->inside = 0;

	if (c->st.state == HS_DEAD) {
		/* the refusal gets one more deadline to be answered */
		if (!c->timedout) {
			c->timedout = 1;
			http_conn_arm(c, c->srv->req_timeout_ms);
		}
	} else if (c->st.inreq) {
		if (c->st.nstarted != started && c->st.nstarted > 1)
			http_conn_arm(c, c->srv->req_timeout_ms);
	} else if (c->st.nstarted > 0)
		evtimer_del(&c->ev_deadline);
}

/*
 * Lingering close.  A connection whose request was refused (and
 * answered) may still have bytes in flight from the client: closing on
 * them would reset the connection, and the client could lose the answer
 * before it reads it.  So the socket is kept on a dup and read out, for
 * HTTP_LINGER_MS or HTTP_LINGER_BYTES at most, until the client closes;
 * evhttp has already shut down the sending side.
 */
static void
http_linger_end(struct http_linger *lg)
{
	event_del(&lg->ev);
	close(lg->fd);
	TAILQ_REMOVE(&lg->srv->lingers, lg, entry);
	lg->srv->nlinger--;
	free(lg);
}

static void
http_linger_cb(int fd, short event, void *arg)
{
	struct http_linger	*lg = arg;
	struct timespec		 now;
	struct timeval		 tv;
	char			 buf[4096];
	ssize_t			 n = 0;
	long long		 ms;

	if (event & EV_READ) {
		while (lg->nread <= HTTP_LINGER_BYTES &&
		    (n = read(fd, buf, sizeof(buf))) > 0)
			lg->nread += n;
		if (n == -1 && (errno == EAGAIN || errno == EINTR) &&
		    lg->nread <= HTTP_LINGER_BYTES) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			ms = (lg->until.tv_sec - now.tv_sec) * 1000LL +
			    (lg->until.tv_nsec - now.tv_nsec) / 1000000;
			if (ms > 0) {
				tv.tv_sec = ms / 1000;
				tv.tv_usec = (ms % 1000) * 1000;
				event_add(&lg->ev, &tv);
				return;
			}
		}
	}
	http_linger_end(lg);
}

static void
http_linger_start(struct http_server *srv, int fd)
{
	struct http_linger	*lg;
	struct timeval		 tv = { HTTP_LINGER_MS / 1000,
				    (HTTP_LINGER_MS % 1000) * 1000 };
	int			 nfd;

	if (fd == -1 || srv->nlinger >= HTTP_LINGER_MAX)
		return;
	if ((nfd = dup(fd)) == -1) {
		log_warn("%s: dup", __func__);
		return;
	}
	if ((lg = calloc(1, sizeof(*lg))) == NULL)
		fatal("%s", __func__);
	lg->srv = srv;
	lg->fd = nfd;
	clock_gettime(CLOCK_MONOTONIC, &lg->until);
	lg->until.tv_sec += HTTP_LINGER_MS / 1000;
	lg->until.tv_nsec += (long)(HTTP_LINGER_MS % 1000) * 1000000;
	if (lg->until.tv_nsec >= 1000000000) {
		lg->until.tv_sec++;
		lg->until.tv_nsec -= 1000000000;
	}
	event_assign(&lg->ev, srv->base, nfd, EV_READ, http_linger_cb, lg);
	event_add(&lg->ev, &tv);
	TAILQ_INSERT_TAIL(&srv->lingers, lg, entry);
	srv->nlinger++;
}

/* evhttp frees the connection (its close callback). */
static void
http_conn_gone(struct evhttp_connection *evcon, void *arg)
{
	struct http_conn	*c = arg;
	struct http_server	*srv = c->srv;
	struct http_req		*hr;

	/* an answered refusal: read out the rest before the close */
	if (evcon != NULL && srv != NULL && c->st.state == HS_DEAD &&
	    !c->closing)
		http_linger_start(srv, bufferevent_getfd(c->bev));
	evtimer_del(&c->ev_deadline);
	evtimer_del(&c->ev_init);
	evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->cbent);
	http_stream_free(&c->st);
	if (srv != NULL) {
		TAILQ_FOREACH(hr, &srv->reqs, entry)
			if (hr->conn == c)
				hr->conn = NULL;
		TAILQ_REMOVE(&srv->conns, c, entry);
		RB_REMOVE(http_conns, &srv->conntree, c);
		srv->nconns--;
		if (srv->full && srv->nconns < srv->max_conns) {
			srv->full = 0;
			http_listeners_update(srv);
		}
	}
	free(c);
}

/*
 * Right after the accept, once evhttp has made the connection: its
 * close callback is how c learns that it is gone.
 */
static void
http_conn_init(int fd, short event, void *arg)
{
	struct http_conn	*c = arg;
	void			*evcon = NULL;

	bufferevent_getcb(c->bev, NULL, NULL, NULL, &evcon);
	if (evcon == NULL)
		fatalx("%s: connection without evhttp", __func__);
	evhttp_connection_set_closecb(evcon, http_conn_gone, c);
	c->ready = 1;
}

/*
 * The server goes after its listeners (evhttp_free() closed every
 * connection); anything left must not reach it.
 */
static void
http_conn_detach(struct http_server *srv)
{
	struct http_conn	*c;

	while ((c = TAILQ_FIRST(&srv->conns)) != NULL) {
		TAILQ_REMOVE(&srv->conns, c, entry);
		RB_REMOVE(http_conns, &srv->conntree, c);
		c->srv = NULL;
	}
	srv->nconns = 0;
}

/*
 * Pushes out the oldest connection with nothing at a handler and
 * nothing left to write.  Returns 0, or -1 if there is none.
 */
static int
http_conn_evict(struct http_server *srv)
{
	struct http_conn	*c;

	TAILQ_FOREACH(c, &srv->conns, entry) {
		if (c->busy > 0 ||
		    evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
			continue;
		srv->nevicted++;
		http_conn_close(c);	/* frees c */
		return (0);
	}
	return (-1);
}

static void
http_listeners_update(struct http_server *srv)
{
	struct http_listener	*l;

	TAILQ_FOREACH(l, &srv->listeners, entry) {
		if (l->lev == NULL)
			continue;
		if (srv->paused || srv->full)
			evconnlistener_disable(l->lev);
		else
			evconnlistener_enable(l->lev);
	}
}

static void
http_cap_restore(int fd, short event, void *arg)
{
	struct http_server	*srv = arg;

	http_server_set_conns(srv, srv->conf_conns, srv->req_timeout_ms);
	log_info("max connections %d again", srv->max_conns);
}

static void
http_backoff_end(int fd, short event, void *arg)
{
	struct http_server	*srv = arg;

	srv->paused = 0;
	http_listeners_update(srv);
}

/*
 * accept(2) failed with something other than a retriable error (EMFILE,
 * ENFILE, ENOBUFS, ENOMEM): stop accepting for a while, doubling the
 * pause while it keeps failing, and push out an idle connection so that
 * a descriptor comes free.  The message is the same every time so that
 * the log folds it.
 */
static void
http_accept_error(struct evconnlistener *lev, void *arg)
{
	struct http_server	*srv = NULL;
	struct http_listener	*l;
	struct timeval		 tv;
	int			 err = EVUTIL_SOCKET_ERROR();

	/* arg is evhttp's: find whose listener this is */
	TAILQ_FOREACH(srv, &http_servers, sentry) {
		TAILQ_FOREACH(l, &srv->listeners, entry)
			if (l->lev == lev)
				break;
		if (l != NULL)
			break;
	}
	if (srv == NULL)
		fatalx("%s: unknown listener", __func__);

	srv->naccept_err++;
	log_warnx("accept: %s; pausing new connections", strerror(err));
	if (srv->backoff_ms == 0)
		srv->backoff_ms = HTTP_BACKOFF_MIN_MS;
	else if ((srv->backoff_ms *= 2) > HTTP_BACKOFF_MAX_MS)
		srv->backoff_ms = HTTP_BACKOFF_MAX_MS;
	srv->paused = 1;
	http_listeners_update(srv);
	tv.tv_sec = srv->backoff_ms / 1000;
	tv.tv_usec = (srv->backoff_ms % 1000) * 1000;
	evtimer_add(&srv->ev_backoff, &tv);
	if (err != EMFILE && err != ENFILE)
		return;
	/*
	 * The descriptors ran out below the cap (the limit was lowered
	 * under us, or other processes hold the system's): the cap comes
	 * down to what fits, less some room, and connections over it go,
	 * so that from now on the cap, not accept(2), says no.
	 */
	if (srv->nconns - HTTP_EMFILE_ROOM < srv->max_conns) {
		srv->max_conns = srv->nconns > HTTP_EMFILE_ROOM + 1 ?
		    srv->nconns - HTTP_EMFILE_ROOM : 1;
		log_warnx("out of descriptors at %d connections; max "
		    "connections now %d", srv->nconns, srv->max_conns);
	}
	/* the cap in force is worked out afresh after a quiet while */
	tv.tv_sec = HTTP_EMFILE_RESTORE_S;
	tv.tv_usec = 0;
	evtimer_add(&srv->ev_restore, &tv);
	while (srv->nconns > srv->max_conns && http_conn_evict(srv) == 0)
		;
	(void)http_conn_evict(srv);
}

/* The connection behind a request evhttp hands us. */
static struct http_conn *
http_conn_of(struct http_server *srv, struct evhttp_request *req)
{
	struct evhttp_connection	*evcon;
	struct http_conn		 key;

	if ((evcon = evhttp_request_get_connection(req)) == NULL)
		return (NULL);
	key.bev = evhttp_connection_get_bufferevent(evcon);
	return (RB_FIND(http_conns, &srv->conntree, &key));
}

/*
 * Serve HTTP on a listening socket; with ssl (owned from now on) TLS.
 * Every frontend instance accepts on the same sockets.
 */
int
http_server_listen(struct http_server *srv, int fd,
    const struct cfg_listen *cl, SSL_CTX *ssl)
{
	struct http_listener		*l;
	struct evhttp_bound_socket	*bound;
	int				 flags;

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
	/* the guard decides first (HG_HEAD_MAX) */
	evhttp_set_max_headers_size(l->http, HTTP_HEADERS_MAX + 1024);
	evhttp_set_max_body_size(l->http,
	    (ev_ssize_t)http_body_cap(srv->body_limit));
	evhttp_set_timeout(l->http, HTTP_TIMEOUT);
	evhttp_set_bevcb(l->http, http_conn_bev, l);
	if ((bound = evhttp_accept_socket_with_handle(l->http, fd)) == NULL) {
		log_warnx("%s: cannot accept on %s:%u", __func__, cl->addr,
		    cl->port);
		evhttp_free(l->http);
		free(l);
		return (-1);
	}
	l->lev = evhttp_bound_socket_get_listener(bound);
	evconnlistener_set_error_cb(l->lev, http_accept_error);
	TAILQ_INSERT_TAIL(&srv->listeners, l, entry);
	http_listeners_update(srv);
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
 * evhttp asks for each new connection's bufferevent: the guard's filter
 * over a socket bufferevent, or over a TLS one on a TLS listener (never
 * NULL: evhttp would fall back to a plain socket and speak cleartext on
 * a TLS port).  At the cap the oldest idle connection makes room; when
 * none can, accepting stops until one closes.
 */
static struct bufferevent *
http_conn_bev(struct event_base *base, void *arg)
{
	struct http_listener	*l = arg;
	struct http_server	*srv = l->srv;
	struct http_conn	*c;
	struct bufferevent	*under;
	SSL			*ssl;

	if (l->ssl != NULL) {
		if ((ssl = SSL_new(l->ssl)) == NULL)
			fatalx("%s: SSL_new", __func__);
		if ((under = bufferevent_openssl_socket_new(base, -1, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE)) ==
		    NULL)
			fatalx("%s: bufferevent_openssl_socket_new",
			    __func__);
		bufferevent_openssl_set_allow_dirty_shutdown(under, 1);
	} else if ((under = bufferevent_socket_new(base, -1,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		fatalx("%s: bufferevent_socket_new", __func__);

	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal("%s", __func__);
	c->srv = srv;
	c->l = l;
	c->bev = under;
	http_stream_init(&c->st, srv->body_limit, http_conn_emit, c);
	if ((c->cbent = evbuffer_add_cb(bufferevent_get_input(under),
	    http_conn_input, c)) == NULL)
		fatalx("%s: evbuffer_add_cb", __func__);
	evtimer_assign(&c->ev_deadline, base, http_conn_deadline, c);
	http_conn_arm(c, srv->req_timeout_ms);
	evtimer_assign(&c->ev_init, base, http_conn_init, c);
	event_active(&c->ev_init, EV_TIMEOUT, 1);

	if (!srv->paused)
		srv->backoff_ms = 0;
	/* this one is served; with none to push out, no more after it */
	if (srv->nconns >= srv->max_conns && http_conn_evict(srv) == -1 &&
	    !srv->full) {
		srv->full = 1;
		http_listeners_update(srv);
	}
	TAILQ_INSERT_TAIL(&srv->conns, c, entry);
	RB_INSERT(http_conns, &srv->conntree, c);
	srv->nconns++;
	return (c->bev);
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
	case EVHTTP_REQ_DELETE:
		return (HTTP_DELETE);
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
	if ((hr->conn = http_conn_of(srv, req)) != NULL) {
		hr->conn->busy++;
		hr->conn->ndisp++;
	}
	in = evhttp_request_get_input_headers(req);
	http_corrid(evhttp_find_header(in, "X-Correlation-ID"), hr->corrid);

	/* what the guard refused: its stand-in or the truncated body */
	if (hr->conn != NULL && hr->conn->st.state == HS_DEAD &&
	    hr->conn->ndisp - 1 == hr->conn->st.reject_at) {
		hr->close = 1;
		if (hr->conn->st.status != 408)
			srv->nrefused++;
		http_error(hr, hr->conn->st.status, "%s", hr->conn->st.msg);
		return;
	}

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
	/* every 503 says when to come back */
	if (status == 503 && evhttp_find_header(
	    evhttp_request_get_output_headers(hr->req), "Retry-After") == NULL)
		http_header(hr, "Retry-After", HTTP_RETRY_AFTER);
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
	if (hr->conn != NULL)
		hr->conn->busy--;
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
