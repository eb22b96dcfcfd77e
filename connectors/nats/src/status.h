/*
 * The status file: the daemon writes its counters there every second and
 * at exit (whole, through a rename), and `fev-nats status` reads it back
 * and writes it as a table, --json or --prometheus (series from
 * common/prom/fevprom_nats.h).  A file rather than a socket: the reader
 * needs no daemon to answer, and a dead daemon's last figures stay
 * readable (with its pid, so "running" is checked, not assumed).
 *
 * Lines:  fev-nats 1 | pid N | time UNIX_S | connected 0|1 |
 *         reconnects N | last_error TEXT |
 *         out NAME TOPIC KEY N KEY N ... | in NAME TOPIC KEY N ...
 */
#ifndef FNB_STATUS_H
#define FNB_STATUS_H

#include <stdio.h>

#include "config.h"
#include "conn.h"
#include "fevprom_nats.h"
#include "in.h"
#include "out.h"

/* Write the file from the live counters; 0 or -errno. */
int fnb_status_write(const char *path, struct fnb_conn *conn,
		     const struct fnb_config *cfg, struct fnb_out **outs,
		     struct fnb_in **ins);

/* `fev-nats status [--json|--prometheus]` on the config's file; the
 * process exit code. */
int fnb_status_main(const struct fnb_config *cfg, const char *format);

#endif /* FNB_STATUS_H */
