#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fev/fev.h"

static void test_send_then_recv_round_trips_one_event(void **state)
{
	(void)state;
	char inst[32];
	snprintf(inst, sizeof inst, "smoke%d", getpid());
	fev_queue_config cfg = { .struct_size = sizeof cfg, .capacity = 8, .max_event = 64 };
	assert_int_equal(fev_queue_create("q", &cfg, inst), 0);
	fev_open_opts o = { .struct_size = sizeof o, .instance = inst };
	fev_queue *q;
	assert_int_equal(fev_open("q", FEV_PRODUCER | FEV_CONSUMER, &o, &q), 0);
	assert_int_equal(fev_send(q, "hello", 5, 0), 0);
	char buf[64];
	fev_meta m;
	assert_int_equal(fev_recv(q, buf, sizeof buf, &m, 0), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(fev_recv(q, buf, sizeof buf, &m, 0), -EAGAIN);
	fev_close(q);
	assert_int_equal(fev_queue_delete("q", inst), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_send_then_recv_round_trips_one_event),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
