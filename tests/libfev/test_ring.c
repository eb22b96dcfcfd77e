/*
 * The ring algorithm alone, in one process, on plain memory: no segment, no
 * syscall.  Proves FIFO order over many laps, batches across the wrap, the
 * full and empty edges, zero-length events and the hold record bookkeeping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fevtest.h"
#include "ring.h"

#define SLOT_SIZE 64u
#define PAYLOAD_MAX (SLOT_SIZE - sizeof(struct fev__slot))

struct fixture {
	struct fev__cursor *cursors; /* [0] head, [1] tail */
	uint8_t *slots;
	struct fev__ring ring;
	struct fev__holdrec claims[2];
	struct fev__holder prod, cons;
};

static struct fixture *fixture_new(uint32_t capacity)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->cursors = aligned_alloc(FEV__LINE, 2 * sizeof(struct fev__cursor));
	f->slots = aligned_alloc(FEV__LINE, (size_t)capacity * SLOT_SIZE);
	assert_non_null(f->cursors);
	assert_non_null(f->slots);
	memset(f->slots, 0xa5, (size_t)capacity * SLOT_SIZE);
	f->ring = (struct fev__ring){
		.head = &f->cursors[0],
		.tail = &f->cursors[1],
		.slots = f->slots,
		.mask = capacity - 1,
		.capacity = capacity,
		.slot_size = SLOT_SIZE,
	};
	fev__ring_format(&f->ring);
	f->prod.rec = &f->claims[0];
	f->cons.rec = &f->claims[1];
	return f;
}

static void fixture_free(struct fixture *f)
{
	fev__holder_free(&f->prod);
	fev__holder_free(&f->cons);
	free(f->cursors);
	free(f->slots);
	free(f);
}

/* Start both cursors at base instead of 0, as if base events had passed. */
static void fixture_rebase(struct fixture *f, uint64_t base)
{
	for (uint64_t p = base; p < base + f->ring.capacity; p++)
		atomic_store(&fev__ring_slot(&f->ring, p)->seq, p);
	atomic_store(&f->ring.head->pos, base);
	atomic_store(&f->ring.tail->pos, base);
}

static void put_value(struct fixture *f, uint64_t pos, uint64_t v)
{
	memcpy(fev__slot_payload(fev__ring_slot(&f->ring, pos)), &v, sizeof(v));
	fev__ring_commit(&f->ring, pos, sizeof(v), 0, 7, v);
}

static uint64_t get_value(struct fixture *f, uint64_t pos)
{
	struct fev__slot *s = fev__ring_slot(&f->ring, pos);
	uint64_t v;

	assert_int_equal(s->len, sizeof(v));
	assert_int_equal(s->attacher, 7);
	memcpy(&v, fev__slot_payload(s), sizeof(v));
	assert_int_equal(s->ts_ns, v);
	return v;
}

/* Push one value; false when the ring is full. */
static bool push(struct fixture *f, uint64_t v)
{
	uint64_t pos = 0;

	if (fev__ring_reserve(&f->ring, &f->prod, 1, &pos) == 0)
		return false;
	put_value(f, pos, v);
	fev__holder_done(&f->prod, pos, 1);
	return true;
}

/* Pop one value; false when the ring is empty. */
static bool pop(struct fixture *f, uint64_t *v)
{
	uint64_t pos = 0;

	if (fev__ring_acquire(&f->ring, &f->cons, 1, &pos) == 0)
		return false;
	*v = get_value(f, pos);
	fev__ring_release(&f->ring, pos);
	fev__holder_done(&f->cons, pos, 1);
	return true;
}

