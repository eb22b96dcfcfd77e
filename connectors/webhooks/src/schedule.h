/*
 * What one attempt's outcome means for the delivery and its endpoint, and
 * when the next attempt is due: the Standard Webhooks rules (2xx delivered;
 * 410 Gone disables the endpoint; 429, 502, 503, 504 throttle it, for
 * Retry-After when given; everything else, timeouts and connection errors
 * are retried on the schedule with jitter, then dead-lettered).
 */
#ifndef FWH_SCHEDULE_H
#define FWH_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum fwh_outcome {
	FWH_OUT_DELIVERED,
	FWH_OUT_GONE,     /* 410: disable the endpoint */
	FWH_OUT_THROTTLE, /* 429/502/503/504: pause the endpoint, retry */
	FWH_OUT_RETRY,    /* any other failure */
};

/* status: the HTTP status, 0 when no response came (timeout, refused). */
enum fwh_outcome fwh_outcome_of(int status);

/*
 * Retry-After as a number of seconds or an HTTP date, relative to now_ms.
 * Milliseconds to wait, or -1 when the value is neither (ignored).  Capped
 * at one day: an endpoint cannot park its deliveries forever.
 */
int64_t fwh_retry_after_ms(const char *value, int64_t now_ms);

/*
 * The delay before attempt `attempts + 1` after `attempts` failed ones, or
 * -1 when the schedule is spent (dead letter).  jitter_pct spreads it
 * uniformly over +/- that share, so retries of many events do not arrive
 * together.
 */
int64_t fwh_next_delay_ms(const uint64_t *schedule, size_t n, int attempts,
			  uint32_t jitter_pct);

#endif /* FWH_SCHEDULE_H */
