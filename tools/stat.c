/*
 * fev stat: the monitor.  Reads the segments directly (stat_sample.c), so
 * it shows a fabric whose fevd is down, and prints a table, JSON lines or
 * the Prometheus text format.  --watch redraws in place on a terminal: each
 * frame is built in memory and written with one write(), starting at the
 * home position, every line erased to its end, the rest of the screen
 * erased after the last line, so a frame never mixes with the one before.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include "cli.h"
#include "nats.h"
#include "sync_mode.h"
#include "webhooks.h"
#include "memtrap.h"
#include "control.h"
#include "fevprom.h"
#include "names.h"
#include "stat.h"

#define DEFAULT_INTERVAL_NS INT64_C(1000000000)
/* A wedged fevd must not hold up the monitor that would show it. */
#define FEVD_PING_MS 200

enum stat_format { SF_TABLE, SF_JSON, SF_PROMETHEUS };

struct stat_opts {
	const char *inst;
	const char *only; /* fev stat QUEUE */
	enum stat_format fmt;
	bool watch;
	int64_t interval_ns;
	uint64_t frames; /* --count: frames to show in watch mode */
	bool tty;	 /* redraw in place */
	/* fev-webhooks' config whose counters --json and --prometheus
	 * include; NULL: none */
	const char *webhooks;
	/* fev-nats' config, the same way (--nats). */
	const char *nats;
};

static void usage(FILE *f)
{
	fputs("Usage: fev stat [QUEUE] [-w [INTERVAL]] [-i INTERVAL] "
	      "[--json | --prometheus]\n"
	      "\n"
	      "Show every queue of the instance: capacity, depth and fill, "
	      "enqueue and dequeue\nrates, producers, consumers, sleepers, "
	      "full-waits, drops, redeliveries,\ntombstones and the oldest "
	      "in-flight claim (its age and pid), so a stalled\nqueue stands "
	      "out.  With QUEUE, also one line per attached process.  Reads "
	      "the\nshared memory directly: it works while fevd is down.\n"
	      "Then, per topic, its partitions and, per consumer group and "
	      "partition, LAG\n(events the group has not released), REDLV "
	      "and the pids of its members;\nfor an ordered group, the "
	      "OWNER of each partition (OWNER->NEXT while a\nhandover is "
	      "pending) and the GEN(eration) of its lease.  fev stat TOPIC\n"
	      "shows every partition of TOPIC.\n"
	      "\n"
	      "Options:\n"
	      "  -w, --watch [INTERVAL]  refresh every INTERVAL (default 1s) "
	      "until Ctrl-C:\n"
	      "                          in place on a terminal, else one "
	      "frame after another\n"
	      "  -i, --interval DURATION time between the two samples rates "
	      "come from (default\n"
	      "                          1s; 0 takes one sample and shows no "
	      "rates)\n"
	      "  -n, --count N           with --watch, stop after N frames\n"
	      "  -j, --json              one JSON object per sample, on one "
	      "line\n"
	      "  -p, --prometheus        Prometheus text format (metrics "
	      "fev_queue_*, labels\n"
	      "                          fabric and queue; fev_group_*, labels "
	      "fabric, topic,\n"
	      "                          group and partition) for "
	      "node_exporter's textfile\n"
	      "                          collector\n"
	      "  -W, --webhooks FILE     with --json or --prometheus, add the "
	      "counters of the\n"
	      "                          fev-webhooks configured by FILE "
	      "(default:\n"
	      "                          $FEV_WEBHOOKS_CONFIG, else "
	      WEBHOOKS_DEFAULT_CONFIG "\n"
	      "                          when it exists; 'none': leave them "
	      "out)\n"
	      "  -N, --nats FILE         the same for the fev-nats configured "
	      "by FILE (default:\n"
	      "                          $FEV_NATS_CONFIG, else "
	      NATS_DEFAULT_CONFIG "\n"
	      "                          when it exists)\n"
	      "  -I, --instance NAME     fabric instance (default: "
	      "$FEV_INSTANCE or 'default')\n"
	      "  -h, --help              show this help\n"
	      "\n"
	      "Columns: CAP capacity, DEPTH events queued or in flight, FILL "
	      "depth/capacity,\nENQ/s DEQ/s rates, PROD CONS attached "
	      "producers and consumers, SLEEP processes\nasleep on the queue, "
	      "FULLW times a producer found it full, DROP dropped by\n"
	      "drop-oldest, REDLV redelivered after a consumer died, TOMB "
	      "positions a dead\nproducer never committed, OLDEST CLAIM the "
	      "position held longest: its age\n('>=' when fev stat measured it "
	      "by watching), role, position and pid.\n"
	      "\n"
	      "Examples:\n"
	      "  fev stat                 # one table, rates over 1 second\n"
	      "  fev stat -w 0.5          # like top, twice a second\n"
	      "  fev stat jobs            # one queue and its processes\n"
	      "  fev stat --json -i 0 | jq '.queues[].depth'\n"
	      "  d=/var/lib/prometheus/node-exporter\n"
	      "  fev stat --prometheus > $d/fev.prom.$$ && mv $d/fev.prom.$$ "
	      "$d/fev.prom\n"
	      "\n"
	      "Exit status: 0 success, 1 error (no such queue, /dev/shm "
	      "unreadable), 2 usage\nerror.\n",
	      f);
}

