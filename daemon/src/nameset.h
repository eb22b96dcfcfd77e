/*
 * A bounded set of queue names, kept sorted: the segments fevd could not
 * adopt and has said so once.  Each rescan marks the names it still finds
 * bad (a sweep); names not marked are forgotten at its end, so the set
 * holds what /dev/shm holds now, never every name ever seen.
 */
#ifndef FEVD_NAMESET_H
#define FEVD_NAMESET_H

#include <stddef.h>
#include <stdint.h>

/* Bound on remembered names: past it, complaints are rate-limited. */
#define FEVD_NAMESET_MAX 4096

struct fevd_nameset {
	char **names;
	uint32_t *mark; /* sweep number that last saw the name */
	size_t n, cap;
	uint32_t sweep;
};

/*
 * Mark name as seen in this sweep, adding it when new.  1: it was new (say
 * so); 0: already there; -ENOSPC: the set is full; -ENOMEM.
 */
int fevd_nameset_add(struct fevd_nameset *s, const char *name);
void fevd_nameset_sweep_begin(struct fevd_nameset *s);
/* Forget the names not marked since fevd_nameset_sweep_begin(). */
void fevd_nameset_sweep_end(struct fevd_nameset *s);
void fevd_nameset_free(struct fevd_nameset *s);

#endif /* FEVD_NAMESET_H */
