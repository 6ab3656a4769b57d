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
};
TAILQ_HEAD(ctl_conns, ctl_conn);

void	 control_init(struct proc *, int);
void	 control_shutdown(void);
struct ctl_conn *control_conn_byid(uint32_t);
int	 control_compose(struct ctl_conn *, uint32_t, const void *, size_t);
void	 control_end(struct ctl_conn *, int, const char *);

/* peer.c, called from control.c */
int	 peer_ctl_request(struct ctl_conn *, struct imsg *);
void	 peer_ctl_closed(struct ctl_conn *);

#endif /* RELAYD_RELAYD_H */
