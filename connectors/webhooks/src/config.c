#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fevconn_setting.h"
#include "fevini.h"
#include "source.h"
#include "wlog.h"

/* The shared value rules (fevconn_setting.h), under this file's short
 * names. */
#define why fevconn_why
#define set_copy fevconn_set_copy
#define set_bool fevconn_set_bool
#define set_u32 fevconn_set_u32

struct parse {
	struct fwh_config *cfg;
	struct fwh_endpoint_conf *ep; /* the section being read, or NULL */
	bool secret_given;
};

static void defaults(struct fwh_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->log_level = FEVD_LOG_INFO;
	cfg->jitter_pct = FWH_DEFAULT_JITTER_PCT;
	cfg->disable_after_ms = FWH_DEFAULT_DISABLE_AFTER_MS;
	cfg->retention_ms = FWH_DEFAULT_RETENTION_MS;
}

/* "5s 5m 30m": each a fevini duration, at most FWH_SCHEDULE_MAX. */
static int set_schedule(struct fwh_config *cfg, const char *v, char *w,
			size_t wl)
{
	char word[32];
	size_t n = 0;

	for (const char *p = v + strspn(v, " "); *p != '\0';
	     p += strspn(p, " ")) {
		size_t len = strcspn(p, " ");

		if (len >= sizeof(word))
			return why(w, wl, "retry_schedule: '%.*s' is not a "
					  "duration like 5s, 5m, 2h",
				   (int)len, p);
		memcpy(word, p, len);
		word[len] = '\0';
		if (n == FWH_SCHEDULE_MAX)
			return why(w, wl,
				   "retry_schedule: more than %d delays",
				   FWH_SCHEDULE_MAX);
		if (fevini_parse_duration_ms(word, &cfg->schedule_ms[n]) < 0)
			return why(w, wl,
				   "retry_schedule: '%s' is not a duration "
				   "like 250ms, 5s, 5m, 2h, 1d",
				   word);
		n++;
		p += len;
	}
	cfg->nschedule = n;
	return 0;
}

static int set_duration(uint64_t *dst, const char *key, const char *v,
			uint64_t lo, char *w, size_t wl)
{
	if (fevini_parse_duration_ms(v, dst) < 0 || *dst < lo)
		return why(w, wl,
			   "%s '%s' is not a duration (at least %llu ms) like "
			   "250ms, 15s, 5m, 2h, 5d",
			   key, v, (unsigned long long)lo);
	return 0;
}

static int global_key(struct fwh_config *cfg, const char *k, const char *v,
		      char *w, size_t wl)
{
	if (strcmp(k, "instance") == 0)
		return fevconn_set_instance(cfg->instance,
					    sizeof(cfg->instance), v, w, wl);
	if (strcmp(k, "database") == 0)
		return fevconn_set_path(cfg->database, sizeof(cfg->database),
					k, v, w, wl);
	if (strcmp(k, "log_level") == 0)
		return fevconn_set_log_level(&cfg->log_level, v, w, wl);
	if (strcmp(k, "retry_schedule") == 0)
		return set_schedule(cfg, v, w, wl);
	if (strcmp(k, "jitter") == 0) {
		size_t len = strlen(v);
		char num[16];

		if (len < 2 || len >= sizeof(num) || v[len - 1] != '%')
			return why(w, wl, "jitter '%s' is not a percentage "
					  "like 20%%",
				   v);
		memcpy(num, v, len - 1);
		num[len - 1] = '\0';
		return set_u32(&cfg->jitter_pct, k, num, 0, 100, w, wl);
	}
	if (strcmp(k, "disable_after") == 0)
		return set_duration(&cfg->disable_after_ms, k, v, 1, w, wl);
	if (strcmp(k, "retention") == 0)
		return set_duration(&cfg->retention_ms, k, v, 0, w, wl);
	return why(w, wl, "unknown key '%s' in [webhooks]", k);
}

