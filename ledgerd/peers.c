/*
 * ledgerd: the peer table.  The peer engine owns the peer state machine
 * and keeps the table in memory; ledgerd only stores it.  At start the
 * peer engine loads every row (IMSG_LDG_PEER_LOAD: one IMSG_LDG_PEER_ROW
 * each, then IMSG_LDG_PEER_LOADED), and afterwards writes each change as
 * a whole row (IMSG_LDG_PEER_SAVE, an upsert) or a deletion
 * (IMSG_LDG_PEER_DEL), each answered IMSG_LDG_PEER_SAVED.  The queries
 * run in the order they arrive on the one connection, so the last write
 * of a row wins.  Times travel as epoch milliseconds (0 = none) and are
 * stored as timestamptz; the trust score as parts per million.
 */
#include "config.h"

#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db.h"
#include "encoding.h"
#include "log.h"
#include "peers.h"
#include "proc.h"
#include "relayd_imsg.h"

struct peers_call {
	struct proc	*proc;
	int		 instance;
	uint32_t	 reqid;
	int		 load;		/* LOAD, else SAVE or DEL */
};

#define MS(col)	"coalesce((extract(epoch FROM " col ") * 1000)::bigint, 0)"

static const char peers_load_sql[] =
    "SELECT peer_relay_id, public_key, endpoint_url, "
    "coalesce(display_name, ''), state, flags, coalesce(extensions, -1), "
    "missed_heartbeats, rtt_ms, round(trust_score * 1000000)::bigint, "
    "fee_ppm, agent_count, " MS("state_since") ", " MS("peered_at") ", "
    MS("last_heartbeat_at") ", trust_level, coalesce(nonce, ''), "
    "state_reason, " MS("created_at") ", " MS("cooldown_until") " "
    "FROM peers ORDER BY peer_relay_id";

#define TS(n)	"to_timestamp(NULLIF($" n "::bigint, 0) / 1000.0)"

static const char peers_save_sql[] =
    "INSERT INTO peers (peer_relay_id, public_key, endpoint_url, "
    "display_name, state, nonce, peered_at, last_heartbeat_at, "
    "missed_heartbeats, agent_count, trust_score, trust_level, removed_at, "
    "state_since, flags, extensions, rtt_ms, fee_ppm, state_reason, "
    "cooldown_until, created_at) VALUES ($1, $2, $3, NULLIF($4, ''), "
    "$5::text, NULLIF($6, ''), " TS("7") ", " TS("8") ", $9::integer, "
    "$10::bigint, $11::double precision, $12, "
    "CASE WHEN $5::text = 'removed' THEN " TS("13") " END, " TS("13") ", "
    "$14::integer, $15::integer, $16::integer, $17::integer, $18, "
    TS("19") ", coalesce(" TS("20") ", now())) "
    "ON CONFLICT (peer_relay_id) DO UPDATE SET "
    "public_key = EXCLUDED.public_key, "
    "endpoint_url = EXCLUDED.endpoint_url, "
    "display_name = EXCLUDED.display_name, state = EXCLUDED.state, "
    "nonce = EXCLUDED.nonce, peered_at = EXCLUDED.peered_at, "
    "last_heartbeat_at = EXCLUDED.last_heartbeat_at, "
    "missed_heartbeats = EXCLUDED.missed_heartbeats, "
    "agent_count = EXCLUDED.agent_count, "
    "trust_score = EXCLUDED.trust_score, "
    "trust_level = EXCLUDED.trust_level, "
    "removed_at = EXCLUDED.removed_at, "
    "state_since = EXCLUDED.state_since, flags = EXCLUDED.flags, "
    "extensions = EXCLUDED.extensions, rtt_ms = EXCLUDED.rtt_ms, "
    "fee_ppm = EXCLUDED.fee_ppm, state_reason = EXCLUDED.state_reason, "
    "cooldown_until = EXCLUDED.cooldown_until, updated_at = now()";

static const char peers_del_sql[] =
    "DELETE FROM peers WHERE peer_relay_id = $1";

static const char *const state_names[] = {
	NULL, "pending", "active", "suspended", "removed"
};

static void	 peers_answer(struct peers_call *, int, uint32_t,
		    const char *);
static void	 peers_loaded(struct db *, const struct db_reply *, void *);
static void	 peers_saved(struct db *, const struct db_reply *, void *);

