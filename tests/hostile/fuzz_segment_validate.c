/*
 * libFuzzer target for fev__segment_validate(), the one gate between a
 * mapped segment and everything that trusts its header.  Two ways in,
 * chosen by the first byte:
 *
 *   even: the rest of the input is the segment, as is;
 *   odd:  a valid segment is formatted (geometry from the next bytes, a
 *         topic's partition with consumer groups or not) and the rest of
 *         the input is laid over its header, so the fuzzer
 *         works near the valid headers it would rarely find alone.
 *
 * Whatever validate accepts must describe memory inside [base, base + len);
 * a violation aborts, and ASan/UBSan watch the validation itself.  In an
 * accepted partition, the group table (odd inputs: the bytes after those
 * laid over the header are laid over it) is then read as fev stat reads
 * it, fev__group_read() for every record: its numbers must stay within
 * the ring's bounds.
 *
 * When the formatted partition has consumer groups, the bytes after the
 * header's overlay are laid over group 0's ownership words (an ordered
 * group's mode, next, lease, resume), and what their readers make of every
 * group's words must stay inside the segment.
 *
 * A segment validate accepts is then read by a tail (tail.c) from its
 * earliest position: with the even way in, every slot's sequence, lengths
 * and meta are the fuzzer's; what the tail hands out must lie inside its
 * buffer of exactly max_event bytes, and every call must return.
 *
 * Every input, whole, is also an event's key-and-headers encoding (meta.h)
 * in a buffer of exactly its size: what fev__meta_parse() accepts must
 * point inside it, and fev_header_next() must walk it to the end without
 * leaving it.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "group_assign.h"
#include "hops.h"
#include "group_view.h"
#include "layout.h"
#include "meta.h"
#include "segment.h"
#include "tail.h"

static void check_accepted(const struct fev__geometry *g, size_t len)
{
	uint64_t slots_end = g->off_slots + (uint64_t)g->capacity * g->slot_size;
	uint64_t att_end = g->off_attachers +
			   (uint64_t)g->attacher_max *
				   sizeof(struct fev__attacher);

	if (g->capacity < 2 || (g->capacity & (g->capacity - 1)) != 0 ||
	    g->slot_size < sizeof(struct fev__slot) + g->max_event ||
	    g->off_attachers < sizeof(struct fev__segment) ||
	    att_end > g->off_slots || slots_end > len ||
	    g->seg_size != len || g->attacher_max == 0 ||
	    g->policy > FEV_POLICY_DROP_OLDEST)
		abort();
	/* Partitions and consumer groups (topics): indices in range, the
	 * group table and the slots' group words between the attachers and
	 * the slots. */
	if (g->partitions == 0 || g->partitions > FEV_PARTITIONS_MAX ||
	    g->partition >= g->partitions ||
	    (g->groups_max != 0 && g->groups_max != FEV_GROUPS_MAX))
		abort();
	if (g->groups_max != 0 &&
	    (g->off_groups < att_end ||
	     g->off_slot_grps < g->off_groups + (uint64_t)g->groups_max *
						       sizeof(struct fev__group) ||
	     g->off_slot_grps + (uint64_t)g->capacity *
					sizeof(struct fev__slot_grp) >
		     g->off_slots))
		abort();
}

static void check_inside(const void *p, size_t n, const uint8_t *buf,
			 size_t len)
{
	const uint8_t *b = p;

	if (n != 0 && (b < buf || b > buf + len || n > (size_t)(buf + len - b)))
		abort();
}

