/*
 * The frontend process (relayd -P frontend -I n).  It receives its
 * listening sockets, TLS material and configuration from the parent,
 * enters the sandbox (no file system, no outbound sockets) and serves
 * HTTP; the route handlers (fe_routes.c) reach keyd, the peer engine,
 * routed and ledgerd over the channels the parent set up.
 *
 * Configuration stream from the parent (at start and on reload):
 *	IMSG_CFG_GLOBAL		struct cfg_global
 *	IMSG_CFG_FEDRULE	allow/block rules (for the peering handlers)
 *	IMSG_CFG_LISTEN + fd	struct cfg_listen, one per listening socket
 *	IMSG_CFG_TLS		struct cfg_tls_hdr + PEM chain + PEM key,
 *				for a TLS listener's index
 *	IMSG_CFG_DONE		apply, answer IMSG_CFG_ACK
 * A stream that carries IMSG_CFG_LISTEN replaces the listeners; one that
 * carries none (a reload) keeps them.  IMSG_CFG_IDENTITY may come at any
 * time; until it does, every route but /health and /metrics answers 503.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>
#include <openssl/ssl.h>

#include "encoding.h"
#include "frontend.h"
#include "http.h"
#include "log.h"
#include "proc.h"

/* A listening socket announced in the current configuration stream. */
struct fe_listen {
	TAILQ_ENTRY(fe_listen)	 entry;
	struct cfg_listen	 conf;
	int			 fd;
	char			*cert;
	size_t			 certlen;
	char			*key;
	size_t			 keylen;
};
TAILQ_HEAD(fe_listens, fe_listen);

static struct proc		 fe_proc;
static struct frontend		 fe_state;
static struct cfg_global	 ncfg;
static int			 have_ncfg;
static struct fe_listens	 nlistens = TAILQ_HEAD_INITIALIZER(nlistens);
static struct event		 ev_stats;
static struct fe_stats		 stats_sent;

static int	 fe_dispatch_parent(struct imsgev *, struct imsg *);
static int	 fe_dispatch_keyd(struct imsgev *, struct imsg *);
static int	 fe_dispatch_engine(struct imsgev *, struct imsg *);
static void	 fe_started(struct proc *);
static void	 fe_status(struct proc *, struct proc_status *);
static void	 fe_shutdown(struct proc *);
static int	 fe_send(enum proc_id, uint32_t, const struct iovec *, int);
static void	 fe_stats_timer(int, short, void *);

static const struct proc_dispatch fe_dispatch[] = {
	{ PROC_PARENT,	fe_dispatch_parent },
	{ PROC_KEYD,	fe_dispatch_keyd },
	{ PROC_PEER,	fe_dispatch_engine },
	{ PROC_ROUTED,	fe_dispatch_engine },
	{ PROC_LEDGERD,	fe_dispatch_engine },
	{ 0,		NULL }
};

void
frontend_main(int debug, int verbose, int instance)
{
	if (instance < 0 || instance >= PROC_MAX_INSTANCES)
		fatalx("frontend instance %d out of range", instance);

	memset(&fe_proc, 0, sizeof(fe_proc));
	fe_proc.dispatch = fe_dispatch;
	fe_proc.started = fe_started;
	fe_proc.status = fe_status;
	fe_proc.shutdown = fe_shutdown;
	proc_child_init(&fe_proc, PROC_FRONTEND, instance, "frontend");
	setproctitle("frontend %d", instance);

	/* OpenSSL reads its configuration now, before the chroot */
	if (OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS, NULL) != 1)
		fatalx("OPENSSL_init_ssl");

	fe_init(&fe_state, fe_proc.evbase, instance, fe_send);
	fe_state.http = http_server_new(fe_proc.evbase, &fe_state.stats);
	evtimer_assign(&ev_stats, fe_proc.evbase, fe_stats_timer, NULL);

	proc_run(&fe_proc);
	exit(0);
}

static int
fe_send(enum proc_id to, uint32_t type, const struct iovec *iov, int n)
{
	struct imsgev	*iev;

	if ((iev = proc_iev(&fe_proc, to, 0)) == NULL)
		return (-1);
	return (imsg_composev_event(iev, type, 0, 0, -1, iov, n));
}

static void
fe_started(struct proc *p)
{
	struct timeval	 tv = { 0, FE_STATS_INTERVAL_MS * 1000 };

	evtimer_add(&ev_stats, &tv);
}

