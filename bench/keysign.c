/*
 * keysign: signatures per second from the real keyd binary over imsg,
 * from one requester and from several, against raw OpenSSL Ed25519
 * signing (EVP_DigestSign) in this process, in the same run.
 *
 * This program is keyd's parent, as relayd(8) is (relayd/relayd.c,
 * exec_child() and send_config()): it forks and execs KEYD_PATH with the
 * parent channel on fd 3, passes one channel per requester
 * (IMSG_PROC_FD, frontend instances 0..N-1), the key file
 * (IMSG_CFG_KEY; keyd generates the key into it the first time),
 * development-mode process settings (no user, no chroot: keyd still
 * enters its sandbox), the configuration, the head of the audit log
 * (IMSG_KEY_AUDIT_ACK, seq 0) and IMSG_PROC_READY, then the relay
 * identity.  It keeps the audit log as the parent does: each record
 * (IMSG_KEY_AUDIT) becomes a hash-chained line (common/audit.c), written
 * with write(2); after each batch read from keyd one fdatasync(2), then
 * IMSG_KEY_AUDIT_ACK with the last record's number and the chain head,
 * which releases the signatures keyd holds until then.  At the end the
 * whole log must verify (audit_verify(), checkpoints included) and hold
 * one record per signature plus keyd's checkpoints.
 *
 * keyd allows each requester a burst of KEYD_BURST signatures, then
 * KEYD_RATE a second (keyd.h).  So every run starts a new keyd (the
 * restart path: the log goes on), and each requester, a process of its
 * own as the frontends are, asks for exactly KEYD_BURST signatures of
 * heartbeat responses (IMSG_KEY_SIGN_HBRESP, what a frontend asks for
 * to answer POST /federation/v1/heartbeat), WINDOW in flight, and must
 * get every one; the first answer is verified against keyd's public key
 * over the heartbeat template with the time keyd stamped.  Any refusal
 * stops the benchmark.  The rate is all signatures over the time from
 * the common start to the last answer.
 *
 * "raw sign" is EVP_DigestSignInit() and EVP_DigestSign() over the same
 * template with a key made once, in one thread: keyd is one thread too.
 * keyd verifies every signature before it lets it out, so "raw sign +
 * verify" adds EVP_DigestVerify(): that is keyd's limit.  Runs go raw
 * sign, raw sign + verify, keyd x 1, keyd x N, RUNS times.  Rates are
 * per wall second, and per second of CPU time (of this process for raw;
 * of keyd, from /proc/PID/schedstat, for keyd), which leaves out the
 * time other processes of a shared machine had the core.
 *
 * usage: keysign [-d seconds] [-n requesters] [-r runs] [-w window]
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "audit.h"
#include "crypto.h"
#include "encoding.h"
#include "imsg.h"
#include "keyd.h"
#include "relayd_imsg.h"

#define OWN_ID		"bench-relay"
#define MAXREQ		PROC_MAX_INSTANCES	/* frontends */
#define MAXRUNS		21
#define ANSWER_MS	10000	/* keyd answers within, or it is stuck */

struct result {
	uint64_t	 signed_;	/* signatures received */
	uint64_t	 done;		/* mono us of the last one */
};

static pid_t		 keyd_pid = -1;
static struct imsgbuf	 kparent;		/* our end of fd 3 */
static int		 reqfd[MAXREQ];	/* our ends of the channels */
static int		 nchan;
static uint8_t		 keyd_pub[ED25519_PUB_LEN];
static char		 keyd_pubhex[PUBKEY_HEX_MAX];
static char		 tmpdir[64];
static char		 keypath[128], auditpath[128];
static int		 auditfd = -1, keycreated = 1, stopping;
static uint8_t		 audit_prev[AUDIT_HASH_LEN];
static uint64_t		 audit_records, audit_cps, audit_seq, nsigned;
static int		 duration = 2, nreq = 4, runs = 5, window = 64;
static pid_t		 mypid;

static uint64_t
mono_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

