/*
 * The hop ring of a topic (or queue): a bounded record, in shared memory,
 * of what happened to its sampled events (FEV_SAMPLED): published,
 * acquired by a member of group G, released.  Written by the library in
 * every process that sends or takes a sampled event, read by `fev trace`.
 *
 * One segment per topic, "/fev.I.T@hops" (FEV__HOPS_SUFFIX; '@' is no
 * queue-name character and "hops" no partition number, so fevd's listing
 * and every queue lookup pass it by), created with the topic by
 * fev_topic_create()/fev_queue_create() when the config asks for
 * trace_hops entries, with the topic's mode and group (every producer and
 * consumer writes it), and removed by fev_topic_delete().  The queue
 * segment's layout is untouched.
 *
 * Writers (many processes): a ticket from one fetch-add on the header's
 * `ticket` (T2, relaxed: it only picks the entry) chooses entry ticket %
 * entries; the entry's `seq` is a seqlock: CAS from its current value to
 * odd 2(ticket+1) - 1 (H1), write the fields, CAS to even 2(ticket+1)
 * (H2, release).  A writer never takes an entry a newer ticket holds, and
 * takes over one an older writer left odd (it died, or was descheduled
 * a whole lap): a dead writer's entry is torn, skipped by readers, and
 * reused at the next lap.  Old hops are overwritten.
 *
 * Readers copy an entry between two loads of seq (H3, acquire, then a
 * fence and H4) and keep it only when both are the same even value:
 * torn entries are skipped.  Everything read is untrusted (any writer of
 * the file may forge it): the header is checked against the file size,
 * kinds and partitions against their ranges, strings are cut at their
 * arrays' ends.
 */
#ifndef FEV_HOPS_H
#define FEV_HOPS_H

#include <assert.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fev/fev.h"

/* Built with -DFEV_TRACING=OFF: no hop is recorded (the tests of the
 * hop path skip), so fev-bench can price the tests tracing adds. */
#ifdef FEV_NO_TRACING
#define FEV__TRACING 0
#else
#define FEV__TRACING 1
#endif

#define FEV__HOPS_SUFFIX "@hops"
#define FEV__HOPS_MAGIC UINT64_C(0x315350484f564546) /* "FEVOHPS1" */
#define FEV__HOPS_VERSION 1u
#define FEV__HOPS_MAX (1u << 20) /* entries; 128 MiB */
#define FEV__HOPS_DEFAULT 4096u  /* fevd's trace_hops when not given */

enum fev__hop_kind {
	FEV__HOP_PUBLISHED = 1,
	FEV__HOP_ACQUIRED = 2, /* flags FEV_REDELIVERED: delivered again */
	FEV__HOP_RELEASED = 3,
};

struct fev__hops_header {
	_Atomic uint64_t magic; /* release-stored last at creation (H0) */
	uint32_t version;
	uint32_t entries;
	uint32_t entry_size;
	uint32_t pad0;
	char topic[FEV_NAME_MAX + 1];
	uint8_t pad1[128 - 24 - (FEV_NAME_MAX + 1)];
	_Atomic uint64_t ticket; /* on a line of its own: every writer */
	uint8_t pad2[120];
};
static_assert(sizeof(struct fev__hops_header) == 256, "hops header");

#define FEV__HOP_COMM_MAX 16 /* TASK_COMM_LEN */

struct fev__hop {
	_Atomic uint64_t seq; /* 0 never written; odd: being written */
	uint64_t time_ns;     /* CLOCK_REALTIME */
	uint64_t position;    /* the event id in its partition */
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t parent_span[8]; /* published: the cause's span; else 0 */
	int32_t pid;
	uint16_t partition;
	uint8_t kind;  /* enum fev__hop_kind */
	uint8_t flags; /* FEV_REDELIVERED */
	char comm[FEV__HOP_COMM_MAX];
	char group[FEV_GROUP_NAME_MAX + 1]; /* "" for a queue or producer */
	/* A hash of the fields above and of the finished seq: a writer
	 * overtaken by a newer ticket may still be storing after the newer
	 * one finished, and only this tells a reader the mix. */
	uint64_t check;
	uint8_t pad[8];
};
static_assert(sizeof(struct fev__hop) == 128, "hop entry");
static_assert(offsetof(struct fev__hop, check) % sizeof(uint64_t) == 0,
	      "the check covers whole words");

/* The check of entry e when its seq reads seq (fev__hops_write() stores
 * it; fev__hops_read() skips an entry whose check differs). */
uint64_t fev__hop_check(const struct fev__hop *e, uint64_t seq);

