/*
 * Liveness: find the processes attached to each queue, learn at once when
 * one dies, and repair what it left.
 *
 * Discovery is a scan of the attacher tables of the queues in use, each
 * tick (10 ms) and before control requests that report on queues; a queue
 * nobody is attached to is read again only when an attach bumped its
 * generation (G1/G2, below).  For each process seen, fevd holds a pidfd
 * (pidfd_open), opened only after reading the pid and checked against the
 * start time the attacher recorded, so a recycled pid is never mistaken for
 * the attacher: if the start time differs, the attacher is gone.  The pidfds
 * sit in the epoll set; a readable pidfd means the process exited (zombies
 * included), and fevd repairs every record it owned in the same loop turn.
 * The scan catches what pidfds cannot: records whose process died before
 * fevd looked (fevd restarted, or fevd was down), records closed while
 * holding positions (REPAIRING), and repairs that had to wait (-EAGAIN) for
 * a live attacher's stale claim.
 *
 * Whether a record's owner is alive is the library's rule (proc.h), the
 * same one fev stat shows: it maps a record from another pid namespace to
 * the pid we see, and a record it cannot check ("unchecked": another
 * namespace we cannot see into, or no identity) is never repaired.  Once
 * a process is mapped, its pidfd says when it exits: a pidfd is readable
 * only when every thread has exited, so a main thread that called
 * pthread_exit() does not count.  Without a pidfd the rule is applied
 * again each tick, or each second when it has to search /proc.
 *
 * A process that is alive but stopped (SIGSTOP, a debugger) is never
 * repaired: its hold records stay, and positions held longer than stall_ms are
 * reported once as a stall, with the queue, pid, positions and age.
 *
 * A record can be freed and reused by another process between two reads of
 * it; the fields are read between two acquire loads of the state word and
 * the pid, and fev__repair_pass_record() itself moves the record ACTIVE ->
 * REPAIRING by CAS, so a record reused under us is at worst looked at
 * again on the next tick.
 *
 * Repair is linear and bounded: the scan of a queue first classifies every
 * record (a watch asks the kernel once per scan, whatever the number of
 * records its process holds), then repairs the dead ones in one pass (one
 * snapshot of the live hold records, repair.h), spending at most
 * REPAIR_BUDGET_NS on the queue before the loop moves on to the next queue
 * and the control socket.  The next scan resumes where it stopped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <poll.h>

#include "clock.h"
#include "internal.h"
#include "log.h"
#include "consumer_group.h"
#include "repair.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static int pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* How often a watch without a pidfd that needed a /proc search is
 * checked again (a search reads every process's status). */
#define SEARCH_RETRY_NS (1000ull * 1000 * 1000)
/* Repair work one scan spends on one queue before the loop moves on. */
#define REPAIR_BUDGET_NS (2ull * 1000 * 1000)
/*
 * A queue nobody is attached to costs one load every FEVD_GEN_CHECK_NS:
 * its attach generation.  Its table is read when that moved, and anyway
 * every FEVD_TABLE_READ_NS: a process that died between taking a record and
 * bumping the generation (G1), or a client built before it, is found then.
 * (inotify's IN_OPEN would tell of an attach sooner, but every open of any
 * file in /dev/shm, a `fev stat` polling included, would wake fevd: the
 * fault run's recoveries got slower on a loaded machine.)
 */

/* Fibonacci hashing of the pid: pids are dense and sequential. */
static size_t watch_slot(const struct fevd *d, int32_t pid)
{
	return (size_t)(((uint32_t)pid * UINT64_C(0x9e3779b97f4a7c15)) >>
			32) &
	       (d->watch_index_cap - 1);
}

static void index_put(struct fevd *d, size_t i)
{
	size_t s = watch_slot(d, d->watches[i].pid);

	while (d->watch_index[s] != 0)
		s = (s + 1) & (d->watch_index_cap - 1);
	d->watch_index[s] = (uint32_t)i + 1;
}

/* Rebuild the index, at least twice as large as the watches.  -ENOMEM. */
static int index_rebuild(struct fevd *d, size_t want)
{
	size_t cap = d->watch_index_cap ? d->watch_index_cap : 64;

	while (cap <= 2 * want)
		cap *= 2;
	if (cap != d->watch_index_cap) {
		uint32_t *grown = malloc(cap * sizeof(*grown));

		if (grown == NULL)
			return -ENOMEM;
		free(d->watch_index);
		d->watch_index = grown;
		d->watch_index_cap = cap;
	}
	memset(d->watch_index, 0, cap * sizeof(*d->watch_index));
	for (size_t i = 0; i < d->nwatches; i++)
		index_put(d, i);
	return 0;
}

