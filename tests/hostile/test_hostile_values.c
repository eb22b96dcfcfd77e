/*
 * One hostile value at a time: a process with write access to a queue
 * segment stores something the protocol never stores, and every client
 * call, the repair and the statistics must answer with a documented error
 * (or carry on) in bounded time -- never read or write outside the segment,
 * never spin.  Each value here is one the randomized writer
 * (test_hostile_writer.c) may also hit, pinned so a regression names itself.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "consumer_group.h"
#include "group_assign.h"
#include "group_view.h"
#include "fevtest.h"
#include "hostile.h"
#include "layout.h"
#include "repair.h"
#include "segment.h"
#include "wait.h"

#define MS FEVTEST_MS

static int setup(void **state)
{
	(void)state;
	/* A hang must fail the test, not block CI. */
	alarm(60);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	alarm(0);
	hq_cleanup_last(); /* a failed test skipped its hq_teardown() */
	return 0;
}

static struct fev__slot *slot(struct hq *h, uint64_t pos)
{
	return fev__ring_slot(&h->m.ring, pos);
}

/* Move an empty ring to position pos, as if pos events had passed. */
static void ring_empty_at(struct hq *h, uint64_t pos)
{
	for (uint64_t i = 0; i < h->capacity; i++)
		atomic_store(&slot(h, pos + i)->seq, pos + i);
	atomic_store(&h->m.seg->head.pos, pos);
	atomic_store(&h->m.seg->tail.pos, pos);
}

/* The queue still carries a full lap of events, in order. */
static void assert_flows(struct hq *h)
{
	for (uint64_t v = 0; v < h->capacity; v++)
		hq_send(h, 1000 + v);
	for (uint64_t v = 0; v < h->capacity; v++)
		assert_int_equal(hq_recv(h), 1000 + v);
}

/* ---- slots -------------------------------------------------------------- */

static void test_slot_attacher_index_out_of_range_is_carried_not_used(
	void **state)
{
	static const uint32_t bad[] = { UINT32_MAX, 64, 4096, 0x80000000u };
	struct hq h;
	fev_queue *c2;
	fev_event ev;
	struct fev__repair_result r = { 0 };
	fev_meta meta;
	uint64_t v;

	(void)state;
	hq_setup(&h, 4, 64, FEV_POLICY_BLOCK);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		hq_send(&h, i);
		slot(&h, i)->attacher = bad[i];
		assert_int_equal(hq_recv(&h), i);
	}
	/* Redelivery copies the field into a new slot; it still indexes
	 * nothing. */
	c2 = fevtest_open(h.inst, "q", FEV_CONSUMER, FEV_OPEN_NO_SPIN);
	hq_send(&h, 7);
	slot(&h, 4)->attacher = UINT32_MAX;
	assert_int_equal(fev_acquire(c2, &ev, 0), 0);
	fev_close(c2); /* holding: the record waits for repair */
	assert_int_equal(
		fev__repair_attacher(&h.m, hq_repairing_record(&h), &r), 0);
	assert_int_equal(r.redelivered, 1);
	assert_int_equal(fev_recv(h.c, &v, sizeof(v), &meta, 0), sizeof(v));
	assert_int_equal(v, 7);
	assert_int_equal(meta.flags, FEV_REDELIVERED);
	assert_flows(&h);
	hq_teardown(&h);
}

static void test_unknown_slot_flags_never_reach_the_consumer(void **state)
{
	struct hq h;
	fev_meta meta;
	uint64_t v;

	(void)state;
	hq_setup(&h, 4, 64, FEV_POLICY_BLOCK);
	hq_send(&h, 1);
	slot(&h, 0)->flags = UINT32_MAX & ~(FEV__SLOT_TOMBSTONE | FEV__SLOT_META);
	assert_int_equal(fev_recv(h.c, &v, sizeof(v), &meta, 0), sizeof(v));
	assert_int_equal(v, 1);
	/* The public bits only; a forged FEV_SAMPLED on an event without a
	 * traceparent only makes its reader look for one. */
	assert_int_equal(meta.flags, FEV_REDELIVERED | FEV_SAMPLED);
	/* Every bit set includes the tombstone: skipped, slot given back
	 * (FEV__SLOT_META alone: test_forged_key_and_headers_...). */
	hq_send(&h, 2);
	hq_send(&h, 3);
	slot(&h, 1)->flags = UINT32_MAX;
	assert_int_equal(hq_recv(&h), 3);
	assert_int_equal(fev_recv(h.c, &v, sizeof(v), NULL, 0), -EAGAIN);
	assert_flows(&h);
	hq_teardown(&h);
}

static void test_slot_length_is_checked_at_the_boundary_and_in_batches(
	void **state)
{
	struct hq h;
	fev_event evs[4];
	uint8_t buf[64];

	(void)state;
	hq_setup(&h, 4, 64, FEV_POLICY_BLOCK);
	/* Exactly max_event is a real event... */
	hq_send(&h, 1);
	slot(&h, 0)->len = 64;
	assert_int_equal(fev_recv(h.c, buf, sizeof(buf), NULL, 0), 64);
	/* ...one more byte is not, whatever else the slot says. */
	hq_send(&h, 2);
	slot(&h, 1)->len = 65;
	assert_int_equal(fev_recv(h.c, buf, sizeof(buf), NULL, 0), -EBADMSG);
	/* In a batch, the bad slot is dropped and the good ones come. */
	hq_send(&h, 3);
	hq_send(&h, 4);
	hq_send(&h, 5);
	slot(&h, 3)->len = UINT32_MAX;
	assert_int_equal(fev_acquire_batch(h.c, evs, 4, 0), 2);
	assert_int_equal(*(const uint64_t *)evs[0].data, 3);
	assert_int_equal(*(const uint64_t *)evs[1].data, 5);
	assert_int_equal(fev_release_batch(h.c, evs, 2), 2);
	assert_flows(&h);
	hq_teardown(&h);
}

static void test_repair_never_copies_a_forged_length(void **state)
{
	struct hq h;
	fev_queue *c2;
	fev_event ev;
	struct fev__repair_result r = { 0 };

	(void)state;
	hq_setup(&h, 4, 64, FEV_POLICY_BLOCK);
	c2 = fevtest_open(h.inst, "q", FEV_CONSUMER, FEV_OPEN_NO_SPIN);
	hq_send(&h, 1);
	assert_int_equal(fev_acquire(c2, &ev, 0), 0);
	/* The holder dies; someone then lies about the event's size. */
	fev_close(c2);
	slot(&h, 0)->len = UINT32_MAX;
	assert_int_equal(
		fev__repair_attacher(&h.m, hq_repairing_record(&h), &r), 0);
	assert_int_equal(r.redelivered, 0);
	assert_int_equal(fev_recv(h.c, &ev, sizeof(ev), NULL, 0), -EAGAIN);
	assert_flows(&h);
	hq_teardown(&h);
}

