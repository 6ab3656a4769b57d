/*
 * The frontend's agent routes (relayd(8) AGENTS, wire notes 7.1):
 *
 *	POST   /api/v1/agents/bootstrap		public
 *	POST   /api/v1/agents/register		token, aud admin:query
 *	POST   /api/v1/agents/heartbeat		token, aud admin:query
 *	DELETE /api/v1/agents/deregister	token, aud admin:query
 *	POST   /api/v1/agents/{id}/listing	token, aud market:listing
 *
 * Order of checks, every route:
 *	per-IP limit (bootstrap: its own)		429 + Retry-After
 *	bootstrap: body fields				400
 *	token: Authorization: Bearer, parts, payload	401 token_*
 *	token: exp, lifetime				401 token_expired ...
 *	token: audience of the route			403 wrong_audience
 *	listing: {id} is the token's mid		403
 *	device key of (did, mid) from ledgerd		401 unknown_device
 *	identity revoked by the operator		403 identity_revoked
 *	signature over the payload bytes		401 bad_signature
 *	body fields (agent_body.c)			400 / 403
 *	register: key change and its succession		400
 *	ledgerd: jti already used			401 token replayed
 *	ledgerd: not registered				404
 * Authentication is all here (Ed25519 verification needs only the
 * public key); ledgerd consumes the jti in the transaction of the change.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "agent_body.h"
#include "agent_token.h"
#include "encoding.h"
#include "fedauth.h"
#include "frontend.h"
#include "http.h"
#include "jcs.h"
#include "log.h"

#define FE_AG_TIMEOUT_MS	10000	/* ledgerd answers within */
#define FE_AG_WAIT_MAX		1024	/* requests waiting, then 503 */
#define FE_AG_LIMIT_BOOTSTRAP	10	/* per address and minute */
#define FE_AG_LIMIT_API		30	/* the other routes, together */
#define FE_AG_LISTING_PREFIX	"/api/v1/agents/"

/* A request waiting for ledgerd: the keys, then the operation. */
struct fe_agq {
	int			 route;		/* ROUTE_AGENT_* */
	uint32_t		 reqid;
	int			 op;		/* 0 keys, 1 the operation */
	struct agent_token	 tok;
};

static struct http_waitq	 fe_agwait = TAILQ_HEAD_INITIALIZER(fe_agwait);
static struct fedlimit		 fe_aglimit, fe_bslimit;
static int64_t			(*fe_agclock)(void) = now_ms;

static void	 fe_ag_timeout(struct http_req *);
static void	 fe_ag_limit_init(struct fedlimit *, uint32_t);

void
fe_agents_init(void)
{
	fe_agents_cleanup();
	fe_ag_limit_init(&fe_aglimit, FE_AG_LIMIT_API);
	fe_ag_limit_init(&fe_bslimit, FE_AG_LIMIT_BOOTSTRAP);
	fe_agclock = now_ms;
}

void
fe_agents_cleanup(void)
{
	struct http_req	*hr;

	while ((hr = TAILQ_FIRST(&fe_agwait)) != NULL) {
		http_unwait(hr);
		free(hr->arg);
		hr->arg = NULL;
	}
}

void
fe_agents_set_clock(int64_t (*clock)(void))
{
	fe_agclock = clock != NULL ? clock : now_ms;
}

/*
 * A limiter of fedauth.c with the agent routes' own numbers: max per
 * address and window, four times that per prefix (as the federation
 * limiter's 300 and 1200).
 */
static void
fe_ag_limit_init(struct fedlimit *l, uint32_t max)
{
	fedlimit_clear(l);
	fedlimit_init(l);
	l->addrs.limit = max;
	l->prefixes.limit = 4 * max;
}

/* The per-IP limit; -1 when answered 429. */
static int
fe_ag_limit(struct http_req *hr, struct fedlimit *l)
{
	uint32_t	 retry;
	char		 addr[64], buf[32];
	int		 lo;

	fe_fed_addr(hr, addr, sizeof(addr), &lo);
	if (fedlimit_check(l, addr, fe_mono_ms(), &retry) == 0)
		return (0);
	fe->stats.ip_rate_limited++;
	snprintf(buf, sizeof(buf), "%u", retry);
	http_header(hr, "Retry-After", buf);
	snprintf(buf, sizeof(buf), "%u", l->addrs.limit);
	http_header(hr, "X-RateLimit-Limit", buf);
	http_header(hr, "X-RateLimit-Remaining", "0");
	http_error(hr, 429, "Rate limit exceeded");
	return (-1);
}

