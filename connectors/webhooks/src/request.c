#include "request.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sign.h"

#define HEADERS_MAX 4096

void fwh_event_meta_of(const fev_event *ev, struct fwh_event_meta *m)
{
	/* Keys and headers arrive with the event-header API (issue 11);
	 * until then every event is unkeyed and of the default type. */
	(void)ev;
	memset(m, 0, sizeof(*m));
	m->type = FWH_DEFAULT_CE_TYPE;
	m->type_len = strlen(FWH_DEFAULT_CE_TYPE);
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
		    const fev_event *ev, char out[48])
{
	char in[160];
	int n = snprintf(in, sizeof(in), "%s/%s/%" PRIu64 "/%" PRIu64,
			 instance, queue, ev->id, ev->ts_ns);

	memcpy(out, "msg_", 4);
	sha256_hex(in, (size_t)n, out + 4, 32);
	out[36] = '\0';
}

void fwh_event_fingerprint(const fev_event *ev, uint8_t out[16])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned char md[32];
	unsigned int mdlen = 0;
	uint64_t head[2] = { ev->ts_ns, ev->len };

	if (c == NULL ||
	    !EVP_DigestInit_ex(c, EVP_sha256(), NULL) ||
	    !EVP_DigestUpdate(c, head, sizeof(head)) ||
	    !EVP_DigestUpdate(c, ev->data, ev->len) ||
	    !EVP_DigestFinal_ex(c, md, &mdlen))
		memset(md, 0, sizeof(md)); /* never matches a real one */
	EVP_MD_CTX_free(c);
	memcpy(out, md, 16);
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

char *fwh_request_static_headers(const char *instance, const char *queue,
				 const fev_event *ev, const char *wid)
{
	char *h = malloc(HEADERS_MAX), time[48];

	if (h == NULL)
		return NULL;
	rfc3339(ev->ts_ns, time, sizeof(time));
	snprintf(h, HEADERS_MAX,
		 "content-type: %s\n"
		 "ce-specversion: " FWH_CE_SPECVERSION "\n"
		 "ce-id: %s\n"
		 "ce-source: /fev/%s/%s\n"
		 "ce-type: %s\n"
		 "ce-time: %s\n",
		 FWH_DEFAULT_CONTENT_TYPE, wid, instance, queue,
		 FWH_DEFAULT_CE_TYPE, time);
	return h;
}

static struct curl_slist *add(struct curl_slist *l, const char *line)
{
	struct curl_slist *n;

	if (l == NULL && line == NULL)
		return NULL;
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
	char line[64 + FWH_SIGNATURES_MAX], sigs[FWH_SIGNATURES_MAX];
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
