/*
 * What callers get wrong when creating, opening and deleting queues
 * (admin.c, the checks in client.c, errors.c): bad names, configurations
 * and arguments, missing, existing and deleted queues.  Each is refused
 * with its own error, never a crash or a hang.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "fevtest.h"
#include "layout.h"
#include "segment.h"

static int setup(void **state)
{
	return fevtest_setup(state, 60);
}

/* ---- names and arguments ----------------------------------------------- */

static void assert_queue_name_refused(const char *inst, const char *q)
{
	fev_queue_config cfg = { .struct_size = sizeof(cfg), .capacity = 4,
				 .max_event = 8 };
	fev_open_opts o = { .struct_size = sizeof(o), .instance = inst };
	fev_queue *h = NULL;
	fev_stats st;

	assert_int_equal(fev_queue_name_valid(q), -EINVAL);
	assert_int_equal(fev_queue_create(q, &cfg, inst), -EINVAL);
	assert_int_equal(fev_open(q, FEV_CONSUMER, &o, &h), -EINVAL);
	assert_int_equal(fev_queue_stats(q, inst, &st), -EINVAL);
	assert_int_equal(fev_queue_delete(q, inst), -EINVAL);
}

static void test_bad_queue_names_are_einval(void **state)
{
	const char *inst = ((struct fevtest_ctx *)*state)->inst;
	char name64[65], name63[64];

	memset(name64, 'q', 64);
	name64[64] = '\0';
	memset(name63, 'q', 63);
	name63[63] = '\0';
	assert_queue_name_refused(inst, "a/b");
	assert_queue_name_refused(inst, "/abs");
	assert_queue_name_refused(inst, "");
	assert_queue_name_refused(inst, NULL);
	assert_queue_name_refused(inst, name64);
	assert_queue_name_refused(inst, "sp ace");
	assert_queue_name_refused(inst, "ü");
	/* The longest name, and dots, are fine in queue names. */
	fevtest_create(inst, name63, 4, 8, FEV_POLICY_BLOCK);
	assert_int_equal(fev_queue_delete(name63, inst), 0);
	fevtest_create(inst, "a.b-c_D9", 4, 8, FEV_POLICY_BLOCK);
	assert_int_equal(fev_queue_delete("a.b-c_D9", inst), 0);
}

static void test_bad_instance_names_are_einval(void **state)
{
	char inst32[33], inst31[32];
	fev_queue_config cfg = { .struct_size = sizeof(cfg), .capacity = 4,
				 .max_event = 8 };
	const char *bad[] = { "a.b", "", "a/b", inst32, ".", "x y" };
	fev_open_opts o = { .struct_size = sizeof(o) };
	fev_queue *h = NULL;

	(void)state;
	memset(inst32, 'i', 32);
	inst32[32] = '\0';
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(fev_instance_name_valid(bad[i]), -EINVAL);
		assert_int_equal(fev_queue_create("q", &cfg, bad[i]), -EINVAL);
		o.instance = bad[i];
		assert_int_equal(fev_open("q", FEV_CONSUMER, &o, &h), -EINVAL);
		assert_int_equal(fev_queue_delete("q", bad[i]), -EINVAL);
	}
	/* 31 characters is the longest instance name. */
	snprintf(inst31, sizeof(inst31), "%s", ((struct fevtest_ctx *)*state)->inst);
	memset(inst31 + strlen(inst31), 'i', 31 - strlen(inst31));
	inst31[31] = '\0';
	assert_int_equal(fev_instance_name_valid(inst31), 0);
	fevtest_create(inst31, "q", 4, 8, FEV_POLICY_BLOCK);
	assert_int_equal(fev_queue_delete("q", inst31), 0);
	fevtest_assert_no_leftovers(inst31);
}

static void test_bad_queue_configs_are_einval(void **state)
{
	const char *inst = ((struct fevtest_ctx *)*state)->inst;
	const fev_queue_config good = { .struct_size = sizeof(good),
					.capacity = 4, .max_event = 8 };
	fev_queue_config c;

	assert_int_equal(fev_queue_create("q", NULL, inst), -EINVAL);
	c = good, c.struct_size = 0;
	assert_int_equal(fev_queue_create("q", &c, inst), -EINVAL);
	c = good, c.capacity = 6;
	assert_int_equal(fev_queue_create("q", &c, inst), -EINVAL);
	c = good, c.capacity = 1;
	assert_int_equal(fev_queue_create("q", &c, inst), -EINVAL);
	c = good, c.capacity = 0;
	assert_int_equal(fev_queue_create("q", &c, inst), -EINVAL);
	c = good, c.capacity = FEV__CAPACITY_MAX * 2;
	assert_int_equal(fev_queue_create("q", &c, inst), -EINVAL);
	c = good, c.max_event = FEV__MAX_EVENT_MAX + 1;
	assert_int_equal(fev_queue_create("q", &c, inst), -EINVAL);
	c = good, c.policy = 3;
	assert_int_equal(fev_queue_create("q", &c, inst), -EINVAL);
	c = good, c.policy = -1;
	assert_int_equal(fev_queue_create("q", &c, inst), -EINVAL);
	c = good, c.mode = 04777;
	assert_int_equal(fev_queue_create("q", &c, inst), -EINVAL);
	c = good, c.attachers = FEV__ATTACHERS_MAX + 1;
	assert_int_equal(fev_queue_create("q", &c, inst), -EINVAL);
	assert_int_equal(fevtest_shm_count(inst), 0);
}

