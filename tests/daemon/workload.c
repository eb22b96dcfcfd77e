#include "workload.h"
#include "fevtest.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fev/fev.h"

#define MS (INT64_C(1000000))

static uint64_t mix(const struct wl_event *e)
{
	uint64_t h = ((uint64_t)e->id << 32 | e->seq) ^ e->sent_ns;

	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	return h;
}

int wl_init(struct wl *wl, const char *instance, const char *queue)
{
	void *p = mmap(NULL, sizeof(struct wl_shared), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return -errno;
	memset(wl, 0, sizeof(*wl));
	wl->sh = p;
	wl->instance = instance;
	wl->queue = queue;
	return 0;
}

void wl_fini(struct wl *wl)
{
	for (int i = 0; i < wl->nworkers; i++)
		if (wl->w[i].pid > 0) {
			kill(wl->w[i].pid, SIGKILL);
			waitpid(wl->w[i].pid, NULL, 0);
			wl->w[i].pid = 0;
		}
	munmap(wl->sh, sizeof(struct wl_shared));
}

static fev_queue *open_queue(const struct wl *wl, unsigned role)
{
	fev_open_opts o = { .struct_size = sizeof(o),
			    .instance = wl->instance };
	fev_queue *q = NULL;

	if (fev_open(wl->queue, role, &o, &q) < 0)
		_exit(10);
	return q;
}

/* Relaxed throughout the workers: the parent reads the records only after
 * waitpid(), which orders everything the children did before it. */
/* Work done while holding a position, so kills land inside claims. */
static void busy_us(unsigned us)
{
	uint64_t end = fevtest_now_ns() + us * 1000u;

	while (fevtest_now_ns() < end)
		;
}

/* Odd sequences go through reserve/commit with work in between. */
static int send_one(fev_queue *q, struct wl_event *e)
{
	fev_claim cl;
	int rc;

	if (e->seq % 2 == 0)
		return fev_send(q, e, sizeof(*e), 100 * MS);
	rc = fev_reserve(q, sizeof(*e), &cl, 100 * MS);
	if (rc < 0)
		return rc;
	memcpy(cl.data, e, sizeof(*e));
	busy_us(10);
	return fev_commit(q, &cl, sizeof(*e));
}

static bool producers_stop(const struct wl_shared *sh)
{
	return atomic_load_explicit(&sh->stop_producers, memory_order_relaxed);
}

static void make_event(struct wl_event *e, uint32_t id, uint32_t seq)
{
	*e = (struct wl_event){ .id = id, .seq = seq, .sent_ns = fevtest_now_ns() };
	e->check = mix(e);
}

/* Leave the CPUs to the others now and then. */
static void pace(uint32_t seq)
{
	if (seq % 16 == 15)
		nanosleep(&(struct timespec){ .tv_nsec = 200000 }, NULL);
}

static int producer_plain(const struct wl *wl, fev_queue *q, uint32_t id)
{
	struct wl_shared *sh = wl->sh;

	for (uint32_t seq = 0; seq < WL_SEQ_MAX; seq++) {
		struct wl_event e;
		int rc;

		if (producers_stop(sh))
			break;
		atomic_store_explicit(&sh->attempted[id], seq + 1,
				      memory_order_relaxed);
		do {
			make_event(&e, id, seq);
			rc = send_one(q, &e);
		} while ((rc == -ETIMEDOUT || rc == -EAGAIN) &&
			 !producers_stop(sh));
		if (rc < 0)
			break;
		atomic_store_explicit(&sh->committed[id], seq + 1,
				      memory_order_relaxed);
		pace(seq);
	}
	return 0;
}

/*
 * Reserve seq's slot while still holding seq - 1's, then commit seq - 1:
 * at any instant this handle may hold two positions.  When the ring is full
 * the held one goes out first (holding it would block the consumers that
 * must make room).  attempted runs one ahead of what is held, committed
 * counts the commits, which come in seq order.
 */
static int producer_double(const struct wl *wl, fev_queue *q, uint32_t id)
{
	struct wl_shared *sh = wl->sh;
	fev_claim held, next;
	bool holding = false;
	uint32_t seq = 0;

	while (seq < WL_SEQ_MAX && !producers_stop(sh)) {
		struct wl_event e;
		int rc;

		atomic_store_explicit(&sh->attempted[id], seq + 1,
				      memory_order_relaxed);
		rc = fev_reserve(q, sizeof(e), &next, 100 * MS);
		if (rc == 0) {
			make_event(&e, id, seq);
			memcpy(next.data, &e, sizeof(e));
			busy_us(10);
		} else if (rc != -ETIMEDOUT && rc != -EAGAIN) {
			return 20;
		}
		if (holding) {
			if (fev_commit(q, &held, sizeof(e)) < 0)
				return 21;
			atomic_store_explicit(&sh->committed[id],
					      seq,
					      memory_order_relaxed);
			holding = false;
		}
		if (rc != 0)
			continue; /* retry seq with nothing held */
		held = next;
		holding = true;
		pace(seq);
		seq++;
	}
	if (holding && fev_commit(q, &held, sizeof(struct wl_event)) == 0)
		atomic_store_explicit(&sh->committed[id], seq,
				      memory_order_relaxed);
	return 0;
}

static int producer(const struct wl *wl, uint32_t id, enum wl_variant v)
{
	fev_queue *q = open_queue(wl, FEV_PRODUCER);
	int rc = v == WL_DOUBLE || v == WL_EXITED_DOUBLE ?
			 producer_double(wl, q, id) :
			 producer_plain(wl, q, id);

	fev_close(q);
	return rc;
}

struct exited_main {
	const struct wl *wl;
	uint32_t id;
	enum wl_variant variant;
};

static void *sender_thread(void *arg)
{
	const struct exited_main *x = arg;

	/* The main thread is gone: the process ends here, with our status. */
	_exit(producer(x->wl, x->id, x->variant));
}

/*
 * Send from a second thread after the main thread has called
 * pthread_exit(): /proc shows the leader as a zombie while the process
 * lives on.  Liveness must not call it dead.
 */
static int producer_exited_main(const struct wl *wl, uint32_t id,
				enum wl_variant v)
{
	static struct exited_main x;
	pthread_t t;

	x = (struct exited_main){ .wl = wl, .id = id, .variant = v };
	if (pthread_create(&t, NULL, sender_thread, &x) != 0)
		return 30;
	pthread_exit(NULL);
}

static void record(struct wl_shared *sh, const fev_event *ev)
{
	const struct wl_event *e = ev->data;
	uint64_t k, now;

	if (ev->len != sizeof(*e) || e->check != mix(e) || e->id >= WL_IDS ||
	    e->seq >= WL_SEQ_MAX ||
	    e->seq >= atomic_load_explicit(&sh->attempted[e->id],
					   memory_order_relaxed)) {
		atomic_fetch_add_explicit(&sh->bad_payload, 1,
					  memory_order_relaxed);
		return;
	}
	if (ev->flags & FEV_REDELIVERED) {
		atomic_fetch_add_explicit(&sh->again[e->id][e->seq], 1,
					  memory_order_relaxed);
		atomic_fetch_add_explicit(&sh->redelivered, 1,
					  memory_order_relaxed);
	} else {
		atomic_fetch_add_explicit(&sh->plain[e->id][e->seq], 1,
					  memory_order_relaxed);
	}
	atomic_fetch_add_explicit(&sh->delivered, 1, memory_order_relaxed);
	/* Acquire: pairs with the parent's release of kill_ns after it reset
	 * recovered_ns. */
	k = atomic_load_explicit(&sh->kill_ns, memory_order_acquire);
	if (k != 0 && e->sent_ns > k) {
		uint64_t none = 0;

		now = fevtest_now_ns();
		atomic_compare_exchange_strong_explicit(
			&sh->recovered_ns, &none, now, memory_order_relaxed,
			memory_order_relaxed);
	}
}

static bool consumers_stop(const struct wl_shared *sh)
{
	return atomic_load_explicit(&sh->stop_consumers, memory_order_relaxed);
}

/* fev_acquire, counting corrupt slots; 0, or 1 for "nothing now", or the
 * exit status of a consumer that must stop. */
static int take(struct wl_shared *sh, fev_queue *q, fev_event *ev)
{
	int rc = fev_acquire(q, ev, 50 * MS);

	if (rc == -ETIMEDOUT || rc == -EAGAIN)
		return 1;
	if (rc == -EBADMSG) { /* a corrupt slot: it is skipped */
		atomic_fetch_add_explicit(&sh->bad_payload, 1,
					  memory_order_relaxed);
		return 1;
	}
	return rc < 0 ? 11 : 0;
}

/*
 * Record each event when acquired and release it later: with double set,
 * only after the next one is acquired, so two may be held at once.  An
 * event recorded and then lost with its consumer is redelivered, flagged.
 */
static int consumer(const struct wl *wl, bool double_buffer)
{
	struct wl_shared *sh = wl->sh;
	fev_queue *q = open_queue(wl, FEV_CONSUMER);
	fev_event held, ev;
	bool holding = false;

	while (!consumers_stop(sh)) {
		int rc = take(sh, q, &ev);

		if (rc > 1)
			_exit(rc);
		if (rc == 1) {
			/* Idle: hand back what is held, so it can drain. */
			if (holding && fev_release(q, &held) < 0)
				_exit(12);
			holding = false;
			continue;
		}
		record(sh, &ev);
		busy_us(10);
		if (holding && fev_release(q, &held) < 0)
			_exit(12);
		holding = false;
		if (double_buffer) {
			held = ev;
			holding = true;
		} else if (fev_release(q, &ev) < 0) {
			_exit(12);
		}
	}
	if (holding && fev_release(q, &held) < 0)
		_exit(12);
	fev_close(q);
	return 0;
}

static enum wl_variant next_variant(struct wl *wl, enum wl_role role)
{
	unsigned n = wl->spawned[role]++;

	if (!wl->mixed)
		return WL_PLAIN;
	return role == WL_PRODUCER ? (enum wl_variant)(n % WL_VARIANTS) :
				     (enum wl_variant)(n % 2);
}

static int worker_main(const struct wl *wl, enum wl_role role, uint32_t id,
		       enum wl_variant v)
{
	if (role == WL_CONSUMER)
		return consumer(wl, v == WL_DOUBLE);
	if (v == WL_EXITED_MAIN || v == WL_EXITED_DOUBLE)
		return producer_exited_main(wl, id, v);
	return producer(wl, id, v);
}

void wl_spawn(struct wl *wl, int i, enum wl_role role)
{
	enum wl_variant v;
	uint32_t id = 0;
	pid_t pid;

	if (role == WL_PRODUCER) {
		if (wl->next_id >= WL_IDS) {
			wl->w[i] = (struct wl_worker){ .role = role };
			return; /* out of ids: the slot stays empty */
		}
		id = wl->next_id++;
	}
	v = next_variant(wl, role);
	pid = fork();
	if (pid == 0)
		_exit(worker_main(wl, role, id, v));
	wl->w[i] = (struct wl_worker){ .role = role, .variant = v,
				       .pid = pid, .id = id };
	if (i >= wl->nworkers)
		wl->nworkers = i + 1;
}

int wl_reap(struct wl *wl)
{
	int failed = 0;

	for (int i = 0; i < wl->nworkers; i++) {
		int status;

		if (wl->w[i].pid <= 0 ||
		    waitpid(wl->w[i].pid, &status, WNOHANG) != wl->w[i].pid)
			continue;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "worker %d (pid %d) failed: status 0x%x\n",
				i, (int)wl->w[i].pid, status);
			failed++;
		}
		wl_spawn(wl, i, wl->w[i].role);
	}
	return failed;
}

