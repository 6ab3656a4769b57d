/*
 * relayd(8): the parent process.
 *
 * The parent runs as root.  It parses relayd.conf(5), opens everything
 * that needs privileges (listening sockets, the key file, the control
 * socket, the audit log), fork+execs the children, connects them with
 * socketpairs it creates itself, hands each child only the configuration
 * it needs, writes keyd's hash-chained audit log, reloads on SIGHUP and
 * takes the whole daemon down when any child dies.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event.h>

#include "audit.h"
#include "conf.h"
#include "crypto.h"
#include "encoding.h"
#include "frontend.h"
#include "log.h"
#include "proc.h"
#include "relayd.h"

#define CHILD_MAX	(PROC_MAX_INSTANCES + PROC_MAX)
#define STOP_TIMEOUT_MS	5000

struct child {
	enum proc_id	 id;
	int		 instance;
	pid_t		 pid;
	int		 running;
	int		 acked;		/* config generation acknowledged */
};

/* Which processes talk to each other (DESIGN.md section 1). */
static const struct {
	enum proc_id	 a;
	enum proc_id	 b;
} links[] = {
	{ PROC_FRONTEND,	PROC_KEYD },
	{ PROC_FRONTEND,	PROC_PEER },
	{ PROC_FRONTEND,	PROC_ROUTED },
	{ PROC_FRONTEND,	PROC_LEDGERD },
	{ PROC_PEER,		PROC_KEYD },
	{ PROC_PEER,		PROC_ROUTED },
	{ PROC_PEER,		PROC_LEDGERD },
	{ PROC_LEDGERD,		PROC_KEYD },
	{ PROC_ROUTED,		PROC_LEDGERD },
};

/* Shutdown order: stop taking requests first, the signer last. */
static const enum proc_id stop_order[] = {
	PROC_FRONTEND, PROC_PEER, PROC_ROUTED, PROC_LEDGERD, PROC_KEYD
};

const char		*relayd_libexec = RELAYD_LIBEXECDIR;
static const char	*relayd_sbin = RELAYD_SBINDIR;
static const char	*conffile = RELAYD_CONF_FILE;
extern char		**environ;

static struct proc	 parent;
static struct relayd_config *conf;
static struct child	 children[CHILD_MAX];
static int		 nchildren;
static int		 debug, verbose;
static int		 listen_fds[64];
static int		 nlisten;
static int		 control_fd = -1;
static int		 audit_fd = -1;
static uint8_t		 audit_prev[SHA256_LEN];
static uint64_t		 audit_records;
static uint64_t		 audit_unacked;	/* last record not acked */
static struct event	 ev_audit;	/* audit_flush() */
static uint8_t		 relay_pubkey[ED25519_PUB_LEN];
static int		 have_pubkey;
static char		 relay_id[RELAY_ID_MAX];
static struct cfg_identity identity;
static int		 identity_sent;
static int		 config_gen;
static int		 reload_pending;
static uint32_t		 reload_ctl_id;	/* control client waiting, or 0 */
static struct event	 ev_sigchld;
static int		 stopping;

static __attribute__((__noreturn__)) void usage(void);
static void	 parent_sig(int, short, void *);
static void	 parent_shutdown(struct proc *);
static void	 parent_status(struct proc *, struct proc_status *);
static int	 parent_dispatch_child(struct imsgev *, struct imsg *);
static void	 spawn_children(void);
static void	 connect_children(void);
static void	 send_config(int);
static int	 parent_reload(char *, size_t);
static void	 open_listeners(void);
static void	 open_control(void);
static void	 open_audit(void);
static void	 audit_ack(uint64_t);
static void	 audit_flush(int, short, void *);
static void	 audit_drain(void);
static void	 audit_append(const struct key_audit *);
static int	 open_keyfile(int *);
static int	 read_passphrase(char *, size_t);
static int	 read_file(const char *, char **, size_t *);

static const struct proc_dispatch parent_dispatch[] = {
	{ PROC_FRONTEND,	parent_dispatch_child },
	{ PROC_PEER,		parent_dispatch_child },
	{ PROC_ROUTED,		parent_dispatch_child },
	{ PROC_LEDGERD,		parent_dispatch_child },
	{ PROC_KEYD,		parent_dispatch_child },
	{ 0,			NULL }
};

static void
usage(void)
{
	fprintf(stderr, "usage: %s [-dnv] [-D macro=value] [-f file]\n",
	    getprogname());
	exit(2);
}

/*
 * Descriptors: the soft limit goes up to the hard one before the
 * children are spawned (they inherit it), so that the frontends'
 * `max connections' is not cut down by a default of 1024.  The sandbox
 * leaves RLIMIT_NOFILE alone (sandbox.c); a frontend clamps its cap to
 * the limit it finds (http.c).
 */
