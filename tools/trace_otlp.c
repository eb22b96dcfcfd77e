/*
 * A trace as OTLP/HTTP JSON: its hops made spans by fevotlp
 * (common/otlp/fevotlp.h, shared with fev-otel): a send span per published
 * hop, a process span per acquisition, ended by the same member's release.
 */
#include <stdlib.h>
#include <string.h>

#include "fevotlp.h"
#include "trace_model.h"

/* The released hop after acquisition k by the same member, if any. */
static const struct tr_hop *release_of(const struct tr_trace *t,
				       const struct tr_event *e, size_t k)
{
	for (size_t j = k + 1; j < e->first + e->n; j++) {
		const struct tr_hop *h = &t->hops[j];

		if (h->h.pid == t->hops[k].h.pid &&
		    strcmp(h->h.group, t->hops[k].h.group) == 0) {
			if (h->h.kind == FEV__HOP_RELEASED)
				return h;
			if (h->h.kind == FEV__HOP_ACQUIRED)
				return NULL;
		}
	}
	return NULL;
}

/* The spans of t, in event order: how many (at most t->n_hops). */
static size_t spans_of(const struct tr_trace *t, struct fevotlp_span *out)
{
	size_t n = 0;

	for (size_t i = 0; i < t->n_ev; i++) {
		const struct tr_event *e = &t->ev[i];

		for (size_t k = e->first; k < e->first + e->n; k++) {
			const struct tr_hop *h = &t->hops[k], *r;

			if (h->h.kind == FEV__HOP_PUBLISHED) {
				fevotlp_send_span(&h->h, e->topic, &out[n++]);
			} else if (h->h.kind == FEV__HOP_ACQUIRED) {
				r = release_of(t, e, k);
				fevotlp_process_span(&h->h, e->topic,
						     r ? &r->h : NULL,
						     &out[n++]);
			}
		}
	}
	return n;
}

int tr_otlp_spans(const struct tr_trace *t, struct fevotlp_span **out,
		  size_t *n)
{
	*out = calloc(t->n_hops ? t->n_hops : 1, sizeof(**out));
	if (*out == NULL)
		return -1;
	*n = spans_of(t, *out);
	return 0;
}

int tr_otlp_json(FILE *f, const struct tr_trace *t)
{
	struct fevotlp_span *s;
	size_t n;

	if (tr_otlp_spans(t, &s, &n) < 0)
		return -1;
	fevotlp_json(f, s, n);
	free(s);
	return 0;
}
