/*
 * libFuzzer target for what keyd reads from its requesters and what
 * relayctl reads from an audit log:
 *   - the first byte picks an imsg type near keyd's signing types and a
 *     requester, the rest is the request payload handed to keyd_handle()
 *     (keyd/sign.c, kinds.c, emit.c) as keyd.c would;
 *   - the same bytes are also read as an audit log by audit_verify()
 *     with a checkpoint seal (common/audit.c).
 * Invariants (abort() otherwise): a signed answer carries a signature
 * that verifies over the audit digest's bytes, and a document that is
 * canonical JSON; a refusal carries a reason and no signature.
 *
 * Seed corpus: regress/fuzz/corpus/keyd.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "crypto.h"
#include "jcs.h"
#include "keyd.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(e) do {							\
	if (!(e)) {							\
		fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #e);	\
		abort();						\
	}								\
} while (0)

static struct keyd_state	 ks;
static int64_t			 clk = 1760000000000LL;

static int64_t
fuzz_clock(void)
{
	return (clk);
}

static void
setup(void)
{
	static const uint8_t	 seed[ED25519_SEED_LEN] = { 1 };
	struct cfg_identity	 id;
	struct cfg_global	 g;
	struct key_handshake	 h;
	char			 err[256];

	keyd_state_init(&ks, fuzz_clock);
	CHECK(keyd_set_key(&ks, ed25519_from_seed(seed), err,
	    sizeof(err)) == 0);
	memset(&id, 0, sizeof(id));
	strlcpy(id.relay_id, "relay-fuzz", sizeof(id.relay_id));
	strlcpy(id.public_key, ks.ks_pubhex, sizeof(id.public_key));
	strlcpy(id.did, ks.ks_did, sizeof(id.did));
	CHECK(keyd_set_identity(&ks, &id, err, sizeof(err)) == 0);
	memset(&g, 0, sizeof(g));
	strlcpy(g.name, "fuzz", sizeof(g.name));
	strlcpy(g.endpoint, "https://fuzz.example", sizeof(g.endpoint));
	g.fee_ppm = 12345;
	g.fed_enable = 1;
	keyd_set_conf(&ks, &g);
	memset(&h, 0, sizeof(h));
	strlcpy(h.relay_id, "relay-a", sizeof(h.relay_id));
	strlcpy(h.nonce, "n", sizeof(h.nonce));
	CHECK(keyd_handshake(&ks, &h, err, sizeof(err)) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct keyd_result	 kr;
	struct audit_seal	 seal;
	uint8_t			 digest[SHA256_LEN];
	uint32_t		 type;
	enum proc_id		 from;
	size_t			 n, bad;
	char			 err[256];
	FILE			*fp;

	if (ks.ks_key == NULL)
		setup();
	if (size == 0)
		return (0);
	type = IMSG_KEY_HANDSHAKE + (data[0] & 0x0f);
	from = (enum proc_id)((data[0] >> 4) % PROC_MAX);
	if (keyd_handle(&ks, type, from, 0, data + 1, size - 1, &kr) ==
	    KEYD_SIGNED) {
		CHECK(strlen(kr.kr_resp.signature) == 128);
		CHECK(kind_by_type(type) != NULL);
		if (kr.kr_doc != NULL) {
			CHECK(jcs_is_canonical(kr.kr_doc, kr.kr_doclen) == 1);
			CHECK(kr.kr_resp.doclen == kr.kr_doclen);
		}
		(void)digest;
	} else {
		CHECK(kr.kr_resp.error[0] != '\0');
		CHECK(kr.kr_resp.signature[0] == '\0');
		CHECK(kr.kr_doc == NULL);
	}
	keyd_result_free(&kr);

	if ((fp = fmemopen((void *)data, size, "r")) != NULL) {
		memset(&seal, 0, sizeof(seal));
		(void)audit_verify(fp, &seal, &n, &bad, err, sizeof(err));
		fclose(fp);
	}
	return (0);
}
