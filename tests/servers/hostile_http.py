#!/usr/bin/env python3
"""A hostile HTTP server for watchd's tests (stdlib only): raw bytes that a
well-behaved server never sends, to see what each of watchd's HTTP clients
makes of them.

Usage: hostile_http.py [--port N] [--host 127.0.0.1] [--ready-file PATH]

--port 0 (the default) binds an ephemeral port. Once the socket listens, the
port is printed ("hostile_http listening on HOST:PORT") and, with
--ready-file, written to that file (atomically, as the port number and a
newline).

Each connection reads one request and answers by its path, /mode/NAME (see
MODES below for the names; anything else is a 404). Every loop is bounded in
count and time, and ends as soon as the client leaves.
"""

import argparse
import gzip
import os
import socket
import struct
import threading
import time

# Longest a streaming mode keeps writing, whatever the client does.
STREAM_SECONDS = 60
GIB = 1 << 30


def head(status_line, headers):
    text = status_line + "\r\n" + "".join(h + "\r\n" for h in headers)
    return (text + "\r\n").encode("latin-1")


def stream(conn, first, piece, total):
    """Sends `first`, then `piece` until `total` bytes of pieces were sent,
    the client leaves or STREAM_SECONDS pass."""
    conn.sendall(first)
    sent = 0
    deadline = time.monotonic() + STREAM_SECONDS
    while sent < total and time.monotonic() < deadline:
        n = min(len(piece), total - sent)
        conn.sendall(piece[:n])
        sent += n


def drip(conn, data, seconds_per_byte=1.0):
    """One byte of data per second (bounded by the data's length)."""
    for i in range(len(data)):
        conn.sendall(data[i:i + 1])
        time.sleep(seconds_per_byte)


