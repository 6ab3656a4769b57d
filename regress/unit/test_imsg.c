/*
 * Copyright (c) 2025 The relayd authors
 *
 * Permission to use, copy, modify, and distribute this software for any
 * purpose with or without fee is hereby granted, provided that the above
 * copyright notice and this permission notice appear in all copies.
 *
 * THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
 * WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
 * MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
 * ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
 * WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
 * ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
 * OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
 */

/*
 * imsg over real socketpairs: framing, partial reads and writes, fd
 * passing (and refusing it), size limits, malformed headers, EOF.
 */

#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"

static void
mkpair(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
}

static int
count_fds(void)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	d = opendir("/proc/self/fd");
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return (n);
}

static int
fd_is_open(int fd)
{
	return (fcntl(fd, F_GETFD) != -1);
}

static unsigned char
pattern(uint32_t msg, size_t off)
{
	return ((unsigned char)((msg * 131u + off * 7u + (off >> 8)) & 0xff));
}

static void
fill(unsigned char *p, uint32_t msg, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		p[i] = pattern(msg, i);
}

static int
check_fill(const unsigned char *p, uint32_t msg, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (p[i] != pattern(msg, i))
			return (0);
	return (1);
}

/* Raw frame on the wire, bypassing the imsg writer. */
static size_t
mkframe(unsigned char *buf, uint32_t type, uint32_t len, uint32_t peerid,
    uint32_t pid)
{
	struct imsg_hdr	 hdr;

	hdr.type = type;
	hdr.len = len;
	hdr.peerid = peerid;
	hdr.pid = pid;
	memcpy(buf, &hdr, sizeof(hdr));
	return (sizeof(hdr));
}

/* sendmsg with an optional set of descriptors, no imsg involved. */
static void
raw_send(int s, const void *buf, size_t len, const int *fds, int nfds)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * 8)];
	}		 cbuf;
	struct msghdr	 msg;
	struct cmsghdr	*cmsg;
	struct iovec	 iov;

	memset(&msg, 0, sizeof(msg));
	memset(&cbuf, 0, sizeof(cbuf));
	iov.iov_base = (void *)buf;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (nfds > 0) {
		msg.msg_control = cbuf.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
	}
	ck_assert_int_eq(sendmsg(s, &msg, 0), (ssize_t)len);
}

/* The read end of a pipe sees EOF: nobody holds a write end any more. */
static int
pipe_at_eof(int rfd)
{
	char	 c;
	int	 fl;

	fl = fcntl(rfd, F_GETFL);
	fcntl(rfd, F_SETFL, fl | O_NONBLOCK);
	return (read(rfd, &c, 1) == 0);
}

static void
setup(void)
{
	signal(SIGPIPE, SIG_IGN);
}

