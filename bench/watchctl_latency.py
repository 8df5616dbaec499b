#!/usr/bin/env python3
"""watchctl latency (issue 9): `watchctl summary` and `watchctl status
--json` with 1,000 and 10,000 services while their checks run, side by side
with Monit 5.33's `monit summary` and `monit status` on the same number of
services; run through bench/watchctl_latency.sh.

For each size N, one nginx serves both tools (`return 200 "ok"`):
- watchd: N services of one http check each (bench/gen_config.py N,
  interval --interval, default 5s, jitter 10%), its control socket and a
  state file in the temp dir, log_level warn;
- Monit: N `check host` with one `if failed port P protocol http` test
  each (bench/gen_monitrc.py N), `set daemon` = the interval, its HTTP
  interface on a unix socket (`set httpd unixsocket`, `allow localhost`:
  the same transport as watchctl's), run in the foreground (`monit -I`).
Both run at the same time, after a warm-up in which watchctl must report
every service ok and `monit summary` must answer.

Client latency: --repeat rounds (as many as fit in --max-seconds, at
least 5), each running once, in turn, `watchctl summary`, `monit summary`,
`watchctl status --json`, `monit status`, `watchctl status` (text),
`watchctl --help` and `monit -V` (what starting each client costs), so the
load of the machine falls alike on both tools. A time is the wall time of
the client process as its parent sees it (fork to reap, stdout to
/dev/null); the client's own CPU (user+sys, from wait4) is shown beside
it. Clients run with a soft RLIMIT_NOFILE of 1024, a login shell's default
(Monit's client closes every descriptor up to the limit at start: 20,000
close calls at a limit of 20,000).

Each round also asks watchd itself on the socket, as watchctl would (a
`status` and a `summary` request, from this script): the time to the
reply's first byte is the daemon's (watchd writes a reply once it is
built), the rest of watchctl's time is the transfer and the client's own.

Scheduler lateness: watchd_scheduler_lateness_seconds bucket deltas over
three windows of --window seconds: idle (no client), hammered (`watchctl
status --json` back to back, one at a time), idle again; with the share of
each window the event loop thread spent on a CPU (schedstat): the hammered
window's extra, per call, is how long one status call holds the loop (and
the probes due meanwhile) up.

Targets: watchctl summary and status --json medians < 20 ms at 1,000
services, < 150 ms at 10,000; lateness p99 while hammered no worse than
idle. Reference from the issue: Monit 5.33's summary 29 ms at 1,000
services, 668 ms at 10,000.
"""
import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import time

import benchlib as b

TARGETS_MS = {1000: 20, 10000: 150}


def watchctl_binary(path, watchd):
    path = path or os.environ.get("WATCHCTL") or os.path.join(
        os.path.dirname(watchd), "watchctl")
    if not os.access(path, os.X_OK):
        raise b.SetupError(f"no watchctl binary at {path} (set WATCHCTL or "
                           "--watchctl)")
    return path


def target_ms(n):
    """The issue's target for N services: 20 ms up to 1,000, 150 ms up to
    10,000 (in between and beyond: the next one up)."""
    for size in sorted(TARGETS_MS):
        if n <= size:
            return TARGETS_MS[size]
    return None


class ClientLimits:
    """Lowers this process's soft RLIMIT_NOFILE for the clients it forks
    (the daemons were started with the raised one), and restores it."""

    def __init__(self, soft=1024):
        self.soft = soft

    def __enter__(self):
        self.saved = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE,
                           (min(self.soft, self.saved[1]), self.saved[1]))
        return self

    def __exit__(self, *exc):
        resource.setrlimit(resource.RLIMIT_NOFILE, self.saved)
        return False


