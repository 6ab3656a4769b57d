/*
 * The frontend's federation routes (PROTOCOL.md section 3): the peering
 * handshake (propose, confirm), heartbeats, removal, the peer-accepted
 * extension and the peer list.
 *
 * The frontend keeps a read-only copy of the peer table, fed by the peer
 * engine (IMSG_PEER_UPSERT / IMSG_PEER_DELETE), and authenticates every
 * signed request itself (fedauth.c): per-IP limit, field checks,
 * timestamp window, signer key from the table, Ed25519 verification.  A
 * request that passed goes to the peer engine as IMSG_FED_* with a
 * request id and waits (FE_FED_TIMEOUT_MS, then 503) for IMSG_FED_RESULT,
 * which carries the status to answer; the peer engine checks the replay
 * cache (409), the per-peer limit (429) and the state machine.  The
 * frontend then builds the reference's response body, asking keyd for
 * what must be signed (the propose challenge, the heartbeat response).
 *
 * Order of checks, every signed POST:
 *	federation disabled (accepted only)	403
 *	X-Relay-* headers malformed		400
 *	body fields (fedauth_parse)		400
 *	timestamp outside +-5 minutes		400
 *	signer not in the peer table		403
 *	legacy removal from a remove-v2 peer	403
 *	signature				403
 *	peer engine: replay 409, the peer's own budget 429, state (404
 *	for a heartbeat from a relay that is not active or suspended, as
 *	the reference, whose peers learn of their removal that way)
 * Each refusal above is first charged to the per-IP limit, which turns
 * it into 429 + Retry-After once the address or its prefix is over;
 * a request whose signature verified is never charged there, so that
 * others' traffic from a peer's address cannot starve the peer.
 * Propose, confirm and an unsigned peer list are charged before
 * anything else.  Every 503 carries Retry-After.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/tree.h>
#include <sys/uio.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "encoding.h"
#include "fedauth.h"
#include "frontend.h"
#include "http.h"
#include "jcs.h"
#include "log.h"

#define FE_FED_TIMEOUT_MS	10000	/* the peer engine answers within */
#define FE_FED_WAIT_MAX		1024	/* requests waiting, then 503 */
#define FE_PEERS_MAX		65536	/* rows in the table copy */
#define FE_FED_PEERS_PATH	"/federation/v1/peers"
#define FE_FED_RETRY_S		5	/* Retry-After of our own 503s */

struct fe_peer {
	RB_ENTRY(fe_peer)	 entry;
	struct peer_entry	 e;
};
RB_HEAD(fe_peer_tree, fe_peer);

/* A federation request waiting for the peer engine, then for keyd. */
struct fe_fedq {
	int			 route;		/* ROUTE_FED_* */
	uint32_t		 reqid;		/* IMSG_FED_* */
	uint32_t		 signid;	/* keyd's; 0 before */
	int			 kind;		/* KEY_KIND_* asked for */
	int			 status;	/* the peer engine's */
	char			 proposer[RELAY_ID_MAX];
	char			 pnonce[NONCE_MAX];	/* proposer's */
	char			 rnonce[NONCE_MAX];	/* ours, responder */
};

static int	 fe_peer_cmp(const struct fe_peer *, const struct fe_peer *);
RB_PROTOTYPE(fe_peer_tree, fe_peer, entry, fe_peer_cmp)
RB_GENERATE(fe_peer_tree, fe_peer, entry, fe_peer_cmp)

static struct fe_peer_tree	 fe_peers = RB_INITIALIZER(&fe_peers);
static size_t			 fe_npeers;
static struct fedlimit		 fe_iplimit;
static struct http_waitq	 fe_fedwait =
				    TAILQ_HEAD_INITIALIZER(fe_fedwait);
static int64_t			(*fe_clock)(void) = now_ms;
static int			 fe_trust_loopback = 1;

static void	 fe_fed_timeout(struct http_req *);
static void	 fe_fed_unavail(struct http_req *, uint32_t, const char *, ...)
		    __attribute__((__format__ (printf, 3, 4)));
static int	 fe_fed_refuse(struct http_req *, const char *, int,
		    const char *, ...)
		    __attribute__((__format__ (printf, 4, 5)));

