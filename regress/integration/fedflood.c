/*
 * fedflood: send one request many times, each on a fresh TCP connection,
 * from rotating IPv4 source addresses, as a hostile client would, and
 * count the answers by status.  For the attack tests (t_attack_*.sh):
 * loopback only (Linux routes all of 127/8 to lo, so 127.x.y.z sources
 * are distinct clients), bounded by a count, a duration or both.
 *
 *	fedflood [-c conns] [-n count] [-t seconds] [-s source] [-k n]
 *	    HOST PORT PATH [FILE]
 *
 * FILE is the POST body, sent byte for byte except that each "@UUID@"
 * becomes a fresh random UUID (so "relay-@UUID@" is a new relay id every
 * time); without FILE the request is a GET.  -s is the first source
 * address, -k how many consecutive addresses to rotate through (the last
 * octets 0 and 255 are skipped); the default is the kernel's choice.
 * -c connections are kept in flight (default 4).  Prints "STATUS COUNT"
 * lines (status 0: no answer), "total N", and for each status the first
 * answer body seen ("body STATUS ...", at most 200 bytes).  Exits 0 when
 * every request got an answer, 1 otherwise, 2 on usage errors.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "encoding.h"

#define CONNS_MAX	64
#define REQ_MAX		(64 * 1024)
#define RESP_MAX	4096
#define REQ_TIMEOUT_MS	10000
#define UUID_MARK	"@UUID@"

struct conn {
	int		 fd;
	char		 req[REQ_MAX + 512];
	size_t		 reqlen, sent;
	char		 resp[RESP_MAX + 1];
	size_t		 resplen;
	int64_t		 start;
};

static unsigned long	 counts[600];
static char		*firstbody[600];
static int		 failed;

static void
usage(void)
{
	fprintf(stderr, "usage: fedflood [-c conns] [-n count] [-t seconds] "
	    "[-s source] [-k n] host port path [file]\n");
	exit(2);
}

static int64_t
mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* The body with every UUID_MARK replaced; returns its length. */
static size_t
make_body(const char *tmpl, size_t len, char *out, size_t outlen)
{
	const char	*p = tmpl, *end = tmpl + len, *m;
	size_t		 n = 0, k;
	char		 uuid[UUID_STR_LEN + 1];

	while (p < end) {
		m = memmem(p, end - p, UUID_MARK, strlen(UUID_MARK));
		k = (m != NULL ? m : end) - p;
		if (n + k + UUID_STR_LEN >= outlen) {
			fprintf(stderr, "fedflood: body too large\n");
			exit(2);
		}
		memcpy(out + n, p, k);
		n += k;
		p += k;
		if (m != NULL) {
			uuid_v4(uuid);
			memcpy(out + n, uuid, UUID_STR_LEN);
			n += UUID_STR_LEN;
			p += strlen(UUID_MARK);
		}
	}
	return (n);
}

/* The next source address, skipping .0 and .255. */
static uint32_t
next_source(uint32_t first, unsigned long nsrc, unsigned long *i)
{
	uint32_t	 a;

	do {
		a = first + (uint32_t)(*i % nsrc);
		(*i)++;
	} while ((a & 0xff) == 0 || (a & 0xff) == 0xff);
	return (a);
}

static void
finish(struct conn *c)
{
	int	 status = 0;
	char	*sp, *body;

	c->resp[c->resplen] = '\0';
	if (strncmp(c->resp, "HTTP/1.", 7) == 0 &&
	    (sp = strchr(c->resp, ' ')) != NULL)
		status = atoi(sp + 1);
	if (status < 0 || status >= 600)
		status = 0;
	if (status == 0)
		failed = 1;
	counts[status]++;
	if (firstbody[status] == NULL) {
		body = strstr(c->resp, "\r\n\r\n");
		body = body != NULL ? body + 4 : c->resp;
		body[strcspn(body, "\r\n")] = '\0';
		if (strlen(body) > 200)
			body[200] = '\0';
		if ((firstbody[status] = strdup(body)) == NULL)
			exit(1);
	}
	close(c->fd);
	c->fd = -1;
}

