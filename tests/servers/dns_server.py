#!/usr/bin/env python3
"""A tiny authoritative UDP DNS server for tests (python3 stdlib only).

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

Unknown names get NXDOMAIN (with the SOA, minimum 5), known names without
the asked type an empty NOERROR. servfail.test. answers SERVFAIL,
refused.test. REFUSED, and blackhole.test. is never answered; with
--mode silent nothing is. More records: --record "NAME TYPE TTL VALUE".

Every query received is appended to --log-file as "NAME TYPE" before it is
answered, so tests can count what reached the server; the file is created
(empty) once the socket is bound, which tells tests the server is ready.
"""

import argparse
import socket
import struct
import sys

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
]

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
        for _ in range(8):  # follow CNAME chains inside the zone
            recs = self.records.get(name, [])
            cname = [r for r in recs if r[0] == "CNAME"]
            if cname and qtype != "CNAME":
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", choices=["normal", "silent"],
                        default="normal")
    parser.add_argument("--record", action="append", default=[])
    parser.add_argument("--log-file")
    args = parser.parse_args()

    zone = Zone(BUILTIN + args.record)
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind((args.host, args.port))
    log = open(args.log_file, "a", buffering=1) if args.log_file else None
    print(f"dns_server listening on {args.host}:{args.port}", flush=True)

    while True:
        data, peer = sock.recvfrom(4096)
        try:
            qid, flags, qname, qtype_code, qend = parse_question(data)
        except (ValueError, IndexError, struct.error, UnicodeDecodeError):
            continue
        qtype = TYPE_NAMES.get(qtype_code, str(qtype_code))
        print(f"query {qname} {qtype}", flush=True)
        if log:
            log.write(f"{qname} {qtype}\n")
        if args.mode == "silent":
            continue
        result = zone.answer(qname, qtype)
        if result is None:
            continue
        rcode, answers, authority = result
        # QR, AA, the query's opcode and RD, then the rcode.
        out_flags = 0x8000 | 0x0400 | (flags & 0x7900) | rcode
        header = struct.pack(">HHHHHH", qid, out_flags, 1, len(answers),
                             len(authority), 0)
        sock.sendto(header + data[12:qend] + b"".join(answers + authority),
                    peer)


if __name__ == "__main__":
    sys.exit(main())
