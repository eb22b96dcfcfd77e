/*
 * fevconn: what the connector daemons (fev-webhooks, fev-nats) share, so
 * that both stop and reload on the same signals by one definition.
 */
#ifndef FEVCONN_H
#define FEVCONN_H

#include <signal.h>
#include <stdatomic.h>

/*
 * Set by the handlers fevconn_handle_signals installs: stop on SIGTERM or
 * SIGINT, reload on SIGHUP.  The daemon's loop polls them and clears
 * fevconn_reload once it has reloaded.  Atomic, not a volatile
 * sig_atomic_t: the kernel may run a handler on any of the daemon's
 * threads (libnats's and libcurl's too) while another reads the flag, a
 * data race for a plain object; a lock-free atomic is safe in a handler
 * and between threads.  Sequentially consistent: a flag carries no data.
 */
extern atomic_int fevconn_stop, fevconn_reload;

/*
 * Install the stop/reload handlers and ignore SIGPIPE (a peer that hangs
 * up is an error on that write, not the end of the daemon).
 */
void fevconn_handle_signals(void);

#endif /* FEVCONN_H */
