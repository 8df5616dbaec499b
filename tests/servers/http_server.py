#!/usr/bin/env python3
"""A misbehaving-on-demand HTTP/1.1 server for watchd's tests (stdlib only).

Usage: http_server.py --port N [--host 127.0.0.1|::1] [--tls-cert C --tls-key K]
                      [--ready-file PATH] [--no-accept]

Behaviour by request path (keep-alive is supported, one thread per connection):
  /ok             200 "ok"
  /status/NNN     status NNN, body "status NNN"
  /body/TEXT      200 with TEXT (URL-decoded) as the body
  /echo-headers   200; body: the request line, the request headers, an empty
                  line, then the request body
  /conn-id        200; body: the number of the connection (1, 2, ...) in
                  accept order, to tell reused connections from fresh ones
  /slow/MS        200 "ok" after MS milliseconds
  /hang           reads the request, never answers (until the client leaves)
  /drip           headers (Content-Length 1 GB), then one byte per second
  /big            200 with a 100 MB body, streamed as fast as it is read
  /garbage        non-HTTP bytes, then close
  /close          reads the request, closes without answering (empty reply)
  anything else   404

--tls-cert/--tls-key serve HTTPS (the handshake runs on the connection's
thread). --ready-file is written once the socket listens. --no-accept listens
with a backlog of 1 and never accepts; it first fills that backlog with its
own connections, so the SYNs of any further client are dropped (a server
that hangs before accept). Nothing is printed.
"""

import argparse
import http.server
import itertools
import os
import select
import socket
import socketserver
import ssl
import threading
import time
import urllib.parse

BIG_BODY_BYTES = 100 * 1000 * 1000
DRIP_LENGTH = 1000 * 1000 * 1000


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        self.conn_id = next(self.server.conn_ids)
        if self.server.tls_context is not None:
            self.request = self.server.tls_context.wrap_socket(
                self.request, server_side=True)
        super().setup()

    def log_message(self, *args):
        pass

    def reply(self, status, body, content_type="text/plain"):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def wait_for_client_to_leave(self):
        self.close_connection = True
        try:
            while self.connection.recv(4096):
                pass
        except OSError:
            pass

    def handle_any(self):
        body = self.read_body()
        path = urllib.parse.urlsplit(self.path).path
        parts = path.split("/", 2)[1:]
        name = parts[0] if parts else ""
        arg = parts[1] if len(parts) > 1 else ""
        if name == "ok":
            self.reply(200, "ok")
        elif name == "status":
            self.reply(int(arg), "status " + arg)
        elif name == "body":
            self.reply(200, urllib.parse.unquote(arg))
        elif name == "echo-headers":
            lines = [self.requestline]
            lines += ["%s: %s" % (k, v) for k, v in self.headers.items()]
            self.reply(200, "\n".join(lines).encode() + b"\n\n" + body)
        elif name == "conn-id":
            self.reply(200, str(self.conn_id))
        elif name == "slow":
            time.sleep(int(arg) / 1000.0)
            self.reply(200, "ok")
        elif name == "hang":
            self.wait_for_client_to_leave()
        elif name == "drip":
            self.close_connection = True
            self.send_response(200)
            self.send_header("Content-Length", str(DRIP_LENGTH))
            self.end_headers()
            self.wfile.flush()
            for _ in range(DRIP_LENGTH):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(1)
        elif name == "big":
            self.close_connection = True
            self.send_response(200)
            self.send_header("Content-Length", str(BIG_BODY_BYTES))
            self.end_headers()
            chunk = b"x" * 65536
            for _ in range(BIG_BODY_BYTES // len(chunk)):
                self.wfile.write(chunk)
            self.wfile.write(b"x" * (BIG_BODY_BYTES % len(chunk)))
        elif name == "garbage":
            self.close_connection = True
            self.wfile.write(b"\x00\x01\x02 this is not HTTP \xff\xfe\r\n\r\n")
        elif name == "close":
            self.close_connection = True
        else:
            self.reply(404, "not found")

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any
    do_OPTIONS = handle_any


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def __init__(self, host, port, tls_context):
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.tls_context = tls_context
        self.conn_ids = itertools.count(1)
        super().__init__((host, port), Handler)

    def handle_error(self, request, client_address):
        pass  # clients that hang up mid-answer are expected here


def never_accept(host, port):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(1)
    fillers = []
    # Connect until one handshake does not complete: the accept queue is full
    # and the kernel drops SYNs from then on.
    while True:
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex((host, port))
        fillers.append(s)
        _, writable, _ = select.select([], [s], [], 0.5)
        if not writable or s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
            break
    return listener, fillers


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--ready-file")
    parser.add_argument("--no-accept", action="store_true")
    args = parser.parse_args()

    if args.no_accept:
        keep = never_accept(args.host, args.port)
    else:
        context = None
        if args.tls_cert:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(args.tls_cert, args.tls_key)
        keep = Server(args.host, args.port, context)
        threading.Thread(target=keep.serve_forever, daemon=True).start()
    if args.ready_file:
        tmp = args.ready_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("ready\n")
        os.rename(tmp, args.ready_file)
    while keep:
        time.sleep(3600)


if __name__ == "__main__":
    main()