int
main(int argc, char *argv[])
{
	struct conn		*conns;
	struct pollfd		 pfd[CONNS_MAX];
	struct sockaddr_in	 dst, src;
	struct in_addr		 first;
	const char		*host, *path, *errstr;
	char			*tmpl = NULL, body[REQ_MAX];
	size_t			 tmpllen = 0, blen;
	unsigned long		 count = 0, started = 0, done = 0, nsrc = 0;
	unsigned long		 srci = 0;
	long			 seconds = 0;
	int			 ch, nconn = 4, i, n, port, active;
	int64_t			 deadline = 0, now;
	FILE			*fp;
	ssize_t			 r;

	first.s_addr = 0;
	while ((ch = getopt(argc, argv, "c:k:n:s:t:")) != -1) {
		switch (ch) {
		case 'c':
			nconn = (int)strtonum(optarg, 1, CONNS_MAX, &errstr);
			if (errstr != NULL)
				usage();
			break;
		case 'k':
			nsrc = strtonum(optarg, 1, 1 << 24, &errstr);
			if (errstr != NULL)
				usage();
			break;
		case 'n':
			count = strtonum(optarg, 1, 100000000, &errstr);
			if (errstr != NULL)
				usage();
			break;
		case 's':
			if (inet_pton(AF_INET, optarg, &first) != 1 ||
			    (ntohl(first.s_addr) >> 24) != 127)
				usage();	/* loopback only */
			break;
		case 't':
			seconds = strtonum(optarg, 1, 3600, &errstr);
			if (errstr != NULL)
				usage();
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 3 || argc > 4 || (count == 0 && seconds == 0))
		usage();
	host = argv[0];
	port = (int)strtonum(argv[1], 1, 65535, &errstr);
	if (errstr != NULL)
		usage();
	path = argv[2];
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_port = htons(port);
	if (inet_pton(AF_INET, host, &dst.sin_addr) != 1 ||
	    (ntohl(dst.sin_addr.s_addr) >> 24) != 127)
		usage();	/* loopback only */
	if (first.s_addr != 0 && nsrc == 0)
		nsrc = 1;
	if (argc == 4) {
		if ((fp = fopen(argv[3], "r")) == NULL) {
			perror(argv[3]);
			return (2);
		}
		if ((tmpl = malloc(REQ_MAX)) == NULL)
			return (2);
		tmpllen = fread(tmpl, 1, REQ_MAX - 1, fp);
		fclose(fp);
	}
	if ((conns = calloc(nconn, sizeof(*conns))) == NULL)
		return (2);
	for (i = 0; i < nconn; i++)
		conns[i].fd = -1;
	if (seconds > 0)
		deadline = mono_ms() + seconds * 1000;

	for (;;) {
		now = mono_ms();
		/* start new requests while there is budget */
		for (i = 0; i < nconn; i++) {
			struct conn	*c = &conns[i];

			if (c->fd != -1)
				continue;
			if ((count > 0 && started >= count) ||
			    (deadline > 0 && now >= deadline))
				break;
			started++;
			if ((c->fd = socket(AF_INET, SOCK_STREAM, 0)) == -1) {
				perror("socket");
				return (1);
			}
			fcntl(c->fd, F_SETFL, O_NONBLOCK);
			if (nsrc > 0) {
				memset(&src, 0, sizeof(src));
				src.sin_family = AF_INET;
				src.sin_addr.s_addr = htonl(next_source(
				    ntohl(first.s_addr), nsrc, &srci));
				if (bind(c->fd, (struct sockaddr *)&src,
				    sizeof(src)) == -1) {
					perror("bind");
					return (1);
				}
			}
			if (connect(c->fd, (struct sockaddr *)&dst,
			    sizeof(dst)) == -1 && errno != EINPROGRESS) {
				close(c->fd);
				c->fd = -1;
				counts[0]++;
				failed = 1;
				done++;
				continue;
			}
			if (tmpl != NULL) {
				blen = make_body(tmpl, tmpllen, body,
				    sizeof(body));
				n = snprintf(c->req, sizeof(c->req), "POST %s "
				    "HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: "
				    "application/json\r\nContent-Length: %zu\r\n"
				    "Connection: close\r\n\r\n", path, host,
				    port, blen);
				memcpy(c->req + n, body, blen);
				c->reqlen = n + blen;
			} else
				c->reqlen = snprintf(c->req, sizeof(c->req),
				    "GET %s HTTP/1.1\r\nHost: %s:%d\r\n"
				    "Connection: close\r\n\r\n", path, host,
				    port);
			c->sent = 0;
			c->resplen = 0;
			c->start = now;
		}
		active = 0;
		for (i = 0; i < nconn; i++) {
			pfd[i].fd = conns[i].fd;
			pfd[i].events = conns[i].sent < conns[i].reqlen ?
			    POLLOUT : POLLIN;
			pfd[i].revents = 0;
			if (conns[i].fd != -1)
				active++;
		}
		if (active == 0)
			break;
		if (poll(pfd, nconn, 100) == -1 && errno != EINTR) {
			perror("poll");
			return (1);
		}
		now = mono_ms();
		for (i = 0; i < nconn; i++) {
			struct conn	*c = &conns[i];

			if (c->fd == -1)
				continue;
			if (now - c->start > REQ_TIMEOUT_MS) {
				finish(c);
				done++;
				continue;
			}
			if (pfd[i].revents == 0)
				continue;
			if (c->sent < c->reqlen) {
				r = write(c->fd, c->req + c->sent,
				    c->reqlen - c->sent);
				if (r > 0)
					c->sent += r;
				else if (r == -1 && errno != EAGAIN) {
					finish(c);
					done++;
				}
				continue;
			}
			r = read(c->fd, c->resp + c->resplen,
			    RESP_MAX - c->resplen);
			if (r > 0) {
				c->resplen += r;
				if (c->resplen < RESP_MAX)
					continue;
			} else if (r == -1 && errno == EAGAIN)
				continue;
			finish(c);
			done++;
		}
	}
	for (i = 0; i < 600; i++)
		if (counts[i] > 0)
			printf("%d %lu\n", i, counts[i]);
	printf("total %lu\n", done);
	for (i = 0; i < 600; i++)
		if (firstbody[i] != NULL)
			printf("body %d %s\n", i, firstbody[i]);
	return (failed ? 1 : 0);
}
