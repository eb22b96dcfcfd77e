#include "instance_lock.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "instance.h"
#include "rundir.h"

/* Tries when the file we locked was removed by a fevd that just exited. */
#define LOCK_TRIES 8

int fevd_instance_lock_path(const char *instance, char *buf, size_t size)
{
	return fev__run_path(instance, "lock", buf, size);
}

/* Ours alone: owned by us, writable by no one else, not a link. */
static bool ours_alone(const struct stat *st)
{
	return st->st_uid == geteuid() && (st->st_mode & 022) == 0;
}

/* The lock's directory: created 0700 (root: 0755, the socket lives there
 * and must be reachable), and refused unless only we can write it. */
static int own_dir(const char *path, char *err, size_t errlen)
{
	int rc = fevd_run_dir_make(path, geteuid() == 0 ? 0755 : 0700);

	if (rc < 0)
		return rc;
	/* The one rule for fevd's run directory (socket, pidfile, lock). */
	return fev__run_dir_check(path, geteuid(), err, errlen);
}

/* Is fd still the file at path (and not one a leaving fevd removed)? */
static bool still_there(const char *path, int fd)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static int lock_once(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	int rc;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !ours_alone(&st) ||
	    (st.st_mode & 077) != 0) {
		snprintf(err, errlen,
			 "%s is not a 0600 file of uid %u: remove it",
			 path, (unsigned)geteuid());
		close(fd);
		return -EPERM;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		rc = errno == EWOULDBLOCK ? -EEXIST : -errno;
		close(fd);
		return rc;
	}
	if (!still_there(path, fd)) {
		close(fd);
		return -EAGAIN;
	}
	return fd;
}

int fevd_instance_lock(const char *path, char *err, size_t errlen)
{
	int rc = own_dir(path, err, errlen);

	if (rc < 0)
		return rc;
	for (int i = 0; i < LOCK_TRIES; i++) {
		rc = lock_once(path, err, errlen);
		if (rc != -EAGAIN)
			return rc;
	}
	return -EEXIST; /* fevds come and go faster than we can look */
}

void fevd_instance_unlock(const char *path, int fd)
{
	if (fd < 0)
		return;
	/* Unlink while holding it: a fevd starting now either locks this
	 * file first or finds it gone (still_there) and opens a new one. */
	unlink(path);
	close(fd);
}
