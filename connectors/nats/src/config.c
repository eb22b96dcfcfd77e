#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fevconn_file.h"
#include "fevconn_setting.h"
#include "fevini.h"
#include "log.h"
#include "subject.h"
#include "url.h"

/* The shared value rules (fevconn_setting.h), under this file's short
 * names. */
#define why fevconn_why
#define set_copy fevconn_set_copy
#define set_bool fevconn_set_bool
#define set_u32 fevconn_set_u32

struct parse {
	struct fnb_config *cfg;
	void *cur; /* the [out], [in] or [stream] being read */
};

static int set_path(char *dst, const char *key, const char *v, char *w,
		    size_t wl)
{
	return fevconn_set_path(dst, PATH_MAX, key, v, w, wl);
}

/* A file libnats reads when it connects, checked now (fevconn_file.h):
 * a secret one (seed, creds, private key) must not be open to others. */
static int set_file(char *dst, const char *key, const char *v, bool secret,
		    char *w, size_t wl)
{
	int rc = set_path(dst, key, v, w, wl);

	return rc < 0 ? rc : fevconn_file_check(key, v, secret, w, wl);
}

static int set_ms(uint32_t *dst, const char *key, const char *v,
		  uint64_t lo, uint64_t hi, char *w, size_t wl)
{
	uint64_t ms;

	if (fevini_parse_duration_ms(v, &ms) < 0 || ms < lo || ms > hi)
		return why(w, wl,
			   "%s '%s' is not a duration in %llums..%llus like "
			   "250ms, 5s",
			   key, v, (unsigned long long)lo,
			   (unsigned long long)(hi / 1000));
	*dst = (uint32_t)ms;
	return 0;
}

static int set_fev_name(char *dst, const char *key, const char *v, char *w,
			size_t wl)
{
	if (fev_queue_name_valid(v) < 0)
		return why(w, wl, "%s '%s' is not a topic name "
				  "[A-Za-z0-9._-]{1,63}",
			   key, v);
	return set_copy(dst, FEV_NAME_MAX + 1, key, v, w, wl);
}

/* JetStream stream and durable names: no '.', '*', '>', space. */
static int set_js_name(char *dst, const char *key, const char *v, char *w,
		       size_t wl)
{
	if (strpbrk(v, ".*> \t/\\") != NULL || strlen(v) >= FNB_JS_NAME_MAX)
		return why(w, wl,
			   "%s '%s' is not a JetStream name (at most %d "
			   "characters, none of . * > / \\ or space)",
			   key, v, FNB_JS_NAME_MAX - 1);
	return set_copy(dst, FNB_JS_NAME_MAX, key, v, w, wl);
}

/* "a, b c": words split on commas and spaces. */
static int split_words(const char *v, char (*dst)[FNB_URL_MAX], size_t max,
		       size_t *n, const char *key, char *w, size_t wl)
{
	*n = 0;
	for (const char *p = v + strspn(v, ", "); *p != '\0';
	     p += strspn(p, ", ")) {
		size_t len = strcspn(p, ", ");

		if (*n == max)
			return why(w, wl, "%s: more than %zu values", key, max);
		/* Not echoed: a URL may hold a password. */
		if (len >= FNB_URL_MAX)
			return why(w, wl, "%s: value %zu is longer than %d bytes",
				   key, *n + 1, FNB_URL_MAX - 1);
		memcpy(dst[*n], p, len);
		dst[(*n)++][len] = '\0';
		p += len;
	}
	if (*n == 0)
		return why(w, wl, "%s is empty", key);
	return 0;
}

static int bridge_key(struct fnb_config *cfg, const char *k, const char *v,
		      char *w, size_t wl)
{
	if (strcmp(k, "instance") == 0)
		return fevconn_set_instance(cfg->instance,
					    sizeof(cfg->instance), v, w, wl);
	if (strcmp(k, "status_file") == 0)
		return set_path(cfg->status_file, k, v, w, wl);
	if (strcmp(k, "log_level") == 0)
		return fevconn_set_log_level(&cfg->log_level, v, w, wl);
	return why(w, wl, "unknown key '%s' in [bridge]", k);
}

