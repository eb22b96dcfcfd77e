/*
 * fev: the command-line tool of the fev event fabric.  main() parses the
 * options that come before the subcommand and hands the rest to it.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "fev/fev.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "stat", cmd_stat, "show every queue live: depth, rates, stalls" },
	{ "pub", cmd_pub, "publish events to a queue" },
	{ "sub", cmd_sub, "consume events from a queue and print them" },
	{ "queue", cmd_queue, "create, delete or list queues through fevd" },
	{ "topic", cmd_queue,
	  "the same for topics (--partitions P): queues of P partitions" },
	{ "webhooks", cmd_webhooks,
	  "webhook deliveries: status, attempts, retry, enable" },
	{ "nats", cmd_nats, "the NATS JetStream bridge's status (fev-nats)" },
	{ "group", cmd_group,
	  "create, delete or list the consumer groups of a topic" },
	{ "trace", cmd_trace,
	  "the path of a sampled event: who took it, what it caused" },
	{ "tail", cmd_tail,
	  "show events as they pass, without consuming them" },
	{ "record", cmd_record,
	  "write events to a file (doc/record-format.md)" },
	{ "replay", cmd_replay,
	  "publish a recording into a topic or queue" },
};

static void usage(FILE *f)
{
	fputs("Usage: fev [--instance NAME] COMMAND [OPTIONS] [ARGS]\n"
	      "\n"
	      "The command-line tool of the fev shared-memory event fabric.\n"
	      "\n"
	      "Commands:\n",
	      f);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name,
			commands[i].summary);
	fputs("\n"
	      "Options (every command takes them too):\n"
	      "  -I, --instance NAME  fabric instance (default: $FEV_INSTANCE "
	      "or 'default')\n"
	      "  -h, --help           show this help; 'fev COMMAND --help' "
	      "for a command\n"
	      "  -V, --version        print the version\n"
	      "\n"
	      "Examples:\n"
	      "  fev queue create jobs --capacity 1024 --max-event 4K\n"
	      "  fev topic create orders --partitions 8\n"
	      "  fev pub jobs -m 'hello'\n"
	      "  fev sub jobs -n 1\n"
	      "  fev stat -w\n"
	      "\n"
	      "Exit status: 0 success, 1 error, 2 usage error.\n",
	      f);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "instance", required_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0; /* cli_bad_option() says it in our words */
	/* '+': stop at the subcommand; its options are its own. */
	while ((c = getopt_long(argc, argv, "+:I:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'I':
			cli_instance = optarg;
			break;
		case 'h':
			usage(stdout);
			return FEV_EXIT_OK;
		case 'V':
			printf("fev %s (ABI %d.%d)\n", FEV_VERSION_STRING,
			       FEV_ABI_MAJOR, FEV_ABI_MINOR);
			return FEV_EXIT_OK;
		default:
			return cli_bad_option(NULL, c, argv);
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return FEV_EXIT_USAGE;
	}
	if (cli_instance != NULL && cli_resolve_instance(cli_instance) == NULL)
		return FEV_EXIT_USAGE;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) == 0) {
			argv += optind;
			argc -= optind;
			optind = 0; /* restart getopt for the subcommand */
			return commands[i].fn(argc, argv);
		}
	}
	if (strcmp(argv[optind], "help") == 0) {
		usage(stdout);
		return FEV_EXIT_OK;
	}
	return cli_usage_error(NULL, "unknown command '%s'", argv[optind]);
}
