/*
 * libroute: the routing algebra of routed.  Pure C, no I/O, no locks; one
 * graph and its query objects belong to one thread (routed is single
 * threaded).  The routed process (imsg, sandbox) sits on top of this API.
 *
 * THE MODEL
 *
 * Graph.  A weighted digraph.  Nodes are named by strings (relay ids such
 * as "relay-<uuid>", agent ids) and have a kind: this relay (SELF), a peer
 * relay (RELAY) or an agent (AGENT).  Inside the library a node is a dense
 * index (uint32_t) found through a keyed hash table; an edge is an index
 * too.  Edges are directed, at most one per ordered pair (u, v), and carry
 * five weights (struct route_ew):
 *
 *	trust		[0, 1]	how far we trust the hop
 *	cost		int64	price in micro-units (1 000 000 = 1 USDC), >= 0
 *	latency		int64	milliseconds, 0 .. ROUTE_LATENCY_MAX
 *	reliability	[0, 1]	observed success rate of the hop
 *	risk		[0, 1]	optional; 0 when nothing is known
 *
 * DESIGN.md 4: edges are self -> relay (peer trust score, RTT, peer fee)
 * and relay -> agent (the hosting relay's reported trust, the agent's
 * price and latency); the local relay's own agents hang off SELF the same
 * way.  The peer trust score is trust_level_score() of the peer's level
 * (trust.h); the reference gives a remote agent the fixed edge trust
 * ROUTE_REMOTE_AGENT_TRUST.  Cross-relay and local paths live in the same
 * graph.  Inserting, updating and removing an edge and adding a node take
 * O(1) amortized time, removing a node O(its degree); no query rebuilds
 * anything (the out-edges live in a slab with room per node, compacted
 * in place now and then by an insertion, which the amortized bound
 * covers), and queries allocate nothing once their scratch memory has
 * grown to the graph's size.  Every mutation bumps the graph's
 * generation; query results remember the generation they were computed
 * at, and their path accessors fail with ESTALE once the graph has
 * changed.
 *
 * Semirings.  A semiring (S, add, mul, zero, one) turns path weights into
 * values: mul composes along a path (left to right, from the source), add
 * chooses between paths.  Built in, each reading one edge dimension:
 *
 *	name		kind		add  mul  zero  one  edge weight
 *	trust		SR_MAXTIMES	max  x    0     1    trust
 *	reliability	SR_MAXTIMES	max  x    0     1    reliability
 *	cost		SR_MINPLUS	min  +    inf   0    cost (saturating)
 *	latency		SR_MINPLUS	min  +    inf   0    latency
 *	bottleneck	SR_MAXMIN	max  min  0     1    trust
 *	reach		SR_BOOL		or   and  0     1    1 for every edge
 *	logtrust	SR_LOGMAX	max  +    -inf  0    log(trust)
 *
 * MINPLUS values are int64 with inf = INT64_MAX; a + b saturates at inf,
 * which keeps the laws exact on [0, inf].  A product (record) semiring
 * combines up to SR_PARTS_MAX built-in parts componentwise; "record" is
 * (trust, cost, latency).  A custom semiring may supply its own function
 * pointers (kind SR_CUSTOM); only the Bellman-Ford engine can run it.
 *
 * Single source.  route_sssp_run() computes, for every node v, the add
 * over all paths source -> v of the mul of their edge weights, with a
 * predecessor trace.  Label setting (Dijkstra with a bucket queue: Dial's
 * algorithm for integer weights, buckets of 1/128 octave for doubles; see
 * sssp.c) is used when the semiring is selective (a + b is a or b)
 * and monotone (extending a path never improves it; the graph enforces
 * weight domains that make every built-in kind monotone).  A product is
 * run as one label-setting pass per part.  Otherwise a generalized
 * Bellman-Ford (FIFO work list) runs on the whole value through the
 * function pointers.  For every selective part the trace of v is a real,
 * simple path whose mul, computed from the source, equals the reported
 * value exactly.  A node whose value is the semiring's zero (no path, or
 * only paths through trust-0 edges) counts as unreached.  Values are
 * exact in the arithmetic used: label setting and Bellman-Ford agree bit
 * for bit, floating-point products included, because both take the best
 * over paths of the same left-to-right compositions, and rounding is
 * monotone.  A record query therefore returns the best of each
 * dimension separately, each with its own trace: three paths that are in
 * general different, and a vector no single path may achieve.
 *
 * Pareto frontier.  route_pareto_run() computes, at every node, the set of
 * real paths from the source that are not dominated in (trust max, cost
 * min, latency min, reliability max).  A path dominates another if it is
 * at least as good in all four and better in one; paths with equal
 * vectors are kept once (the first found).  The algorithm is multi-
 * criteria label setting: tentative labels wait in a heap ordered
 * lexicographically (po_order, default trust, cost, latency,
 * reliability, each best first); a popped label is permanent and is
 * never dominated later.  The bound po_max_labels limits the permanent
 * labels per node: a node keeps the lexicographically best non-dominated
 * labels of all that reach it, up to the bound, and refuses the rest;
 * route_pareto_discarded() counts what the bound threw away.  With a
 * bound of 0 (unbounded), or when nothing was discarded, the result is
 * exact; otherwise upstream truncation makes it an approximation, but
 * every label is still a real path with its exact weights.
 *
 * Ranking.  route_rank() gathers the frontier labels at a set of target
 * nodes (say, every agent with the wanted capability), scores each and
 * sorts them best first.  Each alternative names its real path and its
 * exact weights.  Risk is scored but not a frontier dimension, so a
 * low-risk path can be dominated away.  Sub-scores, all in [0, 1], higher
 * is better:
 *
 *	trust		the path trust (product of edge trusts)
 *	reliability	the path reliability (product)
 *	risk		1 - path risk, where path risk = 1 - prod(1 - risk_e),
 *			the chance that at least one hop goes wrong
 *	cost		budget mode (ro_cost_budget > 0, B = the budget):
 *			    1 - min(cost, B) / B
 *			frontier mode (ro_cost_budget == 0; lo and hi are
 *			the least and greatest cost among the alternatives):
 *			    (hi - cost) / (hi - lo), or 1 when hi == lo
 *	latency		the same, with ro_latency_budget
 *
 * The composite is the weighted mean sum(w_d * s_d) / sum(w_d), so it is in
 * [0, 1] too; default weights are trust 0.3, cost 0.2, latency 0.15,
 * reliability 0.15, risk 0.2 (relayd.conf gives them in parts per million:
 * divide by 1e6).  ROUTE_RANK_WEIGHTED sorts by composite, highest first;
 * ROUTE_RANK_LEXICOGRAPHIC compares raw path values in ro_lex order (trust
 * and reliability higher first, cost, latency and risk lower first).  Ties
 * fall back to the composite, then the default lexicographic order, then
 * the target's index and the path itself, so the order is total and
 * reproducible.
 */