/* O(1): a scan looks a watch up once per record, for thousands. */
static struct fevd_watch *watch_find(struct fevd *d,
				     const struct fev__identity *id)
{
	if (d->watch_index_cap == 0)
		return NULL;
	for (size_t s = watch_slot(d, id->pid); d->watch_index[s] != 0;
	     s = (s + 1) & (d->watch_index_cap - 1)) {
		struct fevd_watch *w = &d->watches[d->watch_index[s] - 1];

		if (w->pid == id->pid && w->start_time == id->start_time &&
		    w->pidns == id->pidns)
			return w;
	}
	return NULL;
}

static void watch_close(struct fevd *d, struct fevd_watch *w)
{
	if (w->pidfd >= 0) {
		fevd_epoll_del(d, w->pidfd);
		close(w->pidfd);
		w->pidfd = -1;
	}
}

/* Is pidfd's process gone (exited, possibly a zombie)? */
static bool pidfd_exited(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) > 0;
}

/*
 * Apply the rule to w's attacher and, when it maps to a pid we see, hold
 * a pidfd on it so that its exit wakes us.  Sets dead, or pidfd, or a time
 * to try again.
 */
static void watch_check(struct fevd *d, struct fevd_watch *w)
{
	struct fev__identity id = { .pid = w->pid,
				    .start_time = w->start_time,
				    .pidns = w->pidns };
	enum fev__life life = fev__process_life(&id, &w->local_pid);
	uint64_t now_start = 0;
	char state = '?';

	if (life == FEV__LIFE_DEAD) {
		w->dead = true;
		return;
	}
	/* A pid we see as recorded costs one /proc read: retry each tick. */
	w->retry_ns = fev__now_monotonic_ns() +
		      (w->local_pid == w->pid ? 0 : SEARCH_RETRY_NS);
	if (w->local_pid <= 0) {
		/* Unchecked: nothing to watch; left alone, and said so. */
		if (!w->reported)
			fevd_notice("pid %d (pid namespace %llu) cannot be "
				    "checked from here: its records are not "
				    "repaired until it can be; fev stat shows "
				    "them as unchecked",
				    w->pid, (unsigned long long)w->pidns);
		w->reported = true;
		return;
	}
	w->pidfd = pidfd_open(w->local_pid);
	if (w->pidfd < 0) {
		if (!w->reported)
			fevd_warn("pidfd_open(%d): %s; watching pid %d by "
				  "scanning only",
				  w->local_pid, strerror(errno),
				  w->local_pid);
		w->reported = true;
		return;
	}
	/*
	 * The pidfd now pins whatever process has the pid; the start time
	 * read after it says whether that is still the attacher.  /proc may
	 * hide it from us (hidepid, unchecked): then only the pidfd can
	 * tell, and its exit proves the attacher gone either way (its pid
	 * was not reused while it lived).
	 */
	if (fev__proc_stat(w->local_pid, &now_start, &state) < 0)
		now_start = w->start_time;
	if (now_start != w->start_time || pidfd_exited(w->pidfd)) {
		close(w->pidfd);
		w->pidfd = -1;
		w->dead = true;
		return;
	}
	fevd_epoll_add(d, w->pidfd, FEVD_TAG_PIDFD);
	fevd_debug("watching pid %d (recorded as %d)", w->local_pid, w->pid);
}

/*
 * Find or open the watch of a's owner.  Returns NULL only on -ENOMEM;
 * a watch whose process is already gone comes back with dead set.
 */
static struct fevd_watch *watch_get(struct fevd *d,
				    const struct fev__identity *id)
{
	struct fevd_watch *w = watch_find(d, id);

	if (w != NULL)
		return w;
	if (d->nwatches == d->watches_cap) {
		size_t cap = d->watches_cap ? d->watches_cap * 2 : 32;
		struct fevd_watch *grown =
			realloc(d->watches, cap * sizeof(*grown));

		if (grown == NULL)
			return NULL;
		d->watches = grown;
		d->watches_cap = cap;
	}
	if (2 * (d->nwatches + 1) >= d->watch_index_cap &&
	    index_rebuild(d, d->nwatches + 1) < 0)
		return NULL;
	w = &d->watches[d->nwatches++];
	*w = (struct fevd_watch){ .pid = id->pid,
				  .start_time = id->start_time,
				  .pidns = id->pidns,
				  .pidfd = -1,
				  .checked = d->scans };
	index_put(d, d->nwatches - 1);
	watch_check(d, w);
	return w;
}

