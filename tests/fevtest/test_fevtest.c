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

static atomic_int alarms;

static void count_alarm(int sig)
{
	(void)sig;
	atomic_fetch_add_explicit(&alarms, 1, memory_order_relaxed);
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

static int exit_7_after_300_ms(void *arg)
{
	(void)arg;
	fevtest_sleep_ms(300); /* interval timers are not inherited */
	return 7;
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
 * early or fail the test while the child still runs.
 */
static void test_wait_outlasts_signals_caught_without_sa_restart(void **state)
{
	int pid, status;

	(void)state;
	atomic_store(&alarms, 0);
	pid = fevtest_fork(exit_7_after_300_ms, NULL);
	alarm_every(2000);
	status = fevtest_wait(pid, 10000);
	alarm_stop();
	assert_int_equal(status, 7);
	/* The signals did arrive while it waited: the test tested something. */
	if (atomic_load(&alarms) < 10)
		fail_msg("only %d SIGALRMs during a 300 ms wait",
			 atomic_load(&alarms));
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
