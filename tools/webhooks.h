/* fev's side of fev-webhooks: finding the program, and its counters in
 * `fev stat`. */
#ifndef FEV_TOOLS_WEBHOOKS_H
#define FEV_TOOLS_WEBHOOKS_H

#include <stdbool.h>
#include <stddef.h>

#include "cli.h"

#define WEBHOOKS_PROGRAM "fev-webhooks"
#define WEBHOOKS_DEFAULT_CONFIG "/etc/fev/webhooks.conf"

/* $FEV_WEBHOOKS, the program installed beside fev, or $PATH's. */
const char *webhooks_program(char *buf, size_t len);

/*
 * Append `fev-webhooks ctl --config config status --json` (json) or
 * `--prometheus` output to b.  0, or -errno after the program's own
 * sentence on stderr (b then has nothing of it).
 */
int webhooks_stat(const char *config, bool json, struct out_buf *b);

#endif /* FEV_TOOLS_WEBHOOKS_H */
