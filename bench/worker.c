/*
 * What the child processes of a run do.  Producers number their events per
 * producer; consumers check that each producer's numbers only go up (and,
 * with one consumer, that none is missing), so a lost or duplicated event
 * fails the run instead of flattering it.  The parent checks totals and
 * sums across consumers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "shared.h"

#define SAMPLE_EVERY 256 /* consumer clock reads: one per this many events */
#define WARMUP_ROUND_TRIPS 1000

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int fail(struct bench_proc *p, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct bench_proc *p, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->err, sizeof(p->err), fmt, ap);
	va_end(ap);
	p->rc = rc;
	return rc;
}

static bool stopping(struct bench_shared *sh)
{
	/* Relaxed: a flag the parent sets once; seeing it late only makes
	 * the run a little longer. */
	return atomic_load_explicit(&sh->stop, memory_order_relaxed) != 0;
}

/* ---- producer ------------------------------------------------------- */

struct producer {
	unsigned id;
	uint64_t next_seq;
	uint64_t ts_ns; /* rate mode: when this event was due */
	int fault;      /* FEV_BENCH_FAULT, for tests */
};

static void fill_data(void *ctx, void *dst, size_t len, unsigned i)
{
	struct producer *p = ctx;

	bench_msg_write(dst, len, bench_msg_word(MSG_DATA, p->id, p->next_seq + i),
			p->ts_ns);
}

/*
 * Test hook: FEV_BENCH_FAULT=lose skips sequence number 100 of producer 0,
 * =dup sends number 100 twice, as a broken transport would; the consumers
 * must then fail the run (tests/bench proves they do).
 */
static int fault_mode(void)
{
	const char *f = getenv("FEV_BENCH_FAULT");

	return f == NULL ? 0 : strcmp(f, "lose") == 0 ? 1 : strcmp(f, "dup") == 0 ? 2 : 0;
}

static void inject_fault(struct producer *pr, int mode)
{
	if (pr->id != 0 || pr->next_seq != 100)
		return;
	if (mode == 1)
		pr->next_seq++;
	else if (mode == 2)
		pr->next_seq--;
}

static void account_sent(struct producer *pr, struct bench_proc *me, int k)
{
	pr->next_seq += (uint64_t)k;
	me->count += (uint64_t)k;
	if (pr->fault)
		inject_fault(pr, pr->fault);
}

/*
 * Directed transports: this producer's end markers, one per path.  Then
 * keep the handle open until every consumer has all its markers: libzmq
 * was seen to drop events still queued when the sender's context ends,
 * despite an infinite linger.  Bounded by the parent's watchdog.
 */
static int send_ends(struct bench_chan *ch, void *h, struct bench_shared *sh,
		     int proc)
{
	const struct bench_cfg *c = ch->cfg;
	unsigned per = ch->t->end_per_producer ? ch->t->end_per_producer(c) : 0;

	for (unsigned i = 0; i < per; i++) {
		int k = ch->t->send(h, 1, c->size, bench_fill_end, NULL);

		if (k < 0)
			return fail(&sh->proc[proc], k, "producer %d: end marker: %s",
				    proc, strerror(-k));
	}
	/* Relaxed: only a count; the data went through the transport. */
	while (per && atomic_load_explicit(&sh->ends_seen, memory_order_relaxed) <
			      per * c->producers)
		usleep(50);
	return 0;
}

static int run_producer(struct bench_chan *ch, void *h, struct bench_shared *sh,
			int proc)
{
	const struct bench_cfg *c = ch->cfg;
	struct bench_proc *me = &sh->proc[proc];
	struct producer pr = { .id = (unsigned)proc, .fault = fault_mode() };

	while (c->count != 0 ? me->count < c->count : !stopping(sh)) {
		uint64_t left = c->count != 0 ? c->count - me->count : c->batch;
		unsigned n = left < c->batch ? (unsigned)left : c->batch;
		int k = ch->t->send(h, n, c->size, fill_data, &pr);

		if (k < 0)
			return fail(me, k, "producer %d: send: %s", proc,
				    strerror(-k));
		account_sent(&pr, me, k);
	}
	return send_ends(ch, h, sh, proc);
}

