/*
 * Who fevd takes for dead (daemon/src/liveness.c and the rule in
 * libfabric-ev/src/proc.c), with the real fevd: a producer whose main
 * thread called pthread_exit() while another thread holds a reservation,
 * and a producer in another pid namespace (a container sharing /dev/shm,
 * with its own /proc) are alive until they die, and repaired after.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "fev/fev.h"
#include "fevd_harness.h"
#include "segment.h"

#define SEC (INT64_C(1000000000))
#define SKIP_EXIT 77

static int setup(void **state)
{
	return fh_setup_with_queues(state,
		"[queue q]\ncapacity = 16\nmax_event = 64\n");
}

static int teardown(void **state)
{
	return fh_teardown(state);
}

static fev_stats stats(struct fh_ctx *c)
{
	fev_stats st;

	assert_int_equal(fev_queue_stats("q", c->h.instance, &st), 0);
	return st;
}

/* Let fevd scan a few times: each control request triggers a scan. */
static void let_fevd_look(struct fh_ctx *c)
{
	char reply[256];

	for (int i = 0; i < 5; i++) {
		assert_int_equal(fh_request(c->h.sock, "ping", reply,
					    sizeof(reply)),
				 0);
		fevtest_sleep_ms(50);
	}
}

static void write_byte(int fd, char b)
{
	if (write(fd, &b, 1) != 1)
		_exit(3);
}

static char read_byte(int fd)
{
	char b = 0;

	return read(fd, &b, 1) == 1 ? b : 0;
}

/* ---- main thread exited ----------------------------------------- */

struct leaderless {
	struct fh_ctx *c;
	int ready[2]; /* child -> test: reserved, then committed */
	int go[2];    /* test -> child: commit now */
};

static void *reserve_then_commit(void *arg)
{
	struct leaderless *l = arg;
	fev_queue *q;
	fev_claim cl;

	if (fev_open("q", FEV_PRODUCER, &l->c->o, &q) < 0 ||
	    fev_reserve(q, 4, &cl, SEC) < 0)
		_exit(2);
	write_byte(l->ready[1], 'R');
	if (read_byte(l->go[0]) != 'G')
		_exit(3);
	memcpy(cl.data, "live", 4);
	if (fev_commit(q, &cl, 4) < 0)
		_exit(4);
	fev_close(q);
	write_byte(l->ready[1], 'C');
	_exit(0);
}

static int main_thread_exits(void *arg)
{
	struct leaderless *l = arg;
	pthread_t t;

	/* Only the test's ends stay open there: its exit reaches us. */
	close(l->ready[0]);
	close(l->go[1]);

	if (pthread_create(&t, NULL, reserve_then_commit, arg) != 0)
		return 1;
	pthread_exit(NULL); /* the process lives on in t */
}

/* A record forged for a dead process whose stale hold record names pos, in
 * pid namespace pidns (0: unknown). */
static void forge_dead_holdrec_in(struct fev__map *m, uint64_t pos,
				uint64_t pidns)
{
	pid_t dead = fork();

	assert_true(dead >= 0);
	if (dead == 0)
		_exit(0);
	assert_int_equal(waitpid(dead, NULL, 0), dead);
	for (uint32_t i = 0; i < m->geo.attacher_max; i++) {
		struct fev__attacher *a = &m->attachers[i];
		uint32_t free_state = FEV__ATT_FREE;

		if (!atomic_compare_exchange_strong(&a->state, &free_state,
						    FEV__ATT_ATTACHING | dead))
			continue;
		a->pid = dead;
		a->start_time = 1;
		a->pidns = pidns;
		a->roles = FEV_PRODUCER;
		atomic_store(&a->prod.pos, pos);
		atomic_store(&a->prod.n, 1);
		atomic_store(&a->state, FEV__ATT_ACTIVE);
		return;
	}
	fail_msg("no free attacher record to forge");
}

