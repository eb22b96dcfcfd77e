/*
 * The group settings both connector configs share (fevconn_setting.h): one
 * definition, so group and start mean the same in fev-webhooks and
 * fev-nats.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <fev/fev.h>

#include "fevconn_setting.h"

int fevconn_set_group(char *dst, size_t cap, const char *v, char *w,
		      size_t wl)
{
	if (fev_group_name_valid(v) < 0) {
		snprintf(w, wl, "group '%s' is not a group name "
				"[A-Za-z0-9._-]{1,%d}",
			 v, FEV_GROUP_NAME_MAX);
		return -EINVAL;
	}
	if (strlen(v) >= cap) {
		snprintf(w, wl, "group is longer than %zu bytes", cap - 1);
		return -EINVAL;
	}
	memcpy(dst, v, strlen(v) + 1);
	return 0;
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
	snprintf(w, wl, "start '%s' is not earliest or latest", v);
	return -EINVAL;
}
