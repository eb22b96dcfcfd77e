/* Administration: create, delete and inspect queue segments. */
/* renameat2() and RENAME_NOREPLACE */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "fev/fev.h"
#include "consumer_group.h"
#include "hops.h"
#include "memfit.h"
#include "segment.h"
#include "sync_mode.h"
#include "trust.h"
#include "wait.h"

static int check_config(const fev_queue_config *cfg)
{
	if (cfg == NULL || cfg->struct_size < sizeof(size_t) + 3 * 4)
		return -EINVAL;
	if (cfg->policy < FEV_POLICY_BLOCK ||
	    cfg->policy > FEV_POLICY_DROP_OLDEST)
		return -EINVAL;
	/* An older caller's struct may end before mode: not ours to read. */
	if (cfg->struct_size >= offsetof(fev_queue_config, mode) +
					sizeof(mode_t) &&
	    (cfg->mode & ~(mode_t)0777) != 0)
		return -EINVAL;
	return 0;
}

/* Fields added after the first release read as defaults when absent. */
static void read_config(const fev_queue_config *cfg, mode_t *mode,
			gid_t *group, uint32_t *attachers)
{
	size_t have = cfg->struct_size;

	*mode = have >= offsetof(fev_queue_config, mode) + sizeof(mode_t) &&
				cfg->mode != 0 ?
			cfg->mode :
			0600;
	/* 0, as a zero-initialised config holds, is the creator's group:
	 * never root's (see group.h). */
	*group = have >= offsetof(fev_queue_config, group) + sizeof(gid_t) &&
				 cfg->group != 0 ?
			 cfg->group :
			 (gid_t)-1;
	*attachers = have >= offsetof(fev_queue_config, attachers) +
					     sizeof(uint32_t) &&
				     cfg->attachers != 0 ?
			     cfg->attachers :
			     FEV__ATTACHERS_DEFAULT;
}

uint32_t fev__config_trace_hops(const fev_queue_config *cfg)
{
	return cfg->struct_size >= offsetof(fev_queue_config, trace_hops) +
					   sizeof(uint32_t) ?
		       cfg->trace_hops :
		       0;
}

/* FEV_SYNC_* bits; 0 (multi, multi) from a caller older than ABI 1.4. */
static uint32_t config_sync(const fev_queue_config *cfg)
{
	return cfg->struct_size >= offsetof(fev_queue_config, sync) +
					   sizeof(uint32_t) ?
		       cfg->sync :
		       0;
}

int fev__hops_create_for(const char *instance, const char *topic,
			 const fev_queue_config *cfg)
{
	uint32_t attachers, entries = fev__config_trace_hops(cfg);
	mode_t mode;
	gid_t group;

	if (entries == 0)
		return 0;
	read_config(cfg, &mode, &group, &attachers);
	return fev__hops_create(instance, topic, entries, mode, group);
}

static int size_and_format(int fd, const struct fev__geometry *g,
			   const char *queue, int policy)
{
	void *base;
	int rc;

	if (ftruncate(fd, (off_t)g->seg_size) < 0)
		return errno == EFBIG ? -ENOSPC : -errno;
	/* Reserve tmpfs pages now: a full /dev/shm must fail here, not
	 * SIGBUS a producer later. */
	rc = posix_fallocate(fd, 0, (off_t)g->seg_size);
	if (rc != 0)
		return rc == ENOSPC || rc == EFBIG ? -ENOSPC : -rc;
	base = mmap(NULL, g->seg_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		    0);
	if (base == MAP_FAILED)
		return -errno;
	fev__segment_format(base, g, queue, policy);
	munmap(base, g->seg_size);
	return 0;
}

/*
 * The name a segment is built under: "/fev.I.Q~PID".  '~' is not a queue
 * name character, so no one lists or opens it as a queue, and fevd knows
 * whose it was when its creator died half-way (fev__creating_pid()).
 */
static int temp_name(char *buf, size_t size, const char *name)
{
	int n = snprintf(buf, size, "%s" FEV__CREATING_SEP "%d", name,
			 (int)getpid());

	return n > 0 && (size_t)n < size ? 0 : -ENAMETOOLONG;
}

/* Does something already hold the name?  Checked before the work. */
static bool name_taken(const char *name)
{
	char path[FEV__SHM_NAME_MAX + 16];
	struct stat st;

	return fev__shm_path(path, sizeof(path), name) == 0 &&
	       lstat(path, &st) == 0;
}

/*
 * Build partition g->partition of topic (a queue: the one partition of a
 * topic of one) under its temporary name, whole; its path goes to tmp_path
 * and its final path to name_path.  The size is checked against the memory
 * limits first (issue 9, item 10): nothing is touched for a segment that
 * cannot fit.
 */
