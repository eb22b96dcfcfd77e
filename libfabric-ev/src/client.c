/*
 * The client API: attach to a queue, then produce and consume through the
 * ring (ring.h), waiting on the queue's wait words (wait.h) when it is full
 * or empty.  Everything here runs in the caller's thread; nothing needs the
 * daemon.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "clock.h"
#include "consumer_group.h"
#include "group_assign.h"
#include "fev/fev.h"
#include "fork.h"
#include "group_drop.h"
#include "hops.h"
#include "meta.h"
#include "pollfd.h"
#include "segment.h"
#include "sync_mode.h"
#include "trace.h"
#include "wait.h"

#define DEFAULT_SPIN_NS 20000u
#define SPIN_CHECK_EVERY 64

struct fev_queue {
	struct fev__map map;
	struct fev__attacher *me;
	uint32_t me_index;
	unsigned roles;
	uint32_t max_event;
	int policy;
	struct fev__spin spin; /* adaptive spinning (wait.h) */
	uint32_t fork_gen; /* fev__fork_generation() at open (fork.h) */
	/* This handle is its queue's only producer (consumer) and moves
	 * head (tail) with a store, not a CAS (sync_mode.h). */
	bool store_head, store_tail;
	uint64_t created_ns; /* the header's, read once at open */
	bool asymmetric_fence; /* see wait.h */
	bool hold_stamped;    /* our record's hold_ns is not 0 */
	/* Repair retired our record (we were taken for dead): it may be
	 * another handle's now, so we never write it again (-ESTALE). */
	bool orphaned;
	/* What we wrote in our record, to know it is still ours. */
	uint64_t attach_ns;
	int32_t attach_pid;
	/* Where an orphaned handle's holders write instead of its record. */
	struct fev__holdrec orphan_holdrecs[2];
	struct fev__clock clock;
	struct fev__holder prod, cons;
	/* The event fev_recv() could not hand over (buffer too small). */
	bool stashed;
	fev_event stash;
	/* A consumer of a topic's partition: its group (-1: a queue's
	 * consumer, or a producer) and that group's bit. */
	int grp;
	uint32_t grp_bit;
	uint64_t grp_start; /* events below it are released unread */
	/* fev_fd()'s descriptor and its helper thread, or NULL. */
	struct fev__pollfd *pollfd;
	/* A producer alone on a partition with groups: it drops the oldest
	 * event of `drop` groups in its way (group_drop.h). */
	bool drops;
	/* Mirrors of our attacher counters: we are their only writer. */
	uint64_t enqueued, dequeued, dropped, full_waits, sleeps, wakes;
	/* The topic's hop ring, for sampled events only (hops.h). */
	struct fev__hop_site hop_site;
};

/* A deadline that is computed only if we ever have to wait. */
struct deadline {
	int64_t timeout_ns;
	bool set;
	struct timespec abs; /* CLOCK_MONOTONIC */
	struct timespec bounded_abs;
};

static inline void counter_set(_Atomic uint64_t *c, uint64_t v)
{
	/* Relaxed: single writer; readers only sum statistics. */
	atomic_store_explicit(c, v, memory_order_relaxed);
}

/* Opened by the process we were forked from: its record is not ours. */
static inline bool inherited(const fev_queue *q)
{
	return q->fork_gen != fev__fork_generation();
}

static inline bool deleted(const fev_queue *q)
{
	/* A4: pairs with R4 in fev__segment_delete(). */
	return atomic_load_explicit(&q->map.seg->state_line.state,
				    memory_order_acquire) == FEV__SEG_DELETED;
}

/* ---- attaching --------------------------------------------------------- */

static void zero_counters(struct fev__attacher *a)
{
	counter_set(&a->enqueued, 0);
	counter_set(&a->dequeued, 0);
	counter_set(&a->dropped, 0);
	counter_set(&a->full_waits, 0);
	counter_set(&a->sleeps, 0);
	counter_set(&a->wakes, 0);
}

static int attach_record(fev_queue *q)
{
	struct fev__identity me;

	fev__identity_self(&me);
	for (uint32_t i = 0; i < q->map.geo.attacher_max; i++) {
		struct fev__attacher *a = &q->map.attachers[i];
		uint32_t expect = FEV__ATT_FREE;

		/* Acquire on success: the previous owner's frees are done. */
		if (!atomic_compare_exchange_strong_explicit(
			    &a->state, &expect,
			    FEV__ATT_ATTACHING | (uint32_t)me.pid,
			    memory_order_acquire, memory_order_relaxed))
			continue;
		a->roles = q->roles;
		a->group = q->grp < 0 ? 0 : (uint32_t)q->grp + 1;
		a->pid = q->attach_pid = me.pid;
		a->start_time = me.start_time;
		a->pidns = me.pidns;
		a->attach_ns = q->attach_ns = fev__now_realtime_ns();
		atomic_store_explicit(&a->prod.n, 0, memory_order_relaxed);
		atomic_store_explicit(&a->cons.n, 0, memory_order_relaxed);
		atomic_store_explicit(&a->prod.member, 0, memory_order_relaxed);
		atomic_store_explicit(&a->cons.member, 0, memory_order_relaxed);
		zero_counters(a);
		counter_set(&a->hold_ns, 0);
		/* R6: the record is filled in; pairs with A6 in readers. */
		atomic_store_explicit(&a->state, FEV__ATT_ACTIVE,
				      memory_order_release);
		/* G1: after R6, pairs with G2 in fevd's liveness scan: fevd
		 * that sees the new generation sees this record ACTIVE. */
		atomic_fetch_add_explicit(&q->map.seg->state_line.attach_gen, 1,
					  memory_order_release);
		q->me = a;
		q->me_index = i;
		q->prod.rec = &a->prod;
		q->cons.rec = &a->cons;
		return 0;
	}
	return -EUSERS;
}

/*
 * A single-producer (consumer) queue: take the side after R6, so a death
 * from here on leaves an ACTIVE record that repair retires, giving the
 * side back (sync_mode.h).  Refused: the record, which holds nothing,
 * is freed at once.
 */
static int claim_sides(fev_queue *q)
{
	int32_t owner_pid;
	int rc = fev__sync_claim(&q->map, q->me_index, q->roles, &owner_pid);

	if (rc < 0) {
		fev__stats_retire_begin(&q->map.seg->state_line);
		fev__attacher_retire_counters(&q->map.seg->state_line, q->me);
		/* R6': pairs with A6 and the CAS in attach_record(). */
		atomic_store_explicit(&q->me->state, FEV__ATT_FREE,
				      memory_order_release);
		fev__stats_retire_end(&q->map.seg->state_line);
	}
	return rc;
}

