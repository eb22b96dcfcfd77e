/*
 * Kafka's key hash: MurmurHash2 (32-bit) as Apache Kafka's Java client
 * computes it (org.apache.kafka.common.utils.Utils.murmur2, seed
 * 0x9747b28c), so that a key lands on the partition a Kafka producer with
 * the default (built-in) partitioner would choose for it:
 * toPositive(murmur2(key)) % partitions, toPositive being h & 0x7fffffff.
 */
#ifndef FEV_MURMUR2_H
#define FEV_MURMUR2_H

#include <stddef.h>
#include <stdint.h>

#define FEV__MURMUR2_SEED UINT32_C(0x9747b28c)

/* The 32-bit hash; Java's signed int is this value cast to int32_t. */
uint32_t fev__murmur2(const void *data, size_t len);

#endif /* FEV_MURMUR2_H */
