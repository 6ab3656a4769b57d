/*
 * The pure part of peering: see peerstate.h.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/tree.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "crypto.h"
#include "encoding.h"
#include "jcs.h"
#include "peerstate.h"

static const char *const state_names[] = {
	[PEER_NONE] = "none",
	[PEER_PENDING] = "pending",
	[PEER_ACTIVE] = "active",
	[PEER_SUSPENDED] = "suspended",
	[PEER_REMOVED] = "removed"
};

const char *
peer_state_name(int state)
{
	if (state < 0 || state > PEER_REMOVED)
		return ("unknown");
	return (state_names[state]);
}

int
peer_state_from_name(const char *s)
{
	int	 i;

	for (i = PEER_PENDING; i <= PEER_REMOVED; i++)
		if (strcmp(s, state_names[i]) == 0)
			return (i);
	return (PEER_NONE);
}

/* A character allowed in the path of an endpoint URL. */
static int
path_char_ok(int c)
{
	if (c < 0x21 || c > 0x7e)
		return (0);
	return (strchr("\"<>\\^`{|}?#", c) == NULL);
}

int
peer_url_parse(const char *in, struct peer_url *u, char *err, size_t errlen)
{
	const char	*p, *auth, *end, *colon;
	char		 portbuf[8], v6[INET6_ADDRSTRLEN];
	struct in6_addr	 a6;
	size_t		 hlen, i, plen;
	unsigned long	 port;
	char		*ep;
	int		 defport, n;

	memset(u, 0, sizeof(*u));
	if (strnlen(in, RELAY_URL_MAX) >= RELAY_URL_MAX) {
		snprintf(err, errlen, "URL longer than %d characters",
		    RELAY_URL_MAX - 1);
		return (-1);
	}
	if (strncasecmp(in, "http://", 7) == 0) {
		p = in + 7;
		u->tls = 0;
		defport = 80;
	} else if (strncasecmp(in, "https://", 8) == 0) {
		p = in + 8;
		u->tls = 1;
		defport = 443;
	} else {
		snprintf(err, errlen, "URL must start with http:// or "
		    "https://");
		return (-1);
	}

	auth = p;
	end = auth + strcspn(auth, "/?#");
	if (memchr(auth, '@', end - auth) != NULL) {
		snprintf(err, errlen, "URL must not carry user information");
		return (-1);
	}
	if (*auth == '[') {
		p = memchr(auth, ']', end - auth);
		if (p == NULL || (size_t)(p - auth - 1) >= sizeof(v6)) {
			snprintf(err, errlen, "bad IPv6 address in URL");
			return (-1);
		}
		memcpy(v6, auth + 1, p - auth - 1);
		v6[p - auth - 1] = '\0';
		if (inet_pton(AF_INET6, v6, &a6) != 1) {
			snprintf(err, errlen, "bad IPv6 address in URL");
			return (-1);
		}
		/* canonical lower-case form */
		inet_ntop(AF_INET6, &a6, u->host, sizeof(u->host));
		p++;
		colon = p < end && *p == ':' ? p : NULL;
		if (p < end && colon == NULL) {
			snprintf(err, errlen, "junk after the IPv6 address");
			return (-1);
		}
	} else {
		colon = memchr(auth, ':', end - auth);
		hlen = (colon != NULL ? colon : end) - auth;
		if (hlen == 0 || hlen > 253) {
			snprintf(err, errlen, "URL has no host");
			return (-1);
		}
		for (i = 0; i < hlen; i++) {
			if (!isalnum((unsigned char)auth[i]) &&
			    auth[i] != '-' && auth[i] != '.') {
				snprintf(err, errlen, "bad character in the "
				    "host name");
				return (-1);
			}
			u->host[i] = tolower((unsigned char)auth[i]);
		}
		u->host[hlen] = '\0';
		if (u->host[0] == '.' || u->host[0] == '-' ||
		    strstr(u->host, "..") != NULL) {
			snprintf(err, errlen, "bad host name");
			return (-1);
		}
	}

	u->port = defport;
	if (colon != NULL) {
		plen = end - colon - 1;
		if (plen == 0 || plen >= sizeof(portbuf)) {
			snprintf(err, errlen, "bad port in URL");
			return (-1);
		}
		memcpy(portbuf, colon + 1, plen);
		portbuf[plen] = '\0';
		for (i = 0; i < plen; i++)
			if (!isdigit((unsigned char)portbuf[i])) {
				snprintf(err, errlen, "bad port in URL");
				return (-1);
			}
		port = strtoul(portbuf, &ep, 10);
		if (port == 0 || port > 65535) {
			snprintf(err, errlen, "port out of range in URL");
			return (-1);
		}
		u->port = (uint16_t)port;
	}

	/* the path prefix: no query, no fragment, no trailing slashes */
	p = end;
	plen = strlen(p);
	for (i = 0; i < plen; i++)
		if (!path_char_ok((unsigned char)p[i])) {
			snprintf(err, errlen, p[i] == '?' || p[i] == '#' ?
			    "URL must not have a query or fragment" :
			    "bad character in the URL path");
			return (-1);
		}
	while (plen > 0 && p[plen - 1] == '/')
		plen--;
	memcpy(u->path, p, plen);
	u->path[plen] = '\0';

	if (strchr(u->host, ':') != NULL)
		n = snprintf(u->hosthdr, sizeof(u->hosthdr), "[%s]", u->host);
	else
		n = snprintf(u->hosthdr, sizeof(u->hosthdr), "%s", u->host);
	if (u->port != defport)
		n = snprintf(u->hosthdr + n, sizeof(u->hosthdr) - n, ":%u",
		    u->port);
	n = snprintf(u->norm, sizeof(u->norm), "%s://%s%s",
	    u->tls ? "https" : "http", u->hosthdr, u->path);
	if (n < 0 || (size_t)n >= sizeof(u->norm)) {
		snprintf(err, errlen, "URL too long");
		return (-1);
	}
	return (0);
}

