#!/usr/bin/env python3
"""A tiny authoritative DNS server for tests (python3 stdlib only): UDP,
and with --tcp also TCP on the same port.

Serves the zone `test.` (plus one reverse name) from a built-in table:

  svc.test.        A 127.0.0.2, AAAA 2001:db8::2   (TTL 60)
  multi.test.      A 127.0.0.3, A 127.0.0.4         (TTL 60)
  v6only.test.     AAAA ::1                         (TTL 60)
  short.test.      A 127.0.0.5                      (TTL 1)
  alias.test.      CNAME svc.test.                  (TTL 60)
  mail.test.       MX 10 mx1.test., MX 20 mx2.test.
  txt.test.        TXT "v=spf1 -all", TXT "hello " "world"
  _http._tcp.test. SRV 10 5 8080 svc.test.
  test.            NS ns1.test., NS ns2.test., SOA
  2.0.0.127.in-addr.arpa. PTR svc.test.
  zero.test.       A 127.0.0.8                      (TTL 0)
  tc.test.         A 127.0.1.1 ... A 127.0.1.40     (TTL 60; 600+ bytes)
  loop1.test.      CNAME loop2.test.                (TTL 60)
  loop2.test.      CNAME loop1.test.                (TTL 60)

Unknown names get NXDOMAIN (with the SOA, minimum 5), known names without
the asked type an empty NOERROR. CNAME chains inside the zone are followed
in the answer, each name once (a loop ends where it closes). servfail.test.
answers SERVFAIL, refused.test. REFUSED, and blackhole.test. is never
answered; with --mode silent nothing is. More records: --record "NAME TYPE
TTL VALUE".

A UDP answer larger than 512 bytes (the classic limit: the server ignores
EDNS) is sent truncated, with TC set and no records, so that a resolver
retries over TCP: with --tcp the same port takes TCP queries (two-byte
length prefix, several per connection) and answers them whole.

garbage.test. is answered over UDP with a bounded burst of junk: 64 random
bytes, a 5-byte datagram, a reply with the query's id but another
question, then a reply with the right id and question whose answer record
is malformed (a compression pointer out of the message, then too few
bytes). noise.test. gets only the first three, so no real answer ever
comes. Over TCP both get the malformed reply.

Every query received is appended to --log-file as "NAME TYPE" (UDP) or
"NAME TYPE tcp" (TCP) before it is answered, so tests can count what
reached the server and how; the file is created (empty) once the sockets
are bound, which tells tests the server is ready.
"""

import argparse
import os
import socket
import struct
import sys
import threading

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15,
         "TXT": 16, "AAAA": 28, "SRV": 33}
TYPE_NAMES = {v: k for k, v in TYPES.items()}

NOERROR, SERVFAIL, NXDOMAIN, REFUSED = 0, 2, 3, 5

BUILTIN = [
    "svc.test A 60 127.0.0.2",
    "svc.test AAAA 60 2001:db8::2",
    "multi.test A 60 127.0.0.3",
    "multi.test A 60 127.0.0.4",
    "v6only.test AAAA 60 ::1",
    "short.test A 1 127.0.0.5",
    "alias.test CNAME 60 svc.test",
    "mail.test MX 300 10 mx1.test",
    "mail.test MX 300 20 mx2.test",
    "txt.test TXT 300 v=spf1 -all",
    "txt.test TXT 300 hello |world",
    "_http._tcp.test SRV 300 10 5 8080 svc.test",
    "test NS 300 ns1.test",
    "test NS 300 ns2.test",
    "2.0.0.127.in-addr.arpa PTR 300 svc.test",
    "zero.test A 0 127.0.0.8",
    "loop1.test CNAME 60 loop2.test",
    "loop2.test CNAME 60 loop1.test",
] + [f"tc.test A 60 127.0.1.{i}" for i in range(1, 41)]

# Past this, a UDP answer is truncated (RFC 1035 without EDNS).
UDP_LIMIT = 512

