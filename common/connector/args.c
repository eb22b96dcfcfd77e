/*
 * The connector daemons' shared command line (fevconn_args.h).
 */
#include <getopt.h>
#include <stdio.h>

#include "fevconn_args.h"

int fevconn_args_parse(int argc, char **argv, const char *name,
		       const char *usage, struct fevconn_args *a)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	/* 0, not 1: glibc's getopt starts over, so a second parse (a
	 * test's) reads its own argv. */
	optind = 0;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			a->config = optarg;
			break;
		case 'k':
			a->check = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected '%s'\n%s", name, argv[optind],
			usage);
		return 2;
	}
	return FEVCONN_ARGS_GO_ON;
}
