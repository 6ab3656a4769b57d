/*
 * Copyright (c) 2025 The relayd authors
 *
 * Permission to use, copy, modify, and distribute this software for any
 * purpose with or without fee is hereby granted, provided that the above
 * copyright notice and this permission notice appear in all copies.
 *
 * THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
 * WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
 * MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
 * ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
 * WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
 * ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
 * OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
 */

/*
 * The real sandbox, entered by forked children, one process profile at a
 * time: what must still work (imsg, fd passing, libevent, OpenSSL, memory,
 * time, randomness, logging, the network each engine needs) and what must
 * fail softly (EACCES) or kill (SIGSYS).  A sandboxed child cannot talk to
 * Check, so it reports failures as text over a pipe and by exit status.
 */

#include "config.h"

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/util.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "imsg.h"
#include "keyd.h"
#include "log.h"
#include "sandbox.h"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_SANITIZER	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_SANITIZER	1
#endif
#endif

struct sbtest {
	enum proc_id		 proc;
	struct sandbox_state	 st;
	int			 resfd;		/* failure text, child side */
	int			 statusfd;	/* /proc/self/status */
	int			 limitsfd;	/* /proc/self/limits */
	int			 sv[2];		/* imsg socketpair */
	int			 p[2];		/* pipe passed over imsg */
	int			 lsock;		/* TCP listener */
	int			 csock;		/* a client connected to it */
	struct sockaddr_in	 laddr;
	int			 usock;		/* AF_UNIX listener */
	char			 upath[108];
	int			 keyfd;		/* a file, like keyd's key */
	int			 logfd;		/* stderr as a regular file */
	struct event_base	*base;
	EVP_PKEY		*pkey;
	int			 debug;		/* RELAYD_SANDBOX_DEBUG */
	long			 arg;
	/* parent side */
	char			 msg[1024];
	char			 err[4096];
};

typedef int (*sbfn)(struct sbtest *);

static const char *pname[PROC_MAX] = {
	"parent", "frontend", "peer", "routed", "ledgerd", "keyd"
};

static int
sbfail(struct sbtest *t, const char *fmt, ...)
{
	char	 buf[512];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0) {
		if ((size_t)n >= sizeof(buf))
			n = sizeof(buf) - 1;
		if (write(t->resfd, buf, (size_t)n) == -1)
			_exit(3);
	}
	return (-1);
}

#define SBCHECK(t, cond) do {						\
	if (!(cond))							\
		return (sbfail((t), "%s:%d: %s: %s failed (errno %d)",	\
		    __FILE__, __LINE__, pname[(t)->proc], #cond, errno)); \
} while (0)

static void
slurp(int fd, char *buf, size_t len)
{
	size_t	 off = 0;
	ssize_t	 n;

	while (off < len - 1 && (n = read(fd, buf + off,
	    len - 1 - off)) > 0)
		off += (size_t)n;
	buf[off] = '\0';
}

/*
 * Fork; the child runs prep (resources, still unconfined), enters the
 * sandbox of t->proc and runs body.  Returns the wait status; t->msg has
 * what the child reported, t->err its stderr.
 */
static int
sbrun(struct sbtest *t, sbfn prep, sbfn body)
{
	int	 res[2], errp[2], status;
	pid_t	 pid;

	ck_assert_int_eq(pipe(res), 0);
	ck_assert_int_eq(pipe(errp), 0);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		close(res[0]);
		close(errp[0]);
		if (t->logfd != -1)
			dup2(t->logfd, STDERR_FILENO);
		else
			dup2(errp[1], STDERR_FILENO);
		t->resfd = res[1];
		t->statusfd = open("/proc/self/status", O_RDONLY);
		t->limitsfd = open("/proc/self/limits", O_RDONLY);
		if (t->statusfd == -1 || t->limitsfd == -1)
			_exit(4);
		if (t->debug && setenv("RELAYD_SANDBOX_DEBUG", "1", 1) == -1)
			_exit(4);
		if (prep != NULL && prep(t) == -1)
			_exit(2);
		if (t->proc == PROC_KEYD) {
			/* keyd's own filter (keyd/sandbox.c) */
			keyd_sandbox(&t->st.seccomp, &t->st.landlock);
			t->st.no_new_privs = 1;
		} else
			sandbox_enter(&t->st, t->proc);
		_exit(body(t) == 0 ? 0 : 1);
	}
	close(res[1]);
	close(errp[1]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	unlink(t->upath);	/* the child's AF_UNIX listener, if any */
	slurp(res[0], t->msg, sizeof(t->msg));
	slurp(errp[0], t->err, sizeof(t->err));
	close(res[0]);
	close(errp[0]);
	return (status);
}

static void
sbinit(struct sbtest *t, enum proc_id proc)
{
	static int	 seq;

	memset(t, 0, sizeof(*t));
	t->proc = proc;
	t->resfd = t->statusfd = t->limitsfd = -1;
	t->sv[0] = t->sv[1] = t->p[0] = t->p[1] = -1;
	t->lsock = t->csock = t->usock = t->keyfd = t->logfd = -1;
	snprintf(t->upath, sizeof(t->upath), "/tmp/relayd-sb-%d-%d.sock",
	    (int)getpid(), seq++);
}

/*
 * sbrun, and when the child died of SIGSYS, once more in debug mode so
 * that the failure names the system call.
 */
static int
sbrun_diag(struct sbtest *t, sbfn prep, sbfn body)
{
	struct sbtest	 again;
	int		 status;

	again = *t;
	status = sbrun(t, prep, body);
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS) {
		again.debug = 1;
		(void)sbrun(&again, prep, body);
		strlcpy(t->err, again.err, sizeof(t->err));
	}
	return (status);
}

