/*
 * Consumer groups on a partition's ring: fan-out over one copy.
 *
 * Every group reads every event of the ring; inside a group, members
 * compete for them through the group's own cursor (struct fev__group, a
 * second `tail`), with the ring's take (ring.h) unchanged.  Beside each
 * slot, struct fev__slot_grp says which groups released this lap's event
 * (done) and which took it from the group's redelivery list (taken); the
 * lap sits in the high half of both, so a call for an earlier lap changes
 * nothing.
 *
 *   commit     the producer stamps done = ~groups_active (B1), before R1:
 *              groups that do not read this position released it already
 *   release    a member sets its group's bit (B3); the release that makes
 *              done all ones is the last, and frees the slot (R2)
 *   gate       producers still wait for seq == pos alone (A1): the slot
 *              is free when the slowest group released it
 *   hole       a group's cursor at a slot freed without it (seq at least
 *              pos + capacity: it was not stamped for the group) skips it
 *   redeliver  repair pushes a dead member's positions on its group's
 *              redo list (B5); members pop them first (B4), take them by
 *              setting the group's bit in taken, and flag them
 *              FEV_REDELIVERED
 *
 * Synchronization:
 *   B1  groups_active load (seq_cst) after the head CAS (R0, seq_cst), in
 *       a total order with B2, the creator's fetch_or (seq_cst) and its
 *       head load: a position reserved after the creator read head is
 *       stamped with the new group
 *   B3  done CAS (acq_rel): release orders our reads of the slot before
 *       it; acquire lets the last releaser's R2 come after every group's
 *       reads
 *   B4/B5 redo_head: release by repair after the entry, acquire by
 *       members before they read it
 *   B6/B7 group state: release by the creator after the record is filled
 *       in (ACTIVE), acquire by openers
 *
 * A queue has no group table; none of this runs for it.
 */
#ifndef FEV_CONSUMER_GROUP_H
#define FEV_CONSUMER_GROUP_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "fev/fev.h"
#include "segment.h"

static inline uint32_t fev__grp_lap(const struct fev__map *m, uint64_t pos)
{
	return (uint32_t)(pos >> m->lap_shift);
}

static inline uint64_t fev__grp_word(uint32_t lap, uint32_t mask)
{
	return (uint64_t)lap << 32 | mask;
}

static inline struct fev__slot_grp *fev__grp_words(const struct fev__map *m,
						   uint64_t pos)
{
	return &m->slot_grps[pos & m->ring.mask];
}

/*
 * Producer (or repair's tombstone), after taking pos and before R1: the
 * groups that must release this event.  Relaxed stores: R1 publishes them.
 */
static inline void fev__grp_stamp(const struct fev__map *m, uint64_t pos)
{
	struct fev__slot_grp *w = fev__grp_words(m, pos);
	/* B1: pairs with B2 in fev__group_create_in(), see above. */
	uint32_t active = atomic_load_explicit(
		&m->seg->state_line.groups_active, memory_order_seq_cst);
	uint32_t lap = fev__grp_lap(m, pos);

	atomic_store_explicit(&w->done, fev__grp_word(lap, ~active),
			      memory_order_relaxed);
	atomic_store_explicit(&w->taken, fev__grp_word(lap, 0),
			      memory_order_relaxed);
}

/*
 * Group bit releases pos: 1 when it was the last group (the caller frees
 * the slot, R2), 0 when others still read it, -ESTALE when it is not the
 * group's to release (released already, or another lap).
 */
static inline int fev__grp_release(const struct fev__map *m, uint64_t pos,
				   uint32_t bit)
{
	struct fev__slot_grp *w = fev__grp_words(m, pos);
	uint32_t lap = fev__grp_lap(m, pos);
	/* Relaxed: only the first guess of the CAS below. */
	uint64_t v = atomic_load_explicit(&w->done, memory_order_relaxed);

	for (;;) {
		uint64_t nv = v | bit;

		if ((uint32_t)(v >> 32) != lap || (v & bit) != 0)
			return -ESTALE;
		/* B3: see above.  Relaxed on failure: we look again. */
		if (atomic_compare_exchange_weak_explicit(
			    &w->done, &v, nv, memory_order_acq_rel,
			    memory_order_relaxed))
			return (uint32_t)nv == UINT32_MAX;
	}
}

/*
 * Must the group whose bit this is read pos (its bit clear in done for
 * pos's lap)?  Only the group itself sets its bit once a member took pos,
 * so the answer stays while the member holds it; when it is set the event
 * was stamped without the group (committed before it existed), the other
 * groups may free the slot any time, and the member must not read it.
 */
static inline bool fev__grp_owes(const struct fev__map *m, uint64_t pos,
				 uint32_t bit)
{
	/* Relaxed: ordered after the take's A2 on the slot's seq. */
	uint64_t v = atomic_load_explicit(&fev__grp_words(m, pos)->done,
					  memory_order_relaxed);

	return (uint32_t)(v >> 32) == fev__grp_lap(m, pos) && (v & bit) == 0;
}