static void forge_dead_holdrec(struct fev__map *m, uint64_t pos)
{
	struct fev__identity me;

	fev__identity_self(&me);
	forge_dead_holdrec_in(m, pos, me.pidns);
}

static uint64_t holdrec_of(const struct fev__map *m, pid_t pid)
{
	for (uint32_t i = 0; i < m->geo.attacher_max; i++)
		if (atomic_load(&m->attachers[i].state) == FEV__ATT_ACTIVE &&
		    m->attachers[i].pid == pid &&
		    atomic_load(&m->attachers[i].prod.n) != 0)
			return atomic_load(&m->attachers[i].prod.pos);
	fail_msg("pid %d holds no producer hold record", pid);
	return 0;
}

static void wait_for_zombie_leader(pid_t pid)
{
	uint64_t give_up = fevtest_now_ns() + 5 * (uint64_t)SEC;
	char state = '?';

	while (fev__proc_stat(pid, NULL, &state) == 0 && state != 'Z') {
		if (fevtest_now_ns() > give_up)
			fail_msg("the main thread of %d never exited", pid);
		fevtest_sleep_ms(1);
	}
}

static void test_producer_whose_main_thread_exited_is_not_repaired(
	void **state)
{
	struct fh_ctx *c = *state;
	struct leaderless l = { .c = c };
	struct fev__map m;
	fev_queue *cons;
	char buf[64];
	fev_meta meta;
	pid_t pid;

	fh_start(&c->h);
	assert_int_equal(pipe(l.ready), 0);
	assert_int_equal(pipe(l.go), 0);
	pid = fevtest_fork(main_thread_exits, &l);
	assert_int_equal(read_byte(l.ready[0]), 'R');
	wait_for_zombie_leader(pid);
	assert_int_equal(fev__map_open(c->h.instance, "q", true, &m), 0);
	/* A dead record's stale hold record names the live producer's position:
	 * repairing it must see that the position is held by the living. */
	forge_dead_holdrec(&m, holdrec_of(&m, pid));
	let_fevd_look(c);
	assert_int_equal(stats(c).tombstoned, 0);
	write_byte(l.go[1], 'G');
	assert_int_equal(read_byte(l.ready[0]), 'C');
	assert_int_equal(fevtest_wait(pid, 5000), 0);
	assert_int_equal(fev_open("q", FEV_CONSUMER, &c->o, &cons), 0);
	assert_int_equal(fev_recv(cons, buf, sizeof(buf), &meta, 2 * SEC), 4);
	assert_memory_equal(buf, "live", 4);
	assert_int_equal(meta.flags, 0);
	/* With the producer gone, the forged record is repaired. */
	assert_true(fh_log_has(&c->h, "repaired queue 'q'", 3000));
	assert_int_equal(stats(c).tombstoned, 0);
	fev_close(cons);
	fev__map_close(&m);
	for (int i = 0; i < 2; i++) {
		close(l.ready[i]);
		close(l.go[i]);
	}
}

/* ---- a record that cannot be checked ----------------------------- */

static void test_record_fevd_cannot_check_is_reported_and_left_alone(
	void **state)
{
	struct fh_ctx *c = *state;
	struct fev__map m;
	fev_queue *prod;
	fev_claim cl;

	fh_start(&c->h);
	assert_int_equal(fev__map_open(c->h.instance, "q", true, &m), 0);
	/* Its pid is dead here, but with no pid namespace recorded that
	 * pid may be anyone's: not repaired, and said so. */
	assert_int_equal(fev_open("q", FEV_PRODUCER, &c->o, &prod), 0);
	assert_int_equal(fev_reserve(prod, 1, &cl, 0), 0);
	forge_dead_holdrec_in(&m, cl.priv_pos + 1, 0);
	assert_true(fh_log_has(&c->h, "cannot be checked from here", 2000));
	let_fevd_look(c);
	assert_int_equal(fh_log_count(&c->h, "repaired queue 'q'"), 0);
	assert_int_equal(fh_log_count(&c->h, "cannot be checked"), 1);
	assert_int_equal(fev_commit(prod, &cl, 1), 0);
	fev_close(prod);
	/* Let the teardown's fevd stop free it: take it back ourselves. */
	for (uint32_t i = 0; i < m.geo.attacher_max; i++)
		if (m.attachers[i].pidns == 0 &&
		    atomic_load(&m.attachers[i].state) == FEV__ATT_ACTIVE)
			atomic_store(&m.attachers[i].state, FEV__ATT_FREE);
	fev__map_close(&m);
}

