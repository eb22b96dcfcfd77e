/*
 * The rule the connector configs apply to a file a setting names (a TLS
 * CA or certificate, and the files that hold a secret: a private key, an
 * NKey seed, a .creds file): it is checked when the config is read, so
 * --check-config and a SIGHUP reload refuse it with a sentence instead of
 * the daemon failing later, at its first connect.
 */
#ifndef FEVCONN_FILE_H
#define FEVCONN_FILE_H

#include <stdbool.h>
#include <stddef.h>

/* 0 when this process can open path for reading and it is a regular file
 * and, for a secret, neither readable nor writable by others (group
 * access is allowed: the ssl-cert group's way); else -errno, -EINVAL or
 * -EPERM with a sentence naming key, the path and what to do in w (never
 * the file's content). */
int fevconn_file_check(const char *key, const char *path, bool secret,
		       char *w, size_t wl);

#endif /* FEVCONN_FILE_H */
