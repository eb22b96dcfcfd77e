/*
 * Spans as OTLP/HTTP JSON (fevotlp.h): an ExportTraceServiceRequest with
 * one resourceSpans per process.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "fev/version.h"
#include "fevotlp.h"
#include "trace.h" /* libfev's: fev__hex() */

#define KIND_PRODUCER 4 /* opentelemetry.proto.trace.v1.Span.SpanKind */
#define KIND_CONSUMER 5
#define STATUS_ERROR 2 /* Status.StatusCode */

/* A JSON string of the n bytes at p: quotes escaped, control characters
 * as \u00XX, bytes above 0x7f as '?' (a process name is any bytes, and
 * JSON wants UTF-8: one stray byte would make the collector refuse the
 * whole batch). */
static void json_string(FILE *f, const char *p, size_t n)
{
	fputc('"', f);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c >= 0x80 ? '?' : c, f);
	}
	fputc('"', f);
}

static void attr(FILE *f, bool *first, const char *key, const char *v)
{
	fprintf(f, "%s{\"key\":\"%s\",\"value\":{\"stringValue\":",
		*first ? "" : ",", key);
	json_string(f, v, strlen(v));
	fputs("}}", f);
	*first = false;
}

static const char *op_name(const struct fevotlp_span *s)
{
	return s->op == FEVOTLP_SEND ? "send" : "process";
}

static void attributes(FILE *f, const struct fevotlp_span *s)
{
	char part[16], id[FEV_NAME_MAX + 48];
	bool first = true;

	snprintf(part, sizeof(part), "%" PRIu32, s->partition);
	snprintf(id, sizeof(id), "%s:%" PRIu32 ":%" PRIu64, s->topic,
		 s->partition, s->position);
	attr(f, &first, "messaging.system", "fev");
	attr(f, &first, "messaging.operation.type", op_name(s));
	attr(f, &first, "messaging.operation.name", op_name(s));
	attr(f, &first, "messaging.destination.name", s->topic);
	attr(f, &first, "messaging.destination.partition.id", part);
	attr(f, &first, "messaging.message.id", id);
	if (s->group[0] != '\0')
		attr(f, &first, "messaging.consumer.group.name", s->group);
	if (s->redelivered)
		attr(f, &first, "fev.redelivered", "true");
	if (s->end == FEVOTLP_OPEN && s->op == FEVOTLP_PROCESS)
		attr(f, &first, "fev.released", "false");
}

static void span(FILE *f, const struct fevotlp_span *s, bool first)
{
	static const uint8_t none[8];
	char trace[33], id[17], name[FEV_NAME_MAX + 16];

	fev__hex(s->trace_id, 16, trace);
	fev__hex(s->span_id, 8, id);
	fprintf(f, "%s{\"traceId\":\"%s\",\"spanId\":\"%s\"", first ? "" : ",",
		trace, id);
	if (memcmp(s->parent, none, 8) != 0) {
		fev__hex(s->parent, 8, id);
		fprintf(f, ",\"parentSpanId\":\"%s\"", id);
	}
	snprintf(name, sizeof(name), "%s %s", op_name(s), s->topic);
	fputs(",\"name\":", f);
	json_string(f, name, strlen(name));
	fprintf(f, ",\"kind\":%d,\"startTimeUnixNano\":\"%" PRIu64
		   "\",\"endTimeUnixNano\":\"%" PRIu64 "\",\"attributes\":[",
		s->op == FEVOTLP_SEND ? KIND_PRODUCER : KIND_CONSUMER,
		s->start_ns, s->end_ns);
	attributes(f, s);
	fputc(']', f);
	if (s->op == FEVOTLP_PROCESS) { /* linked to the creation context */
		fev__hex(s->parent, 8, id);
		fprintf(f, ",\"links\":[{\"traceId\":\"%s\",\"spanId\":\"%s\"}]",
			trace, id);
	}
	if (s->end == FEVOTLP_ABANDONED)
		fprintf(f, ",\"status\":{\"code\":%d,\"message\":\"the member "
			   "died holding the event; it was delivered again\"}",
			STATUS_ERROR);
	fputc('}', f);
}

static void resource(FILE *f, const struct fevotlp_span *s, size_t n,
		     size_t i, bool first_res)
{
	bool first = true;

	fprintf(f, "%s{\"resource\":{\"attributes\":[", first_res ? "" : ",");
	attr(f, &first, "service.name", s[i].comm[0] ? s[i].comm : "fev");
	fprintf(f, ",{\"key\":\"process.pid\",\"value\":{\"intValue\":"
		   "\"%d\"}}]},",
		s[i].pid);
	fprintf(f, "\"scopeSpans\":[{\"scope\":{\"name\":\"fev\","
		   "\"version\":\"%s\"},\"spans\":[",
		FEV_VERSION_STRING);
	first = true;
	for (size_t j = i; j < n; j++)
		if (s[j].pid == s[i].pid) {
			span(f, &s[j], first);
			first = false;
		}
	fputs("]}]}", f);
}

void fevotlp_json(FILE *f, const struct fevotlp_span *s, size_t n)
{
	bool first_res = true;

	fputs("{\"resourceSpans\":[", f);
	for (size_t i = 0; i < n; i++) {
		bool seen = false;

		/* n is a batch (hundreds): quadratic is cheaper than a map. */
		for (size_t j = 0; j < i && !seen; j++)
			seen = s[j].pid == s[i].pid;
		if (seen)
			continue;
		resource(f, s, n, i, first_res);
		first_res = false;
	}
	fputs("]}\n", f);
}

char *fevotlp_body(const struct fevotlp_span *s, size_t n, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (f == NULL)
		return NULL;
	fevotlp_json(f, s, n);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
