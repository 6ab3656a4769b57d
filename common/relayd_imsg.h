/*
 * Process ids, imsg types and the flat wire structures exchanged between
 * relayd processes.  Structures carry no pointers; strings are fixed-size
 * and NUL-terminated by the receiver; every payload is checked for its
 * exact size (imsg_get_data).
 */
#ifndef RELAYD_IMSG_TYPES_H
#define RELAYD_IMSG_TYPES_H

#include <stdint.h>

#include "keyd_imsg.h"

#define RELAYD_SPEC_VERSION	"motebit/relay-federation@1.4"

/* Numbered on from keyd's types (keyd_imsg.h). */
enum imsg_type {
	/* control (relayctl <-> peer engine <-> others) */
	IMSG_CTL_RELOAD = IMSG_KEYD_LAST,
	IMSG_CTL_OK,		/* struct ctl_result */
	IMSG_CTL_FAIL,		/* struct ctl_result */
	IMSG_CTL_END,
	IMSG_CTL_SHOW_STATUS,	/* relayctl->peer: no payload */
	IMSG_CTL_STATUS_RELAY,	/* answer: struct ctl_relay_status */
	IMSG_CTL_STATUS_PROC,	/* answer: struct proc_status, one each */
	IMSG_CTL_SHOW_KEY,	/* answer: struct ctl_key */

	/* configuration (parent -> children, need to know) */
	IMSG_CFG_LISTEN,	/* struct cfg_listen + listening socket fd */
	IMSG_CFG_TLS,		/* struct cfg_tls_hdr + cert PEM + key PEM */
	IMSG_CFG_FEDRULE,	/* struct cfg_fedrule */
	IMSG_CFG_DATABASE,	/* struct cfg_database (ledgerd only) */
	IMSG_CFG_CONTROL,	/* control socket fd (peer engine only) */

	/* ledgerd */
	IMSG_LDG_IDENTITY,	/* ledgerd->parent: struct ldg_identity */
	IMSG_LDG_STATE,		/* ledgerd->all: struct ldg_state, on change */

	/* frontend statistics, pushed to the peer engine for /metrics */
	IMSG_FE_STATS,		/* struct fe_stats */
	IMSG_METRICS_REQ,	/* frontend->peer: struct metrics_req */
	IMSG_METRICS,		/* peer->frontend: struct metrics_chunk + text */

	/* peering (PROTOCOL.md section 3); see the block comment below */
	IMSG_PEER_UPSERT,	/* peer->frontend, routed: struct peer_entry */
	IMSG_PEER_DELETE,	/* peer->frontend, routed: struct peer_entry */
	IMSG_FED_PROPOSE,	/* frontend->peer: struct fed_propose */
	IMSG_FED_CONFIRM,	/* frontend->peer: struct fed_confirm */
	IMSG_FED_HEARTBEAT,	/* frontend->peer: struct fed_heartbeat */
	IMSG_FED_REMOVE,	/* frontend->peer: struct fed_signed */
	IMSG_FED_ACCEPTED,	/* frontend->peer: struct fed_signed */
	IMSG_FED_RESULT,	/* peer->frontend: struct fed_result */

	/* peering: relayctl <-> peer engine, peer engine <-> ledgerd */
	IMSG_CTL_SHOW_PEERS,	/* relayctl->peer: no payload */
	IMSG_CTL_SHOW_PEER,	/* relayctl->peer: struct ctl_peer_req */
	IMSG_CTL_SHOW_REQUESTS,	/* relayctl->peer: no payload */
	IMSG_CTL_PEER,		/* answer: struct ctl_peer, one per row */
	IMSG_CTL_PEER_ADD,	/* struct ctl_peer_req: url */
	IMSG_CTL_PEER_ACCEPT,	/* struct ctl_peer_req: relay_id */
	IMSG_CTL_PEER_DECLINE,	/* struct ctl_peer_req: relay_id */
	IMSG_CTL_PEER_REMOVE,	/* struct ctl_peer_req: relay_id */
	IMSG_CTL_PEER_BLOCK,	/* struct ctl_peer_req: relay_id */
	IMSG_LDG_PEER_LOAD,	/* peer->ledgerd: struct ldg_peer_req */
	IMSG_LDG_PEER_ROW,	/* ledgerd->peer: struct ldg_peer_row */
	IMSG_LDG_PEER_LOADED,	/* ledgerd->peer: struct ldg_peer_result */
	IMSG_LDG_PEER_SAVE,	/* peer->ledgerd: struct ldg_peer_row */
	IMSG_LDG_PEER_DEL,	/* peer->ledgerd: struct ldg_peer_req */
	IMSG_LDG_PEER_SAVED,	/* ledgerd->peer: struct ldg_peer_result */

