#include "store.h"

#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A busy database (ctl writing) is waited on, never an error at once. */
#define BUSY_TIMEOUT_MS 5000

#define STMT_CACHE 32

/* Prepared statements are kept (keyed by their SQL's address: each is a
 * literal at one call site): preparing costs more than running most of
 * them, and they run for every event. */
struct fwh_store {
	sqlite3 *db;
	struct {
		const char *sql;
		sqlite3_stmt *s;
	} cache[STMT_CACHE];
	int ncache;
};

static const char *const state_names[] = {
	[FWH_INFLIGHT] = "inflight", [FWH_RETRYING] = "retrying",
	[FWH_SENDING] = "sending",   [FWH_DEAD] = "dead",
	[FWH_DELIVERED] = "delivered",
};

const char *fwh_state_name(int state)
{
	if (state < FWH_INFLIGHT || state > FWH_DELIVERED)
		return "?";
	return state_names[state];
}

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS deliveries("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" endpoint TEXT NOT NULL, wid TEXT NOT NULL,"
	" ordered INTEGER NOT NULL,"
	" state INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
	" next_at INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL,"
	" event_ts INTEGER NOT NULL, key BLOB, headers TEXT NOT NULL,"
	" payload BLOB NOT NULL, last_status INTEGER NOT NULL DEFAULT 0,"
	" last_error TEXT NOT NULL DEFAULT '', UNIQUE(endpoint, wid));"
	"CREATE INDEX IF NOT EXISTS deliveries_due"
	" ON deliveries(state, next_at);"
	"CREATE INDEX IF NOT EXISTS deliveries_key"
	" ON deliveries(endpoint, key, state) WHERE key IS NOT NULL;"
	"CREATE INDEX IF NOT EXISTS deliveries_wid ON deliveries(wid);"
	"CREATE TABLE IF NOT EXISTS attempts("
	" endpoint TEXT NOT NULL, wid TEXT NOT NULL, n INTEGER NOT NULL,"
	" at INTEGER NOT NULL, status INTEGER NOT NULL,"
	" duration_us INTEGER NOT NULL, error TEXT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS attempts_wid ON attempts(wid, endpoint);"
	"CREATE TABLE IF NOT EXISTS endpoints("
	" name TEXT PRIMARY KEY, disabled INTEGER NOT NULL DEFAULT 0,"
	" reason TEXT NOT NULL DEFAULT '',"
	" failing_since INTEGER NOT NULL DEFAULT 0,"
	" in_flight INTEGER NOT NULL DEFAULT 0,"
	" delivered INTEGER NOT NULL DEFAULT 0,"
	" failed INTEGER NOT NULL DEFAULT 0,"
	" throttled INTEGER NOT NULL DEFAULT 0,"
	" p50_us INTEGER NOT NULL DEFAULT 0, p99_us INTEGER NOT NULL DEFAULT 0,"
	" last_error TEXT NOT NULL DEFAULT '',"
	" updated INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE IF NOT EXISTS sync_barrier(n INTEGER NOT NULL);"
	"INSERT INTO sync_barrier SELECT 0"
	" WHERE NOT EXISTS (SELECT 1 FROM sync_barrier);";

/* The schema's version (PRAGMA user_version).  2: webhook-ids derived from
 * the ring position, rows written only when a first attempt fails; a
 * database of version 1 (a row per event, matched by fingerprint) is
 * refused rather than read wrongly. */
#define SCHEMA_VERSION 2

static int fail(struct fwh_store *st)
{
	return sqlite3_errcode(st->db) == SQLITE_BUSY ? -EBUSY : -EIO;
}

const char *fwh_store_error(struct fwh_store *st)
{
	return sqlite3_errmsg(st->db);
}

static int exec(struct fwh_store *st, const char *sql)
{
	return sqlite3_exec(st->db, sql, NULL, NULL, NULL) == SQLITE_OK ?
		       0 :
		       fail(st);
}

static int schema_version(struct fwh_store *st)
{
	sqlite3_stmt *s;
	int v = -1;

	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version;", -1, &s,
			       NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* A new database gets the schema and its version in one transaction; an
 * existing one is left as it is (its version is checked by the caller). */
static int schema_create(struct fwh_store *st)
{
	char sql[64];
	int rc = exec(st, "BEGIN IMMEDIATE;");

	if (rc < 0)
		return rc;
	if (exec(st, "SELECT 1 FROM deliveries LIMIT 0;") == 0) {
		exec(st, "COMMIT;");
		return 0;
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d;",
		 SCHEMA_VERSION);
	if (exec(st, schema) < 0 || exec(st, sql) < 0) {
		rc = fail(st);
		exec(st, "ROLLBACK;");
		return rc;
	}
	return exec(st, "COMMIT;");
}

int fwh_store_open(const char *path, bool read_only, struct fwh_store **out,
		   char *why, size_t whylen)
{
	int flags = read_only ? SQLITE_OPEN_READWRITE :
				SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	struct fwh_store *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return -ENOMEM;
	(void)read_only; /* ctl writes commands too: never SQLITE_OPEN_READONLY */
	if (sqlite3_open_v2(path, &st->db, flags | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		snprintf(why, whylen, "%s: %s", path,
			 st->db ? sqlite3_errmsg(st->db) : "out of memory");
		sqlite3_close(st->db);
		free(st);
		return -EIO;
	}
	sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
	/* WAL: readers (ctl) never block the daemon, and a commit is one
	 * append.  Durability is chosen per commit (fwh_store_commit). */
	if (exec(st, "PRAGMA journal_mode=WAL;") < 0 ||
	    exec(st, "PRAGMA synchronous=NORMAL;") < 0 ||
	    schema_create(st) < 0) {
		snprintf(why, whylen, "%s: %s", path, sqlite3_errmsg(st->db));
		fwh_store_close(st);
		return -EIO;
	}
	if (schema_version(st) != SCHEMA_VERSION) {
		snprintf(why, whylen, "%s: written by an earlier fev-webhooks "
				      "(schema %d, this one reads %d): let "
				      "that version finish its retries, or "
				      "move the file away",
			 path, schema_version(st), SCHEMA_VERSION);
		fwh_store_close(st);
		return -EPROTO;
	}
	*out = st;
	return 0;
}

void fwh_store_close(struct fwh_store *st)
{
	if (st == NULL)
		return;
	for (int i = 0; i < st->ncache; i++)
		sqlite3_finalize(st->cache[i].s);
	sqlite3_close_v2(st->db);
	free(st);
}

struct sqlite3 *fwh_store_db(struct fwh_store *st)
{
	return st->db;
}

int fwh_store_begin(struct fwh_store *st)
{
	return exec(st, "BEGIN IMMEDIATE;");
}

int fwh_store_commit(struct fwh_store *st, bool durable)
{
	if (exec(st, "COMMIT;") < 0)
		return fail(st);
	if (!durable)
		return 0;
	/* synchronous cannot change inside a transaction, and which ones
	 * must be durable is known only at their end.  So every transaction
	 * commits NORMAL (it survives a crash of this process: all an
	 * INFLIGHT row needs) and a durable one is followed by a one-row
	 * FULL transaction: in WAL mode its commit fsyncs the log, and with
	 * it every frame the NORMAL commits appended before. */
	if (exec(st, "PRAGMA synchronous=FULL;") < 0)
		return fail(st);
	if (exec(st, "UPDATE sync_barrier SET n = n + 1;") < 0) {
		exec(st, "PRAGMA synchronous=NORMAL;");
		return fail(st);
	}
	return exec(st, "PRAGMA synchronous=NORMAL;");
}

void fwh_store_rollback(struct fwh_store *st)
{
	sqlite3_exec(st->db, "ROLLBACK;", NULL, NULL, NULL);
}

static sqlite3_stmt *prepare(struct fwh_store *st, const char *sql)
{
	sqlite3_stmt *s = NULL;

	for (int i = 0; i < st->ncache; i++)
		if (st->cache[i].sql == sql)
			return st->cache[i].s;
	if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s,
			       NULL) != SQLITE_OK)
		return NULL;
	if (st->ncache < STMT_CACHE) {
		st->cache[st->ncache].sql = sql;
		st->cache[st->ncache++].s = s;
	}
	return s;
}

/* Done with s: reset a cached statement, finalize any other. */
static void done(struct fwh_store *st, sqlite3_stmt *s)
{
	for (int i = 0; i < st->ncache; i++) {
		if (st->cache[i].s == s) {
			sqlite3_reset(s);
			sqlite3_clear_bindings(s);
			return;
		}
	}
	sqlite3_finalize(s);
}

/* Run a statement to its end; -EIO/-EBUSY, or -EEXIST for a UNIQUE clash. */
static int finish(struct fwh_store *st, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	done(st, s);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_CONSTRAINT)
		return -EEXIST;
	return fail(st);
}

