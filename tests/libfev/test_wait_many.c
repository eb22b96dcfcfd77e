/*
 * Waiting on many queues: fev_wait_any() (futex_waitv, and its fallback
 * when futex_waitv is missing) and fev_fd() (an eventfd in epoll).  No
 * wake-up is lost: a lost one costs an hour here (recheck_ns stretched),
 * so it shows as a 10 s timeout, not as a delay.
 *
 * FEV_TEST_WAIT_EVENTS sets how many events the no-lost-wake-up runs pass
 * (default 20,000 for CI; 1000000 for the full run).  Run with
 * FEV_NO_FUTEX_WAITV=1 (its own ctest entry), every fev_wait_any() takes
 * the fallback.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <cmocka.h>

#include "fevtest.h"
#include "wait.h"
#include "wait_many.h"

#define LOST_WAKE_NS (3600ull * 1000000000u)
#define WITHIN_NS (10000 * FEVTEST_MS) /* far from LOST_WAKE_NS */
#define ANY_QUEUES 64
#define FD_QUEUES 16
#define MAX_QUEUES ANY_QUEUES

struct msg {
	uint64_t i;   /* the event's number, over all queues */
	uint64_t seq; /* its number in its queue */
};

static int setup(void **state)
{
	static uint64_t spin_look_ns; /* the library's, before any test */

	if (spin_look_ns == 0)
		spin_look_ns = fev__wait_limits.spin_look_ns;
	fev__wait_limits.spin_look_ns = spin_look_ns;
	fev__wait_limits.recheck_ns = LOST_WAKE_NS;
	return fevtest_setup(state, 280);
}

static uint64_t events_to_pass(void)
{
	const char *e = getenv("FEV_TEST_WAIT_EVENTS");

	return e != NULL ? strtoull(e, NULL, 10) : 20000;
}

static void queue_name(char *buf, size_t n, unsigned k)
{
	snprintf(buf, n, "q%u", k);
}

static void create_queues(const char *inst, unsigned nq)
{
	char name[16];

	for (unsigned k = 0; k < nq; k++) {
		queue_name(name, sizeof(name), k);
		fevtest_create(inst, name, 64, sizeof(struct msg),
			       FEV_POLICY_BLOCK);
	}
	fevtest_create(inst, "acks", 64, 8, FEV_POLICY_BLOCK);
}

static void open_queues(const char *inst, unsigned nq, unsigned roles,
			uint32_t flags, fev_queue **qs)
{
	char name[16];

	for (unsigned k = 0; k < nq; k++) {
		queue_name(name, sizeof(name), k);
		qs[k] = fevtest_open(inst, name, roles, flags);
	}
}

static void close_queues(fev_queue **qs, unsigned nq)
{
	for (unsigned k = 0; k < nq; k++)
		fev_close(qs[k]);
}

/* ---- arguments and the ready set --------------------------------------- */

static void test_wait_any_refuses_bad_arguments(void **state)
{
	struct fevtest_ctx *c = *state;
	fev_queue *qs[FEV_WAIT_ANY_MAX + 1], *p;
	size_t ready[FEV_WAIT_ANY_MAX + 1];

	create_queues(c->inst, 1);
	open_queues(c->inst, 1, FEV_CONSUMER, 0, qs);
	p = fevtest_open(c->inst, "q0", FEV_PRODUCER, 0);
	assert_int_equal(fev_wait_any(qs, 0, 0, ready), -EINVAL);
	assert_int_equal(fev_wait_any(NULL, 1, 0, ready), -EINVAL);
	assert_int_equal(fev_wait_any(qs, 1, 0, NULL), -EINVAL);
	assert_int_equal(fev_wait_any(qs, 1, -2, ready), -EINVAL);
	for (size_t i = 1; i <= FEV_WAIT_ANY_MAX; i++)
		qs[i] = qs[0];
	assert_int_equal(fev_wait_any(qs, FEV_WAIT_ANY_MAX + 1, 0, ready),
			 -EINVAL);
	qs[1] = p;
	assert_int_equal(fev_wait_any(qs, 2, 0, ready), -EPERM);
	assert_int_equal(fev_fd(p), -EPERM);
	assert_int_equal(fev_fd(NULL), -EINVAL);
	fev_close(p);
	fev_close(qs[0]);
	fevtest_cleanup(c->inst);
}

