#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fevconn_setting.h"
#include "fevini.h"
#include "olog.h"

/* The shared value rules (fevconn_setting.h), under this file's short
 * names. */
#define why fevconn_why
#define set_copy fevconn_set_copy
#define set_path fevconn_set_path

static void defaults(struct fot_config *c)
{
	memset(c, 0, sizeof(*c));
	c->batch_size = FOT_DEFAULT_BATCH;
	c->flush_ms = FOT_DEFAULT_FLUSH_MS;
	c->timeout_ms = FOT_DEFAULT_TIMEOUT_MS;
	c->retry_max_ms = FOT_DEFAULT_RETRY_MAX_MS;
	c->open_span_ms = FOT_DEFAULT_OPEN_SPAN_MS;
	c->start = FEV_GROUP_EARLIEST;
	c->log_level = FEVD_LOG_INFO;
	strcpy(c->state_file, FOT_DEFAULT_STATE);
	strcpy(c->status_file, FOT_DEFAULT_STATUS);
}

static int set_duration(uint64_t *dst, const char *key, const char *v,
			uint64_t lo, uint64_t hi, char *w, size_t wl)
{
	if (fevini_parse_duration_ms(v, dst) < 0 || *dst < lo || *dst > hi)
		return why(w, wl,
			   "%s '%s' is not a duration from %llu ms to %llu s, "
			   "like 250ms, 5s, 1m",
			   key, v, (unsigned long long)lo,
			   (unsigned long long)(hi / 1000));
	return 0;
}

/* "orders payments": each a topic name, at most FOT_TOPICS_MAX. */
static int set_topics(struct fot_config *c, const char *v, char *w, size_t wl)
{
	size_t n = 0;

	for (const char *p = v + strspn(v, " "); *p != '\0';
	     p += strspn(p, " ")) {
		size_t len = strcspn(p, " ");

		if (n == FOT_TOPICS_MAX)
			return why(w, wl, "topics: more than %d",
				   FOT_TOPICS_MAX);
		if (len > FEV_NAME_MAX)
			return why(w, wl, "topics: '%.*s' is not a topic name "
					  "[A-Za-z0-9._-]{1,%d}",
				   (int)len, p, FEV_NAME_MAX);
		memcpy(c->topics[n], p, len);
		c->topics[n][len] = '\0';
		if (fev_queue_name_valid(c->topics[n]) < 0)
			return why(w, wl, "topics: '%s' is not a topic name "
					  "[A-Za-z0-9._-]{1,%d}",
				   c->topics[n], FEV_NAME_MAX);
		n++;
		p += len;
	}
	c->ntopics = n;
	return 0;
}

static int otel_key(struct fot_config *c, const char *k, const char *v,
		    char *w, size_t wl)
{
	if (strcmp(k, "instance") == 0)
		return fevconn_set_instance(c->instance, sizeof(c->instance), v,
					    w, wl);
	if (strcmp(k, "endpoint") == 0) {
		if (strncmp(v, "http://", 7) != 0 &&
		    strncmp(v, "https://", 8) != 0)
			return why(w, wl, "endpoint '%s' is not an http:// or "
					  "https:// URL (an OTLP/HTTP "
					  "collector: http://HOST:4318/v1/"
					  "traces)",
				   v);
		return set_copy(c->endpoint, sizeof(c->endpoint), k, v, w, wl);
	}
	if (strcmp(k, "topics") == 0)
		return set_topics(c, v, w, wl);
	if (strcmp(k, "batch_size") == 0)
		return fevconn_set_u32(&c->batch_size, k, v, 1, FOT_BATCH_MAX,
				       w, wl);
	if (strcmp(k, "flush_interval") == 0)
		return set_duration(&c->flush_ms, k, v, 10, 60000, w, wl);
	if (strcmp(k, "timeout") == 0)
		return set_duration(&c->timeout_ms, k, v, 100, 300000, w, wl);
	if (strcmp(k, "retry_max") == 0)
		return set_duration(&c->retry_max_ms, k, v, 100, 3600000, w,
				    wl);
	if (strcmp(k, "open_span_timeout") == 0)
		return set_duration(&c->open_span_ms, k, v, 10, 86400000, w,
				    wl);
	if (strcmp(k, "start") == 0)
		return fevconn_set_start(&c->start, v, w, wl);
	if (strcmp(k, "state_file") == 0)
		return set_path(c->state_file, sizeof(c->state_file), k, v, w,
				wl);
	if (strcmp(k, "status_file") == 0)
		return set_path(c->status_file, sizeof(c->status_file), k, v,
				w, wl);
	if (strcmp(k, "log_level") == 0)
		return fevconn_set_log_level(&c->log_level, v, w, wl);
	return why(w, wl, "unknown key '%s' in [otel]", k);
}

/* An HTTP field name (RFC 9110 token); the value's control characters
 * are refused by fevini already. */
static int header_key(struct fot_config *c, const char *k, const char *v,
		      char *w, size_t wl)
{
	static const char tchar[] = "!#$%&'*+-.^_`|~";

	for (const char *p = k; *p != '\0'; p++)
		if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') &&
		    !(*p >= '0' && *p <= '9') && strchr(tchar, *p) == NULL)
			return why(w, wl, "header name '%s' is not an HTTP "
					  "field name",
				   k);
	if (strcasecmp(k, "content-type") == 0 ||
	    strcasecmp(k, "content-length") == 0)
		return why(w, wl, "header '%s' is fev-otel's own", k);
	if (c->nheaders == FOT_HEADERS_MAX)
		return why(w, wl, "more than %d headers", FOT_HEADERS_MAX);
	/* The value is not in the message: it may be a secret. */
	if ((size_t)snprintf(c->headers[c->nheaders], FOT_HEADER_MAX, "%s: %s",
			     k, v) >= FOT_HEADER_MAX)
		return why(w, wl, "header '%s' is longer than %d bytes", k,
			   FOT_HEADER_MAX - 1);
	c->nheaders++;
	return 0;
}

static int on_section(void *ctx, const struct fevini_section *s, char *w,
		      size_t wl)
{
	(void)ctx;
	if (strcmp(s->name, "otel") != 0 && strcmp(s->name, "headers") != 0)
		return why(w, wl, "unknown section [%s]: [otel] or [headers]",
			   s->name);
	if (s->nargs != 0)
		return why(w, wl, "[%s] takes no name", s->name);
	return 0;
}

static int on_key(void *ctx, const struct fevini_section *s, const char *k,
		  const char *v, char *w, size_t wl)
{
	if (strcmp(s->name, "otel") == 0)
		return otel_key(ctx, k, v, w, wl);
	return header_key(ctx, k, v, w, wl);
}

int fot_config_load(const char *path, struct fot_config *cfg, char *err,
		    size_t errlen)
{
	static const struct fevini_rules rules = {
		.section = on_section, .key = on_key,
	};
	static struct fot_config c; /* large: not on the stack */
	int rc;

	defaults(&c);
	rc = fevini_load(path, &rules, &c, err, errlen);
	if (rc == 0 && c.endpoint[0] == '\0') {
		snprintf(err, errlen,
			 "%s: [otel] has no endpoint = URL (an OTLP/HTTP "
			 "collector: http://HOST:4318/v1/traces)",
			 path);
		rc = -EINVAL;
	}
	if (rc == 0)
		*cfg = c;
	fot_config_free(&c);
	return rc;
}

void fot_config_free(struct fot_config *cfg)
{
	explicit_bzero(cfg->headers, sizeof(cfg->headers));
	cfg->nheaders = 0;
}
