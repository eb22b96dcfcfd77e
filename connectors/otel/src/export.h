/*
 * The POST of a batch and what it leaves (export.c): counters, the last
 * error, the backoff.  A batch the collector could not take (no
 * connection, 408, 429, 5xx) stays and is sent again after a delay that
 * doubles from FOT_RETRY_FIRST_MS up to retry_max; one it refused (another
 * 4xx) is dropped and counted.  One thread: plain counters.
 */
#ifndef FOT_EXPORT_H
#define FOT_EXPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "fevotlp.h"
#include "sink.h"

#define FOT_RETRY_FIRST_MS 250u

struct fot_counters {
	uint64_t exported; /* spans the collector took */
	uint64_t dropped;  /* spans it refused (4xx) */
	uint64_t failed;   /* POSTs that failed, retried or not */
	uint64_t missed;   /* hops overwritten (or torn) before we read them */
	char last_error[FEVOTLP_ERR_MAX];
};

struct fot_export {
	const struct fot_config *cfg;
	void *curl;
	struct curl_slist *headers;
	struct fot_counters n;
	uint64_t retry_at_ns, backoff_ms;
	unsigned failing; /* POSTs failed in a row */
};

/* 0, -ENOMEM. */
int fot_export_init(struct fot_export *e, const struct fot_config *cfg);
void fot_export_free(struct fot_export *e);

/* Is s's batch due (full, or its first span older than flush_interval,
 * or force), and not waiting for a retry? */
bool fot_export_due(const struct fot_export *e, const struct fot_sink *s,
		    uint64_t now_ns, bool force);

/* POST s's batch: 1 it is gone (taken or dropped: save the state), 0 it
 * stays for a retry. */
int fot_export_flush(struct fot_export *e, struct fot_sink *s,
		     uint64_t now_ns);

#endif /* FOT_EXPORT_H */