int fwh_store_insert(struct fwh_store *st, struct fwh_row *r)
{
	sqlite3_stmt *s = prepare(
		st, "INSERT INTO deliveries(endpoint, wid, ordered, state,"
		    " attempts, next_at, created, event_ts, key, headers,"
		    " payload, last_status, last_error)"
		    " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)");
	int rc;

	if (s == NULL)
		return fail(st);
	sqlite3_bind_text(s, 1, r->endpoint, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, r->wid, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 3, r->ordered);
	sqlite3_bind_int(s, 4, r->state);
	sqlite3_bind_int(s, 5, r->attempts);
	sqlite3_bind_int64(s, 6, r->next_at_ms);
	sqlite3_bind_int64(s, 7, r->created_ms);
	sqlite3_bind_int64(s, 8, (int64_t)r->event_ts_ns);
	if (r->key != NULL)
		sqlite3_bind_blob(s, 9, r->key, (int)r->key_len,
				  SQLITE_STATIC);
	sqlite3_bind_text(s, 10, r->headers ? r->headers : "", -1,
			  SQLITE_STATIC);
	sqlite3_bind_blob(s, 11, r->len ? r->payload : "", (int)r->len,
			  SQLITE_STATIC);
	sqlite3_bind_int(s, 12, r->last_status);
	sqlite3_bind_text(s, 13, r->last_error ? r->last_error : "", -1,
			  SQLITE_STATIC);
	rc = finish(st, s);
	if (rc == 0)
		r->id = sqlite3_last_insert_rowid(st->db);
	return rc;
}

