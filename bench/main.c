/*
 * fev-bench: the command line.  Builds the list of configurations (one for
 * thr/lat, the standard set for matrix), runs fev and every --vs baseline
 * alternately --runs times per configuration, and reports medians with min
 * and max.  Exit status: 0; 1 when any run failed (lost, duplicated or
 * reordered events, a hang, an error); 2 on bad usage; 130 on Ctrl-C.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "bounds.h"
#include "fev/fev.h"
#include "nats.h"
#include "webhooks.h"

#define MAX_TRANSPORTS 16
#define MAX_CFGS 256

static const char usage[] =
	"usage: fev-bench thr|lat|matrix [options]\n"
	"       fev-bench webhooks [--count N] [--max-in-flight N] [--curl-count N]\n"
	"                          [--latency-count N]\n"
	"       fev-bench nats [--count N] [--runs R]\n"
	"  nats    fev-nats both ways against plain libnats clients on a local\n"
	"          nats-server -js it starts (FEV_NATS, NATS_SERVER: the programs)\n"
	"  webhooks  fev-webhooks to a local keep-alive receiver, against curl\n"
	"          per event and one keep-alive client (FEV_WEBHOOKS: the program)\n"
	"  thr     P producer processes -> Q consumer processes through one queue\n"
	"  lat     ping-pong between two processes (one-way = RTT/2); with --rate,\n"
	"          also one-way latency under a steady offered rate\n"
	"  matrix  the standard set: sizes 8 64 512 4K 64K, 1->1 2->2 4->4,\n"
	"          spin and block, throughput and ping-pong\n"
	"options:\n"
	"  --size N[K]        payload bytes (default 64, minimum 8)\n"
	"  -p, --producers N  producer processes (default 1)\n"
	"  -c, --consumers N  consumer processes (default 1)\n"
	"  --batch N          events per send/receive call (default 1)\n"
	"  --wait MODE        spin (busy-poll, timeout 0), block (spin then futex,\n"
	"                     the default), sleep (futex only: FEV_OPEN_NO_SPIN);\n"
	"                     matrix takes a list (default spin,block)\n"
	"  --api copy|zerocopy  fev_send/fev_recv or reserve/commit + acquire/release\n"
	"  --duration S       seconds per run (default 1; matrix 0.2)\n"
	"  --count N          events per producer (or round trips) instead\n"
	"  --rate R           lat: offered events/s for the one-way test\n"
	"  --runs N           alternating runs per transport, median reported (5)\n"
	"  --vs LIST          baselines: pipe,unix,mq,zmq,floor (or all), and\n"
	"                     fev-meta: fev with a key and 2 headers per event,\n"
	"                     fev-fd: consumers wait in epoll on fev_fd(),\n"
	"                     fev-any: in fev_wait_any() over 64 queues,\n"
	"                     fev-trace0, fev-trace1: a traceparent on every event,\n"
	"                     none or 1 in 100 sampled (hops recorded)\n"
	"                     fev-tail: fev with a tail (fev_tail_*) watching,\n"
	"                     fev-queues: each event sent to one queue per consumer,\n"
	"                     fev-spsc: fev through single-producer, single-\n"
	"                     consumer queues (1 -> 1; cursors without a CAS)\n"
	"  --sync MODE        the sync mode of fev's own queues: mpmc (default),\n"
	"                     spsc, spmc or mpsc (single/multi producer/consumer)\n"
	"  --fev NAME         what is measured against them: fev (a queue, the\n"
	"                     default), fev-fanout (a topic, one consumer group\n"
	"                     per consumer: every consumer gets every event),\n"
	"                     fev-keyed (a topic of 8 partitions, keyed events,\n"
	"                     consumers own partitions; order checked per key)\n"
	"  --queue NAME       use fevd's queue NAME (ping-pong: also NAME-pong)\n"
	"  --cpus LIST        pin producer i to the i-th CPU of LIST, consumer i\n"
	"                     to the next one (e.g. 0,1)\n"
	"  --sizes LIST, --procs LIST   matrix: override the sizes / P=Q counts\n"
	"  --quick            matrix: 8 and 64 B, 1->1 and 2->2, block, tiny runs\n"
	"  --json FILE, --csv FILE, --plot FILE.png   write results\n";

struct opts {
	const char *cmd;
	struct bench_cfg base;
	bool waits[3];
	bool wait_given;
	unsigned runs;
	const struct bench_transport *ts[MAX_TRANSPORTS];
	unsigned nts;
	const char *json, *csv, *plot, *sizes, *procs, *cpus;
	bool quick, duration_given;
};

static void die_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "fev-bench: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n%s", usage);
	exit(2);
}

static uint64_t parse_u64(const char *s, const char *what)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || v < 0)
		die_usage("bad %s", what);
	if (*end == 'K' || *end == 'k')
		v *= 1024, end++;
	else if (*end == 'M' || *end == 'm')
		v *= 1024 * 1024, end++;
	if (*end != '\0')
		die_usage("bad %s", what);
	return (uint64_t)v;
}

static int parse_wait(const char *s, enum bench_wait *w)
{
	if (strcmp(s, "spin") == 0)
		*w = BENCH_SPIN;
	else if (strcmp(s, "block") == 0)
		*w = BENCH_BLOCK;
	else if (strcmp(s, "sleep") == 0 || strcmp(s, "nospin") == 0)
		*w = BENCH_SLEEP;
	else
		return -1;
	return 0;
}

static void parse_waits(struct opts *o, const char *list)
{
	char buf[64], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", list);
	memset(o->waits, 0, sizeof(o->waits));
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		enum bench_wait w;

		if (parse_wait(t, &w) < 0)
			die_usage("bad --wait %s", t);
		o->waits[w] = true;
		o->base.wait = w;
	}
	o->wait_given = true;
}

static void parse_vs(struct opts *o, const char *list)
{
	char buf[128], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", strcmp(list, "all") == 0 ?
						  "pipe,unix,mq,zmq,floor" : list);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		const struct bench_transport *tr = bench_transport_find(t);

		if (tr == NULL || tr == o->ts[0])
			die_usage("unknown baseline %s (pipe, unix, mq, zmq, floor, "
				  "fev-meta, fev-fd, fev-any, fev-trace0, fev-trace1, "
				  "fev-tail, fev-queues, fev-fanout, fev-keyed, fev)", t);
		for (unsigned i = 0; i < o->nts; i++)
			if (o->ts[i] == tr)
				tr = NULL;
		if (tr != NULL && o->nts < MAX_TRANSPORTS)
			o->ts[o->nts++] = tr;
	}
}

/* --fev: which of fev's transports the baselines are compared with. */
static void parse_fev(struct opts *o, const char *name)
{
	const struct bench_transport *tr = bench_transport_find(name);

	if (tr == NULL || strncmp(name, "fev", 3) != 0)
		die_usage("unknown --fev %s (fev, fev-fanout, fev-keyed, "
			  "fev-queues, fev-meta)", name);
	if (o->nts > 1)
		die_usage("%s", "--fev goes before --vs");
	o->ts[0] = tr;
}

