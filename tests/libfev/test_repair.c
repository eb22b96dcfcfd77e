/*
 * Crash repair, made deterministic: a forked child takes positions and
 * dies at a chosen point; the test then calls the repair the supervisor
 * would call and checks what consumers and producers see next.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "fev/fev.h"
#include "fevtest.h"
#include "repair.h"
#include "segment.h"

struct fixture {
	char instance[FEV_INSTANCE_MAX + 1];
	fev_open_opts opts;
	fev_queue *q; /* producer + consumer, alive */
	struct fev__map map;
};

static int setup_capacity(void **state, uint32_t capacity)
{
	struct fixture *f = calloc(1, sizeof(*f));
	fev_queue_config cfg = { .struct_size = sizeof(cfg),
				 .capacity = capacity, .max_event = 64 };

	fevtest_instance(f->instance);
	f->opts = (fev_open_opts){ .struct_size = sizeof(f->opts),
				   .instance = f->instance };
	if (fev_queue_create("q", &cfg, f->instance) < 0 ||
	    fev_open("q", FEV_PRODUCER | FEV_CONSUMER, &f->opts, &f->q) < 0 ||
	    fev__map_open(f->instance, "q", true, &f->map) < 0)
		return -1;
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_capacity(state, 8);
}

static int setup_tiny(void **state)
{
	return setup_capacity(state, 4);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fev__map_close(&f->map);
	fev_close(f->q);
	fev_queue_delete("q", f->instance);
	free(f);
	return 0;
}

enum death {
	DIE_AFTER_RESERVE,
	DIE_AFTER_ACQUIRE,
	DIE_AFTER_ACQUIRE_BATCH,
	DIE_AFTER_COMMITTING_THE_MIDDLE, /* reserve 3, commit the second */
};

/* Fork a child that attaches, does one thing, and dies by SIGKILL. */
static void child_dies(struct fixture *f, enum death how)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		fev_queue *q;
		fev_claim c;
		fev_event ev[4];
		fev_claim three[3];

		if (fev_open("q", FEV_PRODUCER | FEV_CONSUMER, &f->opts, &q) < 0)
			_exit(2);
		if (how == DIE_AFTER_RESERVE && fev_reserve(q, 8, &c, 0) < 0)
			_exit(3);
		if (how == DIE_AFTER_ACQUIRE && fev_acquire(q, ev, 0) < 0)
			_exit(4);
		if (how == DIE_AFTER_COMMITTING_THE_MIDDLE &&
		    (fev_reserve_batch(q, three, 3, 0) != 3 ||
		     fev_commit(q, &three[1], 0) < 0))
			_exit(7);
		if (how == DIE_AFTER_ACQUIRE_BATCH &&
		    fev_acquire_batch(q, ev, 4, 0) < 2)
			_exit(5);
		raise(SIGKILL);
		_exit(6);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
}

/* The one record that belongs to a dead process. */
static uint32_t dead_record(struct fixture *f)
{
	for (uint32_t i = 0; i < f->map.geo.attacher_max; i++) {
		struct fev__attacher *a = &f->map.attachers[i];

		if (atomic_load(&a->state) == FEV__ATT_ACTIVE &&
		    !fev__attacher_alive(a))
			return i;
	}
	fail_msg("no dead attacher record");
	return 0;
}

static void repair_all_dead_or_closed(struct fixture *f,
				      struct fev__repair_result *r)
{
	for (uint32_t i = 0; i < f->map.geo.attacher_max; i++)
		if (atomic_load(&f->map.attachers[i].state) ==
		    FEV__ATT_REPAIRING)
			assert_int_equal(
				fev__repair_attacher(&f->map, i, r), 0);
}

static void repair_all_dead(struct fixture *f, struct fev__repair_result *r)
{
	assert_int_equal(fev__repair_attacher(&f->map, dead_record(f), r), 0);
}

static void test_acquire_skips_tombstone_left_by_dead_producer(void **state)
{
	struct fixture *f = *state;
	struct fev__repair_result r = { 0 };
	char buf[64];
	fev_meta m;
	fev_stats st;

	child_dies(f, DIE_AFTER_RESERVE);
	assert_int_equal(fev_send(f->q, "after", 5, 0), 0);
	/* The dead producer's position blocks everything behind it... */
	assert_int_equal(fev_recv(f->q, buf, sizeof(buf), &m, 0), -EAGAIN);
	repair_all_dead(f, &r);
	assert_int_equal(r.tombstoned, 1);
	/* ...until it becomes a tombstone that consumers skip. */
	assert_int_equal(fev_recv(f->q, buf, sizeof(buf), &m, 0), 5);
	assert_memory_equal(buf, "after", 5);
	assert_int_equal(m.flags, 0);
	assert_int_equal(fev_queue_stats("q", f->instance, &st), 0);
	assert_int_equal(st.tombstoned, 1);
	assert_int_equal(st.producers, 1);
}

