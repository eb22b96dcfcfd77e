#include "out.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msgid.h"
#include "nlog.h"
#include "subject.h"

#define ACQUIRE_BATCH 64
#define IDLE_WAIT_NS (100ll * 1000 * 1000) /* nothing in flight */
#define ACK_WAIT_MS 2       /* in flight: how long to wait for an ack */
#define REOPEN_MS 500
#define RESEND_FIRST_MS 100
#define RESEND_MAX_MS 5000
#define STOP_DRAIN_MS 2000 /* at stop, for the acks in flight */

enum entry_state { PENDING, ACKED, FAILED };

struct entry {
	fev_event ev;
	enum entry_state state;
	bool too_large; /* logged and counted once */
};

struct part {
	struct fnb_out *out;
	uint32_t k;
	char queue[FEV_NAME_MAX + 16]; /* "T" or "T@k" */
	pthread_t thread;
	jsCtx *js;
	/* Shared with libnats' ack thread; under lock. */
	pthread_mutex_t lock;
	pthread_cond_t acked;
	struct entry *win; /* cap entries; [head, tail) in use, by count */
	uint64_t head, tail, hint;
	uint32_t failed; /* entries FAILED */
	/* The partition thread's own. */
	fev_queue *q;
	unsigned backoff_ms;
	int64_t resend_at_ms;
	bool complained;
};

struct fnb_out {
	struct fnb_out_conf cfg;
	char instance[FEV_INSTANCE_MAX + 1];
	struct fnb_conn *conn;
	struct fnb_out_counters c;
	pthread_t thread; /* finds the topic, runs the partitions */
	atomic_int stop; /* N1: relaxed; pthread_join() orders the rest */
	struct part *parts;
	uint32_t nparts;
};

static bool stopping(struct fnb_out *o)
{
	return atomic_load_explicit(&o->stop, memory_order_relaxed); /* N1 */
}

static int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static struct entry *at(struct part *p, uint64_t i)
{
	return &p->win[i % p->out->cfg.max_in_flight];
}

/* The window's entry of event id (scanning on from the last one found:
 * acks mostly come in publish order); NULL when it holds none. */
static struct entry *find(struct part *p, uint64_t id)
{
	uint64_t n = p->tail - p->head;
	uint64_t from = p->hint >= p->head && p->hint < p->tail ? p->hint :
								   p->head;

	for (uint64_t i = 0; i < n; i++) {
		uint64_t j = p->head + (from - p->head + i) % n;

		if (at(p, j)->ev.id == id) {
			p->hint = j + 1;
			return at(p, j);
		}
	}
	return NULL;
}

/* libnats' ack thread: one PubAck (pa) or failure (pae: an error reply,
 * or no reply within ack_timeout). */
static void on_puback(jsCtx *js, natsMsg *msg, jsPubAck *pa,
		      jsPubAckErr *pae, void *arg)
{
	struct part *p = arg;
	struct fnb_out *o = p->out;
	const char *mid = NULL;
	struct entry *e;
	uint64_t id;

	(void)js;
	if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &mid) != NATS_OK ||
	    fnb_msgid_event(mid, &id) < 0) {
		natsMsg_Destroy(msg);
		return;
	}
	pthread_mutex_lock(&p->lock);
	e = find(p, id);
	if (e != NULL && e->state == PENDING) {
		fnb_sub(&o->c.in_flight, 1);
		if (pa != NULL) {
			e->state = ACKED;
			fnb_add(&o->c.acked, 1);
			if (pa->Duplicate)
				fnb_add(&o->c.duplicates, 1);
		} else {
			e->state = FAILED;
			p->failed++;
		}
		/* Wake the thread only when it has something to do: the
		 * head can be released, a full window has room, or a
		 * failure waits to be sent again (it sleeps at most
		 * ACK_WAIT_MS otherwise). */
		if (e == at(p, p->head) || e->state == FAILED ||
		    p->tail - p->head == o->cfg.max_in_flight)
			pthread_cond_signal(&p->acked);
	}
	pthread_mutex_unlock(&p->lock);
	if (pae != NULL)
		fnb_conn_error(o->conn,
			       "[out %s] publish of %s not acknowledged: %s%s%s; "
			       "sending it again",
			       o->cfg.name, mid, natsStatus_GetText(pae->Err),
			       pae->ErrText != NULL ? ": " : "",
			       pae->ErrText != NULL ? pae->ErrText : "");
	natsMsg_Destroy(msg);
}