static void test_wait_any_names_the_ready_queues(void **state)
{
	struct fevtest_ctx *c = *state;
	fev_queue *qs[ANY_QUEUES], *ps[ANY_QUEUES];
	size_t ready[ANY_QUEUES];
	struct msg m = { 0 };
	uint64_t t0;

	create_queues(c->inst, ANY_QUEUES);
	open_queues(c->inst, ANY_QUEUES, FEV_CONSUMER, 0, qs);
	open_queues(c->inst, ANY_QUEUES, FEV_PRODUCER, 0, ps);
	assert_int_equal(fev_wait_any(qs, ANY_QUEUES, 0, ready), -EAGAIN);
	t0 = fevtest_now_ns();
	assert_int_equal(fev_wait_any(qs, ANY_QUEUES, 50 * FEVTEST_MS, ready),
			 -ETIMEDOUT);
	assert_true(fevtest_now_ns() - t0 >= 50 * FEVTEST_MS);
	assert_int_equal(fev_send(ps[37], &m, sizeof(m), 0), 0);
	assert_int_equal(fev_send(ps[5], &m, sizeof(m), 0), 0);
	assert_int_equal(fev_wait_any(qs, ANY_QUEUES, FEV_FOREVER, ready), 2);
	assert_int_equal(ready[0], 5);
	assert_int_equal(ready[1], 37);
	assert_int_equal(fev_recv(qs[5], &m, sizeof(m), NULL, 0), sizeof(m));
	assert_int_equal(fev_wait_any(qs, ANY_QUEUES, 0, ready), 1);
	assert_int_equal(ready[0], 37);
	close_queues(qs, ANY_QUEUES);
	close_queues(ps, ANY_QUEUES);
	fevtest_cleanup(c->inst);
}

static bool readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

static void test_fd_is_readable_while_events_wait(void **state)
{
	struct fevtest_ctx *c = *state;
	fev_queue *q, *p;
	struct msg m = { 0 };
	int fd;

	create_queues(c->inst, 1);
	q = fevtest_open(c->inst, "q0", FEV_CONSUMER, 0);
	p = fevtest_open(c->inst, "q0", FEV_PRODUCER, 0);
	assert_int_equal(fev_send(p, &m, sizeof(m), 0), 0);
	fd = fev_fd(q);
	assert_true(fd >= 0);
	assert_int_equal(fev_fd(q), fd);
	assert_true(readable(fd, 10000)); /* an event from before */
	assert_int_equal(fev_recv(q, &m, sizeof(m), NULL, 0), sizeof(m));
	assert_int_equal(fev_recv(q, &m, sizeof(m), NULL, 0), -EAGAIN);
	assert_false(readable(fd, 50)); /* re-armed, empty */
	assert_int_equal(fev_send(p, &m, sizeof(m), 0), 0);
	assert_true(readable(fd, 10000));
	assert_int_equal(fev_recv(q, &m, sizeof(m), NULL, 0), sizeof(m));
	assert_int_equal(fev_recv(q, &m, sizeof(m), NULL, 0), -EAGAIN);
	assert_false(readable(fd, 50));
	fev_close(p);
	fev_close(q); /* stops the helper sleeping on the empty queue */
	assert_int_equal(fcntl(fd, F_GETFD), -1); /* fev_close closed it */
	fevtest_cleanup(c->inst);
}

static int close_inherited_main(void *arg)
{
	fev_queue *q = arg;

	/* The helper thread is the parent's: only the copies go. */
	if (fev_fd(q) != -ECHILD)
		return 1;
	fev_close(q);
	return 0;
}

static void test_fd_of_a_handle_inherited_across_fork(void **state)
{
	struct fevtest_ctx *c = *state;
	fev_queue *q, *p;
	struct msg m = { 0 };
	int fd;

	create_queues(c->inst, 1);
	q = fevtest_open(c->inst, "q0", FEV_CONSUMER, 0);
	p = fevtest_open(c->inst, "q0", FEV_PRODUCER, 0);
	fd = fev_fd(q);
	assert_true(fd >= 0);
	assert_int_equal(fevtest_wait(fevtest_fork(close_inherited_main, q),
				      10000),
			 0);
	assert_int_equal(fev_send(p, &m, sizeof(m), 0), 0);
	assert_true(readable(fd, 10000)); /* the parent's helper still runs */
	fev_close(p);
	fev_close(q);
	fevtest_cleanup(c->inst);
}

