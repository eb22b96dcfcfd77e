/*
 * W3C Trace Context for events (trace.h, fev.h): parsing and formatting
 * traceparent, new ids, and the child context a send inherits from the
 * event that caused it.
 *
 * Ids come from xoshiro256** (Blackman and Vigna), one state per thread,
 * seeded from getrandom(): W3C asks for random trace ids, and a follow-up
 * is sent per event, so no syscall per id.  A forked child would repeat
 * its parent's ids; the state remembers the fork generation (fork.h) it
 * was seeded in and seeds again when that changed.
 */
#include "trace.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "fork.h"
#include "meta.h"

/* ---- traceparent ------------------------------------------------------- */

static int hex_nibble(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1; /* upper case too: the specification's hex is lowercase */
}

/* n bytes from 2n lowercase hex characters: 0, or -EINVAL. */
static int unhex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hex_nibble((unsigned char)s[2 * i]);
		int lo = hex_nibble((unsigned char)s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static bool all_zero(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] != 0)
			return false;
	return true;
}

void fev__hex(const uint8_t *bytes, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * n] = '\0';
}

/* "vv-" + 32 + "-" + 16 + "-" + 2: where each field starts. */
#define TP_TRACE 3
#define TP_SPAN 36
#define TP_FLAGS 53

int fev_traceparent_parse(const void *value, size_t len,
			  fev_trace_context *out)
{
	const char *s = value;
	uint8_t version;
	fev_trace_context c;

	if (s == NULL || out == NULL || len < FEV_TRACEPARENT_LEN)
		return -EINVAL;
	if (unhex(s, &version, 1) < 0 || version == 0xff)
		return -EINVAL;
	if (version == 0 ? len != FEV_TRACEPARENT_LEN :
			   (len > FEV_TRACEPARENT_LEN &&
			    s[FEV_TRACEPARENT_LEN] != '-'))
		return -EINVAL;
	if (s[2] != '-' || s[TP_SPAN - 1] != '-' || s[TP_FLAGS - 1] != '-')
		return -EINVAL;
	if (unhex(s + TP_TRACE, c.trace_id, 16) < 0 ||
	    unhex(s + TP_SPAN, c.span_id, 8) < 0 ||
	    unhex(s + TP_FLAGS, &c.flags, 1) < 0)
		return -EINVAL;
	if (all_zero(c.trace_id, 16) || all_zero(c.span_id, 8))
		return -EINVAL;
	*out = c;
	return 0;
}

int fev_traceparent_format(const fev_trace_context *ctx, char *buf,
			   size_t size)
{
	if (ctx == NULL || buf == NULL || size < FEV_TRACEPARENT_LEN + 1 ||
	    all_zero(ctx->trace_id, 16) || all_zero(ctx->span_id, 8))
		return -EINVAL;
	memcpy(buf, "00-", 3);
	fev__hex(ctx->trace_id, 16, buf + TP_TRACE);
	buf[TP_SPAN - 1] = '-';
	fev__hex(ctx->span_id, 8, buf + TP_SPAN);
	buf[TP_FLAGS - 1] = '-';
	fev__hex(&ctx->flags, 1, buf + TP_FLAGS);
	return 0;
}

/* ---- ids --------------------------------------------------------------- */

struct rng {
	uint64_t s[4];
	uint32_t seeded_gen; /* fork generation + 1; 0: never seeded */
};

