/* The transports by name, and what they share. */
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "bench.h"

static const struct bench_transport *const all[] = {
	&bench_fev, &bench_pipe, &bench_unix, &bench_mq, &bench_zmq, &bench_floor,
	&bench_fev_meta, &bench_fev_fd, &bench_fev_any, &bench_fev_trace0,
	&bench_fev_trace1,
	&bench_fev_tail, &bench_fev_fanout, &bench_fev_queues,
	&bench_fev_keyed, &bench_fev_spsc,
};

const struct bench_transport *bench_transport_find(const char *name)
{
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(all[i]->name, name) == 0)
			return all[i];
	return NULL;
}

void bench_spin_pause(unsigned *polls)
{
	if (++*polls % 256 == 0) {
		sched_yield();
		return;
	}
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

bool bench_retry(int err, bool spin, unsigned *polls)
{
	if (err == EINTR)
		return true;
	if (!spin || (err != EAGAIN && err != EWOULDBLOCK))
		return false;
	bench_spin_pause(polls);
	return true;
}

unsigned bench_copies(const struct bench_transport *t,
		      const struct bench_cfg *cfg)
{
	return t->copies != NULL ? t->copies(cfg) : 1;
}

unsigned bench_one_end_marker(const struct bench_cfg *cfg)
{
	(void)cfg;
	return 1;
}
