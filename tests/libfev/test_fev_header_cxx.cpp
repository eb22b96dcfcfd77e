// fev.h must stay usable from C++: extern "C" linkage, no C-only syntax.
// Compiling this file is most of the test; running it checks that the C
// symbols link and that the option structs can be set up the C++ way.
#include "fev/fev.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <type_traits>

static_assert(std::is_standard_layout<fev_open_opts>::value,
	      "fev_open_opts is a plain struct");
static_assert(std::is_standard_layout<fev_stats>::value,
	      "fev_stats is a plain struct");

static int failures;

static void check(bool ok, const char *what)
{
	if (!ok) {
		std::fprintf(stderr, "FAILED: %s\n", what);
		failures++;
	}
}

int main()
{
	fev_open_opts opts{};
	opts.struct_size = sizeof(opts);
	opts.instance = "cxx";
	opts.flags = FEV_OPEN_NO_SPIN;
	fev_queue_config cfg{};
	cfg.struct_size = sizeof(cfg);
	cfg.capacity = 8;
	fev_queue *q = nullptr;

	check(fev_queue_name_valid("a/b") == -EINVAL, "queue name check");
	check(fev_instance_name_valid("a.b") == -EINVAL, "instance check");
	check(std::strlen(fev_strerror(-EIDRM)) > 0, "fev_strerror");
	// A bad name is refused before anything touches /dev/shm.
	check(fev_open("bad/name", FEV_CONSUMER, &opts, &q) == -EINVAL,
	      "fev_open from C++");
	check(q == nullptr, "no handle on error");
	check(fev_queue_create("", &cfg, "cxx") == -EINVAL,
	      "fev_queue_create from C++");
	check(FEV_FOREVER < 0 && FEV_ABI_MAJOR >= 1, "macros");
	return failures == 0 ? 0 : 1;
}
