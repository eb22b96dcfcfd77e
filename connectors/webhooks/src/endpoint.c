#include "endpoint.h"

#include <stdlib.h>
#include <string.h>

void fwh_endpoint_init(struct fwh_endpoint *ep,
		       const struct fwh_endpoint_conf *conf)
{
	memset(ep, 0, sizeof(*ep));
	ep->conf = conf;
	ep->pending_tail = &ep->pending;
	ep->tokens = conf->rate_per_s;
}

bool fwh_endpoint_take_token(struct fwh_endpoint *ep, int64_t now_ms)
{
	double rate = ep->conf->rate_per_s;

	if (rate == 0)
		return true;
	if (now_ms > ep->tokens_at_ms) {
		ep->tokens += (double)(now_ms - ep->tokens_at_ms) * rate / 1000;
		if (ep->tokens > rate)
			ep->tokens = rate; /* one second of burst */
		ep->tokens_at_ms = now_ms;
	}
	if (ep->tokens < 1)
		return false;
	ep->tokens -= 1;
	return true;
}

bool fwh_endpoint_paused(const struct fwh_endpoint *ep, int64_t now_ms)
{
	return ep->disabled || now_ms < ep->throttle_until_ms;
}

void fwh_endpoint_latency(struct fwh_endpoint *ep, int64_t us)
{
	ep->latency_us[ep->nlatency++ % FWH_LATENCY_SAMPLES] = us;
}

static int by_value(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

void fwh_endpoint_percentiles(struct fwh_endpoint *ep)
{
	size_t n = ep->nlatency < FWH_LATENCY_SAMPLES ? ep->nlatency :
							FWH_LATENCY_SAMPLES;
	int64_t sorted[FWH_LATENCY_SAMPLES];

	if (n == 0)
		return;
	memcpy(sorted, ep->latency_us, n * sizeof(sorted[0]));
	qsort(sorted, n, sizeof(sorted[0]), by_value);
	ep->stats.p50_us = sorted[(n - 1) / 2];
	ep->stats.p99_us = sorted[(n - 1) * 99 / 100];
}
