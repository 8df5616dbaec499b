#!/usr/bin/env python3
"""A webhook receiver for watchd's notification tests (stdlib only).

Usage: hook_receiver.py --port N --out FILE [--fail-first N] [--ready-file PATH]

Every POST is answered 200 (or 503 while --fail-first requests remain) and
recorded as one JSON line appended to --out:
  {"path": ..., "content_type": ..., "status": 200|503, "body": <the JSON>}
(the body as a string when it is not JSON). --ready-file is written once the
socket listens. Nothing is printed.
"""

import argparse
import http.server
import json
import os
import socketserver
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        server = self.server
        with server.lock:
            status = 503 if server.fail_left > 0 else 200
            if server.fail_left > 0:
                server.fail_left -= 1
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
            line = json.dumps({"path": self.path,
                               "content_type": self.headers.get("Content-Type"),
                               "status": status, "body": body})
            with open(server.out, "a") as f:
                f.write(line + "\n")
        reply = b"ok" if status == 200 else b"busy"
        self.send_response(status)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--ready-file")
    args = parser.parse_args()
    server = Server(("127.0.0.1", args.port), Handler)
    server.lock = threading.Lock()
    server.out = args.out
    server.fail_left = args.fail_first
    if args.ready_file:
        tmp = args.ready_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("ready\n")
        os.rename(tmp, args.ready_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
