/*
 * relayd: the parent process and the engines that live in the relayd
 * binary (frontend, peer engine).
 */
#ifndef RELAYD_RELAYD_H
#define RELAYD_RELAYD_H

#include <sys/types.h>
#include <sys/queue.h>

#include "conf.h"
#include "proc.h"

#define RELAYD_VERSION		PACKAGE_VERSION

/* relayd.c */
extern const char	*relayd_libexec;	/* -x DIR or the built-in */

/* peer.c: the peer engine (relayd -P peer) */
__attribute__((__noreturn__)) void peer_main(int, int);

/* control.c: the control socket, hosted by the peer engine */
struct ctl_conn {
	TAILQ_ENTRY(ctl_conn)	 entry;
	struct imsgev		 iev;
	uint32_t		 id;
	uid_t			 uid;
	pid_t			 pid;
	int			 waiting;	/* answers still expected */
	uint32_t		 reqid;
	struct event		 ev_timeout;
	struct event		 ev_idle;	/* control.c: idle, stalls */
	struct event		 ev_ready;	/* control.c: readiness wait */
	struct imsg		 deferred;	/* held until relayd is ready */
	int			 has_deferred;
	int			 ready_expired;	/* do not wait again */
	int			 dead;		/* dropped, closed soon */
};
TAILQ_HEAD(ctl_conns, ctl_conn);

void	 control_init(struct proc *, int);
void	 control_shutdown(void);
int	 control_open(void);
struct ctl_conn *control_conn_byid(uint32_t);
int	 control_compose(struct ctl_conn *, uint32_t, const void *, size_t);
void	 control_end(struct ctl_conn *, int, const char *);
int	 control_may_wait(struct ctl_conn *);
void	 control_retry(void);

/*
 * peer.c, called from control.c.  peer_ctl_request() returns 0 when the
 * request was taken, -1 to drop the client, CTL_DEFER to hold it until
 * relayd is ready (see control_may_wait()).
 */
#define CTL_DEFER		2
#define CONTROL_READY_SEC	10	/* the longest a request waits */
int	 peer_ctl_request(struct ctl_conn *, struct imsg *);
void	 peer_ctl_closed(struct ctl_conn *);

#endif /* RELAYD_RELAYD_H */
