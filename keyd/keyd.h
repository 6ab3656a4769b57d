/*
 * keyd: the process that holds the relay's Ed25519 private key.
 *
 * keyd.c	main, the poll(2) loop, the channels, holding answers until
 *		their audit records are on disk, start-up and shutdown
 * kinds.c	the table of signature kinds (who may ask, which fields,
 *		the time rule) and one builder per kind that assembles the
 *		exact bytes to sign from typed fields
 * sign.c	the signing path every kind goes through: checks common to
 *		all kinds, signing, the audit record and its chain
 * emit.c	a small writer of canonical JSON (JCS) for the members the
 *		builders name
 * sandbox.c	keyd's own seccomp filter, rlimits and Landlock ruleset
 * keyfile.c	reading (or creating) the PKCS#8 PEM key file from an fd
 *
 * kinds.c, sign.c, emit.c and keyfile.c are pure functions of their
 * arguments (and of the clock in struct keyd_state) so that the unit
 * tests (regress/unit/test_keyd.c) link them directly.  keyd(8) documents
 * the policy for auditors.
 */
#ifndef RELAYD_KEYD_H
#define RELAYD_KEYD_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "crypto.h"
#include "keyd_imsg.h"

#define KEYD_MAX_REFUSALS	5	/* per channel, then fatal */
#define KEYD_DOC_MAX		(128 * 1024)	/* signed document bytes */
#define KEYD_KEYFILE_MAX	(16 * 1024)	/* PEM key file bytes */
#define KEYD_PEERS_MAX		256	/* federation_peers items */
#define KEYD_JS_INT_MAX		9007199254740991LL	/* 2^53 - 1 */
#define KEYD_HANDSHAKES		64	/* announced, not yet challenged */
#define KEYD_HANDSHAKE_MS	(60 * 1000)	/* an announcement lives */
#define KEYD_CHECKPOINT_EVERY	256	/* records between checkpoints */
/* Signing rate per requester (-D them for a benchmark build). */
#ifndef KEYD_RATE
#define KEYD_RATE		200	/* signatures a second ... */
#endif
#ifndef KEYD_BURST
#define KEYD_BURST		1000	/* ... after a burst of this many */
#endif

struct keyd_handshake {
	char		 relay_id[RELAY_ID_MAX];
	char		 nonce[NONCE_MAX];
	int64_t		 expires;	/* keyd's clock; 0: free slot */
};

struct keyd_state {
	EVP_PKEY	*ks_key;	/* NULL until loaded */
	uint8_t		 ks_pub[ED25519_PUB_LEN];
	char		 ks_pubhex[PUBKEY_HEX_MAX];
	char		 ks_did[DID_MAX];
	char		 ks_fingerprint[65];
	char		 ks_relay_id[RELAY_ID_MAX];	/* "" until known */
	int		 ks_have_identity;
	struct cfg_global ks_conf;	/* the parent's claims */
	int		 ks_have_conf;
	struct keyd_handshake ks_hs[KEYD_HANDSHAKES];
	uint8_t		 ks_head[SHA256_LEN];	/* audit chain: last line */
	uint64_t	 ks_seq;	/* audit records made */
	uint64_t	 ks_since_cp;	/* records since the last checkpoint */
	int64_t		(*ks_clock)(void);	/* epoch ms; now_ms() */
};

/* A token bucket: KEYD_RATE per second, KEYD_BURST at most. */
struct keyd_bucket {
	int64_t		 kb_tokens;	/* thousandths of a signature */
	int64_t		 kb_last;	/* ms */
};

/*
 * emit.c: canonical JSON for known members.  Members must be added in
 * JCS order (ascending names: all names here are ASCII); the writer
 * checks that and stops keyd otherwise.  jw_sig() adds "signature"
 * on the second pass only.
 */
#define JW_DEPTH	4
struct jw {
	char		*buf;
	size_t		 len;
	size_t		 size;
	int		 depth;
	int		 count[JW_DEPTH];	/* items at each level */
	const char	*last[JW_DEPTH];	/* last member name */
	const char	*sig;		/* hex, or NULL: the signed bytes */
};

