/*
 * Waiting: a sleeping consumer costs no CPU, wake-ups are never lost (a
 * million ping-pong rounds between two processes), and timeouts mean what
 * they say.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fevtest.h"

/* What "close to the time asked" allows on a loaded two-core machine. */
#define LATE_MS 400
#define PINGPONG_ROUNDS 1000000

static int setup(void **state)
{
	return fevtest_setup(state, 280);
}

/* ---- CPU while blocked ------------------------------------------------- */

struct idle_consumer {
	const char *inst;
	uint32_t flags;
	int64_t timeout_ns;
	int expect; /* what fev_recv should return */
	int report; /* pipe: the CPU nanoseconds the wait cost */
};

static int idle_consumer_main(void *arg)
{
	struct idle_consumer *ic = arg;
	fev_queue *q = fevtest_open(ic->inst, "idle", FEV_CONSUMER, ic->flags);
	uint64_t v = 0, cpu;
	ssize_t rc;

	alarm(30);
	cpu = fevtest_cpu_ns();
	rc = fev_recv(q, &v, sizeof(v), NULL, ic->timeout_ns);
	cpu = fevtest_cpu_ns() - cpu;
	fev_close(q);
	if (write(ic->report, &cpu, sizeof(cpu)) != sizeof(cpu))
		return 3;
	if (rc != ic->expect) {
		fprintf(stderr, "recv: %zd (%s)\n", rc, fev_strerror((int)rc));
		return 1;
	}
	return 0;
}

/* A consumer waits about a second; returns the CPU time the wait cost. */
static uint64_t idle_wait_cpu_ns(const char *inst, uint32_t flags,
				 int64_t timeout_ns, bool send_after_1s)
{
	struct idle_consumer ic = { .inst = inst, .flags = flags,
				    .timeout_ns = timeout_ns };
	int pfd[2], pid;
	uint64_t cpu = 0, v = 7;
	fev_stats st;

	fevtest_create(inst, "idle", 4, 8, FEV_POLICY_BLOCK);
	assert_int_equal(pipe(pfd), 0);
	ic.report = pfd[1];
	ic.expect = send_after_1s ? (int)sizeof(v) : -ETIMEDOUT;
	pid = fevtest_fork(idle_consumer_main, &ic);
	close(pfd[1]);
	if (send_after_1s) {
		fev_queue *p = fevtest_open(inst, "idle", FEV_PRODUCER, 0);

		fevtest_sleep_ms(1000);
		/* The consumer is asleep on the futex, not spinning. */
		assert_int_equal(fev_queue_stats("idle", inst, &st), 0);
		assert_int_equal(st.sleepers, 1);
		assert_int_equal(fev_send(p, &v, sizeof(v), 0), 0);
		fev_close(p);
	}
	assert_int_equal(read(pfd[0], &cpu, sizeof(cpu)), sizeof(cpu));
	close(pfd[0]);
	assert_int_equal(fevtest_wait(pid, 20000), 0);
	assert_int_equal(fev_queue_stats("idle", inst, &st), 0);
	assert_int_equal(st.sleepers, 0);
	assert_true(st.sleeps >= 1);
	assert_int_equal(fev_queue_delete("idle", inst), 0);
	return cpu;
}

static void assert_cheap(uint64_t cpu_ns)
{
	if (cpu_ns >= 20 * FEVTEST_MS)
		fail_msg("a consumer blocked for 1 s used %.1f ms of CPU "
			 "(limit 20 ms)",
			 (double)cpu_ns / 1e6);
}

static void test_consumer_blocked_forever_uses_under_20ms_cpu_per_second(
	void **state)
{
	const char *inst = ((struct fevtest_ctx *)*state)->inst;

	assert_cheap(idle_wait_cpu_ns(inst, 0, FEV_FOREVER, true));
	assert_cheap(idle_wait_cpu_ns(inst, FEV_OPEN_NO_SPIN, FEV_FOREVER,
				      true));
}

static void test_consumer_waiting_out_a_long_timeout_uses_under_20ms_cpu(
	void **state)
{
	const char *inst = ((struct fevtest_ctx *)*state)->inst;

	assert_cheap(idle_wait_cpu_ns(inst, 0, 1000 * FEVTEST_MS, false));
	assert_cheap(idle_wait_cpu_ns(inst, 0, 5000 * FEVTEST_MS, true));
}

