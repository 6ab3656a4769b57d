/*
 * Copyright (c) 2026 The relayd authors
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
 * Canonical JSON: a strict parser for untrusted input and the serializer
 * that reproduces the reference relay's canonicalJson() byte for byte
 * (UTF-16 key order, ECMAScript string escaping and number formatting).
 *
 * Numbers go through snprintf("%e") and strtod(), which follow LC_NUMERIC;
 * the daemons never call setlocale(), so this is always the "C" locale.
 */

#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jcs.h"

#define TWO_POW_53	9007199254740992LL

struct jparser {
	const unsigned char	*buf;
	size_t			 len;
	size_t			 pos;
	int			 depth;
	unsigned char		*sbuf;	/* stack of unescaped strings, */
	size_t			 stop;	/* its first free byte */
	size_t			 scap;
	char			*err;
	size_t			 errlen;
	int			 failed;
	int			 flags;	/* JCS_ALLOW_NUL */
};

/* A decoded string: either in the input or at sbuf + off. */
struct jstr {
	const unsigned char	*ptr;
	size_t			 off;
	size_t			 len;
	int			 scratch;
};

struct jbuf {
	char			*p;
	size_t			 len;
	size_t			 cap;
	int			 failed;
};

struct jmember {
	const char		*key;
	size_t			 klen;
	json_t			*val;
};

/* v ~ d[0].d[1]..d[16] * 10^e */
struct digits17 {
	char			 d[18];
	int			 e;
};

struct u16iter {
	const unsigned char	*s;
	size_t			 len;
	size_t			 pos;
	int			 pending;	/* low surrogate to emit */
};

static void	 perr(struct jparser *, size_t, const char *, ...)
		    __attribute__((__format__(printf, 3, 4)));
static void	 perr_char(struct jparser *, size_t, const char *);
static void	 skip_ws(struct jparser *);
static size_t	 utf8_seqlen(const unsigned char *, size_t);
static int	 sbuf_reserve(struct jparser *, size_t);
static int	 sbuf_put(struct jparser *, const unsigned char *, size_t);
static void	 sbuf_put_wtf8(struct jparser *, uint32_t);
static int	 hex4(const unsigned char *, uint32_t *);
static int	 parse_string(struct jparser *, struct jstr *);
static json_t	*parse_number(struct jparser *);
static json_t	*parse_literal(struct jparser *, const char *, size_t);
static json_t	*parse_array(struct jparser *);
static void	 key_excerpt(const unsigned char *, size_t, char *, size_t);
static json_t	*parse_object(struct jparser *);
static json_t	*parse_value(struct jparser *);

static void	 buf_grow(struct jbuf *, size_t);
static void	 buf_add(struct jbuf *, const void *, size_t);
static void	 buf_addc(struct jbuf *, char);
static void	 emit_string(struct jbuf *, const unsigned char *, size_t);
static void	 emit_number(struct jbuf *, const json_t *);
static int	 u16next(struct u16iter *);
static int	 utf16_cmp(const char *, size_t, const char *, size_t);
static int	 member_cmp(const void *, const void *);
static void	 emit_value(struct jbuf *, const json_t *, int, int);

static void	 digits17(double, struct digits17 *);
static void	 nearest_digits(double, const struct digits17 *, int,
		    uint64_t *, int *);
static int	 reads_back(uint64_t, int, double);
static int	 try_digits(double, const struct digits17 *, int, int,
		    uint64_t *, int *);
static int	 shortest_digits(double, char *, size_t, int *);

/*
 * Parser.
 */

