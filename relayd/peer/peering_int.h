/*
 * The peer engine's peering code, split by job (see peering.c):
 *
 *	peering.c	the table, persistence, keyd, answers, loading,
 *			housekeeping and the entry points
 *	peer_ops.c	operations: activation, notices, learning a peer
 *	peer_ctl.c	operator commands (relayctl peer ...)
 *	peer_inbound.c	inbound handshakes and notices from the frontends
 *	heartbeat.c	the heartbeat sender
 *
 * This header is private to those files.
 */
#ifndef RELAYD_PEERING_INT_H
#define RELAYD_PEERING_INT_H

#define OP_DEADLINE_MS		28000	/* relayctl waits 30 s */
#define OP_INBOUND_MS		8000	/* the notifier waits 10 s */
#define HTTP_TIMEOUT_MS		10000	/* handshake and notices */
#define ACTIVATE_TRIES		3
#define ACTIVATE_GAP_MS		300
#define SWEEP_MS		5000
#define LOAD_RETRY_MS		2000
#define HB_SAVE_MS		30000	/* heartbeat times, at most */

/* The persistent part of a row (struct ldg_peer_row without reqid). */
struct prow {
	struct peer_entry	 e;
	char			 nonce[NONCE_MAX];
	char			 reason[128];
	int			 ext_known;
	int64_t			 created;
	int64_t			 cooldown_until;
};

struct op;

struct peer {
	RB_ENTRY(peer)		 entry;
	struct prow		 r;
	struct prow		*prev;		/* replaced by a handshake */
	int			 prev_stored;
	uint64_t		 gen;		/* changes */
	uint64_t		 saved_gen;	/* last change stored */
	int			 stored;	/* the database has it */
	int64_t			 hb_saved;	/* heartbeat time stored */
	struct hc_req		*hb;		/* heartbeat in flight */
	struct op		*op;
	struct budget		 rl;		/* its authenticated requests */
	uint32_t		 hb_limited;	/* rounds answered 429 in a row */
	int			 known_before;	/* a row before the request */
	char			 src[64];	/* inbound: source prefix */
};
RB_HEAD(peer_tree, peer);

int	 peer_cmp(const struct peer *, const struct peer *);
RB_PROTOTYPE(peer_tree, peer, entry, peer_cmp)

/* A signature asked of keyd. */
typedef void (*key_cb)(void *, int, const struct key_sign_resp *,
    const char *, size_t);
struct keyreq {
	TAILQ_ENTRY(keyreq)	 entry;
	uint32_t		 reqid;
	key_cb			 cb;		/* NULL: nobody waits */
	void			*arg;
};
TAILQ_HEAD(keyreqs, keyreq);

/* A row write sent to ledgerd. */
typedef void (*save_cb)(void *, int, const char *);
struct saveq {
	TAILQ_ENTRY(saveq)	 entry;
	uint32_t		 reqid;
	char			 relay_id[RELAY_ID_MAX];
	uint64_t		 gen;
	save_cb			 cb;
	void			*arg;
};
TAILQ_HEAD(saveqs, saveq);

enum op_kind {
	OP_ADD,
	OP_ACCEPT,
	OP_DECLINE,
	OP_REMOVE,
	OP_BLOCK,
	OP_ACCEPTED_IN,
	OP_LEARN
};

extern const char *const op_names[];

typedef void (*op_done)(struct op *, int, const char *);

struct op {
	TAILQ_ENTRY(op)		 entry;
	enum op_kind		 kind;
	uint32_t		 ctl;		/* relayctl connection, or 0 */
	int			 fe_inst;	/* inbound: frontend instance */
	uint32_t		 fe_reqid;
	int			 fe;		/* an answer is owed */
	struct peer		*p;		/* the row, once there is one */
	struct peer_url		 url;		/* where we talk to */
	char			 id[RELAY_ID_MAX];
	char			 pubkey[PUBKEY_HEX_MAX];
	char			 name[RELAY_NAME_MAX];
	char			 endpoint[RELAY_URL_MAX];
	uint32_t		 ext;
	char			 our_nonce[65];
	char			 their_nonce[NONCE_MAX];
	struct hc_req		*http;
	struct keyreq		*kr;
	struct event		 deadline;
	struct event		 pause;
	int			 attempts;
	int64_t			 hb_ts;		/* activation heartbeat */
	uint32_t		 rtt;		/* its round trip */
	int64_t			 agents;	/* their agent count */
	int			 v2;		/* removal notice: remove-v2 */
	int			 fe_status;	/* answer when failing */
	int			 notify;	/* removal: tell the peer */
	struct prow		 snap;		/* undo if not stored */
	op_done			 sub;		/* continuation of a sub-flow */
	char			 note[240];	/* said with the outcome */
};
TAILQ_HEAD(ops, op);

