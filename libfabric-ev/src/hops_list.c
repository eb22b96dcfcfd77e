/*
 * The hop rings of an instance, found by name in /dev/shm (hops.h):
 * "fev.I.T@hops" for each topic T that keeps one.  `fev trace` gathers a
 * trace from all of them; fev-otel follows them.
 */
#include <dirent.h>
#include <errno.h>
#include <string.h>

#include "hops.h"
#include "names.h"

int fev__hops_each(const char *instance, int (*fn)(const char *, void *),
		   void *arg)
{
	char prefix[FEV__SHM_PREFIX_MAX];
	size_t pl, sl = sizeof(FEV__HOPS_SUFFIX) - 1;
	struct dirent *de;
	DIR *d;
	int rc = fev__shm_prefix(prefix, sizeof(prefix), instance);

	if (rc < 0)
		return rc;
	pl = strlen(prefix);
	d = opendir(FEV__SHM_DIR);
	if (d == NULL)
		return -errno;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		char topic[FEV_NAME_MAX + 1];
		size_t n = strlen(de->d_name);

		if (strncmp(de->d_name, prefix, pl) != 0 || n <= pl + sl ||
		    strcmp(de->d_name + n - sl, FEV__HOPS_SUFFIX) != 0 ||
		    n - pl - sl > FEV_NAME_MAX)
			continue;
		memcpy(topic, de->d_name + pl, n - pl - sl);
		topic[n - pl - sl] = '\0';
		if (fev_queue_name_valid(topic) == 0)
			rc = fn(topic, arg);
	}
	closedir(d);
	return rc;
}
