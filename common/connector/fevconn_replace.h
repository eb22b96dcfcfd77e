/*
 * The files a connector daemon rewrites while it runs (fev-nats' and
 * fev-otel's status files, fev-otel's state file): written to PATH.tmp
 * and renamed over PATH, so a reader (`status`, a restart) finds the old
 * file or the new one whole, never half of one.
 */
#ifndef FEVCONN_REPLACE_H
#define FEVCONN_REPLACE_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

struct fevconn_replace {
	FILE *f; /* write the new content here */
	char tmp[PATH_MAX + 8];
	const char *path;
};

/* Open PATH.tmp for writing into r->f: 0, -ENAMETOOLONG or -errno. */
int fevconn_replace_open(struct fevconn_replace *r, const char *path);

/* Close r->f and rename PATH.tmp over PATH: 0, or -errno (-EIO for a
 * write whose errno is gone), PATH.tmp removed and PATH as it was.  durable: fsync first,
 * for a file a restart must find (a state file), not for one rewritten
 * every second for people to read (a status file). */
int fevconn_replace_commit(struct fevconn_replace *r, bool durable);

/* Make s one line (\n and \r become spaces): a message from a peer
 * written as a field of a line-based file. */
void fevconn_one_line(char *s);

#endif /* FEVCONN_REPLACE_H */
