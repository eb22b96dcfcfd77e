/*
 * Topics: P partitions, each one ring in one segment of its own, found by
 * name (segment.h: partition 0 is "T", partition k "T@k").  A queue is the
 * topic of one partition, so everything a queue has (the ring, waiting,
 * crash repair by fevd, statistics) every partition has, unchanged; a
 * topic adds only where an event goes: its key's partition, as Kafka's
 * producer chooses it (fev_partition_for_key(), murmur2.c), or round-robin.
 *
 * Creating builds every partition whole under a temporary name, then
 * renames partition 0 into place first (RENAME_NOREPLACE: that claims the
 * name, against a queue or topic made meanwhile), then the others.  A
 * partition found at its name before that is a leftover of an earlier
 * topic whose create or delete was cut short, and is replaced.  Deleting
 * goes the other way: partitions k > 0, then partition 0.  So "T exists"
 * is "the topic exists"; a missing partition k > 0 means a create or delete
 * was cut short (opening it says -ENOENT; delete it and create it again).
 */
/* renameat2() and RENAME_NOREPLACE */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "clock.h"
#include "hops.h"
#include "instance.h"
#include "fev/fev.h"
#include "consumer_group.h"
#include "segment.h"

struct fev_topic {
	uint32_t partitions;
	uint32_t next; /* round-robin partition of the next unkeyed event */
	fev_queue *part[];
};

struct built {
	char tmp[FEV__SEG_PATH_MAX], name[FEV__SEG_PATH_MAX];
};

static void unlink_built(struct built *b, uint32_t n)
{
	for (uint32_t k = 0; k < n; k++)
		unlink(b[k].tmp);
}

/* Rename partitions 1 .. n - 1 into place, replacing leftovers. */
static int place_partitions(struct built *b, uint32_t n)
{
	for (uint32_t k = 1; k < n; k++)
		if (rename(b[k].tmp, b[k].name) < 0)
			return -errno;
	return 0;
}

int fev_topic_create(const char *topic, uint32_t partitions,
		     const fev_queue_config *cfg, const char *instance)
{
	struct built *b;
	uint32_t k = 0;
	int rc = 0;

	if (fev_queue_name_valid(topic) < 0 || partitions == 0 ||
	    partitions > FEV_PARTITIONS_MAX)
		return -EINVAL;
	/* Groups have no drop-oldest: it would take from one group only. */
	if (cfg != NULL && cfg->struct_size >= offsetof(fev_queue_config,
							policy) +
						       sizeof(int) &&
	    cfg->policy == FEV_POLICY_DROP_OLDEST)
		return -EINVAL;
	b = calloc(partitions, sizeof(*b));
	if (b == NULL)
		return -ENOMEM;
	for (; k < partitions && rc == 0; k++) {
		struct fev__geometry g = { .partitions = partitions,
					   .partition = k,
					   .groups_max = FEV_GROUPS_MAX };

		rc = fev__segment_build(instance, topic, cfg, &g, b[k].tmp,
					b[k].name);
	}
	if (rc < 0) {
		unlink_built(b, k - 1); /* the k-th cleaned up after itself */
		free(b);
		return rc;
	}
	/* NOREPLACE: a queue or topic created meanwhile keeps the name. */
	if (renameat2(AT_FDCWD, b[0].tmp, AT_FDCWD, b[0].name,
		      RENAME_NOREPLACE) < 0) {
		rc = -errno;
		unlink_built(b, partitions);
	} else if ((rc = place_partitions(b, partitions)) < 0 ||
		   (rc = fev__hops_create_for(instance, topic, cfg)) < 0) {
		unlink_built(b, partitions);
		(void)fev_topic_delete(topic, instance);
	}
	free(b);
	return rc;
}

struct partition_names {
	const char *instance, *topic;
	int removed, err;
};

/* Delete seg if it is a partition k > 0 of the topic. */
static int delete_if_partition(const char *seg, void *arg)
{
	struct partition_names *p = arg;
	size_t len = 0;
	uint32_t k = 0;
	int rc;

	if (fev__segment_name_parse(seg, &len, &k) < 0 || k == 0 ||
	    len != strlen(p->topic) || strncmp(seg, p->topic, len) != 0)
		return 0;
	rc = fev__segment_delete(p->instance, seg);
	if (rc == 0)
		p->removed++;
	else if (rc != -ENOENT && p->err == 0)
		p->err = rc;
	return 0;
}