static void
fe_status(struct proc *p, struct proc_status *st)
{
	struct http_listener	*l;
	int			 n = 0;

	TAILQ_FOREACH(l, &fe_state.http->listeners, entry)
		n++;
	snprintf(st->detail, sizeof(st->detail), "%d listener%s, %s", n,
	    n == 1 ? "" : "s", fe_state.have_id ? "identity known" :
	    "waiting for the relay identity");
	st->healthy = n > 0;
}

/* Push the counters when they changed (the peer engine sums them). */
static void
fe_stats_send(int force)
{
	int	 i;

	for (i = 0; i < PROC_MAX; i++)
		fe_state.stats.queue[i] = i == PROC_FRONTEND ? 0 :
		    proc_queue_depth(&fe_proc, i);
	http_server_stats(fe_state.http, &fe_state.stats);
	if (!force && memcmp(&stats_sent, &fe_state.stats,
	    sizeof(stats_sent)) == 0)
		return;
	fe_stats_push();
	stats_sent = fe_state.stats;
}

static void
fe_stats_timer(int fd, short event, void *arg)
{
	struct timeval	 tv = { 0, FE_STATS_INTERVAL_MS * 1000 };

	fe_stats_send(0);
	evtimer_add(&ev_stats, &tv);
}

static void
fe_shutdown(struct proc *p)
{
	fe_stats_send(1);	/* proc_shutdown() flushes the queues */
	fe_cleanup();
	http_server_free(fe_state.http);
	fe_state.http = NULL;
}

/*
 * Configuration.
 */

static void
fe_listen_free(struct fe_listen *fl)
{
	if (fl->fd != -1)
		close(fl->fd);
	free(fl->cert);
	freezero(fl->key, fl->keylen);
	free(fl);
}

static struct fe_listen *
fe_listen_find(uint32_t index)
{
	struct fe_listen	*fl;

	TAILQ_FOREACH(fl, &nlistens, entry)
		if (fl->conf.index == index)
			return (fl);
	return (NULL);
}

static void
fe_cfg_listen(struct imsg *imsg)
{
	struct fe_listen	*fl;
	struct cfg_listen	 cl;
	int			 fd;

	if (imsg_get_data(imsg, &cl, sizeof(cl)) == -1)
		fatalx("bad IMSG_CFG_LISTEN");
	if ((fd = imsg_get_fd(imsg)) == -1)
		fatalx("IMSG_CFG_LISTEN without a socket");
	cl.addr[sizeof(cl.addr) - 1] = '\0';
	if (cl.index >= HTTP_LISTEN_MAX || fe_listen_find(cl.index) != NULL)
		fatalx("IMSG_CFG_LISTEN: bad or repeated index %u", cl.index);
	if ((fl = calloc(1, sizeof(*fl))) == NULL)
		fatal("%s", __func__);
	fl->conf = cl;
	fl->fd = fd;
	TAILQ_INSERT_TAIL(&nlistens, fl, entry);
}

static void
fe_cfg_tls(struct imsg *imsg)
{
	struct fe_listen	*fl;
	struct cfg_tls_hdr	 th;
	const char		*p;
	size_t			 len;

	len = imsg_get_len(imsg);
	if (len < sizeof(th))
		fatalx("bad IMSG_CFG_TLS");
	p = imsg->data;
	memcpy(&th, p, sizeof(th));
	if ((uint64_t)th.certlen + th.keylen != len - sizeof(th) ||
	    th.certlen == 0 || th.keylen == 0)
		fatalx("IMSG_CFG_TLS: lengths do not add up");
	if ((fl = fe_listen_find(th.index)) == NULL || !fl->conf.tls ||
	    fl->cert != NULL)
		fatalx("IMSG_CFG_TLS for listener %u unexpected", th.index);
	if ((fl->cert = malloc(th.certlen)) == NULL ||
	    (fl->key = malloc(th.keylen)) == NULL)
		fatal("%s", __func__);
	memcpy(fl->cert, p + sizeof(th), th.certlen);
	memcpy(fl->key, p + sizeof(th) + th.certlen, th.keylen);
	fl->certlen = th.certlen;
	fl->keylen = th.keylen;
	/* the imsg buffer held the key too */
	explicit_bzero(imsg->data, len);
}

