/*
 * fevd, the fev supervisor daemon: its command line (the contract with the
 * fev tool and systemd) around the supervisor library, fevd_core
 * (daemon/src/supervisor.h), which tests run in-process.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "names.h"
#include "supervisor.h"

static const char usage[] =
	"usage: fevd [--config FILE] [--instance NAME] [--control-socket PATH]\n"
	"            [--pidfile PATH] [--log-level LEVEL] [--syslog]\n"
	"            [--check-config] [--version] [--help]\n"
	"\n"
	"The fev supervisor: creates and adopts the queues of one fabric\n"
	"instance, repairs what crashed producers and consumers leave behind,\n"
	"and serves the control socket used by `fev queue`.  Runs in the\n"
	"foreground; SIGHUP reloads the config, SIGTERM stops.\n"
	"\n"
	"  --config FILE          INI config (see CONFIG.md); without it an\n"
	"                         embedded default: instance 'default', queue\n"
	"                         'events'\n"
	"  --instance NAME        fabric instance (overrides the config)\n"
	"  --control-socket PATH  control socket (default: $FEV_CONTROL_SOCKET,\n"
	"                         /run/fev/NAME.sock as root, else\n"
	"                         $XDG_RUNTIME_DIR/fev/NAME.sock)\n"
	"  --pidfile PATH         pidfile (default: /run/fev/NAME.pid as root,\n"
	"                         else next to the socket)\n"
	"  --log-level LEVEL      debug, info, notice, warning or error\n"
	"  --syslog               log to syslog instead of stderr\n"
	"  --check-config         parse the config, report, and exit\n"
	"  --version              print the version and exit\n";

enum { OPT_CONTROL = 256, OPT_PIDFILE, OPT_LOG, OPT_SYSLOG, OPT_CHECK };

static int check_config(const char *path)
{
	char err[FEVD_ERR_MAX];
	struct fevd_config cfg;
	int rc = path ? fevd_config_load(path, &cfg, err, sizeof(err)) :
			fevd_config_default(&cfg);

	if (rc < 0) {
		fprintf(stderr, "fevd: %s\n", err);
		return 1;
	}
	printf("%s: OK: instance %s, %zu queues\n",
	       path ? path : "(embedded default)", cfg.instance, cfg.nqueues);
	if (cfg.metrics_listen[0] != '\0')
		printf("  metrics on http://%s/metrics\n", cfg.metrics_listen);
	for (size_t i = 0; i < cfg.nqueues; i++) {
		const struct fevd_queue_conf *q = &cfg.queues[i];

		printf("  queue %s capacity=%u max_event=%u policy=%s "
		       "mode=%04o%s%s\n",
		       q->name, q->capacity, q->max_event,
		       fev__policy_name(q->policy), (unsigned)q->mode,
		       q->group_name[0] ? " group=" : "", q->group_name);
	}
	fevd_config_free(&cfg);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "instance", required_argument, NULL, 'i' },
		{ "control-socket", required_argument, NULL, OPT_CONTROL },
		{ "pidfile", required_argument, NULL, OPT_PIDFILE },
		{ "log-level", required_argument, NULL, OPT_LOG },
		{ "syslog", no_argument, NULL, OPT_SYSLOG },
		{ "check-config", no_argument, NULL, OPT_CHECK },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct fevd_options o = { .handle_signals = true, .notify = true };
	bool check = false;
	struct fevd *d;
	int c, rc;

	while ((c = getopt_long(argc, argv, "c:i:Vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o.config_path = optarg;
			break;
		case 'i':
			o.instance = optarg;
			break;
		case OPT_CONTROL:
			o.control_socket = optarg;
			break;
		case OPT_PIDFILE:
			o.pidfile = optarg;
			break;
		case OPT_LOG:
			o.log_level = fevd_log_level_parse(optarg);
			if (o.log_level < 0) {
				fprintf(stderr,
					"fevd: --log-level '%s' is not debug, "
					"info, notice, warning or error\n",
					optarg);
				return 2;
			}
			break;
		case OPT_SYSLOG:
			o.use_syslog = true;
			break;
		case OPT_CHECK:
			check = true;
			break;
		case 'V':
			printf("fevd %s (shared-memory ABI %d.%d)\n",
			       FEV_VERSION_STRING, FEV_ABI_MAJOR,
			       FEV_ABI_MINOR);
			return 0;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "fevd: unexpected argument '%s'\n%s",
			argv[optind], usage);
		return 2;
	}
	if (check)
		return check_config(o.config_path);
	rc = fevd_supervisor_new(&o, &d);
	if (rc < 0)
		return 1;
	rc = fevd_supervisor_run(d);
	fevd_supervisor_free(d);
	fevd_notice("stopped");
	return rc < 0 ? 1 : 0;
}
