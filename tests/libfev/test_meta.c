/*
 * Event keys and headers through the API (meta.c, client.c): both ways
 * zero copy, in order, case-insensitive lookup, binary bytes, the limits
 * and their errors, and events without them read exactly as before.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "fevtest.h"
#include "meta.h"
#include "segment.h"

#define MAX_EVENT 512u

static int setup(void **state)
{
	static struct fevtest_queue c;

	return fevtest_queue_setup(state, &c, "m", 2, MAX_EVENT,
				   FEV_POLICY_REJECT);
}

static const fev_header two_headers[] = {
	{ .name = FEV_HDR_CONTENT_TYPE, .value = "application/json",
	  .value_len = 16 },
	{ .name = "Ce-Type", .name_len = 7, .value = "order.placed",
	  .value_len = 12 },
};

static fev_send_opts opts_of(const void *key, size_t key_len,
			     const fev_header *h, size_t n)
{
	return (fev_send_opts){ .struct_size = sizeof(fev_send_opts),
				.key = key, .key_len = key_len,
				.headers = h, .n_headers = n };
}

static void expect_header(const fev_event *ev, const char *name,
			  const void *want, size_t want_len)
{
	const void *v;
	size_t n;

	assert_int_equal(fev_header_get(ev, name, &v, &n), 0);
	assert_int_equal(n, want_len);
	assert_memory_equal(v, want, want_len);
}

static void test_key_and_headers_round_trip_in_order(void **state)
{
	struct fevtest_queue *c = *state;
	fev_send_opts o = opts_of("order-42", 8, two_headers, 2);
	fev_header_iter it = { 0, 0 };
	fev_header h;
	fev_event ev;

	assert_int_equal(fev_send_ex(c->q, &o, "{}", 2, 0), 0);
	assert_int_equal(fev_acquire(c->q, &ev, 0), 0);
	assert_int_equal(ev.len, 2);
	assert_memory_equal(ev.data, "{}", 2);
	assert_int_equal(ev.key_len, 8);
	assert_memory_equal(ev.key, "order-42", 8);
	assert_int_equal(ev.n_headers, 2);
	/* Zero copy: key and headers lie in the slot, before the payload. */
	assert_true((const char *)ev.key < (const char *)ev.data);
	assert_int_equal(fev_header_next(&ev, &it, &h), 1);
	assert_int_equal(h.name_len, 12);
	assert_memory_equal(h.name, "content-type", 12);
	assert_int_equal(h.value_len, 16);
	assert_true((const char *)h.value > (const char *)ev.key &&
		    (const char *)h.value < (const char *)ev.data);
	assert_int_equal(fev_header_next(&ev, &it, &h), 1);
	assert_memory_equal(h.name, "Ce-Type", 7); /* as the writer gave it */
	assert_memory_equal(h.value, "order.placed", 12);
	assert_int_equal(fev_header_next(&ev, &it, &h), 0);
	assert_int_equal(fev_header_next(&ev, &it, &h), 0);
	/* Case-insensitive lookup. */
	expect_header(&ev, FEV_HDR_CE_TYPE, "order.placed", 12);
	expect_header(&ev, "CONTENT-TYPE", "application/json", 16);
	assert_int_equal(fev_release(c->q, &ev), 0);
}