/*
 * Every partition k > 0 found in /dev/shm goes, whatever partition 0
 * says (it may be missing or corrupt): leftovers of a cut-short create or
 * delete go too.  Then partition 0.
 */
int fev_topic_delete(const char *topic, const char *instance)
{
	struct partition_names p = { .instance = instance, .topic = topic };
	int rc, hops;

	if (fev_queue_name_valid(topic) < 0)
		return -EINVAL;
	rc = fev__list_queues(instance, delete_if_partition, &p);
	if (rc < 0)
		return rc;
	if (p.err < 0)
		return p.err;
	/* The hop ring before partition 0: while the topic's name stands,
	 * no one creates another topic there to lose its ring to us. */
	hops = fev__hops_delete(instance, topic);
	rc = fev__segment_delete(instance, topic);
	return rc == -ENOENT && (p.removed > 0 || hops == 0) ? 0 : rc;
}

int fev_queue_delete(const char *queue, const char *instance)
{
	return fev_topic_delete(queue, instance);
}

/* Statistics of partition k of the topic whose partition 0 says so. */
static int partition_stats(const char *instance, const char *topic,
			   uint32_t partitions, uint32_t k, fev_stats *out)
{
	char seg[FEV__SEG_NAME_MAX + 1];
	struct fev__map m;
	int rc = fev__partition_name(seg, sizeof(seg), topic, k);

	if (rc < 0 || (rc = fev__map_open(instance, seg, false, &m)) < 0)
		return rc;
	if (fev__partition_ours(&m, topic, partitions, k))
		fev__map_stats(&m, out);
	else
		rc = -EBADMSG;
	fev__map_close(&m);
	return rc;
}

int fev_topic_stats(const char *topic, const char *instance, fev_stats *out,
		    size_t n)
{
	struct fev__map m;
	uint32_t partitions;
	int rc;

	if (fev_queue_name_valid(topic) < 0 || (out == NULL && n > 0))
		return -EINVAL;
	rc = fev__map_open(instance, topic, false, &m);
	if (rc < 0)
		return rc;
	partitions = m.geo.partitions;
	fev__map_close(&m);
	for (uint32_t k = 0; k < partitions && k < n && rc == 0; k++)
		rc = partition_stats(instance, topic, partitions, k, &out[k]);
	return rc < 0 ? rc : (int)partitions;
}

/*
 * Open partition k > 0 of a topic whose partition 0 says there are
 * `partitions`: its creator renames them into place just after partition
 * 0, so a missing one is waited for, a little.
 */
static int open_partition(const char *topic, uint32_t k, uint32_t partitions,
			  const fev_open_opts *opts, fev_queue **out)
{
	char seg[FEV__SEG_NAME_MAX + 1];
	uint64_t give_up = fev__now_monotonic_ns() + FEV__PARTITIONS_WAIT_NS;
	int rc = fev__partition_name(seg, sizeof(seg), topic, k);

	while (rc == 0) {
		rc = fev_open(seg, FEV_PRODUCER, opts, out);
		if (rc != -ENOENT || fev__now_monotonic_ns() > give_up)
			break;
		nanosleep(&(struct timespec){ .tv_nsec = 1000 * 1000 }, NULL);
		rc = 0;
	}
	if (rc == 0 && !fev__partition_ours(fev__queue_map(*out), topic,
				       partitions, k)) {
		fev_close(*out);
		*out = NULL;
		rc = -EBADMSG;
	}
	return rc;
}

int fev_topic_open(const char *topic, unsigned roles,
		   const fev_open_opts *opts, fev_topic **out)
{
	fev_queue *first;
	fev_topic *t;
	uint32_t partitions;
	int rc;

	if (out == NULL || roles != FEV_PRODUCER ||
	    fev_queue_name_valid(topic) < 0)
		return -EINVAL;
	rc = fev_open(topic, FEV_PRODUCER, opts, &first);
	if (rc < 0)
		return rc;
	partitions = fev__queue_map(first)->geo.partitions;
	if (!fev__partition_ours(fev__queue_map(first), topic, partitions, 0)) {
		fev_close(first);
		return -EBADMSG;
	}
	t = calloc(1, sizeof(*t) + partitions * sizeof(t->part[0]));
	if (t == NULL) {
		fev_close(first);
		return -ENOMEM;
	}
	t->partitions = partitions;
	t->part[0] = first;
	for (uint32_t k = 1; k < partitions && rc == 0; k++)
		rc = open_partition(topic, k, partitions, opts, &t->part[k]);
	if (rc < 0) {
		fev_topic_close(t);
		return rc;
	}
	*out = t;
	return 0;
}