static void
expect_ok(struct sbtest *t, int status)
{
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "%s: status %#x%s%s: %s / stderr: %s", pname[t->proc], status,
	    WIFSIGNALED(status) ? ", signal " : "",
	    WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "",
	    t->msg, t->err);
}

static void
expect_signal(struct sbtest *t, int status, int sig, const char *what)
{
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == sig,
	    "%s: %s: expected %s, status %#x: %s / stderr: %s",
	    pname[t->proc], what, strsignal(sig), status, t->msg, t->err);
}

static int
landlock_abi(void)
{
	long	 v;

	v = syscall(__NR_landlock_create_ruleset, NULL, 0, 1U);
	if (v <= 0)
		return (0);
	return (v > 7 ? 7 : (int)v);
}

/* Find "Name:\tvalue" in a /proc/self/status text. */
static int
has_line(const char *text, const char *line)
{
	const char	*p = text;
	size_t		 len = strlen(line);

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') &&
		    (p[len] == '\n' || p[len] == '\0'))
			return (1);
		p += len;
	}
	return (0);
}

/* The soft limit of one line of /proc/self/limits, -1 for unlimited. */
static long long
limit_of(const char *text, const char *name)
{
	const char	*p;
	char		 soft[32];

	if ((p = strstr(text, name)) == NULL)
		return (-2);
	p += strlen(name);
	if (sscanf(p, " %31s", soft) != 1)
		return (-2);
	if (strcmp(soft, "unlimited") == 0)
		return (-1);
	return (strtoll(soft, NULL, 10));
}

/* ---- bodies, run inside the sandbox ---- */

static int
body_status(struct sbtest *t)
{
	char		 buf[8192];
	ssize_t		 n;
	long long	 fsize;

	n = read(t->statusfd, buf, sizeof(buf) - 1);
	SBCHECK(t, n > 0);
	buf[n] = '\0';
	SBCHECK(t, has_line(buf, "Seccomp:\t2"));
	SBCHECK(t, has_line(buf, "NoNewPrivs:\t1"));
	n = read(t->limitsfd, buf, sizeof(buf) - 1);
	SBCHECK(t, n > 0);
	buf[n] = '\0';
	SBCHECK(t, limit_of(buf, "Max core file size") == 0);
	SBCHECK(t, limit_of(buf, "Max processes") == 0);
	fsize = limit_of(buf, "Max file size");
	if (t->logfd != -1)
		SBCHECK(t, fsize == -1);	/* stderr is a file */
	else
		SBCHECK(t, fsize == 0);	/* keyd too: it writes no file */
	SBCHECK(t, t->st.seccomp == 2);
	SBCHECK(t, t->st.no_new_privs == 1);
	SBCHECK(t, t->st.landlock == t->arg);
	log_warnx("logging from %s works", pname[t->proc]);
	return (0);
}

static int
prep_imsg(struct sbtest *t)
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, t->sv) == -1)
		return (-1);
	if (pipe(t->p) == -1)
		return (-1);
	t->base = event_base_new();
	t->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (t->base == NULL || t->pkey == NULL)
		return (-1);
	return (0);
}

static int
cmp_int(const void *a, const void *b)
{
	int	 x = *(const int *)a, y = *(const int *)b;

	return (x < y ? -1 : x > y);
}

static int	 ev_seen;

static void
ev_cb(evutil_socket_t fd, short what, void *arg)
{
	struct event_base	*base = arg;
	char			 c;

	if (what & EV_SIGNAL)
		ev_seen |= 1;
	if (what & EV_TIMEOUT)
		ev_seen |= 2;
	if (what & EV_READ) {
		if (read(fd, &c, 1) == 1 && c == 'e')
			ev_seen |= 4;
	}
	if (ev_seen == 7)
		event_base_loopbreak(base);
}

static void
bev_read_cb(struct bufferevent *bev, void *arg)
{
	char	 buf[16];
	size_t	 n;

	n = bufferevent_read(bev, buf, sizeof(buf));
	if (n == 5 && memcmp(buf, "bufev", 5) == 0)
		ev_seen |= 8;
	event_base_loopbreak(arg);
}

