/*
 * The `drop` slow-group policy: see group_drop.h.
 */
#include "group_drop.h"

#include "consumer_group.h"
#include "ring.h"

/* The policy of an ACTIVE group, or -1 (not active). */
static int active_policy(const struct fev__group *g)
{
	/* B7: pairs with B6 in fev__group_create_in(): policy is set. */
	if (atomic_load_explicit(&g->state, memory_order_acquire) !=
	    FEV__GROUP_ACTIVE)
		return -1;
	/* A plain word of shared memory: read once, any value is safe. */
	return (int)__atomic_load_n(&g->policy, __ATOMIC_RELAXED);
}

/* The slot of cursor position c was freed without the group (a hole). */
static bool hole_at(const struct fev__map *m, uint64_t c)
{
	/* A1/A2 as in fev__ring_count_ready(). */
	uint64_t seq = atomic_load_explicit(&fev__ring_slot(&m->ring, c)->seq,
					    memory_order_acquire);

	return (int64_t)(seq - c) >= (int64_t)m->geo.capacity;
}

/*
 * May group g's cursor reach pos without taking anything?  It is at pos,
 * or below it on holes: every position below pos has had its slot reused
 * (the ring holds pos .. head), so a cursor below pos stands on slots
 * freed without the group, never more than a lap behind.
 */
static bool cursor_reaches(const struct fev__map *m,
			   const struct fev__group *g, uint64_t pos)
{
	/* Relaxed: a stale cursor only fails the drop's CAS. */
	uint64_t c = atomic_load_explicit(&g->cursor.pos,
					  memory_order_relaxed);

	if (c == pos)
		return true;
	return c < pos && pos - c <= m->geo.capacity && hole_at(m, c);
}

/*
 * pos waits on group gi's redo list (a dead member's, handed back to the
 * group) and no member has taken it from there: a drop group with no
 * live member to pop it would otherwise stop producers for good.
 */
static bool redo_untaken(const struct fev__map *m, uint32_t gi, uint64_t pos)
{
	const struct fev__group *g = &m->groups[gi];
	/* Relaxed: a hint; the taken bit's CAS decides. */
	uint64_t t = atomic_load_explicit(&g->redo_tail, memory_order_relaxed);
	/* B4: pairs with B5 in fev__grp_redeliver(): the entries. */
	uint64_t hd = atomic_load_explicit(&g->redo_head, memory_order_acquire);
	/* Relaxed: a hint as well. */
	uint64_t taken = atomic_load_explicit(&fev__grp_words(m, pos)->taken,
					      memory_order_relaxed);

	if (hd - t > FEV__GROUP_REDO_MAX ||
	    (uint32_t)(taken >> 32) != fev__grp_lap(m, pos) ||
	    (taken & (1u << gi)) != 0)
		return false;
	for (uint64_t i = t; i != hd; i++)
		if (atomic_load_explicit(&g->redo[i % FEV__GROUP_REDO_MAX],
					 memory_order_relaxed) == pos + 1)
			return true;
	return false;
}

uint32_t fev__grp_droppable(const struct fev__map *m, uint64_t pos)
{
	/* A2: pairs with R1: the commit's stamp of done (B1) is visible. */
	uint64_t seq = atomic_load_explicit(
		&fev__ring_slot(&m->ring, pos)->seq, memory_order_acquire);
	uint64_t done;
	uint32_t owing, mask = 0;

	if (seq != pos + 1)
		return 0;
	/* Relaxed: ordered after the acquire above. */
	done = atomic_load_explicit(&fev__grp_words(m, pos)->done,
				    memory_order_relaxed);
	if ((uint32_t)(done >> 32) != fev__grp_lap(m, pos))
		return 0;
	owing = ~(uint32_t)done;
	for (uint32_t gi = 0; owing != 0; gi++, owing >>= 1) {
		if ((owing & 1) == 0)
			continue;
		if (gi >= m->geo.groups_max ||
		    active_policy(&m->groups[gi]) != FEV_GROUP_DROP)
			return 0; /* a block group (or a forged bit) waits */
		if (cursor_reaches(m, &m->groups[gi], pos) ||
		    redo_untaken(m, gi, pos))
			mask |= 1u << gi;
	}
	return mask;
}

