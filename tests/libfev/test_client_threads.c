/*
 * Many threads, one handle each, on one queue: every event is received
 * exactly once (a shared bitmap catches duplicates and gaps), and with one
 * consumer each producer's events arrive in the order it sent them.
 * Producers and consumers use every API flavour: copy, batch, zero copy.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
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

#define TOTAL_EVENTS 2000000u
#define MAX_THREADS 8
#define BATCH 16

struct run {
	const char *inst;
	uint32_t producers, consumers;
	uint32_t per_producer;
	atomic_uchar *seen; /* one byte per (producer, seq) */
	atomic_uint_fast64_t received;
	atomic_uint_fast64_t duplicates, corrupt, out_of_order, errors;
	uint64_t deadline_ns;
	bool lossy;               /* drop-oldest: not everything arrives */
	atomic_int producers_left;
};

struct worker {
	struct run *run;
	uint32_t id;
	pthread_t thread;
};

static uint64_t make_value(uint32_t producer, uint32_t seq)
{
	return (uint64_t)producer << 32 | seq;
}

static int send_one(fev_queue *q, uint64_t v)
{
	return fev_send(q, &v, sizeof(v), 10000 * FEVTEST_MS);
}

static int send_zero_copy(fev_queue *q, uint64_t v)
{
	fev_claim c;
	int rc = fev_reserve(q, sizeof(v), &c, 10000 * FEVTEST_MS);

	if (rc < 0)
		return rc;
	memcpy(c.data, &v, sizeof(v));
	return fev_commit(q, &c, sizeof(v));
}

static void *producer_main(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->run;
	fev_queue *q = fevtest_open(r->inst, "q", FEV_PRODUCER, 0);
	uint32_t seq = 0;

	while (seq < r->per_producer) {
		int rc;

		if (w->id % 3 == 1) {
			uint64_t vals[BATCH];
			struct iovec iov[BATCH];
			size_t n = 0;

			for (; n < BATCH && seq + n < r->per_producer; n++) {
				vals[n] = make_value(w->id, seq + (uint32_t)n);
				iov[n] = (struct iovec){ &vals[n],
							 sizeof(vals[n]) };
			}
			rc = fev_send_batch(q, iov, n, 10000 * FEVTEST_MS);
			if (rc > 0)
				seq += (uint32_t)rc;
		} else {
			uint64_t v = make_value(w->id, seq);

			rc = w->id % 3 == 2 ? send_zero_copy(q, v) :
					      send_one(q, v);
			if (rc == 0)
				seq++;
		}
		if (rc < 0) {
			atomic_fetch_add(&r->errors, 1);
			break;
		}
	}
	fev_close(q);
	atomic_fetch_sub(&r->producers_left, 1);
	return NULL;
}

static void note(struct run *r, const void *data, size_t len,
		 uint32_t *next_seq)
{
	uint64_t v;
	uint32_t p, s;

	if (len != sizeof(v)) {
		atomic_fetch_add(&r->corrupt, 1);
		return;
	}
	memcpy(&v, data, sizeof(v));
	p = (uint32_t)(v >> 32);
	s = (uint32_t)v;
	if (p >= r->producers || s >= r->per_producer) {
		atomic_fetch_add(&r->corrupt, 1);
		return;
	}
	/* Any one consumer sees a producer's events in increasing order. */
	if (s < next_seq[p])
		atomic_fetch_add(&r->out_of_order, 1);
	next_seq[p] = s + 1;
	if (atomic_exchange(&r->seen[(size_t)p * r->per_producer + s], 1))
		atomic_fetch_add(&r->duplicates, 1);
	atomic_fetch_add(&r->received, 1);
}

/* One round of consuming in the worker's style; < 0 on a real error. */
static int consume_some(struct run *r, fev_queue *q, uint32_t style,
			uint32_t *next_seq)
{
	const int64_t tmo = 10 * FEVTEST_MS;

	if (style == 1) {
		fev_event evs[BATCH];
		int n = fev_acquire_batch(q, evs, BATCH, tmo);

		if (n < 0)
			return n;
		for (int i = 0; i < n; i++)
			note(r, evs[i].data, evs[i].len, next_seq);
		return fev_release_batch(q, evs, (size_t)n) == n ? 0 : -EIO;
	}
	if (style == 2) {
		fev_event ev;
		int rc = fev_acquire(q, &ev, tmo);

		if (rc < 0)
			return rc;
		note(r, ev.data, ev.len, next_seq);
		return fev_release(q, &ev);
	}
	{
		uint64_t v;
		ssize_t n = fev_recv(q, &v, sizeof(v), NULL, tmo);

		if (n < 0)
			return (int)n;
		note(r, &v, (size_t)n, next_seq);
		return 0;
	}
}