/* The daily work of every process: must all succeed. */
static int
body_work(struct sbtest *t)
{
	struct imsgbuf		 a, b;
	struct imsg		 imsg;
	struct timespec		 ts;
	struct event		*sig, *tmo, *rd;
	struct bufferevent	*bev;
	struct timeval		 tv = { 0, 10000 };
	EVP_MD_CTX		*md;
	unsigned char		 rnd[64], sigbuf[64], *big;
	size_t			 siglen = sizeof(sigbuf), i;
	int			*arr, fd;
	char			 c;

	/*
	 * imsg with descriptor passing, and a blocking flush.  keyd gets
	 * no descriptor once started (keyd.c refuses them), so it may not
	 * set flags on one either.
	 */
	SBCHECK(t, imsgbuf_init(&a, t->sv[0]) == 0);
	SBCHECK(t, imsgbuf_init(&b, t->sv[1]) == 0);
	imsgbuf_allow_fdpass(&a);
	imsgbuf_allow_fdpass(&b);
	SBCHECK(t, imsg_compose(&a, 7, 8, 0, t->proc == PROC_KEYD ? -1 :
	    t->p[1], "hi", 2) == 1);
	SBCHECK(t, imsgbuf_flush(&a) == 0);
	SBCHECK(t, imsgbuf_read(&b) == 1);
	SBCHECK(t, imsgbuf_get(&b, &imsg) == 1);
	SBCHECK(t, imsg_get_type(&imsg) == 7);
	SBCHECK(t, imsg_get_pid(&imsg) == (uint32_t)getpid());
	fd = imsg_get_fd(&imsg);
	if (t->proc != PROC_KEYD) {
		SBCHECK(t, fd != -1);
		SBCHECK(t, fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) |
		    O_NONBLOCK) == 0);
		SBCHECK(t, write(fd, "x", 1) == 1);
		SBCHECK(t, read(t->p[0], &c, 1) == 1 && c == 'x');
		close(fd);
	}
	imsg_free(&imsg);
	imsgbuf_clear(&a);
	imsgbuf_clear(&b);

	/* time, randomness, identity */
	SBCHECK(t, clock_gettime(CLOCK_REALTIME, &ts) == 0);
	SBCHECK(t, clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
	SBCHECK(t, clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == 0);
	SBCHECK(t, time(NULL) > 1500000000);
	SBCHECK(t, getrandom(rnd, sizeof(rnd), 0) == sizeof(rnd));
	SBCHECK(t, RAND_bytes(rnd, sizeof(rnd)) == 1);
	SBCHECK(t, getpid() > 0);
	if (t->proc != PROC_KEYD)	/* keyd asks before its sandbox */
		SBCHECK(t, geteuid() == getuid());

	/* memory: large blocks through mmap, mremap and back */
	SBCHECK(t, (big = malloc(16 << 20)) != NULL);
	memset(big, 0xa5, 16 << 20);
	SBCHECK(t, (big = realloc(big, 48 << 20)) != NULL);
	SBCHECK(t, big[(16 << 20) - 1] == 0xa5);
	memset(big, 0x5a, 48 << 20);
	free(big);

	/* qsort on a big array asks glibc for the memory size */
	if (t->proc == PROC_KEYD)	/* keyd sorts nothing */
		goto openssl;
	SBCHECK(t, (arr = calloc(100000, sizeof(*arr))) != NULL);
	for (i = 0; i < 100000; i++)
		arr[i] = (int)((i * 7919) % 100003);
	qsort(arr, 100000, sizeof(*arr), cmp_int);
	for (i = 1; i < 100000; i++)
		SBCHECK(t, arr[i - 1] <= arr[i]);
	free(arr);

	/* OpenSSL: sign and verify with Ed25519, a fresh key too */
 openssl:
	SBCHECK(t, (md = EVP_MD_CTX_new()) != NULL);
	SBCHECK(t, EVP_DigestSignInit(md, NULL, NULL, NULL, t->pkey) == 1);
	SBCHECK(t, EVP_DigestSign(md, sigbuf, &siglen, rnd, 32) == 1);
	EVP_MD_CTX_free(md);
	SBCHECK(t, (md = EVP_MD_CTX_new()) != NULL);
	SBCHECK(t, EVP_DigestVerifyInit(md, NULL, NULL, NULL, t->pkey) == 1);
	SBCHECK(t, EVP_DigestVerify(md, sigbuf, siglen, rnd, 32) == 1);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(t->pkey);
	SBCHECK(t, (t->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) !=
	    NULL);
	EVP_PKEY_free(t->pkey);

	/* keyd is a poll loop; everybody else runs libevent */
	if (t->proc != PROC_KEYD) {
		/* no new socketpairs: use the imsg pair, free again */
		sig = evsignal_new(t->base, SIGUSR1, ev_cb, t->base);
		tmo = evtimer_new(t->base, ev_cb, t->base);
		rd = event_new(t->base, t->sv[1], EV_READ | EV_PERSIST,
		    ev_cb, t->base);
		SBCHECK(t, sig != NULL && tmo != NULL && rd != NULL);
		SBCHECK(t, evsignal_add(sig, NULL) == 0);
		SBCHECK(t, evtimer_add(tmo, &tv) == 0);
		SBCHECK(t, event_add(rd, NULL) == 0);
		SBCHECK(t, raise(SIGUSR1) == 0);
		SBCHECK(t, write(t->sv[0], "e", 1) == 1);
		SBCHECK(t, event_base_dispatch(t->base) != -1);
		SBCHECK(t, ev_seen == 7);
		event_free(rd);
		event_free(tmo);
		event_free(sig);

		bev = bufferevent_socket_new(t->base, t->sv[1], 0);
		SBCHECK(t, bev != NULL);
		bufferevent_setcb(bev, bev_read_cb, NULL, NULL, t->base);
		SBCHECK(t, bufferevent_enable(bev, EV_READ) == 0);
		SBCHECK(t, write(t->sv[0], "bufev", 5) == 5);
		SBCHECK(t, event_base_dispatch(t->base) != -1);
		SBCHECK(t, ev_seen & 8);
		bufferevent_free(bev);
		event_base_free(t->base);
		/* libevent's own RNG (evdns ids), seeded in here */
		evutil_secure_rng_get_bytes(rnd, sizeof(rnd));
	}
	log_warnx("%s did its work", pname[t->proc]);
	return (0);
}