static void test_event_held_by_dead_consumer_is_redelivered_flagged(
	void **state)
{
	struct fixture *f = *state;
	struct fev__repair_result r = { 0 };
	char buf[64];
	fev_meta m;

	assert_int_equal(fev_send(f->q, "one", 3, 0), 0);
	assert_int_equal(fev_send(f->q, "two", 3, 0), 0);
	child_dies(f, DIE_AFTER_ACQUIRE); /* took "one" */
	repair_all_dead(f, &r);
	assert_int_equal(r.redelivered, 1);
	assert_int_equal(fev_recv(f->q, buf, sizeof(buf), &m, 0), 3);
	assert_memory_equal(buf, "two", 3);
	assert_int_equal(m.flags, 0);
	assert_int_equal(fev_recv(f->q, buf, sizeof(buf), &m, 0), 3);
	assert_memory_equal(buf, "one", 3);
	assert_int_equal(m.flags, FEV_REDELIVERED);
	assert_int_equal(fev_recv(f->q, buf, sizeof(buf), &m, 0), -EAGAIN);
}

static void test_batch_held_by_dead_consumer_is_redelivered_whole(
	void **state)
{
	struct fixture *f = *state;
	struct fev__repair_result r = { 0 };
	char buf[64];
	int seen = 0;

	for (int i = 0; i < 3; i++)
		assert_int_equal(fev_send(f->q, &i, sizeof(i), 0), 0);
	child_dies(f, DIE_AFTER_ACQUIRE_BATCH);
	repair_all_dead(f, &r);
	assert_int_equal(r.redelivered, 3);
	for (int i = 0; i < 3; i++) {
		fev_meta m;

		assert_int_equal(fev_recv(f->q, buf, sizeof(buf), &m, 0), 4);
		assert_int_equal(m.flags, FEV_REDELIVERED);
		seen |= 1 << *(int *)buf;
	}
	assert_int_equal(seen, 7);
}

/* Full ring, the dead consumer's slot is exactly the producers' next one. */
static void test_full_ring_redelivers_in_place_and_unblocks_producers(
	void **state)
{
	struct fixture *f = *state;
	struct fev__repair_result r = { 0 };
	char buf[64];
	fev_meta m;

	for (int i = 0; i < 4; i++)
		assert_int_equal(fev_send(f->q, &i, sizeof(i), 0), 0);
	child_dies(f, DIE_AFTER_ACQUIRE); /* holds event 0 */
	assert_int_equal(fev_recv(f->q, buf, sizeof(buf), &m, 0), 4);
	assert_int_equal(*(int *)buf, 1); /* tail moves on... */
	/* ...but head's next slot is the one the dead consumer holds. */
	assert_int_equal(fev_send(f->q, "x", 1, 0), -EAGAIN);
	repair_all_dead(f, &r);
	assert_int_equal(r.redelivered, 1);
	for (int want = 2; want < 4; want++) {
		assert_int_equal(fev_recv(f->q, buf, sizeof(buf), &m, 0), 4);
		assert_int_equal(*(int *)buf, want);
		assert_int_equal(m.flags, 0);
	}
	assert_int_equal(fev_recv(f->q, buf, sizeof(buf), &m, 0), 4);
	assert_int_equal(*(int *)buf, 0);
	assert_int_equal(m.flags, FEV_REDELIVERED);
	assert_int_equal(m.id, 4); /* re-committed where it lay, one lap on */
	assert_int_equal(fev_send(f->q, "x", 1, 0), 0);
	assert_int_equal(fev_recv(f->q, buf, sizeof(buf), &m, 0), 1);
}

/* An event with a key and a header, so repair must carry both. */
static void send_keyed(fev_queue *q, const char *key, const char *payload)
{
	fev_header h = { .name = FEV_HDR_CE_TYPE, .value = key,
			 .value_len = strlen(key) };
	fev_send_opts o = { .struct_size = sizeof(o), .key = key,
			    .key_len = strlen(key), .headers = &h,
			    .n_headers = 1 };

	assert_int_equal(fev_send_ex(q, &o, payload, strlen(payload), 0), 0);
}

