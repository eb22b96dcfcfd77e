/* fevini's strict value readers: the whole string, or -EINVAL/-ERANGE. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <setjmp.h>
#include <cmocka.h>

#include "fevini.h"

static void test_numbers_are_decimal_with_one_unit(void **state)
{
	static const struct {
		const char *s;
		int rc;
		uint64_t v;
	} cases[] = {
		{ "0", 0, 0 },
		{ "4096", 0, 4096 },
		{ "64K", 0, 65536 },
		{ "64k", 0, 65536 },
		{ "1M", 0, 1 << 20 },
		{ "2G", 0, UINT64_C(2) << 30 },
		{ "0K", 0, 0 },
		{ "", -EINVAL, 0 },
		{ "K", -EINVAL, 0 },
		{ "-4", -EINVAL, 0 },
		{ "+4", -EINVAL, 0 },
		{ " 4", -EINVAL, 0 },
		{ "4 ", -EINVAL, 0 },
		{ "010", -EINVAL, 0 },
		{ "0x10", -EINVAL, 0 },
		{ "64Kfoo", -EINVAL, 0 },
		{ "64KK", -EINVAL, 0 },
		{ "1Mb", -EINVAL, 0 },
		{ "64Q", -EINVAL, 0 },
		{ "1.5K", -EINVAL, 0 },
		{ "99999999999999999999", -ERANGE, 0 },
		{ "17179869184G", -ERANGE, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 12345;
		int rc = fevini_parse_u64(cases[i].s, &v);

		if (rc != cases[i].rc || (rc == 0 && v != cases[i].v))
			fail_msg("'%s': rc %d value %llu, want rc %d value %llu",
				 cases[i].s, rc, (unsigned long long)v,
				 cases[i].rc, (unsigned long long)cases[i].v);
	}
}

static void test_u32_refuses_what_does_not_fit(void **state)
{
	uint32_t v;

	(void)state;
	assert_int_equal(fevini_parse_u32("4294967295", &v), 0);
	assert_int_equal(v, UINT32_MAX);
	assert_int_equal(fevini_parse_u32("4294967296", &v), -ERANGE);
	assert_int_equal(fevini_parse_u32("4G", &v), -ERANGE);
	assert_int_equal(fevini_parse_u32("64Kfoo", &v), -EINVAL);
}

static void test_durations_need_a_unit(void **state)
{
	static const struct {
		const char *s;
		int rc;
		uint64_t ms;
	} cases[] = {
		{ "0", 0, 0 },
		{ "250ms", 0, 250 },
		{ "30s", 0, 30000 },
		{ "5m", 0, 300000 },
		{ "2h", 0, 7200000 },
		{ "7d", 0, UINT64_C(604800000) },
		{ "30", -EINVAL, 0 },
		{ "30 s", -EINVAL, 0 },
		{ "30S", -EINVAL, 0 },
		{ "30sec", -EINVAL, 0 },
		{ "1.5s", -EINVAL, 0 },
		{ "-1s", -EINVAL, 0 },
		{ "s", -EINVAL, 0 },
		{ "05s", -EINVAL, 0 },
		{ "99999999999999999999ms", -ERANGE, 0 },
		{ "999999999999999999d", -ERANGE, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t ms = 12345;
		int rc = fevini_parse_duration_ms(cases[i].s, &ms);

		if (rc != cases[i].rc || (rc == 0 && ms != cases[i].ms))
			fail_msg("'%s': rc %d value %llu, want rc %d value %llu",
				 cases[i].s, rc, (unsigned long long)ms,
				 cases[i].rc, (unsigned long long)cases[i].ms);
	}
}

static void test_booleans_are_words_a_person_writes(void **state)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	bool b;

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(fevini_parse_bool(yes[i], &b), 0);
		assert_true(b);
		assert_int_equal(fevini_parse_bool(no[i], &b), 0);
		assert_false(b);
	}
	assert_int_equal(fevini_parse_bool("perhaps", &b), -EINVAL);
	assert_int_equal(fevini_parse_bool("YES", &b), -EINVAL);
	assert_int_equal(fevini_parse_bool("", &b), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers_are_decimal_with_one_unit),
		cmocka_unit_test(test_u32_refuses_what_does_not_fit),
		cmocka_unit_test(test_durations_need_a_unit),
		cmocka_unit_test(test_booleans_are_words_a_person_writes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