/* File system probes fail softly, everywhere. */
static int
body_files(struct sbtest *t)
{
	struct stat	 sb;
	DIR		*d;

	errno = 0;
	SBCHECK(t, open("/etc/passwd", O_RDONLY) == -1 && errno == EACCES);
	errno = 0;
	SBCHECK(t, open("/tmp/relayd-sandbox-x", O_WRONLY | O_CREAT, 0600) ==
	    -1 && errno == EACCES);
	errno = 0;
	SBCHECK(t, stat("/", &sb) == -1 && errno == EACCES);
	errno = 0;
	SBCHECK(t, access("/etc/passwd", R_OK) == -1 && errno == EACCES);
	SBCHECK(t, (d = opendir("/")) == NULL && errno == EACCES);
	SBCHECK(t, fopen("/etc/hosts", "r") == NULL);
	SBCHECK(t, getpwnam("root") == NULL);
	/* keyd needs no fstat once started: every stat form is refused */
	errno = 0;
	if (t->proc == PROC_KEYD)
		SBCHECK(t, fstat(STDERR_FILENO, &sb) == -1 && errno == EACCES);
	else
		SBCHECK(t, fstat(STDERR_FILENO, &sb) == 0);
	SBCHECK(t, isatty(STDERR_FILENO) == 0);
	return (0);
}

/* keyd: no network at all (soft), and its key file descriptor. */
static int
prep_keyfile(struct sbtest *t)
{
	char	 path[] = "/tmp/relayd-keyfile-XXXXXX";

	if ((t->keyfd = mkstemp(path)) == -1)
		return (-1);
	unlink(path);
	return (0);
}

static int
body_keyd(struct sbtest *t)
{
	struct sockaddr_in	 sin;
	struct stat		 sb;
	void			*p;

	errno = 0;
	SBCHECK(t, socket(AF_UNIX, SOCK_DGRAM, 0) == -1 && errno == EACCES);
	errno = 0;
	SBCHECK(t, socket(AF_INET, SOCK_STREAM, 0) == -1 && errno == EACCES);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	errno = 0;
	SBCHECK(t, connect(t->keyfd, (struct sockaddr *)&sin, sizeof(sin)) ==
	    -1 && errno == EACCES);
	/* AT_EMPTY_PATH with a real path: once it could stat any file */
	errno = 0;
	SBCHECK(t, syscall(__NR_newfstatat, AT_FDCWD, "/etc/shadow", &sb,
	    AT_EMPTY_PATH) == -1 && errno == EACCES);
	errno = 0;
	SBCHECK(t, syscall(__NR_newfstatat, t->keyfd, "", &sb,
	    AT_EMPTY_PATH) == -1 && errno == EACCES);
	/* malloc's memory and advice still work, other advice fails */
	p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	SBCHECK(t, p != MAP_FAILED);
	SBCHECK(t, madvise(p, 1 << 20, MADV_DONTNEED) == 0);
	errno = 0;
	SBCHECK(t, madvise(p, 1 << 20, MADV_HUGEPAGE) == -1 &&
	    errno == EINVAL);
	SBCHECK(t, munmap(p, 1 << 20) == 0);
	return (0);
}

/*
 * What keyd's filter no longer keeps "for key rotation": the key file is
 * read before the sandbox, so each of these kills keyd now.
 */
static int
body_keyd_kill(struct sbtest *t)
{
	char	 b[16];

	switch (t->arg) {
	case 0:
		lseek(t->keyfd, 0, SEEK_SET);
		break;
	case 1:
		(void)pread(t->keyfd, b, sizeof(b), 0);
		break;
	case 2:
		(void)pwrite(t->keyfd, "k", 1, 0);
		break;
	case 3:
		(void)ftruncate(t->keyfd, 0);
		break;
	case 4:
		fsync(t->keyfd);
		break;
	case 5:
		fdatasync(t->keyfd);
		break;
	case 6:
		/* shared mappings: memory another process could see */
		mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		break;
	case 7:
		/* a file mapping */
		mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, t->keyfd, 0);
		break;
	case 8:
		fcntl(t->keyfd, F_GETFL);
		break;
	}
	return (sbfail(t, "keyd case %ld survived", t->arg));
}

#define NKEYDKILL	9

/* ---- network ---- */

