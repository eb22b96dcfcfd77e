/*
 * fev trace: where a sampled event went, who took it, what it caused.
 * Reads every hop ring of the instance (hops.h) read-only: it changes
 * nothing and stops no one.
 */
#include "trace_model.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "memtrap.h"
#include "names.h"
#include "trace.h" /* libfev's: fev__hex() */

static void usage(FILE *f)
{
	fputs("Usage: fev trace ID [--json | --export otlp-json FILE |\n"
	      "                           --export otlp-http URL]\n"
	      "\n"
	      "Show the path of a sampled event (one published with a "
	      "sampled W3C\ntraceparent, e.g. by 'fev pub --trace'): who "
	      "published it (pid, process,\ntime), its partition, each group "
	      "member that took it (acquired, released,\nredelivered after a "
	      "crash) and the events published as its follow-ups\n"
	      "(fev_send_opts.cause), recursively, with the time of each hop "
	      "since the\ntrace began and since the event's previous hop.\n"
	      "\n"
	      "ID is TOPIC:PARTITION:POSITION (an event id, as 'fev sub "
	      "--format json'\nprints it) or a 32-hex-digit trace id.  Hops "
	      "come from the bounded hop\nring of each topic (trace_hops in "
	      "fevd's config): old ones are overwritten.\n"
	      "\n"
	      "Options:\n"
	      "  -j, --json                 one JSON document instead of "
	      "text\n"
	      "  -e, --export otlp-json FILE  write the trace as OTLP/HTTP "
	      "JSON spans (for an\n"
	      "                             OpenTelemetry collector or "
	      "Jaeger); '-' is\n"
	      "                             standard output\n"
	      "  -e, --export otlp-http URL  POST them to an OTLP/HTTP "
	      "collector\n"
	      "                             (http://HOST:4318/v1/traces)\n"
	      "  -I, --instance NAME        fabric instance (default: "
	      "$FEV_INSTANCE or 'default')\n"
	      "  -h, --help                 show this help\n"
	      "\n"
	      "Examples:\n"
	      "  fev pub orders -m '{}' --trace     # prints its traceparent\n"
	      "  fev trace 4bf92f3577b34da6a3ce929d0e0e4736\n"
	      "  fev trace orders:0:17 --json\n"
	      "  fev trace orders:0:17 --export otlp-json trace.json\n"
	      "  fev trace orders:0:17 --export otlp-http "
	      "http://localhost:4318/v1/traces\n"
	      "\n"
	      "Exit status: 0 the trace was shown, 1 error (no hop of that "
	      "event or trace\nis recorded, a hop ring cannot be read, the "
	      "collector refused it), 2 usage\nerror.\n",
	      f);
}

/* ---- gathering --------------------------------------------------------- */

struct gather {
	const char *inst;
	struct tr_hop *hops;
	size_t n, cap;
	int err;
};

/* Each hop of ring topic that passes keep() joins g. */
static int read_ring(struct gather *g, const char *topic,
		     bool (*keep)(const struct fev__hop *, const void *),
		     const void *arg)
{
	struct fev__hops h;
	struct fev__hop *buf;
	size_t n;
	int rc = fev__hops_open(g->inst, topic, false, &h);

	if (rc < 0)
		return rc;
	buf = malloc((size_t)h.entries * sizeof(*buf));
	if (buf == NULL) {
		fev__hops_close(&h);
		return -ENOMEM;
	}
	n = fev__hops_read(&h, buf);
	fev__hops_close(&h);
	for (size_t i = 0; i < n; i++) {
		if (!keep(&buf[i], arg))
			continue;
		if (g->n == g->cap) {
			size_t cap = g->cap ? 2 * g->cap : 64;
			struct tr_hop *grown = realloc(g->hops,
						       cap * sizeof(*grown));

			if (grown == NULL) {
				free(buf);
				return -ENOMEM;
			}
			g->hops = grown;
			g->cap = cap;
		}
		g->hops[g->n].h = buf[i];
		strncpy(g->hops[g->n].topic, topic, FEV_NAME_MAX);
		g->hops[g->n].topic[FEV_NAME_MAX] = '\0';
		g->n++;
	}
	free(buf);
	return 0;
}

