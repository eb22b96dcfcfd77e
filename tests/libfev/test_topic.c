/*
 * Topics (topic.c): partitions are rings named "T", "T@1" ...; keyed events
 * land in Kafka's partition for their key, unkeyed ones round-robin; a
 * queue is a topic of one partition; create and delete are whole, and what
 * a cut-short one leaves is taken back; a partition that says it belongs
 * elsewhere is refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "fevtest.h"
#include "segment.h"

/* The shared fixture; a test still running after a minute has hung. */
static int setup(void **state)
{
	return fevtest_setup(state, 60);
}

static fev_topic *open_topic(const char *inst, const char *name)
{
	fev_open_opts o = { .struct_size = sizeof(o), .instance = inst };
	fev_topic *t = NULL;

	assert_int_equal(fev_topic_open(name, FEV_PRODUCER, &o, &t), 0);
	return t;
}

static void shm_remove(const char *inst, const char *seg)
{
	char shm[FEV__SHM_NAME_MAX];

	assert_int_equal(fev__shm_name(shm, sizeof(shm), inst, seg), 0);
	assert_int_equal(shm_unlink(shm), 0);
}

static void test_segment_names_take_a_partition_suffix(void **state)
{
	static const char *good[] = { "t", "t@1", "t@9", "t@10", "t@255",
				      "a.b-c_d@42" };
	static const char *bad[] = { "", "@1", "t@", "t@0", "t@01", "t@256",
				     "t@1@2", "t@-1", "t@+1", "t@1x",
				     "t@99999999999999999999" };
	size_t len;
	uint32_t k;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(fev__segment_name_parse(good[i], NULL, NULL),
				 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (fev__segment_name_parse(bad[i], NULL, NULL) != -EINVAL)
			fail_msg("'%s' taken for a segment name", bad[i]);
	assert_int_equal(fev__segment_name_parse("orders@17", &len, &k), 0);
	assert_int_equal(len, 6);
	assert_int_equal(k, 17);
	/* A queue is never named like a partition. */
	assert_int_equal(fev_queue_name_valid("t@1"), -EINVAL);
}

static void test_topic_create_refuses_bad_arguments(void **state)
{
	struct fevtest_ctx *c = *state;
	fev_queue_config cfg = { .struct_size = sizeof(cfg), .capacity = 4 };

	assert_int_equal(fev_topic_create("t", 0, &cfg, c->inst), -EINVAL);
	assert_int_equal(fev_topic_create("t", FEV_PARTITIONS_MAX + 1, &cfg,
					  c->inst),
			 -EINVAL);
	assert_int_equal(fev_topic_create("t@1", 2, &cfg, c->inst), -EINVAL);
	assert_int_equal(fev_queue_create("t@1", &cfg, c->inst), -EINVAL);
	cfg.capacity = 3;
	assert_int_equal(fev_topic_create("t", 2, &cfg, c->inst), -EINVAL);
	assert_int_equal(fevtest_shm_count(c->inst), 0);
}

/* Each partition holds exactly the events of the keys Kafka puts there. */
static void test_keyed_events_land_in_their_kafka_partition(void **state)
{
	struct fevtest_ctx *c = *state;
	enum { P = 4, KEYS = 100 };
	fev_topic *t;
	int per[P] = { 0 };

	fevtest_create_topic(c->inst, "orders", P, 256, 64);
	t = open_topic(c->inst, "orders");
	assert_int_equal(fev_topic_partitions(t), P);
	for (int i = 0; i < KEYS; i++) {
		char key[16];
		int n = snprintf(key, sizeof(key), "key-%d", i);
		int want = fev_partition_for_key(key, (size_t)n, P);

		assert_int_equal(fev_topic_send(t, key, (size_t)n, key,
						(size_t)n + 1, 0),
				 want);
		per[want]++;
	}
	fev_topic_close(t);
	for (uint32_t k = 0; k < P; k++) {
		char seg[FEV__SEG_NAME_MAX + 1], buf[64];
		fev_queue *q;
		ssize_t n;
		int got = 0;

		assert_int_equal(fev__partition_name(seg, sizeof(seg),
						     "orders", k),
				 0);
		q = fevtest_open(c->inst, seg, FEV_CONSUMER, 0);
		while ((n = fev_recv(q, buf, sizeof(buf), NULL, 0)) > 0) {
			assert_int_equal(fev_partition_for_key(
						 buf, (size_t)n - 1, P),
					 (int)k);
			got++;
		}
		assert_int_equal(n, -EAGAIN);
		assert_int_equal(got, per[k]);
		fev_close(q);
	}
	assert_int_equal(fev_topic_delete("orders", c->inst), 0);
}

static void test_unkeyed_events_go_round_robin(void **state)
{
	struct fevtest_ctx *c = *state;
	fev_stats st[3];
	fev_topic *t;

	fevtest_create_topic(c->inst, "rr", 3, 256, 64);
	t = open_topic(c->inst, "rr");
	for (int i = 0; i < 9; i++)
		assert_int_equal(fev_topic_send(t, NULL, 0, "x", 1, 0), i % 3);
	/* key NULL with a length is a caller's mistake, not "no key". */
	assert_int_equal(fev_topic_send(t, NULL, 3, "x", 1, 0), -EINVAL);
	fev_topic_close(t);
	assert_int_equal(fev_topic_stats("rr", c->inst, st, 3), 3);
	for (int k = 0; k < 3; k++) {
		assert_int_equal(st[k].enqueued, 3);
		assert_int_equal(st[k].depth, 3);
	}
	assert_int_equal(fev_topic_stats("rr", c->inst, NULL, 0), 3);
	assert_int_equal(fev_queue_delete("rr", c->inst), 0);
}

static void test_queue_is_a_topic_of_one_partition(void **state)
{
	struct fevtest_ctx *c = *state;
	fev_queue_config cfg = { .struct_size = sizeof(cfg), .capacity = 8,
				 .max_event = 8 };
	fev_stats st;
	fev_topic *t;
	fev_queue *q;
	char buf[8];

	fevtest_create(c->inst, "q", 8, 8, FEV_POLICY_BLOCK);
	t = open_topic(c->inst, "q");
	assert_int_equal(fev_topic_partitions(t), 1);
	assert_int_equal(fev_topic_send(t, "k", 1, "hi", 2, 0), 0);
	assert_null(fev_topic_partition(t, 1));
	fev_topic_close(t);
	q = fevtest_open(c->inst, "q", FEV_CONSUMER, 0);
	assert_int_equal(fev_recv(q, buf, sizeof(buf), NULL, 0), 2);
	fev_close(q);
	assert_int_equal(fev_topic_stats("q", c->inst, &st, 1), 1);
	/* One name space: a topic and a queue never share a name. */
	assert_int_equal(fev_topic_create("q", 2, &cfg, c->inst), -EEXIST);
	fevtest_create_topic(c->inst, "t", 2, 256, 64);
	assert_int_equal(fev_queue_create("t", &cfg, c->inst), -EEXIST);
	assert_int_equal(fev_topic_create("t", 2, &cfg, c->inst), -EEXIST);
	assert_int_equal(fev_queue_delete("q", c->inst), 0);
	assert_int_equal(fev_queue_delete("t", c->inst), 0);
}

static void test_delete_tells_every_partition(void **state)
{
	struct fevtest_ctx *c = *state;
	fev_topic *t;

	fevtest_create_topic(c->inst, "gone", 3, 256, 64);
	t = open_topic(c->inst, "gone");
	assert_int_equal(fev_topic_delete("gone", c->inst), 0);
	assert_int_equal(fevtest_shm_count(c->inst), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(fev_topic_send(t, NULL, 0, "x", 1, 0),
				 -EIDRM);
	fev_topic_close(t);
	assert_int_equal(fev_topic_delete("gone", c->inst), -ENOENT);
}

/* Ids restart at 0 in a topic created again: its partitions' creation
 * times tell the incarnations apart (fev-webhooks' webhook-id uses them). */
static void test_a_topic_created_again_has_a_new_created_ns(void **state)
{
	struct fevtest_ctx *c = *state;
	fev_queue *a, *b;
	uint64_t first;

	fevtest_create_topic(c->inst, "again", 2, 256, 64);
	a = fevtest_open(c->inst, "again@1", FEV_CONSUMER, 0);
	b = fevtest_open(c->inst, "again@1", FEV_PRODUCER, 0);
	first = fev_queue_created_ns(a);
	assert_true(first > 0);
	assert_true(fev_queue_created_ns(b) == first);
	fev_close(a);
	fev_close(b);
	assert_int_equal(fev_topic_delete("again", c->inst), 0);
	fevtest_create_topic(c->inst, "again", 2, 256, 64);
	a = fevtest_open(c->inst, "again@1", FEV_CONSUMER, 0);
	assert_true(fev_queue_created_ns(a) != first);
	fev_close(a);
	assert_int_equal(fev_topic_delete("again", c->inst), 0);
}

/* A create or delete cut short leaves partitions without partition 0. */
static void test_leftover_partitions_are_taken_back(void **state)
{
	struct fevtest_ctx *c = *state;
	fev_topic *t;

	fevtest_create_topic(c->inst, "cut", 3, 256, 64);
	shm_remove(c->inst, "cut");
	assert_int_equal(fevtest_shm_count(c->inst), 2);
	/* create replaces them ... */
	fevtest_create_topic(c->inst, "cut", 3, 256, 64);
	assert_int_equal(fevtest_shm_count(c->inst), 3);
	t = open_topic(c->inst, "cut");
	fev_topic_close(t);
	/* ... and delete removes them even with partition 0 gone. */
	shm_remove(c->inst, "cut");
	assert_int_equal(fev_topic_delete("cut", c->inst), 0);
	assert_int_equal(fevtest_shm_count(c->inst), 0);
}

static void test_missing_partition_is_enoent(void **state)
{
	struct fevtest_ctx *c = *state;
	fev_open_opts o = { .struct_size = sizeof(o), .instance = c->inst };
	fev_stats st[3];
	fev_topic *t = NULL;

	fevtest_create_topic(c->inst, "hole", 3, 256, 64);
	shm_remove(c->inst, "hole@2");
	assert_int_equal(fev_topic_open("hole", FEV_PRODUCER, &o, &t),
			 -ENOENT);
	assert_null(t);
	assert_int_equal(fev_topic_stats("hole", c->inst, st, 3), -ENOENT);
	assert_int_equal(fev_topic_open("hole", FEV_CONSUMER, &o, &t),
			 -EINVAL);
	assert_int_equal(fev_topic_delete("hole", c->inst), 0);
}

/* Write a header word of segment seg as a hostile writer would. */
static void forge_header(const char *inst, const char *seg, size_t off,
			 uint32_t v)
{
	char shm[FEV__SHM_NAME_MAX];
	int fd;

	assert_int_equal(fev__shm_name(shm, sizeof(shm), inst, seg), 0);
	fd = shm_open(shm, O_RDWR, 0);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, &v, sizeof(v), (off_t)off), sizeof(v));
	close(fd);
}