static void fuzz_meta(const uint8_t *data, size_t size)
{
	/* malloc of exactly size: ASan's redzone starts at the end. */
	uint8_t *buf = malloc(size != 0 ? size : 1);
	fev_event ev = { 0 };
	fev_header_iter it = { 0, 0 };
	fev_header h;
	uint32_t seen = 0;
	int rc;

	if (buf == NULL || size > UINT32_MAX) {
		free(buf);
		return;
	}
	memcpy(buf, data, size);
	if (fev__meta_parse(buf, (uint32_t)size, &ev) == 0) {
		check_inside(ev.key, ev.key_len, buf, size);
		while ((rc = fev_header_next(&ev, &it, &h)) == 1) {
			check_inside(h.name, h.name_len, buf, size);
			check_inside(h.value, h.value_len, buf, size);
			if (!fev__header_name_valid(h.name, h.name_len))
				abort();
			seen++;
		}
		/* Nothing changes the buffer: a parsed event walks cleanly. */
		if (rc != 0 || seen != ev.n_headers)
			abort();
	}
	free(buf);
}

/*
 * Every input is also a hop ring (hops.h): its header refused or its
 * entries read, each one returned plausible and inside the buffer.
 */
static void fuzz_hops(const uint8_t *data, size_t size)
{
	uint8_t *buf = aligned_alloc(64, (size + 64) / 64 * 64);
	struct fev__hop *out;
	struct fev__hops h;
	size_t n;

	if (buf == NULL)
		return;
	memcpy(buf, data, size);
	if (fev__hops_view(buf, size, &h) == 0) {
		out = malloc((size_t)h.entries * sizeof(*out));
		if (out != NULL) {
			n = fev__hops_read(&h, out);
			for (size_t i = 0; i < n; i++)
				if (out[i].kind < FEV__HOP_PUBLISHED ||
				    out[i].kind > FEV__HOP_RELEASED ||
				    out[i].partition >= FEV_PARTITIONS_MAX ||
				    out[i].comm[FEV__HOP_COMM_MAX - 1] != 0 ||
				    out[i].group[FEV_GROUP_NAME_MAX] != 0)
					abort();
			/* fev-otel's reading: the last lap of tickets by
			 * the (input's) counter, one at a time. */
			for (uint64_t t = fev__hops_tickets(&h) - h.entries,
				      k = 0;
			     k < h.entries; t++, k++)
				if (fev__hops_read_at(&h, t, &out[0]) &&
				    (out[0].kind < FEV__HOP_PUBLISHED ||
				     out[0].kind > FEV__HOP_RELEASED))
					abort();
		}
		free(out);
	}
	free(buf);
}

/* Overlay group 0's mode, next, lease and resume with input bytes. */
static void forge_ownership(uint8_t *group0, const uint8_t *data, size_t n)
{
	size_t at = offsetof(struct fev__group, mode);
	size_t words = offsetof(struct fev__group, resume) + 8 - at;

	for (size_t i = 0; i < n && i < words; i++)
		group0[at + i] ^= data[i];
}

/*
 * Whatever an ordered group's words say, what its readers make of them
 * stays inside the segment: an owner or next id names an attacher record
 * in the table or none, and a new owner takes back at most a lap below
 * the cursor (group_assign.h).
 */
static void check_ownership(const uint8_t *base, const struct fev__geometry *g)
{
	const struct fev__group *grp =
		(const struct fev__group *)(base + g->off_groups);

	for (uint32_t i = 0; i < g->groups_max; i++) {
		uint64_t lease = atomic_load(&((struct fev__group *)&grp[i])->lease);
		uint32_t ids[2] = {
			fev__lease_owner(lease),
			atomic_load(&((struct fev__group *)&grp[i])->next)
		};
		uint64_t cursor = atomic_load(
			&((struct fev__group *)&grp[i])->cursor.pos);
		uint64_t r = fev__resume_clamp(
			atomic_load(&((struct fev__group *)&grp[i])->resume),
			cursor, g->capacity);

		for (int j = 0; j < 2; j++) {
			int64_t idx = fev__member_index(ids[j],
							g->attacher_max);

			if (idx >= (int64_t)g->attacher_max || idx < -1)
				abort();
		}
		if (r > cursor || cursor - r > g->capacity)
			abort();
	}
}

