/*
 * Snapshots for fev stat: map each queue segment read-only, sum its
 * counters with fev__map_stats() and copy its attacher table.  Nothing here
 * writes shared memory, and nothing read from it is trusted beyond what
 * fev__map_open() validated: pids and claims are only displayed.
 */
#include "clock.h"
#include "stat.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "instance.h"
#include "memtrap.h"
#include "names.h"
#include "repair.h"
#include "segment.h"

static void read_comm(int32_t pid, char *buf, size_t size)
{
	char path[40];
	ssize_t n;
	int fd;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		n = 0;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	/* Any user names its processes: no escapes, valid UTF-8. */
	out_sanitize_text(buf);
}

/* The age of claim c, given the same attacher's claim one snapshot ago. */
static void claim_age(struct claim_view *c, const struct claim_view *before,
		      uint64_t hold_ns, uint64_t now)
{
	if (hold_ns != 0 && hold_ns <= now) {
		c->age_s = (double)(now - hold_ns) / 1e9;
		c->age_exact = c->age_known = true;
		c->seen_since_ns = hold_ns;
	} else if (before != NULL && before->present &&
		   before->pos == c->pos) {
		c->seen_since_ns = before->seen_since_ns;
		c->age_s = (double)(now - c->seen_since_ns) / 1e9;
		c->age_known = true;
	} else {
		c->seen_since_ns = now;
		c->age_s = 0;
	}
}

static void read_claim(const struct fev__holdrec *rec, enum claim_role role,
		       struct claim_view *c)
{
	/* Relaxed: a display; a torn pos/n pair only shows a moment late. */
	c->n = atomic_load_explicit(&rec->n, memory_order_relaxed);
	c->pos = atomic_load_explicit(&rec->pos, memory_order_relaxed);
	c->present = c->n != 0;
	c->role = role;
}

static const struct att_view *find_att(const struct queue_view *pq,
				       const struct att_view *a)
{
	if (pq == NULL)
		return NULL;
	for (uint32_t i = 0; i < pq->natt; i++) {
		const struct att_view *b = &pq->att[i];

		if (b->idx == a->idx && b->pid == a->pid &&
		    b->attach_ns == a->attach_ns)
			return b;
	}
	return NULL;
}

static double rate(uint64_t now, uint64_t before, double dt)
{
	return now >= before ? (double)(now - before) / dt : 0;
}

static void read_attacher(const struct fev__attacher *a, uint32_t idx,
			  uint32_t state, struct att_view *v)
{
	/* Relaxed loads: statistics; the record itself was published by the
	 * acquire of its state word in the caller (A6). */
	v->idx = idx;
	v->pid = a->pid;
	v->roles = a->roles;
	v->group = a->group;
	v->attach_ns = a->attach_ns;
	v->closed = state == FEV__ATT_REPAIRING;
	if (!v->closed) {
		int32_t local = 0;
		enum fev__life life = fev__attacher_life(a, &local);

		v->alive = life != FEV__LIFE_DEAD;
		v->unchecked = life == FEV__LIFE_UNCHECKED;
		if (local > 0 && v->alive)
			read_comm(local, v->comm, sizeof(v->comm));
	}
	v->enqueued = atomic_load_explicit(&a->enqueued, memory_order_relaxed);
	v->dequeued = atomic_load_explicit(&a->dequeued, memory_order_relaxed);
	v->dropped = atomic_load_explicit(&a->dropped, memory_order_relaxed);
	v->full_waits = atomic_load_explicit(&a->full_waits,
					     memory_order_relaxed);
	v->sleeps = atomic_load_explicit(&a->sleeps, memory_order_relaxed);
	v->wakes = atomic_load_explicit(&a->wakes, memory_order_relaxed);
	read_claim(&a->prod, CLAIM_PRODUCER, &v->prod);
	read_claim(&a->cons, CLAIM_CONSUMER, &v->cons);
}

static void pick_oldest(struct queue_view *q)
{
	double best = -1;

	q->oldest_att = -1;
	for (uint32_t i = 0; i < q->natt; i++) {
		const struct claim_view *c[2] = { &q->att[i].prod,
						  &q->att[i].cons };

		for (int k = 0; k < 2; k++) {
			double age = c[k]->age_known ? c[k]->age_s : 0;

			if (c[k]->present && age > best) {
				best = age;
				q->oldest_att = (int)i;
				q->oldest_role = c[k]->role;
			}
		}
	}
}

static int read_attachers(const struct fev__map *m, struct queue_view *q,
			  const struct queue_view *pq, uint64_t now,
			  uint64_t real_now, double dt)
{
	const struct fev__attacher *recs = m->attachers;
	uint64_t hold_ns;

	q->att = calloc(m->geo.attacher_max, sizeof(*q->att));
	if (q->att == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < m->geo.attacher_max; i++) {
		/* A6: pairs with R6 in the client's attach: filled in. */
		uint32_t state = atomic_load_explicit(&recs[i].state,
						      memory_order_acquire);
		struct att_view *v = &q->att[q->natt];
		const struct att_view *b;

		if (state != FEV__ATT_ACTIVE && state != FEV__ATT_REPAIRING)
			continue;
		read_attacher(&recs[i], i, state, v);
		b = find_att(pq, v);
		/* Relaxed: a display value (0: no zero-copy claim). */
		hold_ns = atomic_load_explicit(&recs[i].hold_ns,
						memory_order_relaxed);
		/* hold_ns is CLOCK_REALTIME: make it our monotonic time. */
		if (hold_ns != 0)
			hold_ns = hold_ns <= real_now ?
					   now - (real_now - hold_ns) :
					   0;
		claim_age(&v->prod, b ? &b->prod : NULL, hold_ns, now);
		claim_age(&v->cons, b ? &b->cons : NULL, hold_ns, now);
		v->enq_rate = b && dt > 0 ? rate(v->enqueued, b->enqueued, dt) :
					    -1;
		v->deq_rate = b && dt > 0 ? rate(v->dequeued, b->dequeued, dt) :
					    -1;
		q->natt++;
	}
	pick_oldest(q);
	return 0;
}

