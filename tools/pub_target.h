/*
 * fev pub's target: a queue, one partition by its name (T@k), or a whole
 * topic whose events go to partitions by key (doc/design.md, "Topics and
 * partitions").
 */
#ifndef FEV_TOOLS_PUB_TARGET_H
#define FEV_TOOLS_PUB_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "fev/fev.h"

struct pub_target {
	fev_queue *q;	    /* a queue or one partition; NULL for a topic */
	fev_topic *topic;   /* a topic of partitions > 1 */
	uint32_t partitions; /* 1 for a queue */
	uint64_t *per_partition; /* events sent to each (topics only) */
};

/* Open name as a producer: 0 or an error of fev_open / fev_topic_open. */
int pub_target_open(struct pub_target *t, const char *name, const char *inst);
void pub_target_close(struct pub_target *t);

/* Can events go in batches?  Not to a topic: fev_topic_send() chooses
 * each event's partition (unkeyed ones round-robin, one by one). */
static inline bool pub_target_batches(const struct pub_target *t)
{
	return t->topic == NULL;
}

/* One event (opts: key and headers, or NULL): 0 or -errno of fev_send_ex. */
int pub_target_send(struct pub_target *t, const fev_send_opts *opts,
		    const void *data, size_t len, int64_t timeout_ns);
/* Unkeyed events without headers to a queue: how many went, or -errno
 * (-EINVAL for a topic: pub_target_batches() says whether to batch). */
int pub_target_send_batch(struct pub_target *t, const struct iovec *iov,
			  size_t n, int64_t timeout_ns);

#endif /* FEV_TOOLS_PUB_TARGET_H */
