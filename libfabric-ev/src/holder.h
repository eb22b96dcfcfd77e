/*
 * The ring positions one handle holds in one role, tracked exactly in the
 * handle's private memory, and the hold record (layout.h) that names them
 * to a supervisor.
 *
 * Positions are taken in increasing order, but for one at a time that a
 * consumer group hands back below them (a redelivery popped from the redo
 * list, an ordered group's re-take), and given back in any order.  A
 * live hold record that names a dead peer's position keeps that position from
 * being repaired (repair.c), so the hold record [lo, hi) must cover every held
 * position and as little else as it can: lo is always the lowest position
 * still held and hi one past the highest.  A handle holds positions of one
 * lap at most (a held position's slot is not free for the next lap), so
 * hi - lo never exceeds the ring's capacity and always fits the hold record's
 * 32-bit length.
 *
 * The held set is a FIFO of runs: 64-aligned windows of 64 bits each, in
 * increasing order, taken at the back and dropped from the front once
 * empty.  Takes append (amortised O(1)); commit, release and the "do we
 * hold it" check find their run by binary search.  The runs live inline
 * while few, on the heap when a handle holds positions spread wider than
 * that: fev__holder_make_room() (holder.c) grows them before a take, so the
 * ring itself never allocates.
 *
 * Single-threaded: a holder belongs to one handle, used by one thread.
 */
#ifndef FEV_HOLDER_H
#define FEV_HOLDER_H

#include <stdbool.h>
#include <stdint.h>

#include "layout.h"

#define FEV__HOLD_RUN_BITS 64u
#define FEV__HOLD_INLINE_RUNS 4u /* a power of two */

struct fev__hold_run {
	uint64_t base; /* a multiple of FEV__HOLD_RUN_BITS */
	uint64_t bits; /* bit i set <=> position base + i held */
};

/*
 * Zero-initialised (apart from rec) it is an empty holder on inline runs:
 * repair.c declares one on the stack for the single position it takes.
 */
struct fev__holder {
	struct fev__holdrec *rec;
	uint32_t held;                  /* positions held */
	uint32_t first, count;          /* runs in use, from first (mod size) */
	uint32_t size;                  /* heap runs; 0 while inline */
	struct fev__hold_run *heap;     /* NULL while inline */
	struct fev__hold_run inline_runs[FEV__HOLD_INLINE_RUNS];
};

/* Bits [from, from + n) of a run (n <= 64, from + n <= 64). */
static inline uint64_t fev__hold_bits(uint64_t from, uint64_t n)
{
	return (n == 64 ? ~UINT64_C(0) : (UINT64_C(1) << n) - 1) << from;
}

/* Grow the runs to hold `need` (holder.c): 0 or -ENOMEM. */
int fev__holder_grow(struct fev__holder *h, uint64_t need);
/* Give back the heap runs; the holder is empty and inline afterwards. */
void fev__holder_free(struct fev__holder *h);

static inline uint32_t fev__holder_size(const struct fev__holder *h)
{
	return h->heap != NULL ? h->size : FEV__HOLD_INLINE_RUNS;
}

/*
 * 0, or -ENOMEM: room for a take of up to want positions, which touches
 * at most ceil(want / 64) + 1 new runs.
 */
static inline int fev__holder_make_room(struct fev__holder *h, uint64_t want)
{
	uint64_t need = h->count +
			(want + FEV__HOLD_RUN_BITS - 1) / FEV__HOLD_RUN_BITS + 1;

	return need <= fev__holder_size(h) ? 0 : fev__holder_grow(h, need);
}


/* The i-th run in use, 0 being the lowest. */
static inline struct fev__hold_run *fev__holder_run(struct fev__holder *h,
						    uint32_t i)
{
	struct fev__hold_run *runs =
		h->heap != NULL ? h->heap : h->inline_runs;

	return &runs[(h->first + i) & (fev__holder_size(h) - 1)];
}

/*
 * How many positions one take may add without growing the runs: a take of
 * k positions touches at most ceil(k / 64) + 1 new runs.
 */
static inline uint32_t fev__holder_fit(const struct fev__holder *h)
{
	uint64_t spare = fev__holder_size(h) - h->count;
	uint64_t fit = spare >= 2 ? (spare - 1) * FEV__HOLD_RUN_BITS : 0;

	return fit > UINT32_MAX ? UINT32_MAX : (uint32_t)fit;
}

/* Lowest held position, and one past the highest (held != 0). */
static inline uint64_t fev__holder_lo(struct fev__holder *h)
{
	struct fev__hold_run *r = fev__holder_run(h, 0);

	return r->base + (uint64_t)__builtin_ctzll(r->bits);
}

