/*
 * Handles across fork(): a handle belongs to the process that opened it.
 * Its attacher record names that process, so the child of a fork() that
 * kept using it would write through a record fevd repairs and frees once
 * the parent exits.  A pthread_atfork() child handler counts the forks
 * this process is removed from its ancestors; a handle remembers the
 * count at open and is refused (-ECHILD) when it differs.  One relaxed
 * load and compare per call: no syscall (getpid() is one since glibc
 * 2.25) on the fast path.
 *
 * What it does not see: a child made by a raw clone() or vfork() that
 * skips the atfork handlers.  Such a child must not touch handles.
 */
#ifndef FEV_FORK_H
#define FEV_FORK_H

#include <stdatomic.h>
#include <stdint.h>

extern _Atomic uint32_t fev__forks;

/* Install the atfork handler (once per process); call before opening. */
void fev__fork_watch(void);

/* How many forks this process is removed from where the library loaded. */
static inline uint32_t fev__fork_generation(void)
{
	/* Relaxed: written only by the atfork child handler, which runs in
	 * the child's only thread before fork() returns there; threads made
	 * later see it through pthread_create(). */
	return atomic_load_explicit(&fev__forks, memory_order_relaxed);
}

#endif /* FEV_FORK_H */