static void test_ring_keeps_fifo_order_over_many_laps(void **state)
{
	struct fixture *f = fixture_new(8);
	uint64_t rng = 42, next_in = 0, next_out = 0;

	(void)state;
	/* Random fill levels, so every slot is full and empty at every lap. */
	while (next_out < 100000) {
		unsigned n = (unsigned)(fevtest_rand(&rng) % 10);

		for (unsigned i = 0; i < n && push(f, next_in); i++)
			next_in++;
		n = (unsigned)(fevtest_rand(&rng) % 10);
		for (unsigned i = 0; i < n; i++) {
			uint64_t v;

			if (!pop(f, &v))
				break;
			assert_int_equal(v, next_out);
			next_out++;
		}
		assert_true(next_in - next_out <= 8);
		assert_int_equal(fev__ring_depth(&f->ring), next_in - next_out);
	}
	assert_true(atomic_load(&f->ring.head->pos) > 100000 / 8 * 8);
	fixture_free(f);
}

static void test_ring_reserve_fails_when_full_and_acquire_when_empty(
	void **state)
{
	struct fixture *f = fixture_new(4);
	uint64_t v = 0, pos = 0;

	(void)state;
	assert_false(pop(f, &v));
	for (uint64_t i = 0; i < 4; i++)
		assert_true(push(f, i));
	assert_false(push(f, 99));
	assert_int_equal(fev__ring_depth(&f->ring), 4);
	/* A refused reserve leaves no hold record behind. */
	assert_int_equal(atomic_load(&f->prod.rec->n), 0);
	assert_false(fev__ring_can_take(&f->ring, f->ring.head, 0));
	assert_true(fev__ring_can_take(&f->ring, f->ring.tail, 1));

	/* A slot acquired but not yet released is still not free. */
	assert_int_equal(fev__ring_acquire(&f->ring, &f->cons, 1, &pos), 1);
	assert_int_equal(pos, 0);
	assert_false(push(f, 99));
	fev__ring_release(&f->ring, pos);
	fev__holder_done(&f->cons, pos, 1);
	assert_true(push(f, 4));
	for (uint64_t i = 1; i <= 4; i++) {
		assert_true(pop(f, &v));
		assert_int_equal(v, i);
	}
	assert_false(pop(f, &v));
	assert_false(fev__ring_can_take(&f->ring, f->ring.tail, 1));
	assert_int_equal(atomic_load(&f->cons.rec->n), 0);
	fixture_free(f);
}

static void test_ring_hides_a_reserved_slot_until_it_is_committed(
	void **state)
{
	struct fixture *f = fixture_new(8);
	uint64_t a = 0, b = 0, pos = 0;

	(void)state;
	assert_int_equal(fev__ring_reserve(&f->ring, &f->prod, 1, &a), 1);
	assert_int_equal(fev__ring_reserve(&f->ring, &f->prod, 1, &b), 1);
	assert_int_equal(b, a + 1);
	/* The hold record names both positions while either is held. */
	assert_int_equal(atomic_load(&f->prod.rec->pos), a);
	assert_int_equal(atomic_load(&f->prod.rec->n), 2);

	put_value(f, b, 11);
	fev__holder_done(&f->prod, b, 1);
	assert_int_equal(atomic_load(&f->prod.rec->n), 1);
	/* FIFO: the later commit waits behind the earlier reservation. */
	assert_int_equal(fev__ring_acquire(&f->ring, &f->cons, 2, &pos), 0);
	assert_int_equal(atomic_load(&f->cons.rec->n), 0);

	put_value(f, a, 10);
	fev__holder_done(&f->prod, a, 1);
	assert_int_equal(atomic_load(&f->prod.rec->n), 0);
	assert_int_equal(fev__ring_acquire(&f->ring, &f->cons, 8, &pos), 2);
	assert_int_equal(pos, a);
	assert_int_equal(atomic_load(&f->cons.rec->pos), a);
	assert_int_equal(atomic_load(&f->cons.rec->n), 2);
	assert_int_equal(get_value(f, a), 10);
	assert_int_equal(get_value(f, b), 11);
	fev__ring_release(&f->ring, a);
	fev__ring_release(&f->ring, b);
	fev__holder_done(&f->cons, a, 1);
	fev__holder_done(&f->cons, b, 1);
	assert_int_equal(atomic_load(&f->cons.rec->n), 0);
	fixture_free(f);
}