static int check_open_opts(const fev_open_opts *o, const char **instance,
			   uint32_t *spin_ns, const char **group)
{
	uint32_t flags = 0;

	*instance = NULL;
	*group = NULL;
	*spin_ns = DEFAULT_SPIN_NS;
	if (o == NULL)
		return 0;
	if (o->struct_size < offsetof(fev_open_opts, spin_ns) + 4)
		return -EINVAL;
	*instance = o->instance;
	if (o->spin_ns != 0)
		*spin_ns = o->spin_ns;
	if (o->struct_size >= offsetof(fev_open_opts, flags) + 4)
		flags = o->flags;
	if ((flags & ~FEV_OPEN_NO_SPIN) != 0)
		return -EINVAL;
	if (o->struct_size >= offsetof(fev_open_opts, group) +
				      sizeof(o->group))
		*group = o->group;
	if (flags & FEV_OPEN_NO_SPIN)
		*spin_ns = 0;
	return 0;
}

/*
 * A consumer of a partition with groups reads through its group's cursor
 * (consumer_group.h): the handle's ring takes from it, not from tail.
 */
static int join_group(fev_queue *q, const char *group, bool member)
{
	uint32_t mode;
	int gi;

	q->grp = -1;
	if (!(q->roles & FEV_CONSUMER) || q->map.groups == NULL)
		return member ? -EINVAL : 0;
	gi = fev__group_find(&q->map, group != NULL ? group : "default");
	if (gi < 0)
		return gi;
	mode = q->map.groups[gi].mode; /* after B7 in find */
	if (mode != FEV_GROUP_SHARED && mode != FEV_GROUP_ORDERED)
		return -EBADMSG;
	/* An ordered group's partitions are read by owners only
	 * (member.c); a member reads an ordered group only. */
	if ((mode == FEV_GROUP_ORDERED) != member)
		return -EPERM;
	q->grp = gi;
	q->grp_bit = 1u << gi;
	q->grp_start = q->map.groups[gi].start; /* after B7 in find */
	q->map.ring.tail = &q->map.groups[gi].cursor;
	return 0;
}

static int open_handle(const char *queue, unsigned roles,
		       const fev_open_opts *opts, bool member, fev_queue **out)
{
	const char *instance, *group;
	uint32_t spin_ns;
	fev_queue *q;
	int rc;

	if (out == NULL || roles == 0 ||
	    (roles & ~(FEV_PRODUCER | FEV_CONSUMER)) != 0)
		return -EINVAL;
	rc = check_open_opts(opts, &instance, &spin_ns, &group);
	if (rc < 0)
		return rc;
	if (group != NULL && fev_group_name_valid(group) < 0)
		return -EINVAL;
	fev__fork_watch();
	q = calloc(1, sizeof(*q));
	if (q == NULL)
		return -ENOMEM;
	q->fork_gen = fev__fork_generation();
	rc = fev__map_open(instance, queue, true, &q->map);
	if (rc < 0) {
		free(q);
		return rc;
	}
	q->roles = roles;
	fev__spin_init(&q->spin, spin_ns);
	q->asymmetric_fence = fev__wait_setup();
	q->max_event = q->map.geo.max_event;
	q->policy = (int)q->map.geo.policy;
	q->created_ns = q->map.seg->hdr.created_ns;
	q->drops = q->map.groups != NULL && roles == FEV_PRODUCER;
	rc = deleted(q) ? -EIDRM : join_group(q, group, member);
	if (rc == 0)
		rc = attach_record(q);
	if (rc == 0 && q->map.geo.sync != 0)
		rc = claim_sides(q);
	q->store_head = (roles & FEV_PRODUCER) &&
			fev__sync_store_head(q->map.geo.sync);
	q->store_tail = (roles & FEV_CONSUMER) &&
			fev__sync_store_tail(q->map.geo.sync);
	if (rc < 0) {
		fev__map_close(&q->map);
		free(q);
		return rc;
	}
	*out = q;
	return 0;
}

uint64_t fev_queue_created_ns(const fev_queue *q)
{
	return q->created_ns;
}

int fev_open(const char *queue, unsigned roles, const fev_open_opts *opts,
	     fev_queue **out)
{
	return open_handle(queue, roles, opts, false, out);
}

int fev__open_member(const char *partition, const fev_open_opts *opts,
		     fev_queue **out)
{
	return open_handle(partition, FEV_CONSUMER, opts, true, out);
}

uint32_t fev__queue_member_id(const fev_queue *q)
{
	return fev__member_id(q->me_index, q->attach_ns);
}

_Atomic uint32_t *fev__queue_member_word(fev_queue *q, bool beat)
{
	/* Through the holders: an orphaned handle's point at its own. */
	return beat ? &q->prod.rec->member : &q->cons.rec->member;
}

void fev__queue_fence(const fev_queue *q)
{
	fev__wait_fence(q->asymmetric_fence);
}

struct fev__group *fev__queue_group(const fev_queue *q)
{
	return &q->map.groups[q->grp];
}

const struct fev__map *fev__queue_map(const fev_queue *q)
{
	return &q->map;
}

void fev_close(fev_queue *q)
{
	if (q == NULL)
		return;
	/* fev_fd()'s helper thread reads the mapping: stopped before it
	 * goes (a forked child has the descriptor, not the thread). */
	fev__pollfd_free(q->pollfd, &q->map.seg->not_empty, inherited(q));
	/* Repair retired the record already, or it is the parent's (we
	 * inherited the handle across fork()): only our copies go. */
	if (q->orphaned || inherited(q))
		goto unmap;
	/* Positions still held stay named: the supervisor repairs them as
	 * it would for a dead process (the record goes to REPAIRING). */
	fev__stats_retire_begin(&q->map.seg->state_line);
	/* The record's counters are ours (counter_set): fold them. */
	fev__attacher_retire_counters(&q->map.seg->state_line, q->me);
	/* A single side is given back only with nothing held: what is
	 * held is repaired first, and repair gives it back (O2). */
	if (!q->prod.held && !q->cons.held)
		fev__sync_give_back(&q->map, q->me_index);
	/* R6': pairs with A6 in readers and the CAS in attach_record(). */
	atomic_store_explicit(&q->me->state,
			      q->prod.held || q->cons.held ? FEV__ATT_REPAIRING :
							     FEV__ATT_FREE,
			      memory_order_release);
	fev__stats_retire_end(&q->map.seg->state_line);
unmap:
	fev__hop_site_close(&q->hop_site);
	fev__map_close(&q->map);
	fev__holder_free(&q->prod);
	fev__holder_free(&q->cons);
	free(q);
}

/* ---- waiting ----------------------------------------------------------- */

/* FEV_FOREVER is the only negative timeout (fev.h); others are -EINVAL. */
static bool timeout_valid(int64_t timeout_ns)
{
	return timeout_ns >= 0 || timeout_ns == FEV_FOREVER;
}

