/*
 * fev — a shared-memory event fabric for Linux.
 *
 * One header, opaque handles.  Every int-returning function returns 0 (or a
 * count) on success and a negative errno value on failure; fev_strerror()
 * turns any of them into a sentence.  Timeouts are nanoseconds: 0 never waits
 * (-EAGAIN), FEV_FOREVER waits without limit, a positive value gives
 * -ETIMEDOUT after that long (an event that arrived meanwhile is returned
 * instead), and any other negative value is -EINVAL.
 *
 * Thread safety: a fev_queue handle is used by one thread at a time.  Open
 * one handle per thread; any number of handles, in any number of processes,
 * may share one queue.
 *
 * fork(): a handle belongs to the process that opened it.  In a child,
 * every call on an inherited handle returns -ECHILD (open the queue again
 * there), and fev_close() of it frees only the child's copy: the parent's
 * handle and what it holds are untouched.
 */
#ifndef FEV_FEV_H
#define FEV_FEV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "fev/version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(FEV_STATIC_DEFINE)
#define FEV_API
#elif defined(FEV_BUILDING)
#define FEV_API __attribute__((visibility("default")))
#else
#define FEV_API
#endif

#define FEV_FOREVER ((int64_t)-1)

/* Roles passed to fev_open(). */
#define FEV_PRODUCER 0x1u
#define FEV_CONSUMER 0x2u

/* Event flags seen by consumers. */
#define FEV_REDELIVERED 0x1u /* a consumer died holding it; delivered again */
/* Its group lost events before this one (a `drop` group that was in the
 * producers' way): fev_group_dropped() says how many so far. */
#define FEV_GAP 0x2u
#define FEV_SAMPLED 0x4u /* carries a sampled traceparent: its hops are recorded */

/* Full-queue policies. */
#define FEV_POLICY_BLOCK 0       /* producers wait for room (default) */
#define FEV_POLICY_REJECT 1      /* producers get -EAGAIN at once */
#define FEV_POLICY_DROP_OLDEST 2 /* producers discard the oldest event */

#define FEV_NAME_MAX 63     /* queue names: [A-Za-z0-9._-]{1,63} */
#define FEV_INSTANCE_MAX 31 /* instance names: [A-Za-z0-9_-]{1,31} */

typedef struct fev_queue fev_queue;

typedef struct fev_open_opts {
	size_t struct_size;   /* sizeof(fev_open_opts) */
	const char *instance; /* NULL: $FEV_INSTANCE, else "default" */
	uint32_t spin_ns;     /* most busy-wait before sleeping (adapted down
			       * while spins end in sleeps); 0: default */
	uint32_t flags;       /* FEV_OPEN_*; unknown bits are -EINVAL */
	/* A consumer of a topic's partition joins this consumer group;
	 * NULL: the group "default".  Ignored for a queue, which has none. */
	const char *group;
} fev_open_opts;

/* Never spin: sleep on the futex at once (pure blocking mode). */
#define FEV_OPEN_NO_SPIN 0x1u

typedef struct fev_queue_config {
	size_t struct_size; /* sizeof(fev_queue_config) */
	uint32_t capacity;  /* events, power of two, 2 .. 2^24 */
	uint32_t max_event; /* largest payload in bytes, 0 .. 16 MiB */
	int policy;         /* FEV_POLICY_* */
	mode_t mode;        /* segment permissions; 0: 0600 */
	gid_t group;        /* owning group; 0 or (gid_t)-1: the creator's */
	uint32_t attachers; /* attacher-table size; 0: 64 */
	/* Added with tracing: entries of the hop ring that records sampled
	 * events (fev trace), 1 .. 1M; 0: none (fevd's default is 4096). */
	uint32_t trace_hops;
	/* Added with sync modes (ABI 1.4): FEV_SYNC_* bits; 0, the default:
	 * any number of producers and consumers. */
	uint32_t sync;
} fev_queue_config;

/*
 * Sync modes (DPDK's rte_ring SP/SC), chosen at create, per queue: at
 * most one producer (consumer) handle is attached at a time, and a second
 * fev_open() with that role is -EBUSY until the first closes or, dead,
 * is repaired by fevd.  A single side moves its cursor with a plain
 * store instead of a CAS; both single (SP|SC) is the fast 1->1 ring.
 * Topics refuse them (-ENOTSUP: groups read with cursors of their own), and
 * a single consumer refuses FEV_POLICY_DROP_OLDEST (-EINVAL: the dropping
 * producer would move the consumer's cursor).
 */
