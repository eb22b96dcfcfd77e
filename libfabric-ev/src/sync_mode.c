#include "sync_mode.h"

#include <errno.h>

#include "fev/fev.h"

int fev__sync_check(uint32_t sync, uint32_t policy, uint32_t groups_max)
{
	if ((sync & ~FEV__SYNC_ALL) != 0)
		return -EINVAL;
	if (sync != 0 && groups_max != 0)
		return -ENOTSUP;
	if ((sync & FEV_SYNC_SC) && policy == FEV_POLICY_DROP_OLDEST)
		return -EINVAL;
	return 0;
}

const char *fev__sync_name(uint32_t sync)
{
	static const char *const names[] = { "mpmc", "spmc", "mpsc", "spsc" };

	return names[sync & FEV__SYNC_ALL];
}

static _Atomic uint32_t *owner_word(struct fev__map *m, unsigned side)
{
	return side == FEV_PRODUCER ? &m->seg->state_line.sp_owner :
				      &m->seg->state_line.sc_owner;
}

static unsigned single_sides(const struct fev__map *m, unsigned roles)
{
	unsigned sides = 0;

	if ((roles & FEV_PRODUCER) && (m->geo.sync & FEV_SYNC_SP))
		sides |= FEV_PRODUCER;
	if ((roles & FEV_CONSUMER) && (m->geo.sync & FEV_SYNC_SC))
		sides |= FEV_CONSUMER;
	return sides;
}

static int32_t owner_pid_of(const struct fev__map *m, uint32_t owner)
{
	/* A forged owner word may name any index: checked first. */
	if (owner == 0 || owner > m->geo.attacher_max)
		return 0;
	/* Relaxed: only for the caller's message. */
	return __atomic_load_n(&m->attachers[owner - 1].pid, __ATOMIC_RELAXED);
}

static void give_back_side(struct fev__map *m, unsigned side, uint32_t idx)
{
	uint32_t mine = idx + 1;

	/* O2: release, pairs with O1 of the next owner: our cursor stores
	 * and repairs come before its loads. */
	atomic_compare_exchange_strong_explicit(owner_word(m, side), &mine, 0,
						memory_order_release,
						memory_order_relaxed);
}

int fev__sync_claim(struct fev__map *m, uint32_t idx, unsigned roles,
		    int32_t *owner_pid)
{
	unsigned sides = single_sides(m, roles);

	*owner_pid = 0;
	for (unsigned side = FEV_PRODUCER; side <= FEV_CONSUMER; side <<= 1) {
		uint32_t owner = 0;

		if (!(sides & side))
			continue;
		/* O1: acq_rel; pairs with O2 of the previous owner. */
		if (atomic_compare_exchange_strong_explicit(
			    owner_word(m, side), &owner, idx + 1,
			    memory_order_acq_rel, memory_order_relaxed))
			continue;
		*owner_pid = owner_pid_of(m, owner);
		if (side == FEV_CONSUMER && (sides & FEV_PRODUCER))
			give_back_side(m, FEV_PRODUCER, idx);
		return -EBUSY;
	}
	return 0;
}

void fev__sync_give_back(struct fev__map *m, uint32_t idx)
{
	if (m->geo.sync & FEV_SYNC_SP)
		give_back_side(m, FEV_PRODUCER, idx);
	if (m->geo.sync & FEV_SYNC_SC)
		give_back_side(m, FEV_CONSUMER, idx);
}
