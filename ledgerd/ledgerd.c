/*
 * ledgerd: the only relayd process that speaks to PostgreSQL.
 *
 * It runs chrooted as the unprivileged user under its seccomp allowlist
 * and keeps one asynchronous libpq connection on its event loop (db.c).
 * At every (re)connection the session set-up applies the compiled-in
 * schema migrations, reads or creates the relay identity and counts the
 * local agents.  What it tells the others:
 *
 *	IMSG_LDG_IDENTITY	to the parent, once, when the relay id is
 *				first known (it never changes afterwards:
 *				a different id after a reconnection is
 *				fatal)
 *	IMSG_LDG_STATE		to every connected process (parent,
 *				frontends, peer engine, routed) whenever
 *				the session goes up or down
 *	IMSG_CFG_ACK		to the parent after each config stream
 *
 * Requests from the engines are answered from db_query() callbacks.  A
 * request that arrives while the session is down gets its error answer at
 * once (db_query returns -1), which the frontend reports as 503 "database
 * unavailable"; one that was already queued when the connection drops is
 * answered with the same error by its callback (DB_UNAVAILABLE), never
 * silently replayed, because ledgerd cannot know whether a write in flight
 * committed.  Callers retry with their idempotency keys.
 */
#include "config.h"

#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <event.h>

#include "agents.h"
#include "db.h"
#include "encoding.h"
#include "log.h"
#include "peers.h"
#include "proc.h"
#include "relayd_imsg.h"

struct ledgerd {
	struct proc		 proc;
	struct db		*db;
	/* config in force and config being received */
	struct cfg_global	 global;
	struct cfg_global	 global_new;
	struct cfg_database	 database;
	struct cfg_database	 database_new;
	int			 have_database;	/* in force */
	int			 have_database_new;
	int			 configured;	/* first IMSG_CFG_DONE seen */
	char			*conninfo;	/* prepared for the sandbox */
	struct cfg_identity	 identity;	/* from the parent */
	int			 identity_sent;
	int			 state_sent;	/* -1 never, 0 down, 1 up */
	uint64_t		 state_changes;
};

static struct ledgerd	 env;

__attribute__((__noreturn__)) static void usage(void);
static int	 ledgerd_dispatch_parent(struct imsgev *, struct imsg *);
static int	 ledgerd_dispatch_engine(struct imsgev *, struct imsg *);
static void	 ledgerd_ready(struct proc *);
static void	 ledgerd_started(struct proc *);
static void	 ledgerd_status(struct proc *, struct proc_status *);
static void	 ledgerd_shutdown(struct proc *);
static void	 ledgerd_db_up(struct db *, void *);
static void	 ledgerd_db_down(struct db *, const char *, unsigned int,
		    void *);
static void	 ledgerd_send_state(int, const char *);

static const struct proc_dispatch ledgerd_dispatch[] = {
	{ PROC_PARENT,		ledgerd_dispatch_parent },
	{ PROC_FRONTEND,	ledgerd_dispatch_engine },
	{ PROC_PEER,		ledgerd_dispatch_engine },
	{ PROC_ROUTED,		ledgerd_dispatch_engine },
	{ PROC_KEYD,		ledgerd_dispatch_engine },
	{ 0,			NULL }
};

static void
usage(void)
{
	fprintf(stderr, "usage: ledgerd [-dv]\n");
	exit(1);
}

