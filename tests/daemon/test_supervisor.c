/*
 * The fevd binary's lifecycle: start with the embedded default or a config,
 * one fevd per instance, reload on SIGHUP, adoption after a crash, clean
 * stop.  Each test has its own instance, socket, pidfile and config.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "fev/fev.h"
#include "fevd_harness.h"

static int setup(void **state)
{
	return fh_setup(state);
}

static int teardown(void **state)
{
	return fh_teardown(state);
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static void request_ok(struct fh *h, const char *req, char *reply,
		       size_t len)
{
	int rc = fh_request(h->sock, req, reply, len);

	if (rc != 0)
		fail_msg("'%s' -> %d: %s", req, rc, reply);
}

static void send_events(struct fh *h, const char *queue, int n)
{
	fev_open_opts o = { .struct_size = sizeof(o), .instance = h->instance };
	fev_queue *q;

	assert_int_equal(fev_open(queue, FEV_PRODUCER, &o, &q), 0);
	for (int i = 0; i < n; i++)
		assert_int_equal(fev_send(q, &i, sizeof(i), 1000000000), 0);
	fev_close(q);
}

static void test_fevd_without_config_serves_queue_events(void **state)
{
	struct fh *h = *state;
	char reply[4096], want[128];

	fh_start(h);
	request_ok(h, "ping", reply, sizeof(reply));
	snprintf(want, sizeof(want), "0\nfevd %s instance=%s pid=%d ",
		 FEV_VERSION_STRING, h->instance, (int)h->fevd);
	assert_memory_equal(reply, want, strlen(want));
	request_ok(h, "list", reply, sizeof(reply));
	assert_string_equal(reply, "0\nevents capacity=4096 max_event=1024 "
				   "policy=block depth=0 producers=0 "
				   "consumers=0\n");
	assert_true(exists(h->pidfile));
	assert_int_equal(fh_stop(h), 0);
	/* Stopped cleanly: socket and pidfile gone, segments kept. */
	assert_false(exists(h->sock));
	assert_false(exists(h->pidfile));
	assert_int_equal(fevtest_shm_count(h->instance), 1);
	assert_true(fh_log_has(h, "SIGTERM: stopping", 0));
}

static void test_second_fevd_on_same_instance_is_refused_naming_pid(
	void **state)
{
	struct fh *h = *state;
	const char *args[] = { "--config", h->conf, NULL };
	char reply[4096], want[PATH_MAX + 128];
	int status;

	fh_write_config(h, "", "[queue events]\n");
	fh_start(h);
	status = fevtest_wait(fh_spawn(h, args), 5000);
	assert_int_equal(status, 1);
	snprintf(want, sizeof(want),
		 "instance '%s' is already served by fevd pid %d (pidfile %s)",
		 h->instance, (int)h->fevd, h->pidfile);
	assert_true(fh_log_has(h, want, 0));
	/* The first one is untouched and still serving. */
	request_ok(h, "ping", reply, sizeof(reply));
	assert_true(exists(h->sock));
	assert_int_equal(fh_stop(h), 0);
}

static void test_second_fevd_with_other_pidfile_is_refused_by_instance_lock(
	void **state)
{
	struct fh *h = *state;
	char other_pid[PATH_MAX + 16], other_sock[PATH_MAX + 16];
	char reply[4096], want[256];
	int status;

	snprintf(other_pid, sizeof(other_pid), "%s/other.pid", h->dir);
	snprintf(other_sock, sizeof(other_sock), "%s/other.sock", h->dir);
	fh_write_config(h, "", "[queue a]\n");
	fh_start(h);
	{
		const char *args[] = { "--config",	   h->conf,
				       "--pidfile",	   other_pid,
				       "--control-socket", other_sock,
				       NULL };

		status = fevtest_wait(fh_spawn(h, args), 5000);
	}
	assert_int_equal(status, 1);
	snprintf(want, sizeof(want),
		 "instance '%s' is already supervised by another fevd (it "
		 "holds ",
		 h->instance);
	if (!fh_log_has(h, want, 0))
		fail_msg("log %s lacks \"%s\"", h->log, want);
	assert_false(exists(other_sock));
	request_ok(h, "ping", reply, sizeof(reply));
	assert_int_equal(fh_stop(h), 0);
}