	/* routing: see the block comment above struct route_agent */
	IMSG_LDG_AGENT_LOAD,	/* routed->ledgerd: struct ldg_agent_req */
	IMSG_LDG_AGENT_ROW,	/* ledgerd->routed: struct ldg_agent_row */
	IMSG_LDG_AGENT_LOADED,	/* ledgerd->routed: struct ldg_agent_result */
	IMSG_ROUTE_AGENT_UPSERT, /* peer->routed: struct route_agent */
	IMSG_ROUTE_AGENT_DELETE, /* peer->routed: struct route_agent */
	IMSG_ROUTE_QUERY,	/* frontend, peer->routed: struct route_query */
	IMSG_ROUTE_CANDIDATE,	/* routed->asker: struct route_candidate */
	IMSG_ROUTE_END,		/* routed->asker: struct route_end */
	IMSG_CTL_SHOW_ROUTES,	/* relayctl->peer->routed: ctl_route_req */
	IMSG_CTL_SHOW_GRAPH,	/* relayctl->peer->routed: ctl_route_req */
	IMSG_CTL_ROUTE,		/* answer: struct route_candidate */
	IMSG_CTL_ROUTE_END,	/* answer: struct route_end */
	IMSG_CTL_GRAPH,		/* answer: struct ctl_text + text */

	/* agents: see the block comment above struct ag_req */
	IMSG_LDG_AG_DEVICE,	/* frontend->ledgerd: struct ag_req */
	IMSG_LDG_AG_KEYS,	/* ledgerd->frontend: struct ag_keys */
	IMSG_LDG_AG_BOOTSTRAP,	/* frontend->ledgerd: ag_req + JSON */
	IMSG_LDG_AG_REGISTER,	/* frontend->ledgerd: ag_req + JSON */
	IMSG_LDG_AG_HEARTBEAT,	/* frontend->ledgerd: ag_req + JSON */
	IMSG_LDG_AG_DEREGISTER,	/* frontend->ledgerd: ag_req + JSON */
	IMSG_LDG_AG_LISTING,	/* frontend->ledgerd: ag_req + JSON */
	IMSG_LDG_AG_RESULT,	/* ledgerd->frontend: ag_result + JSON */
	IMSG_CTL_SHOW_AGENTS,	/* relayctl->peer->ledgerd: ctl_agent_req */
	IMSG_CTL_SHOW_AGENT,	/* relayctl->peer->ledgerd: ctl_agent_req */
	IMSG_CTL_AGENT_REVOKE,	/* relayctl->peer->ledgerd: ctl_agent_req */
	IMSG_CTL_AGENT,		/* answer: struct ctl_agent, one per row */

	IMSG_TYPE_MAX
};

/* IMSG_CTL_OK / IMSG_CTL_FAIL */
struct ctl_result {
	char		 msg[256];
};

/* IMSG_CTL_STATUS_RELAY */
struct ctl_relay_status {
	char		 relay_id[RELAY_ID_MAX];
	char		 name[RELAY_NAME_MAX];
	char		 did[DID_MAX];
	char		 version[32];
	int64_t		 started;	/* epoch ms */
	int32_t		 db_connected;
	char		 db_detail[128];
};

/* IMSG_CTL_SHOW_KEY */
struct ctl_key {
	char		 public_key[PUBKEY_HEX_MAX];
	char		 did[DID_MAX];
	char		 fingerprint[PUBKEY_HEX_MAX];	/* SHA-256 of key */
	char		 path[256];
};

/* IMSG_CFG_LISTEN (+ fd) */
struct cfg_listen {
	char		 addr[64];
	uint16_t	 port;
	uint16_t	 tls;
	uint32_t	 index;
};

/* IMSG_CFG_TLS: header, then certlen bytes of PEM, then keylen bytes */
struct cfg_tls_hdr {
	uint32_t	 index;		/* listen index */
	uint32_t	 certlen;
	uint32_t	 keylen;
};

