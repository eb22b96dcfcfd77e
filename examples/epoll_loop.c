/*
 * fev in an epoll loop: events of queue "events" and lines on stdin are
 * served by one thread; nothing spins while both are idle.  Ends at EOF on
 * stdin.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <fev/fev.h>

/* The descriptor is edge-like: take events until the queue is empty. */
static int drain(fev_queue *q)
{
	fev_event ev;
	int rc;

	while ((rc = fev_acquire(q, &ev, 0)) == 0) {
		printf("event #%llu %.*s\n", (unsigned long long)ev.id,
		       (int)ev.len, (const char *)ev.data);
		fev_release(q, &ev);
	}
	return rc == -EAGAIN ? 0 : rc;
}

static int loop(fev_queue *q, int ep)
{
	char line[256];

	for (;;) {
		struct epoll_event e;
		int rc, n = epoll_wait(ep, &e, 1, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (e.data.fd != STDIN_FILENO) {
			if ((rc = drain(q)) < 0)
				return rc;
			continue;
		}
		if (fgets(line, sizeof(line), stdin) == NULL)
			return 0;
		printf("stdin: %s", line);
	}
}

int main(void)
{
	struct epoll_event in = { .events = EPOLLIN, .data.fd = STDIN_FILENO };
	struct epoll_event ev = { .events = EPOLLIN };
	fev_queue *q;
	int ep, rc = fev_open("events", FEV_CONSUMER, NULL, &q);

	if (rc < 0) {
		fprintf(stderr, "fev_open: %s\n", fev_strerror(rc));
		return 1;
	}
	setvbuf(stdin, NULL, _IONBF, 0); /* epoll sees what stdio has not read */
	ev.data.fd = rc = fev_fd(q);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (rc < 0 || ep < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev) < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, STDIN_FILENO, &in) < 0) {
		fprintf(stderr, "fev_fd/epoll: %s\n",
			fev_strerror(rc < 0 ? rc : -errno));
		fev_close(q);
		return 1;
	}
	rc = loop(q, ep);
	if (rc < 0)
		fprintf(stderr, "fev: %s\n", fev_strerror(rc));
	close(ep);
	fev_close(q);
	return rc < 0;
}