void	 jw_raw(struct jw *, const char *, size_t);
void	 jw_open(struct jw *, const char *, char);	/* '{' or '[' */
void	 jw_close(struct jw *, char);
void	 jw_str(struct jw *, const char *, const char *);
void	 jw_int(struct jw *, const char *, int64_t);
void	 jw_bool(struct jw *, const char *, int);
void	 jw_ppm(struct jw *, const char *, uint32_t);	/* ppm/1e6 */
void	 jw_sig(struct jw *);

/*
 * kinds.c: one row per kind.  A builder gets the request after the
 * common checks (sign.c) and writes the signing input into b->w; it
 * refuses by returning -1 with b->err set.
 */
#define KF_RELAY_ID	0x01	/* relay_id: relay_id_valid() */
#define KF_NONCE	0x02	/* nonce: nonce_valid() */
#define KF_COUNT	0x04	/* count: 0..2^53-1 */
#define KF_PEERS	0x08	/* data: struct key_peer[] */

#define T_NONE		0	/* no time in the signed bytes */
#define T_KEYD		1	/* keyd's clock, returned to the caller */

#define PROC_BIT(p)	(1U << (p))

struct keyd_build {
	struct keyd_state		*ks;
	const struct key_sign_req	*req;
	const struct key_peer		*peers;
	size_t				 npeers;
	int64_t				 ts;	/* T_KEYD: keyd's clock */
	struct jw			 w;
	char				*err;
	size_t				 errlen;
};

struct key_kind_row {
	uint32_t	 type;		/* IMSG_KEY_SIGN_*, 0: keyd's own */
	enum key_kind	 kind;
	uint32_t	 requesters;	/* PROC_BIT()s */
	uint32_t	 fields;	/* KF_* the request carries */
	int		 time;		/* T_* */
	int		 json;		/* a document: built twice */
	int		(*build)(struct keyd_build *);
};

const struct key_kind_row *kind_by_type(uint32_t);
const struct key_kind_row *kind_by_kind(enum key_kind);

/*
 * sign.c
 */

/* What keyd_handle() produced: the answer, and the audit record. */
struct keyd_result {
	struct key_sign_resp	 kr_resp;
	char			*kr_doc;	/* signed document or NULL */
	size_t			 kr_doclen;
	struct key_audit	 kr_audit;	/* when signed */
	int			 kr_soft;	/* refusal not counted */
};

#define KEYD_SIGNED	0
#define KEYD_REFUSED	(-1)

void	 keyd_state_init(struct keyd_state *, int64_t (*)(void));
int	 keyd_set_key(struct keyd_state *, EVP_PKEY *, char *, size_t);
int	 keyd_set_identity(struct keyd_state *, const struct cfg_identity *,
	    char *, size_t);
void	 keyd_set_conf(struct keyd_state *, const struct cfg_global *);
int	 keyd_handshake(struct keyd_state *, const struct key_handshake *,
	    char *, size_t);
int	 keyd_handshake_take(struct keyd_state *, const char *, const char *);
void	 keyd_state_wipe(struct keyd_state *);
int	 keyd_handle(struct keyd_state *, uint32_t, enum proc_id, int,
	    const void *, size_t, struct keyd_result *);
int	 keyd_checkpoint(struct keyd_state *, struct keyd_result *);
int	 keyd_bucket_take(struct keyd_bucket *, int64_t);
void	 keyd_result_free(struct keyd_result *);

/*
 * sandbox.c: keyd's confinement, after sandbox_privdrop().
 */
void	 keyd_sandbox(int *, int *);	/* seccomp mode, Landlock ABI */

/*
 * keyfile.c
 */
EVP_PKEY *keyfile_load(int, const char *, const char *, size_t, int *,
	    char *, size_t);

#endif /* RELAYD_KEYD_H */
