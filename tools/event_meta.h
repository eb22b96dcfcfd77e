/*
 * Event keys and headers on the command line: `fev pub --key, --key-hex,
 * --header, --header-hex` build them, `fev sub` prints them in each
 * format.  The rules (limits, what a header name is) are the library's.
 */
#ifndef FEV_TOOLS_EVENT_META_H
#define FEV_TOOLS_EVENT_META_H

#include <stdbool.h>
#include <stdio.h>

#include "fev/fev.h"

/* What pub puts beside each payload; all zero: nothing. */
struct pub_meta {
	unsigned char *key; /* owned */
	size_t key_len;
	bool has_key;
	fev_header *headers; /* names and values owned */
	size_t n_headers;
	int trace_header; /* index of --trace's traceparent; -1: none */
	unsigned trace_flags;
	const char *cmd; /* whose options, for usage errors; NULL: "pub" */
};

/*
 * --key TEXT / --key-hex HEX and --header NAME=VALUE / --header-hex
 * NAME=HEX.  TEXT and VALUE take the escapes \\, \n, \r, \t, \0 and \xHH.
 * FEV_EXIT_OK, or the exit status after printing why not.
 */
int pub_meta_key(struct pub_meta *m, const char *arg, bool hex);
int pub_meta_header(struct pub_meta *m, const char *arg, bool hex);
/*
 * --trace / --trace-unsampled: every event starts a trace of its own
 * (flags FEV_TRACE_FLAG_SAMPLED or 0), its traceparent the last header.
 * Call with trace_header -1 first (pub_meta_init()).
 */
int pub_meta_trace(struct pub_meta *m, unsigned flags);
/* A new trace for the next event (nothing without --trace); its
 * traceparent value, NUL-terminated, into tp. */
void pub_meta_trace_next(struct pub_meta *m,
			 char tp[FEV_TRACEPARENT_LEN + 1]);
/* The options for fev_send_ex(), or NULL when there is nothing to add. */
const fev_send_opts *pub_meta_opts(const struct pub_meta *m,
				   fev_send_opts *o);
void pub_meta_free(struct pub_meta *m);

/*
 * The text format's prefix of an event with a key or headers:
 * "key=K NAME=VALUE ...<TAB>", bytes outside printable ASCII, space,
 * backslash and '=' in keys escaped as \xHH (\\ for a backslash); nothing
 * for an event without them.
 */
void meta_print_text(FILE *f, const fev_event *ev);
/* JSON members ,"key":..,"key_encoding":..,"headers":[{name,value,
 * encoding}] (utf-8 or base64, as the payload); nothing when absent. */
void meta_print_json(FILE *f, const fev_event *ev);
/* The hex format's "# key ..." and "# header ..." lines. */
void meta_print_hex(FILE *f, const fev_event *ev);

/* Bytes as text: printable ASCII as is; a backslash as \\; other bytes
 * and those in `also` as \xHH. */
void meta_print_escaped(FILE *f, const void *p, size_t n, const char *also);

/*
 * Does ev pass the filters in want (fev tail, record, replay)?  Its key,
 * when want has one, byte for byte; each of want's headers present with
 * exactly that value (names compared ignoring case).
 */
bool meta_matches(const struct pub_meta *want, const fev_event *ev);

/*
 * One JSON object and a newline (fev sub --json, fev tail --format
 * json): id, ts_ns, time, flags, redelivered, gap, then extra (members with
 * their leading commas, or NULL), key and headers, len, encoding and
 * payload.
 */
void event_print_json(FILE *f, const fev_event *ev, const char *extra);

/*
 * ev's key and headers as options to send it again (fev record, fev
 * replay): the headers in a new array in *hs (the caller frees it),
 * pointing into ev.  0, -ENOMEM, -EBADMSG.
 */
int meta_send_opts_of(const fev_event *ev, fev_send_opts *o, fev_header **hs);

#endif /* FEV_TOOLS_EVENT_META_H */
