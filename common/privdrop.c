/*
 * Privilege drop and the pieces of confinement every relayd child shares,
 * keyd included: sandbox_privdrop() (chroot, groups, gid, uid, then no
 * core dumps and no ptrace by the same user) and the Landlock ruleset.
 * The per-process seccomp filters are in sandbox.c for the engines and
 * in keyd/sandbox.c for keyd.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>
#ifdef __linux__
#include <sys/prctl.h>
#include <sys/syscall.h>
#endif

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#ifdef HAVE_LINUX_LANDLOCK_H
#include <linux/landlock.h>
#endif

#include "log.h"
#include "sandbox.h"

/*
 * PR_SET_DUMPABLE must come after the uid change: setresuid() resets the
 * flag to fs.suid_dumpable (seen: 0 -> 2 with suid_dumpable=2), which
 * would allow core files and ptrace by the new user.  Read back, and
 * shown by relayctl show status.
 */
void
sandbox_nodump(struct sandbox_state *st)
{
#ifdef __linux__
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("%s: PR_SET_DUMPABLE", __func__);
	if ((st->dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0)) != 0)
		fatalx("%s: still dumpable (%d)", __func__, st->dumpable);
#else
	st->dumpable = -1;	/* OpenBSD: set-id-like after the uid change */
#endif
}

void
sandbox_privdrop(struct sandbox_state *st, const char *dir, const char *user)
{
	struct passwd	*pw;
	struct stat	 sb;
	uid_t		 uid = 0, ruid, euid, suid;
	gid_t		 gid = 0, rgid, egid, sgid, groups[2];
	int		 ngroups;

	memset(st, 0, sizeof(*st));
	if (dir != NULL && *dir == '\0')
		dir = NULL;
	if (dir != NULL && strlen(dir) >= sizeof(st->chroot))
		fatalx("%s: chroot directory name too long", __func__);
	if (user != NULL && strlen(user) >= sizeof(st->user))
		fatalx("%s: user name too long", __func__);

	if (geteuid() != 0) {
		/* development mode: no chroot, no user change */
		st->uid = geteuid();
		st->gid = getegid();
		if ((pw = getpwuid(st->uid)) != NULL)
			strlcpy(st->user, pw->pw_name, sizeof(st->user));
		sandbox_nodump(st);
		return;
	}

	/* Look the user up now: after chroot there is no /etc/passwd. */
	if (user != NULL) {
		errno = 0;
		if ((pw = getpwnam(user)) == NULL) {
			if (errno != 0)
				fatal("%s: getpwnam %s", __func__, user);
			fatalx("%s: unknown user %s", __func__, user);
		}
		uid = pw->pw_uid;
		gid = pw->pw_gid;
		strlcpy(st->user, user, sizeof(st->user));
	} else if ((pw = getpwuid(0)) != NULL)
		strlcpy(st->user, pw->pw_name, sizeof(st->user));

	if (dir != NULL) {
		/*
		 * No ownership rule: ledgerd's jail is PostgreSQL's socket
		 * directory.  What the user could plant in a writable jail
		 * (set-id programs, files for a later root process) is moot
		 * here: nothing is executed, no_new_privs is set, and the
		 * sandbox closes the file system right after.
		 */
		if (stat(dir, &sb) == -1)
			fatal("%s: %s", __func__, dir);
		if (!S_ISDIR(sb.st_mode))
			fatalx("%s: %s is not a directory", __func__, dir);
		if (chroot(dir) == -1)
			fatal("%s: chroot %s", __func__, dir);
		if (chdir("/") == -1)
			fatal("%s: chdir /", __func__);
		st->chrooted = 1;
		strlcpy(st->chroot, dir, sizeof(st->chroot));
	}

	if (user != NULL) {
		/* groups, then gid, then uid: all while still root */
		if (setgroups(1, &gid) == -1)
			fatal("%s: setgroups", __func__);
		if (setresgid(gid, gid, gid) == -1)
			fatal("%s: setresgid", __func__);
		if (setresuid(uid, uid, uid) == -1)
			fatal("%s: setresuid", __func__);

		/* trust, but verify */
		if (getresgid(&rgid, &egid, &sgid) == -1 ||
		    rgid != gid || egid != gid || sgid != gid)
			fatalx("%s: gid did not change to %u", __func__,
			    (unsigned int)gid);
		if (getresuid(&ruid, &euid, &suid) == -1 ||
		    ruid != uid || euid != uid || suid != uid)
			fatalx("%s: uid did not change to %u", __func__,
			    (unsigned int)uid);
		ngroups = getgroups(2, groups);
		if (ngroups != 1 || groups[0] != gid)
			fatalx("%s: supplementary groups remain", __func__);
		if (uid != 0 && (setuid(0) != -1 || seteuid(0) != -1))
			fatalx("%s: could regain root", __func__);
	}
	st->uid = geteuid();
	st->gid = getegid();
	sandbox_nodump(st);
}

