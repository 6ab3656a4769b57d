/*
 * The frontend's route handlers and their conversations with the other
 * processes: signed documents from keyd (cached, one signing in flight
 * per document), status answers for /health, the metrics text from the
 * peer engine.  Everything leaves through fe->send, so this file runs
 * without the other processes in tests.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "encoding.h"
#include "frontend.h"
#include "http.h"
#include "jcs.h"
#include "log.h"
#include "validate.h"

#define FE_JS_INT_MAX		9007199254740991LL	/* 2^53 - 1 */

struct frontend		*fe;

/*
 * relayd extensions of motebit/relay-federation (PROTOCOL.md), listed in
 * the identity document (and, by keyd/kinds.c, in the manifest: keep the
 * two lists equal).  A peer uses one only when both sides list it, so an
 * entry goes here with the code that speaks it.  Capabilities: none yet
 * (keyd/kinds.c signs an empty list); each is added by the issue that
 * brings its endpoints, so a peer never calls a route that answers 404.
 */
static const struct fe_feature fe_extensions[] = {
	{ "peer-accepted", FE_WHEN_FEDERATION },	/* fe_fed.c */
	{ "remove-v2", FE_WHEN_FEDERATION },		/* fe_fed.c */
	{ "key-rotation", FE_WHEN_FEDERATION },		/* fe_fed.c */
	{ NULL, FE_WHEN_ALWAYS }
};

/* The engines /health asks, in the order of the answer. */
static const enum proc_id health_procs[] = {
	PROC_PEER, PROC_ROUTED, PROC_LEDGERD
};
static const char *const health_names[] = {
	"peer", "routed", "ledgerd"
};
#define HEALTH_NPROCS	(sizeof(health_procs) / sizeof(health_procs[0]))

struct fe_health_query {
	uint32_t		 reqid;
	int			 done[HEALTH_NPROCS];	/* 1 answered, */
							/* -1 no channel */
	struct proc_status	 st[HEALTH_NPROCS];
};

struct fe_metrics_query {
	uint32_t		 reqid;
	struct evbuffer		*text;
};

static void	 fe_doc_drop(struct fe_signed *);
static void	 fe_health_finish(struct http_req *);

void
fe_init(struct frontend *f, struct event_base *base, int instance,
    int (*send)(enum proc_id, uint32_t, const struct iovec *, int))
{
	memset(f, 0, sizeof(*f));
	f->base = base;
	f->instance = instance;
	f->stats.instance = instance;
	f->send = send;
	f->docs[FE_DOC_METADATA].kind = KEY_KIND_METADATA;
	f->docs[FE_DOC_METADATA].type = IMSG_KEY_SIGN_METADATA;
	f->docs[FE_DOC_MANIFEST].kind = KEY_KIND_MANIFEST;
	f->docs[FE_DOC_MANIFEST].type = IMSG_KEY_SIGN_MANIFEST;
	TAILQ_INIT(&f->docs[FE_DOC_METADATA].waiters);
	TAILQ_INIT(&f->docs[FE_DOC_MANIFEST].waiters);
	TAILQ_INIT(&f->health);
	TAILQ_INIT(&f->metrics);
	fe = f;
	fe_fed_init();
	fe_agents_init();
}

/*
 * Drops every waiting request with its state (shutdown, tests); the
 * requests themselves go with the HTTP server.
 */
void
fe_cleanup(void)
{
	struct fe_metrics_query	*mq;
	struct http_req		*hr;
	int			 d;

	while ((hr = TAILQ_FIRST(&fe->health)) != NULL) {
		http_unwait(hr);
		free(hr->arg);
		hr->arg = NULL;
	}
	while ((hr = TAILQ_FIRST(&fe->metrics)) != NULL) {
		http_unwait(hr);
		mq = hr->arg;
		evbuffer_free(mq->text);
		free(mq);
		hr->arg = NULL;
	}
	for (d = 0; d < FE_DOC_MAX; d++) {
		while ((hr = TAILQ_FIRST(&fe->docs[d].waiters)) != NULL)
			http_unwait(hr);
		fe_doc_drop(&fe->docs[d]);
	}
	fe_identity_drop();
	fe_fed_cleanup();
	fe_agents_cleanup();
}