static void
peers_answer(struct peers_call *pc, int ok, uint32_t rows, const char *err)
{
	struct ldg_peer_result	 r;

	memset(&r, 0, sizeof(r));
	r.reqid = pc->reqid;
	r.ok = ok;
	r.rows = rows;
	strlcpy(r.error, err != NULL ? err : "", sizeof(r.error));
	proc_compose(pc->proc, PROC_PEER, pc->instance,
	    pc->load ? IMSG_LDG_PEER_LOADED : IMSG_LDG_PEER_SAVED, 0, -1, &r,
	    sizeof(r));
}

static int64_t
num(PGresult *res, int row, int col)
{
	return (strtoll(PQgetvalue(res, row, col), NULL, 10));
}

/* Copies column col of row into dst; -1 if it does not fit. */
static int
str(PGresult *res, int row, int col, char *dst, size_t len)
{
	return (strlcpy(dst, PQgetvalue(res, row, col), len) >= len ? -1 : 0);
}

static void
peers_loaded(struct db *db, const struct db_reply *rep, void *arg)
{
	struct peers_call	*pc = arg;
	struct ldg_peer_row	 r;
	char			 state[16];
	int			 i, n, s, sent = 0;
	int64_t			 ext;

	if (rep->status != DB_OK) {
		peers_answer(pc, 0, 0, rep->status == DB_UNAVAILABLE ?
		    "database unavailable" : rep->error);
		free(pc);
		return;
	}
	n = PQntuples(rep->res);
	for (i = 0; i < n; i++) {
		memset(&r, 0, sizeof(r));
		r.reqid = pc->reqid;
		if (str(rep->res, i, 0, r.e.relay_id,
		    sizeof(r.e.relay_id)) == -1 ||
		    !relay_id_valid(r.e.relay_id) ||
		    str(rep->res, i, 1, r.e.public_key,
		    sizeof(r.e.public_key)) == -1 ||
		    str(rep->res, i, 2, r.e.endpoint,
		    sizeof(r.e.endpoint)) == -1 ||
		    str(rep->res, i, 3, r.e.display_name,
		    sizeof(r.e.display_name)) == -1 ||
		    str(rep->res, i, 4, state, sizeof(state)) == -1 ||
		    str(rep->res, i, 15, r.e.trust_level,
		    sizeof(r.e.trust_level)) == -1 ||
		    str(rep->res, i, 16, r.nonce, sizeof(r.nonce)) == -1) {
			log_warnx("peers: row %d (%.64s) does not fit; "
			    "skipped", i, PQgetvalue(rep->res, i, 0));
			continue;
		}
		for (s = 1; s <= 4; s++)
			if (strcmp(state, state_names[s]) == 0)
				break;
		if (s > 4) {
			log_warnx("peers: %s has unknown state %s; skipped",
			    r.e.relay_id, state);
			continue;
		}
		r.e.state = s;
		r.e.flags = (uint32_t)num(rep->res, i, 5);
		ext = num(rep->res, i, 6);
		r.extensions_known = ext >= 0;
		r.e.extensions = ext >= 0 ? (uint32_t)ext : 0;
		r.e.missed = (uint32_t)num(rep->res, i, 7);
		r.e.rtt_ms = (uint32_t)num(rep->res, i, 8);
		r.e.trust_ppm = (uint32_t)num(rep->res, i, 9);
		r.e.fee_ppm = (uint32_t)num(rep->res, i, 10);
		r.e.agent_count = num(rep->res, i, 11);
		r.e.since = num(rep->res, i, 12);
		r.e.peered_at = num(rep->res, i, 13);
		r.e.last_heartbeat = num(rep->res, i, 14);
		(void)str(rep->res, i, 17, r.reason, sizeof(r.reason));
		r.created = num(rep->res, i, 18);
		r.cooldown_until = num(rep->res, i, 19);
		proc_compose(pc->proc, PROC_PEER, pc->instance,
		    IMSG_LDG_PEER_ROW, 0, -1, &r, sizeof(r));
		sent++;
	}
	peers_answer(pc, 1, sent, NULL);
	free(pc);
}

static void
peers_saved(struct db *db, const struct db_reply *rep, void *arg)
{
	struct peers_call	*pc = arg;

	if (rep->status != DB_OK)
		log_warnx("peers: write failed: %s", rep->error);
	peers_answer(pc, rep->status == DB_OK, 0, rep->status == DB_OK ?
	    NULL : rep->status == DB_UNAVAILABLE ? "database unavailable" :
	    rep->error);
	free(pc);
}