static double
cpu_s(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

/* keyd's time on the CPU, from /proc/PID/schedstat (ns) */
static double
keyd_cpu_s(void)
{
	char			 path[64];
	unsigned long long	 ns;
	FILE			*f;

	snprintf(path, sizeof(path), "/proc/%ld/schedstat", (long)keyd_pid);
	if ((f = fopen(path, "r")) == NULL)
		err(1, "%s", path);
	if (fscanf(f, "%llu", &ns) != 1)
		errx(1, "%s: cannot parse", path);
	fclose(f);
	return (ns / 1e9);
}

/*
 * The request a frontend sends to have its heartbeat response signed
 * (relayd/frontend/fe_fed.c, fe_fed_sign()): keyd stamps the time.
 */
static void
hbresp_request(struct key_sign_req *req, uint32_t reqid)
{
	memset(req, 0, sizeof(*req));
	req->reqid = reqid;
}

/* What keyd signed: the heartbeat template of our id at its time. */
static int
hbresp_verify(const struct key_sign_resp *resp)
{
	char	 msg[256];

	if (msg_heartbeat(msg, sizeof(msg), OWN_ID, resp->timestamp) == -1)
		return (-1);
	return (ed25519_verify_hex(keyd_pubhex, (const uint8_t *)msg,
	    strlen(msg), resp->signature));
}

static int
recv_imsg(struct imsgbuf *ib, struct imsg *imsg, int timeout)
{
	struct pollfd	 pfd;
	int		 n;

	for (;;) {
		if ((n = imsgbuf_get(ib, imsg)) != 0)
			return (n);
		pfd.fd = ib->fd;
		pfd.events = POLLIN;
		if ((n = poll(&pfd, 1, timeout)) == -1 && errno != EINTR)
			return (-1);
		if (n == 0)
			return (-2);
		if ((n = imsgbuf_read(ib)) != 1)
			return (n == 0 ? 0 : -1);
	}
}

static void
send_imsg(struct imsgbuf *ib, uint32_t type, int fd, const void *data,
    size_t len)
{
	if (imsg_compose(ib, type, 0, 0, fd, data, len) != 1 ||
	    imsgbuf_flush(ib) == -1)
		err(1, "imsg %u to keyd", type);
}

/* The parent's half of IMSG_KEY_AUDIT (relayd.c, audit_append()). */
static void
audit_take(struct imsg *imsg)
{
	struct key_audit	 ka;
	char			 line[1024];
	int			 n;

	if (imsg_get_data(imsg, &ka, sizeof(ka)) == -1)
		errx(1, "IMSG_KEY_AUDIT: bad size");
	if ((n = audit_format(line, sizeof(line) - 1, audit_prev, &ka)) <= 0)
		errx(1, "cannot format an audit record");
	audit_line_hash(line, n, audit_prev);
	line[n++] = '\n';
	if (write(auditfd, line, n) != n)
		err(1, "%s", auditpath);
	audit_records++;
	if (ka.kind == KEY_KIND_CHECKPOINT)
		audit_cps++;
	audit_seq = ka.seq;
}

/* relayd.c, audit_ack(): synced up to seq, and the chain head */
static void
audit_ack(uint64_t seq)
{
	struct key_audit_ack	 ack;

	if (seq != 0 && fdatasync(auditfd) == -1)
		err(1, "fdatasync %s", auditpath);
	memset(&ack, 0, sizeof(ack));
	ack.seq = seq;
	memcpy(ack.head, audit_prev, sizeof(ack.head));
	if (imsg_compose(&kparent, IMSG_KEY_AUDIT_ACK, 0, 0, -1, &ack,
	    sizeof(ack)) != 1)
		err(1, "imsg_compose");
}

/*
 * What arrived from keyd on the parent channel: audit records (one
 * fdatasync and ack per batch) and, when want is not 0, that message.
 * Returns 1 when want was seen, 0 if not, -1 at EOF.
 */
static int
parent_read(uint32_t want, void *data, size_t len)
{
	struct imsg	 imsg;
	uint64_t	 before = audit_records;
	uint32_t	 type;
	int		 r, seen = 0;

	if ((r = imsgbuf_read(&kparent)) == 0 ||
	    (r == -1 && stopping && errno == ECONNRESET))
		return (-1);
	if (r == -1)
		err(1, "keyd's parent channel");
	while ((r = imsgbuf_get(&kparent, &imsg)) == 1) {
		type = imsg_get_type(&imsg);
		if (type == IMSG_KEY_AUDIT)
			audit_take(&imsg);
		else if (want != 0 && type == want) {
			if (data != NULL &&
			    imsg_get_data(&imsg, data, len) == -1)
				errx(1, "imsg %u: bad size", type);
			seen = 1;
		} else
			errx(1, "keyd sent imsg %u to its parent", type);
		imsg_free(&imsg);
	}
	if (r == -1)
		errx(1, "keyd sent a malformed imsg");
	/* after IMSG_PROC_SHUTDOWN keyd holds nothing: its checkpoint */
	if (audit_records != before && !stopping) {
		audit_ack(audit_seq);
		if (imsgbuf_flush(&kparent) == -1)
			err(1, "ack to keyd");
	}
	return (seen);
}

static void
parent_expect(uint32_t type, void *data, size_t len)
{
	struct pollfd	 pfd;
	int		 n;

	for (;;) {
		pfd.fd = kparent.fd;
		pfd.events = POLLIN;
		if ((n = poll(&pfd, 1, ANSWER_MS)) == -1 && errno != EINTR)
			err(1, "poll");
		if (n == 0)
			errx(1, "keyd does not send imsg %u", type);
		if (n == 1 && (n = parent_read(type, data, len)) == 1)
			return;
		if (n == -1)
			errx(1, "keyd exited waiting for imsg %u", type);
	}
}

static void
setup_files(void)
{
	char	 errbuf[256];
	int	 fd;

	strlcpy(tmpdir, "/tmp/keysign.XXXXXX", sizeof(tmpdir));
	if (mkdtemp(tmpdir) == NULL)
		err(1, "mkdtemp");
	snprintf(keypath, sizeof(keypath), "%s/relay.key", tmpdir);
	snprintf(auditpath, sizeof(auditpath), "%s/sign.log", tmpdir);
	if ((fd = open(keypath, O_RDWR | O_CREAT | O_EXCL, 0600)) == -1)
		err(1, "%s", keypath);
	close(fd);
	if ((auditfd = open(auditpath, O_RDWR | O_CREAT | O_EXCL |
	    O_APPEND, 0600)) == -1)
		err(1, "%s", auditpath);
	if (audit_last_hash(auditfd, audit_prev, errbuf, sizeof(errbuf)) ==
	    -1)
		errx(1, "%s: %s", auditpath, errbuf);
}

/* keyd as relayd starts it, with n frontend channels */
static void
keyd_start(int n)
{
	struct cfg_proc		 cp;
	struct cfg_key		 ck;
	struct cfg_global	 cg;
	struct cfg_identity	 id;
	struct proc_fd		 pf;
	struct proc_status_req	 sr;
	struct proc_status	 st;
	struct key_pubkey	 kp;
	int			 sp[2], ch[2], keyfd, i;

	if ((keyfd = open(keypath, O_RDWR)) == -1)
		err(1, "%s", keypath);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == -1)
		err(1, "socketpair");
	switch ((keyd_pid = fork())) {
	case -1:
		err(1, "fork");
	case 0:
		if (sp[1] != PROC_PARENT_FD) {
			if (dup2(sp[1], PROC_PARENT_FD) == -1)
				_exit(126);
		} else if (fcntl(sp[1], F_SETFD, 0) == -1)
			_exit(126);
		closefrom(PROC_PARENT_FD + 1);
		execl(KEYD_PATH, "keyd", (char *)NULL);
		_exit(127);
	}
	close(sp[1]);
	if (imsgbuf_init(&kparent, sp[0]) == -1 ||
	    imsgbuf_set_maxsize(&kparent, PROC_IMSG_MAXSIZE) == -1)
		err(1, "imsgbuf_init");
	imsgbuf_allow_fdpass(&kparent);

	/* development mode: no user, no chroot; the sandbox still applies */
	memset(&cp, 0, sizeof(cp));
	send_imsg(&kparent, IMSG_CFG_PROC, -1, &cp, sizeof(cp));
	for (i = 0; i < n; i++) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, ch) == -1)
			err(1, "socketpair");
		pf.peer = PROC_FRONTEND;
		pf.instance = i;
		send_imsg(&kparent, IMSG_PROC_FD, ch[1], &pf, sizeof(pf));
		close(ch[1]);
		reqfd[i] = ch[0];
	}
	nchan = n;
	memset(&cg, 0, sizeof(cg));
	strlcpy(cg.name, OWN_ID, sizeof(cg.name));
	cg.prefork = n;
	send_imsg(&kparent, IMSG_CFG_GLOBAL, -1, &cg, sizeof(cg));
	memset(&ck, 0, sizeof(ck));
	strlcpy(ck.path, keypath, sizeof(ck.path));
	ck.created = keycreated;
	send_imsg(&kparent, IMSG_CFG_KEY, keyfd, &ck, sizeof(ck));
	close(keyfd);
	keycreated = 0;
	/* the head of the log keyd's records will extend */
	audit_ack(0);
	send_imsg(&kparent, IMSG_CFG_DONE, -1, NULL, 0);
	parent_expect(IMSG_CFG_ACK, NULL, 0);
	send_imsg(&kparent, IMSG_PROC_READY, -1, NULL, 0);
	parent_expect(IMSG_KEY_PUBKEY, &kp, sizeof(kp));
	memcpy(keyd_pub, kp.public_key, sizeof(keyd_pub));
	hex_encode(keyd_pub, sizeof(keyd_pub), keyd_pubhex);

	memset(&id, 0, sizeof(id));
	strlcpy(id.relay_id, OWN_ID, sizeof(id.relay_id));
	strlcpy(id.public_key, keyd_pubhex, sizeof(id.public_key));
	if (did_key_from_pubkey(keyd_pub, id.did, sizeof(id.did)) == -1)
		errx(1, "did_key_from_pubkey");
	send_imsg(&kparent, IMSG_CFG_IDENTITY, -1, &id, sizeof(id));
	/* a status round trip orders the identity before the requests */
	sr.reqid = 1;
	send_imsg(&kparent, IMSG_PROC_STATUS_REQ, -1, &sr, sizeof(sr));
	parent_expect(IMSG_PROC_STATUS, &st, sizeof(st));
	if (!st.healthy)
		errx(1, "keyd is not healthy: %s", st.detail);
}

