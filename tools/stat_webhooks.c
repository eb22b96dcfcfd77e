/*
 * The counters of a configured fev-webhooks in `fev stat --json` and
 * `--prometheus`: the output of `fev-webhooks ctl status`, which owns the
 * database and the series (common/prom/fevprom_webhooks.h), so the two
 * can never disagree.
 */
#include <errno.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "webhooks.h"

extern char **environ;

static int read_all(int fd, struct out_buf *b)
{
	char chunk[4096];
	ssize_t n;

	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		ob_write(b, chunk, (size_t)n);
	}
	return b->oom ? -ENOMEM : 0;
}

int webhooks_stat(const char *config, bool json, struct out_buf *b)
{
	char path[4096];
	const char *prog = webhooks_program(path, sizeof(path));
	char *argv[] = { (char *)prog, (char *)"ctl", (char *)"--config",
			 (char *)config, (char *)"status",
			 (char *)(json ? "--json" : "--prometheus"), NULL };
	struct out_buf got = { 0 };
	posix_spawn_file_actions_t fa;
	int pfd[2], rc, status;
	pid_t pid;

	if (pipe(pfd) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], STDOUT_FILENO);
	posix_spawn_file_actions_addclose(&fa, pfd[0]);
	rc = -posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (rc < 0) {
		close(pfd[0]);
		cli_error("cannot run %s for the webhook counters (install "
			  "fev-webhooks, or set FEV_WEBHOOKS to its path)",
			  prog);
		return rc;
	}
	rc = read_all(pfd[0], &got);
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (rc == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
		rc = -EIO; /* it said why on stderr */
	if (rc == 0)
		ob_write(b, got.p, got.len);
	ob_free(&got);
	return rc;
}
