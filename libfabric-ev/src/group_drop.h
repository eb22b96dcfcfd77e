/*
 * The `drop` slow-group policy (issue 11): a group that would make
 * producers wait loses its oldest event instead.
 *
 * A producer whose next position's slot still holds the event of the
 * previous lap (pos = head - capacity, committed, not yet released by every
 * group) looks at who owes it (the clear bits of the slot's done word).
 * When each of them is an ACTIVE group of policy FEV_GROUP_DROP, the
 * producer takes pos for every such group that no member has taken it
 * from, exactly as a member would: it names pos in its consumer hold
 * record, moves the group's cursor from pos to pos + 1 by CAS (R0; a
 * member's take of pos is the same CAS, so one of them wins), counts the
 * loss in the group's `dropped`, and releases pos for the group (B3; the
 * last release frees the slot, R2).  A member that took pos keeps it: the
 * producer waits for that group as under `block`.  A position on the
 * group's redo list (a dead member's) is taken as a member's pop takes it,
 * by the group's bit in `taken`.  The group's next
 * delivered event carries FEV_GAP (B8).
 *
 * Only a handle that is a producer alone drops: its attacher record's
 * `group` (unused by producers) names the group it is dropping for, so
 * that repair finishes the drop of a dropper that dies between its take
 * and its release (fev__grp_drop_finish()): nothing is released twice (the
 * release is the B3 CAS of the lap), nothing a block group owes is ever
 * released (their bits are never touched), and a drop group is never left
 * owing a position no one holds.
 *
 * Counted before the release: a dropper that dies between the two leaves
 * repair to release and count again, so `dropped` may say one more than
 * was lost, never less.
 *
 * Synchronization (doc/design.md):
 *   R0   the dropper's cursor CAS, seq_cst, as a member's take
 *   B3   the release for the group, acq_rel, as a member's release
 *   B8   dropped / gap_seen: relaxed counters; they hand nothing over
 */
#ifndef FEV_GROUP_DROP_H
#define FEV_GROUP_DROP_H

#include <stdbool.h>
#include <stdint.h>

#include "holder.h"
#include "segment.h"

/*
 * The groups that may lose pos now: a mask of ACTIVE drop groups that owe
 * the committed event at pos and whose cursor has not passed it; 0 when a
 * group of another policy (or a state or index that cannot be true) still
 * owes it, when members hold it, or when pos is not committed.
 */
uint32_t fev__grp_droppable(const struct fev__map *m, uint64_t pos);

/*
 * Drop pos for the groups in mask, as above, through holder h and attacher
 * record a (the dropper's).  Returns for how many groups it was dropped;
 * *freed is set when the slot was freed.
 */
uint32_t fev__grp_drop(const struct fev__map *m, uint64_t pos, uint32_t mask,
		       struct fev__holder *h, struct fev__attacher *a,
		       bool *freed);

/*
 * Repair: a dead dropper for group gi held pos.  Releases it for gi (and
 * counts it) if gi still owes it: 1, else 0.
 */
int fev__grp_drop_finish(const struct fev__map *m, uint32_t gi, uint64_t pos);

/*
 * A member about to deliver: has its group lost events since the last
 * FEV_GAP?  True for one delivery per change of `dropped`.
 */
bool fev__grp_gap(struct fev__group *g);

#endif /* FEV_GROUP_DROP_H */
