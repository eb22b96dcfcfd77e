/*
 * Ordered consumer groups (member.c, group_assign.h, daemon/src/assign.c)
 * against the real fevd binary: fevd splits the partitions among live
 * members and moves only what must move; a member that lost a partition
 * is fenced (-EKEYREVOKED) and its events go to the new owner, flagged,
 * first; a stopped member keeps its partitions while the others go on;
 * and, under churn (members SIGKILLed, stopped and added while four
 * producers publish 1,000 keys), every key's events are seen in publish
 * order except flagged redeliveries, and none is lost.
 *
 * FEV_ORDERED_CHURN_EVENTS sets the churn run's events per producer
 * (default 6,000: CI's count).
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
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "fevd_harness.h"

#define PARTS 8u
#define CAP 256u
#define KEYS 1000u
#define PRODUCERS 4u
#define WAIT_MS 5000u
#define PACE_EVENTS 4u /* a producer sleeps 1 ms after this many */

static const char topic_conf[] =
	"[topic t]\npartitions = 8\ncapacity = 4096\nmax_event = 64\n"
	"[group t g]\nmode = ordered\nstart = earliest\n"
	"[group t s]\nstart = earliest\n";

struct ctx {
	struct fh h;
	fev_open_opts o;
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	fh_init(&c->h);
	c->o = (fev_open_opts){ .struct_size = sizeof(c->o),
				.instance = c->h.instance,
				.group = "g" };
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
	free(c);
	return 0;
}

static fev_member *join(struct ctx *c)
{
	fev_member *m = NULL;
	int rc = fev_member_join("t", &c->o, &m);

	if (rc != 0)
		fail_msg("fev_member_join: %s", fev_strerror(rc));
	return m;
}

/* The partitions m owns, as a bit mask. */
static uint32_t owned_mask(fev_member *m)
{
	uint32_t parts[PARTS], mask = 0;
	int n = fev_member_owned(m, parts, PARTS);

	assert_true(n >= 0);
	for (int i = 0; i < n; i++)
		mask |= 1u << parts[i];
	return mask;
}

/* Call every member until their masks are disjoint, cover all partitions
 * and each has want[i] of them (fevd assigns every tick, owners hand over
 * at their calls). */
static void settle(fev_member **ms, const int *want, int n, uint32_t *masks)
{
	uint64_t give_up = fevtest_now_ns() + WAIT_MS * FEVTEST_MS;

	for (;;) {
		uint32_t all = 0;
		bool ok = true;

		for (int i = 0; i < n; i++) {
			masks[i] = owned_mask(ms[i]);
			ok &= (all & masks[i]) == 0 &&
			      __builtin_popcount(masks[i]) == want[i];
			all |= masks[i];
		}
		if (ok && all == (1u << PARTS) - 1)
			return;
		if (fevtest_now_ns() > give_up) {
			for (int i = 0; i < n; i++)
				print_message("member %d owns %#x\n", i,
					      masks[i]);
			fail_msg("the partitions were not split as expected");
		}
		fevtest_sleep_ms(2);
	}
}

static fev_topic *producer(struct ctx *c)
{
	fev_open_opts o = { .struct_size = sizeof(o),
			    .instance = c->h.instance };
	fev_topic *t = NULL;

	assert_int_equal(fev_topic_open("t", FEV_PRODUCER, &o, &t), 0);
	return t;
}

/* Send n events to partition k (keyless, through its handle). */
static void send_to(fev_topic *t, uint32_t k, uint32_t first, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		uint32_t v = first + i;

		assert_int_equal(fev_send(fev_topic_partition(t, k), &v,
					  sizeof(v), FEV_FOREVER),
				 0);
	}
}

static void test_plain_open_of_ordered_group_is_refused(void **state)
{
	struct ctx *c = *state;
	fev_open_opts shared = c->o;
	fev_member *m = NULL;
	fev_queue *q = NULL;

	/* An ordered group's partitions are read by their owners only. */
	assert_int_equal(fev_open("t@1", FEV_CONSUMER, &c->o, &q), -EPERM);
	/* And fev_member_join() is for ordered groups only. */
	shared.group = "s";
	assert_int_equal(fev_member_join("t", &shared, &m), -EPERM);
	assert_int_equal(fev_group_mode("t", "g", c->h.instance),
			 FEV_GROUP_ORDERED);
	assert_int_equal(fev_group_mode("t", "s", c->h.instance),
			 FEV_GROUP_SHARED);
	assert_int_equal(fev_group_mode("t", "nope", c->h.instance), -ENOENT);
	assert_int_equal(fev_group_owners("t", "s", c->h.instance, NULL, 0),
			 -EINVAL);
}

