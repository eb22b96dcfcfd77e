/*
 * Trace context on the send path (trace.c): what a send adds to the
 * caller's headers when it names a cause, and whether the event it sends
 * is sampled.  The W3C parsing and formatting themselves are public
 * (fev_traceparent_parse(), fev_traceparent_format() in fev.h).
 */
#ifndef FEV_TRACE_H
#define FEV_TRACE_H

#include <stdbool.h>
#include <stdint.h>

#include "fev/fev.h"

/*
 * A send's trace: the headers the library adds (traceparent, then the
 * cause's tracestate), and, when sampled, the ids its hops record.
 */
struct fev__send_trace {
	fev_header add[2];
	uint32_t n_add;
	bool sampled;
	fev_trace_context ctx;  /* this event's context (sampled only) */
	uint8_t parent_span[8]; /* the cause's span id; zero: none */
	char traceparent[FEV_TRACEPARENT_LEN + 1];
};

/*
 * Look at o once before a send (o NULL or without headers or cause: 0 and
 * nothing to do, after one branch).  A cause with a valid traceparent
 * gives the event a child context (same trace id and flags, a new span
 * id) and the cause's tracestate; a traceparent among o's headers is the
 * event's own.  0, or -EINVAL (a cause and a traceparent or tracestate of
 * the caller's together, or options too short for a cause).
 */
int fev__send_trace_prepare(const fev_send_opts *o, struct fev__send_trace *t);

/* Eight random bytes, never all zero (a span id). */
void fev__trace_random_span(uint8_t out[8]);

/* The id bytes of ctx as lowercase hex (2n characters and a NUL). */
void fev__hex(const uint8_t *bytes, size_t n, char *out);

#endif /* FEV_TRACE_H */
