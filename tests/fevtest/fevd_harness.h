/*
 * Helpers for the fevd tests: a private fabric per test (instance, control
 * socket, pidfile and config under a mkdtemp dir), the real fevd binary
 * started and stopped with bounded waits, control requests, and cleanup
 * that leaves nothing in /dev/shm.  Children, clocks and /dev/shm counts
 * are fevtest.h's, which this includes.
 */
#ifndef FEVD_HARNESS_H
#define FEVD_HARNESS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fev/fev.h"
#include "fevtest.h"

struct fh {
	char dir[64];
	char instance[FEV_INSTANCE_MAX + 1];
	char sock[108];
	char pidfile[PATH_MAX];
	char conf[PATH_MAX];
	char log[PATH_MAX];
	char notify[108]; /* NOTIFY_SOCKET for fevd; "": none */
	pid_t fevd;       /* 0 when not running */
};

/* A fresh private fabric (no fevd yet). */
void fh_init(struct fh *h);
/*
 * fh_init, options naming the fabric's instance for fev_open, and a
 * config whose queue sections are queues (a test fixture's whole setup).
 */
void fh_init_with_queues(struct fh *h, fev_open_opts *o, const char *queues);
/*
 * Stop fevd, delete the instance's segments, remove the dir; fails the
 * test when a segment of the instance is still there after that.
 */
void fh_cleanup(struct fh *h);

/*
 * The cmocka fixtures of the fevd tests.  fh_setup: *state is a fresh
 * struct fh (fh_init).  fh_setup_with_queues: *state is a struct fh_ctx
 * whose config holds queues and whose options name its instance
 * (fh_init_with_queues).  fh_teardown, for either: fh_cleanup.
 */
struct fh_ctx {
	struct fh h; /* first: fh_teardown takes either */
	fev_open_opts o;
};
int fh_setup(void **state);
int fh_setup_with_queues(void **state, const char *queues);
int fh_teardown(void **state);

/*
 * Write the config: a [fabric] section naming this fabric's instance,
 * socket and pidfile, then fabric_extra (more [fabric] keys, may be ""),
 * then rest (queue sections).
 */
void fh_write_config(struct fh *h, const char *fabric_extra,
		     const char *rest);
/*
 * Start the fevd binary (with --config when the config file exists, else
 * the embedded default with --instance/--control-socket/--pidfile), its
 * stderr appended to h->log, and wait for "ready".  Fails the test when it
 * is not ready within 5 s.
 */
void fh_start(struct fh *h);
/* Start fevd with argv after the binary name; returns its pid at once. */
pid_t fh_spawn(struct fh *h, const char *const *args);
/* SIGTERM and wait (5 s, then SIGKILL and fail): its exit status. */
int fh_stop(struct fh *h);
/* SIGKILL and reap. */
void fh_kill(struct fh *h);

/* Does the log contain needle (now, or within timeout_ms)? */
bool fh_log_has(const struct fh *h, const char *needle, unsigned timeout_ms);
/* How many times needle occurs in the log. */
int fh_log_count(const struct fh *h, const char *needle);

/*
 * One control request; the reply (NUL-terminated) in reply.  Returns the
 * status of its first line (0 or -errno), or -errno of the socket.
 */
int fh_request(const char *sock, const char *req, char *reply, size_t len);

#endif /* FEVD_HARNESS_H */
