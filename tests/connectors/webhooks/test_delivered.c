/*
 * When kept delivered attempts must be written (delivered.c): never more
 * than the smallest max_in_flight (they hold ring events, and a source
 * holds 2 x max_in_flight), never older than FWH_DELIVERED_DELAY_MS, and
 * the engine's sleep ends when they are due.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "delivered.h"

static struct fwh_delivered_attempt at(int64_t ms)
{
	struct fwh_delivered_attempt a = { .endpoint = "e", .n = 1,
					   .at_ms = ms, .status = 200 };

	strcpy(a.wid, "msg_0");
	return a;
}

static void test_empty_is_never_due(void **state)
{
	struct fwh_delivered b;

	(void)state;
	fwh_delivered_init(&b, 64);
	assert_false(fwh_delivered_due(&b, 1000));
	assert_true(fwh_delivered_wait_ms(&b, 1000) == INT64_MAX);
}

static void test_the_oldest_is_written_after_the_delay(void **state)
{
	struct fwh_delivered b;
	struct fwh_delivered_attempt a = at(1000), c = at(1001);

	(void)state;
	fwh_delivered_init(&b, 64);
	assert_true(fwh_delivered_add(&b, &a));
	assert_true(fwh_delivered_add(&b, &c));
	assert_false(fwh_delivered_due(&b, 1000));
	assert_true(fwh_delivered_wait_ms(&b, 1000) ==
		    FWH_DELIVERED_DELAY_MS);
	assert_true(fwh_delivered_wait_ms(&b, 1001) ==
		    FWH_DELIVERED_DELAY_MS - 1);
	/* the oldest counts, not the newest */
	assert_true(fwh_delivered_due(&b, 1000 + FWH_DELIVERED_DELAY_MS));
	assert_true(fwh_delivered_wait_ms(&b, 1000 + FWH_DELIVERED_DELAY_MS) ==
		    0);
}

static void test_full_at_the_smallest_max_in_flight(void **state)
{
	struct fwh_delivered b;
	struct fwh_delivered_attempt a = at(5);

	(void)state;
	fwh_delivered_init(&b, 3);
	for (int i = 0; i < 3; i++) {
		assert_false(fwh_delivered_due(&b, 5));
		assert_true(fwh_delivered_add(&b, &a));
	}
	assert_true(fwh_delivered_due(&b, 5));
	assert_true(fwh_delivered_wait_ms(&b, 5) == 0);
	assert_false(fwh_delivered_add(&b, &a));
	assert_int_equal(b.n, 3);
}

static void test_never_more_than_the_array(void **state)
{
	struct fwh_delivered b;
	struct fwh_delivered_attempt a = at(5);
	size_t n = 0;

	(void)state;
	fwh_delivered_init(&b, 1024);
	while (fwh_delivered_add(&b, &a))
		n++;
	assert_int_equal(n, FWH_DELIVERED_MAX);
	fwh_delivered_init(&b, 0); /* max_in_flight 0 is refused by the
				    * config; one at a time all the same */
	assert_true(fwh_delivered_add(&b, &a));
	assert_false(fwh_delivered_add(&b, &a));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_is_never_due),
		cmocka_unit_test(test_the_oldest_is_written_after_the_delay),
		cmocka_unit_test(test_full_at_the_smallest_max_in_flight),
		cmocka_unit_test(test_never_more_than_the_array),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
