/*
 * Tails (fev.h): reading a ring's committed events without taking them.
 *
 * A tail maps every partition read-only (PROT_READ: it cannot write a
 * word, so it cannot slow anyone by a store or a CAS) and keeps its own
 * position per partition.  Reading position pos is a seqlock read of the
 * slot, with the slot sequence and head as the version:
 *
 *   V1  seq = load(slot.seq), acquire         pairs with R1 (the commit)
 *       seq == pos + 1 (committed) or pos + capacity (released: the bytes
 *       stay until a producer of the next lap writes them)
 *   copy header and len bytes out, plain reads (TSan: ignored, below)
 *   V2  acquire fence, then seq and head again, relaxed
 *       still pos + 1 or pos + capacity, and head <= pos + capacity: no
 *       producer of the next lap had taken the slot, so the copy is whole
 *
 * R2 (a consumer's release CAS) is in R1's release sequence, so V1 reading
 * pos + capacity also sees the commit's bytes.  A producer of lap pos +
 * capacity writes only after its A1 saw R2 and its head CAS (R0) took the
 * position; a copy that read any of its bytes sees, after V2's fence,
 * head past pos + capacity.  That last step is the seqlock reader's
 * (Boehm, "Can seqlocks get along with programming language memory
 * models?", 2012): C11 alone would want a release fence between the
 * producer's R0 and its stores.  x86-64 (TSO) and ARMv8 (an acquire or
 * acq_rel CAS orders later stores after it, multi-copy atomic) give it;
 * the producer's hot path is left as it is.  A copy that fails V2 is
 * thrown away and counted as missed, never shown.
 *
 * Behind by a lap or more (seq past pos + 1 and not pos + capacity), the
 * tail jumps to half a ring behind head and counts what it skipped.
 * Everything read is untrusted: lengths are clamped before the copy and
 * checked after V2 (a slot that fails is -EBADMSG, skipped), a sequence
 * ahead of head is taken for forged (never followed past head), and one
 * call reads a bounded number of positions.
 *
 * CPU budget.  A tail behind a ring at full speed never runs out of events
 * and would take a whole CPU from the producers and consumers it watches
 * (on two cores, half their throughput).  So a busy tail reads in bursts
 * and rests between them (tail_budget.h), busy cpu_percent of the time; a
 * tail that catches up (finds nothing) is not busy, so a slow stream is
 * shown as it comes.  What passes while it rests is counted, as any lap,
 * exactly: the positions it jumps over are missed.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "fev/fev.h"
#include "memtrap.h"
#include "meta.h"
#include "segment.h"
#include "tail.h"
#include "tail_budget.h"

#if defined(__SANITIZE_THREAD__)
/*
 * The copy races with a producer's plain stores by design; V2 decides
 * whether it is kept.  TSan would report every such race, so the thread's
 * accesses inside the copy (reads of the slot, writes to the caller's
 * buffer) are ignored; the sequence and head loads stay visible to it.
 */
void AnnotateIgnoreReadsBegin(const char *file, int line);
void AnnotateIgnoreReadsEnd(const char *file, int line);
#define TAIL_COPY_BEGIN() AnnotateIgnoreReadsBegin(__FILE__, __LINE__)
#define TAIL_COPY_END() AnnotateIgnoreReadsEnd(__FILE__, __LINE__)
#else
#define TAIL_COPY_BEGIN() ((void)0)
#define TAIL_COPY_END() ((void)0)
#endif

void (*fev__tail_after_copy)(uint64_t pos);

/* Idle polling: from the first to the longest sleep, doubling. */
#define TAIL_POLL_MIN_NS (50 * 1000)
#define TAIL_POLL_MAX_NS (2 * 1000 * 1000)
/* Positions one partition may skip in one look, before the others. */
#define TAIL_SKIP_BUDGET 4096u

struct tail_part {
	struct fev__map map;
	uint64_t next;   /* the position read next */
	uint64_t missed; /* not yet reported with an event */
};

struct fev_tail {
	bool borrowed; /* fev__tail_of_map(): the caller's mapping */
	uint32_t partitions;
	uint32_t turn; /* the partition looked at first */
	uint32_t max_event;
	uint64_t missed_total;
	struct fev__tail_budget budget; /* FEV_TAIL_CPU_FULL: never rests */
	struct tail_part part[];
};

/* What reading one position found. */
enum slot_read {
	SLOT_EVENT,   /* copied, whole */
	SLOT_NOT_YET, /* not committed yet: look again later */
	SLOT_PASSED,  /* nothing to show there (tombstone, lost copy) */
	SLOT_LAPPED,  /* the ring moved a lap past us */
	SLOT_CORRUPT, /* impossible lengths or meta: -EBADMSG */
};

