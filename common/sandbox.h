/*
 * Dropping privileges and entering the per-process sandbox.
 *
 * Order in every child: log init, take the fds it needs, then
 * sandbox_privdrop() (chroot, setgroups, setresgid, setresuid; skipped when
 * not root, i.e. development mode) and sandbox_enter() (no_new_privs,
 * rlimits, Landlock where the kernel has it, seccomp-BPF allowlist for this
 * process; pledge/unveil on OpenBSD).  Failure of any step is fatal.
 */
#ifndef RELAYD_SANDBOX_H
#define RELAYD_SANDBOX_H

#include <sys/types.h>

#include "keyd_imsg.h"

struct sandbox_state {
	int		 chrooted;
	char		 chroot[128];
	uid_t		 uid;
	gid_t		 gid;
	char		 user[32];
	int		 no_new_privs;
	int		 seccomp;	/* 0 off, 2 filter (as in /proc status) */
	int		 landlock;	/* ABI version in force, 0 none */
	int		 dumpable;	/* PR_GET_DUMPABLE, after the drop */
};

/* chroot (NULL or "" = none) and switch to user (NULL = stay). */
void	 sandbox_privdrop(struct sandbox_state *, const char *, const char *);
/* PR_SET_DUMPABLE 0 and check (sandbox_privdrop() calls it last). */
void	 sandbox_nodump(struct sandbox_state *);
/* Landlock: no file system, no bind, no connect unless asked; ABI or 0. */
int	 sandbox_landlock(int);
/* no_new_privs, rlimits, Landlock, seccomp allowlist for this process. */
void	 sandbox_enter(struct sandbox_state *, enum proc_id);

#endif /* RELAYD_SANDBOX_H */
