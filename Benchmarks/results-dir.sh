#!/usr/bin/env bash
# Prints (and creates) the folder for results taken today on this host:
# Benchmarks/results/DATE-HOST, DATE in UTC (2026-12-02), HOST the CPU and core count
# (amd-epyc-2c, intel-xeon-2c): the machines of this project are all named "vm", and what
# decides a figure is the CPU. RESULTS_HOST=NAME overrides HOST. `--host` prints HOST alone.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
model=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo 2>/dev/null | head -n 1)
# "Intel(R) Xeon(R) Processor" -> intel-xeon; "AMD EPYC 7B13 64-Core Processor" -> amd-epyc-7b13
host=$(printf '%s' "${model:-unknown}" | sed -E 's/\((R|TM)\)//g; s/[0-9]+-Core//; s/ (Processor|CPU).*//' \
    | tr 'A-Z' 'a-z' | tr -cs 'a-z0-9' '-' | sed 's/^-//; s/-$//')-$(nproc)c
host=${RESULTS_HOST:-$host}
if [[ ${1:-} == --host ]]; then printf '%s\n' "$host"; exit 0; fi
dir=$here/results/$(date -u +%F)-$host
mkdir -p "$dir"
printf '%s\n' "$dir"
