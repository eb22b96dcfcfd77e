#include "source.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wlog.h"

#define ACQUIRE_BATCH 64
#define TAKE_MAX (4 * ACQUIRE_BATCH) /* per take: the engine's pass goes on */
#define REOPEN_MS 500

struct fwh_source {
	char instance[FEV_INSTANCE_MAX + 1];
	char topic[FEV_NAME_MAX + 1];
	char queue[FEV_NAME_MAX + 8]; /* "T@k", as fev.h names partitions */
	char group[FEV_GROUP_NAME_MAX + 1];
	int start;
	size_t held_max, held;
	fev_queue *q;
	int fd;       /* fev_fd(q): readable when q has events */
	bool closing; /* q failed: closed once the engine gave all back */
	bool complained;
	int64_t reopen_at_ms; /* CLOCK_MONOTONIC */
};

static int64_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/*
 * Open the source: the one place that names what is consumed.  The group is
 * created first if absent (on every partition: the sources of the other
 * partitions get -EEXIST); a queue has no groups (-EINVAL: the config
 * checked the names) and is refused, said once until it is a topic.
 * Created with the library call rather than through fevd: a consumer may
 * write the segment, while fevd's group-create verb is for administrators
 * only, and fev-webhooks need not be one.  The handle spins (libfev's
 * default) before fev_wait_any() sleeps: the thread spinning is the one
 * that sends the request, unlike the consumer thread this replaced, whose
 * spin took the engine's CPU.
 */
static int source_open(struct fwh_source *s)
{
	const char *inst = s->instance[0] ? s->instance : NULL;
	fev_group_config gc = { .struct_size = sizeof(gc), .start = s->start };
	fev_open_opts o = { .struct_size = sizeof(o), .instance = inst,
			    .group = s->group };
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

static void complain(struct fwh_source *s, int why)
{
	if (!s->complained)
		fwh_log_warn("queue %s: %s; opening it again", s->queue,
			     fev_strerror(why));
	s->complained = true;
}

/* Open the name and its descriptor; on failure, look again later. */
static bool opened(struct fwh_source *s)
{
	int rc;

	if (s->q != NULL)
		return true;
	if (mono_ms() < s->reopen_at_ms)
		return false;
	rc = source_open(s);
	if (rc == 0) {
		s->fd = fev_fd(s->q);
		if (s->fd < 0) {
			rc = s->fd;
			fev_close(s->q);
			s->q = NULL;
		}
	}
	if (rc < 0) {
		complain(s, rc);
		s->reopen_at_ms = mono_ms() + REOPEN_MS;
		return false;
	}
	if (s->complained)
		fwh_log_notice("queue %s: consuming", s->queue);
	s->complained = false;
	return true;
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
	fev_close(s->q); /* closes s->fd, which the engine polls no more */
	s->q = NULL;
	s->fd = -1;
	s->closing = false;
}

int fwh_source_poll(const struct fwh_source *s, struct curl_waitfd *w)
{
	w->fd = -1;
	w->events = CURL_WAIT_POLLIN;
	w->revents = 0;
	if (s->q == NULL)
		return REOPEN_MS; /* take() opens it, or looks again then */
	if (s->closing)
		return s->held == 0 ? 0 : -1; /* take() closes and reopens */
	if (s->held >= s->held_max)
		return -1; /* done() frees room; the engine passes again */
	w->fd = s->fd;
	return -1;
}

int fwh_sources_wait(struct fwh_source *const *srcs, size_t n,
		     int timeout_ms)
{
	fev_queue *qs[FEV_WAIT_ANY_MAX];
	size_t ready[FEV_WAIT_ANY_MAX];

	if (n == 0 || n > FEV_WAIT_ANY_MAX)
		return -ENOTSUP;
	for (size_t i = 0; i < n; i++) {
		if (srcs[i]->q == NULL || srcs[i]->closing ||
		    srcs[i]->held >= srcs[i]->held_max)
			return -ENOTSUP;
		qs[i] = srcs[i]->q;
	}
	/* Ready, timed out, interrupted (a signal: stop or reload) or an
	 * error that the take will meet: look either way. */
	fev_wait_any(qs, n, (int64_t)timeout_ms * 1000000, ready);
	return 0;
}

static void add(struct fwh_source *s, const fev_event *ev,
		struct fwh_event ***tail)
{
	struct fwh_event *e = calloc(1, sizeof(*e));

	s->held++;
	if (e == NULL) { /* keep it held: redelivered after a restart */
		fwh_log_err("queue %s: out of memory for an event", s->queue);
		return;
	}
	e->src = s;
	e->ev = *ev;
	e->created_ns = fev_queue_created_ns(s->q);
	**tail = e;
	*tail = &e->next;
}

/* Has the ring events (or an error the acquire will say)?  Unlike an
 * acquire that finds it empty, this leaves fev_fd()'s descriptor as it
 * is. */
static bool has_events(struct fwh_source *s)
{
	size_t ready;

	return fev_wait_any(&s->q, 1, 0, &ready) != -EAGAIN;
}

/*
 * The events ready now.  arm: take until an acquire finds the ring empty,
 * which re-arms fev_fd()'s descriptor; else only while has_events() says
 * so, which does not.  A re-arm drains the eventfd and wakes the helper
 * thread, which then sleeps on the ring, and a publish wakes it too: worth
 * it only when the engine is about to sleep on its sockets.
 */
static struct fwh_event *take(struct fwh_source *s, bool arm)
{
	struct fwh_event *first = NULL, **tail = &first;
	fev_event evs[ACQUIRE_BATCH];
	size_t taken = 0;

	close_when_given_back(s);
	if (s->closing || !opened(s))
		return NULL;
	while (taken < TAKE_MAX && s->held < s->held_max) {
		size_t room = s->held_max - s->held;
		int n;

		if (!arm && !has_events(s))
			break;
		n = fev_acquire_batch(s->q, evs,
					  room < ACQUIRE_BATCH ? room :
								 ACQUIRE_BATCH,
					  0);

		if (n == -EAGAIN)
			break;
		if (n == -EBADMSG || n == -EINTR)
			continue; /* a bad slot is skipped by libfev */
		if (n < 0) {
			complain(s, n);
			s->closing = true;
			break;
		}
		for (int i = 0; i < n; i++)
			add(s, &evs[i], &tail);
		taken += (size_t)n;
	}
	return first;
}

struct fwh_event *fwh_source_take(struct fwh_source *s)
{
	return take(s, false);
}

struct fwh_event *fwh_source_arm(struct fwh_source *s)
{
	return take(s, true);
}

void fwh_source_done(struct fwh_event *e)
{
	struct fwh_source *s = e->src;

	/* -ESTALE: repair already gave it to another consumer (this process
	 * was taken for dead): nothing to undo. */
	fev_release(s->q, &e->ev);
	s->held--;
	free(e);
}

int fwh_source_start(const char *instance, const char *topic, uint32_t k,
		     const char *group, int start, size_t held_max,
		     struct fwh_source **out)
{
	struct fwh_source *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return -ENOMEM;
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
	s->fd = -1;
	*out = s;
	return 0;
}

void fwh_source_stop(struct fwh_source *s)
{
	/* What the engine still holds stays held until this close: the
	 * group gives it to the next member, flagged FEV_REDELIVERED. */
	if (s->q != NULL)
		fev_close(s->q);
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