/* Sends ag_req + doc to ledgerd and parks hr; takes q. */
static void
fe_ag_send(struct http_req *hr, struct fe_agq *q, uint32_t type,
    const char *mid, const char *did, const json_t *doc)
{
	struct http_req	*w;
	struct ag_req	 req;
	struct iovec	 iov[2];
	char		*s = NULL;
	size_t		 len = 0, n = 0;
	int		 rc;

	TAILQ_FOREACH(w, &fe_agwait, wentry)
		n++;
	if (n >= FE_AG_WAIT_MAX) {
		free(q);
		http_error(hr, 503, "too many agent requests in progress");
		return;
	}
	if (doc != NULL && (s = jcs_serialize(doc, 0, &len)) == NULL) {
		free(q);
		http_error(hr, 500, "cannot serialise the request");
		return;
	}
	if (len > AG_DOC_MAX) {
		free(s);
		free(q);
		http_error(hr, 413, "request document too large");
		return;
	}
	memset(&req, 0, sizeof(req));
	req.reqid = q->reqid = fe_reqid();
	strlcpy(req.motebit_id, mid, sizeof(req.motebit_id));
	strlcpy(req.device_id, did, sizeof(req.device_id));
	if (q->op) {
		strlcpy(req.jti, q->tok.jti, sizeof(req.jti));
		req.exp = q->tok.exp;
	}
	req.doclen = len;
	iov[0].iov_base = &req;
	iov[0].iov_len = sizeof(req);
	iov[1].iov_base = s;
	iov[1].iov_len = len;
	rc = fe->send(PROC_LEDGERD, type, iov, len > 0 ? 2 : 1);
	free(s);
	if (rc == -1) {
		free(q);
		http_error(hr, 503, "ledgerd not connected");
		return;
	}
	http_wait(hr, &fe_agwait, FE_AG_TIMEOUT_MS, fe_ag_timeout, q);
}

static void
fe_ag_timeout(struct http_req *hr)
{
	free(hr->arg);
	hr->arg = NULL;
	http_error(hr, 503, "ledgerd did not answer");
}

static struct http_req *
fe_ag_find(uint32_t reqid, int op)
{
	struct http_req	*hr;
	struct fe_agq	*q;

	TAILQ_FOREACH(hr, &fe_agwait, wentry) {
		q = hr->arg;
		if (q->reqid == reqid && q->op == op)
			return (hr);
	}
	return (NULL);
}

/*
 * Handlers.
 */

void
fe_agent_bootstrap(struct http_req *hr)
{
	struct agb_bootstrap	 bs;
	struct fe_agq		*q;
	json_t			*doc;
	char			 err[160];
	int			 status;

	if (fe_ag_limit(hr, &fe_bslimit) == -1)
		return;
	if ((status = agent_body_bootstrap(hr->body, &bs, err,
	    sizeof(err))) != 0) {
		http_error(hr, status, "%s", err);
		return;
	}
	if (bs.device_id[0] == '\0')
		uuid_v4(bs.device_id);	/* as the reference */
	if ((doc = json_pack("{s:s}", "public_key", bs.public_key)) == NULL) {
		http_error(hr, 500, "out of memory");
		return;
	}
	if ((q = calloc(1, sizeof(*q))) == NULL)
		fatal("%s", __func__);
	q->route = ROUTE_AGENT_BOOTSTRAP;
	q->op = 1;
	fe_ag_send(hr, q, IMSG_LDG_AG_BOOTSTRAP, bs.motebit_id, bs.device_id,
	    doc);
	json_decref(doc);
}

/* The {id} of /api/v1/agents/{id}/listing; NULL if not one. */
static const char *
fe_ag_path_id(struct http_req *hr, char *buf, size_t len)
{
	const struct evhttp_uri	*uri;
	const char		*path, *end;
	size_t			 n;

	if ((uri = evhttp_request_get_evhttp_uri(hr->req)) == NULL ||
	    (path = evhttp_uri_get_path(uri)) == NULL ||
	    strncmp(path, FE_AG_LISTING_PREFIX,
	    strlen(FE_AG_LISTING_PREFIX)) != 0)
		return (NULL);
	path += strlen(FE_AG_LISTING_PREFIX);
	if ((end = strchr(path, '/')) == NULL || (n = end - path) >= len)
		return (NULL);
	memcpy(buf, path, n);
	buf[n] = '\0';
	return (buf);
}

