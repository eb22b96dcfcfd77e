/*
 * Consumer groups (consumer_group.c): every group sees every event once, on
 * one copy; the slowest group gates producers; latest and earliest starts;
 * a dead member's events go back to its own group only, flagged; a dead
 * producer's tombstone is skipped by every group; deleting a group lets
 * producers go on; administration errors.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fevtest.h"
#include "repair.h"
#include "segment.h"

#define CAP 64u

/* The shared fixture; a test still running after a minute has hung. */
static int setup(void **state)
{
	return fevtest_setup(state, 60);
}

static void create_group(const char *inst, const char *topic,
			 const char *group, int start)
{
	fev_group_config gc = { .struct_size = sizeof(gc), .start = start };
	int rc = fev_group_create(topic, group, &gc, inst);

	if (rc != 0)
		fail_msg("fev_group_create(%s): %s", group, fev_strerror(rc));
}

static fev_queue *member(const char *inst, const char *seg, const char *group)
{
	fev_open_opts o = { .struct_size = sizeof(o), .instance = inst,
			    .group = group };
	fev_queue *q = NULL;
	int rc = fev_open(seg, FEV_CONSUMER, &o, &q);

	if (rc != 0)
		fail_msg("join %s of %s: %s", group != NULL ? group : "(default)",
			 seg, fev_strerror(rc));
	return q;
}

static fev_queue *producer(const char *inst, const char *seg)
{
	return fevtest_open(inst, seg, FEV_PRODUCER, 0);
}

static uint64_t recv_u64(fev_queue *q, uint32_t *flags, int64_t timeout)
{
	fev_meta meta;
	uint64_t v = UINT64_MAX;
	ssize_t n = fev_recv(q, &v, sizeof(v), &meta, timeout);

	if (n != (ssize_t)sizeof(v))
		fail_msg("recv: %s", fev_strerror((int)n));
	if (flags != NULL)
		*flags = meta.flags;
	return v;
}

/* ---- fan-out under threads --------------------------------------------- */

#define FAN_EVENTS 20000u
#define FAN_GROUPS 3
#define FAN_MEMBERS 2

struct fan {
	const char *inst;
	const char *group;
	_Atomic uint8_t *seen; /* per event: how many times this group saw it */
	_Atomic uint32_t *count;
};

static void *fan_member(void *arg)
{
	struct fan *f = arg;
	fev_queue *q = member(f->inst, "fan", f->group);

	for (;;) {
		fev_event ev;
		uint64_t v;
		int rc = fev_acquire(q, &ev, 2000 * FEVTEST_MS);

		if (rc == -ETIMEDOUT)
			break;
		assert_int_equal(rc, 0);
		assert_int_equal(ev.len, sizeof(v));
		memcpy(&v, ev.data, sizeof(v));
		assert_true(v < FAN_EVENTS);
		atomic_fetch_add(&f->seen[v], 1);
		assert_int_equal(fev_release(q, &ev), 0);
		if (atomic_fetch_add(f->count, 1) + 1 == FAN_EVENTS)
			break;
	}
	fev_close(q);
	return NULL;
}

static void test_every_group_sees_every_event_once(void **state)
{
	struct fevtest_ctx *c = *state;
	static const char *names[FAN_GROUPS] = { "billing", "email", "audit" };
	pthread_t t[FAN_GROUPS][FAN_MEMBERS];
	struct fan f[FAN_GROUPS];
	_Atomic uint32_t count[FAN_GROUPS] = { 0 };
	fev_queue *p;

	fevtest_create_topic(c->inst, "fan", 1, CAP, 16);
	for (int g = 0; g < FAN_GROUPS; g++)
		create_group(c->inst, "fan", names[g], FEV_GROUP_LATEST);
	assert_int_equal(fev_group_delete("fan", "default", c->inst), 0);
	for (int g = 0; g < FAN_GROUPS; g++) {
		f[g] = (struct fan){ .inst = c->inst, .group = names[g],
				     .seen = calloc(FAN_EVENTS, 1),
				     .count = &count[g] };
		for (int m = 0; m < FAN_MEMBERS; m++)
			assert_int_equal(pthread_create(&t[g][m], NULL,
							fan_member, &f[g]),
					 0);
	}
	p = producer(c->inst, "fan");
	for (uint64_t v = 0; v < FAN_EVENTS; v++)
		assert_int_equal(fev_send(p, &v, sizeof(v), 10000 * FEVTEST_MS),
				 0);
	for (int g = 0; g < FAN_GROUPS; g++)
		for (int m = 0; m < FAN_MEMBERS; m++)
			pthread_join(t[g][m], NULL);
	for (int g = 0; g < FAN_GROUPS; g++) {
		for (uint32_t v = 0; v < FAN_EVENTS; v++)
			if (f[g].seen[v] != 1)
				fail_msg("group %s saw event %u %u times",
					 names[g], v, (unsigned)f[g].seen[v]);
		free((void *)f[g].seen);
	}
	fev_close(p);
	assert_int_equal(fev_topic_delete("fan", c->inst), 0);
}

