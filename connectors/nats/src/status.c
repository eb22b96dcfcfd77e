#include "status.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fevconn_replace.h"

#define NOUT (sizeof(fevprom_nats_out_series) / sizeof(*fevprom_nats_out_series))
#define NIN (sizeof(fevprom_nats_in_series) / sizeof(*fevprom_nats_in_series))
#define LINE_MAX_ 2048

static int64_t *field(void *base, const struct fevprom_nats_series *s)
{
	return (int64_t *)((char *)base + s->off);
}

static void out_values(struct fnb_out *o, struct fevprom_nats_out *v)
{
	struct fnb_out_counters *c = fnb_out_counters(o);

	v->published = (int64_t)fnb_get(&c->published);
	v->acked = (int64_t)fnb_get(&c->acked);
	v->duplicates = (int64_t)fnb_get(&c->duplicates);
	v->in_flight = (int64_t)fnb_get(&c->in_flight);
	v->resent = (int64_t)fnb_get(&c->resent);
	v->too_large = (int64_t)fnb_get(&c->too_large);
	v->released = (int64_t)fnb_get(&c->released);
}

static void in_values(struct fnb_in *in, struct fevprom_nats_in *v)
{
	struct fnb_in_counters *c = fnb_in_counters(in);

	v->fetched = (int64_t)fnb_get(&c->fetched);
	v->committed = (int64_t)fnb_get(&c->committed);
	v->redelivered = (int64_t)fnb_get(&c->redelivered);
	v->terminated = (int64_t)fnb_get(&c->terminated);
	v->in_progress = (int64_t)fnb_get(&c->in_progress);
}

static void put_series(FILE *f, void *v,
		       const struct fevprom_nats_series *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, " %s %" PRId64, s[i].key, *field(v, &s[i]));
	fputc('\n', f);
}

int fnb_status_write(const char *path, struct fnb_conn *conn,
		     const struct fnb_config *cfg, struct fnb_out **outs,
		     struct fnb_in **ins)
{
	char err[FNB_LAST_ERROR_MAX];
	struct fevconn_replace r;
	FILE *f;
	int rc = fevconn_replace_open(&r, path);

	if (rc < 0)
		return rc;
	f = r.f;
	fnb_conn_last_error(conn, err, sizeof(err));
	fevconn_one_line(err);
	fprintf(f, "fev-nats 1\npid %ld\ntime %lld\nconnected %d\n"
		   "reconnects %" PRIu64 "\nlast_error %s\n",
		(long)getpid(), (long long)time(NULL),
		atomic_load_explicit(&conn->counters.connected,
				     memory_order_relaxed), /* N1 */
		fnb_get(&conn->counters.reconnects), err);
	for (size_t i = 0; i < cfg->nouts; i++) {
		struct fevprom_nats_out v = { 0 };

		if (outs[i] != NULL)
			out_values(outs[i], &v);
		fprintf(f, "out %s %s", cfg->outs[i].name, cfg->outs[i].topic);
		put_series(f, &v, fevprom_nats_out_series, NOUT);
	}
	for (size_t i = 0; i < cfg->nins; i++) {
		struct fevprom_nats_in v = { 0 };

		if (ins[i] != NULL)
			in_values(ins[i], &v);
		fprintf(f, "in %s %s", cfg->ins[i].name, cfg->ins[i].topic);
		put_series(f, &v, fevprom_nats_in_series, NIN);
	}
	return fevconn_replace_commit(&r, false);
}

/* ---- reading it back ---------------------------------------------- */

struct row {
	bool out;
	char name[FEV_NAME_MAX + 1], topic[FEV_NAME_MAX + 1];
	struct fevprom_nats_out o;
	struct fevprom_nats_in i;
};

struct status {
	long pid;
	long long time;
	int connected;
	int64_t reconnects;
	char last_error[FNB_LAST_ERROR_MAX];
	struct row rows[256];
	size_t nrows;
};

static void parse_series(char *rest, void *v,
			 const struct fevprom_nats_series *s, size_t n)
{
	char *save = NULL;

	for (char *k = strtok_r(rest, " \n", &save); k != NULL;
	     k = strtok_r(NULL, " \n", &save)) {
		char *val = strtok_r(NULL, " \n", &save);

		if (val == NULL)
			break;
		for (size_t i = 0; i < n; i++)
			if (strcmp(k, s[i].key) == 0)
				*field(v, &s[i]) = strtoll(val, NULL, 10);
	}
}

static void parse_row(struct status *st, char *line, bool out)
{
	struct row *r;
	int used = 0;

	if (st->nrows == sizeof(st->rows) / sizeof(*st->rows))
		return;
	r = &st->rows[st->nrows];
	memset(r, 0, sizeof(*r));
	r->out = out;
	if (sscanf(line, "%63s %63s %n", r->name, r->topic, &used) != 2)
		return;
	st->nrows++;
	if (out)
		parse_series(line + used, &r->o, fevprom_nats_out_series, NOUT);
	else
		parse_series(line + used, &r->i, fevprom_nats_in_series, NIN);
}

