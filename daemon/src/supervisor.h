/*
 * fevd as a library: a supervisor owns one fabric instance (its queues, its
 * control socket, its pidfile) and runs an epoll loop that serves control
 * requests and repairs what dead attachers leave behind.  fevd.c is the
 * command line around it; tests run one inside the test process.
 *
 * Threading: fevd_supervisor_new(), _run(), _reload() and _free() must be
 * called from one thread (it is registered with RCU for the lifetime of the
 * supervisor).  fevd_supervisor_stop() may be called from any thread or a
 * signal handler.  With metrics_listen the supervisor starts a second
 * thread, which only reads the registry (metrics.h, registry.h), and
 * liburcu runs a third that frees removed queues.
 */
#ifndef FEVD_SUPERVISOR_H
#define FEVD_SUPERVISOR_H

#include <stdbool.h>
#include <stddef.h>

struct fevd;

struct fevd_options {
	const char *config_path;    /* NULL: the embedded default */
	const char *instance;       /* overrides [fabric] instance */
	const char *control_socket; /* overrides [fabric] control_socket */
	const char *pidfile;        /* overrides [fabric] pidfile */
	int log_level;              /* overrides [fabric] log_level; 0: no */
	bool use_syslog;
	bool handle_signals; /* signalfd for HUP/TERM/INT (the binary) */
	bool notify;         /* sd_notify READY=1 etc. */
	unsigned tick_ms;    /* liveness scan period; 0: 10 ms */
	unsigned stall_ms;   /* positions held this long: a stall; 0: 1000 */
};

/*
 * Load the config, take the pidfile, adopt existing segments, create the
 * configured queues and listen on the control socket.  0 or -errno with the
 * reason logged: -EINVAL (bad config), -EEXIST (another fevd serves the
 * instance), -EADDRINUSE, -ENOMEM, ...
 */
int fevd_supervisor_new(const struct fevd_options *opts, struct fevd **out);
/* Serve until stopped (SIGTERM/SIGINT or fevd_supervisor_stop()).  0. */
int fevd_supervisor_run(struct fevd *d);
/* Ask run() to return; async-signal-safe. */
void fevd_supervisor_stop(struct fevd *d);
/* Re-read the config (as SIGHUP does).  0, or -errno with why in err. */
int fevd_supervisor_reload(struct fevd *d, char *err, size_t errlen);
/* Close the socket, remove the pidfile, unlink segments if configured. */
void fevd_supervisor_free(struct fevd *d);

/* The port /metrics is served on (metrics_listen), 0 when it is not. */
unsigned fevd_supervisor_metrics_port(const struct fevd *d);

#endif /* FEVD_SUPERVISOR_H */
