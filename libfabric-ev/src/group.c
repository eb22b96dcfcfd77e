#include "group.h"

#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <grp.h>
#include <stdint.h>
#include <stdlib.h>

/* getgr*_r buffer: large enough for groups with many members. */
#define GROUP_BUF_MAX (1 << 16)

static int lookup(const char *name, gid_t gid, bool by_name, gid_t *out)
{
	struct group gr, *res = NULL;
	char *buf = malloc(GROUP_BUF_MAX);
	int rc;

	if (buf == NULL)
		return -ENOMEM;
	rc = by_name ? getgrnam_r(name, &gr, buf, GROUP_BUF_MAX, &res) :
		       getgrgid_r(gid, &gr, buf, GROUP_BUF_MAX, &res);
	if (rc == 0 && res != NULL)
		*out = res->gr_gid;
	free(buf);
	return rc == 0 && res != NULL ? 0 : -ENOENT;
}

int fev__group_lookup(const char *s, gid_t *out)
{
	gid_t gid = 0;
	int rc;

	if (s == NULL || s[0] == '\0')
		return -EINVAL;
	if (isdigit((unsigned char)s[0])) {
		unsigned long long v = 0;

		for (const char *p = s; *p != '\0'; p++) {
			if (!isdigit((unsigned char)*p))
				return -EINVAL;
			v = v * 10 + (unsigned)(*p - '0');
			/* (gid_t)-1 means "no change" to fchown */
			if (v >= UINT32_MAX)
				return -ENOENT;
		}
		rc = lookup(NULL, (gid_t)v, false, &gid);
	} else {
		rc = lookup(s, 0, true, &gid);
	}
	if (rc == 0)
		*out = gid;
	return rc;
}

int fev__queue_group_parse(const char *s, gid_t *out)
{
	gid_t gid;
	int rc = fev__group_lookup(s, &gid);

	if (rc < 0)
		return rc;
	if (gid == 0)
		return -EPERM;
	*out = gid;
	return 0;
}

const char *fev__group_error(int err)
{
	switch (err) {
	case -EPERM:
		return "gid 0 cannot be given: a queue config reads group 0 "
		       "as the creator's group; leave the group out to keep "
		       "the creator's";
	case -EINVAL:
		return "not a group name or a decimal gid";
	case -ENOMEM:
		return "out of memory looking the group up";
	default:
		return "no such group on this machine";
	}
}
