#include "export.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "olog.h"

#define MS_NS (1000ull * 1000)

int fot_export_init(struct fot_export *e, const struct fot_config *cfg)
{
	memset(e, 0, sizeof(*e));
	e->cfg = cfg;
	e->backoff_ms = FOT_RETRY_FIRST_MS;
	e->curl = curl_easy_init();
	e->headers = curl_slist_append(NULL, "content-type: application/json");
	for (size_t i = 0; i < cfg->nheaders && e->headers != NULL; i++) {
		struct curl_slist *l = curl_slist_append(e->headers,
							 cfg->headers[i]);

		if (l == NULL) {
			curl_slist_free_all(e->headers);
			e->headers = NULL;
		}
		e->headers = l;
	}
	if (e->curl == NULL || e->headers == NULL) {
		fot_export_free(e);
		return -ENOMEM;
	}
	return 0;
}

void fot_export_free(struct fot_export *e)
{
	/* The headers may hold secrets: libcurl frees its copies. */
	curl_slist_free_all(e->headers);
	if (e->curl != NULL)
		curl_easy_cleanup(e->curl);
	e->headers = NULL;
	e->curl = NULL;
}

bool fot_export_due(const struct fot_export *e, const struct fot_sink *s,
		    uint64_t now_ns, bool force)
{
	if (s->n == 0 || now_ns < e->retry_at_ns)
		return false;
	return force || s->n >= e->cfg->batch_size ||
	       now_ns - s->first_ns >= e->cfg->flush_ms * MS_NS;
}

static void failed(struct fot_export *e, const char *err, uint64_t now_ns)
{
	e->n.failed++;
	snprintf(e->n.last_error, sizeof(e->n.last_error), "%s", err);
	if (e->failing++ == 0)
		fot_log_warn("%s; the spans wait, tried again with backoff up "
			     "to %llu ms",
			     err, (unsigned long long)e->cfg->retry_max_ms);
	e->retry_at_ns = now_ns + e->backoff_ms * MS_NS;
	e->backoff_ms = e->backoff_ms * 2 < e->cfg->retry_max_ms ?
				e->backoff_ms * 2 :
				e->cfg->retry_max_ms;
}

int fot_export_flush(struct fot_export *e, struct fot_sink *s,
		     uint64_t now_ns)
{
	char err[FEVOTLP_ERR_MAX];
	size_t len = 0;
	char *body = fevotlp_body(s->batch, s->n, &len);
	int rc;

	if (body == NULL) {
		failed(e, "out of memory for the batch's JSON", now_ns);
		return 0;
	}
	rc = fevotlp_post(e->curl, e->cfg->endpoint, e->headers, body, len,
			  (long)e->cfg->timeout_ms, err, sizeof(err));
	free(body);
	if (rc == -EAGAIN) {
		failed(e, err, now_ns);
		return 0;
	}
	if (rc < 0) {
		fot_log_err("%s (%zu spans)", err, s->n);
		e->n.dropped += s->n;
		e->n.failed++;
		snprintf(e->n.last_error, sizeof(e->n.last_error), "%s", err);
	} else {
		e->n.exported += s->n;
		if (e->failing > 0)
			fot_log_notice("the collector takes spans again, after "
				       "%u failed tries",
				       e->failing);
	}
	e->failing = 0;
	e->backoff_ms = FOT_RETRY_FIRST_MS;
	e->retry_at_ns = 0;
	s->n = 0;
	return 1;
}
