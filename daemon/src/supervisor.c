/*
 * The supervisor's lifecycle and event loop.
 *
 * Start: parse the config (all-or-nothing: a bad config creates nothing),
 * take the pidfile (one fevd per instance), adopt the segments the instance
 * already has (a restarted fevd keeps serving the events queued before),
 * create the configured queues that are missing, listen on the control
 * socket, and only then say "ready" (log, pidfile, sd_notify).
 *
 * Loop: one thread, one epoll set: signals (signalfd, so no work runs in a
 * signal handler), a stop eventfd, a periodic timerfd (the liveness scan),
 * the control socket and its peers, and one pidfd per attached process.
 *
 * Stop: close the socket, optionally delete the segments (unlink_on_exit),
 * remove the pidfile.  Segments are kept by default: the data path needs no
 * daemon, and the next fevd adopts them.
 */
#include "clock.h"
#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <bsd/libutil.h>
#include <bsd/string.h>
#include <systemd/sd-daemon.h>

#include "instance.h"
#include "instance_lock.h"
#include "internal.h"
#include "leftovers.h"
#include "rundir.h"
#include "log.h"
#include "memtrap.h"
#include "names.h"
#include "shm_watch.h"
#include "trust.h"
#include "wait.h"

#define RESCAN_NS (1000ull * 1000 * 1000)

/* ---- epoll ------------------------------------------------------------- */

void fevd_epoll_add(struct fevd *d, int fd, enum fevd_tag tag)
{
	struct epoll_event ev = {
		.events = EPOLLIN | (tag == FEVD_TAG_CLIENT ? EPOLLRDHUP : 0),
		.data.u64 = ((uint64_t)tag << 32) | (uint32_t)fd,
	};

	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		fevd_err("epoll_ctl(ADD %d): %s", fd, strerror(errno));
}

void fevd_epoll_del(struct fevd *d, int fd)
{
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, fd, NULL);
}

/* ---- queues ------------------------------------------------------------ */

static void warn_if_different(const struct fevd_queue *q,
			      const struct fevd_queue_conf *c)
{
	if (q->conf.capacity == c->capacity &&
	    q->conf.max_event == c->max_event && q->conf.policy == c->policy &&
	    q->conf.partitions == c->partitions)
		return;
	fevd_warn("queue '%s' exists with capacity=%u max_event=%u policy=%s "
		  "partitions=%u; the config says capacity=%u max_event=%u "
		  "policy=%s partitions=%u; kept as it is (delete it while "
		  "empty to re-create it)",
		  q->name, q->conf.capacity, q->conf.max_event,
		  fev__policy_name(q->conf.policy), q->conf.partitions,
		  c->capacity, c->max_event, fev__policy_name(c->policy),
		  c->partitions);
}

/*
 * Open a segment for adoption: trusted (fev__shm_open_trusted: no FIFO, no
 * link, no file of an untrusted owner), read-write, kept open by the queue
 * so its size can be checked against the mapping.  The segment is then
 * mapped through this very fd (adopt()): opening the name again could map
 * a segment deleted and re-created in between.  The fd, or -errno.
 */
static int open_segment(const struct fevd *d, const char *name)
{
	char shm[FEV__SHM_NAME_MAX];
	struct stat st;
	int rc;

	rc = fev__shm_name(shm, sizeof(shm), d->instance, name);
	if (rc < 0)
		return rc;
	return fev__shm_open_trusted(shm, d->instance, O_RDWR, &st);
}

static int adopt(struct fevd *d, const char *name, enum fevd_origin origin,
		 struct fevd_queue **out)
{
	struct fev__map map;
	struct fevd_queue *q;
	int segfd = open_segment(d, name);
	int rc;

	if (segfd < 0)
		return segfd;
	rc = fev__map_fd(segfd, d->instance, name, true, &map);
	if (rc == 0 && atomic_load_explicit(&map.seg->state_line.state,
					    memory_order_acquire) ==
			       FEV__SEG_DELETED) {
		/* A4: pairs with R4 in fev__segment_delete(): going away. */
		fev__map_close(&map);
		rc = -EIDRM;
	}
	if (rc < 0) {
		close(segfd);
		return rc;
	}
	q = fevd_queue_new(name, &map, origin);
	if (q == NULL) {
		close(segfd);
		return -ENOMEM;
	}
	q->segfd = segfd;
	/* Its checks at its own time: 10,000 queues adopted at once must
	 * not all come due in one later turn of the loop. */
	q->next_read_ns = fevd_spread(fev__now_monotonic_ns(),
				      FEVD_TABLE_READ_NS);
	q->next_deep_ns = fevd_spread(fev__now_monotonic_ns(),
				      FEVD_DEEP_CHECK_NS);
	rc = fevd_registry_add(&d->reg, q);
	if (rc == 0 && out != NULL)
		*out = q;
	return rc;
}

/*
 * Take a queue's name back from what squats it: a FIFO, a link or another
 * user's file (item 4 of issue 9); a half-created segment of our own is
 * removed by create_segment() (item 11).  Root can remove anything in sticky
 * /dev/shm; a non-root fevd cannot, and says so.  0 when the name was
 * freed, -EEXIST when it holds a trusted segment (adopt that), or -errno.
 */
