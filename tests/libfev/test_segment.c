/*
 * Segments that other processes got wrong (segment.c): corrupt, truncated,
 * half-created or full ones, and slot words no protocol step stores.  Each
 * is refused with its own error, never a crash or a hang.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "fevtest.h"
#include "layout.h"
#include "segment.h"

static int setup(void **state)
{
	return fevtest_setup(state, 60);
}

/* The whole segment of queue q, mapped read-write behind fev's back. */
struct raw {
	int fd;
	uint8_t *base;
	size_t len;
	struct fev__segment *seg;
};

static void raw_map(const char *inst, const char *q, struct raw *r)
{
	char name[FEV__SHM_NAME_MAX];
	struct stat st;

	snprintf(name, sizeof(name), "/fev.%s.%s", inst, q);
	r->fd = shm_open(name, O_RDWR, 0);
	assert_true(r->fd >= 0);
	assert_int_equal(fstat(r->fd, &st), 0);
	r->len = (size_t)st.st_size;
	r->base = mmap(NULL, r->len, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd,
		       0);
	assert_true(r->base != MAP_FAILED);
	r->seg = (struct fev__segment *)r->base;
}

static void raw_unmap(struct raw *r)
{
	munmap(r->base, r->len);
	close(r->fd);
}

/* The ring view of a raw mapping. */
static struct fev__ring raw_ring(struct raw *r)
{
	return (struct fev__ring){
		.head = &r->seg->head,
		.tail = &r->seg->tail,
		.slots = r->base + r->seg->hdr.off_slots,
		.mask = r->seg->hdr.capacity - 1,
		.capacity = r->seg->hdr.capacity,
		.slot_size = r->seg->hdr.slot_size,
	};
}

/* Every way in refuses it with err; delete still removes it. */
static void assert_refused(const char *inst, const char *q, int err)
{
	fev_open_opts o = { .struct_size = sizeof(o), .instance = inst };
	fev_queue *h = NULL;
	fev_stats st;

	assert_int_equal(fev_open(q, FEV_CONSUMER, &o, &h), err);
	assert_null(h);
	assert_int_equal(fev_open(q, FEV_PRODUCER, &o, &h), err);
	assert_int_equal(fev_queue_stats(q, inst, &st), err);
	assert_int_equal(fev_queue_delete(q, inst), 0);
	assert_int_equal(fev_queue_stats(q, inst, &st), -ENOENT);
}

/* Create q, let corrupt() damage its header, expect err everywhere. */
static void check_corruption(const char *inst, void (*corrupt)(struct raw *),
			     int err)
{
	struct raw r;

	fevtest_create(inst, "bad", 8, 64, FEV_POLICY_BLOCK);
	raw_map(inst, "bad", &r);
	corrupt(&r);
	raw_unmap(&r);
	assert_refused(inst, "bad", err);
}

static void bad_magic(struct raw *r)
{
	atomic_store(&r->seg->hdr.magic, FEV__MAGIC ^ 1);
}

static void other_abi_major(struct raw *r)
{
	r->seg->hdr.abi_major = FEV_ABI_MAJOR + 1;
}

static void capacity_not_power_of_two(struct raw *r)
{
	r->seg->hdr.capacity = 7;
}

static void capacity_too_large_for_the_segment(struct raw *r)
{
	r->seg->hdr.capacity = 1u << 20;
}

static void slots_moved(struct raw *r)
{
	r->seg->hdr.off_slots += FEV__LINE;
}

static void head_moved(struct raw *r)
{
	r->seg->hdr.off_head = r->seg->hdr.off_tail;
}

static void attachers_past_the_end(struct raw *r)
{
	r->seg->hdr.off_attachers = r->len;
}

static void slot_size_larger(struct raw *r)
{
	r->seg->hdr.slot_size *= 2;
}

static void max_event_huge(struct raw *r)
{
	r->seg->hdr.max_event = UINT32_MAX;
}

static void attacher_table_empty(struct raw *r)
{
	r->seg->hdr.attacher_max = 0;
}

static void seg_size_lies(struct raw *r)
{
	r->seg->hdr.seg_size = UINT64_MAX;
}

static void name_not_terminated(struct raw *r)
{
	memset(r->seg->hdr.name, 'a', sizeof(r->seg->hdr.name));
}

static void policy_unknown(struct raw *r)
{
	r->seg->hdr.policy = 77;
}

static void header_size_wrong(struct raw *r)
{
	r->seg->hdr.header_size = 8;
}

static void test_segment_with_bad_magic_is_ebadmsg(void **state)
{
	check_corruption(((struct fevtest_ctx *)*state)->inst, bad_magic, -EBADMSG);
}

