/* fevd's config parser: every bad line is refused with its line number. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "config.h"
#include "fevtest.h"
#include "log.h"

struct bad {
	const char *text;
	unsigned line;
	const char *reason; /* a part of the message */
};

static const struct bad bad_snippets[] = {
	{ "[fabric]\ninstance = x\n\n[queue orders]\ncapasity = 4\n", 5,
	  "unknown queue key 'capasity' (capacity, max_event, attachers, "
	  "partitions, policy, mode, group, trace_hops, producers or "
	  "consumers)" },
	{ "[fabrik]\n", 1, "unknown section [fabrik]" },
	{ "[fabric\n", 1, "malformed section header" },
	{ "[fabric] x\n", 1, "malformed section header" },
	{ "[queue]\n", 1, "[queue] needs a name" },
	{ "[queue a/b]\n", 1, "bad queue name 'a/b'" },
	{ "\n\ncapacity = 4\n", 3, "outside any section" },
	{ "[queue q]\ncapacity\n", 2, "expected 'key = value'" },
	{ "[queue q]\n= 4\n", 2, "missing key" },
	{ "[queue q]\ncapacity =\n", 2, "has no value" },
	{ "[queue q]\ncapacity = 100\n", 2, "not a power of two" },
	{ "[queue q]\ncapacity = 1\n", 2, "out of range" },
	{ "[queue q]\ncapacity = 64Q\n", 2, "not a number" },
	{ "[queue q]\ncapacity = -4\n", 2, "not a number" },
	{ "[queue q]\ncapacity = 010\n", 2, "not a number" },
	{ "[queue q]\ncapacity = 0x10\n", 2, "not a number" },
	{ "[queue q]\ncapacity = 64G\n", 2, "out of range" },
	{ "[queue q]\nmax_event = 17M\n", 2, "out of range" },
	{ "[queue q]\npolicy = drop\n", 2, "policy 'drop'" },
	{ "[queue q]\nmode = 0999\n", 2, "mode '0999'" },
	{ "[queue q]\nmode = 01777\n", 2, "mode '01777'" },
	{ "[queue q]\nmode = rw\n", 2, "mode 'rw'" },
	{ "[queue q]\ngroup = no-such-group-fevd\n", 2, "no such group" },
	{ "[queue q]\ngroup = 3999999999\n", 2, "no such group" },
	{ "[queue q]\ngroup = 0\n", 2, "gid 0 cannot be given" },
	{ "[queue q]\ngroup = root\n", 2, "gid 0 cannot be given" },
	{ "[queue q]\ngroup = 12x\n", 2, "not a group name" },
	{ "[queue q]\ncapacity = 64Kfoo\n", 2, "not a number" },
	{ "[queue q]\ncapacity = 64KK\n", 2, "not a number" },
	{ "[queue q]\nmax_event = 1Mb\n", 2, "not a number" },
	{ "[queue q]\ncapacity = 4\ncapacity = 8\n", 3, "duplicate key" },
	{ "[queue q]\n[queue q]\n", 2, "already defined on line 1" },
	{ "[queue q]\nattachers = 0\n", 2, "out of range" },
	{ "[topic]\n", 1, "[topic] needs a name" },
	{ "[group t]\n", 1, "[group] needs a topic and a name" },
	{ "[group t g x]\n", 1, "[group] needs a topic and a name" },
	{ "[group t a-name-longer-than-31-characters]\n", 1,
	  "bad topic or group name" },
	{ "[group t g]\nstart = middle\n", 2, "start 'middle'" },
	{ "[group t g]\npolicy = drop-oldest\n", 2,
	  "policy 'drop-oldest' is not block or drop" },
	{ "[group t g]\nmode = sideways\n", 2,
	  "mode 'sideways' is not shared or ordered" },
	{ "[group t g]\nsession_timeout = 0\n", 2,
	  "session_timeout '0' is not a duration such as 30s or 500ms, or "
	  "off" },
	{ "[group t g]\nsession_timeout = 30\n", 2, "session_timeout '30'" },
	{ "[group t g]\nsession_timeout = 50d\n", 2,
	  "session_timeout '50d'" },
	{ "[group t g]\ncapacity = 4\n", 2, "unknown key 'capacity'" },
	{ "[topic t@1]\n", 1, "bad queue name 't@1'" },
	{ "[topic t]\npartitions = 0\n", 2, "out of range" },
	{ "[topic t]\npartitions = 257\n", 2, "out of range" },
	{ "[topic t]\npartitions = many\n", 2, "not a number" },
	{ "[queue t]\n[topic t]\n", 2, "already defined on line 1" },
	{ "[queue q]\ncapacity = 16M\nmax_event = 16M\n", 1,
	  "too large for one segment" },
	{ "[fabric]\n[fabric]\n", 2, "[fabric] already defined" },
	{ "[fabric]\ninstance = a.b\n", 2, "bad instance name" },
	{ "[fabric]\ninstance = \n", 2, "has no value" },
	{ "[fabric]\ncontrol_socket = relative.sock\n", 2,
	  "absolute path" },
	{ "[fabric]\npidfile = fevd.pid\n", 2, "absolute path" },
	{ "[fabric]\nlog_level = loud\n", 2, "log_level 'loud'" },
	{ "[fabric]\nunlink_on_exit = perhaps\n", 2, "not yes or no" },
	{ "[fabric]\nadmin_group = no-such-group-fevd\n", 2,
	  "no such group" },
	{ "[fabric]\nadmin_group = 3999999999\n", 2, "no such group" },
	{ "[fabric]\ncapacity = 4\n", 2, "unknown key 'capacity' in [fabric]" },
	{ "[fabric]\nmetrics_listen = localhost:9477\n", 2,
	  "metrics_listen 'localhost:9477' is not IPV4:PORT" },
	{ "[fabric]\nmetrics_listen = 127.0.0.1\n", 2, "is not IPV4:PORT" },
	{ "[fabric]\nmetrics_listen = 127.0.0.1:\n", 2, "is not IPV4:PORT" },
	{ "[fabric]\nmetrics_listen = 127.0.0.1:65536\n", 2,
	  "is not IPV4:PORT" },
	{ "[fabric]\nmetrics_listen = 127.0.0.1:+80\n", 2,
	  "is not IPV4:PORT" },
	{ "[fabric]\nmetrics_listen = 127.0.0.1:080\n", 2,
	  "is not IPV4:PORT" },
	{ "[fabric]\nmetrics_listen = ::1:9477\n", 2, "is not IPV4:PORT" },
	{ "[fabric]\nmetrics_listen = [::1]9477\n", 2, "is not IPV4:PORT" },
	{ "[fabric]\nmetrics_listen = [127.0.0.1]:9477\n", 2,
	  "is not IPV4:PORT" },
	{ "[fabric]\nmetrics_listen = :9477\n", 2, "is not IPV4:PORT" },
	{ "# ok\n[fabric]\nlog_level = info\x01\n", 3, "control character" },
};

