/*
 * MurmurHash2 by Austin Appleby, in the variant Kafka's Java client uses
 * (Utils.murmur2): 4-byte little-endian blocks, the tail folded in from its
 * highest byte down, Kafka's seed, and unsigned 32-bit arithmetic so the
 * multiplications wrap exactly as Java's int does (Java's >>> is a logical
 * shift, i.e. a shift of the unsigned value).
 */
#include "murmur2.h"

#include "fev/fev.h"

#include <errno.h>
#include <limits.h>

#define M UINT32_C(0x5bd1e995)
#define R 24

uint32_t fev__murmur2(const void *data, size_t len)
{
	const unsigned char *p = data;
	/* Kafka hashes a Java byte[]: its int length is what is mixed in. */
	uint32_t h = FEV__MURMUR2_SEED ^ (uint32_t)len;
	size_t blocks = len / 4;

	for (size_t i = 0; i < blocks; i++, p += 4) {
		uint32_t k = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
			     (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;

		k *= M;
		k ^= k >> R;
		k *= M;
		h *= M;
		h ^= k;
	}
	switch (len % 4) {
	case 3:
		h ^= (uint32_t)p[2] << 16;
		/* fall through */
	case 2:
		h ^= (uint32_t)p[1] << 8;
		/* fall through */
	case 1:
		h ^= (uint32_t)p[0];
		h *= M;
	}
	h ^= h >> 13;
	h *= M;
	h ^= h >> 15;
	return h;
}

int fev_partition_for_key(const void *key, size_t key_len,
			  uint32_t partitions)
{
	if (partitions == 0 || partitions > INT_MAX ||
	    (key == NULL && key_len != 0))
		return -EINVAL;
	/* Kafka's Utils.toPositive(): clear the sign bit, not abs(). */
	return (int)((fev__murmur2(key, key_len) & UINT32_C(0x7fffffff)) %
		     partitions);
}
