/* Growing and freeing a holder's runs (holder.h). */
#include "holder.h"

#include <errno.h>
#include <stdlib.h>

/* Smallest power of two >= n (n <= 2^31). */
static uint32_t pow2_at_least(uint64_t n)
{
	uint32_t p = FEV__HOLD_INLINE_RUNS;

	while (p < n)
		p *= 2;
	return p;
}

int fev__holder_grow(struct fev__holder *h, uint64_t need)
{
	struct fev__hold_run *runs;
	uint32_t size;

	if (need <= fev__holder_size(h))
		return 0;
	/* A take is never more than a lap of 2^24 positions: 2^18 runs. */
	if (need > (UINT64_C(1) << 31))
		return -ENOMEM;
	size = pow2_at_least(need);
	runs = malloc((size_t)size * sizeof(*runs));
	if (runs == NULL)
		return -ENOMEM;
	/* Unwrap the FIFO so it starts at index 0 of the new array. */
	for (uint32_t i = 0; i < h->count; i++)
		runs[i] = *fev__holder_run(h, i);
	free(h->heap);
	h->heap = runs;
	h->size = size;
	h->first = 0;
	return 0;
}

void fev__holder_free(struct fev__holder *h)
{
	free(h->heap);
	h->heap = NULL;
	h->size = 0;
	h->first = 0;
	h->count = 0;
	h->held = 0;
}
