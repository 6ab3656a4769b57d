/*
 * ledgerd/db.c against a real PostgreSQL server: a private cluster that
 * regress/pg.sh creates under a temporary directory and stops (by PID) at
 * the end.  Without PostgreSQL server binaries the test fails loudly.
 *
 * Each test gets a database of its own and its own event base; db.c runs
 * exactly as in ledgerd.  The last test crash-stops the server under a live
 * session and restarts it.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <event.h>
#include <libpq-fe.h>

#include "db.h"
#include "encoding.h"
#include "log.h"
#include "pgtest.h"
#include "schema.h"

/* What the hooks and callbacks saw. */
struct tstate {
	int		 up;
	int		 down;
	char		 reason[256];
	unsigned int	 retry_ms;
};

struct treply {
	int		 done;
	enum db_status	 status;
	char		 error[256];
	char		 sqlstate[8];
	char		 value[256];	/* first cell, if any */
	int		 ntuples;
	int		*order;		/* completion order log */
	int		 seq;
};

/*
 * Driving db.c.
 */

static void
hook_up(struct db *d, void *arg)
{
	struct tstate	*t = arg;

	t->up++;
}

static void
hook_down(struct db *d, const char *reason, unsigned int retry, void *arg)
{
	struct tstate	*t = arg;

	t->down++;
	strlcpy(t->reason, reason, sizeof(t->reason));
	t->retry_ms = retry;
}

static struct db *
open_db(struct event_base *base, const char *dbname, struct tstate *t)
{
	struct db_hooks	 h;
	char		 ci[PATH_MAX + 128];

	memset(&h, 0, sizeof(h));
	h.up = hook_up;
	h.down = hook_down;
	h.arg = t;
	pgtest_conninfo(ci, sizeof(ci), dbname);
	return (db_new(base, ci, &h));
}

/* Runs the loop until *flag >= want or timeout; returns 1 if reached. */
static int
run_until(struct event_base *base, const int *flag, int want, int timeout)
{
	int64_t		 end = pgtest_mono_ms() + timeout;
	struct timeval	 tv = { 0, 20 * 1000 };

	while (*flag < want) {
		if (pgtest_mono_ms() >= end)
			return (0);
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	return (1);
}

static void
run_for(struct event_base *base, int ms)
{
	int	 never = 0;

	run_until(base, &never, 1, ms);
}

static void
reply_cb(struct db *d, const struct db_reply *r, void *arg)
{
	struct treply	*t = arg;

	ck_assert_int_eq(t->done, 0);
	t->done = 1;
	t->status = r->status;
	strlcpy(t->error, r->error, sizeof(t->error));
	strlcpy(t->sqlstate, r->sqlstate, sizeof(t->sqlstate));
	if (r->status == DB_OK) {
		t->ntuples = PQntuples(r->res);
		if (PQntuples(r->res) > 0 && PQnfields(r->res) > 0)
			strlcpy(t->value, PQgetvalue(r->res, 0, 0),
			    sizeof(t->value));
	}
	if (t->order != NULL)
		t->order[(*t->order)++ + 1] = t->seq;
}

static void
count_cb(struct db *d, const struct db_reply *r, void *arg)
{
	int	*n = arg;

	ck_assert_msg(r->status == DB_OK, "%s", r->error);
	(*n)++;
}

/* Runs one query to completion; returns its status. */
static enum db_status
query(struct event_base *base, struct db *d, struct treply *t,
    const char *sql, int n, const char *const *params)
{
	memset(t, 0, sizeof(*t));
	ck_assert_msg(db_query(d, sql, n, params, reply_cb, t) == 0,
	    "db_query refused: %s", sql);
	ck_assert_msg(run_until(base, &t->done, 1, 10000), "no answer: %s",
	    sql);
	return (t->status);
}

/*
 * Tests.
 */

static int
ci_get(const char *ci, const char *kw, char *out, size_t len)
{
	PQconninfoOption	*o, *opts;
	char			*err = NULL;
	int			 found = 0;

	opts = PQconninfoParse(ci, &err);
	ck_assert_msg(opts != NULL, "reparse %s: %s", ci, err);
	for (o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, kw) == 0 && o->val != NULL) {
			strlcpy(out, o->val, len);
			found = 1;
		}
	PQconninfoFree(opts);
	return (found);
}

