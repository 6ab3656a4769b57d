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
 * Privilege drop and the per-process sandbox of every relayd child.
 *
 * sandbox_privdrop(): look the user up (while /etc/passwd is still
 * reachable), chroot, setgroups/setresgid/setresuid, and check that the
 * ids really changed.  Skipped when not root (development mode).
 *
 * sandbox_enter(), Linux: rlimits, no_new_privs, Landlock (no file system
 * access at all; no TCP bind, and no TCP connect except for the peer engine
 * and ledgerd; no signals or abstract sockets outside the process), then a
 * seccomp-BPF allowlist per process built with libseccomp.  Anything not
 * listed kills the whole process (SCMP_ACT_KILL_PROCESS, seen as SIGSYS by
 * the parent).  A few calls that library code merely probes (opening files,
 * creating a syslog socket, isatty) fail with an errno instead, so glibc,
 * OpenSSL and libpq degrade gracefully rather than kill the process.
 *
 * OpenBSD: pledge(2) and unveil(2) instead, same order.
 *
 * The parent is not sandboxed by this code: it forks and execs the
 * children, opens the key file and writes the audit log.  sandbox_enter()
 * with PROC_PARENT is a programming error and fatal, so that a mix-up
 * cannot leave a child silently unconfined.
 *
 * Debugging a violation: run with RELAYD_SANDBOX_DEBUG=1 in the
 * environment (or build with -DRELAYD_SANDBOX_DEBUG).  The default action
 * then becomes SCMP_ACT_TRAP and a SIGSYS handler writes
 *	relayd sandbox violation: <process>: system call <nr> (arch <hex>)
 * to stderr and exits with status 1.  Translate the number with
 * `scmp_sys_resolver <nr>` or <asm/unistd_64.h>.  Not for production: a
 * trapping process could, in principle, catch SIGSYS and carry on.
 */

#include "config.h"

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/stat.h>
#ifdef __linux__
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/futex.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef HAVE_SECCOMP
#include <seccomp.h>
#endif
#ifdef HAVE_LINUX_LANDLOCK_H
#include <linux/landlock.h>
#endif

#include <jansson.h>

#include "log.h"
#include "sandbox.h"

/* Built with AddressSanitizer (gcc or clang): its runtime needs more. */
#if defined(__SANITIZE_ADDRESS__)
#define SB_SANITIZER	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SB_SANITIZER	1
#endif
#endif

static const char *
sb_procname(enum proc_id proc)
{
	switch (proc) {
	case PROC_PARENT:
		return ("parent");
	case PROC_FRONTEND:
		return ("frontend");
	case PROC_PEER:
		return ("peer");
	case PROC_ROUTED:
		return ("routed");
	case PROC_LEDGERD:
		return ("ledgerd");
	case PROC_KEYD:
		return ("keyd");
	default:
		return ("unknown");
	}
}

/*
 * No core files (key material, messages in flight), no new processes, and
 * no file growth.  Children never fork, and none writes files.  One
 * exception: when stderr is a regular file (the
 * foreground log redirected to a file), RLIMIT_FSIZE would turn every log
 * line into SIGXFSZ, so the file size limit is left alone; no new file can
 * be opened anyway.  RLIMIT_NOFILE is not touched here: the parent raised
 * it to the hard limit before spawning (relayd.c), and the frontend's
 * connection cap is derived from it.
 */
static void
sb_rlimits(enum proc_id proc)
{
	struct rlimit	 rl;
	struct stat	 sb;

	rl.rlim_cur = rl.rlim_max = 0;
	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		fatal("%s: RLIMIT_CORE", __func__);
	if (setrlimit(RLIMIT_NPROC, &rl) == -1)
		fatal("%s: RLIMIT_NPROC", __func__);

	if (fstat(STDERR_FILENO, &sb) == 0 && S_ISREG(sb.st_mode)) {
		log_debug("%s: stderr is a file, file size not limited",
		    __func__);
		return;
	}
	if (setrlimit(RLIMIT_FSIZE, &rl) == -1)
		fatal("%s: RLIMIT_FSIZE", __func__);
}

#ifdef __linux__

#ifdef HAVE_SECCOMP

