/*
 * The part of relayd's imsg vocabulary keyd speaks: process ids, the
 * start-up and configuration messages it receives, and the signing
 * messages.  keyd includes this header only; relayd_imsg.h includes it
 * and adds everything else.  Structures carry no pointers; strings are
 * fixed-size and NUL-terminated by the receiver; every payload is checked
 * for its exact size (imsg_get_data).
 */
#ifndef RELAYD_KEYD_IMSG_H
#define RELAYD_KEYD_IMSG_H

#include <stdint.h>

enum proc_id {
	PROC_PARENT = 0,
	PROC_FRONTEND,
	PROC_PEER,
	PROC_ROUTED,
	PROC_LEDGERD,
	PROC_KEYD,
	PROC_MAX
};

#define PROC_PARENT_FD		3
#define PROC_MAX_INSTANCES	16	/* prefork upper bound */
#define PROC_IMSG_MAXSIZE	(256 * 1024)	/* payload limit on channels */

#define RELAY_ID_MAX		64	/* "relay-" + UUID is 42 */
#define RELAY_NAME_MAX		65
#define RELAY_URL_MAX		256
#define PUBKEY_HEX_MAX		65	/* 64 hex + NUL */
#define SIG_HEX_MAX		129	/* 128 hex + NUL */
#define DID_MAX			64
#define NONCE_MAX		129	/* we emit 64 hex; accept up to 128 */

/* Types up to IMSG_KEYD_LAST; relayd_imsg.h numbers on from there. */
enum keyd_imsg_type {
	IMSG_NONE = 0,

	/* process framework (parent <-> every child) */
	IMSG_PROC_FD,		/* parent->child: struct proc_fd + fd */
	IMSG_PROC_READY,	/* parent->child: all fds and config sent */
	IMSG_PROC_SHUTDOWN,	/* parent->child: exit now, cleanly */
	IMSG_PROC_STATUS_REQ,	/* any->any: struct proc_status_req */
	IMSG_PROC_STATUS,	/* answer: struct proc_status */
	IMSG_CTL_VERBOSE,	/* int */

	/* configuration (parent -> children, need to know) */
	IMSG_CFG_PROC,		/* struct cfg_proc: user and chroot to use */
	IMSG_CFG_GLOBAL,	/* struct cfg_global */
	IMSG_CFG_KEY,		/* struct cfg_key + key file fd (keyd only) */
	IMSG_CFG_DONE,		/* end of a config stream (start or reload) */
	IMSG_CFG_ACK,		/* child->parent: new config in force */
	IMSG_CFG_IDENTITY,	/* parent->all: struct cfg_identity */

	/* keyd */
	IMSG_KEY_PUBKEY,	/* keyd->parent: struct key_pubkey */
	IMSG_KEY_AUDIT,		/* keyd->parent: struct key_audit */
	IMSG_KEY_AUDIT_ACK,	/* parent->keyd: struct key_audit_ack */
	IMSG_KEY_HANDSHAKE,	/* peer->keyd: struct key_handshake */
	IMSG_KEY_SIGN_METADATA,	/* frontend: /.well-known/motebit.json */
	IMSG_KEY_SIGN_MANIFEST,	/* frontend: mesh manifest */
	IMSG_KEY_SIGN_CHALLENGE, /* frontend: propose challenge */
	IMSG_KEY_SIGN_HBRESP,	/* frontend: heartbeat response */
	IMSG_KEY_SIGN_HEARTBEAT, /* peer: outbound heartbeat */
	IMSG_KEY_SIGN_CONFIRM,	/* peer: confirm challenge_response */
	IMSG_KEY_SIGN_REMOVAL,	/* peer: legacy bare-id removal */
	IMSG_KEY_SIGN_REMOVAL2,	/* peer: remove-v2 timestamped body */
	IMSG_KEY_SIGN_ACCEPTED,	/* peer: peer-accepted extension */
	IMSG_KEY_SIGNATURE,	/* keyd->requester: struct key_sign_resp */
	IMSG_KEY_REFUSED,	/* keyd->requester: struct key_sign_resp */

	IMSG_KEYD_LAST
};

