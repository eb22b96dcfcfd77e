#include "engine.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "address.h"
#include "delivered.h"
#include "endpoint.h"
#include "wlog.h"
#include "request.h"
#include "schedule.h"
#include "source.h"
#include "store.h"

#define TICK_MS 1000            /* endpoint table, counters */
#define PRUNE_EVERY_MS (60 * 1000)
#define DUE_BATCH 256           /* stored retries taken per scan */
#define RATE_WAIT_MS 10         /* look again when a rate limit held back */
#define HELD_PER_ENDPOINT 2     /* ring events held: 2 x max_in_flight */
/* fev_wait_any() sleeps through a signal, and stop and reload are flags
 * looked at between passes: how long a stop may wait for an idle engine. */
#define SIGNAL_LOOK_MS 200

struct fwh_delivery {
	struct fwh_delivery *next; /* in the endpoint's pending list */
	struct fwh_delivery *fl_prev, *fl_next; /* in flight (engine list) */
	struct fwh_endpoint *ep;
	struct fwh_event *event; /* the ring still holds it, or NULL */
	int64_t row;             /* in the store; 0: not (yet) stored */
	bool ordered;            /* its key's order is its row's */
	char wid[FWH_WID_MAX];
	const void *body;
	size_t len;
	void *body_copy; /* a stored delivery's own copy of the body */
	char *headers;
	void *key;
	size_t key_len;
	bool has_key;
	uint64_t event_ts_ns;
	int attempts;
	CURL *easy;
	struct curl_slist *hdrs;
	char errbuf[CURL_ERROR_SIZE];
	int64_t retry_after_ms;
	int64_t started_us;
	bool refused_private;
};

struct fwh_engine {
	struct fwh_config cfg;
	const char *instance;
	struct fwh_store *st;
	CURLM *multi;
	struct fwh_endpoint *eps;
	size_t neps;
	struct fwh_source **srcs;
	size_t nsrcs;
	struct curl_waitfd *waits; /* the sources' descriptors, polled */
	/* events whose every delivery decided, released after the commit */
	struct fwh_event **unref;
	size_t nunref, capunref;
	bool durable; /* the open transaction must be fsync'd */
	bool in_tx;
	bool scan_due;     /* a stored retry may have become startable */
	bool partitions_pending; /* a topic was not there: sources_grow() */
	bool due_skipped;  /* take_due() left due rows for want of room */
	int64_t next_due_ms; /* the earliest startable retry */
	int64_t next_tick_ms, next_prune_ms;
	struct fwh_delivery *flight; /* every request in the multi handle */
	struct fwh_delivered delivered; /* attempt rows not yet written */
};

static int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int64_t mono_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/* ---- transactions: one per loop pass ----------------------------------- */

static void tx_begin(struct fwh_engine *e)
{
	if (e->in_tx)
		return;
	if (fwh_store_begin(e->st) < 0)
		fwh_log_err("store: %s", fwh_store_error(e->st));
	e->in_tx = true;
}

static void event_unref(struct fwh_engine *e, struct fwh_event *ev);

/* The kept delivered attempts into the transaction (opened if need be);
 * their events are released after its commit. */
static void delivered_write(struct fwh_engine *e)
{
	if (e->delivered.n == 0)
		return;
	tx_begin(e);
	if (fwh_delivered_write(&e->delivered, e->st) < 0)
		fwh_log_err("store: recording delivered attempts: %s",
			    fwh_store_error(e->st));
	for (size_t i = 0; i < e->delivered.n; i++)
		event_unref(e, e->delivered.a[i].event);
	e->delivered.n = 0;
}

/* Commit, then let go of the ring events the commit made safe.  Kept
 * delivered attempts ride along in a transaction that is open anyway. */
static void tx_commit(struct fwh_engine *e)
{
	if (e->in_tx)
		delivered_write(e);
	if (e->in_tx && fwh_store_commit(e->st, e->durable) < 0) {
		/* Nothing is released: the events stay held and come back
		 * as redeliveries if this process ends. */
		fwh_log_err("store: commit failed: %s; holding %zu events",
			    fwh_store_error(e->st), e->nunref);
		fwh_store_rollback(e->st);
		e->nunref = 0;
	}
	e->in_tx = false;
	e->durable = false;
	for (size_t i = 0; i < e->nunref; i++)
		fwh_source_done(e->unref[i]);
	e->nunref = 0;
}

