/*
 * Request framing checks for the frontend, ahead of evhttp.  libevent
 * 2.1 parses request framing leniently (the first of several
 * Content-Length headers, strtoll() with its sign and blanks, any
 * Transfer-Encoding but "chunked" ignored, chunk sizes with junk), and it
 * has no hook between the header block and the body of a request it
 * serves.  So every connection's bytes pass this stream machine first
 * (http.c runs it from a callback on the connection's input buffer): it holds a request's header block
 * until it is complete, checks it (http_head_check()) and only then
 * passes it on, followed by exactly the body the checks framed, with
 * chunk-size lines rewritten in plain hex and trailers dropped.  A
 * request that fails is not passed: evhttp gets a stand-in request
 * instead (or, in a chunked body, the last chunk) and the frontend
 * answers it with the JSON error the machine recorded, then closes.
 *
 * Everything here is pure (no libevent, no allocation but the header
 * buffer) so that the unit tests and regress/fuzz/fuzz_httphdr.c drive
 * it directly.
 */
#ifndef RELAYD_HTTP_GUARD_H
#define RELAYD_HTTP_GUARD_H

#include <stddef.h>
#include <stdint.h>

#define HG_HEAD_MAX	(16 * 1024)	/* request line + header fields */
#define HG_URI_MAX	4096
#define HG_FIELDS_MAX	100		/* header fields per request */
#define HG_CHUNKLINE_MAX 256		/* chunk-size line with extensions */
#define HG_TRAILER_MAX	(4 * 1024)	/* trailer section, dropped */

/* How the body of a request that passed is framed. */
#define HB_NONE		0
#define HB_LENGTH	1
#define HB_CHUNKED	2

struct http_head {
	char		 method[16];
	int		 reads_body;	/* POST, PUT, PATCH */
	int		 minor;		/* HTTP/1.minor */
	int		 body;		/* HB_NONE, HB_LENGTH, HB_CHUNKED */
	uint64_t	 length;	/* HB_LENGTH */
};

/*
 * Checks a complete header block (request line, fields, the empty line;
 * LF or CRLF line ends).  limit is the body limit.  Returns 0 and fills
 * h, or the status to answer with (400, 413, 414, 417, 431, 501, 505)
 * and a message in msg.
 */
int	 http_head_check(const char *, size_t, uint64_t, struct http_head *,
	    char *, size_t);

/*
 * A chunk-size line without its line end: 1 to 16 hex digits, then
 * optional well-formed extensions (";" name ["=" token / quoted-string]).
 * Returns 0 and the size in *size, or -1.
 */
int	 http_chunk_line(const char *, size_t, uint64_t *);

/* One header field line (no line end): 0 if well formed, else -1. */
int	 http_field_line(const char *, size_t, const char **, size_t *,
	    const char **, size_t *);

/* Stream machine states */
#define HS_HEAD		0	/* collecting a header block */
#define HS_BODY		1	/* passing Content-Length bytes */
#define HS_CHUNK_LINE	2	/* collecting a chunk-size line */
#define HS_CHUNK_DATA	3	/* passing chunk bytes */
#define HS_CHUNK_END	4	/* the line end after chunk data */
#define HS_TRAILER	5	/* collecting the trailer section */
#define HS_DEAD		6	/* refused: input is discarded */

typedef void	 (*http_emit_cb)(void *, const char *, size_t);

struct http_stream {
	int		 state;
	uint64_t	 limit;		/* body limit */
	char		*buf;		/* header block, chunk line, trailer */
	size_t		 len;
	size_t		 cap;
	size_t		 line;		/* start of the current line in buf */
	uint64_t	 remain;	/* body or chunk bytes to pass */
	uint64_t	 total;		/* chunked body bytes so far */
	int		 inreq;		/* a request is partly received */
	int		 cr;		/* a CR of an empty line before it */
	uint32_t	 nstarted;	/* requests begun */
	uint32_t	 nemitted;	/* header blocks passed on */
	uint32_t	 reject_at;	/* index of the refused request */
	int		 status;	/* its status, 0: none */
	char		 msg[160];
	http_emit_cb	 emit;
	void		*arg;
};

/* The stand-in request evhttp sees for a refused header block. */
#define HG_STANDIN	"GET / HTTP/1.1\r\nHost: -\r\nConnection: close\r\n\r\n"

void	 http_stream_init(struct http_stream *, uint64_t, http_emit_cb,
	    void *);
void	 http_stream_free(struct http_stream *);
/* Feeds bytes; passes what may reach evhttp to the emit callback. */
void	 http_stream_feed(struct http_stream *, const char *, size_t);
/*
 * Refuses from outside (deadline, connection limit): the next header
 * block evhttp sees, or the current one if a body is being passed.
 */
void	 http_stream_refuse(struct http_stream *, int, const char *);

#endif /* RELAYD_HTTP_GUARD_H */
