#!/usr/bin/env bash
# Runs the test suite under AddressSanitizer (with LeakSanitizer) and/or ThreadSanitizer:
#   Tests/sanitizers.sh [address|thread|all]      (default: all)
# Each sanitizer has its own build folder (.build-asan, .build-tsan): a first build takes
# 15-25 minutes on 2 cores, a run about 3 (address) or 5 (thread) more. Not part of Tests/run.sh.
#
# The suite runs as Tests/run.sh runs it: the in-process tests, then the CLI tests apart. The
# CLI tests spawn the `flagwatch` binary from the same build folder, so it is instrumented too.
# Every process writes its reports to a folder (log_path) instead of its stderr, so that a report
# from a child whose output a test does not read is not lost; the run fails when any is there.
# FLAGWATCH_SANITIZER tells the tests which sanitizer is on: those asserting peak memory skip.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
which=${1:-all}
case "$which" in
    address) sanitizers=(address) ;;
    thread) sanitizers=(thread) ;;
    all) sanitizers=(address thread) ;;
    *) echo "usage: $0 [address|thread|all]" >&2; exit 2 ;;
esac
reports_root=${SANITIZER_REPORTS:-${TMPDIR:-/tmp}/flagwatch-sanitizers}
status=0

for sanitizer in "${sanitizers[@]}"; do
    case "$sanitizer" in
        address) scratch=.build-asan ;;
        thread) scratch=.build-tsan ;;
    esac
    reports="$reports_root/$sanitizer"
    rm -rf "$reports"
    mkdir -p "$reports"
    export FLAGWATCH_SANITIZER=$sanitizer
    # Leaks are checked at each process's exit. What is not reported: Tests/*-suppressions.txt.
    export ASAN_OPTIONS="detect_leaks=1:log_path=$reports/report"
    export LSAN_OPTIONS="suppressions=$root/Tests/lsan-suppressions.txt:print_suppressions=0"
    export TSAN_OPTIONS="log_path=$reports/report:suppressions=$root/Tests/tsan-suppressions.txt"
    echo "== $sanitizer: build ($scratch)"
    start=$(date +%s)
    log="$reports_root/build-$sanitizer.log"
    if ! swift build --build-tests --sanitize="$sanitizer" --scratch-path "$scratch" >"$log" 2>&1; then
        # ld.gold's "Cannot export local symbol" warnings are harmless; the errors are what matters.
        grep -v "Cannot export local symbol" "$log" | tail -40 >&2
        echo "== $sanitizer: build failed (log: $log)" >&2
        status=1
        continue
    fi
    echo "== $sanitizer: built in $(( $(date +%s) - start )) s"
    start=$(date +%s)
    swift test --skip-build --sanitize="$sanitizer" --scratch-path "$scratch" --skip FlagwatchCLITests || status=1
    swift test --skip-build --sanitize="$sanitizer" --scratch-path "$scratch" --filter FlagwatchCLITests || status=1
    echo "== $sanitizer: tests ran in $(( $(date +%s) - start )) s"
    if compgen -G "$reports/report*" >/dev/null; then
        echo "== $sanitizer: reports in $reports:" >&2
        for report in "$reports"/report*; do
            echo "--- $report" >&2
            head -c 20000 "$report" >&2
        done
        status=1
    else
        echo "== $sanitizer: no report"
    fi
done
exit $status
