/*
 * Hostile values under a tail (tail.c): forged slot lengths, meta and
 * sequences, and cursors anywhere in the position space.  A tail must
 * answer -EBADMSG for a slot it cannot trust, skip it, and go on; never
 * copy outside the slot or its buffer, never loop without bound.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fevtest.h"
#include "hostile.h"
#include "layout.h"
#include "segment.h"

#define CAPACITY 8u
#define MAX_EVENT 64u

static int setup(void **state)
{
	(void)state;
	alarm(60); /* a hang must fail the test, not block CI */
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	alarm(0);
	hq_cleanup_last();
	return 0;
}

static struct fev__slot *slot(struct hq *h, uint64_t pos)
{
	return fev__ring_slot(&h->m.ring, pos);
}

static fev_tail *tail_of(struct hq *h, int start)
{
	/* Never resting: each test reads its forged ring in one go. */
	fev_tail_opts o = { .struct_size = sizeof(o), .instance = h->inst,
			    .start = start,
			    .cpu_percent = FEV_TAIL_CPU_FULL };
	fev_tail *t = NULL;

	assert_int_equal(fev_tail_open("q", &o, &t), 0);
	return t;
}

/* The next tail call with an exactly-sized heap buffer (ASan's redzone
 * right after it): rc, and the event's 8-byte value when rc is 0. */
static int tail_value(fev_tail *t, uint64_t *v)
{
	uint8_t *buf = malloc(MAX_EVENT);
	fev_tail_event te;
	int rc;

	assert_non_null(buf);
	rc = fev_tail_next(t, &te, buf, MAX_EVENT, 0);
	if (rc == 0) {
		assert_int_equal(te.ev.len, sizeof(*v));
		memcpy(v, te.ev.data, sizeof(*v));
	}
	free(buf);
	return rc;
}

struct slot_forgery {
	const char *what;
	uint32_t len, flags, meta_len;
};

static const struct slot_forgery forgeries[] = {
	{ "len max_event + 1", MAX_EVENT + 1, 0, 0 },
	{ "len 2^32-1", UINT32_MAX, 0, 0 },
	{ "meta flag, meta_len past len", 8, FEV__SLOT_META, 9 },
	{ "meta flag, meta_len 2^32-1", 8, FEV__SLOT_META, UINT32_MAX },
	{ "meta flag on a plain payload", 8, FEV__SLOT_META, 8 },
};

static void test_tail_refuses_forged_lengths_and_goes_on(void **state)
{
	size_t n = sizeof(forgeries) / sizeof(forgeries[0]);
	uint64_t v;
	struct hq h;
	fev_tail *t;

	(void)state;
	hq_setup(&h, CAPACITY, MAX_EVENT, FEV_POLICY_BLOCK);
	for (size_t i = 0; i < n; i++) {
		hq_send(&h, 100 + i);
		slot(&h, i)->len = forgeries[i].len;
		slot(&h, i)->flags = forgeries[i].flags;
		slot(&h, i)->meta_len = forgeries[i].meta_len;
	}
	hq_send(&h, 7);
	t = tail_of(&h, FEV_TAIL_EARLIEST);
	for (size_t i = 0; i < n; i++) {
		print_message("forged: %s\n", forgeries[i].what);
		assert_int_equal(tail_value(t, &v), -EBADMSG);
	}
	assert_int_equal(tail_value(t, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(tail_value(t, &v), -EAGAIN);
	fev_tail_close(t);
	hq_teardown(&h);
}

static void test_tail_never_follows_forged_sequences_past_head(void **state)
{
	uint64_t v;
	struct hq h;
	fev_tail *t;

	(void)state;
	hq_setup(&h, CAPACITY, MAX_EVENT, FEV_POLICY_BLOCK);
	t = tail_of(&h, FEV_TAIL_EARLIEST);
	/* Every slot says "lapped" though nothing was published. */
	for (uint64_t i = 0; i < CAPACITY; i++)
		atomic_store(&slot(&h, i)->seq, UINT64_MAX - i);
	assert_int_equal(tail_value(t, &v), -EAGAIN);
	assert_int_equal(fev_tail_missed(t), 0);
	for (uint64_t i = 0; i < CAPACITY; i++)
		atomic_store(&slot(&h, i)->seq, i);
	hq_send(&h, 5);
	assert_int_equal(tail_value(t, &v), 0);
	assert_int_equal(v, 5);
	fev_tail_close(t);
	hq_teardown(&h);
}

static void test_tail_under_forged_head_returns_in_bounded_time(void **state)
{
	static const uint64_t heads[] = { UINT64_MAX, UINT64_MAX - 3,
					  UINT64_C(1) << 63, 3 };
	uint64_t v;
	struct hq h;

	(void)state;
	hq_setup(&h, CAPACITY, MAX_EVENT, FEV_POLICY_BLOCK);
	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		fev_tail *t = tail_of(&h, FEV_TAIL_EARLIEST);

		/* Slots that say "lapped" and a head anywhere: the tail
		 * jumps, counts, and comes back with nothing to show. */
		for (uint64_t k = 0; k < CAPACITY; k++)
			atomic_store(&slot(&h, k)->seq, k + 5 * CAPACITY);
		atomic_store(&h.m.seg->head.pos, heads[i]);
		for (int k = 0; k < 4; k++) {
			int rc = tail_value(t, &v);

			assert_true(rc == -EAGAIN || rc == -EBADMSG ||
				    rc == 0);
		}
		fev_tail_close(t);
	}
	/* Put the ring back as it was (empty at 0) for the teardown. */
	for (uint64_t k = 0; k < CAPACITY; k++)
		atomic_store(&slot(&h, k)->seq, k);
	atomic_store(&h.m.seg->head.pos, 0);
	hq_teardown(&h);
}

static void test_tail_reads_across_the_end_of_the_position_space(
	void **state)
{
	uint64_t pos = UINT64_MAX - 2, v;
	struct hq h;
	fev_tail *t;

	(void)state;
	hq_setup(&h, CAPACITY, MAX_EVENT, FEV_POLICY_BLOCK);
	for (uint64_t i = 0; i < CAPACITY; i++)
		atomic_store(&slot(&h, pos + i)->seq, pos + i);
	atomic_store(&h.m.seg->head.pos, pos);
	atomic_store(&h.m.seg->tail.pos, pos);
	t = tail_of(&h, FEV_TAIL_LATEST);
	for (uint64_t i = 0; i < 5; i++)
		hq_send(&h, i);
	for (uint64_t i = 0; i < 5; i++) {
		assert_int_equal(tail_value(t, &v), 0);
		assert_int_equal(v, i);
	}
	assert_int_equal(tail_value(t, &v), -EAGAIN);
	fev_tail_close(t);
	hq_teardown(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_tail_refuses_forged_lengths_and_goes_on),
		T(test_tail_never_follows_forged_sequences_past_head),
		T(test_tail_under_forged_head_returns_in_bounded_time),
		T(test_tail_reads_across_the_end_of_the_position_space),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