static int
prep_net(struct sbtest *t)
{
	struct sockaddr_un	 sun;
	socklen_t		 len = sizeof(t->laddr);

	if ((t->lsock = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return (-1);
	memset(&t->laddr, 0, sizeof(t->laddr));
	t->laddr.sin_family = AF_INET;
	t->laddr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(t->lsock, (struct sockaddr *)&t->laddr,
	    sizeof(t->laddr)) == -1 || listen(t->lsock, 16) == -1 ||
	    getsockname(t->lsock, (struct sockaddr *)&t->laddr, &len) == -1)
		return (-1);
	/* a client already waiting in the backlog */
	if ((t->csock = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    connect(t->csock, (struct sockaddr *)&t->laddr,
	    sizeof(t->laddr)) == -1)
		return (-1);

	/* named by the parent (sbinit), which removes it afterwards */
	unlink(t->upath);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, t->upath, sizeof(sun.sun_path));
	if ((t->usock = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    bind(t->usock, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(t->usock, 4) == -1)
		return (-1);
	return (0);
}

static int
try_connect(int domain, const struct sockaddr *sa, socklen_t len)
{
	int	 s, rv;

	if ((s = socket(domain, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	rv = connect(s, sa, len);
	close(s);
	return (rv);
}

/* frontend: accept on a passed listener, no way out. */
static int
body_frontend(struct sbtest *t)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	int			 s, d, one = 1;

	s = accept4(t->lsock, (struct sockaddr *)&ss, &len,
	    SOCK_NONBLOCK | SOCK_CLOEXEC);
	SBCHECK(t, s != -1);
	len = sizeof(ss);
	SBCHECK(t, getpeername(s, (struct sockaddr *)&ss, &len) == 0);
	SBCHECK(t, setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one,
	    sizeof(one)) == 0);
	SBCHECK(t, write(t->csock, "ping", 4) == 4);
	SBCHECK(t, shutdown(s, SHUT_WR) == 0);
	/* the lingering close reads a refused connection out on a dup */
	SBCHECK(t, (d = dup(s)) != -1);
	close(s);
	close(d);
	errno = 0;
	SBCHECK(t, socket(AF_INET, SOCK_STREAM, 0) == -1 && errno == EACCES);
	errno = 0;
	SBCHECK(t, socket(AF_UNIX, SOCK_DGRAM, 0) == -1 && errno == EACCES);
	errno = 0;
	SBCHECK(t, connect(t->csock, (struct sockaddr *)&t->laddr,
	    sizeof(t->laddr)) == -1 && errno == EACCES);
	errno = 0;
	SBCHECK(t, bind(t->csock, (struct sockaddr *)&t->laddr,
	    sizeof(t->laddr)) == -1 && errno == EACCES);
	return (0);
}

/* peer: outbound TCP, accept, but no other socket families, no bind. */
static int
body_peer(struct sbtest *t)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 s;

	s = accept4(t->lsock, NULL, NULL, SOCK_CLOEXEC);
	SBCHECK(t, s != -1);
	close(s);
	SBCHECK(t, (s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) !=
	    -1);
	SBCHECK(t, connect(s, (struct sockaddr *)&t->laddr,
	    sizeof(t->laddr)) == 0 || errno == EINPROGRESS);
	SBCHECK(t, getsockname(s, (struct sockaddr *)&sin, &len) == 0);
	close(s);
	SBCHECK(t, try_connect(AF_INET, (struct sockaddr *)&t->laddr,
	    sizeof(t->laddr)) == 0);
	SBCHECK(t, (s = socket(AF_INET6, SOCK_DGRAM, 0)) != -1);
	close(s);
	errno = 0;
	SBCHECK(t, socket(AF_UNIX, SOCK_STREAM, 0) == -1 && errno == EACCES);
	errno = 0;
	SBCHECK(t, socket(AF_NETLINK, SOCK_RAW, 0) == -1 && errno == EACCES);
	errno = 0;
	SBCHECK(t, socket(AF_PACKET, SOCK_RAW, 0) == -1 && errno == EACCES);
	errno = 0;
	SBCHECK(t, socket(AF_INET, SOCK_STREAM, 0) != -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	errno = 0;
	SBCHECK(t, bind(t->csock, (struct sockaddr *)&sin, sizeof(sin)) ==
	    -1 && errno == EACCES);
	return (0);
}

/* ledgerd: PostgreSQL over TCP or its socket path; files still closed. */
static int
body_ledgerd(struct sbtest *t)
{
	struct sockaddr_un	 sun;

	SBCHECK(t, try_connect(AF_INET, (struct sockaddr *)&t->laddr,
	    sizeof(t->laddr)) == 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, t->upath, sizeof(sun.sun_path));
	SBCHECK(t, try_connect(AF_UNIX, (struct sockaddr *)&sun,
	    sizeof(sun)) == 0);
	errno = 0;
	SBCHECK(t, socket(AF_NETLINK, SOCK_RAW, 0) == -1 && errno == EACCES);
	errno = 0;
	SBCHECK(t, open("/etc/postgresql-common/pg_service.conf",
	    O_RDONLY) == -1 && errno == EACCES);
	return (0);
}

/* routed: no sockets at all. */
static int
body_routed(struct sbtest *t)
{
	errno = 0;
	SBCHECK(t, socket(AF_INET, SOCK_STREAM, 0) == -1 && errno == EACCES);
	errno = 0;
	SBCHECK(t, socket(AF_UNIX, SOCK_STREAM, 0) == -1 && errno == EACCES);
	errno = 0;
	SBCHECK(t, connect(t->csock, (struct sockaddr *)&t->laddr,
	    sizeof(t->laddr)) == -1 && errno == EACCES);
	return (0);
}

/* ---- things that must kill ---- */

static int
body_kill(struct sbtest *t)
{
	char	*argv[] = { "/bin/true", NULL };
	void	*p;
	pid_t	 pid;

	switch (t->arg) {
	case 0:
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		break;
	case 1:
		mount("none", "/tmp", "tmpfs", 0, NULL);
		break;
	case 2:
		unshare(CLONE_NEWUSER);
		break;
	case 3:
		execve(argv[0], argv, NULL);
		break;
	case 4:
		mmap(NULL, 4096, PROT_READ | PROT_EXEC,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		break;
	case 5:
		p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return (sbfail(t, "mmap failed"));
		mprotect(p, 4096, PROT_READ | PROT_EXEC);
		break;
	case 6:
		/* children never fork */
		if ((pid = fork()) == 0)
			_exit(0);
		break;
	case 7:
		/* signals to other processes */
		kill(getppid(), 0);
		break;
	case 8:
		syscall(__NR_setuid, 0);
		break;
	case 9:
		/* no listening sockets of its own */
		listen(t->csock, 1);
		break;
	case 10:
		/* no new socketpairs or pipes */
		{
			int	 sv[2];

			socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
		}
		break;
	case 11:
		/* open_by_handle_at, the classic container escape */
		syscall(__NR_open_by_handle_at, 0, NULL, 0);
		break;
	}
	return (sbfail(t, "case %ld survived", t->arg));
}

#define NKILL	12

static const char *killname[NKILL] = {
	"ptrace", "mount", "unshare", "execve", "mmap PROT_EXEC",
	"mprotect PROT_EXEC", "fork", "kill(other)", "setuid", "listen",
	"socketpair", "open_by_handle_at"
};

static int
prep_kill(struct sbtest *t)
{
	if (t->arg == 9)
		return (prep_net(t));
	return (0);
}

static int
body_parent(struct sbtest *t)
{
	return (sbfail(t, "sandbox_enter(PROC_PARENT) returned"));
}

/* ---- the tests ---- */

START_TEST(test_status)
{
	struct sbtest	 t;
	int		 status;

	sbinit(&t, (enum proc_id)_i);
	t.arg = landlock_abi();
	status = sbrun_diag(&t, NULL, body_status);
	expect_ok(&t, status);
	ck_assert_msg(strstr(t.err, "works") != NULL, "no log: %s", t.err);
}
END_TEST

/* A log file as stderr: the file size limit is left alone. */
START_TEST(test_status_logfile)
{
	struct sbtest	 t;
	char		 path[] = "/tmp/relayd-sblog-XXXXXX", buf[512];
	int		 status, fd;
	ssize_t		 n;

	sbinit(&t, (enum proc_id)_i);
	t.arg = landlock_abi();
	ck_assert_int_ne(fd = mkstemp(path), -1);
	unlink(path);
	t.logfd = fd;
	status = sbrun(&t, NULL, body_status);
	expect_ok(&t, status);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_msg(strstr(buf, "works") != NULL, "log file: %s", buf);
	close(fd);
}
END_TEST

START_TEST(test_work)
{
	struct sbtest	 t;
	int		 status;

	sbinit(&t, (enum proc_id)_i);
	status = sbrun_diag(&t, prep_imsg, body_work);
	expect_ok(&t, status);
	ck_assert_msg(strstr(t.err, "did its work") != NULL, "%s", t.err);
}
END_TEST

START_TEST(test_files)
{
	struct sbtest	 t;
	int		 status;

	sbinit(&t, (enum proc_id)_i);
	status = sbrun_diag(&t, NULL, body_files);
	expect_ok(&t, status);
}
END_TEST

START_TEST(test_kill)
{
	struct sbtest	 t;
	int		 status, k;

	for (k = 0; k < NKILL; k++) {
#ifdef TEST_SANITIZER
		/* sanitizer builds turn fork into EPERM for the symbolizer */
		if (k == 6)
			continue;
#endif
		sbinit(&t, (enum proc_id)_i);
		t.arg = k;
		status = sbrun(&t, prep_kill, body_kill);
		expect_signal(&t, status, SIGSYS, killname[k]);
	}
}
END_TEST

START_TEST(test_keyd)
{
	struct sbtest	 t;
	int		 status;

	char		 what[32];
	long		 k;

	sbinit(&t, PROC_KEYD);
	status = sbrun_diag(&t, prep_keyfile, body_keyd);
	expect_ok(&t, status);

	for (k = 0; k < NKEYDKILL; k++) {
#ifdef TEST_SANITIZER
		/* ASan's runtime maps as it likes: no mmap flag rules */
		if (k == 6 || k == 7)
			continue;
#endif
		sbinit(&t, PROC_KEYD);
		t.arg = k;
		status = sbrun(&t, prep_keyfile, body_keyd_kill);
		snprintf(what, sizeof(what), "keyd case %ld", k);
		expect_signal(&t, status, SIGSYS, what);
	}
}
END_TEST

START_TEST(test_network)
{
	struct sbtest	 t;
	sbfn		 body[PROC_MAX] = {
		NULL, body_frontend, body_peer, body_routed, body_ledgerd,
		body_keyd
	};
	sbfn		 prep[PROC_MAX] = {
		NULL, prep_net, prep_net, prep_net, prep_net, prep_keyfile
	};
	int		 status;

	sbinit(&t, (enum proc_id)_i);
	status = sbrun_diag(&t, prep[_i], body[_i]);
	expect_ok(&t, status);
}
END_TEST

/* Profiles differ: what one engine may do kills another. */
static int
body_accept(struct sbtest *t)
{
	int	 s;

	s = accept(t->lsock, NULL, NULL);
	return (sbfail(t, "accept returned %d", s));
}

START_TEST(test_profiles_differ)
{
	struct sbtest	 t;
	int		 status;

	/* accept: frontend and peer only */
	sbinit(&t, PROC_ROUTED);
	status = sbrun(&t, prep_net, body_accept);
	expect_signal(&t, status, SIGSYS, "accept in routed");
	sbinit(&t, PROC_LEDGERD);
	status = sbrun(&t, prep_net, body_accept);
	expect_signal(&t, status, SIGSYS, "accept in ledgerd");
	sbinit(&t, PROC_KEYD);
	status = sbrun(&t, prep_net, body_accept);
	expect_signal(&t, status, SIGSYS, "accept in keyd");
}
END_TEST

START_TEST(test_parent_refused)
{
	struct sbtest	 t;
	int		 status;

	sbinit(&t, PROC_PARENT);
	status = sbrun(&t, NULL, body_parent);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1,
	    "status %#x: %s", status, t.msg);
	ck_assert_msg(strstr(t.err, "not sandboxed") != NULL, "%s", t.err);
}
END_TEST

START_TEST(test_debug_mode)
{
	struct sbtest	 t;
	char		 want[64];
	int		 status;

	sbinit(&t, (enum proc_id)_i);
	t.debug = 1;
	t.arg = 0;	/* ptrace */
	status = sbrun(&t, NULL, body_kill);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1,
	    "status %#x: %s / %s", status, t.msg, t.err);
	snprintf(want, sizeof(want), ": system call %d (arch 0x",
	    (int)__NR_ptrace);
	ck_assert_msg(strstr(t.err, want) != NULL, "stderr: %s", t.err);
	ck_assert_msg(strstr(t.err, "relayd sandbox violation") != NULL,
	    "stderr: %s", t.err);
}
END_TEST

/* ---- privilege drop ---- */

static void
ensure_var_empty(void)
{
	struct stat	 sb;

	if (stat("/var/empty", &sb) == -1) {
		ck_assert_int_eq(errno, ENOENT);
		ck_assert_int_eq(mkdir("/var/empty", 0755), 0);
	}
}

static int
dir_is_empty(const char *path)
{
	struct dirent	*de;
	DIR		*d;
	int		 n = 0;

	if ((d = opendir(path)) == NULL)
		return (0);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return (n == 0);
}

START_TEST(test_privdrop)
{
	struct sandbox_state	 st;
	struct passwd		*pw;
	uid_t			 nuid, r, e, s;
	gid_t			 ngid, rg, eg, sg;
	pid_t			 pid;
	int			 status;

	if (geteuid() != 0) {
		printf("test_privdrop: not root, privilege drop not tested\n");
		return;
	}
	ensure_var_empty();
	ck_assert_ptr_nonnull(pw = getpwnam("nobody"));
	nuid = pw->pw_uid;
	ngid = pw->pw_gid;

	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		sandbox_privdrop(&st, "/var/empty", "nobody");
		if (getresuid(&r, &e, &s) == -1 || r != nuid || e != nuid ||
		    s != nuid)
			_exit(10);
		if (getresgid(&rg, &eg, &sg) == -1 || rg != ngid ||
		    eg != ngid || sg != ngid)
			_exit(11);
		if (!dir_is_empty("/"))
			_exit(12);
		if (access("/etc/passwd", F_OK) == 0)
			_exit(13);
		if (!st.chrooted || strcmp(st.chroot, "/var/empty") != 0 ||
		    strcmp(st.user, "nobody") != 0 || st.uid != nuid ||
		    st.gid != ngid)
			_exit(14);
		if (setuid(0) != -1)
			_exit(15);
		/* and the whole chain: sandbox after the drop */
		sandbox_enter(&st, PROC_ROUTED);
		if (st.seccomp != 2)
			_exit(16);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "privdrop child status %#x", status);
}
END_TEST

/*
 * setresuid() resets the dumpable flag to fs.suid_dumpable, so it must be
 * cleared after the drop.  With suid_dumpable=2 (as root) the drop to
 * nobody would leave the process dumpable (2) otherwise; in development
 * mode (no uid change) it would stay 1.
 */
static int
nodump_child(const char *user)
{
	struct sandbox_state	 st;
	pid_t			 pid;
	int			 status;

	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		sandbox_privdrop(&st, NULL, user);
		_exit(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0 &&
		    st.dumpable == 0 ? 0 : 10 + prctl(PR_GET_DUMPABLE));
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

START_TEST(test_nodump)
{
	FILE	*f;
	int	 old = -1, rv;

	ck_assert_int_eq(nodump_child(NULL), 0);
	if (geteuid() != 0) {
		printf("test_nodump: not root, suid_dumpable=2 not tested\n");
		return;
	}
	if ((f = fopen("/proc/sys/fs/suid_dumpable", "r+")) == NULL ||
	    fscanf(f, "%d", &old) != 1) {
		printf("test_nodump: fs.suid_dumpable not readable\n");
		if (f != NULL)
			fclose(f);
		return;
	}
	rewind(f);
	if (fprintf(f, "2\n") < 0 || fflush(f) != 0) {
		printf("test_nodump: fs.suid_dumpable not writable\n");
		fclose(f);
		return;
	}
	rv = nodump_child("nobody");
	rewind(f);
	fprintf(f, "%d\n", old);
	fclose(f);
	ck_assert_msg(rv == 0, "dumpable after the drop: %d", rv - 10);
}
END_TEST

START_TEST(test_privdrop_cases)
{
	struct sandbox_state	 st;
	struct passwd		*pw;
	char			 dir[] = "/tmp/relayd-chroot-XXXXXX";
	pid_t			 pid;
	int			 status, k;

	if (geteuid() != 0) {
		printf("test_privdrop_cases: not root, not tested\n");
		return;
	}
	ensure_var_empty();
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chmod(dir, 0777), 0);
	ck_assert_ptr_nonnull(pw = getpwnam("nobody"));

	for (k = 0; k < 5; k++) {
		pid = fork();
		ck_assert_int_ne(pid, -1);
		if (pid == 0) {
			if (freopen("/dev/null", "w", stderr) == NULL)
				_exit(9);
			switch (k) {
			case 0:	/* unknown user */
				sandbox_privdrop(&st, "/var/empty",
				    "no-such-user-relayd");
				break;
			case 1:	/* not a directory */
				sandbox_privdrop(&st, "/etc/passwd", "nobody");
				break;
			case 2:	/* no such directory */
				sandbox_privdrop(&st, "/nonexistent-relayd",
				    "nobody");
				break;
			case 3:
				/*
				 * Not root (development mode): recorded,
				 * nothing changed, no failure.
				 */
				if (setresuid(pw->pw_uid, pw->pw_uid, 0) == -1)
					_exit(8);
				sandbox_privdrop(&st, "/var/empty", "nobody");
				if (st.chrooted || st.chroot[0] != '\0' ||
				    st.uid != pw->pw_uid ||
				    strcmp(st.user, "nobody") != 0 ||
				    dir_is_empty("/"))
					_exit(7);
				_exit(0);
			case 4:
				/*
				 * A jail its user may write to (ledgerd's is
				 * PostgreSQL's socket directory) is accepted.
				 */
				sandbox_privdrop(&st, dir, "nobody");
				if (!st.chrooted || !dir_is_empty("/") ||
				    getuid() != pw->pw_uid)
					_exit(6);
				_exit(0);
			}
			_exit(5);	/* should have been fatal */
		}
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		/* 0-2 are fatal (exit 1), 3-4 are accepted */
		ck_assert_msg(WIFEXITED(status) &&
		    WEXITSTATUS(status) == (k < 3 ? 1 : 0),
		    "case %d: status %#x", k, status);
	}
	rmdir(dir);
}
END_TEST

static Suite *
sandbox_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("sandbox");
	tc = tcase_create("profiles");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_status, PROC_FRONTEND, PROC_MAX);
	tcase_add_loop_test(tc, test_status_logfile, PROC_FRONTEND,
	    PROC_MAX);
	tcase_add_loop_test(tc, test_work, PROC_FRONTEND, PROC_MAX);
	tcase_add_loop_test(tc, test_files, PROC_FRONTEND, PROC_MAX);
	tcase_add_loop_test(tc, test_kill, PROC_FRONTEND, PROC_MAX);
	tcase_add_loop_test(tc, test_network, PROC_FRONTEND, PROC_MAX);
	/* keyd has no debug mode: a violation always kills it */
	tcase_add_loop_test(tc, test_debug_mode, PROC_FRONTEND, PROC_KEYD);
	tcase_add_test(tc, test_keyd);
	tcase_add_test(tc, test_profiles_differ);
	tcase_add_test(tc, test_parent_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("privdrop");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_privdrop);
	tcase_add_test(tc, test_nodump);
	tcase_add_test(tc, test_privdrop_cases);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	/* log lines go to stderr, which the children hand back */
	log_init(1, LOG_DAEMON);
	sr = srunner_create(sandbox_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