static int
fe_peer_cmp(const struct fe_peer *a, const struct fe_peer *b)
{
	return (strcmp(a->e.relay_id, b->e.relay_id));
}

/*
 * State.
 */

/* Drops the peer table and every waiting request (start, tests). */
void
fe_fed_init(void)
{
	struct fe_peer	*p;

	fe_fed_cleanup();
	while ((p = RB_ROOT(&fe_peers)) != NULL) {
		RB_REMOVE(fe_peer_tree, &fe_peers, p);
		free(p);
	}
	fe_npeers = 0;
	fedlimit_clear(&fe_iplimit);
	fedlimit_init(&fe_iplimit);
	fe_clock = now_ms;
	fe_trust_loopback = 1;
}

/* Forgets the waiting requests (their connections are going away). */
void
fe_fed_cleanup(void)
{
	struct http_req	*hr;

	while ((hr = TAILQ_FIRST(&fe_fedwait)) != NULL) {
		http_unwait(hr);
		free(hr->arg);
		hr->arg = NULL;
	}
}

/* The wall clock for timestamps (tests and fuzzing freeze it). */
void
fe_fed_set_clock(int64_t (*clock)(void))
{
	fe_clock = clock != NULL ? clock : now_ms;
}

/* Tests: treat loopback clients as remote ones for the peer list. */
void
fe_fed_set_loopback(int trusted)
{
	fe_trust_loopback = trusted;
}

/*
 * The peer table copy.
 */

