/*
 * The ring: a bounded MPMC queue after Dmitry Vyukov's "bounded MPMC queue"
 * (1024cores.net), with 64-bit positions that never wrap and one sequence
 * word per slot.
 *
 *   slot free for lap pos     seq == pos
 *   slot full (committed)     seq == pos + 1
 *   slot released             seq == pos + capacity  (free for the next lap)
 *
 * Producers take positions by CAS on head, consumers by CAS on tail; the slot
 * sequence, not the cursor, carries the data between them, so a slow
 * producer delays only consumers of its own position.  Batches count how
 * many consecutive slots from the cursor are ready and take them all with
 * one CAS: a slot seen ready stays ready until someone owns its position,
 * and owning a position needs the CAS we are about to make.
 *
 * Crash repair: before every CAS the taker names the positions in its claim
 * record (struct fev__claim, in its own attacher line); the CAS is a release
 * so that anyone who sees the cursor past a position also sees the claim of
 * whoever took it.  A supervisor uses this to tell a dead process's
 * positions from live ones (see repair.c).
 *
 * What it guarantees: each committed position is acquired by exactly one
 * consumer; FIFO by position; no allocation, no syscall, no global state.
 * What it does not: progress when a process dies mid-claim (the supervisor
 * repairs that), fairness between producers.
 *
 * Synchronisation table (every acquire/release names its partner):
 *   R0  cursor CAS (release)          pairs with A0 in the repair scan
 *   R1  commit: seq = pos + 1         pairs with A2 in fev__ring_acquire()
 *   R2  release: seq = pos + cap      pairs with A1 in fev__ring_reserve()
 *   R3  claim cleared (release)       pairs with A3 in the repair scan
 */
#ifndef FEV_RING_H
#define FEV_RING_H

#include <stdbool.h>
#include <stdint.h>

#include "layout.h"

struct fev__ring {
	struct fev__cursor *head;
	struct fev__cursor *tail;
	uint8_t *slots;
	uint64_t mask;
	uint32_t capacity;
	uint32_t slot_size;
};

/*
 * The positions one handle holds in one role, and the record naming them.
 * Positions are taken in increasing order and given back in any order; the
 * claim [lo, hi) must cover all that are held, and should cover little
 * else: a live claim that names a dead peer's position keeps that position
 * from being repaired.  So while the held positions fit in a 64-position
 * window, bits tracks them and lo follows the lowest one; a handle that
 * holds more than that keeps its claim wide until it holds nothing.
 */
#define FEV__HOLD_WINDOW 64

struct fev__holder {
	struct fev__claim *rec;
	uint64_t lo, hi; /* [lo, hi) covers every position held */
	uint32_t held;   /* how many of them are still held */
	bool wide;       /* held positions outgrew the window */
	uint64_t bits;   /* unless wide: bit i set <=> lo + i held */
};

static inline struct fev__slot *fev__ring_slot(const struct fev__ring *r,
					       uint64_t pos)
{
	return (struct fev__slot *)(r->slots + (pos & r->mask) * r->slot_size);
}

static inline uint8_t *fev__slot_payload(struct fev__slot *s)
{
	return (uint8_t *)(s + 1);
}

/* Name [pos, pos + n) before the CAS that would take it. */
static inline void fev__holder_intent(struct fev__holder *h, uint64_t pos,
				      uint32_t n)
{
	uint64_t lo = h->held ? h->lo : pos;
	/* Wrap-safe max(hi, pos + n): positions are compared by distance. */
	uint64_t hi = h->held && (int64_t)(h->hi - (pos + n)) > 0 ? h->hi :
								     pos + n;

	/* Relaxed: published by the release CAS that follows (R0). */
	atomic_store_explicit(&h->rec->pos, lo, memory_order_relaxed);
	atomic_store_explicit(&h->rec->n, (uint32_t)(hi - lo),
			      memory_order_relaxed);
	h->lo = lo;
	h->hi = hi;
}

/* An intent that was not followed by a take: forget it if nothing is held. */
static inline void fev__holder_abandon(struct fev__holder *h)
{
	if (h->held == 0)
		/* Relaxed: nothing was taken, so nothing needs publishing. */
		atomic_store_explicit(&h->rec->n, 0, memory_order_relaxed);
}

