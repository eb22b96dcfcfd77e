/*
 * Repair of what a dead process left in a queue (see repair.c for the
 * design).  Used by fevd; tests drive it directly.
 */
#ifndef FEV_REPAIR_H
#define FEV_REPAIR_H

#include <stdbool.h>
#include <stdint.h>

#include "segment.h"

struct fev__repair_result {
	uint32_t tombstoned;  /* positions a dead producer never committed */
	uint32_t redelivered; /* events a dead consumer never released */
	uint32_t pending;     /* positions that must wait for a later pass */
};

/*
 * The liveness rule of proc.h applied to the owner of record a; *local_pid
 * (may be NULL) gets its pid as we see it, or 0.  Records not ACTIVE (free,
 * or REPAIRING: closed while holding positions) are dead.
 */
enum fev__life fev__attacher_life(const struct fev__attacher *a,
				  int32_t *local_pid);

/* Not dead by fev__attacher_life(): alive, or unchecked (never repaired). */
bool fev__attacher_alive(const struct fev__attacher *a);

/*
 * Free a record whose owner died while filling it in (state CLAIMING | pid,
 * that pid gone).  True when it was freed.
 */
bool fev__attacher_reclaim_abandoned(struct fev__attacher *a);

/*
 * Repair record idx of a writable mapping whose owner is dead: tombstone the
 * positions it reserved and never committed, deliver again (flagged
 * FEV_REDELIVERED) the events it acquired and never released, wake
 * sleepers, and free the record.  A position named by a live attacher's
 * claim is left for a later pass.  0 when the record is freed, -EAGAIN
 * when something is pending (call again later), other -errno on error.
 */
int fev__repair_attacher(struct fev__map *m, uint32_t idx,
			 struct fev__repair_result *res);

#endif /* FEV_REPAIR_H */
