#!/usr/bin/env python3
"""Configuration check time (issue 2): `watchd --check-config` against
`monit -t` on equivalent files; run through bench/check_config.sh.

Generates files of N http checks (bench/gen_config.py N) and the Monit
control files of N `check host` entries with one `if failed port P protocol
http` test each (bench/gen_monitrc.py), then runs each command --repeat
times, interleaved, after one untimed run, and takes the median wall time
(and the median user+sys CPU time, from wait4).

Targets: watchd <= half of Monit's time at each size; watchd's 20,000-check
time <= 2.2 x its 10,000-check time (linear).
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

import benchlib as b


def timed(argv):
    """(wall seconds, cpu seconds) of one run; fails on a non-zero exit."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    stderr = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise b.SetupError(f"{' '.join(argv)} exited with {proc.returncode}:"
                           f"\n{stderr[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[1:]))
    parser.add_argument("--sizes", default="10000,20000",
                        help="numbers of checks (default 10000,20000)")
    parser.add_argument("--repeat", type=int, default=10)
    b.add_common_args(parser)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    b.require_tools("monit")
    binary = b.watchd_binary(args.watchd)
    load = b.loadavg()
    b.wait_quiet(args.quiet_load, args.quiet_wait)
    with b.Session("check-config", keep=args.keep) as session:
        commands = {}
        for n in sizes:
            config = b.gen_config(n, session.path(f"watchd-{n}.yaml"))
            monit_dir = session.path(f"monit-{n}")
            os.makedirs(monit_dir)
            monitrc = session.path(f"monitrc-{n}")
            with open(monitrc, "w") as f:
                subprocess.run([sys.executable,
                                os.path.join(b.BENCH_DIR, "gen_monitrc.py"),
                                str(n), "--port", "8080", "--dir", monit_dir],
                               stdout=f, check=True)
            os.chmod(monitrc, 0o600)
            commands[("watchd", n)] = [binary, "-c", config, "--check-config"]
            commands[("monit", n)] = ["monit", "-t", "-c", monitrc]
        for argv in commands.values():
            timed(argv)  # untimed: page cache, Monit's id file
        b.log(f"timing {len(commands)} commands x {args.repeat} "
              f"(load {b.loadavg()})")
        load = b.loadavg()
        times = {key: [] for key in commands}
        for _ in range(args.repeat):
            for key, argv in commands.items():
                times[key].append(timed(argv))
        sizes_bytes = {n: os.path.getsize(session.path(f"watchd-{n}.yaml"))
                       for n in sizes}

    wall = {k: statistics.median(t[0] for t in v) for k, v in times.items()}
    cpu = {k: statistics.median(t[1] for t in v) for k, v in times.items()}
    spread = {k: (min(t[0] for t in v), max(t[0] for t in v))
              for k, v in times.items()}
    r = b.Report("Configuration check time", sys.argv, load)
    for n in sizes:
        w, m = ("watchd", n), ("monit", n)
        r.row(f"watchd --check-config, {n:,} checks "
              f"({sizes_bytes[n] / 1e6:.1f} MB)",
              f"{1000 * wall[w]:.0f} ms (CPU {1000 * cpu[w]:.0f} ms; "
              f"{1000 * spread[w][0]:.0f}-{1000 * spread[w][1]:.0f} ms)")
        r.row(f"monit -t, {n:,} checks",
              f"{1000 * wall[m]:.0f} ms (CPU {1000 * cpu[m]:.0f} ms; "
              f"{1000 * spread[m][0]:.0f}-{1000 * spread[m][1]:.0f} ms)")
        r.row(f"watchd / monit, {n:,} checks",
              f"{wall[w] / wall[m]:.2f} (CPU {cpu[w] / cpu[m]:.2f})",
              "<= 0.5", wall[w] <= 0.5 * wall[m])
    if len(sizes) == 2:
        small, large = sizes
        ratio = wall[("watchd", large)] / wall[("watchd", small)]
        limit = 2.2 * large / small / 2
        r.row(f"watchd {large:,} / {small:,}",
              f"{ratio:.2f} (CPU {cpu[('watchd', large)] / cpu[('watchd', small)]:.2f})",
              f"<= {limit:.1f}", ratio <= limit)
    r.note(f"medians of {args.repeat} runs each, interleaved; wall time is "
           "the verdict, CPU is user+sys of the child")
    r.print()


if __name__ == "__main__":
    b.run_main(main)
