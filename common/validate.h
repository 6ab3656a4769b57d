/*
 * The input rules shared by keyd and the processes that ask it to sign
 * (the frontend, the peer engine).  keyd refuses what breaks them and a
 * few refusals stop the daemon, so the requesters check with the very
 * same functions before they ask: one copy of each rule, here.
 *
 * Text (names, reasons): 1..max bytes of valid UTF-8 (shortest form, no
 * surrogates, nothing above U+10FFFF) without NUL, C0 controls, DEL, C1
 * controls (U+0080..U+009F), bidi embeddings and overrides (U+202A..
 * U+202E) or isolates (U+2066..U+2069).  keyd(8) states the same rule.
 */
#ifndef RELAYD_VALIDATE_H
#define RELAYD_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#define NONCE_TEXT_MAX	128	/* characters of a handshake nonce */

/* Length of the UTF-8 character at s (at most len bytes), 0: invalid. */
size_t	 utf8_char(const unsigned char *, size_t, uint32_t *);
/* A character text may hold (see above). */
int	 text_char_ok(uint32_t);
/* len bytes of text, 1..max of them; len is the full length (NUL: no). */
int	 text_valid(const char *, size_t, size_t);
/* Printable ASCII without space, 1..max bytes, NUL-terminated. */
int	 token_valid(const char *, size_t);
/* A handshake nonce: a token of 1..128 bytes without ':' or '|'. */
int	 nonce_valid(const char *);
/* The parent's claims in the well-known documents: 1 usable, 0 not. */
struct cfg_global;
int	 claims_usable(const struct cfg_global *, int, char *, size_t);
/* Makes a string text: each byte of a refused character becomes '?'. */
void	 text_clean(char *);

#endif /* RELAYD_VALIDATE_H */
