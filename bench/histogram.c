#include "histogram.h"

#include <math.h>
#include <string.h>

void bench_hist_reset(struct bench_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

/*
 * Magnitude m = position of the highest set bit above the sub-bucket bits;
 * values < 2 * SUB land in m = 0 and 1, which are exact.
 */
unsigned bench_hist_index(uint64_t v)
{
	unsigned top, mag;

	if (v < 2 * BENCH_HIST_SUB)
		return (unsigned)v;
	top = 63u - (unsigned)__builtin_clzll(v); /* >= SUB_BITS + 1 */
	mag = top - BENCH_HIST_SUB_BITS;          /* >= 1 */
	if (mag > BENCH_HIST_MAG)
		return BENCH_HIST_BUCKETS - 1;
	/* bucket = (mag + 1) * SUB + the SUB_BITS bits below the top bit */
	return (mag + 1) * BENCH_HIST_SUB +
	       (unsigned)((v >> mag) & (BENCH_HIST_SUB - 1));
}

uint64_t bench_hist_bucket_high(unsigned idx)
{
	unsigned mag, sub;

	if (idx < 2 * BENCH_HIST_SUB)
		return idx;
	mag = idx / BENCH_HIST_SUB - 1;
	sub = idx % BENCH_HIST_SUB;
	return (((uint64_t)(BENCH_HIST_SUB + sub) + 1) << mag) - 1;
}

void bench_hist_record(struct bench_hist *h, uint64_t v)
{
	h->count[bench_hist_index(v)]++;
	h->total++;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

uint64_t bench_hist_quantile(const struct bench_hist *h, double q)
{
	uint64_t want, seen = 0;

	if (h->total == 0)
		return 0;
	if (q >= 1.0)
		return h->max;
	want = (uint64_t)ceil(q * (double)h->total - 1e-9);
	if (want == 0)
		want = 1;
	for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++) {
		seen += h->count[i];
		if (seen >= want) {
			uint64_t v = bench_hist_bucket_high(i);

			if (v > h->max)
				v = h->max;
			return v < h->min ? h->min : v;
		}
	}
	return h->max;
}
