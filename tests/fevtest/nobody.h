/*
 * The second, unprivileged local user of the trust tests (issue 9): steps
 * an attacker takes run in a forked child that dropped to user "nobody".
 * Needs root; tests skip, saying so, when they cannot drop.
 */
#ifndef FEVD_NOBODY_H
#define FEVD_NOBODY_H

#include <stdbool.h>
#include <sys/types.h>

/* Can we run steps as nobody (we are root and nobody exists)? */
bool nb_available(void);
/* nobody's uid (nb_available() first). */
uid_t nb_uid(void);
/* Fork; the child becomes nobody and runs fn(arg), _exit()ing with its
 * return value (126 when it could not drop).  Returns the pid at once. */
pid_t nb_spawn(int (*fn)(void *arg), void *arg);
/* nb_spawn, then wait up to timeout_ms (fevtest_wait).  Its exit code, or
 * 128 + signal. */
int nb_run(int (*fn)(void *arg), void *arg, unsigned timeout_ms);

#endif /* FEVD_NOBODY_H */