static void deadline_arm(struct deadline *d)
{
	uint64_t now, at;

	if (d->set || d->timeout_ns < 0)
		return;
	now = fev__now_monotonic_ns();
	at = now + (uint64_t)d->timeout_ns;
	d->abs.tv_sec = (time_t)(at / 1000000000u);
	d->abs.tv_nsec = (long)(at % 1000000000u);
	d->set = true;
}

static uint64_t deadline_ns(const struct deadline *d)
{
	return (uint64_t)d->abs.tv_sec * 1000000000u + (uint64_t)d->abs.tv_nsec;
}

static bool deadline_passed(const struct deadline *d)
{
	return d->timeout_ns >= 0 && fev__now_monotonic_ns() >= deadline_ns(d);
}

/*
 * The deadline of one sleep: FEV__WAIT_UNFENCED_NS in the first phase,
 * unpaired_ns when F2 could not be issued, else the caller's but at most
 * recheck_ns (see wait.h).
 */
static const struct timespec *sleep_until(struct deadline *d, bool bounded,
					  bool fenced)
{
	uint64_t soon = fev__now_monotonic_ns() +
			(!bounded ? fev__wait_limits.recheck_ns :
			 fenced   ? fev__wait_limits.unpaired_ns :
				    FEV__WAIT_UNFENCED_NS);

	if (d->timeout_ns >= 0 && deadline_ns(d) < soon)
		return &d->abs;
	d->bounded_abs.tv_sec = (time_t)(soon / 1000000000u);
	d->bounded_abs.tv_nsec = (long)(soon % 1000000000u);
	return &d->bounded_abs;
}

/*
 * What a waiter waits for: true when its next attempt may succeed (or the
 * queue is gone).  Sleepers look at it after registering, so every store
 * that can make it true must be followed by a wake of their wait word.
 */
typedef bool (*ready_fn)(const fev_queue *q);

/* The group of this member was deleted (not while it is attached,
 * unless a writer forged that). */
static bool group_gone(const fev_queue *q)
{
	/* Relaxed: the group's state only ever says to stop. */
	return q->grp >= 0 &&
	       atomic_load_explicit(&q->map.groups[q->grp].state,
				    memory_order_relaxed) !=
		       FEV__GROUP_ACTIVE;
}

/*
 * The slot at tail is committed: not_empty (published() wakes it).  A
 * group member also goes on for a slot to skip or a redelivery (repair
 * wakes not_empty).
 */
static bool consumer_ready(const fev_queue *q)
{
	uint64_t at;

	if (fev__ring_can_take(&q->map.ring, q->map.ring.tail, 1) ||
	    deleted(q))
		return true;
	return q->grp >= 0 &&
	       (fev__grp_redo_waiting(&q->map.groups[q->grp]) ||
		fev__grp_hole(&q->map.ring, &at) || group_gone(q));
}

/* The position whose slot the producers' next position needs. */
static uint64_t oldest(const fev_queue *q)
{
	/* Relaxed: a stale head only makes the drop's checks fail. */
	return atomic_load_explicit(&q->map.ring.head->pos,
				    memory_order_relaxed) -
	       q->map.geo.capacity;
}

/*
 * The slot at head is free (not_full: releases wake it), or, for
 * drop-oldest, the queue is full and its oldest event is committed, so
 * that drop_oldest() can discard it (published() wakes not_full too).
 */
static bool producer_ready(const fev_queue *q)
{
	const struct fev__ring *r = &q->map.ring;

	if (fev__ring_can_take(r, r->head, 0) || deleted(q))
		return true;
	if (q->drops)
		return fev__grp_droppable(&q->map, oldest(q)) != 0;
	return q->policy == FEV_POLICY_DROP_OLDEST &&
	       fev__ring_depth(r) >= q->map.geo.capacity &&
	       fev__ring_can_take(r, r->tail, 1);
}

bool fev__queue_ready(const fev_queue *q)
{
	return consumer_ready(q);
}

int fev__queue_check_consumer(const fev_queue *q)
{
	if (q == NULL)
		return -EINVAL;
	if (inherited(q))
		return -ECHILD;
	if (!(q->roles & FEV_CONSUMER))
		return -EPERM;
	return q->orphaned ? -ESTALE : 0;
}

uint32_t fev__queue_spin_ns(const fev_queue *q)
{
	return q->spin.ns;
}

uint32_t fev__queue_spin_budget(const fev_queue *q)
{
	return q->spin.budget_ns;
}

struct fev__pollfd **fev__queue_pollfd(fev_queue *q)
{
	return &q->pollfd;
}

/* Busy-wait up to the spin budget (wait.h) for the ready condition. */
static bool spin_until_ready(fev_queue *q, ready_fn ready,
			     const struct deadline *d)
{
	uint32_t budget = fev__spin_budget(&q->spin);
	uint64_t end;
	bool cut;

	if (budget == 0)
		return false; /* spinning stopped: sleep at once, no clock */
	end = fev__now_monotonic_ns() + budget;
	cut = d->timeout_ns >= 0 && deadline_ns(d) < end;
	if (cut)
		end = deadline_ns(d);
	for (;;) {
		for (int i = 0; i < SPIN_CHECK_EVERY; i++) {
			if (ready(q)) {
				fev__spin_outcome(&q->spin, true);
				return true;
			}
			fev__cpu_relax();
		}
		if (fev__now_monotonic_ns() >= end) {
			/* A spin the caller's deadline cut short says
			 * nothing about the peer. */
			if (!cut)
				fev__spin_outcome(&q->spin, false);
			return false;
		}
	}
}

/*
 * Wait on w until ready(q), or the deadline passes.  0 means "try again".
 * The ring is looked at after every sleep, however it ended, before the
 * deadline is: a wake-up may be missed (see wait.h), an event may not.
 */
static int await_slot(fev_queue *q, struct fev__waitword *w, ready_fn ready,
		      struct deadline *d)
{
	if (d->timeout_ns == 0)
		return -EAGAIN;
	deadline_arm(d);
	if (q->spin.ns != 0 && spin_until_ready(q, ready, d))
		return 0;
	for (bool fenced = false;; fenced = true) {
		bool bounded;
		uint32_t seq = fev__wait_register(w, fenced, &bounded);
		int rc;

		if (ready(q)) {
			fev__wait_cancel(w, seq);
			return 0;
		}
		if (deadline_passed(d)) {
			fev__wait_cancel(w, seq);
			return -ETIMEDOUT;
		}
		counter_set(&q->me->sleeps, ++q->sleeps);
		rc = fev__wait_sleep(w, seq, sleep_until(d, bounded, fenced));
		fev__wait_cancel(w, seq);
		if (rc == 0)
			return 0;
		/* Timed out, interrupted, or polled: look again, fenced from
		 * now on. */
	}
}

