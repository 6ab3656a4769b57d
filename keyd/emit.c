/*
 * A writer of canonical JSON (RFC 8785, JCS) for documents whose members
 * keyd names itself.  What makes it canonical here:
 *   - members come in ascending order of their names (every name keyd
 *     writes is ASCII, so byte order is UTF-16 order); the writer checks
 *     each name against the one before it and stops keyd otherwise;
 *   - strings are escaped as JCS says: '"', '\\' and U+0000..U+001F
 *     (\b \t \n \f \r or \u00xx), everything else verbatim;
 *   - numbers are integers within 2^53 - 1 (printed as such), and fee
 *     rates, which are k/10^6 and printed as the shortest decimal that
 *     reads back to that double, which is k/10^6 itself.
 * Values come from keyd's validated fields, so none of them is parsed.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyd.h"
#include "log.h"

void
jw_raw(struct jw *w, const char *s, size_t n)
{
	size_t	 size;

	if (w->len + n + 1 > w->size) {
		size = w->size == 0 ? 4096 : w->size;
		while (w->len + n + 1 > size)
			size *= 2;
		if (size > KEYD_DOC_MAX)
			fatalx("%s: document larger than %d bytes", __func__,
			    KEYD_DOC_MAX);
		if ((w->buf = realloc(w->buf, size)) == NULL)
			fatal("%s", __func__);
		w->size = size;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

static void
jw_quoted(struct jw *w, const char *s)
{
	char	 esc[8];

	jw_raw(w, "\"", 1);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\') {
			esc[0] = '\\';
			esc[1] = *s;
			jw_raw(w, esc, 2);
		} else if ((unsigned char)*s < 0x20) {
			if (*s == '\b' || *s == '\t' || *s == '\n' ||
			    *s == '\f' || *s == '\r') {
				esc[0] = '\\';
				esc[1] = "btn?fr"[*s - '\b'];
				jw_raw(w, esc, 2);
			} else {
				snprintf(esc, sizeof(esc), "\\u%04x",
				    (unsigned int)(unsigned char)*s);
				jw_raw(w, esc, 6);
			}
		} else
			jw_raw(w, s, 1);
	}
	jw_raw(w, "\"", 1);
}

/* The separator, and the member name (NULL inside arrays), checked. */
static void
jw_member(struct jw *w, const char *name)
{
	int	 d = w->depth;

	if (w->count[d]++ > 0)
		jw_raw(w, ",", 1);
	if (name == NULL)
		return;
	if (w->last[d] != NULL && strcmp(w->last[d], name) >= 0)
		fatalx("%s: member \"%s\" after \"%s\": not canonical",
		    __func__, name, w->last[d]);
	w->last[d] = name;
	jw_quoted(w, name);
	jw_raw(w, ":", 1);
}

void
jw_open(struct jw *w, const char *name, char c)
{
	if (w->depth > 0 || w->count[0] > 0)
		jw_member(w, name);
	if (++w->depth >= JW_DEPTH)
		fatalx("%s: too deep", __func__);
	w->count[w->depth] = 0;
	w->last[w->depth] = NULL;
	jw_raw(w, &c, 1);
}

void
jw_close(struct jw *w, char c)
{
	if (w->depth == 0)
		fatalx("%s: nothing open", __func__);
	w->depth--;
	jw_raw(w, &c, 1);
}

void
jw_str(struct jw *w, const char *name, const char *s)
{
	jw_member(w, name);
	jw_quoted(w, s);
}

void
jw_int(struct jw *w, const char *name, int64_t v)
{
	char	 buf[24];

	if (v < -KEYD_JS_INT_MAX || v > KEYD_JS_INT_MAX)
		fatalx("%s: %s out of range", __func__, name);
	jw_member(w, name);
	jw_raw(w, buf, (size_t)snprintf(buf, sizeof(buf), "%" PRId64, v));
}

void
jw_bool(struct jw *w, const char *name, int v)
{
	jw_member(w, name);
	jw_raw(w, v ? "true" : "false", v ? 4 : 5);
}

void
jw_ppm(struct jw *w, const char *name, uint32_t ppm)
{
	char	 buf[16];
	size_t	 n;

	if (ppm > 1000000)
		fatalx("%s: %s out of range", __func__, name);
	jw_member(w, name);
	if (ppm == 0 || ppm == 1000000) {
		jw_raw(w, ppm == 0 ? "0" : "1", 1);
		return;
	}
	n = (size_t)snprintf(buf, sizeof(buf), "0.%06" PRIu32, ppm);
	while (buf[n - 1] == '0')
		n--;
	jw_raw(w, buf, n);
}

void
jw_sig(struct jw *w)
{
	if (w->sig != NULL)
		jw_str(w, "signature", w->sig);
}