static void test_event_without_meta_has_no_key_and_no_headers(void **state)
{
	struct fevtest_queue *c = *state;
	fev_header_iter it = { 0, 0 };
	fev_header h;
	fev_event ev;
	const void *v;
	size_t n;

	assert_int_equal(fev_send(c->q, "plain", 5, 0), 0);
	assert_int_equal(fev_acquire(c->q, &ev, 0), 0);
	assert_int_equal(ev.len, 5);
	assert_memory_equal(ev.data, "plain", 5);
	assert_null(ev.key);
	assert_int_equal(ev.key_len, 0);
	assert_int_equal(ev.n_headers, 0);
	assert_int_equal(fev_header_next(&ev, &it, &h), 0);
	assert_int_equal(fev_header_get(&ev, "content-type", &v, &n), -ENOENT);
	assert_int_equal(fev_header_get(&ev, "bad name", &v, &n), -EINVAL);
	assert_int_equal(fev_release(c->q, &ev), 0);
	/* NULL options and empty options send no meta either. */
	fev_send_opts none = opts_of(NULL, 0, NULL, 0);

	assert_int_equal(fev_send_ex(c->q, NULL, "a", 1, 0), 0);
	assert_int_equal(fev_send_ex(c->q, &none, "b", 1, 0), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(fev_acquire(c->q, &ev, 0), 0);
		assert_int_equal(ev.len, 1);
		assert_null(ev.key);
		assert_int_equal(ev.n_headers, 0);
		assert_int_equal(fev_release(c->q, &ev), 0);
	}
}

/* Keys and values are bytes: NUL and 0xff survive, lengths are exact. */
static void test_binary_key_and_values_round_trip(void **state)
{
	struct fevtest_queue *c = *state;
	const unsigned char key[] = { 0, 0xff, 'k', 0, 0x80 };
	const unsigned char val[] = { 0xff, 0, 0, 0xfe };
	fev_header h[] = {
		{ .name = "x-bin", .value = val, .value_len = sizeof(val) },
		{ .name = "x-empty", .value = NULL, .value_len = 0 },
	};
	fev_send_opts o = opts_of(key, sizeof(key), h, 2);
	fev_event ev;

	assert_int_equal(fev_send_ex(c->q, &o, NULL, 0, 0), 0);
	assert_int_equal(fev_acquire(c->q, &ev, 0), 0);
	assert_int_equal(ev.len, 0);
	assert_int_equal(ev.key_len, sizeof(key));
	assert_memory_equal(ev.key, key, sizeof(key));
	expect_header(&ev, "X-BIN", val, sizeof(val));
	expect_header(&ev, "x-empty", "", 0);
	assert_int_equal(fev_release(c->q, &ev), 0);
}

/* Headers without a key, and a key without headers. */
static void test_key_alone_and_headers_alone(void **state)
{
	struct fevtest_queue *c = *state;
	fev_send_opts k = opts_of("k", 1, NULL, 0);
	fev_send_opts hs = opts_of(NULL, 0, two_headers, 1);
	fev_event ev;

	assert_int_equal(fev_send_ex(c->q, &k, "1", 1, 0), 0);
	assert_int_equal(fev_send_ex(c->q, &hs, "2", 1, 0), 0);
	assert_int_equal(fev_acquire(c->q, &ev, 0), 0);
	assert_int_equal(ev.key_len, 1);
	assert_int_equal(ev.n_headers, 0);
	assert_memory_equal(ev.data, "1", 1);
	assert_int_equal(fev_release(c->q, &ev), 0);
	assert_int_equal(fev_acquire(c->q, &ev, 0), 0);
	assert_null(ev.key);
	assert_int_equal(ev.n_headers, 1);
	assert_memory_equal(ev.data, "2", 1);
	assert_int_equal(fev_release(c->q, &ev), 0);
}

