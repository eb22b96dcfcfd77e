/*
 * fevd at its limits, against the real binary (issue 9): other users
 * churning connections, running out of file descriptors.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "fevd_harness.h"
#include "segment.h"

#define NOBODY 65534
#define CHURNERS 4
#define CHURN_HELD 200

static int setup(void **state)
{
	return fh_setup(state);
}

static int teardown(void **state)
{
	return fh_teardown(state);
}

static void skip_unless_root(void)
{
	if (geteuid() != 0) {
		print_message("SKIP: not root: cannot setuid() to another user\n");
		skip();
	}
}

/* Can uid run path?  A build tree closed to other users (a checkout under
 * /root, a 0700 temporary directory) keeps it from exec'ing our fevd. */
static bool uid_can_run(uid_t uid, const char *path)
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(setgroups(0, NULL) == 0 && setgid(uid) == 0 &&
				      setuid(uid) == 0 && access(path, X_OK) == 0 ?
			      0 :
			      1);
	return pid > 0 && waitpid(pid, &status, 0) == pid &&
	       WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static int connect_to(const char *sock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Child, as nobody: open connections as fast as it can, keep the newest. */
static int churn(void *arg)
{
	const char *sock = arg;
	int held[CHURN_HELD];
	unsigned n = 0;

	if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 ||
	    setuid(NOBODY) < 0)
		return 100;
	memset(held, -1, sizeof(held));
	for (;;) {
		unsigned i = n++ % CHURN_HELD;

		if (held[i] >= 0)
			close(held[i]);
		held[i] = connect_to(sock);
	}
}

static void test_churning_user_cannot_lock_out_root(void **state)
{
	struct fh *h = *state;
	pid_t kids[CHURNERS];
	char reply[8192];
	int failed = 0, lines;

	skip_unless_root();
	fh_write_config(h, "log_level = info\n", "[queue events]\n");
	fh_start(h);
	for (int i = 0; i < CHURNERS; i++)
		kids[i] = fevtest_fork(churn, h->sock);
	fevtest_sleep_ms(300); /* the churn is at full speed */
	for (int i = 0; i < 50; i++) {
		int rc = fh_request(h->sock, "list", reply, sizeof(reply));

		if (rc != 0) {
			failed++;
			print_message("root's list %d: %d %s\n", i, rc, reply);
		}
		fevtest_sleep_ms(20);
	}
	for (int i = 0; i < CHURNERS; i++) {
		kill(kids[i], SIGKILL);
		fevtest_wait(kids[i], 5000);
	}
	lines = fh_log_count(h, "control:");
	assert_int_equal(failed, 0);
	/* Refusals are logged once per interval, not once each. */
	if (lines > 10)
		fail_msg("%d control lines logged during the churn", lines);
	assert_true(fh_log_has(h, "refused a connection of uid 65534", 0));
}

/* Connections past what fevd's descriptors allow get a sentence. */
static void test_out_of_descriptors_fevd_refuses_without_spinning(
	void **state)
{
	struct fh *h = *state;
	struct rlimit low = { .rlim_cur = 40, .rlim_max = 40 };
	int fds[60], nfds = 0, spare;
	char reply[512], path[64];
	unsigned long long t0, t1;
	FILE *f;
	ssize_t n;

	fh_write_config(h, "", "[queue events]\n");
	fh_start(h);
	/* As a unit's LimitNOFILE=40 would: fevd found soft = hard. */
	assert_int_equal(prlimit(h->fevd, RLIMIT_NOFILE, &low, NULL), 0);
	for (int i = 0; i < 60; i++) {
		fds[nfds] = connect_to(h->sock);
		if (fds[nfds] >= 0)
			nfds++;
	}
	fevtest_sleep_ms(200);
	/* The one that found fevd out of descriptors was told so. */
	spare = connect_to(h->sock);
	assert_true(spare >= 0);
	struct timeval tv = { .tv_sec = 5 };
	setsockopt(spare, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = recv(spare, reply, sizeof(reply) - 1, 0);
	assert_true(n > 0);
	reply[n] = '\0';
	assert_non_null(strstr(reply, "-24 fevd is out of file descriptors"));
	close(spare);
	/* Connections still pending must not make fevd busy-loop. */
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)h->fevd);
	for (int k = 0; k < 2; k++) {
		unsigned long long ut, st;

		f = fopen(path, "r");
		assert_non_null(f);
		assert_int_equal(fscanf(f, "%*d %*s %*c %*d %*d %*d %*d %*d "
					"%*u %*u %*u %*u %*u %llu %llu",
					&ut, &st),
				 2);
		fclose(f);
		if (k == 0) {
			t0 = ut + st;
			for (int i = 0; i < 10; i++) /* pending ones */
				if (nfds < 60 &&
				    (fds[nfds] = connect_to(h->sock)) >= 0)
					nfds++;
			fevtest_sleep_ms(1000);
		} else {
			t1 = ut + st;
		}
	}
	/* clock ticks (usually 100/s): a spinning loop burns ~100 */
	if (t1 - t0 > 30)
		fail_msg("fevd used %llu ticks of CPU in 1 s while out of "
			 "descriptors", t1 - t0);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	fevtest_sleep_ms(100);
	assert_int_equal(fh_request(h->sock, "ping", reply, sizeof(reply)),
			 0);
}

