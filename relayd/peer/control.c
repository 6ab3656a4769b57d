/*
 * The control socket, hosted by the peer engine.  The parent creates and
 * binds it (mode 0660) and passes the listening descriptor; here we
 * accept relayctl(8) clients, check their credentials, and hand their
 * requests to the peer engine.  A misbehaving client is dropped, never
 * fatal: it is the one channel whose other end is untrusted.
 *
 * What a client can cost us, and the limits:
 *  - a slot: CONTROL_MAX_CLIENTS in all, of which CONTROL_ROOT_SLOTS are
 *    kept for root; when every slot is taken, root's connection pushes
 *    out the client idle for longest.  A client with nothing in progress
 *    that sends nothing and reads nothing for CONTROL_IDLE_SEC is dropped.
 *  - memory: one request is taken at a time, and the next one only once
 *    the answer to the last has gone to the kernel (a client that does
 *    not read its answers stops being served, then times out); a single
 *    answer queued beyond CONTROL_OUTQ_MAX drops the client.
 *  - time: a request that arrives before the peer engine is ready (the
 *    peer table loaded, the identity known) waits CONTROL_READY_SEC at
 *    most, then fails with the reason.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>

#include "log.h"
#include "proc.h"
#include "relayd.h"

#define CONTROL_MAX_CLIENTS	32
#define CONTROL_ROOT_SLOTS	4	/* of them, never for non-root */
#define CONTROL_IMSG_MAX	4096	/* requests are small */
#define CONTROL_OUTQ_MAX	(8 * 1024 * 1024)	/* one answer */
#define CONTROL_IDLE_SEC	10

static struct proc	*control_proc;
static struct event	 control_ev;
static struct event	 control_pause;
static int		 control_fd = -1;
static struct ctl_conns	 conns = TAILQ_HEAD_INITIALIZER(conns);
static uint32_t		 conn_ids;
static int		 nconns;

static void	 control_accept(int, short, void *);
static void	 control_dispatch(int, short, void *);
static void	 control_close(struct ctl_conn *);
static void	 control_idle(int, short, void *);
static void	 control_ready_timeout(int, short, void *);
static int	 control_process(struct ctl_conn *);
static void	 control_event_add(struct ctl_conn *);

void
control_init(struct proc *p, int fd)
{
	control_proc = p;
	control_fd = fd;
	event_assign(&control_ev, p->evbase, fd, EV_READ | EV_PERSIST,
	    control_accept, NULL);
	event_add(&control_ev, NULL);
	evtimer_assign(&control_pause, p->evbase, control_accept, NULL);
}

void
control_shutdown(void)
{
	struct ctl_conn	*c;

	while ((c = TAILQ_FIRST(&conns)) != NULL)
		control_close(c);
	if (control_fd != -1) {
		event_del(&control_ev);
		close(control_fd);
		control_fd = -1;
	}
}

int
control_open(void)
{
	return (control_fd != -1);
}

/* Tell a client why it is turned away (best effort), then close. */
static void
control_refuse(int s, const char *msg)
{
	struct imsgbuf		 ibuf;
	struct ctl_result	 res;

	memset(&res, 0, sizeof(res));
	strlcpy(res.msg, msg, sizeof(res.msg));
	if (imsgbuf_init(&ibuf, s) == 0) {
		if (imsg_compose(&ibuf, IMSG_CTL_FAIL, 0, 0, -1, &res,
		    sizeof(res)) != -1)
			(void)imsgbuf_write(&ibuf);
		imsgbuf_clear(&ibuf);
	}
	close(s);
}

/* Restart the idle clock: the client did something. */
static void
control_touch(struct ctl_conn *c)
{
	struct timeval	tv = { CONTROL_IDLE_SEC, 0 };

	if (!c->dead)
		evtimer_add(&c->ev_idle, &tv);
}

/*
 * Every slot is taken and root knocks: push out the client idle for
 * longest (nothing in progress), non-root ones first.  Returns 0 when a
 * slot was freed.
 */
