/*
 * Canonical JSON as the reference produces it (RFC 8785: UTF-16 key order,
 * ECMAScript number formatting, minimal escaping), over jansson values.
 *
 * jcs_parse() is the strict parser for all JSON from outside: duplicate
 * keys, invalid UTF-8, nesting deeper than JCS_MAX_DEPTH, non-finite or
 * out-of-range numbers, trailing garbage, NUL bytes and the \u0000
 * escape (in any string, keys included) are rejected.  Only the
 * canonicalization vectors, where \u0000 is valid JSON that must
 * round-trip, parse with JCS_ALLOW_NUL.
 * Numbers become json_integer when the lexeme is an integer that fits in
 * int64, json_real otherwise.  A lone surrogate escape (\ud800) is kept as
 * its WTF-8 bytes so that it canonicalizes back to \ud800, as JS does.
 */
#ifndef RELAYD_JCS_H
#define RELAYD_JCS_H

#include <stddef.h>

#include <jansson.h>

#define JCS_MAX_DEPTH	64

#define JCS_ALLOW_NUL	0x01	/* keep \u0000 (conformance vectors only) */

/* NULL on error, with a message in err (if not NULL). */
json_t	*jcs_parse(const char *, size_t, char *, size_t);
json_t	*jcs_parse_flags(const char *, size_t, int, char *, size_t);

/*
 * Canonical bytes of a value, malloc'd and NUL-terminated (len excludes the
 * NUL).  skip_signature != 0 drops the top-level "signature" member.
 * Returns NULL on error (unrepresentable value, allocation).
 */
char	*jcs_serialize(const json_t *, int, size_t *);

/* Shortest round-trip ECMAScript Number.prototype.toString; out >= 32 */
int	 jcs_format_double(double, char *, size_t);

/* 1 if buf is exactly the canonical form of the JSON it holds */
int	 jcs_is_canonical(const char *, size_t);

#endif /* RELAYD_JCS_H */
