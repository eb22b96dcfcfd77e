#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fevconn_replace.h"

#define STATE_MAGIC "fev-otel-state 1"
#define STATE_RINGS_MAX 65536 /* lines read; a longer file is not ours */

static int parse_line(const char *line, struct fot_saved *s)
{
	char topic[FEV_NAME_MAX + 2];
	char extra;

	if (sscanf(line, "%64s %" SCNu64 " %" SCNu64 " %c", topic, &s->ino,
		   &s->next, &extra) != 3 ||
	    strlen(topic) > FEV_NAME_MAX || fev_queue_name_valid(topic) < 0)
		return -EBADMSG;
	strcpy(s->topic, topic);
	return 0;
}

int fot_state_load(const char *path, struct fot_saved **out, size_t *n)
{
	char line[256];
	struct fot_saved *v = NULL;
	size_t cnt = 0;
	int rc = 0;
	FILE *f = fopen(path, "r");

	*out = NULL;
	*n = 0;
	if (f == NULL)
		return errno == ENOENT ? 0 : -errno;
	if (fgets(line, sizeof(line), f) == NULL ||
	    strcmp(line, STATE_MAGIC "\n") != 0)
		rc = -EBADMSG;
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		struct fot_saved *grown;

		if (cnt == STATE_RINGS_MAX) {
			rc = -EBADMSG;
			break;
		}
		grown = realloc(v, (cnt + 1) * sizeof(*v));
		if (grown == NULL) {
			rc = -ENOMEM;
			break;
		}
		v = grown;
		rc = parse_line(line, &v[cnt]);
		cnt += rc == 0;
	}
	fclose(f);
	if (rc < 0) {
		free(v);
		return rc;
	}
	*out = v;
	*n = cnt;
	return 0;
}

const struct fot_saved *fot_state_find(const struct fot_saved *v, size_t n,
				       const char *topic)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].topic, topic) == 0)
			return &v[i];
	return NULL;
}

int fot_state_save(const char *path, struct fot_ring *const *rings, size_t n,
		   const struct fot_sink *s)
{
	struct fevconn_replace r;
	int rc = fevconn_replace_open(&r, path);

	if (rc < 0)
		return rc;
	fputs(STATE_MAGIC "\n", r.f);
	for (size_t i = 0; i < n; i++)
		fprintf(r.f, "%s %" PRIu64 " %" PRIu64 "\n", rings[i]->topic,
			(uint64_t)rings[i]->hops.ino,
			fot_sink_hold(s, rings[i]->topic, rings[i]->next));
	/* Whole on disk before the rename makes it the state. */
	return fevconn_replace_commit(&r, true);
}
