/*
 * Subjects: the [out] template (orders.{key}, {partition}, {topic}) and
 * the key as a subject token, both ways.  A token is printable ASCII
 * without space, '.', '*' or '>' (NATS's rule); a key byte outside that,
 * and '%' itself, is written %HH, so every key has one token and the [in]
 * side reads the same bytes back.  An event without a key has the token
 * "_" (FNB_NO_KEY_TOKEN); a key "_" is written %5F.
 */
#ifndef FNB_SUBJECT_H
#define FNB_SUBJECT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FNB_NO_KEY_TOKEN "_"

/* 0, or -EINVAL with the reason in why: a template is literal tokens and
 * the placeholders {key}, {partition}, {topic}; no wildcard, no empty
 * token. */
int fnb_subject_template_check(const char *tmpl, char *why, size_t whylen);

/* The subject of one event; its length, or -ENAMETOOLONG past cap. */
ssize_t fnb_subject_expand(const char *tmpl, const char *topic,
			   uint32_t partition, const void *key,
			   size_t key_len, char *out, size_t cap);

/* 0, or -EINVAL: a subject (or filter, wildcards allowed) that NATS
 * takes. */
int fnb_subject_check(const char *subject, int wildcards);

/*
 * Token n (1-based) of subject, decoded back into a key: its length
 * (0 for FNB_NO_KEY_TOKEN), -ENOENT when the subject has fewer tokens,
 * -EINVAL for a bad %HH, -EMSGSIZE past cap.
 */
ssize_t fnb_subject_key(const char *subject, uint32_t n, void *key,
			size_t cap);

/*
 * The key in the fev-key header: as it is when every byte is printable
 * ASCII other than '%' (the usual key reads the same in NATS), else those
 * bytes as %HH.  encode: the value's length (NUL-terminated), -EMSGSIZE
 * past cap.  decode: the key's length, -EINVAL for a bad %HH, -EMSGSIZE
 * past cap.
 */
ssize_t fnb_key_header_encode(const void *key, size_t key_len, char *out,
			      size_t cap);
ssize_t fnb_key_header_decode(const char *value, void *key, size_t cap);

#endif /* FNB_SUBJECT_H */
