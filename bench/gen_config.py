#!/usr/bin/env python3
"""Writes a watchd.yaml with N services of one check each, for benchmarks.

Usage: gen_config.py N [--kind http|tcp] [options] > file.yaml

Without options the file is the one bench/config_bench.cc loads: checks of
http://127.0.0.1:8080/ every 5s. The options point the checks at a real
server and set their timing, for the load benchmarks (bench/*.sh):

  gen_config.py 10000 --port 8081 --interval 1s --timeout 900ms \\
      --blackhole-count 100 --blackhole-port 9999 --blackhole-interval 5s \\
      --blackhole-timeout 5s --metrics-listen 127.0.0.1:9200 --log-level warn

The first --blackhole-count services (named hole*) go to --blackhole-port
with their own interval and timeout; the others (svc*) go to --port.
"""
import argparse
import sys


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:]))
    parser.add_argument("n", type=int, help="number of services (one check each)")
    parser.add_argument("--kind", choices=["http", "tcp"], default="http")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--path", default="/", help="URL path of http checks")
    parser.add_argument("--interval", default="5s", help="each check's interval")
    parser.add_argument("--timeout", default=None,
                        help="each check's timeout (default: defaults' 2s, "
                        "capped at the interval)")
    parser.add_argument("--jitter", default="10%")
    parser.add_argument("--default-timeout", default="2s",
                        help="timeout in the defaults: section")
    parser.add_argument("--default-interval", default="10s",
                        help="interval in the defaults: section")
    parser.add_argument("--metrics-listen", default="127.0.0.1:9109")
    parser.add_argument("--log-level", default="info",
                        choices=["trace", "debug", "info", "warn", "error"])
    parser.add_argument("--blackhole-count", type=int, default=0,
                        help="how many of the N checks go to --blackhole-port")
    parser.add_argument("--blackhole-port", type=int, default=0)
    parser.add_argument("--blackhole-interval", default="5s")
    parser.add_argument("--blackhole-timeout", default="5s")
    parser.add_argument("--control-socket", default=None,
                        help="daemon.control_socket (default: not written, "
                        "so watchd's own default)")
    parser.add_argument("--state-file", default=None,
                        help="daemon.state_file (default: not written, so "
                        "watchd's own default)")
    args = parser.parse_args()
    if args.n < 0:
        parser.error("N must be >= 0")
    if not 0 <= args.blackhole_count <= args.n:
        parser.error("--blackhole-count must be between 0 and N")
    if args.blackhole_count and not args.blackhole_port:
        parser.error("--blackhole-count needs --blackhole-port")

    out = [
        "daemon:",
        f"  metrics_listen: {args.metrics_listen}",
        f"  log_level: {args.log_level}",
    ]
    if args.control_socket is not None:
        out.append(f"  control_socket: \"{args.control_socket}\"")
    if args.state_file is not None:
        out.append(f"  state_file: \"{args.state_file}\"")
    out += [
        "defaults:",
        f"  interval: {args.default_interval}",
        f"  timeout: {args.default_timeout}",
        f"  jitter: {args.jitter}",
        "services:",
    ]
    width = len(str(args.n))
    for i in range(args.n):
        hole = i < args.blackhole_count
        port = args.blackhole_port if hole else args.port
        name = "hole" if hole else "svc"
        out.append(f"  {name}{i:0{width}d}:")
        out.append("    checks:")
        if args.kind == "http":
            out.append("      health:")
            out.append(f"        http: {{url: http://{args.host}:{port}{args.path}}}")
        else:
            out.append("      port:")
            out.append(f"        tcp: {{host: {args.host}, port: {port}}}")
        if hole:
            out.append(f"        interval: {args.blackhole_interval}")
            out.append(f"        timeout: {args.blackhole_timeout}")
        else:
            out.append(f"        interval: {args.interval}")
            if args.timeout:
                out.append(f"        timeout: {args.timeout}")
    if args.n == 0:
        out[-1] = "services: {}"
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