static void event_unref(struct fwh_engine *e, struct fwh_event *ev)
{
	if (ev == NULL || --ev->refs > 0)
		return;
	if (e->nunref == e->capunref) {
		size_t cap = e->capunref ? 2 * e->capunref : 64;
		struct fwh_event **g = realloc(e->unref, cap * sizeof(*g));

		if (g == NULL) { /* keep it held: redelivered later */
			fwh_log_err("out of memory releasing an event");
			return;
		}
		e->unref = g;
		e->capunref = cap;
	}
	e->unref[e->nunref++] = ev;
}

/* ---- deliveries --------------------------------------------------------- */

static void delivery_free(struct fwh_delivery *d)
{
	if (d->easy != NULL)
		curl_easy_cleanup(d->easy);
	curl_slist_free_all(d->hdrs);
	free(d->body_copy);
	free(d->headers);
	free(d->key);
	free(d);
}

static void pending_push(struct fwh_endpoint *ep, struct fwh_delivery *d)
{
	d->next = NULL;
	*ep->pending_tail = d;
	ep->pending_tail = &d->next;
	ep->npending++;
}

static struct fwh_delivery *pending_pop(struct fwh_endpoint *ep)
{
	struct fwh_delivery *d = ep->pending;

	if (d == NULL)
		return NULL;
	ep->pending = d->next;
	if (ep->pending == NULL)
		ep->pending_tail = &ep->pending;
	ep->npending--;
	return d;
}

/* A delivery's row, for the store: the body is still the ring's (or the
 * stored copy's). */
static void row_of(const struct fwh_delivery *d, int state,
		   struct fwh_row *r)
{
	memset(r, 0, sizeof(*r));
	r->endpoint = d->ep->conf->name;
	memcpy(r->wid, d->wid, sizeof(r->wid));
	r->ordered = d->ordered;
	r->state = state;
	r->attempts = d->attempts;
	r->created_ms = now_ms();
	r->event_ts_ns = d->event_ts_ns;
	r->key = d->has_key ? d->key : NULL;
	r->key_len = d->key_len;
	r->headers = d->headers;
	r->payload = d->body;
	r->len = d->len;
}

/* Write the delivery's row as state (insert it the first time): 0, or
 * -errno with the reason logged. */
static int store_as(struct fwh_engine *e, struct fwh_delivery *d, int state,
		    int64_t at_ms, int status, const char *error)
{
	struct fwh_row r;
	int rc;

	tx_begin(e);
	if (d->row != 0) {
		rc = fwh_store_update(e->st, d->row, state, d->attempts, at_ms,
				      status, error);
	} else {
		row_of(d, state, &r);
		r.next_at_ms = at_ms;
		r.last_status = status;
		r.last_error = error;
		rc = fwh_store_insert(e->st, &r);
		if (rc == 0)
			d->row = r.id;
		else if (rc == -EEXIST) /* stored already: it is there */
			rc = 0;
	}
	if (rc < 0)
		fwh_log_err("endpoint %s: could not store %s: %s",
			    d->ep->conf->name, d->wid, fwh_store_error(e->st));
	return rc;
}

/*
 * The delivery waits in the store (fsync'd) and lets go of the ring.  This
 * is where an event whose first attempt failed (or could not start) is
 * first written: before its release, which follows the commit.  If it
 * cannot be written, the event stays held and comes back after a restart.
 */
static void defer(struct fwh_engine *e, struct fwh_delivery *d, int state,
		  int64_t at_ms, int status, const char *error)
{
	if (store_as(e, d, state, at_ms, status, error) == 0) {
		e->durable = true;
		event_unref(e, d->event);
	} else if (d->event != NULL) {
		d->event = NULL; /* its reference is never given back */
	}
	if (at_ms < e->next_due_ms && state == FWH_RETRYING)
		e->next_due_ms = at_ms;
	delivery_free(d);
}

static curl_socket_t open_socket(void *arg, curlsocktype purpose,
				 struct curl_sockaddr *a)
{
	struct fwh_delivery *d = arg;