int fwh_store_knows(struct fwh_store *st, const char *endpoint,
		    const char *wid)
{
	sqlite3_stmt *s = prepare(
		st, "SELECT 1 FROM deliveries WHERE endpoint = ?1 AND wid = ?2"
		    " UNION ALL SELECT 1 FROM attempts WHERE wid = ?2"
		    " AND endpoint = ?1 AND status BETWEEN 200 AND 299"
		    " LIMIT 1");
	int rc;

	if (s == NULL)
		return fail(st);
	sqlite3_bind_text(s, 1, endpoint, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, wid, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	done(st, s);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : fail(st);
}

int fwh_store_update(struct fwh_store *st, int64_t id, int state,
		     int attempts, int64_t next_at_ms, int status,
		     const char *error)
{
	sqlite3_stmt *s = prepare(
		st, "UPDATE deliveries SET state = ?, attempts = ?,"
		    " next_at = ?, last_status = ?, last_error = ?,"
		    " payload = CASE WHEN ? THEN x'' ELSE payload END"
		    " WHERE id = ?");

	if (s == NULL)
		return fail(st);
	sqlite3_bind_int(s, 1, state);
	sqlite3_bind_int(s, 2, attempts);
	sqlite3_bind_int64(s, 3, next_at_ms);
	sqlite3_bind_int(s, 4, status);
	sqlite3_bind_text(s, 5, error ? error : "", -1, SQLITE_STATIC);
	/* A delivered row keeps its id (retention), not its payload. */
	sqlite3_bind_int(s, 6, state == FWH_DELIVERED);
	sqlite3_bind_int64(s, 7, id);
	return finish(st, s);
}

int fwh_store_attempt(struct fwh_store *st, const char *endpoint,
		      const char *wid, int n, int64_t at_ms, int status,
		      int64_t duration_us, const char *error)
{
	sqlite3_stmt *s = prepare(
		st, "INSERT INTO attempts(endpoint, wid, n, at, status,"
		    " duration_us, error) VALUES(?,?,?,?,?,?,?)");

	if (s == NULL)
		return fail(st);
	sqlite3_bind_text(s, 1, endpoint, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, wid, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 3, n);
	sqlite3_bind_int64(s, 4, at_ms);
	sqlite3_bind_int(s, 5, status);
	sqlite3_bind_int64(s, 6, duration_us);
	sqlite3_bind_text(s, 7, error ? error : "", -1, SQLITE_STATIC);
	return finish(st, s);
}

int fwh_store_key_busy(struct fwh_store *st, const char *endpoint,
		       const void *key, size_t key_len, int64_t before_id)
{
	sqlite3_stmt *s = prepare(
		st, "SELECT 1 FROM deliveries WHERE endpoint = ? AND key = ?"
		    " AND state IN (0, 1, 2) AND id < ? LIMIT 1");
	int rc;

	if (s == NULL)
		return fail(st);
	sqlite3_bind_text(s, 1, endpoint, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, key_len ? key : "", (int)key_len,
			  SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, before_id);
	rc = sqlite3_step(s);
	done(st, s);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : fail(st);
}

static void row_from(sqlite3_stmt *s, struct fwh_row *r)
{
	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(s, 0);
	r->endpoint = (const char *)sqlite3_column_text(s, 1);
	snprintf(r->wid, sizeof(r->wid), "%s", sqlite3_column_text(s, 2));
	r->ordered = sqlite3_column_int(s, 3);
	r->state = sqlite3_column_int(s, 4);
	r->attempts = sqlite3_column_int(s, 5);
	r->next_at_ms = sqlite3_column_int64(s, 6);
	r->created_ms = sqlite3_column_int64(s, 7);
	r->event_ts_ns = (uint64_t)sqlite3_column_int64(s, 8);
	if (sqlite3_column_type(s, 9) != SQLITE_NULL) {
		r->key_len = (size_t)sqlite3_column_bytes(s, 9);
		r->key = r->key_len ? sqlite3_column_blob(s, 9) : "";
	}
	r->headers = (const char *)sqlite3_column_text(s, 10);
	r->len = (size_t)sqlite3_column_bytes(s, 11);
	r->payload = sqlite3_column_blob(s, 11);
}

#define ROW_COLUMNS \
	"d.id, d.endpoint, d.wid, d.ordered, d.state, d.attempts," \
	" d.next_at, d.created, d.event_ts, d.key, d.headers, d.payload"

/* Startable RETRYING rows: endpoint not disabled, and for an ordered
 * endpoint the oldest unfinished row of its key (an older one retrying
 * or in flight blocks it). */
#define STARTABLE \
	" FROM deliveries d LEFT JOIN endpoints e ON e.name = d.endpoint" \
	" WHERE d.state = 1 AND COALESCE(e.disabled, 0) = 0" \
	" AND NOT (d.ordered AND d.key IS NOT NULL AND EXISTS(" \
	"  SELECT 1 FROM deliveries o WHERE o.endpoint = d.endpoint" \
	"  AND o.key = d.key AND o.state IN (0, 1, 2) AND o.id < d.id))"

int fwh_store_take_due(struct fwh_store *st, int64_t now_ms, int max,
		       fwh_row_fn *fn, void *ctx)
{
	sqlite3_stmt *s = prepare(st, "SELECT " ROW_COLUMNS STARTABLE
				      " AND d.next_at <= ? ORDER BY d.id"
				      " LIMIT ?");
	int n = 0, rc;

	if (s == NULL)
		return fail(st);
	sqlite3_bind_int64(s, 1, now_ms);
	sqlite3_bind_int(s, 2, max);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct fwh_row r;

		row_from(s, &r);
		rc = fn(ctx, &r);
		if (rc < 0)
			break;
		n += rc;
	}
	done(st, s);
	if (rc < 0)
		return rc;
	return rc == SQLITE_DONE ? n : fail(st);
}