def reset(conn):
    """Closes with an RST instead of a FIN (SO_LINGER 0)."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                    struct.pack("ii", 1, 0))
    conn.close()


OK_200 = head("HTTP/1.1 200 OK", ["Content-Length: 2"]) + b"ok"


def chunked(headers, body, coding="chunked"):
    """A 200 with `body` as one chunk, sent with Transfer-Encoding
    `coding`."""
    return (head("HTTP/1.1 200 OK",
                 headers + ["Transfer-Encoding: " + coding]) +
            b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n")


def status(line):
    return lambda conn: conn.sendall(
        head(line, ["Content-Length: 2"]) + b"ok")


def send(data):
    return lambda conn: conn.sendall(data)


def mode_endless_chunked(conn):
    piece = b"4000\r\n" + b"x" * 0x4000 + b"\r\n"
    stream(conn, head("HTTP/1.1 200 OK", ["Transfer-Encoding: chunked"]),
           piece * 4, 64 * GIB)


def mode_body_1g(conn):
    stream(conn, head("HTTP/1.1 200 OK", ["Content-Length: %d" % GIB]),
           b"x" * 65536, GIB)


def mode_drip_body(conn):
    conn.sendall(head("HTTP/1.1 200 OK", ["Content-Length: 30"]))
    drip(conn, b"x" * 30)


def mode_reset_mid_body(conn):
    conn.sendall(head("HTTP/1.1 200 OK", ["Content-Length: 1000"]) +
                 b"x" * 100)
    time.sleep(0.2)  # let the client read what was sent before the RST
    reset(conn)


MODES = {
    # Head size: one 600 KB header line; 100,000 headers (~1.4 MB).
    "headers-600k": send(head("HTTP/1.1 200 OK", [
        "X-Big: " + "a" * (600 * 1024), "Content-Length: 2"]) + b"ok"),
    "headers-100k": send(head("HTTP/1.1 200 OK", [
        "X-H%d: v" % i for i in range(100000)] + ["Content-Length: 2"]) +
        b"ok"),
    # Framing: absurd and conflicting lengths.
    "length-huge": send(head("HTTP/1.1 200 OK", [
        "Content-Length: 99999999999999999999"]) + b"ok"),
    "length-negative": send(head("HTTP/1.1 200 OK", [
        "Content-Length: -1"]) + b"ok"),
    "length-conflict": send(head("HTTP/1.1 200 OK", [
        "Content-Length: 2", "Content-Length: 5"]) + b"okxyz"),
    "length-repeated": send(head("HTTP/1.1 200 OK", [
        "Content-Length: 2", "Content-Length: 2"]) + b"ok"),
    "length-short": send(head("HTTP/1.1 200 OK", [
        "Content-Length: 100"]) + b"ok"),
    "nul-header-name": send(head("HTTP/1.1 200 OK", [
        "X-Bad\0Name: v", "Content-Length: 2"]) + b"ok"),
    "nul-header-value": send(head("HTTP/1.1 200 OK", [
        "X-Bad: v\0v", "Content-Length: 2"]) + b"ok"),
    "header-no-colon": send(head("HTTP/1.1 200 OK", [
        "NoColonHere", "Content-Length: 2"]) + b"ok"),
    "header-empty-name": send(head("HTTP/1.1 200 OK", [
        ": v", "Content-Length: 2"]) + b"ok"),
    "header-folded": send(head("HTTP/1.1 200 OK", [
        "X-A: a", "  folded", "Content-Length: 2"]) + b"ok"),
    "te-gzip-chunked": send(
        chunked([], gzip.compress(b"ok"), coding="gzip, chunked")),
    "te-gzip": send(head("HTTP/1.1 200 OK", [
        "Transfer-Encoding: gzip"]) + gzip.compress(b"ok")),
    "te-chunked-and-length": send(chunked(["Content-Length: 100"], b"ok")),
    "chunk-extension-200k": send(
        head("HTTP/1.1 200 OK", ["Transfer-Encoding: chunked"]) + b"2;" +
        b"e" * (200 * 1024) + b"\r\nok\r\n0\r\n\r\n"),
    "chunk-size-junk": send(
        head("HTTP/1.1 200 OK", ["Transfer-Encoding: chunked"]) +
        b"2 junk\r\nok\r\n0\r\n\r\n"),
    "chunk-size-invalid": send(
        head("HTTP/1.1 200 OK", ["Transfer-Encoding: chunked"]) +
        b"zz\r\nok\r\n0\r\n\r\n"),
    "chunk-size-huge": send(
        head("HTTP/1.1 200 OK", ["Transfer-Encoding: chunked"]) +
        b"fffffffffffffffffff\r\nok\r\n0\r\n\r\n"),
    "trailer-4000": send(
        head("HTTP/1.1 200 OK", ["Transfer-Encoding: chunked"]) +
        b"2\r\nok\r\n0\r\nX-T: " + b"t" * 4000 + b"\r\n\r\n"),
    "trailer-10k": send(
        head("HTTP/1.1 200 OK", ["Transfer-Encoding: chunked"]) +
        b"2\r\nok\r\n0\r\nX-T: " + b"t" * (10 * 1024) + b"\r\n\r\n"),
    "chunked-cut": send(
        head("HTTP/1.1 200 OK", ["Transfer-Encoding: chunked"]) +
        b"2\r\nok\r\n"),
    "chunked-endless": mode_endless_chunked,
    "body-1g": mode_body_1g,
    # Time: one byte per second, of the status line or of the body.
    "drip-head": lambda conn: drip(conn, OK_200),
    "drip-body": mode_drip_body,
    # The connection itself.
    "reset-mid-body": mode_reset_mid_body,
    "close-before-status": send(b""),
    "close-mid-status": send(b"HTTP/1.1 20"),
    "close-mid-headers": send(b"HTTP/1.1 200 OK\r\nContent-Le"),
    "close-after-interim": send(head("HTTP/1.1 100 Continue", [])),
    "garbage": send(b"\x00\x01\x02 this is not HTTP \xff\xfe\r\n\r\n"),
    "garbage-status": send(head("HTTP/1.1 abc Weird", [
        "Content-Length: 2"]) + b"ok"),
    "http10-until-close": send(b"HTTP/1.0 200 OK\r\n\r\nok"),
    "interim-1xx": send(
        head("HTTP/1.1 100 Continue", []) +
        head("HTTP/1.1 103 Early Hints", ["Link: </a.css>; rel=preload"]) +
        OK_200),
    "lf-only": send(b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok"),
    # Status codes at and past the edges of three digits.
    "status-999": status("HTTP/1.1 999 Weird"),
    "status-600": status("HTTP/1.1 600 Weird"),
    "status-599": status("HTTP/1.1 599 Weird"),
    "status-000": status("HTTP/1.1 000 Zero"),
    "status-099": status("HTTP/1.1 099 Low"),
    "status-2digit": status("HTTP/1.1 20 OK"),
    "status-4digit": status("HTTP/1.1 2000 OK"),
    "status-no-reason": status("HTTP/1.1 200"),
    "status-http2": status("HTTP/2 200"),
    "status-http19": status("HTTP/1.9 200 OK"),
}


def read_request(conn):
    """The request head (bounded), or None when the client left first."""
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        piece = conn.recv(4096)
        if not piece:
            return None
        data += piece
    return data


def serve(conn):
    try:
        request = read_request(conn)
        if request is None:
            return
        parts = request.split(b" ", 2)
        path = parts[1].decode("latin-1") if len(parts) > 1 else ""
        name = path[len("/mode/"):] if path.startswith("/mode/") else ""
        action = MODES.get(name)
        if action is None:
            conn.sendall(head("HTTP/1.1 404 Not Found",
                              ["Content-Length: 9"]) + b"not found")
        else:
            action(conn)
        # A FIN after the answer: until-close bodies end here.
        conn.shutdown(socket.SHUT_WR)
        # Wait (bounded) for the client to close, so that it reads all.
        conn.settimeout(5)
        while conn.recv(65536):
            pass
    except OSError:
        pass  # clients that leave mid-answer are the point here
    finally:
        try:
            conn.close()
        except OSError:
            pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ready-file")
    args = parser.parse_args()

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((args.host, args.port))
    listener.listen(128)
    port = listener.getsockname()[1]
    print("hostile_http listening on %s:%d" % (args.host, port), flush=True)
    if args.ready_file:
        tmp = args.ready_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.ready_file)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