#define STUCK_QUEUES 100

/* A retirer killed mid-move leaves stats_seq marked busy for good. */
static void stick_stats_seq(const char *instance, const char *queue)
{
	struct fev__map m;

	assert_int_equal(fev__map_open(instance, queue, true, &m), 0);
	atomic_store(&m.seg->state_line.stats_seq, FEV__STATS_RETIRING);
	fev__map_close(&m);
}

static void test_stuck_stats_cost_a_list_one_bounded_budget(void **state)
{
	struct fh *h = *state;
	char req[64], *reply = malloc(65536 + 1), name[16];
	uint64_t t0, took;
	int busy = 0;

	assert_non_null(reply);
	fh_write_config(h, "", "");
	fh_start(h);
	for (int i = 0; i < STUCK_QUEUES; i++) {
		snprintf(name, sizeof(name), "s%03d", i);
		snprintf(req, sizeof(req), "create %s capacity=2 max_event=0",
			 name);
		assert_int_equal(fh_request(h->sock, req, reply, 65536), 0);
		stick_stats_seq(h->instance, name);
	}
	t0 = fevtest_now_ns();
	assert_int_equal(fh_request(h->sock, "list", reply, 65536), 0);
	took = fevtest_now_ns() - t0;
	for (char *p = reply; (p = strstr(p, " stats=busy\n")) != NULL; p++)
		busy++;
	/* Without the budget: 20 ms per queue, 2 s in all. */
	if (took > 1000000000ull)
		fail_msg("list took %.2f s with %d stuck queues",
			 (double)took / 1e9, STUCK_QUEUES);
	assert_int_equal(busy, STUCK_QUEUES);
	assert_int_equal(fh_request(h->sock, "stats s000", reply, 65536), 0);
	assert_non_null(strstr(reply, "\nstats=busy\n"));
	free(reply);
}

#define BAD_SEGMENTS 200

/* Each bad segment is complained about once, however many there are. */
static void test_every_bad_segment_is_logged_once(void **state)
{
	struct fh *h = *state;
	char path[128];

	for (int i = 0; i < BAD_SEGMENTS; i++) {
		int fd;

		/* Empty: a creator that never finished it. */
		snprintf(path, sizeof(path), "/dev/shm/fev.%s.bad%03d",
			 h->instance, i);
		fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
		assert_true(fd >= 0);
		close(fd);
	}
	fh_write_config(h, "", "");
	fh_start(h);
	fevtest_sleep_ms(3500); /* three rescans at least */
	assert_int_equal(fh_log_count(h, "cannot adopt queue"), BAD_SEGMENTS);
}

#define VICTIM 54321 /* a uid with no user (test_fev_limits.py: 54323) */
#define ATTACKER 54322

struct run_as {
	const struct fh *h;
	uid_t uid;
};

/* Child: fevd as uid, with the default paths (no $XDG_RUNTIME_DIR). */
static int fevd_as(void *arg)
{
	const struct run_as *r = arg;
	int fd = open(r->h->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
		      0644);

	if (fd < 0 || dup2(fd, 2) < 0 || setgroups(0, NULL) < 0 ||
	    setgid(r->uid) < 0 || setuid(r->uid) < 0)
		return 100;
	unsetenv("XDG_RUNTIME_DIR");
	unsetenv("FEV_CONTROL_SOCKET");
	unsetenv("NOTIFY_SOCKET");
	execl(FEVD_BINARY, "fevd", "--instance", r->h->instance, (char *)NULL);
	return 127;
}

static void remove_tree_of(const char *dir, const char *instance)
{
	static const char *const ext[] = { "pid", "sock", "lock" };
	char path[256];

	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s.%s", dir, instance, ext[i]);
		unlink(path);
	}
	rmdir(dir);
}

