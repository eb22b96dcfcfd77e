/*
 * The INI parser (the dialect is in fevini.h).  It reads one line at a
 * time, checks what the dialect itself forbids, and hands sections and keys
 * to the caller's rules; every check that can be tied to a line is made on
 * that line, so the message names the line a person has to fix.
 */
#include "fevini.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A section or key already seen, to refuse the second one. */
struct seen {
	char *text; /* a key, or a section as "name arg..." */
	unsigned line;
};

struct seen_list {
	struct seen *v;
	size_t n, cap;
};

struct parser {
	const char *source;
	unsigned line;
	char *err;
	size_t errlen;
	const struct fevini_rules *rules;
	void *ctx;
	bool in_section;
	struct fevini_section sect;
	char sect_words[FEVINI_LINE_MAX + 1]; /* sect's strings live here */
	struct seen_list sections; /* every section so far */
	struct seen_list keys;     /* keys of the current section */
};

static int fail(struct parser *p, unsigned line, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(struct parser *p, unsigned line, int rc, const char *fmt, ...)
{
	char reason[FEVINI_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s:%u: %s", p->source, line, reason);
	return rc;
}

/* A callback's failure: its reason, at line. */
static int refused(struct parser *p, unsigned line, int rc, const char *why)
{
	if (rc == -ENOMEM && why[0] == '\0')
		why = "out of memory";
	return fail(p, line, rc, "%s", why[0] ? why : "refused");
}

static void seen_clear(struct seen_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].text);
	free(l->v);
	*l = (struct seen_list){ 0 };
}

/* The line text was first seen on, or 0. */
static unsigned seen_find(const struct seen_list *l, const char *text)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].text, text) == 0)
			return l->v[i].line;
	return 0;
}

static int seen_add(struct seen_list *l, const char *text, unsigned line)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct seen *grown = realloc(l->v, cap * sizeof(*grown));

		if (grown == NULL)
			return -ENOMEM;
		l->v = grown;
		l->cap = cap;
	}
	l->v[l->n].text = strdup(text);
	if (l->v[l->n].text == NULL)
		return -ENOMEM;
	l->v[l->n++].line = line;
	return 0;
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static void strip_comment(char *s)
{
	for (char *c = s; *c != '\0'; c++)
		if ((*c == '#' || *c == ';') &&
		    (c == s || isspace((unsigned char)c[-1]))) {
			*c = '\0';
			return;
		}
}

/* The current section is complete: let the caller check it whole. */
static int end_section(struct parser *p)
{
	char why[FEVINI_ERR_MAX] = "";
	int rc;

	if (!p->in_section)
		return 0;
	p->in_section = false;
	seen_clear(&p->keys);
	if (p->rules->end == NULL)
		return 0;
	rc = p->rules->end(p->ctx, &p->sect, why, sizeof(why));
	return rc < 0 ? refused(p, p->sect.line, rc, why) : 0;
}

/* Split "name arg..." into p->sect; canon gets "name arg ..." with one
 * space between words, the section's identity for duplicates. */
static int split_header(struct parser *p, const char *inner, char *canon,
			size_t canonlen)
{
	struct fevini_section *s = &p->sect;
	char *save = NULL, *word;

	memcpy(p->sect_words, inner, strlen(inner) + 1);
	*s = (struct fevini_section){ .line = p->line };
	s->name = strtok_r(p->sect_words, " \t", &save);
	if (s->name == NULL)
		return fail(p, p->line, -EINVAL,
			    "empty section header '[]'");
	snprintf(canon, canonlen, "%s", s->name);
	while ((word = strtok_r(NULL, " \t", &save)) != NULL) {
		if (s->nargs == FEVINI_ARGS_MAX)
			return fail(p, p->line, -EINVAL,
				    "section header [%s] has more than %d "
				    "words after its name",
				    inner, FEVINI_ARGS_MAX);
		s->args[s->nargs++] = word;
		strncat(canon, " ", canonlen - strlen(canon) - 1);
		strncat(canon, word, canonlen - strlen(canon) - 1);
	}
	return 0;
}