static void
raise_nofile(void)
{
	struct rlimit	 rl;
	rlim_t		 was;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_warn("getrlimit(RLIMIT_NOFILE)");
		return;
	}
	if (rl.rlim_cur == rl.rlim_max)
		return;
	was = rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_warn("setrlimit(RLIMIT_NOFILE)");
		return;
	}
	log_debug("descriptor limit raised from %llu to %llu",
	    (unsigned long long)was, (unsigned long long)rl.rlim_cur);
}

int
main(int argc, char *argv[])
{
	const char	*procname = NULL, *errstr;
	int		 ch, noaction = 0, instance = 0;

#ifdef __linux__
	/* libbsd's setproctitle needs to know where argv and environ are */
	setproctitle_init(argc, argv, environ);
#endif
	while ((ch = getopt(argc, argv, "D:df:I:nP:vx:")) != -1) {
		switch (ch) {
		case 'D':
			if (cmdline_symset(optarg) < 0)
				errx(2, "could not parse macro definition %s",
				    optarg);
			break;
		case 'd':
			debug = 1;
			break;
		case 'f':
			conffile = optarg;
			break;
		case 'I':
			instance = strtonum(optarg, 0,
			    PROC_MAX_INSTANCES - 1, &errstr);
			if (errstr != NULL)
				errx(2, "instance %s is %s", optarg, errstr);
			break;
		case 'n':
			noaction = 1;
			break;
		case 'P':
			procname = optarg;
			break;
		case 'v':
			verbose++;
			break;
		case 'x':
			/* hidden: run the children from a build tree */
			relayd_libexec = optarg;
			relayd_sbin = NULL;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	if (argc != 0)
		usage();

	if (procname != NULL) {
		/* a child of the parent: relayd -P frontend|peer */
		log_init(debug, LOG_DAEMON);
		log_setverbose(verbose + debug);
		if (strcmp(procname, "frontend") == 0)
			frontend_main(debug, verbose, instance);
		if (strcmp(procname, "peer") == 0)
			peer_main(debug, verbose);
		errx(2, "unknown process %s", procname);
	}

	log_init(1, LOG_DAEMON);	/* stderr until daemonized */
	log_setverbose(verbose + (noaction ? 0 : debug));
	if ((conf = parse_config(conffile, 0)) == NULL)
		exit(1);
	if (noaction) {
		if (verbose)
			config_print(stdout, conf);
		else
			fprintf(stderr, "configuration OK\n");
		config_free(conf);
		exit(0);
	}
	if (geteuid() != 0 && !debug)
		errx(1, "need root privileges (or -d for development mode)");

	conf->g.verbose = verbose;
	open_audit();
	open_listeners();
	open_control();

	log_init(debug, LOG_DAEMON);
	log_setverbose(verbose + debug);
	log_procinit("parent");
	if (!debug && daemon(1, 0) == -1)
		fatal("daemon");

	raise_nofile();
	event_set_log_callback(log_event_cb);

	memset(&parent, 0, sizeof(parent));
	parent.id = PROC_PARENT;
	parent.title = "parent";
	parent.dispatch = parent_dispatch;
	parent.shutdown = parent_shutdown;
	parent.status = parent_status;
	if ((parent.evbase = event_base_new()) == NULL)
		fatalx("event_base_new");
	strlcpy(parent.sandbox.user, "root", sizeof(parent.sandbox.user));

	evsignal_assign(&parent.ev_sigterm, parent.evbase, SIGTERM,
	    parent_sig, &parent);
	evsignal_assign(&parent.ev_sigint, parent.evbase, SIGINT,
	    parent_sig, &parent);
	evsignal_assign(&parent.ev_sighup, parent.evbase, SIGHUP,
	    parent_sig, &parent);
	evsignal_assign(&parent.ev_sigpipe, parent.evbase, SIGPIPE,
	    parent_sig, &parent);
	evsignal_assign(&ev_sigchld, parent.evbase, SIGCHLD,
	    parent_sig, &parent);
	evsignal_add(&parent.ev_sigterm, NULL);
	evsignal_add(&parent.ev_sigint, NULL);
	evsignal_add(&parent.ev_sighup, NULL);
	evsignal_add(&parent.ev_sigpipe, NULL);
	evsignal_add(&ev_sigchld, NULL);
	evtimer_assign(&ev_audit, parent.evbase, audit_flush, NULL);

	spawn_children();
	connect_children();
	send_config(1);

	log_info("relayd %s starting (%d frontends)", RELAYD_VERSION,
	    (int)conf->g.prefork);
	event_base_dispatch(parent.evbase);
	proc_shutdown(&parent, 0);
}

/*
 * Children.
 */

static void
exec_child(enum proc_id id, int instance, int fd)
{
	char	 path[PATH_MAX], inst[16];
	char	*argv[8];
	int	 argc = 0, i;

	switch (id) {
	case PROC_FRONTEND:
	case PROC_PEER:
		if (relayd_sbin != NULL)
			snprintf(path, sizeof(path), "%s/relayd", relayd_sbin);
		else
			snprintf(path, sizeof(path), "%s/relayd/relayd",
			    relayd_libexec);
		break;
	default:
		if (relayd_sbin != NULL)
			snprintf(path, sizeof(path), "%s/%s", relayd_libexec,
			    proc_name(id));
		else
			snprintf(path, sizeof(path), "%s/%s/%s",
			    relayd_libexec, proc_name(id), proc_name(id));
		break;
	}
	argv[argc++] = path;
	if (id == PROC_FRONTEND || id == PROC_PEER) {
		argv[argc++] = "-P";
		argv[argc++] = (char *)proc_name(id);
		snprintf(inst, sizeof(inst), "%d", instance);
		argv[argc++] = "-I";
		argv[argc++] = inst;
	}
	if (debug)
		argv[argc++] = "-d";
	if (verbose)
		argv[argc++] = "-v";
	argv[argc] = NULL;

	if (fd != PROC_PARENT_FD) {
		if (dup2(fd, PROC_PARENT_FD) == -1)
			fatal("dup2");
	} else if (fcntl(fd, F_SETFD, 0) == -1)
		fatal("fcntl");
	for (i = PROC_PARENT_FD + 1; i < 1024; i++)
		(void)close(i);
	execv(path, argv);
	fatal("exec %s", path);
}

static void
spawn_one(enum proc_id id, int instance)
{
	struct child	*c;
	int		 sv[2];
	pid_t		 pid;

	if (nchildren >= CHILD_MAX)
		fatalx("too many children");
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		fatal("socketpair");
	switch ((pid = fork())) {
	case -1:
		fatal("fork");
	case 0:
		close(sv[0]);
		exec_child(id, instance, sv[1]);
		/* NOTREACHED */
	}
	close(sv[1]);
	c = &children[nchildren++];
	c->id = id;
	c->instance = instance;
	c->pid = pid;
	c->running = 1;
	proc_iev_new(&parent, sv[0], id, instance);
	log_debug("started %s[%d], pid %d", proc_name(id), instance,
	    (int)pid);
}

static void
spawn_children(void)
{
	uint32_t	i;

	spawn_one(PROC_KEYD, 0);
	spawn_one(PROC_LEDGERD, 0);
	spawn_one(PROC_ROUTED, 0);
	spawn_one(PROC_PEER, 0);
	for (i = 0; i < conf->g.prefork; i++)
		spawn_one(PROC_FRONTEND, i);
}

static void
send_fd(enum proc_id to, int toinst, enum proc_id peer, int peerinst, int fd)
{
	struct proc_fd	pf;

	pf.peer = peer;
	pf.instance = peerinst;
	if (proc_compose(&parent, to, toinst, IMSG_PROC_FD, 0, fd, &pf,
	    sizeof(pf)) == -1)
		fatal("%s: %s[%d]", __func__, proc_name(to), toinst);
}

static void
connect_children(void)
{
	size_t	i;
	int	ia, ib, sv[2];

	for (i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		for (ia = 0; ia < parent.ninst[links[i].a]; ia++) {
			for (ib = 0; ib < parent.ninst[links[i].b]; ib++) {
				if (socketpair(AF_UNIX, SOCK_STREAM, 0,
				    sv) == -1)
					fatal("socketpair");
				send_fd(links[i].a, ia, links[i].b, ib, sv[0]);
				send_fd(links[i].b, ib, links[i].a, ia, sv[1]);
			}
		}
	}
}

static void
send_to_all(uint32_t type, const void *data, size_t len)
{
	int	i;

	for (i = 0; i < nchildren; i++)
		if (children[i].running)
			proc_compose(&parent, children[i].id,
			    children[i].instance, type, 0, -1, data, len);
}

/*
 * Send each child the part of the configuration it needs.  At start-up
 * (first != 0) this includes the process settings and the descriptors;
 * on reload only the reloadable settings.
 */
static void
send_config(int first)
{
	struct cfg_proc		 cp;
	struct cfg_fedrule	 fr;
	struct cfg_listen	 cl;
	struct cfg_database	 db;
	struct cfg_key		 ck;
	struct cfg_tls_hdr	 th;
	struct fedrule_config	*r;
	struct listen_config	*l;
	struct child		*c;
	struct iovec		 iov[3];
	char			*cert, *key;
	size_t			 certlen, keylen;
	int			 i, idx, fd;

	config_gen++;
	for (i = 0; i < nchildren; i++) {
		c = &children[i];
		c->acked = 0;
		if (first) {
			memset(&cp, 0, sizeof(cp));
			if (geteuid() == 0) {
				strlcpy(cp.user, c->id == PROC_KEYD ?
				    conf->key_user : conf->user,
				    sizeof(cp.user));
				strlcpy(cp.chroot, conf->chroot,
				    sizeof(cp.chroot));
			}
			cp.debug = debug;
			cp.verbose = log_getverbose();
			proc_compose(&parent, c->id, c->instance,
			    IMSG_CFG_PROC, 0, -1, &cp, sizeof(cp));
		}
		/* keyd too: the claims it signs into the documents */
		proc_compose(&parent, c->id, c->instance, IMSG_CFG_GLOBAL, 0,
		    -1, &conf->g, sizeof(conf->g));
		if (c->id == PROC_FRONTEND || c->id == PROC_PEER) {
			TAILQ_FOREACH(r, &conf->fedrules, entry) {
				memset(&fr, 0, sizeof(fr));
				strlcpy(fr.relay_id, r->relay_id,
				    sizeof(fr.relay_id));
				fr.block = r->block;
				proc_compose(&parent, c->id, c->instance,
				    IMSG_CFG_FEDRULE, 0, -1, &fr, sizeof(fr));
			}
		}
		if (!first)
			goto done;
		switch (c->id) {
		case PROC_FRONTEND:
			idx = 0;
			TAILQ_FOREACH(l, &conf->listens, entry) {
				memset(&cl, 0, sizeof(cl));
				strlcpy(cl.addr, l->addr, sizeof(cl.addr));
				cl.port = l->port;
				cl.tls = l->tls;
				cl.index = idx;
				if ((fd = dup(listen_fds[idx])) == -1)
					fatal("dup");
				proc_compose(&parent, c->id, c->instance,
				    IMSG_CFG_LISTEN, 0, fd, &cl, sizeof(cl));
				if (l->tls) {
					if (read_file(l->cert, &cert,
					    &certlen) == -1 ||
					    read_file(l->key, &key,
					    &keylen) == -1)
						fatalx("cannot read TLS "
						    "certificate or key");
					th.index = idx;
					th.certlen = certlen;
					th.keylen = keylen;
					iov[0].iov_base = &th;
					iov[0].iov_len = sizeof(th);
					iov[1].iov_base = cert;
					iov[1].iov_len = certlen;
					iov[2].iov_base = key;
					iov[2].iov_len = keylen;
					if (imsg_composev_event(
					    proc_iev(&parent, c->id,
					    c->instance), IMSG_CFG_TLS, 0, 0,
					    -1, iov, 3) == -1)
						fatal("send TLS material");
					freezero(key, keylen);
					free(cert);
				}
				idx++;
			}
			break;
		case PROC_PEER:
			if ((fd = dup(control_fd)) == -1)
				fatal("dup");
			proc_compose(&parent, c->id, c->instance,
			    IMSG_CFG_CONTROL, 0, fd, NULL, 0);
			break;
		case PROC_LEDGERD:
			memset(&db, 0, sizeof(db));
			strlcpy(db.conninfo, conf->database,
			    sizeof(db.conninfo));
			if (geteuid() == 0)
				strlcpy(db.user, conf->user, sizeof(db.user));
			proc_compose(&parent, c->id, c->instance,
			    IMSG_CFG_DATABASE, 0, -1, &db, sizeof(db));
			break;
		case PROC_KEYD:
			memset(&ck, 0, sizeof(ck));
			strlcpy(ck.path, conf->key_path, sizeof(ck.path));
			fd = open_keyfile(&ck.created);
			if (conf->key_pass_path[0] != '\0') {
				if (read_passphrase(ck.passphrase,
				    sizeof(ck.passphrase)) == -1)
					fatalx("cannot read passphrase file");
				ck.passlen = strlen(ck.passphrase);
			}
			proc_compose(&parent, c->id, c->instance,
			    IMSG_CFG_KEY, 0, fd, &ck, sizeof(ck));
			explicit_bzero(&ck, sizeof(ck));
			/* the head of the log keyd's records will extend */
			audit_ack(0);
			break;
		default:
			break;
		}
 done:
		proc_compose(&parent, c->id, c->instance, IMSG_CFG_DONE, 0,
		    -1, NULL, 0);
		if (first)
			proc_compose(&parent, c->id, c->instance,
			    IMSG_PROC_READY, 0, -1, NULL, 0);
	}
	if (identity_sent && !first)
		send_to_all(IMSG_CFG_IDENTITY, &identity, sizeof(identity));
}

static void
maybe_send_identity(void)
{
	if (identity_sent || !have_pubkey || relay_id[0] == '\0')
		return;
	memset(&identity, 0, sizeof(identity));
	strlcpy(identity.relay_id, relay_id, sizeof(identity.relay_id));
	hex_encode(relay_pubkey, sizeof(relay_pubkey), identity.public_key);
	if (did_key_from_pubkey(relay_pubkey, identity.did,
	    sizeof(identity.did)) == -1)
		fatalx("cannot build did:key");
	send_to_all(IMSG_CFG_IDENTITY, &identity, sizeof(identity));
	identity_sent = 1;
	log_info("relay %s ready, %s", identity.relay_id, identity.did);
}

/*
 * Records up to seq are written and, unless seq is 0 (start-up: the head
 * of the existing log), synced: keyd releases the signatures they cover.
 * One fdatasync per batch: audit_flush() runs once libevent has dispatched
 * every message that arrived together.
 */
static void
audit_ack(uint64_t seq)
{
	struct key_audit_ack	 ack;

	/* appends: the data and the file size, which fdatasync covers */
	if (seq != 0 && fdatasync(audit_fd) == -1)
		fatal("audit log %s: fdatasync", conf->audit_log);
	memset(&ack, 0, sizeof(ack));
	ack.seq = seq;
	memcpy(ack.head, audit_prev, sizeof(ack.head));
	proc_compose(&parent, PROC_KEYD, 0, IMSG_KEY_AUDIT_ACK, 0, -1, &ack,
	    sizeof(ack));
}

static void
audit_flush(int fd, short ev, void *arg)
{
	if (audit_unacked != 0)
		audit_ack(audit_unacked);
	audit_unacked = 0;
}

/*
 * keyd's last records (the shutdown checkpoint) after it exited: the
 * loop no longer runs, so read what is left on its channel directly.
 */
static void
audit_drain(void)
{
	struct imsgev	*iev;
	struct imsg	 imsg;
	struct key_audit ka;

	if ((iev = proc_iev(&parent, PROC_KEYD, 0)) == NULL)
		return;
	while (imsgbuf_read(&iev->ibuf) == 1) {
		while (imsgbuf_get(&iev->ibuf, &imsg) == 1) {
			if (imsg_get_type(&imsg) == IMSG_KEY_AUDIT &&
			    imsg_get_data(&imsg, &ka, sizeof(ka)) == 0)
				audit_append(&ka);
			imsg_free(&imsg);
		}
	}
}

static void
audit_append(const struct key_audit *ka)
{
	char	 line[1024];
	int	 n;
	ssize_t	 w;
	size_t	 off = 0;

	if ((n = audit_format(line, sizeof(line) - 1, audit_prev, ka)) <= 0)
		fatalx("cannot format audit record");
	audit_line_hash(line, n, audit_prev);
	line[n++] = '\n';
	while (off < (size_t)n) {
		if ((w = write(audit_fd, line + off, n - off)) == -1) {
			if (errno == EINTR)
				continue;
			/*
			 * A signature whose record cannot be written must
			 * not go unnoticed: stop the daemon.
			 */
			fatal("audit log %s", conf->audit_log);
		}
		off += w;
	}
	audit_records++;
	audit_unacked = ka->seq;
	if (!stopping)
		event_active(&ev_audit, EV_TIMEOUT, 0);
}

static void
ctl_answer(uint32_t ctl_id, int ok, const char *msg)
{
	struct ctl_result	res;

	memset(&res, 0, sizeof(res));
	strlcpy(res.msg, msg, sizeof(res.msg));
	proc_compose(&parent, PROC_PEER, 0, ok ? IMSG_CTL_OK : IMSG_CTL_FAIL,
	    ctl_id, -1, &res, sizeof(res));
}

static struct child *
child_of(struct imsgev *iev)
{
	int	i;

	for (i = 0; i < nchildren; i++)
		if (children[i].id == iev->peer &&
		    children[i].instance == iev->instance)
			return (&children[i]);
	fatalx("%s: unknown channel", __func__);
}

static void
check_acks(void)
{
	char	msg[128];
	int	i;

	if (!reload_pending)
		return;
	for (i = 0; i < nchildren; i++)
		if (children[i].running && children[i].acked != config_gen)
			return;
	reload_pending = 0;
	log_info("configuration reloaded");
	if (reload_ctl_id != 0) {
		snprintf(msg, sizeof(msg), "configuration reloaded");
		ctl_answer(reload_ctl_id, 1, msg);
		reload_ctl_id = 0;
	}
}

static int
parent_dispatch_child(struct imsgev *iev, struct imsg *imsg)
{
	struct key_pubkey	 kp;
	struct key_audit	 ka;
	struct ldg_identity	 li;
	struct ctl_key		 ck;
	struct child		*c;
	char			 msg[256];
	int			 v;

	switch (imsg_get_type(imsg)) {
	case IMSG_CFG_ACK:
		c = child_of(iev);
		c->acked = config_gen;
		check_acks();
		return (0);
	case IMSG_KEY_PUBKEY:
		if (iev->peer != PROC_KEYD ||
		    imsg_get_data(imsg, &kp, sizeof(kp)) == -1)
			fatalx("bad IMSG_KEY_PUBKEY");
		if (have_pubkey && memcmp(kp.public_key, relay_pubkey,
		    sizeof(relay_pubkey)) != 0)
			fatalx("keyd changed its public key");
		memcpy(relay_pubkey, kp.public_key, sizeof(relay_pubkey));
		have_pubkey = 1;
		maybe_send_identity();
		return (0);
	case IMSG_KEY_AUDIT:
		if (iev->peer != PROC_KEYD ||
		    imsg_get_data(imsg, &ka, sizeof(ka)) == -1)
			fatalx("bad IMSG_KEY_AUDIT");
		audit_append(&ka);
		return (0);
	case IMSG_LDG_IDENTITY:
		if (iev->peer != PROC_LEDGERD ||
		    imsg_get_data(imsg, &li, sizeof(li)) == -1)
			fatalx("bad IMSG_LDG_IDENTITY");
		li.relay_id[sizeof(li.relay_id) - 1] = '\0';
		if (!relay_id_valid(li.relay_id))
			fatalx("ledgerd sent an invalid relay id");
		if (relay_id[0] != '\0' && strcmp(relay_id, li.relay_id) != 0)
			fatalx("ledgerd changed the relay id");
		strlcpy(relay_id, li.relay_id, sizeof(relay_id));
		maybe_send_identity();
		return (0);
	case IMSG_LDG_STATE:
		/* informational for the parent */
		return (0);
	case IMSG_CTL_RELOAD:
		if (iev->peer != PROC_PEER)
			return (-1);
		if (parent_reload(msg, sizeof(msg)) == -1)
			ctl_answer(imsg_get_id(imsg), 0, msg);
		else
			reload_ctl_id = imsg_get_id(imsg);
		return (0);
	case IMSG_CTL_VERBOSE:
		if (iev->peer != PROC_PEER ||
		    imsg_get_data(imsg, &v, sizeof(v)) == -1)
			return (-1);
		log_setverbose(v);
		send_to_all(IMSG_CTL_VERBOSE, &v, sizeof(v));
		snprintf(msg, sizeof(msg), "logging %s",
		    v > 1 ? "verbose" : "brief");
		log_info("%s", msg);
		ctl_answer(imsg_get_id(imsg), 1, msg);
		return (0);
	case IMSG_CTL_SHOW_KEY:
		if (iev->peer != PROC_PEER)
			return (-1);
		memset(&ck, 0, sizeof(ck));
		if (identity_sent) {
			strlcpy(ck.public_key, identity.public_key,
			    sizeof(ck.public_key));
			strlcpy(ck.did, identity.did, sizeof(ck.did));
			pubkey_fingerprint(relay_pubkey, ck.fingerprint);
		}
		strlcpy(ck.path, conf->key_path, sizeof(ck.path));
		proc_compose(&parent, PROC_PEER, 0, IMSG_CTL_SHOW_KEY,
		    imsg_get_id(imsg), -1, &ck, sizeof(ck));
		return (0);
	}
	return (-1);
}

static void
parent_status(struct proc *p, struct proc_status *st)
{
	int	n;

	n = snprintf(st->detail, sizeof(st->detail),
	    "%llu audit records this run, log ",
	    (unsigned long long)audit_records);
	if (n > 0 && (size_t)n < sizeof(st->detail))
		strlcat(st->detail, conf->audit_log, sizeof(st->detail));
}

/*
 * Reload: parse the file again; only a configuration that parses
 * cleanly replaces the running one.  Settings that need descriptors or
 * privileges the children no longer have are kept from the running
 * configuration, with a warning.
 */
static int
parent_reload(char *msg, size_t msglen)
{
	struct relayd_config	*nconf;

	if (reload_pending) {
		snprintf(msg, msglen, "reload already in progress");
		return (-1);
	}
	log_info("reloading configuration from %s", conffile);
	if ((nconf = parse_config(conffile, 0)) == NULL) {
		snprintf(msg, msglen, "reload failed: %s has errors, "
		    "keeping the running configuration", conffile);
		log_warnx("%s", msg);
		return (-1);
	}
#define KEEP(f, what) do {						\
	if (strcmp(nconf->f, conf->f) != 0) {				\
		log_warnx("reload: %s changed; restart relayd to "	\
		    "apply it", what);					\
		strlcpy(nconf->f, conf->f, sizeof(nconf->f));		\
	}								\
} while (0)
	KEEP(user, "user");
	KEEP(key_user, "key user");
	KEEP(chroot, "chroot");
	KEEP(key_path, "key");
	KEEP(key_pass_path, "passphrase file");
	KEEP(audit_log, "audit log");
	KEEP(database, "database");
	KEEP(control_sock, "control socket");
#undef KEEP
	if (nconf->g.prefork != conf->g.prefork) {
		log_warnx("reload: prefork changed; restart relayd to "
		    "apply it");
		nconf->g.prefork = conf->g.prefork;
	}
	/* listeners stay as they are: the sockets are already bound */
	while (!TAILQ_EMPTY(&nconf->listens)) {
		struct listen_config *l = TAILQ_FIRST(&nconf->listens);

		TAILQ_REMOVE(&nconf->listens, l, entry);
		free(l);
	}
	while (!TAILQ_EMPTY(&conf->listens)) {
		struct listen_config *l = TAILQ_FIRST(&conf->listens);

		TAILQ_REMOVE(&conf->listens, l, entry);
		TAILQ_INSERT_TAIL(&nconf->listens, l, entry);
	}
	nconf->g.verbose = log_getverbose();
	config_free(conf);
	conf = nconf;
	reload_pending = 1;
	send_config(0);
	snprintf(msg, msglen, "reload started");
	return (0);
}

static void
parent_sig(int sig, short event, void *arg)
{
	char	 msg[256];
	pid_t	 pid;
	int	 status, i;

	switch (sig) {
	case SIGTERM:
	case SIGINT:
		log_info("received %s, shutting down",
		    sig == SIGTERM ? "SIGTERM" : "SIGINT");
		proc_shutdown(&parent, 0);
	case SIGHUP:
		(void)parent_reload(msg, sizeof(msg));
		break;
	case SIGCHLD:
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			for (i = 0; i < nchildren; i++) {
				if (children[i].pid != pid)
					continue;
				children[i].running = 0;
				if (stopping)
					break;
				if (WIFSIGNALED(status))
					log_warnx("lost child: %s[%d] "
					    "(pid %d) killed by signal %d",
					    proc_name(children[i].id),
					    children[i].instance, (int)pid,
					    WTERMSIG(status));
				else
					log_warnx("lost child: %s[%d] "
					    "(pid %d) exited with status %d",
					    proc_name(children[i].id),
					    children[i].instance, (int)pid,
					    WEXITSTATUS(status));
				proc_shutdown(&parent, 1);
			}
		}
		break;
	default:
		break;
	}
}

