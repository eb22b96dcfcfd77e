/*
 * fev-nats: the daemon (run), --check-config, and `status` (status.c).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "config.h"
#include "conn.h"
#include "fevconn.h"
#include "fevconn_args.h"
#include "fevconn_file.h"
#include "in.h"
#include "nlog.h"
#include "out.h"
#include "status.h"
#include "stream.h"
#include "url.h"

#define DEFAULT_CONFIG "/etc/fev/nats.conf"
#define TICK_MS 100
#define STATUS_EVERY 10 /* ticks: the status file each second */

static const char usage[] =
	"usage: fev-nats [--config FILE] [--check-config]\n"
	"       fev-nats status [--config FILE] [--json|--prometheus]\n"
	"\n"
	"Bridges fev topics and NATS JetStream streams, both ways, at least\n"
	"once: [out NAME] publishes a topic's events to JetStream (releasing\n"
	"each only after its PubAck, Nats-Msg-Id stable for de-duplication),\n"
	"[in NAME] writes a durable pull consumer's messages into a topic.\n"
	"\n"
	"  --config FILE    the INI file (default " DEFAULT_CONFIG ")\n"
	"  --check-config   read the config, say what is wrong, and exit\n"
	"\n"
	"SIGHUP reloads the config (a bad one is refused and the running one\n"
	"kept); SIGTERM stops.  Exit: 0 ok, 1 runtime error, 2 bad usage or\n"
	"config.\n";

/* Whether the config itself holds a secret: a password or token, or a
 * URL with user information. */
static bool holds_secret(const struct fnb_nats_conf *n)
{
	char shown[FNB_URL_MAX];

	if (n->password[0] != '\0' || n->token[0] != '\0')
		return true;
	for (size_t i = 0; i < n->nservers; i++)
		if (strcmp(fnb_url_shown(n->servers[i], shown, sizeof(shown)),
			   n->servers[i]) != 0)
			return true;
	return false;
}

static int load(const char *path, struct fnb_config *cfg)
{
	char err[FNB_ERR_MAX];
	int rc = fnb_config_load(path, cfg, err, sizeof(err));

	if (rc < 0) {
		fnb_log_err("%s", err);
		return rc;
	}
	/* Said, not refused: the secret is already out if others can read
	 * the file, and refusing would only stop the bridge. */
	if (holds_secret(&cfg->nats) &&
	    fevconn_file_check("the config", path, true, err, sizeof(err)) ==
		    -EPERM)
		fnb_log_warn("%s", err);
	return 0;
}

struct bridges {
	struct fnb_out **outs;
	struct fnb_in **ins;
};

static int start(const struct fnb_config *cfg, struct fnb_conn *conn,
		 struct bridges *b)
{
	b->outs = calloc(cfg->nouts + 1, sizeof(*b->outs));
	b->ins = calloc(cfg->nins + 1, sizeof(*b->ins));
	if (b->outs == NULL || b->ins == NULL)
		return -ENOMEM;
	fnb_streams_ensure(cfg, conn);
	for (size_t i = 0; i < cfg->nouts; i++)
		if (fnb_out_start(&cfg->outs[i], cfg->instance, conn,
				  &b->outs[i]) < 0)
			return -ENOMEM;
	for (size_t i = 0; i < cfg->nins; i++)
		if (fnb_in_start(&cfg->ins[i], cfg->instance, conn,
				 &b->ins[i]) < 0)
			return -ENOMEM;
	return 0;
}

/* Stop every bridge, write their final counters, free them. */
static void stop(const struct fnb_config *cfg, struct fnb_conn *conn,
		 struct bridges *b)
{
	for (size_t i = 0; b->outs != NULL && i < cfg->nouts; i++)
		if (b->outs[i] != NULL)
			fnb_out_stop(b->outs[i]);
	for (size_t i = 0; b->ins != NULL && i < cfg->nins; i++)
		if (b->ins[i] != NULL)
			fnb_in_stop(b->ins[i]);
	if (b->outs != NULL && b->ins != NULL)
		fnb_status_write(cfg->status_file, conn, cfg, b->outs, b->ins);
	for (size_t i = 0; b->outs != NULL && i < cfg->nouts; i++)
		if (b->outs[i] != NULL)
			fnb_out_free(b->outs[i]);
	for (size_t i = 0; b->ins != NULL && i < cfg->nins; i++)
		if (b->ins[i] != NULL)
			fnb_in_free(b->ins[i]);
	free(b->outs);
	free(b->ins);
	b->outs = NULL;
	b->ins = NULL;
	fnb_conn_close(conn);
}

/* Connect, trying again with the backoff (the status file says why it
 * fails meanwhile); false when told to stop or reload first. */
