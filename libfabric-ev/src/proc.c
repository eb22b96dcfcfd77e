/*
 * Processes: identity and the liveness rule (see proc.h), from /proc.
 */
#include "proc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROC_PATH_MAX 64

/* Read a small /proc file into buf (NUL-terminated); 0 or -errno. */
static int read_small(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n <= 0)
		return n == 0 ? -EIO : (int)n;
	buf[n] = '\0';
	return 0;
}

/* Start time and state of the stat file at path. */
static int stat_file(const char *path, uint64_t *start_time, char *state)
{
	char buf[1024];
	unsigned long long start = 0;
	const char *p;
	int field, rc = read_small(path, buf, sizeof(buf));

	if (rc < 0)
		return rc;
	/* The command name may hold spaces and ')': fields follow the last. */
	p = strrchr(buf, ')');
	if (p == NULL || p[1] != ' ' || p[2] == '\0')
		return -EIO;
	if (state != NULL)
		*state = p[2];
	/* After ") " comes field 3 (state); the start time is field 22. */
	for (field = 2; field < 22 && *p != '\0'; p++)
		if (*p == ' ')
			field++;
	if (field != 22 || sscanf(p, "%llu", &start) != 1)
		return -EIO;
	if (start_time != NULL)
		*start_time = start;
	return 0;
}

int fev__proc_stat(int pid, uint64_t *start_time, char *state)
{
	char path[PROC_PATH_MAX];

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	return stat_file(path, start_time, state);
}

int fev__proc_start_time(int pid, uint64_t *out)
{
	return fev__proc_stat(pid, out, NULL);
}