/* After F1: a load, and a syscall only when someone sleeps on w. */
static void wake_sleepers(fev_queue *q, struct fev__waitword *w)
{
	if (fev__wait_wake_if_sleepers(w))
		counter_set(&q->me->wakes, ++q->wakes);
}

static void wake(fev_queue *q, struct fev__waitword *w)
{
	fev__wait_fence(q->asymmetric_fence); /* F1 */
	wake_sleepers(q, w);
}

/*
 * Holding starts from idle: zero-copy calls stamp when (the caller may hold
 * the slot for long, and fev stat shows for how long); copying calls hold it
 * for one copy and only clear a stamp left by an earlier zero-copy call.
 */
static void note_hold_start(fev_queue *q, const struct fev__holder *h,
			     bool zero_copy)
{
	if (h->held != 0 || (!zero_copy && !q->hold_stamped))
		return; /* copying calls store nothing when there is no stamp */
	counter_set(&q->me->hold_ns,
		    zero_copy ? fev__clock_realtime_ns(&q->clock) : 0);
	q->hold_stamped = zero_copy;
}

/*
 * Give back acquired positions that deliver nothing (dropped, skipped).  A
 * release that fails means repair already delivered the event again: the
 * position is gone either way.
 */
/*
 * Release one position: false when it was not ours to release any more
 * (repair delivered it again).  A group member frees the slot only when
 * its group is the last to release it.
 */
static bool ring_release(fev_queue *q, uint64_t pos)
{
	int last;

	if (q->grp < 0)
		return fev__ring_release(&q->map.ring, pos);
	last = fev__grp_release(&q->map, pos, q->grp_bit);
	if (last == 1)
		(void)fev__ring_release(&q->map.ring, pos);
	return last >= 0;
}

static void release_positions(fev_queue *q, uint64_t pos, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		(void)ring_release(q, pos + i);
	fev__holder_done(&q->cons, pos, n);
}

/* Before a commit's R1: which groups must release it (B1).  A branch on
 * the handle's own map: a queue's producer reads no shared word for it. */
static void stamp(fev_queue *q, uint64_t pos)
{
	if (__builtin_expect(q->map.slot_grps != NULL, 0))
		fev__grp_stamp(&q->map, pos);
}

/* ---- producing --------------------------------------------------------- */

/* Discard the oldest event when the queue is truly full of waiting events
 * (not when a consumer merely holds the slot we need). */
static bool drop_oldest(fev_queue *q)
{
	uint64_t pos;

	if (fev__ring_depth(&q->map.ring) < q->map.geo.capacity)
		return false;
	if (fev__holder_make_room(&q->cons, 1) < 0 ||
	    fev__ring_acquire(&q->map.ring, &q->cons, 1, &pos) == 0)
		return false;
	release_positions(q, pos, 1);
	counter_set(&q->me->dropped, ++q->dropped);
	return true;
}

/*
 * The `drop` groups lose the oldest event, when only they are in the way
 * and no member of theirs holds it (group_drop.h): true when it went for
 * at least one of them (look again).
 */
static bool drop_for_groups(fev_queue *q)
{
	uint64_t pos = oldest(q);
	uint32_t mask = fev__grp_droppable(&q->map, pos);
	bool freed;

	if (mask == 0 || fev__holder_make_room(&q->cons, 1) < 0)
		return false;
	if (fev__grp_drop(&q->map, pos, mask, &q->cons, q->me, &freed) == 0)
		return false;
	if (freed)
		wake(q, &q->map.seg->not_full); /* other producers */
	return true;
}

/* Take up to want positions for writing; returns how many, or -errno. */
static int produce_take(fev_queue *q, uint32_t want, int64_t timeout_ns,
			uint64_t *pos, bool zero_copy)
{
	struct deadline d = { .timeout_ns = timeout_ns };
	bool counted = false;
	int rc = fev__holder_make_room(&q->prod, want);

	if (rc < 0)
		return rc;
	if (q->orphaned)
		return -ESTALE;
	if (!timeout_valid(timeout_ns))
		return -EINVAL;
	for (;;) {
		uint32_t k;

		if (deleted(q))
			return -EIDRM;
		note_hold_start(q, &q->prod, zero_copy);
		k = q->store_head ? fev__ring_reserve_single(&q->map.ring,
							     &q->prod, want,
							     pos) :
				    fev__ring_reserve(&q->map.ring, &q->prod,
						      want, pos);
		if (k > 0)
			return (int)k;
		if (q->policy == FEV_POLICY_REJECT)
			return -EAGAIN;
		if (q->policy == FEV_POLICY_DROP_OLDEST && drop_oldest(q))
			continue;
		if (q->drops && drop_for_groups(q))
			continue;
		if (!counted) {
			counter_set(&q->me->full_waits, ++q->full_waits);
			counted = true;
		}
		rc = await_slot(q, &q->map.seg->not_full, producer_ready, &d);
		if (rc < 0)
			return rc;
	}
}

static void published(fev_queue *q, uint32_t n)
{
	q->enqueued += n;
	counter_set(&q->me->enqueued, q->enqueued);
	wake(q, &q->map.seg->not_empty);
	/* A drop-oldest producer may be waiting for this commit: the event
	 * it will drop (producer_ready()). */
	if (q->policy == FEV_POLICY_DROP_OLDEST)
		wake_sleepers(q, &q->map.seg->not_full);
}

/*
 * Repair took a position of ours.  If it retired our record too (state,
 * pid or attach time no longer ours), the handle is orphaned: the record
 * may be another handle's by now.  Plain reads of the record: a new owner
 * writes them while we look, and then they are not ours either way.
 */
static int lost_to_repair(fev_queue *q)
{
	struct fev__attacher *a = q->me;

	/* Relaxed: any state but ACTIVE, or a changed owner, decides. */
	if (atomic_load_explicit(&a->state, memory_order_relaxed) !=
		    FEV__ATT_ACTIVE ||
	    __atomic_load_n(&a->pid, __ATOMIC_RELAXED) != q->attach_pid ||
	    __atomic_load_n(&a->attach_ns, __ATOMIC_RELAXED) != q->attach_ns) {
		q->orphaned = true;
		q->prod.rec = &q->orphan_holdrecs[0];
		q->cons.rec = &q->orphan_holdrecs[1];
	}
	return -ESTALE;
}

/*
 * Commit reserved position pos.  False when repair took it first (this
 * handle was taken for dead, C1/T1 in ring.h): nothing is published, and
 * the position is no longer ours, so it is dropped from the holder alone
 * (the hold record may not be ours any more either).
 */
static bool commit_one(fev_queue *q, uint64_t pos, uint32_t len,
		       uint32_t flags, uint64_t ts)
{
	stamp(q, pos);
	if (fev__ring_commit(&q->map.ring, pos, len, flags, q->me_index, ts)) {
		fev__holder_done(&q->prod, pos, 1);
		return true;
	}
	fev__holder_drop(&q->prod, pos, 1);
	lost_to_repair(q);
	return false;
}

