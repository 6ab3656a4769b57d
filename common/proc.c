/*
 * Process framework for the libevent-based relayd processes: channels
 * (imsgbuf bound to a libevent event), the generic messages every process
 * answers, and orderly shutdown.  See proc.h for the contract.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>

#include "audit.h"
#include "log.h"
#include "imsg.h"
#include "proc.h"
#include "sandbox.h"

static void	 proc_dispatch(int, short, void *);
static void	 proc_sig(int, short, void *);
static int	 proc_dispatch_parent_generic(struct imsgev *, struct imsg *);

/* The one table of process names is audit.c's (keyd's records use it). */
const char *
proc_name(enum proc_id id)
{
	const char	*name;

	if ((name = audit_proc_name(id)) == NULL)
		return ("unknown");
	return (name);
}

static void
set_nonblock(int fd)
{
	int	flags;

	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
		fatal("%s: fcntl", __func__);
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1)
		fatal("%s: fcntl cloexec", __func__);
}

struct imsgev *
proc_iev_new(struct proc *p, int fd, enum proc_id peer, int instance)
{
	struct imsgev	*iev;

	if (peer < 0 || peer >= PROC_MAX || instance < 0 ||
	    instance >= PROC_MAX_INSTANCES)
		fatalx("%s: bad channel %d/%d", __func__, peer, instance);
	if (p->iev[peer][instance] != NULL)
		fatalx("%s: duplicate channel to %s[%d]", __func__,
		    proc_name(peer), instance);
	if ((iev = calloc(1, sizeof(*iev))) == NULL)
		fatal("%s", __func__);
	set_nonblock(fd);
	if (imsgbuf_init(&iev->ibuf, fd) == -1)
		fatal("%s: imsgbuf_init", __func__);
	if (imsgbuf_set_maxsize(&iev->ibuf, PROC_IMSG_MAXSIZE) == -1)
		fatal("%s: imsgbuf_set_maxsize", __func__);
	/* descriptors travel only on the pipe between parent and child */
	if (peer == PROC_PARENT || p->id == PROC_PARENT)
		imsgbuf_allow_fdpass(&iev->ibuf);
	iev->peer = peer;
	iev->instance = instance;
	iev->proc = p;
	iev->events = EV_READ;
	event_assign(&iev->ev, p->evbase, fd, iev->events, proc_dispatch,
	    iev);
	event_add(&iev->ev, NULL);
	p->iev[peer][instance] = iev;
	if (instance + 1 > p->ninst[peer])
		p->ninst[peer] = instance + 1;
	return (iev);
}

void
proc_iev_free(struct imsgev *iev)
{
	struct proc	*p = iev->proc;

	event_del(&iev->ev);
	imsgbuf_clear(&iev->ibuf);
	close(iev->ibuf.fd);
	if (p->iev[iev->peer][iev->instance] == iev)
		p->iev[iev->peer][iev->instance] = NULL;
	free(iev);
}

void
imsg_event_add(struct imsgev *iev)
{
	short	events = EV_READ;

	if (imsgbuf_queuelen(&iev->ibuf) > 0)
		events |= EV_WRITE;
	if (events == iev->events && event_pending(&iev->ev, EV_READ, NULL))
		return;
	iev->events = events;
	event_del(&iev->ev);
	event_assign(&iev->ev, iev->proc->evbase, iev->ibuf.fd, events,
	    proc_dispatch, iev);
	event_add(&iev->ev, NULL);
}

int
imsg_compose_event(struct imsgev *iev, uint32_t type, uint32_t peerid,
    pid_t pid, int fd, const void *data, size_t len)
{
	int	ret;

	if ((ret = imsg_compose(&iev->ibuf, type, peerid, pid, fd, data,
	    len)) == -1)
		return (-1);
	iev->nsent++;
	imsg_event_add(iev);
	return (ret);
}

int
imsg_composev_event(struct imsgev *iev, uint32_t type, uint32_t peerid,
    pid_t pid, int fd, const struct iovec *iov, int iovcnt)
{
	int	ret;

	if ((ret = imsg_composev(&iev->ibuf, type, peerid, pid, fd, iov,
	    iovcnt)) == -1)
		return (-1);
	iev->nsent++;
	imsg_event_add(iev);
	return (ret);
}

struct imsgev *
proc_iev(struct proc *p, enum proc_id peer, int instance)
{
	if (peer < 0 || peer >= PROC_MAX || instance < 0 ||
	    instance >= PROC_MAX_INSTANCES)
		return (NULL);
	return (p->iev[peer][instance]);
}

int
proc_compose(struct proc *p, enum proc_id peer, int instance, uint32_t type,
    uint32_t peerid, int fd, const void *data, size_t len)
{
	struct imsgev	*iev;
	int		 i, n = 0;

	if (instance != -1) {
		if ((iev = proc_iev(p, peer, instance)) == NULL) {
			if (fd != -1)
				close(fd);
			errno = ENOTCONN;
			return (-1);
		}
		return (imsg_compose_event(iev, type, peerid, 0, fd, data,
		    len));
	}
	if (fd != -1)
		fatalx("%s: cannot pass one fd to all instances", __func__);
	for (i = 0; i < p->ninst[peer]; i++) {
		if ((iev = p->iev[peer][i]) == NULL)
			continue;
		if (imsg_compose_event(iev, type, peerid, 0, -1, data,
		    len) == -1)
			return (-1);
		n++;
	}
	if (n == 0) {
		errno = ENOTCONN;
		return (-1);
	}
	return (1);
}

