/*
 * fev-webhooks: the daemon (run), --check-config, and `ctl` (ctl.c).
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "config.h"
#include "ctl.h"
#include "engine.h"
#include "fevconn.h"
#include "fevconn_args.h"
#include "wlog.h"

#define DEFAULT_CONFIG "/etc/fev/webhooks.conf"

static const char usage[] =
	"usage: fev-webhooks [--config FILE] [--check-config]\n"
	"       fev-webhooks ctl [--config FILE] COMMAND\n"
	"\n"
	"Delivers the events of fev queues to HTTP endpoints (Standard\n"
	"Webhooks signatures, retries for days, a dead-letter store).\n"
	"\n"
	"  --config FILE    the INI file (default " DEFAULT_CONFIG ")\n"
	"  --check-config   read the config, say what is wrong, and exit\n"
	"\n"
	"ctl commands: status, dead, attempts ID, retry ID|--dead,\n"
	"              enable NAME, disable NAME (see README.md)\n"
	"\n"
	"SIGHUP reloads the config (a bad one is refused and the running one\n"
	"kept); SIGTERM stops.  Exit: 0 ok, 1 runtime error, 2 bad usage or\n"
	"config.\n";

static int load(const char *path, struct fwh_config *cfg)
{
	char err[FWH_ERR_MAX];
	int rc = fwh_config_load(path, cfg, err, sizeof(err));

	if (rc < 0)
		fwh_log_err("%s", err);
	return rc;
}

/*
 * A reload stops the engine and starts it again on the new config (or on
 * the old one when the new one is refused).  Nothing is lost in between:
 * stored rows in flight (SENDING, INFLIGHT) are adopted by the next start;
 * the events held come back from the ring in place, with their webhook-id,
 * and are sent again unless the store knows that id.
 */
static int run(const char *path)
{
	struct fwh_config cfg, next;
	struct fwh_engine *e;

	if (load(path, &cfg) < 0)
		return 2;
	for (;;) {
		fevd_log_set_level(cfg.log_level);
		if (fwh_engine_start(&cfg, &e) < 0) {
			fwh_config_free(&cfg);
			return 1;
		}
		fwh_log_notice("delivering to %zu endpoints (database %s)",
			       cfg.nendpoints, cfg.database);
		sd_notify(0, "READY=1\nSTATUS=delivering");
		fwh_engine_run(e, &fevconn_stop, &fevconn_reload);
		sd_notify(0, fevconn_stop ? "STOPPING=1" : "RELOADING=1");
		fwh_engine_stop(e);
		if (fevconn_stop)
			break;
		fevconn_reload = 0;
		if (load(path, &next) < 0) {
			fwh_log_err("reload refused: the running config stays");
			continue;
		}
		fwh_config_free(&cfg);
		cfg = next;
		fwh_log_notice("config reloaded");
	}
	fwh_config_free(&cfg);
	return 0;
}

int main(int argc, char **argv)
{
	struct fevconn_args a = { .config = DEFAULT_CONFIG };
	int rc;

	fevd_log_set_ident("fev-webhooks");
	/* First: a SIGTERM that comes while starting still stops cleanly. */
	fevconn_handle_signals();
	if (argc > 1 && strcmp(argv[1], "ctl") == 0)
		return fwh_ctl_main(argc - 1, argv + 1, DEFAULT_CONFIG);
	rc = fevconn_args_parse(argc, argv, "fev-webhooks", usage, &a);
	if (rc != FEVCONN_ARGS_GO_ON)
		return rc;
	if (a.check) {
		struct fwh_config cfg;

		if (load(a.config, &cfg) < 0)
			return 2;
		printf("%s: ok, %zu endpoints\n", a.config, cfg.nendpoints);
		fwh_config_free(&cfg);
		return 0;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fwh_log_err("libcurl could not start");
		return 1;
	}
	rc = run(a.config);
	curl_global_cleanup();
	return rc;
}
