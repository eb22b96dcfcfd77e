/*
 * A consumer group's redo list under repair passes that race with members
 * (consumer_group.c, repair.c): repair never pushes a position that may
 * still wait on the list, so a member that pops one copy and dies cannot
 * leave a second copy behind that every later member drops as taken (the
 * event lost for good, its slot never freed: the stall fev-nats showed
 * after three out-bridge SIGKILLs at 25,000 events).
 *
 * And a redelivery a member pops below the positions it holds is named by
 * its hold record, so its death gives it back too (the other way the
 * bridge lost positions: popped while its window was held).
 *
 * The passes are driven by hand (fev__repair_pass_begin/_record/_end, as
 * fevd drives them) so the interleaving is exact: a live member pops and
 * releases entries between a pass's snapshot and its repair, which moves
 * the list more than its 14 entries past the snapshot's tail.  Every
 * process that holds positions is a real one that exits holding them.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fevtest.h"
#include "layout.h"
#include "repair.h"
#include "segment.h"

#define CAP 64u
#define HELD 16u /* what the first member dies holding: over a list */
#define SEG "redo"

static int setup(void **state)
{
	return fevtest_setup(state, 60);
}

static fev_queue *member(const char *inst)
{
	fev_open_opts o = { .struct_size = sizeof(o), .instance = inst };
	fev_queue *q = NULL;
	int rc = fev_open(SEG, FEV_CONSUMER, &o, &q);

	if (rc != 0)
		fail_msg("join %s: %s", SEG, fev_strerror(rc));
	return q;
}

struct taker {
	const char *inst;
	unsigned n;
};

/* A member that takes n events (the redo list first) and dies holding
 * them: it exits without releasing or closing. */
static int take_and_die(void *arg)
{
	const struct taker *t = arg;
	fev_queue *q = member(t->inst);

	for (unsigned i = 0; i < t->n; i++) {
		fev_event ev;

		if (fev_acquire(q, &ev, 0) != 0)
			return 1;
	}
	_exit(0);
}

/* Run a member that takes n and dies; its attacher record's index. */
static uint32_t died_holding(struct fev__map *m, const char *inst, unsigned n)
{
	struct taker t = { .inst = inst, .n = n };
	int pid = fevtest_fork(take_and_die, &t);

	assert_int_equal(fevtest_wait(pid, 10000), 0);
	for (uint32_t i = 0; i < m->geo.attacher_max; i++)
		if (atomic_load(&m->attachers[i].state) == FEV__ATT_ACTIVE &&
		    m->attachers[i].pid == pid)
			return i;
	fail_msg("no record of pid %d", pid);
	return 0;
}

/* Which records a pass treats as dead (fevd's verdict of that scan). */
struct verdict {
	uint32_t dead[2];
	unsigned n;
};

static bool judged_dead(void *arg, uint32_t idx, const struct fev__attacher *a)
{
	const struct verdict *v = arg;

	(void)a;
	for (unsigned i = 0; i < v->n; i++)
		if (v->dead[i] == idx)
			return true;
	return false;
}

/* Take one event (the list first), note its value, release it. */
static void take_one(fev_queue *q, unsigned *seen)
{
	fev_event ev;
	uint64_t v;

	assert_int_equal(fev_acquire(q, &ev, 0), 0);
	assert_int_equal(ev.len, sizeof(v));
	memcpy(&v, ev.data, sizeof(v));
	assert_true(v < HELD);
	seen[v]++;
	assert_int_equal(fev_release(q, &ev), 0);
}

/* Repair the records in v until none is pending, draining the list with
 * q between passes (as fevd's ticks and a live member would). */