/* --sync: the FEV_SYNC_* bits of a name as fev stat spells it
 * (fev__sync_name(), which the shared libfev does not export). */
static uint32_t parse_sync(const char *s)
{
	static const struct {
		const char *name;
		uint32_t bits;
	} modes[] = { { "mpmc", 0 },
		      { "spmc", FEV_SYNC_SP },
		      { "mpsc", FEV_SYNC_SC },
		      { "spsc", FEV_SYNC_SP | FEV_SYNC_SC } };

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(s, modes[i].name) == 0)
			return modes[i].bits;
	die_usage("bad --sync %s (mpmc, spsc, spmc, mpsc)", s);
	return 0;
}

static void parse_args(struct opts *o, int argc, char **argv)
{
	enum { O_SIZE = 256, O_BATCH, O_WAIT, O_API, O_DURATION, O_COUNT,
	       O_RATE, O_RUNS, O_VS, O_QUEUE, O_CPUS, O_JSON, O_CSV, O_PLOT,
	       O_SIZES, O_PROCS, O_QUICK, O_FEV, O_SYNC };
	static const struct option lo[] = {
		{ "size", 1, 0, O_SIZE },         { "producers", 1, 0, 'p' },
		{ "consumers", 1, 0, 'c' },       { "batch", 1, 0, O_BATCH },
		{ "wait", 1, 0, O_WAIT },         { "api", 1, 0, O_API },
		{ "duration", 1, 0, O_DURATION }, { "count", 1, 0, O_COUNT },
		{ "rate", 1, 0, O_RATE },         { "runs", 1, 0, O_RUNS },
		{ "vs", 1, 0, O_VS },             { "queue", 1, 0, O_QUEUE },
		{ "cpus", 1, 0, O_CPUS },         { "json", 1, 0, O_JSON },
		{ "csv", 1, 0, O_CSV },           { "plot", 1, 0, O_PLOT },
		{ "sizes", 1, 0, O_SIZES },       { "procs", 1, 0, O_PROCS },
		{ "quick", 0, 0, O_QUICK },       { "help", 0, 0, 'h' },
		{ "fev", 1, 0, O_FEV },           { "sync", 1, 0, O_SYNC },
		{ 0, 0, 0, 0 },
	};
	int c;

	if (argc < 2 || argv[1][0] == '-') {
		if (argc >= 2 && (strcmp(argv[1], "-h") == 0 ||
				  strcmp(argv[1], "--help") == 0)) {
			fputs(usage, stdout);
			exit(0);
		}
		die_usage("%s", "which benchmark: thr, lat or matrix?");
	}
	o->cmd = argv[1];
	if (strcmp(o->cmd, "thr") && strcmp(o->cmd, "lat") && strcmp(o->cmd, "matrix"))
		die_usage("unknown benchmark %s", o->cmd);
	o->base = (struct bench_cfg){ .size = 64, .producers = 1, .consumers = 1,
				      .batch = 1, .wait = BENCH_BLOCK,
				      .api = BENCH_COPY, .duration_s = 1.0 };
	o->waits[BENCH_BLOCK] = true;
	o->runs = 5;
	o->ts[o->nts++] = &bench_fev;
	optind = 2;
	while ((c = getopt_long(argc, argv, "p:c:h", lo, NULL)) != -1) {
		switch (c) {
		case O_SIZE: o->base.size = parse_u64(optarg, "--size"); break;
		case 'p': o->base.producers = (unsigned)parse_u64(optarg, "--producers"); break;
		case 'c': o->base.consumers = (unsigned)parse_u64(optarg, "--consumers"); break;
		case O_BATCH: o->base.batch = (unsigned)parse_u64(optarg, "--batch"); break;
		case O_WAIT: parse_waits(o, optarg); break;
		case O_API:
			if (strcmp(optarg, "copy") == 0)
				o->base.api = BENCH_COPY;
			else if (strcmp(optarg, "zerocopy") == 0 || strcmp(optarg, "zero-copy") == 0)
				o->base.api = BENCH_ZEROCOPY;
			else
				die_usage("bad --api %s (copy, zerocopy)", optarg);
			break;
		case O_DURATION:
			o->base.duration_s = strtod(optarg, NULL);
			o->duration_given = true;
			if (!(o->base.duration_s > 0))
				die_usage("bad --duration %s", optarg);
			break;
		case O_COUNT: o->base.count = parse_u64(optarg, "--count"); break;
		case O_RATE: o->base.rate = strtod(optarg, NULL); break;
		case O_RUNS: o->runs = (unsigned)parse_u64(optarg, "--runs"); break;
		case O_VS: parse_vs(o, optarg); break;
		case O_QUEUE: o->base.queue = optarg; break;
		case O_CPUS: o->cpus = optarg; break;
		case O_JSON: o->json = optarg; break;
		case O_CSV: o->csv = optarg; break;
		case O_PLOT: o->plot = optarg; break;
		case O_SIZES: o->sizes = optarg; break;
		case O_PROCS: o->procs = optarg; break;
		case O_QUICK: o->quick = true; break;
		case O_FEV: parse_fev(o, optarg); break;
		case O_SYNC: o->base.sync = parse_sync(optarg); break;
		case 'h': fputs(usage, stdout); exit(0);
		default: die_usage("%s", "bad option");
		}
	}
	if (optind != argc)
		die_usage("unexpected argument %s", argv[optind]);
	if (o->base.size < BENCH_MSG_MIN)
		die_usage("%s", "--size must be at least 8 (the event header)");
	if (o->base.size > FEV__MAX_EVENT_MAX)
		die_usage("%s", "--size must be at most a queue's largest "
				"max_event (16M)");
	if (o->base.batch == 0 || o->base.batch > 1024)
		die_usage("%s", "--batch must be 1 .. 1024");
	if (o->base.producers == 0 || o->base.consumers == 0 ||
	    o->base.producers + o->base.consumers >= BENCH_MAX_PROCS)
		die_usage("%s", "--producers/--consumers: 1 .. 31 each");
	if (o->runs == 0 || o->runs > 1000)
		die_usage("%s", "--runs must be 1 .. 1000");
	if (o->base.rate < 0)
		die_usage("%s", "--rate must be positive");
	if (o->cpus != NULL) {
		o->base.ncpus = bench_parse_cpus(o->cpus, o->base.cpus, BENCH_MAX_CPUS);
		if (o->base.ncpus <= 0)
			die_usage("bad --cpus %s", o->cpus);
	}
}

