/*
 * What a monitor reads of one consumer group in one partition (fev stat,
 * fevd's metrics): its name, policy, cursor, lag and counters, read with
 * relaxed loads (a display: values of moments a little apart) and checked
 * like every value from shared memory, so a forged record gives numbers
 * within the ring's bounds or -EBADMSG, never a read outside the mapping.
 */
#ifndef FEV_GROUP_VIEW_H
#define FEV_GROUP_VIEW_H

#include <stdint.h>

#include "fev/fev.h"
#include "segment.h"

struct fev__group_view {
	uint32_t index;	   /* in the partition's group table */
	char name[FEV_GROUP_NAME_MAX + 1];
	uint32_t policy;   /* the record's policy word */
	uint64_t start;	   /* events below it were released unread */
	uint64_t cursor;   /* the next position its members take */
	/* Events committed that the group has not released: queued for it
	 * or held by a member (the group's depth, Kafka's lag). */
	uint64_t lag;
	uint64_t redo_waiting; /* held by dead members, to be taken again */
	uint64_t redelivered;
	uint64_t dropped; /* lost to the drop policy (group_drop.h) */
	/* Ordered: times fevd took the partition from a member that made
	 * no call for the session timeout (group_assign.h). */
	uint64_t revoked;
	uint32_t members;  /* consumer records of the group (dead ones too,
			    * until fevd repairs them) */
};

/*
 * Group gi of the partition m maps: 0, -ENOENT (no such group, or not
 * ACTIVE: being created or deleted), -EBADMSG (its name is not a group
 * name: a forged record).
 */
int fev__group_read(const struct fev__map *m, uint32_t gi,
		     struct fev__group_view *out);

#endif /* FEV_GROUP_VIEW_H */
