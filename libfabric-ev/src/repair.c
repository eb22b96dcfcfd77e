/*
 * Repair: undo what a dead process left half-done in a queue.
 *
 * A process can die holding ring positions (ring.h): as a producer between
 * taking a position and committing it, as a consumer between acquiring an
 * event and releasing it.  Either stalls everyone behind it: consumers wait
 * forever at an uncommitted position, producers wait forever for a slot
 * that is never released.  Its hold records (written before every CAS,
 * cleared after commit/release) name the positions it may hold:
 *
 *   producer position p, head > p, slot seq == p    never committed:
 *       becomes a tombstone (seq = p + 1, flag TOMBSTONE); consumers skip
 *       it.  Nothing committed is lost: that event was never sent.  The
 *       slot is taken from its owner by CAS (T1 in ring.h), so an owner
 *       that was alive after all either commits first or gets -ESTALE.
 *   consumer position p, tail > p, slot seq == p + 1   never released:
 *       delivered again, flagged FEV_REDELIVERED (at-least-once): copied
 *       into a free slot at the head, or, when the producers' next
 *       position is this very slot (head == p + capacity), re-committed in
 *       place as position p + capacity.  Then slot p is released.
 *   the single consumer of a queue (sync modes, sync_mode.h), positions
 *       below tail: no live consumer exists until repair gives the side
 *       back, so tail goes back to the lowest position it held, those
 *       still full flagged FEV_REDELIVERED where they lie and those it had
 *       released turned into tombstones (repair_single_consumer()).
 *
 * A hold record names positions before the CAS that takes them, so a stale hold
 * record may name a position that a live attacher took instead.  A position is
 * therefore repaired only when no live attacher's hold record names it;
 * otherwise it is pending and the caller tries again later.  Cursors are read
 * before the hold records (A0 pairs with R0 in ring.h: whoever moved the cursor
 * past p published its hold record first), so a live owner of p is always seen.
 *
 * The repairer takes positions through the dead record's own hold record
 * records, so a repairer that dies mid-repair leaves a record the next one
 * can finish: at worst an event is delivered once more, never lost.
 *
 * What it does not do: decide that a process is dead (the caller does, with
 * fev__attacher_alive() or a pidfd), or repair a process that is merely
 * stopped: its hold records stay, and fev stat shows the stall.
 */
#include "repair.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "consumer_group.h"
#include "group_drop.h"
#include "fev/fev.h"
#include "sync_mode.h"
#include "wait.h"

/* The identity of an ACTIVE record's owner; false for any other state. */
static bool owner_identity(const struct fev__attacher *a,
			   struct fev__identity *id)
{
	/* A6: pairs with R6 in attach: the identity is filled in. */
	if (atomic_load_explicit(&a->state, memory_order_acquire) !=
	    FEV__ATT_ACTIVE)
		return false;
	*id = (struct fev__identity){ .pid = a->pid,
				      .start_time = a->start_time,
				      .pidns = a->pidns };
	return true;
}

enum fev__life fev__attacher_life(const struct fev__attacher *a,
				  int32_t *local_pid)
{
	struct fev__identity id;

	if (local_pid != NULL)
		*local_pid = 0;
	return owner_identity(a, &id) ? fev__process_life(&id, local_pid) :
					FEV__LIFE_DEAD;
}

bool fev__attacher_alive(const struct fev__attacher *a)
{
	struct fev__identity id;

	/* Unchecked counts as alive: that only delays a repair, never
	 * wrongs a live claim.  No /proc search: fevd maps foreign records
	 * and repairs them once dead, which ends their hold records. */
	return owner_identity(a, &id) &&
	       fev__process_life_quick(&id) != FEV__LIFE_DEAD;
}

bool fev__attacher_free_abandoned(struct fev__attacher *a)
{
	/* Relaxed: the CAS below decides; nothing else is read. */
	uint32_t state = atomic_load_explicit(&a->state, memory_order_relaxed);

	if (!(state & FEV__ATT_ATTACHING) ||
	    fev__local_pid_life(FEV__ATT_ATTACHING_PID(state), 0) !=
		    FEV__LIFE_DEAD)
		return false;
	/* Release: pairs with the CAS in attach, like R6'. */
	return atomic_compare_exchange_strong_explicit(
		&a->state, &state, FEV__ATT_FREE, memory_order_release,
		memory_order_relaxed);
}

