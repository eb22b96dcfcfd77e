/*
 * The frozen shared-memory layout.  Processes built from different versions
 * of fev share segments, so every size, offset and constant in layout.h is
 * compared against a literal number.  When one of these fails, the change is
 * an ABI break: bump FEV_ABI_MAJOR in fev/version.h (old segments are then
 * refused with -EPROTO) and update the numbers here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fev/fev.h"
#include "layout.h"

#define BUMP "shared-memory layout changed: bump FEV_ABI_MAJOR in fev/version.h"

#define FROZEN(expr, want)                                                  \
	do {                                                                \
		unsigned long long got_ = (unsigned long long)(expr);       \
		if (got_ != (unsigned long long)(want))                     \
			fail_msg("%s is %llu, was %llu: " BUMP, #expr, got_, \
				 (unsigned long long)(want));               \
	} while (0)

#define OFF(type, field, want) FROZEN(offsetof(type, field), want)

static void test_header_layout_is_frozen(void **state)
{
	(void)state;
	FROZEN(sizeof(struct fev__header), 256);
	OFF(struct fev__header, magic, 0);
	OFF(struct fev__header, abi_major, 8);
	OFF(struct fev__header, abi_minor, 10);
	OFF(struct fev__header, header_size, 12);
	OFF(struct fev__header, seg_size, 16);
	OFF(struct fev__header, capacity, 24);
	OFF(struct fev__header, slot_size, 28);
	OFF(struct fev__header, max_event, 32);
	OFF(struct fev__header, policy, 36);
	OFF(struct fev__header, attacher_max, 40);
	OFF(struct fev__header, partitions, 44);
	OFF(struct fev__header, off_state_line, 48);
	OFF(struct fev__header, off_head, 56);
	OFF(struct fev__header, off_tail, 64);
	OFF(struct fev__header, off_not_empty, 72);
	OFF(struct fev__header, off_not_full, 80);
	OFF(struct fev__header, off_attachers, 88);
	OFF(struct fev__header, off_slots, 96);
	OFF(struct fev__header, created_ns, 104);
	OFF(struct fev__header, creator_pid, 112);
	OFF(struct fev__header, partition, 116);
	OFF(struct fev__header, name, 120);
	FROZEN(sizeof(((struct fev__header *)0)->name), 64);
	OFF(struct fev__header, groups_max, 184);
	OFF(struct fev__header, sync, 188);
	OFF(struct fev__header, off_groups, 192);
	OFF(struct fev__header, off_slot_grps, 200);
	OFF(struct fev__header, reserved2, 208);
}

static void test_state_line_layout_is_frozen(void **state)
{
	(void)state;
	FROZEN(sizeof(struct fev__state_line), 128);
	OFF(struct fev__state_line, state, 0);
	OFF(struct fev__state_line, stats_seq, 4);
	OFF(struct fev__state_line, redelivered, 8);
	OFF(struct fev__state_line, tombstoned, 16);
	OFF(struct fev__state_line, repaired_attachers, 24);
	OFF(struct fev__state_line, retired_enqueued, 32);
	OFF(struct fev__state_line, retired_dequeued, 40);
	OFF(struct fev__state_line, retired_dropped, 48);
	OFF(struct fev__state_line, retired_full_waits, 56);
	OFF(struct fev__state_line, retired_sleeps, 64);
	OFF(struct fev__state_line, retired_wakes, 72);
	OFF(struct fev__state_line, attach_gen, 80);
	OFF(struct fev__state_line, groups_active, 84);
	OFF(struct fev__state_line, sp_owner, 88);
	OFF(struct fev__state_line, sc_owner, 92);
	OFF(struct fev__state_line, pad, 96);
}

static void test_cursor_and_wait_word_layout_is_frozen(void **state)
{
	(void)state;
	FROZEN(sizeof(struct fev__cursor), 128);
	FROZEN(_Alignof(struct fev__cursor), 128);
	OFF(struct fev__cursor, pos, 0);
	FROZEN(sizeof(struct fev__waitword), 128);
	FROZEN(_Alignof(struct fev__waitword), 128);
	OFF(struct fev__waitword, word, 0);
	/* The futex is the low half (sequence), the sleeper count the high. */
	FROZEN(FEV__WAIT_SEQ(UINT64_C(0x0000000500000007)), 7);
	FROZEN(FEV__WAIT_SLEEPERS(UINT64_C(0x0000000500000007)), 5);
	FROZEN(FEV__WAIT_ONE_SLEEPER, UINT64_C(1) << 32);
}

static void test_segment_sections_are_frozen(void **state)
{
	(void)state;
	FROZEN(sizeof(struct fev__segment), 896);
	OFF(struct fev__segment, hdr, 0);
	OFF(struct fev__segment, state_line, 256);
	OFF(struct fev__segment, head, 384);
	OFF(struct fev__segment, tail, 512);
	OFF(struct fev__segment, not_empty, 640);
	OFF(struct fev__segment, not_full, 768);
}