/* A mapped hop ring. */
struct fev__hops {
	struct fev__hops_header *hdr;
	struct fev__hop *hop;
	uint32_t entries;
	size_t len;
	ino_t ino; /* the file's, by fev__hops_open(): a ring replaced under
		    * its name (topic deleted, created again) has another */
};

/* "/fev.I.T@hops" for topic T of instance: 0 or -EINVAL. */
int fev__hops_shm_name(char *buf, size_t size, const char *instance,
		       const char *topic);

/*
 * Create topic's hop ring of entries (1 .. FEV__HOPS_MAX) with mode and
 * group (-1: the creator's), replacing a leftover of an earlier topic of
 * the name.  0, -EINVAL, -ENOSPC, -ENOMEM, -errno.
 */
int fev__hops_create(const char *instance, const char *topic,
		     uint32_t entries, mode_t mode, gid_t group);
/* The trace_hops of cfg (0 when its struct predates the field). */
uint32_t fev__config_trace_hops(const fev_queue_config *cfg);
/* Create topic's hop ring as cfg asks, with the topic's mode and group
 * (admin.c): 0 (also for none), or an error of fev__hops_create(). */
int fev__hops_create_for(const char *instance, const char *topic,
			 const fev_queue_config *cfg);
/* Remove it: 0, or -ENOENT when there is none. */
int fev__hops_delete(const char *instance, const char *topic);

/*
 * Map topic's hop ring (writable: to record), checked: 0, -ENOENT (the
 * topic records no hops), -EBADMSG (corrupt), -EAGAIN (being created),
 * -EUCLEAN (untrusted), -errno.
 */
int fev__hops_open(const char *instance, const char *topic, bool writable,
		   struct fev__hops *h);
void fev__hops_close(struct fev__hops *h);
/* Check len bytes at base as a hop ring and describe them in h (not
 * mapped by us: fev__hops_close() is not for it).  0, -EAGAIN, -EBADMSG. */
int fev__hops_view(void *base, size_t len, struct fev__hops *h);

/* Record one hop (seq and pad are ignored in e). */
void fev__hops_write(struct fev__hops *h, const struct fev__hop *e);

/*
 * Copy the whole entries (torn and forged ones skipped) into out (room
 * for h->entries), oldest first: how many.
 */
size_t fev__hops_read(const struct fev__hops *h, struct fev__hop *out);

/*
 * For a reader that follows the ring (fev-otel): tickets handed out so far
 * (T2's counter, a relaxed load: it says how far writers got, and hands
 * over nothing; an entry is trusted only through its own seq, H3/H4).
 */
uint64_t fev__hops_tickets(const struct fev__hops *h);
/*
 * The entry of ticket t, copied into out when it is whole and still holds
 * that ticket: true; false when it was overwritten by a later lap, is
 * torn or being written, or never finished (its writer died).
 */
bool fev__hops_read_at(const struct fev__hops *h, uint64_t t,
		       struct fev__hop *out);

/*
 * Call fn(topic, arg) for each hop ring of instance in /dev/shm (names that
 * are valid topics only), until fn returns non-zero: 0, fn's value, or
 * -errno (the prefix, opendir).  hops_list.c.
 */
int fev__hops_each(const char *instance, int (*fn)(const char *, void *),
		   void *arg);

/* ---- recording, for a queue handle (client.c) -------------------------- */

struct fev__map;

/*
 * A handle's view of its topic's hop ring: mapped at its first sampled
 * event (a handle that never sees one never opens it), retried at most
 * once a second while the topic has none.
 */
struct fev__hop_site {
	struct fev__hops hops;
	int state;           /* 0: not tried; 1: mapped; -1: none */
	uint64_t retry_ns;   /* CLOCK_MONOTONIC */
	int32_t pid;         /* getpid() at mapping: a handle is one process's */
	char comm[FEV__HOP_COMM_MAX];
};

/*
 * Record a hop of the event at pos of m's partition: kind, flags
 * (FEV_REDELIVERED), its context, the cause's span (NULL: none), group
 * (NULL: none), at now_ns (CLOCK_REALTIME).  Never fails: without a ring
 * nothing is recorded.
 */
void fev__hop_record(struct fev__hop_site *s, const struct fev__map *m,
		     const char *group, uint8_t kind, uint8_t flags,
		     uint64_t pos, const fev_trace_context *ctx,
		     const uint8_t *parent_span, uint64_t now_ns);
void fev__hop_site_close(struct fev__hop_site *s);

#endif /* FEV_HOPS_H */