/* ---- the table ------------------------------------------------------------ */

static void fmt_claim(char *buf, size_t size, const struct queue_view *q)
{
	const struct att_view *a;
	const struct claim_view *c = queue_oldest_claim(q, &a);
	char age[24] = "", ext[24] = "";

	if (c == NULL) {
		snprintf(buf, size, "-");
		return;
	}
	if (c->age_known) {
		out_age(age, sizeof(age), c->age_s);
		memmove(age + (c->age_exact ? 0 : 2), age, strlen(age) + 1);
		if (!c->age_exact)
			memcpy(age, ">=", 2);
		strcat(age, " ");
	}
	if (c->n > 1)
		snprintf(ext, sizeof(ext), "+%u", c->n - 1);
	snprintf(buf, size, "%s%s @%llu%s pid %d%s", age,
		 c->role == CLAIM_PRODUCER ? "prod" : "cons",
		 (unsigned long long)c->pos, ext, (int)a->pid,
		 a->closed      ? " (closed)" :
		 !a->alive      ? " (dead)" :
		 a->unchecked   ? " (unchecked)" : "");
}

static const char *err_text(int err)
{
	switch (err) {
	case -EACCES:
		return "(permission denied: run as the queue's owner or group)";
	case -EBADMSG:
		return "(corrupt or unfinished segment)";
	case -EPROTO:
		return "(segment of another ABI version)";
	case -ENOENT:
		return "(deleted while reading)";
	default:
		return "(unreadable)";
	}
}

static int name_width(const struct snapshot *s)
{
	int w = 5;

	for (size_t i = 0; i < s->n; i++) {
		int n = (int)strlen(s->q[i].name);

		if (n > w)
			w = n;
	}
	return w;
}

