/*
 * Asynchronous libpq on the libevent loop; see db.h for the contract.
 *
 * Connection life cycle:
 *
 *	IDLE --db_start--> CONNECTING --PQconnectPoll OK--> SETUP --> UP
 *	            ^            |                            |        |
 *	            |         failure                    failure   failure
 *	            |            v                            v        v
 *	            +------- WAIT (backoff timer) <-----------+--------+
 *
 * CONNECTING polls the socket libpq reports after every PQconnectPoll call
 * (it may change between calls) and gives up after a connect timeout,
 * since libpq's connect_timeout only applies to its blocking functions.
 * SETUP runs the session set-up (migrations, identity, agent count) as an
 * ordinary chain of queries through the same queue, one at a time and not
 * pipelined, because a migration file is several statements and goes
 * through the simple query protocol.  When it ends the connection enters
 * pipeline mode (if depth > 1) and the session is UP.
 *
 * The query queue: `pending' holds queries not yet sent, `inflight' those
 * sent, oldest first.  The read handler takes results for the oldest
 * in-flight query; in pipeline mode a query is complete at its sync point
 * (PGRES_PIPELINE_SYNC), which also catches errors raised at the implicit
 * commit (deferred constraints), and without pipeline mode when
 * PQgetResult returns NULL.  A callback may queue new queries; a `gen'
 * counter, bumped whenever the connection is torn down, lets the loops
 * notice that a callback changed the world under them.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event.h>
#include <libpq-fe.h>

#include "db.h"
#include "encoding.h"
#include "log.h"
#include "schema.h"

#define DB_BACKOFF_MIN_MS	100
#define DB_BACKOFF_MAX_MS	5000
#define DB_CONNECT_TIMEOUT_MS	10000
#define DB_PIPELINE_DEFAULT	32
#define DB_PIPELINE_MAX		128
/* queued + in flight; beyond this db_query() refuses (overload) */
#define DB_QUEUE_MAX		8192
/* pg_advisory_xact_lock key serialising migrations: "relayd" in ASCII */
#define DB_MIGRATION_LOCK	"125779835102820"

#define DB_Q_INTERNAL	0x01	/* session set-up, bypasses the state */
#define DB_Q_SIMPLE	0x02	/* simple query protocol, no parameters */

struct db_query {
	TAILQ_ENTRY(db_query)	 entry;
	char			*sql;
	int			 nparams;
	char			**params;	/* one allocation with values */
	int			 flags;
	db_cb			 cb;
	void			*arg;
	PGresult		*res;		/* last good result */
	PGresult		*err;		/* first error result */
};
TAILQ_HEAD(db_queue, db_query);

enum boot_step {
	BOOT_BEGIN,
	BOOT_LOCK,
	BOOT_TABLE,
	BOOT_VERSIONS,
	BOOT_APPLY,
	BOOT_RECORD,
	BOOT_COMMIT,
	BOOT_IDENT_SELECT,
	BOOT_IDENT_INSERT,
	BOOT_AGENTS
};

struct db {
	struct event_base	*base;
	char			*conninfo;
	struct db_hooks		 hooks;
	PGconn			*conn;
	enum db_state		 state;
	uint64_t		 gen;
	int			 fd;
	struct event		 ev_poll;	/* connecting: one-shot */
	struct event		 ev_read;	/* session: persistent */
	struct event		 ev_write;	/* session: PQflush pending */
	struct event		 ev_timer;	/* connect timeout, backoff */
	int			 ev_poll_set;
	int			 ev_io_set;
	struct db_queue		 pending;
	struct db_queue		 inflight;
	unsigned int		 npending;
	unsigned int		 ninflight;
	unsigned int		 depth;		/* pipeline depth wanted */
	int			 pipeline;	/* in pipeline mode now */
	unsigned int		 backoff_min;
	unsigned int		 backoff_max;
	unsigned int		 backoff_cur;	/* nominal next delay */
	int64_t			 retry_at;	/* monotonic ms */
	char			 reason[256];	/* why we are not up */
	/* session set-up */
	enum boot_step		 boot;
	int			 boot_mig;	/* index into db_migrations */
	int			 boot_inserted;
	char			*applied;	/* per migration: in the db */
	int			 nmigrations;
	int			 schema_version;
	char			 relay_id[RELAY_ID_MAX];
	int64_t			 relay_created;
	int64_t			 agent_count;
	struct db_stats		 stats;
};

static int64_t	 mono_ms(void);
static void	 oneline(char *, size_t, const char *);
static void	 db_timer(struct db *, unsigned int);
static void	 db_notice(void *, const char *);
static void	 db_connect(struct db *);
static void	 db_connect_poll(struct db *, PostgresPollingStatusType);
static void	 db_on_poll(evutil_socket_t, short, void *);
static void	 db_on_timer(evutil_socket_t, short, void *);
static void	 db_on_read(evutil_socket_t, short, void *);
static void	 db_on_write(evutil_socket_t, short, void *);
static void	 db_session_start(struct db *);
static void	 db_lost(struct db *, const char *);
static void	 db_close(struct db *);
static void	 db_fail_all(struct db *, const char *);
static int	 db_submit(struct db *, int, const char *, int,
		    const char *const *, db_cb, void *);
static void	 db_pump(struct db *);
static void	 db_flush(struct db *);
static void	 db_results(struct db *);
static void	 db_complete(struct db *, struct db_query *);
static void	 db_query_free(struct db_query *);
static int	 db_transient(const char *);
static void	 boot_cb(struct db *, const struct db_reply *, void *);
static void	 boot_next_migration(struct db *);
static void	 boot_up(struct db *);

