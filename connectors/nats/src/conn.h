/*
 * The NATS connection: options from [nats] (servers, credentials, TLS,
 * reconnect backoff), connecting until it works or the process is told to
 * stop, and what the bridge shows of it (connected, reconnects, the last
 * error as a sentence).
 */
#ifndef FNB_CONN_H
#define FNB_CONN_H

#include <nats/nats.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>

#include "config.h"
#include "counters.h"

#define FNB_LAST_ERROR_MAX 512

struct fnb_conn {
	natsConnection *nc;
	atomic_int closing; /* N1: fnb_conn_close() runs: no error to say */
	struct fnb_counters counters;
	pthread_mutex_t lock; /* guards last_error */
	char last_error[FNB_LAST_ERROR_MAX];
};

/* One attempt to connect: 0, or -ECONNREFUSED with the failure logged
 * and kept as the last error (the caller tries again after a backoff). */
int fnb_conn_open(struct fnb_conn *c, const struct fnb_nats_conf *cfg);
void fnb_conn_close(struct fnb_conn *c);
bool fnb_conn_up(struct fnb_conn *c);

/* Remember (and log at error level) a sentence as the last error. */
void fnb_conn_error(struct fnb_conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void fnb_conn_last_error(struct fnb_conn *c, char *buf, size_t len);

/* A libnats status with its error stack's first line, for a sentence. */
const char *fnb_nats_text(natsStatus s, char *buf, size_t len);

/* The next backoff: doubled, capped. */
static inline unsigned fnb_backoff_next(unsigned ms, unsigned max)
{
	return ms >= max / 2 ? max : ms * 2;
}

void fnb_sleep_ms(unsigned ms);

#endif /* FNB_CONN_H */