static void table_row(struct out_buf *b, const struct queue_view *q, int w)
{
	char cap[12], depth[12], er[12], dr[12], sl[12], fw[12], dp[12],
		rd[12], tb[12], fill[8], claim[128];
	const fev_stats *st = &q->st;

	if (q->err < 0) {
		ob_printf(b, "%-*s %s\n", w, q->name, err_text(q->err));
		return;
	}
	out_capacity(cap, sizeof(cap), st->capacity);
	out_count(depth, sizeof(depth), st->depth);
	out_rate(er, sizeof(er), q->enq_rate);
	out_rate(dr, sizeof(dr), q->deq_rate);
	out_count(sl, sizeof(sl), st->sleepers);
	out_count(fw, sizeof(fw), st->full_waits);
	out_count(dp, sizeof(dp), st->dropped);
	out_count(rd, sizeof(rd), st->redelivered);
	out_count(tb, sizeof(tb), st->tombstoned);
	fmt_claim(claim, sizeof(claim), q);
	/* Rounded down: 100% means full, not 1023 of 1024.  A depth above
	 * the capacity only comes from a corrupt segment. */
	if (st->depth > st->capacity || st->capacity == 0)
		snprintf(fill, sizeof(fill), "bad");
	else
		snprintf(fill, sizeof(fill), "%d%%",
			 (int)(100 * st->depth / st->capacity));
	ob_printf(b,
		  "%-*s %6s %6s %5s %7s %7s %4u %4u %5s %6s %6s %5s %5s  "
		  "%s%s\n",
		  w, q->name, cap, depth, fill,
		  er, dr, st->producers, st->consumers, sl, fw, dp, rd, tb,
		  claim, st->deleted ? "  [deleted]" : "");
}

static void att_rows(struct out_buf *b, const struct queue_view *q)
{
	char when[32], size[12], created[32];
	time_t t = (time_t)(q->created_ns / 1000000000u);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(created, sizeof(created), "%Y-%m-%d %H:%M:%S", &tm);
	out_size(size, sizeof(size), q->seg_size);
	ob_printf(b,
		  "\n  policy %s, sync %s, max event %u bytes, segment %s, "
		  "created %s by pid %d, %llu sleeps, %llu wakes\n\n",
		  fev__policy_name(q->st.policy), fev__sync_name(q->sync),
		  q->st.max_event, size, created,
		  (int)q->creator_pid, (unsigned long long)q->st.sleeps,
		  (unsigned long long)q->st.wakes);
	if (q->natt == 0) {
		ob_printf(b, "  no process is attached\n");
		return;
	}
	ob_printf(b, "  %4s %8s %-16s %-9s %8s %8s %7s %7s  %s\n", "REC", "PID",
		  "PROCESS", "ROLE", "ENQUEUED", "DEQUEUED", "ENQ/s", "DEQ/s",
		  "CLAIM");
	for (uint32_t i = 0; i < q->natt; i++) {
		const struct att_view *a = &q->att[i];
		char en[12], de[12], er[12], dr[12], claim[96] = "";
		const struct claim_view *c[2] = { &a->prod, &a->cons };

		out_count(en, sizeof(en), a->enqueued);
		out_count(de, sizeof(de), a->dequeued);
		out_rate(er, sizeof(er), a->enq_rate);
		out_rate(dr, sizeof(dr), a->deq_rate);
		for (int k = 0; k < 2; k++) {
			size_t n = strlen(claim);

			if (!c[k]->present)
				continue;
			if (c[k]->age_known)
				out_age(when, sizeof(when), c[k]->age_s);
			snprintf(claim + n, sizeof(claim) - n,
				 "%s%s @%llu x%u%s%s%s", n ? ", " : "",
				 k == 0 ? "prod" : "cons",
				 (unsigned long long)c[k]->pos, c[k]->n,
				 c[k]->age_known ? " held " : "",
				 c[k]->age_known && !c[k]->age_exact ? ">=" :
								       "",
				 c[k]->age_known ? when : "");
		}
		ob_printf(b, "  %4u %8d %-16s %-9s %8s %8s %7s %7s  %s\n",
			  a->idx, (int)a->pid,
			  a->closed ? "(closed)" :
			  a->alive  ? (a->comm[0] ? a->comm : "?") :
				      "(dead)",
			  fev__roles_name(a->roles), en, de, er, dr,
			  claim[0] ? claim : "-");
	}
}