/* ---- keys and headers (meta.h) ----------------------------------------- */

/*
 * A meta event as the library writes it: key "key", header ct=v, payload
 * 8 bytes.  Its 14 bytes of meta, at the front of the payload area:
 *   0: 3 | 1..3: "key" | 4..5: count 1 | 6: 2 | 7..8: "ct" |
 *   9..12: value_len 1 | 13: 'v'        (then the payload, 14..21)
 */
#define META_LEN 14u
static void send_meta_event(struct hq *h)
{
	fev_header hd = { .name = "ct", .value = "v", .value_len = 1 };
	fev_send_opts o = { .struct_size = sizeof(o), .key = "key",
			    .key_len = 3, .headers = &hd, .n_headers = 1 };
	uint64_t v = 42;

	assert_int_equal(fev_send_ex(h->p, &o, &v, sizeof(v), 0), 0);
}

static uint8_t *meta_bytes(struct hq *h, uint64_t pos)
{
	return fev__slot_payload(slot(h, pos));
}

/* The event at pos is refused and skipped, and nothing else is lost. */
static void expect_refused(struct hq *h)
{
	fev_event ev;

	assert_int_equal(fev_acquire(h->c, &ev, 0), -EBADMSG);
	assert_int_equal(fev_acquire(h->c, &ev, 0), -EAGAIN);
}

struct meta_forgery {
	const char *what;
	uint32_t at;    /* byte of the meta to overwrite; UINT32_MAX: none */
	uint8_t bytes[4];
	uint32_t n;
	uint32_t meta_len; /* 0: leave it */
};

static const struct meta_forgery forgeries[] = {
	{ "meta_len past the event", UINT32_MAX, { 0 }, 0, 8 + META_LEN + 1 },
	{ "meta_len 2^32-1", UINT32_MAX, { 0 }, 0, UINT32_MAX },
	{ "meta_len below the fixed part", UINT32_MAX, { 0 }, 0, 2 },
	{ "bytes after the last header", UINT32_MAX, { 0 }, 0, META_LEN + 1 },
	{ "meta_len cuts the last value", UINT32_MAX, { 0 }, 0, META_LEN - 1 },
	{ "key_len past meta_len", 0, { 12 }, 1, 0 },
	{ "key_len 255", 0, { 255 }, 1, 0 },
	{ "count 2, one header there", 4, { 2, 0 }, 2, 0 },
	{ "count 0, a header there", 4, { 0, 0 }, 2, 0 },
	{ "count 65535", 4, { 0xff, 0xff }, 2, 0 },
	{ "name_len 0", 6, { 0 }, 1, 0 },
	{ "name_len 255", 6, { 255 }, 1, 0 },
	{ "name not a token", 7, { ' ' }, 1, 0 },
	{ "name with a NUL", 8, { 0 }, 1, 0 },
	{ "value_len 2^32-1", 9, { 0xff, 0xff, 0xff, 0xff }, 4, 0 },
	{ "value_len one too many", 9, { 2 }, 1, 0 },
};

static void test_forged_key_and_headers_are_refused_not_read_past(
	void **state)
{
	struct hq h;
	uint64_t pos = 0;
	fev_event ev;

	(void)state;
	hq_setup(&h, 4, 64, FEV_POLICY_BLOCK);
	/* A plain event flagged as carrying meta it does not have. */
	hq_send(&h, 1);
	slot(&h, pos)->meta_len = 0;
	slot(&h, pos++)->flags |= FEV__SLOT_META;
	expect_refused(&h);
	for (size_t i = 0; i < sizeof(forgeries) / sizeof(forgeries[0]); i++) {
		const struct meta_forgery *f = &forgeries[i];

		send_meta_event(&h);
		assert_int_equal(slot(&h, pos)->meta_len, META_LEN);
		if (f->at != UINT32_MAX)
			memcpy(meta_bytes(&h, pos) + f->at, f->bytes, f->n);
		if (f->meta_len != 0)
			slot(&h, pos)->meta_len = f->meta_len;
		pos++;
		print_message("forged: %s\n", f->what);
		expect_refused(&h);
	}
	/* The untouched encoding is accepted: the cases above fail on the
	 * forgery alone. */
	send_meta_event(&h);
	assert_int_equal(fev_acquire(h.c, &ev, 0), 0);
	assert_int_equal(ev.len, 8);
	assert_int_equal(ev.key_len, 3);
	assert_int_equal(fev_release(h.c, &ev), 0);
	assert_flows(&h);
	hq_teardown(&h);
}

/* Lengths rewritten after acquire: the reader stays inside the event. */
static void test_headers_rewritten_after_acquire_stay_in_bounds(void **state)
{
	struct hq h;
	fev_header_iter it = { 0, 0 };
	fev_header hd;
	fev_event ev;
	const void *v;
	size_t n;

	(void)state;
	hq_setup(&h, 4, 64, FEV_POLICY_BLOCK);
	send_meta_event(&h);
	assert_int_equal(fev_acquire(h.c, &ev, 0), 0);
	memset(meta_bytes(&h, 0) + 9, 0xff, 4); /* value_len 2^32-1 */
	assert_int_equal(fev_header_next(&ev, &it, &hd), -EBADMSG);
	assert_int_equal(fev_header_get(&ev, "ct", &v, &n), -EBADMSG);
	meta_bytes(&h, 0)[9] = 1;
	memset(meta_bytes(&h, 0) + 10, 0, 3);
	meta_bytes(&h, 0)[6] = 200; /* name_len */
	assert_int_equal(fev_header_get(&ev, "ct", &v, &n), -EBADMSG);
	assert_int_equal(fev_release(h.c, &ev), 0);
	assert_flows(&h);
	hq_teardown(&h);
}

/* Repair carries a forged meta_len as it is; the consumer refuses it. */
static void test_repair_carries_forged_meta_to_a_consumer_that_refuses_it(
	void **state)
{
	struct hq h;
	fev_queue *c2;
	fev_event ev;
	struct fev__repair_result r = { 0 };

	(void)state;
	hq_setup(&h, 4, 64, FEV_POLICY_BLOCK);
	c2 = fevtest_open(h.inst, "q", FEV_CONSUMER, FEV_OPEN_NO_SPIN);
	send_meta_event(&h);
	assert_int_equal(fev_acquire(c2, &ev, 0), 0);
	fev_close(c2); /* dies holding it */
	slot(&h, 0)->meta_len = UINT32_MAX;
	assert_int_equal(
		fev__repair_attacher(&h.m, hq_repairing_record(&h), &r), 0);
	assert_int_equal(r.redelivered, 1);
	expect_refused(&h);
	assert_flows(&h);
	hq_teardown(&h);
}

