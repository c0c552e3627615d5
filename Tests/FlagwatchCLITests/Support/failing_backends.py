"""Real backends for the Envoy tests, each failing in its own way, on 127.0.0.1.

Usage: failing_backends.py CERT_DIR. Prints one JSON line of the ports it listens on, then
serves until its standard input closes (the test holds it) or 120 s pass.
- plain: HTTP/1.1, answers 200 (also the target of TLS spoken to a plaintext port)
- slow: waits 3 s before answering (past the route timeout); /breaker waits 1 s
- close: reads the request and closes the connection without an answer
- wrong_san: TLS with a certificate for wrong.example, signed by the test CA
- expired: TLS with a certificate for the right name that expired in 2020
"""
import json
import os
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    delay = 0.0

    def do_GET(self):
        if self.delay:
            time.sleep(1.0 if self.path.startswith("/breaker") else self.delay)
        body = b"ok\n"
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class SlowHandler(Handler):
    delay = 3.0


def http_server(handler, context=None):
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1]


def closing_server():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)

    def serve():
        while True:
            connection, _ = listener.accept()
            connection.settimeout(2)
            try:
                connection.recv(65536)
            except OSError:
                pass
            connection.close()

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1]


def tls_context(directory, name):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(os.path.join(directory, name + ".pem"), os.path.join(directory, name + ".key"))
    return context


def main():
    directory = sys.argv[1]
    ports = {
        "plain": http_server(Handler),
        "slow": http_server(SlowHandler),
        "close": closing_server(),
        "wrong_san": http_server(Handler, tls_context(directory, "wrong-san")),
        "expired": http_server(Handler, tls_context(directory, "expired")),
    }
    print(json.dumps(ports), flush=True)
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    time.sleep(120)
    os._exit(0)


if __name__ == "__main__":
    main()
