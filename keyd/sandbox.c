/*
 * keyd's confinement, entered once the key is in memory and the key file
 * is closed (keyd.c, keyd_ready()), after sandbox_privdrop().  keyd's own
 * file, so that what confines the key holder can be read without the
 * other processes' lists (common/sandbox.c).
 *
 * After this keyd can read and write the descriptors it has (the imsg
 * channels, syslog's socket, stderr), poll them, allocate memory and
 * read the clock and the random number generator.  Nothing else: no file
 * system, no network, no new processes, no signals to others, no
 * executable memory.  Anything not listed kills keyd (the parent sees
 * SIGSYS and stops the daemon); the few calls libraries merely probe
 * fail with an errno instead.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/stat.h>
#ifdef __linux__
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <linux/futex.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#ifdef HAVE_SECCOMP
#include <seccomp.h>
#endif

#include "keyd.h"
#include "log.h"
#include "sandbox.h"

/* AddressSanitizer builds (gcc or clang): its runtime needs more. */
#if defined(__SANITIZE_ADDRESS__)
#define KS_SANITIZER	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KS_SANITIZER	1
#endif
#endif

#ifdef HAVE_SECCOMP
static void
rule(scmp_filter_ctx ctx, uint32_t action, int nr, const char *name,
    unsigned int argc, const struct scmp_arg_cmp *argv)
{
	int	 rc;

	if (nr < 0)	/* no such call on this architecture */
		return;
	rc = seccomp_rule_add_array(ctx, action, nr, argc, argv);
	if (rc < 0 && rc != -EEXIST)
		fatalx("keyd sandbox: rule for %s: %s", name, strerror(-rc));
}

#define CMP(n, o, a, b)							\
	{ .arg = (n), .op = (o), .datum_a = (a), .datum_b = (b) }
#define EQ(n, v)		CMP(n, SCMP_CMP_EQ, (uint64_t)(v), 0)
#define MASKED(n, m, v)	CMP(n, SCMP_CMP_MASKED_EQ, (uint64_t)(m), (uint64_t)(v))
#define ALLOW(sc)	rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sc), #sc, 0, NULL)
#define DENY(sc, e)	rule(ctx, SCMP_ACT_ERRNO(e), SCMP_SYS(sc), #sc, 0, NULL)
#define ALLOW_IF(sc, ...) do {						\
	struct scmp_arg_cmp c_[] = { __VA_ARGS__ };			\
	rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sc), #sc,			\
	    sizeof(c_) / sizeof(c_[0]), c_);				\
} while (0)

static void
keyd_seccomp(void)
{
	static const int	 futex_ops[] = {
		FUTEX_WAIT, FUTEX_WAKE, FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET
	};
	/*
	 * glibc malloc: private anonymous memory (no file, nothing shared),
	 * maybe reserved lazily: every flag but MAP_NORESERVE must be
	 * exactly these two.
	 */
	const uint64_t		 map_mask = ~(uint64_t)MAP_NORESERVE &
	    0xffffffffULL;
	const uint64_t		 map_want = MAP_PRIVATE | MAP_ANONYMOUS;
	const uint64_t		 prot_ok = PROT_READ | PROT_WRITE;
	const uint64_t		 futex_mask =
	    ~(uint64_t)(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME) &
	    0xffffffffULL;
	scmp_filter_ctx		 ctx;
	uint32_t		 kill;
	size_t			 i;
	int			 rc;

	kill = seccomp_api_get() >= 3 ? SCMP_ACT_KILL_PROCESS : SCMP_ACT_KILL;
	if ((ctx = seccomp_init(kill)) == NULL)
		fatalx("keyd sandbox: seccomp_init failed");
	/* another ABI (i386 int 0x80 from x86-64): the same answer */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, kill)) < 0 ||
	    (rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0)
		fatalx("keyd sandbox: attributes: %s", strerror(-rc));

	/* leaving: exit(3), fatal(); signal handling: SIGTERM, abort() */
	ALLOW(exit);
	ALLOW(exit_group);
	ALLOW(rt_sigreturn);
	ALLOW(rt_sigprocmask);
	ALLOW(rt_sigaction);
	ALLOW(restart_syscall);
	ALLOW_IF(kill, EQ(0, getpid()));
	ALLOW_IF(tgkill, EQ(0, getpid()));

	/*
	 * Memory, as OpenSSH's filter has it: malloc's brk, mmap of
	 * private anonymous read/write (or inaccessible) memory only,
	 * mprotect never to executable, and madvise for the advice glibc
	 * gives when it trims or frees; other advice fails.
	 */
	ALLOW(brk);
	ALLOW_IF(mmap, MASKED(2, ~prot_ok, 0), MASKED(3, map_mask, map_want));
	ALLOW_IF(mprotect, MASKED(2, ~prot_ok, 0));
	ALLOW(munmap);
	ALLOW(mremap);
	for (i = 0; i <= MADV_FREE; i++)
		if (i == MADV_NORMAL || i == MADV_DONTNEED || i == MADV_FREE)
			ALLOW_IF(madvise, EQ(2, i));
		else
			rule(ctx, SCMP_ACT_ERRNO(EINVAL), SCMP_SYS(madvise),
			    "madvise", 1, (struct scmp_arg_cmp[]){ EQ(2, i) });
	rule(ctx, SCMP_ACT_ERRNO(EINVAL), SCMP_SYS(madvise), "madvise", 1,
	    (struct scmp_arg_cmp[]){ CMP(2, SCMP_CMP_GT, MADV_FREE, 0) });

	/* the clock (signed time stamps, logs) and OpenSSL's DRBG */
	ALLOW(clock_gettime);
	ALLOW(gettimeofday);
	ALLOW(getrandom);

	/* imsg stamps getpid(); raise() uses gettid() */
	ALLOW(getpid);
	ALLOW(gettid);

	/* locks in OpenSSL and glibc: plain wait and wake only */
	for (i = 0; i < sizeof(futex_ops) / sizeof(futex_ops[0]); i++)
		ALLOW_IF(futex, MASKED(1, futex_mask, (uint64_t)futex_ops[i]));

	/*
	 * The channels: read (recvmsg: imsg always receives with it, so
	 * that a descriptor the parent sends is seen), write, poll, close.
	 * No new descriptors arrive after start-up (keyd.c refuses them).
	 * syslog(3) sends on the socket opened before the sandbox: send()
	 * without an address.
	 */
	ALLOW(read);
	ALLOW(recvmsg);
	ALLOW(write);
	ALLOW(writev);
	ALLOW(sendmsg);
	ALLOW(poll);
	ALLOW(ppoll);
	ALLOW(close);
	ALLOW_IF(sendto, EQ(4, 0));

	/*
	 * Probes by libraries fail softly: file names of any kind (stat
	 * on a path, including newfstatat/statx, whose path seccomp cannot
	 * read: keyd needs no fstat after start-up), opening files, the
	 * network (glibc's syslog reconnect), isatty's ioctl.
	 */
	DENY(newfstatat, EACCES);
	DENY(statx, EACCES);
	DENY(fstat, EACCES);
	DENY(stat, EACCES);
	DENY(lstat, EACCES);
	DENY(open, EACCES);
	DENY(openat, EACCES);
	DENY(access, EACCES);
	DENY(faccessat, EACCES);
	DENY(faccessat2, EACCES);
	DENY(socket, EACCES);
	DENY(connect, EACCES);
	DENY(ioctl, ENOTTY);

