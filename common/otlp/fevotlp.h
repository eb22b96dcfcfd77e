/*
 * fevotlp: fev's hops as OpenTelemetry spans, in the OTLP/HTTP JSON
 * encoding (opentelemetry-proto's ExportTraceServiceRequest in its JSON
 * mapping: ids as hex, 64-bit integers and times as decimal strings, enums
 * as numbers), and the POST that hands them to a collector.  One
 * definition for `fev trace --export` (a whole trace at once) and fev-otel
 * (hops as they come).  The spans follow the OpenTelemetry messaging
 * semantic conventions:
 *
 *   send TOPIC     PRODUCER, one per event: its span id is the event's
 *                  traceparent span; a follow-up's parent is its cause's
 *   process TOPIC  CONSUMER, one per acquisition by a group member, from
 *                  acquired to released, child of the send span and
 *                  LINKED to it (the creation context)
 *
 * Attributes: messaging.system "fev", messaging.operation.type and .name,
 * messaging.destination.name, messaging.destination.partition.id,
 * messaging.consumer.group.name, messaging.message.id
 * ("TOPIC:PARTITION:POSITION"); one resource per process (service.name
 * its name, process.pid).
 */
#ifndef FEVOTLP_H
#define FEVOTLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fev/fev.h"
#include "hops.h"

enum fevotlp_op { FEVOTLP_SEND, FEVOTLP_PROCESS };

/* How a process span ended, when not by its release. */
enum fevotlp_end {
	FEVOTLP_RELEASED,  /* acquired .. released */
	FEVOTLP_ABANDONED, /* its member died: the event was delivered again */
	FEVOTLP_OPEN,      /* no release seen (yet): start == end */
};

struct fevotlp_span {
	enum fevotlp_op op;
	enum fevotlp_end end;
	uint8_t trace_id[16], span_id[8];
	uint8_t parent[8]; /* all zero: a root span */
	char topic[FEV_NAME_MAX + 1];
	uint32_t partition;
	uint64_t position;
	char group[FEV_GROUP_NAME_MAX + 1]; /* "": none */
	bool redelivered;
	uint64_t start_ns, end_ns;
	int32_t pid;
	char comm[FEV__HOP_COMM_MAX];
};

/* The send span of a published hop of topic. */
void fevotlp_send_span(const struct fev__hop *pub, const char *topic,
		       struct fevotlp_span *s);
/* The process span of an acquired hop of topic, ended by rel (NULL: open
 * until fevotlp_span_end()).  Its span id is the event's span mixed with
 * pid and acquisition time: each acquisition has its own, and the same
 * hops give the same id in both exporters. */
void fevotlp_process_span(const struct fev__hop *acq, const char *topic,
			  const struct fev__hop *rel, struct fevotlp_span *s);
/* End an open process span at end_ns, as how says. */
void fevotlp_span_end(struct fevotlp_span *s, enum fevotlp_end how,
		      uint64_t end_ns);

/* The ExportTraceServiceRequest of n spans, one resource per pid. */
void fevotlp_json(FILE *f, const struct fevotlp_span *s, size_t n);

/* The JSON in memory (malloc'd, *len bytes): NULL when out of memory. */
char *fevotlp_body(const struct fevotlp_span *s, size_t n, size_t *len);

#define FEVOTLP_ERR_MAX 256

/*
 * POST body to an OTLP/HTTP collector (content-type application/json, the
 * extra headers given, e.g. authorization) through curl, an easy handle
 * the caller keeps (its connection is reused).  0 for a 2xx; -EAGAIN when
 * worth trying again (no connection, a timeout, 408, 429, 5xx: the OTLP
 * spec's retryable answers); -EPROTO when the collector refused the data
 * (any other status: sending it again would be refused again).  err says
 * what happened (never the headers: they may hold secrets).
 */
struct curl_slist;
int fevotlp_post(void *curl, const char *url, struct curl_slist *headers,
		 const char *body, size_t len, long timeout_ms, char *err,
		 size_t errlen);

#endif /* FEVOTLP_H */
