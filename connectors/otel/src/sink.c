/*
 * Hops to spans (sink.h): a published hop is a send span at once; an
 * acquired hop opens a process span that the same member's released hop
 * ends (same topic, event span, pid and group); a redelivered acquisition
 * ends the other members' open spans of that event as abandoned (the
 * holder died, repair gave the event back).
 */
#include "sink.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int fot_sink_init(struct fot_sink *s, size_t batch_size, uint64_t open_ttl_ns)
{
	memset(s, 0, sizeof(*s));
	/* Two spans of headroom: fot_sink_room() lets in a hop that may add
	 * two (an eviction and its own). */
	s->cap = batch_size + 2;
	s->batch = calloc(s->cap, sizeof(*s->batch));
	s->open_ttl_ns = open_ttl_ns;
	return s->batch == NULL ? -ENOMEM : 0;
}

void fot_sink_free(struct fot_sink *s)
{
	free(s->batch);
	s->batch = NULL;
}

bool fot_sink_room(const struct fot_sink *s)
{
	return s->n + 2 <= s->cap;
}

static void add(struct fot_sink *s, const struct fevotlp_span *sp,
		uint64_t now_ns)
{
	if (s->n == 0)
		s->first_ns = now_ns;
	s->batch[s->n++] = *sp;
}

static void close_open(struct fot_sink *s, size_t i, uint64_t now_ns)
{
	add(s, &s->open[i].span, now_ns);
	s->open[i].used = false;
	s->nopen--;
}

static bool same_member(const struct fevotlp_span *o, const char *topic,
			const struct fev__hop *h)
{
	return o->pid == h->pid && memcmp(o->parent, h->span_id, 8) == 0 &&
	       strcmp(o->topic, topic) == 0 &&
	       strncmp(o->group, h->group, sizeof(o->group)) == 0;
}

/* A redelivery: the members that held the event before are gone. */
static void abandon(struct fot_sink *s, const char *topic,
		    const struct fev__hop *h, uint64_t now_ns)
{
	for (size_t i = 0; i < FOT_OPEN_MAX && s->n + 1 < s->cap; i++) {
		struct fevotlp_span *o = &s->open[i].span;

		if (s->open[i].used && o->pid != h->pid &&
		    memcmp(o->parent, h->span_id, 8) == 0 &&
		    strcmp(o->topic, topic) == 0 &&
		    strncmp(o->group, h->group, sizeof(o->group)) == 0) {
			fevotlp_span_end(o, FEVOTLP_ABANDONED, h->time_ns);
			close_open(s, i, now_ns);
		}
	}
}

static void open_span(struct fot_sink *s, const char *topic, uint64_t t,
		      const struct fev__hop *h, uint64_t now_ns)
{
	size_t slot = FOT_OPEN_MAX, oldest = 0;

	for (size_t i = 0; i < FOT_OPEN_MAX; i++) {
		if (!s->open[i].used) {
			slot = i;
			break;
		}
		if (s->open[i].open_ns < s->open[oldest].open_ns)
			oldest = i;
	}
	if (slot == FOT_OPEN_MAX) { /* full: the oldest goes out open */
		close_open(s, oldest, now_ns);
		slot = oldest;
	}
	fevotlp_process_span(h, topic, NULL, &s->open[slot].span);
	s->open[slot].ticket = t;
	s->open[slot].open_ns = now_ns;
	s->open[slot].used = true;
	s->nopen++;
}

static void release(struct fot_sink *s, const char *topic,
		    const struct fev__hop *h, uint64_t now_ns)
{
	for (size_t i = 0; i < FOT_OPEN_MAX; i++)
		if (s->open[i].used && same_member(&s->open[i].span, topic, h)) {
			fevotlp_span_end(&s->open[i].span, FEVOTLP_RELEASED,
					 h->time_ns);
			close_open(s, i, now_ns);
			return;
		}
	/* Its acquisition was before our cursor, or exported open already
	 * (evicted, expired): nothing to end. */
}

void fot_sink_hop(struct fot_sink *s, const char *topic, uint64_t t,
		  const struct fev__hop *h, uint64_t now_ns)
{
	struct fevotlp_span sp;

	switch (h->kind) {
	case FEV__HOP_PUBLISHED:
		fevotlp_send_span(h, topic, &sp);
		add(s, &sp, now_ns);
		break;
	case FEV__HOP_ACQUIRED:
		if (h->flags & FEV_REDELIVERED)
			abandon(s, topic, h, now_ns);
		open_span(s, topic, t, h, now_ns);
		break;
	default: /* FEV__HOP_RELEASED: fev__hops_read_at() checked kinds */
		release(s, topic, h, now_ns);
		break;
	}
}

void fot_sink_expire(struct fot_sink *s, uint64_t now_ns)
{
	for (size_t i = 0; i < FOT_OPEN_MAX && s->nopen > 0 && s->n < s->cap;
	     i++)
		if (s->open[i].used &&
		    now_ns - s->open[i].open_ns >= s->open_ttl_ns)
			close_open(s, i, now_ns);
}

uint64_t fot_sink_hold(const struct fot_sink *s, const char *topic,
		       uint64_t limit)
{
	for (size_t i = 0; i < FOT_OPEN_MAX; i++)
		if (s->open[i].used && s->open[i].ticket < limit &&
		    strcmp(s->open[i].span.topic, topic) == 0)
			limit = s->open[i].ticket;
	return limit;
}
