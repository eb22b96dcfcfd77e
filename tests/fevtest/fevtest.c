#include "fevtest.h"
#include "clock.h"
#include "hops.h"
#include "segment.h"

#include <dirent.h>
#include <limits.h>
#include <poll.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

void fevtest_instance(char buf[FEV_INSTANCE_MAX + 1])
{
	static unsigned counter;

	snprintf(buf, FEV_INSTANCE_MAX + 1, "t%dx%u", (int)getpid(),
		 counter++);
}

int fevtest_setup(void **state, unsigned hang_s)
{
	static struct fevtest_ctx c;

	fevtest_instance(c.inst);
	*state = &c;
	alarm(hang_s);
	return 0;
}

int fevtest_teardown(void **state)
{
	struct fevtest_ctx *c = *state;

	alarm(0);
	fevtest_kill_children();
	fevtest_assert_no_leftovers(c->inst);
	return 0;
}

void fevtest_assert_line_error(size_t i, const char *text, int rc,
			       const char *err, const char *file,
			       unsigned line, const char *reason)
{
	char want[PATH_MAX + 16];

	if (rc != -EINVAL)
		fail_msg("snippet %zu accepted (rc %d): %s", i, rc, text);
	snprintf(want, sizeof(want), "%s:%u: ", file, line);
	if (strncmp(err, want, strlen(want)) != 0 ||
	    strstr(err, reason) == NULL)
		fail_msg("snippet %zu: got \"%s\", want \"%s...%s\"", i, err,
			 want, reason);
}

void fevtest_create_topic(const char *inst, const char *name,
			  uint32_t partitions, uint32_t capacity,
			  uint32_t max_event)
{
	fev_queue_config cfg = {
		.struct_size = sizeof(cfg),
		.capacity = capacity,
		.max_event = max_event,
	};
	int rc = fev_topic_create(name, partitions, &cfg, inst);

	if (rc != 0)
		fail_msg("fev_topic_create(%s, %u): %s", name, partitions,
			 fev_strerror(rc));
}

void fevtest_create_sync(const char *inst, const char *name,
			 uint32_t capacity, uint32_t max_event, int policy,
			 uint32_t sync)
{
	fev_queue_config cfg = {
		.struct_size = sizeof(cfg),
		.capacity = capacity,
		.max_event = max_event,
		.policy = policy,
		.sync = sync,
	};
	int rc = fev_queue_create(name, &cfg, inst);

	if (rc != 0)
		fail_msg("fev_queue_create(%s, %s): %s", inst, name,
			 fev_strerror(rc));
}

void fevtest_create(const char *inst, const char *name, uint32_t capacity,
		    uint32_t max_event, int policy)
{
	fevtest_create_sync(inst, name, capacity, max_event, policy, 0);
}

int fevtest_queue_setup(void **state, struct fevtest_queue *f,
			const char *name, uint32_t capacity,
			uint32_t max_event, int policy)
{
	fevtest_instance(f->inst);
	snprintf(f->name, sizeof(f->name), "%s", name);
	fevtest_create(f->inst, f->name, capacity, max_event, policy);
	f->q = fevtest_open(f->inst, f->name, FEV_PRODUCER | FEV_CONSUMER, 0);
	*state = f;
	return 0;
}

int fevtest_queue_teardown(void **state)
{
	struct fevtest_queue *f = *state;

	fev_close(f->q);
	assert_int_equal(fev_queue_delete(f->name, f->inst), 0);
	fevtest_assert_no_leftovers(f->inst);
	return 0;
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

/*
 * Calls fn(inst, entry) on every /dev/shm entry of inst ("fev.<inst>" or
 * "fev.<inst>.*"); returns how many there were.
 */
static int for_each_shm(const char *inst,
			void (*fn)(const char *inst, const char *entry))
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
		if (fn != NULL)
			fn(inst, e->d_name);
	}
	closedir(d);
	return n;
}

static int hop_rings;

static void count_hop_ring(const char *inst, const char *entry)
{
	size_t n = strlen(entry), s = strlen(FEV__HOPS_SUFFIX);

	(void)inst;
	hop_rings += n > s && strcmp(entry + n - s, FEV__HOPS_SUFFIX) == 0;
}

int fevtest_shm_count(const char *inst)
{
	int n;

	hop_rings = 0;
	n = for_each_shm(inst, count_hop_ring);
	return n - hop_rings;
}

static void delete_one(const char *inst, const char *entry)
{
	const char *queue = entry + strlen("fev.") + strlen(inst);

	if (*queue == '.')
		fev_queue_delete(queue + 1, inst);
}

void fevtest_cleanup(const char *inst)
{
	for_each_shm(inst, delete_one);
}

