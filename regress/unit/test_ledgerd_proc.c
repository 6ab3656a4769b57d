/*
 * The ledgerd binary under a fake parent: this test plays relayd's part
 * on fd 3 (config stream, IMSG_PROC_READY, status requests) with the
 * real imsg code and checks what ledgerd says back while a private
 * PostgreSQL cluster (regress/pg.sh) is crash-stopped and restarted.
 * Run as root, ledgerd also chroots into the socket directory.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "imsg.h"
#include "pgtest.h"
#include "relayd_imsg.h"

struct child {
	pid_t			 pid;
	struct imsgbuf		 ibuf;
	int			 eof;
	/* what ledgerd sent */
	int			 acks;
	int			 idents;
	struct ldg_identity	 ident;
	int			 states;
	struct ldg_state	 state;
	int			 statuses;
	struct proc_status	 status;
	int			 other;		/* unexpected types */
};

static void
spawn(struct child *c)
{
	int	 sv[2];

	memset(c, 0, sizeof(*c));
	/* close-on-exec: pg.sh and the server it starts must not hold it */
	ck_assert(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv) == 0);
	c->pid = fork();
	ck_assert(c->pid != -1);
	if (c->pid == 0) {
		if (sv[1] == PROC_PARENT_FD) {
			if (fcntl(sv[1], F_SETFD, 0) == -1)
				_exit(127);
		} else if (dup2(sv[1], PROC_PARENT_FD) == -1)
			_exit(127);
		execl(LEDGERD_PATH, "ledgerd", "-d",
		    getenv("TEST_VERBOSE") != NULL ? "-v" : NULL,
		    (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	ck_assert(imsgbuf_init(&c->ibuf, sv[0]) == 0);
	ck_assert(imsgbuf_set_maxsize(&c->ibuf, PROC_IMSG_MAXSIZE) == 0);
}

static void
send_msg(struct child *c, uint32_t type, const void *data, size_t len)
{
	ck_assert(imsg_compose(&c->ibuf, type, 0, 0, -1, data, len) == 1);
	ck_assert(imsgbuf_flush(&c->ibuf) == 0);
}

/* The config stream; dbname NULL leaves IMSG_CFG_DATABASE out. */
static void
send_config(struct child *c, const char *dbname)
{
	struct cfg_global	 g;
	struct cfg_database	 db;

	memset(&g, 0, sizeof(g));
	strlcpy(g.name, "test", sizeof(g.name));
	g.fee_ppm = 50000;
	send_msg(c, IMSG_CFG_GLOBAL, &g, sizeof(g));
	if (dbname != NULL) {
		memset(&db, 0, sizeof(db));
		pgtest_conninfo(db.conninfo, sizeof(db.conninfo), dbname);
		strlcpy(db.user, pg_user, sizeof(db.user));
		send_msg(c, IMSG_CFG_DATABASE, &db, sizeof(db));
	}
	send_msg(c, IMSG_CFG_DONE, NULL, 0);
}

static void
start(struct child *c, const char *dbname)
{
	struct cfg_proc	 cp;

	spawn(c);
	memset(&cp, 0, sizeof(cp));	/* stay root if root, no chroot */
	cp.debug = 1;
	send_msg(c, IMSG_CFG_PROC, &cp, sizeof(cp));
	send_config(c, dbname);
	send_msg(c, IMSG_PROC_READY, NULL, 0);
}

/* Reads what is there (waiting up to ms) and files it. */
static void
pump(struct child *c, int ms)
{
	struct pollfd	 pfd;
	struct imsg	 imsg;
	int		 n;

	pfd.fd = c->ibuf.fd;
	pfd.events = POLLIN;
	if (c->eof || poll(&pfd, 1, ms) <= 0)
		return;
	n = imsgbuf_read(&c->ibuf);
	ck_assert(n != -1);
	if (n == 0)
		c->eof = 1;
	while ((n = imsgbuf_get(&c->ibuf, &imsg)) == 1) {
		switch (imsg_get_type(&imsg)) {
		case IMSG_CFG_ACK:
			ck_assert_int_eq(imsg_get_len(&imsg), 0);
			c->acks++;
			break;
		case IMSG_LDG_IDENTITY:
			ck_assert(imsg_get_data(&imsg, &c->ident,
			    sizeof(c->ident)) == 0);
			c->idents++;
			break;
		case IMSG_LDG_STATE:
			ck_assert(imsg_get_data(&imsg, &c->state,
			    sizeof(c->state)) == 0);
			c->states++;
			break;
		case IMSG_PROC_STATUS:
			ck_assert(imsg_get_data(&imsg, &c->status,
			    sizeof(c->status)) == 0);
			c->statuses++;
			break;
		default:
			c->other++;
			break;
		}
		imsg_free(&imsg);
	}
	ck_assert(n == 0);
}

static int
wait_count(struct child *c, const int *counter, int want, int ms)
{
	int64_t	 end = pgtest_mono_ms() + ms;

	while (*counter < want && !c->eof && pgtest_mono_ms() < end)
		pump(c, 50);
	return (*counter >= want);
}

static void
status(struct child *c)
{
	struct proc_status_req	 req;
	int			 n = c->statuses;

	req.reqid = 4242 + n;
	send_msg(c, IMSG_PROC_STATUS_REQ, &req, sizeof(req));
	ck_assert_msg(wait_count(c, &c->statuses, n + 1, 5000),
	    "no status answer");
	ck_assert_int_eq(c->status.reqid, 4242 + n);
	ck_assert_int_eq(c->status.proc, PROC_LEDGERD);
	c->status.detail[sizeof(c->status.detail) - 1] = '\0';
}

/* Waits for ledgerd to exit; returns its wait status or -1. */
static int
reap(struct child *c, int ms)
{
	int64_t	 end = pgtest_mono_ms() + ms;
	int	 st;
	pid_t	 r;

	while ((r = waitpid(c->pid, &st, WNOHANG)) == 0 &&
	    pgtest_mono_ms() < end)
		pump(c, 20);
	if (r != c->pid) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, &st, 0);
		return (-1);
	}
	return (st);
}

