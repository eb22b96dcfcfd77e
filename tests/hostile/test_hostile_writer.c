/*
 * A randomized hostile writer.  A producer, a consumer and a stand-in for
 * fevd (repair of records that look dead or are marked for repair,
 * statistics) run traffic through one queue, each in its own process, while
 * a fourth process maps the segment read-write and stores random values
 * into random words of the regions a configuration names.  Every call has
 * a bounded timeout and must come back within it (plus slack) with a
 * documented answer; a crash, a sanitizer report (the process then exits
 * non-zero), an undocumented error or a call that overstays its timeout
 * fails the test.  Then, with everything quiet, the corrupted segment goes
 * through repair of every record, statistics, a fresh open and delete.
 *
 * The seed is printed; FEV_HOSTILE_SEED=N repeats the same writes (the
 * interleaving with the traffic is the scheduler's).  FEV_HOSTILE_MS sets
 * how long each configuration runs (default 700 ms).
 */
#define _GNU_SOURCE /* strerrorname_np */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "consumer_group.h"
#include "fevtest.h"
#include "group_view.h"
#include "layout.h"
#include "repair.h"
#include "segment.h"

#define MS FEVTEST_MS
/* What a call may overstay its own timeout on a loaded, sanitized run. */
#define SLACK_NS (2500 * MS)
/* fev_open may wait a second for a segment whose magic reads 0. */
#define OPEN_LIMIT_NS (4000 * MS)

enum region {
	R_SLOT_HEADERS = 1 << 0, /* seq, len, flags, attacher, ts */
	R_PAYLOAD = 1 << 1,
	R_CURSORS = 1 << 2,
	R_WAIT_WORDS = 1 << 3,
	R_ATTACHERS = 1 << 4, /* state, roles, pid, start time, counters */
	R_HOLDRECS = 1 << 5, /* the hold records inside attacher records */
	R_STATE_LINE = 1 << 6,
	R_HEADER = 1 << 7, /* after every role attached */
	R_ALL_BUT_HEADER = (1 << 7) - 1,
	/* A topic's partition (config.topic): its consumer group records
	 * (cursor, state, policy, start, name, redo list) and the group
	 * words beside each slot (done, taken). */
	R_GROUPS = 1 << 8,
	R_SLOT_GRPS = 1 << 9,
};
#define REGION_BITS 10

struct config {
	const char *name;
	unsigned regions;
	uint32_t capacity, max_event;
	int policy;
	unsigned pause_us; /* between bursts of writes */
	bool topic; /* a topic of one partition (groups), not a queue */
};

static const struct config configs[] = {
	{ "slot headers, block", R_SLOT_HEADERS, 8, 64, FEV_POLICY_BLOCK,
	  300, false },
	{ "slot headers and payload, reject",
	  R_SLOT_HEADERS | R_PAYLOAD, 16, 40, FEV_POLICY_REJECT, 200, false },
	{ "cursors and wait words, block", R_CURSORS | R_WAIT_WORDS, 8, 16,
	  FEV_POLICY_BLOCK, 2000, false },
	{ "attacher records and hold records, drop-oldest",
	  R_ATTACHERS | R_HOLDRECS, 8, 16, FEV_POLICY_DROP_OLDEST, 300, false },
	{ "hold records and slot headers, block", R_HOLDRECS | R_SLOT_HEADERS,
	  4, 8, FEV_POLICY_BLOCK, 300, false },
	{ "state line, block", R_STATE_LINE, 8, 16, FEV_POLICY_BLOCK, 500, false },
	{ "everything, drop-oldest", R_ALL_BUT_HEADER, 4, 24,
	  FEV_POLICY_DROP_OLDEST, 500, false },
	{ "header after attach, reject", R_HEADER | R_SLOT_HEADERS, 8, 16,
	  FEV_POLICY_REJECT, 20000, false },
	{ "group records and slot group words, topic", R_GROUPS | R_SLOT_GRPS,
	  8, 16, FEV_POLICY_BLOCK, 300, true },
	{ "everything of a topic's partition", R_ALL_BUT_HEADER | R_GROUPS |
	  R_SLOT_GRPS, 4, 24, FEV_POLICY_BLOCK, 500, true },
};

