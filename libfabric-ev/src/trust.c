#include "trust.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "instance.h"
#include "names.h"

#define TRUSTED_SUFFIX ".trusted"

static uid_t also[FEV__TRUSTED_UIDS_MAX];
static size_t nalso;

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

void fev__trust_also(const uid_t *uids, size_t n)
{
	nalso = n < FEV__TRUSTED_UIDS_MAX ? n : FEV__TRUSTED_UIDS_MAX;
	memcpy(also, uids, nalso * sizeof(*uids));
}

int fev__trusted_uids_path(const char *socket_path, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s" TRUSTED_SUFFIX, socket_path);

	return n > 0 && (size_t)n < size ? 0 : -ENAMETOOLONG;
}

/* One name or number of trusted_uids. */
static int user_lookup(const char *s, uid_t *uid)
{
	struct passwd pw, *res = NULL;
	char buf[4096], *end;
	unsigned long v;

	if (isdigit((unsigned char)s[0])) {
		errno = 0;
		v = strtoul(s, &end, 10);
		if (errno != 0 || *end != '\0' || v >= UINT32_MAX)
			return -EINVAL;
		getpwuid_r((uid_t)v, &pw, buf, sizeof(buf), &res);
	} else {
		getpwnam_r(s, &pw, buf, sizeof(buf), &res);
	}
	if (res == NULL)
		return -ENOENT;
	*uid = res->pw_uid;
	return 0;
}

int fev__trusted_uids_parse(const char *s, uid_t *uids, size_t *n,
			    char *why, size_t whylen)
{
	char word[256];

	*n = 0;
	while (*s != '\0') {
		size_t len = strcspn(s, " ,\t");

		if (len == 0) {
			s++;
			continue;
		}
		if (*n == FEV__TRUSTED_UIDS_MAX || len >= sizeof(word)) {
			snprintf(why, whylen, "at most %d users of names "
				 "shorter than %zu bytes",
				 FEV__TRUSTED_UIDS_MAX, sizeof(word));
			return -EINVAL;
		}
		memcpy(word, s, len);
		word[len] = '\0';
		if (user_lookup(word, &uids[*n]) < 0) {
			snprintf(why, whylen, "no user '%s' on this machine",
				 word);
			return -EINVAL;
		}
		++*n;
		s += len;
	}
	return 0;
}

int fev__trusted_uids_publish(const char *path, const uid_t *uids, size_t n)
{
	char tmp[4096];
	FILE *f;
	int rc = 0;

	if (n == 0)
		return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
	if (snprintf(tmp, sizeof(tmp), "%s~%d", path, (int)getpid()) >=
	    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	unlink(tmp);
	f = fopen(tmp, "wx"); /* O_EXCL: never through a planted link */
	if (f == NULL)
		return -errno;
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%u\n", (unsigned)uids[i]);
	if (fchmod(fileno(f), 0644) < 0 || fflush(f) != 0)
		rc = -errno;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
	return rc;
}

/*
 * Does the file fevd (uid owner) published next to socket_path list uid?
 * Only a regular file of owner's that no one else may write: the run
 * directory is owner's or root's (fev__instance_owner() checked it).
 */
static bool published(const char *socket_path, uid_t owner, uid_t uid)
{
	char path[4096];
	struct stat st;
	unsigned long v;
	bool found = false;
	FILE *f;
	int fd;

	if (fev__trusted_uids_path(socket_path, path, sizeof(path)) < 0)
		return false;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != owner || (st.st_mode & 022) != 0 ||
	    (f = fdopen(fd, "r")) == NULL) {
		close(fd);
		return false;
	}
	for (int i = 0; i < FEV__TRUSTED_UIDS_MAX && !found &&
			fscanf(f, "%lu", &v) == 1;
	     i++)
		found = v == uid;
	fclose(f);
	return found;
}

bool fev__uid_trusted(uid_t uid, const char *instance)
{
	char path[4096];
	uid_t owner = 0;

	if (uid == 0 || uid == geteuid())
		return true;
	for (size_t i = 0; i < nalso; i++)
		if (also[i] == uid)
			return true;
	if (fev__instance_owner(instance, &owner) < 0)
		return false;
	return owner == uid ||
	       (fev__control_socket_path(instance, path, sizeof(path)) == 0 &&
		published(path, owner, uid));
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
