/*
 * Producer and consumer threads that share ONE mapping of a queue segment,
 * so every slot sits at the same address in both.  Built with
 * ThreadSanitizer (FEV_TSAN) this is the test that checks the ring's
 * memory orders: TSan relates two accesses only by address, and every
 * other test maps the segment once per handle, at a different address per
 * handle, so a weakened release or acquire goes unseen there.  Here:
 *
 *   R1 (commit, seq = pos + 1) / A2 (consumer's seq load): the consumer's
 *      plain reads of the slot header and payload race with the producer's
 *      writes unless R1 -> A2 orders them; every third event carries a key
 *      and a header (meta_len and the encoding in front of the payload,
 *      meta.h), published by the same edge;
 *   R2 (release, seq = pos + cap) / A1 (producer's seq load): the
 *      producer's plain writes of the next lap race with the consumer's
 *      reads of this one unless R2 -> A1 orders them;
 *   R5 / A5: the header fields a segment creator writes race with the
 *      validator's reads unless the "ready" magic is release/acquire;
 *   V1 / V2 (tail.c): a tail on the same mapping copies slots while the
 *      producer rewrites them; its copy must be reported as no race (the
 *      annotation) and kept only when whole (every event checked).
 *
 * In a plain build it still checks the hand-over: every event arrives once,
 * in order, intact.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fevtest.h"
#include "meta.h"
#include "segment.h"
#include "tail.h"

#define EVENTS 20000u
#define CAPACITY 4u /* small: many laps, every slot reused often */
#define MAX_EVENT 64u
#define BATCH_MAX 3u
/* Key (4 bytes: the index) and header n=v, encoded: 1 + 4 + 2 + 1 + 1 + 4 + 1. */
#define META_LEN 14u

struct shared_ring {
	struct fev__map map; /* the one mapping both threads use */
	atomic_uint errors;
};

/* Event i: its index, then bytes derived from it, len varying with i. */
static uint32_t event_len(uint32_t i)
{
	return 8 + i % (MAX_EVENT - 8 + 1);
}

static void event_fill(uint8_t *p, uint32_t i)
{
	memcpy(p, &i, sizeof(i));
	for (uint32_t b = sizeof(i); b < event_len(i); b++)
		p[b] = (uint8_t)(i * 31 + b);
}

static bool event_intact(const uint8_t *p, uint32_t len, uint32_t i)
{
	uint32_t got;

	if (len != event_len(i))
		return false;
	memcpy(&got, p, sizeof(got));
	if (got != i)
		return false;
	for (uint32_t b = sizeof(i); b < len; b++)
		if (p[b] != (uint8_t)(i * 31 + b))
			return false;
	return true;
}

static bool has_meta(uint32_t i)
{
	return i % 3 == 0;
}

static void meta_fill(struct fev__slot *slot, uint32_t i)
{
	fev_header h = { .name = "n", .value = "v", .value_len = 1 };
	fev_send_opts o = { .struct_size = sizeof(o), .key = &i,
			    .key_len = sizeof(i), .headers = &h,
			    .n_headers = 1 };

	slot->meta_len = META_LEN;
	fev__meta_encode(&o, NULL, 0, fev__slot_payload(slot));
}

/* The payload of event i, after its key and header when it has them. */
static const uint8_t *meta_checked(struct fev__slot *slot, uint32_t i,
				   uint32_t *len)
{
	fev_event ev = { 0 };

	*len = slot->len;
	if (!has_meta(i))
		return slot->flags == 0 ? fev__slot_payload(slot) : NULL;
	if (slot->flags != FEV__SLOT_META || slot->meta_len != META_LEN ||
	    *len < META_LEN ||
	    fev__meta_parse(fev__slot_payload(slot), META_LEN, &ev) < 0 ||
	    ev.key_len != sizeof(i) || memcmp(ev.key, &i, sizeof(i)) != 0 ||
	    ev.n_headers != 1)
		return NULL;
	*len -= META_LEN;
	return fev__slot_payload(slot) + META_LEN;
}

