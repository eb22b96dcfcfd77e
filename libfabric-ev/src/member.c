/*
 * A member of an ordered group: one consumer handle per partition of the
 * topic, of which it reads only those whose lease names it
 * (group_assign.h has the rules and the synchronization).
 *
 * Each acquire looks at the leases first (one acquire load per partition,
 * L2; a release at its own partition's only, unless it moved): a partition gained is read from its record's resume position up to
 * the cursor as it was then, taking back what the group still owes
 * (fev__queue_retake(), flagged FEV_REDELIVERED), then as usual (the
 * group's redelivery list, then the cursor); a partition whose `next`
 * names another member is handed over at once: resume, what it held is
 * forgotten, the lease CASed on (L1).  Events carry the partition and the
 * generation they were taken under (fev_event.priv_pad), so a release
 * after a handover is refused (-EKEYREVOKED), never applied.
 *
 * With a session timeout, every call is bracketed by the member's beat
 * (L4 entering, L6 leaving) and each owned lease is checked against the
 * group record's revoke word (L5): a member fevd revoked, or is revoking,
 * never touches those partitions again and answers -EKEYREVOKED until it
 * leaves.  Waiting is outside the bracket: a waiting member is making
 * progress and may be revoked only when it stops calling.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "wait_many.h"
#include "clock.h"
#include "consumer_group.h"
#include "fork.h"
#include "group_assign.h"
#include "names.h"

/* Longest a waiting member goes without looking at its leases. */
#define MEMBER_LOOK_NS (1000 * 1000)

/* priv_pad of a member's event: generation (low 24 bits), partition. */
#define EV_PART_BITS 8u
#define EV_GEN_MASK 0xffffffu

struct member_part {
	fev_queue *q;
	struct fev__group *g;
	bool owned;
	bool revoke_seen; /* revoke named our lease: it may move any time */
	uint32_t gen;
	/* [scan, scan_end): positions to take back after a handover. */
	uint64_t scan, scan_end;
};

struct fev_member {
	uint32_t fork_gen; /* fev__fork_generation() at join (fork.h) */
	uint32_t id;
	uint32_t partitions;
	uint32_t rotor;
	uint32_t capacity;
	/* The group has a session timeout: calls beat (group_assign.h). */
	bool session;
	/* fevd revoked (or is revoking) a partition of ours: every call
	 * says -EKEYREVOKED until fev_member_leave(). */
	bool revoked;
	uint32_t beat;            /* our beat's value; we alone write it */
	_Atomic uint32_t *beat_w; /* in partition 0's record */
	fev_queue **waits;        /* room for the owned handles' wait */
	size_t *ready;            /* and for which of them are ready */
	struct member_part part[];
};

static int open_part(const char *topic, uint32_t k, uint32_t partitions,
		     const fev_open_opts *opts, fev_queue **out)
{
	char seg[FEV__SEG_NAME_MAX + 1];
	uint64_t give_up = fev__now_monotonic_ns() + FEV__PARTITIONS_WAIT_NS;
	int rc = fev__partition_name(seg, sizeof(seg), topic, k);

	while (rc == 0) {
		rc = fev__open_member(seg, opts, out);
		if (rc != -ENOENT || fev__now_monotonic_ns() > give_up)
			break;
		nanosleep(&(struct timespec){ .tv_nsec = 1000 * 1000 }, NULL);
		rc = 0;
	}
	if (rc == 0 && !fev__partition_ours(fev__queue_map(*out), topic,
					    partitions, k)) {
		fev_close(*out);
		rc = -EBADMSG;
	}
	return rc;
}

static void close_parts(fev_member *m)
{
	/* Partition 0 last: it is the membership fevd assigns by. */
	for (uint32_t k = m->partitions; k-- > 0;)
		fev_close(m->part[k].q);
}

