/*
 * fev replay: the events of a recording (record_file.c, the format of
 * doc/record-format.md) published again.  The whole file is checked
 * first; then each event goes through fev pub's target (pub_target.c): a
 * topic routes a key to its partition (Kafka's murmur2), TOPIC@K and a
 * queue take every event.  --strip-trace drops the W3C trace headers, so
 * replayed events start no hops in the original traces.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "clock.h"
#include "event_meta.h"
#include "event_source.h"
#include "fev/fev.h"
#include "pub_target.h"
#include "record_file.h"

/* Longest send between two looks at Ctrl-C. */
#define SEND_SLICE_NS (250 * 1000 * 1000)
/* A target full under the reject policy is tried again this often. */
#define REJECT_RETRY_NS (1000 * 1000)

/* ---- replay ------------------------------------------------------------- */

static void replay_usage(FILE *f)
{
	fputs("Usage: fev replay FILE TOPIC|TOPIC@K|QUEUE [--speed X | --max] "
	      "[--strip-trace]\n"
	      "                  [--key K] [--header NAME=VALUE] [--count N]\n"
	      "\n"
	      "Publish the events of a recording (fev record) into a topic, "
	      "one partition\nof a topic (TOPIC@K: every event goes there) or "
	      "a queue, with their keys,\nheaders and payloads byte for byte: "
	      "into a topic, a keyed event goes to the\npartition of its key "
	      "(Kafka's murmur2), an unkeyed one round-robin.  The\nwhole "
	      "file is checked first: a truncated or corrupt recording "
	      "publishes\nnothing.\n"
	      "\n"
	      "Options:\n"
	      "      --max                as fast as the target takes them "
	      "(default)\n"
	      "      --speed X            at X times the recorded pace (1: as "
	      "recorded, 10:\n"
	      "                           ten times faster), from the commit "
	      "times\n"
	      "      --strip-trace        drop the traceparent and tracestate "
	      "headers, so\n"
	      "                           replayed events do not join (and "
	      "are not recorded\n"
	      "                           in) the traces of the originals\n"
	      "  -k, --key K, --key-hex HEX            only events with this "
	      "key\n"
	      "  -H, --header NAME=VALUE, --header-hex NAME=HEX\n"
	      "                           only events with this header "
	      "(repeatable)\n"
	      "  -n, --count N            the first N events that pass the "
	      "filters (the file\n"
	      "                           is read no further)\n"
	      "  -I, --instance NAME      fabric instance ($FEV_INSTANCE or "
	      "'default')\n"
	      "  -h, --help               show this help\n"
	      "\n"
	      "Examples:\n"
	      "  fev replay orders.fevrec orders-test\n"
	      "  fev replay incident.fevrec orders --speed 1 --key "
	      "customer-42\n"
	      "  fev replay incident.fevrec orders-test@3 --strip-trace\n"
	      "\n"
	      "Exit status: 0 every event published (or interrupted), 1 "
	      "error (a truncated\nor corrupt file, named with the offset; "
	      "no such topic; an event the target\ncannot hold), 2 usage "
	      "error.\n",
	      f);
}

struct replay_cmd {
	struct rec_reader r;
	struct pub_meta filter;
	struct pub_target t;
	const char *path, *target;
	bool strip_trace;
	uint64_t want, sent;
	double speed; /* 0: as fast as possible */
	uint64_t first_ts, start_ns;
};

/* Every record the replay will send is whole: 0, or the exit status. */
static int replay_check(struct replay_cmd *c)
{
	char err[REC_ERR_MAX];
	struct rec_record rec;
	uint64_t n = 0;
	int rc;

	while (n < c->want && (rc = rec_next(&c->r, &rec, err)) == 1)
		if (meta_matches(&c->filter, &rec.te.ev))
			n++;
	if (n < c->want && rc < 0) {
		cli_error("%s: %s; nothing was published", c->path, err);
		return FEV_EXIT_ERROR;
	}
	rec_rewind(&c->r);
	return FEV_EXIT_OK;
}

/* --speed: wait until this event's time, scaled, has come. */
static void pace(struct replay_cmd *c, uint64_t ts_ns)
{
	uint64_t due, now;

	if (c->speed <= 0)
		return;
	if (c->sent == 0 || ts_ns < c->first_ts) {
		if (c->sent == 0) {
			c->first_ts = ts_ns;
			c->start_ns = fev__now_monotonic_ns();
		}
		return;
	}
	due = c->start_ns + (uint64_t)((double)(ts_ns - c->first_ts) /
				       c->speed);
	now = fev__now_monotonic_ns();
	if (due > now)
		cli_sleep_ns((int64_t)(due - now));
}

static bool is_trace_header(const fev_header *h)
{
	static const char *const names[] = { FEV_HDR_TRACEPARENT,
					     FEV_HDR_TRACESTATE };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (h->name_len == strlen(names[i]) &&
		    strncasecmp(h->name, names[i], h->name_len) == 0)
			return true;
	return false;
}

/* --strip-trace: o without its W3C trace headers (names are
 * case-insensitive, as fev_header_get() reads them). */
static void strip_trace(fev_send_opts *o, fev_header *hs)
{
	size_t kept = 0;

	for (size_t i = 0; i < o->n_headers; i++)
		if (!is_trace_header(&hs[i]))
			hs[kept++] = hs[i];
	o->n_headers = kept;
	if (kept == 0)
		o->headers = NULL;
}

