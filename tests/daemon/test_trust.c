/*
 * The trust model (doc/design.md, "Trust"; issue 9): whatever a second,
 * unprivileged user puts in /dev/shm, fevd and the tools keep serving,
 * refuse what they do not trust with a sentence, and never hang, crash,
 * lock out root or hand root's events to that user.  The attacker's steps
 * run as user nobody (nobody.h); as non-root the tests skip.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "fev/fev.h"
#include "fevd_harness.h"
#include "nobody.h"

/* A v1 memory cgroup under ours, for fevd (item 10); removed at
 * teardown (once fevd, its only member, is gone). */
struct memcg {
	char dir[1024];
};
static struct memcg memcg;

/* Attacker processes that outlive a step: killed at teardown. */
static pid_t attackers[4];

static void kill_attackers(void)
{
	for (int i = 0; i < 4; i++) {
		if (attackers[i] > 0) {
			kill(attackers[i], SIGKILL);
			waitpid(attackers[i], NULL, 0);
		}
		attackers[i] = 0;
	}
}

static int setup(void **state)
{
	return fh_setup(state);
}

static int teardown(void **state)
{
	struct fh *h = *state;

	kill_attackers();
	fh_cleanup(h);
	if (memcg.dir[0] != '\0')
		rmdir(memcg.dir);
	memcg.dir[0] = '\0';
	return 0;
}

static void request_ok(struct fh *h, const char *req, char *reply,
		       size_t len)
{
	int rc = fh_request(h->sock, req, reply, len);

	if (rc != 0)
		fail_msg("'%s' -> %d: %s", req, rc, reply);
}

static void shm_path(char *buf, size_t size, const struct fh *h,
		     const char *queue)
{
	snprintf(buf, size, "/dev/shm/fev.%s.%s", h->instance, queue);
}

/* An attacker step: the fabric it aims at and a queue name. */
struct step {
	const struct fh *h;
	const char *queue;
	mode_t mode;
	int lock; /* flock operation to hold, for as long as it lives */
};

static int make_fifo(void *arg)
{
	const struct step *s = arg;
	char path[256];

	shm_path(path, sizeof(path), s->h, s->queue);
	return mkfifo(path, 0666) == 0 ? 0 : 1;
}

static int create_queue(void *arg)
{
	const struct step *s = arg;
	fev_queue_config c = { .struct_size = sizeof(c), .capacity = 16,
			       .max_event = 64, .mode = s->mode,
			       .group = (gid_t)-1 };

	return fev_queue_create(s->queue, &c, s->h->instance) == 0 ? 0 : 1;
}

/* Open the segment read-only, take the lock and hold it until killed. */
static int hold_lock(void *arg)
{
	const struct step *s = arg;
	char path[256];
	int fd;

	shm_path(path, sizeof(path), s->h, s->queue);
	fd = open(path, O_RDONLY);
	if (fd < 0 || flock(fd, s->lock | LOCK_NB) < 0)
		return 1;
	for (;;)
		pause();
}

/* Read one event from queue as the attacker: 0 when it got one. */
static int read_event(void *arg)
{
	const struct step *s = arg;
	fev_open_opts o = { .struct_size = sizeof(o),
			    .instance = s->h->instance };
	char buf[64];
	fev_queue *q;
	int rc = fev_open(s->queue, FEV_CONSUMER, &o, &q);

	if (rc < 0)
		return 2;
	rc = fev_recv(q, buf, sizeof(buf), NULL, 0) >= 0 ? 0 : 3;
	fev_close(q);
	return rc;
}

static void send_one(const struct fh *h, const char *queue, const char *msg)
{
	fev_open_opts o = { .struct_size = sizeof(o), .instance = h->instance };
	fev_queue *q;

	assert_int_equal(fev_open(queue, FEV_PRODUCER, &o, &q), 0);
	assert_int_equal(fev_send(q, msg, strlen(msg), 0), 0);
	fev_close(q);
}

/*
 * `fev stat` of the instance: its exit status.  A hang is bounded at 15 s,
 * far above a run's 0.1 s, so a loaded machine or ASan is not a hang.
 */
