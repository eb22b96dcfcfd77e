/*
 * A trace as OTLP/HTTP JSON (opentelemetry-proto, ExportTraceServiceRequest
 * in its JSON mapping: ids as hex, 64-bit integers and times as decimal
 * strings, enums as numbers), with the spans the OpenTelemetry messaging
 * semantic conventions describe:
 *
 *   send TOPIC     PRODUCER, one per event: its span id is the event's
 *                  traceparent span; a follow-up's parent is its cause's
 *   process TOPIC  CONSUMER, one per acquisition by a group member, from
 *                  acquired to released, child of the send span and
 *                  LINKED to it (the creation context)
 *
 * Attributes: messaging.system "fev", messaging.operation.type and .name,
 * messaging.destination.name, messaging.destination.partition.id,
 * messaging.consumer.group.name, messaging.message.id; one resource per
 * process (service.name its name, process.pid).
 */
#include <inttypes.h>
#include <string.h>

#include "cli.h"
#include "fev/version.h"
#include "trace.h" /* libfev's: fev__hex() */
#include "trace_model.h"

#define KIND_PRODUCER 4 /* opentelemetry.proto.trace.v1.Span.SpanKind */
#define KIND_CONSUMER 5

static void attr_str(FILE *f, bool *first, const char *key, const char *v)
{
	fprintf(f, "%s{\"key\":\"%s\",\"value\":{\"stringValue\":",
		*first ? "" : ",", key);
	out_json_string(f, v, strlen(v));
	fputs("}}", f);
	*first = false;
}

static void attr_common(FILE *f, const struct tr_event *e, const char *op)
{
	char part[16], id[FEV_NAME_MAX + 48];
	bool first = true;

	snprintf(part, sizeof(part), "%" PRIu32, e->partition);
	snprintf(id, sizeof(id), "%s:%" PRIu32 ":%" PRIu64, e->topic,
		 e->partition, e->position);
	attr_str(f, &first, "messaging.system", "fev");
	attr_str(f, &first, "messaging.operation.type", op);
	attr_str(f, &first, "messaging.operation.name", op);
	attr_str(f, &first, "messaging.destination.name", e->topic);
	attr_str(f, &first, "messaging.destination.partition.id", part);
	attr_str(f, &first, "messaging.message.id", id);
}

/* A process span's id: its event's span mixed with pid and time, so
 * each acquisition has its own and the same trace exports the same. */
static void process_span_id(const struct tr_event *e, const struct tr_hop *h,
			    uint8_t out[8])
{
	uint64_t x = 0xcbf29ce484222325u;

	for (int i = 0; i < 8; i++)
		x = (x ^ e->span[i]) * 0x100000001b3u;
	x = (x ^ (uint64_t)(uint32_t)h->h.pid) * 0x100000001b3u;
	x = (x ^ h->h.time_ns) * 0x100000001b3u;
	x |= 1; /* never zero */
	memcpy(out, &x, 8);
}

static void span_open(FILE *f, bool *first, const char *trace,
		      const uint8_t span[8], const uint8_t *parent,
		      const char *name, const char *topic, int kind,
		      uint64_t start, uint64_t end)
{
	char s[17], p[17];

	fev__hex(span, 8, s);
	fprintf(f, "%s{\"traceId\":\"%s\",\"spanId\":\"%s\"", *first ? "" : ",",
		trace, s);
	if (parent != NULL) {
		fev__hex(parent, 8, p);
		fprintf(f, ",\"parentSpanId\":\"%s\"", p);
	}
	fputs(",\"name\":", f);
	{
		char n[FEV_NAME_MAX + 16];

		snprintf(n, sizeof(n), "%s %s", name, topic);
		out_json_string(f, n, strlen(n));
	}
	fprintf(f, ",\"kind\":%d,\"startTimeUnixNano\":\"%" PRIu64
		   "\",\"endTimeUnixNano\":\"%" PRIu64 "\",\"attributes\":[",
		kind, start, end);
	*first = false;
}

/* The released hop after acquisition k by the same member, if any. */
static const struct tr_hop *release_of(const struct tr_trace *t,
				       const struct tr_event *e, size_t k)
{
	for (size_t j = k + 1; j < e->first + e->n; j++) {
		const struct tr_hop *h = &t->hops[j];

		if (h->h.pid == t->hops[k].h.pid &&
		    strcmp(h->h.group, t->hops[k].h.group) == 0) {
			if (h->h.kind == FEV__HOP_RELEASED)
				return h;
			if (h->h.kind == FEV__HOP_ACQUIRED)
				return NULL;
		}
	}
	return NULL;
}

/* The spans of process pid (its hops in every event). */
static void spans_of(FILE *f, const struct tr_trace *t, int32_t pid,
		     const char *trace)
{
	static const uint8_t none[8];
	bool first = true;

	for (size_t i = 0; i < t->n_ev; i++) {
		const struct tr_event *e = &t->ev[i];

		for (size_t k = e->first; k < e->first + e->n; k++) {
			const struct tr_hop *h = &t->hops[k], *r;
			uint8_t ps[8];
			char s[17];

			if (h->h.pid != pid || h->h.kind == FEV__HOP_RELEASED)
				continue;
			if (h->h.kind == FEV__HOP_PUBLISHED) {
				bool caused = memcmp(e->parent, none, 8) != 0;

				span_open(f, &first, trace, e->span,
					  caused ? e->parent : NULL, "send",
					  e->topic, KIND_PRODUCER, h->h.time_ns,
					  h->h.time_ns);
				attr_common(f, e, "send");
				fputs("]}", f);
				continue;
			}
			r = release_of(t, e, k);
			process_span_id(e, h, ps);
			span_open(f, &first, trace, ps, e->span, "process",
				  e->topic, KIND_CONSUMER, h->h.time_ns,
				  r ? r->h.time_ns : h->h.time_ns);
			attr_common(f, e, "process");
			if (h->h.group[0] != '\0') {
				bool no = false;

				attr_str(f, &no, "messaging.consumer.group.name",
					 h->h.group);
			}
			if (h->h.flags & FEV_REDELIVERED) {
				bool no = false;

				attr_str(f, &no, "fev.redelivered", "true");
			}
			fev__hex(e->span, 8, s);
			fprintf(f, "],\"links\":[{\"traceId\":\"%s\","
				   "\"spanId\":\"%s\"}]}",
				trace, s);
		}
	}
}

void tr_otlp_json(FILE *f, const struct tr_trace *t)
{
	char trace[33];
	bool first_res = true;

	fev__hex(t->trace_id, 16, trace);
	fputs("{\"resourceSpans\":[", f);
	for (size_t i = 0; i < t->n_hops; i++) {
		const struct tr_hop *h = &t->hops[i];
		bool seen = false, first = true;

		for (size_t j = 0; j < i && !seen; j++)
			seen = t->hops[j].h.pid == h->h.pid;
		if (seen)
			continue;
		fprintf(f, "%s{\"resource\":{\"attributes\":[",
			first_res ? "" : ",");
		attr_str(f, &first, "service.name",
			 h->h.comm[0] ? h->h.comm : "fev");
		fprintf(f, ",{\"key\":\"process.pid\",\"value\":{\"intValue\":"
			   "\"%d\"}}]},",
			h->h.pid);
		fprintf(f, "\"scopeSpans\":[{\"scope\":{\"name\":\"fev\","
			   "\"version\":\"%s\"},\"spans\":[",
			FEV_VERSION_STRING);
		spans_of(f, t, h->h.pid, trace);
		fputs("]}]}", f);
		first_res = false;
	}
	fputs("]}\n", f);
}
