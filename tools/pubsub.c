/*
 * fev pub and fev sub: put events into a queue and take them out, through
 * the client library, as any producer or consumer would.
 *
 * Neither needs fevd.  Both wait in short slices so that Ctrl-C is seen
 * between two events: sub never leaves an event half-consumed, and an event
 * it could not print is left unreleased, so fevd delivers it again.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "event_meta.h"
#include "fev/fev.h"
#include "pub_target.h"
#include "segment.h"

#define SLICE_NS (250 * 1000 * 1000)
#define PUB_BATCH 32

static int open_error(const char *queue, const char *inst, int rc)
{
	switch (rc) {
	case -ENOENT:
		cli_error("no queue '%s' in instance %s: create it with 'fev "
			  "queue create %s' or in fevd's config",
			  queue, inst, queue);
		break;
	case -EACCES:
		cli_error("permission denied on queue '%s' of instance %s: "
			  "uid %u may not use it (see 'ls -l /dev/shm/fev.%s.%s')",
			  queue, inst, (unsigned)geteuid(), inst, queue);
		break;
	case -EINVAL:
		cli_error("bad queue name '%s': queue names are 1 to %d "
			  "characters of A-Z a-z 0-9 . _ -",
			  queue, FEV_NAME_MAX);
		return FEV_EXIT_USAGE;
	default:
		cli_error("cannot open queue '%s' of instance %s: %s", queue,
			  inst, fev_strerror(rc));
	}
	return FEV_EXIT_ERROR;
}

static int open_queue(const char *queue, const char *inst, unsigned roles,
		      const char *group, fev_queue **q)
{
	fev_open_opts o = { .struct_size = sizeof(o), .instance = inst,
			    .group = group };
	int rc = fev_open(queue, roles, &o, q);

	if (rc == -ENOENT && group != NULL &&
	    fev_queue_stats(queue, inst, &(fev_stats){ 0 }) == 0) {
		cli_error("no group '%s' on '%s' of instance %s: create it "
			  "with 'fev group create TOPIC %s'",
			  group, queue, inst, group);
		return FEV_EXIT_ERROR;
	}
	return rc < 0 ? open_error(queue, inst, rc) : FEV_EXIT_OK;
}

/* ---- pub ---------------------------------------------------------------- */

static void pub_usage(FILE *f)
{
	fputs("Usage: fev pub QUEUE [-m TEXT | -f FILE | --size BYTES] "
	      "[OPTIONS]\n"
	      "\n"
	      "Publish events to QUEUE: the text of -m once, or one event per "
	      "line read from\nstandard input or FILE, or synthetic events of "
	      "--size bytes for load tests.\n"
	      "To a topic of several partitions, an event with --key goes to "
	      "the partition\nKafka's partitioner gives the key (murmur2), "
	      "events without one to each\npartition in turn; TOPIC@k writes "
	      "partition k only.\n"
	      "\n"
	      "Options:\n"
	      "  -m, --message TEXT    publish TEXT (--count times; default "
	      "once)\n"
	      "  -f, --file FILE       read events from FILE instead of "
	      "standard input\n"
	      "  -W, --whole           the whole input is one event (binary "
	      "data)\n"
	      "  -x, --hex             each input line is hex bytes "
	      "(\"00ff 10 a0\")\n"
	      "  -s, --size BYTES      synthetic events of BYTES (64, 1K), "
	      "until --count\n"
	      "                        events or Ctrl-C\n"
	      "  -c, --count N         publish N events (10k, 1M), or stop "
	      "after N input lines\n"
	      "  -r, --rate N/s        at most N events per second (1000, "
	      "10k/s, 60/m)\n"
	      "  -t, --timeout TIME    give up when the queue stays full this "
	      "long (2s, 500ms)\n"
	      "  -k, --key KEY         each event's key (up to 255 bytes; "
	      "escapes as below)\n"
	      "      --key-hex HEX     the key as hex bytes\n"
	      "  -H, --header N=V      add header N (an HTTP token, e.g. "
	      "content-type) with\n"
	      "                        value V; repeat for more, in order.  "
	      "KEY and V take\n"
	      "                        \\\\, \\n, \\r, \\t, \\0 "
	      "and \\xHH for any byte\n"
	      "      --header-hex N=HEX  the value as hex bytes\n"
	      "      --trace           each event starts a sampled W3C trace "
	      "(a traceparent\n"
	      "                        header; its hops are recorded, see "
	      "'fev trace');\n"
	      "                        each traceparent is printed on "
	      "standard error\n"
	      "      --trace-unsampled  the same, not sampled (carried, not "
	      "recorded)\n"
	      "  -q, --quiet           no summary on standard error\n"
	      "  -v, --verbose         the summary even when standard error is "
	      "not a terminal\n"
	      "  -I, --instance NAME   fabric instance (default: "
	      "$FEV_INSTANCE or 'default')\n"
	      "  -h, --help            show this help\n"
	      "\n"
	      "Examples:\n"
	      "  fev pub jobs -m 'resize photo 42'\n"
	      "  tail -F app.log | fev pub logs\n"
	      "  fev pub blobs --whole -f picture.png\n"
	      "  fev pub load --size 256 --count 1M --rate 50k/s\n"
	      "  fev pub orders -m '{}' --key order-42 -H "
	      "content-type=application/json\n"
	      "  fev pub orders -m '{}' --trace\n"
	      "  fev pub orders@3 -m 'to partition 3 only'\n"
	      "\n"
	      "Exit status: 0 every event published, 1 error (no such queue, "
	      "queue full under\nthe reject policy, event too large, "
	      "interrupted), 2 usage error.\n",
	      f);
}