	(void)purpose;
	if (!d->ep->conf->allow_private && fwh_address_private(&a->addr)) {
		d->refused_private = true;
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static size_t on_header(char *buf, size_t size, size_t n, void *arg)
{
	struct fwh_delivery *d = arg;
	size_t len = size * n;
	static const char name[] = "retry-after:";

	if (len > sizeof(name) && len < 256 &&
	    strncasecmp(buf, name, sizeof(name) - 1) == 0) {
		char v[256];

		memcpy(v, buf + sizeof(name) - 1, len - (sizeof(name) - 1));
		v[len - (sizeof(name) - 1)] = '\0';
		d->retry_after_ms = fwh_retry_after_ms(v, now_ms());
	}
	return len;
}

/* The response body is not needed: read and dropped (bounded by timeout). */
static size_t on_body(char *buf, size_t size, size_t n, void *arg)
{
	(void)buf;
	(void)arg;
	return size * n;
}

static int start(struct fwh_engine *e, struct fwh_delivery *d)
{
	const struct fwh_endpoint_conf *c = d->ep->conf;
	CURL *h = d->easy ? d->easy : curl_easy_init();

	if (h == NULL)
		return -ENOMEM;
	d->easy = h;
	curl_slist_free_all(d->hdrs);
	d->hdrs = fwh_request_headers(d->headers, d->wid, now_ms() / 1000,
				      c->secrets, c->nsecrets, d->body,
				      d->len);
	if (d->hdrs == NULL)
		return -ENOMEM;
	d->errbuf[0] = '\0';
	d->retry_after_ms = -1;
	d->refused_private = false;
	curl_easy_setopt(h, CURLOPT_URL, c->url);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, d->body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)d->len);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, d->hdrs);
	curl_easy_setopt(h, CURLOPT_USERAGENT, FWH_USER_AGENT);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, d->errbuf);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, d);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, d);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_PRIVATE, d);
	if (curl_multi_add_handle(e->multi, h) != CURLM_OK)
		return -ENOMEM;
	d->attempts++;
	d->started_us = mono_us();
	d->ep->in_flight++;
	d->fl_prev = NULL;
	d->fl_next = e->flight;
	if (e->flight != NULL)
		e->flight->fl_prev = d;
	e->flight = d;
	return 0;
}

/* May this (ordered) delivery go before an older one of its key? */
static bool key_blocked(struct fwh_engine *e, const struct fwh_delivery *d)
{
	if (!d->ordered || !d->has_key)
		return false;
	return fwh_store_key_busy(e->st, d->ep->conf->name, d->key,
				  d->key_len, d->row) != 0;
}

/* Start what each endpoint has waiting, as its limits allow. */
static bool start_pending(struct fwh_engine *e, int64_t now)
{
	bool rate_held = false;

	for (size_t i = 0; i < e->neps; i++) {
		struct fwh_endpoint *ep = &e->eps[i];

		while (ep->pending != NULL) {
			struct fwh_delivery *d;

			if (fwh_endpoint_paused(ep, now)) {
				d = pending_pop(ep);
				defer(e, d, FWH_RETRYING,
				      ep->throttle_until_ms > now ?
					      ep->throttle_until_ms :
					      now,
				      0, ep->disabled ? "endpoint disabled" :
							"endpoint throttled");
				continue;
			}
			if (ep->in_flight >= (int)ep->conf->max_in_flight)
				break;
			if (!fwh_endpoint_take_token(ep, now)) {
				rate_held = true;
				break;
			}
			d = pending_pop(ep);
			if (key_blocked(e, d)) {
				/* The older event of its key goes first. */
				defer(e, d, FWH_RETRYING, now, 0,
				      "waiting for an older event of its key");
				continue;
			}
			if (start(e, d) < 0) {
				defer(e, d, FWH_RETRYING, now, 0,
				      "out of memory");
				fwh_log_err("endpoint %s: out of memory",
					    ep->conf->name);
			}
		}
	}
	return rate_held;
}

/* ---- taking events from the sources ------------------------------------- */

/*
 * A delivery of ring event ev to ep, in memory: nothing is written before
 * its first attempt (its webhook-id is the event's, so a redelivery after
 * a crash sends the same one), except on an ordered endpoint, where the
 * row's id is its place in its key's order and must come before any later
 * event of the key is stored.
 */
static struct fwh_delivery *delivery_for_event(struct fwh_engine *e,
					       struct fwh_endpoint *ep,
					       struct fwh_event *ev,
					       const struct fwh_event_meta *m,
					       const char *wid)
{
	struct fwh_delivery *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	d->ep = ep;
	d->event = ev;
	memcpy(d->wid, wid, sizeof(d->wid));
	d->body = ev->ev.data;
	d->len = ev->ev.len;
	d->event_ts_ns = ev->ev.ts_ns;
	d->ordered = ep->conf->ordered;
	d->headers = fwh_request_static_headers(
		e->instance, ep->conf->topic, &ev->ev, wid);
	if (m->key != NULL) {
		d->key = malloc(m->key_len ? m->key_len : 1);
		if (d->key != NULL)
			memcpy(d->key, m->key, m->key_len);
		d->key_len = m->key_len;
		d->has_key = true;
	}
	if (d->headers == NULL || (m->key != NULL && d->key == NULL)) {
		delivery_free(d);
		return NULL;
	}
	if (d->ordered && d->has_key &&
	    store_as(e, d, FWH_INFLIGHT, 0, 0, NULL) < 0) {
		delivery_free(d);
		return NULL;
	}
	return d;
}

