/*
 * The client API on one queue in one process: full-queue policies, sizes,
 * zero-length events, zero copy, batches, roles and statistics.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "fevtest.h"
#include "segment.h"

static int setup(void **state)
{
	return fevtest_setup(state, 0);
}

static uint64_t recv_u64(fev_queue *q, int64_t timeout_ns)
{
	uint64_t v = 0;

	assert_int_equal(fev_recv(q, &v, sizeof(v), NULL, timeout_ns),
			 sizeof(v));
	return v;
}

/* ---- policies ---------------------------------------------------------- */

struct blocked_send {
	fev_queue *q;
	uint64_t value;
	atomic_int done;
	int rc;
};

static void *send_blocking(void *arg)
{
	struct blocked_send *b = arg;

	b->rc = fev_send(b->q, &b->value, sizeof(b->value), 5000 * FEVTEST_MS);
	atomic_store(&b->done, 1);
	return NULL;
}

static void test_block_policy_producer_waits_until_a_consumer_frees_room(
	void **state)
{
	struct fevtest_ctx *c = *state;
	fev_queue *p, *r;
	struct blocked_send b = { .value = 4 };
	pthread_t t;
	fev_stats st;

	fevtest_create(c->inst, "blk", 4, 8, FEV_POLICY_BLOCK);
	p = fevtest_open(c->inst, "blk", FEV_PRODUCER, 0);
	r = fevtest_open(c->inst, "blk", FEV_CONSUMER, 0);
	for (uint64_t i = 0; i < 4; i++)
		assert_int_equal(fev_send(p, &i, sizeof(i), 0), 0);
	assert_int_equal(fev_send(p, &b.value, sizeof(b.value), 0), -EAGAIN);

	b.q = p;
	assert_int_equal(pthread_create(&t, NULL, send_blocking, &b), 0);
	fevtest_sleep_ms(100);
	assert_int_equal(atomic_load(&b.done), 0);
	assert_int_equal(recv_u64(r, 0), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(b.rc, 0);
	for (uint64_t i = 1; i <= 4; i++)
		assert_int_equal(recv_u64(r, 0), i);

	assert_int_equal(fev_queue_stats("blk", c->inst, &st), 0);
	assert_true(st.full_waits >= 1);
	assert_int_equal(st.dropped, 0);
	fev_close(p);
	fev_close(r);
	assert_int_equal(fev_queue_delete("blk", c->inst), 0);
}

static void test_reject_policy_returns_eagain_at_once_when_full(void **state)
{
	struct fevtest_ctx *c = *state;
	fev_queue *q;
	uint64_t v = 9, t0;

	fevtest_create(c->inst, "rej", 2, 8, FEV_POLICY_REJECT);
	q = fevtest_open(c->inst, "rej", FEV_PRODUCER | FEV_CONSUMER, 0);
	assert_int_equal(fev_send(q, &v, sizeof(v), FEV_FOREVER), 0);
	assert_int_equal(fev_send(q, &v, sizeof(v), FEV_FOREVER), 0);
	/* Even with a timeout, reject never waits. */
	t0 = fevtest_now_ns();
	assert_int_equal(fev_send(q, &v, sizeof(v), FEV_FOREVER), -EAGAIN);
	assert_int_equal(fev_send(q, &v, sizeof(v), 1000 * FEVTEST_MS),
			 -EAGAIN);
	assert_true(fevtest_now_ns() - t0 < 500 * FEVTEST_MS);
	assert_int_equal(recv_u64(q, 0), 9);
	assert_int_equal(fev_send(q, &v, sizeof(v), 0), 0);
	fev_close(q);
	assert_int_equal(fev_queue_delete("rej", c->inst), 0);
}

static void test_drop_oldest_discards_the_oldest_and_counts_it(void **state)
{
	struct fevtest_ctx *c = *state;
	fev_queue *p, *r;
	fev_stats st;

	fevtest_create(c->inst, "drop", 4, 8, FEV_POLICY_DROP_OLDEST);
	p = fevtest_open(c->inst, "drop", FEV_PRODUCER, 0);
	r = fevtest_open(c->inst, "drop", FEV_CONSUMER, 0);
	for (uint64_t i = 0; i < 10; i++)
		assert_int_equal(fev_send(p, &i, sizeof(i), 0), 0);
	assert_int_equal(fev_queue_stats("drop", c->inst, &st), 0);
	assert_int_equal(st.dropped, 6);
	assert_int_equal(st.enqueued, 10);
	assert_int_equal(st.depth, 4);
	assert_int_equal(st.policy, FEV_POLICY_DROP_OLDEST);
	for (uint64_t i = 6; i < 10; i++)
		assert_int_equal(recv_u64(r, 0), i);
	assert_int_equal(fev_recv(r, NULL, 0, NULL, 0), -EAGAIN);

	/* Dropped events were never delivered, so they are not dequeued. */
	assert_int_equal(fev_queue_stats("drop", c->inst, &st), 0);
	assert_int_equal(st.dequeued, 4);
	assert_int_equal(st.depth, 0);
	fev_close(p);
	fev_close(r);
	assert_int_equal(fev_queue_delete("drop", c->inst), 0);
}

static void test_drop_oldest_waits_rather_than_drop_a_held_event(void **state)
{
	struct fevtest_ctx *c = *state;
	fev_queue *p, *r;
	fev_event ev;
	fev_stats st;
	uint64_t v;

	fevtest_create(c->inst, "droph", 2, 8, FEV_POLICY_DROP_OLDEST);
	p = fevtest_open(c->inst, "droph", FEV_PRODUCER, 0);
	r = fevtest_open(c->inst, "droph", FEV_CONSUMER, 0);
	for (v = 0; v < 2; v++)
		assert_int_equal(fev_send(p, &v, sizeof(v), 0), 0);
	assert_int_equal(fev_acquire(r, &ev, 0), 0);
	/* The next slot is the held one: nothing may be dropped, so wait. */
	v = 2;
	assert_int_equal(fev_send(p, &v, sizeof(v), 0), -EAGAIN);
	assert_int_equal(fev_send(p, &v, sizeof(v), 20 * FEVTEST_MS),
			 -ETIMEDOUT);
	assert_int_equal(fev_queue_stats("droph", c->inst, &st), 0);
	assert_int_equal(st.dropped, 0);
	assert_memory_equal(ev.data, &(uint64_t){ 0 }, sizeof(v));
	assert_int_equal(fev_release(r, &ev), 0);
	assert_int_equal(fev_send(p, &v, sizeof(v), 0), 0);
	v = 3;
	assert_int_equal(fev_send(p, &v, sizeof(v), 0), 0); /* drops 1 */
	assert_int_equal(recv_u64(r, 0), 2);
	assert_int_equal(recv_u64(r, 0), 3);
	assert_int_equal(fev_queue_stats("droph", c->inst, &st), 0);
	assert_int_equal(st.dropped, 1);
	fev_close(p);
	fev_close(r);
	assert_int_equal(fev_queue_delete("droph", c->inst), 0);
}

/* ---- sizes ------------------------------------------------------------- */

static void test_send_larger_than_max_event_is_emsgsize(void **state)
{
	struct fevtest_ctx *c = *state;
	char big[65] = { 0 };
	struct iovec iov[2] = { { big, 8 }, { big, 65 } };
	fev_claim cl;
	fev_queue *q;

	fevtest_create(c->inst, "size", 4, 64, FEV_POLICY_BLOCK);
	q = fevtest_open(c->inst, "size", FEV_PRODUCER | FEV_CONSUMER, 0);
	assert_int_equal(fev_send(q, big, 65, 0), -EMSGSIZE);
	assert_int_equal(fev_reserve(q, 65, &cl, 0), -EMSGSIZE);
	assert_int_equal(fev_send_batch(q, iov, 2, 0), -EMSGSIZE);
	assert_int_equal(fev_send(q, big, 64, 0), 0);
	assert_int_equal(fev_recv(q, big, sizeof(big), NULL, 0), 64);
	/* A refused batch sent nothing. */
	assert_int_equal(fev_recv(q, big, sizeof(big), NULL, 0), -EAGAIN);
	fev_close(q);
	assert_int_equal(fev_queue_delete("size", c->inst), 0);
}

static void test_recv_into_a_small_buffer_keeps_the_event_for_the_next_call(
	void **state)
{
	struct fevtest_ctx *c = *state;
	char small[4], buf[64];
	fev_meta m1, m2;
	fev_queue *q;

	fevtest_create(c->inst, "small", 4, 64, FEV_POLICY_BLOCK);
	q = fevtest_open(c->inst, "small", FEV_PRODUCER | FEV_CONSUMER, 0);
	assert_int_equal(fev_send(q, "0123456789", 10, 0), 0);
	assert_int_equal(fev_send(q, "ab", 2, 0), 0);
	assert_int_equal(fev_recv(q, small, sizeof(small), &m1, 0),
			 -EMSGSIZE);
	assert_int_equal(fev_recv(q, small, sizeof(small), &m1, 0),
			 -EMSGSIZE);
	assert_int_equal(fev_recv(q, buf, sizeof(buf), &m1, 0), 10);
	assert_memory_equal(buf, "0123456789", 10);
	assert_int_equal(fev_recv(q, small, sizeof(small), &m2, 0), 2);
	assert_memory_equal(small, "ab", 2);
	assert_int_equal(m2.id, m1.id + 1);
	assert_int_equal(fev_recv(q, buf, sizeof(buf), NULL, 0), -EAGAIN);
	fev_close(q);
	assert_int_equal(fev_queue_delete("small", c->inst), 0);
}

static void test_zero_length_events_are_delivered(void **state)
{
	struct fevtest_ctx *c = *state;
	fev_claim cl;
	fev_event ev;
	fev_queue *q;
	char buf[8];

	/* max_event 0: a queue of pure signals. */
	fevtest_create(c->inst, "zero", 4, 0, FEV_POLICY_BLOCK);
	q = fevtest_open(c->inst, "zero", FEV_PRODUCER | FEV_CONSUMER, 0);
	for (int lap = 0; lap < 5; lap++) {
		assert_int_equal(fev_send(q, NULL, 0, 0), 0);
		assert_int_equal(fev_reserve(q, 0, &cl, 0), 0);
		assert_int_equal(cl.cap, 0);
		assert_int_equal(fev_commit(q, &cl, 0), 0);
		assert_int_equal(fev_recv(q, NULL, 0, NULL, 0), 0);
		assert_int_equal(fev_recv(q, buf, sizeof(buf), NULL, 0), 0);
	}
	assert_int_equal(fev_send(q, buf, 1, 0), -EMSGSIZE);
	assert_int_equal(fev_send(q, NULL, 0, 0), 0);
	assert_int_equal(fev_acquire(q, &ev, 0), 0);
	assert_int_equal(ev.len, 0);
	assert_int_equal(fev_release(q, &ev), 0);
	fev_close(q);
	assert_int_equal(fev_queue_delete("zero", c->inst), 0);
}

/* ---- zero copy --------------------------------------------------------- */

static void test_reserve_commit_acquire_release_pass_data_in_place(
	void **state)
{
	struct fevtest_ctx *c = *state;
	fev_claim cl;
	fev_event ev, again;
	fev_queue *q;
	struct timespec now;
	uint64_t before;

	fevtest_create(c->inst, "zc", 4, 128, FEV_POLICY_BLOCK);
	q = fevtest_open(c->inst, "zc", FEV_PRODUCER | FEV_CONSUMER, 0);
	clock_gettime(CLOCK_REALTIME, &now);
	before = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	assert_int_equal(fev_reserve(q, 100, &cl, 0), 0);
	assert_non_null(cl.data);
	assert_int_equal(cl.cap, 128);
	memset(cl.data, 'x', 128);
	memcpy(cl.data, "in place", 8);
	/* Commit fewer bytes than reserved; more than max_event is refused. */
	assert_int_equal(fev_commit(q, &cl, 129), -EMSGSIZE);
	assert_int_equal(fev_commit(q, &cl, 8), 0);
	assert_int_equal(fev_commit(q, &cl, 8), -EINVAL);

	assert_int_equal(fev_acquire(q, &ev, 0), 0);
	assert_int_equal(ev.len, 8);
	assert_memory_equal(ev.data, "in place", 8);
	assert_int_equal(ev.flags, 0);
	assert_true(ev.ts_ns >= before);
	assert_true(ev.ts_ns < before + 10000 * FEVTEST_MS);
	/* Held, so nobody else gets it. */
	assert_int_equal(fev_acquire(q, &again, 0), -EAGAIN);
	assert_int_equal(fev_release(q, &ev), 0);
	assert_int_equal(fev_release(q, &ev), -EINVAL);
	fev_close(q);
	assert_int_equal(fev_queue_delete("zc", c->inst), 0);
}

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void test_timestamps_follow_the_realtime_clock(void **state)
{
	struct fevtest_ctx *c = *state;
	const uint64_t slack = 2 * FEVTEST_MS;
	fev_queue *q;
	fev_meta m;
	uint64_t v = 0;

	fevtest_create(c->inst, "ts", 4, 8, FEV_POLICY_BLOCK);
	q = fevtest_open(c->inst, "ts", FEV_PRODUCER | FEV_CONSUMER, 0);
	/* 400 ms: through calibration and several re-anchors. */
	for (int i = 0; i < 40; i++) {
		for (int burst = 0; burst < 3; burst++) {
			uint64_t before = realtime_ns(), after;

			assert_int_equal(fev_send(q, &v, sizeof(v), 0), 0);
			after = realtime_ns();
			assert_int_equal(fev_recv(q, &v, sizeof(v), &m, 0),
					 sizeof(v));
			if (m.ts_ns + slack < before || m.ts_ns > after + slack)
				fail_msg("event %d stamped %lld ns away from "
					 "the send's [%llu, %llu]",
					 i, (long long)(m.ts_ns - before),
					 (unsigned long long)before,
					 (unsigned long long)after);
		}
		fevtest_sleep_ms(10);
	}
	fev_close(q);
	assert_int_equal(fev_queue_delete("ts", c->inst), 0);
}

static void test_event_ids_are_consecutive_ring_positions(void **state)
{
	struct fevtest_ctx *c = *state;
	fev_queue *q;
	fev_meta m;
	uint64_t v = 0, last = 0;

	fevtest_create(c->inst, "ids", 4, 8, FEV_POLICY_BLOCK);
	q = fevtest_open(c->inst, "ids", FEV_PRODUCER | FEV_CONSUMER, 0);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(fev_send(q, &v, sizeof(v), 0), 0);
		assert_int_equal(fev_recv(q, &v, sizeof(v), &m, 0), sizeof(v));
		if (i > 0)
			assert_int_equal(m.id, last + 1);
		last = m.id;
	}
	fev_close(q);
	assert_int_equal(fev_queue_delete("ids", c->inst), 0);
}

