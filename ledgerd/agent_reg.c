/*
 * ledgerd: the agent API's storage (relayd(8) AGENTS).  The frontend
 * has validated and authenticated every request; here each one becomes
 * one call of a function of schema 004 (ledgerd/schema/004-agents.sql),
 * which applies it and consumes the token's jti in one transaction and
 * answers the HTTP status and body.  relayctl's agent commands arrive
 * through the peer engine.
 *
 * After a change that may alter it, the number of federation-visible
 * live agents is read again; when it changed, every process hears it in
 * IMSG_LDG_STATE (heartbeats and /.well-known/motebit.json carry it).
 */
#include "config.h"

#include <sys/types.h>

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "agents.h"
#include "db.h"
#include "log.h"
#include "proc.h"
#include "relayd_imsg.h"

struct agreg_call {
	struct proc	*proc;
	int		 instance;
	uint32_t	 reqid;
	uint32_t	 type;		/* IMSG_LDG_AG_*, IMSG_CTL_* */
	uint32_t	 ctlid;		/* control connection */
	int		 recount;	/* read the agent count afterwards */
};

#define AG_LIVE	"NOT a.revoked AND (a.expires_at IS NULL OR " \
	"a.expires_at > now())"

static const char agreg_count_sql[] =
    "SELECT count(*) FROM agents a WHERE a.federation_visible AND "
    AG_LIVE;

static const char agreg_keys_sql[] =
    "SELECT device_key, identity_key, revoked, registered "
    "FROM agent_device_key($1, $2)";

#define AG_CALL(fn) "SELECT o_status, o_body::text FROM " fn \
	"($1, $2, $3, $4::bigint, $5::jsonb)"

#define AG_MS(col) "coalesce((extract(epoch FROM " col ") * 1000)::bigint, 0)"

/* One row per identity, registered or not; capabilities in order. */
static const char agreg_show_sql[] =
    "SELECT i.motebit_id, i.public_key, coalesce(a.device_id, ''), "
    "coalesce(a.endpoint_url, ''), coalesce(a.display_name, ''), "
    "coalesce(a.settlement_address, ''), coalesce(a.settlement_modes, ''), "
    "coalesce(l.listing_id, ''), a.motebit_id IS NOT NULL, "
    "coalesce(a.federation_visible, false), i.revoked, "
    "(SELECT count(*) FROM agent_devices d "
    "WHERE d.motebit_id = i.motebit_id), "
    "coalesce(array_to_string(a.capabilities, ','), ''), "
    "coalesce(a.price, 0), coalesce(a.latency_ms, 0), "
    AG_MS("i.created_at") ", " AG_MS("a.last_seen_at") ", "
    AG_MS("a.expires_at") ", "
    "(SELECT count(*) FROM agent_revocations r "
    "WHERE r.motebit_id = i.motebit_id AND r.acked_at IS NULL) "
    "FROM agent_identities i "
    "LEFT JOIN agents a ON a.motebit_id = i.motebit_id "
    "LEFT JOIN agent_listings l ON l.motebit_id = i.motebit_id "
    "WHERE ($1 = '' OR i.motebit_id = $1) "
    "AND ($2 = '' OR $2 = ANY (a.capabilities)) "
    "ORDER BY i.motebit_id";

enum {
	SC_ID, SC_KEY, SC_DEVICE, SC_ENDPOINT, SC_NAME, SC_SADDR, SC_SMODES,
	SC_LISTING, SC_REGISTERED, SC_VISIBLE, SC_REVOKED, SC_DEVICES,
	SC_CAPS, SC_PRICE, SC_LATENCY, SC_CREATED, SC_SEEN, SC_EXPIRES,
	SC_PENDING
};

static const char agreg_revoke_sql[] =
    "SELECT agent_revoke($1, 'revoked by the operator')";

static void	 agreg_recount(struct proc *, struct db *);

static struct agreg_call *
agreg_call_new(struct proc *p, struct imsgev *iev, uint32_t type)
{
	struct agreg_call	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal("%s", __func__);
	c->proc = p;
	c->instance = iev->instance;
	c->type = type;
	return (c);
}

