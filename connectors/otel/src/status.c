#include "status.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fevconn_replace.h"

int fot_status_write(const char *path, const struct fot_export *e,
		     const struct fot_sink *s, struct fot_ring *const *rings,
		     size_t n)
{
	char err[sizeof(e->n.last_error)];
	struct fevconn_replace r;
	FILE *f;
	int rc = fevconn_replace_open(&r, path);

	if (rc < 0)
		return rc;
	f = r.f;
	memcpy(err, e->n.last_error, sizeof(err));
	fevconn_one_line(err);
	fprintf(f, "fev-otel 1\npid %ld\ntime %lld\nendpoint %s\n"
		   "exported %" PRIu64 "\ndropped %" PRIu64 "\nfailed %" PRIu64
		   "\nmissed %" PRIu64 "\nopen %zu\nbatched %zu\n"
		   "last_error %s\n",
		(long)getpid(), (long long)time(NULL), e->cfg->endpoint,
		e->n.exported, e->n.dropped, e->n.failed, e->n.missed,
		s->nopen, s->n, err);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "ring %s next %" PRIu64 " missed %" PRIu64 "\n",
			rings[i]->topic, rings[i]->next, rings[i]->missed);
	return fevconn_replace_commit(&r, false);
}

int fot_status_main(const char *path)
{
	char line[FEVOTLP_ERR_MAX + 64];
	long pid = 0;
	bool running;
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		fprintf(stderr, "fev-otel: cannot read the status file %s: "
				"%s (is fev-otel running with this config?)\n",
			path, strerror(errno));
		return 1;
	}
	if (fgets(line, sizeof(line), f) == NULL ||
	    strcmp(line, "fev-otel 1\n") != 0) {
		fprintf(stderr, "fev-otel: %s is not a fev-otel status file\n",
			path);
		fclose(f);
		return 2;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "pid %ld", &pid) == 1)
			continue;
		fputs(line, stdout);
	}
	fclose(f);
	running = pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
	printf("running %s (pid %ld)\n", running ? "yes" : "no", pid);
	return running ? 0 : 1;
}