SOA = ("test", 300, "ns1.test hostmaster.test 1 3600 600 86400 5")


def norm(name):
    return name.rstrip(".").lower()


def encode_name(name):
    out = b""
    for label in norm(name).split("."):
        if label:
            raw = label.encode("ascii")
            out += bytes([len(raw)]) + raw
    return out + b"\0"


def encode_rdata(rtype, value):
    if rtype == "A":
        return socket.inet_pton(socket.AF_INET, value)
    if rtype == "AAAA":
        return socket.inet_pton(socket.AF_INET6, value)
    if rtype in ("CNAME", "NS", "PTR"):
        return encode_name(value)
    if rtype == "MX":
        pref, host = value.split()
        return struct.pack(">H", int(pref)) + encode_name(host)
    if rtype == "SRV":
        prio, weight, port, target = value.split()
        return struct.pack(">HHH", int(prio), int(weight),
                           int(port)) + encode_name(target)
    if rtype == "TXT":
        # "|" separates the character-strings of one record.
        out = b""
        for part in value.split("|"):
            raw = part.encode("utf-8")
            out += bytes([len(raw)]) + raw
        return out
    if rtype == "SOA":
        mname, rname, *nums = value.split()
        return (encode_name(mname) + encode_name(rname) +
                struct.pack(">IIIII", *[int(n) for n in nums]))
    raise ValueError("unsupported type " + rtype)


def encode_rr(name, rtype, ttl, value):
    rdata = encode_rdata(rtype, value)
    return (encode_name(name) +
            struct.pack(">HHIH", TYPES[rtype], 1, ttl, len(rdata)) + rdata)


class Zone:
    def __init__(self, lines):
        self.records = {}  # name -> [(type, ttl, value)]
        for line in lines:
            name, rtype, ttl, value = line.split(" ", 3)
            self.records.setdefault(norm(name), []).append(
                (rtype.upper(), int(ttl), value))

    def answer(self, qname, qtype):
        """(rcode, answer RRs, authority RRs), or None to stay silent."""
        if qname == "blackhole.test":
            return None
        if qname == "servfail.test":
            return SERVFAIL, [], []
        if qname == "refused.test":
            return REFUSED, [], []
        answers = []
        name = qname
        seen = set()
        for _ in range(8):  # follow CNAME chains inside the zone
            recs = self.records.get(name, [])
            cname = [r for r in recs if r[0] == "CNAME"]
            if cname and qtype != "CNAME":
                if name in seen:  # a loop: each name answers once
                    break
                seen.add(name)
                rtype, ttl, target = cname[0]
                answers.append(encode_rr(name, rtype, ttl, target))
                name = norm(target)
                continue
            answers += [encode_rr(name, t, ttl, v) for t, ttl, v in recs
                        if t == qtype]
            break
        if answers:
            return NOERROR, answers, []
        soa = [encode_rr(SOA[0], "SOA", SOA[1], SOA[2])]
        if qname not in self.records:
            return NXDOMAIN, [], soa
        return NOERROR, [], soa


def parse_question(data):
    """(id, flags, qname, qtype code, end of question) of a query."""
    qid, flags, qdcount = struct.unpack(">HHH", data[:6])
    if qdcount != 1:
        raise ValueError("expected one question")
    labels = []
    off = 12
    while data[off] != 0:
        length = data[off]
        labels.append(data[off + 1:off + 1 + length].decode("ascii"))
        off += 1 + length
    off += 1
    qtype, _qclass = struct.unpack(">HH", data[off:off + 4])
    return qid, flags, norm(".".join(labels)), qtype, off + 4


def reply(qid, flags, rcode, question, answers=(), authority=(), tc=False):
    # QR, AA, the query's opcode and RD, then TC and the rcode.
    out_flags = (0x8000 | 0x0400 | (flags & 0x7900) | (0x0200 if tc else 0) |
                 rcode)
    header = struct.pack(">HHHHHH", qid, out_flags, 1, len(answers),
                         len(authority), 0)
    return header + question + b"".join(list(answers) + list(authority))


