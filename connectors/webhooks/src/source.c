#include "source.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "wlog.h"

#define ACQUIRE_BATCH 64
/* How long the thread sleeps in fev_acquire_batch(): while it holds events
 * the engine may hand some back, and they are released only when it wakes
 * (so a delivered event keeps its slot at most this long); idle, the stop
 * flag is the only reason to wake. */
#define WAIT_HOLDING_NS (5ll * 1000 * 1000)
#define WAIT_IDLE_NS (200ll * 1000 * 1000)
#define REOPEN_NS (500ll * 1000 * 1000)

struct fwh_source {
	char instance[FEV_INSTANCE_MAX + 1];
	char topic[FEV_NAME_MAX + 1];
	char queue[FEV_NAME_MAX + 8]; /* "T@k", as fev.h names partitions */
	char group[FEV_GROUP_NAME_MAX + 1];
	int start;
	size_t held_max;
	int ready_fd; /* eventfd: readable while the engine has events */
	pthread_t thread;
	/* Between the two threads; everything below under lock. */
	pthread_mutex_t lock;
	pthread_cond_t returned;
	struct fwh_event *ready, **ready_tail; /* to the engine */
	struct fwh_event *done;                /* back from the engine */
	size_t held;
	bool stop;
	/* the source thread's own */
	fev_queue *q;
	bool closing; /* q failed: closed once the engine gave all back */
	bool complained;
};

/*
 * Open the source: the one place that names what is consumed.  Without
 * spinning: the thread that needs the CPU after a hand-over is the engine
 * (on two busy cores a 20 us spin here delayed it; fev-bench webhooks,
 * p50 event->request / keep-alive, medians of six alternating runs at load
 * 35: 7.1x spinning, 4.7x not).  The group is
 * created first if absent (on every partition: the sources of the other
 * partitions get -EEXIST); a queue has no groups (-EINVAL: the config
 * checked the names) and is refused, said once until it is a topic.
 * Created with the library call rather than through fevd: a consumer may
 * write the segment, while fevd's group-create verb is for administrators
 * only, and fev-webhooks need not be one.
 */
static int source_open(struct fwh_source *s)
{
	const char *inst = s->instance[0] ? s->instance : NULL;
	fev_group_config gc = { .struct_size = sizeof(gc), .start = s->start };
	fev_open_opts o = { .struct_size = sizeof(o), .instance = inst,
			    .group = s->group, .flags = FEV_OPEN_NO_SPIN };
	int rc = fev_group_create(s->topic, s->group, &gc, inst);

	if (rc == -EINVAL) {
		if (!s->complained)
			fwh_log_err(FWH_QUEUE_REFUSED, s->topic, s->topic);
		s->complained = true;
		return rc;
	}
	if (rc == 0)
		fwh_log_notice("topic %s: created consumer group %s (%s)",
			       s->topic, s->group,
			       s->start == FEV_GROUP_EARLIEST ? "earliest" :
								"latest");
	else if (rc != -EEXIST)
		return rc;
	return fev_open(s->queue, FEV_CONSUMER, &o, &s->q);
}

static void sleep_ns(int64_t ns)
{
	struct timespec t = { .tv_sec = ns / 1000000000,
			      .tv_nsec = ns % 1000000000 };

	nanosleep(&t, NULL);
}

static void release_done(struct fwh_source *s)
{
	struct fwh_event *list, *next;
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	list = s->done;
	s->done = NULL;
	pthread_mutex_unlock(&s->lock);
	for (; list != NULL; list = next, n++) {
		next = list->next;
		/* -ESTALE: repair already gave it to another consumer (this
		 * process was taken for dead): nothing to undo. */
		if (s->q != NULL)
			fev_release(s->q, &list->ev);
		free(list);
	}
	if (n > 0) {
		pthread_mutex_lock(&s->lock);
		s->held -= n;
		pthread_mutex_unlock(&s->lock);
	}
}

static void hand_over(struct fwh_source *s, const fev_event *evs, int n)
{
	struct fwh_event *first = NULL, **tail = &first;

	for (int i = 0; i < n; i++) {
		struct fwh_event *e = calloc(1, sizeof(*e));

		if (e == NULL) { /* keep it held: redelivered after a restart */
			fwh_log_err("queue %s: out of memory for an event",
				    s->queue);
			continue;
		}
		e->src = s;
		e->ev = evs[i];
		e->created_ns = fev_queue_created_ns(s->q);
		*tail = e;
		tail = &e->next;
	}
	pthread_mutex_lock(&s->lock);
	*s->ready_tail = first;
	if (first != NULL)
		s->ready_tail = tail;
	s->held += (size_t)n;
	pthread_mutex_unlock(&s->lock);
	/* After the list: the engine drains the descriptor before it takes
	 * the list, so it never sleeps with events ready. */
	eventfd_write(s->ready_fd, 1);
}

static void complain(struct fwh_source *s, int why)
{
	if (!s->complained)
		fwh_log_warn("queue %s: %s; opening it again", s->queue,
			     fev_strerror(why));
	s->complained = true;
}

