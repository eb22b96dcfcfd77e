#include "url.h"

#include <stdio.h>
#include <string.h>

const char *fnb_url_shown(const char *url, char *buf, size_t len)
{
	const char *sep = strstr(url, "://");
	const char *host = sep != NULL ? sep + 3 : url;
	size_t authority = strcspn(host, "/?#");
	const char *at = NULL;

	/* The last '@' of the authority: a password may hold '@' itself. */
	for (const char *p = host; p < host + authority; p++)
		if (*p == '@')
			at = p;
	if (at == NULL)
		snprintf(buf, len, "%s", url);
	else
		snprintf(buf, len, "%.*s***%s", (int)(host - url), url, at);
	return buf;
}