int64_t fwh_store_next_due(struct fwh_store *st)
{
	sqlite3_stmt *s = prepare(st, "SELECT MIN(d.next_at)" STARTABLE);
	int64_t at = INT64_MAX;

	if (s == NULL)
		return at;
	if (sqlite3_step(s) == SQLITE_ROW &&
	    sqlite3_column_type(s, 0) != SQLITE_NULL)
		at = sqlite3_column_int64(s, 0);
	done(st, s);
	return at;
}

int fwh_store_adopt(struct fwh_store *st)
{
	if (exec(st, "UPDATE deliveries SET state = 1, next_at = 0"
		     " WHERE state IN (0, 2);") < 0)
		return fail(st);
	return sqlite3_changes(st->db);
}

int fwh_store_prune(struct fwh_store *st, int64_t before_ms)
{
	sqlite3_stmt *s = prepare(st, "DELETE FROM deliveries WHERE state = 4"
				      " AND created < ?");
	int rc;

	if (s == NULL)
		return fail(st);
	sqlite3_bind_int64(s, 1, before_ms);
	rc = finish(st, s);
	if (rc < 0)
		return rc;
	s = prepare(st, "DELETE FROM attempts WHERE at < ? AND wid NOT IN"
			" (SELECT wid FROM deliveries)");
	if (s == NULL)
		return fail(st);
	sqlite3_bind_int64(s, 1, before_ms);
	return finish(st, s);
}