void
fe_peer_upsert(const struct peer_entry *e)
{
	struct fe_peer	 key, *p;

	if (!relay_id_valid(e->relay_id)) {
		log_warnx("%s: bad relay id from the peer engine", __func__);
		return;
	}
	strlcpy(key.e.relay_id, e->relay_id, sizeof(key.e.relay_id));
	if ((p = RB_FIND(fe_peer_tree, &fe_peers, &key)) != NULL) {
		p->e = *e;
		return;
	}
	if (fe_npeers >= FE_PEERS_MAX) {
		log_warnx("peer table copy full (%d rows): %s ignored",
		    FE_PEERS_MAX, e->relay_id);
		return;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		fatal("%s", __func__);
	p->e = *e;
	RB_INSERT(fe_peer_tree, &fe_peers, p);
	fe_npeers++;
}

void
fe_peer_delete(const struct peer_entry *e)
{
	struct fe_peer	 key, *p;

	strlcpy(key.e.relay_id, e->relay_id, sizeof(key.e.relay_id));
	if ((p = RB_FIND(fe_peer_tree, &fe_peers, &key)) == NULL)
		return;
	RB_REMOVE(fe_peer_tree, &fe_peers, p);
	free(p);
	fe_npeers--;
}

const struct peer_entry *
fe_peer_find(const char *relay_id)
{
	struct fe_peer	 key, *p;

	if (strlcpy(key.e.relay_id, relay_id, sizeof(key.e.relay_id)) >=
	    sizeof(key.e.relay_id))
		return (NULL);
	if ((p = RB_FIND(fe_peer_tree, &fe_peers, &key)) == NULL)
		return (NULL);
	return (&p->e);
}

/* Active peers (the manifest's peer_count). */
size_t
fe_peer_active(void)
{
	struct fe_peer	*p;
	size_t		 n = 0;

	RB_FOREACH(p, fe_peer_tree, &fe_peers)
		if (p->e.state == PEER_ACTIVE)
			n++;
	return (n);
}

/*
 * motebit.json's federation_peers: {relay_id, endpoint_url} of the active
 * peers, in relay id order, at most max, endpoints that keyd would refuse
 * left out.  Returns how many were written to out.
 */
size_t
fe_peer_list(struct key_peer *out, size_t max)
{
	struct fe_peer	*p;
	size_t		 n = 0;

	RB_FOREACH(p, fe_peer_tree, &fe_peers) {
		if (p->e.state != PEER_ACTIVE || !fedauth_url_ok(p->e.endpoint))
			continue;
		if (n >= max)
			break;
		memset(&out[n], 0, sizeof(out[n]));
		strlcpy(out[n].relay_id, p->e.relay_id,
		    sizeof(out[n].relay_id));
		strlcpy(out[n].endpoint_url, p->e.endpoint,
		    sizeof(out[n].endpoint_url));
		n++;
	}
	return (n);
}

static const char *
fe_peer_state_name(int state)
{
	switch (state) {
	case PEER_PENDING:
		return ("pending");
	case PEER_ACTIVE:
		return ("active");
	case PEER_SUSPENDED:
		return ("suspended");
	case PEER_REMOVED:
		return ("removed");
	}
	return ("none");
}

/* A string, or null when it is empty or not UTF-8. */
static json_t *
fe_jstr(const char *s)
{
	json_t	*v;

	if (s[0] == '\0' || (v = json_string(s)) == NULL)
		return (json_null());
	return (v);
}

static json_t *
fe_jms(int64_t ms)
{
	return (ms > 0 ? json_integer(ms) : json_null());
}

static void
fe_jset(json_t *o, const char *key, json_t *v)
{
	if (v == NULL || json_object_set_new(o, key, v) == -1)
		fatalx("%s: %s", __func__, key);
}

/*
 * GET /federation/v1/peers, the reference's shape (section 4.6).  The
 * forward counters are zero until task forwarding exists; relayd has no
 * circuit breaker state to show (null, as the reference for a peer
 * without one).
 */
json_t *
fe_peers_doc(void)
{
	struct fe_peer	*p;
	json_t		*a, *o, *r;

	if ((a = json_array()) == NULL || (o = json_object()) == NULL)
		fatalx("%s: json", __func__);
	RB_FOREACH(p, fe_peer_tree, &fe_peers) {
		if ((r = json_object()) == NULL)
			fatalx("%s: json_object", __func__);
		fe_jset(r, "peer_relay_id", fe_jstr(p->e.relay_id));
		fe_jset(r, "public_key", fe_jstr(p->e.public_key));
		fe_jset(r, "endpoint_url", fe_jstr(p->e.endpoint));
		fe_jset(r, "display_name", fe_jstr(p->e.display_name));
		fe_jset(r, "state",
		    json_string(fe_peer_state_name(p->e.state)));
		fe_jset(r, "peered_at", fe_jms(p->e.peered_at));
		fe_jset(r, "last_heartbeat_at", fe_jms(p->e.last_heartbeat));
		fe_jset(r, "missed_heartbeats", json_integer(p->e.missed));
		fe_jset(r, "agent_count", json_integer(p->e.agent_count));
		fe_jset(r, "trust_score",
		    json_real((double)p->e.trust_ppm / 1e6));
		fe_jset(r, "successful_forwards", json_integer(0));
		fe_jset(r, "failed_forwards", json_integer(0));
		fe_jset(r, "circuit_breaker", json_null());
		if (json_array_append_new(a, r) == -1)
			fatalx("%s: json_array_append_new", __func__);
	}
	fe_jset(o, "peers", a);
	return (o);
}

/*
 * Request plumbing.
 */

/* The client's address as text, and whether it is a loopback one. */
void
fe_fed_addr(struct http_req *hr, char *buf, size_t len, int *loopback)
{
	struct evhttp_connection	*conn;
	const struct sockaddr		*sa = NULL;
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	const uint8_t			*b;

	*loopback = 0;
	strlcpy(buf, "unknown", len);
	if ((conn = evhttp_request_get_connection(hr->req)) != NULL)
		sa = evhttp_connection_get_addr(conn);
	if (sa == NULL)
		return;
	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, buf, len);
		*loopback = (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
		break;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &sin6->sin6_addr, buf, len);
		b = sin6->sin6_addr.s6_addr;
		*loopback = IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr) ||
		    (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) && b[12] == 127);
		break;
	}
}

/* The per-IP limit; -1 when the request was answered 429. */
static int
fe_fed_limit(struct http_req *hr, const char *addr)
{
	uint32_t	 retry;
	char		 buf[32];

	if (fedlimit_check(&fe_iplimit, addr, fe_mono_ms(), &retry) == 0)
		return (0);
	fe->stats.ip_rate_limited++;
	snprintf(buf, sizeof(buf), "%u", retry);
	http_header(hr, "Retry-After", buf);
	snprintf(buf, sizeof(buf), "%d", FEDLIMIT_MAX);
	http_header(hr, "X-RateLimit-Limit", buf);
	http_header(hr, "X-RateLimit-Remaining", "0");
	http_error(hr, 429, "Rate limit exceeded");
	return (-1);
}

