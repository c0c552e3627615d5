#!/usr/bin/env python3
"""A webhook receiver for flagwatch's delivery tests and benchmark, on 127.0.0.1 only.

Records every request as one JSON line (at arrival, before answering) and answers as told:

  receiver.py --log FILE --port-file FILE [--port N] [--cert PEM --key PEM]
              [--script 500,500,429:2,delay:3,400,echo401] [--hmac-secret S] [--lifetime SECONDS]

--script lists the answers to the first requests in order; later ones get 200.
  CODE       that status (empty JSON body, or an error text for 4xx)
  429:N      429 with Retry-After: N
  delay:N    wait N seconds, then 200 (to run past a client's timeout)
  echo401    401 whose body repeats the request's Authorization header (a leaky server)
  200eof     200 without Content-Length, the body ended by closing the connection (over TLS,
             without close_notify: Python's ssl does not send it), as home-made hooks do
--hmac-secret checks X-Flagwatch-Signature with Python's own hmac and records the verdict.
The process exits by itself after --lifetime seconds (default 300).
"""
import argparse
import hashlib
import hmac
import json
import os
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

args = None
lock = threading.Lock()
script = []
served = 0


def next_answer():
    global served
    with lock:
        answer = script[served] if served < len(script) else "200"
        served += 1
        return answer


def signature_ok(headers, body):
    timestamp = headers.get("X-Flagwatch-Timestamp", "")
    given = headers.get("X-Flagwatch-Signature", "")
    expected = "sha256=" + hmac.new(args.hmac_secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, given) and abs(time.time() - int(timestamp or 0)) < 300


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # As production servers do: no Nagle delay between the header and body writes.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *_):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        answer = next_answer()
        record = {"time": time.time(), "path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                  "body": body.decode("utf-8", "replace"), "answer": answer}
        if args.hmac_secret is not None:
            record["signatureOK"] = signature_ok(self.headers, body)
        with lock, open(args.log, "a") as log:
            log.write(json.dumps(record) + "\n")
        status, headers, text = 200, {}, b"{}"
        if answer.startswith("delay:"):
            time.sleep(float(answer[6:]))
        elif answer.startswith("429:"):
            status, headers, text = 429, {"Retry-After": answer[4:]}, b"slow down"
        elif answer == "200eof":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"ok")
            self.close_connection = True
            return
        elif answer == "echo401":
            status, text = 401, ("bad credentials: " + self.headers.get("Authorization", "")).encode()
        else:
            status = int(answer)
            if status >= 400:
                text = b"refused by the test receiver"
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        try:
            self.wfile.write(text)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test)


def main():
    global args, script
    parser = argparse.ArgumentParser()
    parser.add_argument("--log", required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--script", default="")
    parser.add_argument("--hmac-secret")
    parser.add_argument("--lifetime", type=float, default=300)
    args = parser.parse_args()
    script = [s for s in args.script.split(",") if s]
    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer.daemon_threads = True
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    if args.cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    threading.Timer(args.lifetime, lambda: os._exit(0)).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