/*
 * RELAYD_SANDBOX_DEBUG: report the forbidden system call and exit.  Only
 * async-signal-safe calls; write and exit_group are in every allowlist.
 */
static void
sb_sigsys(int sig, siginfo_t *si, void *uc)
{
	char		 buf[160], num[24], hex[11];
	const char	*parts[7], *s;
	unsigned long	 v;
	size_t		 len = 0, i, n;
	ssize_t		 w;
	int		 j;

	parts[0] = "relayd sandbox violation: ";
	parts[1] = log_procname();
	parts[2] = ": system call ";
	v = (unsigned long)(unsigned int)si->si_syscall;
	n = sizeof(num) - 1;
	num[n] = '\0';
	do {
		num[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0 && n > 0);
	parts[3] = num + n;
	parts[4] = " (arch ";
	parts[5] = NULL;	/* filled below */
	parts[6] = ")\n";

	for (j = 0; j < 7; j++) {
		s = parts[j];
		if (j == 5) {
			v = si->si_arch;
			hex[0] = '0';
			hex[1] = 'x';
			for (i = 0; i < 8; i++)
				hex[2 + i] = "0123456789abcdef"[(v >>
				    (28 - 4 * i)) & 0xf];
			hex[10] = '\0';
			s = hex;
		}
		while (*s != '\0' && len < sizeof(buf) - 1)
			buf[len++] = *s++;
	}
	w = write(STDERR_FILENO, buf, len);
	(void)w;
	_exit(1);
}

static int
sb_debug(void)
{
#ifdef RELAYD_SANDBOX_DEBUG
	return (1);
#else
	const char	*s;

	s = getenv("RELAYD_SANDBOX_DEBUG");
	return (s != NULL && strcmp(s, "1") == 0);
#endif
}

static void
sb_add(scmp_filter_ctx ctx, uint32_t action, int nr, const char *name,
    unsigned int argc, const struct scmp_arg_cmp *argv)
{
	int	 rc;

	/* pseudo numbers: no such call on this architecture */
	if (nr < 0)
		return;
	rc = seccomp_rule_add_array(ctx, action, nr, argc, argv);
	if (rc < 0 && rc != -EEXIST)
		fatalx("sandbox: seccomp rule for %s: %s", name,
		    strerror(-rc));
}

/* one argument comparison, every field named (clang's -Wextra) */
#define SB_CMP(n, o, a, b)						\
	{ .arg = (n), .op = (o), .datum_a = (a), .datum_b = (b) }
#define SB_EQ(n, v)		SB_CMP(n, SCMP_CMP_EQ, (uint64_t)(v), 0)
#define SB_GT(n, v)		SB_CMP(n, SCMP_CMP_GT, (uint64_t)(v), 0)
#define SB_MASKED(n, m, v)						\
	SB_CMP(n, SCMP_CMP_MASKED_EQ, (uint64_t)(m), (uint64_t)(v))

#define ALLOW(sc)							\
	sb_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sc), #sc, 0, NULL)
#define DENY(sc, err)							\
	sb_add(ctx, SCMP_ACT_ERRNO(err), SCMP_SYS(sc), #sc, 0, NULL)
#define ALLOW_IF(sc, cmp) do {						\
	struct scmp_arg_cmp sb_c_[] = { cmp };				\
	sb_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sc), #sc, 1, sb_c_);	\
} while (0)
#define DENY_IF(sc, err, cmp) do {					\
	struct scmp_arg_cmp sb_c_[] = { cmp };				\
	sb_add(ctx, SCMP_ACT_ERRNO(err), SCMP_SYS(sc), #sc, 1, sb_c_);	\
} while (0)

/*
 * socket(2) for the given address families; any other family fails with
 * EACCES.  libseccomp allows one comparison per argument and rule, so the
 * complement is spelt out value by value up to AF_INET6 plus a range.
 */
static void
sb_socket_domains(scmp_filter_ctx ctx, const int *ok, size_t nok)
{
	size_t	 i;
	int	 d, allowed;

	for (i = 0; i < nok; i++)
		ALLOW_IF(socket, SB_EQ(0, ok[i]));
	for (d = 0; d <= AF_INET6; d++) {
		allowed = 0;
		for (i = 0; i < nok; i++)
			if (ok[i] == d)
				allowed = 1;
		if (!allowed)
			DENY_IF(socket, EACCES, SB_EQ(0, d));
	}
	DENY_IF(socket, EACCES, SB_GT(0, AF_INET6));
}

