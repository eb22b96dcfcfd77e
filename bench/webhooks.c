/*
 * fev-bench webhooks: fev-webhooks delivering to one endpoint
 * (max_in_flight 64) of a local keep-alive receiver, against a curl
 * process per event and against one minimal keep-alive client, in the same
 * run (issue 12's targets: >= 20x the curl loop's deliveries/s, and an
 * event-to-request p50 within 2x of one keep-alive request).
 *
 *   throughput  N events published at once; deliveries/s from the first
 *               send to the N-th request at the receiver
 *   latency     one event at a time, the next after the previous arrived:
 *               event commit -> request at the receiver, p50/p99
 *   curl loop   K x `curl -X POST` (fork + exec + connect per event)
 *   keep-alive  K requests in turn on one connection (the floor)
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fev/fev.h"
#include "http_mini.h"
#include "webhooks.h"

#define TOPIC "bench-webhooks" /* one partition: "bench-webhooks" */
#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define WAIT_MS 120000

struct wh_opts {
	unsigned events, latency_events, curl_events, keepalive_events;
	unsigned max_in_flight;
};

static double secs(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* $FEV_WEBHOOKS, the installed one beside fev-bench, or the build tree's. */
static const char *webhooks_program(char *buf, size_t len)
{
	const char *env = getenv("FEV_WEBHOOKS");
	char self[PATH_MAX], *dir;
	ssize_t n;

	if (env != NULL && env[0] != '\0')
		return env;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return "fev-webhooks";
	self[n] = '\0';
	dir = dirname(self);
	snprintf(buf, len, "%s/fev-webhooks", dir);
	if (access(buf, X_OK) == 0)
		return buf;
	snprintf(buf, len, "%s/../connectors/webhooks/fev-webhooks", dir);
	return access(buf, X_OK) == 0 ? buf : "fev-webhooks";
}

static int write_config(const char *dir, const char *instance, uint16_t port,
			unsigned max_in_flight)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/webhooks.conf", dir);
	f = fopen(path, "w");
	if (f == NULL)
		return -errno;
	fprintf(f,
		"[webhooks]\ninstance = %s\ndatabase = %s/webhooks.db\n"
		"log_level = warning\n"
		"[endpoint bench]\nurl = http://127.0.0.1:%u/hook\n"
		"topic = " TOPIC "\nsecret = " SECRET "\n"
		"max_in_flight = %u\nallow_private = yes\n",
		instance, dir, port, max_in_flight);
	return fclose(f) == 0 ? 0 : -errno;
}

static pid_t spawn_webhooks(const char *dir)
{
	char prog[PATH_MAX], conf[PATH_MAX];
	const char *p = webhooks_program(prog, sizeof(prog));
	pid_t pid;

	snprintf(conf, sizeof(conf), "%s/webhooks.conf", dir);
	pid = fork();
	if (pid == 0) {
		execlp(p, p, "--config", conf, (char *)NULL);
		fprintf(stderr, "fev-bench: cannot run %s: %s (set "
				"FEV_WEBHOOKS)\n",
			p, strerror(errno));
		_exit(127);
	}
	return pid;
}

/* fev-webhooks is attached once the partition has a consumer. */
static int wait_attached(const char *instance, pid_t pid)
{
	for (int i = 0; i < 1000; i++) {
		fev_stats st;
		int status;

		if (fev_queue_stats(TOPIC, instance, &st) == 0 &&
		    st.consumers > 0)
			return 0;
		if (waitpid(pid, &status, WNOHANG) == pid)
			return -ECHILD;
		usleep(10000);
	}
	return -ETIMEDOUT;
}

static int send_stamped(fev_queue *q)
{
	char body[32];
	int len = snprintf(body, sizeof(body), "T%llu",
			   (unsigned long long)http_now_ns());

	return fev_send(q, body, (size_t)len, FEV_FOREVER);
}

static void print_latency(const char *what, const struct bench_hist *h)
{
	printf("  %-34s p50 %8.1f us   p99 %8.1f us\n", what,
	       (double)bench_hist_quantile(h, 0.5) / 1e3,
	       (double)bench_hist_quantile(h, 0.99) / 1e3);
}

static int run_webhooks(const struct wh_opts *o, struct http_receiver *r,
			const char *instance, double *rate,
			struct bench_hist *lat)
{
	fev_open_opts oo = { .struct_size = sizeof(oo), .instance = instance };
	fev_queue *q;
	double t0;
	int rc = fev_open(TOPIC, FEV_PRODUCER, &oo, &q);

	if (rc < 0)
		return rc;
	/* throughput: everything at once */
	http_receiver_reset(r);
	t0 = secs();
	for (unsigned i = 0; i < o->events && rc >= 0; i++)
		rc = send_stamped(q);
	if (rc >= 0)
		rc = http_receiver_wait(r, o->events, WAIT_MS);
	*rate = o->events / (secs() - t0);
	/* latency: one at a time, the receiver answering at once */
	http_receiver_reset(r);
	for (unsigned i = 0; i < o->latency_events && rc >= 0; i++) {
		rc = send_stamped(q);
		if (rc >= 0)
			rc = http_receiver_wait(r, i + 1, WAIT_MS);
	}
	pthread_mutex_lock(&r->lock);
	*lat = r->latency;
	pthread_mutex_unlock(&r->lock);
	fev_close(q);
	return rc < 0 ? rc : 0;
}

