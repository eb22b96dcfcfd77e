/* fev queue create|delete|list: administration through fevd. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "control.h"
#include "fev/fev.h"
#include "names.h"
#include "queue_opts.h"

static void usage(FILE *f)
{
	fputs("Usage: fev queue create NAME [--capacity N] [--max-event SIZE]\n"
	      "                  [--policy block|reject|drop-oldest] "
	      "[--mode MODE]\n"
	      "                  [--group GROUP] [--partitions P] [--sp] "
	      "[--sc]\n"
	      "       fev queue delete NAME\n"
	      "       fev queue list [--json]\n"
	      "       fev topic create|delete|list ...  (the same: a queue "
	      "is a topic of one\n"
	      "                                        partition)\n"
	      "\n"
	      "Create, delete or list the queues of a fabric instance through "
	      "fevd's control\nsocket (fevd must be running; 'fev stat' works "
	      "without it).  Creating and\ndeleting needs root, fevd's user or "
	      "a member of its admin group.\n"
	      "\n"
	      "Options:\n"
	      "  -c, --capacity N      events the queue holds, a power of two "
	      "(64, 4K, 1M)\n"
	      "  -s, --max-event SIZE  largest event payload (512, 4K, 1M)\n"
	      "  -p, --policy POLICY   when full: block (wait), reject (fail "
	      "at once) or\n"
	      "                        drop-oldest (discard the oldest event)\n"
	      "  -m, --mode MODE       segment permissions, octal (0660)\n"
	      "  -g, --group GROUP     group that owns the segment\n"
	      "  -P, --partitions P    a topic of P partitions (1 to 256), "
	      "each a ring of\n"
	      "                        the other options; TOPIC@k names "
	      "partition k > 0\n"
	      "      --sp, --sc        one producer (--sp), one consumer "
	      "(--sc) at a time:\n"
	      "                        a second gets 'busy'; with both, "
	      "cursors move without\n"
	      "                        a CAS (producers=single "
	      "consumers=single; queues only)\n"
	      "      --json            list as JSON (one object per queue, "
	      "in an array)\n"
	      "  -q, --quiet           print nothing on success\n"
	      "  -I, --instance NAME   fabric instance (default: "
	      "$FEV_INSTANCE or 'default')\n"
	      "  -h, --help            show this help\n"
	      "\n"
	      "The settings of create may also be written as fevd's config "
	      "writes them, and\nattachers=N (how many handles may attach "
	      "at once) and trace_hops=N (entries\nof the hop ring of "
	      "'fev trace'; 0: none) only so:\ncapacity=4096 "
	      "max_event=1K policy=reject attachers=128.  fevd checks them\n"
	      "with the code that reads its config.\n"
	      "\n"
	      "Examples:\n"
	      "  fev queue create jobs --capacity 1024 --max-event 4K "
	      "--policy reject\n"
	      "  fev queue create audit capacity=64K mode=0640 group=adm\n"
	      "  fev queue create ticks --sp --sc --capacity 64K\n"
	      "  fev topic create orders --partitions 8 --capacity 4K\n"
	      "  fev queue list\n"
	      "  fev queue delete jobs\n"
	      "\n"
	      "Exit status: 0 success, 1 error (fevd not running, permission "
	      "denied, queue\nexists or not found), 2 usage error (bad "
	      "option, bad queue name).\n",
	      f);
}

/*
 * The settings of a create, as KEY=VALUE, checked here with the code fevd
 * reads them with (queue_opts.h: the same sentences) and forwarded as
 * written; a key given twice keeps its last value.
 */
struct create_args {
	struct {
		const char *key, *value;
	} set[16];
	int n;
	struct fev__queue_opts parsed; /* only to check them */
};

static int check_name(const char *name)
{
	if (fev_queue_name_valid(name) == 0)
		return 0;
	return cli_usage_error("queue",
			       "bad queue name '%s': queue names are 1 to %d "
			       "characters of A-Z a-z 0-9 . _ -",
			       name, FEV_NAME_MAX);
}

static int set_create_opt(struct create_args *a, const char *key,
			  const char *val)
{
	char why[256];
	int i;

	if (fev__queue_opt_set(&a->parsed, key, val, why, sizeof(why)) < 0)
		return cli_usage_error("queue", "%s", why);
	for (i = 0; i < a->n && strcmp(a->set[i].key, key) != 0; i++)
		;
	if (i == a->n) {
		/* A known key: fev__queue_opt_set() took it, so at most
		 * one slot per key. */
		if (a->n == (int)(sizeof(a->set) / sizeof(a->set[0])))
			return cli_usage_error("queue", "too many settings");
		a->n++;
	}
	a->set[i].key = key;
	a->set[i].value = val;
	return 0;
}

static int report(const struct ctl_reply *r)
{
	if (r->status == 0)
		return FEV_EXIT_OK;
	cli_error("%s", r->reason[0] != '\0' ? r->reason :
					       fev_strerror(r->status));
	return FEV_EXIT_ERROR;
}

