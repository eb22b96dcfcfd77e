/*
 * Trace context (trace.c, client.c): W3C traceparent parsing and
 * formatting, new ids, a follow-up sent with opts.cause inheriting the
 * trace id and tracestate with a new span id, and FEV_SAMPLED set exactly
 * when the event's traceparent has the sampled flag.
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

#define MAX_EVENT 512u

/* The specification's example. */
#define W3C_EXAMPLE "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

static int setup(void **state)
{
	static struct fevtest_queue c;

	return fevtest_queue_setup(state, &c, "t", 8, MAX_EVENT,
				   FEV_POLICY_REJECT);
}

static void test_traceparent_parses_the_w3c_example_and_formats_it_back(
	void **state)
{
	static const uint8_t trace[16] = { 0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd,
					   0x43, 0xdd, 0x84, 0x48, 0xeb, 0x21,
					   0x1c, 0x80, 0x31, 0x9c };
	static const uint8_t span[8] = { 0xb7, 0xad, 0x6b, 0x71,
					 0x69, 0x20, 0x33, 0x31 };
	fev_trace_context c;
	char buf[FEV_TRACEPARENT_LEN + 1];

	(void)state;
	assert_int_equal(fev_traceparent_parse(W3C_EXAMPLE,
					       strlen(W3C_EXAMPLE), &c),
			 0);
	assert_memory_equal(c.trace_id, trace, 16);
	assert_memory_equal(c.span_id, span, 8);
	assert_int_equal(c.flags, FEV_TRACE_FLAG_SAMPLED);
	assert_int_equal(fev_traceparent_format(&c, buf, sizeof(buf)), 0);
	assert_string_equal(buf, W3C_EXAMPLE);
	assert_int_equal(fev_traceparent_format(&c, buf, sizeof(buf) - 1),
			 -EINVAL);
}

static void test_traceparent_refuses_what_the_specification_refuses(
	void **state)
{
	static const char *const bad[] = {
		"", /* empty */
		"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0",
		"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-011",
		"00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
		"00-00000000000000000000000000000000-b7ad6b7169203331-01",
		"00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
		"ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		"00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		"00-0af7651916cd43dd8448eb211c80319c_b7ad6b7169203331-01",
		"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331_01",
		"0g-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		"00-0af7651916cd43dd8448eb211c80319x-b7ad6b7169203331-01",
		"01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01x",
	};
	fev_trace_context c;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(fev_traceparent_parse(bad[i], strlen(bad[i]),
						       &c),
				 -EINVAL);
	/* A later version may carry more fields after a '-'. */
	assert_int_equal(
		fev_traceparent_parse(W3C_EXAMPLE "-what-comes-next",
				      strlen(W3C_EXAMPLE) + 16, &c),
		-EINVAL); /* not for version 00 */
	assert_int_equal(
		fev_traceparent_parse("01-0af7651916cd43dd8448eb211c80319c-"
				      "b7ad6b7169203331-01-next",
				      60, &c),
		0);
}

static void test_trace_start_makes_distinct_nonzero_ids(void **state)
{
	fev_trace_context a, b;

	(void)state;
	assert_int_equal(fev_trace_start(&a, FEV_TRACE_FLAG_SAMPLED), 0);
	assert_int_equal(fev_trace_start(&b, 0), 0);
	assert_memory_not_equal(a.trace_id, b.trace_id, 16);
	assert_memory_not_equal(a.span_id, b.span_id, 8);
	assert_int_equal(a.flags, FEV_TRACE_FLAG_SAMPLED);
	assert_int_equal(b.flags, 0);
	assert_int_equal(fev_trace_start(&a, 0x100), -EINVAL);
}

/* A child after fork() must not repeat its parent's ids. */
static void test_trace_ids_differ_in_a_forked_child(void **state)
{
	fev_trace_context before, parent, child;
	int fds[2], status;
	pid_t pid;

	(void)state;
	assert_int_equal(fev_trace_start(&before, 0), 0);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fev_trace_start(&child, 0);
		_exit(write(fds[1], &child, sizeof(child)) == sizeof(child) ?
			      0 :
			      1);
	}
	assert_int_equal(fev_trace_start(&parent, 0), 0);
	assert_int_equal(read(fds[0], &child, sizeof(child)), sizeof(child));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(fds[0]);
	close(fds[1]);
	assert_memory_not_equal(parent.trace_id, child.trace_id, 16);
}

static void send_traced(fev_queue *q, const char *traceparent,
			const char *tracestate)
{
	fev_header h[2] = {
		{ .name = FEV_HDR_TRACEPARENT, .value = traceparent,
		  .value_len = strlen(traceparent) },
		{ .name = FEV_HDR_TRACESTATE, .value = tracestate,
		  .value_len = tracestate ? strlen(tracestate) : 0 },
	};
	fev_send_opts o = { .struct_size = sizeof(o), .headers = h,
			    .n_headers = tracestate ? 2 : 1 };

	assert_int_equal(fev_send_ex(q, &o, "x", 1, 0), 0);
}