struct run {
	const struct config *cfg;
	char inst[FEV_INSTANCE_MAX + 1];
	uint64_t seed;
	uint64_t run_ns;    /* how long traffic runs after the start */
	int go_fd;          /* read end: EOF means start */
	int ready_fd;       /* write end: one byte when attached */
	int parent_fds[2];  /* the parent's ends, closed in each role */
	struct fev__geometry geo; /* as created */
};

/* ---- checks inside the role processes ------------------------------------ */

static const char *role_name = "parent";

/* Report a broken promise and end this process with a failure. */
__attribute__((format(printf, 1, 2), noreturn)) static void violation(
	const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "[%s] ", role_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	/* exit, not _exit: sanitizers report and set the status at exit. */
	exit(3);
}

/* How often each answer came, for the summary each role prints. */
static unsigned answers[160]; /* [0]: success, [e]: -e */

static void summary(void)
{
	char line[512];
	int n = snprintf(line, sizeof(line), "  %s: %u ok", role_name,
			 answers[0]);

	for (int e = 1; e < 160 && n > 0 && n < (int)sizeof(line); e++)
		if (answers[e] != 0)
			n += snprintf(line + n, sizeof(line) - (size_t)n,
				      ", %s %u", strerrorname_np(e),
				      answers[e]);
	printf("%s\n", line);
}

static bool in(int rc, const int *ok)
{
	for (; *ok != 1; ok++)
		if (rc == *ok)
			return true;
	return false;
}

/* rc must be >= 0 or one of ok (terminated by 1), within limit_ns. */
static void check(const char *what, int rc, const int *ok, uint64_t t0,
		  uint64_t limit_ns)
{
	uint64_t took = fevtest_now_ns() - t0;

	if (rc >= 0)
		answers[0]++;
	else if (rc > -160)
		answers[-rc]++;
	if (rc < 0 && !in(rc, ok))
		violation("%s: undocumented answer %d (%s)", what, rc,
			  fev_strerror(rc));
	if (took > limit_ns)
		violation("%s: took %.0f ms, allowed %.0f ms", what,
			  (double)took / 1e6, (double)limit_ns / 1e6);
}

static int64_t pick_timeout(uint64_t *rng)
{
	static const int64_t t[] = { 0, 0, 1 * MS, 3 * MS };

	return t[fevtest_rand(rng) % 4];
}

static uint64_t limit_for(int64_t timeout)
{
	return (uint64_t)timeout + SLACK_NS;
}

static const int open_ok[] = { -EUSERS, -EBADMSG, -EPROTO, -EIDRM, 1 };
/*
 * A consumer of a partition whose group "default" was forged away
 * (-ENOENT), or forged into an ordered group, which is read through
 * fev_member_join() (-EPERM).
 */
static const int group_open_ok[] = { -EUSERS, -EBADMSG, -EPROTO, -EIDRM,
				     -ENOENT, -EPERM, 1 };
/*
 * -EMSGSIZE: a handle opened while the header was forged may have
 * validated another, consistent, max_event (a smaller one in the same
 * slot size).
 */
/*
 * -ESTALE: a forged attacher state lets repair take a live handle's
 * positions; its commits and releases then say so.  -EMSGSIZE for
 * commit_batch as for sends: reserve_batch takes no length, so the
 * commit is where a forged max_event shows.
 */
static const int produce_ok[] = { -EAGAIN, -ETIMEDOUT, -EIDRM, -EMSGSIZE,
				  -ESTALE, 1 };
static const int commit_ok[] = { -EINVAL, -ESTALE, -EMSGSIZE, 1 };
/* acquire: -ESTALE once repair retired the handle's (forged) record. */
static const int consume_ok[] = { -EAGAIN, -ETIMEDOUT, -EIDRM, -EBADMSG,
				  -ESTALE, 1 };
/* fev_recv releases too: a slot the writer moved on is -ESTALE. */
static const int recv_ok[] = { -EAGAIN, -ETIMEDOUT, -EIDRM, -EBADMSG,
			       -EINVAL, -EMSGSIZE, -ESTALE, 1 };