static int
children_alive(enum proc_id id)
{
	pid_t	 pid;
	int	 i, status, n = 0;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (i = 0; i < nchildren; i++)
			if (children[i].pid == pid)
				children[i].running = 0;
	for (i = 0; i < nchildren; i++)
		if (children[i].running && children[i].id == id)
			n++;
	return (n);
}

/*
 * Stop the children in order, each group with a deadline, then clean up.
 * Called on SIGTERM and when any child is gone.
 */
static void
parent_shutdown(struct proc *p)
{
	struct timespec	 ts = { 0, 10 * 1000 * 1000 };
	size_t		 o;
	int		 i, waited;

	stopping = 1;
	for (o = 0; o < sizeof(stop_order) / sizeof(stop_order[0]); o++) {
		for (i = 0; i < nchildren; i++)
			if (children[i].running &&
			    children[i].id == stop_order[o])
				kill(children[i].pid, SIGTERM);
		for (waited = 0; children_alive(stop_order[o]) > 0;
		    waited += 10) {
			if (waited >= STOP_TIMEOUT_MS) {
				for (i = 0; i < nchildren; i++)
					if (children[i].running &&
					    children[i].id == stop_order[o]) {
						log_warnx("%s[%d] did not "
						    "stop, killing it",
						    proc_name(children[i].id),
						    children[i].instance);
						kill(children[i].pid, SIGKILL);
					}
				waited = 0;
			}
			nanosleep(&ts, NULL);
		}
	}
	if (conf != NULL && control_fd != -1)
		unlink(conf->control_sock);
	audit_drain();
	if (audit_fd != -1)
		fsync(audit_fd);
	log_info("terminating");
}

