#include "names.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool name_chars_ok(const char *s, size_t max, bool allow_dot)
{
	size_t n = 0;

	if (s == NULL)
		return false;
	for (; s[n] != '\0'; n++) {
		char c = s[n];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '-' ||
			  (allow_dot && c == '.');
		if (!ok || n >= max)
			return false;
	}
	return n > 0;
}

int fev_queue_name_valid(const char *queue)
{
	return name_chars_ok(queue, FEV_NAME_MAX, true) ? 0 : -EINVAL;
}

/* No dots: "/fev.I.Q" must split into instance and queue one way only. */
int fev_instance_name_valid(const char *instance)
{
	return name_chars_ok(instance, FEV_INSTANCE_MAX, false) ? 0 : -EINVAL;
}

const char *fev_default_instance(void)
{
	const char *env = getenv("FEV_INSTANCE");

	return env != NULL && env[0] != '\0' ? env : "default";
}

const char *fev__instance_or_default(const char *instance)
{
	return instance != NULL ? instance : fev_default_instance();
}

/* k in 1 .. FEV_PARTITIONS_MAX - 1, plain decimal (no sign, no 0 first). */
static int partition_parse(const char *s, uint32_t *k)
{
	uint32_t v = 0;

	if (s[0] < '1' || s[0] > '9')
		return -EINVAL;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (uint32_t)(*s - '0');
		if (v >= FEV_PARTITIONS_MAX)
			return -EINVAL;
	}
	*k = v;
	return 0;
}

int fev__segment_name_parse(const char *name, size_t *topic_len,
			    uint32_t *partition)
{
	char topic[FEV_NAME_MAX + 1];
	const char *sep;
	uint32_t k = 0;
	size_t n;

	if (name == NULL)
		return -EINVAL;
	sep = strchr(name, FEV__PARTITION_SEP[0]);
	n = sep != NULL ? (size_t)(sep - name) : strlen(name);
	if (n == 0 || n > FEV_NAME_MAX)
		return -EINVAL;
	memcpy(topic, name, n);
	topic[n] = '\0';
	if (fev_queue_name_valid(topic) < 0 ||
	    (sep != NULL && partition_parse(sep + 1, &k) < 0))
		return -EINVAL;
	if (topic_len != NULL)
		*topic_len = n;
	if (partition != NULL)
		*partition = k;
	return 0;
}

int fev__partition_name(char *buf, size_t size, const char *topic,
			uint32_t k)
{
	int n;

	if (fev_queue_name_valid(topic) < 0 || k >= FEV_PARTITIONS_MAX)
		return -EINVAL;
	n = k == 0 ? snprintf(buf, size, "%s", topic) :
		     snprintf(buf, size, "%s" FEV__PARTITION_SEP "%u", topic,
			      (unsigned)k);
	return n > 0 && (size_t)n < size ? 0 : -EINVAL;
}

static int fit(int n, size_t size)
{
	return n > 0 && (size_t)n < size ? 0 : -EINVAL;
}

int fev__shm_name(char *buf, size_t size, const char *instance,
		  const char *queue)
{
	instance = fev__instance_or_default(instance);
	if (fev_instance_name_valid(instance) < 0 ||
	    fev__segment_name_parse(queue, NULL, NULL) < 0)
		return -EINVAL;
	return fit(snprintf(buf, size, "/fev.%s.%s", instance, queue), size);
}

int fev__shm_prefix(char *buf, size_t size, const char *instance)
{
	instance = fev__instance_or_default(instance);
	if (fev_instance_name_valid(instance) < 0)
		return -EINVAL;
	return fit(snprintf(buf, size, "fev.%s.", instance), size);
}

static const char *const policy_names[] = {
	[FEV_POLICY_BLOCK] = "block",
	[FEV_POLICY_REJECT] = "reject",
	[FEV_POLICY_DROP_OLDEST] = "drop-oldest",
};

int fev__policy_parse(const char *s)
{
	for (int p = FEV_POLICY_BLOCK; p <= FEV_POLICY_DROP_OLDEST; p++)
		if (s != NULL && strcmp(s, policy_names[p]) == 0)
			return p;
	return -EINVAL;
}

const char *fev__policy_name(int policy)
{
	if (policy < FEV_POLICY_BLOCK || policy > FEV_POLICY_DROP_OLDEST)
		return "?";
	return policy_names[policy];
}

static const char *const group_policy_names[] = {
	[FEV_GROUP_BLOCK] = "block",
	[FEV_GROUP_DROP] = "drop",
};

int fev__group_policy_parse(const char *s)
{
	for (int p = FEV_GROUP_BLOCK; p <= FEV_GROUP_DROP; p++)
		if (s != NULL && strcmp(s, group_policy_names[p]) == 0)
			return p;
	return -EINVAL;
}

const char *fev__group_policy_name(int policy)
{
	if (policy < FEV_GROUP_BLOCK || policy > FEV_GROUP_DROP)
		return "?";
	return group_policy_names[policy];
}

const char *fev__roles_name(uint32_t roles)
{
	switch (roles & (FEV_PRODUCER | FEV_CONSUMER)) {
	case FEV_PRODUCER:
		return "producer";
	case FEV_CONSUMER:
		return "consumer";
	case FEV_PRODUCER | FEV_CONSUMER:
		return "prod+cons";
	default:
		return "none";
	}
}

static const char *const group_mode_names[] = {
	[FEV_GROUP_SHARED] = "shared",
	[FEV_GROUP_ORDERED] = "ordered",
};

int fev__group_mode_parse(const char *s)
{
	for (int m = FEV_GROUP_SHARED; m <= FEV_GROUP_ORDERED; m++)
		if (s != NULL && strcmp(s, group_mode_names[m]) == 0)
			return m;
	return -EINVAL;
}

const char *fev__group_mode_name(int mode)
{
	if (mode < FEV_GROUP_SHARED || mode > FEV_GROUP_ORDERED)
		return "?";
	return group_mode_names[mode];
}