static void
sb_seccomp_rules(scmp_filter_ctx ctx, enum proc_id proc)
{
	static const int	 peer_af[] = { AF_INET, AF_INET6 };
	static const int	 ledgerd_af[] = { AF_UNIX, AF_INET, AF_INET6 };
	static const int	 futex_ops[] = {
		FUTEX_WAIT, FUTEX_WAKE, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE,
		FUTEX_WAKE_OP, FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET
	};
	const uint64_t		 futex_mask =
	    ~(uint64_t)(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME) &
	    0xffffffffULL;
	const int		 evloop = 1;
	const int		 outbound = proc == PROC_PEER ||
	    proc == PROC_LEDGERD;
	const int		 inbound = proc == PROC_FRONTEND ||
	    proc == PROC_PEER;
	size_t			 i;

	/* ---- Every process (keyd has its own list, keyd/sandbox.c). ---- */

	/* Leaving: exit(3), _exit(2), fatal(), the end of main(). */
	ALLOW(exit);
	ALLOW(exit_group);

	/*
	 * Signals: return from handlers (libevent's, the debug SIGSYS one);
	 * masks and handlers set by libevent, glibc's abort() and keyd's
	 * loop; the kernel's restart of a poll interrupted by a handler.
	 * kill/tgkill only aimed at ourselves: abort() and raise().
	 */
	ALLOW(rt_sigreturn);
	ALLOW(rt_sigprocmask);
	ALLOW(rt_sigaction);
	ALLOW(restart_syscall);
	ALLOW_IF(kill, SB_EQ(0, getpid()));
	ALLOW_IF(tgkill, SB_EQ(0, getpid()));

	/*
	 * Memory: malloc (brk, then mmap/munmap/mremap for large blocks,
	 * madvise when trimming), glibc's arena mprotect.  Nothing may ever
	 * become executable: mmap and mprotect with PROT_EXEC are not
	 * allowed, so they kill.
	 */
	ALLOW(brk);
	ALLOW_IF(mmap, SB_MASKED(2, PROT_EXEC, 0));
	ALLOW_IF(mprotect, SB_MASKED(2, PROT_EXEC, 0));
	ALLOW(munmap);
	ALLOW(mremap);
	ALLOW(madvise);

	/*
	 * Time, normally answered by the vDSO without a system call, but
	 * not on every clock source: libevent timers, keyd's +-5 minute
	 * checks, log and audit time stamps.
	 */
	ALLOW(clock_gettime);
	ALLOW(clock_getres);
	ALLOW(gettimeofday);
	ALLOW(time);

	/* Randomness: OpenSSL's DRBG (keys, nonces), libevent's RNG. */
	ALLOW(getrandom);

	/*
	 * glibc's qsort(3) sizes its buffer against physical memory
	 * (sysconf(_SC_PHYS_PAGES) is sysinfo) once the array passes 1 KiB:
	 * jcs canonicalization sorts object members, in keyd too.
	 */
	ALLOW(sysinfo);

	/*
	 * Who we are: imsg stamps getpid(), syslog LOG_PID, raise() uses
	 * gettid(); proc_status_fill() reports geteuid()/getegid().
	 */
	ALLOW(getpid);
	ALLOW(gettid);
	ALLOW(getuid);
	ALLOW(geteuid);
	ALLOW(getgid);
	ALLOW(getegid);

	/*
	 * Resource limits, read only: glibc's sysconf(_SC_OPEN_MAX) and
	 * getdtablesize().
	 */
	ALLOW(getrlimit);
	ALLOW_IF(prlimit64, SB_EQ(2, 0));

	/*
	 * OpenSSL and glibc take locks (pthread_once, rwlocks) that may
	 * wait on a futex; only the plain wait/wake family, never the
	 * priority-inheritance operations.
	 */
	for (i = 0; i < sizeof(futex_ops) / sizeof(futex_ops[0]); i++)
		ALLOW_IF(futex, SB_MASKED(1, futex_mask,
		    (uint64_t)futex_ops[i]));

	/*
	 * imsg on the AF_UNIX channels from the parent: read/readv and
	 * recvmsg (descriptor passing), write/writev and sendmsg; poll for
	 * imsgbuf_flush() and keyd's loop; close.  fcntl for the flags
	 * proc.c sets on received channel ends (O_NONBLOCK, FD_CLOEXEC).
	 */
	ALLOW(read);
	ALLOW(readv);
	ALLOW(recvmsg);
	ALLOW(write);
	ALLOW(writev);
	ALLOW(sendmsg);
	ALLOW(poll);
	ALLOW(ppoll);
	ALLOW(close);
	ALLOW_IF(fcntl, SB_EQ(1, F_GETFD));
	ALLOW_IF(fcntl, SB_EQ(1, F_SETFD));
	ALLOW_IF(fcntl, SB_EQ(1, F_GETFL));
	ALLOW_IF(fcntl, SB_EQ(1, F_SETFL));

	/*
	 * Logging: syslog(3) sends on the socket opened before chroot
	 * (LOG_NDELAY), i.e. send() = sendto() without an address.  When
	 * syslogd went away glibc tries to reconnect: socket() and connect()
	 * fail softly with EACCES below, the message is lost, the process
	 * lives.  The engines that talk to the network may send anywhere.
	 */
	if (outbound)
		ALLOW(sendto);
	else
		ALLOW_IF(sendto, SB_EQ(4, 0));

	/*
	 * fstat(2) on descriptors we hold: glibc stdio, keyd checks the key
	 * fd.  glibc implements it as newfstatat(fd, "", AT_EMPTY_PATH);
	 * the same calls on a path are file system probes: EACCES.
	 */
	ALLOW(fstat);
	ALLOW_IF(newfstatat, SB_MASKED(3, AT_EMPTY_PATH, AT_EMPTY_PATH));
	DENY_IF(newfstatat, EACCES, SB_MASKED(3, AT_EMPTY_PATH, 0));
	ALLOW_IF(statx, SB_MASKED(2, AT_EMPTY_PATH, AT_EMPTY_PATH));
	DENY_IF(statx, EACCES, SB_MASKED(2, AT_EMPTY_PATH, 0));

	/*
	 * The file system is out of reach (chroot, Landlock).  Libraries
	 * still probe it: glibc's time zone, locale and NSS files, OpenSSL's
	 * configuration, libpq's ~/.pgpass and certificates.  Those fail
	 * with EACCES instead of killing.
	 */
	DENY(open, EACCES);
	DENY(openat, EACCES);
	DENY(stat, EACCES);
	DENY(lstat, EACCES);
	DENY(access, EACCES);
	DENY(faccessat, EACCES);
	DENY(faccessat2, EACCES);
#ifndef SB_SANITIZER
	DENY(readlink, EACCES);
	DENY(readlinkat, EACCES);
#endif

	/*
	 * isatty(3) from stdio asks TCGETS: no terminal here.  The network
	 * engines' libevent sizes reads with FIONREAD and OpenSSL may set
	 * non-blocking mode with FIONBIO (below); no other ioctl.
	 */
	DENY_IF(ioctl, ENOTTY, SB_EQ(1, TCGETS));

	/* Nobody binds: listening sockets come from the parent. */
	DENY(bind, EACCES);

	/* ---- The libevent processes: frontend, peer, routed, ledgerd. ---- */
	if (evloop) {
		/*
		 * The event loop: epoll (any of libevent's variants), or
		 * poll/select when EVENT_NOEPOLL picks another backend.
		 */
		ALLOW(epoll_create);
		ALLOW(epoll_create1);
		ALLOW(epoll_ctl);
		ALLOW(epoll_wait);
		ALLOW(epoll_pwait);
		ALLOW(epoll_pwait2);
		ALLOW(select);
		ALLOW(pselect6);
		/* libevent reads its signal socketpair with recv() */
		ALLOW(recvfrom);
		/* libevent/libpq sleeps, sched_yield in spin loops */
		ALLOW(nanosleep);
		ALLOW(clock_nanosleep);
		ALLOW(sched_yield);
		/*
		 * sysconf(_SC_NPROCESSORS_ONLN) (affinity); status and
		 * metrics report usage, the parent's pid and uname (libpq
		 * and Kerberos ask for the host name).
		 */
		ALLOW(sched_getaffinity);
		ALLOW(getrusage);
		ALLOW(getppid);
		ALLOW(uname);
		/* evbuffer_read() asks how much is pending */
		ALLOW_IF(ioctl, SB_EQ(1, FIONREAD));
	}

	/* ---- Processes that accept connections: frontend, peer. ---- */
	if (inbound) {
		/*
		 * accept4 on the listening sockets the parent passed (the
		 * peer engine: the control socket, whose peers are checked
		 * with getsockopt(SO_PEERCRED)); socket options, addresses
		 * for logs and rate limits, shutdown when closing; OpenSSL's
		 * BIO_socket_nbio() uses FIONBIO.
		 */
		ALLOW(accept);
		ALLOW(accept4);
		ALLOW(getsockopt);
		ALLOW(setsockopt);
		ALLOW(getsockname);
		ALLOW(getpeername);
		ALLOW(shutdown);
		ALLOW_IF(ioctl, SB_EQ(1, FIONBIO));
		/*
		 * The frontend's lingering close (http.c): a refused
		 * connection's socket is kept for a moment, on a dup, to
		 * read out what the client still sends before the close,
		 * so that the client gets the answer, not a reset.
		 */
		if (proc == PROC_FRONTEND)
			ALLOW(dup);
	}

	/* ---- Outbound: peer (federation), ledgerd (libpq). ---- */
	if (outbound) {
		/*
		 * New TCP (and for ledgerd AF_UNIX, PostgreSQL's socket)
		 * connections; glibc's resolver uses UDP with connect,
		 * sendmmsg and recvfrom.  Other families (netlink probes by
		 * getaddrinfo, packet sockets) fail with EACCES.
		 */
		if (proc == PROC_PEER)
			sb_socket_domains(ctx, peer_af,
			    sizeof(peer_af) / sizeof(peer_af[0]));
		else
			sb_socket_domains(ctx, ledgerd_af,
			    sizeof(ledgerd_af) / sizeof(ledgerd_af[0]));
		ALLOW(connect);
		ALLOW(getsockopt);
		ALLOW(setsockopt);
		ALLOW(getsockname);
		ALLOW(getpeername);
		ALLOW(shutdown);
		ALLOW(sendmmsg);
		ALLOW(recvmmsg);
		ALLOW_IF(ioctl, SB_EQ(1, FIONBIO));
	} else {
		/* frontend, routed: no outbound connections at all */
		DENY(socket, EACCES);
		DENY(connect, EACCES);
	}

	if (proc == PROC_LEDGERD) {
		/*
		 * libpq keeps SIGPIPE off around SSL writes: it blocks the
		 * signal, checks whether one is pending and swallows it.
		 */
		ALLOW(rt_sigpending);
		ALLOW(rt_sigtimedwait);
	}

#ifdef SB_SANITIZER
	/*
	 * AddressSanitizer/UBSan builds only: the runtime sets up alternate
	 * signal stacks, reads /proc/self/exe (readlink), queries rlimits
	 * and dumpability (prlimit64/prctl), spins with sched_yield and
	 * checks pages with mincore while reporting.  Its symbolizer would
	 * fork: that fails with EPERM rather than killing the process, so
	 * the report still comes out.  (LeakSanitizer needs ptrace and is
	 * off for sandboxed daemons: ASAN_OPTIONS=detect_leaks=0.)
	 */
	ALLOW(sigaltstack);
	ALLOW(readlink);
	ALLOW(readlinkat);
	ALLOW(prctl);
	ALLOW(sched_yield);
	ALLOW(sched_getaffinity);
	ALLOW(mincore);
	ALLOW(getppid);
	DENY(clone, EPERM);
	DENY(clone3, EPERM);
	DENY(fork, EPERM);
	DENY(vfork, EPERM);
	DENY(pipe, EPERM);
	DENY(pipe2, EPERM);
#endif
}