void
fe_set_conf(const struct cfg_global *g)
{
	int	 d;

	/* keyd signs the new claims: cached documents have the old ones */
	if (fe->have_conf && memcmp(&fe->conf, g, sizeof(*g)) != 0)
		for (d = 0; d < FE_DOC_MAX; d++) {
			free(fe->docs[d].doc);
			free(fe->docs[d].content);
			fe->docs[d].doc = fe->docs[d].content = NULL;
			fe->docs[d].doclen = fe->docs[d].contentlen = 0;
		}
	fe_identity_drop();
	fe->conf = *g;
	fe->have_conf = 1;
	if (fe->http != NULL)
	{
		http_server_set_limit(fe->http, g->body_limit);
		http_server_set_conns(fe->http, (int)g->http_max_conns,
		    (int)g->http_req_timeout_ms);
	}
}

void
fe_set_identity(const struct cfg_identity *id)
{
	int	 d;

	/* keyd puts the identity into the signed documents */
	if (fe->have_id && memcmp(&fe->id, id, sizeof(*id)) != 0)
		for (d = 0; d < FE_DOC_MAX; d++)
			fe_doc_drop(&fe->docs[d]);
	fe_identity_drop();
	fe->id = *id;
	fe->have_id = 1;
	if (fe->http != NULL)
		fe->http->ready = 1;
}

void
fe_set_ldg_state(const struct ldg_state *ls)
{
	fe->ldg = *ls;
	fe->have_ldg = 1;
}

uint32_t
fe_reqid(void)
{
	if (++fe->lastid == 0)
		fe->lastid = 1;
	return (fe->lastid);
}

int64_t
fe_mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static int
fe_send1(enum proc_id to, uint32_t type, const void *data, size_t len)
{
	struct iovec	 iov;

	iov.iov_base = (void *)data;
	iov.iov_len = len;
	return (fe->send(to, type, &iov, 1));
}

/*
 * Documents.
 */

static json_t *
fe_features(const struct fe_feature *t)
{
	json_t	*a;

	if ((a = json_array()) == NULL)
		fatalx("%s: json_array", __func__);
	for (; t->name != NULL; t++) {
		if (t->when == FE_WHEN_FEDERATION && !fe->conf.fed_enable)
			continue;
		if (json_array_append_new(a, json_string(t->name)) == -1)
			fatalx("%s: json_array_append_new", __func__);
	}
	return (a);
}

static void
fe_set(json_t *o, const char *key, json_t *v)
{
	if (v == NULL || json_object_set_new(o, key, v) == -1)
		fatalx("%s: %s", __func__, key);
}

/* GET /federation/v1/identity (PROTOCOL.md section 2) */
json_t *
fe_identity_doc(void)
{
	json_t	*o;

	if ((o = json_object()) == NULL)
		fatalx("%s: json_object", __func__);
	fe_set(o, "spec", json_string(RELAYD_SPEC_VERSION));
	fe_set(o, "relay_motebit_id", json_string(fe->id.relay_id));
	fe_set(o, "public_key", json_string(fe->id.public_key));
	fe_set(o, "did", json_string(fe->id.did));
	fe_set(o, "vote_policy_configured", json_false());
	if (fe->conf.name[0] != '\0')
		fe_set(o, "display_name", json_string(fe->conf.name));
	if (fe->conf.endpoint[0] != '\0')
		fe_set(o, "endpoint_url", json_string(fe->conf.endpoint));
	fe_set(o, "extensions", fe_features(fe_extensions));
	return (o);
}

/*
 * What keyd needs to sign a well-known document, and no more: the agent
 * count and the list of active peers for /.well-known/motebit.json, the
 * number of active peers for the manifest.  keyd takes the endpoint,
 * name, fee and federation settings from the parent's configuration and
 * the time from its clock.  Returns the request (reqid 0), which is also
 * the cache key, or NULL with a message when keyd would refuse it: the
 * check is keyd's own (claims_usable()), since refusals are fatal after
 * a few.
 */
char *
fe_doc_request(enum fe_doc d, size_t *lenp, char *err, size_t errlen)
{
	struct key_sign_req	 req;
	char			*buf;
	size_t			 n = 0;

	memset(&req, 0, sizeof(req));
	if (!claims_usable(&fe->conf, d == FE_DOC_METADATA ?
	    KEY_KIND_METADATA : KEY_KIND_MANIFEST, err, errlen))
		return (NULL);
	if ((buf = malloc(sizeof(req) +
	    FE_FED_LIST_MAX * sizeof(struct key_peer))) == NULL)
		fatal("%s", __func__);
	if (d == FE_DOC_METADATA) {
		if (!fe->have_ldg || fe->ldg.agent_count < 0 ||
		    fe->ldg.agent_count > FE_JS_INT_MAX) {
			snprintf(err, errlen, "agent count not known yet");
			free(buf);
			return (NULL);
		}
		req.count = fe->ldg.agent_count;
		n = fe_peer_list((struct key_peer *)(buf + sizeof(req)),
		    FE_FED_LIST_MAX);
	} else
		req.count = (int64_t)fe_peer_active();
	req.datalen = (uint32_t)(n * sizeof(struct key_peer));
	memcpy(buf, &req, sizeof(req));
	*lenp = sizeof(req) + req.datalen;
	return (buf);
}