/* ---- hold records ------------------------------------------------------- */

static void test_forged_hold_records_cost_repair_at_most_one_lap(void **state)
{
	static const struct {
		uint64_t pos_from_head; /* added to head, wrapping */
		uint32_t n;
	} claims[] = {
		{ 0, UINT32_MAX },		/* from the cursor, 4 G long */
		{ -(UINT64_C(1) << 31), UINT32_MAX }, /* across the cursor */
		{ -(UINT64_C(1) << 40), UINT32_MAX }, /* far behind */
		{ UINT64_MAX - 2, 5 },		/* pos + n wraps */
		{ UINT64_C(1) << 62, UINT32_MAX }, /* far ahead */
	};
	const uint64_t head = UINT64_C(1) << 40;
	struct hq h;

	(void)state;
	hq_setup(&h, 1024, 8, FEV_POLICY_BLOCK);
	ring_empty_at(&h, head);
	for (size_t i = 0; i < sizeof(claims) / sizeof(claims[0]); i++) {
		struct fev__attacher *a = &h.m.attachers[10];
		struct fev__repair_result r = { 0 };
		uint64_t t0 = fevtest_now_ns();

		a->pid = 0;
		atomic_store(&a->prod.pos, head + claims[i].pos_from_head);
		atomic_store(&a->prod.n, claims[i].n);
		atomic_store(&a->cons.pos, head + claims[i].pos_from_head);
		atomic_store(&a->cons.n, claims[i].n);
		atomic_store(&a->state, FEV__ATT_REPAIRING);
		assert_int_equal(fev__repair_attacher(&h.m, 10, &r), 0);
		assert_int_equal(r.tombstoned, 0);
		assert_int_equal(r.redelivered, 0);
		assert_int_equal(atomic_load(&a->state), FEV__ATT_FREE);
		if (fevtest_now_ns() - t0 > 500 * MS)
			fail_msg("hold record %zu: repair took %.0f ms", i,
				 (double)(fevtest_now_ns() - t0) / 1e6);
	}
	hq_send(&h, 42);
	assert_int_equal(hq_recv(&h), 42);
	hq_teardown(&h);
}

/* ---- cursors ------------------------------------------------------------ */

/* Every call answers at once (timeout 0) or when its timeout ends. */
static void assert_calls_bounded(struct hq *h, const int *send_ok,
				 const int *recv_ok)
{
	uint64_t v = 0, t0, cpu;
	fev_stats st;
	int rc;

	rc = fev_send(h->p, &v, sizeof(v), 0);
	assert_true(rc == send_ok[0] || rc == send_ok[1]);
	rc = (int)fev_recv(h->c, &v, sizeof(v), NULL, 0);
	assert_true(rc == recv_ok[0] || rc == recv_ok[1]);
	t0 = fevtest_now_ns();
	cpu = fevtest_cpu_ns();
	rc = fev_send(h->p, &v, sizeof(v), 50 * MS);
	assert_true(rc == send_ok[1] || rc == send_ok[0] || rc == -ETIMEDOUT);
	rc = (int)fev_recv(h->c, &v, sizeof(v), NULL, 50 * MS);
	assert_true(rc == recv_ok[1] || rc == recv_ok[0] || rc == -ETIMEDOUT);
	assert_int_equal(fev_queue_stats("q", h->inst, &st), 0);
	if (fevtest_now_ns() - t0 > 3000 * MS)
		fail_msg("two 50 ms calls took %.0f ms",
			 (double)(fevtest_now_ns() - t0) / 1e6);
	/* They slept rather than spun. */
	cpu = fevtest_cpu_ns() - cpu;
	if (cpu > 100 * MS)
		fail_msg("two 50 ms waits cost %.1f ms of CPU",
			 (double)cpu / 1e6);
}

static void test_head_far_ahead_of_the_slots_is_a_full_queue(void **state)
{
	static const int policies[] = { FEV_POLICY_BLOCK, FEV_POLICY_REJECT,
					FEV_POLICY_DROP_OLDEST };
	const int send_ok[] = { -EAGAIN, -EAGAIN };
	const int recv_ok[] = { -EAGAIN, -EAGAIN };

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		struct hq h;
		fev_stats st;

		hq_setup(&h, 4, 8, policies[i]);
		hq_send(&h, 1);
		atomic_store(&h.m.seg->head.pos, UINT64_C(1) << 40);
		/* The event at position 0 is still there to take... */
		assert_int_equal(hq_recv(&h), 1);
		assert_calls_bounded(&h, send_ok, recv_ok);
		assert_int_equal(fev_queue_stats("q", h.inst, &st), 0);
		assert_int_equal(st.depth, (UINT64_C(1) << 40) - 1);
		hq_teardown(&h);
	}
}

static void test_tail_ahead_of_head_reads_as_an_empty_queue(void **state)
{
	static const uint64_t tails[] = { 3, UINT64_C(1) << 40,
					  UINT64_MAX - 1, UINT64_MAX };
	const int send_ok[] = { 0, -EAGAIN };
	const int recv_ok[] = { -EAGAIN, -EAGAIN };

	(void)state;
	for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		struct hq h;
		fev_stats st;

		hq_setup(&h, 4, 8, FEV_POLICY_REJECT);
		hq_send(&h, 1);
		atomic_store(&h.m.seg->tail.pos, tails[i]);
		assert_calls_bounded(&h, send_ok, recv_ok);
		assert_int_equal(fev_queue_stats("q", h.inst, &st), 0);
		assert_int_equal(st.depth, 0);
		hq_teardown(&h);
	}
}

