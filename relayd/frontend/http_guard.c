/*
 * Request framing checks ahead of evhttp.  See http_guard.h.
 *
 * The rules (RFC 9112 where it lets a server refuse, stricter where
 * libevent 2.1 would read the bytes differently):
 *	- request line: METHOD SP target SP HTTP/1.0 or HTTP/1.1, single
 *	  spaces, a target of visible ASCII;
 *	- field lines: token ":" OWS value OWS, no line folding, no
 *	  control characters but HT in values, a lone CR nowhere;
 *	- Transfer-Encoding: one field, exactly "chunked", HTTP/1.1 only,
 *	  never with Content-Length;
 *	- Content-Length: digits only; repeated only with the same value;
 *	- HTTP/1.1 with exactly one Host, HTTP/1.0 with at most one;
 *	- a body only on POST, PUT and PATCH (others: Content-Length 0 at
 *	  most, no Transfer-Encoding);
 *	- Expect: 100-continue or nothing;
 *	- chunk-size lines: hex, then well-formed extensions only.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_guard.h"

static const char *const hg_methods[] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE",
	"CONNECT", "PATCH", NULL
};

/* RFC 9110 tchar */
static int
hg_tchar(unsigned char c)
{
	if (isalnum(c))
		return (1);
	return (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int
hg_ws(unsigned char c)
{
	return (c == ' ' || c == '\t');
}

static int
hg_strieq(const char *s, size_t len, const char *lit)
{
	return (strlen(lit) == len && strncasecmp(s, lit, len) == 0);
}

/* a field value byte: HT, visible ASCII, SP, obs-text */
static int
hg_vchar(unsigned char c)
{
	return (c == '\t' || (c >= 0x20 && c != 0x7f));
}

int
http_field_line(const char *l, size_t len, const char **name,
    size_t *namelen, const char **val, size_t *vallen)
{
	size_t	 i, n, e;

	for (n = 0; n < len && hg_tchar((unsigned char)l[n]); n++)
		;
	if (n == 0 || n == len || l[n] != ':')
		return (-1);
	for (i = n + 1; i < len; i++)
		if (!hg_vchar((unsigned char)l[i]))
			return (-1);
	for (i = n + 1; i < len && hg_ws((unsigned char)l[i]); i++)
		;
	for (e = len; e > i && hg_ws((unsigned char)l[e - 1]); e--)
		;
	*name = l;
	*namelen = n;
	*val = l + i;
	*vallen = e - i;
	return (0);
}

static int
hg_fail(char *msg, size_t msglen, int status, const char *fmt, ...)
    __attribute__((__format__ (printf, 4, 5)));

static int
hg_fail(char *msg, size_t msglen, int status, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
	return (status);
}

/* digits only, at most 19 of them (below 2^63) */
static int
hg_length(const char *s, size_t len, uint64_t *v)
{
	size_t	 i;

	if (len == 0 || len > 19)
		return (-1);
	*v = 0;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-1);
		*v = *v * 10 + (uint64_t)(s[i] - '0');
	}
	return (0);
}

