/*
 * fev itself.  The bench creates its queues under a private instance named
 * after the run (deleted at teardown), or uses fevd's queue given by
 * --queue (ping-pong then also needs QUEUE-pong).  --api copy uses
 * fev_send/fev_send_batch and fev_recv (or acquire, copy out, release for
 * batches); --api zerocopy writes into reserved slots (fev_reserve_batch
 * for batches) and reads in place.
 *
 * fev-meta is fev with a key and two headers on every event (a --vs
 * baseline: `fev-bench thr --vs fev-meta` prices them in the same run).
 * Its producers send with fev_send_ex / fev_reserve_ex, its consumers
 * acquire (the copy API's fev_recv drops key and headers), check the key
 * and look one header up, as a consumer that routes on them would.
 *
 * fev-fd and fev-any are fev whose consumers wait another way (--vs
 * baselines, so the same run prices them): fev-fd's in epoll on fev_fd(),
 * fev-any's in fev_wait_any() over 64 queues of which one has traffic
 * (63 idle ones created beside it).  Both then take events with timeout
 * 0 until -EAGAIN, as the API asks.
 *
 * fev-trace0 and fev-trace1 price tracing (doc/design.md, "Tracing"):
 * every event carries a W3C traceparent, none sampled (fev-trace0) or one
 * in a hundred (fev-trace1), into a queue with a hop ring of 4096
 * entries; the sampled ones have their hops recorded.  Together with a
 * build of -DFEV_TRACING=OFF they answer issue 14's overhead question
 * (bench/README.md).
 *
 * fev-tail is fev with a tail attached to the queue for the whole run, in
 * a process of its own (tail_observer.c): `fev-bench thr --vs fev-tail`
 * shows what watching a queue costs its producers and consumers.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "fev/fev.h"
#include "bench.h"
#include "tail_observer.h"

/* What fev-meta puts on every event: 80 bytes encoded (meta.h). */
static const fev_header meta_headers[] = {
	{ .name = FEV_HDR_CONTENT_TYPE, .value = "application/json",
	  .value_len = 16 },
	{ .name = FEV_HDR_CE_TYPE, .value = "com.example.order.placed",
	  .value_len = 24 },
};
static const fev_send_opts meta_opts = {
	.struct_size = sizeof(fev_send_opts), .key = "order-42", .key_len = 8,
	.headers = meta_headers, .n_headers = 2,
};
/* key_len, key, count; per header name_len, name, value_len, value. */
#define META_ROOM ((1 + 8 + 2) + (1 + 12 + 4 + 16) + (1 + 7 + 4 + 24))

/* fev-trace*: one traceparent, sampled or not; 1 in 100 sampled. */
#define TP_SAMPLED "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
#define TP_UNSAMPLED "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
static const fev_header trace_headers[2] = {
	{ .name = FEV_HDR_TRACEPARENT, .name_len = 11, .value = TP_UNSAMPLED,
	  .value_len = FEV_TRACEPARENT_LEN },
	{ .name = FEV_HDR_TRACEPARENT, .name_len = 11, .value = TP_SAMPLED,
	  .value_len = FEV_TRACEPARENT_LEN },
};
static const fev_send_opts trace_opts[2] = {
	{ .struct_size = sizeof(fev_send_opts), .headers = &trace_headers[0],
	  .n_headers = 1 },
	{ .struct_size = sizeof(fev_send_opts), .headers = &trace_headers[1],
	  .n_headers = 1 },
};
#define TRACE_ROOM (3 + 5 + 11 + FEV_TRACEPARENT_LEN)
#define TRACE_HOPS 4096u
#define SAMPLE_EVERY 100u

enum trace_mode { TRACE_NONE, TRACE_UNSAMPLED, TRACE_ONE_PERCENT };

/* How a consumer waits: in the call, epoll on fev_fd(), fev_wait_any(). */
enum wait_via { VIA_CALL, VIA_FD, VIA_ANY };
#define ANY_QUEUES 64 /* fev-any: the active queue and 63 idle ones */

struct fev_priv {
	bool meta; /* fev-meta */
	enum wait_via via;
	enum trace_mode trace;
	pid_t tail; /* fev-tail: the observer; 0: none */
	char instance[FEV_INSTANCE_MAX + 1];
	bool own; /* created here: delete at teardown */
	char q[2][FEV_NAME_MAX + 1];
	int nq;
};