static void
perr(struct jparser *p, size_t off, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[160];

	if (p->failed)
		return;
	p->failed = 1;
	if (p->err == NULL || p->errlen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(void)snprintf(p->err, p->errlen, "%s at offset %zu", msg, off);
}

/* Report an unexpected byte, shown so that it is safe to log. */
static void
perr_char(struct jparser *p, size_t off, const char *what)
{
	unsigned char	 c = p->buf[off];

	if (c == '\0')
		perr(p, off, "NUL byte");
	else if (c >= 0x20 && c < 0x7f)
		perr(p, off, "%s '%c'", what, c);
	else
		perr(p, off, "%s 0x%02x", what, c);
}

static void
skip_ws(struct jparser *p)
{
	while (p->pos < p->len) {
		switch (p->buf[p->pos]) {
		case ' ':
		case '\t':
		case '\n':
		case '\r':
			p->pos++;
			break;
		default:
			return;
		}
	}
}

/*
 * Length of the well-formed UTF-8 sequence (RFC 3629) at s, or 0 if it is
 * not one: overlong forms, surrogates, code points above U+10FFFF and
 * truncated sequences are all refused.
 */
static size_t
utf8_seqlen(const unsigned char *s, size_t avail)
{
	unsigned char	 c = s[0], lo = 0x80, hi = 0xbf;
	size_t		 n, i;

	if (c < 0x80)
		return (1);
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return (0);
	if (avail < n)
		return (0);
	if (s[1] < lo || s[1] > hi)
		return (0);
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return (0);
	return (n);
}

static int
sbuf_reserve(struct jparser *p, size_t n)
{
	unsigned char	*nb;
	size_t		 ncap;

	if (p->scap - p->stop >= n)
		return (0);
	ncap = p->scap ? p->scap : 256;
	while (ncap - p->stop < n) {
		if (ncap > SIZE_MAX / 2)
			return (-1);
		ncap *= 2;
	}
	if ((nb = realloc(p->sbuf, ncap)) == NULL)
		return (-1);
	p->sbuf = nb;
	p->scap = ncap;
	return (0);
}

static int
sbuf_put(struct jparser *p, const unsigned char *s, size_t n)
{
	if (n == 0)
		return (0);
	if (sbuf_reserve(p, n) == -1)
		return (-1);
	memcpy(p->sbuf + p->stop, s, n);
	p->stop += n;
	return (0);
}

/*
 * Append a code point as UTF-8.  Surrogates (only lone ones get here)
 * come out as their 3-byte WTF-8 form.  Space has been reserved.
 */
static void
sbuf_put_wtf8(struct jparser *p, uint32_t cp)
{
	unsigned char	*d = p->sbuf + p->stop;

	if (cp < 0x80) {
		d[0] = cp;
		p->stop += 1;
	} else if (cp < 0x800) {
		d[0] = 0xc0 | (cp >> 6);
		d[1] = 0x80 | (cp & 0x3f);
		p->stop += 2;
	} else if (cp < 0x10000) {
		d[0] = 0xe0 | (cp >> 12);
		d[1] = 0x80 | ((cp >> 6) & 0x3f);
		d[2] = 0x80 | (cp & 0x3f);
		p->stop += 3;
	} else {
		d[0] = 0xf0 | (cp >> 18);
		d[1] = 0x80 | ((cp >> 12) & 0x3f);
		d[2] = 0x80 | ((cp >> 6) & 0x3f);
		d[3] = 0x80 | (cp & 0x3f);
		p->stop += 4;
	}
}

static int
hex4(const unsigned char *s, uint32_t *v)
{
	uint32_t	 r = 0;
	int		 i, d;

	for (i = 0; i < 4; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			d = s[i] - '0';
		else if (s[i] >= 'a' && s[i] <= 'f')
			d = s[i] - 'a' + 10;
		else if (s[i] >= 'A' && s[i] <= 'F')
			d = s[i] - 'A' + 10;
		else
			return (-1);
		r = (r << 4) | d;
	}
	*v = r;
	return (0);
}

/*
 * p->pos is at the opening quote.  A string without escapes is returned
 * in place; otherwise it is unescaped onto the scratch stack, which the
 * caller pops (p->stop = s->off) once it is done with it.
 */
static int
parse_string(struct jparser *p, struct jstr *s)
{
	const unsigned char	*b = p->buf;
	size_t			 start, n;
	uint32_t		 cp, lo;
	unsigned char		 c;

	start = ++p->pos;
	for (;;) {
		if (p->pos >= p->len)
			goto eof;
		c = b[p->pos];
		if (c == '"') {
			s->ptr = b + start;
			s->len = p->pos - start;
			s->off = 0;
			s->scratch = 0;
			p->pos++;
			return (0);
		}
		if (c == '\\')
			break;
		if (c < 0x20)
			goto ctrl;
		if (c < 0x80)
			p->pos++;
		else if ((n = utf8_seqlen(b + p->pos, p->len - p->pos)) == 0)
			goto badutf8;
		else
			p->pos += n;
	}

	/* Slow path: there are escapes. */
	s->off = p->stop;
	s->scratch = 1;
	if (sbuf_put(p, b + start, p->pos - start) == -1)
		goto nomem;
	for (;;) {
		if (p->pos >= p->len)
			goto eof;
		c = b[p->pos];
		if (c == '"') {
			s->len = p->stop - s->off;
			s->ptr = NULL;
			p->pos++;
			return (0);
		}
		if (c < 0x20)
			goto ctrl;
		if (c != '\\') {
			if (c < 0x80)
				n = 1;
			else if ((n = utf8_seqlen(b + p->pos,
			    p->len - p->pos)) == 0)
				goto badutf8;
			if (sbuf_put(p, b + p->pos, n) == -1)
				goto nomem;
			p->pos += n;
			continue;
		}
		if (p->pos + 1 >= p->len)
			goto eof;
		if (sbuf_reserve(p, 4) == -1)
			goto nomem;
		c = b[p->pos + 1];
		switch (c) {
		case '"':
		case '\\':
		case '/':
			break;
		case 'b':
			c = '\b';
			break;
		case 'f':
			c = '\f';
			break;
		case 'n':
			c = '\n';
			break;
		case 'r':
			c = '\r';
			break;
		case 't':
			c = '\t';
			break;
		case 'u':
			if (p->len - p->pos < 6 || hex4(b + p->pos + 2, &cp)) {
				perr(p, p->pos, "invalid \\u escape");
				return (-1);
			}
			p->pos += 6;
			if (cp >= 0xd800 && cp <= 0xdbff &&
			    p->len - p->pos >= 6 && b[p->pos] == '\\' &&
			    b[p->pos + 1] == 'u' &&
			    hex4(b + p->pos + 2, &lo) == 0 &&
			    lo >= 0xdc00 && lo <= 0xdfff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
				p->pos += 6;
			}
			/*
			 * One rule for every string from outside: \u0000
			 * would cut it short wherever it is read as a C
			 * string (issue 8, finding 7).
			 */
			if (cp == 0 && !(p->flags & JCS_ALLOW_NUL)) {
				perr(p, p->pos - 6, "\\u0000 (NUL) in string");
				return (-1);
			}
			/* A lone surrogate stays as WTF-8, as JS keeps it. */
			sbuf_put_wtf8(p, cp);
			continue;
		default:
			perr(p, p->pos, "invalid escape");
			return (-1);
		}
		p->sbuf[p->stop++] = c;
		p->pos += 2;
	}

 eof:
	perr(p, p->pos, "unterminated string");
	return (-1);
 ctrl:
	if (c == '\0')
		perr(p, p->pos, "NUL byte in string");
	else
		perr(p, p->pos, "raw control character 0x%02x in string", c);
	return (-1);
 badutf8:
	perr(p, p->pos, "invalid UTF-8");
	return (-1);
 nomem:
	perr(p, p->pos, "out of memory");
	return (-1);
}

static json_t *
parse_number(struct jparser *p)
{
	const unsigned char	*b = p->buf;
	size_t			 start = p->pos, n;
	uint64_t		 acc = 0, lim;
	int			 neg = 0, isint = 1, ovf = 0, whole;
	char			 sbuf[64], *lex, *ep;
	double			 d;
	json_t			*v;

	if (b[p->pos] == '-') {
		neg = 1;
		p->pos++;
	}
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	if (p->pos >= p->len || b[p->pos] < '0' || b[p->pos] > '9') {
		perr(p, start, "invalid number");
		return (NULL);
	}
	if (b[p->pos] == '0') {
		p->pos++;
		if (p->pos < p->len && b[p->pos] >= '0' && b[p->pos] <= '9') {
			perr(p, start, "leading zero in number");
			return (NULL);
		}
	} else {
		while (p->pos < p->len && b[p->pos] >= '0' &&
		    b[p->pos] <= '9') {
			if (!ovf) {
				if (acc > (lim - (b[p->pos] - '0')) / 10)
					ovf = 1;
				else
					acc = acc * 10 + (b[p->pos] - '0');
			}
			p->pos++;
		}
	}
	if (p->pos < p->len && b[p->pos] == '.') {
		isint = 0;
		p->pos++;
		if (p->pos >= p->len || b[p->pos] < '0' || b[p->pos] > '9') {
			perr(p, p->pos, "digit expected after '.'");
			return (NULL);
		}
		while (p->pos < p->len && b[p->pos] >= '0' &&
		    b[p->pos] <= '9')
			p->pos++;
	}
	if (p->pos < p->len && (b[p->pos] == 'e' || b[p->pos] == 'E')) {
		isint = 0;
		p->pos++;
		if (p->pos < p->len && (b[p->pos] == '+' || b[p->pos] == '-'))
			p->pos++;
		if (p->pos >= p->len || b[p->pos] < '0' || b[p->pos] > '9') {
			perr(p, p->pos, "digit expected in exponent");
			return (NULL);
		}
		while (p->pos < p->len && b[p->pos] >= '0' &&
		    b[p->pos] <= '9')
			p->pos++;
	}

	if (isint && !ovf) {
		/* acc <= 2^63 when negative: negate in unsigned arithmetic. */
		if (neg)
			v = json_integer((json_int_t)(0 - acc));
		else
			v = json_integer((json_int_t)acc);
		if (v == NULL)
			perr(p, start, "out of memory");
		return (v);
	}

	n = p->pos - start;
	if (n < sizeof(sbuf))
		lex = sbuf;
	else if ((lex = malloc(n + 1)) == NULL) {
		perr(p, start, "out of memory");
		return (NULL);
	}
	memcpy(lex, b + start, n);
	lex[n] = '\0';
	/* Underflow (ERANGE with 0 or a subnormal) is fine, inf is not. */
	d = strtod(lex, &ep);
	whole = ep == lex + n;
	if (lex != sbuf)
		free(lex);
	if (!whole || isinf(d) || isnan(d)) {
		perr(p, start, "number out of range");
		return (NULL);
	}
	if ((v = json_real(d)) == NULL)
		perr(p, start, "out of memory");
	return (v);
}

static json_t *
parse_literal(struct jparser *p, const char *word, size_t wlen)
{
	json_t	*v;

	if (p->len - p->pos < wlen || memcmp(p->buf + p->pos, word, wlen)) {
		perr(p, p->pos, "invalid literal");
		return (NULL);
	}
	p->pos += wlen;
	if (word[0] == 't')
		v = json_true();
	else if (word[0] == 'f')
		v = json_false();
	else
		v = json_null();
	return (v);
}

static json_t *
parse_array(struct jparser *p)
{
	json_t	*a, *v;

	if (++p->depth > JCS_MAX_DEPTH) {
		perr(p, p->pos, "nesting deeper than %d", JCS_MAX_DEPTH);
		return (NULL);
	}
	if ((a = json_array()) == NULL) {
		perr(p, p->pos, "out of memory");
		return (NULL);
	}
	p->pos++;
	skip_ws(p);
	if (p->pos < p->len && p->buf[p->pos] == ']') {
		p->pos++;
		p->depth--;
		return (a);
	}
	for (;;) {
		if ((v = parse_value(p)) == NULL)
			goto fail;
		if (json_array_append_new(a, v) == -1) {
			perr(p, p->pos, "out of memory");
			goto fail;
		}
		skip_ws(p);
		if (p->pos >= p->len) {
			perr(p, p->pos, "unterminated array");
			goto fail;
		}
		if (p->buf[p->pos] == ']') {
			p->pos++;
			break;
		}
		if (p->buf[p->pos] != ',') {
			perr_char(p, p->pos, "expected ',' or ']', got");
			goto fail;
		}
		p->pos++;
	}
	p->depth--;
	return (a);
 fail:
	json_decref(a);
	return (NULL);
}

/* Print at most 40 bytes of a key so that the message is safe to log. */
static void
key_excerpt(const unsigned char *k, size_t klen, char *out, size_t outlen)
{
	size_t	 i, o = 0;

	for (i = 0; i < klen && i < 40 && o + 5 < outlen; i++) {
		if (k[i] >= 0x20 && k[i] < 0x7f && k[i] != '"' &&
		    k[i] != '\\')
			out[o++] = k[i];
		else
			o += snprintf(out + o, outlen - o, "\\x%02x", k[i]);
	}
	if (i < klen && o + 4 < outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

static json_t *
parse_object(struct jparser *p)
{
	json_t		*o, *v;
	struct jstr	 k;
	const char	*kp;
	size_t		 kpos;
	char		 ex[200];

	if (++p->depth > JCS_MAX_DEPTH) {
		perr(p, p->pos, "nesting deeper than %d", JCS_MAX_DEPTH);
		return (NULL);
	}
	if ((o = json_object()) == NULL) {
		perr(p, p->pos, "out of memory");
		return (NULL);
	}
	p->pos++;
	skip_ws(p);
	if (p->pos < p->len && p->buf[p->pos] == '}') {
		p->pos++;
		p->depth--;
		return (o);
	}
	for (;;) {
		skip_ws(p);
		if (p->pos >= p->len) {
			perr(p, p->pos, "unterminated object");
			goto fail;
		}
		if (p->buf[p->pos] != '"') {
			perr_char(p, p->pos, "expected string key, got");
			goto fail;
		}
		kpos = p->pos;
		if (parse_string(p, &k) == -1)
			goto fail;
		kp = (const char *)(k.scratch ? p->sbuf + k.off : k.ptr);
		if (json_object_getn(o, kp, k.len) != NULL) {
			key_excerpt((const unsigned char *)kp, k.len, ex,
			    sizeof(ex));
			perr(p, kpos, "duplicate key \"%s\"", ex);
			goto fail;
		}
		skip_ws(p);
		if (p->pos >= p->len || p->buf[p->pos] != ':') {
			if (p->pos >= p->len)
				perr(p, p->pos, "unterminated object");
			else
				perr_char(p, p->pos, "expected ':', got");
			goto fail;
		}
		p->pos++;
		/* The value may push strings above the key; sbuf may move. */
		if ((v = parse_value(p)) == NULL)
			goto fail;
		kp = (const char *)(k.scratch ? p->sbuf + k.off : k.ptr);
		if (json_object_setn_new_nocheck(o, kp, k.len, v) == -1) {
			perr(p, p->pos, "out of memory");
			goto fail;
		}
		if (k.scratch)
			p->stop = k.off;
		skip_ws(p);
		if (p->pos >= p->len) {
			perr(p, p->pos, "unterminated object");
			goto fail;
		}
		if (p->buf[p->pos] == '}') {
			p->pos++;
			break;
		}
		if (p->buf[p->pos] != ',') {
			perr_char(p, p->pos, "expected ',' or '}', got");
			goto fail;
		}
		p->pos++;
	}
	p->depth--;
	return (o);
 fail:
	json_decref(o);
	return (NULL);
}

static json_t *
parse_value(struct jparser *p)
{
	struct jstr	 s;
	json_t		*v;
	unsigned char	 c;

	skip_ws(p);
	if (p->pos >= p->len) {
		perr(p, p->pos, "unexpected end of input");
		return (NULL);
	}
	c = p->buf[p->pos];
	switch (c) {
	case '{':
		return (parse_object(p));
	case '[':
		return (parse_array(p));
	case '"':
		if (parse_string(p, &s) == -1)
			return (NULL);
		if (s.scratch) {
			v = json_stringn_nocheck((const char *)p->sbuf + s.off,
			    s.len);
			p->stop = s.off;
		} else
			v = json_stringn_nocheck((const char *)s.ptr, s.len);
		if (v == NULL)
			perr(p, p->pos, "out of memory");
		return (v);
	case 't':
		return (parse_literal(p, "true", 4));
	case 'f':
		return (parse_literal(p, "false", 5));
	case 'n':
		return (parse_literal(p, "null", 4));
	default:
		if (c == '-' || (c >= '0' && c <= '9'))
			return (parse_number(p));
		perr_char(p, p->pos, "unexpected character");
		return (NULL);
	}
}

json_t *
jcs_parse(const char *buf, size_t len, char *err, size_t errlen)
{
	return (jcs_parse_flags(buf, len, 0, err, errlen));
}

json_t *
jcs_parse_flags(const char *buf, size_t len, int flags, char *err,
    size_t errlen)
{
	struct jparser	 p;
	json_t		*v;

	memset(&p, 0, sizeof(p));
	p.flags = flags;
	p.buf = (const unsigned char *)buf;
	p.len = len;
	p.err = err;
	p.errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';

	if (buf == NULL) {
		perr(&p, 0, "no input");
		return (NULL);
	}
	v = parse_value(&p);
	if (v != NULL) {
		skip_ws(&p);
		if (p.pos != p.len) {
			if (p.buf[p.pos] == '\0')
				perr(&p, p.pos, "NUL byte");
			else
				perr(&p, p.pos, "trailing garbage");
			json_decref(v);
			v = NULL;
		}
	}
	free(p.sbuf);
	return (v);
}

/*
 * Serializer.
 */

static void
buf_grow(struct jbuf *b, size_t n)
{
	char	*np;
	size_t	 ncap;

	if (b->failed)
		return;
	if (b->cap - b->len > n)	/* keep room for the final NUL */
		return;
	ncap = b->cap ? b->cap : 256;
	while (ncap - b->len <= n) {
		if (ncap > SIZE_MAX / 2) {
			b->failed = 1;
			return;
		}
		ncap *= 2;
	}
	if ((np = realloc(b->p, ncap)) == NULL) {
		b->failed = 1;
		return;
	}
	b->p = np;
	b->cap = ncap;
}

static void
buf_add(struct jbuf *b, const void *s, size_t n)
{
	buf_grow(b, n);
	if (b->failed)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void
buf_addc(struct jbuf *b, char c)
{
	buf_grow(b, 1);
	if (b->failed)
		return;
	b->p[b->len++] = c;
}

/*
 * A string as ECMAScript JSON.stringify() writes it.  The bytes are UTF-8,
 * possibly with WTF-8 surrogates: a lone one is written as \udxxx, a
 * high/low pair as the UTF-8 of the code point it stands for.  Anything
 * else that is not UTF-8 makes the serialization fail.
 */
static void
emit_string(struct jbuf *b, const unsigned char *s, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 i = 0, run, n;
	uint32_t		 hi, lo, cp;
	unsigned char		 c, u[4];
	char			 esc[6];

	buf_addc(b, '"');
	while (i < len && !b->failed) {
		/* Copy the longest run that needs no attention. */
		run = i;
		while (run < len && s[run] >= 0x20 && s[run] < 0x80 &&
		    s[run] != '"' && s[run] != '\\')
			run++;
		if (run > i) {
			buf_add(b, s + i, run - i);
			i = run;
			continue;
		}
		c = s[i];
		if (c < 0x80) {
			esc[0] = '\\';
			switch (c) {
			case '"':
			case '\\':
				esc[1] = c;
				break;
			case '\b':
				esc[1] = 'b';
				break;
			case '\t':
				esc[1] = 't';
				break;
			case '\n':
				esc[1] = 'n';
				break;
			case '\f':
				esc[1] = 'f';
				break;
			case '\r':
				esc[1] = 'r';
				break;
			default:
				memcpy(esc + 1, "u00", 3);
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 0xf];
				buf_add(b, esc, 6);
				i++;
				continue;
			}
			buf_add(b, esc, 2);
			i++;
			continue;
		}
		if ((n = utf8_seqlen(s + i, len - i)) != 0) {
			buf_add(b, s + i, n);
			i += n;
			continue;
		}
		/* Not UTF-8: only a WTF-8 surrogate (ED A0..BF xx) is ok. */
		if (c != 0xed || len - i < 3 || s[i + 1] < 0xa0 ||
		    s[i + 1] > 0xbf || s[i + 2] < 0x80 || s[i + 2] > 0xbf) {
			b->failed = 1;
			break;
		}
		hi = 0xd000 | ((s[i + 1] & 0x3f) << 6) | (s[i + 2] & 0x3f);
		if (hi <= 0xdbff && len - i >= 6 && s[i + 3] == 0xed &&
		    s[i + 4] >= 0xb0 && s[i + 4] <= 0xbf &&
		    s[i + 5] >= 0x80 && s[i + 5] <= 0xbf) {
			lo = 0xd000 | ((s[i + 4] & 0x3f) << 6) |
			    (s[i + 5] & 0x3f);
			cp = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
			u[0] = 0xf0 | (cp >> 18);
			u[1] = 0x80 | ((cp >> 12) & 0x3f);
			u[2] = 0x80 | ((cp >> 6) & 0x3f);
			u[3] = 0x80 | (cp & 0x3f);
			buf_add(b, u, 4);
			i += 6;
			continue;
		}
		esc[0] = '\\';
		esc[1] = 'u';
		esc[2] = hex[(hi >> 12) & 0xf];
		esc[3] = hex[(hi >> 8) & 0xf];
		esc[4] = hex[(hi >> 4) & 0xf];
		esc[5] = hex[hi & 0xf];
		buf_add(b, esc, 6);
		i += 3;
	}
	buf_addc(b, '"');
}

static void
emit_number(struct jbuf *b, const json_t *v)
{
	char		 num[40];
	json_int_t	 iv;
	int		 n;

	if (json_is_integer(v)) {
		iv = json_integer_value(v);
		if (iv >= -TWO_POW_53 && iv <= TWO_POW_53)
			n = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
			    iv);
		else
			/* JS holds only doubles: print what it would. */
			n = jcs_format_double((double)iv, num, sizeof(num));
	} else
		n = jcs_format_double(json_real_value(v), num, sizeof(num));
	if (n < 0 || (size_t)n >= sizeof(num)) {
		b->failed = 1;
		return;
	}
	buf_add(b, num, n);
}

/*
 * Next UTF-16 code unit of a UTF-8 (or WTF-8) string, -1 at the end.
 * Bytes that do not decode stand for themselves; such a string cannot be
 * serialized anyway, this only has to give qsort() a consistent order.
 */
static int
u16next(struct u16iter *it)
{
	const unsigned char	*s = it->s + it->pos;
	size_t			 avail = it->len - it->pos, n, i;
	uint32_t		 cp;
	int			 r;

	if (it->pending) {
		r = it->pending;
		it->pending = 0;
		return (r);
	}
	if (avail == 0)
		return (-1);
	if (s[0] < 0x80) {
		it->pos++;
		return (s[0]);
	}
	if (s[0] >= 0xc0 && s[0] < 0xe0) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] < 0xf0) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] < 0xf8) {
		n = 4;
		cp = s[0] & 0x07;
	} else
		n = 0;
	if (n == 0 || avail < n) {
		it->pos++;
		return (s[0]);
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			it->pos++;
			return (s[0]);
		}
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	it->pos += n;
	if (cp >= 0x10000 && cp <= 0x10ffff) {
		cp -= 0x10000;
		it->pending = 0xdc00 | (cp & 0x3ff);
		return (0xd800 | (cp >> 10));
	}
	return (cp & 0xffff);
}

