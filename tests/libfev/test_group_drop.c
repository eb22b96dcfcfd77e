/*
 * The slow-group policies (group_drop.h): a stalled `drop` group loses its
 * oldest events, is told (FEV_GAP, fev_group_dropped(), fev_group_stats())
 * and stops neither a `block` group nor the producer; a stalled `block`
 * group makes producers wait until it moves; a member holding the oldest
 * event of a drop group is not robbed of it; a producer that dies in the
 * middle of a drop is finished by repair, nothing released twice and
 * nothing a block group owes released at all.
 */
#include <errno.h>
#include <signal.h>
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
#include <unistd.h>
#include <cmocka.h>

#include "consumer_group.h"
#include "fevtest.h"
#include "group_drop.h"
#include "repair.h"
#include "segment.h"

#define CAP 64u

static int setup(void **state)
{
	return fevtest_setup(state, 60);
}

/* A topic of one partition whose only groups are named (policy each). */
static void make_topic(const char *inst, const char *topic)
{
	fevtest_create_topic(inst, topic, 1, CAP, 16);
	assert_int_equal(fev_group_delete(topic, "default", inst), 0);
}

static void create_group(const char *inst, const char *topic,
			 const char *group, int policy)
{
	fev_group_config gc = { .struct_size = sizeof(gc),
				.start = FEV_GROUP_LATEST,
				.policy = policy };
	int rc = fev_group_create(topic, group, &gc, inst);

	if (rc != 0)
		fail_msg("fev_group_create(%s): %s", group, fev_strerror(rc));
}

static fev_queue *member(const char *inst, const char *topic,
			 const char *group)
{
	fev_open_opts o = { .struct_size = sizeof(o), .instance = inst,
			    .group = group };
	fev_queue *q = NULL;
	int rc = fev_open(topic, FEV_CONSUMER, &o, &q);

	if (rc != 0)
		fail_msg("join %s: %s", group, fev_strerror(rc));
	return q;
}

static void send_u64(fev_queue *p, uint64_t v, int64_t timeout)
{
	int rc = fev_send(p, &v, sizeof(v), timeout);

	if (rc != 0)
		fail_msg("send %llu: %s", (unsigned long long)v,
			 fev_strerror(rc));
}

/* The next event's value and flags (released). */
static uint64_t recv_u64(fev_queue *q, uint32_t *flags)
{
	fev_meta meta;
	uint64_t v = UINT64_MAX;
	ssize_t n = fev_recv(q, &v, sizeof(v), &meta, 2000 * FEVTEST_MS);

	if (n != (ssize_t)sizeof(v))
		fail_msg("recv: %s", fev_strerror((int)n));
	*flags = meta.flags;
	return v;
}

static uint64_t dropped_of(fev_queue *member_q)
{
	uint64_t d = UINT64_MAX;

	assert_int_equal(fev_group_dropped(member_q, &d), 0);
	return d;
}

/* ---- a reader thread: a member that reads n events in order ------------ */

struct reader {
	const char *inst, *topic, *group;
	uint64_t n;
	_Atomic uint64_t got; /* events read, each checked in order */
	_Atomic int go;       /* 0: wait before reading (stalled) */
	int bad;              /* an event out of order, or flagged */
};

static void *read_all(void *arg)
{
	struct reader *r = arg;
	fev_queue *q = member(r->inst, r->topic, r->group);

	while (!atomic_load(&r->go))
		usleep(1000);
	for (uint64_t i = 0; i < r->n; i++) {
		fev_meta meta;
		uint64_t v;
		ssize_t n = fev_recv(q, &v, sizeof(v), &meta,
				     10000 * FEVTEST_MS);

		if (n != (ssize_t)sizeof(v) || v != i || meta.flags != 0) {
			r->bad = 1;
			break;
		}
		atomic_store(&r->got, i + 1);
	}
	fev_close(q);
	return NULL;
}