static int
hg_request_line(const char *l, size_t len, struct http_head *h, char *msg,
    size_t msglen)
{
	const char	*sp1, *sp2, *v;
	size_t		 mlen, tlen, i;
	int		 known = 0;

	if ((sp1 = memchr(l, ' ', len)) == NULL)
		return (hg_fail(msg, msglen, 400, "malformed request line"));
	mlen = sp1 - l;
	for (i = 0; i < mlen; i++)
		if (!hg_tchar((unsigned char)l[i]))
			return (hg_fail(msg, msglen, 400,
			    "malformed request line"));
	if (mlen == 0)
		return (hg_fail(msg, msglen, 400, "malformed request line"));
	if ((sp2 = memchr(sp1 + 1, ' ', len - mlen - 1)) == NULL)
		return (hg_fail(msg, msglen, 400, "malformed request line"));
	tlen = sp2 - sp1 - 1;
	if (tlen == 0)
		return (hg_fail(msg, msglen, 400, "malformed request line"));
	for (i = 0; i < tlen; i++)
		if (sp1[1 + i] <= 0x20 || sp1[1 + i] >= 0x7f)
			return (hg_fail(msg, msglen, 400,
			    "malformed request target"));
	if (tlen > HG_URI_MAX)
		return (hg_fail(msg, msglen, 414,
		    "request URI longer than %d bytes", HG_URI_MAX));
	v = sp2 + 1;
	i = len - (v - l);
	if (i == 8 && memcmp(v, "HTTP/1.1", 8) == 0)
		h->minor = 1;
	else if (i == 8 && memcmp(v, "HTTP/1.0", 8) == 0)
		h->minor = 0;
	else if (i == 8 && memcmp(v, "HTTP/", 5) == 0 &&
	    isdigit((unsigned char)v[5]) && v[6] == '.' &&
	    isdigit((unsigned char)v[7]))
		return (hg_fail(msg, msglen, 505,
		    "HTTP version not supported"));
	else
		return (hg_fail(msg, msglen, 400, "malformed request line"));

	if (mlen >= sizeof(h->method))
		return (hg_fail(msg, msglen, 501, "method not implemented"));
	memcpy(h->method, l, mlen);
	h->method[mlen] = '\0';
	for (i = 0; hg_methods[i] != NULL; i++)
		if (strcmp(hg_methods[i], h->method) == 0)
			known = 1;
	if (!known)
		return (hg_fail(msg, msglen, 501, "method not implemented"));
	h->reads_body = strcmp(h->method, "POST") == 0 ||
	    strcmp(h->method, "PUT") == 0 || strcmp(h->method, "PATCH") == 0;
	return (0);
}

int
http_head_check(const char *buf, size_t len, uint64_t limit,
    struct http_head *h, char *msg, size_t msglen)
{
	const char	*l, *end, *nl, *name, *val;
	size_t		 ll, namelen, vallen;
	uint64_t	 clen = 0, v;
	int		 first = 1, done = 0, nhost = 0, nte = 0, nclen = 0;
	int		 nfields = 0;
	int		 rv;

	memset(h, 0, sizeof(*h));
	end = buf + len;
	for (l = buf; l < end; l = nl + 1) {
		if ((nl = memchr(l, '\n', end - l)) == NULL)
			return (hg_fail(msg, msglen, 400,
			    "incomplete header block"));
		ll = nl - l;
		if (ll > 0 && l[ll - 1] == '\r')
			ll--;
		if (memchr(l, '\r', ll) != NULL)
			return (hg_fail(msg, msglen, 400,
			    "bare CR in header block"));
		if (memchr(l, '\0', ll) != NULL)
			return (hg_fail(msg, msglen, 400,
			    "NUL byte in header block"));
		if (first) {
			if ((rv = hg_request_line(l, ll, h, msg, msglen)) != 0)
				return (rv);
			first = 0;
			continue;
		}
		if (ll == 0) {
			if (nl + 1 != end)
				return (hg_fail(msg, msglen, 400,
				    "data after the header block"));
			done = 1;
			break;
		}
		if (hg_ws((unsigned char)l[0]))
			return (hg_fail(msg, msglen, 400,
			    "obsolete line folding in header"));
		if (http_field_line(l, ll, &name, &namelen, &val, &vallen) ==
		    -1)
			return (hg_fail(msg, msglen, 400,
			    "malformed header field"));
		if (++nfields > HG_FIELDS_MAX)
			return (hg_fail(msg, msglen, 431,
			    "more than %d header fields", HG_FIELDS_MAX));
		if (hg_strieq(name, namelen, "Host")) {
			nhost++;
			for (v = 0; v < vallen; v++)
				if (hg_ws((unsigned char)val[v]) ||
				    val[v] == '/' || val[v] == '@')
					return (hg_fail(msg, msglen, 400,
					    "invalid Host header"));
		} else if (hg_strieq(name, namelen, "Transfer-Encoding")) {
			if (++nte > 1)
				return (hg_fail(msg, msglen, 400,
				    "repeated Transfer-Encoding"));
			if (!hg_strieq(val, vallen, "chunked"))
				return (hg_fail(msg, msglen, 400,
				    "Transfer-Encoding other than chunked"));
		} else if (hg_strieq(name, namelen, "Content-Length")) {
			if (hg_length(val, vallen, &v) == -1)
				return (hg_fail(msg, msglen, 400,
				    "invalid Content-Length"));
			if (nclen++ > 0 && v != clen)
				return (hg_fail(msg, msglen, 400,
				    "conflicting Content-Length values"));
			clen = v;
		} else if (hg_strieq(name, namelen, "Expect")) {
			if (!hg_strieq(val, vallen, "100-continue"))
				return (hg_fail(msg, msglen, 417,
				    "unsupported Expect"));
		}
	}
	if (!done)
		return (hg_fail(msg, msglen, 400, "incomplete header block"));

