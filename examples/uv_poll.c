/*
 * fev in a libuv loop: uv_poll watches fev_fd(); each time it says
 * readable, the events of queue "events" are taken until it is empty.
 * Ends after 10 s without events.
 */
#include <errno.h>
#include <stdio.h>
#include <uv.h>
#include <fev/fev.h>

static uv_timer_t idle;

static void stop(uv_timer_t *t)
{
	uv_stop(t->loop);
}

static void on_readable(uv_poll_t *p, int status, int events)
{
	fev_queue *q = p->data;
	fev_event ev;
	int rc;

	(void)events;
	if (status < 0)
		return;
	/* Edge-like: take events until the queue is empty (re-arms it). */
	while ((rc = fev_acquire(q, &ev, 0)) == 0) {
		printf("event #%llu %.*s\n", (unsigned long long)ev.id,
		       (int)ev.len, (const char *)ev.data);
		fev_release(q, &ev);
	}
	if (rc != -EAGAIN) {
		fprintf(stderr, "fev_acquire: %s\n", fev_strerror(rc));
		uv_stop(p->loop);
	}
	uv_timer_again(&idle);
}

int main(void)
{
	uv_loop_t *loop = uv_default_loop();
	uv_poll_t poll;
	fev_queue *q;
	int fd, rc = fev_open("events", FEV_CONSUMER, NULL, &q);

	if (rc < 0 || (fd = rc = fev_fd(q)) < 0) {
		fprintf(stderr, "fev: %s\n", fev_strerror(rc));
		return 1;
	}
	poll.data = q;
	uv_poll_init(loop, &poll, fd);
	uv_poll_start(&poll, UV_READABLE, on_readable);
	uv_timer_init(loop, &idle);
	uv_timer_start(&idle, stop, 10000, 10000);
	uv_run(loop, UV_RUN_DEFAULT);
	/* Out of the loop before fev_close() closes the descriptor. */
	uv_poll_stop(&poll);
	uv_close((uv_handle_t *)&poll, NULL);
	uv_close((uv_handle_t *)&idle, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	fev_close(q);
	return 0;
}
