/*
 * keyd: holds the relay's Ed25519 private key and signs typed requests
 * under a per-requester policy.  keyd(8) is the auditor's description;
 * this file is the process around the signing path: start-up, channels,
 * the poll(2) loop, shutdown.  The decisions live in kinds.c and sign.c.
 *
 * keyd links no libevent, no libpq and no HTTP code, so that what holds
 * the key can be read in one sitting.  It is started by relayd(8) with
 * its parent channel on fd 3 and gets every other channel from the parent
 * over that one, before IMSG_PROC_READY.  Then it loads the key (into
 * OpenSSL's locked secure heap where RLIMIT_MEMLOCK allows), closes the
 * key file, drops privileges, enters its sandbox and only answers
 * messages from then on.
 *
 * No signature leaves keyd before its audit record is on disk: keyd
 * sends the record to the parent and holds the answer; the parent writes
 * and fsyncs each batch of records and acknowledges the last sequence
 * number (IMSG_KEY_AUDIT_ACK, with its chain head, which must be keyd's);
 * only then are the answers up to it released.  If the parent cannot
 * write, it dies, keyd sees the channel close and the held answers die
 * with it.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "audit.h"
#include "crypto.h"
#include "encoding.h"
#include "imsg.h"
#include "keyd.h"
#include "log.h"
#include "keyd_imsg.h"
#include "sandbox.h"

/* The parent, up to PROC_MAX_INSTANCES frontends, the peer engine, ledgerd */
#define KEYD_CHANNELS	(1 + PROC_MAX_INSTANCES + 2)
/* Queued messages on a channel before keyd stops reading requests. */
#define KEYD_BACKLOG	1024
/* OpenSSL's secure heap, where the private key lives: locked pages. */
#define KEYD_SECURE_HEAP	(32 * 1024)

struct keyd_chan {
	struct imsgbuf	 kc_ibuf;
	enum proc_id	 kc_peer;
	int		 kc_instance;
	int		 kc_refusals;	/* counted refusals, fatal at max */
	uint64_t	 kc_signed;
	struct keyd_bucket kc_bucket;	/* KEYD_RATE per second */
};

/* An answer waiting for the parent to have written its audit record. */
struct held {
	TAILQ_ENTRY(held)	 entry;
	uint64_t		 seq;
	struct keyd_chan	*kc;
	uint32_t		 peerid;
	struct key_sign_resp	 resp;
	char			*doc;
	size_t			 doclen;
};
static TAILQ_HEAD(, held)	 heldq = TAILQ_HEAD_INITIALIZER(heldq);
static uint32_t			 nheld;

static struct keyd_chan		 chans[KEYD_CHANNELS];	/* [0]: parent */
static int			 nchans;
static struct keyd_state	 ks;
static struct sandbox_state	 sb;
static struct cfg_proc		 cfgproc;
static struct cfg_key		 cfgkey;
static int			 keyfd = -1;
static int			 started;	/* key loaded, sandboxed */
static pid_t			 mypid;
static uid_t			 myuid;
static gid_t			 mygid;
static uint64_t			 nsigned, nrefused, nlimited;
static char			 memlock[64];	/* for status */
static volatile sig_atomic_t	 quit;

__attribute__((__noreturn__)) static void usage(void);
__attribute__((__noreturn__)) static void keyd_exit(int);
__attribute__((__noreturn__)) static void chan_lost(struct keyd_chan *);
static void	 keyd_atexit(void);
static void	 keyd_sighdlr(int);
static void	 keyd_loop(void);
static void	 keyd_ready(void);
static const char *chan_name(const struct keyd_chan *);
static void	 chan_add(int, enum proc_id, int);
static void	 chan_compose(struct keyd_chan *, uint32_t, uint32_t,
		    const void *, size_t, const void *, size_t);
