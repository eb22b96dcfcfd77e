/*
 * Hostile values in a hop ring (hops.h): whatever another process writes
 * into it, a reader (fev trace, the library's writers) never reads
 * outside the file, never crashes and never returns a hop it cannot
 * trust: torn and forged entries are skipped, a forged header is
 * -EBADMSG, and a sampled event whose flag is forged records nothing.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "fevtest.h"
#include "hops.h"
#include "layout.h"
#include "memtrap.h"
#include "ring.h"
#include "segment.h"

#define ENTRIES 8u

struct ring {
	char inst[FEV_INSTANCE_MAX + 1];
	struct fev__hops w; /* the hostile writer's mapping */
	struct fev__hop out[ENTRIES];
};

static int setup(void **state)
{
	static struct ring r;

	fevtest_instance(r.inst);
	fev_queue_config c = { .struct_size = sizeof(c), .capacity = 4,
			       .max_event = 256, .trace_hops = ENTRIES };
	assert_int_equal(fev_topic_create("t", 1, &c, r.inst), 0);
	assert_int_equal(fev__hops_open(r.inst, "t", true, &r.w), 0);
	*state = &r;
	return 0;
}

static int teardown(void **state)
{
	struct ring *r = *state;

	fev__hops_close(&r->w);
	assert_int_equal(fev_topic_delete("t", r->inst), 0);
	fevtest_assert_no_leftovers(r->inst);
	return 0;
}

static void write_hop(struct fev__hops *h, uint8_t kind, uint64_t pos)
{
	struct fev__hop e = { .kind = kind, .position = pos, .pid = 1 };

	e.trace_id[0] = 1;
	e.span_id[0] = 1;
	fev__hops_write(h, &e);
}

static size_t read_all(struct ring *r)
{
	struct fev__hops h;
	size_t n;

	assert_int_equal(fev__hops_open(r->inst, "t", false, &h), 0);
	n = fev__hops_read(&h, r->out);
	fev__hops_close(&h);
	return n;
}

static void test_old_hops_are_overwritten_oldest_first(void **state)
{
	struct ring *r = *state;

	for (uint64_t i = 0; i < ENTRIES + 3; i++)
		write_hop(&r->w, FEV__HOP_PUBLISHED, i);
	assert_int_equal(read_all(r), ENTRIES);
	for (uint32_t i = 0; i < ENTRIES; i++)
		assert_int_equal(r->out[i].position, i + 3);
}

static void test_torn_and_forged_entries_are_skipped(void **state)
{
	struct ring *r = *state;

	for (uint64_t i = 0; i < ENTRIES; i++)
		write_hop(&r->w, FEV__HOP_ACQUIRED, i);
	/* A writer that died mid-entry leaves its seq odd. */
	atomic_store(&r->w.hop[0].seq, 1);
	r->w.hop[1].kind = 0;	/* no such kind */
	r->w.hop[2].kind = 200;
	r->w.hop[3].partition = FEV_PARTITIONS_MAX;
	/* Strings without their NUL come back cut, inside the entry. */
	memset(r->w.hop[4].comm, 'x', sizeof(r->w.hop[4].comm));
	memset(r->w.hop[4].group, 'y', sizeof(r->w.hop[4].group));
	/* A forger can compute the check: the values above must still be
	 * refused or cut on their own. */
	for (int i = 1; i <= 4; i++)
		r->w.hop[i].check = fev__hop_check(
			&r->w.hop[i], atomic_load(&r->w.hop[i].seq));
	/* A field changed without its check: a torn entry. */
	r->w.hop[5].position ^= 1;
	assert_int_equal(read_all(r), ENTRIES - 5);
	assert_int_equal(r->out[0].position, 4);
	assert_int_equal(r->out[1].position, 6);
	assert_int_equal(strlen(r->out[0].comm), FEV__HOP_COMM_MAX - 1);
	assert_int_equal(strlen(r->out[0].group), FEV_GROUP_NAME_MAX);
	/* The torn entry is taken over by the next lap's writer. */
	write_hop(&r->w, FEV__HOP_RELEASED, 100);
	assert_int_equal(atomic_load(&r->w.hop[0].seq) & 1, 0);
	assert_int_equal(r->w.hop[0].position, 100);
}

/* fev-otel's reading, one ticket at a time (fev__hops_read_at()): only a
 * whole entry that holds the very ticket asked for, whatever the ticket
 * counter and the entries say. */
static void test_a_follower_reads_only_whole_entries_of_its_ticket(
	void **state)
{
	struct ring *r = *state;
	struct fev__hops h;
	struct fev__hop e;

	for (uint64_t i = 0; i < ENTRIES + 2; i++) /* tickets 0 .. 9 */
		write_hop(&r->w, FEV__HOP_ACQUIRED, i);
	assert_int_equal(fev__hops_open(r->inst, "t", false, &h), 0);
	assert_int_equal(fev__hops_tickets(&h), ENTRIES + 2);
	assert_false(fev__hops_read_at(&h, 0, &e)); /* overwritten */
	assert_false(fev__hops_read_at(&h, 1, &e));
	assert_true(fev__hops_read_at(&h, 9, &e));
	assert_int_equal(e.position, 9);
	assert_false(fev__hops_read_at(&h, 10, &e)); /* not written yet */
	atomic_store(&r->w.hop[2].seq, 2 * 3 - 1); /* ticket 2 still odd */
	assert_false(fev__hops_read_at(&h, 2, &e));
	r->w.hop[3].kind = 200; /* forged, with its check */
	r->w.hop[3].check = fev__hop_check(&r->w.hop[3],
					   atomic_load(&r->w.hop[3].seq));
	assert_false(fev__hops_read_at(&h, 3, &e));
	r->w.hop[4].position ^= 1; /* torn */
	assert_false(fev__hops_read_at(&h, 4, &e));
	/* A forged counter and tickets near 2^64: nothing matches, no
	 * overflow finds an entry. */
	atomic_store(&r->w.hdr->ticket, UINT64_MAX);
	assert_int_equal(fev__hops_tickets(&h), UINT64_MAX);
	for (uint64_t t = UINT64_MAX - 2 * ENTRIES; t != 0; t++)
		assert_false(fev__hops_read_at(&h, t, &e));
	fev__hops_close(&h);
}

