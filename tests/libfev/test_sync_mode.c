/*
 * Sync modes (fev.h FEV_SYNC_*, sync_mode.h): what a queue may be created
 * as, and one producer (consumer) at a time on a single side, across
 * close, death and repair.  A forked child attaches and dies by SIGKILL;
 * the test then repairs as fevd would (tests/daemon/test_sync_fevd.c
 * does it with the fevd binary).
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "fev/fev.h"
#include "fevtest.h"
#include "repair.h"
#include "segment.h"

#define SPSC (FEV_SYNC_SP | FEV_SYNC_SC)

static int setup(void **state)
{
	return fevtest_setup(state, 60);
}

static const char *inst_of(void **state)
{
	return ((struct fevtest_ctx *)*state)->inst;
}

static int create(const char *inst, uint32_t sync, int policy)
{
	fev_queue_config cfg = { .struct_size = sizeof(cfg),
				 .capacity = 8,
				 .max_event = 64,
				 .policy = policy,
				 .sync = sync };

	return fev_queue_create("q", &cfg, inst);
}

static int open_q(const char *inst, unsigned roles, fev_queue **q)
{
	fev_open_opts o = { .struct_size = sizeof(o), .instance = inst };

	return fev_open("q", roles, &o, q);
}

static uint32_t header_sync(const char *inst)
{
	struct fev__map m;
	uint32_t sync;

	assert_int_equal(fev__map_open(inst, "q", false, &m), 0);
	sync = m.geo.sync;
	fev__map_close(&m);
	return sync;
}

static void test_mode_is_kept_in_the_segment(void **state)
{
	const char *inst = inst_of(state);
	const uint32_t modes[] = { 0, FEV_SYNC_SP, FEV_SYNC_SC, SPSC };

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		assert_int_equal(create(inst, modes[i], FEV_POLICY_BLOCK), 0);
		assert_int_equal(header_sync(inst), modes[i]);
		assert_int_equal(fev_queue_delete("q", inst), 0);
	}
}

static void test_config_of_an_older_caller_is_multi(void **state)
{
	const char *inst = inst_of(state);
	fev_queue_config cfg = { .struct_size = offsetof(fev_queue_config,
							 sync),
				 .capacity = 8,
				 .max_event = 64,
				 .sync = SPSC }; /* past its struct_size */

	assert_int_equal(fev_queue_create("q", &cfg, inst), 0);
	assert_int_equal(header_sync(inst), 0);
	assert_int_equal(fev_queue_delete("q", inst), 0);
}

static void test_bad_combinations_are_refused_and_create_nothing(
	void **state)
{
	const char *inst = inst_of(state);
	fev_queue_config cfg = { .struct_size = sizeof(cfg),
				 .capacity = 8,
				 .max_event = 64,
				 .sync = FEV_SYNC_SP };
	fev_queue *q;

	assert_int_equal(create(inst, 0x4, FEV_POLICY_BLOCK), -EINVAL);
	assert_int_equal(create(inst, FEV_SYNC_SC, FEV_POLICY_DROP_OLDEST),
			 -EINVAL);
	assert_int_equal(create(inst, SPSC, FEV_POLICY_DROP_OLDEST), -EINVAL);
	assert_int_equal(fev_topic_create("q", 2, &cfg, inst), -ENOTSUP);
	assert_int_equal(fev_topic_create("q", 1, &cfg, inst), -ENOTSUP);
	assert_int_equal(open_q(inst, FEV_CONSUMER, &q), -ENOENT);
	/* A single producer may drop the oldest: consumers still CAS. */
	assert_int_equal(create(inst, FEV_SYNC_SP, FEV_POLICY_DROP_OLDEST), 0);
	assert_int_equal(fev_queue_delete("q", inst), 0);
}

static void test_second_producer_is_refused_until_the_first_closes(
	void **state)
{
	const char *inst = inst_of(state);
	fev_queue *a, *b, *c;
	fev_stats st;

	assert_int_equal(create(inst, FEV_SYNC_SP, FEV_POLICY_BLOCK), 0);
	assert_int_equal(open_q(inst, FEV_PRODUCER, &a), 0);
	assert_int_equal(open_q(inst, FEV_PRODUCER, &b), -EBUSY);
	assert_int_equal(open_q(inst, FEV_PRODUCER | FEV_CONSUMER, &b),
			 -EBUSY);
	/* Consumers are many here. */
	assert_int_equal(open_q(inst, FEV_CONSUMER, &b), 0);
	assert_int_equal(open_q(inst, FEV_CONSUMER, &c), 0);
	/* The refused opens left no record behind. */
	assert_int_equal(fev_queue_stats("q", inst, &st), 0);
	assert_int_equal(st.producers, 1);
	assert_int_equal(st.consumers, 2);
	fev_close(a);
	assert_int_equal(open_q(inst, FEV_PRODUCER, &a), 0);
	fev_close(a);
	fev_close(b);
	fev_close(c);
	assert_int_equal(fev_queue_delete("q", inst), 0);
}