/*
 * One member gets all 8; a second takes 4, and the first keeps 4 of its
 * own (sticky: only those move); a third takes 2 from the others; when
 * the second leaves, its partitions go to the others and nothing else
 * moves.  fev_group_owners() reports the same owners, by pid.
 */
static void test_members_split_partitions_and_only_moved_ones_change(
	void **state)
{
	struct ctx *c = *state;
	fev_member *ms[3];
	uint32_t m1[1], m2[2], m3[3];
	fev_partition_owner own[PARTS];

	ms[0] = join(c);
	settle(ms, (int[]){ 8 }, 1, m1);
	ms[1] = join(c);
	settle(ms, (int[]){ 4, 4 }, 2, m2);
	assert_int_equal(m2[0] & ~m1[0], 0); /* the first kept its own */
	ms[2] = join(c);
	settle(ms, (int[]){ 3, 3, 2 }, 3, m3);
	/* Only what the third took moved. */
	assert_int_equal(m3[0] & ~m2[0], 0);
	assert_int_equal(m3[1] & ~m2[1], 0);
	assert_int_equal(fev_group_owners("t", "g", c->h.instance, own,
					  PARTS),
			 (int)PARTS);
	for (uint32_t k = 0; k < PARTS; k++) {
		assert_int_equal(own[k].partition, k);
		assert_int_equal(own[k].pid, getpid());
		assert_true(own[k].generation >= 1);
	}
	fev_member_leave(ms[1]);
	ms[1] = ms[2];
	{
		uint32_t before0 = m3[0], before2 = m3[2];

		settle(ms, (int[]){ 4, 4 }, 2, m2);
		assert_int_equal(before0 & ~m2[0], 0);
		assert_int_equal(before2 & ~m2[1], 0);
	}
	fev_member_leave(ms[0]);
	fev_member_leave(ms[1]);
}

/*
 * A member holds one event of each of its 8 partitions when a second
 * member joins: releasing those of the 4 partitions handed over answers
 * -EKEYREVOKED, and the new owner gets exactly those events first,
 * flagged FEV_REDELIVERED, then the next of each partition in order.
 */
static void test_member_that_lost_partition_is_fenced(void **state)
{
	struct ctx *c = *state;
	fev_topic *t = producer(c);
	fev_member *ms[2];
	uint32_t masks[2], m1[1];
	fev_event held[PARTS];
	uint32_t held_part[PARTS];

	ms[0] = join(c);
	settle(ms, (int[]){ 8 }, 1, m1);
	for (uint32_t k = 0; k < PARTS; k++)
		send_to(t, k, 100 * k, 2); /* 100k, 100k + 1 */
	for (uint32_t i = 0; i < PARTS; i++) {
		uint32_t v;

		assert_int_equal(fev_member_acquire(ms[0], &held[i],
						    &held_part[i],
						    2000 * FEVTEST_MS),
				 0);
		memcpy(&v, held[i].data, sizeof(v));
		assert_int_equal(v, 100 * held_part[i]);
	}
	ms[1] = join(c);
	settle(ms, (int[]){ 4, 4 }, 2, masks);
	for (uint32_t i = 0; i < PARTS; i++) {
		bool lost = masks[1] & (1u << held_part[i]);
		int rc = fev_member_release(ms[0], &held[i]);

		if (lost && rc != -EKEYREVOKED)
			fail_msg("release in lost partition %u: %s",
				 held_part[i], fev_strerror(rc));
		if (!lost)
			assert_int_equal(rc, 0);
	}
	/* The new owner: the fenced event first, flagged, then the next. */
	for (uint32_t i = 0; i < 8; i++) {
		fev_event ev;
		uint32_t k, v;

		assert_int_equal(fev_member_acquire(ms[1], &ev, &k,
						    2000 * FEVTEST_MS),
				 0);
		assert_true(masks[1] & (1u << k));
		memcpy(&v, ev.data, sizeof(v));
		if (v == 100 * k)
			assert_true(ev.flags & FEV_REDELIVERED);
		else
			assert_int_equal(v, 100 * k + 1);
		assert_int_equal(fev_member_release(ms[1], &ev), 0);
	}
	/* The first member goes on with the second event of those it kept. */
	for (uint32_t i = 0; i < 4; i++) {
		fev_event ev;
		uint32_t k, v;

		assert_int_equal(fev_member_acquire(ms[0], &ev, &k,
						    2000 * FEVTEST_MS),
				 0);
		assert_true(masks[0] & (1u << k));
		memcpy(&v, ev.data, sizeof(v));
		assert_int_equal(v, 100 * k + 1);
		assert_false(ev.flags & FEV_REDELIVERED);
		assert_int_equal(fev_member_release(ms[0], &ev), 0);
	}
	fev_member_leave(ms[0]);
	fev_member_leave(ms[1]);
	fev_topic_close(t);
}