/* A partition's ACTIVE groups, through the library (group_view.h). */
static int read_groups(const struct fev__map *m, struct queue_view *q)
{
	q->partitions = m->geo.partitions;
	q->partition = m->geo.partition;
	if (fev__segment_name_parse(q->name, &q->topic_len, NULL) < 0)
		q->topic_len = strlen(q->name);
	if (m->groups == NULL)
		return 0;
	q->groups = calloc(m->geo.groups_max, sizeof(*q->groups));
	if (q->groups == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < m->geo.groups_max; i++)
		if (fev__group_read(m, i, &q->groups[q->ngroups]) == 0)
			q->ngroups++;
	return 0;
}

static const struct queue_view *find_queue(const struct snapshot *prev,
					   const char *name)
{
	if (prev == NULL)
		return NULL;
	for (size_t i = 0; i < prev->n; i++)
		if (prev->q[i].err == 0 && strcmp(prev->q[i].name, name) == 0)
			return &prev->q[i];
	return NULL;
}

static void sample_queue(const char *inst, const struct snapshot *prev,
			 uint64_t now, uint64_t real_now, struct queue_view *q)
{
	const struct queue_view *pq = find_queue(prev, q->name);
	double dt = prev != NULL ? (double)(now - prev->mono_ns) / 1e9 : 0;
	struct fev__map m;

	q->enq_rate = q->deq_rate = -1;
	q->oldest_att = -1;
	q->err = fev__map_open(inst, q->name, false, &m);
	if (q->err < 0)
		return;
	fev__map_stats(&m, &q->st);
	q->seg_size = m.len;
	q->sync = m.geo.sync;
	q->created_ns = m.seg->hdr.created_ns;
	q->creator_pid = m.seg->hdr.creator_pid;
	q->err = read_attachers(&m, q, pq, now, real_now, dt);
	if (q->err == 0)
		q->err = read_groups(&m, q);
	/* Truncated while we read it: what we read was zeros (memtrap.h). */
	if (fev__memtrap_tripped(m.seg))
		q->err = -EBADMSG;
	fev__map_close(&m);
	if (pq != NULL && dt > 0) {
		q->enq_rate = rate(q->st.enqueued, pq->st.enqueued, dt);
		q->deq_rate = rate(q->st.dequeued, pq->st.dequeued, dt);
	}
}

struct collect {
	struct snapshot *s;
	size_t cap;
};

static int add_name(const char *queue, void *arg)
{
	struct collect *c = arg;

	if (c->s->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct queue_view *q = realloc(c->s->q, cap * sizeof(*q));

		if (q == NULL)
			return -ENOMEM;
		c->s->q = q;
		c->cap = cap;
	}
	memset(&c->s->q[c->s->n], 0, sizeof(c->s->q[0]));
	snprintf(c->s->q[c->s->n].name, sizeof(c->s->q[0].name), "%s", queue);
	c->s->n++;
	return 0;
}

/* `only`, and when it names a topic of partitions > 1 the others too. */
static int add_only(const char *instance, const char *only,
		    struct collect *c)
{
	/* -EINVAL for a partition's name "T@k": that one alone. */
	int n = fev_topic_stats(only, instance, NULL, 0);
	int rc = add_name(only, c);

	for (int k = 1; k < n && rc == 0; k++) {
		char name[FEV__SEG_NAME_MAX + 1];

		rc = fev__partition_name(name, sizeof(name), only, (uint32_t)k);
		if (rc == 0)
			rc = add_name(name, c);
	}
	return rc;
}

int snapshot_take(const char *instance, const char *only,
		  const struct snapshot *prev, struct snapshot *s)
{
	struct collect c = { .s = s };
	int rc;

	memset(s, 0, sizeof(*s));
	rc = only != NULL ? add_only(instance, only, &c) :
			    fev__list_queues(instance, add_name, &c);
	if (rc < 0) {
		snapshot_free(s);
		return rc;
	}
	s->mono_ns = fev__now_monotonic_ns();
	s->real_ns = fev__now_realtime_ns();
	for (size_t i = 0; i < s->n; i++)
		sample_queue(instance, prev, s->mono_ns, s->real_ns, &s->q[i]);
	groups_read_owners(s, instance);
	if (only != NULL && s->q[0].err == -ENOENT) {
		snapshot_free(s);
		return -ENOENT;
	}
	return 0;
}

void snapshot_free(struct snapshot *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->q[i].att);
		free(s->q[i].groups);
		free(s->q[i].owners);
	}
	free(s->q);
	memset(s, 0, sizeof(*s));
}

const struct claim_view *queue_oldest_claim(const struct queue_view *q,
					    const struct att_view **att)
{
	const struct att_view *a;

	if (q->oldest_att < 0)
		return NULL;
	a = &q->att[q->oldest_att];
	*att = a;
	return q->oldest_role == CLAIM_PRODUCER ? &a->prod : &a->cons;
}
