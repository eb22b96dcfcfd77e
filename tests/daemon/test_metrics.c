/*
 * fevd's /metrics (daemon/src/metrics.c, http.c): served from its own
 * thread by a supervisor running in this process, so ThreadSanitizer sees
 * the metrics thread read the registry under RCU while the supervisor
 * creates and deletes queues.  The reply is checked with promtool, as
 * Prometheus would read it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "fev/fev.h"
#include "fevd_harness.h"
#include "fevd_inproc.h"
#include "fevtest.h"
#include "supervisor.h"

#define LISTEN "metrics_listen = 127.0.0.1:0\n"

struct http_reply {
	int status; /* -errno when no reply came */
	char *text; /* the whole reply, NUL-terminated */
	const char *body;
};

/* Send raw to 127.0.0.1:port and read until fevd closes (5 s at most). */
static struct http_reply http(unsigned port, const char *raw, size_t len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = 5 };
	struct http_reply r = { .status = -EIO };
	size_t got = 0, cap = 65536;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ssize_t n;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    send(fd, raw, len, MSG_NOSIGNAL) != (ssize_t)len) {
		r.status = -errno;
		close(fd);
		return r;
	}
	r.text = malloc(cap + 1);
	while (r.text != NULL &&
	       (n = recv(fd, r.text + got, cap - got, 0)) > 0) {
		got += (size_t)n;
		if (got == cap)
			r.text = realloc(r.text, (cap *= 2) + 1);
	}
	close(fd);
	if (r.text == NULL)
		return r;
	r.text[got] = '\0';
	if (sscanf(r.text, "HTTP/1.1 %d ", &r.status) != 1)
		r.status = -EPROTO;
	r.body = strstr(r.text, "\r\n\r\n");
	r.body = r.body ? r.body + 4 : "";
	return r;
}

static struct http_reply get(unsigned port, const char *path)
{
	char req[256];

	snprintf(req, sizeof(req),
		 "GET %s HTTP/1.1\r\nHost: localhost\r\n"
		 "User-Agent: test_metrics\r\n\r\n",
		 path);
	return http(port, req, strlen(req));
}

static void done(struct http_reply *r)
{
	free(r->text);
	r->text = NULL;
}

static int setup(void **state)
{
	return fh_inproc_setup(state);
}

static int teardown(void **state)
{
	return fh_inproc_teardown(state);
}

/* promtool's verdict on text, or 0 (said so) where it is not installed. */
static int promtool_check(const struct fh *h, const char *text)
{
	char path[PATH_MAX], cmd[PATH_MAX + 64];
	FILE *f;
	int rc;

	if (system("command -v promtool >/dev/null 2>&1") != 0) {
		print_message("  (promtool not installed: not checked)\n");
		return 0;
	}
	snprintf(path, sizeof(path), "%s/metrics.txt", h->dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", path);
	rc = system(cmd);
	unlink(path);
	return rc;
}

static void test_metrics_pass_promtool_and_match_the_queues(void **state)
{
	struct fh_inproc *p = *state;
	fev_open_opts o = { .struct_size = sizeof(o),
			    .instance = p->h.instance };
	char want[256];
	struct http_reply r;
	fev_queue *q;
	unsigned port;

	fh_inproc_start(p, LISTEN,
			"[queue jobs]\ncapacity = 64\n[queue other.q]\n");
	port = fevd_supervisor_metrics_port(p->d);
	assert_true(port != 0);
	assert_int_equal(fev_open("jobs", FEV_PRODUCER, &o, &q), 0);
	for (int i = 0; i < 7; i++)
		assert_int_equal(fev_send(q, "x", 1, 0), 0);

	r = get(port, "/metrics");
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.text, "Content-Type: text/plain; "
				       "version=0.0.4"));
	snprintf(want, sizeof(want),
		 "fev_queue_depth_events{fabric=\"%s\",queue=\"jobs\"} 7\n",
		 p->h.instance);
	if (strstr(r.body, want) == NULL)
		fail_msg("no '%s' in:\n%s", want, r.body);
	snprintf(want, sizeof(want),
		 "fev_queue_producers{fabric=\"%s\",queue=\"jobs\"} 1\n",
		 p->h.instance);
	assert_non_null(strstr(r.body, want));
	snprintf(want, sizeof(want),
		 "fev_queue_capacity_events{fabric=\"%s\",queue=\"other.q\"} "
		 "4096\n",
		 p->h.instance);
	assert_non_null(strstr(r.body, want));
	snprintf(want, sizeof(want), "fev_fevd_up{fabric=\"%s\"} 1\n",
		 p->h.instance);
	assert_non_null(strstr(r.body, want));
	assert_int_equal(promtool_check(&p->h, r.body), 0);
	done(&r);

	/* HEAD: the same headers, no body */
	r = http(port, "HEAD /metrics HTTP/1.1\r\n\r\n", 26);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "");
	done(&r);
	fev_close(q);
}