/* IMSG_PROC_SHUTDOWN, its last records (the checkpoint), then EOF */
static void
keyd_stop(void)
{
	struct pollfd	 pfd;
	uint64_t	 deadline;
	int		 status, i, n;

	send_imsg(&kparent, IMSG_PROC_SHUTDOWN, -1, NULL, 0);
	stopping = 1;
	deadline = mono_us() + ANSWER_MS * 1000;
	for (;;) {
		pfd.fd = kparent.fd;
		pfd.events = POLLIN;
		if ((n = poll(&pfd, 1, ANSWER_MS)) == -1 && errno != EINTR)
			err(1, "poll");
		if (n == 1 && parent_read(0, NULL, 0) == -1)
			break;
		if (mono_us() > deadline)
			errx(1, "keyd did not exit on IMSG_PROC_SHUTDOWN");
	}
	if (waitpid(keyd_pid, &status, 0) == -1 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		errx(1, "keyd exited with status %d", status);
	keyd_pid = -1;
	stopping = 0;
	imsgbuf_clear(&kparent);
	close(kparent.fd);
	for (i = 0; i < nchan; i++)
		close(reqfd[i]);
	nchan = 0;
}

/*
 * One requester (a forked process): KEYD_BURST requests, WINDOW in
 * flight, from start on; every one must be signed.
 */
__attribute__((__noreturn__)) static void
requester(int fd, int out, uint64_t start)
{
	struct imsgbuf		 ib;
	struct imsg		 imsg;
	struct key_sign_req	 req;
	struct key_sign_resp	 resp;
	struct result		 res;
	struct timespec		 ts;
	uint32_t		 sent = 0;
	int			 inflight = 0, n;

	if (imsgbuf_init(&ib, fd) == -1 ||
	    imsgbuf_set_maxsize(&ib, PROC_IMSG_MAXSIZE) == -1)
		err(1, "imsgbuf_init");
	memset(&res, 0, sizeof(res));
	ts.tv_sec = start / 1000000;
	ts.tv_nsec = (start % 1000000) * 1000;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	    EINTR)
		;
	for (;;) {
		while (sent < KEYD_BURST && inflight < window) {
			hbresp_request(&req, ++sent);
			if (imsg_compose(&ib, IMSG_KEY_SIGN_HBRESP, 0, 0, -1,
			    &req, sizeof(req)) != 1)
				err(1, "imsg_compose");
			inflight++;
		}
		if (imsgbuf_flush(&ib) == -1)
			err(1, "write to keyd");
		if (inflight == 0)
			break;
		if ((n = recv_imsg(&ib, &imsg, ANSWER_MS)) != 1)
			errx(1, "requester: keyd %s", n == 0 ? "closed the "
			    "channel" : n == -2 ? "does not answer" :
			    "sent garbage");
		if (imsg_get_type(&imsg) != IMSG_KEY_SIGNATURE) {
			if (imsg_get_type(&imsg) == IMSG_KEY_REFUSED &&
			    imsg_get_data(&imsg, &resp, sizeof(resp)) == 0)
				errx(1, "keyd refused: %.*s",
				    (int)sizeof(resp.error), resp.error);
			errx(1, "keyd sent imsg %u", imsg_get_type(&imsg));
		}
		if (imsg_get_data(&imsg, &resp, sizeof(resp)) == -1)
			errx(1, "IMSG_KEY_SIGNATURE: bad size");
		imsg_free(&imsg);
		resp.signature[sizeof(resp.signature) - 1] = '\0';
		/* answers come in order: the first is request 1 */
		if (res.signed_ == 0 && (resp.reqid != 1 ||
		    hbresp_verify(&resp) == -1))
			errx(1, "keyd's first signature does not verify");
		inflight--;
		res.signed_++;
	}
	res.done = mono_us();
	if (write(out, &res, sizeof(res)) != sizeof(res))
		err(1, "write result");
	_exit(0);
}

