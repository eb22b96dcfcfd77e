/* Reading a config file for fevini_parse(): bounded, never blocking. */
#include "fevini.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The whole file in a NUL-terminated buffer (caller frees), or -errno with
 * "PATH: reason" in err. */
static int read_whole(const char *path, char **text, char *err, size_t errlen)
{
	struct stat st;
	ssize_t n;
	char *buf;
	int fd, rc;

	/* O_NONBLOCK: a FIFO must be refused below, not wait for a writer. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > FEVINI_FILE_MAX) {
		close(fd);
		snprintf(err, errlen, "%s: not a regular file under %d MiB",
			 path, FEVINI_FILE_MAX >> 20);
		return -EINVAL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		close(fd);
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	/* A file that grew since fstat() is read up to its size then. */
	n = read(fd, buf, (size_t)st.st_size);
	rc = n < 0 ? -errno : 0;
	close(fd);
	if (rc == 0 && memchr(buf, '\0', (size_t)n) != NULL) {
		snprintf(err, errlen, "%s: binary data (NUL byte)", path);
		rc = -EINVAL;
	} else if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
	}
	if (rc < 0) {
		free(buf);
		return rc;
	}
	buf[n] = '\0';
	*text = buf;
	return 0;
}

int fevini_load(const char *path, const struct fevini_rules *rules,
		void *ctx, char *err, size_t errlen)
{
	char *text = NULL;
	int rc = read_whole(path, &text, err, errlen);

	if (rc < 0)
		return rc;
	rc = fevini_parse(text, path, rules, ctx, err, errlen);
	free(text);
	return rc;
}