static void
agreg_result(struct agreg_call *c, int status, const char *body)
{
	struct ag_result	 r;
	struct imsgev		*iev;
	struct iovec		 iov[2];
	char			 err[160];
	size_t			 len;

	if (body == NULL) {
		/* a message of ours, not a body from the database */
		snprintf(err, sizeof(err), "{\"error\":\"%s\"}",
		    status == 503 ? "database unavailable" :
		    "database error");
		body = err;
	}
	len = strlen(body);
	if (len > AG_DOC_MAX) {
		status = 500;
		body = "{\"error\":\"answer too large\"}";
		len = strlen(body);
	}
	memset(&r, 0, sizeof(r));
	r.reqid = c->reqid;
	r.status = status;
	r.doclen = len;
	iov[0].iov_base = &r;
	iov[0].iov_len = sizeof(r);
	iov[1].iov_base = (void *)body;
	iov[1].iov_len = len;
	if ((iev = proc_iev(c->proc, PROC_FRONTEND, c->instance)) != NULL)
		imsg_composev_event(iev, IMSG_LDG_AG_RESULT, 0, 0, -1, iov, 2);
}

static void
agreg_called(struct db *db, const struct db_reply *rep, void *arg)
{
	struct agreg_call	*c = arg;
	PGresult		*res = rep->res;
	const char		*errstr;
	int			 status;

	if (rep->status != DB_OK || PQntuples(res) != 1 ||
	    PQgetisnull(res, 0, 0)) {
		if (rep->status != DB_OK)
			log_warnx("agents: request failed: %s", rep->error);
		agreg_result(c, rep->status == DB_UNAVAILABLE ? 503 : 500,
		    NULL);
		free(c);
		return;
	}
	status = strtonum(PQgetvalue(res, 0, 0), 200, 599, &errstr);
	if (errstr != NULL || PQgetisnull(res, 0, 1)) {
		agreg_result(c, 500, NULL);
		free(c);
		return;
	}
	agreg_result(c, status, PQgetvalue(res, 0, 1));
	if (status < 300 && c->recount)
		agreg_recount(c->proc, db);
	free(c);
}

static void
agreg_keys_answer(struct agreg_call *c, int status, PGresult *res)
{
	struct ag_keys	 k;

	memset(&k, 0, sizeof(k));
	k.reqid = c->reqid;
	k.status = status;
	if (res != NULL) {
		strlcpy(k.device_key, PQgetvalue(res, 0, 0),
		    sizeof(k.device_key));
		strlcpy(k.identity_key, PQgetvalue(res, 0, 1),
		    sizeof(k.identity_key));
		k.revoked = *PQgetvalue(res, 0, 2) == 't';
		k.registered = *PQgetvalue(res, 0, 3) == 't';
	}
	proc_compose(c->proc, PROC_FRONTEND, c->instance, IMSG_LDG_AG_KEYS,
	    0, -1, &k, sizeof(k));
}

static void
agreg_keys(struct db *db, const struct db_reply *rep, void *arg)
{
	struct agreg_call	*c = arg;

	if (rep->status != DB_OK)
		agreg_keys_answer(c, 503, NULL);
	else if (PQntuples(rep->res) != 1 || PQgetisnull(rep->res, 0, 0))
		agreg_keys_answer(c, 1, NULL);
	else
		agreg_keys_answer(c, 0, rep->res);
	free(c);
}

static void
agreg_counted(struct db *db, const struct db_reply *rep, void *arg)
{
	const char	*errstr;
	int64_t		 n;

	if (rep->status != DB_OK || PQntuples(rep->res) != 1)
		return;
	n = strtonum(PQgetvalue(rep->res, 0, 0), 0, LLONG_MAX, &errstr);
	if (errstr != NULL || n == db_agent_count(db))
		return;
	db_set_agent_count(db, n);
	ledgerd_agent_count_changed();
}

static void
agreg_recount(struct proc *p, struct db *db)
{
	(void)db_query(db, agreg_count_sql, 0, NULL, agreg_counted, NULL);
}

/*
 * Control.
 */

static void
agreg_ctl_end(struct agreg_call *c, int ok, const char *msg)
{
	struct ctl_result	 r;

	memset(&r, 0, sizeof(r));
	strlcpy(r.msg, msg, sizeof(r.msg));
	proc_compose(c->proc, PROC_PEER, 0, ok ? IMSG_CTL_OK : IMSG_CTL_FAIL,
	    c->ctlid, -1, &r, sizeof(r));
}

static int64_t
agreg_num(PGresult *res, int row, int col)
{
	return (strtoll(PQgetvalue(res, row, col), NULL, 10));
}