struct fev_h {
	bool meta;
	enum wait_via via;
	enum trace_mode trace;
	uint32_t sent; /* fev-trace1: which event is sampled */
	fev_queue *out, *in;
	const struct bench_cfg *cfg;
	int64_t timeout, in_timeout;
	int ep;                       /* fev-fd: epoll on fev_fd(in) */
	fev_queue *set[ANY_QUEUES];   /* fev-any: in, then the idle ones */
	uint8_t *buf; /* the application's own memory, for --api copy */
	struct iovec *iov;
	fev_event *evs;
	fev_claim *claims; /* zero-copy batches */
	size_t *lens;
};

static const char *fev_unsupported(const struct bench_cfg *cfg)
{
	if ((cfg->sync & FEV_SYNC_SP) && cfg->producers > 1)
		return "a single-producer queue has one producer (--sync)";
	if ((cfg->sync & FEV_SYNC_SC) && cfg->consumers > 1)
		return "a single-consumer queue has one consumer (--sync)";
	return NULL;
}

static const char *fev_spsc_unsupported(const struct bench_cfg *cfg)
{
	if (cfg->producers > 1 || cfg->consumers > 1)
		return "a single-producer, single-consumer queue: 1 -> 1 only";
	if (cfg->queue != NULL)
		return "fev-spsc makes its own queues (no --queue)";
	return NULL;
}

static const char *fev_meta_unsupported(const struct bench_cfg *cfg);

static const char *fev_trace_unsupported(const struct bench_cfg *cfg)
{
	if (cfg->api != BENCH_COPY)
		return "traced events are sent with fev_send_ex (--api copy)";
	return fev_meta_unsupported(cfg);
}

static const char *fev_meta_unsupported(const struct bench_cfg *cfg)
{
	if (cfg->batch > 1)
		return "keys and headers are sent one event at a time";
	if (cfg->queue != NULL)
		return "fev-meta sizes its own queues (no --queue)";
	return NULL;
}

static const char *fev_via_unsupported(const struct bench_cfg *cfg)
{
	if (cfg->queue != NULL)
		return "makes its own queues (no --queue)";
	if (cfg->wait == BENCH_SPIN)
		return "waits in epoll or fev_wait_any (not with --wait spin)";
	return NULL;
}

static int check_existing(const char *inst, const char *q, size_t size)
{
	fev_stats st;
	int rc = fev_queue_stats(q, inst, &st);

	if (rc < 0) {
		fprintf(stderr, "fev-bench: queue %s: %s\n", q, fev_strerror(rc));
		return rc;
	}
	if (st.max_event < size) {
		fprintf(stderr, "fev-bench: queue %s holds events up to %u bytes, "
				"--size is %zu\n", q, st.max_event, size);
		return -EMSGSIZE;
	}
	return 0;
}

static void fev_teardown(struct bench_chan *ch)
{
	struct fev_priv *p = ch->priv;

	if (p == NULL)
		return;
	bench_tail_observer_stop(p->tail);
	for (int i = 0; p->own && i < p->nq; i++)
		fev_queue_delete(p->q[i], p->instance);
	for (int i = 1; p->via == VIA_ANY && i < ANY_QUEUES; i++) {
		char name[16];

		snprintf(name, sizeof(name), "idle%d", i);
		fev_queue_delete(name, p->instance);
	}
	free(p);
	ch->priv = NULL;
}

static int create_idle(struct fev_priv *p)
{
	fev_queue_config qc = { .struct_size = sizeof(qc), .capacity = 2,
				.max_event = 8, .policy = FEV_POLICY_BLOCK };
	char name[16];
	int rc = 0;

	for (int i = 1; i < ANY_QUEUES && rc == 0; i++) {
		snprintf(name, sizeof(name), "idle%d", i);
		rc = fev_queue_create(name, &qc, p->instance);
	}
	return rc;
}

static int setup_with(struct bench_chan *ch, bool meta, enum wait_via via,
		      enum trace_mode tr, bool tail, uint32_t sync)
{
	const struct bench_cfg *c = ch->cfg;
	struct fev_priv *p = calloc(1, sizeof(*p));
	fev_queue_config qc = { .struct_size = sizeof(qc),
				.capacity = bench_capacity(c->size),
				.max_event = (uint32_t)c->size +
					     (meta ? META_ROOM : 0) +
					     (tr != TRACE_NONE ? TRACE_ROOM : 0),
				.policy = FEV_POLICY_BLOCK,
				.trace_hops = tr != TRACE_NONE ? TRACE_HOPS :
								 0,
				.sync = sync };
	int rc = 0;