/* ---- batches ----------------------------------------------------------- */

static void test_batches_keep_order_across_the_wrap(void **state)
{
	struct fevtest_ctx *c = *state;
	uint64_t vals[8], next_in = 0, next_out = 0;
	struct iovec iov[8];
	fev_event evs[16];
	fev_queue *q;

	fevtest_create(c->inst, "batch", 8, 8, FEV_POLICY_BLOCK);
	q = fevtest_open(c->inst, "batch", FEV_PRODUCER | FEV_CONSUMER, 0);
	for (int round = 0; round < 50; round++) {
		size_t n = 1 + (size_t)round % 7;
		int k, got;

		for (size_t i = 0; i < n; i++) {
			vals[i] = next_in + i;
			iov[i] = (struct iovec){ &vals[i], sizeof(vals[i]) };
		}
		k = fev_send_batch(q, iov, n, 0);
		assert_int_equal(k, (int)n);
		next_in += (uint64_t)k;
		got = fev_acquire_batch(q, evs, 16, 0);
		assert_int_equal(got, k);
		for (int i = 0; i < got; i++) {
			uint64_t v;

			assert_int_equal(evs[i].len, sizeof(v));
			memcpy(&v, evs[i].data, sizeof(v));
			assert_int_equal(v, next_out++);
		}
		assert_int_equal(fev_release_batch(q, evs, (size_t)got), got);
	}
	fev_close(q);
	assert_int_equal(fev_queue_delete("batch", c->inst), 0);
}