/*
 * One run with a new keyd and n requesters.  Returns the signatures per
 * wall second; *cpu gets them per second of keyd's CPU time.
 */
static double
run_keyd(int n, double *cpu)
{
	struct pollfd	 pfd[1 + MAXREQ];
	struct result	 res;
	pid_t		 pids[MAXREQ];
	uint64_t	 start, last = 0, total = 0, before;
	double		 c0, c1;
	int		 pipes[MAXREQ][2], i, done = 0, status, r;

	keyd_start(n);
	before = audit_records;
	c0 = keyd_cpu_s();
	start = mono_us() + 20000;
	for (i = 0; i < n; i++) {
		if (pipe(pipes[i]) == -1)
			err(1, "pipe");
		switch ((pids[i] = fork())) {
		case -1:
			err(1, "fork");
		case 0:
			close(pipes[i][0]);
			close(kparent.fd);
			requester(reqfd[i], pipes[i][1], start);
		}
		close(pipes[i][1]);
	}
	/* the parent's side: audit records, until every requester is done */
	while (done < n) {
		pfd[0].fd = kparent.fd;
		pfd[0].events = POLLIN;
		for (i = 0; i < n; i++) {
			pfd[1 + i].fd = pipes[i][0];
			pfd[1 + i].events = POLLIN;
		}
		if ((r = poll(pfd, 1 + n, ANSWER_MS)) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "poll");
		}
		if (r == 0)
			errx(1, "nothing from keyd or a requester for %d s",
			    ANSWER_MS / 1000);
		if (pfd[0].revents & (POLLIN | POLLHUP) &&
		    parent_read(0, NULL, 0) == -1)
			errx(1, "keyd exited");
		for (i = 0; i < n; i++) {
			if (pipes[i][0] == -1 ||
			    !(pfd[1 + i].revents & (POLLIN | POLLHUP)))
				continue;
			if (read(pipes[i][0], &res, sizeof(res)) !=
			    sizeof(res))
				errx(1, "requester %d failed", i);
			close(pipes[i][0]);
			pipes[i][0] = -1;
			total += res.signed_;
			if (res.done > last)
				last = res.done;
			done++;
		}
	}
	c1 = keyd_cpu_s();
	for (i = 0; i < n; i++)
		if (waitpid(pids[i], &status, 0) == -1 ||
		    !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			errx(1, "requester %d failed", i);
	keyd_stop();
	if (total != (uint64_t)n * KEYD_BURST)
		errx(1, "%" PRIu64 " signatures, not %d", total,
		    n * KEYD_BURST);
	nsigned += total;
	/* the records of the signatures and keyd's checkpoints */
	if (audit_records - before < total)
		errx(1, "%" PRIu64 " audit records for %" PRIu64
		    " signatures", audit_records - before, total);
	*cpu = total / (c1 - c0);
	return (total / ((last - start) / 1e6));
}