/* IMSG_CFG_FEDRULE */
struct cfg_fedrule {
	char		 relay_id[RELAY_ID_MAX];
	int32_t		 block;		/* 0 allow, 1 block */
};

/* IMSG_CFG_DATABASE */
struct cfg_database {
	char		 conninfo[1024];
	char		 user[32];	/* unprivileged user, for libpq */
};

/* IMSG_LDG_IDENTITY */
struct ldg_identity {
	char		 relay_id[RELAY_ID_MAX];
	int64_t		 created;	/* epoch ms */
};

/* IMSG_LDG_STATE */
struct ldg_state {
	int32_t		 connected;
	int64_t		 agent_count;
	int32_t		 schema_version;
	char		 detail[128];
};

/*
 * IMSG_FE_STATS: one frontend's cumulative counters.  Requests are
 * counted per route (relayd/frontend/http.h) and status bucket
 * (relayd/fed/metrics.c: 200 202 400 401 403 404 405 409 413 414 429 500 503, then "other").
 */
#define FE_ROUTE_MAX	24
#define FE_STATUS_MAX	16

/*
 * Authentication failures of federation requests, by reason: counted by
 * the frontend that refused the request (fe_stats.auth_failures) and by
 * the peer engine for the checks it makes itself (replay, key pinning,
 * confirm); /metrics shows the sum as relayd_peer_auth_failures_total.
 */
enum auth_fail {
	AUTH_FAIL_UNKNOWN_PEER = 0,	/* signer not a peer in that state */
	AUTH_FAIL_BAD_SIGNATURE,	/* does not verify with its key */
	AUTH_FAIL_TIMESTAMP,		/* outside +-5 minutes */
	AUTH_FAIL_REPLAY,		/* (signer, signature) seen: 409 */
	AUTH_FAIL_KEY_MISMATCH,		/* propose: new key for a known id */
	AUTH_FAIL_CHALLENGE,		/* confirm: bad challenge_response */
	AUTH_FAIL_POLICY,		/* allow/block list, blocked peer */
	AUTH_FAIL_VERSION,		/* spec major version mismatch */
	AUTH_FAIL_MAX
};

struct fe_stats {
	int32_t		 instance;
	uint64_t	 requests[FE_ROUTE_MAX][FE_STATUS_MAX];
	uint64_t	 signatures[KEY_KIND_MAX];
	uint32_t	 queue[PROC_MAX];	/* imsgs queued to each process */
	uint64_t	 auth_failures[AUTH_FAIL_MAX];
	uint64_t	 ip_rate_limited;	/* per-IP 429s (fedauth.h) */
	/* the HTTP layer (http.h) */
	uint64_t	 http_conns;		/* open now */
	uint64_t	 http_evicted;		/* pushed out at the cap */
	uint64_t	 http_deadline;		/* cut by request timeout */
	uint64_t	 http_refused;		/* refused by the guard */
	uint64_t	 http_accept_err;	/* accept(2) errors */
};

/* IMSG_METRICS_REQ */
struct metrics_req {
	uint32_t	 reqid;
};

/*
 * IMSG_METRICS: the Prometheus text in one or more chunks, each this
 * header followed by up to METRICS_CHUNK_MAX bytes of text; last is 1 on
 * the final chunk of a reqid.
 */
#define METRICS_CHUNK_MAX	(64 * 1024)
struct metrics_chunk {
	uint32_t	 reqid;
	uint32_t	 last;
};

/*
 * Peering.
 *
 * The peer engine owns the peer table (persisted by ledgerd) and the
 * state machine.  Every frontend keeps a read-only copy, fed with
 * IMSG_PEER_UPSERT / IMSG_PEER_DELETE (the whole table once the peer
 * engine has loaded it, then every change), so that it can authenticate
 * inbound federation requests itself: signer key from the table only,
 * timestamp within +-5 minutes, Ed25519 verification, all before any
 * imsg is sent.  A request that passed parsing, validation and
 * authentication is handed to the peer engine as IMSG_FED_*, which
 * checks the replay cache (signer, signature) for 10 minutes -> 409, the
 * per-peer rate limit (`rate limit') -> 429 with retry_after, applies the
 * state machine, persists through ledgerd and answers IMSG_FED_RESULT
 * with the HTTP status the frontend must send.  The frontend builds the
 * response body (signing what must be signed through keyd: challenge,
 * heartbeat response).
 */
