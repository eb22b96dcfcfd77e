/*
 * The hop ring's seqlock (hops.c) under concurrent writers: threads, each
 * through a mapping of its own (as processes write it), fill a ring of 8
 * entries as fast as they can while a reader reads it over and over.
 * Every entry a reader keeps must be whole: all its fields written by one
 * writer for one hop, never a mix.  FEV_HOPS_TEST_MS sets how long (CI:
 * 500 ms).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fevtest.h"
#include "hops.h"

#define WRITERS 3
#define ENTRIES 8u

struct run {
	char inst[FEV_INSTANCE_MAX + 1];
	atomic_bool stop;
	atomic_uint_fast64_t kept, torn;
};

struct writer {
	struct run *run;
	uint32_t id;
	pthread_t thread;
};

/* Every field of hop v of writer id is a function of (id, v). */
static void fill(struct fev__hop *e, uint32_t id, uint64_t v)
{
	memset(e, 0, sizeof(*e));
	e->time_ns = v;
	e->position = v * 7 + id;
	memset(e->trace_id, (int)(v & 0xff), sizeof(e->trace_id));
	memset(e->span_id, (int)((v >> 8) & 0xff), sizeof(e->span_id));
	memset(e->parent_span, (int)id, sizeof(e->parent_span));
	e->trace_id[0] = 1; /* never all zero */
	e->pid = (int32_t)id;
	e->partition = (uint16_t)(v % FEV_PARTITIONS_MAX);
	e->kind = (uint8_t)(1 + v % 3);
	memset(e->comm, 'a' + (int)(v % 26), sizeof(e->comm) - 1);
	memset(e->group, 'A' + (int)(v % 26), sizeof(e->group) - 1);
}

static bool whole(const struct fev__hop *got)
{
	struct fev__hop want;

	fill(&want, (uint32_t)got->pid, got->time_ns);
	atomic_store(&want.seq, atomic_load(&got->seq));
	want.check = got->check; /* the reader checked it */
	return memcmp(&want, got, sizeof(want)) == 0;
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct fev__hops h;
	struct fev__hop e;

	assert_int_equal(fev__hops_open(w->run->inst, "t", true, &h), 0);
	for (uint64_t v = 0; !atomic_load(&w->run->stop); v++) {
		fill(&e, w->id, v);
		fev__hops_write(&h, &e);
	}
	fev__hops_close(&h);
	return NULL;
}

static void test_concurrent_writers_never_hand_a_reader_a_torn_hop(
	void **state)
{
	static struct run run;
	struct writer w[WRITERS];
	struct fev__hop out[ENTRIES];
	struct fev__hops h;
	fev_queue_config c = { .struct_size = sizeof(c), .capacity = 2,
			       .max_event = 8, .trace_hops = ENTRIES };
	const char *ms_env = getenv("FEV_HOPS_TEST_MS");
	uint64_t end = fevtest_now_ns() +
		       (ms_env ? strtoull(ms_env, NULL, 10) : 500) *
			       FEVTEST_MS;

	(void)state;
	fevtest_instance(run.inst);
	assert_int_equal(fev_queue_create("t", &c, run.inst), 0);
	assert_int_equal(fev__hops_open(run.inst, "t", false, &h), 0);
	for (uint32_t i = 0; i < WRITERS; i++) {
		w[i] = (struct writer){ .run = &run, .id = i };
		assert_int_equal(pthread_create(&w[i].thread, NULL,
						writer_main, &w[i]),
				 0);
	}
	while (fevtest_now_ns() < end) {
		size_t n = fev__hops_read(&h, out);

		for (size_t i = 0; i < n; i++) {
			if (!whole(&out[i]))
				atomic_fetch_add(&run.torn, 1);
			atomic_fetch_add(&run.kept, 1);
		}
	}
	atomic_store(&run.stop, true);
	for (uint32_t i = 0; i < WRITERS; i++)
		assert_int_equal(pthread_join(w[i].thread, NULL), 0);
	fev__hops_close(&h);
	print_message("%llu hops read whole, %llu torn\n",
		      (unsigned long long)atomic_load(&run.kept),
		      (unsigned long long)atomic_load(&run.torn));
	assert_int_equal(atomic_load(&run.torn), 0);
	assert_true(atomic_load(&run.kept) > 0);
	assert_int_equal(fev_queue_delete("t", run.inst), 0);
	fevtest_assert_no_leftovers(run.inst);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_concurrent_writers_never_hand_a_reader_a_torn_hop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
