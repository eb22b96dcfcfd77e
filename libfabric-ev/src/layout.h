/*
 * The shared-memory ABI of a queue segment.  Never installed.
 *
 * Every process maps the segment at its own address, so nothing here holds a
 * pointer: sections are found by offsets from the segment start.  Words that
 * different cores write sit FEV__LINE (128) bytes apart, so adjacent-line
 * prefetch cannot make them share.  Changing anything here changes the ABI:
 * tests/libfev/test_layout.c freezes the sizes and offsets.
 *
 *   0      header         immutable after creation, ready word last
 *   256    state line     state word, repair counters, retired counters
 *   384    head           producer cursor, never wraps
 *   512    tail           consumer cursor, never wraps
 *   640    not_empty      wait word consumers sleep on
 *   768    not_full       wait word producers sleep on
 *   896    attachers      attacher_max records of 128 bytes
 *   ...    slots          capacity slots of slot_size bytes, 128-aligned
 */
#ifndef FEV_LAYOUT_H
#define FEV_LAYOUT_H

#include <assert.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "fev/fev.h"
#include "fev/version.h"
#include "bounds.h"

#define FEV__LINE 128
#define FEV__MAGIC UINT64_C(0x2147455331564546) /* "FEV1SEG!" little-endian */


#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "fev's wait words put the futex in the low half: little-endian only"
#endif

/* Segment states (fev__state_line.state). */
enum fev__seg_state {
	FEV__SEG_LIVE = 1,
	FEV__SEG_DELETED = 2,
};

struct fev__header {
	_Atomic uint64_t magic; /* FEV__MAGIC, release-stored last: "ready" */
	uint16_t abi_major;
	uint16_t abi_minor;
	uint32_t header_size; /* sizeof(struct fev__header) */
	uint64_t seg_size;
	uint32_t capacity;    /* power of two */
	uint32_t slot_size;   /* bytes per slot, slot header included */
	uint32_t max_event;   /* largest payload */
	uint32_t policy;      /* FEV_POLICY_* */
	uint32_t attacher_max;
	/* Of the topic this segment is a partition of: 0 (ABI 1.1, before
	 * topics) reads as 1, a queue.  Checked against `partition`. */
	uint32_t partitions;
	uint64_t off_state_line;
	uint64_t off_head;
	uint64_t off_tail;
	uint64_t off_not_empty;
	uint64_t off_not_full;
	uint64_t off_attachers;
	uint64_t off_slots;
	uint64_t created_ns; /* CLOCK_REALTIME */
	int32_t creator_pid;
	uint32_t partition; /* this segment's index, 0 .. partitions - 1 */
	char name[64]; /* NUL-terminated queue (topic) name */
	/* Consumer groups (ABI 1.3; 0 in a queue: none, no table). */
	uint32_t groups_max;
	/* FEV_SYNC_SP | FEV_SYNC_SC (fev.h), fixed at create (ABI 1.4; 0:
	 * multi-producer, multi-consumer, as every segment before it). */
	uint32_t sync;
	uint64_t off_groups;    /* groups_max records (struct fev__group) */
	uint64_t off_slot_grps; /* capacity words (struct fev__slot_grp) */
	uint8_t reserved2[48];
};
static_assert(sizeof(struct fev__header) == 256, "header is 256 bytes");
static_assert(offsetof(struct fev__header, capacity) == 24, "ABI");
static_assert(offsetof(struct fev__header, off_slots) == 96, "ABI");
static_assert(offsetof(struct fev__header, partitions) == 44, "ABI");
static_assert(offsetof(struct fev__header, partition) == 116, "ABI");
static_assert(offsetof(struct fev__header, name) == 120, "ABI");
static_assert(offsetof(struct fev__header, groups_max) == 184, "ABI");
static_assert(offsetof(struct fev__header, off_slot_grps) == 200, "ABI");
static_assert(offsetof(struct fev__header, sync) == 188, "ABI");

/*
 * Written rarely: the state word (delete), the daemon's repair counters and
 * the counters of attachers that have left (folded in by fev_close).
 */
