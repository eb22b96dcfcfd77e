#include "hostile.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "fevtest.h"

static char last_inst[FEV_INSTANCE_MAX + 1];

void hq_cleanup_last(void)
{
	if (last_inst[0] != '\0')
		fevtest_cleanup(last_inst);
	last_inst[0] = '\0';
}

void hq_setup(struct hq *h, uint32_t capacity, uint32_t max_event,
	      int policy)
{
	int rc;

	memset(h, 0, sizeof(*h));
	fevtest_instance(h->inst);
	memcpy(last_inst, h->inst, sizeof(last_inst));
	h->capacity = capacity;
	h->max_event = max_event;
	h->policy = policy;
	fevtest_create(h->inst, "q", capacity, max_event, policy);
	h->p = fevtest_open(h->inst, "q", FEV_PRODUCER, FEV_OPEN_NO_SPIN);
	h->c = fevtest_open(h->inst, "q", FEV_CONSUMER, FEV_OPEN_NO_SPIN);
	rc = fev__map_open(h->inst, "q", true, &h->m);
	if (rc != 0)
		fail_msg("fev__map_open: %s", fev_strerror(rc));
}

void hq_teardown(struct hq *h)
{
	fev_close(h->p);
	fev_close(h->c);
	h->p = h->c = NULL;
	fev__map_close(&h->m);
	assert_int_equal(fev_queue_delete("q", h->inst), 0);
	fevtest_assert_no_leftovers(h->inst);
}

void hq_send(struct hq *h, uint64_t v)
{
	int rc = fev_send(h->p, &v, sizeof(v), 0);

	if (rc != 0)
		fail_msg("fev_send(%llu): %s", (unsigned long long)v,
			 fev_strerror(rc));
}

uint64_t hq_recv(struct hq *h)
{
	uint64_t v = 0;
	ssize_t n = fev_recv(h->c, &v, sizeof(v), NULL, 0);

	if (n != (ssize_t)sizeof(v))
		fail_msg("fev_recv: %zd (%s)", n,
			 n < 0 ? fev_strerror((int)n) : "short");
	return v;
}

uint32_t hq_repairing_record(struct hq *h)
{
	for (uint32_t i = 0; i < h->m.geo.attacher_max; i++)
		if (atomic_load(&h->m.attachers[i].state) ==
		    FEV__ATT_REPAIRING)
			return i;
	fail_msg("no record in state REPAIRING");
	return 0;
}
