#!/usr/bin/env bash
# The main job: build fev, start fevd with its embedded default config
# (instance 'default', queue 'events'), show events flowing through it and
# what `fev stat` sees, then stop fevd and remove the queue again.
#   --keep   leave fevd running (and the queue in place) at the end
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
keep=0
[ "${1:-}" = "--keep" ] && keep=1

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

say "installing missing Debian packages, building"
"$root/scripts/deps.sh"
build=${FEV_BUILD_DIR:-$root/build}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target fevd fev fev-bench fev-example-producer fev-example-consumer
fev="$build/tools/fev"
fevd="$build/daemon/fevd"
export PATH="$build/tools:$build/daemon:$PATH"

unset FEV_INSTANCE
log=$(mktemp /tmp/fevd.XXXXXX.log)
fevd_pid=""
cleanup() {
	if [ -n "$fevd_pid" ] && [ "$keep" -eq 0 ]; then
		fev queue delete events -q 2>/dev/null || true
		kill -TERM "$fevd_pid" 2>/dev/null || true
		wait "$fevd_pid" 2>/dev/null || true
	fi
	[ -n "${sub_pid:-}" ] && kill "$sub_pid" 2>/dev/null || true
}
trap cleanup EXIT

say "starting fevd (embedded default config)"
if fev queue list -q >/dev/null 2>&1; then
	echo "fevd is already running for instance 'default': using it"
else
	"$fevd" 2>"$log" &
	fevd_pid=$!
	for _ in $(seq 100); do
		grep -q ready "$log" 2>/dev/null && break
		kill -0 "$fevd_pid" 2>/dev/null || { cat "$log"; exit 1; }
		sleep 0.05
	done
	cat "$log"
fi
show fev queue list

say "a consumer waits; events published from the shell reach it"
fev sub events -n 5 --timeout 5s &
sub_pid=$!
sleep 0.3
show fev pub events -m 'hello from fev'
echo '$ printf "order 1 placed\norder 2 paid\norder 3 shipped\n" | fev pub events'
printf 'order 1 placed\norder 2 paid\norder 3 shipped\n' | fev pub events
sleep 0.2
show "$build/examples/fev-example-producer"
wait "$sub_pid"
sub_pid=""

say "the C examples: examples/producer.c -> examples/consumer.c (zero copy)"
show "$build/examples/fev-example-consumer"

say "load: 2M events of 64 B at full speed, fev stat while they flow"
fev sub events --format raw --timeout 3s >/dev/null &
sub_pid=$!
fev pub events --size 64 --count 2M -v &
pub_pid=$!
sleep 0.5
show fev stat -i 0.5
wait "$pub_pid"
wait "$sub_pid" || true
sub_pid=""

say "fev stat events: the queue and every process attached to it"
fev sub events --timeout 2s >/dev/null &
sub_pid=$!
sleep 0.2
show fev stat events -i 0.5
kill "$sub_pid" 2>/dev/null || true
wait "$sub_pid" 2>/dev/null || true
sub_pid=""

say "the same numbers for scripts and for Prometheus"
show fev stat -i 0 --json
fev stat -i 0 --prometheus | head -12
echo "..."

say "how it compares: fev-bench, 1 producer -> 1 consumer process, 64 B (3 short runs)"
show "$build/bench/fev-bench" thr --duration 0.3 --runs 3 --vs pipe,unix,floor

if [ "$keep" -eq 1 ]; then
	say "fevd keeps running (pid ${fevd_pid:-?}); try: fev stat -w"
else
	say "done: fevd stopped, queue removed (./scripts/run.sh --keep leaves them)"
fi
