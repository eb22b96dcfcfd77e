/*
 * Lost wake-ups, site by site.  Every call that can end a wait must wake
 * the sleeper: send, send_batch, commit, commit_batch (not_empty, and
 * not_full for drop-oldest), release, release_batch, recv, a consumer
 * skipping a tombstone (not_full), repair and delete (both).
 *
 * The sleeper is first let fall into its second phase, where only a wake
 * ends the sleep; the wait limits (wait.h) are stretched so that a missed
 * wake costs LOST_WAKE_NS, far past the deadline the test allows.  No
 * timing decides a pass: a sleeper woken by its wake returns at once.
 *
 * Run with FEV_TEST_REFUSE_MEMBARRIER=1 (its own ctest entry), the process
 * first makes membarrier() fail, as a sandbox would: F1 is then a full
 * fence, F2 a plain one, and every sleep bounded by unpaired_ns (also
 * stretched), so the same tests check that path's wake-ups.
 */
#define _GNU_SOURCE /* sem_clockwait */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "fevtest.h"
#include "repair.h"
#include "segment.h"
#include "wait.h"

/* What a lost wake-up costs here: an hour, not the default second. */
#define LOST_WAKE_NS (3600ull * 1000000000u)
/*
 * How soon a sleeper must return after the call that must wake it: a woken
 * one returns at once, so this only has to be far from LOST_WAKE_NS and
 * beyond what a loaded two-core machine under a sanitizer can delay a
 * thread (2.5 s seen with 30 runnable threads per core).
 */
#define WOKEN_WITHIN_MS 10000
#define ROUNDS 20
#define PINGPONG_ROUNDS 20000

static int setup(void **state)
{
	fev__wait_limits.recheck_ns = LOST_WAKE_NS;
	fev__wait_limits.unpaired_ns = LOST_WAKE_NS;
	return fevtest_setup(state, 100);
}

/* ---- a sleeper in a thread --------------------------------------------- */

struct sleeper {
	pthread_t t;
	fev_queue *q;
	bool producer;
	int rc;
	sem_t done;
};

static void *sleeper_main(void *arg)
{
	struct sleeper *s = arg;
	uint64_t v = 1;

	if (s->producer)
		s->rc = fev_send(s->q, &v, sizeof(v), FEV_FOREVER);
	else
		s->rc = (int)fev_recv(s->q, &v, sizeof(v), NULL, FEV_FOREVER);
	sem_post(&s->done);
	return NULL;
}

/*
 * Send (producer) or receive on q in a thread; return once the thread
 * sleeps in its second phase, from which only a wake brings it back.
 */
static struct sleeper *fall_asleep(const char *inst, const char *queue,
				   fev_queue *q, bool producer)
{
	/* Freed only once it returned: a sleeper whose wake-up was lost
	 * outlives its failed test, and may post done much later. */
	struct sleeper *s = calloc(1, sizeof(*s));
	uint64_t base = fevtest_queue_sleeps(inst, queue);
	uint64_t give_up = fevtest_now_ns() + 10000 * FEVTEST_MS;

	assert_non_null(s);
	s->q = q;
	s->producer = producer;
	assert_int_equal(sem_init(&s->done, 0, 0), 0);
	assert_int_equal(pthread_create(&s->t, NULL, sleeper_main, s), 0);
	/* Its first sleep is the short unfenced one (wait.h). */
	while (fevtest_queue_sleeps(inst, queue) < base + 2) {
		if (sem_trywait(&s->done) == 0)
			fail_msg("the call returned %d (%s) without sleeping",
				 s->rc, fev_strerror(s->rc));
		if (fevtest_now_ns() > give_up)
			fail_msg("the call never went to sleep");
		fevtest_sleep_ms(1);
	}
	return s;
}

