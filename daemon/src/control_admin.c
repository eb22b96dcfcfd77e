/*
 * The admin socket: a second control socket in a directory only fevd's
 * uid (and its admin group) can enter, DIR/admin/NAME next to the public
 * DIR/NAME (fev__admin_socket_path()).  The public socket is anyone's:
 * connections churned by another user can keep its listen backlog full,
 * and a connect() waits for a free place (the soak once saw root's `list`
 * wait 17.6 s).  On this one only callers who may change the instance
 * queue, so they are never starved by others; the requests and the
 * authorisation (SO_PEERCRED) are the same on both, as PostgreSQL serves
 * one protocol on a socket whose directory permissions gate who connects.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "instance.h"
#include "internal.h"
#include "log.h"

/* DIR/admin, fevd's own, 0700 (0750 and the admin group's when set). */
static int make_dir(struct fevd *d, char *dir)
{
	mode_t mode = d->cfg.has_admin_group ? 0750 : 0700;
	struct stat st;

	if (mkdir(dir, mode) < 0 && errno != EEXIST)
		return -errno;
	if (lstat(dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid())
		return -EPERM; /* not ours to use: someone else's, or a link */
	if (d->cfg.has_admin_group && st.st_gid != d->cfg.admin_gid &&
	    chown(dir, (uid_t)-1, d->cfg.admin_gid) < 0)
		return -errno;
	if ((st.st_mode & 07777) != mode && chmod(dir, mode) < 0)
		return -errno;
	return 0;
}

void fevd_control_listen_admin(struct fevd *d)
{
	char dir[sizeof(d->admin_path)];
	int rc = fev__admin_socket_path(d->socket_path, d->admin_path,
					sizeof(d->admin_path));

	if (rc == 0) {
		memcpy(dir, d->admin_path, sizeof(dir));
		*strrchr(dir, '/') = '\0';
		rc = make_dir(d, dir);
	}
	if (rc == 0)
		rc = fevd_control_bind(d->admin_path);
	if (rc < 0) {
		fevd_warn("no admin socket at %s (%s): admins share the public "
			  "control socket with everyone",
			  d->admin_path, strerror(-rc));
		d->admin_path[0] = '\0';
		return;
	}
	d->adminfd = rc;
	fevd_epoll_add(d, d->adminfd, FEVD_TAG_LISTEN);
}

void fevd_control_close_admin(struct fevd *d)
{
	char dir[sizeof(d->admin_path)];

	if (d->adminfd < 0)
		return;
	fevd_epoll_del(d, d->adminfd);
	close(d->adminfd);
	d->adminfd = -1;
	unlink(d->admin_path);
	memcpy(dir, d->admin_path, sizeof(dir));
	*strrchr(dir, '/') = '\0';
	rmdir(dir); /* when empty: a fevd of another instance may use it */
}
