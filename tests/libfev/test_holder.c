/*
 * Held positions and what repair does around them, through the API: a
 * handle's hold record names exactly what it holds (so a dead peer's position
 * next to a live handle's is repaired), commit and release of a position
 * the handle does not hold are -EINVAL, and a commit or release that
 * arrives after repair took the position is -ESTALE and leaves the ring
 * consistent.  Repair is called directly, as fevd would call it; dead
 * peers are forked children killed by SIGKILL.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fevtest.h"
#include "holder.h"
#include "repair.h"
#include "segment.h"

#define CAPACITY 128u
#define WIDE 70u /* more than the 64 positions the old window tracked */
#define LONG_RUN (3 * CAPACITY + 17) /* several laps of the ring */

struct ctx {
	char inst[FEV_INSTANCE_MAX + 1];
	struct fev__map map; /* writable, as fevd maps it */
};

static int setup(void **state)
{
	static struct ctx c;

	memset(&c, 0, sizeof(c));
	fevtest_instance(c.inst);
	*state = &c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	fevtest_kill_children();
	fevtest_cleanup(c->inst);
	fevtest_assert_no_leftovers(c->inst);
	return 0;
}

static void create(struct ctx *c, uint32_t capacity)
{
	fevtest_create(c->inst, "q", capacity, 8, FEV_POLICY_BLOCK);
	assert_int_equal(fev__map_open(c->inst, "q", true, &c->map), 0);
}

static void destroy(struct ctx *c)
{
	fev__map_close(&c->map);
	assert_int_equal(fev_queue_delete("q", c->inst), 0);
}

static fev_queue *open_q(struct ctx *c, unsigned roles)
{
	return fevtest_open(c->inst, "q", roles, 0);
}

static void put(fev_claim *cl, uint64_t v)
{
	memcpy(cl->data, &v, sizeof(v));
}

static uint64_t value(const fev_event *ev)
{
	uint64_t v;

	assert_int_equal(ev->len, sizeof(v));
	memcpy(&v, ev->data, sizeof(v));
	return v;
}

/* ---- records ----------------------------------------------------------- */

/* The active record whose producer (or consumer) hold record starts at pos. */
static uint32_t record_holding(struct ctx *c, bool producer, uint64_t pos)
{
	for (uint32_t i = 0; i < c->map.geo.attacher_max; i++) {
		struct fev__attacher *a = &c->map.attachers[i];
		struct fev__holdrec *cl = producer ? &a->prod : &a->cons;

		if (atomic_load(&a->state) == FEV__ATT_ACTIVE &&
		    atomic_load(&cl->n) != 0 && atomic_load(&cl->pos) == pos)
			return i;
	}
	fail_msg("no record holds position %llu", (unsigned long long)pos);
	return 0;
}

static uint32_t dead_record(struct ctx *c)
{
	for (uint32_t i = 0; i < c->map.geo.attacher_max; i++) {
		struct fev__attacher *a = &c->map.attachers[i];

		if (atomic_load(&a->state) == FEV__ATT_ACTIVE &&
		    !fev__attacher_alive(a))
			return i;
	}
	fail_msg("no dead attacher record");
	return 0;
}

static struct fev__holdrec *holdrec_of(struct ctx *c, uint32_t idx,
				       bool producer)
{
	struct fev__attacher *a = &c->map.attachers[idx];

	return producer ? &a->prod : &a->cons;
}

/* The hold record names exactly [lo, lo + n). */
static void assert_holdrec(struct ctx *c, uint32_t idx, bool producer,
			 uint64_t lo, uint32_t n)
{
	struct fev__holdrec *cl = holdrec_of(c, idx, producer);

	assert_int_equal(atomic_load(&cl->n), n);
	if (n != 0)
		assert_int_equal(atomic_load(&cl->pos), lo);
}

/* ---- dead peers -------------------------------------------------------- */

struct peer {
	struct ctx *c;
	bool producer;
};

