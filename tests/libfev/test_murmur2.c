/*
 * The key hash and partitioner against Kafka's own published values, so a
 * key lands on the partition a Kafka producer would give it.
 *
 * Sources of the vectors:
 *  - apache/kafka, clients/src/test/java/org/apache/kafka/common/utils/
 *    UtilsTest.java, testMurmur2(): the Java client's Utils.murmur2 results
 *    as signed ints ("21", "foobar", ..., the bytes {'a','b','c'}).
 *  - confluentinc/librdkafka, src/rdmurmur2.c, unittest_murmur2(): values
 *    librdkafka checks against the Java client, covering every tail length
 *    (1, 2 and 3 trailing bytes) and the empty key.
 * The partition vectors apply Kafka's BuiltInPartitioner.partitionForKey():
 * Utils.toPositive(murmur2(key)) % partitions, toPositive clearing the sign
 * bit (not abs()), which decides every key whose hash is negative.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "fev/fev.h"
#include "murmur2.h"

struct vector {
	const char *key;
	uint32_t hash; /* Java's int, as its 32-bit pattern */
};

static const struct vector kafka_utils_test[] = {
	{ "21", (uint32_t)-973932308 },
	{ "foobar", (uint32_t)-790332482 },
	{ "a-little-bit-long-string", (uint32_t)-985981536 },
	{ "a-little-bit-longer-string", (uint32_t)-1486304829 },
	{ "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
	  (uint32_t)-58897971 },
	{ "abc", 479470107u },
};

static const struct vector librdkafka_unittest[] = {
	{ "kafka", 0xd067cf64u },
	{ "giberish123456789", 0x8f552b0cu },
	{ "1234", 0x9fc97b14u },
	{ "234", 0xe7c009cau },
	{ "34", 0x873930dau },
	{ "4", 0x5a4b5ca1u },
	{ "PreAmbleWillBeRemoved,ThePrePartThatIs", 0x78424f1cu },
	{ "reAmbleWillBeRemoved,ThePrePartThatIs", 0x4a62b377u },
	{ "eAmbleWillBeRemoved,ThePrePartThatIs", 0xe0e4e09eu },
	{ "AmbleWillBeRemoved,ThePrePartThatIs", 0x62b8b43fu },
	{ "", 0x106e08d9u },
};

static void check(const struct vector *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t got = fev__murmur2(v[i].key, strlen(v[i].key));

		if (got != v[i].hash)
			fail_msg("murmur2(\"%s\") = 0x%08x, Kafka says 0x%08x",
				 v[i].key, got, v[i].hash);
	}
}

static void test_murmur2_matches_kafka_utils_test(void **state)
{
	(void)state;
	check(kafka_utils_test,
	      sizeof(kafka_utils_test) / sizeof(kafka_utils_test[0]));
}

static void test_murmur2_matches_librdkafka_for_every_tail_length(void **state)
{
	(void)state;
	check(librdkafka_unittest,
	      sizeof(librdkafka_unittest) / sizeof(librdkafka_unittest[0]));
}

/* Hashes read bytes, not C strings: an embedded NUL and high bytes count. */
static void test_murmur2_hashes_binary_keys_unaligned(void **state)
{
	unsigned char buf[64];
	const char *k = "PreAmbleWillBeRemoved,ThePrePartThatIs";

	(void)state;
	for (size_t off = 0; off < 4; off++) {
		memcpy(buf + off, k, strlen(k));
		assert_int_equal(fev__murmur2(buf + off, strlen(k)), 0x78424f1cu);
	}
	assert_int_not_equal(fev__murmur2("a\0b", 3), fev__murmur2("a", 1));
	assert_int_not_equal(fev__murmur2("\xff", 1), fev__murmur2("\x7f", 1));
}

/* toPositive(h) % P: "foobar" hashes negative, so abs() would differ. */
static void test_partition_for_key_is_kafkas_to_positive_modulo(void **state)
{
	(void)state;
	/* (-790332482 & 0x7fffffff) = 1357151166 */
	assert_int_equal(fev_partition_for_key("foobar", 6, 50), 16);
	assert_int_equal(fev_partition_for_key("foobar", 6, 7), 1357151166 % 7);
	/* 479470107 is positive: plain modulo. */
	assert_int_equal(fev_partition_for_key("abc", 3, 12), 479470107 % 12);
	/* "kafka" 0xd067cf64 & 0x7fffffff = 0x5067cf64 */
	assert_int_equal(fev_partition_for_key("kafka", 5, 10),
			 0x5067cf64 % 10);
	assert_int_equal(fev_partition_for_key(NULL, 0, 1), 0);
	for (uint32_t p = 1; p <= 64; p++) {
		int got = fev_partition_for_key("order-42", 8, p);

		assert_true(got >= 0 && (uint32_t)got < p);
	}
}

static void test_partition_for_key_refuses_bad_arguments(void **state)
{
	(void)state;
	assert_int_equal(fev_partition_for_key("k", 1, 0), -EINVAL);
	assert_int_equal(fev_partition_for_key("k", 1, UINT32_MAX), -EINVAL);
	assert_int_equal(fev_partition_for_key(NULL, 1, 4), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_murmur2_matches_kafka_utils_test),
		cmocka_unit_test(
			test_murmur2_matches_librdkafka_for_every_tail_length),
		cmocka_unit_test(test_murmur2_hashes_binary_keys_unaligned),
		cmocka_unit_test(
			test_partition_for_key_is_kafkas_to_positive_modulo),
		cmocka_unit_test(test_partition_for_key_refuses_bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
