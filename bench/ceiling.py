#!/usr/bin/env python3
"""Probe-rate ceiling (issue 2): more and more http checks at 100ms until
watchd falls behind, and wrk against the same nginx for comparison; run
through bench/ceiling.sh.

For each step (--steps, numbers of checks), a fresh watchd runs the checks
at --interval (100ms) against nginx; after --warmup seconds one window of
--duration seconds is measured. A step is sustained when completed probes
reach 95% of the expected rate (checks / interval) and the scheduler
lateness p99 is <= 5 ms; the steps stop at the first one that is not. Then
`wrk -t1 -c50 -d15s -H 'Connection: close'` measures what one client thread
gets from the same nginx with a fresh connection per request.

Goal: watchd's highest sustained rate >= half of wrk's rate.

The checks' jitter defaults to 100% here: with watchd's default 10%, the
first runs of all checks fall in the first 10ms of the 100ms interval and
stay bunched for many intervals, which measures the burst, not the rate
(bench/http_load.sh measures the defaults).
"""
import argparse
import os
import re
import subprocess
import sys
import time

import benchlib as b


def run_step(session, args, nginx, checks):
    metrics_port = b.free_port()
    config = b.gen_config(
        checks, session.path(f"watchd-{checks}.yaml"), port=nginx.port,
        interval=args.interval, jitter=args.jitter,
        metrics_listen=f"127.0.0.1:{metrics_port}", log_level="warn")
    watchd = b.Watchd(session, b.watchd_binary(args.watchd), config,
                      metrics_port)
    memory = b.MemorySampler(watchd.pid)
    b.sleep_while_alive(args.warmup, [watchd.proc])
    window = b.measure_watchd(watchd, args.duration, nginx)
    memory.stop()
    code = session.stop(watchd.proc)
    if code != 0:
        raise b.SetupError(f"watchd exited with status {code}:\n"
                           f"{b.tail(watchd.proc.log_path)}")
    return window, memory


def failures(window):
    kinds = [f"{r} {n:,.0f}" for g in window.probes.values()
             for r, n in sorted(g.items()) if r != "success" and n]
    return f" ({', '.join(kinds)})" if kinds else ""


def run_wrk(nginx, seconds):
    argv = ["wrk", "-t1", "-c50", f"-d{seconds}s", "-H", "Connection: close",
            nginx.url]
    workers = nginx.worker_pids()
    n0 = sum(b.cpu_seconds(p) for p in workers)
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.monotonic() - start
    n1 = sum(b.cpu_seconds(p) for p in workers)
    out = proc.stdout.read().decode(errors="replace")
    proc.stdout.close()
    m = re.search(r"Requests/sec:\s*([0-9.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    if os.waitstatus_to_exitcode(status) != 0 or not m or not total:
        raise b.SetupError(f"wrk failed:\n{out}")
    errors = re.search(r"Socket errors:.*", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rate": float(m.group(1)),
        "requests": int(total.group(1)),
        "cpu": usage.ru_utime + usage.ru_stime,
        "elapsed": elapsed,
        "nginx_cpu_pct": 100 * (n1 - n0) / elapsed,
        "errors": (errors.group(0) if errors else "") +
                  (f" non-2xx {non2xx.group(1)}" if non2xx else ""),
        "argv": " ".join(argv[:-1]) + " URL",
    }


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[1:]))
    parser.add_argument("--steps", default="100,200,300,400,600,800,1000,"
                        "1500,2000,3000,4000,5000,6000,8000,10000",
                        help="numbers of checks, in order")
    parser.add_argument("--interval", default="100ms")
    parser.add_argument("--jitter", default="100%")
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--duration", type=float, default=15)
    parser.add_argument("--wrk-seconds", type=int, default=15)
    parser.add_argument("--keep-going", action="store_true",
                        help="run every step, even after one is missed")
    b.add_common_args(parser)
    args = parser.parse_args()
    steps = [int(s) for s in args.steps.split(",")]
    interval = b.parse_seconds(args.interval)

    b.require_tools("wrk")
    b.raise_nofile(65536)
    b.wait_quiet(args.quiet_load, args.quiet_wait)
    load = b.loadavg()
    results = []
    with b.Session("ceiling", keep=args.keep) as session:
        nginx = b.Nginx(session, args.nginx_workers)
        for checks in steps:
            expected = checks / interval
            b.log(f"{checks} checks at {args.interval} ({expected:,.0f}/s); "
                  f"load {b.loadavg()}")
            window, memory = run_step(session, args, nginx, checks)
            p99 = window.lateness_q(0.99)
            late_ok = p99[0] is not None and not p99[1] and p99[0] <= 0.005
            rate_ok = window.rate() >= 0.95 * expected
            results.append((checks, expected, window, memory, late_ok and
                            rate_ok))
            b.log(f"  {window.rate():,.0f}/s, p99 {b.fmt_quantile(p99)}, CPU "
                  f"{window.cpu_pct:.0f}%")
            if not (late_ok and rate_ok) and not args.keep_going:
                break
            time.sleep(2)
        b.log(f"wrk {args.wrk_seconds}s")
        time.sleep(2)
        wrk = run_wrk(nginx, args.wrk_seconds)

    r = b.Report("Probe-rate ceiling", sys.argv, load)
    best = 0.0
    for checks, expected, w, memory, ok in results:
        if ok:
            best = max(best, w.rate())
        r.row(f"{checks:,} checks at {args.interval} ({expected:,.0f}/s)",
              f"{w.rate():,.0f}/s ({100 * w.rate() / expected:.0f}%), "
              f"lateness p99 {b.fmt_quantile(w.lateness_q(0.99))}, "
              f"failed {w.failed():,.0f}{failures(w)}, CPU {w.cpu_pct:.0f}% "
              f"(loop waited for a CPU {w.loop_wait_pct:.0f}%) "
              f"({1e6 * w.cpu_seconds / max(1, w.count()):.0f} µs/probe), "
              f"nginx CPU {w.nginx_cpu_pct:.0f}%, RSS "
              f"{memory.hwm / 1024:.0f} MiB (load {w.load.split()[0]})",
              ">= 95%, p99 <= 5 ms", ok)
    r.row("wrk -t1 -c50, Connection: close",
          f"{wrk['rate']:,.0f} requests/s, CPU "
          f"{100 * wrk['cpu'] / wrk['elapsed']:.0f}% "
          f"({1e6 * wrk['cpu'] / max(1, wrk['requests']):.0f} µs/request), "
          f"nginx CPU {wrk['nginx_cpu_pct']:.0f}%{wrk['errors']}")
    r.row("watchd's highest sustained rate / wrk",
          f"{best:,.0f}/s / {wrk['rate']:,.0f}/s = "
          f"{best / wrk['rate']:.2f}", ">= 0.5", best >= 0.5 * wrk["rate"])
    r.note(f"checks' jitter {args.jitter}; each step {args.warmup:g}s "
           f"warm-up + {args.duration:g}s window with a fresh watchd; "
           f"nginx worker_processes {args.nginx_workers}")
    r.print()


if __name__ == "__main__":
    b.run_main(main)