static const int release_ok[] = { -EINVAL, -ESTALE, 1 };
static const int stats_ok[] = { -EBADMSG, -EPROTO, 1 };
static const int repair_ok[] = { -EAGAIN, 1 };

static fev_queue *open_role(const struct run *r, unsigned roles)
{
	fev_open_opts o = { .struct_size = sizeof(o), .instance = r->inst,
			    .flags = FEV_OPEN_NO_SPIN };
	fev_queue *q = NULL;
	uint64_t t0 = fevtest_now_ns();
	int rc = fev_open("q", roles, &o, &q);

	check("fev_open", rc, r->cfg->topic ? group_open_ok : open_ok, t0,
	      OPEN_LIMIT_NS);
	return rc == 0 ? q : NULL;
}

/*
 * Whatever a handle hands out must lie inside its own mapping of the
 * segment (ASan does not watch shared mappings, so the test does).  The
 * mapping is found in /proc/self/maps: a handle opened while the header
 * was forged may see another, still consistent, geometry.
 */
struct where {
	uintptr_t lo, hi; /* the handle's mapping; 0, 0: look it up */
};

static void find_mapping(struct where *w, const struct run *r)
{
	char want[96], line[512];
	FILE *f = fopen("/proc/self/maps", "r");

	snprintf(want, sizeof(want), "/dev/shm/fev.%s.q", r->inst);
	if (f == NULL)
		violation("/proc/self/maps: %s", strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long lo, hi;

		if (strstr(line, want) != NULL &&
		    sscanf(line, "%lx-%lx", &lo, &hi) == 2) {
			w->lo = lo;
			w->hi = hi;
		}
	}
	fclose(f);
	if (w->hi == 0)
		violation("no mapping of %s", want);
}

static void check_where(struct where *w, const struct run *r,
			const void *data, uint64_t pos, size_t len)
{
	uintptr_t p = (uintptr_t)data;

	if (w->hi == 0)
		find_mapping(w, r);
	if (len > FEV__MAX_EVENT_MAX || p < w->lo || p > w->hi ||
	    len > w->hi - p)
		violation("position %" PRIu64 ": %zu bytes at %p, outside "
			  "the mapping %#lx-%#lx",
			  pos, len, data, (unsigned long)w->lo,
			  (unsigned long)w->hi);
}

/*
 * Tell the parent we are attached and wait until it says go (EOF on
 * go_fd); returns when to stop (CLOCK_MONOTONIC).
 */
static uint64_t attached(const struct run *r)
{
	char c = 1;

	if (write(r->ready_fd, &c, 1) != 1)
		violation("ready pipe: %s", strerror(errno));
	close(r->ready_fd);
	while (read(r->go_fd, &c, 1) < 0 && errno == EINTR)
		;
	close(r->go_fd);
	return fevtest_now_ns() + r->run_ns;
}

/* ---- producer ------------------------------------------------------------ */

static void produce_once(const struct run *r, fev_queue *q, uint64_t *rng,
			 struct where *w)
{
	uint8_t buf[64] = { 0 };
	struct iovec iov[17];
	fev_claim cl[17];
	size_t lens[17];
	int64_t to = pick_timeout(rng);
	size_t len = fevtest_rand(rng) % (r->geo.max_event + 1);
	size_t n = 1 + fevtest_rand(rng) % (r->geo.capacity + 1);
	uint64_t t0 = fevtest_now_ns();
	int rc;