static void
agreg_row(struct agreg_call *c, PGresult *res, int i)
{
	struct ctl_agent	 a;
	char			*caps, *cap, *s;
	int64_t			 v;

	memset(&a, 0, sizeof(a));
	strlcpy(a.motebit_id, PQgetvalue(res, i, SC_ID), sizeof(a.motebit_id));
	strlcpy(a.public_key, PQgetvalue(res, i, SC_KEY), sizeof(a.public_key));
	strlcpy(a.device_id, PQgetvalue(res, i, SC_DEVICE),
	    sizeof(a.device_id));
	strlcpy(a.endpoint, PQgetvalue(res, i, SC_ENDPOINT),
	    sizeof(a.endpoint));
	strlcpy(a.display_name, PQgetvalue(res, i, SC_NAME),
	    sizeof(a.display_name));
	strlcpy(a.settlement_address, PQgetvalue(res, i, SC_SADDR),
	    sizeof(a.settlement_address));
	strlcpy(a.settlement_modes, PQgetvalue(res, i, SC_SMODES),
	    sizeof(a.settlement_modes));
	strlcpy(a.listing_id, PQgetvalue(res, i, SC_LISTING),
	    sizeof(a.listing_id));
	a.registered = *PQgetvalue(res, i, SC_REGISTERED) == 't';
	a.visible = *PQgetvalue(res, i, SC_VISIBLE) == 't';
	a.revoked = *PQgetvalue(res, i, SC_REVOKED) == 't';
	a.devices = (uint32_t)agreg_num(res, i, SC_DEVICES);
	if ((caps = strdup(PQgetvalue(res, i, SC_CAPS))) == NULL)
		fatal("%s", __func__);
	s = caps;
	while ((cap = strsep(&s, ",")) != NULL && a.ncaps < ROUTE_CAPS_MAX)
		if (*cap != '\0')
			strlcpy(a.caps[a.ncaps++], cap, ROUTE_CAP_MAX);
	free(caps);
	a.price = agreg_num(res, i, SC_PRICE);
	v = agreg_num(res, i, SC_LATENCY);
	a.latency_ms = v < 0 ? 0 : v > INT32_MAX ? INT32_MAX : (uint32_t)v;
	a.created = agreg_num(res, i, SC_CREATED);
	a.last_seen = agreg_num(res, i, SC_SEEN);
	a.expires = agreg_num(res, i, SC_EXPIRES);
	a.pending_revocations = (uint32_t)agreg_num(res, i, SC_PENDING);
	proc_compose(c->proc, PROC_PEER, 0, IMSG_CTL_AGENT, c->ctlid, -1,
	    &a, sizeof(a));
}

static void
agreg_shown(struct db *db, const struct db_reply *rep, void *arg)
{
	struct agreg_call	*c = arg;
	char			 msg[64];
	int			 i, n;

	if (rep->status != DB_OK) {
		agreg_ctl_end(c, 0, rep->status == DB_UNAVAILABLE ?
		    "database unavailable" : rep->error);
		free(c);
		return;
	}
	n = PQntuples(rep->res);
	if (c->type == IMSG_CTL_SHOW_AGENT && n == 0) {
		agreg_ctl_end(c, 0, "no such agent");
		free(c);
		return;
	}
	for (i = 0; i < n; i++)
		agreg_row(c, rep->res, i);
	snprintf(msg, sizeof(msg), "%d agent%s", n, n == 1 ? "" : "s");
	agreg_ctl_end(c, 1, msg);
	free(c);
}

static void
agreg_revoked(struct db *db, const struct db_reply *rep, void *arg)
{
	struct agreg_call	*c = arg;

	if (rep->status != DB_OK)
		agreg_ctl_end(c, 0, rep->status == DB_UNAVAILABLE ?
		    "database unavailable" : rep->error);
	else if (PQntuples(rep->res) != 1 ||
	    *PQgetvalue(rep->res, 0, 0) != 't')
		agreg_ctl_end(c, 0, "no such agent, or already revoked");
	else {
		log_info("agents: operator revoked an agent");
		agreg_ctl_end(c, 1, "agent revoked");
		agreg_recount(c->proc, db);
	}
	free(c);
}

static int
agreg_ctl(struct proc *p, struct db *db, struct imsgev *iev,
    struct imsg *imsg)
{
	struct agreg_call	*c;
	struct ctl_agent_req	 req;
	const char		*v[2];
	uint32_t		 type = imsg_get_type(imsg);

