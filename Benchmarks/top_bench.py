#!/usr/bin/env python3
"""`flagwatch top` with its view open, against `flagwatch tail` on the same input (issue #16).

    python3 Benchmarks/top_bench.py [--binary .build/release/flagwatch] [--only cpu refresh]

Sections:
  cpu      a writer process appends 250 000 lines/s for 15 s over 10 clusters; the CPU seconds
           flagwatch spends to take them all in (from the first write until it has been idle
           for 1 s), for `tail --no-state` (stdout to /dev/null) and for `top` running in a tmux
           pane of 200x60 with its view open. Runs alternate, tail first, twice each; the ratio
           of the medians must be <= 1.2.
  refresh  top in a tmux pane: a line for a new failing cluster appended, then the pane
           captured every 5 ms until the name is on screen; 30 probes while nothing else is
           written, 30 while the writer appends 250 000 lines/s. p50, p99 and max; every one
           must be within 300 ms. The figure includes tmux drawing the pane and capture-pane.

Results go to Benchmarks/results/DATE-HOST/top.txt (results-dir.sh).
"""
import os
import random
import statistics
import subprocess
import sys
import threading
import time

from tail_bench import WRITER, istio_line, report, run_sections

RATE = 250_000
SECONDS = 15
CLUSTERS = [f"outbound|{8000 + i}||service-{i}.bench.svc.cluster.local" for i in range(10)]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tmux(socket, *arguments, capture=False):
    run = subprocess.run(["tmux", "-L", socket, "-f", "/dev/null", *arguments], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE if capture else subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    return run.stdout if capture else run.returncode


class TopPane:
    """`flagwatch top --from end LOG` in a tmux pane of its own server; its pid from a file."""

    def __init__(self, binary, folder, log):
        self.socket = f"top-bench-{os.getpid()}-{random.randrange(1 << 30)}"
        pidfile = os.path.join(folder, "top.pid")
        command = f"sh -c 'echo $$ > {pidfile}; exec {binary} top --from end {log} 2> {folder}/top.err'"
        tmux(self.socket, "new-session", "-d", "-s", "top", "-x", "200", "-y", "60", command)
        deadline = time.time() + 10
        while time.time() < deadline and not self.screen().count("q quit"):
            time.sleep(0.05)
        self.pid = int(open(pidfile).read())

    def screen(self):
        return tmux(self.socket, "capture-pane", "-p", "-t", "top", capture=True)

    def stop(self):
        tmux(self.socket, "kill-server")


class TailProcess:
    def __init__(self, binary, log):
        self.proc = subprocess.Popen([binary, "tail", "--no-state", "--from", "end", log], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.pid = self.proc.pid
        time.sleep(1)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def start_writer(log, seconds):
    template = "".join(istio_line(0, cluster=cluster, stamp="STAMP") for cluster in CLUSTERS)
    return subprocess.Popen([sys.executable, "-c", WRITER, log, str(RATE), str(seconds), template],
                            stdout=subprocess.PIPE, text=True)


def cpu_to_take_in(pid, log):
    """CPU seconds from the first write until the process has been idle for a second."""
    before = cpu_seconds(pid)
    writer = start_writer(log, SECONDS)
    written, elapsed = map(float, writer.communicate()[0].split())
    last = cpu_seconds(pid)
    deadline = time.time() + 30
    while time.time() < deadline:
        time.sleep(1)
        now = cpu_seconds(pid)
        if now - last < 0.02:
            break
        last = now
    return last - before, written / elapsed


def cpu(binary, folder):
    runs = {"tail": [], "top": []}
    for round in range(2):
        for name in ("tail", "top"):
            log = os.path.join(folder, f"{name}-{round}.log")
            open(log, "w").close()
            process = TailProcess(binary, log) if name == "tail" else TopPane(binary, folder, log)
            try:
                used, rate = cpu_to_take_in(process.pid, log)
            finally:
                process.stop()
            os.remove(log)
            runs[name].append(used)
            report(f"cpu: {name} run {round + 1}: {used:.2f} CPU s for {rate * SECONDS:,.0f} lines "
                   f"written at {rate:,.0f} lines/s ({used / SECONDS * 100:.0f}% of a core over the writing)")
    ratio = statistics.median(runs["top"]) / statistics.median(runs["tail"])
    report(f"cpu: top with its view open / tail, medians: {ratio:.2f}x (target <= 1.2x) {'MET' if ratio <= 1.2 else 'MISSED'}")


def probe_delays(pane, log, count, tag):
    delays = []
    with open(log, "a") as out:
        for i in range(count):
            cluster = f"outbound|80||probe-{tag}-{i}.bench.svc.cluster.local"
            out.write(istio_line(i, cluster=cluster, flags="UF"))
            out.flush()
            written = time.perf_counter()
            deadline = written + 2
            while f"probe-{tag}-{i}." not in pane.screen() and time.perf_counter() < deadline:
                time.sleep(0.005)
            delays.append((time.perf_counter() - written) * 1000)
            time.sleep(random.uniform(0.2, 0.5))
    return sorted(delays)


def refresh(binary, folder):
    log = os.path.join(folder, "access.log")
    open(log, "w").close()
    pane = TopPane(binary, folder, log)
    try:
        for tag, loaded in (("idle", False), ("loaded", True)):
            writer = start_writer(log, 30) if loaded else None
            delays = probe_delays(pane, log, 30, tag)
            if writer:
                writer.kill()
                writer.wait()
            p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))]
            ok = delays[-1] <= 300
            report(f"refresh ({tag}{', writer at 250000 lines/s' if loaded else ''}): a new failing cluster on screen after "
                   f"p50 {statistics.median(delays):.0f} ms, p99 {p99:.0f} ms, max {delays[-1]:.0f} ms over {len(delays)} probes "
                   f"(target every one <= 300 ms) {'MET' if ok else 'MISSED'}")
    finally:
        pane.stop()


def main():
    run_sections(__doc__, "top", {"cpu": cpu, "refresh": refresh}, ["cpu", "refresh"])


if __name__ == "__main__":
    main()
