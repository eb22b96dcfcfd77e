/*
 * Which files in /dev/shm fev trusts (doc/design.md, "Trust").  /dev/shm is
 * world-writable and flat: anyone can put a FIFO, a symlink or a file of
 * their own under any fev name.  So every segment is opened without
 * following links or blocking, and is read only when it is a regular file
 * owned by a trusted uid: root, the caller's own euid, the uid of the fevd
 * serving the instance (the owner of its control socket), or a uid that
 * fevd's config lists in trusted_uids, which fevd publishes in a file next
 * to its control socket that only its uid can have written.
 */
#ifndef FEV_TRUST_H
#define FEV_TRUST_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Is uid trusted to own segments of instance (NULL: the default)? */
bool fev__uid_trusted(uid_t uid, const char *instance);

/* How many uids trusted_uids may list. */
#define FEV__TRUSTED_UIDS_MAX 32

/*
 * Parse trusted_uids: user names or decimal uids separated by spaces or
 * commas, of users that exist.  0 with uids[0..*n); -EINVAL (a sentence in
 * why: which one does not exist, or too many).
 */
int fev__trusted_uids_parse(const char *s, uid_t *uids, size_t *n,
			    char *why, size_t whylen);

/*
 * Where fevd publishes its trusted uids: the path of its control socket
 * with ".trusted" appended.  0 or -ENAMETOOLONG.
 */
int fev__trusted_uids_path(const char *socket_path, char *buf, size_t size);

/*
 * Publish uids (one decimal per line) at path, atomically (a temporary
 * file renamed into place), mode 0644.  n == 0 removes the file.  fevd
 * only.  0 or -errno.
 */
int fev__trusted_uids_publish(const char *path, const uid_t *uids, size_t n);

/*
 * The uids this process trusts besides the rule (fevd: its config's
 * trusted_uids, which it reads itself rather than from the file).  Set by
 * one thread before any other opens segments, or between reloads.
 */
void fev__trust_also(const uid_t *uids, size_t n);

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
