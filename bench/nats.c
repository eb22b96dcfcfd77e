/*
 * fev-bench nats: fev-nats against plain libnats clients, on one local
 * nats-server -js that this command starts (file storage, its own
 * directory), in the same run, alternating, medians of --runs:
 *
 *   out   N keyed events with two headers into a 1-partition topic; the
 *         bridge publishes them (js_PublishMsgAsync, Nats-Msg-Id,
 *         fev-key): events/s from the first send until JetStream holds N
 *   pub   the plain baseline: one libnats async publisher sends the same
 *         N messages (same subject, headers and Nats-Msg-Id) and waits for
 *         every PubAck (js_PublishAsyncComplete)
 *   in    the bridge fetches N messages (batch 256) from a durable pull
 *         consumer into a fev topic: events/s until the topic holds N
 *   fetch the plain baseline: a Fetch(256) + Ack loop over a durable
 *         consumer of the same stream
 *
 * Issue 13's target: out >= 80% of pub.  Beside the rates, CPU per event:
 * the bridge's (user + system, from wait4() when it exits) and the plain
 * publisher's (getrusage() of this process around its run): a figure the
 * machine's load moves much less than a rate.  --vs-bridge PATH runs a
 * second fev-nats build on the out path too, alternating, for a same-run
 * before/after of a change to the bridge.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <nats/nats.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fev/fev.h"
#include "nats.h"

#define TOPIC_OUT "bench-nats-out"
#define TOPIC_IN "bench-nats-in"
#define PAYLOAD 64
#define WAIT_S 120

struct nb {
	unsigned events, runs;
	const char *vs_bridge; /* --vs-bridge: a second fev-nats, or NULL */
	double cpu_us;         /* the last run's CPU per event, in µs */
	char dir[64], instance[32], url[64];
	int port;
	pid_t server;
	natsConnection *nc;
	jsCtx *js;
};