/* ---- ping-pong --------------------------------------------------------- */

struct pong {
	const char *inst;
	uint32_t flags;
	uint64_t rounds;
};

/* Echo each ping back, plus one. */
static int pong_main(void *arg)
{
	struct pong *pg = arg;
	fev_queue *in = fevtest_open(pg->inst, "ping", FEV_CONSUMER, pg->flags);
	fev_queue *out = fevtest_open(pg->inst, "pong", FEV_PRODUCER,
				      pg->flags);

	alarm(240);
	for (uint64_t i = 0; i < pg->rounds; i++) {
		uint64_t v;
		ssize_t n = fev_recv(in, &v, sizeof(v), NULL,
				     30000 * FEVTEST_MS);
		int rc;

		if (n != sizeof(v)) {
			fprintf(stderr, "pong: round %llu: recv %s\n",
				(unsigned long long)i, fev_strerror((int)n));
			return 1;
		}
		v++;
		rc = fev_send(out, &v, sizeof(v), 30000 * FEVTEST_MS);
		if (rc < 0) {
			fprintf(stderr, "pong: round %llu: send %s\n",
				(unsigned long long)i, fev_strerror(rc));
			return 1;
		}
	}
	fev_close(in);
	fev_close(out);
	return 0;
}

static void ping_pong(const char *inst, uint32_t flags, uint64_t rounds)
{
	struct pong pg = { .inst = inst, .flags = flags, .rounds = rounds };
	fev_queue *out, *in;
	fev_stats st;
	uint64_t t0 = fevtest_now_ns();
	int pid;

	fevtest_create(inst, "ping", 2, 8, FEV_POLICY_BLOCK);
	fevtest_create(inst, "pong", 2, 8, FEV_POLICY_BLOCK);
	pid = fevtest_fork(pong_main, &pg);
	out = fevtest_open(inst, "ping", FEV_PRODUCER, flags);
	in = fevtest_open(inst, "pong", FEV_CONSUMER, flags);
	for (uint64_t i = 0; i < rounds; i++) {
		uint64_t v = i * 2;
		ssize_t n;

		assert_int_equal(fev_send(out, &v, sizeof(v), 0), 0);
		/* A lost wake-up shows as a timeout here, not as a hang. */
		n = fev_recv(in, &v, sizeof(v), NULL, 30000 * FEVTEST_MS);
		if (n != sizeof(v))
			fail_msg("round %llu: %s", (unsigned long long)i,
				 fev_strerror((int)n));
		assert_int_equal(v, i * 2 + 1);
	}
	assert_int_equal(fevtest_wait(pid, 30000), 0);
	fev_close(out);
	fev_close(in);
	assert_int_equal(fev_queue_stats("pong", inst, &st), 0);
	print_message("%llu rounds (%s) in %.2f s, %llu sleeps on pong\n",
		      (unsigned long long)rounds,
		      flags & FEV_OPEN_NO_SPIN ? "no spin" : "spin then sleep",
		      (double)(fevtest_now_ns() - t0) / 1e9,
		      (unsigned long long)st.sleeps);
	assert_int_equal(st.enqueued, rounds);
	assert_int_equal(st.dequeued, rounds);
	if (flags & FEV_OPEN_NO_SPIN)
		/* Pure blocking really slept, so the futex path was tested. */
		assert_true(st.sleeps > 0);
	assert_int_equal(fev_queue_delete("ping", inst), 0);
	assert_int_equal(fev_queue_delete("pong", inst), 0);
	fevtest_assert_no_leftovers(inst);
}

static void test_million_round_ping_pong_without_spinning_never_hangs(
	void **state)
{
	ping_pong(((struct fevtest_ctx *)*state)->inst, FEV_OPEN_NO_SPIN,
		  PINGPONG_ROUNDS);
}

static void test_million_round_ping_pong_spinning_then_sleeping_never_hangs(
	void **state)
{
	ping_pong(((struct fevtest_ctx *)*state)->inst, 0, PINGPONG_ROUNDS);
}

/* ---- timeouts ---------------------------------------------------------- */