static void expect_keyed(fev_queue *q, const char *key, const char *payload,
			 uint32_t flags)
{
	fev_event ev;
	const void *v;
	size_t n;

	assert_int_equal(fev_acquire(q, &ev, 0), 0);
	assert_int_equal(ev.flags, flags);
	assert_int_equal(ev.len, strlen(payload));
	assert_memory_equal(ev.data, payload, ev.len);
	assert_int_equal(ev.key_len, strlen(key));
	assert_memory_equal(ev.key, key, ev.key_len);
	assert_int_equal(fev_header_get(&ev, "ce-type", &v, &n), 0);
	assert_int_equal(n, strlen(key));
	assert_memory_equal(v, key, n);
	assert_int_equal(fev_release(q, &ev), 0);
}

/* Redelivery copies the event to a free slot: key and headers go too. */
static void test_redelivered_copy_keeps_key_and_headers(void **state)
{
	struct fixture *f = *state;
	struct fev__repair_result r = { 0 };

	send_keyed(f->q, "k-one", "one");
	send_keyed(f->q, "k-two", "two");
	child_dies(f, DIE_AFTER_ACQUIRE); /* took "one" */
	repair_all_dead(f, &r);
	assert_int_equal(r.redelivered, 1);
	expect_keyed(f->q, "k-two", "two", 0);
	expect_keyed(f->q, "k-one", "one", FEV_REDELIVERED);
}

/* A full ring re-commits the event where it lies: key and headers stay. */
static void test_redelivered_in_place_keeps_key_and_headers(void **state)
{
	struct fixture *f = *state;
	struct fev__repair_result r = { 0 };
	const char *keys[] = { "k0", "k1", "k2", "k3" };

	for (int i = 0; i < 4; i++)
		send_keyed(f->q, keys[i], "v");
	child_dies(f, DIE_AFTER_ACQUIRE); /* holds k0 */
	expect_keyed(f->q, "k1", "v", 0);
	repair_all_dead(f, &r);
	assert_int_equal(r.redelivered, 1);
	expect_keyed(f->q, "k2", "v", 0);
	expect_keyed(f->q, "k3", "v", 0);
	expect_keyed(f->q, "k0", "v", FEV_REDELIVERED);
}

/* A dead consumer's stale hold record names a position a live one holds. */
static void test_position_named_by_live_hold_is_left_pending(void **state)
{
	struct fixture *f = *state;
	struct fev__repair_result r = { 0 };
	fev_event ev;
	uint32_t dead;

	assert_int_equal(fev_send(f->q, "live", 4, 0), 0);
	assert_int_equal(fev_send(f->q, "more", 4, 0), 0);
	child_dies(f, DIE_AFTER_ACQUIRE);	/* holds "live" (pos 0) */
	assert_int_equal(fev_acquire(f->q, &ev, 0), 0); /* we hold pos 1 */
	dead = dead_record(f);
	/* Forge the dead hold record to also name our position 1. */
	atomic_store(&f->map.attachers[dead].cons.n, 2);
	assert_int_equal(fev__repair_attacher(&f->map, dead, &r), -EAGAIN);
	assert_int_equal(r.redelivered, 1);
	assert_int_equal(r.pending, 1);
	assert_int_equal(fev_release(f->q, &ev), 0);
	r = (struct fev__repair_result){ 0 };
	assert_int_equal(fev__repair_attacher(&f->map, dead, &r), 0);
	assert_int_equal(r.redelivered, 0);
	assert_int_equal(atomic_load(&f->map.attachers[dead].state),
			 FEV__ATT_FREE);
}

/*
 * The producer side of the same rule: a dead producer's stale hold record names
 * a position a live producer reserved and has not written yet.  Tombstoning it
 * would make the live commit fail and lose that event.
 */
static void test_unwritten_position_named_by_live_hold_is_not_tombstoned(
	void **state)
{
	struct fixture *f = *state;
	struct fev__repair_result r = { 0 };
	char buf[64];
	fev_meta m;
	fev_claim c;
	uint32_t dead;

	child_dies(f, DIE_AFTER_RESERVE);	 /* held pos 0, never wrote */
	assert_int_equal(fev_reserve(f->q, 4, &c, 0), 0); /* we hold pos 1 */
	assert_int_equal(c.priv_pos, 1);
	dead = dead_record(f);
	/* Forge the dead hold record to also name our position 1. */
	atomic_store(&f->map.attachers[dead].prod.n, 2);
	assert_int_equal(fev__repair_attacher(&f->map, dead, &r), -EAGAIN);
	assert_int_equal(r.tombstoned, 1);
	assert_int_equal(r.pending, 1);
	memcpy(c.data, "live", 4);
	assert_int_equal(fev_commit(f->q, &c, 4), 0);
	assert_int_equal(fev_recv(f->q, buf, sizeof(buf), &m, 0), 4);
	assert_memory_equal(buf, "live", 4);
	assert_int_equal(m.id, 1);
	r = (struct fev__repair_result){ 0 };
	assert_int_equal(fev__repair_attacher(&f->map, dead, &r), 0);
	assert_int_equal(r.tombstoned, 0);
	assert_int_equal(atomic_load(&f->map.attachers[dead].state),
			 FEV__ATT_FREE);
}