/* IMSG_CFG_DONE: the stream is complete; put it in force. */
static void
fe_cfg_done(void)
{
	struct fe_listen	*fl;
	SSL_CTX			*ssl;
	char			 err[256];

	if (have_ncfg)
		fe_set_conf(&ncfg);
	if (!TAILQ_EMPTY(&nlistens)) {
		/* requests in progress go with the old listeners */
		fe_cleanup();
		http_server_close_listeners(fe_state.http);
	}
	while ((fl = TAILQ_FIRST(&nlistens)) != NULL) {
		TAILQ_REMOVE(&nlistens, fl, entry);
		ssl = NULL;
		if (fl->conf.tls) {
			if (fl->cert == NULL)
				fatalx("listener %s port %u: TLS without "
				    "certificate", fl->conf.addr,
				    fl->conf.port);
			if ((ssl = http_tls_ctx(fl->cert, fl->certlen, fl->key,
			    fl->keylen, err, sizeof(err))) == NULL)
				fatalx("listener %s port %u: %s",
				    fl->conf.addr, fl->conf.port, err);
		}
		if (http_server_listen(fe_state.http, fl->fd, &fl->conf,
		    ssl) == -1)
			fatalx("listener %s port %u: cannot serve",
			    fl->conf.addr, fl->conf.port);
		fl->fd = -1;	/* the listener owns it now */
		fe_listen_free(fl);
	}
}

static int
fe_dispatch_parent(struct imsgev *iev, struct imsg *imsg)
{
	struct cfg_identity	 id;
	struct cfg_fedrule	 fr;

	switch (imsg_get_type(imsg)) {
	case IMSG_CFG_GLOBAL:
		if (imsg_get_data(imsg, &ncfg, sizeof(ncfg)) == -1)
			fatalx("bad IMSG_CFG_GLOBAL");
		ncfg.name[sizeof(ncfg.name) - 1] = '\0';
		ncfg.endpoint[sizeof(ncfg.endpoint) - 1] = '\0';
		have_ncfg = 1;
		return (0);
	case IMSG_CFG_FEDRULE:
		/* allow/block lists: for the peering handlers */
		if (imsg_get_data(imsg, &fr, sizeof(fr)) == -1)
			fatalx("bad IMSG_CFG_FEDRULE");
		return (0);
	case IMSG_CFG_LISTEN:
		fe_cfg_listen(imsg);
		return (0);
	case IMSG_CFG_TLS:
		fe_cfg_tls(imsg);
		return (0);
	case IMSG_CFG_DONE:
		if (imsg_get_len(imsg) != 0)
			fatalx("bad IMSG_CFG_DONE");
		fe_cfg_done();
		proc_compose(&fe_proc, PROC_PARENT, 0, IMSG_CFG_ACK, 0, -1,
		    NULL, 0);
		return (0);
	case IMSG_CFG_IDENTITY:
		if (imsg_get_data(imsg, &id, sizeof(id)) == -1)
			fatalx("bad IMSG_CFG_IDENTITY");
		id.relay_id[sizeof(id.relay_id) - 1] = '\0';
		id.public_key[sizeof(id.public_key) - 1] = '\0';
		id.did[sizeof(id.did) - 1] = '\0';
		if (!relay_id_valid(id.relay_id))
			fatalx("IMSG_CFG_IDENTITY: bad relay id");
		fe_set_identity(&id);
		log_debug("relay identity %s", id.relay_id);
		return (0);
	}
	return (-1);
}

static int
fe_dispatch_keyd(struct imsgev *iev, struct imsg *imsg)
{
	struct key_sign_resp	 resp;
	size_t			 len;
	uint32_t		 type;

	type = imsg_get_type(imsg);
	switch (type) {
	case IMSG_KEY_SIGNATURE:
	case IMSG_KEY_REFUSED:
		len = imsg_get_len(imsg);
		if (len < sizeof(resp))
			fatalx("short answer from keyd");
		memcpy(&resp, imsg->data, sizeof(resp));
		if (resp.doclen != len - sizeof(resp))
			fatalx("answer from keyd: bad document length");
		resp.signature[sizeof(resp.signature) - 1] = '\0';
		resp.error[sizeof(resp.error) - 1] = '\0';
		fe_sign_answer(type == IMSG_KEY_SIGNATURE, &resp,
		    (const char *)imsg->data + sizeof(resp), resp.doclen);
		return (0);
	}
	return (-1);
}

