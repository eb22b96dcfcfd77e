/* The Prometheus exposition of fev's queues (fevprom.h). */
#include "fevprom.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

enum metric_kind { GAUGE, COUNTER };

struct metric {
	const char *name, *help;
	enum metric_kind kind;
	double (*value)(const struct fevprom_queue *q);
};

#define STAT_GETTER(field)                                            \
	static double m_##field(const struct fevprom_queue *q)        \
	{                                                             \
		return (double)q->st.field;                           \
	}
STAT_GETTER(capacity)
STAT_GETTER(max_event)
STAT_GETTER(depth)
STAT_GETTER(enqueued)
STAT_GETTER(dequeued)
STAT_GETTER(dropped)
STAT_GETTER(redelivered)
STAT_GETTER(tombstoned)
STAT_GETTER(full_waits)
STAT_GETTER(sleeps)
STAT_GETTER(wakes)
STAT_GETTER(producers)
STAT_GETTER(consumers)
STAT_GETTER(sleepers)

static double m_segment(const struct fevprom_queue *q)
{
	return (double)q->segment_bytes;
}

static double m_claim_age(const struct fevprom_queue *q)
{
	return q->oldest_claim_age_s;
}

static const struct metric metrics[] = {
	{ "capacity_events", "Events the queue can hold.", GAUGE, m_capacity },
	{ "max_event_bytes", "Largest event payload the queue takes.", GAUGE,
	  m_max_event },
	{ "segment_bytes", "Size of the queue's shared-memory segment.", GAUGE,
	  m_segment },
	{ "depth_events", "Events queued or in flight.", GAUGE, m_depth },
	{ "enqueued_events_total", "Events committed by producers.", COUNTER,
	  m_enqueued },
	{ "dequeued_events_total", "Events released by consumers.", COUNTER,
	  m_dequeued },
	{ "dropped_events_total",
	  "Events discarded by the drop-oldest policy.", COUNTER, m_dropped },
	{ "redelivered_events_total",
	  "Events delivered again after their consumer died.", COUNTER,
	  m_redelivered },
	{ "tombstoned_events_total",
	  "Positions a dead producer reserved and never committed.", COUNTER,
	  m_tombstoned },
	{ "full_waits_total", "Times a producer found the queue full.",
	  COUNTER, m_full_waits },
	{ "sleeps_total", "Futex sleeps by producers and consumers.", COUNTER,
	  m_sleeps },
	{ "wakes_total", "Futex wake calls.", COUNTER, m_wakes },
	{ "producers", "Attached producers.", GAUGE, m_producers },
	{ "consumers", "Attached consumers.", GAUGE, m_consumers },
	{ "sleepers", "Processes asleep waiting on the queue.", GAUGE,
	  m_sleepers },
	{ "oldest_claim_age_seconds",
	  "How long the oldest in-flight claim has been held (0: none).",
	  GAUGE, m_claim_age },
};

static void add(struct fevprom_text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void add(struct fevprom_text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->failed)
		return;
	for (;;) {
		size_t room = t->cap - t->len;

		va_start(ap, fmt);
		n = vsnprintf(t->p ? t->p + t->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->failed = true;
			return;
		}
		if ((size_t)n < room) {
			t->len += (size_t)n;
			return;
		}
		size_t cap = t->cap ? t->cap * 2 : 4096;
		while (cap - t->len <= (size_t)n)
			cap *= 2;
		char *grown = realloc(t->p, cap);

		if (grown == NULL) {
			t->failed = true;
			return;
		}
		t->p = grown;
		t->cap = cap;
	}
}

static void labels(struct fevprom_text *t, const char *instance,
		   const struct fevprom_queue *q)
{
	add(t, "{fabric=\"%s\",queue=\"%s\"}", instance, q->name);
}

void fevprom_render(struct fevprom_text *t, const char *instance,
		    bool fevd_up, const struct fevprom_queue *q, size_t n)
{
	add(t, "# HELP fev_fevd_up Whether fevd answers on the control "
	       "socket of the fabric (1) or not (0).\n"
	       "# TYPE fev_fevd_up gauge\n"
	       "fev_fevd_up{fabric=\"%s\"} %d\n",
	    instance, fevd_up);
	add(t, "# HELP fev_queue_readable Whether the queue's segment could "
	       "be read (1) or not (0).\n"
	       "# TYPE fev_queue_readable gauge\n");
	for (size_t i = 0; i < n; i++) {
		add(t, "fev_queue_readable");
		labels(t, instance, &q[i]);
		add(t, " %d\n", q[i].readable);
	}
	for (size_t m = 0; m < sizeof(metrics) / sizeof(metrics[0]); m++) {
		add(t, "# HELP fev_queue_%s %s\n# TYPE fev_queue_%s %s\n",
		    metrics[m].name, metrics[m].help, metrics[m].name,
		    metrics[m].kind == GAUGE ? "gauge" : "counter");
		for (size_t i = 0; i < n; i++) {
			if (!q[i].readable)
				continue;
			add(t, "fev_queue_%s", metrics[m].name);
			labels(t, instance, &q[i]);
			add(t, " %.17g\n", metrics[m].value(&q[i]));
		}
	}
}