/*
 * Privileged resources.
 */

static void
open_listeners(void)
{
	struct listen_config	*l;
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 sslen;
	int			 fd, on = 1;

	TAILQ_FOREACH(l, &conf->listens, entry) {
		memset(&ss, 0, sizeof(ss));
		if (inet_pton(AF_INET, l->addr, &sin->sin_addr) == 1) {
			sin->sin_family = AF_INET;
			sin->sin_port = htons(l->port);
			sslen = sizeof(*sin);
		} else if (inet_pton(AF_INET6, l->addr,
		    &sin6->sin6_addr) == 1) {
			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons(l->port);
			sslen = sizeof(*sin6);
		} else
			fatalx("listen on %s: not a numeric address",
			    l->addr);
		if (nlisten >= (int)(sizeof(listen_fds) /
		    sizeof(listen_fds[0])))
			fatalx("too many listen addresses");
		if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0)) == -1)
			fatal("socket");
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
		    sizeof(on)) == -1)
			fatal("setsockopt SO_REUSEADDR");
		if (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
		    IPV6_V6ONLY, &on, sizeof(on)) == -1)
			fatal("setsockopt IPV6_V6ONLY");
		if (bind(fd, (struct sockaddr *)&ss, sslen) == -1)
			fatal("bind %s port %u", l->addr, l->port);
		if (listen(fd, 128) == -1)
			fatal("listen %s port %u", l->addr, l->port);
		listen_fds[nlisten++] = fd;
	}
}