/*
 * Offer events at cfg->rate, each stamped with the time it was due (not
 * when it went out), so a stalled sender shows up as latency.  Sleep until
 * 50 us before it is due (timer slack set to 1 ns: the default 50 us slack
 * alone would add up to 50 us), then spin.
 */
#define PACE_SPIN_NS 50000u

static void pace(uint64_t due)
{
	uint64_t now = bench_now_ns();

	if (due > now + 2 * PACE_SPIN_NS) {
		uint64_t at = due - PACE_SPIN_NS;
		struct timespec ts = { .tv_sec = (time_t)(at / 1000000000u),
				       .tv_nsec = (long)(at % 1000000000u) };

		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	}
	while (bench_now_ns() < due)
		;
}

static int run_rate_producer(struct bench_chan *ch, void *h,
			     struct bench_shared *sh, int proc)
{
	const struct bench_cfg *c = ch->cfg;
	struct bench_proc *me = &sh->proc[proc];
	struct producer pr = { .id = (unsigned)proc };
	double gap = 1e9 / c->rate;
	uint64_t start = bench_now_ns();

	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);

	for (uint64_t i = 0; c->count != 0 ? i < c->count : !stopping(sh); i++) {
		int k;

		pr.ts_ns = start + (uint64_t)((double)i * gap);
		pace(pr.ts_ns);
		k = ch->t->send(h, 1, c->size, fill_data, &pr);
		if (k < 0)
			return fail(me, k, "producer: send: %s", strerror(-k));
		account_sent(&pr, me, k);
	}
	return send_ends(ch, h, sh, proc);
}

/* ---- consumer ------------------------------------------------------- */

struct consumer {
	struct bench_shared *sh;
	struct bench_proc *me;
	const struct bench_cfg *cfg;
	int proc;
	unsigned ends;
	bool latency; /* rate mode: record due-to-receipt times */
	bool every;   /* this consumer gets every event (one, or fan-out) */
	bool ordered; /* each producer's events come in order */
	uint64_t last[BENCH_MAX_PROCS];
	bool seen[BENCH_MAX_PROCS];
};

static int take_data(void *ctx, const void *data, size_t len)
{
	struct consumer *cs = ctx;
	struct bench_proc *me = cs->me;
	enum bench_kind kind;
	unsigned p;
	uint64_t seq, ts;

	if (len != cs->cfg->size)
		return fail(me, -EBADMSG, "consumer%d: event of %zu bytes, sent %zu",
			    cs->proc, len, cs->cfg->size);
	bench_msg_read(data, len, &kind, &p, &seq, &ts);
	if (kind == MSG_END) {
		cs->ends++;
		/* Relaxed RMW: the marker sender only counts. */
		atomic_fetch_add_explicit(&cs->sh->ends_seen, 1,
					  memory_order_relaxed);
		return 0;
	}
	if (kind != MSG_DATA || p >= cs->cfg->producers)
		return fail(me, -EPROTO, "consumer%d: garbled event header",
			    cs->proc - (int)cs->cfg->producers);
	if (cs->ordered && cs->seen[p] && seq <= cs->last[p])
		return fail(me, -EPROTO,
			    "consumer%d: producer %u's event %llu after %llu "
			    "(duplicated or reordered)",
			    cs->proc - (int)cs->cfg->producers, p, (unsigned long long)seq,
			    (unsigned long long)cs->last[p]);
	if (cs->every && seq != (cs->seen[p] ? cs->last[p] + 1 : 0))
		return fail(me, -EPROTO,
			    "consumer%d: producer %u's event %llu missing "
			    "(got %llu)",
			    cs->proc - (int)cs->cfg->producers, p,
			    (unsigned long long)(cs->seen[p] ? cs->last[p] + 1 : 0),
			    (unsigned long long)seq);
	cs->seen[p] = true;
	cs->last[p] = seq;
	me->count++;
	me->sum += bench_msg_word(MSG_DATA, p, seq);
	if (cs->latency) {
		uint64_t now = bench_now_ns();

		bench_hist_record(&cs->sh->hist, now > ts ? now - ts : 0);
	}
	if (me->count % SAMPLE_EVERY == 0) {
		me->t_sampled = bench_now_ns();
		me->n_sampled = me->count;
	}
	return 0;
}