/* Does the endpoint read what src consumes (its topic, as its group)? */
static bool reads(const struct fwh_endpoint_conf *c,
		  const struct fwh_source *src)
{
	return strcmp(c->topic, fwh_source_topic(src)) == 0 &&
	       strcmp(c->group, fwh_source_group(src)) == 0;
}

static void take_event(struct fwh_engine *e, struct fwh_source *src,
		       struct fwh_event *ev)
{
	const char *queue = fwh_source_queue(src);
	struct fwh_event_meta m;
	char wid[FWH_WID_MAX];

	fwh_event_meta_of(&ev->ev, &m);
	fwh_webhook_id(e->instance, queue, ev->created_ns, ev->ev.id, wid);
	ev->refs = 1; /* held by this loop until every endpoint has it */
	for (size_t i = 0; i < e->neps; i++) {
		struct fwh_endpoint *ep = &e->eps[i];
		struct fwh_delivery *d;

		if (!reads(ep->conf, src) ||
		    !fwh_endpoint_wants(ep->conf, m.type, m.type_len))
			continue;
		/* A predecessor stored it (the store delivers it) or
		 * delivered it before dying; else it is sent, again perhaps,
		 * with the same webhook-id. */
		if ((ev->ev.flags & FEV_REDELIVERED) &&
		    fwh_store_knows(e->st, ep->conf->name, wid) == 1)
			continue;
		d = delivery_for_event(e, ep, ev, &m, wid);
		if (d == NULL) {
			/* Keep the event held (refs never reaches 0): the
			 * ring gives it again after a restart. */
			ev->refs++;
			fwh_log_err("endpoint %s: could not record event %s",
				    ep->conf->name, wid);
			continue;
		}
		ev->refs++;
		pending_push(ep, d);
	}
	event_unref(e, ev);
}

/* The events of each source (arm: fwh_source_arm()); any? */
static bool take_events(struct fwh_engine *e, bool arm)
{
	bool any = false;

	for (size_t i = 0; i < e->nsrcs; i++) {
		struct fwh_source *src = e->srcs[i];
		struct fwh_event *ev = arm ? fwh_source_arm(src) :
					     fwh_source_take(src),
				 *next;

		for (; ev != NULL; ev = next, any = true) {
			next = ev->next;
			take_event(e, src, ev);
		}
	}
	return any;
}

/* ---- stored retries ----------------------------------------------------- */

static struct fwh_endpoint *endpoint_named(struct fwh_engine *e,
					   const char *name)
{
	for (size_t i = 0; i < e->neps; i++)
		if (strcmp(e->eps[i].conf->name, name) == 0)
			return &e->eps[i];
	return NULL;
}

static void *dup_bytes(const void *p, size_t len)
{
	void *c = malloc(len ? len : 1);

	if (c != NULL && len > 0)
		memcpy(c, p, len);
	return c;
}

