/*
 * The control socket, served by a supervisor running inside the test
 * process (fevd_core in a thread): the protocol, bad requests, and
 * authorisation by peer credentials (children that become `nobody`).
 */
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "fev/fev.h"
#include "fevd_harness.h"
#include "fevd_inproc.h"
#include "supervisor.h"

#define NOBODY 65534

static int setup(void **state)
{
	return fh_inproc_setup(state);
}

static int teardown(void **state)
{
	return fh_inproc_teardown(state);
}

/* Send raw bytes as one message; the reply's status and text. */
static int raw_request(const char *sock, const void *req, size_t len,
		       char *reply, size_t cap)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	ssize_t n;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(send(fd, req, len, MSG_NOSIGNAL), (ssize_t)len);
	n = recv(fd, reply, cap - 1, 0);
	close(fd);
	assert_true(n > 0);
	reply[n] = '\0';
	return atoi(reply);
}

static void test_create_list_stats_delete_round_trip(void **state)
{
	struct fh_inproc *p = *state;
	char reply[8192];

	fh_inproc_start(p, "", "[queue events]\n");
	assert_int_equal(fh_request(p->h.sock,
				    "create orders capacity=1K max_event=256 "
				    "policy=drop-oldest mode=0600",
				    reply, sizeof(reply)),
			 0);
	assert_string_equal(reply, "0\n");
	assert_int_equal(fh_request(p->h.sock, "create orders", reply,
				    sizeof(reply)),
			 -EEXIST);
	assert_string_equal(reply, "-17 queue 'orders' already exists\n");
	assert_int_equal(fh_request(p->h.sock, "list", reply, sizeof(reply)),
			 0);
	assert_string_equal(reply,
			    "0\n"
			    "events capacity=4096 max_event=1024 policy=block "
			    "depth=0 producers=0 consumers=0\n"
			    "orders capacity=1024 max_event=256 "
			    "policy=drop-oldest depth=0 producers=0 "
			    "consumers=0\n");
	assert_int_equal(fh_request(p->h.sock, "stats orders", reply,
				    sizeof(reply)),
			 0);
	assert_string_equal(reply,
			    "0\ncapacity=1024\ndepth=0\nenqueued=0\n"
			    "dequeued=0\ndropped=0\nredelivered=0\n"
			    "tombstoned=0\nproducers=0\nconsumers=0\n"
			    "sleepers=0\nfull_waits=0\nsleeps=0\nwakes=0\n");
	assert_int_equal(fh_request(p->h.sock, "delete orders", reply,
				    sizeof(reply)),
			 0);
	assert_int_equal(fh_request(p->h.sock, "delete orders", reply,
				    sizeof(reply)),
			 -ENOENT);
	assert_string_equal(reply, "-2 no such queue 'orders'\n");
	assert_int_equal(fh_request(p->h.sock, "stats orders", reply,
				    sizeof(reply)),
			 -ENOENT);
}

static void test_stats_count_attached_producers_and_events(void **state)
{
	struct fh_inproc *p = *state;
	fev_open_opts o = { .struct_size = sizeof(o),
			    .instance = p->h.instance };
	char reply[8192];
	fev_queue *q;

	fh_inproc_start(p, "", "[queue events]\n");
	assert_int_equal(fev_open("events", FEV_PRODUCER, &o, &q), 0);
	assert_int_equal(fev_send(q, "x", 1, 0), 0);
	assert_int_equal(fev_send(q, "y", 1, 0), 0);
	assert_int_equal(fh_request(p->h.sock, "stats events", reply,
				    sizeof(reply)),
			 0);
	assert_non_null(strstr(reply, "\ndepth=2\nenqueued=2\n"));
	assert_non_null(strstr(reply, "\nproducers=1\nconsumers=0\n"));
	fev_close(q);
}

