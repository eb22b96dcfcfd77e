/*
 * What the rest of libfev may see of a queue handle (client.c): topics
 * (topic.c) check that each partition they open belongs to them; members
 * of ordered groups (member.c) take and hand over through these.
 */
#ifndef FEV_CLIENT_H
#define FEV_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "fev/fev.h"
#include "segment.h"

/* The validated mapping of q's segment. */
const struct fev__map *fev__queue_map(const fev_queue *q);

/*
 * What waiting on many handles (wait_many.c) and fev_fd() (pollfd.c) use:
 * whether a consumer's next acquire may succeed (or the queue is gone),
 * reading only the segment and what the handle fixed at open, so that
 * another thread may ask while the owner uses the handle.
 */
bool fev__queue_ready(const fev_queue *q);
/* 0 when q is a consumer handle of this process; -EINVAL, -ECHILD,
 * -EPERM, -ESTALE otherwise. */
int fev__queue_check_consumer(const fev_queue *q);
uint32_t fev__queue_spin_ns(const fev_queue *q);
/* What the handle's next spin may last (adaptive spinning, client.c). */
uint32_t fev__queue_spin_budget(const fev_queue *q);
/* Where the handle keeps fev_fd()'s state (pollfd.h). */
struct fev__pollfd **fev__queue_pollfd(fev_queue *q);
/* fev_open of a partition of an ordered group, as its member (member.c):
 * a consumer of opts->group, which must be ordered (-EPERM if not). */
int fev__open_member(const char *partition, const fev_open_opts *opts,
		     fev_queue **out);
/* The member id (group_assign.h) of a handle on partition 0. */
uint32_t fev__queue_member_id(const fev_queue *q);
/* The record of the group a member handle reads. */
struct fev__group *fev__queue_group(const fev_queue *q);
/*
 * An ordered group's new owner takes pos back if its group still owes it
 * (the previous owner held it, or never got to it): 1 and the event,
 * flagged FEV_REDELIVERED; 0 when it is not owed (or skipped); -EBADMSG.
 */
int fev__queue_retake(fev_queue *q, uint64_t pos, fev_event *ev);
/* A member handing its partition over forgets what it holds there: the
 * hold record no longer names it (R3).  False when it held nothing; else
 * *lowest is the lowest position it held.  clear_taken: clear the group's
 * taken bits of those positions too, so that the next owner can take them
 * back (a handover); not when fevd revoked the partition, whose next owner
 * may have taken them back already (fevd cleared them first). */
bool fev__queue_forget_held(fev_queue *q, uint64_t *lowest,
			    bool clear_taken);
/* A member's words in the handle's attacher record (group_assign.h). */
_Atomic uint32_t *fev__queue_member_word(fev_queue *q, bool beat);
/* Fence F1 as the handle issues it (wait.h): a compiler barrier when the
 * process registered for membarrier, else a full fence. */
void fev__queue_fence(const fev_queue *q);

#endif /* FEV_CLIENT_H */
