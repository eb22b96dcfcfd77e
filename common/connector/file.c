/*
 * fevconn_file_check(): a file named in a connector config, checked once,
 * when the config is read (fevconn_file.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fevconn_file.h"

int fevconn_file_check(const char *key, const char *path, bool secret,
		       char *w, size_t wl)
{
	struct stat st;
	int fd, rc;

	/* Opened, not access()ed: the question is whether this process can
	 * read it, with its real rights (root's included). O_NONBLOCK: a
	 * FIFO named by mistake does not hang --check-config. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(w, wl, "%s %s: %s: %s", key, path, strerror(-rc),
			 rc == -ENOENT ? "give the path of an existing file"
				       : "let the user fev-nats runs as read it");
		return rc;
	}
	rc = fstat(fd, &st) < 0 ? -errno : 0;
	close(fd);
	if (rc == 0 && !S_ISREG(st.st_mode)) {
		snprintf(w, wl, "%s %s is not a regular file", key, path);
		return -EINVAL;
	}
	if (rc < 0) {
		snprintf(w, wl, "%s %s: %s", key, path, strerror(-rc));
		return rc;
	}
	if (secret && (st.st_mode & (S_IROTH | S_IWOTH)) != 0) {
		snprintf(w, wl,
			 "%s %s holds a secret and is readable or writable by "
			 "others: chmod o-rw %s",
			 key, path, path);
		return -EPERM;
	}
	return 0;
}