#define FEV_SYNC_SP 0x1u /* single producer */
#define FEV_SYNC_SC 0x2u /* single consumer */

typedef struct fev_claim {
	void *data; /* where to write the payload */
	size_t cap; /* bytes available there (the queue's max_event) */
	uint64_t priv_pos;
} fev_claim;

typedef struct fev_event {
	const void *data; /* payload, in shared memory until released */
	size_t len;
	uint64_t id;    /* unique within the queue: its ring position */
	uint64_t ts_ns; /* CLOCK_REALTIME at commit */
	uint32_t flags; /* FEV_REDELIVERED */
	uint32_t priv_pad;
	uint64_t priv_pos;
	/* Since ABI 1.2.  Key and headers, in shared memory until released
	 * (zero copy); NULL, 0 and 0 when the event has none. */
	const void *key;
	size_t key_len;
	uint32_t n_headers; /* read them with fev_header_next/_get */
	uint32_t priv_hdr_len;
	const void *priv_hdr;
} fev_event;

/*
 * Event keys and headers (Kafka record keys and headers, NATS headers).
 * A key is up to FEV_KEY_MAX bytes.  Headers are ordered name/value pairs:
 * names are 1 .. FEV_HEADER_NAME_MAX characters of the HTTP token set
 * (RFC 7230 tchar: letters, digits and !#$%&'*+-.^_`|~), compared without
 * regard to ASCII case; values are bytes.  Key, headers and payload share
 * the slot: together, encoded, they must fit the queue's max_event (each
 * header costs 5 bytes more than its name and value, the key and header
 * count 3 bytes in all).  A name may repeat; fev_header_get() returns the
 * first.
 */
#define FEV_KEY_MAX 255
#define FEV_HEADER_NAME_MAX 255
#define FEV_HEADERS_MAX 65535 /* headers per event */

/* Well-known header names (CloudEvents binary mode, W3C Trace Context). */
#define FEV_HDR_CONTENT_TYPE "content-type"
#define FEV_HDR_CE_ID "ce-id"
#define FEV_HDR_CE_TYPE "ce-type"
#define FEV_HDR_CE_SOURCE "ce-source"
#define FEV_HDR_CE_SUBJECT "ce-subject"
#define FEV_HDR_CE_SPECVERSION "ce-specversion"
#define FEV_HDR_CE_TIME "ce-time"
#define FEV_HDR_TRACEPARENT "traceparent"
#define FEV_HDR_TRACESTATE "tracestate"

/* One header.  Sending: name_len 0 means name is NUL-terminated.
 * Reading: name is not NUL-terminated; use name_len. */
typedef struct fev_header {
	const char *name;
	size_t name_len;
	const void *value;
	size_t value_len;
} fev_header;

/* What fev_send_ex() and fev_reserve_ex() put beside the payload. */
typedef struct fev_send_opts {
	size_t struct_size; /* sizeof(fev_send_opts) */
	const void *key;    /* NULL (and key_len 0): no key */
	size_t key_len;     /* 0 .. FEV_KEY_MAX */
	const fev_header *headers;
	size_t n_headers; /* 0 .. FEV_HEADERS_MAX */
	/* Since ABI 1.3: event flags the producer passes on, for a bridge
	 * (fev-nats) forwarding an event its source delivered again:
	 * FEV_REDELIVERED, or 0.  fev_send_ex() only; other bits, or any
	 * bit given to fev_reserve_ex(), are -EINVAL. */
	uint32_t flags;
	/* Added with tracing.  The event this one is a consequence of (held by
	 * the caller, NULL: none).  When it carries a valid traceparent,
	 * this event gets one of the same trace id and flags with a new
	 * span id, and the cause's tracestate; then headers must hold no
	 * traceparent or tracestate of their own (-EINVAL). */
	const fev_event *cause;
} fev_send_opts;

/*
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): the
 * traceparent header, "00-<32 hex trace id>-<16 hex span id>-<2 hex
 * flags>", lowercase.  An event whose traceparent has the sampled flag is
 * FEV_SAMPLED: the library records its hops (doc/design.md, "Tracing");
 * any other event costs nothing more.
 */
#define FEV_TRACEPARENT_LEN 55        /* version 00, without the NUL */
#define FEV_TRACE_FLAG_SAMPLED 0x01u  /* trace-flags bit 0 */

