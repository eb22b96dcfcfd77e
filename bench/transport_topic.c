/*
 * fev's event bus in fev-bench (issue 11), against what users do today:
 *
 *   fev-fanout  a topic of one partition with one consumer group per
 *               consumer (g0, g1, ...): every consumer gets every event,
 *               from one copy in shared memory
 *   fev-queues  the baseline of fan-out: one queue per consumer, and the
 *               producer sends each event to every queue (G copies)
 *   fev-keyed   a topic of 8 partitions; the producer sends each event
 *               with a key (1,024 keys in turn) through fev_topic_send(),
 *               which routes it by Kafka's murmur2; the consumers are the
 *               members of one ordered group (fev_member_*), to which a
 *               fevd of the run's instance (keyed_fevd.c) assigns the
 *               partitions, and check that each partition's events come
 *               in publish order: the order of every key
 *
 * Events/s counts deliveries: with G groups every event is delivered G
 * times (copies()), and the run checks that each consumer got every event
 * exactly once.  The copy API (fev_send / fev_recv), one event per call.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fev/fev.h"
#include "bench.h"
#include "keyed_fevd.h"
#include "shared.h"

#define KEYED_PARTITIONS 8u
#define KEYED_KEYS 1024u
#define KEY_MAX 12 /* "key-1023" */
/* What a key adds to an event: key_len, the key, the header count. */
#define KEY_ROOM (1 + KEY_MAX + 2)
#define MAX_QUEUES 32 /* fev-queues: one per consumer */
#define KEYED_GROUP "g"
/* fev-keyed: how long a member waits at open for its share of the
 * partitions (fevd assigns every 10 ms; the others are joining). */
#define KEYED_SHARE_WAIT_NS (10ull * 1000 * 1000 * 1000)

enum topic_kind { FANOUT, QUEUES, KEYED };

struct topic_priv {
	enum topic_kind kind;
	char instance[FEV_INSTANCE_MAX + 1];
	char name[FEV_NAME_MAX + 1];
	unsigned nq; /* fev-queues: queues created */
	const struct bench_cfg *cfg;
	struct keyed_fevd fevd; /* fev-keyed: assigns the partitions */
};

struct topic_h {
	enum topic_kind kind;
	const struct bench_cfg *cfg;
	int64_t timeout;
	uint8_t *buf;
	fev_queue *in[1];                /* fan-out, queues: the consumer's */
	unsigned nin;
	fev_member *member;              /* fev-keyed's consumer */
	uint64_t last[KEYED_PARTITIONS]; /* fev-keyed: last seq per partition */
	bool seen[KEYED_PARTITIONS];
	/* fev-keyed: the partitions the member owned when the run started:
	 * only their end markers count, one each (the parent's sender puts
	 * one in every partition per call, and a member that left gives its
	 * partitions, markers and all, to the other). */
	bool mine[KEYED_PARTITIONS];
	bool ended[KEYED_PARTITIONS];
	fev_queue *out[MAX_QUEUES];      /* fev-queues' producer: every queue */
	unsigned nout;
	fev_topic *topic;                /* fev-keyed's producer */
	bool end_sender;                 /* sends to every partition */
	uint64_t sent;
	char keys[KEYED_KEYS][KEY_MAX];
	uint8_t key_len[KEYED_KEYS];
};

static const char *topic_unsupported(const struct bench_cfg *cfg)
{
	if (cfg->batch > 1 || cfg->api != BENCH_COPY)
		return "the bus runs use the copy API, one event per call";
	if (cfg->queue != NULL)
		return "it makes its own topic (no --queue)";
	if (cfg->mode != BENCH_THR)
		return "a throughput run only";
	return NULL;
}

static const char *fanout_unsupported(const struct bench_cfg *cfg)
{
	if (cfg->consumers > FEV_GROUPS_MAX || cfg->consumers > MAX_QUEUES)
		return "one group per consumer: at most 32 consumers";
	return topic_unsupported(cfg);
}

static const char *keyed_unsupported(const struct bench_cfg *cfg)
{
	if (KEYED_PARTITIONS % cfg->consumers != 0)
		return "8 partitions shared evenly: 1, 2, 4 or 8 consumers";
	if (cfg->producers != 1)
		return "per-key order is checked against one producer";
	return topic_unsupported(cfg);
}

static unsigned copies_per_consumer(const struct bench_cfg *cfg)
{
	return cfg->consumers;
}

/* Each partition gets one end marker: a consumer waits for its own. */
static unsigned keyed_ends(const struct bench_cfg *cfg)
{
	return KEYED_PARTITIONS / cfg->consumers;
}

