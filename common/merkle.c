/*
 * Merkle trees for settlement batches (tree version
 * merkle-sha256-rfc6962-v2 of the reference relay).
 *
 * Hashes are RFC 6962: leaf = SHA-256(0x00 || data), node = SHA-256(0x01 ||
 * left || right).  The tree is built bottom-up, pairing neighbours; an odd
 * last node of a layer is promoted to the next layer unchanged (never
 * duplicated).  This yields the RFC 6962 Merkle Tree Hash for every n.
 *
 * Proofs use the reference's format: siblings run from the leaf up to the
 * root and skip the layers where the node was promoted; layer_sizes lists
 * the size of every layer except the root's, bottom-up.  A single leaf is
 * its own root and has an empty proof.
 *
 * Nothing here is secret.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "crypto.h"
#include "log.h"
#include "merkle.h"

#define MERKLE_LEAF_PREFIX	0x00
#define MERKLE_NODE_PREFIX	0x01

static void	 merkle_reduce(uint8_t (*)[MERKLE_HASH_LEN], size_t);

/* SHA-256(0x00 || data) */
void
merkle_leaf_hash(const void *data, size_t len, uint8_t out[MERKLE_HASH_LEN])
{
	EVP_MD_CTX	*ctx;
	const uint8_t	 prefix = MERKLE_LEAF_PREFIX;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		fatalx("%s: EVP_MD_CTX_new failed", __func__);
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, &prefix, 1) != 1 ||
	    (len > 0 && EVP_DigestUpdate(ctx, data, len) != 1) ||
	    EVP_DigestFinal_ex(ctx, out, NULL) != 1)
		fatalx("%s: SHA-256 failed", __func__);
	EVP_MD_CTX_free(ctx);
}

/*
 * SHA-256(0x01 || l || r), assembled in one buffer and hashed in one call
 * (faster than three updates: trees are hashed node by node).  out may
 * alias l or r.
 */
void
merkle_node_hash(const uint8_t l[MERKLE_HASH_LEN],
    const uint8_t r[MERKLE_HASH_LEN], uint8_t out[MERKLE_HASH_LEN])
{
	uint8_t	 buf[1 + 2 * MERKLE_HASH_LEN];

	buf[0] = MERKLE_NODE_PREFIX;
	memcpy(buf + 1, l, MERKLE_HASH_LEN);
	memcpy(buf + 1 + MERKLE_HASH_LEN, r, MERKLE_HASH_LEN);
	sha256(buf, sizeof(buf), out);
}

/*
 * Replaces the first (size + 1) / 2 entries of layer with the next layer
 * up.  Entry i / 2 is written only after entries i and i + 1 were read,
 * and i / 2 <= i, so working in place is safe.
 */
static void
merkle_reduce(uint8_t (*layer)[MERKLE_HASH_LEN], size_t size)
{
	size_t	 i;

	for (i = 0; i + 1 < size; i += 2)
		merkle_node_hash(layer[i], layer[i + 1], layer[i / 2]);
	if (size % 2 == 1 && size > 1)
		memcpy(layer[size / 2], layer[size - 1], MERKLE_HASH_LEN);
}

/* Root of the n >= 1 leaf hashes; 0, or -1 on n == 0 or no memory. */
int
merkle_root(const uint8_t (*leaves)[MERKLE_HASH_LEN], size_t n,
    uint8_t root[MERKLE_HASH_LEN])
{
	uint8_t	(*layer)[MERKLE_HASH_LEN];
	size_t	 size;

	if (n == 0)
		return (-1);
	if ((layer = reallocarray(NULL, n, sizeof(*layer))) == NULL)
		return (-1);
	memcpy(layer, leaves, n * sizeof(*layer));
	for (size = n; size > 1; size = (size + 1) / 2)
		merkle_reduce(layer, size);
	memcpy(root, layer[0], MERKLE_HASH_LEN);
	free(layer);
	return (0);
}

/*
 * Inclusion proof of leaf index among the n leaf hashes.  Returns 0, or -1
 * if index >= n or memory runs out.
 */
int
merkle_proof(const uint8_t (*leaves)[MERKLE_HASH_LEN], size_t n,
    size_t index, struct merkle_proof *proof)
{
	uint8_t	(*layer)[MERKLE_HASH_LEN];
	size_t	 size, idx, sib;

	if (n == 0 || index >= n)
		return (-1);
	if ((layer = reallocarray(NULL, n, sizeof(*layer))) == NULL)
		return (-1);
	memcpy(layer, leaves, n * sizeof(*layer));
	memset(proof, 0, sizeof(*proof));
	proof->leaf_index = index;

	idx = index;
	for (size = n; size > 1; size = (size + 1) / 2) {
		/* Cannot happen with n < 2^64; kept as a bound. */
		if (proof->nlayers == MERKLE_MAX_DEPTH) {
			free(layer);
			return (-1);
		}
		proof->layer_sizes[proof->nlayers++] = size;
		sib = idx ^ 1;
		if (sib < size)
			memcpy(proof->siblings[proof->nsiblings++], layer[sib],
			    MERKLE_HASH_LEN);
		/* else: idx is the odd last node, promoted; no sibling. */
		merkle_reduce(layer, size);
		idx >>= 1;
	}
	free(layer);
	return (0);
}

/*
 * 1 if proof takes leaf to root, 0 if not.
 *
 * The walk is the reference's: for each layer size L, sib = idx ^ 1; if
 * sib < L, hash with the next sibling (on the left if idx is odd); then
 * idx >>= 1.  All siblings must be used.  relayd also checks that the
 * proof describes a real tree, which an honest proof always does: the
 * index lies in the bottom layer, each layer is the one below halved and
 * rounded up, and the top layer listed has two nodes (none listed means
 * a single leaf, which must be the root).
 */
int
merkle_verify(const uint8_t leaf[MERKLE_HASH_LEN],
    const struct merkle_proof *proof, const uint8_t root[MERKLE_HASH_LEN])
{
	uint8_t	 h[MERKLE_HASH_LEN];
	size_t	 i, idx, sib, size, used;

	if (proof->nlayers > MERKLE_MAX_DEPTH ||
	    proof->nsiblings > MERKLE_MAX_DEPTH)
		return (0);
	if (proof->nlayers == 0) {
		if (proof->leaf_index != 0 || proof->nsiblings != 0)
			return (0);
	} else {
		if (proof->leaf_index >= proof->layer_sizes[0])
			return (0);
		for (i = 1; i < proof->nlayers; i++)
			if (proof->layer_sizes[i - 1] < 2 ||
			    proof->layer_sizes[i] !=
			    proof->layer_sizes[i - 1] / 2 +
			    proof->layer_sizes[i - 1] % 2)
				return (0);
		if (proof->layer_sizes[proof->nlayers - 1] != 2)
			return (0);
	}

	memcpy(h, leaf, MERKLE_HASH_LEN);
	idx = proof->leaf_index;
	used = 0;
	for (i = 0; i < proof->nlayers; i++) {
		size = proof->layer_sizes[i];
		sib = idx ^ 1;
		if (sib < size) {
			if (used == proof->nsiblings)
				return (0);
			if (idx & 1)
				merkle_node_hash(proof->siblings[used], h, h);
			else
				merkle_node_hash(h, proof->siblings[used], h);
			used++;
		}
		idx >>= 1;
	}
	if (used != proof->nsiblings)
		return (0);
	return (memcmp(h, root, MERKLE_HASH_LEN) == 0);
}
