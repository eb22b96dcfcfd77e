/*
 * Where events come from: one consumer per source queue, on a thread of its
 * own that blocks in fev_acquire_batch() and hands events to the engine
 * (which waits in curl_multi_poll(), woken by curl_multi_wakeup()).  The
 * handle is used by this thread only, as libfev asks: the engine hands
 * back the events it is done with and the thread releases them.
 *
 * Events are zero copy: an event's payload stays in the ring, held, until
 * the engine says it was delivered or is safely in the store.
 *
 * A topic of P partitions is P sources, one per partition ring ("T",
 * "T@1" .. as fev.h names them); a queue is a topic of one.  A topic is
 * read as a consumer group (an endpoint's, "webhooks-NAME" by default),
 * created when absent, so fev-webhooks sees every event of the topic
 * whoever else reads it; a queue has no groups and its consumers share
 * its events.
 */
#ifndef FWH_SOURCE_H
#define FWH_SOURCE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fev/fev.h"

struct fwh_source;

/* One event the engine holds; freed by fwh_source_done(). */
struct fwh_event {
	struct fwh_source *src;
	struct fwh_event *next; /* in the handover lists */
	fev_event ev;           /* payload, id, ts, flags */
	int refs;               /* deliveries still deciding (engine only) */
};

typedef void fwh_wake_fn(void *arg);

/*
 * Start consuming partition k of topic (a queue: k 0) of instance (NULL:
 * the default) as group (created with start, FEV_GROUP_*, when absent).
 * per_group: it serves the endpoints of that group only (a topic), rather
 * than every endpoint naming topic (a queue).  At most held_max events are held at once (backpressure on
 * the ring rather than on memory).  wake(arg) is called from the source
 * thread when events are ready.
 */
int fwh_source_start(const char *instance, const char *topic, uint32_t k,
		     const char *group, int start, bool per_group,
		     size_t held_max, fwh_wake_fn *wake, void *arg,
		     struct fwh_source **out);
/* Stop the thread, release nothing more (held events come back to the
 * next consumer as redeliveries: at least once), close the queue. */
void fwh_source_stop(struct fwh_source *s);
/* The ring's name ("T@k"; webhook-ids derive from it), and its topic's. */
const char *fwh_source_queue(const struct fwh_source *s);
const char *fwh_source_topic(const struct fwh_source *s);
const char *fwh_source_group(const struct fwh_source *s);
bool fwh_source_per_group(const struct fwh_source *s);

/* The events acquired since the last call, oldest first (engine thread). */
struct fwh_event *fwh_source_take(struct fwh_source *s);
/* The engine is done with e: release it from the ring (engine thread). */
void fwh_source_done(struct fwh_event *e);

#endif /* FWH_SOURCE_H */
