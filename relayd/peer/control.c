/*
 * The control socket, hosted by the peer engine.  The parent creates and
 * binds it (mode 0660) and passes the listening descriptor; here we
 * accept relayctl(8) clients, check their credentials, and hand their
 * requests to the peer engine.  A misbehaving client is dropped, never
 * fatal: it is the one channel whose other end is untrusted.
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
#define CONTROL_IMSG_MAX	4096	/* requests are small */

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
	if (nconns >= CONTROL_MAX_CLIENTS) {
		log_warnx("control: too many clients, refused pid %d",
		    (int)cred.pid);
		close(s);
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
	event_assign(&c->iev.ev, control_proc->evbase, s, EV_READ,
	    control_dispatch, c);
	event_add(&c->iev.ev, NULL);
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
		if (c->id == id)
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
	imsgbuf_clear(&c->iev.ibuf);
	close(c->iev.ibuf.fd);
	free(c);
}

static void
control_event_add(struct ctl_conn *c)
{
	short	events = EV_READ;

	if (imsgbuf_queuelen(&c->iev.ibuf) > 0)
		events |= EV_WRITE;
	event_del(&c->iev.ev);
	event_assign(&c->iev.ev, control_proc->evbase, c->iev.ibuf.fd,
	    events, control_dispatch, c);
	event_add(&c->iev.ev, NULL);
}

int
control_compose(struct ctl_conn *c, uint32_t type, const void *data,
    size_t len)
{
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
	control_compose(c, ok ? IMSG_CTL_OK : IMSG_CTL_FAIL, &res,
	    sizeof(res));
}

static void
control_dispatch(int fd, short event, void *arg)
{
	struct ctl_conn	*c = arg;
	struct imsg	 imsg;
	ssize_t		 n;

	if (event & EV_READ) {
		if ((n = imsgbuf_read(&c->iev.ibuf)) == -1 || n == 0) {
			control_close(c);
			return;
		}
	}
	if (event & EV_WRITE) {
		if (imsgbuf_write(&c->iev.ibuf) == -1) {
			control_close(c);
			return;
		}
	}
	for (;;) {
		if ((n = imsgbuf_get(&c->iev.ibuf, &imsg)) == -1) {
			control_close(c);
			return;
		}
		if (n == 0)
			break;
		if (c->waiting) {
			/* one request at a time */
			log_warnx("control: pid %d sent a request while "
			    "another is pending; dropped", (int)c->pid);
			imsg_free(&imsg);
			control_close(c);
			return;
		}
		if (peer_ctl_request(c, &imsg) == -1) {
			log_warnx("control: bad request %u from pid %d; "
			    "dropped", imsg_get_type(&imsg), (int)c->pid);
			imsg_free(&imsg);
			control_close(c);
			return;
		}
		imsg_free(&imsg);
	}
	control_event_add(c);
}
