/* Formatting shared by the subcommands: human numbers, JSON, base64, hex. */
#include "cli.h"

#include <bsd/libutil.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* humanize_number() takes an int64_t: beyond that only garbage lives. */
static int64_t clamp64(uint64_t v)
{
	return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

void out_size(char *buf, size_t len, uint64_t bytes)
{
	/* Our own scale: autoscale would print 29568B rather than 29KB. */
	int scale = 0;

	for (uint64_t v = bytes; v >= 1024 && scale < 6; v /= 1024)
		scale++;
	if (humanize_number(buf, len, clamp64(bytes), "B", scale,
			    HN_DECIMAL | HN_NOSPACE) < 0)
		snprintf(buf, len, "%llu", (unsigned long long)bytes);
}

void out_count(char *buf, size_t len, uint64_t n)
{
	/* At most 4 characters: 9999, then 10k, 1.2M.  humanize_number()
	 * alone would either round 9999 up or print 1000k. */
	if (n < 10000)
		snprintf(buf, len, "%llu", (unsigned long long)n);
	else if (humanize_number(buf, len < 5 ? len : 5, clamp64(n), "",
			    HN_AUTOSCALE,
			    HN_DECIMAL | HN_NOSPACE | HN_DIVISOR_1000) < 0)
		snprintf(buf, len, "%llu", (unsigned long long)n);
}

void out_capacity(char *buf, size_t len, uint64_t n)
{
	/* Capacities are powers of two, configured as 64K: say it so. */
	if (n < 10000)
		snprintf(buf, len, "%llu", (unsigned long long)n);
	else if (humanize_number(buf, len < 5 ? len : 5, clamp64(n), "",
			    HN_AUTOSCALE, HN_DECIMAL | HN_NOSPACE) < 0)
		snprintf(buf, len, "%llu", (unsigned long long)n);
}

void out_rate(char *buf, size_t len, double per_sec)
{
	if (per_sec < 0)
		snprintf(buf, len, "-");
	else if (per_sec > 0 && per_sec < 10)
		snprintf(buf, len, "%.1f", per_sec);
	else
		out_count(buf, len, (uint64_t)(per_sec + 0.5));
}

void out_age(char *buf, size_t len, double s)
{
	unsigned long whole = (unsigned long)s;

	if (s < 1e-3)
		snprintf(buf, len, "%.0fus", s * 1e6);
	else if (s < 1)
		snprintf(buf, len, "%.0fms", s * 1e3);
	else if (s < 60)
		snprintf(buf, len, "%.1fs", s);
	else if (s < 3600)
		snprintf(buf, len, "%lum%02lus", whole / 60, whole % 60);
	else
		snprintf(buf, len, "%luh%02lum", whole / 3600,
			 whole % 3600 / 60);
}

void out_iso_time(char *buf, size_t len, uint64_t ns)
{
	time_t sec = (time_t)(ns / 1000000000u);
	struct tm tm;
	char day[32];

	gmtime_r(&sec, &tm);
	strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%09luZ", day,
		 (unsigned long)(ns % 1000000000u));
}

/*
 * The length of the UTF-8 sequence at p (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF) and its code point; 0 when invalid.
 */