static int section(struct parser *p, char *s)
{
	char canon[FEVINI_LINE_MAX + 1], why[FEVINI_ERR_MAX] = "";
	char *end = strchr(s, ']');
	unsigned first;
	int rc = end_section(p);

	if (rc < 0)
		return rc;
	if (end == NULL || end[1] != '\0')
		return fail(p, p->line, -EINVAL,
			    "malformed section header '%s' (expected [NAME] "
			    "or [NAME ARG...])",
			    s);
	*end = '\0';
	rc = split_header(p, trim(s + 1), canon, sizeof(canon));
	if (rc < 0)
		return rc;
	first = seen_find(&p->sections, canon);
	if (first != 0)
		return fail(p, p->line, -EINVAL,
			    "[%s] already defined on line %u", canon, first);
	rc = p->rules->section(p->ctx, &p->sect, why, sizeof(why));
	if (rc < 0)
		return refused(p, p->line, rc, why);
	if (seen_add(&p->sections, canon, p->line) < 0)
		return fail(p, p->line, -ENOMEM, "out of memory");
	p->in_section = true;
	return 0;
}

static int key_value(struct parser *p, char *s)
{
	char why[FEVINI_ERR_MAX] = "";
	char *eq = strchr(s, '=');
	char *key, *value;
	unsigned first;
	int rc;

	if (eq == NULL)
		return fail(p, p->line, -EINVAL,
			    "expected 'key = value' or a [section], got '%s'",
			    s);
	*eq = '\0';
	key = trim(s);
	value = trim(eq + 1);
	if (key[0] == '\0')
		return fail(p, p->line, -EINVAL, "missing key before '='");
	if (!p->in_section)
		return fail(p, p->line, -EINVAL,
			    "key '%s' outside any section", key);
	if (value[0] == '\0')
		return fail(p, p->line, -EINVAL, "key '%s' has no value", key);
	first = seen_find(&p->keys, key);
	if (first != 0)
		return fail(p, p->line, -EINVAL,
			    "duplicate key '%s' (first given on line %u)", key,
			    first);
	if (seen_add(&p->keys, key, p->line) < 0)
		return fail(p, p->line, -ENOMEM, "out of memory");
	rc = p->rules->key(p->ctx, &p->sect, key, value, why, sizeof(why));
	return rc < 0 ? refused(p, p->line, rc, why) : 0;
}

static int parse_line(struct parser *p, char *raw)
{
	char *s;

	for (char *c = raw; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 && *c != '\t')
			return fail(p, p->line, -EINVAL,
				    "control character 0x%02x in line",
				    (unsigned char)*c);
	strip_comment(raw);
	s = trim(raw);
	if (s[0] == '\0')
		return 0;
	if (s[0] == '[')
		return section(p, s);
	return key_value(p, s);
}

int fevini_parse(const char *text, const char *source,
		 const struct fevini_rules *rules, void *ctx, char *err,
		 size_t errlen)
{
	struct parser *p = calloc(1, sizeof(*p));
	const char *at = text;
	int rc = 0;

	if (p == NULL) {
		snprintf(err, errlen, "%s: out of memory", source);
		return -ENOMEM;
	}
	*p = (struct parser){ .source = source, .err = err, .errlen = errlen,
			      .rules = rules, .ctx = ctx };
	while (rc == 0 && *at != '\0') {
		const char *nl = strchr(at, '\n');
		size_t n = nl ? (size_t)(nl - at) : strlen(at);
		char line[FEVINI_LINE_MAX + 1];

		p->line++;
		if (n > FEVINI_LINE_MAX) {
			rc = fail(p, p->line, -EINVAL,
				  "line longer than %d bytes", FEVINI_LINE_MAX);
			break;
		}
		memcpy(line, at, n);
		line[n] = '\0';
		rc = parse_line(p, line);
		at += n + (nl != NULL);
	}
	if (rc == 0)
		rc = end_section(p);
	seen_clear(&p->keys);
	seen_clear(&p->sections);
	free(p);
	return rc;
}