static const char *fevd_text(const struct snapshot *s)
{
	static char buf[64];

	switch (s->fevd_rc) {
	case 0:
		snprintf(buf, sizeof(buf), "fevd pid %d", s->fevd_pid);
		return buf;
	case -ENOENT:
	case -ECONNREFUSED:
		return "fevd not running";
	case -ETIMEDOUT:
		return "fevd not answering";
	case -EACCES:
		return "fevd socket not accessible";
	default:
		return "fevd unknown";
	}
}

static void render_table(struct out_buf *b, const struct stat_opts *o,
			 const struct snapshot *s, bool rates)
{
	time_t t = (time_t)(s->real_ns / 1000000000u);
	int w = name_width(s);
	char when[32];
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	ob_printf(b, "fev stat  instance %s  %zu queue%s  %s  %s", o->inst,
		  s->n, s->n == 1 ? "" : "s", when, fevd_text(s));
	if (o->watch)
		ob_printf(b, "  every %.1fs%s", (double)o->interval_ns / 1e9,
			  o->tty ? ", Ctrl-C quits" : "");
	else if (!rates)
		ob_printf(b, "  (one sample: no rates)");
	ob_putc(b, '\n');
	if (s->n == 0) {
		ob_printf(b, "no queues in instance %s: fevd creates them from "
			     "its config, or 'fev queue create NAME'\n",
			  o->inst);
		return;
	}
	ob_printf(b,
		  "%-*s %6s %6s %5s %7s %7s %4s %4s %5s %6s %6s %5s %5s  %s\n",
		  w, "QUEUE", "CAP", "DEPTH", "FILL", "ENQ/s", "DEQ/s", "PROD",
		  "CONS", "SLEEP", "FULLW", "DROP", "REDLV", "TOMB",
		  "OLDEST CLAIM");
	for (size_t i = 0; i < s->n; i++) {
		table_row(b, &s->q[i], w);
		if (o->only != NULL && s->q[i].err == 0)
			att_rows(b, &s->q[i]);
	}
	groups_table(b, s);
}

/* ---- JSON ----------------------------------------------------------------- */

static void json_rate(struct out_buf *b, const char *key, double r)
{
	if (r < 0)
		ob_printf(b, ",\"%s\":null", key);
	else
		ob_printf(b, ",\"%s\":%.3f", key, r);
}

static void json_claim(struct out_buf *b, const char *key,
		       const struct claim_view *c, const struct att_view *a)
{
	ob_printf(b, ",\"%s\":", key);
	if (c == NULL || !c->present) {
		ob_printf(b, "null");
		return;
	}
	ob_printf(b, "{\"role\":\"%s\",\"pos\":%llu,\"n\":%u",
		  c->role == CLAIM_PRODUCER ? "producer" : "consumer",
		  (unsigned long long)c->pos, c->n);
	if (a != NULL)
		ob_printf(b, ",\"pid\":%d,\"alive\":%s", (int)a->pid,
			  a->alive ? "true" : "false");
	if (c->age_known)
		ob_printf(b, ",\"age_s\":%.3f,\"age_exact\":%s", c->age_s,
			  c->age_exact ? "true" : "false");
	else
		ob_printf(b, ",\"age_s\":null,\"age_exact\":false");
	ob_putc(b, '}');
}

static void json_attacher(struct out_buf *b, const struct att_view *a)
{
	ob_printf(b,
		  "{\"record\":%u,\"pid\":%d,\"process\":", a->idx, (int)a->pid);
	ob_json_string(b, a->comm);
	ob_printf(b,
		  ",\"role\":\"%s\",\"alive\":%s,\"unchecked\":%s,"
		  "\"closed\":%s,"
		  "\"enqueued\":%llu,\"dequeued\":%llu,\"dropped\":%llu,"
		  "\"full_waits\":%llu,\"sleeps\":%llu,\"wakes\":%llu",
		  fev__roles_name(a->roles), a->alive ? "true" : "false",
		  a->unchecked ? "true" : "false", a->closed ? "true" : "false",
		  (unsigned long long)a->enqueued,
		  (unsigned long long)a->dequeued,
		  (unsigned long long)a->dropped,
		  (unsigned long long)a->full_waits,
		  (unsigned long long)a->sleeps, (unsigned long long)a->wakes);
	json_rate(b, "enqueue_rate", a->enq_rate);
	json_rate(b, "dequeue_rate", a->deq_rate);
	json_claim(b, "producer_claim", &a->prod, NULL);
	json_claim(b, "consumer_claim", &a->cons, NULL);
	ob_putc(b, '}');
}