static void repair_until_done(struct fev__map *m, struct verdict *v,
			      fev_queue *q, unsigned *seen)
{
	for (int round = 0; round < 100; round++) {
		struct fev__repair_pass p;
		unsigned pending = 0;
		fev_event ev;

		assert_int_equal(fev__repair_pass_begin(&p, m, judged_dead, v),
				 0);
		for (unsigned i = 0; i < v->n; i++)
			pending += fev__repair_pass_record(&p, v->dead[i],
							   NULL) != 0;
		fev__repair_pass_end(&p);
		while (fev_acquire(q, &ev, 0) == 0) {
			uint64_t val;

			memcpy(&val, ev.data, sizeof(val));
			assert_true(val < HELD);
			seen[val]++;
			assert_int_equal(fev_release(q, &ev), 0);
		}
		if (pending == 0)
			return;
	}
	fail_msg("repair still pending after 100 passes");
}

static void test_a_popped_copy_never_strands_another(void **state)
{
	struct fevtest_ctx *c = *state;
	struct fev__repair_pass p;
	struct fev__map m;
	struct verdict v = { .n = 0 };
	unsigned seen[HELD] = { 0 };
	uint32_t d1, popper, x;
	fev_queue *prod, *live;
	uint64_t val;

	fevtest_create_topic(c->inst, SEG, 1, CAP, 16);
	prod = fevtest_open(c->inst, SEG, FEV_PRODUCER, 0);
	for (val = 0; val < HELD; val++)
		assert_int_equal(fev_send(prod, &val, sizeof(val), 0), 0);
	assert_int_equal(fev__map_open(c->inst, SEG, true, &m), 0);

	/* D1 dies holding 0..15: the first 14 go on the list. */
	d1 = died_holding(&m, c->inst, HELD);
	v = (struct verdict){ .dead = { d1 }, .n = 1 };
	assert_int_equal(fev__repair_attacher(&m, d1, NULL), -EAGAIN);
	/* A member pops 0 and 1 and dies; fevd has not noticed yet, so the
	 * next pass still counts its hold record live: 0 and 1 wait, 14 and
	 * 15 fill the list again (2..15, full). */
	popper = died_holding(&m, c->inst, 2);
	assert_int_equal(fev__repair_pass_begin(&p, &m, judged_dead, &v), 0);
	assert_int_equal(fev__repair_pass_record(&p, d1, NULL), -EAGAIN);
	fev__repair_pass_end(&p);

	/* Now both are judged dead.  Between the snapshot and the repair a
	 * live member takes and releases 2..5: the list moved 4 past the
	 * snapshot's tail, and repair pushes 0 and 1 (taken by the dead
	 * popper) ahead of 6 and 7, which are still on the list. */
	live = member(c->inst);
	v = (struct verdict){ .dead = { d1, popper }, .n = 2 };
	assert_int_equal(fev__repair_pass_begin(&p, &m, judged_dead, &v), 0);
	for (int i = 0; i < 4; i++)
		take_one(live, seen);
	(void)fev__repair_pass_record(&p, d1, NULL);
	(void)fev__repair_pass_record(&p, popper, NULL);
	fev__repair_pass_end(&p);

	/* A member pops the next entry (6) and dies holding it; its repair
	 * must leave 6 takeable, whatever else the list holds. */
	x = died_holding(&m, c->inst, 1);
	assert_int_equal(fev__repair_attacher(&m, x, NULL), 0);

	/* The live member takes the 11 entries before the next one for 6
	 * (7..15, 0 and 1); a pass then finds nothing more to do for D1 and
	 * the popper but to leave 6 to whatever entry the list still has. */
	for (int i = 0; i < 11; i++)
		take_one(live, seen);
	assert_int_equal(fev__repair_pass_begin(&p, &m, judged_dead, &v), 0);
	(void)fev__repair_pass_record(&p, d1, NULL);
	(void)fev__repair_pass_record(&p, popper, NULL);
	fev__repair_pass_end(&p);

	/* Everything comes back: every value at least once... */
	repair_until_done(&m, &v, live, seen);
	for (val = 0; val < HELD; val++)
		if (seen[val] == 0)
			fail_msg("event %llu was lost: never delivered again",
				 (unsigned long long)val);
	/* ...and every slot is free again: a whole lap goes in. */
	for (val = 0; val < CAP; val++)
		assert_int_equal(fev_send(prod, &val, sizeof(val), 0), 0);
	fev__map_close(&m);
	fev_close(live);
	fev_close(prod);
	assert_int_equal(fev_topic_delete(SEG, c->inst), 0);
}

