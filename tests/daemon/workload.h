/*
 * A checked workload for fault injection: producer and consumer processes
 * (forked from the test) on one queue, recording in a MAP_SHARED area what
 * they attempted, what fev_send() confirmed, and what consumers received,
 * so the test can prove after any number of SIGKILLs that nothing committed
 * was lost, nothing was invented, and duplicates are all flagged.
 *
 * Every producer incarnation has its own id; event (id, seq) carries the
 * time it was sent.  A producer stores attempted[id] = seq + 1 before
 * fev_send() and committed[id] = seq + 1 after it returns 0, so every seq
 * below committed was committed, and only seqs in [committed, attempted)
 * are uncertain (the producer died or gave up inside fev_send()).
 * Consumers use acquire/record/release, so a consumer killed before release
 * has recorded nothing unflagged that will not be redelivered.
 *
 * With wl.mixed, workers come in the variants crash repair finds hardest,
 * in turn: a double-buffering producer (reserves the next slot before it
 * commits the one it holds) and consumer (acquires the next event while it
 * still holds one), and producers whose main thread has exited
 * (pthread_exit) while another thread sends.
 */
#ifndef FEVD_WORKLOAD_H
#define FEVD_WORKLOAD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define WL_IDS 2048      /* producer incarnations per run */
#define WL_SEQ_MAX 16384 /* events per incarnation */
#define WL_WORKERS_MAX 8

struct wl_event {
	uint32_t id;
	uint32_t seq;
	uint64_t sent_ns; /* CLOCK_MONOTONIC before fev_send() */
	uint64_t check;   /* id, seq and sent_ns mixed: catches torn copies */
};

struct wl_shared {
	_Atomic int stop_producers, stop_consumers;
	/* Recovery probe: the parent stores kill_ns; the first consumer to
	 * receive an event sent after it stores recovered_ns. */
	_Atomic uint64_t kill_ns, recovered_ns;
	_Atomic uint64_t delivered, redelivered;
	_Atomic uint32_t bad_payload;
	_Atomic uint32_t attempted[WL_IDS];
	_Atomic uint32_t committed[WL_IDS];
	_Atomic uint8_t plain[WL_IDS][WL_SEQ_MAX];
	_Atomic uint8_t again[WL_IDS][WL_SEQ_MAX]; /* flagged REDELIVERED */
};

struct wl_result {
	uint64_t committed, uncertain, delivered, redelivered;
	uint64_t lost, invented, unflagged_duplicates, bad_payload;
};

enum wl_role { WL_PRODUCER, WL_CONSUMER };

/* How a worker holds positions (wl.mixed picks them in turn). */
enum wl_variant {
	WL_PLAIN,          /* one position at a time */
	WL_DOUBLE,         /* holds one while taking the next */
	WL_EXITED_MAIN,    /* producer: plain, sending from a second thread */
	WL_EXITED_DOUBLE,  /* producer: double-buffering, second thread */
	WL_VARIANTS
};

struct wl_worker {
	enum wl_role role;
	enum wl_variant variant;
	pid_t pid;
	uint32_t id; /* producer incarnation */
};

struct wl {
	struct wl_shared *sh;
	const char *instance, *queue;
	struct wl_worker w[WL_WORKERS_MAX];
	int nworkers;
	uint32_t next_id;
	bool mixed;          /* workers take the variants in turn */
	unsigned spawned[2]; /* per role, to pick the next variant */
};

/* Map the shared area; 0 or -errno. */
int wl_init(struct wl *wl, const char *instance, const char *queue);
void wl_fini(struct wl *wl);
/* Fork a worker into slot i (producers get a fresh id). */
void wl_spawn(struct wl *wl, int i, enum wl_role role);
/* Respawn workers that exited on their own (producers that ran out of
 * sequence numbers).  Returns how many failed (exit status != 0). */
int wl_reap(struct wl *wl);
/* Stop producers, let consumers drain (depth 0), stop consumers; bounded.
 * 0, or -ETIMEDOUT. */
int wl_stop(struct wl *wl, unsigned timeout_ms);
/* Compare what was committed with what was delivered. */
void wl_check(const struct wl *wl, struct wl_result *r);

#endif /* FEVD_WORKLOAD_H */
