#!/usr/bin/env bash
# Regression gate for the tokenizer: runs the ordo-one benchmarks `Tokenize+count istio` and
# `… envoy` and fails (exit 1) when a line allocates or when throughput (p90) falls more than
# FLAGWATCH_GATE_TOLERANCE percent (default 20) below Thresholds/HOST/, the figures recorded
# on this kind of CPU (HOST as results-dir.sh names it: amd-epyc-2c, intel-xeon-2c).
#
#   bash Benchmarks/gate.sh           check (for CI; a host with no thresholds yet checks only
#                                      the allocations, against Thresholds/any/)
#   bash Benchmarks/gate.sh update    record this host's thresholds from a run (commit them)
#
# Time: the benchmark package's build (first time 2-3 min on 2 cores, then seconds), then
# about 1 min: the corpora are generated once (Benchmarks/data), each benchmark runs 2 s
# after a full warm-up pass that also checks every count against the generator's truth.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"
host=$(bash results-dir.sh --host)
export FLAGWATCH_BENCH_SECONDS=${FLAGWATCH_BENCH_SECONDS:-2}
filter='Tokenize\+count.*'
benchmark=(swift package --allow-writing-to-package-directory benchmark --filter "$filter" --no-progress)

if [[ ${1:-} == update ]]; then
    mkdir -p "Thresholds/$host"
    "${benchmark[@]}" thresholds update --path "Thresholds/$host"
    # Keep the two gated metrics (wall clock and the custom ones are not gated), in files named
    # as `thresholds check` looks for them: ordo-one 1.38.1 writes spaces in a benchmark's
    # name as `_` but reads the name as it is.
    python3 - "Thresholds/$host" <<'PY'
import json, os, sys
folder = sys.argv[1]
for name in os.listdir(folder):
    path = os.path.join(folder, name)
    kept = {k: v for k, v in json.load(open(path)).items() if k in ("mallocCountTotal", "throughput")}
    os.remove(path)
    path = os.path.join(folder, name.replace("_", " "))
    with open(path, "w") as f:
        json.dump(kept, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"{path}: {kept}")
PY
    exit 0
fi

path=Thresholds/$host
if [[ ! -d $path ]]; then
    echo "gate: no thresholds for $host yet; checking allocations only (Thresholds/any)" >&2
    path=Thresholds/any
fi
start=$SECONDS
out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
"${benchmark[@]}" thresholds check --path "$path" 2>&1 | tee "$out" || status=$?
# The plugin's exit status is 1 for a regression, an improvement and a failed run alike; its
# text tells them apart.
if grep -q "is WORSE than the defined thresholds" "$out"; then
    echo "gate: FAILED: a regression against $path ($((SECONDS - start)) s)" >&2
    exit 1
elif grep -q "is BETTER than the defined thresholds" "$out"; then
    echo "gate: PASSED, better than $path by more than the tolerance: consider 'bash Benchmarks/gate.sh update' ($((SECONDS - start)) s)"
elif ((status == 0)) && grep -q "is EQUAL to the defined thresholds" "$out"; then
    echo "gate: PASSED against $path ($((SECONDS - start)) s)"
else
    echo "gate: FAILED: the benchmark run did not complete (status $status)" >&2
    exit 1
fi