typedef struct fev_trace_context {
	uint8_t trace_id[16]; /* not all zero */
	uint8_t span_id[8];   /* the sender's span (W3C parent-id), not 0 */
	uint8_t flags;        /* FEV_TRACE_FLAG_SAMPLED */
} fev_trace_context;

/*
 * Parse a traceparent value (len bytes, no NUL needed).  Version 00 must
 * be exactly 55 characters; a later version at least 55, with '-' after
 * them (its extra fields ignored); version ff, upper-case hex, an all-zero
 * trace or span id are -EINVAL, as the specification says.
 */
FEV_API int fev_traceparent_parse(const void *value, size_t len,
				  fev_trace_context *out);
/* Write ctx as a version-00 traceparent and a NUL into buf (size >=
 * FEV_TRACEPARENT_LEN + 1): 0, or -EINVAL (NULL, small buf, zero ids). */
FEV_API int fev_traceparent_format(const fev_trace_context *ctx, char *buf,
				   size_t size);
/*
 * Start a trace: random trace and span ids (a per-thread generator seeded
 * from getrandom(), seeded again in a forked child), flags as given
 * (FEV_TRACE_FLAG_SAMPLED or 0).  0, or -EINVAL.
 */
FEV_API int fev_trace_start(fev_trace_context *out, unsigned flags);
/*
 * The trace context of an acquired event: 0, -ENOENT (no traceparent),
 * -EINVAL (one that does not parse), -EBADMSG (headers changed).
 */
FEV_API int fev_event_trace(const fev_event *ev, fev_trace_context *out);

/* Where fev_header_next() is; zero it ({0}) to start from the first. */
typedef struct fev_header_iter {
	uint32_t priv_off;
	uint32_t priv_index;
} fev_header_iter;

typedef struct fev_meta {
	uint64_t id;
	uint64_t ts_ns;
	uint32_t flags;
} fev_meta;

typedef struct fev_stats {
	uint64_t capacity, depth, enqueued, dequeued, dropped, redelivered,
		tombstoned;
	uint32_t producers, consumers, sleepers;
	/* additions since ABI 1.0 follow */
	uint32_t max_event;
	uint64_t full_waits; /* times a producer found the queue full */
	uint64_t sleeps;     /* futex sleeps, producers and consumers */
	uint64_t wakes;      /* futex wake calls */
	int policy;
	int deleted; /* 1 when the queue was deleted */
} fev_stats;

/*
 * Attach to an existing queue.  Errors: -EINVAL (bad name, roles, options),
 * -ENOENT (no such queue), -EACCES (permissions), -EBADMSG (corrupt
 * segment), -EPROTO (incompatible ABI), -EIDRM (queue deleted), -EUSERS
 * (attacher table full), -ENOMEM, -EUCLEAN (the name holds something fev
 * does not trust: not a regular file, or owned by someone other than root,
 * the caller or the instance's fevd).
 */
FEV_API int fev_open(const char *queue, unsigned roles,
		     const fev_open_opts *opts, fev_queue **out);
/* Detach; folds this handle's counters into the queue's totals. */
FEV_API void fev_close(fev_queue *q);
/*
 * When the queue (or partition) this handle reads was created, in
 * CLOCK_REALTIME nanoseconds, as its creator wrote it.  Event ids are ring
 * positions and start again at 0 in a queue deleted and created again
 * under the same name: (name, created_ns, id) names one event for good
 * (fev-webhooks derives webhook-id from it).
 */
FEV_API uint64_t fev_queue_created_ns(const fev_queue *q);

/*
 * Copy one event in.  Errors: -EMSGSIZE, -EAGAIN (full and timeout 0, or
 * reject policy), -ETIMEDOUT, -EIDRM, -EPERM (not opened as producer),
 * -ESTALE (see below), -ENOMEM.
 *
 * -ESTALE: repair (fevd) took this handle's position as if its process had
 * died, before the commit; the event was not published.  Commits and
 * sends publish a prefix of their events in order: a batch returns how
 * many it published when repair took a later one, -ESTALE when it took
 * the first, and the unpublished rest is skipped by consumers.  For
 * releases it means the event was already delivered again.  When repair
 * retired the handle's attacher record too, every later send, reserve or
 * acquire on the handle is -ESTALE as well: close it and open a new one.
 */
FEV_API int fev_send(fev_queue *q, const void *data, size_t len,
		     int64_t timeout_ns);