static int nats_key(struct fnb_nats_conf *n, const char *k, const char *v,
		    char *w, size_t wl)
{
	if (strcmp(k, "servers") == 0) {
		int rc = split_words(v, n->servers, FNB_SERVERS_MAX,
				     &n->nservers, k, w, wl);

		for (size_t i = 0; rc == 0 && i < n->nservers; i++) {
			char shown[FNB_URL_MAX];

			if (strncmp(n->servers[i], "nats://", 7) != 0 &&
			    strncmp(n->servers[i], "tls://", 6) != 0)
				return why(w, wl,
					   "servers: '%s' is not a nats:// or "
					   "tls:// URL",
					   fnb_url_shown(n->servers[i], shown,
							 sizeof(shown)));
		}
		return rc;
	}
	if (strcmp(k, "user") == 0)
		return set_copy(n->user, sizeof(n->user), k, v, w, wl);
	if (strcmp(k, "password") == 0)
		return set_copy(n->password, sizeof(n->password), k, v, w, wl);
	if (strcmp(k, "token") == 0)
		return set_copy(n->token, sizeof(n->token), k, v, w, wl);
	if (strcmp(k, "creds") == 0)
		return set_file(n->creds, k, v, true, w, wl);
	if (strcmp(k, "nkey") == 0)
		return set_copy(n->nkey, sizeof(n->nkey), k, v, w, wl);
	if (strcmp(k, "nkey_seed") == 0)
		return set_file(n->nkey_seed, k, v, true, w, wl);
	if (strcmp(k, "tls") == 0)
		return set_bool(&n->tls, k, v, w, wl);
	if (strcmp(k, "tls_hostname") == 0) {
		if (v[strcspn(v, "/:@ \t")] != '\0')
			return why(w, wl, "tls_hostname '%s' is not a host name "
					  "or address",
				   v);
		return set_copy(n->tls_hostname, sizeof(n->tls_hostname), k, v,
				w, wl);
	}
	if (strcmp(k, "tls_ca") == 0)
		return set_file(n->tls_ca, k, v, false, w, wl);
	if (strcmp(k, "tls_cert") == 0)
		return set_file(n->tls_cert, k, v, false, w, wl);
	if (strcmp(k, "tls_key") == 0)
		return set_file(n->tls_key, k, v, true, w, wl);
	if (strcmp(k, "reconnect_wait") == 0)
		return set_ms(&n->reconnect_ms, k, v, 10, 60000, w, wl);
	if (strcmp(k, "reconnect_wait_max") == 0)
		return set_ms(&n->reconnect_max_ms, k, v, 10, 600000, w, wl);
	return why(w, wl, "unknown key '%s' in [nats]", k);
}

static int out_key(struct fnb_out_conf *o, const char *k, const char *v,
		   char *w, size_t wl)
{
	if (strcmp(k, "topic") == 0)
		return set_fev_name(o->topic, k, v, w, wl);
	if (strcmp(k, "group") == 0)
		return fevconn_set_group(o->group, sizeof(o->group), v, w, wl);
	if (strcmp(k, "start") == 0)
		return fevconn_set_start(&o->start, v, w, wl);
	if (strcmp(k, "subject") == 0) {
		int rc = fnb_subject_template_check(v, w, wl);

		if (rc < 0)
			return rc;
		return set_copy(o->subject, sizeof(o->subject), k, v, w, wl);
	}
	if (strcmp(k, "max_in_flight") == 0)
		return set_u32(&o->max_in_flight, k, v, 1,
			       FNB_MAX_IN_FLIGHT_MAX, w, wl);
	if (strcmp(k, "ack_timeout") == 0)
		return set_ms(&o->ack_timeout_ms, k, v, 100, 300000, w, wl);
	return why(w, wl, "unknown key '%s' in [out %s]", k, o->name);
}

