/*
 * An instance's names shared by fevd and the tools: where its
 * control socket lives, whether its run directory can be trusted, and
 * which queues it has.
 */
#ifndef FEV_INSTANCE_H
#define FEV_INSTANCE_H

#include <stddef.h>
#include <sys/types.h>

/*
 * The control socket of an instance: $FEV_CONTROL_SOCKET if set, else
 * /run/fev/INSTANCE.sock for root, else $XDG_RUNTIME_DIR/fev/INSTANCE.sock
 * (or /tmp/fev-UID/INSTANCE.sock).  0, -EINVAL, -ENAMETOOLONG.
 */
int fev__control_socket_path(const char *instance, char *buf, size_t size);

/* Root's run directory: the control socket, pidfile and lock of each of
 * its instances. */
#define FEV__ROOT_RUN_DIR "/run/fev"

/*
 * The default path of an instance's run file INSTANCE.EXT ("sock", "lock",
 * "pid"): in FEV__ROOT_RUN_DIR for root, else $XDG_RUNTIME_DIR/fev (or
 * /tmp/fev-UID).  0, -EINVAL, -ENAMETOOLONG.
 */
int fev__run_path(const char *instance, const char *ext, char *buf,
		  size_t size);

/*
 * May the directory holding control socket (or pidfile) path be trusted
 * to hold one of owner's?  Anyone can make /tmp/fev-UID first, fill it
 * with symlinks and answer on a socket there.  So: a real directory (not
 * a symlink), owned by owner or root, that no one else may write to
 * unless it is sticky (/tmp itself).  0, -EPERM with a sentence in why, or
 * -errno.
 */
int fev__run_dir_check(const char *path, uid_t owner, char *why,
		       size_t size);

/*
 * The admin socket next to control socket socket_path: DIR/admin/NAME for
 * DIR/NAME.  fevd makes DIR/admin its own, mode 0700 (0750 and its admin
 * group when it has one), so only root, fevd's uid and that group reach
 * it: no one else's connections can fill its backlog (issue 9).  Clients
 * that may change the instance try it first.  0 or -ENAMETOOLONG.
 */
int fev__admin_socket_path(const char *socket_path, char *buf, size_t size);
/*
 * May a client talk to fevd on admin_path?  Its directory is a real one,
 * owned by the owner of the public socket at socket_path (the uid fevd
 * runs as) and writable by no one else, sticky or not: in /tmp anyone
 * could have made "admin" first.  0, or -errno (then use the public one).
 */
int fev__admin_socket_check(const char *admin_path, const char *socket_path);

/* Is the control socket path the default one (no $FEV_CONTROL_SOCKET)? */
int fev__control_socket_is_default(void);

/*
 * Call fn for each segment of instance (NULL: the default) found in
 * /dev/shm, in name order: queues, and partitions "TOPIC@k" of topics.  Stops early when fn returns non-zero and returns
 * that; else 0 or -errno.
 */
int fev__list_queues(const char *instance,
		     int (*fn)(const char *queue, void *arg), void *arg);

#endif /* FEV_INSTANCE_H */