/* ---- the spin: a word per handle, and a full look now and then -------- */

/* Spinning this long, a publish the spin misses costs 4 s (the sleep's
 * re-check after it would find it); seen within SEEN_WITHIN_NS it was seen
 * by the spin: by the watched words, or by a full look (spin_look_ns). */
#define LONG_SPIN_NS 4000000000u
#define SEEN_WITHIN_NS (2000 * FEVTEST_MS)

struct later {
	const char *inst;
	unsigned k;  /* the queue */
	bool delete; /* delete it, or send it an event */
};

/* What another process does to queue k, once the waiter spins. */
static int later_main(void *arg)
{
	const struct later *l = arg;
	fev_open_opts o = { .struct_size = sizeof(o), .instance = l->inst };
	struct msg m = { 0 };
	char name[16];
	fev_queue *p;
	int rc;

	usleep(20000);
	queue_name(name, sizeof(name), l->k);
	if (l->delete)
		return fev_queue_delete(name, l->inst) < 0;
	if (fev_open(name, FEV_PRODUCER, &o, &p) < 0)
		return 2;
	rc = fev_send(p, &m, sizeof(m), 0) < 0;
	fev_close(p);
	return rc;
}

static void open_long_spinning(const char *inst, fev_queue **qs)
{
	fev_open_opts o = { .struct_size = sizeof(o), .instance = inst,
			    .spin_ns = LONG_SPIN_NS };
	char name[16];

	for (unsigned k = 0; k < ANY_QUEUES; k++) {
		queue_name(name, sizeof(name), k);
		assert_int_equal(fev_open(name, FEV_CONSUMER, &o, &qs[k]), 0);
	}
}

/* Spin in fev_wait_any() while another process does l to queue l->k. */
static void spin_through(struct later *l, fev_queue **qs)
{
	size_t ready[ANY_QUEUES];
	int pid = fevtest_fork(later_main, l);
	uint64_t t0 = fevtest_now_ns();
	int n = fev_wait_any(qs, ANY_QUEUES, FEV_FOREVER, ready);

	assert_true(fevtest_now_ns() - t0 < SEEN_WITHIN_NS);
	assert_int_equal(n, 1);
	assert_int_equal(ready[0], l->k);
	assert_int_equal(fevtest_wait(pid, 10000), 0);
}

static void test_wait_any_spin_sees_a_commit_at_once(void **state)
{
	struct fevtest_ctx *c = *state;
	static const unsigned ks[] = { 0, 63, 17, 17, 40 };
	fev_queue *qs[ANY_QUEUES], *p;
	size_t ready[ANY_QUEUES];
	struct msg m = { 0 };
	uint64_t t0;

	/* No full look during the spin: the words alone must show it. */
	fev__wait_limits.spin_look_ns = LOST_WAKE_NS;
	create_queues(c->inst, ANY_QUEUES);
	open_long_spinning(c->inst, qs);
	for (size_t j = 0; j < sizeof(ks) / sizeof(ks[0]); j++) {
		struct later l = { .inst = c->inst, .k = ks[j] };

		spin_through(&l, qs);
		assert_int_equal(fev_recv(qs[ks[j]], &m, sizeof(m), NULL, 0),
				 sizeof(m));
	}
	/* An event there before the call: its first look finds it. */
	p = fevtest_open(c->inst, "q50", FEV_PRODUCER, 0);
	assert_int_equal(fev_send(p, &m, sizeof(m), 0), 0);
	t0 = fevtest_now_ns();
	assert_int_equal(fev_wait_any(qs, ANY_QUEUES, FEV_FOREVER, ready), 1);
	assert_true(fevtest_now_ns() - t0 < SEEN_WITHIN_NS);
	assert_int_equal(ready[0], 50);
	fev_close(p);
	close_queues(qs, ANY_QUEUES);
	fevtest_cleanup(c->inst);
}

