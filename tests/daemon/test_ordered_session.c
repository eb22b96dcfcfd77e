/*
 * Session timeouts of ordered groups (member.c, group_assign.h,
 * daemon/src/assign_session.c) against the real fevd binary: a member
 * that stops calling (SIGSTOPped while it holds events) loses its
 * partitions after the group's session timeout, while the live member
 * keeps its own and gets the stalled one's, with the held events first,
 * flagged FEV_REDELIVERED, then the rest in order; the stalled member,
 * continued, is told -EKEYREVOKED, rejoins and takes its share again; per
 * key, unflagged events come in publish order and none is lost.  And a
 * member that waits for events (calls, but has nothing to take) for
 * longer than the timeout is making progress: it keeps its partitions.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "consumer_group.h"
#include "fevd_harness.h"
#include "group_view.h"

#define PARTS 4u
/* Long enough that a member calling every 50 ms is not starved of its
 * core that long on a loaded 2-core machine (400 ms was, once in 30). */
#define SESSION_MS 1000u
#define WAIT_MS 10000u
#define ROUND 5u /* events published per partition per round */
#define ROUNDS 3u
#define LOG_MAX 256u

static const char topic_conf[] =
	"[topic t]\npartitions = 4\ncapacity = 256\nmax_event = 64\n"
	"[group t g]\nmode = ordered\nstart = earliest\n"
	"session_timeout = 1s\n";

struct body {
	uint32_t part, seq;
};

struct rec {
	struct body b;
	uint32_t flags;
	uint32_t who; /* 0: the parent's member, 1: the child's */
};

/* What the child member and the parent share. */
struct shared {
	_Atomic uint32_t held;     /* events the child holds, first life */
	_Atomic uint32_t go;       /* the parent continued it: go on */
	_Atomic uint32_t fenced;   /* its releases answered -EKEYREVOKED */
	_Atomic uint32_t acq_rc;   /* its next acquire's answer, negated */
	_Atomic uint32_t rejoined; /* it joined again */
	_Atomic uint32_t stop;     /* the parent is done */
	_Atomic uint32_t n;
	struct rec log[LOG_MAX]; /* every event either member delivered */
};