int fev__segment_build(const char *instance, const char *topic,
		       const fev_queue_config *cfg, struct fev__geometry *g,
		       char tmp_path[FEV__SEG_PATH_MAX],
		       char name_path[FEV__SEG_PATH_MAX])
{
	char seg[FEV__SEG_NAME_MAX + 1], name[FEV__SHM_NAME_MAX];
	char tmp[FEV__SHM_NAME_MAX + 16];
	uint32_t attachers, partitions = g->partitions;
	uint32_t partition = g->partition, groups_max = g->groups_max;
	gid_t group;
	mode_t mode;
	int fd, rc;

	rc = fev__partition_name(seg, sizeof(seg), topic, partition);
	if (rc < 0 || (rc = fev__shm_name(name, sizeof(name), instance,
					  seg)) < 0 ||
	    (rc = check_config(cfg)) < 0)
		return rc;
	read_config(cfg, &mode, &group, &attachers);
	rc = fev__geometry_compute(cfg->capacity, cfg->max_event, attachers,
				   g);
	if (rc < 0)
		return rc;
	g->partitions = partitions;
	g->partition = partition;
	rc = fev__geometry_groups(g, groups_max);
	if (rc < 0)
		return rc;
	g->sync = config_sync(cfg);
	rc = fev__sync_check(g->sync, (uint32_t)cfg->policy, g->groups_max);
	if (rc < 0)
		return rc;
	rc = fev__segment_fits(g->seg_size);
	if (rc < 0 || (rc = temp_name(tmp, sizeof(tmp), name)) < 0 ||
	    (rc = fev__shm_path(tmp_path, FEV__SEG_PATH_MAX, tmp)) < 0 ||
	    (rc = fev__shm_path(name_path, FEV__SEG_PATH_MAX, name)) < 0)
		return rc;
	fd = open(tmp_path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0)
		return -errno;
	/* fchmod, not the open mode: the umask must not narrow it. */
	if (fchmod(fd, mode) < 0 ||
	    (group != (gid_t)-1 && fchown(fd, (uid_t)-1, group) < 0))
		rc = -errno;
	if (rc == 0)
		rc = size_and_format(fd, g, topic, cfg->policy);
	close(fd);
	if (rc < 0)
		unlink(tmp_path);
	return rc;
}

/*
 * Build the segment under a temporary name and rename it into place only
 * when it is whole (issue 9, item 11): no one ever sees a half-created
 * segment under a queue's name, and a creator that dies leaves only a
 * temporary file fevd removes.
 */
int fev_queue_create(const char *queue, const fev_queue_config *cfg,
		     const char *instance)
{
	char tmp_path[FEV__SEG_PATH_MAX], name_path[FEV__SEG_PATH_MAX];
	char name[FEV__SHM_NAME_MAX];
	struct fev__geometry g = { .partitions = 1, .partition = 0 };
	int rc;

	if (fev_queue_name_valid(queue) < 0)
		return -EINVAL;
	rc = fev__shm_name(name, sizeof(name), instance, queue);
	if (rc < 0)
		return rc;
	if (name_taken(name))
		return -EEXIST;
	rc = fev__segment_build(instance, queue, cfg, &g, tmp_path,
				name_path);
	if (rc < 0)
		return rc;
	/* NOREPLACE: a queue created meanwhile under the name stays. */
	if (renameat2(AT_FDCWD, tmp_path, AT_FDCWD, name_path,
		      RENAME_NOREPLACE) < 0) {
		rc = -errno;
		unlink(tmp_path);
	} else if ((rc = fev__hops_create_for(instance, queue, cfg)) < 0) {
		(void)fev_queue_delete(queue, instance);
	}
	return rc;
}

int fev__segment_delete(const char *instance, const char *seg_name)
{
	struct fev__map m;
	int rc = fev__map_open(instance, seg_name, true, &m);

	if (rc == 0) {
		/* R4: pairs with A4 in the client: attached handles see
		 * -EIDRM; the wakes make sleepers look. */
		atomic_store_explicit(&m.seg->state_line.state, FEV__SEG_DELETED,
				      memory_order_release);
		fev__wait_fence(false); /* F1, full: we may be unregistered */
		fev__wait_wake_all(&m.seg->not_empty);
		fev__wait_wake_all(&m.seg->not_full);
		fev__map_close(&m);
	} else if (rc != -EBADMSG && rc != -EPROTO && rc != -EUCLEAN) {
		/* A corrupt segment, or a FIFO or stranger's file squatting
		 * the name, may still be removed: names stay recoverable. */
		return rc;
	}
	if (shm_unlink(m.shm_name) < 0)
		/* ENOENT after marking it: fevd saw the mark and finished
		 * the removal for us. */
		return rc == 0 && errno == ENOENT ? 0 : -errno;
	return 0;
}

