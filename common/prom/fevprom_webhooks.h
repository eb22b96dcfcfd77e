/*
 * The Prometheus series of fev-webhooks' endpoints, defined once: written
 * by `fev-webhooks ctl status --prometheus` (connectors/webhooks/src/ctl.c),
 * which `fev stat --prometheus` includes for a configured connector.
 * Header only, so the connector needs none of fevprom's library.
 */
#ifndef FEVPROM_WEBHOOKS_H
#define FEVPROM_WEBHOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FEVPROM_WEBHOOKS_PREFIX "fev_webhooks_"

/* One endpoint's counters, as the series below read them. */
struct fevprom_webhook {
	int64_t up; /* 1 enabled, 0 disabled */
	int64_t in_flight, delivered, failed, retrying, dead, p50_us, p99_us;
};

struct fevprom_webhook_series {
	const char *name, *type, *help;
	size_t off;   /* of an int64_t in struct fevprom_webhook */
	bool seconds; /* the value is in µs, the series in seconds */
};

static const struct fevprom_webhook_series fevprom_webhook_series[] = {
	{ "up", "gauge", "1 enabled, 0 disabled",
	  offsetof(struct fevprom_webhook, up), false },
	{ "in_flight", "gauge", "requests in flight",
	  offsetof(struct fevprom_webhook, in_flight), false },
	{ "delivered_total", "counter", "events delivered (2xx)",
	  offsetof(struct fevprom_webhook, delivered), false },
	{ "failed_attempts_total", "counter", "attempts that failed",
	  offsetof(struct fevprom_webhook, failed), false },
	{ "retrying", "gauge", "deliveries waiting for a retry",
	  offsetof(struct fevprom_webhook, retrying), false },
	{ "dead_letters", "gauge", "deliveries in the dead-letter store",
	  offsetof(struct fevprom_webhook, dead), false },
	{ "latency_p50_seconds", "gauge",
	  "commit to delivery, median of the last 1024",
	  offsetof(struct fevprom_webhook, p50_us), true },
	{ "latency_p99_seconds", "gauge",
	  "commit to delivery, p99 of the last 1024",
	  offsetof(struct fevprom_webhook, p99_us), true },
};

#endif /* FEVPROM_WEBHOOKS_H */
