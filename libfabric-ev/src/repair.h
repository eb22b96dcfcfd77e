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

/*
 * Not dead by the rule: alive, or unchecked (never repaired).  A record
 * from another pid namespace is unchecked here (fev__process_life_quick):
 * cheap enough to ask of every record in every pass.
 */
bool fev__attacher_alive(const struct fev__attacher *a);

/*
 * Free a record whose owner died while filling it in (state ATTACHING | pid,
 * that pid gone).  True when it was freed.
 */
bool fev__attacher_free_abandoned(struct fev__attacher *a);

/*
 * Repair record idx of a writable mapping whose owner is dead: tombstone the
 * positions it reserved and never committed, deliver again (flagged
 * FEV_REDELIVERED) the events it acquired and never released, wake
 * sleepers, and free the record.  A position named by a live attacher's
 * hold record is left for a later pass.  0 when the record is freed, -EAGAIN
 * when something is pending (call again later), other -errno on error.
 * One record, its own pass: a caller repairing many uses the pass below.
 */
int fev__repair_attacher(struct fev__map *m, uint32_t idx,
			 struct fev__repair_result *res);

/* Positions [lo, hi). */
struct fev__repair_range {
	uint64_t lo, hi;
};

/*
 * One repair pass over a queue: the cursors and the hold records of every live
 * attacher are read once, then any number of dead records are repaired
 * against them, each position looked up in O(log live hold records).  So a pass
 * costs the records it reads plus the positions the dead held, never
 * records x records.  Decide who is dead before fev__repair_pass_begin()
 * (see there); a record that dies during the pass waits for the next one.
 */
struct fev__repair_pass {
	struct fev__map *m;
	uint64_t head, tail; /* read before the hold records (A0) */
	/* Per consumer group, also before the hold records: its cursor and
	 * the tail of its redo list (consumer_group.h). */
	uint64_t group_cursor[FEV_GROUPS_MAX], group_redo[FEV_GROUPS_MAX];
	struct fev__repair_range *live; /* sorted by lo, disjoint */
	uint32_t nlive;
	bool woke; /* sleepers woken since the last repair */
};

/* The caller's verdict on an ACTIVE record: is its owner dead? */
typedef bool fev__repair_dead_fn(void *arg, uint32_t idx,
				 const struct fev__attacher *a);

/*
 * Read the cursors, then the hold records of every ACTIVE record dead() calls
 * alive.  0, -EINVAL (read-only mapping) or -ENOMEM.  End it with
 * fev__repair_pass_end().
 */
int fev__repair_pass_begin(struct fev__repair_pass *p, struct fev__map *m,
			   fev__repair_dead_fn *dead, void *arg);
/* Repair record idx (dead, or REPAIRING) as fev__repair_attacher(). */
int fev__repair_pass_record(struct fev__repair_pass *p, uint32_t idx,
			    struct fev__repair_result *res);
/* Wake sleepers if anything was repaired; free the snapshot. */
void fev__repair_pass_end(struct fev__repair_pass *p);

#endif /* FEV_REPAIR_H */
