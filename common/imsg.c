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
 * Clean-room imsg, written from the semantics in
 * privsep-style-anchors.md section 2 and the contract in imsg.h.
 *
 * Write side: every composed message is one struct ibuf (header and payload
 * in a single allocation) on a FIFO.  imsgbuf_write() sends as much of the
 * queue as the socket takes, batching messages into one writev/sendmsg.  A
 * message that carries a descriptor always starts a new batch, so the
 * descriptor is attached to the first byte of that message; after a send
 * that moved at least one byte the descriptor is closed here.
 *
 * Read side: bytes accumulate in rbuf.  rpos is where the first message not
 * yet handed out starts, rnext where the next header not yet validated
 * starts (it may lie beyond rlen while a frame is incomplete).  Every header
 * is checked as soon as its 16 bytes are in, so imsgbuf_read() reports a bad
 * length at once.  A received descriptor belongs to the marked message that
 * starts within the bytes the same recvmsg() returned (see imsgbuf_parse);
 * a descriptor without such a message is closed.  Every marked message
 * pushes exactly one rfds entry (fd or -1), in stream order, so
 * imsgbuf_get() simply takes the head for each marked message.
 *
 * Payloads may carry secrets (keyd's key passphrase travels over imsg), so
 * consumed buffer space is wiped before it is reused or freed.
 */

#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"

#define IMSG_IOV_BATCH	64	/* messages per writev/sendmsg */
#define IMSG_RFD_MAX	16	/* descriptor slots per recvmsg */

static int	 imsg_enqueue(struct imsgbuf *, uint32_t, uint32_t, uint32_t,
		    int, const struct iovec *, int);
static void	 imsgbuf_consume(struct imsgbuf *, size_t);
static int	 imsgbuf_rprepare(struct imsgbuf *);
static int	 imsgbuf_parse(struct imsgbuf *, int, size_t);
static void	 imsgbuf_rfd_settle(struct imsgbuf *);
static ssize_t	 imsgbuf_recv(struct imsgbuf *, size_t, int *);
static void	 imsgbuf_rreset(struct imsgbuf *);

int
imsgbuf_init(struct imsgbuf *ibuf, int fd)
{
	if (fd < 0) {
		errno = EBADF;
		return (-1);
	}
	memset(ibuf, 0, sizeof(*ibuf));
	TAILQ_INIT(&ibuf->wq);
	TAILQ_INIT(&ibuf->rfds);
	ibuf->fd = fd;
	ibuf->pid = getpid();
	ibuf->maxsize = MAX_IMSGSIZE;
	ibuf->fdpass = 0;
	ibuf->rbuf = NULL;
	ibuf->rfd_pending = -1;
	return (0);
}

void
imsgbuf_allow_fdpass(struct imsgbuf *ibuf)
{
	ibuf->fdpass = 1;
}

int
imsgbuf_set_maxsize(struct imsgbuf *ibuf, uint32_t max)
{
	if (max > IMSG_MAXSIZE_LIMIT) {
		errno = ERANGE;
		return (-1);
	}
	ibuf->maxsize = max + IMSG_HEADER_SIZE;
	return (0);
}

uint32_t
imsgbuf_queuelen(struct imsgbuf *ibuf)
{
	return (ibuf->wqlen);
}

/* Bytes queued and not yet written: what a slow reader costs us. */
size_t
imsgbuf_queuebytes(struct imsgbuf *ibuf)
{
	return (ibuf->wqbytes);
}

/*
 * Queue one message.  pid is used as is; the public wrappers resolve 0.
 * On failure the descriptor, if any, is closed: its ownership passed to us.
 */
static int
imsg_enqueue(struct imsgbuf *ibuf, uint32_t type, uint32_t peerid,
    uint32_t pid, int fd, const struct iovec *iov, int iovcnt)
{
	struct imsg_hdr	 hdr;
	struct ibuf	*b;
	size_t		 datalen = 0, off;
	int		 i, saved;

	if (iovcnt < 0 || (iovcnt > 0 && iov == NULL)) {
		errno = EINVAL;
		goto fail;
	}
	if (fd != -1 && (fd < 0 || !ibuf->fdpass)) {
		/* a descriptor needs SCM_RIGHTS, i.e. fd passing on */
		errno = EINVAL;
		goto fail;
	}
	for (i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > ibuf->maxsize - IMSG_HEADER_SIZE ||
		    datalen > ibuf->maxsize - IMSG_HEADER_SIZE -
		    iov[i].iov_len) {
			errno = ERANGE;
			goto fail;
		}
		datalen += iov[i].iov_len;
	}

	if ((b = malloc(sizeof(*b) + IMSG_HEADER_SIZE + datalen)) == NULL)
		goto fail;
	b->buf = (unsigned char *)(b + 1);
	b->size = IMSG_HEADER_SIZE + datalen;
	b->wpos = 0;
	b->fd = fd;

	hdr.type = type;
	hdr.len = (uint32_t)b->size;
	if (fd != -1)
		hdr.len |= IMSG_FD_MARK;
	hdr.peerid = peerid;
	hdr.pid = pid;
	memcpy(b->buf, &hdr, sizeof(hdr));
	off = IMSG_HEADER_SIZE;
	for (i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len == 0)
			continue;
		memcpy(b->buf + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}

	TAILQ_INSERT_TAIL(&ibuf->wq, b, entry);
	ibuf->wqlen++;
	ibuf->wqbytes += b->size;
	return (1);

 fail:
	if (fd >= 0) {
		saved = errno;
		close(fd);
		errno = saved;
	}
	return (-1);
}

