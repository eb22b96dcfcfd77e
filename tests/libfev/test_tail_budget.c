/*
 * A tail's CPU budget (tail_budget.c, fev_tail_opts.cpu_percent): behind
 * a ring at full speed it reads in bursts and rests, busy its percent of
 * the time, and still counts exactly what it did not see; a tail that
 * keeps up never rests, so a slow stream is shown whole and at once.  The
 * bucket's arithmetic is checked on given times, the tail on real threads.
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
#include <time.h>
#include <cmocka.h>

#include "fevtest.h"
#include "tail_budget.h"

#define MAX_EVENT 64u
/* Big enough that the producer never waits for the tail's catching up. */
#define BUSY_CAPACITY 4096u
/* Room for a second of the slow stream: a loaded machine may stall the
 * tail's thread for tens of ms, and that must not read as a miss. */
#define SLOW_CAPACITY 256u
/* How long the busy producer runs. */
#define BUSY_MS 400u
/* A correctness deadline for the tail to catch up once it stops: a few
 * bursts read what the ring still holds (a tail that rested after each
 * event, its busy time counted from before its rest, took a minute). */
#define BUSY_DEADLINE_NS (10000 * FEVTEST_MS)
/* The slow stream: this many events, one per SLOW_GAP_MS. */
#define SLOW_EVENTS 200u
#define SLOW_GAP_MS 1u
/* "Promptly": a correctness deadline for every event, far above a poll
 * (2 ms) and a stall of a loaded machine. */
#define SLOW_DEADLINE_NS (1000 * FEVTEST_MS)
/* And for the median event: a tail that rested while it kept up would
 * rest 15-30 ms at a time at 1 % and show most events later than this;
 * one that never rests shows them within a poll or two. */
#define SLOW_MEDIAN_NS (7 * FEVTEST_MS)

struct ctx {
	char inst[FEV_INSTANCE_MAX + 1];
	uint8_t buf[MAX_EVENT];
};

