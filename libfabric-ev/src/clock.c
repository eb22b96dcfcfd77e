#include "clock.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

enum { CLOCK_UNINIT = 0, CLOCK_CALIBRATING = 1, CLOCK_TSC = 2, CLOCK_OS = 3 };

#define CALIBRATE_NS 2000000u      /* first baseline: 2 ms */
#define ANCHOR_MAX_NS 100000000u   /* re-anchor at least every 100 ms */
#define MULT_TOLERANCE_SHIFT 7     /* a rate off by > 1/128: clock step */

uint64_t fev__now_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t fev__now_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#if defined(__x86_64__)
static bool tsc_trustworthy(void)
{
	unsigned a, b, c, d;
	char src[32] = "";
	FILE *f;

	/* Invariant TSC: CPUID 0x80000007, EDX bit 8. */
	if (!__get_cpuid(0x80000007, &a, &b, &c, &d) || !(d & (1u << 8)))
		return false;
	f = fopen("/sys/devices/system/clocksource/clocksource0/"
		  "current_clocksource", "re");
	if (f == NULL)
		return false;
	if (fgets(src, sizeof(src), f) == NULL)
		src[0] = '\0';
	fclose(f);
	return strcmp(src, "tsc\n") == 0;
}

static bool tsc_usable(void)
{
	/* 0 unknown, 1 yes, 2 no; a benign race computes it twice. */
	static _Atomic int known;
	int k = atomic_load_explicit(&known, memory_order_relaxed);

	if (k == 0) {
		k = tsc_trustworthy() ? 1 : 2;
		/* Relaxed: an idempotent, self-contained fact. */
		atomic_store_explicit(&known, k, memory_order_relaxed);
	}
	return k == 1;
}

static uint64_t rate(uint64_t dns, uint64_t dtsc)
{
	return dtsc ? (uint64_t)(((unsigned __int128)dns << 32) / dtsc) : 0;
}

static void anchor(struct fev__clock *c, uint64_t tsc, uint64_t ns)
{
	uint64_t every = (ns - c->ns_cal) / 16;

	if (every > ANCHOR_MAX_NS)
		every = ANCHOR_MAX_NS;
	c->tsc0 = tsc;
	c->ns0 = ns;
	c->anchor_ticks = (uint64_t)(((unsigned __int128)every << 32) / c->mult);
	c->state = CLOCK_TSC;
}

uint64_t fev__clock_slow(struct fev__clock *c)
{
	uint64_t ns = fev__now_realtime_ns(), tsc = __builtin_ia32_rdtsc(), m;

	switch (c->state) {
	case CLOCK_UNINIT:
		c->state = tsc_usable() ? CLOCK_CALIBRATING : CLOCK_OS;
		c->tsc_cal = tsc;
		c->ns_cal = ns;
		return ns;
	case CLOCK_CALIBRATING:
		if (ns < c->ns_cal || tsc <= c->tsc_cal) {
			c->state = CLOCK_UNINIT; /* clock stepped back: restart */
		} else if (ns - c->ns_cal >= CALIBRATE_NS) {
			c->mult = rate(ns - c->ns_cal, tsc - c->tsc_cal);
			if (c->mult != 0)
				anchor(c, tsc, ns);
		}
		return ns;
	case CLOCK_TSC:
		m = ns > c->ns_cal ? rate(ns - c->ns_cal, tsc - c->tsc_cal) : 0;
		if (m == 0 || m > c->mult + (c->mult >> MULT_TOLERANCE_SHIFT) ||
		    m < c->mult - (c->mult >> MULT_TOLERANCE_SHIFT)) {
			/* The wall clock stepped: a new baseline from here. */
			c->tsc_cal = tsc;
			c->ns_cal = ns;
			c->state = CLOCK_CALIBRATING;
			return ns;
		}
		c->mult = m;
		anchor(c, tsc, ns);
		return ns;
	default:
		return ns;
	}
}
#else
uint64_t fev__clock_slow(struct fev__clock *c)
{
	(void)c;
	return fev__now_realtime_ns();
}
#endif
