/*
 * Where fev-otel was in each hop ring, kept across restarts (state.c):
 * one line per ring, "TOPIC INODE NEXT", written whole (a temporary file,
 * fsync, rename) after every batch the collector took.  NEXT is held back
 * to the oldest acquired hop whose process span is still open, so a
 * restart reads it again.  What was exported after the last save is
 * exported again after a crash: duplicates, never a gap.
 */
#ifndef FOT_STATE_H
#define FOT_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "fev/fev.h"
#include "follow.h"
#include "sink.h"

struct fot_saved {
	char topic[FEV_NAME_MAX + 1];
	uint64_t ino, next;
};

/* Read path: 0 (a missing file is no cursors), -EBADMSG (not a state
 * file: the caller starts afresh and says so), -ENOMEM, -errno. */
int fot_state_load(const char *path, struct fot_saved **out, size_t *n);

/* The saved cursor of topic, or NULL. */
const struct fot_saved *fot_state_find(const struct fot_saved *v, size_t n,
				       const char *topic);

/* Write every ring's cursor (held back by s's open spans): 0 or -errno. */
int fot_state_save(const char *path, struct fot_ring *const *rings, size_t n,
		   const struct fot_sink *s);

#endif /* FOT_STATE_H */
