/*
 * The daemon's queue registry: an RCU lock-free hash table (liburcu's
 * cds_lfht, urcu-memb flavour) keyed by queue name, holding each queue's
 * mapping, settings and repair counters.  Two threads use it: the
 * supervisor, which adds, removes and reads, and the metrics thread
 * (metrics.c), which only reads.  Lookups and walks run under
 * rcu_read_lock() and take no lock; a removed queue is unmapped and freed
 * by call_rcu() after a grace period, when no reader can hold it, so a
 * remove never waits for a scrape.
 *
 *   operation              who                     concurrent with
 *   fevd_registry_find     any registered reader   everything
 *   fevd_registry_for_each any registered reader   everything
 *   fevd_registry_add      supervisor only         readers
 *   fevd_registry_remove   supervisor only         readers
 *   fevd_registry_destroy  supervisor, no readers  nothing
 *
 * What a reader other than the supervisor may read of a queue: what is
 * fixed once it is added (name, map, segfd) and the _Atomic counters; the
 * rest is the supervisor's.  Such a reader calls fevd_registry_reader_got()
 * on each queue it finds and fevd_registry_reader_done() before
 * rcu_read_unlock() (annotations for TSan, which cannot see liburcu's
 * orders: tsan.h).
 */
#ifndef FEVD_REGISTRY_H
#define FEVD_REGISTRY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <urcu.h>
#include <urcu/list.h>
#include <urcu/rculfhash.h>

#include "config.h"
#include "segment.h"

/* What the supervisor remembers about one attacher record between scans. */
struct fevd_att_track {
	int32_t pid;
	uint64_t start_time;
	uint64_t hold_pos[2]; /* hold records: [0] prod, [1] cons */
	uint32_t hold_n[2];
	uint64_t hold_seen_ns[2]; /* CLOCK_MONOTONIC when first seen */
	bool stalled[2];
	bool pending_logged;
	bool failed_logged;
	bool dead; /* this scan found its owner dead: not a live hold record */
	/* An ordered group member's beat (assign.c): the member it was
	 * seen for, its value, since when (CLOCK_MONOTONIC), and whether
	 * fevd revoked that member's partitions for a session timeout. */
	uint32_t beat_id, beat;
	uint64_t beat_since_ns;
	bool beat_revoked;
};

enum fevd_origin {
	FEVD_ORIGIN_CONFIG,  /* created for the config */
	FEVD_ORIGIN_CONTROL, /* created by a `create` request */
	FEVD_ORIGIN_ADOPTED, /* found in /dev/shm */
};

struct fevd_queue {
	struct cds_lfht_node node;
	char name[FEV__SEG_NAME_MAX + 1]; /* a queue, or a partition T@k */
	struct fev__map map;
	int segfd; /* the segment, open: its size is checked against map */
	struct fevd_queue_conf conf; /* the settings its segment has */
	enum fevd_origin origin;
	/* Listed by the config now, or was and could not yet be removed. */
	bool configured;
	struct fevd_att_track *track; /* map.geo.attacher_max entries */
	/* Liveness scans (supervisor only): the attach generation (G2) when
	 * the table was last read, whether anything was attached then, its
	 * place on the list of queues in use each tick looks at, and where
	 * the next repair pass starts. */
	uint32_t seen_gen;
	bool in_use;
	/* When its table is read, and its file checked (fstat, lstat), even
	 * if nothing says so: spread at random, never all in one turn. */
	uint64_t next_read_ns, next_deep_ns;
	struct cds_list_head active;
	uint32_t repair_rotor;
	/* Written by the supervisor, read by any reader: relaxed counters. */
	_Atomic uint64_t repairs, tombstoned, redelivered, stalls;
	struct fevd_queue *next_doomed; /* fevd_registry_destroy() only */
	struct rcu_head rcu; /* the deferred free of fevd_registry_remove() */
};

struct fevd_registry {
	struct cds_lfht *ht;
	/* Queues held, and the buckets the table was last sized for: grown
	 * by the supervisor (cds_lfht_resize), so a lookup stays O(1) with
	 * 10,000 queues without a resize worker thread. */
	unsigned long count, buckets;
};

int fevd_registry_init(struct fevd_registry *r);
/* Unmap and free every queue, then the table.  Supervisor only. */
void fevd_registry_destroy(struct fevd_registry *r);

/* Caller holds rcu_read_lock(). */
struct fevd_queue *fevd_registry_find(struct fevd_registry *r,
				      const char *name);
/*
 * A queue around an open mapping (taken over: freed with the queue).
 * NULL on -ENOMEM (the mapping is then closed).
 */
struct fevd_queue *fevd_queue_new(const char *name, struct fev__map *map,
				  enum fevd_origin origin);
/* 0 or -EEXIST (q is then freed). */
int fevd_registry_add(struct fevd_registry *r, struct fevd_queue *q);
/* Unlink q (from the table and the liveness list); it is unmapped and
 * freed once no reader can hold it (the caller must not use it after
 * this). */
void fevd_registry_remove(struct fevd_registry *r, struct fevd_queue *q);

/* A reader thread other than the supervisor found q (see above). */
void fevd_registry_reader_got(const struct fevd_queue *q);
/* ... and is about to leave its read-side critical section. */
void fevd_registry_reader_done(void);

/* Names in order, for listings; caller frees each and the array. */
int fevd_registry_names(struct fevd_registry *r, char ***names, size_t *n);

#define fevd_registry_for_each(r, iter, q) \
	cds_lfht_for_each_entry((r)->ht, (iter), (q), node)

#endif /* FEVD_REGISTRY_H */
