/* fevd's run directory (rundir.h). */
#include "rundir.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/string.h>

#include "instance.h" /* fev__run_dir_check() */
#include "log.h"

int fevd_run_dir_make(const char *path, mode_t mode)
{
	char dir[PATH_MAX];
	char *slash;

	if (strlcpy(dir, path, sizeof(dir)) >= sizeof(dir))
		return -ENAMETOOLONG;
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0; /* relative to the cwd, or in / */
	*slash = '\0';
	for (char *p = dir + 1;; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		if (mkdir(dir, c == '\0' ? mode : 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = c;
		if (c == '\0')
			return 0;
	}
}

int fevd_run_dir_check(const char *path)
{
	char why[512];
	int rc = fev__run_dir_check(path, geteuid(), why, sizeof(why));

	if (rc == -EPERM)
		fevd_err("refusing to use %s: %s", path, why);
	else if (rc < 0)
		fevd_err("cannot check the directory of %s: %s", path,
			 strerror(-rc));
	return rc;
}
