/*
 * What creators that died half-way leave in /dev/shm (issue 9, item 11):
 * a temporary "fev.I.Q~PID" (fev_queue_create() builds segments under it),
 * or, from creators that predate the rename, a never-finished segment
 * under the queue's own name, which made list, delete and create disagree
 * for good.  fevd removes both, loudly, once they are surely abandoned.
 */
#ifndef FEVD_LEFTOVERS_H
#define FEVD_LEFTOVERS_H

#include <stdbool.h>

struct fevd;

/* A leftover younger than this may still have a live creator. */
#define FEVD_LEFTOVER_GRACE_S 60

/*
 * Remove a trusted segment at queue name of d's instance that can never be
 * served: one whose ready word (magic) was never stored, once it is
 * FEVD_LEFTOVER_GRACE_S old; with now (fevd is creating the queue in its
 * place), at once, and also one whose header is corrupt or cut short (a
 * writer's doing).  Another ABI's segment is never removed.  0 when
 * removed, -EEXIST when the segment is fine, -EAGAIN when too young, or
 * -errno.
 */
int fevd_remove_broken(struct fevd *d, const char *name, bool now);

/*
 * `delete NAME` of a name fevd does not serve: remove whatever holds it
 * (half-created, corrupt, a squatter), so an admin can always free a name.
 * 0, -ENOENT when nothing does, or -errno.
 */
int fevd_remove_unserved(struct fevd *d, const char *name);

/* Remove temporaries of d's instance whose creator is dead. */
void fevd_remove_dead_creators(struct fevd *d);

#endif /* FEVD_LEFTOVERS_H */
