/*
 * fevprom: fev's metrics in the Prometheus text exposition format (0.0.4),
 * written by `fev stat --prometheus` (tools/stat.c) and served by fevd on
 * metrics_listen (daemon/src/metrics.c).  The series names, help texts and
 * types are defined once, here, so a dashboard works with either source.
 *
 * Not thread-safe state: none; every call works on its arguments.
 */
#ifndef FEVPROM_H
#define FEVPROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fev/fev.h"

/* What the exposition says about one queue. */
struct fevprom_queue {
	char name[FEV_NAME_MAX + 1];
	bool readable;  /* false: only fev_queue_readable 0 is written */
	fev_stats st;
	uint64_t segment_bytes;
	double oldest_claim_age_s; /* 0: nothing held */
};

/* A growing text buffer; failed once an allocation failed (then len
 * stops growing and the text must not be served). */
struct fevprom_text {
	char *p;
	size_t len, cap;
	bool failed;
};

/*
 * Append the exposition of one fabric instance: fev_fevd_up, then every
 * fev_queue_* family with one sample per queue (labels fabric, queue).
 * Queue and instance names need no escaping in a label value (the name
 * rules allow no quote, backslash or newline).
 */
void fevprom_render(struct fevprom_text *t, const char *instance,
		    bool fevd_up, const struct fevprom_queue *q, size_t n);
void fevprom_text_free(struct fevprom_text *t);

/* What the exposition says about one consumer group in one partition. */
struct fevprom_group {
	char topic[FEV_NAME_MAX + 1];
	char group[FEV_GROUP_NAME_MAX + 1];
	uint32_t partition;
	uint64_t lag;	      /* events the group has not released */
	uint64_t redelivered; /* to the group after a member died */
	uint64_t dropped;     /* lost to the drop policy */
	uint64_t revoked;     /* taken from stalled members (ordered) */
	uint32_t members;     /* consumers of the group on the partition */
	/* An ordered group: who owns the partition (fev_group_owners()). */
	bool ordered;
	uint32_t generation; /* grows at every handover */
	int32_t owner_pid;   /* 0: none */
	int32_t next_pid;    /* being handed over to; 0: none */
};

/*
 * Append the fev_group_* families, one sample per group and partition
 * (labels fabric, topic, group, partition); nothing when n is 0, so an
 * instance without topics exposes what it did before.  The ordered ones
 * also get fev_group_partition_owner_generation and
 * fev_group_partition_owner_info (labels owner_pid, next_pid: "" for
 * none), families that are absent when no group is ordered.  Names need no
 * escaping (the name rules allow no quote, backslash or newline).
 */
void fevprom_render_groups(struct fevprom_text *t, const char *instance,
			   const struct fevprom_group *g, size_t n);

/* The content type of that text, for an HTTP reply. */
#define FEVPROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif /* FEVPROM_H */