struct pub {
	struct pub_target to; /* a queue, a partition or a whole topic */
	const char *queue;
	uint32_t max_event;
	int policy;
	int64_t timeout_ns; /* -1: wait as long as it takes */
	const fev_send_opts *opts; /* key and headers; NULL: none */
	struct pub_meta *meta;     /* a new trace per event with --trace */
	bool quiet;
	double rate;	    /* events per second; 0: as fast as possible */
	uint64_t start_ns, sent, bytes;
};

/* Sleep until event number p->sent is due under --rate. */
static void pace(struct pub *p)
{
	double after_ns;
	uint64_t due, now;

	if (p->rate <= 0)
		return;
	/* In double, then saturated: a tiny rate (1e-10/s) puts the next
	 * event centuries away, past what a uint64_t holds; it must wait
	 * (until Ctrl-C), not wrap around to "now". */
	after_ns = (double)p->sent * 1e9 / p->rate;
	due = after_ns >= (double)(UINT64_MAX - p->start_ns) ?
		      UINT64_MAX :
		      p->start_ns + (uint64_t)after_ns;
	while (!cli_stop && (now = fev__now_monotonic_ns()) < due)
		cli_sleep_ns(due - now > SLICE_NS ? SLICE_NS :
						    (int64_t)(due - now));
}

static int send_error(struct pub *p, int rc, size_t len)
{
	switch (rc) {
	case -EAGAIN:
		cli_error("queue '%s' is full and its policy is reject: "
			  "published %llu events, the rest was not",
			  p->queue, (unsigned long long)p->sent);
		break;
	case -ETIMEDOUT:
		cli_error("queue '%s' stayed full for the whole --timeout: "
			  "published %llu events, the rest was not (is a "
			  "consumer running?)",
			  p->queue, (unsigned long long)p->sent);
		break;
	case -EMSGSIZE:
		cli_error("an event of %zu bytes%s is larger than queue '%s' "
			  "takes (max event %u bytes)",
			  len, p->opts != NULL ? " with its key and headers" : "",
			  p->queue, p->max_event);
		break;
	case -EINTR:
		cli_error("interrupted: published %llu events",
			  (unsigned long long)p->sent);
		break;
	default:
		cli_error("publishing to queue '%s' failed: %s", p->queue,
			  fev_strerror(rc));
	}
	return FEV_EXIT_ERROR;
}