/* Release pos for gi, counting it lost; true when the slot was freed. */
static bool lose(const struct fev__map *m, uint32_t gi, uint64_t pos)
{
	struct fev__group *g = &m->groups[gi];
	struct fev__slot *s = fev__ring_slot(&m->ring, pos);
	/* Plain reads after A2 on seq (the caller's): a tombstone is no
	 * event, and a latest group never wanted what is below its start. */
	bool event = !(__atomic_load_n(&s->flags, __ATOMIC_RELAXED) &
		       FEV__SLOT_TOMBSTONE) &&
		     pos >= __atomic_load_n(&g->start, __ATOMIC_RELAXED);

	if (event)
		/* B8: a counter; before the release (see group_drop.h). */
		atomic_fetch_add_explicit(&g->dropped, 1,
					  memory_order_relaxed);
	/* B3 inside; R2 when we were the last group. */
	if (fev__grp_release(m, pos, 1u << gi) != 1)
		return false;
	return fev__ring_release(&m->ring, pos);
}

/* Take pos from group gi's redo list, as a member's pop would (the taken
 * bit): false when a member took it first. */
static bool take_redo(const struct fev__map *m, uint32_t gi, uint64_t pos,
		      struct fev__holder *h, struct fev__attacher *a)
{
	if (!redo_untaken(m, gi, pos))
		return false;
	/* Relaxed: repair reads it after we died (see take_for()). */
	__atomic_store_n(&a->group, gi + 1, __ATOMIC_RELAXED);
	fev__holder_intent(h, pos, 1);
	if (!fev__grp_take_bit(m, gi, pos)) {
		fev__holder_abandon(h);
		return false;
	}
	fev__holder_took(h, pos, 1);
	return true;
}

/* Take pos from group gi's cursor, as a member would, or from its redo
 * list: false when a member took it (or the cursor cannot be trusted). */
static bool take_for(const struct fev__map *m, uint32_t gi, uint64_t pos,
		     struct fev__holder *h, struct fev__attacher *a)
{
	struct fev__cursor *c = &m->groups[gi].cursor;

	for (;;) {
		/* Relaxed: the CASes below decide. */
		uint64_t at = atomic_load_explicit(&c->pos,
						   memory_order_relaxed);

		if (at > pos)
			return take_redo(m, gi, pos, h, a);
		if (at != pos) {
			if (!cursor_reaches(m, &m->groups[gi], pos))
				return false;
			/* Relaxed: skipping a hole takes nothing. */
			atomic_compare_exchange_strong_explicit(
				&c->pos, &at, at + 1, memory_order_relaxed,
				memory_order_relaxed);
			continue;
		}
		/* Relaxed: published with the hold record by R0 below;
		 * repair reads whom we drop for. */
		__atomic_store_n(&a->group, gi + 1, __ATOMIC_RELAXED);
		fev__holder_intent(h, pos, 1);
		/* R0: as fev__ring_take(): the hold record before the take;
		 * seq_cst like every cursor CAS. */
		if (atomic_compare_exchange_strong_explicit(
			    &c->pos, &at, pos + 1, memory_order_seq_cst,
			    memory_order_relaxed)) {
			fev__holder_took(h, pos, 1);
			return true;
		}
		fev__holder_abandon(h);
	}
}

uint32_t fev__grp_drop(const struct fev__map *m, uint64_t pos, uint32_t mask,
		       struct fev__holder *h, struct fev__attacher *a,
		       bool *freed)
{
	uint32_t n = 0;

	*freed = false;
	for (uint32_t gi = 0; mask != 0; gi++, mask >>= 1) {
		if ((mask & 1) == 0 || !take_for(m, gi, pos, h, a))
			continue;
		n++;
		if (lose(m, gi, pos))
			*freed = true;
		fev__holder_done(h, pos, 1); /* R3 */
	}
	return n;
}

int fev__grp_drop_finish(const struct fev__map *m, uint32_t gi, uint64_t pos)
{
	if (!fev__grp_owed(m, gi, pos))
		return 0;
	lose(m, gi, pos);
	return 1;
}

bool fev__grp_gap(struct fev__group *g)
{
	/* B8: relaxed, counters only. */
	uint64_t d = atomic_load_explicit(&g->dropped, memory_order_relaxed);
	uint64_t seen = atomic_load_explicit(&g->gap_seen,
					     memory_order_relaxed);

	/* One member announces each change: the CAS picks it. */
	return d != seen &&
	       atomic_compare_exchange_strong_explicit(
		       &g->gap_seen, &seen, d, memory_order_relaxed,
		       memory_order_relaxed);
}
