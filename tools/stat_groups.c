/*
 * fev stat's view of topics and consumer groups: per topic its partitions
 * (depth and capacity of each, and the totals), per group and partition
 * its lag, redeliveries and members (pids).  Built from the snapshot's
 * partitions (stat_sample.c reads each group through the library,
 * fev__group_read()), so it adds nothing for an instance without topics
 * and leaves the queue rows as they were.
 */
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "cli.h"
#include "fevprom.h"
#include "names.h"
#include "stat.h"

/* The topic of partition q is the topic of the first partition before? */
static bool same_topic(const struct queue_view *a, const struct queue_view *b)
{
	return a->topic_len == b->topic_len &&
	       memcmp(a->name, b->name, a->topic_len) == 0;
}

/* Is s->q[i] the first readable partition of its topic in s? */
static bool first_of_topic(const struct snapshot *s, size_t i)
{
	if (!queue_is_partition(&s->q[i]))
		return false;
	for (size_t j = 0; j < i; j++)
		if (queue_is_partition(&s->q[j]) && same_topic(&s->q[j], &s->q[i]))
			return false;
	return true;
}

/* The partitions of s->q[first]'s topic in s, by partition number. */
static size_t topic_parts(const struct snapshot *s, size_t first,
			  const struct queue_view **out, size_t max)
{
	size_t n = 0;

	for (size_t j = first; j < s->n && n < max; j++)
		if (queue_is_partition(&s->q[j]) &&
		    same_topic(&s->q[j], &s->q[first]))
			out[n++] = &s->q[j];
	/* Insertion sort: few partitions, listed in /dev/shm's order. */
	for (size_t a = 1; a < n; a++)
		for (size_t b = a; b > 0 && out[b - 1]->partition >
						    out[b]->partition;
		     b--) {
			const struct queue_view *t = out[b];

			out[b] = out[b - 1];
			out[b - 1] = t;
		}
	return n;
}

/* Group `name` in partition p, or NULL. */
static const struct fev__group_view *group_in(const struct queue_view *p,
					       const char *name)
{
	for (uint32_t i = 0; i < p->ngroups; i++)
		if (strcmp(p->groups[i].name, name) == 0)
			return &p->groups[i];
	return NULL;
}

/* Has an earlier partition of parts[0 .. k) the group called name? */
static bool group_seen(const struct queue_view *const *parts, size_t k,
		       const char *name)
{
	for (size_t j = 0; j < k; j++)
		if (group_in(parts[j], name) != NULL)
			return true;
	return false;
}

/*
 * Call fn once for each group of the topic, in the order the partitions
 * list them (a group missing from some partition, half created or
 * deleted, is still shown where it is).
 */
static void each_group(const struct queue_view *const *parts, size_t n,
		       void (*fn)(const char *name, void *arg), void *arg)
{
	for (size_t k = 0; k < n; k++)
		for (uint32_t i = 0; i < parts[k]->ngroups; i++)
			if (!group_seen(parts, k, parts[k]->groups[i].name))
				fn(parts[k]->groups[i].name, arg);
}

/*
 * The pids of g's members in p, separated by sep, none when there is none;
 * in the table (sep " ") a dead or closed one says so.
 */
static void member_pids(struct out_buf *b, const struct queue_view *p,
			const struct fev__group_view *g, const char *sep,
			const char *none)
{
	bool table = strcmp(sep, " ") == 0;

	bool any = false;

	for (uint32_t i = 0; i < p->natt; i++) {
		const struct att_view *a = &p->att[i];

		if (a->group != g->index + 1 || !(a->roles & FEV_CONSUMER))
			continue;
		ob_printf(b, "%s%d%s", any ? sep : "", (int)a->pid,
			  !table      ? "" :
			  a->closed   ? "(closed)" :
			  !a->alive   ? "(dead)" : "");
		any = true;
	}
	if (!any)
		ob_printf(b, "%s", none);
}

/* g's mode and owner in p, or NULL when they could not be kept. */
static const struct group_owner *owner_in(const struct queue_view *p,
					  const struct fev__group_view *g)
{
	return p->owners != NULL ? &p->owners[g - p->groups] : NULL;
}

/* Is g an ordered group whose owner in p was read? */
static const fev_partition_owner *ordered_owner(const struct queue_view *p,
						 const struct fev__group_view *g)
{
	const struct group_owner *o = owner_in(p, g);

	return o != NULL && o->mode == FEV_GROUP_ORDERED && o->known ?
		       &o->own :
		       NULL;
}

/* The mode as the views spell it: "shared", "ordered", or "?" when it
 * could not be read. */
