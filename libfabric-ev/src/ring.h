/*
 * The ring: a bounded MPMC queue after Dmitry Vyukov's "bounded MPMC queue"
 * (1024cores.net), with 64-bit positions that never wrap and one sequence
 * word per slot.
 *
 *   slot free for lap pos     seq == pos
 *   slot full (committed)     seq == pos + 1
 *   slot released             seq == pos + capacity  (free for the next lap)
 *   slot being tombstoned     seq == pos - capacity  (fev__ring_tombstoning())
 *
 * Producers take positions by CAS on head, consumers by CAS on tail; the slot
 * sequence, not the cursor, carries the data between them, so a slow
 * producer delays only consumers of its own position.  Batches count how
 * many consecutive slots from the cursor are ready and take them all with
 * one CAS: a slot seen ready stays ready until someone owns its position,
 * and owning a position needs the CAS we are about to make.
 *
 * Crash repair: before every CAS the taker names the positions in its hold
 * record (struct fev__holdrec, in its own attacher line); the CAS is a release
 * so that anyone who sees the cursor past a position also sees the hold record
 * of whoever took it.  A supervisor uses this to tell a dead process's
 * positions from live ones (see repair.c).
 *
 * What it guarantees: each committed position is acquired by exactly one
 * consumer; FIFO by position; no allocation, no syscall, no global state.
 * What it does not: progress when a process dies mid-take (the supervisor
 * repairs that), fairness between producers.
 *
 * A single producer or consumer (sync modes, sync_mode.h) owns its cursor:
 * it takes with a load and a release store of it instead of the CAS
 * (fev__ring_take_single()); the slot sequences work as above.
 *
 * Synchronisation table (every acquire/release names its partner):
 *   R0  cursor CAS (release), or a single side's store (release)
 *                                     pairs with A0 in the repair scan
 *   R1  commit: seq = pos + 1         pairs with A2 in fev__ring_acquire()
 *   R2  release: seq = pos + cap      pairs with A1 in fev__ring_reserve()
 *   R3  hold record cleared (release) pairs with A3 in the repair scan
 *   C1  commit CAS seq pos -> pos + 1 against T1, repair's tombstone CAS
 *       seq pos -> pos - capacity: one RMW word, exactly one wins; the
 *       loser's commit fails (-ESTALE) or its tombstone is skipped
 */
#ifndef FEV_RING_H
#define FEV_RING_H

#include <stdbool.h>
#include <stdint.h>

#include "holder.h"
#include "layout.h"

struct fev__ring {
	struct fev__cursor *head;
	struct fev__cursor *tail;
	uint8_t *slots;
	uint64_t mask;
	uint32_t capacity;
	uint32_t slot_size;
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

	/* Never more than the holder can record without allocating. */
	if (want > fev__holder_fit(h))
		want = fev__holder_fit(h);
	if (want == 0)
		return 0;
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
		/* R0: publishes the hold record written just above.
		 * Seq_cst, not only release: B1 (consumer_group.h) orders
		 * the producer's load of groups_active after it.  The same
		 * lock cmpxchg on x86. */
		if (atomic_compare_exchange_weak_explicit(
			    &c->pos, &pos, pos + k, memory_order_seq_cst,
			    memory_order_relaxed)) {
			fev__holder_took(h, pos, k);
			*pos_out = pos;
			return k;
		}
	}
}

/*
 * fev__ring_take() for the cursor's only writer: a single producer or
 * consumer (sync_mode.h), which owns the cursor from its attach (O1) to its
 * close or repair (O2).  No CAS: nobody else moves c, so a slot ahead of
 * pos + bias is never a race to catch up with (forged, or nothing yet).
 */
