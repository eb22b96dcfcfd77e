/*
 * Smoke tests of fev-bench: every mode and every baseline with tiny counts.
 * They prove the bench runs, verifies what it moves, writes parseable JSON
 * and a plot, and cleans up; they never look at how fast anything was.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "fev/fev.h"
#include "fevtest.h"
#include "json_mini.h"

#define RUN_TIMEOUT_S 90

struct outcome {
	int status; /* exit code, or 128 + signal */
	pid_t pid;
	char out[256]; /* file with stdout + stderr */
};

static pid_t start(struct outcome *o, char *const argv[], const char *fault)
{
	static int counter;
	pid_t pid;

	snprintf(o->out, sizeof(o->out), "/tmp/fev-bench-test-%d-%d.out", getpid(),
		 counter++);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(o->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(fd, 1);
		dup2(fd, 2);
		if (fault)
			setenv("FEV_BENCH_FAULT", fault, 1);
		else
			unsetenv("FEV_BENCH_FAULT");
		execv(FEV_BENCH_PATH, argv);
		_exit(127);
	}
	o->pid = pid;
	return pid;
}

/* Wait with a deadline: a hung bench fails the test, never hangs it. */
static void finish(struct outcome *o)
{
	o->status = fevtest_wait(o->pid, RUN_TIMEOUT_S * 1000);
}

static void show_output(const struct outcome *o)
{
	char *text = fevtest_read_file(o->out);

	fprintf(stderr, "---- fev-bench output (status %d) ----\n%s\n----\n", o->status,
		text ? text : "(none)");
	free(text);
}

/* Nothing this bench process made may be left behind. */
static void assert_cleaned_up(pid_t pid)
{
	char prefix[64];
	const char *dirs[] = { "/dev/shm", "/dev/mqueue", "/tmp" };

	for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
		DIR *dir = opendir(dirs[d]);
		struct dirent *e;

		if (dir == NULL)
			continue;
		while ((e = readdir(dir)) != NULL) {
			snprintf(prefix, sizeof(prefix), "fb%dx", pid);
			if (strstr(e->d_name, prefix) != NULL)
				fail_msg("%s/%s left behind", dirs[d], e->d_name);
		}
		closedir(dir);
	}
}