/* Compare two keys in UTF-16 code unit order, as JS sort() does. */
static int
utf16_cmp(const char *as, size_t alen, const char *bs, size_t blen)
{
	const unsigned char	*a = (const unsigned char *)as;
	const unsigned char	*b = (const unsigned char *)bs;
	struct u16iter		 ia, ib;
	size_t			 i, n;
	int			 ua, ub;

	/* Skip the common prefix, then back up to a character boundary. */
	n = alen < blen ? alen : blen;
	for (i = 0; i < n && a[i] == b[i]; i++)
		;
	if (i == alen || i == blen) {
		if (alen == blen)
			return (0);
		return (alen < blen ? -1 : 1);
	}
	if (a[i] < 0x80 && b[i] < 0x80)
		return (a[i] < b[i] ? -1 : 1);
	while (i > 0 && ((a[i] & 0xc0) == 0x80 || (b[i] & 0xc0) == 0x80))
		i--;

	memset(&ia, 0, sizeof(ia));
	memset(&ib, 0, sizeof(ib));
	ia.s = a;
	ia.len = alen;
	ia.pos = i;
	ib.s = b;
	ib.len = blen;
	ib.pos = i;
	for (;;) {
		ua = u16next(&ia);
		ub = u16next(&ib);
		if (ua != ub)
			return (ua < ub ? -1 : 1);
		if (ua == -1)
			return (0);
	}
}