static void test_second_consumer_is_refused_and_a_refused_pair_takes_nothing(
	void **state)
{
	const char *inst = inst_of(state);
	fev_queue *a, *b;

	assert_int_equal(create(inst, SPSC, FEV_POLICY_BLOCK), 0);
	assert_int_equal(open_q(inst, FEV_CONSUMER, &a), 0);
	/* Producer side free, consumer side taken: refused, and the
	 * producer side it took first is given back. */
	assert_int_equal(open_q(inst, FEV_PRODUCER | FEV_CONSUMER, &b),
			 -EBUSY);
	assert_int_equal(open_q(inst, FEV_PRODUCER, &b), 0);
	assert_int_equal(fev_send(b, "x", 1, 0), 0);
	fev_close(b);
	fev_close(a);
	assert_int_equal(open_q(inst, FEV_PRODUCER | FEV_CONSUMER, &a), 0);
	assert_int_equal(open_q(inst, FEV_CONSUMER, &b), -EBUSY);
	assert_int_equal(open_q(inst, FEV_PRODUCER, &b), -EBUSY);
	fev_close(a);
	assert_int_equal(fev_queue_delete("q", inst), 0);
}

/*
 * A child opens with roles, and dies by SIGKILL: attached, holding
 * three events of which it released the middle one, or with one slot
 * reserved (after sending `sends` events).
 */
enum death { DIE_ATTACHED, DIE_HOLDING_TWO_OF_THREE, DIE_RESERVED };

static void child_dies_after(const char *inst, unsigned roles,
			     enum death how, int sends)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		fev_queue *q;
		fev_event ev[3];
		fev_claim c;

		if (open_q(inst, roles, &q) < 0)
			_exit(2);
		for (int i = 0; i < sends; i++)
			if (fev_send(q, &i, sizeof(i), 0) < 0)
				_exit(6);
		if (how == DIE_HOLDING_TWO_OF_THREE &&
		    (fev_acquire_batch(q, ev, 3, 0) != 3 ||
		     fev_release(q, &ev[1]) < 0))
			_exit(3);
		if (how == DIE_RESERVED && fev_reserve(q, 8, &c, 0) < 0)
			_exit(4);
		raise(SIGKILL);
		_exit(5);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
}

static void child_dies(const char *inst, unsigned roles, enum death how)
{
	child_dies_after(inst, roles, how, 0);
}

/* Repair every dead record, as fevd's liveness scan does. */
static void repair_dead(const char *inst, struct fev__repair_result *r)
{
	struct fev__map m;
	uint32_t n = 0;

	assert_int_equal(fev__map_open(inst, "q", true, &m), 0);
	for (uint32_t i = 0; i < m.geo.attacher_max; i++) {
		struct fev__attacher *a = &m.attachers[i];

		if (atomic_load(&a->state) == FEV__ATT_ACTIVE &&
		    !fev__attacher_alive(a)) {
			assert_int_equal(fev__repair_attacher(&m, i, r), 0);
			n++;
		}
	}
	fev__map_close(&m);
	assert_int_equal(n, 1);
}

static void test_dead_producer_keeps_its_side_until_repaired(void **state)
{
	const char *inst = inst_of(state);
	struct fev__repair_result r = { 0 };
	fev_queue *q;

	assert_int_equal(create(inst, SPSC, FEV_POLICY_BLOCK), 0);
	child_dies(inst, FEV_PRODUCER, DIE_ATTACHED);
	/* Dead, not repaired: the side is still its (nothing it held may
	 * be lost to a new owner), and a live owner is never repaired. */
	assert_int_equal(open_q(inst, FEV_PRODUCER, &q), -EBUSY);
	repair_dead(inst, &r);
	assert_int_equal(open_q(inst, FEV_PRODUCER, &q), 0);
	assert_int_equal(fev_send(q, "x", 1, 0), 0);
	fev_close(q);
	assert_int_equal(fev_queue_delete("q", inst), 0);
}

