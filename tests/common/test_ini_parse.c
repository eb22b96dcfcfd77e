/*
 * fevini's parser: sections with arguments, keys, what the dialect refuses
 * on its own, and the caller's refusals, each at the line to fix.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "fevini.h"
#include "fevtest.h"

/* What a connector's rules would see: a log of every callback. */
struct record {
	char log[4096];
	int fail_key_rc; /* a key named "bad" is refused with this */
};

static void logf_(struct record *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void logf_(struct record *r, const char *fmt, ...)
{
	size_t used = strlen(r->log);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->log + used, sizeof(r->log) - used, fmt, ap);
	va_end(ap);
}

static int on_section(void *ctx, const struct fevini_section *s, char *why,
		      size_t whylen)
{
	struct record *r = ctx;

	if (strcmp(s->name, "nope") == 0) {
		snprintf(why, whylen, "unknown section [nope]");
		return -EINVAL;
	}
	logf_(r, "[%s", s->name);
	for (unsigned i = 0; i < s->nargs; i++)
		logf_(r, " %s", s->args[i]);
	logf_(r, "]@%u ", s->line);
	return 0;
}

static int on_key(void *ctx, const struct fevini_section *s, const char *key,
		  const char *value, char *why, size_t whylen)
{
	struct record *r = ctx;

	if (strcmp(key, "bad") == 0) {
		snprintf(why, whylen, "bad '%s' in [%s]", value, s->name);
		return r->fail_key_rc;
	}
	logf_(r, "%s=%s ", key, value);
	return 0;
}

static int on_end(void *ctx, const struct fevini_section *s, char *why,
		  size_t whylen)
{
	struct record *r = ctx;

	if (strcmp(s->name, "incomplete") == 0) {
		snprintf(why, whylen, "[incomplete] needs a url");
		return -EINVAL;
	}
	logf_(r, "end@%u ", s->line);
	return 0;
}

static const struct fevini_rules rules = { on_section, on_key, on_end };

static int parse(const char *text, struct record *r, char *err, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->fail_key_rc = -EINVAL;
	return fevini_parse(text, "conf", &rules, r, err, len);
}

static void test_sections_with_arguments_and_keys_reach_the_rules(
	void **state)
{
	static const char text[] =
		"# comment\n"
		"; another\n"
		"[fabric]\n"
		"  instance =  prod   # trailing comment\n"
		"\n"
		"[group  orders\tbilling]\n"
		"url = https://example.com/hook#frag\n"
		"[endpoint a]\n"
		"secret = whsec_x;y\n";
	char err[FEVINI_ERR_MAX];
	struct record r;

	(void)state;
	assert_int_equal(parse(text, &r, err, sizeof(err)), 0);
	assert_string_equal(r.log,
			    "[fabric]@3 instance=prod end@3 "
			    "[group orders billing]@6 "
			    "url=https://example.com/hook#frag end@6 "
			    "[endpoint a]@8 secret=whsec_x;y end@8 ");
}

struct bad {
	const char *text;
	unsigned line;
	const char *reason; /* a part of the message */
};

static const struct bad bad_snippets[] = {
	{ "[a]\nk = 1\n\n[b\n", 4, "malformed section header '[b'" },
	{ "[a] x\n", 1, "malformed section header" },
	{ "[]\n", 1, "empty section header" },
	{ "[ \t ]\n", 1, "empty section header" },
	{ "[g 1 2 3 4 5]\n", 1, "more than 4 words" },
	{ "\n\nk = 1\n", 3, "key 'k' outside any section" },
	{ "[a]\nk\n", 2, "expected 'key = value'" },
	{ "[a]\n= 4\n", 2, "missing key before '='" },
	{ "[a]\nk =\n", 2, "key 'k' has no value" },
	{ "[a]\nk = # only a comment\n", 2, "key 'k' has no value" },
	{ "[a]\nk = 1\nj = 2\nk = 3\n", 4,
	  "duplicate key 'k' (first given on line 2)" },
	{ "[g x y]\n[g x  y]\n", 2, "[g x y] already defined on line 1" },
	{ "[a]\n[b]\n[a]\n", 3, "[a] already defined on line 1" },
	{ "[a]\nk = v\x01\n", 2, "control character 0x01" },
	{ "[a]\nk = v\r\n", 2, "control character 0x0d" },
	{ "[nope]\n", 1, "unknown section [nope]" },
	{ "[a]\n\nbad = 7\n", 3, "bad '7' in [a]" },
	{ "[incomplete]\nk = 1\n\n[a]\n", 1, "[incomplete] needs a url" },
	{ "[a]\n[incomplete]\nk = 1\n", 2, "[incomplete] needs a url" },
};

static void test_malformed_lines_are_refused_with_their_line_number(
	void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_snippets) / sizeof(bad_snippets[0]);
	     i++) {
		const struct bad *b = &bad_snippets[i];
		char err[FEVINI_ERR_MAX];
		struct record r;
		int rc = parse(b->text, &r, err, sizeof(err));

		fevtest_assert_line_error(i, b->text, rc, err, "conf", b->line,
					  b->reason);
	}
}