static void test_partition_of_another_topic_is_refused(void **state)
{
	struct fevtest_ctx *c = *state;
	fev_open_opts o = { .struct_size = sizeof(o), .instance = c->inst };
	const size_t partitions = offsetof(struct fev__header, partitions);
	const size_t partition = offsetof(struct fev__header, partition);
	fev_topic *t = NULL;
	fev_queue *q = NULL;
	fev_stats st[3];

	fevtest_create_topic(c->inst, "bad", 3, 256, 64);
	/* Says it is partition 1 of 3, found at partition 2's name. */
	forge_header(c->inst, "bad@2", partition, 1);
	assert_int_equal(fev_topic_open("bad", FEV_PRODUCER, &o, &t),
			 -EBADMSG);
	assert_int_equal(fev_topic_stats("bad", c->inst, st, 3), -EBADMSG);
	/* Of another number of partitions. */
	forge_header(c->inst, "bad@2", partition, 2);
	forge_header(c->inst, "bad@2", partitions, 4);
	assert_int_equal(fev_topic_open("bad", FEV_PRODUCER, &o, &t),
			 -EBADMSG);
	/* Impossible values: the segment itself is corrupt. */
	forge_header(c->inst, "bad@2", partitions, FEV_PARTITIONS_MAX + 1);
	assert_int_equal(fev_open("bad@2", FEV_CONSUMER, &o, &q), -EBADMSG);
	forge_header(c->inst, "bad@2", partitions, 2);
	assert_int_equal(fev_open("bad@2", FEV_CONSUMER, &o, &q), -EBADMSG);
	forge_header(c->inst, "bad", partitions, 0xffffffffu);
	assert_int_equal(fev_topic_open("bad", FEV_PRODUCER, &o, &t),
			 -EBADMSG);
	assert_null(t);
	assert_null(q);
	/* Names stay recoverable: delete removes them all. */
	assert_int_equal(fev_topic_delete("bad", c->inst), 0);
}

