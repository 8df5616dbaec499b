#!/usr/bin/env python3
"""Idle CPU (issue 2): a small, mostly idle configuration costs next to
nothing; run through bench/idle_cpu.sh.

watchd runs 100 http checks at 10s against a local nginx (10 probes/s in
all); after a warm-up, its utime+stime (/proc/PID/stat) over --duration
seconds must stay <= 0.5% of one core. Also reports the event-loop thread's
context switches per second (how often it wakes) and completed probes.
"""
import argparse
import sys

import benchlib as b


def loop_switches(pid):
    """Voluntary + involuntary context switches of the main (loop) thread."""
    total = 0
    with open(f"/proc/{pid}/task/{pid}/status") as f:
        for line in f:
            if line.startswith(("voluntary_ctxt_switches",
                                "nonvoluntary_ctxt_switches")):
                total += int(line.split()[1])
    return total


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[1:]))
    parser.add_argument("--checks", type=int, default=100)
    parser.add_argument("--interval", default="10s")
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=15,
                        help="seconds before the window (default 15: every "
                        "check has run once)")
    parser.add_argument("--target", type=float, default=0.5,
                        help="CPU target, %% of a core (default 0.5)")
    b.add_common_args(parser)
    args = parser.parse_args()

    b.wait_quiet(args.quiet_load, args.quiet_wait)
    with b.Session("idle-cpu", keep=args.keep) as session:
        nginx = b.Nginx(session, args.nginx_workers)
        metrics_port = b.free_port()
        config = b.gen_config(
            args.checks, session.path("watchd.yaml"), port=nginx.port,
            interval=args.interval, metrics_listen=f"127.0.0.1:{metrics_port}",
            log_level="warn")
        watchd = b.Watchd(session, b.watchd_binary(args.watchd), config,
                          metrics_port)
        b.log(f"warm-up {args.warmup:g}s")
        b.sleep_while_alive(args.warmup, [watchd.proc])
        b.log(f"measuring {args.duration:g}s (load {b.loadavg()})")
        s0 = loop_switches(watchd.pid)
        window = b.measure_watchd(watchd, args.duration)
        s1 = loop_switches(watchd.pid)
        rss, _ = b.memory_kib(watchd.pid)

    expected = args.checks / b.parse_seconds(args.interval)
    r = b.Report("Idle CPU", sys.argv, window.load)
    b.cpu_rows(r, window, args.target, expected, precision=3)
    r.row("loop thread context switches/s",
          f"{(s1 - s0) / window.elapsed:.1f}")
    r.row("RSS", f"{rss / 1024:.1f} MiB")
    b.lateness_row(r, window)
    r.note("CPU is from /proc/PID/stat in clock ticks "
           f"(1/{b.CLK_TCK} s): +-{100 / b.CLK_TCK / window.elapsed:.3f}% "
           "over this window.")
    r.print()


if __name__ == "__main__":
    b.run_main(main)
