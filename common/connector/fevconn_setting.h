/*
 * The INI value rules the connector configs (fev-webhooks, fev-nats) share
 * for the consumer group each reads through: each setter checks the value,
 * stores it, or writes a sentence saying what it must be into w and
 * returns -EINVAL.
 */
#ifndef FEVCONN_SETTING_H
#define FEVCONN_SETTING_H

#include <stddef.h>

/* group: a consumer group name by libfev's rule (fev_group_name_valid),
 * stored in dst of cap bytes. */
int fevconn_set_group(char *dst, size_t cap, const char *v, char *w,
		      size_t wl);

/* start: where a new group starts, earliest or latest (FEV_GROUP_*). */
int fevconn_set_start(int *dst, const char *v, char *w, size_t wl);

#endif /* FEVCONN_SETTING_H */
