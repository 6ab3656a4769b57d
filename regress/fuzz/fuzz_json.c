/*
 * Copyright (c) 2026 The relayd authors
 *
 * Permission to use, copy, modify, and distribute this software for any
 * purpose with or without fee is hereby granted, provided that the above
 * copyright notice and this permission notice appear in all copies.
 *
 * THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
 * WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
 * MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
 * ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
 * WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
 * ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
 * OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
 */

/*
 * jcs_parse() on arbitrary bytes.  Whatever it accepts must serialize,
 * the serialization must parse again and serialize to the same bytes,
 * and those bytes must be canonical.
 */

#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jcs.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t	*v, *w;
	char	 err[256];
	char	*s1, *s2;
	size_t	 n1, n2;

	if ((v = jcs_parse((const char *)data, size, err, sizeof(err))) ==
	    NULL) {
		if (err[0] == '\0' || strstr(err, " at offset ") == NULL)
			abort();
		return (0);
	}
	if ((s1 = jcs_serialize(v, 0, &n1)) == NULL)
		abort();
	if (strlen(s1) != n1)
		abort();
	if ((w = jcs_parse(s1, n1, err, sizeof(err))) == NULL)
		abort();
	if ((s2 = jcs_serialize(w, 0, &n2)) == NULL)
		abort();
	if (n1 != n2 || memcmp(s1, s2, n1) != 0)
		abort();
	if (!jcs_is_canonical(s2, n2))
		abort();
	/* Dropping the signature never breaks anything either. */
	free(s1);
	if ((s1 = jcs_serialize(v, 1, &n1)) == NULL || !jcs_is_canonical(s1,
	    n1))
		abort();

	free(s1);
	free(s2);
	json_decref(v);
	json_decref(w);
	return (0);
}