enum peer_state {
	PEER_NONE = 0,
	PEER_PENDING,		/* handshake under way or awaiting approval */
	PEER_ACTIVE,
	PEER_SUSPENDED,
	PEER_REMOVED
};

/* peer_entry.flags */
#define PEER_F_INBOUND		0x01	/* they proposed to us */
#define PEER_F_CONFIRMED	0x02	/* handshake verified */
#define PEER_F_AWAIT_US		0x04	/* pending: our operator decides */
#define PEER_F_AWAIT_THEM	0x08	/* pending: their operator decides */
#define PEER_F_BLOCKED		0x10	/* relayctl peer block */

/* peer_entry.extensions: what the peer listed in its identity */
#define PEER_EXT_PEER_ACCEPTED	0x01	/* "peer-accepted" */
#define PEER_EXT_REMOVE_V2	0x02	/* "remove-v2" */

struct peer_entry {
	char		 relay_id[RELAY_ID_MAX];
	char		 public_key[PUBKEY_HEX_MAX];
	char		 endpoint[RELAY_URL_MAX];
	char		 display_name[RELAY_NAME_MAX];
	int32_t		 state;		/* enum peer_state */
	uint32_t	 flags;		/* PEER_F_* */
	uint32_t	 extensions;	/* PEER_EXT_* */
	uint32_t	 missed;	/* consecutive missed rounds */
	uint32_t	 rtt_ms;	/* last heartbeat round trip */
	uint32_t	 trust_ppm;	/* trust_score x 1e6 */
	uint32_t	 fee_ppm;	/* the peer's advertised fee rate */
	int64_t		 agent_count;
	int64_t		 since;		/* ms: entered this state */
	int64_t		 peered_at;	/* ms, 0 never */
	int64_t		 last_heartbeat;	/* ms, 0 never */
	char		 trust_level[16];
};

/* Common head of every IMSG_FED_* request. */
struct fed_hdr {
	uint32_t	 reqid;		/* echoed in fed_result */
	char		 signer[RELAY_ID_MAX];	/* authenticated id, or "" */
	char		 signature[SIG_HEX_MAX];	/* for the replay cache */
	char		 remote_addr[64];	/* for logs */
	int32_t		 header_auth;	/* X-Relay-* headers were used */
};

/* IMSG_FED_PROPOSE: unauthenticated by nature (the key is new) */
struct fed_propose {
	struct fed_hdr	 hdr;
	char		 relay_id[RELAY_ID_MAX];
	char		 public_key[PUBKEY_HEX_MAX];
	char		 endpoint[RELAY_URL_MAX];
	char		 display_name[RELAY_NAME_MAX];
	char		 nonce[NONCE_MAX];
	char		 spec_version[64];
};

/* IMSG_FED_CONFIRM */
struct fed_confirm {
	struct fed_hdr	 hdr;
	char		 relay_id[RELAY_ID_MAX];
	char		 challenge_response[SIG_HEX_MAX];
};

/* IMSG_FED_HEARTBEAT: signature already verified by the frontend */
struct fed_heartbeat {
	struct fed_hdr	 hdr;
	int64_t		 timestamp;
	int64_t		 agent_count;
};

/* IMSG_FED_REMOVE, IMSG_FED_ACCEPTED: verified by the frontend */
#define FED_REMOVE_LEGACY	0	/* bare relay id signature */
#define FED_REMOVE_V2		1	/* timestamped JCS body */
struct fed_signed {
	struct fed_hdr	 hdr;
	int32_t		 style;		/* FED_REMOVE_* */
	int64_t		 timestamp;	/* 0 for legacy removal */
};

/* IMSG_FED_RESULT */
struct fed_result {
	uint32_t	 reqid;
	int32_t		 status;	/* HTTP status to answer */
	char		 error[128];	/* message when status >= 400 */
	uint32_t	 retry_after;	/* seconds, with 429 */
	char		 nonce[NONCE_MAX];	/* propose: responder nonce */
	int64_t		 peered_at;	/* confirm: ms */
	char		 peer_state[16];	/* "active", "pending", ... */
};

