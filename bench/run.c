/*
 * One measured run: set the transport up, fork the producers and consumers
 * (pinned if asked), start them together, stop them, and collect what they
 * measured.  Every wait has a deadline: a run that hangs is killed and
 * reported as failed, never waited on forever.  Whatever happens, the
 * transport is torn down, so nothing is left in /dev/shm.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shared.h"

#define READY_TIMEOUT_NS (15 * 1000000000ull)
#define DRAIN_TIMEOUT_NS (20 * 1000000000ull)
#define COUNT_RUN_TIMEOUT_NS (60 * 1000000000ull)

volatile int bench_interrupted;

static void on_signal(int sig)
{
	bench_interrupted = sig;
}

void bench_install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

const char *bench_role_name(const struct bench_cfg *cfg, int proc)
{
	static char buf[32];
	bool pp = cfg->mode == BENCH_PINGPONG;

	if (proc < (int)cfg->producers)
		snprintf(buf, sizeof(buf), pp ? "ping" : "producer%d", proc);
	else
		snprintf(buf, sizeof(buf), pp ? "pong" : "consumer%d",
			 proc - (int)cfg->producers);
	return buf;
}

struct run {
	struct bench_chan ch;
	struct bench_shared *sh;
	pid_t pid[BENCH_MAX_PROCS + 1];
	bool alive[BENCH_MAX_PROCS + 1];
	int nproc; /* producers + consumers (+ the end sender, last) */
	struct bench_run *out;
};