static const char *mode_name(const struct queue_view *p,
			     const struct fev__group_view *g)
{
	const struct group_owner *o = owner_in(p, g);

	return o != NULL ? fev__group_mode_name(o->mode) : "?";
}

struct read_owners {
	const char *instance;
	const struct queue_view *const *parts;
	size_t n;
	char topic[FEV_NAME_MAX + 1];
	fev_partition_owner own[FEV_PARTITIONS_MAX];
};

/* One group of a topic: its mode, and for an ordered one the owner of
 * each partition, into every partition's owners[]. */
static void read_group_owners(const char *name, void *arg)
{
	struct read_owners *r = arg;
	int mode = fev_group_mode(r->topic, name, r->instance);
	int np = mode == FEV_GROUP_ORDERED ?
			 fev_group_owners(r->topic, name, r->instance, r->own,
					  FEV_PARTITIONS_MAX) :
			 0;

	if (np < 0)
		mode = np;
	for (size_t k = 0; k < r->n; k++) {
		const struct queue_view *p = r->parts[k];
		const struct fev__group_view *g = group_in(p, name);
		struct group_owner *o;

		if (g == NULL || p->owners == NULL)
			continue;
		o = &p->owners[g - p->groups];
		o->mode = mode;
		o->known = mode == FEV_GROUP_ORDERED &&
			   p->partition < (uint32_t)np &&
			   p->partition < FEV_PARTITIONS_MAX;
		if (o->known)
			o->own = r->own[p->partition];
	}
}

void groups_read_owners(struct snapshot *s, const char *instance)
{
	const struct queue_view **parts = calloc(s->n ? s->n : 1,
						 sizeof(*parts));
	struct read_owners *r = calloc(1, sizeof(*r));

	for (size_t i = 0; parts != NULL && r != NULL && i < s->n; i++)
		if (queue_is_partition(&s->q[i]) && s->q[i].ngroups > 0)
			s->q[i].owners = calloc(s->q[i].ngroups,
						sizeof(*s->q[i].owners));
	for (size_t i = 0; parts != NULL && r != NULL && i < s->n; i++) {
		if (!first_of_topic(s, i))
			continue;
		r->instance = instance;
		r->parts = parts;
		r->n = topic_parts(s, i, parts, s->n);
		snprintf(r->topic, sizeof(r->topic), "%.*s",
			 (int)s->q[i].topic_len, s->q[i].name);
		each_group(parts, r->n, read_group_owners, r);
	}
	free(r);
	free(parts);
}

/* ---- the table ------------------------------------------------------------ */

/* The OWNER and GEN cells of g in p: "-" for none or a shared group; a
 * pending handover as OWNER->NEXT. */
static void owner_cells(const struct queue_view *p,
			const struct fev__group_view *g, char *owner,
			size_t osz, char *gen, size_t gsz)
{
	const fev_partition_owner *o = ordered_owner(p, g);

	snprintf(owner, osz, "-");
	snprintf(gen, gsz, "-");
	if (o == NULL)
		return;
	snprintf(gen, gsz, "%u", o->generation);
	if (o->pid != 0 && o->next_pid != 0)
		snprintf(owner, osz, "%d->%d", (int)o->pid, (int)o->next_pid);
	else if (o->pid != 0)
		snprintf(owner, osz, "%d", (int)o->pid);
	else if (o->next_pid != 0)
		snprintf(owner, osz, "-->%d", (int)o->next_pid);
}

struct table_topic {
	struct out_buf *b;
	const struct queue_view *const *parts;
	size_t n;
	int w; /* of the GROUP column */
};

static void widest_group(const char *name, void *arg)
{
	struct table_topic *t = arg;

	if ((int)strlen(name) > t->w)
		t->w = (int)strlen(name);
}

static void table_group(const char *name, void *arg)
{
	struct table_topic *t = arg;
	uint64_t lag = 0, redelivered = 0, dropped = 0;

	for (size_t k = 0; k < t->n; k++) {
		const struct fev__group_view *g = group_in(t->parts[k], name);
		char l[12], r[12], dp[12], own[28], gen[12];

		if (g == NULL)
			continue;
		lag += g->lag;
		redelivered += g->redelivered;
		dropped += g->dropped;
		out_count(l, sizeof(l), g->lag);
		out_count(r, sizeof(r), g->redelivered);
		out_count(dp, sizeof(dp), g->dropped);
		owner_cells(t->parts[k], g, own, sizeof(own), gen, sizeof(gen));
		bool head = k == 0 || group_in(t->parts[k - 1], name) == NULL;

		ob_printf(t->b, "  %-*s %-6s %-7s %4u %7s %6s %6s %-13s %5s  ",
			  t->w, head ? name : "",
			  head ? fev__group_policy_name((int)g->policy) : "",
			  head ? mode_name(t->parts[k], g) : "",
			  t->parts[k]->partition, l, r, dp, own, gen);
		member_pids(t->b, t->parts[k], g, " ", "-");
		ob_putc(t->b, '\n');
	}
	if (t->n > 1) {
		char l[12], r[12], dp[12];

		out_count(l, sizeof(l), lag);
		out_count(r, sizeof(r), redelivered);
		out_count(dp, sizeof(dp), dropped);
		ob_printf(t->b, "  %-*s %-6s %-7s %4s %7s %6s %6s\n", t->w,
			  "", "", "", "all", l, r, dp);
	}
}

