/*
 * Every event starts with one 64-bit word: kind (2 bits), producer (14
 * bits), sequence (48 bits); events of 16 bytes or more then carry a
 * CLOCK_MONOTONIC timestamp.  The rest of the payload is left as it is:
 * the same for every transport, so it costs them all the same.
 */
#include <string.h>

#include "bench.h"

#define SEQ_MASK ((UINT64_C(1) << BENCH_SEQ_BITS) - 1)
#define PRODUCER_MASK (BENCH_MAX_PRODUCERS * 4u - 1) /* 14 bits */

uint64_t bench_msg_word(enum bench_kind kind, unsigned producer, uint64_t seq)
{
	return ((uint64_t)kind << 62) |
	       ((uint64_t)(producer & PRODUCER_MASK) << BENCH_SEQ_BITS) |
	       (seq & SEQ_MASK);
}

void bench_msg_write(void *dst, size_t len, uint64_t word, uint64_t ts_ns)
{
	memcpy(dst, &word, sizeof(word));
	if (len >= BENCH_MSG_TS_MIN)
		memcpy((char *)dst + 8, &ts_ns, sizeof(ts_ns));
}

void bench_msg_read(const void *src, size_t len, enum bench_kind *kind,
		    unsigned *producer, uint64_t *seq, uint64_t *ts_ns)
{
	uint64_t w;

	memcpy(&w, src, sizeof(w));
	*kind = (enum bench_kind)(w >> 62);
	*producer = (unsigned)((w >> BENCH_SEQ_BITS) & PRODUCER_MASK);
	*seq = w & SEQ_MASK;
	*ts_ns = 0;
	if (len >= BENCH_MSG_TS_MIN)
		memcpy(ts_ns, (const char *)src + 8, sizeof(*ts_ns));
}

void bench_fill_end(void *ctx, void *dst, size_t len, unsigned i)
{
	(void)ctx;
	(void)i;
	bench_msg_write(dst, len, bench_msg_word(MSG_END, 0, 0), 0);
}