static void test_zero_copy_reserve_writes_after_key_and_headers(void **state)
{
	struct fevtest_queue *c = *state;
	fev_send_opts o = opts_of("key", 3, two_headers, 2);
	size_t meta = 3 + 3 + 2 * 5 + 12 + 16 + 7 + 12;
	fev_claim cl;
	fev_event ev;

	assert_int_equal(fev_reserve_ex(c->q, &o, 10, &cl, 0), 0);
	assert_int_equal(cl.cap, MAX_EVENT - meta);
	memcpy(cl.data, "zero-copy!", 10);
	assert_int_equal(fev_commit(c->q, &cl, 10), 0);
	assert_int_equal(fev_acquire(c->q, &ev, 0), 0);
	assert_int_equal(ev.len, 10);
	assert_memory_equal(ev.data, "zero-copy!", 10);
	assert_memory_equal(ev.key, "key", 3);
	assert_int_equal((const char *)ev.data - (const char *)ev.key,
			 meta - 1);
	expect_header(&ev, "ce-type", "order.placed", 12);
	assert_int_equal(fev_release(c->q, &ev), 0);
	/* The payload room is what meta left of max_event. */
	assert_int_equal(fev_reserve_ex(c->q, &o, MAX_EVENT - meta + 1, &cl, 0),
			 -EMSGSIZE);
	assert_int_equal(fev_reserve_ex(c->q, &o, 0, &cl, 0), 0);
	assert_int_equal(fev_commit(c->q, &cl, MAX_EVENT - meta + 1), -EMSGSIZE);
	assert_int_equal(fev_commit(c->q, &cl, MAX_EVENT - meta), 0);
	assert_int_equal(fev_acquire(c->q, &ev, 0), 0);
	assert_int_equal(ev.len, MAX_EVENT - meta);
	assert_int_equal(fev_release(c->q, &ev), 0);
}

/*
 * Capacity 2: the third and fourth events reuse the slots of the first
 * two, which carried key and headers.  A plain reserve or send there must
 * not inherit them.
 */
static void test_plain_event_in_a_slot_that_carried_meta_has_none(
	void **state)
{
	struct fevtest_queue *c = *state;
	fev_send_opts o = opts_of("key", 3, two_headers, 2);
	fev_claim cl;
	fev_event ev;

	for (int i = 0; i < 2; i++) {
		assert_int_equal(fev_send_ex(c->q, &o, "m", 1, 0), 0);
		assert_int_equal(fev_acquire(c->q, &ev, 0), 0);
		assert_int_equal(fev_release(c->q, &ev), 0);
	}
	assert_int_equal(fev_reserve(c->q, 4, &cl, 0), 0);
	assert_int_equal(cl.cap, MAX_EVENT);
	memcpy(cl.data, "bare", 4);
	assert_int_equal(fev_commit(c->q, &cl, 4), 0);
	assert_int_equal(fev_send(c->q, "send", 4, 0), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(fev_acquire(c->q, &ev, 0), 0);
		assert_int_equal(ev.len, 4);
		assert_memory_equal(ev.data, i == 0 ? "bare" : "send", 4);
		assert_null(ev.key);
		assert_int_equal(ev.n_headers, 0);
		assert_int_equal(fev_release(c->q, &ev), 0);
	}
}

/* Key, headers and payload share max_event: exactly full fits. */
static void test_meta_counts_against_max_event(void **state)
{
	struct fevtest_queue *c = *state;
	static char big[MAX_EVENT];
	fev_send_opts o = opts_of("k", 1, NULL, 0);
	fev_event ev;

	assert_int_equal(fev_send_ex(c->q, &o, big, MAX_EVENT - 3, 0),
			 -EMSGSIZE);
	assert_int_equal(fev_send_ex(c->q, &o, big, MAX_EVENT - 4, 0), 0);
	assert_int_equal(fev_acquire(c->q, &ev, 0), 0);
	assert_int_equal(ev.len, MAX_EVENT - 4);
	assert_int_equal(fev_release(c->q, &ev), 0);
	/* Meta alone larger than max_event. */
	fev_header h = { .name = "v", .value = big, .value_len = MAX_EVENT };

	o = opts_of(NULL, 0, &h, 1);
	assert_int_equal(fev_send_ex(c->q, &o, NULL, 0, 0), -EMSGSIZE);
	assert_int_equal(fev_acquire(c->q, &ev, 0), -EAGAIN);
}

