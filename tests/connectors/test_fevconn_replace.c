/*
 * A file the connectors rewrite (fevconn_replace.h): replaced whole, or,
 * when the new content cannot be written, left as it was with no
 * PATH.tmp behind.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "fevconn_replace.h"

static char dir[] = "/tmp/fevconn-replace-XXXXXX";
static char path[PATH_MAX], tmp[PATH_MAX + 8];

static int setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/status", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(tmp);
	unlink(path);
	return rmdir(dir);
}

static void read_back(char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static int replace(const char *content, bool durable)
{
	struct fevconn_replace r;
	int rc = fevconn_replace_open(&r, path);

	if (rc < 0)
		return rc;
	fputs(content, r.f);
	return fevconn_replace_commit(&r, durable);
}

static void test_the_new_content_replaces_the_old(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(replace("one\n", false), 0);
	read_back(buf, sizeof(buf));
	assert_string_equal(buf, "one\n");
	assert_int_equal(replace("two\n", true), 0);
	read_back(buf, sizeof(buf));
	assert_string_equal(buf, "two\n");
	assert_int_equal(access(tmp, F_OK), -1);
}

/* A write that fails (here: past RLIMIT_FSIZE, as a full disk would)
 * leaves the old file, says why, and removes PATH.tmp. */
static void test_a_failed_write_keeps_the_old_file(void **state)
{
	struct rlimit was, small;
	char big[4096], buf[64];
	int rc;

	(void)state;
	assert_int_equal(replace("kept\n", false), 0);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &was), 0);
	small = was;
	small.rlim_cur = 16;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	rc = replace(big, false);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &was), 0);
	assert_int_equal(rc, -EFBIG);
	read_back(buf, sizeof(buf));
	assert_string_equal(buf, "kept\n");
	assert_int_equal(access(tmp, F_OK), -1);
}

static void test_open_says_why_not(void **state)
{
	struct fevconn_replace r;
	char longpath[PATH_MAX + 1];

	(void)state;
	assert_int_equal(fevconn_replace_open(&r, "/nonexistent-dir/status"),
			 -ENOENT);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(fevconn_replace_open(&r, longpath), -ENAMETOOLONG);
}

static void test_one_line(void **state)
{
	char s[] = "a\nb\r\nc";

	(void)state;
	fevconn_one_line(s);
	assert_string_equal(s, "a b  c");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_the_new_content_replaces_the_old),
		cmocka_unit_test(test_a_failed_write_keeps_the_old_file),
		cmocka_unit_test(test_open_says_why_not),
		cmocka_unit_test(test_one_line),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