#define STAT_HANG_MS 15000

static int run_stat(const struct fh *h, const char *queue)
{
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		setenv("FEV_INSTANCE", h->instance, 1);
		execl(FEV_TOOL, "fev", "stat", "-i", "0", queue, (char *)NULL);
		_exit(127);
	}
	return fevtest_wait(pid, STAT_HANG_MS);
}

/* Item 1: a FIFO under a queue name blocked open() for good. */
static void test_fifo_in_dev_shm_never_hangs_fevd_or_stat(void **state)
{
	struct fh *h = *state;
	struct step s = { .h = h, .queue = "zz" };
	char reply[4096];
	fev_stats st;

	if (!nb_available())
		skip();
	assert_int_equal(nb_run(make_fifo, &s, 5000), 0);
	fh_write_config(h, "", "[queue a]\n");
	fh_start(h); /* fails the test unless ready within 5 s */
	request_ok(h, "list", reply, sizeof(reply));
	assert_null(strstr(reply, "zz"));
	assert_int_equal(fev_queue_stats("zz", h->instance, &st), -EUCLEAN);
	/* fev stat shows the instance, zz as unreadable, and exits (no
	 * signal) within STAT_HANG_MS. */
	assert_in_range(run_stat(h, NULL), 0, 1);
	assert_in_range(run_stat(h, "zz"), 0, 1);
	fevtest_sleep_ms(1200); /* a rescan */
	request_ok(h, "ping", reply, sizeof(reply));
	assert_int_equal(fh_stop(h), 0);
}

/* Item 3: a foreign flock on a segment kept fevd from starting. */
static void test_foreign_flock_never_stops_fevd_from_starting(void **state)
{
	struct fh *h = *state;
	struct step shared = { .h = h, .queue = "a", .lock = LOCK_SH };
	struct step excl = { .h = h, .queue = "mine", .mode = 0644,
			     .lock = LOCK_EX };
	char reply[4096];

	if (!nb_available())
		skip();
	fh_write_config(h, "", "[queue a]\nmode = 0644\n");
	fh_start(h);
	assert_int_equal(fh_stop(h), 0);
	assert_int_equal(nb_run(create_queue, &excl, 5000), 0);
	attackers[0] = nb_spawn(hold_lock, &shared);
	attackers[1] = nb_spawn(hold_lock, &excl);
	fevtest_sleep_ms(200);
	for (int i = 0; i < 2; i++) /* still holding */
		assert_int_equal(waitpid(attackers[i], NULL, WNOHANG), 0);
	fh_start(h);
	request_ok(h, "list", reply, sizeof(reply));
	assert_non_null(strstr(reply, "a capacity="));
	kill_attackers();
	assert_int_equal(fh_stop(h), 0);
}

/* Item 4: a 0666 segment pre-created by another user was adopted. */
static void test_squatted_queue_is_replaced_and_never_readable(void **state)
{
	struct fh *h = *state;
	struct step s = { .h = h, .queue = "orders", .mode = 0666 };
	char path[256], want[256];
	struct stat st;

	if (!nb_available())
		skip();
	assert_int_equal(nb_run(create_queue, &s, 5000), 0);
	fh_write_config(h, "", "[queue orders]\nmode = 0600\n");
	fh_start(h);
	shm_path(path, sizeof(path), h, "orders");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(want, sizeof(want), "owned by uid %u", (unsigned)nb_uid());
	if (!fh_log_has(h, want, 0))
		fail_msg("log %s does not say it replaced the squatter", h->log);
	send_one(h, "orders", "secret");
	assert_int_equal(nb_run(read_event, &s, 5000), 2); /* cannot open */
	assert_int_equal(fh_stop(h), 0);
}