int
imsg_compose(struct imsgbuf *ibuf, uint32_t type, uint32_t peerid, pid_t pid,
    int fd, const void *data, size_t datalen)
{
	struct iovec	 iov;

	if (datalen > 0 && data == NULL) {
		if (fd >= 0)
			close(fd);
		errno = EINVAL;
		return (-1);
	}
	iov.iov_base = (void *)data;
	iov.iov_len = datalen;
	if (pid == 0)
		pid = getpid();
	return (imsg_enqueue(ibuf, type, peerid, (uint32_t)pid, fd, &iov,
	    datalen > 0 ? 1 : 0));
}

int
imsg_composev(struct imsgbuf *ibuf, uint32_t type, uint32_t peerid,
    pid_t pid, int fd, const struct iovec *iov, int iovcnt)
{
	if (pid == 0)
		pid = getpid();
	return (imsg_enqueue(ibuf, type, peerid, (uint32_t)pid, fd, iov,
	    iovcnt));
}

/* Re-queue type, peer id, pid and payload; a descriptor is never passed on. */
int
imsg_forward(struct imsgbuf *ibuf, struct imsg *imsg)
{
	struct iovec	 iov;
	size_t		 len;

	len = imsg_get_len(imsg);
	iov.iov_base = imsg->data;
	iov.iov_len = len;
	return (imsg_enqueue(ibuf, imsg->hdr.type, imsg->hdr.peerid,
	    imsg->hdr.pid, -1, &iov, len > 0 && imsg->data != NULL ? 1 : 0));
}

/* Account for n bytes written from the head of the queue. */
static void
imsgbuf_consume(struct imsgbuf *ibuf, size_t n)
{
	struct ibuf	*b;
	size_t		 left;

	while (n > 0 && (b = TAILQ_FIRST(&ibuf->wq)) != NULL) {
		left = b->size - b->wpos;
		if (n < left) {
			b->wpos += n;
			ibuf->wqbytes -= n;
			return;
		}
		n -= left;
		ibuf->wqbytes -= left;
		TAILQ_REMOVE(&ibuf->wq, b, entry);
		ibuf->wqlen--;
		if (b->fd != -1)
			close(b->fd);
		freezero(b, sizeof(*b) + b->size);
	}
}