/* Send n events (a batch when n > 1), waiting in slices; count or -errno. */
static int send_some(struct pub *p, const struct iovec *iov, size_t n)
{
	uint64_t give_up = p->timeout_ns < 0 ? UINT64_MAX :
			   fev__now_monotonic_ns() + (uint64_t)p->timeout_ns;
	char tp[FEV_TRACEPARENT_LEN + 1];

	if (n == 1 && p->meta->trace_header >= 0) {
		pub_meta_trace_next(p->meta, tp);
		if (!p->quiet)
			fprintf(stderr, "traceparent %s\n", tp);
	}

	for (;;) {
		uint64_t now = fev__now_monotonic_ns();
		int64_t slice = give_up - now < SLICE_NS ?
					(int64_t)(give_up - now) :
					SLICE_NS;
		int rc;

		if (cli_stop)
			return -EINTR;
		if (now >= give_up)
			return -ETIMEDOUT;
		rc = n == 1 ? pub_target_send(&p->to, p->opts,
					      iov[0].iov_base, iov[0].iov_len,
					      slice) :
			      pub_target_send_batch(&p->to, iov, n, slice);
		if (rc == 0)
			rc = 1;
		if (rc != -ETIMEDOUT)
			return rc;
	}
}

static int pub_one(struct pub *p, const void *data, size_t len)
{
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	int rc;

	pace(p);
	rc = send_some(p, &iov, 1);
	if (rc < 0)
		return send_error(p, rc, len);
	p->sent++;
	p->bytes += len;
	return FEV_EXIT_OK;
}

/* The same payload count times; batched when not rate limited. */
static int pub_repeat(struct pub *p, const uint8_t *data, size_t len,
		      uint64_t count, bool number_them)
{
	struct iovec iov[PUB_BATCH];
	uint8_t *bufs = NULL;

	if (len > p->max_event)
		return send_error(p, -EMSGSIZE, len);
	if (number_them && len > 0) {
		bufs = malloc(PUB_BATCH * len);
		if (bufs == NULL) {
			cli_error("out of memory for %zu-byte events", len);
			return FEV_EXIT_ERROR;
		}
		for (size_t i = 0; i < PUB_BATCH; i++)
			memset(bufs + i * len, 'x', len);
	}
	while (p->sent < count && !cli_stop) {
		/* Batches carry no key or headers, and go to one
		 * partition: one at a time then. */
		size_t n = p->rate > 0 || p->opts != NULL ||
					   !pub_target_batches(&p->to) ?
				   1 :
				   PUB_BATCH;
		int rc;

		if (count - p->sent < n)
			n = (size_t)(count - p->sent);
		for (size_t i = 0; i < n; i++) {
			iov[i].iov_base = bufs ? bufs + i * len : (void *)data;
			iov[i].iov_len = len;
			if (bufs != NULL) {
				/* Synthetic payload: its sequence number,
				 * then filler, so a reader can spot gaps. */
				char num[24];
				int k = snprintf(num, sizeof(num), "%llu ",
						 (unsigned long long)(p->sent +
								      i));

				memcpy(bufs + i * len, num,
				       (size_t)k < len ? (size_t)k : len);
			}
		}
		pace(p);
		rc = send_some(p, iov, n);
		if (rc < 0) {
			free(bufs);
			return send_error(p, rc, len);
		}
		p->sent += (uint64_t)rc;
		p->bytes += (uint64_t)rc * len;
	}
	free(bufs);
	return cli_stop ? send_error(p, -EINTR, 0) : FEV_EXIT_OK;
}

