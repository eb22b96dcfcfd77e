/*
 * Adaptive spinning (client.c, spin_until_ready()): once four spins in a
 * row have ended in sleeps, each further one halves the budget, down to
 * spin_ns / 16 and no lower; a spin the caller's own deadline cut short
 * changes nothing.  (What it buys
 * is measured in fev-bench, not here.)
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "client.h"
#include "fevtest.h"

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
		T(test_a_spin_cut_by_the_deadline_changes_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
