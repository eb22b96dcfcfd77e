/*
 * Ordered groups: who owns which partition (doc/design.md, "Ordered
 * groups").  In each partition's segment, an ordered group's record holds
 *
 *   lease   generation << 32 | owner's member id (0: nobody)
 *   next    the member id fevd wants the owner to hand over to (0: none)
 *   resume  the lowest position the last owner may have left owed: the
 *           next owner re-takes what is still owed from there up to the
 *           group's cursor, before anything else of the partition
 *
 * A member id names a member across partitions: its attacher record in
 * partition 0 (index + 1, low half) and a tag of that record's attach
 * time (high half), so a record reused by another member names another
 * id.  Ownership changes hands in two ways only, each once per
 * generation:
 *
 *   handover  the owner itself, in its own call, when next is set: it
 *             stores resume, forgets what it holds of the partition and
 *             CASes the lease to (generation + 1, next) (L1)
 *   orphan    fevd, when the owner is no member (it left or died) and no
 *             record of the group in that partition's segment is a dead
 *             process's still: CAS to (generation + 1, chosen member) (L1)
 *
 *   revoke    fevd, when the owner made no call for the group's session
 *             timeout (session_ms) and is in none now: below
 *
 * So a live owner's lease is changed by nobody but itself while it makes
 * calls, and a new owner never takes from a partition whose previous
 * owner may still take.
 *
 * Session timeout.  A member's beat (the member word of the producer hold
 * record of its partition-0 record) counts its calls: odd while it is in
 * one (acquire, release, owned, leave: between looking at a lease and the
 * ring operations that act on it), even outside, and FEV__BEAT_REVOKED
 * once it knows it was revoked.  A waiting member is outside (it waits
 * with fev_wait_any() and looks again at least every millisecond), so
 * only a member that makes no call, or is stopped in one's few hundred
 * nanoseconds, keeps a beat.  fevd notes when each member's beat last
 * moved; one that has not for session_ms is no member for the assignment,
 * and when its beat is even fevd revokes each of its partitions:
 *
 *   fevd                                  member, entering a call
 *   revoke = lease (L5)                   beat = odd (L4)
 *   F2 (membarrier)                       F1 (compiler barrier)
 *   beat still the stalled value? (L6)    lease (L2), revoke: revoke ==
 *     no: revoke = 0, give up              lease or lease not ours ->
 *     yes: clear the taken bits of what    revoked: never touches the
 *     its hold record names there,         partition again, and says
 *     resume = the lowest of that,         -EKEYREVOKED until it leaves
 *     the old resume and the cursor,
 *     lease CAS to (generation + 1,
 *     new owner) (L1)
 *
 * A Dekker pair, asymmetric as wait.h's F1/F2: either fevd sees the beat
 * move and leaves the lease alone, or the member sees revoke (or the new
 * lease) and leaves the partition alone.  The member's last call ended
 * with a release store of its beat (L6), which fevd's acquire load pairs
 * with: fevd reads a hold record the member no longer writes.  The
 * revoked member's hold record is its own: fevd never writes it; the
 * member forgets it at its next call (its taken bits were cleared by
 * fevd, and may be the new owner's by then).  Its releases are fenced by
 * the generation like any handover's.
 *
 * Synchronization:
 *   L1/L2  lease: the CAS that hands it over (release) and every member's
 *          load before it takes from the partition (acquire): resume and
 *          the narrowed hold record are visible to the new owner
 *   L3     next: fevd's store and the owner's load, both relaxed: next
 *          only says "hand over now"; the lease CAS decides
 *   L4/L5  beat (member's relaxed store on entering a call) and revoke
 *          (fevd's relaxed store): Dekker pair ordered by F1 in the member
 *          and F2 (membarrier) in fevd, see above
 *   L6     beat: the member's release store leaving a call, fevd's acquire
 *          load: its hold records are as that call left them
 */
#ifndef FEV_GROUP_ASSIGN_H
#define FEV_GROUP_ASSIGN_H

#include <stdbool.h>
#include <stdint.h>

#include "layout.h"

/* A member's beat: calls count by 2 (odd: in one); the top bit says it
 * knows it was revoked (it is no member for the assignment any more). */
#define FEV__BEAT_REVOKED 0x80000000u
#define FEV__BEAT_COUNT 0x7fffffffu

static inline bool fev__beat_in_call(uint32_t beat)
{
	return (beat & 1u) != 0;
}

static inline uint64_t fev__lease(uint32_t gen, uint32_t owner)
{
	return (uint64_t)gen << 32 | owner;
}

static inline uint32_t fev__lease_owner(uint64_t lease)
{
	return (uint32_t)lease;
}

static inline uint32_t fev__lease_gen(uint64_t lease)
{
	return (uint32_t)(lease >> 32);
}

/* The id of the member whose partition-0 record is index, attached at
 * attach_ns (never 0). */
static inline uint32_t fev__member_id(uint32_t index, uint64_t attach_ns)
{
	uint64_t t = attach_ns ^ attach_ns >> 16 ^ attach_ns >> 32 ^
		     attach_ns >> 48;

	return (uint32_t)(t & 0xffffu) << 16 | ((index + 1) & 0xffffu);
}

/* The partition-0 record an id names, or -1 for 0 or one out of range
 * (a forged lease). */
static inline int64_t fev__member_index(uint32_t id, uint32_t attacher_max)
{
	uint32_t i = id & 0xffffu;

	return i == 0 || i > attacher_max ? -1 : (int64_t)(i - 1);
}

/* Where a new owner starts taking back: resume, or a lap below the
 * cursor when resume is further (or ahead of it: forged). */
static inline uint64_t fev__resume_clamp(uint64_t resume, uint64_t cursor,
					 uint32_t capacity)
{
	if (resume > cursor || cursor - resume > capacity)
		return cursor > capacity ? cursor - capacity : 0;
	return resume;
}

/* Is record a (index) of partition 0 the live member called id? */
static inline bool fev__member_is(const struct fev__attacher *a,
				  uint32_t index, uint32_t id)
{
	return fev__member_id(index, a->attach_ns) == id;
}

/* The lease (L2: acquire, pairs with L1) of group record g. */
static inline uint64_t fev__lease_load(const struct fev__group *g)
{
	return atomic_load_explicit(&((struct fev__group *)g)->lease,
				    memory_order_acquire);
}

/* Hand the lease from `from` on to (generation + 1, owner); false when it
 * moved meanwhile (nobody but its owner, or fevd for an orphan, moves it:
 * a forged lease). */
static inline bool fev__lease_pass(struct fev__group *g, uint64_t from,
				   uint32_t owner)
{
	/* L1: pairs with L2 in fev__lease_load(): publishes resume and the
	 * previous owner's narrowed hold record. */
	return atomic_compare_exchange_strong_explicit(
		&g->lease, &from, fev__lease(fev__lease_gen(from) + 1, owner),
		memory_order_release, memory_order_relaxed);
}

#endif /* FEV_GROUP_ASSIGN_H */