static int
member_cmp(const void *x, const void *y)
{
	const struct jmember	*a = x, *b = y;

	return (utf16_cmp(a->key, a->klen, b->key, b->klen));
}

static void
emit_value(struct jbuf *b, const json_t *v, int depth, int skip_sig)
{
	struct jmember	 stackm[16], *m;
	json_t		*o = (json_t *)v;
	void		*it;
	size_t		 n, i, cnt;

	if (b->failed)
		return;
	/* depth counts the containers around v, as the parser does. */
	if ((json_is_object(v) || json_is_array(v)) &&
	    depth >= JCS_MAX_DEPTH) {
		b->failed = 1;
		return;
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		n = json_object_size(v);
		if (n <= sizeof(stackm) / sizeof(stackm[0]))
			m = stackm;
		else if ((m = reallocarray(NULL, n, sizeof(*m))) == NULL) {
			b->failed = 1;
			return;
		}
		cnt = 0;
		for (it = json_object_iter(o); it != NULL && cnt < n;
		    it = json_object_iter_next(o, it)) {
			m[cnt].key = json_object_iter_key(it);
			m[cnt].klen = json_object_iter_key_len(it);
			m[cnt].val = json_object_iter_value(it);
			if (skip_sig && m[cnt].klen == 9 &&
			    memcmp(m[cnt].key, "signature", 9) == 0)
				continue;
			cnt++;
		}
		qsort(m, cnt, sizeof(*m), member_cmp);
		buf_addc(b, '{');
		for (i = 0; i < cnt && !b->failed; i++) {
			if (i > 0)
				buf_addc(b, ',');
			emit_string(b, (const unsigned char *)m[i].key,
			    m[i].klen);
			buf_addc(b, ':');
			emit_value(b, m[i].val, depth + 1, 0);
		}
		buf_addc(b, '}');
		if (m != stackm)
			free(m);
		break;
	case JSON_ARRAY:
		n = json_array_size(v);
		buf_addc(b, '[');
		for (i = 0; i < n && !b->failed; i++) {
			if (i > 0)
				buf_addc(b, ',');
			emit_value(b, json_array_get(v, i), depth + 1, 0);
		}
		buf_addc(b, ']');
		break;
	case JSON_STRING:
		emit_string(b, (const unsigned char *)json_string_value(v),
		    json_string_length(v));
		break;
	case JSON_INTEGER:
	case JSON_REAL:
		emit_number(b, v);
		break;
	case JSON_TRUE:
		buf_add(b, "true", 4);
		break;
	case JSON_FALSE:
		buf_add(b, "false", 5);
		break;
	case JSON_NULL:
		buf_add(b, "null", 4);
		break;
	default:
		b->failed = 1;
		break;
	}
}