static void topic_teardown(struct bench_chan *ch)
{
	struct topic_priv *p = ch->priv;

	if (p == NULL)
		return;
	if (p->kind == QUEUES)
		for (unsigned i = 0; i < p->nq; i++) {
			char q[FEV_NAME_MAX + 1];

			snprintf(q, sizeof(q), "q%u", i);
			fev_queue_delete(q, p->instance);
		}
	else {
		keyed_fevd_stop(&p->fevd); /* first: it adopted the topic */
		fev_topic_delete(p->name, p->instance);
	}
	free(p);
	ch->priv = NULL;
}

/* One group per consumer, and not "default", which nobody reads. */
static int make_groups(const struct topic_priv *p, unsigned n)
{
	int rc = fev_group_delete(p->name, "default", p->instance);

	for (unsigned i = 0; i < n && rc == 0; i++) {
		char g[FEV_GROUP_NAME_MAX + 1];

		snprintf(g, sizeof(g), "g%u", i);
		rc = fev_group_create(p->name, g, NULL, p->instance);
	}
	return rc;
}

/* One ordered group instead of "default", and fevd to assign it. */
static int make_ordered_group(struct topic_priv *p)
{
	fev_group_config gc = { .struct_size = sizeof(gc),
				.mode = FEV_GROUP_ORDERED };
	int rc = fev_group_delete(p->name, "default", p->instance);

	if (rc == 0)
		rc = fev_group_create(p->name, KEYED_GROUP, &gc, p->instance);
	if (rc == 0)
		rc = keyed_fevd_start(&p->fevd, p->instance);
	return rc;
}

static int setup_kind(struct bench_chan *ch, enum topic_kind kind)
{
	const struct bench_cfg *c = ch->cfg;
	struct topic_priv *p = calloc(1, sizeof(*p));
	fev_queue_config qc = {
		.struct_size = sizeof(qc),
		.capacity = bench_capacity(c->size + KEY_ROOM),
		.max_event = (uint32_t)c->size + (kind == KEYED ? KEY_ROOM : 0),
		.policy = FEV_POLICY_BLOCK,
	};
	int rc = 0;

	if (p == NULL)
		return -ENOMEM;
	ch->priv = p;
	p->kind = kind;
	p->cfg = c;
	snprintf(p->instance, sizeof(p->instance), "%s", ch->tag);
	snprintf(p->name, sizeof(p->name), "%s",
		 kind == KEYED ? "keyed" : "fan");
	if (kind == QUEUES) {
		for (; p->nq < c->consumers && rc == 0; p->nq++) {
			char q[FEV_NAME_MAX + 1];

			snprintf(q, sizeof(q), "q%u", p->nq);
			rc = fev_queue_create(q, &qc, p->instance);
		}
		if (rc < 0)
			p->nq--; /* the one that failed is not there */
	} else {
		rc = fev_topic_create(p->name,
				      kind == KEYED ? KEYED_PARTITIONS : 1,
				      &qc, p->instance);
		if (rc == 0 && kind == FANOUT)
			rc = make_groups(p, c->consumers);
		if (rc == 0 && kind == KEYED)
			rc = make_ordered_group(p);
	}
	if (rc < 0)
		topic_teardown(ch);
	return rc;
}

static int fanout_setup(struct bench_chan *ch)
{
	return setup_kind(ch, FANOUT);
}

static int queues_setup(struct bench_chan *ch)
{
	return setup_kind(ch, QUEUES);
}

static int keyed_setup(struct bench_chan *ch)
{
	return setup_kind(ch, KEYED);
}

static void topic_close(void *hv)
{
	struct topic_h *h = hv;

	for (unsigned i = 0; i < h->nin; i++)
		fev_close(h->in[i]);
	for (unsigned i = 0; i < h->nout; i++)
		fev_close(h->out[i]);
	if (h->topic != NULL)
		fev_topic_close(h->topic);
	if (h->member != NULL)
		fev_member_leave(h->member);
	free(h->buf);
	free(h);
}

/* --wait sleep: futex only, as for fev. */
static unsigned open_flags(const struct bench_cfg *cfg)
{
	return cfg->wait == BENCH_SLEEP ? FEV_OPEN_NO_SPIN : 0;
}

static int open_one(const struct topic_priv *p, const char *name,
		    unsigned roles, const char *group, fev_queue **q)
{
	fev_open_opts o = { .struct_size = sizeof(o), .instance = p->instance,
			    .group = group, .flags = open_flags(p->cfg) };

	return fev_open(name, roles, &o, q);
}

