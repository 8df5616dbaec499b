#!/usr/bin/env python3
"""CPU of process supervision (issue 3): 1,000 services, each with a
`process` and a `memory` check at 1s, cost <= 10% of one core; run through
bench/supervision_cpu.sh.

The script starts --sleeps (10) long-running `sleep` processes, then writes
one pidfile for each (after it started, so no pidfile is older than its
process); the services' pidfiles point at them in turn. No supervisor: the
pid comes from the pidfile, which watchd reads on every run of either check.
After --warmup seconds, watchd's utime+stime (/proc/PID/stat, all threads)
over --duration seconds is reported as % of one core, with the probe rate
and failures from /metrics.
"""
import argparse
import os
import sys
import time

import benchlib as b


def config(args, session, pidfiles, metrics_port):
    lines = [
        "daemon:",
        f"  metrics_listen: 127.0.0.1:{metrics_port}",
        "  log_level: warn",
        "defaults:",
        f"  interval: {args.interval}",
        f"  jitter: {args.jitter}",
        "services:",
    ]
    width = len(str(args.services))
    for i in range(args.services):
        lines += [
            f"  svc{i:0{width}d}:",
            f"    pidfile: {pidfiles[i % len(pidfiles)]}",
            "    checks:",
            "      alive: {process: {}}",
            f"      mem: {{memory: {{rss_max: {args.rss_max}}}}}",
        ]
    return session.write("watchd.yaml", "\n".join(lines) + "\n")


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[1:]))
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--sleeps", type=int, default=10,
                        help="sleep processes the pidfiles name (default 10)")
    parser.add_argument("--interval", default="1s")
    parser.add_argument("--jitter", default="10%")
    parser.add_argument("--rss-max", default="1GiB")
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=10)
    parser.add_argument("--target", type=float, default=10,
                        help="CPU target, %% of a core (default 10)")
    b.add_common_args(parser)
    args = parser.parse_args()
    if args.services < 1 or args.sleeps < 1:
        parser.error("--services and --sleeps must be >= 1")

    binary = b.watchd_binary(args.watchd)
    b.raise_nofile(65536)
    b.wait_quiet(args.quiet_load, args.quiet_wait)
    with b.Session("supervision-cpu", keep=args.keep) as session:
        sleeps = [session.spawn(["sleep", "100000"], f"sleep{i}.out")
                  for i in range(args.sleeps)]
        # Process start times are in clock ticks; a pidfile written in the
        # same tick could look older than its process.
        time.sleep(0.1)
        pidfiles = [session.write(f"sleep{i}.pid", f"{p.pid}\n")
                    for i, p in enumerate(sleeps)]
        metrics_port = b.free_port()
        path = config(args, session, pidfiles, metrics_port)
        watchd = b.Watchd(session, binary, path, metrics_port)
        b.log(f"warm-up {args.warmup:g}s")
        b.sleep_while_alive(args.warmup, [watchd.proc, *sleeps])
        b.log(f"measuring {args.duration:g}s (load {b.loadavg()})")
        window = b.measure_watchd(watchd, args.duration, procs=sleeps)
        rss, hwm = b.memory_kib(watchd.pid)
        session.stop(watchd.proc)

    expected = 2 * args.services / b.parse_seconds(args.interval)
    r = b.Report(f"Supervision CPU, {args.services:,} services x (process + "
                 f"memory) at {args.interval}", sys.argv, window.load)
    b.cpu_rows(r, window, args.target, expected)
    r.row("event loop: on CPU / waiting for a CPU",
          f"{window.loop_run_pct:.2f}% / {window.loop_wait_pct:.2f}%")
    r.row("RSS / peak", f"{rss / 1024:.1f} / {hwm / 1024:.1f} MiB")
    b.lateness_row(r, window)
    r.note(f"pidfiles name {args.sleeps} `sleep` processes in turn; CPU "
           f"from /proc/PID/stat in ticks (1/{b.CLK_TCK} s): "
           f"+-{100 / b.CLK_TCK / window.elapsed:.3f}% over this window")
    r.print()


if __name__ == "__main__":
    b.run_main(main)