/* Item 4: a segment of fevd's own uid, wider than the config says. */
static void test_adopted_queue_gets_the_configs_mode(void **state)
{
	struct fh *h = *state;
	struct step s = { .h = h, .queue = "wide" };
	fev_queue_config c = { .struct_size = sizeof(c), .capacity = 16,
			       .max_event = 64, .mode = 0666,
			       .group = (gid_t)-1 };
	char path[256];
	struct stat st;

	if (!nb_available())
		skip();
	assert_int_equal(fev_queue_create("wide", &c, h->instance), 0);
	fh_write_config(h, "", "[queue wide]\nmode = 0600\n");
	fh_start(h);
	shm_path(path, sizeof(path), h, "wide");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_true(fh_log_has(h, "queue 'wide' had mode 0666", 0));
	send_one(h, "wide", "secret");
	assert_int_equal(nb_run(read_event, &s, 5000), 2); /* cannot open */
	assert_int_equal(fh_stop(h), 0);
}

/* Item 5: any user's segment was adopted and listed. */
static void test_other_users_segment_is_neither_adopted_nor_trusted(
	void **state)
{
	struct fh *h = *state;
	struct step s = { .h = h, .queue = "mine", .mode = 0666 };
	fev_open_opts o = { .struct_size = sizeof(o), .instance = h->instance };
	char reply[4096];
	fev_queue *q;

	if (!nb_available())
		skip();
	fh_write_config(h, "", "[queue a]\n");
	fh_start(h);
	assert_int_equal(nb_run(create_queue, &s, 5000), 0);
	assert_true(fh_log_has(h, "cannot adopt queue 'mine'", 3000));
	request_ok(h, "list", reply, sizeof(reply));
	assert_null(strstr(reply, "mine"));
	assert_int_equal(fev_open("mine", FEV_PRODUCER, &o, &q), -EUCLEAN);
	assert_int_equal(fh_stop(h), 0);
}

/* Does fevd list queue (within timeout_ms)? */
static bool listed(struct fh *h, const char *queue, unsigned timeout_ms)
{
	char reply[4096], want[80];
	uint64_t end = fevtest_now_ns() + (uint64_t)timeout_ms * 1000000u;

	snprintf(want, sizeof(want), "\n%s ", queue);
	do {
		request_ok(h, "list", reply, sizeof(reply));
		if (strstr(reply, want) != NULL)
			return true;
		fevtest_sleep_ms(20);
	} while (fevtest_now_ns() < end);
	return false;
}

/*
 * trusted_uids: a segment owned by a listed uid is adopted by fevd and
 * trusted by clients, which learn the list from the file fevd publishes
 * next to its control socket, and believe it only while fevd's uid owns
 * it.
 */
static void test_trusted_uids_owner_is_adopted_and_trusted(void **state)
{
	struct fh *h = *state;
	struct step s = { .h = h, .queue = "theirs", .mode = 0666 };
	fev_open_opts o = { .struct_size = sizeof(o), .instance = h->instance };
	char published[PATH_MAX];
	fev_queue *q;

	if (!nb_available())
		skip();
	fh_write_config(h, "trusted_uids = root, nobody\n", "[queue a]\n");
	fh_start(h);
	assert_int_equal(nb_run(create_queue, &s, 5000), 0);
	assert_true(listed(h, "theirs", 3000));
	setenv("FEV_CONTROL_SOCKET", h->sock, 1); /* where fev finds fevd */
	assert_int_equal(fev_open("theirs", FEV_PRODUCER, &o, &q), 0);
	fev_close(q);
	/* Not fevd's: a list anyone could have written vouches for no one. */
	snprintf(published, sizeof(published), "%s.trusted", h->sock);
	assert_int_equal(chown(published, nb_uid(), (gid_t)-1), 0);
	assert_int_equal(fev_open("theirs", FEV_PRODUCER, &o, &q), -EUCLEAN);
	unsetenv("FEV_CONTROL_SOCKET");
	assert_int_equal(fh_stop(h), 0);
}

/* Open the segment read-write as the attacker. */
static int open_rw(const struct step *s)
{
	char path[256];

	shm_path(path, sizeof(path), s->h, s->queue);
	return open(path, O_RDWR);
}

static int truncate_segment(void *arg)
{
	int fd = open_rw(arg);

	return fd >= 0 && ftruncate(fd, 4096) == 0 ? 0 : 1;
}