static void test_cursors_at_the_end_of_the_position_space_stay_bounded(
	void **state)
{
	struct hq h;
	uint64_t v = 0, t0 = fevtest_now_ns();

	(void)state;
	hq_setup(&h, 4, 8, FEV_POLICY_BLOCK);
	/* pos + 1 and pos + capacity wrap here: nothing may index with them
	 * unmasked.  Positions never wrap in a real queue (2^64 events), so
	 * the handle may refuse the position past the end (-EINVAL) -- but
	 * answer, and stay inside the segment. */
	ring_empty_at(&h, UINT64_MAX - 1);
	for (int i = 0; i < 6; i++) {
		int s = fev_send(h.p, &v, sizeof(v), i % 2 ? 20 * MS : 0);
		int r = (int)fev_recv(h.c, &v, sizeof(v), NULL,
				      i % 2 ? 20 * MS : 0);

		assert_true(s == 0 || s == -EAGAIN || s == -ETIMEDOUT);
		assert_true(r == sizeof(v) || r == -EAGAIN || r == -EINVAL ||
			    r == -ETIMEDOUT);
	}
	if (fevtest_now_ns() - t0 > 3000 * MS)
		fail_msg("12 calls of at most 20 ms took %.0f ms",
			 (double)(fevtest_now_ns() - t0) / 1e6);
	/* A fresh consumer on a ring moved back to 0 works again. */
	fev_close(h.c);
	ring_empty_at(&h, 0);
	h.c = fevtest_open(h.inst, "q", FEV_CONSUMER, FEV_OPEN_NO_SPIN);
	assert_flows(&h);
	hq_teardown(&h);
}

/* ---- wait words --------------------------------------------------------- */

static void test_wait_word_with_every_sleeper_slot_taken(void **state)
{
	const uint64_t huge = UINT64_C(0xffffffff) << 32;
	const int send_ok[] = { 0, -EAGAIN };
	const int recv_ok[] = { sizeof(uint64_t), -EAGAIN };
	struct hq h;
	fev_stats st;

	(void)state;
	hq_setup(&h, 4, 8, FEV_POLICY_BLOCK);
	atomic_store(&h.m.seg->not_empty.word, huge | 77);
	atomic_store(&h.m.seg->not_full.word, huge | UINT32_MAX);
	assert_int_equal(fev_queue_stats("q", h.inst, &st), 0);
	/* A publish wakes "them" once and takes the count off. */
	hq_send(&h, 1);
	assert_int_equal(FEV__WAIT_SLEEPERS(atomic_load(
				 &h.m.seg->not_empty.word)),
			 0);
	assert_int_equal(hq_recv(&h), 1);
	assert_int_equal(FEV__WAIT_SLEEPERS(atomic_load(
				 &h.m.seg->not_full.word)),
			 0);
	/* Registering on top of a full count wraps it; the wait still ends
	 * on time. */
	atomic_store(&h.m.seg->not_empty.word, huge);
	assert_int_equal(fev_recv(h.c, &st, sizeof(st), NULL, 50 * MS),
			 -ETIMEDOUT);
	assert_calls_bounded(&h, send_ok, recv_ok);
	hq_teardown(&h);
}

struct forever {
	fev_queue *c;
	uint64_t v;
	ssize_t rc;
	atomic_bool done;
};

static void *recv_forever(void *arg)
{
	struct forever *f = arg;

	f->rc = fev_recv(f->c, &f->v, sizeof(f->v), NULL, FEV_FOREVER);
	atomic_store(&f->done, true);
	return NULL;
}

static void test_sleeper_whose_registration_was_erased_still_wakes(
	void **state)
{
	struct hq h;
	struct forever f = { 0 };
	pthread_t t;
	struct fev__waitword *w;
	uint64_t t0, word;

	(void)state;
	hq_setup(&h, 4, 8, FEV_POLICY_BLOCK);
	w = &h.m.seg->not_empty;
	f.c = h.c;
	assert_int_equal(pthread_create(&t, NULL, recv_forever, &f), 0);
	/* Wait for the second, fenced sleep (the first is short anyway). */
	t0 = fevtest_now_ns();
	while (atomic_load(&h.m.attachers[1].sleeps) < 2 ||
	       FEV__WAIT_SLEEPERS(atomic_load(&w->word)) != 1) {
		if (fevtest_now_ns() - t0 > 10000 * MS)
			fail_msg("the consumer never slept");
		fevtest_sleep_ms(1);
	}
	fevtest_sleep_ms(20);
	/* A foreign store takes the sleeper off the count: no publish will
	 * ever wake it. */
	word = atomic_load(&w->word);
	atomic_store(&w->word, (uint64_t)FEV__WAIT_SEQ(word));
	hq_send(&h, 99);
	t0 = fevtest_now_ns();
	while (!atomic_load(&f.done) && fevtest_now_ns() - t0 < 5000 * MS)
		fevtest_sleep_ms(5);
	if (!atomic_load(&f.done)) {
		/* Unstick it (a second publish would not: the count is 0). */
		atomic_store(&h.m.seg->state_line.state, FEV__SEG_DELETED);
		atomic_fetch_add(&w->word, FEV__WAIT_ONE_SLEEPER);
		fev__wait_wake_all(w);
		pthread_join(t, NULL);
		fail_msg("an event waited 5 s for a consumer that slept on");
	}
	pthread_join(t, NULL);
	assert_int_equal(f.rc, sizeof(f.v));
	assert_int_equal(f.v, 99);
	hq_teardown(&h);
}

/* ---- the header, after attach ------------------------------------------- */

static void corrupt_header(struct fev__header *hd)
{
	hd->capacity = FEV__CAPACITY_MAX;
	hd->slot_size = 8;
	hd->max_event = UINT32_MAX;
	hd->attacher_max = UINT32_MAX;
	hd->off_slots = 0;
	hd->off_attachers = UINT64_MAX;
	hd->off_head = 3;
	hd->seg_size = 1;
	hd->policy = 77;
	hd->partitions = UINT32_MAX;
	hd->partition = 7;
	memset(hd->name, 'x', sizeof(hd->name));
}

static void test_header_changed_after_attach_is_never_read_again(
	void **state)
{
	fev_open_opts o = { .struct_size = sizeof(o) };
	uint8_t big[65] = { 0 };
	fev_queue *late = NULL;
	struct hq h;
	fev_stats st;

	(void)state;
	hq_setup(&h, 4, 64, FEV_POLICY_REJECT);
	corrupt_header(&h.m.seg->hdr);
	/* Attached handles work from their own copy of the geometry. */
	for (uint64_t v = 0; v < 4; v++)
		hq_send(&h, v);
	assert_int_equal(fev_send(h.p, big, 8, 0), -EAGAIN); /* REJECT */
	assert_int_equal(fev_send(h.p, big, sizeof(big), 0), -EMSGSIZE);
	for (uint64_t v = 0; v < 4; v++)
		assert_int_equal(hq_recv(&h), v);
	/* So do repair and statistics on a mapping validated before. */
	fev__map_stats(&h.m, &st);
	assert_int_equal(st.capacity, 4);
	assert_int_equal(st.max_event, 64);
	assert_int_equal(st.policy, FEV_POLICY_REJECT);
	/* (Records 0 and 1 are the live handles': not ours to repair.) */
	for (uint32_t i = 2; i < h.m.geo.attacher_max; i++)
		assert_int_equal(fev__repair_attacher(&h.m, i, NULL), 0);
	/* Whoever maps it now is refused. */
	o.instance = h.inst;
	assert_int_equal(fev_open("q", FEV_CONSUMER, &o, &late), -EBADMSG);
	assert_null(late);
	assert_int_equal(fev_queue_stats("q", h.inst, &st), -EBADMSG);
	hq_teardown(&h); /* delete removes a corrupt segment too */
}

