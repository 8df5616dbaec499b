#!/usr/bin/env python3
"""Writes a watchd.yaml with N services of one check each, for benchmarks.

Usage: gen_config.py N [--kind http|tcp] > file.yaml
"""
import argparse
import sys


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, help="number of services (one check each)")
    parser.add_argument("--kind", choices=["http", "tcp"], default="http")
    args = parser.parse_args()
    if args.n < 0:
        parser.error("N must be >= 0")

    out = [
        "daemon:",
        "  metrics_listen: 127.0.0.1:9109",
        "  log_level: info",
        "defaults:",
        "  interval: 10s",
        "  timeout: 2s",
        "  jitter: 10%",
        "services:",
    ]
    width = len(str(args.n))
    for i in range(args.n):
        out.append(f"  svc{i:0{width}d}:")
        out.append("    checks:")
        if args.kind == "http":
            out.append("      health:")
            out.append("        http: {url: http://127.0.0.1:8080/}")
        else:
            out.append("      port:")
            out.append("        tcp: {host: 127.0.0.1, port: 8080}")
        out.append("        interval: 5s")
    if args.n == 0:
        out[-1] = "services: {}"
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
