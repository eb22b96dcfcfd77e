#include "request.h"

#include <inttypes.h>
#include <stdbool.h>
#include <strings.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sign.h"

#define HEADERS_MAX 8192
#define HEADER_VALUE_MAX 2048

void fwh_event_meta_of(const fev_event *ev, struct fwh_event_meta *m)
{
	const void *type;
	size_t type_len;

	memset(m, 0, sizeof(*m));
	if (ev->key != NULL) {
		m->key = ev->key;
		m->key_len = ev->key_len;
	}
	if (fev_header_get(ev, FEV_HDR_CE_TYPE, &type, &type_len) == 0) {
		m->type = type;
		m->type_len = type_len;
	} else {
		m->type = FWH_DEFAULT_CE_TYPE;
		m->type_len = strlen(FWH_DEFAULT_CE_TYPE);
	}
}

static void sha256_hex(const void *data, size_t len, char *hex, size_t nhex)
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	for (size_t i = 0; i < nhex / 2 && i < mdlen; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
}

void fwh_webhook_id(const char *instance, const char *queue,
		    uint64_t created_ns, uint64_t id, char out[48])
{
	char in[160];
	int n = snprintf(in, sizeof(in), "%s/%s/%" PRIu64 "/%" PRIu64,
			 instance, queue, created_ns, id);

	memcpy(out, "msg_", 4);
	sha256_hex(in, (size_t)n, out + 4, 32);
	out[36] = '\0';
}

static void rfc3339(uint64_t ts_ns, char *out, size_t len)
{
	time_t s = (time_t)(ts_ns / 1000000000u);
	struct tm tm;
	char base[32];

	gmtime_r(&s, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%s.%09" PRIu64 "Z", base, ts_ns % 1000000000u);
}

/* A header value that is safe on an HTTP line: printable, no CR/LF. */
static bool value_ok(const void *v, size_t len)
{
	const unsigned char *p = v;

	if (len > HEADER_VALUE_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (p[i] < 0x20 || p[i] == 0x7f)
			return p[i] == '\t';
	return true;
}

struct lines {
	char *buf;
	size_t len;
};

static void line(struct lines *l, const char *name, size_t nlen,
		 const void *value, size_t vlen)
{
	/* A header that does not fit is left out whole, never cut. */
	if (l->len + nlen + vlen + 3 >= HEADERS_MAX)
		return;
	memcpy(l->buf + l->len, name, nlen);
	l->len += nlen;
	memcpy(l->buf + l->len, ": ", 2);
	l->len += 2;
	memcpy(l->buf + l->len, value, vlen);
	l->len += vlen;
	l->buf[l->len++] = '\n';
	l->buf[l->len] = '\0';
}

/* The event's header name, or fallback when it has none (or a bad one). */
static void mapped(struct lines *l, const fev_event *ev, const char *name,
		   const char *fallback)
{
	const void *v;
	size_t vlen;

	if (fev_header_get(ev, name, &v, &vlen) == 0 && value_ok(v, vlen))
		line(l, name, strlen(name), v, vlen);
	else if (fallback != NULL)
		line(l, name, strlen(name), fallback, strlen(fallback));
}

/* What else of the event's headers goes along: the other CloudEvents
 * attributes (ce-subject, extensions) and W3C Trace Context. */
static bool passed_through(const fev_header *h)
{
	static const char *const fixed[] = {
		FEV_HDR_CONTENT_TYPE, FEV_HDR_CE_ID,   FEV_HDR_CE_SOURCE,
		FEV_HDR_CE_TYPE,      FEV_HDR_CE_TIME, FEV_HDR_CE_SPECVERSION,
	};

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (h->name_len == strlen(fixed[i]) &&
		    strncasecmp(h->name, fixed[i], h->name_len) == 0)
			return false;
	return (h->name_len > 3 && strncasecmp(h->name, "ce-", 3) == 0) ||
	       (h->name_len == strlen(FEV_HDR_TRACEPARENT) &&
		strncasecmp(h->name, FEV_HDR_TRACEPARENT, h->name_len) == 0) ||
	       (h->name_len == strlen(FEV_HDR_TRACESTATE) &&
		strncasecmp(h->name, FEV_HDR_TRACESTATE, h->name_len) == 0);
}

char *fwh_request_static_headers(const char *instance, const char *queue,
				 const fev_event *ev, const char *wid)
{
	struct lines l = { .buf = malloc(HEADERS_MAX) };
	char source[FEV_INSTANCE_MAX + FEV_NAME_MAX + 16], time[48];
	fev_header_iter it = { 0 };
	fev_header h;

	if (l.buf == NULL)
		return NULL;
	l.buf[0] = '\0';
	rfc3339(ev->ts_ns, time, sizeof(time));
	snprintf(source, sizeof(source), "/fev/%s/%s", instance, queue);
	mapped(&l, ev, FEV_HDR_CONTENT_TYPE, FWH_DEFAULT_CONTENT_TYPE);
	mapped(&l, ev, FEV_HDR_CE_SPECVERSION, FWH_CE_SPECVERSION);
	mapped(&l, ev, FEV_HDR_CE_ID, wid);
	mapped(&l, ev, FEV_HDR_CE_SOURCE, source);
	mapped(&l, ev, FEV_HDR_CE_TYPE, FWH_DEFAULT_CE_TYPE);
	mapped(&l, ev, FEV_HDR_CE_TIME, time);
	while (fev_header_next(ev, &it, &h) == 1)
		if (passed_through(&h) && value_ok(h.value, h.value_len))
			line(&l, h.name, h.name_len, h.value, h.value_len);
	return l.buf;
}

static struct curl_slist *add(struct curl_slist *l, const char *line)
{
	struct curl_slist *n;

	n = curl_slist_append(l, line);
	if (n == NULL)
		curl_slist_free_all(l);
	return n;
}

struct curl_slist *fwh_request_headers(const char *static_headers,
				       const char *wid, int64_t now_s,
				       const struct fwh_secret *secrets,
				       size_t nsecrets, const void *body,
				       size_t len)
{
	/* a stored line: a name (FEV_HEADER_NAME_MAX), ": " and a value */
	char line[FEV_HEADER_NAME_MAX + HEADER_VALUE_MAX + FWH_SIGNATURES_MAX];
	char sigs[FWH_SIGNATURES_MAX];
	struct curl_slist *l = NULL;
	const char *p = static_headers;

	while (*p != '\0') {
		size_t n = strcspn(p, "\n");

		if (n > 0 && n < sizeof(line)) {
			memcpy(line, p, n);
			line[n] = '\0';
			if ((l = add(l, line)) == NULL)
				return NULL;
		}
		p += n + (p[n] == '\n');
	}
	if (fwh_sign_all(secrets, nsecrets, wid, now_s, body, len, sigs) < 0) {
		curl_slist_free_all(l);
		return NULL;
	}
	snprintf(line, sizeof(line), "webhook-id: %s", wid);
	l = add(l, line);
	snprintf(line, sizeof(line), "webhook-timestamp: %" PRId64, now_s);
	l = l ? add(l, line) : NULL;
	snprintf(line, sizeof(line), "webhook-signature: %s", sigs);
	l = l ? add(l, line) : NULL;
	/* No "Expect: 100-continue" round trip before large bodies. */
	l = l ? add(l, "Expect:") : NULL;
	explicit_bzero(sigs, sizeof(sigs));
	return l;
}