int
imsgbuf_write(struct imsgbuf *ibuf)
{
	struct iovec	 iov[IMSG_IOV_BATCH];
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	}		 cmsgbuf;
	struct msghdr	 msg;
	struct cmsghdr	*cmsg;
	struct ibuf	*b, *first;
	ssize_t		 n;
	int		 iovcnt, fd;

	while ((first = TAILQ_FIRST(&ibuf->wq)) != NULL) {
		/*
		 * The head's descriptor is still unsent only if none of its
		 * bytes went out yet; it rides on the first byte.
		 */
		fd = first->wpos == 0 ? first->fd : -1;
		iovcnt = 0;
		for (b = first; b != NULL && iovcnt < IMSG_IOV_BATCH;
		    b = TAILQ_NEXT(b, entry)) {
			/* a message with a descriptor starts a new batch */
			if (b != first && b->fd != -1)
				break;
			iov[iovcnt].iov_base = b->buf + b->wpos;
			iov[iovcnt].iov_len = b->size - b->wpos;
			iovcnt++;
		}

 again:
		if (ibuf->fdpass) {
			memset(&msg, 0, sizeof(msg));
			msg.msg_iov = iov;
			msg.msg_iovlen = iovcnt;
			if (fd != -1) {
				memset(&cmsgbuf, 0, sizeof(cmsgbuf));
				msg.msg_control = cmsgbuf.buf;
				msg.msg_controllen = sizeof(cmsgbuf.buf);
				cmsg = CMSG_FIRSTHDR(&msg);
				cmsg->cmsg_len = CMSG_LEN(sizeof(int));
				cmsg->cmsg_level = SOL_SOCKET;
				cmsg->cmsg_type = SCM_RIGHTS;
				memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
			}
			n = sendmsg(ibuf->fd, &msg, MSG_NOSIGNAL);
		} else
			n = writev(ibuf->fd, iov, iovcnt);

		if (n == -1) {
			if (errno == EINTR)
				goto again;
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == ENOBUFS)
				return (0);
			return (-1);
		}
		if (n == 0)
			return (0);

		/* Something was sent, so the descriptor went with it. */
		if (fd != -1) {
			close(first->fd);
			first->fd = -1;
		}
		imsgbuf_consume(ibuf, (size_t)n);
	}
	return (0);
}

int
imsgbuf_flush(struct imsgbuf *ibuf)
{
	struct pollfd	 pfd;
	int		 rv;

	while (ibuf->wqlen > 0) {
		if (imsgbuf_write(ibuf) == -1)
			return (-1);
		if (ibuf->wqlen == 0)
			break;
		pfd.fd = ibuf->fd;
		pfd.events = POLLOUT;
		pfd.revents = 0;
		rv = poll(&pfd, 1, -1);
		if (rv == -1 && errno != EINTR)
			return (-1);
		/* POLLHUP or POLLERR: the next write reports the error */
	}
	return (0);
}

/* Forget all read-side state: buffer, claimed and pending descriptors. */
static void
imsgbuf_rreset(struct imsgbuf *ibuf)
{
	struct imsg_fd	*ifd;

	while ((ifd = TAILQ_FIRST(&ibuf->rfds)) != NULL) {
		TAILQ_REMOVE(&ibuf->rfds, ifd, entry);
		if (ifd->fd != -1)
			close(ifd->fd);
		free(ifd);
	}
	if (ibuf->rfd_pending != -1) {
		close(ibuf->rfd_pending);
		ibuf->rfd_pending = -1;
	}
	ibuf->rfd_tent = NULL;
	ibuf->rfd_pos = ibuf->rfd_end = 0;
	if (ibuf->rbuf != NULL)
		freezero(ibuf->rbuf, ibuf->rsize);
	ibuf->rbuf = NULL;
	ibuf->rsize = ibuf->rlen = ibuf->rpos = ibuf->rnext = 0;
}

void
imsgbuf_clear(struct imsgbuf *ibuf)
{
	struct ibuf	*b;

	while ((b = TAILQ_FIRST(&ibuf->wq)) != NULL) {
		TAILQ_REMOVE(&ibuf->wq, b, entry);
		if (b->fd != -1)
			close(b->fd);
		freezero(b, sizeof(*b) + b->size);
	}
	ibuf->wqlen = 0;
	ibuf->wqbytes = 0;
	imsgbuf_rreset(ibuf);
}