static void test_malformed_requests_get_errors_and_fevd_keeps_serving(
	void **state)
{
	static const char *const bad[] = {
		"",
		" ",
		"ping ",
		" ping",
		"list  ",
		"stats",
		"stats a b",
		"create",
		"create a/b",
		"create q capacity",
		"create q =4",
		"create q capacity=",
		"create q capacity=3",
		"create q colour=red",
		"create q policy=never",
		"create q group=no-such-group-fevd",
		"create q group=3999999999",
		"create q group=0",
		"create q capacity=64Kfoo",
		"create q capacity=64 capacity=128",
		"create q mode=0600 policy=block mode=0666",
		"delete",
		"delete ../x",
		"frobnicate",
		"ping\tx",
		"ping\r",
		"a b c d e f g h i j k l m n o p q r s t u v",
		"\xff\xfe",
	};
	struct fh_inproc *p = *state;
	char reply[8192], big[5000], nul[] = "ping\0x";

	fh_inproc_start(p, "", "[queue events]\n");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = raw_request(p->h.sock, bad[i], strlen(bad[i]), reply,
				     sizeof(reply));

		if (rc != -EINVAL ||
		    strncmp(reply, "-22 bad request: ", 17) != 0)
			fail_msg("'%s' -> %s", bad[i], reply);
	}
	assert_int_equal(raw_request(p->h.sock, nul, sizeof(nul) - 1, reply,
				     sizeof(reply)),
			 -EINVAL);
	memset(big, 'a', sizeof(big));
	assert_int_equal(raw_request(p->h.sock, big, sizeof(big), reply,
				     sizeof(reply)),
			 -EMSGSIZE);
	/* Random bytes, then a request that must still work. */
	for (unsigned i = 0; i < 200; i++) {
		unsigned char junk[64];
		uint64_t s = i * 0x9e3779b97f4a7c15ull + 1;

		for (size_t k = 0; k < sizeof(junk); k++) {
			s ^= s << 13, s ^= s >> 7, s ^= s << 17;
			junk[k] = (unsigned char)s;
		}
		assert_true(raw_request(p->h.sock, junk, 1 + i % 64, reply,
					sizeof(reply)) < 0);
	}
	assert_int_equal(fh_request(p->h.sock, "ping", reply, sizeof(reply)),
			 0);
	/* A trailing newline is forgiven. */
	assert_int_equal(fh_request(p->h.sock, "list\n", reply, sizeof(reply)),
			 0);
}

static void test_idle_connections_cannot_lock_out_others(void **state)
{
	struct fh_inproc *p = *state;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fds[100];
	char reply[8192];

	fh_inproc_start(p, "", "[queue events]\n");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", p->h.sock);
	for (int i = 0; i < 100; i++) {
		fds[i] = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		assert_int_equal(connect(fds[i], (struct sockaddr *)&sa,
					 sizeof(sa)),
				 0);
	}
	assert_int_equal(fh_request(p->h.sock, "ping", reply, sizeof(reply)),
			 0);
	for (int i = 0; i < 100; i++)
		close(fds[i]);
}

/* ---- credentials ------------------------------------------------------- */

static int become_nobody(gid_t gid)
{
	if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(NOBODY) < 0)
		return -errno;
	return 0;
}

struct as_nobody {
	const char *sock, *instance;
	gid_t gid;
};

/* Child: each failed expectation sets a bit of the exit code. */
static int nobody_requests(void *arg)
{
	const struct as_nobody *a = arg;
	char reply[8192], want[160];
	int bad = 0;

	if (become_nobody(a->gid) < 0)
		return 100;
	bad |= fh_request(a->sock, "ping", reply, sizeof(reply)) != 0;
	bad |= (fh_request(a->sock, "list", reply, sizeof(reply)) != 0) << 1;
	bad |= (fh_request(a->sock, "stats events", reply, sizeof(reply)) !=
		0) << 2;
	snprintf(want, sizeof(want),
		 "-13 permission denied: uid 65534 may not change instance "
		 "%s (needs root or fevd's uid 0)\n",
		 a->instance);
	bad |= (fh_request(a->sock, "create x", reply, sizeof(reply)) !=
		-EACCES) << 3;
	bad |= (strcmp(reply, want) != 0) << 4;
	bad |= (fh_request(a->sock, "delete events", reply, sizeof(reply)) !=
		-EACCES) << 5;
	bad |= (fh_request(a->sock, "reload", reply, sizeof(reply)) !=
		-EACCES) << 6;
	return bad;
}

/* A skip says why, so a run as an unprivileged user shows what it left
 * out (test.sh lists these lines). */