void fevprom_text_free(struct fevprom_text *t)
{
	free(t->p);
	*t = (struct fevprom_text){ 0 };
}

/* ---- consumer groups ---------------------------------------------------- */

struct group_metric {
	const char *name, *help;
	enum metric_kind kind;
	double (*value)(const struct fevprom_group *g);
};

#define GROUP_GETTER(field)                                           \
	static double g_##field(const struct fevprom_group *g)        \
	{                                                             \
		return (double)g->field;                              \
	}
GROUP_GETTER(lag)
GROUP_GETTER(redelivered)
GROUP_GETTER(dropped)
GROUP_GETTER(revoked)
GROUP_GETTER(members)

static const struct group_metric group_metrics[] = {
	{ "lag_events",
	  "Events of the partition the group has not released (queued for it "
	  "or held by a member).",
	  GAUGE, g_lag },
	{ "redelivered_events_total",
	  "Events delivered again to the group after a member died.", COUNTER,
	  g_redelivered },
	{ "dropped_events_total",
	  "Events the group lost to the drop policy (its next one says FEV_GAP).",
	  COUNTER, g_dropped },
	{ "members", "Consumers of the group attached to the partition.", GAUGE,
	  g_members },
	{ "revoked_partitions_total",
	  "Times the partition was taken from a member of the group that made "
	  "no call for the session timeout.",
	  COUNTER, g_revoked },
};

#define OWNER_GENERATION "fev_group_partition_owner_generation"
#define OWNER_INFO "fev_group_partition_owner_info"

static bool any_ordered(const struct fevprom_group *g, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (g[i].ordered)
			return true;
	return false;
}

/* A pid as a label value: "" for none (0). */
static void pid_label(char *buf, size_t size, int32_t pid)
{
	if (pid != 0)
		snprintf(buf, size, "%d", (int)pid);
	else
		buf[0] = '\0';
}

/* Who owns each partition of the ordered groups. */
static void render_owners(struct fevprom_text *t, const char *instance,
			  const struct fevprom_group *g, size_t n)
{
	if (!any_ordered(g, n))
		return;
	add(t, "# HELP %s Handovers of the partition in the ordered group "
	       "(its lease's generation).\n# TYPE %s gauge\n",
	    OWNER_GENERATION, OWNER_GENERATION);
	for (size_t i = 0; i < n; i++)
		if (g[i].ordered)
			add(t,
			    "%s{fabric=\"%s\",topic=\"%s\",group=\"%s\","
			    "partition=\"%u\"} %u\n",
			    OWNER_GENERATION, instance, g[i].topic, g[i].group,
			    g[i].partition, g[i].generation);
	add(t, "# HELP %s The member that owns the partition in the ordered "
	       "group, and the one it is being handed to (\"\": none).\n"
	       "# TYPE %s gauge\n",
	    OWNER_INFO, OWNER_INFO);
	for (size_t i = 0; i < n; i++) {
		char owner[16], next[16];

		if (!g[i].ordered)
			continue;
		pid_label(owner, sizeof(owner), g[i].owner_pid);
		pid_label(next, sizeof(next), g[i].next_pid);
		add(t,
		    "%s{fabric=\"%s\",topic=\"%s\",group=\"%s\","
		    "partition=\"%u\",owner_pid=\"%s\",next_pid=\"%s\"} 1\n",
		    OWNER_INFO, instance, g[i].topic, g[i].group,
		    g[i].partition, owner, next);
	}
}

void fevprom_render_groups(struct fevprom_text *t, const char *instance,
			   const struct fevprom_group *g, size_t n)
{
	const size_t nm = sizeof(group_metrics) / sizeof(group_metrics[0]);

	for (size_t m = 0; n > 0 && m < nm; m++) {
		add(t, "# HELP fev_group_%s %s\n# TYPE fev_group_%s %s\n",
		    group_metrics[m].name, group_metrics[m].help,
		    group_metrics[m].name,
		    group_metrics[m].kind == GAUGE ? "gauge" : "counter");
		for (size_t i = 0; i < n; i++)
			add(t,
			    "fev_group_%s{fabric=\"%s\",topic=\"%s\","
			    "group=\"%s\",partition=\"%u\"} %.17g\n",
			    group_metrics[m].name, instance, g[i].topic,
			    g[i].group, g[i].partition,
			    group_metrics[m].value(&g[i]));
	}
	render_owners(t, instance, g, n);
}
