#include "msgid.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fnb_msgid(char *buf, size_t len, const char *instance,
	       const char *topic, uint64_t created_ns, uint32_t partition,
	       uint64_t id)
{
	snprintf(buf, len, "%s:%s:%" PRIu64 ":%" PRIu32 ":%" PRIu64, instance,
		 topic, created_ns, partition, id);
}

int fnb_msgid_event(const char *msgid, uint64_t *id)
{
	const char *p = msgid != NULL ? strrchr(msgid, ':') : NULL;
	char *end;

	if (p == NULL || p[1] < '0' || p[1] > '9')
		return -EINVAL;
	errno = 0;
	*id = strtoull(p + 1, &end, 10);
	return *end == '\0' && errno == 0 ? 0 : -EINVAL;
}