static int setup(void **state)
{
	static struct ctx c;

	fevtest_instance(c.inst);
	fevtest_create(c.inst, "busy", BUSY_CAPACITY, MAX_EVENT,
		       FEV_POLICY_REJECT);
	fevtest_create(c.inst, "slow", SLOW_CAPACITY, MAX_EVENT,
		       FEV_POLICY_REJECT);
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

static fev_tail *tail_open(const struct ctx *c, const char *name,
			   uint32_t cpu_percent)
{
	fev_tail_opts o = { .struct_size = sizeof(o), .instance = c->inst,
			    .start = FEV_TAIL_LATEST,
			    .cpu_percent = cpu_percent };
	fev_tail *t = NULL;

	assert_int_equal(fev_tail_open(name, &o, &t), 0);
	return t;
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A producer that also consumes (the ring never fills), in a thread. */
struct producer {
	const char *inst, *queue;
	unsigned run_ms;    /* busy: send as fast as it can for this long */
	unsigned events;    /* slow: this many, gap_ms apart */
	unsigned gap_ms;
	uint64_t published; /* out */
	uint64_t cpu_ns;    /* out: this thread's CPU time */
	atomic_bool done;
};

/* Event i's payload: i, then the CLOCK_MONOTONIC time it was sent. */
static void pass_one(fev_queue *p, fev_queue *q, uint64_t i)
{
	uint64_t v[2] = { i, fevtest_now_ns() };
	fev_event ev;

	assert_int_equal(fev_send(p, v, sizeof(v), 0), 0);
	assert_int_equal(fev_acquire(q, &ev, 0), 0);
	assert_int_equal(fev_release(q, &ev), 0);
}

static void *produce(void *arg)
{
	struct producer *w = arg;
	fev_queue *p = fevtest_open(w->inst, w->queue, FEV_PRODUCER, 0);
	fev_queue *q = fevtest_open(w->inst, w->queue, FEV_CONSUMER, 0);
	uint64_t cpu0 = thread_cpu_ns(), end = 0, i = 0;

	if (w->run_ms != 0)
		end = fevtest_now_ns() + w->run_ms * FEVTEST_MS;
	for (; w->run_ms != 0 ? fevtest_now_ns() < end : i < w->events; i++) {
		pass_one(p, q, i);
		if (w->gap_ms != 0)
			fevtest_sleep_ms(w->gap_ms);
	}
	w->published = i;
	w->cpu_ns = thread_cpu_ns() - cpu0;
	fev_close(q);
	fev_close(p);
	atomic_store(&w->done, true); /* seq_cst: publishes the outs */
	return NULL;
}

/* What the tail saw of a producer's events. */
struct seen {
	uint64_t events, missed, last_id, worst_delay_ns;
	uint64_t delay_ns[SLOW_EVENTS]; /* of the first SLOW_EVENTS shown */
};

/* One event: its position and payload agree, and the positions between
 * it and the last one shown are exactly what it says were missed. */
static void account(struct seen *s, const fev_tail_event *te)
{
	uint64_t v[2], now = fevtest_now_ns();

	assert_int_equal(te->ev.len, sizeof(v));
	memcpy(v, te->ev.data, sizeof(v));
	assert_int_equal(v[0], te->ev.id);
	assert_int_equal(te->ev.id, s->events + s->missed == 0 ?
					    te->missed :
					    s->last_id + 1 + te->missed);
	if (now - v[1] > s->worst_delay_ns)
		s->worst_delay_ns = now - v[1];
	if (s->events < SLOW_EVENTS)
		s->delay_ns[s->events] = now - v[1];
	s->last_id = te->ev.id;
	s->missed += te->missed;
	s->events++;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Tail until the producer is done and the tail has caught up with it. */
static void tail_until_done(struct ctx *c, fev_tail *t, struct producer *w,
			    struct seen *s)
{
	for (;;) {
		fev_tail_event te;
		int rc = fev_tail_next(t, &te, c->buf, sizeof(c->buf),
				       20 * FEVTEST_MS);

		if (rc == 0) {
			account(s, &te);
			continue;
		}
		assert_int_equal(rc, -ETIMEDOUT);
		if (atomic_load(&w->done) && s->events + s->missed ==
						     w->published)
			return;
	}
}

/* A rest is never longer than a burst owed plus a burst, at percent. */
static uint64_t longest_rest_ns(uint32_t percent)
{
	return (uint64_t)(2 * TAIL_BUDGET_BURST_NS) * FEV_TAIL_CPU_FULL /
	       percent;
}

/* Always an event, looks gap_ns apart (what the caller did in between
 * included): busy percent of the time, rests bounded. */
static void check_busy_share(uint32_t percent, uint64_t gap_ns)
{
	struct fev__tail_budget b;
	uint64_t now = 1000, start = now, end = now + 2000 * FEVTEST_MS;
	uint64_t busy = 0, rests = 0;
	double share;

	fev__tail_budget_init(&b, percent, now);
	while (now < end) {
		uint64_t rest = fev__tail_budget_before(&b, now);

		if (rest != 0) {
			assert_true(rest > now);
			assert_true(rest - now <= longest_rest_ns(percent));
			now = rest;
			rests++;
			continue;
		}
		fev__tail_budget_after(&b, true, now);
		now += gap_ns;
		busy += gap_ns;
	}
	share = (double)busy / (double)(now - start);
	assert_true(rests > 0);
	assert_true(share > 0.9 * percent / 100.0);
	assert_true(share < 1.1 * percent / 100.0);
}

static void test_budget_keeps_a_busy_tail_busy_its_percent(void **state)
{
	(void)state;
	check_busy_share(1, 100);
	check_busy_share(2, 100);
	check_busy_share(2, 7000); /* a slow caller: bursts of a few looks */
	check_busy_share(10, 250);
	check_busy_share(50, 100);
}

static void test_budget_never_rests_a_tail_that_catches_up(void **state)
{
	struct fev__tail_budget b;
	uint64_t now = 1000;

	(void)state;
	fev__tail_budget_init(&b, 1, now);
	/* An event a millisecond, a microsecond's work on each, then a look
	 * that finds nothing: 0.1 % busy, under 1 %. */
	for (int i = 0; i < 10000; i++) {
		assert_int_equal(fev__tail_budget_before(&b, now), 0);
		fev__tail_budget_after(&b, true, now);
		now += 1000;
		assert_int_equal(fev__tail_budget_before(&b, now), 0);
		fev__tail_budget_after(&b, false, now);
		now += FEVTEST_MS;
	}
}

static void test_budget_rest_after_a_long_held_event_is_bounded(void **state)
{
	struct fev__tail_budget b;
	uint64_t now = 1000, rest;

	(void)state;
	fev__tail_budget_init(&b, 2, now);
	assert_int_equal(fev__tail_budget_before(&b, now), 0);
	fev__tail_budget_after(&b, true, now);
	now += 1000 * FEVTEST_MS; /* the caller held it a second */
	rest = fev__tail_budget_before(&b, now);
	assert_true(rest > now);
	assert_true(rest - now <= longest_rest_ns(2));
	/* Until then it rests; after it, a whole burst again. */
	assert_int_equal(fev__tail_budget_before(&b, rest - 1), rest);
	assert_int_equal(fev__tail_budget_before(&b, rest), 0);
	assert_int_equal(b.credit_ns, TAIL_BUDGET_BURST_NS);
}

static void test_busy_tail_rests_and_counts_exactly_what_it_missed(
	void **state)
{
	struct ctx *c = *state;
	fev_tail *t = tail_open(c, "busy", 1);
	struct producer w = { .inst = c->inst, .queue = "busy",
			      .run_ms = BUSY_MS };
	struct seen s = { 0 };
	uint64_t cpu0 = thread_cpu_ns(), wall0 = fevtest_now_ns(), cpu, wall;
	pthread_t th;

	assert_int_equal(pthread_create(&th, NULL, produce, &w), 0);
	tail_until_done(c, t, &w, &s);
	cpu = thread_cpu_ns() - cpu0;
	wall = fevtest_now_ns() - wall0;
	assert_int_equal(pthread_join(th, NULL), 0);
	/* Every position is seen or counted, never both, never neither. */
	assert_int_equal(s.events + s.missed, w.published);
	assert_int_equal(fev_tail_missed(t), s.missed);
	assert_true(s.events > 0);
	assert_true(s.missed > 0); /* it rested while the ring lapped it */
	/* A tail that never rests spins as long as the producer does
	 * (about half the producer's CPU time here, measured); at 1 % it
	 * takes a small part of it.  Or of the time: on a machine so loaded
	 * that the producer got a few percent of a CPU, the budget still
	 * holds the tail to about 1 % of the time, under 2 % (without it,
	 * the tail's share there is about the producer's: only a machine
	 * that gives each thread under 2 % of a CPU lets that pass). */
	printf("tail: %llu seen, %llu missed of %llu; CPU %llu us, "
	       "producer %llu us, in %llu us\n",
	       (unsigned long long)s.events, (unsigned long long)s.missed,
	       (unsigned long long)w.published,
	       (unsigned long long)(cpu / 1000),
	       (unsigned long long)(w.cpu_ns / 1000),
	       (unsigned long long)(wall / 1000));
	assert_true(cpu * 4 < w.cpu_ns || cpu * 50 < wall);
	assert_true(wall < BUSY_DEADLINE_NS);
	fev_tail_close(t);
}

static void test_budget_never_delays_a_tail_that_keeps_up(void **state)
{
	struct ctx *c = *state;
	fev_tail *t = tail_open(c, "slow", 1);
	struct producer w = { .inst = c->inst, .queue = "slow",
			      .events = SLOW_EVENTS, .gap_ms = SLOW_GAP_MS };
	struct seen s = { 0 };
	pthread_t th;

	assert_int_equal(pthread_create(&th, NULL, produce, &w), 0);
	tail_until_done(c, t, &w, &s);
	assert_int_equal(pthread_join(th, NULL), 0);
	/* Each event shown, none missed, none late. */
	assert_int_equal(s.events, SLOW_EVENTS);
	assert_int_equal(s.missed, 0);
	assert_int_equal(fev_tail_missed(t), 0);
	assert_true(s.worst_delay_ns < SLOW_DEADLINE_NS);
	qsort(s.delay_ns, SLOW_EVENTS, sizeof(s.delay_ns[0]), cmp_u64);
	printf("slow stream: median delay %llu us, worst %llu us\n",
	       (unsigned long long)(s.delay_ns[SLOW_EVENTS / 2] / 1000),
	       (unsigned long long)(s.worst_delay_ns / 1000));
	assert_true(s.delay_ns[SLOW_EVENTS / 2] < SLOW_MEDIAN_NS);
	fev_tail_close(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_budget_keeps_a_busy_tail_busy_its_percent),
		cmocka_unit_test(
			test_budget_never_rests_a_tail_that_catches_up),
		cmocka_unit_test(
			test_budget_rest_after_a_long_held_event_is_bounded),
		cmocka_unit_test_setup_teardown(
			test_busy_tail_rests_and_counts_exactly_what_it_missed,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_budget_never_delays_a_tail_that_keeps_up, setup,
			teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