/*
 * Before reading: drop consumed bytes from the front of the buffer and make
 * room for every frame whose header has been seen (up to the hard limit).
 */
static int
imsgbuf_rprepare(struct imsgbuf *ibuf)
{
	unsigned char	*nbuf;
	size_t		 need, shift;

	if ((shift = ibuf->rpos) > 0) {
		memmove(ibuf->rbuf, ibuf->rbuf + shift, ibuf->rlen - shift);
		explicit_bzero(ibuf->rbuf + ibuf->rlen - shift, shift);
		ibuf->rlen -= shift;
		ibuf->rnext -= shift;
		ibuf->rpos = 0;
		/*
		 * The window of a pending descriptor only matters for
		 * headers at or after rnext, which never moves below rpos,
		 * so clamping at the new front keeps its meaning.
		 */
		ibuf->rfd_pos = ibuf->rfd_pos > shift ?
		    ibuf->rfd_pos - shift : 0;
		ibuf->rfd_end = ibuf->rfd_end > shift ?
		    ibuf->rfd_end - shift : 0;
	}

	need = ibuf->rnext > IBUF_READ_SIZE ? ibuf->rnext : IBUF_READ_SIZE;
	if (ibuf->rbuf != NULL && ibuf->rsize >= need &&
	    !(ibuf->rsize > IBUF_READ_SIZE && need == IBUF_READ_SIZE &&
	    ibuf->rlen == 0))
		return (0);

	/* grow, or give a large buffer back once it has drained */
	if ((nbuf = malloc(need)) == NULL)
		return (-1);
	if (ibuf->rbuf != NULL) {
		memcpy(nbuf, ibuf->rbuf, ibuf->rlen);
		freezero(ibuf->rbuf, ibuf->rsize);
	}
	ibuf->rbuf = nbuf;
	ibuf->rsize = need;
	return (0);
}

/*
 * The window of the pending descriptor is closed: every header starting in
 * it has been seen.  Hand the descriptor to the message chosen, or close it
 * when no marked message started there.
 */
static void
imsgbuf_rfd_settle(struct imsgbuf *ibuf)
{
	if (ibuf->rfd_pending == -1)
		return;
	if (ibuf->rfd_tent != NULL)
		ibuf->rfd_tent->fd = ibuf->rfd_pending;
	else
		close(ibuf->rfd_pending);	/* stray descriptor */
	ibuf->rfd_pending = -1;
	ibuf->rfd_tent = NULL;
}

/*
 * Check every header whose 16 bytes have arrived and hand descriptors to
 * the marked messages.  newfd came with the bytes [newpos, rlen).
 *
 * A read may glue descriptor-less data in front of the chunk that carried
 * the descriptor, and it stops inside or right at the end of that chunk.
 * The sender starts every marked message on a sendmsg of its own, together
 * with its descriptor, so the descriptor belongs to the last marked header
 * that starts within the bytes of that read: the window [pos, end).  A
 * well-behaved sender puts exactly one marked header there; taking the
 * last one also keeps a marked message that came without a descriptor
 * (fd -1) from stealing the next one's.  Until every header in the window
 * has been seen, the message chosen so far is tentative (rfd_tent) and
 * imsgbuf_get() holds it back.
 */