static void	 chan_dispatch(struct keyd_chan *, struct imsg *);
static void	 dispatch_parent(struct keyd_chan *, struct imsg *);
static void	 dispatch_sign(struct keyd_chan *, struct imsg *);
static void	 dispatch_handshake(struct keyd_chan *, struct imsg *);
static void	 dispatch_status(struct keyd_chan *, struct imsg *);
static void	 audit_record(const struct key_audit *);
static void	 audit_acked(struct imsg *);
static void	 checkpoint(void);
static void	 key_memory(void);

static void
usage(void)
{
	fprintf(stderr, "usage: %s [-dv]\n", getprogname());
	exit(1);
}

int
main(int argc, char *argv[])
{
	struct stat		 st;
	struct rlimit		 rl;
	struct sigaction	 sa;
	int			 ch, debug = 0, verbose = 0;

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

	/*
	 * Without the parent's socket on fd 3 there is nobody to load a
	 * key for and nobody to send audit records to.
	 */
	if (fstat(PROC_PARENT_FD, &st) == -1 || !S_ISSOCK(st.st_mode))
		errx(1, "fd %d is not a socket: keyd is started by relayd(8)",
		    PROC_PARENT_FD);

	/*
	 * The key must never reach a core file, and nothing running as the
	 * same user may ptrace keyd and read it.  sandbox_privdrop() sets
	 * this again after the uid change, which resets it.
	 */
	rl.rlim_cur = rl.rlim_max = 0;
	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		err(1, "setrlimit RLIMIT_CORE");
#ifdef __linux__
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		err(1, "prctl PR_SET_DUMPABLE");
#endif
	/* Any other inherited descriptor is a capability nobody planned. */
	closefrom(PROC_PARENT_FD + 1);

	log_init(debug, LOG_DAEMON);
	log_procinit("keyd");
	log_setverbose(debug + verbose);

	mypid = getpid();
	myuid = getuid();
	mygid = getgid();
	keyd_state_init(&ks, now_ms);
	if (atexit(keyd_atexit) != 0)
		fatalx("atexit");

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = keyd_sighdlr;	/* no SA_RESTART: poll sees EINTR */
	if (sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1)
		fatal("sigaction");
	/* the parent handles reloads; a dead peer shows up as EPIPE */
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGHUP, &sa, NULL) == -1 ||
	    sigaction(SIGPIPE, &sa, NULL) == -1)
		fatal("sigaction");

	chan_add(PROC_PARENT_FD, PROC_PARENT, 0);
	/* Descriptors come from the parent only (channels, the key file). */
	imsgbuf_allow_fdpass(&chans[0].kc_ibuf);

	log_debug("started, waiting for the parent");
	keyd_loop();
	/* NOTREACHED */
	return (1);
}

/*
 * Also runs on fatal()/fatalx() (they exit(1)), so the key is wiped on
 * every way out.
 */
static void
keyd_atexit(void)
{
	keyd_state_wipe(&ks);
	explicit_bzero(&cfgkey, sizeof(cfgkey));
}

static void
keyd_sighdlr(int sig)
{
	quit = 1;
}

/*
 * On the way out: a checkpoint over the last records, so that the log
 * shows it ended here and was not cut (keyd.8, "Audit log"), and the
 * parent gets it and every record still queued.  Held answers are
 * dropped: their records may never be written.
 */
static void
keyd_exit(int code)
{
	if (started && ks.ks_since_cp > 0)
		checkpoint();
	if (nchans > 0 && imsgbuf_queuelen(&chans[0].kc_ibuf) > 0)
		(void)imsgbuf_flush(&chans[0].kc_ibuf);
	keyd_state_wipe(&ks);
	exit(code);
}

/* EOF on any channel: the daemon is going down; so does keyd. */
static void
chan_lost(struct keyd_chan *kc)
{
	log_info("lost connection to %s, exiting", chan_name(kc));
	keyd_exit(0);
}

static const char *
chan_name(const struct keyd_chan *kc)
{
	static char	 buf[32];
	const char	*name;

	name = audit_proc_name(kc->kc_peer);
	snprintf(buf, sizeof(buf), "%s[%d]", name != NULL ? name : "?",
	    kc->kc_instance);
	return (buf);
}