static void skip_unless_root(void)
{
	if (geteuid() != 0) {
		print_message("SKIP: not root: cannot setuid() to another user\n");
		skip();
	}
}

static void test_unprivileged_peer_may_list_but_not_create_or_delete(
	void **state)
{
	struct fh_inproc *p = *state;
	struct as_nobody a = { p->h.sock, p->h.instance, NOBODY };
	char reply[8192];
	int status;

	skip_unless_root();
	fh_inproc_start(p, "", "[queue events]\n");
	status = fevtest_wait(fevtest_fork(nobody_requests, &a), 10000);
	if (status != 0)
		fail_msg("nobody's expectations failed: mask 0x%x", status);
	assert_int_equal(fh_request(p->h.sock, "list", reply, sizeof(reply)),
			 0);
	assert_non_null(strstr(reply, "\nevents "));
	assert_null(strstr(reply, "\nx "));
}

static int nobody_creates(void *arg)
{
	const struct as_nobody *a = arg;
	char reply[8192];

	if (become_nobody(a->gid) < 0)
		return 100;
	return fh_request(a->sock, "create byadmin", reply, sizeof(reply)) ==
			       0 ?
		       0 :
		       1;
}

static void test_admin_group_member_may_create(void **state)
{
	struct fh_inproc *p = *state;
	struct group *g;
	struct as_nobody a = { p->h.sock, p->h.instance, 0 };
	char reply[8192];
	int status;

	skip_unless_root();
	g = getgrgid(NOBODY);
	if (g == NULL) {
		print_message("SKIP: no group %d to make the admin group\n",
			      NOBODY);
		skip();
	}
	a.gid = g->gr_gid;
	fh_inproc_start(p, g->gr_name[0] ? "admin_group = 65534\n" : "", "");
	status = fevtest_wait(fevtest_fork(nobody_creates, &a), 10000);
	assert_int_equal(status, 0);
	assert_int_equal(fh_request(p->h.sock, "stats byadmin", reply,
				    sizeof(reply)),
			 0);
}

struct open_as_nobody {
	const char *instance;
};

static int nobody_opens(void *arg)
{
	const struct open_as_nobody *a = arg;
	fev_open_opts o = { .struct_size = sizeof(o), .instance = a->instance };
	fev_queue *q;
	int bad = 0;

	if (become_nobody(NOBODY) < 0)
		return 100;
	bad |= fev_open("secret", FEV_CONSUMER, &o, &q) != -EACCES;
	bad |= (fev_open("events", FEV_PRODUCER, &o, &q) != -EACCES) << 1;
	if (fev_open("public", FEV_PRODUCER, &o, &q) == 0)
		fev_close(q);
	else
		bad |= 1 << 2;
	/* 0660 owned by nobody's group: allowed through the group. */
	if (fev_open("grouped", FEV_CONSUMER, &o, &q) == 0)
		fev_close(q);
	else
		bad |= 1 << 3;
	return bad;
}

static void test_unprivileged_attach_is_eacces_on_0600_and_allowed_by_group(
	void **state)
{
	struct fh_inproc *p = *state;
	struct open_as_nobody a = { p->h.instance };
	char reply[8192];
	int status;

	skip_unless_root();
	fh_inproc_start(p, "", "[queue events]\n");
	assert_int_equal(fh_request(p->h.sock, "create secret mode=0600", reply,
				    sizeof(reply)),
			 0);
	assert_int_equal(fh_request(p->h.sock, "create public mode=0666", reply,
				    sizeof(reply)),
			 0);
	assert_int_equal(fh_request(p->h.sock,
				    "create grouped mode=0660 group=65534",
				    reply, sizeof(reply)),
			 0);
	status = fevtest_wait(fevtest_fork(nobody_opens, &a), 10000);
	if (status != 0)
		fail_msg("nobody's expectations failed: mask 0x%x", status);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_create_list_stats_delete_round_trip, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_stats_count_attached_producers_and_events, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_malformed_requests_get_errors_and_fevd_keeps_serving,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_idle_connections_cannot_lock_out_others, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_unprivileged_peer_may_list_but_not_create_or_delete,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_admin_group_member_may_create, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_unprivileged_attach_is_eacces_on_0600_and_allowed_by_group,
			setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
