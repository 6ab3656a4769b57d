/*
 * minhttp: the practical limit for the HTTP benchmark (bench/http.sh).
 * The least a libevent evhttp server can do: one socket on
 * 127.0.0.1:PORT, shared by N processes (as relayd's parent shares its
 * listener with its prefork frontends), each answering every request
 * with the same status, headers and body, read once from FILE, which
 * is an answer as `curl -si' prints it (status line, headers, empty
 * line, body).  Date, Content-Length, Connection and Transfer-Encoding
 * are left to libevent, as they are in relayd.
 *
 * usage: minhttp [-n procs] -p port file
 *
 * It prints "ready PID..." once every process listens, and runs until
 * SIGTERM, which it passes on to its children before it waits for them.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#define MAXPROCS	16
#define MAXHDRS		32

struct answer {
	int		 status;
	char		*reason;
	char		*names[MAXHDRS];
	char		*values[MAXHDRS];
	int		 nhdrs;
	char		*body;
	size_t		 bodylen;
};

static struct answer	 ans;

static void
usage(void)
{
	fprintf(stderr, "usage: minhttp [-n procs] -p port file\n");
	exit(2);
}

static void
load(const char *path)
{
	FILE	*f;
	char	*buf, *p, *eol, *v;
	long	 n;

	if ((f = fopen(path, "r")) == NULL)
		err(1, "%s", path);
	if (fseek(f, 0, SEEK_END) == -1 || (n = ftell(f)) < 0)
		err(1, "%s", path);
	rewind(f);
	if ((buf = malloc(n + 1)) == NULL)
		err(1, NULL);
	if (fread(buf, 1, n, f) != (size_t)n)
		errx(1, "%s: short read", path);
	buf[n] = '\0';
	fclose(f);

	if (strncmp(buf, "HTTP/1.", 7) != 0 || n < 12)
		errx(1, "%s: no status line", path);
	ans.status = atoi(buf + 9);
	if ((eol = strstr(buf, "\r\n")) == NULL)
		errx(1, "%s: no end of the status line", path);
	*eol = '\0';
	ans.reason = buf + 13;
	for (p = eol + 2; strncmp(p, "\r\n", 2) != 0; p = eol + 2) {
		if ((eol = strstr(p, "\r\n")) == NULL)
			errx(1, "%s: unterminated header", path);
		*eol = '\0';
		if ((v = strchr(p, ':')) == NULL)
			errx(1, "%s: bad header %s", path, p);
		*v++ = '\0';
		v += strspn(v, " \t");
		if (strcasecmp(p, "Date") == 0 ||
		    strcasecmp(p, "Content-Length") == 0 ||
		    strcasecmp(p, "Connection") == 0 ||
		    strcasecmp(p, "Transfer-Encoding") == 0)
			continue;
		if (ans.nhdrs == MAXHDRS)
			errx(1, "%s: too many headers", path);
		ans.names[ans.nhdrs] = p;
		ans.values[ans.nhdrs++] = v;
	}
	ans.body = p + 2;
	ans.bodylen = n - (ans.body - buf);
}

static void
serve(struct evhttp_request *req, void *arg)
{
	struct evkeyvalq	*out;
	struct evbuffer		*b;
	int			 i;

	out = evhttp_request_get_output_headers(req);
	for (i = 0; i < ans.nhdrs; i++)
		evhttp_add_header(out, ans.names[i], ans.values[i]);
	b = evbuffer_new();
	if (b == NULL)
		errx(1, "evbuffer_new");
	evbuffer_add_reference(b, ans.body, ans.bodylen, NULL, NULL);
	evhttp_send_reply(req, ans.status, ans.reason, b);
	evbuffer_free(b);
}

static void
on_term(evutil_socket_t sig, short ev, void *arg)
{
	event_base_loopbreak(arg);
}

static void
child(int fd)
{
	struct event_base	*base;
	struct evhttp		*http;
	struct event		*ev;

	if ((base = event_base_new()) == NULL)
		errx(1, "event_base_new");
	if ((http = evhttp_new(base)) == NULL)
		errx(1, "evhttp_new");
	evhttp_set_default_content_type(http, NULL);
	evhttp_set_gencb(http, serve, NULL);
	if (evhttp_accept_socket(http, fd) == -1)
		errx(1, "evhttp_accept_socket");
	if ((ev = evsignal_new(base, SIGTERM, on_term, base)) == NULL ||
	    evsignal_add(ev, NULL) == -1)
		errx(1, "evsignal");
	event_base_dispatch(base);
	evhttp_free(http);
	event_free(ev);
	event_base_free(base);
	exit(0);
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in	 sa;
	sigset_t		 set, old;
	pid_t			 pids[MAXPROCS];
	const char		*errstr;
	int			 ch, fd, i, nprocs = 1, port = 0, sig;
	int			 one = 1;

	while ((ch = getopt(argc, argv, "n:p:")) != -1) {
		switch (ch) {
		case 'n':
			nprocs = strtonum(optarg, 1, MAXPROCS, &errstr);
			if (errstr != NULL)
				errx(2, "-n %s: %s", optarg, errstr);
			break;
		case 'p':
			port = strtonum(optarg, 1, 65535, &errstr);
			if (errstr != NULL)
				errx(2, "-p %s: %s", optarg, errstr);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1 || port == 0)
		usage();
	load(argv[0]);

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		err(1, "socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
		err(1, "SO_REUSEADDR");
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		err(1, "bind 127.0.0.1:%d", port);
	if (listen(fd, 1024) == -1)
		err(1, "listen");
	if (evutil_make_socket_nonblocking(fd) == -1)
		errx(1, "nonblocking");

	/* SIGTERM waits for sigwait() in the parent, for libevent in each */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, &old) == -1)
		err(1, "sigprocmask");
	for (i = 0; i < nprocs; i++) {
		switch ((pids[i] = fork())) {
		case -1:
			err(1, "fork");
		case 0:
			if (sigprocmask(SIG_SETMASK, &old, NULL) == -1)
				err(1, "sigprocmask");
			child(fd);
		}
	}
	close(fd);
	printf("ready");
	for (i = 0; i < nprocs; i++)
		printf(" %ld", (long)pids[i]);
	printf("\n");
	fflush(stdout);
	if (sigwait(&set, &sig) != 0)
		errx(1, "sigwait");
	for (i = 0; i < nprocs; i++)
		kill(pids[i], SIGTERM);
	for (i = 0; i < nprocs; i++)
		while (waitpid(pids[i], NULL, 0) == -1 && errno == EINTR)
			;
	return (0);
}
