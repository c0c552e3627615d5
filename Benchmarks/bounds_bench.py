#!/usr/bin/env python3
"""Resource bounds of `flagwatch scan` and `flagwatch tail`, measured with real processes.

    python3 Benchmarks/bounds_bench.py [--binary .build/release/flagwatch] [--only SECTION ...]

Sections:
  flood     a log of 1 000 000 requests, each to a distinct :authority (Envoy's default format,
            so the authority is the key): peak RSS of `scan` and of `tail` with the default key
            cap (10 000), and per-key memory from a run at 10 000 distinct keys
  files     `tail` following 1 000 files in one directory: open descriptors, RSS
  privilege `tail` run as `nobody` under strace: every file it opens for writing, creates,
            renames or removes must be in its state directory; the metrics listener's address
  diskfull  `tail` whose state directory is on a 1 MiB tmpfs that is then filled: the error it
            prints, whether counting goes on, whether state.json stays whole, and recovery once
            space is back (needs root for `mount`; skipped otherwise)
Writes Benchmarks/results/DATE-HOST/bounds.txt (results-dir.sh).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tail_bench import Tail, istio_line, report, run_sections, wait_for_records  # noqa: E402


def envoy_line(n, authority):
    return (f'[2026-11-25T10:{n // 60000 % 60:02d}:{n // 1000 % 60:02d}.000Z] "GET /x/{n} HTTP/1.1" 503 UF 0 91 3 - "-" '
            f'"curl/8.0" "req-{n}" "{authority}" "10.0.0.{n % 250}:80"\n')


def peak_rss_of(args, cwd):
    """Runs a command to its end under GNU time; returns (peak RSS MiB, stdout)."""
    out = subprocess.run(["/usr/bin/time", "-f", "%M", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return int(out.stderr.strip().splitlines()[-1]) / 1024, out.stdout


def vm_hwm(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024


def flood(binary, folder):
    for keys, name in ((10_000, "keys10k.log"), (1_000_000, "flood.log")):
        with open(os.path.join(folder, name), "w") as out:
            for n in range(1_000_000):
                out.write(envoy_line(n, f"tenant-{n % keys}.attacker.example:443"))
    small, _ = peak_rss_of([binary, "scan", "--threads", "1", "--output", "json", "keys10k.log"], folder)
    rss, text = peak_rss_of([binary, "scan", "--output", "json", "flood.log"], folder)
    result = json.loads(text)
    report(f"flood scan: 1,000,000 distinct authorities, key cap 10,000: peak RSS {rss:.0f} MiB "
           f"(keys kept {len(result['clusters'])}, records under __other__ {result['keysOverflowed']:,}) "
           f"(target <= 256 MiB) {'MET' if rss <= 256 else 'MISSED'}")
    tail = Tail(binary, folder, ["--no-state", "--from", "beginning", "--stats-interval", "1", "flood.log"])
    deadline = time.time() + 120
    while time.time() < deadline and "records=1000000" not in open(tail.err.name).read():
        time.sleep(0.5)
    rss = vm_hwm(tail.proc.pid)
    tail.stop()
    report(f"flood tail: the same log followed from its beginning: peak RSS {rss:.0f} MiB (target <= 256 MiB) "
           f"{'MET' if rss <= 256 else 'MISSED'}")
    report(f"per key: scan of 1,000,000 records over 10,000 keys (one thread) peaks at {small:.0f} MiB")


def files(binary, folder):
    logs = os.path.join(folder, "logs")
    os.makedirs(logs)
    for i in range(1000):
        with open(os.path.join(logs, f"pod-{i}.log"), "w") as out:
            out.write(istio_line(i))
    tail = Tail(binary, folder, ["--state-dir", "state", "--from", "beginning", "logs"])
    wait_for_records(folder, 1000, 60)
    fds = len(os.listdir(f"/proc/{tail.proc.pid}/fd"))
    rss = vm_hwm(tail.proc.pid)
    cpu_before = tail.cpu_seconds()
    time.sleep(10)
    idle = (tail.cpu_seconds() - cpu_before) / 10 * 100
    tail.stop()
    report(f"files: following 1,000 files: {fds} open descriptors (one per file, plus inotify, the signal pipe, "
           f"stdio), peak RSS {rss:.0f} MiB, idle CPU {idle:.2f}% of a core (a stat per file per second)")


def diskfull(binary, folder):
    state = os.path.join(folder, "state")
    os.makedirs(state)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", state], capture_output=True).returncode != 0:
        report("diskfull: skipped (cannot mount a tmpfs here)")
        return
    try:
        log = os.path.join(folder, "access.log")
        with open(log, "w") as out:
            out.write("".join(istio_line(n) for n in range(100)))
        tail = Tail(binary, folder, ["--state-dir", "state", "--from", "beginning", "--stats-interval", "1", "access.log"])
        wait_for_records(folder, 100, 20)
        with open(os.path.join(state, "filler"), "wb") as filler:
            try:
                filler.write(b"\0" * (2 << 20))
            except OSError:
                pass
        with open(log, "a") as out:
            out.write("".join(istio_line(n) for n in range(100, 300)))
        time.sleep(3)
        errors = open(tail.err.name).read()
        whole = json.load(open(os.path.join(state, "state.json")))["counters"]["records"]
        counted = max(int(m) for m in re.findall(r"records=(\d+)", errors))
        os.remove(os.path.join(state, "filler"))
        recovered = wait_for_records(folder, 300, 10)
        tail.stop()
        said = next((line for line in errors.splitlines() if "cannot write checkpoint" in line), "(nothing)")
        ok = whole == 100 and counted == 300 and recovered
        report(f"diskfull: state dir full -> stderr: {said.strip()!r}; state.json stayed whole at {whole} records while "
               f"counting went on to {counted}; space back -> checkpoint at 300: {recovered} {'MET' if ok else 'MISSED'}")
    finally:
        subprocess.run(["umount", state])


def privilege(binary, folder):
    os.chmod(folder, 0o755)
    log = os.path.join(folder, "access.log")
    with open(log, "w") as out:
        out.write("".join(istio_line(n) for n in range(50)))
    state = os.path.join(folder, "state")
    os.makedirs(state)
    shutil.chown(state, "nobody", "nogroup")
    trace = os.path.join(folder, "trace")
    command = ["strace", "-f", "-q", "-o", trace, "-e", "trace=openat,rename,renameat,unlink,unlinkat,mkdir,mkdirat",
               "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
               binary, "tail", "--state-dir", state, "--from", "beginning", "--metrics-listen", ":0", log]
    proc = subprocess.Popen(command, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(3)
    # strace's child: setpriv, which exec'd flagwatch.
    child = int(subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()[0])
    os.kill(child, 2)
    _, errors = proc.communicate(timeout=20)
    returncode = int(re.findall(r"exited with (\d+)", open(trace).read())[-1])
    writes = []
    for line in open(trace):
        written = ("openat" in line and re.search(r"O_WRONLY|O_RDWR|O_CREAT", line)) or re.search(r"\b(rename|unlink|mkdir)", line)
        if written and "= -1" not in line:
            paths = re.findall(r'"([^"]+)"', line)
            if not all(path.startswith(state) for path in paths if path.startswith("/")):
                writes.append(line.split(None, 1)[1].strip())
    # What the process wrote before exec'ing flagwatch (setpriv) and the runtime's own /dev/null are not flagwatch's.
    outside = [w for w in writes if "/dev/null" not in w]
    listen = re.search(r"metrics on (\S+)", errors)
    ok = returncode == 0 and not outside and listen and "127.0.0.1" in listen.group(1)
    report(f"privilege: as nobody, exit {returncode} after SIGINT; writes outside the state directory: {outside or 'none'}; "
           f"metrics listener {listen.group(1) if listen else '?'} {'MET' if ok else 'MISSED'}")


def main():
    run_sections(__doc__, "bounds", {"flood": flood, "files": files, "privilege": privilege, "diskfull": diskfull},
                 ["flood", "files", "privilege", "diskfull"])


if __name__ == "__main__":
    main()