/*
 * EVP_DigestSign of the same template, one thread, for duration s; with
 * verify, each signature is also checked with EVP_DigestVerify, which
 * keyd does before it lets a signature out (keyd/sign.c).
 */
static double
run_raw(EVP_PKEY *key, int verify, double *cpu)
{
	EVP_MD_CTX	*ctx;
	uint8_t		 sig[ED25519_SIG_LEN];
	char		 msg[256];
	size_t		 siglen, len;
	uint64_t	 t0, t1, n = 0;
	double		 c0;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		errx(1, "EVP_MD_CTX_new");
	c0 = cpu_s();
	t0 = mono_us();
	t1 = t0 + (uint64_t)duration * 1000000;
	do {
		if (msg_heartbeat(msg, sizeof(msg), OWN_ID, now_ms()) == -1)
			errx(1, "msg_heartbeat");
		len = strlen(msg);
		siglen = sizeof(sig);
		if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) != 1 ||
		    EVP_DigestSign(ctx, sig, &siglen, (uint8_t *)msg,
		    len) != 1 || siglen != sizeof(sig))
			errx(1, "EVP_DigestSign");
		EVP_MD_CTX_reset(ctx);
		if (verify && (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL,
		    key) != 1 || EVP_DigestVerify(ctx, sig, siglen,
		    (uint8_t *)msg, len) != 1))
			errx(1, "EVP_DigestVerify");
		if (verify)
			EVP_MD_CTX_reset(ctx);
		n++;
	} while (mono_us() < t1);
	*cpu = n / (cpu_s() - c0);
	EVP_MD_CTX_free(ctx);
	return (n / ((mono_us() - t0) / 1e6));
}

