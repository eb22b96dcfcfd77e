/*
 * The one rule for naming the group that owns a queue, shared by fevd's
 * config, its control socket and the fev tool: a group name or a decimal
 * gid, of a group that exists on this machine, and never gid 0, which
 * fev_queue_config reads as "the creator's group" (a zero-initialised
 * config must not hand a queue to root's group).
 */
#ifndef FEV_GROUP_H
#define FEV_GROUP_H

#include <sys/types.h>

/*
 * Resolve s, a group name or decimal gid.  0 and *out; -ENOENT: no such
 * group (name or number); -EINVAL: empty, or a number that is not plain
 * decimal; -ENOMEM.
 */
int fev__group_lookup(const char *s, gid_t *out);

/* The group to own a queue: fev__group_lookup(), and -EPERM for gid 0. */
int fev__queue_group_parse(const char *s, gid_t *out);

/* A sentence for an error of the two above. */
const char *fev__group_error(int err);

#endif /* FEV_GROUP_H */