static void
stop(struct child *c)
{
	int	 st;

	imsgbuf_clear(&c->ibuf);
	close(c->ibuf.fd);
	c->eof = 1;
	st = reap(c, 10000);
	ck_assert_msg(st != -1, "ledgerd did not exit on EOF");
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "ledgerd exit status %d", st);
}

START_TEST(test_lifecycle)
{
	struct child	 c;
	char		*v;
	int64_t		 back;

	pgtest_fresh_db("t_proc");
	start(&c, "t_proc");
	ck_assert_msg(wait_count(&c, &c.states, 1, 20000),
	    "no IMSG_LDG_STATE (eof %d)", c.eof);
	ck_assert_int_eq(c.acks, 1);
	ck_assert_int_eq(c.idents, 1);
	ck_assert_int_eq(c.other, 0);

	/* the identity is the database's */
	c.ident.relay_id[sizeof(c.ident.relay_id) - 1] = '\0';
	v = pgtest_sql1("t_proc", "SELECT relay_id FROM relay_identity",
	    NULL, 0);
	ck_assert(v != NULL);
	ck_assert_str_eq(c.ident.relay_id, v);
	free(v);
	ck_assert(strncmp(c.ident.relay_id, "relay-", 6) == 0);
	ck_assert(c.ident.created > 0);

	ck_assert_int_eq(c.state.connected, 1);
	ck_assert_int_eq(c.state.schema_version, pgtest_sql_num("t_proc",
	    "SELECT max(version) FROM schema_migrations"));
	ck_assert_int_eq(c.state.agent_count, 0);

	status(&c);
	ck_assert_int_eq(c.status.healthy, 1);
	ck_assert_msg(strncmp(c.status.detail, "postgresql connected, "
	    "schema ", 29) == 0, "%s", c.status.detail);
	if (geteuid() == 0) {
		/* chrooted above the socket directory (root's) */
		ck_assert_int_eq(c.status.chrooted, 1);
		ck_assert_str_eq(c.status.chroot, pg_dir);
	}

	/* two agents, seen at the next connection */
	pgtest_sql_ok("t_proc", "INSERT INTO agents (motebit_id, public_key) "
	    "VALUES ('a1', repeat('1', 64)), ('a2', repeat('2', 64))");

	/* the server crashes: everyone is told, status says why */
	ck_assert_msg(pgtest_sh("kill") == 0, "pg.sh kill failed");
	ck_assert_msg(wait_count(&c, &c.states, 2, 10000), "no down state");
	ck_assert_int_eq(c.state.connected, 0);
	c.state.detail[sizeof(c.state.detail) - 1] = '\0';
	ck_assert_msg(strncmp(c.state.detail, "postgresql unavailable: ",
	    24) == 0, "%s", c.state.detail);
	status(&c);
	ck_assert_int_eq(c.status.healthy, 0);
	ck_assert_msg(strncmp(c.status.detail, "postgresql unavailable: ",
	    24) == 0, "%s", c.status.detail);
	/* several failed attempts while down, but one state message */
	pump(&c, 1000);
	ck_assert_int_eq(c.states, 2);

	/* back: up again, identity not sent twice, agents counted */
	ck_assert_msg(pgtest_sh("start") == 0, "pg.sh start failed");
	back = pgtest_mono_ms();
	ck_assert_msg(wait_count(&c, &c.states, 3, 15000), "no up state");
	ck_assert_int_le(pgtest_mono_ms() - back, 6000);
	ck_assert_int_eq(c.state.connected, 1);
	ck_assert_int_eq(c.state.agent_count, 2);
	ck_assert_int_eq(c.idents, 1);
	status(&c);
	ck_assert_int_eq(c.status.healthy, 1);

	/* reloads are acknowledged; a new database string waits */
	send_config(&c, NULL);
	ck_assert(wait_count(&c, &c.acks, 2, 5000));
	send_config(&c, "elsewhere");
	ck_assert(wait_count(&c, &c.acks, 3, 5000));
	status(&c);
	ck_assert_int_eq(c.status.healthy, 1);
	ck_assert_int_eq(c.states, 3);
	ck_assert_int_eq(c.other, 0);

	/* EOF from the parent: clean exit */
	stop(&c);
}
END_TEST