/* A child takes one position (reserve or acquire) and dies holding it. */
static int peer_dies_holding(void *arg)
{
	struct peer *p = arg;
	fev_queue *q;
	fev_claim cl;
	fev_event ev;

	if (fev_open("q", p->producer ? FEV_PRODUCER : FEV_CONSUMER,
		     &(fev_open_opts){ .struct_size = sizeof(fev_open_opts),
				       .instance = p->c->inst },
		     &q) < 0)
		return 2;
	if (p->producer ? fev_reserve(q, 8, &cl, 0) < 0 :
			  fev_acquire(q, &ev, 0) < 0)
		return 3;
	raise(SIGKILL);
	return 4;
}

static void peer_dies(struct ctx *c, bool producer)
{
	struct peer p = { c, producer };

	assert_int_equal(fevtest_wait(fevtest_fork(peer_dies_holding, &p),
				      10000),
			 128 + SIGKILL);
}

/* ---- the double-buffering run ------------------------------------------ */

struct run {
	struct ctx *c;
	fev_queue *p, *cons;
	uint32_t p_rec, c_rec;
	fev_claim held;   /* the producer's reservation not yet committed */
	fev_event kept;   /* the event the consumer keeps */
	uint64_t next;    /* the producer's next value */
	uint64_t seen[LONG_RUN + CAPACITY];
	uint64_t last;    /* the last unflagged value seen, + 1 */
	uint64_t flagged; /* how many came flagged FEV_REDELIVERED */
	uint64_t flagged_value;
};

/* Reserve the next slot, then commit the previous one. */
static void produce_step(struct run *r)
{
	fev_claim next;

	assert_int_equal(fev_reserve(r->p, 8, &next, 1000 * FEVTEST_MS), 0);
	put(&next, r->next++);
	assert_int_equal(fev_commit(r->p, &r->held, 8), 0);
	r->held = next;
	/* The hold record names the one reservation held, nothing below it. */
	assert_holdrec(r->c, r->p_rec, true, r->held.priv_pos, 1);
}

static void note(struct run *r, const fev_event *ev)
{
	uint64_t v = value(ev);

	assert_true(v < LONG_RUN + CAPACITY);
	r->seen[v]++;
	if (ev->flags & FEV_REDELIVERED) {
		r->flagged++;
		r->flagged_value = v;
	} else {
		assert_true(v >= r->last); /* FIFO apart from redeliveries */
		r->last = v + 1;
	}
}

/* Acquire the next event, then release the one kept; false when empty. */
static bool consume_step(struct run *r)
{
	fev_event ev;
	int rc = fev_acquire(r->cons, &ev, 0);

	if (rc == -EAGAIN)
		return false;
	assert_int_equal(rc, 0);
	note(r, &ev);
	assert_int_equal(fev_release(r->cons, &r->kept), 0);
	r->kept = ev;
	assert_holdrec(r->c, r->c_rec, false, r->kept.priv_pos, 1);
	return true;
}

/*
 * A producer that goes wide (70 reservations at once) and then always
 * reserves the next slot before committing the previous one, and a
 * consumer that goes wide and then always acquires the next event before
 * releasing the last: a dead producer's and a dead consumer's positions
 * fall inside what they once spanned.  Both are repaired at once (nothing
 * pending), and the run goes on for several laps without a stall.
 */
