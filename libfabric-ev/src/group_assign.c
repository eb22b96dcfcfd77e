/*
 * Reading an ordered group's ownership for tools (fev stat, fev group
 * list): its mode, and who owns each partition under which generation.
 * The rules are in group_assign.h; fevd's assignor is daemon/src/assign.c.
 */
#include <errno.h>

#include "consumer_group.h"
#include "group_assign.h"
#include "names.h"
#include "segment.h"

/* The pid of the member called id in partition 0's table, 0 if none is
 * (it left, or the id is forged). */
static pid_t member_pid(const struct fev__map *p0, uint32_t id)
{
	int64_t i = fev__member_index(id, p0->geo.attacher_max);
	const struct fev__attacher *a;

	if (i < 0)
		return 0;
	a = &p0->attachers[i];
	/* A6: pairs with R6: pid and attach time are filled in. */
	if (atomic_load_explicit(&a->state, memory_order_acquire) !=
		    FEV__ATT_ACTIVE ||
	    !fev__member_is(a, (uint32_t)i, id))
		return 0;
	return a->pid;
}

/* Partition k's owner, read from its own segment. */
static int owner_of(const char *instance, const char *topic,
		    const char *group, const struct fev__map *p0, uint32_t k,
		    fev_partition_owner *o)
{
	char seg[FEV__SEG_NAME_MAX + 1];
	struct fev__map m;
	const struct fev__group *g;
	uint64_t lease;
	int gi, rc = fev__partition_name(seg, sizeof(seg), topic, k);

	if (rc < 0 || (rc = fev__map_open(instance, seg, false, &m)) < 0)
		return rc;
	if (!fev__partition_ours(&m, topic, p0->geo.partitions, k) ||
	    m.groups == NULL) {
		fev__map_close(&m);
		return -EBADMSG;
	}
	gi = fev__group_find(&m, group);
	if (gi < 0 || m.groups[gi].mode != FEV_GROUP_ORDERED) {
		fev__map_close(&m);
		return gi < 0 ? gi : -EINVAL;
	}
	g = &m.groups[gi];
	lease = fev__lease_load(g);
	o->partition = k;
	o->generation = fev__lease_gen(lease);
	o->pid = member_pid(p0, fev__lease_owner(lease));
	/* L3: relaxed, a report. */
	o->next_pid = member_pid(p0, atomic_load_explicit(
					     &((struct fev__group *)g)->next,
					     memory_order_relaxed));
	fev__map_close(&m);
	return 0;
}

int fev_group_owners(const char *topic, const char *group,
		     const char *instance, fev_partition_owner *out,
		     size_t max)
{
	struct fev__map p0;
	uint32_t partitions;
	int rc;

	if (fev_queue_name_valid(topic) < 0 ||
	    fev_group_name_valid(group) < 0 || (out == NULL && max > 0))
		return -EINVAL;
	rc = fev__map_open(instance, topic, false, &p0);
	if (rc < 0)
		return rc;
	partitions = p0.geo.partitions;
	for (uint32_t k = 0; k < partitions && k < max && rc == 0; k++)
		rc = owner_of(instance, topic, group, &p0, k, &out[k]);
	if (rc == 0 && max == 0) {
		fev_partition_owner unused;

		rc = owner_of(instance, topic, group, &p0, 0, &unused);
	}
	fev__map_close(&p0);
	return rc < 0 ? rc : (int)partitions;
}

int fev_group_mode(const char *topic, const char *group,
		   const char *instance)
{
	struct fev__map m;
	uint32_t mode;
	int gi, rc;

	if (fev_queue_name_valid(topic) < 0 || fev_group_name_valid(group) < 0)
		return -EINVAL;
	rc = fev__map_open(instance, topic, false, &m);
	if (rc < 0)
		return rc;
	gi = m.groups != NULL ? fev__group_find(&m, group) : -ENOENT;
	mode = gi >= 0 ? m.groups[gi].mode : 0;
	fev__map_close(&m);
	if (gi < 0)
		return gi;
	return mode == FEV_GROUP_SHARED || mode == FEV_GROUP_ORDERED ?
		       (int)mode :
		       -EBADMSG;
}