/* 503 with Retry-After. */
static void
fe_fed_unavail(struct http_req *hr, uint32_t secs, const char *fmt, ...)
{
	va_list	 ap;
	char	 buf[16], msg[256];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(buf, sizeof(buf), "%u", secs > 0 ? secs : 1);
	http_header(hr, "Retry-After", buf);
	http_error(hr, 503, "%s", msg);
}

/*
 * An unauthenticated request is refused: charged to the per-IP limit,
 * it is answered 429 once the address or its prefix is over, else with
 * status.  Returns -1 (answered).
 */
static int
fe_fed_refuse(struct http_req *hr, const char *addr, int status,
    const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[256];

	if (fe_fed_limit(hr, addr) == -1)
		return (-1);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	http_error(hr, status, "%s", msg);
	return (-1);
}

/* A request header sent at most once; *dup is set if it is repeated. */
static const char *
fe_fed_header(struct http_req *hr, const char *name, int *dup)
{
	struct evkeyvalq	*h;
	struct evkeyval		*kv;
	const char		*v = NULL;

	h = evhttp_request_get_input_headers(hr->req);
	TAILQ_FOREACH(kv, h, next) {
		if (strcasecmp(kv->key, name) != 0)
			continue;
		if (v != NULL)
			*dup = 1;
		v = kv->value;
	}
	return (v);
}

/* X-Relay-* credentials: 0 none, 1 parsed, -1 answered 400 (or 429). */
static int
fe_fed_headers(struct http_req *hr, const char *addr, struct fedauth_cred *c)
{
	const char	*id, *ts, *sig;
	char		 err[128];
	int		 dup = 0, r;

	id = fe_fed_header(hr, "X-Relay-Id", &dup);
	ts = fe_fed_header(hr, "X-Relay-Timestamp", &dup);
	sig = fe_fed_header(hr, "X-Relay-Signature", &dup);
	if (dup)
		return (fe_fed_refuse(hr, addr, 400, "X-Relay-* headers must "
		    "not repeat"));
	if ((r = fedauth_headers(id, ts, sig, c, err, sizeof(err))) == -1)
		return (fe_fed_refuse(hr, addr, 400, "%s", err));
	return (r);
}

static void
fe_fed_authfail(int reason)
{
	if (reason >= 0 && reason < AUTH_FAIL_MAX)
		fe->stats.auth_failures[reason]++;
}

static void
fe_fed_hdr(struct fed_hdr *h, const char *addr, const struct fedauth_cred *c)
{
	memset(h, 0, sizeof(*h));
	h->reqid = fe_reqid();
	strlcpy(h->remote_addr, addr, sizeof(h->remote_addr));
	if (c != NULL) {
		strlcpy(h->signer, c->signer, sizeof(h->signer));
		strlcpy(h->signature, c->sighex, sizeof(h->signature));
		h->header_auth = c->style == FEDAUTH_HEADER;
	}
}

/*
 * Hands a request to the peer engine and parks it; takes q.
 * Unauthenticated requests (propose, confirm) may take only half of the
 * waiting slots, so that they cannot crowd out peers' requests.
 */
static void
fe_fed_send(struct http_req *hr, struct fe_fedq *q, uint32_t type,
    const void *data, size_t len)
{
	struct http_req	*w;
	struct iovec	 iov;
	size_t		 n = 0;
	int		 authed;

	authed = type != IMSG_FED_PROPOSE && type != IMSG_FED_CONFIRM;
	TAILQ_FOREACH(w, &fe_fedwait, wentry)
		n++;
	if (n >= FE_FED_WAIT_MAX || (!authed && n >= FE_FED_WAIT_MAX / 2)) {
		free(q);
		fe_fed_unavail(hr, FE_FED_RETRY_S, "too many federation "
		    "requests in progress");
		return;
	}
	iov.iov_base = (void *)data;
	iov.iov_len = len;
	if (fe->send(PROC_PEER, type, &iov, 1) == -1) {
		free(q);
		fe_fed_unavail(hr, FE_FED_RETRY_S, "peer engine not "
		    "connected");
		return;
	}
	http_wait(hr, &fe_fedwait, FE_FED_TIMEOUT_MS, fe_fed_timeout, q);
}

