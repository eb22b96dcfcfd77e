#include "subject.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool token_char(unsigned char c)
{
	return c > ' ' && c < 0x7f && c != '.' && c != '*' && c != '>';
}

/* A key byte that a token carries as it is. */
static bool plain_key_char(unsigned char c)
{
	return token_char(c) && c != '%';
}

static const char *const placeholders[] = { "{key}", "{partition}",
					    "{topic}" };

static size_t placeholder_at(const char *p)
{
	for (size_t i = 0; i < sizeof(placeholders) / sizeof(*placeholders);
	     i++)
		if (strncmp(p, placeholders[i], strlen(placeholders[i])) == 0)
			return strlen(placeholders[i]);
	return 0;
}

int fnb_subject_template_check(const char *tmpl, char *why, size_t whylen)
{
	size_t token_len = 0;

	for (const char *p = tmpl;; p++) {
		size_t ph = *p == '{' ? placeholder_at(p) : 0;

		if (ph > 0) {
			p += ph - 1;
			token_len++;
			continue;
		}
		if (*p == '.' || *p == '\0') {
			if (token_len == 0) {
				snprintf(why, whylen,
					 "subject '%s' has an empty token "
					 "(two dots, or one at an end)",
					 tmpl);
				return -EINVAL;
			}
			if (*p == '\0')
				return 0;
			token_len = 0;
			continue;
		}
		if (!token_char((unsigned char)*p) || *p == '{' || *p == '}') {
			snprintf(why, whylen,
				 "subject '%s': '%c' is not allowed (a "
				 "subject is tokens of printable characters "
				 "without space, '*' or '>', joined by '.'; "
				 "placeholders {key}, {partition}, {topic})",
				 tmpl, *p);
			return -EINVAL;
		}
		token_len++;
	}
}

int fnb_subject_check(const char *subject, int wildcards)
{
	size_t token_len = 0;

	for (const char *p = subject;; p++) {
		if (*p == '.' || *p == '\0') {
			if (token_len == 0)
				return -EINVAL;
			if (*p == '\0')
				return 0;
			token_len = 0;
			continue;
		}
		if (wildcards && (*p == '*' || *p == '>') &&
		    token_len == 0 && (p[1] == '.' || p[1] == '\0') &&
		    (*p == '*' || p[1] == '\0')) {
			token_len = 1;
			continue;
		}
		if (!token_char((unsigned char)*p))
			return -EINVAL;
		token_len++;
	}
}

/* Append the key's token at out[*n]; false when it does not fit. */
static bool put_key(const unsigned char *key, size_t key_len, char *out,
		    size_t cap, size_t *n)
{
	static const char hex[] = "0123456789ABCDEF";

	if (key_len == 0) {
		if (*n + 1 >= cap)
			return false;
		out[(*n)++] = FNB_NO_KEY_TOKEN[0];
		return true;
	}
	if (key_len == 1 && key[0] == FNB_NO_KEY_TOKEN[0]) {
		if (*n + 3 >= cap)
			return false;
		memcpy(out + *n, "%5F", 3);
		*n += 3;
		return true;
	}
	for (size_t i = 0; i < key_len; i++) {
		if (plain_key_char(key[i])) {
			if (*n + 1 >= cap)
				return false;
			out[(*n)++] = (char)key[i];
			continue;
		}
		if (*n + 3 >= cap)
			return false;
		out[(*n)++] = '%';
		out[(*n)++] = hex[key[i] >> 4];
		out[(*n)++] = hex[key[i] & 15];
	}
	return true;
}

static bool put_str(const char *s, char *out, size_t cap, size_t *n)
{
	size_t len = strlen(s);

	if (*n + len >= cap)
		return false;
	memcpy(out + *n, s, len);
	*n += len;
	return true;
}

ssize_t fnb_subject_expand(const char *tmpl, const char *topic,
			   uint32_t partition, const void *key,
			   size_t key_len, char *out, size_t cap)
{
	size_t n = 0;
	char num[16];
	bool ok = true;

	for (const char *p = tmpl; *p != '\0' && ok; p++) {
		if (strncmp(p, "{key}", 5) == 0) {
			ok = put_key(key, key_len, out, cap, &n);
			p += 4;
		} else if (strncmp(p, "{partition}", 11) == 0) {
			snprintf(num, sizeof(num), "%u", partition);
			ok = put_str(num, out, cap, &n);
			p += 10;
		} else if (strncmp(p, "{topic}", 7) == 0) {
			ok = put_str(topic, out, cap, &n);
			p += 6;
		} else if (n + 1 < cap) {
			out[n++] = *p;
		} else {
			ok = false;
		}
	}
	if (!ok || cap == 0)
		return -ENAMETOOLONG;
	out[n] = '\0';
	return (ssize_t)n;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static bool plain_header_char(unsigned char c)
{
	return c >= ' ' && c < 0x7f && c != '%';
}

ssize_t fnb_key_header_encode(const void *key, size_t key_len, char *out,
			      size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *k = key;
	size_t n = 0;

	for (size_t i = 0; i < key_len; i++) {
		if (plain_header_char(k[i])) {
			if (n + 1 >= cap)
				return -EMSGSIZE;
			out[n++] = (char)k[i];
			continue;
		}
		if (n + 3 >= cap)
			return -EMSGSIZE;
		out[n++] = '%';
		out[n++] = hex[k[i] >> 4];
		out[n++] = hex[k[i] & 15];
	}
	if (cap == 0)
		return -EMSGSIZE;
	out[n] = '\0';
	return (ssize_t)n;
}

/* Decode len bytes of %HH-encoded text into key. */
static ssize_t percent_decode(const char *p, size_t len, void *key,
			      size_t cap)
{
	unsigned char *k = key;
	size_t out = 0;

	for (size_t i = 0; i < len; i++) {
		int hi, lo;

		if (out == cap)
			return -EMSGSIZE;
		if (p[i] != '%') {
			k[out++] = (unsigned char)p[i];
			continue;
		}
		if (i + 2 >= len)
			return -EINVAL;
		hi = hexval(p[i + 1]);
		lo = hexval(p[i + 2]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		k[out++] = (unsigned char)(hi << 4 | lo);
		i += 2;
	}
	return (ssize_t)out;
}

ssize_t fnb_key_header_decode(const char *value, void *key, size_t cap)
{
	return percent_decode(value, strlen(value), key, cap);
}

ssize_t fnb_subject_key(const char *subject, uint32_t n, void *key,
			size_t cap)
{
	const char *p = subject;
	size_t len;

	if (n == 0)
		return -ENOENT;
	for (uint32_t i = 1; i < n; i++) {
		p = strchr(p, '.');
		if (p == NULL)
			return -ENOENT;
		p++;
	}
	len = strcspn(p, ".");
	if (len == 1 && p[0] == FNB_NO_KEY_TOKEN[0])
		return 0;
	return percent_decode(p, len, key, cap);
}
