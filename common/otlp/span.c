/*
 * Spans from hops (fevotlp.h): what each hop kind becomes.
 */
#include <string.h>

#include "fevotlp.h"

static void common(const struct fev__hop *h, const char *topic,
		   struct fevotlp_span *s)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->trace_id, h->trace_id, sizeof(s->trace_id));
	strncpy(s->topic, topic, sizeof(s->topic) - 1);
	s->partition = h->partition;
	s->position = h->position;
	s->start_ns = s->end_ns = h->time_ns;
	s->pid = h->pid;
	/* Cut at the array's end: a hop is untrusted input. */
	memcpy(s->comm, h->comm, sizeof(s->comm) - 1);
}

void fevotlp_send_span(const struct fev__hop *pub, const char *topic,
		       struct fevotlp_span *s)
{
	common(pub, topic, s);
	s->op = FEVOTLP_SEND;
	memcpy(s->span_id, pub->span_id, sizeof(s->span_id));
	memcpy(s->parent, pub->parent_span, sizeof(s->parent));
}

/* FNV-1a over the event's span, the pid and the time; never zero. */
static void process_span_id(const struct fev__hop *acq, uint8_t out[8])
{
	uint64_t x = 0xcbf29ce484222325u;

	for (int i = 0; i < 8; i++)
		x = (x ^ acq->span_id[i]) * 0x100000001b3u;
	x = (x ^ (uint64_t)(uint32_t)acq->pid) * 0x100000001b3u;
	x = (x ^ acq->time_ns) * 0x100000001b3u;
	x |= 1;
	memcpy(out, &x, 8);
}

void fevotlp_process_span(const struct fev__hop *acq, const char *topic,
			  const struct fev__hop *rel, struct fevotlp_span *s)
{
	common(acq, topic, s);
	s->op = FEVOTLP_PROCESS;
	process_span_id(acq, s->span_id);
	memcpy(s->parent, acq->span_id, sizeof(s->parent));
	memcpy(s->group, acq->group, sizeof(s->group) - 1);
	s->redelivered = (acq->flags & FEV_REDELIVERED) != 0;
	s->end = FEVOTLP_OPEN;
	if (rel != NULL)
		fevotlp_span_end(s, FEVOTLP_RELEASED, rel->time_ns);
}

void fevotlp_span_end(struct fevotlp_span *s, enum fevotlp_end how,
		      uint64_t end_ns)
{
	s->end = how;
	/* Clocks of two processes: never an end before the start. */
	s->end_ns = end_ns > s->start_ns ? end_ns : s->start_ns;
}