static void test_malformed_lines_are_refused_with_their_line_number(
	void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_snippets) / sizeof(bad_snippets[0]);
	     i++) {
		const struct bad *b = &bad_snippets[i];
		struct fevd_config cfg;
		char err[FEVD_ERR_MAX];
		int rc = fevd_config_parse(b->text, "/etc/fev.conf", &cfg, err,
					   sizeof(err));

		fevtest_assert_line_error(i, b->text, rc, err, "/etc/fev.conf",
					  b->line, b->reason);
	}
}

static void test_line_longer_than_limit_is_refused(void **state)
{
	char text[2100] = "[queue q]\n# ";
	struct fevd_config cfg;
	char err[FEVD_ERR_MAX];

	(void)state;
	memset(text + strlen(text), 'x', 1500);
	assert_int_equal(fevd_config_parse(text, "f", &cfg, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "f:2: line longer"));
}

static void test_numbers_accept_units_and_comments_are_ignored(void **state)
{
	static const char text[] =
		"# a comment\n"
		"; another\n"
		"\n"
		"[fabric]\n"
		"  instance =  prod_1   # trailing comment\n"
		"log_level=debug\n"
		"unlink_on_exit = yes\n"
		"admin_group = root\n"
		"metrics_listen = [::1]:9477\n"
		"[queue orders]\n"
		"capacity = 64K\n"
		"max_event = 2k\n"
		"policy = drop-oldest\n"
		"mode = 0600\n"
		"group = 65534\n"
		"attachers = 128\n"
		"[ queue  a.b-c_d ]\n"
		"capacity = 16\n"
		"max_event = 1M\n";
	struct fevd_config cfg;
	char err[FEVD_ERR_MAX];
	const struct fevd_queue_conf *q;

	(void)state;
	if (fevd_config_parse(text, "f", &cfg, err, sizeof(err)) != 0)
		fail_msg("refused: %s", err);
	assert_string_equal(cfg.instance, "prod_1");
	assert_int_equal(cfg.log_level, FEVD_LOG_DEBUG);
	assert_true(cfg.unlink_on_exit);
	assert_true(cfg.has_admin_group);
	assert_int_equal(cfg.admin_gid, 0);
	assert_string_equal(cfg.metrics_listen, "[::1]:9477");
	assert_int_equal(cfg.nqueues, 2);
	q = fevd_config_find(&cfg, "orders");
	assert_non_null(q);
	assert_int_equal(q->capacity, 65536);
	assert_int_equal(q->max_event, 2048);
	assert_int_equal(q->policy, FEV_POLICY_DROP_OLDEST);
	assert_int_equal(q->mode, 0600);
	assert_int_equal(q->group, 65534);
	assert_int_equal(q->attachers, 128);
	q = fevd_config_find(&cfg, "a.b-c_d");
	assert_non_null(q);
	assert_int_equal(q->capacity, 16);
	assert_int_equal(q->max_event, 1048576);
	assert_int_equal(q->mode, FEVD_DEFAULT_MODE);
	fevd_config_free(&cfg);
}