static bool connect_nats(const struct fnb_config *cfg, struct fnb_conn *conn)
{
	struct fnb_out *no_outs[1] = { NULL };
	struct fnb_in *no_ins[1] = { NULL };
	unsigned wait = cfg->nats.reconnect_ms;
	struct fnb_config shown = *cfg;

	/* Until connected, the status shows no bridge rows: none runs. */
	shown.nouts = shown.nins = 0;
	while (!fevconn_stop && !fevconn_reload) {
		if (fnb_conn_open(conn, &cfg->nats) == 0)
			return true;
		fnb_status_write(cfg->status_file, conn, &shown, no_outs,
				 no_ins);
		for (unsigned slept = 0; slept < wait && !fevconn_stop &&
					 !fevconn_reload;
		     slept += TICK_MS)
			fnb_sleep_ms(TICK_MS);
		wait = fnb_backoff_next(wait, cfg->nats.reconnect_max_ms);
	}
	return false;
}

/* One configuration's life: until SIGTERM or SIGHUP. */
static int serve(const struct fnb_config *cfg, struct fnb_conn *conn)
{
	struct bridges b = { 0 };
	int rc = 0;

	for (size_t i = 0; i < cfg->nouts; i++) {
		int e = fnb_out_group_create(&cfg->outs[i], cfg->instance);

		if (e < 0) /* said again, with what to do, once it runs */
			fnb_log_warn("[out %s] topic %s: group %s: %s",
				     cfg->outs[i].name, cfg->outs[i].topic,
				     cfg->outs[i].group, fev_strerror(e));
	}
	if (!connect_nats(cfg, conn))
		return 0; /* told to stop or reload while connecting */
	if (start(cfg, conn, &b) < 0) {
		fnb_log_err("out of memory starting the bridges");
		rc = -ENOMEM;
	}
	fnb_log_notice("bridging %zu out, %zu in", cfg->nouts, cfg->nins);
	sd_notify(0, "READY=1\nSTATUS=bridging");
	for (unsigned tick = 0; rc == 0 && !fevconn_stop && !fevconn_reload;
	     tick++) {
		if (tick % STATUS_EVERY == 0 &&
		    (rc = fnb_status_write(cfg->status_file, conn, cfg, b.outs,
					   b.ins)) < 0)
			fnb_log_err("cannot write the status file %s: %s",
				    cfg->status_file, strerror(-rc));
		rc = 0;
		fnb_sleep_ms(TICK_MS);
	}
	sd_notify(0, fevconn_stop ? "STOPPING=1" : "RELOADING=1");
	stop(cfg, conn, &b);
	return rc;
}

/*
 * A reload stops the bridges and starts them on the new config (or the
 * old one when the new one is refused).  Nothing is lost in between: an
 * out releases only what JetStream acknowledged, the rest comes back to
 * its group; an in acks only what it wrote.
 */
static int run(const char *path)
{
	struct fnb_config cfg, next;
	struct fnb_conn conn = { 0 };
	int rc = 0;

	if (load(path, &cfg) < 0)
		return 2;
	pthread_mutex_init(&conn.lock, NULL);
	for (;;) {
		fevd_log_set_level(cfg.log_level);
		if (serve(&cfg, &conn) < 0) {
			rc = 1;
			break;
		}
		if (fevconn_stop)
			break;
		fevconn_reload = 0;
		if (load(path, &next) < 0) {
			fnb_log_err("reload refused: the running config stays");
			continue;
		}
		fnb_config_free(&cfg);
		cfg = next;
		fnb_log_notice("config reloaded");
	}
	fnb_config_free(&cfg);
	pthread_mutex_destroy(&conn.lock);
	nats_Close();
	return rc;
}

static int status_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = DEFAULT_CONFIG, *format = NULL;
	struct fnb_config cfg;
	int c, rc;

	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		if (c == 'c')
			path = optarg;
		else if (c == 'j')
			format = "json";
		else if (c == 'p')
			format = "prometheus";
		else {
			fputs(usage, stderr);
			return 2;
		}
	}
	if (load(path, &cfg) < 0)
		return 2;
	rc = fnb_status_main(&cfg, format);
	fnb_config_free(&cfg);
	return rc;
}

int main(int argc, char **argv)
{
	struct fevconn_args a = { .config = DEFAULT_CONFIG };
	int rc;

	fevd_log_set_ident("fev-nats");
	/* First: a SIGTERM that comes while starting still stops cleanly. */
	fevconn_handle_signals();
	if (argc > 1 && strcmp(argv[1], "status") == 0)
		return status_cmd(argc - 1, argv + 1);
	rc = fevconn_args_parse(argc, argv, "fev-nats", usage, &a);
	if (rc != FEVCONN_ARGS_GO_ON)
		return rc;
	if (a.check) {
		struct fnb_config cfg;

		if (load(a.config, &cfg) < 0)
			return 2;
		printf("%s: ok, %zu out, %zu in, %zu streams\n", a.config,
		       cfg.nouts, cfg.nins, cfg.nstreams);
		fnb_config_free(&cfg);
		return 0;
	}
	return run(a.config);
}
