/*
 * Consumer groups: the table of a partition's groups, creating and deleting
 * them, their redelivery lists.  The data path is in consumer_group.h.
 */
#include "consumer_group.h"

#include <stdio.h>
#include <string.h>

#include "wait.h"

int fev_group_name_valid(const char *group)
{
	size_t n = group != NULL ? strlen(group) : 0;

	return n > 0 && n <= FEV_GROUP_NAME_MAX &&
			       fev_queue_name_valid(group) == 0 ?
		       0 :
		       -EINVAL;
}

static void group_name_set(struct fev__group *g, const char *name)
{
	memset(g->name, 0, sizeof(g->name));
	snprintf(g->name, sizeof(g->name), "%s", name);
}

void fev__groups_format(void *base, const struct fev__geometry *geo)
{
	struct fev__segment *seg = base;
	struct fev__group *g =
		(struct fev__group *)((uint8_t *)base + geo->off_groups);

	/* Relaxed: the whole segment is published by R5. */
	group_name_set(&g[0], "default");
	g[0].policy = FEV_GROUP_BLOCK;
	g[0].start = 0;
	atomic_store_explicit(&g[0].state, FEV__GROUP_ACTIVE,
			      memory_order_relaxed);
	atomic_store_explicit(&seg->state_line.groups_active, 1u,
			      memory_order_relaxed);
}

/* A name stored in shared memory: never trusted to be terminated. */
static bool name_is(const struct fev__group *g, const char *name)
{
	return strncmp(g->name, name, sizeof(g->name)) == 0 &&
	       strlen(name) < sizeof(g->name);
}

static uint32_t group_state(const struct fev__group *g)
{
	/* B7: pairs with B6 in fev__group_create_in(): filled in. */
	return atomic_load_explicit(&g->state, memory_order_acquire);
}

int fev__group_find(const struct fev__map *m, const char *name)
{
	for (uint32_t i = 0; i < m->geo.groups_max; i++)
		if (group_state(&m->groups[i]) == FEV__GROUP_ACTIVE &&
		    name_is(&m->groups[i], name))
			return (int)i;
	return -ENOENT;
}

void fev__grp_release_for(const struct fev__map *m, uint32_t gi,
			  uint64_t pos)
{
	if (fev__grp_release(m, pos, 1u << gi) == 1)
		fev__ring_release(&m->ring, pos);
}

/* Still group gi's to read: committed for pos's lap, not released by gi. */
bool fev__grp_owed(const struct fev__map *m, uint32_t gi, uint64_t pos)
{
	/* A2: pairs with R1: the stamp (B1) is visible. */
	uint64_t seq = atomic_load_explicit(
		&fev__ring_slot(&m->ring, pos)->seq, memory_order_acquire);
	/* Relaxed: ordered after the acquire above. */
	uint64_t done = atomic_load_explicit(&fev__grp_words(m, pos)->done,
					     memory_order_relaxed);

	return seq == pos + 1 &&
	       (uint32_t)(done >> 32) == fev__grp_lap(m, pos) &&
	       (done & (1u << gi)) == 0;
}

bool fev__grp_free_released(const struct fev__map *m, uint64_t pos)
{
	/* A2: pairs with R1: this lap's done word is the one we read. */
	uint64_t seq = atomic_load_explicit(
		&fev__ring_slot(&m->ring, pos)->seq, memory_order_acquire);
	/* B3-side acquire: every group's reads of the slot happened before
	 * the R2 below, as the last releaser's acq_rel CAS would give. */
	uint64_t done = atomic_load_explicit(&fev__grp_words(m, pos)->done,
					     memory_order_acquire);

	if (seq != pos + 1 || (uint32_t)(done >> 32) != fev__grp_lap(m, pos) ||
	    (uint32_t)done != UINT32_MAX)
		return false;
	/* R2, a CAS: with a live last releaser racing, one of us frees. */
	return fev__ring_release(&m->ring, pos);
}

