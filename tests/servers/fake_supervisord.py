#!/usr/bin/env python3
"""A misbehaving supervisord XML-RPC endpoint for watchd's tests (stdlib only).

Usage:
  fake_supervisord.py (--unix PATH | --port N) --mode MODE
                      [--ready-file PATH] [--events PATH] [--calls PATH]

Modes, for every request:
  hang        reads the request, never answers (until the client leaves)
  garbage     HTTP 200 whose body is not XML-RPC
  not-http    bytes that are not HTTP, then close
  huge        HTTP 200 with a 2 MiB body
  fault:CODE  an XML-RPC fault CODE with faultString "FAULT: app"
  info:NAME=PID[:STATE[:DESCRIPTION]],...
              supervisord's answers to getProcessInfo (alone or in a
              system.multicall) for these programs: RUNNING with that pid,
              STOPPED when it is 0, or STATE; FATAL and BACKOFF carry the
              spawnerr "Exited too quickly (process log may have details)",
              and that as their description unless one is given; a
              BAD_NAME fault for any other name. startProcess of one of
              them answers True.

--ready-file is written once the socket listens. --events gets a line
"request" when a request has been read and "closed" when its client closed
the connection. --calls gets a line per request: the method, then for a
system.multicall each call's method and parameters, space-separated
("system.multicall supervisor.getProcessInfo web supervisor.getProcessInfo
db"). Nothing is printed.
"""

import argparse
import os
import socket
import socketserver
import threading
import xmlrpc.client

EVENTS_LOCK = threading.Lock()
BAD_NAME = 10
# supervisor.states.ProcessStates
STATES = {"STOPPED": 0, "STARTING": 10, "RUNNING": 20, "BACKOFF": 30,
          "STOPPING": 40, "EXITED": 100, "FATAL": 200, "UNKNOWN": 1000}


class Handler(socketserver.BaseRequestHandler):
    def event(self, what):
        if self.server.events:
            with EVENTS_LOCK, open(self.server.events, "a") as f:
                f.write(what + "\n")

    def log_call(self, method, params):
        if not self.server.calls:
            return
        words = [method]
        if method == "system.multicall":
            for call in params[0]:
                words.append(call["methodName"])
                words += [str(p) for p in call["params"]]
        else:
            words += [str(p) for p in params]
        with EVENTS_LOCK, open(self.server.calls, "a") as f:
            f.write(" ".join(words) + "\n")

    def process_info(self, method, params):
        """getProcessInfo's value, or a fault struct."""
        name = params[0] if params else ""
        if method != "supervisor.getProcessInfo" or \
                name not in self.server.programs:
            return {"faultCode": BAD_NAME, "faultString": "BAD_NAME: " + name}
        pid, state, description = self.server.programs[name]
        state = state or ("RUNNING" if pid else "STOPPED")
        spawnerr = ""
        if state in ("FATAL", "BACKOFF"):
            spawnerr = "Exited too quickly (process log may have details)"
        if description is None:
            description = spawnerr or "pid %d" % pid
        return {"name": name, "group": name, "pid": pid,
                "statename": state, "state": STATES.get(state, 0),
                "spawnerr": spawnerr, "description": description}

    def answer_info(self, body):
        params, method = xmlrpc.client.loads(body)
        self.log_call(method, params)
        if method == "system.multicall":
            value = [self.process_info(c["methodName"], c["params"])
                     for c in params[0]]
        elif method == "supervisor.startProcess" and params and \
                params[0] in self.server.programs:
            value = True
        else:
            value = self.process_info(method, params)
            if "faultCode" in value:
                self.reply(xmlrpc.client.dumps(xmlrpc.client.Fault(
                    value["faultCode"], value["faultString"])).encode())
                return
        self.reply(xmlrpc.client.dumps((value,), methodresponse=True).encode())

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
        return body

    def reply(self, body, content_type=b"text/xml"):
        self.request.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: " + content_type +
            b"\r\nContent-Length: " + str(len(body)).encode() +
            b"\r\nConnection: close\r\n\r\n" + body)

    def handle(self):
        body = self.read_request()
        if body is False:
            return
        self.event("request")
        mode = self.server.mode
        if mode.startswith("info:"):
            self.answer_info(body)
        elif mode == "hang":
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
    parser.add_argument("--calls")
    args = parser.parse_args()
    if args.unix:
        server = UnixServer(args.unix, Handler)
    else:
        server = TcpServer(("127.0.0.1", args.port), Handler)
    server.mode = args.mode
    server.events = args.events
    server.calls = args.calls
    server.programs = {}
    if args.mode.startswith("info:"):
        for item in args.mode[len("info:"):].split(","):
            if item:
                name, _, rest = item.partition("=")
                parts = rest.split(":", 2)
                state = parts[1] if len(parts) > 1 else ""
                description = parts[2] if len(parts) > 2 else None
                server.programs[name] = (int(parts[0]), state, description)
    if args.ready_file:
        tmp = args.ready_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("ready\n")
        os.rename(tmp, args.ready_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