/* Asked once per scan, not once per record: a process may hold thousands
 * of records. */
static bool watch_is_dead(struct fevd *d, struct fevd_watch *w)
{
	if (w->dead || w->checked == d->scans)
		return w->dead;
	w->checked = d->scans;
	/* Polled too, not only watched by epoll: a pidfd that failed to
	 * join the epoll set would otherwise never be heard from. */
	if (w->pidfd >= 0)
		w->dead = pidfd_exited(w->pidfd);
	else if (fev__now_monotonic_ns() >= w->retry_ns)
		watch_check(d, w);
	return w->dead;
}

static void repair(struct fevd *d, struct fevd_queue *q,
		   struct fev__repair_pass *pass, uint32_t idx)
{
	struct fev__attacher *a = &q->map.attachers[idx];
	struct fevd_att_track *t = &q->track[idx];
	struct fev__repair_result res = { 0 };
	uint32_t roles = a->roles;
	/* Before the repair: a freed record may be reused at once. */
	int32_t pid = a->pid;
	const char *why = t->dead ? "dead" : "closed holding positions";
	int rc = fev__repair_pass_record(pass, idx, &res);

	/* Relaxed: statistics, written only by this thread. */
	atomic_fetch_add_explicit(&q->tombstoned, res.tombstoned,
				  memory_order_relaxed);
	atomic_fetch_add_explicit(&q->redelivered, res.redelivered,
				  memory_order_relaxed);
	if (rc == 0) {
		atomic_fetch_add_explicit(&q->repairs, 1, memory_order_relaxed);
		d->repairs++;
		fevd_notice("repaired queue '%s': %s pid %d (%s), record %u: "
			    "%u tombstoned, %u redelivered",
			    q->name, fev__roles_name(roles), pid, why, idx,
			    res.tombstoned, res.redelivered);
		memset(t, 0, sizeof(*t));
	} else if (rc == -EAGAIN) {
		if (!t->pending_logged)
			fevd_info("queue '%s': repair of pid %d, record %u "
				  "waits: %u positions named by live holders",
				  q->name, pid, idx, res.pending);
		t->pending_logged = true;
	} else if (!t->failed_logged) {
		t->failed_logged = true;
		fevd_err("queue '%s': repair of pid %d, record %u failed: %s",
			 q->name, pid, idx, fev_strerror(rc));
	}
}

/* 'T' (stopped) or 't' (traced) in /proc/PID/stat; pid as we see it. */
static const char *proc_state_word(int32_t pid)
{
	uint64_t start;
	char state = '?';

	if (pid <= 0)
		return "unchecked";
	if (fev__proc_stat(pid, &start, &state) < 0)
		return "gone";
	return state == 'T' || state == 't' ? "stopped" : "running";
}

static void check_stall(struct fevd *d, struct fevd_queue *q, uint32_t idx,
			const struct fevd_watch *w, int role,
			const struct fev__holdrec *c, uint64_t now)
{
	int32_t pid = w->pid;
	struct fevd_att_track *t = &q->track[idx];
	/* Relaxed: a snapshot for a report; nothing is derived from it. */
	uint32_t n = atomic_load_explicit(&c->n, memory_order_relaxed);
	uint64_t pos = atomic_load_explicit(&c->pos, memory_order_relaxed);
	uint64_t age;

	if (n == 0 || pos != t->hold_pos[role] || n != t->hold_n[role]) {
		if (t->stalled[role])
			fevd_info("queue '%s': stall of pid %d cleared",
				  q->name, pid);
		t->hold_pos[role] = pos;
		t->hold_n[role] = n;
		t->hold_seen_ns[role] = now;
		t->stalled[role] = false;
		return;
	}
	age = now - t->hold_seen_ns[role];
	if (t->stalled[role] || age < d->stall_ns)
		return;
	t->stalled[role] = true;
	atomic_fetch_add_explicit(&q->stalls, 1, memory_order_relaxed);
	d->stalls++;
	fevd_warn("stall: queue '%s': pid %d (%s) has held %s positions "
		  "%llu..%llu for %.3f s",
		  q->name, pid, proc_state_word(w->local_pid),
		  role == 0 ? "producer" : "consumer",
		  (unsigned long long)pos, (unsigned long long)(pos + n - 1),
		  (double)age / 1e9);
}

/*
 * Look at record idx: watch its process, report a stall.  True when it
 * needs a repair (owner dead, or closed holding positions); then
 * q->track[idx].dead says which.
 */
