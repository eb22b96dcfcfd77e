#include "registry.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "tsan.h"

/* FNV-1a: names are short and chosen by operators, not attackers. */
static unsigned long name_hash(const char *s)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(0x100000001b3);
	return (unsigned long)h;
}

static int name_match(struct cds_lfht_node *node, const void *key)
{
	const struct fevd_queue *q =
		caa_container_of(node, struct fevd_queue, node);

	return strcmp(q->name, key) == 0;
}

#define BUCKETS_MIN 64ul

int fevd_registry_init(struct fevd_registry *r)
{
	/* No CDS_LFHT_AUTO_RESIZE: that resizes in a worker thread; the
	 * supervisor grows the table itself (grow()). */
	r->ht = cds_lfht_new(BUCKETS_MIN, BUCKETS_MIN, 0, 0, NULL);
	r->count = 0;
	r->buckets = BUCKETS_MIN;
	return r->ht != NULL ? 0 : -ENOMEM;
}

/* One bucket per queue at least: a lookup never walks a long chain. */
static void grow(struct fevd_registry *r)
{
	if (r->count <= r->buckets)
		return;
	while (r->buckets < r->count)
		r->buckets *= 4;
	cds_lfht_resize(r->ht, r->buckets);
}

static void queue_free(struct fevd_queue *q)
{
	fev__map_close(&q->map);
	if (q->segfd >= 0)
		close(q->segfd);
	free(q->track);
	free(q);
}

struct fevd_queue *fevd_queue_new(const char *name, struct fev__map *map,
				  enum fevd_origin origin)
{
	struct fevd_queue *q = calloc(1, sizeof(*q));

	if (q != NULL)
		q->track = calloc(map->geo.attacher_max, sizeof(*q->track));
	if (q == NULL || q->track == NULL) {
		free(q);
		fev__map_close(map);
		return NULL;
	}
	cds_lfht_node_init(&q->node);
	CDS_INIT_LIST_HEAD(&q->active);
	q->segfd = -1;
	strlcpy(q->name, name, sizeof(q->name));
	q->map = *map;
	q->origin = origin;
	fevd_queue_conf_defaults(&q->conf);
	strlcpy(q->conf.name, name, sizeof(q->conf.name));
	q->conf.capacity = map->geo.capacity;
	q->conf.max_event = map->geo.max_event;
	q->conf.attachers = map->geo.attacher_max;
	q->conf.policy = (int)map->geo.policy;
	q->conf.partitions = map->geo.partitions;
	return q;
}

/*
 * TSan's view of the two RCU edges (tsan.h).  Adding q releases on q and a
 * reader that finds it acquires (what cds_lfht_add's rcu_assign_pointer
 * and the lookup's rcu_dereference do).  Every reader releases on `grace`
 * when it leaves, and a deferred free acquires it (what the grace period
 * does): a stronger edge than the real one, which TSan cannot express.
 */
static char grace;

void fevd_registry_reader_got(const struct fevd_queue *q)
{
	FEVD_TSAN_ACQUIRE(q);
}

void fevd_registry_reader_done(void)
{
	FEVD_TSAN_RELEASE(&grace);
}

int fevd_registry_add(struct fevd_registry *r, struct fevd_queue *q)
{
	struct cds_lfht_node *got;

	FEVD_TSAN_RELEASE(q);
	rcu_read_lock();
	got = cds_lfht_add_unique(r->ht, name_hash(q->name), name_match,
				  q->name, &q->node);
	rcu_read_unlock();
	if (got != &q->node) {
		queue_free(q);
		return -EEXIST;
	}
	r->count++;
	grow(r);
	return 0;
}

struct fevd_queue *fevd_registry_find(struct fevd_registry *r,
				      const char *name)
{
	struct cds_lfht_iter it;
	struct cds_lfht_node *node;

	cds_lfht_lookup(r->ht, name_hash(name), name_match, name, &it);
	node = cds_lfht_iter_get_node(&it);
	return node ? caa_container_of(node, struct fevd_queue, node) : NULL;
}

