/*
 * Surviving truncated segments (issue 9, item 2).  Anyone with write access
 * to a segment can ftruncate() it; every access past the new end then
 * raises SIGBUS, which would kill fevd or fev stat.  Checking the size
 * before each read cannot be exact (the file can shrink right after the
 * check), and siglongjmp out of a repair would leave it half done.  So fevd
 * and the tools install this SIGBUS handler: a fault inside a registered
 * mapping is answered by mapping anonymous zero pages over the rest of it
 * (MAP_FIXED), and the faulting access retried then reads zeros, which the
 * validation every segment read goes through already treats as hostile
 * memory.  The mapping is marked tripped; its owner drops the queue.  A
 * fault anywhere else still kills the process as SIGBUS always did.
 *
 * Clients (libfev in applications) do not install it: a library must not
 * take over a process-wide signal.  For them a truncated segment means
 * SIGBUS, as the README says under "what write access means".
 */
#ifndef FEV_MEMTRAP_H
#define FEV_MEMTRAP_H

#include <stdbool.h>
#include <stddef.h>

/* Install the handler (once per process).  0 or -errno. */
int fev__memtrap_install(void);
/* Is it installed?  fev__map_open() registers its mappings when it is. */
bool fev__memtrap_installed(void);
/* Watch [base, base + len).  0 or -ENOMEM. */
int fev__memtrap_add(void *base, size_t len);
/* Stop watching the mapping at base (before it is unmapped). */
void fev__memtrap_remove(const void *base);
/* Did an access to the mapping at base fault (was it patched)? */
bool fev__memtrap_tripped(const void *base);

#endif /* FEV_MEMTRAP_H */