static void test_double_buffering_handles_let_dead_peers_be_repaired(
	void **state)
{
	struct ctx *c = *state;
	struct run *r = calloc(1, sizeof(*r));
	fev_claim wide[WIDE];
	fev_event got[WIDE];
	size_t lens[WIDE];
	struct fev__repair_result res = { 0 };

	assert_non_null(r);
	create(c, CAPACITY);
	r->c = c;
	r->p = open_q(c, FEV_PRODUCER);
	r->cons = open_q(c, FEV_CONSUMER);

	/* The producer goes wide, commits all but its last reservation. */
	assert_int_equal(fev_reserve_batch(r->p, wide, WIDE, 0), WIDE);
	r->p_rec = record_holding(c, true, 0);
	for (uint32_t i = 0; i < WIDE; i++) {
		put(&wide[i], r->next++);
		lens[i] = 8;
	}
	assert_int_equal(fev_commit_batch(r->p, wide, lens, WIDE - 1),
			 WIDE - 1);
	r->held = wide[WIDE - 1];
	assert_holdrec(c, r->p_rec, true, WIDE - 1, 1);

	/* A producer dies holding position WIDE; ours double-buffers past
	 * it, so its hold record no longer names it: tombstoned at once. */
	peer_dies(c, true);
	produce_step(r);
	assert_int_equal(fev__repair_attacher(&c->map, dead_record(c), &res),
			 0);
	assert_int_equal(res.tombstoned, 1);
	assert_int_equal(res.pending, 0);
	for (int i = 0; i < 8; i++)
		produce_step(r);

	/* The consumer goes wide, keeps the last of its batch. */
	assert_int_equal(fev_acquire_batch(r->cons, got, WIDE, 0), WIDE);
	r->c_rec = record_holding(c, false, 0);
	for (uint32_t i = 0; i < WIDE; i++)
		note(r, &got[i]);
	assert_int_equal(fev_release_batch(r->cons, got, WIDE - 1), WIDE - 1);
	r->kept = got[WIDE - 1];
	assert_holdrec(c, r->c_rec, false, WIDE - 1, 1);

	/* A consumer dies holding the next event (the tombstone is skipped
	 * on the way); ours acquires past it: redelivered at once. */
	peer_dies(c, false);
	assert_true(consume_step(r));
	memset(&res, 0, sizeof(res));
	assert_int_equal(fev__repair_attacher(&c->map, dead_record(c), &res),
			 0);
	assert_int_equal(res.redelivered, 1);
	assert_int_equal(res.pending, 0);

	/* Several laps: one producer step, then drain what is there. */
	while (r->next < LONG_RUN) {
		produce_step(r);
		while (consume_step(r))
			;
	}
	assert_int_equal(fev_commit(r->p, &r->held, 8), 0);
	assert_holdrec(c, r->p_rec, true, 0, 0);
	while (consume_step(r))
		;
	assert_int_equal(fev_release(r->cons, &r->kept), 0);
	assert_holdrec(c, r->c_rec, false, 0, 0);
	/* Every value arrived once; the dead consumer's flagged. */
	for (uint64_t v = 0; v < r->next; v++)
		if (r->seen[v] != 1)
			fail_msg("value %llu seen %llu times",
				 (unsigned long long)v,
				 (unsigned long long)r->seen[v]);
	assert_int_equal(r->flagged, 1);
	assert_int_equal(r->flagged_value, WIDE);
	fev_close(r->p);
	fev_close(r->cons);
	destroy(c);
	free(r);
}

/* ---- positions not held ------------------------------------------------ */

/*
 * Another handle's reservation inside our wide hold record, one past its end,
 * or one we already committed: not ours, -EINVAL, and nothing is published.
 */
static void test_commit_of_a_position_not_held_is_einval_in_every_mode(
	void **state)
{
	struct ctx *c = *state;
	fev_queue *a = NULL, *b = NULL, *cons;
	fev_claim first, other, wide[WIDE], forged;
	fev_event ev;
	size_t lens[WIDE];

	create(c, CAPACITY);
	a = open_q(c, FEV_PRODUCER);
	b = open_q(c, FEV_PRODUCER);
	cons = open_q(c, FEV_CONSUMER);
	assert_int_equal(fev_reserve(a, 8, &first, 0), 0);  /* 0 */
	assert_int_equal(fev_reserve(b, 8, &other, 0), 0);  /* 1 */
	assert_int_equal(fev_reserve_batch(a, wide, WIDE, 0), WIDE);
	assert_int_equal(other.priv_pos, 1);
	for (uint32_t i = 0; i < WIDE; i++)
		lens[i] = 8;

	/* b's position lies inside a's span [0, 72). */
	assert_int_equal(fev_commit(a, &other, 8), -EINVAL);
	assert_int_equal(fev_commit_batch(a, &other, lens, 1), -EINVAL);
	forged = wide[WIDE - 1];
	forged.priv_pos++; /* one past the end of the wide hold record */
	assert_int_equal(fev_commit(a, &forged, 8), -EINVAL);
	assert_int_equal(fev_acquire(cons, &ev, 0), -EAGAIN);

	put(&first, 100);
	assert_int_equal(fev_commit(a, &first, 8), 0);
	assert_int_equal(fev_commit(a, &first, 8), -EINVAL); /* twice */
	put(&other, 101);
	assert_int_equal(fev_commit(b, &other, 8), 0);
	for (uint32_t i = 0; i < WIDE; i++)
		put(&wide[i], 102 + i);
	assert_int_equal(fev_commit_batch(a, wide, lens, WIDE), WIDE);
	for (uint64_t v = 100; v < 102 + WIDE; v++) {
		assert_int_equal(fev_acquire(cons, &ev, 0), 0);
		assert_int_equal(value(&ev), v);
		assert_int_equal(fev_release(cons, &ev), 0);
	}
	fev_close(a);
	fev_close(b);
	fev_close(cons);
	destroy(c);
}

