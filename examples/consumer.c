/* Consume events from queue "events" in place (zero copy) until idle 1 s. */
#include <errno.h>
#include <stdio.h>
#include <fev/fev.h>

int main(void)
{
	fev_queue *q;
	fev_event ev;
	int rc = fev_open("events", FEV_CONSUMER, NULL, &q);

	if (rc < 0) {
		fprintf(stderr, "fev_open: %s\n", fev_strerror(rc));
		return 1;
	}
	while ((rc = fev_acquire(q, &ev, 1000000000 /* ns */)) == 0) {
		printf("#%llu %.*s%s\n", (unsigned long long)ev.id, (int)ev.len,
		       (const char *)ev.data,
		       ev.flags & FEV_REDELIVERED ? " (redelivered)" : "");
		fev_release(q, &ev);
	}
	if (rc != -ETIMEDOUT)
		fprintf(stderr, "fev_acquire: %s\n", fev_strerror(rc));
	fev_close(q);
	return 0;
}