/* ---- drop: the stalled group loses, the others go on -------------------- */

#define MANY 2000u

static void test_stalled_drop_group_loses_its_oldest_and_is_told(void **state)
{
	struct fevtest_ctx *c = *state;
	struct reader r = { .inst = c->inst, .topic = "dr", .group = "billing",
			    .n = MANY, .go = 1 };
	fev_group_info gi = { .struct_size = sizeof(gi) };
	fev_queue *slow, *p;
	pthread_t t;
	uint32_t flags;

	make_topic(c->inst, "dr");
	create_group(c->inst, "dr", "billing", FEV_GROUP_BLOCK);
	create_group(c->inst, "dr", "audit", FEV_GROUP_DROP);
	slow = member(c->inst, "dr", "audit"); /* attached, never reads */
	assert_int_equal(pthread_create(&t, NULL, read_all, &r), 0);
	p = fevtest_open(c->inst, "dr", FEV_PRODUCER, 0);
	/* 2 s each: a producer waiting for the stalled group would hang. */
	for (uint64_t v = 0; v < MANY; v++)
		send_u64(p, v, 2000 * FEVTEST_MS);
	pthread_join(t, NULL);
	assert_int_equal(r.bad, 0);
	assert_int_equal(atomic_load(&r.got), MANY);
	/* The ring still holds the last CAP events for the stalled group. */
	assert_int_equal(dropped_of(slow), MANY - CAP);
	assert_int_equal(recv_u64(slow, &flags), MANY - CAP);
	assert_int_equal(flags, FEV_GAP);
	assert_int_equal(recv_u64(slow, &flags), MANY - CAP + 1);
	assert_int_equal(flags, 0); /* told once */
	assert_int_equal(fev_group_stats("dr", "audit", c->inst, &gi), 0);
	assert_int_equal(gi.policy, FEV_GROUP_DROP);
	assert_int_equal(gi.dropped, MANY - CAP);
	assert_int_equal(fev_group_stats("dr", "billing", c->inst, &gi), 0);
	assert_int_equal(gi.policy, FEV_GROUP_BLOCK);
	assert_int_equal(gi.dropped, 0);
	fev_close(slow);
	fev_close(p);
	assert_int_equal(fev_topic_delete("dr", c->inst), 0);
}

/* ---- block: producers wait, and resume when the group moves ------------- */

struct sender {
	fev_queue *p;
	uint64_t n;
	_Atomic uint64_t sent;
	int rc;
};

static void *send_all(void *arg)
{
	struct sender *s = arg;

	for (uint64_t v = 0; v < s->n; v++) {
		s->rc = fev_send(s->p, &v, sizeof(v), 10000 * FEVTEST_MS);
		if (s->rc != 0)
			break;
		atomic_store(&s->sent, v + 1);
	}
	return NULL;
}

static void test_stalled_block_group_makes_producers_wait(void **state)
{
	struct fevtest_ctx *c = *state;
	struct sender s = { .n = CAP + 20 };
	fev_queue *b;
	pthread_t t;

	make_topic(c->inst, "bl");
	create_group(c->inst, "bl", "ledger", FEV_GROUP_BLOCK);
	b = member(c->inst, "bl", "ledger");
	s.p = fevtest_open(c->inst, "bl", FEV_PRODUCER, 0);
	assert_int_equal(pthread_create(&t, NULL, send_all, &s), 0);
	while (atomic_load(&s.sent) < CAP)
		usleep(1000);
	usleep(200 * 1000);
	assert_int_equal(atomic_load(&s.sent), CAP); /* waiting for us */
	for (uint64_t v = 0; v < CAP + 20; v++) {
		uint32_t flags;

		assert_int_equal(recv_u64(b, &flags), v);
		assert_int_equal(flags, 0);
	}
	pthread_join(t, NULL);
	assert_int_equal(s.rc, 0);
	assert_int_equal(atomic_load(&s.sent), CAP + 20);
	assert_int_equal(dropped_of(b), 0);
	fev_close(b);
	fev_close(s.p);
	assert_int_equal(fev_topic_delete("bl", c->inst), 0);
}