/* NUL-terminates the strings of a peer table row from the peer engine. */
static void
fe_peer_terminate(struct peer_entry *e)
{
	e->relay_id[sizeof(e->relay_id) - 1] = '\0';
	e->public_key[sizeof(e->public_key) - 1] = '\0';
	e->endpoint[sizeof(e->endpoint) - 1] = '\0';
	e->display_name[sizeof(e->display_name) - 1] = '\0';
	e->trust_level[sizeof(e->trust_level) - 1] = '\0';
}

static int
fe_dispatch_engine(struct imsgev *iev, struct imsg *imsg)
{
	struct proc_status	 st;
	struct ldg_state	 ls;
	struct metrics_chunk	 mc;
	struct peer_entry	 pe;
	struct fed_result	 fr;
	struct ag_keys		 ak;
	struct ag_result	 ar;
	size_t			 len;

	switch (imsg_get_type(imsg)) {
	case IMSG_PEER_UPSERT:
	case IMSG_PEER_DELETE:
		if (iev->peer != PROC_PEER)
			return (-1);
		if (imsg_get_data(imsg, &pe, sizeof(pe)) == -1)
			fatalx("bad IMSG_PEER_UPSERT/DELETE");
		fe_peer_terminate(&pe);
		if (imsg_get_type(imsg) == IMSG_PEER_UPSERT)
			fe_peer_upsert(&pe);
		else
			fe_peer_delete(&pe);
		return (0);
	case IMSG_FED_RESULT:
		if (iev->peer != PROC_PEER)
			return (-1);
		if (imsg_get_data(imsg, &fr, sizeof(fr)) == -1)
			fatalx("bad IMSG_FED_RESULT");
		fr.error[sizeof(fr.error) - 1] = '\0';
		fr.nonce[sizeof(fr.nonce) - 1] = '\0';
		fr.peer_state[sizeof(fr.peer_state) - 1] = '\0';
		fe_fed_result(&fr);
		return (0);
	case IMSG_PROC_STATUS:
		if (imsg_get_data(imsg, &st, sizeof(st)) == -1)
			fatalx("bad IMSG_PROC_STATUS from %s",
			    proc_name(iev->peer));
		st.user[sizeof(st.user) - 1] = '\0';
		st.chroot[sizeof(st.chroot) - 1] = '\0';
		st.detail[sizeof(st.detail) - 1] = '\0';
		fe_status_answer(iev->peer, &st);
		return (0);
	case IMSG_METRICS:
		if (iev->peer != PROC_PEER)
			return (-1);
		len = imsg_get_len(imsg);
		if (len < sizeof(mc) || len - sizeof(mc) > METRICS_CHUNK_MAX)
			fatalx("bad IMSG_METRICS");
		memcpy(&mc, imsg->data, sizeof(mc));
		fe_metrics_answer(&mc, (const char *)imsg->data + sizeof(mc),
		    len - sizeof(mc));
		return (0);
	case IMSG_LDG_AG_KEYS:
		if (iev->peer != PROC_LEDGERD)
			return (-1);
		if (imsg_get_data(imsg, &ak, sizeof(ak)) == -1)
			fatalx("bad IMSG_LDG_AG_KEYS");
		ak.device_key[sizeof(ak.device_key) - 1] = '\0';
		ak.identity_key[sizeof(ak.identity_key) - 1] = '\0';
		fe_agents_keys(&ak);
		return (0);
	case IMSG_LDG_AG_RESULT:
		if (iev->peer != PROC_LEDGERD)
			return (-1);
		len = imsg_get_len(imsg);
		if (len < sizeof(ar))
			fatalx("bad IMSG_LDG_AG_RESULT");
		memcpy(&ar, imsg->data, sizeof(ar));
		if (ar.doclen != len - sizeof(ar))
			fatalx("IMSG_LDG_AG_RESULT: bad document length");
		fe_agents_result(&ar, (const char *)imsg->data + sizeof(ar),
		    ar.doclen);
		return (0);
	case IMSG_LDG_STATE:
		if (iev->peer != PROC_LEDGERD)
			return (-1);
		if (imsg_get_data(imsg, &ls, sizeof(ls)) == -1)
			fatalx("bad IMSG_LDG_STATE");
		ls.detail[sizeof(ls.detail) - 1] = '\0';
		fe_set_ldg_state(&ls);
		return (0);
	}
	return (-1);
}
