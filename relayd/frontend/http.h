/*
 * HTTP request plumbing for the frontend, on libevent 2.1's evhttp: one
 * server with an evhttp per listening socket the parent passed (plain or
 * TLS from PEM bytes), the route table, request hygiene (sizes, methods,
 * bodies, correlation ids), JSON error bodies and requests that wait for
 * answers from other processes.
 *
 * Every answer the frontend produces goes through http_reply(): it sets
 * Content-Type, Content-Length and X-Correlation-ID, counts the answer in
 * the statistics (route x status bucket) and frees the request.  Errors
 * are {"error":"...","status":N} (http_error()).
 *
 * Order of checks for every request (http.c, http_dispatch()):
 *	0. refused by the framing guard (below)		its status,
 *							Connection: close
 *	1. URI longer than HTTP_URI_MAX			414
 *	2. body over the configured limit		413
 *	3. body on a method that has none		400, Connection: close
 *	4. a body that is not strict JSON (jcs_parse)	400, the parser's
 *							message
 *	5. no route for the path			404
 *	6. route without this method			405 with Allow
 *	7. identity not yet known (except RF_ANYTIME)	503
 *	8. the route's handler
 *
 * Before any of that, every connection's bytes pass the framing guard
 * (http_guard.h): libevent 2.1 has no hook between the header block and
 * the body of a request it serves (evhttp_request_set_header_cb() works
 * on outgoing requests only; evhttp_set_newreqcb() arrived in 2.2), so
 * an evbuffer callback on the input buffer of each connection's socket
 * (or TLS) bufferevent, which runs before evhttp's read callback, holds a
 * header block until it is complete and checked.  (A filter bufferevent
 * would do too, but evhttp frees it, and the socket under it, as soon as
 * the last answer has moved into the filter's output: the answer would
 * be lost on Connection: close.)  A request
 * the guard refuses (smuggling-prone framing, bad chunk sizes, a body
 * over the limit, a header block too large, the request deadline) is
 * answered with its JSON error and Connection: close; evhttp never sees
 * its bytes.  What is left to evhttp's own HTML answers is what the
 * guard lets through and evhttp still dislikes, and a body over the hard
 * cap http_body_cap() that the guard could not see coming (none today).
 *
 * Connections (http.c): at most max_conns per frontend process (`max
 * connections', clamped to RLIMIT_NOFILE less HTTP_FD_RESERVE); at the
 * cap a new connection pushes out the oldest one that has no request at
 * a handler, so an idle flood cannot lock out /health.  Accept errors
 * (EMFILE, ENFILE, ...) pause accepting with a backoff instead of
 * spinning.  Each request must arrive whole (header block and body)
 * within req_timeout_ms of its first byte, the first one within that
 * time of the connect (`request timeout'); a header block that misses
 * it gets a 408, a body that misses it a closed connection.
 *
 * Every 503 carries Retry-After (http_reply()).
 */
#ifndef RELAYD_HTTP_H
#define RELAYD_HTTP_H

#include <sys/queue.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/tree.h>

#include <time.h>

#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/listener.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "http_guard.h"
#include "relayd_imsg.h"

#define HTTP_CORRID_MAX		64	/* X-Correlation-ID we echo */
#define HTTP_HEADERS_MAX	(16 * 1024)	/* request line + headers */
#define HTTP_URI_MAX		4096
#define HTTP_TIMEOUT		30	/* seconds without progress */
#define HTTP_BODY_LIMIT		(1024 * 1024)	/* default `body limit' */
#define HTTP_BODY_GRACE		(64 * 1024)	/* see http_body_cap() */
#define HTTP_LISTEN_MAX		16	/* listening sockets */
#define HTTP_MAX_CONNS		1024	/* default `max connections' */
#define HTTP_FD_RESERVE		64	/* descriptors kept from the cap */
#define HTTP_REQ_TIMEOUT_MS	15000	/* default `request timeout' */
#define HTTP_RETRY_AFTER	"5"	/* seconds, on a 503 without one */
#define HTTP_BACKOFF_MIN_MS	50	/* accept error pause, doubling */
#define HTTP_BACKOFF_MAX_MS	1000
#define HTTP_EMFILE_ROOM	8	/* the cap below where EMFILE came */
#define HTTP_EMFILE_RESTORE_S	60	/* for this long after the last */
#define HTTP_LINGER_MAX		32	/* refused sockets read out at once */
#define HTTP_LINGER_MS		2000	/* for at most this long */
#define HTTP_LINGER_BYTES	(256 * 1024)	/* or this much */

