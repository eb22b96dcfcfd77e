#include "segment.h"
#include "sync_mode.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "consumer_group.h"
#include "memtrap.h"
#include "trust.h"

#define SEGMENT_SIZE_MAX (UINT64_C(1) << 36)
/* How long fev__map_open() waits for a segment still being created. */
#define READY_WAIT_NS (1000 * 1000 * 1000)

static uint64_t round_up(uint64_t v, uint64_t to)
{
	return (v + to - 1) / to * to;
}

int fev__geometry_compute(uint32_t capacity, uint32_t max_event,
			  uint32_t attacher_max, struct fev__geometry *g)
{
	if (capacity < FEV__CAPACITY_MIN || capacity > FEV__CAPACITY_MAX ||
	    (capacity & (capacity - 1)) != 0)
		return -EINVAL;
	if (max_event > FEV__MAX_EVENT_MAX)
		return -EINVAL;
	if (attacher_max == 0 || attacher_max > FEV__ATTACHERS_MAX)
		return -EINVAL;
	g->capacity = capacity;
	g->max_event = max_event;
	g->attacher_max = attacher_max;
	g->policy = 0;
	g->partitions = 1;
	g->partition = 0;
	g->slot_size = (uint32_t)round_up(sizeof(struct fev__slot) + max_event,
					  64);
	g->off_attachers = sizeof(struct fev__segment);
	g->off_slots = round_up(g->off_attachers + (uint64_t)attacher_max *
						   sizeof(struct fev__attacher),
				FEV__LINE);
	g->seg_size = g->off_slots + (uint64_t)capacity * g->slot_size;
	g->groups_max = 0;
	g->off_groups = 0;
	g->off_slot_grps = 0;
	g->sync = 0;
	if (g->seg_size > SEGMENT_SIZE_MAX)
		return -EINVAL;
	return 0;
}

/* Attachers, then the group table, the slots' group words, the slots. */
int fev__geometry_groups(struct fev__geometry *g, uint32_t groups_max)
{
	uint64_t tables;

	if (groups_max != 0 && groups_max != FEV_GROUPS_MAX)
		return -EINVAL;
	if (groups_max == 0)
		return 0;
	g->groups_max = groups_max;
	g->off_groups = g->off_slots;
	g->off_slot_grps = g->off_groups +
			   (uint64_t)groups_max * sizeof(struct fev__group);
	tables = round_up(g->off_slot_grps + (uint64_t)g->capacity *
						    sizeof(struct fev__slot_grp),
			  FEV__LINE) -
		 g->off_slots;
	g->off_slots += tables;
	g->seg_size += tables;
	return g->seg_size > SEGMENT_SIZE_MAX ? -EINVAL : 0;
}

static int validate_header(const struct fev__header *h, size_t len,
			   struct fev__geometry *g)
{
	struct fev__geometry want;
	/* Read once: checked, then kept. */
	uint32_t policy = h->policy, partition = h->partition, sync = h->sync;
	uint32_t partitions = h->partitions != 0 ? h->partitions : 1;

	if (h->header_size != sizeof(*h) || h->seg_size != len)
		return -EBADMSG;
	if (fev__geometry_compute(h->capacity, h->max_event, h->attacher_max,
				  &want) < 0 ||
	    fev__geometry_groups(&want, h->groups_max) < 0)
		return -EBADMSG;
	if (h->slot_size != want.slot_size ||
	    h->off_state_line != offsetof(struct fev__segment, state_line) ||
	    h->off_head != offsetof(struct fev__segment, head) ||
	    h->off_tail != offsetof(struct fev__segment, tail) ||
	    h->off_not_empty != offsetof(struct fev__segment, not_empty) ||
	    h->off_not_full != offsetof(struct fev__segment, not_full) ||
	    h->off_attachers != want.off_attachers ||
	    h->off_slots != want.off_slots || want.seg_size != len ||
	    h->off_groups != want.off_groups ||
	    h->off_slot_grps != want.off_slot_grps)
		return -EBADMSG;
	if (policy > FEV_POLICY_DROP_OLDEST)
		return -EBADMSG;
	if (partitions > FEV_PARTITIONS_MAX || partition >= partitions)
		return -EBADMSG;
	if (fev__sync_check(sync, policy, h->groups_max) < 0)
		return -EBADMSG;
	if (memchr(h->name, '\0', sizeof(h->name)) == NULL ||
	    fev_queue_name_valid(h->name) < 0)
		return -EBADMSG;
	want.policy = policy;
	want.partitions = partitions;
	want.partition = partition;
	want.sync = sync;
	*g = want;
	return 0;
}

