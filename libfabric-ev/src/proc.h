/*
 * Processes: who a process is, and whether it still runs.  The one
 * liveness rule of fev, used by the library's repair, by fevd and by the
 * tools (fev stat), so that they never disagree about a process.
 *
 * An attacher is identified by its pid, its start time (against pid
 * reuse) and the inode of its pid namespace (a pid means something only
 * in its namespace: a client in a container often has pid 1).  The rule:
 *
 *   dead       no process has that pid in that namespace any more, or the
 *              pid now names a process that started at another time, or
 *              every thread of the process is a zombie.  Repair it.
 *   alive      it runs: any thread that is not a zombie counts (a main
 *              thread that called pthread_exit() shows Z while the others
 *              work, so the leader's state alone proves nothing).
 *   unchecked  it may run and we cannot tell: its /proc entry is hidden
 *              from us (hidepid) while the pid exists, it attached from a
 *              pid namespace we cannot see into, or it could not read its
 *              own identity.  Never repaired; fev stat reports it.
 *
 * A record from another pid namespace is mapped to the pid we see through
 * the NSpid line of /proc/PID/status and /proc/PID/ns/pid.  It is dead only
 * when that namespace is visible to us (some process of it is in our /proc)
 * and no process in it has the recorded pid and start time.  When the
 * namespace is gone as a whole (its pid 1 exited) nothing proves the
 * attacher dead from /proc alone; fevd, which keeps a pidfd on every
 * attacher it has mapped, still notices.
 */
#ifndef FEV_PROC_H
#define FEV_PROC_H

#include <stdint.h>

/* The kernel's PID_MAX_LIMIT: no namespace hands out a larger pid. */
#define FEV__PID_MAX 4194304

struct fev__identity {
	int32_t pid;	     /* in its own pid namespace (getpid()) */
	uint64_t start_time; /* /proc/PID/stat field 22; 0: unknown */
	uint64_t pidns;	     /* inode of /proc/PID/ns/pid; 0: unknown */
};

enum fev__life {
	FEV__LIFE_DEAD,
	FEV__LIFE_ALIVE,
	FEV__LIFE_UNCHECKED,
};

/* This process's identity, read from /proc/self (fields 0 if hidden). */
void fev__identity_self(struct fev__identity *id);

/*
 * Apply the rule above.  *local_pid (may be NULL) receives the pid of the
 * process as we see it (what kill() or pidfd_open() take), or 0 when it
 * is not known.
 */
enum fev__life fev__process_life(const struct fev__identity *id,
				 int32_t *local_pid);

/*
 * The same rule without searching /proc: a record from another pid
 * namespace is unchecked.  For loops over every record (repair's snapshot
 * of live hold records), where "not dead" is all that counts and a search per
 * record would make a pass cost records x processes.
 */
enum fev__life fev__process_life_quick(const struct fev__identity *id);

/*
 * The rule for a pid as we see it (no namespace to map); start_time 0
 * skips the reuse check (a record still being filled in has none yet).
 */
enum fev__life fev__local_pid_life(int32_t pid, uint64_t start_time);

/* "dead", "alive", "unchecked". */
const char *fev__life_name(enum fev__life life);

/* Start time and state letter ('R', 'S', 'T', 'Z'...) of a process; 0 or
 * -errno (-ENOENT: no such process, or hidden; -EIO: unreadable). */
int fev__proc_stat(int pid, uint64_t *start_time, char *state);
/* /proc/PID/stat start time (clock ticks since boot); 0 or -errno. */
int fev__proc_start_time(int pid, uint64_t *out);

#endif /* FEV_PROC_H */