static int endpoint_key(struct parse *p, const char *k, const char *v,
			char *w, size_t wl)
{
	struct fwh_endpoint_conf *e = p->ep;

	if (strcmp(k, "url") == 0) {
		if (strncmp(v, "http://", 7) != 0 &&
		    strncmp(v, "https://", 8) != 0)
			return why(w, wl,
				   "url '%s' is not an http:// or https:// URL",
				   v);
		return set_copy(e->url, sizeof(e->url), k, v, w, wl);
	}
	if (strcmp(k, "queue") == 0)
		return why(w, wl, FWH_QUEUE_REFUSED, v, v);
	if (strcmp(k, "topic") == 0) {
		if (fev_queue_name_valid(v) < 0)
			return why(w, wl,
				   "topic '%s' is not a topic name "
				   "[A-Za-z0-9._-]{1,63}",
				   v);
		return set_copy(e->topic, sizeof(e->topic), k, v, w, wl);
	}
	if (strcmp(k, "secret") == 0 || strcmp(k, "secret_file") == 0) {
		char sw[256];
		int rc;

		if (p->secret_given)
			return why(w, wl, "give secret or secret_file, not "
					  "both (rotation: several secrets "
					  "in one value)");
		p->secret_given = true;
		rc = strcmp(k, "secret") == 0 ?
			     fwh_secrets_parse(v, e->secrets, &e->nsecrets, sw,
					       sizeof(sw)) :
			     fwh_secrets_load(v, e->secrets, &e->nsecrets, sw,
					      sizeof(sw));
		if (rc < 0)
			why(w, wl, "%s: %s", k, sw);
		return rc;
	}
	if (strcmp(k, "group") == 0)
		return fevconn_set_group(e->group, sizeof(e->group), v, w, wl);
	if (strcmp(k, "start") == 0)
		return fevconn_set_start(&e->start, v, w, wl);
	if (strcmp(k, "types") == 0)
		return set_copy(e->types, sizeof(e->types), k, v, w, wl);
	if (strcmp(k, "timeout") == 0) {
		uint64_t ms;
		int rc = set_duration(&ms, k, v, 1, w, wl);

		if (rc == 0 && ms > 300000)
			return why(w, wl, "timeout '%s' is over 5m", v);
		e->timeout_ms = (uint32_t)ms;
		return rc;
	}
	if (strcmp(k, "max_in_flight") == 0)
		return set_u32(&e->max_in_flight, k, v, 1,
			       FWH_MAX_IN_FLIGHT_MAX, w, wl);
	if (strcmp(k, "rate_limit") == 0)
		return set_u32(&e->rate_per_s, k, v, 0, 1000000, w, wl);
	if (strcmp(k, "ordered") == 0)
		return set_bool(&e->ordered, k, v, w, wl);
	if (strcmp(k, "allow_private") == 0)
		return set_bool(&e->allow_private, k, v, w, wl);
	return why(w, wl, "unknown key '%s' in [endpoint %s]", k, e->name);
}

static int on_section(void *ctx, const struct fevini_section *s, char *w,
		      size_t wl)
{
	struct parse *p = ctx;
	struct fwh_endpoint_conf *grown, *e;

	p->ep = NULL;
	if (strcmp(s->name, "webhooks") == 0) {
		if (s->nargs != 0)
			return why(w, wl, "[webhooks] takes no name");
		return 0;
	}
	if (strcmp(s->name, "endpoint") != 0)
		return why(w, wl, "unknown section [%s]: [webhooks] or "
				  "[endpoint NAME]",
			   s->name);
	if (s->nargs != 1 || fev_queue_name_valid(s->args[0]) < 0)
		return why(w, wl, "[endpoint NAME]: NAME is one word "
				  "[A-Za-z0-9._-]{1,63}");
	grown = realloc(p->cfg->endpoints,
			(p->cfg->nendpoints + 1) * sizeof(*grown));
	if (grown == NULL)
		return -ENOMEM;
	p->cfg->endpoints = grown;
	e = &grown[p->cfg->nendpoints++];
	memset(e, 0, sizeof(*e));
	memcpy(e->name, s->args[0], strlen(s->args[0]) + 1);
	e->timeout_ms = FWH_DEFAULT_TIMEOUT_MS;
	e->max_in_flight = FWH_DEFAULT_MAX_IN_FLIGHT;
	e->start = FWH_DEFAULT_START;
	e->line = s->line;
	p->ep = e;
	p->secret_given = false;
	return 0;
}

