#!/usr/bin/env python3
"""Restart latency of a hung HTTP server (issue 3), watchd against Monit 5.33;
run through bench/restart_latency.sh.

A real supervisord (its own config in the temp dir) runs the test web app
(tests/servers/web_app.py, stopwaitsecs 1, startsecs 1). Both tools watch it
and 100 other HTTP services: 95 paths on one nginx and 5 checks of ports that
never answer (listeners that never accept, their backlog full, so a probe
hangs until its timeout). Only one tool runs at a time.

watchd: the app as service `web`, supervisor supervisord (XML-RPC over its
unix socket, pid from supervisord), one http check of /health: interval 1s,
timeout 1s, failures 3, jitter 0%, on_failure restart; stop_timeout 2s,
start_grace 1s, restart_backoff off, restart_limit 1000 in 1h. The others:
http checks at 1s, timeout 1s, on_failure alert.

Monit: `set daemon 1`; `check process web with pidfile` (the app writes it),
start/stop programs `supervisorctl -c CONF start|stop web`, `if failed port P
protocol http request /health with timeout 1 seconds for 3 cycles then
restart`; the others `check host` with `if failed port Q protocol http
request /PATH with timeout 1 seconds then alert`. Run in the foreground
(`monit -I`).

One hang: wait until the tool sees the app healthy (watchd: its
watchd_service_state is ok; Monit: the app is older than Monit's start
timeout, during which Monit skips port tests, and Monit logged the test
passing again, else one more failure restarts at once), wait a random 0 to
interval seconds, SIGSTOP the app's pid, then poll every 20 ms until GET /pid answers with a NEW pid; the time from the
SIGSTOP to that answer is the latency. The poll also records when the old pid
disappears (detection + stop). Baseline: the same hang repaired by hand
with `supervisorctl stop web; supervisorctl start web` at once (the stop/start
time). Targets: watchd's median <= interval x failures + timeout + the
baseline median + 200 ms, and <= 1/3 of Monit's median.
"""
import argparse
import math
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import time
import urllib.request

import benchlib as b

TAG = "WATCHD_BENCH_RESTART"
POLL = 0.02
APP = os.path.join(b.REPO_DIR, "tests", "servers", "web_app.py")


class Supervisord:
    """supervisord -n with one program, `web`, the test web app. Its
    children carry TAG=<dir> in their environment, so they can be found and
    killed whatever happened to supervisord."""

    def __init__(self, session, port, stopwaitsecs):
        b.require_tools("supervisord", "supervisorctl")
        self.session = session
        self.port = port
        self.pidfile = session.path("web.pid")
        self.sock = session.path("supervisor.sock")
        self.conf = session.write("supervisord.conf", f"""\
[unix_http_server]
file={self.sock}

[supervisord]
nodaemon=true
logfile={session.path("supervisord.log")}
pidfile={session.path("supervisord.pid")}
childlogdir={session.dir}
loglevel=info

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{self.sock}

[program:web]
command=/usr/bin/python3 {APP} --port {port} --pid-file {self.pidfile}
autostart=true
autorestart=true
startsecs=1
stopwaitsecs={stopwaitsecs}
environment={TAG}="{session.dir}"
stdout_logfile={session.path("web.log")}
redirect_stderr=true
""")
        self.proc = session.spawn(["/usr/bin/supervisord", "-n", "-c",
                                   self.conf], "supervisord.out")
        self.url = f"unix://{self.sock}"
        if not b_wait(lambda: app_pid(port) > 0, 60, [self.proc]):
            raise b.SetupError("the web app did not answer under supervisord:"
                               f"\n{b.tail(session.path('supervisord.log'))}")

    def tagged(self):
        tag = f"{TAG}={self.session.dir}\0".encode()
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/environ", "rb") as f:
                    if tag in f.read():
                        pids.append(int(entry))
            except OSError:
                pass
        return pids

    def close(self):
        # A stopped app would hold supervisord for stopwaitsecs.
        for pid in self.tagged():
            os.kill(pid, signal.SIGCONT)
        self.session.stop(self.proc)
        for pid in self.tagged():
            os.kill(pid, signal.SIGKILL)