static int
peers_save(struct db *db, struct peers_call *pc, struct ldg_peer_row *r)
{
	char		 p[20][40];
	const char	*v[20];
	int		 i;

	r->e.relay_id[sizeof(r->e.relay_id) - 1] = '\0';
	r->e.public_key[sizeof(r->e.public_key) - 1] = '\0';
	r->e.endpoint[sizeof(r->e.endpoint) - 1] = '\0';
	r->e.display_name[sizeof(r->e.display_name) - 1] = '\0';
	r->e.trust_level[sizeof(r->e.trust_level) - 1] = '\0';
	r->nonce[sizeof(r->nonce) - 1] = '\0';
	r->reason[sizeof(r->reason) - 1] = '\0';
	if (!relay_id_valid(r->e.relay_id) || r->e.state < PEER_PENDING ||
	    r->e.state > PEER_REMOVED)
		fatalx("peers: bad row from the peer engine");

	for (i = 0; i < 20; i++)
		v[i] = p[i];
	v[0] = r->e.relay_id;
	v[1] = r->e.public_key;
	v[2] = r->e.endpoint;
	v[3] = r->e.display_name;
	v[4] = state_names[r->e.state];
	v[5] = r->nonce;
	snprintf(p[6], sizeof(p[6]), "%" PRId64, r->e.peered_at);
	snprintf(p[7], sizeof(p[7]), "%" PRId64, r->e.last_heartbeat);
	snprintf(p[8], sizeof(p[8]), "%" PRIu32, r->e.missed);
	snprintf(p[9], sizeof(p[9]), "%" PRId64, r->e.agent_count);
	snprintf(p[10], sizeof(p[10]), "%" PRIu32 ".%06" PRIu32,
	    r->e.trust_ppm / 1000000, r->e.trust_ppm % 1000000);
	v[11] = r->e.trust_level;
	snprintf(p[12], sizeof(p[12]), "%" PRId64, r->e.since);
	snprintf(p[13], sizeof(p[13]), "%" PRIu32, r->e.flags);
	if (r->extensions_known)
		snprintf(p[14], sizeof(p[14]), "%" PRIu32, r->e.extensions);
	else
		v[14] = NULL;
	snprintf(p[15], sizeof(p[15]), "%" PRIu32, r->e.rtt_ms);
	snprintf(p[16], sizeof(p[16]), "%" PRIu32, r->e.fee_ppm);
	v[17] = r->reason;
	snprintf(p[18], sizeof(p[18]), "%" PRId64, r->cooldown_until);
	snprintf(p[19], sizeof(p[19]), "%" PRId64, r->created);
	return (db_query(db, peers_save_sql, 20, v, peers_saved, pc));
}

int
peers_dispatch(struct proc *p, struct db *db, struct imsgev *iev,
    struct imsg *imsg)
{
	struct peers_call	*pc;
	struct ldg_peer_req	 req;
	struct ldg_peer_row	 row;
	const char		*v[1];
	int			 rc;

	if ((pc = calloc(1, sizeof(*pc))) == NULL)
		fatal("%s", __func__);
	pc->proc = p;
	pc->instance = iev->instance;
	switch (imsg_get_type(imsg)) {
	case IMSG_LDG_PEER_LOAD:
		if (imsg_get_data(imsg, &req, sizeof(req)) == -1)
			fatalx("bad IMSG_LDG_PEER_LOAD");
		pc->reqid = req.reqid;
		pc->load = 1;
		rc = db == NULL ? -1 : db_query(db, peers_load_sql, 0, NULL,
		    peers_loaded, pc);
		break;
	case IMSG_LDG_PEER_SAVE:
		if (imsg_get_data(imsg, &row, sizeof(row)) == -1)
			fatalx("bad IMSG_LDG_PEER_SAVE");
		pc->reqid = row.reqid;
		rc = db == NULL ? -1 : peers_save(db, pc, &row);
		break;
	case IMSG_LDG_PEER_DEL:
		if (imsg_get_data(imsg, &req, sizeof(req)) == -1)
			fatalx("bad IMSG_LDG_PEER_DEL");
		req.relay_id[sizeof(req.relay_id) - 1] = '\0';
		pc->reqid = req.reqid;
		v[0] = req.relay_id;
		rc = db == NULL ? -1 : db_query(db, peers_del_sql, 1, v,
		    peers_saved, pc);
		break;
	default:
		free(pc);
		return (-1);
	}
	if (rc == -1) {
		/* no session: the peer engine retries after reconnection */
		peers_answer(pc, 0, 0, "database unavailable");
		free(pc);
	}
	return (0);
}
