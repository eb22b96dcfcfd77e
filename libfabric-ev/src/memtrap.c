#include "memtrap.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define TABLE_MIN 64

struct trap {
	_Atomic uintptr_t base; /* 0: free */
	_Atomic size_t len;
	_Atomic bool tripped;
};

struct table {
	size_t n;
	struct trap t[];
};

/*
 * The handler reads the table without a lock (it may interrupt anyone), so
 * a table is never freed: growing publishes a copy twice the size and keeps
 * the old one, which costs at most as much again as the largest table.
 * Writers (add, remove) take the mutex.
 */
static _Atomic(struct table *) table;
/*
 * Registered mappings that tripped: while none has, fev__memtrap_tripped()
 * answers without a lock or a search, which fevd asks of every queue each
 * second.  M3, relaxed: a hint, not a hand-over; a trip it misses now is seen
 * at the next question.
 */
static _Atomic size_t ntripped;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic bool installed;
static size_t page_size;

static struct trap *find(struct table *tb, uintptr_t addr)
{
	for (size_t i = 0; tb != NULL && i < tb->n; i++) {
		/* M2 acquire: pairs with M2 in fev__memtrap_add(). */
		uintptr_t base = atomic_load_explicit(&tb->t[i].base,
						      memory_order_acquire);
		size_t len = atomic_load_explicit(&tb->t[i].len,
						  memory_order_relaxed);

		if (base != 0 && addr >= base && addr - base < len)
			return &tb->t[i];
	}
	return NULL;
}

static void on_sigbus(int sig, siginfo_t *si, void *ctx)
{
	/* M1 acquire: pairs with M1 in grow(): the copy is whole. */
	struct table *tb = atomic_load_explicit(&table, memory_order_acquire);
	uintptr_t addr = (uintptr_t)si->si_addr;
	struct trap *t = find(tb, addr);
	uintptr_t from, end;
	int saved_errno = errno;

	(void)ctx;
	if (t == NULL) {
		/* Not a segment: die of SIGBUS as we would have. */
		signal(sig, SIG_DFL);
		return; /* the access faults again, now fatally */
	}
	from = addr & ~(uintptr_t)(page_size - 1);
	end = atomic_load_explicit(&t->base, memory_order_relaxed) +
	      atomic_load_explicit(&t->len, memory_order_relaxed);
	/* Zeros from the faulting page on: past the file's new end nothing
	 * of it is left to read, and writes there reach no one.  The raw
	 * system call: a libc or sanitizer wrapper of mmap may take a lock
	 * the interrupted code holds. */
	if (syscall(SYS_mmap, from, end - from, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == -1)
		signal(sig, SIG_DFL);
	errno = saved_errno; /* the interrupted code may be reading it */
	/* Relaxed: read by the same thread, or by another after it learnt
	 * of the queue through its own synchronisation.  Counted once per
	 * mapping, however many threads fault on it. */
	if (!atomic_exchange_explicit(&t->tripped, true, memory_order_relaxed))
		atomic_fetch_add_explicit(&ntripped, 1, memory_order_relaxed);
}

int fev__memtrap_install(void)
{
	struct sigaction sa;

	if (atomic_load(&installed))
		return 0;
	page_size = (size_t)sysconf(_SC_PAGESIZE);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, NULL) < 0)
		return -errno;
	atomic_store(&installed, true);
	return 0;
}

bool fev__memtrap_installed(void)
{
	return atomic_load_explicit(&installed, memory_order_relaxed);
}

/* A table twice the size holding the old entries; the old one is kept. */
static int grow(void)
{
	struct table *old = atomic_load_explicit(&table, memory_order_relaxed);
	size_t n = old != NULL ? old->n * 2 : TABLE_MIN;
	struct table *tb = calloc(1, sizeof(*tb) + n * sizeof(tb->t[0]));

	if (tb == NULL)
		return -ENOMEM;
	tb->n = n;
	for (size_t i = 0; old != NULL && i < old->n; i++) {
		atomic_init(&tb->t[i].base, atomic_load(&old->t[i].base));
		atomic_init(&tb->t[i].len, atomic_load(&old->t[i].len));
		atomic_init(&tb->t[i].tripped, atomic_load(&old->t[i].tripped));
	}
	/* M1 release: pairs with M1 in on_sigbus(). */
	atomic_store_explicit(&table, tb, memory_order_release);
	return 0;
}

static struct trap *free_trap(struct table *tb)
{
	for (size_t i = 0; tb != NULL && i < tb->n; i++)
		if (atomic_load_explicit(&tb->t[i].base,
					 memory_order_relaxed) == 0)
			return &tb->t[i];
	return NULL;
}

int fev__memtrap_add(void *base, size_t len)
{
	struct trap *t;
	int rc = 0;

	pthread_mutex_lock(&lock);
	t = free_trap(atomic_load_explicit(&table, memory_order_relaxed));
	if (t == NULL && (rc = grow()) == 0)
		t = free_trap(atomic_load_explicit(&table,
						   memory_order_relaxed));
	if (t != NULL) {
		atomic_store_explicit(&t->len, len, memory_order_relaxed);
		atomic_store_explicit(&t->tripped, false, memory_order_relaxed);
		/* M2 release: pairs with M2 in find(): len is set. */
		atomic_store_explicit(&t->base, (uintptr_t)base,
				      memory_order_release);
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

void fev__memtrap_remove(const void *base)
{
	struct trap *t;

	pthread_mutex_lock(&lock);
	t = find(atomic_load_explicit(&table, memory_order_relaxed),
		 (uintptr_t)base);
	if (t != NULL) {
		atomic_store_explicit(&t->base, 0, memory_order_relaxed);
		if (atomic_exchange_explicit(&t->tripped, false,
					     memory_order_relaxed))
			atomic_fetch_sub_explicit(&ntripped, 1,
						  memory_order_relaxed);
	}
	pthread_mutex_unlock(&lock);
}

bool fev__memtrap_tripped(const void *base)
{
	struct trap *t;
	bool tripped;

	if (atomic_load_explicit(&ntripped, memory_order_relaxed) == 0)
		return false;
	pthread_mutex_lock(&lock);
	t = find(atomic_load_explicit(&table, memory_order_relaxed),
		 (uintptr_t)base);
	tripped = t != NULL &&
		  atomic_load_explicit(&t->tripped, memory_order_relaxed);
	pthread_mutex_unlock(&lock);
	return tripped;
}