static uint64_t load_head(const struct fev__map *m)
{
	/* Relaxed: a position only (V2 and the jump); the slot sequences
	 * carry the data. */
	return atomic_load_explicit(&m->seg->head.pos, memory_order_relaxed);
}

static void start_at(struct tail_part *p, int start)
{
	uint64_t head = load_head(&p->map);
	uint64_t cap = p->map.geo.capacity;

	p->next = start == FEV_TAIL_EARLIEST ? (head > cap ? head - cap : 0) :
					       head;
}

static int map_all(fev_tail *t, const char *inst, const char *name)
{
	struct fev__map *first = &t->part[0].map;
	int rc = 0;

	for (uint32_t k = 1; k < t->partitions && rc == 0; k++)
		rc = fev__partition_map_ro(inst, name, t->partitions, k,
					   &t->part[k].map);
	if (rc == 0 && t->partitions > 1 &&
	    !fev__partition_ours(first, name, t->partitions, 0))
		rc = -EBADMSG;
	return rc;
}

/* Does opts (struct_size bytes of it) have field f? */
#define TAIL_OPTS_HAS(opts, f)                                              \
	((opts)->struct_size >=                                            \
	 offsetof(fev_tail_opts, f) + sizeof((opts)->f))

/* opts' start and CPU share: 0 or -EINVAL. */
static int tail_opts_read(const fev_tail_opts *opts, const char **inst,
			  int *start, uint32_t *cpu)
{
	*inst = NULL;
	*start = FEV_TAIL_LATEST;
	*cpu = FEV_TAIL_CPU_DEFAULT;
	if (opts == NULL)
		return 0;
	if (!TAIL_OPTS_HAS(opts, start) ||
	    (opts->start != FEV_TAIL_LATEST &&
	     opts->start != FEV_TAIL_EARLIEST))
		return -EINVAL;
	*inst = opts->instance;
	*start = opts->start;
	if (TAIL_OPTS_HAS(opts, cpu_percent) && opts->cpu_percent != 0) {
		if (opts->cpu_percent > FEV_TAIL_CPU_FULL)
			return -EINVAL;
		*cpu = opts->cpu_percent;
	}
	return 0;
}

int fev_tail_open(const char *name, const fev_tail_opts *opts, fev_tail **out)
{
	const char *inst;
	int start;
	struct fev__map first;
	uint32_t partitions, k, cpu;
	size_t topic_len;
	fev_tail *t;
	int rc;

	if (name == NULL || out == NULL ||
	    fev__segment_name_parse(name, &topic_len, &k) < 0 ||
	    tail_opts_read(opts, &inst, &start, &cpu) < 0)
		return -EINVAL;
	rc = fev__map_open(inst, name, false, &first);
	if (rc < 0)
		return rc;
	/* "T@k" is that partition alone; a name is its topic or queue. */
	partitions = name[topic_len] != '\0' ? 1 : first.geo.partitions;
	t = calloc(1, sizeof(*t) + partitions * sizeof(t->part[0]));
	if (t == NULL) {
		fev__map_close(&first);
		return -ENOMEM;
	}
	t->partitions = partitions;
	fev__tail_budget_init(&t->budget, cpu, fev__now_monotonic_ns());
	t->part[0].map = first;
	rc = map_all(t, inst, name);
	if (rc < 0) {
		fev_tail_close(t);
		return rc;
	}
	for (k = 0; k < partitions; k++) {
		if (t->part[k].map.geo.max_event > t->max_event)
			t->max_event = t->part[k].map.geo.max_event;
		start_at(&t->part[k], start);
	}
	*out = t;
	return 0;
}

int fev__tail_of_map(const struct fev__map *m, int start, fev_tail **out)
{
	fev_tail *t;

	if (m == NULL || out == NULL ||
	    (start != FEV_TAIL_LATEST && start != FEV_TAIL_EARLIEST))
		return -EINVAL;
	t = calloc(1, sizeof(*t) + sizeof(t->part[0]));
	if (t == NULL)
		return -ENOMEM;
	t->borrowed = true;
	t->partitions = 1;
	/* The tests read every lap. */
	fev__tail_budget_init(&t->budget, FEV_TAIL_CPU_FULL, 0);
	t->part[0].map = *m;
	t->max_event = m->geo.max_event;
	start_at(&t->part[0], start);
	*out = t;
	return 0;
}

void fev_tail_close(fev_tail *t)
{
	if (t == NULL)
		return;
	for (uint32_t k = 0; k < t->partitions && !t->borrowed; k++)
		fev__map_close(&t->part[k].map);
	free(t);
}