static void test_release_of_a_position_not_held_is_einval_in_every_mode(
	void **state)
{
	struct ctx *c = *state;
	fev_queue *prod, *a, *b;
	fev_event first, other, wide[WIDE], forged;
	uint64_t v = 7;

	create(c, CAPACITY);
	prod = open_q(c, FEV_PRODUCER);
	a = open_q(c, FEV_CONSUMER);
	b = open_q(c, FEV_CONSUMER);
	for (uint32_t i = 0; i < WIDE + 3; i++)
		assert_int_equal(fev_send(prod, &v, sizeof(v), 0), 0);
	assert_int_equal(fev_acquire(a, &first, 0), 0);  /* 0 */
	assert_int_equal(fev_acquire(b, &other, 0), 0);  /* 1 */
	assert_int_equal(fev_acquire_batch(a, wide, WIDE, 0), WIDE);

	/* b's event lies inside a's span [0, 72). */
	assert_int_equal(fev_release(a, &other), -EINVAL);
	assert_int_equal(fev_release_batch(a, &other, 1), -EINVAL);
	forged = wide[WIDE - 1];
	forged.priv_pos++; /* one past the end: committed, but b's to take */
	assert_int_equal(fev_release(a, &forged), -EINVAL);

	assert_int_equal(fev_release(a, &first), 0);
	assert_int_equal(fev_release(a, &first), -EINVAL); /* twice */
	assert_int_equal(fev_release(b, &other), 0);
	assert_int_equal(fev_release_batch(a, wide, WIDE), WIDE);
	/* The event one past the end is still there for whoever takes it. */
	assert_int_equal(fev_acquire(b, &other, 0), 0);
	assert_int_equal(other.id, forged.priv_pos);
	assert_int_equal(fev_release(b, &other), 0);
	fev_close(prod);
	fev_close(a);
	fev_close(b);
	destroy(c);
}

/* ---- late commits ------------------------------------------------------ */

static uint64_t tombstoned_total(struct ctx *c)
{
	return atomic_load(&c->map.seg->state_line.tombstoned);
}

static void send_value(fev_queue *q, uint64_t v)
{
	assert_int_equal(fev_send(q, &v, sizeof(v), 0), 0);
}

static void recv_expect(fev_queue *q, uint64_t v)
{
	fev_event ev;

	assert_int_equal(fev_acquire(q, &ev, 0), 0);
	assert_int_equal(value(&ev), v);
	assert_int_equal(ev.flags, 0);
	assert_int_equal(fev_release(q, &ev), 0);
}

/*
 * Repair takes a live handle's reservation as if its process had died (as
 * a wrong liveness verdict would): the late commit is -ESTALE and publishes
 * nothing, whether the tombstone is still there or its slot was reused by
 * the next lap; consumers skip the tombstone and see the rest in order.
 */