/* NATS header values are text lines: no NUL, CR or LF. */
static bool header_value_ok(const fev_header *h)
{
	const char *v = h->value;

	for (size_t i = 0; i < h->value_len; i++)
		if (v[i] == '\0' || v[i] == '\r' || v[i] == '\n')
			return false;
	return true;
}

/* The event's headers, 1:1, and its key as fev-key. */
static natsStatus add_headers(struct fnb_out *o, natsMsg *m,
			      const fev_event *ev)
{
	fev_header_iter it = { 0, 0 };
	fev_header h;
	natsStatus s = NATS_OK;
	char name[FEV_HEADER_NAME_MAX + 1];
	char key[FEV_KEY_MAX * 3 + 1];
	int rc;

	while (s == NATS_OK && (rc = fev_header_next(ev, &it, &h)) == 1) {
		char *value;

		if (!header_value_ok(&h)) {
			fnb_log_warn("[out %s] event %llu: header '%.*s' "
				     "holds NUL, CR or LF, which NATS headers "
				     "cannot carry; sent without it",
				     o->cfg.name,
				     (unsigned long long)ev->id,
				     (int)h.name_len, h.name);
			continue;
		}
		value = strndup(h.value, h.value_len);
		if (value == NULL)
			return NATS_NO_MEMORY;
		memcpy(name, h.name, h.name_len);
		name[h.name_len] = '\0';
		s = natsMsgHeader_Add(m, name, value);
		free(value);
	}
	if (s == NATS_OK && ev->key_len > 0 &&
	    fnb_key_header_encode(ev->key, ev->key_len, key, sizeof(key)) >= 0)
		s = natsMsgHeader_Set(m, FNB_DEFAULT_KEY_HEADER, key);
	return s;
}

/* Publish entry e (PENDING already); the status of the call. */
static natsStatus publish(struct part *p, struct entry *e)
{
	struct fnb_out *o = p->out;
	const fev_event *ev = &e->ev;
	char subject[FNB_SUBJECT_MAX * 2], mid[FNB_MSGID_MAX];
	natsMsg *m = NULL;
	jsPubOptions po;
	natsStatus s;

	if (fnb_subject_expand(o->cfg.subject, o->cfg.topic, p->k, ev->key,
			       ev->key_len, subject, sizeof(subject)) < 0)
		return NATS_INVALID_SUBJECT;
	s = natsMsg_Create(&m, subject, NULL, ev->data, (int)ev->len);
	if (s == NATS_OK)
		s = add_headers(o, m, ev);
	fnb_msgid(mid, sizeof(mid), o->instance, o->cfg.topic,
		  fev_queue_created_ns(p->q), p->k, ev->id);
	jsPubOptions_Init(&po);
	po.MsgId = mid;
	po.MaxWait = o->cfg.ack_timeout_ms;
	if (s == NATS_OK)
		s = js_PublishMsgAsync(p->js, &m, &po);
	natsMsg_Destroy(m); /* NULL once libnats took it */
	return s;
}

