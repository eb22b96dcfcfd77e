/*
 * An event's key and headers ("meta"), encoded in its slot in front of the
 * payload.  A slot carries meta only when its flags have FEV__SLOT_META;
 * then slot.meta_len bytes of the payload area are the encoding and the
 * remaining slot.len - meta_len bytes the payload, so an event without
 * meta is read exactly as before (no parsing, no extra load).
 *
 * Encoding, little-endian, no padding, no alignment:
 *
 *   u8  key_len          0 .. FEV_KEY_MAX
 *   key_len bytes        the key
 *   u16 n_headers        0 .. FEV_HEADERS_MAX
 *   n_headers times:
 *     u8  name_len       1 .. FEV_HEADER_NAME_MAX
 *     name_len bytes     RFC 7230 tchar, as the writer gave it
 *     u32 value_len
 *     value_len bytes
 *
 * The encoding must use exactly meta_len bytes.  Everything in it is
 * untrusted (any writer of the segment may forge or change it at any
 * time): fev__meta_parse() checks every length against meta_len before it
 * is used, and fev_header_next() checks again against the length it
 * recorded, so a hostile or changing slot gives -EBADMSG, never a read
 * outside the event.
 */
#ifndef FEV_META_H
#define FEV_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fev/fev.h"

#define FEV__META_FIXED 3u   /* key_len byte and header count */
#define FEV__META_PER_HEADER 5u /* name_len byte and value_len word */

/* A header name is 1 .. FEV_HEADER_NAME_MAX tchars. */
bool fev__header_name_valid(const char *name, size_t len);
/* h's name length: name_len, or strlen(name) when that is 0 (at most
 * FEV_HEADER_NAME_MAX + 1: longer is too long). */
size_t fev__header_name_len(const fev_header *h);

/*
 * The encoded size of opts' key and headers, followed by the n_add
 * headers the library adds (trace context, trace.h): 0 for none (NULL
 * opts, or no key and no headers: the event carries no meta), else > 0;
 * -EINVAL, -EMSGSIZE as fev_send_ex().  Never more than UINT32_MAX.
 */
ssize_t fev__meta_size(const fev_send_opts *opts, const fev_header *add,
		       size_t n_add);

/* Write that encoding (of fev__meta_size() bytes, > 0) at dst. */
void fev__meta_encode(const fev_send_opts *opts, const fev_header *add,
		      size_t n_add, uint8_t *dst);

/*
 * Check the meta_len bytes at p and point ev's key and header view into
 * them: 0, or -EBADMSG when they do not parse.
 */
int fev__meta_parse(const uint8_t *p, uint32_t meta_len, fev_event *ev);

#endif /* FEV_META_H */
