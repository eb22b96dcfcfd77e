#include "in.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nlog.h"
#include "subject.h"

#define FETCH_WAIT_MS 500
#define SEND_WAIT_NS (200ll * 1000 * 1000) /* a full topic: try again */
#define IN_PROGRESS_EVERY 5                /* sends, ~1 s */
#define RETRY_FIRST_MS 250
#define RETRY_MAX_MS 5000

struct fnb_in {
	struct fnb_in_conf cfg;
	char instance[FEV_INSTANCE_MAX + 1];
	struct fnb_conn *conn;
	struct fnb_in_counters c;
	pthread_t thread;
	atomic_int stop; /* N1: relaxed; pthread_join() orders the rest */
	/* the thread's own */
	jsCtx *js;
	natsSubscription *sub;
	fev_topic *t;
	unsigned backoff_ms;
	/* The highest stream sequence known delivered: the consumer's at
	 * subscribe, then each one written.  A consumer's first deliveries
	 * come in stream order, so a message at or below it with
	 * NumDelivered 1 is one a killed nats-server delivered before and
	 * forgot (its consumer state not yet written): flagged too. */
	uint64_t seen_seq;
};

static bool stopping(struct fnb_in *in)
{
	return atomic_load_explicit(&in->stop, memory_order_relaxed); /* N1 */
}

static void back_off(struct fnb_in *in)
{
	fnb_sleep_ms(in->backoff_ms);
	in->backoff_ms = fnb_backoff_next(in->backoff_ms, RETRY_MAX_MS);
}

/* The durable consumer, created (explicit acks, the filter) when the
 * stream has none of that name; then bound to it. */
static int subscribe(struct fnb_in *in)
{
	jsConsumerInfo *ci = NULL;
	jsConsumerConfig cc;
	jsSubOptions so;
	jsErrCode jerr = 0;
	natsStatus s;
	char t[256];

	s = js_GetConsumerInfo(&ci, in->js, in->cfg.stream, in->cfg.consumer,
			       NULL, &jerr);
	if (s == NATS_NOT_FOUND && jerr == JSConsumerNotFoundErr) {
		jsConsumerConfig_Init(&cc);
		cc.Durable = in->cfg.consumer;
		cc.AckPolicy = js_AckExplicit;
		cc.AckWait = (int64_t)in->cfg.ack_wait_ms * 1000000;
		if (in->cfg.filter[0] != '\0')
			cc.FilterSubject = in->cfg.filter;
		s = js_AddConsumer(&ci, in->js, in->cfg.stream, &cc, NULL,
				   &jerr);
		if (s == NATS_OK)
			fnb_log_notice("[in %s] created durable consumer %s on "
				       "stream %s",
				       in->cfg.name, in->cfg.consumer,
				       in->cfg.stream);
	}
	if (s == NATS_OK && ci->Delivered.Stream > in->seen_seq)
		in->seen_seq = ci->Delivered.Stream;
	jsConsumerInfo_Destroy(ci);
	if (s == NATS_OK) {
		jsSubOptions_Init(&so);
		so.Stream = in->cfg.stream;
		so.Consumer = in->cfg.consumer;
		s = js_PullSubscribe(&in->sub, in->js, NULL, in->cfg.consumer,
				     NULL, &so, &jerr);
	}
	if (s == NATS_OK)
		return 0;
	if (jerr == JSStreamNotFoundErr)
		fnb_conn_error(in->conn,
			       "[in %s] stream %s does not exist: create it "
			       "(nats stream add, or a [stream %s] section); "
			       "trying again in %u ms",
			       in->cfg.name, in->cfg.stream, in->cfg.stream,
			       in->backoff_ms);
	else
		fnb_conn_error(in->conn,
			       "[in %s] cannot read consumer %s of stream %s: "
			       "%s (JetStream error %d); trying again in %u ms",
			       in->cfg.name, in->cfg.consumer, in->cfg.stream,
			       fnb_nats_text(s, t, sizeof(t)), (int)jerr,
			       in->backoff_ms);
	return -EIO;
}

static int topic_open(struct fnb_in *in)
{
	fev_open_opts oo = { .struct_size = sizeof(oo),
			     .instance = in->instance };
	int rc = fev_topic_open(in->cfg.topic, FEV_PRODUCER, &oo, &in->t);

	if (rc < 0)
		fnb_conn_error(in->conn,
			       "[in %s] topic %s: %s; trying again in %u ms",
			       in->cfg.name, in->cfg.topic, fev_strerror(rc),
			       in->backoff_ms);
	return rc;
}

