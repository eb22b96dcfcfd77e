/*
 * fev-webhooks' configuration: one [webhooks] section (instance, database,
 * schedule, ...) and one [endpoint NAME] per endpoint, read with fevini
 * (the INI dialect shared with fevd).  All or nothing: a config with any bad
 * line is refused with "FILE:LINE: reason" and nothing of it is used (a
 * SIGHUP reload with a bad file keeps the running config).  Every key is
 * documented in connectors/webhooks/README.md.
 */
#ifndef FWH_CONFIG_H
#define FWH_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fev/fev.h"
#include "secret.h"

#define FWH_ENDPOINT_NAME_MAX FEV_NAME_MAX /* same rule as queue names */
#define FWH_URL_MAX 2048
#define FWH_TYPES_MAX 512      /* the ce-type filter list, bytes */
#define FWH_SCHEDULE_MAX 16    /* retry delays after the first attempt */
#define FWH_ERR_MAX 512

/* Defaults (Standard Webhooks / Svix behaviour where they say). */
#define FWH_DEFAULT_TIMEOUT_MS 15000u
#define FWH_DEFAULT_MAX_IN_FLIGHT 64u
#define FWH_MAX_IN_FLIGHT_MAX 1024u
#define FWH_DEFAULT_DISABLE_AFTER_MS (5ull * 24 * 3600 * 1000)
#define FWH_DEFAULT_RETENTION_MS (24ull * 3600 * 1000)
#define FWH_DEFAULT_JITTER_PCT 20u
/* An endpoint reads its topic as group "webhooks-NAME" unless it names one,
 * from the events the partitions still hold (a webhook added to a running
 * system delivers what is already there, as Svix does on a new endpoint). */
#define FWH_DEFAULT_GROUP_PREFIX "webhooks-"
#define FWH_DEFAULT_START FEV_GROUP_EARLIEST
/* The delays between attempts: the first is immediate, then 5 s, 5 min,
 * 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h (Standard Webhooks, Svix). */
#define FWH_DEFAULT_SCHEDULE "5s 5m 30m 2h 5h 10h 14h 20h 24h"

struct fwh_endpoint_conf {
	char name[FWH_ENDPOINT_NAME_MAX + 1];
	char url[FWH_URL_MAX];
	char topic[FEV_NAME_MAX + 1]; /* the source (see source.h) */
	/* The consumer group it reads the topic as; created with start
	 * (FEV_GROUP_*) when absent. */
	char group[FEV_GROUP_NAME_MAX + 1];
	int start;
	struct fwh_secret secrets[FWH_SECRETS_MAX];
	size_t nsecrets;
	char types[FWH_TYPES_MAX]; /* ce-type filter, space separated; "": all */
	uint32_t timeout_ms;
	uint32_t max_in_flight;
	uint32_t rate_per_s; /* 0: no limit */
	bool ordered;        /* per key: one at a time, in order */
	bool allow_private;  /* may connect to loopback/private addresses */
	unsigned line;
};

struct fwh_config {
	char instance[FEV_INSTANCE_MAX + 1]; /* "": fev_default_instance() */
	char database[PATH_MAX];
	int log_level; /* FEVD_LOG_* */
	/* delays before attempts 2, 3, ...; after the last, dead letter */
	uint64_t schedule_ms[FWH_SCHEDULE_MAX];
	size_t nschedule;
	uint32_t jitter_pct;
	uint64_t disable_after_ms;
	uint64_t retention_ms;
	struct fwh_endpoint_conf *endpoints;
	size_t nendpoints;
};

/* Read and check the file; 0, or -errno with "FILE:LINE: reason" in err.
 * cfg is untouched on failure. */
int fwh_config_load(const char *path, struct fwh_config *cfg, char *err,
		    size_t errlen);
void fwh_config_free(struct fwh_config *cfg);

/* Does the ce-type filter of e let an event of this type through? */
bool fwh_endpoint_wants(const struct fwh_endpoint_conf *e, const char *type,
			size_t type_len);

#endif /* FWH_CONFIG_H */