/*
 * Peering control (relayctl <-> peer engine).  Requests that name a peer
 * carry its relay id, `peer add' carries the URL.  Show commands answer
 * one IMSG_CTL_PEER per row, then IMSG_CTL_OK; operator actions answer
 * IMSG_CTL_PEER with the row as it ended up (when there is one), then
 * IMSG_CTL_OK or IMSG_CTL_FAIL with the outcome in ctl_result.msg.
 */
struct ctl_peer_req {
	char		 relay_id[RELAY_ID_MAX];
	char		 url[RELAY_URL_MAX];
};

struct ctl_peer {
	struct peer_entry e;
	char		 did[DID_MAX];		/* did:key of e.public_key */
	char		 fingerprint[PUBKEY_HEX_MAX];	/* SHA-256, hex */
	char		 reason[128];	/* why it entered its state */
	int32_t		 extensions_known;	/* e.extensions is valid */
	int64_t		 cooldown_until;	/* ms: re-peering refused */
};

/*
 * Peer rows in PostgreSQL (ledgerd/peers.c).  The peer engine loads the
 * table with IMSG_LDG_PEER_LOAD once ledgerd is connected (rows come as
 * IMSG_LDG_PEER_ROW, then IMSG_LDG_PEER_LOADED with the same reqid) and
 * writes each change as a whole row (IMSG_LDG_PEER_SAVE, an upsert) or a
 * deletion (IMSG_LDG_PEER_DEL); each is answered IMSG_LDG_PEER_SAVED
 * with the reqid.  ledgerd applies them in the order received.
 */
struct ldg_peer_req {
	uint32_t	 reqid;
	char		 relay_id[RELAY_ID_MAX];	/* DEL */
};

struct ldg_peer_row {
	uint32_t	 reqid;
	struct peer_entry e;
	char		 nonce[NONCE_MAX];	/* responder nonce, or "" */
	char		 reason[128];	/* why it entered its state */
	int32_t		 extensions_known;	/* e.extensions is valid */
	int64_t		 created;	/* ms */
	int64_t		 cooldown_until;	/* ms: re-peering refused */
};

struct ldg_peer_result {
	uint32_t	 reqid;
	int32_t		 ok;		/* 1 done, 0 failed */
	uint32_t	 rows;		/* LOADED: rows sent */
	char		 error[128];
};

/*
 * Routing (DESIGN.md 4, relayd(8) ROUTING).  routed holds the graph:
 * this relay, its active and suspended peers (IMSG_PEER_UPSERT/DELETE)
 * and the agents.  Local agents come from ledgerd: routed sends
 * IMSG_LDG_AGENT_LOAD with the stamp (generation, live count) of what it
 * holds, and ledgerd answers one IMSG_LDG_AGENT_ROW per live agent and
 * then IMSG_LDG_AGENT_LOADED, or LOADED alone with unchanged = 1 when the
 * stamp is the same.  Agents hosted by other relays come from the peer
 * engine as IMSG_ROUTE_AGENT_UPSERT/DELETE with relay_id = the host.
 *
 * A route query (IMSG_ROUTE_QUERY, from a frontend or the peer engine)
 * is answered with up to max_results IMSG_ROUTE_CANDIDATE, best first,
 * then IMSG_ROUTE_END, all carrying the query's reqid.  relayctl's show
 * routes and show graph reach routed through the peer engine with the
 * control connection's id as imsg peer id; routed answers IMSG_CTL_ROUTE
 * and IMSG_CTL_ROUTE_END, or IMSG_CTL_GRAPH chunks, then IMSG_CTL_OK or
 * IMSG_CTL_FAIL (struct ctl_result), which the peer engine relays.
 */
#define AGENT_ID_MAX		128
#define ROUTE_CAP_MAX		64	/* capability name, NUL included */
#define ROUTE_CAPS_MAX		32	/* capabilities per agent */
#define ROUTE_PATH_MAX		8	/* nodes of a reported path */
#define ROUTE_RESULTS_MAX	100	/* candidates per answer */
#define ROUTE_TEXT_CHUNK	3072	/* fits a control connection */