static void
chan_add(int fd, enum proc_id peer, int instance)
{
	struct keyd_chan	*kc;
	int			 flags;

	if (nchans == KEYD_CHANNELS)
		fatalx("%s: too many channels", __func__);
	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1)
		fatal("%s: fcntl", __func__);
	kc = &chans[nchans];
	memset(kc, 0, sizeof(*kc));
	if (imsgbuf_init(&kc->kc_ibuf, fd) == -1)
		fatal("%s: imsgbuf_init", __func__);
	if (imsgbuf_set_maxsize(&kc->kc_ibuf, PROC_IMSG_MAXSIZE) == -1)
		fatal("%s: imsgbuf_set_maxsize", __func__);
	kc->kc_peer = peer;
	kc->kc_instance = instance;
	nchans++;
	log_debug("channel to %s", chan_name(kc));
}

/* Header plus an optional second part (a signed document). */
static void
chan_compose(struct keyd_chan *kc, uint32_t type, uint32_t peerid,
    const void *data, size_t len, const void *data2, size_t len2)
{
	struct iovec	 iov[2];
	int		 n = 0;

	if (len > 0) {
		iov[n].iov_base = (void *)data;
		iov[n++].iov_len = len;
	}
	if (len2 > 0) {
		iov[n].iov_base = (void *)data2;
		iov[n++].iov_len = len2;
	}
	if (imsg_composev(&kc->kc_ibuf, type, peerid, mypid, -1, iov, n) ==
	    -1)
		fatal("%s: imsg_composev to %s", __func__, chan_name(kc));
}

/*
 * The order channels are served in: the parent, then the peer engine,
 * then the others.  The peer engine announces a handshake
 * (IMSG_KEY_HANDSHAKE) before the frontend can ask for its challenge;
 * serving it first means the announcement is in when the request is.
 */
static int
order(int i)
{
	int	 j, peer = -1;

	for (j = 1; j < nchans; j++)
		if (chans[j].kc_peer == PROC_PEER)
			peer = j;
	if (peer == -1 || i == 0)
		return (i);
	if (i == 1)
		return (peer);
	return (i <= peer ? i - 1 : i);
}

