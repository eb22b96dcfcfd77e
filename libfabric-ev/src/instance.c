#include "instance.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fev/fev.h"
#include "names.h"
#include "segment.h"

static int fit(int n, size_t size)
{
	return n > 0 && (size_t)n < size ? 0 : -ENAMETOOLONG;
}

int fev__run_path(const char *instance, const char *ext, char *buf,
		  size_t size)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	instance = fev__instance_or_default(instance);
	if (fev_instance_name_valid(instance) < 0)
		return -EINVAL;
	if (geteuid() == 0)
		return fit(snprintf(buf, size, FEV__ROOT_RUN_DIR "/%s.%s",
				    instance, ext),
			   size);
	if (xdg != NULL && xdg[0] == '/')
		return fit(snprintf(buf, size, "%s/fev/%s.%s", xdg, instance,
				    ext),
			   size);
	return fit(snprintf(buf, size, "/tmp/fev-%u/%s.%s",
			    (unsigned)geteuid(), instance, ext),
		   size);
}

int fev__control_socket_path(const char *instance, char *buf, size_t size)
{
	const char *env = getenv("FEV_CONTROL_SOCKET");

	instance = fev__instance_or_default(instance);
	if (fev_instance_name_valid(instance) < 0)
		return -EINVAL;
	if (env != NULL && env[0] != '\0')
		return fit(snprintf(buf, size, "%s", env), size);
	return fev__run_path(instance, "sock", buf, size);
}

#define ADMIN_DIR "admin"

int fev__admin_socket_path(const char *socket_path, char *buf, size_t size)
{
	const char *slash = strrchr(socket_path, '/');
	int dirlen = slash != NULL ? (int)(slash - socket_path) + 1 : 0;

	return fit(snprintf(buf, size, "%.*s" ADMIN_DIR "/%s", dirlen,
			    socket_path, socket_path + dirlen),
		   size);
}

int fev__admin_socket_check(const char *admin_path, const char *socket_path)
{
	char dir[4096];
	const char *slash = strrchr(admin_path, '/');
	struct stat st, sock;

	if (slash == NULL || (size_t)(slash - admin_path) >= sizeof(dir))
		return -EINVAL;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - admin_path),
		 admin_path);
	if (lstat(dir, &st) < 0 || lstat(socket_path, &sock) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != sock.st_uid ||
	    (st.st_mode & 022) != 0)
		return -EPERM;
	return 0;
}

int fev__control_socket_is_default(void)
{
	const char *env = getenv("FEV_CONTROL_SOCKET");

	return env == NULL || env[0] == '\0';
}

int fev__run_dir_check(const char *path, uid_t owner, char *why,
		       size_t size)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	struct stat st;

	if (slash == NULL)
		return 0; /* relative to the working directory: the caller's */
	if ((size_t)(slash - path) >= sizeof(dir))
		return -ENAMETOOLONG;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (dir[0] == '\0')
		return 0; /* "/" */
	if (lstat(dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode)) {
		snprintf(why, size, "%s is not a directory (a symlink?)", dir);
		return -EPERM;
	}
	if (st.st_uid != owner && st.st_uid != 0) {
		snprintf(why, size,
			 "%s belongs to uid %u, not to uid %u or root: "
			 "someone else made it; remove it or set "
			 "XDG_RUNTIME_DIR",
			 dir, (unsigned)st.st_uid, (unsigned)owner);
		return -EPERM;
	}
	if ((st.st_mode & 022) != 0 && (st.st_mode & S_ISVTX) == 0) {
		snprintf(why, size,
			 "%s is writable by others (mode %04o): anyone could "
			 "replace what is in it; chmod go-w it",
			 dir, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Names "fev.INSTANCE.SEGMENT" in /dev/shm (queues and partitions,
 * segment.h); instances hold no dot.
 */
static int collect(const char *prefix, char ***out, size_t *count)
{
	size_t plen = strlen(prefix), n = 0, cap = 0;
	char **names = NULL;
	struct dirent *de;
	DIR *d = opendir(FEV__SHM_DIR);

	if (d == NULL)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		const char *q = de->d_name + plen;
		char **grown;

		if (strncmp(de->d_name, prefix, plen) != 0 ||
		    fev__segment_name_parse(q, NULL, NULL) < 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			grown = realloc(names, cap * sizeof(*names));
			if (grown == NULL)
				break;
			names = grown;
		}
		names[n] = strdup(q);
		if (names[n] != NULL)
			n++;
	}
	closedir(d);
	if (n > 0) /* names is NULL when nothing matched */
		qsort(names, n, sizeof(*names), by_name);
	*out = names;
	*count = n;
	return 0;
}

int fev__list_queues(const char *instance,
		     int (*fn)(const char *queue, void *arg), void *arg)
{
	char prefix[FEV__SHM_PREFIX_MAX];
	char **names = NULL;
	size_t n = 0;
	int rc = fev__shm_prefix(prefix, sizeof(prefix), instance);

	if (rc < 0)
		return rc;
	rc = collect(prefix, &names, &n);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (rc == 0)
			rc = fn(names[i], arg);
		free(names[i]);
	}
	free(names);
	return rc;
}