/* Set gi in taken for pos's lap: false when it was set (taken already). */
bool fev__grp_take_bit(const struct fev__map *m, uint32_t gi, uint64_t pos)
{
	_Atomic uint64_t *t = &fev__grp_words(m, pos)->taken;
	uint32_t lap = fev__grp_lap(m, pos);
	uint64_t v = atomic_load_explicit(t, memory_order_relaxed);

	do {
		if ((uint32_t)(v >> 32) != lap || (v & (1u << gi)) != 0)
			return false;
		/* Relaxed: the bit only arbitrates between takers; the
		 * slot's data is ordered by fev__grp_owed()'s acquire. */
	} while (!atomic_compare_exchange_weak_explicit(
		t, &v, v | (1u << gi), memory_order_relaxed,
		memory_order_relaxed));
	return true;
}

void fev__grp_clear_taken(const struct fev__map *m, uint32_t gi,
			  uint64_t pos)
{
	/* Relaxed: published to members by B5 (the push after it). */
	atomic_fetch_and_explicit(&fev__grp_words(m, pos)->taken,
				  ~(uint64_t)(1u << gi), memory_order_relaxed);
}

int fev__grp_redo_pop(const struct fev__map *m, uint32_t gi,
		      struct fev__holder *h, uint64_t *pos)
{
	struct fev__group *g = &m->groups[gi];

	for (;;) {
		/* Relaxed: the CAS below decides. */
		uint64_t t = atomic_load_explicit(&g->redo_tail,
						  memory_order_relaxed);
		/* B4: pairs with B5 in fev__grp_redeliver(): the entry. */
		uint64_t hd = atomic_load_explicit(&g->redo_head,
						   memory_order_acquire);
		uint64_t e, p;
		bool had;

		if (t == hd || hd - t > FEV__GROUP_REDO_MAX)
			return 0; /* empty, or forged: nothing to trust */
		e = atomic_load_explicit(&g->redo[t % FEV__GROUP_REDO_MAX],
					 memory_order_relaxed);
		p = e - 1;
		fev__holder_intent(h, p, 1);
		/* R0: publishes the hold record, as the cursor CAS does. */
		if (!atomic_compare_exchange_strong_explicit(
			    &g->redo_tail, &t, t + 1, memory_order_seq_cst,
			    memory_order_relaxed)) {
			fev__holder_abandon(h);
			continue;
		}
		/* An ordered group's new owner may hold p already: it took it
		 * back from resume (member.c); then it stays held. */
		had = fev__holder_holds(h, p);
		fev__holder_took(h, p, 1);
		if (e != 0 && fev__grp_owed(m, gi, p) &&
		    fev__grp_take_bit(m, gi, p)) {
			*pos = p;
			return 1;
		}
		if (!had)
			fev__holder_drop(h, p, 1); /* stale: someone has it */
	}
}

int fev__grp_redeliver(struct fev__map *m, uint32_t gi, uint64_t pos,
		       uint64_t redo_tail)
{
	struct fev__group *g = &m->groups[gi];
	uint64_t hd, t;

	if (!fev__grp_owed(m, gi, pos))
		return 0;
	/* Relaxed: we are its only writer (one repairer per segment). */
	hd = atomic_load_explicit(&g->redo_head, memory_order_relaxed);
	/* Acquire: members' pops of the entries we overwrite are done. */
	t = atomic_load_explicit(&g->redo_tail, memory_order_acquire);
	if (hd - t >= FEV__GROUP_REDO_MAX)
		return -EAGAIN;
	/*
	 * An entry from redo_tail on may still name pos (not popped, or
	 * popped by a member this pass's snapshot did not see): pushing pos
	 * again would make two copies, and a member that pops the first and
	 * dies leaves the second to be dropped as taken: pos lost for good.
	 * When the list moved more than its length since the snapshot, the
	 * first of those entries are overwritten and cannot be checked:
	 * wait for the next pass, whose snapshot sees their poppers.
	 */
	if (hd - redo_tail > FEV__GROUP_REDO_MAX)
		return -EAGAIN;
	for (uint64_t i = redo_tail; i != hd; i++)
		if (atomic_load_explicit(&g->redo[i % FEV__GROUP_REDO_MAX],
					 memory_order_relaxed) == pos + 1)
			return 1; /* pushed already, not yet popped then */
	fev__grp_clear_taken(m, gi, pos);
	atomic_store_explicit(&g->redo[hd % FEV__GROUP_REDO_MAX], pos + 1,
			      memory_order_relaxed);
	/* B5: publishes the entry and the cleared bit; pairs with B4. */
	atomic_store_explicit(&g->redo_head, hd + 1, memory_order_release);
	atomic_fetch_add_explicit(&g->redelivered, 1, memory_order_relaxed);
	return 1;
}

