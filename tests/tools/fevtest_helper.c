/*
 * A helper for the fev tool's integration tests: sets up fabrics through
 * the library, without fevd, and plays a process that stalls holding a
 * claim.  Not a fake of anything: it is a client like any other.
 *
 *   fevtest-helper create INSTANCE QUEUE CAPACITY MAX_EVENT [POLICY]
 *   fevtest-helper delete INSTANCE QUEUE
 *   fevtest-helper purge INSTANCE            delete every queue of it
 *   fevtest-helper hold-consumer INSTANCE QUEUE SECONDS
 *   fevtest-helper hold-producer INSTANCE QUEUE SECONDS
 *   fevtest-helper scribble INSTANCE QUEUE SEED
 *   fevtest-helper life INSTANCE QUEUE       the library's verdict on the
 *                                            owner of each ACTIVE record:
 *                                            "PID dead|alive|unchecked"
 *   fevtest-helper member INSTANCE TOPIC GROUP SECONDS
 *                                            join an ordered group, print
 *                                            "joined", and take and release
 *                                            its events for SECONDS
 *
 * The hold commands take one position, print "held POS" and sleep before
 * giving it back, so that fev stat sees a stalled claim.  scribble fills
 * everything after the header (counters, cursors, wait words, attacher
 * table) with random bytes, as a hostile or broken process could.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "instance.h"
#include "fev/fev.h"
#include "names.h"
#include "repair.h"
#include "segment.h"

static int fail(const char *what, int rc)
{
	fprintf(stderr, "fevtest-helper: %s: %s\n", what, fev_strerror(rc));
	return 1;
}

static int delete_one(const char *queue, void *inst)
{
	fev_queue_delete(queue, inst);
	return 0;
}

static int hold(const char *inst, const char *queue, unsigned secs,
		bool consumer)
{
	fev_open_opts o = { .struct_size = sizeof(o), .instance = inst };
	fev_queue *q;
	fev_event ev;
	fev_claim cl;
	int rc = fev_open(queue, consumer ? FEV_CONSUMER : FEV_PRODUCER, &o,
			  &q);

	if (rc < 0)
		return fail("open", rc);
	rc = consumer ? fev_acquire(q, &ev, 5000000000) :
			fev_reserve(q, 1, &cl, 5000000000);
	if (rc < 0)
		return fail(consumer ? "acquire" : "reserve", rc);
	printf("held %llu\n",
	       (unsigned long long)(consumer ? ev.id : cl.priv_pos));
	fflush(stdout);
	sleep(secs);
	if (consumer)
		fev_release(q, &ev);
	else {
		((char *)cl.data)[0] = 'h';
		fev_commit(q, &cl, 1);
	}
	fev_close(q);
	return 0;
}

/* A member of an ordered group that keeps calling, so that fevd's
 * handovers to and from it complete (an owner hands over in its own
 * call), until secs have passed. */
static int member(const char *inst, const char *topic, const char *group,
		  unsigned secs)
{
	fev_open_opts o = { .struct_size = sizeof(o), .instance = inst,
			    .group = group };
	fev_member *m;
	fev_event ev;
	time_t end = time(NULL) + (time_t)secs;
	int rc = fev_member_join(topic, &o, &m);

	if (rc < 0)
		return fail("join", rc);
	printf("joined\n");
	fflush(stdout);
	while (time(NULL) < end) {
		rc = fev_member_acquire(m, &ev, NULL, 100000000);
		if (rc == 0)
			fev_member_release(m, &ev);
		else if (rc != -ETIMEDOUT && rc != -EAGAIN)
			return fail("acquire", rc);
	}
	fev_member_leave(m);
	return 0;
}

/* What fev__attacher_life(), the rule repair and fevd use, says. */
static int life(const char *inst, const char *queue)
{
	static const char *const verdict[] = {
		[FEV__LIFE_DEAD] = "dead",
		[FEV__LIFE_ALIVE] = "alive",
		[FEV__LIFE_UNCHECKED] = "unchecked",
	};
	struct fev__map m;
	int rc = fev__map_open(inst, queue, false, &m);

	if (rc < 0)
		return fail("map", rc);
	for (uint32_t i = 0; i < m.geo.attacher_max; i++) {
		const struct fev__attacher *a = &m.attachers[i];
		int32_t local = 0;

		/* A6: pairs with R6 in attach: the record is filled in. */
		if (atomic_load_explicit(&a->state, memory_order_acquire) !=
		    FEV__ATT_ACTIVE)
			continue;
		printf("%d %s\n", (int)a->pid,
		       verdict[fev__attacher_life(a, &local)]);
	}
	fev__map_close(&m);
	return 0;
}

static int scribble(const char *inst, const char *queue, unsigned seed)
{
	struct fev__map m;
	uint8_t *p, *end;
	int rc = fev__map_open(inst, queue, true, &m);

	if (rc < 0)
		return fail("map", rc);
	p = (uint8_t *)m.seg + sizeof(struct fev__header);
	end = (uint8_t *)m.seg + m.geo.off_slots;
	srand(seed);
	for (; p < end; p++)
		*p = (uint8_t)rand();
	/* Some records must look attached, or stat skips them all. */
	for (uint32_t i = 0; i < m.geo.attacher_max; i += 2)
		atomic_store(&m.attachers[i].state, FEV__ATT_ACTIVE + i % 4);
	fev__map_close(&m);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "member") == 0)
		return member(argv[2], argv[3], argv[4],
			      (unsigned)atoi(argv[5]));
	if (argc == 6 || argc == 7) {
		if (strcmp(argv[1], "create") != 0)
			goto usage;
		fev_queue_config c = {
			.struct_size = sizeof(c),
			.capacity = (uint32_t)strtoul(argv[4], NULL, 0),
			.max_event = (uint32_t)strtoul(argv[5], NULL, 0),
			.mode = 0666,
			.group = (gid_t)-1,
		};
		if (argc == 7)
			c.policy = fev__policy_parse(argv[6]);
		int rc = fev_queue_create(argv[3], &c, argv[2]);
		return rc < 0 ? fail("create", rc) : 0;
	}
	if (argc == 4 && strcmp(argv[1], "delete") == 0) {
		int rc = fev_queue_delete(argv[3], argv[2]);
		return rc < 0 ? fail("delete", rc) : 0;
	}
	if (argc == 3 && strcmp(argv[1], "purge") == 0)
		return fev__list_queues(argv[2], delete_one, argv[2]) < 0;
	if (argc == 4 && strcmp(argv[1], "life") == 0)
		return life(argv[2], argv[3]);
	if (argc == 5 && strcmp(argv[1], "scribble") == 0)
		return scribble(argv[2], argv[3], (unsigned)atoi(argv[4]));
	if (argc == 5 && strncmp(argv[1], "hold-", 5) == 0)
		return hold(argv[2], argv[3], (unsigned)atoi(argv[4]),
			    strcmp(argv[1], "hold-consumer") == 0);
usage:
	fprintf(stderr, "usage: see the comment at the top of %s\n", __FILE__);
	return 2;
}
