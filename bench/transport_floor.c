/*
 * The floor: the least any shared-memory design has to do on this machine.
 *
 * Throughput: a minimal single-producer/single-consumer ring (Lamport's,
 * with cached opposite cursors as in Aeron's and folly's SPSC queues) of
 * fixed-size slots in anonymous shared memory; P -> P runs P independent
 * rings, producer i feeding consumer i.  No claims, no waiting words, no
 * crash safety: nothing fev must have.  Waiting is always busy polling.
 *
 * Ping-pong: one cache line whose sequence word the two sides bump in turn,
 * payload in the same line up to 56 bytes (in the lines after it above).
 */
#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "bench.h"

#define LINE 64

struct ring {
	alignas(128) _Atomic uint64_t head; /* written by the producer */
	alignas(128) _Atomic uint64_t tail; /* written by the consumer */
	alignas(128) uint64_t cap, slot;
	alignas(128) uint8_t slots[];
};

struct pingline {
	alignas(LINE) _Atomic uint64_t seq;
	uint8_t payload[]; /* the rest of the line, then following lines */
};

struct floor_priv {
	void *mem;
	size_t len;
	size_t ring_len;
	unsigned nrings;
};

struct floor_h {
	struct ring *r;
	struct pingline *pl;
	uint64_t pos, cached; /* own cursor; opposite cursor as last seen */
	uint64_t turn;        /* ping-pong: last sequence seen or written */
	bool producer;
	size_t size;
};

static const char *floor_unsupported(const struct bench_cfg *c)
{
	if (c->producers != c->consumers)
		return "the floor pairs producer i with consumer i (P = Q)";
	return NULL;
}

static size_t slot_size(size_t size)
{
	return (size + 7) & ~(size_t)7;
}

static int floor_setup(struct bench_chan *ch)
{
	const struct bench_cfg *c = ch->cfg;
	struct floor_priv *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return -ENOMEM;
	if (c->mode == BENCH_PINGPONG) {
		p->len = LINE + c->size;
	} else {
		p->nrings = c->producers;
		p->ring_len = (sizeof(struct ring) +
			       (size_t)bench_capacity(c->size) * slot_size(c->size) +
			       4095) & ~(size_t)4095;
		p->len = p->ring_len * p->nrings;
	}
	p->mem = mmap(NULL, p->len, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p->mem == MAP_FAILED) {
		int rc = -errno;

		free(p);
		return rc;
	}
	for (unsigned i = 0; i < p->nrings; i++) {
		struct ring *r = (struct ring *)((uint8_t *)p->mem + i * p->ring_len);

		r->cap = bench_capacity(c->size);
		r->slot = slot_size(c->size);
	}
	ch->priv = p;
	return 0;
}

static void floor_teardown(struct bench_chan *ch)
{
	struct floor_priv *p = ch->priv;

	if (p == NULL)
		return;
	munmap(p->mem, p->len);
	free(p);
	ch->priv = NULL;
}

static int floor_open(struct bench_chan *ch, enum bench_role role, unsigned idx,
		      void **out)
{
	struct floor_priv *p = ch->priv;
	struct floor_h *h = calloc(1, sizeof(*h));
	unsigned pair = role == ROLE_CONSUMER ? idx - ch->cfg->producers : idx;

	if (h == NULL)
		return -ENOMEM;
	h->size = ch->cfg->size;
	h->producer = role == ROLE_PRODUCER;
	if (role == ROLE_PING || role == ROLE_PONG) {
		h->pl = p->mem;
	} else {
		if (pair >= p->nrings) {
			free(h);
			return -EINVAL;
		}
		h->r = (struct ring *)((uint8_t *)p->mem + pair * p->ring_len);
	}
	*out = h;
	return 0;
}

static int line_send(struct floor_h *h, size_t len, bench_fill_fn fill,
		     void *ctx)
{
	fill(ctx, h->pl->payload, len, 0);
	/* R1: publishes the payload; pairs with A1 in line_recv(). */
	atomic_store_explicit(&h->pl->seq, ++h->turn, memory_order_release);
	return 1;
}

static int line_recv(struct floor_h *h, bench_take_fn take, void *ctx)
{
	unsigned polls = 0;
	int rc;

	/* A1: pairs with R1 of the other side. */
	while (atomic_load_explicit(&h->pl->seq, memory_order_acquire) != h->turn + 1)
		bench_spin_pause(&polls);
	h->turn++;
	rc = take(ctx, h->pl->payload, h->size);
	return rc < 0 ? rc : 1;
}

static int floor_send(void *hv, unsigned n, size_t len, bench_fill_fn fill,
		      void *ctx)
{
	struct floor_h *h = hv;
	struct ring *r = h->r;
	unsigned polls = 0;

	if (h->pl != NULL)
		return line_send(h, len, fill, ctx);
	if (n > r->cap)
		n = (unsigned)r->cap;
	while (h->pos + n - h->cached > r->cap) {
		/* A2: pairs with R3: the consumer is done with those slots. */
		h->cached = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (h->pos + n - h->cached > r->cap)
			bench_spin_pause(&polls);
	}
	for (unsigned i = 0; i < n; i++)
		fill(ctx, r->slots + ((h->pos + i) & (r->cap - 1)) * r->slot, len, i);
	h->pos += n;
	/* R2: publishes the slots; pairs with A3 in floor_recv(). */
	atomic_store_explicit(&r->head, h->pos, memory_order_release);
	return (int)n;
}

static int floor_recv(void *hv, unsigned max, bench_take_fn take, void *ctx)
{
	struct floor_h *h = hv;
	struct ring *r = h->r;
	unsigned polls = 0, k;
	int rc = 0;

	if (h->pl != NULL)
		return line_recv(h, take, ctx);
	while (h->cached == h->pos) {
		/* A3: pairs with R2: the slots' contents are visible. */
		h->cached = atomic_load_explicit(&r->head, memory_order_acquire);
		if (h->cached == h->pos)
			bench_spin_pause(&polls);
	}
	k = h->cached - h->pos < max ? (unsigned)(h->cached - h->pos) : max;
	for (unsigned i = 0; i < k && rc == 0; i++)
		rc = take(ctx, r->slots + ((h->pos + i) & (r->cap - 1)) * r->slot,
			  h->size);
	h->pos += k;
	/* R3: our reads are done; pairs with A2 in floor_send(). */
	atomic_store_explicit(&r->tail, h->pos, memory_order_release);
	return rc < 0 ? rc : (int)k;
}

static void floor_close(void *hv)
{
	free(hv);
}

static const char *spin_wait(const struct bench_cfg *cfg)
{
	(void)cfg;
	return "always busy-poll";
}

const struct bench_transport bench_floor = {
	.name = "floor",
	.unsupported = floor_unsupported,
	.setup = floor_setup,
	.teardown = floor_teardown,
	.open = floor_open,
	.send = floor_send,
	.recv = floor_recv,
	.close = floor_close,
	.end_by_parent = false,
	.end_per_producer = bench_one_end_marker,
	.end_per_consumer = bench_one_end_marker,
	.wait_note = spin_wait,
};