static void test_send_batch_into_a_nearly_full_queue_sends_what_fits(
	void **state)
{
	struct fevtest_ctx *c = *state;
	uint64_t vals[6] = { 0, 1, 2, 3, 4, 5 };
	struct iovec iov[6];
	fev_queue *q;

	for (int i = 0; i < 6; i++)
		iov[i] = (struct iovec){ &vals[i], sizeof(vals[i]) };
	fevtest_create(c->inst, "part", 4, 8, FEV_POLICY_BLOCK);
	q = fevtest_open(c->inst, "part", FEV_PRODUCER | FEV_CONSUMER, 0);
	assert_int_equal(fev_send(q, &vals[0], sizeof(vals[0]), 0), 0);
	assert_int_equal(fev_send_batch(q, iov + 1, 5, 0), 3);
	assert_int_equal(fev_send_batch(q, iov + 4, 2, 0), -EAGAIN);
	for (uint64_t i = 0; i < 4; i++)
		assert_int_equal(recv_u64(q, 0), i);
	assert_int_equal(fev_send_batch(q, iov + 4, 2, 0), 2);
	assert_int_equal(recv_u64(q, 0), 4);
	assert_int_equal(recv_u64(q, 0), 5);
	fev_close(q);
	assert_int_equal(fev_queue_delete("part", c->inst), 0);
}