/* an agent and the edge into it: ldg_agent_row, IMSG_ROUTE_AGENT_* */
struct route_agent {
	char		 agent_id[AGENT_ID_MAX];
	char		 relay_id[RELAY_ID_MAX];	/* host; "" here */
	int64_t		 price;		/* micro-units per task */
	uint32_t	 latency_ms;
	uint32_t	 trust_ppm;	/* the host's trust in the agent */
	uint32_t	 reliability_ppm;
	int32_t		 federation_visible;
	uint32_t	 ncaps;
	char		 caps[ROUTE_CAPS_MAX][ROUTE_CAP_MAX];
};

/* IMSG_LDG_AGENT_LOAD */
struct ldg_agent_req {
	uint32_t	 reqid;
	int64_t		 generation;	/* the stamp routed holds; -1 none */
	int64_t		 live;
};

/* IMSG_LDG_AGENT_ROW */
struct ldg_agent_row {
	uint32_t	 reqid;
	struct route_agent a;
};

/* IMSG_LDG_AGENT_LOADED */
struct ldg_agent_result {
	uint32_t	 reqid;
	int32_t		 ok;		/* 1 done, 0 failed */
	int32_t		 unchanged;	/* same stamp: no rows were sent */
	uint32_t	 rows;
	int64_t		 generation;	/* the stamp of this answer */
	int64_t		 live;
	char		 error[128];
};

enum route_policy {
	ROUTE_POLICY_DEFAULT = 0,	/* the relayd.conf routing block */
	ROUTE_POLICY_WEIGHTED,
	ROUTE_POLICY_LEXICOGRAPHIC,
	ROUTE_POLICY_COST,		/* lexicographic, cost first */
	ROUTE_POLICY_TRUST,		/* lexicographic, trust first */
	ROUTE_POLICY_LATENCY,		/* lexicographic, latency first */
	ROUTE_POLICY_MAX
};

/* route_query.flags */
#define ROUTE_QF_TABLE		0x01	/* best path to every node */

/* IMSG_ROUTE_QUERY; constraints of 0 mean none */
struct route_query {
	uint32_t	 reqid;
	char		 capability[ROUTE_CAP_MAX];	/* "" any agent */
	int64_t		 budget;	/* micro-units: cost score, limit */
	int64_t		 max_cost;	/* micro-units */
	uint32_t	 min_trust_ppm;
	uint32_t	 max_latency_ms;
	int32_t		 policy;	/* enum route_policy */
	uint32_t	 max_results;	/* 0 means 10 */
	uint32_t	 flags;		/* ROUTE_QF_* */
};

/*
 * IMSG_ROUTE_CANDIDATE, IMSG_CTL_ROUTE: one real path and its exact
 * weights.  Dimensions are indexed trust, cost, latency, reliability,
 * risk.  Kinds are those of routed/route.h: 1 this relay, 2 a peer
 * relay, 3 an agent.
 */
struct route_candidate {
	uint32_t	 reqid;
	uint32_t	 rank;		/* 1 = the choice */
	char		 target[AGENT_ID_MAX];
	int32_t		 target_kind;
	char		 relay_id[RELAY_ID_MAX];	/* last relay, or "" */
	uint32_t	 npath;		/* nodes, this relay first */
	char		 path[ROUTE_PATH_MAX][AGENT_ID_MAX];
	double		 trust;
	int64_t		 cost;		/* micro-units */
	int64_t		 latency_ms;
	double		 reliability;
	double		 risk;
	double		 score[5];	/* normalised sub-scores */
	double		 composite;
	uint32_t	 considered;	/* alternatives ranked with it */
	char		 decided[16];	/* what put it ahead of the next */
};

/* IMSG_ROUTE_END, IMSG_CTL_ROUTE_END: how the answer was computed */
struct route_end {
	uint32_t	 reqid;
	int32_t		 ok;
	char		 error[128];
	int32_t		 policy;	/* as applied, never DEFAULT */
	int32_t		 lexicographic;
	double		 weights[5];
	int32_t		 lex[5];	/* dimension order, lexicographic */
	int64_t		 budget;
	int64_t		 cost_lo, cost_hi;	/* normalisation range */
	int64_t		 latency_lo, latency_hi;
	uint32_t	 targets;	/* nodes that matched */
	uint32_t	 considered;	/* alternatives ranked */
	uint32_t	 excluded;	/* failed a constraint */
	uint32_t	 candidates;	/* sent */
	uint32_t	 discarded;	/* frontier labels over the bound */
};