/* ---- mixed: a block group never loses; drop waits behind it ------------ */

static void test_block_group_gates_drop_until_it_released(void **state)
{
	struct fevtest_ctx *c = *state;
	fev_queue *b, *d, *p;
	uint32_t flags;

	make_topic(c->inst, "mx");
	create_group(c->inst, "mx", "orders", FEV_GROUP_BLOCK);
	create_group(c->inst, "mx", "stats", FEV_GROUP_DROP);
	b = member(c->inst, "mx", "orders");
	d = member(c->inst, "mx", "stats");
	p = fevtest_open(c->inst, "mx", FEV_PRODUCER, 0);
	for (uint64_t v = 0; v < CAP; v++)
		send_u64(p, v, 0);
	/* Both stalled: the block group owes the oldest, nothing drops. */
	assert_int_equal(fev_send(p, &(uint64_t){ CAP }, sizeof(uint64_t),
				  100 * FEVTEST_MS),
			 -ETIMEDOUT);
	assert_int_equal(dropped_of(d), 0);
	/* The block group moves by 3: the drop group loses those 3 only. */
	for (uint64_t v = 0; v < 3; v++) {
		assert_int_equal(recv_u64(b, &flags), v);
		send_u64(p, CAP + v, 0);
	}
	assert_int_equal(fev_send(p, &(uint64_t){ CAP + 3 },
				  sizeof(uint64_t), 0),
			 -EAGAIN);
	assert_int_equal(dropped_of(d), 3);
	assert_int_equal(recv_u64(d, &flags), 3);
	assert_int_equal(flags, FEV_GAP);
	/* The block group still gets every event, in order. */
	for (uint64_t v = 3; v < CAP + 3; v++) {
		assert_int_equal(recv_u64(b, &flags), v);
		assert_int_equal(flags, 0);
	}
	fev_close(b);
	fev_close(d);
	fev_close(p);
	assert_int_equal(fev_topic_delete("mx", c->inst), 0);
}

/* ---- a member holding the oldest event is not robbed of it ------------- */

static void test_member_holding_the_oldest_is_not_robbed(void **state)
{
	struct fevtest_ctx *c = *state;
	fev_queue *d, *p;
	fev_event held;
	uint64_t v;
	uint32_t flags;

	make_topic(c->inst, "hold");
	create_group(c->inst, "hold", "lossy", FEV_GROUP_DROP);
	d = member(c->inst, "hold", "lossy");
	p = fevtest_open(c->inst, "hold", FEV_PRODUCER, 0);
	for (v = 0; v < CAP; v++)
		send_u64(p, v, 0);
	assert_int_equal(fev_acquire(d, &held, 0), 0); /* holds event 0 */
	/* The producer laps onto the held slot: it waits, nothing dropped. */
	assert_int_equal(fev_send(p, &v, sizeof(v), 100 * FEVTEST_MS),
			 -ETIMEDOUT);
	assert_int_equal(dropped_of(d), 0);
	memcpy(&v, held.data, sizeof(v));
	assert_int_equal(v, 0); /* still the event we took, intact */
	assert_int_equal(fev_release(d, &held), 0);
	send_u64(p, CAP, 0); /* into the slot the member let go */
	/* The next lap finds event 1 untaken: that one is dropped. */
	send_u64(p, CAP + 1, 0);
	assert_int_equal(dropped_of(d), 1);
	assert_int_equal(recv_u64(d, &flags), 2);
	assert_int_equal(flags, FEV_GAP);
	fev_close(d);
	fev_close(p);
	assert_int_equal(fev_topic_delete("hold", c->inst), 0);
}

/* ---- a producer that dies in the middle of a drop ----------------------- */

