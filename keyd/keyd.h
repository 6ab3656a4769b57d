/*
 * keyd: the process that holds the relay's Ed25519 private key.
 *
 * keyd.c	main, the poll(2) loop, the channels, start-up and shutdown
 * keyfile.c	reading (or creating) the PKCS#8 PEM key file from an fd
 * policy.c	who may ask for what, and the member tables of the signed
 *		JSON documents
 * sign.c	checking a request, building the exact bytes to sign,
 *		signing, the audit record
 * rotate.c	relayctl key rotate: the new key, the succession record
 *
 * keyfile.c, policy.c and sign.c are pure functions of their arguments
 * (and of the clock in struct keyd_state) so that the unit tests
 * (regress/unit/test_keyd.c) link them directly.  keyd(8) documents the
 * policy for auditors.
 */
#ifndef RELAYD_KEYD_H
#define RELAYD_KEYD_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "crypto.h"
#include "relayd_imsg.h"

#define KEYD_CLOCK_SKEW_MS	(5 * 60 * 1000)	/* +-5 minutes */
#define KEYD_MAX_REFUSALS	5	/* per channel, then fatal */
#define KEYD_DOC_MAX		(192 * 1024)	/* JSON document bytes */
#define KEYD_KEYFILE_MAX	(16 * 1024)	/* PEM key file bytes */
#define KEYD_NONCE_MAXLEN	(NONCE_MAX - 1)	/* 128 characters */
#define KEYD_JS_INT_MAX		9007199254740991LL	/* 2^53 - 1 */

struct keyd_state {
	EVP_PKEY	*ks_key;	/* NULL until loaded */
	uint8_t		 ks_pub[ED25519_PUB_LEN];
	char		 ks_pubhex[PUBKEY_HEX_MAX];
	char		 ks_did[DID_MAX];
	char		 ks_fingerprint[65];
	char		 ks_relay_id[RELAY_ID_MAX];	/* "" until known */
	int		 ks_have_identity;
	int64_t		(*ks_clock)(void);	/* epoch ms; now_ms() */
};

/*
 * policy.c
 */

/* Fields of struct key_sign_req a kind uses; all others must be empty. */
#define KF_RELAY_ID	0x01	/* relay_id */
#define KF_NONCE	0x02	/* nonce */
#define KF_TIMESTAMP	0x04	/* timestamp */
#define KF_DOC		0x08	/* doclen bytes of canonical JSON */

#define PROC_BIT(p)	(1U << (p))

/* Types of the members of a signed JSON document (doc_check()). */
enum doc_type {
	DT_TEXT,	/* UTF-8 string, 1..max bytes, no control chars */
	DT_TOKEN,	/* printable ASCII without space, 1..max bytes */
	DT_RELAY_ID,	/* relay_id_valid() */
	DT_HEX64,	/* 64 lowercase hex digits */
	DT_UINT,	/* JSON integer, 0..max (max 0: 2^53 - 1) */
	DT_RATE,	/* JSON number, 0..1 */
	DT_BOOL,	/* true or false */
	DT_ENUM,	/* one of the strings in dr_enum */
	DT_TIME,	/* JSON integer, epoch ms, keyd's clock +-5 min */
	DT_ARRAY,	/* 0..max items, each as dr_sub[0] */
	DT_OBJECT,	/* exactly the members in dr_sub (name NULL ends) */
	DT_MAP		/* 0..max members named [a-z0-9_]{1,32}, each as */
			/* dr_sub[0] */
};

struct doc_rule {
	const char		*dr_name;	/* member name */
	enum doc_type		 dr_type;
	int			 dr_optional;	/* may be absent */
	int64_t			 dr_max;	/* bytes, items or value */
	const struct doc_rule	*dr_sub;	/* items, members */
	const char *const	*dr_enum;	/* DT_ENUM: NULL ends */
};

struct key_policy {
	uint32_t		 kp_type;	/* enum imsg_type */
	enum key_kind		 kp_kind;
	uint32_t		 kp_requesters;	/* PROC_BIT()s allowed */
	uint32_t		 kp_fields;	/* KF_* */
	const struct doc_rule	*kp_doc;	/* KF_DOC: the document */
};

const struct key_policy	*policy_lookup(uint32_t);
int	 policy_allows(const struct key_policy *, enum proc_id);
int	 nonce_valid(const char *);
int	 doc_check(const json_t *, const struct doc_rule *, int64_t,
	    char *, size_t);

/*
 * sign.c
 */

/* What keyd_handle() produced: the answer, and the audit record. */
struct keyd_result {
	struct key_sign_resp	 kr_resp;
	char			*kr_doc;	/* signed document or NULL */
	size_t			 kr_doclen;
	struct key_audit	 kr_audit;	/* when signed */
	int			 kr_notready;	/* refused: no identity yet */
};

#define KEYD_SIGNED	0
#define KEYD_REFUSED	(-1)

void	 keyd_state_init(struct keyd_state *, int64_t (*)(void));
int	 keyd_set_key(struct keyd_state *, EVP_PKEY *, char *, size_t);
int	 keyd_set_identity(struct keyd_state *, const struct cfg_identity *,
	    char *, size_t);
void	 keyd_state_wipe(struct keyd_state *);

/*
 * rotate.c: relayctl key rotate (see struct key_rotated)
 */
struct keyd_rotation {
	char			 error[128];
	char			 old_public_key[PUBKEY_HEX_MAX];
	char			 new_public_key[PUBKEY_HEX_MAX];
	char			 record[KEY_SUCCESSION_MAX];
	size_t			 recordlen;
	struct key_audit	 audit[2];	/* old key's, new key's */
};

int	 keyd_rotate(struct keyd_state *, int, const char *, size_t,
	    struct keyd_rotation *);
int	 keyd_handle(struct keyd_state *, uint32_t, enum proc_id, int,
	    const void *, size_t, struct keyd_result *);
void	 keyd_result_free(struct keyd_result *);

/*
 * keyfile.c
 */
EVP_PKEY *keyfile_load(int, const char *, const char *, size_t, int *,
	    char *, size_t);

#endif /* RELAYD_KEYD_H */
