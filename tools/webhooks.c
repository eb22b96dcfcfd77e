/*
 * fev webhooks: the webhook deliveries, through `fev-webhooks ctl` (which
 * owns the database and its format): this command only finds the program
 * and hands it the arguments, so the two can never disagree.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "connector.h"
#include "webhooks.h"

static const char usage[] =
	"Usage: fev webhooks [--config FILE] COMMAND\n"
	"\n"
	"  status            per endpoint: state, in flight, delivered, failed,\n"
	"                    retrying, dead-lettered, p50/p99, last error\n"
	"  dead              the dead letters\n"
	"  attempts ID       every attempt of webhook-id ID\n"
	"  retry ID|--dead   send ID (or every dead letter) again now\n"
	"  enable NAME       re-enable an endpoint; disable NAME stops it\n"
	"\n"
	"Runs 'fev-webhooks ctl' ($FEV_WEBHOOKS, else next to fev, else from\n"
	"$PATH); --config defaults to " WEBHOOKS_DEFAULT_CONFIG ".\n";

const char *webhooks_program(char *buf, size_t len)
{
	return connector_program("FEV_WEBHOOKS", WEBHOOKS_PROGRAM, buf, len);
}

int cmd_webhooks(int argc, char **argv)
{
	char path[PATH_MAX + sizeof(WEBHOOKS_PROGRAM) + 1];
	const char *prog;
	char **args;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? FEV_EXIT_USAGE : FEV_EXIT_OK;
	}
	args = calloc((size_t)argc + 2, sizeof(*args));
	if (args == NULL) {
		cli_error("out of memory");
		return FEV_EXIT_ERROR;
	}
	prog = webhooks_program(path, sizeof(path));
	args[0] = (char *)prog;
	args[1] = (char *)"ctl";
	for (int i = 1; i < argc; i++)
		args[i + 1] = argv[i];
	connector_exec(args, "FEV_WEBHOOKS");
	free(args);
	return FEV_EXIT_ERROR;
}