static void test_hold_record_and_attacher_layout_is_frozen(void **state)
{
	(void)state;
	FROZEN(sizeof(struct fev__holdrec), 16);
	OFF(struct fev__holdrec, pos, 0);
	OFF(struct fev__holdrec, n, 8);
	OFF(struct fev__holdrec, member, 12);
	FROZEN(sizeof(struct fev__attacher), 128);
	OFF(struct fev__attacher, state, 0);
	OFF(struct fev__attacher, roles, 4);
	OFF(struct fev__attacher, pid, 8);
	OFF(struct fev__attacher, group, 12);
	OFF(struct fev__attacher, start_time, 16);
	OFF(struct fev__attacher, attach_ns, 24);
	OFF(struct fev__attacher, prod, 32);
	OFF(struct fev__attacher, cons, 48);
	OFF(struct fev__attacher, enqueued, 64);
	OFF(struct fev__attacher, dequeued, 72);
	OFF(struct fev__attacher, dropped, 80);
	OFF(struct fev__attacher, full_waits, 88);
	OFF(struct fev__attacher, sleeps, 96);
	OFF(struct fev__attacher, wakes, 104);
	OFF(struct fev__attacher, hold_ns, 112);
	OFF(struct fev__attacher, pidns, 120);
}

static void test_slot_header_layout_is_frozen(void **state)
{
	(void)state;
	FROZEN(sizeof(struct fev__slot), 32);
	OFF(struct fev__slot, seq, 0);
	OFF(struct fev__slot, len, 8);
	OFF(struct fev__slot, flags, 12);
	OFF(struct fev__slot, attacher, 16);
	OFF(struct fev__slot, meta_len, 20);
	OFF(struct fev__slot, ts_ns, 24);
}

static void test_constants_in_shared_memory_are_frozen(void **state)
{
	(void)state;
	FROZEN(FEV__MAGIC, UINT64_C(0x2147455331564546));
	FROZEN(FEV__LINE, 128);
	FROZEN(FEV__SEG_LIVE, 1);
	FROZEN(FEV__SEG_DELETED, 2);
	FROZEN(FEV__ATT_FREE, 0);
	FROZEN(FEV__ATT_ATTACHING, 0x80000000u);
	FROZEN(FEV__ATT_ACTIVE, 2);
	FROZEN(FEV__ATT_REPAIRING, 3);
	FROZEN(FEV__SLOT_TOMBSTONE, 0x100);
	FROZEN(FEV__SLOT_META, 0x200);
	FROZEN(FEV_REDELIVERED, 0x1);
	FROZEN(FEV_POLICY_BLOCK, 0);
	FROZEN(FEV_POLICY_REJECT, 1);
	FROZEN(FEV_POLICY_DROP_OLDEST, 2);
	FROZEN(FEV_NAME_MAX, 63);
	FROZEN(FEV_GROUPS_MAX, 32);
	FROZEN(FEV__GROUP_REDO_MAX, 14);
	FROZEN(FEV__GROUP_FREE, 0);
	FROZEN(FEV__GROUP_CREATING, 1);
	FROZEN(FEV__GROUP_ACTIVE, 2);
	FROZEN(FEV__GROUP_DELETING, 3);
}

static void test_group_record_and_slot_words_are_frozen(void **state)
{
	(void)state;
	FROZEN(sizeof(struct fev__group), 384);
	OFF(struct fev__group, cursor, 0);
	OFF(struct fev__group, state, 128);
	OFF(struct fev__group, policy, 132);
	OFF(struct fev__group, start, 136);
	OFF(struct fev__group, until, 144);
	OFF(struct fev__group, redelivered, 152);
	OFF(struct fev__group, name, 160);
	OFF(struct fev__group, mode, 192);
	OFF(struct fev__group, next, 196);
	OFF(struct fev__group, lease, 200);
	OFF(struct fev__group, resume, 208);
	OFF(struct fev__group, session_ms, 216);
	OFF(struct fev__group, revoke, 224);
	OFF(struct fev__group, revoked, 232);
	OFF(struct fev__group, dropped, 240);
	OFF(struct fev__group, gap_seen, 248);
	OFF(struct fev__group, redo_head, 256);
	OFF(struct fev__group, redo_tail, 264);
	OFF(struct fev__group, redo, 272);
	FROZEN(sizeof(struct fev__slot_grp), 16);
	OFF(struct fev__slot_grp, done, 0);
	OFF(struct fev__slot_grp, taken, 8);
}

static void test_geometry_of_a_queue_is_frozen(void **state)
{
	struct fev__geometry g;

	(void)state;
	assert_int_equal(fev__geometry_compute(8, 64, 64, &g), 0);
	FROZEN(g.slot_size, 128);
	FROZEN(g.off_attachers, 896);
	FROZEN(g.off_slots, 9088);
	FROZEN(g.seg_size, 10112);
	assert_int_equal(fev__geometry_compute(1024, 0, 3, &g), 0);
	FROZEN(g.slot_size, 64);
	FROZEN(g.off_attachers, 896);
	FROZEN(g.off_slots, 1280);
	FROZEN(g.seg_size, 1280 + 1024 * 64);
	assert_int_equal(fev__geometry_compute(2, 1000, 64, &g), 0);
	FROZEN(g.slot_size, 1088);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_layout_is_frozen),
		cmocka_unit_test(test_state_line_layout_is_frozen),
		cmocka_unit_test(test_cursor_and_wait_word_layout_is_frozen),
		cmocka_unit_test(test_segment_sections_are_frozen),
		cmocka_unit_test(test_hold_record_and_attacher_layout_is_frozen),
		cmocka_unit_test(test_slot_header_layout_is_frozen),
		cmocka_unit_test(test_constants_in_shared_memory_are_frozen),
		cmocka_unit_test(test_geometry_of_a_queue_is_frozen),
		cmocka_unit_test(test_group_record_and_slot_words_are_frozen),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
