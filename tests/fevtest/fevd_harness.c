#include "fevd_harness.h"
#include "fevtest.h"
#include "instance_lock.h"
#include "segment.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#ifndef FEVD_BINARY
#error "FEVD_BINARY: path of the fevd executable under test"
#endif

void fh_init(struct fh *h)
{
	memset(h, 0, sizeof(*h));
	snprintf(h->dir, sizeof(h->dir), "/tmp/fevd-test-XXXXXX");
	if (mkdtemp(h->dir) == NULL)
		fail_msg("mkdtemp: %s", strerror(errno));
	chmod(h->dir, 0755); /* unprivileged children reach the socket */
	/* One counter with fevtest_instance(): no instance is handed out twice. */
	fevtest_instance(h->instance);
	snprintf(h->sock, sizeof(h->sock), "%s/ctl.sock", h->dir);
	snprintf(h->pidfile, sizeof(h->pidfile), "%s/fevd.pid", h->dir);
	snprintf(h->conf, sizeof(h->conf), "%s/fevd.conf", h->dir);
	snprintf(h->log, sizeof(h->log), "%s/fevd.log", h->dir);
}

static void remove_dir(const char *dir)
{
	char path[512];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) < 0 && (errno == EISDIR || errno == EPERM))
			remove_dir(path); /* fevd's admin/ of a killed fevd */
	}
	closedir(d);
	rmdir(dir);
}

void fh_cleanup(struct fh *h)
{
	char lock[PATH_MAX];

	if (h->fevd > 0)
		fh_kill(h);
	fevtest_unlink_segments(h->instance);
	/* A SIGKILLed fevd leaves its instance lock file behind. */
	if (fevd_instance_lock_path(h->instance, lock, sizeof(lock)) == 0)
		unlink(lock);
	if (getenv("FEVD_TEST_KEEP") == NULL)
		remove_dir(h->dir);
	else
		fprintf(stderr, "kept %s\n", h->dir);
	if (fevtest_shm_count(h->instance) != 0)
		fail_msg("instance %s left segments in /dev/shm", h->instance);
}

int fh_setup(void **state)
{
	static struct fh h;

	fh_init(&h);
	*state = &h;
	return 0;
}

int fh_setup_with_queues(void **state, const char *queues)
{
	static struct fh_ctx c;

	fh_init_with_queues(&c.h, &c.o, queues);
	*state = &c;
	return 0;
}

int fh_teardown(void **state)
{
	fh_cleanup(*state);
	return 0;
}

void fh_init_with_queues(struct fh *h, fev_open_opts *o, const char *queues)
{
	fh_init(h);
	*o = (fev_open_opts){ .struct_size = sizeof(*o),
			      .instance = h->instance };
	fh_write_config(h, "", queues);
}

void fh_write_config(struct fh *h, const char *fabric_extra,
		     const char *rest)
{
	FILE *f = fopen(h->conf, "w");

	if (f == NULL)
		fail_msg("%s: %s", h->conf, strerror(errno));
	fprintf(f,
		"[fabric]\ninstance = %s\ncontrol_socket = %s\n"
		"pidfile = %s\n%s\n%s",
		h->instance, h->sock, h->pidfile, fabric_extra, rest);
	fclose(f);
}

pid_t fh_spawn(struct fh *h, const char *const *args)
{
	const char *argv[32] = { FEVD_BINARY };
	int n = 1;
	pid_t pid;

	while (args[n - 1] != NULL && n < 31) {
		argv[n] = args[n - 1];
		n++;
	}
	argv[n] = NULL;
	pid = fork();
	if (pid < 0)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open(h->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			      0644);
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (fd >= 0)
			dup2(fd, 2);
		if (h->notify[0] != '\0')
			setenv("NOTIFY_SOCKET", h->notify, 1);
		else
			unsetenv("NOTIFY_SOCKET");
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

void fh_start(struct fh *h)
{
	int ready = fh_log_count(h, "ready:");
	struct stat st;

	if (stat(h->conf, &st) == 0) {
		const char *args[] = { "--config", h->conf, NULL };

		h->fevd = fh_spawn(h, args);
	} else {
		const char *args[] = { "--instance",	   h->instance,
				       "--control-socket", h->sock,
				       "--pidfile",	   h->pidfile,
				       NULL };

		h->fevd = fh_spawn(h, args);
	}
	for (uint64_t end = fevtest_now_ns() + 5000000000ull; fevtest_now_ns() < end;
	     fevtest_sleep_ms(5)) {
		if (fh_log_count(h, "ready:") > ready)
			return;
		if (waitpid(h->fevd, NULL, WNOHANG) == h->fevd) {
			h->fevd = 0;
			fail_msg("fevd exited before ready (log %s)", h->log);
		}
	}
	fail_msg("fevd not ready within 5 s (log %s)", h->log);
}

int fh_stop(struct fh *h)
{
	int status;

	if (h->fevd <= 0)
		return -1;
	kill(h->fevd, SIGTERM);
	status = fevtest_wait(h->fevd, 5000);
	h->fevd = 0;
	return status;
}

void fh_kill(struct fh *h)
{
	if (h->fevd <= 0)
		return;
	kill(h->fevd, SIGKILL);
	waitpid(h->fevd, NULL, 0);
	h->fevd = 0;
}

static char *read_log(const struct fh *h)
{
	return fevtest_read_file(h->log);
}

int fh_log_count(const struct fh *h, const char *needle)
{
	char *log = read_log(h);
	int n = 0;

	for (char *p = log; p != NULL && (p = strstr(p, needle)) != NULL;
	     p += strlen(needle))
		n++;
	free(log);
	return n;
}

bool fh_log_has(const struct fh *h, const char *needle, unsigned timeout_ms)
{
	uint64_t end = fevtest_now_ns() + (uint64_t)timeout_ms * 1000000u;

	for (;;) {
		if (fh_log_count(h, needle) > 0)
			return true;
		if (fevtest_now_ns() >= end)
			return false;
		fevtest_sleep_ms(5);
	}
}

int fh_request(const char *sock, const char *req, char *reply, size_t len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	ssize_t n;
	int rc;

	reply[0] = '\0';
	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    send(fd, req, strlen(req), MSG_NOSIGNAL) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	n = recv(fd, reply, len - 1, 0);
	rc = n < 0 ? -errno : 0;
	close(fd);
	if (n <= 0)
		return n == 0 ? -ECONNRESET : rc;
	reply[n] = '\0';
	return atoi(reply);
}

