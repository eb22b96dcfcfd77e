/*
 * fev_fd(): a descriptor (an eventfd) that becomes readable when a consumer
 * handle has events, for epoll, poll, libuv, libevent.
 *
 * Who signals it.  Producers live in other processes and cannot write our
 * eventfd (pidfd_getfd() needs ptrace rights; a descriptor handed out by
 * fevd would put fevd in the path).  So the handle gets a helper thread
 * that sleeps on the queue's not_empty word like any consumer (S1, F2,
 * re-check, futex: wait_many.h) and writes the eventfd when the queue has
 * events.  The producers do not change: their wake is the one they make
 * for any sleeper, a load and no syscall while nobody sleeps, and the
 * helper sleeps only while the consumer is idle.
 *
 * Re-arming (P1/P2, process-local):
 *
 *   helper                                consumer
 *   g = arm (acquire, P2)
 *   sleep until the queue is ready        epoll says readable
 *   write(eventfd, 1)                     acquire ... until -EAGAIN
 *   futex-wait while arm == g             (empty) read(eventfd): drained
 *   loop: g = arm, re-check the queue     arm += 1 (release, P1), wake
 *
 * The helper looks at the queue after every re-arm, so an event published
 * after the consumer found the queue empty is seen by that look or wakes
 * its sleep: no lost wake-up.  The descriptor is edge-like (as EPOLLET):
 * after it is readable, consume until an acquire or receive says -EAGAIN
 * (or -ETIMEDOUT); any consumer call that finds the queue empty re-arms it.
 * Reading the eventfd yourself is allowed, never required.
 */
#ifndef FEV_POLLFD_H
#define FEV_POLLFD_H

#include <stdbool.h>

#include "layout.h"

struct fev__pollfd;

/* After a consumer call found the queue empty: drain, re-arm (NULL: no-op). */
void fev__pollfd_rearm(struct fev__pollfd *p);
/*
 * Stop the helper (waking it on not_empty) and close the descriptor; in a
 * forked child (inherited) only the descriptor and memory go: the thread
 * is the parent's.
 */
void fev__pollfd_free(struct fev__pollfd *p, struct fev__waitword *not_empty,
		      bool inherited);

#endif /* FEV_POLLFD_H */
