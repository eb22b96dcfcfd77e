/*
 * [stream NAME]: JetStream streams the bridge creates when they are
 * absent (subjects, storage, duplicate window); an existing stream is
 * used as it is, never changed.
 */
#ifndef FNB_STREAM_H
#define FNB_STREAM_H

#include "config.h"
#include "conn.h"

/* Each configured stream exists afterwards, or its error was said;
 * the number that failed. */
int fnb_streams_ensure(const struct fnb_config *cfg, struct fnb_conn *c);

#endif /* FNB_STREAM_H */