static int do_create(const char *inst, const char *name,
		     const struct create_args *a, bool quiet)
{
	char req[FEV__CTL_REQUEST_MAX];
	struct ctl_reply *r;
	int n, rc;

	n = snprintf(req, sizeof(req), "create %s", name);
	for (int i = 0; i < a->n && n > 0 && (size_t)n < sizeof(req); i++)
		n += snprintf(req + n, sizeof(req) - (size_t)n, " %s=%s",
			      a->set[i].key, a->set[i].value);
	if (n < 0 || (size_t)n >= sizeof(req)) {
		cli_error("the create request is longer than %d bytes",
			  FEV__CTL_REQUEST_MAX);
		return FEV_EXIT_ERROR;
	}
	r = malloc(sizeof(*r));
	if (r == NULL) {
		cli_error("out of memory");
		return FEV_EXIT_ERROR;
	}
	rc = ctl_request(inst, req, r) < 0 ? FEV_EXIT_ERROR : report(r);
	if (rc == FEV_EXIT_OK && !quiet)
		printf("created %s '%s' in instance %s\n",
		       a->parsed.partitions > 0 ? "topic" : "queue", name, inst);
	free(r);
	return rc;
}

static int do_delete(const char *inst, const char *name, bool quiet)
{
	char req[FEV__CTL_REQUEST_MAX];
	struct ctl_reply *r = malloc(sizeof(*r));
	int rc;

	if (r == NULL) {
		cli_error("out of memory");
		return FEV_EXIT_ERROR;
	}
	snprintf(req, sizeof(req), "delete %s", name);
	rc = ctl_request(inst, req, r) < 0 ? FEV_EXIT_ERROR : report(r);
	if (rc == FEV_EXIT_OK && !quiet)
		printf("deleted queue '%s' from instance %s\n", name, inst);
	free(r);
	return rc;
}

/* "NAME key=value key=value": the value of key, or "-". */
static const char *field(const char *line, const char *key, char *buf,
			 size_t size)
{
	size_t klen = strlen(key);
	const char *p = line;

	while ((p = strchr(p, ' ')) != NULL) {
		p++;
		if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
			size_t n = strcspn(p + klen + 1, " ");

			snprintf(buf, size, "%.*s", (int)n, p + klen + 1);
			return buf;
		}
	}
	return "-";
}

static bool all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

struct list_out {
	bool json, started, first;
};

static void print_row(struct list_out *o, const char *l)
{
	static const char *const keys[] = { "capacity", "max_event", "policy",
					    "depth",	"producers", "consumers" };
	char v[6][64], name[128], size[16];

	snprintf(name, sizeof(name), "%.*s", (int)strcspn(l, " "), l);
	for (size_t i = 0; i < 6; i++)
		field(l, keys[i], v[i], sizeof(v[i]));
	if (o->json) {
		printf("%s\n  {\"name\": ", o->first ? "" : ",");
		out_json_string(stdout, name, strlen(name));
		for (size_t i = 0; i < 6; i++) {
			printf(", \"%s\": ", keys[i]);
			if (all_digits(v[i]))
				fputs(v[i], stdout);
			else if (strcmp(v[i], "-") == 0)
				fputs("null", stdout);
			else
				out_json_string(stdout, v[i], strlen(v[i]));
		}
		/* fevd could not read its counters steadily in time */
		if (strstr(l, " stats=busy") != NULL)
			fputs(", \"busy\": true", stdout);
		fputs("}", stdout);
	} else {
		out_size(size, sizeof(size), strtoull(v[1], NULL, 10));
		printf("%-24s %9s %9s %-11s %9s %5s %5s%s\n", name, v[0], size,
		       v[2], v[3], v[4], v[5],
		       strstr(l, " stats=busy") != NULL ? "  (busy)" : "");
	}
	o->first = false;
}

/*
 * Print one page of fevd's list; the name to ask "list NAME" for the next
 * page (its "+more NAME" line) in next, or "" when this was the last.
 */
static void print_page(struct list_out *o, const char *body, char *next,
		       size_t size)
{
	const char *line = body;

	next[0] = '\0';
	if (!o->started) /* after fevd answered: an error prints no header */
		printf(o->json ? "[" : "%-24s %9s %9s %-11s %9s %5s %5s\n",
		       "QUEUE", "CAPACITY", "MAX_EVENT", "POLICY", "DEPTH",
		       "PROD", "CONS");
	o->started = true;
	while (*line != '\0') {
		size_t n = strcspn(line, "\n");
		char l[1024];

		snprintf(l, sizeof(l), "%.*s", (int)n, line);
		line += n + (line[n] == '\n');
		if (strncmp(l, "+more ", 6) == 0)
			snprintf(next, size, "%.*s", FEV__SEG_NAME_MAX, l + 6);
		else if (l[0] != '\0')
			print_row(o, l);
	}
}