static void
fe_fed_timeout(struct http_req *hr)
{
	struct fe_fedq	*q = hr->arg;
	int		 signing = q->signid != 0;

	free(q);
	hr->arg = NULL;
	if (signing)
		fe_fed_unavail(hr, FE_FED_RETRY_S, "signing service did not "
		    "answer");
	else
		fe_fed_unavail(hr, FE_FED_RETRY_S, "peer engine did not "
		    "answer");
}

static struct fe_fedq *
fe_fedq_new(int route)
{
	struct fe_fedq	*q;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		fatal("%s", __func__);
	q->route = route;
	return (q);
}

/*
 * Handlers.
 */

/*
 * The client's address; with charge (unauthenticated routes), the per-IP
 * limit too.  -1 when answered.
 */
static int
fe_fed_begin(struct http_req *hr, char *addr, size_t len, int *loopback,
    int charge)
{
	int	 lo;

	fe_fed_addr(hr, addr, len, loopback != NULL ? loopback : &lo);
	return (charge ? fe_fed_limit(hr, addr) : 0);
}

void
fe_fed_propose(struct http_req *hr)
{
	struct fed_propose	 fp;
	struct fe_fedq		*q;
	char			 addr[64], err[160];
	int			 status;

	if (fe_fed_begin(hr, addr, sizeof(addr), NULL, 1) == -1)
		return;
	if ((status = fedauth_propose(hr->body, fe->id.relay_id,
	    fe->conf.fed_enable, &fp, err, sizeof(err))) != 0) {
		if (status == 403 && fe->conf.fed_enable)
			fe_fed_authfail(AUTH_FAIL_VERSION);
		http_error(hr, status, "%s", err);
		return;
	}
	/* unauthenticated by nature: the key is what is proposed */
	fe_fed_hdr(&fp.hdr, addr, NULL);
	q = fe_fedq_new(ROUTE_FED_PROPOSE);
	q->reqid = fp.hdr.reqid;
	strlcpy(q->proposer, fp.relay_id, sizeof(q->proposer));
	strlcpy(q->pnonce, fp.nonce, sizeof(q->pnonce));
	fe_fed_send(hr, q, IMSG_FED_PROPOSE, &fp, sizeof(fp));
}

void
fe_fed_confirm(struct http_req *hr)
{
	struct fed_confirm	 fc;
	struct fe_fedq		*q;
	char			 addr[64], err[160];
	int			 status;

	if (fe_fed_begin(hr, addr, sizeof(addr), NULL, 1) == -1)
		return;
	if ((status = fedauth_confirm(hr->body, fe->id.relay_id,
	    fe->conf.fed_enable, &fc, err, sizeof(err))) != 0) {
		http_error(hr, status, "%s", err);
		return;
	}
	/* the peer engine verifies challenge_response: it has the nonce */
	fe_fed_hdr(&fc.hdr, addr, NULL);
	q = fe_fedq_new(ROUTE_FED_CONFIRM);
	q->reqid = fc.hdr.reqid;
	fe_fed_send(hr, q, IMSG_FED_CONFIRM, &fc, sizeof(fc));
}

/*
 * The one authentication path of signed POSTs; 0 with cred filled, -1
 * when the request was answered.
 */
static int
fe_fed_auth(struct http_req *hr, enum fedauth_kind kind, const char *addr,
    struct fedauth_cred *c)
{
	const struct peer_entry	*pe;
	char			 err[160];

