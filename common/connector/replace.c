/*
 * A file replaced whole (fevconn_replace.h).
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "fevconn_replace.h"

int fevconn_replace_open(struct fevconn_replace *r, const char *path)
{
	if ((size_t)snprintf(r->tmp, sizeof(r->tmp), "%s.tmp", path) >=
	    sizeof(r->tmp))
		return -ENAMETOOLONG;
	r->path = path;
	r->f = fopen(r->tmp, "w");
	return r->f == NULL ? -errno : 0;
}

int fevconn_replace_commit(struct fevconn_replace *r, bool durable)
{
	int rc = 0;

	/* The write's own errno (ENOSPC, EFBIG) when the flush fails: the
	 * daemons log it; -EIO when an earlier write failed and its errno
	 * is gone. */
	if (fflush(r->f) != 0)
		rc = -errno;
	else if (ferror(r->f))
		rc = -EIO;
	else if (durable && fsync(fileno(r->f)) != 0)
		rc = -errno;
	if (fclose(r->f) != 0 && rc == 0)
		rc = -errno;
	r->f = NULL;
	if (rc == 0 && rename(r->tmp, r->path) != 0)
		rc = -errno;
	if (rc < 0)
		unlink(r->tmp);
	return rc;
}

void fevconn_one_line(char *s)
{
	for (char *p = s; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
}