/* Flip the size between whole and cut short until killed. */
static int flip_size(void *arg)
{
	int fd = open_rw(arg);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return 1;
	for (;;) {
		if (ftruncate(fd, 4096) < 0 || ftruncate(fd, st.st_size) < 0)
			return 1;
	}
}

/* Store DELETED (2) into the segment's state word (offset 256). */
static int scribble_deleted(void *arg)
{
	uint32_t deleted = 2;
	int fd = open_rw(arg);

	return fd >= 0 && pwrite(fd, &deleted, 4, 256) == 4 ? 0 : 1;
}

/* Wait until a `list` line starts with "queue capacity=". */
static void await_listed(struct fh *h, const char *queue)
{
	char reply[4096], want[128];

	snprintf(want, sizeof(want), "\n%s capacity=", queue);
	for (int i = 0; i < 300; i++) {
		request_ok(h, "list", reply, sizeof(reply));
		if (strstr(reply, want) != NULL)
			return;
		fevtest_sleep_ms(10);
	}
	fail_msg("'%s' not listed: %s", queue, reply);
}

/* Make and remove 40 untrusted names, again and again, for 3 s. */
static int churn_names(void *arg)
{
	const struct step *s = arg;
	uint64_t end = fevtest_now_ns() + 3000000000ull;
	char path[256];

	while (fevtest_now_ns() < end) {
		for (int i = 0; i < 40; i++) {
			snprintf(path, sizeof(path), "/dev/shm/fev.%s.u%d",
				 s->h->instance, i);
			close(open(path, O_RDWR | O_CREAT, 0666));
		}
		fevtest_sleep_ms(300);
		for (int i = 0; i < 40; i++) {
			snprintf(path, sizeof(path), "/dev/shm/fev.%s.u%d",
				 s->h->instance, i);
			unlink(path);
		}
		fevtest_sleep_ms(300);
	}
	return 0;
}

/* Item 7's log line, for files: untrusted names that come and go flooded
 * the log with a line per appearance. */
static void test_untrusted_names_coming_and_going_never_flood_the_log(
	void **state)
{
	struct fh *h = *state;
	struct step s = { .h = h };

	if (!nb_available())
		skip();
	fh_write_config(h, "", "[queue a]\n");
	fh_start(h);
	assert_int_equal(nb_run(churn_names, &s, 10000), 0);
	/* One line, then one per FEVD_RATELIMIT_NS (10 s) at most. */
	if (fh_log_count(h, "cannot adopt queue 'u") > 2)
		fail_msg("%d lines about untrusted names in 3 s (log %s)",
			 fh_log_count(h, "cannot adopt queue 'u"), h->log);
	assert_int_equal(fh_stop(h), 0);
}

/* Item 2: a writer truncating a segment killed fevd with SIGBUS. */
static void test_truncated_segment_never_kills_fevd(void **state)
{
	struct fh *h = *state;
	struct step s = { .h = h, .queue = "t" };
	char reply[4096];

	if (!nb_available())
		skip();
	fh_write_config(h, "", "[queue t]\nmode = 0666\n");
	fh_start(h);
	assert_int_equal(nb_run(truncate_segment, &s, 5000), 0);
	fevtest_sleep_ms(1500); /* liveness scans and a rescan read it */
	assert_int_equal(waitpid(h->fevd, NULL, WNOHANG), 0); /* alive */
	request_ok(h, "ping", reply, sizeof(reply));
	assert_true(fh_log_has(h, "queue 't' was truncated", 3000));
	/* Configured: re-created whole, and usable. */
	await_listed(h, "t");
	send_one(h, "t", "after");
	assert_int_equal(fh_stop(h), 0);
}

/* Item 2: fev stat died of SIGBUS while the owner flipped the size. */
static void test_size_flips_never_kill_fev_stat(void **state)
{
	struct fh *h = *state;
	struct step s = { .h = h, .queue = "flip" };
	fev_queue_config c = { .struct_size = sizeof(c), .capacity = 4096,
			       .max_event = 64, .mode = 0666,
			       .group = (gid_t)-1 };

	if (!nb_available())
		skip();
	assert_int_equal(fev_queue_create("flip", &c, h->instance), 0);
	attackers[0] = nb_spawn(flip_size, &s);
	for (int i = 0; i < 100; i++) {
		int status = run_stat(h, "flip");

		if (status >= 128)
			fail_msg("fev stat died of signal %d (run %d)",
				 status - 128, i);
	}
	assert_int_equal(waitpid(attackers[0], NULL, WNOHANG), 0);
}