static void unlink_one(const char *inst, const char *entry)
{
	char path[NAME_MAX + sizeof("/dev/shm/")];

	(void)inst;
	snprintf(path, sizeof(path), "/dev/shm/%s", entry);
	unlink(path);
}

void fevtest_unlink_segments(const char *inst)
{
	for_each_shm(inst, unlink_one);
}

void fevtest_assert_no_leftovers(const char *inst)
{
	int n = for_each_shm(inst, NULL); /* hop rings too */

	if (n != 0) {
		fevtest_cleanup(inst);
		fail_msg("%d segment(s) of instance %s left in /dev/shm", n,
			 inst);
	}
}

char *fevtest_read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = n < 0 ? NULL : calloc(1, (size_t)n + 1);
	if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
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

/* The write end of the pipe a fevtest_fork_ready() child reports on. */
static int ready_fd = -1;

int fevtest_fork_ready(int (*fn)(void *arg), void *arg)
{
	int fds[2], pid;
	char one;

	if (pipe(fds) != 0)
		fail_msg("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		close(fds[0]);
		ready_fd = fds[1];
		_exit(fn(arg));
	}
	remember_child(pid);
	close(fds[1]);
	if (read(fds[0], &one, 1) != 1) {
		close(fds[0]);
		fail_msg("child %d exited with %d before it was ready", pid,
			 fevtest_wait(pid, 1000));
	}
	close(fds[0]);
	return pid;
}

void fevtest_ready(void)
{
	char one = 1;

	if (write(ready_fd, &one, 1) != 1)
		_exit(125);
}

void fevtest_kill_and_reap(int pid)
{
	kill(pid, SIGKILL);
	fevtest_wait(pid, 5000);
}

/*
 * Sleeps until pid may have changed state or the deadline passes: poll()
 * on a pidfd wakes at the child's exit, with no polling loop costing CPU
 * beside the processes under test.  Where pidfd_open() is refused (Linux
 * before 5.3, a sandbox) it sleeps 2 ms instead.
 */
static void await_child(int pidfd, uint64_t deadline)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	uint64_t now = fevtest_now_ns();
	int ms;

	if (pidfd < 0) {
		fevtest_sleep_ms(2);
		return;
	}
	ms = now >= deadline ? 0 : (int)((deadline - now) / FEVTEST_MS) + 1;
	/*
	 * A signal the test catches ends poll() with EINTR whatever its
	 * SA_RESTART (poll is never restarted): the caller looks again and
	 * waits out the time left, so a signal never ends the wait early.
	 */
	if (poll(&p, 1, ms) < 0 && errno != EINTR)
		fail_msg("poll on the pidfd: %s", strerror(errno));
}

int fevtest_wait(int pid, unsigned timeout_ms)
{
	uint64_t deadline = fevtest_now_ns() + (uint64_t)timeout_ms * FEVTEST_MS;
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
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
		await_child(pidfd, deadline);
	}
	if (pidfd >= 0)
		close(pidfd);
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

#if defined(__x86_64__)
#define FEVTEST_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define FEVTEST_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

/* Append "if (A != k) goto allow" to a filter; allow is patched in later. */
static unsigned filter_unless(struct sock_filter *prog, unsigned n,
			      uint32_t offset, uint32_t k)
{
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						 offset);
	prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, k,
						 0, 0);
	return n;
}

void fevtest_refuse_syscall(long nr, long arg1, int err)
{
	struct sock_filter prog[8];
	struct sock_fprog fprog = { .filter = prog };
	unsigned n = 0;

	n = filter_unless(prog, n, offsetof(struct seccomp_data, arch),
			  FEVTEST_AUDIT_ARCH);
	n = filter_unless(prog, n, offsetof(struct seccomp_data, nr),
			  (uint32_t)nr);
	if (arg1 >= 0) /* the low half is enough for a futex operation */
		n = filter_unless(prog, n,
				  offsetof(struct seccomp_data, args[1]),
				  (uint32_t)arg1);
	prog[n++] = (struct sock_filter)BPF_STMT(
		BPF_RET | BPF_K,
		SECCOMP_RET_ERRNO | ((uint32_t)err & SECCOMP_RET_DATA));
	prog[n] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
					       SECCOMP_RET_ALLOW);
	/* Every "unless" jumps to the last instruction when it differs. */
	for (unsigned i = 1; i < n; i += 2)
		if (BPF_CLASS(prog[i].code) == BPF_JMP)
			prog[i].jf = (uint8_t)(n - (i + 1));
	fprog.len = (unsigned short)(n + 1);
	/* Unprivileged callers may install a filter only with this set. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) < 0)
		fail_msg("seccomp filter: %s", strerror(errno));
}

uint64_t fevtest_queue_sleeps(const char *inst, const char *queue)
{
	fev_stats st;

	assert_int_equal(fev_queue_stats(queue, inst, &st), 0);
	return st.sleeps;
}
