/*
 * The config file parser.  Line-oriented INI: "[fabric]", "[queue NAME]",
 * "key = value", comments from '#' or ';' at the start of a line or after
 * whitespace.  Every check that can be tied to a line is made on that line,
 * so the message names the line a person has to fix.
 */
#include "config.h"

#include <bsd/libutil.h>
#include <bsd/stdlib.h>
#include <bsd/string.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "group.h"
#include "layout.h"
#include "log.h"

#define LINE_MAX_LEN 1024
#define CONFIG_FILE_MAX (1 << 20)

static const char *const policy_names[] = {
	[FEV_POLICY_BLOCK] = "block",
	[FEV_POLICY_REJECT] = "reject",
	[FEV_POLICY_DROP_OLDEST] = "drop-oldest",
};

int fevd_parse_policy(const char *s)
{
	for (int p = FEV_POLICY_BLOCK; p <= FEV_POLICY_DROP_OLDEST; p++)
		if (strcmp(s, policy_names[p]) == 0)
			return p;
	return -EINVAL;
}

const char *fevd_policy_name(int policy)
{
	if (policy < FEV_POLICY_BLOCK || policy > FEV_POLICY_DROP_OLDEST)
		return "?";
	return policy_names[policy];
}

/* Nothing, or one of the units K M G (either case) and nothing after. */
static bool unit_suffix_ok(const char *suffix)
{
	return suffix[0] == '\0' ||
	       (strchr("KMGkmg", suffix[0]) != NULL && suffix[1] == '\0');
}

int fevd_parse_u32(const char *s, uint32_t *out)
{
	uint64_t v;

	/* expand_number() reads "010" as octal and "0x10" as hex: a config
	 * that says 010 events means ten, so only decimal is accepted. */
	if (!isdigit((unsigned char)s[0]) ||
	    (s[0] == '0' && s[1] != '\0' && !isalpha((unsigned char)s[1])))
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		return -EINVAL;
	/* expand_number() reads only the first letter: "64Kfoo" is not 64K. */
	if (!unit_suffix_ok(s + strspn(s, "0123456789")))
		return -EINVAL;
	if (expand_number(s, &v) < 0)
		return errno == ERANGE ? -ERANGE : -EINVAL;
	if (v > UINT32_MAX)
		return -ERANGE;
	*out = (uint32_t)v;
	return 0;
}

int fevd_parse_mode(const char *s, mode_t *out)
{
	unsigned long v;
	char *end;

	if (s[0] < '0' || s[0] > '7' || strlen(s) > 4)
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 8);
	if (errno != 0 || *end != '\0' || v > 0777)
		return -EINVAL;
	*out = (mode_t)v;
	return 0;
}

int fevd_parse_group(const char *s, gid_t *out)
{
	return fev__group_lookup(s, out);
}

void fevd_queue_conf_defaults(struct fevd_queue_conf *q)
{
	memset(q, 0, sizeof(*q));
	q->capacity = FEVD_DEFAULT_CAPACITY;
	q->max_event = FEVD_DEFAULT_MAX_EVENT;
	q->policy = FEV_POLICY_BLOCK;
	q->mode = FEVD_DEFAULT_MODE;
	q->group = (gid_t)-1;
}