START_TEST(test_conninfo_prepare)
{
	char	 chroot[128], err[256], v[256], *ci;
	char	 path[PATH_MAX + 16], open_dir[64], conn_pg[PATH_MAX + 32];

	snprintf(conn_pg, sizeof(conn_pg), "host=%s dbname=relayd", pg_host);

	unsetenv("PGHOST");
	unsetenv("PGHOSTADDR");
	unsetenv("PGUSER");
	unsetenv("PGSSLMODE");
	unsetenv("PGGSSENCMODE");

	/* unix socket, chrooting: a root-owned directory is the chroot */
	ci = db_conninfo_prepare("host=/usr/share/ dbname=relayd",
	    "_relayd", 1, chroot, sizeof(chroot), err, sizeof(err));
	ck_assert_msg(ci != NULL, "%s", err);
	ck_assert_str_eq(chroot, "/usr/share");
	ck_assert(ci_get(ci, "host", v, sizeof(v)));
	ck_assert_str_eq(v, "/");
	ck_assert(ci_get(ci, "user", v, sizeof(v)));
	ck_assert_str_eq(v, "_relayd");
	ck_assert(ci_get(ci, "dbname", v, sizeof(v)));
	ck_assert_str_eq(v, "relayd");
	ck_assert(ci_get(ci, "sslmode", v, sizeof(v)));
	ck_assert_str_eq(v, "disable");
	ck_assert(ci_get(ci, "gssencmode", v, sizeof(v)));
	ck_assert_str_eq(v, "disable");
	free(ci);

	/* default: Debian's socket directory, postgres's: jail above it */
	ci = db_conninfo_prepare("dbname=relayd", "_relayd", 1, chroot,
	    sizeof(chroot), err, sizeof(err));
	ck_assert_msg(ci != NULL, "%s", err);
	ck_assert(ci_get(ci, "host", v, sizeof(v)));
	snprintf(path, sizeof(path), "%s%s", strcmp(chroot, "/") == 0 ? "" :
	    chroot, v);
	ck_assert_msg(strcmp(path, "/run/postgresql") == 0 ||
	    strcmp(path, "/var/run/postgresql") == 0, "chroot %s host %s",
	    chroot, v);
	free(ci);

	/* the cluster's socket directory (postgres's or ours) */
	ci = db_conninfo_prepare(conn_pg, "_relayd", 1, chroot,
	    sizeof(chroot), err, sizeof(err));
	ck_assert_msg(ci != NULL, "%s", err);
	ck_assert(ci_get(ci, "host", v, sizeof(v)));
	if (geteuid() == 0) {
		/* pg.sh leaves the cluster's top directory to root */
		ck_assert_str_eq(chroot, pg_dir);
		ck_assert_str_eq(v, "/run");
	} else {
		/* nothing above is root's and closed: "/" */
		ck_assert_str_eq(chroot, "/");
		ck_assert_str_eq(v, pg_host);
	}
	free(ci);

	/* writable by others all the way up: "/" and the full path */
	strlcpy(open_dir, "/tmp/relayd-jail-XXXXXX", sizeof(open_dir));
	ck_assert(mkdtemp(open_dir) != NULL);
	ck_assert(chmod(open_dir, 0777) == 0);
	snprintf(path, sizeof(path), "host=%s/sock", open_dir);
	ci = db_conninfo_prepare(path, "_relayd", 1, chroot, sizeof(chroot),
	    err, sizeof(err));
	rmdir(open_dir);
	ck_assert_msg(ci != NULL, "%s", err);
	ck_assert_str_eq(chroot, "/");
	ck_assert(ci_get(ci, "host", v, sizeof(v)));
	snprintf(path, sizeof(path), "%s/sock", open_dir);
	ck_assert_str_eq(v, path);
	free(ci);

	/* development mode: as given, plus user/sslmode/gssencmode */
	ci = db_conninfo_prepare("host=/tmp/x port=5433 dbname=relayd "
	    "sslmode=require", "", 0, chroot, sizeof(chroot), err,
	    sizeof(err));
	ck_assert_msg(ci != NULL, "%s", err);
	ck_assert_str_eq(chroot, "");
	ck_assert(ci_get(ci, "host", v, sizeof(v)));
	ck_assert_str_eq(v, "/tmp/x");
	ck_assert(ci_get(ci, "port", v, sizeof(v)));
	ck_assert_str_eq(v, "5433");
	ck_assert(ci_get(ci, "sslmode", v, sizeof(v)));
	ck_assert_str_eq(v, "require");
	ck_assert(ci_get(ci, "user", v, sizeof(v)));
	ck_assert(v[0] != '\0');
	free(ci);

	/* TCP: configured chroot stays, name resolved, user kept */
	ci = db_conninfo_prepare("host=localhost port=5432 user=bob "
	    "password='a\\'b\\\\c'", "_relayd", 1, chroot, sizeof(chroot),
	    err, sizeof(err));
	ck_assert_msg(ci != NULL, "%s", err);
	ck_assert_str_eq(chroot, "");
	ck_assert(ci_get(ci, "host", v, sizeof(v)));
	ck_assert_str_eq(v, "localhost");
	ck_assert(ci_get(ci, "hostaddr", v, sizeof(v)));
	ck_assert_msg(strcmp(v, "127.0.0.1") == 0 || strcmp(v, "::1") == 0,
	    "hostaddr %s", v);
	ck_assert(ci_get(ci, "user", v, sizeof(v)));
	ck_assert_str_eq(v, "bob");
	ck_assert(ci_get(ci, "password", v, sizeof(v)));
	ck_assert_str_eq(v, "a'b\\c");
	ck_assert(!ci_get(ci, "sslmode", v, sizeof(v)));
	ck_assert(ci_get(ci, "keepalives_idle", v, sizeof(v)));
	ck_assert_str_eq(v, "30");
	free(ci);

	/* development mode resolves too: no DNS on the event loop */
	ci = db_conninfo_prepare("host=localhost keepalives_idle=5", "me", 0,
	    chroot, sizeof(chroot), err, sizeof(err));
	ck_assert_msg(ci != NULL, "%s", err);
	ck_assert_str_eq(chroot, "");
	ck_assert(ci_get(ci, "hostaddr", v, sizeof(v)));
	ck_assert(ci_get(ci, "keepalives_idle", v, sizeof(v)));
	ck_assert_str_eq(v, "5");
	ck_assert(ci_get(ci, "user", v, sizeof(v)));
	ck_assert_str_eq(v, "me");
	free(ci);

	/* URI form */
	ci = db_conninfo_prepare("postgresql:///relayd?host=/run/pg",
	    "_relayd", 1, chroot, sizeof(chroot), err, sizeof(err));
	ck_assert_msg(ci != NULL, "%s", err);
	ck_assert_str_eq(chroot, "/run");	/* /run/pg does not exist */
	ck_assert(ci_get(ci, "host", v, sizeof(v)));
	ck_assert_str_eq(v, "/pg");
	free(ci);

	/* nonsense is refused with a message */
	ci = db_conninfo_prepare("host = = x", "_relayd", 1, chroot,
	    sizeof(chroot), err, sizeof(err));
	ck_assert(ci == NULL);
	ck_assert(strlen(err) > 0);
	ci = db_conninfo_prepare("bogus=1", "_relayd", 1, chroot,
	    sizeof(chroot), err, sizeof(err));
	ck_assert(ci == NULL);
	ck_assert_msg(strstr(err, "bogus") != NULL, "%s", err);
}
END_TEST