START_TEST(test_roundtrip)
{
	struct imsgbuf	 w, r;
	struct imsg	 imsg;
	unsigned char	*buf;
	size_t		 sizes[3000];
	uint32_t	 sent = 0, got = 0, i;
	int		 sv[2], rv, loops = 0;

	mkpair(sv);
	ck_assert_int_eq(imsgbuf_init(&w, sv[0]), 0);
	ck_assert_int_eq(imsgbuf_init(&r, sv[1]), 0);
	ck_assert_int_eq(imsgbuf_set_maxsize(&w, 65536), 0);
	ck_assert_int_eq(imsgbuf_set_maxsize(&r, 65536), 0);
	srandom(4711);
	for (i = 0; i < 3000; i++) {
		switch (random() % 8) {
		case 0:
			sizes[i] = 0;
			break;
		case 1:
			sizes[i] = 65536;
			break;
		case 2:
			sizes[i] = random() % 32;
			break;
		default:
			sizes[i] = random() % 65537;
			break;
		}
	}
	buf = malloc(65536);
	ck_assert_ptr_nonnull(buf);

	while (got < 3000) {
		ck_assert_int_lt(++loops, 1000000);
		while (sent < 3000 && imsgbuf_queuelen(&w) < 16) {
			fill(buf, sent, sizes[sent]);
			ck_assert_int_eq(imsg_compose(&w, 1000 + sent,
			    sent * 3, 77, -1, buf, sizes[sent]), 1);
			sent++;
		}
		ck_assert_int_eq(imsgbuf_write(&w), 0);
		ck_assert_int_eq(imsgbuf_read(&r), 1);
		while ((rv = imsgbuf_get(&r, &imsg)) == 1) {
			ck_assert_uint_eq(imsg_get_type(&imsg), 1000 + got);
			ck_assert_uint_eq(imsg_get_id(&imsg), got * 3);
			ck_assert_uint_eq(imsg_get_pid(&imsg), 77);
			ck_assert_uint_eq(imsg_get_len(&imsg), sizes[got]);
			ck_assert_int_eq(imsg.fd, -1);
			if (sizes[got] == 0)
				ck_assert_ptr_null(imsg.data);
			else
				ck_assert(check_fill(imsg.data, got,
				    sizes[got]));
			imsg_free(&imsg);
			got++;
		}
		ck_assert_int_eq(rv, 0);
	}
	ck_assert_uint_eq(imsgbuf_queuelen(&w), 0);
	free(buf);
	imsgbuf_clear(&w);
	imsgbuf_clear(&r);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* Frames arrive one byte at a time; nothing is delivered early. */
START_TEST(test_partial_read)
{
	struct imsgbuf	 r;
	struct imsg	 imsg;
	unsigned char	 wire[3 * 64];
	size_t		 len = 0, ends[3], i;
	int		 sv[2], k = 0, fd;

	mkpair(sv);
	ck_assert_int_eq(imsgbuf_init(&r, sv[1]), 0);
	/* fd passing on: the recvmsg path must cope as well */
	imsgbuf_allow_fdpass(&r);

	len += mkframe(wire + len, 1, 16 + 20, 5, 6);
	fill(wire + len, 1, 20);
	len += 20;
	ends[0] = len;
	len += mkframe(wire + len, 2, 16, 7, 8);
	ends[1] = len;
	len += mkframe(wire + len, 3, 16 + 40, 9, 10);
	fill(wire + len, 3, 40);
	len += 40;
	ends[2] = len;

	for (i = 0; i < len; i++) {
		ck_assert_int_eq(write(sv[0], wire + i, 1), 1);
		ck_assert_int_eq(imsgbuf_read(&r), 1);
		if (i + 1 < ends[k]) {
			ck_assert_int_eq(imsgbuf_get(&r, &imsg), 0);
			continue;
		}
		ck_assert_int_eq(imsgbuf_get(&r, &imsg), 1);
		ck_assert_uint_eq(imsg_get_type(&imsg), (uint32_t)k + 1);
		ck_assert_uint_eq(imsg.hdr.len, ends[k] -
		    (k > 0 ? ends[k - 1] : 0));
		fd = imsg_get_fd(&imsg);
		ck_assert_int_eq(fd, -1);
		if (k != 1)
			ck_assert(check_fill(imsg.data, (uint32_t)k + 1,
			    imsg_get_len(&imsg)));
		imsg_free(&imsg);
		ck_assert_int_eq(imsgbuf_get(&r, &imsg), 0);
		k++;
	}
	ck_assert_int_eq(k, 3);
	/* nothing more: would block, still 1 */
	ck_assert_int_eq(imsgbuf_read(&r), 1);
	ck_assert_int_eq(imsgbuf_get(&r, &imsg), 0);
	imsgbuf_clear(&r);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* Small socket buffers: writes stop mid-frame and resume correctly. */
START_TEST(test_partial_write)
{
	struct imsgbuf	 w, r;
	struct imsg	 imsg;
	unsigned char	*buf;
	uint32_t	 got = 0, i;
	size_t		 total;
	int		 sv[2], sz = 4096, midframe = 0, loops = 0;

	mkpair(sv);
	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz,
	    sizeof(sz)), 0);
	ck_assert_int_eq(setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz,
	    sizeof(sz)), 0);
	ck_assert_int_eq(imsgbuf_init(&w, sv[0]), 0);
	ck_assert_int_eq(imsgbuf_init(&r, sv[1]), 0);
	ck_assert_int_eq(imsgbuf_set_maxsize(&w, 60000), 0);
	ck_assert_int_eq(imsgbuf_set_maxsize(&r, 60000), 0);
	buf = malloc(60000);
	ck_assert_ptr_nonnull(buf);
	for (i = 0; i < 64; i++) {
		fill(buf, i, 60000 - i);
		ck_assert_int_eq(imsg_compose(&w, i, i, 1, -1, buf,
		    60000 - i), 1);
	}
	ck_assert_uint_eq(imsgbuf_queuelen(&w), 64);
	total = 0;
	for (i = 0; i < 64; i++)
		total += IMSG_HEADER_SIZE + 60000 - i;
	ck_assert_uint_eq(imsgbuf_queuebytes(&w), total);

	ck_assert_int_eq(imsgbuf_write(&w), 0);
	ck_assert_uint_gt(imsgbuf_queuelen(&w), 0);
	ck_assert_uint_eq(imsgbuf_queuelen(&w), 64);	/* not even one */
	ck_assert_uint_gt(TAILQ_FIRST(&w.wq)->wpos, 0);
	/* the bytes count drops mid-frame */
	ck_assert_uint_eq(imsgbuf_queuebytes(&w), total -
	    TAILQ_FIRST(&w.wq)->wpos);

	while (got < 64) {
		ck_assert_int_lt(++loops, 1000000);
		if (imsgbuf_queuelen(&w) > 0) {
			ck_assert_int_eq(imsgbuf_write(&w), 0);
			if (TAILQ_FIRST(&w.wq) != NULL &&
			    TAILQ_FIRST(&w.wq)->wpos > 0)
				midframe++;
		}
		ck_assert_int_eq(imsgbuf_read(&r), 1);
		while (imsgbuf_get(&r, &imsg) == 1) {
			ck_assert_uint_eq(imsg_get_type(&imsg), got);
			ck_assert_uint_eq(imsg_get_len(&imsg), 60000 - got);
			ck_assert(check_fill(imsg.data, got, 60000 - got));
			imsg_free(&imsg);
			got++;
		}
	}
	ck_assert_int_gt(midframe, 10);
	ck_assert_uint_eq(imsgbuf_queuelen(&w), 0);
	ck_assert_uint_eq(imsgbuf_queuebytes(&w), 0);
	free(buf);
	imsgbuf_clear(&w);
	imsgbuf_clear(&r);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_fdpass)
{
	struct imsgbuf	 w, r;
	struct imsg	 imsg;
	char		 buf[16];
	int		 sv[2], p[2], fd;

	mkpair(sv);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(imsgbuf_init(&w, sv[0]), 0);
	ck_assert_int_eq(imsgbuf_init(&r, sv[1]), 0);
	imsgbuf_allow_fdpass(&w);
	imsgbuf_allow_fdpass(&r);

	ck_assert_int_eq(imsg_compose(&w, 42, 1, 0, p[1], "pipe", 4), 1);
	ck_assert(fd_is_open(p[1]));		/* queued, not sent */
	ck_assert_int_eq(imsgbuf_write(&w), 0);
	ck_assert(!fd_is_open(p[1]));		/* closed after sending */

	ck_assert_int_eq(imsgbuf_read(&r), 1);
	ck_assert_int_eq(imsgbuf_get(&r, &imsg), 1);
	ck_assert_uint_eq(imsg_get_type(&imsg), 42);
	ck_assert_uint_eq(imsg.hdr.len, 20);	/* no fd mark */
	ck_assert_uint_eq(imsg_get_pid(&imsg), (uint32_t)getpid());
	fd = imsg_get_fd(&imsg);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(imsg_get_fd(&imsg), -1);	/* only once */
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	imsg_free(&imsg);
	ck_assert(fd_is_open(fd));		/* handed over: ours */

	ck_assert_int_eq(write(fd, "hello", 5), 5);
	ck_assert_int_eq(read(p[0], buf, sizeof(buf)), 5);
	ck_assert_int_eq(memcmp(buf, "hello", 5), 0);
	close(fd);
	ck_assert(pipe_at_eof(p[0]));
	close(p[0]);
	imsgbuf_clear(&w);
	imsgbuf_clear(&r);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* Several fd-carrying messages in a row, mixed with plain ones. */
START_TEST(test_fdpass_many)
{
	struct imsgbuf	 w, r;
	struct imsg	 imsg;
	int		 sv[2], p[12][2], i, n = 0, fd, idx, before;
	unsigned char	 c;

	before = count_fds();
	mkpair(sv);
	ck_assert_int_eq(imsgbuf_init(&w, sv[0]), 0);
	ck_assert_int_eq(imsgbuf_init(&r, sv[1]), 0);
	imsgbuf_allow_fdpass(&w);
	imsgbuf_allow_fdpass(&r);
	for (i = 0; i < 12; i++) {
		ck_assert_int_eq(pipe(p[i]), 0);
		if (i % 3 == 1)
			ck_assert_int_eq(imsg_compose(&w, 2, i, 0, -1, &i,
			    sizeof(i)), 1);
		ck_assert_int_eq(imsg_compose(&w, 1, i, 0, p[i][1], &i,
		    sizeof(i)), 1);
	}
	ck_assert_int_eq(imsgbuf_flush(&w), 0);
	for (i = 0; i < 12; i++)
		ck_assert(!fd_is_open(p[i][1]));

	while (n < 16) {
		ck_assert_int_eq(imsgbuf_read(&r), 1);
		while (imsgbuf_get(&r, &imsg) == 1) {
			n++;
			ck_assert_int_eq(imsg_get_data(&imsg, &idx,
			    sizeof(idx)), 0);
			ck_assert_uint_eq(imsg_get_id(&imsg), (uint32_t)idx);
			fd = imsg_get_fd(&imsg);
			if (imsg_get_type(&imsg) == 2) {
				ck_assert_int_eq(fd, -1);
			} else {
				ck_assert_int_ne(fd, -1);
				c = (unsigned char)idx;
				ck_assert_int_eq(write(fd, &c, 1), 1);
				close(fd);
			}
			imsg_free(&imsg);
		}
	}
	for (i = 0; i < 12; i++) {
		ck_assert_int_eq(read(p[i][0], &c, 1), 1);
		ck_assert_int_eq(c, i);
		ck_assert(pipe_at_eof(p[i][0]));
		close(p[i][0]);
	}
	imsgbuf_clear(&w);
	imsgbuf_clear(&r);
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

/* The marked header is split: its fd arrives before the header is in. */
START_TEST(test_fdpass_split_header)
{
	struct imsgbuf	 r;
	struct imsg	 imsg;
	unsigned char	 wire[64];
	size_t		 len;
	int		 sv[2], p[2], fd;

	mkpair(sv);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(imsgbuf_init(&r, sv[1]), 0);
	imsgbuf_allow_fdpass(&r);

	len = mkframe(wire, 9, (16 + 4) | IMSG_FD_MARK, 1, 2);
	memcpy(wire + len, "abcd", 4);
	len += 4;
	raw_send(sv[0], wire, 7, &p[1], 1);
	close(p[1]);
	ck_assert_int_eq(imsgbuf_read(&r), 1);
	ck_assert_int_eq(imsgbuf_get(&r, &imsg), 0);
	raw_send(sv[0], wire + 7, 5, NULL, 0);
	ck_assert_int_eq(imsgbuf_read(&r), 1);
	ck_assert_int_eq(imsgbuf_get(&r, &imsg), 0);
	raw_send(sv[0], wire + 12, len - 12, NULL, 0);
	ck_assert_int_eq(imsgbuf_read(&r), 1);
	ck_assert_int_eq(imsgbuf_get(&r, &imsg), 1);
	ck_assert_uint_eq(imsg.hdr.len, 20);
	fd = imsg_get_fd(&imsg);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, "z", 1), 1);
	close(fd);
	imsg_free(&imsg);
	ck_assert_int_eq(read(p[0], wire, 1), 1);
	ck_assert(pipe_at_eof(p[0]));
	close(p[0]);
	imsgbuf_clear(&r);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* The receiver did not allow fd passing: the fd never arrives. */
START_TEST(test_fdpass_refused)
{
	struct imsgbuf	 w, r;
	struct imsg	 imsg;
	int		 sv[2], p[2], before, during;

	before = count_fds();
	mkpair(sv);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(imsgbuf_init(&w, sv[0]), 0);
	ck_assert_int_eq(imsgbuf_init(&r, sv[1]), 0);
	imsgbuf_allow_fdpass(&w);

	ck_assert_int_eq(imsg_compose(&w, 5, 0, 0, p[1], "x", 1), 1);
	ck_assert_int_eq(imsg_compose(&w, 6, 0, 0, -1, "y", 1), 1);
	ck_assert_int_eq(imsgbuf_write(&w), 0);
	ck_assert(!fd_is_open(p[1]));
	during = count_fds();
	ck_assert_int_eq(imsgbuf_read(&r), 1);
	ck_assert_int_eq(imsgbuf_get(&r, &imsg), 1);
	ck_assert_uint_eq(imsg_get_type(&imsg), 5);
	ck_assert_int_eq(imsg.fd, -1);
	imsg_free(&imsg);
	ck_assert_int_eq(imsgbuf_get(&r, &imsg), 1);
	ck_assert_uint_eq(imsg_get_type(&imsg), 6);
	imsg_free(&imsg);
	ck_assert_int_eq(count_fds(), during);
	/* the kernel dropped the in-flight write end */
	ck_assert(pipe_at_eof(p[0]));
	close(p[0]);
	imsgbuf_clear(&w);
	imsgbuf_clear(&r);
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

/* Descriptors nobody announced, extra ones, and a mark without a fd. */
START_TEST(test_fdpass_unexpected)
{
	struct imsgbuf	 r;
	struct imsg	 imsg;
	unsigned char	 wire[64];
	size_t		 len;
	int		 sv[2], p[3][2], fds[3], i, before, fd;

	before = count_fds();
	mkpair(sv);
	ck_assert_int_eq(imsgbuf_init(&r, sv[1]), 0);
	imsgbuf_allow_fdpass(&r);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(pipe(p[i]), 0);
		fds[i] = p[i][1];
	}

	/* unmarked message with a descriptor: closed by the receiver */
	len = mkframe(wire, 1, 16, 0, 0);
	raw_send(sv[0], wire, len, &fds[0], 1);
	/* marked message without a descriptor */
	len = mkframe(wire, 2, 16 | IMSG_FD_MARK, 0, 0);
	raw_send(sv[0], wire, len, NULL, 0);
	/* marked message with two descriptors: the second is closed */
	len = mkframe(wire, 3, 16 | IMSG_FD_MARK, 0, 0);
	raw_send(sv[0], wire, len, &fds[1], 2);
	for (i = 0; i < 3; i++)
		close(p[i][1]);

	for (i = 1; i <= 3; i++) {
		ck_assert_int_eq(imsgbuf_read(&r), 1);
		ck_assert_int_eq(imsgbuf_get(&r, &imsg), 1);
		ck_assert_uint_eq(imsg_get_type(&imsg), (uint32_t)i);
		fd = imsg_get_fd(&imsg);
		if (i == 3) {
			ck_assert_int_ne(fd, -1);
			ck_assert_int_eq(write(fd, "k", 1), 1);
			close(fd);
		} else
			ck_assert_int_eq(fd, -1);
		imsg_free(&imsg);
	}
	ck_assert(pipe_at_eof(p[0][0]));
	ck_assert_int_eq(read(p[1][0], wire, 1), 1);
	ck_assert(pipe_at_eof(p[1][0]));
	ck_assert(pipe_at_eof(p[2][0]));
	for (i = 0; i < 3; i++)
		close(p[i][0]);
	imsgbuf_clear(&r);
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

START_TEST(test_compose_erange)
{
	struct imsgbuf	 w;
	struct iovec	 iov[2];
	unsigned char	*buf;
	int		 sv[2], p[2];

	mkpair(sv);
	ck_assert_int_eq(imsgbuf_init(&w, sv[0]), 0);
	imsgbuf_allow_fdpass(&w);
	buf = calloc(1, IMSG_MAXSIZE_LIMIT + 1);
	ck_assert_ptr_nonnull(buf);

	/* default: MAX_IMSGSIZE in total, header included */
	ck_assert_int_eq(imsg_compose(&w, 1, 0, 0, -1, buf,
	    MAX_IMSGSIZE - IMSG_HEADER_SIZE), 1);
	errno = 0;
	ck_assert_int_eq(imsg_compose(&w, 1, 0, 0, -1, buf,
	    MAX_IMSGSIZE - IMSG_HEADER_SIZE + 1), -1);
	ck_assert_int_eq(errno, ERANGE);
	ck_assert_uint_eq(imsgbuf_queuelen(&w), 1);

	/* failure closes the descriptor handed over */
	ck_assert_int_eq(pipe(p), 0);
	errno = 0;
	ck_assert_int_eq(imsg_compose(&w, 1, 0, 0, p[1], buf,
	    MAX_IMSGSIZE), -1);
	ck_assert_int_eq(errno, ERANGE);
	ck_assert(!fd_is_open(p[1]));
	ck_assert(pipe_at_eof(p[0]));
	close(p[0]);

	/* composev adds up the pieces */
	iov[0].iov_base = buf;
	iov[0].iov_len = 10000;
	iov[1].iov_base = buf;
	iov[1].iov_len = 10000;
	errno = 0;
	ck_assert_int_eq(imsg_composev(&w, 1, 0, 0, -1, iov, 2), -1);
	ck_assert_int_eq(errno, ERANGE);

	/* the limit is on the payload, up to IMSG_MAXSIZE_LIMIT */
	errno = 0;
	ck_assert_int_eq(imsgbuf_set_maxsize(&w, IMSG_MAXSIZE_LIMIT + 1), -1);
	ck_assert_int_eq(errno, ERANGE);
	ck_assert_int_eq(imsgbuf_set_maxsize(&w, IMSG_MAXSIZE_LIMIT), 0);
	ck_assert_int_eq(imsg_compose(&w, 1, 0, 0, -1, buf,
	    IMSG_MAXSIZE_LIMIT), 1);
	ck_assert_int_eq(imsg_compose(&w, 1, 0, 0, -1, buf,
	    IMSG_MAXSIZE_LIMIT + 1), -1);
	ck_assert_int_eq(imsgbuf_set_maxsize(&w, 0), 0);
	ck_assert_int_eq(imsg_compose(&w, 1, 0, 0, -1, NULL, 0), 1);
	ck_assert_int_eq(imsg_compose(&w, 1, 0, 0, -1, buf, 1), -1);
	ck_assert_uint_eq(imsgbuf_queuelen(&w), 3);

	/* a descriptor on a channel without fd passing is refused */
	imsgbuf_clear(&w);
	ck_assert_int_eq(imsgbuf_init(&w, sv[0]), 0);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(imsg_compose(&w, 1, 0, 0, p[1], NULL, 0), -1);
	ck_assert(!fd_is_open(p[1]));
	close(p[0]);

	free(buf);
	imsgbuf_clear(&w);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

static void
bad_header(uint32_t len, uint32_t maxpayload)
{
	struct imsgbuf	 r;
	struct imsg	 imsg;
	unsigned char	 wire[64];
	size_t		 n;
	int		 sv[2];

	mkpair(sv);
	ck_assert_int_eq(imsgbuf_init(&r, sv[1]), 0);
	ck_assert_int_eq(imsgbuf_set_maxsize(&r, maxpayload), 0);
	/* one good message, then the bad header */
	n = mkframe(wire, 1, 20, 0, 0);
	memcpy(wire + n, "good", 4);
	n += 4;
	n += mkframe(wire + n, 2, len, 0, 0);
	ck_assert_int_eq(write(sv[0], wire, n), (ssize_t)n);
	errno = 0;
	ck_assert_int_eq(imsgbuf_read(&r), -1);
	ck_assert_int_eq(errno, ERANGE);
	/* what came before is intact; nothing after it is delivered */
	ck_assert_int_eq(imsgbuf_get(&r, &imsg), 1);
	ck_assert_uint_eq(imsg_get_type(&imsg), 1);
	imsg_free(&imsg);
	ck_assert_int_eq(imsgbuf_get(&r, &imsg), 0);
	errno = 0;
	ck_assert_int_eq(imsgbuf_read(&r), -1);
	ck_assert_int_eq(errno, ERANGE);
	imsgbuf_clear(&r);
	close(sv[0]);
	close(sv[1]);
}

START_TEST(test_bad_header)
{
	bad_header(0, 100);
	bad_header(15, 100);
	bad_header(15 | IMSG_FD_MARK, 100);
	bad_header(16 + 101, 100);
	bad_header(0x7fffffff, 100);
	bad_header(IMSG_MAXSIZE_LIMIT + 17, IMSG_MAXSIZE_LIMIT);
}
END_TEST

/* A frame cut short by EOF: read says 0, nothing is delivered. */
START_TEST(test_truncated_eof)
{
	struct imsgbuf	 r;
	struct imsg	 imsg;
	unsigned char	 wire[256];
	size_t		 n;
	int		 sv[2], rv, loops = 0;

	mkpair(sv);
	ck_assert_int_eq(imsgbuf_init(&r, sv[1]), 0);
	n = mkframe(wire, 1, 100, 0, 0);
	memset(wire + n, 'a', 50);
	n += 50;
	ck_assert_int_eq(write(sv[0], wire, n), (ssize_t)n);
	close(sv[0]);
	while ((rv = imsgbuf_read(&r)) == 1) {
		ck_assert_int_lt(++loops, 10);
		ck_assert_int_eq(imsgbuf_get(&r, &imsg), 0);
	}
	ck_assert_int_eq(rv, 0);
	ck_assert_int_eq(imsgbuf_get(&r, &imsg), 0);
	imsgbuf_clear(&r);
	close(sv[1]);

	/* plain EOF on an idle channel */
	mkpair(sv);
	ck_assert_int_eq(imsgbuf_init(&r, sv[1]), 0);
	imsgbuf_allow_fdpass(&r);
	close(sv[0]);
	ck_assert_int_eq(imsgbuf_read(&r), 0);
	imsgbuf_clear(&r);
	close(sv[1]);
}
END_TEST

START_TEST(test_get_data)
{
	struct imsgbuf	 w, r;
	struct imsg	 imsg;
	uint64_t	 v = 0x0102030405060708ULL, out = 0;
	uint32_t	 small;
	unsigned char	 big[12];
	int		 sv[2];

	mkpair(sv);
	ck_assert_int_eq(imsgbuf_init(&w, sv[0]), 0);
	ck_assert_int_eq(imsgbuf_init(&r, sv[1]), 0);
	ck_assert_int_eq(imsg_compose(&w, 3, 0, 0, -1, &v, sizeof(v)), 1);
	ck_assert_int_eq(imsg_compose(&w, 4, 0, 0, -1, NULL, 0), 1);
	ck_assert_int_eq(imsgbuf_flush(&w), 0);
	ck_assert_int_eq(imsgbuf_read(&r), 1);

	ck_assert_int_eq(imsgbuf_get(&r, &imsg), 1);
	ck_assert_uint_eq(imsg_get_len(&imsg), 8);
	errno = 0;
	ck_assert_int_eq(imsg_get_data(&imsg, &small, sizeof(small)), -1);
	ck_assert_int_eq(errno, EBADMSG);
	errno = 0;
	ck_assert_int_eq(imsg_get_data(&imsg, big, sizeof(big)), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_int_eq(imsg_get_data(&imsg, NULL, 0), -1);
	ck_assert_int_eq(imsg_get_data(&imsg, &out, sizeof(out)), 0);
	ck_assert(out == v);
	imsg_free(&imsg);

	ck_assert_int_eq(imsgbuf_get(&r, &imsg), 1);
	ck_assert_uint_eq(imsg_get_len(&imsg), 0);
	ck_assert_ptr_null(imsg.data);
	errno = 0;
	ck_assert_int_eq(imsg_get_data(&imsg, &out, sizeof(out)), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_int_eq(imsg_get_data(&imsg, NULL, 0), 0);
	imsg_free(&imsg);
	imsgbuf_clear(&w);
	imsgbuf_clear(&r);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_forward)
{
	struct imsgbuf	 a, b, c, d;
	struct imsg	 imsg, fwd;
	int		 s1[2], s2[2], p[2], before;

	before = count_fds();
	mkpair(s1);
	mkpair(s2);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(imsgbuf_init(&a, s1[0]), 0);
	ck_assert_int_eq(imsgbuf_init(&b, s1[1]), 0);
	ck_assert_int_eq(imsgbuf_init(&c, s2[0]), 0);
	ck_assert_int_eq(imsgbuf_init(&d, s2[1]), 0);
	imsgbuf_allow_fdpass(&a);
	imsgbuf_allow_fdpass(&b);
	imsgbuf_allow_fdpass(&c);
	imsgbuf_allow_fdpass(&d);

	ck_assert_int_eq(imsg_compose(&a, 77, 1234, 4242, p[1], "payload",
	    7), 1);
	ck_assert_int_eq(imsg_compose(&a, 78, 5, 4243, -1, NULL, 0), 1);
	ck_assert_int_eq(imsgbuf_flush(&a), 0);
	ck_assert_int_eq(imsgbuf_read(&b), 1);
	while (imsgbuf_get(&b, &imsg) == 1) {
		ck_assert_int_eq(imsg_forward(&c, &imsg), 1);
		imsg_free(&imsg);
	}
	ck_assert_uint_eq(imsgbuf_queuelen(&c), 2);
	ck_assert_int_eq(imsgbuf_flush(&c), 0);
	/* the only other write end was closed by imsg_free */
	ck_assert(pipe_at_eof(p[0]));

	ck_assert_int_eq(imsgbuf_read(&d), 1);
	ck_assert_int_eq(imsgbuf_get(&d, &fwd), 1);
	ck_assert_uint_eq(imsg_get_type(&fwd), 77);
	ck_assert_uint_eq(imsg_get_id(&fwd), 1234);
	ck_assert_uint_eq(imsg_get_pid(&fwd), 4242);
	ck_assert_uint_eq(fwd.hdr.len, 16 + 7);
	ck_assert_int_eq(fwd.fd, -1);
	ck_assert_int_eq(memcmp(fwd.data, "payload", 7), 0);
	imsg_free(&fwd);
	ck_assert_int_eq(imsgbuf_get(&d, &fwd), 1);
	ck_assert_uint_eq(imsg_get_type(&fwd), 78);
	ck_assert_uint_eq(imsg_get_pid(&fwd), 4243);
	ck_assert_uint_eq(imsg_get_len(&fwd), 0);
	imsg_free(&fwd);

	close(p[0]);
	imsgbuf_clear(&a);
	imsgbuf_clear(&b);
	imsgbuf_clear(&c);
	imsgbuf_clear(&d);
	close(s1[0]);
	close(s1[1]);
	close(s2[0]);
	close(s2[1]);
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

START_TEST(test_queuelen_clear)
{
	struct imsgbuf	 w, r;
	int		 sv[2], p[2], q[2], before;

	before = count_fds();
	mkpair(sv);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(pipe(q), 0);
	ck_assert_int_eq(imsgbuf_init(&w, sv[0]), 0);
	ck_assert_int_eq(imsgbuf_init(&r, sv[1]), 0);
	imsgbuf_allow_fdpass(&w);
	imsgbuf_allow_fdpass(&r);
	ck_assert_uint_eq(imsgbuf_queuelen(&w), 0);
	ck_assert_int_eq(imsg_compose(&w, 1, 0, 0, -1, "a", 1), 1);
	ck_assert_int_eq(imsg_compose(&w, 2, 0, 0, q[1], "b", 1), 1);
	ck_assert_int_eq(imsg_compose(&w, 3, 0, 0, -1, NULL, 0), 1);
	ck_assert_uint_eq(imsgbuf_queuelen(&w), 3);
	ck_assert_int_eq(imsgbuf_write(&w), 0);
	ck_assert_uint_eq(imsgbuf_queuelen(&w), 0);

	/* received but never fetched: clear closes it */
	ck_assert_int_eq(imsgbuf_read(&r), 1);
	ck_assert_int_eq(imsgbuf_read(&r), 1);
	imsgbuf_clear(&r);
	ck_assert(pipe_at_eof(q[0]));

	/* queued but never sent: clear closes it */
	ck_assert_int_eq(imsg_compose(&w, 4, 0, 0, p[1], "c", 1), 1);
	ck_assert_int_eq(imsg_compose(&w, 5, 0, 0, -1, "d", 1), 1);
	ck_assert_uint_eq(imsgbuf_queuelen(&w), 2);
	ck_assert_uint_eq(imsgbuf_queuebytes(&w), 2 * (IMSG_HEADER_SIZE + 1));
	imsgbuf_clear(&w);
	ck_assert_uint_eq(imsgbuf_queuelen(&w), 0);
	ck_assert_uint_eq(imsgbuf_queuebytes(&w), 0);
	ck_assert(pipe_at_eof(p[0]));
	close(p[0]);
	close(q[0]);
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

/* The largest frame allowed passes; the buffer grows and shrinks back. */
START_TEST(test_maxsize_limit)
{
	struct imsgbuf	 w, r;
	struct imsg	 imsg;
	unsigned char	*buf;
	size_t		 maxrsize = 0;
	int		 sv[2], got = 0, loops = 0;

	mkpair(sv);
	ck_assert_int_eq(imsgbuf_init(&w, sv[0]), 0);
	ck_assert_int_eq(imsgbuf_init(&r, sv[1]), 0);
	imsgbuf_allow_fdpass(&r);
	ck_assert_int_eq(imsgbuf_set_maxsize(&w, IMSG_MAXSIZE_LIMIT), 0);
	ck_assert_int_eq(imsgbuf_set_maxsize(&r, IMSG_MAXSIZE_LIMIT), 0);
	buf = malloc(IMSG_MAXSIZE_LIMIT);
	ck_assert_ptr_nonnull(buf);
	fill(buf, 9, IMSG_MAXSIZE_LIMIT);
	ck_assert_int_eq(imsg_compose(&w, 9, 0, 0, -1, buf,
	    IMSG_MAXSIZE_LIMIT), 1);
	ck_assert_int_eq(imsg_compose(&w, 10, 0, 0, -1, "tail", 4), 1);
	while (got < 2) {
		ck_assert_int_lt(++loops, 100000);
		ck_assert_int_eq(imsgbuf_write(&w), 0);
		ck_assert_int_eq(imsgbuf_read(&r), 1);
		if (r.rsize > maxrsize)
			maxrsize = r.rsize;
		while (imsgbuf_get(&r, &imsg) == 1) {
			if (got == 0) {
				ck_assert_uint_eq(imsg_get_type(&imsg), 9);
				ck_assert_uint_eq(imsg_get_len(&imsg),
				    IMSG_MAXSIZE_LIMIT);
				ck_assert(check_fill(imsg.data, 9,
				    IMSG_MAXSIZE_LIMIT));
			} else
				ck_assert_uint_eq(imsg_get_type(&imsg), 10);
			imsg_free(&imsg);
			got++;
		}
	}
	ck_assert_uint_ge(maxrsize, IMSG_MAXSIZE_LIMIT + IMSG_HEADER_SIZE);
	ck_assert_int_eq(imsg_compose(&w, 11, 0, 0, -1, "x", 1), 1);
	ck_assert_int_eq(imsgbuf_flush(&w), 0);
	ck_assert_int_eq(imsgbuf_read(&r), 1);
	ck_assert_uint_eq(r.rsize, IBUF_READ_SIZE);
	ck_assert_int_eq(imsgbuf_get(&r, &imsg), 1);
	ck_assert_uint_eq(imsg_get_type(&imsg), 11);
	imsg_free(&imsg);
	free(buf);
	imsgbuf_clear(&w);
	imsgbuf_clear(&r);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* imsgbuf_flush blocks in poll until a slow reader has taken it all. */
START_TEST(test_flush)
{
	struct imsgbuf	 w, r;
	struct imsg	 imsg;
	unsigned char	*buf;
	pid_t		 pid;
	int		 sv[2], sz = 4096, status, i, got;

	mkpair(sv);
	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz,
	    sizeof(sz)), 0);
	buf = malloc(32768);
	ck_assert_ptr_nonnull(buf);

	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		close(sv[0]);
		if (imsgbuf_init(&r, sv[1]) == -1 ||
		    imsgbuf_set_maxsize(&r, 32768) == -1)
			_exit(2);
		got = 0;
		while (got < 40) {
			usleep(2000);
			if (imsgbuf_read(&r) != 1)
				_exit(3);
			while (imsgbuf_get(&r, &imsg) == 1) {
				if (imsg_get_len(&imsg) != 32768 ||
				    imsg_get_type(&imsg) != (uint32_t)got ||
				    !check_fill(imsg.data, got, 32768))
					_exit(4);
				imsg_free(&imsg);
				got++;
			}
		}
		_exit(0);
	}
	close(sv[1]);
	ck_assert_int_eq(imsgbuf_init(&w, sv[0]), 0);
	ck_assert_int_eq(imsgbuf_set_maxsize(&w, 32768), 0);
	for (i = 0; i < 40; i++) {
		fill(buf, i, 32768);
		ck_assert_int_eq(imsg_compose(&w, i, 0, 0, -1, buf, 32768),
		    1);
	}
	ck_assert_int_eq(imsgbuf_flush(&w), 0);
	ck_assert_uint_eq(imsgbuf_queuelen(&w), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);

	/* the reader is gone now: writing fails instead of blocking */
	ck_assert_int_eq(imsg_compose(&w, 1, 0, 0, -1, buf, 10), 1);
	ck_assert_int_eq(imsgbuf_flush(&w), -1);
	ck_assert_int_eq(errno, EPIPE);
	free(buf);
	imsgbuf_clear(&w);
	close(sv[0]);
}
END_TEST

START_TEST(test_composev_pid)
{
	struct imsgbuf	 w, r;
	struct imsg	 imsg;
	struct iovec	 iov[3];
	int		 sv[2];

	mkpair(sv);
	ck_assert_int_eq(imsgbuf_init(&w, sv[0]), 0);
	ck_assert_int_eq(imsgbuf_init(&r, sv[1]), 0);
	iov[0].iov_base = "abc";
	iov[0].iov_len = 3;
	iov[1].iov_base = NULL;
	iov[1].iov_len = 0;
	iov[2].iov_base = "defg";
	iov[2].iov_len = 4;
	ck_assert_int_eq(imsg_composev(&w, 8, 9, 0, -1, iov, 3), 1);
	ck_assert_int_eq(imsgbuf_write(&w), 0);
	ck_assert_int_eq(imsgbuf_read(&r), 1);
	ck_assert_int_eq(imsgbuf_get(&r, &imsg), 1);
	ck_assert_uint_eq(imsg_get_pid(&imsg), (uint32_t)getpid());
	ck_assert_uint_eq(imsg_get_len(&imsg), 7);
	ck_assert_int_eq(memcmp(imsg.data, "abcdefg", 7), 0);
	imsg_free(&imsg);
	imsgbuf_clear(&w);
	imsgbuf_clear(&r);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

static Suite *
imsg_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("imsg");
	tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_partial_read);
	tcase_add_test(tc, test_partial_write);
	tcase_add_test(tc, test_fdpass);
	tcase_add_test(tc, test_fdpass_many);
	tcase_add_test(tc, test_fdpass_split_header);
	tcase_add_test(tc, test_fdpass_refused);
	tcase_add_test(tc, test_fdpass_unexpected);
	tcase_add_test(tc, test_compose_erange);
	tcase_add_test(tc, test_bad_header);
	tcase_add_test(tc, test_truncated_eof);
	tcase_add_test(tc, test_get_data);
	tcase_add_test(tc, test_forward);
	tcase_add_test(tc, test_queuelen_clear);
	tcase_add_test(tc, test_maxsize_limit);
	tcase_add_test(tc, test_flush);
	tcase_add_test(tc, test_composev_pid);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(imsg_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