/*
 * Signed documents.  The cache holds keyd's answer and the content it
 * was made from; a request is served from it while the content is the
 * same and the signature younger than FE_SIGN_MAXAGE_MS.  Otherwise the
 * request waits (FE_SIGN_TIMEOUT_MS at most) for the one signing in
 * flight, started if there is none.
 */
static void
fe_doc_drop(struct fe_signed *sd)
{
	free(sd->content);
	free(sd->doc);
	free(sd->pending);
	sd->content = sd->doc = sd->pending = NULL;
	sd->contentlen = sd->doclen = sd->pendinglen = 0;
	sd->reqid = 0;
}

/*
 * Asks keyd to sign; takes content (the request, reqid 0: the cache key)
 * on success.
 */
static int
fe_doc_sign(struct fe_signed *sd, char *content, size_t contentlen)
{
	struct key_sign_req	 req;
	struct iovec		 iov[2];

	memcpy(&req, content, sizeof(req));
	req.reqid = fe_reqid();
	iov[0].iov_base = &req;
	iov[0].iov_len = sizeof(req);
	iov[1].iov_base = content + sizeof(req);
	iov[1].iov_len = contentlen - sizeof(req);
	if (fe->send(PROC_KEYD, sd->type, iov, 2) == -1)
		return (-1);
	fe->stats.signatures[sd->kind]++;
	free(sd->pending);
	sd->pending = content;
	sd->pendinglen = contentlen;
	sd->reqid = req.reqid;
	sd->sent_at = fe_mono_ms();
	return (0);
}

static void
fe_doc_reply(struct http_req *hr, struct fe_signed *sd)
{
	http_header(hr, "Cache-Control", "public, max-age=300");
	http_reply(hr, 200, "application/json", sd->doc, sd->doclen);
}

static void
fe_doc_timeout(struct http_req *hr)
{
	http_error(hr, 503, "signing service did not answer");
}

static void
fe_doc_serve(struct http_req *hr, enum fe_doc d)
{
	struct fe_signed	*sd = &fe->docs[d];
	char			 err[128];
	char			*content;
	size_t			 len;
	int64_t			 now;

	if ((content = fe_doc_request(d, &len, err, sizeof(err))) == NULL) {
		http_error(hr, 503, "%s", err);
		return;
	}
	now = fe_mono_ms();
	if (sd->doc != NULL && sd->contentlen == len &&
	    memcmp(sd->content, content, len) == 0 &&
	    now - sd->signed_at < FE_SIGN_MAXAGE_MS) {
		free(content);
		fe_doc_reply(hr, sd);
		return;
	}
	/* one signing in flight; a lost one is retried after the timeout */
	if (sd->reqid == 0 || now - sd->sent_at >= FE_SIGN_TIMEOUT_MS) {
		if (fe_doc_sign(sd, content, len) == -1) {
			free(content);
			http_error(hr, 503, "signing service unavailable");
			return;
		}
	} else
		free(content);
	http_wait(hr, &sd->waiters, FE_SIGN_TIMEOUT_MS, fe_doc_timeout, sd);
}

/* IMSG_KEY_SIGNATURE (ok) or IMSG_KEY_REFUSED from keyd */
void
fe_sign_answer(int ok, const struct key_sign_resp *resp, const void *doc,
    size_t doclen)
{
	struct fe_signed	*sd = NULL;
	struct http_req		*hr;
	int			 d;

	/* the propose challenge and the heartbeat response */
	if (resp->kind == KEY_KIND_CHALLENGE || resp->kind == KEY_KIND_HBRESP) {
		fe_fed_sign_answer(ok, resp);
		return;
	}
	for (d = 0; d < FE_DOC_MAX; d++)
		if (fe->docs[d].reqid != 0 &&
		    fe->docs[d].reqid == resp->reqid &&
		    fe->docs[d].kind == resp->kind)
			sd = &fe->docs[d];
	if (sd == NULL) {
		log_debug("%s: late answer %u from keyd", __func__,
		    resp->reqid);
		return;
	}
	sd->reqid = 0;
	if (!ok || doclen == 0) {
		log_warnx("keyd refused to sign the %s: %s",
		    sd->kind == KEY_KIND_METADATA ? "relay metadata" :
		    "mesh manifest", ok ? "empty document" : resp->error);
		free(sd->pending);
		sd->pending = NULL;
		while ((hr = TAILQ_FIRST(&sd->waiters)) != NULL)
			http_error(hr, 503, "signing refused");
		return;
	}
	free(sd->content);
	free(sd->doc);
	if ((sd->doc = malloc(doclen)) == NULL)
		fatal("%s", __func__);
	memcpy(sd->doc, doc, doclen);
	sd->doclen = doclen;
	sd->content = sd->pending;
	sd->contentlen = sd->pendinglen;
	sd->pending = NULL;
	sd->signed_at = fe_mono_ms();
	while ((hr = TAILQ_FIRST(&sd->waiters)) != NULL)
		fe_doc_reply(hr, sd);
}

