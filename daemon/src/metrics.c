/*
 * fevd's /metrics thread (metrics.h).  One connection at a time, each
 * bounded in bytes (FEVD_HTTP_REQUEST_MAX) and time (FEVD_METRICS_*_MS):
 * Prometheus scrapes one target every few seconds, and a client that
 * stalls delays other scrapes by at most those limits, never the
 * supervisor.
 *
 * A scrape reads the registry under rcu_read_lock() while the supervisor
 * adds and removes queues: a queue found in the walk stays mapped until
 * this thread leaves the read-side section (registry.h), so reading its
 * segment is as safe as the supervisor's own reads, a truncated one
 * included (memtrap answers the SIGBUS in whichever thread takes it).
 */
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <bsd/string.h>

#include "clock.h"
#include "fevprom.h"
#include "http.h"
#include "internal.h" /* FEVD_STATS_BUDGET_NS */
#include "log.h"
#include "segment.h"

struct fevd_metrics {
	int listenfd;
	int stopfd; /* eventfd: readable once the thread must stop */
	pthread_t thread;
	bool running;
	uint16_t port;
	struct fevd_registry *reg;
	char instance[FEV_INSTANCE_MAX + 1];
};

/* ---- the address ------------------------------------------------------- */

int fevd_metrics_listen_parse(const char *s, struct sockaddr_storage *ss,
			      socklen_t *len, char *why, size_t whylen)
{
	char host[FEVD_METRICS_LISTEN_MAX];
	const char *colon = strrchr(s, ':'), *port;
	unsigned long p;
	char *end;
	bool v6 = s[0] == '[';

	memset(ss, 0, sizeof(*ss));
	if (colon == NULL || colon == s || strlen(s) >= sizeof(host) ||
	    (v6 && colon[-1] != ']'))
		goto bad;
	port = colon + 1;
	if (port[0] < '0' || port[0] > '9' || (port[0] == '0' && port[1]))
		goto bad;
	p = strtoul(port, &end, 10);
	if (*end != '\0' || p > 65535)
		goto bad;
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		memcpy(host, s + 1, (size_t)(colon - s - 2));
		host[colon - s - 2] = '\0';
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			goto bad;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)p);
		*len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			goto bad;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)p);
		*len = sizeof(*a);
	}
	return 0;
bad:
	snprintf(why, whylen,
		 "metrics_listen '%s' is not IPV4:PORT or [IPV6]:PORT "
		 "(numeric, port 0-65535), e.g. 127.0.0.1:9477",
		 s);
	return -EINVAL;
}

/* ---- a scrape ---------------------------------------------------------- */

/* Seconds the oldest claim of m has been held by a zero-copy caller that
 * stamped it (hold_ns); 0 when none (as fev stat reads it once). */
static double oldest_hold_age_s(const struct fev__map *m, uint64_t real_now)
{
	uint64_t oldest = 0;

	for (uint32_t i = 0; i < m->geo.attacher_max; i++) {
		const struct fev__attacher *a = &m->attachers[i];
		/* A6: pairs with R6 in the client's attach: filled in. */
		uint32_t state = atomic_load_explicit(&a->state,
						      memory_order_acquire);
		uint64_t since;

		if (state != FEV__ATT_ACTIVE && state != FEV__ATT_REPAIRING)
			continue;
		/* Relaxed: display values; a claim and its stamp read a
		 * moment apart cost a wrong age for one scrape at most. */
		if (atomic_load_explicit(&a->prod.n, memory_order_relaxed) ==
			    0 &&
		    atomic_load_explicit(&a->cons.n, memory_order_relaxed) == 0)
			continue;
		since = atomic_load_explicit(&a->hold_ns, memory_order_relaxed);
		if (since != 0 && since <= real_now &&
		    (oldest == 0 || since < oldest))
			oldest = since;
	}
	return oldest != 0 ? (double)(real_now - oldest) / 1e9 : 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct fevprom_queue *)a)->name,
		      ((const struct fevprom_queue *)b)->name);
}

/* Every queue of the registry, read under RCU, in name order. */
static int sample(struct fevd_metrics *m, struct fevprom_queue **out,
		  size_t *count)
{
	uint64_t give_up = fev__now_monotonic_ns() + FEVD_STATS_BUDGET_NS;
	uint64_t real_now = fev__now_realtime_ns();
	struct fevprom_queue *v = NULL;
	struct cds_lfht_iter it;
	struct fevd_queue *q;
	size_t n = 0, cap = 0;
	int rc = 0;

	rcu_read_lock();
	fevd_registry_for_each(m->reg, &it, q)
	{
		fevd_registry_reader_got(q);
		if (n == cap) {
			struct fevprom_queue *grown;

			cap = cap ? cap * 2 : 64;
			grown = realloc(v, cap * sizeof(*v));
			if (grown == NULL) {
				rc = -ENOMEM;
				break;
			}
			v = grown;
		}
		memset(&v[n], 0, sizeof(v[n]));
		strlcpy(v[n].name, q->name, sizeof(v[n].name));
		v[n].readable = true;
		/* Past the budget (a retirer died mid-fold): best effort. */
		(void)fev__map_stats_by(&q->map, &v[n].st, give_up);
		v[n].segment_bytes = q->map.len;
		v[n].oldest_claim_age_s = oldest_hold_age_s(&q->map, real_now);
		n++;
	}
	fevd_registry_reader_done();
	rcu_read_unlock();
	if (rc < 0) {
		free(v);
		return rc;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), by_name);
	*out = v;
	*count = n;
	return 0;
}

static int reply_text(int fd, int stopfd, uint64_t deadline, int status,
		      bool head, const char *text)
{
	return fevd_http_reply(fd, stopfd, deadline, status, head,
			       "text/plain; charset=utf-8", text,
			       strlen(text));
}

