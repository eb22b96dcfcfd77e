/*
 * fev trace --export otlp-http URL: POST the trace's OTLP JSON to a
 * collector (the OTLP/HTTP binding: POST URL, content-type
 * application/json, success is any 2xx).  libcurl, as fev-webhooks.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "trace_model.h"

#define POST_TIMEOUT_MS 10000L

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/* The request body: the trace's JSON in memory. */
static char *body_of(const struct tr_trace *t, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (f == NULL)
		return NULL;
	tr_otlp_json(f, t);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

int tr_otlp_post(const struct tr_trace *t, const char *url)
{
	struct curl_slist *hdr = NULL;
	size_t len = 0;
	char *body = body_of(t, &len);
	long status = 0;
	CURLcode cc = CURLE_OUT_OF_MEMORY;
	CURL *c;

	if (body == NULL) {
		cli_error("out of memory");
		return FEV_EXIT_ERROR;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	c = curl_easy_init();
	hdr = curl_slist_append(NULL, "content-type: application/json");
	if (c != NULL && hdr != NULL) {
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)len);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, POST_TIMEOUT_MS);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
		cc = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	}
	curl_slist_free_all(hdr);
	if (c != NULL)
		curl_easy_cleanup(c);
	curl_global_cleanup();
	free(body);
	if (cc != CURLE_OK) {
		cli_error("cannot post the trace to %s: %s", url,
			  curl_easy_strerror(cc));
		return FEV_EXIT_ERROR;
	}
	if (status < 200 || status > 299) {
		cli_error("the collector at %s answered HTTP %ld: the trace "
			  "was not taken",
			  url, status);
		return FEV_EXIT_ERROR;
	}
	return FEV_EXIT_OK;
}