/*
 * Handlers.
 */

/*
 * The identity document changes only with the configuration or the
 * identity, so its bytes are kept until either changes: building and
 * serializing it on every request was most of the route's cost.
 */
void
fe_identity(struct http_req *hr)
{
	json_t	*o;

	if (fe->idbody == NULL) {
		o = fe_identity_doc();
		fe->idbody = jcs_serialize(o, 0, &fe->idlen);
		json_decref(o);
		if (fe->idbody == NULL) {
			http_error(hr, 500, "cannot serialize the answer");
			return;
		}
	}
	http_reply(hr, 200, "application/json", fe->idbody, fe->idlen);
}

void
fe_identity_drop(void)
{
	free(fe->idbody);
	fe->idbody = NULL;
	fe->idlen = 0;
}

void
fe_metadata(struct http_req *hr)
{
	fe_doc_serve(hr, FE_DOC_METADATA);
}

void
fe_manifest(struct http_req *hr)
{
	fe_doc_serve(hr, FE_DOC_MANIFEST);
}

/*
 * /health: the peer engine, routed and ledgerd each answer a status
 * request (2 s at most); ledgerd's healthy flag is its database link.
 * 200 means every engine can serve: this frontend knows the identity,
 * the peer engine has its peer table and the control socket, routed
 * has loaded the local agents, ledgerd is connected.
 */
void
fe_health(struct http_req *hr)
{
	struct fe_health_query	*q;
	struct proc_status_req	 req;
	size_t			 i, pending = 0;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		fatal("%s", __func__);
	q->reqid = fe_reqid();
	memset(&req, 0, sizeof(req));
	req.reqid = q->reqid;
	for (i = 0; i < HEALTH_NPROCS; i++) {
		if (fe_send1(health_procs[i], IMSG_PROC_STATUS_REQ, &req,
		    sizeof(req)) == -1)
			q->done[i] = -1;
		else
			pending++;
	}
	hr->arg = q;
	if (pending == 0) {
		fe_health_finish(hr);
		return;
	}
	http_wait(hr, &fe->health, FE_STATUS_TIMEOUT_MS, fe_health_finish, q);
}

static void
fe_health_finish(struct http_req *hr)
{
	struct fe_health_query	*q = hr->arg;
	json_t			*o, *checks;
	const char		*detail;
	char			 buf[300], first[320];
	size_t			 i;
	int			 ok = 1, pg = 0;

	first[0] = '\0';
	if ((o = json_object()) == NULL || (checks = json_object()) == NULL)
		fatalx("%s: json_object", __func__);
	for (i = 0; i < HEALTH_NPROCS; i++) {
		if (q->done[i] == 1 && (q->st[i].healthy ||
		    health_procs[i] == PROC_LEDGERD))
			strlcpy(buf, "ok", sizeof(buf));
		else if (q->done[i] == 1)
			snprintf(buf, sizeof(buf), "unhealthy: %s",
			    q->st[i].detail);
		else if (q->done[i] == -1)
			strlcpy(buf, "not connected", sizeof(buf));
		else
			strlcpy(buf, "no answer", sizeof(buf));
		if (strcmp(buf, "ok") != 0) {
			if (ok)
				snprintf(first, sizeof(first), "%s: %s",
				    health_names[i], buf);
			ok = 0;
		}
		fe_set(checks, health_names[i], json_string(buf));
		if (health_procs[i] == PROC_LEDGERD && q->done[i] == 1)
			pg = q->st[i].healthy ? 1 : -1;
	}
	/* this frontend itself: it serves the federation routes */
	if (!fe->have_id) {
		fe_set(checks, "frontend", json_string("unhealthy: waiting "
		    "for the relay identity"));
		if (ok)
			strlcpy(first, "frontend: waiting for the relay "
			    "identity", sizeof(first));
		ok = 0;
	}
	if (pg == 1)
		fe_set(checks, "postgresql", json_string("connected"));
	else {
		detail = q->st[HEALTH_NPROCS - 1].detail;
		/* ledgerd's detail may already name the database */
		if (pg == -1 && strncmp(detail, "postgresql", 10) == 0)
			strlcpy(buf, detail, sizeof(buf));
		else if (pg == -1)
			snprintf(buf, sizeof(buf), "postgresql unavailable: %s",
			    detail);
		else
			strlcpy(buf, "unknown: no answer from ledgerd",
			    sizeof(buf));
		fe_set(checks, "postgresql", json_string(buf));
		if (ok)
			strlcpy(first, buf, sizeof(first));
		ok = 0;
	}
	fe_set(o, "status", json_string(ok ? "ok" : "unavailable"));
	fe_set(o, "checks", checks);
	if (!ok)
		fe_set(o, "error", json_string(first));
	free(q);
	hr->arg = NULL;
	http_reply_json(hr, ok ? 200 : 503, o);
	json_decref(o);
}