/* ---- the configurations ---------------------------------------------- */

static size_t add_cfg(struct bench_cfg *cfgs, size_t n, const struct bench_cfg *c)
{
	if (n >= MAX_CFGS) {
		fprintf(stderr, "fev-bench: too many configurations\n");
		exit(2);
	}
	cfgs[n] = *c;
	return n + 1;
}

static int parse_list(const char *s, uint64_t *out, int max, const char *what)
{
	char buf[256], *save = NULL;
	int n = 0;

	snprintf(buf, sizeof(buf), "%s", s);
	for (char *t = strtok_r(buf, ",", &save); t && n < max; t = strtok_r(NULL, ",", &save))
		out[n++] = parse_u64(t, what);
	return n;
}

static size_t build_cfgs(struct opts *o, struct bench_cfg *cfgs)
{
	struct bench_cfg c = o->base;
	size_t n = 0;

	if (strcmp(o->cmd, "thr") == 0) {
		c.mode = BENCH_THR;
		return add_cfg(cfgs, n, &c);
	}
	if (strcmp(o->cmd, "lat") == 0) {
		c.mode = BENCH_PINGPONG;
		c.producers = c.consumers = 1;
		c.batch = 1;
		n = add_cfg(cfgs, n, &c);
		if (o->base.rate > 0) {
			if (c.size < BENCH_MSG_TS_MIN)
				die_usage("%s", "--rate needs --size 16 or more "
						"(the timestamp)");
			c.mode = BENCH_RATE;
			n = add_cfg(cfgs, n, &c);
		}
		return n;
	}
	/* matrix */
	uint64_t sizes[16] = { 8, 64, 512, 4096, 65536 }, procs[8] = { 1, 2, 4 };
	int ns = 5, np = 3;

	if (o->quick) {
		ns = np = 2; /* 8, 64 B; 1->1, 2->2 */
		if (!o->wait_given) {
			memset(o->waits, 0, sizeof(o->waits));
			o->waits[BENCH_BLOCK] = true;
		}
	} else if (!o->wait_given) {
		o->waits[BENCH_SPIN] = o->waits[BENCH_BLOCK] = true;
	}
	if (o->sizes)
		ns = parse_list(o->sizes, sizes, 16, "--sizes");
	if (o->procs)
		np = parse_list(o->procs, procs, 8, "--procs");
	if (!o->duration_given)
		c.duration_s = o->quick ? 0.05 : 0.2;
	for (int w = 0; w < 3; w++)
		for (int p = 0; o->waits[w] && p < np; p++)
			for (int s = 0; s < ns; s++) {
				c.mode = BENCH_THR;
				c.wait = (enum bench_wait)w;
				c.size = sizes[s];
				c.producers = c.consumers = (unsigned)procs[p];
				n = add_cfg(cfgs, n, &c);
			}
	for (int w = 0; w < 3; w++)
		for (int s = 0; o->waits[w] && s < ns; s++) {
			c.mode = BENCH_PINGPONG;
			c.wait = (enum bench_wait)w;
			c.size = sizes[s];
			c.producers = c.consumers = 1;
			c.batch = 1;
			n = add_cfg(cfgs, n, &c);
		}
	return n;
}