int fev_member_join(const char *topic, const fev_open_opts *opts,
		    fev_member **out)
{
	fev_queue *first;
	fev_member *m;
	uint32_t partitions;
	int rc;

	if (out == NULL || fev_queue_name_valid(topic) < 0)
		return -EINVAL;
	rc = fev__open_member(topic, opts, &first);
	if (rc < 0)
		return rc;
	partitions = fev__queue_map(first)->geo.partitions;
	if (!fev__partition_ours(fev__queue_map(first), topic, partitions,
				 0)) {
		fev_close(first);
		return -EBADMSG;
	}
	m = calloc(1, sizeof(*m) + partitions * sizeof(m->part[0]));
	if (m == NULL) {
		fev_close(first);
		return -ENOMEM;
	}
	m->partitions = 1;
	m->part[0].q = first;
	for (uint32_t k = 1; k < partitions && rc == 0; k++) {
		rc = open_part(topic, k, partitions, opts, &m->part[k].q);
		if (rc == 0)
			m->partitions++;
	}
	if (rc < 0) {
		close_parts(m);
		free(m);
		return rc;
	}
	m->waits = calloc(partitions, sizeof(m->waits[0]));
	m->ready = calloc(partitions, sizeof(m->ready[0]));
	if (m->waits == NULL || m->ready == NULL) {
		close_parts(m);
		free(m->waits);
		free(m->ready);
		free(m);
		return -ENOMEM;
	}
	m->fork_gen = fev__fork_generation();
	m->id = fev__queue_member_id(first);
	m->capacity = fev__queue_map(first)->geo.capacity;
	m->beat_w = fev__queue_member_word(first, true);
	for (uint32_t k = 0; k < partitions; k++) {
		m->part[k].g = fev__queue_group(m->part[k].q);
		/* Relaxed: fevd reads it only for a member stalled for a
		 * session timeout, long after; one it finds 0 it skips. */
		atomic_store_explicit(fev__queue_member_word(m->part[k].q,
							     false),
				      m->id, memory_order_relaxed);
	}
	/* Set at create and never changed; the record was published by
	 * B6 before the open found it ACTIVE. */
	m->session = m->part[0].g->session_ms != 0;
	*out = m;
	return 0;
}

/* The group's cursor in partition p (relaxed: a bound for the re-take,
 * taken after L2; nobody else moves it while we own the lease). */
static uint64_t cursor_of(const struct member_part *p)
{
	return atomic_load_explicit(&p->g->cursor.pos, memory_order_relaxed);
}

/* We own p now under lease: what the previous owner left is to be
 * taken back first (from resume, never more than a lap). */
static void gained(fev_member *m, struct member_part *p, uint64_t lease)
{
	/* Relaxed: published by the L1 that our L2 read. */
	uint64_t resume = atomic_load_explicit(&p->g->resume,
					       memory_order_relaxed);
	uint64_t end = cursor_of(p);

	p->owned = true;
	p->gen = fev__lease_gen(lease);
	p->scan = fev__resume_clamp(resume, end, m->capacity);
	p->scan_end = end;
}

/*
 * fevd wants p to go to member `to`: the lowest position we may leave
 * owed goes in resume, what we hold is forgotten (our hold record no
 * longer names it), and the lease goes on (L1) in this same call, so we
 * never take from p again under this generation.
 */
static void hand_over(struct member_part *p, uint64_t lease, uint32_t to)
{
	uint64_t r = cursor_of(p), lowest;

	if (p->scan < p->scan_end && p->scan < r)
		r = p->scan;
	if (fev__queue_forget_held(p->q, &lowest, true) && lowest < r)
		r = lowest;
	/* Relaxed: published by the L1 below. */
	atomic_store_explicit(&p->g->resume, r, memory_order_relaxed);
	p->owned = false;
	if (!fev__lease_pass(p->g, lease, to))
		return; /* forged meanwhile: it is not ours either way */
	/* L3, relaxed: done; fevd may have chosen another already. */
	atomic_compare_exchange_strong_explicit(&p->g->next, &to, 0,
						memory_order_relaxed,
						memory_order_relaxed);
}

/* A member inherited across fork() is the parent's: hands off. */
static bool inherited(const fev_member *m)
{
	return m->fork_gen != fev__fork_generation();
}

static void set_beat(fev_member *m, memory_order mo)
{
	m->beat = ((m->beat + 1) & FEV__BEAT_COUNT) |
		  (m->revoked ? FEV__BEAT_REVOKED : 0);
	atomic_store_explicit(m->beat_w, m->beat, mo);
}