/* ---- roles and arguments ----------------------------------------------- */

static void test_handles_are_limited_to_the_roles_they_opened(void **state)
{
	struct fevtest_ctx *c = *state;
	fev_queue *p, *r;
	fev_event ev;
	fev_claim cl;
	char buf[8] = { 0 };

	fevtest_create(c->inst, "roles", 4, 8, FEV_POLICY_BLOCK);
	p = fevtest_open(c->inst, "roles", FEV_PRODUCER, 0);
	r = fevtest_open(c->inst, "roles", FEV_CONSUMER, 0);
	assert_int_equal(fev_recv(p, buf, sizeof(buf), NULL, 0), -EPERM);
	assert_int_equal(fev_acquire(p, &ev, 0), -EPERM);
	assert_int_equal(fev_send(r, buf, 1, 0), -EPERM);
	assert_int_equal(fev_reserve(r, 1, &cl, 0), -EPERM);
	fev_close(p);
	fev_close(r);
	assert_int_equal(fev_queue_delete("roles", c->inst), 0);
}

static void test_release_of_an_event_from_another_handle_is_einval(
	void **state)
{
	struct fevtest_ctx *c = *state;
	fev_queue *a, *b;
	fev_event ev, forged;
	uint64_t v = 5;

	fevtest_create(c->inst, "own", 4, 8, FEV_POLICY_BLOCK);
	a = fevtest_open(c->inst, "own", FEV_PRODUCER | FEV_CONSUMER, 0);
	b = fevtest_open(c->inst, "own", FEV_CONSUMER, 0);
	assert_int_equal(fev_send(a, &v, sizeof(v), 0), 0);
	assert_int_equal(fev_acquire(a, &ev, 0), 0);
	assert_int_equal(fev_release(b, &ev), -EINVAL);
	forged = ev;
	forged.priv_pos += 1;
	assert_int_equal(fev_release(a, &forged), -EINVAL);
	assert_int_equal(fev_release(a, NULL), -EINVAL);
	assert_int_equal(fev_release(a, &ev), 0);
	fev_close(a);
	fev_close(b);
	assert_int_equal(fev_queue_delete("own", c->inst), 0);
}