/* ---- running and summarising ---------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static struct bench_stat stat_of(double *v, unsigned n)
{
	struct bench_stat s = { 0, 0, 0 };

	if (n == 0)
		return s;
	qsort(v, n, sizeof(*v), cmp_double);
	s.min = v[0];
	s.max = v[n - 1];
	s.med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	return s;
}

struct samples {
	double eps[1000], bps[1000], lat[BENCH_NPCT][1000];
	unsigned n;
};

static void progress(size_t ci, size_t nc, unsigned run, unsigned runs,
		     const struct bench_transport *t, const struct bench_cfg *c)
{
	if (!isatty(2))
		return;
	fprintf(stderr, "\r\033[K[%zu/%zu] run %u/%u %-5s %s %zuB %u->%u %s", ci + 1,
		nc, run + 1, runs, t->name,
		c->mode == BENCH_THR ? "thr" : c->mode == BENCH_RATE ? "rate" : "ping-pong",
		c->size, c->producers, c->consumers, bench_wait_name(c->wait));
	fflush(stderr);
}

static void progress_clear(void)
{
	if (isatty(2)) {
		fprintf(stderr, "\r\033[K");
		fflush(stderr);
	}
}

static void record(struct bench_result *res, struct samples *s,
		   const struct bench_run *run)
{
	if (run->rc != 0) {
		if (run->setup_failed && res != res->fev) {
			res->skipped = run->rc == -EMSGSIZE ?
					       "events this large exceed its system limit" :
					       "could not be set up here";
			snprintf(res->err, sizeof(res->err), "%s", run->err);
			return;
		}
		res->failed++;
		snprintf(res->err, sizeof(res->err), "%s", run->err);
		return;
	}
	s->eps[s->n] = run->events_per_s;
	s->bps[s->n] = run->bytes_per_s;
	for (int i = 0; i < BENCH_NPCT; i++)
		s->lat[i][s->n] = run->lat_ns[i];
	s->n++;
	memcpy(res->cpu_of, run->cpu_of, sizeof(res->cpu_of));
	res->nproc = run->nproc;
}

static void summarise(struct bench_result *res, struct samples *s)
{
	res->runs = s->n;
	res->events_per_s = stat_of(s->eps, s->n);
	res->bytes_per_s = stat_of(s->bps, s->n);
	for (int i = 0; i < BENCH_NPCT; i++)
		res->lat_ns[i] = stat_of(s->lat[i], s->n);
}

/* All transports on one configuration, alternating run by run. */
static void run_cfg(const struct opts *o, const struct bench_cfg *c, size_t ci,
		    size_t nc, struct bench_result *res, struct samples *smp)
{
	for (unsigned t = 0; t < o->nts; t++) {
		res[t] = (struct bench_result){ .t = o->ts[t], .cfg = *c, .fev = &res[0] };
		res[t].skipped = o->ts[t]->unsupported(c);
		res[t].wait_note = o->ts[t]->wait_note(c);
		smp[t].n = 0;
	}
	for (unsigned r = 0; r < o->runs && !bench_interrupted; r++)
		for (unsigned t = 0; t < o->nts && !bench_interrupted; t++) {
			struct bench_run run;

			if (res[t].skipped)
				continue;
			progress(ci, nc, r, o->runs, o->ts[t], c);
			bench_run_once(o->ts[t], c, &run);
			if (run.rc == -EINTR || bench_interrupted)
				break;
			record(&res[t], &smp[t], &run);
		}
	for (unsigned t = 0; t < o->nts; t++)
		summarise(&res[t], &smp[t]);
	progress_clear();
}