static void test_ring_batches_span_the_wrap_in_one_take(void **state)
{
	struct fixture *f = fixture_new(8);
	uint64_t pos = 0, v = 0;

	(void)state;
	/* Move both cursors to 5: a batch of 6 covers slots 5,6,7,0,1,2. */
	for (uint64_t i = 0; i < 5; i++) {
		assert_true(push(f, i));
		assert_true(pop(f, &v));
	}
	assert_int_equal(fev__ring_reserve(&f->ring, &f->prod, 6, &pos), 6);
	assert_int_equal(pos, 5);
	assert_int_equal(atomic_load(&f->prod.rec->n), 6);
	for (uint64_t i = 0; i < 6; i++)
		put_value(f, pos + i, 100 + i);
	fev__holder_done(&f->prod, pos, 6);

	/* A batch larger than the free room takes only what is free. */
	assert_int_equal(fev__ring_reserve(&f->ring, &f->prod, 8, &pos), 2);
	assert_int_equal(pos, 11);
	put_value(f, 11, 106);
	put_value(f, 12, 107);
	fev__holder_done(&f->prod, 11, 2);
	assert_int_equal(fev__ring_reserve(&f->ring, &f->prod, 8, &pos), 0);

	/* A consumer batch larger than what is there takes what is there. */
	assert_int_equal(fev__ring_acquire(&f->ring, &f->cons, 100, &pos), 8);
	assert_int_equal(pos, 5);
	for (uint64_t i = 0; i < 8; i++) {
		assert_int_equal(get_value(f, pos + i), 100 + i);
		fev__ring_release(&f->ring, pos + i);
	}
	fev__holder_done(&f->cons, pos, 8);
	assert_int_equal(fev__ring_acquire(&f->ring, &f->cons, 4, &pos), 0);
	assert_int_equal(fev__ring_depth(&f->ring), 0);
	fixture_free(f);
}

static void test_ring_batch_stops_at_the_first_uncommitted_slot(
	void **state)
{
	struct fixture *f = fixture_new(8);
	uint64_t pos = 0, p2 = 0;

	(void)state;
	assert_int_equal(fev__ring_reserve(&f->ring, &f->prod, 3, &pos), 3);
	assert_int_equal(fev__ring_reserve(&f->ring, &f->prod, 1, &p2), 1);
	assert_int_equal(p2, 3);
	put_value(f, 0, 0);
	put_value(f, 1, 1);
	put_value(f, 3, 3); /* 2 stays reserved */
	assert_int_equal(fev__ring_acquire(&f->ring, &f->cons, 8, &pos), 2);
	assert_int_equal(pos, 0);
	fixture_free(f);
}

static void test_ring_carries_zero_length_events(void **state)
{
	struct fixture *f = fixture_new(4);
	uint64_t pos = 0;

	(void)state;
	for (int lap = 0; lap < 10; lap++) {
		for (int i = 0; i < 4; i++) {
			assert_int_equal(
				fev__ring_reserve(&f->ring, &f->prod, 1, &pos),
				1);
			fev__ring_commit(&f->ring, pos, 0, 0, 0, 0);
			fev__holder_done(&f->prod, pos, 1);
		}
		for (int i = 0; i < 4; i++) {
			assert_int_equal(
				fev__ring_acquire(&f->ring, &f->cons, 1, &pos),
				1);
			assert_int_equal(fev__ring_slot(&f->ring, pos)->len, 0);
			fev__ring_release(&f->ring, pos);
			fev__holder_done(&f->cons, pos, 1);
		}
	}
	fixture_free(f);
}

