/*
 * A queue's settings as people write them: key=value, the one spelling of
 * fevd's config ([queue NAME] sections), `fev queue create` and the
 * control protocol's `create` request.  One parser and one set of
 * sentences for all three: fevd reads its config and every request with
 * fev__queue_opt_set(), and the fev tool checks what it forwards with it
 * too, so a mistake reads the same wherever it was made.
 *
 * Not in the shared libfev: a static library of its own (fev_queue_opts,
 * linked through fev::internal), because numbers are read by fevini, the
 * daemons' INI library.
 */
#ifndef FEV_QUEUE_OPTS_H
#define FEV_QUEUE_OPTS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FEV__GROUP_NAME_MAX 64

/* Every key, for sentences that list them. */
#define FEV__QUEUE_KEYS \
	"capacity, max_event, attachers, partitions, policy, mode, group, " \
	"trace_hops, producers or consumers"

struct fev__queue_opts {
	uint32_t capacity;  /* a power of two, FEV__CAPACITY_MIN..MAX */
	uint32_t max_event; /* 0..FEV__MAX_EVENT_MAX bytes */
	uint32_t attachers; /* 1..FEV__ATTACHERS_MAX; 0: the default */
	uint32_t partitions; /* 1..FEV_PARTITIONS_MAX; 0: not given */
	int policy;         /* FEV_POLICY_* */
	mode_t mode;        /* 0..0777 */
	gid_t group;        /* (gid_t)-1: the creator's */
	char group_name[FEV__GROUP_NAME_MAX]; /* as written; "" for none */
	uint32_t trace_hops; /* hop-ring entries, 0 (none) .. FEV__HOPS_MAX */
	uint32_t sync; /* FEV_SYNC_* bits: producers, consumers = single */
};

/*
 * Read value as key's and store it in o (only that field changes).  0, or
 * -EINVAL with a sentence in why that names the key and the value and says
 * what is allowed (no file, line or prefix: the caller adds those).
 */
int fev__queue_opt_set(struct fev__queue_opts *o, const char *key,
		       const char *value, char *why, size_t whylen);

/*
 * The settings together: does a segment of this geometry fit, and may
 * these producers and consumers go with its partitions and policy?  0,
 * or -EINVAL with a sentence naming queue.
 */
int fev__queue_opts_check(const struct fev__queue_opts *o, const char *queue,
			  char *why, size_t whylen);

/*
 * An ordered group's session timeout as written (fevd's `session_timeout`,
 * the control protocol's `session_timeout=`, `fev group create
 * --session-timeout`): a duration from 1 ms to 49 days ("30s", "500ms"),
 * or "off".  0 with *ms the fev_group_config.session_timeout_ms it means,
 * or -EINVAL.
 */
int fev__group_session_parse(const char *s, uint32_t *ms);
#define FEV__GROUP_SESSION_SYNTAX "a duration such as 30s or 500ms, or off"

#endif /* FEV_QUEUE_OPTS_H */
