#include "fevtest.h"
#include "segment.h"

#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

void fevtest_instance(char buf[FEV_INSTANCE_MAX + 1])
{
	static unsigned counter;

	snprintf(buf, FEV_INSTANCE_MAX + 1, "t%dx%u", (int)getpid(),
		 counter++);
}

void fevtest_create(const char *inst, const char *name, uint32_t capacity,
		    uint32_t max_event, int policy)
{
	fev_queue_config cfg = {
		.struct_size = sizeof(cfg),
		.capacity = capacity,
		.max_event = max_event,
		.policy = policy,
	};
	int rc = fev_queue_create(name, &cfg, inst);

	if (rc != 0)
		fail_msg("fev_queue_create(%s, %s): %s", inst, name,
			 fev_strerror(rc));
}

fev_queue *fevtest_open(const char *inst, const char *name, unsigned roles,
			uint32_t flags)
{
	fev_open_opts o = {
		.struct_size = sizeof(o),
		.instance = inst,
		.flags = flags,
	};
	fev_queue *q = NULL;
	int rc = fev_open(name, roles, &o, &q);

	if (rc != 0)
		fail_msg("fev_open(%s, %s): %s", inst, name, fev_strerror(rc));
	return q;
}

/* Calls fn on every /dev/shm entry of inst; returns how many there were. */
static int for_each_shm(const char *inst, void (*fn)(const char *inst,
						      const char *queue))
{
	char prefix[FEV_INSTANCE_MAX + 8];
	size_t plen;
	struct dirent *e;
	DIR *d = opendir("/dev/shm");
	int n = 0;

	if (d == NULL)
		return 0;
	plen = (size_t)snprintf(prefix, sizeof(prefix), "fev.%s", inst);
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, prefix, plen) != 0 ||
		    (e->d_name[plen] != '\0' && e->d_name[plen] != '.'))
			continue;
		n++;
		if (fn != NULL && e->d_name[plen] == '.')
			fn(inst, e->d_name + plen + 1);
	}
	closedir(d);
	return n;
}

int fevtest_shm_count(const char *inst)
{
	return for_each_shm(inst, NULL);
}

static void delete_one(const char *inst, const char *queue)
{
	fev_queue_delete(queue, inst);
}

void fevtest_cleanup(const char *inst)
{
	for_each_shm(inst, delete_one);
}

void fevtest_assert_no_leftovers(const char *inst)
{
	int n = fevtest_shm_count(inst);

	if (n != 0) {
		fevtest_cleanup(inst);
		fail_msg("%d segment(s) of instance %s left in /dev/shm", n,
			 inst);
	}
}

uint64_t fevtest_now_ns(void)
{
	return fev__now_monotonic_ns();
}

uint64_t fevtest_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void fevtest_sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

uint64_t fevtest_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * UINT64_C(2685821657736338717);
}

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#define MAX_CHILDREN 64
static int children[MAX_CHILDREN];

static void remember_child(int pid)
{
	for (int i = 0; i < MAX_CHILDREN; i++)
		if (children[i] == 0) {
			children[i] = pid;
			return;
		}
}

static void forget_child(int pid)
{
	for (int i = 0; i < MAX_CHILDREN; i++)
		if (children[i] == pid)
			children[i] = 0;
}

int fevtest_spawn(char *const argv[], int keep_fd)
{
	int pid = fork();

	if (pid < 0)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		/* dup2 to another number clears close-on-exec. */
		if (keep_fd >= 0 && dup2(keep_fd, FEVTEST_CHILD_FD) < 0)
			_exit(126);
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	remember_child(pid);
	return pid;
}

int fevtest_fork(int (*fn)(void *arg), void *arg)
{
	int pid = fork();

	if (pid < 0)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0)
		_exit(fn(arg));
	remember_child(pid);
	return pid;
}

int fevtest_wait(int pid, unsigned timeout_ms)
{
	uint64_t deadline = fevtest_now_ns() + (uint64_t)timeout_ms * 1000000u;
	int status;

	for (;;) {
		int rc = waitpid(pid, &status, WNOHANG);

		if (rc == pid)
			break;
		if (rc < 0 && errno != EINTR)
			fail_msg("waitpid %d: %s", pid, strerror(errno));
		if (fevtest_now_ns() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			forget_child(pid);
			fail_msg("child %d still running after %u ms: killed",
				 pid, timeout_ms);
		}
		fevtest_sleep_ms(2);
	}
	forget_child(pid);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

void fevtest_kill_children(void)
{
	for (int i = 0; i < MAX_CHILDREN; i++)
		if (children[i] > 0) {
			kill(children[i], SIGKILL);
			waitpid(children[i], NULL, 0);
			children[i] = 0;
		}
}
