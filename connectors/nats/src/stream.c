#include "stream.h"

#include <stdio.h>

#include "nlog.h"

static int ensure(jsCtx *js, const struct fnb_stream_conf *sc,
		  struct fnb_conn *c)
{
	const char *subjects[FNB_SUBJECTS_MAX];
	jsStreamInfo *si = NULL;
	jsStreamConfig cfg;
	jsErrCode jerr = 0;
	natsStatus s;
	char t[256];

	s = js_GetStreamInfo(&si, js, sc->name, NULL, &jerr);
	jsStreamInfo_Destroy(si);
	si = NULL;
	if (s == NATS_OK)
		return 0;
	if (jerr != JSStreamNotFoundErr) {
		fnb_conn_error(c, "[stream %s] cannot look it up: %s (JetStream "
				  "error %d): is JetStream enabled (nats-server "
				  "-js)?",
			       sc->name, fnb_nats_text(s, t, sizeof(t)),
			       (int)jerr);
		return -1;
	}
	for (size_t i = 0; i < sc->nsubjects; i++)
		subjects[i] = sc->subjects[i];
	jsStreamConfig_Init(&cfg);
	cfg.Name = sc->name;
	cfg.Subjects = subjects;
	cfg.SubjectsLen = (int)sc->nsubjects;
	cfg.Storage = sc->memory ? js_MemoryStorage : js_FileStorage;
	cfg.Duplicates = (int64_t)sc->duplicate_window_ms * 1000000;
	s = js_AddStream(&si, js, &cfg, NULL, &jerr);
	jsStreamInfo_Destroy(si);
	if (s != NATS_OK) {
		fnb_conn_error(c, "[stream %s] cannot create it: %s (JetStream "
				  "error %d)",
			       sc->name, fnb_nats_text(s, t, sizeof(t)),
			       (int)jerr);
		return -1;
	}
	fnb_log_notice("created stream %s", sc->name);
	return 0;
}

int fnb_streams_ensure(const struct fnb_config *cfg, struct fnb_conn *c)
{
	jsCtx *js = NULL;
	int failed = 0;

	if (cfg->nstreams == 0)
		return 0;
	if (natsConnection_JetStream(&js, c->nc, NULL) != NATS_OK)
		return (int)cfg->nstreams;
	for (size_t i = 0; i < cfg->nstreams; i++)
		failed += ensure(js, &cfg->streams[i], c) < 0;
	jsCtx_Destroy(js);
	return failed;
}