char *
jcs_serialize(const json_t *v, int skip_signature, size_t *lenp)
{
	struct jbuf	 b;

	if (v == NULL)
		return (NULL);
	memset(&b, 0, sizeof(b));
	emit_value(&b, v, 0, skip_signature);
	buf_grow(&b, 0);
	if (b.failed) {
		free(b.p);
		return (NULL);
	}
	b.p[b.len] = '\0';
	if (lenp != NULL)
		*lenp = b.len;
	return (b.p);
}

/*
 * Numbers.
 */

/*
 * v correctly rounded to 17 significant digits, the most a double needs.
 * glibc's printf rounds exactly (ties to even); it is also the slow part,
 * so it runs once per number and shorter forms are derived from these.
 */
static void
digits17(double v, struct digits17 *r)
{
	char	 tmp[40], *s;
	int	 i;

	(void)snprintf(tmp, sizeof(tmp), "%.16e", v);
	r->d[0] = tmp[0];
	for (i = 1, s = tmp + 2; i < 17; i++, s++)
		r->d[i] = *s;
	r->d[17] = '\0';
	r->e = (int)strtol(s + 1, NULL, 10);
}

/*
 * The decimal of p + 1 significant digits nearest to v, as m * 10^x with
 * m of exactly p + 1 digits.  Rounding the 17 digits again gives the same
 * answer unless their tail is exactly 5000..., where the first rounding
 * may have hidden the direction: ask printf then.
 */
