/*
 * fev-nats' pure parts: the subject template, the key as a subject token
 * and as the fev-key header (both ways, every byte), the Nats-Msg-Id.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "msgid.h"
#include "subject.h"

static void test_template_expands_key_partition_and_topic(void **state)
{
	char out[128], why[256];

	(void)state;
	assert_int_equal(fnb_subject_template_check("orders.{key}", why,
						    sizeof(why)), 0);
	assert_int_equal(fnb_subject_expand("x.{topic}.{partition}.{key}",
					    "orders", 3, "k1", 2, out,
					    sizeof(out)),
			 strlen("x.orders.3.k1"));
	assert_string_equal(out, "x.orders.3.k1");
	/* No key: "_"; a key "_": %5F; dots, spaces, '%' and bytes: %HH. */
	fnb_subject_expand("o.{key}", "t", 0, NULL, 0, out, sizeof(out));
	assert_string_equal(out, "o._");
	fnb_subject_expand("o.{key}", "t", 0, "_", 1, out, sizeof(out));
	assert_string_equal(out, "o.%5F");
	fnb_subject_expand("o.{key}", "t", 0, "a.b c%\x01>*", 9, out,
			   sizeof(out));
	assert_string_equal(out, "o.a%2Eb%20c%25%01%3E%2A");
	assert_int_equal(fnb_subject_expand("o.{key}", "t", 0, "abcdef", 6,
					    out, 5),
			 -ENAMETOOLONG);
}

static void test_bad_templates_are_refused(void **state)
{
	char why[256];
	const char *bad[] = { "", "a..b", ".a", "a.", "a.*", "a.>", "a b",
			      "a.{nope}", "a.{key", "a}" };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_equal(fnb_subject_template_check(bad[i], why,
							    sizeof(why)),
				 -EINVAL);
	assert_int_equal(fnb_subject_check("orders.>", 1), 0);
	assert_int_equal(fnb_subject_check("orders.*.x", 1), 0);
	assert_int_equal(fnb_subject_check("orders.>.x", 1), -EINVAL);
	assert_int_equal(fnb_subject_check("orders.a*", 1), -EINVAL);
	assert_int_equal(fnb_subject_check("orders.*", 0), -EINVAL);
}

static void test_every_key_byte_survives_the_subject_and_the_header(
	void **state)
{
	unsigned char key[256], back[256];
	char subject[1024], hdr[1024];

	(void)state;
	for (int i = 0; i < 255; i++)
		key[i] = (unsigned char)(i + 1);
	key[254] = 0;
	assert_true(fnb_subject_expand("a.{key}.b", "t", 0, key, 255, subject,
				       sizeof(subject)) > 0);
	assert_int_equal(fnb_subject_key(subject, 2, back, sizeof(back)), 255);
	assert_memory_equal(back, key, 255);
	assert_true(fnb_key_header_encode(key, 255, hdr, sizeof(hdr)) > 0);
	assert_null(strchr(hdr, '\r'));
	assert_null(strchr(hdr, '\n'));
	assert_int_equal(fnb_key_header_decode(hdr, back, sizeof(back)), 255);
	assert_memory_equal(back, key, 255);
	/* A printable key reads the same in the header. */
	fnb_key_header_encode("order-42", 8, hdr, sizeof(hdr));
	assert_string_equal(hdr, "order-42");
	assert_int_equal(fnb_subject_key("a._", 2, back, sizeof(back)), 0);
	assert_int_equal(fnb_subject_key("a.b", 3, back, sizeof(back)),
			 -ENOENT);
	assert_int_equal(fnb_subject_key("a.%4", 2, back, sizeof(back)),
			 -EINVAL);
	assert_int_equal(fnb_key_header_decode("%zz", back, sizeof(back)),
			 -EINVAL);
	assert_int_equal(fnb_key_header_decode("abc", back, 2), -EMSGSIZE);
}

static void test_msg_id_names_the_event(void **state)
{
	char id[FNB_MSGID_MAX];
	uint64_t ev;

	(void)state;
	fnb_msgid(id, sizeof(id), "prod", "orders", 1764471000123456789ull, 3,
		  123456789012ull);
	assert_string_equal(id,
			    "prod:orders:1764471000123456789:3:123456789012");
	assert_int_equal(fnb_msgid_event(id, &ev), 0);
	assert_int_equal(ev, 123456789012ull);
	assert_int_equal(fnb_msgid_event("nocolon", &ev), -EINVAL);
	assert_int_equal(fnb_msgid_event("a:b:1:", &ev), -EINVAL);
	assert_int_equal(fnb_msgid_event("a:b:1:2x", &ev), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_template_expands_key_partition_and_topic),
		cmocka_unit_test(test_bad_templates_are_refused),
		cmocka_unit_test(
			test_every_key_byte_survives_the_subject_and_the_header),
		cmocka_unit_test(test_msg_id_names_the_event),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
