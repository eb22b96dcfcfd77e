/*
 * Single-producer / single-consumer queues (sync_mode.h) with the real
 * fevd: the config keys, a second producer refused while the first lives,
 * also across a fevd restart, and a dead owner's side given back by
 * fevd's repair, with what it held repaired first.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "fev/fev.h"
#include "fevd_harness.h"
#include "segment.h"

#define SEC (INT64_C(1000000000))

static int setup(void **state)
{
	return fh_setup_with_queues(state,
				    "[queue q]\ncapacity = 16\nmax_event = 64\n"
				    "producers = single\nconsumers = single\n");
}

/* Not in setup: a failing setup skips the teardown that cleans up. */
static struct fh_ctx *begin(void **state)
{
	struct fh_ctx *c = *state;

	fh_start(&c->h);
	return c;
}

static int teardown(void **state)
{
	return fh_teardown(state);
}

/* A child that opens with roles, sends `sends` events, reserves one
 * (producer) or acquires `take` (consumer), then waits to die. */
struct holder {
	struct fh_ctx *c;
	unsigned roles;
	int sends, take;
};

static int hold(void *arg)
{
	struct holder *hd = arg;
	fev_queue *q;
	fev_claim cl;
	fev_event ev;

	if (fev_open("q", hd->roles, &hd->c->o, &q) < 0)
		return 1;
	for (int i = 0; i < hd->sends; i++)
		if (fev_send(q, &i, sizeof(i), SEC) < 0)
			return 2;
	if ((hd->roles & FEV_PRODUCER) && fev_reserve(q, 8, &cl, SEC) < 0)
		return 3;
	for (int i = 0; i < hd->take; i++)
		if (fev_acquire(q, &ev, SEC) < 0)
			return 4;
	fevtest_ready();
	for (;;)
		pause();
}

static pid_t start_holder(struct fh_ctx *c, unsigned roles, int sends,
			  int take)
{
	struct holder hd = {
		.c = c, .roles = roles, .sends = sends, .take = take
	};

	return fevtest_fork_ready(hold, &hd);
}

/* Open with roles once fevd has given the side back (within 3 s). */
static fev_queue *open_when_free(struct fh_ctx *c, unsigned roles)
{
	fev_queue *q = NULL;
	int rc = -EBUSY;

	for (int i = 0; i < 300 && rc == -EBUSY; i++) {
		rc = fev_open("q", roles, &c->o, &q);
		if (rc == -EBUSY)
			usleep(10000);
	}
	if (rc != 0)
		fail_msg("open after the owner died: %s", fev_strerror(rc));
	return q;
}

static void test_config_keys_make_a_single_producer_single_consumer_queue(
	void **state)
{
	struct fh_ctx *c = begin(state);
	struct fev__map m;

	assert_int_equal(fev__map_open(c->h.instance, "q", false, &m), 0);
	assert_int_equal(m.geo.sync, FEV_SYNC_SP | FEV_SYNC_SC);
	fev__map_close(&m);
}

static void test_second_producer_is_refused_across_a_fevd_restart(
	void **state)
{
	struct fh_ctx *c = begin(state);
	pid_t pid = start_holder(c, FEV_PRODUCER, 0, 0);
	fev_queue *q;

	assert_int_equal(fev_open("q", FEV_PRODUCER, &c->o, &q), -EBUSY);
	fh_stop(&c->h);
	assert_int_equal(fev_open("q", FEV_PRODUCER, &c->o, &q), -EBUSY);
	fh_start(&c->h);
	/* fevd's first scans leave the live owner alone. */
	usleep(200000);
	assert_int_equal(fev_open("q", FEV_PRODUCER, &c->o, &q), -EBUSY);
	fevtest_kill_and_reap(pid);
	q = open_when_free(c, FEV_PRODUCER);
	assert_true(fh_log_has(&c->h, "repaired queue 'q'", 2000));
	fev_close(q);
}

static void test_dead_single_producer_is_replaced_and_nothing_is_lost(
	void **state)
{
	struct fh_ctx *c = begin(state);
	/* Three events committed, a fourth reserved and never written. */
	pid_t pid = start_holder(c, FEV_PRODUCER, 3, 0);
	fev_queue *cons = open_when_free(c, FEV_CONSUMER), *prod;
	fev_meta m;
	int v = -1;

	fevtest_kill_and_reap(pid);
	prod = open_when_free(c, FEV_PRODUCER);
	v = 3;
	assert_int_equal(fev_send(prod, &v, sizeof(v), SEC), 0);
	for (int i = 0; i <= 3; i++) {
		assert_int_equal(fev_recv(cons, &v, sizeof(v), &m, 2 * SEC),
				 sizeof(v));
		assert_int_equal(v, i);
		assert_int_equal(m.flags & FEV_REDELIVERED, 0);
	}
	assert_int_equal(fev_recv(cons, &v, sizeof(v), &m, 0), -EAGAIN);
	fev_close(prod);
	fev_close(cons);
}

static void test_dead_single_consumer_events_are_redelivered_flagged(
	void **state)
{
	struct fh_ctx *c = begin(state);
	fev_queue *prod = open_when_free(c, FEV_PRODUCER), *cons;
	pid_t pid;
	fev_meta m;
	int v;

	for (int i = 0; i < 5; i++)
		assert_int_equal(fev_send(prod, &i, sizeof(i), SEC), 0);
	/* It holds events 0 and 1; 2 .. 4 were never taken. */
	pid = start_holder(c, FEV_CONSUMER, 0, 2);
	fevtest_kill_and_reap(pid);
	cons = open_when_free(c, FEV_CONSUMER);
	/* Behind the cursor: in order, the held ones flagged. */
	for (int i = 0; i < 5; i++) {
		assert_int_equal(fev_recv(cons, &v, sizeof(v), &m, 2 * SEC),
				 sizeof(v));
		assert_int_equal(v, i);
		assert_int_equal(m.flags & FEV_REDELIVERED,
				 i < 2 ? FEV_REDELIVERED : 0);
	}
	assert_int_equal(fev_recv(cons, &v, sizeof(v), &m, 0), -EAGAIN);
	fev_close(prod);
	fev_close(cons);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_config_keys_make_a_single_producer_single_consumer_queue),
		T(test_second_producer_is_refused_across_a_fevd_restart),
		T(test_dead_single_producer_is_replaced_and_nothing_is_lost),
		T(test_dead_single_consumer_events_are_redelivered_flagged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