static _Thread_local struct rng rng;

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* splitmix64: spreads a weak seed over the state when getrandom fails. */
static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static void seed(struct rng *r, uint32_t gen)
{
	if (getrandom(r->s, sizeof(r->s), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(r->s)) {
		/* Early boot: not secret, only distinct per process. */
		struct timespec ts;
		uint64_t x;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		x = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 32 ^
		    (uint64_t)getpid() << 16 ^ (uint64_t)(uintptr_t)r;
		for (int i = 0; i < 4; i++)
			r->s[i] = splitmix(&x);
	}
	if (all_zero((const uint8_t *)r->s, sizeof(r->s)))
		r->s[0] = 1; /* xoshiro's one forbidden state */
	r->seeded_gen = gen;
}

static uint64_t next(void)
{
	uint32_t gen = fev__fork_generation() + 1;
	uint64_t *s = rng.s, result, t;

	if (rng.seeded_gen != gen) {
		fev__fork_watch();
		seed(&rng, fev__fork_generation() + 1);
	}
	result = rotl(s[1] * 5, 7) * 9;
	t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

static void random_bytes(uint8_t *out, size_t n)
{
	do {
		for (size_t i = 0; i < n; i += 8) {
			uint64_t v = next();

			memcpy(out + i, &v, n - i < 8 ? n - i : 8);
		}
	} while (all_zero(out, n));
}

void fev__trace_random_span(uint8_t out[8])
{
	random_bytes(out, 8);
}

int fev_trace_start(fev_trace_context *out, unsigned flags)
{
	if (out == NULL || flags > 0xff)
		return -EINVAL;
	random_bytes(out->trace_id, 16);
	random_bytes(out->span_id, 8);
	out->flags = (uint8_t)flags;
	return 0;
}

int fev_event_trace(const fev_event *ev, fev_trace_context *out)
{
	const void *v;
	size_t vl;
	int rc;

	if (ev == NULL || out == NULL)
		return -EINVAL;
	rc = fev_header_get(ev, FEV_HDR_TRACEPARENT, &v, &vl);
	return rc < 0 ? rc : fev_traceparent_parse(v, vl, out);
}

/* ---- the send path ----------------------------------------------------- */

static bool is_name(const fev_header *h, const char *name, size_t len)
{
	return fev__header_name_len(h) == len && h->name != NULL &&
	       strncasecmp(h->name, name, len) == 0;
}

#define TP_NAME_LEN (sizeof(FEV_HDR_TRACEPARENT) - 1)
#define TS_NAME_LEN (sizeof(FEV_HDR_TRACESTATE) - 1)

/* The caller's own trace headers: is there a traceparent (index), or a
 * tracestate?  Only events with headers pay this walk. */
static int own_trace_headers(const fev_send_opts *o, bool *state)
{
	int tp = -1;

	*state = false;
	for (size_t i = 0; i < o->n_headers && o->headers != NULL; i++) {
		if (tp < 0 && is_name(&o->headers[i], FEV_HDR_TRACEPARENT,
				      TP_NAME_LEN))
			tp = (int)i;
		else if (is_name(&o->headers[i], FEV_HDR_TRACESTATE,
				 TS_NAME_LEN))
			*state = true;
	}
	return tp;
}

/* A child of the cause's context: same trace and flags, a new span. */
static int inherit(const fev_event *cause, struct fev__send_trace *t)
{
	fev_trace_context parent;
	const void *state;
	size_t state_len;

	if (fev_event_trace(cause, &parent) < 0)
		return 0; /* an untraced cause: nothing to inherit */
	t->ctx = parent;
	fev__trace_random_span(t->ctx.span_id);
	memcpy(t->parent_span, parent.span_id, 8);
	fev_traceparent_format(&t->ctx, t->traceparent,
			       sizeof(t->traceparent));
	t->add[t->n_add++] = (fev_header){ .name = FEV_HDR_TRACEPARENT,
					   .name_len = TP_NAME_LEN,
					   .value = t->traceparent,
					   .value_len = FEV_TRACEPARENT_LEN };
	if (fev_header_get(cause, FEV_HDR_TRACESTATE, &state, &state_len) ==
	    0)
		t->add[t->n_add++] = (fev_header){ .name = FEV_HDR_TRACESTATE,
						   .name_len = TS_NAME_LEN,
						   .value = state,
						   .value_len = state_len };
	t->sampled = (t->ctx.flags & FEV_TRACE_FLAG_SAMPLED) != 0;
	return 0;
}

int fev__send_trace_prepare(const fev_send_opts *o, struct fev__send_trace *t)
{
	const fev_event *cause = NULL;
	bool state = false;
	int tp;

	t->n_add = 0;
	t->sampled = false;
	memset(t->parent_span, 0, sizeof(t->parent_span));
	if (o == NULL)
		return 0;
	if (o->struct_size < offsetof(fev_send_opts, n_headers) +
				     sizeof(o->n_headers))
		return -EINVAL;
	if (o->struct_size >= offsetof(fev_send_opts, cause) + sizeof(cause))
		cause = o->cause;
	tp = o->n_headers != 0 ? own_trace_headers(o, &state) : -1;
	if (cause != NULL) {
		if (tp >= 0 || state)
			return -EINVAL; /* two contexts: which one is it? */
		return inherit(cause, t);
	}
	if (tp >= 0) {
		const fev_header *h = &o->headers[tp];

		if (fev_traceparent_parse(h->value, h->value_len, &t->ctx) ==
		    0)
			t->sampled = (t->ctx.flags & FEV_TRACE_FLAG_SAMPLED) !=
				     0;
	}
	return 0;
}
