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
static_assert(std::is_standard_layout<fev_send_opts>::value &&
		      std::is_standard_layout<fev_event>::value,
	      "fev_send_opts and fev_event are plain structs");

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
	// Keys and headers: the constants and calls, from C++.
	fev_header h{};
	h.name = FEV_HDR_TRACEPARENT;
	fev_send_opts so{};
	so.struct_size = sizeof(so);
	so.headers = &h;
	so.n_headers = 1;
	fev_event ev{};
	const void *v = nullptr;
	size_t n = 0;
	check(fev_header_get(&ev, FEV_HDR_CONTENT_TYPE, &v, &n) == -ENOENT,
	      "fev_header_get from C++");
	check(fev_partition_for_key("foobar", 6, 50) == 16,
	      "fev_partition_for_key from C++");
	return failures == 0 ? 0 : 1;
}