static inline uint64_t fev__holder_hi(struct fev__holder *h)
{
	struct fev__hold_run *r = fev__holder_run(h, h->count - 1);

	return r->base + 64 - (uint64_t)__builtin_clzll(r->bits);
}

/*
 * The hold record's length.  Never more than the capacity for positions the
 * ring handed out; a forged cursor could make it more, and then the hold record
 * saturates instead of wrapping to a short range.
 */
static inline uint32_t fev__holdrec_len(uint64_t lo, uint64_t hi)
{
	uint64_t n = hi - lo;

	return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

/* Name [pos, pos + n) too, before the CAS that would take it. */
static inline void fev__holder_intent(struct fev__holder *h, uint64_t pos,
				      uint32_t n)
{
	uint64_t lo = pos, hi = pos + n;

	if (h->held != 0) {
		uint64_t held_lo = fev__holder_lo(h), held_hi = fev__holder_hi(h);

		/* Wrap-safe min and max: positions are compared by distance.
		 * A redelivery may lie below what we hold: unnamed, a dead
		 * member's repair would never give it back. */
		if ((int64_t)(held_lo - lo) < 0)
			lo = held_lo;
		if ((int64_t)(held_hi - hi) > 0)
			hi = held_hi;
	}
	/* Relaxed: published by the release CAS that follows (R0). */
	atomic_store_explicit(&h->rec->pos, lo, memory_order_relaxed);
	atomic_store_explicit(&h->rec->n, fev__holdrec_len(lo, hi),
			      memory_order_relaxed);
}

/* An intent that was not followed by a take: name only what is held. */
static inline void fev__holder_abandon(struct fev__holder *h)
{
	/* Relaxed: the positions dropped were never ours, so no store of
	 * ours to them needs publishing. */
	if (h->held == 0) {
		atomic_store_explicit(&h->rec->n, 0, memory_order_relaxed);
		return;
	}
	atomic_store_explicit(&h->rec->n,
			      fev__holdrec_len(fev__holder_lo(h),
					     fev__holder_hi(h)),
			      memory_order_relaxed);
}

/* The run for base, appended at the back when it is not the last one. */
static inline struct fev__hold_run *fev__holder_back(struct fev__holder *h,
						     uint64_t base)
{
	struct fev__hold_run *r;

	if (h->count != 0) {
		r = fev__holder_run(h, h->count - 1);
		if (r->base == base)
			return r;
	}
	h->count++;
	r = fev__holder_run(h, h->count - 1);
	r->base = base;
	r->bits = 0;
	return r;
}

/* The run holding pos's window, or NULL. */
static inline struct fev__hold_run *fev__holder_find(struct fev__holder *h,
						     uint64_t pos);

/*
 * Position pos, below the last run's window, was taken (a redelivery while
 * later positions are held): set its bit in its run, inserting the run in
 * order, so lo, hi and the binary search stay true.  Rare: O(runs).  The
 * caller made room (fev__holder_make_room()) for one more run.
 */
static inline void fev__holder_took_below(struct fev__holder *h, uint64_t pos)
{
	uint64_t base = pos - pos % FEV__HOLD_RUN_BITS;
	uint64_t bit = UINT64_C(1) << (pos % FEV__HOLD_RUN_BITS);
	struct fev__hold_run *r = fev__holder_find(h, pos);
	uint32_t i = h->count;

	if (r == NULL) {
		/* Runs above base move up by one; wrap-safe order. */
		for (; i > 0 && (int64_t)(fev__holder_run(h, i - 1)->base -
					  base) > 0;
		     i--)
			*fev__holder_run(h, i) = *fev__holder_run(h, i - 1);
		h->count++;
		r = fev__holder_run(h, i);
		r->base = base;
		r->bits = 0;
	}
	if ((r->bits & bit) == 0) {
		r->bits |= bit;
		h->held++;
	}
}

/*
 * The CAS took [pos, pos + n).  The caller made room first
 * (fev__holder_fit() >= n: fev__ring_take() asks for no more).
 */
static inline void fev__holder_took(struct fev__holder *h, uint64_t pos,
				    uint32_t n)
{
	/* Below the last window: only single redeliveries come there. */
	if (h->count != 0 &&
	    (int64_t)(pos - fev__holder_run(h, h->count - 1)->base) < 0) {
		for (uint32_t i = 0; i < n; i++)
			fev__holder_took_below(h, pos + i);
		return;
	}
	while (n > 0) {
		uint64_t off = pos % FEV__HOLD_RUN_BITS;
		uint64_t k = FEV__HOLD_RUN_BITS - off < n ?
				     FEV__HOLD_RUN_BITS - off : n;
		struct fev__hold_run *r = fev__holder_back(h, pos - off);
		uint64_t bits = fev__hold_bits(off, k);

		/* Only the new ones: a forged cursor could hand out a
		 * position twice, and held must still reach 0.  (popcount
		 * only then: without -mpopcnt it is a library call.) */
		if (bits & r->bits)
			h->held += (uint32_t)__builtin_popcountll(bits &
								  ~r->bits);
		else
			h->held += (uint32_t)k;
		r->bits |= bits;
		pos += k;
		n -= (uint32_t)k;
	}
}

/* The run holding pos's window, or NULL. */
static inline struct fev__hold_run *fev__holder_find(struct fev__holder *h,
						     uint64_t pos)
{
	uint32_t lo = 0, hi = h->count;
	uint64_t front, key;

	if (h->count == 0)
		return NULL;
	/* Distances from the first run: sorted, and wrap-safe. */
	front = fev__holder_run(h, 0)->base;
	key = pos - pos % FEV__HOLD_RUN_BITS - front;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		struct fev__hold_run *r = fev__holder_run(h, mid);
		uint64_t d = r->base - front;

		if (d == key)
			return r;
		if (d < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Does this handle hold pos? */
static inline bool fev__holder_holds(struct fev__holder *h, uint64_t pos)
{
	struct fev__hold_run *r = fev__holder_find(h, pos);

	return r != NULL && (r->bits >> (pos % FEV__HOLD_RUN_BITS)) & 1;
}

/*
 * Drop whichever of [pos, pos + n) are held, from the private set only: the
 * hold record still names them (see fev__holder_done()).
 */
static inline void fev__holder_drop(struct fev__holder *h, uint64_t pos,
				    uint32_t n)
{
	/* The usual case first: one run, holding exactly these. */
	if (h->count == 1) {
		struct fev__hold_run *r = fev__holder_run(h, 0);
		uint64_t off = pos - r->base;

		if (off < FEV__HOLD_RUN_BITS && n <= FEV__HOLD_RUN_BITS - off &&
		    r->bits == fev__hold_bits(off, n)) {
			h->held -= n;
			h->count = 0;
			h->first = 0;
			return;
		}
	}
	while (n > 0) {
		uint64_t off = pos % FEV__HOLD_RUN_BITS;
		uint64_t k = FEV__HOLD_RUN_BITS - off < n ?
				     FEV__HOLD_RUN_BITS - off : n;
		struct fev__hold_run *r = fev__holder_find(h, pos);

		if (r != NULL) {
			uint64_t mask = fev__hold_bits(off, k);
			uint64_t bits = r->bits & mask;

			h->held -= bits == mask ? (uint32_t)k :
			   (uint32_t)__builtin_popcountll(bits);
			r->bits &= ~bits;
		}
		pos += k;
		n -= (uint32_t)k;
	}
	/* Empty runs leave from both ends, so both ends name a held
	 * position; an empty one in the middle waits its turn. */
	while (h->count != 0 && fev__holder_run(h, 0)->bits == 0) {
		h->first = (h->first + 1) & (fev__holder_size(h) - 1);
		h->count--;
	}
	while (h->count != 0 && fev__holder_run(h, h->count - 1)->bits == 0)
		h->count--;
	if (h->count == 0)
		h->first = 0;
}

/*
 * [pos, pos + n) were committed or released: clear the hold record when nothing
 * is left, else make it name the lowest to the highest position still held.
 */
static inline void fev__holder_done(struct fev__holder *h, uint64_t pos,
				    uint32_t n)
{
	uint64_t lo;

	fev__holder_drop(h, pos, n);
	if (h->held == 0) {
		/* R3: orders our slot stores before the hold record goes. */
		atomic_store_explicit(&h->rec->n, 0, memory_order_release);
		return;
	}
	lo = fev__holder_lo(h);
	/*
	 * R3 too, for the positions dropped from the claim.  pos before n:
	 * a reader that sees this n (A3) sees this pos; one that sees the
	 * old n with this pos gets a range that reaches higher than the old
	 * one did, never a narrower one.
	 */
	atomic_store_explicit(&h->rec->pos, lo, memory_order_release);
	atomic_store_explicit(&h->rec->n,
			      fev__holdrec_len(lo, fev__holder_hi(h)),
			      memory_order_release);
}

#endif /* FEV_HOLDER_H */