#undef ALLOW
#undef DENY
#undef ALLOW_IF
#undef DENY_IF

static void
sb_seccomp(enum proc_id proc)
{
	struct sigaction	 sa;
	scmp_filter_ctx		 ctx;
	uint32_t		 defact;
	int			 rc;

	defact = seccomp_api_get() >= 3 ? SCMP_ACT_KILL_PROCESS :
	    SCMP_ACT_KILL;
	if (sb_debug()) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = sb_sigsys;
		sa.sa_flags = SA_SIGINFO;
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGSYS, &sa, NULL) == -1)
			fatal("%s: sigaction SIGSYS", __func__);
		defact = SCMP_ACT_TRAP;
		log_warnx("sandbox debug mode: violations are reported, "
		    "not killed");
	}

	if ((ctx = seccomp_init(defact)) == NULL)
		fatalx("%s: seccomp_init failed", __func__);
	/* another ABI (i386 int 0x80 from x86-64): no way around the list */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    defact)) < 0)
		fatalx("%s: bad-arch action: %s", __func__, strerror(-rc));
	/* every thread, should a library ever have started one */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0)
		fatalx("%s: TSYNC: %s", __func__, strerror(-rc));

	sb_seccomp_rules(ctx, proc);

	if ((rc = seccomp_load(ctx)) < 0)
		fatalx("%s: seccomp_load: %s", __func__, strerror(-rc));
	seccomp_release(ctx);
}
#endif /* HAVE_SECCOMP */
#endif /* __linux__ */