/* Bits [from, from + n) of a 64-bit window (n <= 64, from + n <= 64). */
static inline uint64_t fev__hold_bits(uint64_t from, uint32_t n)
{
	return (n == 64 ? ~UINT64_C(0) : (UINT64_C(1) << n) - 1) << from;
}

static inline void fev__holder_took(struct fev__holder *h, uint64_t pos,
				    uint32_t n)
{
	uint64_t off = pos - h->lo;

	if (h->held == 0) {
		h->wide = false;
		h->bits = 0;
	}
	h->held += n;
	if (h->wide)
		return;
	if (off + n > FEV__HOLD_WINDOW)
		h->wide = true;
	else
		h->bits |= fev__hold_bits(off, n);
}

/* Does this handle hold pos? */
static inline bool fev__holder_holds(const struct fev__holder *h,
				     uint64_t pos)
{
	/* Differences, not comparisons: correct across 2^64 too. */
	uint64_t off = pos - h->lo;

	if (h->held == 0 || off >= h->hi - h->lo)
		return false;
	return h->wide || (off < FEV__HOLD_WINDOW && (h->bits >> off) & 1);
}

/*
 * [pos, pos + n) were committed or released: clear the claim when nothing
 * is left, else move its low end up to the lowest position still held.
 */
static inline void fev__holder_done(struct fev__holder *h, uint64_t pos,
				    uint32_t n)
{
	unsigned shift;

	h->held -= n;
	if (h->held == 0) {
		/* R3: orders our slot stores before the claim disappears. */
		atomic_store_explicit(&h->rec->n, 0, memory_order_release);
		return;
	}
	if (h->wide)
		return;
	h->bits &= ~fev__hold_bits(pos - h->lo, n);
	if (h->bits & 1)
		return;
	shift = (unsigned)__builtin_ctzll(h->bits);
	h->lo += shift;
	h->bits >>= shift;
	/*
	 * R3 too, for the positions dropped from the claim.  pos before n:
	 * a reader pairing n (A3) with a stale pos sees a wider range,
	 * never a narrower one.
	 */
	atomic_store_explicit(&h->rec->pos, h->lo, memory_order_release);
	atomic_store_explicit(&h->rec->n, (uint32_t)(h->hi - h->lo),
			      memory_order_release);
}

/*
 * The slot at cursor position pos has a sequence ahead of pos + bias: has
 * the cursor moved on (true: look again), or is the sequence forged (false)?
 * Whoever legitimately moves a slot past pos + bias first moved the cursor
 * past pos, with a CAS sequenced before its release store to the sequence;
 * our acquire load of that sequence (A1/A2) therefore makes the cursor move
 * visible to the load below, even relaxed.  A cursor still at pos means the
 * sequence was written by someone who does not follow the protocol.
 */
static inline bool fev__ring_seq_ahead(const struct fev__cursor *c,
				       uint64_t pos)
{
	/* Relaxed: ordered after A1/A2 as explained above. */
	return atomic_load_explicit(&c->pos, memory_order_relaxed) != pos;
}

/* How many consecutive slots from pos have sequence pos + i + bias. */
static inline uint32_t fev__ring_count_ready(const struct fev__ring *r,
					     uint64_t pos, uint32_t want,
					     uint64_t bias, int64_t *dif)
{
	uint32_t k = 0;

	while (k < want) {
		/*
		 * A1/A2: pairs with R2 (a consumer finished reading the
		 * slot) for producers, R1 (a producer's payload) for
		 * consumers.
		 */
		uint64_t seq = atomic_load_explicit(
			&fev__ring_slot(r, pos + k)->seq,
			memory_order_acquire);
		if (seq != pos + k + bias) {
			if (k == 0)
				*dif = (int64_t)(seq - (pos + bias));
			break;
		}
		k++;
	}
	return k;
}

/*
 * Take up to want consecutive positions from cursor c whose slots have
 * sequence pos + bias (0: free, for producers; 1: full, for consumers).
 * Returns how many were taken, from *pos_out; 0 when none is ready.
 */