static int pub_whole(struct pub *p, FILE *in)
{
	size_t cap = 4096, len = 0;
	uint8_t *buf = malloc(cap);
	int rc;

	while (buf != NULL) {
		size_t n = fread(buf + len, 1, cap - len, in);

		len += n;
		if (len > p->max_event)
			break;
		if (n == 0)
			break;
		if (len == cap) {
			uint8_t *grown = realloc(buf, cap * 2);

			if (grown == NULL) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = grown;
			cap *= 2;
		}
	}
	if (buf == NULL) {
		cli_error("out of memory reading the input");
		return FEV_EXIT_ERROR;
	}
	if (ferror(in)) {
		cli_error("reading the input failed: %s", strerror(errno));
		free(buf);
		return FEV_EXIT_ERROR;
	}
	rc = len > p->max_event ? send_error(p, -EMSGSIZE, len) :
				  pub_one(p, buf, len);
	free(buf);
	return rc;
}

static int pub_lines(struct pub *p, FILE *in, uint64_t count, bool hex)
{
	char *line = NULL;
	size_t cap = 0;
	uint8_t *bin = NULL;
	ssize_t n;
	int rc = FEV_EXIT_OK;

	if (hex && (bin = malloc(p->max_event + 1)) == NULL) {
		cli_error("out of memory");
		return FEV_EXIT_ERROR;
	}
	while (rc == FEV_EXIT_OK && p->sent < count && !cli_stop) {
		errno = 0;
		n = getline(&line, &cap, in);
		if (n < 0) {
			if (errno == EINTR && !cli_stop) {
				clearerr(in);
				continue;
			}
			if (ferror(in) && !cli_stop) {
				cli_error("reading the input failed: %s",
					  strerror(errno));
				rc = FEV_EXIT_ERROR;
			}
			break;
		}
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (!hex) {
			rc = pub_one(p, line, (size_t)n);
			continue;
		}
		ssize_t len = out_hex_decode(line, (size_t)n, bin,
					     p->max_event);
		if (len == -2) {
			rc = send_error(p, -EMSGSIZE, (size_t)n / 2);
		} else if (len < 0) {
			cli_error("line %llu is not hex bytes: '%.40s'",
				  (unsigned long long)p->sent + 1, line);
			rc = FEV_EXIT_ERROR;
		} else {
			rc = pub_one(p, bin, (size_t)len);
		}
	}
	free(line);
	free(bin);
	if (rc == FEV_EXIT_OK && cli_stop)
		rc = send_error(p, -EINTR, 0);
	return rc;
}

static void pub_summary(const struct pub *p)
{
	double s = (double)(fev__now_monotonic_ns() - p->start_ns) / 1e9;
	char bytes[16], rate[16];

	out_size(bytes, sizeof(bytes), p->bytes);
	out_rate(rate, sizeof(rate), s > 0 ? (double)p->sent / s : 0);
	fprintf(stderr, "published %llu events (%s) to '%s' in %.2f s, %s/s\n",
		(unsigned long long)p->sent, bytes, p->queue, s, rate);
	if (p->to.topic == NULL)
		return;
	fprintf(stderr, "by partition:");
	for (uint32_t k = 0; k < p->to.partitions; k++)
		fprintf(stderr, " %llu",
			(unsigned long long)p->to.per_partition[k]);
	fputc('\n', stderr);
}