static void json_queue(struct out_buf *b, const struct queue_view *q)
{
	const fev_stats *st = &q->st;
	const struct att_view *a = NULL;
	const struct claim_view *c;

	ob_printf(b, "{\"name\":");
	ob_json_string(b, q->name);
	if (q->err < 0) {
		ob_printf(b, ",\"error\":");
		ob_json_string(b, fev_strerror(q->err));
		ob_printf(b, ",\"errno\":%d}", -q->err);
		return;
	}
	ob_printf(b,
		  ",\"capacity\":%llu,\"max_event\":%u,\"policy\":\"%s\","
		  "\"sync\":\"%s\",\"segment_bytes\":%llu,\"depth\":%llu,\"fill\":%.4f,"
		  "\"enqueued\":%llu,\"dequeued\":%llu",
		  (unsigned long long)st->capacity, st->max_event,
		  fev__policy_name(st->policy), fev__sync_name(q->sync),
		  (unsigned long long)q->seg_size,
		  (unsigned long long)st->depth,
		  st->capacity ? (double)st->depth / (double)st->capacity : 0.0,
		  (unsigned long long)st->enqueued,
		  (unsigned long long)st->dequeued);
	json_rate(b, "enqueue_rate", q->enq_rate);
	json_rate(b, "dequeue_rate", q->deq_rate);
	ob_printf(b,
		  ",\"producers\":%u,\"consumers\":%u,\"sleepers\":%u,"
		  "\"full_waits\":%llu,\"dropped\":%llu,\"redelivered\":%llu,"
		  "\"tombstoned\":%llu,\"sleeps\":%llu,\"wakes\":%llu,"
		  "\"deleted\":%s",
		  st->producers, st->consumers, st->sleepers,
		  (unsigned long long)st->full_waits,
		  (unsigned long long)st->dropped,
		  (unsigned long long)st->redelivered,
		  (unsigned long long)st->tombstoned,
		  (unsigned long long)st->sleeps,
		  (unsigned long long)st->wakes,
		  st->deleted ? "true" : "false");
	c = queue_oldest_claim(q, &a);
	json_claim(b, "oldest_claim", c, a);
	ob_printf(b, ",\"attachers\":[");
	for (uint32_t i = 0; i < q->natt; i++) {
		if (i > 0)
			ob_putc(b, ',');
		json_attacher(b, &q->att[i]);
	}
	ob_printf(b, "]}");
}