	if (h->minor == 1 && nhost != 1)
		return (hg_fail(msg, msglen, 400,
		    "HTTP/1.1 needs exactly one Host header"));
	if (h->minor == 0 && nhost > 1)
		return (hg_fail(msg, msglen, 400, "repeated Host header"));
	if (nte > 0 && nclen > 0)
		return (hg_fail(msg, msglen, 400,
		    "Transfer-Encoding with Content-Length"));
	if (nte > 0 && h->minor == 0)
		return (hg_fail(msg, msglen, 400,
		    "Transfer-Encoding in an HTTP/1.0 request"));
	if (!h->reads_body) {
		if (nte > 0 || clen > 0)
			return (hg_fail(msg, msglen, 400,
			    "request body not allowed"));
		h->body = HB_NONE;
		return (0);
	}
	if (nte > 0)
		h->body = HB_CHUNKED;
	else if (clen > limit)
		return (hg_fail(msg, msglen, 413,
		    "request body larger than %llu bytes",
		    (unsigned long long)limit));
	else if (clen > 0) {
		h->body = HB_LENGTH;
		h->length = clen;
	} else
		h->body = HB_NONE;
	return (0);
}

static int
hg_xdigit(unsigned char c, unsigned *v)
{
	if (c >= '0' && c <= '9')
		*v = c - '0';
	else if (c >= 'a' && c <= 'f')
		*v = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		*v = c - 'A' + 10;
	else
		return (0);
	return (1);
}

int
http_chunk_line(const char *l, size_t len, uint64_t *size)
{
	size_t		 i = 0, n;
	unsigned	 d;
	unsigned char	 c;

	*size = 0;
	while (i < len && hg_xdigit((unsigned char)l[i], &d)) {
		if (i >= 16)
			return (-1);
		*size = (*size << 4) | d;
		i++;
	}
	if (i == 0)
		return (-1);
	/* *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ) */
	for (;;) {
		while (i < len && hg_ws((unsigned char)l[i]))
			i++;
		if (i == len)
			return (0);
		if (l[i++] != ';')
			return (-1);
		while (i < len && hg_ws((unsigned char)l[i]))
			i++;
		for (n = 0; i < len && hg_tchar((unsigned char)l[i]); i++)
			n++;
		if (n == 0)
			return (-1);
		while (i < len && hg_ws((unsigned char)l[i]))
			i++;
		if (i == len || l[i] != '=')
			continue;
		i++;
		while (i < len && hg_ws((unsigned char)l[i]))
			i++;
		if (i < len && l[i] == '"') {
			for (i++; i < len && l[i] != '"'; i++) {
				c = l[i];
				if (c == '\\') {
					if (++i == len)
						return (-1);
					c = l[i];
					if (!hg_vchar(c))
						return (-1);
				} else if (!hg_vchar(c))
					return (-1);
			}
			if (i == len)
				return (-1);
			i++;
			continue;
		}
		for (n = 0; i < len && hg_tchar((unsigned char)l[i]); i++)
			n++;
		if (n == 0)
			return (-1);
	}
}

/*
 * The stream machine.
 */

void
http_stream_init(struct http_stream *s, uint64_t limit, http_emit_cb emit,
    void *arg)
{
	memset(s, 0, sizeof(*s));
	s->state = HS_HEAD;
	s->limit = limit;
	s->emit = emit;
	s->arg = arg;
}

void
http_stream_free(struct http_stream *s)
{
	free(s->buf);
	s->buf = NULL;
	s->len = s->cap = s->line = 0;
}