static void table_topic(struct out_buf *b, const struct queue_view *const *p,
			size_t n)
{
	uint64_t depth = 0, cap = 0;
	struct table_topic t = { .b = b, .parts = p, .n = n, .w = 5 };
	char d[12], c[12];

	ob_printf(b, "\ntopic %.*s: %u partition%s", (int)p[0]->topic_len,
		  p[0]->name, p[0]->partitions,
		  p[0]->partitions == 1 ? "" : "s");
	if (n != p[0]->partitions)
		ob_printf(b, " (%zu readable)", n);
	ob_printf(b, ", depth/capacity");
	for (size_t k = 0; k < n; k++) {
		out_count(d, sizeof(d), p[k]->st.depth);
		out_capacity(c, sizeof(c), p[k]->st.capacity);
		ob_printf(b, " %u:%s/%s", p[k]->partition, d, c);
		depth += p[k]->st.depth;
		cap += p[k]->st.capacity;
	}
	out_count(d, sizeof(d), depth);
	out_capacity(c, sizeof(c), cap);
	ob_printf(b, ", all %s/%s\n", d, c);
	each_group(p, n, widest_group, &t);
	ob_printf(b, "  %-*s %-6s %-7s %4s %7s %6s %6s %-13s %5s  %s\n", t.w,
		  "GROUP", "POLICY", "MODE", "PART", "LAG", "REDLV", "DROP",
		  "OWNER", "GEN", "MEMBERS (pid)");
	each_group(p, n, table_group, &t);
}

