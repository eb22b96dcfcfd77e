/*
 * The fabric's names, defined once for the library, fevd and the tools: what a
 * queue or instance may be called, what its segments (one per partition) are
 * called in /dev/shm, and how policies and roles are spelled in the config, the
 * control protocol, logs and fev stat.  (Where an instance's control socket
 * lives is instance.h's.)
 */
#ifndef FEV_NAMES_H
#define FEV_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include "fev/fev.h"

/* Where POSIX shared memory lives: the segments' directory. */
#define FEV__SHM_DIR "/dev/shm"

/*
 * A segment being created is named "/fev.I.Q~PID" until it is renamed to
 * "/fev.I.Q" whole (fev_queue_create()).
 */
#define FEV__CREATING_SEP "~"

/*
 * Partition k > 0 of topic T is the segment "T@k"; partition 0 is "T"
 * itself, so a queue is the one partition of a topic of one partition and
 * a topic and a queue can never share a name.  '@' is not a queue name
 * character: no queue is ever named like a partition.
 */
#define FEV__PARTITION_SEP "@"
#define FEV__PARTITION_SUFFIX_MAX 4 /* "@255" */

/* A segment name: a queue (topic) name, or one with a partition suffix. */
#define FEV__SEG_NAME_MAX (FEV_NAME_MAX + FEV__PARTITION_SUFFIX_MAX)

/* "/fev." + instance + "." + segment name + NUL */
#define FEV__SHM_NAME_MAX (5 + FEV_INSTANCE_MAX + 1 + FEV__SEG_NAME_MAX + 1)
/* "fev." + instance + "." + NUL: the start of every segment file name of
 * an instance in FEV__SHM_DIR. */
#define FEV__SHM_PREFIX_MAX (4 + FEV_INSTANCE_MAX + 1 + 1)

/*
 * Is name a segment name: a queue name, or "T@k" with T a queue name and k
 * in 1 .. FEV_PARTITIONS_MAX - 1 written in plain decimal?  When it is,
 * 0, and *topic_len and *partition say which (either may be NULL);
 * -EINVAL otherwise.
 */
int fev__segment_name_parse(const char *name, size_t *topic_len,
			    uint32_t *partition);
/* The segment name of partition k of topic: 0, or -EINVAL. */
int fev__partition_name(char *buf, size_t size, const char *topic,
			uint32_t k);

/* instance NULL: the default.  queue: a segment name, else -EINVAL. */
int fev__shm_name(char *buf, size_t size, const char *instance,
		  const char *queue);
/* "fev.INSTANCE." into buf (FEV__SHM_PREFIX_MAX bytes).  0 or -EINVAL. */
int fev__shm_prefix(char *buf, size_t size, const char *instance);
const char *fev__instance_or_default(const char *instance);

/*
 * Policies as the config, `fev queue create`, the control protocol and
 * fev stat spell them: "block", "reject", "drop-oldest".  parse: the
 * FEV_POLICY_* value or -EINVAL; name: "?" for a value that is none.
 */
int fev__policy_parse(const char *s);
const char *fev__policy_name(int policy);
/* "block, reject or drop-oldest", for sentences that list them. */
#define FEV__POLICY_NAMES "block, reject or drop-oldest"

/*
 * A consumer group's slow-group policy as the config (`policy =`), the
 * control protocol (`policy=`), `fev group create --policy` and fev stat
 * spell it: "block", "drop".  parse: FEV_GROUP_BLOCK or FEV_GROUP_DROP, or
 * -EINVAL; name: "?" for a value that is none.
 */
int fev__group_policy_parse(const char *s);
const char *fev__group_policy_name(int policy);
#define FEV__GROUP_POLICY_NAMES "block or drop"

/*
 * The roles of an attacher record (FEV_PRODUCER | FEV_CONSUMER):
 * "producer", "consumer", "prod+cons", or "none".
 */
const char *fev__roles_name(uint32_t roles);

/*
 * Consumer-group modes as the config (`mode =`), the control protocol
 * (`mode=`) and the tools spell them: "shared", "ordered".  parse: the
 * FEV_GROUP_SHARED/_ORDERED value or -EINVAL; name: "?" for neither.
 */
int fev__group_mode_parse(const char *s);
const char *fev__group_mode_name(int mode);
#define FEV__GROUP_MODE_NAMES "shared or ordered"

#endif /* FEV_NAMES_H */