/*
 * What a dropper leaves when it dies after taking the oldest position from
 * the drop group's cursor and before releasing it: its consumer hold record
 * names the position, its record names the group.
 */
static void die_mid_drop(struct fev__map *m, struct fev__attacher *a,
			 uint32_t gi, uint64_t pos)
{
	__atomic_store_n(&a->group, gi + 1, __ATOMIC_RELAXED);
	atomic_store(&a->cons.pos, pos);
	atomic_store(&a->cons.n, 1);
	atomic_store(&m->groups[gi].cursor.pos, pos + 1);
}

static void test_dead_dropper_is_finished_by_repair(void **state)
{
	struct fevtest_ctx *c = *state;
	fev_queue *b, *d, *p;
	struct fev__map m;
	struct fev__attacher *a = NULL;
	uint32_t flags;
	int gd;

	make_topic(c->inst, "dd");
	create_group(c->inst, "dd", "keep", FEV_GROUP_BLOCK);
	create_group(c->inst, "dd", "lose", FEV_GROUP_DROP);
	b = member(c->inst, "dd", "keep");
	d = member(c->inst, "dd", "lose");
	p = fevtest_open(c->inst, "dd", FEV_PRODUCER, 0);
	for (uint64_t v = 0; v < CAP; v++)
		send_u64(p, v, 0);
	assert_int_equal(recv_u64(b, &flags), 0); /* only "lose" owes 0 */
	assert_int_equal(fev__map_open(c->inst, "dd", true, &m), 0);
	gd = fev__group_find(&m, "lose");
	assert_true(gd >= 0);
	for (uint32_t i = 0; i < m.geo.attacher_max && a == NULL; i++)
		if (atomic_load(&m.attachers[i].state) == FEV__ATT_ACTIVE &&
		    m.attachers[i].roles == FEV_PRODUCER)
			a = &m.attachers[i];
	assert_non_null(a);
	die_mid_drop(&m, a, (uint32_t)gd, 0);
	/* Before repair the slot stays owed: the producer cannot lap it. */
	assert_int_equal(fev_send(p, &(uint64_t){ 0 }, sizeof(uint64_t), 0),
			 -EAGAIN);
	assert_int_equal(fev__repair_attacher(&m, (uint32_t)(a - m.attachers),
					      NULL),
			 0);
	assert_int_equal(m.groups[gd].dropped, 1);
	/* Finished once: a second repair of nothing changes nothing. */
	assert_int_equal(fev__grp_drop_finish(&m, (uint32_t)gd, 0), 0);
	assert_int_equal(m.groups[gd].dropped, 1);
	fev__map_close(&m);
	/* The block group lost nothing; the drop group is told. */
	for (uint64_t v = 1; v < CAP; v++)
		assert_int_equal(recv_u64(b, &flags), v);
	assert_int_equal(recv_u64(d, &flags), 1);
	assert_int_equal(flags, FEV_GAP);
	assert_int_equal(dropped_of(d), 1);
	fev_close(b);
	fev_close(d);
	fev_close(p); /* its record was retired: -ESTALE-style close */
	assert_int_equal(fev_topic_delete("dd", c->inst), 0);
}

/*
 * The last release of a slot is two steps: the group's bit (B3), then the
 * slot itself (R2).  Whoever dies between them, a dropper or a member,
 * leaves a slot every group released and nobody freed: repair frees it.
 */
static struct fev__attacher *record_of(struct fev__map *m, uint32_t roles)
{
	for (uint32_t i = 0; i < m->geo.attacher_max; i++)
		if (atomic_load(&m->attachers[i].state) == FEV__ATT_ACTIVE &&
		    m->attachers[i].roles == roles)
			return &m->attachers[i];
	fail_msg("no record with roles %u", roles);
	return NULL;
}

