#define _GNU_SOURCE /* memmem, accept4 */
#include "http_mini.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CONN_BUF 65536
#define MAX_EVENTS 64

static const char ok_response[] =
	"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

struct conn {
	int fd;
	size_t have;
	char buf[CONN_BUF];
};

uint64_t http_now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Length of a whole request at the start of buf (head + body), or 0. */
static size_t request_len(const char *buf, size_t have, const char **body,
			  size_t *body_len)
{
	const char *end = memmem(buf, have, "\r\n\r\n", 4);
	size_t head, clen = 0;

	if (end == NULL)
		return 0;
	head = (size_t)(end - buf) + 4;
	for (const char *p = buf; p < end; p++) {
		if ((p == buf || p[-1] == '\n') &&
		    strncasecmp(p, "content-length:", 15) == 0) {
			clen = strtoul(p + 15, NULL, 10);
			break;
		}
	}
	if (have < head + clen)
		return 0;
	*body = buf + head;
	*body_len = clen;
	return head + clen;
}

static void record(struct http_receiver *r, const char *body, size_t len,
		   uint64_t now)
{
	uint64_t sent = 0;

	if (len > 1 && body[0] == 'T')
		sent = strtoull(body + 1, NULL, 10);
	pthread_mutex_lock(&r->lock);
	if (sent != 0 && now > sent)
		bench_hist_record(&r->latency, now - sent);
	r->requests++;
	pthread_cond_broadcast(&r->changed);
	pthread_mutex_unlock(&r->lock);
}

/* Read what came; answer every whole request.  false: close it. */
static bool serve(struct http_receiver *r, struct conn *c)
{
	for (;;) {
		ssize_t n = read(c->fd, c->buf + c->have, CONN_BUF - c->have);
		const char *body;
		size_t blen, used;

		if (n == 0)
			return false;
		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		c->have += (size_t)n;
		while ((used = request_len(c->buf, c->have, &body, &blen)) > 0) {
			record(r, body, blen, http_now_ns());
			if (write(c->fd, ok_response, sizeof(ok_response) - 1) < 0)
				return false;
			memmove(c->buf, c->buf + used, c->have - used);
			c->have -= used;
		}
		if (c->have == CONN_BUF)
			return false; /* a request larger than we take */
	}
}

static void accept_all(struct http_receiver *r)
{
	int fd;

	while ((fd = accept4(r->listen_fd, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		struct conn *c = calloc(1, sizeof(*c));
		struct epoll_event ev = { .events = EPOLLIN };
		int one = 1;

		if (c == NULL) {
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->fd = fd;
		ev.data.ptr = c;
		epoll_ctl(r->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
	}
}

static void *receiver_main(void *arg)
{
	struct http_receiver *r = arg;
	struct epoll_event evs[MAX_EVENTS];

	for (;;) {
		int n = epoll_wait(r->epoll_fd, evs, MAX_EVENTS, -1);

		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (c == NULL) {
				accept_all(r);
			} else if ((void *)c == (void *)r) {
				return NULL; /* stop */
			} else if (!serve(r, c)) {
				/* Deregister before close: a child forked
				 * for the curl loop may hold the socket
				 * until its exec, and epoll would report
				 * it again, for a freed conn. */
				epoll_ctl(r->epoll_fd, EPOLL_CTL_DEL, c->fd,
					  NULL);
				close(c->fd);
				free(c);
			}
		}
	}
}

int http_receiver_start(struct http_receiver *r)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	struct epoll_event ev = { .events = EPOLLIN };

	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->changed, NULL);
	bench_hist_reset(&r->latency);
	r->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	r->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	r->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (r->listen_fd < 0 || r->epoll_fd < 0 || r->stop_fd < 0 ||
	    bind(r->listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(r->listen_fd, 1024) < 0 ||
	    getsockname(r->listen_fd, (struct sockaddr *)&a, &alen) < 0)
		return -errno;
	r->port = ntohs(a.sin_port);
	ev.data.ptr = NULL;
	epoll_ctl(r->epoll_fd, EPOLL_CTL_ADD, r->listen_fd, &ev);
	ev.data.ptr = r;
	epoll_ctl(r->epoll_fd, EPOLL_CTL_ADD, r->stop_fd, &ev);
	return -pthread_create(&r->thread, NULL, receiver_main, r);
}

void http_receiver_stop(struct http_receiver *r)
{
	uint64_t one = 1;

	if (write(r->stop_fd, &one, sizeof(one)) == sizeof(one))
		pthread_join(r->thread, NULL);
	close(r->stop_fd);
	close(r->epoll_fd);
	close(r->listen_fd);
}

int http_receiver_wait(struct http_receiver *r, uint64_t n, int timeout_ms)
{
	struct timespec t;
	int rc = 0;
	bool enough;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += timeout_ms / 1000;
	t.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (t.tv_nsec >= 1000000000)
		t.tv_sec++, t.tv_nsec -= 1000000000;
	pthread_mutex_lock(&r->lock);
	while (r->requests < n && rc == 0)
		rc = pthread_cond_timedwait(&r->changed, &r->lock, &t);
	enough = r->requests >= n; /* under the lock: record() writes it */
	pthread_mutex_unlock(&r->lock);
	return enough ? 0 : -ETIMEDOUT;
}

void http_receiver_reset(struct http_receiver *r)
{
	pthread_mutex_lock(&r->lock);
	r->requests = 0;
	bench_hist_reset(&r->latency);
	pthread_mutex_unlock(&r->lock);
}

static int read_response(int fd, char *buf, size_t cap)
{
	size_t have = 0;

	for (;;) {
		const char *body;
		size_t blen;
		ssize_t n = read(fd, buf + have, cap - have);

		if (n <= 0)
			return n == 0 ? -EPIPE : -errno;
		have += (size_t)n;
		if (request_len(buf, have, &body, &blen) > 0)
			return 0;
	}
}

int http_client_run(uint16_t port, unsigned n, struct bench_hist *h)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char req[256], resp[1024];
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (unsigned i = 0; i < n; i++) {
		char body[32];
		uint64_t t0 = http_now_ns();
		int blen = snprintf(body, sizeof(body), "T%llu",
				    (unsigned long long)t0);
		int len = snprintf(req, sizeof(req),
				   "POST /hook HTTP/1.1\r\nHost: 127.0.0.1\r\n"
				   "Content-Length: %d\r\n\r\n%s",
				   blen, body);
		int rc;

		if (write(fd, req, (size_t)len) != len ||
		    (rc = read_response(fd, resp, sizeof(resp))) < 0) {
			close(fd);
			return -EPIPE;
		}
		bench_hist_record(h, http_now_ns() - t0);
	}
	close(fd);
	return 0;
}