static void test_dead_consumer_keeps_its_side_until_repaired(void **state)
{
	const char *inst = inst_of(state);
	struct fev__repair_result r = { 0 };
	fev_queue *q;

	assert_int_equal(create(inst, FEV_SYNC_SC, FEV_POLICY_BLOCK), 0);
	child_dies(inst, FEV_CONSUMER, DIE_ATTACHED);
	assert_int_equal(open_q(inst, FEV_CONSUMER, &q), -EBUSY);
	repair_dead(inst, &r);
	assert_int_equal(open_q(inst, FEV_CONSUMER, &q), 0);
	fev_close(q);
	assert_int_equal(fev_queue_delete("q", inst), 0);
}

static void send_ints(fev_queue *q, int from, int to)
{
	for (int i = from; i < to; i++)
		assert_int_equal(fev_send(q, &i, sizeof(i), 0), 0);
}

/* The next event is v, flagged or not. */
static void expect_event(fev_queue *q, int v, uint32_t flags)
{
	fev_meta m;
	int got = -1;

	assert_int_equal(fev_recv(q, &got, sizeof(got), &m, 0), sizeof(got));
	assert_int_equal(got, v);
	assert_int_equal(m.flags & FEV_REDELIVERED, flags);
}

static void dead_single_producer_mid_write(const char *inst, uint32_t sync)
{
	struct fev__repair_result r = { 0 };
	fev_queue *cons, *prod;
	fev_meta m;
	int v;

	assert_int_equal(create(inst, sync, FEV_POLICY_BLOCK), 0);
	assert_int_equal(open_q(inst, FEV_CONSUMER, &cons), 0);
	/* Three committed, the fourth taken and never written. */
	child_dies_after(inst, FEV_PRODUCER, DIE_RESERVED, 3);
	repair_dead(inst, &r);
	assert_int_equal(r.tombstoned, 1);
	assert_int_equal(open_q(inst, FEV_PRODUCER, &prod), 0);
	for (int i = 0; i < 3; i++)
		expect_event(cons, i, 0);
	send_ints(prod, 3, 10); /* seven more, round the ring of 8 */
	for (int i = 3; i < 10; i++)
		expect_event(cons, i, 0);
	assert_int_equal(fev_recv(cons, &v, sizeof(v), &m, 0), -EAGAIN);
	fev_close(prod);
	fev_close(cons);
	assert_int_equal(fev_queue_delete("q", inst), 0);
}

static void test_dead_single_producer_mid_write_loses_nothing(void **state)
{
	dead_single_producer_mid_write(inst_of(state), SPSC);
}

static void test_dead_single_producer_of_many_consumers_loses_nothing(
	void **state)
{
	dead_single_producer_mid_write(inst_of(state), FEV_SYNC_SP);
}

static void dead_single_consumer_holding(const char *inst, uint32_t sync)
{
	struct fev__repair_result r = { 0 };
	fev_queue *cons, *prod;
	fev_stats st;
	fev_meta m;
	int v;

	assert_int_equal(create(inst, sync, FEV_POLICY_BLOCK), 0);
	assert_int_equal(open_q(inst, FEV_PRODUCER, &prod), 0);
	send_ints(prod, 0, 8); /* full */
	/* It takes 0, 1, 2, releases 1 and dies holding 0 and 2. */
	child_dies(inst, FEV_CONSUMER, DIE_HOLDING_TWO_OF_THREE);
	assert_int_equal(fev_send(prod, &v, sizeof(v), 0), -EAGAIN);
	repair_dead(inst, &r);
	assert_int_equal(r.redelivered, 2);
	assert_int_equal(open_q(inst, FEV_CONSUMER, &cons), 0);
	/* Behind the cursor, in order, flagged; 1 was released: gone. */
	expect_event(cons, 0, FEV_REDELIVERED);
	expect_event(cons, 2, FEV_REDELIVERED);
	for (int i = 3; i < 8; i++)
		expect_event(cons, i, 0);
	assert_int_equal(fev_recv(cons, &v, sizeof(v), &m, 0), -EAGAIN);
	/* Every slot is free again: another lap flows. */
	send_ints(prod, 8, 16);
	for (int i = 8; i < 16; i++)
		expect_event(cons, i, 0);
	assert_int_equal(fev_queue_stats("q", inst, &st), 0);
	assert_int_equal(st.redelivered, 2);
	assert_int_equal(st.depth, 0);
	fev_close(prod);
	fev_close(cons);
	assert_int_equal(fev_queue_delete("q", inst), 0);
}

static void test_dead_single_consumer_events_come_back_behind_its_cursor(
	void **state)
{
	dead_single_consumer_holding(inst_of(state), SPSC);
}