static void test_ring_positions_cross_the_32_bit_boundary(void **state)
{
	struct fixture *f = fixture_new(16);
	uint64_t base = UINT64_C(0xFFFFFFFF) - 20, next_out = 0, v = 0;

	(void)state;
	fixture_rebase(f, base);
	for (uint64_t i = 0; i < 64; i++) {
		assert_true(push(f, i));
		if (fev__ring_depth(&f->ring) >= 13)
			for (int k = 0; k < 5; k++) {
				assert_true(pop(f, &v));
				assert_int_equal(v, next_out++);
			}
	}
	while (pop(f, &v))
		assert_int_equal(v, next_out++);
	assert_int_equal(next_out, 64);
	assert_int_equal(atomic_load(&f->ring.tail->pos), base + 64);
	fixture_free(f);
}

static void test_ring_stale_cursor_hint_catches_up(void **state)
{
	struct fixture *f = fixture_new(8);
	struct fev__holdrec other_rec = { 0 };
	struct fev__holder other = { .rec = &other_rec };
	uint64_t pos = 0;

	(void)state;
	/* Another producer took 0 and 1: our reserve must land on 2. */
	assert_int_equal(fev__ring_reserve(&f->ring, &other, 2, &pos), 2);
	assert_int_equal(fev__ring_reserve(&f->ring, &f->prod, 1, &pos), 1);
	assert_int_equal(pos, 2);
	/* Holders are independent: each names only its own positions. */
	assert_int_equal(atomic_load(&other_rec.pos), 0);
	assert_int_equal(atomic_load(&other_rec.n), 2);
	assert_int_equal(atomic_load(&f->prod.rec->pos), 2);
	assert_int_equal(atomic_load(&f->prod.rec->n), 1);
	fixture_free(f);
}

static void test_ring_refuses_to_spin_on_a_forged_slot_sequence(void **state)
{
	struct fixture *f = fixture_new(8);
	uint64_t pos = 0, v = 0;

	(void)state;
	assert_true(push(f, 1));
	/* A sequence from a lap the cursors have not reached: no legitimate
	 * taker writes it without first moving the cursor. */
	atomic_store(&fev__ring_slot(&f->ring, 0)->seq, 0 + 1 + 8 * 3);
	assert_false(pop(f, &v));
	assert_false(fev__ring_can_take(&f->ring, f->ring.tail, 1));
	assert_int_equal(atomic_load(&f->cons.rec->n), 0);
	atomic_store(&fev__ring_slot(&f->ring, 1)->seq, 1 + 8 * 5);
	assert_int_equal(fev__ring_reserve(&f->ring, &f->prod, 1, &pos), 0);
	assert_false(fev__ring_can_take(&f->ring, f->ring.head, 0));
	assert_int_equal(atomic_load(&f->prod.rec->n), 0);
	fixture_free(f);
}

/* A consumer that always holds one event (acquire the next, then release
 * the last) must not keep naming positions it gave back: a dead peer's
 * position inside that range could never be repaired. */
static void test_hold_follows_the_lowest_position_still_held(void **state)
{
	struct fixture *f = fixture_new(8);
	/* 0, not unset: gcc -O3 cannot see that the asserts below stop the
	 * test when acquire fails, and warns (maybe-uninitialized). */
	uint64_t pos = 0, prev = 0;

	(void)state;
	for (uint64_t i = 0; i < 8; i++)
		assert_true(push(f, i));
	for (uint64_t i = 0; i < 6; i++) {
		assert_int_equal(fev__ring_acquire(&f->ring, &f->cons, 1, &pos),
				 1);
		if (i > 0) {
			fev__ring_release(&f->ring, prev);
			fev__holder_done(&f->cons, prev, 1);
		}
		assert_int_equal(atomic_load(&f->cons.rec->pos), pos);
		assert_int_equal(atomic_load(&f->cons.rec->n), 1);
		assert_true(fev__holder_holds(&f->cons, pos));
		assert_false(fev__holder_holds(&f->cons, prev + (i == 0)));
		prev = pos;
	}
	/* Out of order: the low end waits for the lowest to go. */
	assert_int_equal(fev__ring_acquire(&f->ring, &f->cons, 2, &pos), 2);
	fev__ring_release(&f->ring, pos + 1);
	fev__holder_done(&f->cons, pos + 1, 1);
	assert_int_equal(atomic_load(&f->cons.rec->pos), prev);
	fev__ring_release(&f->ring, prev);
	fev__holder_done(&f->cons, prev, 1);
	assert_int_equal(atomic_load(&f->cons.rec->pos), pos);
	assert_false(fev__holder_holds(&f->cons, pos + 1));
	fev__ring_release(&f->ring, pos);
	fev__holder_done(&f->cons, pos, 1);
	assert_int_equal(atomic_load(&f->cons.rec->n), 0);
	fixture_free(f);
}

