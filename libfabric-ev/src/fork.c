/*
 * Counting forks for the handle check in fork.h.
 */
#include "fork.h"

#include <pthread.h>

_Atomic uint32_t fev__forks;

static pthread_once_t watch_once = PTHREAD_ONCE_INIT;

static void in_child(void)
{
	/* Relaxed: see fev__fork_generation(). */
	atomic_fetch_add_explicit(&fev__forks, 1, memory_order_relaxed);
}

static void install(void)
{
	/* Fails only with ENOMEM; then forks go unseen, as before. */
	(void)pthread_atfork(NULL, NULL, in_child);
}

void fev__fork_watch(void)
{
	pthread_once(&watch_once, install);
}
