/*
 * hex, base64url, base58btc, did:key and UUID helpers.  Decoders are
 * strict (relayd is stricter than the reference: bad input is an error,
 * never silently zero bytes).
 */
#ifndef RELAYD_ENCODING_H
#define RELAYD_ENCODING_H

#include <stddef.h>
#include <stdint.h>

/* out must hold 2 * len + 1 bytes; lowercase; returns 2 * len */
size_t	 hex_encode(const uint8_t *, size_t, char *);
/* exactly outlen bytes from exactly 2 * outlen hex digits; 0 or -1 */
int	 hex_decode(const char *, uint8_t *, size_t);

/* base64url without padding; out must hold B64URL_LEN(len) + 1 */
#define B64URL_LEN(n)	(((n) * 4 + 2) / 3)
size_t	 b64url_encode(const uint8_t *, size_t, char *);
/*
 * Decodes base64url (padding optional; '+' and '/' accepted as the
 * reference does) into out (outmax bytes); returns the length or -1.
 */
int	 b64url_decode(const char *, size_t, uint8_t *, size_t);

/* base58btc (Bitcoin alphabet); returns chars written or -1 if too small */
int	 base58_encode(const uint8_t *, size_t, char *, size_t);
/* returns bytes decoded into out or -1 */
int	 base58_decode(const char *, uint8_t *, size_t);

/*
 * did:key of an Ed25519 key: multibase 'z' (base58btc) of the multicodec
 * varint 0xed 0x01 (ed25519-pub) followed by the 32 raw key bytes.
 */
#define DID_KEY_PREFIX		"did:key:z"
#define DID_KEY_PREFIX_LEN	(sizeof(DID_KEY_PREFIX) - 1)
#define MULTICODEC_ED25519_0	0xed
#define MULTICODEC_ED25519_1	0x01
#define RELAY_ID_PREFIX		"relay-"
#define RELAY_ID_PREFIX_LEN	(sizeof(RELAY_ID_PREFIX) - 1)
#define RELAY_ID_MAXLEN		63
extern const char base58_alphabet[];	/* Bitcoin's: no 0, O, I or l */

/* did:key:z6Mk... of an Ed25519 public key; out >= DID_KEY_MAX */
#define DID_KEY_MAX	64
int	 did_key_from_pubkey(const uint8_t [32], char *, size_t);
int	 did_key_to_pubkey(const char *, uint8_t [32]);

/* UUIDs, lowercase 8-4-4-4-12; out must hold 37 bytes */
#define UUID_STR_LEN	36
void	 uuid_v4(char *);
void	 uuid_v7(char *, int64_t);		/* epoch ms */
int	 uuid_valid(const char *);		/* any version, lowercase */

/* relay id: "relay-" + UUIDv4; out must hold 43 bytes */
void	 relay_id_new(char *);
int	 relay_id_valid(const char *);	/* printable, no ':' or '|', <64 */

/* wall clock in epoch milliseconds */
int64_t	 now_ms(void);

#endif /* RELAYD_ENCODING_H */