static bool scan_record(struct fevd *d, struct fevd_queue *q, uint32_t idx,
			uint64_t now)
{
	struct fev__attacher *a = &q->map.attachers[idx];
	struct fevd_att_track *t = &q->track[idx];
	struct fevd_watch *w;
	struct fev__identity id;
	int32_t pid;
	/* A6: pairs with R6 in attach: pid and start time are filled in. */
	uint32_t state = atomic_load_explicit(&a->state, memory_order_acquire);

	t->dead = false;
	if (state == FEV__ATT_REPAIRING)
		return true;
	if ((state & FEV__ATT_ATTACHING) && fev__attacher_free_abandoned(a)) {
		fevd_notice("queue '%s': freed record %u of pid %d, which "
			    "died while attaching",
			    q->name, idx, FEV__ATT_ATTACHING_PID(state));
		return false;
	}
	if (state != FEV__ATT_ACTIVE) {
		if (t->pid != 0)
			memset(t, 0, sizeof(*t));
		return false;
	}
	pid = a->pid;
	id = (struct fev__identity){ .pid = pid,
				     .start_time = a->start_time,
				     .pidns = a->pidns };
	/* A6 again: the fields above belong to one owner (see the top). */
	if (atomic_load_explicit(&a->state, memory_order_acquire) !=
		    FEV__ATT_ACTIVE ||
	    a->pid != pid)
		return false;
	if (t->pid != pid || t->start_time != id.start_time) {
		memset(t, 0, sizeof(*t));
		t->pid = pid;
		t->start_time = id.start_time;
	}
	w = watch_get(d, &id);
	if (w == NULL)
		return false; /* out of memory: try on the next tick */
	w->seen = true;
	if (watch_is_dead(d, w)) {
		t->dead = true;
		return true;
	}
	check_stall(d, q, idx, w, 0, &a->prod, now);
	check_stall(d, q, idx, w, 1, &a->cons, now);
	return false;
}

/* For the repair pass: the verdict of this scan on an ACTIVE record. */
static bool found_dead(void *arg, uint32_t idx, const struct fev__attacher *a)
{
	const struct fevd_queue *q = arg;

	(void)a;
	return q->track[idx].dead;
}

/*
 * Repair the n records the scan of q found, in one pass (one snapshot of the
 * live hold records), until REPAIR_BUDGET_NS is spent: the loop must go back to
 * the control socket and the other queues.  What is left waits for the next
 * scan, which starts where this one stopped (the rotor), so a record that stays
 * pending cannot starve the others.
 */
static void repair_queue(struct fevd *d, struct fevd_queue *q,
			 const uint32_t *todo, uint32_t n)
{
	uint64_t deadline = fev__now_monotonic_ns() + REPAIR_BUDGET_NS;
	struct fev__repair_pass pass;
	int rc = fev__repair_pass_begin(&pass, &q->map, found_dead, q);

	if (rc < 0) {
		fevd_err("queue '%s': cannot start a repair pass: %s", q->name,
			 fev_strerror(rc));
		return;
	}
	for (uint32_t k = 0; k < n; k++) {
		repair(d, q, &pass, todo[(q->repair_rotor + k) % n]);
		if (fev__now_monotonic_ns() > deadline) {
			q->repair_rotor += k + 1;
			break;
		}
	}
	fev__repair_pass_end(&pass);
}

/* Scan one queue's table, then repair what it found.  True when anything
 * is attached or being attached. */
static bool scan_queue(struct fevd *d, struct fevd_queue *q, uint64_t now)
{
	bool in_use = false;
	uint32_t n = 0;

	for (uint32_t i = 0; i < q->map.geo.attacher_max; i++) {
		/* Relaxed: a hint for the idle back-off only. */
		in_use |= atomic_load_explicit(&q->map.attachers[i].state,
					       memory_order_relaxed) !=
			  FEV__ATT_FREE;
		if (scan_record(d, q, i, now))
			d->todo[n++] = i;
	}
	if (n > 0)
		repair_queue(d, q, d->todo, n);
	/* A deleted consumer group still owes releases of events whose
	 * producers were mid-commit when it went (consumer_group.c). */
	if (fev__groups_sweep(&q->map) > 0)
		in_use = true;
	return in_use;
}

/* Forget watches no record names any more (their processes detached). */
static void sweep_watches(struct fevd *d)
{
	size_t keep = 0;

	for (size_t i = 0; i < d->nwatches; i++) {
		struct fevd_watch *w = &d->watches[i];

		if (!w->seen) {
			watch_close(d, w);
			continue;
		}
		w->seen = false;
		d->watches[keep++] = *w;
	}
	d->nwatches = keep;
	/* Indices moved.  Shrinking needs no memory: cannot fail. */
	index_rebuild(d, keep);
}

