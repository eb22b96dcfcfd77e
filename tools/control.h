/*
 * The client side of fevd's control socket (AF_UNIX, SOCK_SEQPACKET): one
 * request message, one reply message whose first line is "0" or
 * "-ERRNO sentence" and whose other lines are the payload.
 */
#ifndef FEV_TOOLS_CONTROL_H
#define FEV_TOOLS_CONTROL_H

#include <stddef.h>

#include "bounds.h"

struct ctl_reply {
	int status;	    /* 0, or the daemon's -errno */
	const char *reason; /* the daemon's sentence ("" on success) */
	const char *body;   /* payload lines after the first */
	char buf[FEV__CTL_REPLY_MAX + 1];
};

/*
 * Send request to the fevd of instance and wait for its reply.  0 when a
 * reply came (r->status says how the request went); otherwise -errno after
 * printing a sentence on stderr that says what to do (fevd not running,
 * permission denied on the socket, no answer).
 */
int ctl_request(const char *instance, const char *request,
		struct ctl_reply *r);

/*
 * Is fevd serving instance?  Asks "ping" and waits at most timeout_ms, and
 * prints nothing: for monitors.  0 with the pid and version of fevd filled
 * in; -ENOENT or -ECONNREFUSED (not running), -EACCES, -ETIMEDOUT,
 * -EPROTO, other -errno.
 */
int ctl_ping(const char *instance, int timeout_ms, int *pid, char *version,
	     size_t version_size);

#endif /* FEV_TOOLS_CONTROL_H */