static int on_key(void *ctx, const struct fevini_section *s, const char *k,
		  const char *v, char *w, size_t wl)
{
	struct parse *p = ctx;

	if (strcmp(s->name, "webhooks") == 0)
		return global_key(p->cfg, k, v, w, wl);
	return endpoint_key(p, k, v, w, wl);
}

static int on_end(void *ctx, const struct fevini_section *s, char *w,
		  size_t wl)
{
	struct parse *p = ctx;
	struct fwh_endpoint_conf *e = p->ep;

	if (strcmp(s->name, "endpoint") != 0 || e == NULL)
		return 0;
	if (e->url[0] == '\0')
		return why(w, wl, "[endpoint %s] has no url", e->name);
	if (e->topic[0] == '\0')
		return why(w, wl, "[endpoint %s] has no topic", e->name);
	if (e->group[0] == '\0' &&
	    (size_t)snprintf(e->group, sizeof(e->group), "%s%s",
			     FWH_DEFAULT_GROUP_PREFIX,
			     e->name) >= sizeof(e->group))
		return why(w, wl,
			   "[endpoint %s]: the name is too long for the "
			   "default group '" FWH_DEFAULT_GROUP_PREFIX "%s' "
			   "(at most %d characters): add group = NAME",
			   e->name, e->name, FEV_GROUP_NAME_MAX);
	if (e->nsecrets == 0)
		return why(w, wl,
			   "[endpoint %s] has no secret: add secret = whsec_... "
			   "or secret_file = PATH",
			   e->name);
	return 0;
}

int fwh_config_load(const char *path, struct fwh_config *cfg, char *err,
		    size_t errlen)
{
	static const struct fevini_rules rules = {
		.section = on_section, .key = on_key, .end = on_end,
	};
	struct fwh_config c;
	struct parse p = { .cfg = &c };
	char w[FWH_ERR_MAX];
	int rc;

	defaults(&c);
	rc = set_schedule(&c, FWH_DEFAULT_SCHEDULE, w, sizeof(w));
	if (rc == 0)
		rc = fevini_load(path, &rules, &p, err, errlen);
	if (rc == 0 && c.database[0] == '\0')
		rc = -EINVAL, snprintf(err, errlen,
				       "%s: [webhooks] has no database = PATH "
				       "(the retry and dead-letter store)",
				       path);
	if (rc < 0) {
		fwh_config_free(&c);
		return rc;
	}
	*cfg = c;
	return 0;
}

void fwh_config_free(struct fwh_config *cfg)
{
	if (cfg->endpoints != NULL)
		explicit_bzero(cfg->endpoints,
			       cfg->nendpoints * sizeof(*cfg->endpoints));
	free(cfg->endpoints);
	cfg->endpoints = NULL;
	cfg->nendpoints = 0;
}

bool fwh_endpoint_wants(const struct fwh_endpoint_conf *e, const char *type,
			size_t type_len)
{
	const char *p = e->types;

	if (p[0] == '\0')
		return true;
	for (p += strspn(p, " "); *p != '\0'; p += strspn(p, " ")) {
		size_t len = strcspn(p, " ");

		/* "order.*" takes every type that begins "order." */
		if (len > 0 && p[len - 1] == '*' && type_len >= len - 1 &&
		    memcmp(type, p, len - 1) == 0)
			return true;
		if (len == type_len && memcmp(type, p, len) == 0)
			return true;
		p += len;
	}
	return false;
}
