#!/usr/bin/env python3
"""A small TCP server for tcp probe tests (python3 stdlib only).

Modes, per connection:
  reply    read up to the first "\\n", send --reply ("{n}" becomes the number
           of bytes read), close
  banner   send --banner at once, then wait for the client to close
  flood    send bytes without end ("z"), never a match
  hold     read and discard, never send, never close

Backslash escapes in --reply/--banner are decoded ("\\r\\n"). The file
--ready-file is created once the socket listens.
"""

import argparse
import socket
import socketserver
import sys


def decode(text):
    return text.encode("latin-1").decode("unicode_escape").encode("latin-1")


def handle(conn, args):
    if args.mode == "reply":
        data = bytearray()
        while True:
            chunk = conn.recv(65536)
            data += chunk
            if not chunk or b"\n" in chunk:
                break
        conn.sendall(decode(args.reply).replace(b"{n}",
                                                str(len(data)).encode()))
    elif args.mode == "banner":
        conn.sendall(decode(args.banner))
        while conn.recv(65536):
            pass
    elif args.mode == "flood":
        block = b"z" * 65536
        while True:
            conn.sendall(block)
    elif args.mode == "hold":
        while conn.recv(65536):
            pass


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        try:
            handle(self.request, self.server.args)
        except OSError:
            pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", required=True,
                        choices=["reply", "banner", "flood", "hold"])
    parser.add_argument("--reply", default="")
    parser.add_argument("--banner", default="")
    parser.add_argument("--ready-file", required=True)
    args = parser.parse_args()
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET

    class Server(socketserver.ThreadingTCPServer):
        address_family = family
        allow_reuse_address = True
        daemon_threads = True

    server = Server((args.host, args.port), Handler)
    server.args = args
    open(args.ready_file, "w").close()
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