static int evict_untrusted(struct fevd *d, const char *name)
{
	char shm[FEV__SHM_NAME_MAX], path[FEV__SHM_NAME_MAX + 16];
	struct stat st;
	int rc = fev__shm_name(shm, sizeof(shm), d->instance, name);

	if (rc < 0 || (rc = fev__shm_path(path, sizeof(path), shm)) < 0)
		return rc;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (S_ISREG(st.st_mode) && fev__uid_trusted(st.st_uid, d->instance))
		return -EEXIST;
	if (unlink(path) < 0) {
		rc = -errno;
		fevd_err("queue '%s': %s is a %s of uid %u that fevd does not "
			 "trust, and fevd cannot remove it (%s): have root "
			 "remove it",
			 name, path, S_ISREG(st.st_mode) ? "file" : "non-file",
			 (unsigned)st.st_uid, strerror(-rc));
		return -EUCLEAN;
	}
	fevd_warn("queue '%s': removed %s, a %s owned by uid %u (mode %04o) "
		  "that fevd does not trust; creating the queue in its place",
		  name, path, S_ISREG(st.st_mode) ? "file" : "non-file",
		  (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
	return 0;
}

/* Squatters are removed and the create retried, a few times at most. */
#define EVICT_TRIES 3

/* A queue, or every partition of a topic (partition 0 named as it). */
static int create_segments(struct fevd *d, const struct fevd_queue_conf *c,
			   const fev_queue_config *qc)
{
	return c->topic ? fev_topic_create(c->name, c->partitions, qc,
					   d->instance) :
			  fev_queue_create(c->name, qc, d->instance);
}

static int create_segment(struct fevd *d, const struct fevd_queue_conf *c,
			  const fev_queue_config *qc)
{
	const char *name = c->name;
	int rc = create_segments(d, c, qc);

	for (int i = 0; rc == -EEXIST && i < EVICT_TRIES; i++) {
		int e = evict_untrusted(d, name);

		if (e == -EEXIST) /* trusted: ours to adopt, unless unfinished */
			e = fevd_remove_broken(d, name, true);
		if (e < 0)
			return e;
		rc = create_segments(d, c, qc);
	}
	return rc;
}

static void log_adopted(struct fevd_queue *q)
{
	fev_stats st;

	fev__map_stats(&q->map, &st);
	fevd_notice("adopted queue '%s' (capacity %llu, max_event %u, policy "
		    "%s, %llu events queued, %u producers, %u consumers)",
		    q->name, (unsigned long long)st.capacity, st.max_event,
		    fev__policy_name(st.policy), (unsigned long long)st.depth,
		    st.producers, st.consumers);
}

/*
 * The config's mode and group hold for a queue fevd adopts (issue 9, item
 * 4): a segment found wider than the config says is narrowed, loudly.  A
 * process that opened it while it was wider keeps its mapping until it
 * closes: that is said, not hidden.
 */
static void enforce_access(const struct fevd_queue *q,
			   const struct fevd_queue_conf *c)
{
	struct stat st;
	bool group_differs;

	if (q->segfd < 0 || fstat(q->segfd, &st) < 0)
		return;
	group_differs = c->group != (gid_t)-1 && st.st_gid != c->group;
	if ((st.st_mode & 07777) == c->mode && !group_differs)
		return;
	if (fchmod(q->segfd, c->mode) < 0 ||
	    (group_differs && fchown(q->segfd, (uid_t)-1, c->group) < 0)) {
		fevd_err("queue '%s' has mode %04o, group %u; the config says "
			 "mode %04o%s%s, and fevd cannot change it: %s",
			 q->name, (unsigned)(st.st_mode & 07777),
			 (unsigned)st.st_gid, (unsigned)c->mode,
			 c->group_name[0] ? ", group " : "", c->group_name,
			 strerror(errno));
		return;
	}
	fevd_warn("queue '%s' had mode %04o, group %u; the config says mode "
		  "%04o%s%s: changed (processes that opened it before keep "
		  "their access until they close it)",
		  q->name, (unsigned)(st.st_mode & 07777), (unsigned)st.st_gid,
		  (unsigned)c->mode, c->group_name[0] ? ", group " : "",
		  c->group_name);
}

/*
 * Watch partitions 1 .. P - 1 of a topic just created, before the request
 * is answered (the rescan would find them, a tick later).  A failure is
 * left to the rescan, which retries and says why.
 */
static void adopt_partitions(struct fevd *d, const struct fevd_queue_conf *c)
{
	char seg[FEV__SEG_NAME_MAX + 1];

	for (uint32_t k = 1; k < c->partitions; k++)
		if (fev__partition_name(seg, sizeof(seg), c->name, k) == 0)
			(void)adopt(d, seg, FEVD_ORIGIN_ADOPTED, NULL);
}

int fevd_queue_create_adopt(struct fevd *d, const struct fevd_queue_conf *c,
			    enum fevd_origin origin, bool adopt_existing)
{
	fev_queue_config qc = {
		.struct_size = sizeof(qc),
		.capacity = c->capacity,
		.max_event = c->max_event,
		.policy = c->policy,
		.mode = c->mode,
		.group = c->group,
		.attachers = c->attachers,
		.trace_hops = c->trace_hops,
		.sync = c->sync,
	};
	struct fevd_queue *q = NULL;
	int rc;

	rcu_read_lock();
	q = fevd_registry_find(&d->reg, c->name);
	rcu_read_unlock();
	if (q != NULL) {
		if (!adopt_existing)
			return -EEXIST;
		warn_if_different(q, c);
		enforce_access(q, c);
		q->configured |= origin == FEVD_ORIGIN_CONFIG;
		return 0;
	}
	rc = create_segment(d, c, &qc);
	if (rc == -EEXIST && adopt_existing) {
		rc = adopt(d, c->name, FEVD_ORIGIN_ADOPTED, &q);
		if (rc == 0) {
			log_adopted(q);
			warn_if_different(q, c);
			enforce_access(q, c);
		}
	} else if (rc == 0) {
		rc = adopt(d, c->name, origin, &q);
		if (rc == 0)
			adopt_partitions(d, c);
		if (rc == 0)
			fevd_notice("created queue '%s' (capacity %u, "
				    "max_event %u, policy %s, partitions %u, "
				    "mode %04o%s%s)",
				    c->name, c->capacity, c->max_event,
				    fev__policy_name(c->policy), c->partitions,
				    (unsigned)c->mode,
				    c->group_name[0] ? ", group " : "",
				    c->group_name);
	}
	if (rc == 0) {
		q->conf.mode = c->mode;
		q->conf.group = c->group;
		q->configured = origin == FEVD_ORIGIN_CONFIG;
	}
	return rc;
}

int fevd_queue_destroy(struct fevd *d, struct fevd_queue *q)
{
	int rc = fev_queue_delete(q->name, d->instance);

	if (rc < 0 && rc != -ENOENT)
		return rc;
	fevd_notice("deleted queue '%s'", q->name);
	fevd_registry_remove(&d->reg, q);
	return 0;
}

/*
 * Is the segment past creation?  fev__map_open() waits up to a second for
 * a segment whose creator has not finished; a creator that died leaves one
 * that never finishes, and the loop must not stall on it every rescan.
 */
static bool segment_ready(const struct fevd *d, const char *name)
{
	char shm[FEV__SHM_NAME_MAX];
	struct stat st;
	uint64_t magic = 0;
	int fd;

	if (fev__shm_name(shm, sizeof(shm), d->instance, name) < 0)
		return false;
	fd = fev__shm_open_trusted(shm, d->instance, O_RDONLY, &st);
	if (fd < 0) /* let adopt() report these */
		return fd == -EACCES || fd == -EUCLEAN || fd == -ENOENT;
	if ((size_t)st.st_size >= sizeof(struct fev__header) &&
	    pread(fd, &magic, sizeof(magic), 0) != (ssize_t)sizeof(magic))
		magic = 0;
	close(fd);
	return magic != 0;
}

/*
 * Say once, not every rescan, that a segment cannot be adopted: every name
 * is remembered while its segment stays (FEVD_NAMESET_MAX of them); past
 * that, one line per interval says how many more there are.
 */
static bool first_complaint(struct fevd *d, const char *name)
{
	uint64_t held;
	int rc = fevd_nameset_add(&d->bad, name);

	if (rc >= 0)
		return rc == 1;
	if (fevd_ratelimit_pass(&d->log_bad, &held))
		fevd_warn("more than %d segments of instance %s cannot be "
			  "adopted; %llu more complaints held back in the "
			  "last %llu s",
			  FEVD_NAMESET_MAX, d->instance,
			  (unsigned long long)held,
			  FEVD_RATELIMIT_NS / 1000000000ull);
	return false;
}

/*
 * Untrusted files under queue names are anyone's to make, remove and make
 * again: once per name is still a line per appearance, so they share one
 * rate limit (the soak's attacker made fevd write 150 lines a second).
 */
static void complain_untrusted(struct fevd *d, const char *name)
{
	uint64_t held;

	if (!first_complaint(d, name) ||
	    !fevd_ratelimit_pass(&d->log_untrusted, &held))
		return;
	fevd_warn("cannot adopt queue '%s': %s; left as it is (%llu more "
		  "such complaints held back in the last %llu s)",
		  name, fev_strerror(-EUCLEAN), (unsigned long long)held,
		  FEVD_RATELIMIT_NS / 1000000000ull);
}

static int rescan_one(const char *name, void *arg)
{
	struct fevd *d = arg;
	struct fevd_queue *q;
	int rc;

	rcu_read_lock();
	q = fevd_registry_find(&d->reg, name);
	rcu_read_unlock();
	if (q != NULL)
		return 0;
	rc = segment_ready(d, name) ? adopt(d, name, FEVD_ORIGIN_ADOPTED, &q) :
				      -EAGAIN;
	d->relist |= rc == -EAGAIN; /* look again until finished or removed */
	if (rc == -EAGAIN && fevd_remove_broken(d, name, false) == 0)
		return 0;
	if (rc == 0)
		log_adopted(q);
	else if (rc == -EUCLEAN)
		complain_untrusted(d, name);
	else if (rc != -EIDRM && rc != -ENOENT && rc != -EEXIST &&
		 first_complaint(d, name))
		fevd_warn("cannot adopt queue '%s': %s; left as it is", name,
			  rc == -EAGAIN ? "its creator never finished it" :
					  fev_strerror(rc));
	return 0;
}

/* Why a queue's segment can no longer be served as it is. */
enum gone_why {
	GONE_NOT,
	GONE_DELETED,   /* its state word says DELETED */
	GONE_TRUNCATED, /* a writer shrank it (memtrap.h) */
	GONE_REPLACED,  /* its name was removed or re-used (rm) */
};

/* Does /dev/shm's name of q still lead to the file q maps? */
static bool name_is_ours(const struct fevd_queue *q, char *path,
			 size_t size)
{
	struct stat st;

	return fev__shm_path(path, size, q->map.shm_name) == 0 &&
	       lstat(path, &st) == 0 && st.st_dev == q->map.dev &&
	       st.st_ino == q->map.ino;
}

/*
 * deep: also ask the kernel (the file's size, where its name leads).
 * Without it, only memory is read: what inotify reports needs no more.
 */
static enum gone_why gone(const struct fevd_queue *q, bool deep)
{
	char path[FEV__SHM_NAME_MAX + 16];
	struct stat st;

	/* A4: pairs with R4 in fev__segment_delete(). */
	if (atomic_load_explicit(&q->map.seg->state_line.state,
				 memory_order_acquire) == FEV__SEG_DELETED)
		return GONE_DELETED;
	if (fev__memtrap_tripped(q->map.seg))
		return GONE_TRUNCATED;
	if (!deep)
		return GONE_NOT;
	if (q->segfd >= 0 && fstat(q->segfd, &st) == 0 &&
	    (uint64_t)st.st_size != q->map.len)
		return GONE_TRUNCATED;
	if (!name_is_ours(q, path, sizeof(path)))
		return GONE_REPLACED;
	return GONE_NOT;
}

/*
 * Let go of a queue whose segment is deleted, truncated or replaced, and
 * free its name for a new one (issue 9, items 2, 9 and 15): a segment left
 * at the name with a DELETED state word or cut short would wedge the name
 * for good, and only the file we map is removed, never one re-created
 * there since.  Attached processes of a replaced segment are told it is
 * deleted (R4), so they reopen the name; apply_missing() re-creates a
 * configured one.
 */
static void let_go(struct fevd *d, struct fevd_queue *q, enum gone_why why)
{
	char path[FEV__SHM_NAME_MAX + 16];
	bool configured = q->configured;

	if (why == GONE_DELETED)
		fevd_notice("queue '%s' was deleted by another process",
			    q->name);
	else if (why == GONE_TRUNCATED)
		fevd_warn("queue '%s' was truncated by a process with write "
			  "access; its events are lost; removed%s",
			  q->name, configured ? " and re-created" : "");
	else
		fevd_warn("queue '%s' was removed from /dev/shm behind fevd's "
			  "back; attached processes are told it is deleted%s",
			  q->name, configured ? "; re-created" : "");
	if (why != GONE_REPLACED && name_is_ours(q, path, sizeof(path)))
		unlink(path);
	if (why == GONE_REPLACED) {
		/* R4: pairs with A4 in the clients, as fev__segment_delete(). */
		atomic_store_explicit(&q->map.seg->state_line.state,
				      FEV__SEG_DELETED, memory_order_release);
		fev__wait_fence(false); /* F1, full */
		fev__wait_wake_all(&q->map.seg->not_empty);
		fev__wait_wake_all(&q->map.seg->not_full);
	}
	fevd_registry_remove(&d->reg, q);
}

uint64_t fevd_spread(uint64_t now, uint64_t period)
{
	/* random(): spreading needs no secret, only no pattern. */
	return now + period / 2 + (uint64_t)random() % (period / 2);
}

/* Forget queues deleted, truncated or replaced by others. */
static void drop_gone(struct fevd *d, bool deep)
{
	uint64_t now = fev__now_monotonic_ns();
	struct cds_lfht_iter it;
	struct fevd_queue *q, *gone_q[64];
	enum gone_why why[64];
	size_t n = 0;

	rcu_read_lock();
	fevd_registry_for_each(&d->reg, &it, q)
	{
		bool its_turn = deep || now >= q->next_deep_ns;
		enum gone_why w = n < 64 ? gone(q, its_turn) : GONE_NOT;

		if (its_turn)
			q->next_deep_ns = fevd_spread(now, FEVD_DEEP_CHECK_NS);

		if (w != GONE_NOT) {
			gone_q[n] = q;
			why[n++] = w;
		}
	}
	rcu_read_unlock();
	for (size_t i = 0; i < n; i++)
		let_go(d, gone_q[i], why[i]);
}

/*
 * Create the configured queues the registry lacks: let go of above, or
 * whose creation failed before (a writer broke it meanwhile).  A failure
 * is said once, not every rescan.
 */
static void apply_missing(struct fevd *d)
{
	for (size_t i = 0; i < d->cfg.nqueues; i++) {
		const struct fevd_queue_conf *c = &d->cfg.queues[i];
		struct fevd_queue *q;
		int rc;

		rcu_read_lock();
		q = fevd_registry_find(&d->reg, c->name);
		rcu_read_unlock();
		if (q != NULL)
			continue;
		rc = fevd_queue_create_adopt(d, c, FEVD_ORIGIN_CONFIG, true);
		if (rc < 0 && first_complaint(d, c->name))
			fevd_err("queue '%s': cannot create: %s", c->name,
				 fev_strerror(rc));
	}
}

/*
 * Must /dev/shm be listed again?  Only when it changed (a name created,
 * removed or renamed changes its mtime), or a segment was still being
 * created, or RELIST_NS passed: what mtime cannot show (a chmod, a
 * change within the clock tick of the last look) is seen within that.
 * An mtime under a second old may be followed by another change in the
 * same tick, so it is looked at again.
 */
#define RELIST_NS (30ull * 1000 * 1000 * 1000)
/* Watched, a listing only guards against what inotify cannot lose. */
#define RELIST_WATCHED_NS (300ull * 1000 * 1000 * 1000)

static bool shm_changed(struct fevd *d, uint64_t now)
{
	struct timespec wall;
	struct stat st;
	bool changed;

	if (stat(FEV__SHM_DIR, &st) < 0)
		return true;
	changed = d->relist || now >= d->next_relist_ns ||
		  st.st_mtim.tv_sec != d->shm_mtime.tv_sec ||
		  st.st_mtim.tv_nsec != d->shm_mtime.tv_nsec;
	clock_gettime(CLOCK_REALTIME, &wall);
	d->shm_mtime = st.st_mtim;
	d->relist = wall.tv_sec - st.st_mtim.tv_sec < 2;
	return changed;
}

void fevd_segment_changed(struct fevd *d, const char *name)
{
	struct fevd_queue *q;
	enum gone_why why = GONE_NOT;

	rcu_read_lock();
	q = fevd_registry_find(&d->reg, name);
	rcu_read_unlock();
	if (q != NULL && (why = gone(q, true)) == GONE_NOT)
		return;
	if (q != NULL)
		let_go(d, q, why);
	rescan_one(name, d); /* what is at the name now */
}

/*
 * Watched by inotify, /dev/shm is listed only every RELIST_WATCHED_NS, or
 * when events were lost or a segment is still being created (relist): each
 * change of a name came as an event (fevd_segment_changed()), and between
 * listings only what no event reports is looked at, in memory: a DELETED
 * state word, a mapping that faulted; and each queue's file every DEEP_NS,
 * spread.  Unwatched, as shm_changed() says.
 */
static void rescan(struct fevd *d)
{
	uint64_t now = fev__now_monotonic_ns();
	bool watched = fevd_shm_watch_drain(d);
	bool list = watched ? d->relist || now >= d->next_relist_ns :
			      shm_changed(d, now);

	drop_gone(d, list || !watched);
	if (list) {
		if (watched)
			d->relist = false; /* rescan_one() sets it again */
		d->listings++;
		d->next_relist_ns =
			now + (watched ? RELIST_WATCHED_NS : RELIST_NS);
		fevd_remove_dead_creators(d);
		fevd_nameset_sweep_begin(&d->bad);
		if (fev__list_queues(d->instance, rescan_one, d) < 0)
			d->relist = true; /* not all seen: forget nothing */
		else
			fevd_nameset_sweep_end(&d->bad);
	}
	d->next_rescan_ns = now + RESCAN_NS;
}

void fevd_rescan_segments(struct fevd *d)
{
	rescan(d);
	apply_missing(d);
	d->next_apply_ns = fev__now_monotonic_ns() + RESCAN_NS;
}

/*
 * Before a request: what is in /dev/shm now, but no re-creation of a
 * configured queue another user keeps breaking (issue 9, soak): that
 * costs a segment's creation each time, and a request, root's `list`
 * among them, would wait for it.  The timer re-creates it within a tick.
 */
void fevd_refresh(struct fevd *d, bool about_queues)
{
	if (!about_queues && fevd_shm_watch_drain(d))
		return;
	rescan(d);
	if (about_queues)
		fevd_liveness_refresh(d);
}

/* ---- config ------------------------------------------------------------ */

static int load_config(const struct fevd_options *o, const char *path,
		       struct fevd_config *cfg, char *err, size_t errlen)
{
	int rc = path != NULL ? fevd_config_load(path, cfg, err, errlen) :
				fevd_config_default(cfg);

	if (rc < 0)
		return rc;
	/* The command line wins over the file. */
	if (o->instance != NULL) {
		if (fev_instance_name_valid(o->instance) < 0) {
			snprintf(err, errlen,
				 "bad instance name '%s' (1-31 of A-Z a-z 0-9 "
				 "_ -, no dots)",
				 o->instance);
			fevd_config_free(cfg);
			return -EINVAL;
		}
		strlcpy(cfg->instance, o->instance, sizeof(cfg->instance));
	}
	if (o->control_socket != NULL &&
	    strlcpy(cfg->control_socket, o->control_socket,
		    sizeof(cfg->control_socket)) >=
		    sizeof(cfg->control_socket)) {
		snprintf(err, errlen, "control socket path too long");
		fevd_config_free(cfg);
		return -ENAMETOOLONG;
	}
	if (o->pidfile != NULL)
		strlcpy(cfg->pidfile, o->pidfile, sizeof(cfg->pidfile));
	if (o->log_level != 0)
		cfg->log_level = o->log_level;
	return 0;
}

static int resolve_paths(struct fevd *d)
{
	int rc;
	char *slash;

	strlcpy(d->instance, d->cfg.instance, sizeof(d->instance));
	if (d->cfg.control_socket[0] != '\0') {
		strlcpy(d->socket_path, d->cfg.control_socket,
			sizeof(d->socket_path));
	} else {
		rc = fev__control_socket_path(d->instance, d->socket_path,
					      sizeof(d->socket_path));
		if (rc < 0)
			return rc;
	}
	if (d->cfg.pidfile[0] != '\0') {
		strlcpy(d->pidfile_path, d->cfg.pidfile,
			sizeof(d->pidfile_path));
		return 0;
	}
	if (geteuid() == 0)
		return fev__run_path(d->instance, "pid", d->pidfile_path,
				     sizeof(d->pidfile_path));
	/* Next to the socket. */
	strlcpy(d->pidfile_path, d->socket_path, sizeof(d->pidfile_path));
	slash = strrchr(d->pidfile_path, '/');
	*(slash ? slash + 1 : d->pidfile_path) = '\0';
	if (strlen(d->pidfile_path) + strlen(d->instance) + 5 >=
	    sizeof(d->pidfile_path))
		return -ENAMETOOLONG;
	strcat(d->pidfile_path, d->instance);
	strcat(d->pidfile_path, ".pid");
	return 0;
}

static int take_pidfile(struct fevd *d)
{
	pid_t other = -1;
	int rc = fevd_run_dir_make(d->pidfile_path, 0755);

	if (rc < 0) {
		fevd_err("cannot create the directory of %s: %s",
			 d->pidfile_path, strerror(-rc));
		return rc;
	}
	/* Before writing our pid through whatever is there. */
	rc = fevd_run_dir_check(d->pidfile_path);
	if (rc < 0)
		return rc;
	d->pidfh = pidfile_open(d->pidfile_path, 0644, &other);
	if (d->pidfh != NULL)
		return 0;
	rc = -errno;
	if (rc == -EEXIST)
		fevd_err("instance '%s' is already served by fevd pid %d "
			 "(pidfile %s)",
			 d->instance, (int)other, d->pidfile_path);
	else
		fevd_err("cannot open pidfile %s: %s", d->pidfile_path,
			 strerror(-rc));
	return rc;
}

/*
 * Create what the config lists and is missing (existing ones were adopted
 * by the rescan before).
 */
static void apply_queues(struct fevd *d)
{
	for (size_t i = 0; i < d->cfg.nqueues; i++) {
		const struct fevd_queue_conf *c = &d->cfg.queues[i];
		int rc = fevd_queue_create_adopt(d, c, FEVD_ORIGIN_CONFIG,
						 true);

		if (rc < 0)
			fevd_err("queue '%s': cannot create: %s", c->name,
				 fev_strerror(rc));
	}
}

/*
 * Create the groups the config lists and the topics lack.  Groups live in
 * the topics' segments: one that exists is left as it is, and one removed
 * from the config stays until deleted ('fev group delete').
 */
static void apply_groups(struct fevd *d)
{
	for (size_t i = 0; i < d->cfg.ngroups; i++) {
		const struct fevd_group_conf *g = &d->cfg.groups[i];
		fev_group_config gc = { .struct_size = sizeof(gc),
					.start = g->start,
					.policy = g->policy,
					.mode = g->mode,
					.session_timeout_ms =
						g->session_timeout_ms };
		int rc = fev_group_create(g->topic, g->name, &gc,
					  d->instance);

		if (rc == 0)
			fevd_notice("created group '%s' of topic '%s'",
				    g->name, g->topic);
		else if (rc != -EEXIST)
			fevd_err("group '%s' of topic '%s': cannot create: %s",
				 g->name, g->topic,
				 rc == -EINVAL ? "not a topic (a queue has no "
						 "groups)" :
						 fev_strerror(rc));
	}
}

static int take_instance_lock(struct fevd *d)
{
	char err[FEVD_ERR_MAX] = "";
	int rc = fevd_instance_lock_path(d->instance, d->lock_path,
					 sizeof(d->lock_path));

	if (rc == 0)
		rc = fevd_instance_lock(d->lock_path, err, sizeof(err));
	if (rc >= 0) {
		d->lockfd = rc;
		return 0;
	}
	if (rc == -EEXIST)
		fevd_err("instance '%s' is already supervised by another fevd "
			 "(it holds %s); its pidfile is not %s",
			 d->instance, d->lock_path, d->pidfile_path);
	else
		fevd_err("cannot take the instance lock %s: %s", d->lock_path,
			 err[0] ? err : strerror(-rc));
	return rc == -EEXIST ? -EEXIST : rc;
}

/* ---- reload ------------------------------------------------------------ */

static bool queue_is_empty(struct fevd_queue *q)
{
	fev_stats st;

	fev__map_stats(&q->map, &st);
	return st.depth == 0 && st.producers == 0 && st.consumers == 0;
}

/* Queues the config listed before and no longer does: go when empty. */
static void retire_unlisted(struct fevd *d)
{
	struct fevd_queue *q;
	char **names;
	size_t n;

	if (fevd_registry_names(&d->reg, &names, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		/* Only this thread removes queues: q outlives the read-side
		 * section. */
		rcu_read_lock();
		q = fevd_registry_find(&d->reg, names[i]);
		rcu_read_unlock();
		if (q != NULL && q->configured &&
		    fevd_config_find(&d->cfg, q->name) == NULL) {
			if (queue_is_empty(q))
				fevd_queue_destroy(d, q);
			else
				fevd_warn("queue '%s' is no longer in the "
					  "config but holds events or "
					  "attachers; kept (retried at the "
					  "next reload)",
					  q->name);
		}
		free(names[i]);
	}
	free(names);
}

static void keep_fixed_settings(struct fevd *d, struct fevd_config *next)
{
	if (strcmp(next->instance, d->cfg.instance) != 0)
		fevd_warn("reload: instance cannot change while running "
			  "(keeping '%s'); restart fevd to change it",
			  d->cfg.instance);
	if (strcmp(next->control_socket, d->cfg.control_socket) != 0 ||
	    strcmp(next->pidfile, d->cfg.pidfile) != 0 ||
	    strcmp(next->metrics_listen, d->cfg.metrics_listen) != 0)
		fevd_warn("reload: control_socket, pidfile and metrics_listen "
			  "take effect at the next restart");
	strlcpy(next->instance, d->cfg.instance, sizeof(next->instance));
	strlcpy(next->control_socket, d->cfg.control_socket,
		sizeof(next->control_socket));
	strlcpy(next->pidfile, d->cfg.pidfile, sizeof(next->pidfile));
	strlcpy(next->metrics_listen, d->cfg.metrics_listen,
		sizeof(next->metrics_listen));
}

int fevd_supervisor_reload(struct fevd *d, char *err, size_t errlen)
{
	struct fevd_config next;
	int rc;

	if (d->opts.notify)
		sd_notify(0, "RELOADING=1");
	rc = load_config(&d->opts, d->config_path, &next, err, errlen);
	if (rc < 0) {
		fevd_err("reload failed, keeping the running config: %s", err);
	} else {
		keep_fixed_settings(d, &next);
		fevd_config_free(&d->cfg);
		d->cfg = next;
		fevd_log_set_level(d->cfg.log_level);
		fevd_trust_apply(d);
		fevd_trust_publish(d);
		d->relist = true; /* segments of a newly trusted owner */
		apply_queues(d);
		apply_groups(d);
		retire_unlisted(d);
		fevd_notice("reloaded %s: %zu queues configured",
			    d->config_path ? d->config_path :
					     "the embedded default",
			    d->cfg.nqueues);
	}
	if (d->opts.notify)
		sd_notify(0, "READY=1");
	return rc;
}

/* ---- start, run, stop -------------------------------------------------- */

static int set_timer(struct fevd *d, uint64_t ns)
{
	struct itimerspec its = {
		.it_interval = { .tv_sec = (time_t)(ns / 1000000000u),
				 .tv_nsec = (long)(ns % 1000000000u) },
	};

	its.it_value = its.it_interval;
	if (timerfd_settime(d->timerfd, 0, &its, NULL) < 0)
		return -errno;
	d->timer_ns = ns;
	return 0;
}

static int open_fds(struct fevd *d)
{
	sigset_t set;
	int rc;

	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	d->stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	d->timerfd = timerfd_create(CLOCK_MONOTONIC,
				    TFD_NONBLOCK | TFD_CLOEXEC);
	if (d->epfd < 0 || d->stopfd < 0 || d->timerfd < 0)
		return -errno;
	rc = set_timer(d, d->tick_ns);
	if (rc < 0)
		return rc;
	fevd_epoll_add(d, d->stopfd, FEVD_TAG_STOP);
	fevd_epoll_add(d, d->timerfd, FEVD_TAG_TIMER);
	if (!d->opts.handle_signals)
		return 0;
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	/* Blocked, so they queue for the signalfd instead of running a
	 * handler. */
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	d->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (d->sigfd < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	fevd_epoll_add(d, d->sigfd, FEVD_TAG_SIGNAL);
	return 0;
}

static void free_options(struct fevd *d)
{
	free(d->config_path);
	free(d->own_instance);
	free(d->own_socket);
	free(d->own_pidfile);
}

static char *dup_or_null(const char *s, bool *failed)
{
	char *c = s != NULL ? strdup(s) : NULL;

	*failed |= s != NULL && c == NULL;
	return c;
}

/* Owned copies of the option strings: reload re-applies them. */
static struct fevd *fevd_alloc(const struct fevd_options *opts)
{
	struct fevd *d = calloc(1, sizeof(*d));
	bool failed = false;

	if (d == NULL)
		return NULL;
	d->opts = *opts;
	CDS_INIT_LIST_HEAD(&d->active);
	d->epfd = d->sigfd = d->stopfd = d->timerfd = d->listenfd = -1;
	d->adminfd = -1;
	d->shmwatchfd = -1;
	d->reservefd = -1;
	d->lockfd = -1;
	d->tick_ns = (uint64_t)(opts->tick_ms ? opts->tick_ms : 10) * 1000000u;
	if (d->tick_ns >= 1000000000u)
		d->tick_ns = 999999999u;
	d->stall_ns =
		(uint64_t)(opts->stall_ms ? opts->stall_ms : 1000) * 1000000u;
	d->config_path = dup_or_null(opts->config_path, &failed);
	d->opts.config_path = d->config_path;
	d->opts.instance = d->own_instance =
		dup_or_null(opts->instance, &failed);
	d->opts.control_socket = d->own_socket =
		dup_or_null(opts->control_socket, &failed);
	d->opts.pidfile = d->own_pidfile = dup_or_null(opts->pidfile, &failed);
	if (failed) {
		free_options(d);
		free(d);
		return NULL;
	}
	return d;
}

/*
 * systemd and most shells give 1,024 descriptors by default; fevd holds one
 * per queue and per attached process, so it takes the hard limit.
 */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == rl.rlim_max)
		return;
	rlim_t was = rl.rlim_cur;

	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
		fevd_info("file descriptors: soft limit raised from %llu to "
			  "the hard limit %llu",
			  (unsigned long long)was,
			  (unsigned long long)rl.rlim_max);
}

static int start(struct fevd *d)
{
	char err[FEVD_ERR_MAX];
	int rc;

	rc = load_config(&d->opts, d->config_path, &d->cfg, err, sizeof(err));
	if (rc < 0) {
		fevd_err("%s", err);
		return rc;
	}
	fevd_log_set_level(d->cfg.log_level);
	raise_fd_limit();
	rc = resolve_paths(d);
	if (rc < 0) {
		fevd_err("cannot build the control socket or pidfile path: %s",
			 strerror(-rc));
		return rc;
	}
	rc = take_pidfile(d);
	if (rc < 0)
		return rc;
	rc = take_instance_lock(d);
	if (rc < 0)
		return rc;
	rc = open_fds(d);
	if (rc < 0) {
		fevd_err("cannot set up the event loop: %s", strerror(-rc));
		return rc;
	}
	rc = fevd_registry_init(&d->reg);
	if (rc < 0)
		return rc;
	/* Writers can truncate segments: that must not kill fevd. */
	rc = fev__memtrap_install();
	if (rc < 0)
		return rc;
	/* Before the first listing: no change falls between the two. */
	fevd_shm_watch_open(d);
	fevd_trust_apply(d);
	fevd_rescan_segments(d);
	apply_queues(d);
	apply_groups(d);
	rc = fevd_control_listen(d);
	if (rc < 0)
		return rc;
	fevd_trust_publish(d);
	/* After open_fds(): the thread inherits the blocked signals. */
	if (d->cfg.metrics_listen[0] != '\0') {
		rc = fevd_metrics_start(&d->metrics, d->cfg.metrics_listen,
					&d->reg, d->instance);
		if (rc < 0)
			return rc;
	}
	fevd_liveness_scan(d);
	if (pidfile_write(d->pidfh) < 0)
		fevd_warn("cannot write pidfile %s: %s", d->pidfile_path,
			  strerror(errno));
	d->started = true;
	return 0;
}

int fevd_supervisor_new(const struct fevd_options *opts, struct fevd **out)
{
	struct fevd *d = fevd_alloc(opts);
	unsigned long nqueues = 0;
	struct cds_lfht_iter it;
	struct fevd_queue *q;
	int rc;

	if (d == NULL)
		return -ENOMEM;
	rcu_register_thread();
	fevd_log_use_syslog(opts->use_syslog);
	rc = start(d);
	if (rc < 0) {
		fevd_supervisor_free(d);
		return rc;
	}
	rcu_read_lock();
	fevd_registry_for_each(&d->reg, &it, q)
		nqueues++;
	rcu_read_unlock();
	fevd_notice("ready: instance %s, %lu queues, control socket %s, pid %d",
		    d->instance, nqueues, d->socket_path, (int)getpid());
	if (opts->notify)
		sd_notifyf(0, "READY=1\nSTATUS=serving instance %s, %lu queues",
			   d->instance, nqueues);
	*out = d;
	return 0;
}

static void on_signal(struct fevd *d)
{
	struct signalfd_siginfo si;
	char err[FEVD_ERR_MAX];

	while (read(d->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			fevd_notice("SIGHUP: reloading the config");
			fevd_supervisor_reload(d, err, sizeof(err));
		} else {
			fevd_notice("%s: stopping",
				    si.ssi_signo == SIGTERM ? "SIGTERM" :
							      "SIGINT");
			d->stopping = true;
		}
	}
}

/*
 * Tick every tick_ns while a queue is in use (the liveness list) or fevd
 * waits for descriptors; else only as often as an idle fevd has anything
 * to do (FEVD_GEN_CHECK_NS).
 */
static void pace(struct fevd *d)
{
	bool busy = !cds_list_empty(&d->active) || d->listen_paused;
	uint64_t ns = busy || d->tick_ns > FEVD_GEN_CHECK_NS ?
			      d->tick_ns :
			      FEVD_GEN_CHECK_NS;

	if (ns != d->timer_ns)
		set_timer(d, ns);
}

static void on_timer(struct fevd *d)
{
	uint64_t ticks;

	if (read(d->timerfd, &ticks, sizeof(ticks)) < 0)
		return;
	fevd_control_tick(d);
	/* Half a tick early rather than a whole tick late. */
	/* Requests rescan too (fevd_refresh()), and may keep postponing
	 * next_rescan_ns; re-creation has a deadline of its own. */
	if (fev__now_monotonic_ns() + d->timer_ns / 2 >= d->next_rescan_ns ||
	    fev__now_monotonic_ns() >= d->next_apply_ns)
		fevd_rescan_segments(d);
	else
		fevd_shm_watch_drain(d);
	fevd_liveness_tick(d);
}

static void dispatch(struct fevd *d, const struct epoll_event *ev)
{
	int fd = (int)(uint32_t)ev->data.u64;
	uint64_t v;

	switch ((enum fevd_tag)(ev->data.u64 >> 32)) {
	case FEVD_TAG_SIGNAL:
		on_signal(d);
		break;
	case FEVD_TAG_STOP:
		if (read(d->stopfd, &v, sizeof(v)) == sizeof(v))
			d->stopping = true;
		break;
	case FEVD_TAG_TIMER:
		on_timer(d);
		break;
	case FEVD_TAG_LISTEN:
		fevd_control_accept(d, fd);
		break;
	case FEVD_TAG_CLIENT:
		fevd_control_serve(d, fd,
				   (ev->events & (EPOLLHUP | EPOLLRDHUP)) != 0);
		break;
	case FEVD_TAG_PIDFD:
		fevd_liveness_pidfd_ready(d, fd);
		break;

	}
}

int fevd_supervisor_run(struct fevd *d)
{
	struct epoll_event evs[32];

	while (!d->stopping) {
		int n = epoll_wait(d->epfd, evs, 32, -1);

		if (n < 0 && errno != EINTR) {
			fevd_err("epoll_wait: %s", strerror(errno));
			return -errno;
		}
		for (int i = 0; i < n && !d->stopping; i++)
			dispatch(d, &evs[i]);
		if (d->scan_due && !d->stopping) {
			d->scan_due = false;
			fevd_liveness_refresh(d);
		}
		pace(d);
	}
	if (d->opts.notify)
		sd_notify(0, "STOPPING=1");
	return 0;
}

void fevd_supervisor_stop(struct fevd *d)
{
	uint64_t one = 1;

	/* write(2) is async-signal-safe; the loop does the rest. */
	if (write(d->stopfd, &one, sizeof(one)) < 0)
		return;
}

static void unlink_all(struct fevd *d)
{
	char **names;
	size_t n;

	if (fevd_registry_names(&d->reg, &names, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		/* Each segment, partitions of topics too: all are listed. */
		int rc = fev__segment_delete(d->instance, names[i]);

		if (rc < 0 && rc != -ENOENT)
			fevd_warn("cannot unlink queue '%s': %s", names[i],
				  fev_strerror(rc));
		else
			fevd_info("unlinked queue '%s'", names[i]);
		free(names[i]);
	}
	free(names);
}

unsigned fevd_supervisor_metrics_port(const struct fevd *d)
{
	return d->metrics != NULL ? fevd_metrics_port(d->metrics) : 0;
}

void fevd_supervisor_free(struct fevd *d)
{
	if (d == NULL)
		return;
	if (d->started)
		fevd_trust_unpublish(d);
	/* before the registry goes: it reads it */
	fevd_metrics_stop(d->metrics);
	d->metrics = NULL;
	fevd_control_close(d);
	/* Only a fevd that served may unlink: one that failed to start has
	 * adopted queues holding other people's events. */
	if (d->reg.ht != NULL && d->cfg.unlink_on_exit && d->started)
		unlink_all(d);
	fevd_liveness_close(d);
	fevd_shm_watch_close(d);
	fevd_registry_destroy(&d->reg);
	fevd_nameset_free(&d->bad);
	fevd_instance_unlock(d->lock_path, d->lockfd);
	if (d->pidfh != NULL)
		pidfile_remove(d->pidfh);
	if (d->sigfd >= 0)
		close(d->sigfd);
	if (d->stopfd >= 0)
		close(d->stopfd);
	if (d->timerfd >= 0)
		close(d->timerfd);
	if (d->epfd >= 0)
		close(d->epfd);
	fevd_config_free(&d->cfg);
	free_options(d);
	free(d);
	rcu_unregister_thread();
}