#ifdef __OpenBSD__
/*
 * pledge(2): each promise below is needed for the reason given.  No
 * process keeps rpath/wpath/cpath, so the file system is closed whatever
 * unveil says; unveil("/", "") locks it for good measure.
 */
static void
sb_pledge(enum proc_id proc)
{
	const char	*promises;

	switch (proc) {
	case PROC_FRONTEND:
		/*
		 * inet: accept(2) and options on the passed listeners.
		 * recvfd: listeners arrive over imsg, also on reload.
		 */
		promises = "stdio inet recvfd";
		break;
	case PROC_PEER:
		/*
		 * inet, dns: outbound federation connections by name.
		 * unix: accept(2) and getpeereid on the control socket.
		 * recvfd: the control socket and channels arrive over imsg.
		 */
		promises = "stdio inet dns unix recvfd";
		break;
	case PROC_ROUTED:
		/* pure computation on imsg channels */
		promises = "stdio recvfd";
		break;
	case PROC_LEDGERD:
		/*
		 * inet, unix, dns: libpq reconnects to PostgreSQL over TCP
		 * or its socket path.  recvfd: channels over imsg.
		 */
		promises = "stdio inet unix dns recvfd";
		break;
	default:
		fatalx("%s: no pledge for process %d", __func__, (int)proc);
	}
	/* ledgerd must still reach the database socket path */
	if (proc != PROC_LEDGERD && unveil("/", "") == -1)
		fatal("%s: unveil", __func__);
	if (unveil(NULL, NULL) == -1)
		fatal("%s: unveil lock", __func__);
	if (pledge(promises, NULL) == -1)
		fatal("%s: pledge %s", __func__, promises);
}
#endif /* __OpenBSD__ */

