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
# Every program this script runs, as CMake target and built file.  The
# library owns the target name "fev": the CLI's target is fev_cli.
declare -A programs=(
	[fevd]=daemon/fevd
	[fev_cli]=tools/fev
	[fev-bench]=bench/fev-bench
	[fev-example-producer]=examples/fev-example-producer
	[fev-example-consumer]=examples/fev-example-consumer
)
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target "${!programs[@]}"
for target in "${!programs[@]}"; do
	[ -x "$build/${programs[$target]}" ] || {
		echo "run.sh: target $target built no $build/${programs[$target]}" >&2
		exit 1
	}
done
fev="$build/tools/fev"
fevd="$build/daemon/fevd"
export PATH="$build/tools:$build/daemon:$PATH"

unset FEV_INSTANCE
log=$(mktemp /tmp/fevd.XXXXXX.log)
# Segments already there (a running fevd's) are not this run's to remove.
shm_before=$(ls /dev/shm | grep '^fev\.default\.' || true)
# served: the fevd this run started became ready, so instance 'default'
# and what appeared in it are this run's (another fevd may serve it).
fevd_pid="" served=0 sub_pid="" pub_pid="" ok=0
running() { # pid: there and not a zombie (kill -0 succeeds on zombies)
	local st
	st=$(ps -o stat= -p "$1") || return 1
	[ "${st#Z}" = "$st" ]
}
stop() { # pid: TERM, then KILL if it is still there after 5 s
	kill -TERM "$1" 2>/dev/null || return 0
	for _ in $(seq 50); do
		running "$1" || break
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}
# On every exit, a failed or interrupted one too: stop what this run
# started and remove the queue and any segment it made.  --keep keeps
# fevd and its queue only after a run that succeeded.
cleanup() {
	local name
	[ -z "$sub_pid" ] || stop "$sub_pid"
	[ -z "$pub_pid" ] || stop "$pub_pid"
	rm -f "$log"
	[ -n "$fevd_pid" ] || return 0 # fevd is not this run's
	[ "$keep" -eq 1 ] && [ "$ok" -eq 1 ] && return 0
	# Still up: it holds the instance, even if it never said ready.
	! running "$fevd_pid" || served=1
	[ "$served" -eq 0 ] || "$fev" queue delete events -q 2>/dev/null || true
	stop "$fevd_pid"
	[ "$served" -eq 1 ] || return 0
	for name in $(ls /dev/shm | grep '^fev\.default\.' || true); do
		grep -qxF "$name" <<<"$shm_before" || rm -f "/dev/shm/$name"
	done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "starting fevd (embedded default config)"
if fev queue list -q >/dev/null 2>&1; then
	echo "fevd is already running for instance 'default': using it"
else
	"$fevd" 2>"$log" &
	fevd_pid=$!
	for _ in $(seq 100); do
		grep -q ready "$log" 2>/dev/null && { served=1; break; }
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
pub_pid=""
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

ok=1
if [ "$keep" -eq 1 ]; then
	say "fevd keeps running (pid ${fevd_pid:-?}); try: fev stat -w"
else
	say "done: fevd stopped, queue removed (./scripts/run.sh --keep leaves them)"
fi