def b_wait(cond, timeout, procs=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        for p in procs:
            if p.poll() is not None:
                raise b.SetupError(f"{p.args[0]} exited with status "
                                   f"{p.returncode}\n"
                                   f"{b.tail(getattr(p, 'log_path', ''))}")
        time.sleep(0.1)
    return cond()


def app_pid(port, timeout=0.1):
    """The pid the app reports at /pid, or 0."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/pid",
                                    timeout=timeout) as r:
            return int(r.read())
    except (OSError, ValueError):
        return 0


def gone(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in "ZX"
    except OSError:
        return True


def hang(port, limit):
    """SIGSTOPs the app; returns (seconds until the old pid was gone,
    seconds until a new pid answered), or None after `limit` seconds."""
    old = app_pid(port, 5)
    if old <= 0:
        raise b.SetupError("the web app does not answer before a hang")
    t0 = time.monotonic()
    os.kill(old, signal.SIGSTOP)
    t_gone = None
    while time.monotonic() - t0 < limit:
        if t_gone is None and gone(old):
            t_gone = time.monotonic() - t0
        pid = app_pid(port)
        if pid > 0 and pid != old:
            return (t_gone if t_gone is not None else float("nan"),
                    time.monotonic() - t0)
        time.sleep(POLL)
    os.kill(old, signal.SIGCONT)
    return None


# --- the others: 95 nginx paths and 5 black holes ----------------------------


def others(args, nginx, holes):
    """[(name, port, path)] of the 100 other services."""
    out = []
    for i in range(args.others - args.holes):
        out.append((f"o{i:03d}", nginx.port, f"/o{i:03d}"))
    for i in range(args.holes):
        out.append((f"hole{i}", holes[i % len(holes)].port, "/"))
    return out


def watchd_config(args, sup, port, metrics_port, services):
    lines = [
        "daemon:",
        f"  metrics_listen: 127.0.0.1:{metrics_port}",
        "  log_level: info",
        "supervisors:",
        f"  main: {{type: supervisord, url: \"{sup.url}\", timeout: 30s}}",
        "services:",
        "  web:",
        "    supervisor: main",
        "    program: web",
        f"    start_grace: {args.start_grace}",
        f"    stop_timeout: {args.stop_timeout}",
        "    restart_backoff: {initial: 0s, max: 5s}",
        "    restart_limit: {max: 1000, within: 1h}",
        "    checks:",
        "      health:",
        f"        http: {{url: \"http://127.0.0.1:{port}/health\"}}",
        f"        interval: {args.interval}s",
        f"        timeout: {args.timeout}s",
        f"        failures: {args.failures}",
        f"        jitter: {args.jitter}",
        "        on_failure: restart",
    ]
    for name, p, path in services:
        lines += [
            f"  {name}:",
            "    checks:",
            "      http:",
            f"        http: {{url: \"http://127.0.0.1:{p}{path}\"}}",
            f"        interval: {args.interval}s",
            f"        timeout: {args.timeout}s",
        ]
    return "\n".join(lines) + "\n"


def monitrc(args, session, sup, port, services):
    d = session.path("monit")
    os.makedirs(d, exist_ok=True)
    t = max(1, math.ceil(args.timeout))  # Monit takes whole seconds
    lines = [
        "set daemon 1",
        f"set log {d}/monit.log",
        f"set idfile {d}/monit.id",
        f"set statefile {d}/monit.state",
        f"set pidfile {d}/monit.pid",
        f"check process web with pidfile {sup.pidfile}",
        f"  start program = \"/usr/bin/supervisorctl -c {sup.conf} start web\""
        f" with timeout {args.monit_start_timeout} seconds",
        f"  stop program = \"/usr/bin/supervisorctl -c {sup.conf} stop web\""
        " with timeout 60 seconds",
        f"  if failed port {port} protocol http request /health with timeout "
        f"{t} seconds for {args.failures} cycles then restart",
    ]
    for name, p, path in services:
        lines += [
            f"check host {name} with address 127.0.0.1",
            f"  if failed port {p} protocol http request {path} with timeout "
            f"{t} seconds then alert",
        ]
    path = session.write("monitrc", "\n".join(lines) + "\n", 0o600)
    check = subprocess.run(["monit", "-t", "-c", path], capture_output=True,
                           text=True)
    if check.returncode != 0:
        raise b.SetupError("monit -t rejected the control file:\n" +
                           check.stdout + check.stderr)
    return path


# --- runs --------------------------------------------------------------------

_STATE = re.compile(r'^watchd_service_state\{([^}]*)\}\s+(\S+)', re.M)


def watchd_state(watchd):
    try:
        text = b.http_get(watchd.metrics_url, 10).decode()
    except OSError:
        return None
    for labels, value in _STATE.findall(text):
        if 'service="web"' in labels and float(value) == 1:
            m = re.search(r'state="([^"]*)"', labels)
            return m.group(1) if m else None
    return None


def run_hangs(what, count, port, limit, ready, procs, spread):
    results = []
    for i in range(count):
        if not b_wait(ready, 120, procs):
            raise b.SetupError(f"{what}: the app did not settle before hang "
                               f"{i + 1}")
        # Settling ends right after a probe; hang at a random phase of the
        # check's period instead.
        time.sleep(random.uniform(0, spread))
        r = hang(port, limit)
        if r is None:
            b.log(f"{what} hang {i + 1}: no new pid within {limit:g}s")
            results.append((float("nan"), float("inf")))
        else:
            b.log(f"{what} hang {i + 1}/{count}: old pid gone {r[0]:.2f}s, "
                  f"new pid answers {r[1]:.2f}s (load {b.loadavg()})")
            results.append(r)
    return results


def baseline(sup, port, count):
    out = []
    for _ in range(count):
        if not b_wait(lambda: app_pid(port) > 0, 60, [sup.proc]):
            raise b.SetupError("baseline: the app does not answer")
        old = app_pid(port, 5)
        t0 = time.monotonic()
        os.kill(old, signal.SIGSTOP)
        # Polled while supervisorctl runs: `start` returns only after
        # startsecs, the app answers before.
        ctl = f"/usr/bin/supervisorctl -c {sup.conf}"
        fix = subprocess.Popen(["/bin/sh", "-c", f"{ctl} stop web; {ctl} "
                                "start web"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        while app_pid(port) in (0, old):
            if time.monotonic() - t0 > 60:
                fix.kill()
                raise b.SetupError("baseline: no new pid within 60s")
            time.sleep(POLL)
        out.append(time.monotonic() - t0)
        fix.wait(60)
        b.log(f"baseline: {out[-1]:.2f}s")
    return out


def stats(values):
    finite = [v for v in values if v != float("inf")]
    if not finite:
        return float("inf"), float("inf")
    return statistics.median(values), max(values)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[1:]))
    parser.add_argument("--hangs", type=int, default=10,
                        help="hangs per tool (default 10)")
    parser.add_argument("--baseline-runs", type=int, default=3)
    parser.add_argument("--tool", choices=["watchd", "monit", "both"],
                        default="both")
    parser.add_argument("--others", type=int, default=100,
                        help="other HTTP services watched (default 100)")
    parser.add_argument("--holes", type=int, default=5,
                        help="how many of them never answer (default 5)")
    parser.add_argument("--interval", type=float, default=1)
    parser.add_argument("--timeout", type=float, default=1)
    parser.add_argument("--failures", type=int, default=3)
    parser.add_argument("--jitter", default="0%",
                        help="jitter of watchd's check of the app")
    parser.add_argument("--stop-timeout", default="2s")
    parser.add_argument("--start-grace", default="1s")
    parser.add_argument("--stopwaitsecs", type=int, default=1,
                        help="supervisord's stopwaitsecs for the app")
    parser.add_argument("--limit", type=float, default=120,
                        help="give up on one hang after this many seconds")
    parser.add_argument("--monit-start-timeout", type=int, default=5,
                        help="Monit's start program timeout, seconds "
                        "(default 5); Monit skips port tests of a process "
                        "younger than this")
    parser.add_argument("--settle", type=float, default=None,
                        help="Monit: at least this many seconds after the "
                        "app answers again before the next hang, and until "
                        "Monit logged the port test passing again (default: "
                        "the start timeout + 1)")
    b.add_common_args(parser)
    args = parser.parse_args()
    if args.settle is None:
        args.settle = args.monit_start_timeout + 1
    if not 0 <= args.holes <= args.others:
        parser.error("--holes must be between 0 and --others")

    b.require_tools("nginx")
    if args.tool != "watchd":
        b.require_tools("monit")
    binary = b.watchd_binary(args.watchd) if args.tool != "monit" else None
    b.raise_nofile(65536)
    b.wait_quiet(args.quiet_load, args.quiet_wait)
    load_start = b.loadavg()
    results = {}
    loads = {}
    holes = [b.BlackHole() for _ in range(max(1, args.holes))]
    sup = None
    try:
        with b.Session("restart-latency", keep=args.keep) as session:
            nginx = b.Nginx(session, args.nginx_workers)
            port = b.free_port()
            sup = Supervisord(session, port, args.stopwaitsecs)
            services = others(args, nginx, holes)
            base = baseline(sup, port, args.baseline_runs)

            if args.tool in ("watchd", "both"):
                metrics_port = b.free_port()
                config = session.write("watchd.yaml", watchd_config(
                    args, sup, port, metrics_port, services))
                watchd = b.Watchd(session, binary, config, metrics_port)
                b.log(f"watchd: {args.hangs} hangs (load {b.loadavg()})")
                loads["watchd"] = b.loadavg()
                results["watchd"] = run_hangs(
                    "watchd", args.hangs, port, args.limit,
                    lambda: watchd_state(watchd) == "ok", [watchd.proc],
                    args.interval)
                loads["watchd"] += f" -> {b.loadavg()}"
                session.stop(watchd.proc)
                with open(watchd.proc.log_path, errors="replace") as f:
                    log_text = f.read()
                results["watchd-sigkill"] = log_text.count("SIGKILL")

            if args.tool in ("monit", "both"):
                rc = monitrc(args, session, sup, port, services)
                monit = session.spawn(["monit", "-I", "-c", rc], "monit.out")
                b.log(f"monit: {args.hangs} hangs (load {b.loadavg()})")
                loads["monit"] = b.loadavg()
                monit_log = session.path("monit/monit.log")
                hangs_done = []
                answered = []

                def monit_ready():
                    # Monit keeps a failed test failed until it sees it
                    # pass: then one more failure restarts at once. So each
                    # hang waits for its log line "'web' connection
                    # succeeded" after the previous restart, and for the
                    # app to be older than the start timeout (Monit skips
                    # port tests of a younger process).
                    if app_pid(port, 1) <= 0:
                        answered.clear()
                        return False
                    if not answered:
                        answered.append(time.monotonic())
                    if time.monotonic() - answered[0] < args.settle:
                        return False
                    try:
                        with open(monit_log, errors="replace") as f:
                            ok = f.read().count("'web' connection succeeded")
                    except OSError:
                        ok = 0
                    if ok < len(hangs_done):
                        return False
                    answered.clear()
                    hangs_done.append(1)
                    return True

                time.sleep(args.settle)
                results["monit"] = run_hangs("monit", args.hangs, port,
                                             args.limit, monit_ready, [monit],
                                             args.interval)
                loads["monit"] += f" -> {b.loadavg()}"
                session.stop(monit)
                with open(session.path("monit/monit.log"),
                          errors="replace") as f:
                    results["monit-log"] = f.read()
            sup.close()
            sup = None
    finally:
        if sup is not None:
            sup.close()
        for h in holes:
            h.close()

    report(args, base, results, loads, load_start)


def fmt_runs(runs):
    return ", ".join(f"{t:.2f}" for _, t in runs)


def report(args, base, results, loads, load_start):
    r = b.Report("Restart latency of a hung (SIGSTOPped) HTTP server",
                 sys.argv, load_start)
    base_med = statistics.median(base) if base else 0.0
    r.row("baseline: SIGSTOP, then at once `supervisorctl stop web; "
          "supervisorctl start web`, until a new pid answers",
          f"median {base_med:.2f}s, max {max(base):.2f}s "
          f"({len(base)} runs: {', '.join(f'{t:.2f}' for t in base)})")
    bound = args.interval * args.failures + args.timeout + base_med + 0.2
    w_med = m_med = None
    if "watchd" in results:
        w = results["watchd"]
        w_med, w_max = stats([t for _, t in w])
        gone = [g for g, _ in w if g == g]
        r.row(f"watchd: SIGSTOP to new pid answering ({len(w)} hangs)",
              f"median {w_med:.2f}s, max {w_max:.2f}s",
              f"median <= {args.interval:g}s x {args.failures} + "
              f"{args.timeout:g}s + {base_med:.2f}s + 0.2s = {bound:.2f}s",
              w_med <= bound)
        r.row("watchd: SIGSTOP to old pid gone (detection + stop)",
              f"median {statistics.median(gone):.2f}s, max {max(gone):.2f}s"
              if gone else "n/a")
        r.row("watchd: each hang, s", fmt_runs(w))
        r.row("watchd: SIGKILLs sent by watchd (stop_timeout)",
              str(results.get("watchd-sigkill", 0)))
        r.row("watchd: load average during its hangs", loads["watchd"])
    if "monit" in results:
        m = results["monit"]
        m_med, m_max = stats([t for _, t in m])
        gone = [g for g, _ in m if g == g]
        r.row(f"Monit: SIGSTOP to new pid answering ({len(m)} hangs)",
              f"median {m_med:.2f}s, max {m_max:.2f}s")
        r.row("Monit: SIGSTOP to old pid gone (detection + stop)",
              f"median {statistics.median(gone):.2f}s, max {max(gone):.2f}s"
              if gone else "n/a")
        r.row("Monit: each hang, s", fmt_runs(m))
        r.row("Monit: load average during its hangs", loads["monit"])
        log_text = results.get("monit-log", "")
        r.row("Monit: 'restart' actions in its log",
              str(len(re.findall(r"'web' trying to restart", log_text))))
    if w_med is not None and m_med is not None:
        r.row("watchd median / Monit median", f"{w_med / m_med:.2f}",
              "<= 1/3", w_med <= m_med / 3)
    monit_note = (f"Monit's start timeout {args.monit_start_timeout}s (it "
                  "pauses port tests of a process younger than that); a "
                  f"Monit hang starts >= {args.settle:g}s after the app "
                  "answers again and once Monit logged the test passing "
                  "again; " if "monit" in results else "")
    r.note(f"the tool(s) also watch {args.others} other HTTP services, "
           f"{args.holes} of them never answering (timeout "
           f"{args.timeout:g}s); supervisord stopwaitsecs={args.stopwaitsecs},"
           f" startsecs=1; {monit_note}each hang starts after a random delay "
           f"of 0-{args.interval:g}s (random phase); the poll (GET /pid, "
           "every 20 ms, 100 ms timeout) resolves a time to ~0.1 s")
    r.print()


if __name__ == "__main__":
    b.run_main(main)
