/*
 * fevd's single-instance lock: one fevd supervises an instance, whatever
 * pidfile or control socket each was given (two supervisors would repair
 * the same dead record twice).  The lock is a flock on a 0600 file in a
 * directory only fevd's user writes, so no other user can open the file,
 * let alone hold its lock: a lock on anything in world-writable /dev/shm
 * could be taken by anyone who can read a segment (issue 9, item 3).
 */
#ifndef FEVD_INSTANCE_LOCK_H
#define FEVD_INSTANCE_LOCK_H

#include <stddef.h>

/*
 * The lock file of instance for this euid: /run/fev/INSTANCE.lock for root,
 * else $XDG_RUNTIME_DIR/fev/INSTANCE.lock (or /tmp/fev-UID/...).  0 or
 * -ENAMETOOLONG.
 */
int fevd_instance_lock_path(const char *instance, char *buf, size_t size);

/*
 * Take the lock at path: the fd holding it, -EEXIST when another fevd
 * holds it, -EPERM when the directory or file is not ours alone (why is
 * in err), or -errno.
 */
int fevd_instance_lock(const char *path, char *err, size_t errlen);

/* Remove the file, then drop the lock (fd from fevd_instance_lock). */
void fevd_instance_unlock(const char *path, int fd);

#endif /* FEVD_INSTANCE_LOCK_H */