/*
 * Once one commit of a call failed, the later positions of the call are
 * not published either: tombstoned, unless repair took them too.  So a
 * call publishes a prefix of its events, and the caller sends the rest
 * again, in order.
 */
static void abandon_one(fev_queue *q, uint64_t pos)
{
	stamp(q, pos);
	if (fev__ring_commit(&q->map.ring, pos, 0, FEV__SLOT_TOMBSTONE,
			     q->me_index, 0))
		fev__holder_done(&q->prod, pos, 1);
	else
		fev__holder_drop(&q->prod, pos, 1);
}

/* Position pos is still ours to write (repair has not taken it). */
static bool still_ours(struct fev__slot *s, uint64_t pos)
{
	/* Relaxed: narrows the window only; the commit's CAS decides. */
	return atomic_load_explicit(&s->seq, memory_order_relaxed) == pos;
}

/*
 * Copy an event into reserved position pos, unless repair took it already
 * (then the commit fails too): a late copy must not land in the slot's
 * next lap, another producer's event.  The payload goes after meta_len
 * bytes of key and headers.
 */
static void copy_in(fev_queue *q, uint64_t pos, uint32_t meta_len,
		    const void *data, size_t len)
{
	struct fev__slot *s = fev__ring_slot(&q->map.ring, pos);

	if (len != 0 && still_ours(s, pos))
		memcpy(fev__slot_payload(s) + meta_len, data, len);
}

/*
 * Write the encoded key and headers (meta_len > 0 bytes) at the front of
 * reserved position pos; the commit's R1 publishes them with the payload.
 */
static void meta_in(fev_queue *q, uint64_t pos, const fev_send_opts *o,
		    const struct fev__send_trace *t, uint32_t meta_len)
{
	struct fev__slot *s = fev__ring_slot(&q->map.ring, pos);

	if (!still_ours(s, pos))
		return;
	s->meta_len = meta_len;
	fev__meta_encode(o, t->add, t->n_add, fev__slot_payload(s));
}

/* Slot flags for an event with meta_len bytes of key and headers. */
static uint32_t meta_flags(uint32_t meta_len)
{
	return meta_len != 0 ? FEV__SLOT_META : 0;
}

/* n events of a call were committed: the count, or -ESTALE for none. */
static int committed(fev_queue *q, uint32_t n)
{
	if (n == 0)
		return -ESTALE;
	published(q, n);
	return (int)n;
}

/*
 * The published hop of a sampled event.  Out of line and cold, like hop()
 * below: inlined, its arguments stay live across the commit and the hot
 * path of every unsampled event pays for them (callgrind: 33 instructions
 * an event for fev_send(), doc/design.md "Tracing").
 */
static __attribute__((noinline, cold)) void
hop_published(fev_queue *q, uint64_t pos, const struct fev__send_trace *t,
	      uint64_t ts)
{
	fev__hop_record(&q->hop_site, &q->map, NULL, FEV__HOP_PUBLISHED, 0,
			pos, &t->ctx, t->parent_span, ts);
}

/*
 * One event with meta_len bytes of o's key and headers and t's trace
 * headers (0: none; t NULL: fev_send(), no meta, no trace) and the
 * producer's flags (FEV_REDELIVERED or 0).
 */
static inline __attribute__((always_inline)) int
send_one(fev_queue *q, const fev_send_opts *o, const struct fev__send_trace *t,
	 uint32_t meta_len, uint32_t flags, const void *data, size_t len,
	 int64_t timeout_ns)
{
	uint64_t pos, ts;
	int rc;

	if (inherited(q))
		return -ECHILD;
	if (!(q->roles & FEV_PRODUCER))
		return -EPERM;
	if (len > q->max_event - meta_len)
		return -EMSGSIZE;
	if (data == NULL && len != 0)
		return -EINVAL;
	rc = produce_take(q, 1, timeout_ns, &pos, false);
	if (rc < 0)
		return rc;
	if (meta_len != 0)
		meta_in(q, pos, o, t, meta_len);
	copy_in(q, pos, meta_len, data, len);
	flags |= meta_flags(meta_len);
	/* The one test an unsampled event pays for tracing (fev.h). */
	if (t != NULL && t->sampled)
		flags |= FEV_SAMPLED;
	ts = fev__clock_realtime_ns(&q->clock);
	rc = committed(q, commit_one(q, pos, meta_len + (uint32_t)len, flags,
				     ts));
	if (rc < 0)
		return rc;
	if (FEV__TRACING && (flags & FEV_SAMPLED))
		hop_published(q, pos, t, ts);
	return 0;
}

int fev_send(fev_queue *q, const void *data, size_t len, int64_t timeout_ns)
{
	return send_one(q, NULL, NULL, 0, 0, data, len, timeout_ns);
}

/*
 * Look at o's trace context (t) and the encoded size of its key, headers
 * and t's headers, checked against max_event.
 */
static ssize_t meta_size_for(const fev_queue *q, const fev_send_opts *o,
			     struct fev__send_trace *t)
{
	int rc = fev__send_trace_prepare(o, t);
	ssize_t m;

	if (rc < 0)
		return rc;
	m = fev__meta_size(o, t->add, t->n_add);
	if (m > (ssize_t)q->max_event)
		return -EMSGSIZE;
	return m;
}

/*
 * The flags o passes on (0 for options older than the field).  Only
 * FEV_REDELIVERED: the slot's bit of that name is what consumers read
 * back (slot_to_event()), and no other slot flag is a producer's to set.
 */
static int send_flags(const fev_send_opts *o)
{
	if (o == NULL ||
	    o->struct_size < offsetof(fev_send_opts, flags) + sizeof(o->flags))
		return 0;
	if ((o->flags & ~FEV_REDELIVERED) != 0)
		return -EINVAL;
	return (int)o->flags;
}

int fev_send_ex(fev_queue *q, const fev_send_opts *opts, const void *data,
		size_t len, int64_t timeout_ns)
{
	struct fev__send_trace t;
	ssize_t m = meta_size_for(q, opts, &t);
	int flags = send_flags(opts);

	if (m < 0)
		return (int)m;
	if (flags < 0)
		return flags;
	return send_one(q, opts, &t, (uint32_t)m, (uint32_t)flags, data, len,
			timeout_ns);
}

