/* An in-process supervisor for tests (fevd_inproc.h). */
#include "fevd_inproc.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "fevtest.h"
#include "supervisor.h"

static void *supervise(void *arg)
{
	struct fh_inproc *p = arg;
	struct fevd_options o = { .config_path = p->h.conf };

	p->rc = fevd_supervisor_new(&o, &p->d);
	if (write(p->ready[1], &p->rc, sizeof(p->rc)) < 0)
		abort();
	if (p->rc == 0) {
		fevd_supervisor_run(p->d);
		fevd_supervisor_free(p->d);
	}
	return NULL;
}

void fh_inproc_init(struct fh_inproc *p)
{
	memset(p, 0, sizeof(*p));
	p->rc = -1;
	p->ready[0] = p->ready[1] = -1;
	fh_init(&p->h);
}

void fh_inproc_start(struct fh_inproc *p, const char *extra,
		     const char *rest)
{
	int rc = -1;

	fh_write_config(&p->h, extra, rest);
	assert_int_equal(pipe(p->ready), 0);
	assert_int_equal(pthread_create(&p->thread, NULL, supervise, p), 0);
	assert_int_equal(read(p->ready[0], &rc, sizeof(rc)), sizeof(rc));
	if (rc != 0)
		pthread_join(p->thread, NULL);
	assert_int_equal(rc, 0);
}

void fh_inproc_cleanup(struct fh_inproc *p)
{
	if (p->rc == 0 && p->d != NULL) {
		fevd_supervisor_stop(p->d);
		pthread_join(p->thread, NULL);
		p->d = NULL;
	}
	if (p->ready[0] >= 0)
		close(p->ready[0]);
	if (p->ready[1] >= 0)
		close(p->ready[1]);
	fh_cleanup(&p->h); /* fails the test when segments are left behind */
}

int fh_inproc_setup(void **state)
{
	static struct fh_inproc p;

	fh_inproc_init(&p);
	*state = &p;
	return 0;
}

int fh_inproc_teardown(void **state)
{
	fh_inproc_cleanup(*state);
	return 0;
}