int
spec_major(const char *s)
{
	const char	*p;
	long		 v;
	int		 digits;

	for (p = strchr(s, '@'); p != NULL; p = strchr(p + 1, '@')) {
		v = 0;
		digits = 0;
		while (isdigit((unsigned char)p[1 + digits]) && digits < 9) {
			v = v * 10 + (p[1 + digits] - '0');
			digits++;
		}
		if (digits > 0 && p[1 + digits] == '.')
			return ((int)v);
	}
	return (-1);
}

static const struct {
	uint32_t	 bit;
	const char	*name;
} ext_table[] = {
	{ PEER_EXT_PEER_ACCEPTED,	"peer-accepted" },
	{ PEER_EXT_REMOVE_V2,		"remove-v2" }
};
#define EXT_N	(sizeof(ext_table) / sizeof(ext_table[0]))

uint32_t
peer_ext_from_json(const json_t *a)
{
	const json_t	*v;
	size_t		 i, j;
	uint32_t	 ext = 0;

	if (!json_is_array(a))
		return (0);
	json_array_foreach(a, i, v) {
		if (!json_is_string(v))
			continue;
		for (j = 0; j < EXT_N; j++)
			if (strcmp(json_string_value(v), ext_table[j].name) ==
			    0)
				ext |= ext_table[j].bit;
	}
	return (ext);
}

const char *
peer_ext_name(uint32_t bit)
{
	size_t	 j;

	for (j = 0; j < EXT_N; j++)
		if (ext_table[j].bit == bit)
			return (ext_table[j].name);
	return (NULL);
}

void
peer_ext_names(uint32_t ext, char *buf, size_t len)
{
	size_t	 j;

	buf[0] = '\0';
	for (j = 0; j < EXT_N; j++) {
		if (!(ext & ext_table[j].bit))
			continue;
		if (buf[0] != '\0')
			strlcat(buf, " ", len);
		strlcat(buf, ext_table[j].name, len);
	}
	if (buf[0] == '\0')
		strlcpy(buf, "-", len);
}

/*
 * allow and block lists
 */
void
fedrules_init(struct fedrules *fr)
{
	memset(fr, 0, sizeof(*fr));
}

void
fedrules_clear(struct fedrules *fr)
{
	free(fr->r);
	fedrules_init(fr);
}

int
fedrules_add(struct fedrules *fr, const struct cfg_fedrule *r)
{
	struct cfg_fedrule	*n;
	size_t			 cap;

	if (fr->n == fr->cap) {
		cap = fr->cap ? fr->cap * 2 : 16;
		if ((n = reallocarray(fr->r, cap, sizeof(*n))) == NULL)
			return (-1);
		fr->r = n;
		fr->cap = cap;
	}
	fr->r[fr->n] = *r;
	fr->r[fr->n].relay_id[sizeof(r->relay_id) - 1] = '\0';
	fr->n++;
	return (0);
}