static int64_t
mono_ms(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		fatal("clock_gettime");
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* (Re)arms the one timer: connect timeout or backoff. */
static void
db_timer(struct db *d, unsigned int ms)
{
	struct timeval	 tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_del(&d->ev_timer);
	if (evtimer_add(&d->ev_timer, &tv) == -1)
		fatalx("evtimer_add failed");
}

/* Server notices go to the debug log, not to stderr. */
static void
db_notice(void *arg, const char *msg)
{
	char	 line[256];

	oneline(line, sizeof(line), msg);
	log_debug("postgresql: %s", line);
}

/* First line of a libpq message, without the trailing newline. */
static void
oneline(char *dst, size_t len, const char *src)
{
	size_t	 n;

	if (src == NULL || *src == '\0')
		src = "unknown error";
	n = strcspn(src, "\r\n");
	if (n >= len)
		n = len - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

struct db *
db_new(struct event_base *base, const char *conninfo,
    const struct db_hooks *hooks)
{
	struct db	*d;
	int		 i;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		fatal("%s", __func__);
	if ((d->conninfo = strdup(conninfo)) == NULL)
		fatal("%s", __func__);
	d->base = base;
	if (hooks != NULL)
		d->hooks = *hooks;
	d->fd = -1;
	TAILQ_INIT(&d->pending);
	TAILQ_INIT(&d->inflight);
	d->depth = DB_PIPELINE_DEFAULT;
	d->backoff_min = DB_BACKOFF_MIN_MS;
	d->backoff_max = DB_BACKOFF_MAX_MS;
	d->backoff_cur = d->backoff_min;
	evtimer_assign(&d->ev_timer, base, db_on_timer, d);
	strlcpy(d->reason, "not started", sizeof(d->reason));

	for (i = 0; db_migrations[i].sql != NULL; i++) {
		if (db_migrations[i].version <= 0 || (i > 0 &&
		    db_migrations[i].version <= db_migrations[i - 1].version))
			fatalx("schema migrations out of order at %d-%s",
			    db_migrations[i].version, db_migrations[i].name);
	}
	d->nmigrations = i;
	if ((d->applied = calloc(i + 1, 1)) == NULL)
		fatal("%s", __func__);
	return (d);
}

void
db_free(struct db *d)
{
	if (d == NULL)
		return;
	d->state = DB_S_IDLE;
	d->gen++;
	db_close(d);
	evtimer_del(&d->ev_timer);
	db_fail_all(d, "database handle closed");
	free(d->applied);
	freezero(d->conninfo, strlen(d->conninfo));
	free(d);
}

void
db_set_pipeline(struct db *d, unsigned int depth)
{
	if (depth < 1)
		depth = 1;
	if (depth > DB_PIPELINE_MAX)
		depth = DB_PIPELINE_MAX;
	d->depth = depth;
}

void
db_set_backoff(struct db *d, unsigned int min, unsigned int max)
{
	if (min < 1)
		min = 1;
	if (max < min)
		max = min;
	d->backoff_min = min;
	d->backoff_max = max;
	d->backoff_cur = min;
}

void
db_start(struct db *d)
{
	if (d->state != DB_S_IDLE)
		return;
	db_connect(d);
}

int
db_schema_latest(void)
{
	int	 i, v = 0;

	for (i = 0; db_migrations[i].sql != NULL; i++)
		v = db_migrations[i].version;
	return (v);
}

enum db_state
db_state(struct db *d)
{
	return (d->state);
}

int
db_up(struct db *d)
{
	return (d->state == DB_S_UP);
}

int
db_schema_version(struct db *d)
{
	return (d->schema_version);
}

const char *
db_relay_id(struct db *d)
{
	return (d->relay_id);
}

int64_t
db_relay_created(struct db *d)
{
	return (d->relay_created);
}

int64_t
db_agent_count(struct db *d)
{
	return (d->agent_count);
}

void
db_set_agent_count(struct db *d, int64_t n)
{
	d->agent_count = n;
}

unsigned int
db_queue_length(struct db *d)
{
	return (d->npending + d->ninflight);
}

const struct db_stats *
db_get_stats(struct db *d)
{
	return (&d->stats);
}

void
db_describe(struct db *d, char *buf, size_t len)
{
	int64_t	 left;

	switch (d->state) {
	case DB_S_UP:
		snprintf(buf, len, "postgresql connected, schema %d",
		    d->schema_version);
		break;
	case DB_S_SETUP:
		snprintf(buf, len, "postgresql connected, setting up the "
		    "session (schema migrations)");
		break;
	case DB_S_CONNECTING:
		if (d->stats.lost == 0)
			snprintf(buf, len, "postgresql connecting");
		else
			snprintf(buf, len, "postgresql unavailable: %s, "
			    "retrying now", d->reason);
		break;
	case DB_S_WAIT:
		left = d->retry_at - mono_ms();
		if (left < 0)
			left = 0;
		snprintf(buf, len, "postgresql unavailable: %s, retrying in "
		    "%lld ms", d->reason, (long long)left);
		break;
	case DB_S_IDLE:
	default:
		snprintf(buf, len, "postgresql not connected: %s", d->reason);
		break;
	}
}

/*
 * Connecting.
 */

static void
db_connect(struct db *d)
{
	d->stats.attempts++;
	d->state = DB_S_CONNECTING;
	d->gen++;
	if ((d->conn = PQconnectStart(d->conninfo)) == NULL)
		fatalx("PQconnectStart: out of memory");
	if (PQstatus(d->conn) == CONNECTION_BAD) {
		db_lost(d, PQerrorMessage(d->conn));
		return;
	}
	PQsetNoticeProcessor(d->conn, db_notice, d);
	db_timer(d, DB_CONNECT_TIMEOUT_MS);
	/* As if PQconnectPoll had returned PGRES_POLLING_WRITING. */
	db_connect_poll(d, PGRES_POLLING_WRITING);
}

static void
db_connect_poll(struct db *d, PostgresPollingStatusType st)
{
	short	 what;

	if (d->ev_poll_set) {
		event_del(&d->ev_poll);
		d->ev_poll_set = 0;
	}
	switch (st) {
	case PGRES_POLLING_OK:
		evtimer_del(&d->ev_timer);
		db_session_start(d);
		return;
	case PGRES_POLLING_FAILED:
		db_lost(d, PQerrorMessage(d->conn));
		return;
	case PGRES_POLLING_READING:
		what = EV_READ;
		break;
	case PGRES_POLLING_WRITING:
	default:
		what = EV_WRITE;
		break;
	}
	if ((d->fd = PQsocket(d->conn)) == -1) {
		db_lost(d, PQerrorMessage(d->conn));
		return;
	}
	event_assign(&d->ev_poll, d->base, d->fd, what, db_on_poll, d);
	if (event_add(&d->ev_poll, NULL) == -1)
		fatalx("event_add failed");
	d->ev_poll_set = 1;
}

static void
db_on_poll(evutil_socket_t fd, short ev, void *arg)
{
	struct db	*d = arg;

	d->ev_poll_set = 0;
	if (d->state != DB_S_CONNECTING || d->conn == NULL)
		return;
	db_connect_poll(d, PQconnectPoll(d->conn));
}

static void
db_on_timer(evutil_socket_t fd, short ev, void *arg)
{
	struct db	*d = arg;

	switch (d->state) {
	case DB_S_CONNECTING:
		db_lost(d, "timed out connecting to the server");
		break;
	case DB_S_WAIT:
		db_connect(d);
		break;
	default:
		break;
	}
}

/* Connected: nonblocking mode, socket events, then the session set-up. */
static void
db_session_start(struct db *d)
{
	if (PQsetnonblocking(d->conn, 1) == -1) {
		db_lost(d, PQerrorMessage(d->conn));
		return;
	}
	if ((d->fd = PQsocket(d->conn)) == -1) {
		db_lost(d, "no socket after connecting");
		return;
	}
	event_assign(&d->ev_read, d->base, d->fd, EV_READ | EV_PERSIST,
	    db_on_read, d);
	event_assign(&d->ev_write, d->base, d->fd, EV_WRITE, db_on_write, d);
	if (event_add(&d->ev_read, NULL) == -1)
		fatalx("event_add failed");
	d->ev_io_set = 1;
	d->pipeline = 0;
	d->state = DB_S_SETUP;
	log_debug("postgresql: connected (server %d, pid %d), setting up",
	    PQserverVersion(d->conn), PQbackendPID(d->conn));

	d->boot = BOOT_BEGIN;
	d->boot_mig = 0;
	d->boot_inserted = 0;
	memset(d->applied, 0, d->nmigrations + 1);
	db_submit(d, DB_Q_INTERNAL, "BEGIN", 0, NULL, boot_cb, NULL);
}

/*
 * Failure: tear the connection down, answer every query, schedule the next
 * attempt.  Safe to call from any callback.
 */
static void
db_lost(struct db *d, const char *why)
{
	char		 msg[sizeof(d->reason) + 32];
	unsigned int	 delay, half;
	int		 wasup = (d->state == DB_S_UP);

	oneline(msg, sizeof(msg), why);
	strlcpy(d->reason, msg, sizeof(d->reason));
	d->stats.lost++;
	d->gen++;
	db_close(d);

	/* Equal jitter: between half the nominal delay and all of it. */
	half = d->backoff_cur / 2;
	delay = half + arc4random_uniform(d->backoff_cur - half + 1);
	if (d->backoff_cur >= d->backoff_max / 2)
		d->backoff_cur = d->backoff_max;
	else
		d->backoff_cur *= 2;
	d->state = DB_S_WAIT;
	d->retry_at = mono_ms() + delay;
	db_timer(d, delay);

	if (wasup)
		log_warnx("postgresql: connection lost: %s; reconnecting in "
		    "%u ms", msg, delay);
	else
		log_warnx("postgresql: %s; retrying in %u ms", msg, delay);

	snprintf(msg, sizeof(msg), "database unavailable: %s", d->reason);
	db_fail_all(d, msg);
	if (d->hooks.down != NULL && d->state == DB_S_WAIT)
		d->hooks.down(d, d->reason, delay, d->hooks.arg);
}

static void
db_close(struct db *d)
{
	if (d->ev_poll_set) {
		event_del(&d->ev_poll);
		d->ev_poll_set = 0;
	}
	if (d->ev_io_set) {
		event_del(&d->ev_read);
		event_del(&d->ev_write);
		d->ev_io_set = 0;
	}
	if (d->conn != NULL) {
		PQfinish(d->conn);
		d->conn = NULL;
	}
	d->fd = -1;
	d->pipeline = 0;
}

/* Answers every queued and in-flight query DB_UNAVAILABLE. */
static void
db_fail_all(struct db *d, const char *msg)
{
	struct db_query	*q;
	struct db_reply	 r;

	TAILQ_CONCAT(&d->inflight, &d->pending, entry);
	d->ninflight += d->npending;
	d->npending = 0;
	while ((q = TAILQ_FIRST(&d->inflight)) != NULL) {
		TAILQ_REMOVE(&d->inflight, q, entry);
		d->ninflight--;
		memset(&r, 0, sizeof(r));
		r.status = DB_UNAVAILABLE;
		r.error = msg;
		r.sqlstate = "";
		if (!(q->flags & DB_Q_INTERNAL))
			d->stats.failed++;
		if (q->cb != NULL)
			q->cb(d, &r, q->arg);
		db_query_free(q);
	}
}

/*
 * Queries.
 */

int
db_query(struct db *d, const char *sql, int nparams,
    const char *const *params, db_cb cb, void *arg)
{
	if (d->state != DB_S_UP ||
	    d->npending + d->ninflight >= DB_QUEUE_MAX) {
		d->stats.refused++;
		return (-1);
	}
	d->stats.queries++;
	return (db_submit(d, 0, sql, nparams, params, cb, arg));
}

static int
db_submit(struct db *d, int flags, const char *sql, int nparams,
    const char *const *params, db_cb cb, void *arg)
{
	struct db_query	*q;
	size_t		 len, off;
	int		 i;
	char		*p;

	if (nparams < 0 || nparams > 65535)
		fatalx("%s: %d parameters", __func__, nparams);
	if ((q = calloc(1, sizeof(*q))) == NULL)
		fatal("%s", __func__);
	if ((q->sql = strdup(sql)) == NULL)
		fatal("%s", __func__);
	q->nparams = nparams;
	q->flags = flags;
	q->cb = cb;
	q->arg = arg;
	if (nparams > 0) {
		len = nparams * sizeof(char *);
		for (i = 0; i < nparams; i++)
			if (params[i] != NULL)
				len += strlen(params[i]) + 1;
		if ((q->params = malloc(len)) == NULL)
			fatal("%s", __func__);
		off = nparams * sizeof(char *);
		for (i = 0; i < nparams; i++) {
			if (params[i] == NULL) {
				q->params[i] = NULL;
				continue;
			}
			p = (char *)q->params + off;
			memcpy(p, params[i], strlen(params[i]) + 1);
			q->params[i] = p;
			off += strlen(params[i]) + 1;
		}
	}
	TAILQ_INSERT_TAIL(&d->pending, q, entry);
	d->npending++;
	db_pump(d);
	return (0);
}

static void
db_query_free(struct db_query *q)
{
	if (q->res != NULL)
		PQclear(q->res);
	if (q->err != NULL)
		PQclear(q->err);
	free(q->params);
	free(q->sql);
	free(q);
}

/* Sends what the pipeline depth allows, then flushes. */
static void
db_pump(struct db *d)
{
	struct db_query	*q;
	struct db_reply	 r;
	unsigned int	 max;
	int		 ok;
	char		 msg[256];

	if (d->conn == NULL ||
	    (d->state != DB_S_SETUP && d->state != DB_S_UP))
		return;
	max = d->pipeline ? d->depth : 1;
	while (d->ninflight < max && (q = TAILQ_FIRST(&d->pending)) != NULL) {
		if (q->flags & DB_Q_SIMPLE) {
			if (d->pipeline)
				fatalx("simple query in pipeline mode");
			ok = PQsendQuery(d->conn, q->sql);
		} else
			ok = PQsendQueryParams(d->conn, q->sql, q->nparams,
			    NULL, (const char *const *)q->params, NULL, NULL,
			    0);
		if (ok && d->pipeline)
			ok = PQpipelineSync(d->conn);
		if (!ok) {
			if (PQstatus(d->conn) == CONNECTION_BAD) {
				db_lost(d, PQerrorMessage(d->conn));
				return;
			}
			/* Refused by libpq itself: answer this one. */
			oneline(msg, sizeof(msg), PQerrorMessage(d->conn));
			TAILQ_REMOVE(&d->pending, q, entry);
			d->npending--;
			memset(&r, 0, sizeof(r));
			r.status = DB_ERROR;
			r.error = msg;
			r.sqlstate = "";
			d->stats.failed++;
			if (q->cb != NULL)
				q->cb(d, &r, q->arg);
			db_query_free(q);
			continue;
		}
		TAILQ_REMOVE(&d->pending, q, entry);
		d->npending--;
		TAILQ_INSERT_TAIL(&d->inflight, q, entry);
		d->ninflight++;
		if (d->ninflight > d->stats.max_inflight)
			d->stats.max_inflight = d->ninflight;
	}
	db_flush(d);
}

static void
db_flush(struct db *d)
{
	switch (PQflush(d->conn)) {
	case 0:
		break;
	case 1:
		if (event_add(&d->ev_write, NULL) == -1)
			fatalx("event_add failed");
		break;
	default:
		db_lost(d, PQerrorMessage(d->conn));
		break;
	}
}

static void
db_on_write(evutil_socket_t fd, short ev, void *arg)
{
	struct db	*d = arg;

	if (d->conn != NULL)
		db_flush(d);
}

static void
db_on_read(evutil_socket_t fd, short ev, void *arg)
{
	struct db	*d = arg;
	PGnotify	*n;
	uint64_t	 gen = d->gen;

	if (d->conn == NULL)
		return;
	if (!PQconsumeInput(d->conn)) {
		db_lost(d, PQerrorMessage(d->conn));
		return;
	}
	while ((n = PQnotifies(d->conn)) != NULL)
		PQfreemem(n);
	db_results(d);
	if (d->gen != gen || d->conn == NULL)
		return;
	if (PQstatus(d->conn) == CONNECTION_BAD) {
		db_lost(d, PQerrorMessage(d->conn));
		return;
	}
	db_pump(d);
}

/* Collects every result that is complete without blocking. */
static void
db_results(struct db *d)
{
	struct db_query	*q;
	PGresult	*res;
	uint64_t	 gen = d->gen;
	int		 nulls = 0;

	while ((q = TAILQ_FIRST(&d->inflight)) != NULL) {
		if (PQisBusy(d->conn))
			return;
		res = PQgetResult(d->conn);
		if (res == NULL) {
			if (!d->pipeline) {
				db_complete(d, q);
				if (d->gen != gen)
					return;
				continue;
			}
			/*
			 * Pipeline: NULL ends the query's results; an error
			 * from the implicit COMMIT (deferred constraints)
			 * may follow, then NULL again, then the sync point.
			 * Two NULLs in a row mean nothing more has arrived.
			 */
			if (++nulls > 1)
				return;
			continue;
		}
		nulls = 0;
		switch (PQresultStatus(res)) {
		case PGRES_PIPELINE_SYNC:
			PQclear(res);
			db_complete(d, q);
			if (d->gen != gen)
				return;
			break;
		case PGRES_COMMAND_OK:
		case PGRES_TUPLES_OK:
		case PGRES_EMPTY_QUERY:
			if (q->res != NULL)
				PQclear(q->res);
			q->res = res;
			break;
		case PGRES_COPY_IN:
		case PGRES_COPY_OUT:
		case PGRES_COPY_BOTH:
			PQclear(res);
			db_lost(d, "unexpected COPY from the server");
			return;
		default:
			/* errors, PGRES_PIPELINE_ABORTED: keep the first */
			if (q->err == NULL)
				q->err = res;
			else
				PQclear(res);
			break;
		}
		if (PQstatus(d->conn) == CONNECTION_BAD)
			return;
	}
}

/* Errors that mean "the session is gone or going", not "bad query". */
static int
db_transient(const char *state)
{
	if (state == NULL)
		return (0);
	return (strncmp(state, "08", 2) == 0 ||	/* connection exception */
	    strcmp(state, "57P01") == 0 ||	/* admin_shutdown */
	    strcmp(state, "57P02") == 0 ||	/* crash_shutdown */
	    strcmp(state, "57P03") == 0 ||	/* cannot_connect_now */
	    strcmp(state, "57P05") == 0);	/* idle_session_timeout */
}

static void
db_complete(struct db *d, struct db_query *q)
{
	struct db_reply	 r;
	char		 msg[256];
	const char	*st;

	TAILQ_REMOVE(&d->inflight, q, entry);
	d->ninflight--;
	memset(&r, 0, sizeof(r));
	r.error = "";
	r.sqlstate = "";
	if (q->err != NULL) {
		oneline(msg, sizeof(msg), PQresultErrorField(q->err,
		    PG_DIAG_MESSAGE_PRIMARY) != NULL ?
		    PQresultErrorField(q->err, PG_DIAG_MESSAGE_PRIMARY) :
		    PQresultErrorMessage(q->err));
		if (PQresultStatus(q->err) == PGRES_PIPELINE_ABORTED)
			strlcpy(msg, "pipeline aborted", sizeof(msg));
		st = PQresultErrorField(q->err, PG_DIAG_SQLSTATE);
		r.status = DB_ERROR;
		r.res = q->err;
		r.error = msg;
		r.sqlstate = st != NULL ? st : "";
		if (db_transient(st) || PQstatus(d->conn) == CONNECTION_BAD)
			r.status = DB_UNAVAILABLE;
	} else if (q->res == NULL && PQstatus(d->conn) == CONNECTION_BAD) {
		oneline(msg, sizeof(msg), PQerrorMessage(d->conn));
		r.status = DB_UNAVAILABLE;
		r.error = msg;
	} else if (q->res == NULL) {
		r.status = DB_ERROR;
		r.error = "no result from the server";
	} else {
		r.status = DB_OK;
		r.res = q->res;
	}
	if (r.status != DB_OK && !(q->flags & DB_Q_INTERNAL))
		d->stats.failed++;
	if (q->cb != NULL)
		q->cb(d, &r, q->arg);
	db_query_free(q);
}

/*
 * Session set-up: migrations, identity, agent count.
 */

static const char *const boot_names[] = {
	"BEGIN", "advisory lock", "schema_migrations table",
	"reading schema_migrations", "migration", "recording migration",
	"COMMIT", "reading relay_identity", "creating relay_identity",
	"counting agents"
};

static void
boot_cb(struct db *d, const struct db_reply *r, void *arg)
{
	const struct db_migration *m;
	const char	*params[2];
	char		 vbuf[16], newid[RELAY_ID_MAX];
	const char	*errstr;
	long long	 v;
	int		 i, j, n, latest;

	if (r->status == DB_UNAVAILABLE) {
		/* db_lost() has run or is about to; a new session retries. */
		if (d->state == DB_S_SETUP && d->conn != NULL &&
		    PQstatus(d->conn) != CONNECTION_BAD)
			db_lost(d, r->error);
		return;
	}
	if (r->status == DB_ERROR) {
		if (d->boot == BOOT_APPLY)
			fatalx("schema migration %03d-%s failed: %s%s%s",
			    db_migrations[d->boot_mig].version,
			    db_migrations[d->boot_mig].name, r->error,
			    *r->sqlstate ? " SQLSTATE " : "", r->sqlstate);
		fatalx("database set-up failed (%s): %s%s%s",
		    boot_names[d->boot], r->error,
		    *r->sqlstate ? " SQLSTATE " : "", r->sqlstate);
	}

	switch (d->boot) {
	case BOOT_BEGIN:
		d->boot = BOOT_LOCK;
		params[0] = DB_MIGRATION_LOCK;
		db_submit(d, DB_Q_INTERNAL,
		    "SELECT pg_advisory_xact_lock($1::bigint)", 1, params,
		    boot_cb, NULL);
		break;
	case BOOT_LOCK:
		d->boot = BOOT_TABLE;
		db_submit(d, DB_Q_INTERNAL,
		    "CREATE TABLE IF NOT EXISTS schema_migrations ("
		    "version integer PRIMARY KEY, "
		    "name text NOT NULL, "
		    "applied_at timestamptz NOT NULL DEFAULT now())",
		    0, NULL, boot_cb, NULL);
		break;
	case BOOT_TABLE:
		d->boot = BOOT_VERSIONS;
		db_submit(d, DB_Q_INTERNAL, "SELECT version, name FROM "
		    "schema_migrations ORDER BY version", 0, NULL, boot_cb,
		    NULL);
		break;
	case BOOT_VERSIONS:
		latest = db_schema_latest();
		n = PQntuples(r->res);
		for (i = 0; i < n; i++) {
			v = strtonum(PQgetvalue(r->res, i, 0), 1, INT_MAX,
			    &errstr);
			if (errstr != NULL)
				fatalx("schema_migrations: version %s is %s",
				    PQgetvalue(r->res, i, 0), errstr);
			if (v > latest)
				fatalx("the database schema is version %lld "
				    "(%s), newer than this ledgerd knows "
				    "(%d); refusing to run: upgrade relayd",
				    v, PQgetvalue(r->res, i, 1), latest);
			for (j = 0; j < d->nmigrations; j++)
				if (db_migrations[j].version == v)
					break;
			if (j == d->nmigrations)
				fatalx("the database has schema migration "
				    "%lld (%s), which this ledgerd does not "
				    "know; refusing to run", v,
				    PQgetvalue(r->res, i, 1));
			d->applied[j] = 1;
		}
		d->boot_mig = -1;
		boot_next_migration(d);
		break;
	case BOOT_APPLY:
		m = &db_migrations[d->boot_mig];
		d->boot = BOOT_RECORD;
		snprintf(vbuf, sizeof(vbuf), "%d", m->version);
		params[0] = vbuf;
		params[1] = m->name;
		db_submit(d, DB_Q_INTERNAL, "INSERT INTO schema_migrations "
		    "(version, name, applied_at) VALUES ($1, $2, now())",
		    2, params, boot_cb, NULL);
		break;
	case BOOT_RECORD:
		m = &db_migrations[d->boot_mig];
		log_info("postgresql: applied schema migration %03d-%s",
		    m->version, m->name);
		d->applied[d->boot_mig] = 1;
		boot_next_migration(d);
		break;
	case BOOT_COMMIT:
		d->schema_version = db_schema_latest();
		d->boot = BOOT_IDENT_SELECT;
		db_submit(d, DB_Q_INTERNAL, "SELECT relay_id, "
		    "(extract(epoch FROM created_at) * 1000)::bigint "
		    "FROM relay_identity", 0, NULL, boot_cb, NULL);
		break;
	case BOOT_IDENT_SELECT:
		if (PQntuples(r->res) == 0) {
			if (d->boot_inserted)
				fatalx("relay_identity is still empty after "
				    "inserting a relay id");
			/* Several relays racing here agree on one row. */
			relay_id_new(newid);
			d->boot_inserted = 1;
			d->boot = BOOT_IDENT_INSERT;
			params[0] = newid;
			db_submit(d, DB_Q_INTERNAL, "INSERT INTO "
			    "relay_identity (relay_id) VALUES ($1) "
			    "ON CONFLICT DO NOTHING",
			    1, params, boot_cb, NULL);
			break;
		}
		if (PQntuples(r->res) != 1 || PQnfields(r->res) != 2)
			fatalx("relay_identity: unexpected shape");
		if (!relay_id_valid(PQgetvalue(r->res, 0, 0)))
			fatalx("relay_identity holds an invalid relay id");
		if (d->relay_id[0] != '\0' &&
		    strcmp(d->relay_id, PQgetvalue(r->res, 0, 0)) != 0)
			fatalx("the relay id in the database changed from %s "
			    "to %s while running; refusing to continue",
			    d->relay_id, PQgetvalue(r->res, 0, 0));
		strlcpy(d->relay_id, PQgetvalue(r->res, 0, 0),
		    sizeof(d->relay_id));
		d->relay_created = strtonum(PQgetvalue(r->res, 0, 1), 0,
		    LLONG_MAX, &errstr);
		if (errstr != NULL)
			fatalx("relay_identity: created_at is %s", errstr);
		if (d->boot_inserted)
			log_info("postgresql: created relay identity %s",
			    d->relay_id);
		d->boot = BOOT_AGENTS;
		/* the agents other relays may see (agent_reg.c) */
		db_submit(d, DB_Q_INTERNAL, "SELECT count(*) FROM agents "
		    "WHERE federation_visible AND NOT revoked AND "
		    "(expires_at IS NULL OR expires_at > now())", 0,
		    NULL, boot_cb, NULL);
		break;
	case BOOT_IDENT_INSERT:
		d->boot = BOOT_IDENT_SELECT;
		db_submit(d, DB_Q_INTERNAL, "SELECT relay_id, "
		    "(extract(epoch FROM created_at) * 1000)::bigint "
		    "FROM relay_identity", 0, NULL, boot_cb, NULL);
		break;
	case BOOT_AGENTS:
		d->agent_count = strtonum(PQgetvalue(r->res, 0, 0), 0,
		    LLONG_MAX, &errstr);
		if (errstr != NULL)
			fatalx("agent count is %s", errstr);
		boot_up(d);
		break;
	}
}

/* Applies the next migration the database lacks, or commits. */
static void
boot_next_migration(struct db *d)
{
	int	 i;

	for (i = d->boot_mig + 1; i < d->nmigrations; i++)
		if (!d->applied[i])
			break;
	d->boot_mig = i;
	if (i < d->nmigrations) {
		d->boot = BOOT_APPLY;
		log_debug("postgresql: applying schema migration %03d-%s",
		    db_migrations[i].version, db_migrations[i].name);
		db_submit(d, DB_Q_INTERNAL | DB_Q_SIMPLE, db_migrations[i].sql,
		    0, NULL, boot_cb, NULL);
		return;
	}
	d->boot = BOOT_COMMIT;
	db_submit(d, DB_Q_INTERNAL, "COMMIT", 0, NULL, boot_cb, NULL);
}

static void
boot_up(struct db *d)
{
	if (d->depth > 1) {
		if (!PQenterPipelineMode(d->conn)) {
			db_lost(d, PQerrorMessage(d->conn));
			return;
		}
		d->pipeline = 1;
	}
	d->state = DB_S_UP;
	d->stats.sessions++;
	d->backoff_cur = d->backoff_min;
	strlcpy(d->reason, "", sizeof(d->reason));
	log_info("postgresql: session up, schema %d, relay %s, %lld agents%s",
	    d->schema_version, d->relay_id, (long long)d->agent_count,
	    d->pipeline ? ", pipeline mode" : "");
	if (d->hooks.up != NULL)
		d->hooks.up(d, d->hooks.arg);
}

/*
 * CONNECTION STRING AND CHROOT
 *
 * ledgerd connects to PostgreSQL after it has chrooted and dropped to the
 * unprivileged user, and it reconnects from there whenever the connection
 * drops, with seccomp refusing every file open (EACCES).  The configured
 * `database' string is therefore rewritten once, while still root, by
 * db_conninfo_prepare() (called from the ready hook):
 *
 *  - It is parsed with PQconninfoParse (keyword=value or a postgresql://
 *    URI).  PGHOST, PGPORT and friends in the environment apply as usual
 *    for what the string leaves out; libpq's compiled-in socket directory
 *    is assumed to be /var/run/postgresql, as on Debian.
 *  - Unix socket (host starts with '/', or no host and no hostaddr): the
 *    process chroots into the socket directory instead of the configured
 *    chroot and host becomes "/", so libpq finds "/.s.PGSQL.<port>" inside
 *    the chroot every time it reconnects.  sandbox_privdrop() only
 *    accepts a chroot owned by root and not writable by group or others,
 *    which the socket directory usually is not (Debian's
 *    /var/run/postgresql belongs to postgres, mode 2775): then the
 *    nearest ancestor that is (after resolving symbolic links) becomes
 *    the chroot and host the rest of the path, e.g. chroot /run with
 *    host=/postgresql.  The file system stays closed either way: seccomp
 *    refuses every open, only connect(2) to the socket works.
 *  - Abstract unix socket (host starts with '@'): no file system, so the
 *    configured chroot stays and host is kept.
 *  - TCP host: the configured chroot stays.  A host name is resolved now
 *    (inside the sandbox there is no resolver, and libpq's own lookup
 *    would block the event loop) and passed as hostaddr, with host kept
 *    for authentication and TLS; a later address change needs a restart.
 *    Several comma-separated hosts are kept as given and must then be
 *    numeric.  TCP keepalives (30 s idle, 10 s interval, 3 probes) are
 *    added unless keepalives_idle is given, so an idle connection to a
 *    vanished server is noticed within about a minute.
 *  - `user=' is added when missing (the unprivileged user from the config,
 *    or the user running ledgerd), because libpq would otherwise ask
 *    getpwuid(), which reads /etc/passwd.  For unix sockets sslmode=disable
 *    and gssencmode=disable are added unless given (encryption is
 *    pointless there), so libpq probes no certificate or credential files.
 *  - Development mode (not root, so no chroot): the same, except that
 *    host is not rewritten and the chroot not changed; seccomp still
 *    applies, hence the same additions.
 */
static int	 ci_append(char **, size_t *, size_t *, const char *,
		    const char *);
static int	 ci_jail(const char *, char *, size_t, const char **);

/*
 * The chroot for a socket directory: the directory itself if it passes
 * sandbox_privdrop()'s jail rule (owned by root, not writable by group or
 * others), else its nearest ancestor that does (or "/").  *rest is the
 * socket directory as seen from inside, pointing into sockdir.
 */
static int
ci_jail(const char *sockdir, char *jail, size_t len, const char **rest)
{
	struct stat	 sb;
	char		*p;
	size_t		 n;

	if (strlcpy(jail, sockdir, len) >= len)
		return (-1);
	/* no trailing slash, but "/" stays "/" */
	while ((n = strlen(jail)) > 1 && jail[n - 1] == '/')
		jail[n - 1] = '\0';
	while (strcmp(jail, "/") != 0) {
		if (stat(jail, &sb) == 0 && S_ISDIR(sb.st_mode) &&
		    sb.st_uid == 0 && (sb.st_mode & (S_IWGRP | S_IWOTH)) == 0)
			break;
		if ((p = strrchr(jail, '/')) == NULL)
			return (-1);
		if (p == jail)
			p[1] = '\0';
		else
			*p = '\0';
	}
	n = strlen(jail);
	if (n == 1)
		*rest = sockdir;
	else if (sockdir[n] == '\0' || strspn(sockdir + n, "/") ==
	    strlen(sockdir + n))
		*rest = "/";
	else
		*rest = sockdir + n;
	return (0);
}

static int
ci_append(char **buf, size_t *len, size_t *size, const char *kw,
    const char *val)
{
	size_t	 need;
	char	*nb;
	const char *s;

	/* worst case: every character escaped, plus kw='' and a space */
	need = *len + strlen(kw) + 2 * strlen(val) + 5;
	if (need > *size) {
		if ((nb = realloc(*buf, need * 2)) == NULL)
			return (-1);
		*buf = nb;
		*size = need * 2;
	}
	if (*len > 0)
		(*buf)[(*len)++] = ' ';
	memcpy(*buf + *len, kw, strlen(kw));
	*len += strlen(kw);
	(*buf)[(*len)++] = '=';
	(*buf)[(*len)++] = '\'';
	for (s = val; *s != '\0'; s++) {
		if (*s == '\'' || *s == '\\')
			(*buf)[(*len)++] = '\\';
		(*buf)[(*len)++] = *s;
	}
	(*buf)[(*len)++] = '\'';
	(*buf)[*len] = '\0';
	return (0);
}

char *
db_conninfo_prepare(const char *conninfo, const char *user, int chrooting,
    char *chrootdir, size_t chrootlen, char *err, size_t errlen)
{
	PQconninfoOption	*opts, *o;
	struct addrinfo		 hints, *ai = NULL;
	struct passwd		*pw;
	const char		*host = NULL, *hostaddr = NULL;
	const char		*val, *env;
	char			*perr = NULL, *out = NULL;
	char			 addr[NI_MAXHOST], who[64];
	char			 sockdir[PATH_MAX];
	const char		*jailhost = NULL;
	size_t			 len = 0, size = 0;
	int			 unixsock, have_user = 0, have_ssl = 0;
	int			 have_gss = 0, have_ka = 0, abstract, rc;

	chrootdir[0] = '\0';
	if ((opts = PQconninfoParse(conninfo, &perr)) == NULL) {
		snprintf(err, errlen, "database \"%s\": %s", conninfo,
		    perr != NULL ? perr : "out of memory");
		if (perr != NULL)
			PQfreemem(perr);
		return (NULL);
	}
	for (o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL || *o->val == '\0')
			continue;
		if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "hostaddr") == 0)
			hostaddr = o->val;
		else if (strcmp(o->keyword, "user") == 0)
			have_user = 1;
		else if (strcmp(o->keyword, "sslmode") == 0)
			have_ssl = 1;
		else if (strcmp(o->keyword, "gssencmode") == 0)
			have_gss = 1;
		else if (strcmp(o->keyword, "keepalives_idle") == 0)
			have_ka = 1;
	}
	if (host == NULL && (env = getenv("PGHOST")) != NULL && *env != '\0')
		host = env;
	if (hostaddr == NULL && (env = getenv("PGHOSTADDR")) != NULL &&
	    *env != '\0')
		hostaddr = env;
	if (!have_user && (env = getenv("PGUSER")) != NULL && *env != '\0')
		have_user = 1;
	if (!have_ssl && (env = getenv("PGSSLMODE")) != NULL && *env != '\0')
		have_ssl = 1;
	if (!have_gss && (env = getenv("PGGSSENCMODE")) != NULL &&
	    *env != '\0')
		have_gss = 1;
	if (host == NULL && hostaddr == NULL)
		host = "/var/run/postgresql";
	unixsock = hostaddr == NULL && host[0] == '/';
	abstract = hostaddr == NULL && host[0] == '@';

	if (unixsock && strchr(host, ',') != NULL) {
		snprintf(err, errlen, "database: several unix socket "
		    "directories (%s) are not supported", host);
		goto fail;
	}
	if (chrooting && unixsock) {
		if (realpath(host, sockdir) == NULL && strlcpy(sockdir, host,
		    sizeof(sockdir)) >= sizeof(sockdir)) {
			snprintf(err, errlen, "database: socket directory "
			    "%s too long", host);
			goto fail;
		}
		if (ci_jail(sockdir, chrootdir, chrootlen, &jailhost) == -1) {
			snprintf(err, errlen, "database: socket directory "
			    "%s too long", sockdir);
			goto fail;
		}
	}
	if (!unixsock && !abstract && hostaddr == NULL &&
	    strchr(host, ',') == NULL) {
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		if ((rc = getaddrinfo(host, NULL, &hints, &ai)) != 0) {
			snprintf(err, errlen, "database: host %s: %s", host,
			    gai_strerror(rc));
			goto fail;
		}
		if ((rc = getnameinfo(ai->ai_addr, ai->ai_addrlen, addr,
		    sizeof(addr), NULL, 0, NI_NUMERICHOST)) != 0) {
			snprintf(err, errlen, "database: host %s: %s", host,
			    gai_strerror(rc));
			goto fail;
		}
		hostaddr = addr;
	}

	for (o = opts; o->keyword != NULL; o++) {
		val = o->val;
		if (strcmp(o->keyword, "host") == 0) {
			if (chrooting && unixsock)
				val = jailhost;
		} else if (strcmp(o->keyword, "hostaddr") == 0)
			val = hostaddr;
		if (val == NULL || *val == '\0')
			continue;
		if (ci_append(&out, &len, &size, o->keyword, val) == -1)
			goto oom;
	}
	if (!have_user) {
		if (user != NULL && *user != '\0')
			strlcpy(who, user, sizeof(who));
		else if ((pw = getpwuid(geteuid())) != NULL)
			strlcpy(who, pw->pw_name, sizeof(who));
		else {
			snprintf(err, errlen, "database: no user given and "
			    "uid %u has no name", (unsigned int)geteuid());
			goto fail;
		}
		if (ci_append(&out, &len, &size, "user", who) == -1)
			goto oom;
	}
	if ((unixsock || abstract) && !have_ssl &&
	    ci_append(&out, &len, &size, "sslmode", "disable") == -1)
		goto oom;
	if ((unixsock || abstract) && !have_gss &&
	    ci_append(&out, &len, &size, "gssencmode", "disable") == -1)
		goto oom;
	if (!unixsock && !abstract && !have_ka &&
	    (ci_append(&out, &len, &size, "keepalives_idle", "30") == -1 ||
	    ci_append(&out, &len, &size, "keepalives_interval", "10") == -1 ||
	    ci_append(&out, &len, &size, "keepalives_count", "3") == -1))
		goto oom;
	if (ai != NULL)
		freeaddrinfo(ai);
	PQconninfoFree(opts);
	return (out);

 oom:
	snprintf(err, errlen, "database: out of memory");
 fail:
	if (ai != NULL)
		freeaddrinfo(ai);
	PQconninfoFree(opts);
	free(out);
	chrootdir[0] = '\0';
	return (NULL);
}