static int run_consumer(struct bench_chan *ch, void *h, struct bench_shared *sh,
			int proc)
{
	const struct bench_cfg *c = ch->cfg;
	struct consumer cs = { .sh = sh, .me = &sh->proc[proc], .cfg = c,
			       .proc = proc, .latency = c->mode == BENCH_RATE,
			       .every = (c->consumers == 1 ||
					 bench_copies(ch->t, c) == c->consumers) &&
					!ch->t->orders_itself,
			       .ordered = !ch->t->orders_itself };
	unsigned need = ch->t->end_per_consumer(c);

	while (cs.ends < need) {
		int k = ch->t->recv(h, c->batch, take_data, &cs);

		if (k < 0)
			return cs.me->rc < 0 ? cs.me->rc :
					       fail(cs.me, k, "consumer%d: receive: %s",
						    proc, strerror(-k));
	}
	if (cs.me->n_sampled != cs.me->count) {
		/* Fewer than SAMPLE_EVERY since the last sample: the end
		 * marker's arrival is the best time we have. */
		cs.me->t_sampled = bench_now_ns();
		cs.me->n_sampled = cs.me->count;
	}
	return 0;
}

/* ---- ping-pong ------------------------------------------------------ */

struct echo {
	uint64_t word;
	bool got;
};

static int take_echo(void *ctx, const void *data, size_t len)
{
	struct echo *e = ctx;

	(void)len;
	memcpy(&e->word, data, sizeof(e->word));
	e->got = true;
	return 0;
}

static void fill_echo(void *ctx, void *dst, size_t len, unsigned i)
{
	struct echo *e = ctx;

	(void)i;
	bench_msg_write(dst, len, e->word, 0);
}

static int round_trip(struct bench_chan *ch, void *h, struct echo *e,
		      uint64_t word)
{
	int k;

	e->word = word;
	k = ch->t->send(h, 1, ch->cfg->size, fill_echo, e);
	if (k < 0)
		return k;
	e->got = false;
	while (!e->got) {
		k = ch->t->recv(h, 1, take_echo, e);
		if (k < 0)
			return k;
	}
	return e->word == word ? 0 : -EPROTO;
}

static int run_ping(struct bench_chan *ch, void *h, struct bench_shared *sh,
		    int proc)
{
	const struct bench_cfg *c = ch->cfg;
	struct bench_proc *me = &sh->proc[proc];
	struct echo e;
	uint64_t seq = 0;
	int rc;

	/* Warm up: 1000 round trips or a tenth of the run, what comes first. */
	uint64_t warm_end = bench_now_ns() + (uint64_t)(c->duration_s * 1e8);

	for (; seq < WARMUP_ROUND_TRIPS && !stopping(sh) &&
	       (c->count != 0 || bench_now_ns() < warm_end);
	     seq++) {
		rc = round_trip(ch, h, &e, bench_msg_word(MSG_DATA, 0, seq));
		if (rc < 0)
			return fail(me, rc, "ping: warm-up: %s", strerror(-rc));
	}
	me->t_begin = bench_now_ns();
	/* At least one measured round trip, even if the stop came early. */
	do {
		uint64_t t1 = bench_now_ns(), t2;

		rc = round_trip(ch, h, &e, bench_msg_word(MSG_DATA, 0, seq++));
		if (rc < 0)
			return fail(me, rc, "ping: round trip %llu: %s",
				    (unsigned long long)seq, strerror(-rc));
		t2 = bench_now_ns();
		bench_hist_record(&sh->hist, (t2 - t1) / 2);
		me->count++;
		me->t_sampled = t2;
	} while (c->count != 0 ? me->count < c->count : !stopping(sh));
	e.word = bench_msg_word(MSG_END, 0, 0);
	rc = ch->t->send(h, 1, c->size, fill_echo, &e);
	return rc < 0 ? fail(me, rc, "ping: end: %s", strerror(-rc)) : 0;
}