static void test_commit_after_repair_tombstoned_the_slot_is_estale(
	void **state)
{
	struct ctx *c = *state;
	fev_queue *late, *other, *cons;
	fev_claim cl;
	fev_event ev;
	struct fev__repair_result res = { 0 };

	create(c, 4);
	other = open_q(c, FEV_PRODUCER);
	cons = open_q(c, FEV_CONSUMER);

	/* Tombstoned, slot not reused yet. */
	late = open_q(c, FEV_PRODUCER);
	assert_int_equal(fev_reserve(late, 8, &cl, 0), 0); /* 0 */
	put(&cl, 99);
	send_value(other, 1);
	assert_int_equal(fev__repair_attacher(&c->map,
					      record_holding(c, true, 0),
					      &res),
			 0);
	assert_int_equal(res.tombstoned, 1);
	assert_int_equal(fev_commit(late, &cl, 8), -ESTALE);
	assert_int_equal(tombstoned_total(c), 1);
	recv_expect(cons, 1);
	assert_int_equal(fev_acquire(cons, &ev, 0), -EAGAIN);
	fev_close(late);

	/* Tombstoned, then its slot reused by the next lap. */
	late = open_q(c, FEV_PRODUCER);
	assert_int_equal(fev_reserve(late, 8, &cl, 0), 0); /* 2 */
	assert_int_equal(cl.priv_pos, 2);
	/* Written before repair: a zero-copy writer that writes after it
	 * lost the slot writes into the next lap, which no check can stop. */
	put(&cl, 99);
	assert_int_equal(fev__repair_attacher(&c->map,
					      record_holding(c, true, 2),
					      NULL),
			 0);
	send_value(other, 3);
	send_value(other, 4);
	send_value(other, 5);
	recv_expect(cons, 3);
	send_value(other, 6); /* position 6: the tombstone's slot */
	assert_int_equal(fev_commit(late, &cl, 8), -ESTALE);
	recv_expect(cons, 4);
	recv_expect(cons, 5);
	recv_expect(cons, 6);
	send_value(other, 7);
	recv_expect(cons, 7);
	assert_int_equal(fev_acquire(cons, &ev, 0), -EAGAIN);
	fev_close(late);

	fev_close(other);
	fev_close(cons);
	destroy(c);
}

/*
 * A zero-copy batch repaired before its commit: none of it is published,
 * and the handle whose record repair retired refuses further work.
 */
static void test_commit_batch_after_repair_is_estale_and_publishes_nothing(
	void **state)
{
	struct ctx *c = *state;
	fev_queue *late, *other, *cons, *newer;
	fev_claim cl[3];
	size_t lens[3] = { 8, 8, 8 };
	fev_event ev;
	uint32_t idx, late_idx;

	create(c, 8);
	other = open_q(c, FEV_PRODUCER);
	cons = open_q(c, FEV_CONSUMER);
	late = open_q(c, FEV_PRODUCER);
	assert_int_equal(fev_reserve_batch(late, cl, 3, 0), 3);
	for (int i = 0; i < 3; i++)
		put(&cl[i], 90 + (uint64_t)i);
	send_value(other, 3);
	late_idx = record_holding(c, true, 0);
	assert_int_equal(fev__repair_attacher(&c->map, late_idx, NULL), 0);
	assert_int_equal(fev_commit_batch(late, cl, lens, 3), -ESTALE);
	assert_int_equal(tombstoned_total(c), 3);
	recv_expect(cons, 3);
	assert_int_equal(fev_acquire(cons, &ev, 0), -EAGAIN);

	/* Its record was retired and may serve another handle now: the
	 * orphaned handle refuses work and its close leaves the record be. */
	assert_int_equal(fev_send(late, &ev, 0, 0), -ESTALE);
	newer = open_q(c, FEV_PRODUCER);
	assert_int_equal(fev_reserve(newer, 8, &cl[0], 0), 0);
	idx = record_holding(c, true, cl[0].priv_pos);
	assert_int_equal(idx, late_idx); /* the first free record */
	fev_close(late);
	assert_int_equal(atomic_load(&c->map.attachers[idx].state),
			 FEV__ATT_ACTIVE);
	assert_int_equal(atomic_load(&c->map.attachers[idx].prod.n), 1);
	put(&cl[0], 4);
	assert_int_equal(fev_commit(newer, &cl[0], 8), 0);
	recv_expect(cons, 4);
	fev_close(newer);
	fev_close(other);
	fev_close(cons);
	destroy(c);
}

/*
 * Repair delivers again the event a live consumer holds (as if it had
 * died): that consumer's late release is -ESTALE and leaves the slot to
 * the redelivered copy's lap; another consumer gets the copy, flagged.
 */