static int why(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int why(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int set_number(uint32_t *dst, const char *key, const char *value,
		      uint32_t lo, uint32_t hi, char *w, size_t wl)
{
	uint32_t v;
	int rc = fevd_parse_u32(value, &v);

	if (rc == -ERANGE || (rc == 0 && (v < lo || v > hi)))
		return why(w, wl, "%s '%s' out of range %u..%u", key, value,
			   lo, hi);
	if (rc < 0)
		return why(w, wl,
			   "%s '%s' is not a number (decimal, units K M G)",
			   key, value);
	*dst = v;
	return 0;
}

int fevd_queue_conf_set(struct fevd_queue_conf *q, const char *key,
			const char *value, char *w, size_t wl)
{
	if (strcmp(key, "capacity") == 0) {
		int rc = set_number(&q->capacity, key, value,
				    FEV__CAPACITY_MIN, FEV__CAPACITY_MAX, w,
				    wl);
		if (rc == 0 && (q->capacity & (q->capacity - 1)) != 0)
			return why(w, wl,
				   "capacity '%s' is not a power of two",
				   value);
		return rc;
	}
	if (strcmp(key, "max_event") == 0)
		return set_number(&q->max_event, key, value, 0,
				  FEV__MAX_EVENT_MAX, w, wl);
	if (strcmp(key, "attachers") == 0)
		return set_number(&q->attachers, key, value, 1,
				  FEV__ATTACHERS_MAX, w, wl);
	if (strcmp(key, "policy") == 0) {
		int p = fevd_parse_policy(value);

		if (p < 0)
			return why(w, wl,
				   "policy '%s' is not block, reject or "
				   "drop-oldest",
				   value);
		q->policy = p;
		return 0;
	}
	if (strcmp(key, "mode") == 0) {
		if (fevd_parse_mode(value, &q->mode) < 0)
			return why(w, wl,
				   "mode '%s' is not an octal mode like 0660",
				   value);
		return 0;
	}
	if (strcmp(key, "group") == 0) {
		int rc = fev__queue_group_parse(value, &q->group);

		if (rc < 0)
			return why(w, wl, "group '%s': %s", value,
				   fev__group_error(rc));
		strlcpy(q->group_name, value, sizeof(q->group_name));
		return 0;
	}
	return why(w, wl, "unknown key '%s' in [queue %s]", key, q->name);
}

int fevd_queue_conf_check(const struct fevd_queue_conf *q, char *w,
			  size_t wl)
{
	struct fev__geometry g;

	if (fev__geometry_compute(q->capacity, q->max_event,
				  q->attachers ? q->attachers :
						 FEV__ATTACHERS_DEFAULT,
				  &g) < 0)
		return why(w, wl,
			   "queue '%s': capacity %u x max_event %u is too "
			   "large for one segment",
			   q->name, q->capacity, q->max_event);
	return 0;
}

/* ---- the file ---------------------------------------------------------- */

enum section { SECT_NONE, SECT_FABRIC, SECT_QUEUE };

struct parser {
	const char *source;
	unsigned line;
	char *err;
	size_t errlen;
	struct fevd_config *cfg;
	enum section sect;
	bool seen_fabric;
	unsigned fabric_line;
	/* keys seen in the current section, to refuse duplicates */
	char seen[16][32];
	unsigned nseen;
};

static int fail(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int fail(struct parser *p, const char *fmt, ...)
{
	char reason[FEVD_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s:%u: %s", p->source, p->line, reason);
	return -EINVAL;
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

static struct fevd_queue_conf *current_queue(struct parser *p)
{
	return &p->cfg->queues[p->cfg->nqueues - 1];
}

static int end_section(struct parser *p)
{
	char w[FEVD_ERR_MAX];
	unsigned line = p->line;
	int rc = 0;

	if (p->sect != SECT_QUEUE)
		return 0;
	if (fevd_queue_conf_check(current_queue(p), w, sizeof(w)) < 0) {
		p->line = current_queue(p)->line;
		rc = fail(p, "%s", w);
		p->line = line;
	}
	return rc;
}

static int open_queue(struct parser *p, const char *name)
{
	struct fevd_config *c = p->cfg;
	struct fevd_queue_conf *grown, *q;

	if (fev_queue_name_valid(name) < 0)
		return fail(p,
			    "bad queue name '%s' (1-63 of A-Z a-z 0-9 . _ -)",
			    name);
	for (size_t i = 0; i < c->nqueues; i++)
		if (strcmp(c->queues[i].name, name) == 0)
			return fail(p, "queue '%s' already defined on line %u",
				    name, c->queues[i].line);
	grown = realloc(c->queues, (c->nqueues + 1) * sizeof(*grown));
	if (grown == NULL)
		return -ENOMEM;
	c->queues = grown;
	q = &c->queues[c->nqueues++];
	fevd_queue_conf_defaults(q);
	strlcpy(q->name, name, sizeof(q->name));
	q->line = p->line;
	p->sect = SECT_QUEUE;
	return 0;
}

static int section(struct parser *p, char *s)
{
	char *end = strchr(s, ']');
	char *inner;
	int rc = end_section(p);

	if (rc < 0)
		return rc;
	if (end == NULL || end[1] != '\0')
		return fail(p, "malformed section header '%s'", s);
	*end = '\0';
	inner = trim(s + 1);
	p->nseen = 0;
	if (strcmp(inner, "fabric") == 0) {
		if (p->seen_fabric)
			return fail(p, "[fabric] already defined on line %u",
				    p->fabric_line);
		p->seen_fabric = true;
		p->fabric_line = p->line;
		p->sect = SECT_FABRIC;
		return 0;
	}
	if (strncmp(inner, "queue", 5) == 0 &&
	    isspace((unsigned char)inner[5]))
		return open_queue(p, trim(inner + 5));
	if (strcmp(inner, "queue") == 0)
		return fail(p, "[queue] needs a name: [queue NAME]");
	return fail(p, "unknown section [%s] (expected [fabric] or [queue NAME])",
		    inner);
}

static int parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcmp(v, yes[i]) == 0)
			return *out = true, 0;
		if (strcmp(v, no[i]) == 0)
			return *out = false, 0;
	}
	return -EINVAL;
}

static int fabric_key(struct parser *p, const char *key, const char *v)
{
	struct fevd_config *c = p->cfg;

	if (strcmp(key, "instance") == 0) {
		if (fev_instance_name_valid(v) < 0)
			return fail(p,
				    "bad instance name '%s' (1-31 of A-Z a-z "
				    "0-9 _ -, no dots)",
				    v);
		strlcpy(c->instance, v, sizeof(c->instance));
	} else if (strcmp(key, "control_socket") == 0) {
		if (v[0] != '/' ||
		    strlcpy(c->control_socket, v, sizeof(c->control_socket)) >=
			    sizeof(c->control_socket))
			return fail(p,
				    "control_socket must be an absolute path "
				    "shorter than %zu bytes",
				    sizeof(c->control_socket));
	} else if (strcmp(key, "pidfile") == 0) {
		if (v[0] != '/' ||
		    strlcpy(c->pidfile, v, sizeof(c->pidfile)) >=
			    sizeof(c->pidfile))
			return fail(p, "pidfile must be an absolute path");
	} else if (strcmp(key, "log_level") == 0) {
		int l = fevd_log_level_parse(v);

		if (l < 0)
			return fail(p,
				    "log_level '%s' is not debug, info, "
				    "notice, warning or error",
				    v);
		c->log_level = l;
	} else if (strcmp(key, "unlink_on_exit") == 0) {
		if (parse_bool(v, &c->unlink_on_exit) < 0)
			return fail(p, "unlink_on_exit '%s' is not yes or no",
				    v);
	} else if (strcmp(key, "admin_group") == 0) {
		int rc = fevd_parse_group(v, &c->admin_gid);

		if (rc < 0)
			return fail(p, "admin_group '%s': %s", v,
				    fev__group_error(rc));
		c->has_admin_group = true;
		strlcpy(c->admin_group, v, sizeof(c->admin_group));
	} else {
		return fail(p, "unknown key '%s' in [fabric]", key);
	}
	return 0;
}

static int key_value(struct parser *p, char *s)
{
	char *eq = strchr(s, '=');
	char w[FEVD_ERR_MAX];
	char *key, *value;

	if (eq == NULL)
		return fail(p, "expected 'key = value' or a [section], got '%s'",
			    s);
	*eq = '\0';
	key = trim(s);
	value = trim(eq + 1);
	if (key[0] == '\0')
		return fail(p, "missing key before '='");
	if (p->sect == SECT_NONE)
		return fail(p, "key '%s' outside any section", key);
	if (value[0] == '\0')
		return fail(p, "key '%s' has no value", key);
	for (unsigned i = 0; i < p->nseen; i++)
		if (strcmp(p->seen[i], key) == 0)
			return fail(p, "duplicate key '%s'", key);
	if (p->nseen < sizeof(p->seen) / sizeof(p->seen[0]))
		strlcpy(p->seen[p->nseen++], key, sizeof(p->seen[0]));
	if (p->sect == SECT_FABRIC)
		return fabric_key(p, key, value);
	if (fevd_queue_conf_set(current_queue(p), key, value, w, sizeof(w)) <
	    0)
		return fail(p, "%s", w);
	return 0;
}

static int parse_line(struct parser *p, char *raw)
{
	char *s;

	for (char *c = raw; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 && *c != '\t')
			return fail(p, "control character in line");
	strip_comment(raw);
	s = trim(raw);
	if (s[0] == '\0')
		return 0;
	if (s[0] == '[')
		return section(p, s);
	return key_value(p, s);
}

static void config_init(struct fevd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strlcpy(cfg->instance, "default", sizeof(cfg->instance));
	cfg->log_level = FEVD_LOG_INFO;
}

int fevd_config_parse(const char *text, const char *source,
		      struct fevd_config *out, char *err, size_t errlen)
{
	struct fevd_config cfg;
	struct parser p = { .source = source, .err = err, .errlen = errlen,
			    .cfg = &cfg };
	const char *at = text;
	int rc = 0;

	config_init(&cfg);
	while (rc == 0 && *at != '\0') {
		const char *nl = strchr(at, '\n');
		size_t n = nl ? (size_t)(nl - at) : strlen(at);
		char line[LINE_MAX_LEN + 1];

		p.line++;
		if (n > LINE_MAX_LEN) {
			rc = fail(&p, "line longer than %d bytes", LINE_MAX_LEN);
			break;
		}
		memcpy(line, at, n);
		line[n] = '\0';
		rc = parse_line(&p, line);
		at += n + (nl != NULL);
	}
	if (rc == 0)
		rc = end_section(&p);
	if (rc == -ENOMEM)
		snprintf(err, errlen, "%s: out of memory", source);
	if (rc < 0) {
		fevd_config_free(&cfg);
		return rc;
	}
	*out = cfg;
	return 0;
}

int fevd_config_load(const char *path, struct fevd_config *cfg, char *err,
		     size_t errlen)
{
	struct stat st;
	char *text;
	ssize_t n;
	int fd, rc;

	/* O_NONBLOCK: a FIFO must be refused below, not wait for a writer. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > CONFIG_FILE_MAX) {
		close(fd);
		snprintf(err, errlen, "%s: not a regular file under 1 MiB",
			 path);
		return -EINVAL;
	}
	text = malloc((size_t)st.st_size + 1);
	if (text == NULL) {
		close(fd);
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	n = read(fd, text, (size_t)st.st_size);
	rc = n < 0 ? -errno : 0;
	close(fd);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
	} else if (memchr(text, '\0', (size_t)n) != NULL) {
		snprintf(err, errlen, "%s: binary data (NUL byte)", path);
		rc = -EINVAL;
	} else {
		text[n] = '\0';
		rc = fevd_config_parse(text, path, cfg, err, errlen);
	}
	free(text);
	return rc;
}

int fevd_config_default(struct fevd_config *cfg)
{
	static const char text[] = "[fabric]\n"
				   "instance = default\n"
				   "[queue events]\n"
				   "capacity = 4096\n"
				   "max_event = 1024\n"
				   "policy = block\n"
				   "mode = 0660\n";
	char err[FEVD_ERR_MAX];

	return fevd_config_parse(text, "(embedded default)", cfg, err,
				 sizeof(err));
}

void fevd_config_free(struct fevd_config *cfg)
{
	free(cfg->queues);
	cfg->queues = NULL;
	cfg->nqueues = 0;
}

const struct fevd_queue_conf *fevd_config_find(const struct fevd_config *cfg,
					       const char *queue)
{
	for (size_t i = 0; i < cfg->nqueues; i++)
		if (strcmp(cfg->queues[i].name, queue) == 0)
			return &cfg->queues[i];
	return NULL;
}