	if (n > 17)
		n = 17;
	switch (fevtest_rand(rng) % 4) {
	case 0:
		rc = fev_send(q, buf, len, to);
		check("fev_send", rc, produce_ok, t0, limit_for(to));
		break;
	case 1:
		for (size_t i = 0; i < n; i++)
			iov[i] = (struct iovec){ buf, len };
		rc = fev_send_batch(q, iov, n, to);
		check("fev_send_batch", rc, produce_ok, t0, limit_for(to));
		if (rc > (int)n)
			violation("fev_send_batch: %d of %zu", rc, n);
		break;
	case 2:
		rc = fev_reserve(q, len, &cl[0], to);
		check("fev_reserve", rc, produce_ok, t0, limit_for(to));
		if (rc < 0)
			break;
		check_where(w, r, cl[0].data, cl[0].priv_pos, cl[0].cap);
		memset(cl[0].data, 0x5a, len);
		t0 = fevtest_now_ns();
		check("fev_commit", fev_commit(q, &cl[0], len), commit_ok, t0,
		      SLACK_NS);
		break;
	default:
		rc = fev_reserve_batch(q, cl, n, to);
		check("fev_reserve_batch", rc, produce_ok, t0, limit_for(to));
		if (rc > (int)n)
			violation("fev_reserve_batch: %d of %zu", rc, n);
		for (int i = 0; i < rc; i++) {
			check_where(w, r, cl[i].data, cl[i].priv_pos,
				    cl[i].cap);
			memset(cl[i].data, 0xa5, len);
			lens[i] = len;
		}
		if (rc <= 0)
			break;
		t0 = fevtest_now_ns();
		rc = fev_commit_batch(q, cl, lens, (size_t)rc);
		check("fev_commit_batch", rc, commit_ok, t0, SLACK_NS);
		break;
	}
}

static int producer(void *arg)
{
	const struct run *r = arg;
	uint64_t rng = r->seed ^ 0x1111;
	struct where w = { 0 };
	fev_queue *q;
	uint64_t end;

	role_name = "producer";
	q = open_role(r, FEV_PRODUCER);
	end = attached(r);
	while (fevtest_now_ns() < end) {
		/* Now and then attach again: the record table is a target. */
		if (q == NULL || fevtest_rand(&rng) % 256 == 0) {
			fev_close(q);
			q = open_role(r, FEV_PRODUCER);
			w.lo = w.hi = 0;
			if (q == NULL) {
				fevtest_sleep_ms(1);
				continue;
			}
		}
		produce_once(r, q, &rng, &w);
	}
	fev_close(q);
	summary();
	return 0;
}

/* ---- consumer ------------------------------------------------------------ */

static void consume_once(const struct run *r, fev_queue *q, uint64_t *rng,
			 struct where *w)
{
	uint8_t buf[64];
	fev_event evs[33];
	fev_meta meta;
	int64_t to = pick_timeout(rng);
	size_t max = 1 + fevtest_rand(rng) % 33;
	uint64_t t0 = fevtest_now_ns();
	ssize_t n;
	int rc;

	switch (fevtest_rand(rng) % 3) {
	case 0:
		n = fev_recv(q, buf, sizeof(buf), &meta, to);
		check("fev_recv", (int)n, recv_ok, t0, limit_for(to));
		if (n > (ssize_t)r->geo.max_event)
			violation("fev_recv: %zd bytes > max_event", n);
		break;
	case 1:
		rc = fev_acquire(q, &evs[0], to);
		check("fev_acquire", rc, consume_ok, t0, limit_for(to));
		if (rc < 0)
			break;
		check_where(w, r, evs[0].data, evs[0].id, evs[0].len);
		memcpy(buf, evs[0].data, evs[0].len);
		t0 = fevtest_now_ns();
		check("fev_release", fev_release(q, &evs[0]), release_ok, t0,
		      SLACK_NS);
		break;
	default:
		rc = fev_acquire_batch(q, evs, max, to);
		check("fev_acquire_batch", rc, consume_ok, t0, limit_for(to));
		if (rc > (int)max)
			violation("fev_acquire_batch: %d of %zu", rc, max);
		for (int i = 0; i < rc; i++) {
			check_where(w, r, evs[i].data, evs[i].id, evs[i].len);
			memcpy(buf, evs[i].data, evs[i].len);
		}
		if (rc <= 0)
			break;
		t0 = fevtest_now_ns();
		rc = fev_release_batch(q, evs, (size_t)rc);
		check("fev_release_batch", rc, release_ok, t0, SLACK_NS);
		break;
	}
}

static int consumer(void *arg)
{
	const struct run *r = arg;
	uint64_t rng = r->seed ^ 0x2222;
	struct where w = { 0 };
	fev_queue *q;
	uint64_t end;

	role_name = "consumer";
	q = open_role(r, FEV_CONSUMER);
	end = attached(r);
	while (fevtest_now_ns() < end) {
		if (q == NULL || fevtest_rand(&rng) % 256 == 0) {
			fev_close(q);
			q = open_role(r, FEV_CONSUMER);
			w.lo = w.hi = 0;
			if (q == NULL) {
				fevtest_sleep_ms(1);
				continue;
			}
		}
		consume_once(r, q, &rng, &w);
	}
	fev_close(q);
	summary();
	return 0;
}