/* The key chooses the partition and travels with the event, headers too. */
static void test_keyed_event_carries_its_key_and_headers(void **state)
{
	struct fevtest_ctx *c = *state;
	fev_header h = { .name = FEV_HDR_CONTENT_TYPE, .value = "text/plain",
			 .value_len = 10 };
	fev_send_opts o = { .struct_size = sizeof(o), .key = "order-7",
			    .key_len = 7, .headers = &h, .n_headers = 1 };
	char seg[FEV__SEG_NAME_MAX + 1];
	int k = fev_partition_for_key("order-7", 7, 4);
	const void *v;
	fev_topic *t;
	fev_queue *q;
	fev_event ev;
	size_t n;

	fevtest_create_topic(c->inst, "keyed", 4, 256, 64);
	t = open_topic(c->inst, "keyed");
	assert_int_equal(fev_topic_send_ex(t, &o, "hi", 2, 0), k);
	assert_int_equal(fev_topic_send(t, "order-7", 7, "again", 5, 0), k);
	fev_topic_close(t);
	assert_int_equal(fev__partition_name(seg, sizeof(seg), "keyed",
					     (uint32_t)k),
			 0);
	q = fevtest_open(c->inst, seg, FEV_CONSUMER, 0);
	assert_int_equal(fev_acquire(q, &ev, 0), 0);
	assert_int_equal(ev.key_len, 7);
	assert_memory_equal(ev.key, "order-7", 7);
	assert_int_equal(fev_header_get(&ev, "Content-Type", &v, &n), 0);
	assert_memory_equal(v, "text/plain", 10);
	assert_int_equal(fev_release(q, &ev), 0);
	assert_int_equal(fev_acquire(q, &ev, 0), 0);
	assert_memory_equal(ev.key, "order-7", 7);
	assert_int_equal(ev.n_headers, 0);
	assert_memory_equal(ev.data, "again", 5);
	assert_int_equal(fev_release(q, &ev), 0);
	fev_close(q);
	assert_int_equal(fev_topic_delete("keyed", c->inst), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_segment_names_take_a_partition_suffix),
		cmocka_unit_test_setup_teardown(
			test_topic_create_refuses_bad_arguments, setup,
			fevtest_teardown),
		cmocka_unit_test_setup_teardown(
			test_keyed_events_land_in_their_kafka_partition, setup,
			fevtest_teardown),
		cmocka_unit_test_setup_teardown(
			test_keyed_event_carries_its_key_and_headers, setup,
			fevtest_teardown),
		cmocka_unit_test_setup_teardown(
			test_unkeyed_events_go_round_robin, setup, fevtest_teardown),
		cmocka_unit_test_setup_teardown(
			test_queue_is_a_topic_of_one_partition, setup,
			fevtest_teardown),
		cmocka_unit_test_setup_teardown(
			test_delete_tells_every_partition, setup, fevtest_teardown),
		cmocka_unit_test_setup_teardown(
			test_a_topic_created_again_has_a_new_created_ns, setup,
			fevtest_teardown),
		cmocka_unit_test_setup_teardown(
			test_leftover_partitions_are_taken_back, setup,
			fevtest_teardown),
		cmocka_unit_test_setup_teardown(test_missing_partition_is_enoent,
						setup, fevtest_teardown),
		cmocka_unit_test_setup_teardown(
			test_partition_of_another_topic_is_refused, setup,
			fevtest_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