	if (fe_fed_headers(hr, addr, c) == -1)
		return (-1);
	if (fedauth_parse(kind, hr->body, fe->id.relay_id, c, err,
	    sizeof(err)) == -1)
		return (fe_fed_refuse(hr, addr, 400, "%s", err));
	if (c->style != FEDAUTH_BAREID &&
	    !fedauth_fresh(c->timestamp, fe_clock())) {
		fe_fed_authfail(AUTH_FAIL_TIMESTAMP);
		return (fe_fed_refuse(hr, addr, 400, "timestamp is more than "
		    "%d minutes away from this relay's clock",
		    FEDAUTH_WINDOW_MS / 60000));
	}
	if ((pe = fe_peer_find(c->signer)) == NULL) {
		fe_fed_authfail(AUTH_FAIL_UNKNOWN_PEER);
		log_debug("federation request from %s: unknown relay %s",
		    addr, c->signer);
		return (fe_fed_refuse(hr, addr, 403, "unknown relay %s",
		    c->signer));
	}
	if (c->style == FEDAUTH_BAREID &&
	    (pe->extensions & PEER_EXT_REMOVE_V2)) {
		fe_fed_authfail(AUTH_FAIL_POLICY);
		return (fe_fed_refuse(hr, addr, 403, "relay %s speaks "
		    "remove-v2: an untimestamped removal is refused",
		    c->signer));
	}
	if (fedauth_verify(hr->body, c, pe->public_key) == -1) {
		fe_fed_authfail(AUTH_FAIL_BAD_SIGNATURE);
		log_info("federation request from %s: bad signature for "
		    "relay %s", addr, c->signer);
		return (fe_fed_refuse(hr, addr, 403, "signature verification "
		    "failed"));
	}
	return (0);
}

void
fe_fed_heartbeat(struct http_req *hr)
{
	struct fed_heartbeat	 fh;
	struct fedauth_cred	 c;
	struct fe_fedq		*q;
	char			 addr[64];

	if (fe_fed_begin(hr, addr, sizeof(addr), NULL, 0) == -1)
		return;
	if (fe_fed_auth(hr, FEDAUTH_HEARTBEAT, addr, &c) == -1)
		return;
	/* the answer is our own heartbeat, with our agent count */
	if (!fe->have_ldg || fe->ldg.agent_count < 0 ||
	    fe->ldg.agent_count > FEDAUTH_JS_INT_MAX) {
		fe_fed_unavail(hr, FE_FED_RETRY_S, "agent count not known "
		    "yet");
		return;
	}
	memset(&fh, 0, sizeof(fh));
	fe_fed_hdr(&fh.hdr, addr, &c);
	fh.timestamp = c.timestamp;
	fh.agent_count = c.agent_count;
	q = fe_fedq_new(ROUTE_FED_HEARTBEAT);
	q->reqid = fh.hdr.reqid;
	fe_fed_send(hr, q, IMSG_FED_HEARTBEAT, &fh, sizeof(fh));
}

static void
fe_fed_signed(struct http_req *hr, enum fedauth_kind kind, int route,
    uint32_t type)
{
	struct fed_signed	 fs;
	struct fedauth_cred	 c;
	struct fe_fedq		*q;
	char			 addr[64];

	if (fe_fed_begin(hr, addr, sizeof(addr), NULL, 0) == -1)
		return;
	if (kind == FEDAUTH_ACCEPTED && !fe->conf.fed_enable) {
		fe_fed_refuse(hr, addr, 403, "Federation is disabled on this "
		    "relay");
		return;
	}
	if (fe_fed_auth(hr, kind, addr, &c) == -1)
		return;
	memset(&fs, 0, sizeof(fs));
	fe_fed_hdr(&fs.hdr, addr, &c);
	fs.style = c.style == FEDAUTH_BAREID ? FED_REMOVE_LEGACY :
	    FED_REMOVE_V2;
	fs.timestamp = c.timestamp;
	q = fe_fedq_new(route);
	q->reqid = fs.hdr.reqid;
	fe_fed_send(hr, q, type, &fs, sizeof(fs));
}

void
fe_fed_remove(struct http_req *hr)
{
	fe_fed_signed(hr, FEDAUTH_REMOVE, ROUTE_FED_REMOVE, IMSG_FED_REMOVE);
}

void
fe_fed_accepted(struct http_req *hr)
{
	fe_fed_signed(hr, FEDAUTH_ACCEPTED, ROUTE_FED_ACCEPTED,
	    IMSG_FED_ACCEPTED);
}

/*
 * GET /federation/v1/peers: public with `peers list public'; otherwise
 * for loopback clients and for peers (active or suspended) that sign
 * "GET /federation/v1/peers {X-Relay-Timestamp}" with X-Relay-* headers.
 * Served from the table copy, no replay cache: it changes nothing.
 */