/*
 * fev_send() with a key and headers (opts NULL: none, as fev_send()).
 * Errors as fev_send(), and -EMSGSIZE when the key is longer than
 * FEV_KEY_MAX, a name longer than FEV_HEADER_NAME_MAX, there are more than
 * FEV_HEADERS_MAX headers, or key, headers and payload together exceed
 * max_event; -EINVAL for a header name that is empty or not a token, or
 * options without struct_size.  Nothing is sent on error.
 */
FEV_API int fev_send_ex(fev_queue *q, const fev_send_opts *opts,
			const void *data, size_t len, int64_t timeout_ns);
/*
 * Copy one event out; returns its length.  Copies the payload only: use
 * fev_acquire() to read an event's key and headers.  -EMSGSIZE when cap is too small
 * (the event stays queued), -EAGAIN, -ETIMEDOUT, -EIDRM, -EPERM, -EBADMSG
 * (a slot with an impossible length; it is skipped).
 */
FEV_API ssize_t fev_recv(fev_queue *q, void *buf, size_t cap, fev_meta *meta,
			 int64_t timeout_ns);

/*
 * Zero copy: reserve a slot, write c->data, commit len bytes of it.
 * commit: -EINVAL when c is not a reservation this handle holds (another
 * handle's, one already committed, a forged priv_pos), -ESTALE.
 */
FEV_API int fev_reserve(fev_queue *q, size_t len, fev_claim *c,
			int64_t timeout_ns);
FEV_API int fev_commit(fev_queue *q, fev_claim *c, size_t len);
/*
 * fev_reserve() with a key and headers, written into the slot now: c->data
 * points after them, c->cap is what is left of max_event for the payload;
 * fev_commit() (or fev_commit_batch()) publishes all three.  Errors as
 * fev_reserve() and fev_send_ex().
 */
FEV_API int fev_reserve_ex(fev_queue *q, const fev_send_opts *opts,
			   size_t len, fev_claim *c, int64_t timeout_ns);
/*
 * Zero copy, batched: reserve up to n slots with one CAS (returns how many,
 * >= 1), then commit them, in order, with one timestamp.  commit_batch is
 * all or nothing: -EINVAL (a claim not open in this handle, or out of
 * order) or -EMSGSIZE (lens[i] > max_event) commits none.  After repair it
 * publishes a prefix (see -ESTALE above); every claim's data is NULL then.
 */
FEV_API int fev_reserve_batch(fev_queue *q, fev_claim *claims, size_t n,
			      int64_t timeout_ns);
FEV_API int fev_commit_batch(fev_queue *q, fev_claim *claims,
			     const size_t *lens, size_t n);
/*
 * Zero copy: read ev->data in place until fev_release().  acquire:
 * -ESTALE once repair retired this handle's record (see fev_send).
 * release: -EINVAL when ev is not an event this handle holds, -ESTALE
 * when repair delivered it again already (this handle was taken for dead).
 */
FEV_API int fev_acquire(fev_queue *q, fev_event *ev, int64_t timeout_ns);
FEV_API int fev_release(fev_queue *q, fev_event *ev);

/*
 * The event's next header (zero copy: name and value point into the slot,
 * valid until the event is released).  Returns 1 and fills h, 0 after the
 * last, -EBADMSG when the headers no longer parse (a writer changed the
 * slot after it was checked; never a read outside the event), -EINVAL for
 * NULL arguments.
 */
FEV_API int fev_header_next(const fev_event *ev, fev_header_iter *it,
			    fev_header *h);
/*
 * The value of the first header called name (ASCII case-insensitive, e.g.
 * FEV_HDR_CONTENT_TYPE): 0, or -ENOENT when there is none, -EINVAL for a
 * name that is not a token, -EBADMSG as fev_header_next().
 */
FEV_API int fev_header_get(const fev_event *ev, const char *name,
			   const void **value, size_t *value_len);

/*
 * Wait until one of n consumer handles (1 .. FEV_WAIT_ANY_MAX) has an
 * event, sleeping on all of them at once (futex_waitv, Linux >= 5.16; on
 * older kernels a publish to any but one of them is seen within 1 ms).
 * Writes the indices of the handles that are ready into ready_out (room
 * for n) and returns how many (>= 1); then take their events with
 * timeout 0.  -EAGAIN (timeout 0) or -ETIMEDOUT when none is;
 * -EINVAL, or what fev_acquire() says of a handle (-EPERM, -ECHILD,
 * -ESTALE).  A handle whose queue was deleted counts as ready (its
 * acquire says -EIDRM).  The handles are used by the calling thread.
 */
