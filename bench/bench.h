/*
 * fev-bench: throughput and latency of fev against the usual ways to move
 * events between processes on one machine, measured in the same run.
 *
 * The pieces, one concern per file:
 *   main.c        command line, matrix, alternation of runs
 *   run.c         one measured run: fork, pin, start barrier, watchdog
 *   worker.c      what producers, consumers, pingers and pongers do
 *   message.c     the message header every event carries, and its checks
 *   transport_*.c one transport each, behind struct bench_transport
 *   histogram.c   log-linear latency histogram (bounded, <= 1% error)
 *   report.c      table, JSON, CSV;  plot.c  gnuplot;  sysinfo.c  machine
 */
#ifndef FEV_BENCH_H
#define FEV_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "histogram.h"

#define BENCH_MAX_PROCS 64
#define BENCH_MAX_CPUS 256
#define FEV_BENCH_TAG_MAX 32 /* fits a fev instance name */

enum bench_mode { BENCH_THR, BENCH_PINGPONG, BENCH_RATE };
enum bench_wait { BENCH_SPIN, BENCH_BLOCK, BENCH_SLEEP };
enum bench_api { BENCH_COPY, BENCH_ZEROCOPY };

/* One configuration: what a run measures, independent of the transport. */
struct bench_cfg {
	enum bench_mode mode;
	size_t size;   /* payload bytes per event, >= 8 */
	unsigned producers, consumers;
	unsigned batch; /* events per send/receive call, >= 1 */
	enum bench_wait wait;
	enum bench_api api;
	double duration_s; /* per run; ignored when count != 0 */
	uint64_t count;    /* events per producer (or round trips); 0: duration */
	double rate;       /* BENCH_RATE: offered events per second */
	const char *queue; /* fev: use this existing (fevd's) queue */
	uint32_t sync;     /* fev: FEV_SYNC_* of the queues it makes (--sync) */
	int cpus[BENCH_MAX_CPUS];
	int ncpus; /* 0: no pinning */
};

enum bench_role { ROLE_PRODUCER, ROLE_CONSUMER, ROLE_PING, ROLE_PONG };

/* Writes message i of a send call into dst (len bytes). */
typedef void (*bench_fill_fn)(void *ctx, void *dst, size_t len, unsigned i);
/* Looks at one received message; negative errno stops the consumer. */
typedef int (*bench_take_fn)(void *ctx, const void *data, size_t len);

struct bench_chan;

/*
 * A transport.  setup() runs in the parent before fork() and makes whatever
 * the children inherit or attach to; teardown() removes it (idempotent, also
 * on failure and on Ctrl-C).  open() runs in a child.  send() sends up to n
 * messages built by fill (message i is fill(ctx, dst, len, i)) and returns
 * how many it sent (>= 1) or a negative errno; recv() hands up to max
 * messages to take and returns how many.  Both wait as cfg->wait says.
 *
 * End of a throughput run: consumers stop after `end_per_consumer` end
 * markers.  Shared-queue transports (end_by_parent) get one marker per
 * consumer from the parent once every producer has exited (FIFO puts them
 * behind all data); directed transports get `end_per_producer` markers from
 * each producer after its data, over its own FIFO paths.
 */
struct bench_transport {
	const char *name;
	/* NULL, or why this configuration cannot run on this transport. */
	const char *(*unsupported)(const struct bench_cfg *cfg);
	int (*setup)(struct bench_chan *ch);
	void (*teardown)(struct bench_chan *ch);
	int (*open)(struct bench_chan *ch, enum bench_role role, unsigned idx,
		    void **h);
	int (*send)(void *h, unsigned n, size_t len, bench_fill_fn fill,
		    void *ctx);
	int (*recv)(void *h, unsigned max, bench_take_fn take, void *ctx);
	void (*close)(void *h);
	bool end_by_parent;
	unsigned (*end_per_producer)(const struct bench_cfg *cfg);
	unsigned (*end_per_consumer)(const struct bench_cfg *cfg);
	/* What its wait mode really is (baselines ignore --wait). */
	const char *(*wait_note)(const struct bench_cfg *cfg);
	/* How many consumers get each event (fan-out: every one); NULL: one.
	 * Each of them must get it exactly once. */
	unsigned (*copies)(const struct bench_cfg *cfg);
	/* Consumers read several partitions, in order per partition, not per
	 * producer: the transport checks that order itself (recv fails with
	 * -EPROTO), the consumer only counts and sums. */
	bool orders_itself;
};

/* t->copies(cfg), or 1. */
unsigned bench_copies(const struct bench_transport *t,
		      const struct bench_cfg *cfg);

/* end_per_producer / end_per_consumer for transports that need just one. */
unsigned bench_one_end_marker(const struct bench_cfg *cfg);

/* wait_note of the fev transports, whose handles wait as --wait says
 * (transport_fev.c, transport_topic.c). */
const char *bench_fev_wait_note(const struct bench_cfg *cfg);

struct bench_chan {
	const struct bench_transport *t;
	const struct bench_cfg *cfg;
	char tag[FEV_BENCH_TAG_MAX]; /* unique per run: names of queues, sockets, files */
	void *priv;   /* the transport's, allocated by setup() */
};