/* The hold record names exactly [lo, lo + n). */
static void assert_holdrec(const struct fev__holder *h, uint64_t lo, uint32_t n)
{
	assert_int_equal(atomic_load(&h->rec->n), n);
	if (n != 0)
		assert_int_equal(atomic_load(&h->rec->pos), lo);
}

/*
 * A consumer that once held more than 64 positions (a batch of 70) and
 * then always holds one event while acquiring the next: its hold record follows
 * the lowest position held, lap after lap, instead of naming everything
 * since it went wide.
 */
static void test_hold_narrows_again_after_a_batch_wider_than_64(
	void **state)
{
	struct fixture *f = fixture_new(128);
	uint64_t pos, held, v, in = 0, out = 0;

	(void)state;
	while (push(f, in))
		in++;
	assert_int_equal(fev__ring_acquire(&f->ring, &f->cons, 70, &pos), 70);
	assert_holdrec(&f->cons, 0, 70);
	for (uint64_t p = 0; p < 69; p++) {
		assert_int_equal(get_value(f, p), out++);
		fev__ring_release(&f->ring, p);
		fev__holder_done(&f->cons, p, 1);
	}
	held = 69;
	assert_holdrec(&f->cons, held, 1);
	while (out < 5 * 128) {
		assert_true(push(f, in++));
		assert_int_equal(fev__ring_acquire(&f->ring, &f->cons, 1, &pos),
				 1);
		assert_holdrec(&f->cons, held, 2);
		v = get_value(f, held);
		assert_int_equal(v, out++);
		fev__ring_release(&f->ring, held);
		fev__holder_done(&f->cons, held, 1);
		held = pos;
		assert_holdrec(&f->cons, held, 1);
		assert_true(fev__holder_holds(&f->cons, held));
		assert_false(fev__holder_holds(&f->cons, held - 1));
	}
	fixture_free(f);
}

/*
 * Holders know exactly what they hold: another holder's position inside
 * our span, or one past its end, is not ours (commit/release of it is
 * -EINVAL in client.c).
 */
static void test_holder_holds_exactly_what_it_took(void **state)
{
	struct fixture *f = fixture_new(128);
	struct fev__holdrec other_rec = { 0 };
	struct fev__holder other = { .rec = &other_rec };
	uint64_t pos;

	(void)state;
	assert_int_equal(fev__ring_reserve(&f->ring, &f->prod, 1, &pos), 1);
	assert_int_equal(fev__ring_reserve(&f->ring, &other, 1, &pos), 1);
	assert_int_equal(pos, 1);
	assert_int_equal(fev__ring_reserve(&f->ring, &f->prod, 70, &pos), 70);
	assert_holdrec(&f->prod, 0, 72);
	assert_true(fev__holder_holds(&f->prod, 0));
	assert_false(fev__holder_holds(&f->prod, 1));
	for (uint64_t p = 2; p < 72; p++)
		assert_true(fev__holder_holds(&f->prod, p));
	assert_false(fev__holder_holds(&f->prod, 72));
	assert_int_equal(f->prod.held, 71);

	/* Give back the middle first: the ends still bound the claim. */
	fev__holder_done(&f->prod, 2, 69);
	assert_holdrec(&f->prod, 0, 72);
	assert_false(fev__holder_holds(&f->prod, 40));
	fev__holder_done(&f->prod, 0, 1);
	assert_holdrec(&f->prod, 71, 1);
	fev__holder_done(&f->prod, 71, 1);
	assert_holdrec(&f->prod, 0, 0);
	assert_int_equal(f->prod.held, 0);
	fixture_free(f);
}