#define FEV_WAIT_ANY_MAX 128
FEV_API int fev_wait_any(fev_queue *const *qs, size_t n, int64_t timeout_ns,
			 size_t *ready_out);

/*
 * A file descriptor that becomes readable when the consumer handle q has
 * events, for epoll, poll, libuv (uv_poll), libevent.  Once it is
 * readable, take events with timeout 0 until -EAGAIN: a call that finds
 * the queue empty re-arms it (reading the descriptor is allowed, never
 * needed).  The same descriptor for every call on q; it belongs to q
 * (fev_close() closes it: remove it from your loop first).  Costs one
 * thread per handle that sleeps on the queue while it is empty; producers
 * pay nothing more.  -EPERM for a producer handle, -ECHILD, -ESTALE,
 * -ENOMEM, -EMFILE, -EAGAIN (no thread).
 */
FEV_API int fev_fd(fev_queue *q);

/* Batches: one CAS claims several positions; return how many (>= 1). */
FEV_API int fev_send_batch(fev_queue *q, const struct iovec *iov, size_t n,
			   int64_t timeout_ns);
FEV_API int fev_acquire_batch(fev_queue *q, fev_event *evs, size_t max,
			      int64_t timeout_ns);
FEV_API int fev_release_batch(fev_queue *q, fev_event *evs, size_t n);

/*
 * Administration.  instance NULL: $FEV_INSTANCE, else "default".
 * create: -EEXIST, -EINVAL, -EACCES, -ENOMEM, -ENOSPC.
 * delete: -ENOENT, -EACCES.  stats: like fev_open.
 */
FEV_API int fev_queue_create(const char *queue, const fev_queue_config *cfg,
			     const char *instance);
FEV_API int fev_queue_delete(const char *queue, const char *instance);
FEV_API int fev_queue_stats(const char *queue, const char *instance,
			    fev_stats *out);

/*
 * The partition of a keyed event among `partitions`, as Kafka's Java
 * producer chooses it (murmur2 of the key bytes, sign bit cleared, modulo
 * partitions), so a key lands where a Kafka user expects.  Returns
 * 0 .. partitions - 1, or -EINVAL (partitions 0 or above INT_MAX, key NULL
 * with key_len not 0).
 */
FEV_API int fev_partition_for_key(const void *key, size_t key_len,
				  uint32_t partitions);

/*
 * Topics: P partitions, each one bounded ring in one segment of its own
 * (partition 0 is the segment named as the topic, partition k > 0
 * "TOPIC@k"), so a queue is a topic of one partition and every queue
 * call works on one partition (fev_open("orders@2", ...) consumes
 * partition 2).  A keyed event goes to partition
 * fev_partition_for_key(key, P), an unkeyed one round-robin per handle.
 */
#define FEV_PARTITIONS_MAX 256

typedef struct fev_topic fev_topic;

/*
 * Create topic with `partitions` partitions (1 .. FEV_PARTITIONS_MAX), each
 * a ring of cfg: errors as fev_queue_create; -EEXIST when a queue or topic
 * holds the name.  Partitions appear whole, partition 0 first: an opener
 * waits up to a second for the others.
 */
FEV_API int fev_topic_create(const char *topic, uint32_t partitions,
			     const fev_queue_config *cfg,
			     const char *instance);
/*
 * Delete every partition (fev_queue_delete() of a topic's name does the
 * same).  Attached handles get -EIDRM.  -ENOENT, -EACCES.
 */
FEV_API int fev_topic_delete(const char *topic, const char *instance);
/*
 * The topic's number of partitions; the first min(n, partitions) of them
 * have their statistics in out[0 ..].  Errors as fev_queue_stats.
 */
FEV_API int fev_topic_stats(const char *topic, const char *instance,
			    fev_stats *out, size_t n);

/*
 * Attach to every partition of topic as a producer (roles must be
 * FEV_PRODUCER): errors as fev_open, and -EBADMSG when a partition says
 * it belongs to another topic or geometry, -ENOENT when one is missing
 * (a create or delete cut short: delete the topic and create it again).
 */
FEV_API int fev_topic_open(const char *topic, unsigned roles,
			   const fev_open_opts *opts, fev_topic **out);
FEV_API void fev_topic_close(fev_topic *t);
FEV_API uint32_t fev_topic_partitions(const fev_topic *t);
/*
 * The handle of partition k (NULL when k is out of range), for zero copy
 * and batches on one partition; it is closed by fev_topic_close().
 */
