/*
 * libFuzzer target: arbitrary bytes as a raw HTTP request stream into the
 * frontend's evhttp server (http.c, fe_routes.c) with the relay identity
 * known and every other process absent (each imsg send fails, so routes
 * that need an engine answer 503 at once).  libevent 2.1 cannot hand a
 * socketpair to an evhttp server (evhttp_get_request() is internal), so
 * each input arrives on a fresh loopback TCP connection: the client
 * writes the input, shuts down its write side and reads until the server
 * closes.  The server must neither crash nor keep the connection, and
 * nothing may leak.
 *
 * The federation routes (fe_fed.c) see one peer, relay A of Appendix B
 * (seed 01), and a wall clock frozen at the vectors' timestamp, so that
 * the signed seeds (corpus/http/fed-*) pass authentication and reach the
 * hand-over to the absent peer engine; the per-IP limit starts afresh
 * with each input, or every input after the 300th would stop there.
 * Inputs of odd length see the loopback client as a remote one, so the
 * peer list asks for X-Relay-* credentials.  The agent routes
 * (fe_agents.c) see the same clock, so the tokens of the seeds
 * (corpus/http/agent-*, from regress/vectors/agent-tokens.json) pass
 * the claim checks and reach the hand-over to the absent ledgerd.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <netinet/in.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "frontend.h"
#include "http.h"
#include "log.h"

#define RELAY_A		"relay-11111111-1111-4111-8111-111111111111"
#define PUB_A		\
	"8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"
#define T0		1760000000000LL

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct event_base	*base;
static struct frontend		 fstate;
static struct sockaddr_in	 addr;

struct conn {
	struct bufferevent	*bev;
	int			 done;
};

static int
absent(enum proc_id to, uint32_t type, const struct iovec *iov, int n)
{
	return (-1);
}

static int64_t
frozen(void)
{
	return (T0);
}

/* The federation state each input starts from. */
static void
fed_reset(void)
{
	struct peer_entry	 e;

	fe_fed_init();
	fe_fed_set_clock(frozen);
	fe_agents_init();
	fe_agents_set_clock(frozen);
	memset(&e, 0, sizeof(e));
	strlcpy(e.relay_id, RELAY_A, sizeof(e.relay_id));
	strlcpy(e.public_key, PUB_A, sizeof(e.public_key));
	strlcpy(e.endpoint, "https://a.example", sizeof(e.endpoint));
	e.state = PEER_ACTIVE;
	e.extensions = PEER_EXT_PEER_ACCEPTED;
	fe_peer_upsert(&e);
}

static void
setup(void)
{
	struct cfg_global	 g;
	struct cfg_identity	 id;
	struct ldg_state	 ls;
	struct cfg_listen	 cl;
	socklen_t		 len = sizeof(addr);
	int			 fd;

	signal(SIGPIPE, SIG_IGN);
	log_init(1, 0);
	log_setverbose(0);
	if ((base = event_base_new()) == NULL)
		abort();
	fe_init(&fstate, base, 0, absent);
	fstate.http = http_server_new(base, &fstate.stats);

	memset(&g, 0, sizeof(g));
	strlcpy(g.name, "fuzz", sizeof(g.name));
	strlcpy(g.endpoint, "https://fuzz.example", sizeof(g.endpoint));
	g.body_limit = 4096;
	g.fee_ppm = 50000;
	g.fed_enable = 1;
	g.fed_max_hops = 3;
	fe_set_conf(&g);
	memset(&id, 0, sizeof(id));
	strlcpy(id.relay_id, "relay-6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab",
	    sizeof(id.relay_id));
	memset(id.public_key, 'a', 64);
	strlcpy(id.did,
	    "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
	    sizeof(id.did));
	fe_set_identity(&id);
	memset(&ls, 0, sizeof(ls));
	ls.connected = 1;
	ls.agent_count = 3;
	fe_set_ldg_state(&ls);

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		abort();
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == -1 ||
	    listen(fd, 64) == -1 ||
	    getsockname(fd, (struct sockaddr *)&addr, &len) == -1)
		abort();
	memset(&cl, 0, sizeof(cl));
	strlcpy(cl.addr, "127.0.0.1", sizeof(cl.addr));
	cl.port = ntohs(addr.sin_port);
	if (http_server_listen(fstate.http, fd, &cl, NULL) == -1)
		abort();
}

static void
conn_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer	*in = bufferevent_get_input(bev);

	evbuffer_drain(in, evbuffer_get_length(in));
}

/* all of the input is out: no more requests from this client */
static void
conn_written(struct bufferevent *bev, void *arg)
{
	shutdown(bufferevent_getfd(bev), SHUT_WR);
}

static void
conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;

	if (what & BEV_EVENT_CONNECTED) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			shutdown(bufferevent_getfd(bev), SHUT_WR);
		return;
	}
	c->done = 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conn	 c;
	struct timeval	 tv = { 10, 0 };

	if (base == NULL)
		setup();
	fed_reset();
	fe_fed_set_loopback(size % 2 == 0);
	memset(&c, 0, sizeof(c));
	if ((c.bev = bufferevent_socket_new(base, -1,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		abort();
	bufferevent_setcb(c.bev, conn_read, conn_written, conn_event, &c);
	bufferevent_set_timeouts(c.bev, &tv, &tv);
	bufferevent_enable(c.bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(c.bev, (struct sockaddr *)&addr,
	    sizeof(addr)) == -1)
		abort();
	bufferevent_write(c.bev, data, size);
	while (!c.done)
		event_base_loop(base, EVLOOP_ONCE);
	bufferevent_free(c.bev);
	/* the server saw the end too and let the connection go */
	if (!TAILQ_EMPTY(&fstate.http->reqs))
		abort();
	return (0);
}