/* Token checks of an authenticated route, then the keys from ledgerd. */
static void
fe_ag_authenticated(struct http_req *hr, int route, const char *aud)
{
	struct fe_agq	*q;
	struct evkeyvalq *h;
	enum agtok_err	 e;
	char		 err[200], id[AGENT_ID_MAX];
	const char	*auth;

	if (fe_ag_limit(hr, &fe_aglimit) == -1)
		return;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		fatal("%s", __func__);
	q->route = route;
	h = evhttp_request_get_input_headers(hr->req);
	auth = evhttp_find_header(h, "Authorization");
	if ((e = agent_token_parse(auth, &q->tok, err, sizeof(err))) ==
	    AGTOK_OK)
		e = agent_token_claims(&q->tok, fe_agclock(), aud, err,
		    sizeof(err));
	if (e != AGTOK_OK) {
		free(q);
		if (e != AGTOK_MISSING)
			http_header(hr, "WWW-Authenticate", "Bearer");
		http_error(hr, agent_token_status(e), "%s: %s",
		    agent_token_errname(e), err);
		return;
	}
	if (route == ROUTE_AGENT_LISTING && (fe_ag_path_id(hr, id,
	    sizeof(id)) == NULL || strcmp(id, q->tok.mid) != 0)) {
		free(q);
		http_error(hr, 403, "forbidden: the path names another agent "
		    "than the token (mid)");
		return;
	}
	fe_ag_send(hr, q, IMSG_LDG_AG_DEVICE, q->tok.mid, q->tok.did, NULL);
}

void
fe_agent_register(struct http_req *hr)
{
	fe_ag_authenticated(hr, ROUTE_AGENT_REGISTER, AGTOK_AUD_ADMIN);
}

void
fe_agent_heartbeat(struct http_req *hr)
{
	fe_ag_authenticated(hr, ROUTE_AGENT_HEARTBEAT, AGTOK_AUD_ADMIN);
}

void
fe_agent_deregister(struct http_req *hr)
{
	fe_ag_authenticated(hr, ROUTE_AGENT_DEREGISTER, AGTOK_AUD_ADMIN);
}

void
fe_agent_listing(struct http_req *hr)
{
	fe_ag_authenticated(hr, ROUTE_AGENT_LISTING, AGTOK_AUD_LISTING);
}

/*
 * The register body once the identity's key is known: key change,
 * succession, guardian, did.  NULL when answered.
 */
static json_t *
fe_ag_register_doc(struct http_req *hr, struct fe_agq *q,
    const struct ag_keys *k)
{
	json_t		*doc, *succ;
	const char	*key;
	char		 newkey[PUBKEY_HEX_MAX], did[DID_KEY_MAX], err[200];
	uint8_t		 pub[ED25519_PUB_LEN];
	int		 status;

	if ((status = agent_body_register(hr->body, q->tok.mid, &doc, newkey,
	    err, sizeof(err))) != 0) {
		http_error(hr, status, "%s", err);
		return (NULL);
	}
	if (newkey[0] != '\0' && strcmp(newkey, k->identity_key) != 0) {
		if ((status = agent_succession_verify(json_object_get(doc,
		    "succession"), k->identity_key, newkey, err,
		    sizeof(err))) != 0) {
			json_decref(doc);
			http_error(hr, status, "%s", err);
			return (NULL);
		}
		/* the keys as ledgerd compares them: lowercase */
		succ = json_object_get(doc, "succession");
		if (json_object_set_new(succ, "old_public_key",
		    json_string(k->identity_key)) == -1 ||
		    json_object_set_new(succ, "new_public_key",
		    json_string(newkey)) == -1) {
			json_decref(doc);
			http_error(hr, 500, "out of memory");
			return (NULL);
		}
		key = newkey;
	} else {
		/* no key change: a succession record means nothing */
		json_object_del(doc, "succession");
		key = k->identity_key;
	}
	if ((status = agent_guardian_verify(doc, q->tok.mid, err,
	    sizeof(err))) != 0) {
		json_decref(doc);
		http_error(hr, status, "%s", err);
		return (NULL);
	}
	json_object_del(doc, "guardian_attestation");
	if (hex_decode(key, pub, sizeof(pub)) == -1 ||
	    did_key_from_pubkey(pub, did, sizeof(did)) == -1 ||
	    json_object_set_new(doc, "did", json_string(did)) == -1) {
		json_decref(doc);
		http_error(hr, 500, "cannot derive the did");
		return (NULL);
	}
	return (doc);
}

