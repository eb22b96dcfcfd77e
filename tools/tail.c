/*
 * fev tail: show a queue's or topic's events as they pass, without taking
 * them (fev_tail_*, libfabric-ev/src/tail.c).  Producers and consumers
 * never wait for it: it maps the segments read-only and writes nothing.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "event_meta.h"
#include "event_source.h"
#include "fev/fev.h"

/* Bytes of payload the text format shows. */
#define PREVIEW_MAX 64

enum tail_format { TAIL_TEXT, TAIL_JSON };

static void tail_usage(FILE *f)
{
	fputs("Usage: fev tail TOPIC|QUEUE [--key K] [--header NAME=VALUE] "
	      "[--format text|json]\n"
	      "                [--from earliest|latest] [--count N] "
	      "[--timeout DURATION]\n"
	      "\n"
	      "Show events as they pass through a queue, every partition of "
	      "a topic, or one\npartition (TOPIC@K), without consuming them: "
	      "consumers still get every event,\nand no producer or consumer "
	      "ever waits for a tail.  When the ring laps the\ntail (it "
	      "cannot keep up) it says how many events it missed.\n"
	      "\n"
	      "Options:\n"
	      "  -k, --key K              only events with this key (escapes "
	      "\\\\ \\n \\t \\0 \\xHH)\n"
	      "      --key-hex HEX        the same, the key as hex bytes\n"
	      "  -H, --header NAME=VALUE  only events with this header and "
	      "value (repeatable:\n"
	      "                           all must match; names ignore "
	      "case)\n"
	      "      --header-hex NAME=HEX  the same, the value as hex bytes\n"
	      "  -F, --format FORMAT      text: one line per event: time, "
	      "partition, id, flags,\n"
	      "                                 key and headers, length, "
	      "the first 64 payload\n"
	      "                                 bytes (others than "
	      "printable ASCII as \\xHH)\n"
	      "                           json: one object per line, as "
	      "'fev sub --json' with\n"
	      "                                 \"partition\"; a miss is "
	      "{\"missed\":N,\"partition\":P}\n"
	      "  -j, --json               the same as --format json\n"
	      "      --from WHERE         latest: what is published from now "
	      "on (default);\n"
	      "                           earliest: first what the ring still "
	      "holds\n"
	      "  -n, --count N            stop after N events shown\n"
	      "      --cpu PCT            when it cannot keep up, read in "
	      "bursts and rest, so\n"
	      "                           that it takes at most PCT % of a "
	      "CPU from the\n"
	      "                           producers and consumers (default "
	      "2; 100: never\n"
	      "                           rest); what passes meanwhile is "
	      "reported missed\n"
	      "  -t, --timeout DURATION   stop when no event comes for this "
	      "long (2s, 500ms)\n"
	      "  -I, --instance NAME      fabric instance ($FEV_INSTANCE or "
	      "'default')\n"
	      "  -h, --help               show this help\n"
	      "\n"
	      "Examples:\n"
	      "  fev tail orders                        # follow until "
	      "Ctrl-C\n"
	      "  fev tail orders --key customer-42 --from earliest\n"
	      "  fev tail orders@3 --header ce-type=order.placed -n 10\n"
	      "  fev tail jobs --json | jq -r .payload\n"
	      "\n"
	      "Exit status: 0 done (N events, the timeout passed or "
	      "interrupted), 1 error\n(no such queue or topic, deleted, fewer "
	      "than N events before the timeout),\n2 usage error.\n",
	      f);
}

static void print_text(FILE *f, const fev_tail_event *te)
{
	const fev_event *ev = &te->ev;
	char when[48];

	out_iso_time(when, sizeof(when), ev->ts_ns);
	fprintf(f, "%s p=%u id=%llu%s ", when, te->partition,
		(unsigned long long)ev->id,
		ev->flags & FEV_REDELIVERED ? " redelivered" : "");
	meta_print_text(f, ev); /* "key=K NAME=VALUE ...\t", or nothing */
	fprintf(f, "len=%zu ", ev->len);
	meta_print_escaped(f, ev->data,
			   ev->len < PREVIEW_MAX ? ev->len : PREVIEW_MAX, "");
	fputs(ev->len > PREVIEW_MAX ? "...\n" : "\n", f);
}

static void print_missed(FILE *f, enum tail_format fmt, uint64_t n,
			 uint32_t partition)
{
	if (fmt == TAIL_JSON)
		fprintf(f, "{\"missed\":%llu,\"partition\":%u}\n",
			(unsigned long long)n, partition);
	else
		fprintf(f, "missed %llu events of partition %u: the ring "
			   "lapped this tail\n",
			(unsigned long long)n, partition);
}