/* Methods a route answers; a GET route answers HEAD too. */
#define HTTP_GET	0x01
#define HTTP_POST	0x02
#define HTTP_HEAD	0x04
#define HTTP_OTHER	0x08	/* any other method evhttp knows */
#define HTTP_DELETE	0x10

/* Route flags */
#define RF_ANYTIME	0x01	/* served before the identity is known */

struct http_req;

/*
 * The route table: one line per route, R(id, methods, flags, path,
 * handler).  http.c expands it into the dispatch table, metrics.c into
 * the metrics labels (the path).  Routes of later issues go here; ids
 * stay below FE_ROUTE_MAX.  Paths match exactly, query strings aside,
 * but for a "*" segment, which matches one non-empty segment.
 */
#define HTTP_ROUTES(R)							\
	R(ROUTE_HEALTH, HTTP_GET, RF_ANYTIME, "/health", fe_health)	\
	R(ROUTE_METRICS, HTTP_GET, RF_ANYTIME, "/metrics", fe_metrics)	\
	R(ROUTE_IDENTITY, HTTP_GET, 0, "/federation/v1/identity",	\
	    fe_identity)						\
	R(ROUTE_METADATA, HTTP_GET, 0, "/.well-known/motebit.json",	\
	    fe_metadata)						\
	R(ROUTE_MANIFEST, HTTP_GET, 0,					\
	    "/.well-known/mesh-manifest.json", fe_manifest)		\
	R(ROUTE_FED_PROPOSE, HTTP_POST, 0,				\
	    "/federation/v1/peer/propose", fe_fed_propose)		\
	R(ROUTE_FED_CONFIRM, HTTP_POST, 0,				\
	    "/federation/v1/peer/confirm", fe_fed_confirm)		\
	R(ROUTE_FED_HEARTBEAT, HTTP_POST, 0,				\
	    "/federation/v1/peer/heartbeat", fe_fed_heartbeat)		\
	R(ROUTE_FED_REMOVE, HTTP_POST, 0,				\
	    "/federation/v1/peer/remove", fe_fed_remove)		\
	R(ROUTE_FED_ACCEPTED, HTTP_POST, 0,				\
	    "/federation/v1/peer/accepted", fe_fed_accepted)		\
	R(ROUTE_FED_PEERS, HTTP_GET, 0, "/federation/v1/peers",	\
	    fe_fed_peers)						\
	R(ROUTE_AGENT_BOOTSTRAP, HTTP_POST, 0,				\
	    "/api/v1/agents/bootstrap", fe_agent_bootstrap)		\
	R(ROUTE_AGENT_REGISTER, HTTP_POST, 0,				\
	    "/api/v1/agents/register", fe_agent_register)		\
	R(ROUTE_AGENT_HEARTBEAT, HTTP_POST, 0,				\
	    "/api/v1/agents/heartbeat", fe_agent_heartbeat)		\
	R(ROUTE_AGENT_DEREGISTER, HTTP_DELETE, 0,			\
	    "/api/v1/agents/deregister", fe_agent_deregister)		\
	R(ROUTE_AGENT_LISTING, HTTP_POST, 0,				\
	    "/api/v1/agents/*/listing", fe_agent_listing)

#define HTTP_ROUTE_ENUM(id, m, f, path, h)	id,
enum http_route_id {
	ROUTE_NONE = 0,		/* no route: unknown path, early errors */
	HTTP_ROUTES(HTTP_ROUTE_ENUM)
	ROUTE_MAX
};
#undef HTTP_ROUTE_ENUM

struct http_route {
	int		 id;
	int		 methods;
	int		 flags;
	const char	*path;
	void		(*handler)(struct http_req *);
};

TAILQ_HEAD(http_waitq, http_req);

/* One request in progress: from evhttp's callback to http_reply(). */
struct http_req {
	TAILQ_ENTRY(http_req)	 entry;		/* the server's list */
	TAILQ_ENTRY(http_req)	 wentry;	/* a wait queue */
	struct http_server	*srv;
	struct http_conn	*conn;		/* NULL once it is gone */
	struct evhttp_request	*req;
	const struct http_route	*route;		/* NULL before routing */
	int			 label;		/* route id for statistics */
	int			 method;	/* HTTP_GET, ... */
	int			 close;		/* answer Connection: close */
	json_t			*body;		/* parsed JSON body or NULL */
	char			 corrid[HTTP_CORRID_MAX + 1];
	struct http_waitq	*waitq;		/* NULL: not waiting */
	struct event		 ev_wait;	/* wait deadline */
	void			(*on_timeout)(struct http_req *);
	void			*arg;		/* the waiting handler's */
};

