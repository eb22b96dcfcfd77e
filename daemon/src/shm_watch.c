#include "shm_watch.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "clock.h"
#include "hops.h"
#include "internal.h"
#include "leftovers.h"
#include "log.h"

/* A name appeared, went, or its file changed size or owner. */
#define CHANGED                                                          \
	(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB | \
	 IN_MODIFY)

int fevd_shm_watch_open(struct fevd *d)
{
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

	if (fd < 0 || inotify_add_watch(fd, "/dev/shm",
					CHANGED | IN_ONLYDIR) < 0) {
		int rc = -errno;

		fevd_warn("cannot watch /dev/shm with inotify (%s): looking "
			  "at it every second instead (raise "
			  "fs.inotify.max_user_instances or max_user_watches)",
			  strerror(-rc));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	/* Not in the epoll set: every create or unlink of any file in
	 * /dev/shm would wake fevd.  The events wait in the kernel's queue
	 * for the next tick or request (an overflow costs a listing). */
	d->shmwatchfd = fd;
	return 0;
}

void fevd_shm_watch_close(struct fevd *d)
{
	if (d->shmwatchfd < 0)
		return;
	close(d->shmwatchfd);
	d->shmwatchfd = -1;
}

/* "fev.INSTANCE.QUEUE" of our instance: QUEUE, else NULL. */
static const char *queue_of(const struct fevd *d, const char *entry)
{
	size_t n = strlen(d->instance);

	if (strncmp(entry, "fev.", 4) != 0 ||
	    strncmp(entry + 4, d->instance, n) != 0 || entry[4 + n] != '.')
		return NULL;
	return entry + 5 + n;
}

/* A topic's hop ring (hops.h): no segment fevd serves, no temporary. */
static bool hop_ring(const char *name)
{
	size_t n = strlen(name), s = sizeof(FEV__HOPS_SUFFIX) - 1;

	return n > s && strcmp(name + n - s, FEV__HOPS_SUFFIX) == 0;
}

/*
 * A temporary of a create ("Q~PID") appeared: if its creator dies, the
 * listing that removes it must come once it is old enough, not minutes
 * later (leftovers.h).
 */
static void temporary_made(struct fevd *d)
{
	uint64_t due = fev__now_monotonic_ns() +
		       (FEVD_LEFTOVER_GRACE_S + 1) * 1000000000ull;

	if (due < d->next_relist_ns)
		d->next_relist_ns = due;
}

static void on_event(struct fevd *d, const struct inotify_event *ev)
{
	const char *name;

	if (ev->mask & IN_Q_OVERFLOW) {
		/* Events were lost: a listing finds what they said. */
		d->relist = true;
		return;
	}
	if (ev->mask & IN_IGNORED) { /* /dev/shm itself went away */
		fevd_warn("inotify stopped watching /dev/shm: looking at it "
			  "every second instead");
		fevd_shm_watch_close(d);
		return;
	}
	if (ev->len == 0 || (name = queue_of(d, ev->name)) == NULL)
		return;
	if (fev_queue_name_valid(name) == 0)
		fevd_segment_changed(d, name);
	else if ((ev->mask & IN_CREATE) && !hop_ring(name))
		temporary_made(d);
}

bool fevd_shm_watch_drain(struct fevd *d)
{
	/* Aligned for the events, room for one with the longest name. */
	char buf[64 * (sizeof(struct inotify_event) + NAME_MAX + 1)]
		__attribute__((aligned(__alignof__(struct inotify_event))));

	while (d->shmwatchfd >= 0) {
		ssize_t n = read(d->shmwatchfd, buf, sizeof(buf));

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			break; /* EAGAIN: all read */
		}
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const void *)p;

			p += sizeof(*ev) + ev->len;
			on_event(d, ev);
		}
	}
	return d->shmwatchfd >= 0;
}