static void *consumer_main(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->run;
	fev_queue *q = fevtest_open(r->inst, "q", FEV_CONSUMER, 0);
	uint32_t next_seq[MAX_THREADS] = { 0 };
	uint64_t total = (uint64_t)r->producers * r->per_producer;

	/* Stop when everything has arrived (or, when events may be dropped,
	 * when the producers are done and the queue is empty), or give up at
	 * the deadline. */
	while ((r->lossy || atomic_load(&r->received) < total) &&
	       fevtest_now_ns() < r->deadline_ns) {
		int left = atomic_load(&r->producers_left);
		int rc = consume_some(r, q, w->id % 3, next_seq);

		if (rc == -ETIMEDOUT && r->lossy && left == 0)
			break;
		if (rc < 0 && rc != -ETIMEDOUT) {
			atomic_fetch_add(&r->errors, 1);
			break;
		}
	}
	fev_close(q);
	return NULL;
}

static void run_threads(const char *inst, uint32_t producers,
			uint32_t consumers, uint32_t capacity, int policy)
{
	struct run r = { .inst = inst, .producers = producers,
			 .consumers = consumers,
			 .per_producer = TOTAL_EVENTS / producers,
			 .lossy = policy == FEV_POLICY_DROP_OLDEST,
			 .producers_left = (int)producers };
	struct worker pw[MAX_THREADS], cw[MAX_THREADS];
	uint64_t total = (uint64_t)producers * r.per_producer;
	fev_stats st;

	r.seen = calloc(total, 1);
	assert_non_null(r.seen);
	r.deadline_ns = fevtest_now_ns() + 200000 * FEVTEST_MS;
	fevtest_create(inst, "q", capacity, 8, policy);
	for (uint32_t i = 0; i < consumers; i++) {
		cw[i] = (struct worker){ .run = &r, .id = i };
		assert_int_equal(pthread_create(&cw[i].thread, NULL,
						consumer_main, &cw[i]),
				 0);
	}
	for (uint32_t i = 0; i < producers; i++) {
		pw[i] = (struct worker){ .run = &r, .id = i };
		assert_int_equal(pthread_create(&pw[i].thread, NULL,
						producer_main, &pw[i]),
				 0);
	}
	for (uint32_t i = 0; i < producers; i++)
		assert_int_equal(pthread_join(pw[i].thread, NULL), 0);
	for (uint32_t i = 0; i < consumers; i++)
		assert_int_equal(pthread_join(cw[i].thread, NULL), 0);

	assert_int_equal(atomic_load(&r.errors), 0);
	assert_int_equal(atomic_load(&r.corrupt), 0);
	assert_int_equal(atomic_load(&r.duplicates), 0);
	assert_int_equal(atomic_load(&r.out_of_order), 0);
	for (uint64_t i = 0; i < total && !r.lossy; i++)
		if (!atomic_load_explicit(&r.seen[i], memory_order_relaxed))
			fail_msg("event (producer %llu, seq %llu) never "
				 "arrived",
				 (unsigned long long)(i / r.per_producer),
				 (unsigned long long)(i % r.per_producer));
	assert_int_equal(fev_queue_stats("q", inst, &st), 0);
	if (r.lossy)
		print_message("drop-oldest: %llu delivered, %llu dropped\n",
			      (unsigned long long)atomic_load(&r.received),
			      (unsigned long long)st.dropped);
	/* Every event was either delivered or counted as dropped. */
	assert_int_equal(atomic_load(&r.received) + st.dropped, total);
	if (!r.lossy)
		assert_int_equal(st.dropped, 0);
	assert_int_equal(st.enqueued, total);
	assert_int_equal(st.dequeued, atomic_load(&r.received));
	assert_int_equal(st.depth, 0);
	assert_int_equal(fev_queue_delete("q", inst), 0);
	free(r.seen);
}

static void test_four_producer_and_four_consumer_threads_receive_each_event_once(
	void **state)
{
	char inst[FEV_INSTANCE_MAX + 1];

	(void)state;
	fevtest_instance(inst);
	run_threads(inst, 4, 4, 256, FEV_POLICY_BLOCK);
	fevtest_assert_no_leftovers(inst);
}

static void test_four_producer_threads_keep_their_order_to_one_consumer(
	void **state)
{
	char inst[FEV_INSTANCE_MAX + 1];

	(void)state;
	fevtest_instance(inst);
	run_threads(inst, 4, 1, 64, FEV_POLICY_BLOCK);
	fevtest_assert_no_leftovers(inst);
}

static void test_threads_through_a_two_slot_queue_lose_nothing(void **state)
{
	char inst[FEV_INSTANCE_MAX + 1];

	(void)state;
	fevtest_instance(inst);
	run_threads(inst, 3, 3, 2, FEV_POLICY_BLOCK);
	fevtest_assert_no_leftovers(inst);
}

