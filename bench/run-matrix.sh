#!/bin/sh
# Regenerate bench/RESULTS.md and its plots: the standard matrix against
# every baseline, plus the runs the targets name (zero-copy batches, pure
# blocking, one-way latency under an offered rate).  Medians of 5
# alternating runs.  Usage: bench/run-matrix.sh [BUILD_DIR]
# Needs: a built fev-bench, gnuplot; jq for the targets summary.
# RUNS=N and MATRIX_ARGS="--quick" make a fast trial run; REPORT_ONLY=1
# rewrites RESULTS.md from the last measurements (after editing ANALYSIS.md).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${1:-$root/build}
bench=$build/bench/fev-bench
out=$here/results
runs=${RUNS:-5}
vs=pipe,unix,mq,zmq,floor
# Pinned by default: process k on the k-th listed CPU, so a ping-pong is
# always across the two cores instead of wherever the scheduler put it.
cpus=${CPUS-0,1}
pin=${cpus:+--cpus $cpus}

[ -x "$bench" ] || { echo "no $bench: build first (cmake + ninja)" >&2; exit 1; }
mkdir -p "$out"
if [ -z "${REPORT_ONLY:-}" ]; then
start=$(date -u +%s)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

echo "== matrix (this takes a few minutes)" >&2
"$bench" matrix ${MATRIX_ARGS:-} $pin --vs $vs --runs "$runs" --plot "$out/matrix.png" \
	--json "$out/matrix.json" --csv "$out/matrix.csv" >"$out/matrix.txt"

echo "== targets" >&2
"$bench" thr $pin --duration 0.3 --runs 11 --vs pipe,floor \
	--json "$out/thr64.json" >"$out/thr64.txt"
"$bench" thr $pin --duration 0.3 --runs "$runs" --vs pipe,floor --api zerocopy --batch 32 \
	--json "$out/zerocopy.json" >"$out/zerocopy.txt"
"$bench" thr $pin --duration 0.3 --runs "$runs" --vs pipe,floor --wait sleep \
	--json "$out/sleep-thr.json" >"$out/sleep-thr.txt"
"$bench" lat $pin --duration 0.3 --runs "$runs" --vs pipe,floor --wait sleep \
	--json "$out/sleep-lat.json" >"$out/sleep-lat.txt"
"$bench" lat $pin --duration 0.5 --runs "$runs" --vs $vs --rate 100000 \
	--plot "$out/latency.png" --json "$out/rate.json" >"$out/rate.txt"
"$bench" lat $pin --duration 0.5 --runs "$runs" --vs $vs --rate 10000 \
	--json "$out/rate-10k.json" >"$out/rate-10k.txt"
"$bench" thr $pin --duration 0.3 --runs "$runs" -c 2 --fev fev-fanout --vs fev-queues \
	--json "$out/fanout2.json" >"$out/fanout2.txt"
"$bench" thr $pin --duration 0.3 --runs "$runs" -c 4 --fev fev-fanout --vs fev-queues \
	--json "$out/fanout4.json" >"$out/fanout4.txt"
"$bench" thr $pin --duration 0.3 --runs "$runs" -c 2 --fev fev-keyed --vs pipe \
	--json "$out/keyed.json" >"$out/keyed.txt"

end=$(date -u +%s)
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
printf 'start=%s\nend=%s\nload_before="%s"\nload_after="%s"\nwhen="%s"\nruns=%s\nrev=%s\n' \
	"$start" "$end" "$load_before" "$load_after" "$(date -u '+%Y-%m-%d %H:%M UTC')" "$runs" \
	"$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')" \
	>"$out/conditions.sh"
fi
# REPORT_ONLY=1 rebuilds RESULTS.md from the last measurements.
. "$out/conditions.sh"