/* ---- fevd's part: repair and statistics --------------------------------- */

/* What fevd's scan does with each record (daemon/src/liveness.c). */
static void repair_pass(struct fev__map *m, bool everything)
{
	for (uint32_t i = 0; i < m->geo.attacher_max; i++) {
		struct fev__attacher *a = &m->attachers[i];
		struct fev__repair_result res = { 0 };
		uint32_t st = atomic_load(&a->state);
		uint64_t t0 = fevtest_now_ns();

		if (!everything && st != FEV__ATT_REPAIRING &&
		    (st != FEV__ATT_ACTIVE || fev__attacher_alive(a)))
			continue;
		check("fev__repair_attacher",
		      fev__repair_attacher(m, i, &res), repair_ok, t0,
		      SLACK_NS);
		if (res.tombstoned > m->geo.capacity * 2 ||
		    res.redelivered > m->geo.capacity * 2)
			violation("record %u: %u tombstoned, %u redelivered "
				  "in a ring of %u",
				  i, res.tombstoned, res.redelivered,
				  m->geo.capacity);
	}
}

/* What fev stat reads of a group (group_view.h): bounded, whatever. */
static void group_view_check(const struct fev__map *m, uint32_t gi)
{
	static const int ok[] = { -ENOENT, -EBADMSG, 1 };
	struct fev__group_view gs;
	uint64_t t0 = fevtest_now_ns();
	int rc = fev__group_read(m, gi, &gs);

	check("fev__group_read", rc, ok, t0, SLACK_NS);
	if (rc == 0 && (gs.lag > m->geo.capacity ||
			gs.redo_waiting > FEV__GROUP_REDO_MAX ||
			gs.members > m->geo.attacher_max))
		violation("fev__group_read(%u): lag %" PRIu64 ", %" PRIu64
			  " waiting, %u members in a ring of %u",
			  gi, gs.lag, gs.redo_waiting, gs.members,
			  m->geo.capacity);
}

static void stats_pass(const struct run *r, struct fev__map *m)
{
	fev_stats st;
	uint64_t t0 = fevtest_now_ns();

	fev__map_stats(m, &st);
	check("fev__map_stats", 0, stats_ok, t0, SLACK_NS);
	if (st.capacity != r->geo.capacity)
		violation("fev__map_stats: capacity %" PRIu64 ", created %u",
			  st.capacity, r->geo.capacity);
	t0 = fevtest_now_ns();
	check("fev_queue_stats", fev_queue_stats("q", r->inst, &st), stats_ok,
	      t0, OPEN_LIMIT_NS);
	for (uint32_t i = 0; i < m->geo.groups_max; i++)
		group_view_check(m, i);
}

static int supervisor(void *arg)
{
	const struct run *r = arg;
	struct fev__map m;
	uint64_t end;
	int rc;

	role_name = "fevd";
	rc = fev__map_open(r->inst, "q", true, &m);
	if (rc < 0)
		violation("fev__map_open: %s", fev_strerror(rc));
	end = attached(r);
	while (fevtest_now_ns() < end) {
		repair_pass(&m, false);
		/* fevd finishes groups being deleted (liveness.c). */
		fev__groups_sweep(&m);
		stats_pass(r, &m);
		fevtest_sleep_ms(1);
	}
	fev__map_close(&m);
	summary();
	return 0;
}

/* ---- the hostile writer -------------------------------------------------- */

/* Values the protocol never stores, and some it stores elsewhere. */
static uint64_t hostile_value(uint64_t cur, uint32_t capacity, uint64_t *rng)
{
	uint64_t x = fevtest_rand(rng);

	switch (x % 12) {
	case 0:
		return cur + 1;
	case 1:
		return cur - 1;
	case 2: /* a lap ahead or behind, give or take */
		return cur + capacity * (x & 64 ? 1 : -1) + (x >> 8) % 3 - 1;
	case 3:
		return cur + (x >> 16) % (4u * capacity) - 2u * capacity;
	case 4:
		return (x >> 8) % 5; /* 0..4: states, small counts */
	case 5:
		return UINT32_MAX;
	case 6:
		return UINT64_MAX - (x >> 8) % 3;
	case 7:
		return UINT64_C(1) << (x >> 8) % 64;
	case 8:
		return INT64_MAX;
	case 9:
		return cur ^ (UINT64_C(1) << (x >> 8) % 64);
	default:
		return fevtest_rand(rng);
	}
}