static void test_malformed_config_creates_nothing(void **state)
{
	struct fh *h = *state;
	const char *args[] = { "--config", h->conf, NULL };
	char want[PATH_MAX + 160];
	int status;

	/* Line 5 of the file: [fabric] + 3 keys + the extra line. */
	fh_write_config(h, "",
			"[queue fine]\ncapacity = 64\n[queue orders]\n"
			"capasity = 64\n");
	status = fevtest_wait(fh_spawn(h, args), 5000);
	assert_int_equal(status, 1);
	snprintf(want, sizeof(want),
		 "fevd: %s:9: unknown queue key 'capasity' (capacity, "
		 "max_event, attachers, partitions, policy, mode, group, "
		 "trace_hops, producers or consumers)",
		 h->conf);
	if (!fh_log_has(h, want, 0))
		fail_msg("log %s lacks \"%s\"", h->log, want);
	assert_int_equal(fevtest_shm_count(h->instance), 0);
	assert_false(exists(h->sock));
	assert_false(exists(h->pidfile));
}

static void test_sighup_adds_queue_and_removes_empty_unlisted_queue(
	void **state)
{
	struct fh *h = *state;
	char reply[4096];

	fh_write_config(h, "", "[queue a]\n[queue b]\n");
	fh_start(h);
	fh_write_config(h, "", "[queue a]\n[queue c]\ncapacity = 64\n");
	kill(h->fevd, SIGHUP);
	assert_true(fh_log_has(h, "reloaded", 5000));
	request_ok(h, "list", reply, sizeof(reply));
	assert_non_null(strstr(reply, "\na capacity=4096 "));
	assert_non_null(strstr(reply, "\nc capacity=64 "));
	assert_null(strstr(reply, "\nb "));
	assert_int_equal(fevtest_shm_count(h->instance), 2);
	assert_int_equal(fh_stop(h), 0);
}

static void test_sighup_keeps_unlisted_queue_that_holds_events(void **state)
{
	struct fh *h = *state;
	char reply[4096];

	fh_write_config(h, "", "[queue a]\n[queue b]\n");
	fh_start(h);
	send_events(h, "b", 3);
	fh_write_config(h, "", "[queue a]\n");
	kill(h->fevd, SIGHUP);
	assert_true(fh_log_has(h, "reloaded", 5000));
	assert_true(fh_log_has(h, "queue 'b' is no longer in the config", 0));
	request_ok(h, "list", reply, sizeof(reply));
	assert_non_null(strstr(reply, "\nb capacity=4096 max_event=1024 "
				      "policy=block depth=3 "));
	assert_int_equal(fh_stop(h), 0);
}

static void test_reload_with_bad_config_keeps_running_config(void **state)
{
	struct fh *h = *state;
	char reply[4096], want[PATH_MAX + 64];

	fh_write_config(h, "", "[queue a]\n");
	fh_start(h);
	fh_write_config(h, "", "[queue a]\npolicy = sometimes\n");
	assert_int_equal(fh_request(h->sock, "reload", reply, sizeof(reply)),
			 -EINVAL);
	snprintf(want, sizeof(want), "-22 reload failed: %s:7: policy",
		 h->conf);
	if (strncmp(reply, want, strlen(want)) != 0)
		fail_msg("got \"%s\", want \"%s...\"", reply, want);
	request_ok(h, "list", reply, sizeof(reply));
	assert_non_null(strstr(reply, "\na capacity=4096 "));
	assert_int_equal(fh_stop(h), 0);
}

static void test_restarted_fevd_adopts_segments_and_queued_events_remain(
	void **state)
{
	struct fh *h = *state;
	fev_open_opts o = { .struct_size = sizeof(o), .instance = h->instance };
	char reply[4096];
	fev_queue *q;
	fev_meta m;
	int v;

	fh_write_config(h, "", "[queue events]\ncapacity = 64\n");
	fh_start(h);
	send_events(h, "events", 10);
	fh_kill(h); /* crash: no cleanup at all */
	fh_start(h);
	assert_true(fh_log_has(h, "adopted queue 'events'", 0));
	assert_true(fh_log_has(h, "10 events queued", 0));
	request_ok(h, "list", reply, sizeof(reply));
	assert_non_null(strstr(reply, "events capacity=64 max_event=1024 "
				      "policy=block depth=10 "));
	assert_int_equal(fev_open("events", FEV_CONSUMER, &o, &q), 0);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(fev_recv(q, &v, sizeof(v), &m, 1000000000),
				 sizeof(v));
		assert_int_equal(v, i);
		assert_int_equal(m.flags, 0);
	}
	fev_close(q);
	assert_int_equal(fh_stop(h), 0);
}

static void test_unlink_on_exit_deletes_segments_at_stop(void **state)
{
	struct fh *h = *state;

	fh_write_config(h, "unlink_on_exit = yes\n", "[queue a]\n[queue b]\n");
	fh_start(h);
	assert_int_equal(fevtest_shm_count(h->instance), 2);
	assert_int_equal(fh_stop(h), 0);
	assert_int_equal(fevtest_shm_count(h->instance), 0);
}

