/*
 * The observer of fev-tail runs: a process that tails the bench's queue
 * for the whole run (fev_tail_*, as `fev tail` does), so that
 * `fev-bench thr --vs fev-tail` prices a tail attached to a queue at full
 * speed against the same queue without one, in the same run.
 */
#include "tail_observer.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fev/fev.h"

static volatile sig_atomic_t stop;

static uint64_t now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/* The child: tail until SIGTERM, then say what it saw. */
static void observe(const char *inst, const char *queue, int ready_fd)
{
	/* FEV_BENCH_TAIL_CPU: the tail's budget (fev_tail_opts.cpu_percent;
	 * unset: fev tail's default; 100: the tail unbounded). */
	const char *cpu = getenv("FEV_BENCH_TAIL_CPU");
	fev_tail_opts o = { .struct_size = sizeof(o), .instance = inst,
			    .start = FEV_TAIL_LATEST,
			    .cpu_percent = cpu != NULL ?
						   (uint32_t)strtoul(cpu, NULL, 10) :
						   0 };
	uint64_t seen = 0, wall0, cpu0;
	fev_tail_event te;
	fev_tail *t;
	void *buf;
	int rc;

	if (o.cpu_percent > FEV_TAIL_CPU_FULL) {
		fprintf(stderr, "fev-bench: FEV_BENCH_TAIL_CPU=%s: a percent "
				"of a CPU, 1 to %u (unset: fev tail's "
				"default)\n",
			cpu, FEV_TAIL_CPU_FULL);
		_exit(1);
	}
	rc = fev_tail_open(queue, &o, &t);
	if (rc < 0) {
		fprintf(stderr, "fev-bench: tail of %s: %s\n", queue,
			fev_strerror(rc));
		_exit(1);
	}
	buf = malloc(fev_tail_max_event(t));
	if (buf == NULL)
		_exit(1);
	(void)!write(ready_fd, "", 1); /* attached: the run may start */
	wall0 = now_ns(CLOCK_MONOTONIC);
	cpu0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
	while (!stop) {
		rc = fev_tail_next(t, &te, buf, fev_tail_max_event(t),
				   100 * 1000 * 1000);
		if (rc == 0)
			seen++;
		else if (rc != -ETIMEDOUT && rc != -EBADMSG)
			break;
	}
	/* Its CPU time against the time it watched: the budget at work
	 * (fev_tail_opts.cpu_percent), whatever else the machine runs. */
	fprintf(stderr,
		"fev-bench: the tail saw %llu events, missed %llu, used "
		"%.1f %% of a CPU\n",
		(unsigned long long)seen,
		(unsigned long long)fev_tail_missed(t),
		100.0 * (double)(now_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0) /
			(double)(now_ns(CLOCK_MONOTONIC) - wall0 + 1));
	fev_tail_close(t);
	_exit(0);
}

pid_t bench_tail_observer_start(const char *inst, const char *queue)
{
	struct sigaction sa = { .sa_handler = on_term };
	int fds[2];
	char c;
	pid_t pid;

	if (pipe(fds) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		sigaction(SIGTERM, &sa, NULL);
		observe(inst, queue, fds[1]);
	}
	close(fds[1]);
	/* Wait until it is attached (or gone), so every run has it. */
	if (pid > 0 && read(fds[0], &c, 1) != 1) {
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(fds[0]);
	return pid;
}

void bench_tail_observer_stop(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}