/* Another user made /tmp/fev-UID first: a non-root fevd refuses it. */
static void test_non_root_fevd_refuses_a_run_dir_someone_else_made(
	void **state)
{
	struct fh *h = *state;
	struct run_as r = { .h = h, .uid = VICTIM };
	char dir[64], pid[256], victim[256], buf[64] = "";
	int fd, status;
	FILE *f;

	skip_unless_root();
	if (!uid_can_run(VICTIM, FEVD_BINARY)) {
		print_message("SKIP: uid %d cannot reach %s (build tree closed "
			      "to other users)\n", VICTIM, FEVD_BINARY);
		skip();
	}
	snprintf(dir, sizeof(dir), "/tmp/fev-%u", VICTIM);
	remove_tree_of(dir, h->instance);
	assert_int_equal(mkdir(dir, 0777), 0);
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(chown(dir, ATTACKER, ATTACKER), 0);
	/* A file of the victim's, and the attacker's link to it where the
	 * victim's fevd writes its pid. */
	snprintf(victim, sizeof(victim), "%s/victim", h->dir);
	fd = open(victim, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "secret\n", 7), 7);
	close(fd);
	assert_int_equal(chown(victim, VICTIM, VICTIM), 0);
	assert_int_equal(chmod(h->dir, 0755), 0);
	snprintf(pid, sizeof(pid), "%s/%s.pid", dir, h->instance);
	assert_int_equal(symlink(victim, pid), 0);
	assert_int_equal(lchown(pid, ATTACKER, ATTACKER), 0);

	status = fevtest_wait(fevtest_fork(fevd_as, &r), 3000);
	f = fopen(victim, "r");
	if (f != NULL && fgets(buf, sizeof(buf), f) == NULL)
		buf[0] = '\0'; /* truncated by a pidfile written through */
	if (f != NULL)
		fclose(f);
	remove_tree_of(dir, h->instance);
	unlink(victim);
	assert_string_equal(buf, "secret\n");
	assert_true(status > 0 && status < 128); /* exited, refusing */
	assert_true(fh_log_has(h, "belongs to uid 54322", 0));
}

/* The system call pid sleeps in (/proc/PID/syscall), -1 when running. */
static long sleeping_in(pid_t pid)
{
	char path[64];
	long nr = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	f = fopen(path, "r");
	if (f != NULL) {
		if (fscanf(f, "%ld", &nr) != 1)
			nr = -1;
		fclose(f);
	}
	return nr;
}

/*
 * Another user's connections can keep the public socket's listen backlog
 * full (the soak saw root's list wait 17.6 s for a place).  fevd's admins
 * come in by the admin socket, whose backlog no one else can reach: with
 * fevd stopped and the public backlog full, `fev queue list` is connected
 * and waits for its reply, not for a place; fevd resumed, it is answered.
 */
static void test_full_public_backlog_does_not_hold_up_admins(void **state)
{
	struct fh *h = *state;
	int fds[1024], nfds = 0;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	long nr = -1;
	pid_t tool;

	fh_start(h);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", h->sock);
	assert_int_equal(kill(h->fevd, SIGSTOP), 0);
	while (nfds < 1024) {
		int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0);

		assert_true(fd >= 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			assert_int_equal(errno, EAGAIN); /* the backlog is full */
			close(fd);
			break;
		}
		fds[nfds++] = fd;
	}
	tool = fork();
	assert_true(tool >= 0);
	if (tool == 0) {
		setenv("FEV_CONTROL_SOCKET", h->sock, 1);
		setenv("FEV_INSTANCE", h->instance, 1);
		if (freopen("/dev/null", "w", stdout) == NULL)
			_exit(126);
		execl(FEV_TOOL, "fev", "queue", "list", (char *)NULL);
		_exit(127);
	}
	/* Wait until it sleeps in a system call, then see which. */
	for (int i = 0; i < 200 && (nr = sleeping_in(tool)) < 0; i++)
		fevtest_sleep_ms(10);
	fevtest_sleep_ms(200);
	nr = sleeping_in(tool);
	kill(h->fevd, SIGCONT);
	if (nr == SYS_connect)
		fail_msg("fev queue list waits in connect() behind others' "
			 "connections");
	assert_int_equal(fevtest_wait(tool, 10000), 0);
	while (nfds > 0)
		close(fds[--nfds]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_churning_user_cannot_lock_out_root, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_out_of_descriptors_fevd_refuses_without_spinning,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_stuck_stats_cost_a_list_one_bounded_budget, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_every_bad_segment_is_logged_once, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_non_root_fevd_refuses_a_run_dir_someone_else_made,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_full_public_backlog_does_not_hold_up_admins, setup,
			teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