START_TEST(test_migrations_once)
{
	struct event_base	*base;
	struct db		*d;
	struct tstate		 t;
	struct treply		 r;
	char			 applied[64], *v, buf[256];
	int			 n, latest = db_schema_latest();

	pgtest_fresh_db("t_migrate");
	for (n = 0; db_migrations[n].sql != NULL; n++)
		;
	ck_assert_int_ge(n, 1);
	ck_assert_int_eq(db_migrations[0].version, 1);
	ck_assert_str_eq(db_migrations[0].name, "init");

	base = event_base_new();
	memset(&t, 0, sizeof(t));
	d = open_db(base, "t_migrate", &t);
	ck_assert(!db_up(d));
	db_describe(d, buf, sizeof(buf));
	ck_assert_msg(strstr(buf, "not") != NULL, "%s", buf);
	db_start(d);
	ck_assert_msg(run_until(base, &t.up, 1, 20000), "no session: %s",
	    t.reason);
	ck_assert(db_up(d));
	ck_assert_int_eq(db_schema_version(d), latest);
	db_describe(d, buf, sizeof(buf));
	snprintf(applied, sizeof(applied), "postgresql connected, schema %d",
	    latest);
	ck_assert_str_eq(buf, applied);
	ck_assert_int_eq(pgtest_sql_num("t_migrate",
	    "SELECT count(*) FROM schema_migrations"), n);
	v = pgtest_sql1("t_migrate", "SELECT applied_at FROM schema_migrations "
	    "WHERE version = 1", NULL, 0);
	ck_assert(v != NULL && *v != '\0');
	strlcpy(applied, v, sizeof(applied));
	free(v);
	/* the tables exist and are usable */
	ck_assert_int_eq(query(base, d, &r, "SELECT count(*) FROM peers "
	    "WHERE state = 'active'", 0, NULL), DB_OK);
	ck_assert_str_eq(r.value, "0");
	ck_assert_int_eq(query(base, d, &r, "INSERT INTO peers "
	    "(peer_relay_id, public_key, endpoint_url, state) VALUES "
	    "('relay-x', repeat('a', 64), 'https://x', 'dormant')", 0, NULL),
	    DB_ERROR);
	ck_assert_str_eq(r.sqlstate, "23514");
	db_free(d);

	/* second start: nothing applied again */
	memset(&t, 0, sizeof(t));
	d = open_db(base, "t_migrate", &t);
	db_start(d);
	ck_assert(run_until(base, &t.up, 1, 20000));
	ck_assert_int_eq(db_schema_version(d), latest);
	ck_assert_int_eq(pgtest_sql_num("t_migrate",
	    "SELECT count(*) FROM schema_migrations"), n);
	v = pgtest_sql1("t_migrate", "SELECT applied_at FROM schema_migrations "
	    "WHERE version = 1", NULL, 0);
	ck_assert(v != NULL);
	ck_assert_str_eq(v, applied);
	free(v);
	db_free(d);
	event_base_free(base);
}
END_TEST