/* Replaces to with from; from is left empty. */
void
fedrules_move(struct fedrules *to, struct fedrules *from)
{
	fedrules_clear(to);
	*to = *from;
	fedrules_init(from);
}

int
fedrules_lookup(const struct fedrules *fr, const char *id)
{
	size_t	 i;

	for (i = 0; i < fr->n; i++)
		if (strcmp(fr->r[i].relay_id, id) == 0)
			return (fr->r[i].block ? FEDRULE_BLOCK :
			    FEDRULE_ALLOW);
	return (FEDRULE_NONE);
}

/*
 * The replay cache.
 */
static int
replay_cmp(const struct replay_ent *a, const struct replay_ent *b)
{
	return (strcmp(a->key, b->key));
}

RB_PROTOTYPE(replay_tree, replay_ent, entry, replay_cmp)
RB_GENERATE(replay_tree, replay_ent, entry, replay_cmp)

void
replay_init(struct replay *rc, size_t max)
{
	RB_INIT(&rc->tree);
	TAILQ_INIT(&rc->ageq);
	rc->n = 0;
	rc->max = max;
}

static void
replay_drop(struct replay *rc, struct replay_ent *e)
{
	RB_REMOVE(replay_tree, &rc->tree, e);
	TAILQ_REMOVE(&rc->ageq, e, age);
	rc->n--;
	free(e);
}

void
replay_expire(struct replay *rc, int64_t now)
{
	struct replay_ent	*e;

	while ((e = TAILQ_FIRST(&rc->ageq)) != NULL &&
	    now - e->seen >= PEER_REPLAY_MS)
		replay_drop(rc, e);
}

int
replay_seen(struct replay *rc, const char *signer, const char *sig,
    int64_t now)
{
	struct replay_ent	 key;

	replay_expire(rc, now);
	if (snprintf(key.key, sizeof(key.key), "%s\n%s", signer, sig) < 0)
		return (REPLAY_FULL);
	return (RB_FIND(replay_tree, &rc->tree, &key) != NULL ? REPLAY_SEEN :
	    REPLAY_NEW);
}

int
replay_check(struct replay *rc, const char *signer, const char *sig,
    int64_t now)
{
	struct replay_ent	 key, *e;

	replay_expire(rc, now);
	if (snprintf(key.key, sizeof(key.key), "%s\n%s", signer, sig) < 0)
		return (REPLAY_FULL);
	if ((e = RB_FIND(replay_tree, &rc->tree, &key)) != NULL)
		return (REPLAY_SEEN);
	if (rc->n >= rc->max)
		return (REPLAY_FULL);
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return (REPLAY_FULL);
	memcpy(e->key, key.key, sizeof(e->key));
	e->seen = now;
	RB_INSERT(replay_tree, &rc->tree, e);
	/* times only grow, so the queue stays in age order */
	TAILQ_INSERT_TAIL(&rc->ageq, e, age);
	rc->n++;
	return (REPLAY_NEW);
}

void
replay_clear(struct replay *rc)
{
	struct replay_ent	*e;

	while ((e = TAILQ_FIRST(&rc->ageq)) != NULL)
		replay_drop(rc, e);
}

/*
 * The rate limiter.
 */
static int
ratelim_cmp(const struct ratelim_ent *a, const struct ratelim_ent *b)
{
	return (strcmp(a->key, b->key));
}

RB_PROTOTYPE(ratelim_tree, ratelim_ent, entry, ratelim_cmp)
RB_GENERATE(ratelim_tree, ratelim_ent, entry, ratelim_cmp)

void
ratelim_init(struct ratelim *rl, size_t max)
{
	RB_INIT(&rl->tree);
	rl->n = 0;
	rl->max = max;
}

void
ratelim_expire(struct ratelim *rl, int64_t now, uint32_t window_ms)
{
	struct ratelim_ent	*e, *next;

	RB_FOREACH_SAFE(e, ratelim_tree, &rl->tree, next) {
		if (now - e->start >= window_ms || now < e->start) {
			RB_REMOVE(ratelim_tree, &rl->tree, e);
			rl->n--;
			free(e);
		}
	}
}

/* The window that opened first: what a full table lets go of. */
static void
ratelim_evict_oldest(struct ratelim *rl)
{
	struct ratelim_ent	*e, *old = NULL;

	RB_FOREACH(e, ratelim_tree, &rl->tree)
		if (old == NULL || e->start < old->start)
			old = e;
	if (old != NULL) {
		RB_REMOVE(ratelim_tree, &rl->tree, old);
		rl->n--;
		free(old);
	}
}