/* ---- attacher records --------------------------------------------------- */

static void test_attacher_states_nobody_writes_are_never_taken_or_repaired(
	void **state)
{
	static const uint32_t garbage[] = { 4, 77, UINT32_MAX, 0x80000002u };
	fev_open_opts o = { .struct_size = sizeof(o) };
	fev_queue *late = NULL;
	struct hq h;
	fev_stats st;

	(void)state;
	hq_setup(&h, 4, 8, FEV_POLICY_BLOCK);
	o.instance = h.inst;
	for (uint32_t i = 0; i < h.m.geo.attacher_max; i++) {
		struct fev__attacher *a = &h.m.attachers[i];

		atomic_store(&a->state, garbage[i % 4]);
		atomic_store(&a->prod.n, UINT32_MAX);
		atomic_store(&a->cons.n, UINT32_MAX);
	}
	assert_int_equal(fev_open("q", FEV_CONSUMER, &o, &late), -EUSERS);
	for (uint32_t i = 0; i < h.m.geo.attacher_max; i++) {
		int rc = fev__repair_attacher(&h.m, i, NULL);

		assert_true(rc == 0 || rc == -EAGAIN);
		assert_false(fev__attacher_alive(&h.m.attachers[i]));
	}
	assert_int_equal(fev_queue_stats("q", h.inst, &st), 0);
	assert_int_equal(st.producers + st.consumers, 0);
	/* The two live handles still work; closing puts their records
	 * back to FREE, and the next open takes one. */
	hq_send(&h, 5);
	assert_int_equal(hq_recv(&h), 5);
	fev_close(h.p);
	h.p = NULL;
	h.p = fevtest_open(h.inst, "q", FEV_PRODUCER, FEV_OPEN_NO_SPIN);
	hq_teardown(&h);
}

static void test_attacher_pid_and_roles_garbage_is_only_reported(
	void **state)
{
	static const int32_t pids[] = { 0, -1, INT32_MIN, INT32_MAX,
					4194305 /* > pid_max */ };
	struct fev__identity me;
	struct hq h;
	fev_stats st;

	(void)state;
	hq_setup(&h, 4, 8, FEV_POLICY_BLOCK);
	for (size_t i = 0; i < sizeof(pids) / sizeof(pids[0]); i++) {
		struct fev__attacher *a = &h.m.attachers[20 + i];

		a->pid = pids[i];
		a->roles = UINT32_MAX;
		a->start_time = UINT64_MAX;
		atomic_store(&a->state, FEV__ATT_ACTIVE);
		assert_false(fev__attacher_alive(a));
	}
	/* Our own pid and namespace, another start time: a reused pid, so
	 * not alive. */
	fev__identity_self(&me);
	h.m.attachers[30].pid = me.pid;
	h.m.attachers[30].pidns = me.pidns;
	h.m.attachers[30].start_time = 1;
	atomic_store(&h.m.attachers[30].state, FEV__ATT_ACTIVE);
	assert_false(fev__attacher_alive(&h.m.attachers[30]));
	assert_int_equal(fev_queue_stats("q", h.inst, &st), 0);
	/* Unknown role bits count for nothing; both known ones count. */
	assert_int_equal(st.producers, 1 + 5);
	assert_int_equal(st.consumers, 1 + 5);
	for (uint32_t i = 20; i <= 30; i++) {
		int rc = fev__repair_attacher(&h.m, i, NULL);

		assert_true(rc == 0 || rc == -EAGAIN);
	}
	hq_send(&h, 9);
	assert_int_equal(hq_recv(&h), 9);
	hq_teardown(&h);
}

/* ---- the state line ---------------------------------------------------- */

static void test_state_word_other_than_deleted_keeps_the_queue_live(
	void **state)
{
	static const uint32_t states[] = { 0, 3, 77, UINT32_MAX };
	struct hq h;
	uint64_t v = 0;

	(void)state;
	hq_setup(&h, 4, 8, FEV_POLICY_BLOCK);
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		atomic_store(&h.m.seg->state_line.state, states[i]);
		hq_send(&h, i);
		assert_int_equal(hq_recv(&h), i);
	}
	atomic_store(&h.m.seg->state_line.state, FEV__SEG_DELETED);
	assert_int_equal(fev_send(h.p, &v, sizeof(v), FEV_FOREVER), -EIDRM);
	assert_int_equal(fev_recv(h.c, &v, sizeof(v), NULL, FEV_FOREVER),
			 -EIDRM);
	hq_teardown(&h);
}

static void test_stats_sequence_stuck_mid_retirement_still_answers(
	void **state)
{
	struct hq h;
	fev_stats st;
	uint64_t t0;
	struct fev__state_line *f;

	(void)state;
	hq_setup(&h, 4, 8, FEV_POLICY_BLOCK);
	f = &h.m.seg->state_line;
	atomic_store(&f->stats_seq, UINT32_MAX);
	atomic_store(&f->retired_enqueued, UINT64_MAX);
	atomic_store(&f->retired_dequeued, UINT64_MAX);
	atomic_store(&f->tombstoned, UINT64_MAX);
	atomic_store(&h.m.attachers[40].enqueued, UINT64_MAX);
	atomic_store(&h.m.attachers[40].state, FEV__ATT_ACTIVE);
	t0 = fevtest_now_ns();
	assert_int_equal(fev_queue_stats("q", h.inst, &st), 0);
	if (fevtest_now_ns() - t0 > 1000 * MS)
		fail_msg("stats took %.0f ms",
			 (double)(fevtest_now_ns() - t0) / 1e6);
	assert_int_equal(st.tombstoned, UINT64_MAX);
	/* Closing handles retire counters into a sequence at its limit. */
	fev_close(h.p);
	h.p = fevtest_open(h.inst, "q", FEV_PRODUCER, FEV_OPEN_NO_SPIN);
	hq_send(&h, 3);
	assert_int_equal(hq_recv(&h), 3);
	hq_teardown(&h);
}

/* ---- consumer group tables (topics) ------------------------------------ */

