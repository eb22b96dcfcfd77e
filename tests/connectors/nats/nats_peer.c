/*
 * The fev side of fev-nats' end-to-end tests (test_nats.py): numbered,
 * keyed events with headers into a topic, and a checker that reads every
 * partition of a topic and says what arrived.
 *
 *   nats_peer pub INSTANCE TOPIC FIRST COUNT KEYS [PAYLOAD_BYTES]
 *       events FIRST .. FIRST+COUNT-1: key "k<i % KEYS>", headers
 *       seq=<i> and traceparent, payload "event <i>" (padded to
 *       PAYLOAD_BYTES when given)
 *   nats_peer check INSTANCE TOPIC COUNT KEYS IDLE_MS
 *       reads (group "default") until COUNT distinct events came or none
 *       came for IDLE_MS; prints one line of key=value:
 *       distinct, copies, duplicates, dup_unflagged (a second copy not
 *       flagged FEV_REDELIVERED), redelivered, order (first copies of a
 *       key out of seq order), partition (events on another partition
 *       than their key's), headers_bad, missing_first (lowest missing seq)
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fev/fev.h"

#define TRACEPARENT "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

static int pub(const char *inst, const char *topic, long first, long count,
	       long keys, size_t bytes)
{
	fev_open_opts oo = { .struct_size = sizeof(oo), .instance = inst };
	fev_topic *t;
	int rc = fev_topic_open(topic, FEV_PRODUCER, &oo, &t);
	char *payload = calloc(1, bytes + 64);

	if (rc < 0 || payload == NULL) {
		fprintf(stderr, "nats_peer: open %s: %s\n", topic,
			fev_strerror(rc));
		return 1;
	}
	for (long i = first; i < first + count; i++) {
		char key[32], seq[32];
		fev_header h[2] = {
			{ .name = "seq", .value = seq },
			{ .name = FEV_HDR_TRACEPARENT, .value = TRACEPARENT,
			  .value_len = strlen(TRACEPARENT) },
		};
		fev_send_opts o = { .struct_size = sizeof(o), .key = key,
				    .headers = h, .n_headers = 2 };
		int n = snprintf(payload, 64, "event %ld", i);

		o.key_len = (size_t)snprintf(key, sizeof(key), "k%ld",
					     i % keys);
		h[0].value_len = (size_t)snprintf(seq, sizeof(seq), "%ld", i);
		if ((size_t)n < bytes)
			memset(payload + n, 'x', bytes - (size_t)n);
		rc = fev_topic_send_ex(t, &o, payload,
				       bytes > (size_t)n ? bytes : (size_t)n,
				       10ll * 1000 * 1000 * 1000);
		if (rc < 0) {
			fprintf(stderr, "nats_peer: send %ld: %s\n", i,
				fev_strerror(rc));
			return 1;
		}
	}
	fev_topic_close(t);
	free(payload);
	return 0;
}

struct tally {
	long count;
	uint8_t *seen;      /* copies per seq, capped */
	long *last_of_key;  /* highest first-copy seq per key, -1 */
	long keys;
	long distinct, copies, duplicates, dup_unflagged, redelivered, order,
		partition, headers_bad;
};

