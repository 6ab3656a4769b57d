/*
 * Private PostgreSQL cluster for Check tests; see pgtest.h.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <libpq-fe.h>

#include "pgtest.h"

char		 pg_dir[PATH_MAX];
char		 pg_host[PATH_MAX];
char		 pg_port[16];
char		 pg_user[64];

static const char *pg_prog = "pgtest";
static int	 pg_started;
static pid_t	 pg_main_pid;	/* Check forks: only main stops it */

static void	 pgtest_cleanup(void);
static void	 pgtest_signal(int);
static void	 pgtest_quiet(void *, const char *);

int64_t
pgtest_mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Runs pg.sh CMD DIR; after "start" takes the variables it prints. */
int
pgtest_sh(const char *cmd)
{
	char	 line[PATH_MAX + 64], *v, *e;
	FILE	*f;
	int	 st, parse = strcmp(cmd, "start") == 0;

	snprintf(line, sizeof(line), "'%s' %s '%s'", PG_SH, cmd, pg_dir);
	if ((f = popen(line, "r")) == NULL)
		return (-1);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (!parse)
			continue;
		line[strcspn(line, "\n")] = '\0';
		if ((v = strchr(line, '=')) == NULL)
			continue;
		*v++ = '\0';
		if (*v == '\'')
			v++;
		if ((e = strrchr(v, '\'')) != NULL)
			*e = '\0';
		if (strcmp(line, "PGHOST") == 0)
			strlcpy(pg_host, v, sizeof(pg_host));
		else if (strcmp(line, "PGPORT") == 0)
			strlcpy(pg_port, v, sizeof(pg_port));
		else if (strcmp(line, "PGUSER") == 0)
			strlcpy(pg_user, v, sizeof(pg_user));
	}
	st = pclose(f);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return (-1);
	return (0);
}

int
pgtest_start(const char *prog)
{
	pg_prog = prog;
	strlcpy(pg_dir, "/tmp/relayd-pgtest-XXXXXX", sizeof(pg_dir));
	if (mkdtemp(pg_dir) == NULL) {
		perror("mkdtemp");
		return (-1);
	}
	pg_main_pid = getpid();
	pg_started = 1;
	atexit(pgtest_cleanup);
	signal(SIGINT, pgtest_signal);
	signal(SIGTERM, pgtest_signal);
	signal(SIGHUP, pgtest_signal);
	if (pgtest_sh("start") == -1 || pg_host[0] == '\0' ||
	    pg_port[0] == '\0' || pg_user[0] == '\0') {
		fprintf(stderr, "%s: FAIL: cannot start a private PostgreSQL "
		    "cluster with %s (the PostgreSQL server binaries are "
		    "required)\n", prog, PG_SH);
		return (-1);
	}
	return (0);
}

static void
pgtest_cleanup(void)
{
	char	 cmd[PATH_MAX + 32];

	if (!pg_started || getpid() != pg_main_pid)
		return;
	pg_started = 0;
	if (pgtest_sh("stop") == -1)
		fprintf(stderr, "%s: pg.sh stop %s failed\n", pg_prog,
		    pg_dir);
	if (getenv("KEEP_PG") != NULL) {
		fprintf(stderr, "%s: kept %s\n", pg_prog, pg_dir);
		return;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", pg_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "%s: cannot remove %s\n", pg_prog, pg_dir);
}

static void
pgtest_signal(int sig)
{
	pgtest_cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

void
pgtest_conninfo(char *buf, size_t len, const char *dbname)
{
	snprintf(buf, len, "host=%s port=%s dbname=%s user=%s", pg_host,
	    pg_port, dbname, pg_user);
}

static void
pgtest_quiet(void *arg, const char *msg)
{
}

/* First cell of the result (or "" for a command), NULL on error. */
char *
pgtest_sql1(const char *dbname, const char *query, char *errbuf,
    size_t errlen)
{
	char		 ci[PATH_MAX + 128];
	PGconn		*c;
	PGresult	*r;
	char		*out = NULL;

	pgtest_conninfo(ci, sizeof(ci), dbname);
	c = PQconnectdb(ci);
	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "connect %s: %s", dbname,
	    PQerrorMessage(c));
	PQsetNoticeProcessor(c, pgtest_quiet, NULL);
	r = PQexec(c, query);
	if (PQresultStatus(r) == PGRES_TUPLES_OK) {
		if (PQntuples(r) > 0 && PQnfields(r) > 0)
			out = strdup(PQgetvalue(r, 0, 0));
		else
			out = strdup("");
	} else if (PQresultStatus(r) == PGRES_COMMAND_OK)
		out = strdup("");
	if (errbuf != NULL)
		snprintf(errbuf, errlen, "%s", out != NULL ? "" :
		    PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(c);
	return (out);
}

void
pgtest_sql_ok(const char *dbname, const char *query)
{
	char	 err[512], *v;

	v = pgtest_sql1(dbname, query, err, sizeof(err));
	ck_assert_msg(v != NULL, "%s: %s", query, err);
	free(v);
}

long long
pgtest_sql_num(const char *dbname, const char *query)
{
	char		 err[512], *v;
	long long	 n;

	v = pgtest_sql1(dbname, query, err, sizeof(err));
	ck_assert_msg(v != NULL, "%s: %s", query, err);
	n = strtoll(v, NULL, 10);
	free(v);
	return (n);
}

void
pgtest_fresh_db(const char *name)
{
	char	 q[256];

	snprintf(q, sizeof(q), "DROP DATABASE IF EXISTS %s WITH (FORCE)",
	    name);
	pgtest_sql_ok("postgres", q);
	snprintf(q, sizeof(q), "CREATE DATABASE %s", name);
	pgtest_sql_ok("postgres", q);
}
