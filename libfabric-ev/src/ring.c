#include "ring.h"

void fev__ring_format(const struct fev__ring *r)
{
	for (uint64_t i = 0; i < r->capacity; i++)
		/* Relaxed: the segment is published later as a whole (R5). */
		atomic_store_explicit(&fev__ring_slot(r, i)->seq, i,
				      memory_order_relaxed);
	atomic_store_explicit(&r->head->pos, 0, memory_order_relaxed);
	atomic_store_explicit(&r->tail->pos, 0, memory_order_relaxed);
}