# ---- the targets, from the JSON (medians) -------------------------------
targets() {
	command -v jq >/dev/null || { echo "(jq not installed: no summary)"; return; }
	q='def r(f; t; m; s; p; w): [f.results[] | select(.transport==t and .mode==m
	    and .size==s and .producers==p and .wait==w)][0];'
	jq -r -n --slurpfile m "$out/matrix.json" --slurpfile z "$out/zerocopy.json" \
	   --slurpfile t "$out/thr64.json" \
	   --slurpfile st "$out/sleep-thr.json" --slurpfile sl "$out/sleep-lat.json" \
	   --slurpfile fo2 "$out/fanout2.json" --slurpfile fo4 "$out/fanout4.json" \
	   --slurpfile ky "$out/keyed.json" "$q"'
	  def x(a; b): if a == null or b == null or b == 0 then "n/a"
	               else ((a / b * 100 | round) / 100 | tostring) + "x" end;
	  def row(name; got; want): "| \(name) | \(got) | \(want) |";
	  ($m[0]) as $M | ($z[0]) as $Z | ($t[0]) as $T | ($st[0]) as $ST | ($sl[0]) as $SL |
	  ($fo2[0]) as $FO2 | ($fo4[0]) as $FO4 | ($ky[0]) as $KY |
	  r($FO2; "fev-fanout"; "thr"; 64; 1; "block") as $g2 |
	  r($FO2; "fev-queues"; "thr"; 64; 1; "block") as $q2 |
	  r($FO4; "fev-fanout"; "thr"; 64; 1; "block") as $g4 |
	  r($FO4; "fev-queues"; "thr"; 64; 1; "block") as $q4 |
	  r($KY; "fev-keyed"; "thr"; 64; 1; "block") as $ky |
	  r($KY; "pipe"; "thr"; 64; 1; "block") as $kp |
	  r($T; "fev"; "thr"; 64; 1; "block") as $f |
	  r($T; "pipe"; "thr"; 64; 1; "block") as $p |
	  r($T; "floor"; "thr"; 64; 1; "block") as $fl |
	  r($Z; "fev"; "thr"; 64; 1; "block") as $zf |
	  r($Z; "floor"; "thr"; 64; 1; "block") as $zfl |
	  r($M; "fev"; "lat"; 64; 1; "block") as $lf |
	  r($M; "floor"; "lat"; 64; 1; "block") as $lfl |
	  r($SL; "fev"; "lat"; 64; 1; "sleep") as $sf |
	  r($SL; "pipe"; "lat"; 64; 1; "sleep") as $sp |
	  r($ST; "fev"; "thr"; 64; 1; "sleep") as $tf |
	  r($ST; "pipe"; "thr"; 64; 1; "sleep") as $tp |
	  r($M; "fev"; "thr"; 64; 2; "block") as $f2 | r($M; "pipe"; "thr"; 64; 2; "block") as $p2 |
	  r($M; "fev"; "thr"; 64; 4; "block") as $f4 | r($M; "pipe"; "thr"; 64; 4; "block") as $p4 |
	  "| target | measured (medians) | wanted |",
	  "|---|---|---|",
	  row("64 B 1->1 default wait: fev / pipe"; x($f.events_per_s; $p.events_per_s); ">= 30x"),
	  row("64 B 1->1 default wait: fev / floor ring"; x($f.events_per_s; $fl.events_per_s); ">= 0.6x"),
	  row("64 B zero-copy batch 32: fev / floor ring (batch 32)"; x($zf.events_per_s; $zfl.events_per_s); ">= 0.8x"),
	  row("64 B ping-pong default wait: fev p50 / floor p50"; x($lf.p50_ns; $lfl.p50_ns) + " (\($lf.p50_ns) ns vs \($lfl.p50_ns) ns)"; "<= 2x"),
	  row("64 B ping-pong default wait: fev p99.9 / floor p99.9"; x($lf.p999_ns; $lfl.p999_ns) + " (\($lf.p999_ns) ns vs \($lfl.p999_ns) ns)"; "<= 2x"),
	  row("pure blocking ping-pong: fev p50 / pipe p50"; x($sf.p50_ns; $sp.p50_ns) + " (\($sf.p50_ns) ns vs \($sp.p50_ns) ns)"; "<= 1x"),
	  row("pure blocking throughput: fev / pipe"; x($tf.events_per_s; $tp.events_per_s); ">= 2x"),
	  row("64 B 2->2 default wait: fev / pipe"; x($f2.events_per_s; $p2.events_per_s); ">= 10x"),
	  row("64 B 4->4 default wait: fev / pipe"; x($f4.events_per_s; $p4.events_per_s); ">= 10x"),
	  row("fan-out 1 -> 2 groups, 64 B default wait: fev / 2 queues"; x($g2.events_per_s; $q2.events_per_s); ">= 1.5x"),
	  row("fan-out 1 -> 4 groups, 64 B default wait: fev / 4 queues"; x($g4.events_per_s; $q4.events_per_s); ">= 1.5x"),
	  row("keyed, 8 partitions, 1 -> 2 members, 64 B: fev / pipe"; x($ky.events_per_s; $kp.events_per_s); ">= 10x"),
	  row("runs that failed or hung (all files)"; ([[$M, $Z, $T, $ST, $SL, $FO2, $FO4, $KY][].results[].failed] | add | tostring); "0")'
}