static void test_dead_single_consumer_of_many_producers_too(void **state)
{
	dead_single_consumer_holding(inst_of(state), FEV_SYNC_SC);
}

static void test_forged_consumer_hold_of_a_dead_producer_moves_no_cursor(
	void **state)
{
	const char *inst = inst_of(state);
	struct fev__repair_result r = { 0 };
	struct fev__map m;
	fev_queue *cons, *prod;
	uint32_t dead = UINT32_MAX;
	fev_event held;

	assert_int_equal(create(inst, SPSC, FEV_POLICY_BLOCK), 0);
	assert_int_equal(open_q(inst, FEV_CONSUMER, &cons), 0);
	child_dies_after(inst, FEV_PRODUCER, DIE_ATTACHED, 4);
	assert_int_equal(fev_acquire(cons, &held, 0), 0); /* holds 0 */
	expect_event(cons, 1, 0);
	/* The dead producer's record claims it held consumer positions
	 * 0 .. 3: only the consumer side's owner may.  Its record is
	 * retired at once (not left pending on what the live consumer
	 * holds), and the live consumer's cursor stays. */
	assert_int_equal(fev__map_open(inst, "q", true, &m), 0);
	for (uint32_t i = 0; i < m.geo.attacher_max; i++)
		if (atomic_load(&m.attachers[i].state) == FEV__ATT_ACTIVE &&
		    !fev__attacher_alive(&m.attachers[i]))
			dead = i;
	assert_true(dead != UINT32_MAX);
	atomic_store(&m.attachers[dead].cons.pos, 0);
	atomic_store(&m.attachers[dead].cons.n, 4);
	fev__map_close(&m);
	repair_dead(inst, &r);
	assert_int_equal(r.redelivered, 0);
	expect_event(cons, 2, 0);
	expect_event(cons, 3, 0);
	assert_int_equal(fev_release(cons, &held), 0);
	assert_int_equal(open_q(inst, FEV_PRODUCER, &prod), 0);
	fev_close(prod);
	fev_close(cons);
	assert_int_equal(fev_queue_delete("q", inst), 0);
}

static void test_forged_sync_word_is_a_corrupt_segment(void **state)
{
	const char *inst = inst_of(state);
	const uint32_t forged[] = { 0x4, FEV_SYNC_SC };
	struct fev__map m;
	fev_queue *q;

	for (size_t i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
		/* drop-oldest: a single consumer cannot have it */
		assert_int_equal(create(inst, 0, FEV_POLICY_DROP_OLDEST), 0);
		assert_int_equal(fev__map_open(inst, "q", true, &m), 0);
		m.seg->hdr.sync = forged[i];
		fev__map_close(&m);
		assert_int_equal(open_q(inst, FEV_PRODUCER, &q), -EBADMSG);
		assert_int_equal(fev_queue_delete("q", inst), 0);
	}
}

static void test_forged_owner_word_refuses_without_reading_outside(
	void **state)
{
	const char *inst = inst_of(state);
	struct fev__map m;
	fev_queue *q;

	assert_int_equal(create(inst, SPSC, FEV_POLICY_BLOCK), 0);
	assert_int_equal(fev__map_open(inst, "q", true, &m), 0);
	atomic_store(&m.seg->state_line.sp_owner, UINT32_MAX);
	assert_int_equal(open_q(inst, FEV_PRODUCER, &q), -EBUSY);
	assert_int_equal(open_q(inst, FEV_CONSUMER, &q), 0);
	fev_close(q);
	fev__map_close(&m);
	assert_int_equal(fev_queue_delete("q", inst), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, fevtest_teardown)
		T(test_mode_is_kept_in_the_segment),
		T(test_config_of_an_older_caller_is_multi),
		T(test_bad_combinations_are_refused_and_create_nothing),
		T(test_second_producer_is_refused_until_the_first_closes),
		T(test_second_consumer_is_refused_and_a_refused_pair_takes_nothing),
		T(test_dead_producer_keeps_its_side_until_repaired),
		T(test_dead_consumer_keeps_its_side_until_repaired),
		T(test_forged_owner_word_refuses_without_reading_outside),
		T(test_forged_sync_word_is_a_corrupt_segment),
		T(test_dead_single_producer_mid_write_loses_nothing),
		T(test_dead_single_producer_of_many_consumers_loses_nothing),
		T(test_dead_single_consumer_events_come_back_behind_its_cursor),
		T(test_dead_single_consumer_of_many_producers_too),
		T(test_forged_consumer_hold_of_a_dead_producer_moves_no_cursor),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
