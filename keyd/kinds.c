/*
 * The kinds of signature keyd makes.  This table is the policy: who may
 * ask for each kind, which typed fields the request carries, whether
 * keyd's clock goes into the signed bytes, and the builder that turns
 * the fields into those bytes.  keyd(8) restates it in prose; change
 * both together.  A new kind is a row and a builder.
 *
 * Why a table: an auditor checks one screen of data against DESIGN.md
 * (the frontend asks for what it answers on the wire, the peer engine
 * for what it sends) instead of following branches.  No kind is open to
 * two processes.  Every builder writes its signer from keyd's own state
 * (relay id, public key, did) and every time stamp from keyd's clock;
 * what a requester contributes is only what keyd cannot know (a peer's
 * relay id and nonce, the agent and peer counts, the peer list).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "encoding.h"
#include "keyd.h"
#include "log.h"
#include "validate.h"

static int	 build_metadata(struct keyd_build *);
static int	 build_manifest(struct keyd_build *);
static int	 build_challenge(struct keyd_build *);
static int	 build_heartbeat(struct keyd_build *);
static int	 build_confirm(struct keyd_build *);
static int	 build_removal(struct keyd_build *);
static int	 build_removal2(struct keyd_build *);
static int	 build_accepted(struct keyd_build *);
static int	 build_checkpoint(struct keyd_build *);

#define FE	PROC_BIT(PROC_FRONTEND)
#define PE	PROC_BIT(PROC_PEER)

static const struct key_kind_row kinds[] = {
	/* type, kind, requesters, fields, time, json, builder */
	{ IMSG_KEY_SIGN_METADATA, KEY_KIND_METADATA, FE,
	    KF_COUNT | KF_PEERS, T_KEYD, 1, build_metadata },
	{ IMSG_KEY_SIGN_MANIFEST, KEY_KIND_MANIFEST, FE,
	    KF_COUNT, T_KEYD, 1, build_manifest },
	{ IMSG_KEY_SIGN_CHALLENGE, KEY_KIND_CHALLENGE, FE,
	    KF_RELAY_ID | KF_NONCE, T_NONE, 0, build_challenge },
	{ IMSG_KEY_SIGN_HBRESP, KEY_KIND_HBRESP, FE,
	    0, T_KEYD, 0, build_heartbeat },
	{ IMSG_KEY_SIGN_HEARTBEAT, KEY_KIND_HEARTBEAT, PE,
	    0, T_KEYD, 0, build_heartbeat },
	{ IMSG_KEY_SIGN_CONFIRM, KEY_KIND_CONFIRM, PE,
	    KF_NONCE, T_NONE, 0, build_confirm },
	{ IMSG_KEY_SIGN_REMOVAL, KEY_KIND_REMOVAL, PE,
	    0, T_NONE, 0, build_removal },
	{ IMSG_KEY_SIGN_REMOVAL2, KEY_KIND_REMOVAL2, PE,
	    KF_RELAY_ID, T_KEYD, 1, build_removal2 },
	{ IMSG_KEY_SIGN_ACCEPTED, KEY_KIND_ACCEPTED, PE,
	    KF_RELAY_ID, T_KEYD, 1, build_accepted },
	/* keyd's own, never requested: see keyd_checkpoint() */
	{ 0, KEY_KIND_CHECKPOINT, 0,
	    0, T_KEYD, 1, build_checkpoint },
};

#undef FE
#undef PE

/* Extensions advertised while federation is on (as the frontend does). */
static const char *const extensions[] = { "peer-accepted", "remove-v2" };

#define NKINDS	(sizeof(kinds) / sizeof(kinds[0]))

const struct key_kind_row *
kind_by_type(uint32_t type)
{
	size_t	 i;

	for (i = 0; i < NKINDS; i++)
		if (type != 0 && kinds[i].type == type)
			return (&kinds[i]);
	return (NULL);
}

const struct key_kind_row *
kind_by_kind(enum key_kind kind)
{
	size_t	 i;

	for (i = 0; i < NKINDS; i++)
		if (kinds[i].kind == kind)
			return (&kinds[i]);
	return (NULL);
}

