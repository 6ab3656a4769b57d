/*
 * Process framework shared by the libevent-based processes (relayd parent,
 * frontend, peer engine, routed, ledgerd).  keyd does not use it: it runs
 * a poll(2) loop of its own over the same imsg channels, so that it links
 * no libevent.
 *
 * Every child finds its pipe to the parent on PROC_PARENT_FD.  The parent
 * creates every other socketpair and hands the ends over with IMSG_PROC_FD
 * before IMSG_PROC_READY.  Each process declares a dispatch table naming the
 * processes it talks to; a message whose type no callback claims is fatal,
 * and EOF on any channel shuts the process down.
 */
/*
 * HOW TO WRITE A CHILD PROCESS
 *
 * Every child is fork+exec'd by the parent (relayd, root) with its parent
 * pipe on fd 3 (PROC_PARENT_FD). libevent processes (frontend, peer
 * engine, routed, ledgerd) use common/proc.c:
 *
 * main(): parse `-d` (foreground/stderr), `-v` (more verbose), then
 * `log_init(debug, LOG_DAEMON)`, fill a `struct proc` (dispatch table `{ {
 * PROC_PARENT, my_dispatch_parent }, { PROC_KEYD, my_dispatch_keyd }, ...,
 * { 0, NULL } }`, and the `ready`, `started`, `status`, `shutdown` hooks),
 * call `proc_child_init(&p, PROC_X, instance, "title")` (creates the event
 * base p.evbase, the parent channel with fd passing allowed, signal
 * handling) and `proc_run(&p)`.
 *
 * The framework handles these generic messages itself: IMSG_PROC_FD (from
 * the parent, carries an fd and struct proc_fd {peer, instance}: creates
 * the channel to that process; afterwards `proc_iev(&p, PROC_KEYD, 0)`
 * returns it and `proc_compose(&p, PROC_KEYD, 0, type, peerid, fd, data,
 * len)` sends on it; instance -1 = all instances), IMSG_CFG_PROC
 * (user/chroot/debug/verbose into p.cfgproc), IMSG_PROC_READY (calls
 * p.ready(p) as root, then sandbox_privdrop(p.cfgproc.chroot,
 * p.cfgproc.user) and sandbox_enter(id), then p.started(p)),
 * IMSG_CTL_VERBOSE, IMSG_PROC_STATUS_REQ (from any channel: answers
 * IMSG_PROC_STATUS with pid, uid, chroot, seccomp/no_new_privs/landlock
 * state, then p.status(p, &st) fills `healthy` and `detail`),
 * IMSG_PROC_SHUTDOWN. Any other message goes to the dispatch callback for
 * the channel's peer; a callback returns 0 when handled and -1 for an
 * unknown type, which is fatal (fatalx). EOF on any channel ends the
 * process (the parent then stops the whole daemon). Use
 * `imsg_get_data(imsg, &s, sizeof(s))` for every fixed-size payload (exact
 * size) and fatalx on mismatch from a trusted peer; NUL-terminate all
 * strings received.
 *
 * Config comes from the parent as a stream: IMSG_CFG_GLOBAL (struct
 * cfg_global), ... , IMSG_CFG_DONE; the process applies it atomically at
 * IMSG_CFG_DONE and answers IMSG_CFG_ACK to the parent. The same stream
 * repeats on SIGHUP reload (the parent only sends it when the new config
 * parsed cleanly). The relay identity (relay id, public key hex, did)
 * arrives as IMSG_CFG_IDENTITY once keyd has loaded the key and ledgerd
 * has the relay id from PostgreSQL.
 *
 * Start-up order the parent uses: spawn all children; hand out channel fds
 * (IMSG_PROC_FD); send IMSG_CFG_PROC, the config stream, process-specific
 * fds (IMSG_CFG_LISTEN + socket to frontends, IMSG_CFG_KEY + key fd to
 * keyd, IMSG_CFG_DATABASE to ledgerd, IMSG_CFG_CONTROL + socket to the
 * peer engine), IMSG_CFG_DONE, then IMSG_PROC_READY. keyd answers
 * IMSG_KEY_PUBKEY; ledgerd answers IMSG_LDG_IDENTITY; the parent then
 * sends IMSG_CFG_IDENTITY to every child.
 *
 * Channels (DESIGN.md §1 imsg topology): parent↔all; frontend(×N)→keyd;
 * frontend↔peer, routed, ledgerd; peer→keyd; peer↔routed, ledgerd;
 * ledgerd→keyd; routed↔ledgerd.
 *
 * Wire structs and types are in common/relayd_imsg.h (lead-owned). If you
 * need new imsg types or structs, add them to common/relayd_imsg.h in ONE
 * small edit (append inside the right group, before IMSG_TYPE_MAX), commit
 * it right away with only that file, and mention it in your report; never
 * renumber or remove existing ones.
 */