/* Inode of the pid namespace of /proc/WHO ("self" or a pid); 0 if hidden. */
static uint64_t pidns_of(const char *who)
{
	char path[PROC_PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%.16s/ns/pid", who);
	return stat(path, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

/*
 * The NSpid line of /proc/WHO/status: the process's pid in every pid
 * namespace from the one /proc was mounted in down to its own.  *count
 * gets how many, *last its pid in its own namespace.  0 or -errno.
 */
static int nspid_of(const char *who, int *count, long *last)
{
	char path[PROC_PATH_MAX], buf[4096];
	const char *p;
	int rc;

	snprintf(path, sizeof(path), "/proc/%.16s/status", who);
	rc = read_small(path, buf, sizeof(buf));
	if (rc < 0)
		return rc;
	p = strstr(buf, "\nNSpid:");
	if (p == NULL)
		return -ENOTSUP; /* kernel before 4.1 */
	*count = 0;
	for (p += 7; *p != '\n' && *p != '\0';) {
		char *end;
		long v = strtol(p, &end, 10);

		if (end == p)
			break;
		*last = v;
		(*count)++;
		p = end;
	}
	return *count > 0 ? 0 : -EIO;
}

/*
 * Whether /proc's pids are ours: /proc mounted in an ancestor pid namespace
 * (a container that did not mount its own) shows pids that are not what
 * getpid() and our attachers see.  Then nothing can be checked.
 */
static bool proc_is_ours(void)
{
	int count = 1;
	long last = 0;
	int rc = nspid_of("self", &count, &last);

	return rc == -ENOTSUP || (rc == 0 && count == 1);
}

/*
 * Whether /proc hides other users' processes (hidepid=1, 2, invisible,
 * noaccess): then a process missing from it is not known to be gone.
 */
static bool proc_hides_pids(void)
{
	char line[1024];
	bool hides = false;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (f == NULL)
		return true;
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *opt = strstr(line, " - proc ");

		if (opt == NULL || strstr(line, " /proc ") == NULL)
			continue;
		opt = strstr(opt, "hidepid=");
		hides = opt != NULL && strncmp(opt + 8, "0", 1) != 0 &&
			strncmp(opt + 8, "off", 3) != 0;
	}
	fclose(f);
	return hides;
}

static bool zombie(char state)
{
	return state == 'Z' || state == 'X';
}

/*
 * The leader of pid is a zombie: the process runs on while any other
 * thread does (pthread_exit() in main).
 */
static enum fev__life any_thread_runs(int32_t pid)
{
	char path[PROC_PATH_MAX];
	enum fev__life life = FEV__LIFE_DEAD;
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (d == NULL)
		return errno == ENOENT ? FEV__LIFE_DEAD : FEV__LIFE_UNCHECKED;
	while ((e = readdir(d)) != NULL && life != FEV__LIFE_ALIVE) {
		char state = 'Z';
		int rc;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/stat",
			 (int)pid, e->d_name);
		rc = stat_file(path, NULL, &state);
		if (rc == 0 && !zombie(state))
			life = FEV__LIFE_ALIVE;
		else if (rc < 0 && rc != -ENOENT)
			life = FEV__LIFE_UNCHECKED; /* a thread we cannot see */
	}
	closedir(d);
	return life;
}

enum fev__life fev__local_pid_life(int32_t pid, uint64_t start_time)
{
	uint64_t now_start;
	char state;

	if (pid <= 0 || pid > FEV__PID_MAX)
		return FEV__LIFE_DEAD; /* no namespace has such a pid */
	if (fev__proc_stat(pid, &now_start, &state) < 0)
		/* Hidden from us (hidepid) is not gone: ask the kernel. */
		return kill(pid, 0) == 0 || errno == EPERM ?
			       FEV__LIFE_UNCHECKED :
			       FEV__LIFE_DEAD;
	if (start_time != 0 && now_start != start_time)
		return FEV__LIFE_DEAD; /* the pid was reused */
	return zombie(state) ? any_thread_runs(pid) : FEV__LIFE_ALIVE;
}

/*
 * Find the process that has pid in namespace pidns among those our /proc
 * shows.  See proc.h for when absence proves death.
 */
static enum fev__life foreign_life(const struct fev__identity *id,
				   int32_t *local_pid)
{
	bool ns_visible = false, blind = proc_hides_pids();
	int32_t found;
	struct dirent *e;
	DIR *d = opendir("/proc");

	if (d == NULL)
		return FEV__LIFE_UNCHECKED;
	while ((e = readdir(d)) != NULL) {
		int count = 0;
		long last = 0;
		uint64_t ns;
		int rc;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		rc = nspid_of(e->d_name, &count, &last);
		if (rc < 0) {
			blind |= rc != -ENOENT; /* ENOENT: it just exited */
			continue;
		}
		if (count < 2 || (ns_visible && last != id->pid))
			continue; /* one of ours, or not the one */
		ns = pidns_of(e->d_name);
		if (ns == 0) {
			blind |= errno != ENOENT; /* EACCES: not ours */
			continue;
		}
		if (ns != id->pidns)
			continue;
		ns_visible = true;
		if (last != id->pid)
			continue;
		found = (int32_t)atol(e->d_name);
		closedir(d); /* e is gone with it */
		if (local_pid != NULL)
			*local_pid = found;
		return fev__local_pid_life(found, id->start_time);
	}
	closedir(d);
	return ns_visible && !blind ? FEV__LIFE_DEAD : FEV__LIFE_UNCHECKED;
}

static _Atomic uint64_t own_pidns; /* 0: not read yet, or unreadable */

/* Our pid namespace, if /proc shows pids as we see them; else 0. */
static uint64_t local_pidns(void)
{
	/* Relaxed: every thread computes the same value; it never changes
	 * (unshare(CLONE_NEWPID) and setns move only our children). */
	uint64_t ns = atomic_load_explicit(&own_pidns, memory_order_relaxed);

	if (ns == 0 && proc_is_ours()) {
		ns = pidns_of("self");
		atomic_store_explicit(&own_pidns, ns, memory_order_relaxed);
	}
	return ns;
}

void fev__identity_self(struct fev__identity *id)
{
	*id = (struct fev__identity){ .pid = (int32_t)getpid() };
	/* /proc/self, not /proc/PID: in a pid namespace whose /proc is the
	 * host's, our pid names another process there. */
	if (stat_file("/proc/self/stat", &id->start_time, NULL) < 0)
		id->start_time = 0;
	id->pidns = pidns_of("self");
}

static enum fev__life life_of(const struct fev__identity *id,
			      int32_t *local_pid, bool search)
{
	uint64_t ns;

	if (local_pid != NULL)
		*local_pid = 0;
	if (id->pid <= 0 || id->pid > FEV__PID_MAX)
		return FEV__LIFE_DEAD; /* no namespace has such a pid */
	if (id->pidns == 0 || id->start_time == 0)
		return FEV__LIFE_UNCHECKED; /* it could not say who it is */
	ns = local_pidns();
	if (ns == 0)
		return FEV__LIFE_UNCHECKED; /* we cannot say who we see */
	if (id->pidns != ns)
		return search ? foreign_life(id, local_pid) :
				FEV__LIFE_UNCHECKED;
	if (local_pid != NULL)
		*local_pid = id->pid;
	return fev__local_pid_life(id->pid, id->start_time);
}

enum fev__life fev__process_life(const struct fev__identity *id,
				 int32_t *local_pid)
{
	return life_of(id, local_pid, true);
}

enum fev__life fev__process_life_quick(const struct fev__identity *id)
{
	return life_of(id, NULL, false);
}

const char *fev__life_name(enum fev__life life)
{
	switch (life) {
	case FEV__LIFE_DEAD:
		return "dead";
	case FEV__LIFE_ALIVE:
		return "alive";
	default:
		return "unchecked";
	}
}
