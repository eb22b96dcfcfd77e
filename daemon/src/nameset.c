#include "nameset.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The index of name, or where it would go (*found false). */
static size_t find(const struct fevd_nameset *s, const char *name,
		   bool *found)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->names[mid], name);

		if (c == 0)
			return *found = true, mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static int grow(struct fevd_nameset *s)
{
	size_t cap = s->cap ? s->cap * 2 : 16;
	char **names;
	uint32_t *mark;

	if (cap > FEVD_NAMESET_MAX)
		cap = FEVD_NAMESET_MAX;
	names = realloc(s->names, cap * sizeof(*names));
	if (names == NULL)
		return -ENOMEM;
	s->names = names;
	mark = realloc(s->mark, cap * sizeof(*mark));
	if (mark == NULL)
		return -ENOMEM;
	s->mark = mark;
	s->cap = cap;
	return 0;
}

int fevd_nameset_add(struct fevd_nameset *s, const char *name)
{
	bool found;
	size_t i = find(s, name, &found);
	char *copy;

	if (found) {
		s->mark[i] = s->sweep;
		return 0;
	}
	if (s->n == FEVD_NAMESET_MAX)
		return -ENOSPC;
	if (s->n == s->cap && grow(s) < 0)
		return -ENOMEM;
	copy = strdup(name);
	if (copy == NULL)
		return -ENOMEM;
	memmove(s->names + i + 1, s->names + i, (s->n - i) * sizeof(*s->names));
	memmove(s->mark + i + 1, s->mark + i, (s->n - i) * sizeof(*s->mark));
	s->names[i] = copy;
	s->mark[i] = s->sweep;
	s->n++;
	return 1;
}

void fevd_nameset_sweep_begin(struct fevd_nameset *s)
{
	s->sweep++;
}

void fevd_nameset_sweep_end(struct fevd_nameset *s)
{
	size_t o = 0;

	for (size_t i = 0; i < s->n; i++) {
		if (s->mark[i] != s->sweep) {
			free(s->names[i]);
			continue;
		}
		s->names[o] = s->names[i];
		s->mark[o++] = s->mark[i];
	}
	s->n = o;
}

void fevd_nameset_free(struct fevd_nameset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->names[i]);
	free(s->names);
	free(s->mark);
	memset(s, 0, sizeof(*s));
}