/* IMSG_CTL_SHOW_ROUTES, IMSG_CTL_SHOW_GRAPH */
struct ctl_route_req {
	char		 capability[ROUTE_CAP_MAX];	/* "" none */
	int32_t		 json;		/* show graph: JSON, not dot */
};

/* IMSG_CTL_GRAPH: this header, then up to ROUTE_TEXT_CHUNK bytes */
struct ctl_text {
	uint32_t	 last;		/* 1 on the final chunk */
};

/*
 * Agents (relayd(8) AGENTS).  Identities, devices, registrations and
 * listings live in PostgreSQL (ledgerd/schema/004-agents.sql).  The
 * frontend validates each request and authenticates its agent token
 * itself (relayd/frontend/agent_token.c): it asks ledgerd for the keys
 * of the token's (did, mid) with IMSG_LDG_AG_DEVICE (answer
 * IMSG_LDG_AG_KEYS), verifies the signature, then sends the operation:
 * struct ag_req followed by doclen bytes of canonical JSON, the
 * validated and normalised request.  ledgerd applies it in one
 * transaction that also consumes the token's jti, and answers
 * IMSG_LDG_AG_RESULT: struct ag_result (the HTTP status) followed by the
 * response body (on success) or {"error": ...}.  All carry the
 * frontend's reqid; ledgerd answers the instance that asked.
 *
 * relayctl's show agents / show agent / agent revoke reach ledgerd
 * through the peer engine with the control connection's id as imsg peer
 * id; ledgerd answers IMSG_CTL_AGENT rows, then IMSG_CTL_OK or
 * IMSG_CTL_FAIL (struct ctl_result), which the peer engine relays.
 */
#define AG_DEVICE_MAX		128	/* device_id, NUL included */
#define AG_JTI_MAX		128
#define AG_DOC_MAX		(64 * 1024)	/* JSON after ag_req */

struct ag_req {
	uint32_t	 reqid;
	char		 motebit_id[AGENT_ID_MAX];
	char		 device_id[AG_DEVICE_MAX];
	char		 jti[AG_JTI_MAX];	/* "" for bootstrap, DEVICE */
	int64_t		 exp;		/* token expiry, epoch ms */
	uint32_t	 doclen;
};

/* IMSG_LDG_AG_KEYS */
struct ag_keys {
	uint32_t	 reqid;
	int32_t		 status;	/* 0 found, 1 unknown, 503 no DB */
	char		 device_key[PUBKEY_HEX_MAX];
	char		 identity_key[PUBKEY_HEX_MAX];
	int32_t		 revoked;	/* operator revocation */
	int32_t		 registered;
};

/* IMSG_LDG_AG_RESULT: header, then doclen bytes of JSON */
struct ag_result {
	uint32_t	 reqid;
	int32_t		 status;	/* HTTP status */
	uint32_t	 doclen;
};

/* IMSG_CTL_SHOW_AGENTS, IMSG_CTL_SHOW_AGENT, IMSG_CTL_AGENT_REVOKE */
struct ctl_agent_req {
	char		 motebit_id[AGENT_ID_MAX];	/* SHOW_AGENT, REVOKE */
	char		 capability[ROUTE_CAP_MAX];	/* SHOW_AGENTS, or "" */
};

/* IMSG_CTL_AGENT */
struct ctl_agent {
	char		 motebit_id[AGENT_ID_MAX];
	char		 public_key[PUBKEY_HEX_MAX];
	char		 device_id[AG_DEVICE_MAX];	/* registered with */
	char		 endpoint[RELAY_URL_MAX];
	char		 display_name[RELAY_NAME_MAX];
	char		 settlement_address[48];
	char		 settlement_modes[16];
	char		 listing_id[48];
	int32_t		 registered;	/* a registration exists */
	int32_t		 visible;	/* federation_visible */
	int32_t		 revoked;
	uint32_t	 devices;
	uint32_t	 ncaps;
	char		 caps[ROUTE_CAPS_MAX][ROUTE_CAP_MAX];
	int64_t		 price;		/* micro-units, routing */
	uint32_t	 latency_ms;
	int64_t		 created;	/* ms */
	int64_t		 last_seen;	/* ms, 0 never */
	int64_t		 expires;	/* ms, 0 none */
	uint32_t	 pending_revocations;	/* owed to peers */
};

#endif /* RELAYD_IMSG_TYPES_H */