static void test_segment_of_another_abi_major_is_eproto(void **state)
{
	check_corruption(((struct fevtest_ctx *)*state)->inst, other_abi_major,
			 -EPROTO);
}

static void test_capacity_not_a_power_of_two_is_ebadmsg(void **state)
{
	const char *inst = ((struct fevtest_ctx *)*state)->inst;

	check_corruption(inst, capacity_not_power_of_two, -EBADMSG);
	check_corruption(inst, capacity_too_large_for_the_segment, -EBADMSG);
}

static void test_moved_offsets_are_ebadmsg(void **state)
{
	const char *inst = ((struct fevtest_ctx *)*state)->inst;

	check_corruption(inst, slots_moved, -EBADMSG);
	check_corruption(inst, head_moved, -EBADMSG);
	check_corruption(inst, attachers_past_the_end, -EBADMSG);
}

static void test_inconsistent_header_fields_are_ebadmsg(void **state)
{
	const char *inst = ((struct fevtest_ctx *)*state)->inst;

	check_corruption(inst, slot_size_larger, -EBADMSG);
	check_corruption(inst, max_event_huge, -EBADMSG);
	check_corruption(inst, attacher_table_empty, -EBADMSG);
	check_corruption(inst, seg_size_lies, -EBADMSG);
	check_corruption(inst, name_not_terminated, -EBADMSG);
	check_corruption(inst, policy_unknown, -EBADMSG);
	check_corruption(inst, header_size_wrong, -EBADMSG);
}

static void check_resized(const char *inst, off_t (*new_size)(off_t len))
{
	struct raw r;

	fevtest_create(inst, "trunc", 8, 64, FEV_POLICY_BLOCK);
	raw_map(inst, "trunc", &r);
	assert_int_equal(ftruncate(r.fd, new_size((off_t)r.len)), 0);
	raw_unmap(&r);
	assert_refused(inst, "trunc", -EBADMSG);
}

static off_t minus_one_page(off_t len)
{
	return len - 4096;
}

static off_t into_the_header(off_t len)
{
	(void)len;
	return 100;
}

static off_t plus_one_page(off_t len)
{
	return len + 4096;
}

static void test_truncated_or_grown_segment_is_ebadmsg(void **state)
{
	const char *inst = ((struct fevtest_ctx *)*state)->inst;

	check_resized(inst, minus_one_page);
	check_resized(inst, into_the_header);
	check_resized(inst, plus_one_page);
}

static void test_segment_whose_creator_never_finished_is_ebadmsg(
	void **state)
{
	const char *inst = ((struct fevtest_ctx *)*state)->inst;
	uint64_t t0;
	struct raw r;
	fev_open_opts o = { .struct_size = sizeof(o), .instance = inst };
	fev_queue *h = NULL;

	fevtest_create(inst, "unready", 8, 64, FEV_POLICY_BLOCK);
	raw_map(inst, "unready", &r);
	atomic_store(&r.seg->hdr.magic, 0);
	raw_unmap(&r);
	/* Waits a while for the creator, then gives up instead of hanging. */
	t0 = fevtest_now_ns();
	assert_int_equal(fev_open("unready", FEV_CONSUMER, &o, &h), -EBADMSG);
	assert_true(fevtest_now_ns() - t0 < 10000 * FEVTEST_MS);
	assert_int_equal(fev_queue_delete("unready", inst), 0);
}

static void test_slot_length_beyond_max_event_is_ebadmsg_once_then_flows(
	void **state)
{
	const char *inst = ((struct fevtest_ctx *)*state)->inst;
	fev_queue *p, *c;
	struct raw r;
	struct fev__ring ring;
	uint64_t v;
	fev_stats st;

	fevtest_create(inst, "len", 8, 64, FEV_POLICY_BLOCK);
	p = fevtest_open(inst, "len", FEV_PRODUCER, 0);
	c = fevtest_open(inst, "len", FEV_CONSUMER, 0);
	for (v = 0; v < 3; v++)
		assert_int_equal(fev_send(p, &v, sizeof(v), 0), 0);

	raw_map(inst, "len", &r);
	ring = raw_ring(&r);
	/* A hostile writer: event 1 claims more bytes than a slot holds. */
	fev__ring_slot(&ring, 1)->len = 1u << 30;
	raw_unmap(&r);

	assert_int_equal(fev_recv(c, &v, sizeof(v), NULL, 0), sizeof(v));
	assert_int_equal(v, 0);
	assert_int_equal(fev_recv(c, &v, sizeof(v), NULL, 0), -EBADMSG);
	assert_int_equal(fev_recv(c, &v, sizeof(v), NULL, 0), sizeof(v));
	assert_int_equal(v, 2);
	assert_int_equal(fev_recv(c, &v, sizeof(v), NULL, 0), -EAGAIN);
	/* The bad slot was given back: a full lap still fits. */
	for (v = 0; v < 8; v++)
		assert_int_equal(fev_send(p, &v, sizeof(v), 0), 0);
	for (uint64_t i = 0; i < 8; i++) {
		assert_int_equal(fev_recv(c, &v, sizeof(v), NULL, 0),
				 sizeof(v));
		assert_int_equal(v, i);
	}
	assert_int_equal(fev_queue_stats("len", inst, &st), 0);
	assert_int_equal(st.depth, 0);
	fev_close(p);
	fev_close(c);
	assert_int_equal(fev_queue_delete("len", inst), 0);
}