FEV_API fev_queue *fev_topic_partition(fev_topic *t, uint32_t k);
/*
 * Copy one event into its partition: key NULL (key_len 0) round-robin,
 * else fev_partition_for_key(key, key_len, partitions); the key is stored
 * with the event (fev_event.key), so it counts against max_event.  Returns
 * the partition (>= 0) or an error of fev_send_ex.
 */
FEV_API int fev_topic_send(fev_topic *t, const void *key, size_t key_len,
			   const void *data, size_t len, int64_t timeout_ns);
/* The same with headers: opts as fev_send_ex(), its key choosing the
 * partition. */
FEV_API int fev_topic_send_ex(fev_topic *t, const fev_send_opts *opts,
			      const void *data, size_t len,
			      int64_t timeout_ns);

/*
 * Consumer groups of a topic (doc/design.md, "Consumer groups"): every
 * group sees every event of every partition, once (fan-out over one copy
 * in shared memory: a slot is reused when every group released it, so
 * producers wait for the slowest group); inside a group, members compete
 * for events (shared).  A topic is created with one group, "default"
 * (what fev_open() of a partition without opts->group joins); delete it
 * when only named groups read the topic.  Members join with
 * fev_open(PARTITION, FEV_CONSUMER, opts with .group); a member that dies
 * holding events has them delivered again, FEV_REDELIVERED, to a member of
 * its own group only.
 */
#define FEV_GROUPS_MAX 32     /* per topic, "default" included */
#define FEV_GROUP_NAME_MAX 31 /* [A-Za-z0-9._-]{1,31} */
#define FEV_GROUP_LATEST 0    /* a new group reads what is published next */
#define FEV_GROUP_EARLIEST 1  /* ... and first what the partitions still hold */
/*
 * Slow-group policies.  block: producers wait for the group (default).
 * drop: when a producer would wait for a slot that only drop groups still
 * owe (every block group released it), each of them that no member has
 * taken it from loses that oldest event; the group counts it and its next
 * delivered event carries FEV_GAP.  An event a member holds is never
 * taken from it: the producer waits for that one as under block.
 */
#define FEV_GROUP_BLOCK 0
#define FEV_GROUP_DROP 1

/*
 * How members share a group's events.  shared: any member takes any event
 * (competing consumers, the default).  ordered: each partition is owned by
 * at most one live member at a time, so the events of a key are processed
 * in publish order; members join with fev_member_join(), not fev_open().
 */
#define FEV_GROUP_SHARED 0
#define FEV_GROUP_ORDERED 1

typedef struct fev_group_config {
	size_t struct_size; /* sizeof(fev_group_config) */
	int start;          /* FEV_GROUP_LATEST (default) or _EARLIEST */
	int policy;         /* FEV_GROUP_BLOCK (default) or _DROP */
	int mode;           /* FEV_GROUP_SHARED (default) or _ORDERED */
	/* Ordered groups: a member that makes no call (acquire, release,
	 * owned) for this long loses its partitions to the others and must
	 * rejoin (Kafka's session.timeout.ms / max.poll.interval.ms).  0:
	 * FEV_GROUP_SESSION_TIMEOUT_DEFAULT_MS; FEV_GROUP_SESSION_OFF: a
	 * stalled member keeps its partitions.  Ignored by shared groups. */
	uint32_t session_timeout_ms;
} fev_group_config;

/* 30 s: long enough for any event's handling to pause on (GC, swap, a
 * slow downstream call), short enough that a hung member does not stop
 * its partitions, and under block policy the producers, for long. */
#define FEV_GROUP_SESSION_TIMEOUT_DEFAULT_MS 30000u
#define FEV_GROUP_SESSION_OFF UINT32_MAX

/* A group's state, summed over the topic's partitions. */
typedef struct fev_group_info {
	size_t struct_size;   /* sizeof(fev_group_info), set by the caller */
	int policy;           /* FEV_GROUP_BLOCK or FEV_GROUP_DROP */
	uint64_t dropped;     /* events lost to the drop policy */
	uint64_t redelivered; /* events handed back after a member died */
	/* Ordered groups: partitions fevd took from members that made no
	 * call for the session timeout, and that timeout (0: none). */
	uint64_t revoked;
	uint32_t session_timeout_ms;
} fev_group_info;

/*
 * Create group on every partition of topic (cfg NULL: latest).  -EINVAL
 * (bad name, a queue rather than a topic), -EEXIST, -ENOSPC (FEV_GROUPS_MAX
 * groups already), and the errors of fev_topic_stats().
 */