static int
imsgbuf_parse(struct imsgbuf *ibuf, int newfd, size_t newpos)
{
	struct imsg_hdr	 hdr;
	struct imsg_fd	*ifd;
	size_t		 h, newend = ibuf->rlen;
	uint32_t	 len;
	int		 rv = 0;

	while (ibuf->rnext <= ibuf->rlen &&
	    ibuf->rlen - ibuf->rnext >= IMSG_HEADER_SIZE) {
		h = ibuf->rnext;
		memcpy(&hdr, ibuf->rbuf + h, sizeof(hdr));
		len = hdr.len & ~IMSG_FD_MARK;
		if (len < IMSG_HEADER_SIZE || len > ibuf->maxsize) {
			errno = ERANGE;
			rv = -1;
			break;
		}
		ifd = NULL;
		if ((hdr.len & IMSG_FD_MARK) &&
		    (ifd = malloc(sizeof(*ifd))) == NULL) {
			rv = -1;
			break;
		}

		if (ibuf->rfd_pending != -1 && h >= ibuf->rfd_end)
			imsgbuf_rfd_settle(ibuf);
		if (newfd != -1 && h >= newpos) {
			imsgbuf_rfd_settle(ibuf);
			ibuf->rfd_pending = newfd;
			ibuf->rfd_pos = newpos;
			ibuf->rfd_end = newend;
			newfd = -1;
		}
		if (ifd != NULL) {
			ifd->fd = -1;
			TAILQ_INSERT_TAIL(&ibuf->rfds, ifd, entry);
			if (ibuf->rfd_pending != -1 && h >= ibuf->rfd_pos)
				ibuf->rfd_tent = ifd;
		}
		ibuf->rnext += len;
	}

	if (newfd != -1) {
		/* no header of the new window is complete yet */
		imsgbuf_rfd_settle(ibuf);
		ibuf->rfd_pending = newfd;
		ibuf->rfd_pos = newpos;
		ibuf->rfd_end = newend;
	}
	if (rv == 0 && ibuf->rfd_pending != -1 &&
	    ibuf->rnext >= ibuf->rfd_end)
		imsgbuf_rfd_settle(ibuf);
	return (rv);
}

/*
 * One read into rbuf.  With fd passing on, recvmsg with room for a few
 * descriptors: the first is kept, the others are closed.  Without it, a
 * plain read(2), so the kernel discards any descriptors in flight.
 */
static ssize_t
imsgbuf_recv(struct imsgbuf *ibuf, size_t avail, int *fdp)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * IMSG_RFD_MAX)];
	}		 cmsgbuf;
	struct msghdr	 msg;
	struct cmsghdr	*cmsg;
	struct iovec	 iov;
	ssize_t		 n;
	size_t		 i, nfds;
	int		 fd;

	*fdp = -1;
	for (;;) {
		if (ibuf->fdpass) {
			iov.iov_base = ibuf->rbuf + ibuf->rlen;
			iov.iov_len = avail;
			memset(&msg, 0, sizeof(msg));
			memset(&cmsgbuf, 0, sizeof(cmsgbuf));
			msg.msg_iov = &iov;
			msg.msg_iovlen = 1;
			msg.msg_control = cmsgbuf.buf;
			msg.msg_controllen = sizeof(cmsgbuf.buf);
			n = recvmsg(ibuf->fd, &msg, MSG_CMSG_CLOEXEC);
		} else
			n = read(ibuf->fd, ibuf->rbuf + ibuf->rlen, avail);
		if (n != -1 || errno != EINTR)
			break;
	}
	if (n == -1 || !ibuf->fdpass)
		return (n);

	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS ||
		    cmsg->cmsg_len < CMSG_LEN(0))
			continue;
		nfds = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nfds; i++) {
			memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int),
			    sizeof(int));
			if (*fdp == -1)
				*fdp = fd;
			else
				close(fd);	/* at most one per message */
		}
	}
	if (n == 0 && *fdp != -1) {
		close(*fdp);
		*fdp = -1;
	}
	return (n);
}

int
imsgbuf_read(struct imsgbuf *ibuf)
{
	size_t		 before;
	ssize_t		 n;
	int		 fd;

	/* a bad header seen before is reported again, never skipped */
	if (imsgbuf_parse(ibuf, -1, 0) == -1)
		return (-1);
	if (imsgbuf_rprepare(ibuf) == -1)
		return (-1);
	if (ibuf->rsize == ibuf->rlen)
		return (1);	/* complete messages wait for imsgbuf_get */

	before = ibuf->rlen;
	n = imsgbuf_recv(ibuf, ibuf->rsize - ibuf->rlen, &fd);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return (1);
		return (-1);
	}
	if (n == 0)
		return (0);
	ibuf->rlen += (size_t)n;
	if (imsgbuf_parse(ibuf, fd, before) == -1)
		return (-1);
	return (1);
}

