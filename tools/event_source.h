/*
 * Where fev tail and fev record read events: a tail (fev_tail_*: nothing
 * taken, the default) or, for record --group, a member of a consumer group
 * on every partition (events taken, released once written).  Both hand out
 * fev_tail_event, waiting in slices so that Ctrl-C is seen.
 */
#ifndef FEV_TOOLS_EVENT_SOURCE_H
#define FEV_TOOLS_EVENT_SOURCE_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "event_meta.h"
#include "fev/fev.h"

struct event_source {
	const char *name, *inst;
	bool watch_stdout; /* stop (-EPIPE) when stdout's reader is gone */
	/* Not consuming: */
	fev_tail *tail;
	uint8_t *buf;
	size_t cap;
	/* Consuming (--group): one handle per partition, in turns. */
	fev_queue **parts;
	uint32_t partitions, turn, first_partition;
};

/* The options tail and record share, for getopt_long. */
enum {
	SOURCE_OPT_KEY_HEX = 0x2000,
	SOURCE_OPT_HEADER_HEX,
	SOURCE_OPT_FROM,
	SOURCE_OPT_CPU, /* --cpu PCT: tail and record, not in SOURCE_LONGOPTS */
};
#define SOURCE_LONGOPTS                                                      \
	{ "key", required_argument, NULL, 'k' },                             \
		{ "key-hex", required_argument, NULL, SOURCE_OPT_KEY_HEX },  \
		{ "header", required_argument, NULL, 'H' },                  \
		{ "header-hex", required_argument, NULL,                     \
		  SOURCE_OPT_HEADER_HEX },                                   \
		{ "from", required_argument, NULL, SOURCE_OPT_FROM },        \
		{ "count", required_argument, NULL, 'n' }

/*
 * Option c of cmd if it is one of SOURCE_LONGOPTS ('k', 'H', 'n' and the
 * others): FEV_EXIT_OK or the exit status after saying why not; -1 when c
 * is not one of them.
 */
int source_option(int c, const char *cmd, struct pub_meta *filter,
		  int *from, uint64_t *count);

/* --cpu PCT of cmd into *percent (1 .. FEV_TAIL_CPU_FULL): FEV_EXIT_OK, or
 * the exit status after saying why not. */
int source_parse_cpu(const char *cmd, const char *arg, uint32_t *percent);

/* FEV_EXIT_OK, or the exit status after saying why not.  cpu_percent: the
 * tail's budget (fev_tail_opts). */
int source_open_tail(struct event_source *s, const char *name,
		     const char *inst, int from, uint32_t cpu_percent);
int source_open_group(struct event_source *s, const char *name,
		      const char *inst, const char *group);
/*
 * The next event: 0; -EINTR (Ctrl-C), -EPIPE (stdout's reader gone, when
 * watched), -ETIMEDOUT (none for idle_ns; -1: wait for ever), or another
 * error for source_failed().
 */
int source_next(struct event_source *s, fev_tail_event *te, int64_t idle_ns);
/* The caller is done with te (written out): a group member releases it. */
void source_done(struct event_source *s, fev_tail_event *te);
/* Say what went wrong; the exit status. */
int source_failed(const struct event_source *s, int rc);
int source_timed_out(const struct event_source *s, uint64_t got,
		     uint64_t want);
void source_close(struct event_source *s);

#endif /* FEV_TOOLS_EVENT_SOURCE_H */
