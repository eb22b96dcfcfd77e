/*
 * Tails (tail.c): events seen as they pass, byte for byte, without being
 * taken; a read-only mapping; what was missed counted exactly when the
 * ring laps the tail; every partition of a topic; deletion.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fevtest.h"
#include "tail.h"

#define MAX_EVENT 256u
#define CAPACITY 8u

struct ctx {
	char inst[FEV_INSTANCE_MAX + 1];
	uint8_t buf[MAX_EVENT];
};

static int setup(void **state)
{
	static struct ctx c;

	fevtest_instance(c.inst);
	fevtest_create(c.inst, "q", CAPACITY, MAX_EVENT, FEV_POLICY_REJECT);
	*state = &c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	fevtest_cleanup(c->inst);
	fevtest_assert_no_leftovers(c->inst);
	return 0;
}

static fev_tail *tail_open(const struct ctx *c, const char *name, int start)
{
	/* Never resting: these tests read what they sent in one go, and a
	 * rest (test_tail_budget.c) would end such a read early. */
	fev_tail_opts o = { .struct_size = sizeof(o), .instance = c->inst,
			    .start = start,
			    .cpu_percent = FEV_TAIL_CPU_FULL };
	fev_tail *t = NULL;

	assert_int_equal(fev_tail_open(name, &o, &t), 0);
	return t;
}

/* A binary header value: every byte value, NUL included. */
static const uint8_t binary[4] = { 0x00, 0xff, '\n', 0x7f };

static void send_keyed(fev_queue *q, const char *key, const char *payload)
{
	fev_header h[2] = {
		{ .name = "ce-type", .value = "t", .value_len = 1 },
		{ .name = "bin", .value = binary, .value_len = sizeof(binary) },
	};
	fev_send_opts o = { .struct_size = sizeof(o), .key = key,
			    .key_len = strlen(key), .headers = h,
			    .n_headers = 2 };

	assert_int_equal(fev_send_ex(q, &o, payload, strlen(payload), 0), 0);
}

static void expect_event(const fev_tail_event *te, const char *key,
			 const char *payload)
{
	const void *v;
	size_t n;

	assert_int_equal(te->ev.len, strlen(payload));
	assert_memory_equal(te->ev.data, payload, te->ev.len);
	assert_int_equal(te->ev.key_len, strlen(key));
	assert_memory_equal(te->ev.key, key, te->ev.key_len);
	assert_int_equal(te->ev.n_headers, 2);
	assert_int_equal(fev_header_get(&te->ev, "bin", &v, &n), 0);
	assert_int_equal(n, sizeof(binary));
	assert_memory_equal(v, binary, n);
	assert_true(te->ev.ts_ns > 0);
}

static void test_tail_sees_events_without_taking_them(void **state)
{
	struct ctx *c = *state;
	fev_queue *p = fevtest_open(c->inst, "q", FEV_PRODUCER, 0);
	fev_queue *q = fevtest_open(c->inst, "q", FEV_CONSUMER, 0);
	fev_tail *t = tail_open(c, "q", FEV_TAIL_LATEST);
	fev_tail_event te;
	fev_stats st;
	fev_event ev;

	send_keyed(p, "k1", "one");
	send_keyed(p, "k2", "two");
	assert_int_equal(fev_tail_next(t, &te, c->buf, sizeof(c->buf), 0), 0);
	expect_event(&te, "k1", "one");
	assert_int_equal(te.ev.id, 0);
	assert_int_equal(te.partition, 0);
	assert_int_equal(te.missed, 0);
	assert_int_equal(fev_tail_next(t, &te, c->buf, sizeof(c->buf), 0), 0);
	expect_event(&te, "k2", "two");
	assert_int_equal(fev_tail_next(t, &te, c->buf, sizeof(c->buf), 0),
			 -EAGAIN);
	/* The consumer still gets both: the tail took nothing, and it is
	 * neither a producer nor a consumer of the queue. */
	assert_int_equal(fev_queue_stats("q", c->inst, &st), 0);
	assert_int_equal(st.producers, 1);
	assert_int_equal(st.consumers, 1);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(fev_acquire(q, &ev, 0), 0);
		assert_int_equal(ev.id, (uint64_t)i);
		assert_int_equal(fev_release(q, &ev), 0);
	}
	fev_tail_close(t);
	fev_close(q);
	fev_close(p);
}