static void *producer_main(void *arg)
{
	struct shared_ring *s = arg;
	const struct fev__ring *r = &s->map.ring;
	struct fev__holder h = { .rec = &s->map.attachers[0].prod };
	uint32_t i = 0;

	while (i < EVENTS) {
		uint32_t want = 1 + i % BATCH_MAX;
		uint64_t pos;
		uint32_t k;

		if (want > EVENTS - i)
			want = EVENTS - i;
		k = fev__ring_reserve(r, &h, want, &pos);
		if (k == 0) {
			sched_yield(); /* full */
			continue;
		}
		for (uint32_t j = 0; j < k; j++, i++) {
			struct fev__slot *slot = fev__ring_slot(r, pos + j);
			uint32_t m = has_meta(i) ? META_LEN : 0;

			if (m != 0)
				meta_fill(slot, i);
			event_fill(fev__slot_payload(slot) + m, i);
			fev__ring_commit(r, pos + j, m + event_len(i),
					 m != 0 ? FEV__SLOT_META : 0, 0, i);
		}
		fev__holder_done(&h, pos, k);
	}
	return NULL;
}

static void *consumer_main(void *arg)
{
	struct shared_ring *s = arg;
	const struct fev__ring *r = &s->map.ring;
	struct fev__holder h = { .rec = &s->map.attachers[1].cons };
	uint32_t i = 0;

	while (i < EVENTS) {
		uint64_t pos;
		uint32_t k = fev__ring_acquire(r, &h, BATCH_MAX, &pos);

		if (k == 0) {
			sched_yield(); /* empty */
			continue;
		}
		for (uint32_t j = 0; j < k; j++, i++) {
			struct fev__slot *slot = fev__ring_slot(r, pos + j);
			const uint8_t *payload;
			uint32_t len;

			/* Plain reads on purpose: TSan checks their order. */
			payload = meta_checked(slot, i, &len);
			if (slot->ts_ns != i || payload == NULL ||
			    !event_intact(payload, len, i))
				atomic_fetch_add(&s->errors, 1);
			fev__ring_release(r, pos + j);
		}
		fev__holder_done(&h, pos, k);
	}
	return NULL;
}

static void test_threads_sharing_one_mapping_hand_over_every_event_intact(
	void **state)
{
	struct shared_ring s = { 0 };
	char inst[FEV_INSTANCE_MAX + 1];
	pthread_t prod, cons;

	(void)state;
	fevtest_instance(inst);
	fevtest_create(inst, "q", CAPACITY, MAX_EVENT + META_LEN,
		       FEV_POLICY_BLOCK);
	assert_int_equal(fev__map_open(inst, "q", true, &s.map), 0);
	assert_int_equal(pthread_create(&cons, NULL, consumer_main, &s), 0);
	assert_int_equal(pthread_create(&prod, NULL, producer_main, &s), 0);
	assert_int_equal(pthread_join(prod, NULL), 0);
	assert_int_equal(pthread_join(cons, NULL), 0);
	assert_int_equal(atomic_load(&s.errors), 0);
	assert_int_equal(fev__ring_depth(&s.map.ring), 0);
	fev__map_close(&s.map);
	assert_int_equal(fev_queue_delete("q", inst), 0);
	fevtest_assert_no_leftovers(inst);
}

/* ---- a tail on the same mapping: V1 / V2 ------------------------------- */

struct tail_check {
	struct shared_ring *ring;
	fev_tail *t; /* opened before the producer starts */
	uint64_t seen, missed;
	atomic_uint errors;
};

/* Is te event i, whole: its key, header and payload? */
static bool tail_event_intact(const fev_tail_event *te)
{
	uint32_t i = (uint32_t)te->ev.ts_ns; /* the producer stamps i */

	if (te->ev.id != i)
		return false;
	if (has_meta(i) != (te->ev.key_len == sizeof(i)) ||
	    (has_meta(i) && (memcmp(te->ev.key, &i, sizeof(i)) != 0 ||
			     te->ev.n_headers != 1)))
		return false;
	return event_intact(te->ev.data, (uint32_t)te->ev.len, i);
}

