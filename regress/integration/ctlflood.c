/*
 * ctlflood: misbehaving relayctl(8) clients for the control socket tests.
 *
 *	ctlflood hold SOCKET N SECONDS
 *		open N connections and send nothing; print "held N", then
 *		one line "closed I MS" each time relayd closes one (I its
 *		index, MS since the start), until all are closed or SECONDS
 *		pass; last line "closed K of N"
 *	ctlflood flood SOCKET N SECONDS
 *		send N `show peers' requests at once and never read the
 *		answers; print "sent N", then "dropped MS" when relayd
 *		closes the connection, or "kept" after SECONDS
 *
 * A connection relayd turned away at once (too many clients) counts as
 * closed at once.  Exit status 0 unless something failed locally.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <err.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "imsg.h"
#include "relayd_imsg.h"

#define HOLD_MAX	256

static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static int
dial(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		errx(1, "socket path too long");
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		err(1, "socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		err(1, "connect %s", path);
	return (fd);
}

static long
num(const char *s, long lo, long hi)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		errx(2, "bad number %s", s);
	return (v);
}

/*
 * Closed by relayd: POLLHUP.  We never read, so the answers queued for
 * us stay in the socket and keep POLLIN set; only the hang-up counts.
 */
static void
hold(const char *path, int n, int secs)
{
	struct pollfd	 pfd[HOLD_MAX];
	int64_t		 start = now_ms(), left;
	int		 i, open = n, rv;

	for (i = 0; i < n; i++) {
		pfd[i].fd = dial(path);
		pfd[i].events = POLLRDHUP;
	}
	printf("held %d\n", n);
	fflush(stdout);
	while (open > 0 && (left = start + secs * 1000 - now_ms()) > 0) {
		if ((rv = poll(pfd, n, (int)left)) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "poll");
		}
		for (i = 0; i < n && rv > 0; i++) {
			if (pfd[i].fd == -1 || !(pfd[i].revents &
			    (POLLHUP | POLLRDHUP | POLLERR)))
				continue;
			printf("closed %d %lld\n", i,
			    (long long)(now_ms() - start));
			fflush(stdout);
			close(pfd[i].fd);
			pfd[i].fd = -1;
			open--;
		}
	}
	printf("closed %d of %d\n", n - open, n);
	for (i = 0; i < n; i++)
		if (pfd[i].fd != -1)
			close(pfd[i].fd);
}

static void
flood(const char *path, int n, int secs)
{
	struct imsgbuf	 ibuf;
	struct pollfd	 pfd;
	int64_t		 start, left;
	int		 i, rv;

	pfd.fd = dial(path);
	pfd.events = POLLRDHUP;
	if (imsgbuf_init(&ibuf, pfd.fd) == -1)
		err(1, "imsgbuf_init");
	for (i = 0; i < n; i++)
		if (imsg_compose(&ibuf, IMSG_CTL_SHOW_PEERS, 0, 0, -1, NULL,
		    0) == -1)
			err(1, "imsg_compose");
	/* all at once: relayd reads them in one go (64 KB) */
	if (imsgbuf_flush(&ibuf) == -1)
		err(1, "write");
	printf("sent %d\n", n);
	fflush(stdout);
	start = now_ms();
	while ((left = start + secs * 1000 - now_ms()) > 0) {
		if ((rv = poll(&pfd, 1, (int)left)) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "poll");
		}
		if (rv > 0 && (pfd.revents & (POLLHUP | POLLRDHUP |
		    POLLERR))) {
			printf("dropped %lld\n",
			    (long long)(now_ms() - start));
			imsgbuf_clear(&ibuf);
			close(pfd.fd);
			return;
		}
	}
	printf("kept\n");
	imsgbuf_clear(&ibuf);
	close(pfd.fd);
}

int
main(int argc, char *argv[])
{
	int	n, secs;

	if (argc != 5)
		errx(2, "usage: ctlflood hold|flood SOCKET N SECONDS");
	signal(SIGPIPE, SIG_IGN);
	n = (int)num(argv[3], 1, strcmp(argv[1], "hold") == 0 ? HOLD_MAX :
	    100000);
	secs = (int)num(argv[4], 1, 600);
	if (strcmp(argv[1], "hold") == 0)
		hold(argv[2], n, secs);
	else if (strcmp(argv[1], "flood") == 0)
		flood(argv[2], n, secs);
	else
		errx(2, "unknown mode %s", argv[1]);
	return (0);
}