static void test_other_paths_and_bad_requests_get_an_error_status(
	void **state)
{
	static const struct {
		const char *raw;
		int status;
	} cases[] = {
		{ "GET / HTTP/1.1\r\n\r\n", 404 },
		{ "GET /metricsx HTTP/1.1\r\n\r\n", 404 },
		{ "GET /metrics?name[]=x HTTP/1.1\r\n\r\n", 200 },
		{ "GET /metrics HTTP/1.0\n\n", 200 },
		{ "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 405 },
		{ "GET /metrics HTTP/2.0\r\n\r\n", 505 },
		{ "GET /metrics\r\n\r\n", 400 },
		{ "GET  /metrics HTTP/1.1\r\n\r\n", 400 },
		{ "GET metrics HTTP/1.1\r\n\r\n", 400 },
		{ "\r\n\r\n", 400 },
		{ "GET /metrics FTP/1.1\r\n\r\n", 400 },
	};
	struct fh_inproc *p = *state;
	char big[FEV_NAME_MAX * 100];
	struct http_reply r;
	unsigned port;

	fh_inproc_start(p, LISTEN, "[queue events]\n");
	port = fevd_supervisor_metrics_port(p->d);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = http(port, cases[i].raw, strlen(cases[i].raw));
		if (r.status != cases[i].status)
			fail_msg("'%s': status %d, want %d", cases[i].raw,
				 r.status, cases[i].status);
		done(&r);
	}
	/* a head larger than fevd reads, and a NUL byte */
	memset(big, 'a', sizeof(big));
	r = http(port, big, sizeof(big));
	assert_int_equal(r.status, 431);
	done(&r);
	r = http(port, "GET /\0metrics HTTP/1.1\r\n\r\n", 26);
	assert_int_equal(r.status, 400);
	done(&r);
	/* and it still serves */
	r = get(port, "/metrics");
	assert_int_equal(r.status, 200);
	done(&r);
}

/* A scraper that connects and says nothing is dropped after the request
 * limit (2 s); the control socket answers meanwhile. */
static void test_a_silent_scraper_is_dropped_and_blocks_nothing(void **state)
{
	struct fh_inproc *p = *state;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct timeval tv = { .tv_sec = 10 };
	uint64_t t0, t;
	char reply[256], c;
	struct http_reply r;
	int fd;

	fh_inproc_start(p, LISTEN, "[queue events]\n");
	sa.sin_port = htons((uint16_t)fevd_supervisor_metrics_port(p->d));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	t0 = fevtest_now_ns();
	fevtest_sleep_ms(100); /* let the metrics thread take it */
	assert_int_equal(fh_request(p->h.sock, "create other", reply,
				    sizeof(reply)),
			 0);
	assert_int_equal(fh_request(p->h.sock, "delete other", reply,
				    sizeof(reply)),
			 0);
	t = fevtest_now_ns() - t0;
	if (t > 1000000000ull)
		fail_msg("create and delete took %llu ms while a scraper "
			 "stalled",
			 (unsigned long long)(t / 1000000));
	/* fevd closes it: no reply to a request that never came */
	assert_int_equal(recv(fd, &c, 1, 0), 0);
	t = fevtest_now_ns() - t0;
	assert_true(t >= 1500000000ull && t < 9000000000ull);
	close(fd);
	r = get(fevd_supervisor_metrics_port(p->d), "/metrics");
	assert_int_equal(r.status, 200);
	done(&r);
}

struct scraper {
	unsigned port;
	const char *instance;
	atomic_bool stop;
	unsigned ok, bad;
	char why[256];
};