/* Entering a call: the beat goes odd before any lease is looked at. */
static void call_begin(fev_member *m)
{
	if (!m->session)
		return;
	/* L4: relaxed; ordered before the lease and revoke loads by F1,
	 * which pairs with fevd's F2 after its L5 (group_assign.h). */
	set_beat(m, memory_order_relaxed);
	fev__queue_fence(m->part[0].q); /* F1 */
}

/* Leaving it: even again, after every ring operation of the call. */
static void call_end(fev_member *m)
{
	if (m->session)
		/* L6: pairs with fevd's acquire load of the beat: our hold
		 * records are as this call left them. */
		set_beat(m, memory_order_release);
}

/* Is fevd revoking lease, ours (L5: relaxed, ordered by F1 above)? */
static bool revoking(const fev_member *m, const struct member_part *p,
		     uint64_t lease)
{
	return m->session &&
	       atomic_load_explicit(&p->g->revoke, memory_order_relaxed) ==
		       lease;
}

/*
 * p's lease names another member.  When fevd revoked it from us (revoke
 * names the lease we had), what we hold there is the new owner's (fevd
 * cleared its taken bits): our hold record just forgets it.  A lease moved
 * by anyone else (forged) leaves what we hold named, for repair.
 */
static void lost(fev_member *m, struct member_part *p)
{
	bool had = p->owned || p->revoke_seen;
	uint64_t lowest;

	p->owned = false;
	p->revoke_seen = false;
	/* Nothing held there: no load of revoke on the hot path. */
	if (!had || !revoking(m, p, fev__lease(p->gen, m->id)))
		return;
	m->revoked = true;
	fev__queue_forget_held(p->q, &lowest, false);
}

/* Look at every lease: gain, lose, hand over. */
static void look(fev_member *m)
{
	for (uint32_t k = 0; k < m->partitions; k++) {
		struct member_part *p = &m->part[k];
		uint64_t lease = fev__lease_load(p->g); /* L2 */
		uint32_t next;

		if (fev__lease_owner(lease) != m->id) {
			lost(m, p);
			continue;
		}
		if (revoking(m, p, lease)) {
			/* fevd is taking it: hands off, it may be reading
			 * our hold record. */
			m->revoked = true;
			p->owned = false;
			p->revoke_seen = true;
			continue;
		}
		if (m->revoked) {
			/* fevd gave up revoking this one (we moved): give it
			 * back ourselves, as fev_member_leave() does. */
			hand_over(p, lease, 0);
			continue;
		}
		if (!p->owned || p->gen != fev__lease_gen(lease))
			gained(m, p, lease);
		/* L3: relaxed, see group_assign.h. */
		next = atomic_load_explicit(&p->g->next, memory_order_relaxed);
		if (next != 0 && next != m->id)
			hand_over(p, lease, next);
	}
}

static void stamp(fev_event *ev, uint32_t k, const struct member_part *p)
{
	ev->priv_pad = (p->gen & EV_GEN_MASK) << EV_PART_BITS | k;
}

/* One event of partition k, without waiting: 1, 0 or -errno. */
static int take_from(fev_member *m, uint32_t k, fev_event *ev)
{
	struct member_part *p = &m->part[k];
	int rc;

	while (p->scan < p->scan_end) {
		rc = fev__queue_retake(p->q, p->scan++, ev);
		if (rc != 0)
			return rc;
	}
	rc = fev_acquire(p->q, ev, 0);
	if (rc == -EAGAIN)
		return 0;
	return rc < 0 ? rc : 1;
}

static int take_any(fev_member *m, fev_event *ev, uint32_t *partition)
{
	for (uint32_t i = 0; i < m->partitions; i++) {
		uint32_t k = (m->rotor + i) % m->partitions;
		int rc;

		if (!m->part[k].owned)
			continue;
		rc = take_from(m, k, ev);
		if (rc == 0)
			continue;
		if (rc < 0)
			return rc;
		m->rotor = k + 1;
		stamp(ev, k, &m->part[k]);
		if (partition != NULL)
			*partition = k;
		return 1;
	}
	return 0;
}

/* Wait up to ns, outside any call, for an owned partition to have an
 * event (fev_wait_any()), or sleep when we own none: 0 or -errno. */
