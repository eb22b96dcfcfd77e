/*
 * fevd's run directory: where its control socket, pidfile and instance
 * lock live (/run/fev, $XDG_RUNTIME_DIR/fev, /tmp/fev-UID or a configured
 * path).  Made when missing, and trusted only by fev's one rule.
 */
#ifndef FEVD_RUNDIR_H
#define FEVD_RUNDIR_H

#include <sys/types.h>

/*
 * Make the directory that will hold path (everything before its last '/'),
 * and the missing ones above it (0755); the innermost one, when made, gets
 * mode.  0 (also when they all exist) or -errno (-ENAMETOOLONG).
 */
int fevd_run_dir_make(const char *path, mode_t mode);

/*
 * The directory of path is fevd's own or root's, and no one else may
 * write to it (fev__run_dir_check()); else logged and -EPERM.
 */
int fevd_run_dir_check(const char *path);

#endif /* FEVD_RUNDIR_H */
