/*
 * fev-otel's follower (connectors/otel/src/follow.c) against a real hop
 * ring written by a hostile writer's mapping: each hop is handed to the
 * sink once, only after it settled; overwritten and torn hops are counted
 * missed; a forged ticket counter, back or far ahead, neither crashes it
 * nor replays what it exported.  Times are given, not slept.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "fevtest.h"
#include "follow.h"
#include "hops.h"
#include "sink.h"

#define ENTRIES 8u
#define T0 (1000ull * 1000 * 1000)

struct fx {
	char inst[FEV_INSTANCE_MAX + 1];
	struct fev__hops w; /* the writer's mapping */
	struct fot_ring r;
	struct fot_sink s;
};

static int setup(void **state)
{
	static struct fx x;
	fev_queue_config c = { .struct_size = sizeof(c), .capacity = 4,
			       .max_event = 256, .trace_hops = ENTRIES };

	fevtest_instance(x.inst);
	assert_int_equal(fev_topic_create("t", 1, &c, x.inst), 0);
	assert_int_equal(fev__hops_open(x.inst, "t", true, &x.w), 0);
	assert_int_equal(fot_ring_open(&x.r, x.inst, "t", false, 0, 0, true,
				       T0),
			 0);
	assert_int_equal(fot_sink_init(&x.s, 64, T0), 0);
	*state = &x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;

	fot_sink_free(&x->s);
	fot_ring_close(&x->r);
	fev__hops_close(&x->w);
	assert_int_equal(fev_topic_delete("t", x->inst), 0);
	fevtest_assert_no_leftovers(x->inst);
	return 0;
}

static void publish(struct fx *x, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		struct fev__hop e = { .kind = FEV__HOP_PUBLISHED,
				      .position = i, .pid = 1 };

		e.trace_id[0] = 1;
		e.span_id[0] = (uint8_t)(i + 1);
		fev__hops_write(&x->w, &e);
	}
}

/* Polls one settle period apart, from t: the last poll's time. */
static uint64_t poll_settled(struct fx *x, uint64_t t, uint64_t *missed)
{
	*missed = 0;
	for (int i = 0; i < 2; i++) {
		t += FOT_SETTLE_NS;
		*missed += fot_ring_poll(&x->r, &x->s, t);
	}
	return t;
}

static void test_a_hop_is_handed_over_once_after_it_settled(void **state)
{
	struct fx *x = *state;
	uint64_t missed, t;

	publish(x, 3);
	assert_int_equal(fot_ring_poll(&x->r, &x->s, T0), 0);
	assert_int_equal(x->s.n, 0); /* written just now: not settled */
	t = poll_settled(x, T0, &missed);
	assert_int_equal(missed, 0);
	assert_int_equal(x->s.n, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(x->s.batch[i].op, FEVOTLP_SEND);
		assert_int_equal(x->s.batch[i].position, i);
	}
	poll_settled(x, t, &missed);
	assert_int_equal(x->s.n, 3); /* once */
}

static void test_overwritten_and_torn_hops_are_counted_missed(void **state)
{
	struct fx *x = *state;
	uint64_t missed;

	publish(x, 2 * ENTRIES + 4); /* tickets 0 .. 19; 12 .. 19 kept */
	x->w.hop[13 % ENTRIES].position ^= 1; /* ticket 13 torn */
	poll_settled(x, T0, &missed);
	assert_int_equal(missed, ENTRIES + 4 + 1);
	assert_int_equal(x->r.missed, missed);
	assert_int_equal(x->s.n, ENTRIES - 1);
	assert_int_equal(x->s.batch[0].position, 12);
	assert_int_equal(x->s.batch[1].position, 14);
}

static void test_a_forged_counter_neither_crashes_nor_replays(void **state)
{
	struct fx *x = *state;
	uint64_t missed, t;

	publish(x, 4);
	t = poll_settled(x, T0, &missed);
	assert_int_equal(x->s.n, 4);
	/* Back to 1: followed from there, nothing exported again. */
	atomic_store(&x->w.hdr->ticket, 1);
	t = poll_settled(x, t, &missed);
	assert_int_equal(x->s.n, 4);
	assert_int_equal(x->r.next, 1);
	/* Far ahead: at most a lap is looked at, the rest is missed, and no
	 * entry (they hold tickets 0 .. 3) passes for a ticket up there. */
	atomic_store(&x->w.hdr->ticket, UINT64_MAX - 1);
	t = poll_settled(x, t, &missed);
	poll_settled(x, t, &missed);
	assert_int_equal(x->s.n, 4);
	assert_int_equal(x->r.next, UINT64_MAX - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_a_hop_is_handed_over_once_after_it_settled, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_overwritten_and_torn_hops_are_counted_missed,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_a_forged_counter_neither_crashes_nor_replays,
			setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
