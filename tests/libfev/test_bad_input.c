/*
 * What other processes and callers get wrong: corrupt and truncated
 * segments, bad names and configurations, missing, existing and deleted
 * queues.  Each is refused with its own error, never a crash or a hang.
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

struct ctx {
	char inst[FEV_INSTANCE_MAX + 1];
};

static int setup(void **state)
{
	static struct ctx c;

	fevtest_instance(c.inst);
	*state = &c;
	/* A hang must fail the test, not block CI. */
	alarm(60);
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	alarm(0);
	fevtest_assert_no_leftovers(c->inst);
	return 0;
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
	check_corruption(((struct ctx *)*state)->inst, bad_magic, -EBADMSG);
}

static void test_segment_of_another_abi_major_is_eproto(void **state)
{
	check_corruption(((struct ctx *)*state)->inst, other_abi_major,
			 -EPROTO);
}

static void test_capacity_not_a_power_of_two_is_ebadmsg(void **state)
{
	const char *inst = ((struct ctx *)*state)->inst;

	check_corruption(inst, capacity_not_power_of_two, -EBADMSG);
	check_corruption(inst, capacity_too_large_for_the_segment, -EBADMSG);
}

static void test_moved_offsets_are_ebadmsg(void **state)
{
	const char *inst = ((struct ctx *)*state)->inst;

	check_corruption(inst, slots_moved, -EBADMSG);
	check_corruption(inst, head_moved, -EBADMSG);
	check_corruption(inst, attachers_past_the_end, -EBADMSG);
}

static void test_inconsistent_header_fields_are_ebadmsg(void **state)
{
	const char *inst = ((struct ctx *)*state)->inst;

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
	const char *inst = ((struct ctx *)*state)->inst;

	check_resized(inst, minus_one_page);
	check_resized(inst, into_the_header);
	check_resized(inst, plus_one_page);
}

static void test_segment_whose_creator_never_finished_is_ebadmsg(
	void **state)
{
	const char *inst = ((struct ctx *)*state)->inst;
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
	const char *inst = ((struct ctx *)*state)->inst;
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

/* ---- names and arguments ----------------------------------------------- */

static void assert_queue_name_refused(const char *inst, const char *q)
{
	fev_queue_config cfg = { .struct_size = sizeof(cfg), .capacity = 4,
				 .max_event = 8 };
	fev_open_opts o = { .struct_size = sizeof(o), .instance = inst };
	fev_queue *h = NULL;
	fev_stats st;

	assert_int_equal(fev_queue_name_valid(q), -EINVAL);
	assert_int_equal(fev_queue_create(q, &cfg, inst), -EINVAL);
	assert_int_equal(fev_open(q, FEV_CONSUMER, &o, &h), -EINVAL);
	assert_int_equal(fev_queue_stats(q, inst, &st), -EINVAL);
	assert_int_equal(fev_queue_delete(q, inst), -EINVAL);
}

static void test_bad_queue_names_are_einval(void **state)
{
	const char *inst = ((struct ctx *)*state)->inst;
	char name64[65], name63[64];

	memset(name64, 'q', 64);
	name64[64] = '\0';
	memset(name63, 'q', 63);
	name63[63] = '\0';
	assert_queue_name_refused(inst, "a/b");
	assert_queue_name_refused(inst, "/abs");
	assert_queue_name_refused(inst, "");
	assert_queue_name_refused(inst, NULL);
	assert_queue_name_refused(inst, name64);
	assert_queue_name_refused(inst, "sp ace");
	assert_queue_name_refused(inst, "ü");
	/* The longest name, and dots, are fine in queue names. */
	fevtest_create(inst, name63, 4, 8, FEV_POLICY_BLOCK);
	assert_int_equal(fev_queue_delete(name63, inst), 0);
	fevtest_create(inst, "a.b-c_D9", 4, 8, FEV_POLICY_BLOCK);
	assert_int_equal(fev_queue_delete("a.b-c_D9", inst), 0);
}

static void test_bad_instance_names_are_einval(void **state)
{
	char inst32[33], inst31[32];
	fev_queue_config cfg = { .struct_size = sizeof(cfg), .capacity = 4,
				 .max_event = 8 };
	const char *bad[] = { "a.b", "", "a/b", inst32, ".", "x y" };
	fev_open_opts o = { .struct_size = sizeof(o) };
	fev_queue *h = NULL;

	(void)state;
	memset(inst32, 'i', 32);
	inst32[32] = '\0';
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(fev_instance_name_valid(bad[i]), -EINVAL);
		assert_int_equal(fev_queue_create("q", &cfg, bad[i]), -EINVAL);
		o.instance = bad[i];
		assert_int_equal(fev_open("q", FEV_CONSUMER, &o, &h), -EINVAL);
		assert_int_equal(fev_queue_delete("q", bad[i]), -EINVAL);
	}
	/* 31 characters is the longest instance name. */
	snprintf(inst31, sizeof(inst31), "%s", ((struct ctx *)*state)->inst);
	memset(inst31 + strlen(inst31), 'i', 31 - strlen(inst31));
	inst31[31] = '\0';
	assert_int_equal(fev_instance_name_valid(inst31), 0);
	fevtest_create(inst31, "q", 4, 8, FEV_POLICY_BLOCK);
	assert_int_equal(fev_queue_delete("q", inst31), 0);
	fevtest_assert_no_leftovers(inst31);
}

