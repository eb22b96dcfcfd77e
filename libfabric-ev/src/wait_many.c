/*
 * fev_wait_any() and the many-word sleep it shares with fev_fd()'s helper
 * thread (wait_many.h).
 */
#include "wait_many.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "client.h"
#include "clock.h"
#include "wait.h"

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449 /* the same number on every architecture */
#endif

#define SPIN_WORDS_PER_CLOCK 256
#define SPIN_ROUNDS_PER_CLOCK 64
#define NO_DEADLINE UINT64_MAX

/* futex_waitv: 1 usable, 0 missing or forced off, -1 not known yet. */
static _Atomic int waitv_state = -1;

int fev__wait_many_uses_waitv(void)
{
	/* Relaxed: a cache of the environment and of the kernel's answer,
	 * the same in every thread. */
	int s = atomic_load_explicit(&waitv_state, memory_order_relaxed);
	const char *force;

	if (s >= 0)
		return s;
	force = getenv("FEV_NO_FUTEX_WAITV");
	s = force != NULL && strcmp(force, "1") == 0 ? 0 : 1;
	atomic_store_explicit(&waitv_state, s, memory_order_relaxed);
	return s;
}

static struct timespec timespec_of(uint64_t ns)
{
	return (struct timespec){ .tv_sec = (time_t)(ns / 1000000000u),
				  .tv_nsec = (long)(ns % 1000000000u) };
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* The end of one sleep, as await_slot() in client.c bounds it (wait.h). */
static uint64_t sleep_end(uint64_t deadline, bool bounded, bool fenced)
{
	uint64_t now = fev__now_monotonic_ns();

	return min_u64(deadline, now + (!bounded ? fev__wait_limits.recheck_ns :
					fenced	 ? fev__wait_limits.unpaired_ns :
						   FEV__WAIT_UNFENCED_NS));
}

static struct fev__waitword *word_of(fev_queue *q)
{
	return &fev__queue_map(q)->seg->not_empty;
}

static size_t collect(fev_queue *const *qs, size_t n, size_t *ready_out)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		if (fev__queue_ready(qs[i]))
			ready_out[c++] = i;
	return c;
}

static bool stopped(const _Atomic uint32_t *stop)
{
	/* seq_cst: with S1 (seq_cst) before it, a Dekker pair with the
	 * stopper's store, seq_cst fence and sleeper-count load. */
	return stop != NULL &&
	       atomic_load_explicit(stop, memory_order_seq_cst) != 0;
}

/*
 * The spin (fev_wait_any() only).  A round must cost little however many
 * handles there are, or the round, not the peer, sets the latency: so it
 * reads one word per handle, the sequence of the slot at the handle's
 * cursor (the word a commit changes, R1), through pointers taken once,
 * with no call and no syscall, and calls the full predicate
 * (fev__queue_ready()) only for a handle whose word moved.  What the words
 * do not show (a queue deleted; in a group, a redelivery, a hole, the
 * group gone; a watched slot other consumers took past) is seen by a full
 * look every spin_look_ns (10 us), and by the sleep's re-check after the spin.
 */
struct watch {
	const _Atomic uint64_t *word[FEV_WAIT_ANY_MAX];
	uint64_t seen[FEV_WAIT_ANY_MAX];
};

/*
 * Watch handle i; true when the watched slot holds an event for it.  Before
 * a full look at the handle: a commit that look misses then changes the
 * word (the two read one location, in order).
 */
static bool watch_one(struct watch *w, fev_queue *q, size_t i)
{
	const struct fev__ring *r = &fev__queue_map(q)->ring;
	/* Relaxed: the cursor only says which slot to watch; a stale one
	 * costs at most a full look. */
	uint64_t pos = atomic_load_explicit(&r->tail->pos, memory_order_relaxed);

	w->word[i] = &fev__ring_slot(r, pos)->seq;
	/* WA1, relaxed: compared for a change only; the full look's acquire
	 * (A2, pairs with R1) decides whether there is an event. */
	w->seen[i] = atomic_load_explicit(w->word[i], memory_order_relaxed);
	return w->seen[i] == pos + 1;
}

/*
 * The spin's first look: watch every handle, and look in full only at
 * those whose watched slot holds an event (the rest is the first full
 * look's, spin_look_ns later: every handle in full would make this
 * pass, not the peer, set the latency).
 */