static void
keyd_loop(void)
{
	struct pollfd		 pfd[KEYD_CHANNELS];
	struct keyd_chan	*kc;
	struct imsg		 imsg;
	int			 i, n, nfds, backlog;

	for (;;) {
		if (quit) {
			log_info("terminating on signal");
			keyd_exit(0);
		}
		/*
		 * Stop reading requests while audit records pile up for
		 * the parent (no signature without its record), or while
		 * a requester does not read its answers.
		 */
		backlog = imsgbuf_queuelen(&chans[0].kc_ibuf) >= KEYD_BACKLOG ||
		    nheld >= KEYD_BACKLOG;
		nfds = nchans;
		for (i = 0; i < nfds; i++) {
			kc = &chans[order(i)];
			pfd[i].fd = kc->kc_ibuf.fd;
			pfd[i].events = 0;
			pfd[i].revents = 0;
			if (i == 0 || (!backlog &&
			    imsgbuf_queuelen(&kc->kc_ibuf) < KEYD_BACKLOG))
				pfd[i].events |= POLLIN;
			if (imsgbuf_queuelen(&kc->kc_ibuf) > 0)
				pfd[i].events |= POLLOUT;
		}
		if (poll(pfd, nfds, -1) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		for (i = 0; i < nfds; i++) {
			kc = &chans[order(i)];
			if (pfd[i].revents & POLLNVAL)
				fatalx("%s: invalid descriptor", chan_name(kc));
			if (pfd[i].revents & POLLOUT &&
			    imsgbuf_write(&kc->kc_ibuf) == -1) {
				if (errno == EPIPE)
					chan_lost(kc);
				fatal("%s: write", chan_name(kc));
			}
			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			switch (imsgbuf_read(&kc->kc_ibuf)) {
			case -1:
				if (errno == ECONNRESET)
					chan_lost(kc);
				fatal("%s: read", chan_name(kc));
			case 0:
				chan_lost(kc);
			}
			for (;;) {
				if ((n = imsgbuf_get(&kc->kc_ibuf, &imsg)) ==
				    -1)
					fatal("%s: malformed imsg",
					    chan_name(kc));
				if (n == 0)
					break;
				chan_dispatch(kc, &imsg);
				imsg_free(&imsg);
			}
		}
	}
}

static void
chan_dispatch(struct keyd_chan *kc, struct imsg *imsg)
{
	uint32_t	 type;

	type = imsg_get_type(imsg);
	/*
	 * The requester is the channel, never anything inside the message
	 * (hdr.pid and hdr.peerid are the sender's word).  Only the parent
	 * may pass descriptors; the imsg layer refuses them elsewhere, and
	 * this check makes sure.
	 */
	if (kc->kc_peer != PROC_PARENT) {
		if (imsg->fd != -1)
			fatalx("%s: descriptor passed on a request channel",
			    chan_name(kc));
		if (type == IMSG_PROC_STATUS_REQ)
			dispatch_status(kc, imsg);
		else if (type == IMSG_KEY_HANDSHAKE && kc->kc_peer == PROC_PEER)
			dispatch_handshake(kc, imsg);
		else if (kind_by_type(type) != NULL)
			dispatch_sign(kc, imsg);
		else
			fatalx("%s: unexpected imsg type %u", chan_name(kc),
			    type);
		return;
	}
	dispatch_parent(kc, imsg);
}

static void
dispatch_parent(struct keyd_chan *kc, struct imsg *imsg)
{
	struct proc_fd		 pf;
	struct cfg_proc		 cp;
	struct cfg_identity	 id;
	struct cfg_global	 cg;
	struct stat		 st;
	char			 err[256];
	uint32_t		 type;
	int			 fd, i, verbose;

	type = imsg_get_type(imsg);
	switch (type) {
	case IMSG_PROC_FD:
		if (imsg_get_data(imsg, &pf, sizeof(pf)) == -1)
			fatalx("IMSG_PROC_FD: bad size");
		if ((fd = imsg_get_fd(imsg)) == -1)
			fatalx("IMSG_PROC_FD without a descriptor");
		/* Channels are set up before the sandbox, never after. */
		if (started)
			fatalx("IMSG_PROC_FD after start-up");
		/*
		 * keyd talks to requesters only: the frontends, the peer
		 * engine and ledgerd (DESIGN.md section 1).  routed and
		 * other processes have no business with the key.
		 */
		if (!((pf.peer == PROC_FRONTEND && pf.instance >= 0 &&
		    pf.instance < PROC_MAX_INSTANCES) ||
		    (pf.peer == PROC_PEER && pf.instance == 0) ||
		    (pf.peer == PROC_LEDGERD && pf.instance == 0)))
			fatalx("IMSG_PROC_FD: keyd has no channel to process "
			    "%d instance %d", pf.peer, pf.instance);
		for (i = 0; i < nchans; i++)
			if (chans[i].kc_peer == (enum proc_id)pf.peer &&
			    chans[i].kc_instance == pf.instance)
				fatalx("IMSG_PROC_FD: second channel to %s",
				    chan_name(&chans[i]));
		if (fstat(fd, &st) == -1 || !S_ISSOCK(st.st_mode))
			fatalx("IMSG_PROC_FD: descriptor is not a socket");
		chan_add(fd, (enum proc_id)pf.peer, pf.instance);
		break;
	case IMSG_CFG_PROC:
		if (imsg_get_data(imsg, &cp, sizeof(cp)) == -1)
			fatalx("IMSG_CFG_PROC: bad size");
		if (started) {
			log_debug("IMSG_CFG_PROC after start-up ignored");
			break;
		}
		cp.user[sizeof(cp.user) - 1] = '\0';
		cp.chroot[sizeof(cp.chroot) - 1] = '\0';
		cfgproc = cp;
		break;
	case IMSG_CFG_KEY:
		if (imsg_get_len(imsg) != sizeof(cfgkey))
			fatalx("IMSG_CFG_KEY: bad size");
		fd = imsg_get_fd(imsg);
		if (started) {
			/* the key is only read at start; restart to change */
			if (fd != -1)
				close(fd);
			explicit_bzero(imsg->data, sizeof(cfgkey));
			log_debug("IMSG_CFG_KEY after start-up ignored");
			break;
		}
		if (fd == -1)
			fatalx("IMSG_CFG_KEY without a descriptor");
		if (keyfd != -1)
			close(keyfd);
		keyfd = fd;
		memcpy(&cfgkey, imsg->data, sizeof(cfgkey));
		/* the passphrase must not linger in the message buffer */
		explicit_bzero(imsg->data, sizeof(cfgkey));
		cfgkey.path[sizeof(cfgkey.path) - 1] = '\0';
		if (cfgkey.passlen >= sizeof(cfgkey.passphrase))
			fatalx("IMSG_CFG_KEY: passphrase too long");
		break;
	case IMSG_CFG_IDENTITY:
		if (imsg_get_data(imsg, &id, sizeof(id)) == -1)
			fatalx("IMSG_CFG_IDENTITY: bad size");
		if (keyd_set_identity(&ks, &id, err, sizeof(err)) == -1)
			fatalx("IMSG_CFG_IDENTITY: %s", err);
		log_info("signing as relay %s", ks.ks_relay_id);
		break;
	case IMSG_CFG_GLOBAL:
		/* the claims keyd signs into the well-known documents */
		if (imsg_get_data(imsg, &cg, sizeof(cg)) == -1)
			fatalx("IMSG_CFG_GLOBAL: bad size");
		keyd_set_conf(&ks, &cg);
		break;
	case IMSG_KEY_AUDIT_ACK:
		audit_acked(imsg);
		break;
	case IMSG_CFG_DONE:
		if (imsg_get_len(imsg) != 0)
			fatalx("IMSG_CFG_DONE: bad size");
		chan_compose(kc, IMSG_CFG_ACK, 0, NULL, 0, NULL, 0);
		break;
	case IMSG_PROC_READY:
		if (imsg_get_len(imsg) != 0)
			fatalx("IMSG_PROC_READY: bad size");
		if (started)
			fatalx("IMSG_PROC_READY twice");
		keyd_ready();
		break;
	case IMSG_CTL_VERBOSE:
		if (imsg_get_data(imsg, &verbose, sizeof(verbose)) == -1)
			fatalx("IMSG_CTL_VERBOSE: bad size");
		log_setverbose(verbose);
		break;
	case IMSG_PROC_STATUS_REQ:
		dispatch_status(kc, imsg);
		break;
	case IMSG_PROC_SHUTDOWN:
		log_debug("shutdown requested");
		keyd_exit(0);
	default:
		/* the parent is no requester: the table refuses it */
		if (kind_by_type(type) != NULL) {
			dispatch_sign(kc, imsg);
			break;
		}
		fatalx("unexpected imsg type %u from the parent", type);
	}
}

/*
 * IMSG_PROC_READY: every channel and the key file are here.  Order, as in
 * every relayd child: take what is needed (the key), let go of the file,
 * chroot and drop privileges, then the sandbox.  After this keyd cannot
 * open anything, and the key exists nowhere but in its memory.
 */
static void
keyd_ready(void)
{
	EVP_PKEY	*key;
	char		 err[512];
	uint8_t		 warm[SHA256_LEN];
	struct key_pubkey kp;
	int		 generated;

	if (keyfd == -1)
		fatalx("no key file received before IMSG_PROC_READY");
	key_memory();
	key = keyfile_load(keyfd, cfgkey.path, cfgkey.passphrase,
	    cfgkey.passlen, &generated, err, sizeof(err));
	explicit_bzero(cfgkey.passphrase, sizeof(cfgkey.passphrase));
	cfgkey.passlen = 0;
	if (close(keyfd) == -1)
		fatal("close key file");
	keyfd = -1;
	if (key == NULL)
		fatalx("cannot load the relay key: %s", err);
	if (keyd_set_key(&ks, key, err, sizeof(err)) == -1) {
		EVP_PKEY_free(key);
		fatalx("key file %s: %s", cfgkey.path, err);
	}
	if (generated) {
		log_info("generated new relay key, fingerprint %s",
		    ks.ks_fingerprint);
		if (!cfgkey.created)
			log_warnx("key file %s existed but was empty: this "
			    "relay now has a new identity", cfgkey.path);
	} else {
		log_info("loaded relay key %s, fingerprint %s", cfgkey.path,
		    ks.ks_fingerprint);
		if (cfgkey.created)
			log_warnx("key file %s was created by the parent but "
			    "was not empty when keyd read it", cfgkey.path);
	}

	/*
	 * Let OpenSSL fetch every algorithm keyd uses while it can still
	 * read its configuration: the self-test in keyd_set_key() did
	 * Ed25519, this does SHA-256 (audit digests).
	 */
	sha256("", 0, warm);

	sandbox_privdrop(&sb, cfgproc.chroot[0] != '\0' ? cfgproc.chroot :
	    NULL, cfgproc.user[0] != '\0' ? cfgproc.user : NULL);
	myuid = getuid();
	mygid = getgid();
	keyd_sandbox(&sb.seccomp, &sb.landlock);
	sb.no_new_privs = 1;
	started = 1;

	memcpy(kp.public_key, ks.ks_pub, sizeof(kp.public_key));
	chan_compose(&chans[0], IMSG_KEY_PUBKEY, 0, &kp, sizeof(kp), NULL, 0);
	log_debug("sandboxed (seccomp %d, landlock %d, chroot \"%s\"), "
	    "ready", sb.seccomp, sb.landlock, sb.chroot);
}

/*
 * Where the private key will live: OpenSSL keeps Ed25519 private keys in
 * its secure heap once there is one, which is mlock(2)ed (never swapped)
 * and left out of core dumps.  Locking needs RLIMIT_MEMLOCK room; without
 * it keyd runs and says so, here and in relayctl show status.
 */
static void
key_memory(void)
{
	struct rlimit	 rl;
	int		 rv;

	if (getrlimit(RLIMIT_MEMLOCK, &rl) == -1)
		fatal("getrlimit RLIMIT_MEMLOCK");
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < KEYD_SECURE_HEAP) {
		snprintf(memlock, sizeof(memlock), "key memory not locked "
		    "(RLIMIT_MEMLOCK %llu)", (unsigned long long)rl.rlim_cur);
		log_warnx("%s: the private key may be swapped out; raise "
		    "the limit to %d bytes", memlock, KEYD_SECURE_HEAP);
		return;
	}
	if ((rv = CRYPTO_secure_malloc_init(KEYD_SECURE_HEAP, 32)) == 0)
		fatalx("CRYPTO_secure_malloc_init failed");
	if (rv == 2) {
		strlcpy(memlock, "key memory not locked (mlock failed)",
		    sizeof(memlock));
		log_warnx("%s: the private key may be swapped out", memlock);
		return;
	}
	strlcpy(memlock, "key memory locked", sizeof(memlock));
	log_debug("%s (%d bytes)", memlock, KEYD_SECURE_HEAP);
}