static int take_row(void *arg, const struct fwh_row *r)
{
	struct fwh_engine *e = arg;
	struct fwh_endpoint *ep = endpoint_named(e, r->endpoint);
	struct fwh_delivery *d;
	int64_t now = now_ms();

	if (ep == NULL)
		return 0; /* an endpoint no longer configured: kept */
	if (fwh_endpoint_paused(ep, now) ||
	    ep->in_flight + ep->npending >= (int)ep->conf->max_in_flight) {
		e->due_skipped = true; /* looked at again when room frees */
		return 0;
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return -ENOMEM;
	d->ep = ep;
	d->row = r->id;
	memcpy(d->wid, r->wid, sizeof(d->wid));
	d->body_copy = dup_bytes(r->payload, r->len);
	d->body = d->body_copy;
	d->len = r->len;
	d->headers = strdup(r->headers ? r->headers : "");
	d->event_ts_ns = r->event_ts_ns;
	d->attempts = r->attempts;
	d->ordered = r->ordered;
	if (r->key != NULL) {
		d->key = dup_bytes(r->key, r->key_len);
		d->key_len = r->key_len;
		d->has_key = true;
	}
	if (d->body_copy == NULL || d->headers == NULL ||
	    (r->key != NULL && d->key == NULL)) {
		delivery_free(d);
		return -ENOMEM;
	}
	if (fwh_store_update(e->st, d->row, FWH_SENDING, d->attempts,
			     r->next_at_ms, 0, NULL) < 0) {
		delivery_free(d);
		return -EIO;
	}
	pending_push(ep, d);
	return 1;
}

static void take_due(struct fwh_engine *e, int64_t now)
{
	int n;

	tx_begin(e);
	e->due_skipped = false;
	n = fwh_store_take_due(e->st, now, DUE_BATCH, take_row, e);
	if (n < 0)
		fwh_log_err("store: taking due retries: %s",
			    fwh_store_error(e->st));
	e->scan_due = n == DUE_BATCH;
	/* Rows left for want of room wait for a request to finish (reap()
	 * sets scan_due), not for the clock: looking again at once would
	 * spin. */
	e->next_due_ms = e->due_skipped ? INT64_MAX : fwh_store_next_due(e->st);
}

/* ---- outcomes ----------------------------------------------------------- */

static void endpoint_disable(struct fwh_engine *e, struct fwh_endpoint *ep,
			     const char *reason)
{
	struct fwh_ep_state s = { .disabled = true,
				  .failing_since_ms = ep->failing_since_ms };

	if (ep->disabled)
		return;
	ep->disabled = true;
	snprintf(s.reason, sizeof(s.reason), "%s", reason);
	tx_begin(e);
	fwh_store_ep_set(e->st, ep->conf->name, &s);
	fwh_log_err("endpoint %s DISABLED: %s; its deliveries wait in the "
		    "store: 'fev-webhooks ctl enable %s' sends them",
		    ep->conf->name, reason, ep->conf->name);
}

static void failing(struct fwh_engine *e, struct fwh_endpoint *ep,
		    int64_t now)
{
	if (ep->failing_since_ms == 0) {
		ep->failing_since_ms = now;
		tx_begin(e);
		fwh_store_ep_failing(e->st, ep->conf->name, now);
	} else if ((uint64_t)(now - ep->failing_since_ms) >=
		   e->cfg.disable_after_ms) {
		endpoint_disable(e, ep, "every attempt failed for "
					"disable_after");
	}
}

static void flight_remove(struct fwh_engine *e, struct fwh_delivery *d)
{
	if (d->fl_prev != NULL)
		d->fl_prev->fl_next = d->fl_next;
	else
		e->flight = d->fl_next;
	if (d->fl_next != NULL)
		d->fl_next->fl_prev = d->fl_prev;
}

static void describe(const struct fwh_delivery *d, CURLcode res, int status,
		     char *out, size_t len)
{
	if (d->refused_private)
		snprintf(out, len, "refused: the address is loopback, "
				   "link-local or private (allow_private = "
				   "true permits it)");
	else if (res != CURLE_OK)
		snprintf(out, len, "%s", d->errbuf[0] ? d->errbuf :
						       curl_easy_strerror(res));
	else
		snprintf(out, len, "HTTP %d", status);
}

/*
 * A first attempt (no row) that delivered: its attempt row is kept to be
 * written with others (delivered.h), its event held until then.
 */
static void delivered_keep(struct fwh_engine *e, struct fwh_delivery *d,
			   int64_t now, int status, int64_t took)
{
	struct fwh_delivered_attempt a = { .endpoint = d->ep->conf->name,
					   .n = d->attempts, .at_ms = now,
					   .status = status, .took_us = took,
					   .event = d->event };

	memcpy(a.wid, d->wid, sizeof(a.wid));
	if (!fwh_delivered_add(&e->delivered, &a)) {
		delivered_write(e); /* full: committed by this pass */
		fwh_delivered_add(&e->delivered, &a);
	}
	delivery_free(d);
}

static void delivered(struct fwh_engine *e, struct fwh_delivery *d,
		      int64_t now, int status, int64_t took)
{
	struct fwh_endpoint *ep = d->ep;

	ep->stats.delivered++;
	fwh_endpoint_latency(ep, now * 1000 - (int64_t)(d->event_ts_ns / 1000));
	if (ep->failing_since_ms != 0) {
		ep->failing_since_ms = 0;
		tx_begin(e);
		fwh_store_ep_failing(e->st, ep->conf->name, 0);
	}
	if (d->row == 0) {
		delivered_keep(e, d, now, status, took);
		return;
	}
	/* A stored delivery is kept DELIVERED for `retention`. */
	tx_begin(e);
	fwh_store_attempt(e->st, ep->conf->name, d->wid, d->attempts, now,
			  status, took, "");
	fwh_store_update(e->st, d->row, FWH_DELIVERED, d->attempts, 0, status,
			 NULL);
	event_unref(e, d->event);
	delivery_free(d);
}

static void finished(struct fwh_engine *e, struct fwh_delivery *d,
		     CURLcode res)
{
	struct fwh_endpoint *ep = d->ep;
	int64_t now = now_ms(), took = mono_us() - d->started_us, delay;
	long status = 0;
	char err[FWH_ERROR_MAX] = "";
	enum fwh_outcome o;

	curl_multi_remove_handle(e->multi, d->easy);
	flight_remove(e, d);
	ep->in_flight--;
	if (res == CURLE_OK)
		curl_easy_getinfo(d->easy, CURLINFO_RESPONSE_CODE, &status);
	o = res == CURLE_OK ? fwh_outcome_of((int)status) : FWH_OUT_RETRY;
	if (o != FWH_OUT_DELIVERED)
		describe(d, res, (int)status, err, sizeof(err));
	if (o == FWH_OUT_DELIVERED) {
		delivered(e, d, now, (int)status, took);
		return;
	}
	tx_begin(e);
	fwh_store_attempt(e->st, ep->conf->name, d->wid, d->attempts, now,
			  (int)status, took, err);
	ep->stats.failed++;
	snprintf(ep->stats.last_error, sizeof(ep->stats.last_error), "%s",
		 err);
	fwh_log_info("endpoint %s: %s attempt %d: %s", ep->conf->name, d->wid,
		     d->attempts, err);
	failing(e, ep, now);
	if (o == FWH_OUT_GONE) {
		endpoint_disable(e, ep, "the receiver answered 410 Gone");
		defer(e, d, FWH_RETRYING, now, (int)status, err);
		return;
	}
	delay = fwh_next_delay_ms(e->cfg.schedule_ms, e->cfg.nschedule,
				  d->attempts, e->cfg.jitter_pct);
	if (o == FWH_OUT_THROTTLE) {
		int64_t pause = d->retry_after_ms >= 0 ? d->retry_after_ms :
				delay >= 0 ? delay : 0;

		ep->stats.throttled++;
		if (now + pause > ep->throttle_until_ms)
			ep->throttle_until_ms = now + pause;
		if (delay >= 0 && delay < pause)
			delay = pause;
	}
	if (delay < 0) {
		fwh_log_warn("endpoint %s: %s dead-lettered after %d attempts: "
			     "%s",
			     ep->conf->name, d->wid, d->attempts, err);
		defer(e, d, FWH_DEAD, 0, (int)status, err);
		return;
	}
	defer(e, d, FWH_RETRYING, now + delay, (int)status, err);
}

static void reap(struct fwh_engine *e)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(e->multi, &left)) != NULL) {
		struct fwh_delivery *d;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &d);
		/* Room for rows left for want of it, or a key free. */
		if (e->due_skipped || (d->ordered && d->has_key))
			e->scan_due = true;
		finished(e, d, m->data.result);
	}
}

