/* fev's side of fev-nats: finding the program, and its counters in
 * `fev stat`. */
#ifndef FEV_TOOLS_NATS_H
#define FEV_TOOLS_NATS_H

#include <stdbool.h>
#include <stddef.h>

#include "cli.h"

#define NATS_PROGRAM "fev-nats"
#define NATS_DEFAULT_CONFIG "/etc/fev/nats.conf"

/*
 * Append `fev-nats status --config config --json` (json) or
 * `--prometheus` output to b.  0, or -errno after the program's own
 * sentence on stderr (b then has nothing of it).
 */
int nats_stat(const char *config, bool json, struct out_buf *b);

#endif /* FEV_TOOLS_NATS_H */
