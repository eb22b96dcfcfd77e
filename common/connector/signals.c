/*
 * The connector daemons' signals: flags only, since a handler may run at
 * any instruction and a sig_atomic_t store is all it may safely do.
 */
#include <signal.h>

#include "fevconn.h"

volatile sig_atomic_t fevconn_stop, fevconn_reload;

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
