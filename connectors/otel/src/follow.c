#include "follow.h"

#include <string.h>

int fot_ring_open(struct fot_ring *r, const char *instance, const char *topic,
		  bool have_saved, uint64_t saved_ino, uint64_t saved,
		  bool earliest, uint64_t now_ns)
{
	uint64_t c;
	int rc;

	memset(r, 0, sizeof(*r));
	strncpy(r->topic, topic, sizeof(r->topic) - 1);
	rc = fev__hops_open(instance, topic, false, &r->hops);
	if (rc < 0)
		return rc;
	c = fev__hops_tickets(&r->hops);
	if (have_saved && saved_ino == (uint64_t)r->hops.ino && saved <= c)
		r->next = saved;
	else if (earliest)
		r->next = c > r->hops.entries ? c - r->hops.entries : 0;
	else
		r->next = c;
	r->settled = r->next;
	r->sample = c;
	r->sample_ns = now_ns;
	r->seen = true;
	return 0;
}

void fot_ring_close(struct fot_ring *r)
{
	fev__hops_close(&r->hops);
}

/* Move `settled` on to the counter read FOT_SETTLE_NS ago. */
static void settle(struct fot_ring *r, uint64_t now_ns)
{
	uint64_t c = fev__hops_tickets(&r->hops);

	if (c < r->next) {
		/* The counter went back: forged (the file is writable by
		 * the topic's users).  Follow it from where it is. */
		r->next = r->settled = r->sample = c;
		r->sample_ns = now_ns;
		return;
	}
	if (now_ns - r->sample_ns >= FOT_SETTLE_NS) {
		r->settled = r->sample < c ? r->sample : c;
		r->sample = c;
		r->sample_ns = now_ns;
	}
	if (r->settled < r->next)
		r->settled = r->next;
}

uint64_t fot_ring_poll(struct fot_ring *r, struct fot_sink *s,
		       uint64_t now_ns)
{
	uint64_t missed = 0;
	struct fev__hop h;

	settle(r, now_ns);
	/* More than a lap behind: those are overwritten for sure. */
	if (r->settled - r->next > r->hops.entries) {
		missed = r->settled - r->hops.entries - r->next;
		r->next = r->settled - r->hops.entries;
	}
	while (r->next < r->settled && fot_sink_room(s)) {
		if (fev__hops_read_at(&r->hops, r->next, &h))
			fot_sink_hop(s, r->topic, r->next, &h, now_ns);
		else
			missed++;
		r->next++;
	}
	r->missed += missed;
	return missed;
}