#ifndef RELAYD_PROC_H
#define RELAYD_PROC_H

#include <sys/types.h>

#include <event.h>

#include "imsg.h"
#include "relayd_imsg.h"
#include "sandbox.h"

struct proc;

struct imsgev {
	struct imsgbuf	 ibuf;
	struct event	 ev;
	short		 events;
	enum proc_id	 peer;		/* process at the other end */
	int		 instance;	/* its instance number */
	struct proc	*proc;		/* owner */
	uint64_t	 nrecv;		/* messages received */
	uint64_t	 nsent;		/* messages queued */
};

/* Returns 0 when the message was handled, -1 when the type is unknown. */
typedef int (*proc_cb)(struct imsgev *, struct imsg *);

struct proc_dispatch {
	enum proc_id	 peer;
	proc_cb		 cb;
};

struct proc {
	enum proc_id		 id;
	int			 instance;
	const char		*title;
	struct event_base	*evbase;
	const struct proc_dispatch *dispatch;	/* terminated by cb NULL */
	struct imsgev		*iev[PROC_MAX][PROC_MAX_INSTANCES];
	int			 ninst[PROC_MAX];	/* instances per peer */
	/*
	 * Called once when the parent says IMSG_PROC_READY, still as root
	 * and before chroot: take what is needed (it may change
	 * cfgproc.chroot).  The framework then calls sandbox_privdrop() and
	 * sandbox_enter(), then started().
	 */
	void			(*ready)(struct proc *);
	void			(*started)(struct proc *);
	/* fills the detail of an IMSG_PROC_STATUS answer; may be NULL */
	void			(*status)(struct proc *, struct proc_status *);
	/* called before exit on shutdown or EOF; may be NULL */
	void			(*shutdown)(struct proc *);
	struct event		 ev_sigterm;
	struct event		 ev_sigint;
	struct event		 ev_sighup;
	struct event		 ev_sigpipe;
	struct cfg_proc		 cfgproc;	/* user, chroot, debug */
	struct sandbox_state	 sandbox;	/* what sandbox_enter did */
	int			 exiting;
};

/* Child side. */
void	 proc_child_init(struct proc *, enum proc_id, int, const char *);
void	 proc_run(struct proc *);			/* event loop */
__attribute__((__noreturn__)) void proc_shutdown(struct proc *, int);

/* Channels. */
struct imsgev *proc_iev_new(struct proc *, int, enum proc_id, int);
void	 proc_iev_free(struct imsgev *);
void	 imsg_event_add(struct imsgev *);
int	 imsg_compose_event(struct imsgev *, uint32_t, uint32_t, pid_t, int,
	    const void *, size_t);
int	 imsg_composev_event(struct imsgev *, uint32_t, uint32_t, pid_t, int,
	    const struct iovec *, int);
/* instance -1 sends to every instance of that process */
int	 proc_compose(struct proc *, enum proc_id, int, uint32_t, uint32_t,
	    int, const void *, size_t);
struct imsgev *proc_iev(struct proc *, enum proc_id, int);
uint32_t proc_queue_depth(struct proc *, enum proc_id);

/* Generic messages every libevent process answers (status, verbosity). */
int	 proc_dispatch_generic(struct imsgev *, struct imsg *);
void	 proc_status_fill(struct proc *, struct proc_status *);

const char *proc_name(enum proc_id);

#endif /* RELAYD_PROC_H */
