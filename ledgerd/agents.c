/*
 * ledgerd: the local agents, for routed's graph.  routed asks with
 * IMSG_LDG_AGENT_LOAD, naming the stamp of the directory it holds: the
 * agents_generation counter (schema 003, bumped by a trigger on every
 * change that matters to routing) and the number of live agents (an
 * agent whose expires_at passes changes nothing in the table, only the
 * count).  One statement reads the stamp and, when it differs, every live
 * agent with its capabilities in order, one row per capability, so the
 * answer is one consistent snapshot: one IMSG_LDG_AGENT_ROW per agent,
 * then IMSG_LDG_AGENT_LOADED with the stamp; or LOADED alone with
 * unchanged = 1.  Live means not revoked and not expired; agents that are
 * not federation_visible are loaded too (they route locally; only
 * discovery hides them).
 */
#include "config.h"

#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "agents.h"
#include "db.h"
#include "log.h"
#include "proc.h"
#include "relayd_imsg.h"

struct agents_call {
	struct proc	*proc;
	int		 instance;
	uint32_t	 reqid;
	int64_t		 generation;	/* routed's stamp */
	int64_t		 live;
};

#define LIVE	"NOT revoked AND (expires_at IS NULL OR expires_at > now())"

static const char agents_load_sql[] =
    "WITH s AS (SELECT generation, "
    "(SELECT count(*) FROM agents WHERE " LIVE ") AS live "
    "FROM agents_generation) "
    "SELECT s.generation, s.live, a.motebit_id, a.price, a.latency_ms, "
    "round(a.trust_score * 1000000)::bigint, "
    "round(a.reliability * 1000000)::bigint, a.federation_visible, c.cap "
    "FROM s LEFT JOIN LATERAL (SELECT * FROM agents "
    "WHERE (s.generation <> $1::bigint OR s.live <> $2::bigint) AND "
    LIVE ") a ON true "
    "LEFT JOIN LATERAL unnest(a.capabilities) WITH ORDINALITY "
    "AS c(cap, ord) ON true "
    "ORDER BY a.motebit_id, c.ord";

enum {
	COL_GEN, COL_LIVE, COL_ID, COL_PRICE, COL_LATENCY, COL_TRUST,
	COL_REL, COL_VISIBLE, COL_CAP
};

static void	 agents_answer(struct agents_call *, int, int, uint32_t,
		    int64_t, int64_t, const char *);
static void	 agents_loaded(struct db *, const struct db_reply *, void *);

static void
agents_answer(struct agents_call *ac, int ok, int unchanged, uint32_t rows,
    int64_t gen, int64_t live, const char *err)
{
	struct ldg_agent_result	 r;

	memset(&r, 0, sizeof(r));
	r.reqid = ac->reqid;
	r.ok = ok;
	r.unchanged = unchanged;
	r.rows = rows;
	r.generation = gen;
	r.live = live;
	strlcpy(r.error, err != NULL ? err : "", sizeof(r.error));
	proc_compose(ac->proc, PROC_ROUTED, ac->instance,
	    IMSG_LDG_AGENT_LOADED, 0, -1, &r, sizeof(r));
}

static int64_t
num(PGresult *res, int row, int col)
{
	return (strtoll(PQgetvalue(res, row, col), NULL, 10));
}

static uint32_t
ppm(PGresult *res, int row, int col)
{
	int64_t	 v = num(res, row, col);

	if (v < 0)
		return (0);
	if (v > 1000000)
		return (1000000);
	return ((uint32_t)v);
}

/* Sends the agent collected in *row; returns 1 if sent. */
static int
agents_send(struct agents_call *ac, struct ldg_agent_row *row, int skip)
{
	if (row->a.agent_id[0] == '\0' || skip)
		return (0);
	proc_compose(ac->proc, PROC_ROUTED, ac->instance, IMSG_LDG_AGENT_ROW,
	    0, -1, row, sizeof(*row));
	return (1);
}

