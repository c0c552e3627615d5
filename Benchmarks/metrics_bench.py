#!/usr/bin/env python3
"""Scraping `flagwatch tail --metrics-listen` with 10 000 clusters x 5 flags, while a writer
appends at 200 000 lines/s: how long a scrape takes, and whether ingest pauses.

    python3 Benchmarks/metrics_bench.py [--binary .build/release/flagwatch] [--clusters 10000]

flagwatch first reads a log holding every cluster with five flags (UF, URX, UH, UT, UC), then a
separate writer process appends at --rate lines/s for --seconds while curl scrapes /metrics
every 0.5 s (curl's time_total: the whole HTTP exchange, body read). Ingest is judged from
the bytes-behind figure flagwatch prints every second. Also measured: flagwatch's CPU while
ingesting at the rate with the endpoint on (the snapshot it publishes once a second) and its
RSS. Writes Benchmarks/results/DATE-HOST/metrics.txt (results-dir.sh).
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tail_bench import WRITER, Tail, istio_line, report, results_file, RESULTS, HERE, ROOT  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/release/flagwatch"))
    parser.add_argument("--clusters", type=int, default=10_000)
    parser.add_argument("--rate", type=int, default=200_000)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="metrics-bench-")
    log = os.path.join(folder, "access.log")
    with open(log, "w") as out:
        for c in range(args.clusters):
            cluster = f"outbound|8080||svc-{c}.ns-{c % 97}.svc.cluster.local"
            for flag in ("UF", "URX", "UH", "UT", "UC", "-"):
                out.write(istio_line(c, cluster=cluster, flags=flag, stamp="2026-11-25T10:00:00.000Z"))
    report(f"# metrics_bench {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, {os.cpu_count()} cores, "
           f"{args.clusters} clusters x 5 flags")
    tail = Tail(os.path.abspath(args.binary), folder,
                ["--no-state", "--from", "beginning", "--metrics-listen", ":0", "--stats-interval", "1", "--max-keys", "20000", log])
    deadline = time.time() + 20
    port = None
    while time.time() < deadline and port is None:
        found = re.search(r"127\.0\.0\.1:(\d+)/metrics", open(tail.err.name).read())
        port = found and int(found.group(1))
        time.sleep(0.1)
    url = f"http://127.0.0.1:{port}/metrics"
    series = 0
    while time.time() < deadline:
        try:
            body = urllib.request.urlopen(url).read().decode()
        except urllib.error.HTTPError:  # 503 until the first snapshot
            time.sleep(0.2)
            continue
        series = sum(1 for line in body.splitlines() if line.startswith("flagwatch_response_flags_total"))
        if series >= args.clusters * 5:
            break
        time.sleep(0.2)
    cpu_before = tail.cpu_seconds()
    writer = subprocess.Popen([sys.executable, "-c", WRITER, log, str(args.rate), str(args.seconds), istio_line(0, stamp="STAMP")],
                              stdout=subprocess.PIPE, text=True)
    scrapes, sizes = [], []
    while writer.poll() is None:
        # curl's own timing of the whole exchange, body included, as a scraper sees it.
        timing = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{time_total} %{size_download}", url],
                                capture_output=True, text=True, check=True).stdout.split()
        scrapes.append(float(timing[0]) * 1000)
        sizes.append(int(timing[1]))
        time.sleep(0.5)
    written, elapsed = (float(x) for x in writer.stdout.read().split())
    cpu = (tail.cpu_seconds() - cpu_before) / elapsed * 100
    with open(f"/proc/{tail.proc.pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024
    time.sleep(1.5)
    tail.stop()
    behind = [int(m) for m in re.findall(r"bytes-behind=(\d+)", open(tail.err.name).read())]
    during = behind[-int(elapsed) - 1:-1]
    scrapes.sort()
    ok = scrapes[-1] <= 100 and max(during, default=0) < args.rate * 350 // 2
    report(f"scrape: {series} flag series, {len(scrapes)} scrapes of {statistics.mean(sizes) / 1e6:.1f} MB during ingest: "
           f"median {statistics.median(scrapes):.1f} ms, max {scrapes[-1]:.1f} ms (target <= 100 ms) {'MET' if scrapes[-1] <= 100 else 'MISSED'}")
    report(f"ingest during scrapes: writer {written / elapsed:,.0f} lines/s, flagwatch {cpu:.0f}% of a core, "
           f"bytes behind per second {during} {'MET (no pause)' if ok else 'CHECK'}; peak RSS {rss:.0f} MiB")
    with open(results_file("metrics"), "w") as f:
        f.write("\n".join(RESULTS) + "\n")


if __name__ == "__main__":
    main()
