#include "memfit.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>

#include "names.h"

#define CGROUP_ROOT "/sys/fs/cgroup"
#define NO_LIMIT UINT64_MAX

/* The first number in file path (after key, when key is not NULL). */
static uint64_t read_number(const char *path, const char *key)
{
	char line[256];
	uint64_t v = NO_LIMIT;
	size_t klen = key != NULL ? strlen(key) : 0;
	FILE *f = fopen(path, "re");

	if (f == NULL)
		return NO_LIMIT;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (key != NULL && strncmp(line, key, klen) != 0)
			continue;
		if (sscanf(line + klen, " %" SCNu64, &v) != 1)
			v = NO_LIMIT; /* "max" */
		break;
	}
	fclose(f);
	return v;
}

static uint64_t room(uint64_t limit, uint64_t used)
{
	if (limit == NO_LIMIT || used == NO_LIMIT)
		return NO_LIMIT;
	return used < limit ? limit - used : 0;
}

/* cgroup v2: the least room of any level from ours up to the root. */
static uint64_t v2_room(const char *cg)
{
	char path[4096];
	uint64_t best = NO_LIMIT;
	char dir[2048];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", cg);
	for (;;) {
		uint64_t max, cur, r;

		snprintf(path, sizeof(path), CGROUP_ROOT "%s/memory.max", dir);
		max = read_number(path, NULL);
		snprintf(path, sizeof(path), CGROUP_ROOT "%s/memory.current",
			 dir);
		cur = read_number(path, NULL);
		r = room(max, cur);
		best = r < best ? r : best;
		slash = strrchr(dir, '/');
		if (slash == NULL || dir[0] == '\0')
			return best;
		*slash = '\0';
	}
}

/* cgroup v1: memory.stat's hierarchical limit covers the ancestors. */
static uint64_t v1_room(const char *cg)
{
	char path[4096];
	uint64_t limit, used;

	snprintf(path, sizeof(path), CGROUP_ROOT "/memory%s/memory.stat", cg);
	limit = read_number(path, "hierarchical_memory_limit");
	snprintf(path, sizeof(path),
		 CGROUP_ROOT "/memory%s/memory.usage_in_bytes", cg);
	used = read_number(path, NULL);
	return room(limit, used);
}

/* Room in this process's memory cgroup, v1 or v2. */
static uint64_t cgroup_room(void)
{
	char line[2048];
	uint64_t best = NO_LIMIT;
	FILE *f = fopen("/proc/self/cgroup", "re");

	if (f == NULL)
		return NO_LIMIT;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *ctl = strchr(line, ':');
		char *cg = ctl != NULL ? strchr(ctl + 1, ':') : NULL;
		uint64_t r = NO_LIMIT;

		if (cg == NULL)
			continue;
		*cg++ = '\0';
		cg[strcspn(cg, "\n")] = '\0';
		if (strcmp(cg, "/") == 0)
			cg[0] = '\0';
		if (ctl[1] == '\0')
			r = v2_room(cg);
		else if (strstr(ctl + 1, "memory") != NULL)
			r = v1_room(cg);
		best = r < best ? r : best;
	}
	fclose(f);
	return best;
}

int fev__segment_fits(uint64_t bytes)
{
	struct statvfs vfs;
	uint64_t avail_kb;

	if (statvfs(FEV__SHM_DIR, &vfs) == 0 &&
	    (uint64_t)vfs.f_bavail * vfs.f_frsize < bytes)
		return -ENOSPC;
	avail_kb = read_number("/proc/meminfo", "MemAvailable:");
	if (avail_kb != NO_LIMIT && avail_kb < bytes / 1024)
		return -ENOMEM;
	if (cgroup_room() < bytes)
		return -ENOMEM;
	return 0;
}
