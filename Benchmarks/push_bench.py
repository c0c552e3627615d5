#!/usr/bin/env python3
"""Pushed inputs (`tail --otlp-grpc`), measured with real processes on this machine.

    .build/venv/bin/python Benchmarks/push_bench.py [--binary .build/release/flagwatch] [--only SECTION ...]

Needs the venv Tests/run.sh makes (grpcio and opentelemetry-proto come with the SDK's exporter).
The load client is separate processes of grpcio sending ExportLogsServiceRequests, serialised
once (1 000 Istio-format body lines each), over unary calls with several in flight.

Sections:
  throughput  offered 300 000 records/s for 20 s: records counted per second (from /metrics),
              flagwatch's CPU (cores, from /proc); then unpaced: the most it takes
  overload    flagwatch held to a tenth of a core (a cgroup v1 CPU quota, when the machine lets
              root make one), the inbox at 4 MiB, ten unpaced senders: records offered vs taken,
              refused exports (RESOURCE_EXHAUSTED, sent again by the senders), RSS over the run
  latency     a breaching record sent (a new cluster's UF, rule for: 0) -> its alert line on
              flagwatch's stdout, with 100 000 healthy records/s of background load
Prints one line per figure and writes them to Benchmarks/results/DATE-HOST/push.txt.
"""
import argparse
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tail_bench import HERE, RESULTS, Tail, istio_line, report  # noqa: E402

EXPORT = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"


def export_request(lines, node="bench", log="otel_envoy_accesslog"):
    """A serialised ExportLogsServiceRequest of one resource and scope holding `lines` as bodies."""
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    request = ExportLogsServiceRequest()
    resource_logs = request.resource_logs.add()
    for key, value in (("node_name", node), ("log_name", log)):
        resource_logs.resource.attributes.append(KeyValue(key=key, value=AnyValue(string_value=value)))
    scope = resource_logs.scope_logs.add()
    now = time.time_ns()
    for line in lines:
        record = scope.log_records.add()
        record.time_unix_nano = now
        record.body.string_value = line
    return request.SerializeToString()


def sender(port, rate, seconds, inflight, counters, node):
    """Sends one serialised request over and over: `rate` records/s (0: as fast as answered)."""
    import grpc
    lines = [istio_line(i, cluster=f"outbound|80||svc-{i % 20}.bench.svc.cluster.local").rstrip("\n") for i in range(1000)]
    payload = export_request(lines, node=node)
    channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.max_send_message_length", 16 << 20)])
    export = channel.unary_unary(EXPORT)
    start = time.time()
    sent = accepted = refused = 0
    pending = []
    while time.time() - start < seconds:
        while len(pending) >= inflight:
            done = pending.pop(0)
            try:
                done.result()
                accepted += 1
            except grpc.RpcError as error:
                if error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
                    refused += 1
                else:
                    raise
        pending.append(export.future(payload, timeout=30))
        sent += 1
        if rate:
            delay = start + sent * 1000 / rate - time.time()
            if delay > 0:
                time.sleep(delay)
    for done in pending:
        try:
            done.result()
            accepted += 1
        except grpc.RpcError:
            refused += 1
    counters.put((sent * 1000, accepted * 1000, refused))


