/*
 * Shared input rules (validate.h): what keyd signs into a message and
 * what the frontend and the peer engine check before they ask.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "keyd_imsg.h"
#include "validate.h"

static int
verr(char *err, size_t len, const char *msg)
{
	snprintf(err, len, "%s", msg);
	return (0);
}

/*
 * Decodes one character: 1..4 bytes in the shortest form, no UTF-16
 * surrogate halves (what a JSON "\ud800" decodes to), at most U+10FFFF.
 */
size_t
utf8_char(const unsigned char *s, size_t len, uint32_t *cpp)
{
	static const uint32_t	 min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	uint32_t		 cp;
	size_t			 n, i;

	if (len == 0)
		return (0);
	if (s[0] < 0x80)
		n = 1, cp = s[0];
	else if ((s[0] & 0xe0) == 0xc0)
		n = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, cp = s[0] & 0x07;
	else
		return (0);
	if (len < n)
		return (0);
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return (0);
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return (0);
	*cpp = cp;
	return (n);
}

int
text_char_ok(uint32_t cp)
{
	if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))	/* C0, DEL, C1 */
		return (0);
	if (cp >= 0x202a && cp <= 0x202e)	/* LRE RLE PDF LRO RLO */
		return (0);
	if (cp >= 0x2066 && cp <= 0x2069)	/* LRI RLI FSI PDI */
		return (0);
	return (1);
}

int
text_valid(const char *str, size_t len, size_t max)
{
	const unsigned char	*s = (const unsigned char *)str;
	uint32_t		 cp;
	size_t			 i, n;

	if (len == 0 || len > max)
		return (0);
	for (i = 0; i < len; i += n)
		if ((n = utf8_char(s + i, len - i, &cp)) == 0 ||
		    !text_char_ok(cp))
			return (0);
	return (1);
}

int
token_valid(const char *s, size_t max)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++)
		if (i >= max || s[i] < 0x21 || s[i] > 0x7e)
			return (0);
	return (i > 0);
}

/*
 * A nonce goes into "{relay_id}:{nonce}:suite" as text: no ':' or '|'
 * (the template separators), so the signed string splits back one way.
 * The reference only requires it to be non-empty.
 */
int
nonce_valid(const char *s)
{
	return (token_valid(s, NONCE_TEXT_MAX) && strpbrk(s, ":|") == NULL);
}

void
text_clean(char *str)
{
	unsigned char	*s = (unsigned char *)str;
	uint32_t	 cp;
	size_t		 n, i, k, len;

	len = strlen(str);
	for (i = 0; i < len; i += n) {
		if ((n = utf8_char(s + i, len - i, &cp)) == 0) {
			/* a character cut short at the very end goes */
			for (k = 1; i + k < len && (s[i + k] & 0xc0) == 0x80;
			    k++)
				;
			if (s[i] >= 0xc2 && s[i] <= 0xf4 && i + k == len &&
			    k < 4) {
				s[i] = '\0';
				return;
			}
			s[i] = '?';
			n = 1;
		} else if (!text_char_ok(cp))
			memset(s + i, '?', n);
	}
}

/*
 * The parent's claims keyd signs into the well-known documents (keyd.8):
 * an endpoint URL that is a token (for the manifest, with its longest
 * path too), a fee rate of at
 * most 100 %, for the manifest a usable name and at most 64 hops.  The
 * frontend asks for a document only when this holds, keyd signs only
 * when it holds.
 */
int
claims_usable(const struct cfg_global *g, int kind, char *err, size_t len)
{
	char	 url[RELAY_URL_MAX];

	if (memchr(g->name, '\0', sizeof(g->name)) == NULL ||
	    memchr(g->endpoint, '\0', sizeof(g->endpoint)) == NULL)
		return (verr(err, len, "unterminated configuration"));
	/* the manifest's longest endpoint must be a URL keyd signs too */
	if ((size_t)snprintf(url, sizeof(url), "%s%s", g->endpoint,
	    kind == KEY_KIND_MANIFEST ? "/.well-known/mesh-manifest.json" :
	    "") >= sizeof(url) ||
	    !token_valid(g->endpoint, RELAY_URL_MAX - 1) ||
	    !token_valid(url, RELAY_URL_MAX - 1))
		return (verr(err, len, "relay endpoint not configured or "
		    "too long"));
	if (g->fee_ppm > 1000000)
		return (verr(err, len, "fee rate out of range"));
	if (kind != KEY_KIND_MANIFEST)
		return (1);
	if (!text_valid(g->name, strlen(g->name), RELAY_NAME_MAX - 1))
		return (verr(err, len, "relay name not usable"));
	if (g->fed_max_hops > 64)
		return (verr(err, len, "max hops out of range"));
	return (1);
}
