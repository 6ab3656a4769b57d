/*
 * Unit tests for common/merkle.c: RFC 6962 hashes and roots (checked
 * against the RFC's recursive MTH definition, written out again here, and
 * the Certificate Transparency known answers), the reference's proof
 * format, and the federation settlement batch of Appendix B.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "crypto.h"
#include "encoding.h"
#include "merkle.h"
#include "vectors.h"

#define MAX_LEAVES	300
#define EXHAUSTIVE	32	/* flip every bit for trees up to this size */

static uint64_t	 rng_state = 0x9e3779b97f4a7c15ULL;

/* xorshift64: reproducible test data. */
static uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (rng_state);
}

static json_t *
fs_get(const char *key)
{
	json_t	*v;

	v = json_object_get(json_object_get(vectors,
	    "federation_settlement"), key);
	ck_assert_msg(v != NULL, "vector federation_settlement.%s missing",
	    key);
	return (v);
}

static void
unhex32(const char *s, uint8_t out[32])
{
	ck_assert_msg(s != NULL && hex_decode(s, out, 32) == 0,
	    "bad hash %s", s != NULL ? s : "(null)");
}

static void
assert_hash(const uint8_t h[32], const char *expect)
{
	char	 hex[65];

	hex_encode(h, 32, hex);
	ck_assert_str_eq(hex, expect);
}

/*
 * RFC 6962 section 2.1: MTH({d(0)}) = SHA-256(0x00 || d(0)); for n > 1,
 * with k the largest power of two smaller than n,
 * MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n])).
 * Here over leaf hashes already computed.
 */
static void
mth(uint8_t (*leaf)[32], size_t n, uint8_t out[32])
{
	uint8_t	 buf[1 + 64];
	size_t	 k;

	if (n == 1) {
		memcpy(out, leaf[0], 32);
		return;
	}
	for (k = 1; k * 2 < n; k *= 2)
		;
	buf[0] = 0x01;
	mth(leaf, k, buf + 1);
	mth(leaf + k, n - k, buf + 33);
	sha256(buf, sizeof(buf), out);
}

