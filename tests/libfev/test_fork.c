/*
 * Handles across fork() (fork.c): the child of a process that opened a
 * handle gets -ECHILD from every call on it, its fev_close() leaves the
 * parent's record alone, and a handle it opens itself works.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "fevtest.h"

static int setup(void **state)
{
	static struct fevtest_queue f;

	return fevtest_queue_setup(state, &f, "q", 8, 64,
				   FEV_POLICY_BLOCK);
}

/* In the child: every call on the inherited handle, and what it says. */
static int calls_on_inherited_handle(void *arg)
{
	struct fevtest_queue *f = arg;
	char buf[64];
	struct iovec iov = { .iov_base = "x", .iov_len = 1 };
	fev_claim cl = { 0 };
	fev_event ev = { 0 };
	size_t len = 1;

	if (fev_send(f->q, "x", 1, 0) != -ECHILD ||
	    fev_send_batch(f->q, &iov, 1, 0) != -ECHILD ||
	    fev_reserve(f->q, 1, &cl, 0) != -ECHILD ||
	    fev_commit(f->q, &cl, 1) != -ECHILD ||
	    fev_commit_batch(f->q, &cl, &len, 1) != -ECHILD ||
	    fev_recv(f->q, buf, sizeof(buf), NULL, 0) != -ECHILD ||
	    fev_acquire(f->q, &ev, 0) != -ECHILD ||
	    fev_acquire_batch(f->q, &ev, 1, 0) != -ECHILD ||
	    fev_release(f->q, &ev) != -ECHILD)
		return 1;
	if (strstr(fev_strerror(-ECHILD), "open the queue again") == NULL)
		return 2;
	return 0;
}

static void test_inherited_handle_is_refused_in_the_child(void **state)
{
	struct fevtest_queue *f = *state;
	char buf[64];

	assert_int_equal(fev_send(f->q, "before", 6, 0), 0);
	assert_int_equal(
		fevtest_wait(fevtest_fork(calls_on_inherited_handle, f), 5000),
		0);
	/* Nothing was taken from or added to the parent's queue. */
	assert_int_equal(fev_recv(f->q, buf, sizeof(buf), NULL, 0), 6);
	assert_memory_equal(buf, "before", 6);
	assert_int_equal(fev_recv(f->q, buf, sizeof(buf), NULL, 0), -EAGAIN);
}

/* In the child: close the inherited handle, then open one of its own. */
static int closes_inherited_then_opens_its_own(void *arg)
{
	struct fevtest_queue *f = arg;
	fev_open_opts o = { .struct_size = sizeof(o), .instance = f->inst };
	fev_queue *mine;

	fev_close(f->q);
	if (fev_open("q", FEV_PRODUCER, &o, &mine) < 0)
		return 1;
	if (fev_send(mine, "child", 5, 0) < 0)
		return 2;
	fev_close(mine);
	return 0;
}

static void test_child_closing_inherited_handle_keeps_parents_record(
	void **state)
{
	struct fevtest_queue *f = *state;
	fev_claim cl;
	fev_stats st;
	char buf[64];

	/* The parent holds a reservation across the child's life. */
	assert_int_equal(fev_reserve(f->q, 6, &cl, 0), 0);
	assert_int_equal(
		fevtest_wait(fevtest_fork(closes_inherited_then_opens_its_own,
					  f),
			     5000),
		0);
	assert_int_equal(fev_queue_stats("q", f->inst, &st), 0);
	assert_int_equal(st.producers, 1); /* ours is still attached */
	assert_int_equal(st.consumers, 1);
	memcpy(cl.data, "parent", 6);
	assert_int_equal(fev_commit(f->q, &cl, 6), 0);
	assert_int_equal(fev_recv(f->q, buf, sizeof(buf), NULL, 0), 6);
	assert_memory_equal(buf, "parent", 6);
	assert_int_equal(fev_recv(f->q, buf, sizeof(buf), NULL, 0), 5);
	assert_memory_equal(buf, "child", 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		fevtest_queue_test(
			test_inherited_handle_is_refused_in_the_child, setup),
		fevtest_queue_test(
			test_child_closing_inherited_handle_keeps_parents_record, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
