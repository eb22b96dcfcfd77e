/*
 * Attempts that delivered at once, kept to be written to the store
 * together.  Such an attempt needs nothing durable, only its attempt row
 * (for `ctl attempts`, and to know a ring redelivery of the event after a
 * crash: fwh_store_knows()).  Committing that row on every answer put an
 * SQLite transaction (WAL locks and page writes, about 25 us here) between
 * each answer and the next request, so the engine keeps the rows here and
 * writes them in one transaction once FWH_DELIVERED_MAX (at most) wait, the oldest
 * has waited FWH_DELIVERED_DELAY_MS, or a transaction is open anyway.  Their
 * events are released after that commit, as before: a crash before it
 * loses only time (the group redelivers them in place and they are sent
 * again under the same webhook-id: at least once).
 */
#ifndef FWH_DELIVERED_H
#define FWH_DELIVERED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "source.h"
#include "store.h"

/* The events kept here are held, and a full hold stops the source: a
 * source holds 2 x max_in_flight per endpoint, so at most the smallest
 * max_in_flight (fwh_delivered_init()) and never more than this. */
#define FWH_DELIVERED_MAX 32
#define FWH_DELIVERED_DELAY_MS 2

struct fwh_delivered_attempt {
	const char *endpoint; /* the config's; outlives the engine's run */
	char wid[FWH_WID_MAX];
	int n; /* which attempt */
	int64_t at_ms;
	int status;
	int64_t took_us;
	struct fwh_event *event; /* released after the commit; may be NULL */
};

struct fwh_delivered {
	struct fwh_delivered_attempt a[FWH_DELIVERED_MAX];
	size_t n, max;
	int64_t first_ms; /* when the oldest came */
};

/* Empty, keeping at most min(FWH_DELIVERED_MAX, max_in_flight). */
void fwh_delivered_init(struct fwh_delivered *b, unsigned max_in_flight);

/* Keep a; false when full (write them first). */
bool fwh_delivered_add(struct fwh_delivered *b,
		       const struct fwh_delivered_attempt *a);
/* Must they be written by now_ms?  (Full, or the oldest waited enough.) */
bool fwh_delivered_due(const struct fwh_delivered *b, int64_t now_ms);
/* Milliseconds until they are due (INT64_MAX: none kept). */
int64_t fwh_delivered_wait_ms(const struct fwh_delivered *b, int64_t now_ms);
/* Write their attempt rows in the open transaction: 0 or -errno. */
int fwh_delivered_write(const struct fwh_delivered *b, struct fwh_store *st);

#endif /* FWH_DELIVERED_H */
