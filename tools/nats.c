/*
 * fev nats: the NATS JetStream bridge's status, through `fev-nats status`
 * (which owns the status file and the series): this command only finds
 * the program and hands it the arguments, so the two never disagree.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connector.h"
#include "nats.h"

static const char usage[] =
	"Usage: fev nats [--config FILE] status [--json|--prometheus]\n"
	"\n"
	"  status   the bridge's counters: per [out] published, acked,\n"
	"           duplicates, in flight, resent, too large, released; per\n"
	"           [in] fetched, committed, redelivered, terminated; the\n"
	"           connection and the last error\n"
	"\n"
	"Runs 'fev-nats status' ($FEV_NATS, else next to fev, else from\n"
	"$PATH); --config defaults to " NATS_DEFAULT_CONFIG ".\n";

int nats_stat(const char *config, bool json, struct out_buf *b)
{
	char path[PATH_MAX];
	char *argv[] = { (char *)connector_program("FEV_NATS", NATS_PROGRAM,
						   path, sizeof(path)),
			 (char *)"status", (char *)"--config", (char *)config,
			 (char *)(json ? "--json" : "--prometheus"), NULL };

	return connector_output(argv, "FEV_NATS", b);
}

/* fev nats [--config FILE] status ...  ->  fev-nats status [--config
 * FILE] ... */
int cmd_nats(int argc, char **argv)
{
	char path[PATH_MAX];
	char **args;
	int i = 1, n = 0;

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
	args[n++] = (char *)connector_program("FEV_NATS", NATS_PROGRAM, path,
					      sizeof(path));
	if (argc > 2 && strcmp(argv[1], "--config") == 0)
		i = 3;
	for (int j = i; j < argc; j++)
		args[n++] = argv[j];
	if (i == 3) {
		args[n++] = argv[1];
		args[n++] = argv[2];
	}
	connector_exec(args, "FEV_NATS");
	free(args);
	return FEV_EXIT_ERROR;
}