static int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void take(struct tally *t, const fev_event *ev, uint32_t k,
		 uint32_t parts)
{
	const void *v;
	size_t n;
	char buf[32];
	long seq, key;

	t->copies++;
	if (ev->flags & FEV_REDELIVERED)
		t->redelivered++;
	if (fev_header_get(ev, "seq", &v, &n) < 0 || n >= sizeof(buf) ||
	    ev->key_len < 2 || ((const char *)ev->key)[0] != 'k') {
		t->headers_bad++;
		return;
	}
	memcpy(buf, v, n);
	buf[n] = '\0';
	seq = strtol(buf, NULL, 10);
	key = strtol((const char *)ev->key + 1, NULL, 10);
	if (seq < 0 || seq >= t->count || key < 0 || key >= t->keys ||
	    fev_header_get(ev, FEV_HDR_TRACEPARENT, &v, &n) < 0 ||
	    n != strlen(TRACEPARENT) || memcmp(v, TRACEPARENT, n) != 0 ||
	    seq % t->keys != key) {
		t->headers_bad++;
		return;
	}
	if ((uint32_t)fev_partition_for_key(ev->key, ev->key_len, parts) != k)
		t->partition++;
	if (t->seen[seq]++ > 0) {
		t->duplicates++;
		if (!(ev->flags & FEV_REDELIVERED))
			t->dup_unflagged++;
		if (t->seen[seq] == 0)
			t->seen[seq] = 255;
		return;
	}
	t->distinct++;
	if (seq < t->last_of_key[key])
		t->order++;
	t->last_of_key[key] = seq;
}

static int check(const char *inst, const char *topic, long count,
		 long keys, long idle_ms)
{
	fev_open_opts oo = { .struct_size = sizeof(oo), .instance = inst };
	int parts = fev_topic_stats(topic, inst, NULL, 0);
	fev_queue *q[FEV_PARTITIONS_MAX];
	struct tally t = { .count = count, .keys = keys };
	int64_t last = now_ms();
	long missing = -1;

	if (parts <= 0) {
		fprintf(stderr, "nats_peer: %s: %s\n", topic,
			fev_strerror(parts));
		return 1;
	}
	t.seen = calloc((size_t)count, 1);
	t.last_of_key = malloc((size_t)t.keys * sizeof(long));
	for (long i = 0; i < t.keys; i++)
		t.last_of_key[i] = -1;
	for (int k = 0; k < parts; k++) {
		char name[FEV_NAME_MAX + 16];
		int rc;

		snprintf(name, sizeof(name), k ? "%s@%d" : "%s", topic, k);
		rc = fev_open(name, FEV_CONSUMER, &oo, &q[k]);
		if (rc < 0) {
			fprintf(stderr, "nats_peer: %s: %s\n", name,
				fev_strerror(rc));
			return 1;
		}
	}
	while (t.distinct < count && now_ms() - last < idle_ms) {
		bool any = false;

		for (int k = 0; k < parts; k++) {
			fev_event evs[256];
			int n = fev_acquire_batch(q[k], evs, 256, 0);

			for (int i = 0; i < n; i++)
				take(&t, &evs[i], (uint32_t)k, (uint32_t)parts);
			if (n > 0) {
				fev_release_batch(q[k], evs, (size_t)n);
				any = true;
			}
		}
		if (any)
			last = now_ms();
		else
			nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	for (long i = 0; i < count && missing < 0; i++)
		if (t.seen[i] == 0)
			missing = i;
	printf("distinct=%ld copies=%ld duplicates=%ld dup_unflagged=%ld "
	       "redelivered=%ld order=%ld partition=%ld headers_bad=%ld "
	       "missing_first=%ld\n",
	       t.distinct, t.copies, t.duplicates, t.dup_unflagged,
	       t.redelivered, t.order, t.partition, t.headers_bad, missing);
	for (int k = 0; k < parts; k++)
		fev_close(q[k]);
	free(t.seen);
	free(t.last_of_key);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 7 && strcmp(argv[1], "pub") == 0)
		return pub(argv[2], argv[3], atol(argv[4]), atol(argv[5]),
			   atol(argv[6]), argc > 7 ? (size_t)atol(argv[7]) : 0);
	if (argc == 7 && strcmp(argv[1], "check") == 0)
		return check(argv[2], argv[3], atol(argv[4]), atol(argv[5]),
			     atol(argv[6]));
	fprintf(stderr, "usage: nats_peer pub INSTANCE TOPIC FIRST COUNT KEYS "
			"[BYTES] | check INSTANCE TOPIC COUNT KEYS IDLE_MS\n");
	return 2;
}
