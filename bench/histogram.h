/*
 * A log-linear latency histogram in the manner of HdrHistogram: values
 * below 2 * SUB are counted exactly, and every power-of-two range above is
 * cut into SUB equal buckets, so a recorded value is known to within
 * 1 / SUB (0.78 %) with a fixed, small array.  Plain memory, no pointers:
 * a child process fills one in shared memory and the parent reads it.
 */
#ifndef FEV_BENCH_HISTOGRAM_H
#define FEV_BENCH_HISTOGRAM_H

#include <stdint.h>

#define BENCH_HIST_SUB_BITS 7 /* 128 sub-buckets: <= 1 % error */
#define BENCH_HIST_SUB (1u << BENCH_HIST_SUB_BITS)
#define BENCH_HIST_MAG 44 /* covers up to 2^44 ns (~4.9 hours) */
#define BENCH_HIST_BUCKETS ((BENCH_HIST_MAG + 2) * BENCH_HIST_SUB)

struct bench_hist {
	uint64_t total;
	uint64_t min, max; /* exact */
	uint64_t count[BENCH_HIST_BUCKETS];
};

void bench_hist_reset(struct bench_hist *h);
void bench_hist_record(struct bench_hist *h, uint64_t v);
/* The value at quantile q (0..1]: the highest value its bucket can hold,
 * capped by the exact max.  0 when empty. */
uint64_t bench_hist_quantile(const struct bench_hist *h, double q);
/* Bucket index of v and the range a bucket covers (for tests). */
unsigned bench_hist_index(uint64_t v);
uint64_t bench_hist_bucket_high(unsigned idx);

#endif /* FEV_BENCH_HISTOGRAM_H */