#ifndef ROUTED_ROUTE_H
#define ROUTED_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#define ROUTE_NONE		UINT32_MAX	/* no node, edge or label */
#define ROUTE_ID_MAX		255		/* longest node id, bytes */
#define ROUTE_INF		INT64_MAX	/* MINPLUS infinity */
#define ROUTE_LATENCY_MAX	INT32_MAX	/* largest edge latency, ms */
#define ROUTE_NODES_MAX		(UINT32_MAX / 4)
#define ROUTE_EDGES_MAX		(UINT32_MAX / 4)
#define ROUTE_REMOTE_AGENT_TRUST 0.5	/* reference: relay -> remote agent */

enum route_node_kind {
	ROUTE_NODE_SELF = 1,
	ROUTE_NODE_RELAY,
	ROUTE_NODE_AGENT
};

enum route_dim {
	ROUTE_DIM_TRUST,
	ROUTE_DIM_COST,
	ROUTE_DIM_LATENCY,
	ROUTE_DIM_RELIABILITY,
	ROUTE_DIM_RISK,
	ROUTE_DIM_NONE
};
#define ROUTE_NDIM		5	/* dimensions that carry weights */

/* Edge weights; see the domains above. */
struct route_ew {
	double		 ew_trust;
	int64_t		 ew_cost;
	int64_t		 ew_latency;
	double		 ew_reliability;
	double		 ew_risk;
};