int
imsgbuf_get(struct imsgbuf *ibuf, struct imsg *imsg)
{
	struct imsg_hdr	 hdr;
	struct imsg_fd	*ifd;
	uint32_t	 len;
	size_t		 datalen;
	void		*data = NULL;
	int		 fd = -1;

	/* only headers already checked by imsgbuf_parse are handed out */
	if (ibuf->rpos >= ibuf->rnext || ibuf->rlen - ibuf->rpos <
	    IMSG_HEADER_SIZE)
		return (0);
	memcpy(&hdr, ibuf->rbuf + ibuf->rpos, sizeof(hdr));
	len = hdr.len & ~IMSG_FD_MARK;
	if (ibuf->rlen - ibuf->rpos < len)
		return (0);

	if ((hdr.len & IMSG_FD_MARK) && ibuf->rfd_tent != NULL &&
	    ibuf->rfd_tent == TAILQ_FIRST(&ibuf->rfds))
		return (0);	/* its descriptor is not settled yet */

	datalen = len - IMSG_HEADER_SIZE;
	if (datalen > 0) {
		if ((data = malloc(datalen)) == NULL)
			return (-1);
		memcpy(data, ibuf->rbuf + ibuf->rpos + IMSG_HEADER_SIZE,
		    datalen);
	}
	if ((hdr.len & IMSG_FD_MARK) &&
	    (ifd = TAILQ_FIRST(&ibuf->rfds)) != NULL) {
		TAILQ_REMOVE(&ibuf->rfds, ifd, entry);
		fd = ifd->fd;
		free(ifd);
	}

	explicit_bzero(ibuf->rbuf + ibuf->rpos, len);
	ibuf->rpos += len;
	if (ibuf->rpos == ibuf->rlen && ibuf->rnext == ibuf->rlen) {
		/* drained: start over at the front, no copying needed */
		ibuf->rfd_pos = ibuf->rfd_pos > ibuf->rpos ?
		    ibuf->rfd_pos - ibuf->rpos : 0;
		ibuf->rfd_end = ibuf->rfd_end > ibuf->rpos ?
		    ibuf->rfd_end - ibuf->rpos : 0;
		ibuf->rpos = ibuf->rlen = ibuf->rnext = 0;
	}

	hdr.len = len;
	imsg->hdr = hdr;
	imsg->data = data;
	imsg->fd = fd;
	return (1);
}

uint32_t
imsg_get_type(struct imsg *imsg)
{
	return (imsg->hdr.type);
}

uint32_t
imsg_get_id(struct imsg *imsg)
{
	return (imsg->hdr.peerid);
}

uint32_t
imsg_get_pid(struct imsg *imsg)
{
	return (imsg->hdr.pid);
}

size_t
imsg_get_len(struct imsg *imsg)
{
	uint32_t	 len = imsg->hdr.len & ~IMSG_FD_MARK;

	if (len < IMSG_HEADER_SIZE)
		return (0);
	return (len - IMSG_HEADER_SIZE);
}

int
imsg_get_fd(struct imsg *imsg)
{
	int	 fd = imsg->fd;

	imsg->fd = -1;
	return (fd);
}

/*
 * Copy the payload out if, and only if, it is exactly len bytes long.  An
 * empty payload matches len 0 (buf may then be NULL).
 */
int
imsg_get_data(struct imsg *imsg, void *buf, size_t len)
{
	if (imsg_get_len(imsg) != len) {
		errno = EBADMSG;
		return (-1);
	}
	if (len > 0) {
		if (buf == NULL || imsg->data == NULL) {
			errno = EINVAL;
			return (-1);
		}
		memcpy(buf, imsg->data, len);
	}
	return (0);
}

void
imsg_free(struct imsg *imsg)
{
	if (imsg->data != NULL)
		freezero(imsg->data, imsg_get_len(imsg));
	imsg->data = NULL;
	if (imsg->fd != -1)
		close(imsg->fd);
	imsg->fd = -1;
}