void groups_table(struct out_buf *b, const struct snapshot *s)
{
	const struct queue_view **parts = calloc(s->n ? s->n : 1,
						 sizeof(*parts));

	if (parts == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		if (first_of_topic(s, i))
			table_topic(b, parts, topic_parts(s, i, parts, s->n));
	free(parts);
}

/* ---- JSON ----------------------------------------------------------------- */

struct json_topic {
	struct out_buf *b;
	const struct queue_view *const *parts;
	size_t n;
	bool first;
};

static void json_pid(struct out_buf *b, pid_t pid)
{
	if (pid != 0)
		ob_printf(b, "%d", (int)pid);
	else
		ob_printf(b, "null");
}

/* An ordered group's owner fields of a partition: pids null for none;
 * nothing for a shared group. */
static void json_owner(struct out_buf *b, const fev_partition_owner *o)
{
	if (o == NULL)
		return;
	ob_printf(b, ",\"generation\":%u,\"owner_pid\":", o->generation);
	json_pid(b, o->pid);
	ob_printf(b, ",\"next_pid\":");
	json_pid(b, o->next_pid);
}

static void json_group(const char *name, void *arg)
{
	struct json_topic *t = arg;
	uint64_t lag = 0, redelivered = 0, dropped = 0, revoked = 0;
	bool first = true;
	const char *policy = "", *mode = "?";

	ob_printf(t->b, "%s{\"name\":", t->first ? "" : ",");
	t->first = false;
	ob_json_string(t->b, name);
	ob_printf(t->b, ",\"partitions\":[");
	for (size_t k = 0; k < t->n; k++) {
		const struct fev__group_view *g = group_in(t->parts[k], name);

		if (g == NULL)
			continue;
		lag += g->lag;
		redelivered += g->redelivered;
		dropped += g->dropped;
		revoked += g->revoked;
		policy = fev__group_policy_name((int)g->policy);
		mode = mode_name(t->parts[k], g);
		ob_printf(t->b,
			  "%s{\"partition\":%u,\"lag\":%llu,\"cursor\":%llu,"
			  "\"start_position\":%llu,\"redelivered\":%llu,"
			  "\"redelivery_waiting\":%llu,\"dropped\":%llu,"
			  "\"revoked\":%llu,\"members\":[",
			  first ? "" : ",", t->parts[k]->partition,
			  (unsigned long long)g->lag,
			  (unsigned long long)g->cursor,
			  (unsigned long long)g->start,
			  (unsigned long long)g->redelivered,
			  (unsigned long long)g->redo_waiting,
			  (unsigned long long)g->dropped,
			  (unsigned long long)g->revoked);
		member_pids(t->b, t->parts[k], g, ",", "");
		ob_putc(t->b, ']');
		json_owner(t->b, ordered_owner(t->parts[k], g));
		ob_putc(t->b, '}');
		first = false;
	}
	ob_printf(t->b,
		  "],\"policy\":\"%s\",\"mode\":\"%s\",\"lag\":%llu,"
		  "\"redelivered\":%llu,\"dropped\":%llu,\"revoked\":%llu}",
		  policy, mode, (unsigned long long)lag,
		  (unsigned long long)redelivered, (unsigned long long)dropped,
		  (unsigned long long)revoked);
}

static void json_topic(struct out_buf *b, const struct queue_view *const *p,
		       size_t n, bool first)
{
	uint64_t depth = 0, cap = 0;
	struct json_topic t = { .b = b, .parts = p, .n = n, .first = true };

	ob_printf(b, "%s{\"name\":\"%.*s\",\"partitions\":%u,\"readable\":[",
		  first ? "" : ",", (int)p[0]->topic_len, p[0]->name,
		  p[0]->partitions);
	for (size_t k = 0; k < n; k++) {
		ob_printf(b, "%s{\"partition\":%u,\"depth\":%llu,"
			     "\"capacity\":%llu}",
			  k ? "," : "", p[k]->partition,
			  (unsigned long long)p[k]->st.depth,
			  (unsigned long long)p[k]->st.capacity);
		depth += p[k]->st.depth;
		cap += p[k]->st.capacity;
	}
	ob_printf(b, "],\"depth\":%llu,\"capacity\":%llu,\"groups\":[",
		  (unsigned long long)depth, (unsigned long long)cap);
	each_group(p, n, json_group, &t);
	ob_printf(b, "]}");
}

void groups_json(struct out_buf *b, const struct snapshot *s)
{
	const struct queue_view **parts = calloc(s->n ? s->n : 1,
						 sizeof(*parts));
	bool first = true;

	ob_printf(b, ",\"topics\":[");
	for (size_t i = 0; parts != NULL && i < s->n; i++)
		if (first_of_topic(s, i)) {
			json_topic(b, parts, topic_parts(s, i, parts, s->n),
				   first);
			first = false;
		}
	ob_putc(b, ']');
	free(parts);
}

/* ---- Prometheus ----------------------------------------------------------- */

static void prom_owner(struct fevprom_group *g, const fev_partition_owner *o)
{
	g->ordered = o != NULL;
	if (o == NULL)
		return;
	g->generation = o->generation;
	g->owner_pid = o->pid;
	g->next_pid = o->next_pid;
}

void groups_prometheus(struct out_buf *b, const char *instance,
		       const struct snapshot *s)
{
	struct fevprom_group *g;
	struct fevprom_text t = { 0 };
	size_t n = 0, max = 0;

	for (size_t i = 0; i < s->n; i++)
		if (queue_is_partition(&s->q[i]))
			max += s->q[i].ngroups;
	g = calloc(max ? max : 1, sizeof(*g));
	if (g == NULL) {
		ob_printf(b, "# fev stat: out of memory\n");
		return;
	}
	for (size_t i = 0; i < s->n; i++) {
		const struct queue_view *q = &s->q[i];

		for (uint32_t k = 0; queue_is_partition(q) && k < q->ngroups;
		     k++, n++) {
			memcpy(g[n].topic, q->name, q->topic_len);
			g[n].topic[q->topic_len] = '\0';
			strlcpy(g[n].group, q->groups[k].name,
				sizeof(g[n].group));
			g[n].partition = q->partition;
			g[n].lag = q->groups[k].lag;
			g[n].redelivered = q->groups[k].redelivered;
			g[n].dropped = q->groups[k].dropped;
			g[n].revoked = q->groups[k].revoked;
			g[n].members = q->groups[k].members;
			prom_owner(&g[n], ordered_owner(q, &q->groups[k]));
		}
	}
	fevprom_render_groups(&t, instance, g, n);
	if (t.failed)
		ob_printf(b, "# fev stat: out of memory\n");
	else if (t.len > 0) /* no topics: nothing, and t.p is NULL */
		ob_write(b, t.p, t.len);
	fevprom_text_free(&t);
	free(g);
}
