/*
 * Adaptive spinning (wait.h, struct fev__spin): once four spins in a row
 * have ended in sleeps, each further one halves the budget, down to
 * spin_ns / 16; after sixteen in a row spinning stops but for a probe every
 * sixteenth wait, and a probe that pays resumes it; a spin the caller's own
 * deadline cut short changes nothing.  (What it buys
 * is measured in fev-bench, not here.)
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <cmocka.h>

#include "client.h"
#include "fevtest.h"
#include "wait.h"

#define SPIN_NS 160000u /* budget floor: 10,000 ns */

static int setup(void **state)
{
	return fevtest_setup(state, 60);
}

static fev_queue *open_spinning(const char *inst)
{
	fev_open_opts o = { .struct_size = sizeof(o), .instance = inst,
			    .spin_ns = SPIN_NS };
	fev_queue *q;

	assert_int_equal(fev_open("spin", FEV_CONSUMER, &o, &q), 0);
	return q;
}

static void test_spins_that_end_in_sleeps_shrink_to_the_floor(void **state)
{
	const char *inst = ((struct fevtest_ctx *)*state)->inst;
	fev_queue *q;
	uint64_t v;

	fevtest_create(inst, "spin", 4, 8, FEV_POLICY_BLOCK);
	q = open_spinning(inst);
	assert_int_equal(fev__queue_spin_budget(q), SPIN_NS);
	/* Nobody produces: every spin fails; from the fourth in a row on,
	 * each halves the budget. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(fev_recv(q, &v, sizeof(v), NULL,
					  2 * FEVTEST_MS),
				 -ETIMEDOUT);
	assert_int_equal(fev__queue_spin_budget(q), SPIN_NS);
	assert_int_equal(fev_recv(q, &v, sizeof(v), NULL, 2 * FEVTEST_MS),
			 -ETIMEDOUT);
	assert_int_equal(fev__queue_spin_budget(q), SPIN_NS / 2);
	for (int i = 0; i < 8; i++)
		assert_int_equal(fev_recv(q, &v, sizeof(v), NULL,
					  2 * FEVTEST_MS),
				 -ETIMEDOUT);
	assert_int_equal(fev__queue_spin_budget(q), SPIN_NS / 16);
	fev_close(q);
	fevtest_cleanup(inst);
}

/* Every spin fails: after FEV__SPIN_FAILS_TO_STOP in a row, none is made. */
static void test_sixteen_failed_spins_in_a_row_stop_spinning(void **state)
{
	const char *inst = ((struct fevtest_ctx *)*state)->inst;
	fev_queue *q;
	uint64_t v;

	fevtest_create(inst, "spin", 4, 8, FEV_POLICY_BLOCK);
	q = open_spinning(inst);
	for (int i = 0; i < FEV__SPIN_FAILS_TO_STOP - 1; i++)
		assert_int_equal(fev_recv(q, &v, sizeof(v), NULL,
					  2 * FEVTEST_MS),
				 -ETIMEDOUT);
	assert_int_equal(fev__queue_spin_budget(q), SPIN_NS / 16);
	assert_int_equal(fev_recv(q, &v, sizeof(v), NULL, 2 * FEVTEST_MS),
			 -ETIMEDOUT);
	assert_int_equal(fev__queue_spin_budget(q), 0);
	fev_close(q);
	fevtest_cleanup(inst);
}

struct feeder {
	fev_queue *p;
	_Atomic bool stop;
	pthread_t t;
};

/* Sends as fast as the queue takes them, until told to stop. */
static void *feeder_main(void *arg)
{
	struct feeder *f = arg;
	uint64_t v = 0;

	while (!atomic_load(&f->stop))
		(void)fev_send(f->p, &v, sizeof(v), 10 * FEVTEST_MS);
	return NULL;
}

/*
 * Once stopped, every FEV__SPIN_PROBE_EVERY-th wait still spins, for the
 * floor: with a producer running on the other CPU such a spin succeeds, and
 * spinning resumes (a budget twice the floor).
 */
static void test_a_probe_that_pays_resumes_spinning(void **state)
{
	const char *inst = ((struct fevtest_ctx *)*state)->inst;
	struct feeder f = { 0 };
	uint64_t give_up, v;
	fev_queue *q;

	fevtest_create(inst, "spin", 4, 8, FEV_POLICY_BLOCK);
	q = open_spinning(inst);
	for (int i = 0; i < FEV__SPIN_FAILS_TO_STOP; i++)
		assert_int_equal(fev_recv(q, &v, sizeof(v), NULL,
					  2 * FEVTEST_MS),
				 -ETIMEDOUT);
	assert_int_equal(fev__queue_spin_budget(q), 0);
	f.p = fevtest_open(inst, "spin", FEV_PRODUCER, 0);
	assert_int_equal(pthread_create(&f.t, NULL, feeder_main, &f), 0);
	give_up = fevtest_now_ns() + 10000 * FEVTEST_MS;
	while (fev__queue_spin_budget(q) == 0 && fevtest_now_ns() < give_up)
		assert_int_equal(fev_recv(q, &v, sizeof(v), NULL,
					  1000 * FEVTEST_MS),
				 sizeof(v));
	atomic_store(&f.stop, true);
	while (fev_recv(q, &v, sizeof(v), NULL, 0) > 0)
		; /* let a feeder blocked on a full queue finish */
	assert_int_equal(pthread_join(f.t, NULL), 0);
	assert_int_equal(fev__queue_spin_budget(q), 2 * (SPIN_NS / 16));
	fev_close(f.p);
	fev_close(q);
	fevtest_cleanup(inst);
}

static void test_a_spin_cut_by_the_deadline_changes_nothing(void **state)
{
	const char *inst = ((struct fevtest_ctx *)*state)->inst;
	fev_queue *q;
	uint64_t v;

	fevtest_create(inst, "spin", 4, 8, FEV_POLICY_BLOCK);
	q = open_spinning(inst);
	/* 1 us: the deadline ends the spin, not the budget. */
	assert_int_equal(fev_recv(q, &v, sizeof(v), NULL, 1000), -ETIMEDOUT);
	assert_int_equal(fev__queue_spin_budget(q), SPIN_NS);
	fev_close(q);
	fevtest_cleanup(inst);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, fevtest_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_spins_that_end_in_sleeps_shrink_to_the_floor),
		T(test_sixteen_failed_spins_in_a_row_stop_spinning),
		T(test_a_probe_that_pays_resumes_spinning),
		T(test_a_spin_cut_by_the_deadline_changes_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
