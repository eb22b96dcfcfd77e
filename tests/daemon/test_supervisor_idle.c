/*
 * fevd's cost with many quiet queues (issue 9, item 13), with the real
 * fevd: what grows with the number of queues (listings of /dev/shm,
 * attacher tables read, as `ping` reports them) is not done by a create
 * or by an idle fevd, and an attach to a quiet queue is still seen and
 * its death repaired at once.  CPU use itself is measured, not asserted:
 * scripts/idle-cost.py.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "fev/fev.h"
#include "fevd_harness.h"

#define QUEUES 300

static int setup(void **state)
{
	static struct fh h;

	memset(&h, 0, sizeof(h));
	fh_init(&h);
	fh_write_config(&h, "", "");
	*state = &h;
	return 0;
}

static int teardown(void **state)
{
	struct fh *h = *state;

	fh_cleanup(h);
	if (fevtest_shm_count(h->instance) != 0)
		fail_msg("segments of %s left behind", h->instance);
	return 0;
}

/* The counter key= of fevd's ping reply. */
static unsigned long long pinged(struct fh *h, const char *key)
{
	char reply[512], want[64];
	const char *at;

	assert_int_equal(fh_request(h->sock, "ping", reply, sizeof(reply)), 0);
	snprintf(want, sizeof(want), " %s=", key);
	at = strstr(reply, want);
	if (at == NULL)
		fail_msg("no %s in the ping reply: %s", key, reply);
	return strtoull(at + strlen(want), NULL, 10);
}

static void create_queues(struct fh *h, int n)
{
	char req[64], reply[256];

	for (int i = 0; i < n; i++) {
		snprintf(req, sizeof(req), "create q%04d capacity=2", i);
		assert_int_equal(fh_request(h->sock, req, reply,
					    sizeof(reply)),
				 0);
	}
}

/* Item 2: a create lists nothing, so creating many stays fast. */
static void test_creates_do_not_list_dev_shm(void **state)
{
	struct fh *h = *state;
	unsigned long long before;

	fh_start(h);
	before = pinged(h, "listings");
	create_queues(h, QUEUES);
	/* One periodic listing may fall in (every 30 s); not one per create. */
	assert_true(pinged(h, "listings") - before <= 1);
}

/* Item 13: quiet queues' attacher tables are not read while idle. */
static void test_idle_fevd_reads_no_quiet_table(void **state)
{
	struct fh *h = *state;
	unsigned long long before;

	fh_start(h);
	create_queues(h, QUEUES);
	fevtest_sleep_ms(1500); /* the creates' opens cool down */
	before = pinged(h, "table_reads");
	fevtest_sleep_ms(2500);
	/* Reading each idle table every 100 ms was 7,500 reads here; a
	 * periodic read of everything (every 30 s) may fall in once. */
	assert_true(pinged(h, "table_reads") - before <= QUEUES);
}

static int attach_and_hold(void *arg)
{
	struct fh *h = arg;
	fev_open_opts o = { .struct_size = sizeof(o),
			    .instance = h->instance };
	fev_queue *q;
	fev_claim c;

	if (fev_open("q0007", FEV_PRODUCER, &o, &q) < 0 ||
	    fev_reserve(q, 8, &c, 0) < 0)
		return 1;
	pause(); /* SIGKILLed holding the reservation */
	return 0;
}

/* Seen although its queue was quiet: its death is repaired at once. */
static void test_attach_to_quiet_queue_is_watched_and_repaired(void **state)
{
	struct fh *h = *state;
	fev_stats st;
	pid_t pid;

	fh_start(h);
	create_queues(h, QUEUES);
	fevtest_sleep_ms(1500);
	pid = fevtest_fork(attach_and_hold, h);
	for (int i = 0; i < 500; i++) {
		assert_int_equal(fev_queue_stats("q0007", h->instance, &st), 0);
		if (st.producers == 1)
			break;
		fevtest_sleep_ms(10);
	}
	assert_int_equal(st.producers, 1);
	kill(pid, SIGKILL);
	fevtest_wait(pid, 5000);
	/* Repair comes from fevd's pidfd (or its first look), not from the
	 * periodic read of every table 30 s later. */
	assert_true(fh_log_has(h, "repaired queue 'q0007'", 3000));
	assert_int_equal(fev_queue_stats("q0007", h->instance, &st), 0);
	assert_int_equal(st.producers, 0);
	assert_int_equal(st.tombstoned, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_creates_do_not_list_dev_shm, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_idle_fevd_reads_no_quiet_table, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_attach_to_quiet_queue_is_watched_and_repaired,
			setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
