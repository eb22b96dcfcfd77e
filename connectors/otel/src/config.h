/*
 * fev-otel's configuration: one [otel] section and an optional [headers]
 * section (NAME = VALUE, sent with every POST: authorization and the
 * like; never logged), read with fevini (the INI dialect of fevd and the
 * other connectors).  All or nothing: a config with any bad line is
 * refused with "FILE:LINE: reason" (a SIGHUP reload with a bad file keeps
 * the running config).  Every key is in connectors/otel/README.md.
 */
#ifndef FOT_CONFIG_H
#define FOT_CONFIG_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "fev/fev.h"

#define FOT_URL_MAX 2048
#define FOT_TOPICS_MAX 64
#define FOT_HEADERS_MAX 16
#define FOT_HEADER_MAX 1024 /* "name: value", bytes */
#define FOT_BATCH_MAX 8192u
#define FOT_ERR_MAX 512

/* Defaults: the OpenTelemetry SDK's BatchSpanProcessor exports up to 512
 * spans at least every 5 s; ours flushes sooner, for a 3 a.m. look. */
#define FOT_DEFAULT_BATCH 512u
#define FOT_DEFAULT_FLUSH_MS 1000u
#define FOT_DEFAULT_TIMEOUT_MS 10000u
#define FOT_DEFAULT_RETRY_MAX_MS 30000u
#define FOT_DEFAULT_OPEN_SPAN_MS 30000u
#define FOT_DEFAULT_STATE "/var/lib/fev-otel/state"
#define FOT_DEFAULT_STATUS "/run/fev-otel/status"

struct fot_config {
	char instance[FEV_INSTANCE_MAX + 1]; /* "": fev_default_instance() */
	char endpoint[FOT_URL_MAX];
	char topics[FOT_TOPICS_MAX][FEV_NAME_MAX + 1];
	size_t ntopics; /* 0: every hop ring of the instance */
	char headers[FOT_HEADERS_MAX][FOT_HEADER_MAX];
	size_t nheaders;
	uint32_t batch_size;
	uint64_t flush_ms, timeout_ms, retry_max_ms, open_span_ms;
	int start; /* FEV_GROUP_EARLIEST / _LATEST: a ring with no cursor */
	char state_file[PATH_MAX];
	char status_file[PATH_MAX];
	int log_level; /* FEVD_LOG_* */
};

/* Read and check the file: 0, or -errno with "FILE:LINE: reason" in err.
 * cfg is untouched on failure. */
int fot_config_load(const char *path, struct fot_config *cfg, char *err,
		    size_t errlen);
/* Forget the headers' values (they may be secrets). */
void fot_config_free(struct fot_config *cfg);

#endif /* FOT_CONFIG_H */
