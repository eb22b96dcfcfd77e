/* Talking to fevd: connect, one request, one reply, errors as sentences. */
#include "control.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "instance.h"

/* fevd answers from its event loop; anything slower than this is stuck. */
#define REPLY_TIMEOUT_S 10

static void explain_connect(int err, const char *instance, const char *path)
{
	bool dflt = strcmp(instance, "default") == 0;
	char start[64];

	snprintf(start, sizeof(start), "fevd%s%s", dflt ? "" : " --instance ",
		 dflt ? "" : instance);
	switch (err) {
	case ENOENT:
		cli_error("fevd is not running for instance %s (no control "
			  "socket at %s): start it with '%s'",
			  instance, path, start);
		break;
	case ECONNREFUSED:
		cli_error("fevd is not running for instance %s (nobody listens "
			  "on the control socket %s): start it with '%s'",
			  instance, path, start);
		break;
	case EACCES:
	case EPERM:
		cli_error("permission denied on fevd's control socket %s: ask "
			  "the administrator for access (root, fevd's user or "
			  "its admin group)",
			  path);
		break;
	default:
		cli_error("cannot reach fevd for instance %s at %s: %s",
			  instance, path, strerror(err));
	}
}

static int connect_to(const char *instance, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = REPLY_TIMEOUT_S };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		cli_error("control socket path %s is too long for a unix "
			  "socket",
			  path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	/* The default path is ours or root's (/tmp/fev-UID could be anyone's
	 * first): a stranger's socket there must not answer our requests. */
	if (fev__control_socket_is_default()) {
		char why[512];
		int rc = fev__run_dir_check(path, geteuid(), why, sizeof(why));

		if (rc == -EPERM) {
			cli_error("not talking to the control socket %s: %s",
				  path, why);
			return rc;
		}
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int err = errno;

		cli_error("cannot create a unix socket: %s", strerror(err));
		return -err;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;

		close(fd);
		explain_connect(err, instance, path);
		return -err;
	}
	return fd;
}

/*
 * fevd's admin socket, when this caller may enter its directory (root,
 * fevd's uid, its admin group) and it is fevd's (fev__admin_socket_check):
 * there no other user's connections can keep us waiting.  A connected fd,
 * or -1 quietly: then the public socket is used.
 */
static int connect_admin(const char *path, const struct timeval *tv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char why[512];
	int fd;

	if (fev__admin_socket_path(path, sa.sun_path, sizeof(sa.sun_path)) <
		    0 ||
	    fev__admin_socket_check(sa.sun_path, path) < 0 ||
	    (fev__control_socket_is_default() &&
	     fev__run_dir_check(path, geteuid(), why, sizeof(why)) < 0))
		return -1;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, sizeof(*tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, tv, sizeof(*tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* "0\n..." or "-17 queue 'x' already exists\n...": split in place. */
static int parse_reply(struct ctl_reply *r, size_t len)
{
	char *nl, *end;
	long status;

	r->buf[len] = '\0';
	nl = strchr(r->buf, '\n');
	if (nl != NULL)
		*nl = '\0';
	r->body = nl != NULL ? nl + 1 : "";
	errno = 0;
	status = strtol(r->buf, &end, 10);
	if (end == r->buf || errno != 0 || status > 0 || status < -4095 ||
	    (*end != '\0' && *end != ' '))
		return -EPROTO;
	r->status = (int)status;
	r->reason = *end == ' ' ? end + 1 : end;
	return 0;
}

int ctl_request(const char *instance, const char *request,
		struct ctl_reply *r)
{
	char path[256];
	size_t len = strlen(request);
	ssize_t n;
	int fd, rc;

	rc = fev__control_socket_path(instance, path, sizeof(path));
	if (rc < 0) {
		cli_error("cannot name the control socket of instance %s: %s",
			  instance, strerror(-rc));
		return rc;
	}
	if (len > FEV__CTL_REQUEST_MAX) {
		cli_error("request too long for the control socket (%zu bytes, "
			  "at most %d)",
			  len, FEV__CTL_REQUEST_MAX);
		return -EMSGSIZE;
	}
	fd = connect_admin(path, &(struct timeval){ .tv_sec = REPLY_TIMEOUT_S });
	if (fd < 0)
		fd = connect_to(instance, path);
	if (fd < 0)
		return fd;
	if (send(fd, request, len, MSG_NOSIGNAL) != (ssize_t)len) {
		rc = -errno;
		/* fevd may have said why it turned us away (too many
		 * connections, out of descriptors) before closing. */
		n = recv(fd, r->buf, FEV__CTL_REPLY_MAX, MSG_DONTWAIT);
		close(fd);
		if (n > 0 && n <= FEV__CTL_REPLY_MAX &&
		    parse_reply(r, (size_t)n) == 0)
			return 0;
		cli_error("fevd closed the control socket %s before taking "
			  "the request: %s",
			  path, strerror(-rc));
		return rc;
	}
	do
		n = recv(fd, r->buf, FEV__CTL_REPLY_MAX, MSG_TRUNC);
	while (n < 0 && errno == EINTR && !cli_stop);
	rc = n < 0 ? -errno : 0;
	close(fd);
	if (n < 0 && (rc == -EAGAIN || rc == -EWOULDBLOCK)) {
		cli_error("fevd did not answer on %s within %d s", path,
			  REPLY_TIMEOUT_S);
		return -ETIMEDOUT;
	}
	if (n < 0) {
		cli_error("reading fevd's reply on %s failed: %s", path,
			  strerror(-rc));
		return rc;
	}
	if (n == 0 || n > FEV__CTL_REPLY_MAX || parse_reply(r, (size_t)n) < 0) {
		cli_error("fevd sent a reply fev does not understand on %s "
			  "(%zd bytes): is fev the same version as fevd?",
			  path, n);
		return -EPROTO;
	}
	return 0;
}

/* The public socket at sa, quietly: a connected fd or -errno. */
static int connect_public(const struct sockaddr_un *sa,
			  const struct timeval *tv)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	int rc;

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, sizeof(*tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, tv, sizeof(*tv));
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

/* "fevd 0.1.0 instance=NAME pid=N" */
static int parse_ping(const char *body, int *pid, char *version, size_t size)
{
	const char *p = strstr(body, " pid=");
	int n = 0;

	if (strncmp(body, "fevd ", 5) != 0 || p == NULL)
		return -EPROTO;
	*pid = atoi(p + 5);
	sscanf(body + 5, "%*s%n", &n);
	snprintf(version, size, "%.*s", n, body + 5);
	return *pid > 0 ? 0 : -EPROTO;
}

int ctl_ping(const char *instance, int timeout_ms, int *pid, char *version,
	     size_t version_size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = timeout_ms / 1000,
			      .tv_usec = timeout_ms % 1000 * 1000 };
	char buf[512];
	ssize_t n;
	int fd, rc;

	rc = fev__control_socket_path(instance, sa.sun_path,
				      sizeof(sa.sun_path));
	if (rc < 0)
		return rc;
	fd = connect_admin(sa.sun_path, &tv);
	if (fd < 0 && (fd = connect_public(&sa, &tv)) < 0)
		return fd;
	if (send(fd, "ping", 4, MSG_NOSIGNAL) != 4) {
		rc = -errno;
		close(fd);
		return rc;
	}
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	rc = n < 0 ? (errno == EAGAIN ? -ETIMEDOUT : -errno) : 0;
	close(fd);
	if (rc < 0)
		return rc;
	buf[n] = '\0';
	if (strncmp(buf, "0\n", 2) != 0)
		return -EPROTO;
	return parse_ping(buf + 2, pid, version, version_size);
}
