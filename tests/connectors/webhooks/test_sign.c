/*
 * The Standard Webhooks signature against the specification's own test
 * vector, and the secret rules (prefix, base64, length, rotation list,
 * secret_file permissions).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "secret.h"
#include "sign.h"

/* standard-webhooks/libraries, the test every language port runs. */
#define VECTOR_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define VECTOR_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define VECTOR_TS 1614265330
#define VECTOR_BODY "{\"test\": 2432232314}"
#define VECTOR_SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

static void test_sign_matches_standard_webhooks_vector(void **state)
{
	struct fwh_secret s;
	char why[256], sig[FWH_SIGNATURE_LEN];

	(void)state;
	assert_int_equal(fwh_secret_parse(VECTOR_SECRET, &s, why, sizeof(why)),
			 0);
	assert_int_equal(fwh_sign(&s, VECTOR_ID, VECTOR_TS, VECTOR_BODY,
				  strlen(VECTOR_BODY), sig),
			 0);
	assert_string_equal(sig, VECTOR_SIG);
}

static void test_sign_all_gives_one_entry_per_secret(void **state)
{
	struct fwh_secret s[FWH_SECRETS_MAX];
	char why[256], sigs[FWH_SIGNATURES_MAX];
	size_t n = 0;

	(void)state;
	assert_int_equal(fwh_secrets_parse(
				 "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA "
				 " " VECTOR_SECRET,
				 s, &n, why, sizeof(why)),
			 0);
	assert_int_equal(n, 2);
	assert_int_equal(fwh_sign_all(s, n, VECTOR_ID, VECTOR_TS, VECTOR_BODY,
				      strlen(VECTOR_BODY), sigs),
			 0);
	assert_non_null(strstr(sigs, " " VECTOR_SIG));
	assert_int_equal(strlen(sigs), 2 * (FWH_SIGNATURE_LEN - 1) + 1);
}

static void test_secret_refuses_bad_text_without_echoing_it(void **state)
{
	const char *bad[] = {
		"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", /* no prefix */
		"whsec_",                           /* empty */
		"whsec_MfKQ9r8G!YqrTwjUPD8ILPZIo2LaLaSw", /* not base64 */
		"whsec_c2hvcnQ=",                   /* 5 bytes: too short */
	};
	struct fwh_secret s;
	char why[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(fwh_secret_parse(bad[i], &s, why, sizeof(why)),
				 -EINVAL);
		assert_null(strstr(why, "MfKQ9r8G"));
		assert_null(strstr(why, "c2hvcnQ"));
	}
}

static void test_secret_list_is_bounded(void **state)
{
	struct fwh_secret s[FWH_SECRETS_MAX];
	char text[1024] = "", why[256];
	size_t n = 0;

	(void)state;
	for (int i = 0; i <= FWH_SECRETS_MAX; i++)
		strcat(text, VECTOR_SECRET " ");
	assert_int_equal(fwh_secrets_parse(text, s, &n, why, sizeof(why)),
			 -E2BIG);
}

static void test_secret_file_readable_by_others_is_refused(void **state)
{
	char path[] = "/tmp/fwh-secret-XXXXXX", why[256];
	struct fwh_secret s[FWH_SECRETS_MAX];
	size_t n = 0;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, VECTOR_SECRET "\n",
			       strlen(VECTOR_SECRET) + 1),
			 (ssize_t)strlen(VECTOR_SECRET) + 1);
	close(fd);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(fwh_secrets_load(path, s, &n, why, sizeof(why)),
			 -EPERM);
	assert_non_null(strstr(why, "chmod"));
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(fwh_secrets_load(path, s, &n, why, sizeof(why)), 0);
	assert_int_equal(n, 1);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_matches_standard_webhooks_vector),
		cmocka_unit_test(test_sign_all_gives_one_entry_per_secret),
		cmocka_unit_test(test_secret_refuses_bad_text_without_echoing_it),
		cmocka_unit_test(test_secret_list_is_bounded),
		cmocka_unit_test(test_secret_file_readable_by_others_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
