/*
 * fevd's assignor for ordered consumer groups: which member owns which
 * partition (libfabric-ev/src/group_assign.h has the lease rules).
 *
 * Cooperative and sticky, after Kafka's CooperativeStickyAssignor and
 * KIP-429: after every liveness scan (so the dead are repaired first),
 * for each ordered group of a topic in use, fevd computes a balanced
 * assignment that keeps every partition where it is as long as its owner
 * is under its share (P / members, the remainder going to those that own
 * most already), and then only moves what must move:
 *
 *   - a partition of a live member that must move gets `next` = its new
 *     member; the owner hands it over itself at its next call (L1), so
 *     a partition that stays is never touched and never pauses;
 *   - a partition whose owner is no member (left, or dead and repaired)
 *     is given at once, generation + 1, but only when no record of the
 *     group in that partition's segment belongs to a process that is not
 *     a member (a dead one not yet repaired, one still leaving): what it
 *     held is on the group's redelivery list first.
 *
 * Members are the consumer records of the group in partition 0's
 * attacher table (an ordered group has no other consumers: fev_open()
 * refuses them); liveness is fevd's own scan, so a stopped member is a
 * member and keeps its partitions, until it has made no call for the
 * group's session timeout (assign_session.c): then it is no member, and
 * each partition it owns is revoked (taken from it, alive) and given as an
 * orphan's would be.  Nothing here is remembered between ticks but the
 * members' beats: a restarted fevd goes on from the segments.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "assign_session.h"
#include "clock.h"
#include "consumer_group.h"
#include "group_assign.h"
#include "internal.h"
#include "log.h"
#include "names.h"

struct member {
	uint32_t id;
	int32_t pid;
	uint64_t start_time;
	uint32_t quota, kept;
	uint32_t owned; /* partitions whose lease names it now */
};

struct part {
	struct fevd_queue *q;
	struct fev__group *g;
	uint32_t gi;
	uint64_t lease;
	int owner;   /* index in the member list, -1: none */
	int desired; /* index in the member list */
	int stalled; /* owner's index in the stalled list, -1: none */
};

struct fevd_assign_plan {
	struct member members[FEV__ATTACHERS_MAX];
	uint32_t n;
	/* Members out for the session timeout (assign_session.h). */
	struct fevd_stalled stalled[FEV__ATTACHERS_MAX];
	uint32_t nstalled;
	struct part parts[FEV_PARTITIONS_MAX];
	uint32_t partitions;
};

static int member_find(const struct fevd_assign_plan *pl, uint32_t id)
{
	for (uint32_t j = 0; j < pl->n; j++)
		if (pl->members[j].id == id)
			return (int)j;
	return -1;
}

static bool is_member_process(const struct fevd_assign_plan *pl, int32_t pid,
			      uint64_t start_time)
{
	for (uint32_t j = 0; j < pl->n; j++)
		if (pl->members[j].pid == pid &&
		    pl->members[j].start_time == start_time)
			return true;
	return false;
}

static int stalled_find(const struct fevd_assign_plan *pl, uint32_t id)
{
	for (uint32_t j = 0; j < pl->nstalled; j++)
		if (pl->stalled[j].id == id)
			return (int)j;
	return -1;
}

/* The group's members: its consumer records in partition 0, but those
 * out for the session timeout. */
static void find_members(struct fevd_assign_plan *pl, struct fevd_queue *q0,
			 uint32_t gi)
{
	const struct fev__map *p0 = &q0->map;
	/* Set at create, never changed: published by B6 (B7 in the
	 * caller). */
	uint32_t session_ms = p0->groups[gi].session_ms;
	uint64_t now = fev__now_monotonic_ns();

	pl->n = 0;
	pl->nstalled = 0;
	for (uint32_t i = 0; i < p0->geo.attacher_max; i++) {
		const struct fev__attacher *a = &p0->attachers[i];
		struct member *mb;

		/* A6: pairs with R6: group, pid, attach time filled in. */
		if (atomic_load_explicit(&a->state, memory_order_acquire) !=
			    FEV__ATT_ACTIVE ||
		    a->group != gi + 1 || !(a->roles & FEV_CONSUMER))
			continue;
		if (fevd_session_out(q0, i, fev__member_id(i, a->attach_ns),
				     session_ms, now,
				     &pl->stalled[pl->nstalled])) {
			pl->nstalled++;
			continue;
		}
		mb = &pl->members[pl->n++];
		memset(mb, 0, sizeof(*mb));
		mb->id = fev__member_id(i, a->attach_ns);
		mb->pid = a->pid;
		mb->start_time = a->start_time;
	}
}

