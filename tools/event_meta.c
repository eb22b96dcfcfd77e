/*
 * Event keys and headers for fev pub and fev sub (event_meta.h).
 */
#include "event_meta.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "cli.h"
#include "meta.h"

/* ---- parsing (pub) ---------------------------------------------------- */

/* Decode s's escapes into dst (at least strlen(s) bytes): length or -1. */
static ssize_t unescape(const char *s, unsigned char *dst)
{
	size_t n = 0;

	while (*s != '\0') {
		char c = *s++;

		if (c != '\\') {
			dst[n++] = (unsigned char)c;
			continue;
		}
		switch (c = *s++) {
		case '\\': dst[n++] = '\\'; break;
		case 'n': dst[n++] = '\n'; break;
		case 'r': dst[n++] = '\r'; break;
		case 't': dst[n++] = '\t'; break;
		case '0': dst[n++] = 0; break;
		case 'x':
			if (out_hex_digit(s[0]) < 0 || out_hex_digit(s[1]) < 0)
				return -1;
			dst[n++] = (unsigned char)(out_hex_digit(s[0]) << 4 |
						   out_hex_digit(s[1]));
			s += 2;
			break;
		default:
			return -1;
		}
	}
	return (ssize_t)n;
}

/* TEXT (escapes) or HEX into a new buffer; -1 when it does not decode. */
static ssize_t decode(const char *s, bool hex, unsigned char **out)
{
	size_t n = strlen(s);
	ssize_t len;

	*out = malloc(n + 1);
	if (*out == NULL)
		return -1;
	len = hex ? out_hex_decode(s, n, *out, n) : unescape(s, *out);
	if (len < 0) {
		free(*out);
		*out = NULL;
	}
	return len;
}

/* The command whose options these are, for its usage errors. */
#define CMD(m) ((m)->cmd != NULL ? (m)->cmd : "pub")

int pub_meta_key(struct pub_meta *m, const char *arg, bool hex)
{
	unsigned char *k;
	ssize_t len = decode(arg, hex, &k);

	if (len < 0)
		return cli_usage_error(CMD(m), "bad %s '%s': %s",
				       hex ? "--key-hex" : "--key", arg,
				       hex ? "hex bytes such as 00ff10" :
					     "use \\\\, \\n, \\t, \\0 or "
					     "\\xHH for special bytes");
	if (len > FEV_KEY_MAX) {
		free(k);
		return cli_usage_error(CMD(m), "the key is %zd bytes: at most "
					      "%d",
				       len, FEV_KEY_MAX);
	}
	free(m->key);
	m->key = k;
	m->key_len = (size_t)len;
	m->has_key = true;
	return FEV_EXIT_OK;
}

int pub_meta_header(struct pub_meta *m, const char *arg, bool hex)
{
	const char *eq = strchr(arg, '=');
	size_t nl = eq != NULL ? (size_t)(eq - arg) : 0;
	fev_header *grown;
	unsigned char *v;
	char *name;
	ssize_t vl;

	if (eq == NULL || !fev__header_name_valid(arg, nl))
		return cli_usage_error(CMD(m), "bad header '%s': NAME=VALUE, "
					      "NAME 1 to %d characters of "
					      "A-Z a-z 0-9 and "
					      "!#$%%&'*+-.^_`|~",
				       arg, FEV_HEADER_NAME_MAX);
	vl = decode(eq + 1, hex, &v);
	if (vl < 0)
		return cli_usage_error(CMD(m), "bad value in header '%s': %s",
				       arg,
				       hex ? "hex bytes such as 00ff10" :
					     "use \\\\, \\n, \\t, \\0 or "
					     "\\xHH for special bytes");
	grown = realloc(m->headers, (m->n_headers + 1) * sizeof(*grown));
	name = strndup(arg, nl);
	if (grown == NULL || name == NULL) {
		free(v);
		free(name);
		if (grown != NULL)
			m->headers = grown;
		cli_error("out of memory");
		return FEV_EXIT_ERROR;
	}
	m->headers = grown;
	m->headers[m->n_headers++] = (fev_header){
		.name = name, .name_len = nl, .value = v,
		.value_len = (size_t)vl };
	return FEV_EXIT_OK;
}

