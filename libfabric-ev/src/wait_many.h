/*
 * Sleeping on the not_empty wait words of many consumer handles at once:
 * fev_wait_any() and fev_fd()'s helper thread (pollfd.c).
 *
 * Each round registers as a sleeper on every word (S1), issues one F2 for
 * them all, re-checks every handle, and sleeps on all the futexes with
 * futex_waitv(2) (Linux 5.16): a publish to any of them wakes it, exactly as
 * a single sleeper is woken (the producers' path does not change).  Where
 * futex_waitv is missing (ENOSYS: an older kernel; or refused by seccomp),
 * or FEV_NO_FUTEX_WAITV=1 is set in the environment (tests), it sleeps on
 * one word at a time, rotating, for at most unpaired_ns (1 ms) each: a
 * publish to the word slept on wakes it at once, to any other within 1 ms,
 * and an idle wait costs up to 1,000 wake-ups a second.  With one handle
 * the fallback is exact.
 */
#ifndef FEV_WAIT_MANY_H
#define FEV_WAIT_MANY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fev/fev.h"

/*
 * Wait until one of qs is ready (fev__queue_ready()), writing the indices
 * of those ready into ready_out (n entries) and returning how many; or the
 * timeout passes (-EAGAIN for 0, -ETIMEDOUT), or *stop (when not NULL)
 * becomes non-zero (0 returned).  A thread that sets *stop must then call
 * fev__wait_wake_all() on each word (after a seq_cst fence) to wake it.
 * spin_ns: how long to spin first (the caller's own wait: the shortest
 * spin_ns of the handles), or 0 (a helper thread, which must not compete
 * with the consumer).
 */
int fev__wait_many(fev_queue *const *qs, size_t n, int64_t timeout_ns,
		   size_t *ready_out, const _Atomic uint32_t *stop,
		   uint32_t spin_ns);

/* Whether futex_waitv is used (not missing, not forced off). */
int fev__wait_many_uses_waitv(void);

#endif /* FEV_WAIT_MANY_H */