static void render_json(struct out_buf *b, const struct stat_opts *o,
			const struct snapshot *s, double interval_s)
{
	ob_printf(b, "{\"instance\":");
	ob_json_string(b, o->inst);
	ob_printf(b, ",\"time_ns\":%llu,\"interval_s\":",
		  (unsigned long long)s->real_ns);
	if (interval_s > 0)
		ob_printf(b, "%.3f", interval_s);
	else
		ob_printf(b, "null");
	if (s->fevd_rc == 0) {
		ob_printf(b, ",\"fevd\":{\"running\":true,\"pid\":%d,"
			     "\"version\":",
			  s->fevd_pid);
		ob_json_string(b, s->fevd_version);
		ob_putc(b, '}');
	} else {
		ob_printf(b, ",\"fevd\":{\"running\":false,\"status\":");
		ob_json_string(b, fevd_text(s));
		ob_putc(b, '}');
	}
	ob_printf(b, ",\"queues\":[");
	for (size_t i = 0; i < s->n; i++) {
		if (i > 0)
			ob_putc(b, ',');
		json_queue(b, &s->q[i]);
	}
	ob_putc(b, ']');
	groups_json(b, s);
	if (o->webhooks != NULL) {
		struct out_buf w = { 0 };

		/* ctl's {"endpoints":[...]}, one line; null when it failed
		 * (it said why on stderr). */
		ob_printf(b, ",\"webhooks\":");
		if (webhooks_stat(o->webhooks, true, &w) == 0 && w.len > 1)
			ob_write(b, w.p, w.p[w.len - 1] == '\n' ? w.len - 1 :
								  w.len);
		else
			ob_printf(b, "null");
		ob_free(&w);
	}
	if (o->nats != NULL) {
		struct out_buf w = { 0 };

		/* fev-nats status --json, one line; null when it failed. */
		ob_printf(b, ",\"nats\":");
		if (nats_stat(o->nats, true, &w) == 0 && w.len > 1)
			ob_write(b, w.p, w.p[w.len - 1] == '\n' ? w.len - 1 :
								  w.len);
		else
			ob_printf(b, "null");
		ob_free(&w);
	}
	ob_printf(b, "}\n");
}

/* ---- Prometheus ----------------------------------------------------------- */

/* The series are fevprom's (common/prom), the same fevd serves. */
static void render_prometheus(struct out_buf *b, const struct stat_opts *o,
			      const struct snapshot *s)
{
	struct fevprom_queue *pq = calloc(s->n ? s->n : 1, sizeof(*pq));
	struct fevprom_text t = { 0 };

	if (pq == NULL) {
		ob_printf(b, "# fev stat: out of memory\n");
		return;
	}
	for (size_t i = 0; i < s->n; i++) {
		const struct queue_view *q = &s->q[i];
		const struct att_view *a;
		const struct claim_view *c = queue_oldest_claim(q, &a);

		strlcpy(pq[i].name, q->name, sizeof(pq[i].name));
		pq[i].readable = q->err == 0;
		pq[i].st = q->st;
		pq[i].segment_bytes = q->seg_size;
		pq[i].oldest_claim_age_s =
			c != NULL && c->age_known ? c->age_s : 0;
	}
	fevprom_render(&t, o->inst, s->fevd_rc == 0, pq, s->n);
	if (t.failed)
		ob_printf(b, "# fev stat: out of memory\n");
	else
		ob_write(b, t.p, t.len);
	fevprom_text_free(&t);
	free(pq);
	groups_prometheus(b, o->inst, s);
	if (o->webhooks != NULL)
		webhooks_stat(o->webhooks, false, b);
	if (o->nats != NULL)
		nats_stat(o->nats, false, b);
}

/* A connector's config: --OPTION FILE, $ENV, or the default config when
 * there is one; "none" or nothing: no counters of that connector. */
static const char *connector_config(const char *opt, const char *env_name,
				    const char *def)
{
	const char *env = getenv(env_name);

	if (opt == NULL && env != NULL && env[0] != '\0')
		opt = env;
	if (opt == NULL && access(def, F_OK) == 0)
		opt = def;
	return opt == NULL || strcmp(opt, "none") == 0 ? NULL : opt;
}

/* ---- the command ---------------------------------------------------------- */

/* Fit a frame to the terminal: no line wraps, no scrolling.  After a
 * resize the old screen may have reflowed: clear all of it first. */
static void fit_to_terminal(const struct out_buf *in, struct out_buf *out,
			    bool clear)
{
	struct winsize ws = { 0 };
	size_t cols = 80, rows = 24, line = 0;
	const char *p = in->p, *end = in->p + in->len;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
		cols = ws.ws_col;
		rows = ws.ws_row > 1 ? ws.ws_row : 2;
	}
	ob_printf(out, clear ? "\033[H\033[2J" : "\033[H");
	while (p < end && line + 1 < rows) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		ob_write(out, p, n < cols ? n : cols);
		ob_printf(out, "\033[K\n");
		p += n + 1;
		line++;
	}
	ob_printf(out, "\033[J");
}

