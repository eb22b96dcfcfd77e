/*
 * An endpoint while the engine runs: its configuration, whether it is
 * disabled or throttled, what it has in flight and waiting, its rate
 * limit (a token bucket with one second of burst) and its counters and
 * latency record (for `ctl status`).
 */
#ifndef FWH_ENDPOINT_H
#define FWH_ENDPOINT_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "store.h"

#define FWH_LATENCY_SAMPLES 1024

struct fwh_delivery;

struct fwh_endpoint {
	const struct fwh_endpoint_conf *conf;
	bool disabled;
	int64_t throttle_until_ms;
	int64_t failing_since_ms;
	int in_flight;
	struct fwh_delivery *pending, **pending_tail; /* waiting to start */
	int npending;
	double tokens;
	int64_t tokens_at_ms;
	struct fwh_ep_stats stats;
	int64_t latency_us[FWH_LATENCY_SAMPLES];
	uint64_t nlatency;
};

void fwh_endpoint_init(struct fwh_endpoint *ep,
		       const struct fwh_endpoint_conf *conf);
/* May one more request start now (rate limit)?  Takes a token if so. */
bool fwh_endpoint_take_token(struct fwh_endpoint *ep, int64_t now_ms);
/* Is it paused (disabled, or throttled until later)? */
bool fwh_endpoint_paused(const struct fwh_endpoint *ep, int64_t now_ms);
void fwh_endpoint_latency(struct fwh_endpoint *ep, int64_t us);
/* p50 and p99 of the recorded latencies into ep->stats. */
void fwh_endpoint_percentiles(struct fwh_endpoint *ep);

#endif /* FWH_ENDPOINT_H */