/* ---- processes: a shared log of what members saw ---------------------- */

struct rec {
	_Atomic uint32_t ok; /* stored last: the record is whole */
	uint16_t key;
	uint16_t flags;
	uint32_t seq;
	uint32_t member;
};

struct shared_log {
	_Atomic uint64_t n, cap;
	_Atomic uint64_t per_part[PARTS]; /* first deliveries per partition */
	_Atomic uint64_t last_ns[PARTS];  /* monotonic time of the last one */
	_Atomic uint64_t max_gap_ns[PARTS];
	_Atomic uint32_t gap_from_ns_valid;
	struct rec r[];
};

static struct shared_log *log_new(uint64_t cap)
{
	size_t len = sizeof(struct shared_log) + cap * sizeof(struct rec);
	struct shared_log *l = mmap(NULL, len, PROT_READ | PROT_WRITE,
				    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	assert_true(l != MAP_FAILED);
	atomic_store(&l->cap, cap);
	return l;
}

static void log_free(struct shared_log *l)
{
	munmap(l, sizeof(struct shared_log) +
			  atomic_load(&l->cap) * sizeof(struct rec));
}

struct event_body {
	uint16_t key;
	uint32_t seq;
};

static void log_event(struct shared_log *l, const fev_event *ev, uint32_t k,
		      uint32_t member)
{
	struct event_body b;
	uint64_t i = atomic_fetch_add(&l->n, 1), now = fevtest_now_ns();
	uint64_t last = atomic_exchange(&l->last_ns[k], now);

	if (last != 0 && now - last > atomic_load(&l->max_gap_ns[k]))
		atomic_store(&l->max_gap_ns[k], now - last);
	if (!(ev->flags & FEV_REDELIVERED))
		atomic_fetch_add(&l->per_part[k], 1);
	if (i >= atomic_load(&l->cap) || ev->len != sizeof(b))
		return;
	memcpy(&b, ev->data, sizeof(b));
	l->r[i].key = b.key;
	l->r[i].seq = b.seq;
	l->r[i].flags = (uint16_t)ev->flags;
	l->r[i].member = member;
	atomic_store(&l->r[i].ok, 1);
}

struct member_arg {
	const char *instance;
	struct shared_log *log;
	uint32_t member;
};

/*
 * A member process: log each event and hold up to HOLD of them, or 20 ms,
 * before releasing (so kills find events held); until killed.
 */
#define HOLD 3
static int member_main(void *p)
{
	struct member_arg *a = p;
	fev_open_opts o = { .struct_size = sizeof(o),
			    .instance = a->instance,
			    .group = "g" };
	fev_event held[HOLD];
	int n = 0;
	fev_member *m;

	if (fev_member_join("t", &o, &m) != 0)
		return 2;
	for (;;) {
		uint32_t k;
		int rc = fev_member_acquire(m, &held[n], &k,
					    (n > 0 ? 20 : 100) * FEVTEST_MS);

		if (rc == 0)
			log_event(a->log, &held[n++], k, a->member);
		else if (rc != -ETIMEDOUT && rc != -EAGAIN)
			return 3;
		if (n < HOLD && rc == 0)
			continue;
		for (int i = 0; i < n; i++) {
			rc = fev_member_release(m, &held[i]);
			if (rc != 0 && rc != -EKEYREVOKED)
				return 4;
		}
		n = 0;
	}
}

struct producer_arg {
	const char *instance;
	uint32_t index, events;
};

/* Producer p: keys p, p + 4, ...; each key's seq counts up from 0. */
static int producer_main(void *p)
{
	struct producer_arg *a = p;
	fev_open_opts o = { .struct_size = sizeof(o),
			    .instance = a->instance };
	uint32_t seq[KEYS] = { 0 };
	fev_topic *t;

	if (fev_topic_open("t", FEV_PRODUCER, &o, &t) != 0)
		return 2;
	for (uint32_t i = 0; i < a->events; i++) {
		uint16_t key = (uint16_t)(a->index + PRODUCERS *
						     (i % (KEYS / PRODUCERS)));
		struct event_body b = { .key = key, .seq = seq[key]++ };
		char kb[8];
		int n = snprintf(kb, sizeof(kb), "k%u", key);

		if (fev_topic_send(t, kb, (size_t)n, &b, sizeof(b),
				   FEV_FOREVER) < 0)
			return 3;
		/* Paced, so that the churn happens while they publish. */
		if (i % PACE_EVENTS == 0)
			fevtest_sleep_ms(1);
	}
	fev_topic_close(t);
	return 0;
}

static pid_t spawn_member(struct ctx *c, struct shared_log *l, uint32_t id)
{
	struct member_arg a = { .instance = c->h.instance, .log = l,
				.member = id };
	pid_t pid = fevtest_fork(member_main, &a);

	assert_true(pid > 0);
	return pid;
}

/*
 * Per key: an unflagged event never comes after a later one of its key,
 * and every seq below what was sent was seen.
 */
static void check_log(const struct shared_log *l, const uint32_t *sent)
{
	uint64_t n = atomic_load(&l->n);
	int64_t *top = calloc(KEYS, sizeof(*top));
	uint64_t *base = calloc(KEYS, sizeof(*base));
	uint8_t *seen;
	uint64_t total = 0, flagged = 0, missing = 0;

	assert_non_null(top);
	assert_non_null(base);
	for (uint32_t k = 0; k < KEYS; k++) {
		top[k] = -1;
		base[k] = total;
		total += sent[k];
	}
	seen = calloc(total, 1);
	assert_non_null(seen);
	if (n > atomic_load(&l->cap))
		fail_msg("the log overflowed: %" PRIu64, n);
	for (uint64_t i = 0; i < n; i++) {
		const struct rec *r = &l->r[i];

		if (!atomic_load(&((struct rec *)r)->ok))
			continue; /* killed mid-record: not released */
		assert_true(r->key < KEYS && r->seq < sent[r->key]);
		seen[base[r->key] + r->seq] = 1;
		if (r->flags & FEV_REDELIVERED) {
			flagged++;
		} else if ((int64_t)r->seq <= top[r->key]) {
			fail_msg("key %u: seq %u (member %u) after seq %" PRId64
				 ", unflagged",
				 r->key, r->seq, r->member, top[r->key]);
		}
		if ((int64_t)r->seq > top[r->key])
			top[r->key] = r->seq;
	}
	for (uint64_t i = 0; i < total; i++)
		missing += !seen[i];
	print_message("churn: %" PRIu64 " events, %" PRIu64
		      " deliveries, %" PRIu64 " flagged redeliveries\n",
		      total, n, flagged);
	assert_int_equal(missing, 0);
	free(seen);
	free(base);
	free(top);
}

static uint64_t deliveries(const struct shared_log *l)
{
	return atomic_load(&((struct shared_log *)l)->n);
}

static void wait_for_deliveries(const struct shared_log *l, uint64_t want,
				unsigned ms)
{
	uint64_t give_up = fevtest_now_ns() + ms * FEVTEST_MS;

	while (deliveries(l) < want && fevtest_now_ns() < give_up)
		fevtest_sleep_ms(5);
	if (deliveries(l) < want)
		print_message("waited %u ms for %" PRIu64 " deliveries: %" PRIu64
			      "\n", ms, want, deliveries(l));
}

static uint32_t churn_events(void)
{
	const char *s = getenv("FEV_ORDERED_CHURN_EVENTS");
	long v = s != NULL ? strtol(s, NULL, 10) : 0;

	return v > 0 && v < 10 * 1000 * 1000 ? (uint32_t)v : 6000;
}

/*
 * Four producers, 1,000 keys; three members, then: one SIGKILLed and one
 * added, one stopped (the others go on delivering meanwhile) and resumed,
 * one more added, that one SIGKILLed and replaced, another SIGKILLed,
 * while the producers run.  Then every
 * event must have been seen, each key's unflagged ones in publish order.
 */
static void test_ordering_under_churn(void **state)
{
	struct ctx *c = *state;
	uint32_t per = churn_events(), next_id = 0;
	uint32_t *sent = calloc(KEYS, sizeof(*sent));
	struct shared_log *l = log_new((uint64_t)per * PRODUCERS * 2 + 4096);
	pid_t members[8], producers[PRODUCERS];
	uint64_t before, after, total;
	int nm = 0;

	assert_non_null(sent);
	for (int i = 0; i < 3; i++)
		members[nm++] = spawn_member(c, l, next_id++);
	for (uint32_t p = 0; p < PRODUCERS; p++) {
		struct producer_arg a = { .instance = c->h.instance,
					  .index = p, .events = per };

		producers[p] = fevtest_fork(producer_main, &a);
		assert_true(producers[p] > 0);
	}
	for (uint32_t p = 0; p < PRODUCERS; p++)
		for (uint32_t i = 0; i < per; i++)
			sent[p + PRODUCERS * (i % (KEYS / PRODUCERS))]++;

	total = (uint64_t)per * PRODUCERS;
	wait_for_deliveries(l, total / 5, 20000);
	kill(members[0], SIGKILL);
	assert_int_equal(fevtest_wait(members[0], WAIT_MS), 128 + SIGKILL);
	members[0] = spawn_member(c, l, next_id++);

	wait_for_deliveries(l, total * 2 / 5, 20000);
	/* A stopped member is alive: it keeps its partitions, and the
	 * others go on. */
	kill(members[1], SIGSTOP);
	before = deliveries(l);
	fevtest_sleep_ms(300);
	after = deliveries(l);
	print_message("while one member was stopped: %" PRIu64
		      " deliveries in 300 ms\n",
		      after - before);
	assert_true(after > before);
	members[nm++] = spawn_member(c, l, next_id++);
	kill(members[1], SIGCONT);

	wait_for_deliveries(l, total * 11 / 20, 20000);
	kill(members[3], SIGKILL);
	assert_int_equal(fevtest_wait(members[3], WAIT_MS), 128 + SIGKILL);
	members[3] = spawn_member(c, l, next_id++);

	wait_for_deliveries(l, total * 7 / 10, 20000);
	kill(members[2], SIGKILL);
	assert_int_equal(fevtest_wait(members[2], WAIT_MS), 128 + SIGKILL);

	for (uint32_t p = 0; p < PRODUCERS; p++)
		assert_int_equal(fevtest_wait(producers[p], 60000), 0);
	wait_for_deliveries(l, total, 20000);
	fevtest_sleep_ms(200); /* redeliveries after the last kill */
	for (int i = 0; i < nm; i++)
		if (i != 2) {
			kill(members[i], SIGKILL);
			fevtest_wait(members[i], WAIT_MS);
		}
	check_log(l, sent);
	log_free(l);
	free(sent);
}

/*
 * Rebalance under load: two members own 4 partitions each and one is
 * stopped; a third joins.  The partitions it must take from the stopped
 * member cannot move (a stopped member is alive and hands over at its
 * next call), yet every partition that stays with the running member,
 * and those the running member hands over, keep delivering: a staying
 * partition never waits for a moved one.  The largest gap between two
 * deliveries of each partition is printed (staying and moved).
 */
static void test_staying_partitions_never_pause(void **state)
{
	struct ctx *c = *state;
	struct shared_log *l = log_new(1 << 16);
	fev_topic *t = producer(c);
	fev_partition_owner own[PARTS];
	pid_t a, b, n;
	uint64_t per_before[PARTS];
	uint32_t running = 0, stopped = 0, i = 0;

	a = spawn_member(c, l, 0);
	b = spawn_member(c, l, 1);
	/* Wait for the 4/4 split, by pid. */
	for (uint64_t give_up = fevtest_now_ns() + WAIT_MS * FEVTEST_MS;;) {
		running = stopped = 0;
		assert_int_equal(fev_group_owners("t", "g", c->h.instance, own,
						  PARTS),
				 (int)PARTS);
		for (uint32_t k = 0; k < PARTS; k++) {
			if (own[k].pid == a && own[k].next_pid == 0)
				running |= 1u << k;
			if (own[k].pid == b && own[k].next_pid == 0)
				stopped |= 1u << k;
		}
		if (__builtin_popcount(running) == 4 &&
		    __builtin_popcount(stopped) == 4)
			break;
		assert_true(fevtest_now_ns() < give_up);
		fevtest_sleep_ms(5);
	}
	kill(b, SIGSTOP);
	for (uint32_t k = 0; k < PARTS; k++) {
		per_before[k] = atomic_load(&l->per_part[k]);
		atomic_store(&l->max_gap_ns[k], 0);
		atomic_store(&l->last_ns[k], 0);
	}
	n = spawn_member(c, l, 2);
	/* Publish to a's partitions for a second while n joins. */
	for (uint64_t end = fevtest_now_ns() + 1000 * FEVTEST_MS;
	     fevtest_now_ns() < end; i++) {
		for (uint32_t k = 0; k < PARTS; k++)
			if (running & (1u << k)) {
				struct event_body bd = { .key = (uint16_t)k,
							 .seq = i };
				assert_int_equal(
					fev_send(fev_topic_partition(t, k),
						 &bd, sizeof(bd), FEV_FOREVER),
					0);
			}
		fevtest_sleep_ms(1);
	}
	/* Every event of a running partition arrives: a partition that
	 * waited on the stopped member would never deliver again.  A
	 * deadline, not a time bound: TSan on a loaded machine can be
	 * seconds behind. */
	for (uint64_t give_up = fevtest_now_ns() + WAIT_MS * FEVTEST_MS;
	     fevtest_now_ns() < give_up; fevtest_sleep_ms(5)) {
		uint32_t behind = 0;

		for (uint32_t k = 0; k < PARTS; k++)
			behind += (running & (1u << k)) &&
				  atomic_load(&l->per_part[k]) -
						  per_before[k] <
					  i;
		if (behind == 0)
			break;
	}
	assert_int_equal(fev_group_owners("t", "g", c->h.instance, own, PARTS),
			 (int)PARTS);
	for (uint32_t k = 0; k < PARTS; k++) {
		uint64_t got = atomic_load(&l->per_part[k]) - per_before[k];
		const char *what = own[k].pid == a ? "stayed with a" :
				   own[k].pid == n ? "moved a->n" :
						     "stopped member's";

		print_message("partition %u %-17s %6" PRIu64
			      " deliveries, largest gap %.1f ms\n",
			      k, what, got,
			      (double)atomic_load(&l->max_gap_ns[k]) / 1e6);
		if (running & (1u << k))
			assert_int_equal(got, i); /* none waited on b */
		else
			assert_int_equal(got, 0); /* b's, stopped */
	}
	/* Quotas 3/3/2: n asked a partition of each; b's waits for it. */
	{
		uint32_t of_a = 0, of_n = 0, of_b = 0;

		for (uint32_t k = 0; k < PARTS; k++) {
			of_a += own[k].pid == a;
			of_n += own[k].pid == n;
			of_b += own[k].pid == b;
		}
		assert_int_equal(of_a, 3);
		assert_int_equal(of_n, 1);
		assert_int_equal(of_b, 4);
	}
	kill(b, SIGCONT);
	kill(a, SIGKILL);
	kill(b, SIGKILL);
	kill(n, SIGKILL);
	fevtest_wait(a, WAIT_MS);
	fevtest_wait(b, WAIT_MS);
	fevtest_wait(n, WAIT_MS);
	fev_topic_close(t);
	log_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_plain_open_of_ordered_group_is_refused, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_members_split_partitions_and_only_moved_ones_change,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_member_that_lost_partition_is_fenced, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_ordering_under_churn,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_staying_partitions_never_pause, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