/*
 * Graph.  Functions returning int return 0 on success and -1 with errno
 * set on failure (EINVAL bad argument or weight, ENOENT no such node or
 * edge, EEXIST, ENAMETOOLONG, ENOMEM, EOVERFLOW too many nodes or edges).
 */
struct route_graph;

struct route_graph *route_graph_new(void);
void		 route_graph_free(struct route_graph *);
uint64_t	 route_graph_generation(const struct route_graph *);
size_t		 route_graph_nnodes(const struct route_graph *);
size_t		 route_graph_nedges(const struct route_graph *);
/* every node index is below this; removed indices are reused */
uint32_t	 route_graph_node_bound(const struct route_graph *);
uint32_t	 route_graph_edge_bound(const struct route_graph *);

/* add a node; EEXIST (and *idx set) if the id exists already */
int		 route_node_add(struct route_graph *, const char *,
		    enum route_node_kind, uint32_t *);
uint32_t	 route_node_find(const struct route_graph *, const char *);
/* removes the node and every edge into or out of it */
int		 route_node_remove(struct route_graph *, uint32_t);
int		 route_node_valid(const struct route_graph *, uint32_t);
const char	*route_node_name(const struct route_graph *, uint32_t);
int		 route_node_kind(const struct route_graph *, uint32_t);
/* out- and in-degree, and the i-th out- or in-edge (ROUTE_NONE past) */
size_t		 route_node_outdeg(const struct route_graph *, uint32_t);
size_t		 route_node_indeg(const struct route_graph *, uint32_t);
uint32_t	 route_node_outedge(const struct route_graph *, uint32_t,
		    size_t);
uint32_t	 route_node_inedge(const struct route_graph *, uint32_t,
		    size_t);

/* insert, or replace the weights of the existing (u, v) edge */
int		 route_edge_set(struct route_graph *, uint32_t, uint32_t,
		    const struct route_ew *);
/*
 * insert, or merge into the existing edge with each dimension's add:
 * max trust, min cost, min latency, max reliability, min risk
 */
int		 route_edge_merge(struct route_graph *, uint32_t, uint32_t,
		    const struct route_ew *);
int		 route_edge_remove(struct route_graph *, uint32_t, uint32_t);
uint32_t	 route_edge_find(const struct route_graph *, uint32_t,
		    uint32_t);
int		 route_edge_get(const struct route_graph *, uint32_t,
		    uint32_t *, uint32_t *, struct route_ew *);
int		 route_ew_valid(const struct route_ew *);
void		 route_ew_default(struct route_ew *);	/* 1, 0, 0, 1, 0 */

/*
 * The benchmark graph (bench/RESULTS.md): V nodes "n0".."n{V-1}" of kind
 * AGENT, eight edges drawn per node from a 32-bit LCG seeded with 42,
 * repeated pairs merged; reliability 1 and risk 0.  Returns 0 or -1.
 */
int		 route_gen_lcg(struct route_graph *, uint32_t);

/*
 * Semirings.  A value is an array of sr_width scalars.
 */
union sr_val {
	double		 d;
	int64_t		 i;
};

enum sr_kind {
	SR_MAXTIMES = 1,	/* d: (max, x, 0, 1) on [0, 1] */
	SR_MINPLUS,		/* i: (min, +, inf, 0) on [0, inf] */
	SR_MAXMIN,		/* d: (max, min, 0, 1) on [0, 1] */
	SR_BOOL,		/* i: (or, and, 0, 1) on {0, 1} */
	SR_LOGMAX,		/* d: (max, +, -inf, 0) on [-inf, 0] */
	SR_PRODUCT,		/* componentwise over sr_part[] */
	SR_CUSTOM		/* caller's function pointers */
};

#define SR_SELECTIVE	0x01	/* a + b is a or b */
#define SR_MONOTONE	0x02	/* a x w is never better than a */
#define SR_IDEMPOTENT	0x04	/* a + a = a */
#define SR_EXACT	0x08	/* laws hold exactly in this arithmetic */
#define SR_PARTS_MAX	8

