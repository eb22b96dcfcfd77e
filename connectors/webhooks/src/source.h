/*
 * Where events come from: one consumer handle per ring, used by the engine
 * thread alone (libfev's rule for a handle), no thread of its own.  To the
 * engine a source is: poll (fev_fd()'s descriptor, readable when the ring
 * has events, polled in curl_multi_poll() with the request sockets), wait
 * (fev_wait_any() on every ring, when no request is in flight), take
 * (fev_acquire_batch() with timeout 0, never blocking), arm (the same until
 * the ring is found empty, which re-arms the descriptor: only before a
 * sleep in curl_multi_poll(), so fev_fd()'s helper thread sleeps on the
 * ring, and is woken by a publish, only while the engine sleeps on its
 * sockets) and done (fev_release()).  This replaced a consumer thread per ring that handed
 * events over through a list and an eventfd: the producer woke that
 * thread, which woke the engine; now the producer wakes the engine, or the
 * engine finds the event at its next pass without sleeping at all
 * (README.md, Performance).
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

#include <curl/curl.h>
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
 * Consume partition k of topic of instance (NULL: the default) as group
 * (created with start, FEV_GROUP_*, when absent), from the engine thread.
 * At most held_max events are held at once (backpressure on the ring
 * rather than on memory).  Opened by the first take (a topic not there
 * yet is waited for).  0 or -ENOMEM.
 */
int fwh_source_start(const char *instance, const char *topic, uint32_t k,
		     const char *group, int start, size_t held_max,
		     struct fwh_source **out);
/* Release nothing more (held events come back to the next member of the
 * group as redeliveries: at least once), close the handle. */
void fwh_source_stop(struct fwh_source *s);
/* The ring's name ("T@k"; webhook-ids derive from it), and its topic's. */
const char *fwh_source_queue(const struct fwh_source *s);
const char *fwh_source_topic(const struct fwh_source *s);
const char *fwh_source_group(const struct fwh_source *s);

/*
 * What to wait for before the next take: w gets the descriptor to poll
 * (fd -1: none now: the source is full, failed or not open).  Returns the
 * most milliseconds to wait before the next take, or -1 for no limit.
 */
int fwh_source_poll(const struct fwh_source *s, struct curl_waitfd *w);
/*
 * With no request in flight there is no socket to watch: sleep on the
 * rings alone, fev_wait_any() on their handles, until one has events or
 * timeout_ms passes.  The producer's wake then reaches this thread
 * directly, not through fev_fd()'s helper thread and its descriptor (one
 * wake instead of two: the idle endpoint's event-to-request latency).
 * 0 (look), or -ENOTSUP when a source cannot be waited on so (not open,
 * failed, full, or more than FEV_WAIT_ANY_MAX): poll instead.
 */
int fwh_sources_wait(struct fwh_source *const *srcs, size_t n,
		     int timeout_ms);

/* The events ready now, oldest first; never blocks (engine thread).
 * Leaves fev_fd()'s descriptor as it is. */
struct fwh_event *fwh_source_take(struct fwh_source *s);
/* The same, until the ring is found empty, which re-arms the descriptor:
 * before a sleep in curl_multi_poll() (events returned: do not sleep). */
struct fwh_event *fwh_source_arm(struct fwh_source *s);
/* The engine is done with e: release it from the ring. */
void fwh_source_done(struct fwh_event *e);

#endif /* FWH_SOURCE_H */