/*
 * A member that holds position 1 (from the cursor), then waits for the
 * redelivery of 0 and dies holding both.
 */
static int take_then_wait_below(void *arg)
{
	const struct taker *t = arg;
	fev_queue *q = member(t->inst);
	fev_event ev;

	if (fev_acquire(q, &ev, 0) != 0 || ev.priv_pos != 1)
		return 1;
	if (fev_acquire(q, &ev, 10000 * FEVTEST_MS) != 0 || ev.priv_pos != 0)
		return 2;
	_exit(0);
}

/* The record of pid, once its group's cursor reached want. */
static uint32_t record_at_cursor(struct fev__map *m, int pid, uint64_t want)
{
	for (int tries = 0; tries < 10000; tries++) {
		if (atomic_load(&m->groups[0].cursor.pos) == want)
			for (uint32_t i = 0; i < m->geo.attacher_max; i++)
				if (atomic_load(&m->attachers[i].state) ==
					    FEV__ATT_ACTIVE &&
				    m->attachers[i].pid == pid)
					return i;
		usleep(1000);
	}
	fail_msg("pid %d never took position %llu", pid,
		 (unsigned long long)want - 1);
	return 0;
}

/*
 * A redelivery popped below what a member holds is named by its hold
 * record: when the member dies, repair gives it back too (fev-nats' out
 * bridge holds its window while it pops what an earlier bridge left).
 */
static void test_a_redelivery_below_what_is_held_is_named(void **state)
{
	struct fevtest_ctx *c = *state;
	struct taker t = { .inst = c->inst };
	struct fev__map m;
	unsigned seen[HELD] = { 0 };
	uint32_t d1, y;
	fev_queue *prod, *live;
	uint64_t val;
	fev_event ev;
	int pid;

	fevtest_create_topic(c->inst, SEG, 1, CAP, 16);
	prod = fevtest_open(c->inst, SEG, FEV_PRODUCER, 0);
	for (val = 0; val < 2; val++)
		assert_int_equal(fev_send(prod, &val, sizeof(val), 0), 0);
	assert_int_equal(fev__map_open(c->inst, SEG, true, &m), 0);
	d1 = died_holding(&m, c->inst, 1); /* 0 */
	pid = fevtest_fork(take_then_wait_below, &t);
	y = record_at_cursor(&m, pid, 2);
	/* 0 goes on the list; the member pops it and dies. */
	assert_int_equal(fev__repair_attacher(&m, d1, NULL), 0);
	assert_int_equal(fevtest_wait(pid, 20000), 0);
	assert_int_equal(fev__repair_attacher(&m, y, NULL), 0);
	live = member(c->inst);
	while (fev_acquire(live, &ev, 0) == 0) {
		assert_int_equal(ev.flags & FEV_REDELIVERED, FEV_REDELIVERED);
		memcpy(&val, ev.data, sizeof(val));
		assert_true(val < 2);
		seen[val]++;
		assert_int_equal(fev_release(live, &ev), 0);
	}
	for (val = 0; val < 2; val++)
		if (seen[val] != 1)
			fail_msg("event %llu came back %u times, not once",
				 (unsigned long long)val, seen[val]);
	for (val = 0; val < CAP; val++)
		assert_int_equal(fev_send(prod, &val, sizeof(val), 0), 0);
	fev__map_close(&m);
	fev_close(live);
	fev_close(prod);
	assert_int_equal(fev_topic_delete(SEG, c->inst), 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, fevtest_teardown)
	const struct CMUnitTest tests[] = {
		T(test_a_popped_copy_never_strands_another),
		T(test_a_redelivery_below_what_is_held_is_named),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