FEV_API int fev_group_create(const char *topic, const char *group,
			     const fev_group_config *cfg,
			     const char *instance);
/*
 * Delete group from every partition: producers stop waiting for it.
 * -ENOENT, -EBUSY (members are attached: close them first).
 */
FEV_API int fev_group_delete(const char *topic, const char *group,
			     const char *instance);
/*
 * Call fn for each group of topic (as partition 0 has them), in table
 * order; stops when fn returns non-zero and returns that.  0 or -errno.
 */
FEV_API int fev_group_list(const char *topic, const char *instance,
			   int (*fn)(const char *group, void *arg), void *arg);
FEV_API int fev_group_name_valid(const char *group);
/*
 * Fill out (out->struct_size set by the caller) with group's policy and
 * counters.  -EINVAL (bad names, struct_size), -ENOENT, -EBADMSG (a
 * partition's record holds a policy fev does not know), and the errors of
 * fev_topic_stats().
 */
FEV_API int fev_group_stats(const char *topic, const char *group,
			    const char *instance, fev_group_info *out);
/*
 * For a member (a consumer handle of a partition): how many events its
 * group lost in this partition to the drop policy, the count FEV_GAP
 * announces.  0, or -EINVAL when q is no group member.
 */
FEV_API int fev_group_dropped(const fev_queue *q, uint64_t *dropped);
/* FEV_GROUP_SHARED or FEV_GROUP_ORDERED, or the errors of fev_group_list
 * and -ENOENT (no such group). */
FEV_API int fev_group_mode(const char *topic, const char *group,
			   const char *instance);

/*
 * Ordered groups (doc/design.md, "Ordered groups").  A member joins the
 * group of a topic and acquires from the partitions it owns only.  fevd
 * assigns the partitions as members join, leave and die, incrementally
 * (cooperative-sticky: a partition that does not move never pauses; one
 * that moves is handed over by its owner at the owner's next call, or
 * given to another member once fevd has repaired what a dead owner held).
 * Each partition's lease carries a generation that grows at every
 * handover: an event acquired under an older generation is fenced
 * (release answers -EKEYREVOKED) and goes to the new owner, flagged
 * FEV_REDELIVERED, before anything newer of its partition.  A stopped
 * member is alive, but one that makes no call for the group's session
 * timeout (fev_group_config.session_timeout_ms) loses its partitions:
 * fevd hands them to the others, with the events it held (flagged), and
 * its next call answers -EKEYREVOKED: leave and join again.  Without fevd
 * running nothing is assigned.  A member is used by one thread at a time.
 */
typedef struct fev_member fev_member;

/*
 * Join opts->group (NULL: "default"), which must be ordered, of topic: one
 * consumer handle per partition.  Errors of fev_open, and -EPERM when the
 * group is shared (open its partitions with fev_open()).
 */
FEV_API int fev_member_join(const char *topic, const fev_open_opts *opts,
			    fev_member **out);
/*
 * The next event of a partition this member owns (zero copy, as
 * fev_acquire), and which partition (partition may be NULL).  Partitions
 * are visited round-robin; a partition just handed over gives first the
 * events its previous owner held, then those a dead member held
 * (FEV_REDELIVERED), then new ones.  While waiting, the member looks at
 * its assignment at least every millisecond.  Errors as fev_acquire, and
 * -EKEYREVOKED when the member lost its partitions to the session timeout
 * (leave, then join again).
 */
FEV_API int fev_member_acquire(fev_member *m, fev_event *ev,
			       uint32_t *partition, int64_t timeout_ns);
/*
 * Release an event of fev_member_acquire: 0, -EKEYREVOKED when its
 * partition was handed over since (the new owner gets it again: do not
 * act on it twice if that matters, and after a session timeout leave and
 * join again), or the errors of fev_release.
 */
FEV_API int fev_member_release(fev_member *m, fev_event *ev);
/* The partitions this member owns now, at most max of them in parts, in
 * increasing order; returns how many it owns, or -EKEYREVOKED (session
 * timeout: leave and join again). */
FEV_API int fev_member_owned(fev_member *m, uint32_t *parts, size_t max);
/* Hand every owned partition back (what it holds goes to the next owner,
 * flagged) and close the handles. */
FEV_API void fev_member_leave(fev_member *m);

/* Who owns a partition of an ordered group, for fev stat. */
typedef struct fev_partition_owner {
	uint32_t partition;
	uint32_t generation; /* grows at every handover */
	pid_t pid;       /* the owner; 0: none (unassigned, or left) */
	pid_t next_pid;  /* the member it is being handed to; 0: none */
} fev_partition_owner;