static void test_bad_open_arguments_are_einval(void **state)
{
	const char *inst = ((struct fevtest_ctx *)*state)->inst;
	fev_open_opts o = { .struct_size = sizeof(o), .instance = inst };
	fev_queue *h = NULL;

	fevtest_create(inst, "args", 4, 8, FEV_POLICY_BLOCK);
	assert_int_equal(fev_open("args", 0, &o, &h), -EINVAL);
	assert_int_equal(fev_open("args", 4, &o, &h), -EINVAL);
	assert_int_equal(fev_open("args", FEV_CONSUMER, &o, NULL), -EINVAL);
	o.flags = 0x80;
	assert_int_equal(fev_open("args", FEV_CONSUMER, &o, &h), -EINVAL);
	o.flags = 0;
	o.struct_size = 4;
	assert_int_equal(fev_open("args", FEV_CONSUMER, &o, &h), -EINVAL);
	assert_null(h);
	assert_int_equal(fev_queue_delete("args", inst), 0);
}

static void test_config_from_an_older_caller_is_read_only_up_to_its_size(
	void **state)
{
	const char *inst = ((struct fevtest_ctx *)*state)->inst;
	/* The first release's struct: no mode, group or attachers.  The
	 * bytes after it belong to someone else: fill them with garbage. */
	size_t old_size = offsetof(fev_queue_config, mode);
	union {
		fev_queue_config cfg;
		unsigned char bytes[sizeof(fev_queue_config)];
	} u;
	fev_stats st;

	memset(u.bytes, 0xff, sizeof(u.bytes));
	u.cfg.struct_size = old_size;
	u.cfg.capacity = 4;
	u.cfg.max_event = 8;
	u.cfg.policy = FEV_POLICY_BLOCK;
	assert_int_equal(fev_queue_create("old", &u.cfg, inst), 0);
	assert_int_equal(fev_queue_stats("old", inst, &st), 0);
	assert_int_equal(st.capacity, 4);
	assert_int_equal(fev_queue_delete("old", inst), 0);
}


/* ---- missing, existing, deleted ---------------------------------------- */

static void test_missing_queue_is_enoent(void **state)
{
	const char *inst = ((struct fevtest_ctx *)*state)->inst;
	fev_open_opts o = { .struct_size = sizeof(o), .instance = inst };
	fev_queue *h = NULL;
	fev_stats st;

	assert_int_equal(fev_open("nope", FEV_CONSUMER, &o, &h), -ENOENT);
	assert_int_equal(fev_queue_stats("nope", inst, &st), -ENOENT);
	assert_int_equal(fev_queue_delete("nope", inst), -ENOENT);
	assert_non_null(strstr(fev_strerror(-ENOENT), "create"));
}

static void test_creating_an_existing_queue_is_eexist(void **state)
{
	const char *inst = ((struct fevtest_ctx *)*state)->inst;
	fev_queue_config cfg = { .struct_size = sizeof(cfg), .capacity = 16,
				 .max_event = 8 };
	fev_stats st;

	fevtest_create(inst, "dup", 4, 8, FEV_POLICY_BLOCK);
	assert_int_equal(fev_queue_create("dup", &cfg, inst), -EEXIST);
	/* The existing queue is untouched. */
	assert_int_equal(fev_queue_stats("dup", inst, &st), 0);
	assert_int_equal(st.capacity, 4);
	assert_int_equal(fev_queue_delete("dup", inst), 0);
}