static void
nearest_digits(double v, const struct digits17 *r, int p, uint64_t *mp,
    int *xp)
{
	char		 tmp[40], *s;
	uint64_t	 m = 0, pow10 = 1;
	int		 i, up, x;

	for (i = 0; i <= p; i++) {
		m = m * 10 + (uint64_t)(r->d[i] - '0');
		if (i > 0)
			pow10 *= 10;
	}
	x = r->e - p;
	if (p < 16) {
		up = r->d[p + 1] > '5';
		for (i = p + 2; r->d[p + 1] == '5' && i < 17 && !up; i++)
			if (r->d[i] != '0')
				up = 1;
		if (!up && r->d[p + 1] == '5') {
			/* A tie in the 17 digits, not necessarily in v. */
			(void)snprintf(tmp, sizeof(tmp), "%.*e", p, v);
			m = (uint64_t)(tmp[0] - '0');
			s = tmp + 1;
			if (*s == '.')
				for (s++, i = 0; i < p; i++, s++)
					m = m * 10 + (uint64_t)(*s - '0');
			x = (int)strtol(s + 1, NULL, 10) - p;
		} else if (up && ++m == pow10 * 10) {
			m = pow10;
			x++;
		}
	}
	*mp = m;
	*xp = x;
}

static int
reads_back(uint64_t m, int x, double v)
{
	char	 tmp[40];

	(void)snprintf(tmp, sizeof(tmp), "%" PRIu64 "e%d", m, x);
	return (strtod(tmp, NULL) == v);
}

