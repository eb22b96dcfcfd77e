/*
 * Repair of single, deliberate deaths by the real fevd: a producer killed
 * holding a reservation, a consumer killed holding an event, a handle
 * closed holding positions, a death while fevd was down, and a stopped
 * (not dead) process that must be reported as a stall and left alone.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "fev/fev.h"
#include "fevd_harness.h"
#include "segment.h"

#define SEC (INT64_C(1000000000))

static int setup(void **state)
{
	return fh_setup_with_queues(state,
		"[queue q]\ncapacity = 16\nmax_event = 64\n");
}

/* Not in setup: a failing setup skips the teardown that cleans up. */
static struct fh_ctx *begin(void **state)
{
	struct fh_ctx *c = *state;

	fh_start(&c->h);
	return c;
}

static int teardown(void **state)
{
	return fh_teardown(state);
}

static fev_queue *open_q(struct fh_ctx *c, unsigned roles)
{
	fev_queue *q;

	assert_int_equal(fev_open("q", roles, &c->o, &q), 0);
	return q;
}

/* A child that takes a position (reserve, or acquire) and waits to die. */
struct holder {
	struct fh_ctx *c;
	bool consume;
};

static int hold(void *arg)
{
	struct holder *hd = arg;
	fev_queue *q;
	fev_claim cl;
	fev_event ev;

	if (fev_open("q", hd->consume ? FEV_CONSUMER : FEV_PRODUCER, &hd->c->o,
		     &q) < 0)
		return 1;
	if (hd->consume ? fev_acquire(q, &ev, SEC) < 0 :
			  fev_reserve(q, 8, &cl, SEC) < 0)
		return 2;
	fevtest_ready();
	for (;;)
		pause();
}

static pid_t start_holder(struct fh_ctx *c, bool consume)
{
	struct holder hd = { .c = c, .consume = consume };

	return fevtest_fork_ready(hold, &hd);
}

static fev_stats stats(struct fh_ctx *c)
{
	fev_stats st;

	assert_int_equal(fev_queue_stats("q", c->h.instance, &st), 0);
	return st;
}

static void test_dead_producer_reservation_is_tombstoned_and_queue_flows(
	void **state)
{
	struct fh_ctx *c = begin(state);
	fev_queue *prod = open_q(c, FEV_PRODUCER), *cons = open_q(c, FEV_CONSUMER);
	pid_t pid = start_holder(c, false);
	char buf[64], want[128];
	fev_meta m;

	assert_int_equal(fev_send(prod, "after", 5, 0), 0);
	/* The dead-to-be holds the position in front of "after". */
	assert_int_equal(fev_recv(cons, buf, sizeof(buf), &m, 0), -EAGAIN);
	fevtest_kill_and_reap(pid);
	assert_int_equal(fev_recv(cons, buf, sizeof(buf), &m, 2 * SEC), 5);
	assert_memory_equal(buf, "after", 5);
	assert_int_equal(m.flags, 0);
	/* The counters are folded in when the record is freed, after the
	 * consumer may already have moved on. */
	snprintf(want, sizeof(want),
		 "repaired queue 'q': producer pid %d (dead)", (int)pid);
	assert_true(fh_log_has(&c->h, want, 2000));
	assert_int_equal(stats(c).tombstoned, 1);
	assert_int_equal(stats(c).producers, 1);
	fev_close(prod);
	fev_close(cons);
}

static void test_dead_consumer_event_is_redelivered_flagged(void **state)
{
	struct fh_ctx *c = begin(state);
	fev_queue *prod = open_q(c, FEV_PRODUCER), *cons;
	char buf[64];
	fev_meta m;
	pid_t pid;

	assert_int_equal(fev_send(prod, "x", 1, 0), 0);
	pid = start_holder(c, true);
	cons = open_q(c, FEV_CONSUMER);
	assert_int_equal(fev_recv(cons, buf, sizeof(buf), &m, 0), -EAGAIN);
	fevtest_kill_and_reap(pid);
	assert_int_equal(fev_recv(cons, buf, sizeof(buf), &m, 2 * SEC), 1);
	assert_int_equal(buf[0], 'x');
	assert_int_equal(m.flags & FEV_REDELIVERED, FEV_REDELIVERED);
	assert_true(fh_log_has(&c->h, "repaired queue 'q'", 2000));
	assert_int_equal(stats(c).redelivered, 1);
	assert_int_equal(stats(c).consumers, 1);
	fev_close(prod);
	fev_close(cons);
}

static void test_handle_closed_holding_positions_is_repaired(void **state)
{
	struct fh_ctx *c = begin(state);
	fev_queue *held = open_q(c, FEV_PRODUCER), *prod, *cons;
	char buf[64];
	fev_claim cl;
	fev_meta m;

	assert_int_equal(fev_reserve(held, 4, &cl, 0), 0);
	fev_close(held); /* never committed */
	prod = open_q(c, FEV_PRODUCER);
	cons = open_q(c, FEV_CONSUMER);
	assert_int_equal(fev_send(prod, "next", 4, 0), 0);
	assert_int_equal(fev_recv(cons, buf, sizeof(buf), &m, 2 * SEC), 4);
	assert_memory_equal(buf, "next", 4);
	assert_true(fh_log_has(&c->h, "(closed holding positions)", 2000));
	fev_close(prod);
	fev_close(cons);
}