#if defined(HAVE_LINUX_LANDLOCK_H) && defined(__NR_landlock_create_ruleset) \
    && defined(__NR_landlock_restrict_self)
#define SB_LANDLOCK	1

/*
 * The kernel ABI is stable; older <linux/landlock.h> (Debian 12 has ABI 2)
 * lack the later rights and fields, so they are spelt out here.
 */
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER		(1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE		(1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV		(1ULL << 15)
#endif
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP
#define LANDLOCK_ACCESS_NET_BIND_TCP		(1ULL << 0)
#endif
#ifndef LANDLOCK_ACCESS_NET_CONNECT_TCP
#define LANDLOCK_ACCESS_NET_CONNECT_TCP		(1ULL << 1)
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET	(1ULL << 0)
#endif
#ifndef LANDLOCK_SCOPE_SIGNAL
#define LANDLOCK_SCOPE_SIGNAL			(1ULL << 1)
#endif
#ifndef LANDLOCK_CREATE_RULESET_VERSION
#define LANDLOCK_CREATE_RULESET_VERSION		(1U << 0)
#endif

/* Highest ABI whose rights we know; 7 only added audit logging flags. */
#define SB_LANDLOCK_ABI_KNOWN	7

/* struct landlock_ruleset_attr as of ABI 6; its size tells the ABI used */
struct sb_landlock_attr {
	uint64_t	 handled_access_fs;
	uint64_t	 handled_access_net;
	uint64_t	 scoped;
};

/*
 * A ruleset that handles every right the kernel knows and grants none:
 * no file may be opened, created, removed, executed or truncated, no TCP
 * port bound (listening sockets come from the parent), no TCP connection
 * made unless `outbound' (the peer engine, ledgerd),
 * and no signal or abstract-socket connection leaves the process.
 * Returns the ABI in force, 0 when the kernel has no Landlock.
 */
int
sandbox_landlock(int outbound)
{
	struct sb_landlock_attr	 attr;
	size_t			 size;
	long			 abi;
	int			 fd;

	abi = syscall(__NR_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (abi == -1) {
		if (errno == ENOSYS || errno == EOPNOTSUPP)
			return (0);
		fatal("%s: landlock ABI version", __func__);
	}
	if (abi < 1)
		return (0);
	if (abi > SB_LANDLOCK_ABI_KNOWN)
		abi = SB_LANDLOCK_ABI_KNOWN;

	memset(&attr, 0, sizeof(attr));
	/* ABI 1: bits 0 (execute) .. 12 (make symlink) */
	attr.handled_access_fs = (1ULL << 13) - 1;
	if (abi >= 2)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	size = offsetof(struct sb_landlock_attr, handled_access_net);
	if (abi >= 4) {
		attr.handled_access_net = LANDLOCK_ACCESS_NET_BIND_TCP;
		if (!outbound)
			attr.handled_access_net |=
			    LANDLOCK_ACCESS_NET_CONNECT_TCP;
		size = offsetof(struct sb_landlock_attr, scoped);
	}
	if (abi >= 6) {
		attr.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET |
		    LANDLOCK_SCOPE_SIGNAL;
		size = sizeof(attr);
	}

	if ((fd = (int)syscall(__NR_landlock_create_ruleset, &attr, size,
	    0)) == -1) {
		if (errno == ENOSYS || errno == EOPNOTSUPP)
			return (0);
		fatal("%s: landlock_create_ruleset", __func__);
	}
	if (syscall(__NR_landlock_restrict_self, fd, 0) == -1)
		fatal("%s: landlock_restrict_self", __func__);
	close(fd);
	return ((int)abi);
}
#endif /* Landlock */

#ifndef SB_LANDLOCK
int
sandbox_landlock(int outbound)
{
	return (0);
}
#endif