/* The record goes to the parent now; the answer waits for its ack. */
static void
audit_record(const struct key_audit *ka)
{
	chan_compose(&chans[0], IMSG_KEY_AUDIT, 0, ka, sizeof(*ka), NULL, 0);
	if (imsgbuf_write(&chans[0].kc_ibuf) == -1 && errno != EPIPE)
		fatal("parent: write");
}

/*
 * IMSG_KEY_AUDIT_ACK: every record up to seq is written and synced.  At
 * start-up (seq 0) it brings the head of the existing log, which keyd
 * then follows; later, once nothing is outstanding, the parent's head
 * must be keyd's, or the log does not hold what keyd signed.
 */
static void
audit_acked(struct imsg *imsg)
{
	struct key_audit_ack	 ack;
	struct held		*h;

	if (imsg_get_data(imsg, &ack, sizeof(ack)) == -1)
		fatalx("IMSG_KEY_AUDIT_ACK: bad size");
	if (ack.seq > ks.ks_seq)
		fatalx("IMSG_KEY_AUDIT_ACK: record %llu not made yet",
		    (unsigned long long)ack.seq);
	if (ack.seq == 0) {
		if (started || ks.ks_seq != 0)
			fatalx("IMSG_KEY_AUDIT_ACK: chain head after start-up");
		memcpy(ks.ks_head, ack.head, sizeof(ks.ks_head));
		return;
	}
	if (ack.seq == ks.ks_seq &&
	    memcmp(ack.head, ks.ks_head, sizeof(ks.ks_head)) != 0)
		fatalx("the audit log's chain head is not the one keyd "
		    "computed: records were lost or changed");
	while ((h = TAILQ_FIRST(&heldq)) != NULL && h->seq <= ack.seq) {
		TAILQ_REMOVE(&heldq, h, entry);
		nheld--;
		chan_compose(h->kc, IMSG_KEY_SIGNATURE, h->peerid, &h->resp,
		    sizeof(h->resp), h->doc, h->doclen);
		free(h->doc);
		free(h);
	}
}