static void
agents_loaded(struct db *db, const struct db_reply *rep, void *arg)
{
	struct agents_call	*ac = arg;
	struct ldg_agent_row	 row;
	PGresult		*res = rep->res;
	const char		*id, *cap, *prev = NULL;
	int64_t			 gen, live, lat;
	uint32_t		 sent = 0;
	int			 i, n, skip = 0;

	if (rep->status != DB_OK) {
		log_warnx("agents: load failed: %s", rep->error);
		agents_answer(ac, 0, 0, 0, 0, 0,
		    rep->status == DB_UNAVAILABLE ? "database unavailable" :
		    rep->error);
		free(ac);
		return;
	}
	if ((n = PQntuples(res)) < 1) {
		agents_answer(ac, 0, 0, 0, 0, 0, "no agents_generation row");
		free(ac);
		return;
	}
	gen = num(res, 0, COL_GEN);
	live = num(res, 0, COL_LIVE);
	if (gen == ac->generation && live == ac->live) {
		agents_answer(ac, 1, 1, 0, gen, live, NULL);
		free(ac);
		return;
	}
	memset(&row, 0, sizeof(row));
	for (i = 0; i < n; i++) {
		if (PQgetisnull(res, i, COL_ID))
			continue;	/* no agents at all */
		id = PQgetvalue(res, i, COL_ID);
		if (prev == NULL || strcmp(id, prev) != 0) {
			prev = id;
			sent += agents_send(ac, &row, skip);
			memset(&row, 0, sizeof(row));
			row.reqid = ac->reqid;
			skip = 0;
			if (strlcpy(row.a.agent_id, id,
			    sizeof(row.a.agent_id)) >= sizeof(row.a.agent_id)) {
				log_warnx("agents: id %.40s... is longer "
				    "than %d bytes; not routed", id,
				    AGENT_ID_MAX - 1);
				skip = 1;
			}
			row.a.price = num(res, i, COL_PRICE);
			lat = num(res, i, COL_LATENCY);
			row.a.latency_ms = lat < 0 ? 0 : lat > INT32_MAX ?
			    INT32_MAX : (uint32_t)lat;
			row.a.trust_ppm = ppm(res, i, COL_TRUST);
			row.a.reliability_ppm = ppm(res, i, COL_REL);
			row.a.federation_visible =
			    *PQgetvalue(res, i, COL_VISIBLE) == 't';
		}
		if (skip || PQgetisnull(res, i, COL_CAP))
			continue;
		cap = PQgetvalue(res, i, COL_CAP);
		if (*cap == '\0')
			continue;
		if (row.a.ncaps == ROUTE_CAPS_MAX) {
			log_warnx("agents: %s has more than %d capabilities; "
			    "%.40s not routed", row.a.agent_id,
			    ROUTE_CAPS_MAX, cap);
			continue;
		}
		if (strlcpy(row.a.caps[row.a.ncaps], cap, ROUTE_CAP_MAX) >=
		    ROUTE_CAP_MAX) {
			log_warnx("agents: %s: capability %.40s... is longer "
			    "than %d bytes; not routed", row.a.agent_id, cap,
			    ROUTE_CAP_MAX - 1);
			row.a.caps[row.a.ncaps][0] = '\0';
			continue;
		}
		row.a.ncaps++;
	}
	sent += agents_send(ac, &row, skip);
	log_debug("agents: %u sent to routed, generation %" PRId64,
	    sent, gen);
	agents_answer(ac, 1, 0, sent, gen, live, NULL);
	free(ac);
}

int
agents_dispatch(struct proc *p, struct db *db, struct imsgev *iev,
    struct imsg *imsg)
{
	struct agents_call	*ac;
	struct ldg_agent_req	 req;
	char			 gen[24], live[24];
	const char		*v[2];

	if (imsg_get_type(imsg) != IMSG_LDG_AGENT_LOAD)
		return (-1);
	if (iev->peer != PROC_ROUTED ||
	    imsg_get_data(imsg, &req, sizeof(req)) == -1)
		fatalx("bad IMSG_LDG_AGENT_LOAD from %s", proc_name(iev->peer));
	if ((ac = calloc(1, sizeof(*ac))) == NULL)
		fatal("%s", __func__);
	ac->proc = p;
	ac->instance = iev->instance;
	ac->reqid = req.reqid;
	ac->generation = req.generation;
	ac->live = req.live;
	snprintf(gen, sizeof(gen), "%" PRId64, req.generation);
	snprintf(live, sizeof(live), "%" PRId64, req.live);
	v[0] = gen;
	v[1] = live;
	if (db == NULL || db_query(db, agents_load_sql, 2, v, agents_loaded,
	    ac) == -1) {
		/* no session: routed asks again when ledgerd is back */
		agents_answer(ac, 0, 0, 0, 0, 0, "database unavailable");
		free(ac);
	}
	return (0);
}
