/*
 * fev webhooks: the webhook deliveries, through `fev-webhooks ctl` (which
 * owns the database and its format): this command only finds the program
 * and hands it the arguments, so the two can never disagree.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
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
	const char *env = getenv("FEV_WEBHOOKS");
	char self[PATH_MAX];
	ssize_t n;

	if (env != NULL && env[0] != '\0')
		return env;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		snprintf(buf, len, "%s/" WEBHOOKS_PROGRAM, dirname(self));
		if (access(buf, X_OK) == 0)
			return buf;
	}
	return WEBHOOKS_PROGRAM;
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
	if (cli_instance != NULL)
		setenv("FEV_INSTANCE", cli_instance, 1);
	execvp(prog, args);
	cli_error("cannot run %s: %s (install fev-webhooks, or set "
		  "FEV_WEBHOOKS to its path)",
		  prog, strerror(errno));
	free(args);
	return FEV_EXIT_ERROR;
}
