/*
 * F1/F2 as a store-buffering (Dekker) litmus test, where membarrier() is
 * refused (seccomp) and both fences must be real ones.
 *
 * Each round, on two threads pinned to different CPUs when there are two:
 *   waker:   fev_send(), i.e. publish, F1, load the sleeper count (wake())
 *   sleeper: fev__wait_register() (S1, plain F2), then the consumer's
 *            re-check of the ring, as await_slot() does
 * Afterwards: the waker saw no sleeper (the sequence did not move) AND the
 * re-check saw no event is the outcome the Dekker pair forbids, so it must
 * never be counted.  No timing decides a pass; the bounded run time only
 * limits how hard it looks.
 *
 * What it can catch on x86-64: a publish that is a plain store (mov) and a
 * waker without F1, where the store buffer holds the publish past the
 * waker's load and the sleeper's re-check (measured: 1-3 lost wake-ups per
 * 2 million rounds).  Today every publish before wake() is a CAS (R1
 * commit, R2 release: lock cmpxchg), a full barrier on x86, and S1 is a
 * lock xadd, so dropping F1 or F2 alone changes nothing this machine can
 * show; they matter where a release CAS does not order a later load
 * (ARMv8).
 */
#define _GNU_SOURCE /* sched_setaffinity, CPU_SET */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cmocka.h>

#include "fevtest.h"
#include "segment.h"
#include "wait.h"

#define ROUNDS 2000000u
#define RUN_NS (3ull * 1000000000u)
/* Each side spins 0..SKEW_MAX-1 pauses before its half, so that the two
 * halves meet at every alignment. */
#define SKEW_MAX 32u

struct litmus {
	fev_queue *p;
	_Atomic uint32_t go;   /* the round the waker may run */
	_Atomic uint32_t done; /* the last round the waker finished */
	_Atomic int rc;
};

static void pin_to(int cpu)
{
	cpu_set_t set;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return; /* one CPU: no store buffer between the two */
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	(void)sched_setaffinity(0, sizeof(set), &set);
}

static void skew(uint64_t *rng)
{
	for (uint64_t n = fevtest_rand(rng) % SKEW_MAX; n > 0; n--) {
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#elif defined(__aarch64__)
		__asm__ __volatile__("yield");
#endif
	}
}

static void *waker_main(void *arg)
{
	struct litmus *l = arg;
	uint64_t rng = 0x9e3779b97f4a7c15u;
	uint8_t v = 1;

	pin_to(1);
	for (uint32_t r = 1;; r++) {
		uint32_t go;

		/* Acquire: pairs with the sleeper's release of go. */
		while ((go = atomic_load_explicit(&l->go,
						  memory_order_acquire)) < r)
			;
		if (go == UINT32_MAX)
			return NULL;
		skew(&rng);
		int rc = fev_send(l->p, &v, sizeof(v), 0);

		if (rc != 0)
			atomic_store_explicit(&l->rc, rc, memory_order_relaxed);
		/* Release: the sleeper reads the wait word after this. */
		atomic_store_explicit(&l->done, r, memory_order_release);
	}
}

static void test_a_publish_and_a_sleeper_registering_never_miss_each_other(
	void **state)
{
	char inst[FEV_INSTANCE_MAX + 1];
	struct litmus l = { 0 };
	struct fev__map m;
	fev_queue *c;
	pthread_t t;
	uint64_t rng = 0x2545f4914f6cdd1du, lost = 0, seen_both = 0;
	uint64_t end = fevtest_now_ns() + RUN_NS;
	uint32_t r;

	(void)state;
	fevtest_instance(inst);
	fevtest_create(inst, "d", 8, 8, FEV_POLICY_REJECT);
	l.p = fevtest_open(inst, "d", FEV_PRODUCER, FEV_OPEN_NO_SPIN);
	c = fevtest_open(inst, "d", FEV_CONSUMER, FEV_OPEN_NO_SPIN);
	assert_int_equal(fev__map_open(inst, "d", true, &m), 0);
	struct fev__waitword *w = &m.seg->not_empty;

	pin_to(0);
	assert_int_equal(pthread_create(&t, NULL, waker_main, &l), 0);
	for (r = 1; r <= ROUNDS; r++) {
		bool bounded, saw;
		uint8_t v;

		if ((r & 1023) == 0 && fevtest_now_ns() > end)
			break;
		/* Release: pairs with the waker's acquire of go. */
		atomic_store_explicit(&l.go, r, memory_order_release);
		skew(&rng);
		/* S1 + F2 as await_slot()'s first, unfenced phase. */
		uint32_t seq = fev__wait_register(w, false, &bounded);

		saw = fev__ring_can_take(&m.ring, m.ring.tail, 1);
		/* Acquire: pairs with the waker's release of done. */
		while (atomic_load_explicit(&l.done, memory_order_acquire) < r)
			;
		bool woken = FEV__WAIT_SEQ(atomic_load(&w->word)) != seq;

		if (!saw && !woken)
			lost++;
		seen_both += saw && woken;
		fev__wait_cancel(w, seq);
		assert_int_equal(fev_recv(c, &v, sizeof(v), NULL, 0), 1);
	}
	atomic_store_explicit(&l.go, UINT32_MAX, memory_order_release);
	assert_int_equal(pthread_join(t, NULL), 0);
	print_message("%u rounds, %llu saw both, %llu lost wake-ups\n", r - 1,
		      (unsigned long long)seen_both, (unsigned long long)lost);
	assert_int_equal(atomic_load(&l.rc), 0);
	assert_int_equal(lost, 0);
	fev__map_close(&m);
	fev_close(c);
	fev_close(l.p);
	assert_int_equal(fev_queue_delete("d", inst), 0);
	fevtest_assert_no_leftovers(inst);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_a_publish_and_a_sleeper_registering_never_miss_each_other),
	};

	/* As a sandbox would: F1 and F2 must then both be full fences. */
	fevtest_refuse_syscall(SYS_membarrier, -1, EPERM);
	if (fev__wait_setup()) {
		fprintf(stderr, "membarrier still registers\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
