/*
 * What a timeout means (fev.h): FEV_FOREVER or a length, nothing else; an
 * event that is there when the time runs out is returned, not -ETIMEDOUT;
 * and the deadline holds even where the futex is refused.
 */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cmocka.h>

#include "fevtest.h"
#include "segment.h"

/* What "close to the time asked" allows on a loaded two-core machine. */
#define LATE_MS 400

static int setup(void **state)
{
	return fevtest_setup(state, 60);
}

/* ---- negative timeouts ------------------------------------------------- */

static void test_negative_timeouts_other_than_forever_are_einval(
	void **state)
{
	const char *inst = ((struct fevtest_ctx *)*state)->inst;
	const int64_t bad[] = { -2, -1000000, INT64_MIN };
	fev_queue *q;
	fev_claim cl[2];
	fev_event ev[2];
	fev_stats st;
	uint64_t v = 7;
	struct iovec iov = { &v, sizeof(v) };

	fevtest_create(inst, "neg", 4, 8, FEV_POLICY_BLOCK);
	q = fevtest_open(inst, "neg", FEV_PRODUCER | FEV_CONSUMER, 0);
	/* Every call could go ahead at once: only the timeout is wrong. */
	assert_int_equal(fev_send(q, &v, sizeof(v), 0), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(fev_send(q, &v, sizeof(v), bad[i]), -EINVAL);
		assert_int_equal(fev_send_batch(q, &iov, 1, bad[i]), -EINVAL);
		assert_int_equal(fev_reserve(q, 8, cl, bad[i]), -EINVAL);
		assert_int_equal(fev_reserve_batch(q, cl, 2, bad[i]), -EINVAL);
		assert_int_equal(fev_recv(q, &v, sizeof(v), NULL, bad[i]),
				 -EINVAL);
		assert_int_equal(fev_acquire(q, ev, bad[i]), -EINVAL);
		assert_int_equal(fev_acquire_batch(q, ev, 2, bad[i]), -EINVAL);
	}
	/* Nothing was taken; FEV_FOREVER is still a timeout. */
	assert_int_equal(fev_queue_stats("neg", inst, &st), 0);
	assert_int_equal(st.enqueued, 1);
	assert_int_equal(st.depth, 1);
	assert_int_equal(fev_recv(q, &v, sizeof(v), NULL, FEV_FOREVER),
			 sizeof(v));
	assert_int_equal(fev_send(q, &v, sizeof(v), FEV_FOREVER), 0);
	fev_close(q);
	assert_int_equal(fev_queue_delete("neg", inst), 0);
}

/* ---- the last look ----------------------------------------------------- */

struct timed_recv {
	fev_queue *q;
	int64_t timeout_ns;
	ssize_t rc;
};

static void *timed_recv_main(void *arg)
{
	struct timed_recv *r = arg;
	uint64_t v;

	r->rc = fev_recv(r->q, &v, sizeof(v), NULL, r->timeout_ns);
	return NULL;
}

/*
 * Take every sleeper off w without waking it, as a foreign store would (or
 * a waker that missed a first-phase registration, wait.h): the next
 * publish makes no wake call.
 */
static void forget_sleepers(struct fev__waitword *w)
{
	uint64_t v = atomic_load(&w->word);

	while (!atomic_compare_exchange_weak(&w->word, &v,
					     (uint64_t)FEV__WAIT_SEQ(v)))
		;
}