/* ---- the tick: commands from ctl, counters ------------------------------ */

static void sources_grow(struct fwh_engine *e);

static void tick(struct fwh_engine *e, int64_t now)
{
	tx_begin(e);
	for (size_t i = 0; i < e->neps; i++) {
		struct fwh_endpoint *ep = &e->eps[i];
		struct fwh_ep_state s;

		if (fwh_store_ep_get(e->st, ep->conf->name, &s) == 0 &&
		    s.disabled != ep->disabled) {
			ep->disabled = s.disabled;
			ep->throttle_until_ms = 0;
			ep->failing_since_ms = s.failing_since_ms;
			fwh_log_notice("endpoint %s %s by command",
				       ep->conf->name,
				       s.disabled ? "disabled" : "enabled");
		}
		ep->stats.in_flight = ep->in_flight;
		fwh_endpoint_percentiles(ep);
		fwh_store_ep_stats_put(e->st, ep->conf->name, &ep->stats, now);
	}
	if (e->partitions_pending)
		sources_grow(e);
	if (now >= e->next_prune_ms) {
		fwh_store_prune(e->st, now - (int64_t)e->cfg.retention_ms);
		e->next_prune_ms = now + PRUNE_EVERY_MS;
	}
	e->scan_due = true; /* ctl retry may have made rows due */
	e->next_tick_ms = now + TICK_MS;
}

