#include "delivered.h"

void fwh_delivered_init(struct fwh_delivered *b, unsigned max_in_flight)
{
	b->n = 0;
	b->max = max_in_flight < FWH_DELIVERED_MAX ? max_in_flight :
						     FWH_DELIVERED_MAX;
	if (b->max == 0)
		b->max = 1;
}

bool fwh_delivered_add(struct fwh_delivered *b,
		       const struct fwh_delivered_attempt *a)
{
	if (b->n >= b->max)
		return false;
	if (b->n == 0)
		b->first_ms = a->at_ms;
	b->a[b->n++] = *a;
	return true;
}

bool fwh_delivered_due(const struct fwh_delivered *b, int64_t now_ms)
{
	return b->n >= b->max ||
	       (b->n > 0 && now_ms - b->first_ms >= FWH_DELIVERED_DELAY_MS);
}

int64_t fwh_delivered_wait_ms(const struct fwh_delivered *b, int64_t now_ms)
{
	if (b->n == 0)
		return INT64_MAX;
	if (fwh_delivered_due(b, now_ms))
		return 0;
	return b->first_ms + FWH_DELIVERED_DELAY_MS - now_ms;
}

int fwh_delivered_write(const struct fwh_delivered *b, struct fwh_store *st)
{
	int rc = 0;

	for (size_t i = 0; i < b->n; i++) {
		const struct fwh_delivered_attempt *a = &b->a[i];
		int r = fwh_store_attempt(st, a->endpoint, a->wid, a->n,
					  a->at_ms, a->status, a->took_us, "");

		if (r < 0 && rc == 0)
			rc = r;
	}
	return rc;
}