static void test_release_after_repair_redelivered_the_event_is_estale(
	void **state)
{
	struct ctx *c = *state;
	fev_queue *prod, *late, *cons;
	fev_event held, ev;

	create(c, 4);
	prod = open_q(c, FEV_PRODUCER);
	cons = open_q(c, FEV_CONSUMER);
	late = open_q(c, FEV_CONSUMER);
	send_value(prod, 1);
	assert_int_equal(fev_acquire(late, &held, 0), 0);
	assert_int_equal(fev__repair_attacher(&c->map,
					      record_holding(c, false, 0),
					      NULL),
			 0);
	send_value(prod, 2);
	send_value(prod, 3);
	send_value(prod, 4); /* position 4: the held event's slot */
	assert_int_equal(fev_release(late, &held), -ESTALE);
	assert_int_equal(fev_acquire(cons, &ev, 0), 0);
	assert_int_equal(value(&ev), 1);
	assert_int_equal(ev.flags, FEV_REDELIVERED);
	assert_int_equal(fev_release(cons, &ev), 0);
	recv_expect(cons, 2);
	recv_expect(cons, 3);
	recv_expect(cons, 4);
	assert_int_equal(fev_acquire(cons, &ev, 0), -EAGAIN);
	fev_close(late);
	fev_close(prod);
	fev_close(cons);
	destroy(c);
}

static void test_estale_has_a_sentence_that_says_what_to_do(void **state)
{
	(void)state;
	assert_non_null(strstr(fev_strerror(-ESTALE), "repaired"));
	assert_non_null(strstr(fev_strerror(-ESTALE), "again"));
}

/* The hold record's range [lo, hi), as repair reads it. */
static void assert_names(const struct fev__holdrec *rec, uint64_t lo,
			 uint64_t hi)
{
	assert_int_equal(atomic_load(&rec->pos), lo);
	assert_int_equal(atomic_load(&rec->n), hi - lo);
}

/*
 * A consumer group hands a member a redelivered position below what it
 * holds, even windows of 64 below: the holder keeps its runs in order and
 * the hold record names it from the intent on (else a member dying with it
 * takes it out of every repair).
 */
static void test_a_position_taken_below_the_held_ones_is_named(void **state)
{
	struct fev__holdrec rec = { 0 };
	struct fev__holder h = { .rec = &rec };

	(void)state;
	assert_int_equal(fev__holder_make_room(&h, 64), 0);
	fev__holder_intent(&h, 200, 4);
	fev__holder_took(&h, 200, 4); /* 200..203, from the cursor */
	assert_names(&rec, 200, 204);
	fev__holder_intent(&h, 5, 1); /* a redelivery three windows below */
	assert_names(&rec, 5, 204);
	fev__holder_took(&h, 5, 1);
	fev__holder_intent(&h, 130, 1); /* one between them */
	assert_names(&rec, 5, 204);
	fev__holder_took(&h, 130, 1);
	assert_int_equal(h.held, 6);
	assert_true(fev__holder_holds(&h, 5));
	assert_true(fev__holder_holds(&h, 130));
	assert_true(fev__holder_holds(&h, 203));
	assert_false(fev__holder_holds(&h, 6));
	fev__holder_done(&h, 200, 4);
	assert_names(&rec, 5, 131);
	fev__holder_done(&h, 5, 1);
	assert_names(&rec, 130, 131);
	fev__holder_done(&h, 130, 1);
	assert_int_equal(atomic_load(&rec.n), 0);
	assert_int_equal(h.held, 0);
	fev__holder_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_double_buffering_handles_let_dead_peers_be_repaired,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_commit_of_a_position_not_held_is_einval_in_every_mode,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_release_of_a_position_not_held_is_einval_in_every_mode,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_commit_after_repair_tombstoned_the_slot_is_estale,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_commit_batch_after_repair_is_estale_and_publishes_nothing,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_release_after_repair_redelivered_the_event_is_estale,
			setup, teardown),
		cmocka_unit_test(
			test_estale_has_a_sentence_that_says_what_to_do),
		cmocka_unit_test(
			test_a_position_taken_below_the_held_ones_is_named),
	};

	alarm(120); /* a stall fails instead of hanging */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
