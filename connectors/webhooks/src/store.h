/*
 * The durable store of fev-webhooks: one SQLite database in WAL mode holding
 * every delivery whose first attempt did not succeed, the dead letters,
 * every attempt, and each endpoint's state and counters.  A delivery that
 * succeeds at once leaves only its attempt: nothing is written before a
 * first attempt (webhook-id is derived from the event's place in its
 * ring, which a redelivery keeps), except on `ordered` endpoints, where a
 * row's id is the delivery's place in its key's order.  It is also the command channel: `ctl`
 * commands (another process) change rows and the daemon reads them on its
 * next tick, so no socket is needed and a command given while the daemon
 * is down still takes effect.
 *
 * A delivery's life (state column):
 *   INFLIGHT  (ordered endpoints) its event is still held in the ring (the
 *             first attempt runs or waits); written without fsync: the
 *             ring still has the event, and only a crash of this process
 *             (not of the machine) can end the process's hold, after which
 *             the ring gives it back
 *   RETRYING  waits for next_at; written with fsync before the ring lets go
 *   SENDING   a retry is in flight (loaded from the store)
 *   DEAD      the dead-letter store: every attempt failed
 *   DELIVERED a stored delivery that succeeded, kept for `retention` so
 *             that a ring redelivery of it is recognised by its webhook-id
 *             (as is one whose first attempt succeeded, by that attempt)
 */
#ifndef FWH_STORE_H
#define FWH_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FWH_WID_MAX 48   /* "msg_" + 32 hex + NUL fits */
#define FWH_ERROR_MAX 256

enum fwh_state {
	FWH_INFLIGHT = 0,
	FWH_RETRYING = 1,
	FWH_SENDING = 2,
	FWH_DEAD = 3,
	FWH_DELIVERED = 4,
};

const char *fwh_state_name(int state);

struct fwh_store;

/* One delivery as stored; pointers are owned by whoever filled it. */
struct fwh_row {
	int64_t id;		/* rowid: arrival order */
	const char *endpoint;
	char wid[FWH_WID_MAX];	/* webhook-id */
	bool ordered;
	int state;
	int attempts;
	int64_t next_at_ms;
	int64_t created_ms;
	uint64_t event_ts_ns;
	const void *key;	/* NULL: no key */
	size_t key_len;
	const char *headers;	/* "name: value\n" lines to send */
	const void *payload;
	size_t len;
	int last_status;	/* the outcome that stored it (insert only) */
	const char *last_error;
};

/*
 * Open (create) the database at path, WAL mode.  0, or -errno/-EIO with
 * "PATH: reason" in why.  read_only for the `ctl` inspectors.
 */
int fwh_store_open(const char *path, bool read_only, struct fwh_store **out,
		   char *why, size_t whylen);
void fwh_store_close(struct fwh_store *st);
/* The last SQLite message, for logs. */
const char *fwh_store_error(struct fwh_store *st);

/* Transactions: commit durable=true waits for the fsync (RETRYING rows). */
int fwh_store_begin(struct fwh_store *st);
int fwh_store_commit(struct fwh_store *st, bool durable);
void fwh_store_rollback(struct fwh_store *st);

/* Insert r (state and next_at as given); sets r->id.  -EEXIST: this
 * endpoint already has that webhook-id. */
int fwh_store_insert(struct fwh_store *st, struct fwh_row *r);
/*
 * A ring event came back FEV_REDELIVERED to endpoint's group: has endpoint
 * handled its webhook-id already (a stored delivery, or a 2xx attempt
 * within `retention`)?  Then the store delivers it, or did.  1, 0 or
 * -EIO/-EBUSY.
 */
int fwh_store_knows(struct fwh_store *st, const char *endpoint,
		    const char *wid);
/* Move row id to state with attempts/next_at and the last outcome. */
int fwh_store_update(struct fwh_store *st, int64_t id, int state,
		     int attempts, int64_t next_at_ms, int status,
		     const char *error);
/* Record one attempt. */
int fwh_store_attempt(struct fwh_store *st, const char *endpoint,
		      const char *wid, int n, int64_t at_ms, int status,
		      int64_t duration_us, const char *error);
/* Does endpoint have an unfinished delivery of this key older than row
 * before_id (ordered endpoints)?  1, 0 or -EIO. */
int fwh_store_key_busy(struct fwh_store *st, const char *endpoint,
		       const void *key, size_t key_len, int64_t before_id);

/*
 * Every RETRYING row due at now_ms whose endpoint is not in skip (a
 * disabled or throttled endpoint) and that no older unfinished row of the
 * same key blocks (ordered endpoints), oldest first, at most max, given to
 * fn (pointers valid during the call); fn returns 1 when it took the row
 * (and moved it to SENDING), 0 to leave it, or a negative errno to stop.
 * Returns how many were taken.
 */
typedef int fwh_row_fn(void *ctx, const struct fwh_row *r);
int fwh_store_take_due(struct fwh_store *st, int64_t now_ms, int max,
		       fwh_row_fn *fn, void *ctx);
/* The earliest next_at of a RETRYING row, or INT64_MAX. */
int64_t fwh_store_next_due(struct fwh_store *st);
/* At start: what a dead predecessor had INFLIGHT or SENDING is RETRYING,
 * due now.  Returns how many rows. */
int fwh_store_adopt(struct fwh_store *st);
/* Forget DELIVERED rows created before before_ms; attempts likewise. */
int fwh_store_prune(struct fwh_store *st, int64_t before_ms);

/* Endpoint state shared with `ctl`. */
struct fwh_ep_state {
	bool disabled;
	char reason[FWH_ERROR_MAX];
	int64_t failing_since_ms; /* 0: not failing */
};
int fwh_store_ep_get(struct fwh_store *st, const char *name,
		     struct fwh_ep_state *out);
int fwh_store_ep_set(struct fwh_store *st, const char *name,
		     const struct fwh_ep_state *s);
/* Only the failing clock (the daemon), never disabled (ctl's too). */
int fwh_store_ep_failing(struct fwh_store *st, const char *name,
			 int64_t since_ms);

struct fwh_ep_stats {
	int64_t in_flight, delivered, failed, throttled;
	int64_t p50_us, p99_us;
	char last_error[FWH_ERROR_MAX];
};
int fwh_store_ep_stats_put(struct fwh_store *st, const char *name,
			   const struct fwh_ep_stats *s, int64_t now_ms);

int fwh_store_ep_stats_get(struct fwh_store *st, const char *name,
			   struct fwh_ep_stats *s);

/* For `ctl`: statements on the raw handle. */
struct sqlite3 *fwh_store_db(struct fwh_store *st);

#endif /* FWH_STORE_H */