static void
open_control(void)
{
	struct sockaddr_un	 sun;
	mode_t			 old;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, conf->control_sock,
	    sizeof(sun.sun_path)) >= sizeof(sun.sun_path))
		fatalx("control socket path too long: %s", conf->control_sock);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		fatal("socket");
	/* refuse to steal the socket of a running relayd */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		fatalx("control socket %s is in use: is relayd already "
		    "running?", conf->control_sock);
	close(fd);
	if (unlink(conf->control_sock) == -1 && errno != ENOENT)
		fatal("unlink %s", conf->control_sock);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		fatal("socket");
	old = umask(S_IXUSR | S_IXGRP | S_IRWXO);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		fatal("bind %s", conf->control_sock);
	umask(old);
	if (chmod(conf->control_sock, S_IRUSR | S_IWUSR | S_IRGRP |
	    S_IWGRP) == -1)
		fatal("chmod %s", conf->control_sock);
	if (listen(fd, 16) == -1)
		fatal("listen %s", conf->control_sock);
	control_fd = fd;
}

static void
open_audit(void)
{
	char	 errbuf[256];
	int	 fd;

	fd = open(conf->audit_log, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, S_IRUSR | S_IWUSR);
	if (fd == -1)
		err(1, "audit log %s", conf->audit_log);
	if (audit_last_hash(fd, audit_prev, errbuf, sizeof(errbuf)) == -1)
		errx(1, "audit log %s: %s", conf->audit_log, errbuf);
	audit_fd = fd;
}

