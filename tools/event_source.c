/*
 * Where fev tail and fev record read events (event_source.h).
 */
#include "event_source.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "memtrap.h"
#include "names.h"

/* Longest wait between two looks at Ctrl-C and stdout. */
#define SLICE_NS (250 * 1000 * 1000)
/* A group member of several partitions looks at them in turns, sleeping
 * this long when none has an event. */
#define GROUP_POLL_NS (1000 * 1000)

int source_option(int c, const char *cmd, struct pub_meta *filter,
		  int *from, uint64_t *count)
{
	switch (c) {
	case 'k':
		return pub_meta_key(filter, optarg, false);
	case SOURCE_OPT_KEY_HEX:
		return pub_meta_key(filter, optarg, true);
	case 'H':
		return pub_meta_header(filter, optarg, false);
	case SOURCE_OPT_HEADER_HEX:
		return pub_meta_header(filter, optarg, true);
	case SOURCE_OPT_FROM:
		if (strcmp(optarg, "latest") == 0)
			*from = FEV_TAIL_LATEST;
		else if (strcmp(optarg, "earliest") == 0)
			*from = FEV_TAIL_EARLIEST;
		else
			return cli_usage_error(cmd, "bad --from '%s': earliest "
						    "or latest",
					       optarg);
		return FEV_EXIT_OK;
	case 'n':
		if (!cli_parse_count(optarg, count) || *count == 0)
			return cli_usage_error(cmd, "bad --count '%s': a whole "
						    "number above 0",
					       optarg);
		return FEV_EXIT_OK;
	}
	return -1;
}

static int open_failed(const struct event_source *s, int rc)
{
	switch (rc) {
	case -ENOENT:
		cli_error("no queue or topic '%s' in instance %s: create it "
			  "with 'fev queue create %s' (or 'fev topic create') "
			  "or in fevd's config",
			  s->name, s->inst, s->name);
		break;
	case -EACCES:
		cli_error("permission denied on '%s' of instance %s: uid %u "
			  "may not read it (see 'ls -l /dev/shm/fev.%s.%s*')",
			  s->name, s->inst, (unsigned)geteuid(), s->inst,
			  s->name);
		break;
	case -EINVAL:
		cli_error("bad name '%s': a queue or topic name (1 to %d "
			  "characters of A-Z a-z 0-9 . _ -), or TOPIC@K",
			  s->name, FEV_NAME_MAX);
		return FEV_EXIT_USAGE;
	default:
		cli_error("cannot open '%s' of instance %s: %s", s->name,
			  s->inst, fev_strerror(rc));
	}
	return FEV_EXIT_ERROR;
}

int source_parse_cpu(const char *cmd, const char *arg, uint32_t *percent)
{
	uint64_t n;

	if (!cli_parse_count(arg, &n) || n == 0 || n > FEV_TAIL_CPU_FULL)
		return cli_usage_error(cmd, "bad --cpu '%s': a percent of a "
					    "CPU, 1 to %u",
				       arg, FEV_TAIL_CPU_FULL);
	*percent = (uint32_t)n;
	return FEV_EXIT_OK;
}

int source_open_tail(struct event_source *s, const char *name,
		     const char *inst, int from, uint32_t cpu_percent)
{
	fev_tail_opts o = { .struct_size = sizeof(o), .instance = inst,
			    .start = from, .cpu_percent = cpu_percent };
	int rc;

	*s = (struct event_source){ .name = name, .inst = inst,
				    .watch_stdout = true };
	/* Segments others can truncate must not kill the tail. */
	fev__memtrap_install();
	rc = fev_tail_open(name, &o, &s->tail);
	if (rc < 0)
		return open_failed(s, rc);
	s->cap = fev_tail_max_event(s->tail);
	s->buf = malloc(s->cap != 0 ? s->cap : 1);
	if (s->buf == NULL) {
		fev_tail_close(s->tail);
		cli_error("out of memory for a %zu-byte event", s->cap);
		return FEV_EXIT_ERROR;
	}
	return FEV_EXIT_OK;
}

/* Open partition k of a group member's source as a consumer. */
static int open_member(struct event_source *s, const char *group, uint32_t k)
{
	fev_open_opts o = { .struct_size = sizeof(o), .instance = s->inst,
			    .group = group };
	char seg[FEV_NAME_MAX + FEV__PARTITION_SUFFIX_MAX + 1];
	const char *name = s->name;

	if (s->partitions > 1) {
		snprintf(seg, sizeof(seg), "%s" FEV__PARTITION_SEP "%u",
			 s->name, k);
		name = k == 0 ? s->name : seg;
	}
	return fev_open(name, FEV_CONSUMER, &o, &s->parts[k]);
}