/* What no watched word shows (here a deletion) the spin's full look sees. */
static void test_wait_any_spin_sees_a_deleted_queue(void **state)
{
	struct fevtest_ctx *c = *state;
	struct later l = { .inst = c->inst, .k = 29, .delete = true };
	fev_queue *qs[ANY_QUEUES];
	struct msg m;

	create_queues(c->inst, ANY_QUEUES);
	open_long_spinning(c->inst, qs);
	spin_through(&l, qs);
	assert_int_equal(fev_recv(qs[l.k], &m, sizeof(m), NULL, 0), -EIDRM);
	close_queues(qs, ANY_QUEUES);
	fevtest_cleanup(c->inst);
}

/* ---- no lost wake-up: a producer process, windows of 1 to 4 events ----- */

struct traffic {
	const char *inst;
	unsigned nq;
	uint64_t events;
};

/* Wait for acks until at most window events are unacknowledged. */
static int await_acks(fev_queue *acks, uint64_t sent, uint64_t *acked,
		      uint64_t window)
{
	while (sent - *acked > window) {
		uint8_t b;
		ssize_t rc = fev_recv(acks, &b, sizeof(b), NULL, WITHIN_NS);

		if (rc < 0) {
			fprintf(stderr, "producer: ack after %llu of %llu: %s\n",
				(unsigned long long)*acked,
				(unsigned long long)sent, fev_strerror((int)rc));
			return 1;
		}
		(*acked)++;
	}
	return 0;
}

static int producer_main(void *arg)
{
	const struct traffic *t = arg;
	fev_queue *qs[MAX_QUEUES], *acks;
	uint64_t seqs[MAX_QUEUES] = { 0 }, acked = 0, rnd = 42;
	char name[16];
	int rc = 0;

	for (unsigned k = 0; k < t->nq; k++) {
		queue_name(name, sizeof(name), k);
		if (fev_open(name, FEV_PRODUCER,
			     &(fev_open_opts){ .struct_size = sizeof(fev_open_opts),
					       .instance = t->inst },
			     &qs[k]) < 0)
			return 2;
	}
	if (fev_open("acks", FEV_CONSUMER,
		     &(fev_open_opts){ .struct_size = sizeof(fev_open_opts),
				       .instance = t->inst },
		     &acks) < 0)
		return 2;
	for (uint64_t i = 0; i < t->events && rc == 0; i++) {
		unsigned k = (unsigned)(fevtest_rand(&rnd) % t->nq);
		struct msg m = { .i = i, .seq = seqs[k]++ };

		rc = await_acks(acks, i, &acked, 1 + fevtest_rand(&rnd) % 4);
		if (rc == 0 && fev_send(qs[k], &m, sizeof(m), WITHIN_NS) < 0)
			rc = 3;
	}
	if (rc == 0)
		rc = await_acks(acks, t->events, &acked, 0);
	close_queues(qs, t->nq);
	fev_close(acks);
	return rc;
}

struct consumer {
	fev_queue *qs[MAX_QUEUES], *acks;
	uint64_t next[MAX_QUEUES];
	uint64_t got;
};

/* Take every event queue k holds, in order, acknowledging each. */
static void drain(struct consumer *c, unsigned k)
{
	struct msg m;
	ssize_t rc;
	uint8_t b = 1;

	while ((rc = fev_recv(c->qs[k], &m, sizeof(m), NULL, 0)) >= 0) {
		assert_int_equal(rc, sizeof(m));
		assert_int_equal(m.seq, c->next[k]);
		c->next[k]++;
		c->got++;
		assert_int_equal(fev_send(c->acks, &b, 1, WITHIN_NS), 0);
	}
	assert_int_equal(rc, -EAGAIN);
}

static void consumer_open(struct consumer *c, const char *inst, unsigned nq)
{
	memset(c, 0, sizeof(*c));
	/* No spinning: every wait sleeps, which is what is tested. */
	open_queues(inst, nq, FEV_CONSUMER, FEV_OPEN_NO_SPIN, c->qs);
	c->acks = fevtest_open(inst, "acks", FEV_PRODUCER, 0);
}

static void consumer_close(struct consumer *c, unsigned nq)
{
	close_queues(c->qs, nq);
	fev_close(c->acks);
}