/* Item 9: storing DELETED wedged the name for good. */
static void test_deleted_state_word_never_wedges_a_name(void **state)
{
	struct fh *h = *state;
	struct step conf = { .h = h, .queue = "c" };
	struct step made = { .h = h, .queue = "m" };
	char reply[4096];

	if (!nb_available())
		skip();
	fh_write_config(h, "", "[queue c]\nmode = 0666\n");
	fh_start(h);
	request_ok(h, "create m mode=0666", reply, sizeof(reply));
	assert_int_equal(nb_run(scribble_deleted, &conf, 5000), 0);
	assert_int_equal(nb_run(scribble_deleted, &made, 5000), 0);
	assert_true(fh_log_has(h, "queue 'm' was deleted", 3000));
	/* The configured queue comes back; the created one can be. */
	await_listed(h, "c");
	send_one(h, "c", "again");
	request_ok(h, "create m", reply, sizeof(reply));
	send_one(h, "m", "again");
	assert_int_equal(fh_stop(h), 0);
}

/* Item 15: `rm` of an attached segment left a ghost queue. */
static void test_removed_attached_segment_leaves_no_ghost(void **state)
{
	struct fh *h = *state;
	fev_open_opts o = { .struct_size = sizeof(o), .instance = h->instance };
	char path[256], reply[4096];
	fev_queue *ghost;
	char buf[16];

	fh_write_config(h, "", "[queue g]\n");
	fh_start(h);
	request_ok(h, "create x", reply, sizeof(reply));
	assert_int_equal(fev_open("g", FEV_CONSUMER, &o, &ghost), 0);
	shm_path(path, sizeof(path), h, "g");
	assert_int_equal(unlink(path), 0);
	shm_path(path, sizeof(path), h, "x");
	assert_int_equal(unlink(path), 0);
	assert_true(fh_log_has(h, "queue 'g' was removed", 3000));
	/* The attached handle learns its queue is gone... */
	assert_int_equal(fev_recv(ghost, buf, sizeof(buf), NULL, 0), -EIDRM);
	fev_close(ghost);
	/* ...the configured queue is back, the created one can be. */
	await_listed(h, "g");
	send_one(h, "g", "new");
	assert_true(fh_log_has(h, "queue 'x' was removed", 3000));
	request_ok(h, "create x", reply, sizeof(reply));
	send_one(h, "x", "new");
	assert_int_equal(fh_stop(h), 0);
}


/* Our memory cgroup's path (v1), or false. */
static bool memcg_make(struct memcg *m, uint64_t limit)
{
	char line[1024], path[1200];
	FILE *f = fopen("/proc/self/cgroup", "r");
	bool ok = false;

	while (f != NULL && !ok && fgets(line, sizeof(line), f) != NULL) {
		char *p = strstr(line, ":memory:");

		if (p == NULL)
			continue;
		p += strlen(":memory:");
		p[strcspn(p, "\n")] = '\0';
		snprintf(m->dir, sizeof(m->dir),
			 "/sys/fs/cgroup/memory%s/fevtest-%d",
			 strcmp(p, "/") == 0 ? "" : p, (int)getpid());
		ok = true;
	}
	if (f != NULL)
		fclose(f);
	if (!ok || mkdir(m->dir, 0755) < 0) {
		m->dir[0] = '\0';
		return false;
	}
	snprintf(path, sizeof(path), "%s/memory.limit_in_bytes", m->dir);
	f = fopen(path, "w");
	ok = f != NULL && fprintf(f, "%llu\n", (unsigned long long)limit) > 0;
	if (f != NULL)
		ok &= fclose(f) == 0;
	if (!ok) {
		rmdir(m->dir);
		m->dir[0] = '\0';
	}
	return ok;
}