START_TEST(test_identity_stable)
{
	struct event_base	*base;
	struct db		*d;
	struct tstate		 t;
	char			 id[RELAY_ID_MAX], err[256], *v;
	int64_t			 created;

	pgtest_fresh_db("t_ident");
	base = event_base_new();
	memset(&t, 0, sizeof(t));
	d = open_db(base, "t_ident", &t);
	ck_assert_str_eq(db_relay_id(d), "");
	db_start(d);
	ck_assert_msg(run_until(base, &t.up, 1, 20000), "%s", t.reason);
	strlcpy(id, db_relay_id(d), sizeof(id));
	created = db_relay_created(d);
	ck_assert_int_eq(strlen(id), 42);
	ck_assert(strncmp(id, "relay-", 6) == 0);
	ck_assert(uuid_valid(id + 6));
	ck_assert(relay_id_valid(id));
	ck_assert(created > now_ms() - 600000 && created <= now_ms() + 1000);
	db_free(d);

	/* restart: the same id, still one row */
	memset(&t, 0, sizeof(t));
	d = open_db(base, "t_ident", &t);
	db_start(d);
	ck_assert(run_until(base, &t.up, 1, 20000));
	ck_assert_str_eq(db_relay_id(d), id);
	ck_assert_int_eq(db_relay_created(d), created);
	db_free(d);
	ck_assert_int_eq(pgtest_sql_num("t_ident",
	    "SELECT count(*) FROM relay_identity"), 1);
	v = pgtest_sql1("t_ident", "SELECT relay_id FROM relay_identity",
	    NULL, 0);
	ck_assert_str_eq(v, id);
	free(v);
	/* the table holds one row, whatever anyone tries */
	v = pgtest_sql1("t_ident", "INSERT INTO relay_identity (relay_id) "
	    "VALUES ('relay-other')", err, sizeof(err));
	ck_assert_msg(v == NULL, "second identity row accepted");
	v = pgtest_sql1("t_ident", "INSERT INTO relay_identity (singleton, "
	    "relay_id) VALUES (false, 'relay-other')", err, sizeof(err));
	ck_assert_msg(v == NULL, "second identity row accepted");
	ck_assert_msg(strstr(err, "relay_identity_singleton") != NULL, "%s",
	    err);
	event_base_free(base);
}
END_TEST

/* Several ledgerds on an empty database at once agree on everything. */
START_TEST(test_concurrent_start)
{
	struct event_base	*base;
	struct db		*d[4];
	struct tstate		 t[4];
	int			 i, n, ups;

	pgtest_fresh_db("t_race");
	for (n = 0; db_migrations[n].sql != NULL; n++)
		;
	base = event_base_new();
	for (i = 0; i < 4; i++) {
		memset(&t[i], 0, sizeof(t[i]));
		d[i] = open_db(base, "t_race", &t[i]);
	}
	for (i = 0; i < 4; i++)
		db_start(d[i]);
	for (ups = 0; ups < 4; ) {
		ck_assert(run_until(base, &t[ups].up, 1, 30000));
		ups++;
	}
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(t[i].down, 0);
		ck_assert_str_eq(db_relay_id(d[i]), db_relay_id(d[0]));
		ck_assert_int_eq(db_schema_version(d[i]),
		    db_schema_latest());
	}
	ck_assert_int_eq(pgtest_sql_num("t_race",
	    "SELECT count(*) FROM schema_migrations"), n);
	ck_assert_int_eq(pgtest_sql_num("t_race",
	    "SELECT count(*) FROM relay_identity"), 1);
	for (i = 0; i < 4; i++)
		db_free(d[i]);
	event_base_free(base);
}
END_TEST

