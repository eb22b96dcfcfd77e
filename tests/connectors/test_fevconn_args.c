/*
 * The connector daemons' shared command line (fevconn_args.h): what each
 * form asks for, and the exit code of a bad one.  The parses run one
 * after another in this process, as a test's must: each starts over.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <setjmp.h>
#include <cmocka.h>

#include "fevconn_args.h"

#define USAGE "usage: fev-x [--config FILE] [--check-config]\n"

static int parse(struct fevconn_args *a, int argc, char **argv)
{
	a->config = "/etc/fev/x.conf";
	a->check = false;
	return fevconn_args_parse(argc, argv, "fev-x", USAGE, a);
}

static void test_nothing_given_keeps_the_default(void **state)
{
	char *argv[] = { "fev-x", NULL };
	struct fevconn_args a;

	(void)state;
	assert_int_equal(parse(&a, 1, argv), FEVCONN_ARGS_GO_ON);
	assert_string_equal(a.config, "/etc/fev/x.conf");
	assert_false(a.check);
}

static void test_config_and_check(void **state)
{
	char *argv[] = { "fev-x", "--check-config", "--config", "/tmp/x.conf",
			 NULL };
	char *shortv[] = { "fev-x", "-c", "/tmp/y.conf", NULL };
	struct fevconn_args a;

	(void)state;
	assert_int_equal(parse(&a, 4, argv), FEVCONN_ARGS_GO_ON);
	assert_string_equal(a.config, "/tmp/x.conf");
	assert_true(a.check);
	assert_int_equal(parse(&a, 3, shortv), FEVCONN_ARGS_GO_ON);
	assert_string_equal(a.config, "/tmp/y.conf");
	assert_false(a.check);
}

/* A subcommand's options: argv[0] is the subcommand's name. */
static void test_a_subcommand_reads_its_own_argv(void **state)
{
	char *argv[] = { "status", "--config=/tmp/z.conf", NULL };
	struct fevconn_args a;

	(void)state;
	assert_int_equal(parse(&a, 2, argv), FEVCONN_ARGS_GO_ON);
	assert_string_equal(a.config, "/tmp/z.conf");
}

static void test_help_exits_0_and_bad_usage_2(void **state)
{
	char *help[] = { "fev-x", "--help", NULL };
	char *bogus[] = { "fev-x", "--bogus", NULL };
	char *left[] = { "fev-x", "--check-config", "extra", NULL };
	char *noarg[] = { "fev-x", "--config", NULL };
	struct fevconn_args a;

	(void)state;
	assert_int_equal(parse(&a, 2, help), 0);
	assert_int_equal(parse(&a, 2, bogus), 2);
	assert_int_equal(parse(&a, 3, left), 2);
	assert_int_equal(parse(&a, 2, noarg), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing_given_keeps_the_default),
		cmocka_unit_test(test_config_and_check),
		cmocka_unit_test(test_a_subcommand_reads_its_own_argv),
		cmocka_unit_test(test_help_exits_0_and_bad_usage_2),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