int fev_send_batch(fev_queue *q, const struct iovec *iov, size_t n,
		   int64_t timeout_ns)
{
	uint64_t pos, ts;
	uint32_t done = 0;
	int k;

	if (inherited(q))
		return -ECHILD;
	if (!(q->roles & FEV_PRODUCER))
		return -EPERM;
	if (iov == NULL || n == 0)
		return -EINVAL;
	if (n > q->map.geo.capacity)
		n = q->map.geo.capacity;
	for (size_t i = 0; i < n; i++) {
		if (iov[i].iov_len > q->max_event)
			return -EMSGSIZE;
		if (iov[i].iov_base == NULL && iov[i].iov_len != 0)
			return -EINVAL;
	}
	k = produce_take(q, (uint32_t)n, timeout_ns, &pos, false);
	if (k < 0)
		return k;
	ts = fev__clock_realtime_ns(&q->clock);
	for (int i = 0; i < k; i++) {
		if (done < (uint32_t)i) {
			abandon_one(q, pos + i);
			continue;
		}
		copy_in(q, pos + i, 0, iov[i].iov_base, iov[i].iov_len);
		done += commit_one(q, pos + i, (uint32_t)iov[i].iov_len, 0, ts);
	}
	return committed(q, done);
}

/*
 * Reserve up to n positions whose payload starts after meta_len bytes.
 * The slot remembers meta_len for the commit (0 too: the slot's previous
 * lap may have left another value).
 */
static int reserve_n(fev_queue *q, fev_claim *claims, size_t n,
		     int64_t timeout_ns, uint32_t meta_len)
{
	uint64_t pos;
	int k;

	if (inherited(q))
		return -ECHILD;
	if (!(q->roles & FEV_PRODUCER))
		return -EPERM;
	if (claims == NULL || n == 0)
		return -EINVAL;
	if (n > q->map.geo.capacity)
		n = q->map.geo.capacity;
	k = produce_take(q, (uint32_t)n, timeout_ns, &pos, true);
	for (int i = 0; i < k; i++) {
		struct fev__slot *s = fev__ring_slot(&q->map.ring, pos + i);

		s->meta_len = meta_len;
		claims[i].data = fev__slot_payload(s) + meta_len;
		claims[i].cap = q->max_event - meta_len;
		claims[i].priv_pos = pos + i;
	}
	return k;
}

int fev_reserve_batch(fev_queue *q, fev_claim *claims, size_t n,
		      int64_t timeout_ns)
{
	return reserve_n(q, claims, n, timeout_ns, 0);
}

int fev_reserve(fev_queue *q, size_t len, fev_claim *c, int64_t timeout_ns)
{
	int rc;

	if (len > q->max_event)
		return -EMSGSIZE;
	rc = reserve_n(q, c, 1, timeout_ns, 0);
	return rc < 0 ? rc : 0;
}

int fev_reserve_ex(fev_queue *q, const fev_send_opts *opts, size_t len,
		   fev_claim *c, int64_t timeout_ns)
{
	struct fev__send_trace t;
	ssize_t m = meta_size_for(q, opts, &t);
	int rc;

	if (m < 0)
		return (int)m;
	/* The commit sets a reservation's flags; none is passed through. */
	if (send_flags(opts) != 0)
		return -EINVAL;
	if (len > q->max_event - (uint32_t)m)
		return -EMSGSIZE;
	rc = reserve_n(q, c, 1, timeout_ns, (uint32_t)m);
	if (rc < 0)
		return rc;
	if (m != 0)
		meta_in(q, c->priv_pos, opts, &t, (uint32_t)m);
	return 0;
}

/*
 * The meta_len reserve_n() left in the slot of our position pos.  Our own
 * store, but in shared memory: capped so a length built on it never wraps
 * (a forged value then only makes consumers reject the event).
 */
static uint32_t reserved_meta_len(const fev_queue *q, uint64_t pos)
{
	uint32_t m = __atomic_load_n(&fev__ring_slot(&q->map.ring, pos)->meta_len,
				     __ATOMIC_RELAXED);

	return m <= q->max_event ? m : q->max_event;
}

/*
 * A claim this handle reserved and has not committed yet.  Exact: the
 * holder knows every position it holds, so another handle's reservation,
 * or one past the end of ours, is not open here.
 */
static bool claim_open(fev_queue *q, const fev_claim *c)
{
	return fev__holder_holds(&q->prod, c->priv_pos);
}

int fev_commit_batch(fev_queue *q, fev_claim *claims, const size_t *lens,
		     size_t n)
{
	uint32_t done = 0;
	uint64_t ts;

	if (inherited(q))
		return -ECHILD;
	if (claims == NULL || lens == NULL || n == 0 || n > q->prod.held)
		return -EINVAL;
	/* All or nothing: check every claim before committing any. */
	for (size_t i = 0; i < n; i++) {
		if (!claim_open(q, &claims[i]) ||
		    (i > 0 && claims[i].priv_pos <= claims[i - 1].priv_pos))
			return -EINVAL;
		if (lens[i] > q->max_event -
				      reserved_meta_len(q, claims[i].priv_pos))
			return -EMSGSIZE;
	}
	ts = fev__clock_realtime_ns(&q->clock);
	for (size_t i = 0; i < n; i++) {
		uint32_t m = reserved_meta_len(q, claims[i].priv_pos);

		if (done < i)
			abandon_one(q, claims[i].priv_pos);
		else
			done += commit_one(q, claims[i].priv_pos,
					   m + (uint32_t)lens[i], meta_flags(m),
					   ts);
		claims[i].data = NULL;
	}
	return committed(q, done);
}

int fev_commit(fev_queue *q, fev_claim *c, size_t len)
{
	int rc;

	if (c == NULL)
		return -EINVAL;
	rc = fev_commit_batch(q, c, &len, 1);
	return rc < 0 ? rc : 0;
}

/* ---- consuming --------------------------------------------------------- */

/*
 * Split an event with FEV__SLOT_META into key, headers and payload: 0, or
 * -EBADMSG when they do not parse (meta.h).
 */
static int meta_out(struct fev__slot *s, uint32_t len, fev_event *ev)
{
	/* Loaded once: another process may rewrite it after our check. */
	uint32_t m = __atomic_load_n(&s->meta_len, __ATOMIC_RELAXED);

	if (m > len || fev__meta_parse(fev__slot_payload(s), m, ev) < 0)
		return -EBADMSG;
	ev->data = fev__slot_payload(s) + m;
	ev->len = len - m;
	return 0;
}

/*
 * Turn the slot at pos into an event, or release it on the spot when there
 * is nothing to deliver: a tombstone (a dead producer's position) or a
 * length or key and headers that cannot be true (a hostile writer).
 * Returns 1, 0 (skipped) or -EBADMSG (skipped, and worth reporting).
 */