static void test_bad_queue_configs_are_einval(void **state)
{
	const char *inst = ((struct ctx *)*state)->inst;
	const fev_queue_config good = { .struct_size = sizeof(good),
					.capacity = 4, .max_event = 8 };
	fev_queue_config c;

	assert_int_equal(fev_queue_create("q", NULL, inst), -EINVAL);
	c = good, c.struct_size = 0;
	assert_int_equal(fev_queue_create("q", &c, inst), -EINVAL);
	c = good, c.capacity = 6;
	assert_int_equal(fev_queue_create("q", &c, inst), -EINVAL);
	c = good, c.capacity = 1;
	assert_int_equal(fev_queue_create("q", &c, inst), -EINVAL);
	c = good, c.capacity = 0;
	assert_int_equal(fev_queue_create("q", &c, inst), -EINVAL);
	c = good, c.capacity = 1u << 25;
	assert_int_equal(fev_queue_create("q", &c, inst), -EINVAL);
	c = good, c.max_event = (16u << 20) + 1;
	assert_int_equal(fev_queue_create("q", &c, inst), -EINVAL);
	c = good, c.policy = 3;
	assert_int_equal(fev_queue_create("q", &c, inst), -EINVAL);
	c = good, c.policy = -1;
	assert_int_equal(fev_queue_create("q", &c, inst), -EINVAL);
	c = good, c.mode = 04777;
	assert_int_equal(fev_queue_create("q", &c, inst), -EINVAL);
	c = good, c.attachers = FEV__ATTACHERS_MAX + 1;
	assert_int_equal(fev_queue_create("q", &c, inst), -EINVAL);
	assert_int_equal(fevtest_shm_count(inst), 0);
}

static void test_bad_open_arguments_are_einval(void **state)
{
	const char *inst = ((struct ctx *)*state)->inst;
	fev_open_opts o = { .struct_size = sizeof(o), .instance = inst };
	fev_queue *h = NULL;

	fevtest_create(inst, "args", 4, 8, FEV_POLICY_BLOCK);
	assert_int_equal(fev_open("args", 0, &o, &h), -EINVAL);
	assert_int_equal(fev_open("args", 4, &o, &h), -EINVAL);
	assert_int_equal(fev_open("args", FEV_CONSUMER, &o, NULL), -EINVAL);
	o.flags = 0x80;
	assert_int_equal(fev_open("args", FEV_CONSUMER, &o, &h), -EINVAL);
	o.flags = 0;
	o.struct_size = 4;
	assert_int_equal(fev_open("args", FEV_CONSUMER, &o, &h), -EINVAL);
	assert_null(h);
	assert_int_equal(fev_queue_delete("args", inst), 0);
}