static size_t watch_all(fev_queue *const *qs, size_t n, struct watch *w,
			size_t *ready_out)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		if (watch_one(w, qs[i], i) && fev__queue_ready(qs[i]))
			ready_out[c++] = i;
	return c;
}

/* collect(), watching every handle afresh. */
static size_t collect_watching(fev_queue *const *qs, size_t n,
			       struct watch *w, size_t *ready_out)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++) {
		(void)watch_one(w, qs[i], i);
		if (fev__queue_ready(qs[i]))
			ready_out[c++] = i;
	}
	return c;
}

/* One round: whether any watched word moved. */
static bool moved(const struct watch *w, size_t n)
{
	uint64_t diff = 0;

	for (size_t i = 0; i < n; i++)
		/* WA1: see watch_one(). */
		diff |= atomic_load_explicit(w->word[i], memory_order_relaxed) ^
			w->seen[i];
	return diff != 0;
}

/* The full look at the handles whose word moved, watching them afresh. */
static size_t collect_moved(fev_queue *const *qs, size_t n, struct watch *w,
			    size_t *ready_out)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++) {
		/* WA1: see watch_one(). */
		if (atomic_load_explicit(w->word[i], memory_order_relaxed) ==
		    w->seen[i])
			continue;
		(void)watch_one(w, qs[i], i);
		if (fev__queue_ready(qs[i]))
			ready_out[c++] = i;
	}
	return c;
}

/* Spin for spin_ns from now (or to the deadline) on what watch_all() set. */
static size_t spin(fev_queue *const *qs, size_t n, struct watch *w,
		   uint32_t spin_ns, uint64_t now, size_t *ready_out,
		   uint64_t deadline)
{
	uint64_t end = min_u64(deadline, now + spin_ns);
	uint64_t full_look = now + fev__wait_limits.spin_look_ns;
	/* About SPIN_WORDS_PER_CLOCK words between two looks at the clock,
	 * which costs as much as a round of 64 words; and no more rounds
	 * (each with its pause) than a single wait makes (client.c), so a
	 * spin over few handles ends when it should. */
	size_t rounds = n >= SPIN_WORDS_PER_CLOCK ? 1 : SPIN_WORDS_PER_CLOCK / n;

	if (rounds > SPIN_ROUNDS_PER_CLOCK)
		rounds = SPIN_ROUNDS_PER_CLOCK;
	size_t c;

	for (;;) {
		for (size_t k = 0; k < rounds; k++) {
			if (moved(w, n) &&
			    (c = collect_moved(qs, n, w, ready_out)) > 0)
				return c;
			fev__cpu_relax();
		}
		now = fev__now_monotonic_ns();
		if (now >= end)
			return 0;
		if (now >= full_look) {
			if ((c = collect_watching(qs, n, w, ready_out)) > 0)
				return c;
			full_look = now + fev__wait_limits.spin_look_ns;
		}
	}
}

#ifdef FUTEX_WAITV_MAX
/* 0 woken (or a sequence moved), -ETIMEDOUT, -EINTR, -ENOSYS. */
static int sleep_waitv(fev_queue *const *qs, size_t n, const uint32_t *seqs,
		       const struct timespec *until)
{
	struct futex_waitv v[FUTEX_WAITV_MAX];

	for (size_t i = 0; i < n; i++)
		v[i] = (struct futex_waitv){
			.val = seqs[i],
			/* The sequence half (wait.c: little-endian). */
			.uaddr = (uintptr_t)&word_of(qs[i])->word,
			/* Shared: no FUTEX_PRIVATE_FLAG. */
			.flags = FUTEX_32,
		};
	if (syscall(SYS_futex_waitv, v, (unsigned)n, 0, until,
		    CLOCK_MONOTONIC) >= 0)
		return 0;
	switch (errno) {
	case EAGAIN:
		return 0;
	case ETIMEDOUT:
		return -ETIMEDOUT;
	case EINTR:
		return -EINTR;
	default: /* ENOSYS, or EPERM from seccomp */
		return -ENOSYS;
	}
}
#else
static int sleep_waitv(fev_queue *const *qs, size_t n, const uint32_t *seqs,
		       const struct timespec *until)
{
	(void)qs, (void)n, (void)seqs, (void)until;
	return -ENOSYS;
}
#endif