	if (iev->peer != PROC_PEER ||
	    imsg_get_data(imsg, &req, sizeof(req)) == -1)
		fatalx("bad agent control request from %s",
		    proc_name(iev->peer));
	req.motebit_id[sizeof(req.motebit_id) - 1] = '\0';
	req.capability[sizeof(req.capability) - 1] = '\0';
	c = agreg_call_new(p, iev, type);
	c->ctlid = imsg_get_id(imsg);
	if (type == IMSG_CTL_SHOW_AGENTS)
		req.motebit_id[0] = '\0';
	else
		req.capability[0] = '\0';
	v[0] = req.motebit_id;
	v[1] = req.capability;
	if (type == IMSG_CTL_AGENT_REVOKE) {
		if (db != NULL && db_query(db, agreg_revoke_sql, 1, v,
		    agreg_revoked, c) == 0)
			return (0);
	} else if (db != NULL && db_query(db, agreg_show_sql, 2, v,
	    agreg_shown, c) == 0)
		return (0);
	agreg_ctl_end(c, 0, "database unavailable");
	free(c);
	return (0);
}

/*
 * Requests from the frontends.
 */

static int
agreg_frontend(struct proc *p, struct db *db, struct imsgev *iev,
    struct imsg *imsg)
{
	struct agreg_call	*c;
	struct ag_req		 req;
	const char		*sql, *v[5];
	char			 exp[24], *doc;
	size_t			 len;
	uint32_t		 type = imsg_get_type(imsg);

	len = imsg_get_len(imsg);
	if (iev->peer != PROC_FRONTEND || len < sizeof(req))
		fatalx("bad agent request from %s", proc_name(iev->peer));
	memcpy(&req, imsg->data, sizeof(req));
	if (req.doclen != len - sizeof(req) || req.doclen > AG_DOC_MAX)
		fatalx("agent request: bad document length");
	req.motebit_id[sizeof(req.motebit_id) - 1] = '\0';
	req.device_id[sizeof(req.device_id) - 1] = '\0';
	req.jti[sizeof(req.jti) - 1] = '\0';
	c = agreg_call_new(p, iev, type);
	c->reqid = req.reqid;
	v[0] = req.motebit_id;
	v[1] = req.device_id;
	if (type == IMSG_LDG_AG_DEVICE) {
		if (db == NULL || db_query(db, agreg_keys_sql, 2, v,
		    agreg_keys, c) == -1) {
			agreg_keys_answer(c, 503, NULL);
			free(c);
		}
		return (0);
	}
	switch (type) {
	case IMSG_LDG_AG_BOOTSTRAP:
		sql = AG_CALL("agent_api_bootstrap");
		break;
	case IMSG_LDG_AG_REGISTER:
		sql = AG_CALL("agent_api_register");
		c->recount = 1;
		break;
	case IMSG_LDG_AG_HEARTBEAT:
		/* expiries change the count without a change of ours */
		sql = AG_CALL("agent_api_heartbeat");
		c->recount = 1;
		break;
	case IMSG_LDG_AG_DEREGISTER:
		sql = AG_CALL("agent_api_deregister");
		c->recount = 1;
		break;
	default:
		sql = AG_CALL("agent_api_listing");
		break;
	}
	if ((doc = malloc(req.doclen + 1)) == NULL)
		fatal("%s", __func__);
	memcpy(doc, (const char *)imsg->data + sizeof(req), req.doclen);
	doc[req.doclen] = '\0';
	if (strlen(doc) != req.doclen)
		fatalx("agent request: NUL in the document");
	snprintf(exp, sizeof(exp), "%" PRId64, req.exp);
	v[2] = req.jti;
	v[3] = exp;
	v[4] = doc;
	if (db == NULL || db_query(db, sql, 5, v, agreg_called, c) == -1) {
		agreg_result(c, 503, NULL);
		free(c);
	}
	free(doc);
	return (0);
}

int
agreg_dispatch(struct proc *p, struct db *db, struct imsgev *iev,
    struct imsg *imsg)
{
	switch (imsg_get_type(imsg)) {
	case IMSG_LDG_AG_DEVICE:
	case IMSG_LDG_AG_BOOTSTRAP:
	case IMSG_LDG_AG_REGISTER:
	case IMSG_LDG_AG_HEARTBEAT:
	case IMSG_LDG_AG_DEREGISTER:
	case IMSG_LDG_AG_LISTING:
		return (agreg_frontend(p, db, iev, imsg));
	case IMSG_CTL_SHOW_AGENTS:
	case IMSG_CTL_SHOW_AGENT:
	case IMSG_CTL_AGENT_REVOKE:
		return (agreg_ctl(p, db, iev, imsg));
	}
	return (-1);
}
