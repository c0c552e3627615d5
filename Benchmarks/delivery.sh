#!/usr/bin/env bash
# Alert delivery figures (issue #6), against a recording receiver on 127.0.0.1
# (Tests/AlertDeliveryTests/Support/receiver.py):
#   - latency: 200 events one every 20 ms, time from submit() to the receiver reading the
#     request (both clocks are this machine's);
#   - outage: the receiver is down for 30 s while alerts fire and resolve, then comes up, its
#     first answer slower than the 10 s timeout (so one request arrives twice): every
#     notification must arrive exactly once per fingerprint and status after de-duplication by
#     Idempotency-Key, none lost;
#   - ingest: a CPU loop on a plain thread calling submit(), receiver up vs. during the outage.
# It runs the DeliveryScenarioTests suite, which plain `swift test` skips. About 1.5 minutes
# after the build. Usage: bash Benchmarks/delivery.sh [SCRATCH_PATH]   (default .build)
# The report goes to Benchmarks/results/DATE-HOST/delivery.txt (results-dir.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scratch="${1:-.build}"
report=$(bash Benchmarks/results-dir.sh)/delivery.txt
swift build --build-tests --scratch-path "$scratch" >/dev/null
body=$(mktemp)
FLAGWATCH_DELIVERY_SCENARIO=1 FLAGWATCH_DELIVERY_REPORT="$body" \
    swift test --skip-build --scratch-path "$scratch" --filter DeliveryScenarioTests >/dev/null
{
    echo "# Benchmarks/delivery.sh, $(date -u +%Y-%m-%dT%H:%M:%SZ), debug build (the test build), $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
    cat "$body"
} > "$report"
rm -f "$body"
cat "$report"