static void test_dead_last_releaser_slot_is_freed_by_repair(void **state)
{
	struct fevtest_ctx *c = *state;
	fev_queue *b, *d, *p;
	struct fev__map m;
	struct fev__attacher *a;
	fev_event held;
	uint32_t flags;
	int gb, gd;

	make_topic(c->inst, "lr");
	create_group(c->inst, "lr", "keep", FEV_GROUP_BLOCK);
	create_group(c->inst, "lr", "lose", FEV_GROUP_DROP);
	b = member(c->inst, "lr", "keep");
	d = member(c->inst, "lr", "lose");
	p = fevtest_open(c->inst, "lr", FEV_PRODUCER, 0);
	for (uint64_t v = 0; v < CAP; v++)
		send_u64(p, v, 0);
	assert_int_equal(fev__map_open(c->inst, "lr", true, &m), 0);
	gb = fev__group_find(&m, "keep");
	gd = fev__group_find(&m, "lose");
	/* A dropper of 0 that set the last bit and died before R2. */
	assert_int_equal(recv_u64(b, &flags), 0);
	a = record_of(&m, FEV_PRODUCER);
	__atomic_store_n(&a->group, (uint32_t)gd + 1, __ATOMIC_RELAXED);
	atomic_store(&a->cons.pos, 0);
	atomic_store(&a->cons.n, 1);
	atomic_store(&m.groups[gd].cursor.pos, 1);
	atomic_fetch_or(&m.slot_grps[0].done, 1u << gd);
	assert_int_equal(fev_send(p, &(uint64_t){ 0 }, sizeof(uint64_t), 0),
			 -EAGAIN);
	assert_int_equal(fev__repair_attacher(&m, (uint32_t)(a - m.attachers),
					      NULL),
			 0);
	fev_close(p);
	p = fevtest_open(c->inst, "lr", FEV_PRODUCER, 0);
	send_u64(p, CAP, 0); /* slot 0 was freed */
	/* A member of keep that released 1 last (B3) and died before R2. */
	assert_int_equal(recv_u64(d, &flags), 1); /* lose lets 1 go */
	assert_int_equal(fev_acquire(b, &held, 0), 0);
	assert_int_equal(held.id, 1);
	atomic_fetch_or(&m.slot_grps[1].done, 1u << gb);
	a = record_of(&m, FEV_CONSUMER); /* keep's member: opened first */
	assert_int_equal(__atomic_load_n(&a->group, __ATOMIC_RELAXED),
			 (uint32_t)gb + 1);
	assert_int_equal(fev_send(p, &(uint64_t){ 0 }, sizeof(uint64_t), 0),
			 -EAGAIN);
	assert_int_equal(fev__repair_attacher(&m, (uint32_t)(a - m.attachers),
					      NULL),
			 0);
	send_u64(p, CAP + 1, 0); /* slot 1 was freed */
	fev__map_close(&m);
	fev_close(b); /* retired by repair: only its copies go */
	fev_close(d);
	fev_close(p);
	assert_int_equal(fev_topic_delete("lr", c->inst), 0);
}

/* ---- a drop group whose only member died ------------------------------- */

struct dier {
	const char *inst;
	int n;
};

/* A member of "lose" in topic "dm" that takes n events and dies. */
static int hold_and_die(void *arg)
{
	struct dier *d = arg;
	fev_queue *q = member(d->inst, "dm", "lose");

	for (int i = 0; i < d->n; i++) {
		fev_event ev;

		if (fev_acquire(q, &ev, 0) != 0)
			return 1;
	}
	_exit(0);
}

/*
 * Its events go back on the group's redo list for another member; with
 * none alive they would stop producers for good.  The producer drops them
 * from the list as from the cursor; a member joining later skips them.
 */