/* A hold record's positions [lo, hi); a forged length past 2^64 is cut. */
static struct fev__repair_range holdrec_range(const struct fev__holdrec *c)
{
	/* A3: pairs with R3 in fev__holder_done(): a cleared hold record's slot
	 * stores are visible. */
	uint32_t n = atomic_load_explicit(&c->n, memory_order_acquire);
	uint64_t lo = atomic_load_explicit(&c->pos, memory_order_relaxed);
	uint64_t hi = lo + n;

	return (struct fev__repair_range){ lo, hi < lo ? UINT64_MAX : hi };
}

static void add_live(struct fev__repair_pass *p, const struct fev__holdrec *c)
{
	struct fev__repair_range r = holdrec_range(c);

	if (r.hi > r.lo)
		p->live[p->nlive++] = r;
}

static int by_lo(const void *a, const void *b)
{
	const struct fev__repair_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sort by lo and merge overlaps: then one binary search answers. */
static void sort_and_merge(struct fev__repair_pass *p)
{
	uint32_t out = 0;

	qsort(p->live, p->nlive, sizeof(p->live[0]), by_lo);
	for (uint32_t i = 0; i < p->nlive; i++) {
		if (out > 0 && p->live[i].lo <= p->live[out - 1].hi) {
			if (p->live[i].hi > p->live[out - 1].hi)
				p->live[out - 1].hi = p->live[i].hi;
			continue;
		}
		p->live[out++] = p->live[i];
	}
	p->nlive = out;
}

int fev__repair_pass_begin(struct fev__repair_pass *p, struct fev__map *m,
			   fev__repair_dead_fn *dead, void *arg)
{
	if (!m->writable)
		return -EINVAL;
	*p = (struct fev__repair_pass){ .m = m, .woke = true };
	p->live = malloc(2 * (size_t)m->geo.attacher_max * sizeof(p->live[0]));
	if (p->live == NULL)
		return -ENOMEM;
	/* A0: pairs with R0 in ring.h.  Cursors before hold records:
	 * whoever moved a cursor past a position published its hold record
	 * first, so the snapshot below holds every live owner of a
	 * position below them.
	 * The caller decided who is dead before this: a dead process took
	 * all its positions before these loads, so below the cursors too. */
	p->head = atomic_load_explicit(&m->ring.head->pos,
				       memory_order_acquire);
	p->tail = atomic_load_explicit(&m->ring.tail->pos,
				       memory_order_acquire);
	for (uint32_t g = 0; m->groups != NULL && g < m->geo.groups_max; g++) {
		/* A0 again, for the group cursors and redo lists. */
		p->group_cursor[g] = atomic_load_explicit(
			&m->groups[g].cursor.pos, memory_order_acquire);
		p->group_redo[g] = atomic_load_explicit(
			&m->groups[g].redo_tail, memory_order_acquire);
	}
	for (uint32_t i = 0; i < m->geo.attacher_max; i++) {
		const struct fev__attacher *a = &m->attachers[i];

		/* A6: pairs with R6 in attach.  Not ACTIVE: free, being
		 * attached (no hold records yet) or dead (REPAIRING). */
		if (atomic_load_explicit(&a->state, memory_order_acquire) !=
			    FEV__ATT_ACTIVE ||
		    dead(arg, i, a))
			continue;
		add_live(p, &a->prod);
		add_live(p, &a->cons);
	}
	sort_and_merge(p);
	return 0;
}

/* Is pos named by a live hold record?  O(log n) over the merged ranges. */
static bool named_by_live(const struct fev__repair_pass *p, uint64_t pos)
{
	uint32_t lo = 0, hi = p->nlive;

	/* The last range starting at or below pos is the only candidate. */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (p->live[mid].lo <= pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && pos < p->live[lo - 1].hi;
}

static uint64_t slot_seq(const struct fev__ring *r, uint64_t pos)
{
	/* A1/A2: pairs with R1 (commit) and R2 (release) in ring.h. */
	return atomic_load_explicit(&fev__ring_slot(r, pos)->seq,
				    memory_order_acquire);
}

/*
 * Positions still held are within one lap of the cursor that passed them:
 * a producer holding p keeps head <= p + capacity (slot p is not free for
 * the next lap), a consumer holding p keeps tail <= p + capacity.
 */
static uint64_t lowest_holdable(uint64_t lo, uint64_t cursor, uint32_t cap)
{
	return cursor > cap && lo < cursor - cap ? cursor - cap : lo;
}

/*
 * Tombstone reserved position pos (seq == pos) or finish the tombstone of a
 * repairer that died (seq == fev__ring_tombstoning()).  False when its
 * owner committed first: the owner was alive after all, and its event
 * stands (C1/T1 in ring.h).
 */
static bool tombstone(const struct fev__map *m, uint64_t pos, uint64_t seq)
{
	const struct fev__ring *r = &m->ring;

	if (seq == pos && !fev__ring_tombstone_begin(r, pos))
		return false;
	/* Every group skips and releases it, as any commit (B1). */
	if (m->slot_grps != NULL)
		fev__grp_stamp(m, pos);
	fev__ring_tombstone_end(r, pos, FEV__SLOT_TOMBSTONE);
	return true;
}

/* Positions [lo, hi) a dead producer may hold. */
/*
 * A repairer died between taking position p for an in-place redelivery
 * (see redeliver()) and committing it: the slot still holds the event of
 * lap p - capacity, full.  No producer takes a position whose slot is not
 * free, so that sequence can only mean this: finish the redelivery.
 */
static void finish_in_place(struct fev__map *m, uint64_t p,
			    struct fev__repair_result *res)
{
	struct fev__slot *s = fev__ring_slot(&m->ring, p);
	/* Loaded once: another process may rewrite them after our check. */
	uint32_t len = __atomic_load_n(&s->len, __ATOMIC_RELAXED);
	uint32_t flags = __atomic_load_n(&s->flags, __ATOMIC_RELAXED);

	if (len > m->geo.max_event || (flags & FEV__SLOT_TOMBSTONE)) {
		/* No owner to race with: the repairer that took p is dead. */
		fev__ring_tombstone_end(&m->ring, p, FEV__SLOT_TOMBSTONE);
		res->tombstoned++;
		return;
	}
	if (fev__ring_publish(&m->ring, p, p - m->geo.capacity + 1, len,
			      flags | FEV_REDELIVERED, s->attacher, s->ts_ns))
		res->redelivered++;
}

static uint32_t repair_producer(const struct fev__repair_pass *ps,
				struct fev__repair_range held,
				struct fev__repair_result *res)
{
	struct fev__map *m = ps->m;
	uint64_t head = ps->head;
	uint32_t pending = 0;

	/* A held position is never a lap behind the cursor: a hold record that
	 * reaches further is forged, and must not cost a loop over it. */
	for (uint64_t p = lowest_holdable(held.lo, head, m->geo.capacity);
	     p < held.hi && p < head; p++) {
		uint64_t seq = slot_seq(&m->ring, p);

		if (seq != p && seq != p - m->geo.capacity + 1 &&
		    seq != fev__ring_tombstoning(&m->ring, p))
			continue; /* committed, or never ours */
		if (named_by_live(ps, p)) {
			pending++;
			continue;
		}
		/* (Groups never redeliver in place: there it is forged.) */
		if (seq == p - m->geo.capacity + 1 && m->groups == NULL)
			finish_in_place(m, p, res);
		else if (seq != p - m->geo.capacity + 1 && tombstone(m, p, seq))
			res->tombstoned++;
	}
	return pending;
}

/*
 * Put the event at held position p back at the head.  Returns 1 when it is
 * queued again, 0 when there was nothing deliverable (the slot is simply
 * released), -EAGAIN when the ring has no room yet.
 */
static int redeliver(struct fev__map *m, struct fev__attacher *a, uint64_t p)
{
	const struct fev__ring *r = &m->ring;
	struct fev__slot *src = fev__ring_slot(r, p), *dst;
	struct fev__holder h = { .rec = &a->prod };
	/* Loaded once: another process may rewrite them after our check. */
	uint32_t len = __atomic_load_n(&src->len, __ATOMIC_RELAXED);
	uint32_t flags = __atomic_load_n(&src->flags, __ATOMIC_RELAXED);
	uint64_t pos, head;

	if ((flags & FEV__SLOT_TOMBSTONE) || len > m->geo.max_event) {
		fev__ring_release(r, p); /* nothing deliverable in it */
		return 0;
	}
	if (fev__ring_reserve(r, &h, 1, &pos) == 1) {
		dst = fev__ring_slot(r, pos);
		/* memmove: a hostile cursor could make dst and src one slot. */
		memmove(fev__slot_payload(dst), fev__slot_payload(src), len);
		/* Key and headers travel with it (in len; FEV__SLOT_META
		 * stays in flags); consumers check meta_len again. */
		dst->meta_len = __atomic_load_n(&src->meta_len,
						__ATOMIC_RELAXED);
		fev__ring_commit(r, pos, len, flags | FEV_REDELIVERED,
				 src->attacher, src->ts_ns);
		fev__holder_done(&h, pos, 1);
		fev__ring_release(r, p);
		return 1;
	}
	/*
	 * Full.  If the producers' next position is p's own slot, nobody can
	 * take it (its sequence says "full" until released): take it
	 * ourselves and re-commit the event where it lies.
	 */
	head = p + r->capacity;
	fev__holder_intent(&h, head, 1);
	/* R0: publishes the intent above, as in fev__ring_take(). */
	if (!atomic_compare_exchange_strong_explicit(&r->head->pos, &head,
						     head + 1,
						     memory_order_release,
						     memory_order_relaxed)) {
		fev__holder_abandon(&h);
		return -EAGAIN;
	}
	fev__holder_took(&h, head, 1);
	/* Position head's slot is p's, still full for lap p; unless its
	 * owner was alive after all and released it meanwhile (R2 is a CAS
	 * too), and then the slot is free for head, ours, its event intact. */
	if (!fev__ring_publish(r, head, p + 1, len, flags | FEV_REDELIVERED,
			       src->attacher, src->ts_ns))
		fev__ring_commit(r, head, len, flags | FEV_REDELIVERED,
				 src->attacher, src->ts_ns);
	fev__holder_done(&h, head, 1);
	return 1;
}

/*
 * Positions [lo, hi) a dead member of group gi may hold: handed back to its
 * group alone, through the group's redo list (consumer_group.h).
 */
static uint32_t repair_member(const struct fev__repair_pass *ps, uint32_t gi,
			      struct fev__repair_range held,
			      struct fev__repair_result *res)
{
	struct fev__map *m = ps->m;
	uint64_t cursor = ps->group_cursor[gi];
	uint32_t pending = 0;

	for (uint64_t p = lowest_holdable(held.lo, cursor, m->geo.capacity);
	     p < held.hi && p < cursor; p++) {
		int rc = named_by_live(ps, p) ?
				 -EAGAIN :
				 fev__grp_redeliver(m, gi, p,
						    ps->group_redo[gi]);

		if (rc == 0) /* released: perhaps not freed (dead last) */
			fev__grp_free_released(m, p);
		if (rc < 0)
			pending++;
		else
			res->redelivered += (uint32_t)rc;
	}
	return pending;
}

/*
 * Positions [lo, hi) a dead producer may hold while dropping them for
 * group gi (group_drop.h): finish the drop, as it would have.
 */
static uint32_t repair_dropper(const struct fev__repair_pass *ps, uint32_t gi,
			       struct fev__repair_range held)
{
	struct fev__map *m = ps->m;
	uint64_t cursor = ps->group_cursor[gi];
	uint32_t pending = 0;

	for (uint64_t p = lowest_holdable(held.lo, cursor, m->geo.capacity);
	     p < held.hi && p < cursor; p++) {
		if (named_by_live(ps, p))
			pending++;
		else if (fev__grp_drop_finish(m, gi, p) == 0)
			fev__grp_free_released(m, p); /* dead last releaser */
	}
	return pending;
}

/* Positions [lo, hi) a dead consumer may hold. */
static uint32_t repair_consumer(const struct fev__repair_pass *ps,
				struct fev__attacher *a,
				struct fev__repair_range held,
				struct fev__repair_result *res)
{
	struct fev__map *m = ps->m;
	uint64_t tail = ps->tail;
	uint32_t pending = 0;

	for (uint64_t p = lowest_holdable(held.lo, tail, m->geo.capacity);
	     p < held.hi && p < tail; p++) {
		int rc;

		if (slot_seq(&m->ring, p) != p + 1)
			continue; /* released, or never ours */
		rc = named_by_live(ps, p) ? -EAGAIN : redeliver(m, a, p);
		if (rc < 0)
			pending++;
		else
			res->redelivered += (uint32_t)rc;
	}
	return pending;
}

/*
 * Released slot p below the single consumer's rewound cursor: a tombstone
 * the next consumer skips.  No producer can take it meanwhile: the slot of
 * the lowest held position, below it, stays full until that consumer
 * releases it, so head stays at most one lap past that position.
 */
static void tombstone_released(const struct fev__ring *r, uint64_t p)
{
	struct fev__slot *s = fev__ring_slot(r, p);
	uint64_t released = p + r->capacity;

	s->len = 0;
	s->flags = FEV__SLOT_TOMBSTONE;
	s->attacher = UINT32_MAX;
	s->ts_ns = 0;
	/* R1: the tombstone's header; pairs with A2 in acquire.  A CAS: a
	 * slot in any other state is left as it is. */
	atomic_compare_exchange_strong_explicit(&s->seq, &released, p + 1,
						memory_order_release,
						memory_order_relaxed);
}

/*
 * Positions [lo, hi) the dead single consumer of a queue may hold: tail
 * goes back to the lowest one still full, which the next consumer takes
 * first.  Nobody else moves tail: the consumer side is the dead record's
 * until retire() gives it back (O2, which publishes these stores to the
 * next owner's O1).  A repairer that dies here leaves flags set, perhaps
 * tombstones and a cursor not yet moved: the next pass finds the same
 * lowest position and does it again.
 */
static uint32_t repair_single_consumer(const struct fev__repair_pass *ps,
				       uint32_t idx,
				       struct fev__repair_range held,
				       struct fev__repair_result *res)
{
	struct fev__map *m = ps->m;
	const struct fev__ring *r = &m->ring;
	uint64_t tail = ps->tail, lo = tail;

	/* Only the side's owner holds consumer positions: any other
	 * record's hold record is forged, and must never move the cursor
	 * of a live consumer.  Relaxed: written by its owner's O1 (seen
	 * by our acquire of the record's state) and by repair. */
	if (atomic_load_explicit(&m->seg->state_line.sc_owner,
				 memory_order_relaxed) != idx + 1)
		return 0;

	for (uint64_t p = lowest_holdable(held.lo, tail, r->capacity);
	     p < held.hi && p < tail; p++) {
		if (slot_seq(r, p) != p + 1)
			continue; /* released, or never ours */
		if (named_by_live(ps, p))
			return 1;
		if (lo == tail)
			lo = p;
	}
	if (lo == tail)
		return 0; /* nothing held */
	for (uint64_t p = lo; p < tail; p++) {
		if (slot_seq(r, p) == p + 1) {
			/* Relaxed: published by R0 and O2 below. */
			__atomic_fetch_or(&fev__ring_slot(r, p)->flags,
					  FEV_REDELIVERED, __ATOMIC_RELAXED);
			res->redelivered++;
		} else {
			tombstone_released(r, p);
		}
	}
	/* R0 (single): the flags and tombstones above come first. */
	atomic_store_explicit(&r->tail->pos, lo, memory_order_release);
	return 0;
}

static void retire(struct fev__map *m, struct fev__attacher *a,
		   const struct fev__repair_result *res)
{
	struct fev__state_line *f = &m->seg->state_line;

	fev__stats_retire_begin(f);
	/* Relaxed RMWs: statistics, inside the R7/R8 bracket. */
	atomic_fetch_add_explicit(&f->tombstoned, res->tombstoned,
				  memory_order_relaxed);
	atomic_fetch_add_explicit(&f->redelivered, res->redelivered,
				  memory_order_relaxed);
	atomic_fetch_add_explicit(&f->repaired_attachers, 1,
				  memory_order_relaxed);
	fev__attacher_retire_counters(f, a);
	atomic_store_explicit(&a->prod.n, 0, memory_order_relaxed);
	atomic_store_explicit(&a->cons.n, 0, memory_order_relaxed);
	/* O2: a single side the dead owner had goes back after its repair,
	 * before the record can be reused (sync_mode.h). */
	fev__sync_give_back(m, (uint32_t)(a - m->attachers));
	/* R6': the record may be reused; pairs with the CAS in attach. */
	atomic_store_explicit(&a->state, FEV__ATT_FREE, memory_order_release);
	fev__stats_retire_end(f);
}

int fev__repair_pass_record(struct fev__repair_pass *p, uint32_t idx,
			    struct fev__repair_result *res)
{
	struct fev__map *m = p->m;
	struct fev__attacher *a;
	struct fev__repair_result pass = { 0 };
	uint32_t state = FEV__ATT_ACTIVE;
	uint32_t pending;

	if (idx >= m->geo.attacher_max)
		return -EINVAL;
	a = &m->attachers[idx];
	/* Acquire: the dead owner's record and hold records are visible. */
	if (!atomic_compare_exchange_strong_explicit(
		    &a->state, &state, FEV__ATT_REPAIRING,
		    memory_order_acquire, memory_order_acquire) &&
	    state != FEV__ATT_REPAIRING)
		return 0; /* free, or being attached: nothing to repair */
	p->woke = false;
	pending = repair_producer(p, holdrec_range(&a->prod), &pass);
	/* The consumer side re-queues through the producer hold record:
	 * only once the producer side is settled. */
	if (pending == 0) {
		atomic_store_explicit(&a->prod.n, 0, memory_order_relaxed);
		/* Read once: a writer may change it.  Relaxed: the acquire
		 * CAS on state above orders it after the owner's stores. */
		uint32_t gi = __atomic_load_n(&a->group, __ATOMIC_RELAXED) - 1;
		struct fev__repair_range held = holdrec_range(&a->cons);

		if (m->geo.sync & FEV_SYNC_SC)
			pending = repair_single_consumer(p, idx, held, &pass);
		else if (m->groups == NULL || gi >= m->geo.groups_max)
			pending = repair_consumer(p, a, held, &pass);
		else if (a->roles & FEV_CONSUMER)
			pending = repair_member(p, gi, held, &pass);
		else /* a producer alone names the group it drops for */
			pending = repair_dropper(p, gi, held);
	}
	if (res != NULL) {
		res->tombstoned += pass.tombstoned;
		res->redelivered += pass.redelivered;
		res->pending = pending;
	}
	if (pending != 0) {
		/* Count what this pass did now; the record stays REPAIRING. */
		atomic_fetch_add_explicit(&m->seg->state_line.tombstoned,
					  pass.tombstoned, memory_order_relaxed);
		atomic_fetch_add_explicit(&m->seg->state_line.redelivered,
					  pass.redelivered,
					  memory_order_relaxed);
		return -EAGAIN;
	}
	retire(m, a, &pass);
	return 0;
}

void fev__repair_pass_end(struct fev__repair_pass *p)
{
	/* Always, when a record was looked at: a slot released without
	 * redelivery (nothing deliverable in it) frees room too.  Costs a
	 * load when nobody sleeps. */
	if (!p->woke) {
		fev__wait_fence(false); /* F1: the repairs are published */
		fev__wait_wake_all(&p->m->seg->not_empty);
		fev__wait_wake_all(&p->m->seg->not_full);
		p->woke = true;
	}
	free(p->live);
	p->live = NULL;
}

struct one_dead {
	uint32_t idx;
};

/* Dead: the record under repair, and every one whose process is gone. */
static bool one_or_gone(void *arg, uint32_t idx, const struct fev__attacher *a)
{
	return idx == ((const struct one_dead *)arg)->idx ||
	       !fev__attacher_alive(a);
}

int fev__repair_attacher(struct fev__map *m, uint32_t idx,
			 struct fev__repair_result *res)
{
	struct one_dead one = { idx };
	struct fev__repair_pass p;
	int rc;

	if (!m->writable || idx >= m->geo.attacher_max)
		return -EINVAL;
	rc = fev__repair_pass_begin(&p, m, one_or_gone, &one);
	if (rc < 0)
		return rc;
	rc = fev__repair_pass_record(&p, idx, res);
	fev__repair_pass_end(&p);
	return rc;
}