static int
berr(struct keyd_build *b, const char *msg)
{
	snprintf(b->err, b->errlen, "%s", msg);
	return (-1);
}

/* The members naming the signer, in their places among the others. */
static void
signer_tail(struct keyd_build *b)
{
	jw_str(&b->w, "public_key", b->ks->ks_pubhex);
	jw_str(&b->w, "relay_id", b->ks->ks_relay_id);
	jw_sig(&b->w);
	jw_str(&b->w, "suite", SUITE_JCS_HEX);
}

/*
 * /.well-known/motebit.json (reference section 4.17), with generated_at
 * so that a copy shows its age.  Endpoint, name and fee are the parent's
 * configuration; the frontend gives the agent count and the peer list.
 */
static int
build_metadata(struct keyd_build *b)
{
	const struct cfg_global	*g = &b->ks->ks_conf;
	struct jw		*w = &b->w;
	size_t			 i;

	jw_open(w, NULL, '{');
	jw_int(w, "agent_count", b->req->count);
	jw_open(w, "capabilities", '[');
	jw_close(w, ']');
	if (text_valid(g->name, strlen(g->name), RELAY_NAME_MAX - 1))
		jw_str(w, "display_name", g->name);
	jw_str(w, "endpoint_url", g->endpoint);
	jw_open(w, "federation_peers", '[');
	for (i = 0; i < b->npeers; i++) {
		jw_open(w, NULL, '{');
		jw_str(w, "endpoint_url", b->peers[i].endpoint_url);
		jw_str(w, "relay_id", b->peers[i].relay_id);
		jw_close(w, '}');
	}
	jw_close(w, ']');
	jw_ppm(w, "fee_rate", g->fee_ppm);
	jw_int(w, "generated_at", b->ts);
	jw_str(w, "protocol_version", "1.0");
	signer_tail(b);
	jw_close(w, '}');
	return (0);
}

static void
endpoint(struct jw *w, const char *name, const char *base, const char *path)
{
	char	 url[RELAY_URL_MAX + 64];

	snprintf(url, sizeof(url), "%s%s", base, path);
	jw_str(w, name, url);
}

/* /.well-known/mesh-manifest.json (PROTOCOL.md section 2) */
static int
build_manifest(struct keyd_build *b)
{
	const struct cfg_global	*g = &b->ks->ks_conf;
	struct jw		*w = &b->w;
	size_t			 i;

	jw_open(w, NULL, '{');
	/* federation-visible agents: none until ledgerd lists them */
	jw_open(w, "agents", '[');
	jw_close(w, ']');
	jw_open(w, "capabilities", '[');
	jw_close(w, ']');
	jw_str(w, "did", b->ks->ks_did);
	jw_open(w, "endpoints", '{');
	endpoint(w, "federation", g->endpoint, "/federation/v1");
	endpoint(w, "health", g->endpoint, "/health");
	endpoint(w, "identity", g->endpoint, "/federation/v1/identity");
	endpoint(w, "manifest", g->endpoint, "/.well-known/mesh-manifest.json");
	endpoint(w, "metadata", g->endpoint, "/.well-known/motebit.json");
	jw_close(w, '}');
	jw_open(w, "federation", '{');
	jw_str(w, "acceptance", g->fed_accept_auto ? "auto" : "manual");
	jw_bool(w, "enabled", g->fed_enable);
	jw_open(w, "extensions", '[');
	for (i = 0; g->fed_enable && i < 2; i++)
		jw_str(w, NULL, extensions[i]);
	jw_close(w, ']');
	jw_int(w, "max_hops", g->fed_max_hops);
	jw_int(w, "peer_count", b->req->count);
	jw_close(w, '}');
	jw_int(w, "generated_at", b->ts);
	jw_str(w, "name", g->name);
	signer_tail(b);
	jw_str(w, "version", PACKAGE_VERSION);
	jw_close(w, '}');
	return (0);
}

/* A concatenation template that did not fit is a bug, not a refusal. */
static void
concat(int rv)
{
	if (rv == -1)
		fatalx("%s: message template too long", __func__);
}