static void
hs_emit(struct http_stream *s, const char *p, size_t len)
{
	if (len > 0)
		s->emit(s->arg, p, len);
}

static void
hs_done(struct http_stream *s)
{
	s->state = HS_HEAD;
	s->inreq = 0;
	s->len = s->line = 0;
	/* a large header buffer goes with its request */
	if (s->cap > 1024) {
		free(s->buf);
		s->buf = NULL;
		s->cap = 0;
	}
}

void
http_stream_refuse(struct http_stream *s, int status, const char *msg)
{
	if (s->state == HS_DEAD)
		return;
	if (s->state == HS_HEAD) {
		/* the stand-in takes the refused request's place */
		s->reject_at = s->nemitted++;
		hs_emit(s, HG_STANDIN, strlen(HG_STANDIN));
	} else {
		/* a body is being passed: end it where it stands */
		s->reject_at = s->nemitted - 1;
		if (s->state == HS_CHUNK_LINE || s->state == HS_TRAILER)
			hs_emit(s, "0\r\n\r\n", 5);
		else if (s->state == HS_CHUNK_END)
			hs_emit(s, "\r\n0\r\n\r\n", 7);
		/*
		 * HS_BODY, HS_CHUNK_DATA: evhttp waits for the rest of the
		 * body, which never comes; the caller closes the
		 * connection instead (the deadline does)
		 */
	}
	s->status = status;
	snprintf(s->msg, sizeof(s->msg), "%s", msg);
	s->state = HS_DEAD;
	s->inreq = 0;
	free(s->buf);
	s->buf = NULL;
	s->len = s->cap = s->line = 0;
}

/* Appends to buf, up to max bytes in all; -1 when it would not fit. */
static int
hs_put(struct http_stream *s, const char *p, size_t len, size_t max)
{
	size_t	 ncap;
	char	*nb;

	if (len > max - s->len)
		return (-1);
	if (s->len + len > s->cap) {
		ncap = s->cap == 0 ? 512 : s->cap;
		while (ncap < s->len + len)
			ncap *= 2;
		if (ncap > max)
			ncap = max;
		if ((nb = realloc(s->buf, ncap)) == NULL)
			return (-1);
		s->buf = nb;
		s->cap = ncap;
	}
	memcpy(s->buf + s->len, p, len);
	s->len += len;
	return (0);
}

/*
 * Collects bytes up to and including the next LF into buf.  Returns the
 * bytes used; *eol is set when a line ended.
 */
static size_t
hs_line(struct http_stream *s, const char *p, size_t len, size_t max,
    int *eol, int *over)
{
	const char	*nl;
	size_t		 n;

	*eol = *over = 0;
	if ((nl = memchr(p, '\n', len)) != NULL) {
		n = nl - p + 1;
		*eol = 1;
	} else
		n = len;
	if (hs_put(s, p, n, max) == -1)
		*over = 1;
	return (n);
}

static void
hs_head_done(struct http_stream *s)
{
	struct http_head	 h;
	char			 msg[sizeof(s->msg)];
	int			 status;

	if ((status = http_head_check(s->buf, s->len, s->limit, &h, msg,
	    sizeof(msg))) != 0) {
		http_stream_refuse(s, status, msg);
		return;
	}
	hs_emit(s, s->buf, s->len);
	s->nemitted++;
	s->len = s->line = 0;
	s->total = 0;
	switch (h.body) {
	case HB_LENGTH:
		s->state = HS_BODY;
		s->remain = h.length;
		break;
	case HB_CHUNKED:
		s->state = HS_CHUNK_LINE;
		break;
	default:
		hs_done(s);
		break;
	}
}

