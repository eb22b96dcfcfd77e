/*
 * The delivery engine: takes events from the sources, records each
 * delivery in the store, sends it with libcurl's multi interface (keep-alive
 * connections, many requests at once, one thread), and acts on each
 * outcome (schedule.h).  The durability rule (doc/design.md, Connectors):
 * an event is released from its ring only once it is delivered or its
 * delivery is RETRYING in the store with the log fsync'd, so a crash at any
 * instruction loses nothing and a retry days away never holds the ring.
 */
#ifndef FWH_ENGINE_H
#define FWH_ENGINE_H

#include <stdatomic.h>

#include "config.h"

struct fwh_engine;

/* Open the store, start a source per queue.  0 or -errno, reason logged. */
int fwh_engine_start(const struct fwh_config *cfg, struct fwh_engine **out);
/* Run until *stop or *reload becomes non-zero. */
void fwh_engine_run(struct fwh_engine *e, atomic_int *stop,
		    atomic_int *reload);
/* Stop the sources, abandon what is in flight (it is INFLIGHT or SENDING in
 * the store and adopted by the next start), close everything. */
void fwh_engine_stop(struct fwh_engine *e);

#endif /* FWH_ENGINE_H */