	if (p == NULL)
		return -ENOMEM;
	ch->priv = p;
	p->meta = meta;
	p->via = via;
	p->trace = tr;
	p->nq = c->mode == BENCH_PINGPONG ? 2 : 1;
	if (c->queue != NULL) {
		snprintf(p->instance, sizeof(p->instance), "%s", fev_default_instance());
		snprintf(p->q[0], sizeof(p->q[0]), "%s", c->queue);
		snprintf(p->q[1], sizeof(p->q[1]), "%s-pong", c->queue);
		for (int i = 0; i < p->nq && rc == 0; i++)
			rc = check_existing(p->instance, p->q[i], c->size);
		return rc;
	}
	snprintf(p->instance, sizeof(p->instance), "%s", ch->tag);
	strcpy(p->q[0], "ping");
	strcpy(p->q[1], "pong");
	p->own = true;
	for (int i = 0; i < p->nq; i++) {
		rc = fev_queue_create(p->q[i], &qc, p->instance);
		if (rc < 0) {
			p->nq = i; /* delete only what exists */
			fev_teardown(ch);
			return rc;
		}
	}
	if (via == VIA_ANY && (rc = create_idle(p)) < 0) {
		fev_teardown(ch); /* deletes the idle ones that exist */
		return rc;
	}
	if (tail) {
		p->tail = bench_tail_observer_start(p->instance, p->q[0]);
		if (p->tail < 0) {
			p->tail = 0;
			fev_teardown(ch);
			return -ECHILD;
		}
	}
	return 0;
}

static int fev_setup(struct bench_chan *ch)
{
	return setup_with(ch, false, VIA_CALL, TRACE_NONE, false, ch->cfg->sync);
}

static int fev_spsc_setup(struct bench_chan *ch)
{
	return setup_with(ch, false, VIA_CALL, TRACE_NONE, false,
			  FEV_SYNC_SP | FEV_SYNC_SC);
}

static int fev_meta_setup(struct bench_chan *ch)
{
	return setup_with(ch, true, VIA_CALL, TRACE_NONE, false, ch->cfg->sync);
}

static int fev_fd_setup(struct bench_chan *ch)
{
	return setup_with(ch, false, VIA_FD, TRACE_NONE, false, ch->cfg->sync);
}

static int fev_any_setup(struct bench_chan *ch)
{
	return setup_with(ch, false, VIA_ANY, TRACE_NONE, false, ch->cfg->sync);
}

static int fev_trace0_setup(struct bench_chan *ch)
{
	return setup_with(ch, false, VIA_CALL, TRACE_UNSAMPLED, false, ch->cfg->sync);
}

static int fev_trace1_setup(struct bench_chan *ch)
{
	return setup_with(ch, false, VIA_CALL, TRACE_ONE_PERCENT, false, ch->cfg->sync);
}

static int fev_tail_setup(struct bench_chan *ch)
{
	return setup_with(ch, false, VIA_CALL, TRACE_NONE, true, ch->cfg->sync);
}

static const char *fev_tail_unsupported(const struct bench_cfg *cfg)
{
	if (cfg->queue != NULL)
		return "fev-tail sizes its own queues (no --queue)";
	return NULL;
}

static int open_q(struct bench_chan *ch, int i, unsigned role, fev_queue **q)
{
	struct fev_priv *p = ch->priv;
	fev_open_opts o = { .struct_size = sizeof(o), .instance = p->instance,
			    .flags = ch->cfg->wait == BENCH_SLEEP ? FEV_OPEN_NO_SPIN : 0 };

	return fev_open(p->q[i], role, &o, q);
}

static void fev_close_h(void *hv)
{
	struct fev_h *h = hv;

	if (h->ep > 0)
		close(h->ep);
	for (int i = 1; i < ANY_QUEUES; i++)
		if (h->set[i])
			fev_close(h->set[i]);
	if (h->out)
		fev_close(h->out);
	if (h->in)
		fev_close(h->in);
	free(h->buf);
	free(h->iov);
	free(h->evs);
	free(h->claims);
	free(h->lens);
	free(h);
}