static inline uint32_t fev__ring_take(struct fev__cursor *c,
				      const struct fev__ring *r,
				      struct fev__holder *h, uint32_t want,
				      uint64_t bias, uint64_t *pos_out)
{
	/* Relaxed: only a hint; the slot sequences are checked below. */
	uint64_t pos = atomic_load_explicit(&c->pos, memory_order_relaxed);

	for (;;) {
		int64_t dif = 0;
		uint32_t k = fev__ring_count_ready(r, pos, want, bias, &dif);

		if (k == 0) {
			uint64_t now;

			if (dif < 0) {
				/* full (producer) or empty (consumer) */
				fev__holder_abandon(h);
				return 0;
			}
			/* Someone took pos already: catch up with the cursor. */
			now = atomic_load_explicit(&c->pos,
						   memory_order_relaxed);
			if (now == pos) {
				/* Not a race but a forged sequence (see
				 * fev__ring_seq_ahead()): never spin on it. */
				fev__holder_abandon(h);
				return 0;
			}
			pos = now;
			continue;
		}
		fev__holder_intent(h, pos, k);
		/* R0: publishes the claim record written just above. */
		if (atomic_compare_exchange_weak_explicit(
			    &c->pos, &pos, pos + k, memory_order_release,
			    memory_order_relaxed)) {
			fev__holder_took(h, pos, k);
			*pos_out = pos;
			return k;
		}
	}
}

static inline uint32_t fev__ring_reserve(const struct fev__ring *r,
					 struct fev__holder *h, uint32_t want,
					 uint64_t *pos)
{
	return fev__ring_take(r->head, r, h, want, 0, pos);
}

static inline uint32_t fev__ring_acquire(const struct fev__ring *r,
					 struct fev__holder *h, uint32_t want,
					 uint64_t *pos)
{
	return fev__ring_take(r->tail, r, h, want, 1, pos);
}

static inline void fev__ring_commit(const struct fev__ring *r, uint64_t pos,
				    uint32_t len, uint32_t flags,
				    uint32_t attacher, uint64_t ts_ns)
{
	struct fev__slot *s = fev__ring_slot(r, pos);

	s->len = len;
	s->flags = flags;
	s->attacher = attacher;
	s->ts_ns = ts_ns;
	/* R1: publishes header and payload; pairs with A2 in acquire. */
	atomic_store_explicit(&s->seq, pos + 1, memory_order_release);
}

static inline void fev__ring_release(const struct fev__ring *r, uint64_t pos)
{
	/* R2: our reads are done; pairs with A1 in reserve. */
	atomic_store_explicit(&fev__ring_slot(r, pos)->seq, pos + r->capacity,
			      memory_order_release);
}

/* Ready to take one more position?  Used by waiters to re-check. */
static inline bool fev__ring_can_take(const struct fev__ring *r,
				      const struct fev__cursor *c,
				      uint64_t bias)
{
	/* Relaxed cursor: a stale value only makes us look again. */
	uint64_t pos = atomic_load_explicit(&c->pos, memory_order_relaxed);
	/* A1/A2 as in fev__ring_count_ready(). */
	uint64_t seq = atomic_load_explicit(&fev__ring_slot(r, pos)->seq,
					    memory_order_acquire);

	int64_t dif = (int64_t)(seq - (pos + bias));

	/* Ahead: someone took pos, look again (unless the slot is forged). */
	return dif == 0 || (dif > 0 && fev__ring_seq_ahead(c, pos));
}

/* Events committed or in flight: head - tail, never negative. */
static inline uint64_t fev__ring_depth(const struct fev__ring *r)
{
	/* Tail first: head only grows, so head >= the tail we read. */
	uint64_t t = atomic_load_explicit(&r->tail->pos, memory_order_acquire);
	uint64_t h = atomic_load_explicit(&r->head->pos, memory_order_acquire);

	return h > t ? h - t : 0;
}

/* Lay out an empty ring: slot i is free for lap i. */
void fev__ring_format(const struct fev__ring *r);

#endif /* FEV_RING_H */
