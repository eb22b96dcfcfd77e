/* The fev tool's parsers and encoders, on their own (tools/cli.c, output.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cli.h"

static void test_durations_accept_units_and_fractions(void **state)
{
	(void)state;
	assert_int_equal(cli_parse_duration_ns("2"), 2000000000);
	assert_int_equal(cli_parse_duration_ns("1.5s"), 1500000000);
	assert_int_equal(cli_parse_duration_ns("250ms"), 250000000);
	assert_int_equal(cli_parse_duration_ns("10us"), 10000);
	assert_int_equal(cli_parse_duration_ns("1m"), INT64_C(60000000000));
	assert_int_equal(cli_parse_duration_ns("0"), 0);
}

static void test_durations_reject_junk_and_negatives(void **state)
{
	(void)state;
	assert_int_equal(cli_parse_duration_ns("soon"), -1);
	assert_int_equal(cli_parse_duration_ns("-1s"), -1);
	assert_int_equal(cli_parse_duration_ns("5 s"), -1);
	assert_int_equal(cli_parse_duration_ns("5parsecs"), -1);
	assert_int_equal(cli_parse_duration_ns(""), -1);
	assert_int_equal(cli_parse_duration_ns("1e300h"), -1);
}

static void test_sizes_use_binary_units(void **state)
{
	uint64_t v;

	(void)state;
	assert_true(cli_parse_size("64K", &v));
	assert_int_equal(v, 65536);
	assert_true(cli_parse_size("1M", &v));
	assert_int_equal(v, 1048576);
	assert_true(cli_parse_size("100", &v));
	assert_int_equal(v, 100);
	assert_false(cli_parse_size("big", &v));
	assert_false(cli_parse_size("-5", &v));
}

static void test_counts_use_decimal_units_and_must_be_whole(void **state)
{
	uint64_t v;

	(void)state;
	assert_true(cli_parse_count("10k", &v));
	assert_int_equal(v, 10000);
	assert_true(cli_parse_count("2M", &v));
	assert_int_equal(v, 2000000);
	assert_true(cli_parse_count("1.5k", &v));
	assert_int_equal(v, 1500);
	assert_false(cli_parse_count("1.5", &v));
	assert_false(cli_parse_count("7x", &v));
}

static void test_rates_read_per_second_per_unit_and_per_interval(void **state)
{
	double r;

	(void)state;
	assert_true(cli_parse_rate("1000", &r));
	assert_true(r == 1000);
	assert_true(cli_parse_rate("10k/s", &r));
	assert_true(r == 10000);
	assert_true(cli_parse_rate("60/m", &r));
	assert_true(r == 1);
	assert_true(cli_parse_rate("5/100ms", &r));
	assert_true(r > 49.99 && r < 50.01);
	assert_false(cli_parse_rate("0", &r));
	assert_false(cli_parse_rate("fast", &r));
	assert_false(cli_parse_rate("10/", &r));
	assert_false(cli_parse_rate("10/parsec", &r));
}

static void test_utf8_validation_follows_rfc3629(void **state)
{
	(void)state;
	assert_true(out_utf8_valid((const uint8_t *)"plain", 5));
	assert_true(out_utf8_valid((const uint8_t *)"h\xc3\xa9", 3));
	assert_true(out_utf8_valid((const uint8_t *)"\xe2\x98\x83", 3));
	assert_true(out_utf8_valid((const uint8_t *)"\xf0\x9f\x98\x80", 4));
	assert_true(out_utf8_valid((const uint8_t *)"a\0b", 3));
	assert_false(out_utf8_valid((const uint8_t *)"\xff", 1));
	assert_false(out_utf8_valid((const uint8_t *)"\xc3", 1));   /* cut */
	assert_false(out_utf8_valid((const uint8_t *)"\xc0\xaf", 2)); /* overlong */
	assert_false(out_utf8_valid((const uint8_t *)"\xe0\x80\xaf", 3));
	assert_false(out_utf8_valid((const uint8_t *)"\xed\xa0\x80", 3)); /* surrogate */
	assert_false(out_utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4));
}

