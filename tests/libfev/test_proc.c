/*
 * The liveness rule (proc.c) against real processes in every state that
 * matters, and `fev stat` against the same table: both must call each one
 * dead, alive or unchecked alike.  Cases that need root (another pid
 * namespace, a /proc mounted with hidepid) skip with the reason when the
 * kernel refuses.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "fevtest.h"
#include "proc.h"
#include "repair.h"
#include "segment.h"

#define SKIP_EXIT 77
#define CANNOT_RUN_FEV_EXIT 78 /* the build tree is closed to uid 65534 */
#define RECORD 5 /* the attacher record each case is written into */

/* A process (or namespace) made for one case, and how to end it. */
struct subject {
	struct fev__identity id;
	pid_t child;	/* to reap; 0: none */
	int release_fd; /* closing it lets the subject exit; -1: none */
	const char *skip; /* why the case cannot run here */
};

enum view {
	VIEW_PLAIN,
	VIEW_HIDEPID, /* judged by an unprivileged user behind hidepid=2 */
};

struct life_case {
	const char *name;
	void (*make)(struct subject *s);
	enum view view;
	enum fev__life want;
};

static uint64_t own_pidns(void)
{
	struct fev__identity me;

	fev__identity_self(&me);
	return me.pidns;
}

static void identity_of(struct subject *s, pid_t pid)
{
	s->id = (struct fev__identity){ .pid = pid, .pidns = own_pidns() };
	assert_int_equal(fev__proc_start_time(pid, &s->id.start_time), 0);
}

static char proc_state(pid_t pid)
{
	char state = '?';

	return fev__proc_stat(pid, NULL, &state) == 0 ? state : '?';
}

static void wait_for_state(pid_t pid, char want)
{
	uint64_t give_up = fevtest_now_ns() + 5000 * FEVTEST_MS;

	while (proc_state(pid) != want) {
		if (fevtest_now_ns() > give_up)
			fail_msg("pid %d never reached state %c", pid, want);
		fevtest_sleep_ms(1);
	}
}

/* Fork a child that blocks until release_fd closes, then exits. */
static pid_t blocked_child(struct subject *s, void (*body)(int fd))
{
	int p[2];
	pid_t pid;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[1]);
		body(p[0]);
		_exit(0);
	}
	close(p[0]);
	s->child = pid;
	s->release_fd = p[1];
	return pid;
}

static void block_on(int fd)
{
	char c;

	while (read(fd, &c, 1) != 0 && errno == EINTR)
		;
}

static void make_running(struct subject *s)
{
	identity_of(s, blocked_child(s, block_on));
}

static void make_zombie(struct subject *s)
{
	pid_t pid = blocked_child(s, block_on);
	siginfo_t info;

	identity_of(s, pid);
	close(s->release_fd);
	s->release_fd = -1;
	/* Exited as a whole, not reaped: the leader alone shows Z while
	 * other threads (a sanitizer's) are still on their way out. */
	assert_int_equal(waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT),
			 0);
}

static void make_reaped(struct subject *s)
{
	pid_t pid = blocked_child(s, block_on);

	identity_of(s, pid);
	close(s->release_fd);
	s->release_fd = -1;
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	s->child = 0;
}

static void *thread_blocks(void *arg)
{
	block_on((int)(intptr_t)arg);
	_exit(0); /* no exit handlers in a forked child (LeakSanitizer) */
}

static void main_thread_exits(int fd)
{
	pthread_t t;

	if (pthread_create(&t, NULL, thread_blocks, (void *)(intptr_t)fd) != 0)
		_exit(3);
	pthread_exit(NULL); /* the process lives on in t */
}

static void make_main_thread_exited(struct subject *s)
{
	pid_t pid = blocked_child(s, main_thread_exits);

	identity_of(s, pid);
	wait_for_state(pid, 'Z'); /* the leader shows Z; t still runs */
}

static void make_pid_reused(struct subject *s)
{
	identity_of(s, getpid());
	s->id.start_time += 1; /* our pid, but not us: the owner is gone */
}

static void make_no_identity(struct subject *s)
{
	identity_of(s, getpid());
	s->id.pidns = 0; /* it could not read /proc/self/ns/pid */
}

/*
 * In a new pid namespace: its pid 1 forks the subject (pid 2 there),
 * which reports its identity and then blocks, or exits (reaped by pid 1,
 * which lives on, so the namespace stays visible).
 */
static void ns_subject(int result_fd, int release_fd, bool exits)
{
	struct fev__identity me;
	pid_t pid = fork();

	if (pid < 0)
		_exit(3);
	if (pid == 0) {
		fev__identity_self(&me);
		if (write(result_fd, &me, sizeof(me)) != sizeof(me))
			_exit(3);
		if (!exits) {
			if (write(result_fd, "A", 1) != 1)
				_exit(3);
			block_on(release_fd);
		}
		_exit(0);
	}
	if (exits) {
		waitpid(pid, NULL, 0);
		if (write(result_fd, "R", 1) != 1)
			_exit(3);
	}
	block_on(release_fd);
	_exit(0);
}

