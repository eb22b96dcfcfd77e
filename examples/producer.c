/* Publish ten events to queue "events" (created by fevd or fev queue create). */
#include <stdio.h>
#include <fev/fev.h>

int main(void)
{
	fev_queue *q;
	int rc = fev_open("events", FEV_PRODUCER, NULL, &q);

	if (rc < 0) {
		fprintf(stderr, "fev_open: %s\n", fev_strerror(rc));
		return 1;
	}
	for (int i = 0; i < 10; i++) {
		char msg[64];
		int len = snprintf(msg, sizeof(msg), "order %d shipped", i);

		rc = fev_send(q, msg, (size_t)len, FEV_FOREVER);
		if (rc < 0)
			fprintf(stderr, "fev_send: %s\n", fev_strerror(rc));
	}
	fev_close(q);
	return 0;
}
