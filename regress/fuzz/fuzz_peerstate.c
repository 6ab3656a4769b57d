/*
 * libFuzzer target for what the peer engine reads from other relays
 * (relayd/fed/peerstate.c).  The first input byte picks the function, the
 * rest is its argument:
 *
 *	0  peer_url_parse(): a URL that parses must come out normalised so
 *	   that parsing the normal form gives it back unchanged, and the
 *	   endpoint policy must judge both alike;
 *	1  text_clean(): the result must be valid UTF-8 without control
 *	   characters, and cleaning it again must change nothing;
 *	2  the strict JSON parser, then hb_body_verify(), metadata_verify()
 *	   and peer_ext_from_json() on what it returns, as for the answers
 *	   of a peer (the key is Appendix B's A, the clock its vectors');
 *	3  spec_major().
 * abort() on any broken property.
 *
 * Seed corpus: regress/fuzz/corpus/peerstate.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jcs.h"
#include "peerstate.h"

#define INPUT_MAX	8192
#define PEER_ID		"relay-11111111-1111-4111-8111-111111111111"
#define KEY_A		\
	"8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"
#define NOW		1760000000000LL

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * The endpoint policy decides the same for a URL and its normal form,
 * says why it refuses, and allowing every class refuses no more than
 * the default does.
 */
static void
fuzz_policy(const struct peer_url *u, const struct peer_url *v)
{
	struct cfg_endpoint	 ep;
	char			 err[160];
	int			 r, rall;

	memset(&ep, 0, sizeof(ep));
	ep.schemes = EP_SCHEME_HTTP | EP_SCHEME_HTTPS;
	err[0] = '\0';
	r = ep_check_url(&ep, u, err, sizeof(err));
	if (r != 0 && (r != -1 || err[0] == '\0'))
		abort();
	if (ep_check_url(&ep, v, err, sizeof(err)) != r)
		abort();
	ep.allow = EP_ALLOW_LOOPBACK | EP_ALLOW_LINKLOCAL | EP_ALLOW_PRIVATE |
	    EP_ALLOW_METADATA;
	rall = ep_check_url(&ep, u, err, sizeof(err));
	if (r == 0 && rall != 0)
		abort();
}

static void
fuzz_url(const char *s)
{
	struct peer_url	 u, v;
	char		 err[128];

	if (peer_url_parse(s, &u, err, sizeof(err)) == -1) {
		if (err[0] == '\0')
			abort();
		return;
	}
	if (peer_url_parse(u.norm, &v, err, sizeof(err)) == -1 ||
	    strcmp(u.norm, v.norm) != 0 || u.port != v.port ||
	    u.tls != v.tls || strcmp(u.host, v.host) != 0 ||
	    strcmp(u.path, v.path) != 0 || strcmp(u.hosthdr, v.hosthdr) != 0)
		abort();
	fuzz_policy(&u, &v);
}

/* 1 when s is valid UTF-8 without C0 controls or DEL */
static int
clean_ok(const unsigned char *s)
{
	size_t	 n, i;

	while (*s != '\0') {
		if (*s < 0x20 || *s == 0x7f)
			return (0);
		if (*s < 0x80) {
			s++;
			continue;
		}
		if (*s >= 0xc2 && *s <= 0xdf)
			n = 2;
		else if (*s >= 0xe0 && *s <= 0xef)
			n = 3;
		else if (*s >= 0xf0 && *s <= 0xf4)
			n = 4;
		else
			return (0);
		for (i = 1; i < n; i++)
			if ((s[i] & 0xc0) != 0x80)
				return (0);
		s += n;
	}
	return (1);
}

static void
fuzz_text(char *s)
{
	char	*copy;

	text_clean(s);
	if (!clean_ok((unsigned char *)s))
		abort();
	if ((copy = strdup(s)) == NULL)
		abort();
	text_clean(copy);
	if (strcmp(copy, s) != 0)
		abort();
	free(copy);
}

static void
fuzz_json(const char *s, size_t len)
{
	json_t		*o;
	char		 err[128];
	int64_t		 agents;
	uint32_t	 fee;

	if ((o = jcs_parse(s, len, err, sizeof(err))) == NULL)
		return;
	if (hb_body_verify(o, PEER_ID, KEY_A, NOW, &agents, err,
	    sizeof(err)) == 0 && agents < -1)
		abort();
	if (metadata_verify(o, PEER_ID, KEY_A, &fee, err, sizeof(err)) == 0 &&
	    fee > 1000000)
		abort();
	if (json_is_object(o))
		(void)peer_ext_from_json(json_object_get(o, "extensions"));
	json_decref(o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*s;
	int	 major;

	if (size < 1 || size > INPUT_MAX)
		return (0);
	if ((s = malloc(size)) == NULL)
		abort();
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 4) {
	case 0:
		fuzz_url(s);
		break;
	case 1:
		fuzz_text(s);
		break;
	case 2:
		fuzz_json(s, size - 1);
		break;
	case 3:
		major = spec_major(s);
		if (major < -1)
			abort();
		break;
	}
	free(s);
	return (0);
}
