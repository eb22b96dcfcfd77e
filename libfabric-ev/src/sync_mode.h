/*
 * Sync modes of a queue (fev.h FEV_SYNC_*, DPDK's rte_ring SP/SC): the
 * rule for which combinations a segment may have, and the owner words of
 * the state line that keep each single side to one handle.
 *
 * O1  owner CAS 0 -> index + 1 at attach, acq_rel: acquires the stores of
 *     the side's previous owner or repairer (O2), so a new single producer
 *     (consumer) reads the cursor they left with a relaxed load.
 * O2  owner CAS index + 1 -> 0, release: fev_close() of the owner (after
 *     its last cursor store), or repair retiring the owner's record (after
 *     its repairs), always before the record is freed (R6'), so an owner
 *     word never names a record that another handle may take.
 */
#ifndef FEV_SYNC_MODE_H
#define FEV_SYNC_MODE_H

#include <stdbool.h>
#include <stdint.h>

#include "segment.h"

#define FEV__SYNC_ALL (FEV_SYNC_SP | FEV_SYNC_SC)

/*
 * May a segment have sync mode `sync` with this full-queue policy and
 * group table?  0; -EINVAL for unknown bits or a single consumer with
 * drop-oldest (the dropping producer takes from the consumer's cursor);
 * -ENOTSUP for a topic's partition (consumer groups read through cursors
 * of their own, and every group member is a consumer).
 */
int fev__sync_check(uint32_t sync, uint32_t policy, uint32_t groups_max);

/* "mpmc", "spsc", "spmc" or "mpsc": for fev stat and messages. */
const char *fev__sync_name(uint32_t sync);

/* Does the producer (consumer) side move its cursor with a plain store?
 * The producer only when both sides are single: with many consumers,
 * repair redelivers a dead consumer's events at head by CAS. */
static inline bool fev__sync_store_head(uint32_t sync)
{
	return (sync & FEV__SYNC_ALL) == FEV__SYNC_ALL;
}

static inline bool fev__sync_store_tail(uint32_t sync)
{
	return (sync & FEV_SYNC_SC) != 0;
}

/*
 * Take the single sides among `roles` for attacher record idx (ACTIVE,
 * ours).  0, or -EBUSY when another record owns one (nothing taken then;
 * *owner_pid says whose, 0 if it cannot be read).
 */
int fev__sync_claim(struct fev__map *m, uint32_t idx, unsigned roles,
		    int32_t *owner_pid);

/* Give back every side record idx owns (O2).  Before its R6'. */
void fev__sync_give_back(struct fev__map *m, uint32_t idx);

#endif /* FEV_SYNC_MODE_H */
