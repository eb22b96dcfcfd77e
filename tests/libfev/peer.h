/*
 * The events that test processes exchange: who sent it, its sequence number
 * and a payload derived from both, so a receiver can check every byte and
 * the parent can predict the checksum of everything sent.
 */
#ifndef FEVTEST_PEER_H
#define FEVTEST_PEER_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct peer_event_head {
	uint32_t producer;
	uint32_t len; /* whole event, head included */
	uint64_t seq;
};

#define PEER_EVENT_MAX 64
#define PEER_EVENT_MIN ((uint32_t)sizeof(struct peer_event_head))

/* What a consumer writes to its report fd when it has stopped. */
struct peer_report {
	uint64_t count;
	uint64_t checksum; /* sum of peer_event_hash() of each event */
	uint64_t out_of_order; /* a producer's events seen in a wrong order */
	uint64_t corrupt;      /* events whose bytes did not match */
	uint64_t errors;       /* calls that failed */
	/* then a bitmap of producers * per_producer bits, (producer, seq) */
};

static inline uint32_t peer_event_len(uint32_t producer, uint64_t seq)
{
	return PEER_EVENT_MIN +
	       (uint32_t)((seq * 7 + producer) %
			  (PEER_EVENT_MAX - PEER_EVENT_MIN + 1));
}

static inline uint8_t peer_fill(uint32_t producer, uint64_t seq, size_t i)
{
	return (uint8_t)(seq * 31 + producer * 17 + i);
}

/* Builds event (producer, seq) into buf; returns its length. */
static inline uint32_t peer_event_make(uint8_t *buf, uint32_t producer,
				       uint64_t seq)
{
	struct peer_event_head h = { producer, peer_event_len(producer, seq),
				     seq };

	memcpy(buf, &h, sizeof(h));
	for (size_t i = sizeof(h); i < h.len; i++)
		buf[i] = peer_fill(producer, seq, i);
	return h.len;
}

/* FNV-1a over the whole event. */
static inline uint64_t peer_event_hash(const uint8_t *buf, size_t len)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (size_t i = 0; i < len; i++)
		h = (h ^ buf[i]) * UINT64_C(0x100000001b3);
	return h;
}

#endif /* FEVTEST_PEER_H */
