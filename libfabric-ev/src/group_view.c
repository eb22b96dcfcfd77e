/*
 * Reading a consumer group's state for display (group_view.h).  Nothing
 * here writes the segment, so a read-only mapping serves; every load is
 * relaxed, after the acquire of the group's state (B7), because the
 * numbers are statistics, never a decision about a slot.
 */
#include "group_view.h"

#include <string.h>

#include "consumer_group.h"

/*
 * Committed for pos's lap and not released by the group (the test of
 * consumer_group.c's owed(), relaxed: counted, never acted on).
 */
static bool owes(const struct fev__map *m, uint32_t bit, uint64_t pos)
{
	uint64_t seq = atomic_load_explicit(
		&fev__ring_slot(&m->ring, pos)->seq, memory_order_relaxed);

	return seq == pos + 1 && fev__grp_owes(m, pos, bit);
}

/*
 * Lag: the positions from the group's start (or the oldest the ring can
 * hold, whichever is last) to head that still owe it.  Not from the
 * cursor: a member's take moves the cursor but not the slot's bit, so
 * events held in flight count until released; holes (slots stamped
 * without the group) do not.  At most `capacity` slots are read.
 */
static uint64_t group_lag(const struct fev__map *m, uint32_t gi,
			  uint64_t start, uint64_t head)
{
	uint64_t cap = m->geo.capacity, lo = head > cap ? head - cap : 0;
	uint64_t lag = 0;

	/* A start past head is forged: ignored. */
	if (start > lo && start <= head)
		lo = start;
	for (uint64_t p = lo; p < head; p++)
		lag += owes(m, 1u << gi, p);
	return lag;
}

static uint32_t count_members(const struct fev__map *m, uint32_t gi)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < m->geo.attacher_max; i++) {
		const struct fev__attacher *a = &m->attachers[i];
		/* A6: pairs with R6 in attach: its group is filled in. */
		uint32_t st = atomic_load_explicit(&a->state,
						   memory_order_acquire);

		if ((st == FEV__ATT_ACTIVE || st == FEV__ATT_REPAIRING) &&
		    (a->roles & FEV_CONSUMER) != 0 && a->group == gi + 1)
			n++;
	}
	return n;
}

int fev__group_read(const struct fev__map *m, uint32_t gi,
		     struct fev__group_view *out)
{
	const struct fev__group *g;
	uint64_t head, rh, rt;

	if (m->groups == NULL || gi >= m->geo.groups_max)
		return -ENOENT;
	g = &m->groups[gi];
	/* B7: pairs with B6 in fev__group_create_in(): the record is whole. */
	if (atomic_load_explicit(&g->state, memory_order_acquire) !=
	    FEV__GROUP_ACTIVE)
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	out->index = gi;
	memcpy(out->name, g->name, sizeof(out->name));
	out->name[FEV_GROUP_NAME_MAX] = '\0';
	if (fev_group_name_valid(out->name) < 0)
		return -EBADMSG;
	out->policy = g->policy;
	out->start = g->start;
	/* Relaxed: statistics, as fev__map_stats() reads head and tail. */
	head = atomic_load_explicit(&m->seg->head.pos, memory_order_relaxed);
	out->cursor = atomic_load_explicit(&g->cursor.pos,
					   memory_order_relaxed);
	out->lag = group_lag(m, gi, out->start, head);
	rh = atomic_load_explicit(&g->redo_head, memory_order_relaxed);
	rt = atomic_load_explicit(&g->redo_tail, memory_order_relaxed);
	/* A forged list length means nothing: shown as none. */
	out->redo_waiting = rh - rt <= FEV__GROUP_REDO_MAX ? rh - rt : 0;
	out->redelivered = atomic_load_explicit(&g->redelivered,
						memory_order_relaxed);
	/* B8: a counter, relaxed as its writers (group_drop.h). */
	out->dropped = atomic_load_explicit(&g->dropped, memory_order_relaxed);
	/* Relaxed: a counter fevd alone writes. */
	out->revoked = atomic_load_explicit(&g->revoked, memory_order_relaxed);
	out->members = count_members(m, gi);
	return 0;
}
