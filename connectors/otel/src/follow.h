/*
 * Following one topic's hop ring (follow.c): which tickets are new, which
 * were lost.  A ring's tickets are handed out by one counter (T2) and
 * each names its entry (ticket % entries); the follower keeps `next`, the
 * first ticket it has not handled, and hands every ticket below `settled`
 * to the sink exactly once: the entry when it still holds that ticket
 * whole (fev__hops_read_at()), else one missed hop (overwritten by a later
 * lap, torn, or its writer died).
 *
 * `settled` is the ticket counter as read FOT_SETTLE_NS earlier: a writer
 * holds its entry for the few stores of one hop, so an entry whose ticket
 * was handed out that long ago is finished or will never be (a writer
 * descheduled for longer loses its hop, counted missed).
 */
#ifndef FOT_FOLLOW_H
#define FOT_FOLLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "fev/fev.h"
#include "hops.h"
#include "sink.h"

#define FOT_SETTLE_NS (200ull * 1000 * 1000)

struct fot_ring {
	char topic[FEV_NAME_MAX + 1];
	struct fev__hops hops;
	uint64_t next;    /* first ticket not handled */
	uint64_t settled; /* tickets below it are final */
	uint64_t sample, sample_ns; /* the counter, and when it was read */
	uint64_t missed;
	bool seen; /* still in /dev/shm at the last rescan */
};

/*
 * Map topic's ring of instance and place the cursor: at saved when the
 * state file had one for this very ring (ino), else at the oldest entry
 * it holds (earliest) or at its end (latest).  0, or an error of
 * fev__hops_open().
 */
int fot_ring_open(struct fot_ring *r, const char *instance, const char *topic,
		  bool have_saved, uint64_t saved_ino, uint64_t saved,
		  bool earliest, uint64_t now_ns);
void fot_ring_close(struct fot_ring *r);

/* Hand the settled new hops to s while it has room; how many missed
 * hops this call found. */
uint64_t fot_ring_poll(struct fot_ring *r, struct fot_sink *s,
		       uint64_t now_ns);

#endif /* FOT_FOLLOW_H */
