/*
 * memtrap.c: a mapping whose file is truncated reads zeros after a fault
 * instead of killing the process, and fev__memtrap_tripped() says so for
 * that mapping only, also once others were registered and removed (fevd
 * asks it of every queue each second, through a count of tripped
 * mappings that must go up and down with them).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "memtrap.h"

#define LEN (4 * 4096)

struct file_map {
	int fd;
	volatile uint8_t *base;
};

static void map_file(struct file_map *m)
{
	m->fd = memfd_create("memtrap", MFD_CLOEXEC);
	assert_true(m->fd >= 0);
	assert_int_equal(ftruncate(m->fd, LEN), 0);
	m->base = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd, 0);
	assert_true(m->base != MAP_FAILED);
	memset((void *)m->base, 0x5a, LEN);
	assert_int_equal(fev__memtrap_add((void *)m->base, LEN), 0);
}

static void unmap_file(struct file_map *m)
{
	fev__memtrap_remove((void *)m->base);
	munmap((void *)m->base, LEN);
	close(m->fd);
}

static void test_truncated_mapping_reads_zeros_and_is_tripped(void **state)
{
	struct file_map a, b;

	(void)state;
	assert_int_equal(fev__memtrap_install(), 0);
	map_file(&a);
	map_file(&b);
	assert_false(fev__memtrap_tripped((void *)a.base));
	assert_int_equal(ftruncate(a.fd, 4096), 0);
	assert_int_equal(a.base[0], 0x5a);        /* still in the file */
	assert_int_equal(a.base[2 * 4096], 0);    /* faulted: zeros now */
	assert_true(fev__memtrap_tripped((void *)a.base));
	assert_false(fev__memtrap_tripped((void *)b.base));
	unmap_file(&a);
	/* Its slot is reused by a fresh mapping: not tripped. */
	map_file(&a);
	assert_false(fev__memtrap_tripped((void *)a.base));
	assert_int_equal(ftruncate(b.fd, 0), 0);
	assert_int_equal(b.base[4096], 0);
	assert_true(fev__memtrap_tripped((void *)b.base));
	assert_false(fev__memtrap_tripped((void *)a.base));
	unmap_file(&a);
	unmap_file(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_truncated_mapping_reads_zeros_and_is_tripped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