static void make_in_pid_namespace(struct subject *s, bool exits)
{
	int res[2], rel[2];
	char done;
	pid_t pid;

	assert_int_equal(pipe2(res, O_CLOEXEC), 0);
	assert_int_equal(pipe2(rel, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(res[0]);
		close(rel[1]);
		if (unshare(CLONE_NEWPID) < 0)
			_exit(SKIP_EXIT);
		pid = fork(); /* pid 1 of the new namespace */
		if (pid == 0)
			ns_subject(res[1], rel[0], exits);
		_exit(pid > 0 && waitpid(pid, NULL, 0) == pid ? 0 : 3);
	}
	close(res[1]);
	close(rel[0]);
	s->child = pid;
	s->release_fd = rel[1];
	if (read(res[0], &s->id, sizeof(s->id)) != sizeof(s->id)) {
		/* The child could not unshare and exited SKIP_EXIT: reap it
		 * here, end_subject() expects a child that ran. */
		assert_int_equal(fevtest_wait(pid, 5000), SKIP_EXIT);
		s->child = 0;
		s->skip = "unshare(CLONE_NEWPID) refused (needs root)";
	} else {
		assert_int_equal(read(res[0], &done, 1), 1);
		assert_true(s->id.pidns != own_pidns());
	}
	close(res[0]);
}

static void make_other_ns_running(struct subject *s)
{
	make_in_pid_namespace(s, false);
}

static void make_other_ns_exited(struct subject *s)
{
	make_in_pid_namespace(s, true);
}

static void end_subject(struct subject *s)
{
	if (s->release_fd >= 0)
		close(s->release_fd);
	if (s->child > 0)
		assert_int_equal(fevtest_wait(s->child, 5000), 0);
}

/* ---- the two judges ------------------------------------------------ */

/* The "alive" and "unchecked" fields `fev stat --json` gives RECORD. */
static const char *stat_says(const char *inst, bool *alive, bool *unchecked)
{
	static char out[1 << 16];
	char rec[32], *p;
	size_t len = 0;
	ssize_t n;
	int fd[2];
	pid_t pid;

	if (pipe2(fd, O_CLOEXEC) < 0)
		return "pipe failed";
	pid = fork();
	if (pid == 0) {
		dup2(fd[1], 1);
		execl(FEV_CLI, FEV_CLI, "--instance", inst, "stat", "--json",
		      (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	while ((n = read(fd[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd[0]);
	out[len] = '\0';
	waitpid(pid, NULL, 0);
	snprintf(rec, sizeof(rec), "{\"record\":%d,", RECORD);
	p = strstr(out, rec);
	if (p == NULL || (p = strstr(p, "\"alive\":")) == NULL)
		return "fev stat --json did not show the record";
	*alive = strncmp(p + 8, "true", 4) == 0;
	p = strstr(p, "\"unchecked\":");
	if (p == NULL)
		return "fev stat --json did not say whether it was checked";
	*unchecked = strncmp(p + 12, "true", 4) == 0;
	return NULL;
}

/* NULL when the library and fev stat both give c->want for id. */
static const char *judge(const struct life_case *c, const char *inst,
			 const struct fev__identity *id)
{
	static char why[256];
	enum fev__life life = fev__process_life(id, NULL);
	bool alive = false, unchecked = false;
	const char *err;

	if (life != c->want) {
		snprintf(why, sizeof(why), "%s: the library says %s, not %s",
			 c->name, fev__life_name(life),
			 fev__life_name(c->want));
		return why;
	}
	err = stat_says(inst, &alive, &unchecked);
	if (err != NULL)
		return err;
	if (alive != (c->want != FEV__LIFE_DEAD) ||
	    unchecked != (c->want == FEV__LIFE_UNCHECKED)) {
		snprintf(why, sizeof(why),
			 "%s: fev stat says alive=%d unchecked=%d, the "
			 "library %s",
			 c->name, alive, unchecked, fev__life_name(c->want));
		return why;
	}
	return NULL;
}

/*
 * Judge from a child that sees /proc mounted with hidepid=2 and is not
 * root: processes of other users are hidden from it.
 */
static const char *judge_behind_hidepid(const struct life_case *c,
					const char *inst,
					const struct fev__identity *id)
{
	static char why[256];
	int fd[2], status;
	ssize_t n;
	pid_t pid;

	if (geteuid() != 0)
		return "skip: mounting /proc with hidepid needs root";
	assert_int_equal(pipe2(fd, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const char *err;

		close(fd[0]);
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount("proc", "/proc", "proc", 0, "hidepid=2") < 0)
			_exit(SKIP_EXIT);
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(SKIP_EXIT);
		/* A checkout under /root or in a 0700 directory. */
		if (access(FEV_CLI, X_OK) < 0)
			_exit(CANNOT_RUN_FEV_EXIT);
		err = judge(c, inst, id);
		if (err != NULL && write(fd[1], err, strlen(err)) < 0)
			_exit(3);
		_exit(err == NULL ? 0 : 1);
	}
	close(fd[1]);
	n = read(fd[0], why, sizeof(why) - 1);
	close(fd[0]);
	why[n > 0 ? n : 0] = '\0';
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == SKIP_EXIT)
		return "skip: cannot mount /proc with hidepid here";
	if (WIFEXITED(status) && WEXITSTATUS(status) == CANNOT_RUN_FEV_EXIT)
		return "skip: uid 65534 cannot reach " FEV_CLI
		       " (build tree closed to other users)";
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? NULL : why;
}

/* ---- the table ----------------------------------------------------- */

static const struct life_case cases[] = {
	{ "running", make_running, VIEW_PLAIN, FEV__LIFE_ALIVE },
	{ "zombie", make_zombie, VIEW_PLAIN, FEV__LIFE_DEAD },
	{ "exited and reaped", make_reaped, VIEW_PLAIN, FEV__LIFE_DEAD },
	{ "main thread called pthread_exit, another thread runs",
	  make_main_thread_exited, VIEW_PLAIN, FEV__LIFE_ALIVE },
	{ "pid reused by another process", make_pid_reused, VIEW_PLAIN,
	  FEV__LIFE_DEAD },
	{ "no recorded pid namespace", make_no_identity, VIEW_PLAIN,
	  FEV__LIFE_UNCHECKED },
	{ "hidden by hidepid", make_running, VIEW_HIDEPID,
	  FEV__LIFE_UNCHECKED },
	{ "zombie hidden by hidepid", make_zombie, VIEW_HIDEPID,
	  FEV__LIFE_UNCHECKED },
	{ "running in another pid namespace", make_other_ns_running,
	  VIEW_PLAIN, FEV__LIFE_ALIVE },
	{ "exited in another pid namespace that lives on",
	  make_other_ns_exited, VIEW_PLAIN, FEV__LIFE_DEAD },
};

static void write_record(struct fev__map *m, const struct fev__identity *id)
{
	struct fev__attacher *a = &m->attachers[RECORD];

	a->pid = id->pid;
	a->start_time = id->start_time;
	a->pidns = id->pidns;
	a->roles = FEV_PRODUCER;
	/* R6 as in attach: the identity is filled in. */
	atomic_store_explicit(&a->state, FEV__ATT_ACTIVE, memory_order_release);
}

static void test_library_and_fev_stat_agree_on_liveness(void **state)
{
	const struct life_case *c = *state;
	fev_queue_config cfg = { .struct_size = sizeof(cfg), .capacity = 8,
				 .max_event = 64, .mode = 0644 };
	struct subject s = { .release_fd = -1 };
	char inst[FEV_INSTANCE_MAX + 1];
	struct fev__map m;
	const char *err;

	fevtest_instance(inst);
	assert_int_equal(fev_queue_create("q", &cfg, inst), 0);
	assert_int_equal(fev__map_open(inst, "q", true, &m), 0);
	c->make(&s);
	if (s.skip == NULL) {
		write_record(&m, &s.id);
		err = c->view == VIEW_HIDEPID ?
			      judge_behind_hidepid(c, inst, &s.id) :
			      judge(c, inst, &s.id);
		if (err != NULL && strncmp(err, "skip: ", 6) == 0)
			s.skip = err + 6;
		else if (err != NULL)
			fail_msg("%s", err);
		atomic_store(&m.attachers[RECORD].state, FEV__ATT_FREE);
	}
	end_subject(&s);
	fev__map_close(&m);
	assert_int_equal(fev_queue_delete("q", inst), 0);
	fevtest_assert_no_leftovers(inst);
	if (s.skip != NULL) {
		print_message("SKIP: %s\n", s.skip); /* test.sh lists it */
		skip();
	}
}

/* The identity attach records is the one the rule accepts as alive. */
static void test_own_identity_is_alive(void **state)
{
	struct fev__identity me;
	int32_t local = 0;

	(void)state;
	fev__identity_self(&me);
	assert_int_equal(me.pid, getpid());
	assert_true(me.start_time != 0);
	assert_true(me.pidns != 0);
	assert_int_equal(fev__process_life(&me, &local), FEV__LIFE_ALIVE);
	assert_int_equal(local, getpid());
}

int main(void)
{
	struct CMUnitTest tests[sizeof(cases) / sizeof(cases[0]) + 1];
	size_t n = 0;

	tests[n++] = (struct CMUnitTest)cmocka_unit_test(
		test_own_identity_is_alive);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tests[n] = (struct CMUnitTest)cmocka_unit_test_prestate(
			test_library_and_fev_stat_agree_on_liveness,
			(void *)&cases[i]);
		tests[n++].name = cases[i].name;
	}
	return _cmocka_run_group_tests("proc", tests, n, NULL, NULL);
}
