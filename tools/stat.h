/*
 * fev stat's model: snapshots of every queue of an instance, read straight
 * from the segments (read-only mappings), so they work while fevd is down.
 * Rates come from the difference of two snapshots; the age of a claim from
 * its hold_ns stamp when the library keeps one, else from how long this
 * process has seen the same claim (a lower bound).
 */
#ifndef FEV_TOOLS_STAT_H
#define FEV_TOOLS_STAT_H

#include <stdbool.h>
#include <stdint.h>

#include "fev/fev.h"
#include "group_view.h"
#include "segment.h"

enum claim_role { CLAIM_PRODUCER, CLAIM_CONSUMER };

/* A group's mode in one partition, and its owner there when ordered. */
struct group_owner {
	int mode;		   /* FEV_GROUP_SHARED/_ORDERED, or -errno */
	bool known;		   /* own was read (an ordered group) */
	fev_partition_owner own;   /* pid and next_pid 0: none */
};

struct claim_view {
	bool present;
	enum claim_role role;
	uint64_t pos;	   /* first position held */
	uint32_t n;	   /* how many from pos */
	double age_s;	   /* how long it has been held, or seen held */
	bool age_exact;	   /* from the hold_ns stamp, not observation */
	bool age_known;	   /* false: seen in one snapshot only */
	uint64_t seen_since_ns; /* CLOCK_MONOTONIC of the first sighting */
};

struct att_view {
	uint32_t idx;	 /* record number in the attacher table */
	int32_t pid;
	uint32_t roles;	 /* FEV_PRODUCER | FEV_CONSUMER */
	uint32_t group;	 /* a consumer's group index + 1; 0: none */
	bool closed;	 /* closed holding positions: awaits repair */
	bool alive;	 /* not dead by the library's rule (proc.h) */
	bool unchecked;	 /* alive only because it cannot be checked */
	char comm[20];	 /* /proc/PID/comm, or "" */
	uint64_t attach_ns;
	uint64_t enqueued, dequeued, dropped, full_waits, sleeps, wakes;
	double enq_rate, deq_rate; /* -1: unknown */
	struct claim_view prod, cons;
};

struct queue_view {
	char name[FEV__SEG_NAME_MAX + 1]; /* a queue or a partition T@k */
	int err;	 /* 0, or why the segment could not be read */
	fev_stats st;
	uint64_t seg_size;
	uint32_t sync; /* FEV_SYNC_* of the header (sync_mode.h) */
	uint64_t created_ns;
	int32_t creator_pid;
	double enq_rate, deq_rate; /* -1: unknown (one snapshot) */
	uint32_t natt;
	struct att_view *att;
	/* A topic's partition: which, of how many, and its ACTIVE groups
	 * (ngroups 0 and groups NULL for a queue, which has none). */
	uint32_t partitions, partition;
	size_t topic_len; /* name[0 .. topic_len) is the topic's name */
	uint32_t ngroups;
	struct fev__group_view *groups;
	/* owners[i]: groups[i]'s mode and, when ordered, who owns this
	 * partition (stat_groups.c fills them in after the partitions). */
	struct group_owner *owners;
	/* The claim held longest, or the first one seen when no age is
	 * known yet; oldest_att indexes att[]. */
	int oldest_att;
	enum claim_role oldest_role;
};

struct snapshot {
	uint64_t mono_ns, real_ns;
	/* Filled by fev stat, not snapshot_take(): 0 when fevd answered a
	 * ping (its pid and version), else why not (-ENOENT: no socket). */
	int fevd_rc, fevd_pid;
	char fevd_version[32];
	size_t n;
	struct queue_view *q;
};

/*
 * Read every queue of instance (only `only` when not NULL, and every
 * partition of `only` when it names a topic) into s.  prev,
 * when not NULL, is the snapshot before: rates and claim ages come from
 * it.  0, or -errno when /dev/shm cannot be listed (-ENOENT when `only` is
 * given and does not exist).
 */
int snapshot_take(const char *instance, const char *only,
		  const struct snapshot *prev, struct snapshot *s);
void snapshot_free(struct snapshot *s);

/* The oldest claim of q, or NULL. */
const struct claim_view *queue_oldest_claim(const struct queue_view *q,
					    const struct att_view **att);


/* ---- topics and consumer groups (stat_groups.c) ---- */

struct out_buf;

/* Is q a topic's partition (it has a group table)? */
static inline bool queue_is_partition(const struct queue_view *q)
{
	return q->err == 0 && q->groups != NULL;
}

/* The table's topic section: per topic its partitions, per group its
 * lag, members and redeliveries per partition.  Nothing without topics. */
void groups_table(struct out_buf *b, const struct snapshot *s);
/* Fill in q->owners of every partition in s: each group's mode and, for
 * an ordered group, its owners (fev_group_owners(), one read per topic
 * and group); a group that cannot be read keeps mode -errno. */
void groups_read_owners(struct snapshot *s, const char *instance);
/* ,"topics":[...] of the JSON object. */
void groups_json(struct out_buf *b, const struct snapshot *s);
/* The fev_topic_* and fev_group_* series (fevprom). */
void groups_prometheus(struct out_buf *b, const char *instance,
		       const struct snapshot *s);

#endif /* FEV_TOOLS_STAT_H */
