/*
 * Baseline: ZeroMQ over ipc://, blocking.  Each consumer binds a PULL
 * socket; each producer connects one PUSH socket to every consumer and
 * deals events round-robin (as a single PUSH would), which keeps one FIFO
 * per producer-consumer pair, so every producer can end its stream with one
 * marker per consumer.  Ping-pong uses a PAIR socket.  --wait spin polls
 * with ZMQ_DONTWAIT.  The zmq context is
 * made in the child, after fork(), as libzmq requires.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "bench.h"

struct zmq_priv {
	char dir[96];
};

struct zmq_h {
	void *ctx;
	void **out; /* one per consumer (or the PAIR) */
	unsigned nout, next;
	void *in;
	size_t size;
	uint8_t *buf;
	bool spin; /* --wait spin: ZMQ_DONTWAIT, poll */
};

static const char *zmq_unsupported(const struct bench_cfg *c)
{
	(void)c;
	return NULL;
}

static void endpoint(const struct zmq_priv *p, char *buf, size_t n,
		     const char *what, unsigned i, bool url)
{
	snprintf(buf, n, "%s%s/%s%u", url ? "ipc://" : "", p->dir, what, i);
}

static void zmq_teardown(struct bench_chan *ch)
{
	struct zmq_priv *p = ch->priv;
	char path[160];

	if (p == NULL)
		return;
	for (unsigned i = 0; i < ch->cfg->consumers; i++) {
		endpoint(p, path, sizeof(path), "c", i, false);
		unlink(path);
	}
	endpoint(p, path, sizeof(path), "pp", 0, false);
	unlink(path);
	rmdir(p->dir);
	free(p);
	ch->priv = NULL;
}