/* Every queue a scrape names as readable has its samples in the same
 * scrape: one walk of the registry, not a mix of two. */
static bool consistent(const char *body, const char *instance, char *why,
		       size_t whylen)
{
	char needle[128], name[FEV_NAME_MAX + 1], want[256];
	const char *at = body;
	int len = snprintf(needle, sizeof(needle),
			   "fev_queue_readable{fabric=\"%s\",queue=\"",
			   instance);

	while ((at = strstr(at, needle)) != NULL) {
		at += len;
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(at, "\""),
			 at);
		snprintf(want, sizeof(want),
			 "fev_queue_capacity_events{fabric=\"%s\","
			 "queue=\"%s\"} 64\n",
			 instance, name);
		if (strncmp(name, "churn", 5) == 0 &&
		    strstr(body, want) == NULL) {
			snprintf(why, whylen, "%s listed without its capacity",
				 name);
			return false;
		}
	}
	return true;
}

static void *scrape_loop(void *arg)
{
	struct scraper *s = arg;

	while (!atomic_load(&s->stop)) {
		struct http_reply r = get(s->port, "/metrics");

		if (r.status == 200 && strstr(r.body, "fev_fevd_up{") &&
		    consistent(r.body, s->instance, s->why, sizeof(s->why)))
			s->ok++;
		else if (s->bad++ == 0 && s->why[0] == '\0')
			snprintf(s->why, sizeof(s->why), "status %d",
				 r.status);
		done(&r);
	}
	return NULL;
}

static void test_scrapes_while_queues_are_created_and_deleted(void **state)
{
	struct fh_inproc *p = *state;
	struct scraper s = { .instance = p->h.instance };
	char req[64], reply[256];
	pthread_t t;

	fh_inproc_start(p, LISTEN, "[queue events]\n");
	s.port = fevd_supervisor_metrics_port(p->d);
	assert_int_equal(pthread_create(&t, NULL, scrape_loop, &s), 0);
	for (int i = 0; i < 150; i++) {
		snprintf(req, sizeof(req), "create churn%d capacity=64", i);
		assert_int_equal(fh_request(p->h.sock, req, reply,
					    sizeof(reply)),
				 0);
		if (i >= 3) { /* a few stay while others go */
			snprintf(req, sizeof(req), "delete churn%d", i - 3);
			assert_int_equal(fh_request(p->h.sock, req, reply,
						    sizeof(reply)),
					 0);
		}
	}
	/* a last scrape or two of the survivors */
	fevtest_sleep_ms(50);
	atomic_store(&s.stop, true);
	pthread_join(t, NULL);
	for (int i = 147; i < 150; i++) {
		snprintf(req, sizeof(req), "delete churn%d", i);
		assert_int_equal(fh_request(p->h.sock, req, reply,
					    sizeof(reply)),
				 0);
	}
	print_message("  %u scrapes while 150 queues came and went\n", s.ok);
	if (s.bad != 0 || s.ok < 5)
		fail_msg("%u good scrapes, %u bad (first: %s)", s.ok, s.bad,
			 s.why);
}

/* A port someone else holds: fevd (the binary) refuses to start, saying
 * which and what to do, and leaves nothing behind. */
static void test_a_taken_port_refuses_start_with_a_sentence(void **state)
{
	struct fh_inproc *p = *state;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	const char *args[] = { "--config", p->h.conf, NULL };
	socklen_t len = sizeof(sa);
	char extra[64], want[128];
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), status;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	snprintf(extra, sizeof(extra), "metrics_listen = 127.0.0.1:%u\n",
		 (unsigned)ntohs(sa.sin_port));
	fh_write_config(&p->h, extra, "[queue events]\n");
	status = fevtest_wait(fh_spawn(&p->h, args), 5000);
	assert_int_equal(status, 1);
	snprintf(want, sizeof(want),
		 "metrics_listen 127.0.0.1:%u: Address already in use",
		 (unsigned)ntohs(sa.sin_port));
	assert_true(fh_log_has(&p->h, want, 0));
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_metrics_pass_promtool_and_match_the_queues, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_other_paths_and_bad_requests_get_an_error_status,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_a_silent_scraper_is_dropped_and_blocks_nothing,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_scrapes_while_queues_are_created_and_deleted,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_a_taken_port_refuses_start_with_a_sentence, setup,
			teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