/* A fevd that fails to start has adopted queues it never served. */
static void test_failed_start_never_unlinks_adopted_queues(void **state)
{
	struct fh *h = *state;
	fev_queue_config c = { .struct_size = sizeof(c), .capacity = 8,
			       .max_event = 8, .mode = 0600 };
	const char *args[] = { "--config", h->conf, "--control-socket",
			       "/proc/fev-no-such-dir/fevd.sock", NULL };
	fev_open_opts o = { .struct_size = sizeof(o), .instance = h->instance };
	fev_queue *q;
	fev_stats st;
	int status;

	assert_int_equal(fev_queue_create("a", &c, h->instance), 0);
	assert_int_equal(fev_open("a", FEV_PRODUCER, &o, &q), 0);
	assert_int_equal(fev_send(q, "kept", 4, 0), 0);
	fev_close(q);
	fh_write_config(h, "unlink_on_exit = yes\n", "[queue a]\n");
	status = fevtest_wait(fh_spawn(h, args), 5000);
	assert_true(status > 0 && status < 128); /* exited, refusing */
	assert_int_equal(fev_queue_stats("a", h->instance, &st), 0);
	assert_int_equal(st.depth, 1);
}

static void test_queue_created_behind_fevds_back_is_adopted(void **state)
{
	struct fh *h = *state;
	fev_queue_config c = { .struct_size = sizeof(c), .capacity = 32,
			       .max_event = 8, .mode = 0600 };
	char reply[4096];

	fh_write_config(h, "", "");
	fh_start(h);
	assert_int_equal(fev_queue_create("side", &c, h->instance), 0);
	request_ok(h, "list", reply, sizeof(reply));
	assert_string_equal(reply, "0\nside capacity=32 max_event=8 "
				   "policy=block depth=0 producers=0 "
				   "consumers=0\n");
	assert_int_equal(fev_queue_delete("side", h->instance), 0);
	request_ok(h, "list", reply, sizeof(reply));
	assert_string_equal(reply, "0\n");
	assert_int_equal(fh_stop(h), 0);
}

static void make_segment(const char *instance, const char *queue,
			 size_t size, int fill)
{
	char name[128], junk[4096];
	int fd;

	snprintf(name, sizeof(name), "/fev.%s.%s", instance, queue);
	fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	memset(junk, fill, sizeof(junk));
	for (size_t off = 0; off < size; off += sizeof(junk))
		assert_int_equal(write(fd, junk, sizeof(junk)), sizeof(junk));
	close(fd);
}

static void test_broken_segments_are_reported_once_and_never_stall_fevd(
	void **state)
{
	struct fh *h = *state;
	char reply[4096];

	/* A creator that died before sizing it, one that died before the
	 * header was ready, and one full of garbage. */
	make_segment(h->instance, "unsized", 0, 0);
	make_segment(h->instance, "unready", 8192, 0);
	make_segment(h->instance, "garbage", 8192, 0xab);
	fh_write_config(h, "", "[queue a]\n");
	fh_start(h);
	for (int i = 0; i < 30; i++) {
		uint64_t t0 = fevtest_now_ns();

		request_ok(h, "list", reply, sizeof(reply));
		/* A stall would be a fev__map_open() wait (1 s) per segment. */
		if (fevtest_now_ns() - t0 > 500000000ull)
			fail_msg("list took %.0f ms",
				 (double)(fevtest_now_ns() - t0) / 1e6);
		assert_string_equal(reply, "0\na capacity=4096 max_event=1024 "
					   "policy=block depth=0 producers=0 "
					   "consumers=0\n");
		fevtest_sleep_ms(50);
	}
	assert_int_equal(fh_log_count(h, "cannot adopt queue 'unsized'"), 1);
	assert_int_equal(fh_log_count(h, "cannot adopt queue 'unready'"), 1);
	assert_int_equal(fh_log_count(h, "cannot adopt queue 'garbage'"), 1);
	assert_int_equal(fh_stop(h), 0);
}

/* Does the fevd answering on sock list queue q? */
static bool lists_queue(const char *sock, const char *q)
{
	char reply[4096], line[128];
	int rc = fh_request(sock, "list", reply, sizeof(reply));

	if (rc != 0)
		fail_msg("list on %s -> %d: %s", sock, rc, reply);
	snprintf(line, sizeof(line), "\n%s capacity=", q);
	return strstr(reply, line) != NULL;
}

/*
 * fevd locks a segment, then maps it.  If the name is re-created in
 * between, mapping by name again would map the new segment while the lock
 * sits on the old one: a second fevd could lock the new one and two would
 * repair it.  Here fevd A starts on an unsized segment 'q' (its creator
 * died), so it waits inside adopt; the test swaps a complete segment in
 * under the name (rename: atomic, so A never sees the name missing), then
 * starts fevd B on the same instance with its own pidfile.  Exactly one of
 * them may supervise 'q'.
 */