static int in_key(struct fnb_in_conf *in, const char *k, const char *v,
		  char *w, size_t wl)
{
	if (strcmp(k, "stream") == 0)
		return set_js_name(in->stream, k, v, w, wl);
	if (strcmp(k, "consumer") == 0)
		return set_js_name(in->consumer, k, v, w, wl);
	if (strcmp(k, "filter") == 0) {
		if (fnb_subject_check(v, 1) < 0)
			return why(w, wl,
				   "filter '%s' is not a subject (tokens "
				   "joined by '.', '*' for one token, '>' "
				   "last for the rest)",
				   v);
		return set_copy(in->filter, sizeof(in->filter), k, v, w, wl);
	}
	if (strcmp(k, "topic") == 0)
		return set_fev_name(in->topic, k, v, w, wl);
	if (strcmp(k, "key_header") == 0) {
		/* The library's own rule for a header name: fev_header_get()
		 * of an event without headers says -EINVAL for a name that
		 * is not one, -ENOENT for one. */
		fev_event none = { 0 };
		const void *val;
		size_t len;

		if (fev_header_get(&none, v, &val, &len) != -ENOENT)
			return why(w, wl, "key_header '%s' is not a header "
					  "name (an HTTP token)",
				   v);
		return set_copy(in->key_header, sizeof(in->key_header), k, v,
				w, wl);
	}
	if (strcmp(k, "key_token") == 0)
		return set_u32(&in->key_token, k, v, 1, 64, w, wl);
	if (strcmp(k, "batch") == 0)
		return set_u32(&in->batch, k, v, 1, FNB_BATCH_MAX, w, wl);
	if (strcmp(k, "ack_wait") == 0)
		return set_ms(&in->ack_wait_ms, k, v, 500, 3600000, w, wl);
	return why(w, wl, "unknown key '%s' in [in %s]", k, in->name);
}

static int stream_key(struct fnb_stream_conf *s, const char *k,
		      const char *v, char *w, size_t wl)
{
	if (strcmp(k, "subjects") == 0) {
		char words[FNB_SUBJECTS_MAX][FNB_URL_MAX];
		int rc = split_words(v, words, FNB_SUBJECTS_MAX, &s->nsubjects,
				     k, w, wl);

		for (size_t i = 0; rc == 0 && i < s->nsubjects; i++) {
			if (fnb_subject_check(words[i], 1) < 0)
				return why(w, wl, "subjects: '%s' is not a "
						  "subject",
					   words[i]);
			rc = set_copy(s->subjects[i], FNB_SUBJECT_MAX, k,
				      words[i], w, wl);
		}
		return rc;
	}
	if (strcmp(k, "storage") == 0) {
		if (strcmp(v, "file") != 0 && strcmp(v, "memory") != 0)
			return why(w, wl, "storage '%s' is not file or memory",
				   v);
		s->memory = strcmp(v, "memory") == 0;
		return 0;
	}
	if (strcmp(k, "duplicate_window") == 0) {
		if (fevini_parse_duration_ms(v, &s->duplicate_window_ms) < 0 ||
		    s->duplicate_window_ms < 1000)
			return why(w, wl, "duplicate_window '%s' is not a "
					  "duration of at least 1s like 2m",
				   v);
		return 0;
	}
	return why(w, wl, "unknown key '%s' in [stream %s]", k, s->name);
}

/* Grow array *arr of *n elements of size sz by one zeroed element. */
static void *grow(void *arr_p, size_t *n, size_t sz)
{
	void **arr = arr_p;
	char *g = realloc(*arr, (*n + 1) * sz);

	if (g == NULL)
		return NULL;
	*arr = g;
	memset(g + *n * sz, 0, sz);
	return g + (*n)++ * sz;
}

static int named_section(struct parse *p, const struct fevini_section *s,
			 char *w, size_t wl)
{
	struct fnb_config *c = p->cfg;
	const char *name = s->args[0];

	if (s->nargs != 1 || fev_queue_name_valid(name) < 0)
		return why(w, wl, "[%s NAME]: NAME is one word "
				  "[A-Za-z0-9._-]{1,63}",
			   s->name);
	if (strcmp(s->name, "out") == 0) {
		struct fnb_out_conf *o = grow(&c->outs, &c->nouts, sizeof(*o));

		if (o == NULL)
			return -ENOMEM;
		snprintf(o->name, sizeof(o->name), "%s", name);
		o->start = FEV_GROUP_EARLIEST;
		o->max_in_flight = FNB_DEFAULT_MAX_IN_FLIGHT;
		o->ack_timeout_ms = FNB_DEFAULT_ACK_TIMEOUT_MS;
		o->line = s->line;
		p->cur = o;
		return 0;
	}
	if (strcmp(s->name, "in") == 0) {
		struct fnb_in_conf *in = grow(&c->ins, &c->nins, sizeof(*in));

		if (in == NULL)
			return -ENOMEM;
		snprintf(in->name, sizeof(in->name), "%s", name);
		snprintf(in->key_header, sizeof(in->key_header), "%s",
			 FNB_DEFAULT_KEY_HEADER);
		in->batch = FNB_DEFAULT_BATCH;
		in->ack_wait_ms = FNB_DEFAULT_ACK_WAIT_MS;
		in->line = s->line;
		p->cur = in;
		return 0;
	}
	struct fnb_stream_conf *st =
		grow(&c->streams, &c->nstreams, sizeof(*st));

	if (st == NULL)
		return -ENOMEM;
	if (set_js_name(st->name, "[stream NAME]", name, w, wl) < 0)
		return -EINVAL;
	st->duplicate_window_ms = FNB_DEFAULT_DUPLICATE_WINDOW_MS;
	st->line = s->line;
	p->cur = st;
	return 0;
}

