/*
 * Segments: creating, mapping and validating queue segments (their names
 * are names.h's).
 * Internal to fev, but linked by fevd and the tools (through the static
 * library), which read segments directly.
 */
#ifndef FEV_SEGMENT_H
#define FEV_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fev/fev.h"
#include "layout.h"
#include "names.h"
#include "proc.h"
#include "ring.h"

struct fev__map {
	struct fev__segment *seg;
	size_t len;
	bool writable;
	struct fev__geometry geo;
	struct fev__ring ring;
	struct fev__attacher *attachers;
	/* Consumer groups (NULL in a queue) and the slots' group words. */
	struct fev__group *groups;
	struct fev__slot_grp *slot_grps;
	uint32_t lap_shift; /* log2(capacity): pos >> lap_shift is the lap */
	char shm_name[FEV__SHM_NAME_MAX];
	/* The file mapped (fstat at map time): its name may be re-used. */
	dev_t dev;
	ino_t ino;
	uid_t owner;
};

/*
 * Check a mapped segment of len bytes before trusting anything in it; fills
 * g from the header.  -EBADMSG (corrupt, truncated), -EPROTO (other ABI
 * major), -EAGAIN (still being created: magic not yet stored).  Touches
 * only [base, base + len).
 */
int fev__segment_validate(const void *base, size_t len,
			  struct fev__geometry *g);

/*
 * Open (fev__shm_open_trusted: -EUCLEAN for a file fev does not trust),
 * map and validate; writable maps read-write.
 */
int fev__map_open(const char *instance, const char *queue, bool writable,
		  struct fev__map *m);
/*
 * Map the segment open on fd (named queue of instance), waiting on this
 * descriptor while its creator finishes it: whoever holds a lock on fd maps
 * exactly the file it locked, even if the name is re-created meanwhile.
 */
int fev__map_fd(int fd, const char *instance, const char *queue,
		bool writable, struct fev__map *m);
void fev__map_close(struct fev__map *m);

/* Build the ring and attacher views of an already validated mapping. */
void fev__map_views(struct fev__map *m);

/*
 * Moving a record's counters into the retired totals is bracketed by these,
 * so fev__map_stats() never sums them twice (a seqlock for many writers).
 */
static inline void fev__stats_retire_begin(struct fev__state_line *f)
{
	/* R7: pairs with A7 in fev__map_stats(): readers see us at work. */
	atomic_fetch_add_explicit(&f->stats_seq, FEV__STATS_RETIRING,
				  memory_order_seq_cst);
}

static inline void fev__stats_retire_end(struct fev__state_line *f)
{
	/* R8: pairs with A8 in fev__map_stats(): one more retirement done. */
	atomic_fetch_add_explicit(&f->stats_seq,
				  FEV__STATS_RETIRED - FEV__STATS_RETIRING,
				  memory_order_seq_cst);
}

/*
 * Fold record a's counters into the retired totals and zero them, so that
 * nobody folds them twice.  Call between the R7/R8 brackets above.
 */
void fev__attacher_retire_counters(struct fev__state_line *f,
				   struct fev__attacher *a);

/* Sum counters of every attacher and the retired totals. */
void fev__map_stats(const struct fev__map *m, fev_stats *out);
/*
 * The same, retrying while a retirement is under way until give_up_ns
 * (CLOCK_MONOTONIC): 0 for a steady sum, -EBUSY for a best-effort one (a
 * stats_seq stuck by a retirer that died, or one still moving).  A caller
 * that reads many queues gives them one budget between them.
 */
int fev__map_stats_by(const struct fev__map *m, fev_stats *out,
		      uint64_t give_up_ns);

/* How long a missing partition is waited for: its creator renames the
 * partitions into place just after partition 0. */
#define FEV__PARTITIONS_WAIT_NS (1000 * 1000 * 1000)

/* Does m say it is partition k of the topic's `partitions`? */
bool fev__partition_ours(const struct fev__map *m, const char *topic,
			 uint32_t partitions, uint32_t k);
/*
 * Map partition k of a topic whose partition 0 says there are
 * `partitions`, read-only, waiting a second for one its creator is still
 * renaming into place; -EBADMSG when it says it is another.
 */
int fev__partition_map_ro(const char *instance, const char *topic,
			  uint32_t partitions, uint32_t k, struct fev__map *m);

/* "/dev/shm" + a segment's name + a creator's "~PID" + NUL. */
#define FEV__SEG_PATH_MAX (FEV__SHM_NAME_MAX + 32)

/*
 * Build partition g->partition of g->partitions of topic (a queue: 0 of 1),
 * with a table of g->groups_max consumer groups (a queue: 0), whole under its temporary name "~PID" (admin.c): tmp_path is where it
 * is, name_path where it goes; the caller renames it into place.  Errors
 * as fev_queue_create() but -EEXIST.
 */
int fev__segment_build(const char *instance, const char *topic,
		       const fev_queue_config *cfg, struct fev__geometry *g,
		       char tmp_path[FEV__SEG_PATH_MAX],
		       char name_path[FEV__SEG_PATH_MAX]);
/*
 * Mark one segment DELETED (R4), wake its sleepers and unlink its name; a
 * corrupt or untrusted file at the name is only unlinked.  0 or -errno.
 */
int fev__segment_delete(const char *instance, const char *seg_name);

/* Lay out a fresh segment in memory (zeroed, len = g->seg_size). */
void fev__segment_format(void *base, const struct fev__geometry *g,
			 const char *queue, int policy);


#endif /* FEV_SEGMENT_H */
