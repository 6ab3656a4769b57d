/*
 * httpload: a small closed-loop HTTP/1.1 load generator on libevent, for
 * the HTTP benchmark (bench/http.sh).  It keeps N keep-alive connections
 * to 127.0.0.1:PORT, each with one GET in flight, for a fixed time, and
 * prints the requests per second and the latency percentiles of the
 * answers with status 200 (any other status, a reset or a short answer
 * counts as an error).  Latency is measured from the write of a request
 * to the end of its answer, in a histogram of 1 us buckets below 10 ms
 * and 100 us buckets up to 1 s.
 *
 * usage: httpload [-c conns] [-d seconds] [-w warmup] -p port path
 *
 * Output, one line (bench/http.sh reads it):
 *	conns=N secs=S ok=N all=N errors=N reconnects=N rps=R p50_us=N
 *	p90_us=N p99_us=N max_us=N
 * ok counts the measured interval, all the warm-up too.
 * A server that closes the connection ("Connection: close" or EOF after
 * an answer) is reconnected; that costs a connect and is counted in
 * reconnects=N.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#define FINE_US		10000		/* 1 us buckets below */
#define COARSE_US	1000000		/* 100 us buckets below */
#define NBUCKETS	(FINE_US + (COARSE_US - FINE_US) / 100 + 1)
#define MAXCONNS	4096
#define HDR_MAX		8192

struct conn {
	struct bufferevent	*bev;
	uint64_t		 t0;	/* request written, ns */
	int			 id;
};

static struct event_base	*base;
static struct sockaddr_in	 dst;
static struct conn		 conns[MAXCONNS];
static char			*request;
static size_t			 requestlen;
static uint64_t			 hist[NBUCKETS];
static uint64_t			 nok, nerr, nreconnect, maxus;
static uint64_t			 nall;	/* warm-up included */
static int			 recording, stopping;

static void	 conn_open(struct conn *);
static void	 conn_send(struct conn *);

static void
usage(void)
{
	fprintf(stderr, "usage: httpload [-c conns] [-d seconds] "
	    "[-w warmup] -p port path\n");
	exit(2);
}

static uint64_t
now_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
}

static void
record(uint64_t us)
{
	size_t	 b;

	if (us > maxus)
		maxus = us;
	if (us < FINE_US)
		b = us;
	else if (us < COARSE_US)
		b = FINE_US + (us - FINE_US) / 100;
	else
		b = NBUCKETS - 1;
	hist[b]++;
}

/* upper edge of the bucket holding the q-th fraction of the answers */
static uint64_t
percentile(double q)
{
	uint64_t	 want, seen = 0;
	size_t		 b;

	if (nok == 0)
		return (0);
	want = (uint64_t)(q * nok);
	if (want == 0)
		want = 1;
	for (b = 0; b < NBUCKETS; b++) {
		seen += hist[b];
		if (seen >= want)
			break;
	}
	if (b < FINE_US)
		return (b + 1);
	if (b < NBUCKETS - 1)
		return (FINE_US + (b - FINE_US + 1) * 100);
	return (maxus);
}

static void
conn_fail(struct conn *c)
{
	if (recording)
		nerr++;
	bufferevent_free(c->bev);
	c->bev = NULL;
	if (!stopping)
		conn_open(c);
}

/*
 * One answer complete in the input buffer?  1: consumed (*status,
 * *closing set), 0: not yet, -1: malformed.
 */
static int
parse_answer(struct evbuffer *in, int *status, int *closing)
{
	struct evbuffer_ptr	 p;
	char			 hdr[HDR_MAX + 1], *line, *next, *v;
	size_t			 hlen, clen = 0;
	int			 have_len = 0;

	p = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	if (p.pos == -1)
		return (evbuffer_get_length(in) > HDR_MAX ? -1 : 0);
	hlen = p.pos + 4;
	if (hlen > HDR_MAX)
		return (-1);
	if (evbuffer_copyout(in, hdr, hlen) != (ev_ssize_t)hlen)
		return (-1);
	hdr[hlen] = '\0';
	if (strncmp(hdr, "HTTP/1.", 7) != 0 || strlen(hdr) < 12)
		return (-1);
	*status = atoi(hdr + 9);
	*closing = hdr[7] == '0';
	for (line = strstr(hdr, "\r\n") + 2; *line != '\r'; line = next) {
		if ((next = strstr(line, "\r\n")) == NULL)
			return (-1);
		*next = '\0';
		next += 2;
		if ((v = strchr(line, ':')) == NULL)
			return (-1);
		*v++ = '\0';
		v += strspn(v, " \t");
		if (strcasecmp(line, "Content-Length") == 0) {
			clen = strtoull(v, NULL, 10);
			have_len = 1;
		} else if (strcasecmp(line, "Connection") == 0)
			*closing = strncasecmp(v, "close", 5) == 0;
		else if (strcasecmp(line, "Transfer-Encoding") == 0)
			return (-1);	/* not spoken here */
	}
	if (!have_len)
		return (-1);
	if (evbuffer_get_length(in) < hlen + clen)
		return (0);
	evbuffer_drain(in, hlen + clen);
	return (1);
}