struct fev__state_line {
	_Atomic uint32_t state; /* enum fev__seg_state */
	/*
	 * Retirements in progress (low 16 bits) and done (high 16 bits,
	 * wrapping off the top): a stats reader retries while one runs or
	 * one ran, so counters moving from a record to the retired totals
	 * are never summed twice.
	 */
	_Atomic uint32_t stats_seq;
	_Atomic uint64_t redelivered;
	_Atomic uint64_t tombstoned;
	_Atomic uint64_t repaired_attachers;
	_Atomic uint64_t retired_enqueued;
	_Atomic uint64_t retired_dequeued;
	_Atomic uint64_t retired_dropped;
	_Atomic uint64_t retired_full_waits;
	_Atomic uint64_t retired_sleeps;
	_Atomic uint64_t retired_wakes;
	/*
	 * Bumped by every attach once its record is ACTIVE (G1): fevd reads a
	 * quiet queue's attacher table only when this moved, so its idle
	 * cost does not grow with the number of quiet queues.
	 */
	_Atomic uint32_t attach_gen;
	/* Bit g: group g reads every event committed from now on (a
	 * producer stamps the slot with it at commit, consumer_group.h). */
	_Atomic uint32_t groups_active;
	/*
	 * The side owners of a single-producer / single-consumer queue
	 * (header sync): the owner's attacher index + 1, 0 for none.  Taken
	 * by CAS at attach (O1), given back at close or by repair when it
	 * retires the owner's record (O2), so a second producer (consumer)
	 * is refused while the first is attached, dead or alive, until its
	 * record is repaired.
	 */
	_Atomic uint32_t sp_owner;
	_Atomic uint32_t sc_owner;
	uint8_t pad[FEV__LINE - 96];
};
static_assert(sizeof(struct fev__state_line) == FEV__LINE, "state line");

struct fev__cursor {
	alignas(FEV__LINE) _Atomic uint64_t pos;
	uint8_t pad[FEV__LINE - 8];
};
static_assert(sizeof(struct fev__cursor) == FEV__LINE, "cursor line");

/*
 * An eventcount: the low 32 bits are the futex sequence, the high 32 bits
 * the number of registered sleepers.  A waker clears the count in the same
 * CAS that bumps the sequence, so a woken sleeper never has to deregister
 * and publishes in between never see a stale "someone sleeps".
 */
struct fev__waitword {
	alignas(FEV__LINE) _Atomic uint64_t word;
	uint8_t pad[FEV__LINE - 8];
};
static_assert(sizeof(struct fev__waitword) == FEV__LINE, "wait line");

#define FEV__STATS_RETIRING UINT32_C(1)          /* one in progress */
#define FEV__STATS_RETIRED (UINT32_C(1) << 16)   /* one done */
#define FEV__STATS_BUSY(seq) (((seq) & 0xffffu) != 0)

#define FEV__WAIT_SEQ(w) ((uint32_t)(w))
#define FEV__WAIT_SLEEPERS(w) ((uint32_t)((w) >> 32))
#define FEV__WAIT_ONE_SLEEPER (UINT64_C(1) << 32)

/*
 * A hold record names the ring positions [pos, pos + n) that an attacher holds
 * or is about to take.  It is written before the CAS that takes them and
 * cleared once every position in it is committed or released, so a supervisor
 * can tell what a dead process left behind.
 */
struct fev__holdrec {
	_Atomic uint64_t pos;
	_Atomic uint32_t n; /* 0: holds nothing */
	/* An ordered group member's word (group_assign.h): in the consumer
	 * record its member id, in the producer record of its partition-0
	 * record its beat; 0 in every other record. */
	_Atomic uint32_t member;
};
static_assert(sizeof(struct fev__holdrec) == 16, "hold record");

enum fev__att_state {
	FEV__ATT_FREE = 0,
	FEV__ATT_ACTIVE = 2,
	FEV__ATT_REPAIRING = 3, /* owner is dead; the supervisor repairs */
};

/*
 * One per attached handle.  Only its owner writes the counters (plain
 * load + store of a relaxed atomic: a single writer needs no RMW), so the hot
 * path never writes a line another core writes.
 */
