#include "url.h"

#include <stdio.h>
#include <string.h>

/* The last '@' of url's authority (a password may hold '@' itself), or
 * NULL; *host is where the authority starts, *end where it ends. */
static const char *userinfo_end(const char *url, const char **host,
				const char **end)
{
	const char *sep = strstr(url, "://");
	const char *at = NULL;

	*host = sep != NULL ? sep + 3 : url;
	*end = *host + strcspn(*host, "/?#");
	for (const char *p = *host; p < *end; p++)
		if (*p == '@')
			at = p;
	return at;
}

const char *fnb_url_host(const char *url, char *buf, size_t len)
{
	const char *host, *end;
	const char *at = userinfo_end(url, &host, &end);
	size_t n;

	if (at != NULL)
		host = at + 1;
	if (*host == '[') { /* [IPv6]:port */
		host++;
		n = strcspn(host, "]");
	} else {
		n = strcspn(host, ":");
	}
	if (host + n > end)
		n = (size_t)(end - host);
	snprintf(buf, len, "%.*s", (int)n, host);
	return buf;
}

const char *fnb_url_shown(const char *url, char *buf, size_t len)
{
	const char *host, *end;
	const char *at = userinfo_end(url, &host, &end);

	(void)end;
	if (at == NULL)
		snprintf(buf, len, "%s", url);
	else
		snprintf(buf, len, "%.*s***%s", (int)(host - url), url, at);
	return buf;
}