int
main(int argc, char *argv[])
{
	int	 ch, debug = 0, verbose = 0;

	while ((ch = getopt(argc, argv, "dv")) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	if (argc != 0)
		usage();

	log_init(debug, LOG_DAEMON);
	log_setverbose(verbose);

	env.state_sent = -1;
	env.proc.dispatch = ledgerd_dispatch;
	env.proc.ready = ledgerd_ready;
	env.proc.started = ledgerd_started;
	env.proc.status = ledgerd_status;
	env.proc.shutdown = ledgerd_shutdown;
	proc_child_init(&env.proc, PROC_LEDGERD, 0, "ledgerd");
	proc_run(&env.proc);
	return (0);
}

static int
ledgerd_dispatch_parent(struct imsgev *iev, struct imsg *imsg)
{
	struct cfg_identity	 id;

	switch (imsg_get_type(imsg)) {
	case IMSG_CFG_GLOBAL:
		if (imsg_get_data(imsg, &env.global_new,
		    sizeof(env.global_new)) == -1)
			fatalx("bad IMSG_CFG_GLOBAL");
		env.global_new.name[sizeof(env.global_new.name) - 1] = '\0';
		env.global_new.endpoint[sizeof(env.global_new.endpoint) - 1] =
		    '\0';
		break;
	case IMSG_CFG_DATABASE:
		if (imsg_get_data(imsg, &env.database_new,
		    sizeof(env.database_new)) == -1)
			fatalx("bad IMSG_CFG_DATABASE");
		env.database_new.conninfo[
		    sizeof(env.database_new.conninfo) - 1] = '\0';
		env.database_new.user[sizeof(env.database_new.user) - 1] =
		    '\0';
		env.have_database_new = 1;
		break;
	case IMSG_CFG_DONE:
		if (imsg_get_len(imsg) != 0)
			fatalx("bad IMSG_CFG_DONE");
		/* the database is set at start; reloads may repeat it */
		if (!env.configured && !env.have_database_new)
			fatalx("first config stream without "
			    "IMSG_CFG_DATABASE");
		env.global = env.global_new;
		if (!env.configured) {
			env.database = env.database_new;
			env.have_database = 1;
		} else if (env.have_database_new &&
		    (strcmp(env.database.conninfo,
		    env.database_new.conninfo) != 0 ||
		    strcmp(env.database.user, env.database_new.user) != 0))
			log_warnx("the database setting changed; it takes "
			    "effect when relayd is restarted");
		explicit_bzero(&env.database_new, sizeof(env.database_new));
		env.have_database_new = 0;
		env.configured = 1;
		proc_compose(&env.proc, PROC_PARENT, 0, IMSG_CFG_ACK, 0, -1,
		    NULL, 0);
		break;
	case IMSG_CFG_IDENTITY:
		if (imsg_get_data(imsg, &id, sizeof(id)) == -1)
			fatalx("bad IMSG_CFG_IDENTITY");
		id.relay_id[sizeof(id.relay_id) - 1] = '\0';
		id.public_key[sizeof(id.public_key) - 1] = '\0';
		id.did[sizeof(id.did) - 1] = '\0';
		if (env.db != NULL && *db_relay_id(env.db) != '\0' &&
		    strcmp(id.relay_id, db_relay_id(env.db)) != 0)
			fatalx("parent announced relay id %s, the database "
			    "holds %s", id.relay_id, db_relay_id(env.db));
		env.identity = id;
		log_debug("identity %s, key %s", id.relay_id, id.public_key);
		break;
	default:
		return (-1);
	}
	return (0);
}

/*
 * The peer engine loads and writes the peer table (peers.c), routed
 * loads the local agents (agents.c), the frontends' agent API and
 * relayctl's agent commands go to agent_reg.c.  keyd sends nothing but
 * the framework's generic messages yet; anything else is fatal.
 */
static int
ledgerd_dispatch_engine(struct imsgev *iev, struct imsg *imsg)
{
	if ((iev->peer == PROC_FRONTEND || iev->peer == PROC_PEER) &&
	    agreg_dispatch(&env.proc, env.db, iev, imsg) == 0)
		return (0);
	if (iev->peer == PROC_PEER)
		return (peers_dispatch(&env.proc, env.db, iev, imsg));
	if (iev->peer == PROC_ROUTED)
		return (agents_dispatch(&env.proc, env.db, iev, imsg));
	return (-1);
}

/* Still root, before chroot: fix the connection string and the chroot. */
static void
ledgerd_ready(struct proc *p)
{
	char	 chrootdir[sizeof(p->cfgproc.chroot)];
	char	 err[256];
	int	 chrooting;

	if (!env.have_database)
		fatalx("no database configuration before IMSG_PROC_READY");
	chrooting = geteuid() == 0;
	env.conninfo = db_conninfo_prepare(env.database.conninfo,
	    env.database.user[0] ? env.database.user : p->cfgproc.user,
	    chrooting, chrootdir, sizeof(chrootdir), err, sizeof(err));
	if (env.conninfo == NULL)
		fatalx("%s", err);
	if (chrooting && chrootdir[0] != '\0') {
		log_debug("chroot %s: the database socket directory",
		    chrootdir);
		strlcpy(p->cfgproc.chroot, chrootdir,
		    sizeof(p->cfgproc.chroot));
	}
}

/* Sandboxed: connect. */
static void
ledgerd_started(struct proc *p)
{
	struct db_hooks	 hooks;

	memset(&hooks, 0, sizeof(hooks));
	hooks.up = ledgerd_db_up;
	hooks.down = ledgerd_db_down;
	hooks.arg = &env;
	env.db = db_new(p->evbase, env.conninfo, &hooks);
	freezero(env.conninfo, strlen(env.conninfo));
	env.conninfo = NULL;
	db_start(env.db);
}

static void
ledgerd_status(struct proc *p, struct proc_status *st)
{
	if (env.db == NULL) {
		st->healthy = 0;
		strlcpy(st->detail, "postgresql not started yet",
		    sizeof(st->detail));
		return;
	}
	st->healthy = db_up(env.db);
	db_describe(env.db, st->detail, sizeof(st->detail));
}

static void
ledgerd_shutdown(struct proc *p)
{
	if (env.db != NULL) {
		db_free(env.db);
		env.db = NULL;
	}
}

static void
ledgerd_db_up(struct db *db, void *arg)
{
	struct ldg_identity	 li;
	char			 detail[128];

	if (!env.identity_sent) {
		memset(&li, 0, sizeof(li));
		strlcpy(li.relay_id, db_relay_id(db), sizeof(li.relay_id));
		li.created = db_relay_created(db);
		proc_compose(&env.proc, PROC_PARENT, 0, IMSG_LDG_IDENTITY, 0,
		    -1, &li, sizeof(li));
		env.identity_sent = 1;
	}
	db_describe(db, detail, sizeof(detail));
	ledgerd_send_state(1, detail);
}

static void
ledgerd_db_down(struct db *db, const char *reason, unsigned int retry_ms,
    void *arg)
{
	char	 detail[128];

	snprintf(detail, sizeof(detail), "postgresql unavailable: %s",
	    reason);
	ledgerd_send_state(0, detail);
}

/* The visible agent count changed (agent_reg.c): send the state again. */
void
ledgerd_agent_count_changed(void)
{
	char	 detail[128];

	if (env.db == NULL || !db_up(env.db) || env.state_sent != 1)
		return;
	db_describe(env.db, detail, sizeof(detail));
	env.state_sent = -1;
	ledgerd_send_state(1, detail);
}

/* IMSG_LDG_STATE to everyone connected, when the state flips. */
static void
ledgerd_send_state(int connected, const char *detail)
{
	static const enum proc_id to[] = {
		PROC_PARENT, PROC_FRONTEND, PROC_PEER, PROC_ROUTED
	};
	struct ldg_state	 ls;
	size_t			 i;

	if (env.state_sent == connected)
		return;
	env.state_sent = connected;
	env.state_changes++;
	memset(&ls, 0, sizeof(ls));
	ls.connected = connected;
	if (connected) {
		ls.agent_count = db_agent_count(env.db);
		ls.schema_version = db_schema_version(env.db);
	}
	strlcpy(ls.detail, detail, sizeof(ls.detail));
	for (i = 0; i < sizeof(to) / sizeof(to[0]); i++)
		/* ENOTCONN when a process has no channel to us: fine */
		(void)proc_compose(&env.proc, to[i], -1, IMSG_LDG_STATE, 0,
		    -1, &ls, sizeof(ls));
}