/* fev pub, with meta (the --key and --header options) freed by cmd_pub. */
static int pub_main(int argc, char **argv, struct pub_meta *meta)
{
	static const struct option longopts[] = {
		{ "message", required_argument, NULL, 'm' },
		{ "file", required_argument, NULL, 'f' },
		{ "whole", no_argument, NULL, 'W' },
		{ "hex", no_argument, NULL, 'x' },
		{ "size", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'c' },
		{ "rate", required_argument, NULL, 'r' },
		{ "timeout", required_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "key", required_argument, NULL, 'k' },
		{ "key-hex", required_argument, NULL, 'K' },
		{ "header", required_argument, NULL, 'H' },
		{ "header-hex", required_argument, NULL, 'X' },
		{ "trace", no_argument, NULL, 'T' },
		{ "trace-unsampled", no_argument, NULL, 'U' },
		{ "instance", required_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	fev_send_opts send_opts;
	const char *msg = NULL, *file = NULL, *inst_opt = NULL, *inst;
	bool whole = false, hex = false, quiet = false, verbose = false;
	bool has_size = false, has_count = false;
	uint64_t size = 0, count = UINT64_MAX;
	struct pub p = { .timeout_ns = -1 };
	fev_stats st;
	FILE *in = stdin;
	int c, rc;

	while ((c = getopt_long(argc, argv, ":m:f:Wxs:c:r:t:qvk:H:I:h",
				longopts, NULL)) != -1) {
		switch (c) {
		case 'k':
		case 'K':
			rc = pub_meta_key(meta, optarg, c == 'K');
			if (rc != FEV_EXIT_OK)
				return rc;
			break;
		case 'H':
		case 'X':
			rc = pub_meta_header(meta, optarg, c == 'X');
			if (rc != FEV_EXIT_OK)
				return rc;
			break;
		case 'T':
		case 'U':
			rc = pub_meta_trace(meta, c == 'T' ?
							  FEV_TRACE_FLAG_SAMPLED :
							  0);
			if (rc != FEV_EXIT_OK)
				return rc;
			break;
		case 'm':
			msg = optarg;
			break;
		case 'f':
			file = optarg;
			break;
		case 'W':
			whole = true;
			break;
		case 'x':
			hex = true;
			break;
		case 's':
			if (!cli_parse_size(optarg, &size))
				return cli_usage_error("pub", "bad --size '%s': "
							      "bytes such as "
							      "64 or 1K",
						       optarg);
			has_size = true;
			break;
		case 'c':
			if (!cli_parse_count(optarg, &count))
				return cli_usage_error("pub",
						       "bad --count '%s': a "
						       "whole number such as "
						       "100 or 10k",
						       optarg);
			has_count = true;
			break;
		case 'r':
			if (!cli_parse_rate(optarg, &p.rate))
				return cli_usage_error("pub",
						       "bad --rate '%s': events "
						       "per second such as "
						       "1000, 10k/s or 60/m",
						       optarg);
			break;
		case 't':
			p.timeout_ns = cli_parse_duration_ns(optarg);
			if (p.timeout_ns < 0)
				return cli_usage_error("pub",
						       "bad --timeout '%s': a "
						       "duration such as 2s or "
						       "500ms",
						       optarg);
			break;
		case 'q':
			quiet = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'I':
			inst_opt = optarg;
			break;
		case 'h':
			pub_usage(stdout);
			return FEV_EXIT_OK;
		default:
			return cli_bad_option("pub", c, argv);
		}
	}
	if (optind >= argc)
		return cli_usage_error("pub", "which queue? 'fev pub QUEUE'");
	if (optind + 1 < argc)
		return cli_usage_error("pub", "one queue at a time ('%s' is "
					      "extra); quote -m TEXT with "
					      "spaces",
				       argv[optind + 1]);
	if ((msg != NULL) + (file != NULL) + has_size > 1)
		return cli_usage_error("pub", "choose one of -m, -f and --size");
	if ((whole || hex) && (msg != NULL || has_size))
		return cli_usage_error("pub", "--whole and --hex read input; "
					      "they do not go with -m or "
					      "--size");
	if (whole && hex)
		return cli_usage_error("pub", "choose one of --whole and --hex");
	p.queue = argv[optind];
	p.opts = pub_meta_opts(meta, &send_opts);
	p.meta = meta;
	p.quiet = quiet;
	inst = cli_resolve_instance(inst_opt);
	if (inst == NULL)
		return FEV_EXIT_USAGE;
	if (file != NULL && strcmp(file, "-") != 0 &&
	    (in = fopen(file, "rb")) == NULL) {
		cli_error("cannot read %s: %s", file, strerror(errno));
		return FEV_EXIT_ERROR;
	}
	cli_catch_signals();
	rc = pub_target_open(&p.to, p.queue, inst);
	if (rc < 0) {
		rc = open_error(p.queue, inst, rc);
		goto out;
	}
	if (fev_queue_stats(p.queue, inst, &st) == 0) {
		p.max_event = st.max_event;
		p.policy = st.policy;
	}
	p.start_ns = fev__now_monotonic_ns();
	if (msg != NULL)
		rc = pub_repeat(&p, (const uint8_t *)msg, strlen(msg),
				has_count ? count : 1, false);
	else if (has_size)
		rc = pub_repeat(&p, NULL, size, count, true);
	else if (whole)
		rc = pub_whole(&p, in);
	else
	{
		if (in == stdin && isatty(STDIN_FILENO) && !quiet)
			fprintf(stderr, "fev: reading events from the terminal, "
					"one per line; Ctrl-D ends\n");
		rc = pub_lines(&p, in, count, hex);
	}
	if (!quiet && (verbose || isatty(STDERR_FILENO)))
		pub_summary(&p);
	pub_target_close(&p.to);
out:
	if (in != stdin)
		fclose(in);
	return rc;
}

int cmd_pub(int argc, char **argv)
{
	struct pub_meta meta = { .trace_header = -1 };
	int rc = pub_main(argc, argv, &meta);

	pub_meta_free(&meta);
	return rc;
}

/* ---- sub ---------------------------------------------------------------- */

enum sub_format { FMT_TEXT, FMT_JSON, FMT_HEX, FMT_RAW };

static void sub_usage(FILE *f)
{
	fputs("Usage: fev sub QUEUE [-n N] [--format text|json|hex|raw] "
	      "[--timeout DURATION]\n"
	      "\n"
	      "Consume events from QUEUE and print them, one per line.  "
	      "Consuming takes the\nevents: other consumers of the queue "
	      "will not see them.\n"
	      "\n"
	      "Options:\n"
	      "  -n, --count N            stop after N events\n"
	      "  -F, --format FORMAT      text: the payload and a newline "
	      "(default); an event\n"
	      "                                 with a key or headers starts "
	      "with them:\n"
	      "                                 key=K NAME=VALUE ... and a tab "
	      "(bytes other\n"
	      "                                 than printable ASCII as "
	      "\\xHH)\n"
	      "                           json: one object per line: id, "
	      "ts_ns, time, flags,\n"
	      "                                 redelivered, gap, key and "
	      "key_encoding, headers\n"
	      "                                 ([{name, value, "
	      "value_encoding}], in order),\n"
	      "                                 len, encoding (utf-8 or "
	      "base64) and payload\n"
	      "                           hex:  a header line and a hex dump "
	      "per event\n"
	      "                           raw:  the payload bytes only, "
	      "nothing between events\n"
	      "  -j, --json               the same as --format json\n"
	      "  -t, --timeout DURATION   stop when no event comes for this "
	      "long (2s, 500ms)\n"
	      "  -g, --group GROUP        consume a topic's partition as a "
	      "member of GROUP\n"
	      "                           (default: the group 'default'): "
	      "each group sees\n"
	      "                           every event, its members share "
	      "them\n"
	      "  -I, --instance NAME      fabric instance ($FEV_INSTANCE or "
	      "'default')\n"
	      "  -h, --help               show this help\n"
	      "\n"
	      "Examples:\n"
	      "  fev sub jobs                       # follow until Ctrl-C\n"
	      "  fev sub jobs -n 10 --timeout 5s\n"
	      "  fev sub jobs --json | jq -r .payload\n"
	      "  fev sub orders@2 --group billing\n"
	      "  fev sub blobs -n 1 --format raw > picture.png\n"
	      "\n"
	      "Exit status: 0 done (N events, the timeout passed or "
	      "interrupted), 1 error\n(no such queue, queue deleted, fewer "
	      "than N events before the timeout),\n2 usage error.  An event "
	      "that could not be written out is not released: fevd\ndelivers "
	      "it again.\n",
	      f);
}

static void format_event(FILE *f, const fev_event *ev, enum sub_format fmt)
{
	char when[48];

	switch (fmt) {
	case FMT_TEXT:
		meta_print_text(f, ev);
		fwrite(ev->data, 1, ev->len, f);
		fputc('\n', f);
		break;
	case FMT_RAW:
		fwrite(ev->data, 1, ev->len, f);
		break;
	case FMT_JSON:
		event_print_json(f, ev, NULL);
		break;
	case FMT_HEX:
		out_iso_time(when, sizeof(when), ev->ts_ns);
		fprintf(f, "# event %llu  %s  %zu bytes%s%s\n",
			(unsigned long long)ev->id, when, ev->len,
			ev->flags & FEV_REDELIVERED ? "  redelivered" : "",
			ev->flags & FEV_GAP ? "  gap" : "");
		meta_print_hex(f, ev);
		out_hexdump(f, ev->data, ev->len);
		break;
	}
}

/*
 * Write all of buf to fd with write(2), no stdio buffer in between: when
 * this returns 0 the bytes are in the kernel's hands (a pipe's buffer, a
 * file), so the event may be released.  A signal does not stop it half
 * way: half an event out and the whole event delivered again would print
 * it twice.  0 or -errno.
 */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };

			poll(&pfd, 1, -1);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Print one event; 0 once its bytes are written, else -errno. */
static int print_event(const fev_event *ev, enum sub_format fmt)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	int rc;

	if (mem == NULL)
		return -ENOMEM;
	format_event(mem, ev, fmt);
	rc = fclose(mem) == 0 ? write_all(STDOUT_FILENO, buf, len) : -ENOMEM;
	free(buf);
	return rc;
}