/* the whole log: every line, the chain, every checkpoint */
static void
verify_log(void)
{
	struct audit_seal	 seal;
	FILE			*f;
	size_t			 nlines, bad;
	char			 errbuf[256];

	if ((f = fopen(auditpath, "r")) == NULL)
		err(1, "%s", auditpath);
	memset(&seal, 0, sizeof(seal));
	seal.key = keyd_pub;
	if (audit_verify(f, &seal, &nlines, &bad, errbuf, sizeof(errbuf)) ==
	    -1)
		errx(1, "%s: line %zu: %s", auditpath, bad, errbuf);
	fclose(f);
	if (nlines != audit_records || seal.checkpoints != audit_cps ||
	    seal.unsealed != 0 || audit_records != nsigned + audit_cps)
		errx(1, "%s: %zu lines, %zu checkpoints, %zu unsealed; "
		    "%" PRIu64 " records taken, %" PRIu64 " signatures",
		    auditpath, nlines, seal.checkpoints, seal.unsealed,
		    audit_records, nsigned);
}

/*
 * On every way out, errx() included: keyd stopped by its PID (the
 * requesters see their channels close and exit), the files removed.
 */
static void
cleanup(void)
{
	int	 status;

	if (getpid() != mypid)
		return;
	if (keyd_pid != -1) {
		kill(keyd_pid, SIGTERM);
		waitpid(keyd_pid, &status, 0);
		keyd_pid = -1;
	}
	if (tmpdir[0] != '\0') {
		unlink(keypath);
		unlink(auditpath);
		rmdir(tmpdir);
	}
}

static int
dcmp(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return (x < y ? -1 : x > y);
}

static double
median(const double *v, int n)
{
	double	 t[MAXRUNS];

	memcpy(t, v, n * sizeof(*t));
	qsort(t, n, sizeof(*t), dcmp);
	return (n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2);
}

static double
best(const double *v, int n)
{
	double	 b = v[0];
	int	 i;

	for (i = 1; i < n; i++)
		if (v[i] > b)
			b = v[i];
	return (b);
}

/* rates, and the medians' ratios to raw signing and to sign + verify */
static void
row(const char *what, const double *w, const double *c, const double *rw,
    const double *rc, const double *vw, const double *vc)
{
	printf("%-21s %7.0f %7.0f %7.0f %7.0f %6.1f%% %6.1f%% %6.1f%% "
	    "%6.1f%%\n", what, best(w, runs), median(w, runs), best(c, runs),
	    median(c, runs), 100 * median(w, runs) / median(rw, runs),
	    100 * median(c, runs) / median(rc, runs),
	    100 * median(w, runs) / median(vw, runs),
	    100 * median(c, runs) / median(vc, runs));
}

