/*
 * RFC 6962 Merkle tree hash (leaf = SHA-256(0x00 || data), node =
 * SHA-256(0x01 || l || r), odd node promoted unchanged) and the
 * reference's inclusion proof format (siblings leaf->root, skipping
 * promoted levels; layer_sizes of every layer but the root).
 */
#ifndef RELAYD_MERKLE_H
#define RELAYD_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#define MERKLE_HASH_LEN		32
#define MERKLE_MAX_DEPTH	64

struct merkle_proof {
	size_t		 leaf_index;
	size_t		 nsiblings;
	uint8_t		 siblings[MERKLE_MAX_DEPTH][MERKLE_HASH_LEN];
	size_t		 nlayers;
	size_t		 layer_sizes[MERKLE_MAX_DEPTH];
};

void	 merkle_leaf_hash(const void *, size_t, uint8_t [MERKLE_HASH_LEN]);
void	 merkle_node_hash(const uint8_t [MERKLE_HASH_LEN],
	    const uint8_t [MERKLE_HASH_LEN], uint8_t [MERKLE_HASH_LEN]);
/* root of n >= 1 leaf hashes; -1 on n == 0 or allocation failure */
int	 merkle_root(const uint8_t (*)[MERKLE_HASH_LEN], size_t,
	    uint8_t [MERKLE_HASH_LEN]);
int	 merkle_proof(const uint8_t (*)[MERKLE_HASH_LEN], size_t, size_t,
	    struct merkle_proof *);
/* 1 if the proof takes leaf to root, 0 if not */
int	 merkle_verify(const uint8_t [MERKLE_HASH_LEN],
	    const struct merkle_proof *, const uint8_t [MERKLE_HASH_LEN]);

#endif /* RELAYD_MERKLE_H */