void fev_topic_close(fev_topic *t)
{
	if (t == NULL)
		return;
	for (uint32_t k = 0; k < t->partitions; k++)
		if (t->part[k] != NULL)
			fev_close(t->part[k]);
	free(t);
}

uint32_t fev_topic_partitions(const fev_topic *t)
{
	return t->partitions;
}

fev_queue *fev_topic_partition(fev_topic *t, uint32_t k)
{
	return k < t->partitions ? t->part[k] : NULL;
}

int fev_topic_send_ex(fev_topic *t, const fev_send_opts *opts,
		      const void *data, size_t len, int64_t timeout_ns)
{
	int k, rc;

	if (opts == NULL || (opts->key == NULL && opts->key_len == 0))
		k = (int)(t->next++ % t->partitions);
	else
		k = fev_partition_for_key(opts->key, opts->key_len,
					  t->partitions);
	if (k < 0)
		return k;
	/* The key travels with the event (fev_event.key), as in Kafka. */
	rc = fev_send_ex(t->part[k], opts, data, len, timeout_ns);
	return rc < 0 ? rc : k;
}

int fev_topic_send(fev_topic *t, const void *key, size_t key_len,
		   const void *data, size_t len, int64_t timeout_ns)
{
	fev_send_opts o = { .struct_size = sizeof(o), .key = key,
			    .key_len = key_len };

	return fev_topic_send_ex(t, &o, data, len, timeout_ns);
}

/* ---- consumer groups, on every partition -------------------------------- */

/* Map partition k of topic writable, checked to be ours. */
static int map_partition(const char *instance, const char *topic,
			 uint32_t partitions, uint32_t k, struct fev__map *m)
{
	char seg[FEV__SEG_NAME_MAX + 1];
	int rc = fev__partition_name(seg, sizeof(seg), topic, k);

	if (rc < 0 || (rc = fev__map_open(instance, seg, true, m)) < 0)
		return rc;
	if (m->groups == NULL)
		rc = -EINVAL; /* a queue, or a topic made before groups */
	else if (!fev__partition_ours(m, topic, partitions, k))
		rc = -EBADMSG;
	if (rc < 0)
		fev__map_close(m);
	return rc;
}

typedef int partition_fn(struct fev__map *m, const char *group,
			 const fev_group_config *arg);

/* fn on partitions 0 .. P - 1 in order; stops at the first error, and
 * returns how far it came in *done. */
