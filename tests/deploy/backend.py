#!/usr/bin/env python3
"""A stand-in for one `pesquisa serve` instance behind the test nginx.

usage: backend.py PORT NAME [DIR]

GET /healthz, /readyz   200, like the app's health endpoints
GET /echo               JSON: this backend's name and the proxy headers it received
GET /big                20 KiB of text (for the gzip check)
POST /login, /register  200 after reading the body
POST anything           200; the request line is appended to DIR/NAME.posts
GET or POST /die?name=N the backend named N exits at once without answering (a crash
                        mid-request); any other backend answers 200
anything else           200 "NAME"
Every response carries X-Backend: NAME and, like the app, X-Content-Type-Options, so the
test can see that nginx does not add that header a second time.
SIGTERM: like the app (server.drain_secs), keeps serving for DRAIN_SECS (env
BACKEND_DRAIN_SECS, default 5; longer than nginx's upstream keepalive_timeout of 4 s) with
"Connection: close" on every response, then stops accepting, gives in-flight requests
0.2 s and exits.
"""

import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])
NAME = sys.argv[2]
DIR = sys.argv[3] if len(sys.argv) > 3 else None
DRAIN_SECS = float(os.environ.get("BACKEND_DRAIN_SECS", "5"))
draining = threading.Event()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as nginx's upstream keepalive expects

    def log_message(self, *args):
        pass

    def reply(self, status, body, ctype="text/plain"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Backend", NAME)
        self.send_header("X-Content-Type-Options", "nosniff")
        if draining.is_set():
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)

    def maybe_die(self):
        path, _, query = self.path.partition("?")
        if path == "/die" and f"name={NAME}" in query.split("&"):
            os._exit(1)

    def do_GET(self):
        self.maybe_die()
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            self.reply(200, "ok")
        elif path == "/readyz":
            self.reply(200, '{"status":"ready"}', "application/json")
        elif path == "/echo":
            seen = {h: self.headers.get(h) for h in
                    ("Host", "X-Real-IP", "X-Forwarded-For", "X-Forwarded-Proto",
                     "X-Request-ID", "Connection")}
            self.reply(200, json.dumps({"backend": NAME, "headers": seen}), "application/json")
        elif path == "/big":
            self.reply(200, ("pesquisa " * 2560)[:20480])
        else:
            self.reply(200, NAME)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        if DIR:
            with open(os.path.join(DIR, NAME + ".posts"), "a") as f:
                f.write(self.path + "\n")
        self.maybe_die()
        self.reply(200, NAME)


server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
# Idle keep-alive connections from nginx must not hold up an exit: threads are daemons,
# and requests in flight get a short grace period below instead.
server.daemon_threads = True


def stop(*_):
    # shutdown() waits for serve_forever to return, so it must run off the main thread.
    draining.set()
    threading.Timer(DRAIN_SECS, server.shutdown).start()


signal.signal(signal.SIGTERM, stop)
server.serve_forever(poll_interval=0.05)
server.server_close()
time.sleep(0.2)