int pub_meta_trace(struct pub_meta *m, unsigned flags)
{
	char arg[sizeof(FEV_HDR_TRACEPARENT "=") + FEV_TRACEPARENT_LEN];
	fev_trace_context ctx;
	int rc;

	if (m->trace_header >= 0)
		return cli_usage_error("pub", "choose one of --trace and "
					      "--trace-unsampled");
	fev_trace_start(&ctx, flags);
	memcpy(arg, FEV_HDR_TRACEPARENT "=", sizeof(FEV_HDR_TRACEPARENT));
	fev_traceparent_format(&ctx, arg + sizeof(FEV_HDR_TRACEPARENT),
			       FEV_TRACEPARENT_LEN + 1);
	rc = pub_meta_header(m, arg, false);
	if (rc == FEV_EXIT_OK) {
		m->trace_header = (int)m->n_headers - 1;
		m->trace_flags = flags;
	}
	return rc;
}

void pub_meta_trace_next(struct pub_meta *m, char tp[FEV_TRACEPARENT_LEN + 1])
{
	fev_trace_context ctx;

	if (m->trace_header < 0)
		return;
	fev_trace_start(&ctx, m->trace_flags);
	fev_traceparent_format(&ctx, tp, FEV_TRACEPARENT_LEN + 1);
	/* The header's value buffer is ours, FEV_TRACEPARENT_LEN + 1 long. */
	memcpy((void *)m->headers[m->trace_header].value, tp,
	       FEV_TRACEPARENT_LEN);
}

const fev_send_opts *pub_meta_opts(const struct pub_meta *m,
				   fev_send_opts *o)
{
	if (!m->has_key && m->n_headers == 0)
		return NULL;
	*o = (fev_send_opts){ .struct_size = sizeof(*o),
			      .key = m->has_key ? m->key : NULL,
			      .key_len = m->key_len, .headers = m->headers,
			      .n_headers = m->n_headers };
	/* An empty --key '' is a key of no bytes: send it as none. */
	if (o->key == NULL || o->key_len == 0)
		o->key = NULL, o->key_len = 0;
	return o;
}

void pub_meta_free(struct pub_meta *m)
{
	for (size_t i = 0; i < m->n_headers; i++) {
		free((void *)m->headers[i].name);
		free((void *)m->headers[i].value);
	}
	free(m->headers);
	free(m->key);
	*m = (struct pub_meta){ .trace_header = -1, .cmd = m->cmd };
}

/* ---- printing (sub) --------------------------------------------------- */

void meta_print_escaped(FILE *f, const void *p, size_t n, const char *also)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		if (b[i] == '\\')
			fputs("\\\\", f);
		else if (b[i] >= 0x20 && b[i] < 0x7f &&
			 strchr(also, b[i]) == NULL)
			fputc(b[i], f);
		else
			fprintf(f, "\\x%02x", b[i]);
	}
}

/* Keys escape '=' and spaces too, header values spaces: the separators. */
static void print_escaped(FILE *f, const void *p, size_t n, char sep)
{
	meta_print_escaped(f, p, n, sep == '=' ? " =" : " ");
}

void meta_print_text(FILE *f, const fev_event *ev)
{
	fev_header_iter it = { 0, 0 };
	fev_header h;
	bool first = true;

	if (ev->key == NULL && ev->n_headers == 0)
		return;
	if (ev->key != NULL) {
		fputs("key=", f);
		print_escaped(f, ev->key, ev->key_len, '=');
		first = false;
	}
	while (fev_header_next(ev, &it, &h) == 1) {
		if (!first)
			fputc(' ', f);
		fwrite(h.name, 1, h.name_len, f);
		fputc('=', f);
		print_escaped(f, h.value, h.value_len, ' ');
		first = false;
	}
	fputc('\t', f);
}

/* "NAME":"bytes" with a "NAME_encoding" of utf-8 or base64. */
static void json_bytes(FILE *f, const char *member, const void *p, size_t n)
{
	bool utf8 = out_utf8_valid(p, n);

	fprintf(f, "\"%s\":", member);
	if (utf8) {
		out_json_string(f, p, n);
	} else {
		fputc('"', f);
		out_base64(f, p, n);
		fputc('"', f);
	}
	fprintf(f, ",\"%s_encoding\":\"%s\"", member,
		utf8 ? "utf-8" : "base64");
}