/* A database newer than the binary: refuse to run (exit 1). */
START_TEST(test_newer_schema)
{
	struct event_base	*base;
	struct db		*d;
	struct tstate		 t;
	char			 q[256];

	pgtest_fresh_db("t_newer");
	base = event_base_new();
	memset(&t, 0, sizeof(t));
	d = open_db(base, "t_newer", &t);
	db_start(d);
	ck_assert(run_until(base, &t.up, 1, 20000));
	db_free(d);
	snprintf(q, sizeof(q), "INSERT INTO schema_migrations (version, "
	    "name) VALUES (%d, 'from-the-future')", db_schema_latest() + 1);
	pgtest_sql_ok("t_newer", q);

	memset(&t, 0, sizeof(t));
	d = open_db(base, "t_newer", &t);
	db_start(d);
	/* fatalx() exits 1 during the set-up; coming up is a failure */
	run_until(base, &t.up, 1, 20000);
	ck_abort_msg("ledgerd accepted a newer schema (up %d)", t.up);
}
END_TEST

/* The database, not ledgerd, keeps the books balanced. */
START_TEST(test_ledger_balance)
{
	struct event_base	*base;
	struct db		*d;
	struct tstate		 t;
	struct treply		 r, rs[5];
	const char		*p[4];
	char			 a1[32], a2[32];
	static const char	*entry =
	    "WITH e AS (INSERT INTO journal_entries (memo, idempotency_key) "
	    "VALUES ($1, $2) RETURNING id) "
	    "INSERT INTO postings (entry_id, account_id, amount) "
	    "SELECT e.id, x.account, x.amount FROM e, "
	    "unnest($3::bigint[], $4::bigint[]) AS x(account, amount)";
	char			 accts[80], amts[64];
	int			 i;

	pgtest_fresh_db("t_ledger");
	base = event_base_new();
	memset(&t, 0, sizeof(t));
	d = open_db(base, "t_ledger", &t);
	db_start(d);
	ck_assert(run_until(base, &t.up, 1, 20000));

	ck_assert_int_eq(query(base, d, &r, "INSERT INTO accounts (kind, "
	    "owner) VALUES ('agent', 'agent-1') RETURNING id", 0, NULL),
	    DB_OK);
	strlcpy(a1, r.value, sizeof(a1));
	ck_assert_int_eq(query(base, d, &r, "INSERT INTO accounts (kind, "
	    "owner) VALUES ('relay_fee', 'self') RETURNING id", 0, NULL),
	    DB_OK);
	strlcpy(a2, r.value, sizeof(a2));

	/* balanced: accepted */
	snprintf(accts, sizeof(accts), "{%s,%s}", a1, a2);
	p[0] = "fee";
	p[1] = "k1";
	p[2] = accts;
	p[3] = "{-1500000,1500000}";
	ck_assert_int_eq(query(base, d, &r, entry, 4, p), DB_OK);

	/* unbalanced: rejected at commit, nothing of it kept */
	p[1] = "k2";
	p[3] = "{-1500000,1499999}";
	ck_assert_int_eq(query(base, d, &r, entry, 4, p), DB_ERROR);
	ck_assert_str_eq(r.sqlstate, "23514");
	ck_assert_msg(strstr(r.error, "unbalanced") != NULL, "%s", r.error);

	/* a lone posting is not an entry */
	snprintf(amts, sizeof(amts), "{%s}", a1);
	p[1] = "k3";
	p[2] = amts;
	p[3] = "{0}";
	ck_assert_int_eq(query(base, d, &r, entry, 4, p), DB_ERROR);
	p[3] = "{7}";
	ck_assert_int_eq(query(base, d, &r, entry, 4, p), DB_ERROR);
	ck_assert_str_eq(r.sqlstate, "23514");

	/* an entry without postings */
	ck_assert_int_eq(query(base, d, &r, "INSERT INTO journal_entries "
	    "(memo) VALUES ('empty')", 0, NULL), DB_ERROR);
	ck_assert_str_eq(r.sqlstate, "23514");

	/* a posting added later to a balanced entry */
	p[0] = a1;
	ck_assert_int_eq(query(base, d, &r, "INSERT INTO postings (entry_id, "
	    "account_id, amount) SELECT min(id), $1, 5 FROM journal_entries",
	    1, p), DB_ERROR);
	ck_assert_str_eq(r.sqlstate, "23514");

	/* the same idempotency key twice: one entry */
	p[1] = "k1";
	p[2] = accts;
	p[3] = "{-1500000,1500000}";
	ck_assert_int_eq(query(base, d, &r, entry, 4, p), DB_ERROR);
	ck_assert_str_eq(r.sqlstate, "23505");

	/* an explicit transaction, pipelined; unbalanced at COMMIT */
	memset(rs, 0, sizeof(rs));
	ck_assert_int_eq(db_query(d, "BEGIN", 0, NULL, reply_cb, &rs[0]), 0);
	p[0] = "split";
	ck_assert_int_eq(db_query(d, "INSERT INTO journal_entries (memo) "
	    "VALUES ($1)", 1, p, reply_cb, &rs[1]), 0);
	p[0] = a1;
	ck_assert_int_eq(db_query(d, "INSERT INTO postings (entry_id, "
	    "account_id, amount) VALUES (currval(pg_get_serial_sequence("
	    "'journal_entries', 'id')), $1, 250)", 1, p, reply_cb, &rs[2]),
	    0);
	p[0] = a2;
	ck_assert_int_eq(db_query(d, "INSERT INTO postings (entry_id, "
	    "account_id, amount) VALUES (currval(pg_get_serial_sequence("
	    "'journal_entries', 'id')), $1, -249)", 1, p, reply_cb, &rs[3]),
	    0);
	ck_assert_int_eq(db_query(d, "COMMIT", 0, NULL, reply_cb, &rs[4]),
	    0);
	ck_assert(run_until(base, &rs[4].done, 1, 10000));
	for (i = 0; i < 4; i++)
		ck_assert_msg(rs[i].done && rs[i].status == DB_OK,
		    "statement %d: %s", i, rs[i].error);
	ck_assert_int_eq(rs[4].status, DB_ERROR);
	ck_assert_str_eq(rs[4].sqlstate, "23514");

	/* the ledger is append-only */
	ck_assert_int_eq(query(base, d, &r, "UPDATE postings SET amount = 1",
	    0, NULL), DB_ERROR);
	ck_assert_int_eq(query(base, d, &r, "DELETE FROM journal_entries",
	    0, NULL), DB_ERROR);

	/* balances derive from postings: only the first entry counts */
	p[0] = a1;
	ck_assert_int_eq(query(base, d, &r, "SELECT balance FROM balances "
	    "WHERE account_id = $1", 1, p), DB_OK);
	ck_assert_str_eq(r.value, "-1500000");
	p[0] = a2;
	ck_assert_int_eq(query(base, d, &r, "SELECT balance FROM balances "
	    "WHERE account_id = $1", 1, p), DB_OK);
	ck_assert_str_eq(r.value, "1500000");
	ck_assert_int_eq(query(base, d, &r, "SELECT count(*) FROM "
	    "journal_entries", 0, NULL), DB_OK);
	ck_assert_str_eq(r.value, "1");
	ck_assert_int_eq(query(base, d, &r, "SELECT sum(balance) FROM "
	    "balances", 0, NULL), DB_OK);
	ck_assert_str_eq(r.value, "0");
	ck_assert(db_up(d));
	db_free(d);
	event_base_free(base);
}
END_TEST