/*
 * Does a decimal of p + 1 significant digits read back as v?  If so, it
 * is m * 10^x.  The candidate is the nearest such decimal, as ECMAScript
 * wants.  When v is a power of two its rounding interval is narrower
 * below than above, so if the nearest does not read back the neighbour
 * on the other side may; elsewhere the interval is symmetric and the
 * neighbour is never nearer.
 */
static int
try_digits(double v, const struct digits17 *r, int p, int asym,
    uint64_t *mp, int *xp)
{
	uint64_t	 m, pow10 = 1;
	double		 back;
	char		 tmp[40];
	int		 i, x;

	nearest_digits(v, r, p, &m, &x);
	*mp = m;
	*xp = x;
	(void)snprintf(tmp, sizeof(tmp), "%" PRIu64 "e%d", m, x);
	if ((back = strtod(tmp, NULL)) == v)
		return (1);
	if (!asym)
		return (0);
	for (i = 0; i < p; i++)
		pow10 *= 10;
	if (back < v)
		m++;
	else if (m == pow10) {
		m = pow10 * 10 - 1;
		x--;
	} else
		m--;
	if (!reads_back(m, x, v))
		return (0);
	*mp = m;
	*xp = x;
	return (1);
}

/*
 * Shortest decimal digits that read back (round to nearest) as v, for a
 * finite v > 0; among several of the same length the nearest to v, then
 * the even one.  Writes the digits without trailing zeros to digs and
 * returns their count k; *np gets n with v = 0.d1..dk * 10^n.
 *
 * If p + 1 digits read back, so do p + 2: the finer grid has a point at
 * least as near on the same side.  So the length can be searched for.
 * Wire numbers are mostly short (0.05) or full length (scores such as
 * 0.9661396215468546); 15 digits separate the two kinds, 17 always do.
 */