static int ep_ensure(struct fwh_store *st, const char *name)
{
	sqlite3_stmt *s = prepare(st, "INSERT OR IGNORE INTO endpoints(name)"
				      " VALUES(?)");

	if (s == NULL)
		return fail(st);
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	return finish(st, s);
}

int fwh_store_ep_get(struct fwh_store *st, const char *name,
		     struct fwh_ep_state *out)
{
	sqlite3_stmt *s = prepare(st, "SELECT disabled, reason, failing_since"
				      " FROM endpoints WHERE name = ?");
	int rc;

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return fail(st);
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		out->disabled = sqlite3_column_int(s, 0);
		snprintf(out->reason, sizeof(out->reason), "%s",
			 sqlite3_column_text(s, 1));
		out->failing_since_ms = sqlite3_column_int64(s, 2);
	}
	done(st, s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : fail(st);
}

int fwh_store_ep_set(struct fwh_store *st, const char *name,
		     const struct fwh_ep_state *v)
{
	sqlite3_stmt *s;
	int rc = ep_ensure(st, name);

	if (rc < 0)
		return rc;
	s = prepare(st, "UPDATE endpoints SET disabled = ?, reason = ?,"
			" failing_since = ? WHERE name = ?");
	if (s == NULL)
		return fail(st);
	sqlite3_bind_int(s, 1, v->disabled);
	sqlite3_bind_text(s, 2, v->reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, v->failing_since_ms);
	sqlite3_bind_text(s, 4, name, -1, SQLITE_STATIC);
	return finish(st, s);
}

int fwh_store_ep_failing(struct fwh_store *st, const char *name,
			 int64_t since_ms)
{
	sqlite3_stmt *s;
	int rc = ep_ensure(st, name);

	if (rc < 0)
		return rc;
	s = prepare(st, "UPDATE endpoints SET failing_since = ? WHERE name = ?");
	if (s == NULL)
		return fail(st);
	sqlite3_bind_int64(s, 1, since_ms);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	return finish(st, s);
}

int fwh_store_ep_stats_put(struct fwh_store *st, const char *name,
			   const struct fwh_ep_stats *v, int64_t now_ms)
{
	sqlite3_stmt *s;
	int rc = ep_ensure(st, name);

	if (rc < 0)
		return rc;
	s = prepare(st, "UPDATE endpoints SET in_flight = ?, delivered = ?,"
			" failed = ?, throttled = ?, p50_us = ?, p99_us = ?,"
			" last_error = ?, updated = ? WHERE name = ?");
	if (s == NULL)
		return fail(st);
	sqlite3_bind_int64(s, 1, v->in_flight);
	sqlite3_bind_int64(s, 2, v->delivered);
	sqlite3_bind_int64(s, 3, v->failed);
	sqlite3_bind_int64(s, 4, v->throttled);
	sqlite3_bind_int64(s, 5, v->p50_us);
	sqlite3_bind_int64(s, 6, v->p99_us);
	sqlite3_bind_text(s, 7, v->last_error, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 8, now_ms);
	sqlite3_bind_text(s, 9, name, -1, SQLITE_STATIC);
	return finish(st, s);
}

int fwh_store_ep_stats_get(struct fwh_store *st, const char *name,
			   struct fwh_ep_stats *v)
{
	sqlite3_stmt *s = prepare(st, "SELECT delivered, failed, throttled,"
				      " last_error FROM endpoints WHERE name = ?");
	int rc;

	memset(v, 0, sizeof(*v));
	if (s == NULL)
		return fail(st);
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		v->delivered = sqlite3_column_int64(s, 0);
		v->failed = sqlite3_column_int64(s, 1);
		v->throttled = sqlite3_column_int64(s, 2);
		snprintf(v->last_error, sizeof(v->last_error), "%s",
			 sqlite3_column_text(s, 3));
	}
	done(st, s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : fail(st);
}
