#include "trust.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "instance.h"
#include "names.h"


int fev__shm_path(char *buf, size_t size, const char *shm_name)
{
	int n = snprintf(buf, size, FEV__SHM_DIR "%s", shm_name);

	return n > 0 && (size_t)n < size ? 0 : -ENAMETOOLONG;
}

int fev__instance_owner(const char *instance, uid_t *uid)
{
	char path[4096];
	struct stat st;
	int rc = fev__control_socket_path(instance, path, sizeof(path));

	if (rc < 0)
		return rc;
	/* A socket in someone else's /tmp/fev-UID vouches for no one. */
	if (fev__control_socket_is_default() &&
	    fev__run_dir_check(path, geteuid(), (char[256]){ 0 }, 256) < 0)
		return -EPERM;
	/* lstat: a symlink in place of the socket vouches for no one. */
	if (lstat(path, &st) < 0)
		return -errno;
	if (!S_ISSOCK(st.st_mode))
		return -ENOENT;
	*uid = st.st_uid;
	return 0;
}

bool fev__uid_trusted(uid_t uid, const char *instance)
{
	uid_t owner;

	if (uid == 0 || uid == geteuid())
		return true;
	return fev__instance_owner(instance, &owner) == 0 && owner == uid;
}

int fev__shm_open_trusted(const char *shm_name, const char *instance,
			  int flags, struct stat *st)
{
	char path[sizeof(FEV__SHM_DIR) + 256];
	int fd, rc;

	rc = fev__shm_path(path, sizeof(path), shm_name);
	if (rc < 0)
		return rc;
	fd = open(path, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP ? -EUCLEAN : -errno; /* ELOOP: a symlink */
	if (fstat(fd, st) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	if (!S_ISREG(st->st_mode) || !fev__uid_trusted(st->st_uid, instance)) {
		close(fd);
		return -EUCLEAN;
	}
	return fd;
}