static int free_index(struct fev__map *m, const char *name, uint32_t *out)
{
	int found = -ENOSPC;

	for (uint32_t i = 0; i < m->geo.groups_max; i++) {
		uint32_t st = group_state(&m->groups[i]);

		if (st != FEV__GROUP_FREE && name_is(&m->groups[i], name))
			return -EEXIST;
		if (st == FEV__GROUP_FREE && found < 0) {
			*out = i;
			found = 0;
		}
	}
	return found;
}

/* Positions the ring may still hold below head: [from, head). */
static uint64_t window_start(const struct fev__map *m, uint64_t head)
{
	return head > m->geo.capacity ? head - m->geo.capacity : 0;
}

/* earliest: make gi required again where the others still read. */
static void require_from(struct fev__map *m, uint32_t gi, uint64_t from,
			 uint64_t head)
{
	for (uint64_t p = from; p < head; p++) {
		_Atomic uint64_t *d = &fev__grp_words(m, p)->done;
		uint64_t v = atomic_load_explicit(d, memory_order_relaxed);

		while ((uint32_t)(v >> 32) == fev__grp_lap(m, p) &&
		       (uint32_t)v != UINT32_MAX && (v & (1u << gi)) != 0 &&
		       /* B3-side: against the releasers' CAS on done. */
		       !atomic_compare_exchange_weak_explicit(
			       d, &v, v & ~(uint64_t)(1u << gi),
			       memory_order_acq_rel, memory_order_relaxed))
			;
	}
}

/* The record's session timeout for the API's (0: the default). */
static uint32_t session_ms(const fev_group_config *cfg)
{
	if (cfg->mode != FEV_GROUP_ORDERED ||
	    cfg->session_timeout_ms == FEV_GROUP_SESSION_OFF)
		return 0;
	return cfg->session_timeout_ms != 0 ?
		       cfg->session_timeout_ms :
		       FEV_GROUP_SESSION_TIMEOUT_DEFAULT_MS;
}

int fev__group_create_in(struct fev__map *m, const char *name,
			 const fev_group_config *cfg)
{
	int start = cfg->start, policy = cfg->policy, mode = cfg->mode;
	struct fev__group *g;
	uint32_t gi = 0, expect = FEV__GROUP_FREE;
	uint64_t head, from;
	int rc;

	if (m->groups == NULL)
		return -EINVAL;
	if (fev_group_name_valid(name) < 0 ||
	    (start != FEV_GROUP_LATEST && start != FEV_GROUP_EARLIEST) ||
	    (policy != FEV_GROUP_BLOCK && policy != FEV_GROUP_DROP) ||
	    (mode != FEV_GROUP_SHARED && mode != FEV_GROUP_ORDERED))
		return -EINVAL;
	rc = free_index(m, name, &gi);
	if (rc < 0)
		return rc;
	g = &m->groups[gi];
	if (!atomic_compare_exchange_strong_explicit(
		    &g->state, &expect, FEV__GROUP_CREATING,
		    memory_order_acquire, memory_order_relaxed))
		return -EAGAIN; /* raced with another creator */
	group_name_set(g, name);
	g->policy = (uint32_t)policy;
	g->until = 0;
	g->mode = (uint32_t)mode;
	g->session_ms = session_ms(cfg);
	/* Relaxed: published by B6; nobody owns a partition yet. */
	atomic_store_explicit(&g->lease, 0, memory_order_relaxed);
	atomic_store_explicit(&g->next, 0, memory_order_relaxed);
	atomic_store_explicit(&g->resume, 0, memory_order_relaxed);
	atomic_store_explicit(&g->revoke, 0, memory_order_relaxed);
	atomic_store_explicit(&g->revoked, 0, memory_order_relaxed);
	atomic_store_explicit(&g->redelivered, 0, memory_order_relaxed);
	atomic_store_explicit(&g->dropped, 0, memory_order_relaxed);
	atomic_store_explicit(&g->gap_seen, 0, memory_order_relaxed);
	atomic_store_explicit(&g->redo_head, 0, memory_order_relaxed);
	atomic_store_explicit(&g->redo_tail, 0, memory_order_relaxed);
	/* B2: pairs with B1 in fev__grp_stamp(): from here on producers
	 * stamp their commits with this group. */
	atomic_fetch_or_explicit(&m->seg->state_line.groups_active, 1u << gi,
				 memory_order_seq_cst);
	head = atomic_load_explicit(&m->seg->head.pos, memory_order_seq_cst);
	from = window_start(m, head);
	g->start = start == FEV_GROUP_LATEST ? head : 0;
	if (start == FEV_GROUP_EARLIEST)
		require_from(m, gi, from, head);
	/* Relaxed: published by B6. */
	atomic_store_explicit(&g->cursor.pos, from, memory_order_relaxed);
	/* B6: the record is whole; pairs with B7 in openers. */
	atomic_store_explicit(&g->state, FEV__GROUP_ACTIVE,
			      memory_order_release);
	return (int)gi;
}