static int show(const struct stat_opts *o, const struct snapshot *s,
		const struct snapshot *prev, bool clear)
{
	struct out_buf b = { 0 }, screen = { 0 };
	double interval = prev ? (double)(s->mono_ns - prev->mono_ns) / 1e9 : 0;
	int rc;

	if (o->fmt == SF_JSON)
		render_json(&b, o, s, interval);
	else if (o->fmt == SF_PROMETHEUS)
		render_prometheus(&b, o, s);
	else
		render_table(&b, o, s, prev != NULL);
	if (o->tty) {
		fit_to_terminal(&b, &screen, clear);
		rc = ob_flush(&screen, STDOUT_FILENO);
	} else {
		if (o->watch && o->fmt == SF_TABLE)
			ob_putc(&b, '\n');
		rc = ob_flush(&b, STDOUT_FILENO);
	}
	ob_free(&b);
	ob_free(&screen);
	return rc;
}

static void put_tty(const char *seq)
{
	struct out_buf b = { 0 };

	ob_printf(&b, "%s", seq);
	ob_flush(&b, STDOUT_FILENO);
	ob_free(&b);
}

static int snapshot_error(const struct stat_opts *o, int rc)
{
	if (rc == -ENOENT && o->only != NULL)
		cli_error("no queue '%s' in instance %s: 'fev stat' lists the "
			  "queues there are",
			  o->only, o->inst);
	else
		cli_error("cannot read the queues of instance %s in /dev/shm: "
			  "%s",
			  o->inst, strerror(-rc));
	return FEV_EXIT_ERROR;
}

static int run(const struct stat_opts *o)
{
	struct snapshot prev = { 0 }, cur;
	bool have_prev = false;
	uint64_t frame = 0;
	int rc;

	if (o->interval_ns > 0 && !o->watch) {
		rc = snapshot_take(o->inst, o->only, NULL, &prev);
		if (rc < 0)
			return snapshot_error(o, rc);
		have_prev = true;
		cli_sleep_ns(o->interval_ns);
	}
	if (o->tty)
		put_tty("\033[?25l"); /* hide the cursor; shown again below */
	for (;;) {
		bool resized = cli_resized;

		cli_resized = 0;
		rc = snapshot_take(o->inst, o->only, have_prev ? &prev : NULL,
				   &cur);
		if (rc < 0)
			break;
		cur.fevd_rc = ctl_ping(o->inst, FEVD_PING_MS, &cur.fevd_pid,
				       cur.fevd_version,
				       sizeof(cur.fevd_version));
		rc = show(o, &cur, have_prev ? &prev : NULL,
			  frame == 0 || resized);
		if (have_prev)
			snapshot_free(&prev);
		prev = cur;
		have_prev = true;
		if (rc < 0 || !o->watch || cli_stop || ++frame == o->frames)
			break;
		/* A resized terminal is redrawn at once, to its new size. */
		cli_sleep_ns(o->interval_ns);
		if (cli_stop)
			break;
	}
	if (o->tty)
		put_tty("\033[?25h");
	if (have_prev)
		snapshot_free(&prev);
	if (rc == -EPIPE)
		return FEV_EXIT_OK;
	if (rc < 0 && rc != -EPIPE && frame == 0 && !cli_stop)
		return snapshot_error(o, rc);
	return rc < 0 ? FEV_EXIT_ERROR : FEV_EXIT_OK;
}

