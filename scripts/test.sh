#!/usr/bin/env bash
# Build fev and run its whole test suite.
#   FEV_BUILD_DIR   build directory (default: build)
#   FEV_CMAKE_ARGS  extra cmake arguments, e.g. -DFEV_ASAN=ON
#   FEV_CTEST_ARGS  extra ctest arguments, e.g. -L fast
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/deps.sh"

build=${FEV_BUILD_DIR:-$root/build}
# Segments that exist already (a running fevd's, say) are not the tests'.
# Not root, the tests can only make segments of their own user: others'
# (another user's suite running meanwhile) are not counted.
segments() {
	if [ "$(id -u)" -eq 0 ]; then
		ls /dev/shm | grep '^fev\.' || true
	else
		find /dev/shm -maxdepth 1 -name 'fev.*' -user "$(id -u)" -printf '%f\n'
	fi
}
before=$(segments)
# shellcheck disable=SC2086
cmake -S "$root" -B "$build" -G Ninja ${FEV_CMAKE_ARGS:-} >/dev/null
cmake --build "$build"
# shellcheck disable=SC2086
ctest --test-dir "$build" --output-on-failure -j2 ${FEV_CTEST_ARGS:-}

# A test that cannot run here (a root-only one as another user, say)
# prints "SKIP: reason" before cmocka's skip(), or "SKIP name: reason":
# list them all, and a cmocka skip without a reason as one, so no skip
# goes unseen.
skips=$(awk '
	/^\[ RUN +\] / { name = substr($0, index($0, "] ") + 2); why = ""; next }
	/^SKIP: / { why = substr($0, 7); next }
	/^\[  SKIPPED \] / && substr($0, index($0, "] ") + 2) == name {
		print "SKIP " name ": " (why != "" ? why : "(no reason given)")
		name = ""
		next
	}
	/^SKIP [^ :]+: / { print }
' "$build/Testing/Temporary/LastTest.log")
if [ -n "$skips" ]; then
	echo "fev: skipped as $(id -un), with reasons:"
	echo "$skips"
fi

left=$(segments | grep -vxF "$before" || true)
if [ -n "$left" ]; then
	echo "fev: tests left segment(s) in /dev/shm:" >&2
	echo "$left" >&2
	exit 1
fi