static bool wait_role(struct wl *wl, enum wl_role role, uint64_t end)
{
	for (int i = 0; i < wl->nworkers; i++) {
		if (wl->w[i].role != role || wl->w[i].pid <= 0)
			continue;
		for (;;) {
			if (waitpid(wl->w[i].pid, NULL, WNOHANG) ==
			    wl->w[i].pid)
				break;
			if (fevtest_now_ns() > end)
				return false;
			nanosleep(&(struct timespec){ .tv_nsec = MS }, NULL);
		}
		wl->w[i].pid = 0;
	}
	return true;
}

int wl_stop(struct wl *wl, unsigned timeout_ms)
{
	uint64_t end = fevtest_now_ns() + (uint64_t)timeout_ms * MS;
	fev_stats st;

	atomic_store_explicit(&wl->sh->stop_producers, 1, memory_order_relaxed);
	if (!wait_role(wl, WL_PRODUCER, end))
		return -ETIMEDOUT;
	do {
		if (fev_queue_stats(wl->queue, wl->instance, &st) < 0 ||
		    fevtest_now_ns() > end)
			return -ETIMEDOUT;
		nanosleep(&(struct timespec){ .tv_nsec = MS }, NULL);
	} while (st.depth != 0);
	atomic_store_explicit(&wl->sh->stop_consumers, 1, memory_order_relaxed);
	return wait_role(wl, WL_CONSUMER, end) ? 0 : -ETIMEDOUT;
}

void wl_check(const struct wl *wl, struct wl_result *r)
{
	const struct wl_shared *sh = wl->sh;

	memset(r, 0, sizeof(*r));
	r->delivered = sh->delivered;
	r->redelivered = sh->redelivered;
	r->bad_payload = sh->bad_payload;
	for (uint32_t id = 0; id < wl->next_id; id++) {
		uint32_t committed = sh->committed[id];
		uint32_t attempted = sh->attempted[id];

		r->committed += committed;
		r->uncertain += attempted - committed;
		for (uint32_t s = 0; s < WL_SEQ_MAX; s++) {
			unsigned plain = sh->plain[id][s];
			unsigned again = sh->again[id][s];

			if (s < committed && plain + again == 0)
				r->lost++;
			if (s >= attempted && plain + again != 0)
				r->invented++;
			if (plain > 1)
				r->unflagged_duplicates++;
		}
	}
}