void
sandbox_enter(struct sandbox_state *st, enum proc_id proc)
{
	if (proc == PROC_PARENT || proc == PROC_KEYD)
		fatalx("%s: the %s is not sandboxed by sandbox_enter",
		    __func__, sb_procname(proc));
	if (proc <= PROC_PARENT || proc >= PROC_MAX)
		fatalx("%s: bad process id %d", __func__, (int)proc);

	/*
	 * jansson seeds its hash function from /dev/urandom on first use;
	 * do it now, while files can still be read, so objects built from
	 * network input never get a weak seed.
	 */
	json_object_seed(0);
	sb_rlimits(proc);

#ifdef __linux__
	/* no setuid/file capabilities gain anything from here on */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("%s: PR_SET_NO_NEW_PRIVS", __func__);
	st->no_new_privs = 1;
	st->landlock = sandbox_landlock(proc == PROC_PEER ||
	    proc == PROC_LEDGERD);
#ifdef HAVE_SECCOMP
	sb_seccomp(proc);
	st->seccomp = 2;
#endif
#endif /* __linux__ */

#ifdef __OpenBSD__
	sb_pledge(proc);
#endif
	log_debug("%s: %s sandboxed (seccomp %d, landlock %d)", __func__,
	    sb_procname(proc), st->seccomp, st->landlock);
}
