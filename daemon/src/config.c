/*
 * fevd's config: what "[fabric]" and "[queue NAME]" sections and their keys
 * mean.  The file's syntax, duplicates and line numbers are fevini's (the
 * INI parser fevd shares with the connectors, common/ini/fevini.h); the
 * queue keys are also what a `create` request carries (control.c).
 */
#include "config.h"

#include <bsd/string.h>
#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fevini.h"
#include "group.h"
#include "hops.h"
#include "layout.h"
#include "log.h"
#include "metrics.h"
#include "names.h"
#include "queue_opts.h"

int fevd_parse_group(const char *s, gid_t *out)
{
	return fev__group_lookup(s, out);
}

void fevd_queue_conf_defaults(struct fevd_queue_conf *q)
{
	memset(q, 0, sizeof(*q));
	q->capacity = FEVD_DEFAULT_CAPACITY;
	q->max_event = FEVD_DEFAULT_MAX_EVENT;
	q->partitions = 1;
	q->policy = FEV_POLICY_BLOCK;
	q->mode = FEVD_DEFAULT_MODE;
	q->group = (gid_t)-1;
	q->trace_hops = FEV__HOPS_DEFAULT;
}

/* The same refusal as the connectors' fevconn_why (fevconn_setting.h),
 * kept here: fevd does not link the connector library. */