uint32_t fev_tail_partitions(const fev_tail *t)
{
	return t != NULL ? t->partitions : 0;
}

size_t fev_tail_max_event(const fev_tail *t)
{
	return t != NULL ? t->max_event : 0;
}

uint64_t fev_tail_missed(const fev_tail *t)
{
	return t != NULL ? t->missed_total : 0;
}

/* The slot header as copied, before V2 says whether it can be kept. */
struct slot_copy {
	uint32_t len, flags, meta_len;
	uint64_t ts_ns;
};

/* Copy position pos's header and bytes into buf (max_event bytes). */
static void copy_slot(const struct fev__map *m, uint64_t pos, uint8_t *buf,
		      struct slot_copy *c)
{
	const struct fev__slot *s = fev__ring_slot(&m->ring, pos);

	TAIL_COPY_BEGIN();
	c->len = s->len;
	c->flags = s->flags;
	c->meta_len = s->meta_len;
	c->ts_ns = s->ts_ns;
	/* Clamped: a forged len never reads past the slot. */
	memcpy(buf, fev__slot_payload((struct fev__slot *)s),
	       c->len <= m->geo.max_event ? c->len : m->geo.max_event);
	TAIL_COPY_END();
}

/* Does seq say position pos holds its committed event (V1, V2)? */
static bool seq_holds(const struct fev__map *m, uint64_t seq, uint64_t pos)
{
	return seq == pos + 1 || seq == pos + m->geo.capacity;
}

/* V2: was the copy of pos made while nobody could rewrite the slot? */
static bool copy_whole(const struct fev__map *m, uint64_t pos)
{
	const struct fev__slot *s = fev__ring_slot(&m->ring, pos);
	uint64_t seq;

	/* V2: orders the copy's reads before the loads below (see the top
	 * of this file for what it relies on). */
	atomic_thread_fence(memory_order_acquire);
	seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
	/* Differences, not comparisons: positions may cross 2^64. */
	return seq_holds(m, seq, pos) &&
	       (int64_t)(load_head(m) - (pos + m->geo.capacity)) <= 0;
}

/* Turn a whole copy into te's event; false when its lengths are forged. */
static bool copy_to_event(const struct fev__map *m, const struct slot_copy *c,
			  uint8_t *buf, fev_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	if (c->len > m->geo.max_event)
		return false;
	ev->data = buf;
	ev->len = c->len;
	if (c->flags & FEV__SLOT_META) {
		if (c->meta_len > c->len ||
		    fev__meta_parse(buf, c->meta_len, ev) < 0)
			return false;
		ev->data = buf + c->meta_len;
		ev->len = c->len - c->meta_len;
	}
	ev->ts_ns = c->ts_ns;
	/* What consumers see of the slot's flags (client.c). */
	ev->flags = c->flags & (FEV_REDELIVERED | FEV_SAMPLED);
	return true;
}

static enum slot_read read_slot(struct tail_part *p, uint8_t *buf,
				fev_event *ev)
{
	const struct fev__map *m = &p->map;
	uint64_t pos = p->next;
	struct slot_copy c;
	/* V1: pairs with R1 (and R2, in R1's release sequence): the
	 * commit's header and bytes are visible. */
	uint64_t seq = atomic_load_explicit(
		&fev__ring_slot(&m->ring, pos)->seq, memory_order_acquire);

	if (!seq_holds(m, seq, pos))
		/* Ahead means lapped, but never past head: a sequence
		 * there is forged (or a redelivery in place), not news. */
		return (int64_t)(seq - (pos + 1)) > 0 &&
				       (int64_t)(load_head(m) - pos) > 0 ?
			       SLOT_LAPPED :
			       SLOT_NOT_YET;
	copy_slot(m, pos, buf, &c);
	if (fev__tail_after_copy != NULL)
		fev__tail_after_copy(pos);
	if (!copy_whole(m, pos))
		return SLOT_LAPPED;
	if (c.flags & FEV__SLOT_TOMBSTONE)
		return SLOT_PASSED;
	if (!copy_to_event(m, &c, buf, ev))
		return SLOT_CORRUPT;
	ev->id = pos;
	ev->priv_pos = pos;
	return SLOT_EVENT;
}

/* Behind by a lap: go to half a ring behind head; how many it skipped. */
static uint64_t catch_up(struct tail_part *p)
{
	uint64_t head = load_head(&p->map);
	uint64_t half = p->map.geo.capacity / 2;
	uint64_t to = head - half, skipped;

	if ((int64_t)(to - p->next) <= 0)
		to = p->next + 1; /* at least the position that was lost */
	p->missed += to - p->next;
	skipped = to - p->next;
	p->next = to;
	return skipped;
}

