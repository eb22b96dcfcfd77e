#include "queue_opts.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fev/fev.h"
#include "fevini.h"
#include "group.h"
#include "hops.h"
#include "layout.h"
#include "names.h"

/* The same refusal as the connectors' fevconn_why (fevconn_setting.h),
 * kept here: libfev links nothing of the connectors'. */
static int why_not(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int why_not(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int number(uint32_t *dst, const char *key, const char *value,
		  uint32_t lo, uint32_t hi, char *w, size_t wl)
{
	uint32_t v;
	int rc = fevini_parse_u32(value, &v);

	if (rc == -ERANGE || (rc == 0 && (v < lo || v > hi)))
		return why_not(w, wl, "%s '%s' out of range %u..%u", key,
			       value, lo, hi);
	if (rc < 0)
		return why_not(w, wl,
			       "%s '%s' is not a number (decimal, units K M G)",
			       key, value);
	*dst = v;
	return 0;
}

static int set_capacity(struct fev__queue_opts *o, const char *v, char *w,
			size_t wl)
{
	uint32_t c = 0;
	int rc = number(&c, "capacity", v, FEV__CAPACITY_MIN,
			FEV__CAPACITY_MAX, w, wl);

	if (rc == 0 && (c & (c - 1)) != 0)
		return why_not(w, wl, "capacity '%s' is not a power of two", v);
	if (rc == 0)
		o->capacity = c;
	return rc;
}

static int set_max_event(struct fev__queue_opts *o, const char *v, char *w,
			 size_t wl)
{
	return number(&o->max_event, "max_event", v, 0, FEV__MAX_EVENT_MAX, w,
		      wl);
}

static int set_attachers(struct fev__queue_opts *o, const char *v, char *w,
			 size_t wl)
{
	return number(&o->attachers, "attachers", v, 1, FEV__ATTACHERS_MAX, w,
		      wl);
}

static int set_partitions(struct fev__queue_opts *o, const char *v,
			  char *w, size_t wl)
{
	return number(&o->partitions, "partitions", v, 1, FEV_PARTITIONS_MAX,
		      w, wl);
}

static int set_policy(struct fev__queue_opts *o, const char *v, char *w,
		      size_t wl)
{
	int p = fev__policy_parse(v);

	if (p < 0)
		return why_not(w, wl, "policy '%s' is not " FEV__POLICY_NAMES,
			       v);
	o->policy = p;
	return 0;
}

/* Octal, at most 4 digits ("0660", "640"), nothing past 0777. */
static int set_mode(struct fev__queue_opts *o, const char *v, char *w,
		    size_t wl)
{
	unsigned long m;
	char *end;

	if (v[0] < '0' || v[0] > '7' || strlen(v) > 4)
		goto bad;
	errno = 0;
	m = strtoul(v, &end, 8);
	if (errno != 0 || *end != '\0' || m > 0777)
		goto bad;
	o->mode = (mode_t)m;
	return 0;
bad:
	return why_not(w, wl, "mode '%s' is not an octal mode like 0660", v);
}

static int set_group(struct fev__queue_opts *o, const char *v, char *w,
		     size_t wl)
{
	int rc = fev__queue_group_parse(v, &o->group);

	if (rc < 0)
		return why_not(w, wl, "group '%s': %s", v,
			       fev__group_error(rc));
	if (strlen(v) >= sizeof(o->group_name))
		return why_not(w, wl, "group '%s': names are at most %d bytes",
			       v, FEV__GROUP_NAME_MAX - 1);
	strcpy(o->group_name, v);
	return 0;
}

static int set_trace_hops(struct fev__queue_opts *o, const char *v,
			  char *w, size_t wl)
{
	return number(&o->trace_hops, "trace_hops", v, 0, FEV__HOPS_MAX, w,
		      wl);
}

/* producers/consumers = single|multi: the sync mode bit of one side. */
static int set_side(struct fev__queue_opts *o, const char *key,
		    const char *v, uint32_t bit, char *w, size_t wl)
{
	if (strcmp(v, "single") == 0)
		o->sync |= bit;
	else if (strcmp(v, "multi") == 0)
		o->sync &= ~bit;
	else
		return why_not(w, wl, "%s '%s' is not single or multi", key,
			       v);
	return 0;
}

static int set_producers(struct fev__queue_opts *o, const char *v, char *w,
			 size_t wl)
{
	return set_side(o, "producers", v, FEV_SYNC_SP, w, wl);
}

static int set_consumers(struct fev__queue_opts *o, const char *v, char *w,
			 size_t wl)
{
	return set_side(o, "consumers", v, FEV_SYNC_SC, w, wl);
}

static const struct {
	const char *key;
	int (*set)(struct fev__queue_opts *, const char *, char *, size_t);
} keys[] = {
	{ "capacity", set_capacity },     { "max_event", set_max_event },
	{ "attachers", set_attachers },   { "partitions", set_partitions },
	{ "policy", set_policy },         { "mode", set_mode },
	{ "group", set_group },           { "trace_hops", set_trace_hops },
	{ "producers", set_producers },   { "consumers", set_consumers },
};

int fev__queue_opt_set(struct fev__queue_opts *o, const char *key,
		       const char *value, char *why, size_t whylen)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(key, keys[i].key) == 0)
			return keys[i].set(o, value, why, whylen);
	return why_not(why, whylen,
		       "unknown queue key '%s' (" FEV__QUEUE_KEYS ")", key);
}

int fev__queue_opts_check(const struct fev__queue_opts *o, const char *queue,
			  char *why, size_t whylen)
{
	struct fev__geometry g;

	if (fev__geometry_compute(o->capacity, o->max_event,
				  o->attachers ? o->attachers :
						 FEV__ATTACHERS_DEFAULT,
				  &g) < 0)
		return why_not(why, whylen,
			       "queue '%s': capacity %u x max_event %u is too "
			       "large for one segment",
			       queue, o->capacity, o->max_event);
	if (o->sync != 0 && o->partitions > 1)
		return why_not(why, whylen,
			       "queue '%s': producers and consumers = single "
			       "are for queues, not topics (partitions): "
			       "consumer groups read with cursors of their own",
			       queue);
	if ((o->sync & FEV_SYNC_SC) && o->policy == FEV_POLICY_DROP_OLDEST)
		return why_not(why, whylen,
			       "queue '%s': consumers = single cannot have "
			       "policy drop-oldest (the producer would take "
			       "from the consumer's cursor): use block or "
			       "reject",
			       queue);
	return 0;
}

int fev__group_session_parse(const char *s, uint32_t *ms)
{
	uint64_t v;

	if (s != NULL && strcmp(s, "off") == 0) {
		*ms = FEV_GROUP_SESSION_OFF;
		return 0;
	}
	/* 0 would read as "the default", UINT32_MAX as "off". */
	if (s == NULL || fevini_parse_duration_ms(s, &v) < 0 || v == 0 ||
	    v >= FEV_GROUP_SESSION_OFF)
		return -EINVAL;
	*ms = (uint32_t)v;
	return 0;
}
