#!/usr/bin/env python3
"""HTTP load (issue 2): N http checks against a local nginx; run through
bench/http_load.sh.

Starts nginx (its own config, `return 200 "ok"`, on a free 127.0.0.1 port)
and watchd with N checks of one http probe each (fresh connection per
probe, the default), lets it warm up, then measures one window:

  probes/s   completed probes (every result), delta of the sum of
             watchd_probes_total between a scrape at the start and at the end
  CPU        watchd's utime+stime (/proc/PID/stat) over the window, as % of
             one core; the two scrapes fall outside it
  RSS        VmRSS and VmHWM (/proc/PID/status) sampled every second from
             start to end; the verdict is on the peak (VmHWM)
  lateness   p50/p99/p99.9 of watchd_scheduler_lateness_seconds, from the
             bucket deltas over the window (linear inside a bucket, as
             Prometheus' histogram_quantile)
  failures   probes of the answering checks that did not succeed

Variant A: every check answers. Variant B: --blackhole of them (default 100)
point at a port that never answers (a listener that never accepts, queue
full: SYNs are dropped), with interval and timeout 5s; lateness p99 must
stay within target.

Targets (for the defaults; scaled for other N and interval): >= 95% of the
expected rate (9,500 probes/s), <= 50% of a core, RSS <= 64 MiB, lateness
p99 <= 5 ms. A missed target is reported as MISS; the exit status is
non-zero only when the benchmark could not run.
"""
import argparse
import sys
import time

import benchlib as b


def run_variant(session, args, nginx, variant):
    holes = args.blackhole if variant == "B" else 0
    hole = b.BlackHole() if holes else None
    try:
        metrics_port = b.free_port()
        config = b.gen_config(
            args.checks, session.path(f"watchd-{variant}.yaml"),
            port=nginx.port, interval=args.interval, timeout=args.timeout,
            jitter=args.jitter, metrics_listen=f"127.0.0.1:{metrics_port}",
            log_level="warn", blackhole_count=holes or None,
            blackhole_port=hole.port if hole else None,
            blackhole_interval=args.blackhole_interval,
            blackhole_timeout=args.blackhole_timeout)
        b.log(f"variant {variant}: starting watchd with {args.checks} checks "
              f"({holes} to a black hole)")
        watchd = b.Watchd(session, b.watchd_binary(args.watchd), config,
                          metrics_port)
        memory = b.MemorySampler(watchd.pid)
        b.log(f"warm-up {args.warmup:g}s")
        b.sleep_while_alive(args.warmup, [watchd.proc])
        b.log(f"measuring {args.duration:g}s (load {b.loadavg()})")
        window = b.measure_watchd(watchd, args.duration, nginx)
        memory.stop()
        b.log("stopping watchd")
        started = time.monotonic()
        code = session.stop(watchd.proc)
        stop_seconds = time.monotonic() - started
        if code != 0:
            raise b.SetupError(f"watchd exited with status {code}:\n"
                               f"{b.tail(watchd.proc.log_path)}")
    finally:
        if hole:
            hole.close()
    return window, memory, stop_seconds, holes


