/*
 * The worker of a traced pipeline (test_trace.py): a member of a topic's
 * consumer group that publishes one follow-up per event, caused by it
 * (fev_send_opts.cause), to another topic.  A real client of the public
 * API, nothing faked.
 *
 *   fevtest-relay INSTANCE PARTITION GROUP TO_TOPIC relay N
 *       N times: acquire, publish the follow-up, release; prints
 *       "relayed POS" for each
 *   fevtest-relay INSTANCE PARTITION GROUP TO_TOPIC hold
 *       acquire one event, print "held POS", sleep (to be killed
 *       holding it)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fev/fev.h"

#define WAIT_NS 20000000000ll /* a correctness limit, not a timing */

static int fail(const char *what, int rc)
{
	fprintf(stderr, "fevtest-relay: %s: %s\n", what, fev_strerror(rc));
	return 1;
}

int main(int argc, char **argv)
{
	fev_open_opts o = { .struct_size = sizeof(o) };
	fev_send_opts so = { .struct_size = sizeof(so) };
	fev_topic *to;
	fev_queue *from;
	fev_event ev;
	long n;
	int rc;

	if (argc < 6 || (strcmp(argv[5], "hold") != 0 &&
			 (strcmp(argv[5], "relay") != 0 || argc != 7))) {
		fputs("usage: fevtest-relay INSTANCE PARTITION GROUP TO_TOPIC "
		      "relay N | hold\n",
		      stderr);
		return 2;
	}
	o.instance = argv[1];
	o.group = argv[3];
	rc = fev_open(argv[2], FEV_CONSUMER, &o, &from);
	if (rc < 0)
		return fail("open", rc);
	rc = fev_topic_open(argv[4], FEV_PRODUCER, &o, &to);
	if (rc < 0)
		return fail("topic open", rc);
	n = strcmp(argv[5], "hold") == 0 ? 1 : atol(argv[6]);
	for (long i = 0; i < n; i++) {
		rc = fev_acquire(from, &ev, WAIT_NS);
		if (rc < 0)
			return fail("acquire", rc);
		if (strcmp(argv[5], "hold") == 0) {
			printf("held %llu\n", (unsigned long long)ev.id);
			fflush(stdout);
			pause();
		}
		so.cause = &ev;
		rc = fev_topic_send_ex(to, &so, ev.data, ev.len, WAIT_NS);
		if (rc < 0)
			return fail("send", rc);
		rc = fev_release(from, &ev);
		if (rc < 0)
			return fail("release", rc);
		printf("relayed %llu\n", (unsigned long long)ev.id);
		fflush(stdout);
	}
	fev_topic_close(to);
	fev_close(from);
	return 0;
}
