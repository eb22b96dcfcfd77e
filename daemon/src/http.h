/*
 * The least of HTTP/1.1 that a Prometheus scrape needs (metrics.c): read
 * one request head, bounded in size and time, and answer it with one
 * response and "Connection: close".  No keep-alive, no bodies in, no
 * chunking: a scraper sends "GET /metrics" and reads to the end.
 */
#ifndef FEVD_HTTP_H
#define FEVD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes of a request head (request line and headers) we read at most. */
#define FEVD_HTTP_REQUEST_MAX 4096

struct fevd_http_request {
	int status;    /* 200 for a good GET or HEAD, else what to answer */
	bool head;     /* HEAD: the headers only */
	char path[64]; /* the target without its query, when status 200 */
};

/*
 * Read one request head from the non-blocking socket fd until deadline_ns
 * (CLOCK_MONOTONIC) or until stopfd becomes readable.  0 with req filled
 * (status 400 malformed, 405 not GET/HEAD, 414 target too long, 431 head
 * too large, 505 not HTTP/1.x), or -ETIMEDOUT, -ECANCELED (stopfd),
 * -ECONNRESET (closed before a whole head) and other -errno: nothing to
 * answer.
 */
int fevd_http_read_request(int fd, int stopfd, uint64_t deadline_ns,
			   struct fevd_http_request *req);

/*
 * Send status with body (len bytes, content_type; not sent for HEAD) by
 * the same deadline and stop.  0 or -errno.
 */
int fevd_http_reply(int fd, int stopfd, uint64_t deadline_ns, int status,
		    bool head, const char *content_type, const char *body,
		    size_t len);

#endif /* FEVD_HTTP_H */
