/*
 * Repair at scale, by the real fevd: a process holding 4,096 handles (every
 * one holding a position) is SIGKILLed.  fevd must repair all of them
 * within a bound, keep answering its control socket throughout, and repair
 * an unrelated queue's dead consumer without waiting for the big one.
 *
 * The bounds asserted are correctness bounds, generous for a loaded 2-core
 * machine (a quadratic repair takes tens of seconds and holds the control
 * socket the whole time); the real figures are printed:
 *   scale: 4096 handles repaired in X ms; list answered within Y ms
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
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

#if defined(__SANITIZE_THREAD__)
/* TSan maps shadow memory for every mapping a handle makes: 4,096 handles
 * take minutes to open.  The figures come from the plain build. */
#define HANDLES 512
#else
#define HANDLES 4096
#endif
#define HELD_EVENTS (HANDLES / 2) /* consumers' handles: one event each */
#define MS (UINT64_C(1000000))
#define SEC (1000 * MS)
/* Correctness bounds: a stalled or quadratic fevd misses them by far. */
#define REPAIR_LIMIT_NS (5 * SEC)
#define LIST_LIMIT_NS (1 * SEC)

static int setup(void **state)
{
	return fh_setup_with_queues(state,
		"[queue big]\ncapacity = 8192\nmax_event = 64\n"
		"attachers = 4096\n"
		"[queue other]\ncapacity = 16\nmax_event = 64\n");
}

static int teardown(void **state)
{
	return fh_teardown(state);
}

struct holder {
	struct fh_ctx *c;
	int ready[2];
};

/*
 * HANDLES handles on 'big': the first half consumers holding one event
 * each, the rest producers holding one reservation each; and one consumer
 * of 'other' holding its event.  Then wait to be killed.
 */
static int hold_many(void *arg)
{
	struct holder *hd = arg;
	fev_queue *q;
	fev_event ev;
	fev_claim cl;
	char one = 1;

	for (int i = 0; i < HANDLES; i++) {
		bool consume = i < HELD_EVENTS;

		if (fev_open("big", consume ? FEV_CONSUMER : FEV_PRODUCER,
			     &hd->c->o, &q) < 0)
			return 1;
		if (consume ? fev_acquire(q, &ev, 0) < 0 :
			      fev_reserve(q, 8, &cl, 0) < 0)
			return 2;
	}
	if (fev_open("other", FEV_CONSUMER, &hd->c->o, &q) < 0 ||
	    fev_acquire(q, &ev, 0) < 0)
		return 3;
	if (write(hd->ready[1], &one, 1) != 1)
		return 4;
	for (;;)
		pause();
}

/* Sends `list` back to back and keeps the slowest answer. */
struct prober {
	const char *sock;
	_Atomic bool stop;
	uint64_t worst_ns;
	int failed;
};

static void *probe(void *arg)
{
	struct prober *p = arg;
	char reply[65536];

	while (!atomic_load(&p->stop)) {
		uint64_t t0 = fevtest_now_ns(), dt;

		if (fh_request(p->sock, "list", reply, sizeof(reply)) != 0)
			p->failed++;
		dt = fevtest_now_ns() - t0;
		p->worst_ns = dt > p->worst_ns ? dt : p->worst_ns;
		fevtest_sleep_ms(1);
	}
	return NULL;
}

static fev_stats stats(struct fh_ctx *c, const char *q)
{
	fev_stats st;

	assert_int_equal(fev_queue_stats(q, c->h.instance, &st), 0);
	return st;
}

static void fill(struct fh_ctx *c, const char *queue, int n)
{
	fev_queue *q;

	assert_int_equal(fev_open(queue, FEV_PRODUCER, &c->o, &q), 0);
	for (int i = 0; i < n; i++)
		assert_int_equal(fev_send(q, &i, sizeof(i), 0), 0);
	fev_close(q);
}

/* Time from t0 until queue's attacher table is empty (UINT64_MAX: never). */
static uint64_t until_empty(struct fh_ctx *c, const char *queue, uint64_t t0,
			    uint64_t limit)
{
	for (;;) {
		fev_stats st = stats(c, queue);

		if (st.producers == 0 && st.consumers == 0)
			return fevtest_now_ns() - t0;
		if (fevtest_now_ns() - t0 > limit)
			return UINT64_MAX;
		usleep(200);
	}
}

static void test_4096_handles_of_a_killed_process_are_repaired_promptly(
	void **state)
{
	struct fh_ctx *c = *state;
	struct holder hd = { .c = c };
	struct prober p = { .sock = c->h.sock };
	uint64_t t0, big_ns, other_ns;
	pthread_t th;
	fev_stats st;
	char one;
	pid_t pid;

	fh_start(&c->h);
	fill(c, "big", HELD_EVENTS);
	fill(c, "other", 1);
	assert_int_equal(pipe(hd.ready), 0);
	pid = fevtest_fork(hold_many, &hd);
	close(hd.ready[1]);
	if (read(hd.ready[0], &one, 1) != 1) {
		close(hd.ready[0]);
		fail_msg("holder failed: exit %d", fevtest_wait(pid, 1000));
	}
	close(hd.ready[0]);
	st = stats(c, "big");
	assert_int_equal(st.consumers + st.producers, HANDLES);
	assert_int_equal(pthread_create(&th, NULL, probe, &p), 0);
	fevtest_sleep_ms(50); /* the prober's baseline, before the kill */
	t0 = fevtest_now_ns();
	kill(pid, SIGKILL);
	fevtest_wait(pid, 5000);
	other_ns = until_empty(c, "other", t0, 30 * SEC);
	big_ns = until_empty(c, "big", t0, 60 * SEC);
	fevtest_sleep_ms(50);
	atomic_store(&p.stop, true);
	pthread_join(th, NULL);
	printf("scale: %d handles repaired in %.1f ms; the other queue's "
	       "dead consumer in %.1f ms; list answered within %.1f ms "
	       "throughout\n",
	       HANDLES, (double)big_ns / 1e6, (double)other_ns / 1e6,
	       (double)p.worst_ns / 1e6);
	assert_int_equal(p.failed, 0);
	assert_true(big_ns <= REPAIR_LIMIT_NS);
	assert_true(other_ns <= REPAIR_LIMIT_NS);
	assert_true(p.worst_ns <= LIST_LIMIT_NS);
	st = stats(c, "big");
	assert_int_equal(st.tombstoned, HANDLES - HELD_EVENTS);
	assert_int_equal(st.redelivered, HELD_EVENTS);
	assert_int_equal(st.depth, HANDLES); /* held again + tombstones */
	assert_int_equal(stats(c, "other").redelivered, 1);
	assert_int_equal(fh_stop(&c->h), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_4096_handles_of_a_killed_process_are_repaired_promptly,
			setup, teardown),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
