/*
 * The config settings the connectors share (fevconn_setting.h): each one
 * stores a good value, and refuses a bad one with its sentence, leaving
 * the destination as it was.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <setjmp.h>
#include <cmocka.h>

#include <fev/fev.h>

#include "fevconn_setting.h"
#include "log.h"

static char w[256];

static void test_why_writes_the_sentence_and_refuses(void **state)
{
	(void)state;
	assert_int_equal(fevconn_why(w, sizeof(w), "%s is %d", "x", 7),
			 -EINVAL);
	assert_string_equal(w, "x is 7");
	/* Cut to the buffer, never past it. */
	assert_int_equal(fevconn_why(w, 4, "abcdefgh"), -EINVAL);
	assert_string_equal(w, "abc");
}

static void test_copy_refuses_what_does_not_fit(void **state)
{
	char dst[4] = "old";

	(void)state;
	assert_int_equal(fevconn_set_copy(dst, sizeof(dst), "user", "abc", w,
					  sizeof(w)),
			 0);
	assert_string_equal(dst, "abc");
	assert_int_equal(fevconn_set_copy(dst, sizeof(dst), "user", "abcd", w,
					  sizeof(w)),
			 -EINVAL);
	assert_string_equal(w, "user is longer than 3 bytes");
	assert_string_equal(dst, "abc");
}

static void test_path_is_absolute(void **state)
{
	char dst[16] = "";

	(void)state;
	assert_int_equal(fevconn_set_path(dst, sizeof(dst), "database",
					  "db.sqlite", w, sizeof(w)),
			 -EINVAL);
	assert_string_equal(w, "database 'db.sqlite' is not an absolute path");
	assert_string_equal(dst, "");
	assert_int_equal(fevconn_set_path(dst, sizeof(dst), "database",
					  "/var/lib/fev/db", w, sizeof(w)),
			 0);
	assert_string_equal(dst, "/var/lib/fev/db");
	assert_int_equal(fevconn_set_path(dst, sizeof(dst), "database",
					  "/var/lib/fev/db2", w, sizeof(w)),
			 -EINVAL);
	assert_string_equal(w, "database is longer than 15 bytes");
}

static void test_u32_is_in_its_range(void **state)
{
	uint32_t n = 0;

	(void)state;
	assert_int_equal(fevconn_set_u32(&n, "batch", "64", 1, 64, w,
					 sizeof(w)),
			 0);
	assert_int_equal(n, 64);
	assert_int_equal(fevconn_set_u32(&n, "batch", "65", 1, 64, w,
					 sizeof(w)),
			 -EINVAL);
	assert_string_equal(w, "batch '65' is not a number in 1..64");
	assert_int_equal(fevconn_set_u32(&n, "batch", "0", 1, 64, w,
					 sizeof(w)),
			 -EINVAL);
	assert_int_equal(fevconn_set_u32(&n, "batch", "4k", 1, 64, w,
					 sizeof(w)),
			 -EINVAL);
}

static void test_bool_is_a_word(void **state)
{
	bool b = false;

	(void)state;
	assert_int_equal(fevconn_set_bool(&b, "tls", "yes", w, sizeof(w)), 0);
	assert_true(b);
	assert_int_equal(fevconn_set_bool(&b, "tls", "maybe", w, sizeof(w)),
			 -EINVAL);
	assert_string_equal(w, "tls 'maybe' is not yes/no, true/false, on/off");
}

static void test_instance_is_libfevs_rule(void **state)
{
	char dst[FEV_INSTANCE_MAX + 1] = "";

	(void)state;
	assert_int_equal(fevconn_set_instance(dst, sizeof(dst), "a-b_1", w,
					      sizeof(w)),
			 0);
	assert_string_equal(dst, "a-b_1");
	assert_int_equal(fevconn_set_instance(dst, sizeof(dst), "a.b", w,
					      sizeof(w)),
			 -EINVAL);
	assert_string_equal(w, "instance 'a.b' is not an instance name "
			       "[A-Za-z0-9_-]{1,31}");
	assert_string_equal(dst, "a-b_1");
}

static void test_log_level_is_fevds(void **state)
{
	int l = -1;

	(void)state;
	assert_int_equal(fevconn_set_log_level(&l, "debug", w, sizeof(w)), 0);
	assert_int_equal(l, FEVD_LOG_DEBUG);
	assert_int_equal(fevconn_set_log_level(&l, "loud", w, sizeof(w)),
			 -EINVAL);
	assert_string_equal(w, "log_level 'loud' is not error, warning, "
			       "notice, info or debug");
	assert_int_equal(l, FEVD_LOG_DEBUG);
}

static void test_group_and_start(void **state)
{
	char g[FEV_GROUP_NAME_MAX + 1] = "";
	int start = -1;

	(void)state;
	assert_int_equal(fevconn_set_group(g, sizeof(g), "billing", w,
					   sizeof(w)),
			 0);
	assert_string_equal(g, "billing");
	assert_int_equal(fevconn_set_group(g, sizeof(g), "a b", w, sizeof(w)),
			 -EINVAL);
	assert_string_equal(w, "group 'a b' is not a group name "
			       "[A-Za-z0-9._-]{1,31}");
	assert_int_equal(fevconn_set_group(g, 4, "billing", w, sizeof(w)),
			 -EINVAL);
	assert_string_equal(w, "group is longer than 3 bytes");
	assert_int_equal(fevconn_set_start(&start, "latest", w, sizeof(w)),
			 0);
	assert_int_equal(start, FEV_GROUP_LATEST);
	assert_int_equal(fevconn_set_start(&start, "now", w, sizeof(w)),
			 -EINVAL);
	assert_string_equal(w, "start 'now' is not earliest or latest");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_why_writes_the_sentence_and_refuses),
		cmocka_unit_test(test_copy_refuses_what_does_not_fit),
		cmocka_unit_test(test_path_is_absolute),
		cmocka_unit_test(test_u32_is_in_its_range),
		cmocka_unit_test(test_bool_is_a_word),
		cmocka_unit_test(test_instance_is_libfevs_rule),
		cmocka_unit_test(test_log_level_is_fevds),
		cmocka_unit_test(test_group_and_start),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