static int slot_to_event(fev_queue *q, uint64_t pos, fev_event *ev)
{
	struct fev__slot *s = fev__ring_slot(&q->map.ring, pos);
	/* Loaded once: another process may rewrite them after our check. */
	uint32_t len = __atomic_load_n(&s->len, __ATOMIC_RELAXED);
	uint32_t flags = __atomic_load_n(&s->flags, __ATOMIC_RELAXED);

	if (flags & FEV__SLOT_TOMBSTONE) {
		release_positions(q, pos, 1);
		return 0;
	}
	if (len > q->max_event) {
		release_positions(q, pos, 1);
		return -EBADMSG;
	}
	ev->data = fev__slot_payload(s);
	ev->len = len;
	ev->key = NULL;
	ev->key_len = 0;
	ev->n_headers = 0;
	ev->priv_hdr_len = 0;
	ev->priv_hdr = NULL;
	if ((flags & FEV__SLOT_META) && meta_out(s, len, ev) < 0) {
		release_positions(q, pos, 1);
		return -EBADMSG;
	}
	ev->id = pos;
	ev->ts_ns = s->ts_ns;
	ev->flags = flags & (FEV_REDELIVERED | FEV_SAMPLED);
	ev->priv_pad = 0;
	ev->priv_pos = pos;
	return 1;
}

/* Our group's name, as the segment has it (NULL for a queue). */
static const char *group_name(const fev_queue *q)
{
	return q->grp >= 0 ? q->map.groups[q->grp].name : NULL;
}

/*
 * Record a hop of a sampled event (ev->flags has FEV_SAMPLED).  A forged
 * flag on an event without a valid traceparent records nothing.  Out of
 * line and cold: the acquire and release paths keep only the flag test.
 */
static __attribute__((noinline, cold)) void hop(fev_queue *q,
						const fev_event *ev,
						uint8_t kind)
{
	fev_trace_context ctx;

	if (fev_event_trace(ev, &ctx) == 0)
		fev__hop_record(&q->hop_site, &q->map, group_name(q), kind,
				(uint8_t)(ev->flags & FEV_REDELIVERED),
				ev->priv_pos, &ctx, NULL,
				fev__clock_realtime_ns(&q->clock));
}

/* The acquired hops of n events, the first of them sampled. */
static __attribute__((noinline, cold)) void
hops_acquired(fev_queue *q, const fev_event *evs, int n)
{
	for (int i = 0; i < n; i++)
		if (evs[i].flags & FEV_SAMPLED)
			hop(q, &evs[i], FEV__HOP_ACQUIRED);
}

/* n events were acquired: the sampled ones' hops.  The loop makes no call
 * until it finds one, so it keeps nothing live across one. */
static inline int acquired(fev_queue *q, const fev_event *evs, int n)
{
	for (int i = 0; FEV__TRACING && i < n; i++)
		if (__builtin_expect(evs[i].flags & FEV_SAMPLED, 0)) {
			hops_acquired(q, evs + i, n - i);
			break;
		}
	return n;
}

/*
 * A group member takes what repair handed back to its group first: one
 * event, flagged FEV_REDELIVERED.  1, 0 (none), or -EBADMSG.
 */
static int take_redelivered(fev_queue *q, fev_event *ev)
{
	uint64_t pos;

	while (fev__grp_redo_pop(&q->map, (uint32_t)q->grp, &q->cons,
				 &pos) == 1) {
		int rc = slot_to_event(q, pos, ev);

		if (rc > 0)
			ev->flags |= FEV_REDELIVERED;
		if (rc != 0)
			return rc;
	}
	return 0;
}

/*
 * Of the k positions a group member took from pos, release unread those
 * below the group's start (a "latest" group's first lap) and turn the
 * others into events.  How many events, or a negative error of one.
 */
static inline __attribute__((always_inline)) int
slots_to_events(fev_queue *q, bool grp, uint64_t pos, uint32_t k,
		fev_event *evs, int *bad)
{
	int got = 0;

	for (uint32_t i = 0; i < k; i++) {
		int rc;

		if (grp && !fev__grp_owes(&q->map, pos + i, q->grp_bit)) {
			fev__holder_done(&q->cons, pos + i, 1); /* not ours */
			continue;
		}
		if (grp && pos + i < q->grp_start) {
			release_positions(q, pos + i, 1);
			continue;
		}
		rc = slot_to_event(q, pos + i, &evs[got]);
		if (rc > 0)
			got++;
		else if (rc < 0)
			*bad = rc;
	}
	return got;
}

int fev__queue_retake(fev_queue *q, uint64_t pos, fev_event *ev)
{
	int rc;

	if (q->orphaned)
		return -ESTALE;
	if (fev__holder_make_room(&q->cons, 1) < 0)
		return -ENOMEM;
	note_hold_start(q, &q->cons, true);
	fev__holder_intent(&q->cons, pos, 1);
	/* Ordered after the intent by the slot's A2 in owed() and the
	 * lease's L2 before it: one taker at a time (group_assign.h). */
	if (!fev__grp_owed(&q->map, (uint32_t)q->grp, pos) ||
	    !fev__grp_take_bit(&q->map, (uint32_t)q->grp, pos)) {
		fev__holder_abandon(&q->cons);
		return 0;
	}
	fev__holder_took(&q->cons, pos, 1);
	if (pos < q->grp_start) {
		release_positions(q, pos, 1);
		return 0;
	}
	rc = slot_to_event(q, pos, ev);
	if (rc > 0)
		ev->flags |= FEV_REDELIVERED;
	return rc;
}

bool fev__queue_forget_held(fev_queue *q, uint64_t *lowest,
			    bool clear_taken)
{
	uint64_t lo, hi;

	if (q->cons.held == 0)
		return false;
	lo = fev__holder_lo(&q->cons);
	hi = fev__holder_hi(&q->cons);
	*lowest = lo;
	/* What we took back by the taken bit, the next owner must be able
	 * to take again (published by L1, after this). */
	for (uint64_t p = lo; clear_taken && p != hi; p++)
		if (fev__holder_holds(&q->cons, p))
			fev__grp_clear_taken(&q->map, (uint32_t)q->grp, p);
	fev__holder_done(&q->cons, lo, fev__holdrec_len(lo, hi));
	return true;
}

/*
 * Take up to max events.  grp is a constant at each call (consume_queue(),
 * consume_group()), so a queue's consumer runs none of the group code: not
 * even its branches (issue 11: a queue no slower than before groups).
 */
/* A member hands over got > 0 events: the first says FEV_GAP when its
 * group lost events since the group last said so (group_drop.h). */
static int delivered(fev_queue *q, fev_event *evs, int got)
{
	if (fev__grp_gap(&q->map.groups[q->grp]))
		evs[0].flags |= FEV_GAP;
	return got;
}

