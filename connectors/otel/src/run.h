/*
 * fev-otel's loop (run.c): every FOT_POLL_NS, read the new settled hops
 * of each followed ring into the sink, export open spans past their ttl,
 * POST the batch when it is due and then save the cursors; every second,
 * look for rings that came or went and write the status file.  One
 * thread; a full batch waiting for the collector stops the reading (the
 * rings go on without us: what they overwrite meanwhile is counted
 * missed).
 */
#ifndef FOT_RUN_H
#define FOT_RUN_H

#include <stdatomic.h>

#include "config.h"

#define FOT_POLL_NS (20ull * 1000 * 1000)
#define FOT_RESCAN_NS (1000ull * 1000 * 1000)
#define FOT_RINGS_MAX 4096

/* Until *stop or *reload: 0, or 1 when it could not start (said why). */
int fot_run(const struct fot_config *cfg, atomic_int *stop,
	    atomic_int *reload);

#endif /* FOT_RUN_H */
