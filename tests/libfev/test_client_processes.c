/*
 * Producers and consumers in separate processes (fork + exec of
 * fev_test_peer): every event is delivered exactly once, byte for byte, and
 * each consumer sees each producer's events in order.
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fevtest.h"
#include "peer.h"

#ifndef FEV_TEST_PEER
#error "CMake passes the path of fev_test_peer"
#endif

#define MAX_PEERS 8

static int setup(void **state)
{
	return fevtest_setup(state, 300); /* reads from the report pipes are bounded by this */
}

static void read_all(int fd, void *p, size_t len)
{
	char *c = p;

	while (len > 0) {
		ssize_t n = read(fd, c, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail_msg("short report from a consumer (%zu bytes "
				 "missing)",
				 len);
		c += n;
		len -= (size_t)n;
	}
}

static uint64_t expected_checksum(uint32_t producers, uint64_t per_producer)
{
	uint8_t buf[PEER_EVENT_MAX];
	uint64_t sum = 0;

	for (uint32_t p = 0; p < producers; p++)
		for (uint64_t s = 0; s < per_producer; s++)
			sum += peer_event_hash(buf,
					       peer_event_make(buf, p, s));
	return sum;
}

static int spawn_consumer(const char *inst, uint32_t producers,
			  uint64_t per_producer, int *read_fd)
{
	char np[16], npp[24], fd[16];
	int pfd[2], pid;

	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	snprintf(np, sizeof(np), "%u", producers);
	snprintf(npp, sizeof(npp), "%llu", (unsigned long long)per_producer);
	snprintf(fd, sizeof(fd), "%d", FEVTEST_CHILD_FD);
	pid = fevtest_spawn((char *[]){ FEV_TEST_PEER, "consume", (char *)inst,
					"q", np, npp, fd, NULL },
			    pfd[1]);
	close(pfd[1]);
	*read_fd = pfd[0];
	return pid;
}

static int spawn_producer(const char *inst, uint32_t id, uint64_t count)
{
	char sid[16], n[24];

	snprintf(sid, sizeof(sid), "%u", id);
	snprintf(n, sizeof(n), "%llu", (unsigned long long)count);
	return fevtest_spawn((char *[]){ FEV_TEST_PEER, "produce",
					 (char *)inst, "q", sid, n, NULL },
			     -1);
}

static void run_processes_sync(const char *inst, uint32_t producers,
			       uint32_t consumers, uint64_t per_producer,
			       uint32_t capacity, uint32_t sync)
{
	size_t bits = (size_t)producers * per_producer, bytes = (bits + 7) / 8;
	uint8_t *all = calloc(bytes, 1), *mine = malloc(bytes);
	int ppid[MAX_PEERS], cpid[MAX_PEERS], cfd[MAX_PEERS];
	uint64_t count = 0, sum = 0, want_sum;
	fev_queue *stopper;
	fev_stats st;

	assert_non_null(all);
	assert_non_null(mine);
	fevtest_create_sync(inst, "q", capacity, PEER_EVENT_MAX,
			    FEV_POLICY_BLOCK, sync);
	for (uint32_t i = 0; i < consumers; i++)
		cpid[i] = spawn_consumer(inst, producers, per_producer,
					 &cfd[i]);
	for (uint32_t i = 0; i < producers; i++)
		ppid[i] = spawn_producer(inst, i, per_producer);
	want_sum = expected_checksum(producers, per_producer);
	for (uint32_t i = 0; i < producers; i++)
		assert_int_equal(fevtest_wait(ppid[i], 240000), 0);

	/* Every event is queued before the stops: FIFO puts them last.
	 * (A single producer's side was given back when it closed.) */
	stopper = fevtest_open(inst, "q", FEV_PRODUCER, 0);
	for (uint32_t i = 0; i < consumers; i++)
		assert_int_equal(fev_send(stopper, NULL, 0, 60000 * FEVTEST_MS),
				 0);
	fev_close(stopper);

	for (uint32_t i = 0; i < consumers; i++) {
		struct peer_report rep;

		read_all(cfd[i], &rep, sizeof(rep));
		read_all(cfd[i], mine, bytes);
		close(cfd[i]);
		assert_int_equal(fevtest_wait(cpid[i], 60000), 0);
		assert_int_equal(rep.errors, 0);
		assert_int_equal(rep.corrupt, 0);
		assert_int_equal(rep.out_of_order, 0);
		count += rep.count;
		sum += rep.checksum;
		for (size_t b = 0; b < bytes; b++) {
			if (all[b] & mine[b])
				fail_msg("an event near (producer %zu, seq %zu) "
					 "was delivered twice",
					 b * 8 / per_producer,
					 b * 8 % per_producer);
			all[b] |= mine[b];
		}
	}
	for (size_t bit = 0; bit < bits; bit++)
		if (!(all[bit / 8] & (1u << (bit % 8))))
			fail_msg("event (producer %zu, seq %zu) was never "
				 "delivered",
				 bit / per_producer, bit % per_producer);
	assert_int_equal(count, bits);
	assert_int_equal(sum, want_sum);

	assert_int_equal(fev_queue_stats("q", inst, &st), 0);
	print_message("%llu events, %llu sleeps, %llu wake calls\n",
		      (unsigned long long)bits, (unsigned long long)st.sleeps,
		      (unsigned long long)st.wakes);
	assert_int_equal(st.enqueued, bits + consumers);
	assert_int_equal(st.dequeued, bits + consumers);
	assert_int_equal(st.depth, 0);
	assert_int_equal(st.producers + st.consumers, 0);
	assert_int_equal(fev_queue_delete("q", inst), 0);
	fevtest_assert_no_leftovers(inst);
	free(all);
	free(mine);
}

static void run_processes(const char *inst, uint32_t producers,
			  uint32_t consumers, uint64_t per_producer,
			  uint32_t capacity)
{
	run_processes_sync(inst, producers, consumers, per_producer, capacity,
			   0);
}

/* Events per producer of the sync-mode runs: FEV_TEST_SYNC_EVENTS, or
 * 200,000 (CI) shared out among the producers. */
static uint64_t sync_events(uint32_t producers)
{
	const char *e = getenv("FEV_TEST_SYNC_EVENTS");
	uint64_t n = e != NULL ? strtoull(e, NULL, 10) : 200000;

	return (n > 0 ? n : 200000) / producers;
}

static void test_single_producer_single_consumer_deliver_every_event_once(
	void **state)
{
	run_processes_sync(((struct fevtest_ctx *)*state)->inst, 1, 1,
			   sync_events(1), 64, FEV_SYNC_SP | FEV_SYNC_SC);
}

static void test_single_producer_single_consumer_through_two_slots(
	void **state)
{
	/* Capacity 2: both sides sleep and wake all the time. */
	run_processes_sync(((struct fevtest_ctx *)*state)->inst, 1, 1,
			   sync_events(4), 2, FEV_SYNC_SP | FEV_SYNC_SC);
}

static void test_single_producer_three_consumers_deliver_every_event_once(
	void **state)
{
	run_processes_sync(((struct fevtest_ctx *)*state)->inst, 1, 3,
			   sync_events(1), 64, FEV_SYNC_SP);
}

static void test_three_producers_single_consumer_keep_their_order(
	void **state)
{
	run_processes_sync(((struct fevtest_ctx *)*state)->inst, 3, 1,
			   sync_events(3), 64, FEV_SYNC_SC);
}

static void test_two_producer_and_two_consumer_processes_deliver_a_million_events_once(
	void **state)
{
	run_processes(((struct fevtest_ctx *)*state)->inst, 2, 2, 500000, 1024);
}

static void test_four_producer_processes_keep_their_order_to_one_consumer(
	void **state)
{
	run_processes(((struct fevtest_ctx *)*state)->inst, 4, 1, 50000, 64);
}

static void test_processes_through_a_tiny_queue_lose_nothing(void **state)
{
	/* Capacity 2: producers and consumers sleep and wake all the time. */
	run_processes(((struct fevtest_ctx *)*state)->inst, 3, 3, 20000, 2);
}

static void test_processes_sleeping_without_spinning_lose_no_wakeup(
	void **state)
{
	char flags[16];

	/* Peers wait at most a minute per event: a lost wake-up fails. */
	snprintf(flags, sizeof(flags), "%u", FEV_OPEN_NO_SPIN);
	setenv("FEVTEST_OPEN_FLAGS", flags, 1);
	run_processes(((struct fevtest_ctx *)*state)->inst, 2, 2, 100000, 4);
	unsetenv("FEVTEST_OPEN_FLAGS");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, fevtest_teardown)
		T(test_two_producer_and_two_consumer_processes_deliver_a_million_events_once),
		T(test_four_producer_processes_keep_their_order_to_one_consumer),
		T(test_processes_through_a_tiny_queue_lose_nothing),
		T(test_processes_sleeping_without_spinning_lose_no_wakeup),
		T(test_single_producer_single_consumer_deliver_every_event_once),
		T(test_single_producer_single_consumer_through_two_slots),
		T(test_single_producer_three_consumers_deliver_every_event_once),
		T(test_three_producers_single_consumer_keep_their_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
