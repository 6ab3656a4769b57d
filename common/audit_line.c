/*
 * The audit log's line format (audit.h, keyd(8)): the names, formatting
 * one record and the hash that chains lines.  keyd links this part only:
 * it follows the chain the parent writes so that it can sign its head
 * (checkpoints).  Parsing and verification are in audit.c.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>

#include "audit.h"
#include "crypto.h"
#include "encoding.h"

/*
 * Unsized, so that the assertions below fail to compile when a process
 * or a kind is added to relayd_imsg.h without a name here: the parent
 * could not log its signatures.
 */
static const char *const audit_procs[] = {
	[PROC_PARENT] = "parent",
	[PROC_FRONTEND] = "frontend",
	[PROC_PEER] = "peer",
	[PROC_ROUTED] = "routed",
	[PROC_LEDGERD] = "ledgerd",
	[PROC_KEYD] = "keyd",
};

static const char *const audit_kinds[] = {
	[KEY_KIND_NONE] = NULL,
	[KEY_KIND_METADATA] = "metadata",
	[KEY_KIND_MANIFEST] = "manifest",
	[KEY_KIND_CHALLENGE] = "challenge",
	[KEY_KIND_HBRESP] = "hbresp",
	[KEY_KIND_HEARTBEAT] = "heartbeat",
	[KEY_KIND_CONFIRM] = "confirm",
	[KEY_KIND_REMOVAL] = "removal",
	[KEY_KIND_REMOVAL2] = "removal2",
	[KEY_KIND_ACCEPTED] = "accepted",
	[KEY_KIND_CHECKPOINT] = "checkpoint",
};

_Static_assert(sizeof(audit_procs) / sizeof(audit_procs[0]) == PROC_MAX,
    "a process has no audit name");
_Static_assert(sizeof(audit_kinds) / sizeof(audit_kinds[0]) == KEY_KIND_MAX,
    "a key kind has no audit name");

const char *
audit_proc_name(int proc)
{
	if (proc < 0 || proc >= PROC_MAX)
		return (NULL);
	return (audit_procs[proc]);
}

const char *
audit_kind_name(int kind)
{
	if (kind <= KEY_KIND_NONE || kind >= KEY_KIND_MAX)
		return (NULL);
	return (audit_kinds[kind]);
}

int
audit_format(char *buf, size_t len, const uint8_t prev[AUDIT_HASH_LEN],
    const struct key_audit *a)
{
	char		 prevhex[2 * AUDIT_HASH_LEN + 1];
	char		 digesthex[2 * SHA256_LEN + 1];
	char		 sighex[2 * ED25519_SIG_LEN + 1];
	const char	*proc, *kind;
	int		 n;

	/*
	 * Refuse records that could not have come from keyd: a negative
	 * time, an unknown requester or kind, an instance outside the
	 * prefork range.  The parent must not write what the verifier
	 * would reject.
	 */
	if (a->time_ms < 0)
		return (-1);
	if ((proc = audit_proc_name(a->requester)) == NULL)
		return (-1);
	if ((kind = audit_kind_name(a->kind)) == NULL)
		return (-1);
	if (a->instance < 0 || a->instance >= PROC_MAX_INSTANCES)
		return (-1);

	hex_encode(prev, AUDIT_HASH_LEN, prevhex);
	hex_encode(a->digest, sizeof(a->digest), digesthex);
	hex_encode(a->sig, sizeof(a->sig), sighex);
	n = snprintf(buf, len,
	    "prev=%s time=%" PRId64 " proc=%s[%d] kind=%s digest=%s sig=%s",
	    prevhex, a->time_ms, proc, (int)a->instance, kind, digesthex,
	    sighex);
	if (n < 0 || (size_t)n >= len)
		return (-1);
	return (n);
}

void
audit_line_hash(const char *line, size_t len, uint8_t out[AUDIT_HASH_LEN])
{
	sha256(line, len, out);
}