static void test_topic_section_is_a_queue_of_partitions(void **state)
{
	static const char text[] = "[topic orders]\n"
				   "partitions = 8\n"
				   "capacity = 1K\n"
				   "[queue jobs]\n"
				   "[group orders billing]\n"
				   "start = earliest\n"
				   "[group orders audit]\n"
				   "policy = drop\n";
	struct fevd_config cfg;
	char err[FEVD_ERR_MAX];
	const struct fevd_queue_conf *q;

	(void)state;
	if (fevd_config_parse(text, "f", &cfg, err, sizeof(err)) != 0)
		fail_msg("refused: %s", err);
	q = fevd_config_find(&cfg, "orders");
	assert_non_null(q);
	assert_int_equal(q->partitions, 8);
	assert_int_equal(q->capacity, 1024);
	q = fevd_config_find(&cfg, "jobs");
	assert_non_null(q);
	assert_int_equal(q->partitions, 1);
	assert_false(q->topic);
	assert_true(fevd_config_find(&cfg, "orders")->topic);
	assert_int_equal(cfg.ngroups, 2);
	assert_string_equal(cfg.groups[0].topic, "orders");
	assert_string_equal(cfg.groups[0].name, "billing");
	assert_int_equal(cfg.groups[0].start, FEV_GROUP_EARLIEST);
	assert_int_equal(cfg.groups[1].start, FEV_GROUP_LATEST);
	assert_int_equal(cfg.groups[0].policy, FEV_GROUP_BLOCK);
	assert_int_equal(cfg.groups[1].policy, FEV_GROUP_DROP);
	fevd_config_free(&cfg);
}

static void test_embedded_default_is_instance_default_with_queue_events(
	void **state)
{
	struct fevd_config cfg;
	const struct fevd_queue_conf *q;

	(void)state;
	assert_int_equal(fevd_config_default(&cfg), 0);
	assert_string_equal(cfg.instance, "default");
	assert_false(cfg.unlink_on_exit);
	assert_int_equal(cfg.nqueues, 1);
	q = fevd_config_find(&cfg, "events");
	assert_non_null(q);
	assert_int_equal(q->capacity, 4096);
	assert_int_equal(q->max_event, 1024);
	assert_int_equal(q->policy, FEV_POLICY_BLOCK);
	assert_int_equal(q->mode, 0660);
	fevd_config_free(&cfg);
}

static void test_missing_file_is_refused_with_its_name(void **state)
{
	struct fevd_config cfg;
	char err[FEVD_ERR_MAX];

	(void)state;
	assert_int_equal(fevd_config_load("/nonexistent/fev.conf", &cfg, err,
					  sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/fev.conf: "));
}

/* A FIFO cannot be read to its end: it is refused, not waited on. */
static void test_fifo_as_config_is_refused_without_waiting(void **state)
{
	char dir[] = "/tmp/fevd-conf-XXXXXX", path[64];
	struct fevd_config cfg;
	char err[FEVD_ERR_MAX];
	int rc;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/fifo.conf", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	alarm(5); /* a blocked open() ends the test as a failure */
	rc = fevd_config_load(path, &cfg, err, sizeof(err));
	alarm(0);
	unlink(path);
	rmdir(dir);
	assert_int_equal(rc, -EINVAL);
	assert_non_null(strstr(err, "not a regular file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_malformed_lines_are_refused_with_their_line_number),
		cmocka_unit_test(test_line_longer_than_limit_is_refused),
		cmocka_unit_test(test_topic_section_is_a_queue_of_partitions),
		cmocka_unit_test(
			test_numbers_accept_units_and_comments_are_ignored),
		cmocka_unit_test(
			test_embedded_default_is_instance_default_with_queue_events),
		cmocka_unit_test(test_missing_file_is_refused_with_its_name),
		cmocka_unit_test(
			test_fifo_as_config_is_refused_without_waiting),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