/*
 * Queues handed to call_rcu() and not yet freed, in every registry of the
 * process: fevd_registry_destroy() waits for them to be unmapped.  (Not
 * rcu_barrier(): its completion is allocated by one thread and freed by
 * liburcu's worker through orders TSan cannot see.)
 */
static _Atomic unsigned long pending_frees;

/* call_rcu: no reader can hold q any more. */
static void queue_free_rcu(struct rcu_head *head)
{
	struct fevd_queue *q = caa_container_of(head, struct fevd_queue, rcu);

	FEVD_TSAN_ACQUIRE(q);
	FEVD_TSAN_ACQUIRE(&grace);
	queue_free(q);
	/* D1: pairs with D2 in wait_pending_frees(): q is unmapped. */
	atomic_fetch_sub_explicit(&pending_frees, 1, memory_order_release);
}

static void wait_pending_frees(void)
{
	/* D2: pairs with D1: every queue handed over is gone. */
	while (atomic_load_explicit(&pending_frees, memory_order_acquire) != 0)
		usleep(1000); /* a grace period: milliseconds, once at exit */
}

void fevd_registry_remove(struct fevd_registry *r, struct fevd_queue *q)
{
	int rc;

	rcu_read_lock();
	rc = cds_lfht_del(r->ht, &q->node);
	rcu_read_unlock();
	if (rc != 0)
		return; /* not in the table: someone else owns it */
	r->count--;
	cds_list_del_init(&q->active); /* the supervisor's list only */
	/* Readers that found q before the delete may still use its mapping:
	 * it goes after a grace period, in liburcu's call_rcu thread, so the
	 * supervisor never waits for a reader (a scrape of /metrics). */
	FEVD_TSAN_RELEASE(q);
	/* Relaxed: only the count matters; D1/D2 order the free. */
	atomic_fetch_add_explicit(&pending_frees, 1, memory_order_relaxed);
	call_rcu(&q->rcu, queue_free_rcu);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int fevd_registry_names(struct fevd_registry *r, char ***names, size_t *n)
{
	struct cds_lfht_iter it;
	struct fevd_queue *q;
	size_t cap = 0, count = 0;
	char **v = NULL;
	int rc = 0;

	rcu_read_lock();
	fevd_registry_for_each(r, &it, q)
	{
		if (count == cap) {
			char **grown;

			cap = cap ? cap * 2 : 16;
			grown = realloc(v, cap * sizeof(*v));
			if (grown == NULL) {
				rc = -ENOMEM;
				break;
			}
			v = grown;
		}
		v[count] = strdup(q->name);
		if (v[count] == NULL) {
			rc = -ENOMEM;
			break;
		}
		count++;
	}
	rcu_read_unlock();
	if (rc < 0) {
		while (count > 0)
			free(v[--count]);
		free(v);
		return rc;
	}
	if (count > 0) /* v is NULL when the registry is empty */
		qsort(v, count, sizeof(*v), by_name);
	*names = v;
	*n = count;
	return 0;
}

void fevd_registry_destroy(struct fevd_registry *r)
{
	struct cds_lfht_iter it;
	struct fevd_queue *q, *doomed = NULL;

	if (r->ht == NULL)
		return;
	/* Unlink all, then free after one grace period. */
	rcu_read_lock();
	fevd_registry_for_each(r, &it, q)
	{
		if (cds_lfht_del(r->ht, &q->node) == 0) {
			q->next_doomed = doomed;
			doomed = q;
		}
	}
	rcu_read_unlock();
	synchronize_rcu();
	/* and the queues removed before, still waiting in call_rcu */
	wait_pending_frees();
	while (doomed != NULL) {
		q = doomed;
		doomed = q->next_doomed;
		queue_free(q);
	}
	cds_lfht_destroy(r->ht, NULL);
	r->ht = NULL;
}