def malformed(qid, flags, question):
    """A reply to the query whose one answer record cannot be read."""
    header = struct.pack(">HHHHHH", qid, 0x8000 | 0x0400 | (flags & 0x7900),
                         1, 1, 0, 0)
    return header + question + b"\xc0\xff" + os.urandom(5)


def junk(qid, flags, question):
    """Datagrams no resolver should take for the answer: random bytes, too
    short for a header, and the query's id with another question."""
    other = reply(qid, flags, NOERROR, encode_name("other.test") +
                  question[-4:])
    return [os.urandom(64), os.urandom(5), other]


def respond(zone, data, tcp):
    """The messages answering one query (maybe none), and what to log."""
    try:
        qid, flags, qname, qtype_code, qend = parse_question(data)
    except (ValueError, IndexError, struct.error, UnicodeDecodeError):
        return [], None
    qtype = TYPE_NAMES.get(qtype_code, str(qtype_code))
    question = data[12:qend]
    if qname in ("garbage.test", "noise.test"):
        out = [] if tcp else junk(qid, flags, question)
        if tcp or qname == "garbage.test":
            out.append(malformed(qid, flags, question))
        return out, (qname, qtype)
    result = zone.answer(qname, qtype)
    if result is None:
        return [], (qname, qtype)
    rcode, answers, authority = result
    out = reply(qid, flags, rcode, question, answers, authority)
    if not tcp and len(out) > UDP_LIMIT:
        out = reply(qid, flags, rcode, question, tc=True)
    return [out], (qname, qtype)


class Server:
    def __init__(self, zone, mode, log):
        self.zone = zone
        self.mode = mode
        self.log = log
        self.lock = threading.Lock()

    def handle(self, data, tcp):
        out, asked = respond(self.zone, data, tcp)
        if asked is None:
            return []
        line = f"{asked[0]} {asked[1]}" + (" tcp" if tcp else "")
        with self.lock:
            print(f"query {line}", flush=True)
            if self.log:
                self.log.write(line + "\n")
        return [] if self.mode == "silent" else out

    def serve_udp(self, sock):
        while True:
            data, peer = sock.recvfrom(4096)
            for message in self.handle(data, tcp=False):
                sock.sendto(message, peer)

    def serve_tcp_client(self, conn):
        with conn:
            try:
                while True:
                    head = recv_exactly(conn, 2)
                    if head is None:
                        return
                    data = recv_exactly(conn, struct.unpack(">H", head)[0])
                    if data is None:
                        return
                    for message in self.handle(data, tcp=True):
                        conn.sendall(struct.pack(">H", len(message)) +
                                     message)
            except OSError:
                return

    def serve_tcp(self, listener):
        while True:
            conn, _ = listener.accept()
            threading.Thread(target=self.serve_tcp_client, args=(conn,),
                             daemon=True).start()


def recv_exactly(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", choices=["normal", "silent"],
                        default="normal")
    parser.add_argument("--record", action="append", default=[])
    parser.add_argument("--tcp", action="store_true",
                        help="also answer over TCP on the same port")
    parser.add_argument("--log-file")
    args = parser.parse_args()

    zone = Zone(BUILTIN + args.record)
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind((args.host, args.port))
    listener = None
    if args.tcp:
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((args.host, args.port))
        listener.listen(16)
    log = open(args.log_file, "a", buffering=1) if args.log_file else None
    server = Server(zone, args.mode, log)
    print(f"dns_server listening on {args.host}:{args.port}" +
          (" (udp, tcp)" if listener else ""), flush=True)
    if listener:
        threading.Thread(target=server.serve_tcp, args=(listener,),
                         daemon=True).start()
    server.serve_udp(sock)


if __name__ == "__main__":
    sys.exit(main())
