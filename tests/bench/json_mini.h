/* A small strict JSON reader for the smoke test: enough to prove that
 * fev-bench writes valid JSON and to look fields up. */
#ifndef FEV_TEST_JSON_MINI_H
#define FEV_TEST_JSON_MINI_H

#include <stddef.h>

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jval {
	enum jtype type;
	double num;            /* J_NUM, J_BOOL */
	char *str;             /* J_STR */
	size_t n;              /* J_ARR, J_OBJ: children */
	struct jval *kids;     /* J_ARR, J_OBJ */
	char **keys;           /* J_OBJ */
};

/* NULL when text is not exactly one valid JSON value. */
struct jval *json_parse(const char *text);
void json_free(struct jval *v);
const struct jval *json_get(const struct jval *obj, const char *key);

#endif
