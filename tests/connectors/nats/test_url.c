/*
 * fev-nats' url.c: a server URL as the bridge says it (user information
 * never shown) and its host (the name TLS checks).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "url.h"

static void test_user_information_is_never_shown(void **state)
{
	static const char *const cases[][2] = {
		{ "nats://fev:s3cret@127.0.0.1:4222", "nats://***@127.0.0.1:4222" },
		{ "nats://t0ken@h:4222", "nats://***@h:4222" },
		/* A password holding '@' and ':': everything to the last '@'. */
		{ "tls://u:p@ss:w@rd@h.example:4443", "tls://***@h.example:4443" },
		{ "nats://127.0.0.1:4222", "nats://127.0.0.1:4222" },
		/* An '@' after the authority is not user information. */
		{ "nats://h:1/x@y", "nats://h:1/x@y" },
	};
	char buf[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(fnb_url_shown(cases[i][0], buf,
						  sizeof(buf)),
				    cases[i][1]);
}

static void test_host_is_what_a_certificate_names(void **state)
{
	static const char *const cases[][2] = {
		{ "tls://fev:pw@nats.example:4222", "nats.example" },
		{ "tls://127.0.0.1:4222", "127.0.0.1" },
		{ "tls://[::1]:4222", "::1" },
		{ "nats://host", "host" },
		{ "tls://a@b@[fe80::1]:1", "fe80::1" },
	};
	char buf[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(fnb_url_host(cases[i][0], buf,
						 sizeof(buf)),
				    cases[i][1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_user_information_is_never_shown),
		cmocka_unit_test(test_host_is_what_a_certificate_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