static int open_waiting(struct bench_chan *ch, struct fev_h *h)
{
	struct fev_priv *p = ch->priv;
	struct epoll_event e = { .events = EPOLLIN };
	fev_open_opts o = { .struct_size = sizeof(o), .instance = p->instance };
	int fd, rc = 0;

	h->set[0] = h->in;
	if (h->via == VIA_ANY) {
		for (int i = 1; i < ANY_QUEUES && rc == 0; i++) {
			char name[16];

			snprintf(name, sizeof(name), "idle%d", i);
			rc = fev_open(name, FEV_CONSUMER, &o, &h->set[i]);
		}
		return rc;
	}
	fd = fev_fd(h->in);
	if (fd < 0)
		return fd;
	h->ep = epoll_create1(EPOLL_CLOEXEC);
	if (h->ep < 0 || epoll_ctl(h->ep, EPOLL_CTL_ADD, fd, &e) < 0)
		return -errno;
	return 0;
}

/* fev-fd, fev-any: the consumer's wait, after a call said -EAGAIN. */
static int wait_in(struct fev_h *h)
{
	struct epoll_event e;
	size_t ready[ANY_QUEUES];
	int n;

	if (h->via == VIA_ANY) {
		n = fev_wait_any(h->set, ANY_QUEUES, FEV_FOREVER, ready);
		return n < 0 ? n : 0;
	}
	n = epoll_wait(h->ep, &e, 1, -1);
	return n < 0 && errno != EINTR ? -errno : 0;
}

static int fev_open_h(struct bench_chan *ch, enum bench_role role, unsigned idx,
		      void **out)
{
	const struct bench_cfg *c = ch->cfg;
	struct fev_h *h = calloc(1, sizeof(*h));
	int rc = 0;

	(void)idx;
	if (h == NULL)
		return -ENOMEM;
	h->cfg = c;
	h->meta = ((const struct fev_priv *)ch->priv)->meta;
	h->trace = ((const struct fev_priv *)ch->priv)->trace;
	h->timeout = c->wait == BENCH_SPIN ? 0 : FEV_FOREVER;
	h->buf = malloc(c->batch * c->size);
	h->iov = calloc(c->batch, sizeof(*h->iov));
	h->evs = calloc(c->batch, sizeof(*h->evs));
	h->claims = calloc(c->batch, sizeof(*h->claims));
	h->lens = calloc(c->batch, sizeof(*h->lens));
	if (!h->buf || !h->iov || !h->evs || !h->claims || !h->lens)
		rc = -ENOMEM;
	if (rc == 0 && (role == ROLE_PRODUCER || role == ROLE_PING))
		rc = open_q(ch, 0, FEV_PRODUCER, &h->out);
	if (rc == 0 && (role == ROLE_CONSUMER || role == ROLE_PONG))
		rc = open_q(ch, 0, FEV_CONSUMER, &h->in);
	if (rc == 0 && role == ROLE_PING)
		rc = open_q(ch, 1, FEV_CONSUMER, &h->in);
	if (rc == 0 && role == ROLE_PONG)
		rc = open_q(ch, 1, FEV_PRODUCER, &h->out);
	h->via = ((const struct fev_priv *)ch->priv)->via;
	h->in_timeout = h->via == VIA_CALL ? h->timeout : 0;
	if (rc == 0 && h->in != NULL && h->via != VIA_CALL)
		rc = open_waiting(ch, h);
	if (rc < 0) {
		fev_close_h(h);
		return rc;
	}
	*out = h;
	return 0;
}

/* --wait spin retries timeout-0 calls; block and sleep wait in libfev. */
#define RETRY(h, expr)                                                         \
	({                                                                     \
		unsigned polls_ = 0;                                           \
		int rc_;                                                       \
		while ((rc_ = (expr)) == -EAGAIN && (h)->timeout == 0)         \
			bench_spin_pause(&polls_);                             \
		rc_;                                                           \
	})

/* The consumer's side: as RETRY, or waiting in epoll / fev_wait_any. */
#define RETRY_IN(h, expr)                                                      \
	({                                                                     \
		unsigned polls_ = 0;                                           \
		int rc_;                                                       \
		while ((rc_ = (expr)) == -EAGAIN && (h)->in_timeout == 0) {    \
			if ((h)->via == VIA_CALL)                              \
				bench_spin_pause(&polls_);                     \
			else if ((rc_ = wait_in(h)) < 0)                       \
				break;                                         \
		}                                                              \
		rc_;                                                           \
	})

