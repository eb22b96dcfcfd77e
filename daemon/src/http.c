/* A minimal HTTP/1.1 server side for one request per connection (http.h). */
#include "http.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "clock.h"

/* Wait until fd is ready for events, the deadline passes or stopfd is
 * readable.  0, -ETIMEDOUT, -ECANCELED or -errno. */
static int await(int fd, short events, int stopfd, uint64_t deadline_ns)
{
	for (;;) {
		struct pollfd p[2] = { { .fd = fd, .events = events },
				       { .fd = stopfd, .events = POLLIN } };
		uint64_t now = fev__now_monotonic_ns();
		int rc;

		if (now >= deadline_ns)
			return -ETIMEDOUT;
		rc = poll(p, 2, (int)((deadline_ns - now + 999999) / 1000000));
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return -errno;
		if (p[1].revents != 0)
			return -ECANCELED;
		if (p[0].revents != 0)
			return 0;
	}
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

/* The request line "METHOD TARGET HTTP/1.x" of a whole head. */
static void parse_request_line(char *head, struct fevd_http_request *req)
{
	char *method = head, *target, *version, *end;

	end = strpbrk(head, "\r\n");
	*end = '\0';
	target = strchr(method, ' ');
	version = target ? strchr(target + 1, ' ') : NULL;
	if (target == NULL || version == NULL || strchr(version + 1, ' ')) {
		req->status = 400;
		return;
	}
	*target++ = '\0';
	*version++ = '\0';
	if (strncmp(version, "HTTP/1.", 7) != 0 || version[7] < '0' ||
	    version[7] > '9' || version[8] != '\0') {
		req->status = strncmp(version, "HTTP/", 5) == 0 ? 505 : 400;
		return;
	}
	req->head = strcmp(method, "HEAD") == 0;
	if (!req->head && strcmp(method, "GET") != 0) {
		req->status = 405;
		return;
	}
	target[strcspn(target, "?#")] = '\0';
	if (target[0] != '/') {
		req->status = 400;
		return;
	}
	if (strlen(target) >= sizeof(req->path)) {
		req->status = 414;
		return;
	}
	strcpy(req->path, target);
	req->status = 200;
}

int fevd_http_read_request(int fd, int stopfd, uint64_t deadline_ns,
			   struct fevd_http_request *req)
{
	char buf[FEVD_HTTP_REQUEST_MAX + 1];
	size_t len = 0;

	*req = (struct fevd_http_request){ 0 };
	for (;;) {
		ssize_t n;
		int rc;

		buf[len] = '\0';
		/* the head ends at an empty line (bare LF tolerated) */
		if (strstr(buf, "\r\n\r\n") != NULL ||
		    strstr(buf, "\n\n") != NULL)
			break;
		if (len == FEVD_HTTP_REQUEST_MAX) {
			req->status = 431;
			return 0;
		}
		rc = await(fd, POLLIN, stopfd, deadline_ns);
		if (rc < 0)
			return rc;
		n = recv(fd, buf + len, FEVD_HTTP_REQUEST_MAX - len, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		if (memchr(buf + len, '\0', (size_t)n) != NULL) {
			req->status = 400;
			return 0;
		}
		len += (size_t)n;
	}
	parse_request_line(buf, req);
	return 0;
}

static int send_all(int fd, int stopfd, uint64_t deadline_ns,
		    const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		int rc;

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		rc = await(fd, POLLOUT, stopfd, deadline_ns);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int fevd_http_reply(int fd, int stopfd, uint64_t deadline_ns, int status,
		    bool head, const char *content_type, const char *body,
		    size_t len)
{
	char hdr[512];
	int n = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 %d %s\r\n"
			 "Content-Type: %s\r\n"
			 "Content-Length: %zu\r\n"
			 "%s"
			 "Connection: close\r\n"
			 "\r\n",
			 status, reason(status), content_type, len,
			 status == 405 ? "Allow: GET, HEAD\r\n" : "");
	int rc = send_all(fd, stopfd, deadline_ns, hdr, (size_t)n);

	if (rc < 0 || head)
		return rc;
	return send_all(fd, stopfd, deadline_ns, body, len);
}