static void test_bad_keys_and_headers_are_refused_and_send_nothing(
	void **state)
{
	struct fevtest_queue *c = *state;
	static char key[FEV_KEY_MAX + 1];
	static char name[FEV_HEADER_NAME_MAX + 2];
	fev_header h = { .value = "v", .value_len = 1 };
	fev_send_opts o = opts_of(key, FEV_KEY_MAX + 1, NULL, 0);
	fev_event ev;
	fev_claim cl;
	const char *bad_names[] = { "", "with space", "colon:", "a\"q",
				    "caf\xc3\xa9", "(paren)", "tab\t" };

	assert_int_equal(fev_send_ex(c->q, &o, "x", 1, 0), -EMSGSIZE);
	assert_int_equal(fev_reserve_ex(c->q, &o, 1, &cl, 0), -EMSGSIZE);
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		h.name = bad_names[i];
		o = opts_of(NULL, 0, &h, 1);
		assert_int_equal(fev_send_ex(c->q, &o, "x", 1, 0), -EINVAL);
	}
	/* An explicit length with a NUL inside is not a token either. */
	h.name = "a\0b";
	h.name_len = 3;
	o = opts_of(NULL, 0, &h, 1);
	assert_int_equal(fev_send_ex(c->q, &o, "x", 1, 0), -EINVAL);
	memset(name, 'n', FEV_HEADER_NAME_MAX + 1);
	h.name = name;
	h.name_len = 0;
	assert_int_equal(fev_send_ex(c->q, &o, "x", 1, 0), -EMSGSIZE);
	h.name_len = FEV_HEADER_NAME_MAX;
	o.key = NULL;
	assert_int_equal(fev_send_ex(c->q, &o, "x", 1, 0), 0); /* 255 is fine */
	assert_int_equal(fev_acquire(c->q, &ev, 0), 0);
	assert_int_equal(fev_release(c->q, &ev), 0);
	/* Every token character is allowed. */
	h.name = "!#$%&'*+-.^_`|~09azAZ";
	h.name_len = 0;
	assert_int_equal(fev_send_ex(c->q, &o, "x", 1, 0), 0);
	assert_int_equal(fev_acquire(c->q, &ev, 0), 0);
	expect_header(&ev, "!#$%&'*+-.^_`|~09AZaz", "v", 1);
	assert_int_equal(fev_release(c->q, &ev), 0);
	/* Inconsistent options. */
	o = opts_of(NULL, 3, NULL, 0);
	assert_int_equal(fev_send_ex(c->q, &o, "x", 1, 0), -EINVAL);
	o = opts_of(NULL, 0, NULL, 1);
	assert_int_equal(fev_send_ex(c->q, &o, "x", 1, 0), -EINVAL);
	o = opts_of(NULL, 0, NULL, FEV_HEADERS_MAX + 1);
	assert_int_equal(fev_send_ex(c->q, &o, "x", 1, 0), -EINVAL);
	h.value = NULL;
	o = opts_of(NULL, 0, &h, 1);
	assert_int_equal(fev_send_ex(c->q, &o, "x", 1, 0), -EINVAL);
	o = opts_of("k", 1, NULL, 0);
	o.struct_size = 0;
	assert_int_equal(fev_send_ex(c->q, &o, "x", 1, 0), -EINVAL);
	/* Nothing of it was sent. */
	assert_int_equal(fev_acquire(c->q, &ev, 0), -EAGAIN);
}

/* Every byte value: a one-byte name is valid exactly when it is a tchar. */
static void test_header_names_are_exactly_rfc7230_tokens(void **state)
{
	(void)state;
	for (int c = 0; c < 256; c++) {
		char name = (char)c;
		bool want = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') ||
			    (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);

		if (fev__header_name_valid(&name, 1) != want)
			fail_msg("byte 0x%02x: valid %d, RFC 7230 says %d", c,
				 !want, want);
	}
}

/* The copy API hands over the payload alone. */
static void test_recv_copies_the_payload_only(void **state)
{
	struct fevtest_queue *c = *state;
	fev_send_opts o = opts_of("key", 3, two_headers, 2);
	char buf[8];
	fev_meta m;

	assert_int_equal(fev_send_ex(c->q, &o, "pay", 3, 0), 0);
	assert_int_equal(fev_recv(c->q, buf, 2, &m, 0), -EMSGSIZE);
	assert_int_equal(fev_recv(c->q, buf, sizeof(buf), &m, 0), 3);
	assert_memory_equal(buf, "pay", 3);
}

