#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET_FILE_MAX 4096
#define B64_MAX (((FWH_SECRET_MAX + 2) / 3) * 4)

static int why_is(char *why, size_t whylen, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int why_is(char *why, size_t whylen, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return err;
}

static size_t b64_padding(const char *b64, size_t len)
{
	size_t pad = 0;

	while (pad < 2 && len > pad && b64[len - 1 - pad] == '=')
		pad++;
	return pad;
}

int fwh_secret_parse(const char *text, struct fwh_secret *s, char *why,
		     size_t whylen)
{
	const char *b64 = text + strlen(FWH_SECRET_PREFIX);
	unsigned char buf[B64_MAX];
	size_t len;
	int n;

	if (strncmp(text, FWH_SECRET_PREFIX, strlen(FWH_SECRET_PREFIX)) != 0)
		return why_is(why, whylen, -EINVAL,
			      "a secret must start with '" FWH_SECRET_PREFIX
			      "' followed by base64");
	len = strlen(b64);
	if (len == 0 || len % 4 != 0 || len > B64_MAX ||
	    strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			"0123456789+/=") != len)
		return why_is(why, whylen, -EINVAL,
			      "a secret's text after '" FWH_SECRET_PREFIX
			      "' is not base64 of at most %d bytes",
			      FWH_SECRET_MAX);
	/* EVP_DecodeBlock counts the padding as zero bytes: take it off. */
	n = EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)len);
	if (n < 0)
		return why_is(why, whylen, -EINVAL,
			      "a secret's text after '" FWH_SECRET_PREFIX
			      "' is not base64");
	n -= (int)b64_padding(b64, len);
	if (n < FWH_SECRET_MIN || n > FWH_SECRET_MAX)
		return why_is(why, whylen, -EINVAL,
			      "a secret must hold %d to %d bytes (it holds "
			      "%d): generate one with 'openssl rand -base64 "
			      "32'",
			      FWH_SECRET_MIN, FWH_SECRET_MAX, n);
	memcpy(s->key, buf, (size_t)n);
	s->len = (size_t)n;
	return 0;
}

int fwh_secrets_parse(const char *text, struct fwh_secret *out, size_t *n,
		      char *why, size_t whylen)
{
	char word[B64_MAX + 16];
	const char *p = text;

	for (;;) {
		size_t wl;
		int rc;

		p += strspn(p, " \t\r\n");
		if (*p == '\0')
			return *n > 0 ? 0 :
					why_is(why, whylen, -EINVAL,
					       "no secret given");
		wl = strcspn(p, " \t\r\n");
		if (wl >= sizeof(word))
			return why_is(why, whylen, -EINVAL,
				      "secret %zu is longer than any secret",
				      *n + 1);
		if (*n >= FWH_SECRETS_MAX)
			return why_is(why, whylen, -E2BIG,
				      "more than %d secrets at once: remove "
				      "the oldest",
				      FWH_SECRETS_MAX);
		memcpy(word, p, wl);
		word[wl] = '\0';
		rc = fwh_secret_parse(word, &out[*n], why, whylen);
		if (rc < 0)
			return rc;
		(*n)++;
		p += wl;
	}
}

int fwh_secrets_load(const char *path, struct fwh_secret *out, size_t *n,
		     char *why, size_t whylen)
{
	char buf[SECRET_FILE_MAX + 1];
	struct stat st;
	ssize_t got;
	int fd, rc;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return why_is(why, whylen, -errno, "secret_file %s: %s", path,
			      strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return why_is(why, whylen, -EINVAL,
			      "secret_file %s is not a regular file", path);
	}
	if (st.st_mode & (S_IROTH | S_IWOTH)) {
		close(fd);
		return why_is(why, whylen, -EPERM,
			      "secret_file %s is readable or writable by "
			      "others: chmod o-rw it",
			      path);
	}
	got = read(fd, buf, SECRET_FILE_MAX + 1);
	rc = -errno;
	close(fd);
	if (got < 0)
		return why_is(why, whylen, rc, "secret_file %s: %s", path,
			      strerror(-rc));
	if (got > SECRET_FILE_MAX || memchr(buf, '\0', (size_t)got) != NULL)
		return why_is(why, whylen, -EINVAL,
			      "secret_file %s is not one line of secrets",
			      path);
	buf[got] = '\0';
	rc = fwh_secrets_parse(buf, out, n, why, whylen);
	explicit_bzero(buf, sizeof(buf));
	return rc;
}