struct semiring;
typedef void	 sr_binop_fn(const struct semiring *, union sr_val *,
		    const union sr_val *, const union sr_val *);
typedef void	 sr_const_fn(const struct semiring *, union sr_val *);
typedef void	 sr_weight_fn(const struct semiring *,
		    const struct route_ew *, union sr_val *);

struct semiring {
	char		 sr_name[48];
	enum sr_kind	 sr_kind;
	unsigned int	 sr_flags;
	size_t		 sr_width;	/* scalars per value */
	sr_binop_fn	*sr_add;	/* r = a + b; r may alias a or b */
	sr_binop_fn	*sr_mul;	/* r = a x b; r may alias a or b */
	sr_const_fn	*sr_zero;
	sr_const_fn	*sr_one;
	sr_weight_fn	*sr_weight;	/* the value of one edge */
	/* built-in kinds: part k is (sr_part[k], sr_dim[k]) */
	enum sr_kind	 sr_part[SR_PARTS_MAX];
	enum route_dim	 sr_dim[SR_PARTS_MAX];
	void		*sr_arg;	/* SR_CUSTOM: the caller's */
};

extern const struct semiring sr_trust;
extern const struct semiring sr_reliability;
extern const struct semiring sr_cost;
extern const struct semiring sr_latency;
extern const struct semiring sr_bottleneck;
extern const struct semiring sr_reach;
extern const struct semiring sr_logtrust;
extern const struct semiring sr_record;		/* trust, cost, latency */

/* a built-in scalar semiring over one edge dimension; -1 EINVAL */
int		 sr_base(struct semiring *, enum sr_kind, enum route_dim);
/* componentwise product of built-in semirings (products flatten) */
int		 sr_product(struct semiring *, const struct semiring *const *,
		    size_t);
/*
 * Equality of values: exact for exact parts, and for the others within
 * a relative tolerance eps (0 means exact).  -inf equals -inf.
 */
int		 sr_equal(const struct semiring *, const union sr_val *,
		    const union sr_val *, double);
/* part k of a is strictly better than part k of b (selective parts) */
int		 sr_better(const struct semiring *, size_t,
		    const union sr_val *, const union sr_val *);
/* compose a path of edges from one: the value a trace must reproduce */
int		 sr_path_value(const struct semiring *,
		    const struct route_graph *, const uint32_t *, size_t,
		    union sr_val *);

/*
 * Single source.  A struct route_sssp holds the results of the last run
 * and its scratch memory, reused by the next run.
 */
enum route_algo {
	ROUTE_ALGO_AUTO,	/* label setting where allowed, else BF */
	ROUTE_ALGO_LABEL,	/* label setting; EINVAL if not allowed */
	ROUTE_ALGO_BF		/* generalized Bellman-Ford */
};

struct route_sssp;

struct route_sssp *route_sssp_new(void);
void		 route_sssp_free(struct route_sssp *);
/*
 * Run from src.  -1 with errno EINVAL (bad source or semiring), ENOMEM,
 * or ELOOP when Bellman-Ford does not converge (the semiring is not
 * monotone on this graph).
 */
int		 route_sssp_run(struct route_sssp *, const struct route_graph *,
		    const struct semiring *, uint32_t, enum route_algo);
enum route_algo	 route_sssp_algo(const struct route_sssp *);
/* value at node (sr_width scalars copied out); -1 if out of range */
int		 route_sssp_value(const struct route_sssp *, uint32_t,
		    union sr_val *);
/* part k of node's value differs from zero */
int		 route_sssp_reached(const struct route_sssp *, uint32_t,
		    size_t);
/*
 * Trace of part k to node: the edges source -> node in order.  Returns
 * the number of edges (0 for the source; the count even when it exceeds
 * the room given) or -1: ENOENT unreached, ESTALE graph changed.
 */
long		 route_sssp_trace(const struct route_sssp *,
		    const struct route_graph *, uint32_t, size_t, uint32_t *,
		    size_t);
/* relaxations and heap operations of the last run (for measurements) */
uint64_t	 route_sssp_work(const struct route_sssp *);

