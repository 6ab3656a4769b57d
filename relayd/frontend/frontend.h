/*
 * The HTTP frontend (relayd -P frontend -I n): N preforked instances
 * share the listening sockets the parent passes, serve HTTP(S) with
 * evhttp (http.c) and talk to the engines over imsg.
 *
 * frontend.c	the process: start-up, configuration stream, listeners,
 *		TLS material, the imsg channels, statistics pushes
 * fe_routes.c	the route handlers and their conversations with the
 *		engines (keyd signatures, status, metrics); it sends through
 *		struct frontend's send hook, so tests and the fuzz target run
 *		it without the other processes
 * fe_agents.c	the agent API: token checks (agent_token.c), bodies
 *		(agent_body.c), hand-over to ledgerd
 * fe_fed.c	the federation routes (peering): the peer table copy,
 *		authentication (fedauth.c), hand-over to the peer engine
 * http.c	request plumbing and the route table (http.h)
 * metrics.c	the Prometheus text, rendered by the peer engine
 */
#ifndef RELAYD_FRONTEND_H
#define RELAYD_FRONTEND_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "relayd_imsg.h"

#define FE_SIGN_TIMEOUT_MS	5000	/* wait for keyd, then 503 */
#define FE_SIGN_MAXAGE_MS	(5 * 60 * 1000)	/* re-sign after */
#define FE_STATUS_TIMEOUT_MS	2000	/* /health waits for answers */
#define FE_METRICS_TIMEOUT_MS	2000	/* /metrics waits for the text */
#define FE_METRICS_MAX		(4 * 1024 * 1024)	/* text we accept */
#define FE_STATS_INTERVAL_MS	1000	/* IMSG_FE_STATS pushes */
#define FE_PROTOCOL_VERSION	"1.0"	/* motebit.json */
#define FE_SUITE_JCS_HEX	"motebit-jcs-ed25519-hex-v1"

/* The two documents keyd signs for the frontend. */
enum fe_doc {
	FE_DOC_METADATA = 0,	/* /.well-known/motebit.json */
	FE_DOC_MANIFEST,	/* /.well-known/mesh-manifest.json */
	FE_DOC_MAX
};

/* A signed document: the cache and the signing in flight. */
struct fe_signed {
	int			 kind;		/* KEY_KIND_* */
	uint32_t		 type;		/* IMSG_KEY_SIGN_* */
	char			*content;	/* what the cached doc says */
	size_t			 contentlen;
	char			*doc;		/* keyd's signed document */
	size_t			 doclen;
	int64_t			 signed_at;	/* monotonic ms */
	uint32_t		 reqid;		/* in flight; 0: none */
	int64_t			 sent_at;	/* monotonic ms */
	char			*pending;	/* content being signed */
	size_t			 pendinglen;
	struct http_waitq	 waiters;
};

/*
 * A relayd capability or extension name and when it is advertised
 * (fe_routes.c keeps the tables).
 */
#define FE_WHEN_ALWAYS		0
#define FE_WHEN_FEDERATION	1	/* federation enabled */
struct fe_feature {
	const char	*name;
	int		 when;
};

struct frontend {
	struct event_base	*base;
	struct http_server	*http;
	int			 instance;
	struct cfg_global	 conf;		/* in force */
	int			 have_conf;
	struct cfg_identity	 id;
	int			 have_id;
	struct ldg_state	 ldg;		/* ledgerd's last report */
	int			 have_ldg;
	struct fe_stats		 stats;
	uint32_t		 lastid;	/* request ids */
	/*
	 * Sends one imsg to instance 0 of a process; -1 when there is no
	 * channel.  The process uses proc_compose(); tests plug a fake.
	 */
	int			(*send)(enum proc_id, uint32_t,
				    const struct iovec *, int);
	struct fe_signed	 docs[FE_DOC_MAX];
	char			*idbody;	/* serialized identity, */
	size_t			 idlen;		/* NULL: build anew */
	struct http_waitq	 health;	/* /health in progress */
	struct http_waitq	 metrics;	/* /metrics in progress */
};

extern struct frontend	*fe;

/* frontend.c */
__attribute__((__noreturn__)) void frontend_main(int, int, int);

/* fe_routes.c: state */
void	 fe_init(struct frontend *, struct event_base *, int,
	    int (*)(enum proc_id, uint32_t, const struct iovec *, int));
void	 fe_cleanup(void);
void	 fe_set_conf(const struct cfg_global *);
void	 fe_set_identity(const struct cfg_identity *);
void	 fe_set_ldg_state(const struct ldg_state *);
uint32_t fe_reqid(void);
int64_t	 fe_mono_ms(void);

/* fe_routes.c: answers from the engines */
void	 fe_status_answer(enum proc_id, const struct proc_status *);
void	 fe_metrics_answer(const struct metrics_chunk *, const void *,
	    size_t);
void	 fe_sign_answer(int, const struct key_sign_resp *, const void *,
	    size_t);
void	 fe_stats_push(void);

/* fe_routes.c: documents (pure but for the state they read) */
json_t	*fe_identity_doc(void);
void	 fe_identity_drop(void);
char	*fe_doc_request(enum fe_doc, size_t *, char *, size_t);

/* fe_routes.c: route handlers, named in HTTP_ROUTES (http.h) */
void	 fe_health(struct http_req *);
void	 fe_metrics(struct http_req *);
void	 fe_identity(struct http_req *);
void	 fe_metadata(struct http_req *);
void	 fe_manifest(struct http_req *);

/* fe_fed.c: the federation routes and the peer table copy */
void	 fe_fed_init(void);
void	 fe_fed_cleanup(void);
void	 fe_fed_set_clock(int64_t (*)(void));
void	 fe_fed_set_loopback(int);
void	 fe_peer_upsert(const struct peer_entry *);
void	 fe_peer_delete(const struct peer_entry *);
const struct peer_entry *fe_peer_find(const char *);
size_t	 fe_peer_active(void);
#define FE_FED_LIST_MAX		256	/* federation_peers (keyd's bound) */
size_t	 fe_peer_list(struct key_peer *, size_t);
json_t	*fe_peers_doc(void);
void	 fe_fed_result(const struct fed_result *);
void	 fe_fed_sign_answer(int, const struct key_sign_resp *);
void	 fe_fed_propose(struct http_req *);
void	 fe_fed_confirm(struct http_req *);
void	 fe_fed_heartbeat(struct http_req *);
void	 fe_fed_remove(struct http_req *);
void	 fe_fed_accepted(struct http_req *);
void	 fe_fed_peers(struct http_req *);
void	 fe_fed_key_rotation(struct http_req *);
/* the client's address for limits and logs; *loopback if 127/8, ::1 */
void	 fe_fed_addr(struct http_req *, char *, size_t, int *);

/* fe_agents.c: the agent API (relayd(8) AGENTS) */
void	 fe_agents_init(void);
void	 fe_agents_cleanup(void);
void	 fe_agents_set_clock(int64_t (*)(void));
void	 fe_agents_keys(const struct ag_keys *);
void	 fe_agents_result(const struct ag_result *, const char *, size_t);
void	 fe_agent_bootstrap(struct http_req *);
void	 fe_agent_register(struct http_req *);
void	 fe_agent_heartbeat(struct http_req *);
void	 fe_agent_deregister(struct http_req *);
void	 fe_agent_listing(struct http_req *);

#endif /* RELAYD_FRONTEND_H */
