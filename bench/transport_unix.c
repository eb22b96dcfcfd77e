/*
 * Baseline: a Unix SOCK_SEQPACKET socket pair, blocking (--wait spin:
 * MSG_DONTWAIT, polled).  Every send is one message and every receive gets
 * one whole message, so any number of writers and readers can share the
 * pair; batches use sendmmsg/recvmmsg.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

struct unix_priv {
	int sv[2];
};

struct unix_h {
	int fd;
	int dontwait; /* --wait spin: MSG_DONTWAIT, poll */
	size_t size;
	uint8_t *buf;
	struct mmsghdr *mm;
	struct iovec *iov;
};

static const char *unix_unsupported(const struct bench_cfg *c)
{
	(void)c;
	return NULL;
}

static void unix_teardown(struct bench_chan *ch)
{
	struct unix_priv *p = ch->priv;

	if (p == NULL)
		return;
	close(p->sv[0]);
	close(p->sv[1]);
	free(p);
	ch->priv = NULL;
}

static int unix_setup(struct bench_chan *ch)
{
	struct unix_priv *p = calloc(1, sizeof(*p));
	int sz = 4 << 20;

	if (p == NULL)
		return -ENOMEM;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p->sv) < 0) {
		int rc = -errno;

		free(p);
		return rc;
	}
	ch->priv = p;
	/* Room for a 64 KiB event; capped by net.core.wmem_max. */
	if (ch->cfg->size > 32768)
		for (int i = 0; i < 2; i++)
			setsockopt(p->sv[i], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	return 0;
}

static int unix_open(struct bench_chan *ch, enum bench_role role, unsigned idx,
		     void **out)
{
	const struct bench_cfg *c = ch->cfg;
	struct unix_priv *p = ch->priv;
	struct unix_h *h = calloc(1, sizeof(*h));

	(void)idx;
	if (h == NULL)
		return -ENOMEM;
	h->size = c->size;
	h->dontwait = c->wait == BENCH_SPIN ? MSG_DONTWAIT : 0;
	h->buf = malloc(c->batch * c->size);
	h->mm = calloc(c->batch, sizeof(*h->mm));
	h->iov = calloc(c->batch, sizeof(*h->iov));
	if (!h->buf || !h->mm || !h->iov) {
		free(h->buf);
		free(h->mm);
		free(h->iov);
		free(h);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < c->batch; i++) {
		h->iov[i].iov_base = h->buf + i * c->size;
		h->iov[i].iov_len = c->size;
		h->mm[i].msg_hdr.msg_iov = &h->iov[i];
		h->mm[i].msg_hdr.msg_iovlen = 1;
	}
	/* Data flows sv[0] -> sv[1]; the pong answers on sv[1]. */
	h->fd = role == ROLE_PRODUCER || role == ROLE_PING ? p->sv[0] : p->sv[1];
	*out = h;
	return 0;
}

static int unix_send(void *hv, unsigned n, size_t len, bench_fill_fn fill,
		     void *ctx)
{
	struct unix_h *h = hv;
	unsigned polls = 0;
	int k;

	for (unsigned i = 0; i < n; i++)
		fill(ctx, h->buf + i * len, len, i);
	if (n == 1) {
		ssize_t w;

		while ((w = send(h->fd, h->buf, len, h->dontwait)) < 0 &&
		       bench_retry(errno, h->dontwait, &polls))
			;
		return w < 0 ? -errno : 1;
	}
	while ((k = sendmmsg(h->fd, h->mm, n, h->dontwait)) < 0 &&
	       bench_retry(errno, h->dontwait, &polls))
		;
	return k < 0 ? -errno : k;
}

static int unix_recv(void *hv, unsigned max, bench_take_fn take, void *ctx)
{
	struct unix_h *h = hv;
	unsigned polls = 0;
	int k, rc = 0;

	if (max == 1) {
		ssize_t r;

		while ((r = recv(h->fd, h->buf, h->size, h->dontwait)) < 0 &&
		       bench_retry(errno, h->dontwait, &polls))
			;
		if (r < 0)
			return -errno;
		rc = take(ctx, h->buf, (size_t)r);
		return rc < 0 ? rc : 1;
	}
	for (unsigned i = 0; i < max; i++)
		h->iov[i].iov_len = h->size;
	/* MSG_WAITFORONE: block for the first, take what else is there. */
	while ((k = recvmmsg(h->fd, h->mm, max, h->dontwait ? h->dontwait : MSG_WAITFORONE,
			     NULL)) < 0 &&
	       bench_retry(errno, h->dontwait, &polls))
		;
	if (k < 0)
		return -errno;
	for (int i = 0; i < k && rc == 0; i++)
		rc = take(ctx, h->iov[i].iov_base, h->mm[i].msg_len);
	return rc < 0 ? rc : k;
}

static void unix_close(void *hv)
{
	struct unix_h *h = hv;

	free(h->buf);
	free(h->mm);
	free(h->iov);
	free(h);
}

static const char *kernel_wait(const struct bench_cfg *cfg)
{
	return cfg->wait == BENCH_SPIN ? "MSG_DONTWAIT, busy-poll" : "kernel blocking";
}

const struct bench_transport bench_unix = {
	.name = "unix",
	.unsupported = unix_unsupported,
	.setup = unix_setup,
	.teardown = unix_teardown,
	.open = unix_open,
	.send = unix_send,
	.recv = unix_recv,
	.close = unix_close,
	.end_by_parent = true,
	.end_per_consumer = bench_one_end_marker,
	.wait_note = kernel_wait,
};
