#!/usr/bin/env python3
"""Two flagwatch builds on one log, runs alternated: is the change slower, and are the counts equal?

  python3 Benchmarks/ab_scan.py BEFORE_BINARY AFTER_BINARY LOG [--runs 9] [--out FILE] [-- SCAN ARGS...]

Each run is `flagwatch scan --threads 1 LOG --output json -o FILE` (plus SCAN ARGS), before and
after alternated so a noisy neighbour hits both alike; wall time and CPU time (user + system)
per run: on a shared machine the CPU time moves less with the neighbours. Prints best and median
of each and the after/before ratios, and checks that both reports have the same records,
malformed lines and per-cluster requests and flags (fields one build has and the other lacks,
such as causes, are not compared). The log stays in the page cache: one untimed read first.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def run(binary, log, extra, out):
    """Wall seconds, and CPU seconds (user + system, from wait4) of one scan."""
    start = time.perf_counter()
    process = subprocess.Popen([binary, "scan", "--threads", "1", log, "--output", "json", "-o", out] + extra,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{binary} scan exited with {process.returncode}")
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime


def counts(path):
    report = json.load(open(path))
    clusters = {c["cluster"]: (c["requests"], tuple(sorted((k, v) for k, v in c.get("flags", {}).items() if v)))
                for c in report["clusters"]}
    return report["records"], report["malformed"], clusters


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("log")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--out")
    parser.add_argument("extra", nargs="*", help="more scan arguments (after --)")
    args = parser.parse_args()
    with open(args.log, "rb") as f:
        while f.read(1 << 24):
            pass
    work = tempfile.mkdtemp(prefix="flagwatch-ab-")
    reports = {name: os.path.join(work, name + ".json") for name in ("before", "after")}
    times = {"before": [], "after": []}
    cpus = {"before": [], "after": []}
    for _ in range(args.runs):
        for name in ("before", "after"):
            wall, cpu_seconds = run(getattr(args, name), args.log, args.extra, reports[name])
            times[name].append(wall)
            cpus[name].append(cpu_seconds)
    equal = counts(reports["before"]) == counts(reports["after"])
    size = os.path.getsize(args.log)
    records = counts(reports["after"])[0]
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    lines = [f"flagwatch scan --threads 1, before/after alternated, {args.runs} runs each — {time.strftime('%Y-%m-%d')}",
             f"CPU: {cpu}, {os.cpu_count()} CPUs; load average before: {os.getloadavg()[0]:.2f}",
             f"input: {args.log} ({size} bytes, {records} records); extra arguments: {' '.join(args.extra) or '-'}",
             f"before: {args.before}", f"after:  {args.after}", "",
             "            best (s)  median (s)  MB/s (best)  CPU best (s)  CPU median (s)"]
    for name in ("before", "after"):
        best, median = min(times[name]), statistics.median(times[name])
        lines.append(f"  {name:<8} {best:9.3f} {median:11.3f} {size / best / 1e6:12.0f} {min(cpus[name]):13.3f} "
                     f"{statistics.median(cpus[name]):15.3f}")
    ratio_best = min(times["after"]) / min(times["before"])
    ratio_median = statistics.median(times["after"]) / statistics.median(times["before"])
    cpu_best = min(cpus["after"]) / min(cpus["before"])
    cpu_median = statistics.median(cpus["after"]) / statistics.median(cpus["before"])
    lines += [f"  after/before, wall: {ratio_best:.2f} (best), {ratio_median:.2f} (median); "
              f"CPU (user + system): {cpu_best:.2f} (best), {cpu_median:.2f} (median)",
              "  all runs, wall: " + "; ".join(f"{name} " + " ".join(f"{t:.3f}" for t in times[name]) for name in ("before", "after")),
              "  all runs, CPU:  " + "; ".join(f"{name} " + " ".join(f"{t:.3f}" for t in cpus[name]) for name in ("before", "after")),
              f"  counts (records, malformed, every cluster's requests and flags): {'identical' if equal else 'DIFFERENT'}"]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "a") as f:
            f.write(text + "\n")
    sys.exit(0 if equal else 1)


if __name__ == "__main__":
    main()
