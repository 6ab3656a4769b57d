/*
 * Asynchronous PostgreSQL access for ledgerd on its libevent loop.
 *
 * One connection, driven without a single blocking libpq call: connecting
 * with PQconnectStart/PQconnectPoll, queries with PQsendQueryParams in
 * nonblocking mode, input with PQconsumeInput/PQisBusy/PQgetResult on read
 * events, output with PQflush on write events.  Queries wait in a FIFO; each
 * carries a callback and an argument, called exactly once (unless db_query
 * refused it).  In pipeline mode (the default once the session is set up)
 * up to `depth' queries are in flight, each followed by its own sync point,
 * so every query is its own implicit transaction and an error in one never
 * aborts another; with depth 1 (db_set_pipeline(db, 1)) one query at a time.
 *
 * Session set-up on every (re)connection, before any caller's query runs:
 * the compiled-in schema migrations (schema.h) are applied in one
 * transaction under an advisory lock, the relay identity is read or created
 * once, and the local agent count is read.  Only then is the session up.
 *
 * Failures: when the connection drops, every queued and in-flight query is
 * answered DB_UNAVAILABLE (never silently retried: a write may or may not
 * have committed, so only the caller, who knows whether the request is
 * idempotent, may repeat it), the `down' hook runs, and db.c reconnects
 * with capped exponential backoff (100 ms doubling to 5 s, with jitter).
 * While the session is not up, db_query() refuses at once with -1 so the
 * caller can answer "database unavailable" (HTTP 503) without waiting.
 */
#ifndef LEDGERD_DB_H
#define LEDGERD_DB_H

#include <stddef.h>
#include <stdint.h>

#include <event.h>
#include <libpq-fe.h>

#include "relayd_imsg.h"

struct db;

enum db_status {
	DB_OK = 0,		/* res holds the (last) result */
	DB_ERROR,		/* the server rejected the query */
	DB_UNAVAILABLE		/* no session, or it was lost */
};

struct db_reply {
	enum db_status	 status;
	PGresult	*res;		/* valid during the callback only */
	const char	*error;		/* one line; "" when DB_OK */
	const char	*sqlstate;	/* five chars or "" */
};

typedef void	(*db_cb)(struct db *, const struct db_reply *, void *);

struct db_hooks {
	/* session up: connected, schema current, identity known */
	void	(*up)(struct db *, void *);
	/* connection lost or attempt failed; next attempt in retry_ms */
	void	(*down)(struct db *, const char *, unsigned int, void *);
	void	*arg;
};

/* States, for status output and tests. */
enum db_state {
	DB_S_IDLE = 0,		/* not started */
	DB_S_CONNECTING,	/* PQconnectPoll in progress */
	DB_S_SETUP,		/* migrations, identity */
	DB_S_UP,		/* accepting queries */
	DB_S_WAIT		/* backoff before the next attempt */
};

struct db_stats {
	uint64_t	 attempts;	/* connection attempts */
	uint64_t	 sessions;	/* sessions that came up */
	uint64_t	 lost;		/* sessions or attempts that failed */
	uint64_t	 queries;	/* caller queries accepted */
	uint64_t	 refused;	/* caller queries refused (not up) */
	uint64_t	 failed;	/* answered with an error */
	uint32_t	 max_inflight;	/* largest pipeline seen */
};

struct db	*db_new(struct event_base *, const char *,
		    const struct db_hooks *);
void		 db_free(struct db *);	/* answers queries DB_UNAVAILABLE */
void		 db_start(struct db *);
/* 1..128 queries in flight; 1 disables pipeline mode */
void		 db_set_pipeline(struct db *, unsigned int);
/* first and largest reconnection delay, milliseconds */
void		 db_set_backoff(struct db *, unsigned int, unsigned int);

/*
 * Queues one SQL statement with text parameters $1..$n (NULL pointer for
 * SQL NULL); sql and params are copied.  Returns 0 when queued (cb will be
 * called once) or -1 when there is no session or 8192 queries are already
 * waiting (cb is never called): answer "database unavailable".
 */
int		 db_query(struct db *, const char *, int, const char *const *,
		    db_cb, void *);

enum db_state	 db_state(struct db *);
int		 db_up(struct db *);
int		 db_schema_version(struct db *);
const char	*db_relay_id(struct db *);	/* "" until known */
int64_t		 db_relay_created(struct db *);	/* epoch ms */
int64_t		 db_agent_count(struct db *);
void		 db_set_agent_count(struct db *, int64_t);
unsigned int	 db_queue_length(struct db *);	/* queued + in flight */
const struct db_stats *db_get_stats(struct db *);
/* "postgresql connected, schema N" or why not and when the next try is */
void		 db_describe(struct db *, char *, size_t);

/* Newest schema version compiled into this binary. */
int		 db_schema_latest(void);

/*
 * Turns the configured connection string into the one ledgerd uses after
 * it has dropped privileges, and says which directory to chroot into.
 * See the comment above the definition in db.c for the rules.  `user' is
 * the unprivileged user (may be ""), `chrooting' is 1 when the process will
 * chroot (running as root).  On success returns a malloc'd conninfo string
 * and fills chrootdir ("" = keep the configured chroot); on failure returns
 * NULL with a message in err.
 */
char		*db_conninfo_prepare(const char *, const char *, int, char *,
		    size_t, char *, size_t);

#endif /* LEDGERD_DB_H */
