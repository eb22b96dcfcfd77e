/*
 * Fabric-wide names shared by fevd and the tools: where an instance's
 * control socket lives and which queues an instance has.
 */
#ifndef FEV_FABRIC_H
#define FEV_FABRIC_H

#include <stddef.h>

/*
 * The control socket of an instance: $FEV_CONTROL_SOCKET if set, else
 * /run/fev/INSTANCE.sock for root, else $XDG_RUNTIME_DIR/fev/INSTANCE.sock
 * (or /tmp/fev-UID/INSTANCE.sock).  0, -EINVAL, -ENAMETOOLONG.
 */
int fev__control_socket_path(const char *instance, char *buf, size_t size);

/*
 * Call fn for each queue segment of instance (NULL: the default) found in
 * /dev/shm, in name order.  Stops early when fn returns non-zero and returns
 * that; else 0 or -errno.
 */
int fev__list_queues(const char *instance,
		     int (*fn)(const char *queue, void *arg), void *arg);

#endif /* FEV_FABRIC_H */