/* ---- gating, starts ----------------------------------------------------- */

static void test_slowest_group_gates_producers(void **state)
{
	struct fevtest_ctx *c = *state;
	fev_queue *p, *fast, *slow;
	uint64_t v = 7;

	fevtest_create_topic(c->inst, "gate", 1, CAP, 16);
	create_group(c->inst, "gate", "fast", FEV_GROUP_LATEST);
	create_group(c->inst, "gate", "slow", FEV_GROUP_LATEST);
	assert_int_equal(fev_group_delete("gate", "default", c->inst), 0);
	p = producer(c->inst, "gate");
	fast = member(c->inst, "gate", "fast");
	slow = member(c->inst, "gate", "slow");
	for (uint64_t i = 0; i < CAP; i++)
		assert_int_equal(fev_send(p, &i, sizeof(i), 0), 0);
	assert_int_equal(fev_send(p, &v, sizeof(v), 0), -EAGAIN);
	for (uint64_t i = 0; i < CAP; i++)
		assert_int_equal(recv_u64(fast, NULL, 0), i);
	/* fast has read everything; slow holds the producer back. */
	assert_int_equal(fev_send(p, &v, sizeof(v), 0), -EAGAIN);
	assert_int_equal(recv_u64(slow, NULL, 0), 0);
	assert_int_equal(fev_send(p, &v, sizeof(v), 0), 0);
	assert_int_equal(fev_send(p, &v, sizeof(v), 0), -EAGAIN);
	fev_close(fast);
	fev_close(slow);
	fev_close(p);
	assert_int_equal(fev_topic_delete("gate", c->inst), 0);
}

static void test_latest_and_earliest_start_where_they_say(void **state)
{
	struct fevtest_ctx *c = *state;
	fev_queue *p, *late, *early, *dflt;
	uint64_t v;

	fevtest_create_topic(c->inst, "start", 1, CAP, 16);
	p = producer(c->inst, "start");
	dflt = member(c->inst, "start", NULL);
	for (v = 0; v < 10; v++)
		assert_int_equal(fev_send(p, &v, sizeof(v), 0), 0);
	/* The default group read 4 of them: those are gone from the ring
	 * only when every group has them, so earliest still sees 0 .. 9. */
	for (v = 0; v < 4; v++)
		assert_int_equal(recv_u64(dflt, NULL, 0), v);
	create_group(c->inst, "start", "late", FEV_GROUP_LATEST);
	create_group(c->inst, "start", "early", FEV_GROUP_EARLIEST);
	late = member(c->inst, "start", "late");
	early = member(c->inst, "start", "early");
	for (v = 10; v < 12; v++)
		assert_int_equal(fev_send(p, &v, sizeof(v), 0), 0);
	assert_int_equal(recv_u64(late, NULL, 0), 10);
	assert_int_equal(recv_u64(late, NULL, 0), 11);
	assert_int_equal(fev_recv(late, &v, sizeof(v), NULL, 0), -EAGAIN);
	/* earliest: what the ring still held (4 .. 9), then the rest. */
	for (v = 4; v < 12; v++)
		assert_int_equal(recv_u64(early, NULL, 0), v);
	assert_int_equal(fev_recv(early, &v, sizeof(v), NULL, 0), -EAGAIN);
	for (v = 4; v < 12; v++)
		assert_int_equal(recv_u64(dflt, NULL, 0), v);
	fev_close(late);
	fev_close(early);
	fev_close(dflt);
	fev_close(p);
	assert_int_equal(fev_topic_delete("start", c->inst), 0);
}

/* ---- crashes ------------------------------------------------------------- */

struct holder_arg {
	const char *inst;
	int n;
};

/* A member of group "a" that takes n events and dies holding them. */
static int hold_and_die(void *arg)
{
	struct holder_arg *h = arg;
	fev_queue *q = member(h->inst, "crash", "a");

	for (int i = 0; i < h->n; i++) {
		fev_event ev;

		if (fev_acquire(q, &ev, 0) != 0)
			return 1;
	}
	_exit(0);
}