void
fe_fed_peers(struct http_req *hr)
{
	const struct peer_entry	*pe;
	struct fedauth_cred	 c;
	json_t			*o;
	char			 addr[64];
	int			 loopback, r;

	if (fe_fed_begin(hr, addr, sizeof(addr), &loopback, 0) == -1)
		return;
	if (fe->conf.fed_peers_public || (loopback && fe_trust_loopback)) {
		/* unauthenticated: charged */
		if (fe_fed_limit(hr, addr) == -1)
			return;
	} else {
		if ((r = fe_fed_headers(hr, addr, &c)) == -1)
			return;
		if (r == 0) {
			fe_fed_refuse(hr, addr, 403, "the peer list is served "
			    "to loopback clients and authenticated peers "
			    "only");
			return;
		}
		if (!fedauth_fresh(c.timestamp, fe_clock())) {
			fe_fed_authfail(AUTH_FAIL_TIMESTAMP);
			fe_fed_refuse(hr, addr, 400, "X-Relay-Timestamp is "
			    "more than %d minutes away from this relay's "
			    "clock", FEDAUTH_WINDOW_MS / 60000);
			return;
		}
		if ((pe = fe_peer_find(c.signer)) == NULL ||
		    (pe->state != PEER_ACTIVE &&
		    pe->state != PEER_SUSPENDED)) {
			fe_fed_authfail(AUTH_FAIL_UNKNOWN_PEER);
			fe_fed_refuse(hr, addr, 403, "relay %s is not a peer",
			    c.signer);
			return;
		}
		if (fedauth_verify_get("GET", FE_FED_PEERS_PATH, c.timestamp,
		    c.sig, pe->public_key) == -1) {
			fe_fed_authfail(AUTH_FAIL_BAD_SIGNATURE);
			fe_fed_refuse(hr, addr, 403, "signature verification "
			    "failed");
			return;
		}
	}
	o = fe_peers_doc();
	http_reply_json(hr, 200, o);
	json_decref(o);
}

/*
 * Answers.
 */

/* Asks keyd for the challenge or our heartbeat; parks hr again. */
static void
fe_fed_sign(struct http_req *hr, struct fe_fedq *q)
{
	struct key_sign_req	 req;
	struct iovec		 iov;
	uint32_t		 type;

	memset(&req, 0, sizeof(req));
	req.reqid = fe_reqid();
	if (q->route == ROUTE_FED_PROPOSE) {
		type = IMSG_KEY_SIGN_CHALLENGE;
		q->kind = KEY_KIND_CHALLENGE;
		strlcpy(req.relay_id, q->proposer, sizeof(req.relay_id));
		strlcpy(req.nonce, q->pnonce, sizeof(req.nonce));
	} else {
		type = IMSG_KEY_SIGN_HBRESP;
		q->kind = KEY_KIND_HBRESP;
		/* keyd stamps it with its own clock (resp->timestamp) */
	}
	iov.iov_base = &req;
	iov.iov_len = sizeof(req);
	if (fe->send(PROC_KEYD, type, &iov, 1) == -1) {
		free(q);
		hr->arg = NULL;
		fe_fed_unavail(hr, FE_FED_RETRY_S, "signing service "
		    "unavailable");
		return;
	}
	fe->stats.signatures[q->kind]++;
	q->signid = req.reqid;
	http_wait(hr, &fe_fedwait, FE_SIGN_TIMEOUT_MS, fe_fed_timeout, q);
}

/* A state name from the peer engine: lowercase letters only. */
static int
fe_fed_word(const char *s)
{
	size_t	 n;

	n = strlen(s);
	return (n > 0 && strspn(s, "abcdefghijklmnopqrstuvwxyz_") == n);
}

