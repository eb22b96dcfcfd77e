/*
 * Segments: naming, creating, mapping and validating queue segments.
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
#include "proc.h"
#include "ring.h"

/*
 * A segment being created is named "/fev.I.Q~PID" until it is renamed to
 * "/fev.I.Q" whole (fev_queue_create()).
 */
#define FEV__CREATING_SEP "~"

/*
 * Partition k > 0 of topic T is the segment "T@k"; partition 0 is "T"
 * itself, so a queue is the one partition of a topic of one partition and
 * a topic and a queue can never share a name.  '@' is not a queue name
 * character: no queue is ever named like a partition.
 */
#define FEV__PARTITION_SEP "@"
#define FEV__PARTITION_SUFFIX_MAX 4 /* "@255" */

/* A segment name: a queue (topic) name, or one with a partition suffix. */
#define FEV__SEG_NAME_MAX (FEV_NAME_MAX + FEV__PARTITION_SUFFIX_MAX)

/* "/fev." + instance + "." + segment name + NUL */
#define FEV__SHM_NAME_MAX (5 + FEV_INSTANCE_MAX + 1 + FEV__SEG_NAME_MAX + 1)

struct fev__map {
	struct fev__segment *seg;
	size_t len;
	bool writable;
	struct fev__geometry geo;
	struct fev__ring ring;
	struct fev__attacher *attachers;
	char shm_name[FEV__SHM_NAME_MAX];
	/* The file mapped (fstat at map time): its name may be re-used. */
	dev_t dev;
	ino_t ino;
	uid_t owner;
};

/*
 * Is name a segment name: a queue name, or "T@k" with T a queue name and k
 * in 1 .. FEV_PARTITIONS_MAX - 1 written in plain decimal?  When it is,
 * 0, and *topic_len and *partition say which (either may be NULL);
 * -EINVAL otherwise.
 */
int fev__segment_name_parse(const char *name, size_t *topic_len,
			    uint32_t *partition);
/* The segment name of partition k of topic: 0, or -EINVAL. */
int fev__partition_name(char *buf, size_t size, const char *topic,
			uint32_t k);

/* instance NULL: the default.  queue: a segment name, else -EINVAL. */
int fev__shm_name(char *buf, size_t size, const char *instance,
		  const char *queue);
const char *fev__instance_or_default(const char *instance);

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

/* "/dev/shm" + a segment's name + a creator's "~PID" + NUL. */
#define FEV__SEG_PATH_MAX (FEV__SHM_NAME_MAX + 32)

/*
 * Build partition g->partition of g->partitions of topic (a queue: 0 of 1)
 * whole under its temporary name "~PID" (admin.c): tmp_path is where it
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


uint64_t fev__now_realtime_ns(void);
uint64_t fev__now_monotonic_ns(void);

#endif /* FEV_SEGMENT_H */