static void test_segment_recreated_while_adopting_has_one_supervisor(
	void **state)
{
	struct fh *h = *state;
	fev_queue_config c = { .struct_size = sizeof(c), .capacity = 32,
			       .max_event = 8, .mode = 0600 };
	char side[FEV_INSTANCE_MAX + 8], from[128], to[128];
	char other_pid[PATH_MAX + 16], other_sock[PATH_MAX + 16];
	bool a_has, b_has;
	pid_t b;

	snprintf(side, sizeof(side), "%sr", h->instance);
	snprintf(from, sizeof(from), "/dev/shm/fev.%s.q", side);
	snprintf(to, sizeof(to), "/dev/shm/fev.%s.q", h->instance);
	snprintf(other_pid, sizeof(other_pid), "%s/other.pid", h->dir);
	snprintf(other_sock, sizeof(other_sock), "%s/other.sock", h->dir);
	make_segment(h->instance, "q", 0, 0);
	fh_write_config(h, "", "[queue q]\ncapacity = 32\nmax_event = 8\n");
	{
		const char *args[] = { "--config", h->conf, NULL };

		h->fevd = fh_spawn(h, args);
	}
	/* The rescan complains, then the config's queue is adopted: A now
	 * waits (up to 1 s) for the unsized segment to become ready. */
	assert_true(fh_log_has(h, "cannot adopt queue 'q'", 5000));
	fevtest_sleep_ms(100);
	assert_int_equal(fev_queue_create("q", &c, side), 0);
	assert_int_equal(rename(from, to), 0);
	assert_true(fh_log_has(h, "ready:", 5000));
	{
		const char *args[] = { "--config",	   h->conf,
				       "--pidfile",	   other_pid,
				       "--control-socket", other_sock,
				       NULL };

		b = fh_spawn(h, args);
	}
	/* B either serves (ready) or is refused by A's lock (exits). */
	for (uint64_t end = fevtest_now_ns() + 5000000000ull;
	     fh_log_count(h, "ready:") < 2 && fevtest_now_ns() < end;
	     fevtest_sleep_ms(5))
		if (waitpid(b, NULL, WNOHANG) == b) {
			b = 0;
			break;
		}
	a_has = lists_queue(h->sock, "q");
	b_has = b > 0 && lists_queue(other_sock, "q");
	if (b > 0) {
		kill(b, SIGTERM);
		fevtest_wait(b, 5000);
	}
	if (a_has == b_has)
		fail_msg("queue 'q' supervised by %s (log %s)",
			 a_has ? "both fevds" : "neither fevd", h->log);
	assert_int_equal(fh_stop(h), 0);
}

/* The next datagram on the notify socket (5 s at most). */
static void expect_notify(int fd, const char *want)
{
	char buf[512];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);

	if (n < 0) {
		fail_msg("no sd_notify message (wanted %s)", want);
		return;
	}
	buf[n] = '\0';
	if (strncmp(buf, want, strlen(want)) != 0)
		fail_msg("sd_notify: got \"%s\", want \"%s...\"", buf, want);
}

static void test_fevd_tells_systemd_ready_reloading_and_stopping(
	void **state)
{
	struct fh *h = *state;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	snprintf(h->notify, sizeof(h->notify), "%s/notify.sock", h->dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", h->notify);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	fh_write_config(h, "", "[queue a]\n");
	fh_start(h);
	expect_notify(fd, "READY=1");
	kill(h->fevd, SIGHUP);
	expect_notify(fd, "RELOADING=1");
	expect_notify(fd, "READY=1");
	kill(h->fevd, SIGTERM);
	expect_notify(fd, "STOPPING=1");
	assert_int_equal(fh_stop(h), 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_fevd_without_config_serves_queue_events, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_second_fevd_on_same_instance_is_refused_naming_pid,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_second_fevd_with_other_pidfile_is_refused_by_instance_lock,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_malformed_config_creates_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_sighup_adds_queue_and_removes_empty_unlisted_queue,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_sighup_keeps_unlisted_queue_that_holds_events,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_reload_with_bad_config_keeps_running_config, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_restarted_fevd_adopts_segments_and_queued_events_remain,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_unlink_on_exit_deletes_segments_at_stop, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_failed_start_never_unlinks_adopted_queues, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_queue_created_behind_fevds_back_is_adopted, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_fevd_tells_systemd_ready_reloading_and_stopping,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_broken_segments_are_reported_once_and_never_stall_fevd,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_segment_recreated_while_adopting_has_one_supervisor,
			setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
