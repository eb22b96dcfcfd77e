/*
 * What an answer means (schedule.c): the Standard Webhooks outcomes of
 * every status class, Retry-After in both of its forms and its cap, and
 * the retry schedule with its jitter and its end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "schedule.h"

#define DAY_MS (24ll * 3600 * 1000)

static void test_each_status_has_its_outcome(void **state)
{
	static const int retried[] = { 0, 100, 300, 301, 302, 304, 400,
				       401, 404, 408, 409, 500, 501, 505 };

	(void)state;
	assert_int_equal(fwh_outcome_of(200), FWH_OUT_DELIVERED);
	assert_int_equal(fwh_outcome_of(204), FWH_OUT_DELIVERED);
	assert_int_equal(fwh_outcome_of(299), FWH_OUT_DELIVERED);
	assert_int_equal(fwh_outcome_of(410), FWH_OUT_GONE);
	assert_int_equal(fwh_outcome_of(429), FWH_OUT_THROTTLE);
	assert_int_equal(fwh_outcome_of(502), FWH_OUT_THROTTLE);
	assert_int_equal(fwh_outcome_of(503), FWH_OUT_THROTTLE);
	assert_int_equal(fwh_outcome_of(504), FWH_OUT_THROTTLE);
	for (size_t i = 0; i < sizeof(retried) / sizeof(retried[0]); i++)
		assert_int_equal(fwh_outcome_of(retried[i]), FWH_OUT_RETRY);
}

static void test_retry_after_reads_seconds_and_http_dates(void **state)
{
	/* Wed, 21 Oct 2015 07:28:00 GMT */
	const int64_t date_ms = 1445412480ll * 1000;

	(void)state;
	assert_int_equal(fwh_retry_after_ms("120", 0), 120000);
	assert_int_equal(fwh_retry_after_ms(" 7\r\n", 0), 7000);
	assert_int_equal(fwh_retry_after_ms("0", 0), 0);
	assert_int_equal(fwh_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT",
					    date_ms - 30000),
			 30000);
	/* A date in the past: now. */
	assert_int_equal(fwh_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT",
					    date_ms + 5000),
			 0);
	/* Neither form: ignored. */
	assert_int_equal(fwh_retry_after_ms("soon", 0), -1);
	assert_int_equal(fwh_retry_after_ms("12abc", 0), -1);
	assert_int_equal(fwh_retry_after_ms("-5", 0), -1);
	assert_int_equal(fwh_retry_after_ms("", 0), -1);
}

static void test_retry_after_is_capped_at_a_day(void **state)
{
	(void)state;
	assert_int_equal(fwh_retry_after_ms("999999999999", 0), DAY_MS);
	assert_int_equal(fwh_retry_after_ms("99999999999999999999999", 0),
			 DAY_MS);
	assert_int_equal(fwh_retry_after_ms("Fri, 01 Jan 2100 00:00:00 GMT",
					    0),
			 DAY_MS);
}

static void test_schedule_steps_then_ends(void **state)
{
	const uint64_t s[] = { 5000, 300000, 1800000 };

	(void)state;
	assert_int_equal(fwh_next_delay_ms(s, 3, 1, 0), 5000);
	assert_int_equal(fwh_next_delay_ms(s, 3, 2, 0), 300000);
	assert_int_equal(fwh_next_delay_ms(s, 3, 3, 0), 1800000);
	assert_int_equal(fwh_next_delay_ms(s, 3, 4, 0), -1); /* dead */
	assert_int_equal(fwh_next_delay_ms(s, 3, 0, 0), -1);
}

static void test_jitter_spreads_within_its_share(void **state)
{
	const uint64_t s[] = { 10000 };
	int64_t lo = INT64_MAX, hi = 0;

	(void)state;
	for (int i = 0; i < 2000; i++) {
		int64_t d = fwh_next_delay_ms(s, 1, 1, 20);

		assert_true(d >= 8000 && d <= 12000);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	/* Spread, not one value: 2,000 draws cover most of the range. */
	assert_true(lo < 8500 && hi > 11500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_status_has_its_outcome),
		cmocka_unit_test(test_retry_after_reads_seconds_and_http_dates),
		cmocka_unit_test(test_retry_after_is_capped_at_a_day),
		cmocka_unit_test(test_schedule_steps_then_ends),
		cmocka_unit_test(test_jitter_spreads_within_its_share),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