/* Many queries at once: answered in order, pipelined or not. */
static void
pipeline_run(unsigned int depth)
{
	struct event_base	*base;
	struct db		*d;
	struct tstate		 t;
	struct treply		*rs;
	const char		*p[1];
	char			 v[16];
	int			*order, i, n = 300;

	base = event_base_new();
	memset(&t, 0, sizeof(t));
	d = open_db(base, "relayd", &t);
	db_set_pipeline(d, depth);
	db_start(d);
	ck_assert(run_until(base, &t.up, 1, 20000));
	rs = calloc(n, sizeof(*rs));
	order = calloc(n + 1, sizeof(*order));
	ck_assert(rs != NULL && order != NULL);
	for (i = 0; i < n; i++) {
		snprintf(v, sizeof(v), "%d", i);
		p[0] = v;
		rs[i].order = order;
		rs[i].seq = i;
		if (i == 150) {
			/* an error in the middle affects no other query */
			ck_assert_int_eq(db_query(d, "SELECT 1/0", 0, NULL,
			    reply_cb, &rs[i]), 0);
			continue;
		}
		ck_assert_int_eq(db_query(d, "SELECT $1::int * 2", 1, p,
		    reply_cb, &rs[i]), 0);
	}
	ck_assert_int_eq(db_queue_length(d), n);
	ck_assert(run_until(base, &order[0], n, 20000));
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(order[i + 1], i);
		if (i == 150) {
			ck_assert_int_eq(rs[i].status, DB_ERROR);
			ck_assert_str_eq(rs[i].sqlstate, "22012");
			continue;
		}
		ck_assert_msg(rs[i].status == DB_OK, "%d: %s", i,
		    rs[i].error);
		ck_assert_int_eq(atoi(rs[i].value), 2 * i);
	}
	ck_assert_int_eq(db_queue_length(d), 0);
	if (depth == 1)
		ck_assert_int_eq(db_get_stats(d)->max_inflight, 1);
	else
		ck_assert_int_gt(db_get_stats(d)->max_inflight, 1);
	ck_assert_int_le(db_get_stats(d)->max_inflight, depth);
	ck_assert_int_eq(db_get_stats(d)->queries, n);
	ck_assert_int_eq(db_get_stats(d)->failed, 1);
	free(rs);
	free(order);
	db_free(d);
	event_base_free(base);
}

