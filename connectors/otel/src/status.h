/*
 * The status file (status.c): the daemon writes its counters there every
 * second and at exit (whole, through a rename); `fev-otel status` reads
 * it back, and says whether the process that wrote it still runs.  A file,
 * as fev-nats': a dead exporter's last figures stay readable.
 *
 * Lines: fev-otel 1 | pid N | time UNIX_S | endpoint URL | exported N |
 *        dropped N | failed N | missed N | open N | batched N |
 *        last_error TEXT | ring TOPIC next N missed N (one per ring)
 */
#ifndef FOT_STATUS_H
#define FOT_STATUS_H

#include <stddef.h>

#include "export.h"
#include "follow.h"
#include "sink.h"

int fot_status_write(const char *path, const struct fot_export *e,
		     const struct fot_sink *s, struct fot_ring *const *rings,
		     size_t n);

/* `fev-otel status`: the file shown; the exit code (0 running, 1 not
 * running or no file, 2 unreadable). */
int fot_status_main(const char *path);

#endif /* FOT_STATUS_H */
