#!/usr/bin/env bash
# The long fault run: SIGKILL producers, consumers and fevd, KILLS times in
# all (default 2000), with double-buffering workers and producers whose
# main thread has exited, then check that no committed event was lost and
# every duplicate was flagged (tests/daemon/test_liveness_fault.c, the mixed run).
# Prints the kill counts and the worst recovery times.
#   scripts/fault-run.sh [KILLS]
#   FEV_BUILD_DIR   build directory (default: build)
#   FEVD_FAULT_SEED to repeat a run
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${FEV_BUILD_DIR:-$root/build}
kills=${1:-2000}

cmake -S "$root" -B "$build" -G Ninja >/dev/null
cmake --build "$build" --target test_fevd_liveness_fault fevd
# About 15 ms a kill on an idle machine; a loaded one gets 1 s a kill.
FEVD_FAULT_ONLY='test_mixed*' FEVD_FAULT_MIXED_KILLS=$kills \
FEVD_FAULT_LIMIT_S=$kills \
	"$build/tests/daemon/test_fevd_liveness_fault" | grep -v '^kill [0-9]* ('