static void test_tail_earliest_shows_what_ring_holds_latest_does_not(
	void **state)
{
	struct ctx *c = *state;
	fev_queue *p = fevtest_open(c->inst, "q", FEV_PRODUCER, 0);
	fev_queue *q = fevtest_open(c->inst, "q", FEV_CONSUMER, 0);
	fev_tail *early, *late;
	fev_tail_event te;
	fev_event ev;

	send_keyed(p, "a", "consumed");
	assert_int_equal(fev_acquire(q, &ev, 0), 0);
	assert_int_equal(fev_release(q, &ev), 0);
	send_keyed(p, "b", "pending");
	early = tail_open(c, "q", FEV_TAIL_EARLIEST);
	late = tail_open(c, "q", FEV_TAIL_LATEST);
	/* A released event's bytes stay until its slot is reused. */
	assert_int_equal(fev_tail_next(early, &te, c->buf, sizeof(c->buf), 0),
			 0);
	expect_event(&te, "a", "consumed");
	assert_int_equal(fev_tail_next(early, &te, c->buf, sizeof(c->buf), 0),
			 0);
	expect_event(&te, "b", "pending");
	assert_int_equal(fev_tail_next(late, &te, c->buf, sizeof(c->buf), 0),
			 -EAGAIN);
	send_keyed(p, "c", "new");
	assert_int_equal(fev_tail_next(late, &te, c->buf, sizeof(c->buf), 0),
			 0);
	expect_event(&te, "c", "new");
	fev_tail_close(early);
	fev_tail_close(late);
	fev_close(q);
	fev_close(p);
}

/* Send and consume n events: the ring moves on, the tail does not. */
static void pass_events(fev_queue *p, fev_queue *q, uint32_t n)
{
	fev_event ev;

	for (uint32_t i = 0; i < n; i++) {
		assert_int_equal(fev_send(p, &i, sizeof(i), 0), 0);
		assert_int_equal(fev_acquire(q, &ev, 0), 0);
		assert_int_equal(fev_release(q, &ev), 0);
	}
}

static void test_lapped_tail_reports_exactly_what_it_missed(void **state)
{
	struct ctx *c = *state;
	fev_queue *p = fevtest_open(c->inst, "q", FEV_PRODUCER, 0);
	fev_queue *q = fevtest_open(c->inst, "q", FEV_CONSUMER, 0);
	fev_tail *t = tail_open(c, "q", FEV_TAIL_LATEST);
	uint64_t seen = 0, missed = 0, id = 0;
	fev_tail_event te;

	pass_events(p, q, 5 * CAPACITY + 3);
	while (fev_tail_next(t, &te, c->buf, sizeof(c->buf), 0) == 0) {
		uint32_t v;

		memcpy(&v, te.ev.data, sizeof(v));
		assert_int_equal(v, te.ev.id); /* the event of that position */
		if (seen > 0)
			assert_int_equal(te.ev.id, id + 1 + te.missed);
		id = te.ev.id;
		missed += te.missed;
		seen++;
	}
	/* Every position is either seen or counted, never both. */
	assert_true(missed > 0);
	assert_int_equal(seen + missed, 5 * CAPACITY + 3);
	assert_int_equal(fev_tail_missed(t), missed);
	assert_int_equal(id, 5 * CAPACITY + 2);
	fev_tail_close(t);
	fev_close(q);
	fev_close(p);
}

static fev_queue *lap_p, *lap_q;

/* Between the tail's copy and its check: a lap of the ring goes by. */
static void lap_during_copy(uint64_t pos)
{
	(void)pos;
	fev__tail_after_copy = NULL; /* once */
	pass_events(lap_p, lap_q, CAPACITY);
}

static void test_copy_of_a_slot_reused_meanwhile_is_dropped(void **state)
{
	struct ctx *c = *state;
	fev_tail *t;
	fev_tail_event te;
	uint32_t v;

	lap_p = fevtest_open(c->inst, "q", FEV_PRODUCER, 0);
	lap_q = fevtest_open(c->inst, "q", FEV_CONSUMER, 0);
	pass_events(lap_p, lap_q, 1); /* position 0 holds 0, released */
	t = tail_open(c, "q", FEV_TAIL_EARLIEST);
	fev__tail_after_copy = lap_during_copy;
	/* Position 0 was copied, then rewritten by position 8: the copy is
	 * dropped, and the tail resumes half a ring behind head (9). */
	assert_int_equal(fev_tail_next(t, &te, c->buf, sizeof(c->buf), 0), 0);
	memcpy(&v, te.ev.data, sizeof(v));
	assert_int_equal(te.ev.id, 9 - CAPACITY / 2);
	/* Positions 1 .. 8 hold 0 .. 7: the event of that position. */
	assert_int_equal(v, te.ev.id - 1);
	assert_int_equal(te.missed, 9 - CAPACITY / 2);
	fev_tail_close(t);
	fev_close(lap_q);
	fev_close(lap_p);
}

static void test_tail_never_holds_a_slot_producers_need(void **state)
{
	struct ctx *c = *state;
	fev_queue *p = fevtest_open(c->inst, "q", FEV_PRODUCER, 0);
	fev_queue *q = fevtest_open(c->inst, "q", FEV_CONSUMER, 0);
	fev_tail *t = tail_open(c, "q", FEV_TAIL_EARLIEST);

	/* The tail reads nothing meanwhile; a gating reader would make the
	 * reject-policy producer fail once the first lap is consumed. */
	pass_events(p, q, 3 * CAPACITY);
	fev_tail_close(t);
	fev_close(q);
	fev_close(p);
}

