#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "histogram.h"

static struct bench_hist h;

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void test_histogram_counts_small_values_exactly(void **state)
{
	(void)state;
	bench_hist_reset(&h);
	for (uint64_t v = 0; v < 2 * BENCH_HIST_SUB; v++)
		bench_hist_record(&h, v);
	for (uint64_t v = 0; v < 2 * BENCH_HIST_SUB; v++)
		assert_int_equal(bench_hist_bucket_high(bench_hist_index(v)), v);
	assert_int_equal(bench_hist_quantile(&h, 0.5), BENCH_HIST_SUB - 1);
	assert_int_equal(bench_hist_quantile(&h, 1.0), 2 * BENCH_HIST_SUB - 1);
}

static void test_histogram_quantiles_are_within_one_percent(void **state)
{
	enum { N = 200000 };
	static uint64_t v[N];
	const double qs[] = { 0.5, 0.9, 0.99, 0.999, 0.9999 };

	(void)state;
	bench_hist_reset(&h);
	srand(42);
	for (int i = 0; i < N; i++) {
		/* log-uniform from 1 ns to ~1 s */
		v[i] = (uint64_t)1 << (rand() % 30);
		v[i] += (uint64_t)rand() % v[i];
		bench_hist_record(&h, v[i]);
	}
	qsort(v, N, sizeof(v[0]), cmp_u64);
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		uint64_t exact = v[(size_t)(qs[i] * N + 0.5) - 1];
		uint64_t got = bench_hist_quantile(&h, qs[i]);

		assert_true(got >= exact);
		assert_true((double)(got - exact) <= 0.01 * (double)exact);
	}
	assert_int_equal(bench_hist_quantile(&h, 1.0), v[N - 1]);
	assert_int_equal(h.min, v[0]);
}

static void test_histogram_caps_huge_values_in_the_last_bucket(void **state)
{
	(void)state;
	bench_hist_reset(&h);
	bench_hist_record(&h, UINT64_MAX);
	assert_int_equal(bench_hist_index(UINT64_MAX), BENCH_HIST_BUCKETS - 1);
	assert_int_equal(bench_hist_quantile(&h, 0.5), UINT64_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_histogram_counts_small_values_exactly),
		cmocka_unit_test(test_histogram_quantiles_are_within_one_percent),
		cmocka_unit_test(test_histogram_caps_huge_values_in_the_last_bucket),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
