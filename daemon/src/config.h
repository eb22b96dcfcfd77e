/*
 * fevd's configuration: an INI file read by fevini (common/ini/fevini.h),
 * [fabric] and one [queue NAME] or [topic NAME] per queue or topic (see
 * CONFIG.md), an embedded default, and the command-line overrides
 * applied on top.  Parsing is all-or-nothing: a config with any bad line is
 * refused with "FILE:LINE: reason" and nothing of it is used.
 */
#ifndef FEVD_CONFIG_H
#define FEVD_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>

#include "fev/fev.h"
#include "segment.h"
#include "trust.h"
#include "queue_opts.h"

#define FEVD_SOCKET_PATH_MAX sizeof(((struct sockaddr_un *)0)->sun_path)
#define FEVD_GROUP_NAME_MAX FEV__GROUP_NAME_MAX
#define FEVD_ERR_MAX 512
/* Room for metrics_listen, "[IPv6]:PORT" (metrics.h). */
#define FEVD_METRICS_LISTEN_MAX 64

/* The embedded default queue (also the defaults of `create`). */
#define FEVD_DEFAULT_CAPACITY 4096u
#define FEVD_DEFAULT_MAX_EVENT 1024u
#define FEVD_DEFAULT_MODE 0660u

struct fevd_queue_conf {
	char name[FEV__SEG_NAME_MAX + 1]; /* of an adopted partition too */
	uint32_t capacity;
	uint32_t max_event;
	uint32_t attachers; /* 0: the library default */
	uint32_t partitions; /* of a topic; 1 for a queue */
	bool topic; /* [topic NAME] or partitions given: fev_topic_create() */
	int policy;         /* FEV_POLICY_* */
	mode_t mode;
	gid_t group; /* (gid_t)-1: fevd's own */
	char group_name[FEVD_GROUP_NAME_MAX];
	uint32_t trace_hops; /* hop-ring entries; 0: none */
	uint32_t sync; /* FEV_SYNC_* (producers, consumers = single) */
	unsigned line; /* where it was defined; 0: not from a file */
};

/* [group TOPIC NAME]: a consumer group fevd creates when it is missing. */
struct fevd_group_conf {
	char topic[FEV_NAME_MAX + 1];
	char name[FEV_GROUP_NAME_MAX + 1];
	int start; /* FEV_GROUP_LATEST or _EARLIEST */
	int policy; /* FEV_GROUP_BLOCK or _DROP */
	int mode;  /* FEV_GROUP_SHARED (default) or _ORDERED */
	uint32_t session_timeout_ms; /* fev_group_config's; 0: default */
	unsigned line;
};

struct fevd_config {
	char instance[FEV_INSTANCE_MAX + 1];
	char control_socket[FEVD_SOCKET_PATH_MAX]; /* "": the default */
	char pidfile[PATH_MAX];                     /* "": the default */
	int log_level;                              /* FEVD_LOG_* */
	bool unlink_on_exit;
	bool has_admin_group;
	gid_t admin_gid;
	char admin_group[FEVD_GROUP_NAME_MAX];
	/* Owners of segments trusted besides root and fevd's uid. */
	uid_t trusted_uids[FEV__TRUSTED_UIDS_MAX];
	size_t ntrusted_uids;
	char metrics_listen[FEVD_METRICS_LISTEN_MAX]; /* "": no /metrics */
	struct fevd_queue_conf *queues;
	size_t nqueues;
	struct fevd_group_conf *groups;
	size_t ngroups;
};

/* The values a queue gets for every key left out. */
void fevd_queue_conf_defaults(struct fevd_queue_conf *q);

/* The embedded default: instance "default", queue "events". 0 or -ENOMEM. */
int fevd_config_default(struct fevd_config *cfg);

/*
 * Parse text (named `source` in messages).  0, or -EINVAL with
 * "SOURCE:LINE: reason" in err; -ENOMEM.  cfg is untouched on failure.
 */
int fevd_config_parse(const char *text, const char *source,
		      struct fevd_config *cfg, char *err, size_t errlen);
/* Read and parse a file: also -errno of open/read with "FILE: reason". */
int fevd_config_load(const char *path, struct fevd_config *cfg, char *err,
		     size_t errlen);
void fevd_config_free(struct fevd_config *cfg);

const struct fevd_queue_conf *fevd_config_find(const struct fevd_config *cfg,
					       const char *queue);

/* Values as the config file and the control protocol spell them. */
/* A group that exists: fev__group_lookup() (group.h).  0 or -errno. */
int fevd_parse_group(const char *s, gid_t *out);
/*
 * Check one queue setting (key = value) and store it in q; 0, or -EINVAL
 * with the reason in why (no file or line: the caller adds those).
 */
int fevd_queue_conf_set(struct fevd_queue_conf *q, const char *key,
			const char *value, char *why, size_t whylen);
/* The whole queue (capacity a power of two, ...); same contract. */
int fevd_queue_conf_check(const struct fevd_queue_conf *q, char *why,
			  size_t whylen);

#endif /* FEVD_CONFIG_H */