/* A message ledgerd has no business receiving kills it. */
START_TEST(test_unexpected_imsg)
{
	struct child		 c;
	struct key_pubkey	 kp;
	int			 st;

	start(&c, "relayd");
	ck_assert(wait_count(&c, &c.states, 1, 20000));
	memset(&kp, 0, sizeof(kp));
	send_msg(&c, IMSG_KEY_PUBKEY, &kp, sizeof(kp));
	st = reap(&c, 10000);
	ck_assert_msg(st != -1, "ledgerd ignored an unexpected message");
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	imsgbuf_clear(&c.ibuf);
	close(c.ibuf.fd);
}
END_TEST

/* A truncated config message from the parent is fatal too. */
START_TEST(test_bad_size)
{
	struct child	 c;
	char		 half[sizeof(struct cfg_database) / 2];
	int		 st;

	spawn(&c);
	memset(half, 0, sizeof(half));
	send_msg(&c, IMSG_CFG_DATABASE, half, sizeof(half));
	st = reap(&c, 10000);
	ck_assert(st != -1);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	imsgbuf_clear(&c.ibuf);
	close(c.ibuf.fd);
}
END_TEST

/* A first config stream without a database setting is refused. */
START_TEST(test_no_database)
{
	struct child	 c;
	struct cfg_proc	 cp;
	int		 st;

	spawn(&c);
	memset(&cp, 0, sizeof(cp));
	send_msg(&c, IMSG_CFG_PROC, &cp, sizeof(cp));
	send_config(&c, NULL);
	send_msg(&c, IMSG_PROC_READY, NULL, 0);
	st = reap(&c, 10000);
	ck_assert(st != -1);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	imsgbuf_clear(&c.ibuf);
	close(c.ibuf.fd);
}
END_TEST

static Suite *
ledgerd_proc_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("ledgerd_proc");
	tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_bad_size);
	tcase_add_test(tc, test_no_database);
	tcase_add_test(tc, test_unexpected_imsg);
	tcase_add_test(tc, test_lifecycle);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	signal(SIGPIPE, SIG_IGN);
	if (access(LEDGERD_PATH, X_OK) == -1) {
		fprintf(stderr, "test_ledgerd_proc: FAIL: %s: %s\n",
		    LEDGERD_PATH, strerror(errno));
		return (1);
	}
	if (pgtest_start("test_ledgerd_proc") == -1)
		return (1);
	sr = srunner_create(ledgerd_proc_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