static void test_tail_maps_the_segment_read_only(void **state)
{
	struct ctx *c = *state;
	fev_tail *t = tail_open(c, "q", FEV_TAIL_LATEST);
	FILE *maps = fopen("/proc/self/maps", "re");
	char want[96], *line = NULL;
	size_t cap = 0;
	int found = 0;

	assert_non_null(maps);
	snprintf(want, sizeof(want), "/dev/shm/fev.%s.q", c->inst);
	while (getline(&line, &cap, maps) > 0) {
		if (strstr(line, want) == NULL)
			continue;
		/* "r--s": readable, shared, never writable. */
		assert_non_null(strstr(line, " r--s "));
		found++;
	}
	assert_int_equal(found, 1);
	free(line);
	fclose(maps);
	fev_tail_close(t);
}

static void test_tail_follows_every_partition_of_a_topic(void **state)
{
	struct ctx *c = *state;
	fev_topic *tp;
	fev_tail *t, *one;
	fev_tail_event te;
	uint32_t seen[4] = { 0 };
	int n = 0;

	fevtest_create_topic(c->inst, "tp", 4, 8, MAX_EVENT);
	assert_int_equal(fev_topic_open("tp", FEV_PRODUCER,
					&(fev_open_opts){
						.struct_size =
							sizeof(fev_open_opts),
						.instance = c->inst },
					&tp),
			 0);
	t = tail_open(c, "tp", FEV_TAIL_LATEST);
	one = tail_open(c, "tp@2", FEV_TAIL_LATEST);
	assert_int_equal(fev_tail_partitions(t), 4);
	assert_int_equal(fev_tail_partitions(one), 1);
	for (int i = 0; i < 12; i++) {
		char key[8];

		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(fev_topic_send(tp, key, strlen(key), key,
						strlen(key), 0),
				 fev_partition_for_key(key, strlen(key), 4));
	}
	while (fev_tail_next(t, &te, c->buf, sizeof(c->buf), 0) == 0) {
		/* The key chose the partition, and the tail says which. */
		assert_int_equal(fev_partition_for_key(te.ev.key,
						       te.ev.key_len, 4),
				 (int)te.partition);
		assert_memory_equal(te.ev.key, te.ev.data, te.ev.len);
		seen[te.partition]++;
		n++;
	}
	assert_int_equal(n, 12);
	for (n = 0; fev_tail_next(one, &te, c->buf, sizeof(c->buf), 0) == 0;
	     n++)
		assert_int_equal(te.partition, 2);
	assert_int_equal((uint32_t)n, seen[2]);
	fev_tail_close(one);
	fev_tail_close(t);
	fev_topic_close(tp);
	assert_int_equal(fev_topic_delete("tp", c->inst), 0);
}

static void test_tail_of_deleted_queue_says_so(void **state)
{
	struct ctx *c = *state;
	fev_tail *t = tail_open(c, "q", FEV_TAIL_LATEST);
	fev_tail_event te;

	assert_int_equal(fev_queue_delete("q", c->inst), 0);
	assert_int_equal(fev_tail_next(t, &te, c->buf, sizeof(c->buf),
				       100 * FEVTEST_MS),
			 -EIDRM);
	fev_tail_close(t);
	fevtest_create(c->inst, "q", CAPACITY, MAX_EVENT, FEV_POLICY_REJECT);
}

static void test_tail_refuses_bad_arguments(void **state)
{
	struct ctx *c = *state;
	fev_tail_opts o = { .struct_size = sizeof(o), .instance = c->inst,
			    .start = 7 };
	fev_tail *t = NULL;
	fev_tail_event te;

	assert_int_equal(fev_tail_open("q", &o, &t), -EINVAL);
	o.start = FEV_TAIL_LATEST;
	o.cpu_percent = FEV_TAIL_CPU_FULL + 1;
	assert_int_equal(fev_tail_open("q", &o, &t), -EINVAL);
	o.cpu_percent = 0;
	assert_int_equal(fev_tail_open("bad name", NULL, &t), -EINVAL);
	o.start = FEV_TAIL_LATEST;
	assert_int_equal(fev_tail_open("nothere", &o, &t), -ENOENT);
	t = tail_open(c, "q", FEV_TAIL_LATEST);
	assert_int_equal(fev_tail_max_event(t), MAX_EVENT);
	/* A buffer smaller than an event could be. */
	assert_int_equal(fev_tail_next(t, &te, c->buf, MAX_EVENT - 1, 0),
			 -EINVAL);
	assert_int_equal(fev_tail_next(t, &te, c->buf, sizeof(c->buf), -5),
			 -EINVAL);
	assert_int_equal(fev_tail_next(t, &te, c->buf, sizeof(c->buf),
				       20 * FEVTEST_MS),
			 -ETIMEDOUT);
	fev_tail_close(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_tail_sees_events_without_taking_them, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_tail_earliest_shows_what_ring_holds_latest_does_not,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_lapped_tail_reports_exactly_what_it_missed, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_copy_of_a_slot_reused_meanwhile_is_dropped, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_tail_never_holds_a_slot_producers_need, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_tail_maps_the_segment_read_only, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_tail_follows_every_partition_of_a_topic, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_tail_of_deleted_queue_says_so, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tail_refuses_bad_arguments,
						setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