/* A word-aligned offset inside [off, off + len). */
static size_t pick_word(size_t off, size_t len, uint64_t *rng)
{
	return off + (fevtest_rand(rng) % (len / 4)) * 4;
}

static size_t pick_target(const struct fev__geometry *g, unsigned regions,
			  uint64_t *rng)
{
	for (;;) {
		unsigned bit = 1u << fevtest_rand(rng) % REGION_BITS;
		uint64_t i;

		if (!(regions & bit))
			continue;
		switch (bit) {
		case R_SLOT_HEADERS:
			i = fevtest_rand(rng) % g->capacity;
			return pick_word(g->off_slots + i * g->slot_size,
					 sizeof(struct fev__slot), rng);
		case R_PAYLOAD:
			i = fevtest_rand(rng) % g->capacity;
			if (g->slot_size == sizeof(struct fev__slot))
				continue;
			return pick_word(g->off_slots + i * g->slot_size +
						 sizeof(struct fev__slot),
					 g->slot_size - sizeof(struct fev__slot),
					 rng);
		case R_CURSORS:
			return fevtest_rand(rng) & 1 ?
				       offsetof(struct fev__segment, head) :
				       offsetof(struct fev__segment, tail);
		case R_WAIT_WORDS:
			return pick_word(
				fevtest_rand(rng) & 1 ?
					offsetof(struct fev__segment, not_empty) :
					offsetof(struct fev__segment, not_full),
				8, rng);
		case R_ATTACHERS:
			/* The few records in use, mostly. */
			i = fevtest_rand(rng) % (fevtest_rand(rng) & 1 ?
							  4 :
							  g->attacher_max);
			return pick_word(g->off_attachers +
						 i * sizeof(struct fev__attacher),
					 sizeof(struct fev__attacher), rng);
		case R_HOLDRECS:
			i = fevtest_rand(rng) % 4;
			return pick_word(g->off_attachers +
						 i * sizeof(struct fev__attacher) +
						 offsetof(struct fev__attacher,
							  prod),
					 2 * sizeof(struct fev__holdrec), rng);
		case R_STATE_LINE:
			return pick_word(offsetof(struct fev__segment,
						  state_line),
					 sizeof(struct fev__state_line), rng);
		case R_GROUPS:
			/* The two in use (default, and one more), mostly. */
			i = fevtest_rand(rng) % (fevtest_rand(rng) & 1 ?
							  2 :
							  g->groups_max);
			return pick_word(g->off_groups +
						 i * sizeof(struct fev__group),
					 sizeof(struct fev__group), rng);
		case R_SLOT_GRPS:
			i = fevtest_rand(rng) % g->capacity;
			return pick_word(g->off_slot_grps +
						 i * sizeof(struct fev__slot_grp),
					 sizeof(struct fev__slot_grp), rng);
		default: /* R_HEADER */
			return pick_word(0, sizeof(struct fev__header), rng);
		}
	}
}

/* One store, remembered so that it can be taken back. */
struct store {
	size_t off;
	bool wide;
	uint64_t was, now;
};

static void hostile_store(uint8_t *base, size_t off, uint32_t capacity,
			  uint64_t *rng, struct store *st)
{
	st->off = off;
	st->wide = off % 8 == 0 && fevtest_rand(rng) % 3 != 0;
	if (st->wide) {
		uint64_t *p = (uint64_t *)(void *)(base + off);

		st->was = __atomic_load_n(p, __ATOMIC_RELAXED);
		st->now = hostile_value(st->was, capacity, rng);
		__atomic_store_n(p, st->now, __ATOMIC_RELAXED);
	} else {
		uint32_t *p = (uint32_t *)(void *)(base + off);

		st->was = __atomic_load_n(p, __ATOMIC_RELAXED);
		st->now = (uint32_t)hostile_value(st->was, capacity, rng);
		__atomic_store_n(p, (uint32_t)st->now, __ATOMIC_RELAXED);
	}
}