struct ht {
	char inst[FEV_INSTANCE_MAX + 1];
	fev_queue *p, *c; /* producer, member of group "a" */
	struct fev__map m;
	struct fev__group *a;
};

static void ht_setup(struct ht *t)
{
	fev_queue_config cfg = { .struct_size = sizeof(cfg), .capacity = 8,
				 .max_event = 8 };
	fev_open_opts o = { .struct_size = sizeof(o), .flags = FEV_OPEN_NO_SPIN,
			    .group = "a" };

	fevtest_instance(t->inst);
	o.instance = t->inst;
	assert_int_equal(fev_topic_create("t", 1, &cfg, t->inst), 0);
	assert_int_equal(fev_group_create("t", "a", NULL, t->inst), 0);
	assert_int_equal(fev_group_delete("t", "default", t->inst), 0);
	t->p = fevtest_open(t->inst, "t", FEV_PRODUCER, FEV_OPEN_NO_SPIN);
	assert_int_equal(fev_open("t", FEV_CONSUMER, &o, &t->c), 0);
	assert_int_equal(fev__map_open(t->inst, "t", true, &t->m), 0);
	t->a = &t->m.groups[fev__group_find(&t->m, "a")];
}

static void ht_teardown(struct ht *t)
{
	fev_close(t->c);
	fev_close(t->p);
	fev__map_close(&t->m);
	assert_int_equal(fev_topic_delete("t", t->inst), 0);
	fevtest_assert_no_leftovers(t->inst);
}

static uint64_t ht_recv(struct ht *t)
{
	uint64_t v = UINT64_MAX;

	assert_int_equal(fev_recv(t->c, &v, sizeof(v), NULL, 0), sizeof(v));
	return v;
}

static void test_forged_redo_lists_are_never_followed_out_of_the_ring(
	void **state)
{
	struct ht t;
	uint64_t v = 5;

	(void)state;
	ht_setup(&t);
	/* Far ahead of its tail: not a list anyone wrote. */
	atomic_store(&t.a->redo_head, atomic_load(&t.a->redo_tail) + 1000);
	assert_int_equal(fev_send(t.p, &v, sizeof(v), 0), 0);
	assert_int_equal(ht_recv(&t), 5);
	/* Nothing to take, and a list that says otherwise: the wait still
	 * ends at its timeout (it used to take the list's word that an
	 * event was waiting, and look again, forever). */
	assert_int_equal(fev_recv(t.c, &v, sizeof(v), NULL, 20 * FEVTEST_MS),
			 -ETIMEDOUT);
	/* Entries naming positions no one holds: dropped as stale. */
	atomic_store(&t.a->redo_tail, 0);
	atomic_store(&t.a->redo[0], 0);
	atomic_store(&t.a->redo[1], UINT64_MAX);
	atomic_store(&t.a->redo[2], 12345);
	atomic_store(&t.a->redo_head, 3);
	assert_int_equal(fev_recv(t.c, &v, sizeof(v), NULL, 0), -EAGAIN);
	v = 6;
	assert_int_equal(fev_send(t.p, &v, sizeof(v), 0), 0);
	assert_int_equal(ht_recv(&t), 6);
	ht_teardown(&t);
}

static void test_a_forged_group_cursor_far_behind_is_an_error_not_a_hang(
	void **state)
{
	struct ht t;
	uint64_t v = 5, cursor;

	(void)state;
	ht_setup(&t);
	assert_int_equal(fev_send(t.p, &v, sizeof(v), 0), 0);
	assert_int_equal(ht_recv(&t), 5);
	/* 2^40 positions behind: every slot reads as a hole to skip, one
	 * position at a time (it used to skip them all, for hours). */
	cursor = atomic_load(&t.a->cursor.pos);
	atomic_store(&t.a->cursor.pos, cursor - (UINT64_C(1) << 40));
	assert_int_equal(fev_recv(t.c, &v, sizeof(v), NULL, 0), -EBADMSG);
	assert_int_equal(fev_recv(t.c, &v, sizeof(v), NULL, 20 * FEVTEST_MS),
			 -EBADMSG);
	atomic_store(&t.a->cursor.pos, cursor);
	v = 6;
	assert_int_equal(fev_send(t.p, &v, sizeof(v), 0), 0);
	assert_int_equal(ht_recv(&t), 6);
	ht_teardown(&t);
}

static int count_groups(const char *group, void *arg)
{
	(void)group;
	(*(int *)arg)++;
	return 0;
}

static void test_forged_group_records_give_errors_not_crashes(void **state)
{
	struct ht t;
	fev_open_opts o = { .struct_size = sizeof(o) };
	fev_queue *late = NULL;
	uint64_t v = 1;
	int listed = 0;

	(void)state;
	ht_setup(&t);
	o.instance = t.inst;
	/* A name with no terminator is never read past its field. */
	memset(t.a->name, 'x', sizeof(t.a->name));
	o.group = "a";
	assert_int_equal(fev_open("t", FEV_CONSUMER, &o, &late), -ENOENT);
	assert_int_equal(fev_group_list("t", t.inst, count_groups, &listed),
			 0);
	assert_int_equal(listed, 1); /* 31 x's: cut at its field's end */
	memcpy(t.a->name, "a", 2);
	/* Slot words of another lap: not this group's to read or release. */
	assert_int_equal(fev_send(t.p, &v, sizeof(v), 0), 0);
	atomic_store(&t.m.slot_grps[0].done, UINT64_C(7) << 32);
	assert_int_equal(fev_recv(t.c, &v, sizeof(v), NULL, 0), -EAGAIN);
	/* No group reads new events: they are never freed, and producers
	 * see a full ring, in bounded time. */
	atomic_store(&t.m.seg->state_line.groups_active, 0);
	for (int i = 0; i < 8; i++)
		(void)fev_send(t.p, &v, sizeof(v), 0);
	assert_int_equal(fev_send(t.p, &v, sizeof(v), 0), -EAGAIN);
	/* A state nobody writes: its members stop, nobody joins it. */
	atomic_store(&t.a->state, 77);
	assert_int_equal(fev_recv(t.c, &v, sizeof(v), NULL, 0), -EIDRM);
	assert_int_equal(fev_open("t", FEV_CONSUMER, &o, &late), -ENOENT);
	assert_null(late);
	atomic_store(&t.a->state, FEV__GROUP_ACTIVE);
	ht_teardown(&t);
}

static void fill(struct ht *t)
{
	for (uint64_t v = 0; v < 8; v++)
		assert_int_equal(fev_send(t->p, &v, sizeof(v), 0), 0);
}