static void
hs_chunk_line(struct http_stream *s)
{
	char		 out[24];
	uint64_t	 size;
	size_t		 ll;
	char		 msg[64];

	ll = s->len - 1;		/* the LF */
	if (ll > 0 && s->buf[ll - 1] == '\r')
		ll--;
	if (http_chunk_line(s->buf, ll, &size) == -1) {
		http_stream_refuse(s, 400, "malformed chunk size line");
		return;
	}
	s->len = 0;
	if (size == 0) {
		s->state = HS_TRAILER;
		s->line = 0;
		return;
	}
	if (size > s->limit || s->total + size > s->limit) {
		snprintf(msg, sizeof(msg), "request body larger than %llu "
		    "bytes", (unsigned long long)s->limit);
		http_stream_refuse(s, 413, msg);
		return;
	}
	s->total += size;
	snprintf(out, sizeof(out), "%llx\r\n", (unsigned long long)size);
	hs_emit(s, out, strlen(out));
	s->remain = size;
	s->state = HS_CHUNK_DATA;
}

void
http_stream_feed(struct http_stream *s, const char *p, size_t len)
{
	const char	*l, *name, *val;
	size_t		 n, ll, namelen, vallen;
	int		 eol, over;

	while (len > 0) {
		switch (s->state) {
		case HS_DEAD:
			return;
		case HS_HEAD:
			if (!s->inreq) {
				/* empty lines before a request are ignored */
				if (*p == '\n' || (*p == '\r' && !s->cr)) {
					s->cr = *p == '\r';
					p++;
					len--;
					continue;
				}
				if (s->cr) {
					http_stream_refuse(s, 400,
					    "bare CR in header block");
					return;
				}
				s->inreq = 1;
				s->nstarted++;
			}
			n = hs_line(s, p, len, HG_HEAD_MAX, &eol, &over);
			p += n;
			len -= n;
			if (over) {
				http_stream_refuse(s, 431, "request header "
				    "block larger than 16384 bytes");
				return;
			}
			if (!eol)
				break;
			l = s->buf + s->line;
			ll = s->len - s->line;
			/* the empty line (not the request line) ends it */
			if (s->line > 0 && (ll == 1 || (ll == 2 &&
			    l[0] == '\r')))
				hs_head_done(s);
			else
				s->line = s->len;
			break;
		case HS_BODY:
			n = len < s->remain ? len : (size_t)s->remain;
			hs_emit(s, p, n);
			p += n;
			len -= n;
			if ((s->remain -= n) == 0)
				hs_done(s);
			break;
		case HS_CHUNK_LINE:
			n = hs_line(s, p, len, HG_CHUNKLINE_MAX, &eol, &over);
			p += n;
			len -= n;
			if (over) {
				http_stream_refuse(s, 400,
				    "chunk size line too long");
				return;
			}
			if (eol)
				hs_chunk_line(s);
			break;
		case HS_CHUNK_DATA:
			n = len < s->remain ? len : (size_t)s->remain;
			hs_emit(s, p, n);
			p += n;
			len -= n;
			if ((s->remain -= n) == 0) {
				s->state = HS_CHUNK_END;
				s->len = 0;
			}
			break;
		case HS_CHUNK_END:
			/* CRLF or LF, nothing else */
			if (s->len == 0 && *p == '\r') {
				s->len = 1;
				p++;
				len--;
				break;
			}
			if (*p != '\n') {
				http_stream_refuse(s, 400,
				    "chunk data not followed by CRLF");
				return;
			}
			p++;
			len--;
			hs_emit(s, "\r\n", 2);
			s->len = 0;
			s->state = HS_CHUNK_LINE;
			break;
		case HS_TRAILER:
			n = hs_line(s, p, len, HG_TRAILER_MAX, &eol, &over);
			p += n;
			len -= n;
			if (over) {
				http_stream_refuse(s, 431,
				    "trailer section too large");
				return;
			}
			if (!eol)
				break;
			l = s->buf + s->line;
			ll = s->len - s->line - 1;
			if (ll > 0 && l[ll - 1] == '\r')
				ll--;
			if (ll == 0) {
				/* trailers are checked, then dropped */
				hs_emit(s, "0\r\n\r\n", 5);
				hs_done(s);
				break;
			}
			if (memchr(l, '\r', ll) != NULL ||
			    http_field_line(l, ll, &name, &namelen, &val,
			    &vallen) == -1) {
				http_stream_refuse(s, 400,
				    "malformed trailer field");
				return;
			}
			s->line = s->len;
			break;
		}
	}
}