static int run_pong(struct bench_chan *ch, void *h, struct bench_shared *sh,
		    int proc)
{
	struct bench_proc *me = &sh->proc[proc];
	uint64_t expect = 0;
	struct echo e;

	for (;;) {
		enum bench_kind kind;
		unsigned p;
		uint64_t seq, ts;
		int k;

		e.got = false;
		while (!e.got) {
			k = ch->t->recv(h, 1, take_echo, &e);
			if (k < 0)
				return fail(me, k, "pong: receive: %s",
					    strerror(-k));
		}
		bench_msg_read(&e.word, sizeof(e.word), &kind, &p, &seq, &ts);
		if (kind == MSG_END)
			return 0;
		if (seq != expect++)
			return fail(me, -EPROTO, "pong: round trip %llu out of order",
				    (unsigned long long)seq);
		me->count++;
		k = ch->t->send(h, 1, ch->cfg->size, fill_echo, &e);
		if (k < 0)
			return fail(me, k, "pong: send: %s", strerror(-k));
	}
}

/* ---- the end-marker sender (shared-queue transports) ----------------- */

static int run_end_sender(struct bench_chan *ch, void *h, struct bench_shared *sh,
			  int proc)
{
	struct bench_proc *me = &sh->proc[proc];

	for (unsigned i = 0; i < ch->cfg->consumers; i++) {
		int k;

		/* Relaxed: a count; every consumer's exit is checked by
		 * the parent anyway.  Bounded by the parent's watchdog. */
		while (atomic_load_explicit(&sh->ends_seen, memory_order_relaxed) < i)
			usleep(20);
		k = ch->t->send(h, 1, ch->cfg->size, bench_fill_end, NULL);
		if (k < 0)
			return fail(me, k, "end marker: %s", strerror(-k));
	}
	return 0;
}

/* ---- dispatch ------------------------------------------------------- */

static void wait_for(_Atomic uint32_t *v, uint32_t want)
{
	/* Acquire: pairs with the parent's release of go (t0_ns) and the
	 * consumers' ready counts (they are attached). */
	while (atomic_load_explicit(v, memory_order_acquire) < want)
		usleep(20);
}

int bench_worker(struct bench_chan *ch, struct bench_shared *sh, int proc)
{
	const struct bench_cfg *c = ch->cfg;
	int nprod = (int)c->producers, ncons = (int)c->consumers;
	bool pp = c->mode == BENCH_PINGPONG;
	bool producer = proc < nprod, end_sender = proc == nprod + ncons;
	enum bench_role role = producer || end_sender ? (pp ? ROLE_PING : ROLE_PRODUCER) :
				    (pp ? ROLE_PONG : ROLE_CONSUMER);
	void *h;
	int rc;

	/* Consumers attach first: some transports (zmq) need the receiving
	 * end bound before a sender connects. */
	if (producer)
		wait_for(&sh->consumers_ready, (uint32_t)ncons);
	if (end_sender)
		wait_for(&sh->go, 1);
	rc = ch->t->open(ch, role, (unsigned)proc, &h);
	if (rc < 0)
		return fail(&sh->proc[proc], rc, "%s: open as %s %d: %s",
			    ch->t->name, producer ? "producer" : "consumer",
			    proc, strerror(-rc));
	/* Release: pairs with the acquire in wait_for()/the parent. */
	if (!end_sender)
		atomic_fetch_add_explicit(producer ? &sh->producers_ready :
						     &sh->consumers_ready,
					  1, memory_order_release);
	wait_for(&sh->go, 1);
	if (end_sender)
		rc = run_end_sender(ch, h, sh, proc);
	else if (pp)
		rc = producer ? run_ping(ch, h, sh, proc) : run_pong(ch, h, sh, proc);
	else if (producer)
		rc = c->mode == BENCH_RATE ? run_rate_producer(ch, h, sh, proc) :
					     run_producer(ch, h, sh, proc);
	else
		rc = run_consumer(ch, h, sh, proc);
	sh->proc[proc].cpu = sched_getcpu();
	ch->t->close(h);
	return rc;
}