#ifdef KS_SANITIZER
	/*
	 * ASan's runtime: its own mappings (fixed, shared shadow; still
	 * never executable), /proc/self reads, reports.
	 */
	ALLOW_IF(mmap, MASKED(2, PROT_EXEC, 0));
	ALLOW(sigaltstack);
	ALLOW(readlink);
	ALLOW(readlinkat);
	ALLOW(prctl);
	ALLOW(sched_yield);
	ALLOW(sched_getaffinity);
	ALLOW(mincore);
	ALLOW(getppid);
	ALLOW(getrlimit);
	ALLOW(prlimit64);
	DENY(clone, EPERM);
	DENY(clone3, EPERM);
	DENY(fork, EPERM);
	DENY(vfork, EPERM);
	DENY(pipe, EPERM);
	DENY(pipe2, EPERM);
#endif

	if ((rc = seccomp_load(ctx)) < 0)
		fatalx("keyd sandbox: seccomp_load: %s", strerror(-rc));
	seccomp_release(ctx);
}
#endif /* HAVE_SECCOMP */

/*
 * keyd_sandbox(): no core files, no processes, no file growth (keyd
 * writes no file once started; a stderr redirected to a file keeps its
 * limit, or every log line would be SIGXFSZ), no new privileges, then
 * Landlock (no file system, no TCP, no signals out) and the filter.
 */
void
keyd_sandbox(int *seccomp, int *landlock)
{
	struct rlimit	 rl;
	struct stat	 st;

	rl.rlim_cur = rl.rlim_max = 0;
	if (setrlimit(RLIMIT_CORE, &rl) == -1 ||
	    setrlimit(RLIMIT_NPROC, &rl) == -1)
		fatal("keyd sandbox: setrlimit");
	if (!(fstat(STDERR_FILENO, &st) == 0 && S_ISREG(st.st_mode)) &&
	    setrlimit(RLIMIT_FSIZE, &rl) == -1)
		fatal("keyd sandbox: RLIMIT_FSIZE");
	*seccomp = 0;
#ifdef __linux__
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("keyd sandbox: PR_SET_NO_NEW_PRIVS");
	*landlock = sandbox_landlock(0);
#ifdef HAVE_SECCOMP
	keyd_seccomp();
	*seccomp = 2;
#endif
#endif
#ifdef __OpenBSD__
	/* stdio: imsg on open sockets, getentropy, the clock */
	*landlock = 0;
	if (unveil("/", "") == -1 || unveil(NULL, NULL) == -1)
		fatal("keyd sandbox: unveil");
	if (pledge("stdio", NULL) == -1)
		fatal("keyd sandbox: pledge");
#endif
}