static double secs(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* $ENV, beside fev-bench, the build tree's, or $PATH's. */
static const char *program(const char *env, const char *name,
			   const char *tree, char *buf, size_t len)
{
	const char *e = getenv(env);
	char self[PATH_MAX], *dir;
	ssize_t n;

	if (e != NULL && e[0] != '\0')
		return e;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return name;
	self[n] = '\0';
	dir = dirname(self);
	snprintf(buf, len, "%s/%s", dir, name);
	if (access(buf, X_OK) == 0)
		return buf;
	snprintf(buf, len, "%s/%s/%s", dir, tree, name);
	return access(buf, X_OK) == 0 ? buf : name;
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (s >= 0 && bind(s, (struct sockaddr *)&a, l) == 0 &&
	    getsockname(s, (struct sockaddr *)&a, &l) == 0)
		port = ntohs(a.sin_port);
	if (s >= 0)
		close(s);
	return port;
}

static pid_t spawn(char *const argv[], const char *log)
{
	pid_t pid = fork();

	if (pid == 0) {
		FILE *f = freopen(log, "a", stderr);

		(void)f;
		execvp(argv[0], argv);
		fprintf(stderr, "fev-bench nats: cannot run %s: %s\n",
			argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

static int start_server(struct nb *b)
{
	char store[128], log[128], port[16];
	const char *srv = getenv("NATS_SERVER");
	char *argv[] = { (char *)(srv && srv[0] ? srv : "nats-server"),
			 (char *)"-js", (char *)"-a", (char *)"127.0.0.1",
			 (char *)"-p", port, (char *)"-sd", store, NULL };

	b->port = free_port();
	snprintf(port, sizeof(port), "%d", b->port);
	snprintf(store, sizeof(store), "%s/js", b->dir);
	snprintf(log, sizeof(log), "%s/nats-server.log", b->dir);
	snprintf(b->url, sizeof(b->url), "nats://127.0.0.1:%d", b->port);
	b->server = spawn(argv, log);
	for (int i = 0; i < 500; i++) {
		if (natsConnection_ConnectTo(&b->nc, b->url) == NATS_OK)
			return natsConnection_JetStream(&b->js, b->nc, NULL) ==
					       NATS_OK ?
				       0 :
				       -EIO;
		usleep(20000);
	}
	return -ETIMEDOUT;
}

static int stream(struct nb *b, const char *name, const char *subject)
{
	jsStreamConfig c;
	jsStreamInfo *si = NULL;
	const char *subjects[] = { subject };
	jsErrCode je;

	js_DeleteStream(b->js, name, NULL, &je);
	jsStreamConfig_Init(&c);
	c.Name = name;
	c.Subjects = subjects;
	c.SubjectsLen = 1;
	c.Storage = js_FileStorage;
	if (js_AddStream(&si, b->js, &c, NULL, &je) != NATS_OK)
		return -EIO;
	jsStreamInfo_Destroy(si);
	return 0;
}

static uint64_t stream_msgs(struct nb *b, const char *name)
{
	jsStreamInfo *si = NULL;
	uint64_t n = 0;

	if (js_GetStreamInfo(&si, b->js, name, NULL, NULL) == NATS_OK)
		n = si->State.Msgs;
	jsStreamInfo_Destroy(si);
	return n;
}

static pid_t bridge(struct nb *b, const char *what, const char *prog_path)
{
	char prog[PATH_MAX], conf[128], log[128];
	const char *p = prog_path != NULL ?
				prog_path :
				program("FEV_NATS", "fev-nats",
					"../connectors/nats", prog,
					sizeof(prog));
	char *argv[] = { (char *)p, (char *)"--config", conf, NULL };
	FILE *f;

	snprintf(conf, sizeof(conf), "%s/%s.conf", b->dir, what);
	snprintf(log, sizeof(log), "%s/%s.log", b->dir, what);
	f = fopen(conf, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "[bridge]\ninstance = %s\nstatus_file = %s/%s.status\n"
		   "log_level = warning\n[nats]\nservers = %s\n",
		b->instance, b->dir, what, b->url);
	if (strcmp(what, "out") == 0)
		fprintf(f, "[out bench]\ntopic = " TOPIC_OUT "\n"
			   "subject = bo.{key}\n");
	else
		fprintf(f, "[in bench]\nstream = BENCHIN\nconsumer = bridge\n"
			   "topic = " TOPIC_IN "\n");
	fclose(f);
	return spawn(argv, log);
}

static double cpu_s(const struct rusage *ru)
{
	return (double)ru->ru_utime.tv_sec + ru->ru_utime.tv_usec / 1e6 +
	       (double)ru->ru_stime.tv_sec + ru->ru_stime.tv_usec / 1e6;
}

/* SIGTERM and reap; the CPU seconds the process used (0 when none). */
static double stop(pid_t pid)
{
	struct rusage ru;

	if (pid <= 0)
		return 0;
	kill(pid, SIGTERM);
	if (wait4(pid, NULL, 0, &ru) != pid)
		return 0;
	return cpu_s(&ru);
}

static double self_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return cpu_s(&ru);
}

/* The event the runs send: key k<i % 100>, two headers, 64 bytes. */
static void event(unsigned i, char *key, size_t *key_len, char *payload)
{
	*key_len = (size_t)snprintf(key, 16, "k%u", i % 100);
	memset(payload, 'x', PAYLOAD);
	snprintf(payload, PAYLOAD, "event %u", i);
}

static const fev_header headers[] = {
	{ .name = "content-type", .value = "application/json",
	  .value_len = 16 },
	{ .name = "traceparent",
	  .value = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
	  .value_len = 55 },
};

static double run_out(struct nb *b, const char *prog)
{
	fev_queue_config qc = { .struct_size = sizeof(qc), .capacity = 1 << 17,
				.max_event = 512 };
	fev_topic *t;
	fev_open_opts oo = { .struct_size = sizeof(oo),
			     .instance = b->instance };
	pid_t pid;
	double t0, t1 = 0;
	char key[16], payload[PAYLOAD];
	size_t kl;

	if (stream(b, "BENCHOUT", "bo.>") < 0 ||
	    fev_topic_create(TOPIC_OUT, 1, &qc, b->instance) < 0 ||
	    fev_group_delete(TOPIC_OUT, "default", b->instance) < 0)
		return -1;
	pid = bridge(b, "out", prog);
	/* Attached: the bridge created its group and opened the partition. */
	for (int i = 0; i < 1000; i++) {
		fev_stats st;

		if (fev_queue_stats(TOPIC_OUT, b->instance, &st) == 0 &&
		    st.consumers > 0)
			break;
		usleep(10000);
	}
	fev_topic_open(TOPIC_OUT, FEV_PRODUCER, &oo, &t);
	t0 = secs();
	for (unsigned i = 0; i < b->events; i++) {
		fev_send_opts o = { .struct_size = sizeof(o), .key = key,
				    .headers = headers, .n_headers = 2 };

		event(i, key, &kl, payload);
		o.key_len = kl;
		fev_topic_send_ex(t, &o, payload, PAYLOAD, FEV_FOREVER);
	}
	while (secs() - t0 < WAIT_S) {
		if (stream_msgs(b, "BENCHOUT") >= b->events) {
			t1 = secs();
			break;
		}
		usleep(2000);
	}
	fev_topic_close(t);
	/* Its whole life: start-up and the drain at SIGTERM included. */
	b->cpu_us = stop(pid) * 1e6 / b->events;
	fev_topic_delete(TOPIC_OUT, b->instance);
	return t1 > 0 ? b->events / (t1 - t0) : -1;
}

static double run_pub(struct nb *b)
{
	char key[16], payload[PAYLOAD], subject[32], id[96];
	jsOptions jo;
	jsCtx *js;
	double t0, t1, c0 = self_cpu_s();
	size_t kl;

	if (stream(b, "BENCHPUB", "bp.>") < 0)
		return -1;
	jsOptions_Init(&jo);
	jo.PublishAsync.MaxPending = 512; /* the bridge's default window */
	if (natsConnection_JetStream(&js, b->nc, &jo) != NATS_OK)
		return -1;
	t0 = secs();
	for (unsigned i = 0; i < b->events; i++) {
		natsMsg *m = NULL;
		jsPubOptions po;

		event(i, key, &kl, payload);
		snprintf(subject, sizeof(subject), "bp.%s", key);
		snprintf(id, sizeof(id), "%s:" TOPIC_OUT ":1764471000000000000:0:%u",
			 b->instance, i);
		natsMsg_Create(&m, subject, NULL, payload, PAYLOAD);
		for (int h = 0; h < 2; h++)
			natsMsgHeader_Add(m, headers[h].name,
					  headers[h].value);
		natsMsgHeader_Set(m, "fev-key", key);
		jsPubOptions_Init(&po);
		po.MsgId = id;
		po.MaxWait = 5000;
		js_PublishMsgAsync(js, &m, &po);
		natsMsg_Destroy(m);
	}
	js_PublishAsyncComplete(js, NULL);
	t1 = secs();
	jsCtx_Destroy(js);
	b->cpu_us = (self_cpu_s() - c0) * 1e6 / b->events;
	return stream_msgs(b, "BENCHPUB") >= b->events ?
		       b->events / (t1 - t0) :
		       -1;
}

/* Fill stream BENCHIN with N messages like the bridge writes them. */
static int fill_in(struct nb *b)
{
	char key[16], payload[PAYLOAD], subject[32];
	size_t kl;

	if (stream(b, "BENCHIN", "bi.>") < 0)
		return -1;
	for (unsigned i = 0; i < b->events; i++) {
		natsMsg *m = NULL;

		event(i, key, &kl, payload);
		snprintf(subject, sizeof(subject), "bi.%s", key);
		natsMsg_Create(&m, subject, NULL, payload, PAYLOAD);
		for (int h = 0; h < 2; h++)
			natsMsgHeader_Add(m, headers[h].name,
					  headers[h].value);
		natsMsgHeader_Set(m, "fev-key", key);
		js_PublishMsgAsync(b->js, &m, NULL);
		natsMsg_Destroy(m);
	}
	js_PublishAsyncComplete(b->js, NULL);
	return stream_msgs(b, "BENCHIN") >= b->events ? 0 : -1;
}

static double run_in(struct nb *b)
{
	fev_queue_config qc = { .struct_size = sizeof(qc), .capacity = 1 << 17,
				.max_event = 512 };
	double t0, t1 = 0;
	pid_t pid;

	uint64_t first = 0;
	double start;

	if (fev_topic_create(TOPIC_IN, 1, &qc, b->instance) < 0)
		return -1;
	pid = bridge(b, "in", NULL);
	/* From its first event on: the process start, connect and
	 * subscribe are not the bridge's throughput (the baseline's clock
	 * starts after its first fetch, too). */
	t0 = 0;
	for (start = secs(); secs() - start < WAIT_S; usleep(1000)) {
		fev_stats st;

		if (fev_queue_stats(TOPIC_IN, b->instance, &st) < 0)
			continue;
		if (t0 == 0 && st.enqueued > 0) {
			t0 = secs();
			first = st.enqueued;
		}
		if (st.enqueued >= b->events) {
			t1 = secs();
			break;
		}
	}
	stop(pid);
	fev_topic_delete(TOPIC_IN, b->instance);
	js_DeleteConsumer(b->js, "BENCHIN", "bridge", NULL, NULL);
	return t1 > t0 && t0 > 0 ? (b->events - first) / (t1 - t0) : -1;
}

static double run_fetch(struct nb *b)
{
	natsSubscription *sub = NULL;
	jsConsumerConfig cc;
	jsConsumerInfo *ci = NULL;
	jsSubOptions so;
	unsigned got = 0, first = 0;
	double t0 = 0, t1;

	jsConsumerConfig_Init(&cc);
	cc.Durable = "plain";
	cc.AckPolicy = js_AckExplicit;
	if (js_AddConsumer(&ci, b->js, "BENCHIN", &cc, NULL, NULL) != NATS_OK)
		return -1;
	jsConsumerInfo_Destroy(ci);
	jsSubOptions_Init(&so);
	so.Stream = "BENCHIN";
	so.Consumer = "plain";
	if (js_PullSubscribe(&sub, b->js, NULL, "plain", NULL, &so, NULL) !=
	    NATS_OK)
		return -1;
	for (double start = secs(); got < b->events && secs() - start < WAIT_S;) {
		natsMsgList l = { 0 };

		if (natsSubscription_Fetch(&l, sub, 256, 1000, NULL) != NATS_OK)
			continue;
		for (int i = 0; i < l.Count; i++)
			natsMsg_Ack(l.Msgs[i], NULL);
		if (t0 == 0) { /* as the bridge's: from the first batch */
			t0 = secs();
			first = (unsigned)l.Count;
		}
		got += (unsigned)l.Count;
		natsMsgList_Destroy(&l);
	}
	t1 = secs();
	natsSubscription_Destroy(sub);
	js_DeleteConsumer(b->js, "BENCHIN", "plain", NULL, NULL);
	return got >= b->events && t1 > t0 ? (b->events - first) / (t1 - t0) :
					      -1;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median of the runs that completed (a run that timed out is -1);
 * 0 when none did. */
static double median(const double *in, unsigned n)
{
	double v[15];
	unsigned k = 0;

	for (unsigned i = 0; i < n; i++)
		if (in[i] > 0)
			v[k++] = in[i];
	if (k == 0)
		return 0;
	qsort(v, k, sizeof(*v), cmp);
	return k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
}

/* The median of per-run ratios a/b: each pair ran back to back, so the
 * ratio is steadier than the ratio of medians on a noisy machine. */
static double median_ratio(const double *a, const double *b, unsigned n)
{
	double r[15];

	for (unsigned i = 0; i < n; i++)
		r[i] = a[i] > 0 && b[i] > 0 ? a[i] / b[i] : -1;
	return median(r, n);
}

static void parse(struct nb *b, int argc, char **argv)
{
	for (int i = 1; i + 1 < argc; i += 2) {
		unsigned v = (unsigned)strtoul(argv[i + 1], NULL, 10);

		if (strcmp(argv[i], "--vs-bridge") == 0)
			b->vs_bridge = argv[i + 1];
		else if (strcmp(argv[i], "--count") == 0 && v > 0)
			b->events = v;
		else if (strcmp(argv[i], "--runs") == 0 && v > 0 && v <= 15)
			b->runs = v;
		else {
			fprintf(stderr, "fev-bench nats: unknown %s (--count N, "
					"--runs R, --vs-bridge PATH)\n",
				argv[i]);
			exit(2);
		}
	}
}

int bench_nats_main(int argc, char **argv)
{
	struct nb b = { .events = 50000, .runs = 3 };
	double out[15], pub[15], in[15], fetch[15], vs[15] = { 0 };
	double cpu_out[15], cpu_pub[15], cpu_vs[15] = { 0 };
	int rc;

	parse(&b, argc, argv);
	snprintf(b.instance, sizeof(b.instance), "bench-nats-%d",
		 (int)getpid());
	snprintf(b.dir, sizeof(b.dir), "/tmp/fev-bench-nats-XXXXXX");
	if (mkdtemp(b.dir) == NULL || (rc = start_server(&b)) < 0) {
		fprintf(stderr, "fev-bench nats: cannot start nats-server -js "
				"(install nats-server, or set NATS_SERVER)\n");
		stop(b.server);
		return 1;
	}
	for (unsigned r = 0; r < b.runs; r++) {
		/* Alternate which goes first: the machine is noisy. */
		for (int turn = 0; turn < 3; turn++) {
			switch ((turn + r) % 3) {
			case 0:
				out[r] = run_out(&b, NULL);
				cpu_out[r] = b.cpu_us;
				break;
			case 1:
				pub[r] = run_pub(&b);
				cpu_pub[r] = b.cpu_us;
				break;
			default:
				if (b.vs_bridge == NULL)
					break;
				vs[r] = run_out(&b, b.vs_bridge);
				cpu_vs[r] = b.cpu_us;
			}
		}
		fill_in(&b);
		if (r % 2 == 0) {
			in[r] = run_in(&b);
			fetch[r] = run_fetch(&b);
		} else {
			fetch[r] = run_fetch(&b);
			in[r] = run_in(&b);
		}
		fprintf(stderr, "run %u: out %.0f (%.1f us/ev) pub %.0f "
				"(%.1f us/ev)",
			r + 1, out[r], cpu_out[r], pub[r], cpu_pub[r]);
		if (b.vs_bridge != NULL)
			fprintf(stderr, " vs-bridge %.0f (%.1f us/ev)", vs[r],
				cpu_vs[r]);
		fprintf(stderr, " in %.0f fetch %.0f events/s\n", in[r],
			fetch[r]);
	}
	jsCtx_Destroy(b.js);
	natsConnection_Destroy(b.nc);
	stop(b.server);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", b.dir);
		if (system(cmd) != 0)
			fprintf(stderr, "fev-bench nats: %s left\n", b.dir);
	}
	printf("fev-bench nats: %u events of %d bytes, key and 2 headers, "
	       "local nats-server -js (file), median of %u runs\n",
	       b.events, PAYLOAD, b.runs);
	printf("  fev -> JetStream  fev-nats          %9.0f events/s  "
	       "%.1f us CPU/event\n",
	       median(out, b.runs), median(cpu_out, b.runs));
	printf("                    libnats async pub %9.0f events/s  "
	       "%.1f us CPU/event  fev-nats: %.0f%% (median of per-run "
	       "ratios), CPU %.2fx\n",
	       median(pub, b.runs), median(cpu_pub, b.runs),
	       100 * median_ratio(out, pub, b.runs),
	       median_ratio(cpu_out, cpu_pub, b.runs));
	if (b.vs_bridge != NULL)
		printf("                    --vs-bridge       %9.0f events/s  "
		       "%.1f us CPU/event  fev-nats: %.0f%% of it, CPU "
		       "%.2fx\n",
		       median(vs, b.runs), median(cpu_vs, b.runs),
		       100 * median_ratio(out, vs, b.runs),
		       median_ratio(cpu_out, cpu_vs, b.runs));
	printf("  JetStream -> fev  fev-nats          %9.0f events/s\n",
	       median(in, b.runs));
	printf("                    libnats fetch+ack %9.0f events/s  "
	       "fev-nats: %.0f%%\n",
	       median(fetch, b.runs), 100 * median_ratio(in, fetch, b.runs));
	return 0;
}
