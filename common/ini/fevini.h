/*
 * fevini: the INI dialect of fev's daemons (fevd, the connectors).  One
 * parser, so every config file reads the same way and every mistake is
 * refused the same way: "FILE:LINE: reason", all or nothing.
 *
 * The dialect, line by line:
 *   [NAME]  or  [NAME ARG...]   a section; at most FEVINI_ARGS_MAX words
 *                               after the name ([queue orders],
 *                               [group orders billing])
 *   key = value                 inside a section; neither may be empty
 *   # or ; at the start of a line or after whitespace begins a comment
 * Refused by the parser itself, before a callback sees anything: lines
 * longer than FEVINI_LINE_MAX, control characters, malformed headers, a key
 * outside any section, a key given twice in one section, a section (name and
 * arguments) given twice.  What a section or key means is the caller's:
 * the callbacks below say 0 or a negative errno with the reason in `why`,
 * and the parser adds the file and the line.
 *
 * Values are checked with the strict readers at the end of this header
 * (numbers in decimal with an optional unit, "64Kfoo" refused).
 *
 * Not thread-safe state: none; every call works on its own stack.
 */
#ifndef FEVINI_H
#define FEVINI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FEVINI_LINE_MAX 1024     /* bytes in one line, without its newline */
#define FEVINI_FILE_MAX (1 << 20) /* bytes in a file fevini_load() reads */
#define FEVINI_ARGS_MAX 4        /* words after a section's name */
#define FEVINI_ERR_MAX 512       /* room for "FILE:LINE: reason" */

struct fevini_section {
	const char *name;                   /* "queue" */
	const char *args[FEVINI_ARGS_MAX]; /* "orders", ...; NULL past nargs */
	unsigned nargs;
	unsigned line; /* of its header */
};

/*
 * What the caller does with what the parser found.  Each returns 0, or a
 * negative errno (usually -EINVAL) with a sentence in why (no file, no line:
 * the parser adds those); the first failure ends the parse.
 */
struct fevini_rules {
	/* A section begins: is it one the caller knows, with good arguments? */
	int (*section)(void *ctx, const struct fevini_section *s, char *why,
		       size_t whylen);
	/* key = value inside section s. */
	int (*key)(void *ctx, const struct fevini_section *s, const char *key,
		   const char *value, char *why, size_t whylen);
	/* Optional (NULL): section s is complete (the next header or the end
	 * of the text); its error is reported at the section's header line,
	 * for checks that need all its keys. */
	int (*end)(void *ctx, const struct fevini_section *s, char *why,
		   size_t whylen);
};

/*
 * Parse text, named `source` in messages.  0, or the first callback's
 * error (or -EINVAL for the syntax, -ENOMEM) with "SOURCE:LINE: reason" in
 * err.  The callbacks may have stored what came before the failing line:
 * the caller discards its result on failure.
 */
int fevini_parse(const char *text, const char *source,
		 const struct fevini_rules *rules, void *ctx, char *err,
		 size_t errlen);

/*
 * Read the file at path and parse it.  Refused with "PATH: reason" before
 * parsing: a file that cannot be opened or read (-errno), one that is not a
 * regular file (a FIFO is not waited on) or is over FEVINI_FILE_MAX, or
 * holds a NUL byte (-EINVAL).
 */
int fevini_load(const char *path, const struct fevini_rules *rules,
		void *ctx, char *err, size_t errlen);

/*
 * Strict value readers: the whole string is the value or it is refused.
 * Each returns 0, -EINVAL (not that kind of value) or -ERANGE (too large).
 */
/* Decimal digits and at most one unit K, M or G (either case, powers of
 * 1024): "4096", "64K".  No sign, no octal "010", no hex, no "64Kfoo". */
int fevini_parse_u64(const char *s, uint64_t *out);
int fevini_parse_u32(const char *s, uint32_t *out);
/* Decimal digits and a unit: ms, s, m, h or d ("250ms", "30s", "7d");
 * "0" alone is zero.  In milliseconds. */
int fevini_parse_duration_ms(const char *s, uint64_t *ms);
/* yes/no, true/false, on/off, 1/0. */
int fevini_parse_bool(const char *s, bool *out);

#endif /* FEVINI_H */