/* IMSG_PROC_FD */
struct proc_fd {
	int32_t		 peer;		/* enum proc_id */
	int32_t		 instance;
};

/* IMSG_PROC_STATUS_REQ */
struct proc_status_req {
	uint32_t	 reqid;
};

/* IMSG_PROC_STATUS */
struct proc_status {
	uint32_t	 reqid;
	int32_t		 proc;		/* enum proc_id */
	int32_t		 instance;
	int32_t		 pid;
	uint32_t	 uid;
	uint32_t	 gid;
	char		 user[32];
	char		 chroot[128];
	int32_t		 chrooted;
	int32_t		 no_new_privs;
	int32_t		 seccomp;	/* 2 = filter */
	int32_t		 landlock;	/* ABI, 0 = none */
	int32_t		 dumpable;	/* PR_GET_DUMPABLE, -1 unknown */
	int32_t		 healthy;	/* 1: fully working */
	char		 detail[256];
};

/* IMSG_CFG_PROC: sent to every child before IMSG_PROC_READY */
struct cfg_proc {
	char		 user[32];	/* "" = stay (development mode) */
	char		 chroot[128];	/* "" = none */
	int32_t		 debug;		/* -d: foreground, stderr */
	int32_t		 verbose;
};

/*
 * The outbound endpoint policy (relayd.conf `endpoint scheme', `endpoint
 * port', `endpoint allow'): schemes and ports a peer endpoint may use,
 * and the address classes it may resolve to besides public addresses.
 * nports 0: any port.
 */
#define EP_SCHEME_HTTP		0x01
#define EP_SCHEME_HTTPS		0x02
#define EP_ALLOW_LOOPBACK	0x01
#define EP_ALLOW_LINKLOCAL	0x02
#define EP_ALLOW_PRIVATE	0x04
#define EP_ALLOW_METADATA	0x08
#define EP_PORTS_MAX		16
struct cfg_endpoint {
	uint32_t	 schemes;	/* EP_SCHEME_* */
	uint32_t	 allow;		/* EP_ALLOW_* */
	uint32_t	 nports;
	uint16_t	 ports[EP_PORTS_MAX][2];	/* first, last */
};

/*
 * IMSG_CFG_GLOBAL: the flat part of struct relayd_config.  keyd takes
 * the claims it signs into the well-known documents from here (name,
 * endpoint, fee_ppm, fed_enable, fed_accept_auto, fed_max_hops), never
 * from a requester.
 */
struct cfg_global {
	char		 name[RELAY_NAME_MAX];
	char		 endpoint[RELAY_URL_MAX];
	uint32_t	 prefork;
	uint64_t	 body_limit;
	uint32_t	 http_max_conns;	/* per frontend process */
	uint32_t	 http_req_timeout_ms;	/* whole-request deadline */
	uint32_t	 fee_ppm;	/* 5% = 50000 */
	/* federation */
	int32_t		 fed_enable;
	int32_t		 fed_accept_auto;
	int32_t		 fed_peers_public;
	uint32_t	 fed_max_peers;
	uint32_t	 fed_max_hops;
	uint32_t	 fed_hb_interval_ms;
	uint32_t	 fed_suspend_after;
	uint32_t	 fed_remove_after;
	uint32_t	 fed_query_ttl_ms;
	uint32_t	 fed_rate_limit;
	uint32_t	 fed_rate_window_ms;
	uint32_t	 fed_max_pending;	/* requests awaiting the operator */
	uint32_t	 fed_pending_expire_ms;	/* then they are dropped */
	uint32_t	 fed_hs_limit;		/* unauthenticated propose and */
	uint32_t	 fed_hs_window_ms;	/* confirm, relay-wide */
	struct cfg_endpoint fed_ep;		/* outbound endpoint policy */
	/* anchor */
	uint32_t	 anchor_batch_size;
	uint32_t	 anchor_interval_ms;
	/* routing weights, parts per million; lexicographic if set */
	uint32_t	 route_w_trust;
	uint32_t	 route_w_cost;
	uint32_t	 route_w_latency;
	uint32_t	 route_w_reliability;
	uint32_t	 route_w_risk;
	int32_t		 route_lexicographic;
	int32_t		 verbose;
};