static int
control_evict(void)
{
	struct ctl_conn	*c, *victim = NULL;

	/* the list is in accept order; the first found is the oldest */
	TAILQ_FOREACH(c, &conns, entry) {
		if (c->waiting || c->dead)
			continue;
		if (c->uid != 0) {
			victim = c;
			break;
		}
		if (victim == NULL)
			victim = c;
	}
	if (victim == NULL)
		return (-1);
	log_warnx("control: all %d slots taken; dropped pid %d (uid %d, "
	    "nothing in progress) for root", CONTROL_MAX_CLIENTS,
	    (int)victim->pid, (int)victim->uid);
	control_close(victim);
	return (0);
}

static int
control_nonroot(void)
{
	struct ctl_conn	*c;
	int		 n = 0;

	TAILQ_FOREACH(c, &conns, entry)
		if (c->uid != 0)
			n++;
	return (n);
}

static void
control_accept(int fd, short event, void *arg)
{
	struct ctl_conn	*c;
	struct ucred	 cred;
	socklen_t	 len = sizeof(cred);
	struct timeval	 tv = { 1, 0 };
	int		 s;

	if (event & EV_TIMEOUT) {
		/* resume after a descriptor shortage */
		event_add(&control_ev, NULL);
		return;
	}
	if ((s = accept4(control_fd, NULL, NULL,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1) {
		if (errno == ENFILE || errno == EMFILE) {
			/* pause accepting instead of spinning */
			event_del(&control_ev);
			evtimer_add(&control_pause, &tv);
		} else if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("control: accept");
		return;
	}
	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		log_warn("control: SO_PEERCRED");
		close(s);
		return;
	}
	/*
	 * The socket is mode 0660 root:root; check again here and fail
	 * closed.  In development mode the socket belongs to the user
	 * running relayd, who may use it.
	 */
	if (cred.uid != 0 && cred.uid != geteuid() && cred.gid != 0) {
		log_warnx("control: refused uid %d gid %d pid %d",
		    (int)cred.uid, (int)cred.gid, (int)cred.pid);
		close(s);
		return;
	}
	if (cred.uid != 0 && control_nonroot() >=
	    CONTROL_MAX_CLIENTS - CONTROL_ROOT_SLOTS) {
		log_warnx("control: too many clients, refused uid %d pid %d",
		    (int)cred.uid, (int)cred.pid);
		control_refuse(s, "too many control clients; the remaining "
		    "slots are kept for root");
		return;
	}
	if (nconns >= CONTROL_MAX_CLIENTS &&
	    (cred.uid != 0 || control_evict() == -1)) {
		log_warnx("control: too many clients, refused uid %d pid %d",
		    (int)cred.uid, (int)cred.pid);
		control_refuse(s, "too many control clients, each with a "
		    "request in progress; try again later");
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("control: calloc");
		close(s);
		return;
	}
	if (imsgbuf_init(&c->iev.ibuf, s) == -1 ||
	    imsgbuf_set_maxsize(&c->iev.ibuf, CONTROL_IMSG_MAX) == -1) {
		log_warn("control: imsgbuf_init");
		close(s);
		free(c);
		return;
	}
	/* never accept descriptors from a client: no fdpass here */
	if (++conn_ids == 0)
		conn_ids = 1;
	c->id = conn_ids;
	c->uid = cred.uid;
	c->pid = cred.pid;
	c->iev.proc = control_proc;
	c->iev.events = EV_READ;
	c->deferred.fd = -1;
	event_assign(&c->iev.ev, control_proc->evbase, s, EV_READ,
	    control_dispatch, c);
	event_add(&c->iev.ev, NULL);
	evtimer_assign(&c->ev_idle, control_proc->evbase, control_idle, c);
	evtimer_assign(&c->ev_ready, control_proc->evbase,
	    control_ready_timeout, c);
	control_touch(c);
	TAILQ_INSERT_TAIL(&conns, c, entry);
	nconns++;
	log_info("control: connection from uid %d pid %d", (int)cred.uid,
	    (int)cred.pid);
}

struct ctl_conn *
control_conn_byid(uint32_t id)
{
	struct ctl_conn	*c;

	TAILQ_FOREACH(c, &conns, entry)
		if (c->id == id && !c->dead)
			return (c);
	return (NULL);
}

static void
control_close(struct ctl_conn *c)
{
	peer_ctl_closed(c);
	TAILQ_REMOVE(&conns, c, entry);
	nconns--;
	event_del(&c->iev.ev);
	if (evtimer_initialized(&c->ev_timeout))
		evtimer_del(&c->ev_timeout);
	evtimer_del(&c->ev_idle);
	evtimer_del(&c->ev_ready);
	if (c->has_deferred)
		imsg_free(&c->deferred);
	imsgbuf_clear(&c->iev.ibuf);
	close(c->iev.ibuf.fd);
	free(c);
}

/*
 * Drop a client from inside a request (its answer grew too large): the
 * callers still hold it, so it only goes dead here, and the idle timer,
 * fired at once, closes it from the event loop.
 */
static void
control_kill(struct ctl_conn *c)
{
	c->dead = 1;
	imsgbuf_clear(&c->iev.ibuf);
	event_del(&c->iev.ev);
	evtimer_del(&c->ev_ready);
	event_active(&c->ev_idle, EV_TIMEOUT, 1);
}

static void
control_idle(int fd, short event, void *arg)
{
	struct ctl_conn	*c = arg;

	if (c->dead) {
		control_close(c);
		return;
	}
	if (c->waiting) {
		/* the request has its own deadline */
		control_touch(c);
		return;
	}
	if (imsgbuf_queuebytes(&c->iev.ibuf) > 0)
		log_warnx("control: pid %d has not read its answer (%zu "
		    "bytes) for %d s; dropped", (int)c->pid,
		    imsgbuf_queuebytes(&c->iev.ibuf), CONTROL_IDLE_SEC);
	else
		log_warnx("control: pid %d idle for %d s; dropped",
		    (int)c->pid, CONTROL_IDLE_SEC);
	control_close(c);
}

/*
 * Read when we would take a request: nothing in progress and the last
 * answer gone to the kernel.  While a request is in progress we read
 * too, to see the client leave (and drop one that sends another).
 */
static void
control_event_add(struct ctl_conn *c)
{
	short	events = 0;

	if (c->dead)
		return;
	if (imsgbuf_queuelen(&c->iev.ibuf) > 0)
		events |= EV_WRITE;
	else
		events |= EV_READ;
	if (c->waiting)
		events |= EV_READ;
	event_del(&c->iev.ev);
	event_assign(&c->iev.ev, control_proc->evbase, c->iev.ibuf.fd,
	    events, control_dispatch, c);
	event_add(&c->iev.ev, NULL);
}

int
control_compose(struct ctl_conn *c, uint32_t type, const void *data,
    size_t len)
{
	if (c->dead)
		return (-1);
	if (imsgbuf_queuebytes(&c->iev.ibuf) + len > CONTROL_OUTQ_MAX) {
		log_warnx("control: pid %d: more than %d bytes of answers "
		    "queued; dropped", (int)c->pid, CONTROL_OUTQ_MAX);
		control_kill(c);
		return (-1);
	}
	if (imsg_compose(&c->iev.ibuf, type, 0, 0, -1, data, len) == -1)
		return (-1);
	control_event_add(c);
	return (0);
}

/* Finish a request: OK or FAIL with a message. */
void
control_end(struct ctl_conn *c, int ok, const char *msg)
{
	struct ctl_result	res;

	memset(&res, 0, sizeof(res));
	strlcpy(res.msg, msg != NULL ? msg : "", sizeof(res.msg));
	c->waiting = 0;
	control_touch(c);
	control_compose(c, ok ? IMSG_CTL_OK : IMSG_CTL_FAIL, &res,
	    sizeof(res));
}

/*
 * A request the peer engine cannot serve yet (peering_ctl() asks):
 * 1 while it may still wait for readiness, 0 once its wait is over.
 */
int
control_may_wait(struct ctl_conn *c)
{
	return (!c->ready_expired);
}

/* Hand one request to the peer engine; -1 when the client was dropped. */
static int
control_request(struct ctl_conn *c, struct imsg *imsg)
{
	struct timeval	 tv = { CONTROL_READY_SEC, 0 };
	int		 rc;

	rc = peer_ctl_request(c, imsg);
	if (rc == CTL_DEFER) {
		/* kept whole; the descriptor is always -1 here */
		if (!c->has_deferred) {
			log_info("control: pid %d: relayd is not ready yet; "
			    "request %u waits up to %d s", (int)c->pid,
			    imsg_get_type(imsg), CONTROL_READY_SEC);
			evtimer_add(&c->ev_ready, &tv);
		}
		c->deferred = *imsg;
		c->has_deferred = 1;
		c->waiting = 1;
		return (0);
	}
	if (rc == -1) {
		log_warnx("control: bad request %u from pid %d; dropped",
		    imsg_get_type(imsg), (int)c->pid);
		imsg_free(imsg);
		control_close(c);
		return (-1);
	}
	imsg_free(imsg);
	evtimer_del(&c->ev_ready);
	c->ready_expired = 0;
	return (0);
}

/* Take out a held request and hand it over again. */
static int
control_redo(struct ctl_conn *c)
{
	struct imsg	 imsg;

	imsg = c->deferred;
	c->has_deferred = 0;
	c->waiting = 0;
	if (control_request(c, &imsg) == -1)
		return (-1);
	if (c->has_deferred)
		return (0);
	return (control_process(c));
}

static void
control_ready_timeout(int fd, short event, void *arg)
{
	struct ctl_conn	*c = arg;

	if (!c->has_deferred)
		return;
	c->ready_expired = 1;
	(void)control_redo(c);
}

/* The peer engine became readier: try the held requests again. */
void
control_retry(void)
{
	struct ctl_conn	*c, *next;

	TAILQ_FOREACH_SAFE(c, &conns, entry, next)
		if (c->has_deferred && !c->dead)
			(void)control_redo(c);
}

/*
 * Take the requests already read, one at a time: none while one is in
 * progress (a second one then drops the client) or while the answer to
 * the last is still queued.  Returns -1 when the client was dropped.
 */
static int
control_process(struct ctl_conn *c)
{
	struct imsg	 imsg;
	ssize_t		 n;

	while (!c->dead && imsgbuf_queuelen(&c->iev.ibuf) == 0) {
		if ((n = imsgbuf_get(&c->iev.ibuf, &imsg)) == -1) {
			control_close(c);
			return (-1);
		}
		if (n == 0)
			break;
		if (c->waiting) {
			log_warnx("control: pid %d sent a request while "
			    "another is pending; dropped", (int)c->pid);
			imsg_free(&imsg);
			control_close(c);
			return (-1);
		}
		if (control_request(c, &imsg) == -1)
			return (-1);
	}
	control_event_add(c);
	return (0);
}

static void
control_dispatch(int fd, short event, void *arg)
{
	struct ctl_conn	*c = arg;
	struct imsg	 imsg;
	size_t		 before;
	ssize_t		 n;

	if (c->dead)
		return;
	if (event & EV_READ) {
		if ((n = imsgbuf_read(&c->iev.ibuf)) == -1 || n == 0) {
			control_close(c);
			return;
		}
		control_touch(c);
	}
	if (event & EV_WRITE) {
		before = imsgbuf_queuebytes(&c->iev.ibuf);
		if (imsgbuf_write(&c->iev.ibuf) == -1) {
			control_close(c);
			return;
		}
		if (imsgbuf_queuebytes(&c->iev.ibuf) < before)
			control_touch(c);
	}
	if (c->waiting) {
		/* only to see the client leave or misbehave */
		if ((n = imsgbuf_get(&c->iev.ibuf, &imsg)) != 0) {
			if (n == 1) {
				log_warnx("control: pid %d sent a request "
				    "while another is pending; dropped",
				    (int)c->pid);
				imsg_free(&imsg);
			}
			control_close(c);
			return;
		}
		control_event_add(c);
		return;
	}
	(void)control_process(c);
}
