/*
 * Sleeping and waking on a wait word (struct fev__waitword), the eventcount
 * pattern over a shared futex:
 *
 *   sleeper                              waker
 *   register: word += 1 sleeper (S1)     publish (a slot store)
 *   fence F2                             fence F1
 *   re-check the ring                    load word: no sleepers -> done
 *   FUTEX_WAIT(seq half, seq)            CAS: seq + 1, sleepers = 0 (W1)
 *                                        FUTEX_WAKE(all)
 *
 * F1 and F2 are the two halves of a Dekker pair: either the waker sees the
 * sleeper registered, or the sleeper's re-check sees the publish.  They are
 * asymmetric, as in liburcu's urcu-memb: every process that attaches
 * registers for membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED), so F1 on the
 * hot path is only a compiler barrier, and F2 is a membarrier() that makes
 * every CPU running a registered process execute a full barrier.
 *
 * membarrier() is dear (19 us measured here: its IPIs trap in a VM), too
 * dear to pay on every sleep of a blocking ping-pong.  So a sleep has two
 * phases.  The first registers with a plain fence and sleeps at most
 * FEV__WAIT_UNFENCED_NS: a publish racing with the registration may go
 * unseen by its waker, which then costs that much latency, never more.  Only
 * a sleeper still idle after that pays for the membarrier and sleeps until
 * its deadline, but a second at most before it looks again: a foreign store
 * that clears the sleeper count must not leave it asleep forever.  Where
 * membarrier is refused (old kernel, seccomp), F1 is a full fence and the
 * second phase sleeps 1 ms at a time, so a missed wake-up costs latency,
 * never liveness.  Where the futex itself is refused (seccomp: ENOSYS,
 * EPERM), nobody can wake a sleeper: it polls, 1 ms at a time.
 *
 * The waker
 * takes the sleepers off the count in the same CAS that bumps the sequence,
 * so one sleep costs one wake syscall however many publishes follow; a
 * sleeper that leaves on its own (timeout, re-check succeeded) deregisters
 * only while the sequence is still the one it registered under.
 */
#ifndef FEV_WAIT_H
#define FEV_WAIT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "layout.h"

/*
 * Register this process for the asymmetric fence (once per process; again
 * after fork).  Returns true when F1 may be a compiler barrier.
 */
bool fev__wait_setup(void);

/*
 * How long a first-phase (unfenced) sleep may last: longer than a tick
 * (4 ms at HZ=250).  Its timeout arms an hrtimer; one that expires before
 * the CPU's next tick reprograms the timer device, and in a VM every
 * reprogramming traps (measured: 100 us cost a ping-pong of two processes
 * on one CPU 9 us one way, 5 ms 2.4 us, a pipe 2.1 us).  A wake-up missed in
 * the first phase costs at most this; on x86 none is missed after a commit
 * or a release (R1, R2 and S1 are locked RMWs), only after the plain stores
 * of repair (a tombstone's end).
 */
#define FEV__WAIT_UNFENCED_NS 5000000u

/*
 * How long the other sleeps may last before the ring is looked at again.
 * Variables, not constants, only so that a test can lengthen them: then a
 * wake-up that is lost costs a hang the test sees, not a delay it cannot
 * tell from scheduling.  Nothing outside the tests writes them.
 */
struct fev__wait_limits {
	/* Second phase: a foreign store that clears the sleeper count must
	 * not leave a sleeper asleep forever. */
	uint64_t recheck_ns;
	/* When F2 could not be issued (membarrier refused) or the futex is
	 * refused: a wake-up may be missed, so look this often. */
	uint64_t unpaired_ns;
	/* A spin over many queues (wait_many.c) reads one word per queue;
	 * what those words cannot show it finds by a full look this often. */
	uint64_t spin_look_ns;
};
extern struct fev__wait_limits fev__wait_limits;

/* S1 alone: count one more sleeper; returns the sequence to sleep on. */
uint32_t fev__wait_add_sleeper(struct fev__waitword *w);
/*
 * F2 after one or more fev__wait_add_sleeper() (one membarrier covers them
 * all).  Returns true when the sleep must be bounded: unfenced (first
 * phase) or membarrier refused.
 */
