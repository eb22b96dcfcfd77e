/*
 * fev record: events of a queue or topic to a file (the format of
 * doc/record-format.md, record_file.c; replay.c plays it back).  It reads
 * like fev tail (nothing taken) or, with --group, as a member of a
 * consumer group.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clock.h"
#include "event_meta.h"
#include "event_source.h"
#include "fev/fev.h"
#include "record_file.h"

/* How long events may sit in the recorder's buffer while none come. */
#define IDLE_FLUSH_NS (200 * 1000 * 1000)

/* ---- record ------------------------------------------------------------- */

static void record_usage(FILE *f)
{
	fputs("Usage: fev record TOPIC|QUEUE FILE [--group GROUP] [--from "
	      "earliest|latest]\n"
	      "                  [--key K] [--header NAME=VALUE] [--count N] "
	      "[--duration D]\n"
	      "\n"
	      "Write the events of a queue, of every partition of a topic, or "
	      "of one\npartition (TOPIC@K) to FILE: key, headers, payload, "
	      "commit time, partition,\nflags, in the format of "
	      "doc/record-format.md.  By default nothing is taken\n(as fev "
	      "tail: the ring may lap the recorder, and each record says how "
	      "many\nevents were missed before it); with --group the recorder "
	      "is a member of\nGROUP, misses nothing, and releases each event "
	      "once it is written.\n"
	      "\n"
	      "Options:\n"
	      "  -g, --group GROUP        record as a member of this consumer "
	      "group (a queue:\n"
	      "                           as its consumer): events are "
	      "taken\n"
	      "      --from WHERE         without --group: latest (default) "
	      "or earliest\n"
	      "  -k, --key K, --key-hex HEX            only events with this "
	      "key\n"
	      "  -H, --header NAME=VALUE, --header-hex NAME=HEX\n"
	      "                           only events with this header "
	      "(repeatable)\n"
	      "  -n, --count N            stop after N events recorded\n"
	      "      --cpu PCT            without --group: when it cannot "
	      "keep up, read in\n"
	      "                           bursts and rest, taking at most PCT "
	      "%% of a CPU\n"
	      "                           (default 100: it reads all it can, "
	      "as a recording\n"
	      "                           wants every event; fev tail's "
	      "default is 2)\n"
	      "  -d, --duration D         stop after D (10s, 5m)\n"
	      "  -I, --instance NAME      fabric instance ($FEV_INSTANCE or "
	      "'default')\n"
	      "  -h, --help               show this help\n"
	      "\n"
	      "Examples:\n"
	      "  fev record orders orders.fevrec --duration 1m\n"
	      "  fev record orders incident.fevrec --from earliest --key "
	      "customer-42\n"
	      "  fev record orders all.fevrec --group recorder   # misses "
	      "nothing\n"
	      "\n"
	      "Exit status: 0 done (N events, the duration passed or "
	      "interrupted: the file\nends with a whole record), 1 error (no "
	      "such queue, topic or group; the file\ncannot be written), 2 "
	      "usage error.\n",
	      f);
}

struct record_cmd {
	struct event_source src;
	struct rec_writer w;
	struct pub_meta filter;
	const char *path;
	uint64_t want, missed, pending_missed;
	int64_t duration_ns;
	uint32_t cpu_percent; /* without --group: the tail's budget */
};

/* One event from the source: recorded if it passes the filters. */
static int record_one(struct record_cmd *c, fev_tail_event *te)
{
	int rc = 0;

	c->pending_missed += te->missed;
	c->missed += te->missed;
	if (meta_matches(&c->filter, &te->ev)) {
		te->missed = c->pending_missed;
		rc = rec_write(&c->w, te, fev__now_realtime_ns());
		if (rc == 0)
			c->pending_missed = 0;
		/* A member releases only what reached the kernel. */
		if (rc == 0 && c->src.tail == NULL)
			rc = rec_flush(&c->w);
	}
	if (rc == 0)
		source_done(&c->src, te);
	return rc;
}