static void *tail_main(void *arg)
{
	struct tail_check *c = arg;
	uint8_t buf[MAX_EVENT + META_LEN];
	fev_tail *t = c->t;
	fev_tail_event te;

	/* Every position is seen or counted as missed, exactly once. */
	while (c->seen + fev_tail_missed(t) < EVENTS) {
		int rc = fev_tail_next(t, &te, buf, sizeof(buf), 0);

		if (rc == -EAGAIN) {
			sched_yield(); /* as the others: never starve them */
			continue;
		}
		if (rc < 0 || !tail_event_intact(&te))
			atomic_fetch_add(&c->errors, 1);
		c->seen++;
	}
	c->missed = fev_tail_missed(t);
	fev_tail_close(t);
	return NULL;
}

static void test_tail_on_same_mapping_keeps_only_whole_copies(void **state)
{
	struct shared_ring s = { 0 };
	struct tail_check c = { .ring = &s };
	char inst[FEV_INSTANCE_MAX + 1];
	pthread_t prod, cons, tail;

	(void)state;
	fevtest_instance(inst);
	fevtest_create(inst, "q", CAPACITY, MAX_EVENT + META_LEN,
		       FEV_POLICY_BLOCK);
	assert_int_equal(fev__map_open(inst, "q", true, &s.map), 0);
	/* Opened here, not in its thread: a tail thread that started after
	 * the producer was a lap ahead began at head - capacity and waited
	 * forever for the positions before it. */
	assert_int_equal(fev__tail_of_map(&s.map, FEV_TAIL_EARLIEST, &c.t), 0);
	assert_int_equal(pthread_create(&tail, NULL, tail_main, &c), 0);
	assert_int_equal(pthread_create(&cons, NULL, consumer_main, &s), 0);
	assert_int_equal(pthread_create(&prod, NULL, producer_main, &s), 0);
	assert_int_equal(pthread_join(prod, NULL), 0);
	assert_int_equal(pthread_join(cons, NULL), 0);
	assert_int_equal(pthread_join(tail, NULL), 0);
	assert_int_equal(atomic_load(&s.errors), 0);
	assert_int_equal(atomic_load(&c.errors), 0);
	assert_int_equal(c.seen + c.missed, EVENTS);
	print_message("tail: %llu seen, %llu missed of %u\n",
		      (unsigned long long)c.seen, (unsigned long long)c.missed,
		      EVENTS);
	fev__map_close(&s.map);
	assert_int_equal(fev_queue_delete("q", inst), 0);
	fevtest_assert_no_leftovers(inst);
}

/* ---- segment publication: R5 / A5 -------------------------------------- */

struct shared_segment {
	void *base;
	struct fev__geometry geo;
};

static void *creator_main(void *arg)
{
	struct shared_segment *s = arg;

	fev__segment_format(s->base, &s->geo, "q", FEV_POLICY_REJECT);
	return NULL;
}

static void test_validator_sees_whole_header_once_segment_is_ready(
	void **state)
{
	struct shared_segment s;
	struct fev__geometry seen;
	pthread_t creator;
	int rc;

	(void)state;
	assert_int_equal(fev__geometry_compute(CAPACITY, MAX_EVENT, 4, &s.geo),
			 0);
	s.base = calloc(1, s.geo.seg_size);
	assert_non_null(s.base);
	assert_int_equal(pthread_create(&creator, NULL, creator_main, &s), 0);
	/* The header's fields are read (plainly) only after the magic. */
	while ((rc = fev__segment_validate(s.base, s.geo.seg_size, &seen)) ==
	       -EAGAIN)
		sched_yield();
	assert_int_equal(rc, 0);
	assert_int_equal(seen.capacity, CAPACITY);
	assert_int_equal(seen.policy, FEV_POLICY_REJECT);
	assert_int_equal(pthread_join(creator, NULL), 0);
	free(s.base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_threads_sharing_one_mapping_hand_over_every_event_intact),
		cmocka_unit_test(
			test_validator_sees_whole_header_once_segment_is_ready),
		cmocka_unit_test(
			test_tail_on_same_mapping_keeps_only_whole_copies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