/*
 * Put the old value back if the word still holds ours: corruption that
 * comes and goes keeps traffic flowing, so the later, rarer states are
 * reached too (and races between a check and a use are tried).
 */
static void take_back(uint8_t *base, const struct store *st)
{
	if (st->wide) {
		uint64_t expect = st->now;

		__atomic_compare_exchange_n((uint64_t *)(void *)(base + st->off),
					    &expect, st->was, false,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	} else {
		uint32_t expect = (uint32_t)st->now;

		__atomic_compare_exchange_n((uint32_t *)(void *)(base + st->off),
					    &expect, (uint32_t)st->was, false,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	}
}

static void pause_us(unsigned us, uint64_t *rng)
{
	long ns = 1000 * (long)(us / 2 + fevtest_rand(rng) % (us + 1));

	nanosleep(&(struct timespec){ .tv_sec = ns / 1000000000,
				      .tv_nsec = ns % 1000000000 },
		  NULL);
}

static int writer(void *arg)
{
	const struct run *r = arg;
	uint64_t rng = r->seed ^ 0x3333;
	struct fev__map m;
	unsigned writes = 0;
	uint64_t end;
	int rc;

	role_name = "writer";
	rc = fev__map_open(r->inst, "q", true, &m);
	if (rc < 0)
		violation("fev__map_open: %s", fev_strerror(rc));
	end = attached(r);
	while (fevtest_now_ns() < end) {
		struct store st[4];
		unsigned burst = 1 + fevtest_rand(&rng) % 4;
		/* Most corruption is taken back after a while; the rest
		 * stays and piles up. */
		bool keep = fevtest_rand(&rng) % 16 == 0;

		for (unsigned i = 0; i < burst; i++, writes++)
			hostile_store((uint8_t *)m.seg,
				      pick_target(&m.geo, r->cfg->regions, &rng),
				      m.geo.capacity, &rng, &st[i]);
		pause_us(r->cfg->pause_us, &rng);
		for (unsigned i = burst; !keep && i-- > 0;)
			take_back((uint8_t *)m.seg, &st[i]);
		pause_us(r->cfg->pause_us, &rng);
	}
	fev__map_close(&m);
	printf("  writer: %u hostile stores\n", writes);
	return 0;
}

/* ---- the parent ---------------------------------------------------------- */

static void wait_ready(int fd, int n)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	for (int got = 0; got < n;) {
		if (poll(&p, 1, 20000) <= 0)
			fail_msg("roles did not attach within 20 s");
		if (read(fd, &c, 1) == 1)
			got++;
	}
}

/* With the writer gone: repair, statistics and open still answer. */
static int aftermath(void *arg)
{
	const struct run *r = arg;
	fev_queue *q;
	struct fev__map m;
	uint8_t v[64] = { 0 };
	uint64_t t0 = fevtest_now_ns();
	int rc;

	role_name = "aftermath";
	rc = fev__map_open(r->inst, "q", true, &m);
	check("fev__map_open", rc, stats_ok, t0, OPEN_LIMIT_NS);
	if (rc == 0) {
		repair_pass(&m, true);
		stats_pass(r, &m);
		fev__map_close(&m);
	}
	q = open_role(r, FEV_PRODUCER | FEV_CONSUMER);
	if (q != NULL) {
		t0 = fevtest_now_ns();
		check("fev_send", fev_send(q, v, 8, 2 * MS),
		      produce_ok, t0, limit_for(2 * MS));
		t0 = fevtest_now_ns();
		check("fev_recv",
		      (int)fev_recv(q, v, sizeof(v), NULL, 2 * MS), recv_ok,
		      t0, limit_for(2 * MS));
		fev_close(q);
	}
	return 0;
}

static uint64_t master_seed(void)
{
	const char *env = getenv("FEV_HOSTILE_SEED");

	if (env != NULL && env[0] != '\0')
		return strtoull(env, NULL, 0);
	return fevtest_now_ns() ^ ((uint64_t)getpid() << 32);
}

static unsigned run_ms(void)
{
	const char *env = getenv("FEV_HOSTILE_MS");
	unsigned ms = env != NULL ? (unsigned)strtoul(env, NULL, 0) : 0;

	return ms != 0 ? ms : 700;
}

/* Fork a role; exit(), not _exit(): sanitizers set the status at exit. */
static int fork_role(int (*fn)(void *), struct run *r)
{
	int pid = fork();

	if (pid < 0)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		close(r->parent_fds[0]);
		close(r->parent_fds[1]);
		memset(answers, 0, sizeof(answers)); /* the parent's, so far */
		/* A call that never returns cannot time itself: the role
		 * dies of SIGALRM instead, and the test fails. */
		alarm((unsigned)(r->run_ns / 1000000000u) + 15);
		exit(fn(r));
	}
	return pid;
}

