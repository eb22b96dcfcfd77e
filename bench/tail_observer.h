/* A process that tails a queue for a whole run (tail_observer.c). */
#ifndef FEV_BENCH_TAIL_OBSERVER_H
#define FEV_BENCH_TAIL_OBSERVER_H

#include <sys/types.h>

/* The observer's pid once it is attached, or -1. */
pid_t bench_tail_observer_start(const char *inst, const char *queue);
/* SIGTERM it and wait: it prints what it saw and missed. */
void bench_tail_observer_stop(pid_t pid);

#endif /* FEV_BENCH_TAIL_OBSERVER_H */