int cmd_stat(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "watch", optional_argument, NULL, 'w' },
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", no_argument, NULL, 'p' },
		{ "webhooks", required_argument, NULL, 'W' },
		{ "nats", required_argument, NULL, 'N' },
		{ "instance", required_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct stat_opts o = { .interval_ns = DEFAULT_INTERVAL_NS };
	const char *inst_opt = NULL, *watch_arg = NULL, *wh_opt = NULL;
	const char *nats_opt = NULL;
	bool json = false, prom = false;
	int c;

	/* Segments others can truncate must not kill the monitor. */
	fev__memtrap_install();

	while ((c = getopt_long(argc, argv, ":w::i:n:jpW:N:I:h", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'w':
			o.watch = true;
			watch_arg = optarg;
			/* "-w 2": take the next word when it is a duration. */
			if (watch_arg == NULL && optind < argc &&
			    cli_parse_duration_ns(argv[optind]) >= 0)
				watch_arg = argv[optind++];
			if (watch_arg != NULL &&
			    (o.interval_ns = cli_parse_duration_ns(watch_arg)) <=
				    0)
				return cli_usage_error("stat",
						       "bad --watch interval "
						       "'%s': a duration above "
						       "0 such as 1s or 500ms",
						       watch_arg);
			break;
		case 'i':
			o.interval_ns = cli_parse_duration_ns(optarg);
			if (o.interval_ns < 0)
				return cli_usage_error("stat",
						       "bad --interval '%s': a "
						       "duration such as 1s, "
						       "500ms or 0",
						       optarg);
			break;
		case 'n':
			if (!cli_parse_count(optarg, &o.frames) || o.frames == 0)
				return cli_usage_error("stat",
						       "bad --count '%s': a "
						       "whole number above 0",
						       optarg);
			break;
		case 'j':
			json = true;
			break;
		case 'p':
			prom = true;
			break;
		case 'W':
			wh_opt = optarg;
			break;
		case 'N':
			nats_opt = optarg;
			break;
		case 'I':
			inst_opt = optarg;
			break;
		case 'h':
			usage(stdout);
			return FEV_EXIT_OK;
		default:
			return cli_bad_option("stat", c, argv);
		}
	}
	if (json && prom)
		return cli_usage_error("stat", "choose one of --json and "
					       "--prometheus");
	if (prom && o.watch)
		return cli_usage_error("stat",
				       "--prometheus prints one snapshot: run "
				       "it from a timer, not with --watch");
	if (o.frames != 0 && !o.watch)
		return cli_usage_error("stat", "--count goes with --watch");
	if (o.watch && o.interval_ns == 0)
		return cli_usage_error("stat", "--watch needs an interval "
					       "above 0");
	if (optind + 1 < argc)
		return cli_usage_error("stat", "one queue at a time ('%s' is "
					       "extra)",
				       argv[optind + 1]);
	if (optind < argc) {
		o.only = argv[optind];
		if (fev__segment_name_parse(o.only, NULL, NULL) < 0)
			return cli_usage_error("stat",
					       "bad queue name '%s': queue names "
					       "are 1 to %d characters of A-Z "
					       "a-z 0-9 . _ -, a partition "
					       "TOPIC@N",
					       o.only, FEV_NAME_MAX);
	}
	o.fmt = json ? SF_JSON : prom ? SF_PROMETHEUS : SF_TABLE;
	if (o.fmt != SF_TABLE) {
		o.webhooks = connector_config(wh_opt, "FEV_WEBHOOKS_CONFIG",
					      WEBHOOKS_DEFAULT_CONFIG);
		o.nats = connector_config(nats_opt, "FEV_NATS_CONFIG",
					  NATS_DEFAULT_CONFIG);
	}
	o.inst = cli_resolve_instance(inst_opt);
	if (o.inst == NULL)
		return FEV_EXIT_USAGE;
	o.tty = o.watch && o.fmt == SF_TABLE && isatty(STDOUT_FILENO);
	cli_catch_signals();
	if (o.tty)
		cli_catch_resize();
	return run(&o);
}