/* IMSG_LDG_AG_KEYS: verify the token, check the body, send the change. */
void
fe_agents_keys(const struct ag_keys *k)
{
	struct http_req	*hr;
	struct fe_agq	*q;
	json_t		*doc = NULL;
	char		 err[200], lid[3 + UUID_STR_LEN + 1];
	uint32_t	 type;
	int		 status;

	if ((hr = fe_ag_find(k->reqid, 0)) == NULL) {
		log_debug("%s: late answer %u from ledgerd", __func__,
		    k->reqid);
		return;
	}
	http_unwait(hr);
	q = hr->arg;
	hr->arg = NULL;
	if (k->status == 503) {
		free(q);
		http_error(hr, 503, "database unavailable");
		return;
	}
	if (k->status != 0) {
		http_header(hr, "WWW-Authenticate", "Bearer");
		http_error(hr, 401, "%s: no device %.60s of agent %.60s",
		    agent_token_errname(AGTOK_UNKNOWN_DEVICE), q->tok.did,
		    q->tok.mid);
		free(q);
		return;
	}
	if (k->revoked) {
		free(q);
		http_error(hr, 403, "identity_revoked: revoked by the "
		    "operator of this relay");
		return;
	}
	if (agent_token_verify(&q->tok, k->device_key) != AGTOK_OK) {
		free(q);
		http_header(hr, "WWW-Authenticate", "Bearer");
		http_error(hr, 401, "%s: the token does not verify with the "
		    "device key", agent_token_errname(AGTOK_BAD_SIGNATURE));
		return;
	}
	status = 0;
	switch (q->route) {
	case ROUTE_AGENT_REGISTER:
		type = IMSG_LDG_AG_REGISTER;
		if ((doc = fe_ag_register_doc(hr, q, k)) == NULL) {
			free(q);
			return;
		}
		break;
	case ROUTE_AGENT_LISTING:
		type = IMSG_LDG_AG_LISTING;
		memcpy(lid, "ls-", 3);
		uuid_v4(lid + 3);
		status = agent_body_listing(hr->body, lid, &doc, err,
		    sizeof(err));
		break;
	case ROUTE_AGENT_HEARTBEAT:
		type = IMSG_LDG_AG_HEARTBEAT;
		if ((status = agent_body_heartbeat(hr->body, q->tok.mid, err,
		    sizeof(err))) == 0 && (doc = json_object()) == NULL)
			fatal("%s", __func__);
		break;
	default:
		type = IMSG_LDG_AG_DEREGISTER;
		if ((doc = json_object()) == NULL)
			fatal("%s", __func__);
		break;
	}
	if (status != 0) {
		free(q);
		http_error(hr, status, "%s", err);
		return;
	}
	q->op = 1;
	fe_ag_send(hr, q, type, q->tok.mid, q->tok.did, doc);
	json_decref(doc);
}

/* IMSG_LDG_AG_RESULT: the answer. */
void
fe_agents_result(const struct ag_result *r, const char *doc, size_t len)
{
	struct http_req	*hr;
	json_t		*o;
	const json_t	*e;
	int		 status = r->status;

	if ((hr = fe_ag_find(r->reqid, 1)) == NULL) {
		log_debug("%s: late answer %u from ledgerd", __func__,
		    r->reqid);
		return;
	}
	http_unwait(hr);
	free(hr->arg);
	hr->arg = NULL;
	if (status < 200 || status > 599)
		status = 500;
	if ((o = jcs_parse(doc, len, NULL, 0)) == NULL ||
	    !json_is_object(o)) {
		json_decref(o);
		http_error(hr, 500, "ledgerd gave no usable answer");
		return;
	}
	if (status >= 300) {
		e = json_object_get(o, "error");
		if (status == 401)
			http_header(hr, "WWW-Authenticate", "Bearer");
		http_error(hr, status, "%s", json_is_string(e) ?
		    json_string_value(e) : "refused");
	} else
		http_reply_json(hr, status, o);
	json_decref(o);
}