static void memcg_join(const struct memcg *m, pid_t pid)
{
	char path[1200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.procs", m->dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%d\n", (int)pid);
	assert_int_equal(fclose(f), 0);
}

/* Item 10: a queue larger than fevd's memory limit got fevd OOM-killed. */
static void test_queue_beyond_memory_limit_is_refused_before_touching_it(
	void **state)
{
	struct fh *h = *state;
	struct memcg *m = &memcg;
	char reply[4096];
	int rc;

	if (geteuid() != 0 || !memcg_make(m, 64u << 20)) {
		fprintf(stderr, "skipped: needs root and a cgroup v1 memory "
				"hierarchy to put fevd under a 64 MiB limit\n");
		skip();
	}
	fh_write_config(h, "", "[queue a]\n");
	fh_start(h);
	memcg_join(m, h->fevd);
	/* 2048 slots of 64 KiB: 128 MiB, twice the limit. */
	rc = fh_request(h->sock, "create big capacity=2048 max_event=65536",
			reply, sizeof(reply));
	assert_int_equal(waitpid(h->fevd, NULL, WNOHANG), 0); /* alive */
	if (rc != -ENOMEM || strstr(reply, "memory cgroup") == NULL)
		fail_msg("create: %d %s", rc, reply);
	assert_int_equal(fevtest_shm_count(h->instance), 1); /* "a" only */
	request_ok(h, "ping", reply, sizeof(reply));
	assert_int_equal(fh_stop(h), 0);
}

static void make_half_created(const struct fh *h, const char *entry,
			      size_t size, bool old)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "/dev/shm/fev.%s.%s", h->instance, entry);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	if (old) { /* abandoned two minutes ago */
		struct timespec t[2];

		clock_gettime(CLOCK_REALTIME, &t[0]);
		t[0].tv_sec -= 120;
		t[1] = t[0];
		assert_int_equal(futimens(fd, t), 0);
	}
	close(fd);
}

static int exit_now(void *arg)
{
	(void)arg;
	return 0;
}

/* Item 11: a half-created segment wedged its name for good. */
static void test_half_created_segments_never_wedge_a_name(void **state)
{
	struct fh *h = *state;
	char reply[4096], temp[64];
	pid_t dead = fevtest_fork(exit_now, NULL);

	fevtest_wait(dead, 5000);
	snprintf(temp, sizeof(temp), "h4~%d", (int)dead);
	fh_write_config(h, "", "[queue a]\n");
	fh_start(h);
	make_half_created(h, "h1", 0, false);
	make_half_created(h, "h2", 8192, false);
	make_half_created(h, "h3", 8192, true);
	make_half_created(h, temp, 8192, true);
	/* create takes the name back, delete frees it... */
	request_ok(h, "create h1", reply, sizeof(reply));
	send_one(h, "h1", "made");
	request_ok(h, "delete h2", reply, sizeof(reply));
	/* ...and fevd removes what is surely abandoned by itself. */
	assert_true(fh_log_has(h, "h3, a segment its creator never", 3000));
	assert_true(fh_log_has(h, "died before it was finished", 3000));
	assert_int_equal(fevtest_shm_count(h->instance), 2); /* a and h1 */
	assert_int_equal(fh_stop(h), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_fifo_in_dev_shm_never_hangs_fevd_or_stat, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_foreign_flock_never_stops_fevd_from_starting,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_squatted_queue_is_replaced_and_never_readable,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_adopted_queue_gets_the_configs_mode, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_other_users_segment_is_neither_adopted_nor_trusted,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_trusted_uids_owner_is_adopted_and_trusted, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_untrusted_names_coming_and_going_never_flood_the_log,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_truncated_segment_never_kills_fevd, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_size_flips_never_kill_fev_stat, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_deleted_state_word_never_wedges_a_name, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_removed_attached_segment_leaves_no_ghost, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_queue_beyond_memory_limit_is_refused_before_touching_it,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_half_created_segments_never_wedge_a_name, setup,
			teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
