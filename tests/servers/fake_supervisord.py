#!/usr/bin/env python3
"""A misbehaving supervisord XML-RPC endpoint for watchd's tests (stdlib only).

Usage:
  fake_supervisord.py (--unix PATH | --port N) --mode MODE
                      [--ready-file PATH] [--events PATH]

Modes, for every request:
  hang        reads the request, never answers (until the client leaves)
  garbage     HTTP 200 whose body is not XML-RPC
  not-http    bytes that are not HTTP, then close
  huge        HTTP 200 with a 2 MiB body
  fault:CODE  an XML-RPC fault CODE with faultString "FAULT: app"

--ready-file is written once the socket listens. --events gets a line
"request" when a request has been read and "closed" when its client closed
the connection. Nothing is printed.
"""

import argparse
import os
import socket
import socketserver
import threading

EVENTS_LOCK = threading.Lock()


class Handler(socketserver.BaseRequestHandler):
    def event(self, what):
        if self.server.events:
            with EVENTS_LOCK, open(self.server.events, "a") as f:
                f.write(what + "\n")

    def read_request(self):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.request.recv(65536)
            if not chunk:
                return False
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(body) < length:
            chunk = self.request.recv(65536)
            if not chunk:
                return False
            body += chunk
        return True

    def reply(self, body, content_type=b"text/xml"):
        self.request.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: " + content_type +
            b"\r\nContent-Length: " + str(len(body)).encode() +
            b"\r\nConnection: close\r\n\r\n" + body)

    def handle(self):
        if not self.read_request():
            return
        self.event("request")
        mode = self.server.mode
        if mode == "hang":
            while self.request.recv(65536):
                pass
            self.event("closed")
        elif mode == "garbage":
            self.reply(b"this is not xml-rpc", b"text/plain")
        elif mode == "not-http":
            self.request.sendall(b"\x00\x01\x02 no http here\r\n\r\n")
        elif mode == "huge":
            self.reply(b"<" * (2 * 1024 * 1024))
        elif mode.startswith("fault:"):
            code = int(mode.split(":", 1)[1])
            self.reply((
                "<?xml version='1.0'?>\n<methodResponse><fault><value><struct>"
                "<member><name>faultCode</name><value><int>%d</int></value>"
                "</member><member><name>faultString</name><value>"
                "<string>FAULT: app</string></value></member>"
                "</struct></value></fault></methodResponse>\n" % code).encode())


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class TcpServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    parser = argparse.ArgumentParser()
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--unix")
    where.add_argument("--port", type=int)
    parser.add_argument("--mode", required=True)
    parser.add_argument("--ready-file")
    parser.add_argument("--events")
    args = parser.parse_args()
    if args.unix:
        server = UnixServer(args.unix, Handler)
    else:
        server = TcpServer(("127.0.0.1", args.port), Handler)
    server.mode = args.mode
    server.events = args.events
    if args.ready_file:
        tmp = args.ready_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("ready\n")
        os.rename(tmp, args.ready_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
