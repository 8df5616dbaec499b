#!/usr/bin/env python3
"""A web service for supervisord to run in watchd's end-to-end tests
(stdlib only).

Usage: web_app.py --port N [--pid-file PATH] [--ignore-term]

Serves HTTP/1.1 on 127.0.0.1:N (one thread per connection), then writes its
pid to PATH (atomically), so the pid file also says it is ready:
  /health      200 "ok", or 503 "sick" once /sick was asked
  /sick        200; /health answers 503 from now on
  /status/NNN  status NNN
  /pid         200 with the process's pid
  /leak/MB     allocates MB MiB, touched so that it is resident, and keeps it
  /exit        200, then the process exits with status 0
  anything else 404

--ignore-term ignores SIGTERM, so a stop only ends with SIGKILL. Nothing is
printed.
"""

import argparse
import http.server
import os
import signal
import socketserver
import threading
import urllib.parse

MIB = 1024 * 1024
leaked = []
sick = threading.Event()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body):
        body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def do_GET(self):
        parts = urllib.parse.urlsplit(self.path).path.split("/", 2)[1:]
        name = parts[0] if parts else ""
        arg = parts[1] if len(parts) > 1 else ""
        if name == "health":
            if sick.is_set():
                self.reply(503, "sick")
            else:
                self.reply(200, "ok")
        elif name == "sick":
            sick.set()
            self.reply(200, "sick from now on")
        elif name == "status":
            self.reply(int(arg), "status " + arg)
        elif name == "pid":
            self.reply(200, str(os.getpid()))
        elif name == "leak":
            # bytes of a repeated byte are written out, hence resident.
            leaked.append(b"\x01" * (int(arg) * MIB))
            self.reply(200, "leaked %s MiB" % arg)
        elif name == "exit":
            self.reply(200, "bye")
            os._exit(0)
        else:
            self.reply(404, "not found")


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # clients that hang up mid-answer are expected here


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid-file")
    parser.add_argument("--ignore-term", action="store_true")
    args = parser.parse_args()
    if args.ignore_term:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    server = Server(("127.0.0.1", args.port), Handler)
    if args.pid_file:
        tmp = args.pid_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(tmp, args.pid_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