/*
 * Pareto frontier.
 */
struct route_pathw {
	double		 pw_trust;
	int64_t		 pw_cost;
	int64_t		 pw_latency;
	double		 pw_reliability;
	double		 pw_risk;	/* 1 - prod(1 - risk_e) */
	uint32_t	 pw_hops;
};

#define ROUTE_PARETO_NDIM	4	/* trust, cost, latency, reliability */

struct route_pareto_opts {
	size_t		 po_max_labels;	/* per node; 0 = unbounded */
	enum route_dim	 po_order[ROUTE_PARETO_NDIM];	/* heap order */
};

struct route_pareto;

void		 route_pareto_defaults(struct route_pareto_opts *);
struct route_pareto *route_pareto_new(void);
void		 route_pareto_free(struct route_pareto *);
/* -1 with errno EINVAL, ENOMEM */
int		 route_pareto_run(struct route_pareto *,
		    const struct route_graph *, uint32_t,
		    const struct route_pareto_opts *);
uint32_t	 route_pareto_source(const struct route_pareto *);
/* labels the bound threw away in the last run (0: result is exact) */
size_t		 route_pareto_discarded(const struct route_pareto *);
size_t		 route_pareto_labels(const struct route_pareto *);
/* frontier size at a node, and its labels in heap order */
size_t		 route_pareto_count(const struct route_pareto *, uint32_t);
int		 route_pareto_get(const struct route_pareto *,
		    const struct route_graph *, uint32_t, size_t,
		    struct route_pathw *);
long		 route_pareto_trace(const struct route_pareto *,
		    const struct route_graph *, uint32_t, size_t, uint32_t *,
		    size_t);

/*
 * Ranking and explanation.
 */
enum route_rank_mode {
	ROUTE_RANK_WEIGHTED,
	ROUTE_RANK_LEXICOGRAPHIC
};

struct route_rank_opts {
	enum route_rank_mode ro_mode;
	double		 ro_w[ROUTE_NDIM];	/* indexed by enum route_dim */
	int64_t		 ro_cost_budget;	/* micro-units; 0: frontier */
	int64_t		 ro_latency_budget;	/* ms; 0: frontier */
	enum route_dim	 ro_lex[ROUTE_NDIM];
	size_t		 ro_nlex;
};

struct route_alt {
	uint32_t	 al_target;	/* node */
	uint32_t	 al_label;	/* index in the target's frontier */
	struct route_pathw al_w;	/* exact path weights */
	double		 al_score[ROUTE_NDIM];	/* sub-scores, by dim */
	double		 al_composite;
	size_t		 al_path;	/* offset in an_nodes */
	size_t		 al_npath;	/* nodes, source first */
};

struct route_answer {
	struct route_alt *an_alt;	/* ranked, an_alt[0] is the choice */
	size_t		 an_n;		/* alternatives considered */
	uint32_t	*an_nodes;	/* path storage */
	size_t		 an_nnodes;
	struct route_rank_opts an_opts;	/* as used */
	int64_t		 an_cost_lo, an_cost_hi;	/* normalisation */
	int64_t		 an_lat_lo, an_lat_hi;
	size_t		 an_discarded;	/* from the frontier run */
	size_t		 an_altcap;
	size_t		 an_nodecap;
};

void		 route_rank_defaults(struct route_rank_opts *);
int		 route_rank_valid(const struct route_rank_opts *);
/*
 * Rank every frontier label at the given targets (duplicates ignored).
 * An answer with an_n == 0 means no target is reachable.  The answer's
 * memory is reused; release it with route_answer_clear().
 */
int		 route_rank(const struct route_pareto *,
		    const struct route_graph *, const uint32_t *, size_t,
		    const struct route_rank_opts *, struct route_answer *);
const uint32_t	*route_answer_path(const struct route_answer *, size_t,
		    size_t *);
void		 route_answer_clear(struct route_answer *);

/*
 * Helpers shared by the ranking code and its tests.
 */
double		 route_norm_score(int64_t, int64_t, int64_t, int64_t);

#endif /* ROUTED_ROUTE_H */