static int
shortest_digits(double v, char *digs, size_t digslen, int *np)
{
	struct digits17	 r;
	uint64_t	 bits, m, bm;
	int		 lo, hi, mid, x, bx, asym, k, p, found = 0;

	memcpy(&bits, &v, sizeof(bits));
	asym = (bits & 0xfffffffffffffULL) == 0 && (bits >> 52 & 0x7ff) > 1;
	digits17(v, &r);
	for (p = 0; p < 4 && !found; p++)
		found = try_digits(v, &r, p, asym, &bm, &bx);
	if (found)
		;
	else if (try_digits(v, &r, 14, asym, &bm, &bx)) {
		lo = 4;
		hi = 14;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (try_digits(v, &r, mid, asym, &m, &x)) {
				hi = mid;
				bm = m;
				bx = x;
			} else
				lo = mid + 1;
		}
	} else if (!try_digits(v, &r, 15, asym, &bm, &bx) &&
	    !try_digits(v, &r, 16, asym, &bm, &bx))
		return (-1);

	/* Digits of m, trailing zeros folded into the exponent. */
	k = snprintf(digs, digslen, "%" PRIu64, bm);
	if (k <= 0 || (size_t)k >= digslen)
		return (-1);
	*np = k + bx;
	while (k > 1 && digs[k - 1] == '0')
		k--;
	digs[k] = '\0';
	return (k);
}

int
jcs_format_double(double v, char *out, size_t outlen)
{
	char	 digs[24], res[40];
	size_t	 o = 0;
	int	 k, n, i, e;

	if (out == NULL || !isfinite(v))
		return (-1);
	if (v == 0) {
		/* both +0 and -0 */
		res[o++] = '0';
		goto done;
	}
	if (v < 0) {
		res[o++] = '-';
		v = -v;
	}
	if ((k = shortest_digits(v, digs, sizeof(digs), &n)) <= 0)
		return (-1);

	if (k <= n && n <= 21) {
		/* integer: digits then n - k zeros */
		memcpy(res + o, digs, k);
		o += k;
		for (i = 0; i < n - k; i++)
			res[o++] = '0';
	} else if (0 < n && n <= 21) {
		memcpy(res + o, digs, n);
		o += n;
		res[o++] = '.';
		memcpy(res + o, digs + n, k - n);
		o += k - n;
	} else if (-6 < n && n <= 0) {
		res[o++] = '0';
		res[o++] = '.';
		for (i = 0; i < -n; i++)
			res[o++] = '0';
		memcpy(res + o, digs, k);
		o += k;
	} else {
		res[o++] = digs[0];
		if (k > 1) {
			res[o++] = '.';
			memcpy(res + o, digs + 1, k - 1);
			o += k - 1;
		}
		e = n - 1;
		o += snprintf(res + o, sizeof(res) - o, "e%c%d",
		    e < 0 ? '-' : '+', e < 0 ? -e : e);
	}
 done:
	if (o >= outlen)
		return (-1);
	memcpy(out, res, o);
	out[o] = '\0';
	return ((int)o);
}

int
jcs_is_canonical(const char *buf, size_t len)
{
	json_t	*v;
	char	*s;
	size_t	 slen;
	int	 r = 0;

	if ((v = jcs_parse_flags(buf, len, JCS_ALLOW_NUL, NULL, 0)) == NULL)
		return (0);
	if ((s = jcs_serialize(v, 0, &slen)) != NULL) {
		r = slen == len && memcmp(s, buf, len) == 0;
		free(s);
	}
	json_decref(v);
	return (r);
}