static int on_section(void *ctx, const struct fevini_section *s, char *w,
		      size_t wl)
{
	struct parse *p = ctx;

	p->cur = NULL;
	if (strcmp(s->name, "bridge") == 0 || strcmp(s->name, "nats") == 0) {
		if (s->nargs != 0)
			return why(w, wl, "[%s] takes no name", s->name);
		return 0;
	}
	if (strcmp(s->name, "out") == 0 || strcmp(s->name, "in") == 0 ||
	    strcmp(s->name, "stream") == 0)
		return named_section(p, s, w, wl);
	return why(w, wl, "unknown section [%s]: [bridge], [nats], "
			  "[out NAME], [in NAME] or [stream NAME]",
		   s->name);
}

static int on_key(void *ctx, const struct fevini_section *s, const char *k,
		  const char *v, char *w, size_t wl)
{
	struct parse *p = ctx;

	if (strcmp(s->name, "bridge") == 0)
		return bridge_key(p->cfg, k, v, w, wl);
	if (strcmp(s->name, "nats") == 0)
		return nats_key(&p->cfg->nats, k, v, w, wl);
	if (strcmp(s->name, "out") == 0)
		return out_key(p->cur, k, v, w, wl);
	if (strcmp(s->name, "in") == 0)
		return in_key(p->cur, k, v, w, wl);
	return stream_key(p->cur, k, v, w, wl);
}

static int out_end(struct fnb_out_conf *o, char *w, size_t wl)
{
	if (o->topic[0] == '\0')
		return why(w, wl, "[out %s] has no topic", o->name);
	if (o->subject[0] == '\0')
		return why(w, wl,
			   "[out %s] has no subject (e.g. subject = "
			   "%s.{key})",
			   o->name, o->topic);
	if (o->group[0] == '\0' &&
	    (size_t)snprintf(o->group, sizeof(o->group), "%s%s",
			     FNB_DEFAULT_GROUP_PREFIX,
			     o->name) >= sizeof(o->group))
		return why(w, wl,
			   "[out %s]: the name is too long for the default "
			   "group '" FNB_DEFAULT_GROUP_PREFIX "%s' (at most "
			   "%d characters): add group = NAME",
			   o->name, o->name, FEV_GROUP_NAME_MAX);
	return 0;
}

static int in_end(struct fnb_in_conf *in, char *w, size_t wl)
{
	if (in->stream[0] == '\0')
		return why(w, wl, "[in %s] has no stream", in->name);
	if (in->topic[0] == '\0')
		return why(w, wl, "[in %s] has no topic", in->name);
	if (in->consumer[0] == '\0' &&
	    (size_t)snprintf(in->consumer, sizeof(in->consumer), "%s%s",
			     FNB_DEFAULT_CONSUMER_PREFIX,
			     in->name) >= sizeof(in->consumer))
		return why(w, wl, "[in %s]: add consumer = NAME", in->name);
	/* A dot would make the durable name a subject hierarchy. */
	for (char *c = in->consumer; *c != '\0'; c++)
		if (*c == '.')
			*c = '_';
	return 0;
}

static int on_end(void *ctx, const struct fevini_section *s, char *w,
		  size_t wl)
{
	struct parse *p = ctx;

	if (strcmp(s->name, "out") == 0)
		return out_end(p->cur, w, wl);
	if (strcmp(s->name, "in") == 0)
		return in_end(p->cur, w, wl);
	if (strcmp(s->name, "stream") == 0 &&
	    ((struct fnb_stream_conf *)p->cur)->nsubjects == 0)
		return why(w, wl, "[stream %s] has no subjects",
			   ((struct fnb_stream_conf *)p->cur)->name);
	return 0;
}

