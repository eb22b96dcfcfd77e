/* fev_fd(): the eventfd and its helper thread (pollfd.h). */
#include "pollfd.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "client.h"
#include "wait.h"
#include "wait_many.h"

struct fev__pollfd {
	int fd;
	fev_queue *q;
	pthread_t helper;
	/* Bumped by each re-arm and by the stop (P1/P2). */
	_Atomic uint32_t arm;
	_Atomic uint32_t stop;
};

static void futex_private(_Atomic uint32_t *w, int op, uint32_t val)
{
	syscall(SYS_futex, (uint32_t *)(void *)w, op | FUTEX_PRIVATE_FLAG, val,
		NULL, NULL, 0);
}

static void signal_fd(int fd)
{
	uint64_t one = 1;

	/* EAGAIN: the counter is full, so it is readable already. */
	while (write(fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

/* Until the consumer re-arms (P2 pairs with P1) or we are stopped. */
static void await_rearm(struct fev__pollfd *p, uint32_t g)
{
	while (atomic_load_explicit(&p->arm, memory_order_acquire) == g &&
	       atomic_load_explicit(&p->stop, memory_order_relaxed) == 0)
		futex_private(&p->arm, FUTEX_WAIT, g);
}

static void *helper_main(void *arg)
{
	struct fev__pollfd *p = arg;
	size_t ready;

	for (;;) {
		/* P2: pairs with P1; the look below follows the drain. */
		uint32_t g = atomic_load_explicit(&p->arm, memory_order_acquire);
		int rc = fev__wait_many(&p->q, 1, FEV_FOREVER, &ready, &p->stop,
					 0);

		/* Relaxed: set once; the wait above saw it (seq_cst). */
		if (atomic_load_explicit(&p->stop, memory_order_relaxed))
			return NULL;
		if (rc > 0)
			signal_fd(p->fd);
		await_rearm(p, g);
	}
}

void fev__pollfd_rearm(struct fev__pollfd *p)
{
	uint64_t n;

	if (p == NULL)
		return;
	/* Drain first: a signal written after this read stays. */
	while (read(p->fd, &n, sizeof(n)) < 0 && errno == EINTR)
		;
	/* P1: pairs with P2 in the helper, which looks again after it. */
	atomic_fetch_add_explicit(&p->arm, 1, memory_order_release);
	futex_private(&p->arm, FUTEX_WAKE, 1);
}

/* The helper takes no signal meant for the application. */
static int start_helper(struct fev__pollfd *p)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&p->helper, NULL, helper_main, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -rc;
}

int fev_fd(fev_queue *q)
{
	struct fev__pollfd **slot, *p;
	int rc = fev__queue_check_consumer(q);

	if (rc < 0)
		return rc;
	slot = fev__queue_pollfd(q);
	if (*slot != NULL)
		return (*slot)->fd;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	p->q = q;
	p->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->fd < 0) {
		rc = -errno;
		free(p);
		return rc;
	}
	rc = start_helper(p);
	if (rc < 0) {
		close(p->fd);
		free(p);
		return rc;
	}
	*slot = p;
	return p->fd;
}

void fev__pollfd_free(struct fev__pollfd *p, struct fev__waitword *not_empty,
		      bool inherited)
{
	if (p == NULL)
		return;
	if (!inherited) {
		/* seq_cst store and fence, then the sleeper-count load in
		 * the wake: with the helper's S1 and its seq_cst load of
		 * stop, one of us sees the other. */
		atomic_store_explicit(&p->stop, 1, memory_order_seq_cst);
		atomic_fetch_add_explicit(&p->arm, 1, memory_order_release);
		futex_private(&p->arm, FUTEX_WAKE, 1);
		atomic_thread_fence(memory_order_seq_cst);
		fev__wait_wake_all(not_empty);
		pthread_join(p->helper, NULL);
	}
	close(p->fd);
	free(p);
}