static void test_a_sleep_that_times_out_looks_at_the_ring_before_giving_up(
	void **state)
{
	const char *inst = ((struct fevtest_ctx *)*state)->inst;
	struct timed_recv r = { .timeout_ns = 300 * FEVTEST_MS };
	struct fev__map m;
	fev_queue *p;
	pthread_t t;
	uint64_t v = 42, base, give_up;

	fevtest_create(inst, "last", 4, 8, FEV_POLICY_BLOCK);
	p = fevtest_open(inst, "last", FEV_PRODUCER, 0);
	r.q = fevtest_open(inst, "last", FEV_CONSUMER, FEV_OPEN_NO_SPIN);
	assert_int_equal(fev__map_open(inst, "last", true, &m), 0);
	base = fevtest_queue_sleeps(inst, "last");
	assert_int_equal(pthread_create(&t, NULL, timed_recv_main, &r), 0);
	/* Its second sleep lasts to the deadline (the first is 100 us). */
	give_up = fevtest_now_ns() + 10000 * FEVTEST_MS;
	while (fevtest_queue_sleeps(inst, "last") < base + 2) {
		assert_true(fevtest_now_ns() < give_up);
		fevtest_sleep_ms(1);
	}
	/* The event arrives while it sleeps, and nobody wakes it. */
	forget_sleepers(&m.seg->not_empty);
	assert_int_equal(fev_send(p, &v, sizeof(v), 0), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	if (r.rc != sizeof(v))
		fail_msg("recv: %s with an event ready when its time ran out",
			 fev_strerror((int)r.rc));
	fev__map_close(&m);
	fev_close(r.q);
	fev_close(p);
	assert_int_equal(fev_queue_delete("last", inst), 0);
}

/* ---- a refused futex --------------------------------------------------- */

struct refused {
	const char *inst;
	int ready[2]; /* child -> parent: the timed wait is over */
};

/* In a child whose FUTEX_WAIT is refused, as under a seccomp sandbox. */
static int refused_futex_main(void *arg)
{
	struct refused *rf = arg;
	fev_queue *q;
	uint64_t v = 0, t0, took;
	ssize_t rc;

	alarm(30);
	fevtest_refuse_syscall(SYS_futex, FUTEX_WAIT_BITSET, ENOSYS);
	q = fevtest_open(rf->inst, "nofutex", FEV_CONSUMER, FEV_OPEN_NO_SPIN);
	t0 = fevtest_now_ns();
	rc = fev_recv(q, &v, sizeof(v), NULL, 100 * FEVTEST_MS);
	took = (fevtest_now_ns() - t0) / FEVTEST_MS;
	if (rc != -ETIMEDOUT || took < 100 || took > 100 + LATE_MS) {
		fprintf(stderr, "recv: %s after %llu ms (asked 100)\n",
			fev_strerror((int)rc), (unsigned long long)took);
		return 1;
	}
	if (write(rf->ready[1], "r", 1) != 1)
		return 2;
	/* The producer cannot wake us; we still see its event. */
	rc = fev_recv(q, &v, sizeof(v), NULL, 20000 * FEVTEST_MS);
	if (rc != sizeof(v) || v != 99) {
		fprintf(stderr, "recv: %s\n", fev_strerror((int)rc));
		return 3;
	}
	fev_close(q);
	return 0;
}

static void test_a_refused_futex_still_honours_deadlines_and_sees_events(
	void **state)
{
	const char *inst = ((struct fevtest_ctx *)*state)->inst;
	struct refused rf = { .inst = inst };
	fev_queue *p;
	uint64_t v = 99;
	char c;
	int pid;

	fevtest_create(inst, "nofutex", 4, 8, FEV_POLICY_BLOCK);
	p = fevtest_open(inst, "nofutex", FEV_PRODUCER, 0);
	assert_int_equal(pipe(rf.ready), 0);
	pid = fevtest_fork(refused_futex_main, &rf);
	close(rf.ready[1]);
	if (read(rf.ready[0], &c, 1) == 1) {
		fevtest_sleep_ms(50); /* let it go back to waiting */
		assert_int_equal(fev_send(p, &v, sizeof(v), 0), 0);
	}
	close(rf.ready[0]);
	assert_int_equal(fevtest_wait(pid, 20000), 0);
	fev_close(p);
	assert_int_equal(fev_queue_delete("nofutex", inst), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, fevtest_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_negative_timeouts_other_than_forever_are_einval),
		T(test_a_sleep_that_times_out_looks_at_the_ring_before_giving_up),
		T(test_a_refused_futex_still_honours_deadlines_and_sees_events),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
