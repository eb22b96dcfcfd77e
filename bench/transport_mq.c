/*
 * Baseline: a POSIX message queue, blocking mq_send/mq_receive (--wait
 * spin: O_NONBLOCK, polled), with the depth an unprivileged user gets by
 * default (fs.mqueue.msg_default, 10).
 * Events above fs.mqueue.msgsize_max need privilege; without it the
 * configuration is reported as skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

struct mq_priv {
	char name[2][48];
	int n;
};

struct mq_h {
	mqd_t out, in;
	bool spin; /* --wait spin: O_NONBLOCK, poll */
	size_t size;
	uint8_t *buf;
};

static const char *mq_unsupported(const struct bench_cfg *c)
{
	(void)c;
	return NULL;
}

static void mq_teardown(struct bench_chan *ch)
{
	struct mq_priv *p = ch->priv;

	if (p == NULL)
		return;
	for (int i = 0; i < p->n; i++)
		mq_unlink(p->name[i]);
	free(p);
	ch->priv = NULL;
}

static long sysctl_long(const char *path, long dflt)
{
	FILE *f = fopen(path, "r");
	long v = dflt;

	if (f != NULL) {
		if (fscanf(f, "%ld", &v) != 1)
			v = dflt;
		fclose(f);
	}
	return v;
}

static int mq_setup(struct bench_chan *ch)
{
	struct mq_priv *p = calloc(1, sizeof(*p));
	int want = ch->cfg->mode == BENCH_PINGPONG ? 2 : 1;
	struct mq_attr a = {
		.mq_maxmsg = sysctl_long("/proc/sys/fs/mqueue/msg_default", 10),
		.mq_msgsize = (long)ch->cfg->size,
	};

	if (p == NULL)
		return -ENOMEM;
	ch->priv = p;
	for (; p->n < want; p->n++) {
		mqd_t q;

		snprintf(p->name[p->n], sizeof(p->name[p->n]), "/%s%c", ch->tag,
			 'a' + p->n);
		q = mq_open(p->name[p->n], O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC,
			    0600, &a);
		if (q == (mqd_t)-1) {
			int rc = -errno;

			/* EINVAL for a size above fs.mqueue.msgsize_max: say so. */
			if (rc == -EINVAL &&
			    a.mq_msgsize > sysctl_long("/proc/sys/fs/mqueue/msgsize_max", 8192))
				rc = -EMSGSIZE;
			mq_teardown(ch);
			return rc;
		}
		mq_close(q);
	}
	return 0;
}

static int mq_open_h(struct bench_chan *ch, enum bench_role role, unsigned idx,
		     void **out)
{
	struct mq_priv *p = ch->priv;
	struct mq_h *h = calloc(1, sizeof(*h));
	bool tx = role == ROLE_PRODUCER || role == ROLE_PING;
	bool rx = role == ROLE_CONSUMER || role == ROLE_PONG;
	int nb = ch->cfg->wait == BENCH_SPIN ? O_NONBLOCK : 0;
	int rc = 0;

	(void)idx;
	if (h == NULL)
		return -ENOMEM;
	h->spin = nb != 0;
	h->size = ch->cfg->size;
	h->out = h->in = (mqd_t)-1;
	h->buf = malloc(h->size);
	if (h->buf == NULL)
		rc = -ENOMEM;
	/* Data goes through queue a; the pong answers through b. */
	if (rc == 0 && tx && (h->out = mq_open(p->name[0], O_WRONLY | nb)) == (mqd_t)-1)
		rc = -errno;
	if (rc == 0 && rx && (h->in = mq_open(p->name[0], O_RDONLY | nb)) == (mqd_t)-1)
		rc = -errno;
	if (rc == 0 && role == ROLE_PING &&
	    (h->in = mq_open(p->name[1], O_RDONLY | nb)) == (mqd_t)-1)
		rc = -errno;
	if (rc == 0 && role == ROLE_PONG &&
	    (h->out = mq_open(p->name[1], O_WRONLY | nb)) == (mqd_t)-1)
		rc = -errno;
	if (rc < 0) {
		if (h->out != (mqd_t)-1)
			mq_close(h->out);
		if (h->in != (mqd_t)-1)
			mq_close(h->in);
		free(h->buf);
		free(h);
		return rc;
	}
	*out = h;
	return 0;
}

static int mq_send_h(void *hv, unsigned n, size_t len, bench_fill_fn fill,
		     void *ctx)
{
	struct mq_h *h = hv;
	unsigned polls = 0;

	for (unsigned i = 0; i < n; i++) {
		int rc;

		fill(ctx, h->buf, len, i);
		while ((rc = mq_send(h->out, (const char *)h->buf, len, 0)) < 0 &&
		       bench_retry(errno, h->spin, &polls))
			;
		if (rc < 0)
			return i > 0 ? (int)i : -errno;
	}
	return (int)n;
}

static int mq_recv_h(void *hv, unsigned max, bench_take_fn take, void *ctx)
{
	struct mq_h *h = hv;
	unsigned polls = 0;
	ssize_t r;
	int rc;

	(void)max; /* no batch receive in the API */
	while ((r = mq_receive(h->in, (char *)h->buf, h->size, NULL)) < 0 &&
	       bench_retry(errno, h->spin, &polls))
		;
	if (r < 0)
		return -errno;
	rc = take(ctx, h->buf, (size_t)r);
	return rc < 0 ? rc : 1;
}

static void mq_close_h(void *hv)
{
	struct mq_h *h = hv;

	if (h->out != (mqd_t)-1)
		mq_close(h->out);
	if (h->in != (mqd_t)-1)
		mq_close(h->in);
	free(h->buf);
	free(h);
}

static const char *kernel_wait(const struct bench_cfg *cfg)
{
	return cfg->wait == BENCH_SPIN ? "O_NONBLOCK, busy-poll" : "kernel blocking";
}

const struct bench_transport bench_mq = {
	.name = "mq",
	.unsupported = mq_unsupported,
	.setup = mq_setup,
	.teardown = mq_teardown,
	.open = mq_open_h,
	.send = mq_send_h,
	.recv = mq_recv_h,
	.close = mq_close_h,
	.end_by_parent = true,
	.end_per_consumer = bench_one_end_marker,
	.wait_note = kernel_wait,
};