uint32_t
proc_queue_depth(struct proc *p, enum proc_id peer)
{
	uint32_t	 n = 0;
	int		 i;

	if (peer < 0 || peer >= PROC_MAX)
		return (0);
	for (i = 0; i < p->ninst[peer]; i++)
		if (p->iev[peer][i] != NULL)
			n += imsgbuf_queuelen(&p->iev[peer][i]->ibuf);
	return (n);
}

void
proc_status_fill(struct proc *p, struct proc_status *st)
{
	memset(st, 0, sizeof(*st));
	st->proc = p->id;
	st->instance = p->instance;
	st->pid = getpid();
	st->uid = geteuid();
	st->gid = getegid();
	strlcpy(st->user, p->sandbox.user, sizeof(st->user));
	strlcpy(st->chroot, p->sandbox.chroot, sizeof(st->chroot));
	st->chrooted = p->sandbox.chrooted;
	st->no_new_privs = p->sandbox.no_new_privs;
	st->seccomp = p->sandbox.seccomp;
	st->landlock = p->sandbox.landlock;
	st->dumpable = p->sandbox.dumpable;
	st->healthy = 1;
	if (p->status != NULL)
		p->status(p, st);
}

/*
 * Messages every libevent process understands, from any channel where
 * they make sense.  Returns 0 if handled, -1 otherwise.
 */
int
proc_dispatch_generic(struct imsgev *iev, struct imsg *imsg)
{
	struct proc		*p = iev->proc;
	struct proc_status_req	 req;
	struct proc_status	 st;
	int			 v;

	switch (imsg_get_type(imsg)) {
	case IMSG_PROC_STATUS_REQ:
		if (imsg_get_data(imsg, &req, sizeof(req)) == -1)
			fatalx("%s: bad status request from %s", __func__,
			    proc_name(iev->peer));
		proc_status_fill(p, &st);
		st.reqid = req.reqid;
		imsg_compose_event(iev, IMSG_PROC_STATUS, imsg_get_id(imsg),
		    0, -1, &st, sizeof(st));
		return (0);
	case IMSG_CTL_VERBOSE:
		if (iev->peer != PROC_PARENT && iev->peer != PROC_PEER)
			return (-1);
		if (imsg_get_data(imsg, &v, sizeof(v)) == -1)
			fatalx("%s: bad verbose message", __func__);
		log_setverbose(v);
		return (0);
	}
	if (iev->peer == PROC_PARENT)
		return (proc_dispatch_parent_generic(iev, imsg));
	return (-1);
}

static int
proc_dispatch_parent_generic(struct imsgev *iev, struct imsg *imsg)
{
	struct proc	*p = iev->proc;
	struct proc_fd	 pf;
	int		 fd;

	switch (imsg_get_type(imsg)) {
	case IMSG_PROC_FD:
		if (imsg_get_data(imsg, &pf, sizeof(pf)) == -1)
			fatalx("%s: bad IMSG_PROC_FD", __func__);
		if ((fd = imsg_get_fd(imsg)) == -1)
			fatalx("%s: IMSG_PROC_FD without fd", __func__);
		if (pf.peer <= PROC_PARENT || pf.peer >= PROC_MAX ||
		    pf.instance < 0 || pf.instance >= PROC_MAX_INSTANCES)
			fatalx("%s: IMSG_PROC_FD for bad peer", __func__);
		proc_iev_new(p, fd, pf.peer, pf.instance);
		log_debug("channel to %s[%d]", proc_name(pf.peer),
		    pf.instance);
		return (0);
	case IMSG_CFG_PROC:
		if (imsg_get_data(imsg, &p->cfgproc, sizeof(p->cfgproc)) == -1)
			fatalx("%s: bad IMSG_CFG_PROC", __func__);
		p->cfgproc.user[sizeof(p->cfgproc.user) - 1] = '\0';
		p->cfgproc.chroot[sizeof(p->cfgproc.chroot) - 1] = '\0';
		log_setverbose(p->cfgproc.verbose);
		return (0);
	case IMSG_PROC_READY:
		if (imsg_get_len(imsg) != 0)
			fatalx("%s: bad IMSG_PROC_READY", __func__);
		if (p->ready != NULL)
			p->ready(p);
		sandbox_privdrop(&p->sandbox,
		    p->cfgproc.chroot[0] ? p->cfgproc.chroot : NULL,
		    p->cfgproc.user[0] ? p->cfgproc.user : NULL);
		sandbox_enter(&p->sandbox, p->id);
		log_debug("sandboxed (uid %d, chroot %s, seccomp %d, "
		    "landlock %d)", (int)geteuid(),
		    p->sandbox.chrooted ? p->sandbox.chroot : "none",
		    p->sandbox.seccomp, p->sandbox.landlock);
		if (p->started != NULL)
			p->started(p);
		return (0);
	case IMSG_PROC_SHUTDOWN:
		proc_shutdown(p, 0);
	}
	return (-1);
}