int
ratelim_hit(struct ratelim *rl, const char *id, int64_t now, uint32_t limit,
    uint32_t window_ms, uint32_t *retry_after)
{
	struct ratelim_ent	 key, *e;
	int64_t			 left;

	*retry_after = 0;
	if (strlcpy(key.key, id, sizeof(key.key)) >= sizeof(key.key))
		key.key[sizeof(key.key) - 1] = '\0';
	if ((e = RB_FIND(ratelim_tree, &rl->tree, &key)) == NULL) {
		if (rl->n >= rl->max)
			ratelim_expire(rl, now, window_ms);
		while (rl->n >= rl->max && rl->n > 0)
			ratelim_evict_oldest(rl);
		if (rl->max == 0 || (e = calloc(1, sizeof(*e))) == NULL) {
			*retry_after = 1;
			return (-1);
		}
		memcpy(e->key, key.key, sizeof(e->key));
		e->start = now;
		RB_INSERT(ratelim_tree, &rl->tree, e);
		rl->n++;
	} else if (now - e->start >= window_ms || now < e->start) {
		e->start = now;
		e->count = 0;
	}
	if (e->count >= limit) {
		left = e->start + window_ms - now;
		*retry_after = (uint32_t)((left + 999) / 1000);
		if (*retry_after == 0)
			*retry_after = 1;
		return (-1);
	}
	e->count++;
	return (0);
}

int
budget_hit(struct budget *b, int64_t now, uint32_t limit, uint32_t window_ms,
    uint32_t *retry_after)
{
	int64_t	 left;

	*retry_after = 0;
	if (b->start == 0 || now - b->start >= window_ms || now < b->start) {
		b->start = now;
		b->count = 0;
	}
	if (b->count >= limit) {
		left = b->start + window_ms - now;
		*retry_after = (uint32_t)((left + 999) / 1000);
		if (*retry_after == 0)
			*retry_after = 1;
		return (-1);
	}
	b->count++;
	return (0);
}

void
ratelim_clear(struct ratelim *rl)
{
	struct ratelim_ent	*e, *next;

	RB_FOREACH_SAFE(e, ratelim_tree, &rl->tree, next) {
		RB_REMOVE(ratelim_tree, &rl->tree, e);
		free(e);
	}
	rl->n = 0;
}

/*
 * The state machine.
 */
void
peer_set_state(struct peer_entry *e, int state, int64_t now)
{
	if (e->state == state)
		return;
	e->state = state;
	e->since = now;
}

int
peer_hb_missed(struct peer_entry *e, uint32_t suspend_after,
    uint32_t remove_after, int64_t now, const char *why, char *reason,
    size_t len)
{
	if (e->state != PEER_ACTIVE && e->state != PEER_SUSPENDED)
		return (0);
	if (e->missed < UINT32_MAX)
		e->missed++;
	if (e->missed >= remove_after) {
		snprintf(reason, len, "%u heartbeats missed in a row (%s)",
		    e->missed, why);
		peer_set_state(e, PEER_REMOVED, now);
		return (1);
	}
	if (e->missed >= suspend_after && e->state == PEER_ACTIVE) {
		snprintf(reason, len, "%u heartbeats missed in a row (%s)",
		    e->missed, why);
		peer_set_state(e, PEER_SUSPENDED, now);
		return (1);
	}
	return (0);
}

int
peer_hb_limited(uint32_t *limited, uint32_t bound)
{
	if (*limited < bound) {
		(*limited)++;
		return (0);
	}
	return (1);
}

int
peer_hb_good(struct peer_entry *e, int64_t now, uint32_t rtt_ms,
    char *reason, size_t len)
{
	if (e->state != PEER_ACTIVE && e->state != PEER_SUSPENDED)
		return (0);
	e->missed = 0;
	e->rtt_ms = rtt_ms;
	e->last_heartbeat = now;
	if (e->state == PEER_SUSPENDED) {
		snprintf(reason, len, "heartbeat answered again");
		peer_set_state(e, PEER_ACTIVE, now);
		return (1);
	}
	return (0);
}