static int send_zerocopy(struct fev_h *h, unsigned n, size_t len,
			 bench_fill_fn fill, void *ctx)
{
	fev_claim *cl = h->claims;
	int k, rc;

	if (n == 1) {
		rc = RETRY(h, fev_reserve_ex(h->out, h->meta ? &meta_opts : NULL,
					     len, cl, h->timeout));
		if (rc < 0)
			return rc;
		fill(ctx, cl->data, len, 0);
		rc = fev_commit(h->out, cl, len);
		return rc < 0 ? rc : 1;
	}
	/* One CAS for up to n slots, one timestamp for all of them. */
	k = RETRY(h, fev_reserve_batch(h->out, cl, n, h->timeout));
	if (k < 0)
		return k;
	for (int i = 0; i < k; i++) {
		fill(ctx, cl[i].data, len, (unsigned)i);
		h->lens[i] = len;
	}
	rc = fev_commit_batch(h->out, cl, h->lens, (size_t)k);
	return rc < 0 ? rc : k;
}

static int fev_send_h(void *hv, unsigned n, size_t len, bench_fill_fn fill,
		      void *ctx)
{
	struct fev_h *h = hv;
	int rc;

	if (h->cfg->api == BENCH_ZEROCOPY)
		return send_zerocopy(h, n, len, fill, ctx);
	if (n == 1 && h->trace != TRACE_NONE) {
		const fev_send_opts *o =
			&trace_opts[h->trace == TRACE_ONE_PERCENT &&
				    h->sent++ % SAMPLE_EVERY == 0];

		fill(ctx, h->buf, len, 0);
		rc = RETRY(h, fev_send_ex(h->out, o, h->buf, len, h->timeout));
		return rc < 0 ? rc : 1;
	}
	if (n == 1) {
		fill(ctx, h->buf, len, 0);
		rc = RETRY(h, h->meta ? fev_send_ex(h->out, &meta_opts, h->buf,
						    len, h->timeout) :
				       fev_send(h->out, h->buf, len, h->timeout));
		return rc < 0 ? rc : 1;
	}
	for (unsigned i = 0; i < n; i++) {
		h->iov[i].iov_base = h->buf + i * len;
		h->iov[i].iov_len = len;
		fill(ctx, h->iov[i].iov_base, len, i);
	}
	return RETRY(h, fev_send_batch(h->out, h->iov, n, h->timeout));
}

/* What a consumer routing on key and type reads: both, or -EBADMSG. */
static int meta_check(const fev_event *ev)
{
	const void *v;
	size_t n;

	if (ev->key_len != meta_opts.key_len ||
	    fev_header_get(ev, FEV_HDR_CE_TYPE, &v, &n) < 0 ||
	    n != meta_headers[1].value_len)
		return -EBADMSG;
	return 0;
}

static int fev_recv_h(void *hv, unsigned max, bench_take_fn take, void *ctx)
{
	struct fev_h *h = hv;
	bool copy = h->cfg->api == BENCH_COPY;
	int k, rc = 0;

	if (copy && max == 1 && !h->meta && h->trace == TRACE_NONE) {
		ssize_t n = RETRY_IN(h, (int)fev_recv(h->in, h->buf,
						      h->cfg->size, NULL,
						      h->in_timeout));

		if (n < 0)
			return (int)n;
		rc = take(ctx, h->buf, (size_t)n);
		return rc < 0 ? rc : 1;
	}
	k = RETRY_IN(h, fev_acquire_batch(h->in, h->evs, max, h->in_timeout));
	if (k < 0)
		return k;
	for (int i = 0; i < k && rc == 0; i++) {
		const void *data = h->evs[i].data;

		if (copy) {
			memcpy(h->buf + (size_t)i * h->cfg->size, data,
			       h->evs[i].len);
			data = h->buf + (size_t)i * h->cfg->size;
		}
		if (h->meta)
			rc = meta_check(&h->evs[i]);
		if (rc == 0)
			rc = take(ctx, data, h->evs[i].len);
	}
	fev_release_batch(h->in, h->evs, (size_t)k);
	return rc < 0 ? rc : k;
}