void meta_print_json(FILE *f, const fev_event *ev)
{
	fev_header_iter it = { 0, 0 };
	fev_header h;
	bool first = true;

	if (ev->key != NULL) {
		fputc(',', f);
		json_bytes(f, "key", ev->key, ev->key_len);
	}
	if (ev->n_headers == 0)
		return;
	fputs(",\"headers\":[", f);
	while (fev_header_next(ev, &it, &h) == 1) {
		fputs(first ? "{\"name\":" : ",{\"name\":", f);
		/* Names are tokens: plain ASCII, nothing to escape. */
		out_json_string(f, h.name, h.name_len);
		fputc(',', f);
		json_bytes(f, "value", h.value, h.value_len);
		fputc('}', f);
		first = false;
	}
	fputc(']', f);
}

void meta_print_hex(FILE *f, const fev_event *ev)
{
	fev_header_iter it = { 0, 0 };
	fev_header h;

	if (ev->key != NULL) {
		fprintf(f, "# key %zu bytes\n", ev->key_len);
		out_hexdump(f, ev->key, ev->key_len);
	}
	while (fev_header_next(ev, &it, &h) == 1) {
		fprintf(f, "# header %.*s, %zu bytes\n", (int)h.name_len,
			h.name, h.value_len);
		out_hexdump(f, h.value, h.value_len);
	}
}

/* ---- matching (tail, record, replay filters) -------------------------- */

static bool header_matches(const fev_event *ev, const fev_header *want)
{
	const void *v;
	size_t n;

	/* fev_header_get() compares names case-insensitively; want's name
	 * is NUL-terminated (strndup). */
	return fev_header_get(ev, want->name, &v, &n) == 0 &&
	       n == want->value_len &&
	       (n == 0 || memcmp(v, want->value, n) == 0);
}

bool meta_matches(const struct pub_meta *want, const fev_event *ev)
{
	if (want->has_key &&
	    (ev->key_len != want->key_len ||
	     (want->key_len != 0 &&
	      memcmp(ev->key, want->key, want->key_len) != 0)))
		return false;
	for (size_t i = 0; i < want->n_headers; i++)
		if (!header_matches(ev, &want->headers[i]))
			return false;
	return true;
}

void event_print_json(FILE *f, const fev_event *ev, const char *extra)
{
	bool utf8 = out_utf8_valid(ev->data, ev->len);
	char when[48];

	out_iso_time(when, sizeof(when), ev->ts_ns);
	fprintf(f,
		"{\"id\":%llu,\"ts_ns\":%llu,\"time\":\"%s\",\"flags\":%u,"
		"\"redelivered\":%s,\"gap\":%s%s",
		(unsigned long long)ev->id, (unsigned long long)ev->ts_ns, when,
		ev->flags, ev->flags & FEV_REDELIVERED ? "true" : "false",
		ev->flags & FEV_GAP ? "true" : "false",
		extra != NULL ? extra : "");
	meta_print_json(f, ev);
	fprintf(f, ",\"len\":%zu,\"encoding\":\"%s\",\"payload\":", ev->len,
		utf8 ? "utf-8" : "base64");
	if (utf8)
		out_json_string(f, ev->data, ev->len);
	else {
		fputc('"', f);
		out_base64(f, ev->data, ev->len);
		fputc('"', f);
	}
	fputs("}\n", f);
}

int meta_send_opts_of(const fev_event *ev, fev_send_opts *o, fev_header **hs)
{
	fev_header_iter it = { 0, 0 };
	uint32_t i = 0;

	*hs = ev->n_headers == 0 ? NULL : calloc(ev->n_headers, sizeof(**hs));
	if (ev->n_headers != 0 && *hs == NULL)
		return -ENOMEM;
	while (i < ev->n_headers && fev_header_next(ev, &it, &(*hs)[i]) == 1)
		i++;
	if (i != ev->n_headers) {
		free(*hs);
		*hs = NULL;
		return -EBADMSG;
	}
	*o = (fev_send_opts){ .struct_size = sizeof(*o), .key = ev->key,
			      .key_len = ev->key_len, .headers = *hs,
			      .n_headers = ev->n_headers };
	return 0;
}