int
peer_hb_inbound(struct peer_entry *e, int64_t now, int64_t agent_count,
    char *reason, size_t len)
{
	if (e->state != PEER_ACTIVE && e->state != PEER_SUSPENDED)
		return (0);
	e->missed = 0;
	e->last_heartbeat = now;
	if (agent_count >= 0)
		e->agent_count = agent_count;
	if (e->state == PEER_SUSPENDED) {
		snprintf(reason, len, "heartbeat received again");
		peer_set_state(e, PEER_ACTIVE, now);
		return (1);
	}
	return (0);
}

int
peer_counts(const struct peer_entry *e)
{
	switch (e->state) {
	case PEER_ACTIVE:
	case PEER_SUSPENDED:
		return (1);
	case PEER_PENDING:
		if (peer_awaiting_us(e))
			return (0);
		return ((e->flags & (PEER_F_CONFIRMED | PEER_F_AWAIT_US |
		    PEER_F_AWAIT_THEM)) != 0);
	}
	return (0);
}

int
peer_awaiting_us(const struct peer_entry *e)
{
	return (e->state == PEER_PENDING && (e->flags & PEER_F_INBOUND) &&
	    (e->flags & PEER_F_AWAIT_US));
}

int
peer_unconfirmed(const struct peer_entry *e)
{
	return (e->state == PEER_PENDING && (e->flags & PEER_F_INBOUND) &&
	    !(e->flags & (PEER_F_CONFIRMED | PEER_F_AWAIT_US |
	    PEER_F_AWAIT_THEM)));
}

int
propose_check(const struct propose_env *env, const struct fed_propose *p,
    const struct propose_old *old, int64_t now, struct fed_result *res,
    int *authfail)
{
	const struct peer_entry	*e = old != NULL ? old->e : NULL;
	uint32_t		 n, retry;
	int			 major;
	char			 buf[32];

	*authfail = -1;
	if (strcmp(p->relay_id, env->own_id) == 0) {
		snprintf(res->error, sizeof(res->error), "a relay cannot "
		    "propose peering to itself");
		return (400);
	}
	if (!env->enabled) {
		snprintf(res->error, sizeof(res->error),
		    "Federation is disabled on this relay");
		return (403);
	}
	if (p->spec_version[0] != '\0' &&
	    (major = spec_major(p->spec_version)) != PEER_SPEC_MAJOR) {
		snprintf(res->error, sizeof(res->error), "Incompatible spec "
		    "version: %.40s (this relay speaks major version %d)",
		    p->spec_version, PEER_SPEC_MAJOR);
		*authfail = AUTH_FAIL_VERSION;
		return (403);
	}
	if (fedrules_lookup(env->rules, p->relay_id) == FEDRULE_BLOCK ||
	    (e != NULL && (e->flags & PEER_F_BLOCKED))) {
		snprintf(res->error, sizeof(res->error),
		    "relay %s is blocked", p->relay_id);
		*authfail = AUTH_FAIL_POLICY;
		return (403);
	}
	if (e != NULL && strcmp(e->public_key, p->public_key) != 0) {
		snprintf(res->error, sizeof(res->error),
		    "key mismatch for known relay %s", p->relay_id);
		*authfail = AUTH_FAIL_KEY_MISMATCH;
		return (403);
	}
	/*
	 * One key, one relay id: a proposer presenting our own key, or the
	 * key of another relay we know, would turn our challenge into that
	 * relay's confirm for a responder that does not bind ids to keys
	 * (keyd.8, "Handshakes").
	 */
	if (env->own_key != NULL && strcmp(p->public_key, env->own_key) == 0) {
		snprintf(res->error, sizeof(res->error),
		    "public_key is this relay's own key");
		*authfail = AUTH_FAIL_KEY_MISMATCH;
		return (403);
	}
	if (env->key_owner != NULL &&
	    strcmp(env->key_owner, p->relay_id) != 0) {
		snprintf(res->error, sizeof(res->error),
		    "public_key is pinned to relay %s", env->key_owner);
		*authfail = AUTH_FAIL_KEY_MISMATCH;
		return (403);
	}
	n = env->npeers;
	if (e != NULL && peer_counts(e) && n > 0)
		n--;
	if (n >= env->max_peers) {
		snprintf(res->error, sizeof(res->error), "Peer limit reached "
		    "(%u)", env->max_peers);
		res->retry_after = PEER_LIMIT_RETRY_S;
		return (503);
	}
	if (env->nsrc_handshakes >= PEER_HANDSHAKES_SRC &&
	    (e == NULL || !peer_unconfirmed(e))) {
		snprintf(res->error, sizeof(res->error), "too many handshakes "
		    "in progress from your address (%d)",
		    PEER_HANDSHAKES_SRC);
		res->retry_after = PEER_HANDSHAKE_MS / 1000;
		*authfail = PROPOSE_LIMITED;
		return (429);
	}
	if (env->nhandshakes >= PEER_HANDSHAKES_MAX &&
	    (e == NULL || !peer_unconfirmed(e))) {
		snprintf(res->error, sizeof(res->error), "too many handshakes "
		    "in progress");
		res->retry_after = PEER_HANDSHAKE_MS / 1000;
		return (503);
	}
	if (e != NULL && (e->state == PEER_ACTIVE ||
	    e->state == PEER_PENDING)) {
		snprintf(res->error, sizeof(res->error), "relay %s is already "
		    "%s here", p->relay_id, e->state == PEER_ACTIVE ?
		    "an active peer" : "pending");
		return (409);
	}
	if (e != NULL && e->state == PEER_REMOVED &&
	    old->cooldown_until > now) {
		retry = (uint32_t)((old->cooldown_until - now + 999) / 1000);
		res->retry_after = retry;
		fmt_ms(old->cooldown_until - now, buf, sizeof(buf));
		snprintf(res->error, sizeof(res->error), "relay %.63s was "
		    "removed; re-peering is allowed in %.16s", p->relay_id,
		    buf);
		return (429);
	}
	return (0);
}

