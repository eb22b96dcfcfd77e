#include "wait.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The futex is the sequence half: the low 32 bits (little-endian only). */
static uint32_t *futex_word(struct fev__waitword *w)
{
	return (uint32_t *)(void *)&w->word;
}

static int membarrier(int cmd)
{
	return (int)syscall(SYS_membarrier, cmd, 0, 0);
}

bool fev__wait_setup(void)
{
	/* The pid that registered: a forked child must register again. */
	static _Atomic pid_t registered;
	pid_t me = getpid();

	/* Relaxed: a cache of an idempotent syscall's outcome. */
	if (atomic_load_explicit(&registered, memory_order_relaxed) == me)
		return true;
	if (membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) < 0)
		return false;
	atomic_store_explicit(&registered, me, memory_order_relaxed);
	return true;
}

uint32_t fev__wait_add_sleeper(struct fev__waitword *w)
{
	/* S1: ordered before the re-check by F2 (fev__wait_f2()). */
	uint64_t v = atomic_fetch_add_explicit(&w->word, FEV__WAIT_ONE_SLEEPER,
					       memory_order_seq_cst);

	return FEV__WAIT_SEQ(v);
}

bool fev__wait_f2(bool fenced)
{
	/* F2: pairs with F1 in every waker, fenced or not; the plain fence
	 * pairs only with wakers whose F1 is a full fence. */
	bool bounded = !fenced ||
		       membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) < 0;

	if (bounded)
		atomic_thread_fence(memory_order_seq_cst);
	return bounded;
}

uint32_t fev__wait_register(struct fev__waitword *w, bool fenced,
			    bool *bounded)
{
	uint32_t seq = fev__wait_add_sleeper(w);

	*bounded = fev__wait_f2(fenced);
	return seq;
}

void fev__wait_cancel(struct fev__waitword *w, uint32_t seq)
{
	/* Relaxed: the CAS below decides; the count carries no data. */
	uint64_t v = atomic_load_explicit(&w->word, memory_order_relaxed);

	while (FEV__WAIT_SEQ(v) == seq && FEV__WAIT_SLEEPERS(v) > 0) {
		if (atomic_compare_exchange_weak_explicit(
			    &w->word, &v, v - FEV__WAIT_ONE_SLEEPER,
			    memory_order_relaxed, memory_order_relaxed))
			return;
	}
}

struct fev__wait_limits fev__wait_limits = {
	.recheck_ns = 1000000000u,
	.unpaired_ns = 1000000u,
	.spin_look_ns = 10000u,
};

/* A futex we may not use: sleep on the clock for a poll interval instead,
 * or to the deadline when that comes first. */
int fev__wait_poll_sleep(const struct timespec *deadline)
{
	struct timespec now, until;
	uint64_t at;

	clock_gettime(CLOCK_MONOTONIC, &now);
	at = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec +
	     fev__wait_limits.unpaired_ns;
	until.tv_sec = (time_t)(at / 1000000000u);
	until.tv_nsec = (long)(at % 1000000000u);
	if (deadline != NULL &&
	    (deadline->tv_sec < until.tv_sec ||
	     (deadline->tv_sec == until.tv_sec &&
	      deadline->tv_nsec < until.tv_nsec)))
		until = *deadline;
	if (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) ==
	    EINTR)
		return -EINTR;
	return -ETIMEDOUT;
}

int fev__wait_sleep(struct fev__waitword *w, uint32_t seq,
		    const struct timespec *deadline)
{
	/* Shared (no FUTEX_PRIVATE_FLAG): sleepers are in other processes. */
	long rc = syscall(SYS_futex, futex_word(w), FUTEX_WAIT_BITSET, seq,
			  deadline, NULL, FUTEX_BITSET_MATCH_ANY);

	if (rc == 0)
		return 0;
	switch (errno) {
	case EAGAIN: /* the sequence moved before we slept: a wake */
		return 0;
	case ETIMEDOUT:
		return -ETIMEDOUT;
	case EINTR:
		return -EINTR;
	default:
		/* Refused (seccomp: ENOSYS, EPERM): returning at once would
		 * make the caller spin, so poll. */
		return fev__wait_poll_sleep(deadline);
	}
}

void fev__wait_wake_all(struct fev__waitword *w)
{
	/* Relaxed: the CAS below decides. */
	uint64_t v = atomic_load_explicit(&w->word, memory_order_relaxed);
	uint64_t next;

	do {
		if (FEV__WAIT_SLEEPERS(v) == 0)
			return;
		next = (uint32_t)(FEV__WAIT_SEQ(v) + 1);
		/*
		 * W1: relaxed is enough; the publish was ordered before our
		 * load by F1, and the kernel's futex hash lock orders the
		 * sequence change against FUTEX_WAIT's value check.
		 */
	} while (!atomic_compare_exchange_weak_explicit(
		&w->word, &v, next, memory_order_relaxed, memory_order_relaxed));
	syscall(SYS_futex, futex_word(w), FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

static uint32_t spin_floor(const struct fev__spin *s)
{
	uint32_t floor = s->ns >> FEV__SPIN_FLOOR_SHIFT;

	return floor == 0 ? 1 : floor; /* a probe must spin */
}

void fev__spin_init(struct fev__spin *s, uint32_t ns)
{
	*s = (struct fev__spin){ .ns = ns, .budget_ns = ns };
}

uint32_t fev__spin_budget(struct fev__spin *s)
{
	if (s->budget_ns != 0)
		return s->budget_ns;
	if (++s->skips < FEV__SPIN_PROBE_EVERY)
		return 0;
	s->skips = 0;
	return spin_floor(s);
}

void fev__spin_outcome(struct fev__spin *s, bool succeeded)
{
	uint32_t floor = spin_floor(s);
	uint32_t b = s->budget_ns;

	if (succeeded) {
		s->fails = 0;
		b = b == 0 ? floor : b; /* a probe that paid */
		b = b > s->ns / 2 ? s->ns : b * 2;
	} else if (++s->fails >= FEV__SPIN_FAILS_TO_STOP) {
		b = 0;
	} else if (s->fails >= FEV__SPIN_FAILS_TO_SHRINK) {
		b = b / 2 < floor ? floor : b / 2;
	}
	s->budget_ns = b;
}