extern struct proc		*pp;
extern struct peer_tree		 peers;
extern struct cfg_global	 cfg;
extern int			 have_cfg;
extern struct fedrules		 rules;
extern struct cfg_identity	 ident;
extern int			 have_ident;
extern struct ldg_state		 ldg;
extern int			 loaded, loading;
extern uint32_t			 load_reqid;
extern struct keyreqs		 keyreqs;
extern uint32_t			 key_ids;
extern struct saveqs		 saves;
extern uint32_t			 save_ids;
extern struct ops		 ops;
extern struct replay		 replays;
extern struct ratelim		 fetchlim;
extern struct budget		 hs_budget;
extern struct event		 ev_tick, ev_sweep, ev_load;
extern uint32_t			 tick_ms;
extern struct keyreq		*tick_kr;
extern int64_t			 tick_ts;

/* heartbeat.c */
void	 tick_arm(void);
/* peer_ctl.c */
uint32_t	 count_peers(void);
uint32_t	 count_handshakes(void);
int	 was_peered(const struct peer *p);
/* peer_inbound.c */
void	 fed_propose(int inst, struct fed_propose *fp);
void	 fed_confirm(int inst, struct fed_confirm *fc);
void	 peer_hb_store(struct peer *p, int changed, int64_t now);
void	 fed_heartbeat(int inst, struct fed_heartbeat *fh);
void	 fed_remove(int inst, struct fed_signed *fs);
void	 fed_accepted(int inst, struct fed_signed *fs);
/* peer_ops.c */
struct op *	op_new(enum op_kind kind, struct peer *p, uint32_t ctl,
	    int deadline_ms);
void	 ctl_send_peer(struct ctl_conn *c, const struct peer *p);
void	 op_finish(struct op *op, int ok, const char *fmt, ...)
		    __attribute__((__format__ (printf, 3, 4)));
struct op *	op_find_id(const char *id);
int	 op_busy(struct peer *p);
void	 reply_why(const struct hc_reply *r, char *buf, size_t len);
void	 op_activate(struct op *op, op_done done);
void	 op_notify(struct op *op, op_done done);
void	 op_learn(struct op *op, op_done done);
void	 op_metadata(struct op *op, op_done done);
struct peer *	op_row(struct op *op);
void	 peer_learn(struct peer *p);
void	 peer_drop_handshake(struct peer *p, const char *why);
/* peering.c */
struct peer *	peer_find(const char *id);
uint32_t	 hb_timeout_ms(void);
void	 nonce_new(char out[65]);
char *	json_body(json_t *o, size_t *len);
const char *	jstr(const json_t *o, const char *name);
int	 hex64_lower(const char *s);
int	 db_ready(char *err, size_t len);
void	 peer_state(struct peer *p, int state, int64_t now, const char *fmt,
	    ...)
	    __attribute__((__format__ (printf, 4, 5)));
void	 peer_state_logged(struct peer *p, int old);
void	 peer_publish(struct peer *p);
struct peer *	peer_new(const char *id);
void	 peer_free(struct peer *p, int unpublish);
void	 peer_save(struct peer *p, save_cb cb, void *arg);
void	 peer_changed(struct peer *p);
struct keyreq *	key_ask(uint32_t type, const char *relay_id, const char *nonce,
	    key_cb cb, void *arg);
void	 fed_answer(int inst, uint32_t reqid, int status, const char *err,
	    uint32_t retry_after, const char *nonce, int64_t peered_at,
	    const char *state);
void	 fed_error(int inst, uint32_t reqid, int status, const char *fmt, ...)
		    __attribute__((__format__ (printf, 4, 5)));
int	 fed_gate(int inst, const struct fed_hdr *h, const char *key,
	    int64_t now);
int	 hs_gate(int inst, const struct fed_hdr *h, int64_t now);
void	 peer_forget(struct peer *p, const char *why);
void	 hdr_terminate(struct fed_hdr *h);

#endif /* RELAYD_PEERING_INT_H */