static void repair_dead(const char *inst, const char *seg, int pid)
{
	struct fev__map m;
	int repaired = 0;

	assert_int_equal(fev__map_open(inst, seg, true, &m), 0);
	for (uint32_t i = 0; i < m.geo.attacher_max; i++)
		if (atomic_load(&m.attachers[i].state) == FEV__ATT_ACTIVE &&
		    m.attachers[i].pid == pid) {
			assert_int_equal(fev__repair_attacher(&m, i, NULL), 0);
			repaired++;
		}
	assert_int_equal(repaired, 1);
	fev__map_close(&m);
}

static void test_dead_members_events_go_back_to_its_group_only(void **state)
{
	struct fevtest_ctx *c = *state;
	struct holder_arg h = { .inst = c->inst, .n = 3 };
	fev_queue *p, *a, *b;
	uint32_t flags;
	uint64_t v;
	int pid;

	fevtest_create_topic(c->inst, "crash", 1, CAP, 16);
	create_group(c->inst, "crash", "a", FEV_GROUP_LATEST);
	create_group(c->inst, "crash", "b", FEV_GROUP_LATEST);
	assert_int_equal(fev_group_delete("crash", "default", c->inst), 0);
	p = producer(c->inst, "crash");
	for (v = 0; v < 5; v++)
		assert_int_equal(fev_send(p, &v, sizeof(v), 0), 0);
	pid = fevtest_fork(hold_and_die, &h);
	assert_int_equal(fevtest_wait(pid, 10000), 0);
	repair_dead(c->inst, "crash", pid);
	/* Group a: the three it held come again, flagged, then the rest. */
	a = member(c->inst, "crash", "a");
	for (v = 0; v < 3; v++) {
		assert_int_equal(recv_u64(a, &flags, 0), v);
		assert_int_equal(flags & FEV_REDELIVERED, FEV_REDELIVERED);
	}
	for (v = 3; v < 5; v++) {
		assert_int_equal(recv_u64(a, &flags, 0), v);
		assert_int_equal(flags, 0);
	}
	assert_int_equal(fev_recv(a, &v, sizeof(v), NULL, 0), -EAGAIN);
	/* Group b saw nothing of it: each event once, unflagged. */
	b = member(c->inst, "crash", "b");
	for (v = 0; v < 5; v++) {
		assert_int_equal(recv_u64(b, &flags, 0), v);
		assert_int_equal(flags, 0);
	}
	assert_int_equal(fev_recv(b, &v, sizeof(v), NULL, 0), -EAGAIN);
	/* And the ring is free again: a full lap goes in. */
	for (v = 0; v < CAP; v++)
		assert_int_equal(fev_send(p, &v, sizeof(v), 0), 0);
	fev_close(a);
	fev_close(b);
	fev_close(p);
	assert_int_equal(fev_topic_delete("crash", c->inst), 0);
}

/* A producer that reserves a slot and dies before committing. */
static int reserve_and_die(void *arg)
{
	const char *inst = arg;
	fev_queue *q = producer(inst, "tomb");
	fev_claim cl;

	if (fev_reserve(q, 8, &cl, 0) != 0)
		return 1;
	_exit(0);
}

static void test_dead_producers_tombstone_is_skipped_by_every_group(
	void **state)
{
	struct fevtest_ctx *c = *state;
	fev_queue *p, *a, *b;
	uint64_t v = 1;
	int pid;

	fevtest_create_topic(c->inst, "tomb", 1, CAP, 16);
	create_group(c->inst, "tomb", "a", FEV_GROUP_LATEST);
	create_group(c->inst, "tomb", "b", FEV_GROUP_LATEST);
	assert_int_equal(fev_group_delete("tomb", "default", c->inst), 0);
	a = member(c->inst, "tomb", "a");
	b = member(c->inst, "tomb", "b");
	pid = fevtest_fork(reserve_and_die, c->inst);
	assert_int_equal(fevtest_wait(pid, 10000), 0);
	repair_dead(c->inst, "tomb", pid);
	p = producer(c->inst, "tomb");
	assert_int_equal(fev_send(p, &v, sizeof(v), 0), 0);
	assert_int_equal(recv_u64(a, NULL, 0), 1);
	assert_int_equal(recv_u64(b, NULL, 0), 1);
	/* Both skipped and released the tombstone: a whole lap fits. */
	for (v = 0; v < CAP; v++)
		assert_int_equal(fev_send(p, &v, sizeof(v), 0), 0);
	fev_close(a);
	fev_close(b);
	fev_close(p);
	assert_int_equal(fev_topic_delete("tomb", c->inst), 0);
}