static inline __attribute__((always_inline)) int
consume(fev_queue *q, bool grp, fev_event *evs, size_t max,
	int64_t timeout_ns, bool zero_copy)
{
	struct deadline d = { .timeout_ns = timeout_ns };
	/* Holes a group's cursor may skip in one call: at most the lap
	 * stamped before the group existed; more is a forged cursor, which
	 * would otherwise keep us skipping for up to 2^64 positions. */
	uint64_t holes_left = 2 * (uint64_t)q->map.geo.capacity;

	if (q->orphaned)
		return -ESTALE;
	if (fev__holder_make_room(&q->cons, max < q->map.geo.capacity ?
						    max :
						    q->map.geo.capacity) < 0)
		return -ENOMEM;
	for (;;) {
		uint64_t pos;
		uint32_t k, want;
		int got = 0, bad = 0;

		if (deleted(q) || (grp && group_gone(q)))
			return -EIDRM;
		note_hold_start(q, &q->cons, zero_copy);
		if (grp && (got = take_redelivered(q, evs)) != 0)
			return got > 0 ? acquired(q, evs,
						  delivered(q, evs, got)) :
					 got;
		want = max > UINT32_MAX ? UINT32_MAX : (uint32_t)max;
		k = !grp && q->store_tail ?
			    fev__ring_acquire_single(&q->map.ring, &q->cons,
						     want, &pos) :
			    fev__ring_acquire(&q->map.ring, &q->cons, want,
					      &pos);
		got = slots_to_events(q, grp, pos, k, evs, &bad);
		if (k == 0 && grp && fev__grp_skip_hole(&q->map.ring)) {
			if (holes_left-- == 0)
				return -EBADMSG;
			continue;
		}
		if (k > 0 && got < (int)k)
			wake(q, &q->map.seg->not_full); /* skipped slots */
		if (got > 0)
			return acquired(q, evs,
					grp ? delivered(q, evs, got) : got);
		if (bad < 0)
			return bad;
		if (k == 0) {
			int rc = await_slot(q, &q->map.seg->not_empty,
					    consumer_ready, &d);
			if (rc < 0) {
				/* Empty: fev_fd()'s descriptor may be
				 * signalled again (pollfd.h). */
				fev__pollfd_rearm(q->pollfd);
				return rc;
			}
		}
	}
}

static __attribute__((noinline)) int consume_queue(fev_queue *q,
						    fev_event *evs,
						    size_t max,
						    int64_t timeout_ns,
						    bool zero_copy)
{
	return consume(q, false, evs, max, timeout_ns, zero_copy);
}

static __attribute__((noinline)) int consume_group(fev_queue *q,
						    fev_event *evs,
						    size_t max,
						    int64_t timeout_ns,
						    bool zero_copy)
{
	return consume(q, true, evs, max, timeout_ns, zero_copy);
}

/* A branch on a handle-local constant: the group's index, set at open. */
static int consume_any(fev_queue *q, fev_event *evs, size_t max,
		       int64_t timeout_ns, bool zero_copy)
{
	return q->grp >= 0 ?
		       consume_group(q, evs, max, timeout_ns, zero_copy) :
		       consume_queue(q, evs, max, timeout_ns, zero_copy);
}

static int acquire_one(fev_queue *q, fev_event *ev, int64_t timeout_ns,
		       bool zero_copy)
{
	int rc;

	if (inherited(q))
		return -ECHILD;
	if (!(q->roles & FEV_CONSUMER))
		return -EPERM;
	if (ev == NULL || !timeout_valid(timeout_ns))
		return -EINVAL;
	if (q->stashed) {
		*ev = q->stash;
		q->stashed = false;
		return 0;
	}
	rc = consume_any(q, ev, 1, timeout_ns, zero_copy);
	return rc < 0 ? rc : 0;
}

int fev_acquire(fev_queue *q, fev_event *ev, int64_t timeout_ns)
{
	return acquire_one(q, ev, timeout_ns, true);
}

int fev_acquire_batch(fev_queue *q, fev_event *evs, size_t max,
		      int64_t timeout_ns)
{
	if (inherited(q))
		return -ECHILD;
	if (!(q->roles & FEV_CONSUMER))
		return -EPERM;
	if (evs == NULL || max == 0 || !timeout_valid(timeout_ns))
		return -EINVAL;
	if (q->stashed) {
		evs[0] = q->stash;
		q->stashed = false;
		return 1;
	}
	return consume_any(q, evs, max, timeout_ns, true);
}

/*
 * -EINVAL for a position this handle does not hold (exact, see holder.h);
 * -ESTALE when repair took it first (this handle was taken for dead and
 * the event delivered again): dropped from the holder alone, as in
 * commit_one().
 */
static int release_one(fev_queue *q, const fev_event *ev)
{
	if (ev == NULL || !fev__holder_holds(&q->cons, ev->priv_pos) ||
	    (q->stashed && q->stash.priv_pos == ev->priv_pos))
		return -EINVAL;
	/* Before the release: after it the slot may hold the next lap. */
	if (FEV__TRACING && (ev->flags & FEV_SAMPLED))
		hop(q, ev, FEV__HOP_RELEASED);
	if (!ring_release(q, ev->priv_pos)) {
		fev__holder_drop(&q->cons, ev->priv_pos, 1);
		return lost_to_repair(q);
	}
	fev__holder_done(&q->cons, ev->priv_pos, 1);
	return 0;
}

int fev_release_batch(fev_queue *q, fev_event *evs, size_t n)
{
	size_t done = 0;
	int rc = 0;

	if (inherited(q))
		return -ECHILD;
	if (evs == NULL)
		return -EINVAL;
	for (; done < n; done++) {
		rc = release_one(q, &evs[done]);
		if (rc < 0)
			break;
	}
	if (done > 0) {
		q->dequeued += done;
		counter_set(&q->me->dequeued, q->dequeued);
		wake(q, &q->map.seg->not_full);
	}
	return done > 0 ? (int)done : rc;
}

int fev_release(fev_queue *q, fev_event *ev)
{
	int rc = fev_release_batch(q, ev, 1);

	return rc < 0 ? rc : 0;
}

ssize_t fev_recv(fev_queue *q, void *buf, size_t cap, fev_meta *meta,
		 int64_t timeout_ns)
{
	fev_event ev;
	int rc;

	if (buf == NULL && cap != 0)
		return -EINVAL;
	rc = acquire_one(q, &ev, timeout_ns, false);
	if (rc < 0)
		return rc;
	if (ev.len > cap) {
		/* Keep it for the next call: nothing is lost. */
		q->stash = ev;
		q->stashed = true;
		return -EMSGSIZE;
	}
	if (ev.len != 0)
		memcpy(buf, ev.data, ev.len);
	if (meta != NULL)
		*meta = (fev_meta){ .id = ev.id, .ts_ns = ev.ts_ns,
				    .flags = ev.flags };
	rc = fev_release(q, &ev);
	return rc < 0 ? rc : (ssize_t)ev.len;
}

int fev_group_dropped(const fev_queue *q, uint64_t *dropped)
{
	if (q == NULL || dropped == NULL || q->grp < 0)
		return -EINVAL;
	/* B8: a counter. */
	*dropped = atomic_load_explicit(&q->map.groups[q->grp].dropped,
					memory_order_relaxed);
	return 0;
}