static int start_producer(struct traffic *t, const char *inst, unsigned nq)
{
	*t = (struct traffic){ .inst = inst, .nq = nq,
			       .events = events_to_pass() };
	create_queues(inst, nq);
	return fevtest_fork(producer_main, t);
}

static void consume_with_wait_any(const char *inst)
{
	struct traffic t;
	struct consumer c;
	size_t ready[ANY_QUEUES];
	int pid = start_producer(&t, inst, ANY_QUEUES);

	consumer_open(&c, inst, ANY_QUEUES);
	while (c.got < t.events) {
		int n = fev_wait_any(c.qs, ANY_QUEUES, WITHIN_NS, ready);

		if (n < 0)
			fail_msg("wait_any after %llu of %llu events: %s",
				 (unsigned long long)c.got,
				 (unsigned long long)t.events, fev_strerror(n));
		for (int j = 0; j < n; j++)
			drain(&c, (unsigned)ready[j]);
	}
	assert_int_equal(fevtest_wait(pid, 30000), 0);
	consumer_close(&c, ANY_QUEUES);
	fevtest_cleanup(inst);
}

static bool kernel_has_waitv(void)
{
	struct utsname u;
	unsigned major = 0, minor = 0;

	uname(&u);
	sscanf(u.release, "%u.%u", &major, &minor);
	return major > 5 || (major == 5 && minor >= 16);
}

static void test_wait_any_loses_no_wake_up(void **state)
{
	struct fevtest_ctx *c = *state;
	const char *forced = getenv("FEV_NO_FUTEX_WAITV");

	consume_with_wait_any(c->inst);
	/* The path this run meant to test is the one it took. */
	if (forced != NULL && strcmp(forced, "1") == 0)
		assert_int_equal(fev__wait_many_uses_waitv(), 0);
	else if (kernel_has_waitv())
		assert_int_equal(fev__wait_many_uses_waitv(), 1);
}

static void test_fd_loses_no_wake_up(void **state)
{
	struct fevtest_ctx *ctx = *state;
	struct traffic t;
	struct consumer c;
	struct epoll_event evs[FD_QUEUES];
	int pid = start_producer(&t, ctx->inst, FD_QUEUES);
	int ep = epoll_create1(EPOLL_CLOEXEC);

	assert_true(ep >= 0);
	consumer_open(&c, ctx->inst, FD_QUEUES);
	for (unsigned k = 0; k < FD_QUEUES; k++) {
		struct epoll_event e = { .events = EPOLLIN, .data.u32 = k };
		int fd = fev_fd(c.qs[k]);

		assert_true(fd >= 0);
		assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e), 0);
	}
	while (c.got < t.events) {
		int n = epoll_wait(ep, evs, FD_QUEUES, (int)(WITHIN_NS / FEVTEST_MS));

		if (n <= 0)
			fail_msg("epoll after %llu of %llu events: %d",
				 (unsigned long long)c.got,
				 (unsigned long long)t.events, n);
		for (int j = 0; j < n; j++)
			drain(&c, evs[j].data.u32);
	}
	assert_int_equal(fevtest_wait(pid, 30000), 0);
	close(ep);
	consumer_close(&c, FD_QUEUES);
	fevtest_cleanup(ctx->inst);
}

/*
 * futex_waitv refused as missing (an older kernel) in the middle of a
 * process that used it: the fallback takes over.  Last: seccomp filters
 * cannot be removed.
 */
static void test_wait_any_falls_back_when_futex_waitv_is_missing(void **state)
{
	struct fevtest_ctx *c = *state;

	fevtest_refuse_syscall(SYS_futex_waitv, -1, ENOSYS);
	consume_with_wait_any(c->inst);
	assert_int_equal(fev__wait_many_uses_waitv(), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, fevtest_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_wait_any_refuses_bad_arguments),
		T(test_wait_any_names_the_ready_queues),
		T(test_wait_any_spin_sees_a_commit_at_once),
		T(test_wait_any_spin_sees_a_deleted_queue),
		T(test_fd_is_readable_while_events_wait),
		T(test_fd_of_a_handle_inherited_across_fork),
		T(test_wait_any_loses_no_wake_up),
		T(test_fd_loses_no_wake_up),
		T(test_wait_any_falls_back_when_futex_waitv_is_missing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