/*
 * The fallback: one word, the next one each round; at most unpaired_ns
 * when there are others to look at.
 */
static int sleep_rotating(fev_queue *const *qs, size_t n,
			  const uint32_t *seqs, uint64_t end, size_t round)
{
	size_t k = round % n;
	struct timespec until;

	if (n > 1)
		end = min_u64(end, fev__now_monotonic_ns() +
					   fev__wait_limits.unpaired_ns);
	until = timespec_of(end);
	return fev__wait_sleep(word_of(qs[k]), seqs[k],
			       end == NO_DEADLINE ? NULL : &until);
}

static int sleep_all(fev_queue *const *qs, size_t n, const uint32_t *seqs,
		     uint64_t end, size_t round)
{
	struct timespec until = timespec_of(end);

	if (fev__wait_many_uses_waitv()) {
		int rc = sleep_waitv(qs, n, seqs,
				     end == NO_DEADLINE ? NULL : &until);

		if (rc != -ENOSYS)
			return rc;
		/* Relaxed: see fev__wait_many_uses_waitv(). */
		atomic_store_explicit(&waitv_state, 0, memory_order_relaxed);
	}
	return sleep_rotating(qs, n, seqs, end, round);
}

static void cancel_all(fev_queue *const *qs, size_t n, const uint32_t *seqs)
{
	for (size_t i = 0; i < n; i++)
		fev__wait_cancel(word_of(qs[i]), seqs[i]);
}

int fev__wait_many(fev_queue *const *qs, size_t n, int64_t timeout_ns,
		   size_t *ready_out, const _Atomic uint32_t *stop,
		   uint32_t spin_ns)
{
	uint64_t now, deadline;
	uint32_t seqs[FEV_WAIT_ANY_MAX];
	struct watch w;
	size_t c = spin_ns != 0 && timeout_ns != 0 ?
			   watch_all(qs, n, &w, ready_out) :
			   collect(qs, n, ready_out);
	bool fenced = false;

	if (c > 0 || stopped(stop))
		return (int)c;
	if (timeout_ns == 0)
		return -EAGAIN;
	/* Only a wait that goes on reads the clock, once for both. */
	now = fev__now_monotonic_ns();
	deadline = timeout_ns < 0 ? NO_DEADLINE : now + (uint64_t)timeout_ns;
	if (spin_ns != 0 && (c = spin(qs, n, &w, spin_ns, now, ready_out,
				      deadline)) > 0)
		return (int)c;
	for (size_t round = 0;; round++) {
		bool bounded;
		int rc;

		for (size_t i = 0; i < n; i++)
			seqs[i] = fev__wait_add_sleeper(word_of(qs[i])); /* S1 */
		bounded = fev__wait_f2(fenced);
		c = collect(qs, n, ready_out);
		if (c > 0 || stopped(stop)) {
			cancel_all(qs, n, seqs);
			return (int)c;
		}
		if (deadline != NO_DEADLINE &&
		    fev__now_monotonic_ns() >= deadline) {
			cancel_all(qs, n, seqs);
			return -ETIMEDOUT;
		}
		rc = sleep_all(qs, n, seqs, sleep_end(deadline, bounded, fenced),
			       round);
		cancel_all(qs, n, seqs);
		/* Woken: the next sleep starts cheap again; otherwise (timed
		 * out, interrupted, polled) it is fenced from now on. */
		fenced = rc != 0;
	}
}

int fev_wait_any(fev_queue *const *qs, size_t n, int64_t timeout_ns,
		 size_t *ready_out)
{
	uint32_t spin_ns = UINT32_MAX; /* the shortest of the handles' */
	int rc;

	if (qs == NULL || ready_out == NULL || n == 0 ||
	    n > FEV_WAIT_ANY_MAX || (timeout_ns < 0 && timeout_ns != FEV_FOREVER))
		return -EINVAL;
	/* One pass over the handles for both: each pass costs a cache miss
	 * per handle. */
	for (size_t i = 0; i < n; i++) {
		if ((rc = fev__queue_check_consumer(qs[i])) < 0)
			return rc;
		if (fev__queue_spin_ns(qs[i]) < spin_ns)
			spin_ns = fev__queue_spin_ns(qs[i]);
	}
	return fev__wait_many(qs, n, timeout_ns, ready_out, NULL, spin_ns);
}