/*
 * Look at partition k: 1 with an event in te, 0 when nothing is ready,
 * -EBADMSG for a corrupt slot (skipped).
 */
static int look(fev_tail *t, uint32_t k, fev_tail_event *te, uint8_t *buf)
{
	struct tail_part *p = &t->part[k];

	for (uint32_t budget = TAIL_SKIP_BUDGET; budget > 0; budget--) {
		switch (read_slot(p, buf, &te->ev)) {
		case SLOT_NOT_YET:
			return 0;
		case SLOT_LAPPED:
			t->missed_total += catch_up(p);
			continue;
		case SLOT_PASSED:
			p->next++;
			continue;
		case SLOT_CORRUPT:
			p->next++;
			return -EBADMSG;
		case SLOT_EVENT:
			p->next++;
			te->partition = p->map.geo.partition;
			te->priv_pad = 0;
			te->missed = p->missed;
			p->missed = 0;
			return 1;
		}
	}
	return 0;
}

/* One look at every partition, from the one after the last that gave. */
static int look_all(fev_tail *t, fev_tail_event *te, uint8_t *buf)
{
	for (uint32_t i = 0; i < t->partitions; i++) {
		uint32_t k = (t->turn + i) % t->partitions;
		int rc = look(t, k, te, buf);

		if (rc != 0) {
			t->turn = (k + 1) % t->partitions;
			return rc;
		}
	}
	return 0;
}

/*
 * Is a partition gone: -EIDRM when deleted, or truncated under a process
 * that installed the memtrap (it reads zeros since: fevd lets go of such a
 * queue as of a deleted one), else 0.
 */
static int gone(const fev_tail *t)
{
	for (uint32_t k = 0; k < t->partitions; k++) {
		const struct fev__segment *seg = t->part[k].map.seg;

		/* A4: pairs with R4 in fev__segment_delete(). */
		if (atomic_load_explicit(&seg->state_line.state,
					 memory_order_acquire) ==
		    FEV__SEG_DELETED)
			return -EIDRM;
		if (fev__memtrap_installed() && fev__memtrap_tripped(seg))
			return -EIDRM;
	}
	return 0;
}

static void sleep_for_ns(uint64_t d)
{
	nanosleep(&(struct timespec){ .tv_sec = (time_t)(d / 1000000000u),
				      .tv_nsec = (long)(d % 1000000000u) },
		  NULL);
}

static void poll_sleep(uint64_t *ns, uint64_t left)
{
	sleep_for_ns(*ns < left ? *ns : left);
	*ns = *ns * 2 < TAIL_POLL_MAX_NS ? *ns * 2 : TAIL_POLL_MAX_NS;
}

/* One look under the budget: 1 (an event), 0 (none, or resting: it slept
 * until the rest ends or give_up, whichever is first), or -EBADMSG. */
static int budgeted_look(fev_tail *t, fev_tail_event *te, uint8_t *buf,
			 uint64_t give_up)
{
	uint64_t now, rest_until;
	int rc;

	if (t->budget.percent >= FEV_TAIL_CPU_FULL)
		return look_all(t, te, buf);
	now = fev__now_monotonic_ns();
	rest_until = fev__tail_budget_before(&t->budget, now);
	if (rest_until != 0) {
		if (give_up > now)
			sleep_for_ns((give_up < rest_until ? give_up :
							     rest_until) -
				     now);
		now = fev__now_monotonic_ns();
		if (fev__tail_budget_before(&t->budget, now) != 0)
			return 0;
	}
	rc = look_all(t, te, buf);
	fev__tail_budget_after(&t->budget, rc != 0, now);
	return rc;
}

int fev_tail_next(fev_tail *t, fev_tail_event *te, void *buf, size_t cap,
		  int64_t timeout_ns)
{
	uint64_t give_up, sleep_ns = TAIL_POLL_MIN_NS;

	if (t == NULL || te == NULL || buf == NULL || cap < t->max_event ||
	    (timeout_ns < 0 && timeout_ns != FEV_FOREVER))
		return -EINVAL;
	give_up = timeout_ns < 0 ? UINT64_MAX :
				   fev__now_monotonic_ns() + (uint64_t)timeout_ns;
	for (;;) {
		int rc = budgeted_look(t, te, buf, give_up);
		uint64_t now;

		if (rc != 0)
			return rc > 0 ? 0 : rc;
		rc = gone(t);
		if (rc < 0)
			return rc;
		now = fev__now_monotonic_ns();
		if (now >= give_up)
			return timeout_ns == 0 ? -EAGAIN : -ETIMEDOUT;
		poll_sleep(&sleep_ns, give_up - now);
	}
}