/* A tail over the accepted segment: what it hands out stays in buf. */
static void fuzz_tail(uint8_t *base, size_t len, const struct fev__geometry *g)
{
	struct fev__map m = { .seg = (struct fev__segment *)base, .len = len,
			      .geo = *g };
	uint8_t *buf = malloc(g->max_event != 0 ? g->max_event : 1);
	fev_tail_event te;
	fev_tail *t;

	fev__map_views(&m);
	if (buf == NULL || fev__tail_of_map(&m, FEV_TAIL_EARLIEST, &t) < 0) {
		free(buf);
		return;
	}
	for (uint32_t i = 0; i < 2 * g->capacity; i++) {
		int rc = fev_tail_next(t, &te, buf, g->max_event, 0);

		if (rc == -EAGAIN)
			break;
		if (rc == 0) {
			check_inside(te.ev.data, te.ev.len, buf, g->max_event);
			check_inside(te.ev.key, te.ev.key_len, buf,
				     g->max_event);
		}
	}
	fev_tail_close(t);
	free(buf);
}

/* fev stat's reading of an accepted partition's groups stays bounded. */
static void fuzz_group_view(uint8_t *buf, size_t len,
			     const struct fev__geometry *g)
{
	struct fev__map m = { .seg = (struct fev__segment *)(void *)buf,
			      .len = len, .geo = *g };
	struct fev__group_view gs;

	fev__map_views(&m);
	for (uint32_t i = 0; i < g->groups_max; i++)
		if (fev__group_read(&m, i, &gs) == 0 &&
		    (gs.lag > g->capacity ||
		     gs.redo_waiting > FEV__GROUP_REDO_MAX ||
		     gs.members > g->attacher_max ||
		     fev_group_name_valid(gs.name) < 0))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* How many inputs validate accepted (for a driver that replays a corpus). */
size_t fev_fuzz_accepted;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fev__geometry g, made;
	size_t len = size > 0 ? size - 1 : 0;
	uint8_t *buf;
	int rc;

	fuzz_meta(data, size);
	fuzz_hops(data, size);
	if (size == 0)
		return 0;
	if ((data[0] & 1) == 0) {
		/* aligned_alloc: validate loads the magic atomically. */
		buf = aligned_alloc(64, (len + 64) / 64 * 64);
		if (buf == NULL)
			return 0;
		memcpy(buf, data + 1, len);
	} else {
		uint32_t cap = 2u << (data[0] >> 1) % 6;
		uint32_t max_event = size > 1 ? data[1] * 3u : 0;
		uint32_t att = 1 + (size > 2 ? data[2] % 8 : 0);
		size_t over = size > 3 ? size - 3 : 0;

		if (fev__geometry_compute(cap, max_event, att, &made) < 0)
			return 0;
		/* A topic's partition, with its group table, every other
		 * input that reaches here. */
		made.partitions = 1 + (size > 3 ? data[3] % 4 : 0);
		made.partition = made.partitions - 1;
		if (size > 3 && (data[3] & 4) != 0 &&
		    fev__geometry_groups(&made, FEV_GROUPS_MAX) < 0)
			return 0;
		len = made.seg_size;
		buf = aligned_alloc(64, len);
		if (buf == NULL)
			return 0;
		memset(buf, 0, len);
		fev__segment_format(buf, &made, "fuzz", (data[0] >> 6) % 3);
		if (over > sizeof(struct fev__header))
			over = sizeof(struct fev__header);
		for (size_t i = 0; i < over; i++)
			buf[i] ^= data[3 + i];
		/* What follows the header, over group 0's ownership words. */
		if (made.groups_max != 0)
			forge_ownership(buf + made.off_groups, data + 3 + over,
					size - 3 - over);
	}
	rc = fev__segment_validate(buf, len, &g);
	if (rc == 0) {
		check_accepted(&g, len);
		if (g.groups_max != 0)
			check_ownership(buf, &g);
		fuzz_group_view(buf, len, &g);
		fev_fuzz_accepted++;
		fuzz_tail(buf, len, &g);
	}
	free(buf);
	return 0;
}