/*
 * Sleep until there is work, at most wait_ms.  With no request in flight
 * there is no socket to watch: sleep on the rings alone, so a producer's
 * wake reaches this thread directly (one wake from publish to request, or
 * none when the event is there at the next pass).  Otherwise sleep in
 * curl_multi_poll() on the request sockets and the rings' fev_fd()
 * descriptors together, armed just before (fwh_source_arm()).
 */
static void sleep_for_work(struct fwh_engine *e, int64_t wait_ms,
			   bool rate_held)
{
	unsigned nwaits = 0;

	if (wait_ms > 0 && e->flight == NULL && !rate_held &&
	    fwh_sources_wait(e->srcs, e->nsrcs,
			     (int)(wait_ms < SIGNAL_LOOK_MS ? wait_ms :
							      SIGNAL_LOOK_MS)) == 0)
		return;
	/* Events found while arming are the next pass's work. */
	if (wait_ms > 0 && take_events(e, true))
		return;
	for (size_t i = 0; i < e->nsrcs; i++) {
		int64_t ms = fwh_source_poll(e->srcs[i], &e->waits[nwaits]);

		if (e->waits[nwaits].fd >= 0)
			nwaits++;
		if (ms >= 0 && ms < wait_ms)
			wait_ms = ms;
	}
	curl_multi_poll(e->multi, e->waits, nwaits, (int)wait_ms, NULL);
}

void fwh_engine_run(struct fwh_engine *e, atomic_int *stop,
		    atomic_int *reload)
{
	while (!*stop && !*reload) {
		int64_t now = now_ms(), wait_ms;
		bool rate_held;
		int running;

		take_events(e, false);
		if (now >= e->next_tick_ms)
			tick(e, now);
		if (e->scan_due || e->next_due_ms <= now)
			take_due(e, now);
		rate_held = start_pending(e, now);
		tx_commit(e);
		curl_multi_perform(e->multi, &running);
		reap(e);
		start_pending(e, now_ms());
		now = now_ms();
		if (fwh_delivered_due(&e->delivered, now))
			delivered_write(e);
		tx_commit(e);
		wait_ms = e->next_tick_ms - now;
		if (fwh_delivered_wait_ms(&e->delivered, now) < wait_ms)
			wait_ms = fwh_delivered_wait_ms(&e->delivered, now);
		if (e->next_due_ms - now < wait_ms)
			wait_ms = e->next_due_ms - now;
		if (rate_held && wait_ms > RATE_WAIT_MS)
			wait_ms = RATE_WAIT_MS;
		if (e->scan_due || wait_ms < 0)
			wait_ms = 0;
		sleep_for_work(e, wait_ms, rate_held);
	}
	/* Written before a stop or a reload: not sent again by the next. */
	delivered_write(e);
	tx_commit(e);
}

/* ---- start and stop ----------------------------------------------------- */

/* A group's held events: enough for all its endpoints' requests in flight
 * plus as many waiting. */
static size_t held_for(const struct fwh_config *cfg,
		       const struct fwh_endpoint_conf *c)
{
	size_t held = 0;

	for (size_t j = 0; j < cfg->nendpoints; j++)
		if (strcmp(cfg->endpoints[j].topic, c->topic) == 0 &&
		    strcmp(cfg->endpoints[j].group, c->group) == 0)
			held += HELD_PER_ENDPOINT *
				cfg->endpoints[j].max_in_flight;
	return held;
}

/*
 * Sources for every partition of the endpoint's topic as its group that
 * has none yet (endpoints naming one group share its sources).  A topic
 * not there yet gets one, for partition 0, which waits for it; its other
 * partitions get theirs once it exists (partitions_pending: looked at
 * every tick).
 */
static int sources_for(struct fwh_engine *e, const struct fwh_endpoint_conf *c)
{
	const char *instance = e->cfg.instance[0] ? e->cfg.instance : NULL;
	struct fwh_source **g;
	struct curl_waitfd *w;
	uint32_t have = 0;
	int p;

	for (size_t i = 0; i < e->nsrcs; i++)
		if (reads(c, e->srcs[i]))
			have++;
	p = fev_topic_stats(c->topic, instance, NULL, 0);
	if (p < 1) {
		e->partitions_pending = true;
		p = 1;
	}
	if ((uint32_t)p <= have)
		return 0;
	g = realloc(e->srcs, (e->nsrcs + (size_t)p - have) * sizeof(*g));
	if (g == NULL)
		return -ENOMEM;
	e->srcs = g;
	w = realloc(e->waits, (e->nsrcs + (size_t)p - have) * sizeof(*w));
	if (w == NULL)
		return -ENOMEM;
	e->waits = w;
	for (uint32_t k = have; k < (uint32_t)p; k++) {
		int rc = fwh_source_start(instance, c->topic, k, c->group,
					  c->start, held_for(&e->cfg, c),
					  &e->srcs[e->nsrcs]);

		if (rc < 0)
			return rc;
		e->nsrcs++;
	}
	return 0;
}