/* The message's key: from the subject token, else the key header. */
static ssize_t key_of(struct fnb_in *in, natsMsg *m, void *key)
{
	const char *v;

	if (in->cfg.key_token > 0)
		return fnb_subject_key(natsMsg_GetSubject(m),
				       in->cfg.key_token, key, FEV_KEY_MAX);
	if (natsMsgHeader_Get(m, in->cfg.key_header, &v) != NATS_OK)
		return 0;
	return fnb_key_header_decode(v, key, FEV_KEY_MAX);
}

/*
 * The message's headers as fev headers (names that are not fev header
 * names are left out, with a warning; the key header is the key).  *hs is
 * the caller's to free; values point into m.
 */
static int headers_of(struct fnb_in *in, natsMsg *m, fev_header **hs,
		      size_t *n)
{
	const char **keys = NULL;
	int nkeys = 0;
	size_t cap = 0;

	*hs = NULL;
	*n = 0;
	if (natsMsgHeader_Keys(m, &keys, &nkeys) != NATS_OK)
		return 0;
	for (int i = 0; i < nkeys; i++) {
		const char **vals = NULL;
		int nv = 0;
		fev_event none = { 0 };
		const void *x;
		size_t xl;

		if (in->cfg.key_token == 0 &&
		    strcmp(keys[i], in->cfg.key_header) == 0)
			continue;
		if (fev_header_get(&none, keys[i], &x, &xl) != -ENOENT) {
			fnb_log_warn("[in %s] header '%s' is not a fev header "
				     "name (an HTTP token); left out",
				     in->cfg.name, keys[i]);
			continue;
		}
		if (natsMsgHeader_Values(m, keys[i], &vals, &nv) != NATS_OK)
			continue;
		for (int j = 0; j < nv; j++) {
			if (*n == cap) {
				fev_header *g;

				cap = cap ? cap * 2 : 8;
				g = realloc(*hs, cap * sizeof(*g));
				if (g == NULL) {
					free((void *)vals);
					free((void *)keys);
					return -ENOMEM;
				}
				*hs = g;
			}
			(*hs)[(*n)++] = (fev_header){
				.name = keys[i], .value = vals[j],
				.value_len = strlen(vals[j]) };
		}
		free((void *)vals);
	}
	/* The names and values stay in m; the arrays are ours. */
	free((void *)keys);
	return 0;
}

static void term(struct fnb_in *in, natsMsg *m, const char *why)
{
	natsMsg_Term(m, NULL);
	fnb_add(&in->c.terminated, 1);
	fnb_conn_error(in->conn,
		       "[in %s] message on %s (%d bytes) can never be written "
		       "to topic %s: %s; terminated (Term), not retried",
		       in->cfg.name, natsMsg_GetSubject(m),
		       natsMsg_GetDataLength(m), in->cfg.topic, why);
}

/* Write one message into the topic, then ack it; false when the topic
 * went away (the message is left to JetStream's redelivery). */
static bool bridge_one(struct fnb_in *in, natsMsg *m)
{
	unsigned char key[FEV_KEY_MAX];
	jsMsgMetaData *md = NULL;
	fev_header *hs;
	size_t nh;
	ssize_t kl = key_of(in, m, key);
	fev_send_opts o = { .struct_size = sizeof(o) };
	int rc, tries = 0;
	uint64_t seq = 0;

	if (kl < 0) {
		term(in, m, "its key (subject token or key header) is not "
			    "a key of at most 255 bytes");
		return true;
	}
	if (headers_of(in, m, &hs, &nh) < 0)
		return false;
	if (natsMsg_GetMetaData(&md, m) == NATS_OK) {
		if (md->NumDelivered > 1 || md->Sequence.Stream <= in->seen_seq)
			o.flags = FEV_REDELIVERED;
		seq = md->Sequence.Stream;
	}
	jsMsgMetaData_Destroy(md);
	o.key = kl > 0 ? key : NULL;
	o.key_len = (size_t)kl;
	o.headers = hs;
	o.n_headers = nh;
	while ((rc = fev_topic_send_ex(in->t, &o, natsMsg_GetData(m),
				       (size_t)natsMsg_GetDataLength(m),
				       SEND_WAIT_NS)) == -ETIMEDOUT ||
	       rc == -EAGAIN) {
		/* The topic is full and blocks: tell JetStream we still
		 * work on it, so its ack_wait does not redeliver it. */
		if (++tries % IN_PROGRESS_EVERY == 0) {
			natsMsg_InProgress(m, NULL);
			fnb_add(&in->c.in_progress, 1);
		}
		if (stopping(in))
			break;
	}
	free(hs);
	if (rc >= 0) {
		if (seq > in->seen_seq)
			in->seen_seq = seq;
		fnb_add(&in->c.committed, 1);
		if (o.flags & FEV_REDELIVERED)
			fnb_add(&in->c.redelivered, 1);
		natsMsg_Ack(m, NULL);
		return true;
	}
	if (rc == -EMSGSIZE) {
		term(in, m, "over the topic's max_event with its key and "
			    "headers");
		return true;
	}
	natsMsg_Nak(m, NULL); /* stopping, or the topic is gone */
	if (rc != -ETIMEDOUT && rc != -EAGAIN) {
		fnb_conn_error(in->conn, "[in %s] topic %s: %s; opening it "
					 "again",
			       in->cfg.name, in->cfg.topic, fev_strerror(rc));
		return false;
	}
	return true;
}