static void run_config(const struct config *cfg, uint64_t seed)
{
	int (*const roles[])(void *) = { producer, consumer, supervisor,
					 writer };
	const char *names[] = { "producer", "consumer", "fevd", "writer",
				"aftermath" };
	int pids[5], go[2], ready[2];
	unsigned ms = run_ms();
	struct run r = { .cfg = cfg, .seed = seed };
	int failed = 0;

	printf("hostile writer: %s (seed %" PRIu64 ")\n", cfg->name, seed);
	fflush(stdout);
	fevtest_instance(r.inst);
	if (cfg->topic) /* its consumer is a member of "default" */
		fevtest_create_topic(r.inst, "q", 1, cfg->capacity,
				     cfg->max_event);
	else
		fevtest_create(r.inst, "q", cfg->capacity, cfg->max_event,
			       cfg->policy);
	assert_int_equal(fev__geometry_compute(cfg->capacity, cfg->max_event,
					       FEV__ATTACHERS_DEFAULT, &r.geo),
			 0);
	if (cfg->topic)
		assert_int_equal(fev__geometry_groups(&r.geo, FEV_GROUPS_MAX),
				 0);
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(ready), 0);
	r.run_ns = (uint64_t)ms * MS;
	r.go_fd = go[0];
	r.ready_fd = ready[1];
	r.parent_fds[0] = go[1];
	r.parent_fds[1] = ready[0];
	for (int i = 0; i < 4; i++)
		pids[i] = fork_role(roles[i], &r);
	close(go[0]);
	close(ready[1]);
	/* Every role attached before the writer starts (the header, once
	 * validated, must never be read again). */
	wait_ready(ready[0], 4);
	close(ready[0]);
	close(go[1]);
	for (int i = 0; i < 5; i++) {
		int st;

		if (i == 4) {
			if (failed)
				break;
			r.parent_fds[0] = r.parent_fds[1] = -1;
			pids[4] = fork_role(aftermath, &r);
		}
		st = fevtest_wait(pids[i], ms + 30000);
		if (st == 128 + SIGALRM)
			fprintf(stderr, "  %s hung: a call never returned "
					"(seed %" PRIu64 ")\n",
				names[i], seed);
		else if (st != 0)
			fprintf(stderr, "  %s exited with %d (seed %" PRIu64
					")\n",
				names[i], st, seed);
		failed |= st != 0;
	}
	if (failed) {
		fevtest_cleanup(r.inst);
		fail_msg("%s: a role broke a promise (seed %" PRIu64 ")",
			 cfg->name, seed);
	}
	/* Delete removes even a corrupt segment. */
	assert_int_equal(fev_queue_delete("q", r.inst), 0);
	fevtest_assert_no_leftovers(r.inst);
}

static void test_hostile_writer_gets_only_documented_errors(void **state)
{
	uint64_t seed = master_seed();

	(void)state;
	printf("hostile writer: seed %" PRIu64
	       " (repeat with FEV_HOSTILE_SEED=%" PRIu64 ")\n",
	       seed, seed);
	for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++)
		run_config(&configs[i],
			   seed + i * UINT64_C(0x9e3779b97f4a7c15));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_hostile_writer_gets_only_documented_errors),
	};

	/* The whole run is bounded, whatever a child or a call does. */
	alarm(240);
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
