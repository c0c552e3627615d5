#!/usr/bin/env python3
"""`flagwatch tail` under the conditions issue #5 names, measured with real processes.

    python3 Benchmarks/tail_bench.py [--binary .build/release/flagwatch] [--only SECTION ...]

Sections (each starts its own flagwatch in a scratch folder, and a separate writer process
where lines are appended):
  latency   a breaching line appended -> its alert line on flagwatch's stdout (for: 0)
  ingest    a writer process appending 250 000 lines/s for 15 s; flagwatch's lag
            (bytes behind, from --stats-interval 1) must not grow; then idle CPU over 20 s
  rotation  2 000 000 numbered lines, rename rotation every 100 000 and copytruncate every
            150 000; the final report must count exactly the lines written
  restart   1 000 000 lines with rename rotation while flagwatch is killed with SIGKILL at
            random points and restarted; the total over all runs must equal the lines written
  delivery  tail with --webhook to a recording receiver on 127.0.0.1 while a writer appends
            100 000 lines/s with a new spike every second: 20 s normal, the receiver down 30 s,
            then up; every alert event flagwatch printed must reach the receiver exactly once
            (after de-duplication by Idempotency-Key), and ingest must not slow down

copytruncate's own window: lines written between flagwatch's last read and the truncate are
lost to any follower (they are only in the copy). Like logrotate, which runs at some instant
after the last write, the writer here pauses 200 ms before each copytruncate.
Prints one line per figure and writes them to Benchmarks/results/DATE-HOST/tail.txt (results-dir.sh).
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = []


def report(line):
    print(line, flush=True)
    RESULTS.append(line)


def istio_line(n, cluster="outbound|8000||httpbin.foo.svc.cluster.local", flags="-", stamp=None):
    stamp = stamp or time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".000Z"
    return (f'[{stamp}] "GET /item/{n} HTTP/1.1" 200 {flags} via_upstream - "-" 0 135 4 4 "-" "curl/7.73.0" '
            f'"84961386-6d84-929d-98bd-c5aee93b5c88" "httpbin:8000" "10.44.1.27:80" {cluster} '
            f'10.44.1.23:37652 10.0.45.184:8000 10.44.1.23:46520 - default\n')


class Tail:
    """flagwatch tail in `folder`, stdout read line by line with arrival times."""

    def __init__(self, binary, folder, args, name="run"):
        self.err = open(os.path.join(folder, name + ".err"), "w")
        self.proc = subprocess.Popen([binary, "tail", *args], cwd=folder, stdout=subprocess.PIPE,
                                     stderr=self.err, stdin=subprocess.DEVNULL)
        self.lines = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            self.lines.append((time.time(), raw.decode(errors="replace")))

    def cpu_seconds(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def wait_ready(self, timeout=10):
        """Until flagwatch has said what it follows: its signal handlers are in place."""
        deadline = time.time() + timeout
        while time.time() < deadline and "flagwatch: following" not in open(self.err.name).read():
            time.sleep(0.02)

    def stop(self, sig=signal.SIGTERM):
        if sig == signal.SIGTERM:
            self.wait_ready()
        self.proc.send_signal(sig)
        self.proc.wait(timeout=30)
        self.err.close()
        return self.proc.returncode


def state_records(folder):
    try:
        with open(os.path.join(folder, "state", "state.json")) as f:
            return json.load(f)["counters"]["records"]
    except (OSError, ValueError, KeyError):
        return -1


def wait_for_records(folder, expected, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if state_records(folder) == expected:
            return True
        time.sleep(0.1)
    return False


def latency(binary, folder, iterations):
    rules = os.path.join(folder, "rules.yaml")
    with open(rules, "w") as f:
        f.write("rules:\n  - name: AnyUF\n    flags: [UF]\n    minCount: 1\n    minRatio: 0\n    for: 0s\n")
    log = os.path.join(folder, "access.log")
    open(log, "w").close()
    tail = Tail(binary, folder, ["--no-state", "--alerts", "json", "--rules", rules, log])
    time.sleep(1.0)
    written = {}
    with open(log, "a") as out:
        for i in range(iterations):
            cluster = f"outbound|80||svc-{i}.bench.svc.cluster.local"
            out.write(istio_line(i, cluster=cluster, flags="UF"))
            out.flush()
            written[cluster] = time.time()
            time.sleep(random.uniform(0.01, 0.04))
    time.sleep(1.5)
    tail.stop()
    delays = []
    for arrived, line in tail.lines:
        event = json.loads(line)
        if event["status"] == "firing" and event["cluster"] in written:
            delays.append((arrived - written.pop(event["cluster"])) * 1000)
    delays.sort()
    p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))] if delays else float("nan")
    ok = len(delays) == iterations and statistics.median(delays) <= 250 and p99 <= 1000
    report(f"latency: {len(delays)}/{iterations} alerts, median {statistics.median(delays):.1f} ms, "
           f"p99 {p99:.1f} ms, max {delays[-1]:.1f} ms (target median <= 250, p99 <= 1000) {'MET' if ok else 'MISSED'}")


WRITER = r'''
import sys, time, os
path, rate, seconds, template = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
block = 1000 * template.count("\n")  # lines a write appends: the template (one or more lines) 1000 times
out = open(path, "ab", buffering=0)
start = time.time()
written = 0
while time.time() - start < seconds:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".000Z"
    out.write(template.replace("STAMP", stamp).encode() * 1000)
    written += block
    delay = start + written / rate - time.time()
    if delay > 0:
        time.sleep(delay)
print(written, time.time() - start)
'''


def ingest(binary, folder, rate, seconds):
    log = os.path.join(folder, "access.log")
    open(log, "w").close()
    tail = Tail(binary, folder, ["--state-dir", "state", "--stats-interval", "1", "--report", "report.json", log])
    time.sleep(1.0)
    cpu_before = tail.cpu_seconds()
    template = istio_line(0, stamp="STAMP")
    writer = subprocess.run([sys.executable, "-c", WRITER, log, str(rate), str(seconds), template],
                            capture_output=True, text=True, check=True)
    written, elapsed = writer.stdout.split()
    written, elapsed = int(written), float(elapsed)
    busy_cpu = tail.cpu_seconds() - cpu_before
    caught_up = wait_for_records(folder, written, 30)
    with open(os.path.join(folder, "run.err")) as f:
        behind = [int(part.split("=")[1]) for line in f if "bytes-behind=" in line
                  for part in line.split() if part.startswith("bytes-behind=")]
    during = behind[1:int(seconds)]  # one sample a second while the writer ran
    growing = len(during) >= 4 and all(b > a for a, b in zip(during, during[1:])) and during[-1] > 0
    ok = written / elapsed >= 200_000 and caught_up and not growing
    report(f"ingest: writer {written / elapsed:,.0f} lines/s for {elapsed:.1f} s ({written:,} lines), flagwatch "
           f"{busy_cpu / elapsed * 100:.0f}% of a core, bytes behind per second {during} -> caught up: {caught_up} "
           f"(target >= 200000 lines/s, no growing lag) {'MET' if ok else 'MISSED'}")
    cpu_before = tail.cpu_seconds()
    time.sleep(20)
    idle = (tail.cpu_seconds() - cpu_before) / 20 * 100
    report(f"idle: {idle:.2f}% of a core over 20 s with nothing written (target < 1%) {'MET' if idle < 1 else 'MISSED'}")
    tail.stop()


def write_rotating(folder, total, rename_every, truncate_every, rate):
    """Appends `total` numbered lines to access.log at `rate` lines/s, rotating as asked."""
    log = os.path.join(folder, "access.log")
    out = open(log, "ab", buffering=0)
    start = time.time()
    block = 1000
    rotations = truncations = 0
    for first in range(0, total, block):
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".000Z"
        out.write("".join(istio_line(n, stamp=stamp) for n in range(first, first + block)).encode())
        done = first + block
        if rename_every and done % rename_every == 0 and done < total:
            rotations += 1
            os.rename(log, f"{log}.{rotations}")
            out.close()
            out = open(log, "ab", buffering=0)
        elif truncate_every and done % truncate_every == 0 and done < total:
            truncations += 1
            time.sleep(0.2)
            shutil.copyfile(log, f"{log}.ct{truncations}")
            os.truncate(log, 0)
        delay = start + done / rate - time.time()
        if delay > 0:
            time.sleep(delay)
    out.close()
    return rotations, truncations


def rotation(binary, folder, total):
    open(os.path.join(folder, "access.log"), "w").close()
    tail = Tail(binary, folder, ["--state-dir", "state", "--report", "report.json", "access.log"])
    time.sleep(1.0)
    renamed, truncated = write_rotating(folder, total, 100_000, 150_000, 250_000)
    wait_for_records(folder, total, 60)
    tail.stop()
    with open(os.path.join(folder, "report.json")) as f:
        counted = json.load(f)["records"]
    report(f"rotation: wrote {total:,} lines with {renamed} renames and {truncated} copytruncates; counted {counted:,} "
           f"{'MET (exact)' if counted == total else 'MISSED'}")


def restart(binary, folder, total, kills):
    open(os.path.join(folder, "access.log"), "w").close()
    args = ["--state-dir", "state", "--report", "report.json", "access.log"]
    runs = [Tail(binary, folder, args, name="run0")]
    writer = threading.Thread(target=write_rotating, args=(folder, total, 100_000, 0, 250_000))
    time.sleep(1.0)
    writer.start()
    for k in range(kills):
        time.sleep(random.uniform(0.2, 0.8))
        runs[-1].stop(signal.SIGKILL)
        time.sleep(random.uniform(0.0, 0.6))
        runs.append(Tail(binary, folder, args, name=f"run{k + 1}"))
    writer.join()
    wait_for_records(folder, total, 60)
    runs[-1].stop()
    with open(os.path.join(folder, "report.json")) as f:
        counted = json.load(f)["records"]
    report(f"restart: wrote {total:,} lines (rename rotation every 100,000) while flagwatch was killed with SIGKILL "
           f"{kills} times; counted over all runs {counted:,} {'MET (exact)' if counted == total else 'MISSED'}")


SPIKY_WRITER = r'''
import sys, time
path, rate, seconds, template = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
out = open(path, "ab", buffering=0)
start = time.time()
written = spike = 0
next_spike = rate  # one spike cluster per second of writing
while time.time() - start < seconds:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".000Z"
    block = template.replace("STAMP", stamp).replace("CLUSTER", "outbound|80||steady.svc.cluster.local").replace("FLAGS", "-")
    out.write(block.encode() * 1000)
    written += 1000
    if written >= next_spike:
        next_spike += rate
        spike += 1
        bad = template.replace("STAMP", stamp).replace("CLUSTER", f"outbound|80||spike-{spike}.svc.cluster.local").replace("FLAGS", "UF")
        out.write(bad.encode() * 10)
        written += 10
    delay = start + written / rate - time.time()
    if delay > 0:
        time.sleep(delay)
print(written, spike)
'''


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def delivery(binary, folder, normal=20, outage=30, after=20, rate=100_000):
    receiver_script = os.path.join(ROOT, "Tests/AlertDeliveryTests/Support/receiver.py")
    port = free_port()
    received = os.path.join(folder, "received.jsonl")

    def start_receiver():
        return subprocess.Popen([sys.executable, receiver_script, "--log", received, "--port-file", os.path.join(folder, "port"),
                                 "--port", str(port), "--lifetime", "600"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    receiver = start_receiver()
    with open(os.path.join(folder, "rules.yaml"), "w") as f:
        f.write("rules:\n  - name: UF\n    flags: [UF]\n    window: 5s\n    minCount: 5\n    minRatio: 0.001\n")
    log = os.path.join(folder, "access.log")
    open(log, "w").close()
    tail = Tail(binary, folder, ["--state-dir", "state", "--alerts", "json", "--rules", "rules.yaml", "--stats-interval", "1",
                                 "--webhook", f"http://127.0.0.1:{port}/hook", log])
    tail.wait_ready()
    template = istio_line(0, cluster="CLUSTER", flags="FLAGS", stamp="STAMP")
    total = normal + outage + after
    writer = subprocess.Popen([sys.executable, "-c", SPIKY_WRITER, log, str(rate), str(total), template], stdout=subprocess.PIPE, text=True)
    time.sleep(normal)
    cpu_normal = tail.cpu_seconds()
    receiver.kill()
    receiver.wait()
    down_at = time.time()
    time.sleep(outage)
    cpu_outage = tail.cpu_seconds() - cpu_normal
    receiver = start_receiver()
    up_at = time.time()
    writer.wait()
    # Backoff is capped at 30 s: give the queue that long, and the last resolutions their window.
    time.sleep(45)
    tail.stop()
    receiver.kill()
    events = [json.loads(line) for _, line in tail.lines]
    emitted = {(e["fingerprint"], e["status"], e["startsAt"]) for e in events}
    seen_keys, arrivals = set(), {}
    retried_requests = 0
    for line in open(received):
        request = json.loads(line)
        key = request["headers"].get("idempotency-key")
        if key in seen_keys:
            retried_requests += 1
            continue
        seen_keys.add(key)
        for alert in json.loads(request["body"]).get("alerts", []):
            ident = (alert["fingerprint"], alert["status"], alert["startsAt"])
            arrivals[ident] = arrivals.get(ident, 0) + 1
    missing = emitted - set(arrivals)
    twice = [k for k, n in arrivals.items() if n > 1 and k in emitted]
    stats = [line for line in open(tail.err.name) if "flagwatch: stats" in line]
    records = [int(re.search(r"records=(\d+)", line).group(1)) for line in stats]
    per_second = [b - a for a, b in zip(records, records[1:])]
    normal_rate = statistics.mean(per_second[2:normal - 1])
    outage_rate = statistics.mean(per_second[normal + 1:normal + outage - 1])
    ok = not missing and not twice and abs(outage_rate / normal_rate - 1) <= 0.10
    report(f"delivery: {len(emitted)} alert events printed ({sum(1 for e in events if e['status'] == 'firing')} firing), receiver down "
           f"{up_at - down_at:.0f} s: missing {len(missing)}, delivered twice {len(twice)} (requests repeated under a seen key: "
           f"{retried_requests}); ingest {normal_rate:,.0f} lines/s normal, {outage_rate:,.0f} during the outage "
           f"({outage_rate / normal_rate * 100:.0f}%), flagwatch CPU {cpu_normal / normal * 100:.0f}% / {cpu_outage / outage * 100:.0f}% "
           f"{'MET' if ok else 'MISSED'}")


def results_file(name):
    """Benchmarks/results/DATE-HOST/NAME.txt: today's folder for this host (results-dir.sh)."""
    folder = subprocess.check_output(["bash", os.path.join(HERE, "results-dir.sh")], text=True).strip()
    return os.path.join(folder, f"{name}.txt")


def run_sections(description, name, sections, default):
    """The scripts' common driver: --binary and --only, one scratch folder per section,
    results written to Benchmarks/results/DATE-HOST/NAME.txt."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/release/flagwatch"))
    parser.add_argument("--only", nargs="*", default=default)
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    report(f"# {name}_bench {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, {os.cpu_count()} cores, {binary}")
    for section in args.only:
        folder = tempfile.mkdtemp(prefix=f"{name}-bench-{section}-")
        try:
            sections[section](binary, folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    with open(results_file(name), "w") as f:
        f.write("\n".join(RESULTS) + "\n")


def main():
    sections = {
        "latency": lambda binary, folder: latency(binary, folder, 300),
        "ingest": lambda binary, folder: ingest(binary, folder, 250_000, 15),
        "rotation": lambda binary, folder: rotation(binary, folder, 2_000_000),
        "restart": lambda binary, folder: restart(binary, folder, 1_000_000, 6),
        "delivery": delivery,
    }
    run_sections(__doc__, "tail", sections, list(sections))


if __name__ == "__main__":
    main()
