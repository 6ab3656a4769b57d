/*
 * routed's engine: the routing graph of this relay kept in step with the
 * peer table and the agent directory, route queries with their
 * explanations, and the renderings behind `relayctl show graph'.  No
 * imsg and no event loop: routed.c feeds it and sends what it returns,
 * and regress/unit/test_engine.c drives it directly.
 *
 * THE GRAPH (relayd(8) ROUTING)
 *
 * Nodes: this relay (SELF, once its id is known), every peer relay whose
 * state is active or suspended, and every agent, local or hosted by a
 * peer.  Edges and their weights (route.h):
 *
 *	self -> peer	only while the peer is active.  trust = the peer's
 *			trust score; cost = its fee on a 1 USDC task, in
 *			micro-units (numerically its fee_ppm); latency = the
 *			last heartbeat round trip; reliability = 1 - missed
 *			/ `suspend after' (the heartbeats it missed in a row
 *			since the last good one); risk 0.
 *	self -> agent	a local agent (ledgerd's agents table): trust =
 *			its trust_score, cost = its price, latency = its
 *			latency_ms, reliability = its reliability; risk 0.
 *	peer -> agent	an agent the peer hosts, with the same weights as
 *			the peer reports them.
 *
 * Our own fee is charged on every path alike, so it is not in the graph.
 *
 * Changes are incremental: a peer that becomes suspended loses its one
 * edge from self (its agents stay, unreachable, and come back with the
 * edge when it is active again); a removed or deleted peer loses its node,
 * and the agents only it hosted go with it; a new trust score, RTT or fee
 * replaces the edge's weights.  Local agents are reloaded as a whole
 * (engine_local_begin, engine_agent_upsert for each, engine_local_end
 * sweeps the ones not seen).  The Pareto frontier from self is computed
 * on the first query after a change and reused until the next.
 *
 * QUERIES
 *
 * The targets are the agents with the wanted capability (every agent when
 * none is named), or with ROUTE_QF_TABLE every node but self.  All their
 * frontier paths are ranked together (route_rank(): the composite's cost
 * and latency sub-scores are normalised over these alternatives, or
 * against the budget when one is given), then the constraints drop those
 * that fail them (trust below min_trust, latency above max_latency, cost
 * above max_cost or the budget, longer than ROUTE_PATH_MAX nodes): the
 * rest keep their order.  A table answer gives each destination's best
 * path, destinations sorted by kind and id.  `decided' names what put a
 * candidate ahead of the next one: the first dimension that differs in a
 * lexicographic policy, else "composite", else the tie-break dimension,
 * else "tie"; for a table row the comparison is with the destination's
 * own next alternative.
 */
#ifndef ROUTED_ENGINE_H
#define ROUTED_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "relayd_imsg.h"
#include "route.h"

#define ENGINE_MAX_LABELS	16	/* frontier labels kept per node */

struct engine;

struct engine_stats {
	size_t		 nodes;
	size_t		 edges;
	size_t		 relays;	/* peer nodes */
	size_t		 active;	/* of which reachable */
	size_t		 agents;
	size_t		 local;		/* agents hosted here */
	size_t		 remote;	/* agents with a peer host */
};

struct engine_answer {
	struct route_candidate	*cand;
	size_t			 ncand;
	size_t			 capcand;
	struct route_end	 end;
};

struct engine	*engine_new(void);
void		 engine_free(struct engine *);
/* weights, ranking mode and `suspend after' from the routing block */
void		 engine_configure(struct engine *, const struct cfg_global *);
/* the relay's own id; -1 (EEXIST) if it names a peer or an agent */
int		 engine_set_self(struct engine *, const char *);
const char	*engine_self(const struct engine *);
const struct route_graph *engine_graph(const struct engine *);
void		 engine_stats(const struct engine *, struct engine_stats *);

/* -1 with errno EINVAL (bad entry) or EEXIST (id is an agent's) */
int		 engine_peer_upsert(struct engine *, const struct peer_entry *);
int		 engine_peer_delete(struct engine *, const char *);

/*
 * An agent, local when relay_id is "" or this relay's id, else hosted by
 * that peer, which must be active or suspended (ENOENT otherwise).  -1
 * with errno EINVAL or EEXIST (the id is a relay's) as well.
 */
int		 engine_agent_upsert(struct engine *,
		    const struct route_agent *);
int		 engine_agent_delete(struct engine *, const char *,
		    const char *);
void		 engine_local_begin(struct engine *);
/* removes the local agents not upserted since begin; returns how many */
size_t		 engine_local_end(struct engine *);

/*
 * Answers a query: 0 with the candidates, best first, and end.ok = 1; or
 * -1 with end.ok = 0 and the reason in end.error (bad query, identity
 * not known yet, out of memory).  The answer's memory is reused.
 */
int		 engine_query(struct engine *, const struct route_query *,
		    struct engine_answer *);
void		 engine_answer_free(struct engine_answer *);

/*
 * The graph as Graphviz dot or JSON, the chosen path highlighted: the
 * best route for the capability, or without one the best route to each
 * agent.  Returns malloc'd text (*len bytes, NUL-terminated) or NULL with
 * the reason in err.
 */
char		*engine_dot(struct engine *, const char *, size_t *, char *,
		    size_t);
char		*engine_json(struct engine *, const char *, size_t *, char *,
		    size_t);

const char	*engine_policy_name(int);
const char	*engine_dim_name(int);

#endif /* ROUTED_ENGINE_H */