static char *command_line(int argc, char **argv)
{
	static char buf[1024];
	size_t n = 0;

	for (int i = 0; i < argc && n < sizeof(buf) - 1; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? " " : "",
				      argv[i]);
	return buf;
}

int main(int argc, char **argv)
{
	static struct bench_cfg cfgs[MAX_CFGS];
	static struct samples smp[MAX_TRANSPORTS];
	static struct bench_sysinfo si;
	struct opts o = { 0 };
	struct bench_result *res;
	struct bench_report rep;
	size_t nc, nres = 0;
	int failed = 0;

	if (argc >= 2 && strcmp(argv[1], "webhooks") == 0)
		return bench_webhooks_main(argc - 1, argv + 1);
#ifdef FEV_BENCH_NATS
	if (argc >= 2 && strcmp(argv[1], "nats") == 0)
		return bench_nats_main(argc - 1, argv + 1);
#endif
	parse_args(&o, argc, argv);
	nc = build_cfgs(&o, cfgs);
	res = calloc(nc * o.nts, sizeof(*res));
	if (res == NULL)
		return 1;
	bench_sysinfo_read(&si);
	bench_install_signals();
	rep = (struct bench_report){ .res = res, .si = &si,
				     .command = command_line(argc, argv),
				     .per_run_s = cfgs[0].duration_s, .runs = o.runs };
	if (strcmp(o.cmd, "matrix") == 0)
		fprintf(stderr, "fev-bench matrix: %zu configurations x %u transports x "
				"%u runs, %.2f s per run%s: about %.0f s\n",
			nc, o.nts, o.runs, cfgs[0].duration_s,
			cfgs[0].count ? " (or --count)" : "",
			(double)(nc * o.nts * o.runs) * (cfgs[0].duration_s + 0.06));
	bench_report_header(&rep);
	for (size_t ci = 0; ci < nc && !bench_interrupted; ci++) {
		run_cfg(&o, &cfgs[ci], ci, nc, &res[nres], smp);
		for (unsigned t = 0; t < o.nts; t++) {
			rep.n = nres + t + 1;
			bench_report_line(&rep, &res[nres + t]);
			failed += res[nres + t].failed;
		}
		nres += o.nts;
		fflush(stdout);
	}
	rep.n = nres;
	bench_report_pinning(&rep);
	if (o.json && bench_report_json(&rep, o.json) < 0)
		failed++;
	if (o.csv && bench_report_csv(&rep, o.csv) < 0)
		failed++;
	if (o.plot && !bench_interrupted && bench_plot(&rep, o.plot) < 0)
		failed++;
	free(res);
	if (bench_interrupted) {
		fprintf(stderr, "fev-bench: interrupted; cleaned up\n");
		return 130;
	}
	if (failed)
		fprintf(stderr, "fev-bench: %d run(s) FAILED (see above)\n", failed);
	return failed ? 1 : 0;
}
