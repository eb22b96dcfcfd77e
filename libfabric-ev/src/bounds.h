/*
 * The fabric's limits (bounds.h, not limits.h: that name is the C
 * library's), defined once for the library, fevd and the tools:
 * what a queue may be (its geometry) and how large a control message may
 * be.  Raising one is an ABI question for the first group (every reader
 * validates segments against them) and a protocol question for the second.
 */
#ifndef FEV_BOUNDS_H
#define FEV_BOUNDS_H

/* Capacity: a power of two in [MIN, MAX] slots. */
#define FEV__CAPACITY_MIN 2u
#define FEV__CAPACITY_MAX (1u << 24)
/* The largest max_event (payload bytes) a queue may have. */
#define FEV__MAX_EVENT_MAX (16u << 20)
/* Attacher records: the size of the table, and its default. */
#define FEV__ATTACHERS_DEFAULT 64u
#define FEV__ATTACHERS_MAX 4096u

/*
 * The control socket (SOCK_SEQPACKET): one request of at most
 * FEV__CTL_REQUEST_MAX bytes, one reply of at most FEV__CTL_REPLY_MAX
 * (a longer listing is paged: doc/design.md, "Control path").
 */
#define FEV__CTL_REQUEST_MAX 4096
#define FEV__CTL_REPLY_MAX 65536

#endif /* FEV_BOUNDS_H */