/* fevd answers in pages of one reply each: ask until no "+more". */
static int do_list(const char *inst, bool json)
{
	struct ctl_reply *r = malloc(sizeof(*r));
	struct list_out o = { .json = json, .first = true };
	char req[FEV__CTL_REQUEST_MAX], next[FEV__SEG_NAME_MAX + 2] = "";
	int rc = FEV_EXIT_OK;

	if (r == NULL) {
		cli_error("out of memory");
		return FEV_EXIT_ERROR;
	}
	do {
		snprintf(req, sizeof(req), next[0] ? "list %s" : "list", next);
		rc = ctl_request(inst, req, r) < 0 ? FEV_EXIT_ERROR : report(r);
		if (rc == FEV_EXIT_OK)
			print_page(&o, r->body, next, sizeof(next));
	} while (rc == FEV_EXIT_OK && next[0] != '\0');
	if (json && rc == FEV_EXIT_OK)
		fputs(o.first ? "]\n" : "\n]\n", stdout);
	free(r);
	return rc;
}

/* fev queue and fev topic: one command, as a queue is a topic of one. */
int cmd_queue(int argc, char **argv)
{
	enum { OPT_JSON = 0x2000, OPT_SP, OPT_SC };
	static const struct option longopts[] = {
		{ "capacity", required_argument, NULL, 'c' },
		{ "max-event", required_argument, NULL, 's' },
		{ "policy", required_argument, NULL, 'p' },
		{ "mode", required_argument, NULL, 'm' },
		{ "group", required_argument, NULL, 'g' },
		{ "partitions", required_argument, NULL, 'P' },
		{ "sp", no_argument, NULL, OPT_SP },
		{ "sc", no_argument, NULL, OPT_SC },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "quiet", no_argument, NULL, 'q' },
		{ "instance", required_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct create_args a = { 0 };
	const char *inst_opt = NULL, *inst, *verb;
	bool json = false, quiet = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, ":c:s:p:m:g:P:qI:h", longopts,
				NULL)) != -1) {
		rc = 0;
		switch (c) {
		case 'c':
			rc = set_create_opt(&a, "capacity", optarg);
			break;
		case 's':
			rc = set_create_opt(&a, "max_event", optarg);
			break;
		case 'p':
			rc = set_create_opt(&a, "policy", optarg);
			break;
		case 'm':
			rc = set_create_opt(&a, "mode", optarg);
			break;
		case 'g':
			rc = set_create_opt(&a, "group", optarg);
			break;
		case 'P':
			rc = set_create_opt(&a, "partitions", optarg);
			break;
		case OPT_SP:
			rc = set_create_opt(&a, "producers", "single");
			break;
		case OPT_SC:
			rc = set_create_opt(&a, "consumers", "single");
			break;
		case OPT_JSON:
			json = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'I':
			inst_opt = optarg;
			break;
		case 'h':
			usage(stdout);
			return FEV_EXIT_OK;
		default:
			return cli_bad_option("queue", c, argv);
		}
		if (rc != 0)
			return rc;
	}
	if (optind >= argc)
		return cli_usage_error("queue", "which action: create, delete "
						"or list?");
	verb = argv[optind++];
	inst = cli_resolve_instance(inst_opt);
	if (inst == NULL)
		return FEV_EXIT_USAGE;
	if (strcmp(verb, "list") == 0) {
		if (optind < argc)
			return cli_usage_error("queue", "list takes no queue "
							"name");
		return do_list(inst, json);
	}
	if (strcmp(verb, "create") != 0 && strcmp(verb, "delete") != 0)
		return cli_usage_error("queue",
				       "unknown action '%s': create, delete "
				       "or list",
				       verb);
	if (optind >= argc)
		return cli_usage_error("queue", "%s needs a queue name", verb);
	if (check_name(argv[optind]) != 0)
		return FEV_EXIT_USAGE;
	if (strcmp(verb, "delete") == 0) {
		if (optind + 1 < argc)
			return cli_usage_error("queue", "delete takes one "
							"queue name");
		return do_delete(inst, argv[optind], quiet);
	}
	for (int i = optind + 1; i < argc; i++) {
		char *eq = strchr(argv[i], '=');

		if (eq == NULL)
			return cli_usage_error("queue",
					       "unexpected '%s': settings are "
					       "KEY=VALUE or options",
					       argv[i]);
		*eq = '\0'; /* argv[i] is the key now, eq + 1 its value */
		rc = set_create_opt(&a, argv[i], eq + 1);
		if (rc != 0)
			return rc;
	}
	/* 'fev topic create' makes a topic, of one partition at least. */
	if (strcmp(argv[0], "topic") == 0 && a.parsed.partitions == 0 &&
	    (rc = set_create_opt(&a, "partitions", "1")) != 0)
		return rc;
	return do_create(inst, argv[optind], &a, quiet);
}
