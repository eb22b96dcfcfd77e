#include "ctl.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "fevprom_webhooks.h"
#include "store.h"

static const char usage[] =
	"usage: fev-webhooks ctl [--config FILE] COMMAND\n"
	"  status [--json|--prometheus]\n"
	"                    per endpoint: state, in flight, delivered, failed,\n"
	"                    retrying, dead-lettered, p50/p99, last error\n"
	"  dead              the dead letters\n"
	"  attempts ID       every attempt of webhook-id ID\n"
	"  retry ID          send ID again now (a dead letter or a retry)\n"
	"  retry --dead      every dead letter again\n"
	"  enable NAME       re-enable a disabled endpoint\n"
	"  disable NAME      stop delivering to NAME (deliveries wait)\n";

static int64_t count(sqlite3 *db, const char *ep, int state)
{
	sqlite3_stmt *s;
	int64_t n = 0;

	if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM deliveries WHERE"
				   " endpoint = ? AND state = ?",
			       -1, &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(s, 1, ep, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, state);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

struct ep_status {
	const char *name;
	bool disabled;
	int64_t in_flight, delivered, failed, retrying, dead, p50_us, p99_us;
	char last_error[FWH_ERROR_MAX];
};

static int ep_status_read(sqlite3 *db, const char *name, struct ep_status *v)
{
	sqlite3_stmt *s;

	memset(v, 0, sizeof(*v));
	v->name = name;
	if (sqlite3_prepare_v2(db, "SELECT disabled, in_flight, delivered,"
				   " failed, p50_us, p99_us, last_error"
				   " FROM endpoints WHERE name = ?",
			       -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW) {
		v->disabled = sqlite3_column_int(s, 0);
		v->in_flight = sqlite3_column_int64(s, 1);
		v->delivered = sqlite3_column_int64(s, 2);
		v->failed = sqlite3_column_int64(s, 3);
		v->p50_us = sqlite3_column_int64(s, 4);
		v->p99_us = sqlite3_column_int64(s, 5);
		snprintf(v->last_error, sizeof(v->last_error), "%s",
			 sqlite3_column_text(s, 6));
	}
	sqlite3_finalize(s);
	v->retrying = count(db, name, FWH_RETRYING) +
		      count(db, name, FWH_SENDING);
	v->dead = count(db, name, FWH_DEAD);
	return 0;
}

static void print_table_row(const struct ep_status *v)
{
	printf("%-16s %-9s %8" PRId64 " %10" PRId64 " %8" PRId64 " %8" PRId64
	       " %6" PRId64 " %9.3f %9.3f  %s\n",
	       v->name, v->disabled ? "disabled" : "enabled", v->in_flight,
	       v->delivered, v->failed, v->retrying, v->dead,
	       (double)v->p50_us / 1000, (double)v->p99_us / 1000,
	       v->last_error[0] ? v->last_error : "-");
}

/* A JSON string: the error texts are ours and libcurl's, but escape all. */
static void json_string(const char *str)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)str; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

static void print_json(const struct ep_status *v, bool first)
{
	printf("%s{\"endpoint\":", first ? "" : ",");
	json_string(v->name);
	printf(",\"state\":\"%s\",\"in_flight\":%" PRId64
	       ",\"delivered\":%" PRId64 ",\"failed\":%" PRId64
	       ",\"retrying\":%" PRId64 ",\"dead\":%" PRId64
	       ",\"p50_us\":%" PRId64 ",\"p99_us\":%" PRId64
	       ",\"last_error\":",
	       v->disabled ? "disabled" : "enabled", v->in_flight, v->delivered,
	       v->failed, v->retrying, v->dead, v->p50_us, v->p99_us);
	json_string(v->last_error);
	putchar('}');
}

/* Prometheus text format: one family per counter, labelled by endpoint
 * (names are [A-Za-z0-9._-], safe inside a label value); the series are
 * fevprom's (common/prom/fevprom_webhooks.h). */
static void print_prometheus(const struct ep_status *v, size_t n)
{
	const struct fevprom_webhook_series *m = fevprom_webhook_series;

	for (size_t k = 0; k < sizeof(fevprom_webhook_series) / sizeof(*m);
	     k++) {
		printf("# HELP " FEVPROM_WEBHOOKS_PREFIX "%s %s\n"
		       "# TYPE " FEVPROM_WEBHOOKS_PREFIX "%s %s\n",
		       m[k].name, m[k].help, m[k].name, m[k].type);
		for (size_t i = 0; i < n; i++) {
			struct fevprom_webhook w = {
				.up = !v[i].disabled, .in_flight = v[i].in_flight,
				.delivered = v[i].delivered, .failed = v[i].failed,
				.retrying = v[i].retrying, .dead = v[i].dead,
				.p50_us = v[i].p50_us, .p99_us = v[i].p99_us,
			};
			int64_t val;

			memcpy(&val, (const char *)&w + m[k].off, sizeof(val));
			printf(FEVPROM_WEBHOOKS_PREFIX "%s{endpoint=\"%s\"} ",
			       m[k].name, v[i].name);
			if (m[k].seconds)
				printf("%.6f\n", (double)val / 1e6);
			else
				printf("%" PRId64 "\n", val);
		}
	}
}

enum format { TABLE, JSON, PROMETHEUS };

static int status(struct fwh_store *st, const struct fwh_config *cfg,
		  enum format f)
{
	struct ep_status *v = calloc(cfg->nendpoints + 1, sizeof(*v));

	if (v == NULL)
		return 1;
	for (size_t i = 0; i < cfg->nendpoints; i++)
		if (ep_status_read(fwh_store_db(st), cfg->endpoints[i].name,
				   &v[i]) < 0) {
			free(v);
			return 1;
		}
	if (f == TABLE)
		printf("%-16s %-9s %8s %10s %8s %8s %6s %9s %9s  %s\n",
		       "ENDPOINT", "STATE", "INFLIGHT", "DELIVERED", "FAILED",
		       "RETRYING", "DEAD", "P50_MS", "P99_MS", "LAST_ERROR");
	if (f == JSON)
		printf("{\"endpoints\":[");
	if (f == PROMETHEUS)
		print_prometheus(v, cfg->nendpoints);
	for (size_t i = 0; i < cfg->nendpoints && f != PROMETHEUS; i++) {
		if (f == TABLE)
			print_table_row(&v[i]);
		else
			print_json(&v[i], i == 0);
	}
	if (f == JSON)
		printf("]}\n");
	free(v);
	return 0;
}

static void print_time(int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char buf[32];

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	printf("%s.%03dZ", buf, (int)(ms % 1000));
}

static int dead(struct fwh_store *st)
{
	sqlite3_stmt *s;

	if (sqlite3_prepare_v2(fwh_store_db(st),
			       "SELECT wid, endpoint, attempts, created,"
			       " last_error FROM deliveries WHERE state = 3"
			       " ORDER BY id",
			       -1, &s, NULL) != SQLITE_OK)
		return 1;
	printf("%-36s %-16s %8s %-24s  %s\n", "ID", "ENDPOINT", "ATTEMPTS",
	       "CREATED", "LAST_ERROR");
	while (sqlite3_step(s) == SQLITE_ROW) {
		printf("%-36s %-16s %8d ", sqlite3_column_text(s, 0),
		       sqlite3_column_text(s, 1), sqlite3_column_int(s, 2));
		print_time(sqlite3_column_int64(s, 3));
		printf("  %s\n", sqlite3_column_text(s, 4));
	}
	sqlite3_finalize(s);
	return 0;
}

static int attempts(struct fwh_store *st, const char *wid)
{
	sqlite3 *db = fwh_store_db(st);
	sqlite3_stmt *s;
	int found = 0;

	if (sqlite3_prepare_v2(db, "SELECT endpoint, state, attempts, next_at"
				   " FROM deliveries WHERE wid = ?",
			       -1, &s, NULL) != SQLITE_OK)
		return 1;
	sqlite3_bind_text(s, 1, wid, -1, SQLITE_STATIC);
	while (sqlite3_step(s) == SQLITE_ROW) {
		int state = sqlite3_column_int(s, 1);

		found++;
		printf("%s endpoint %s: %s after %d attempts", wid,
		       sqlite3_column_text(s, 0), fwh_state_name(state),
		       sqlite3_column_int(s, 2));
		if (state == FWH_RETRYING) {
			printf(", next ");
			print_time(sqlite3_column_int64(s, 3));
		}
		printf("\n");
	}
	sqlite3_finalize(s);
	/* Delivered at the first attempt: no row, its attempt says it. */
	if (sqlite3_prepare_v2(db, "SELECT endpoint, MAX(n) FROM attempts a"
				   " WHERE wid = ?1 AND status BETWEEN 200"
				   " AND 299 AND NOT EXISTS (SELECT 1 FROM"
				   " deliveries d WHERE d.wid = ?1 AND"
				   " d.endpoint = a.endpoint)"
				   " GROUP BY endpoint",
			       -1, &s, NULL) != SQLITE_OK)
		return 1;
	sqlite3_bind_text(s, 1, wid, -1, SQLITE_STATIC);
	for (; sqlite3_step(s) == SQLITE_ROW; found++)
		printf("%s endpoint %s: %s after %d attempts\n", wid,
		       sqlite3_column_text(s, 0), fwh_state_name(FWH_DELIVERED),
		       sqlite3_column_int(s, 1));
	sqlite3_finalize(s);
	if (found == 0) {
		fprintf(stderr, "fev-webhooks: no delivery has id %s (a "
				"delivered one is kept for `retention`)\n",
			wid);
		return 1;
	}
	if (sqlite3_prepare_v2(db, "SELECT endpoint, n, at, status,"
				   " duration_us, error FROM attempts"
				   " WHERE wid = ? ORDER BY at, n",
			       -1, &s, NULL) != SQLITE_OK)
		return 1;
	sqlite3_bind_text(s, 1, wid, -1, SQLITE_STATIC);
	printf("%-16s %3s %-24s %6s %10s  %s\n", "ENDPOINT", "N", "AT",
	       "STATUS", "MS", "ERROR");
	while (sqlite3_step(s) == SQLITE_ROW) {
		printf("%-16s %3d ", sqlite3_column_text(s, 0),
		       sqlite3_column_int(s, 1));
		print_time(sqlite3_column_int64(s, 2));
		printf(" %6d %10.3f  %s\n", sqlite3_column_int(s, 3),
		       (double)sqlite3_column_int64(s, 4) / 1000,
		       sqlite3_column_text(s, 5));
	}
	sqlite3_finalize(s);
	return 0;
}

/* A retry starts the schedule again, as Svix's "resend" does. */
static int retry(struct fwh_store *st, const char *wid)
{
	sqlite3 *db = fwh_store_db(st);
	sqlite3_stmt *s;
	int n;

	if (sqlite3_prepare_v2(db, wid ?
					   "UPDATE deliveries SET state = 1,"
					   " next_at = 0, attempts = 0"
					   " WHERE wid = ? AND state IN (1, 3)" :
					   "UPDATE deliveries SET state = 1,"
					   " next_at = 0, attempts = 0"
					   " WHERE state = 3",
			       -1, &s, NULL) != SQLITE_OK)
		return 1;
	if (wid)
		sqlite3_bind_text(s, 1, wid, -1, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_DONE) {
		fprintf(stderr, "fev-webhooks: %s\n", sqlite3_errmsg(db));
		sqlite3_finalize(s);
		return 1;
	}
	sqlite3_finalize(s);
	n = sqlite3_changes(db);
	if (wid != NULL && n == 0) {
		fprintf(stderr, "fev-webhooks: %s is not a dead letter or a "
				"waiting retry: see 'ctl attempts %s'\n",
			wid, wid);
		return 1;
	}
	printf("%d deliveries to retry now\n", n);
	return 0;
}

static int set_enabled(struct fwh_store *st, const struct fwh_config *cfg,
		       const char *name, bool enable)
{
	struct fwh_ep_state s = { .disabled = !enable };
	bool known = false;

	for (size_t i = 0; i < cfg->nendpoints; i++)
		known |= strcmp(cfg->endpoints[i].name, name) == 0;
	if (!known) {
		fprintf(stderr, "fev-webhooks: no endpoint '%s' in the "
				"config\n",
			name);
		return 1;
	}
	if (!enable)
		snprintf(s.reason, sizeof(s.reason), "disabled by command");
	if (fwh_store_ep_set(st, name, &s) < 0) {
		fprintf(stderr, "fev-webhooks: %s\n", fwh_store_error(st));
		return 1;
	}
	printf("endpoint %s %s\n", name, enable ? "enabled" : "disabled");
	return 0;
}

static int dispatch(struct fwh_store *st, const struct fwh_config *cfg,
		    int argc, char **argv)
{
	const char *cmd = argv[0];

	if (strcmp(cmd, "status") == 0 && argc == 1)
		return status(st, cfg, TABLE);
	if (strcmp(cmd, "status") == 0 && argc == 2 &&
	    (strcmp(argv[1], "--json") == 0 ||
	     strcmp(argv[1], "--prometheus") == 0))
		return status(st, cfg,
			      argv[1][2] == 'j' ? JSON : PROMETHEUS);
	if (strcmp(cmd, "dead") == 0 && argc == 1)
		return dead(st);
	if (strcmp(cmd, "attempts") == 0 && argc == 2)
		return attempts(st, argv[1]);
	if (strcmp(cmd, "retry") == 0 && argc == 2)
		return retry(st, strcmp(argv[1], "--dead") == 0 ? NULL :
								  argv[1]);
	if ((strcmp(cmd, "enable") == 0 || strcmp(cmd, "disable") == 0) &&
	    argc == 2)
		return set_enabled(st, cfg, argv[1],
				   strcmp(cmd, "enable") == 0);
	fputs(usage, stderr);
	return 2;
}

int fwh_ctl_main(int argc, char **argv, const char *default_config)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = default_config;
	struct fwh_config cfg;
	struct fwh_store *st;
	char err[FWH_ERR_MAX];
	int c, rc;

	while ((c = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		if (c == 'c') {
			path = optarg;
		} else if (c == 'h') {
			fputs(usage, stdout);
			return 0;
		} else {
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fputs(usage, stderr);
		return 2;
	}
	if (fwh_config_load(path, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "fev-webhooks: %s\n", err);
		return 2;
	}
	if (fwh_store_open(cfg.database, true, &st, err, sizeof(err)) < 0) {
		fprintf(stderr, "fev-webhooks: %s\n", err);
		fwh_config_free(&cfg);
		return 1;
	}
	rc = dispatch(st, &cfg, argc - optind, argv + optind);
	fwh_store_close(st);
	fwh_config_free(&cfg);
	return rc;
}