/*
 * The endpoint policy.
 */
static int
ep_class4(uint32_t a)
{
	uint32_t	 o1 = a >> 24, o2 = (a >> 16) & 0xff;

	if (a == 0xa9fea9fe ||		/* 169.254.169.254 */
	    a == 0xa9feaa02 ||		/* 169.254.170.2, ECS */
	    a == 0x646464c8)		/* 100.100.100.200 */
		return (EP_CLASS_METADATA);
	if (o1 == 127)
		return (EP_CLASS_LOOPBACK);
	if (o1 == 169 && o2 == 254)
		return (EP_CLASS_LINKLOCAL);
	if (o1 == 10 || (o1 == 172 && (o2 & 0xf0) == 16) ||
	    (o1 == 192 && o2 == 168) ||
	    (o1 == 100 && (o2 & 0xc0) == 64))	/* 100.64/10, CGN */
		return (EP_CLASS_PRIVATE);
	if (o1 == 0 || o1 >= 224 ||		/* this net, multicast, 240/4 */
	    (a & 0xffffff00) == 0xc0000000 ||	/* 192.0.0/24 */
	    (a & 0xffffff00) == 0xc0000200 ||	/* 192.0.2/24 */
	    (a & 0xfffe0000) == 0xc6120000 ||	/* 198.18/15 */
	    (a & 0xffffff00) == 0xc6336400 ||	/* 198.51.100/24 */
	    (a & 0xffffff00) == 0xcb007100)	/* 203.0.113/24 */
		return (EP_CLASS_RESERVED);
	return (EP_CLASS_PUBLIC);
}

static uint32_t
be32(const uint8_t *b)
{
	return ((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	    (uint32_t)b[2] << 8 | b[3]);
}

int
ep_class(const struct sockaddr *sa)
{
	static const uint8_t	 zero[12], mapped[12] = { [10] = 0xff,
				    [11] = 0xff },
				 nat64[12] = { 0x00, 0x64, 0xff, 0x9b },
				 ec2[16] = { 0xfd, 0x00, 0x0e, 0xc2,
				    [14] = 0x02, [15] = 0x54 };
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	const uint8_t			*b;

	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)sa;
		return (ep_class4(ntohl(sin->sin_addr.s_addr)));
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		b = sin6->sin6_addr.s6_addr;
		if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0)
			return (ep_class4(be32(b + 12)));
		if (b[0] == 0x20 && b[1] == 0x02)	/* 6to4 */
			return (ep_class4(be32(b + 2)));
		if (memcmp(b, zero, 12) == 0) {
			if (b[12] == 0 && b[13] == 0 && b[14] == 0 &&
			    b[15] == 1)
				return (EP_CLASS_LOOPBACK);	/* ::1 */
			return (EP_CLASS_RESERVED);	/* ::, ::a.b.c.d */
		}
		if (memcmp(b, ec2, 16) == 0)
			return (EP_CLASS_METADATA);
		if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
			return (EP_CLASS_LINKLOCAL);	/* fe80::/10 */
		if ((b[0] & 0xfe) == 0xfc ||		/* fc00::/7 */
		    (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0))	/* fec0::/10 */
			return (EP_CLASS_PRIVATE);
		if (b[0] == 0xff ||			/* multicast */
		    (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d &&
		    b[3] == 0xb8))			/* 2001:db8::/32 */
			return (EP_CLASS_RESERVED);
		return (EP_CLASS_PUBLIC);
	}
	return (EP_CLASS_RESERVED);
}

