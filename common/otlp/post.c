/*
 * The OTLP/HTTP POST (fevotlp.h), through libcurl as fev-webhooks: POST
 * URL, content-type application/json; 2xx is taken.  Which failures are
 * worth retrying is the OTLP spec's ("Retryable Response Codes": 429, 502,
 * 503, 504; we add 408 and every 5xx and transport error).
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fevotlp.h"

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static bool retryable(long status)
{
	return status == 408 || status == 429 || status >= 500;
}

int fevotlp_post(void *curl, const char *url, struct curl_slist *headers,
		 const char *body, size_t len, long timeout_ms, char *err,
		 size_t errlen)
{
	CURL *c = curl;
	long status = 0;
	CURLcode cc;

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		snprintf(err, errlen, "cannot post to %s: %s", url,
			 curl_easy_strerror(cc));
		return -EAGAIN;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status <= 299) {
		err[0] = '\0';
		return 0;
	}
	snprintf(err, errlen, "the collector at %s answered HTTP %ld%s", url,
		 status,
		 retryable(status) ? "" :
				     ": it refused the spans, they are dropped");
	return retryable(status) ? -EAGAIN : -EPROTO;
}