START_TEST(test_hashes)
{
	uint8_t	 h[32], l[32], r[32], buf[65];

	sha256("", 0, h);
	assert_hash(h, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
	merkle_leaf_hash("", 0, h);
	assert_hash(h, "6e340b9cffb37a989ca544e6bb780a2c"
	    "78901d3fb33738768511a30617afa01d");
	merkle_leaf_hash(NULL, 0, h);
	assert_hash(h, "6e340b9cffb37a989ca544e6bb780a2c"
	    "78901d3fb33738768511a30617afa01d");

	/* Leaf = SHA-256(0x00 || d), node = SHA-256(0x01 || l || r). */
	buf[0] = 0x00;
	memcpy(buf + 1, "abc", 3);
	sha256(buf, 4, r);
	merkle_leaf_hash("abc", 3, h);
	ck_assert_mem_eq(h, r, 32);

	memset(l, 0x11, 32);
	memset(r, 0x22, 32);
	buf[0] = 0x01;
	memcpy(buf + 1, l, 32);
	memcpy(buf + 33, r, 32);
	sha256(buf, 65, h);
	merkle_node_hash(l, r, l);		/* out may alias l */
	ck_assert_mem_eq(h, l, 32);
	memset(l, 0x11, 32);
	merkle_node_hash(l, r, r);		/* ... or r */
	ck_assert_mem_eq(h, r, 32);
}
END_TEST

/* The Certificate Transparency test inputs and roots for 1..8 leaves. */
START_TEST(test_ct_vectors)
{
	const char	*in[] = { "", "00", "10", "2021", "3031", "40414243",
	    "5051525354555657", "606162636465666768696a6b6c6d6e6f" };
	const char	*roots[] = {
	    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
	};
	uint8_t		 leaves[8][32], data[16], root[32];
	size_t		 i, len;

	for (i = 0; i < 8; i++) {
		len = strlen(in[i]) / 2;
		ck_assert_int_eq(hex_decode(in[i], data, len), 0);
		merkle_leaf_hash(data, len, leaves[i]);
	}
	for (i = 1; i <= 8; i++) {
		ck_assert_int_eq(merkle_root((const uint8_t (*)[32])leaves, i,
		    root), 0);
		assert_hash(root, roots[i - 1]);
	}
}
END_TEST

/*
 * Check logs every passing ck_assert to a file; the millions of checks
 * below call ck_abort_msg() only on failure.
 */
static void
check_bad_proof(const uint8_t leaf[32], const struct merkle_proof *p,
    const uint8_t root[32], const char *what, size_t n, size_t i)
{
	if (merkle_verify(leaf, p, root) != 0)
		ck_abort_msg("n=%zu index=%zu: %s verified", n, i, what);
}

/*
 * For n = 1..MAX_LEAVES random leaves: merkle_root equals the recursive
 * MTH; every proof of every index verifies; flipped sibling bits, a wrong
 * index and structural damage are refused.
 */
START_TEST(test_random_trees)
{
	uint8_t			(*leaves)[32], data[64], root[32], ref[32];
	struct merkle_proof	 p, q;
	size_t			 n, i, j, s, bit, flip, len, depth, nwrong;
	size_t			 wrong[8];

	leaves = calloc(MAX_LEAVES, 32);
	ck_assert_ptr_nonnull(leaves);
	for (n = 1; n <= MAX_LEAVES; n++) {
		for (i = 0; i < n; i++) {
			/* Distinct leaves: the index, then random bytes. */
			len = sizeof(i) + rng() % (sizeof(data) - sizeof(i));
			memcpy(data, &i, sizeof(i));
			for (j = sizeof(i); j < len; j++)
				data[j] = rng() & 0xff;
			merkle_leaf_hash(data, len, leaves[i]);
		}
		ck_assert_int_eq(merkle_root((const uint8_t (*)[32])leaves, n,
		    root), 0);
		mth(leaves, n, ref);
		ck_assert_msg(memcmp(root, ref, 32) == 0,
		    "n=%zu: root is not the RFC 6962 MTH", n);

		for (depth = 0; ((size_t)1 << depth) < n; depth++)
			;
		for (i = 0; i < n; i++) {
			if (merkle_proof((const uint8_t (*)[32])leaves, n, i,
			    &p) != 0)
				ck_abort_msg("n=%zu index=%zu: no proof", n, i);
			if (p.leaf_index != i || p.nlayers != depth ||
			    p.nsiblings > depth ||
			    (n > 1 && p.layer_sizes[0] != n))
				ck_abort_msg("n=%zu index=%zu: bad proof shape",
				    n, i);
			if (merkle_verify(leaves[i], &p, root) != 1)
				ck_abort_msg("n=%zu index=%zu: proof fails",
				    n, i);
			/* Not for another leaf or another root. */
			if (n > 1)
				check_bad_proof(leaves[(i + 1) % n], &p, root,
				    "other leaf", n, i);
			memcpy(ref, root, 32);
			ref[31] ^= 0x80;
			check_bad_proof(leaves[i], &p, ref, "other root", n,
			    i);

			/*
			 * Flipped sibling bits: all of them in small trees,
			 * one chosen at random per sibling in larger ones.
			 */
			for (s = 0; s < p.nsiblings; s++) {
				for (bit = 0; bit < 256; bit++) {
					q = p;
					flip = n <= EXHAUSTIVE ? bit :
					    rng() % 256;
					q.siblings[s][flip / 8] ^=
					    1 << (flip % 8);
					check_bad_proof(leaves[i], &q, root,
					    "flipped sibling bit", n, i);
					if (n > EXHAUSTIVE)
						break;
				}
			}

			/* Wrong indexes. */
			nwrong = 0;
			wrong[nwrong++] = i ^ 1;
			wrong[nwrong++] = i + 1;
			wrong[nwrong++] = i - 1;	/* may wrap: fine */
			wrong[nwrong++] = n;
			wrong[nwrong++] = n + i + 1;
			wrong[nwrong++] = i ^ ((size_t)1 << (depth > 0 ?
			    depth - 1 : 0));
			wrong[nwrong++] = SIZE_MAX;
			for (j = 0; j < nwrong; j++) {
				if (wrong[j] == i)
					continue;
				q = p;
				q.leaf_index = wrong[j];
				check_bad_proof(leaves[i], &q, root,
				    "wrong index", n, i);
			}
			if (n <= EXHAUSTIVE) {
				for (j = 0; j < n; j++) {
					if (j == i)
						continue;
					q = p;
					q.leaf_index = j;
					check_bad_proof(leaves[i], &q, root,
					    "wrong index", n, i);
				}
			}

			/* Structural damage. */
			if (p.nsiblings > 0) {
				q = p;
				q.nsiblings--;
				check_bad_proof(leaves[i], &q, root,
				    "missing sibling", n, i);
			}
			q = p;
			memcpy(q.siblings[q.nsiblings++], leaves[i], 32);
			check_bad_proof(leaves[i], &q, root, "extra sibling",
			    n, i);
			if (p.nlayers > 0) {
				q = p;
				q.nlayers--;
				check_bad_proof(leaves[i], &q, root,
				    "missing layer", n, i);
			}
			q = p;
			q.layer_sizes[q.nlayers++] = 1;
			check_bad_proof(leaves[i], &q, root, "extra layer", n,
			    i);
			q = p;
			q.nlayers = MERKLE_MAX_DEPTH + 1;
			check_bad_proof(leaves[i], &q, root, "nlayers", n, i);
			q = p;
			q.nsiblings = MERKLE_MAX_DEPTH + 1;
			check_bad_proof(leaves[i], &q, root, "nsiblings", n, i);
		}
		ck_assert_int_eq(merkle_proof((const uint8_t (*)[32])leaves,
		    n, n, &p), -1);
	}
	free(leaves);
}
END_TEST

START_TEST(test_edges)
{
	uint8_t			 leaf[1][32], root[32], other[32];
	struct merkle_proof	 p;

	ck_assert_int_eq(merkle_root((const uint8_t (*)[32])leaf, 0, root),
	    -1);
	ck_assert_int_eq(merkle_proof((const uint8_t (*)[32])leaf, 0, 0, &p),
	    -1);

	/* One leaf: its own root, no siblings, no layers. */
	merkle_leaf_hash("only", 4, leaf[0]);
	ck_assert_int_eq(merkle_root((const uint8_t (*)[32])leaf, 1, root),
	    0);
	ck_assert_mem_eq(root, leaf[0], 32);
	ck_assert_int_eq(merkle_proof((const uint8_t (*)[32])leaf, 1, 0, &p),
	    0);
	ck_assert_uint_eq(p.leaf_index, 0);
	ck_assert_uint_eq(p.nsiblings, 0);
	ck_assert_uint_eq(p.nlayers, 0);
	ck_assert_int_eq(merkle_verify(leaf[0], &p, root), 1);
	merkle_leaf_hash("other", 5, other);
	ck_assert_int_eq(merkle_verify(other, &p, root), 0);
	p.leaf_index = 1;
	ck_assert_int_eq(merkle_verify(leaf[0], &p, root), 0);
	ck_assert_int_eq(merkle_proof((const uint8_t (*)[32])leaf, 1, 1, &p),
	    -1);
}
END_TEST

/*
 * Appendix B federation settlement batch (tree merkle-sha256-rfc6962-v2).
 */

static void
load_proof(const char *key, struct merkle_proof *p)
{
	json_t	*v, *a, *e;
	size_t	 i;

	v = fs_get(key);
	memset(p, 0, sizeof(*p));
	p->leaf_index = (size_t)json_integer_value(json_object_get(v,
	    "leaf_index"));
	a = json_object_get(v, "siblings");
	json_array_foreach(a, i, e)
		unhex32(json_string_value(e), p->siblings[p->nsiblings++]);
	a = json_object_get(v, "layer_sizes");
	json_array_foreach(a, i, e)
		p->layer_sizes[p->nlayers++] =
		    (size_t)json_integer_value(e);
}

START_TEST(test_settlement_batch)
{
	json_t			*records, *r;
	const char		*canon;
	uint8_t			 leaves[3][32], h[32], root[32], expect[32];
	struct merkle_proof	 p, want, q;
	const char		*proofs[] = { "proof_for_index_0",
	    "proof_for_index_2" };
	size_t			 i, k, s, bit;

	records = fs_get("records");
	ck_assert_uint_eq(json_array_size(records), 3);
	json_array_foreach(records, i, r) {
		canon = json_string_value(json_object_get(r, "canonical"));
		ck_assert_ptr_nonnull(canon);
		/* v2 leaf: RFC 6962 leaf hash of the signed canonical JSON. */
		merkle_leaf_hash(canon, strlen(canon), leaves[i]);
		assert_hash(leaves[i], json_string_value(json_object_get(r,
		    "leaf_v2")));
		/* v1 leaf (legacy): plain SHA-256, no prefix. */
		sha256(canon, strlen(canon), h);
		assert_hash(h, json_string_value(json_object_get(r,
		    "leaf_v1")));
	}

	ck_assert_int_eq(merkle_root((const uint8_t (*)[32])leaves, 3, root),
	    0);
	assert_hash(root, json_string_value(fs_get("merkle_root_v2")));
	unhex32(json_string_value(fs_get("merkle_root_v2")), expect);

	for (k = 0; k < 2; k++) {
		load_proof(proofs[k], &want);
		ck_assert_int_eq(merkle_proof((const uint8_t (*)[32])leaves,
		    3, want.leaf_index, &p), 0);
		/* Exactly the reference's siblings and layer sizes. */
		ck_assert_uint_eq(p.leaf_index, want.leaf_index);
		ck_assert_uint_eq(p.nsiblings, want.nsiblings);
		for (s = 0; s < p.nsiblings; s++)
			ck_assert_mem_eq(p.siblings[s], want.siblings[s], 32);
		ck_assert_uint_eq(p.nlayers, want.nlayers);
		for (s = 0; s < p.nlayers; s++)
			ck_assert_uint_eq(p.layer_sizes[s],
			    want.layer_sizes[s]);

		/* The vector's own proof verifies... */
		ck_assert_int_eq(merkle_verify(leaves[want.leaf_index], &want,
		    expect), 1);
		/* ...and not with any bit flipped. */
		for (s = 0; s < want.nsiblings; s++) {
			for (bit = 0; bit < 256; bit++) {
				q = want;
				q.siblings[s][bit / 8] ^= 1 << (bit % 8);
				ck_assert_int_eq(merkle_verify(
				    leaves[want.leaf_index], &q, expect), 0);
			}
		}
		for (bit = 0; bit < 256; bit++) {
			memcpy(h, leaves[want.leaf_index], 32);
			h[bit / 8] ^= 1 << (bit % 8);
			ck_assert_int_eq(merkle_verify(h, &want, expect), 0);
			memcpy(h, expect, 32);
			h[bit / 8] ^= 1 << (bit % 8);
			ck_assert_int_eq(merkle_verify(leaves[want.leaf_index],
			    &want, h), 0);
		}
		for (i = 0; i < 4; i++) {
			if (i == want.leaf_index)
				continue;
			q = want;
			q.leaf_index = i;
			ck_assert_int_eq(merkle_verify(leaves[want.leaf_index],
			    &q, expect), 0);
		}
	}

	/* Index 1 as well. */
	ck_assert_int_eq(merkle_proof((const uint8_t (*)[32])leaves, 3, 1, &p),
	    0);
	ck_assert_uint_eq(p.nsiblings, 2);
	ck_assert_mem_eq(p.siblings[0], leaves[0], 32);
	ck_assert_mem_eq(p.siblings[1], leaves[2], 32);
	ck_assert_int_eq(merkle_verify(leaves[1], &p, expect), 1);
}
END_TEST

static Suite *
merkle_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("merkle");
	tc = tcase_create("rfc6962");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_hashes);
	tcase_add_test(tc, test_ct_vectors);
	tcase_add_test(tc, test_random_trees);
	tcase_add_test(tc, test_edges);
	suite_add_tcase(s, tc);
	tc = tcase_create("settlement");
	tcase_add_test(tc, test_settlement_batch);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	return (vectors_main(merkle_suite()));
}