int fev__segment_validate(const void *base, size_t len,
			  struct fev__geometry *g)
{
	const struct fev__segment *seg = base;
	uint64_t magic;

	if (len < sizeof(struct fev__segment))
		return len == 0 ? -EAGAIN : -EBADMSG;
	/* A5: pairs with R5 in fev__segment_format(): the header is whole. */
	magic = atomic_load_explicit(&seg->hdr.magic, memory_order_acquire);
	if (magic == 0)
		return -EAGAIN;
	if (magic != FEV__MAGIC)
		return -EBADMSG;
	if (seg->hdr.abi_major != FEV_ABI_MAJOR)
		return -EPROTO;
	return validate_header(&seg->hdr, len, g);
}

void fev__segment_format(void *base, const struct fev__geometry *g,
			 const char *queue, int policy)
{
	struct fev__segment *seg = base;
	struct fev__header *h = &seg->hdr;
	struct fev__ring ring;

	h->abi_major = FEV_ABI_MAJOR;
	h->abi_minor = FEV_ABI_MINOR;
	h->header_size = sizeof(*h);
	h->seg_size = g->seg_size;
	h->capacity = g->capacity;
	h->slot_size = g->slot_size;
	h->max_event = g->max_event;
	h->policy = (uint32_t)policy;
	h->attacher_max = g->attacher_max;
	h->partitions = g->partitions;
	h->partition = g->partition;
	h->groups_max = g->groups_max;
	h->sync = g->sync;
	h->off_groups = g->off_groups;
	h->off_slot_grps = g->off_slot_grps;
	h->off_state_line = offsetof(struct fev__segment, state_line);
	h->off_head = offsetof(struct fev__segment, head);
	h->off_tail = offsetof(struct fev__segment, tail);
	h->off_not_empty = offsetof(struct fev__segment, not_empty);
	h->off_not_full = offsetof(struct fev__segment, not_full);
	h->off_attachers = g->off_attachers;
	h->off_slots = g->off_slots;
	h->created_ns = fev__now_realtime_ns();
	h->creator_pid = getpid();
	snprintf(h->name, sizeof(h->name), "%s", queue);
	/* Relaxed: published by R5 below. */
	atomic_store_explicit(&seg->state_line.state, FEV__SEG_LIVE,
			      memory_order_relaxed);
	ring = (struct fev__ring){
		.head = &seg->head,
		.tail = &seg->tail,
		.slots = (uint8_t *)base + g->off_slots,
		.mask = g->capacity - 1,
		.capacity = g->capacity,
		.slot_size = g->slot_size,
	};
	fev__ring_format(&ring);
	if (g->groups_max > 0)
		fev__groups_format(base, g);
	/* R5: the segment is ready; pairs with A5 in fev__segment_validate(). */
	atomic_store_explicit(&h->magic, FEV__MAGIC, memory_order_release);
}

void fev__map_views(struct fev__map *m)
{
	uint8_t *base = (uint8_t *)m->seg;

	m->attachers = (struct fev__attacher *)(base + m->geo.off_attachers);
	m->groups = m->geo.groups_max == 0 ?
			    NULL :
			    (struct fev__group *)(base + m->geo.off_groups);
	m->slot_grps = m->geo.groups_max == 0 ?
			       NULL :
			       (struct fev__slot_grp *)(base +
							m->geo.off_slot_grps);
	m->lap_shift = (uint32_t)__builtin_ctz(m->geo.capacity);
	m->ring = (struct fev__ring){
		.head = &m->seg->head,
		.tail = &m->seg->tail,
		.slots = base + m->geo.off_slots,
		.mask = m->geo.capacity - 1,
		.capacity = m->geo.capacity,
		.slot_size = m->geo.slot_size,
	};
}

static void unmap(void *base, size_t len)
{
	if (fev__memtrap_installed())
		fev__memtrap_remove(base);
	munmap(base, len);
}