const char *bench_fev_wait_note(const struct bench_cfg *cfg)
{
	switch (cfg->wait) {
	case BENCH_SPIN:
		return "busy-poll, timeout 0";
	case BENCH_SLEEP:
		return "futex only (FEV_OPEN_NO_SPIN)";
	default:
		return "spin then futex (default)";
	}
}

const struct bench_transport bench_fev = {
	.name = "fev",
	.unsupported = fev_unsupported,
	.setup = fev_setup,
	.teardown = fev_teardown,
	.open = fev_open_h,
	.send = fev_send_h,
	.recv = fev_recv_h,
	.close = fev_close_h,
	.end_by_parent = true,
	.end_per_consumer = bench_one_end_marker,
	.wait_note = bench_fev_wait_note,
};

static const char *fev_fd_wait_note(const struct bench_cfg *cfg)
{
	(void)cfg;
	return "epoll on fev_fd(), then timeout 0 until -EAGAIN";
}

static const char *fev_any_wait_note(const struct bench_cfg *cfg)
{
	(void)cfg;
	return "fev_wait_any() over 64 queues (63 idle)";
}

const struct bench_transport bench_fev_fd = {
	.name = "fev-fd",
	.unsupported = fev_via_unsupported,
	.setup = fev_fd_setup,
	.teardown = fev_teardown,
	.open = fev_open_h,
	.send = fev_send_h,
	.recv = fev_recv_h,
	.close = fev_close_h,
	.end_by_parent = true,
	.end_per_consumer = bench_one_end_marker,
	.wait_note = fev_fd_wait_note,
};

const struct bench_transport bench_fev_any = {
	.name = "fev-any",
	.unsupported = fev_via_unsupported,
	.setup = fev_any_setup,
	.teardown = fev_teardown,
	.open = fev_open_h,
	.send = fev_send_h,
	.recv = fev_recv_h,
	.close = fev_close_h,
	.end_by_parent = true,
	.end_per_consumer = bench_one_end_marker,
	.wait_note = fev_any_wait_note,
};

const struct bench_transport bench_fev_spsc = {
	.name = "fev-spsc",
	.unsupported = fev_spsc_unsupported,
	.setup = fev_spsc_setup,
	.teardown = fev_teardown,
	.open = fev_open_h,
	.send = fev_send_h,
	.recv = fev_recv_h,
	.close = fev_close_h,
	.end_by_parent = true,
	.end_per_consumer = bench_one_end_marker,
	.wait_note = bench_fev_wait_note,
};

const struct bench_transport bench_fev_meta = {
	.name = "fev-meta",
	.unsupported = fev_meta_unsupported,
	.setup = fev_meta_setup,
	.teardown = fev_teardown,
	.open = fev_open_h,
	.send = fev_send_h,
	.recv = fev_recv_h,
	.close = fev_close_h,
	.end_by_parent = true,
	.end_per_consumer = bench_one_end_marker,
	.wait_note = bench_fev_wait_note,
};

const struct bench_transport bench_fev_trace0 = {
	.name = "fev-trace0",
	.unsupported = fev_trace_unsupported,
	.setup = fev_trace0_setup,
	.teardown = fev_teardown,
	.open = fev_open_h,
	.send = fev_send_h,
	.recv = fev_recv_h,
	.close = fev_close_h,
	.end_by_parent = true,
	.end_per_consumer = bench_one_end_marker,
	.wait_note = bench_fev_wait_note,
};

const struct bench_transport bench_fev_trace1 = {
	.name = "fev-trace1",
	.unsupported = fev_trace_unsupported,
	.setup = fev_trace1_setup,
	.teardown = fev_teardown,
	.open = fev_open_h,
	.send = fev_send_h,
	.recv = fev_recv_h,
	.close = fev_close_h,
	.end_by_parent = true,
	.end_per_consumer = bench_one_end_marker,
	.wait_note = bench_fev_wait_note,
};

const struct bench_transport bench_fev_tail = {
	.name = "fev-tail",
	.unsupported = fev_tail_unsupported,
	.setup = fev_tail_setup,
	.teardown = fev_teardown,
	.open = fev_open_h,
	.send = fev_send_h,
	.recv = fev_recv_h,
	.close = fev_close_h,
	.end_by_parent = true,
	.end_per_consumer = bench_one_end_marker,
	.wait_note = bench_fev_wait_note,
};
