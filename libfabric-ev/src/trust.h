/*
 * Which files in /dev/shm fev trusts (doc/design.md, "Trust").  /dev/shm is
 * world-writable and flat: anyone can put a FIFO, a symlink or a file of
 * their own under any fev name.  So every segment is opened without
 * following links or blocking, and is read only when it is a regular file
 * owned by a trusted uid: root, the caller's own euid, or the uid of the
 * fevd serving the instance (the owner of its control socket).
 */
#ifndef FEV_TRUST_H
#define FEV_TRUST_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Is uid trusted to own segments of instance (NULL: the default)? */
bool fev__uid_trusted(uid_t uid, const char *instance);

/*
 * The uid of the fevd serving instance: the owner of its control socket,
 * or -ENOENT when none is listening there.  0 (and *uid) or -errno.
 */
int fev__instance_owner(const char *instance, uid_t *uid);

/*
 * Open segment shm_name ("/fev.I.Q") with flags (O_RDONLY or O_RDWR) plus
 * O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, so a FIFO or a symlink never blocks
 * or redirects us, and check what was opened: a regular file
 * (-EUCLEAN otherwise) owned by a trusted uid (-EUCLEAN otherwise).  Fills
 * st.  Returns the fd or -errno.
 */
int fev__shm_open_trusted(const char *shm_name, const char *instance,
			  int flags, struct stat *st);

/* "/dev/shm" + shm_name into buf: 0 or -ENAMETOOLONG. */
int fev__shm_path(char *buf, size_t size, const char *shm_name);

#endif /* FEV_TRUST_H */
