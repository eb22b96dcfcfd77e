/*
 * fev-keyed's fevd (keyed_fevd.h).  Its log goes to /dev/null: the run's
 * own errors say what failed (a member that gets no partitions times out
 * at open).
 */
#include "keyed_fevd.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shared.h"

#ifndef FEV_BENCH_FEVD_BUILT
#define FEV_BENCH_FEVD_BUILT "fevd"
#endif
/* fevd binds its socket within milliseconds; a loaded machine is slow. */
#define FEVD_START_WAIT_NS (10ull * 1000 * 1000 * 1000)

static const char *fevd_binary(void)
{
	const char *env = getenv("FEV_BENCH_FEVD");

	return env != NULL && env[0] != '\0' ? env : FEV_BENCH_FEVD_BUILT;
}

static void path_in(const struct keyed_fevd *f, const char *name, char *buf,
		    size_t n)
{
	snprintf(buf, n, "%s/%s", f->dir, name);
}

/* A config of no queues: the embedded default would make "events". */
static int write_config(const struct keyed_fevd *f, const char *instance)
{
	char conf[PATH_MAX + 16], sock[PATH_MAX + 16], pid[PATH_MAX + 16];
	FILE *out;

	path_in(f, "fevd.conf", conf, sizeof(conf));
	path_in(f, "ctl.sock", sock, sizeof(sock));
	path_in(f, "fevd.pid", pid, sizeof(pid));
	out = fopen(conf, "we");
	if (out == NULL)
		return -errno;
	fprintf(out,
		"[fabric]\ninstance = %s\ncontrol_socket = %s\n"
		"pidfile = %s\n",
		instance, sock, pid);
	return fclose(out) == 0 ? 0 : -EIO;
}

static void exec_fevd(const struct keyed_fevd *f)
{
	char conf[PATH_MAX + 16];
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

	path_in(f, "fevd.conf", conf, sizeof(conf));
	if (null >= 0) {
		dup2(null, 1);
		dup2(null, 2);
	}
	unsetenv("NOTIFY_SOCKET");
	execlp(fevd_binary(), "fevd", "--config", conf, (char *)NULL);
	_exit(127);
}

static void remove_dir(const struct keyed_fevd *f)
{
	static const char *const files[] = { "ctl.sock", "fevd.pid",
					     "fevd.conf", "ctl.sock.trusted" };
	char path[PATH_MAX + 32];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		path_in(f, files[i], path, sizeof(path));
		unlink(path);
	}
	rmdir(f->dir);
}

/* Until the pidfile exists: fevd adopted the instance by then. */
static int wait_ready(struct keyed_fevd *f)
{
	char pid[PATH_MAX + 16];
	uint64_t give_up = bench_now_ns() + FEVD_START_WAIT_NS;
	struct stat st;
	int status;

	path_in(f, "fevd.pid", pid, sizeof(pid));
	while (stat(pid, &st) < 0) {
		if (waitpid(f->pid, &status, WNOHANG) == f->pid) {
			f->pid = 0;
			fprintf(stderr, "fev-bench: %s exited at start (set "
					"FEV_BENCH_FEVD to fevd's path)\n",
				fevd_binary());
			return -ECHILD;
		}
		if (bench_now_ns() > give_up)
			return -ETIMEDOUT;
		usleep(1000);
	}
	return 0;
}

int keyed_fevd_start(struct keyed_fevd *f, const char *instance)
{
	int rc;

	snprintf(f->dir, sizeof(f->dir), "/tmp/fev-bench-fevd-XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		f->dir[0] = '\0';
		return -errno;
	}
	rc = write_config(f, instance);
	if (rc < 0) {
		keyed_fevd_stop(f);
		return rc;
	}
	f->pid = fork();
	if (f->pid < 0) {
		rc = -errno;
		f->pid = 0;
		keyed_fevd_stop(f);
		return rc;
	}
	if (f->pid == 0)
		exec_fevd(f);
	rc = wait_ready(f);
	if (rc < 0)
		keyed_fevd_stop(f);
	return rc;
}

void keyed_fevd_stop(struct keyed_fevd *f)
{
	if (f->pid > 0) {
		kill(f->pid, SIGTERM);
		waitpid(f->pid, NULL, 0);
		f->pid = 0;
	}
	if (f->dir[0] != '\0')
		remove_dir(f);
	f->dir[0] = '\0';
}