static void print_event(FILE *f, enum tail_format fmt,
			const fev_tail_event *te)
{
	char extra[32];

	if (fmt == TAIL_TEXT) {
		print_text(f, te);
		return;
	}
	snprintf(extra, sizeof(extra), ",\"partition\":%u", te->partition);
	event_print_json(f, &te->ev, extra);
}

struct tail_cmd {
	struct event_source src;
	struct pub_meta filter;
	enum tail_format fmt;
	uint64_t want, shown;
	int64_t timeout_ns;
	uint32_t cpu_percent;
};

static int tail_loop(struct tail_cmd *c)
{
	while (c->shown < c->want) {
		fev_tail_event te;
		int rc = source_next(&c->src, &te, c->timeout_ns);

		if (rc == -EINTR || rc == -EPIPE)
			return FEV_EXIT_OK;
		if (rc == -ETIMEDOUT)
			return source_timed_out(&c->src, c->shown, c->want);
		if (rc < 0)
			return source_failed(&c->src, rc);
		if (te.missed != 0)
			print_missed(stdout, c->fmt, te.missed, te.partition);
		if (meta_matches(&c->filter, &te.ev)) {
			print_event(stdout, c->fmt, &te);
			c->shown++;
		}
		source_done(&c->src, &te);
		if (ferror(stdout))
			return FEV_EXIT_OK; /* the reader went away */
	}
	return FEV_EXIT_OK;
}

int cmd_tail(int argc, char **argv)
{
	static const struct option longopts[] = {
		SOURCE_LONGOPTS,
		{ "cpu", required_argument, NULL, SOURCE_OPT_CPU },
		{ "format", required_argument, NULL, 'F' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "instance", required_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct tail_cmd t = { .want = UINT64_MAX, .timeout_ns = -1,
			      .cpu_percent = FEV_TAIL_CPU_DEFAULT,
			      .filter = { .cmd = "tail", .trace_header = -1 } };
	const char *inst_opt = NULL, *inst;
	int c, rc, from = FEV_TAIL_LATEST;

	while ((c = getopt_long(argc, argv, ":k:H:n:F:jt:I:h", longopts,
				NULL)) != -1) {
		rc = source_option(c, "tail", &t.filter, &from, &t.want);
		if (rc >= 0) {
			if (rc != FEV_EXIT_OK)
				goto out;
			continue;
		}
		switch (c) {
		case SOURCE_OPT_CPU:
			rc = source_parse_cpu("tail", optarg, &t.cpu_percent);
			if (rc != FEV_EXIT_OK)
				goto out;
			break;
		case 'F':
			if (strcmp(optarg, "text") == 0)
				t.fmt = TAIL_TEXT;
			else if (strcmp(optarg, "json") == 0)
				t.fmt = TAIL_JSON;
			else {
				rc = cli_usage_error("tail",
						     "bad --format '%s': text "
						     "or json",
						     optarg);
				goto out;
			}
			break;
		case 'j':
			t.fmt = TAIL_JSON;
			break;
		case 't':
			t.timeout_ns = cli_parse_duration_ns(optarg);
			if (t.timeout_ns < 0) {
				rc = cli_usage_error("tail",
						     "bad --timeout '%s': a "
						     "duration such as 2s or "
						     "500ms",
						     optarg);
				goto out;
			}
			break;
		case 'I':
			inst_opt = optarg;
			break;
		case 'h':
			tail_usage(stdout);
			rc = FEV_EXIT_OK;
			goto out;
		default:
			rc = cli_bad_option("tail", c, argv);
			goto out;
		}
	}
	rc = FEV_EXIT_USAGE;
	if (optind >= argc) {
		rc = cli_usage_error("tail", "which queue or topic? 'fev tail "
					     "NAME'");
		goto out;
	}
	if (optind + 1 < argc) {
		rc = cli_usage_error("tail", "one queue or topic at a time "
					     "('%s' is extra)",
				     argv[optind + 1]);
		goto out;
	}
	inst = cli_resolve_instance(inst_opt);
	if (inst == NULL)
		goto out;
	cli_catch_signals();
	rc = source_open_tail(&t.src, argv[optind], inst, from,
			      t.cpu_percent);
	if (rc == FEV_EXIT_OK) {
		rc = tail_loop(&t);
		source_close(&t.src);
	}
out:
	pub_meta_free(&t.filter);
	return rc;
}
