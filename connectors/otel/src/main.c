/*
 * fev-otel: the daemon (run.c), --check-config, and `status`.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "fevconn.h"
#include "fevconn_args.h"
#include "memtrap.h"
#include "olog.h"
#include "run.h"
#include "status.h"

#define DEFAULT_CONFIG "/etc/fev/otel.conf"

static const char usage[] =
	"usage: fev-otel [--config FILE] [--check-config]\n"
	"       fev-otel status [--config FILE]\n"
	"\n"
	"Follows the hop rings of fev topics (the record of their sampled\n"
	"events, see 'fev trace') and exports each hop as an OpenTelemetry\n"
	"span (send, process) to an OTLP/HTTP collector, in JSON.\n"
	"\n"
	"  --config FILE    the INI file (default " DEFAULT_CONFIG ")\n"
	"  --check-config   read the config, say what is wrong, and exit\n"
	"  status           the counters of the running exporter (exported,\n"
	"                   dropped, failed, missed, last error)\n"
	"\n"
	"Examples:\n"
	"  fev-otel --config /etc/fev/otel.conf --check-config\n"
	"  fev-otel status\n"
	"\n"
	"SIGHUP reloads the config (a bad one is refused and the running one\n"
	"kept); SIGTERM stops.  Exit: 0 ok, 1 runtime error (status: not\n"
	"running), 2 bad usage or config.\n";

static int load(const char *path, struct fot_config *cfg)
{
	char err[FOT_ERR_MAX];
	int rc = fot_config_load(path, cfg, err, sizeof(err));

	if (rc < 0)
		fot_log_err("%s", err);
	return rc;
}

/* A reload stops the loop and starts it on the new config (or the old
 * one when the new one is refused); the cursors go through the state
 * file, so nothing is read twice or skipped. */
static int run(const char *path)
{
	static struct fot_config cfg, next;
	int rc;

	if (load(path, &cfg) < 0)
		return 2;
	for (;;) {
		fevd_log_set_level(cfg.log_level);
		rc = fot_run(&cfg, &fevconn_stop, &fevconn_reload);
		if (rc != 0 || fevconn_stop)
			break;
		fevconn_reload = 0;
		if (load(path, &next) < 0) {
			fot_log_err("reload refused: the running config stays");
			continue;
		}
		fot_config_free(&cfg);
		cfg = next;
		fot_log_notice("config reloaded");
	}
	fot_config_free(&cfg);
	return rc;
}

int main(int argc, char **argv)
{
	static struct fot_config cfg;
	struct fevconn_args a = { .config = DEFAULT_CONFIG };
	bool status = false;
	int rc;

	fevd_log_set_ident("fev-otel");
	fevconn_handle_signals();
	if (argc > 1 && strcmp(argv[1], "status") == 0) {
		status = true;
		argv++;
		argc--;
	}
	rc = fevconn_args_parse(argc, argv, "fev-otel", usage, &a);
	if (rc != FEVCONN_ARGS_GO_ON)
		return rc;
	if (a.check || status) {
		if (load(a.config, &cfg) < 0)
			return 2;
		if (status)
			return fot_status_main(cfg.status_file);
		printf("%s: ok, endpoint %s, %zu topics%s, %zu headers\n",
		       a.config, cfg.endpoint, cfg.ntopics,
		       cfg.ntopics ? "" : " (every topic of the instance)",
		       cfg.nheaders);
		fot_config_free(&cfg);
		return 0;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fot_log_err("libcurl could not start");
		return 1;
	}
	/* A hop ring truncated under us reads as zeros (missed hops), not
	 * SIGBUS. */
	fev__memtrap_install();
	rc = run(a.config);
	curl_global_cleanup();
	return rc;
}