static void test_drop_oldest_under_threads_delivers_or_counts_every_event(
	void **state)
{
	char inst[FEV_INSTANCE_MAX + 1];

	(void)state;
	fevtest_instance(inst);
	run_threads(inst, 3, 2, 8, FEV_POLICY_DROP_OLDEST);
	fevtest_assert_no_leftovers(inst);
}

/* ---- many sleepers, no spinning ---------------------------------------- */

#define SLEEPY_PRODUCERS 2
#define SLEEPY_CONSUMERS 3
#define SLEEPY_EVENTS 40000u /* per producer */
#define SLEEPY_WAIT_NS (20000 * FEVTEST_MS)

struct sleepy {
	const char *inst;
	uint32_t id;
	uint64_t got;
	int rc;
	pthread_t thread;
};

static void *sleepy_producer(void *arg)
{
	struct sleepy *s = arg;
	fev_queue *q = fevtest_open(s->inst, "q", FEV_PRODUCER,
				    FEV_OPEN_NO_SPIN);

	for (uint32_t i = 0; i < SLEEPY_EVENTS && s->rc == 0; i++) {
		uint64_t v = make_value(s->id, i);

		s->rc = fev_send(q, &v, sizeof(v), SLEEPY_WAIT_NS);
	}
	fev_close(q);
	return NULL;
}

/* Receives until a zero-length event; a missed wake-up times out. */
static void *sleepy_consumer(void *arg)
{
	struct sleepy *s = arg;
	fev_queue *q = fevtest_open(s->inst, "q", FEV_CONSUMER,
				    FEV_OPEN_NO_SPIN);

	for (;;) {
		uint64_t v;
		ssize_t n = fev_recv(q, &v, sizeof(v), NULL, SLEEPY_WAIT_NS);

		if (n == 0)
			break;
		if (n < 0) {
			s->rc = (int)n;
			break;
		}
		s->got++;
	}
	fev_close(q);
	return NULL;
}

static void test_sleepers_without_spinning_never_miss_a_wakeup(void **state)
{
	struct sleepy p[SLEEPY_PRODUCERS], c[SLEEPY_CONSUMERS];
	char inst[FEV_INSTANCE_MAX + 1];
	uint64_t got = 0;
	fev_queue *stop;
	fev_stats st;

	(void)state;
	fevtest_instance(inst);
	fevtest_create(inst, "q", 2, 8, FEV_POLICY_BLOCK);
	for (uint32_t i = 0; i < SLEEPY_CONSUMERS; i++) {
		c[i] = (struct sleepy){ .inst = inst, .id = i };
		assert_int_equal(pthread_create(&c[i].thread, NULL,
						sleepy_consumer, &c[i]),
				 0);
	}
	for (uint32_t i = 0; i < SLEEPY_PRODUCERS; i++) {
		p[i] = (struct sleepy){ .inst = inst, .id = i };
		assert_int_equal(pthread_create(&p[i].thread, NULL,
						sleepy_producer, &p[i]),
				 0);
	}
	for (uint32_t i = 0; i < SLEEPY_PRODUCERS; i++) {
		assert_int_equal(pthread_join(p[i].thread, NULL), 0);
		if (p[i].rc != 0)
			fail_msg("producer %u: %s", i, fev_strerror(p[i].rc));
	}
	stop = fevtest_open(inst, "q", FEV_PRODUCER, FEV_OPEN_NO_SPIN);
	for (uint32_t i = 0; i < SLEEPY_CONSUMERS; i++)
		assert_int_equal(fev_send(stop, NULL, 0, SLEEPY_WAIT_NS), 0);
	fev_close(stop);
	for (uint32_t i = 0; i < SLEEPY_CONSUMERS; i++) {
		assert_int_equal(pthread_join(c[i].thread, NULL), 0);
		if (c[i].rc != 0)
			fail_msg("consumer %u: %s", i, fev_strerror(c[i].rc));
		got += c[i].got;
	}
	assert_int_equal(got, SLEEPY_PRODUCERS * SLEEPY_EVENTS);
	assert_int_equal(fev_queue_stats("q", inst, &st), 0);
	print_message("%llu sleeps, %llu wake calls\n",
		      (unsigned long long)st.sleeps,
		      (unsigned long long)st.wakes);
	/* Sleeping really happened, so the futex path was exercised. */
	assert_true(st.sleeps > 0);
	assert_int_equal(st.sleepers, 0);
	assert_int_equal(fev_queue_delete("q", inst), 0);
	fevtest_assert_no_leftovers(inst);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_four_producer_and_four_consumer_threads_receive_each_event_once),
		cmocka_unit_test(
			test_four_producer_threads_keep_their_order_to_one_consumer),
		cmocka_unit_test(
			test_threads_through_a_two_slot_queue_lose_nothing),
		cmocka_unit_test(
			test_drop_oldest_under_threads_delivers_or_counts_every_event),
		cmocka_unit_test(
			test_sleepers_without_spinning_never_miss_a_wakeup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
