/*
 * The bodies of the agent API (wire notes 7.1), checked field by field
 * without I/O: each parser answers 0 and fills its result, or the HTTP
 * status (400, or 403 for a body naming another agent than the token)
 * with a message that names the field.  Members the reference does not
 * define are ignored, as it ignores them.
 *
 * Register and listing bodies become the normalised JSON document
 * ledgerd stores (schema 004): keys lowercase hex, the display name and
 * description taken from metadata, prices in micro-units.
 */
#ifndef RELAYD_AGENT_BODY_H
#define RELAYD_AGENT_BODY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "relayd_imsg.h"

#define AGB_URL_MAX		256	/* endpoint_url, NUL included */
#define AGB_META_MAX		4096	/* metadata, canonical bytes */
#define AGB_NAME_MAX		64	/* display_name, characters */
#define AGB_DESC_MAX		200	/* description, characters */
#define AGB_PRICES_MAX		ROUTE_CAPS_MAX
#define AGB_LATENCY_MAX		86400000	/* ms: a day */
#define AGB_SUITE_SUCCESSION	"motebit-jcs-ed25519-hex-v1"

/* POST /api/v1/agents/bootstrap {motebit_id, device_id?, public_key} */
struct agb_bootstrap {
	char		 motebit_id[AGENT_ID_MAX];
	char		 device_id[AG_DEVICE_MAX];	/* "" absent */
	char		 public_key[PUBKEY_HEX_MAX];	/* lowercase */
};

int	 agent_body_bootstrap(const json_t *, struct agb_bootstrap *, char *,
	    size_t);

/*
 * POST /api/v1/agents/register.  mid is the token's motebit_id.  On
 * success *doc is the normalised document (its "succession" member is
 * the record as received, checked by agent_succession_verify() once
 * the identity's key is known) and newkey the body's public_key in
 * lowercase, or "".
 */
int	 agent_body_register(const json_t *, const char *, json_t **,
	    char [PUBKEY_HEX_MAX], char *, size_t);
/* The document's guardian attestation for motebit_id mid: 0 or 400. */
int	 agent_guardian_verify(const json_t *, const char *, char *, size_t);

/*
 * The succession record of a key change from oldkey to newkey: suite
 * motebit-jcs-ed25519-hex-v1, both keys as given, an integer timestamp,
 * hex signatures by the old key (old_key_signature) and by the new key
 * (new_key_signature) over JCS of {old_public_key, new_public_key,
 * timestamp, suite, [reason], [recovery]}.  0, or 400 with a message.
 */
int	 agent_succession_verify(const json_t *, const char *, const char *,
	    char *, size_t);

/* POST /api/v1/agents/{id}/listing; listing_id for a new listing. */
int	 agent_body_listing(const json_t *, const char *, json_t **, char *,
	    size_t);

/* POST /api/v1/agents/heartbeat {motebit_id?} */
int	 agent_body_heartbeat(const json_t *, const char *, char *, size_t);

/*
 * Dollars (a JSON number) to micro-units exactly as the reference does:
 * Math.round(x * 1e6) on the IEEE double of the number's text, which
 * jcs_parse produced with strtod's correct rounding, as JSON.parse does.
 * Math.round is floor(y + 0.5) computed without the addition's rounding
 * error.  0, or -1 for a negative, non-finite or non-number value, or a
 * result above 2^53 - 1.
 */
int	 agent_dollars_to_micro(const json_t *, int64_t *);

/* Checks used by the fields, exposed for the tests. */
int	 agent_capability_ok(const char *);
int	 agent_url_ok(const char *);
int	 agent_solana_ok(const char *);
int	 agent_modes_ok(const char *);
int	 agent_hexkey(const json_t *, char [PUBKEY_HEX_MAX]);

#endif /* RELAYD_AGENT_BODY_H */