/*
 * Positions 2^32 apart (a held position, and one taken 2^32 positions
 * later) still give a hold record that covers both: the length does not wrap to
 * a short range that would leave a held position unnamed.  And a holder
 * across the 2^64 wrap of positions still finds what it holds.
 */
static void test_hold_covers_positions_2_to_the_32_apart(void **state)
{
	struct fev__holdrec rec = { 0 };
	struct fev__holder h = { .rec = &rec };
	uint64_t base = UINT64_C(0x1234), far = base + (UINT64_C(1) << 32) + 5;

	(void)state;
	fev__holder_intent(&h, base, 70);
	fev__holder_took(&h, base, 70);
	fev__holder_done(&h, base, 69);
	assert_holdrec(&h, base + 69, 1);
	fev__holder_intent(&h, far, 1);
	fev__holder_took(&h, far, 1);
	/* [base + 69, far + 1) is longer than 32 bits can say: saturated,
	 * and it still reaches past far. */
	assert_int_equal(atomic_load(&rec.pos), base + 69);
	assert_true(atomic_load(&rec.pos) + atomic_load(&rec.n) > far);
	assert_true(fev__holder_holds(&h, far));
	assert_false(fev__holder_holds(&h, far - 1));
	fev__holder_done(&h, base + 69, 1);
	assert_holdrec(&h, far, 1);
	fev__holder_done(&h, far, 1);
	assert_holdrec(&h, 0, 0);

	base = UINT64_MAX - 40; /* takes that cross 2^64 */
	fev__holder_took(&h, base, 30);
	fev__holder_took(&h, base + 30, 50);
	assert_true(fev__holder_holds(&h, base));
	assert_true(fev__holder_holds(&h, UINT64_MAX));
	assert_true(fev__holder_holds(&h, 0));
	assert_true(fev__holder_holds(&h, base + 79));
	assert_false(fev__holder_holds(&h, base + 80));
	fev__holder_done(&h, base, 41);
	assert_int_equal(h.held, 39);
	fev__holder_done(&h, 0, 39);
	assert_holdrec(&h, 0, 0);
	assert_int_equal(h.held, 0);
	fev__holder_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_keeps_fifo_order_over_many_laps),
		cmocka_unit_test(
			test_ring_reserve_fails_when_full_and_acquire_when_empty),
		cmocka_unit_test(
			test_ring_hides_a_reserved_slot_until_it_is_committed),
		cmocka_unit_test(test_ring_batches_span_the_wrap_in_one_take),
		cmocka_unit_test(
			test_ring_batch_stops_at_the_first_uncommitted_slot),
		cmocka_unit_test(test_ring_carries_zero_length_events),
		cmocka_unit_test(test_ring_positions_cross_the_32_bit_boundary),
		cmocka_unit_test(test_ring_stale_cursor_hint_catches_up),
		cmocka_unit_test(
			test_hold_follows_the_lowest_position_still_held),
		cmocka_unit_test(
			test_ring_refuses_to_spin_on_a_forged_slot_sequence),
		cmocka_unit_test(
			test_hold_narrows_again_after_a_batch_wider_than_64),
		cmocka_unit_test(test_holder_holds_exactly_what_it_took),
		cmocka_unit_test(test_hold_covers_positions_2_to_the_32_apart),
	};

	alarm(60); /* a ring that spins fails instead of hanging */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