/* Publish (again) entry e: PENDING, or FAILED when the call failed. */
static void send_entry(struct part *p, struct entry *e, bool again)
{
	struct fnb_out *o = p->out;
	natsStatus s;
	char t[256];

	pthread_mutex_lock(&p->lock);
	if (e->state == FAILED)
		p->failed--;
	e->state = PENDING;
	/* Before the ack can come: the ack thread takes it off again. */
	fnb_add(&o->c.in_flight, 1);
	pthread_mutex_unlock(&p->lock);
	fnb_add(again ? &o->c.resent : &o->c.published, 1);
	s = publish(p, e);
	if (s == NATS_OK)
		return;
	pthread_mutex_lock(&p->lock);
	if (e->state == PENDING) { /* no ack came meanwhile */
		e->state = FAILED;
		p->failed++;
		fnb_sub(&o->c.in_flight, 1);
	}
	pthread_mutex_unlock(&p->lock);
	if (s == NATS_MAX_PAYLOAD) {
		if (!e->too_large) {
			e->too_large = true;
			fnb_add(&o->c.too_large, 1);
			fnb_conn_error(
				o->conn,
				"[out %s] event %llu of %s (%zu bytes with "
				"key and headers) is over the NATS server's "
				"max_payload (%lld bytes): it stays in fev, "
				"and the partition waits, until max_payload "
				"is raised in nats-server's config",
				o->cfg.name, (unsigned long long)e->ev.id,
				p->queue, e->ev.len,
				(long long)natsConnection_GetMaxPayload(
					o->conn->nc));
		}
		return;
	}
	fnb_conn_error(o->conn, "[out %s] cannot publish to JetStream: %s; "
				"sending again in %u ms",
		       o->cfg.name, fnb_nats_text(s, t, sizeof(t)),
		       p->backoff_ms);
}

/* Release the events acknowledged from the head on, in order. */
static void release_acked(struct part *p)
{
	uint64_t n = 0, head;

	pthread_mutex_lock(&p->lock);
	head = p->head;
	while (head + n < p->tail && at(p, head + n)->state == ACKED)
		n++;
	pthread_mutex_unlock(&p->lock);
	for (uint64_t i = 0; i < n; i++)
		/* -ESTALE: repair took this process for dead and gave the
		 * event to another member already: JetStream has it once
		 * more under the same id, so it is dropped as a duplicate. */
		fev_release(p->q, &at(p, head + i)->ev);
	if (n == 0)
		return;
	fnb_add(&p->out->c.released, n);
	pthread_mutex_lock(&p->lock);
	p->head += n;
	pthread_mutex_unlock(&p->lock);
}

/* Send the failed entries again once their backoff is over. */
static void resend_failed(struct part *p)
{
	uint32_t failed;
	uint64_t head, tail;

	pthread_mutex_lock(&p->lock);
	failed = p->failed;
	head = p->head;
	tail = p->tail;
	pthread_mutex_unlock(&p->lock);
	if (failed == 0) {
		p->backoff_ms = RESEND_FIRST_MS;
		return;
	}
	if (now_ms() < p->resend_at_ms || !fnb_conn_up(p->out->conn))
		return;
	for (uint64_t i = head; i < tail; i++) {
		struct entry *e = at(p, i);
		bool again;

		pthread_mutex_lock(&p->lock);
		again = e->state == FAILED;
		pthread_mutex_unlock(&p->lock);
		if (again)
			send_entry(p, e, true);
	}
	p->resend_at_ms = now_ms() + p->backoff_ms;
	p->backoff_ms = fnb_backoff_next(p->backoff_ms, RESEND_MAX_MS);
}

static void wait_acks(struct part *p, unsigned ms)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_nsec += (long)ms * 1000000;
	if (t.tv_nsec >= 1000000000)
		t.tv_sec++, t.tv_nsec -= 1000000000;
	pthread_mutex_lock(&p->lock);
	pthread_cond_timedwait(&p->acked, &p->lock, &t);
	pthread_mutex_unlock(&p->lock);
}

/*
 * Open the partition as the out's group, created first when absent (on
 * every partition; the others get -EEXIST); a queue has no groups
 * (-EINVAL) and is read as it is, as fev-webhooks does.
 */