static void
conn_read(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	int		 r, status, closing;

	for (;;) {
		if ((r = parse_answer(in, &status, &closing)) == 0)
			return;
		if (r == -1) {
			conn_fail(c);
			return;
		}
		if (status == 200)
			nall++;
		if (recording) {
			if (status == 200) {
				nok++;
				record((now_ns() - c->t0) / 1000);
			} else
				nerr++;
		}
		if (stopping)
			return;
		if (closing) {
			bufferevent_free(c->bev);
			c->bev = NULL;
			nreconnect++;
			conn_open(c);
			return;
		}
		conn_send(c);
	}
}

static void
conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;
	int		 one = 1, fd;

	if (what & BEV_EVENT_CONNECTED) {
		fd = bufferevent_getfd(bev);
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one)) == -1)
			err(1, "TCP_NODELAY");
		conn_send(c);
		return;
	}
	conn_fail(c);
}

static void
conn_send(struct conn *c)
{
	c->t0 = now_ns();
	if (bufferevent_write(c->bev, request, requestlen) == -1)
		errx(1, "bufferevent_write");
}

static void
conn_open(struct conn *c)
{
	c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		errx(1, "bufferevent_socket_new");
	bufferevent_setcb(c->bev, conn_read, NULL, conn_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&dst,
	    sizeof(dst)) == -1) {
		if (recording)
			nerr++;
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
}

static void
on_start(evutil_socket_t fd, short ev, void *arg)
{
	uint64_t	*t = arg;

	recording = 1;
	*t = now_ns();
}

static void
on_stop(evutil_socket_t fd, short ev, void *arg)
{
	uint64_t	*t = arg;

	*t = now_ns();
	recording = 0;
	stopping = 1;
	event_base_loopbreak(base);
}

int
main(int argc, char *argv[])
{
	struct timeval	 tv;
	struct event	*estart, *estop;
	const char	*errstr;
	uint64_t	 t_start = 0, t_stop = 0;
	double		 secs;
	int		 ch, i, n, nconns = 16, port = 0, duration = 5;
	int		 warmup = 1;

	while ((ch = getopt(argc, argv, "c:d:p:w:")) != -1) {
		switch (ch) {
		case 'c':
			nconns = strtonum(optarg, 1, MAXCONNS, &errstr);
			if (errstr != NULL)
				errx(2, "-c %s: %s", optarg, errstr);
			break;
		case 'd':
			duration = strtonum(optarg, 1, 600, &errstr);
			if (errstr != NULL)
				errx(2, "-d %s: %s", optarg, errstr);
			break;
		case 'p':
			port = strtonum(optarg, 1, 65535, &errstr);
			if (errstr != NULL)
				errx(2, "-p %s: %s", optarg, errstr);
			break;
		case 'w':
			warmup = strtonum(optarg, 0, 60, &errstr);
			if (errstr != NULL)
				errx(2, "-w %s: %s", optarg, errstr);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1 || port == 0 || argv[0][0] != '/')
		usage();

	n = asprintf(&request, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
	    "\r\n", argv[0], port);
	if (n == -1)
		err(1, "asprintf");
	requestlen = n;

	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_port = htons(port);
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	if ((base = event_base_new()) == NULL)
		errx(1, "event_base_new");
	for (i = 0; i < nconns; i++) {
		conns[i].id = i;
		conn_open(&conns[i]);
		if (conns[i].bev == NULL)
			errx(1, "cannot connect to 127.0.0.1:%d", port);
	}
	estart = evtimer_new(base, on_start, &t_start);
	estop = evtimer_new(base, on_stop, &t_stop);
	if (estart == NULL || estop == NULL)
		errx(1, "evtimer_new");
	tv.tv_sec = warmup;
	tv.tv_usec = 0;
	evtimer_add(estart, &tv);
	tv.tv_sec = warmup + duration;
	evtimer_add(estop, &tv);
	if (warmup == 0)
		on_start(-1, 0, &t_start);
	event_base_dispatch(base);

	secs = (t_stop - t_start) / 1e9;
	printf("conns=%d secs=%.3f ok=%" PRIu64 " all=%" PRIu64 " errors=%"
	    PRIu64 " reconnects=%" PRIu64 " rps=%.0f p50_us=%" PRIu64
	    " p90_us=%" PRIu64 " p99_us=%" PRIu64 " max_us=%" PRIu64 "\n",
	    nconns, secs, nok, nall, nerr, nreconnect,
	    secs > 0 ? nok / secs : 0,
	    percentile(0.50), percentile(0.90), percentile(0.99), maxus);

	for (i = 0; i < nconns; i++)
		if (conns[i].bev != NULL)
			bufferevent_free(conns[i].bev);
	event_free(estart);
	event_free(estop);
	event_base_free(base);
	free(request);
	return (nok > 0 && nerr == 0 ? 0 : 1);
}
