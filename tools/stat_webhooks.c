/*
 * The counters of a configured fev-webhooks in `fev stat --json` and
 * `--prometheus`: the output of `fev-webhooks ctl status`, which owns the
 * database and the series (common/prom/fevprom_webhooks.h), so the two
 * can never disagree.
 */
#include "connector.h"
#include "webhooks.h"

int webhooks_stat(const char *config, bool json, struct out_buf *b)
{
	char path[4096];
	const char *prog = webhooks_program(path, sizeof(path));
	char *argv[] = { (char *)prog, (char *)"ctl", (char *)"--config",
			 (char *)config, (char *)"status",
			 (char *)(json ? "--json" : "--prometheus"), NULL };

	return connector_output(argv, "FEV_WEBHOOKS", b);
}
