/*
 * Where followed hops become spans (sink.c): the batch waiting for its
 * POST and the process spans still open (acquired, not yet released).
 * Both bounded: the batch by batch_size (a full batch stops the reading,
 * so a collector that is away costs missed hops, never memory), the open
 * spans by FOT_OPEN_MAX (the oldest is exported open to make room).
 */
#ifndef FOT_SINK_H
#define FOT_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fevotlp.h"
#include "hops.h"

#define FOT_OPEN_MAX 1024

struct fot_open {
	struct fevotlp_span span;
	uint64_t ticket;  /* of its acquired hop, in its topic's ring */
	uint64_t open_ns; /* CLOCK_MONOTONIC when it was read */
	bool used;
};

struct fot_sink {
	struct fevotlp_span *batch;
	size_t n, cap;
	uint64_t first_ns; /* CLOCK_MONOTONIC of the batch's first span */
	struct fot_open open[FOT_OPEN_MAX];
	size_t nopen;
	uint64_t open_ttl_ns;
};

/* 0 or -ENOMEM. */
int fot_sink_init(struct fot_sink *s, size_t batch_size, uint64_t open_ttl_ns);
void fot_sink_free(struct fot_sink *s);

/* Room for one more hop (each adds at most two spans). */
bool fot_sink_room(const struct fot_sink *s);

/* The hop of ticket t of topic's ring, read at now_ns (monotonic). */
void fot_sink_hop(struct fot_sink *s, const char *topic, uint64_t t,
		  const struct fev__hop *h, uint64_t now_ns);

/* Export open spans older than the ttl as they are (their release never
 * came: a consumer still processing, or one that died). */
void fot_sink_expire(struct fot_sink *s, uint64_t now_ns);

/* The lowest ticket of topic's ring an open span still needs (its
 * acquired hop), or limit when none is lower: a saved cursor goes no
 * further, so a restart reads that hop again. */
uint64_t fot_sink_hold(const struct fot_sink *s, const char *topic,
		       uint64_t limit);

#endif /* FOT_SINK_H */