def timed(argv, ok_codes, stdout=subprocess.DEVNULL):
    """(wall seconds, client cpu seconds) of one client run."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stdout,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    stderr = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in ok_codes:
        raise b.SetupError(f"{' '.join(argv)} exited with {proc.returncode}:"
                           f"\n{stderr[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime


def run_rc(argv, timeout=120):
    try:
        out = subprocess.run(argv, stdin=subprocess.DEVNULL,
                             capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, b""
    return out.returncode, out.stdout


def wait_until(what, predicate, timeout, procs):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in procs:
            if p.poll() is not None:
                raise b.SetupError(f"{what}: {p.args[0]} exited with status "
                                   f"{p.returncode}\n"
                                   f"{b.tail(getattr(p, 'log_path', ''))}")
        if predicate():
            return
        time.sleep(1)
    raise b.SetupError(f"{what} within {timeout:.0f}s")


def raw_call(sock_path, cmd, timeout=60):
    """One request on the control socket, as watchctl sends it, without
    watchctl: (seconds to the reply's first byte, to its end, its bytes).
    watchd writes a reply only once it is built, so the first byte tells
    how long the daemon took (queueing on its loop included)."""
    request = json.dumps({"cmd": cmd, "services": [], "v": 1}) + "\n"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        t0 = time.perf_counter()
        s.connect(sock_path)
        s.sendall(request.encode())
        buf = bytearray()
        first = None
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                raise b.SetupError(f"watchd closed the socket during {cmd}")
            if first is None:
                first = time.perf_counter() - t0
            buf += chunk
            if buf.endswith(b"\n"):
                break
        return first, time.perf_counter() - t0, len(buf)


def quantile(values, q):
    values = sorted(values)
    if len(values) == 1:
        return values[0]
    pos = q * (len(values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def lateness_window(watchd, seconds, procs, hammer=None):
    """Lateness buckets, loop-thread CPU and process CPU over `seconds`;
    with `hammer`, a function called back to back meanwhile."""
    raw0 = watchd.scrape_raw()
    t0 = time.monotonic()
    c0 = b.cpu_seconds(watchd.pid)
    s0 = b.loop_schedstat(watchd.pid)
    calls = 0
    if hammer is None:
        b.sleep_while_alive(seconds, procs)
    else:
        deadline = t0 + seconds
        while time.monotonic() < deadline:
            hammer()
            calls += 1
            for p in procs:
                if p.poll() is not None:
                    raise b.SetupError(f"{p.args[0]} exited during the "
                                       "hammered window")
    t1 = time.monotonic()
    c1 = b.cpu_seconds(watchd.pid)
    s1 = b.loop_schedstat(watchd.pid)
    raw1 = watchd.scrape_raw()
    m0, m1 = b.Metrics(*raw0), b.Metrics(*raw1)
    probes = sum(sum(r.values()) for r in m1.probes.values()) - sum(
        sum(r.values()) for r in m0.probes.values())
    succeeded = sum(r.get("success", 0) for r in m1.probes.values()) - sum(
        r.get("success", 0) for r in m0.probes.values())
    failed = probes - succeeded
    return b.Window(
        elapsed=t1 - t0,
        span=m1.time - m0.time,  # of the probe counts: scrape to scrape
        calls=calls,
        cpu=c1 - c0,
        loop_ns=s1[0] - s0[0],
        loop_wait_ns=s1[1] - s0[1],
        lateness=b.bucket_delta(m1.lateness, m0.lateness),
        probes=probes,
        failed=failed,
        load=b.loadavg(),
    )


def fmt_lateness(w):
    p50 = b.histogram_quantile(0.5, w.lateness)
    p99 = b.histogram_quantile(0.99, w.lateness)
    p999 = b.histogram_quantile(0.999, w.lateness)
    total = w.lateness.get(float("inf"), 0)
    # The smallest bound every observation is under.
    top = min((le for le, n in w.lateness.items() if n >= total),
              default=float("inf"))
    above = 100 * b.fraction_above(0.005, w.lateness)
    top_s = "+Inf" if top == float("inf") else f"{top * 1000:g} ms"
    return (f"p50 {b.fmt_quantile(p50)}, p99 {b.fmt_quantile(p99)}, "
            f"p99.9 {b.fmt_quantile(p999)}; all <= {top_s}; "
            f"{above:.2f}% > 5 ms ({total:,.0f} runs)")


def measure_size(session, args, nginx, binary, watchctl, n):
    d = session.path(f"n{n}")
    os.makedirs(os.path.join(d, "state"))
    os.makedirs(os.path.join(d, "monit"))
    sock = os.path.join(d, "control.sock")
    metrics_port = b.free_port()
    config = b.gen_config(
        n, os.path.join(d, "watchd.yaml"), port=nginx.port,
        interval=args.interval, jitter="10%",
        metrics_listen=f"127.0.0.1:{metrics_port}", log_level="warn",
        control_socket=sock, state_file=os.path.join(d, "state",
                                                     "state.json"))
    monit_sock = os.path.join(d, "monit.sock")
    monitrc = os.path.join(d, "monitrc")
    with open(monitrc, "w") as f:
        subprocess.run([sys.executable,
                        os.path.join(b.BENCH_DIR, "gen_monitrc.py"), str(n),
                        "--port", str(nginx.port), "--dir",
                        os.path.join(d, "monit"), "--daemon",
                        str(max(1, round(b.parse_seconds(args.interval)))),
                        "--httpd-socket", monit_sock], stdout=f, check=True)
    os.chmod(monitrc, 0o600)
    check = subprocess.run(["monit", "-t", "-c", monitrc],
                           capture_output=True, text=True)
    if check.returncode != 0:
        raise b.SetupError("monit -t rejected the control file:\n" +
                           check.stdout + check.stderr)

    b.log(f"{n:,} services: starting watchd and Monit (load {b.loadavg()})")
    watchd = b.Watchd(session, binary, config, metrics_port)
    monit = session.spawn(["monit", "-I", "-c", monitrc], f"monit-{n}.out")
    procs = [watchd.proc, monit, nginx.proc]

    # As an operator types it: the socket is read from the config file, as
    # monit reads its control file.
    ctl = [watchctl, "-c", config, "--no-color"]
    cmds = {
        "watchctl summary": (ctl + ["summary"], (0, 3)),
        "monit summary": (["monit", "-c", monitrc, "summary"], (0,)),
        "watchctl status --json": (ctl + ["status", "--json"], (0, 3)),
        "monit status": (["monit", "-c", monitrc, "status"], (0,)),
        "watchctl status": (ctl + ["status"], (0, 3)),
        # What starting the client costs, without the daemon.
        "watchctl --help": ([watchctl, "--help"], (0,)),
        "monit -V": (["monit", "-V"], (0,)),
    }
    if args.no_monit_status:
        del cmds["monit status"]

    warm = b.parse_seconds(args.interval) * 1.1 + 2
    b.log(f"warm-up: every service ok in watchctl summary (>= {warm:.0f}s)")
    t_start = time.monotonic()
    with ClientLimits():
        wait_until("watchctl summary did not show every service ok",
                   lambda: run_rc(ctl + ["summary"])[0] == 0,
                   args.settle_timeout, procs)
        wait_until("monit summary did not answer",
                   lambda: run_rc(["monit", "-c", monitrc,
                                   "summary"])[0] == 0,
                   args.settle_timeout, procs)
    b.sleep_while_alive(max(0.0, warm - (time.monotonic() - t_start)), procs)
    with ClientLimits():
        _, monit_summary = run_rc(["monit", "-c", monitrc, "summary"])
    monit_lines = monit_summary.decode(errors="replace").splitlines()
    monit_ok = sum(1 for line in monit_lines if " OK " in f" {line} ")

    b.log(f"idle window {args.window:g}s (load {b.loadavg()})")
    idle1 = lateness_window(watchd, args.window, procs)
    hwm0 = b.memory_kib(watchd.pid)

    b.log(f"{args.repeat} rounds of {len(cmds)} clients, interleaved "
          f"(load {b.loadavg()})")
    load_clients = b.loadavg()
    times = {k: [] for k in cmds}
    raw = {"status": [], "summary": []}
    with ClientLimits():
        for argv, codes in cmds.values():  # untimed: page cache
            timed(argv, codes)
        deadline = time.monotonic() + args.max_seconds
        for i in range(args.repeat):
            if i >= 5 and time.monotonic() > deadline:
                b.log(f"stopped after {i} rounds (--max-seconds "
                      f"{args.max_seconds:g})")
                break
            for key, (argv, codes) in cmds.items():
                times[key].append(timed(argv, codes))
                b.sleep_while_alive(0, procs)
            for cmd in raw:
                raw[cmd].append(raw_call(sock, cmd))
    load_clients += f" -> {b.loadavg()}"

    b.log(f"hammered window {args.window:g}s: watchctl status --json back to "
          f"back (load {b.loadavg()})")
    argv, codes = cmds["watchctl status --json"]
    with ClientLimits():
        hammered = lateness_window(watchd, args.window, procs,
                                   hammer=lambda: timed(argv, codes))
    hwm1 = b.memory_kib(watchd.pid)
    b.log(f"idle window {args.window:g}s (load {b.loadavg()})")
    idle2 = lateness_window(watchd, args.window, procs)
    session.stop(monit)
    session.stop(watchd.proc)
    return {
        "n": n,
        "times": times,
        "raw": raw,
        "idle1": idle1,
        "hammered": hammered,
        "idle2": idle2,
        "monit_summary_lines": len(monit_lines),
        "monit_ok": monit_ok,
        "load_clients": load_clients,
        "rss": (hwm0, hwm1),
    }


def report(args, results, load_start):
    r = b.Report("watchctl latency with 1,000 and 10,000 services, vs Monit "
                 "5.33", sys.argv, load_start)
    for res in results:
        n = res["n"]
        t = res["times"]
        limit = target_ms(n)
        med = {k: statistics.median(w for w, _ in v) for k, v in t.items()}

        def cell(key):
            v = t[key]
            walls = [w for w, _ in v]
            return (f"median {1000 * med[key]:.1f} ms, p90 "
                    f"{1000 * quantile(walls, 0.9):.1f} ms (client CPU "
                    f"{1000 * statistics.median(c for _, c in v):.1f} ms; "
                    f"{1000 * min(walls):.1f}-{1000 * max(walls):.1f})")

        for key in t:
            ok = None
            target = ""
            if key in ("watchctl summary", "watchctl status --json") and limit:
                target = f"median < {limit} ms"
                ok = 1000 * med[key] < limit
            r.row(f"{n:,}: `{key}`", cell(key), target, ok)
        r.row(f"{n:,}: watchd / Monit, summary",
              f"{med['watchctl summary'] / med['monit summary']:.2f}")
        if "monit status" in med:
            r.row(f"{n:,}: watchd / Monit, status --json / status",
                  f"{med['watchctl status --json'] / med['monit status']:.2f}"
                  f" (text status: "
                  f"{med['watchctl status'] / med['monit status']:.2f})")
        h, i1, i2 = res["hammered"], res["idle1"], res["idle2"]
        for cmd, v in res["raw"].items():
            first = [f for f, _, _ in v]
            full = [t for _, t, _ in v]
            r.row(f"{n:,}: watchd's answer to `{cmd}` (the protocol "
                  "without watchctl)",
                  f"first byte: median {1000 * statistics.median(first):.1f}"
                  f" ms, min {1000 * min(first):.1f}; whole reply "
                  f"({v[0][2] / 1e6:.2f} MB): median "
                  f"{1000 * statistics.median(full):.1f} ms")
        idle_busy = 100 * (i1.loop_ns + i2.loop_ns) / 1e9 / (
            i1.elapsed + i2.elapsed)
        busy = 100 * h.loop_ns / 1e9 / h.elapsed
        r.row(f"{n:,}: watchd's event loop on a CPU, idle / hammered",
              f"{idle_busy:.1f}% / {busy:.1f}% of the window ({h.calls} "
              f"`status --json` calls in {h.elapsed:.1f}s: "
              f"{10 * (busy - idle_busy) * h.elapsed / max(1, h.calls):.1f}"
              " ms more per call)")
        p99 = {k: b.histogram_quantile(0.99, w.lateness)[0]
               for k, w in (("i1", i1), ("h", h), ("i2", i2))}
        worst_idle = max(p99["i1"] or 0, p99["i2"] or 0)
        r.row(f"{n:,}: lateness, idle", fmt_lateness(i1) +
              f"; then again: {fmt_lateness(i2)}")
        # "Unchanged": a p99 moves by interpolation inside its bucket as
        # the counts do, so some slack, and never below the 0.5 ms bound.
        ok = (p99["h"] or 0) <= max(worst_idle * 1.5, 0.0005)
        r.row(f"{n:,}: lateness, hammered by `status --json`",
              fmt_lateness(h), "p99 <= max(1.5 x idle, 0.5 ms)", ok)
        r.row(f"{n:,}: probes in the windows (idle / hammered / idle)",
              f"{i1.probes:,.0f} / {h.probes:,.0f} / {i2.probes:,.0f} "
              f"({i1.probes / i1.span:,.0f}/s, expected "
              f"{n / b.parse_seconds(args.interval):,.0f}/s); failed "
              f"{i1.failed + h.failed + i2.failed:,.0f}")
        r.row(f"{n:,}: watchd RSS before / after hammering",
              f"{res['rss'][0][0] / 1024:.1f} / {res['rss'][1][0] / 1024:.1f}"
              f" MiB (peak {res['rss'][1][1] / 1024:.1f} MiB)")
        r.row(f"{n:,}: Monit summary lines, OK",
              f"{res['monit_summary_lines']:,}, {res['monit_ok']:,} OK")
        r.row(f"{n:,}: load average during the clients", res["load_clients"])
    rounds = ", ".join(
        f"{len(next(iter(res['times'].values())))} at {res['n']:,}"
        for res in results)
    r.note(f"rounds: {rounds}; the clients in turn within a "
           "round; wall time of the client process (fork to reap), stdout "
           "to /dev/null, soft RLIMIT_NOFILE 1024; watchd and Monit both "
           f"running, checks every {args.interval} (Monit: `set daemon` "
           "the same), against one nginx; Monit's httpd on a unix socket")
    r.note("reference from the issue: Monit 5.33's summary 29 ms at 1,000 "
           "services, 668 ms at 10,000")
    r.note("lateness buckets are 0.1, 0.5, 1, 2, 5, 10, 25 ms...: a p99 is "
           "interpolated inside its bucket")
    r.print()


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[1:]))
    parser.add_argument("--sizes", default="1000,10000",
                        help="numbers of services (default 1000,10000)")
    parser.add_argument("--repeat", type=int, default=15,
                        help="rounds of the clients per size (default 15)")
    parser.add_argument("--max-seconds", type=float, default=75,
                        help="stop the rounds of a size after this many "
                        "seconds, but not before 5 rounds (default 75)")
    parser.add_argument("--interval", default="5s",
                        help="checks' interval, and Monit's cycle (default "
                        "5s)")
    parser.add_argument("--window", type=float, default=15,
                        help="each lateness window, seconds (default 15)")
    parser.add_argument("--settle-timeout", type=float, default=90,
                        help="give up when a tool is not ready after this "
                        "many seconds (default 90)")
    parser.add_argument("--no-monit-status", action="store_true",
                        help="skip `monit status`")
    parser.add_argument("--watchctl", default=None,
                        help="watchctl binary (default: $WATCHCTL, else "
                        "beside watchd)")
    b.add_common_args(parser)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    b.require_tools("monit", "nginx")
    binary = b.watchd_binary(args.watchd)
    watchctl = watchctl_binary(args.watchctl, binary)
    b.raise_nofile(65536)
    b.wait_quiet(args.quiet_load, args.quiet_wait)
    load_start = b.loadavg()
    results = []
    with b.Session("watchctl-latency", keep=args.keep) as session:
        nginx = b.Nginx(session, args.nginx_workers)
        for n in sizes:
            results.append(measure_size(session, args, nginx, binary,
                                        watchctl, n))
    report(args, results, load_start)


if __name__ == "__main__":
    b.run_main(main)