static void test_forged_drop_policy_and_counters_give_errors_not_crashes(
	void **state)
{
	struct ht t;
	fev_group_info gi = { .struct_size = sizeof(gi) };
	uint64_t v = 8, n, cursor;
	fev_meta meta;

	(void)state;
	ht_setup(&t);
	fill(&t); /* 0 .. 7, read: the oldest is 12 once the ring is full */
	for (uint64_t i = 0; i < 8; i++)
		assert_int_equal(ht_recv(&t), i);
	for (v = 0; v < 4; v++)
		assert_int_equal(fev_send(t.p, &v, sizeof(v), 0), 0);
	for (uint64_t i = 0; i < 4; i++)
		assert_int_equal(ht_recv(&t), i);
	fill(&t);
	v = 8;
	/* A policy fev does not know: reported, and it loses nothing. */
	__atomic_store_n(&t.a->policy, 77u, __ATOMIC_RELAXED);
	assert_int_equal(fev_group_stats("t", "a", t.inst, &gi), -EBADMSG);
	assert_int_equal(fev_send(t.p, &v, sizeof(v), 0), -EAGAIN);
	assert_int_equal(atomic_load(&t.a->dropped), 0);
	/* drop, but a cursor no drop could have left (a lap and more
	 * behind, or past everything): nothing is dropped, in bounded time. */
	__atomic_store_n(&t.a->policy, (uint32_t)FEV_GROUP_DROP,
			 __ATOMIC_RELAXED);
	cursor = atomic_load(&t.a->cursor.pos);
	assert_true(cursor == 12);
	atomic_store(&t.a->cursor.pos, 2);
	assert_int_equal(fev_send(t.p, &v, sizeof(v), 0), -EAGAIN);
	atomic_store(&t.a->cursor.pos, UINT64_MAX - 3);
	assert_int_equal(fev_send(t.p, &v, sizeof(v), 0), -EAGAIN);
	/* A state nobody writes: not a drop group any more. */
	atomic_store(&t.a->cursor.pos, cursor);
	atomic_store(&t.a->state, 77);
	assert_int_equal(fev_send(t.p, &v, sizeof(v), 0), -EAGAIN);
	atomic_store(&t.a->state, FEV__GROUP_ACTIVE);
	assert_int_equal(atomic_load(&t.a->dropped), 0);
	/* As it should be: the oldest goes. */
	assert_int_equal(fev_send(t.p, &v, sizeof(v), 0), 0);
	assert_int_equal(atomic_load(&t.a->dropped), 1);
	/* Any count: the member is told, and reads it back; sums wrap. */
	atomic_store(&t.a->dropped, UINT64_MAX);
	atomic_store(&t.a->gap_seen, 3);
	assert_int_equal(fev_recv(t.c, &v, sizeof(v), &meta, 0), sizeof(v));
	assert_int_equal(v, 1);
	assert_int_equal(meta.flags, FEV_GAP);
	assert_int_equal(fev_group_dropped(t.c, &n), 0);
	assert_true(n == UINT64_MAX);
	assert_int_equal(fev_group_stats("t", "a", t.inst, &gi), 0);
	assert_true(gi.dropped == UINT64_MAX);
	ht_teardown(&t);
}

/* ---- ordered groups' ownership words ------------------------------------ */

/* The id of the member whose partition-0 record is the only consumer of
 * group gi (group_assign.h). */
static uint32_t only_member_id(const struct fev__map *m, uint32_t gi)
{
	for (uint32_t i = 0; i < m->geo.attacher_max; i++) {
		const struct fev__attacher *a = &m->attachers[i];

		if (atomic_load(&a->state) == FEV__ATT_ACTIVE &&
		    a->group == gi + 1)
			return fev__member_id(i, a->attach_ns);
	}
	fail_msg("no member record");
	return 0;
}

static void test_forged_ownership_words_give_errors_not_crashes(
	void **state)
{
	char inst[FEV_INSTANCE_MAX + 1];
	fev_queue_config cfg = { .struct_size = sizeof(cfg), .capacity = 8,
				 .max_event = 8 };
	fev_group_config gc = { .struct_size = sizeof(gc),
				.start = FEV_GROUP_EARLIEST,
				.mode = FEV_GROUP_ORDERED };
	fev_open_opts o = { .struct_size = sizeof(o), .group = "g" };
	fev_partition_owner own[2];
	fev_member *mb = NULL, *late = NULL;
	fev_queue *plain = NULL, *p;
	struct fev__map m;
	struct fev__group *g;
	fev_event ev;
	uint32_t id, k;
	uint64_t v = 9;

	(void)state;
	fevtest_instance(inst);
	o.instance = inst;
	assert_int_equal(fev_topic_create("o", 2, &cfg, inst), 0);
	assert_int_equal(fev_group_create("o", "g", &gc, inst), 0);
	assert_int_equal(fev_member_join("o", &o, &mb), 0);
	p = fevtest_open(inst, "o", FEV_PRODUCER, FEV_OPEN_NO_SPIN);
	assert_int_equal(fev__map_open(inst, "o", true, &m), 0);
	g = &m.groups[fev__group_find(&m, "g")];
	id = only_member_id(&m, (uint32_t)(g - m.groups));
	/* Without fevd nobody is given anything. */
	assert_int_equal(fev_member_owned(mb, NULL, 0), 0);
	assert_int_equal(fev_member_acquire(mb, &ev, &k, 0), -EAGAIN);
	/* A lease forged to name it, with resume anywhere: it reads at most
	 * a lap back, and what is there. */
	atomic_store(&g->resume, UINT64_MAX);
	atomic_store(&g->lease, ((uint64_t)77 << 32) | id);
	assert_int_equal(fev_member_owned(mb, NULL, 0), 1);
	assert_int_equal(fev_send(p, &v, sizeof(v), 0), 0);
	assert_int_equal(fev_member_acquire(mb, &ev, &k, 0), 0);
	assert_int_equal(k, 0);
	assert_int_equal(*(const uint64_t *)ev.data, 9);
	/* An event whose private words the caller changed. */
	ev.priv_pad = 255;
	assert_int_equal(fev_member_release(mb, &ev), -EINVAL);
	ev.priv_pad = 0; /* partition 0, generation 0: not 77's */
	assert_int_equal(fev_member_release(mb, &ev), -EKEYREVOKED);
	/* next naming nobody: it hands over (to an orphan), holds nothing. */
	atomic_store(&g->next, 0xdeadbeefu);
	assert_int_equal(fev_member_owned(mb, NULL, 0), 0);
	assert_int_equal(fev_group_owners("o", "g", inst, own, 2), 2);
	assert_int_equal(own[0].pid, 0);
	assert_int_equal(own[0].generation, 78);
	/* Owner ids out of the attacher table, for the tools. */
	atomic_store(&g->lease, UINT64_MAX);
	atomic_store(&g->next, 0xffffu);
	assert_int_equal(fev_group_owners("o", "g", inst, own, 2), 2);
	assert_int_equal(own[0].pid, 0);
	assert_int_equal(own[0].next_pid, 0);
	assert_int_equal(fev_member_owned(mb, NULL, 0), 0);
	/* A revoke word forged to name its lease: it stops taking from the
	 * partition and says so until it leaves, nothing more. */
	atomic_store(&g->next, 0);
	atomic_store(&g->lease, ((uint64_t)80 << 32) | id);
	assert_int_equal(fev_member_owned(mb, NULL, 0), 1);
	atomic_store(&g->revoke, ((uint64_t)80 << 32) | id);
	assert_int_equal(fev_member_owned(mb, NULL, 0), -EKEYREVOKED);
	assert_int_equal(fev_member_acquire(mb, &ev, &k, 0), -EKEYREVOKED);
	/* A mode nobody writes: refused, not read as either. */
	g->mode = 9;
	assert_int_equal(fev_group_mode("o", "g", inst), -EBADMSG);
	assert_int_equal(fev_member_join("o", &o, &late), -EBADMSG);
	assert_int_equal(fev_open("o", FEV_CONSUMER, &o, &plain), -EBADMSG);
	assert_int_equal(fev_group_owners("o", "g", inst, own, 2), -EINVAL);
	g->mode = FEV_GROUP_ORDERED;
	fev_member_leave(mb);
	fev_close(p);
	fev__map_close(&m);
	assert_int_equal(fev_topic_delete("o", inst), 0);
	fevtest_assert_no_leftovers(inst);
}

