/*
 * Tails (fev.h, tail.c): the internal entry for tests that share one
 * mapping between threads, so that ThreadSanitizer relates the tail's
 * reads of a slot to the producer's writes (it compares addresses).
 */
#ifndef FEV_TAIL_H
#define FEV_TAIL_H

#include "fev/fev.h"
#include "segment.h"

/*
 * A tail of the one ring m maps, which must outlive it (fev_tail_close()
 * leaves m mapped); start as fev_tail_opts.  0, -EINVAL, -ENOMEM.
 */
int fev__tail_of_map(const struct fev__map *m, int start, fev_tail **out);

/*
 * Called, when set, between a tail's copy of position pos and its check
 * that the copy is whole (V2): a variable only so that a test can reuse
 * the slot there, as a producer a lap ahead would.
 */
extern void (*fev__tail_after_copy)(uint64_t pos);

#endif /* FEV_TAIL_H */