static void test_follow_up_inherits_trace_id_and_state_with_a_new_span(
	void **state)
{
	struct fevtest_queue *c = *state;
	fev_trace_context cause_ctx, follow_ctx;
	fev_event cause, follow;
	fev_send_opts o = { .struct_size = sizeof(o) };
	const void *v;
	size_t n;

	send_traced(c->q, W3C_EXAMPLE, "vendor=opaque");
	assert_int_equal(fev_acquire(c->q, &cause, 0), 0);
	assert_true(cause.flags & FEV_SAMPLED);
	o.cause = &cause;
	assert_int_equal(fev_send_ex(c->q, &o, "y", 1, 0), 0);
	assert_int_equal(fev_event_trace(&cause, &cause_ctx), 0);
	assert_int_equal(fev_release(c->q, &cause), 0);

	assert_int_equal(fev_acquire(c->q, &follow, 0), 0);
	assert_true(follow.flags & FEV_SAMPLED);
	assert_int_equal(fev_event_trace(&follow, &follow_ctx), 0);
	assert_memory_equal(follow_ctx.trace_id, cause_ctx.trace_id, 16);
	assert_memory_not_equal(follow_ctx.span_id, cause_ctx.span_id, 8);
	assert_int_equal(follow_ctx.flags, cause_ctx.flags);
	assert_int_equal(fev_header_get(&follow, FEV_HDR_TRACESTATE, &v, &n),
			 0);
	assert_int_equal(n, 13);
	assert_memory_equal(v, "vendor=opaque", 13);
	assert_int_equal(fev_release(c->q, &follow), 0);
}

static void test_unsampled_and_untraced_events_are_not_flagged(void **state)
{
	struct fevtest_queue *c = *state;
	fev_send_opts o = { .struct_size = sizeof(o) };
	fev_event ev, follow;

	send_traced(c->q,
		    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00",
		    NULL);
	assert_int_equal(fev_acquire(c->q, &ev, 0), 0);
	assert_false(ev.flags & FEV_SAMPLED);
	/* A follow-up of an unsampled event is traced, unsampled. */
	o.cause = &ev;
	assert_int_equal(fev_send_ex(c->q, &o, "y", 1, 0), 0);
	assert_int_equal(fev_release(c->q, &ev), 0);
	assert_int_equal(fev_acquire(c->q, &follow, 0), 0);
	assert_false(follow.flags & FEV_SAMPLED);
	assert_int_equal(follow.n_headers, 1);
	assert_int_equal(fev_release(c->q, &follow), 0);
	/* ... and a follow-up of an untraced event carries no headers. */
	assert_int_equal(fev_send(c->q, "w", 1, 0), 0);
	assert_int_equal(fev_acquire(c->q, &follow, 0), 0);
	o.cause = &follow;
	assert_int_equal(fev_send_ex(c->q, &o, "z", 1, 0), 0);
	assert_int_equal(fev_release(c->q, &follow), 0);
	assert_int_equal(fev_acquire(c->q, &ev, 0), 0);
	assert_int_equal(ev.n_headers, 0);
	assert_false(ev.flags & FEV_SAMPLED);
	assert_int_equal(fev_release(c->q, &ev), 0);
	/* A malformed traceparent is carried, never sampled. */
	send_traced(c->q, "00-zz-b7ad6b7169203331-01", NULL);
	assert_int_equal(fev_acquire(c->q, &ev, 0), 0);
	assert_false(ev.flags & FEV_SAMPLED);
	assert_int_equal(fev_release(c->q, &ev), 0);
}

static void test_cause_with_own_traceparent_is_refused_and_sends_nothing(
	void **state)
{
	struct fevtest_queue *c = *state;
	fev_header h = { .name = "TraceParent", .value = W3C_EXAMPLE,
			 .value_len = FEV_TRACEPARENT_LEN };
	fev_send_opts o = { .struct_size = sizeof(o), .headers = &h,
			    .n_headers = 1 };
	fev_event cause, ev;

	send_traced(c->q, W3C_EXAMPLE, NULL);
	assert_int_equal(fev_acquire(c->q, &cause, 0), 0);
	o.cause = &cause;
	assert_int_equal(fev_send_ex(c->q, &o, "y", 1, 0), -EINVAL);
	assert_int_equal(fev_release(c->q, &cause), 0);
	assert_int_equal(fev_acquire(c->q, &ev, 0), -EAGAIN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_traceparent_parses_the_w3c_example_and_formats_it_back),
		cmocka_unit_test(
			test_traceparent_refuses_what_the_specification_refuses),
		cmocka_unit_test(test_trace_start_makes_distinct_nonzero_ids),
		cmocka_unit_test(test_trace_ids_differ_in_a_forked_child),
		fevtest_queue_test(
			test_follow_up_inherits_trace_id_and_state_with_a_new_span, setup),
		fevtest_queue_test(
			test_unsampled_and_untraced_events_are_not_flagged, setup),
		fevtest_queue_test(
			test_cause_with_own_traceparent_is_refused_and_sends_nothing, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