static void test_sanitized_text_has_no_controls_and_is_valid_utf8(
	void **state)
{
	char esc[] = "\x1b[2J\x1b]0;x\x07", bad[] = "a\xff" "b\xc3";
	char ok[] = "h\xc3\xa9 \xe2\x98\x83", c1[] = "\xc2\x9b" "31m\x7f";

	(void)state;
	out_sanitize_text(esc);
	assert_string_equal(esc, "?[2J?]0;x?");
	out_sanitize_text(bad);
	assert_string_equal(bad, "a?b?");
	out_sanitize_text(ok);
	assert_string_equal(ok, "h\xc3\xa9 \xe2\x98\x83");
	out_sanitize_text(c1); /* U+009B is CSI on an 8-bit terminal */
	assert_string_equal(c1, "?31m?");
}

static char *capture(void (*fn)(FILE *, const uint8_t *, size_t),
		     const char *in, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	fn(f, (const uint8_t *)in, n);
	fclose(f);
	return buf;
}

static void test_base64_matches_rfc4648_vectors(void **state)
{
	static const char *const want[] = { "",	    "Zg==",	"Zm8=",
					    "Zm9v", "Zm9vYg==", "Zm9vYmE=",
					    "Zm9vYmFy" };

	(void)state;
	for (size_t i = 0; i < 7; i++) {
		char *got = capture(out_base64, "foobar", i);

		assert_string_equal(got, want[i]);
		free(got);
	}
}

static void test_hex_decode_takes_spaces_and_rejects_bad_digits(void **state)
{
	uint8_t out[8];

	(void)state;
	assert_int_equal(out_hex_decode("00ff 41:0a", 10, out, sizeof(out)), 4);
	assert_memory_equal(out, "\x00\xff\x41\x0a", 4);
	assert_int_equal(out_hex_decode("0g", 2, out, sizeof(out)), -1);
	assert_int_equal(out_hex_decode("abc", 3, out, sizeof(out)), -1);
	assert_int_equal(out_hex_decode("0102", 4, out, 1), -2);
}

static void test_json_strings_escape_quotes_and_controls(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	out_json_string(f, "a\"b\\c\n\x01\x7f", 8);
	fclose(f);
	assert_string_equal(buf, "\"a\\\"b\\\\c\\n\\u0001\\u007f\"");
	free(buf);
}

static void test_human_numbers_fit_their_columns(void **state)
{
	char b[16];

	(void)state;
	out_count(b, sizeof(b), 9999);
	assert_string_equal(b, "9999");
	out_count(b, sizeof(b), 12345);
	assert_string_equal(b, "12k");
	out_count(b, sizeof(b), 1234567);
	assert_string_equal(b, "1.2M");
	out_capacity(b, sizeof(b), 65536);
	assert_string_equal(b, "64K");
	out_capacity(b, sizeof(b), 4096);
	assert_string_equal(b, "4096");
	out_size(b, sizeof(b), 1024);
	assert_string_equal(b, "1.0KB");
	out_size(b, sizeof(b), 300);
	assert_string_equal(b, "300B");
	out_age(b, sizeof(b), 75);
	assert_string_equal(b, "1m15s");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_durations_accept_units_and_fractions),
		cmocka_unit_test(test_durations_reject_junk_and_negatives),
		cmocka_unit_test(test_sizes_use_binary_units),
		cmocka_unit_test(test_counts_use_decimal_units_and_must_be_whole),
		cmocka_unit_test(test_rates_read_per_second_per_unit_and_per_interval),
		cmocka_unit_test(test_utf8_validation_follows_rfc3629),
		cmocka_unit_test(
			test_sanitized_text_has_no_controls_and_is_valid_utf8),
		cmocka_unit_test(test_base64_matches_rfc4648_vectors),
		cmocka_unit_test(test_hex_decode_takes_spaces_and_rejects_bad_digits),
		cmocka_unit_test(test_json_strings_escape_quotes_and_controls),
		cmocka_unit_test(test_human_numbers_fit_their_columns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