int fnb_out_group_create(const struct fnb_out_conf *cfg, const char *instance)
{
	fev_group_config gc = { .struct_size = sizeof(gc),
				.start = cfg->start };
	const char *inst = instance[0] != '\0' ? instance : NULL;
	int rc = fev_group_create(cfg->topic, cfg->group, &gc, inst);

	if (rc == 0)
		fnb_log_notice("topic %s: created consumer group %s",
			       cfg->topic, cfg->group);
	return rc == -EEXIST || rc == -EINVAL ? 0 : rc;
}

static int part_open(struct part *p)
{
	struct fnb_out *o = p->out;
	fev_open_opts oo = { .struct_size = sizeof(oo),
			     .instance = o->instance, .group = o->cfg.group };
	int rc = fnb_out_group_create(&o->cfg, o->instance);

	if (rc < 0)
		return rc;
	return fev_open(p->queue, FEV_CONSUMER, &oo, &p->q);
}

/* Take what the window has room for and publish it; 0, or the error of
 * fev_acquire_batch() other than "nothing there". */
static int take_and_publish(struct part *p, uint64_t room, bool in_flight)
{
	fev_event evs[ACQUIRE_BATCH];
	int n = fev_acquire_batch(p->q, evs,
				  room < ACQUIRE_BATCH ? room : ACQUIRE_BATCH,
				  in_flight ? 0 : IDLE_WAIT_NS);

	if (n == -EAGAIN || n == -ETIMEDOUT || n == -EINTR) {
		if (in_flight)
			wait_acks(p, ACK_WAIT_MS);
		return 0;
	}
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		struct entry *e;

		pthread_mutex_lock(&p->lock);
		e = at(p, p->tail++);
		e->ev = evs[i];
		e->state = FAILED; /* send_entry() makes it PENDING */
		e->too_large = false;
		p->failed++;
		pthread_mutex_unlock(&p->lock);
		send_entry(p, e, false);
	}
	return 0;
}

static void part_reopen(struct part *p, int why)
{
	/* What it held comes back to the group, flagged, same ids. */
	if (p->q != NULL)
		fev_close(p->q);
	p->q = NULL;
	pthread_mutex_lock(&p->lock);
	for (uint64_t i = p->head; i < p->tail; i++)
		if (at(p, i)->state == PENDING)
			fnb_sub(&p->out->c.in_flight, 1);
	p->head = p->tail;
	p->failed = 0;
	pthread_mutex_unlock(&p->lock);
	if (!p->complained)
		fnb_log_warn("[out %s] %s: %s; opening it again",
			     p->out->cfg.name, p->queue, fev_strerror(why));
	p->complained = true;
}

static void part_drain(struct part *p)
{
	int64_t end = now_ms() + STOP_DRAIN_MS;
	uint64_t pending;

	do {
		release_acked(p);
		pthread_mutex_lock(&p->lock);
		pending = p->tail - p->head - p->failed;
		pthread_mutex_unlock(&p->lock);
		if (pending > 0)
			wait_acks(p, 10);
	} while (pending > 0 && now_ms() < end);
}

static void *part_main(void *arg)
{
	struct part *p = arg;
	struct fnb_out *o = p->out;
	int rc;

	p->backoff_ms = RESEND_FIRST_MS;
	while (!stopping(o)) {
		uint64_t used;

		if (p->q == NULL && (rc = part_open(p)) < 0) {
			part_reopen(p, rc);
			fnb_sleep_ms(REOPEN_MS);
			continue;
		}
		if (p->complained)
			fnb_log_notice("[out %s] %s: reading", o->cfg.name,
				       p->queue);
		p->complained = false;
		release_acked(p);
		resend_failed(p);
		pthread_mutex_lock(&p->lock);
		used = p->tail - p->head;
		pthread_mutex_unlock(&p->lock);
		/* Window full, or NATS away: read nothing more. */
		if (used == o->cfg.max_in_flight || !fnb_conn_up(o->conn)) {
			wait_acks(p, used > 0 ? ACK_WAIT_MS : 50);
			continue;
		}
		rc = take_and_publish(p, o->cfg.max_in_flight - used,
				      used > 0);
		if (rc < 0 && rc != -EBADMSG)
			part_reopen(p, rc);
	}
	if (p->q != NULL) {
		part_drain(p);
		fev_close(p->q);
	}
	return NULL;
}

