/*
 * The HTTP request of one delivery.  Two halves:
 *   fwh_request_static_headers(): the headers fixed when the event is taken
 *     (content-type and the CloudEvents binary-mode ce-* headers from the
 *     event's headers, traceparent passed through), stored with the
 *     delivery as "name: value\n" lines so a retry days later sends the
 *     same ones;
 *   fwh_request_headers(): those plus what each attempt adds (webhook-id,
 *     webhook-timestamp, webhook-signature per active secret).
 * Event header values with control characters are dropped (they would let
 * an event author inject request headers); the other ce-* headers and
 * traceparent/tracestate pass through as they are.
 */
#ifndef FWH_REQUEST_H
#define FWH_REQUEST_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

#include "fev/fev.h"
#include "secret.h"

#define FWH_DEFAULT_CONTENT_TYPE "application/octet-stream"
#define FWH_DEFAULT_CE_TYPE "dev.fev.event"
#define FWH_CE_SPECVERSION "1.0"
#define FWH_USER_AGENT "fev-webhooks/1"

/* The key and ce-type of an event (for ordering and the type filter). */
struct fwh_event_meta {
	const void *key;
	size_t key_len; /* key NULL: no key */
	const char *type;
	size_t type_len;
};
void fwh_event_meta_of(const fev_event *ev, struct fwh_event_meta *m);

/*
 * webhook-id of an event: "msg_" and 32 hex digits of SHA-256 over
 * (instance, ring, its incarnation, event id): the ring's name ("T@k"),
 * fev_queue_created_ns() of it (a topic deleted and created again
 * restarts its ids), and the event's position.  A consumer group
 * redelivers an event in place, same position, so a redelivery after a
 * crash has the same id without anything having been written: every
 * attempt, retry and restart sends it.
 */
void fwh_webhook_id(const char *instance, const char *queue,
		    uint64_t created_ns, uint64_t id, char out[48]);

/* The stored header lines of an event: malloc'd, or NULL (-ENOMEM). */
char *fwh_request_static_headers(const char *instance, const char *queue,
				 const fev_event *ev, const char *wid);

/* The list for one attempt, or NULL (out of memory). */
struct curl_slist *fwh_request_headers(const char *static_headers,
				       const char *wid, int64_t now_s,
				       const struct fwh_secret *secrets,
				       size_t nsecrets, const void *body,
				       size_t len);

#endif /* FWH_REQUEST_H */