/* The call that must wake s was just made: s returns in time; its rc. */
static int woken(struct sleeper *s, const char *site, int round,
		 unsigned within_ms)
{
	struct timespec until;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += within_ms / 1000;
	until.tv_nsec += (long)(within_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	while ((rc = sem_clockwait(&s->done, CLOCK_MONOTONIC, &until)) < 0 &&
	       errno == EINTR)
		;
	if (rc < 0)
		fail_msg("%s, round %d: the sleeper was still asleep %u ms "
			 "later: its wake-up was lost",
			 site, round, within_ms);
	assert_int_equal(pthread_join(s->t, NULL), 0);
	sem_destroy(&s->done);
	rc = s->rc;
	free(s);
	return rc;
}

/* ---- the sites --------------------------------------------------------- */

struct fix {
	const char *inst;
	fev_queue *p, *c, *s; /* producer, consumer, sleeper */
	fev_claim cl[2];
	fev_event ev[2];
	struct fev__map map;
	int dead; /* pid of a child that died holding a position */
};

struct site {
	const char *name;
	int policy;
	uint32_t capacity;
	bool producer_sleeps;
	bool no_consumer;        /* nobody attached to consume */
	void (*before)(struct fix *); /* puts the queue where s must wait */
	void (*act)(struct fix *);    /* the call that must wake s */
	int expect;                   /* what s's call returns */
	void (*after)(struct fix *);  /* checks what s woke up for */
	bool deletes;                 /* act deletes the queue */
};

static void send_one(struct fix *f)
{
	uint64_t v = 1;

	assert_int_equal(fev_send(f->p, &v, sizeof(v), 0), 0);
}

static void send_batch_of_two(struct fix *f)
{
	uint64_t v[2] = { 1, 2 };
	struct iovec iov[2] = { { &v[0], 8 }, { &v[1], 8 } };

	assert_int_equal(fev_send_batch(f->p, iov, 2, 0), 2);
}

static void reserve_one(struct fix *f)
{
	assert_int_equal(fev_reserve(f->p, 8, &f->cl[0], 0), 0);
}

static void commit_one(struct fix *f)
{
	assert_int_equal(fev_commit(f->p, &f->cl[0], 8), 0);
}

static void reserve_two(struct fix *f)
{
	assert_int_equal(fev_reserve_batch(f->p, f->cl, 2, 0), 2);
}

static void commit_two(struct fix *f)
{
	const size_t lens[2] = { 8, 8 };

	assert_int_equal(fev_commit_batch(f->p, f->cl, lens, 2), 2);
}

/* The queue (capacity 2) is full; the consumer holds what it names. */
static void fill(struct fix *f)
{
	send_one(f);
	send_one(f);
}

static void fill_acquire_one(struct fix *f)
{
	fill(f);
	assert_int_equal(fev_acquire(f->c, &f->ev[0], 0), 0);
}

static void release_one(struct fix *f)
{
	assert_int_equal(fev_release(f->c, &f->ev[0]), 0);
}

static void fill_acquire_two(struct fix *f)
{
	fill(f);
	assert_int_equal(fev_acquire_batch(f->c, f->ev, 2, 0), 2);
}

static void release_two(struct fix *f)
{
	assert_int_equal(fev_release_batch(f->c, f->ev, 2), 2);
}

static void recv_one(struct fix *f)
{
	uint64_t v;

	assert_int_equal(fev_recv(f->c, &v, sizeof(v), NULL, 0), sizeof(v));
}

static void delete_queue(struct fix *f)
{
	assert_int_equal(fev_queue_delete("w", f->inst), 0);
}

/* Drop-oldest, nobody consuming: the oldest slot is reserved, not yet
 * committed, and the queue is full behind it. */
static void reserve_oldest_then_fill(struct fix *f)
{
	reserve_one(f);
	send_one(f);
}

/* The sleeping producer dropped the oldest event to make room. */
static void dropped_the_oldest(struct fix *f)
{
	fev_stats st;

	assert_int_equal(fev_queue_stats("w", f->inst, &st), 0);
	assert_int_equal(st.dropped, 1);
	assert_int_equal(st.depth, 2);
}

/* ---- sites that need a dead process ------------------------------------ */

struct death {
	const char *inst;
	bool acquire; /* else reserve */
};

static int die_holding(void *arg)
{
	struct death *d = arg;
	fev_queue *q = fevtest_open(d->inst, "w", FEV_PRODUCER | FEV_CONSUMER,
				    0);
	fev_claim c;
	fev_event ev;

	if (d->acquire ? fev_acquire(q, &ev, 0) < 0 :
			 fev_reserve(q, 8, &c, 0) < 0)
		return 2;
	raise(SIGKILL);
	return 3;
}

static void child_dies_holding(struct fix *f, bool acquire)
{
	struct death d = { .inst = f->inst, .acquire = acquire };

	f->dead = fevtest_fork(die_holding, &d);
	assert_int_equal(fevtest_wait(f->dead, 10000), 128 + SIGKILL);
	assert_int_equal(fev__map_open(f->inst, "w", true, &f->map), 0);
}

/* What fevd does for the dead child's record. */
static void repair_dead(struct fix *f)
{
	struct fev__repair_result r = { 0 };

	for (uint32_t i = 0; i < f->map.geo.attacher_max; i++)
		if (f->map.attachers[i].pid == f->dead &&
		    atomic_load(&f->map.attachers[i].state) ==
			    FEV__ATT_ACTIVE) {
			assert_int_equal(fev__repair_attacher(&f->map, i, &r),
					 0);
			return;
		}
	fail_msg("no record of the dead child %d", f->dead);
}

/* A consumer waits for the slot a dead producer reserved. */
static void dead_reserve_then_send(struct fix *f)
{
	child_dies_holding(f, false);
	send_one(f);
}

/* A producer waits for the slot a dead consumer held (capacity 4). */
static void fill_dead_acquire_recv(struct fix *f)
{
	for (int i = 0; i < 4; i++)
		send_one(f);
	child_dies_holding(f, true);
	recv_one(f);
}

/* Repaired already: the queue is full of a tombstone and an event. */
static void dead_reserve_send_repair(struct fix *f)
{
	dead_reserve_then_send(f);
	repair_dead(f);
}

/* Skips the tombstone (releasing its slot) and holds the event. */
static void acquire_past_tombstone(struct fix *f)
{
	assert_int_equal(fev_acquire(f->c, &f->ev[0], 0), 0);
}

static void run_site(const char *inst, const struct site *st)
{
	for (int round = 0; round < ROUNDS; round++) {
		struct fix f = { .inst = inst };
		struct sleeper *s;

		fevtest_create(inst, "w", st->capacity, 8, st->policy);
		f.p = fevtest_open(inst, "w", FEV_PRODUCER, 0);
		if (!st->no_consumer)
			f.c = fevtest_open(inst, "w", FEV_CONSUMER, 0);
		f.s = fevtest_open(inst, "w",
				   st->producer_sleeps ? FEV_PRODUCER :
							 FEV_CONSUMER,
				   FEV_OPEN_NO_SPIN);
		if (st->before)
			st->before(&f);
		s = fall_asleep(inst, "w", f.s, st->producer_sleeps);
		st->act(&f);
		assert_int_equal(woken(s, st->name, round, WOKEN_WITHIN_MS),
				 st->expect);
		if (st->after)
			st->after(&f);
		if (f.map.seg != NULL)
			fev__map_close(&f.map);
		fev_close(f.s);
		if (f.c != NULL)
			fev_close(f.c);
		fev_close(f.p);
		if (!st->deletes)
			assert_int_equal(fev_queue_delete("w", inst), 0);
	}
}

#define INST(state) (((struct fevtest_ctx *)*(state))->inst)

static void test_send_wakes_a_sleeping_consumer(void **state)
{
	run_site(INST(state), &(struct site){ .name = "fev_send",
		.capacity = 4, .act = send_one, .expect = 8 });
}

static void test_send_batch_wakes_a_sleeping_consumer(void **state)
{
	run_site(INST(state), &(struct site){ .name = "fev_send_batch",
		.capacity = 4, .act = send_batch_of_two, .expect = 8 });
}

static void test_commit_wakes_a_sleeping_consumer(void **state)
{
	run_site(INST(state), &(struct site){ .name = "fev_commit",
		.capacity = 4, .before = reserve_one, .act = commit_one,
		.expect = 8 });
}

static void test_commit_batch_wakes_a_sleeping_consumer(void **state)
{
	run_site(INST(state), &(struct site){ .name = "fev_commit_batch",
		.capacity = 4, .before = reserve_two, .act = commit_two,
		.expect = 8 });
}

static void test_release_wakes_a_producer_sleeping_on_a_full_queue(
	void **state)
{
	run_site(INST(state), &(struct site){ .name = "fev_release",
		.capacity = 2, .producer_sleeps = true,
		.before = fill_acquire_one, .act = release_one });
}

static void test_release_batch_wakes_a_producer_sleeping_on_a_full_queue(
	void **state)
{
	run_site(INST(state), &(struct site){ .name = "fev_release_batch",
		.capacity = 2, .producer_sleeps = true,
		.before = fill_acquire_two, .act = release_two });
}

static void test_recv_wakes_a_producer_sleeping_on_a_full_queue(
	void **state)
{
	run_site(INST(state), &(struct site){ .name = "fev_recv",
		.capacity = 2, .producer_sleeps = true, .before = fill,
		.act = recv_one });
}

static void test_skipping_a_tombstone_wakes_a_sleeping_producer(
	void **state)
{
	run_site(INST(state), &(struct site){ .name = "tombstone skip",
		.capacity = 2, .producer_sleeps = true,
		.before = dead_reserve_send_repair,
		.act = acquire_past_tombstone });
}

static void test_repair_of_a_dead_producer_wakes_a_sleeping_consumer(
	void **state)
{
	run_site(INST(state), &(struct site){ .name = "repair (producer)",
		.capacity = 4, .before = dead_reserve_then_send,
		.act = repair_dead, .expect = 8 });
}

static void test_repair_of_a_dead_consumer_wakes_a_sleeping_producer(
	void **state)
{
	run_site(INST(state), &(struct site){ .name = "repair (consumer)",
		.capacity = 4, .producer_sleeps = true,
		.before = fill_dead_acquire_recv, .act = repair_dead });
}

static void test_delete_wakes_a_sleeping_consumer(void **state)
{
	run_site(INST(state), &(struct site){ .name = "delete (consumer)",
		.capacity = 4, .act = delete_queue, .expect = -EIDRM,
		.deletes = true });
}

static void test_delete_wakes_a_sleeping_producer(void **state)
{
	run_site(INST(state), &(struct site){ .name = "delete (producer)",
		.capacity = 2, .producer_sleeps = true, .before = fill,
		.act = delete_queue, .expect = -EIDRM, .deletes = true });
}

/* Issue: a late commit of the oldest slot woke only consumers. */
static void test_late_commit_of_the_oldest_wakes_a_drop_oldest_producer(
	void **state)
{
	run_site(INST(state), &(struct site){
		.name = "fev_commit (drop-oldest)",
		.policy = FEV_POLICY_DROP_OLDEST, .capacity = 2,
		.producer_sleeps = true, .no_consumer = true,
		.before = reserve_oldest_then_fill, .act = commit_one,
		.after = dropped_the_oldest });
}

/*
 * A wake-up lost to the next sleeper's re-check: a foreign store took the
 * sleeper count, so the late commit calls no wake.  The re-check must then
 * ask what a drop-oldest producer waits for (an oldest event to drop), not
 * only whether the slot at head is free.
 */
static void forget_sleepers(struct fev__waitword *w)
{
	uint64_t v = atomic_load(&w->word);

	while (!atomic_compare_exchange_weak(&w->word, &v,
					     (uint64_t)FEV__WAIT_SEQ(v)))
		;
}

static void test_drop_oldest_producer_whose_wake_is_lost_goes_on_at_recheck(
	void **state)
{
	const char *inst = INST(state);
	struct fix f = { .inst = inst };
	struct sleeper *s;

	fev__wait_limits = (struct fev__wait_limits){
		.recheck_ns = 1000000000u, .unpaired_ns = 1000000u };
	fevtest_create(inst, "w", 2, 8, FEV_POLICY_DROP_OLDEST);
	f.p = fevtest_open(inst, "w", FEV_PRODUCER, 0);
	f.s = fevtest_open(inst, "w", FEV_PRODUCER, FEV_OPEN_NO_SPIN);
	assert_int_equal(fev__map_open(inst, "w", true, &f.map), 0);
	reserve_oldest_then_fill(&f);
	s = fall_asleep(inst, "w", f.s, true);
	forget_sleepers(&f.map.seg->not_full);
	commit_one(&f);
	/* Ten re-checks' time: a producer that never goes on fails. */
	assert_int_equal(woken(s, "re-check (drop-oldest)", 0, 10000), 0);
	dropped_the_oldest(&f);
	fev__map_close(&f.map);
	fev_close(f.s);
	fev_close(f.p);
	assert_int_equal(fev_queue_delete("w", inst), 0);
}

/* ---- ping-pong: the fences ---------------------------------------------- */

/*
 * Two threads pass one event back and forth, never spinning, so that each
 * publish races with the other side going to sleep: where F1 and F2 fail
 * to pair, a wake-up is lost and a round takes LOST_WAKE_NS.
 */
struct pong {
	const char *inst;
	int rc;
};

static void *pong_main(void *arg)
{
	struct pong *pg = arg;
	fev_queue *in = fevtest_open(pg->inst, "ping", FEV_CONSUMER,
				     FEV_OPEN_NO_SPIN);
	fev_queue *out = fevtest_open(pg->inst, "pong", FEV_PRODUCER,
				      FEV_OPEN_NO_SPIN);

	for (int i = 0; i < PINGPONG_ROUNDS && pg->rc == 0; i++) {
		uint64_t v;

		if (fev_recv(in, &v, sizeof(v), NULL, FEV_FOREVER) !=
			    sizeof(v) ||
		    fev_send(out, &v, sizeof(v), FEV_FOREVER) != 0)
			pg->rc = -1;
	}
	fev_close(in);
	fev_close(out);
	return NULL;
}

static void test_ping_pong_without_spinning_never_waits_for_a_timer(
	void **state)
{
	const char *inst = INST(state);
	struct pong pg = { .inst = inst };
	fev_queue *out, *in;
	uint64_t worst = 0;
	pthread_t t;

	fevtest_create(inst, "ping", 2, 8, FEV_POLICY_BLOCK);
	fevtest_create(inst, "pong", 2, 8, FEV_POLICY_BLOCK);
	out = fevtest_open(inst, "ping", FEV_PRODUCER, FEV_OPEN_NO_SPIN);
	in = fevtest_open(inst, "pong", FEV_CONSUMER, FEV_OPEN_NO_SPIN);
	assert_int_equal(pthread_create(&t, NULL, pong_main, &pg), 0);
	for (int i = 0; i < PINGPONG_ROUNDS; i++) {
		uint64_t v = (uint64_t)i, t0 = fevtest_now_ns(), took;
		ssize_t n;

		assert_int_equal(fev_send(out, &v, sizeof(v), FEV_FOREVER), 0);
		n = fev_recv(in, &v, sizeof(v), NULL,
			     WOKEN_WITHIN_MS * FEVTEST_MS);
		took = fevtest_now_ns() - t0;
		if (n != sizeof(v) || took > WOKEN_WITHIN_MS * FEVTEST_MS)
			fail_msg("round %d: recv gave %zd (%s) after %.1f ms: "
				 "a wake-up was lost",
				 i, n, n < 0 ? fev_strerror((int)n) : "an event",
				 (double)took / 1e6);
		worst = took > worst ? took : worst;
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(pg.rc, 0);
	print_message("%d rounds, slowest %.2f ms\n", PINGPONG_ROUNDS,
		      (double)worst / 1e6);
	fev_close(out);
	fev_close(in);
	assert_int_equal(fev_queue_delete("ping", inst), 0);
	assert_int_equal(fev_queue_delete("pong", inst), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, fevtest_teardown)
		T(test_send_wakes_a_sleeping_consumer),
		T(test_send_batch_wakes_a_sleeping_consumer),
		T(test_commit_wakes_a_sleeping_consumer),
		T(test_commit_batch_wakes_a_sleeping_consumer),
		T(test_release_wakes_a_producer_sleeping_on_a_full_queue),
		T(test_release_batch_wakes_a_producer_sleeping_on_a_full_queue),
		T(test_recv_wakes_a_producer_sleeping_on_a_full_queue),
		T(test_skipping_a_tombstone_wakes_a_sleeping_producer),
		T(test_repair_of_a_dead_producer_wakes_a_sleeping_consumer),
		T(test_repair_of_a_dead_consumer_wakes_a_sleeping_producer),
		T(test_delete_wakes_a_sleeping_consumer),
		T(test_delete_wakes_a_sleeping_producer),
		T(test_late_commit_of_the_oldest_wakes_a_drop_oldest_producer),
		T(test_drop_oldest_producer_whose_wake_is_lost_goes_on_at_recheck),
		T(test_ping_pong_without_spinning_never_waits_for_a_timer),
	};
	const char *refuse = getenv("FEV_TEST_REFUSE_MEMBARRIER");

	if (refuse != NULL && strcmp(refuse, "1") == 0) {
		fevtest_refuse_syscall(SYS_membarrier, -1, EPERM);
		if (fev__wait_setup()) {
			fprintf(stderr, "membarrier still registers\n");
			return 1;
		}
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
