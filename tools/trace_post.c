/*
 * fev trace --export otlp-http URL: POST the trace's OTLP JSON to a
 * collector (fevotlp_post(), common/otlp: the one POST of fev and
 * fev-otel).
 */
#include <curl/curl.h>
#include <stdlib.h>

#include "cli.h"
#include "fevotlp.h"
#include "trace_model.h"

#define POST_TIMEOUT_MS 10000L

int tr_otlp_post(const struct tr_trace *t, const char *url)
{
	char err[FEVOTLP_ERR_MAX] = "out of memory";
	struct curl_slist *hdr = NULL;
	struct fevotlp_span *s = NULL;
	char *body = NULL;
	size_t n = 0, len = 0;
	int rc = -1;
	CURL *c = NULL;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (tr_otlp_spans(t, &s, &n) == 0 &&
	    (body = fevotlp_body(s, n, &len)) != NULL &&
	    (c = curl_easy_init()) != NULL &&
	    (hdr = curl_slist_append(NULL, "content-type: application/json")))
		rc = fevotlp_post(c, url, hdr, body, len, POST_TIMEOUT_MS, err,
				  sizeof(err));
	curl_slist_free_all(hdr);
	if (c != NULL)
		curl_easy_cleanup(c);
	curl_global_cleanup();
	free(body);
	free(s);
	if (rc < 0) {
		cli_error("%s: the trace was not taken", err);
		return FEV_EXIT_ERROR;
	}
	return FEV_EXIT_OK;
}
