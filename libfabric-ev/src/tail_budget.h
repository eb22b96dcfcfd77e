/*
 * A busy tail's CPU budget (fev_tail_opts.cpu_percent, tail.c).
 *
 * A token bucket of busy time.  A tail is busy from a look that found an
 * event until the next look that found none (what its caller does with
 * the events in between counts too: it is the same CPU).  Credit accrues
 * at percent of the time that passes, up to TAIL_BUDGET_BURST_NS, and
 * busy time spends it; at less than none the tail rests until the credit
 * is a whole burst again.  So a tail behind a ring at full speed reads in
 * bursts of about TAIL_BUDGET_BURST_NS, busy percent of the time, and a
 * tail that keeps up with a slow stream (busy a microsecond per event)
 * never rests.  Times are CLOCK_MONOTONIC nanoseconds, passed in: the
 * caller reads the clock once per look and does the sleeping.
 */
#ifndef FEV_TAIL_BUDGET_H
#define FEV_TAIL_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

/* The longest burst: at 2 % a rest is then about 7 ms. */
#define TAIL_BUDGET_BURST_NS INT64_C(150000)

struct fev__tail_budget {
	uint32_t percent;       /* 1 .. 99 (100: the caller skips the budget) */
	int64_t credit_ns;      /* busy time it may still spend */
	uint64_t credit_at_ns;  /* when credit last accrued */
	uint64_t busy_since_ns; /* 0: the last look found nothing */
	uint64_t rest_until_ns; /* 0: not resting */
};

void fev__tail_budget_init(struct fev__tail_budget *b, uint32_t percent,
			   uint64_t now);
/* Before a look at now: 0 to look, else the time its rest ends (no look
 * before then). */
uint64_t fev__tail_budget_before(struct fev__tail_budget *b, uint64_t now);
/* After the look at now (the time given to before()): found an event? */
void fev__tail_budget_after(struct fev__tail_budget *b, bool found,
			    uint64_t now);

#endif /* FEV_TAIL_BUDGET_H */