/* Committed is committed: only the dead producer's unwritten positions
 * become tombstones; the one it committed between them (inside its hold record,
 * which spans the lowest to the highest held) is delivered. */
static void test_dead_producer_keeps_what_it_committed(void **state)
{
	struct fixture *f = *state;
	struct fev__repair_result r = { 0 };
	char buf[64];
	fev_meta m;

	child_dies(f, DIE_AFTER_COMMITTING_THE_MIDDLE); /* 0, 2 open; 1 done */
	repair_all_dead(f, &r);
	assert_int_equal(r.tombstoned, 2);
	assert_int_equal(fev_recv(f->q, buf, sizeof(buf), &m, 0), 0);
	assert_int_equal(m.id, 1);
	assert_int_equal(m.flags, 0);
	assert_int_equal(fev_recv(f->q, buf, sizeof(buf), &m, 0), -EAGAIN);
}

/*
 * The oldest position a producer can still hold is one full lap behind
 * head (its slot is what head waits for): a dead producer's position there
 * is repaired like any other, on every lap, not only the first.
 */
static void test_dead_producer_a_full_lap_behind_head_is_tombstoned(
	void **state)
{
	struct fixture *f = *state;
	struct fev__repair_result r = { 0 };
	char buf[64];
	fev_meta m;

	for (int i = 0; i < 4; i++) /* one lap: both cursors at 4 */
		assert_int_equal(fev_send(f->q, &i, sizeof(i), 0), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(fev_recv(f->q, buf, sizeof(buf), &m, 0), 4);
	child_dies(f, DIE_AFTER_RESERVE); /* holds position 4 */
	for (int i = 5; i < 8; i++)      /* head 8: the ring is full */
		assert_int_equal(fev_send(f->q, &i, sizeof(i), 0), 0);
	repair_all_dead(f, &r);
	assert_int_equal(r.tombstoned, 1);
	for (int want = 5; want < 8; want++) {
		assert_int_equal(fev_recv(f->q, buf, sizeof(buf), &m, 0), 4);
		assert_int_equal(*(int *)buf, want);
	}
}

/*
 * A producer names positions before the CAS that takes them, so a producer
 * that died right between the two leaves a hold record reaching past head, over
 * positions nobody took: those are free slots, not its to tombstone.
 */
static void test_dead_intent_past_head_leaves_free_positions_alone(
	void **state)
{
	struct fixture *f = *state;
	struct fev__repair_result r = { 0 };
	char buf[64];
	fev_meta m;
	uint32_t dead;

	child_dies(f, DIE_AFTER_RESERVE); /* held pos 0; head is 1 */
	dead = dead_record(f);
	atomic_store(&f->map.attachers[dead].prod.n, 3); /* names 1 and 2 */
	assert_int_equal(fev__repair_attacher(&f->map, dead, &r), 0);
	assert_int_equal(r.tombstoned, 1);
	assert_int_equal(fev_send(f->q, "next", 4, 0), 0);
	assert_int_equal(fev_recv(f->q, buf, sizeof(buf), &m, 0), 4);
	assert_memory_equal(buf, "next", 4);
	assert_int_equal(m.id, 1);
}

/* A recycled pid: the process is alive, but it is not the one that
 * attached (its start time differs), so the record is dead. */
static void test_record_whose_pid_was_reused_is_not_alive(void **state)
{
	struct fixture *f = *state;

	for (uint32_t i = 0; i < f->map.geo.attacher_max; i++) {
		struct fev__attacher *a = &f->map.attachers[i];
		uint64_t start = a->start_time;

		if (atomic_load(&a->state) != FEV__ATT_ACTIVE)
			continue;
		assert_true(fev__attacher_alive(a));
		a->start_time = start + 1;
		assert_false(fev__attacher_alive(a));
		a->start_time = start;
		return;
	}
	fail_msg("no live attacher record");
}

static void test_live_attacher_is_alive_and_dead_one_is_not(void **state)
{
	struct fixture *f = *state;
	uint32_t live = UINT32_MAX;

	for (uint32_t i = 0; i < f->map.geo.attacher_max; i++)
		if (atomic_load(&f->map.attachers[i].state) == FEV__ATT_ACTIVE)
			live = i;
	assert_true(live != UINT32_MAX);
	assert_true(fev__attacher_alive(&f->map.attachers[live]));
	child_dies(f, DIE_AFTER_RESERVE);
	assert_false(fev__attacher_alive(&f->map.attachers[dead_record(f)]));
}

/* An owner that died between taking a record and filling it in. */
static void test_record_of_owner_dead_while_attaching_is_freed(
	void **state)
{
	struct fixture *f = *state;
	uint32_t last = f->map.geo.attacher_max - 1;
	struct fev__attacher *a = &f->map.attachers[last];
	pid_t dead = fork();

	assert_true(dead >= 0);
	if (dead == 0)
		_exit(0);
	assert_int_equal(waitpid(dead, NULL, 0), dead);
	atomic_store(&a->state, FEV__ATT_ATTACHING | (uint32_t)getpid());
	assert_false(fev__attacher_free_abandoned(a)); /* we live */
	atomic_store(&a->state, FEV__ATT_ATTACHING | (uint32_t)dead);
	assert_true(fev__attacher_free_abandoned(a));
	assert_int_equal(atomic_load(&a->state), FEV__ATT_FREE);
	assert_false(fev__attacher_free_abandoned(a)); /* free: no-op */
}

/* A repairer killed between taking head for an in-place redelivery and
 * committing it: the next repairer finishes the job. */
static void test_in_place_redelivery_interrupted_by_repairer_death_is_finished(
	void **state)
{
	struct fixture *f = *state;
	struct fev__repair_result r = { 0 };
	struct fev__attacher *a;
	uint64_t head = 4;
	char buf[64];
	fev_meta m;

	for (int i = 0; i < 4; i++)
		assert_int_equal(fev_send(f->q, &i, sizeof(i), 0), 0);
	child_dies(f, DIE_AFTER_ACQUIRE); /* holds event 0, position 0 */
	a = &f->map.attachers[dead_record(f)];
	/* What redeliver() does before its commit, then "dies". */
	atomic_store(&a->state, FEV__ATT_REPAIRING);
	atomic_store(&a->prod.pos, 4);
	atomic_store(&a->prod.n, 1);
	assert_true(atomic_compare_exchange_strong(&f->map.ring.head->pos,
						   &head, 5));
	repair_all_dead_or_closed(f, &r);
	assert_int_equal(r.redelivered, 1);
	for (int want = 1; want < 4; want++) {
		assert_int_equal(fev_recv(f->q, buf, sizeof(buf), &m, 0), 4);
		assert_int_equal(*(int *)buf, want);
	}
	assert_int_equal(fev_recv(f->q, buf, sizeof(buf), &m, 0), 4);
	assert_int_equal(*(int *)buf, 0);
	assert_int_equal(m.flags, FEV_REDELIVERED);
	assert_int_equal(m.id, 4);
	assert_int_equal(fev_send(f->q, "x", 1, 0), 0);
	assert_int_equal(fev_recv(f->q, buf, sizeof(buf), &m, 0), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_acquire_skips_tombstone_left_by_dead_producer,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_event_held_by_dead_consumer_is_redelivered_flagged,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_batch_held_by_dead_consumer_is_redelivered_whole,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_full_ring_redelivers_in_place_and_unblocks_producers,
			setup_tiny, teardown),
		cmocka_unit_test_setup_teardown(
			test_redelivered_copy_keeps_key_and_headers, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_redelivered_in_place_keeps_key_and_headers,
			setup_tiny, teardown),
		cmocka_unit_test_setup_teardown(
			test_position_named_by_live_hold_is_left_pending,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_unwritten_position_named_by_live_hold_is_not_tombstoned,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_dead_producer_keeps_what_it_committed, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_dead_producer_a_full_lap_behind_head_is_tombstoned,
			setup_tiny, teardown),
		cmocka_unit_test_setup_teardown(
			test_dead_intent_past_head_leaves_free_positions_alone,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_record_whose_pid_was_reused_is_not_alive, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_live_attacher_is_alive_and_dead_one_is_not, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_record_of_owner_dead_while_attaching_is_freed,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_in_place_redelivery_interrupted_by_repairer_death_is_finished,
			setup_tiny, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
