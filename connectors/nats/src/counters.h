/*
 * fev-nats' counters: what `fev-nats status` (and so `fev stat`) shows.
 * Several threads add to them (a partition's thread, libnats' callback
 * threads); each is an atomic with relaxed order (N1 in doc/design.md's
 * table): a statistic, it hands nothing over and pairs with nothing.
 */
#ifndef FNB_COUNTERS_H
#define FNB_COUNTERS_H

#include <stdatomic.h>
#include <stdint.h>

struct fnb_out_counters {
	atomic_uint_fast64_t published;  /* handed to js_PublishMsgAsync */
	atomic_uint_fast64_t acked;      /* PubAcks, duplicates included */
	atomic_uint_fast64_t duplicates; /* PubAcks that said Duplicate */
	atomic_uint_fast64_t in_flight;  /* gauge: published, not acked */
	atomic_uint_fast64_t resent;     /* published again after an error */
	atomic_uint_fast64_t too_large;  /* events held over max_payload */
	atomic_uint_fast64_t released;   /* fev events released */
};

struct fnb_in_counters {
	atomic_uint_fast64_t fetched;     /* messages fetched */
	atomic_uint_fast64_t committed;   /* written into the fev topic */
	atomic_uint_fast64_t redelivered; /* of those, NumDelivered > 1 */
	atomic_uint_fast64_t terminated;  /* Term: can never be written */
	atomic_uint_fast64_t in_progress; /* InProgress while fev was full */
};

struct fnb_counters {
	atomic_uint_fast64_t reconnects;
	atomic_int connected; /* 1 while connected */
};

static inline void fnb_add(atomic_uint_fast64_t *c, uint64_t n)
{
	/* N1: relaxed, a statistic (see above). */
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static inline void fnb_sub(atomic_uint_fast64_t *c, uint64_t n)
{
	/* N1 */
	atomic_fetch_sub_explicit(c, n, memory_order_relaxed);
}

static inline uint64_t fnb_get(atomic_uint_fast64_t *c)
{
	/* N1 */
	return atomic_load_explicit(c, memory_order_relaxed);
}

#endif /* FNB_COUNTERS_H */
