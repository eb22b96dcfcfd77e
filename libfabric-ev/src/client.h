/*
 * What the rest of libfev may see of a queue handle (client.c): topics
 * (topic.c) check that each partition they open belongs to them.
 */
#ifndef FEV_CLIENT_H
#define FEV_CLIENT_H

#include "fev/fev.h"
#include "segment.h"

/* The validated mapping of q's segment. */
const struct fev__map *fev__queue_map(const fev_queue *q);

#endif /* FEV_CLIENT_H */
