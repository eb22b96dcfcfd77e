/*
 * Strict readers for config values: the whole string is the value, or it
 * is refused.  Written here rather than with strtoull() or libbsd's
 * expand_number(): both read a sign, leading blanks, "010" as octal and
 * "0x10" as hex, and expand_number() reads only the first letter of a unit
 * ("64Kfoo" is 64K) and returns UINT64_MAX, not ERANGE, for twenty nines.
 */
#include "fevini.h"

#include <errno.h>
#include <string.h>

/* The decimal digits at s (one at least, no leading zero): their value in
 * *v and their count, or -EINVAL / -ERANGE. */
static int decimal(const char *s, uint64_t *v, size_t *digits)
{
	size_t n = strspn(s, "0123456789");

	if (n == 0 || (s[0] == '0' && n > 1))
		return -EINVAL;
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (*v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		*v = *v * 10 + d;
	}
	*digits = n;
	return 0;
}

int fevini_parse_u64(const char *s, uint64_t *out)
{
	static const char units[] = "KMGkmg"; /* 2^10, 2^20, 2^30 */
	const char *unit;
	size_t digits;
	uint64_t v;
	int rc = decimal(s, &v, &digits), shift = 0;

	if (rc < 0)
		return rc;
	if (s[digits] != '\0') {
		/* s[digits] is not NUL: strchr() would find the end */
		unit = strchr(units, s[digits]);
		if (unit == NULL || s[digits + 1] != '\0')
			return -EINVAL;
		shift = 10 * (int)((unit - units) % 3 + 1);
		if (v > UINT64_MAX >> shift)
			return -ERANGE;
	}
	*out = v << shift;
	return 0;
}

int fevini_parse_u32(const char *s, uint32_t *out)
{
	uint64_t v;
	int rc = fevini_parse_u64(s, &v);

	if (rc < 0)
		return rc;
	if (v > UINT32_MAX)
		return -ERANGE;
	*out = (uint32_t)v;
	return 0;
}

static const struct {
	const char *name;
	uint64_t ms;
} duration_units[] = {
	{ "ms", 1 },
	{ "s", 1000 },
	{ "m", 60 * 1000 },
	{ "h", 60 * 60 * 1000 },
	{ "d", 24 * 60 * 60 * 1000 },
};

int fevini_parse_duration_ms(const char *s, uint64_t *ms)
{
	size_t digits;
	uint64_t v;
	int rc = decimal(s, &v, &digits);

	if (rc < 0)
		return rc;
	if (s[digits] == '\0')
		return v == 0 ? (*ms = 0, 0) : -EINVAL; /* a unit is needed */
	for (size_t i = 0;
	     i < sizeof(duration_units) / sizeof(duration_units[0]); i++) {
		if (strcmp(s + digits, duration_units[i].name) != 0)
			continue;
		if (v > UINT64_MAX / duration_units[i].ms)
			return -ERANGE;
		*ms = v * duration_units[i].ms;
		return 0;
	}
	return -EINVAL;
}

int fevini_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(s, yes[i]) == 0)
			return *out = true, 0;
		if (strcmp(s, no[i]) == 0)
			return *out = false, 0;
	}
	return -EINVAL;
}