/* IMSG_CFG_KEY (+ key file fd) */
struct cfg_key {
	char		 path[256];	/* for messages only */
	int32_t		 created;	/* the parent created an empty file */
	uint32_t	 passlen;	/* 0: not encrypted */
	char		 passphrase[256];
};

/* IMSG_CFG_IDENTITY */
struct cfg_identity {
	char		 relay_id[RELAY_ID_MAX];
	char		 public_key[PUBKEY_HEX_MAX];
	char		 did[DID_MAX];
};

/* IMSG_KEY_PUBKEY */
struct key_pubkey {
	uint8_t		 public_key[32];
};

/* Kinds of signature, for audit records, metrics and policy. */
enum key_kind {
	KEY_KIND_NONE = 0,
	KEY_KIND_METADATA,
	KEY_KIND_MANIFEST,
	KEY_KIND_CHALLENGE,
	KEY_KIND_HBRESP,
	KEY_KIND_HEARTBEAT,
	KEY_KIND_CONFIRM,
	KEY_KIND_REMOVAL,
	KEY_KIND_REMOVAL2,
	KEY_KIND_ACCEPTED,
	KEY_KIND_CHECKPOINT,	/* keyd's own: the audit chain head */
	KEY_KIND_MAX
};

/* IMSG_KEY_AUDIT: one per signature, in order (seq 1, 2, ...) */
struct key_audit {
	int64_t		 time_ms;
	int32_t		 requester;	/* enum proc_id */
	int32_t		 instance;
	int32_t		 kind;		/* enum key_kind */
	uint8_t		 digest[32];	/* SHA-256 of the signed bytes */
	uint8_t		 sig[64];
	uint64_t	 seq;		/* keyd's record number since start */
};

/*
 * IMSG_KEY_AUDIT_ACK: records up to seq are written and synced, head is
 * the hash of the last line written.  seq 0: before IMSG_PROC_READY, the
 * head of the existing log.
 */
struct key_audit_ack {
	uint64_t	 seq;
	uint8_t		 head[32];
};

/*
 * IMSG_KEY_HANDSHAKE: the peer engine accepted a proposal from relay_id
 * with the proposer's nonce; the frontend may now have exactly one
 * CHALLENGE signed for that pair (keyd(8), "Handshakes").
 */
struct key_handshake {
	char		 relay_id[RELAY_ID_MAX];
	char		 nonce[NONCE_MAX];
};

/*
 * IMSG_KEY_SIGN_*: a fixed header, then datalen bytes.  Which fields a
 * kind uses is fixed by keyd's table of kinds (keyd/kinds.c, keyd.8):
 *   METADATA	count = agent_count; data = struct key_peer[]
 *   MANIFEST	count = peer_count
 *   CHALLENGE	relay_id = proposer, nonce = proposer's nonce
 *   CONFIRM	nonce = responder's nonce
 *   REMOVAL2, ACCEPTED	relay_id = the peer addressed
 *   HBRESP, HEARTBEAT, REMOVAL	nothing
 * keyd puts its own clock into every time stamp it signs and returns it.
 */
struct key_sign_req {
	uint32_t	 reqid;
	char		 relay_id[RELAY_ID_MAX];
	char		 nonce[NONCE_MAX];
	int64_t		 count;
	uint32_t	 datalen;
};

/* METADATA: one federation peer listed in /.well-known/motebit.json */
struct key_peer {
	char		 relay_id[RELAY_ID_MAX];
	char		 endpoint_url[RELAY_URL_MAX];
};

/* IMSG_KEY_SIGNATURE / IMSG_KEY_REFUSED: header, then doclen bytes */
struct key_sign_resp {
	uint32_t	 reqid;
	int32_t		 kind;		/* enum key_kind */
	int64_t		 timestamp;	/* the time signed, epoch ms, or 0 */
	char		 signature[SIG_HEX_MAX];	/* lowercase hex */
	char		 error[128];	/* REFUSED: why */
	uint32_t	 doclen;	/* signed document, canonical JSON */
};

#endif /* RELAYD_KEYD_IMSG_H */
