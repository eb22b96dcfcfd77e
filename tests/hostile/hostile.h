/*
 * Helpers of the hostile-writer tests: a queue with a producer and a
 * consumer handle, plus a second, validated read-write mapping of the same
 * segment through which the test plays the process that writes what it
 * should not.
 */
#ifndef HOSTILE_H
#define HOSTILE_H

#include <stdint.h>

#include "fev/fev.h"
#include "segment.h"

struct hq {
	char inst[FEV_INSTANCE_MAX + 1];
	fev_queue *p, *c;   /* producer, consumer (no spinning) */
	struct fev__map m;  /* the hostile writer's view */
	uint32_t capacity, max_event;
	int policy;
};

/* Create queue "q" in a fresh instance, open p and c, map it. */
void hq_setup(struct hq *h, uint32_t capacity, uint32_t max_event,
	      int policy);
/* Close what is still open, delete the queue, check /dev/shm is clean. */
void hq_teardown(struct hq *h);
/* Delete whatever the last hq_setup() left (after a failed test). */
void hq_cleanup_last(void);

/* Send the 8-byte value v; fails the test unless it is sent. */
void hq_send(struct hq *h, uint64_t v);
/* Receive one 8-byte value (timeout 0); fails the test unless it comes. */
uint64_t hq_recv(struct hq *h);

/* The attacher index of the record whose state is FEV__ATT_REPAIRING. */
uint32_t hq_repairing_record(struct hq *h);

#endif /* HOSTILE_H */
