/*
 * Clean-room imsg: framed messages over a connected AF_UNIX SOCK_STREAM
 * socket, with optional descriptor passing.  Semantics follow the OpenBSD
 * libutil API described in privsep-style-anchors.md section 2; not one line
 * is taken from it.
 *
 * Wire format (host byte order, same host only): a 16-byte header
 *	uint32_t type, uint32_t len, uint32_t peerid, uint32_t pid
 * followed by len - 16 payload bytes.  len counts the header; bit 31 of len
 * (IMSG_FD_MARK) says a descriptor travels with this message.
 */
#ifndef RELAYD_IMSG_H
#define RELAYD_IMSG_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include <stddef.h>
#include <stdint.h>

#define IMSG_HEADER_SIZE	16
#define IMSG_FD_MARK		0x80000000U
#define MAX_IMSGSIZE		16384	/* default total size limit */
#define IMSG_MAXSIZE_LIMIT	(1024 * 1024)	/* hard upper bound */
#define IBUF_READ_SIZE		65535

struct imsg_hdr {
	uint32_t	 type;
	uint32_t	 len;
	uint32_t	 peerid;
	uint32_t	 pid;
};

/* One queued outbound message (header + payload) and its optional fd. */
struct ibuf {
	TAILQ_ENTRY(ibuf) entry;
	unsigned char	*buf;
	size_t		 size;		/* bytes in buf */
	size_t		 wpos;		/* bytes already written */
	int		 fd;		/* -1 or descriptor to pass */
};

/* A received descriptor waiting for the message it belongs to. */
struct imsg_fd {
	TAILQ_ENTRY(imsg_fd) entry;
	int		 fd;
};

struct imsgbuf {
	TAILQ_HEAD(, ibuf)	 wq;		/* write queue */
	uint32_t		 wqlen;		/* messages queued */
	size_t			 wqbytes;	/* bytes not yet written */
	TAILQ_HEAD(, imsg_fd)	 rfds;		/* fds received, not claimed */
	unsigned char		*rbuf;		/* read buffer */
	size_t			 rlen;		/* bytes in rbuf */
	size_t			 rsize;		/* allocated size of rbuf */
	int			 fd;
	pid_t			 pid;
	uint32_t		 maxsize;	/* total (header included) */
	int			 fdpass;
	/* private to imsg.c */
	size_t			 rpos;		/* first message not taken */
	size_t			 rnext;		/* next header unchecked */
	int			 rfd_pending;	/* fd whose header is not in */
	size_t			 rfd_pos;	/* bytes it came with: start */
	size_t			 rfd_end;	/* and end */
	struct imsg_fd		*rfd_tent;	/* its message, tentatively */
};

struct imsg {
	struct imsg_hdr	 hdr;		/* hdr.len has no fd mark */
	void		*data;		/* payload or NULL; owned by imsg */
	int		 fd;		/* -1 or the received descriptor */
};

int	 imsgbuf_init(struct imsgbuf *, int);
void	 imsgbuf_allow_fdpass(struct imsgbuf *);
int	 imsgbuf_set_maxsize(struct imsgbuf *, uint32_t);	/* payload */
int	 imsgbuf_read(struct imsgbuf *);	/* 1 ok/EAGAIN, 0 EOF, -1 */
int	 imsgbuf_write(struct imsgbuf *);	/* 0 ok (maybe partial), -1 */
int	 imsgbuf_flush(struct imsgbuf *);	/* blocking: start-up, ctl */
void	 imsgbuf_clear(struct imsgbuf *);	/* frees queues, closes fds */
uint32_t imsgbuf_queuelen(struct imsgbuf *);
size_t	 imsgbuf_queuebytes(struct imsgbuf *);
int	 imsgbuf_get(struct imsgbuf *, struct imsg *);	/* 1, 0 none, -1 */

int	 imsg_compose(struct imsgbuf *, uint32_t, uint32_t, pid_t, int,
	    const void *, size_t);		/* 1 queued, -1 (fd closed) */
int	 imsg_composev(struct imsgbuf *, uint32_t, uint32_t, pid_t, int,
	    const struct iovec *, int);
int	 imsg_forward(struct imsgbuf *, struct imsg *);	/* fd not passed */

uint32_t imsg_get_type(struct imsg *);
uint32_t imsg_get_id(struct imsg *);
uint32_t imsg_get_pid(struct imsg *);
size_t	 imsg_get_len(struct imsg *);		/* payload length */
int	 imsg_get_fd(struct imsg *);		/* hands the fd over once */
int	 imsg_get_data(struct imsg *, void *, size_t);	/* exact size */
void	 imsg_free(struct imsg *);

#endif /* RELAYD_IMSG_H */
