/*
 * The Prometheus series of fev-nats, defined once: written by `fev-nats
 * status --prometheus` (connectors/nats/src/status.c), which `fev stat
 * --prometheus` includes for a configured bridge.  Header only, so the
 * connector needs none of fevprom's library.
 */
#ifndef FEVPROM_NATS_H
#define FEVPROM_NATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FEVPROM_NATS_PREFIX "fev_nats_"

/* One [out]'s counters (fev -> JetStream). */
struct fevprom_nats_out {
	int64_t published, acked, duplicates, in_flight, resent, too_large,
		released;
};

/* One [in]'s counters (JetStream -> fev). */
struct fevprom_nats_in {
	int64_t fetched, committed, redelivered, terminated, in_progress;
};

struct fevprom_nats_series {
	const char *name, *type, *help, *key; /* key: in the status file */
	size_t off; /* of an int64_t in the struct above */
};

#define FEVPROM_NATS_OUT(f, n, t, h)                                   \
	{ n, t, h, #f, offsetof(struct fevprom_nats_out, f) }
#define FEVPROM_NATS_IN(f, n, t, h)                                    \
	{ n, t, h, #f, offsetof(struct fevprom_nats_in, f) }

static const struct fevprom_nats_series fevprom_nats_out_series[] = {
	FEVPROM_NATS_OUT(published, "out_published_total", "counter",
			 "events published to JetStream (first sends)"),
	FEVPROM_NATS_OUT(acked, "out_acked_total", "counter",
			 "PubAcks received, duplicates included"),
	FEVPROM_NATS_OUT(duplicates, "out_duplicates_total", "counter",
			 "PubAcks that JetStream marked duplicate"),
	FEVPROM_NATS_OUT(in_flight, "out_in_flight", "gauge",
			 "events published and not yet acknowledged"),
	FEVPROM_NATS_OUT(resent, "out_resent_total", "counter",
			 "events published again after a failure"),
	FEVPROM_NATS_OUT(too_large, "out_too_large_total", "counter",
			 "events held because they exceed max_payload"),
	FEVPROM_NATS_OUT(released, "out_released_total", "counter",
			 "fev events released after their PubAck"),
};

static const struct fevprom_nats_series fevprom_nats_in_series[] = {
	FEVPROM_NATS_IN(fetched, "in_fetched_total", "counter",
			"messages fetched from JetStream"),
	FEVPROM_NATS_IN(committed, "in_committed_total", "counter",
			"messages written into fev and acked"),
	FEVPROM_NATS_IN(redelivered, "in_redelivered_total", "counter",
			"of those, delivered more than once (flagged)"),
	FEVPROM_NATS_IN(terminated, "in_terminated_total", "counter",
			"messages terminated: they can never be written"),
	FEVPROM_NATS_IN(in_progress, "in_in_progress_total", "counter",
			"InProgress acks sent while the topic was full"),
};

#endif /* FEVPROM_NATS_H */
