#!/usr/bin/env python3
"""Writes a Monit control file equivalent to gen_config.py's: N hosts, each
with one HTTP test, for the Monit comparisons of the load benchmarks.

Usage: gen_monitrc.py N --port P --dir DIR [--daemon 1]
                      [--httpd-port Q | --httpd-socket PATH] > monitrc

--httpd-port/--httpd-socket turn on Monit's HTTP interface (on 127.0.0.1,
allowing 127.0.0.1 only; or on a unix socket, `allow localhost`), which
`monit summary` and `monit status` talk to.

Monit refuses a control file that others can read: chmod 0600 it. DIR holds
Monit's log, id, state and pid files.
"""
import argparse
import sys


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:]))
    parser.add_argument("n", type=int, help="number of hosts (one test each)")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--dir", required=True,
                        help="directory for Monit's own files")
    parser.add_argument("--daemon", type=int, default=1,
                        help="seconds between Monit's cycles (default 1)")
    httpd = parser.add_mutually_exclusive_group()
    httpd.add_argument("--httpd-port", type=int, default=0,
                       help="`set httpd port Q` on 127.0.0.1 (default: "
                       "no httpd)")
    httpd.add_argument("--httpd-socket", default=None,
                       help="`set httpd unixsocket PATH`")
    args = parser.parse_args()
    if args.n < 0:
        parser.error("N must be >= 0")

    d = args.dir.rstrip("/")
    out = [
        f"set daemon {args.daemon}",
        f"set log {d}/monit.log",
        f"set idfile {d}/monit.id",
        f"set statefile {d}/monit.state",
        f"set pidfile {d}/monit.pid",
    ]
    if args.httpd_port:
        out += [f"set httpd port {args.httpd_port}",
                "  use address 127.0.0.1",
                "  allow 127.0.0.1"]
    elif args.httpd_socket:
        # Without an `allow`, Monit starts no httpd at all.
        out += [f"set httpd unixsocket {args.httpd_socket}",
                "  allow localhost"]
    width = len(str(args.n))
    for i in range(args.n):
        out.append(f"check host h{i:0{width}d} with address 127.0.0.1")
        out.append(f"  if failed port {args.port} protocol http then alert")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