static void sources_grow(struct fwh_engine *e)
{
	e->partitions_pending = false;
	for (size_t i = 0; i < e->neps; i++)
		if (sources_for(e, e->eps[i].conf) < 0)
			fwh_log_err("endpoint %s: out of memory for a source",
				    e->eps[i].conf->name);
}

static unsigned min_in_flight(const struct fwh_config *cfg)
{
	unsigned m = FWH_DELIVERED_MAX;

	for (size_t i = 0; i < cfg->nendpoints; i++)
		if (cfg->endpoints[i].max_in_flight < m)
			m = cfg->endpoints[i].max_in_flight;
	return m;
}

int fwh_engine_start(const struct fwh_config *cfg, struct fwh_engine **out)
{
	struct fwh_engine *e = calloc(1, sizeof(*e));
	char why[FWH_ERR_MAX];
	int rc;

	if (e == NULL)
		return -ENOMEM;
	e->cfg = *cfg;
	e->instance = cfg->instance[0] ? cfg->instance : fev_default_instance();
	rc = fwh_store_open(cfg->database, false, &e->st, why, sizeof(why));
	if (rc < 0) {
		fwh_log_err("%s", why);
		free(e);
		return rc;
	}
	rc = fwh_store_adopt(e->st);
	if (rc > 0)
		fwh_log_notice("%d deliveries left unfinished by the last run "
			       "are retried now",
			       rc);
	e->multi = curl_multi_init();
	e->eps = calloc(cfg->nendpoints ? cfg->nendpoints : 1,
			sizeof(*e->eps));
	if (e->multi == NULL || e->eps == NULL) {
		fwh_engine_stop(e);
		return -ENOMEM;
	}
	e->neps = cfg->nendpoints;
	for (size_t i = 0; i < e->neps; i++) {
		struct fwh_endpoint *ep = &e->eps[i];
		struct fwh_ep_state s;

		fwh_endpoint_init(ep, &cfg->endpoints[i]);
		fwh_store_ep_stats_get(e->st, ep->conf->name, &ep->stats);
		if (fwh_store_ep_get(e->st, ep->conf->name, &s) == 0) {
			ep->disabled = s.disabled;
			ep->failing_since_ms = s.failing_since_ms;
			if (s.disabled)
				fwh_log_warn("endpoint %s is disabled (%s): "
					     "'fev-webhooks ctl enable %s'",
					     ep->conf->name, s.reason,
					     ep->conf->name);
		}
	}
	for (size_t i = 0; i < e->neps; i++) {
		if (sources_for(e, &cfg->endpoints[i]) < 0) {
			fwh_engine_stop(e);
			return -ENOMEM;
		}
	}
	e->scan_due = true;
	fwh_delivered_init(&e->delivered, min_in_flight(cfg));
	*out = e;
	return 0;
}

/* A delivery abandoned at stop: its event stays held (never released), so
 * the ring gives it again after the queue is closed. */
static void abandon(struct fwh_delivery *d)
{
	if (d->event != NULL && --d->event->refs == 0)
		free(d->event);
	delivery_free(d);
}

void fwh_engine_stop(struct fwh_engine *e)
{
	/* Requests first (their bodies point into the rings), then the
	 * sources: after their close, every event still held is repaired by
	 * fevd and comes back as a redelivery, in place: known by its
	 * webhook-id if stored, else sent again under that id. */
	while (e->flight != NULL) {
		struct fwh_delivery *d = e->flight;

		curl_multi_remove_handle(e->multi, d->easy);
		flight_remove(e, d);
		abandon(d);
	}
	for (size_t i = 0; i < e->neps; i++) {
		struct fwh_delivery *d;

		while ((d = pending_pop(&e->eps[i])) != NULL)
			abandon(d);
	}
	for (size_t i = 0; i < e->nsrcs; i++)
		fwh_source_stop(e->srcs[i]);
	if (e->multi != NULL)
		curl_multi_cleanup(e->multi);
	free(e->unref);
	free(e->srcs);
	free(e->waits);
	free(e->eps);
	fwh_store_close(e->st);
	free(e);
}