static int wait_some(fev_member *m, int64_t ns)
{
	size_t n = 0;
	int rc;

	for (uint32_t k = 0; k < m->partitions && n < FEV_WAIT_ANY_MAX; k++)
		if (m->part[k].owned)
			m->waits[n++] = m->part[k].q;
	if (n == 0) {
		nanosleep(&(struct timespec){ .tv_nsec = ns }, NULL);
		return 0;
	}
	rc = fev_wait_any(m->waits, n, ns, m->ready);
	return rc == -ETIMEDOUT || rc > 0 ? 0 : rc;
}

int fev_member_acquire(fev_member *m, fev_event *ev, uint32_t *partition,
		       int64_t timeout_ns)
{
	uint64_t until = 0;

	if (m == NULL || ev == NULL ||
	    (timeout_ns < 0 && timeout_ns != FEV_FOREVER))
		return -EINVAL;
	if (inherited(m))
		return -ECHILD;
	if (timeout_ns > 0)
		until = fev__now_monotonic_ns() + (uint64_t)timeout_ns;
	for (;;) {
		int64_t ns = MEMBER_LOOK_NS;
		uint64_t now;
		int rc;

		call_begin(m);
		look(m);
		rc = m->revoked ? -EKEYREVOKED : take_any(m, ev, partition);
		call_end(m);
		if (rc != 0)
			return rc < 0 ? rc : 0;
		if (timeout_ns == 0)
			return -EAGAIN;
		if (timeout_ns > 0) {
			now = fev__now_monotonic_ns();
			if (now >= until)
				return -ETIMEDOUT;
			if (until - now < (uint64_t)ns)
				ns = (int64_t)(until - now);
		}
		rc = wait_some(m, ns);
		if (rc < 0)
			return rc;
	}
}

/*
 * May an event of p taken under generation gen (its low 24 bits) be
 * released?  Only p's lease (L2) and revoke (L5) are looked at: a release
 * acts on p alone, and what fevd asks of the other partitions waits for
 * the next acquire (half the lease loads of a take-and-release).
 */
static bool still_ours(const fev_member *m, const struct member_part *p,
		       uint32_t gen)
{
	uint64_t lease = fev__lease_load(p->g); /* L2 */

	return !m->revoked && p->owned && fev__lease_owner(lease) == m->id &&
	       fev__lease_gen(lease) == p->gen &&
	       (p->gen & EV_GEN_MASK) == gen && !revoking(m, p, lease);
}

int fev_member_release(fev_member *m, fev_event *ev)
{
	struct member_part *p;
	uint32_t k;
	int rc;

	if (m == NULL || ev == NULL)
		return -EINVAL;
	if (inherited(m))
		return -ECHILD;
	k = ev->priv_pad & ((1u << EV_PART_BITS) - 1);
	if (k >= m->partitions)
		return -EINVAL;
	p = &m->part[k];
	call_begin(m);
	if (still_ours(m, p, ev->priv_pad >> EV_PART_BITS)) {
		rc = fev_release(p->q, ev);
	} else {
		look(m);
		rc = -EKEYREVOKED;
	}
	call_end(m);
	return rc;
}

int fev_member_owned(fev_member *m, uint32_t *parts, size_t max)
{
	int n = 0;

	if (m == NULL || (parts == NULL && max > 0))
		return -EINVAL;
	if (inherited(m))
		return -ECHILD;
	call_begin(m);
	look(m);
	call_end(m);
	if (m->revoked)
		return -EKEYREVOKED;
	for (uint32_t k = 0; k < m->partitions; k++) {
		if (!m->part[k].owned)
			continue;
		if ((size_t)n < max)
			parts[n] = k;
		n++;
	}
	return n;
}

void fev_member_leave(fev_member *m)
{
	if (m == NULL)
		return;
	if (!inherited(m)) {
		call_begin(m);
		look(m);
		/* To nobody: fevd gives them to the others (an orphan, as
		 * if we had died, with nothing held to repair). */
		for (uint32_t k = 0; k < m->partitions; k++)
			if (m->part[k].owned)
				hand_over(&m->part[k],
					  fev__lease_load(m->part[k].g), 0);
		call_end(m);
	}
	close_parts(m);
	free(m->waits);
	free(m->ready);
	free(m);
}
