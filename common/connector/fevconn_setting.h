/*
 * The INI value rules the connector configs (fev-webhooks, fev-nats,
 * fev-otel) share: each setter checks the value, stores it, or writes a
 * sentence saying what it must be into w and returns -EINVAL.  One
 * definition, so a key the connectors have in common means the same and
 * is refused with the same sentence in each.
 */
#ifndef FEVCONN_SETTING_H
#define FEVCONN_SETTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Write the sentence fmt makes into w and return -EINVAL: the refusal
 * every setter ends in.  (fevd's config.c and libfev's queue_opts.c keep
 * their own copy: those libraries do not link this one.) */
int fevconn_why(char *w, size_t wl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A string of at most cap - 1 bytes, copied into dst. */
int fevconn_set_copy(char *dst, size_t cap, const char *key, const char *v,
		     char *w, size_t wl);

/* An absolute path of at most cap - 1 bytes. */
int fevconn_set_path(char *dst, size_t cap, const char *key, const char *v,
		     char *w, size_t wl);

/* A decimal number in lo..hi (fevini_parse_u32). */
int fevconn_set_u32(uint32_t *dst, const char *key, const char *v,
		    uint32_t lo, uint32_t hi, char *w, size_t wl);

/* yes/no, true/false, on/off (fevini_parse_bool). */
int fevconn_set_bool(bool *dst, const char *key, const char *v, char *w,
		     size_t wl);

/* instance: a fev instance name by libfev's rule (fev_instance_name_valid),
 * stored in dst of cap bytes. */
int fevconn_set_instance(char *dst, size_t cap, const char *v, char *w,
			 size_t wl);

/* log_level: fevd's levels (fevd_log_level_parse), FEVD_LOG_* in dst. */
int fevconn_set_log_level(int *dst, const char *v, char *w, size_t wl);

/* group: a consumer group name by libfev's rule (fev_group_name_valid),
 * stored in dst of cap bytes. */
int fevconn_set_group(char *dst, size_t cap, const char *v, char *w,
		      size_t wl);

/* start: where a new group starts, earliest or latest (FEV_GROUP_*). */
int fevconn_set_start(int *dst, const char *v, char *w, size_t wl);

#endif /* FEVCONN_SETTING_H */