def counted(port):
    """Records counted so far (published once a second)."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return float(re.search(r'^flagwatch_lines_total{result="parsed"} (\S+)$', text, re.M).group(1))


def wait_counted(port, expected, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline and counted(port) < expected:
        time.sleep(0.2)
    return counted(port)


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) / 1024


def start_tail(binary, folder, extra):
    tail = Tail(binary, folder, ["--no-state", "--otlp-grpc", "0", "--metrics-listen", "0", *extra])
    deadline = time.time() + 20
    grpc_port = metrics_port = None
    while time.time() < deadline and not (grpc_port and metrics_port):
        err = open(tail.err.name).read()
        m = re.search(r"otlp-grpc receiving on [\d.]+:(\d+)", err)
        grpc_port = grpc_port or (m and int(m.group(1)))
        m = re.search(r"metrics on http://[\d.]+:(\d+)/metrics", err)
        metrics_port = metrics_port or (m and int(m.group(1)))
        time.sleep(0.05)
    return tail, grpc_port, metrics_port


def load(port, processes, rate, seconds, inflight):
    counters = multiprocessing.Queue()
    workers = [multiprocessing.Process(target=sender, args=(port, rate / processes if rate else 0, seconds, inflight, counters, f"node-{i}"))
               for i in range(processes)]
    for worker in workers:
        worker.start()
    return workers, counters


def finish(workers, counters):
    totals = [0, 0, 0]
    for _ in workers:
        for i, value in enumerate(counters.get(timeout=120)):
            totals[i] += value
    for worker in workers:
        worker.join()
    return totals


def measure(binary, folder, rate, seconds, label, target):
    tail, port, metrics = start_tail(binary, folder, [])
    workers, counters = load(port, 2, rate, seconds, inflight=8)
    time.sleep(3)  # the senders' start-up
    records0, cpu0, t0 = counted(metrics), tail.cpu_seconds(), time.time()
    time.sleep(seconds - 6)
    records1, cpu1, t1 = counted(metrics), tail.cpu_seconds(), time.time()
    offered, accepted, refused = finish(workers, counters)
    tail.stop()
    counted_rate = (records1 - records0) / (t1 - t0)
    cores = (cpu1 - cpu0) / (t1 - t0)
    met = "" if target is None else (" MET" if counted_rate >= target and cores < 1.0 else " MISSED")
    report(f"throughput {label}: {counted_rate:,.0f} records/s counted, flagwatch {cores:.2f} cores "
           f"(offered {offered:,} records, accepted {accepted:,}, refused exports {refused})"
           + ("" if target is None else f" (target >= {target:,} records/s under one core){met}"))


def throughput(binary, folder, seconds):
    measure(binary, folder, 300_000, seconds, "at 300 000 records/s offered", 300_000)
    measure(binary, folder, 0, seconds, "unpaced (the most it takes)", None)


CGROUP = "/sys/fs/cgroup/cpu/flagwatch-push-bench"


def throttle(pid, share):
    """Limits `pid` to `share` of one core; False where no cgroup v1 CPU controller is writable."""
    try:
        os.makedirs(CGROUP, exist_ok=True)
        with open(os.path.join(CGROUP, "cpu.cfs_period_us"), "w") as f:
            f.write("100000")
        with open(os.path.join(CGROUP, "cpu.cfs_quota_us"), "w") as f:
            f.write(str(int(100000 * share)))
        with open(os.path.join(CGROUP, "cgroup.procs"), "w") as f:
            f.write(str(pid))
        return True
    except OSError:
        return False


def overload(binary, folder, seconds):
    tail, port, metrics = start_tail(binary, folder, ["--push-queue-bytes", str(4 << 20)])
    throttled = throttle(tail.proc.pid, 0.1)
    rss = []
    sampling = True

    def sample():
        while sampling:
            rss.append((time.time(), rss_mib(tail.proc.pid)))
            time.sleep(0.5)

    threading.Thread(target=sample, daemon=True).start()
    start = time.time()
    workers, counters = load(port, 10, 0, seconds, inflight=16)
    offered, accepted, refused = finish(workers, counters)
    elapsed = time.time() - start
    total = wait_counted(metrics, accepted)
    sampling = False
    tail.stop()
    if throttled:
        os.rmdir(CGROUP)
    report("overload RSS MiB every 5 s: " + " ".join(f"{v:.0f}" for _, v in rss[::10]))
    third = max(1, len(rss) // 3)
    first, last = max(v for _, v in rss[:third]), max(v for _, v in rss[-third:])
    ok = last <= first * 1.1 and refused > 0
    report(f"overload: flagwatch {'held to 0.1 core' if throttled else 'NOT throttled (no cgroup)'}, 10 senders unpaced for {elapsed:.0f} s: offered {offered / elapsed:,.0f} records/s (refused ones "
           f"sent again), taken {accepted / elapsed:,.0f}/s, counted {total:,.0f} of {accepted:,} accepted; "
           f"{refused} exports refused (RESOURCE_EXHAUSTED); peak RSS first third {first:.1f} MiB, last third "
           f"{last:.1f} MiB (target: senders refused, RSS not growing) {'MET' if ok and total == accepted else 'MISSED'}")


def latency(binary, folder, iterations):
    rules = os.path.join(folder, "rules.yaml")
    with open(rules, "w") as f:
        f.write("rules:\n  - name: AnyUF\n    flags: [UF]\n    minCount: 1\n    minRatio: 0\n    for: 0s\n")
    tail, port, _ = start_tail(binary, folder, ["--alerts", "json", "--rules", rules])
    workers, counters = load(port, 1, 100_000, iterations * 0.1 + 6, inflight=4)
    time.sleep(2)
    import grpc
    import json
    export = grpc.insecure_channel(f"127.0.0.1:{port}").unary_unary(EXPORT)
    sent = {}
    for i in range(iterations):
        cluster = f"outbound|80||breach-{i}.bench.svc.cluster.local"
        payload = export_request([istio_line(i, cluster=cluster, flags="UF").rstrip("\n")], node="breach")
        sent[cluster] = time.time()
        export(payload, timeout=10)
        time.sleep(0.08)
    time.sleep(1.5)
    finish(workers, counters)
    tail.stop()
    delays = []
    for arrived, line in tail.lines:
        event = json.loads(line)
        if event["status"] == "firing" and event["cluster"] in sent:
            delays.append((arrived - sent.pop(event["cluster"])) * 1000)
    delays.sort()
    p50 = statistics.median(delays) if delays else float("nan")
    p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))] if delays else float("nan")
    ok = len(delays) == iterations and p50 <= 50 and p99 <= 250
    report(f"latency: {len(delays)}/{iterations} alerts, p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {delays[-1]:.1f} ms, "
           f"with 100 000 records/s of background load (target p50 <= 50, p99 <= 250) {'MET' if ok else 'MISSED'}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=os.path.join(os.path.dirname(HERE), ".build/release/flagwatch"))
    parser.add_argument("--only", nargs="*", default=["throughput", "overload", "latency"])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--out")
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    cpu = open("/proc/cpuinfo").read().split("model name")[1].split(":")[1].split("\n")[0].strip()
    report(f"push_bench {time.strftime('%Y-%m-%d', time.gmtime())} on {cpu}, {os.cpu_count()} cores; {binary}")
    with tempfile.TemporaryDirectory(prefix="flagwatch-push-") as folder:
        if "throughput" in args.only:
            throughput(binary, folder, args.seconds)
        if "overload" in args.only:
            # Long enough for the in-flight calls to reach their bound: RSS then stays flat.
            overload(binary, folder, max(args.seconds, 60))
        if "latency" in args.only:
            latency(binary, folder, 100)
    out = args.out or os.path.join(subprocess.check_output(["bash", os.path.join(HERE, "results-dir.sh")], text=True).strip(), "push.txt")
    with open(out, "w") as f:
        f.write("\n".join(RESULTS) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