static void sum_stats(const struct fev__map *m, fev_stats *out)
{
	const struct fev__state_line *f = &m->seg->state_line;

	memset(out, 0, sizeof(*out));
	out->capacity = m->geo.capacity;
	out->max_event = m->geo.max_event;
	out->policy = (int)m->geo.policy;
	out->depth = fev__ring_depth(&m->ring);
	if (m->groups != NULL) {
		/* Relaxed: statistics.  Behind the slowest group. */
		uint64_t head = atomic_load_explicit(&m->ring.head->pos,
						     memory_order_relaxed);

		out->depth = head - fev__groups_min_cursor(m, head);
	}
	/* Relaxed throughout: counters are monotonic statistics. */
	out->redelivered = atomic_load_explicit(&f->redelivered,
						memory_order_relaxed);
	out->tombstoned = atomic_load_explicit(&f->tombstoned,
					       memory_order_relaxed);
	out->enqueued = atomic_load_explicit(&f->retired_enqueued,
					     memory_order_relaxed);
	out->dequeued = atomic_load_explicit(&f->retired_dequeued,
					     memory_order_relaxed);
	out->dropped = atomic_load_explicit(&f->retired_dropped,
					    memory_order_relaxed);
	out->full_waits = atomic_load_explicit(&f->retired_full_waits,
					       memory_order_relaxed);
	out->sleeps = atomic_load_explicit(&f->retired_sleeps,
					   memory_order_relaxed);
	out->wakes = atomic_load_explicit(&f->retired_wakes,
					  memory_order_relaxed);
	out->deleted = atomic_load_explicit(&f->state, memory_order_relaxed) ==
		       FEV__SEG_DELETED;
	for (uint32_t i = 0; i < m->geo.attacher_max; i++) {
		const struct fev__attacher *a = &m->attachers[i];

		/* A6: pairs with R6 in attach: the record is filled in. */
		if (atomic_load_explicit(&a->state, memory_order_acquire) !=
		    FEV__ATT_ACTIVE)
			continue;
		out->producers += (a->roles & FEV_PRODUCER) != 0;
		out->consumers += (a->roles & FEV_CONSUMER) != 0;
		out->enqueued += atomic_load_explicit(&a->enqueued,
						      memory_order_relaxed);
		out->dequeued += atomic_load_explicit(&a->dequeued,
						      memory_order_relaxed);
		out->dropped += atomic_load_explicit(&a->dropped,
						     memory_order_relaxed);
		out->full_waits += atomic_load_explicit(&a->full_waits,
							memory_order_relaxed);
		out->sleeps += atomic_load_explicit(&a->sleeps,
						    memory_order_relaxed);
		out->wakes += atomic_load_explicit(&a->wakes,
						   memory_order_relaxed);
	}
	out->sleepers = FEV__WAIT_SLEEPERS(atomic_load_explicit(
				&m->seg->not_empty.word, memory_order_relaxed)) +
			FEV__WAIT_SLEEPERS(atomic_load_explicit(
				&m->seg->not_full.word, memory_order_relaxed));
}

/*
 * Retries while counters are moving to the retired totals (R7/R8).  A
 * retirer can be preempted mid-move, so after a few quick tries we yield,
 * until give_up_ns: a retirer killed mid-move leaves the marker behind,
 * and then a best-effort sum is all there is.
 */
#define STATS_PATIENCE_NS (20 * 1000 * 1000)
#define STATS_QUICK_TRIES 64

int fev__map_stats_by(const struct fev__map *m, fev_stats *out,
		      uint64_t give_up_ns)
{
	const _Atomic uint32_t *seq = &m->seg->state_line.stats_seq;

	for (int tries = 0;; tries++) {
		/* A7: pairs with R7/R8: a retirement that began is seen. */
		uint32_t before = atomic_load_explicit(seq,
						       memory_order_seq_cst);
		uint32_t after;

		sum_stats(m, out);
		/* A8: pairs with R8; the sums above happen before it. */
		atomic_thread_fence(memory_order_acquire);
		after = atomic_load_explicit(seq, memory_order_seq_cst);
		if (before == after && !FEV__STATS_BUSY(before))
			return 0; /* a steady read */
		if (tries < STATS_QUICK_TRIES)
			continue;
		if (fev__now_monotonic_ns() > give_up_ns)
			return -EBUSY; /* best effort */
		sched_yield();
	}
}

void fev__map_stats(const struct fev__map *m, fev_stats *out)
{
	(void)fev__map_stats_by(m, out,
				fev__now_monotonic_ns() + STATS_PATIENCE_NS);
}

int fev_queue_stats(const char *queue, const char *instance, fev_stats *out)
{
	struct fev__map m;
	int rc;

	if (out == NULL)
		return -EINVAL;
	rc = fev__map_open(instance, queue, false, &m);
	if (rc < 0)
		return rc;
	fev__map_stats(&m, out);
	fev__map_close(&m);
	return 0;
}