static bool of_trace(const struct fev__hop *h, const void *trace_id)
{
	return memcmp(h->trace_id, trace_id, 16) == 0;
}

struct by_trace {
	struct gather *g;
	const uint8_t *trace_id;
};

static int gather_ring(const char *topic, void *arg)
{
	struct by_trace *b = arg;
	int rc = read_ring(b->g, topic, of_trace, b->trace_id);

	/* A ring being created or one we may not read hides only its own
	 * hops: say so, show the rest. */
	if (rc < 0 && rc != -ENOENT && rc != -EAGAIN) {
		cli_error("cannot read the hop ring of '%s': %s", topic,
			  fev_strerror(rc));
		b->g->err = rc;
	}
	return rc == -ENOMEM ? rc : 0;
}

struct event_ref {
	uint32_t partition;
	uint64_t position;
};

static bool of_event(const struct fev__hop *h, const void *arg)
{
	const struct event_ref *e = arg;

	return h->partition == e->partition && h->position == e->position;
}

/* TOPIC:PARTITION:POSITION: the trace of the latest event there. */
static int trace_of_event(const char *inst, const char *id, uint8_t out[16])
{
	const char *c1 = strchr(id, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : 0;
	char topic[FEV_NAME_MAX + 1], *end;
	struct gather g = { .inst = inst };
	struct event_ref e;
	unsigned long part;
	int rc;

	if (c1 == NULL || c2 == NULL || (size_t)(c1 - id) > FEV_NAME_MAX)
		return -EINVAL;
	memcpy(topic, id, (size_t)(c1 - id));
	topic[c1 - id] = '\0';
	errno = 0;
	part = strtoul(c1 + 1, &end, 10);
	if (fev_queue_name_valid(topic) < 0 || end != c2 || c1[1] == '\0' ||
	    part >= FEV_PARTITIONS_MAX)
		return -EINVAL;
	e.partition = (uint32_t)part;
	e.position = strtoull(c2 + 1, &end, 10);
	if (errno != 0 || *end != '\0' || c2[1] == '\0')
		return -EINVAL;
	rc = read_ring(&g, topic, of_event, &e);
	if (rc == 0 && g.n == 0)
		rc = -ESRCH;
	if (rc == 0) /* oldest first: the last is the latest lap's */
		memcpy(out, g.hops[g.n - 1].h.trace_id, 16);
	free(g.hops);
	return rc;
}

static int parse_trace_id(const char *s, uint8_t out[16])
{
	if (strlen(s) != 32 || out_hex_decode(s, 32, out, 16) != 16)
		return -EINVAL;
	for (int i = 0; i < 16; i++)
		if (out[i] != 0)
			return 0;
	return -EINVAL;
}

/* ---- building events --------------------------------------------------- */

static int by_span_then_time(const void *a, const void *b)
{
	const struct tr_hop *x = a, *y = b;
	int c = memcmp(x->h.span_id, y->h.span_id, 8);

	if (c == 0)
		c = strcmp(x->topic, y->topic);
	if (c == 0)
		c = x->h.time_ns < y->h.time_ns ? -1 :
						  x->h.time_ns > y->h.time_ns;
	return c;
}

static int by_start(const void *a, const void *b)
{
	const struct tr_event *x = a, *y = b;

	return x->start_ns < y->start_ns ? -1 : x->start_ns > y->start_ns;
}

static bool same_event(const struct tr_hop *a, const struct tr_hop *b)
{
	return memcmp(a->h.span_id, b->h.span_id, 8) == 0 &&
	       strcmp(a->topic, b->topic) == 0;
}

static void fill_event(struct tr_event *e, const struct tr_hop *hops)
{
	const struct tr_hop *h0 = &hops[e->first];

	strcpy(e->topic, h0->topic);
	e->partition = h0->h.partition;
	e->position = h0->h.position;
	memcpy(e->span, h0->h.span_id, 8);
	e->start_ns = h0->h.time_ns;
	e->cause = -1;
	for (size_t i = e->first; i < e->first + e->n; i++)
		if (hops[i].h.kind == FEV__HOP_PUBLISHED) {
			e->published = &hops[i];
			memcpy(e->parent, hops[i].h.parent_span, 8);
			e->start_ns = hops[i].h.time_ns;
		}
}

static int build(struct tr_trace *t)
{
	static const uint8_t none[8];

	qsort(t->hops, t->n_hops, sizeof(*t->hops), by_span_then_time);
	t->ev = calloc(t->n_hops, sizeof(*t->ev));
	if (t->ev == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < t->n_hops; i++) {
		if (i == 0 || !same_event(&t->hops[i - 1], &t->hops[i]))
			t->ev[t->n_ev++].first = i;
		t->ev[t->n_ev - 1].n++;
	}
	for (size_t i = 0; i < t->n_ev; i++)
		fill_event(&t->ev[i], t->hops);
	qsort(t->ev, t->n_ev, sizeof(*t->ev), by_start);
	for (size_t i = 0; i < t->n_ev; i++)
		for (size_t j = 0; j < t->n_ev && memcmp(t->ev[i].parent,
							 none, 8) != 0;
		     j++)
			if (j != i && memcmp(t->ev[j].span, t->ev[i].parent,
					     8) == 0)
				t->ev[i].cause = (int)j;
	return 0;
}

/* ---- printing ---------------------------------------------------------- */

static const char *kind_name(uint8_t kind)
{
	switch (kind) {
	case FEV__HOP_PUBLISHED:
		return "published";
	case FEV__HOP_ACQUIRED:
		return "acquired";
	default:
		return "released";
	}
}

static double ms(uint64_t a, uint64_t b)
{
	return a >= b ? (double)(a - b) / 1e6 : -(double)(b - a) / 1e6;
}

static void print_hop(FILE *f, const struct tr_hop *h, uint64_t t0,
		      uint64_t prev, int depth)
{
	char when[48];

	out_iso_time(when, sizeof(when), h->h.time_ns);
	fprintf(f, "%*s  +%10.3f ms  %-9s ", depth * 4, "",
		ms(h->h.time_ns, t0), kind_name(h->h.kind));
	if (h->h.group[0] != '\0')
		fprintf(f, "group %s, ", h->h.group);
	fprintf(f, "pid %d (%s)", h->h.pid, h->h.comm);
	if (h->h.kind == FEV__HOP_PUBLISHED)
		fprintf(f, " at %s", when);
	else
		fprintf(f, ", %.3f ms after the previous hop",
			ms(h->h.time_ns, prev));
	if (h->h.flags & FEV_REDELIVERED)
		fputs(", REDELIVERED", f);
	fputc('\n', f);
}

static void print_event(FILE *f, const struct tr_trace *t, size_t i,
			uint64_t t0, int depth)
{
	const struct tr_event *e = &t->ev[i];
	char span[17];
	uint64_t prev = e->start_ns;

	fev__hex(e->span, 8, span);
	fprintf(f, "%*s%s%s:%" PRIu32 ":%" PRIu64 "  span %s%s\n", depth * 4,
		"", depth > 0 ? "caused " : "event ", e->topic, e->partition,
		e->position, span,
		e->published ? "" : "  (its publish hop was overwritten)");
	for (size_t k = e->first; k < e->first + e->n; k++) {
		print_hop(f, &t->hops[k], t0, prev, depth);
		prev = t->hops[k].h.time_ns;
	}
	for (size_t j = 0; j < t->n_ev; j++)
		if (t->ev[j].cause == (int)i)
			print_event(f, t, j, t0, depth + 1);
}

static void print_text(FILE *f, const struct tr_trace *t)
{
	char id[33];
	uint64_t t0 = t->ev[0].start_ns, end = t0;

	for (size_t i = 0; i < t->n_hops; i++) {
		if (t->hops[i].h.time_ns < t0)
			t0 = t->hops[i].h.time_ns;
		if (t->hops[i].h.time_ns > end)
			end = t->hops[i].h.time_ns;
	}
	fev__hex(t->trace_id, 16, id);
	fprintf(f, "trace %s: %zu event%s, %zu hops, %.3f ms\n", id, t->n_ev,
		t->n_ev == 1 ? "" : "s", t->n_hops, ms(end, t0));
	for (size_t i = 0; i < t->n_ev; i++)
		if (t->ev[i].cause < 0)
			print_event(f, t, i, t0, 0);
}

static void json_hop(FILE *f, const struct tr_hop *h)
{
	char when[48];

	out_iso_time(when, sizeof(when), h->h.time_ns);
	fprintf(f, "{\"kind\":\"%s\",\"time_ns\":%" PRIu64
		   ",\"time\":\"%s\",\"pid\":%d,\"process\":",
		kind_name(h->h.kind), h->h.time_ns, when, h->h.pid);
	out_json_string(f, h->h.comm, strlen(h->h.comm));
	fputs(",\"group\":", f);
	if (h->h.group[0] != '\0')
		out_json_string(f, h->h.group, strlen(h->h.group));
	else
		fputs("null", f);
	fprintf(f, ",\"redelivered\":%s}",
		h->h.flags & FEV_REDELIVERED ? "true" : "false");
}

static void print_json(FILE *f, const struct tr_trace *t)
{
	char id[33], span[17];

	fev__hex(t->trace_id, 16, id);
	fprintf(f, "{\"trace_id\":\"%s\",\"events\":[", id);
	for (size_t i = 0; i < t->n_ev; i++) {
		const struct tr_event *e = &t->ev[i];

		fev__hex(e->span, 8, span);
		fprintf(f, "%s{\"id\":\"%s:%" PRIu32 ":%" PRIu64
			   "\",\"topic\":\"%s\",\"partition\":%" PRIu32
			   ",\"position\":%" PRIu64 ",\"span_id\":\"%s\"",
			i ? "," : "", e->topic, e->partition, e->position,
			e->topic, e->partition, e->position, span);
		if (e->cause >= 0) {
			const struct tr_event *c = &t->ev[e->cause];

			fprintf(f, ",\"caused_by\":\"%s:%" PRIu32 ":%" PRIu64
				   "\"",
				c->topic, c->partition, c->position);
		} else {
			fputs(",\"caused_by\":null", f);
		}
		fputs(",\"hops\":[", f);
		for (size_t k = e->first; k < e->first + e->n; k++) {
			if (k > e->first)
				fputc(',', f);
			json_hop(f, &t->hops[k]);
		}
		fputs("]}", f);
	}
	fputs("]}\n", f);
}

static int export_otlp(const struct tr_trace *t, const char *file)
{
	FILE *f = strcmp(file, "-") == 0 ? stdout : fopen(file, "w");

	if (f == NULL) {
		cli_error("cannot write %s: %s", file, strerror(errno));
		return FEV_EXIT_ERROR;
	}
	if (tr_otlp_json(f, t) < 0) {
		cli_error("out of memory");
		if (f != stdout)
			fclose(f);
		return FEV_EXIT_ERROR;
	}
	if (f != stdout ? fclose(f) != 0 : fflush(f) != 0) {
		cli_error("cannot write %s: %s", file, strerror(errno));
		return FEV_EXIT_ERROR;
	}
	return FEV_EXIT_OK;
}

/* ---- the command ------------------------------------------------------- */

static int find_trace(const char *inst, const char *id, uint8_t trace[16])
{
	int rc = strchr(id, ':') != NULL ? trace_of_event(inst, id, trace) :
					   parse_trace_id(id, trace);

	if (rc == -EINVAL)
		return cli_usage_error("trace", "bad ID '%s': TOPIC:PARTITION:"
						"POSITION or a 32-hex-digit "
						"trace id",
				       id);
	if (rc == -ESRCH || rc == -ENOENT) {
		cli_error("no hop of event %s is recorded (not sampled, "
			  "overwritten, or its topic keeps no hop ring: "
			  "trace_hops)",
			  id);
		return FEV_EXIT_ERROR;
	}
	if (rc < 0) {
		cli_error("cannot read the hops of %s: %s", id,
			  fev_strerror(rc));
		return FEV_EXIT_ERROR;
	}
	return FEV_EXIT_OK;
}

static int show(const char *inst, const char *id, bool json,
		const char *otlp, const char *url)
{
	struct tr_trace t = { 0 };
	struct gather g = { .inst = inst };
	struct by_trace b = { .g = &g, .trace_id = t.trace_id };
	int rc = find_trace(inst, id, t.trace_id);

	if (rc != FEV_EXIT_OK)
		return rc;
	if (fev__hops_each(inst, gather_ring, &b) < 0 || g.n == 0) {
		if (g.n == 0)
			cli_error("no hop of trace %s is recorded in instance "
				  "%s", id, inst);
		free(g.hops);
		return FEV_EXIT_ERROR;
	}
	t.hops = g.hops;
	t.n_hops = g.n;
	if (build(&t) < 0) {
		cli_error("out of memory");
		rc = FEV_EXIT_ERROR;
	} else if (otlp != NULL) {
		rc = export_otlp(&t, otlp);
	} else if (url != NULL) {
		rc = tr_otlp_post(&t, url);
	} else if (json) {
		print_json(stdout, &t);
	} else {
		print_text(stdout, &t);
	}
	free(t.ev);
	free(t.hops);
	return rc != FEV_EXIT_OK ? rc :
	       g.err < 0	 ? FEV_EXIT_ERROR :
				   FEV_EXIT_OK;
}

int cmd_trace(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "export", required_argument, NULL, 'e' },
		{ "instance", required_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *inst_opt = NULL, *inst, *format = NULL, *file = NULL;
	const char *url = NULL;
	bool json = false;
	int c;

	while ((c = getopt_long(argc, argv, ":je:I:h", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'e':
			format = optarg;
			break;
		case 'I':
			inst_opt = optarg;
			break;
		case 'h':
			usage(stdout);
			return FEV_EXIT_OK;
		default:
			return cli_bad_option("trace", c, argv);
		}
	}
	if (format != NULL) {
		bool http = strcmp(format, "otlp-http") == 0;

		if (!http && strcmp(format, "otlp-json") != 0)
			return cli_usage_error("trace", "--export %s: otlp-json "
							"FILE or otlp-http URL",
					       format);
		if (optind + 2 != argc)
			return cli_usage_error("trace", "'fev trace ID --export "
							"%s %s'",
					       format, http ? "URL" : "FILE");
		if (http)
			url = argv[optind + 1];
		else
			file = argv[optind + 1];
	} else if (optind + 1 != argc) {
		return cli_usage_error("trace", "'fev trace ID': one event id "
						"(TOPIC:PARTITION:POSITION) or "
						"trace id");
	}
	if (json && format != NULL)
		return cli_usage_error("trace", "choose one of --json and "
						"--export");
	inst = cli_resolve_instance(inst_opt);
	if (inst == NULL)
		return FEV_EXIT_USAGE;
	/* A ring truncated while we read it reads as zeros: skipped. */
	fev__memtrap_install();
	return show(inst, argv[optind], json, file, url);
}