int
main(int argc, char *argv[])
{
	EVP_PKEY	*key;
	uint8_t		 seed[ED25519_SEED_LEN];
	double		 raw[MAXRUNS], rawc[MAXRUNS];
	double		 rawv[MAXRUNS], rawvc[MAXRUNS];
	double		 one[MAXRUNS], onec[MAXRUNS];
	double		 many[MAXRUNS], manyc[MAXRUNS];
	const char	*errstr;
	char		 label[64];
	int		 ch, r;

	while ((ch = getopt(argc, argv, "d:n:r:w:")) != -1) {
		switch (ch) {
		case 'd':
			duration = strtonum(optarg, 1, 60, &errstr);
			if (errstr != NULL)
				errx(2, "-d %s: %s", optarg, errstr);
			break;
		case 'n':
			nreq = strtonum(optarg, 2, MAXREQ, &errstr);
			if (errstr != NULL)
				errx(2, "-n %s: %s", optarg, errstr);
			break;
		case 'r':
			runs = strtonum(optarg, 1, MAXRUNS, &errstr);
			if (errstr != NULL)
				errx(2, "-r %s: %s", optarg, errstr);
			break;
		case 'w':
			window = strtonum(optarg, 1, 1024, &errstr);
			if (errstr != NULL)
				errx(2, "-w %s: %s", optarg, errstr);
			break;
		default:
			fprintf(stderr, "usage: keysign [-d seconds] "
			    "[-n requesters] [-r runs] [-w window]\n");
			return (2);
		}
	}
	signal(SIGPIPE, SIG_IGN);
	mypid = getpid();
	if (atexit(cleanup) != 0)
		errx(1, "atexit");

	memset(seed, 0x5a, sizeof(seed));
	if ((key = ed25519_from_seed(seed)) == NULL)
		errx(1, "ed25519_from_seed");
	setup_files();
	for (r = 0; r < runs; r++) {
		raw[r] = run_raw(key, 0, &rawc[r]);
		rawv[r] = run_raw(key, 1, &rawvc[r]);
		one[r] = run_keyd(1, &onec[r]);
		many[r] = run_keyd(nreq, &manyc[r]);
	}
	verify_log();
	EVP_PKEY_free(key);

	printf("keyd signatures over imsg: IMSG_KEY_SIGN_HBRESP, a new keyd "
	    "each run, every\nrequester a process asking for its burst of "
	    "%d (then keyd allows %d/s),\n%d in flight; raw: %d s of "
	    "EVP_DigestSign in one thread; %d runs, alternated.\n"
	    "Signatures per wall second and per CPU second (raw: this "
	    "process; keyd:\nkeyd's, from /proc/PID/schedstat).\n\n",
	    KEYD_BURST, KEYD_RATE, window, duration, runs);
	printf("%-21s %7s %7s %7s %7s %7s %7s %7s %7s\n", "", "wall/s",
	    "wall/s", "cpu/s", "cpu/s", "/sign", "/sign", "/s+v", "/s+v");
	printf("%-21s %7s %7s %7s %7s %7s %7s %7s %7s\n", "", "best", "median",
	    "best", "median", "wall", "cpu", "wall", "cpu");
	row("raw sign", raw, rawc, raw, rawc, rawv, rawvc);
	row("raw sign + verify", rawv, rawvc, raw, rawc, rawv, rawvc);
	row("keyd, 1 requester", one, onec, raw, rawc, rawv, rawvc);
	snprintf(label, sizeof(label), "keyd, %d requesters", nreq);
	row(label, many, manyc, raw, rawc, rawv, rawvc);
	printf("(ratios of the medians; /sign: to raw signing, target >= 80 "
	    "%%; /s+v: to raw\nsign + verify, the work keyd must do)\n");
	printf("audit log: %" PRIu64 " records (%" PRIu64 " signatures, %"
	    PRIu64 " checkpoints), chain and checkpoints verified.\n",
	    audit_records, nsigned, audit_cps);
	return (0);
}
