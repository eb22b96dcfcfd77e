/*
 * fevd's Prometheus endpoint: with [fabric] metrics_listen = HOST:PORT, a
 * thread of its own serves GET /metrics (fevprom's series, the same as
 * `fev stat --prometheus`) by reading the registry under RCU while the
 * supervisor changes it.  The supervisor only starts and stops it: a slow
 * or hostile scraper costs this thread time (bounded per connection), never
 * the main loop's.
 */
#ifndef FEVD_METRICS_H
#define FEVD_METRICS_H

#include <stdint.h>
#include <sys/socket.h>

#include "registry.h"

/* A scrape's request must arrive within this; its reply leave within
 * FEVD_METRICS_REPLY_MS (thousands of queues make megabytes). */
#define FEVD_METRICS_REQUEST_MS 2000
#define FEVD_METRICS_REPLY_MS 10000

struct fevd_metrics;

/*
 * "IPV4:PORT" or "[IPV6]:PORT", numeric (no name lookups), PORT 0..65535
 * (0: any free port, logged).  0 with the address in ss, or -EINVAL with a
 * sentence in why.
 */
int fevd_metrics_listen_parse(const char *s, struct sockaddr_storage *ss,
			      socklen_t *len, char *why, size_t whylen);

/*
 * Bind listen (as parsed above) and start the thread that serves it,
 * reading reg for instance.  Call from a thread whose signals are blocked
 * as the supervisor's are (the thread inherits that mask).  0 or -errno,
 * logged.
 */
int fevd_metrics_start(struct fevd_metrics **out, const char *listen,
		       struct fevd_registry *reg, const char *instance);
/* The port it listens on (the one picked, for port 0). */
uint16_t fevd_metrics_port(const struct fevd_metrics *m);
/* Stop the thread (it leaves any scrape at once) and free m; NULL ok. */
void fevd_metrics_stop(struct fevd_metrics *m);

#endif /* FEVD_METRICS_H */