static void test_drop_group_whose_member_died_does_not_stop_producers(
	void **state)
{
	struct fevtest_ctx *c = *state;
	struct dier dd = { .inst = c->inst, .n = 2 };
	struct fev__map m;
	fev_queue *d, *p;
	uint32_t flags;
	int pid;

	make_topic(c->inst, "dm");
	create_group(c->inst, "dm", "lose", FEV_GROUP_DROP);
	p = fevtest_open(c->inst, "dm", FEV_PRODUCER, 0);
	for (uint64_t v = 0; v < CAP; v++)
		send_u64(p, v, 0);
	pid = fevtest_fork(hold_and_die, &dd);
	assert_int_equal(fevtest_wait(pid, 10000), 0);
	assert_int_equal(fev__map_open(c->inst, "dm", true, &m), 0);
	for (uint32_t i = 0; i < m.geo.attacher_max; i++)
		if (atomic_load(&m.attachers[i].state) == FEV__ATT_ACTIVE &&
		    m.attachers[i].pid == pid)
			assert_int_equal(fev__repair_attacher(&m, i, NULL), 0);
	fev__map_close(&m);
	/* 0 and 1 wait on the redo list, 2 .. at the cursor: all go. */
	for (uint64_t v = CAP; v < CAP + 4; v++)
		send_u64(p, v, 0);
	d = member(c->inst, "dm", "lose");
	assert_int_equal(dropped_of(d), 4);
	assert_int_equal(recv_u64(d, &flags), 4);
	assert_int_equal(flags, FEV_GAP);
	fev_close(d);
	fev_close(p);
	assert_int_equal(fev_topic_delete("dm", c->inst), 0);
}

/* ---- producers SIGKILLed while they drop --------------------------------- */

struct killed {
	const char *inst;
	uint64_t id; /* high half of every value this child sends */
};

/* A producer that sends id << 32 | seq until it is killed. */
static int send_until_killed(void *arg)
{
	struct killed *k = arg;
	fev_queue *p = fevtest_open(k->inst, "kd", FEV_PRODUCER, 0);

	for (uint64_t seq = 0;; seq++) {
		uint64_t v = k->id << 32 | seq;

		if (fev_send(p, &v, sizeof(v), 10000 * FEVTEST_MS) != 0)
			return 1;
	}
}

/* Read what the block group has now: each producer's values in order. */
static void drain(fev_queue *keep, uint64_t *next, uint64_t *got)
{
	fev_meta meta;
	uint64_t v;

	while (fev_recv(keep, &v, sizeof(v), &meta, 0) == sizeof(v)) {
		uint64_t id = v >> 32;

		assert_true(id < 64);
		if ((v & UINT32_MAX) < next[id])
			fail_msg("producer %llu: %llu after %llu",
				 (unsigned long long)id,
				 (unsigned long long)(v & UINT32_MAX),
				 (unsigned long long)next[id]);
		next[id] = (v & UINT32_MAX) + 1;
		(*got)++;
	}
}

/* Repair the dead child's record, as fevd would. */
static void repair_pid(const char *inst, int pid)
{
	struct fev__map m;

	assert_int_equal(fev__map_open(inst, "kd", true, &m), 0);
	for (uint32_t i = 0; i < m.geo.attacher_max; i++)
		if (atomic_load(&m.attachers[i].state) == FEV__ATT_ACTIVE &&
		    m.attachers[i].pid == pid)
			assert_int_equal(fev__repair_attacher(&m, i, NULL), 0);
	fev__map_close(&m);
}

/*
 * Every send of these producers drops (the drop group is stopped), so a
 * kill often lands between a drop's take and its release: repair must
 * finish it, or the ring stays full for good.  The block group reads
 * each producer's events in order throughout; afterwards a producer
 * still gets a lap and more in.  FEVTEST_DROP_KILLS sets the count (20).
 */
