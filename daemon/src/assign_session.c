/*
 * Session timeouts of ordered groups, after Kafka's session.timeout.ms and
 * max.poll.interval.ms: a member that makes no call for the group's
 * session_ms loses its partitions to the live members, while it is still
 * alive (stopped, hung, or just not calling).
 *
 * A live member's memory is never repaired as if it were dead: fevd
 * writes none of its records.  It takes the lease (L1) only once the
 * member is known to be outside every call and to stay out of the
 * partition (the L4/L5 Dekker pair, group_assign.h), reads the member's
 * hold record to find the lowest position it may still owe (resume), and
 * clears the group's taken bits of what it holds, so that the new owner
 * re-takes those events, flagged FEV_REDELIVERED, before anything newer.
 * The member, at its next call, sees the lease gone, forgets what it held
 * and answers -EKEYREVOKED until it leaves; its releases are fenced by the
 * generation.
 *
 * What fevd remembers between ticks (each record's beat and since when,
 * struct fevd_att_track) is lost at a restart: then a stalled member is
 * seen as stalled only a session timeout after the restart.
 */
#include <stdatomic.h>

#include "assign_session.h"
#include "consumer_group.h"
#include "group_assign.h"
#include "log.h"
#include "wait.h"

#define NS_PER_MS (1000ull * 1000)

bool fevd_session_out(struct fevd_queue *q0, uint32_t i, uint32_t id,
		      uint32_t session_ms, uint64_t now,
		      struct fevd_stalled *s)
{
	const struct fev__attacher *a = &q0->map.attachers[i];
	struct fevd_att_track *t = &q0->track[i];
	/* L6: pairs with the member's release store leaving a call. */
	uint32_t beat = atomic_load_explicit(
		&((struct fev__attacher *)a)->prod.member,
		memory_order_acquire);
	bool stalled;

	if (session_ms == 0)
		return false;
	if (t->beat_id != id || t->beat != beat) {
		if (t->beat_id != id)
			t->beat_revoked = false;
		t->beat_id = id;
		t->beat = beat;
		t->beat_since_ns = now;
	}
	stalled = now - t->beat_since_ns > session_ms * NS_PER_MS;
	if (!stalled && !t->beat_revoked && !(beat & FEV__BEAT_REVOKED))
		return false;
	s->id = id;
	s->index = i;
	s->pid = a->pid;
	s->start_time = a->start_time;
	s->beat = beat;
	s->revocable = stalled && !fev__beat_in_call(beat);
	return true;
}

/* s's record of group gi in partition q: the consumer record that names
 * it (its member word), or NULL. */
static const struct fev__attacher *record_of(const struct fevd_queue *q,
					     uint32_t gi,
					     const struct fevd_stalled *s)
{
	for (uint32_t i = 0; i < q->map.geo.attacher_max; i++) {
		const struct fev__attacher *a = &q->map.attachers[i];

		/* A6: pairs with R6: the record is filled in; the member
		 * word (relaxed) was stored at join, long before. */
		if (atomic_load_explicit(&a->state, memory_order_acquire) ==
			    FEV__ATT_ACTIVE &&
		    a->group == gi + 1 && a->pid == s->pid &&
		    a->start_time == s->start_time &&
		    atomic_load_explicit(
			    &((struct fev__attacher *)a)->cons.member,
			    memory_order_relaxed) == s->id)
			return a;
	}
	return NULL;
}

/*
 * The lowest position s may still owe in q (resume for the next owner):
 * the last resume (s may not have finished taking back from there), what
 * its hold record names, the cursor; the group's taken bits of what it
 * holds are cleared so that the next owner can take them back.
 */
static uint64_t resume_after(const struct fevd_queue *q, uint32_t gi,
			     const struct fev__attacher *rec)
{
	const struct fev__map *m = &q->map;
	struct fev__group *g = &m->groups[gi];
	uint32_t cap = m->geo.capacity;
	/* Relaxed: nobody moves them while the lease is s's and s is out
	 * of every call (L6 ordered its last stores before our load). */
	uint64_t cursor = atomic_load_explicit(&g->cursor.pos,
					       memory_order_relaxed);
	uint64_t r = fev__resume_clamp(atomic_load_explicit(
					       &g->resume, memory_order_relaxed),
				       cursor, cap);
	uint64_t pos = atomic_load_explicit(
		&((struct fev__attacher *)rec)->cons.pos, memory_order_relaxed);
	uint32_t n = atomic_load_explicit(
		&((struct fev__attacher *)rec)->cons.n, memory_order_relaxed);
	uint64_t lo = fev__resume_clamp(pos, cursor, cap);

	if (n == 0)
		return r;
	/* Untrusted: walk only the lap below the cursor. */
	for (uint64_t x = lo; x < cursor && x - pos < n; x++)
		if (fev__grp_owed(m, gi, x))
			/* Relaxed: published by L1, with resume. */
			fev__grp_clear_taken(m, gi, x);
	return lo < r ? lo : r;
}

bool fevd_session_revoke(struct fevd *d, struct fevd_queue *q0,
			 struct fevd_queue *q, uint32_t gi,
			 const struct fevd_stalled *s, uint64_t lease,
			 uint32_t want)
{
	struct fev__group *g = &q->map.groups[gi];
	const struct fev__attacher *rec = record_of(q, gi, s);
	_Atomic uint32_t *beat = &q0->map.attachers[s->index].prod.member;

	(void)d;
	if (rec == NULL)
		return false;
	/* L5: relaxed, ordered before the beat's load by F2. */
	atomic_store_explicit(&g->revoke, lease, memory_order_relaxed);
	/* F2: pairs with F1 in the member entering a call.  Refused
	 * (seccomp), a plain fence would not pair with members that
	 * registered: leave the lease alone. */
	if (fev__wait_f2(true) ||
	    /* L6: pairs with the member's release store leaving a call. */
	    atomic_load_explicit(beat, memory_order_acquire) != s->beat) {
		atomic_store_explicit(&g->revoke, 0, memory_order_relaxed);
		return false;
	}
	/* Relaxed: published by L1. */
	atomic_store_explicit(&g->resume, resume_after(q, gi, rec),
			      memory_order_relaxed);
	atomic_store_explicit(&g->next, 0, memory_order_relaxed); /* L3 */
	if (!fev__lease_pass(g, lease, want)) /* L1 */
		return false; /* forged meanwhile: the next tick looks again */
	/* Relaxed: a counter, written by fevd alone. */
	atomic_fetch_add_explicit(&g->revoked, 1, memory_order_relaxed);
	q0->track[s->index].beat_revoked = true;
	fevd_notice("partition %s: revoked from pid %d, which made no call "
		    "for the session timeout (%u ms); generation %u",
		    q->name, s->pid, g->session_ms, fev__lease_gen(lease) + 1);
	return true;
}