/* A key is a duplicate however many keys came between, and however long
 * it is (the parser once kept 16 keys of 31 bytes). */
static void test_duplicate_key_is_found_among_many_long_keys(void **state)
{
	char text[8192] = "[a]\n", err[FEVINI_ERR_MAX];
	const char *longkey = "a_key_name_longer_than_thirty_two_bytes_";
	struct record r;

	(void)state;
	for (int i = 0; i < 40; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
			 "%s%02d = %d\n", longkey, i, i);
	snprintf(text + strlen(text), sizeof(text) - strlen(text),
		 "%s39 = again\n", longkey);
	assert_int_equal(parse(text, &r, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "conf:42: duplicate key"));
	assert_non_null(strstr(err, "first given on line 41"));
}

/* The same key in two sections is two keys. */
static void test_a_key_may_repeat_in_another_section(void **state)
{
	char err[FEVINI_ERR_MAX];
	struct record r;

	(void)state;
	assert_int_equal(parse("[a]\nk = 1\n[b]\nk = 2\n", &r, err,
			       sizeof(err)),
			 0);
	assert_string_equal(r.log, "[a]@1 k=1 end@1 [b]@3 k=2 end@3 ");
}

static void test_line_longer_than_limit_is_refused(void **state)
{
	char text[FEVINI_LINE_MAX + 64] = "[a]\nk = ";
	char err[FEVINI_ERR_MAX];
	struct record r;

	(void)state;
	memset(text + strlen(text), 'x', FEVINI_LINE_MAX);
	assert_int_equal(parse(text, &r, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "conf:2: line longer than 1024 bytes"));
	/* exactly at the limit is a line */
	text[4 + FEVINI_LINE_MAX] = '\0';
	assert_int_equal(parse(text, &r, err, sizeof(err)), 0);
}

/* A rule's own errno is passed on, and a rule that gave no reason still
 * leaves a message with a line. */
static void test_a_rules_errno_is_kept(void **state)
{
	char err[FEVINI_ERR_MAX];
	struct record r;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.fail_key_rc = -ENOMEM;
	assert_int_equal(fevini_parse("[a]\nbad = 1\n", "conf", &rules, &r,
				      err, sizeof(err)),
			 -ENOMEM);
	assert_non_null(strstr(err, "conf:2: bad '1' in [a]"));
}

static void test_empty_text_has_no_sections(void **state)
{
	char err[FEVINI_ERR_MAX];
	struct record r;

	(void)state;
	assert_int_equal(parse("", &r, err, sizeof(err)), 0);
	assert_int_equal(parse("\n# nothing\n   \n", &r, err, sizeof(err)),
			 0);
	assert_string_equal(r.log, "");
	/* no newline at the end */
	assert_int_equal(parse("[a]\nk = 1", &r, err, sizeof(err)), 0);
	assert_string_equal(r.log, "[a]@1 k=1 end@1 ");
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void test_load_reads_a_file_and_refuses_what_is_not_a_config(
	void **state)
{
	char dir[] = "/tmp/fevini-test-XXXXXX", path[64], err[FEVINI_ERR_MAX];
	struct record r = { .fail_key_rc = -EINVAL };
	char *big;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/c.ini", dir);

	write_file(path, "[a]\nk = 1\n", 10);
	assert_int_equal(fevini_load(path, &rules, &r, err, sizeof(err)), 0);
	assert_string_equal(r.log, "[a]@1 k=1 end@1 ");

	write_file(path, "[a]\nk = 1\0x\n", 12);
	assert_int_equal(fevini_load(path, &rules, &r, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "binary data (NUL byte)"));

	big = calloc(1, FEVINI_FILE_MAX + 1);
	assert_non_null(big);
	memset(big, '#', FEVINI_FILE_MAX + 1);
	write_file(path, big, FEVINI_FILE_MAX + 1);
	free(big);
	assert_int_equal(fevini_load(path, &rules, &r, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "not a regular file under 1 MiB"));
	unlink(path);

	/* a FIFO is refused at once, not waited on */
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(fevini_load(path, &rules, &r, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "not a regular file"));
	unlink(path);

	assert_int_equal(fevini_load(path, &rules, &r, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, path));
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_sections_with_arguments_and_keys_reach_the_rules),
		cmocka_unit_test(
			test_malformed_lines_are_refused_with_their_line_number),
		cmocka_unit_test(
			test_duplicate_key_is_found_among_many_long_keys),
		cmocka_unit_test(test_a_key_may_repeat_in_another_section),
		cmocka_unit_test(test_line_longer_than_limit_is_refused),
		cmocka_unit_test(test_a_rules_errno_is_kept),
		cmocka_unit_test(test_empty_text_has_no_sections),
		cmocka_unit_test(
			test_load_reads_a_file_and_refuses_what_is_not_a_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