static double run_curl_loop(unsigned n, uint16_t port)
{
	char url[64], body[32];
	double t0 = secs();

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook", port);
	for (unsigned i = 0; i < n; i++) {
		pid_t pid;
		int status;

		snprintf(body, sizeof(body), "T%llu",
			 (unsigned long long)http_now_ns());
		pid = fork();
		if (pid == 0) {
			int null = open("/dev/null", O_WRONLY);

			dup2(null, 1);
			execlp("curl", "curl", "-s", "-X", "POST",
			       "--data-binary", body, url, (char *)NULL);
			_exit(127);
		}
		if (pid < 0 || waitpid(pid, &status, 0) < 0 ||
		    !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			return -1;
	}
	return n / (secs() - t0);
}

static void cleanup(const char *dir, const char *instance, pid_t pid)
{
	char path[PATH_MAX];
	static const char *files[] = { "webhooks.conf", "webhooks.db",
				       "webhooks.db-wal", "webhooks.db-shm" };

	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
	fev_topic_delete(TOPIC, instance);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

static void parse(struct wh_opts *o, int argc, char **argv)
{
	for (int i = 1; i + 1 < argc; i += 2) {
		unsigned v = (unsigned)strtoul(argv[i + 1], NULL, 10);

		if (strcmp(argv[i], "--count") == 0)
			o->events = v;
		else if (strcmp(argv[i], "--max-in-flight") == 0)
			o->max_in_flight = v;
		else if (strcmp(argv[i], "--curl-count") == 0)
			o->curl_events = v;
		else if (strcmp(argv[i], "--latency-count") == 0)
			o->latency_events = o->keepalive_events = v;
		else {
			fprintf(stderr, "fev-bench webhooks: unknown %s\n",
				argv[i]);
			exit(2);
		}
	}
}

int bench_webhooks_main(int argc, char **argv)
{
	struct wh_opts o = { .events = 20000, .latency_events = 2000,
			     .curl_events = 200, .keepalive_events = 2000,
			     .max_in_flight = 64 };
	fev_queue_config qc = { .struct_size = sizeof(qc), .capacity = 65536,
				.max_event = 64 };
	char dir[] = "/tmp/fev-bench-webhooks-XXXXXX", instance[32];
	struct bench_hist lat, ka;
	struct http_receiver r;
	double rate = 0, curl_rate, t0;
	pid_t pid = -1;
	int rc;

	parse(&o, argc, argv);
	snprintf(instance, sizeof(instance), "bench-wh-%d", (int)getpid());
	/* Read by fev-webhooks' group alone: the topic's "default" group,
	 * which nothing reads, would hold every event. */
	if (mkdtemp(dir) == NULL || http_receiver_start(&r) < 0 ||
	    fev_topic_create(TOPIC, 1, &qc, instance) < 0 ||
	    fev_group_delete(TOPIC, "default", instance) < 0) {
		perror("fev-bench webhooks: setup");
		return 1;
	}
	rc = write_config(dir, instance, r.port, o.max_in_flight);
	if (rc == 0) {
		pid = spawn_webhooks(dir);
		rc = wait_attached(instance, pid);
	}
	if (rc == 0)
		rc = run_webhooks(&o, &r, instance, &rate, &lat);
	cleanup(dir, instance, pid);
	if (rc < 0) {
		fprintf(stderr, "fev-bench webhooks: %s\n", fev_strerror(rc));
		http_receiver_stop(&r);
		return 1;
	}
	curl_rate = run_curl_loop(o.curl_events, r.port);
	bench_hist_reset(&ka);
	t0 = secs();
	rc = http_client_run(r.port, o.keepalive_events, &ka);
	t0 = secs() - t0;
	http_receiver_stop(&r);
	if (rc < 0 || curl_rate < 0) {
		fprintf(stderr, "fev-bench webhooks: a baseline failed\n");
		return 1;
	}
	printf("fev-bench webhooks: one endpoint, max_in_flight %u, local "
	       "keep-alive receiver\n",
	       o.max_in_flight);
	printf("  %-34s %10.0f deliveries/s  (%u events)\n", "fev-webhooks",
	       rate, o.events);
	printf("  %-34s %10.0f deliveries/s  (%u events)  fev-webhooks: "
	       "%.1fx\n",
	       "curl per event", curl_rate, o.curl_events, rate / curl_rate);
	printf("  %-34s %10.0f requests/s\n", "one keep-alive client, in turn",
	       o.keepalive_events / t0);
	print_latency("fev-webhooks event -> request", &lat);
	print_latency("keep-alive request round trip", &ka);
	printf("  p50 event->request / p50 keep-alive request: %.2fx\n",
	       (double)bench_hist_quantile(&lat, 0.5) /
		       (double)bench_hist_quantile(&ka, 0.5));
	return 0;
}
