/*
 * /dev/shm watched with inotify: the names of the instance's segments
 * created, removed, renamed, truncated or chmod-ed, told to fevd as it
 * happens.  So fevd never lists /dev/shm or
 * stats every queue to find out what changed, and an idle fevd costs the
 * same with 10,000 quiet queues as with one (issue 9, item 13).
 *
 * Without inotify (no instances or watches left: EMFILE, ENOSPC), fevd
 * falls back to looking at /dev/shm's mtime every second (supervisor.c).
 */
#ifndef FEVD_SHM_WATCH_H
#define FEVD_SHM_WATCH_H

#include <stdbool.h>

struct fevd;

/* Start watching (d->shmwatchfd, read each tick and before requests, not
 * woken for).  0 or -errno, logged. */
int fevd_shm_watch_open(struct fevd *d);
/*
 * Act on every event queued so far.  False when fevd does not watch (no
 * inotify, or the watch was lost): then only a listing tells.
 */
bool fevd_shm_watch_drain(struct fevd *d);
void fevd_shm_watch_close(struct fevd *d);

#endif /* FEVD_SHM_WATCH_H */