static int map_fd(int fd, bool writable, struct fev__map *m)
{
	struct stat st;
	void *base;
	int rc;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size == 0)
		return -EAGAIN; /* created, not yet sized */
	if ((uint64_t)st.st_size < sizeof(struct fev__segment) ||
	    (uint64_t)st.st_size > SEGMENT_SIZE_MAX)
		return -EBADMSG;
	base = mmap(NULL, (size_t)st.st_size,
		    writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED,
		    fd, 0);
	if (base == MAP_FAILED)
		return -errno;
	/* Watched before the first read: validating may fault already. */
	if (fev__memtrap_installed() &&
	    fev__memtrap_add(base, (size_t)st.st_size) < 0) {
		munmap(base, (size_t)st.st_size);
		return -ENOMEM;
	}
	rc = fev__segment_validate(base, (size_t)st.st_size, &m->geo);
	if (rc == 0 && fev__memtrap_installed() && fev__memtrap_tripped(base))
		rc = -EBADMSG; /* truncated under us: zeros were read */
	if (rc < 0) {
		unmap(base, (size_t)st.st_size);
		return rc;
	}
	m->seg = base;
	m->len = (size_t)st.st_size;
	m->dev = st.st_dev;
	m->ino = st.st_ino;
	m->owner = st.st_uid;
	m->writable = writable;
	fev__map_views(m);
	return 0;
}

/* Map fd, waiting (up to READY_WAIT_NS) while its creator finishes it. */
static int map_fd_when_ready(int fd, bool writable, struct fev__map *m)
{
	uint64_t give_up = fev__now_monotonic_ns() + READY_WAIT_NS;
	int rc;

	for (;;) {
		rc = map_fd(fd, writable, m);
		if (rc != -EAGAIN)
			return rc;
		if (fev__now_monotonic_ns() > give_up)
			return -EBADMSG; /* never became ready: a dead creator */
		nanosleep(&(struct timespec){ .tv_nsec = 1000 * 1000 }, NULL);
	}
}

int fev__map_fd(int fd, const char *instance, const char *queue,
		bool writable, struct fev__map *m)
{
	int rc;

	memset(m, 0, sizeof(*m));
	rc = fev__shm_name(m->shm_name, sizeof(m->shm_name), instance, queue);
	if (rc < 0)
		return rc;
	return map_fd_when_ready(fd, writable, m);
}

int fev__map_open(const char *instance, const char *queue, bool writable,
		  struct fev__map *m)
{
	struct stat st;
	int fd, rc;

	memset(m, 0, sizeof(*m));
	rc = fev__shm_name(m->shm_name, sizeof(m->shm_name), instance, queue);
	if (rc < 0)
		return rc;
	fd = fev__shm_open_trusted(m->shm_name, instance,
				   writable ? O_RDWR : O_RDONLY, &st);
	if (fd < 0)
		return fd;
	rc = map_fd_when_ready(fd, writable, m);
	close(fd);
	return rc;
}

void fev__map_close(struct fev__map *m)
{
	if (m->seg != NULL)
		unmap(m->seg, m->len);
	m->seg = NULL;
}

static void retire_one(_Atomic uint64_t *total, _Atomic uint64_t *counter)
{
	/* Relaxed: statistics; readers are kept out by R7/R8. */
	uint64_t v = atomic_exchange_explicit(counter, 0, memory_order_relaxed);

	atomic_fetch_add_explicit(total, v, memory_order_relaxed);
}

void fev__attacher_retire_counters(struct fev__state_line *f,
				   struct fev__attacher *a)
{
	retire_one(&f->retired_enqueued, &a->enqueued);
	retire_one(&f->retired_dequeued, &a->dequeued);
	retire_one(&f->retired_dropped, &a->dropped);
	retire_one(&f->retired_full_waits, &a->full_waits);
	retire_one(&f->retired_sleeps, &a->sleeps);
	retire_one(&f->retired_wakes, &a->wakes);
}

bool fev__partition_ours(const struct fev__map *m, const char *topic,
			 uint32_t partitions, uint32_t k)
{
	return m->geo.partitions == partitions && m->geo.partition == k &&
	       strncmp(m->seg->hdr.name, topic, sizeof(m->seg->hdr.name)) ==
		       0;
}

int fev__partition_map_ro(const char *instance, const char *topic,
			  uint32_t partitions, uint32_t k, struct fev__map *m)
{
	char seg[FEV__SEG_NAME_MAX + 1];
	uint64_t give_up = fev__now_monotonic_ns() + FEV__PARTITIONS_WAIT_NS;
	int rc = fev__partition_name(seg, sizeof(seg), topic, k);

	while (rc == 0) {
		rc = fev__map_open(instance, seg, false, m);
		if (rc != -ENOENT || fev__now_monotonic_ns() > give_up)
			break;
		nanosleep(&(struct timespec){ .tv_nsec = 1000 * 1000 }, NULL);
		rc = 0;
	}
	if (rc == 0 && !fev__partition_ours(m, topic, partitions, k)) {
		fev__map_close(m);
		rc = -EBADMSG;
	}
	return rc;
}
