/*
 * The control block a run's processes share: an anonymous MAP_SHARED
 * mapping made by the parent before fork().  The parent writes go and stop
 * once each; children write only their own proc[] record.
 */
#ifndef FEV_BENCH_SHARED_H
#define FEV_BENCH_SHARED_H

#include <stdatomic.h>
#include <stdint.h>

#include "bench.h"

struct bench_proc {
	uint64_t count;     /* data events sent / received / round trips */
	uint64_t sum;       /* consumer: sum of header words got (mod 2^64) */
	uint64_t n_sampled; /* consumer: events counted at t_sampled */
	uint64_t t_sampled; /* consumer: CLOCK_MONOTONIC of that count */
	uint64_t t_begin;   /* ping: measured period, CLOCK_MONOTONIC */
	int cpu;            /* where it ran last */
	int rc;             /* 0 or negative errno */
	char err[160];
} __attribute__((aligned(128)));

struct bench_shared {
	/* Counters the children raise when attached; the parent polls. */
	_Atomic uint32_t consumers_ready, producers_ready;
	/* End markers consumed so far: the parent's marker sender waits for
	 * each one before sending the next, so no consumer takes two. */
	_Atomic uint32_t ends_seen;
	_Alignas(128) _Atomic uint32_t go;
	_Alignas(128) _Atomic uint32_t stop;
	uint64_t t0_ns; /* written before go is released */
	struct bench_proc proc[BENCH_MAX_PROCS + 1];
	struct bench_hist hist; /* the measuring process's latencies */
};

uint64_t bench_now_ns(void);

#endif /* FEV_BENCH_SHARED_H */