/* keyd's signature over the chain head, as the next audit record. */
static void
checkpoint(void)
{
	struct keyd_result	 kr;

	keyd_checkpoint(&ks, &kr);
	audit_record(&kr.kr_audit);
	keyd_result_free(&kr);
	log_debug("audit checkpoint after record %llu",
	    (unsigned long long)ks.ks_seq - 1);
}

/* IMSG_KEY_HANDSHAKE from the peer engine */
static void
dispatch_handshake(struct keyd_chan *kc, struct imsg *imsg)
{
	struct key_handshake	 h;
	char			 err[128];

	if (imsg_get_data(imsg, &h, sizeof(h)) == -1)
		fatalx("%s: IMSG_KEY_HANDSHAKE: bad size", chan_name(kc));
	if (keyd_handshake(&ks, &h, err, sizeof(err)) == -1)
		fatalx("%s: IMSG_KEY_HANDSHAKE: %s", chan_name(kc), err);
}

/*
 * A signing request.  Over its rate the requester is refused without
 * the refusal counting (a busy relay is not a compromised one), so a
 * requester cannot fill the audit log faster than KEYD_RATE a second.
 */
static void
dispatch_sign(struct keyd_chan *kc, struct imsg *imsg)
{
	struct keyd_result	 kr;
	struct held		*h;
	uint32_t		 type;
	const char		*kind;

	type = imsg_get_type(imsg);
	if (!keyd_bucket_take(&kc->kc_bucket, ks.ks_clock())) {
		memset(&kr, 0, sizeof(kr));
		kr.kr_soft = 1;
		kr.kr_resp.kind = kind_by_type(type)->kind;
		if (imsg_get_len(imsg) >= sizeof(struct key_sign_req))
			memcpy(&kr.kr_resp.reqid, imsg->data,
			    sizeof(kr.kr_resp.reqid));
		snprintf(kr.kr_resp.error, sizeof(kr.kr_resp.error),
		    "more than %d signatures a second", KEYD_RATE);
		if (nlimited++ % 1000 == 0)
			log_warnx("%s: over its signing rate (%llu refused)",
			    chan_name(kc), (unsigned long long)nlimited);
	} else if (keyd_handle(&ks, type, kc->kc_peer, kc->kc_instance,
	    imsg->data, imsg_get_len(imsg), &kr) == KEYD_SIGNED) {
		if ((h = calloc(1, sizeof(*h))) == NULL)
			fatal("%s", __func__);
		h->seq = kr.kr_audit.seq;
		h->kc = kc;
		h->peerid = imsg_get_id(imsg);
		h->resp = kr.kr_resp;
		h->doc = kr.kr_doc;
		h->doclen = kr.kr_doclen;
		TAILQ_INSERT_TAIL(&heldq, h, entry);
		nheld++;
		audit_record(&kr.kr_audit);
		kc->kc_signed++;
		nsigned++;
		log_debug("signed %s for %s, reqid %u, record %llu",
		    audit_kind_name(kr.kr_resp.kind), chan_name(kc),
		    kr.kr_resp.reqid, (unsigned long long)h->seq);
		if (ks.ks_since_cp >= KEYD_CHECKPOINT_EVERY)
			checkpoint();
		return;
	}

	kind = audit_kind_name(kr.kr_resp.kind);
	nrefused++;
	chan_compose(kc, IMSG_KEY_REFUSED, imsg_get_id(imsg), &kr.kr_resp,
	    sizeof(kr.kr_resp), NULL, 0);
	/*
	 * Before the relay id is known every request is refused; that is
	 * start-up ordering (the frontend may hear of the identity first),
	 * not misbehaviour, so it does not count; nor does the rate limit.
	 */
	if (kr.kr_soft) {
		log_debug("refused %s request from %s: %s",
		    kind != NULL ? kind : "?", chan_name(kc),
		    kr.kr_resp.error);
		return;
	}
	kc->kc_refusals++;
	log_warnx("refused %s request from %s (%d of %d): %s",
	    kind != NULL ? kind : "?", chan_name(kc), kc->kc_refusals,
	    KEYD_MAX_REFUSALS, kr.kr_resp.error);
	/*
	 * Our own processes build well-formed requests: they check with
	 * the same rules (common/validate.c).  One that keeps asking for
	 * what it may not have is broken or compromised and probing the
	 * signer; stop the daemon rather than let it go on.
	 */
	if (kc->kc_refusals >= KEYD_MAX_REFUSALS)
		fatalx("%s: %d requests refused, closing the channel: "
		    "requester broken or compromised", chan_name(kc),
		    kc->kc_refusals);
}