static int status_read(const char *path, struct status *st)
{
	char line[LINE_MAX_];
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return -errno;
	memset(st, 0, sizeof(*st));
	if (fgets(line, sizeof(line), f) == NULL ||
	    strcmp(line, "fev-nats 1\n") != 0) {
		fclose(f);
		return -EBADMSG;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "pid ", 4) == 0)
			st->pid = strtol(line + 4, NULL, 10);
		else if (strncmp(line, "time ", 5) == 0)
			st->time = strtoll(line + 5, NULL, 10);
		else if (strncmp(line, "connected ", 10) == 0)
			st->connected = atoi(line + 10);
		else if (strncmp(line, "reconnects ", 11) == 0)
			st->reconnects = strtoll(line + 11, NULL, 10);
		else if (strncmp(line, "last_error ", 11) == 0) {
			size_t n = strcspn(line + 11, "\n");

			if (n >= sizeof(st->last_error))
				n = sizeof(st->last_error) - 1;
			memcpy(st->last_error, line + 11, n);
			st->last_error[n] = '\0';
		} else if (strncmp(line, "out ", 4) == 0)
			parse_row(st, line + 4, true);
		else if (strncmp(line, "in ", 3) == 0)
			parse_row(st, line + 3, false);
	}
	fclose(f);
	return 0;
}

/* The writer's pid still names a process (one we may not signal counts). */
static bool running(const struct status *st)
{
	return st->pid > 0 && (kill((pid_t)st->pid, 0) == 0 || errno == EPERM);
}

static void put_json_string(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void write_text(const struct status *st)
{
	printf("fev-nats: %s (pid %ld), %s, %" PRId64 " reconnects\n",
	       running(st) ? "running" : "not running", st->pid,
	       st->connected ? "connected" : "not connected", st->reconnects);
	if (st->last_error[0] != '\0')
		printf("last error: %s\n", st->last_error);
	for (size_t i = 0; i < st->nrows; i++) {
		const struct row *r = &st->rows[i];
		const struct fevprom_nats_series *s =
			r->out ? fevprom_nats_out_series :
				 fevprom_nats_in_series;
		size_t n = r->out ? NOUT : NIN;

		printf("%s %s %s:", r->out ? "out" : "in", r->name, r->topic);
		for (size_t j = 0; j < n; j++)
			printf(" %s %" PRId64, s[j].key,
			       *field(r->out ? (void *)&r->o : (void *)&r->i,
				      &s[j]));
		putchar('\n');
	}
}

static void write_json(const struct status *st)
{
	printf("{\"running\":%s,\"pid\":%ld,\"time\":%lld,\"connected\":%s,"
	       "\"reconnects\":%" PRId64 ",\"last_error\":",
	       running(st) ? "true" : "false", st->pid, st->time,
	       st->connected ? "true" : "false", st->reconnects);
	put_json_string(st->last_error);
	for (int out = 1; out >= 0; out--) {
		bool first = true;

		printf(",\"%s\":[", out ? "out" : "in");
		for (size_t i = 0; i < st->nrows; i++) {
			const struct row *r = &st->rows[i];
			const struct fevprom_nats_series *s =
				out ? fevprom_nats_out_series :
				      fevprom_nats_in_series;

			if (r->out != (out == 1))
				continue;
			printf("%s{\"name\":\"%s\",\"topic\":\"%s\"",
			       first ? "" : ",", r->name, r->topic);
			for (size_t j = 0; j < (out ? NOUT : NIN); j++)
				printf(",\"%s\":%" PRId64, s[j].key,
				       *field(out ? (void *)&r->o :
						    (void *)&r->i,
					      &s[j]));
			putchar('}');
			first = false;
		}
		putchar(']');
	}
	puts("}");
}

static void write_prometheus(const struct status *st)
{
	printf("# HELP " FEVPROM_NATS_PREFIX "up 1 while fev-nats runs\n"
	       "# TYPE " FEVPROM_NATS_PREFIX "up gauge\n"
	       FEVPROM_NATS_PREFIX "up %d\n"
	       "# HELP " FEVPROM_NATS_PREFIX "connected 1 while connected "
	       "to NATS\n"
	       "# TYPE " FEVPROM_NATS_PREFIX "connected gauge\n"
	       FEVPROM_NATS_PREFIX "connected %d\n"
	       "# HELP " FEVPROM_NATS_PREFIX "reconnects_total times the "
	       "NATS connection came back\n"
	       "# TYPE " FEVPROM_NATS_PREFIX "reconnects_total counter\n"
	       FEVPROM_NATS_PREFIX "reconnects_total %" PRId64 "\n",
	       running(st), running(st) && st->connected, st->reconnects);
	for (int out = 1; out >= 0; out--) {
		const struct fevprom_nats_series *s =
			out ? fevprom_nats_out_series : fevprom_nats_in_series;

		for (size_t j = 0; j < (out ? NOUT : NIN); j++) {
			printf("# HELP " FEVPROM_NATS_PREFIX "%s %s\n"
			       "# TYPE " FEVPROM_NATS_PREFIX "%s %s\n",
			       s[j].name, s[j].help, s[j].name, s[j].type);
			for (size_t i = 0; i < st->nrows; i++) {
				const struct row *r = &st->rows[i];

				if (r->out != (out == 1))
					continue;
				printf(FEVPROM_NATS_PREFIX
				       "%s{bridge=\"%s\",topic=\"%s\"} "
				       "%" PRId64 "\n",
				       s[j].name, r->name, r->topic,
				       *field(out ? (void *)&r->o :
						    (void *)&r->i,
					      &s[j]));
			}
		}
	}
}

int fnb_status_main(const struct fnb_config *cfg, const char *format)
{
	struct status *st = malloc(sizeof(*st));
	int rc;

	if (st == NULL)
		return 1;
	rc = status_read(cfg->status_file, st);
	if (rc < 0) {
		fprintf(stderr,
			"fev-nats: cannot read the status file %s: %s (is "
			"fev-nats running with this config?)\n",
			cfg->status_file,
			rc == -EBADMSG ? "not a fev-nats status file" :
					 strerror(-rc));
		free(st);
		return 1;
	}
	if (format == NULL)
		write_text(st);
	else if (strcmp(format, "json") == 0)
		write_json(st);
	else
		write_prometheus(st);
	free(st);
	return 0;
}