static int why(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int why(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/*
 * A queue's keys are the library's (queue_opts.h): the same parser and
 * sentences for this file, a `create` request and `fev queue create`.
 * fevd keeps the values in its own struct, next to the queue's name and
 * line, so they travel through a struct fev__queue_opts.
 */
static void opts_of(const struct fevd_queue_conf *q, struct fev__queue_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->capacity = q->capacity;
	o->max_event = q->max_event;
	o->attachers = q->attachers;
	o->partitions = q->partitions;
	o->policy = q->policy;
	o->mode = q->mode;
	o->group = q->group;
	o->trace_hops = q->trace_hops;
	o->sync = q->sync;
	strlcpy(o->group_name, q->group_name, sizeof(o->group_name));
}

static void conf_of(const struct fev__queue_opts *o, struct fevd_queue_conf *q)
{
	q->capacity = o->capacity;
	q->max_event = o->max_event;
	q->attachers = o->attachers;
	q->partitions = o->partitions;
	q->policy = o->policy;
	q->mode = o->mode;
	q->group = o->group;
	q->trace_hops = o->trace_hops;
	q->sync = o->sync;
	strlcpy(q->group_name, o->group_name, sizeof(q->group_name));
}

int fevd_queue_conf_set(struct fevd_queue_conf *q, const char *key,
			const char *value, char *w, size_t wl)
{
	struct fev__queue_opts o;
	int rc;

	opts_of(q, &o);
	rc = fev__queue_opt_set(&o, key, value, w, wl);
	if (rc == 0)
		conf_of(&o, q);
	/* Partitions given: a topic, of one partition too (with groups). */
	if (rc == 0 && strcmp(key, "partitions") == 0)
		q->topic = true;
	return rc;
}

int fevd_queue_conf_check(const struct fevd_queue_conf *q, char *w,
			  size_t wl)
{
	struct fev__queue_opts o;

	opts_of(q, &o);
	/* A topic of one partition too: its partition has groups. */
	if (q->topic && o.partitions < 2)
		o.partitions = 2;
	return fev__queue_opts_check(&o, q->name, w, wl);
}

/* ---- the file (read by fevini, the daemons' one INI parser) ---------- */

static struct fevd_queue_conf *current_queue(struct fevd_config *c)
{
	return &c->queues[c->nqueues - 1];
}

static int open_queue(struct fevd_config *c, const char *name,
		      unsigned line, char *w, size_t wl)
{
	struct fevd_queue_conf *grown, *q;

	if (fev_queue_name_valid(name) < 0)
		return why(w, wl,
			   "bad queue name '%s' (1-63 of A-Z a-z 0-9 . _ -)",
			   name);
	/* fevini tells [queue q] twice; [queue q] and [topic q] are ours. */
	for (size_t i = 0; i < c->nqueues; i++)
		if (strcmp(c->queues[i].name, name) == 0)
			return why(w, wl,
				   "queue '%s' already defined on line %u",
				   name, c->queues[i].line);
	grown = realloc(c->queues, (c->nqueues + 1) * sizeof(*grown));
	if (grown == NULL)
		return -ENOMEM;
	c->queues = grown;
	q = &c->queues[c->nqueues++];
	fevd_queue_conf_defaults(q);
	strlcpy(q->name, name, sizeof(q->name));
	q->line = line;
	return 0;
}

/* [group TOPIC NAME] */
static int open_group(struct fevd_config *c, const struct fevini_section *s,
		      char *w, size_t wl)
{
	struct fevd_group_conf *grown, *g;

	if (s->nargs != 2)
		return why(w, wl, "[group] needs a topic and a name: "
				  "[group TOPIC NAME]");
	if (fev_queue_name_valid(s->args[0]) < 0 ||
	    fev_group_name_valid(s->args[1]) < 0)
		return why(w, wl,
			   "bad topic or group name in [group %s %s] (topics "
			   "1-63, groups 1-31 of A-Z a-z 0-9 . _ -)",
			   s->args[0], s->args[1]);
	grown = realloc(c->groups, (c->ngroups + 1) * sizeof(*grown));
	if (grown == NULL)
		return -ENOMEM;
	c->groups = grown;
	g = &c->groups[c->ngroups++];
	memset(g, 0, sizeof(*g));
	strlcpy(g->topic, s->args[0], sizeof(g->topic));
	strlcpy(g->name, s->args[1], sizeof(g->name));
	g->start = FEV_GROUP_LATEST;
	g->policy = FEV_GROUP_BLOCK;
	g->mode = FEV_GROUP_SHARED;
	g->line = s->line;
	return 0;
}

static int group_key(struct fevd_config *c, const char *key, const char *v,
		     char *w, size_t wl)
{
	struct fevd_group_conf *g = &c->groups[c->ngroups - 1];

	if (strcmp(key, "mode") == 0) {
		g->mode = fev__group_mode_parse(v);
		if (g->mode < 0)
			return why(w, wl, "mode '%s' is not "
					  FEV__GROUP_MODE_NAMES, v);
		return 0;
	}
	if (strcmp(key, "session_timeout") == 0)
		return fev__group_session_parse(v, &g->session_timeout_ms) == 0 ?
			       0 :
			       why(w, wl, "session_timeout '%s' is not "
					  FEV__GROUP_SESSION_SYNTAX, v);
	if (strcmp(key, "policy") == 0) {
		g->policy = fev__group_policy_parse(v);
		return g->policy >= 0 ?
			       0 :
			       why(w, wl, "policy '%s' is not "
					  FEV__GROUP_POLICY_NAMES, v);
	}
	if (strcmp(key, "start") != 0)
		return why(w, wl, "unknown key '%s' in [group %s %s]", key,
			   g->topic, g->name);
	if (strcmp(v, "latest") == 0)
		g->start = FEV_GROUP_LATEST;
	else if (strcmp(v, "earliest") == 0)
		g->start = FEV_GROUP_EARLIEST;
	else
		return why(w, wl, "start '%s' is not latest or earliest", v);
	return 0;
}

/* [fabric], [queue NAME] or [topic NAME]: fevini has refused a second
 * one of the same kind already. */
static int on_section(void *ctx, const struct fevini_section *s, char *w,
		      size_t wl)
{
	if (strcmp(s->name, "fabric") == 0)
		return s->nargs == 0 ? 0 :
				       why(w, wl, "[fabric] takes no name");
	if (strcmp(s->name, "queue") == 0) {
		if (s->nargs != 1)
			return why(w, wl,
				   "[queue] needs a name: [queue NAME]");
		return open_queue(ctx, s->args[0], s->line, w, wl);
	}
	if (strcmp(s->name, "group") == 0)
		return open_group(ctx, s, w, wl);
	/* A queue is a topic of one partition: one section kind for both. */
	if (strcmp(s->name, "topic") == 0) {
		int rc;

		if (s->nargs != 1)
			return why(w, wl,
				   "[topic] needs a name: [topic NAME]");
		rc = open_queue(ctx, s->args[0], s->line, w, wl);
		if (rc == 0)
			current_queue(ctx)->topic = true;
		return rc;
	}
	return why(w, wl,
		   "unknown section [%s] (expected [fabric], [queue NAME], "
		   "[topic NAME] or [group TOPIC NAME])",
		   s->name);
}

static int fabric_key(struct fevd_config *c, const char *key, const char *v,
		      char *w, size_t wl)
{
	if (strcmp(key, "instance") == 0) {
		if (fev_instance_name_valid(v) < 0)
			return why(w, wl,
				   "bad instance name '%s' (1-31 of A-Z a-z "
				   "0-9 _ -, no dots)",
				   v);
		strlcpy(c->instance, v, sizeof(c->instance));
	} else if (strcmp(key, "control_socket") == 0) {
		if (v[0] != '/' ||
		    strlcpy(c->control_socket, v, sizeof(c->control_socket)) >=
			    sizeof(c->control_socket))
			return why(w, wl,
				   "control_socket must be an absolute path "
				   "shorter than %zu bytes",
				   sizeof(c->control_socket));
	} else if (strcmp(key, "pidfile") == 0) {
		if (v[0] != '/' ||
		    strlcpy(c->pidfile, v, sizeof(c->pidfile)) >=
			    sizeof(c->pidfile))
			return why(w, wl, "pidfile must be an absolute path");
	} else if (strcmp(key, "log_level") == 0) {
		int l = fevd_log_level_parse(v);

		if (l < 0)
			return why(w, wl,
				   "log_level '%s' is not debug, info, "
				   "notice, warning or error",
				   v);
		c->log_level = l;
	} else if (strcmp(key, "unlink_on_exit") == 0) {
		if (fevini_parse_bool(v, &c->unlink_on_exit) < 0)
			return why(w, wl, "unlink_on_exit '%s' is not yes or no",
				   v);
	} else if (strcmp(key, "admin_group") == 0) {
		int rc = fevd_parse_group(v, &c->admin_gid);

		if (rc < 0)
			return why(w, wl, "admin_group '%s': %s", v,
				   fev__group_error(rc));
		c->has_admin_group = true;
		strlcpy(c->admin_group, v, sizeof(c->admin_group));
	} else if (strcmp(key, "trusted_uids") == 0) {
		char e[160];

		if (fev__trusted_uids_parse(v, c->trusted_uids,
					    &c->ntrusted_uids, e,
					    sizeof(e)) < 0)
			return why(w, wl, "trusted_uids: %s", e);
	} else if (strcmp(key, "metrics_listen") == 0) {
		struct sockaddr_storage ss;
		socklen_t len;

		/* the sentence is the parser's; it refuses what does not
		 * fit metrics_listen[] */
		if (fevd_metrics_listen_parse(v, &ss, &len, w, wl) < 0)
			return -EINVAL;
		strlcpy(c->metrics_listen, v, sizeof(c->metrics_listen));
	} else {
		return why(w, wl, "unknown key '%s' in [fabric]", key);
	}
	return 0;
}

static int on_key(void *ctx, const struct fevini_section *s, const char *key,
		  const char *value, char *w, size_t wl)
{
	struct fevd_config *c = ctx;

	if (strcmp(s->name, "fabric") == 0)
		return fabric_key(c, key, value, w, wl);
	if (strcmp(s->name, "group") == 0)
		return group_key(c, key, value, w, wl);
	return fevd_queue_conf_set(current_queue(c), key, value, w, wl);
}

/* A [queue NAME] or [topic NAME] is whole: does it fit in one segment? */
static int on_end(void *ctx, const struct fevini_section *s, char *w,
		  size_t wl)
{
	if (strcmp(s->name, "queue") != 0 && strcmp(s->name, "topic") != 0)
		return 0;
	return fevd_queue_conf_check(current_queue(ctx), w, wl);
}

static const struct fevini_rules config_rules = {
	.section = on_section,
	.key = on_key,
	.end = on_end,
};

static void config_init(struct fevd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strlcpy(cfg->instance, "default", sizeof(cfg->instance));
	cfg->log_level = FEVD_LOG_INFO;
}

/* Parse text, or the file at path when text is NULL; all or nothing. */
static int config_read(const char *text, const char *source,
		       struct fevd_config *out, char *err, size_t errlen)
{
	struct fevd_config cfg;
	int rc;

	config_init(&cfg);
	rc = text != NULL ? fevini_parse(text, source, &config_rules, &cfg,
					 err, errlen) :
			    fevini_load(source, &config_rules, &cfg, err,
					errlen);
	if (rc < 0) {
		fevd_config_free(&cfg);
		return rc;
	}
	*out = cfg;
	return 0;
}

int fevd_config_parse(const char *text, const char *source,
		      struct fevd_config *out, char *err, size_t errlen)
{
	return config_read(text, source, out, err, errlen);
}

int fevd_config_load(const char *path, struct fevd_config *cfg, char *err,
		     size_t errlen)
{
	return config_read(NULL, path, cfg, err, errlen);
}

int fevd_config_default(struct fevd_config *cfg)
{
	static const char text[] = "[fabric]\n"
				   "instance = default\n"
				   "[queue events]\n"
				   "capacity = 4096\n"
				   "max_event = 1024\n"
				   "policy = block\n"
				   "mode = 0660\n";
	char err[FEVD_ERR_MAX];

	return fevd_config_parse(text, "(embedded default)", cfg, err,
				 sizeof(err));
}

void fevd_config_free(struct fevd_config *cfg)
{
	free(cfg->queues);
	cfg->queues = NULL;
	cfg->nqueues = 0;
	free(cfg->groups);
	cfg->groups = NULL;
	cfg->ngroups = 0;
}

const struct fevd_queue_conf *fevd_config_find(const struct fevd_config *cfg,
					       const char *queue)
{
	for (size_t i = 0; i < cfg->nqueues; i++)
		if (strcmp(cfg->queues[i].name, queue) == 0)
			return &cfg->queues[i];
	return NULL;
}