struct ctx {
	struct fh h;
	fev_open_opts o;
	struct shared *s;
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	fh_init(&c->h);
	c->o = (fev_open_opts){ .struct_size = sizeof(c->o),
				.instance = c->h.instance,
				.group = "g" };
	c->s = mmap(NULL, sizeof(*c->s), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(c->s != MAP_FAILED);
	fh_write_config(&c->h, "log_level = debug\n", topic_conf);
	fh_start(&c->h);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	fevtest_kill_children();
	if (getenv("ORD_DEBUG") != NULL) {
		char *t = fevtest_read_file(c->h.log);

		print_message("%s\n", t != NULL ? t : "(no log)");
		free(t);
	}
	fh_cleanup(&c->h);
	munmap(c->s, sizeof(*c->s));
	free(c);
	return 0;
}

static void log_event(struct shared *s, const fev_event *ev, uint32_t who)
{
	uint32_t i = atomic_fetch_add(&s->n, 1);

	if (i >= LOG_MAX || ev->len != sizeof(struct body))
		return;
	memcpy(&s->log[i].b, ev->data, sizeof(struct body));
	s->log[i].flags = ev->flags;
	s->log[i].who = who;
}

/* What fev stat reads (group_view.h): revocations summed over the
 * partitions. */
static uint64_t revoked_seen_by_stat(const char *instance)
{
	uint64_t sum = 0;

	for (uint32_t k = 0; k < PARTS; k++) {
		char seg[16];
		struct fev__map m;
		struct fev__group_view v;

		snprintf(seg, sizeof(seg), k == 0 ? "t" : "t@%u", k);
		assert_int_equal(fev__map_open(instance, seg, false, &m), 0);
		assert_int_equal(fev__group_read(&m, (uint32_t)fev__group_find(
							     &m, "g"),
						 &v),
				 0);
		sum += v.revoked;
		fev__map_close(&m);
	}
	return sum;
}

static int owned(fev_member *m)
{
	return fev_member_owned(m, NULL, 0);
}

/*
 * The child member.  First life: take and hold every event it gets (never
 * release) until it holds `want`, say so, and stop calling.  Continued
 * (go): its releases must be fenced and its acquire revoked; then it
 * leaves, joins again and consumes (acquire, log, release) until stop.
 */
struct child_arg {
	const char *instance;
	struct shared *s;
	uint32_t want;
};

static int child_main(void *p)
{
	struct child_arg *a = p;
	fev_open_opts o = { .struct_size = sizeof(o),
			    .instance = a->instance,
			    .group = "g" };
	fev_event held[LOG_MAX];
	uint32_t n = 0, fenced = 0;
	fev_member *m;
	int rc;

	if (fev_member_join("t", &o, &m) != 0)
		return 2;
	while (n < a->want) {
		rc = fev_member_acquire(m, &held[n], NULL, 10 * FEVTEST_MS);
		if (rc == 0)
			log_event(a->s, &held[n++], 1);
		else if (rc != -ETIMEDOUT)
			return 3;
	}
	atomic_store(&a->s->held, n);
	/* Hung: no call into fev until the parent says go. */
	while (atomic_load(&a->s->go) == 0)
		fevtest_sleep_ms(1);
	for (uint32_t i = 0; i < n; i++)
		fenced += fev_member_release(m, &held[i]) == -EKEYREVOKED;
	atomic_store(&a->s->fenced, fenced);
	rc = fev_member_acquire(m, &held[0], NULL, 0);
	atomic_store(&a->s->acq_rc, (uint32_t)-rc);
	fev_member_leave(m);
	if (fev_member_join("t", &o, &m) != 0)
		return 4;
	atomic_store(&a->s->rejoined, 1);
	while (atomic_load(&a->s->stop) == 0) {
		fev_event ev;

		rc = fev_member_acquire(m, &ev, NULL, 5 * FEVTEST_MS);
		if (rc == -ETIMEDOUT)
			continue;
		if (rc != 0)
			return 5;
		log_event(a->s, &ev, 1);
		if (fev_member_release(m, &ev) != 0)
			return 6;
	}
	fev_member_leave(m);
	return 0;
}

static void publish_round(fev_topic *t, uint32_t round)
{
	for (uint32_t k = 0; k < PARTS; k++)
		for (uint32_t i = 0; i < ROUND; i++) {
			struct body b = { .part = k, .seq = round * ROUND + i };

			assert_int_equal(fev_send(fev_topic_partition(t, k), &b,
						  sizeof(b), FEV_FOREVER),
					 0);
		}
}

/* The parent's member takes and releases what there is, for ms. */
static void consume_for(struct shared *s, fev_member *m, unsigned ms)
{
	uint64_t end = fevtest_now_ns() + ms * FEVTEST_MS;

	while (fevtest_now_ns() < end) {
		fev_event ev;
		int rc = fev_member_acquire(m, &ev, NULL, FEVTEST_MS);

		if (rc == -ETIMEDOUT)
			continue;
		assert_int_equal(rc, 0);
		log_event(s, &ev, 0);
		assert_int_equal(fev_member_release(m, &ev), 0);
	}
}

/* Consume (the parent's member) until it owns want partitions. */
static void consume_until_owning(struct shared *s, fev_member *m, int want)
{
	uint64_t give_up = fevtest_now_ns() + WAIT_MS * FEVTEST_MS;

	while (owned(m) != want) {
		if (fevtest_now_ns() > give_up)
			fail_msg("the parent's member owns %d partitions, not "
				 "%d",
				 owned(m), want);
		consume_for(s, m, 2);
	}
}

/* Every event logged: how many times each (part, seq) was delivered;
 * per partition, an unflagged event never after a later one. */
static void check_log(const struct shared *s, uint32_t events_per_part)
{
	uint32_t n = atomic_load(&((struct shared *)s)->n);
	int64_t top[PARTS];
	uint32_t seen[PARTS][ROUND * ROUNDS] = { { 0 } };

	assert_true(n <= LOG_MAX);
	for (uint32_t k = 0; k < PARTS; k++)
		top[k] = -1;
	for (uint32_t i = 0; i < n; i++) {
		const struct rec *r = &s->log[i];

		assert_true(r->b.part < PARTS &&
			    r->b.seq < events_per_part);
		seen[r->b.part][r->b.seq]++;
		if (r->flags & FEV_REDELIVERED)
			continue;
		if ((int64_t)r->b.seq <= top[r->b.part])
			fail_msg("partition %u: seq %u after %" PRId64
				 ", unflagged",
				 r->b.part, r->b.seq, top[r->b.part]);
		top[r->b.part] = r->b.seq;
	}
	for (uint32_t k = 0; k < PARTS; k++)
		for (uint32_t q = 0; q < events_per_part; q++)
			if (seen[k][q] == 0)
				fail_msg("partition %u: seq %u lost", k, q);
}

/*
 * Two members own 2 partitions each; the child takes the first round of
 * its partitions, holds all of it and stops (SIGSTOP).  After the session
 * timeout the parent's member owns all 4, gets the held events first,
 * flagged, then the next round in order.  The child, continued, is fenced
 * and revoked, rejoins, and the partitions split again; the last round
 * goes to both.  Nothing lost, per partition in order.
 */
static void test_stalled_member_loses_partitions_with_its_events(void **state)
{
	struct ctx *c = *state;
	struct shared *s = c->s;
	fev_open_opts po = { .struct_size = sizeof(po),
			     .instance = c->h.instance };
	struct child_arg a = { .instance = c->h.instance, .s = s,
			       .want = 2 * ROUND };
	fev_group_info info = { .struct_size = sizeof(info) };
	fev_topic *t = NULL;
	fev_member *m = NULL;
	pid_t child;
	uint32_t flagged = 0;

	assert_int_equal(fev_topic_open("t", FEV_PRODUCER, &po, &t), 0);
	assert_int_equal(fev_member_join("t", &c->o, &m), 0);
	consume_until_owning(s, m, (int)PARTS);
	child = fevtest_fork(child_main, &a);
	assert_true(child > 0);
	consume_until_owning(s, m, (int)PARTS / 2);

	publish_round(t, 0);
	for (uint64_t give_up = fevtest_now_ns() + WAIT_MS * FEVTEST_MS;
	     atomic_load(&s->held) == 0;) {
		assert_true(fevtest_now_ns() < give_up);
		consume_for(s, m, 2);
	}
	kill(child, SIGSTOP);
	/* The stopped child's partitions come to us after the timeout. */
	consume_until_owning(s, m, (int)PARTS);
	publish_round(t, 1);
	consume_for(s, m, 100);
	for (uint32_t i = 0; i < atomic_load(&s->n); i++)
		flagged += s->log[i].who == 0 &&
			   (s->log[i].flags & FEV_REDELIVERED) != 0;
	assert_int_equal(flagged, 2 * ROUND); /* all it held, once each */
	assert_int_equal(fev_group_stats("t", "g", c->h.instance, &info), 0);
	assert_int_equal(info.revoked, PARTS / 2);
	assert_int_equal(revoked_seen_by_stat(c->h.instance), PARTS / 2);

	atomic_store(&s->go, 1);
	kill(child, SIGCONT);
	for (uint64_t give_up = fevtest_now_ns() + WAIT_MS * FEVTEST_MS;
	     atomic_load(&s->rejoined) == 0;) {
		assert_true(fevtest_now_ns() < give_up);
		consume_for(s, m, 2);
	}
	assert_int_equal(atomic_load(&s->fenced), 2 * ROUND);
	assert_int_equal(atomic_load(&s->acq_rc), EKEYREVOKED);
	consume_until_owning(s, m, (int)PARTS / 2);
	publish_round(t, 2);
	consume_for(s, m, 300);
	atomic_store(&s->stop, 1);
	assert_int_equal(fevtest_wait(child, WAIT_MS), 0);
	check_log(s, ROUND * ROUNDS);
	fev_member_leave(m);
	fev_topic_close(t);
}

/*
 * A member waiting in fev_member_acquire() with nothing to take for
 * two session timeouts is making calls: it keeps its partitions.
 */
static void test_waiting_member_keeps_its_partitions(void **state)
{
	struct ctx *c = *state;
	fev_member *m = NULL, *w = NULL;
	fev_group_info info = { .struct_size = sizeof(info) };
	fev_event ev;

	assert_int_equal(fev_member_join("t", &c->o, &m), 0);
	assert_int_equal(fev_member_join("t", &c->o, &w), 0);
	for (uint64_t give_up = fevtest_now_ns() + WAIT_MS * FEVTEST_MS;
	     owned(m) != PARTS / 2 || owned(w) != PARTS / 2;
	     fevtest_sleep_ms(2))
		assert_true(fevtest_now_ns() < give_up);
	/* w waits (one call); m keeps calling too. */
	for (uint64_t end = fevtest_now_ns() + 2 * SESSION_MS * FEVTEST_MS,
		      t0 = fevtest_now_ns(), longest = 0;
	     fevtest_now_ns() < end;) {
		uint64_t t1;

		assert_int_equal(fev_member_acquire(w, &ev, NULL,
						    50 * FEVTEST_MS),
				 -ETIMEDOUT);
		t1 = fevtest_now_ns();
		longest = t1 - t0 > longest ? t1 - t0 : longest;
		t0 = t1;
		if (owned(m) != PARTS / 2)
			fail_msg("m lost its partitions; longest gap between "
				 "its calls %.1f ms",
				 (double)longest / 1e6);
	}
	assert_int_equal(owned(w), PARTS / 2);
	assert_int_equal(fev_group_stats("t", "g", c->h.instance, &info), 0);
	assert_int_equal(info.revoked, 0);
	fev_member_leave(w);
	fev_member_leave(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_stalled_member_loses_partitions_with_its_events,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_waiting_member_keeps_its_partitions, setup,
			teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
