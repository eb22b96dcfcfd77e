/*
 * fev's clocks.  fev__now_realtime_ns() and fev__now_monotonic_ns() read
 * the kernel's (clock_gettime); struct fev__clock gives event timestamps:
 * CLOCK_REALTIME nanoseconds, read from the TSC.
 *
 * clock_gettime() costs ~20 ns here (vDSO), as much as the rest of a send;
 * the TSC costs ~8.  Each handle keeps its own conversion (so it needs no
 * lock and no thread-local storage): it calibrates against clock_gettime()
 * over its first 2 ms, then re-anchors to clock_gettime() every
 * baseline/16 (at most every 100 ms), refining the rate over an ever longer
 * baseline.  The error stays within a few ns of CLOCK_REALTIME; a clock
 * step (settimeofday, NTP) is followed within one re-anchor.  Used only when
 * the TSC is invariant and the kernel itself uses it as clocksource;
 * otherwise every reading is a clock_gettime().
 */
#ifndef FEV_CLOCK_H
#define FEV_CLOCK_H

#include <stdint.h>

/* CLOCK_REALTIME and CLOCK_MONOTONIC in nanoseconds (vDSO, no syscall). */
uint64_t fev__now_realtime_ns(void);
uint64_t fev__now_monotonic_ns(void);

struct fev__clock {
	uint64_t tsc0, ns0;       /* current anchor */
	uint64_t tsc_cal, ns_cal; /* start of the calibration baseline */
	uint64_t mult;            /* ns per tick, 32.32 fixed point */
	uint64_t anchor_ticks;    /* re-anchor after this many ticks */
	int state;
};

uint64_t fev__clock_slow(struct fev__clock *c);

#if defined(__x86_64__)
static inline uint64_t fev__clock_realtime_ns(struct fev__clock *c)
{
	if (__builtin_expect(c->state == 2, 1)) {
		uint64_t dt = __builtin_ia32_rdtsc() - c->tsc0;

		if (__builtin_expect(dt < c->anchor_ticks, 1))
			return c->ns0 + ((dt * c->mult) >> 32);
	}
	return fev__clock_slow(c);
}
#else
static inline uint64_t fev__clock_realtime_ns(struct fev__clock *c)
{
	return fev__clock_slow(c);
}
#endif

#endif /* FEV_CLOCK_H */