static int run_bench(struct outcome *o, const char *fault, ...)
{
	char *argv[40] = { "fev-bench" };
	int n = 1;
	va_list ap;

	va_start(ap, fault);
	while (n < 39 && (argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	start(o, argv, fault);
	finish(o);
	if (o->status != 0 && fault == NULL)
		show_output(o);
	assert_cleaned_up(o->pid);
	if (fault == NULL)
		unlink(o->out);
	return o->status;
}

static void json_path(char *buf, size_t n, const char *what)
{
	snprintf(buf, n, "/tmp/fev-bench-test-%d-%s.json", getpid(), what);
}

static struct jval *load_json(const char *path)
{
	char *text = fevtest_read_file(path);
	struct jval *v;

	assert_non_null(text);
	v = json_parse(text);
	if (v == NULL)
		fail_msg("%s is not valid JSON:\n%s", path, text);
	free(text);
	unlink(path);
	return v;
}

static const char *str_of(const struct jval *o, const char *key)
{
	const struct jval *v = json_get(o, key);

	assert_non_null(v);
	assert_int_equal(v->type, J_STR);
	return v->str;
}

static double num_of(const struct jval *o, const char *key)
{
	const struct jval *v = json_get(o, key);

	if (v == NULL || v->type != J_NUM)
		fail_msg("field %s missing or not a number", key);
	return v->num;
}

/* Every listed transport has a measured result of this mode. */
static void assert_results(const struct jval *doc, const char *mode,
			   const char *const *transports, size_t nt)
{
	const struct jval *res = json_get(doc, "results");
	const struct jval *m = json_get(doc, "machine");

	assert_non_null(m);
	assert_non_null(json_get(m, "cpu_model"));
	assert_non_null(json_get(m, "kernel"));
	assert_non_null(json_get(m, "governor"));
	assert_true(num_of(m, "cores") >= 1);
	assert_non_null(res);
	assert_int_equal(res->type, J_ARR);
	for (size_t t = 0; t < nt; t++) {
		bool found = false;

		for (size_t i = 0; i < res->n; i++) {
			const struct jval *r = &res->kids[i];

			if (strcmp(str_of(r, "transport"), transports[t]) != 0 ||
			    strcmp(str_of(r, "mode"), mode) != 0)
				continue;
			found = true;
			assert_true(num_of(r, "size") >= 8);
			assert_true(num_of(r, "producers") >= 1);
			assert_true(num_of(r, "consumers") >= 1);
			assert_non_null(json_get(r, "wait"));
			assert_true(num_of(r, "events_per_s") > 0);
			assert_true(num_of(r, "events_per_s_min") <=
				    num_of(r, "events_per_s_max"));
			if (strcmp(mode, "lat") == 0) {
				const char *k[] = { "p50_ns", "p90_ns", "p99_ns",
						    "p999_ns", "p9999_ns", "max_ns" };

				for (size_t j = 1; j < 6; j++)
					assert_true(num_of(r, k[j - 1]) <= num_of(r, k[j]));
			}
		}
		if (!found)
			fail_msg("no %s result for %s", mode, transports[t]);
	}
}

static const char *const all_transports[] = { "fev", "pipe", "unix", "mq", "zmq", "floor" };

static void assert_output_has(const struct outcome *o, const char *needle);

static void test_thr_against_every_baseline_writes_parseable_json(void **state)
{
	struct outcome o;
	char json[128];
	struct jval *doc;

	(void)state;
	json_path(json, sizeof(json), "thr");
	assert_int_equal(run_bench(&o, NULL, "thr", "--count", "3000", "--runs", "2",
				   "--vs", "pipe,unix,mq,zmq,floor", "--json", json,
				   NULL),
			 0);
	doc = load_json(json);
	assert_results(doc, "thr", all_transports, 6);
	json_free(doc);
}

static void test_lat_pingpong_and_rate_report_ordered_percentiles(void **state)
{
	struct outcome o;
	char json[128];
	struct jval *doc;
	const struct jval *res;
	int rate = 0;

	(void)state;
	json_path(json, sizeof(json), "lat");
	assert_int_equal(run_bench(&o, NULL, "lat", "--count", "300", "--runs", "1",
				   "--rate", "20000", "--vs", "all", "--json", json,
				   NULL),
			 0);
	doc = load_json(json);
	assert_results(doc, "lat", all_transports, 6);
	res = json_get(doc, "results");
	for (size_t i = 0; i < res->n; i++)
		rate += strcmp(str_of(&res->kids[i], "latency"), "rate") == 0;
	assert_int_equal(rate, 6);
	json_free(doc);
}

static void test_matrix_quick_runs_every_baseline_and_plots(void **state)
{
	struct outcome o;
	char json[128], png[128], csv[128];
	struct jval *doc;
	struct stat st;
	bool gnuplot = system("command -v gnuplot >/dev/null 2>&1") == 0;

	(void)state;
	json_path(json, sizeof(json), "matrix");
	snprintf(png, sizeof(png), "/tmp/fev-bench-test-%d.png", getpid());
	snprintf(csv, sizeof(csv), "/tmp/fev-bench-test-%d.csv", getpid());
	assert_int_equal(run_bench(&o, NULL, "matrix", "--quick", "--sizes", "64",
				   "--duration", "0.02", "--runs", "1", "--vs", "all",
				   "--json", json, "--csv", csv,
				   gnuplot ? "--plot" : NULL, png, NULL),
			 0);
	doc = load_json(json);
	assert_results(doc, "thr", all_transports, 6);
	assert_results(doc, "lat", all_transports, 6);
	json_free(doc);
	assert_int_equal(stat(csv, &st), 0);
	assert_true(st.st_size > 0);
	unlink(csv);
	if (gnuplot) {
		assert_int_equal(stat(png, &st), 0);
		assert_true(st.st_size > 1000);
		unlink(png);
	}
}

static void test_zerocopy_batches_with_several_processes_verify(void **state)
{
	struct outcome o;

	(void)state;
	assert_int_equal(run_bench(&o, NULL, "thr", "--api", "zerocopy", "--batch", "16",
				   "-p", "2", "-c", "2", "--count", "20000", "--runs", "1",
				   "--vs", "unix,floor", NULL),
			 0);
	assert_int_equal(run_bench(&o, NULL, "thr", "--batch", "8", "-p", "2", "-c", "3",
				   "--count", "20000", "--runs", "1", "--vs", "pipe,zmq",
				   NULL),
			 0);
}

/* fev-meta: every event carries a key and two headers the consumer checks. */
static void test_key_and_header_runs_verify_beside_plain_fev(void **state)
{
	static const char *const both[] = { "fev", "fev-meta" };
	struct outcome o;
	char json[128];
	struct jval *doc;

	(void)state;
	json_path(json, sizeof(json), "meta");
	assert_int_equal(run_bench(&o, NULL, "thr", "-p", "2", "-c", "2", "--count",
				   "20000", "--runs", "1", "--vs", "fev-meta", "--json",
				   json, NULL),
			 0);
	doc = load_json(json);
	assert_results(doc, "thr", both, 2);
	json_free(doc);
	unlink(json);
	assert_int_equal(run_bench(&o, NULL, "thr", "--api", "zerocopy", "--count",
				   "20000", "--runs", "1", "--vs", "fev-meta", NULL),
			 0);
}

/*
 * Single-producer, single-consumer queues: fev-spsc beside fev (copy and
 * zero copy, ping-pong), --sync for fev's own queues, and the
 * configurations a single side cannot run told, not run.
 */
static void test_single_producer_single_consumer_runs_verify(void **state)
{
	static const char *const both[] = { "fev", "fev-spsc" };
	struct outcome o;
	char json[128];
	struct jval *doc;

	(void)state;
	json_path(json, sizeof(json), "spsc");
	assert_int_equal(run_bench(&o, NULL, "thr", "--count", "20000", "--runs",
				   "1", "--vs", "fev-spsc", "--json", json, NULL),
			 0);
	doc = load_json(json);
	assert_results(doc, "thr", both, 2);
	json_free(doc);
	unlink(json);
	assert_int_equal(run_bench(&o, NULL, "thr", "--api", "zerocopy",
				   "--batch", "32", "--count", "20000", "--runs",
				   "1", "--sync", "spsc", NULL),
			 0);
	assert_int_equal(run_bench(&o, NULL, "lat", "--count", "2000", "--runs",
				   "1", "--vs", "fev-spsc", NULL),
			 0);
	assert_int_equal(run_bench(&o, NULL, "thr", "-c", "2", "--count",
				   "20000", "--runs", "1", "--sync", "spmc",
				   NULL),
			 0);
	/* 1 -> 2 cannot be a single consumer's: fev runs, fev-spsc not. */
	assert_int_equal(run_bench(&o, NULL, "thr", "-c", "2", "--count",
				   "2000", "--runs", "1", "--vs", "fev-spsc",
				   "--json", json, NULL),
			 0);
	doc = load_json(json);
	assert_results(doc, "thr", both, 1);
	assert_int_equal(json_get(doc, "results")->n, 2);
	assert_non_null(strstr(str_of(&json_get(doc, "results")->kids[1],
				      "skipped"),
			       "1 -> 1 only"));
	json_free(doc);
	unlink(json);
	assert_int_equal(run_bench(&o, NULL, "thr", "--sync", "sp", NULL), 2);
}

/*
 * The bus runs: fan-out (every consumer its own group) against one queue
 * per consumer, keyed events over 8 partitions against a pipe; each checks
 * every delivery (fan-out: each consumer gets every event once, in order).
 */
static void test_fanout_and_keyed_runs_verify_against_their_baselines(void **state)
{
	static const char *const fan[] = { "fev-fanout", "fev-queues" };
	static const char *const keyed[] = { "fev-keyed", "pipe" };
	struct outcome o;
	char json[128];
	struct jval *doc;

	(void)state;
	json_path(json, sizeof(json), "fanout");
	assert_int_equal(run_bench(&o, NULL, "thr", "-c", "2", "--count", "20000",
				   "--runs", "1", "--fev", "fev-fanout", "--vs",
				   "fev-queues", "--json", json, NULL),
			 0);
	doc = load_json(json);
	assert_results(doc, "thr", fan, 2);
	json_free(doc);
	assert_int_equal(run_bench(&o, NULL, "thr", "-c", "4", "--wait", "spin",
				   "--count", "5000", "--runs", "1", "--fev",
				   "fev-fanout", "--vs", "fev-queues", NULL),
			 0);
	json_path(json, sizeof(json), "keyed");
	assert_int_equal(run_bench(&o, NULL, "thr", "-c", "2", "--count", "20000",
				   "--runs", "1", "--fev", "fev-keyed", "--vs", "pipe",
				   "--json", json, NULL),
			 0);
	doc = load_json(json);
	assert_results(doc, "thr", keyed, 2);
	json_free(doc);
	assert_int_equal(run_bench(&o, NULL, "thr", "-c", "4", "--wait", "sleep",
				   "--count", "5000", "--runs", "1", "--fev",
				   "fev-keyed", NULL),
			 0);
}

/*
 * fev-keyed's members are an ordered group's, assigned by a fevd the run
 * starts: one it cannot start fails the run, saying what to set, and
 * leaves nothing behind.  ("none": keep the output; no fault injected.)
 */
static void test_keyed_run_without_its_fevd_fails_and_says_so(void **state)
{
	struct outcome o;

	(void)state;
	setenv("FEV_BENCH_FEVD", "/nonexistent/fevd", 1);
	assert_int_equal(run_bench(&o, "none", "thr", "-c", "2", "--count",
				   "1000", "--runs", "1", "--fev", "fev-keyed",
				   NULL),
			 1);
	unsetenv("FEV_BENCH_FEVD");
	assert_output_has(&o, "FEV_BENCH_FEVD");
}

static void test_spin_and_sleep_waits_complete(void **state)
{
	struct outcome o;

	(void)state;
	assert_int_equal(run_bench(&o, NULL, "thr", "--wait", "spin", "-p", "2", "-c", "2",
				   "--count", "20000", "--runs", "1", "--vs", "all", NULL),
			 0);
	/* Not zmq here: under ThreadSanitizer a ZMQ_DONTWAIT-polling 4 KiB
	 * stream stalls inside libzmq (uninstrumented) after ~1000 events. */
	assert_int_equal(run_bench(&o, NULL, "thr", "--wait", "spin", "--batch", "8",
				   "--size", "4K", "--count", "5000", "--runs", "1", "--vs",
				   "pipe,unix,mq,floor", NULL),
			 0);
	assert_int_equal(run_bench(&o, NULL, "lat", "--wait", "spin", "--count", "300",
				   "--runs", "1", "--vs", "all", NULL),
			 0);
	assert_int_equal(run_bench(&o, NULL, "thr", "--wait", "sleep", "--count", "20000",
				   "--runs", "1", NULL),
			 0);
	assert_int_equal(run_bench(&o, NULL, "lat", "--wait", "sleep", "--count", "300",
				   "--runs", "1", "--cpus", "0", NULL),
			 0);
}

static void assert_output_has(const struct outcome *o, const char *needle)
{
	char *text = fevtest_read_file(o->out);

	assert_non_null(text);
	if (strstr(text, needle) == NULL)
		fail_msg("expected \"%s\" in:\n%s", needle, text);
	free(text);
	unlink(o->out);
}

static void test_lost_event_fails_the_run(void **state)
{
	struct outcome o;

	(void)state;
	assert_int_equal(run_bench(&o, "lose", "thr", "--count", "1000", "--runs", "1",
				   "--vs", "pipe", NULL),
			 1);
	assert_output_has(&o, "missing");
	/* Several consumers: only the parent's totals can see it. */
	assert_int_equal(run_bench(&o, "lose", "thr", "--count", "1000", "--runs", "1",
				   "-p", "1", "-c", "3", NULL),
			 1);
	assert_output_has(&o, "FAILED");
}

static void test_duplicated_event_fails_the_run(void **state)
{
	struct outcome o;

	(void)state;
	/* Fan-out: every consumer must get each event once. */
	assert_int_equal(run_bench(&o, "dup", "thr", "--count", "1000", "--runs", "1",
				   "-c", "2", "--fev", "fev-fanout", NULL),
			 1);
	assert_output_has(&o, "duplicated");
	assert_int_equal(run_bench(&o, "lose", "thr", "--count", "1000", "--runs", "1",
				   "-c", "2", "--fev", "fev-keyed", NULL),
			 1);
	assert_output_has(&o, "FAILED");
	assert_int_equal(run_bench(&o, "dup", "thr", "--count", "1000", "--runs", "1",
				   "-c", "2", "--vs", "unix", NULL),
			 1);
	assert_output_has(&o, "FAILED");
}

static void test_interrupt_stops_and_cleans_up(void **state)
{
	char *argv[] = { "fev-bench", "thr", "--duration", "30", "-p", "2", "-c", "2",
			 "--vs", "mq,zmq", NULL };
	struct outcome o;

	(void)state;
	start(&o, argv, NULL);
	usleep(700000);
	kill(o.pid, SIGINT);
	finish(&o);
	assert_int_equal(o.status, 130);
	assert_cleaned_up(o.pid);
	unlink(o.out);
}

static void test_queue_option_uses_an_existing_queue_and_keeps_it(void **state)
{
	fev_queue_config cfg = { .struct_size = sizeof(cfg), .capacity = 256,
				 .max_event = 64 };
	struct outcome o;
	fev_stats st;
	char inst[32];

	(void)state;
	snprintf(inst, sizeof(inst), "tb%d", getpid());
	assert_int_equal(fev_queue_create("work", &cfg, inst), 0);
	assert_int_equal(fev_queue_create("work-pong", &cfg, inst), 0);
	setenv("FEV_INSTANCE", inst, 1);
	assert_int_equal(run_bench(&o, NULL, "thr", "--queue", "work", "-c", "2",
				   "--count", "2000", "--runs", "1", NULL),
			 0);
	assert_int_equal(run_bench(&o, NULL, "lat", "--queue", "work", "--count", "200",
				   "--runs", "1", NULL),
			 0);
	/* Bigger events than the queue takes: a clear failure, not a crash. */
	assert_int_equal(run_bench(&o, "none", "thr", "--queue", "work", "--size", "100",
				   "--count", "10", "--runs", "1", NULL),
			 1);
	assert_output_has(&o, "--size is 100");
	unsetenv("FEV_INSTANCE");
	assert_int_equal(fev_queue_stats("work", inst, &st), 0);
	assert_int_equal(st.depth, 0);
	assert_int_equal(fev_queue_delete("work", inst), 0);
	assert_int_equal(fev_queue_delete("work-pong", inst), 0);
}

static void test_bad_usage_exits_2(void **state)
{
	struct outcome o;

	(void)state;
	assert_int_equal(run_bench(&o, "x", "thr", "--size", "4", NULL), 2);
	assert_output_has(&o, "at least 8");
	assert_int_equal(run_bench(&o, "x", "thr", "--vs", "carrier-pigeon", NULL), 2);
	assert_output_has(&o, "unknown baseline");
	assert_int_equal(run_bench(&o, "x", "warp", NULL), 2);
	assert_output_has(&o, "unknown benchmark");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thr_against_every_baseline_writes_parseable_json),
		cmocka_unit_test(test_lat_pingpong_and_rate_report_ordered_percentiles),
		cmocka_unit_test(test_matrix_quick_runs_every_baseline_and_plots),
		cmocka_unit_test(test_zerocopy_batches_with_several_processes_verify),
		cmocka_unit_test(test_key_and_header_runs_verify_beside_plain_fev),
		cmocka_unit_test(test_single_producer_single_consumer_runs_verify),
		cmocka_unit_test(test_fanout_and_keyed_runs_verify_against_their_baselines),
		cmocka_unit_test(test_keyed_run_without_its_fevd_fails_and_says_so),
		cmocka_unit_test(test_spin_and_sleep_waits_complete),
		cmocka_unit_test(test_lost_event_fails_the_run),
		cmocka_unit_test(test_duplicated_event_fails_the_run),
		cmocka_unit_test(test_interrupt_stops_and_cleans_up),
		cmocka_unit_test(test_queue_option_uses_an_existing_queue_and_keeps_it),
		cmocka_unit_test(test_bad_usage_exits_2),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