struct fev__attacher {
	_Atomic uint32_t state; /* enum fev__att_state */
	uint32_t roles;         /* FEV_PRODUCER | FEV_CONSUMER */
	int32_t pid;
	uint32_t group; /* a consumer's group index + 1; 0: none (a queue) */
	uint64_t start_time; /* /proc/PID/stat field 22, against pid reuse */
	uint64_t attach_ns;  /* CLOCK_REALTIME */
	struct fev__holdrec prod;
	struct fev__holdrec cons;
	_Atomic uint64_t enqueued;
	_Atomic uint64_t dequeued;
	_Atomic uint64_t dropped;
	_Atomic uint64_t full_waits;
	_Atomic uint64_t sleeps;
	_Atomic uint64_t wakes;
	/* CLOCK_REALTIME when a zero-copy call started to hold positions
	 * from idle; 0 after a copying call (it holds them for one copy). */
	_Atomic uint64_t hold_ns;
	/* Inode of the owner's pid namespace (/proc/self/ns/pid), which
	 * says what pid means; 0: unknown, never repaired (proc.h). */
	uint64_t pidns;
};
static_assert(sizeof(struct fev__attacher) == 128, "attacher record");
static_assert(offsetof(struct fev__attacher, prod) == 32, "ABI");
static_assert(offsetof(struct fev__attacher, enqueued) == 64, "ABI");
static_assert(offsetof(struct fev__attacher, pidns) == 120, "ABI");

/*
 * While its owner fills a record in, state is FEV__ATT_ATTACHING | its pid,
 * taken in one CAS from FREE: a supervisor can then free the record of an
 * owner that died right there.
 */
#define FEV__ATT_ATTACHING 0x80000000u
#define FEV__ATT_ATTACHING_PID(state) ((int32_t)((state) & 0x7fffffffu))

/* Slot flags; FEV_REDELIVERED (public) is bit 0, FEV_SAMPLED (public: the
 * event's traceparent is sampled, set by the producer at commit) bit 2;
 * bit 1, FEV_GAP, is a delivery's, never a slot's. */
#define FEV__SLOT_TOMBSTONE 0x100u
/* The first meta_len bytes of the payload area are the event's key and
 * headers (meta.h); without it meta_len means nothing.  ABI 1.2. */
#define FEV__SLOT_META 0x200u

/*
 * Consumer groups of a partition (consumer_group.h).  A record: the
 * group's cursor (its own tail) on a line of its own, a line written at
 * create and delete, and the positions repair hands back for redelivery.
 */
/* FEV_GROUPS_MAX (fev.h): one bit each in 32-bit masks. */
#define FEV__GROUP_REDO_MAX 14u

enum fev__group_state {
	FEV__GROUP_FREE = 0,
	FEV__GROUP_CREATING = 1, /* record taken, being filled in */
	FEV__GROUP_ACTIVE = 2,
	FEV__GROUP_DELETING = 3, /* out of groups_active; releases pending */
};

struct fev__group {
	struct fev__cursor cursor;
	_Atomic uint32_t state; /* enum fev__group_state */
	uint32_t policy;        /* FEV_GROUP_BLOCK or FEV_GROUP_DROP */
	uint64_t start;  /* events below it are released unread (latest) */
	uint64_t until;  /* DELETING: positions below it may still need it */
	_Atomic uint64_t redelivered;
	char name[FEV_GROUP_NAME_MAX + 1];
	/* An ordered group's ownership of this partition (group_assign.h):
	 * mode is set at create; lease, next and resume at handovers. */
	uint32_t mode;        /* FEV_GROUP_SHARED (0) or FEV_GROUP_ORDERED */
	_Atomic uint32_t next; /* member id the owner must hand over to */
	_Atomic uint64_t lease;  /* generation << 32 | owner member id */
	_Atomic uint64_t resume; /* re-take owed positions from here */
	/* Session timeout (set at create, 0: none), the lease fevd is
	 * taking from a member that made no call for that long (L5), and
	 * how many times it took one (group_assign.h). */
	uint32_t session_ms;
	uint32_t pad1;
	_Atomic uint64_t revoke;
	_Atomic uint64_t revoked;
	/* The drop policy (group_drop.h): events the group lost, and the
	 * count its last FEV_GAP announced. */
	_Atomic uint64_t dropped;
	_Atomic uint64_t gap_seen;
	/* Repair pushes (head), members pop (tail); entries are pos + 1. */
	_Atomic uint64_t redo_head;
	_Atomic uint64_t redo_tail;
	_Atomic uint64_t redo[FEV__GROUP_REDO_MAX];
};
static_assert(sizeof(struct fev__group) == 3 * FEV__LINE, "group record");
static_assert(offsetof(struct fev__group, state) == FEV__LINE, "ABI");
static_assert(offsetof(struct fev__group, redo_head) == 2 * FEV__LINE,
	      "ABI");