static int open_producer(struct topic_h *h, const struct topic_priv *p,
			 unsigned consumers)
{
	fev_open_opts o = { .struct_size = sizeof(o), .instance = p->instance,
			    .flags = open_flags(p->cfg) };
	int rc = 0;

	switch (p->kind) {
	case FANOUT:
		h->nout = 1;
		return open_one(p, p->name, FEV_PRODUCER, NULL, &h->out[0]);
	case QUEUES:
		for (; h->nout < consumers && rc == 0; h->nout++) {
			char q[FEV_NAME_MAX + 1];

			snprintf(q, sizeof(q), "q%u", h->nout);
			rc = open_one(p, q, FEV_PRODUCER, NULL,
				      &h->out[h->nout]);
		}
		if (rc < 0)
			h->nout--;
		return rc;
	case KEYED:
		for (unsigned i = 0; i < KEYED_KEYS; i++)
			h->key_len[i] = (uint8_t)snprintf(
				h->keys[i], sizeof(h->keys[i]), "key-%u", i);
		return fev_topic_open(p->name, FEV_PRODUCER, &o, &h->topic);
	}
	return -EINVAL;
}

/*
 * Join the ordered group and wait until fevd gave this member its share
 * (8 / C: every member joins before the run starts), so the run measures
 * the steady state and knows which end markers are this member's.
 */
static int join_keyed(struct topic_h *h, const struct topic_priv *p,
		      unsigned consumers)
{
	fev_open_opts o = { .struct_size = sizeof(o), .instance = p->instance,
			    .group = KEYED_GROUP,
			    .flags = open_flags(p->cfg) };
	uint64_t give_up = bench_now_ns() + KEYED_SHARE_WAIT_NS;
	uint32_t parts[KEYED_PARTITIONS];
	int rc = fev_member_join(p->name, &o, &h->member);

	while (rc == 0 && (rc = fev_member_owned(h->member, parts,
						 KEYED_PARTITIONS)) !=
				  (int)(KEYED_PARTITIONS / consumers)) {
		if (rc < 0)
			return rc;
		if (bench_now_ns() > give_up)
			return -ETIMEDOUT;
		usleep(1000);
		rc = 0;
	}
	for (int i = 0; i < rc; i++)
		h->mine[parts[i]] = true;
	return rc < 0 ? rc : 0;
}

static int open_consumer(struct topic_h *h, const struct topic_priv *p,
			 unsigned c, unsigned consumers)
{
	char name[FEV_NAME_MAX + 16], g[FEV_GROUP_NAME_MAX + 1];

	switch (p->kind) {
	case FANOUT:
		snprintf(g, sizeof(g), "g%u", c);
		h->nin = 1;
		return open_one(p, p->name, FEV_CONSUMER, g, &h->in[0]);
	case QUEUES:
		snprintf(name, sizeof(name), "q%u", c);
		h->nin = 1;
		return open_one(p, name, FEV_CONSUMER, NULL, &h->in[0]);
	case KEYED:
		return join_keyed(h, p, consumers);
	}
	return -EINVAL;
}

static int topic_open(struct bench_chan *ch, enum bench_role role,
		      unsigned idx, void **out)
{
	const struct bench_cfg *c = ch->cfg;
	const struct topic_priv *p = ch->priv;
	struct topic_h *h = calloc(1, sizeof(*h));
	int rc;

	if (h == NULL)
		return -ENOMEM;
	h->kind = p->kind;
	h->cfg = c;
	h->timeout = c->wait == BENCH_SPIN ? 0 : FEV_FOREVER;
	/* The parent's end-marker sender is the process after the others. */
	h->end_sender = idx == c->producers + c->consumers;
	h->buf = malloc(c->size);
	if (h->buf == NULL)
		rc = -ENOMEM;
	else if (role == ROLE_PRODUCER)
		rc = open_producer(h, p, c->consumers);
	else
		rc = open_consumer(h, p, idx - c->producers, c->consumers);
	if (rc < 0) {
		topic_close(h);
		return rc;
	}
	*out = h;
	return 0;
}

/* --wait spin retries timeout-0 calls; block and sleep wait in libfev. */
static int retry_send(struct topic_h *h, fev_queue *q, size_t len)
{
	unsigned polls = 0;
	int rc;

	while ((rc = fev_send(q, h->buf, len, h->timeout)) == -EAGAIN &&
	       h->timeout == 0)
		bench_spin_pause(&polls);
	return rc;
}

static int keyed_send(struct topic_h *h, size_t len)
{
	unsigned polls = 0, i = (unsigned)(h->sent % KEYED_KEYS);
	int rc;

	if (h->end_sender) { /* one marker in every partition */
		for (unsigned k = 0; k < KEYED_PARTITIONS; k++) {
			rc = retry_send(h, fev_topic_partition(h->topic, k),
					len);
			if (rc < 0)
				return rc;
		}
		return 0;
	}
	while ((rc = fev_topic_send(h->topic, h->keys[i], h->key_len[i],
				    h->buf, len, h->timeout)) == -EAGAIN &&
	       h->timeout == 0)
		bench_spin_pause(&polls);
	return rc < 0 ? rc : 0;
}

