/*
 * What fev pub writes to: a queue (or one partition, "T@k", by its name),
 * or a topic of several partitions, whose events the library routes
 * (fev_topic_send_ex(): a key to the partition Kafka's partitioner gives
 * it, unkeyed events round-robin).  pubsub.c sees one kind of target.
 */
#include "pub_target.h"

#include <errno.h>
#include <stdlib.h>

/*
 * A topic of more than one partition?  Anything else (a queue, a
 * partition's own name, a name that does not exist) is opened with
 * fev_open(), whose errors the caller explains.
 */
static uint32_t topic_partitions(const char *name, const char *inst)
{
	/* -EINVAL for "T@k" (no queue name): one partition, by its name. */
	int n = fev_topic_stats(name, inst, NULL, 0);

	return n > 1 ? (uint32_t)n : 1;
}

int pub_target_open(struct pub_target *t, const char *name, const char *inst)
{
	fev_open_opts o = { .struct_size = sizeof(o), .instance = inst };
	uint32_t partitions = topic_partitions(name, inst);
	int rc;

	*t = (struct pub_target){ .partitions = 1 };
	if (partitions == 1)
		return fev_open(name, FEV_PRODUCER, &o, &t->q);
	t->per_partition = calloc(partitions, sizeof(*t->per_partition));
	if (t->per_partition == NULL)
		return -ENOMEM;
	rc = fev_topic_open(name, FEV_PRODUCER, &o, &t->topic);
	if (rc < 0) {
		free(t->per_partition);
		t->per_partition = NULL;
		return rc;
	}
	t->partitions = fev_topic_partitions(t->topic);
	return 0;
}

void pub_target_close(struct pub_target *t)
{
	if (t->topic != NULL)
		fev_topic_close(t->topic);
	else if (t->q != NULL)
		fev_close(t->q);
	free(t->per_partition);
	*t = (struct pub_target){ 0 };
}

int pub_target_send(struct pub_target *t, const fev_send_opts *opts,
		    const void *data, size_t len, int64_t timeout_ns)
{
	int rc;

	if (t->topic == NULL)
		return fev_send_ex(t->q, opts, data, len, timeout_ns);
	rc = fev_topic_send_ex(t->topic, opts, data, len, timeout_ns);
	if (rc >= 0 && (uint32_t)rc < t->partitions)
		t->per_partition[rc]++;
	return rc < 0 ? rc : 0;
}

int pub_target_send_batch(struct pub_target *t, const struct iovec *iov,
			  size_t n, int64_t timeout_ns)
{
	if (t->topic != NULL) /* the library's round-robin is per event */
		return -EINVAL;
	return fev_send_batch(t->q, iov, n, timeout_ns);
}