/* Partition k's segment and group record; false when it is not served. */
static bool find_part(struct fevd *d, const char *topic, const char *group,
		      uint32_t k, struct part *p)
{
	char seg[FEV__SEG_NAME_MAX + 1];
	int gi;

	if (fev__partition_name(seg, sizeof(seg), topic, k) < 0)
		return false;
	p->q = fevd_registry_find(&d->reg, seg);
	if (p->q == NULL || p->q->map.groups == NULL)
		return false;
	gi = fev__group_find(&p->q->map, group);
	if (gi < 0 || p->q->map.groups[gi].mode != FEV_GROUP_ORDERED)
		return false;
	p->gi = (uint32_t)gi;
	p->g = &p->q->map.groups[gi];
	return true;
}

/* The shares: P / n each, one more for the first P % n of those that
 * own most now (so the remainder moves nothing it need not). */
static void set_quotas(struct fevd_assign_plan *pl)
{
	uint32_t base = pl->partitions / pl->n, extra = pl->partitions % pl->n;

	for (uint32_t j = 0; j < pl->n; j++)
		pl->members[j].quota = base;
	while (extra-- > 0) {
		int best = -1;

		for (uint32_t j = 0; j < pl->n; j++)
			if (pl->members[j].quota == base &&
			    (best < 0 || pl->members[j].owned >
						 pl->members[best].owned))
				best = (int)j;
		pl->members[best].quota++;
	}
}

static uint32_t room(const struct member *mb)
{
	return mb->quota - mb->kept;
}

static int most_room(const struct fevd_assign_plan *pl)
{
	int best = -1;

	for (uint32_t j = 0; j < pl->n; j++)
		if (room(&pl->members[j]) > 0 &&
		    (best < 0 ||
		     room(&pl->members[j]) > room(&pl->members[best])))
			best = (int)j;
	return best;
}

/* Keep what stays (sticky), then fill from those with room: the one that
 * is being handed the partition already, else the one with most room. */
static void plan_assignment(struct fevd_assign_plan *pl)
{
	for (uint32_t k = 0; k < pl->partitions; k++) {
		struct part *p = &pl->parts[k];
		struct member *o = p->owner >= 0 ? &pl->members[p->owner] :
						   NULL;

		p->desired = -1;
		if (o != NULL && o->kept < o->quota) {
			p->desired = p->owner;
			o->kept++;
		}
	}
	for (uint32_t k = 0; k < pl->partitions; k++) {
		struct part *p = &pl->parts[k];
		/* L3: relaxed, fevd's own earlier choice. */
		int next = member_find(pl, atomic_load_explicit(
						   &p->g->next,
						   memory_order_relaxed));
		int best = -1;

		if (p->desired >= 0)
			continue;
		if (next >= 0 && room(&pl->members[next]) > 0)
			best = next; /* already on its way there */
		else
			best = most_room(pl);
		if (best < 0)
			continue; /* cannot be: the quotas add up to P */
		p->desired = best;
		pl->members[best].kept++;
	}
}

/*
 * May an orphan partition be given now?  Only when every record of the
 * group in its segment is a member's: a dead owner's record not yet
 * repaired still names what it held (repair puts it on the redelivery
 * list first), a leaving one's may still be taking.
 */
static bool orphan_free(const struct fevd_assign_plan *pl, const struct part *p)
{
	/* A stalled owner's own records are its, and alive. */
	const struct fevd_stalled *s = p->stalled >= 0 ?
					       &pl->stalled[p->stalled] :
					       NULL;
	const struct fev__map *m = &p->q->map;

	for (uint32_t i = 0; i < m->geo.attacher_max; i++) {
		const struct fev__attacher *a = &m->attachers[i];
		/* A6: pairs with R6 (and R6' of close and repair). */
		uint32_t st = atomic_load_explicit(&a->state,
						   memory_order_acquire);

		if (st == FEV__ATT_FREE)
			continue;
		if (st & FEV__ATT_ATTACHING)
			return false; /* its group is not known yet */
		if (a->group != p->gi + 1)
			continue;
		if (st != FEV__ATT_ACTIVE)
			return false;
		if (!is_member_process(pl, a->pid, a->start_time) &&
		    (s == NULL || a->pid != s->pid ||
		     a->start_time != s->start_time))
			return false;
	}
	return true;
}