/* ---- another pid namespace --------------------------------------- */

struct contained {
	struct fh_ctx *c;
	int report[2]; /* container -> test: 'R' reserved, 'D' died */
	int cmd[2];    /* test -> container: 'K' die now; EOF: end */
};

/* pid 2 of the namespace: reserve, report, die on command (SIGKILL). */
static void contained_producer(struct contained *k)
{
	fev_queue *q;
	fev_claim cl;

	if (fev_open("q", FEV_PRODUCER, &k->c->o, &q) < 0 ||
	    fev_reserve(q, 4, &cl, SEC) < 0)
		_exit(2);
	write_byte(k->report[1], 'R');
	if (read_byte(k->cmd[0]) == 'K')
		raise(SIGKILL);
	_exit(0);
}

/* pid 1 of the namespace: its own /proc, as a container has. */
static void contained_init(struct contained *k)
{
	pid_t pid;

	if (mount("proc", "/proc", "proc", 0, NULL) < 0)
		_exit(SKIP_EXIT);
	pid = fork();
	if (pid == 0)
		contained_producer(k);
	if (pid < 0 || waitpid(pid, NULL, 0) != pid)
		_exit(3);
	write_byte(k->report[1], 'D');
	_exit(0);
}

static int container(void *arg)
{
	struct contained *k = arg;
	int status;
	pid_t pid;

	close(k->report[0]);
	close(k->cmd[1]);
	if (unshare(CLONE_NEWPID | CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return SKIP_EXIT;
	pid = fork();
	if (pid == 0)
		contained_init(k);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 3;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 4;
}

static void test_producer_in_another_pid_namespace_is_repaired_only_once_dead(
	void **state)
{
	struct fh_ctx *c = *state;
	struct contained k = { .c = c };
	pid_t pid;
	int status;

	fh_start(&c->h);
	assert_int_equal(pipe(k.report), 0);
	assert_int_equal(pipe(k.cmd), 0);
	pid = fevtest_fork(container, &k);
	close(k.report[1]);
	close(k.cmd[0]);
	if (read_byte(k.report[0]) != 'R') {
		status = fevtest_wait(pid, 5000);
		close(k.report[0]);
		close(k.cmd[1]);
		if (status == SKIP_EXIT)
			skip(); /* unshare(CLONE_NEWPID) needs root */
		fail_msg("the contained producer failed (exit %d)", status);
	}
	/* Its pid is 2 in its namespace: another process (or none) here. */
	let_fevd_look(c);
	assert_int_equal(fh_log_count(&c->h, "repaired queue 'q'"), 0);
	assert_int_equal(stats(c).tombstoned, 0);
	write_byte(k.cmd[1], 'K');
	assert_int_equal(read_byte(k.report[0]), 'D');
	assert_true(fh_log_has(&c->h, "repaired queue 'q'", 3000));
	assert_int_equal(stats(c).tombstoned, 1);
	assert_int_equal(stats(c).producers, 0);
	close(k.cmd[1]);
	close(k.report[0]);
	assert_int_equal(fevtest_wait(pid, 5000), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_producer_whose_main_thread_exited_is_not_repaired,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_producer_in_another_pid_namespace_is_repaired_only_once_dead,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_record_fevd_cannot_check_is_reported_and_left_alone,
			setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