static void
proc_dispatch(int fd, short event, void *arg)
{
	struct imsgev			*iev = arg;
	struct proc			*p = iev->proc;
	const struct proc_dispatch	*d;
	struct imsg			 imsg;
	int				 n, handled;

	if (event & EV_READ) {
		if ((n = imsgbuf_read(&iev->ibuf)) == -1)
			fatal("%s: read from %s[%d]", __func__,
			    proc_name(iev->peer), iev->instance);
		if (n == 0) {
			/* the other end is gone: the whole daemon stops */
			if (p->id == PROC_PARENT)
				log_warnx("lost child %s[%d]",
				    proc_name(iev->peer), iev->instance);
			log_debug("%s: EOF from %s[%d]", __func__,
			    proc_name(iev->peer), iev->instance);
			proc_shutdown(p, iev->peer == PROC_PARENT ? 0 : 1);
		}
	}
	if (event & EV_WRITE) {
		if (imsgbuf_write(&iev->ibuf) == -1) {
			if (errno == EPIPE)
				proc_shutdown(p, 1);
			fatal("%s: write to %s[%d]", __func__,
			    proc_name(iev->peer), iev->instance);
		}
	}

	for (;;) {
		if ((n = imsgbuf_get(&iev->ibuf, &imsg)) == -1)
			fatal("%s: imsgbuf_get", __func__);
		if (n == 0)
			break;
		iev->nrecv++;
		handled = -1;
		for (d = p->dispatch; d != NULL && d->cb != NULL; d++) {
			if (d->peer != iev->peer)
				continue;
			handled = d->cb(iev, &imsg);
			break;
		}
		if (handled == -1)
			handled = proc_dispatch_generic(iev, &imsg);
		if (handled == -1)
			fatalx("%s: unexpected imsg %u from %s[%d]",
			    p->title, imsg_get_type(&imsg),
			    proc_name(iev->peer), iev->instance);
		imsg_free(&imsg);
		/* the callback may have freed the channel */
		if (p->iev[iev->peer][iev->instance] != iev)
			return;
	}
	imsg_event_add(iev);
}

static void
proc_sig(int sig, short event, void *arg)
{
	struct proc	*p = arg;

	switch (sig) {
	case SIGTERM:
	case SIGINT:
		proc_shutdown(p, 0);
	default:
		/* SIGHUP and SIGPIPE: the parent drives reloads */
		break;
	}
}

void
proc_child_init(struct proc *p, enum proc_id id, int instance,
    const char *title)
{
	static char	name[64];

	p->id = id;
	p->instance = instance;
	p->title = title;
	if (instance > 0 || id == PROC_FRONTEND) {
		snprintf(name, sizeof(name), "%s[%d]", title, instance);
		log_procinit(name);
	} else
		log_procinit(title);
	/* libevent's messages pass the log's limiter too */
	event_set_log_callback(log_event_cb);
	if ((p->evbase = event_base_new()) == NULL)
		fatalx("%s: event_base_new", __func__);

	evsignal_assign(&p->ev_sigterm, p->evbase, SIGTERM, proc_sig, p);
	evsignal_assign(&p->ev_sigint, p->evbase, SIGINT, proc_sig, p);
	evsignal_assign(&p->ev_sighup, p->evbase, SIGHUP, proc_sig, p);
	evsignal_assign(&p->ev_sigpipe, p->evbase, SIGPIPE, proc_sig, p);
	evsignal_add(&p->ev_sigterm, NULL);
	evsignal_add(&p->ev_sigint, NULL);
	evsignal_add(&p->ev_sighup, NULL);
	evsignal_add(&p->ev_sigpipe, NULL);

	if (fcntl(PROC_PARENT_FD, F_GETFD) == -1)
		fatalx("%s: no parent channel on fd %d; %s is started by "
		    "relayd(8)", title, PROC_PARENT_FD, title);
	proc_iev_new(p, PROC_PARENT_FD, PROC_PARENT, 0);
}

void
proc_run(struct proc *p)
{
	event_base_dispatch(p->evbase);
	proc_shutdown(p, 0);
}

void
proc_shutdown(struct proc *p, int code)
{
	int	i, j;

	if (p->exiting++ == 0 && p->shutdown != NULL)
		p->shutdown(p);
	/* best effort: push out what is queued (e.g. final statistics) */
	for (i = 0; i < PROC_MAX; i++)
		for (j = 0; j < p->ninst[i]; j++)
			if (p->iev[i][j] != NULL &&
			    imsgbuf_queuelen(&p->iev[i][j]->ibuf) > 0)
				(void)imsgbuf_write(&p->iev[i][j]->ibuf);
	log_debug("exiting");
	exit(code);
}