static size_t utf8_decode(const uint8_t *p, size_t n, uint32_t *cp)
{
	uint8_t c = p[0];
	size_t k;

	if (c < 0x80)
		return *cp = c, 1;
	if (c >= 0xc2 && c <= 0xdf)
		k = 1, *cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		k = 2, *cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		k = 3, *cp = c & 0x07;
	else
		return 0;
	if (k >= n) /* truncated sequence */
		return 0;
	for (size_t j = 1; j <= k; j++) {
		if ((p[j] & 0xc0) != 0x80)
			return 0;
		*cp = *cp << 6 | (p[j] & 0x3f);
	}
	if ((k == 2 && *cp < 0x800) || (k == 3 && *cp < 0x10000) ||
	    *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return k + 1;
}

bool out_utf8_valid(const uint8_t *p, size_t n)
{
	uint32_t cp;

	for (size_t i = 0, k; i < n; i += k)
		if ((k = utf8_decode(p + i, n - i, &cp)) == 0)
			return false;
	return true;
}

void out_sanitize_text(char *s)
{
	size_t n = strlen(s), i = 0, o = 0;

	while (i < n) {
		uint32_t cp;
		size_t k = utf8_decode((const uint8_t *)s + i, n - i, &cp);
		/* C0, DEL and C1 controls start terminal escapes. */
		bool control = cp < 0x20 || (cp >= 0x7f && cp < 0xa0);

		if (k == 0 || control) {
			s[o++] = '?';
			i += k ? k : 1;
			continue;
		}
		memmove(s + o, s + i, k);
		o += k;
		i += k;
	}
	s[o] = '\0';
}

static size_t json_escape(char *dst, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";

	switch (c) {
	case '"':
		return (size_t)sprintf(dst, "\\\"");
	case '\\':
		return (size_t)sprintf(dst, "\\\\");
	case '\n':
		return (size_t)sprintf(dst, "\\n");
	case '\r':
		return (size_t)sprintf(dst, "\\r");
	case '\t':
		return (size_t)sprintf(dst, "\\t");
	default:
		if (c < 0x20 || c == 0x7f) {
			dst[0] = '\\';
			dst[1] = 'u';
			dst[2] = '0';
			dst[3] = '0';
			dst[4] = hex[c >> 4];
			dst[5] = hex[c & 15];
			return 6;
		}
		dst[0] = (char)c;
		return 1;
	}
}

/* s must be valid UTF-8 (callers check); it is copied byte for byte. */
void out_json_string(FILE *f, const char *s, size_t n)
{
	char e[8];

	fputc('"', f);
	for (size_t i = 0; i < n; i++)
		fwrite(e, 1, json_escape(e, (unsigned char)s[i]), f);
	fputc('"', f);
}

void out_base64(FILE *f, const uint8_t *p, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 |
			     p[i + 2];

		fputc(tab[v >> 18], f);
		fputc(tab[v >> 12 & 63], f);
		fputc(tab[v >> 6 & 63], f);
		fputc(tab[v & 63], f);
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;

		fprintf(f, "%c%c==", tab[v >> 18], tab[v >> 12 & 63]);
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;

		fprintf(f, "%c%c%c=", tab[v >> 18], tab[v >> 12 & 63],
			tab[v >> 6 & 63]);
	}
}

/* Like hexdump -C: offset, 16 bytes in two groups of 8, printable text. */
void out_hexdump(FILE *f, const uint8_t *p, size_t n)
{
	for (size_t off = 0; off < n; off += 16) {
		size_t row = n - off < 16 ? n - off : 16;

		fprintf(f, "%08zx ", off);
		for (size_t i = 0; i < 16; i++) {
			if (i == 8)
				fputc(' ', f);
			if (i < row)
				fprintf(f, " %02x", p[off + i]);
			else
				fputs("   ", f);
		}
		fputs("  |", f);
		for (size_t i = 0; i < row; i++) {
			uint8_t c = p[off + i];

			fputc(c >= 0x20 && c < 0x7f ? c : '.', f);
		}
		fputs("|\n", f);
	}
}

int out_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

ssize_t out_hex_decode(const char *s, size_t n, uint8_t *dst, size_t cap)
{
	size_t out = 0;

	for (size_t i = 0; i < n;) {
		int hi, lo;

		if (s[i] == ' ' || s[i] == '\t' || s[i] == ':') {
			i++;
			continue;
		}
		if (i + 1 >= n)
			return -1;
		hi = out_hex_digit(s[i]);
		lo = out_hex_digit(s[i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		if (out == cap)
			return -2;
		dst[out++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	return (ssize_t)out;
}

/* ---- out_buf ------------------------------------------------------------ */

static bool ob_reserve(struct out_buf *b, size_t more)
{
	char *p;
	size_t cap;

	if (b->oom)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + more + 1)
		cap *= 2;
	p = realloc(b->p, cap);
	if (p == NULL) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void ob_write(struct out_buf *b, const char *s, size_t n)
{
	if (!ob_reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void ob_putc(struct out_buf *b, char c)
{
	ob_write(b, &c, 1);
}

void ob_printf(struct out_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !ob_reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void ob_json_string(struct out_buf *b, const char *s)
{
	char e[8];

	ob_putc(b, '"');
	for (; *s != '\0'; s++)
		ob_write(b, e, json_escape(e, (unsigned char)*s));
	ob_putc(b, '"');
}

int ob_flush(struct out_buf *b, int fd)
{
	size_t done = 0;

	if (b->oom)
		return -ENOMEM;
	while (done < b->len) {
		ssize_t n = write(fd, b->p + done, b->len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += (size_t)n;
	}
	b->len = 0;
	return 0;
}

void ob_free(struct out_buf *b)
{
	free(b->p);
	*b = (struct out_buf){ 0 };
}