def report(args, variant, window, memory, stop_seconds, holes, baseline):
    interval = b.parse_seconds(args.interval)
    hole_interval = b.parse_seconds(args.blackhole_interval)
    expected = (args.checks - holes) / interval + holes / hole_interval
    title = ("A: every check answers" if variant == "A" else
             f"B: {holes} checks to a port that never answers "
             f"(interval {args.blackhole_interval}, timeout "
             f"{args.blackhole_timeout})")
    r = b.Report(f"HTTP load, variant {title}", sys.argv, window.load)
    rate = window.rate()
    r.row("completed probes/s", f"{rate:,.0f} (expected {expected:,.0f})",
          f">= {0.95 * expected:,.0f}", rate >= 0.95 * expected)
    r.row("watchd CPU", f"{window.cpu_pct:.1f}% of a core (user "
          f"{100 * window.utime / window.elapsed:.1f}%, sys "
          f"{100 * window.stime / window.elapsed:.1f}%)", "<= 50%",
          window.cpu_pct <= 50)
    r.row("CPU per probe", f"{1e6 * window.cpu_seconds / max(1, window.count()):.1f} µs")
    peak_mib = memory.hwm / 1024
    r.row("RSS peak (VmHWM)", f"{peak_mib:.1f} MiB (max sampled VmRSS "
          f"{memory.max_rss / 1024:.1f} MiB)", "<= 64 MiB", peak_mib <= 64)
    r.row("open fds, max sampled", f"{memory.max_fds:,}")
    p99 = window.lateness_q(0.99)
    r.row("lateness p99", b.fmt_quantile(p99), "<= 5 ms",
          p99[0] is not None and not p99[1] and p99[0] <= 0.005)
    r.row("loop thread on a CPU / waiting for one",
          f"{window.loop_run_pct:.1f}% / {window.loop_wait_pct:.1f}% of the "
          "window (schedstat)")
    r.row("lateness p50 / p99.9", f"{b.fmt_quantile(window.lateness_q(0.5))}"
          f" / {b.fmt_quantile(window.lateness_q(0.999))}")
    if baseline is not None:
        r.row("lateness p99, variant A", b.fmt_quantile(baseline.lateness_q(0.99)))
    failed = window.failed("svc")
    results = ", ".join(f"{k} {v:,.0f}" for k, v in
                        sorted(window.probes.get("svc", {}).items()) if v)
    r.row("failed probes of answering checks", f"{failed:,.0f} ({results})",
          "0", failed == 0)
    if holes:
        timeouts = window.count("hole", "timeout")
        r.row("timeouts of black-hole checks",
              f"{timeouts:,.0f} (expected ~{holes / hole_interval * window.span:,.0f})")
    r.row("probe duration p50 / p99 (answering)",
          f"{b.fmt_quantile(window.duration_q(0.5, 'svc'))} / "
          f"{b.fmt_quantile(window.duration_q(0.99, 'svc'))}")
    r.row("nginx requests/s (cross-check)",
          f"{window.nginx_requests / window.elapsed:,.0f}; nginx CPU "
          f"{window.nginx_cpu_pct:.0f}%")
    r.row("window", f"{window.elapsed:.1f}s after {args.warmup:g}s warm-up; "
          f"/metrics {window.scrape_bytes / 2**20:.1f} MiB per scrape")
    r.row("watchd stop (SIGTERM to exit)", f"{stop_seconds:.2f}s")
    r.print()


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[1:]))
    parser.add_argument("--checks", type=int, default=10000)
    parser.add_argument("--interval", default="1s")
    parser.add_argument("--timeout", default="900ms")
    parser.add_argument("--jitter", default="10%",
                        help="the checks' jitter (default 10%%, watchd's "
                        "default)")
    parser.add_argument("--duration", type=float, default=60,
                        help="measuring window, seconds (default 60)")
    parser.add_argument("--warmup", type=float, default=10,
                        help="seconds between start and window (default 10)")
    parser.add_argument("--variant", choices=["A", "B", "both"],
                        default="both")
    parser.add_argument("--blackhole", type=int, default=100,
                        help="variant B: checks to the black hole (100)")
    parser.add_argument("--blackhole-interval", default="5s")
    parser.add_argument("--blackhole-timeout", default="5s")
    b.add_common_args(parser)
    args = parser.parse_args()

    b.raise_nofile(65536)
    b.wait_quiet(args.quiet_load, args.quiet_wait)
    variants = ["A", "B"] if args.variant == "both" else [args.variant]
    with b.Session("http-load", keep=args.keep) as session:
        nginx = b.Nginx(session, args.nginx_workers)
        baseline = None
        for variant in variants:
            window, memory, stop_seconds, holes = run_variant(
                session, args, nginx, variant)
            report(args, variant, window, memory, stop_seconds, holes,
                   baseline)
            if variant == "A":
                baseline = window
            if variant != variants[-1]:
                # Let the TIME_WAIT sockets of the last run age a little.
                time.sleep(5)


if __name__ == "__main__":
    b.run_main(main)