static void act(struct fevd *d, struct fevd_queue *q0,
		const struct fevd_assign_plan *pl, struct part *p)
{
	uint32_t want;

	if (p->desired < 0)
		return;
	want = pl->members[p->desired].id;

	if (p->owner >= 0) {
		uint32_t next = p->desired == p->owner ? 0 : want;

		/* L3: relaxed; the owner's lease CAS decides. */
		if (atomic_load_explicit(&p->g->next, memory_order_relaxed) !=
		    next) {
			atomic_store_explicit(&p->g->next, next,
					      memory_order_relaxed);
			d->assign_moves += next != 0;
			if (next != 0)
				fevd_debug("partition %s: to hand over to "
					   "pid %d",
					   p->q->name,
					   pl->members[p->desired].pid);
		}
		return;
	}
	if (!orphan_free(pl, p))
		return;
	if (p->stalled >= 0) {
		const struct fevd_stalled *s = &pl->stalled[p->stalled];

		if (s->revocable &&
		    fevd_session_revoke(d, q0, p->q, p->gi, s, p->lease, want))
			d->assign_gives++;
		return; /* in a call, or it knows: it hands over itself */
	}
	atomic_store_explicit(&p->g->next, 0, memory_order_relaxed);
	/* L1: the given lease; the new owner's L2 reads resume (left by
	 * the last owner) after it. */
	if (fev__lease_pass(p->g, p->lease, want)) {
		d->assign_gives++;
		fevd_debug("partition %s: given to pid %d (generation %u)",
			   p->q->name, pl->members[p->desired].pid,
			   fev__lease_gen(p->lease) + 1);
	}
}

static void assign_group(struct fevd *d, struct fevd_queue *q0,
			 const char *group, uint32_t gi)
{
	struct fevd_assign_plan *pl = d->assign_plan;
	const char *topic = q0->map.seg->hdr.name;
	char name[sizeof(q0->map.seg->hdr.name)];

	/* The header is immutable after creation but not ours: bounded. */
	memcpy(name, topic, sizeof(name));
	name[sizeof(name) - 1] = '\0';
	pl->partitions = q0->map.geo.partitions;
	find_members(pl, q0, gi);
	if (pl->n == 0)
		return; /* leases stay as they are until someone joins */
	for (uint32_t k = 0; k < pl->partitions; k++) {
		struct part *p = &pl->parts[k];
		int o;

		if (!find_part(d, name, group, k, p))
			return; /* a partition not served (yet) */
		p->lease = fev__lease_load(p->g);
		o = member_find(pl, fev__lease_owner(p->lease));
		p->owner = o;
		p->stalled = o < 0 ? stalled_find(pl, fev__lease_owner(p->lease)) :
				     -1;
		if (o >= 0)
			pl->members[o].owned++;
	}
	set_quotas(pl);
	plan_assignment(pl);

	for (uint32_t k = 0; k < pl->partitions; k++)
		act(d, q0, pl, &pl->parts[k]);
}

/* Every ordered group of topic partition 0 q0 serves. */
static void assign_topic(struct fevd *d, struct fevd_queue *q0)
{
	for (uint32_t gi = 0; gi < q0->map.geo.groups_max; gi++) {
		struct fev__group *g = &q0->map.groups[gi];
		char group[FEV_GROUP_NAME_MAX + 1];

		/* B7: pairs with B6: the record is filled in. */
		if (atomic_load_explicit(&g->state, memory_order_acquire) !=
			    FEV__GROUP_ACTIVE ||
		    g->mode != FEV_GROUP_ORDERED)
			continue;
		memcpy(group, g->name, sizeof(group));
		group[FEV_GROUP_NAME_MAX] = '\0';
		if (fev_group_name_valid(group) == 0)
			assign_group(d, q0, group, gi);
	}
}

void fevd_assign(struct fevd *d)
{
	struct fevd_queue *q;

	if (d->assign_plan == NULL) {
		d->assign_plan = malloc(sizeof(*d->assign_plan));
		if (d->assign_plan == NULL)
			return; /* the next tick tries again */
	}

	cds_list_for_each_entry(q, &d->active, active)
		if (q->map.groups != NULL && q->map.geo.partition == 0)
			assign_topic(d, q);
}

void fevd_assign_close(struct fevd *d)
{
	free(d->assign_plan);
	d->assign_plan = NULL;
}
