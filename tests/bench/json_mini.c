#include "json_mini.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct p {
	const char *s;
	int depth;
};

static void ws(struct p *p)
{
	while (*p->s == ' ' || *p->s == '\n' || *p->s == '\r' || *p->s == '\t')
		p->s++;
}

static int value(struct p *p, struct jval *v);

static int string(struct p *p, char **out)
{
	size_t cap = 16, n = 0;
	char *b = malloc(cap);

	if (b == NULL || *p->s != '"')
		goto bad;
	p->s++;
	while (*p->s != '"') {
		char c = *p->s++;

		if ((unsigned char)c < 0x20)
			goto bad;
		if (c == '\\') {
			c = *p->s++;
			if (c == 'u') {
				for (int i = 0; i < 4; i++)
					if (!isxdigit((unsigned char)*p->s++))
						goto bad;
				c = '?';
			} else if (!strchr("\"\\/bfnrt", c) || c == '\0') {
				goto bad;
			}
		}
		if (n + 2 > cap && (b = realloc(b, cap *= 2)) == NULL)
			goto bad;
		b[n++] = c;
	}
	p->s++;
	b[n] = '\0';
	*out = b;
	return 0;
bad:
	free(b);
	return -1;
}

static int number(struct p *p, struct jval *v)
{
	const char *s = p->s;
	char *end;

	if (*s == '-')
		s++;
	if (!isdigit((unsigned char)*s))
		return -1;
	v->type = J_NUM;
	v->num = strtod(p->s, &end);
	p->s = end;
	return 0;
}

static int add_kid(struct jval *v, char *key, struct p *p)
{
	struct jval *k = realloc(v->kids, (v->n + 1) * sizeof(*k));

	if (k == NULL)
		return -1;
	v->kids = k;
	if (v->type == J_OBJ) {
		char **keys = realloc(v->keys, (v->n + 1) * sizeof(*keys));

		if (keys == NULL)
			return -1;
		v->keys = keys;
		keys[v->n] = key;
	}
	memset(&k[v->n], 0, sizeof(k[v->n]));
	v->n++;
	return value(p, &k[v->n - 1]);
}

static int container(struct p *p, struct jval *v, char close)
{
	v->type = close == ']' ? J_ARR : J_OBJ;
	p->s++;
	ws(p);
	if (*p->s == close) {
		p->s++;
		return 0;
	}
	for (;;) {
		char *key = NULL;

		ws(p);
		if (v->type == J_OBJ) {
			if (string(p, &key) < 0)
				return -1;
			ws(p);
			if (*p->s++ != ':') {
				free(key);
				return -1;
			}
		}
		if (add_kid(v, key, p) < 0)
			return -1;
		ws(p);
		if (*p->s == ',') {
			p->s++;
			continue;
		}
		if (*p->s++ != close)
			return -1;
		return 0;
	}
}

static int value(struct p *p, struct jval *v)
{
	int rc;

	if (++p->depth > 64)
		return -1;
	ws(p);
	if (*p->s == '{' || *p->s == '[')
		rc = container(p, v, *p->s == '{' ? '}' : ']');
	else if (*p->s == '"')
		rc = (v->type = J_STR, string(p, &v->str));
	else if (strncmp(p->s, "true", 4) == 0)
		rc = (v->type = J_BOOL, v->num = 1, p->s += 4, 0);
	else if (strncmp(p->s, "false", 5) == 0)
		rc = (v->type = J_BOOL, p->s += 5, 0);
	else if (strncmp(p->s, "null", 4) == 0)
		rc = (v->type = J_NULL, p->s += 4, 0);
	else
		rc = number(p, v);
	p->depth--;
	return rc;
}

static void free_kids(struct jval *v)
{
	for (size_t i = 0; i < v->n; i++) {
		free_kids(&v->kids[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->kids);
	free(v->keys);
	free(v->str);
}

void json_free(struct jval *v)
{
	if (v != NULL) {
		free_kids(v);
		free(v);
	}
}

struct jval *json_parse(const char *text)
{
	struct p p = { text, 0 };
	struct jval *v = calloc(1, sizeof(*v));

	if (v == NULL)
		return NULL;
	if (value(&p, v) < 0 || (ws(&p), *p.s != '\0')) {
		json_free(v);
		return NULL;
	}
	return v;
}

const struct jval *json_get(const struct jval *obj, const char *key)
{
	if (obj == NULL || obj->type != J_OBJ)
		return NULL;
	for (size_t i = 0; i < obj->n; i++)
		if (strcmp(obj->keys[i], key) == 0)
			return &obj->kids[i];
	return NULL;
}
