/*
 * keyd's audit log: one text line per signature, each line carrying the
 * SHA-256 of the line before it, so that editing, deleting or reordering
 * lines breaks the chain.  keyd produces struct key_audit records; the
 * parent formats and appends them (audit_last_hash() after a restart);
 * relayctl verifies a file offline (audit_verify()).
 *
 * Line format (one line per record, fields in this order, separated by
 * exactly one space, terminated by '\n'; the format is documented in
 * keyd(8)):
 *
 *	prev=<64 hex> time=<ms> proc=<name>[<instance>] kind=<name> \
 *	    digest=<64 hex> sig=<128 hex>
 *
 *	prev	SHA-256 of the previous line, its bytes without the newline;
 *		64 zeros on the first line of a file
 *	time	keyd's clock when it signed, epoch milliseconds, decimal,
 *		no leading zeros
 *	proc	the process that asked for the signature and its instance
 *	kind	the kind of message signed (keyd(8) signing policy)
 *	digest	SHA-256 of the exact bytes that were signed
 *	sig	the Ed25519 signature over those bytes
 *
 * Hex is lowercase.  A line has exactly one valid spelling: a parser
 * re-formats what it read and compares, so two tools can never disagree
 * on what a line means.
 */
#ifndef RELAYD_AUDIT_H
#define RELAYD_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "keyd_imsg.h"

#define AUDIT_HASH_LEN	32
#define AUDIT_LINE_MAX	512	/* longest valid line is under 400 bytes */

/* "frontend", "peer", ...; NULL when out of range */
const char	*audit_proc_name(int);
/* "metadata", "challenge", ...; NULL when out of range or KEY_KIND_NONE */
const char	*audit_kind_name(int);

/*
 * Formats one record into buf (no newline), after checking that every
 * field is in range.  Returns the line length or -1 (bad record, or buf
 * too small).
 */
int	 audit_format(char *, size_t, const uint8_t [AUDIT_HASH_LEN],
	    const struct key_audit *);
/*
 * Parses one line (without its newline) into prev and the record.
 * Returns 0, or -1 with a message in err.
 */
int	 audit_parse(const char *, size_t, uint8_t [AUDIT_HASH_LEN],
	    struct key_audit *, char *, size_t);
/* SHA-256 of a line's bytes, newline excluded: the next line's prev */
void	 audit_line_hash(const char *, size_t, uint8_t [AUDIT_HASH_LEN]);
/*
 * Hash of the last line of an existing log open for reading on fd, for
 * appending after a restart: 64 zeros for an empty file.  Fails (-1, with
 * a message in err) when the last line is torn (no newline), too long or
 * does not parse.  Only the last line is checked; audit_verify() checks
 * the whole file.
 */
int	 audit_last_hash(int, uint8_t [AUDIT_HASH_LEN], char *, size_t);
/*
 * Reads a whole log and checks that every line parses and that the chain
 * is unbroken.  Returns 0 with the number of lines in *nlines, or -1 with
 * the 1-based number of the first bad line in *badline (0 for a read
 * error), the number of good lines before it in *nlines and a message in
 * err.  A change to line n is reported at line n + 1, where the chain
 * breaks (or at n itself when the line no longer parses).  The chain
 * cannot show that whole lines were cut off the end of the file.
 */
/*
 * Checkpoints (kind "checkpoint", by keyd): keyd's signature over the
 * hash of the line before, every few hundred records and at shutdown.
 * Such a line's digest field holds keyd's public key, and the signed
 * bytes are rebuilt from the line (keyd.8).  With a seal, audit_verify()
 * checks every checkpoint against key (or, NULL, against the key of the
 * first one, returned in seen_key) and counts the records after the last
 * one: a log cut short, or one whose relayd did not stop cleanly, ends
 * in unsealed records.
 */
struct audit_seal {
	const uint8_t	*key;		/* expected public key, or NULL */
	uint8_t		 seen_key[32];
	size_t		 checkpoints;
	size_t		 unsealed;	/* records after the last one */
};
int	 audit_verify(FILE *, struct audit_seal *, size_t *, size_t *, char *,
	    size_t);

#endif /* RELAYD_AUDIT_H */