bool fev__wait_f2(bool fenced);
/*
 * Register as a sleeper; returns the sequence to sleep on.  With fenced,
 * issues F2 and sets *bounded when it could not (the sleep must then be
 * short); without, only a local full fence (first phase, *bounded true).
 */
uint32_t fev__wait_register(struct fev__waitword *w, bool fenced,
			    bool *bounded);
/* Leave without being woken; a no-op when a waker already took us off. */
void fev__wait_cancel(struct fev__waitword *w, uint32_t seq);
/*
 * Sleep while the sequence is seq, until woken or the absolute
 * CLOCK_MONOTONIC deadline (NULL: none).  0 when woken or the sequence
 * moved, -ETIMEDOUT (the deadline passed, or a refused futex made us poll
 * for unpaired_ns instead), -EINTR.  Whatever it returns, the caller looks
 * at the ring again before it gives up.
 */
int fev__wait_sleep(struct fev__waitword *w, uint32_t seq,
		    const struct timespec *deadline);
/*
 * Sleep on the clock alone for unpaired_ns, or to the deadline when that
 * comes first: -ETIMEDOUT, or -EINTR.  For a futex we may not use.
 */
int fev__wait_poll_sleep(const struct timespec *deadline);
/* Wake every sleeper: bump the sequence, clear the count, FUTEX_WAKE. */
void fev__wait_wake_all(struct fev__waitword *w);

/*
 * After publishing: wake sleepers if there are any.  Returns 1 when it made
 * a wake syscall.  The caller has issued fence F1 since its publish.
 */
static inline int fev__wait_wake_if_sleepers(struct fev__waitword *w)
{
	/* Relaxed: ordered after the publish by the caller's fence F1. */
	uint64_t v = atomic_load_explicit(&w->word, memory_order_relaxed);

	if (FEV__WAIT_SLEEPERS(v) == 0)
		return 0;
	fev__wait_wake_all(w);
	return 1;
}

/*
 * Adaptive spinning, per handle.  A spin pays only while the peer runs on
 * another CPU: when processes outnumber CPUs (or the peer shares ours) it
 * burns the time slice the peer needs.  So the budget halves after each
 * spin that ended in a sleep once FEV__SPIN_FAILS_TO_SHRINK did so in a row
 * (a peer preempted now and then must not cost the free-core case its
 * spin), down to ns >> FEV__SPIN_FLOOR_SHIFT, and doubles after one that
 * succeeded.  Once FEV__SPIN_FAILS_TO_STOP spins in a row have failed, the
 * peer is not running while we wait (it shares our CPU, or waits itself):
 * spinning stops, and only every FEV__SPIN_PROBE_EVERY-th wait spins, for
 * the floor, to see whether spinning pays again (a success doubles the
 * floor back).  No sched_yield() in the spin: measured, it gained little
 * over the shorter budget where the peer shares our CPU and, where other
 * work shares it, handed the CPU away at the cost of fev's p99.
 */
#define FEV__SPIN_FLOOR_SHIFT 4
#define FEV__SPIN_FAILS_TO_SHRINK 4
#define FEV__SPIN_FAILS_TO_STOP 16
#define FEV__SPIN_PROBE_EVERY 16

struct fev__spin {
	uint32_t ns;        /* the most a spin may last; 0: never spin */
	uint32_t budget_ns; /* what the next spin may last; 0: stopped */
	uint32_t fails;     /* spins in a row that ended in a sleep */
	uint32_t skips;     /* waits without a spin since the last probe */
};

void fev__spin_init(struct fev__spin *s, uint32_t ns);
/* What this wait may spin (0: sleep at once); counts the waits while
 * spinning is stopped. */
uint32_t fev__spin_budget(struct fev__spin *s);
/* A spin of fev__spin_budget() ended: in the ready condition, or not. */
void fev__spin_outcome(struct fev__spin *s, bool succeeded);

/* One pause of a busy-wait: lets the core's other thread run and avoids
 * the pipeline flush when the watched line changes. */
static inline void fev__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/*
 * F1: orders a publish before the sleeper-count load; pairs with F2.
 * asymmetric: the value fev__wait_setup() returned.
 */
static inline void fev__wait_fence(bool asymmetric)
{
	if (asymmetric)
		atomic_signal_fence(memory_order_seq_cst);
	else
		atomic_thread_fence(memory_order_seq_cst);
}

#endif /* FEV_WAIT_H */
