/*
 * What the rest of libfev may see of a queue handle (client.c): topics
 * (topic.c) check that each partition they open belongs to them.
 */
#ifndef FEV_CLIENT_H
#define FEV_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "fev/fev.h"
#include "segment.h"

/* The validated mapping of q's segment. */
const struct fev__map *fev__queue_map(const fev_queue *q);

/*
 * What waiting on many handles (wait_many.c) and fev_fd() (pollfd.c) use:
 * whether a consumer's next acquire may succeed (or the queue is gone),
 * reading only the segment and what the handle fixed at open, so that
 * another thread may ask while the owner uses the handle.
 */
bool fev__queue_ready(const fev_queue *q);
/* 0 when q is a consumer handle of this process; -EINVAL, -ECHILD,
 * -EPERM, -ESTALE otherwise. */
int fev__queue_check_consumer(const fev_queue *q);
uint32_t fev__queue_spin_ns(const fev_queue *q);
/* What the handle's next spin may last (adaptive spinning, client.c). */
uint32_t fev__queue_spin_budget(const fev_queue *q);
/* Where the handle keeps fev_fd()'s state (pollfd.h). */
struct fev__pollfd **fev__queue_pollfd(fev_queue *q);

#endif /* FEV_CLIENT_H */