static int each_partition(const char *topic, const char *group,
			  const char *instance, partition_fn *fn,
			  const fev_group_config *arg, uint32_t *done)
{
	struct fev__map m;
	uint32_t partitions;
	int rc;

	*done = 0;
	if (fev_queue_name_valid(topic) < 0 || fev_group_name_valid(group) < 0)
		return -EINVAL;
	rc = fev__map_open(instance, topic, false, &m);
	if (rc < 0)
		return rc;
	partitions = m.geo.partitions;
	fev__map_close(&m);
	for (uint32_t k = 0; k < partitions; k++, (*done)++) {
		rc = map_partition(instance, topic, partitions, k, &m);
		if (rc < 0)
			return rc;
		rc = fn(&m, group, arg);
		fev__map_close(&m);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int create_in(struct fev__map *m, const char *group,
		     const fev_group_config *cfg)
{
	int rc = fev__group_create_in(m, group, cfg);

	return rc < 0 ? rc : 0;
}

static int delete_in(struct fev__map *m, const char *group,
		     const fev_group_config *unused)
{
	(void)unused;
	return fev__group_delete_in(m, group);
}

int fev_group_create(const char *topic, const char *group,
		     const fev_group_config *cfg, const char *instance)
{
	fev_group_config c = { .struct_size = sizeof(c),
			       .start = FEV_GROUP_LATEST,
			       .policy = FEV_GROUP_BLOCK,
			       .mode = FEV_GROUP_SHARED };
	uint32_t done, undone;
	int rc;

	if (cfg != NULL) {
		if (cfg->struct_size < offsetof(fev_group_config, start) +
					       sizeof(int))
			return -EINVAL;
		c.start = cfg->start;
		/* Older callers' structs end before policy: block. */
		if (cfg->struct_size >= offsetof(fev_group_config, policy) +
						sizeof(int))
			c.policy = cfg->policy;
		/* Older callers' struct ends before mode: shared. */
		if (cfg->struct_size >= offsetof(fev_group_config, mode) +
						sizeof(int))
			c.mode = cfg->mode;
		/* ... or before the session timeout: the default. */
		if (cfg->struct_size >=
		    offsetof(fev_group_config, session_timeout_ms) +
			    sizeof(uint32_t))
			c.session_timeout_ms = cfg->session_timeout_ms;
	}
	rc = each_partition(topic, group, instance, create_in, &c, &done);
	/* All or nothing: take it back from the partitions that have it. */
	if (rc < 0 && done > 0)
		each_partition(topic, group, instance, delete_in, NULL,
			       &undone);
	return rc;
}

int fev_group_delete(const char *topic, const char *group,
		     const char *instance)
{
	uint32_t done;

	return each_partition(topic, group, instance, delete_in, NULL, &done);
}

int fev_group_list(const char *topic, const char *instance,
		   int (*fn)(const char *group, void *arg), void *arg)
{
	struct fev__map m;
	int rc;

	if (fev_queue_name_valid(topic) < 0 || fn == NULL)
		return -EINVAL;
	rc = fev__map_open(instance, topic, false, &m);
	if (rc < 0)
		return rc;
	for (uint32_t i = 0; m.groups != NULL && i < m.geo.groups_max && rc == 0;
	     i++) {
		char name[FEV_GROUP_NAME_MAX + 1];
		const struct fev__group *g = &m.groups[i];

		/* G7: pairs with G6: the name is whole. */
		if (atomic_load_explicit(&g->state, memory_order_acquire) !=
		    FEV__GROUP_ACTIVE)
			continue;
		memcpy(name, g->name, sizeof(name));
		name[FEV_GROUP_NAME_MAX] = '\0';
		if (fev_group_name_valid(name) == 0)
			rc = fn(name, arg);
	}
	fev__map_close(&m);
	return rc;
}

/* Add partition m's record of group to out: 0, -ENOENT or -EBADMSG. */
static int add_group_stats(const struct fev__map *m, const char *group,
			   fev_group_info *out, bool first)
{
	int gi = fev__group_find(m, group);
	const struct fev__group *g;
	uint32_t policy;

	if (gi < 0)
		return gi;
	g = &m->groups[gi];
	/* After B7 in find; a plain word of shared memory, read once. */
	policy = __atomic_load_n(&g->policy, __ATOMIC_RELAXED);
	if ((policy != FEV_GROUP_BLOCK && policy != FEV_GROUP_DROP) ||
	    (!first && (int)policy != out->policy))
		return -EBADMSG;
	out->policy = (int)policy;
	/* Relaxed: counters. */
	out->dropped += atomic_load_explicit(&g->dropped,
					     memory_order_relaxed);
	out->redelivered += atomic_load_explicit(&g->redelivered,
						 memory_order_relaxed);
	out->revoked += atomic_load_explicit(&g->revoked,
					     memory_order_relaxed);
	/* Set at create, never changed (published by B6). */
	out->session_timeout_ms = g->session_ms;
	return 0;
}

int fev_group_stats(const char *topic, const char *group,
		    const char *instance, fev_group_info *out)
{
	struct fev__map m;
	uint32_t partitions;
	int rc;

	fev_group_info sum = { .struct_size = sizeof(sum) };

	/* Older callers' structs end before revoked. */
	if (fev_queue_name_valid(topic) < 0 ||
	    fev_group_name_valid(group) < 0 || out == NULL ||
	    out->struct_size < offsetof(fev_group_info, revoked))
		return -EINVAL;
	rc = fev__map_open(instance, topic, false, &m);
	if (rc < 0)
		return rc;
	partitions = m.geo.partitions;
	fev__map_close(&m);
	for (uint32_t k = 0; k < partitions && rc == 0; k++) {
		char seg[FEV__SEG_NAME_MAX + 1];

		rc = fev__partition_name(seg, sizeof(seg), topic, k);
		if (rc < 0 || (rc = fev__map_open(instance, seg, false, &m)) < 0)
			return rc;
		rc = m.groups == NULL ? -EINVAL :
		     !fev__partition_ours(&m, topic, partitions, k) ?
					-EBADMSG :
					add_group_stats(&m, group, &sum, k == 0);
		fev__map_close(&m);
	}
	if (rc == 0) {
		size_t n = out->struct_size < sizeof(sum) ? out->struct_size :
							    sizeof(sum);

		sum.struct_size = n;
		memcpy(out, &sum, n);
	}
	return rc;
}
