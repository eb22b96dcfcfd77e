/*
 * The settings the connector configs share (fevconn_setting.h): one
 * definition, so instance, log_level, group, start and the plain value
 * kinds mean the same in fev-webhooks, fev-nats and fev-otel.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <fev/fev.h>

#include "fevconn_setting.h"
#include "fevini.h"
#include "log.h"

int fevconn_why(char *w, size_t wl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w, wl, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int fevconn_set_copy(char *dst, size_t cap, const char *key, const char *v,
		     char *w, size_t wl)
{
	size_t len = strlen(v);

	if (len >= cap)
		return fevconn_why(w, wl, "%s is longer than %zu bytes", key,
				   cap - 1);
	memcpy(dst, v, len + 1);
	return 0;
}

int fevconn_set_path(char *dst, size_t cap, const char *key, const char *v,
		     char *w, size_t wl)
{
	if (v[0] != '/')
		return fevconn_why(w, wl, "%s '%s' is not an absolute path",
				   key, v);
	return fevconn_set_copy(dst, cap, key, v, w, wl);
}

int fevconn_set_u32(uint32_t *dst, const char *key, const char *v,
		    uint32_t lo, uint32_t hi, char *w, size_t wl)
{
	if (fevini_parse_u32(v, dst) < 0 || *dst < lo || *dst > hi)
		return fevconn_why(w, wl, "%s '%s' is not a number in %u..%u",
				   key, v, lo, hi);
	return 0;
}

int fevconn_set_bool(bool *dst, const char *key, const char *v, char *w,
		     size_t wl)
{
	if (fevini_parse_bool(v, dst) < 0)
		return fevconn_why(w, wl,
				   "%s '%s' is not yes/no, true/false, on/off",
				   key, v);
	return 0;
}

int fevconn_set_instance(char *dst, size_t cap, const char *v, char *w,
			 size_t wl)
{
	if (fev_instance_name_valid(v) < 0)
		return fevconn_why(w, wl,
				   "instance '%s' is not an instance name "
				   "[A-Za-z0-9_-]{1,%d}",
				   v, FEV_INSTANCE_MAX);
	return fevconn_set_copy(dst, cap, "instance", v, w, wl);
}

int fevconn_set_log_level(int *dst, const char *v, char *w, size_t wl)
{
	int l = fevd_log_level_parse(v);

	if (l < 0)
		return fevconn_why(w, wl, "log_level '%s' is not error, "
					  "warning, notice, info or debug",
				   v);
	*dst = l;
	return 0;
}

int fevconn_set_group(char *dst, size_t cap, const char *v, char *w,
		      size_t wl)
{
	if (fev_group_name_valid(v) < 0)
		return fevconn_why(w, wl, "group '%s' is not a group name "
					  "[A-Za-z0-9._-]{1,%d}",
				   v, FEV_GROUP_NAME_MAX);
	return fevconn_set_copy(dst, cap, "group", v, w, wl);
}

int fevconn_set_start(int *dst, const char *v, char *w, size_t wl)
{
	if (strcmp(v, "earliest") == 0) {
		*dst = FEV_GROUP_EARLIEST;
		return 0;
	}
	if (strcmp(v, "latest") == 0) {
		*dst = FEV_GROUP_LATEST;
		return 0;
	}
	return fevconn_why(w, wl, "start '%s' is not earliest or latest", v);
}