/* Allowed from any channel: who keyd is and how it is confined. */
static void
dispatch_status(struct keyd_chan *kc, struct imsg *imsg)
{
	struct proc_status_req	 req;
	struct proc_status	 st;

	if (imsg_get_data(imsg, &req, sizeof(req)) == -1)
		fatalx("%s: IMSG_PROC_STATUS_REQ: bad size", chan_name(kc));
	memset(&st, 0, sizeof(st));
	st.reqid = req.reqid;
	st.proc = PROC_KEYD;
	st.instance = 0;
	st.pid = mypid;
	st.uid = myuid;
	st.gid = mygid;
	strlcpy(st.user, sb.user, sizeof(st.user));
	strlcpy(st.chroot, sb.chroot, sizeof(st.chroot));
	st.chrooted = sb.chrooted;
	st.no_new_privs = sb.no_new_privs;
	st.seccomp = sb.seccomp;
	st.landlock = sb.landlock;
	st.dumpable = started ? sb.dumpable : -1;
	st.healthy = started && ks.ks_have_identity;
	if (!started)
		strlcpy(st.detail, "starting: key not loaded",
		    sizeof(st.detail));
	else if (!ks.ks_have_identity)
		snprintf(st.detail, sizeof(st.detail), "key %.16s, waiting "
		    "for the relay identity", ks.ks_fingerprint);
	else
		snprintf(st.detail, sizeof(st.detail), "key %.16s, relay %s, "
		    "%llu signed, %llu refused, %llu over rate, %s",
		    ks.ks_fingerprint, ks.ks_relay_id,
		    (unsigned long long)nsigned, (unsigned long long)nrefused,
		    (unsigned long long)nlimited, memlock);
	chan_compose(kc, IMSG_PROC_STATUS, imsg_get_id(imsg), &st,
	    sizeof(st), NULL, 0);
}