static void test_full_attacher_table_is_eusers(void **state)
{
	const char *inst = ((struct fevtest_ctx *)*state)->inst;
	fev_queue_config cfg = { .struct_size = sizeof(cfg), .capacity = 4,
				 .max_event = 8, .attachers = 2 };
	fev_open_opts o = { .struct_size = sizeof(o), .instance = inst };
	fev_queue *a, *b, *c = NULL;

	assert_int_equal(fev_queue_create("few", &cfg, inst), 0);
	a = fevtest_open(inst, "few", FEV_PRODUCER, 0);
	b = fevtest_open(inst, "few", FEV_CONSUMER, 0);
	assert_int_equal(fev_open("few", FEV_CONSUMER, &o, &c), -EUSERS);
	assert_null(c);
	/* A closed handle's record is free for the next one. */
	fev_close(b);
	c = fevtest_open(inst, "few", FEV_CONSUMER, 0);
	fev_close(a);
	fev_close(c);
	assert_int_equal(fev_queue_delete("few", inst), 0);
}

static void test_impossible_slot_sequence_never_makes_a_call_spin(
	void **state)
{
	const char *inst = ((struct fevtest_ctx *)*state)->inst;
	fev_queue *p, *c;
	struct fev__ring ring;
	struct raw r;
	uint64_t v = 1, t0, cpu;

	fevtest_create(inst, "seq", 4, 8, FEV_POLICY_BLOCK);
	p = fevtest_open(inst, "seq", FEV_PRODUCER, 0);
	c = fevtest_open(inst, "seq", FEV_CONSUMER, 0);
	assert_int_equal(fev_send(p, &v, sizeof(v), 0), 0);
	raw_map(inst, "seq", &r);
	ring = raw_ring(&r);
	/* A hostile writer: the next slot of each cursor claims a lap that
	 * the cursors have not reached. */
	atomic_store(&fev__ring_slot(&ring, 0)->seq, 5);
	atomic_store(&fev__ring_slot(&ring, 1)->seq, 6);
	raw_unmap(&r);

	/* alarm() in setup fails the test if any of these spins forever. */
	assert_int_equal(fev_recv(c, &v, sizeof(v), NULL, 0), -EAGAIN);
	assert_int_equal(fev_send(p, &v, sizeof(v), 0), -EAGAIN);
	t0 = fevtest_now_ns();
	cpu = fevtest_cpu_ns();
	assert_int_equal(fev_recv(c, &v, sizeof(v), NULL, 200 * FEVTEST_MS),
			 -ETIMEDOUT);
	assert_int_equal(fev_send(p, &v, sizeof(v), 200 * FEVTEST_MS),
			 -ETIMEDOUT);
	assert_true(fevtest_now_ns() - t0 < 5000 * FEVTEST_MS);
	/* It slept through the wait rather than spinning on the slot. */
	cpu = fevtest_cpu_ns() - cpu;
	if (cpu > 100 * FEVTEST_MS)
		fail_msg("waiting 400 ms on a corrupt slot cost %.1f ms of CPU",
			 (double)cpu / 1e6);
	fev_close(p);
	fev_close(c);
	assert_int_equal(fev_queue_delete("seq", inst), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, fevtest_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_segment_with_bad_magic_is_ebadmsg),
		T(test_segment_of_another_abi_major_is_eproto),
		T(test_capacity_not_a_power_of_two_is_ebadmsg),
		T(test_moved_offsets_are_ebadmsg),
		T(test_inconsistent_header_fields_are_ebadmsg),
		T(test_truncated_or_grown_segment_is_ebadmsg),
		T(test_segment_whose_creator_never_finished_is_ebadmsg),
		T(test_slot_length_beyond_max_event_is_ebadmsg_once_then_flows),
		T(test_full_attacher_table_is_eusers),
		T(test_impossible_slot_sequence_never_makes_a_call_spin),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