/*
 * The group's cursor is at a slot freed without the group (not stamped for
 * it: the group started after, or was not required): move past it.  True
 * when the cursor moved (by us or another member): look again.
 */
static inline bool fev__grp_hole(const struct fev__ring *r, uint64_t *at)
{
	/* Relaxed: a stale cursor only fails the skip's CAS. */
	uint64_t pos = atomic_load_explicit(&r->tail->pos,
					    memory_order_relaxed);
	/* A1/A2 as in fev__ring_count_ready(). */
	uint64_t seq = atomic_load_explicit(&fev__ring_slot(r, pos)->seq,
					    memory_order_acquire);

	*at = pos;
	return (int64_t)(seq - pos) >= (int64_t)r->capacity;
}

static inline bool fev__grp_skip_hole(const struct fev__ring *r)
{
	uint64_t pos;

	if (!fev__grp_hole(r, &pos))
		return false;
	/* Relaxed: skipping takes nothing, so publishes no hold record. */
	atomic_compare_exchange_strong_explicit(&r->tail->pos, &pos, pos + 1,
						memory_order_relaxed,
						memory_order_relaxed);
	return true;
}

/*
 * Positions wait on the group's redo list (a hint, for waiters).  A list
 * longer than it can be is forged, and fev__grp_redo_pop() takes nothing
 * from it: it must not wake a waiter either, who would look again and
 * again past its timeout.
 */
static inline bool fev__grp_redo_waiting(const struct fev__group *g)
{
	/* Relaxed: a hint; fev__grp_redo_pop() orders what it reads. */
	uint64_t n = atomic_load_explicit(&g->redo_head, memory_order_relaxed) -
		     atomic_load_explicit(&g->redo_tail, memory_order_relaxed);

	return n != 0 && n <= FEV__GROUP_REDO_MAX;
}

/* Format the group table of a new segment: group 0 "default". */
void fev__groups_format(void *base, const struct fev__geometry *g);

/* Index of the ACTIVE group called name, or -ENOENT. */
int fev__group_find(const struct fev__map *m, const char *name);

/*
 * Take one position from group gi's redo list into holder h (its record
 * names it before the take): 1 and *pos, or 0 when the list is empty.
 * Entries that are no longer the group's to read are dropped.
 */
int fev__grp_redo_pop(const struct fev__map *m, uint32_t gi,
		      struct fev__holder *h, uint64_t *pos);

/*
 * Repair: group gi must read pos again (its member died holding it).  1
 * when pushed, 0 when nothing is left to redeliver, -EAGAIN when the list
 * is full or went round since redo_tail (try at the next pass).  redo_tail: the list's tail read before
 * the hold records (a pop after it names its position in a record this
 * pass did not see; an entry from it on is still to be popped, and is not
 * pushed twice).  One repairer per segment (fevd).
 */
int fev__grp_redeliver(struct fev__map *m, uint32_t gi, uint64_t pos,
		       uint64_t redo_tail);

/* Still group gi's to read: committed for pos's lap, not released by gi. */
bool fev__grp_owed(const struct fev__map *m, uint32_t gi, uint64_t pos);
/* Take pos for gi by its bit in taken (a redelivery, or an ordered
 * group's re-take): false when another member has it. */
bool fev__grp_take_bit(const struct fev__map *m, uint32_t gi, uint64_t pos);
/* Clear it again: repair before pushing pos back; an ordered group's
 * owner for what it forgets at a handover (the next owner takes it). */
void fev__grp_clear_taken(const struct fev__map *m, uint32_t gi,
			  uint64_t pos);

/*
 * Repair: every group released pos (done all ones for its lap) and the
 * slot is still full: the last releaser died between its B3 and its R2.
 * Free it as that one would have; true when this call freed it.
 */
bool fev__grp_free_released(const struct fev__map *m, uint64_t pos);

/* Release pos on group gi's behalf; frees the slot if it was the last. */
void fev__grp_release_for(const struct fev__map *m, uint32_t gi,
			  uint64_t pos);

/* Create / delete a group in one partition's segment (writable map); cfg
 * is whole (struct_size checked by the caller). */
int fev__group_create_in(struct fev__map *m, const char *name,
			 const fev_group_config *cfg);
int fev__group_delete_in(struct fev__map *m, const char *name);
/*
 * Finish DELETING groups: release what they still owe; a group goes FREE
 * when nothing below its `until` does.  Returns how many are left.
 */
int fev__groups_sweep(struct fev__map *m);

/* The lowest cursor of the ACTIVE groups (depth = head - it). */
uint64_t fev__groups_min_cursor(const struct fev__map *m, uint64_t head);

#endif /* FEV_CONSUMER_GROUP_H */