/*
 * One connection: the framing guard sits on the input buffer of the
 * socket (or TLS) bufferevent evhttp reads, as an evbuffer callback that
 * runs before evhttp's read callback.
 */
struct http_conn {
	TAILQ_ENTRY(http_conn)	 entry;		/* the server's, oldest first */
	RB_ENTRY(http_conn)	 node;		/* by bev */
	struct http_server	*srv;		/* NULL: the server is gone */
	struct http_listener	*l;
	struct bufferevent	*bev;		/* evhttp's */
	struct evbuffer_cb_entry *cbent;	/* the guard on its input */
	struct http_stream	 st;
	struct event		 ev_deadline;
	struct event		 ev_init;
	uint32_t		 ndisp;		/* requests dispatched */
	int			 busy;		/* requests at a handler */
	int			 ready;		/* evhttp's closecb is set */
	int			 inside;	/* the guard is running */
	int			 timedout;	/* 408 sent, closing */
	int			 closing;	/* closed by us, no answer */
};
RB_HEAD(http_conns, http_conn);

/* A refused connection's socket, read out before it is closed. */
struct http_linger {
	TAILQ_ENTRY(http_linger) entry;
	struct http_server	*srv;
	struct event		 ev;
	int			 fd;
	size_t			 nread;
	struct timespec		 until;
};

struct http_listener {
	TAILQ_ENTRY(http_listener) entry;
	struct http_server	*srv;
	struct evhttp		*http;
	struct evconnlistener	*lev;
	SSL_CTX			*ssl;		/* NULL: plain HTTP */
	struct cfg_listen	 conf;
};

struct http_server {
	TAILQ_ENTRY(http_server) sentry;	/* all, for accept errors */
	struct event_base	*base;
	TAILQ_HEAD(, http_listener) listeners;
	TAILQ_HEAD(, http_req)	 reqs;		/* in progress */
	uint64_t		 body_limit;
	int			 ready;		/* identity known */
	struct fe_stats		*stats;		/* counts answers, or NULL */
	TAILQ_HEAD(, http_conn)	 conns;
	struct http_conns	 conntree;
	struct evbuffer		*raw;		/* the guard's scratch */
	TAILQ_HEAD(, http_linger) lingers;
	int			 nlinger;
	int			 nconns;
	int			 max_conns;	/* in force (clamped) */
	int			 conf_conns;	/* configured */
	int			 req_timeout_ms;
	int			 full;		/* at the cap, none to evict */
	int			 paused;	/* accept error backoff */
	int			 backoff_ms;
	struct event		 ev_backoff;
	struct event		 ev_restore;	/* the cap after EMFILE */
	uint64_t		 nevicted;	/* connections pushed out */
	uint64_t		 ndeadline;	/* cut by the deadline */
	uint64_t		 nrefused;	/* refused by the guard */
	uint64_t		 naccept_err;	/* accept errors */
};

/* http.c: server and listeners */
struct http_server *http_server_new(struct event_base *, struct fe_stats *);
void	 http_server_free(struct http_server *);
int	 http_server_listen(struct http_server *, int,
	    const struct cfg_listen *, SSL_CTX *);
void	 http_server_close_listeners(struct http_server *);
void	 http_server_set_limit(struct http_server *, uint64_t);
void	 http_server_set_conns(struct http_server *, int, int);
void	 http_server_stats(const struct http_server *, struct fe_stats *);
int	 http_conns_cap(int, long long);
uint64_t http_body_cap(uint64_t);
SSL_CTX	*http_tls_ctx(const char *, size_t, const char *, size_t, char *,
	    size_t);

/* http.c: routing and request hygiene (pure) */
const struct http_route *http_route_lookup(const char *, int, int *);
const struct http_route *http_route_find(const char *);
const struct http_route *http_route_byid(int);
int	 http_path_match(const char *, const char *);
int	 http_corrid_sane(const char *);
void	 http_corrid(const char *, char *);
int	 http_body_check(int, const char *, const char *, size_t, uint64_t,
	    char *, size_t);
char	*http_error_json(int, const char *, size_t *);
void	 http_allow_header(int, char *, size_t);

/* http.c: answers and waiting */
void	 http_header(struct http_req *, const char *, const char *);
void	 http_reply(struct http_req *, int, const char *, const void *,
	    size_t);
void	 http_reply_json(struct http_req *, int, const json_t *);
void	 http_error(struct http_req *, int, const char *, ...)
	    __attribute__((__format__ (printf, 3, 4)));
void	 http_wait(struct http_req *, struct http_waitq *, int,
	    void (*)(struct http_req *), void *);
void	 http_unwait(struct http_req *);

#endif /* RELAYD_HTTP_H */