static int zmq_setup(struct bench_chan *ch)
{
	struct zmq_priv *p = calloc(1, sizeof(*p));
	const char *tmp = getenv("TMPDIR");

	if (p == NULL)
		return -ENOMEM;
	snprintf(p->dir, sizeof(p->dir), "%s/fev-bench-%s",
		 tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp", ch->tag);
	if (mkdir(p->dir, 0700) < 0) {
		int rc = -errno;

		free(p);
		return rc;
	}
	ch->priv = p;
	return 0;
}

static void zmq_close_h(void *hv)
{
	struct zmq_h *h = hv;

	for (unsigned i = 0; i < h->nout; i++)
		if (h->out[i] != NULL && h->out[i] != h->in)
			zmq_close(h->out[i]);
	if (h->in != NULL)
		zmq_close(h->in);
	/* Waits until queued events are out (linger -1). */
	while (h->ctx != NULL && zmq_ctx_term(h->ctx) < 0 && zmq_errno() == EINTR)
		;
	free(h->out);
	free(h->buf);
	free(h);
}

static void *sock(struct zmq_h *h, int type, const char *ep, bool bind, int *rc)
{
	void *s = *rc == 0 ? zmq_socket(h->ctx, type) : NULL;

	if (*rc != 0)
		return NULL;
	int linger = -1;

	if (s != NULL)
		zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
	if (s == NULL || (bind ? zmq_bind(s, ep) : zmq_connect(s, ep)) != 0) {
		*rc = -zmq_errno();
		if (s != NULL)
			zmq_close(s);
		return NULL;
	}
	return s;
}

static int zmq_open_h(struct bench_chan *ch, enum bench_role role, unsigned idx,
		      void **out)
{
	const struct bench_cfg *c = ch->cfg;
	struct zmq_priv *p = ch->priv;
	struct zmq_h *h = calloc(1, sizeof(*h));
	char ep[192];
	int rc = 0;

	if (h == NULL)
		return -ENOMEM;
	h->size = c->size;
	h->spin = c->wait == BENCH_SPIN;
	h->buf = malloc(c->size);
	h->out = calloc(c->consumers, sizeof(*h->out));
	h->ctx = zmq_ctx_new();
	if (!h->buf || !h->out || !h->ctx)
		rc = -ENOMEM;
	switch (role) {
	case ROLE_CONSUMER:
		endpoint(p, ep, sizeof(ep), "c", idx - c->producers, true);
		h->in = sock(h, ZMQ_PULL, ep, true, &rc);
		break;
	case ROLE_PRODUCER:
		for (unsigned i = 0; i < c->consumers; i++, h->nout++) {
			endpoint(p, ep, sizeof(ep), "c", i, true);
			h->out[i] = sock(h, ZMQ_PUSH, ep, false, &rc);
		}
		break;
	case ROLE_PONG:
	case ROLE_PING:
		endpoint(p, ep, sizeof(ep), "pp", 0, true);
		h->in = sock(h, ZMQ_PAIR, ep, role == ROLE_PONG, &rc);
		h->out[0] = h->in;
		h->nout = 1;
		break;
	}
	if (rc < 0) {
		zmq_close_h(h);
		return rc;
	}
	*out = h;
	return 0;
}

/*
 * Polling: a non-blocking send or receive processes libzmq's internal
 * commands (such as "the reader has room again") only now and then;
 * reading ZMQ_EVENTS processes them at once, and every 256th empty poll
 * waits up to 1 ms in zmq_poll(), which was needed for progress under
 * ThreadSanitizer (a spinning 4 KiB sender stalled at the high-water mark).
 */
static void pump(void *s, short events, unsigned polls)
{
	zmq_pollitem_t it = { .socket = s, .events = events };
	int ev;
	size_t n = sizeof(ev);

	if (polls % 256 == 0)
		zmq_poll(&it, 1, 1);
	else
		zmq_getsockopt(s, ZMQ_EVENTS, &ev, &n);
}

static int zmq_send_h(void *hv, unsigned n, size_t len, bench_fill_fn fill,
		      void *ctx)
{
	struct zmq_h *h = hv;
	unsigned polls = 0;

	for (unsigned i = 0; i < n; i++) {
		void *s = h->out[h->next];
		int rc;

		fill(ctx, h->buf, len, i);
		while ((rc = zmq_send(s, h->buf, len, h->spin ? ZMQ_DONTWAIT : 0)) < 0 &&
		       bench_retry(zmq_errno(), h->spin, &polls))
			pump(s, ZMQ_POLLOUT, polls);
		if (rc < 0)
			return i > 0 ? (int)i : -zmq_errno();
		h->next = (h->next + 1) % h->nout;
	}
	return (int)n;
}

static int zmq_recv_h(void *hv, unsigned max, bench_take_fn take, void *ctx)
{
	struct zmq_h *h = hv;
	unsigned k = 0, polls = 0;

	/* Wait for the first; take whatever else is already there. */
	while (k < max) {
		int r = zmq_recv(h->in, h->buf, h->size,
				 k == 0 && !h->spin ? 0 : ZMQ_DONTWAIT);
		int rc;

		if (r < 0) {
			if (k == 0 && bench_retry(zmq_errno(), h->spin, &polls)) {
				pump(h->in, ZMQ_POLLIN, polls);
				continue;
			}
			if (zmq_errno() == EINTR)
				continue;
			if (k > 0 && zmq_errno() == EAGAIN)
				break;
			return -zmq_errno();
		}
		rc = take(ctx, h->buf, (size_t)r);
		if (rc < 0)
			return rc;
		k++;
	}
	return (int)k;
}

static unsigned per_producer(const struct bench_cfg *c)
{
	return c->consumers;
}

static unsigned per_consumer(const struct bench_cfg *c)
{
	return c->producers;
}

static const char *kernel_wait(const struct bench_cfg *cfg)
{
	return cfg->wait == BENCH_SPIN ? "ZMQ_DONTWAIT, busy-poll" : "zmq blocking (I/O thread)";
}

const struct bench_transport bench_zmq = {
	.name = "zmq",
	.unsupported = zmq_unsupported,
	.setup = zmq_setup,
	.teardown = zmq_teardown,
	.open = zmq_open_h,
	.send = zmq_send_h,
	.recv = zmq_recv_h,
	.close = zmq_close_h,
	.end_by_parent = false,
	.end_per_producer = per_producer,
	.end_per_consumer = per_consumer,
	.wait_note = kernel_wait,
};
