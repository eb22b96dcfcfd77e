/*
 * Baseline: a pipe (default 64 KiB buffer), blocking read() and write()
 * (--wait spin: O_NONBLOCK, polled).
 * Several writers or readers share one pipe only when every write is whole
 * messages of at most PIPE_BUF bytes (atomic), so a reader never gets half
 * an event; a batch is one write() of up to that many events.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench.h"

struct pipe_priv {
	int fd[2][2]; /* [direction][read, write] */
	int n;
};

struct pipe_h {
	int rfd, wfd;
	size_t size;
	unsigned max_write; /* events per write() */
	bool shared_read;   /* several readers: reads stay message-aligned */
	bool spin;          /* --wait spin: O_NONBLOCK, poll */
	uint8_t *buf;
};

static bool shared(const struct bench_cfg *c)
{
	return c->producers > 1 || c->consumers > 1;
}

static const char *pipe_unsupported(const struct bench_cfg *c)
{
	if (shared(c) && c->size > PIPE_BUF)
		return "events above PIPE_BUF are not atomic with several "
		       "writers/readers";
	return NULL;
}

static void pipe_teardown(struct bench_chan *ch)
{
	struct pipe_priv *p = ch->priv;

	if (p == NULL)
		return;
	for (int i = 0; i < p->n; i++) {
		close(p->fd[i][0]);
		close(p->fd[i][1]);
	}
	free(p);
	ch->priv = NULL;
}

static int pipe_setup(struct bench_chan *ch)
{
	struct pipe_priv *p = calloc(1, sizeof(*p));
	int want = ch->cfg->mode == BENCH_PINGPONG ? 2 : 1;

	if (p == NULL)
		return -ENOMEM;
	ch->priv = p;
	int flags = O_CLOEXEC | (ch->cfg->wait == BENCH_SPIN ? O_NONBLOCK : 0);

	for (; p->n < want; p->n++)
		if (pipe2(p->fd[p->n], flags) < 0) {
			int rc = -errno;

			pipe_teardown(ch);
			return rc;
		}
	return 0;
}

static int pipe_open(struct bench_chan *ch, enum bench_role role, unsigned idx,
		     void **out)
{
	const struct bench_cfg *c = ch->cfg;
	struct pipe_priv *p = ch->priv;
	struct pipe_h *h = calloc(1, sizeof(*h));

	(void)idx;
	if (h == NULL)
		return -ENOMEM;
	h->size = c->size;
	h->buf = malloc(c->batch * c->size);
	if (h->buf == NULL) {
		free(h);
		return -ENOMEM;
	}
	h->max_write = c->batch;
	if (shared(c) && c->batch * c->size > PIPE_BUF)
		h->max_write = (unsigned)(PIPE_BUF / c->size);
	h->shared_read = shared(c);
	h->spin = c->wait == BENCH_SPIN;
	h->rfd = h->wfd = -1;
	switch (role) {
	case ROLE_PRODUCER:
		h->wfd = p->fd[0][1];
		break;
	case ROLE_CONSUMER:
		h->rfd = p->fd[0][0];
		break;
	case ROLE_PING:
		h->wfd = p->fd[0][1];
		h->rfd = p->fd[1][0];
		break;
	case ROLE_PONG:
		h->rfd = p->fd[0][0];
		h->wfd = p->fd[1][1];
		break;
	}
	*out = h;
	return 0;
}

static int write_all(struct pipe_h *h, const uint8_t *b, size_t n)
{
	unsigned polls = 0;

	while (n > 0) {
		ssize_t w = write(h->wfd, b, n);

		if (w < 0) {
			if (bench_retry(errno, h->spin, &polls))
				continue;
			return -errno;
		}
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static int pipe_send(void *hv, unsigned n, size_t len, bench_fill_fn fill,
		     void *ctx)
{
	struct pipe_h *h = hv;
	int rc;

	if (n > h->max_write)
		n = h->max_write;
	for (unsigned i = 0; i < n; i++)
		fill(ctx, h->buf + i * len, len, i);
	rc = write_all(h, h->buf, n * len);
	return rc < 0 ? rc : (int)n;
}

static int pipe_recv(void *hv, unsigned max, bench_take_fn take, void *ctx)
{
	struct pipe_h *h = hv;
	size_t got = 0, want = (size_t)max * h->size;
	unsigned polls = 0;
	int rc = 0;

	/* One reader may complete a message split across writes; shared
	 * readers only ever see whole messages (atomic writes). */
	while (got == 0 || got % h->size != 0) {
		ssize_t r = read(h->rfd, h->buf + got,
				 got == 0 ? want : h->size - got % h->size);

		if (r < 0 && bench_retry(errno, h->spin, &polls))
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EPIPE;
		got += (size_t)r;
		if (h->shared_read && got % h->size != 0)
			return -EPROTO;
	}
	for (size_t i = 0; i < got / h->size && rc == 0; i++)
		rc = take(ctx, h->buf + i * h->size, h->size);
	return rc < 0 ? rc : (int)(got / h->size);
}

static void pipe_close(void *hv)
{
	struct pipe_h *h = hv;

	free(h->buf);
	free(h);
}

static const char *kernel_wait(const struct bench_cfg *cfg)
{
	return cfg->wait == BENCH_SPIN ? "O_NONBLOCK, busy-poll" : "kernel blocking";
}

const struct bench_transport bench_pipe = {
	.name = "pipe",
	.unsupported = pipe_unsupported,
	.setup = pipe_setup,
	.teardown = pipe_teardown,
	.open = pipe_open,
	.send = pipe_send,
	.recv = pipe_recv,
	.close = pipe_close,
	.end_by_parent = true,
	.end_per_consumer = bench_one_end_marker,
	.wait_note = kernel_wait,
};