static void test_header_calls_refuse_null_arguments(void **state)
{
	fev_event ev = { 0 };
	fev_header_iter it = { 0, 0 };
	fev_header h;
	const void *v;
	size_t n;

	(void)state;
	assert_int_equal(fev_header_next(NULL, &it, &h), -EINVAL);
	assert_int_equal(fev_header_next(&ev, NULL, &h), -EINVAL);
	assert_int_equal(fev_header_next(&ev, &it, NULL), -EINVAL);
	assert_int_equal(fev_header_get(NULL, "a", &v, &n), -EINVAL);
	assert_int_equal(fev_header_get(&ev, NULL, &v, &n), -EINVAL);
	assert_int_equal(fev_header_get(&ev, "a", NULL, &n), -EINVAL);
	/* A forged view: a count with no bytes behind it. */
	ev.n_headers = 3;
	assert_int_equal(fev_header_next(&ev, &it, &h), -EBADMSG);
}

/* A bridge passes its source's redelivery on: the flag arrives, with or
 * without meta; no other bit is a producer's, and a reservation takes
 * none (its flags are set at commit). */
static void test_producer_passes_redelivered_on(void **state)
{
	struct fevtest_queue *c = *state;
	fev_send_opts o = opts_of("k", 1, NULL, 0);
	fev_send_opts bare = { .struct_size = sizeof(bare),
			       .flags = FEV_REDELIVERED };
	fev_claim cl;
	fev_event ev;

	o.flags = FEV_REDELIVERED;
	assert_int_equal(fev_send_ex(c->q, &o, "a", 1, 0), 0);
	assert_int_equal(fev_acquire(c->q, &ev, 0), 0);
	assert_int_equal(ev.flags, FEV_REDELIVERED);
	assert_int_equal(ev.key_len, 1);
	assert_int_equal(fev_release(c->q, &ev), 0);
	assert_int_equal(fev_send_ex(c->q, &bare, "b", 1, 0), 0);
	assert_int_equal(fev_acquire(c->q, &ev, 0), 0);
	assert_int_equal(ev.flags, FEV_REDELIVERED);
	assert_int_equal(ev.key_len, 0);
	assert_int_equal(fev_release(c->q, &ev), 0);
	/* The next event from the same slot is not flagged. */
	o.flags = 0;
	assert_int_equal(fev_send_ex(c->q, &o, "c", 1, 0), 0);
	assert_int_equal(fev_acquire(c->q, &ev, 0), 0);
	assert_int_equal(ev.flags, 0);
	assert_int_equal(fev_release(c->q, &ev), 0);
	o.flags = 0x2;
	assert_int_equal(fev_send_ex(c->q, &o, "d", 1, 0), -EINVAL);
	o.flags = FEV_REDELIVERED;
	assert_int_equal(fev_reserve_ex(c->q, &o, 1, &cl, 0), -EINVAL);
	assert_int_equal(fev_acquire(c->q, &ev, 0), -EAGAIN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		fevtest_queue_test(
			test_key_and_headers_round_trip_in_order, setup),
		fevtest_queue_test(
			test_event_without_meta_has_no_key_and_no_headers, setup),
		fevtest_queue_test(
			test_binary_key_and_values_round_trip, setup),
		fevtest_queue_test(test_key_alone_and_headers_alone, setup),
		fevtest_queue_test(
			test_zero_copy_reserve_writes_after_key_and_headers, setup),
		fevtest_queue_test(
			test_plain_event_in_a_slot_that_carried_meta_has_none, setup),
		fevtest_queue_test(test_meta_counts_against_max_event, setup),
		fevtest_queue_test(
			test_bad_keys_and_headers_are_refused_and_send_nothing, setup),
		fevtest_queue_test(test_recv_copies_the_payload_only, setup),
		fevtest_queue_test(test_producer_passes_redelivered_on, setup),
		cmocka_unit_test(test_header_calls_refuse_null_arguments),
		cmocka_unit_test(test_header_names_are_exactly_rfc7230_tokens),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