/*
 * The handle failed (the topic was deleted: -EIDRM; this process was taken
 * for dead: -ESTALE): close it and open the name again, but only once the
 * engine has handed back every event it holds.  Their bodies are in the
 * mapping fev_close() unmaps, and the engine still reads them: a failed
 * attempt copies its body into the store.
 */
static void close_when_given_back(struct fwh_source *s)
{
	if (!s->closing || s->held > 0)
		return;
	fev_close(s->q);
	s->q = NULL;
	s->closing = false;
}

static void *source_main(void *arg)
{
	struct fwh_source *s = arg;
	fev_event evs[ACQUIRE_BATCH];

	for (;;) {
		size_t room;
		int n;

		release_done(s);
		close_when_given_back(s);
		pthread_mutex_lock(&s->lock);
		if (s->stop) {
			pthread_mutex_unlock(&s->lock);
			break;
		}
		room = s->closing ? 0 : s->held_max - s->held;
		if (room == 0) {
			/* Backpressure, or a failed handle: wait for the
			 * engine to hand some back. */
			struct timespec t;

			clock_gettime(CLOCK_REALTIME, &t);
			t.tv_nsec += WAIT_HOLDING_NS;
			if (t.tv_nsec >= 1000000000)
				t.tv_sec++, t.tv_nsec -= 1000000000;
			pthread_cond_timedwait(&s->returned, &s->lock, &t);
			pthread_mutex_unlock(&s->lock);
			continue;
		}
		pthread_mutex_unlock(&s->lock);
		if (s->q == NULL && (n = source_open(s)) < 0) {
			complain(s, n);
			sleep_ns(REOPEN_NS);
			continue;
		}
		if (s->complained)
			fwh_log_notice("queue %s: consuming", s->queue);
		s->complained = false;
		n = fev_acquire_batch(s->q, evs,
				      room < ACQUIRE_BATCH ? room :
							     ACQUIRE_BATCH,
				      s->held > 0 ? WAIT_HOLDING_NS :
						    WAIT_IDLE_NS);
		if (n > 0)
			hand_over(s, evs, n);
		else if (n != -EAGAIN && n != -ETIMEDOUT && n != -EINTR &&
			 n != -EBADMSG) {
			complain(s, n);
			s->closing = true;
		}
	}
	release_done(s);
	return NULL;
}

int fwh_source_start(const char *instance, const char *topic, uint32_t k,
		     const char *group, int start, size_t held_max,
		     struct fwh_source **out)
{
	struct fwh_source *s = calloc(1, sizeof(*s));
	int rc;

	if (s == NULL)
		return -ENOMEM;
	s->ready_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->ready_fd < 0) {
		rc = -errno;
		free(s);
		return rc;
	}
	if (instance != NULL)
		snprintf(s->instance, sizeof(s->instance), "%s", instance);
	snprintf(s->topic, sizeof(s->topic), "%s", topic);
	snprintf(s->group, sizeof(s->group), "%s", group);
	s->start = start;
	if (k == 0)
		snprintf(s->queue, sizeof(s->queue), "%s", topic);
	else
		snprintf(s->queue, sizeof(s->queue), "%s@%u", topic, k);
	s->held_max = held_max;
	s->ready_tail = &s->ready;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->returned, NULL);
	rc = -pthread_create(&s->thread, NULL, source_main, s);
	if (rc < 0) {
		close(s->ready_fd);
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void fwh_source_stop(struct fwh_source *s)
{
	struct fwh_event *e, *next;

	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_signal(&s->returned);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	/* What the engine never took stays held until close: the ring hands
	 * it to the next consumer, flagged FEV_REDELIVERED. */
	for (e = s->ready; e != NULL; e = next) {
		next = e->next;
		free(e);
	}
	if (s->q != NULL)
		fev_close(s->q);
	close(s->ready_fd);
	pthread_cond_destroy(&s->returned);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

const char *fwh_source_queue(const struct fwh_source *s)
{
	return s->queue;
}

const char *fwh_source_topic(const struct fwh_source *s)
{
	return s->topic;
}

const char *fwh_source_group(const struct fwh_source *s)
{
	return s->group;
}

int fwh_source_fd(const struct fwh_source *s)
{
	return s->ready_fd;
}

struct fwh_event *fwh_source_take(struct fwh_source *s)
{
	struct fwh_event *list;
	eventfd_t n;

	eventfd_read(s->ready_fd, &n); /* drained first: see hand_over() */
	pthread_mutex_lock(&s->lock);
	list = s->ready;
	s->ready = NULL;
	s->ready_tail = &s->ready;
	pthread_mutex_unlock(&s->lock);
	return list;
}

void fwh_source_done(struct fwh_event *e)
{
	struct fwh_source *s = e->src;

	pthread_mutex_lock(&s->lock);
	e->next = s->done;
	s->done = e;
	pthread_cond_signal(&s->returned);
	pthread_mutex_unlock(&s->lock);
}
