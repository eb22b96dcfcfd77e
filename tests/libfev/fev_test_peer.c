/*
 * A producer or consumer process for the multi-process tests, run by them
 * through fork + exec.
 *
 *   fev_test_peer produce INSTANCE QUEUE PRODUCER_ID COUNT
 *       send events (PRODUCER_ID, 0 .. COUNT-1), blocking when full
 *   fev_test_peer consume INSTANCE QUEUE PRODUCERS PER_PRODUCER REPORT_FD
 *       receive until a zero-length event (the stop signal), then write a
 *       struct peer_report and the (producer, seq) bitmap to REPORT_FD
 *
 * Every wait is bounded: a peer that waits longer than WAIT_NS for one
 * event gives up and exits non-zero, so a lost wake-up fails the test.
 * $FEVTEST_OPEN_FLAGS, when set, gives the FEV_OPEN_* flags to open with.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fev/fev.h"
#include "peer.h"

#define WAIT_NS (INT64_C(60) * 1000 * 1000 * 1000)

static fev_queue *open_queue(const char *inst, const char *name,
			     unsigned roles)
{
	const char *flags = getenv("FEVTEST_OPEN_FLAGS");
	fev_open_opts o = { .struct_size = sizeof(o), .instance = inst };
	fev_queue *q;
	int rc;

	if (flags != NULL)
		o.flags = (uint32_t)strtoul(flags, NULL, 0);
	rc = fev_open(name, roles, &o, &q);
	if (rc < 0) {
		fprintf(stderr, "peer: open %s/%s: %s\n", inst, name,
			fev_strerror(rc));
		exit(2);
	}
	return q;
}

static int produce(const char *inst, const char *name, uint32_t id,
		   uint64_t count)
{
	fev_queue *q = open_queue(inst, name, FEV_PRODUCER);
	uint8_t buf[PEER_EVENT_MAX];

	for (uint64_t seq = 0; seq < count; seq++) {
		uint32_t len = peer_event_make(buf, id, seq);
		int rc = fev_send(q, buf, len, WAIT_NS);

		if (rc < 0) {
			fprintf(stderr, "peer %u: send %llu: %s\n", id,
				(unsigned long long)seq, fev_strerror(rc));
			return 1;
		}
	}
	fev_close(q);
	return 0;
}

static bool write_all(int fd, const void *p, size_t len)
{
	const char *c = p;

	while (len > 0) {
		ssize_t n = write(fd, c, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		c += n;
		len -= (size_t)n;
	}
	return true;
}

static int consume(const char *inst, const char *name, uint32_t producers,
		   uint64_t per_producer, int fd)
{
	fev_queue *q = open_queue(inst, name, FEV_CONSUMER);
	size_t bits = (size_t)producers * per_producer;
	uint8_t *seen = calloc((bits + 7) / 8, 1);
	uint64_t *next = calloc(producers, sizeof(*next));
	struct peer_report rep = { 0 };
	uint8_t buf[PEER_EVENT_MAX];

	if (seen == NULL || next == NULL)
		return 2;
	for (;;) {
		struct peer_event_head h;
		ssize_t n = fev_recv(q, buf, sizeof(buf), NULL, WAIT_NS);
		size_t bit;

		if (n == 0)
			break; /* stop */
		if (n < 0) {
			fprintf(stderr, "peer: recv: %s\n", fev_strerror((int)n));
			rep.errors++;
			if (n == -ETIMEDOUT || n == -EIDRM)
				break;
			continue;
		}
		memcpy(&h, buf, sizeof(h));
		if ((size_t)n < sizeof(h) || h.producer >= producers ||
		    h.seq >= per_producer || h.len != (uint32_t)n ||
		    h.len != peer_event_len(h.producer, h.seq)) {
			rep.corrupt++;
			continue;
		}
		for (size_t i = sizeof(h); i < h.len; i++)
			if (buf[i] != peer_fill(h.producer, h.seq, i)) {
				rep.corrupt++;
				break;
			}
		/* One consumer takes positions in order, so it sees each
		 * producer's events in that producer's order. */
		if (h.seq < next[h.producer])
			rep.out_of_order++;
		next[h.producer] = h.seq + 1;
		bit = (size_t)h.producer * per_producer + h.seq;
		seen[bit / 8] |= (uint8_t)(1u << (bit % 8));
		rep.count++;
		rep.checksum += peer_event_hash(buf, (size_t)n);
	}
	fev_close(q);
	if (!write_all(fd, &rep, sizeof(rep)) ||
	    !write_all(fd, seen, (bits + 7) / 8))
		return 3;
	close(fd);
	free(seen);
	free(next);
	return rep.errors == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "produce") == 0)
		return produce(argv[2], argv[3],
			       (uint32_t)strtoul(argv[4], NULL, 10),
			       strtoull(argv[5], NULL, 10));
	if (argc == 7 && strcmp(argv[1], "consume") == 0)
		return consume(argv[2], argv[3],
			       (uint32_t)strtoul(argv[4], NULL, 10),
			       strtoull(argv[5], NULL, 10),
			       atoi(argv[6]));
	fprintf(stderr, "usage: see the comment at the top of %s\n",
		__FILE__);
	return 2;
}
