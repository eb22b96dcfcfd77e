/*
 * Where events come from.  To the engine a source is three calls: a
 * descriptor that is readable when events are ready (polled in
 * curl_multi_poll() with the request sockets), take (the ready events,
 * never blocking) and done (release one).  Today one consumer thread per
 * ring blocks in fev_acquire_batch(), hands the events over and makes the
 * descriptor (an eventfd) readable; the handle is used by that thread
 * only, as libfev asks, so done() hands events back for it to release.
 * With libfev's fev_fd() the engine thread can read the ring itself: fd is
 * fev_fd(), take is fev_acquire_batch() with timeout 0, done is
 * fev_release(), and this file is all that changes.  Measured, that was no
 * faster (fev_fd() is a helper thread and an eventfd too: README.md,
 * Performance), so the hand-over stays.
 *
 * Events are zero copy: an event's payload stays in the ring, held, until
 * the engine says it was delivered or is safely in the store.
 *
 * A topic of P partitions is P sources, one per partition ring ("T",
 * "T@1" .. as fev.h names them).  A topic is read as a consumer group (an
 * endpoint's, "webhooks-NAME" by default), created when absent, so
 * fev-webhooks sees every event of the topic whoever else reads it, and
 * a group redelivers an event in place (same id): webhook-id derives from
 * it.  A queue has neither (its consumers share its events; a redelivery
 * is a copy with a new id), so a queue is refused: FWH_QUEUE_REFUSED.
 */
#ifndef FWH_SOURCE_H
#define FWH_SOURCE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fev/fev.h"

struct fwh_source;

/* Why a queue is not read (config key `queue`, or a topic's name that is a
 * queue's); two %s: the name, twice. */
#define FWH_QUEUE_REFUSED                                                   \
	"queue '%s' refused: fev-webhooks reads topics, each endpoint as "     \
	"a consumer group of its own (a queue's consumers share its events, " \
	"and a queue redelivers under a new event id): use topic = NAME, "    \
	"a topic made with 'fev topic create %s --partitions P'"

/* One event the engine holds; freed by fwh_source_done(). */
struct fwh_event {
	struct fwh_source *src;
	struct fwh_event *next; /* in the handover lists */
	fev_event ev;           /* payload, id, ts, flags */
	uint64_t created_ns;    /* of the ring it came from (webhook-id) */
	int refs;               /* deliveries still deciding (engine only) */
};

/*
 * Start consuming partition k of topic of instance (NULL: the default) as
 * group (created with start, FEV_GROUP_*, when absent).  At most held_max
 * events are held at once (backpressure on the ring rather than on
 * memory).  0, -ENOMEM, -EMFILE, or an error of pthread_create().
 */
int fwh_source_start(const char *instance, const char *topic, uint32_t k,
		     const char *group, int start, size_t held_max,
		     struct fwh_source **out);
/* Stop the thread, release nothing more (held events come back to the
 * next consumer as redeliveries: at least once), close the queue. */
void fwh_source_stop(struct fwh_source *s);
/* The ring's name ("T@k"; webhook-ids derive from it), and its topic's. */
const char *fwh_source_queue(const struct fwh_source *s);
const char *fwh_source_topic(const struct fwh_source *s);
const char *fwh_source_group(const struct fwh_source *s);

/* Readable when fwh_source_take() has events (engine thread: poll it). */
int fwh_source_fd(const struct fwh_source *s);
/* The events ready now, oldest first; never blocks (engine thread). */
struct fwh_event *fwh_source_take(struct fwh_source *s);
/* The engine is done with e: release it from the ring (engine thread). */
void fwh_source_done(struct fwh_event *e);

#endif /* FWH_SOURCE_H */