/*
 * Has whoever reads our output gone?  A pipe's write end polls POLLERR once
 * its reader closed it; checked while waiting for events, so a sub on a
 * quiet queue ends with its reader instead of holding on forever.
 */
static bool output_gone(void)
{
	struct pollfd pfd = { .fd = STDOUT_FILENO, .events = 0 };

	return poll(&pfd, 1, 0) == 1 &&
	       (pfd.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0;
}

struct sub {
	fev_queue *q;
	const char *queue;
	const char *group; /* of a topic's partition; NULL: "default" */
	enum sub_format fmt;
	uint64_t want; /* UINT64_MAX: no limit */
	int64_t timeout_ns;
	uint64_t got;
};

/* The group lost events before ev (a drop group): say how many so far. */
static void say_gap(const struct sub *s, const fev_event *ev)
{
	uint64_t lost = 0;

	fev_group_dropped(s->q, &lost);
	fprintf(stderr,
		"fev: group '%s' of '%s' lost events before event %llu "
		"(policy drop; %llu lost so far)\n",
		s->group != NULL ? s->group : "default", s->queue,
		(unsigned long long)ev->id, (unsigned long long)lost);
}

/*
 * Wait for one event in slices; 0, -ETIMEDOUT (idle timeout), -EINTR,
 * -EPIPE (the output is gone).
 */
static int sub_acquire(struct sub *s, fev_event *ev)
{
	uint64_t give_up = s->timeout_ns < 0 ?
				   UINT64_MAX :
				   fev__now_monotonic_ns() +
					   (uint64_t)s->timeout_ns;

	for (;;) {
		uint64_t now = fev__now_monotonic_ns();
		int rc;

		if (cli_stop)
			return -EINTR;
		if (output_gone())
			return -EPIPE;
		if (now >= give_up)
			return -ETIMEDOUT;
		rc = fev_acquire(s->q, ev,
				 give_up - now < SLICE_NS ?
					 (int64_t)(give_up - now) :
					 SLICE_NS);
		if (rc == -EBADMSG) /* a corrupt slot, skipped: say so */
			fprintf(stderr, "fev: skipped a corrupt event in queue "
					"'%s'\n",
				s->queue);
		else if (rc == 0 && (ev->flags & FEV_GAP))
			say_gap(s, ev);
		if (rc != -EBADMSG && rc != -ETIMEDOUT)
			return rc;
	}
}

static int sub_loop(struct sub *s)
{
	while (s->got < s->want) {
		fev_event ev;
		int rc = sub_acquire(s, &ev);

		if (rc == -EINTR || rc == -EPIPE)
			return FEV_EXIT_OK;
		if (rc == -ETIMEDOUT && s->want == UINT64_MAX)
			return FEV_EXIT_OK;
		if (rc == -ETIMEDOUT) {
			cli_error("timed out: %llu of %llu events came from "
				  "queue '%s'",
				  (unsigned long long)s->got,
				  (unsigned long long)s->want, s->queue);
			return FEV_EXIT_ERROR;
		}
		if (rc == -EIDRM) {
			cli_error("queue '%s' was deleted", s->queue);
			return FEV_EXIT_ERROR;
		}
		if (rc < 0) {
			cli_error("consuming from queue '%s' failed: %s",
				  s->queue, fev_strerror(rc));
			return FEV_EXIT_ERROR;
		}
		rc = print_event(&ev, s->fmt);
		if (rc < 0) {
			/* Stop at the first failed write, the event still
			 * claimed: fevd hands it to someone else. */
			if (rc != -EPIPE)
				cli_error("writing the event failed: %s",
					  strerror(-rc));
			return rc == -EPIPE ? FEV_EXIT_OK : FEV_EXIT_ERROR;
		}
		fev_release(s->q, &ev);
		s->got++;
	}
	return FEV_EXIT_OK;
}

int cmd_sub(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "format", required_argument, NULL, 'F' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "group", required_argument, NULL, 'g' },
		{ "instance", required_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const formats[] = { "text", "json", "hex", "raw" };
	struct sub s = { .want = UINT64_MAX, .timeout_ns = -1 };
	const char *inst_opt = NULL, *inst;
	bool known;
	int c, rc;

	while ((c = getopt_long(argc, argv, ":n:F:jt:g:I:h", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'g':
			if (fev_group_name_valid(optarg) < 0)
				return cli_usage_error("sub",
						       "bad --group '%s': 1 to "
						       "%d characters of A-Z "
						       "a-z 0-9 . _ -",
						       optarg,
						       FEV_GROUP_NAME_MAX);
			s.group = optarg;
			break;
		case 'n':
			if (!cli_parse_count(optarg, &s.want) || s.want == 0)
				return cli_usage_error("sub",
						       "bad --count '%s': a "
						       "whole number above 0",
						       optarg);
			break;
		case 'F':
			known = false;
			for (int i = 0; i < 4; i++)
				if (strcmp(optarg, formats[i]) == 0) {
					s.fmt = (enum sub_format)i;
					known = true;
				}
			if (!known)
				return cli_usage_error("sub",
						       "bad --format '%s': text, "
						       "json, hex or raw",
						       optarg);
			break;
		case 'j':
			s.fmt = FMT_JSON;
			break;
		case 't':
			s.timeout_ns = cli_parse_duration_ns(optarg);
			if (s.timeout_ns < 0)
				return cli_usage_error("sub",
						       "bad --timeout '%s': a "
						       "duration such as 2s or "
						       "500ms",
						       optarg);
			break;
		case 'I':
			inst_opt = optarg;
			break;
		case 'h':
			sub_usage(stdout);
			return FEV_EXIT_OK;
		default:
			return cli_bad_option("sub", c, argv);
		}
	}
	if (optind >= argc)
		return cli_usage_error("sub", "which queue? 'fev sub QUEUE'");
	if (optind + 1 < argc)
		return cli_usage_error("sub", "one queue at a time ('%s' is "
					      "extra)",
				       argv[optind + 1]);
	s.queue = argv[optind];
	inst = cli_resolve_instance(inst_opt);
	if (inst == NULL)
		return FEV_EXIT_USAGE;
	/* Before attaching: whoever sees us attached may signal us. */
	cli_catch_signals();
	rc = open_queue(s.queue, inst, FEV_CONSUMER, s.group, &s.q);
	if (rc != FEV_EXIT_OK)
		return rc;
	rc = sub_loop(&s);
	fev_close(s.q);
	return rc;
}