static void test_deleted_queue_answers_eidrm_to_attached_handles(
	void **state)
{
	const char *inst = ((struct fevtest_ctx *)*state)->inst;
	fev_queue *p, *c;
	fev_event ev;
	fev_claim cl;
	uint64_t v = 1;
	struct iovec iov = { &v, sizeof(v) };

	fevtest_create(inst, "del", 4, 8, FEV_POLICY_BLOCK);
	p = fevtest_open(inst, "del", FEV_PRODUCER, 0);
	c = fevtest_open(inst, "del", FEV_CONSUMER, 0);
	assert_int_equal(fev_send(p, &v, sizeof(v), 0), 0);
	assert_int_equal(fev_queue_delete("del", inst), 0);
	assert_int_equal(fev_send(p, &v, sizeof(v), 0), -EIDRM);
	assert_int_equal(fev_send_batch(p, &iov, 1, 0), -EIDRM);
	assert_int_equal(fev_reserve(p, 8, &cl, FEV_FOREVER), -EIDRM);
	assert_int_equal(fev_recv(c, &v, sizeof(v), NULL, FEV_FOREVER), -EIDRM);
	assert_int_equal(fev_acquire(c, &ev, 0), -EIDRM);
	/* The name is free again at once. */
	assert_int_equal(fev_queue_stats("del", inst, &(fev_stats){ 0 }),
			 -ENOENT);
	fevtest_create(inst, "del", 4, 8, FEV_POLICY_BLOCK);
	assert_int_equal(fev_send(p, &v, sizeof(v), 0), -EIDRM);
	fev_close(p);
	fev_close(c);
	assert_int_equal(fev_queue_delete("del", inst), 0);
}

struct sleeper {
	fev_queue *q;
	bool producer;
	atomic_int started;
	int rc;
};

static void *sleep_in_queue(void *arg)
{
	struct sleeper *s = arg;
	uint64_t v = 0;

	atomic_store(&s->started, 1);
	if (s->producer)
		s->rc = fev_send(s->q, &v, sizeof(v), FEV_FOREVER);
	else
		s->rc = (int)fev_recv(s->q, &v, sizeof(v), NULL, FEV_FOREVER);
	return NULL;
}

static void delete_under_sleeper(const char *inst, bool producer,
				 unsigned settle_ms)
{
	struct sleeper s = { .producer = producer };
	pthread_t t;
	uint64_t v = 0;

	fevtest_create(inst, "sleep", 2, 8, FEV_POLICY_BLOCK);
	s.q = fevtest_open(inst, "sleep",
			   producer ? FEV_PRODUCER : FEV_CONSUMER,
			   FEV_OPEN_NO_SPIN);
	if (producer) /* fill it, so the sender has to sleep */
		for (int i = 0; i < 2; i++)
			assert_int_equal(fev_send(s.q, &v, sizeof(v), 0), 0);
	assert_int_equal(pthread_create(&t, NULL, sleep_in_queue, &s), 0);
	while (!atomic_load(&s.started))
		;
	fevtest_sleep_ms(settle_ms);
	assert_int_equal(fev_queue_delete("sleep", inst), 0);
	/* alarm() in setup turns a lost wake-up into a failure. */
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(s.rc, -EIDRM);
	fev_close(s.q);
}

static void test_delete_wakes_a_consumer_sleeping_in_recv(void **state)
{
	delete_under_sleeper(((struct fevtest_ctx *)*state)->inst, false, 100);
}

static void test_delete_wakes_a_producer_sleeping_on_a_full_queue(
	void **state)
{
	delete_under_sleeper(((struct fevtest_ctx *)*state)->inst, true, 100);
}

static void test_delete_racing_a_sleeper_never_loses_its_wakeup(void **state)
{
	for (int i = 0; i < 300; i++)
		delete_under_sleeper(((struct fevtest_ctx *)*state)->inst, i % 2,
				     0);
}

static void test_strerror_has_a_sentence_for_every_error(void **state)
{
	const int errs[] = { 0,	       -EINVAL,	  -ENOENT, -EEXIST,
			     -EACCES,  -EPERM,	  -EBADMSG, -EPROTO,
			     -EIDRM,   -EUSERS,	  -EMSGSIZE, -EAGAIN,
			     -ETIMEDOUT, -ENOMEM, -ENOSPC, -EINTR,
			     -ECHILD };

	(void)state;
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		const char *s = fev_strerror(errs[i]);

		assert_non_null(s);
		assert_true(strlen(s) > 4);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(s, fev_strerror(errs[j]));
	}
	assert_non_null(fev_strerror(-9999));
	assert_non_null(fev_strerror(12345));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, fevtest_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_bad_queue_names_are_einval),
		T(test_bad_instance_names_are_einval),
		T(test_bad_queue_configs_are_einval),
		T(test_bad_open_arguments_are_einval),
		T(test_config_from_an_older_caller_is_read_only_up_to_its_size),
		T(test_missing_queue_is_enoent),
		T(test_creating_an_existing_queue_is_eexist),
		T(test_deleted_queue_answers_eidrm_to_attached_handles),
		T(test_delete_wakes_a_consumer_sleeping_in_recv),
		T(test_delete_wakes_a_producer_sleeping_on_a_full_queue),
		T(test_delete_racing_a_sleeper_never_loses_its_wakeup),
		T(test_strerror_has_a_sentence_for_every_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
