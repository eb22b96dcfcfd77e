/*
 * ThreadSanitizer annotations for orders it cannot see.  liburcu is an
 * uninstrumented library: TSan does not know that cds_lfht_add() publishes
 * a queue to the readers that find it, nor that call_rcu() runs a free only
 * after every reader that could hold the queue has left.  fevd states those
 * two edges where it relies on them (registry.c); without -fsanitize=thread
 * these are nothing.
 */
#ifndef FEVD_TSAN_H
#define FEVD_TSAN_H

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define FEVD_TSAN_RELEASE(addr) __tsan_release((void *)(addr))
#define FEVD_TSAN_ACQUIRE(addr) __tsan_acquire((void *)(addr))
#else
#define FEVD_TSAN_RELEASE(addr) ((void)(addr))
#define FEVD_TSAN_ACQUIRE(addr) ((void)(addr))
#endif

#endif /* FEVD_TSAN_H */
