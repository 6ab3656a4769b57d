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
 * libFuzzer target for the imsg reader.  The input is written into one end
 * of a socketpair in chunks whose sizes the first byte chooses, and the
 * other end is read with imsgbuf_read()/imsgbuf_get() exactly as a relayd
 * process reads a channel from a less privileged peer: fd passing off,
 * a modest size limit.  Every message is looked at, forwarded into a second
 * (never flushed) queue and freed.  Must never crash, hang or leak.
 */

#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"

#define FUZZ_MAXPAYLOAD	4096

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Take every complete message; -1 once the channel must be dropped. */
static int
drain(struct imsgbuf *r, struct imsgbuf *fwd)
{
	struct imsg	 imsg;
	uint32_t	 word;
	unsigned char	 sink[FUZZ_MAXPAYLOAD];
	int		 rv;

	while ((rv = imsgbuf_get(r, &imsg)) == 1) {
		(void)imsg_get_type(&imsg);
		(void)imsg_get_id(&imsg);
		(void)imsg_get_pid(&imsg);
		/* broken invariants are bugs: make the fuzzer report them */
		if (imsg_get_len(&imsg) > FUZZ_MAXPAYLOAD)
			__builtin_trap();	/* the limit did not hold */
		if (imsg_get_len(&imsg) != sizeof(word) &&
		    imsg_get_data(&imsg, &word, sizeof(word)) != -1)
			__builtin_trap();
		if (imsg_get_data(&imsg, sink, imsg_get_len(&imsg)) != 0)
			__builtin_trap();
		if (imsg_get_fd(&imsg) != -1)
			__builtin_trap();	/* fd passing is off */
		if (imsg_forward(fwd, &imsg) != 1)
			__builtin_trap();
		if (imsgbuf_queuelen(fwd) > 32)
			imsgbuf_clear(fwd);
		imsg_free(&imsg);
	}
	return (rv);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imsgbuf	 r, fwd;
	size_t		 off, chunk;
	ssize_t		 n;
	uint32_t	 seed;
	int		 sv[2], fv[2], rv = 1, spins = 0;

	if (size < 1)
		return (0);
	seed = data[0] * 2654435761U + 1;
	data++;
	size--;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0, sv) == -1)
		return (0);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0, fv) == -1) {
		close(sv[0]);
		close(sv[1]);
		return (0);
	}
	if (imsgbuf_init(&r, sv[1]) == -1 || imsgbuf_init(&fwd, fv[0]) == -1 ||
	    imsgbuf_set_maxsize(&r, FUZZ_MAXPAYLOAD) == -1 ||
	    imsgbuf_set_maxsize(&fwd, FUZZ_MAXPAYLOAD) == -1)
		__builtin_trap();

	for (off = 0; off < size && rv == 1; ) {
		seed = seed * 1103515245U + 12345U;
		chunk = 1 + (seed >> 16) % 700;
		if (chunk > size - off)
			chunk = size - off;
		n = write(sv[0], data + off, chunk);
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			break;
		if (n > 0)
			off += (size_t)n;
		if ((rv = imsgbuf_read(&r)) == 1 && drain(&r, &fwd) == -1)
			rv = -1;
		if (n <= 0 && ++spins > 100000)
			__builtin_trap();	/* reader made no room */
	}
	close(sv[0]);
	while (rv == 1) {
		if ((rv = imsgbuf_read(&r)) == 1 && drain(&r, &fwd) == -1)
			rv = -1;
	}
	imsgbuf_clear(&r);
	imsgbuf_clear(&fwd);
	close(sv[1]);
	close(fv[0]);
	close(fv[1]);
	return (0);
}
