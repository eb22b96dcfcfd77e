/*
 * The control socket: AF_UNIX SOCK_SEQPACKET, one request per message (at
 * most FEV__CTL_REQUEST_MAX bytes), one reply per message (at most
 * FEV__CTL_REPLY_MAX).  The protocol is fixed with the fev tool (see
 * daemon/CONFIG.md, "Control socket"): ASCII words separated by single
 * spaces, the verb first; the reply's first line is 0 or "-ERRNO sentence".
 *
 * Anyone may connect (the socket is 0666); what a peer may do is decided by
 * its SO_PEERCRED credentials, taken when it connected: root, fevd's own
 * uid and members of [fabric] admin_group may change the instance, anyone
 * may look.  Everything a peer sends is untrusted: a bad request gets an
 * error reply, never more.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <bsd/string.h>

#include "clock.h"
#include "internal.h"
#include "leftovers.h"
#include "rundir.h"
#include "log.h"
#include "names.h"

#define WORDS_MAX 16

/* ---- replies ----------------------------------------------------------- */

static void reply_reset(struct fevd_reply *r)
{
	r->len = 0;
	r->overflow = false;
	r->buf[0] = '\0';
}

static void reply_add(struct fevd_reply *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void reply_add(struct fevd_reply *r, const char *fmt, ...)
{
	size_t room = sizeof(r->buf) - r->len;
	va_list ap;
	int n;

	if (r->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(r->buf + r->len, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room)
		r->overflow = true;
	else
		r->len += (size_t)n;
}

/* Replace the reply with "-ERRNO sentence". */
static void reply_err(struct fevd_reply *r, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void reply_err(struct fevd_reply *r, int err, const char *fmt, ...)
{
	char sentence[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sentence, sizeof(sentence), fmt, ap);
	va_end(ap);
	reply_reset(r);
	reply_add(r, "%d %s\n", err, sentence);
}

/* ---- authorisation ----------------------------------------------------- */

static bool in_group(const struct fevd_peer *p, gid_t gid)
{
	if (p->cred.gid == gid)
		return true;
	for (int i = 0; i < p->ngroups; i++)
		if (p->groups[i] == gid)
			return true;
	return false;
}

static bool may_change(const struct fevd *d, const struct fevd_peer *p)
{
	if (p->cred.uid == 0 || p->cred.uid == geteuid())
		return true;
	return d->cfg.has_admin_group && in_group(p, d->cfg.admin_gid);
}

static void deny(struct fevd *d, const struct fevd_peer *p)
{
	char needs[128];

	if (d->cfg.has_admin_group)
		snprintf(needs, sizeof(needs), "root, fevd's uid or group %s",
			 d->cfg.admin_group);
	else
		snprintf(needs, sizeof(needs), "root or fevd's uid %u",
			 (unsigned)geteuid());
	reply_err(&d->reply, -EACCES,
		  "permission denied: uid %u may not change instance %s "
		  "(needs %s)",
		  (unsigned)p->cred.uid, d->instance, needs);
}

/* ---- verbs ------------------------------------------------------------- */

/* What fevd did so far that grows with the number of queues: tests
 * check that an idle fevd and a create do none of it. */
static void verb_ping(struct fevd *d, char **w, int nw)
{
	(void)w;
	(void)nw;
	reply_add(&d->reply,
		  "0\nfevd %s instance=%s pid=%d listings=%llu "
		  "table_reads=%llu\n",
		  FEV_VERSION_STRING, d->instance, (int)getpid(),
		  (unsigned long long)d->listings,
		  (unsigned long long)d->table_reads);
}

/* Room kept in a list page for the "+more NAME" line. */
#define LIST_PAGE_SLACK 128

static bool read_stats(struct fevd *d, struct fevd_queue *q, fev_stats *st)
{
	return fev__map_stats_by(&q->map, st, d->stats_give_up_ns) == 0;
}

static void list_one(struct fevd *d, const char *name)
{
	struct fevd_queue *q;
	fev_stats st;

	rcu_read_lock();
	q = fevd_registry_find(&d->reg, name);
	if (q != NULL) {
		bool steady = read_stats(d, q, &st);

		reply_add(&d->reply,
			  "%s capacity=%llu max_event=%u policy=%s depth=%llu "
			  "producers=%u consumers=%u%s\n",
			  q->name, (unsigned long long)st.capacity,
			  st.max_event, fev__policy_name(st.policy),
			  (unsigned long long)st.depth, st.producers,
			  st.consumers, steady ? "" : " stats=busy");
	}
	rcu_read_unlock();
}

/*
 * "list [AFTER]": the queues named after AFTER, in name order, as many as
 * fit in one reply; when more follow, a last line "+more NAME" asks for
 * "list NAME" (no queue name starts with '+').
 */
static void verb_list(struct fevd *d, char **w, int nw)
{
	const char *after = nw > 1 ? w[1] : NULL;
	const char *last = NULL;
	char **names;
	size_t n, i = 0;
	int rc = fevd_registry_names(&d->reg, &names, &n);

	if (rc < 0) {
		reply_err(&d->reply, rc, "cannot list queues: %s",
			  strerror(-rc));
		return;
	}
	reply_add(&d->reply, "0\n");
	while (after != NULL && i < n && strcmp(names[i], after) <= 0)
		i++;
	for (; i < n; i++) {
		size_t len = d->reply.len;

		list_one(d, names[i]);
		if (last != NULL && (d->reply.overflow ||
				     d->reply.len >
					     FEV__CTL_REPLY_MAX - LIST_PAGE_SLACK)) {
			/* Not this one: it starts the next page. */
			d->reply.overflow = false;
			d->reply.len = len;
			d->reply.buf[len] = '\0';
			reply_add(&d->reply, "+more %s\n", last);
			break;
		}
		last = names[i];
	}
	for (size_t k = 0; k < n; k++)
		free(names[k]);
	free(names);
}

static void verb_stats(struct fevd *d, char **w, int nw)
{
	const char *name = w[1];
	struct fevd_queue *q;
	fev_stats st;
	bool steady = true;

	(void)nw;
	rcu_read_lock();
	q = fevd_registry_find(&d->reg, name);
	if (q != NULL)
		steady = read_stats(d, q, &st);
	rcu_read_unlock();
	if (q == NULL) {
		reply_err(&d->reply, -ENOENT, "no such queue '%s'", name);
		return;
	}
	reply_add(&d->reply,
		  "0\ncapacity=%llu\ndepth=%llu\nenqueued=%llu\n"
		  "dequeued=%llu\ndropped=%llu\nredelivered=%llu\n"
		  "tombstoned=%llu\nproducers=%u\nconsumers=%u\nsleepers=%u\n"
		  "full_waits=%llu\nsleeps=%llu\nwakes=%llu\n%s",
		  (unsigned long long)st.capacity,
		  (unsigned long long)st.depth,
		  (unsigned long long)st.enqueued,
		  (unsigned long long)st.dequeued,
		  (unsigned long long)st.dropped,
		  (unsigned long long)st.redelivered,
		  (unsigned long long)st.tombstoned, st.producers,
		  st.consumers, st.sleepers,
		  (unsigned long long)st.full_waits,
		  (unsigned long long)st.sleeps, (unsigned long long)st.wakes,
		  steady ? "" : "stats=busy\n");
}

static void verb_create(struct fevd *d, char **w, int nw)
{
	struct fevd_queue_conf c;
	char why[FEVD_ERR_MAX];
	int rc;

	if (fev_queue_name_valid(w[1]) < 0) {
		reply_err(&d->reply, -EINVAL,
			  "bad request: bad queue name '%s' (1-63 of A-Z a-z "
			  "0-9 . _ -)",
			  w[1]);
		return;
	}
	fevd_queue_conf_defaults(&c);
	strlcpy(c.name, w[1], sizeof(c.name));
	for (int i = 2; i < nw; i++) {
		char *eq = strchr(w[i], '=');

		if (eq == NULL || eq == w[i] || eq[1] == '\0') {
			reply_err(&d->reply, -EINVAL,
				  "bad request: expected key=value, got '%s'",
				  w[i]);
			return;
		}
		*eq = '\0';
		/* As the config does: one value per key, no silent winner. */
		for (int j = 2; j < i; j++)
			if (strcmp(w[j], w[i]) == 0) {
				reply_err(&d->reply, -EINVAL,
					  "bad request: key '%s' given twice",
					  w[i]);
				return;
			}
		if (fevd_queue_conf_set(&c, w[i], eq + 1, why, sizeof(why)) <
		    0) {
			reply_err(&d->reply, -EINVAL, "bad request: %s", why);
			return;
		}
	}
	if (fevd_queue_conf_check(&c, why, sizeof(why)) < 0) {
		reply_err(&d->reply, -EINVAL, "bad request: %s", why);
		return;
	}
	rc = fevd_queue_create_adopt(d, &c, FEVD_ORIGIN_CONTROL, false);
	if (rc == -EEXIST)
		reply_err(&d->reply, rc, "queue '%s' already exists", c.name);
	else if (rc < 0)
		reply_err(&d->reply, rc, "cannot create queue '%s': %s",
			  c.name, fev_strerror(rc));
	else
		reply_add(&d->reply, "0\n");
}

static void verb_delete(struct fevd *d, char **w, int nw)
{
	const char *name = w[1];
	struct fevd_queue *q;
	int rc;

	(void)nw;
	if (fev_queue_name_valid(name) < 0) {
		reply_err(&d->reply, -EINVAL,
			  "bad request: bad queue name '%s'", name);
		return;
	}
	/* Only the supervisor thread removes queues, and we are it: q stays
	 * valid after the read-side section ends. */
	rcu_read_lock();
	q = fevd_registry_find(&d->reg, name);
	rcu_read_unlock();
	if (q == NULL) {
		/* Not served, yet maybe held (item 11): free the name. */
		rc = fevd_remove_unserved(d, name);
		if (rc == 0)
			reply_add(&d->reply, "0\n");
		else
			reply_err(&d->reply, -ENOENT, "no such queue '%s'",
				  name);
		return;
	}
	rc = fevd_queue_destroy(d, q);
	if (rc < 0)
		reply_err(&d->reply, rc, "cannot delete queue '%s': %s", name,
			  fev_strerror(rc));
	else
		reply_add(&d->reply, "0\n");
}

static void verb_reload(struct fevd *d, char **w, int nw)
{
	char err[FEVD_ERR_MAX];
	int rc = fevd_supervisor_reload(d, err, sizeof(err));

	(void)w;
	(void)nw;
	if (rc < 0)
		reply_err(&d->reply, rc, "reload failed: %s", err);
	else
		reply_add(&d->reply, "0\n");
}

/* ---- parsing ----------------------------------------------------------- */

/*
 * Split req in place into words; -EINVAL with the reason for anything but
 * printable ASCII words separated by single spaces.
 */
static int split(char *req, char **w, int *nw, const char **why)
{
	char *s = req;

	*nw = 0;
	if (*s == '\0')
		return *why = "empty request", -EINVAL;
	for (;;) {
		char *start = s;

		while (*s > ' ' && *s < 0x7f)
			s++;
		if (s == start)
			return *why = "words must be separated by single "
				      "spaces",
			       -EINVAL;
		if (*nw == WORDS_MAX)
			return *why = "too many words", -EINVAL;
		w[(*nw)++] = start;
		if (*s == '\0')
			return 0;
		if (*s != ' ')
			return *why = "only printable ASCII is allowed",
			       -EINVAL;
		*s++ = '\0';
	}
}

/* ---- consumer groups of a topic --------------------------------------- */

static const char *group_error(int rc)
{
	switch (rc) {
	case -EEXIST:
		return "a group of that name exists on the topic";
	case -ENOSPC:
		return "the topic has 32 groups already: delete one first";
	case -EBUSY:
		return "members are attached to the group: close them first";
	case -ENOENT:
		return "no such topic, or no such group on it";
	case -EINVAL:
		return "bad name (groups: 1-31 of A-Z a-z 0-9 . _ -), or a "
		       "queue, which has no groups: create a topic";
	default:
		return fev_strerror(rc);
	}
}

/* One option of group-create: start=latest|earliest, policy=block|drop,
 * mode=shared|ordered.
 * 0, or -EINVAL with the reply written. */
static int group_option(struct fevd *d, const char *opt, fev_group_config *gc)
{
	if (strcmp(opt, "start=earliest") == 0)
		gc->start = FEV_GROUP_EARLIEST;
	else if (strcmp(opt, "start=latest") == 0)
		gc->start = FEV_GROUP_LATEST;
	else if (strncmp(opt, "policy=", 7) == 0 &&
		 fev__group_policy_parse(opt + 7) >= 0)
		gc->policy = fev__group_policy_parse(opt + 7);
	else if (strncmp(opt, "mode=", 5) == 0 &&
		 fev__group_mode_parse(opt + 5) >= 0)
		gc->mode = fev__group_mode_parse(opt + 5);
	else if (strncmp(opt, "session_timeout=", 16) == 0 &&
		 fev__group_session_parse(opt + 16,
					  &gc->session_timeout_ms) == 0)
		;
	else {
		reply_err(&d->reply, -EINVAL,
			  "bad request: expected start=latest|earliest, "
			  "policy=" FEV__GROUP_POLICY_NAMES ", mode="
			  FEV__GROUP_MODE_NAMES " or session_timeout="
			  "(" FEV__GROUP_SESSION_SYNTAX "), got '%s'",
			  opt);
		return -EINVAL;
	}
	return 0;
}

/* "group-create TOPIC GROUP [start=latest|earliest] [policy=block|drop]
 * [mode=shared|ordered] [session_timeout=30s|off]" */
static void verb_group_create(struct fevd *d, char **w, int nw)
{
	fev_group_config gc = { .struct_size = sizeof(gc),
				.start = FEV_GROUP_LATEST,
				.policy = FEV_GROUP_BLOCK,
				.mode = FEV_GROUP_SHARED };
	int rc;

	for (int i = 3; i < nw; i++)
		if (group_option(d, w[i], &gc) < 0)
			return;
	rc = fev_group_create(w[1], w[2], &gc, d->instance);
	if (rc < 0)
		reply_err(&d->reply, rc, "cannot create group '%s' of '%s': %s",
			  w[2], w[1], group_error(rc));
	else
		reply_add(&d->reply, "0\n");
}

static void verb_group_delete(struct fevd *d, char **w, int nw)
{
	(void)nw;
	int rc = fev_group_delete(w[1], w[2], d->instance);

	if (rc < 0)
		reply_err(&d->reply, rc, "cannot delete group '%s' of '%s': %s",
			  w[2], w[1], group_error(rc));
	else
		reply_add(&d->reply, "0\n");
}

static int list_group(const char *group, void *arg)
{
	reply_add(arg, "%s\n", group);
	return 0;
}

static void verb_group_list(struct fevd *d, char **w, int nw)
{
	struct fevd_reply *r = &d->reply;
	const char *topic = w[1];
	int rc;

	(void)nw;
	reply_add(r, "0\n");
	rc = fev_group_list(topic, d->instance, list_group, r);
	if (rc < 0) {
		reply_reset(r);
		reply_err(r, rc, "cannot list the groups of '%s': %s", topic,
			  group_error(rc));
	}
}

/* Whether a verb looks at the fabric as it is now (new segments, dead
 * peers) before it answers. */
enum view {
	VIEW_AS_IS,	  /* answered at once, whatever the number of queues */
	VIEW_FIRST_PAGE, /* fresh for the first page; the next pages are
			  * read after what the first one saw */
	VIEW_CHANGED, /* what changed since (inotify): O(1) in the queues */
	VIEW_FRESH,
};

/* The protocol: every verb, who may use it, and its limits. */
struct verb {
	const char *name;
	void (*serve)(struct fevd *d, char **w, int nw);
	int min_words, max_words; /* the verb included */
	bool changes; /* changes the instance: privileged peers only */
	enum view view;
	const char *usage;
};

static const struct verb verbs[] = {
	{ "ping", verb_ping, 1, 1, false, VIEW_AS_IS, "ping" },
	{ "list", verb_list, 1, 2, false, VIEW_FIRST_PAGE, "list [AFTER]" },
	{ "stats", verb_stats, 2, 2, false, VIEW_FRESH, "stats NAME" },
	{ "create", verb_create, 2, WORDS_MAX, true, VIEW_CHANGED,
	  "create NAME [capacity=N] [max_event=N] [policy=P] [mode=0660] "
	  "[group=G]" },
	{ "delete", verb_delete, 2, 2, true, VIEW_FRESH, "delete NAME" },
	{ "reload", verb_reload, 1, 1, true, VIEW_FRESH, "reload" },
	{ "group-create", verb_group_create, 3, 6, true, VIEW_FRESH,
	  "group-create TOPIC GROUP [start=latest|earliest] "
	  "[policy=block|drop] [mode=shared|ordered]" },
	{ "group-delete", verb_group_delete, 3, 3, true, VIEW_FRESH,
	  "group-delete TOPIC GROUP" },
	{ "group-list", verb_group_list, 2, 2, false, VIEW_FRESH,
	  "group-list TOPIC" },
};

#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

static const struct verb *verb_find(const char *name)
{
	for (size_t i = 0; i < NVERBS; i++)
		if (strcmp(name, verbs[i].name) == 0)
			return &verbs[i];
	return NULL;
}

static void unknown_verb(struct fevd *d, const char *name)
{
	char known[128] = "";

	for (size_t i = 0; i < NVERBS; i++) {
		if (i > 0)
			strlcat(known, ", ", sizeof(known));
		strlcat(known, verbs[i].name, sizeof(known));
	}
	reply_err(&d->reply, -EINVAL, "bad request: unknown verb '%.32s' (%s)",
		  name, known);
}

void fevd_control_handle(struct fevd *d, const struct fevd_peer *peer,
			 const char *req, size_t len)
{
	char buf[FEV__CTL_REQUEST_MAX + 1];
	char *w[WORDS_MAX];
	const struct verb *v = NULL;
	const char *why = NULL;
	int nw;

	reply_reset(&d->reply);
	if (len > FEV__CTL_REQUEST_MAX) {
		reply_err(&d->reply, -EMSGSIZE,
			  "bad request: longer than %d bytes",
			  FEV__CTL_REQUEST_MAX);
		return;
	}
	memcpy(buf, req, len);
	buf[len] = '\0';
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0'; /* a trailing newline is forgiven */
	if (strlen(buf) != len) {
		reply_err(&d->reply, -EINVAL, "bad request: NUL byte");
		return;
	}
	if (split(buf, w, &nw, &why) < 0) {
		reply_err(&d->reply, -EINVAL, "bad request: %s", why);
		return;
	}
	v = verb_find(w[0]);
	if (v == NULL) {
		unknown_verb(d, w[0]);
		return;
	}
	if (nw < v->min_words || nw > v->max_words) {
		reply_err(&d->reply, -EINVAL, "bad request: usage: %s",
			  v->usage);
		return;
	}
	if (v->changes && !may_change(d, peer)) {
		deny(d, peer);
		fevd_info("control: denied '%s' to uid %u", w[0],
			  (unsigned)peer->cred.uid);
		return;
	}
	d->stats_give_up_ns = fev__now_monotonic_ns() + FEVD_STATS_BUDGET_NS;
	if (v->view == VIEW_CHANGED)
		fevd_refresh(d, false);
	else if (v->view == VIEW_FRESH ||
		 (v->view == VIEW_FIRST_PAGE && nw == 1))
		fevd_refresh(d, true);
	v->serve(d, w, nw);
	if (d->reply.overflow)
		reply_err(&d->reply, -EMSGSIZE,
			  "reply longer than %d bytes", FEV__CTL_REPLY_MAX);
	if (v->changes)
		fevd_info("control: uid %u: %s %s -> %.*s",
			  (unsigned)peer->cred.uid, w[0], nw > 1 ? w[1] : "",
			  (int)strcspn(d->reply.buf, "\n"), d->reply.buf);
}

/* ---- the socket -------------------------------------------------------- */

/* Is someone answering on path?  Then it is not ours to replace. */
static bool socket_in_use(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	bool used;

	if (fd < 0)
		return false;
	used = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return used;
}

int fevd_control_listen(struct fevd *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, rc;

	if (strlcpy(sa.sun_path, d->socket_path, sizeof(sa.sun_path)) >=
	    sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	rc = fevd_run_dir_make(d->socket_path, 0755);
	if (rc < 0) {
		fevd_err("cannot create the directory of %s: %s",
			 d->socket_path, strerror(-rc));
		return rc;
	}
	rc = fevd_run_dir_check(d->socket_path);
	if (rc < 0)
		return rc;
	if (socket_in_use(&sa)) {
		fevd_err("control socket %s is served by another process",
			 d->socket_path);
		return -EADDRINUSE;
	}
	fd = fevd_control_bind(d->socket_path);
	if (fd < 0)
		return fd;
	d->listenfd = fd;
	fevd_epoll_add(d, fd, FEVD_TAG_LISTEN);
	d->reservefd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	fevd_control_listen_admin(d);
	return 0;
}

int fevd_control_bind(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, rc;

	if (strlcpy(sa.sun_path, path, sizeof(sa.sun_path)) >=
	    sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	unlink(path); /* a stale socket of a dead fevd */
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Authorisation is by peer credentials (and, for the admin socket,
	 * its directory), so anyone who reaches it may connect. */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0666) < 0 || listen(fd, 64) < 0) {
		rc = -errno;
		fevd_err("control socket %s: %s", path, strerror(-rc));
		close(fd);
		return rc;
	}
	return fd;
}

/* Stop or start taking connections on both sockets. */
static void listen_pause(struct fevd *d, bool pause)
{
	int fds[2] = { d->listenfd, d->adminfd };

	d->listen_paused = pause;
	for (int i = 0; i < 2; i++) {
		if (fds[i] < 0)
			continue;
		if (pause)
			fevd_epoll_del(d, fds[i]);
		else
			fevd_epoll_add(d, fds[i], FEVD_TAG_LISTEN);
	}
}

static void peer_groups(struct fevd_peer *p)
{
	socklen_t len = sizeof(p->groups);
	struct passwd pw, *res = NULL;
	char buf[4096];
	int n = FEVD_PEER_GROUPS_MAX;

	if (getsockopt(p->fd, SOL_SOCKET, SO_PEERGROUPS, p->groups, &len) ==
	    0) {
		p->ngroups = (int)(len / sizeof(gid_t));
		return;
	}
	/* Older kernels, or more groups than we keep: ask the user db. */
	p->ngroups = -1;
	if (getpwuid_r(p->cred.uid, &pw, buf, sizeof(buf), &res) == 0 &&
	    res != NULL &&
	    getgrouplist(res->pw_name, p->cred.gid, p->groups, &n) >= 0)
		p->ngroups = n;
}

static void peer_close(struct fevd *d, size_t i)
{
	fevd_epoll_del(d, d->peers[i].fd);
	close(d->peers[i].fd);
	d->peers[i] = d->peers[--d->npeers];
}

/* Tell a connection why it is turned away, then close it. */
static void refuse(int fd, int err, const char *sentence)
{
	char msg[256];
	int n = snprintf(msg, sizeof(msg), "%d %s\n", err, sentence);

	/* The reply waits in the socket for the peer's recv() after its
	 * send() failed: fev shows it instead of "connection reset". */
	send(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

static size_t count_peers(const struct fevd *d, bool privileged, uid_t uid,
			  bool any_uid)
{
	size_t n = 0;

	for (size_t i = 0; i < d->npeers; i++)
		n += d->peers[i].privileged == privileged &&
		     (any_uid || d->peers[i].cred.uid == uid);
	return n;
}

/*
 * The peer to drop so that a newcomer fits: the idlest unprivileged one,
 * and a privileged one only for another privileged newcomer when nothing
 * else is left.  Privileged callers are never starved by others.
 */
static size_t idlest(const struct fevd *d, bool privileged_too)
{
	size_t pick = d->npeers;

	for (size_t i = 0; i < d->npeers; i++) {
		if (d->peers[i].privileged && !privileged_too)
			continue;
		if (pick == d->npeers ||
		    d->peers[i].last_ns < d->peers[pick].last_ns)
			pick = i;
	}
	return pick;
}

static void evict(struct fevd *d, size_t i)
{
	uint64_t held;

	if (fevd_ratelimit_pass(&d->log_evicted, &held))
		fevd_info("control: connections full; closed the idlest (uid "
			  "%u) for a newcomer (%llu more closed in the last "
			  "%llu s)",
			  (unsigned)d->peers[i].cred.uid,
			  (unsigned long long)held,
			  FEVD_RATELIMIT_NS / 1000000000ull);
	peer_close(d, i);
}

/*
 * Make room for p, or refuse it: an unprivileged uid holds at most
 * FEVD_CLIENTS_PER_UID connections, and unprivileged peers together leave
 * FEVD_CLIENTS_RESERVED slots free.  true when p may be added.
 */
static bool admit(struct fevd *d, const struct fevd_peer *p)
{
	size_t unpriv = count_peers(d, false, 0, true);
	uint64_t held;

	if (!p->privileged &&
	    count_peers(d, false, p->cred.uid, false) >= FEVD_CLIENTS_PER_UID) {
		if (fevd_ratelimit_pass(&d->log_refused, &held))
			fevd_info("control: refused a connection of uid %u: it "
				  "holds %d, the most one user may (%llu more "
				  "refused in the last %llu s)",
				  (unsigned)p->cred.uid, FEVD_CLIENTS_PER_UID,
				  (unsigned long long)held,
				  FEVD_RATELIMIT_NS / 1000000000ull);
		refuse(p->fd, -EAGAIN,
		       "too many connections from your uid to fevd; close "
		       "idle ones and retry");
		return false;
	}
	if (!p->privileged &&
	    unpriv >= FEVD_CLIENTS_MAX - FEVD_CLIENTS_RESERVED)
		evict(d, idlest(d, false));
	else if (d->npeers == FEVD_CLIENTS_MAX)
		evict(d, unpriv > 0 ? idlest(d, false) : idlest(d, true));
	return true;
}

/*
 * accept() failed with EMFILE: the connection stays pending and epoll
 * reports the socket again at once, a busy loop.  Give up the reserve
 * descriptor for as long as it takes to accept the connection and tell it
 * why it is refused.
 */
static void accept_without_fds(struct fevd *d, int listenfd)
{
	uint64_t held;
	int fd;

	if (fevd_ratelimit_pass(&d->log_nofds, &held))
		fevd_err("control: out of file descriptors (limit reached); "
			 "refusing connections until some close (%llu more "
			 "in the last %llu s); raise LimitNOFILE",
			 (unsigned long long)held,
			 FEVD_RATELIMIT_NS / 1000000000ull);
	if (d->reservefd >= 0) {
		close(d->reservefd);
		fd = accept4(listenfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			refuse(fd, -EMFILE,
			       "fevd is out of file descriptors; retry later "
			       "(its admin may raise LimitNOFILE)");
		d->reservefd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	if (d->reservefd < 0) /* none to spend: deaf until the next tick */
		listen_pause(d, true);
}

void fevd_control_tick(struct fevd *d)
{
	if (d->reservefd < 0)
		d->reservefd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (d->listen_paused && d->reservefd >= 0)
		listen_pause(d, false);
}

void fevd_control_accept(struct fevd *d, int listenfd)
{
	for (;;) {
		int fd = accept4(listenfd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		socklen_t len = sizeof(struct ucred);
		struct fevd_peer p;

		if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
			accept_without_fds(d, listenfd);
			return;
		}
		if (fd < 0)
			return; /* EAGAIN, or a peer that gave up */
		memset(&p, 0, sizeof(p));
		p.fd = fd;
		p.last_ns = fev__now_monotonic_ns();
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &p.cred, &len) <
		    0) {
			close(fd);
			continue;
		}
		peer_groups(&p);
		p.privileged = may_change(d, &p);
		if (!admit(d, &p))
			continue;
		d->peers[d->npeers++] = p;
		fevd_epoll_add(d, fd, FEVD_TAG_CLIENT);
	}
}

void fevd_control_serve(struct fevd *d, int fd, bool hangup)
{
	char req[FEV__CTL_REQUEST_MAX + 1];
	size_t i;
	ssize_t n;

	for (i = 0; i < d->npeers && d->peers[i].fd != fd; i++)
		;
	if (i == d->npeers)
		return;
	/* MSG_TRUNC: the real length of a message too long for req. */
	n = recv(fd, req, sizeof(req), MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	/* SEQPACKET has empty messages: 0 is the end only with a hangup. */
	if (n < 0 || (n == 0 && hangup)) {
		peer_close(d, i);
		return;
	}
	d->peers[i].last_ns = fev__now_monotonic_ns();
	fevd_control_handle(d, &d->peers[i], req, (size_t)n);
	/* A peer that cannot take its reply now is not waited for. */
	if (send(fd, d->reply.buf, d->reply.len, MSG_NOSIGNAL | MSG_DONTWAIT) <
	    0)
		peer_close(d, i);
}

void fevd_control_close(struct fevd *d)
{
	while (d->npeers > 0)
		peer_close(d, d->npeers - 1);
	if (d->reservefd >= 0) {
		close(d->reservefd);
		d->reservefd = -1;
	}
	fevd_control_close_admin(d);
	if (d->listenfd >= 0) {
		fevd_epoll_del(d, d->listenfd);
		close(d->listenfd);
		d->listenfd = -1;
		unlink(d->socket_path);
	}
}