static void test_death_while_fevd_is_down_is_repaired_at_start(void **state)
{
	struct fh_ctx *c = begin(state);
	pid_t pid = start_holder(c, false);
	fev_queue *prod, *cons;
	char buf[64];
	fev_meta m;

	fh_kill(&c->h);
	fevtest_kill_and_reap(pid);
	fh_start(&c->h);
	prod = open_q(c, FEV_PRODUCER);
	cons = open_q(c, FEV_CONSUMER);
	assert_int_equal(fev_send(prod, "later", 5, 0), 0);
	assert_int_equal(fev_recv(cons, buf, sizeof(buf), &m, 2 * SEC), 5);
	assert_true(fh_log_has(&c->h, "repaired queue 'q'", 2000));
	assert_int_equal(stats(c).tombstoned, 1);
	fev_close(prod);
	fev_close(cons);
}

static void test_stopped_process_is_reported_as_stall_and_left_alone(
	void **state)
{
	struct fh_ctx *c = begin(state);
	pid_t pid = start_holder(c, false);
	fev_queue *cons = open_q(c, FEV_CONSUMER);
	char buf[64], want[160];
	fev_meta m;

	kill(pid, SIGSTOP);
	snprintf(want, sizeof(want),
		 "stall: queue 'q': pid %d (stopped) has held producer "
		 "positions 0..0 for ",
		 (int)pid);
	if (!fh_log_has(&c->h, want, 5000))
		fail_msg("no stall report \"%s\" in %s", want, c->h.log);
	/* Not repaired: its record and its position are still there. */
	assert_int_equal(stats(c).producers, 1);
	assert_int_equal(stats(c).tombstoned, 0);
	assert_int_equal(fh_log_count(&c->h, "repaired queue"), 0);
	assert_int_equal(fev_recv(cons, buf, sizeof(buf), &m, 0), -EAGAIN);
	kill(pid, SIGCONT);
	fevtest_kill_and_reap(pid);
	assert_true(fh_log_has(&c->h, "repaired queue 'q'", 2000));
	assert_int_equal(stats(c).producers, 0);
	fev_close(cons);
}

/*
 * Move an idle, empty ring to lap 2^40 (every slot free for its position
 * there), as if it had carried 2^40 events.
 */
static void jump_ring(struct fev__map *m, uint64_t pos)
{
	for (uint32_t i = 0; i < m->geo.capacity; i++)
		atomic_store(&fev__ring_slot(&m->ring, pos + i)->seq, pos + i);
	atomic_store(&m->seg->head.pos, pos);
	atomic_store(&m->seg->tail.pos, pos);
}

static void test_forged_claim_in_dead_record_does_not_stall_fevd(
	void **state)
{
	struct fh_ctx *c = begin(state);
	uint64_t t0;
	fev_queue *prod, *cons;
	struct fev__map m;
	char buf[64], reply[4096];
	fev_meta meta;
	pid_t pid;

	assert_int_equal(fev__map_open(c->h.instance, "q", true, &m), 0);
	jump_ring(&m, UINT64_C(1) << 40);
	prod = open_q(c, FEV_PRODUCER);
	assert_int_equal(fev_send(prod, "x", 1, 0), 0);
	pid = start_holder(c, true); /* holds "x" */
	kill(pid, SIGSTOP);
	for (uint32_t i = 0; i < m.geo.attacher_max; i++)
		if (m.attachers[i].pid == pid) {
			/* Names 4 G positions around the one it holds;
			 * a lap is 16. */
			atomic_store(&m.attachers[i].cons.pos,
				     (UINT64_C(1) << 40) - (UINT64_C(1) << 31));
			atomic_store(&m.attachers[i].cons.n, UINT32_MAX);
		}
	fevtest_kill_and_reap(pid);
	t0 = fevtest_now_ns();
	assert_int_equal(fh_request(c->h.sock, "ping", reply, sizeof(reply)),
			 0);
	if (fevtest_now_ns() - t0 > 1000000000ull)
		fail_msg("fevd took %.1f s to answer after the forged claim",
			 (double)(fevtest_now_ns() - t0) / 1e9);
	assert_true(fh_log_has(&c->h, "repaired queue 'q'", 2000));
	/* "x" was held by the dead consumer: delivered again. */
	cons = open_q(c, FEV_CONSUMER);
	assert_int_equal(fev_recv(cons, buf, sizeof(buf), &meta, 2 * SEC), 1);
	assert_int_equal(meta.flags & FEV_REDELIVERED, FEV_REDELIVERED);
	fev_close(prod);
	fev_close(cons);
	fev__map_close(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_dead_producer_reservation_is_tombstoned_and_queue_flows,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_dead_consumer_event_is_redelivered_flagged, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_handle_closed_holding_positions_is_repaired, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_death_while_fevd_is_down_is_repaired_at_start,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_stopped_process_is_reported_as_stall_and_left_alone,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_forged_claim_in_dead_record_does_not_stall_fevd,
			setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