static int record_loop(struct record_cmd *c)
{
	uint64_t end = c->duration_ns < 0 ? UINT64_MAX :
					    fev__now_monotonic_ns() +
						    (uint64_t)c->duration_ns;

	while (c->w.records < c->want) {
		uint64_t now = fev__now_monotonic_ns();
		int64_t slice = end - now < IDLE_FLUSH_NS ?
					(int64_t)(end - now) :
					IDLE_FLUSH_NS;
		fev_tail_event te;
		int rc;

		if (now >= end)
			break;
		rc = source_next(&c->src, &te, slice);
		if (rc == -EINTR)
			break;
		if (rc == -ETIMEDOUT) {
			rc = rec_flush(&c->w); /* idle: out to the file */
			if (rc == 0)
				continue;
		} else if (rc == 0) {
			rc = record_one(c, &te);
		} else {
			return source_failed(&c->src, rc);
		}
		if (rc < 0) {
			cli_error("writing %s failed: %s", c->path,
				  rc == -EMSGSIZE ? "an event too big to record" :
						    strerror(-rc));
			return FEV_EXIT_ERROR;
		}
	}
	return FEV_EXIT_OK;
}

static int record_run(struct record_cmd *c, const char *name,
		      const char *inst, const char *group, int from)
{
	int err, rc = group != NULL ?
			     source_open_group(&c->src, name, inst, group) :
			     source_open_tail(&c->src, name, inst, from,
					      c->cpu_percent);

	if (rc != FEV_EXIT_OK)
		return rc;
	c->src.watch_stdout = false; /* the output is the file */
	rc = rec_create(&c->w, c->path, name,
			c->src.tail != NULL ? fev_tail_partitions(c->src.tail) :
					      c->src.partitions);
	if (rc < 0) {
		cli_error("cannot create %s: %s", c->path, strerror(-rc));
		source_close(&c->src);
		return FEV_EXIT_ERROR;
	}
	rc = record_loop(c);
	err = rec_close(&c->w);
	if (err < 0 && rc == FEV_EXIT_OK) {
		cli_error("writing %s failed: %s", c->path, strerror(-err));
		rc = FEV_EXIT_ERROR;
	}
	source_close(&c->src);
	if (rc == FEV_EXIT_OK)
		fprintf(stderr, "recorded %llu events from '%s' to %s "
				"(%llu missed)\n",
			(unsigned long long)c->w.records, name, c->path,
			(unsigned long long)c->missed);
	return rc;
}

int cmd_record(int argc, char **argv)
{
	static const struct option longopts[] = {
		SOURCE_LONGOPTS,
		{ "group", required_argument, NULL, 'g' },
		{ "cpu", required_argument, NULL, SOURCE_OPT_CPU },
		{ "duration", required_argument, NULL, 'd' },
		{ "instance", required_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct record_cmd r = { .want = UINT64_MAX, .duration_ns = -1,
				.cpu_percent = FEV_TAIL_CPU_FULL,
				.filter = { .cmd = "record", .trace_header = -1 } };
	const char *inst_opt = NULL, *inst, *group = NULL;
	int c, rc = FEV_EXIT_OK, from = FEV_TAIL_LATEST;

	while (rc == FEV_EXIT_OK &&
	       (c = getopt_long(argc, argv, ":k:H:n:g:d:I:h", longopts,
				NULL)) != -1) {
		rc = source_option(c, "record", &r.filter, &from, &r.want);
		if (rc >= 0)
			continue;
		rc = FEV_EXIT_OK;
		if (c == 'g' && fev_group_name_valid(optarg) < 0)
			rc = cli_usage_error("record", "bad --group '%s': 1 to "
						       "%d characters of A-Z "
						       "a-z 0-9 . _ -",
					     optarg, FEV_GROUP_NAME_MAX);
		else if (c == 'g')
			group = optarg;
		else if (c == SOURCE_OPT_CPU)
			rc = source_parse_cpu("record", optarg,
					      &r.cpu_percent);
		else if (c == 'd' &&
			 (r.duration_ns = cli_parse_duration_ns(optarg)) < 0)
			rc = cli_usage_error("record", "bad --duration '%s': a "
						       "duration such as 10s or "
						       "5m",
					     optarg);
		else if (c == 'I')
			inst_opt = optarg;
		else if (c == 'h') {
			record_usage(stdout);
			pub_meta_free(&r.filter);
			return FEV_EXIT_OK;
		} else if (c != 'd')
			rc = cli_bad_option("record", c, argv);
	}
	if (rc == FEV_EXIT_OK && optind + 2 != argc)
		rc = cli_usage_error("record", "'fev record TOPIC|QUEUE FILE': "
					       "a source and a file");
	if (rc == FEV_EXIT_OK && (inst = cli_resolve_instance(inst_opt)) == NULL)
		rc = FEV_EXIT_USAGE;
	if (rc == FEV_EXIT_OK) {
		r.path = argv[optind + 1];
		cli_catch_signals();
		rc = record_run(&r, argv[optind], inst, group, from);
	}
	pub_meta_free(&r.filter);
	return rc;
}