static void test_send_batch_larger_than_the_queue_sends_one_lap(void **state)
{
	struct fevtest_ctx *c = *state;
	uint64_t vals[10];
	struct iovec iov[10];
	fev_queue *q;

	for (int i = 0; i < 10; i++) {
		vals[i] = (uint64_t)i;
		iov[i] = (struct iovec){ &vals[i], sizeof(vals[i]) };
	}
	fevtest_create(c->inst, "lap", 4, 8, FEV_POLICY_BLOCK);
	q = fevtest_open(c->inst, "lap", FEV_PRODUCER | FEV_CONSUMER, 0);
	assert_int_equal(fev_send_batch(q, iov, 10, 0), 4);
	for (uint64_t i = 0; i < 4; i++)
		assert_int_equal(recv_u64(q, 0), i);
	assert_int_equal(fev_send_batch(q, NULL, 1, 0), -EINVAL);
	assert_int_equal(fev_send_batch(q, iov, 0, 0), -EINVAL);
	fev_close(q);
	assert_int_equal(fev_queue_delete("lap", c->inst), 0);
}

static void test_null_instance_means_the_fev_instance_variable(void **state)
{
	struct fevtest_ctx *c = *state;
	fev_queue *q = NULL;
	char *old = getenv("FEV_INSTANCE");
	char *saved = old ? strdup(old) : NULL;

	setenv("FEV_INSTANCE", c->inst, 1);
	assert_string_equal(fev_default_instance(), c->inst);
	fevtest_create(NULL, "env", 4, 8, FEV_POLICY_BLOCK);
	assert_int_equal(fev_open("env", FEV_CONSUMER, NULL, &q), 0);
	fev_close(q);
	assert_int_equal(fevtest_shm_count(c->inst), 1);
	assert_int_equal(fev_queue_delete("env", NULL), 0);
	if (saved) {
		setenv("FEV_INSTANCE", saved, 1);
		free(saved);
	} else {
		unsetenv("FEV_INSTANCE");
	}
}

static void test_segment_gets_the_mode_asked_for_despite_the_umask(
	void **state)
{
	struct fevtest_ctx *c = *state;
	fev_queue_config cfg = { .struct_size = sizeof(cfg), .capacity = 4,
				 .max_event = 8, .mode = 0664,
				 .group = (gid_t)-1 };
	char name[64];
	struct stat st;
	mode_t old = umask(077);
	int fd;

	assert_int_equal(fev_queue_create("mode", &cfg, c->inst), 0);
	umask(old);
	snprintf(name, sizeof(name), "/fev.%s.mode", c->inst);
	fd = shm_open(name, O_RDONLY, 0);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	close(fd);
	assert_int_equal(st.st_mode & 0777, 0664);
	assert_int_equal(fev_queue_delete("mode", c->inst), 0);
}

struct zero_group {
	const char *inst;
};

/* Child: create with a zero-initialised group, report the segment's gid. */
static int create_with_group_zero(void *arg)
{
	const struct zero_group *z = arg;
	fev_queue_config cfg = { .struct_size = sizeof(cfg), .capacity = 4,
				 .max_event = 8 };
	char name[64];
	struct stat st;
	int fd, bad;

	/* Root's own group is 0: another one shows whose group it got. */
	if (geteuid() == 0 && setegid(65534) < 0)
		return 100;
	if (fev_queue_create("zgroup", &cfg, z->inst) < 0)
		return 101;
	snprintf(name, sizeof(name), "/fev.%s.zgroup", z->inst);
	fd = shm_open(name, O_RDONLY, 0);
	bad = fd < 0 || fstat(fd, &st) < 0 || st.st_gid != getegid();
	if (fd >= 0)
		close(fd);
	fev_queue_delete("zgroup", z->inst);
	return bad;
}

/* A zeroed fev_queue_config.group is the creator's group, never root's. */
static void test_zero_initialised_group_is_the_creators_group(void **state)
{
	struct fevtest_ctx *c = *state;
	struct zero_group z = { .inst = c->inst };

	assert_int_equal(fevtest_wait(fevtest_fork(create_with_group_zero, &z),
				      10000),
			 0);
}

static void on_signal(int sig)
{
	(void)sig;
}

struct waiting_recv {
	fev_queue *q;
	int64_t timeout_ns;
	ssize_t rc;
	uint64_t value;
	atomic_int done;
};

