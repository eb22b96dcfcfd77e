/*
 * Session timeouts of ordered groups (assign_session.c): which members
 * made no call for the group's session_ms, and taking their partitions
 * from them while they are alive (libfabric-ev/src/group_assign.h has the
 * protocol and its synchronization, L4-L6).
 */
#ifndef FEVD_ASSIGN_SESSION_H
#define FEVD_ASSIGN_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "internal.h"

/* A member out of the assignment: stalled, or known revoked. */
struct fevd_stalled {
	uint32_t id;
	uint32_t index; /* its record in partition 0 */
	int32_t pid;
	uint64_t start_time;
	uint32_t beat; /* as last seen: unchanged for session_ms or more */
	/* fevd may revoke its partitions: stalled, outside any call. */
	bool revocable;
};

/*
 * Note member id's beat (record i of partition 0, q0) at now; true when
 * the member is out of the assignment for a group whose session timeout
 * is session_ms (0: none, never out), with *s filled in.
 */
bool fevd_session_out(struct fevd_queue *q0, uint32_t i, uint32_t id,
		      uint32_t session_ms, uint64_t now,
		      struct fevd_stalled *s);

/*
 * Take partition q's lease (group gi, as read: lease) from stalled member
 * s and give it to member want.  q0 is partition 0 (s's beat).  True when
 * the lease moved; false when s moved meanwhile or its records are not as
 * expected (the next tick looks again).
 */
bool fevd_session_revoke(struct fevd *d, struct fevd_queue *q0,
			 struct fevd_queue *q, uint32_t gi,
			 const struct fevd_stalled *s, uint64_t lease,
			 uint32_t want);

#endif /* FEVD_ASSIGN_SESSION_H */
