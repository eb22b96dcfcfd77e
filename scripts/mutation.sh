#!/usr/bin/env bash
# Mutation testing of fev's core: plant one curated mistake at a time
# (tests/mutation/*.mut, see tests/mutation/README.md) in a scratch copy of
# the tree, build it, run the test tier that should catch it, put the file
# back, and report whether the suite noticed.  The working tree is never
# touched.
#
#   scripts/mutation.sh                 every mutant
#   scripts/mutation.sh --only ID ...   only these (repeat --only, or ID,ID)
#   scripts/mutation.sh --rotate N      N of them, chosen by the day of the
#                                       year: all run once in count/N days
#   scripts/mutation.sh --list          id, tier, tests, file, what it breaks
#
#   FEV_MUTATION_DIR  scratch copy and its build dirs, kept between runs so
#                     ninja rebuilds only what a mutant changed
#                     (default: build-mutation/ in the repository root)
#
# Exit status: 0 every mutant killed; 1 one survived; 2 the unmutated copy
# does not build or pass; 3 a spec no longer applies (an ERROR, not a skip).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
specs=$root/tests/mutation
work=${FEV_MUTATION_DIR:-$root/build-mutation}
src=$work/src
logs=$work/logs
# The longest one tier may run before the mutant counts as a hang (killed:
# a hang is what the tier's own ctest TIMEOUT would report, only later).
declare -A tier_limit_s=([fast]=240 [stress]=420 [fault]=420 [tsan]=300)

mutate() { python3 "$specs/mutate.py" "$@"; }

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}

only=() rotate=0
while [ $# -gt 0 ]; do
	case $1 in
	--list) mutate list "$specs" | column -t -s $'\t'; exit 0 ;;
	--only) [ $# -ge 2 ] || usage; IFS=, read -ra ids <<<"$2"
		only+=("${ids[@]}"); shift 2 ;;
	--rotate) [ $# -ge 2 ] && [ "$2" -gt 0 ] 2>/dev/null || usage
		rotate=$2; shift 2 ;;
	*) usage ;;
	esac
done