static void *recv_waiting(void *arg)
{
	struct waiting_recv *w = arg;

	w->rc = fev_recv(w->q, &w->value, sizeof(w->value), NULL,
			 w->timeout_ns);
	atomic_store(&w->done, 1);
	return NULL;
}

static void test_signals_during_a_wait_do_not_end_it(void **state)
{
	struct fevtest_ctx *c = *state;
	struct sigaction sa = { .sa_handler = on_signal }, old;
	struct waiting_recv w = { .timeout_ns = FEV_FOREVER };
	fev_queue *p;
	pthread_t t;
	uint64_t v = 42;

	/* No SA_RESTART: the futex wait really returns EINTR. */
	assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
	fevtest_create(c->inst, "sig", 4, 8, FEV_POLICY_BLOCK);
	p = fevtest_open(c->inst, "sig", FEV_PRODUCER, 0);
	w.q = fevtest_open(c->inst, "sig", FEV_CONSUMER, FEV_OPEN_NO_SPIN);
	assert_int_equal(pthread_create(&t, NULL, recv_waiting, &w), 0);
	for (int i = 0; i < 20; i++) {
		fevtest_sleep_ms(5);
		pthread_kill(t, SIGUSR1);
	}
	assert_int_equal(atomic_load(&w.done), 0);
	assert_int_equal(fev_send(p, &v, sizeof(v), 0), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(w.rc, sizeof(v));
	assert_int_equal(w.value, 42);

	/* With a timeout, signals neither end the wait early nor stretch it. */
	w = (struct waiting_recv){ .q = w.q, .timeout_ns = 150 * FEVTEST_MS };
	{
		uint64_t t0 = fevtest_now_ns(), took;

		assert_int_equal(pthread_create(&t, NULL, recv_waiting, &w), 0);
		for (int i = 0; i < 10; i++) {
			fevtest_sleep_ms(5);
			pthread_kill(t, SIGUSR1);
		}
		assert_int_equal(pthread_join(t, NULL), 0);
		took = fevtest_now_ns() - t0;
		assert_int_equal(w.rc, -ETIMEDOUT);
		assert_true(took >= 150 * FEVTEST_MS);
		assert_true(took < 1000 * FEVTEST_MS);
	}
	sigaction(SIGUSR1, &old, NULL);
	fev_close(p);
	fev_close(w.q);
	assert_int_equal(fev_queue_delete("sig", c->inst), 0);
}

static void test_largest_events_round_trip(void **state)
{
	struct fevtest_ctx *c = *state;
	const size_t big = 1u << 20;
	uint8_t *out = malloc(big), *in = malloc(big);
	fev_queue *q;

	assert_non_null(out);
	assert_non_null(in);
	for (size_t i = 0; i < big; i++)
		out[i] = (uint8_t)(i * 131 + 7);
	fevtest_create(c->inst, "big", 2, (uint32_t)big, FEV_POLICY_BLOCK);
	q = fevtest_open(c->inst, "big", FEV_PRODUCER | FEV_CONSUMER, 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(fev_send(q, out, big, 0), 0);
		memset(in, 0, big);
		assert_int_equal(fev_recv(q, in, big, NULL, 0), (ssize_t)big);
		assert_memory_equal(in, out, big);
	}
	fev_close(q);
	assert_int_equal(fev_queue_delete("big", c->inst), 0);
	free(out);
	free(in);
}

struct racing_open {
	const char *inst;
	atomic_int go;
	int rc;
};

static void *open_until_it_exists(void *arg)
{
	struct racing_open *r = arg;
	fev_open_opts o = { .struct_size = sizeof(o), .instance = r->inst };
	uint64_t give_up = fevtest_now_ns() + 5000 * FEVTEST_MS;
	fev_queue *q = NULL;

	while (!atomic_load(&r->go))
		;
	do
		r->rc = fev_open("race", FEV_CONSUMER, &o, &q);
	while (r->rc == -ENOENT && fevtest_now_ns() < give_up);
	if (r->rc == 0)
		fev_close(q);
	return NULL;
}

static void test_open_racing_create_never_sees_a_half_made_segment(
	void **state)
{
	struct fevtest_ctx *c = *state;

	for (int i = 0; i < 100; i++) {
		struct racing_open r = { .inst = c->inst };
		pthread_t t;

		assert_int_equal(
			pthread_create(&t, NULL, open_until_it_exists, &r), 0);
		atomic_store(&r.go, 1);
		fevtest_create(c->inst, "race", 1024, 256, FEV_POLICY_BLOCK);
		assert_int_equal(pthread_join(t, NULL), 0);
		if (r.rc != 0)
			fail_msg("round %d: open during create: %s", i,
				 fev_strerror(r.rc));
		assert_int_equal(fev_queue_delete("race", c->inst), 0);
	}
}

/* ---- statistics -------------------------------------------------------- */

static void test_stats_agree_with_what_the_handles_did(void **state)
{
	struct fevtest_ctx *c = *state;
	fev_queue *p1, *p2, *r;
	fev_stats st;
	uint64_t v = 0;

	fevtest_create(c->inst, "stats", 16, 8, FEV_POLICY_BLOCK);
	assert_int_equal(fev_queue_stats("stats", c->inst, &st), 0);
	assert_int_equal(st.capacity, 16);
	assert_int_equal(st.max_event, 8);
	assert_int_equal(st.producers + st.consumers, 0);

	p1 = fevtest_open(c->inst, "stats", FEV_PRODUCER, 0);
	p2 = fevtest_open(c->inst, "stats", FEV_PRODUCER, 0);
	r = fevtest_open(c->inst, "stats", FEV_CONSUMER, 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(fev_send(p1, &v, sizeof(v), 0), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(fev_send(p2, &v, sizeof(v), 0), 0);
	for (int i = 0; i < 6; i++)
		recv_u64(r, 0);
	assert_int_equal(fev_queue_stats("stats", c->inst, &st), 0);
	assert_int_equal(st.producers, 2);
	assert_int_equal(st.consumers, 1);
	assert_int_equal(st.enqueued, 8);
	assert_int_equal(st.dequeued, 6);
	assert_int_equal(st.depth, 2);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(st.deleted, 0);

	/* A closed handle leaves, its counters stay. */
	fev_close(p1);
	fev_close(r);
	assert_int_equal(fev_queue_stats("stats", c->inst, &st), 0);
	assert_int_equal(st.producers, 1);
	assert_int_equal(st.consumers, 0);
	assert_int_equal(st.enqueued, 8);
	assert_int_equal(st.dequeued, 6);
	assert_int_equal(st.depth, 2);

	r = fevtest_open(c->inst, "stats", FEV_CONSUMER, 0);
	recv_u64(r, 0);
	assert_int_equal(fev_queue_stats("stats", c->inst, &st), 0);
	assert_int_equal(st.dequeued, 7);
	assert_int_equal(st.depth, 1);
	fev_close(p2);
	fev_close(r);
	assert_int_equal(fev_queue_stats("stats", c->inst, &st), 0);
	assert_int_equal(st.producers + st.consumers, 0);
	assert_int_equal(st.enqueued, 8);
	assert_int_equal(st.dequeued, 7);
	assert_int_equal(fev_queue_delete("stats", c->inst), 0);
}

struct churn {
	const char *inst;
	atomic_int stop;
};

/* Attach, send, detach, over and over: counters keep moving to the
 * retired totals while the test reads statistics. */
static void *churn_handles(void *arg)
{
	struct churn *ch = arg;
	uint64_t v = 0;

	while (!atomic_load(&ch->stop)) {
		fev_queue *q = fevtest_open(ch->inst, "churn", FEV_PRODUCER |
							       FEV_CONSUMER, 0);

		for (int i = 0; i < 5; i++) {
			assert_int_equal(fev_send(q, &v, sizeof(v), 0), 0);
			recv_u64(q, 0);
		}
		fev_close(q);
	}
	return NULL;
}

static void test_stats_never_go_backwards_while_handles_close(void **state)
{
	struct fevtest_ctx *c = *state;
	struct churn ch = { .inst = c->inst };
	uint64_t last_enq = 0, last_deq = 0;
	pthread_t t;
	fev_stats st;

	struct fev__map m;

	fevtest_create(c->inst, "churn", 16, 8, FEV_POLICY_BLOCK);
	/* Read through one mapping: thousands of reads per close. */
	assert_int_equal(fev__map_open(c->inst, "churn", false, &m), 0);
	assert_int_equal(pthread_create(&t, NULL, churn_handles, &ch), 0);
	for (int i = 0; i < 3000000; i++) {
		fev__map_stats(&m, &st);
		assert_true(st.enqueued >= last_enq);
		assert_true(st.dequeued >= last_deq);
		last_enq = st.enqueued;
		last_deq = st.dequeued;
	}
	atomic_store(&ch.stop, 1);
	pthread_join(t, NULL);
	fev__map_close(&m);
	assert_int_equal(fev_queue_stats("churn", c->inst, &st), 0);
	assert_int_equal(st.enqueued, st.dequeued);
	assert_true(st.enqueued >= last_enq);
	assert_int_equal(fev_queue_delete("churn", c->inst), 0);
}

static void test_reserve_batch_commits_all_or_nothing_in_order(void **state)
{
	struct fevtest_ctx *c = *state;
	fev_claim cl[6], swapped[2];
	size_t lens[6] = { 8, 8, 8, 8, 8, 8 };
	fev_event ev[6];
	fev_queue *p, *r;
	uint64_t v;

	fevtest_create(c->inst, "zb", 8, 8, FEV_POLICY_BLOCK);
	p = fevtest_open(c->inst, "zb", FEV_PRODUCER, 0);
	r = fevtest_open(c->inst, "zb", FEV_CONSUMER, 0);
	assert_int_equal(fev_send(p, &v, sizeof(v), 0), 0);
	assert_int_equal(fev_send(p, &v, sizeof(v), 0), 0);
	/* Six free slots of eight: a batch of six, then nothing. */
	assert_int_equal(fev_reserve_batch(p, cl, 6, 0), 6);
	assert_int_equal(fev_reserve_batch(p, swapped, 2, 0), -EAGAIN);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(cl[i].cap, 8);
		v = 100 + (uint64_t)i;
		memcpy(cl[i].data, &v, sizeof(v));
	}
	swapped[0] = cl[1];
	swapped[1] = cl[0];
	assert_int_equal(fev_commit_batch(p, swapped, lens, 2), -EINVAL);
	swapped[1] = cl[1]; /* one claim twice: committed once at most */
	assert_int_equal(fev_commit_batch(p, swapped, lens, 2), -EINVAL);
	lens[5] = 9;
	assert_int_equal(fev_commit_batch(p, cl, lens, 6), -EMSGSIZE);
	assert_int_equal(fev_acquire_batch(r, ev, 6, 0), 2); /* the sends */
	assert_int_equal(fev_release_batch(r, ev, 2), 2);
	assert_int_equal(fev_acquire(r, ev, 0), -EAGAIN); /* none committed */
	lens[5] = 0;
	assert_int_equal(fev_commit_batch(p, cl, lens, 6), 6);
	assert_int_equal(fev_commit_batch(p, cl, lens, 1), -EINVAL);
	assert_int_equal(fev_acquire_batch(r, ev, 6, 0), 6);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(ev[i].len, i < 5 ? 8 : 0);
		if (i < 5) {
			memcpy(&v, ev[i].data, sizeof(v));
			assert_int_equal(v, 100 + (uint64_t)i);
		}
		assert_int_equal(ev[i].ts_ns, ev[0].ts_ns);
		assert_int_equal(ev[i].id, ev[0].id + (uint64_t)i);
	}
	assert_int_equal(fev_release_batch(r, ev, 6), 6);
	fev_close(p);
	fev_close(r);
	assert_int_equal(fev_queue_delete("zb", c->inst), 0);
}

/* 65536 closes used to carry into the "in progress" half: every stats
 * read then waited out its patience. */
static void test_retirement_marker_is_clear_after_the_done_count_wraps(
	void **state)
{
	struct fevtest_ctx *c = *state;
	struct fev__map m;
	fev_queue *q;

	fevtest_create(c->inst, "wrap", 16, 8, FEV_POLICY_BLOCK);
	assert_int_equal(fev__map_open(c->inst, "wrap", true, &m), 0);
	atomic_store(&m.seg->state_line.stats_seq, UINT32_C(0xffff0000));
	for (int i = 0; i < 3; i++) {
		q = fevtest_open(c->inst, "wrap", FEV_PRODUCER, 0);
		fev_close(q);
		assert_false(FEV__STATS_BUSY(
			atomic_load(&m.seg->state_line.stats_seq)));
	}
	fev__map_close(&m);
	assert_int_equal(fev_queue_delete("wrap", c->inst), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, fevtest_teardown)
		T(test_block_policy_producer_waits_until_a_consumer_frees_room),
		T(test_reject_policy_returns_eagain_at_once_when_full),
		T(test_drop_oldest_discards_the_oldest_and_counts_it),
		T(test_drop_oldest_waits_rather_than_drop_a_held_event),
		T(test_send_larger_than_max_event_is_emsgsize),
		T(test_recv_into_a_small_buffer_keeps_the_event_for_the_next_call),
		T(test_zero_length_events_are_delivered),
		T(test_reserve_commit_acquire_release_pass_data_in_place),
		T(test_event_ids_are_consecutive_ring_positions),
		T(test_timestamps_follow_the_realtime_clock),
		T(test_batches_keep_order_across_the_wrap),
		T(test_send_batch_into_a_nearly_full_queue_sends_what_fits),
		T(test_handles_are_limited_to_the_roles_they_opened),
		T(test_release_of_an_event_from_another_handle_is_einval),
		T(test_send_batch_larger_than_the_queue_sends_one_lap),
		T(test_null_instance_means_the_fev_instance_variable),
		T(test_segment_gets_the_mode_asked_for_despite_the_umask),
		T(test_zero_initialised_group_is_the_creators_group),
		T(test_signals_during_a_wait_do_not_end_it),
		T(test_largest_events_round_trip),
		T(test_open_racing_create_never_sees_a_half_made_segment),
		T(test_stats_agree_with_what_the_handles_did),
		T(test_stats_never_go_backwards_while_handles_close),
		T(test_reserve_batch_commits_all_or_nothing_in_order),
		T(test_retirement_marker_is_clear_after_the_done_count_wraps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