/*
 * "{proposer}:{proposer nonce}:suite", answering a proposal the peer
 * engine announced (IMSG_KEY_HANDSHAKE) and only once.  Without that
 * rule a frontend could have "X:n:suite" signed for any X, which is a
 * confirm from relay X to a responder that does not bind ids to keys.
 * A proposer naming this relay would make it exactly our own confirm
 * (the reference's self-propose oracle, PROTOCOL.md section 3).
 */
static int
build_challenge(struct keyd_build *b)
{
	char	 msg[RELAY_ID_MAX + NONCE_MAX + 64];

	if (strcmp(b->req->relay_id, b->ks->ks_relay_id) == 0)
		return (berr(b, "proposer is this relay (self-propose)"));
	if (!keyd_handshake_take(b->ks, b->req->relay_id, b->req->nonce))
		return (berr(b, "no handshake with this relay and nonce was "
		    "announced by the peer engine"));
	concat(msg_handshake(msg, sizeof(msg), b->req->relay_id,
	    b->req->nonce));
	jw_raw(&b->w, msg, strlen(msg));
	return (0);
}

/*
 * "{own}|{keyd's time}|suite": an outbound heartbeat and a heartbeat
 * answer are the same bytes, so each is only ever stamped now.
 */
static int
build_heartbeat(struct keyd_build *b)
{
	char	 msg[RELAY_ID_MAX + 64];

	concat(msg_heartbeat(msg, sizeof(msg), b->ks->ks_relay_id, b->ts));
	jw_raw(&b->w, msg, strlen(msg));
	return (0);
}

/* "{own}:{responder nonce}:suite" */
static int
build_confirm(struct keyd_build *b)
{
	char	 msg[RELAY_ID_MAX + NONCE_MAX + 64];

	concat(msg_handshake(msg, sizeof(msg), b->ks->ks_relay_id,
	    b->req->nonce));
	jw_raw(&b->w, msg, strlen(msg));
	return (0);
}

/* The bare own relay id, as the reference signs a removal. */
static int
build_removal(struct keyd_build *b)
{
	jw_raw(&b->w, b->ks->ks_relay_id, strlen(b->ks->ks_relay_id));
	return (0);
}

/*
 * The signed peer notices between relayd peers:
 *   remove-v2	   {"action":"remove","peer_relay_id":P,"relay_id":own,
 *		    "timestamp":T}
 *   peer-accepted {"action":"accepted",...the same members}
 * The timestamp makes them expire, unlike the reference's bare-id
 * removal, which can be replayed forever; "action" keeps one from being
 * passed off as the other; peer_relay_id binds each to its addressee.
 */
static int
notice(struct keyd_build *b, const char *action)
{
	struct jw	*w = &b->w;

	if (strcmp(b->req->relay_id, b->ks->ks_relay_id) == 0)
		return (berr(b, "the peer named is this relay itself"));
	jw_open(w, NULL, '{');
	jw_str(w, "action", action);
	jw_str(w, "peer_relay_id", b->req->relay_id);
	jw_str(w, "relay_id", b->ks->ks_relay_id);
	jw_sig(w);
	jw_int(w, "timestamp", b->ts);
	jw_close(w, '}');
	return (0);
}

static int
build_removal2(struct keyd_build *b)
{
	return (notice(b, "remove"));
}

static int
build_accepted(struct keyd_build *b)
{
	return (notice(b, "accepted"));
}

/*
 * An audit checkpoint (keyd(8), "Audit log"): the hash of the last line
 * of the audit log, as keyd computed it from its own records.  It is
 * written as the next line, whose "prev" is that head and whose time is
 * this timestamp, so relayctl verify audit can rebuild these bytes.
 */
static int
build_checkpoint(struct keyd_build *b)
{
	struct jw	*w = &b->w;
	char		 head[2 * SHA256_LEN + 1];

	hex_encode(b->ks->ks_head, sizeof(b->ks->ks_head), head);
	jw_open(w, NULL, '{');
	jw_str(w, "head", head);
	jw_str(w, "public_key", b->ks->ks_pubhex);
	jw_sig(w);
	jw_str(w, "suite", SUITE_JCS_HEX);
	jw_int(w, "timestamp", b->ts);
	jw_str(w, "type", "audit-checkpoint");
	jw_close(w, '}');
	return (0);
}