static void test_config_from_an_older_caller_is_read_only_up_to_its_size(
	void **state)
{
	const char *inst = ((struct ctx *)*state)->inst;
	/* The first release's struct: no mode, group or attachers.  The
	 * bytes after it belong to someone else: fill them with garbage. */
	size_t old_size = offsetof(fev_queue_config, mode);
	union {
		fev_queue_config cfg;
		unsigned char bytes[sizeof(fev_queue_config)];
	} u;
	fev_stats st;

	memset(u.bytes, 0xff, sizeof(u.bytes));
	u.cfg.struct_size = old_size;
	u.cfg.capacity = 4;
	u.cfg.max_event = 8;
	u.cfg.policy = FEV_POLICY_BLOCK;
	assert_int_equal(fev_queue_create("old", &u.cfg, inst), 0);
	assert_int_equal(fev_queue_stats("old", inst, &st), 0);
	assert_int_equal(st.capacity, 4);
	assert_int_equal(fev_queue_delete("old", inst), 0);
}

static void test_full_attacher_table_is_eusers(void **state)
{
	const char *inst = ((struct ctx *)*state)->inst;
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
	const char *inst = ((struct ctx *)*state)->inst;
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

/* ---- missing, existing, deleted ---------------------------------------- */

static void test_missing_queue_is_enoent(void **state)
{
	const char *inst = ((struct ctx *)*state)->inst;
	fev_open_opts o = { .struct_size = sizeof(o), .instance = inst };
	fev_queue *h = NULL;
	fev_stats st;

	assert_int_equal(fev_open("nope", FEV_CONSUMER, &o, &h), -ENOENT);
	assert_int_equal(fev_queue_stats("nope", inst, &st), -ENOENT);
	assert_int_equal(fev_queue_delete("nope", inst), -ENOENT);
	assert_non_null(strstr(fev_strerror(-ENOENT), "create"));
}

static void test_creating_an_existing_queue_is_eexist(void **state)
{
	const char *inst = ((struct ctx *)*state)->inst;
	fev_queue_config cfg = { .struct_size = sizeof(cfg), .capacity = 16,
				 .max_event = 8 };
	fev_stats st;

	fevtest_create(inst, "dup", 4, 8, FEV_POLICY_BLOCK);
	assert_int_equal(fev_queue_create("dup", &cfg, inst), -EEXIST);
	/* The existing queue is untouched. */
	assert_int_equal(fev_queue_stats("dup", inst, &st), 0);
	assert_int_equal(st.capacity, 4);
	assert_int_equal(fev_queue_delete("dup", inst), 0);
}

static void test_deleted_queue_answers_eidrm_to_attached_handles(
	void **state)
{
	const char *inst = ((struct ctx *)*state)->inst;
	fev_queue *p, *c;
	fev_event ev;
	fev_claim cl;
	uint64_t v = 1;
	struct iovec iov = { &v, sizeof(v) };

	fevtest_create(inst, "del", 4, 8, FEV_POLICY_BLOCK);
	p = fevtest_open(inst, "del", FEV_PRODUCER, 0);
	c = fevtest_open(inst, "del", FEV_CONSUMER, 0);
	assert_int_equal(fev_send(p, &v, sizeof(v), 0), 0);
	assert_int_equal(fev_queue_delete("del", inst), 0);
	assert_int_equal(fev_send(p, &v, sizeof(v), 0), -EIDRM);
	assert_int_equal(fev_send_batch(p, &iov, 1, 0), -EIDRM);
	assert_int_equal(fev_reserve(p, 8, &cl, FEV_FOREVER), -EIDRM);
	assert_int_equal(fev_recv(c, &v, sizeof(v), NULL, FEV_FOREVER), -EIDRM);
	assert_int_equal(fev_acquire(c, &ev, 0), -EIDRM);
	/* The name is free again at once. */
	assert_int_equal(fev_queue_stats("del", inst, &(fev_stats){ 0 }),
			 -ENOENT);
	fevtest_create(inst, "del", 4, 8, FEV_POLICY_BLOCK);
	assert_int_equal(fev_send(p, &v, sizeof(v), 0), -EIDRM);
	fev_close(p);
	fev_close(c);
	assert_int_equal(fev_queue_delete("del", inst), 0);
}

struct sleeper {
	fev_queue *q;
	bool producer;
	atomic_int started;
	int rc;
};

static void *sleep_in_queue(void *arg)
{
	struct sleeper *s = arg;
	uint64_t v = 0;

	atomic_store(&s->started, 1);
	if (s->producer)
		s->rc = fev_send(s->q, &v, sizeof(v), FEV_FOREVER);
	else
		s->rc = (int)fev_recv(s->q, &v, sizeof(v), NULL, FEV_FOREVER);
	return NULL;
}

static void delete_under_sleeper(const char *inst, bool producer,
				 unsigned settle_ms)
{
	struct sleeper s = { .producer = producer };
	pthread_t t;
	uint64_t v = 0;

	fevtest_create(inst, "sleep", 2, 8, FEV_POLICY_BLOCK);
	s.q = fevtest_open(inst, "sleep",
			   producer ? FEV_PRODUCER : FEV_CONSUMER,
			   FEV_OPEN_NO_SPIN);
	if (producer) /* fill it, so the sender has to sleep */
		for (int i = 0; i < 2; i++)
			assert_int_equal(fev_send(s.q, &v, sizeof(v), 0), 0);
	assert_int_equal(pthread_create(&t, NULL, sleep_in_queue, &s), 0);
	while (!atomic_load(&s.started))
		;
	fevtest_sleep_ms(settle_ms);
	assert_int_equal(fev_queue_delete("sleep", inst), 0);
	/* alarm() in setup turns a lost wake-up into a failure. */
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(s.rc, -EIDRM);
	fev_close(s.q);
}

static void test_delete_wakes_a_consumer_sleeping_in_recv(void **state)
{
	delete_under_sleeper(((struct ctx *)*state)->inst, false, 100);
}

static void test_delete_wakes_a_producer_sleeping_on_a_full_queue(
	void **state)
{
	delete_under_sleeper(((struct ctx *)*state)->inst, true, 100);
}

static void test_delete_racing_a_sleeper_never_loses_its_wakeup(void **state)
{
	for (int i = 0; i < 300; i++)
		delete_under_sleeper(((struct ctx *)*state)->inst, i % 2,
				     0);
}

static void test_strerror_has_a_sentence_for_every_error(void **state)
{
	const int errs[] = { 0,	       -EINVAL,	  -ENOENT, -EEXIST,
			     -EACCES,  -EPERM,	  -EBADMSG, -EPROTO,
			     -EIDRM,   -EUSERS,	  -EMSGSIZE, -EAGAIN,
			     -ETIMEDOUT, -ENOMEM, -ENOSPC, -EINTR,
			     -ECHILD };

	(void)state;
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		const char *s = fev_strerror(errs[i]);

		assert_non_null(s);
		assert_true(strlen(s) > 4);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(s, fev_strerror(errs[j]));
	}
	assert_non_null(fev_strerror(-9999));
	assert_non_null(fev_strerror(12345));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

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
		T(test_bad_queue_names_are_einval),
		T(test_bad_instance_names_are_einval),
		T(test_bad_queue_configs_are_einval),
		T(test_bad_open_arguments_are_einval),
		T(test_config_from_an_older_caller_is_read_only_up_to_its_size),
		T(test_full_attacher_table_is_eusers),
		T(test_impossible_slot_sequence_never_makes_a_call_spin),
		T(test_missing_queue_is_enoent),
		T(test_creating_an_existing_queue_is_eexist),
		T(test_deleted_queue_answers_eidrm_to_attached_handles),
		T(test_delete_wakes_a_consumer_sleeping_in_recv),
		T(test_delete_wakes_a_producer_sleeping_on_a_full_queue),
		T(test_delete_racing_a_sleeper_never_loses_its_wakeup),
		T(test_strerror_has_a_sentence_for_every_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