static void serve_metrics(struct fevd_metrics *m, int fd, bool head)
{
	uint64_t deadline = fev__now_monotonic_ns() +
			    FEVD_METRICS_REPLY_MS * UINT64_C(1000000);
	struct fevprom_text t = { 0 };
	struct fevprom_queue *v = NULL;
	size_t n = 0;

	if (sample(m, &v, &n) == 0)
		fevprom_render(&t, m->instance, true, v, n);
	/* no text: sample() or the rendering ran out of memory */
	if (t.failed || t.p == NULL)
		(void)reply_text(fd, m->stopfd, deadline, 503, head,
				 "fevd: out of memory, try again\n");
	else
		(void)fevd_http_reply(fd, m->stopfd, deadline, 200, head,
				      FEVPROM_CONTENT_TYPE, t.p, t.len);
	fevprom_text_free(&t);
	free(v);
}

static void serve(struct fevd_metrics *m, int fd)
{
	uint64_t deadline = fev__now_monotonic_ns() +
			    FEVD_METRICS_REQUEST_MS * UINT64_C(1000000);
	struct fevd_http_request req;
	char text[128];

	if (fevd_http_read_request(fd, m->stopfd, deadline, &req) < 0)
		return; /* gone, too slow, or we stop: nothing to answer */
	deadline = fev__now_monotonic_ns() +
		   FEVD_METRICS_REQUEST_MS * UINT64_C(1000000);
	if (req.status == 200 && strcmp(req.path, "/metrics") == 0) {
		serve_metrics(m, fd, req.head);
		return;
	}
	if (req.status == 200)
		snprintf(text, sizeof(text),
			 "fevd serves /metrics only (asked for %s)\n",
			 req.path);
	else
		snprintf(text, sizeof(text), "fevd: bad request (%d)\n",
			 req.status);
	(void)reply_text(fd, m->stopfd, deadline,
			 req.status == 200 ? 404 : req.status, req.head, text);
}

static void *thread_main(void *arg)
{
	struct fevd_metrics *m = arg;

	rcu_register_thread();
	for (;;) {
		struct pollfd p[2] = { { .fd = m->listenfd, .events = POLLIN },
				       { .fd = m->stopfd, .events = POLLIN } };
		int fd;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents != 0)
			break;
		if (p[0].revents == 0)
			continue;
		fd = accept4(m->listenfd, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			/* Out of descriptors: the supervisor's are worth
			 * more; try again in a moment, never spin. */
			if (errno == EMFILE || errno == ENFILE)
				poll(&p[1], 1, 100);
			continue;
		}
		serve(m, fd);
		close(fd);
	}
	rcu_unregister_thread();
	return NULL;
}

/* ---- start and stop ---------------------------------------------------- */

static int bind_listen(struct fevd_metrics *m, const char *listen_at)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char why[256];
	int one = 1, rc;

	rc = fevd_metrics_listen_parse(listen_at, &ss, &len, why, sizeof(why));
	if (rc < 0) {
		fevd_err("%s", why);
		return rc;
	}
	m->listenfd = socket(ss.ss_family,
			     SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->listenfd < 0 ||
	    setsockopt(m->listenfd, SOL_SOCKET, SO_REUSEADDR, &one,
		       sizeof(one)) < 0 ||
	    bind(m->listenfd, (struct sockaddr *)&ss, len) < 0 ||
	    listen(m->listenfd, 16) < 0 ||
	    getsockname(m->listenfd, (struct sockaddr *)&ss, &len) < 0) {
		rc = -errno;
		fevd_err("metrics_listen %s: %s (another process on that "
			 "port? pick another or leave metrics_listen out)",
			 listen_at, strerror(-rc));
		return rc;
	}
	m->port = ntohs(ss.ss_family == AF_INET6 ?
				((struct sockaddr_in6 *)&ss)->sin6_port :
				((struct sockaddr_in *)&ss)->sin_port);
	return 0;
}

int fevd_metrics_start(struct fevd_metrics **out, const char *listen_at,
		       struct fevd_registry *reg, const char *instance)
{
	struct fevd_metrics *m = calloc(1, sizeof(*m));
	int rc;

	if (m == NULL)
		return -ENOMEM;
	m->listenfd = m->stopfd = -1;
	m->reg = reg;
	strlcpy(m->instance, instance, sizeof(m->instance));
	rc = bind_listen(m, listen_at); /* logs why not */
	if (rc == 0) {
		m->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		rc = m->stopfd < 0 ? -errno : 0;
		if (rc == 0)
			rc = -pthread_create(&m->thread, NULL, thread_main, m);
		m->running = rc == 0;
		if (rc < 0)
			fevd_err("cannot serve metrics on %s: %s", listen_at,
				 strerror(-rc));
	}
	if (rc < 0) {
		fevd_metrics_stop(m);
		return rc;
	}
	/* the port picked, when the config said 0 */
	fevd_notice("metrics: serving http://%.*s:%u/metrics",
		    (int)(strrchr(listen_at, ':') - listen_at), listen_at,
		    (unsigned)m->port);
	*out = m;
	return 0;
}

uint16_t fevd_metrics_port(const struct fevd_metrics *m)
{
	return m->port;
}

void fevd_metrics_stop(struct fevd_metrics *m)
{
	if (m == NULL)
		return;
	if (m->running) {
		uint64_t one = 1;

		if (write(m->stopfd, &one, sizeof(one)) < 0)
			fevd_warn("metrics: cannot stop the thread: %s",
				  strerror(errno));
		pthread_join(m->thread, NULL);
	}
	if (m->stopfd >= 0)
		close(m->stopfd);
	if (m->listenfd >= 0)
		close(m->listenfd);
	free(m);
}
