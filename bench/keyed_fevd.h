/*
 * A fevd for one fev-bench run (fev-keyed): an ordered group's partitions
 * are assigned by fevd only, so the run starts one on its private
 * instance, which adopts the topic the run made, and stops it after.
 */
#ifndef FEV_BENCH_KEYED_FEVD_H
#define FEV_BENCH_KEYED_FEVD_H

#include <limits.h>
#include <sys/types.h>

struct keyed_fevd {
	pid_t pid; /* 0: not running */
	char dir[PATH_MAX]; /* its control socket and pidfile */
};

/* Start fevd (FEV_BENCH_FEVD, else the one built beside fev-bench) on
 * instance and wait until it is ready (its pidfile): 0 or -errno. */
int keyed_fevd_start(struct keyed_fevd *f, const char *instance);
/* SIGTERM, wait, remove its directory; nothing if it is not running. */
void keyed_fevd_stop(struct keyed_fevd *f);

#endif
