/*
 * A busy tail's CPU budget: a token bucket of busy time (tail_budget.h).
 */
#include "tail_budget.h"

#include "fev/fev.h"

void fev__tail_budget_init(struct fev__tail_budget *b, uint32_t percent,
			   uint64_t now)
{
	*b = (struct fev__tail_budget){ .percent = percent,
					.credit_ns = TAIL_BUDGET_BURST_NS,
					.credit_at_ns = now };
}

/* Credit for the time since it last accrued, at most a burst. */
static void accrue(struct fev__tail_budget *b, uint64_t now)
{
	int64_t gained = (int64_t)((now - b->credit_at_ns) * b->percent /
				   FEV_TAIL_CPU_FULL);

	b->credit_at_ns = now;
	b->credit_ns = TAIL_BUDGET_BURST_NS - b->credit_ns < gained ?
			       TAIL_BUDGET_BURST_NS :
			       b->credit_ns + gained;
}

/* Busy since busy_since_ns: spend it, down to a burst's worth below
 * nothing at most (a caller that held one event for a second rests a
 * bounded time, not fifty seconds). */
static void spend(struct fev__tail_budget *b, uint64_t now)
{
	uint64_t busy = now - b->busy_since_ns;

	b->busy_since_ns = now;
	b->credit_ns = busy > (uint64_t)(b->credit_ns + TAIL_BUDGET_BURST_NS) ?
			       -TAIL_BUDGET_BURST_NS :
			       b->credit_ns - (int64_t)busy;
}

uint64_t fev__tail_budget_before(struct fev__tail_budget *b, uint64_t now)
{
	if (b->rest_until_ns != 0) {
		if (now < b->rest_until_ns)
			return b->rest_until_ns;
		/* Rested: the rest was as long as a whole burst takes to
		 * accrue, and resting is not busy. */
		fev__tail_budget_init(b, b->percent, now);
		return 0;
	}
	accrue(b, now);
	if (b->busy_since_ns != 0)
		spend(b, now);
	if (b->credit_ns >= 0)
		return 0;
	/* Busy at rate 1 spent (1 - p) net; resting R accrues R p: R is
	 * what is owed plus a burst, over p.  Busy p of the time. */
	b->rest_until_ns =
		now + (uint64_t)(TAIL_BUDGET_BURST_NS - b->credit_ns) *
			      FEV_TAIL_CPU_FULL / b->percent;
	return b->rest_until_ns;
}

void fev__tail_budget_after(struct fev__tail_budget *b, bool found,
			    uint64_t now)
{
	if (!found)
		b->busy_since_ns = 0; /* caught up: spent until now already */
	else if (b->busy_since_ns == 0)
		b->busy_since_ns = now;
}