/*
 * Fill out[0 .. min(max, P) - 1] with the owners of group's partitions;
 * returns P.  -EINVAL (bad names, a shared group), -ENOENT, -EBADMSG.
 */
FEV_API int fev_group_owners(const char *topic, const char *group,
			     const char *instance, fev_partition_owner *out,
			     size_t max);

/*
 * Tails: watch a queue's or topic's events as they pass, without consuming
 * them (fev tail, fev record).  A tail maps the segments read-only and
 * writes nothing: it never holds, releases or gates a position, is no
 * attacher and no group member, so producers and consumers never wait for
 * it.  It copies each committed event out of its slot and checks
 * afterwards that the slot was not reused meanwhile; an event it could
 * not copy in time (the ring lapped it) is counted as missed.  Idle, it
 * polls (at most every 2 ms): it cannot sleep on a wait word it may not
 * write.  Busy (behind a ring it cannot keep up with), it reads in bursts
 * and rests between them, so that it takes at most cpu_percent of a CPU
 * from the producers and consumers; what passes while it rests is counted
 * as missed.  A tail that keeps up never rests.
 */
typedef struct fev_tail fev_tail;

#define FEV_TAIL_LATEST 0   /* events committed from now on (default) */
#define FEV_TAIL_EARLIEST 1 /* first every event the ring still holds */

/* cpu_percent: 0 is the default, FEV_TAIL_CPU_DEFAULT; FEV_TAIL_CPU_FULL
 * never rests (reads all it can: fev record's default). */
#define FEV_TAIL_CPU_DEFAULT 2u
#define FEV_TAIL_CPU_FULL 100u

typedef struct fev_tail_opts {
	size_t struct_size;   /* sizeof(fev_tail_opts) */
	const char *instance; /* NULL: $FEV_INSTANCE, else "default" */
	int start;            /* FEV_TAIL_LATEST or FEV_TAIL_EARLIEST */
	/* Added later; a struct_size without them means 0. */
	uint32_t priv_pad;    /* 0 (the padding the first version had) */
	uint32_t cpu_percent; /* 0 (default), 1..100 */
} fev_tail_opts;

typedef struct fev_tail_event {
	/* data, key and headers point into the caller's buffer; id is the
	 * position in its partition; read headers with fev_header_next. */
	fev_event ev;
	uint32_t partition;
	uint32_t priv_pad;
	/* Events of this partition that passed unseen just before this one
	 * (lapped, or reused while being copied). */
	uint64_t missed;
} fev_tail_event;

/*
 * Tail a queue, a topic (every partition) or one partition ("T@k").
 * 0, -EINVAL (also cpu_percent above 100), -ENOENT, -EACCES, -EUCLEAN (a file fev does not trust),
 * -EBADMSG (corrupt), -EPROTO, -ENOMEM.
 */
FEV_API int fev_tail_open(const char *name, const fev_tail_opts *opts,
			  fev_tail **out);
FEV_API void fev_tail_close(fev_tail *t);
FEV_API uint32_t fev_tail_partitions(const fev_tail *t);
/* The buffer fev_tail_next() needs: the largest max_event of them. */
FEV_API size_t fev_tail_max_event(const fev_tail *t);
/* Events missed so far, all partitions. */
FEV_API uint64_t fev_tail_missed(const fev_tail *t);
/*
 * The next event of any partition, copied into buf (cap at least
 * fev_tail_max_event()).  0; -EAGAIN (timeout 0) or -ETIMEDOUT: none yet,
 * or a busy tail resting (cpu_percent) for longer than the timeout;
 * -EBADMSG: a corrupt slot, skipped; -EIDRM: deleted (or, in fevd and
 * the tools, which survive it, truncated under the tail); -EINVAL.
 */
FEV_API int fev_tail_next(fev_tail *t, fev_tail_event *te, void *buf,
			  size_t cap, int64_t timeout_ns);

/* A sentence for any value these functions return. */
FEV_API const char *fev_strerror(int err);

/* Validate names: 0 or -EINVAL. */
FEV_API int fev_queue_name_valid(const char *queue);
FEV_API int fev_instance_name_valid(const char *instance);
/* The instance this process uses when given NULL. */
FEV_API const char *fev_default_instance(void);

#ifdef __cplusplus
}
#endif

#endif /* FEV_FEV_H */
