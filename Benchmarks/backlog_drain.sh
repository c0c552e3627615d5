#!/usr/bin/env bash
# How fast `tail` drains a backlog (issue 17, point 4): `tail --from beginning` on a file that
# already holds LOG, timed until its stats line says nothing is left behind, beside
# `scan --threads 1` of the same file, same run.
#
#   bash Benchmarks/backlog_drain.sh [BINARY] [LOG]
#
# BINARY defaults to .build/release/flagwatch, LOG to span_bench's hour log (1 000 000 Istio
# lines, Benchmarks/data/span). The stats line comes once a second, so the tail figure is
# rounded up to the next second at most. Prints one line and appends it to backlog.txt in the
# dated results folder.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
binary=${1:-$here/../.build/release/flagwatch}
log=${2:-$here/data/span/hour-1000000.log}
[ -f "$log" ] || { echo "no $log: run Benchmarks/span_bench.py once to generate it" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

seconds() { date +%s.%N; }

start=$(seconds)
"$binary" scan --threads 1 --output json "$log" > /dev/null 2>&1
scan=$(echo "$(seconds) - $start" | bc)

start=$(seconds)
"$binary" tail --state-dir "$work/state" --from beginning --stats-interval 1 "$log" > /dev/null 2> "$work/stderr" &
pid=$!
until grep -q "bytes-behind=0 " "$work/stderr"; do
    sleep 0.05
    if (( $(echo "$(seconds) - $start > 120" | bc) )); then echo "tail did not reach the end in 120 s" >&2; break; fi
done
tail=$(echo "$(seconds) - $start" | bc)
kill -TERM "$pid"
wait "$pid" 2> /dev/null || true

line=$(printf '%s backlog %s (%s MB): scan --threads 1 %.2f s, tail --from beginning %.2f s to the end -> %.0f%% of scan (target >= 80%%)' \
    "$(date -u '+%Y-%m-%d %H:%M')" "$(basename "$log")" "$(( $(stat -c %s "$log") / 1000000 ))" "$scan" "$tail" \
    "$(echo "100 * $scan / $tail" | bc -l)")
echo "$line"
echo "$line" >> "$(bash "$here/results-dir.sh")/backlog.txt"