/*
 * Read q's attacher table now?  Always when anything was attached at the
 * last read; else only when an attach happened since (the generation
 * moved), when its TABLE_READ_NS is up, or when asked to read everything.
 */
static bool due(struct fevd_queue *q, bool all, uint32_t *gen, uint64_t now)
{
	/* G2: pairs with G1 in attach_record(): a generation that moved
	 * comes with its record ACTIVE, so the read below sees it. */
	*gen = atomic_load_explicit(&q->map.seg->state_line.attach_gen,
				    memory_order_acquire);
	return all || q->in_use || *gen != q->seen_gen ||
	       now >= q->next_read_ns;
}

/* The list each tick walks: the queues in use. */
static void keep_listed(struct fevd *d, struct fevd_queue *q)
{
	bool listed = !cds_list_empty(&q->active);

	if (q->in_use && !listed)
		cds_list_add(&q->active, &d->active);
	else if (!q->in_use && listed)
		cds_list_del_init(&q->active);
}

static void look_at(struct fevd *d, struct fevd_queue *q, bool all,
		    uint64_t now)
{
	uint32_t gen;

	if (due(q, all, &gen, now)) {
		q->seen_gen = gen;
		q->next_read_ns = fevd_spread(now, FEVD_TABLE_READ_NS);
		q->in_use = scan_queue(d, q, now);
		d->table_reads++;
	}
	keep_listed(d, q);
}

/*
 * SCAN_LISTED looks only at the queues on d->active, those in use.
 * SCAN_CHANGED also checks every other
 * queue's attach generation (one load each); SCAN_ALL reads every table.
 * Only the last two see every record, so only they forget watches.
 */
enum scan_what { SCAN_LISTED, SCAN_CHANGED, SCAN_ALL };

static void scan(struct fevd *d, enum scan_what what)
{
	uint64_t now = fev__now_monotonic_ns();
	struct cds_lfht_iter it;
	struct fevd_queue *q, *next;

	d->scans++;
	for (size_t i = 0; i < d->nwatches; i++)
		d->watches[i].seen = false;
	rcu_read_lock();
	if (what == SCAN_LISTED)
		cds_list_for_each_entry_safe(q, next, &d->active, active)
			look_at(d, q, false, now);
	else
		fevd_registry_for_each(&d->reg, &it, q)
			look_at(d, q, what == SCAN_ALL, now);
	/* After repair: a dead owner's events are on its group's list
	 * before its partitions are given. */
	fevd_assign(d);
	rcu_read_unlock();
	if (what != SCAN_LISTED)
		sweep_watches(d);
}

void fevd_liveness_scan(struct fevd *d)
{
	scan(d, SCAN_ALL);
}

void fevd_liveness_refresh(struct fevd *d)
{
	scan(d, SCAN_CHANGED);
}

void fevd_liveness_tick(struct fevd *d)
{
	uint64_t now = fev__now_monotonic_ns();

	/* Half a tick early rather than a whole tick late. */
	if (now + d->timer_ns / 2 < d->next_gen_check_ns) {
		scan(d, SCAN_LISTED);
		return;
	}
	d->next_gen_check_ns = now + FEVD_GEN_CHECK_NS;
	scan(d, SCAN_CHANGED);
}

void fevd_liveness_pidfd_ready(struct fevd *d, int fd)
{
	for (size_t i = 0; i < d->nwatches; i++) {
		struct fevd_watch *w = &d->watches[i];

		/*
		 * An event from the same epoll batch can name an fd that a
		 * scan closed and reused for another pidfd since: believe
		 * only a pidfd that is readable now.
		 */
		if (w->pidfd != fd || !pidfd_exited(fd))
			continue;
		fevd_debug("pid %d exited", w->pid);
		watch_close(d, w);
		w->dead = true;
		/* Repair now, not at the next tick: the scan after this epoll
		 * batch finds every record of the dead process.  One scan per
		 * batch, not per exit: thousands may die at once. */
		d->scan_due = true;
		return;
	}
}

void fevd_liveness_close(struct fevd *d)
{
	fevd_assign_close(d);
	for (size_t i = 0; i < d->nwatches; i++)
		watch_close(d, &d->watches[i]);
	free(d->watches);
	d->watches = NULL;
	d->nwatches = d->watches_cap = 0;
	free(d->watch_index);
	d->watch_index = NULL;
	d->watch_index_cap = 0;
}