START_TEST(test_pipeline)
{
	pipeline_run(32);
}
END_TEST

START_TEST(test_no_pipeline)
{
	pipeline_run(1);
}
END_TEST

/* The queue is bounded: overload is refused, not buffered forever. */
START_TEST(test_queue_limit)
{
	struct event_base	*base;
	struct db		*d;
	struct tstate		 t;
	int			 i, n = 0, refused = 0;

	base = event_base_new();
	memset(&t, 0, sizeof(t));
	d = open_db(base, "relayd", &t);
	db_start(d);
	ck_assert(run_until(base, &t.up, 1, 20000));
	for (i = 0; i < 10000; i++) {
		if (db_query(d, "SELECT 1", 0, NULL, count_cb, &n) == -1)
			refused++;
	}
	ck_assert_int_eq(refused, 10000 - 8192);
	ck_assert_int_eq(db_get_stats(d)->refused, 10000 - 8192);
	ck_assert(run_until(base, &n, 8192, 20000));
	/* room again */
	ck_assert_int_eq(db_query(d, "SELECT 1", 0, NULL, count_cb, &n), 0);
	ck_assert(run_until(base, &n, 8193, 5000));
	db_free(d);
	event_base_free(base);
}
END_TEST

/* No server at all: immediate refusals and a backoff that grows. */
START_TEST(test_unreachable)
{
	struct event_base	*base;
	struct db		*d;
	struct db_hooks		 h;
	struct tstate		 t;
	struct treply		 r;
	char			 ci[PATH_MAX + 128], buf[256];
	int64_t			 t0;
	uint64_t		 attempts;

	base = event_base_new();
	memset(&t, 0, sizeof(t));
	memset(&h, 0, sizeof(h));
	h.up = hook_up;
	h.down = hook_down;
	h.arg = &t;
	snprintf(ci, sizeof(ci), "host=%s/nonexistent dbname=relayd user=%s",
	    pg_dir, pg_user);
	d = db_new(base, ci, &h);
	ck_assert_int_eq(db_query(d, "SELECT 1", 0, NULL, reply_cb, &r), -1);
	db_start(d);
	ck_assert(run_until(base, &t.down, 1, 5000));
	ck_assert_int_eq(t.up, 0);
	ck_assert_msg(strstr(t.reason, "No such file") != NULL, "%s",
	    t.reason);
	ck_assert_int_le(t.retry_ms, 100);
	ck_assert_int_eq(db_state(d), DB_S_WAIT);
	db_describe(d, buf, sizeof(buf));
	ck_assert_msg(strncmp(buf, "postgresql unavailable: ", 24) == 0 &&
	    strstr(buf, ", retrying in ") != NULL, "%s", buf);

	/* refused at once, callback never called */
	memset(&r, 0, sizeof(r));
	t0 = pgtest_mono_ms();
	ck_assert_int_eq(db_query(d, "SELECT 1", 0, NULL, reply_cb, &r), -1);
	ck_assert_int_lt(pgtest_mono_ms() - t0, 50);
	run_for(base, 1500);
	ck_assert_int_eq(r.done, 0);
	/* 100, 200, 400, 800 ms nominal, jittered down to half: ~5 tries */
	attempts = db_get_stats(d)->attempts;
	ck_assert_msg(attempts >= 3 && attempts <= 7, "%llu attempts",
	    (unsigned long long)attempts);
	ck_assert_int_gt(t.retry_ms, 200);
	ck_assert_int_le(t.retry_ms, 5000);
	ck_assert_int_eq(db_get_stats(d)->refused, 2);
	db_free(d);
	event_base_free(base);
}
END_TEST