const char *
ep_class_name(int c)
{
	switch (c) {
	case EP_CLASS_PUBLIC:
		return ("public");
	case EP_CLASS_LOOPBACK:
		return ("loopback");
	case EP_CLASS_LINKLOCAL:
		return ("link-local");
	case EP_CLASS_PRIVATE:
		return ("private");
	case EP_CLASS_METADATA:
		return ("metadata");
	}
	return ("reserved");
}

static int
ep_class_allowed(const struct cfg_endpoint *ep, int c)
{
	switch (c) {
	case EP_CLASS_PUBLIC:
		return (1);
	case EP_CLASS_LOOPBACK:
		return ((ep->allow & EP_ALLOW_LOOPBACK) != 0);
	case EP_CLASS_LINKLOCAL:
		return ((ep->allow & EP_ALLOW_LINKLOCAL) != 0);
	case EP_CLASS_PRIVATE:
		return ((ep->allow & EP_ALLOW_PRIVATE) != 0);
	case EP_CLASS_METADATA:
		return ((ep->allow & EP_ALLOW_METADATA) != 0);
	}
	return (0);
}

int
ep_check_addr(const struct cfg_endpoint *ep, const struct sockaddr *sa,
    char *err, size_t errlen)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	char				 buf[INET6_ADDRSTRLEN];
	int				 c;

	c = ep_class(sa);
	if (ep_class_allowed(ep, c))
		return (0);
	buf[0] = '\0';
	if (sa->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf));
	} else if (sa->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof(buf));
	}
	if (c == EP_CLASS_RESERVED)
		snprintf(err, errlen, "endpoint address %s is reserved and "
		    "never contacted", buf);
	else
		snprintf(err, errlen, "endpoint address %s is %s; refused by "
		    "the endpoint policy (endpoint allow %s)", buf,
		    ep_class_name(c), ep_class_name(c));
	return (-1);
}