static void test_a_forged_header_is_refused(void **state)
{
	struct ring *r = *state;
	struct fev__hops h;
	const uint32_t bad_entries[] = { 0, ENTRIES + 1, FEV__HOPS_MAX + 1,
					 UINT32_MAX };

	for (size_t i = 0; i < sizeof(bad_entries) / sizeof(*bad_entries);
	     i++) {
		r->w.hdr->entries = bad_entries[i];
		assert_int_equal(fev__hops_open(r->inst, "t", false, &h),
				 -EBADMSG);
	}
	r->w.hdr->entries = ENTRIES;
	r->w.hdr->entry_size = 64;
	assert_int_equal(fev__hops_open(r->inst, "t", false, &h), -EBADMSG);
	r->w.hdr->entry_size = sizeof(struct fev__hop);
	r->w.hdr->version = 2;
	assert_int_equal(fev__hops_open(r->inst, "t", false, &h), -EBADMSG);
	r->w.hdr->version = FEV__HOPS_VERSION;
	atomic_store(&r->w.hdr->magic, 0);
	assert_int_equal(fev__hops_open(r->inst, "t", false, &h), -EAGAIN);
	atomic_store(&r->w.hdr->magic, FEV__HOPS_MAGIC + 1);
	assert_int_equal(fev__hops_open(r->inst, "t", false, &h), -EBADMSG);
	atomic_store(&r->w.hdr->magic, FEV__HOPS_MAGIC);
	assert_int_equal(fev__hops_open(r->inst, "t", false, &h), 0);
	fev__hops_close(&h);
}

static void test_a_truncated_ring_is_refused(void **state)
{
	struct ring *r = *state;
	char name[128], path[160];
	struct fev__hops h;

	assert_int_equal(fev__hops_shm_name(name, sizeof(name), r->inst, "t"),
			 0);
	snprintf(path, sizeof(path), "/dev/shm%s", name);
	assert_int_equal(truncate(path, sizeof(struct fev__hops_header) +
						3 * sizeof(struct fev__hop)),
			 0);
	assert_int_equal(fev__hops_open(r->inst, "t", false, &h), -EBADMSG);
	assert_int_equal(truncate(path, 10), 0);
	assert_int_equal(fev__hops_open(r->inst, "t", false, &h), -EBADMSG);
}

/* Truncated after a reader mapped it (as fev trace reads, with memtrap):
 * the lost entries read as never written, no SIGBUS. */
static void test_a_ring_truncated_under_a_reader_reads_what_is_left(
	void **state)
{
	struct ring *r = *state;
	fev_queue_config c = { .struct_size = sizeof(c), .capacity = 4,
			       .max_event = 256, .trace_hops = 64 };
	static struct fev__hop out[64];
	char name[128], path[160];
	struct fev__hops w, h;
	size_t n;

	assert_int_equal(fev__memtrap_install(), 0);
	assert_int_equal(fev_topic_create("u", 1, &c, r->inst), 0);
	assert_int_equal(fev__hops_open(r->inst, "u", true, &w), 0);
	for (uint64_t i = 0; i < 64; i++)
		write_hop(&w, FEV__HOP_PUBLISHED, i);
	fev__hops_close(&w);
	assert_int_equal(fev__hops_open(r->inst, "u", false, &h), 0);
	assert_int_equal(fev__hops_shm_name(name, sizeof(name), r->inst, "u"),
			 0);
	snprintf(path, sizeof(path), "/dev/shm%s", name);
	/* One page left: the header and 30 entries. */
	assert_int_equal(truncate(path, 4096), 0);
	n = fev__hops_read(&h, out);
	assert_int_equal(n, 30);
	assert_int_equal(out[29].position, 29);
	assert_true(fev__memtrap_tripped(h.hdr));
	fev__hops_close(&h);
	assert_int_equal(fev_topic_delete("u", r->inst), 0);
}

/* A consumer of an event flagged FEV_SAMPLED without a traceparent: it
 * gets the event, and the ring gets no hop. */
static void test_a_forged_sampled_flag_records_nothing(void **state)
{
	struct ring *r = *state;
	fev_open_opts o = { .struct_size = sizeof(o), .instance = r->inst };
	struct fev__map m;
	fev_queue *q;
	fev_event ev;

	assert_int_equal(fev_open("t", FEV_PRODUCER | FEV_CONSUMER, &o, &q),
			 0);
	assert_int_equal(fev_send(q, "x", 1, 0), 0);
	assert_int_equal(fev__map_open(r->inst, "t", true, &m), 0);
	fev__ring_slot(&m.ring, 0)->flags |= FEV_SAMPLED;
	assert_int_equal(fev_acquire(q, &ev, 0), 0);
	assert_true(ev.flags & FEV_SAMPLED);
	assert_int_equal(fev_release(q, &ev), 0);
	fev__map_close(&m);
	fev_close(q);
	assert_int_equal(read_all(r), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_old_hops_are_overwritten_oldest_first, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_torn_and_forged_entries_are_skipped, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_a_follower_reads_only_whole_entries_of_its_ticket,
			setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_forged_header_is_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_a_truncated_ring_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_a_ring_truncated_under_a_reader_reads_what_is_left,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_a_forged_sampled_flag_records_nothing, setup,
			teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