/* What only the whole file can say. */
static int check_whole(const struct fnb_config *c, const char *path,
		       char *err, size_t errlen)
{
	const struct fnb_nats_conf *n = &c->nats;
	int auth = (n->user[0] != '\0') + (n->token[0] != '\0') +
		   (n->creds[0] != '\0') + (n->nkey_seed[0] != '\0');

	if (c->status_file[0] == '\0')
		return snprintf(err, errlen,
				"%s: [bridge] has no status_file = PATH (where "
				"fev-nats writes its counters for `fev-nats "
				"status`)",
				path),
		       -EINVAL;
	if (n->nservers == 0)
		return snprintf(err, errlen,
				"%s: [nats] has no servers = nats://HOST:PORT",
				path),
		       -EINVAL;
	if (auth > 1)
		return snprintf(err, errlen,
				"%s: [nats]: give one of user/password, token, "
				"creds or nkey_seed",
				path),
		       -EINVAL;
	if ((n->user[0] != '\0') != (n->password[0] != '\0'))
		return snprintf(err, errlen,
				"%s: [nats]: user and password go together",
				path),
		       -EINVAL;
	if ((n->nkey[0] != '\0') != (n->nkey_seed[0] != '\0'))
		return snprintf(err, errlen,
				"%s: [nats]: nkey (the public key) and nkey_seed "
				"(its seed file) go together",
				path),
		       -EINVAL;
	if ((n->tls_cert[0] != '\0') != (n->tls_key[0] != '\0'))
		return snprintf(err, errlen,
				"%s: [nats]: tls_cert and tls_key go together",
				path),
		       -EINVAL;
	if (c->nouts + c->nins == 0)
		return snprintf(err, errlen,
				"%s: nothing to bridge: add an [out NAME] or "
				"an [in NAME]",
				path),
		       -EINVAL;
	return 0;
}

/* A tls:// URL means TLS, as in every NATS client (libnats 3.4 reads only
 * its host and port, so the options must say it); and the name the
 * server's certificate must hold, said to libnats, which otherwise checks
 * one only when built with NATS_FORCE_HOST_VERIFICATION (Debian's is). */
static void tls_defaults(struct fnb_nats_conf *n)
{
	char host[FNB_URL_MAX], first[FNB_URL_MAX] = "";

	for (size_t i = 0; i < n->nservers; i++)
		if (strncmp(n->servers[i], "tls://", 6) == 0)
			n->tls = true;
	if (!n->tls || n->tls_hostname[0] != '\0')
		return;
	for (size_t i = 0; i < n->nservers; i++) {
		fnb_url_host(n->servers[i], host, sizeof(host));
		if (i > 0 && strcmp(host, first) != 0)
			return; /* several: the operator names one, or none */
		memcpy(first, host, sizeof(first));
	}
	memcpy(n->tls_hostname, first, sizeof(first));
}

int fnb_config_load(const char *path, struct fnb_config *cfg, char *err,
		    size_t errlen)
{
	static const struct fevini_rules rules = {
		.section = on_section, .key = on_key, .end = on_end,
	};
	struct fnb_config c;
	struct parse p = { .cfg = &c };
	int rc;

	memset(&c, 0, sizeof(c));
	c.log_level = FEVD_LOG_INFO;
	c.nats.reconnect_ms = FNB_DEFAULT_RECONNECT_MS;
	c.nats.reconnect_max_ms = FNB_DEFAULT_RECONNECT_MAX_MS;
	rc = fevini_load(path, &rules, &p, err, errlen);
	if (rc == 0)
		rc = check_whole(&c, path, err, errlen);
	if (rc == 0)
		tls_defaults(&c.nats);
	if (rc < 0) {
		fnb_config_free(&c);
		return rc;
	}
	*cfg = c;
	return 0;
}

void fnb_config_free(struct fnb_config *cfg)
{
	/* The password and token leave no copy behind. */
	explicit_bzero(&cfg->nats, sizeof(cfg->nats));
	free(cfg->outs);
	free(cfg->ins);
	free(cfg->streams);
	cfg->outs = NULL;
	cfg->ins = NULL;
	cfg->streams = NULL;
	cfg->nouts = cfg->nins = cfg->nstreams = 0;
}