static inline uint32_t fev__ring_take_single(struct fev__cursor *c,
					     const struct fev__ring *r,
					     struct fev__holder *h,
					     uint32_t want, uint64_t bias,
					     uint64_t *pos_out)
{
	/* Relaxed: we are its only writer; O1 at attach ordered the stores
	 * of its previous owner or repairer before this load. */
	uint64_t pos = atomic_load_explicit(&c->pos, memory_order_relaxed);
	int64_t dif = 0;
	uint32_t k;

	if (want > fev__holder_fit(h))
		want = fev__holder_fit(h);
	k = want == 0 ? 0 : fev__ring_count_ready(r, pos, want, bias, &dif);
	if (k == 0)
		return 0;
	fev__holder_intent(h, pos, k);
	/* R0 (single): a release store publishes the hold record written
	 * just above, as the CAS does (A0 in the repair pass).  Release is
	 * enough: a single side is never a topic's (no B1). */
	atomic_store_explicit(&c->pos, pos + k, memory_order_release);
	fev__holder_took(h, pos, k);
	*pos_out = pos;
	return k;
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

static inline uint32_t fev__ring_reserve_single(const struct fev__ring *r,
						struct fev__holder *h,
						uint32_t want, uint64_t *pos)
{
	return fev__ring_take_single(r->head, r, h, want, 0, pos);
}

static inline uint32_t fev__ring_acquire_single(const struct fev__ring *r,
						struct fev__holder *h,
						uint32_t want, uint64_t *pos)
{
	return fev__ring_take_single(r->tail, r, h, want, 1, pos);
}

/*
 * Publish position pos with this header: the slot's sequence goes from
 * `from` to pos + 1 in one CAS, so the slot never moves backwards and only
 * one of two racing publishers writes a header.  False, with nothing
 * written, when the sequence is no longer `from`.
 */
static inline bool fev__ring_publish(const struct fev__ring *r, uint64_t pos,
				     uint64_t from, uint32_t len,
				     uint32_t flags, uint32_t attacher,
				     uint64_t ts_ns)
{
	struct fev__slot *s = fev__ring_slot(r, pos);

	/*
	 * Relaxed: only spares a header write into a slot repair took from
	 * us (T1) long ago; the CAS below decides.  A repair that wins in
	 * between races with our header stores, not with the sequence.
	 */
	if (atomic_load_explicit(&s->seq, memory_order_relaxed) != from)
		return false;
	s->len = len;
	s->flags = flags;
	s->attacher = attacher;
	s->ts_ns = ts_ns;
	/*
	 * R1: publishes header and payload; pairs with A2 in acquire.
	 * C1: against T1 in fev__ring_tombstone_begin(), both RMWs of the
	 * same word: its modification order lets exactly one of them leave
	 * `from`.  Relaxed on failure: the loser reads nothing.
	 */
	return atomic_compare_exchange_strong_explicit(
		&s->seq, &from, pos + 1, memory_order_release,
		memory_order_relaxed);
}

/*
 * Commit a reserved position: false when repair tombstoned it first (its
 * owner was taken for dead), and then nothing is published.
 */
static inline bool fev__ring_commit(const struct fev__ring *r, uint64_t pos,
				    uint32_t len, uint32_t flags,
				    uint32_t attacher, uint64_t ts_ns)
{
	return fev__ring_publish(r, pos, pos, len, flags, attacher, ts_ns);
}

/*
 * Release an acquired position: false when repair released it first (it
 * delivered the event again), and then the slot is left alone.
 */
static inline bool fev__ring_release(const struct fev__ring *r, uint64_t pos)
{
	uint64_t full = pos + 1;

	/* R2: our reads are done; pairs with A1 in reserve.  A CAS, not a
	 * store, so a late release never moves a slot that repair released
	 * and a producer refilled back to "free". */
	return atomic_compare_exchange_strong_explicit(
		&fev__ring_slot(r, pos)->seq, &full, pos + r->capacity,
		memory_order_release, memory_order_relaxed);
}

/*
 * A slot repair is turning into a tombstone: seq == pos - capacity, a value
 * no legitimate sequence of that slot takes once head has passed pos (they
 * only grow from pos).  Takers see "not ready yet" (full or empty).
 */
static inline uint64_t fev__ring_tombstoning(const struct fev__ring *r,
					     uint64_t pos)
{
	return pos - r->capacity;
}

/*
 * Take reserved position pos from its owner (who is taken for dead) to
 * tombstone it.  False when the owner committed first.
 */
static inline bool fev__ring_tombstone_begin(const struct fev__ring *r,
					     uint64_t pos)
{
	uint64_t reserved = pos;

	/* T1: against C1 in fev__ring_publish() (one of them wins).  Relaxed:
	 * our header stores are published by R1 in _end(), and nobody reads
	 * the header of a slot in this state. */
	return atomic_compare_exchange_strong_explicit(
		&fev__ring_slot(r, pos)->seq, &reserved,
		fev__ring_tombstoning(r, pos), memory_order_relaxed,
		memory_order_relaxed);
}

/* Finish a tombstone begun by us or by a repairer that died meanwhile. */
static inline void fev__ring_tombstone_end(const struct fev__ring *r,
					   uint64_t pos, uint32_t flags)
{
	struct fev__slot *s = fev__ring_slot(r, pos);

	s->len = 0;
	s->flags = flags;
	s->attacher = UINT32_MAX;
	s->ts_ns = 0;
	/* R1: the tombstone header; pairs with A2 in acquire. */
	atomic_store_explicit(&s->seq, pos + 1, memory_order_release);
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
