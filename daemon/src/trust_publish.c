/*
 * [fabric] trusted_uids: owners of segments fevd and its clients trust
 * besides root and fevd's uid (doc/design.md, "Trust").  fevd trusts them
 * itself (fev__trust_also()) and publishes them in a file next to its
 * control socket (fev__trusted_uids_path()), which clients believe only
 * when it is a regular file of the socket's owner that no one else may
 * write, in a run directory only that owner (or root) writes: what
 * clients verify is who wrote it, not what it says.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "log.h"
#include "trust.h"

void fevd_trust_apply(struct fevd *d)
{
	fev__trust_also(d->cfg.trusted_uids, d->cfg.ntrusted_uids);
}

void fevd_trust_publish(struct fevd *d)
{
	char path[PATH_MAX];
	int rc = fev__trusted_uids_path(d->socket_path, path, sizeof(path));

	if (rc == 0)
		rc = fev__trusted_uids_publish(path, d->cfg.trusted_uids,
					       d->cfg.ntrusted_uids);
	if (rc < 0)
		fevd_err("cannot publish trusted_uids next to %s (%s): "
			 "clients trust only root, their own and fevd's uid",
			 d->socket_path, strerror(-rc));
}

void fevd_trust_unpublish(struct fevd *d)
{
	char path[PATH_MAX];

	if (fev__trusted_uids_path(d->socket_path, path, sizeof(path)) == 0)
		unlink(path);
}