/* IMSG_FED_RESULT from the peer engine */
void
fe_fed_result(const struct fed_result *res)
{
	struct http_req	*hr;
	struct fe_fedq	*q = NULL;
	json_t		*o;
	char		 buf[32];
	int		 status = res->status;

	TAILQ_FOREACH(hr, &fe_fedwait, wentry) {
		q = hr->arg;
		if (q->signid == 0 && q->reqid == res->reqid)
			break;
	}
	if (hr == NULL) {
		log_debug("%s: late answer %u from the peer engine",
		    __func__, res->reqid);
		return;
	}
	http_unwait(hr);
	if (status < 200 || status > 599) {
		log_warnx("peer engine answered status %d", status);
		status = 500;
	}
	if (status >= 300) {
		free(q);
		hr->arg = NULL;
		if (status == 429 || status == 503) {
			snprintf(buf, sizeof(buf), "%u", res->retry_after > 0 ?
			    res->retry_after : status == 429 ? 1 :
			    FE_FED_RETRY_S);
			http_header(hr, "Retry-After", buf);
		}
		http_error(hr, status, "%s", res->error[0] != '\0' ?
		    res->error : "refused by the peer engine");
		return;
	}
	q->status = status;
	o = NULL;
	switch (q->route) {
	case ROUTE_FED_PROPOSE:
		if (!nonce_valid(res->nonce)) {
			log_warnx("peer engine gave no usable nonce");
			free(q);
			hr->arg = NULL;
			http_error(hr, 500, "no responder nonce");
			return;
		}
		strlcpy(q->rnonce, res->nonce, sizeof(q->rnonce));
		fe_fed_sign(hr, q);
		return;
	case ROUTE_FED_HEARTBEAT:
		fe_fed_sign(hr, q);
		return;
	case ROUTE_FED_CONFIRM:
		if (status == 202)
			o = json_pack("{s:s}", "status", "pending");
		else
			o = json_pack("{s:s, s:I}", "status", "active",
			    "peered_at", (json_int_t)res->peered_at);
		break;
	case ROUTE_FED_REMOVE:
		o = json_pack("{s:s}", "status", "removed");
		break;
	case ROUTE_FED_ACCEPTED:
		o = json_pack("{s:s}", "status", fe_fed_word(res->peer_state) ?
		    res->peer_state : "active");
		break;
	}
	free(q);
	hr->arg = NULL;
	if (o == NULL) {
		http_error(hr, 500, "cannot build the answer");
		return;
	}
	http_reply_json(hr, status, o);
	json_decref(o);
}

/* IMSG_KEY_SIGNATURE / IMSG_KEY_REFUSED for a challenge or heartbeat */
void
fe_fed_sign_answer(int ok, const struct key_sign_resp *resp)
{
	struct http_req	*hr;
	struct fe_fedq	*q = NULL;
	uint8_t		 sig[ED25519_SIG_LEN];
	json_t		*o;

	TAILQ_FOREACH(hr, &fe_fedwait, wentry) {
		q = hr->arg;
		if (q->signid != 0 && q->signid == resp->reqid &&
		    q->kind == resp->kind)
			break;
	}
	if (hr == NULL) {
		log_debug("%s: late answer %u from keyd", __func__,
		    resp->reqid);
		return;
	}
	http_unwait(hr);
	hr->arg = NULL;
	if (!ok || hex_decode(resp->signature, sig, sizeof(sig)) == -1) {
		log_warnx("keyd refused the %s: %s", q->kind ==
		    KEY_KIND_CHALLENGE ? "propose challenge" :
		    "heartbeat response", ok ? "bad signature" : resp->error);
		free(q);
		fe_fed_unavail(hr, FE_FED_RETRY_S, "signing refused");
		return;
	}
	if ((o = json_object()) == NULL)
		fatalx("%s: json_object", __func__);
	fe_jset(o, "relay_id", json_string(fe->id.relay_id));
	if (q->route == ROUTE_FED_PROPOSE) {
		/* section 4.2 */
		fe_jset(o, "public_key", json_string(fe->id.public_key));
		fe_jset(o, "endpoint_url", json_string(fe->conf.endpoint));
		fe_jset(o, "display_name", fe_jstr(fe->conf.name));
		fe_jset(o, "nonce", json_string(q->rnonce));
		fe_jset(o, "challenge", json_string(resp->signature));
		fe_jset(o, "spec_version", json_string(RELAYD_SPEC_VERSION));
	} else {
		/* section 4.4: our own signed heartbeat */
		fe_jset(o, "timestamp", json_integer(resp->timestamp));
		fe_jset(o, "agent_count", json_integer(fe->ldg.agent_count));
		fe_jset(o, "signature", json_string(resp->signature));
	}
	http_reply_json(hr, q->status, o);
	json_decref(o);
	free(q);
}