/* Queue depth in events for shared-memory transports (fev and the floor
 * ring alike): about 16 MiB of slots, 64 .. 4096 events. */
static inline uint32_t bench_capacity(size_t size)
{
	uint64_t slot = size + 64, cap = 4096;

	while (cap > 64 && cap * slot > (16u << 20))
		cap /= 2;
	return (uint32_t)cap;
}

/* One empty poll of a busy-waiting loop; every 256th yields the CPU, so
 * oversubscribed spinners (4 -> 4 on 2 cores) still make progress. */
void bench_spin_pause(unsigned *polls);
/* Baselines under --wait spin make non-blocking calls and poll: true when
 * a call that failed with err should simply be made again. */
bool bench_retry(int err, bool spin, unsigned *polls);

extern const struct bench_transport bench_fev, bench_pipe, bench_unix,
	bench_mq, bench_zmq, bench_floor, bench_fev_meta,
	bench_fev_fd, bench_fev_any, bench_fev_trace0, bench_fev_trace1,
	bench_fev_tail, bench_fev_fanout, bench_fev_queues, bench_fev_keyed,
	bench_fev_spsc;
const struct bench_transport *bench_transport_find(const char *name);

/* ---- message.c: the header every event carries ---------------------- */

enum bench_kind { MSG_DATA = 0, MSG_END = 1 };
#define BENCH_MSG_MIN 8        /* word0 only */
#define BENCH_MSG_TS_MIN 16    /* word0 + timestamp */
#define BENCH_SEQ_BITS 48
#define BENCH_MAX_PRODUCERS 4096

uint64_t bench_msg_word(enum bench_kind kind, unsigned producer, uint64_t seq);
void bench_msg_write(void *dst, size_t len, uint64_t word, uint64_t ts_ns);
void bench_msg_read(const void *src, size_t len, enum bench_kind *kind,
		    unsigned *producer, uint64_t *seq, uint64_t *ts_ns);
/* Fill callback that writes end markers. */
void bench_fill_end(void *ctx, void *dst, size_t len, unsigned i);

/* ---- results -------------------------------------------------------- */

#define BENCH_NPCT 6 /* p50 p90 p99 p99.9 p99.99 max */
extern const double bench_pct[BENCH_NPCT];
extern const char *const bench_pct_name[BENCH_NPCT];

/* What one run measured. */
struct bench_run {
	int rc;            /* 0, or negative errno: the run failed */
	bool setup_failed; /* the transport could not be set up here */
	char err[200];     /* why it failed */
	double events_per_s, bytes_per_s;
	uint64_t events;
	double lat_ns[BENCH_NPCT];
	int cpu_of[BENCH_MAX_PROCS]; /* where each process ran last */
	int nproc;
};

/* The median, min and max over the runs of one transport+configuration. */
struct bench_stat {
	double med, min, max;
};

struct bench_result {
	const struct bench_transport *t;
	struct bench_cfg cfg;
	const char *skipped; /* reason, or NULL */
	int failed;          /* runs that failed */
	char err[200];
	unsigned runs;
	struct bench_stat events_per_s, bytes_per_s;
	struct bench_stat lat_ns[BENCH_NPCT];
	int cpu_of[BENCH_MAX_PROCS];
	int nproc;
	const char *wait_note;
	struct bench_result *fev; /* the fev result it is compared with */
};

/* run.c */
int bench_run_once(const struct bench_transport *t, const struct bench_cfg *cfg,
		   struct bench_run *out);
extern volatile int bench_interrupted;
void bench_install_signals(void);
const char *bench_role_name(const struct bench_cfg *cfg, int proc);
/* The CPU --cpus puts process proc on, or -1 when not pinned. */
int bench_cpu_of(const struct bench_cfg *cfg, int proc);

/* worker.c: the bodies of the child processes */
struct bench_shared;
int bench_worker(struct bench_chan *ch, struct bench_shared *sh, int proc);

/* sysinfo.c */
struct bench_sysinfo {
	char cpu_model[128];
	int cores_online;
	char kernel[256];
	char governor[64];
	char siblings[BENCH_MAX_CPUS][32]; /* thread_siblings_list per cpu */
	int ncpu;
};
void bench_sysinfo_read(struct bench_sysinfo *si);
/* 1 if a and b are hyper-thread siblings, 0 if not, -1 unknown. */
int bench_cpus_are_siblings(const struct bench_sysinfo *si, int a, int b);
int bench_parse_cpus(const char *list, int *out, int max);

/* report.c */
struct bench_report {
	struct bench_result *res;
	size_t n;
	const struct bench_sysinfo *si;
	const char *command;
	double per_run_s;
	unsigned runs;
};
void bench_report_header(const struct bench_report *r);
void bench_report_line(const struct bench_report *r,
		       const struct bench_result *res);
void bench_report_pinning(const struct bench_report *r);
int bench_report_json(const struct bench_report *r, const char *path);
int bench_report_csv(const struct bench_report *r, const char *path);
const char *bench_mode_name(enum bench_mode m);
const char *bench_wait_name(enum bench_wait w);
const char *bench_api_name(enum bench_api a);

/* plot.c */
int bench_plot(const struct bench_report *r, const char *png);

#endif /* FEV_BENCH_H */