static void assert_took(uint64_t t0, unsigned want_ms)
{
	uint64_t took = fevtest_now_ns() - t0;

	if (took < (uint64_t)want_ms * FEVTEST_MS ||
	    took > (uint64_t)(want_ms + LATE_MS) * FEVTEST_MS)
		fail_msg("asked to wait %u ms, waited %.1f ms", want_ms,
			 (double)took / 1e6);
}

static void test_timeouts_return_etimedout_after_the_time_asked(void **state)
{
	const char *inst = ((struct fevtest_ctx *)*state)->inst;
	fev_queue *q;
	fev_event ev;
	fev_claim cl;
	uint64_t v = 0, t0;

	fevtest_create(inst, "tmo", 2, 8, FEV_POLICY_BLOCK);
	for (int i = 0; i < 2; i++) {
		q = fevtest_open(inst, "tmo", FEV_PRODUCER | FEV_CONSUMER,
				 i ? FEV_OPEN_NO_SPIN : 0);
		t0 = fevtest_now_ns();
		assert_int_equal(fev_recv(q, &v, sizeof(v), NULL,
					  50 * FEVTEST_MS),
				 -ETIMEDOUT);
		assert_took(t0, 50);
		t0 = fevtest_now_ns();
		assert_int_equal(fev_acquire(q, &ev, 120 * FEVTEST_MS),
				 -ETIMEDOUT);
		assert_took(t0, 120);
		/* Below the default spin time: the spin honours it too. */
		t0 = fevtest_now_ns();
		assert_int_equal(fev_recv(q, &v, sizeof(v), NULL, 5000),
				 -ETIMEDOUT);
		assert_took(t0, 0);

		assert_int_equal(fev_send(q, &v, sizeof(v), 0), 0);
		assert_int_equal(fev_send(q, &v, sizeof(v), 0), 0);
		t0 = fevtest_now_ns();
		assert_int_equal(fev_send(q, &v, sizeof(v), 50 * FEVTEST_MS),
				 -ETIMEDOUT);
		assert_took(t0, 50);
		t0 = fevtest_now_ns();
		assert_int_equal(fev_reserve(q, 8, &cl, 80 * FEVTEST_MS),
				 -ETIMEDOUT);
		assert_took(t0, 80);
		for (int k = 0; k < 2; k++)
			assert_int_equal(fev_recv(q, &v, sizeof(v), NULL, 0),
					 sizeof(v));
		fev_close(q);
	}
	assert_int_equal(fev_queue_delete("tmo", inst), 0);
}

static void test_timeout_zero_returns_eagain_without_sleeping(void **state)
{
	const char *inst = ((struct fevtest_ctx *)*state)->inst;
	fev_queue *q;
	fev_event ev;
	fev_stats st;
	uint64_t v = 0, t0;

	fevtest_create(inst, "now", 2, 8, FEV_POLICY_BLOCK);
	q = fevtest_open(inst, "now", FEV_PRODUCER | FEV_CONSUMER, 0);
	t0 = fevtest_now_ns();
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(fev_recv(q, &v, sizeof(v), NULL, 0), -EAGAIN);
		assert_int_equal(fev_acquire(q, &ev, 0), -EAGAIN);
	}
	assert_int_equal(fev_send(q, &v, sizeof(v), 0), 0);
	assert_int_equal(fev_send(q, &v, sizeof(v), 0), 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(fev_send(q, &v, sizeof(v), 0), -EAGAIN);
	/* 3000 calls that never wait: far below a single 1 ms sleep each. */
	assert_true(fevtest_now_ns() - t0 < 1000 * FEVTEST_MS);
	fev_close(q);
	assert_int_equal(fev_queue_stats("now", inst, &st), 0);
	assert_int_equal(st.sleeps, 0);
	assert_int_equal(fev_queue_delete("now", inst), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, fevtest_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_consumer_blocked_forever_uses_under_20ms_cpu_per_second),
		T(test_consumer_waiting_out_a_long_timeout_uses_under_20ms_cpu),
		T(test_million_round_ping_pong_without_spinning_never_hangs),
		T(test_million_round_ping_pong_spinning_then_sleeping_never_hangs),
		T(test_timeouts_return_etimedout_after_the_time_asked),
		T(test_timeout_zero_returns_eagain_without_sleeping),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