{
	cat <<EOF
# fev-bench results

Generated by \`bench/run-matrix.sh\`, measured $when
(git $rev), in $((end - start)) s.
Every figure is the median of $runs alternating runs (fev, baseline, fev,
baseline, ...); tables show min..max.  The raw data are in \`results/\`
(JSON and CSV with every figure and the machine facts).

**Conditions:** $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'),
$(nproc) cores, $(uname -sr), governor $(cat /sys/devices/system/cpu/cpu0/cpufreq/scaling_governor 2>/dev/null || echo 'n/a (no cpufreq in this VM)').
Load average before / after: $load_before / $load_after.  Other jobs
(compilers, test suites) shared these 2 cores while it ran, so the
spread between runs is large; the medians are what to compare.
Pinning: \`${pin:-none}\` (producer i on the i-th listed CPU, consumer i on the
next, so a producer and its consumer never share a CPU; the tables end
with where each process ran and whether those CPUs are hyper-thread siblings).

Matrix: \`fev-bench matrix $pin --vs $vs --runs $runs\` (0.2 s per run, as the
matrix says in its output; sizes 8 B..64 KiB, 1->1, 2->2, 4->4, spin and
block, throughput and ping-pong).

## Targets

$(targets)

The first two rows come from 11 alternating runs of 64 B 1->1 (below),
not from the matrix: on this VM the two sides of a ring sometimes run in
lockstep (every event a cache-line round trip) and sometimes stream, so
single runs of the floor ring and of fev are bimodal (see the min..max),
and 5 runs can put the median on either mode.  Latency rows: 64 B
ping-pong from the matrix; pure blocking from the \`--wait sleep\` runs.

## Plots

![matrix](results/matrix.png)

![one-way latency](results/latency.png)

## Matrix

\`\`\`
$(cat "$out/matrix.txt")
\`\`\`

## 64 B 1->1, default wait, 11 runs (\`thr --runs 11 --vs pipe,floor\`)

\`\`\`
$(grep -v '^#' "$out/thr64.txt")
\`\`\`

## Zero-copy, batch 32 (\`thr --api zerocopy --batch 32 --vs pipe,floor\`)

\`\`\`
$(grep -v '^#' "$out/zerocopy.txt")
\`\`\`

## Pure blocking (\`--wait sleep\`: FEV_OPEN_NO_SPIN)

\`\`\`
$(grep -v '^#' "$out/sleep-thr.txt")
$(grep -v '^#' "$out/sleep-lat.txt")
\`\`\`

## One-way latency under an offered rate

From the time each event was due to its receipt.  At 100 k events/s the
default wait's 20 us spin bridges the 10 us gaps, so fev's consumer never
sleeps (\`lat --rate 100000 --vs all\`; the ping-pong rows repeat the
64 B ping-pong):

\`\`\`
$(grep -v '^#' "$out/rate.txt")
\`\`\`

At 10 k events/s the gaps (100 us) outlast the spin, so every event wakes
a sleeping consumer (\`lat --rate 10000 --vs all\`):

\`\`\`
$(grep -v '^#' "$out/rate-10k.txt" | sed -n '/^rate/,$p')
\`\`\`

## The bus

Fan-out, 1 producer -> G consumer groups of one consumer each, against the
producer sending each event to G queues; events/s are deliveries (G per
event; \`thr -c G --fev fev-fanout --vs fev-queues\`):

\`\`\`
$(grep -v '^#' "$out/fanout2.txt")
$(grep -v '^#' "$out/fanout4.txt" | sed -n '/^fev/,$p')
\`\`\`

Keyed events over 8 partitions, 1 producer -> 2 consumers owning 4
partitions each, order checked per partition (\`thr -c 2 --fev fev-keyed
--vs pipe\`):

\`\`\`
$(grep -v '^#' "$out/keyed.txt")
\`\`\`
EOF
	[ -f "$here/ANALYSIS.md" ] && cat "$here/ANALYSIS.md"
} >"$here/RESULTS.md"
echo "wrote $here/RESULTS.md in $((end - start)) s" >&2