static int part_start(struct fnb_out *o, struct part *p, uint32_t k)
{
	jsOptions jo;
	natsStatus s;

	p->out = o;
	p->k = k;
	if (k == 0)
		snprintf(p->queue, sizeof(p->queue), "%s", o->cfg.topic);
	else
		snprintf(p->queue, sizeof(p->queue), "%s@%u", o->cfg.topic,
			 k);
	p->win = calloc(o->cfg.max_in_flight, sizeof(*p->win));
	if (p->win == NULL)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->acked, NULL);
	jsOptions_Init(&jo);
	jo.PublishAsync.AckHandler = on_puback;
	jo.PublishAsync.AckHandlerClosure = p;
	/* The window bounds what is in flight; libnats never stalls. */
	jo.PublishAsync.MaxPending = (int64_t)o->cfg.max_in_flight + 1;
	s = natsConnection_JetStream(&p->js, o->conn->nc, &jo);
	if (s != NATS_OK)
		return -ENOMEM;
	return -pthread_create(&p->thread, NULL, part_main, p);
}

/* The topic's partitions (a queue: 1), waiting for it to exist. */
static uint32_t wait_for_topic(struct fnb_out *o)
{
	bool told = false;

	while (!stopping(o)) {
		int n = fev_topic_stats(o->cfg.topic, o->instance, NULL, 0);

		if (n > 0)
			return (uint32_t)n;
		if (!told)
			fnb_conn_error(o->conn,
				       "[out %s] topic %s: %s; waiting for it "
				       "(create it with fev topic create)",
				       o->cfg.name, o->cfg.topic,
				       fev_strerror(n));
		told = true;
		fnb_sleep_ms(REOPEN_MS);
	}
	return 0;
}

static void *out_main(void *arg)
{
	struct fnb_out *o = arg;
	uint32_t n = wait_for_topic(o);
	uint32_t started = 0;

	if (n > 0)
		o->parts = calloc(n, sizeof(*o->parts));
	for (; o->parts != NULL && started < n; started++)
		if (part_start(o, &o->parts[started], started) < 0) {
			fnb_conn_error(o->conn, "[out %s] cannot start a "
						"partition thread",
				       o->cfg.name);
			break;
		}
	o->nparts = started;
	if (n > 0)
		fnb_log_info("[out %s] %s: %u partitions into %s",
			     o->cfg.name, o->cfg.topic, started,
			     o->cfg.subject);
	for (uint32_t k = 0; k < started; k++) {
		struct part *p = &o->parts[k];

		pthread_join(p->thread, NULL);
		jsCtx_Destroy(p->js);
		pthread_cond_destroy(&p->acked);
		pthread_mutex_destroy(&p->lock);
		free(p->win);
	}
	free(o->parts);
	return NULL;
}

int fnb_out_start(const struct fnb_out_conf *cfg, const char *instance,
		  struct fnb_conn *conn, struct fnb_out **out)
{
	struct fnb_out *o = calloc(1, sizeof(*o));
	int rc;

	if (o == NULL)
		return -ENOMEM;
	o->cfg = *cfg;
	snprintf(o->instance, sizeof(o->instance), "%s",
		 instance[0] != '\0' ? instance : fev_default_instance());
	o->conn = conn;
	rc = -pthread_create(&o->thread, NULL, out_main, o);
	if (rc < 0) {
		free(o);
		return rc;
	}
	*out = o;
	return 0;
}

void fnb_out_stop(struct fnb_out *o)
{
	atomic_store_explicit(&o->stop, 1, memory_order_relaxed); /* N1 */
	pthread_join(o->thread, NULL);
}

void fnb_out_free(struct fnb_out *o)
{
	free(o);
}

struct fnb_out_counters *fnb_out_counters(struct fnb_out *o)
{
	return &o->c;
}