/* Is a live-or-unrepaired consumer record a member of gi? */
static bool has_members(const struct fev__map *m, uint32_t gi)
{
	for (uint32_t i = 0; i < m->geo.attacher_max; i++) {
		const struct fev__attacher *a = &m->attachers[i];
		/* A6: pairs with R6 in attach: group is filled in. */
		uint32_t st = atomic_load_explicit(&a->state,
						   memory_order_acquire);

		if (st != FEV__ATT_FREE && a->group == gi + 1)
			return true;
	}
	return false;
}

int fev__group_delete_in(struct fev__map *m, const char *name)
{
	struct fev__group *g;
	int gi;

	if (m->groups == NULL)
		return -ENOENT;
	gi = fev__group_find(m, name);
	if (gi < 0)
		return gi;
	g = &m->groups[gi];
	if (has_members(m, (uint32_t)gi))
		return -EBUSY;
	/* Seq_cst: as B2, now without the group; commits after the head
	 * we read next no longer wait for it. */
	atomic_fetch_and_explicit(&m->seg->state_line.groups_active,
				  ~(1u << gi), memory_order_seq_cst);
	g->until = atomic_load_explicit(&m->seg->head.pos,
					memory_order_seq_cst);
	atomic_store_explicit(&g->state, FEV__GROUP_DELETING,
			      memory_order_release);
	fev__groups_sweep(m);
	return 0;
}

/* Release what DELETING group gi owes; true when nothing is pending. */
static bool sweep_one(struct fev__map *m, uint32_t gi)
{
	struct fev__group *g = &m->groups[gi];
	uint64_t until = g->until;
	bool clean = true;

	for (uint64_t p = window_start(m, until); p < until; p++) {
		/* A1/A2: the slot's state for lap p. */
		uint64_t seq = atomic_load_explicit(
			&fev__ring_slot(&m->ring, p)->seq,
			memory_order_acquire);

		if (seq == p) {
			clean = false; /* reserved: its stamp may name us */
			continue;
		}
		if (fev__grp_owed(m, gi, p))
			fev__grp_release_for(m, gi, p);
	}
	return clean;
}

int fev__groups_sweep(struct fev__map *m)
{
	bool swept = false;
	int left = 0;

	for (uint32_t i = 0; m->groups != NULL && i < m->geo.groups_max;
	     i++) {
		struct fev__group *g = &m->groups[i];

		if (group_state(g) != FEV__GROUP_DELETING)
			continue;
		swept = true;
		if (!sweep_one(m, i)) {
			left++;
			continue;
		}
		memset(g->name, 0, sizeof(g->name));
		/* Release: the next creator sees the record cleared. */
		atomic_store_explicit(&g->state, FEV__GROUP_FREE,
				      memory_order_release);
	}
	if (swept) {
		fev__wait_fence(false); /* F1, full: we may be unregistered */
		fev__wait_wake_all(&m->seg->not_full);
	}
	return left;
}

uint64_t fev__groups_min_cursor(const struct fev__map *m, uint64_t head)
{
	uint64_t min = head;

	for (uint32_t i = 0; i < m->geo.groups_max; i++) {
		const struct fev__group *g = &m->groups[i];
		/* Relaxed: statistics. */
		uint64_t c = atomic_load_explicit(&g->cursor.pos,
						  memory_order_relaxed);

		if (group_state(g) == FEV__GROUP_ACTIVE && c < min &&
		    head - c <= m->geo.capacity)
			min = c;
	}
	return min;
}