mapfile -t all < <(mutate list "$specs" | cut -f1)
if [ "$rotate" -gt 0 ]; then
	# Today's window of N in the list, wrapping: the same on every run
	# of one day, the next N tomorrow.
	day=$((10#$(date -u +%j)))
	for ((i = 0; i < rotate && i < ${#all[@]}; i++)); do
		only+=("${all[$(( (day * rotate + i) % ${#all[@]} ))]}")
	done
	echo "mutation: day $day: --only $(IFS=,; echo "${only[*]}")" >&2
fi
if [ ${#only[@]} -gt 0 ]; then
	selected=("${only[@]}")
else
	selected=("${all[@]}")
fi
declare -A tier tests
for id in "${selected[@]}"; do
	line=$(mutate list "$specs" | awk -F'\t' -v id="$id" '$1 == id')
	if [ -z "$line" ]; then
		echo "mutation: no mutant '$id' (see --list)" >&2
		exit 3
	fi
	tier[$id]=$(cut -f2 <<<"$line")
	t=$(cut -f3 <<<"$line")
	tests[$id]=${t#-}
done

# Segments a killed test leaves behind must not outlive it, nor collide
# with anyone else's: as root, each tier runs in its own mount namespace
# with an empty /dev/shm.  (Not in a user namespace: the tests that switch
# to other uids need the real ones.)
if [ "$(id -u)" = 0 ] && unshare --mount true 2>/dev/null; then
	isolate=(unshare --mount sh -c
		'mount -t tmpfs -o mode=1777 fev-mutation /dev/shm && exec "$0" "$@"')
else
	echo "mutation: not root: the tests share /dev/shm" >&2
	isolate=()
fi

build_dir() { [ "$1" = tsan ] && echo "$work/build-tsan" || echo "$work/build"; }

configure() {
	local dir=$1 opts=()
	[ "$dir" = "$work/build-tsan" ] && opts=(-DFEV_TSAN=ON)
	[ -f "$dir/build.ninja" ] && return 0
	cmake -S "$src" -B "$dir" -G Ninja "${opts[@]}" >/dev/null
}

# build TIER REGEX: when every name in REGEX (a|b|c) is a build target,
# only those are rebuilt; else everything.
build() {
	local dir name targets=()
	dir=$(build_dir "$1")
	if [ -n "$2" ]; then
		IFS='|' read -ra targets <<<"$2"
		for name in "${targets[@]}"; do
			ninja -C "$dir" -t query "$name" >/dev/null 2>&1 ||
				targets=()
		done
	fi
	nice cmake --build "$dir" ${targets[@]+--target "${targets[@]}"}
}

# run_tier TIER REGEX LOG: 0 when every test passed; else sets failed_by
# to what failed.  Not in a subshell, so that an interrupt reaches it.
tier_pid=
run_tier() {
	local t=$1 regex=$2 log=$3 label=$1 rc=0
	[ "$t" = tsan ] && label=fast
	local args=(--test-dir "$(build_dir "$t")" -j2 --output-on-failure
		    --stop-on-failure --no-tests=error)
	# With a regex the named tests run whatever their label.
	if [ -n "$regex" ]; then
		args+=(-R "^($regex)\$")
	else
		args+=(-L "^$label\$")
	fi
	failed_by=
	# timeout leads its own process group: stop() ends all of it.
	timeout -k 10 "${tier_limit_s[$t]}" ${isolate[@]+"${isolate[@]}"} \
		ctest "${args[@]}" >"$log" 2>&1 &
	tier_pid=$!
	wait "$tier_pid" || rc=$?
	tier_pid=
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		failed_by="hang>${tier_limit_s[$t]}s"
	elif [ $rc -ne 0 ]; then
		failed_by=$(sed -n \
			's/^[[:space:]]*[0-9]* - \([^ ]*\) (\(.*\))$/\1(\2)/p' \
			"$log" | paste -sd, -)
	fi
	return $rc
}

mkdir -p "$src" "$logs"
mutate sync "$root" "$src"

declare -A needed
for id in "${selected[@]}"; do needed[$(build_dir "${tier[$id]}")]=1; done
for dir in "${!needed[@]}"; do
	configure "$dir"
	if ! nice cmake --build "$dir" >"$logs/baseline-build.log" 2>&1; then
		echo "mutation: the unmutated copy does not build:" \
		     "$logs/baseline-build.log" >&2
		exit 2
	fi
done

# A mutant counts as killed only if the same tests pass without it.
declare -A baseline_done
for id in "${selected[@]}"; do
	key="${tier[$id]}|${tests[$id]}"
	[ -n "${baseline_done[$key]:-}" ] && continue
	baseline_done[$key]=1
	run_tier "${tier[$id]}" "${tests[$id]}" "$logs/baseline.log" && continue
	# Timing-sensitive tests may fail once on a loaded machine: those
	# that failed get one more run, alone, before the run is given up.
	flaky=$failed_by
	if ! run_tier "${tier[$id]}" "$(sed 's/([^)]*)//g; s/,/|/g' <<<"$flaky")" \
			"$logs/baseline-rerun.log"; then
		echo "mutation: tier ${tier[$id]} ${tests[$id]:+(${tests[$id]}) }" \
		     "fails without a mutant: $failed_by ($logs/baseline-rerun.log)" >&2
		exit 2
	fi
	echo "mutation: without a mutant $flaky failed once, then passed" >&2
done

current=
restore() {
	[ -n "$current" ] && mutate restore "$specs" "$current" "$root" "$src"
	current=
}
stop() {
	if [ -n "$tier_pid" ]; then
		kill -TERM -- "-$tier_pid" 2>/dev/null
		sleep 1 # ctest may outlive a TERM: a test's children need not
		kill -KILL -- "-$tier_pid" 2>/dev/null
	fi
	exit 130
}
trap restore EXIT
trap stop INT TERM

killed=0 survived=0 errors=0 start=$SECONDS
rows=()
for id in "${selected[@]}"; do
	t=${tier[$id]} began=$SECONDS by=
	if ! mutate apply "$specs" "$id" "$root" "$src" 2>"$logs/$id.log"; then
		result=ERROR by=$(sed 's/^mutation: //' "$logs/$id.log")
		errors=$((errors + 1))
	else
		current=$id
		if ! build "$t" "${tests[$id]}" >"$logs/$id.log" 2>&1; then
			result=ERROR by="does not build ($logs/$id.log)"
			errors=$((errors + 1))
		elif run_tier "$t" "${tests[$id]}" "$logs/$id.log"; then
			result=survived by=
			survived=$((survived + 1))
		else
			result=killed by=$failed_by
			killed=$((killed + 1))
		fi
		restore
	fi
	rows+=("$(printf '%-34s %-6s %-8s %5ss  %s' "$id" "$t" "$result" \
		  $((SECONDS - began)) "$by")")
	echo "${rows[-1]}" >&2
done

printf '\n%-34s %-6s %-8s %6s  %s\n' mutant tier result time "caught by"
printf '%s\n' "${rows[@]}"
echo "$(( SECONDS - start ))s for ${#selected[@]} mutant(s); logs in $logs"
if [ $errors -gt 0 ]; then
	echo "$killed killed, $survived survived, $errors errors"
	exit 3
fi
echo "$killed killed, $survived survived"
[ $survived -eq 0 ]
