/*
 * Helpers shared by the libfev tests: a unique fabric instance per test,
 * queue creation with asserts, the /dev/shm leak check, clocks.
 */
#ifndef FEVTEST_H
#define FEVTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fev/fev.h"

#define FEVTEST_MS (INT64_C(1000000))

/* A fresh instance name, t<pid>x<counter>, unique across parallel runs. */
void fevtest_instance(char buf[FEV_INSTANCE_MAX + 1]);

/*
 * The cmocka fixture most tests share.  fevtest_setup points *state at a
 * struct fevtest_ctx holding a fresh instance, and arms a SIGALRM that
 * ends a test still running after hang_s seconds (0: none), so a hang
 * fails the test instead of blocking CI.  fevtest_teardown disarms it,
 * kills the children still running and fails the test when its instance
 * left anything in /dev/shm.
 */
struct fevtest_ctx {
	char inst[FEV_INSTANCE_MAX + 1];
};
int fevtest_setup(void **state, unsigned hang_s);
int fevtest_teardown(void **state);

/*
 * One queue in an instance of its own, opened as producer and consumer in
 * one handle: the fixture of the single-process API tests.  setup creates
 * and opens it (failing the test on error) and points *state at it;
 * teardown closes and deletes it and fails the test when anything of the
 * instance is left in /dev/shm.
 */
struct fevtest_queue {
	char inst[FEV_INSTANCE_MAX + 1];
	char name[FEV_NAME_MAX + 1];
	fev_queue *q;
};
int fevtest_queue_setup(void **state, struct fevtest_queue *f,
			const char *name, uint32_t capacity,
			uint32_t max_event, int policy);
int fevtest_queue_teardown(void **state);
/* A cmocka test entry run between setup and fevtest_queue_teardown. */
#define fevtest_queue_test(test, setup)                                    \
	cmocka_unit_test_setup_teardown(test, setup, fevtest_queue_teardown)

/* Create queue name in inst; fails the test on error. */
void fevtest_create(const char *inst, const char *name, uint32_t capacity,
		    uint32_t max_event, int policy);
/* The same, of sync mode sync (FEV_SYNC_*). */
void fevtest_create_sync(const char *inst, const char *name,
			 uint32_t capacity, uint32_t max_event, int policy,
			 uint32_t sync);

/* Create topic name of partitions partitions in inst; fails the test on
 * error. */
void fevtest_create_topic(const char *inst, const char *name,
			  uint32_t partitions, uint32_t capacity,
			  uint32_t max_event);

/*
 * A config snippet must be refused: rc -EINVAL and err "FILE:LINE: ..."
 * naming reason.  i numbers the snippet in the failure message.  One
 * check for every parser that reads our INI files.
 */
void fevtest_assert_line_error(size_t i, const char *text, int rc,
			       const char *err, const char *file,
			       unsigned line, const char *reason);

/* Open with the given FEV_OPEN_* flags; fails the test on error. */
fev_queue *fevtest_open(const char *inst, const char *name, unsigned roles,
			uint32_t flags);

/* How many /dev/shm entries belong to inst ("fev.<inst>" or "fev.<inst>.*"),
 * hop rings ("T@hops", hops.h) left out: segments of queues and partitions. */
int fevtest_shm_count(const char *inst);

/* How many times the queue's attachers have gone to sleep (fev_stats). */
uint64_t fevtest_queue_sleeps(const char *inst, const char *queue);

/* Delete every queue of inst still in /dev/shm (teardown after a failure). */
void fevtest_cleanup(const char *inst);

/*
 * Unlink every /dev/shm entry of inst, even those fev_queue_delete()
 * refuses (broken or untrusted segments a test planted).
 */
void fevtest_unlink_segments(const char *inst);

/* Asserts that inst left nothing in /dev/shm. */
void fevtest_assert_no_leftovers(const char *inst);

/* The whole file at path, NUL-terminated (free() it); NULL when unreadable. */
char *fevtest_read_file(const char *path);

uint64_t fevtest_now_ns(void); /* CLOCK_MONOTONIC */
uint64_t fevtest_cpu_ns(void); /* CLOCK_PROCESS_CPUTIME_ID */

/* Sleep ms milliseconds (restarting after signals). */
void fevtest_sleep_ms(unsigned ms);

/*
 * Run argv (argv[0] a path) in a child process.  keep_fd, when >= 0, is
 * passed to the child as fd FEVTEST_CHILD_FD whatever its close-on-exec
 * flag; other descriptors follow their flags.
 */
#define FEVTEST_CHILD_FD 100
int fevtest_spawn(char *const argv[], int keep_fd);
/* Fork; the child runs fn(arg) and exits with its return value. */
int fevtest_fork(int (*fn)(void *arg), void *arg);
/*
 * Fork, and return once the child has called fevtest_ready(): a child that
 * sets up what the test needs (opens, takes, holds) and then waits to be
 * killed.  A child that exits first fails the test.
 */
int fevtest_fork_ready(int (*fn)(void *arg), void *arg);
/* In a child of fevtest_fork_ready(): its setup is done. */
void fevtest_ready(void);
/* SIGKILL child pid and reap it (within 5 s). */
void fevtest_kill_and_reap(int pid);
/*
 * Wait for child pid up to timeout_ms; kills it (SIGKILL) and fails the
 * test when it takes longer.  Returns its exit status, or 128 + signal.
 * Signals the test catches (even without SA_RESTART) do not end the wait.
 */
int fevtest_wait(int pid, unsigned timeout_ms);
/* Kill every child still running (teardown after a failure). */
void fevtest_kill_children(void);

/*
 * Make syscall nr fail with err in this thread and every thread and child
 * it creates from now on (seccomp; irreversible), as a sandbox would.
 * arg1, when >= 0, limits it to calls whose second argument is arg1 (a
 * futex operation).  Fails the test when the kernel refuses the filter.
 */
void fevtest_refuse_syscall(long nr, long arg1, int err);

/* Deterministic pseudo-random numbers (xorshift64*). */
uint64_t fevtest_rand(uint64_t *state);

#endif /* FEVTEST_H */