static int topic_send(void *hv, unsigned n, size_t len, bench_fill_fn fill,
		      void *ctx)
{
	struct topic_h *h = hv;
	int rc = 0;

	(void)n; /* one event per call (topic_unsupported) */
	fill(ctx, h->buf, len, 0);
	if (h->kind == KEYED)
		rc = keyed_send(h, len);
	/* fev-queues: the same event into every queue, one copy each. */
	for (unsigned i = 0; h->kind != KEYED && i < h->nout && rc == 0; i++)
		rc = retry_send(h, h->out[i], len);
	h->sent++;
	return rc < 0 ? rc : 1;
}

/*
 * fev-keyed: partition k's events must come in publish order (but for a
 * flagged redelivery, which comes again after a handover); an end marker
 * of a partition this member owned at the start ends it, once.  0: give
 * the event to the run; 1: skip it.
 */
static int check_order(struct topic_h *h, uint32_t k, const fev_event *ev)
{
	enum bench_kind kind;
	unsigned producer;
	uint64_t seq, ts;

	bench_msg_read(h->buf, ev->len, &kind, &producer, &seq, &ts);
	if (kind == MSG_END) {
		if (!h->mine[k] || h->ended[k])
			return 1;
		h->ended[k] = true;
		return 0;
	}
	if (kind != MSG_DATA || (ev->flags & FEV_REDELIVERED))
		return 0;
	if (h->seen[k] && seq <= h->last[k])
		return -EPROTO;
	h->seen[k] = true;
	h->last[k] = seq;
	return 0;
}

/*
 * Take one event as a member: copied out (the copy API, as the other
 * transports), released, and order-checked.  A release refused because
 * the partition moved meanwhile (-EKEYREVOKED) is not counted: its new
 * owner gets the event, flagged, so each is counted exactly once.
 */
static ssize_t keyed_recv(struct topic_h *h)
{
	size_t cap = h->cfg->size;
	fev_event ev;
	uint32_t k;
	int rc;

	for (;;) {
		unsigned polls = 0;

		while ((rc = fev_member_acquire(h->member, &ev, &k,
						h->timeout)) == -EAGAIN &&
		       h->timeout == 0)
			bench_spin_pause(&polls);
		if (rc < 0)
			return rc;
		if (ev.len > cap) {
			fev_member_release(h->member, &ev);
			return -EMSGSIZE;
		}
		memcpy(h->buf, ev.data, ev.len);
		rc = fev_member_release(h->member, &ev);
		if (rc == -EKEYREVOKED)
			continue;
		if (rc < 0)
			return rc;
		rc = check_order(h, k, &ev);
		if (rc < 0)
			return rc;
		if (rc == 0)
			return (ssize_t)ev.len;
	}
}

static int topic_recv(void *hv, unsigned max, bench_take_fn take, void *ctx)
{
	struct topic_h *h = hv;
	unsigned polls = 0;
	ssize_t n;
	int rc;

	(void)max;
	if (h->kind == KEYED) {
		n = keyed_recv(h);
	} else {
		while ((n = fev_recv(h->in[0], h->buf, h->cfg->size, NULL,
				     h->timeout)) == -EAGAIN &&
		       h->timeout == 0)
			bench_spin_pause(&polls);
	}
	if (n < 0)
		return (int)n;
	rc = take(ctx, h->buf, (size_t)n);
	return rc < 0 ? rc : 1;
}

const struct bench_transport bench_fev_fanout = {
	.name = "fev-fanout",
	.unsupported = fanout_unsupported,
	.setup = fanout_setup,
	.teardown = topic_teardown,
	.open = topic_open,
	.send = topic_send,
	.recv = topic_recv,
	.close = topic_close,
	.end_by_parent = true,
	.end_per_consumer = copies_per_consumer,
	.copies = copies_per_consumer,
	.wait_note = bench_fev_wait_note,
};

const struct bench_transport bench_fev_queues = {
	.name = "fev-queues",
	.unsupported = fanout_unsupported,
	.setup = queues_setup,
	.teardown = topic_teardown,
	.open = topic_open,
	.send = topic_send,
	.recv = topic_recv,
	.close = topic_close,
	.end_by_parent = true,
	.end_per_consumer = copies_per_consumer,
	.copies = copies_per_consumer,
	.wait_note = bench_fev_wait_note,
};

const struct bench_transport bench_fev_keyed = {
	.name = "fev-keyed",
	.unsupported = keyed_unsupported,
	.setup = keyed_setup,
	.teardown = topic_teardown,
	.open = topic_open,
	.send = topic_send,
	.recv = topic_recv,
	.close = topic_close,
	.end_by_parent = true,
	.end_per_consumer = keyed_ends,
	.orders_itself = true,
	.wait_note = bench_fev_wait_note,
};
