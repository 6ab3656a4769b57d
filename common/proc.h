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
