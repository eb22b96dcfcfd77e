/*
 * Does a new segment fit?  Creating a queue reserves all of its tmpfs
 * pages at once (posix_fallocate), charged to the creator's memory
 * cgroup: one larger than the room left gets the creator (fevd) OOM-killed
 * half-way, or fills /dev/shm for everyone (issue 9, item 10).  So the
 * size is checked first, against the three limits, before any page is
 * touched.
 */
#ifndef FEV_MEMFIT_H
#define FEV_MEMFIT_H

#include <stdint.h>

/*
 * 0 when bytes fit; -ENOSPC when /dev/shm has less room, -ENOMEM when
 * MemAvailable or the memory cgroup of this process (any level up to the
 * root) has less.  A limit that cannot be read does not refuse.
 */
int fev__segment_fits(uint64_t bytes);

#endif /* FEV_MEMFIT_H */