static int
open_keyfile(int *created)
{
	int	fd;

	/* O_EXCL tells a file we created from one that was already there */
	fd = open(conf->key_path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, S_IRUSR | S_IWUSR);
	if (fd != -1) {
		*created = 1;
		log_info("created key file %s", conf->key_path);
		return (fd);
	}
	if (errno != EEXIST)
		fatal("key file %s", conf->key_path);
	if ((fd = open(conf->key_path, O_RDWR | O_NOFOLLOW | O_CLOEXEC)) == -1)
		fatal("key file %s", conf->key_path);
	*created = 0;
	return (fd);
}

static int
read_file(const char *path, char **buf, size_t *len)
{
	struct stat	 st;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		log_warn("%s", path);
		return (-1);
	}
	if (fstat(fd, &st) == -1 || st.st_size > 128 * 1024) {
		log_warnx("%s: unreadable or too large", path);
		close(fd);
		return (-1);
	}
	if ((*buf = malloc(st.st_size + 1)) == NULL)
		fatal("malloc");
	n = read(fd, *buf, st.st_size);
	close(fd);
	if (n != st.st_size) {
		log_warnx("%s: short read", path);
		free(*buf);
		return (-1);
	}
	(*buf)[n] = '\0';
	*len = n;
	return (0);
}

static int
read_passphrase(char *out, size_t outlen)
{
	char	*buf;
	size_t	 len, size;

	if (read_file(conf->key_pass_path, &buf, &len) == -1)
		return (-1);
	size = len + 1;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (len == 0 || len >= outlen) {
		log_warnx("%s: empty or too long passphrase",
		    conf->key_pass_path);
		freezero(buf, size);
		return (-1);
	}
	memcpy(out, buf, len);
	out[len] = '\0';
	freezero(buf, size);
	return (0);
}