/* The server crashes under a live session and comes back. */
START_TEST(test_server_restart)
{
	struct event_base	*base;
	struct db		*d;
	struct tstate		 t;
	struct treply		 r, slow;
	char			 id[RELAY_ID_MAX], buf[256];
	int64_t			 t0, back;

	pgtest_fresh_db("t_restart");
	base = event_base_new();
	memset(&t, 0, sizeof(t));
	d = open_db(base, "t_restart", &t);
	db_start(d);
	ck_assert(run_until(base, &t.up, 1, 20000));
	strlcpy(id, db_relay_id(d), sizeof(id));
	ck_assert_int_eq(query(base, d, &r, "SELECT 1", 0, NULL), DB_OK);

	/* a query in flight when the server dies */
	memset(&slow, 0, sizeof(slow));
	ck_assert_int_eq(db_query(d, "SELECT pg_sleep(60)", 0, NULL,
	    reply_cb, &slow), 0);
	run_for(base, 200);
	ck_assert_int_eq(slow.done, 0);
	ck_assert_msg(pgtest_sh("kill") == 0, "pg.sh kill failed");
	ck_assert_msg(run_until(base, &t.down, 1, 10000), "loss unnoticed");
	ck_assert(slow.done);
	ck_assert_int_eq(slow.status, DB_UNAVAILABLE);
	ck_assert_msg(strncmp(slow.error, "database unavailable", 20) == 0,
	    "%s", slow.error);
	ck_assert(!db_up(d));

	/* while down: immediate refusal, status says why and when */
	memset(&r, 0, sizeof(r));
	t0 = pgtest_mono_ms();
	ck_assert_int_eq(db_query(d, "SELECT 1", 0, NULL, reply_cb, &r), -1);
	ck_assert_int_lt(pgtest_mono_ms() - t0, 50);
	db_describe(d, buf, sizeof(buf));
	ck_assert_msg(strncmp(buf, "postgresql unavailable: ", 24) == 0,
	    "%s", buf);
	run_for(base, 1000);
	ck_assert_int_eq(t.up, 1);
	ck_assert_int_ge(t.down, 2);	/* failed attempts while down */

	/* back: reconnected within the backoff cap */
	ck_assert_msg(pgtest_sh("start") == 0, "pg.sh start failed");
	back = pgtest_mono_ms();
	ck_assert_msg(run_until(base, &t.up, 2, 15000), "no reconnection");
	ck_assert_msg(pgtest_mono_ms() - back <= 6000,
	    "reconnected after %lld ms", (long long)(pgtest_mono_ms() - back));
	ck_assert(db_up(d));
	ck_assert_str_eq(db_relay_id(d), id);
	ck_assert_int_eq(db_get_stats(d)->sessions, 2);
	ck_assert_int_eq(query(base, d, &r, "SELECT count(*) FROM "
	    "relay_identity", 0, NULL), DB_OK);
	ck_assert_str_eq(r.value, "1");
	db_describe(d, buf, sizeof(buf));
	ck_assert_msg(strncmp(buf, "postgresql connected, schema ", 29) == 0,
	    "%s", buf);
	db_free(d);
	event_base_free(base);
}
END_TEST

static Suite *
ledgerd_db_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("ledgerd_db");
	tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_conninfo_prepare);
	tcase_add_test(tc, test_migrations_once);
	tcase_add_test(tc, test_identity_stable);
	tcase_add_test(tc, test_concurrent_start);
	tcase_add_exit_test(tc, test_newer_schema, 1);
	tcase_add_test(tc, test_ledger_balance);
	tcase_add_test(tc, test_pipeline);
	tcase_add_test(tc, test_no_pipeline);
	tcase_add_test(tc, test_queue_limit);
	tcase_add_test(tc, test_unreachable);
	tcase_add_test(tc, test_server_restart);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	log_init(1, 0);
	log_setverbose(getenv("TEST_VERBOSE") != NULL);
	if (pgtest_start("test_ledgerd_db") == -1)
		return (1);
	sr = srunner_create(ledgerd_db_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
