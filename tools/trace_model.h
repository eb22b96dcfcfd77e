/*
 * fev trace: the hops of one trace, gathered from every hop ring of an
 * instance (libfabric-ev/src/hops.h), as events (one per span: where it
 * was published, who took it) linked to the events that caused them.
 */
#ifndef FEV_TOOLS_TRACE_MODEL_H
#define FEV_TOOLS_TRACE_MODEL_H

#include <stdint.h>
#include <stdio.h>

#include "fev/fev.h"
#include "hops.h"

struct tr_hop {
	struct fev__hop h;
	char topic[FEV_NAME_MAX + 1];
};

struct tr_event {
	char topic[FEV_NAME_MAX + 1];
	uint32_t partition;
	uint64_t position;
	uint8_t span[8], parent[8];
	const struct tr_hop *published; /* NULL: overwritten already */
	size_t first, n; /* its hops: trace.hops[first .. first + n) */
	int cause;       /* index of the event that caused it; -1: none */
	uint64_t start_ns;
};

struct tr_trace {
	uint8_t trace_id[16];
	struct tr_hop *hops; /* by event, then time */
	size_t n_hops;
	struct tr_event *ev; /* by start time */
	size_t n_ev;
};

struct fevotlp_span;

/* The spans of t (common/otlp's, malloc'd into *out): 0, -1 out of memory
 * (trace_otlp.c). */
int tr_otlp_spans(const struct tr_trace *t, struct fevotlp_span **out,
		  size_t *n);
/* The OTLP/HTTP JSON of t (an ExportTraceServiceRequest): 0, -1 out of
 * memory (trace_otlp.c). */
int tr_otlp_json(FILE *f, const struct tr_trace *t);
/* POST it to an OTLP/HTTP collector's url (trace_post.c): an exit status,
 * after saying why on failure. */
int tr_otlp_post(const struct tr_trace *t, const char *url);

#endif /* FEV_TOOLS_TRACE_MODEL_H */