static void test_producers_killed_while_dropping_leave_nothing_stuck(
	void **state)
{
	struct fevtest_ctx *c = *state;
	const char *env = getenv("FEVTEST_DROP_KILLS");
	int kills = env != NULL ? atoi(env) : 20;
	uint64_t next[64] = { 0 }, got = 0, before;
	fev_queue *keep, *lose, *p;

	make_topic(c->inst, "kd");
	create_group(c->inst, "kd", "keep", FEV_GROUP_BLOCK);
	create_group(c->inst, "kd", "lose", FEV_GROUP_DROP);
	keep = member(c->inst, "kd", "keep");
	lose = member(c->inst, "kd", "lose"); /* stopped: never reads */
	srand((unsigned)getpid());
	for (int i = 0; i < kills && i < 63; i++) {
		struct killed k = { .inst = c->inst, .id = (uint64_t)i };
		int pid = fevtest_fork(send_until_killed, &k);
		uint64_t until = fevtest_now_ns() +
				 (uint64_t)(5 + rand() % 15) * FEVTEST_MS;

		while (fevtest_now_ns() < until)
			drain(keep, next, &got);
		kill(pid, SIGKILL);
		assert_int_equal(fevtest_wait(pid, 10000), 128 + SIGKILL);
		repair_pid(c->inst, pid);
	}
	drain(keep, next, &got);
	before = got;
	assert_true(before > 0); /* the killed ones sent, and dropped */
	/* Nothing stuck: a lap and more still goes in, and is read. */
	p = fevtest_open(c->inst, "kd", FEV_PRODUCER, 0);
	for (uint64_t seq = 0; seq < 2 * CAP; seq++) {
		uint64_t v = UINT64_C(63) << 32 | seq;

		assert_int_equal(fev_send(p, &v, sizeof(v), 2000 * FEVTEST_MS),
				 0);
		drain(keep, next, &got);
	}
	assert_int_equal(next[63], 2 * CAP);
	assert_int_equal(got - before, 2 * CAP);
	assert_true(dropped_of(lose) > 0);
	fev_close(p);
	fev_close(keep);
	fev_close(lose);
	assert_int_equal(fev_topic_delete("kd", c->inst), 0);
}

/* ---- the API's errors ---------------------------------------------------- */

static void test_policy_errors(void **state)
{
	struct fevtest_ctx *c = *state;
	fev_group_config bad = { .struct_size = sizeof(bad), .policy = 7 };
	fev_group_config old = { .struct_size = offsetof(fev_group_config,
							  policy) };
	fev_group_info gi = { .struct_size = sizeof(gi) };
	fev_queue *p;
	uint64_t n;

	make_topic(c->inst, "pe");
	assert_int_equal(fev_group_create("pe", "x", &bad, c->inst), -EINVAL);
	/* A caller built before policy existed gets block. */
	assert_int_equal(fev_group_create("pe", "old", &old, c->inst), 0);
	assert_int_equal(fev_group_stats("pe", "old", c->inst, &gi), 0);
	assert_int_equal(gi.policy, FEV_GROUP_BLOCK);
	assert_int_equal(fev_group_stats("pe", "nope", c->inst, &gi),
			 -ENOENT);
	gi.struct_size = 8;
	assert_int_equal(fev_group_stats("pe", "old", c->inst, &gi), -EINVAL);
	p = fevtest_open(c->inst, "pe", FEV_PRODUCER, 0);
	assert_int_equal(fev_group_dropped(p, &n), -EINVAL); /* no member */
	fev_close(p);
	assert_int_equal(fev_topic_delete("pe", c->inst), 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, fevtest_teardown)
	const struct CMUnitTest tests[] = {
		T(test_stalled_drop_group_loses_its_oldest_and_is_told),
		T(test_stalled_block_group_makes_producers_wait),
		T(test_block_group_gates_drop_until_it_released),
		T(test_member_holding_the_oldest_is_not_robbed),
		T(test_dead_dropper_is_finished_by_repair),
		T(test_dead_last_releaser_slot_is_freed_by_repair),
		T(test_drop_group_whose_member_died_does_not_stop_producers),
		T(test_producers_killed_while_dropping_leave_nothing_stuck),
		T(test_policy_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
