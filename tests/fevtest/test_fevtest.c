/*
 * The test helper library itself (fevtest.c, fevd_harness.c): a wait for
 * a child that signals caught by the test do not end early, and instance
 * names that are never handed out twice in one test process.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#include <cmocka.h>

#include "fevd_harness.h"
#include "fevtest.h"

/* Alarms caught; at ALARMS_TO_WAIT the handler lets the child exit. */
#define ALARMS_TO_WAIT 20
static atomic_int alarms;
static int release_fd = -1; /* the write end of the child's pipe */

static void count_alarm(int sig)
{
	(void)sig;
	if (atomic_fetch_add_explicit(&alarms, 1, memory_order_relaxed) + 1 ==
	    ALARMS_TO_WAIT)
		(void)!write(release_fd, "x", 1); /* async-signal-safe */
}

/* SIGALRM every interval_us, caught by a handler without SA_RESTART. */
static void alarm_every(long interval_us)
{
	struct sigaction sa = { .sa_handler = count_alarm }; /* no SA_RESTART */
	struct itimerval it = { .it_interval = { 0, interval_us },
				.it_value = { 0, interval_us } };

	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
}

static void alarm_stop(void)
{
	struct itimerval off = { { 0, 0 }, { 0, 0 } };

	setitimer(ITIMER_REAL, &off, NULL);
	signal(SIGALRM, SIG_DFL);
}

/* Exits 7 once the parent has caught ALARMS_TO_WAIT alarms. */
static int exit_7_when_released(void *arg)
{
	int *pipefd = arg;
	char c;

	close(pipefd[1]);
	return read(pipefd[0], &c, 1) == 1 ? 7 : 1;
}

static int die_by_sigkill(void *arg)
{
	(void)arg;
	raise(SIGKILL);
	return 0;
}

/*
 * The wait sleeps in poll(), which every caught signal interrupts: a wait
 * that took EINTR for the child's end, or for a failure, would return
 * early or fail the test while the child still runs.  The child outlives
 * ALARMS_TO_WAIT of them, however slowly a loaded machine delivers them.
 */
static void test_wait_outlasts_signals_caught_without_sa_restart(void **state)
{
	int pipefd[2], pid, status;

	(void)state;
	assert_int_equal(pipe(pipefd), 0);
	release_fd = pipefd[1];
	atomic_store(&alarms, 0);
	pid = fevtest_fork(exit_7_when_released, pipefd);
	close(pipefd[0]);
	alarm_every(2000);
	status = fevtest_wait(pid, 10000);
	alarm_stop();
	close(pipefd[1]);
	assert_int_equal(status, 7);
	assert_true(atomic_load(&alarms) >= ALARMS_TO_WAIT);
}

static void test_wait_returns_128_plus_the_signal_that_killed_the_child(
	void **state)
{
	(void)state;
	assert_int_equal(fevtest_wait(fevtest_fork(die_by_sigkill, NULL), 5000),
			 128 + SIGKILL);
}

/*
 * The fevd harness names its fabric with fevtest_instance()'s counter: a
 * test using both once had two fabrics of one name, each cleaning up the
 * other's segments.
 */
static void test_fevd_harness_never_reuses_an_instance_name(void **state)
{
	char inst[FEV_INSTANCE_MAX + 1];
	struct fh a, b;

	(void)state;
	fevtest_instance(inst);
	fh_init(&a);
	fh_init(&b);
	assert_string_not_equal(a.instance, inst);
	assert_string_not_equal(b.instance, inst);
	assert_string_not_equal(a.instance, b.instance);
	fh_cleanup(&a);
	fh_cleanup(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_wait_outlasts_signals_caught_without_sa_restart),
		cmocka_unit_test(
			test_wait_returns_128_plus_the_signal_that_killed_the_child),
		cmocka_unit_test(test_fevd_harness_never_reuses_an_instance_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
