#!/usr/bin/env python3
"""CPU time per HTTP probe (issue 2), watchd against Monit 5.33 on the same
nginx; run through bench/cpu_per_probe.sh.

Monit: a control file of N (1000) `check host` entries, each `if failed port
P protocol http then alert`, `set daemon 1`, its own id/state/pid/log files
in the temp dir, run in the foreground (`monit -I -c FILE`). Monit tests
every host once per cycle and sleeps `daemon` seconds between cycles, so
its probes are counted exactly by nginx's request counter (stub_status;
Monit is nginx's only client then): cycles = requests / N, and the cycle
period = window / cycles. Monit also reads the whole process table once a
cycle whatever it checks, so a second run with one host measures that fixed
cost per cycle, and the marginal cost per probe is reported too.

watchd: the same N checks at 1s (fresh connection each, default jitter);
probes from watchd_probes_total, cross-checked with nginx's counter.

CPU is utime+stime of the process (/proc/PID/stat) over the window. On
loopback, part of the server side's TCP work runs in the client's system
calls and is charged to it; that is the same for both.
Reference from the issue: Monit ~43 µs per HTTP check.
"""
import argparse
import os
import subprocess
import sys
import time

import benchlib as b


def measure_monit(session, args, nginx, hosts, name, seconds):
    d = session.path(name)
    os.makedirs(d)
    monitrc = session.path(f"{name}.monitrc")
    with open(monitrc, "w") as f:
        subprocess.run([sys.executable,
                        os.path.join(b.BENCH_DIR, "gen_monitrc.py"),
                        str(hosts), "--port", str(nginx.port), "--dir", d,
                        "--daemon", "1"], stdout=f, check=True)
    os.chmod(monitrc, 0o600)
    check = subprocess.run(["monit", "-t", "-c", monitrc],
                           capture_output=True, text=True)
    if check.returncode != 0:
        raise b.SetupError("monit -t rejected the control file:\n" +
                           check.stdout + check.stderr)
    monit = session.spawn(["monit", "-I", "-c", monitrc], f"{name}.out")
    b.sleep_while_alive(args.warmup, [monit])
    load = b.loadavg()
    n0, c0 = nginx.requests(), b.cpu_times(monit.pid)
    t0 = time.monotonic()
    b.sleep_while_alive(seconds, [monit])
    t1 = time.monotonic()
    n1, c1 = nginx.requests(), b.cpu_times(monit.pid)
    rss, hwm = b.memory_kib(monit.pid)
    session.stop(monit)
    with open(os.path.join(d, "monit.log"), errors="replace") as f:
        failures = sum(1 for line in f if "failed" in line)
    probes = n1 - n0
    return {
        "load": load,
        "elapsed": t1 - t0,
        "cpu": sum(c1) - sum(c0),
        "utime": c1[0] - c0[0],
        "stime": c1[1] - c0[1],
        "probes": probes,
        "cycles": probes / hosts,
        "failures": failures,
        "hwm": hwm,
    }


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[1:]))
    parser.add_argument("--checks", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=40,
                        help="window of each run, seconds (default 40)")
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip Monit's one-host run")
    b.add_common_args(parser)
    args = parser.parse_args()

    b.require_tools("monit")
    b.raise_nofile(65536)
    b.wait_quiet(args.quiet_load, args.quiet_wait)
    with b.Session("cpu-per-probe", keep=args.keep) as session:
        nginx = b.Nginx(session, args.nginx_workers)
        b.log(f"monit, {args.checks} hosts, {args.duration:g}s "
              f"(load {b.loadavg()})")
        monit = measure_monit(session, args, nginx, args.checks, "monit",
                              args.duration)
        base = None
        if not args.no_baseline:
            b.log(f"monit, 1 host, {args.duration / 2:g}s")
            base = measure_monit(session, args, nginx, 1, "monit-1",
                                 args.duration / 2)

        b.log(f"watchd, {args.checks} checks at 1s (load {b.loadavg()})")
        metrics_port = b.free_port()
        config = b.gen_config(
            args.checks, session.path("watchd.yaml"), port=nginx.port,
            interval="1s", metrics_listen=f"127.0.0.1:{metrics_port}",
            log_level="warn")
        watchd = b.Watchd(session, b.watchd_binary(args.watchd), config,
                          metrics_port)
        b.sleep_while_alive(max(args.warmup, 10), [watchd.proc])
        w = b.measure_watchd(watchd, args.duration, nginx)
        _, w_hwm = b.memory_kib(watchd.pid)
        session.stop(watchd.proc)

    r = b.Report(f"CPU per HTTP probe, {args.checks:,} checks", sys.argv,
                 monit["load"])
    monit_us = 1e6 * monit["cpu"] / max(1, monit["probes"])
    watchd_us = 1e6 * w.cpu_seconds / max(1, w.count())
    r.row("Monit: CPU per probe", f"{monit_us:.1f} µs (user "
          f"{1e6 * monit['utime'] / max(1, monit['probes']):.1f}, sys "
          f"{1e6 * monit['stime'] / max(1, monit['probes']):.1f})")
    r.row("Monit: probes, cycles", f"{monit['probes']:,} in "
          f"{monit['elapsed']:.1f}s = {monit['cycles']:.1f} cycles of "
          f"{monit['elapsed'] / max(1, monit['cycles']):.2f}s "
          f"({monit['probes'] / monit['elapsed']:,.0f} probes/s); "
          f"'failed' log lines {monit['failures']}; CPU "
          f"{100 * monit['cpu'] / monit['elapsed']:.1f}% of a core, "
          f"RSS peak {monit['hwm'] / 1024:.1f} MiB")
    if base:
        per_cycle = base["cpu"] / max(1, base["cycles"])
        marginal = (monit["cpu"] - per_cycle * monit["cycles"]) / max(
            1, monit["probes"])
        r.row("Monit: fixed cost per cycle (1 host)",
              f"{1000 * per_cycle:.2f} ms ({base['cycles']:.0f} cycles)")
        r.row("Monit: marginal CPU per probe", f"{1e6 * marginal:.1f} µs")
    r.row("watchd: CPU per probe", f"{watchd_us:.1f} µs (user "
          f"{1e6 * w.utime / max(1, w.count()):.1f}, sys "
          f"{1e6 * w.stime / max(1, w.count()):.1f})")
    r.row("watchd: probes", f"{w.count():,.0f} in {w.span:.1f}s "
          f"({w.rate():,.0f}/s; nginx saw {w.nginx_requests / w.elapsed:,.0f}"
          f"/s); failed {w.failed():,.0f}; CPU {w.cpu_pct:.1f}% of a core, "
          f"RSS peak {w_hwm / 1024:.1f} MiB (load {w.load})")
    r.row("watchd / Monit, CPU per probe", f"{watchd_us / monit_us:.2f}",
          "<= 1", watchd_us <= monit_us)
    r.note("Monit reference from the issue: ~43 µs per HTTP check")
    r.print()


if __name__ == "__main__":
    b.run_main(main)
