#include "connector.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

const char *connector_program(const char *env, const char *name, char *buf,
			      size_t len)
{
	const char *e = getenv(env);
	char self[PATH_MAX];
	ssize_t n;

	if (e != NULL && e[0] != '\0')
		return e;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		snprintf(buf, len, "%s/%s", dirname(self), name);
		if (access(buf, X_OK) == 0)
			return buf;
	}
	return name;
}

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

int connector_output(char *const argv[], const char *env, struct out_buf *b)
{
	struct out_buf got = { 0 };
	posix_spawn_file_actions_t fa;
	int pfd[2], rc, status;
	pid_t pid;

	if (pipe(pfd) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], STDOUT_FILENO);
	posix_spawn_file_actions_addclose(&fa, pfd[0]);
	rc = -posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (rc < 0) {
		close(pfd[0]);
		cli_error("cannot run %s for its counters (install it, or set "
			  "%s to its path)",
			  argv[0], env);
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

int connector_exec(char *const argv[], const char *env)
{
	if (cli_instance != NULL)
		setenv("FEV_INSTANCE", cli_instance, 1);
	execvp(argv[0], argv);
	cli_error("cannot run %s: %s (install it, or set %s to its path)",
		  argv[0], strerror(errno), env);
	return FEV_EXIT_ERROR;
}