/* What fev stat reads of a group (group_view.h) from forged records. */
static void test_forged_group_records_give_bounded_statistics(void **state)
{
	struct ht t;
	struct fev__group_view gs;
	uint64_t v = 1, head;
	uint32_t gi, group0, group1;

	(void)state;
	ht_setup(&t);
	gi = (uint32_t)(t.a - t.m.groups);
	for (int i = 0; i < 3; i++)
		assert_int_equal(fev_send(t.p, &v, sizeof(v), 0), 0);
	assert_int_equal(fev__group_read(&t.m, gi, &gs), 0);
	assert_string_equal(gs.name, "a");
	assert_int_equal(gs.lag, 3);
	assert_int_equal(gs.members, 1);
	/* A start past head is ignored; one far behind reads the ring. */
	t.a->start = UINT64_MAX;
	assert_int_equal(fev__group_read(&t.m, gi, &gs), 0);
	assert_int_equal(gs.lag, 3);
	/* A redo list longer than it can be shows none waiting. */
	atomic_store(&t.a->redo_head, atomic_load(&t.a->redo_tail) + 1000);
	assert_int_equal(fev__group_read(&t.m, gi, &gs), 0);
	assert_int_equal(gs.redo_waiting, 0);
	atomic_store(&t.a->redo_head, atomic_load(&t.a->redo_tail));
	/* head far ahead: at most a ring's worth of slots is looked at. */
	head = atomic_load(&t.m.seg->head.pos);
	atomic_store(&t.m.seg->head.pos, UINT64_MAX - 1);
	assert_int_equal(fev__group_read(&t.m, gi, &gs), 0);
	assert_true(gs.lag <= t.m.geo.capacity);
	atomic_store(&t.m.seg->head.pos, head);
	/* A member record naming a group index nobody has: not counted. */
	group0 = t.m.attachers[0].group;
	group1 = t.m.attachers[1].group;
	t.m.attachers[0].group = t.m.attachers[1].group = UINT32_MAX;
	assert_int_equal(fev__group_read(&t.m, gi, &gs), 0);
	assert_int_equal(gs.members, 0);
	t.m.attachers[0].group = group0;
	t.m.attachers[1].group = group1;
	/* A name without its terminator, or not a group name: refused. */
	memset(t.a->name, 'x', sizeof(t.a->name));
	assert_int_equal(fev__group_read(&t.m, gi, &gs), 0);
	assert_int_equal(strlen(gs.name), FEV_GROUP_NAME_MAX);
	memcpy(t.a->name, "a\"b", 4);
	assert_int_equal(fev__group_read(&t.m, gi, &gs), -EBADMSG);
	memcpy(t.a->name, "a", 2);
	/* Out of the table, or not ACTIVE: no such group. */
	assert_int_equal(fev__group_read(&t.m, t.m.geo.groups_max, &gs),
			 -ENOENT);
	atomic_store(&t.a->state, 77);
	assert_int_equal(fev__group_read(&t.m, gi, &gs), -ENOENT);
	atomic_store(&t.a->state, FEV__GROUP_ACTIVE);
	ht_teardown(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_slot_attacher_index_out_of_range_is_carried_not_used),
		T(test_unknown_slot_flags_never_reach_the_consumer),
		T(test_slot_length_is_checked_at_the_boundary_and_in_batches),
		T(test_repair_never_copies_a_forged_length),
		T(test_forged_key_and_headers_are_refused_not_read_past),
		T(test_headers_rewritten_after_acquire_stay_in_bounds),
		T(test_repair_carries_forged_meta_to_a_consumer_that_refuses_it),
		T(test_forged_hold_records_cost_repair_at_most_one_lap),
		T(test_head_far_ahead_of_the_slots_is_a_full_queue),
		T(test_tail_ahead_of_head_reads_as_an_empty_queue),
		T(test_cursors_at_the_end_of_the_position_space_stay_bounded),
		T(test_a_forged_group_cursor_far_behind_is_an_error_not_a_hang),
		T(test_wait_word_with_every_sleeper_slot_taken),
		T(test_sleeper_whose_registration_was_erased_still_wakes),
		T(test_header_changed_after_attach_is_never_read_again),
		T(test_attacher_states_nobody_writes_are_never_taken_or_repaired),
		T(test_attacher_pid_and_roles_garbage_is_only_reported),
		T(test_state_word_other_than_deleted_keeps_the_queue_live),
		T(test_stats_sequence_stuck_mid_retirement_still_answers),
		T(test_forged_redo_lists_are_never_followed_out_of_the_ring),
		T(test_forged_group_records_give_errors_not_crashes),
		T(test_forged_drop_policy_and_counters_give_errors_not_crashes),
		T(test_forged_ownership_words_give_errors_not_crashes),
		T(test_forged_group_records_give_bounded_statistics),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