static int send_one(struct replay_cmd *c, const fev_event *ev)
{
	fev_send_opts o;
	fev_header *hs;
	int rc = meta_send_opts_of(ev, &o, &hs);

	if (rc == 0 && c->strip_trace)
		strip_trace(&o, hs);

	while (rc == 0 || rc == -ETIMEDOUT || rc == -EAGAIN) {
		if (cli_stop) {
			rc = -EINTR;
			break;
		}
		if (rc == -EAGAIN) /* full, under the reject policy */
			cli_sleep_ns(REJECT_RETRY_NS);
		rc = pub_target_send(&c->t, &o, ev->data, ev->len,
				     SEND_SLICE_NS);
		if (rc == 0)
			break;
	}
	free(hs);
	return rc;
}

static int replay_loop(struct replay_cmd *c)
{
	char err[REC_ERR_MAX];
	struct rec_record rec;
	int rc;

	while (c->sent < c->want && (rc = rec_next(&c->r, &rec, err)) == 1) {
		if (!meta_matches(&c->filter, &rec.te.ev))
			continue;
		pace(c, rec.te.ev.ts_ns);
		rc = send_one(c, &rec.te.ev);
		if (rc == -EINTR)
			break;
		if (rc < 0) {
			cli_error("publishing record %llu (offset %zu) to '%s' "
				  "failed: %s",
				  (unsigned long long)c->r.index, rec.offset,
				  c->target, fev_strerror(rc));
			return FEV_EXIT_ERROR;
		}
		c->sent++;
	}
	fprintf(stderr, "replayed %llu events from %s into '%s'\n",
		(unsigned long long)c->sent, c->path, c->target);
	return FEV_EXIT_OK;
}

static int replay_run(struct replay_cmd *c, const char *inst)
{
	char err[REC_ERR_MAX];
	int rc;

	if (rec_open(&c->r, c->path, err) < 0) {
		cli_error("%s: %s", c->path, err);
		return FEV_EXIT_ERROR;
	}
	rc = replay_check(c);
	if (rc == FEV_EXIT_OK &&
	    (rc = pub_target_open(&c->t, c->target, inst)) < 0) {
		cli_error("cannot publish to '%s' of instance %s: %s",
			  c->target, inst, fev_strerror(rc));
		rc = rc == -EINVAL ? FEV_EXIT_USAGE : FEV_EXIT_ERROR;
	}
	if (rc == FEV_EXIT_OK) {
		rc = replay_loop(c);
		pub_target_close(&c->t);
	}
	rec_close_reader(&c->r);
	return rc;
}

enum { REPLAY_OPT_STRIP_TRACE = 0x3000 };

/* --speed, --max, --strip-trace, --instance: the exit status; -1 for
 * another option. */
static int replay_option(struct replay_cmd *c, int opt, const char **inst)
{
	char *end;

	switch (opt) {
	case 'x':
		c->speed = 0;
		return FEV_EXIT_OK;
	case 's':
		c->speed = strtod(optarg, &end);
		if (*end != '\0' || !isfinite(c->speed) || c->speed <= 0)
			return cli_usage_error("replay", "bad --speed '%s': a "
							 "number above 0 "
							 "(1: as recorded)",
					       optarg);
		return FEV_EXIT_OK;
	case 'I':
		*inst = optarg;
		return FEV_EXIT_OK;
	case REPLAY_OPT_STRIP_TRACE:
		c->strip_trace = true;
		return FEV_EXIT_OK;
	}
	return -1;
}

int cmd_replay(int argc, char **argv)
{
	static const struct option longopts[] = {
		SOURCE_LONGOPTS,
		{ "speed", required_argument, NULL, 's' },
		{ "max", no_argument, NULL, 'x' },
		{ "strip-trace", no_argument, NULL, REPLAY_OPT_STRIP_TRACE },
		{ "instance", required_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct replay_cmd r = { .want = UINT64_MAX,
				.filter = { .cmd = "replay", .trace_header = -1 } };
	const char *inst_opt = NULL, *inst;
	int c, rc = FEV_EXIT_OK, from = 0;

	while (rc == FEV_EXIT_OK &&
	       (c = getopt_long(argc, argv, ":k:H:n:I:h", longopts, NULL)) !=
		       -1) {
		if (c == SOURCE_OPT_FROM) {
			rc = cli_usage_error("replay", "--from is for fev tail "
						       "and fev record");
			continue;
		}
		rc = source_option(c, "replay", &r.filter, &from, &r.want);
		if (rc >= 0)
			continue;
		if (c == 'h') {
			replay_usage(stdout);
			pub_meta_free(&r.filter);
			return FEV_EXIT_OK;
		}
		rc = replay_option(&r, c, &inst_opt);
		if (rc < 0)
			rc = cli_bad_option("replay", c, argv);
	}
	if (rc == FEV_EXIT_OK && optind + 2 != argc)
		rc = cli_usage_error("replay", "'fev replay FILE TOPIC|QUEUE': "
					       "a recording and a target");
	if (rc == FEV_EXIT_OK && (inst = cli_resolve_instance(inst_opt)) == NULL)
		rc = FEV_EXIT_USAGE;
	if (rc == FEV_EXIT_OK) {
		r.path = argv[optind];
		r.target = argv[optind + 1];
		cli_catch_signals();
		rc = replay_run(&r, inst);
	}
	pub_meta_free(&r.filter);
	return rc;
}