static void fetch_and_bridge(struct fnb_in *in)
{
	natsMsgList list = { 0 };
	jsErrCode jerr = 0;
	natsStatus s;
	int i;

	s = natsSubscription_Fetch(&list, in->sub, (int)in->cfg.batch,
				   FETCH_WAIT_MS, &jerr);
	if (s == NATS_TIMEOUT)
		return;
	if (s != NATS_OK) {
		char t[256];

		if (fnb_conn_up(in->conn))
			fnb_conn_error(in->conn,
				       "[in %s] fetch from %s failed: %s; "
				       "subscribing again",
				       in->cfg.name, in->cfg.consumer,
				       fnb_nats_text(s, t, sizeof(t)));
		natsSubscription_Destroy(in->sub);
		in->sub = NULL;
		back_off(in);
		return;
	}
	fnb_add(&in->c.fetched, (uint64_t)list.Count);
	for (i = 0; i < list.Count && !stopping(in); i++)
		if (!bridge_one(in, list.Msgs[i])) {
			fev_topic_close(in->t);
			in->t = NULL;
			break;
		}
	/* What was not written is left to JetStream: Nak, delivered again. */
	for (; i < list.Count; i++)
		natsMsg_Nak(list.Msgs[i], NULL);
	natsMsgList_Destroy(&list);
	in->backoff_ms = RETRY_FIRST_MS;
}

static void *in_main(void *arg)
{
	struct fnb_in *in = arg;

	in->backoff_ms = RETRY_FIRST_MS;
	while (!stopping(in)) {
		if (!fnb_conn_up(in->conn)) {
			fnb_sleep_ms(50);
			continue;
		}
		if (in->t == NULL && topic_open(in) < 0) {
			back_off(in);
			continue;
		}
		if (in->sub == NULL && subscribe(in) < 0) {
			back_off(in);
			continue;
		}
		fetch_and_bridge(in);
	}
	if (in->sub != NULL)
		natsSubscription_Destroy(in->sub);
	if (in->t != NULL)
		fev_topic_close(in->t);
	return NULL;
}

int fnb_in_start(const struct fnb_in_conf *cfg, const char *instance,
		 struct fnb_conn *conn, struct fnb_in **out)
{
	struct fnb_in *in = calloc(1, sizeof(*in));
	int rc;

	if (in == NULL)
		return -ENOMEM;
	in->cfg = *cfg;
	snprintf(in->instance, sizeof(in->instance), "%s",
		 instance[0] != '\0' ? instance : fev_default_instance());
	in->conn = conn;
	if (natsConnection_JetStream(&in->js, conn->nc, NULL) != NATS_OK) {
		free(in);
		return -ENOMEM;
	}
	rc = -pthread_create(&in->thread, NULL, in_main, in);
	if (rc < 0) {
		jsCtx_Destroy(in->js);
		free(in);
		return rc;
	}
	*out = in;
	return 0;
}

void fnb_in_stop(struct fnb_in *in)
{
	atomic_store_explicit(&in->stop, 1, memory_order_relaxed); /* N1 */
	pthread_join(in->thread, NULL);
	jsCtx_Destroy(in->js);
	in->js = NULL;
}

void fnb_in_free(struct fnb_in *in)
{
	free(in);
}

struct fnb_in_counters *fnb_in_counters(struct fnb_in *in)
{
	return &in->c;
}