static void test_deleting_the_slow_group_lets_producers_go_on(void **state)
{
	struct fevtest_ctx *c = *state;
	fev_queue *p, *fast, *slow;
	uint64_t v = 3;

	fevtest_create_topic(c->inst, "del", 1, CAP, 16);
	create_group(c->inst, "del", "slow", FEV_GROUP_LATEST);
	p = producer(c->inst, "del");
	fast = member(c->inst, "del", NULL);
	slow = member(c->inst, "del", "slow");
	for (uint64_t i = 0; i < CAP; i++)
		assert_int_equal(fev_send(p, &i, sizeof(i), 0), 0);
	for (uint64_t i = 0; i < CAP; i++)
		assert_int_equal(recv_u64(fast, NULL, 0), i);
	assert_int_equal(fev_send(p, &v, sizeof(v), 0), -EAGAIN);
	/* Not while a member is attached. */
	assert_int_equal(fev_group_delete("del", "slow", c->inst), -EBUSY);
	fev_close(slow);
	assert_int_equal(fev_group_delete("del", "slow", c->inst), 0);
	assert_int_equal(fev_send(p, &v, sizeof(v), 0), 0);
	assert_int_equal(recv_u64(fast, NULL, 0), 3);
	fev_close(fast);
	fev_close(p);
	assert_int_equal(fev_topic_delete("del", c->inst), 0);
}

/* ---- administration ------------------------------------------------------ */

static int collect(const char *group, void *arg)
{
	char *buf = arg;

	strcat(buf, group);
	strcat(buf, ",");
	return 0;
}

static void test_group_administration_errors(void **state)
{
	struct fevtest_ctx *c = *state;
	fev_open_opts o = { .struct_size = sizeof(o), .instance = c->inst,
			    .group = "nope" };
	fev_group_config bad = { .struct_size = sizeof(bad), .start = 9 };
	char list[64 * FEV_GROUPS_MAX] = "";
	fev_queue *q = NULL;

	fevtest_create_topic(c->inst, "adm", 2, CAP, 16);
	fevtest_create(c->inst, "plainq", 8, 8, FEV_POLICY_BLOCK);
	assert_int_equal(fev_group_create("plainq", "g", NULL, c->inst),
			 -EINVAL);
	assert_int_equal(fev_group_create("nosuch", "g", NULL, c->inst),
			 -ENOENT);
	assert_int_equal(fev_group_create("adm", "bad name", NULL, c->inst),
			 -EINVAL);
	assert_int_equal(fev_group_create("adm", "", NULL, c->inst), -EINVAL);
	assert_int_equal(fev_group_create("adm", "g", &bad, c->inst),
			 -EINVAL);
	assert_int_equal(fev_group_create(
				 "adm", "a-name-longer-than-31-characters",
				 NULL, c->inst),
			 -EINVAL);
	assert_int_equal(fev_open("adm@1", FEV_CONSUMER, &o, &q), -ENOENT);
	assert_null(q);
	create_group(c->inst, "adm", "g", FEV_GROUP_LATEST);
	assert_int_equal(fev_group_create("adm", "g", NULL, c->inst),
			 -EEXIST);
	for (int i = 2; i < FEV_GROUPS_MAX; i++) {
		char name[16];

		snprintf(name, sizeof(name), "g%d", i);
		create_group(c->inst, "adm", name, FEV_GROUP_LATEST);
	}
	assert_int_equal(fev_group_create("adm", "onemore", NULL, c->inst),
			 -ENOSPC);
	assert_int_equal(fev_group_list("adm", c->inst, collect, list), 0);
	assert_non_null(strstr(list, "default,g,g2,"));
	assert_int_equal(fev_group_delete("adm", "nope", c->inst), -ENOENT);
	assert_int_equal(fev_queue_delete("plainq", c->inst), 0);
	assert_int_equal(fev_topic_delete("adm", c->inst), 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, fevtest_teardown)
	const struct CMUnitTest tests[] = {
		T(test_every_group_sees_every_event_once),
		T(test_slowest_group_gates_producers),
		T(test_latest_and_earliest_start_where_they_say),
		T(test_dead_members_events_go_back_to_its_group_only),
		T(test_dead_producers_tombstone_is_skipped_by_every_group),
		T(test_deleting_the_slow_group_lets_producers_go_on),
		T(test_group_administration_errors),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
