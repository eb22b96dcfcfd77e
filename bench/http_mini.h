/*
 * The HTTP ends of `fev-bench webhooks`: a minimal keep-alive receiver on
 * 127.0.0.1 that answers every POST with 200 at once and records, from
 * the body ("T" and the sender's CLOCK_REALTIME in ns), how long the
 * request took from its event to here; and a minimal keep-alive client,
 * the floor a webhook sender is compared with.  Enough HTTP/1.1 for these
 * two peers and fev-webhooks (Content-Length bodies), nothing more.
 */
#ifndef FEV_BENCH_HTTP_MINI_H
#define FEV_BENCH_HTTP_MINI_H

#include <pthread.h>
#include <stdint.h>

#include "histogram.h"

struct http_receiver {
	int listen_fd, epoll_fd, stop_fd;
	uint16_t port;
	pthread_t thread;
	pthread_mutex_t lock; /* guards what follows */
	pthread_cond_t changed;
	uint64_t requests;
	struct bench_hist latency; /* event (body timestamp) -> request, ns */
};

/* Listen on 127.0.0.1, an ephemeral port; 0 or -errno. */
int http_receiver_start(struct http_receiver *r);
void http_receiver_stop(struct http_receiver *r);
/* Wait until at least n requests came, up to timeout_ms: 0 or -ETIMEDOUT. */
int http_receiver_wait(struct http_receiver *r, uint64_t n, int timeout_ms);
void http_receiver_reset(struct http_receiver *r);

uint64_t http_now_ns(void); /* CLOCK_REALTIME */

/* n sequential POSTs on one keep-alive connection; each round trip into h.
 * 0 or -errno. */
int http_client_run(uint16_t port, unsigned n, struct bench_hist *h);

#endif /* FEV_BENCH_HTTP_MINI_H */
