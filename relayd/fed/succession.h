/*
 * The key-rotation extension (relayd.8 KEY ROTATION): a relay that
 * rotated its key POSTs /federation/v1/peer/key-rotation to its peers
 *
 *	{"relay_id": ID, "succession": RECORD}
 *
 * where RECORD is the key succession record of the reference (§2.2):
 * {old_public_key, new_public_key, timestamp, suite:
 * "motebit-jcs-ed25519-hex-v1", old_key_signature, new_key_signature},
 * both signatures lowercase hex over JCS({new_public_key,
 * old_public_key, suite, timestamp}) (msg_succession()).  The record is
 * the authentication: the old key must be the one the receiver pinned
 * for ID, so only its holder can name a successor, and the new key's
 * signature shows the successor exists.  Replays are harmless: the
 * record says the same thing every time (a second one answers 200, and
 * one whose old key is no longer pinned is refused).
 *
 * Pure: parse and verify without I/O; the frontend (fe_fed.c), the unit
 * test and the fuzz target call these.
 */
#ifndef RELAYD_SUCCESSION_H
#define RELAYD_SUCCESSION_H

#include <stddef.h>

#include <jansson.h>

#include "relayd_imsg.h"

#define SUCCESSION_PATH		"/federation/v1/peer/key-rotation"
#define SUCCESSION_EXT		"key-rotation"

struct succession {
	char		 relay_id[RELAY_ID_MAX];
	char		 old_public_key[PUBKEY_HEX_MAX];
	char		 new_public_key[PUBKEY_HEX_MAX];
	char		 old_sig[SIG_HEX_MAX];
	char		 new_sig[SIG_HEX_MAX];
	int64_t		 timestamp;
};

/* 0, or -1 with the reason (a 400) in err. */
int	 succession_parse(const json_t *, struct succession *, char *,
	    size_t);
/* 0 when both signatures verify over the record, -1 otherwise. */
int	 succession_verify(const struct succession *);

#endif /* RELAYD_SUCCESSION_H */