int
ep_check_url(const struct cfg_endpoint *ep, const struct peer_url *u,
    char *err, size_t errlen)
{
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;
	uint32_t		 i;

	if (!(ep->schemes & (u->tls ? EP_SCHEME_HTTPS : EP_SCHEME_HTTP))) {
		snprintf(err, errlen, "endpoint scheme %s is refused by the "
		    "endpoint policy", u->tls ? "https" : "http");
		return (-1);
	}
	for (i = 0; i < ep->nports && i < EP_PORTS_MAX; i++)
		if (u->port >= ep->ports[i][0] && u->port <= ep->ports[i][1])
			break;
	if (ep->nports > 0 && i == ep->nports) {
		snprintf(err, errlen, "endpoint port %u is refused by the "
		    "endpoint policy", u->port);
		return (-1);
	}
	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (inet_pton(AF_INET, u->host, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		return (ep_check_addr(ep, (struct sockaddr *)&sin, err,
		    errlen));
	}
	if (inet_pton(AF_INET6, u->host, &sin6.sin6_addr) == 1) {
		sin6.sin6_family = AF_INET6;
		return (ep_check_addr(ep, (struct sockaddr *)&sin6, err,
		    errlen));
	}
	if (strcmp(u->host, "localhost") == 0 ||
	    (strlen(u->host) > 10 && strcmp(u->host + strlen(u->host) - 10,
	    ".localhost") == 0)) {
		if (ep->allow & EP_ALLOW_LOOPBACK)
			return (0);
		snprintf(err, errlen, "endpoint host %s is loopback; refused "
		    "by the endpoint policy (endpoint allow loopback)",
		    u->host);
		return (-1);
	}
	return (0);
}

int
sighex_valid(const char *s)
{
	size_t	 i;

	for (i = 0; i < 128; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return (0);
	return (s[128] == '\0');
}

int
hb_body_verify(const json_t *o, const char *id, const char *pubhex,
    int64_t now, int64_t *agents, char *err, size_t errlen)
{
	const json_t	*v;
	const char	*sig;
	char		 msg[RELAY_ID_MAX + 64];
	int64_t		 ts;

	*agents = -1;
	if (!json_is_object(o)) {
		snprintf(err, errlen, "heartbeat answer is not a JSON object");
		return (-1);
	}
	v = json_object_get(o, "relay_id");
	if (!json_is_string(v) || strcmp(json_string_value(v), id) != 0) {
		snprintf(err, errlen, "heartbeat answer names another relay");
		return (-1);
	}
	v = json_object_get(o, "timestamp");
	if (!json_is_integer(v)) {
		snprintf(err, errlen, "heartbeat answer without timestamp");
		return (-1);
	}
	ts = json_integer_value(v);
	if (ts < now - PEER_CLOCK_SKEW_MS || ts > now + PEER_CLOCK_SKEW_MS) {
		snprintf(err, errlen, "heartbeat answer timestamp more than "
		    "5 minutes off");
		return (-1);
	}
	v = json_object_get(o, "signature");
	if (!json_is_string(v) || !sighex_valid(json_string_value(v))) {
		snprintf(err, errlen, "heartbeat answer without a valid "
		    "signature");
		return (-1);
	}
	sig = json_string_value(v);
	if (msg_heartbeat(msg, sizeof(msg), id, ts) == -1 ||
	    ed25519_verify_hex(pubhex, (const uint8_t *)msg, strlen(msg),
	    sig) == -1) {
		snprintf(err, errlen, "heartbeat answer signature does not "
		    "verify with the pinned key");
		return (-1);
	}
	v = json_object_get(o, "agent_count");
	if (json_is_integer(v) && json_integer_value(v) >= 0)
		*agents = json_integer_value(v);
	return (0);
}

int
challenge_verify(const char *pubhex, const char *own_id, const char *nonce,
    const char *challenge)
{
	char	 msg[RELAY_ID_MAX + NONCE_MAX + 64];

	if (!sighex_valid(challenge))
		return (-1);
	if (msg_handshake(msg, sizeof(msg), own_id, nonce) == -1)
		return (-1);
	return (ed25519_verify_hex(pubhex, (const uint8_t *)msg, strlen(msg),
	    challenge));
}

int
metadata_verify(const json_t *o, const char *id, const char *pubhex,
    uint32_t *fee_ppm, char *err, size_t errlen)
{
	const json_t	*v;
	const char	*sig;
	char		*tbs;
	size_t		 len;
	double		 rate;
	int		 rc;

	if (!json_is_object(o)) {
		snprintf(err, errlen, "metadata is not a JSON object");
		return (-1);
	}
	v = json_object_get(o, "relay_id");
	if (!json_is_string(v) || strcmp(json_string_value(v), id) != 0) {
		snprintf(err, errlen, "metadata names another relay");
		return (-1);
	}
	v = json_object_get(o, "public_key");
	if (v != NULL && (!json_is_string(v) ||
	    strcmp(json_string_value(v), pubhex) != 0)) {
		snprintf(err, errlen, "metadata carries another public key");
		return (-1);
	}
	v = json_object_get(o, "signature");
	if (!json_is_string(v) || !sighex_valid(json_string_value(v))) {
		snprintf(err, errlen, "metadata without a valid signature");
		return (-1);
	}
	sig = json_string_value(v);
	if ((tbs = jcs_serialize(o, 1, &len)) == NULL) {
		snprintf(err, errlen, "metadata cannot be canonicalized");
		return (-1);
	}
	rc = ed25519_verify_hex(pubhex, (const uint8_t *)tbs, len, sig);
	free(tbs);
	if (rc == -1) {
		snprintf(err, errlen, "metadata signature does not verify "
		    "with the pinned key");
		return (-1);
	}
	v = json_object_get(o, "fee_rate");
	if (!json_is_number(v) || (rate = json_number_value(v)) < 0.0 ||
	    rate > 1.0) {
		snprintf(err, errlen, "metadata has no fee_rate in 0..1");
		return (-1);
	}
	*fee_ppm = (uint32_t)(rate * 1000000.0 + 0.5);
	return (0);
}

void
fmt_ms(int64_t ms, char *buf, size_t len)
{
	if (ms < 0)
		ms = 0;
	if (ms < 1000)
		snprintf(buf, len, "%" PRId64 "ms", ms);
	else if (ms < 600000)
		snprintf(buf, len, "%" PRId64 ".%" PRId64 "s", ms / 1000,
		    (ms % 1000) / 100);
	else
		snprintf(buf, len, "%" PRId64 "m%02" PRId64 "s", ms / 60000,
		    (ms / 1000) % 60);
}