/* IMSG_PROC_STATUS from the peer engine, routed or ledgerd */
void
fe_status_answer(enum proc_id from, const struct proc_status *st)
{
	struct fe_health_query	*q;
	struct http_req		*hr;
	size_t			 i;

	TAILQ_FOREACH(hr, &fe->health, wentry) {
		q = hr->arg;
		if (q->reqid != st->reqid)
			continue;
		for (i = 0; i < HEALTH_NPROCS; i++) {
			if (health_procs[i] != from)
				continue;
			q->done[i] = 1;
			q->st[i] = *st;
		}
		for (i = 0; i < HEALTH_NPROCS; i++)
			if (q->done[i] == 0)
				return;
		fe_health_finish(hr);
		return;
	}
}

/*
 * /metrics: the peer engine keeps every frontend's counters and renders
 * the text (metrics.c); this frontend's counters go first, so they are
 * current in the answer.
 */
void
fe_stats_push(void)
{
	(void)fe_send1(PROC_PEER, IMSG_FE_STATS, &fe->stats,
	    sizeof(fe->stats));
}

static void
fe_metrics_timeout(struct http_req *hr)
{
	struct fe_metrics_query	*mq = hr->arg;

	evbuffer_free(mq->text);
	free(mq);
	hr->arg = NULL;
	http_error(hr, 503, "metrics unavailable: no answer from the peer "
	    "engine");
}

void
fe_metrics(struct http_req *hr)
{
	struct fe_metrics_query	*mq;
	struct metrics_req	 req;

	fe_stats_push();
	memset(&req, 0, sizeof(req));
	req.reqid = fe_reqid();
	if (fe_send1(PROC_PEER, IMSG_METRICS_REQ, &req, sizeof(req)) == -1) {
		http_error(hr, 503, "metrics unavailable: peer engine not "
		    "connected");
		return;
	}
	if ((mq = calloc(1, sizeof(*mq))) == NULL ||
	    (mq->text = evbuffer_new()) == NULL)
		fatal("%s", __func__);
	mq->reqid = req.reqid;
	http_wait(hr, &fe->metrics, FE_METRICS_TIMEOUT_MS, fe_metrics_timeout,
	    mq);
}

/* IMSG_METRICS from the peer engine */
void
fe_metrics_answer(const struct metrics_chunk *mc, const void *text,
    size_t len)
{
	struct fe_metrics_query	*mq;
	struct http_req		*hr;
	size_t			 total;

	TAILQ_FOREACH(hr, &fe->metrics, wentry) {
		mq = hr->arg;
		if (mq->reqid == mc->reqid)
			break;
	}
	if (hr == NULL)
		return;		/* late: the request timed out */
	total = evbuffer_get_length(mq->text);
	if (len > FE_METRICS_MAX - total) {
		evbuffer_free(mq->text);
		free(mq);
		hr->arg = NULL;
		http_error(hr, 503, "metrics text too large");
		return;
	}
	if (evbuffer_add(mq->text, text, len) == -1)
		fatalx("%s: evbuffer_add", __func__);
	if (!mc->last)
		return;
	total = evbuffer_get_length(mq->text);
	http_reply(hr, 200, "text/plain; version=0.0.4; charset=utf-8",
	    evbuffer_pullup(mq->text, -1), total);
	evbuffer_free(mq->text);
	free(mq);
}
