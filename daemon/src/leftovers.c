#include "leftovers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "log.h"
#include "names.h"
#include "segment.h"
#include "trust.h"

static bool old_enough(const struct stat *st)
{
	return time(NULL) - st->st_mtime >= FEVD_LEFTOVER_GRACE_S;
}

/* Never stored its ready word: too short for a header, or magic 0. */
static bool never_ready(const struct fev__segment *head, const struct stat *st)
{
	return (size_t)st->st_size < sizeof(head->hdr) ||
	       atomic_load_explicit(&head->hdr.magic, memory_order_relaxed) ==
		       0;
}

/*
 * Corrupt or cut short (-EBADMSG), read with pread, not a mapping, so a
 * writer truncating it meanwhile cannot fault us.  The validation reads
 * only the header, which head holds whole.
 */
static bool corrupt(const struct fev__segment *head, const struct stat *st)
{
	struct fev__geometry g;

	if ((size_t)st->st_size < sizeof(*head))
		return true;
	return fev__segment_validate(head, (size_t)st->st_size, &g) ==
	       -EBADMSG;
}

/* Unlink path only while it still names the file we looked at. */
static int unlink_same(const char *path, const struct stat *seen)
{
	struct stat now;

	if (lstat(path, &now) < 0)
		return -errno;
	if (now.st_dev != seen->st_dev || now.st_ino != seen->st_ino)
		return -EEXIST;
	return unlink(path) < 0 ? -errno : 0;
}

int fevd_remove_broken(struct fevd *d, const char *name, bool now)
{
	char shm[FEV__SHM_NAME_MAX], path[FEV__SHM_NAME_MAX + 16];
	struct fev__segment head;
	struct stat st;
	bool unready, bad;
	int fd, rc;

	rc = fev__shm_name(shm, sizeof(shm), d->instance, name);
	if (rc < 0 || (rc = fev__shm_path(path, sizeof(path), shm)) < 0)
		return rc;
	fd = fev__shm_open_trusted(shm, d->instance, O_RDONLY, &st);
	if (fd < 0)
		return fd;
	memset(&head, 0, sizeof(head));
	if (pread(fd, &head, sizeof(head), 0) < 0)
		memset(&head, 0, sizeof(head));
	close(fd);
	unready = never_ready(&head, &st);
	bad = !unready && now && corrupt(&head, &st);
	if (!unready && !bad)
		return -EEXIST;
	if (!now && !old_enough(&st))
		return -EAGAIN;
	rc = unlink_same(path, &st);
	if (rc == 0)
		fevd_warn("queue '%s': removed %s, a segment %s (%lld bytes, "
			  "uid %u)",
			  name, path,
			  unready ? "its creator never finished" :
				    "corrupt or cut short by a writer",
			  (long long)st.st_size, (unsigned)st.st_uid);
	return rc;
}

int fevd_remove_unserved(struct fevd *d, const char *name)
{
	char shm[FEV__SHM_NAME_MAX], path[FEV__SHM_NAME_MAX + 16];
	struct stat st;
	int rc = fev__shm_name(shm, sizeof(shm), d->instance, name);

	if (rc < 0 || (rc = fev__shm_path(path, sizeof(path), shm)) < 0)
		return rc;
	if (lstat(path, &st) < 0)
		return -errno;
	rc = unlink_same(path, &st);
	if (rc == 0)
		fevd_warn("queue '%s': removed %s, which fevd did not serve (a "
			  "%s of uid %u, %lld bytes)",
			  name, path, S_ISREG(st.st_mode) ? "file" : "non-file",
			  (unsigned)st.st_uid, (long long)st.st_size);
	return rc;
}

/* "fev.I.Q~PID" of our instance: the creator's pid, else 0. */
static pid_t creator_of(const struct fevd *d, const char *entry)
{
	char prefix[FEV__SHM_PREFIX_MAX];
	const char *sep = strrchr(entry, FEV__CREATING_SEP[0]);
	char *end;
	long pid;

	if (sep == NULL ||
	    fev__shm_prefix(prefix, sizeof(prefix), d->instance) < 0 ||
	    strncmp(entry, prefix, strlen(prefix)) != 0)
		return 0;
	pid = strtol(sep + 1, &end, 10);
	return *end == '\0' && pid > 0 && pid <= INT32_MAX ? (pid_t)pid : 0;
}

static void remove_if_dead(struct fevd *d, const char *entry, pid_t pid)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), FEV__SHM_DIR "/%s", entry);
	if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode) ||
	    !fev__uid_trusted(st.st_uid, d->instance) || !old_enough(&st))
		return;
	/* A pid of another namespace may read as dead: hence the grace. */
	if (kill(pid, 0) == 0 || errno != ESRCH)
		return;
	if (unlink_same(path, &st) == 0)
		fevd_warn("removed %s: its creator, pid %d, died before it "
			  "was finished",
			  path, (int)pid);
}

void fevd_remove_dead_creators(struct fevd *d)
{
	struct dirent *de;
	DIR *dir = opendir(FEV__SHM_DIR);

	if (dir == NULL)
		return;
	while ((de = readdir(dir)) != NULL) {
		pid_t pid = creator_of(d, de->d_name);

		if (pid > 0)
			remove_if_dead(d, de->d_name, pid);
	}
	closedir(dir);
}