static_assert(offsetof(struct fev__group, dropped) == 2 * FEV__LINE - 16,
	      "ABI");
static_assert(offsetof(struct fev__group, lease) == FEV__LINE + 72, "ABI");
static_assert(offsetof(struct fev__group, revoked) + 8 ==
		      offsetof(struct fev__group, dropped),
	      "group record: the session fields fill the state line");

/*
 * Per slot, beside it: which groups released (done) and took from the
 * redo list (taken) this lap's event, tagged with the lap (high half) so a
 * late call of an earlier lap changes nothing.
 */
struct fev__slot_grp {
	_Atomic uint64_t done;
	_Atomic uint64_t taken;
};
static_assert(sizeof(struct fev__slot_grp) == 16, "slot group words");

/*
 * A slot is free for lap pos when seq == pos, full when seq == pos + 1, and
 * released back with seq = pos + capacity (Vyukov's bounded MPMC queue).
 * len counts everything after the header (meta and payload), so len <=
 * max_event bounds a slot, meta or not, and a reader older than ABI 1.2
 * sees an event's meta as the start of its payload, never past it.
 */
struct fev__slot {
	_Atomic uint64_t seq;
	uint32_t len;
	uint32_t flags;
	uint32_t attacher; /* index of the producer's record */
	uint32_t meta_len; /* with FEV__SLOT_META: key and headers, in len */
	uint64_t ts_ns;
	/* len bytes follow: meta_len of key and headers, then the payload */
};
static_assert(sizeof(struct fev__slot) == 32, "slot header");

struct fev__segment {
	struct fev__header hdr;
	struct fev__state_line state_line;
	struct fev__cursor head;
	struct fev__cursor tail;
	struct fev__waitword not_empty;
	struct fev__waitword not_full;
	/* attachers, then slots */
};
static_assert(offsetof(struct fev__segment, state_line) == 256, "ABI");
static_assert(offsetof(struct fev__segment, head) == 384, "ABI");
static_assert(offsetof(struct fev__segment, tail) == 512, "ABI");
static_assert(offsetof(struct fev__segment, not_empty) == 640, "ABI");
static_assert(offsetof(struct fev__segment, not_full) == 768, "ABI");
static_assert(sizeof(struct fev__segment) == 896, "ABI");

/* Where everything sits for a given geometry. */
struct fev__geometry {
	uint32_t capacity, slot_size, max_event, attacher_max;
	uint64_t off_attachers, off_slots, seg_size;
	/* From the validated header: the header may change after attach,
	 * so no one reads it again.  fev__geometry_compute() sets 0. */
	uint32_t policy;
	/* Of the topic (header partitions, 0 read as 1) and this segment's
	 * index; fev__geometry_compute() sets a queue's: 1 and 0. */
	uint32_t partitions, partition;
	/* Consumer groups: 0 (a queue) or FEV_GROUPS_MAX, and where. */
	uint32_t groups_max;
	uint64_t off_groups, off_slot_grps;
	/* Sync mode (FEV_SYNC_* bits), from the header; 0: multi, multi. */
	uint32_t sync;
};

/* 0 or -EINVAL; fills g from the three inputs (no groups). */
int fev__geometry_compute(uint32_t capacity, uint32_t max_event,
			  uint32_t attacher_max, struct fev__geometry *g);
/* Make room in g for groups_max groups (0 or FEV_GROUPS_MAX). */
int fev__geometry_groups(struct fev__geometry *g, uint32_t groups_max);

#endif /* FEV_LAYOUT_H */
