/*
 * A supervisor running inside the test process (fevd_core in a thread of
 * its own) on a private fabric (fevd_harness.h): sanitizers see fevd's
 * threads and the test's together, and a test can ask the supervisor
 * object what the binary only logs.
 */
#ifndef FEVD_INPROC_H
#define FEVD_INPROC_H

#include <pthread.h>

#include "fevd_harness.h"

struct fevd;

struct fh_inproc {
	struct fh h;
	pthread_t thread;
	struct fevd *d; /* set once started */
	int rc;         /* of fevd_supervisor_new() */
	int ready[2];   /* pipe: the thread writes rc once started */
};

/* fh_init() of p->h, nothing started. */
void fh_inproc_init(struct fh_inproc *p);
/* Write the config (fabric keys extra, queue sections rest) and start a
 * supervisor on it; fails the test unless it is ready. */
void fh_inproc_start(struct fh_inproc *p, const char *extra,
		     const char *rest);
/* Stop it (when started), join, and fh_cleanup(); fails the test when
 * segments of the instance are left behind. */
void fh_inproc_cleanup(struct fh_inproc *p);

/* The cmocka fixture: *state is a fresh struct fh_inproc (fh_inproc_init),
 * torn down by fh_inproc_cleanup. */
int fh_inproc_setup(void **state);
int fh_inproc_teardown(void **state);

#endif /* FEVD_INPROC_H */
