/*
 * The connector daemons' signals: flags only, since a handler may run at
 * any instruction and a lock-free atomic store is all it may safely do.
 */
#include <assert.h>
#include <signal.h>
#include <stdatomic.h>

#include "fevconn.h"

static_assert(ATOMIC_INT_LOCK_FREE == 2, "a handler may store only a lock-free atomic");

atomic_int fevconn_stop, fevconn_reload;

static void on_stop(int sig)
{
	(void)sig;
	fevconn_stop = 1;
}

static void on_reload(int sig)
{
	(void)sig;
	fevconn_reload = 1;
}

void fevconn_handle_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_reload;
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}