static int run_fail(struct run *r, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int run_fail(struct run *r, int rc, const char *fmt, ...)
{
	va_list ap;

	if (r->out->rc != 0)
		return r->out->rc; /* keep the first reason */
	va_start(ap, fmt);
	vsnprintf(r->out->err, sizeof(r->out->err), fmt, ap);
	va_end(ap);
	r->out->rc = rc;
	return rc;
}

/*
 * --cpus: producer i on the i-th listed CPU, consumer i one further along,
 * so that with two or more CPUs a producer and "its" consumer (the floor's
 * pairs, the ping and the pong) never share one.  The end-marker sender
 * counts as one more producer.
 */
int bench_cpu_of(const struct bench_cfg *cfg, int proc)
{
	int np = (int)cfg->producers, nc = (int)cfg->consumers;

	if (cfg->ncpus == 0)
		return -1;
	if (proc >= np && proc < np + nc)
		return cfg->cpus[(proc - np + 1) % cfg->ncpus];
	return cfg->cpus[(proc >= np ? proc - nc : proc) % cfg->ncpus];
}

static void pin(const struct bench_cfg *cfg, int proc)
{
	cpu_set_t set;

	if (cfg->ncpus == 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(bench_cpu_of(cfg, proc), &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static int spawn(struct run *r, int proc)
{
	pid_t ppid = getpid();
	pid_t pid = fork();

	if (pid < 0)
		return run_fail(r, -errno, "fork: %s", strerror(errno));
	if (pid == 0) {
		/* A child must not outlive the bench (Ctrl-C, kill). */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != ppid)
			_exit(3);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		pin(r->ch.cfg, proc);
		_exit(bench_worker(&r->ch, r->sh, proc) < 0 ? 1 : 0);
	}
	r->pid[proc] = pid;
	r->alive[proc] = true;
	return 0;
}

/* Reap whatever exited; a child that failed fails the run. */
static void reap(struct run *r)
{
	for (int i = 0; i < r->nproc; i++) {
		int st;

		if (!r->alive[i] || waitpid(r->pid[i], &st, WNOHANG) != r->pid[i])
			continue;
		r->alive[i] = false;
		if (r->sh->proc[i].rc < 0)
			run_fail(r, r->sh->proc[i].rc, "%s", r->sh->proc[i].err);
		else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			run_fail(r, -ECHILD, "%s (pid %d) %s %d",
				 bench_role_name(r->ch.cfg, i), r->pid[i],
				 WIFSIGNALED(st) ? "killed by signal" : "exited with",
				 WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	}
}

static bool any_alive(const struct run *r, int from, int to)
{
	for (int i = from; i < to; i++)
		if (r->alive[i])
			return true;
	return false;
}

static void kill_all(struct run *r)
{
	for (int i = 0; i < r->nproc; i++)
		if (r->alive[i])
			kill(r->pid[i], SIGKILL);
	for (int i = 0; i < r->nproc; i++)
		if (r->alive[i]) {
			waitpid(r->pid[i], NULL, 0);
			r->alive[i] = false;
		}
}

static void nap(void)
{
	struct timespec ts = { 0, 200000 }; /* 0.2 ms */

	nanosleep(&ts, NULL);
}

static int hang(struct run *r, int from, int to, const char *what)
{
	const struct bench_cfg *c = r->ch.cfg;
	uint64_t sent = 0;

	for (int i = 0; i < (int)c->producers; i++)
		sent += r->sh->proc[i].count;
	for (int i = from; i < to; i++) {
		if (!r->alive[i])
			continue;
		if (i == (int)(c->producers + c->consumers))
			return run_fail(r, -ETIMEDOUT, "%s: the end-marker sender "
					"(pid %d) is stuck: hang?", what, r->pid[i]);
		return run_fail(r, -ETIMEDOUT,
				"%s: %s (pid %d) still running after the deadline "
				"(it has %llu events, producers sent %llu): hang?",
				what, bench_role_name(c, i), r->pid[i],
				(unsigned long long)r->sh->proc[i].count,
				(unsigned long long)sent);
	}
	return 0;
}

/* Wait until procs [from, to) have exited, or the deadline; 0 or -errno. */
static int wait_exit(struct run *r, int from, int to, uint64_t deadline,
		     const char *what)
{
	for (;;) {
		reap(r);
		if (r->out->rc != 0)
			return r->out->rc;
		if (!any_alive(r, from, to))
			return 0;
		if (bench_interrupted)
			return run_fail(r, -EINTR, "interrupted");
		if (bench_now_ns() > deadline)
			return hang(r, from, to, what);
		nap();
	}
}

static int wait_ready(struct run *r)
{
	const struct bench_cfg *c = r->ch.cfg;
	uint64_t deadline = bench_now_ns() + READY_TIMEOUT_NS;

	for (;;) {
		/* Acquire: pairs with the children's release of ready. */
		if (atomic_load_explicit(&r->sh->consumers_ready, memory_order_acquire) ==
			    c->consumers &&
		    atomic_load_explicit(&r->sh->producers_ready, memory_order_acquire) ==
			    c->producers)
			return 0;
		reap(r);
		if (r->out->rc != 0)
			return r->out->rc;
		if (bench_interrupted)
			return run_fail(r, -EINTR, "interrupted");
		if (bench_now_ns() > deadline)
			return run_fail(r, -ETIMEDOUT, "processes not attached after %llu s",
					READY_TIMEOUT_NS / 1000000000ull);
		nap();
	}
}

/* Sleep through the measured period, watching for failures and Ctrl-C. */
static int measure(struct run *r)
{
	const struct bench_cfg *c = r->ch.cfg;
	uint64_t end = r->sh->t0_ns + (uint64_t)(c->duration_s * 1e9);

	if (c->count != 0)
		return 0;
	while (bench_now_ns() < end) {
		uint64_t left = end - bench_now_ns();
		struct timespec ts = { 0, (long)(left < 2000000 ? left : 2000000) };

		if (left > end)
			break;
		nanosleep(&ts, NULL);
		reap(r);
		if (r->out->rc != 0)
			return r->out->rc;
		if (bench_interrupted)
			return run_fail(r, -EINTR, "interrupted");
	}
	/* Relaxed: producers poll it; they need no data with it. */
	atomic_store_explicit(&r->sh->stop, 1, memory_order_relaxed);
	return 0;
}

static int check_totals(struct run *r)
{
	const struct bench_cfg *c = r->ch.cfg;
	struct bench_shared *sh = r->sh;
	uint64_t sent = 0, got = 0, sent_sum = 0, got_sum = 0, t_last = 0,
		 n_sampled = 0;
	int np = (int)c->producers, nc = (int)c->consumers;

	/* What consumers must have got between them: producer i's events
	 * 0 .. n_i - 1, each exactly once (fan-out: once per copy). */
	uint64_t copies = bench_copies(r->ch.t, c);

	for (int i = 0; i < np; i++) {
		uint64_t n = sh->proc[i].count;

		sent += n;
		sent_sum += n * bench_msg_word(MSG_DATA, (unsigned)i, 0) +
			    (n % 2 ? n * ((n - 1) / 2) : (n / 2) * (n - 1));
	}
	for (int i = np; i < np + nc; i++) {
		got += sh->proc[i].count;
		got_sum += sh->proc[i].sum;
		n_sampled += sh->proc[i].n_sampled;
		if (sh->proc[i].t_sampled > t_last)
			t_last = sh->proc[i].t_sampled;
	}
	sent *= copies;
	sent_sum *= copies;
	if (sent != got)
		return run_fail(r, -EPROTO, "%llu events sent, %llu received: %s",
				(unsigned long long)sent, (unsigned long long)got,
				sent > got ? "events lost" : "events duplicated");
	if (sent_sum != got_sum)
		return run_fail(r, -EPROTO,
				"checksums differ: events lost and duplicated");
	r->out->events = got;
	if (t_last <= sh->t0_ns || n_sampled == 0)
		return run_fail(r, -EPROTO, "no events received");
	/* Rate over the events counted at the consumers' last clock reads:
	 * at most SAMPLE_EVERY - 1 events per consumer are left out. */
	r->out->events_per_s = (double)n_sampled * 1e9 / (double)(t_last - sh->t0_ns);
	r->out->bytes_per_s = r->out->events_per_s * (double)c->size;
	return 0;
}

static int collect(struct run *r)
{
	const struct bench_cfg *c = r->ch.cfg;
	struct bench_shared *sh = r->sh;

	for (int i = 0; i < (int)(c->producers + c->consumers); i++)
		r->out->cpu_of[i] = sh->proc[i].cpu;
	r->out->nproc = (int)(c->producers + c->consumers);
	if (c->mode == BENCH_PINGPONG) {
		uint64_t n = sh->proc[0].count;

		if (n == 0 || sh->hist.total != n)
			return run_fail(r, -EPROTO, "no round trips measured");
		r->out->events = n;
		/* One-way messages per second: two per round trip. */
		r->out->events_per_s = 2.0 * (double)n * 1e9 /
				       (double)(sh->proc[0].t_sampled - sh->proc[0].t_begin + 1);
		r->out->bytes_per_s = r->out->events_per_s * (double)c->size;
	} else {
		int rc = check_totals(r);

		if (rc < 0)
			return rc;
	}
	if (c->mode != BENCH_THR)
		for (int i = 0; i < BENCH_NPCT; i++)
			r->out->lat_ns[i] = (double)bench_hist_quantile(&sh->hist, bench_pct[i]);
	return 0;
}

static int run_children(struct run *r)
{
	const struct bench_cfg *c = r->ch.cfg;
	int np = (int)c->producers, nc = (int)c->consumers;
	uint64_t deadline;
	int rc;

	r->nproc = np + nc;
	for (int i = np; i < np + nc; i++)
		if ((rc = spawn(r, i)) < 0)
			return rc;
	for (int i = 0; i < np; i++)
		if ((rc = spawn(r, i)) < 0)
			return rc;
	if ((rc = wait_ready(r)) < 0)
		return rc;
	r->sh->t0_ns = bench_now_ns();
	/* Release: publishes t0_ns; pairs with the acquire in wait_for(). */
	atomic_store_explicit(&r->sh->go, 1, memory_order_release);
	if ((rc = measure(r)) < 0)
		return rc;
	deadline = bench_now_ns() + (c->count ? COUNT_RUN_TIMEOUT_NS : DRAIN_TIMEOUT_NS);
	if ((rc = wait_exit(r, 0, np, deadline, "producers")) < 0)
		return rc;
	if (c->mode != BENCH_PINGPONG && r->ch.t->end_by_parent) {
		r->nproc = np + nc + 1;
		if ((rc = spawn(r, np + nc)) < 0)
			return rc;
	}
	deadline = bench_now_ns() + DRAIN_TIMEOUT_NS;
	if ((rc = wait_exit(r, 0, r->nproc, deadline, "consumers")) < 0)
		return rc;
	return collect(r);
}

int bench_run_once(const struct bench_transport *t, const struct bench_cfg *cfg,
		   struct bench_run *out)
{
	static unsigned counter;
	struct run r = { .ch = { .t = t, .cfg = cfg }, .out = out };
	int rc;

	memset(out, 0, sizeof(*out));
	if (cfg->producers + cfg->consumers >= BENCH_MAX_PROCS)
		return run_fail(&r, -EINVAL, "too many processes");
	/* Instance-safe unique tag: [A-Za-z0-9]; no dots. */
	snprintf(r.ch.tag, sizeof(r.ch.tag), "fb%dx%u", (int)getpid(), counter++);
	r.sh = mmap(NULL, sizeof(*r.sh), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r.sh == MAP_FAILED)
		return run_fail(&r, -errno, "mmap: %s", strerror(errno));
	bench_hist_reset(&r.sh->hist);
	rc = t->setup(&r.ch);
	if (rc < 0) {
		out->setup_failed = true;
		run_fail(&r, rc, "%s: setup: %s", t->name,
			 r.out->err[0] ? r.out->err : strerror(-rc));
	} else {
		rc = run_children(&r);
		kill_all(&r);
		t->teardown(&r.ch);
	}
	munmap(r.sh, sizeof(*r.sh));
	return out->rc;
}