int source_open_group(struct event_source *s, const char *name,
		      const char *inst, const char *group)
{
	size_t topic_len;
	uint32_t k;
	int rc;

	*s = (struct event_source){ .name = name, .inst = inst };
	if (fev__segment_name_parse(name, &topic_len, &k) < 0)
		return open_failed(s, -EINVAL);
	/* TOPIC@K: that partition alone; else every partition. */
	rc = name[topic_len] != '\0' ? 1 : fev_topic_stats(name, inst, NULL, 0);
	if (rc < 0)
		return open_failed(s, rc);
	s->partitions = (uint32_t)rc;
	s->first_partition = name[topic_len] != '\0' ? k : 0;
	s->parts = calloc(s->partitions, sizeof(*s->parts));
	if (s->parts == NULL) {
		cli_error("out of memory");
		return FEV_EXIT_ERROR;
	}
	for (k = 0; k < s->partitions; k++) {
		rc = open_member(s, group, k);
		/* The topic is there (its partitions were counted): what
		 * is missing is the group. */
		if (rc == -ENOENT && k == 0 && name[topic_len] == '\0') {
			cli_error("no group '%s' on '%s' of instance %s: "
				  "create it with 'fev group create %s %s'",
				  group, name, inst, name, group);
			source_close(s);
			return FEV_EXIT_ERROR;
		}
		if (rc < 0) {
			source_close(s);
			return open_failed(s, rc);
		}
	}
	return FEV_EXIT_OK;
}

/* Has whoever reads our output gone (a closed pipe polls POLLERR)? */
static bool stdout_gone(void)
{
	struct pollfd pfd = { .fd = STDOUT_FILENO, .events = 0 };

	return poll(&pfd, 1, 0) == 1 &&
	       (pfd.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0;
}

/* One look at every partition of a group member, in turns. */
static int member_next(struct event_source *s, fev_tail_event *te,
		       int64_t wait_ns)
{
	for (uint32_t i = 0; i < s->partitions; i++) {
		uint32_t k = (s->turn + i) % s->partitions;
		/* One partition: block in the library; several: look. */
		int rc = fev_acquire(s->parts[k], &te->ev,
				     s->partitions == 1 ? wait_ns : 0);

		if (rc == 0) {
			s->turn = (k + 1) % s->partitions;
			te->partition = s->first_partition + k;
			te->missed = 0;
			return 0;
		}
		if (rc == -EBADMSG)
			fprintf(stderr, "fev: skipped a corrupt event in '%s'\n",
				s->name);
		else if (rc != -EAGAIN && rc != -ETIMEDOUT)
			return rc;
	}
	if (s->partitions > 1)
		nanosleep(&(struct timespec){ .tv_nsec = GROUP_POLL_NS }, NULL);
	return -ETIMEDOUT;
}

static int look(struct event_source *s, fev_tail_event *te, int64_t wait_ns)
{
	int rc;

	if (s->tail == NULL)
		return member_next(s, te, wait_ns);
	rc = fev_tail_next(s->tail, te, s->buf, s->cap, wait_ns);
	if (rc == -EBADMSG) {
		fprintf(stderr, "fev: skipped a corrupt event in '%s'\n",
			s->name);
		return -ETIMEDOUT; /* look again */
	}
	return rc;
}

int source_next(struct event_source *s, fev_tail_event *te, int64_t idle_ns)
{
	uint64_t give_up = idle_ns < 0 ? UINT64_MAX :
					 fev__now_monotonic_ns() +
						 (uint64_t)idle_ns;

	for (;;) {
		uint64_t now = fev__now_monotonic_ns();
		int rc;

		if (cli_stop)
			return -EINTR;
		if (s->watch_stdout && stdout_gone())
			return -EPIPE;
		if (now >= give_up)
			return -ETIMEDOUT;
		rc = look(s, te,
			  give_up - now < SLICE_NS ? (int64_t)(give_up - now) :
						     SLICE_NS);
		if (rc != -ETIMEDOUT && rc != -EAGAIN)
			return rc;
		/* Idle: what was printed reaches a pipe's reader now. */
		fflush(stdout);
	}
}

void source_done(struct event_source *s, fev_tail_event *te)
{
	if (s->tail == NULL)
		fev_release(s->parts[te->partition - s->first_partition],
			    &te->ev);
}

int source_failed(const struct event_source *s, int rc)
{
	if (rc == -EIDRM)
		cli_error("'%s' was deleted%s", s->name,
			  s->tail != NULL ? " (or its segment truncated)" : "");
	else
		cli_error("reading '%s' failed: %s", s->name,
			  fev_strerror(rc));
	return FEV_EXIT_ERROR;
}

int source_timed_out(const struct event_source *s, uint64_t got,
		     uint64_t want)
{
	if (want == UINT64_MAX)
		return FEV_EXIT_OK; /* --timeout alone: an end, not a failure */
	cli_error("timed out: %llu of %llu events came from '%s'",
		  (unsigned long long)got, (unsigned long long)want, s->name);
	return FEV_EXIT_ERROR;
}

void source_close(struct event_source *s)
{
	fev_tail_close(s->tail);
	s->tail = NULL;
	free(s->buf);
	s->buf = NULL;
	for (uint32_t k = 0; s->parts != NULL && k < s->partitions; k++)
		if (s->parts[k] != NULL)
			fev_close(s->parts[k]);
	free(s->parts);
	s->parts = NULL;
}
