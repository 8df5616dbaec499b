#!/usr/bin/env python3
"""CPU of pid lookups through supervisord: 1,000 services under a real
supervisord, each with a `process` and a `memory` check at 10s, their pids
asked of supervisord, against the same services found through pidfiles;
watchd's CPU with supervisord <= 2x with pidfiles. Run through
bench/supervision_lookup.sh.

The script starts supervisord with --services programs (`sleep 100000`,
output to /dev/null), waits until all are RUNNING, and writes a pidfile for
each (after it started). Then, --rounds times, one watchd with every
service on the supervisor (`supervisor: sd`, no pidfile: a lookup per check
run goes to supervisord, batched), then one with the pidfiles and no
supervisor; each watchd is measured for --duration seconds after --warmup.
Reported: watchd's utime+stime (/proc/PID/stat, all threads) as % of one
core, and the event loop's exact CPU (schedstat), summed over the rounds;
supervisord's CPU over the same windows; probes and failures from
/metrics.
"""
import argparse
import http.client
import os
import signal
import socket
import sys
import time
import xmlrpc.client

import benchlib as b


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


class UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path):
        super().__init__()
        self.path = path

    def make_connection(self, host):
        return UnixConnection(self.path, 60)


def supervisord_conf(session, programs, sock):
    d = session.dir
    lines = [
        f"[unix_http_server]\nfile={sock}\n",
        f"[supervisord]\nnodaemon=true\nlogfile={d}/supervisord.log\n"
        f"pidfile={d}/supervisord.pid\nchildlogdir={d}\nloglevel=warn\n"
        # Three pipes per program, and some room.
        f"minfds={3 * len(programs) + 1024}\n",
        "[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = "
        "supervisor.rpcinterface:make_main_rpcinterface\n",
    ]
    for name in programs:
        lines.append(f"[program:{name}]\ncommand=/bin/sleep 100000\n"
                     "autostart=true\nstartsecs=0\nstdout_logfile=NONE\n"
                     "stderr_logfile=NONE\n")
    return session.write("supervisord.conf", "\n".join(lines))


def wait_running(proxy, proc, count, timeout):
    """{program: pid} once all `count` programs run."""
    deadline = time.monotonic() + timeout
    running = {}
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise b.SetupError(f"supervisord exited with status "
                               f"{proc.returncode}\n{b.tail(proc.log_path)}")
        try:
            infos = proxy.supervisor.getAllProcessInfo()
        except (OSError, xmlrpc.client.Error):
            infos = []
        running = {i["name"]: i["pid"] for i in infos
                   if i["statename"] == "RUNNING"}
        if len(running) == count:
            return running
        time.sleep(2)
    raise b.SetupError(f"only {len(running)} of {count} programs running "
                       f"after {timeout:g}s")


def stop_programs(session, supervisord):
    """Stops supervisord, which stops its programs, and kills any it left:
    it takes a while to stop 1,000 of them, and a supervisord killed
    meanwhile leaves the rest to init."""
    try:
        with open(f"/proc/{supervisord.pid}/task/{supervisord.pid}/"
                  "children") as f:
            children = [int(p) for p in f.read().split()]
    except OSError:
        children = []
    session.stop(supervisord, timeout=120)
    for pid in children:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if f.read() != b"/bin/sleep\x00100000\x00":
                    continue  # gone, and its pid reused
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def measure(args, session, binary, programs, sock, supervisord):
    """(load average, Totals with supervisord, Totals with pidfiles)."""
    proxy = xmlrpc.client.ServerProxy("http://localhost",
                                      transport=UnixTransport(sock))
    pids = wait_running(proxy, supervisord, len(programs), 600)
    # Process start times are in clock ticks; a pidfile written in the
    # same tick could look older than its process.
    time.sleep(0.1)
    pidfiles = {name: session.write(f"{name}.pid", f"{pid}\n")
                for name, pid in pids.items()}
    b.wait_quiet(args.quiet_load, args.quiet_wait)
    load = b.loadavg()
    with_supervisor, with_pidfiles = Totals(), Totals()
    for _ in range(args.rounds):
        for totals, path in (
                (with_supervisor,
                 lambda port: config(args, session, port, programs,
                                     sock=sock)),
                (with_pidfiles,
                 lambda port: config(args, session, port, programs,
                                     pidfiles=pidfiles))):
            totals.add(*run_case(args, session, binary, path, supervisord,
                                 [supervisord]))
    return load, with_supervisor, with_pidfiles


def config(args, session, metrics_port, programs, sock=None, pidfiles=None):
    lines = [
        "daemon:",
        f"  metrics_listen: 127.0.0.1:{metrics_port}",
        "  log_level: warn",
        "defaults:",
        f"  interval: {args.interval}",
        f"  jitter: {args.jitter}",
    ]
    if sock:
        lines += ["supervisors:",
                  f"  sd: {{type: supervisord, url: unix://{sock}, "
                  "timeout: 10s}"]
    lines.append("services:")
    for name in programs:
        lines.append(f"  {name}:")
        if sock:
            lines += ["    supervisor: sd", f"    program: {name}"]
        else:
            lines.append(f"    pidfile: {pidfiles[name]}")
        lines += [
            "    checks:",
            "      alive: {process: {}}",
            f"      mem: {{memory: {{rss_max: {args.rss_max}}}}}",
        ]
    name = "watchd-supervisor.yaml" if sock else "watchd-pidfile.yaml"
    return session.write(name, "\n".join(lines) + "\n")


class Totals:
    """Sums of the windows of one case over the rounds."""

    def __init__(self):
        self.elapsed = self.cpu = self.loop = self.supervisord = 0.0
        self.probes = self.failed = 0
        self.runs = []
        self.duration = {}  # le -> count, over every service

    def add(self, window, supervisord_cpu):
        self.elapsed += window.elapsed
        self.cpu += window.cpu_seconds
        self.loop += window.loop_run_pct * window.elapsed / 100
        self.supervisord += supervisord_cpu
        self.probes += window.count()
        self.failed += window.failed()
        self.runs.append(100 * window.cpu_seconds / window.elapsed)
        for buckets in window.duration.values():
            for le, n in buckets.items():
                self.duration[le] = self.duration.get(le, 0) + n

    def pct(self, seconds):
        return 100 * seconds / self.elapsed

    def per_probe(self, seconds):
        return 1e6 * seconds / max(1, self.probes)


def run_case(args, session, binary, path, supervisord, procs):
    metrics_port = b.free_port()
    path = path(metrics_port)
    watchd = b.Watchd(session, binary, path, metrics_port)
    b.log(f"{path}: warm-up {args.warmup:g}s")
    b.sleep_while_alive(args.warmup, [watchd.proc, *procs])
    b.log(f"measuring {args.duration:g}s (load {b.loadavg()})")
    s0 = b.cpu_seconds(supervisord.pid)
    window = b.measure_watchd(watchd, args.duration, procs=procs)
    s1 = b.cpu_seconds(supervisord.pid)
    session.stop(watchd.proc)
    return window, s1 - s0


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[1:]))
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--interval", default="10s")
    parser.add_argument("--jitter", default="10%")
    parser.add_argument("--rss-max", default="1GiB")
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=15)
    parser.add_argument("--rounds", type=int, default=2,
                        help="supervisor then pidfile watchd, this many "
                        "times (default 2)")
    parser.add_argument("--target", type=float, default=2,
                        help="CPU with supervisord / CPU with pidfiles "
                        "(default 2)")
    b.add_common_args(parser)
    args = parser.parse_args()
    if args.services < 1 or args.rounds < 1:
        parser.error("--services and --rounds must be >= 1")

    binary = b.watchd_binary(args.watchd)
    b.require_tools("supervisord")
    b.raise_nofile(65536)
    with b.Session("supervision-lookup", keep=args.keep) as session:
        width = len(str(args.services - 1))
        programs = [f"svc{i:0{width}d}" for i in range(args.services)]
        sock = session.path("supervisor.sock")
        conf = supervisord_conf(session, programs, sock)
        supervisord = session.spawn(["supervisord", "-n", "-c", conf],
                                    "supervisord.out")
        b.log(f"supervisord starting {args.services} programs")
        try:
            load, with_supervisor, with_pidfiles = measure(
                args, session, binary, programs, sock, supervisord)
        finally:
            stop_programs(session, supervisord)

    expected = 2 * args.services / b.parse_seconds(args.interval)
    r = b.Report(f"Pid lookups through supervisord, {args.services:,} "
                 f"services x (process + memory) at {args.interval}",
                 sys.argv, load)
    for label, t in (("with supervisord", with_supervisor),
                     ("with pidfiles", with_pidfiles)):
        r.row(f"{label}: watchd CPU",
              f"{t.pct(t.cpu):.3f}% of a core ({t.per_probe(t.cpu):.1f} µs "
              f"per probe; runs: "
              f"{', '.join(f'{x:.3f}%' for x in t.runs)})")
        r.row(f"{label}: event loop on a CPU (schedstat)",
              f"{t.pct(t.loop):.3f}% ({t.per_probe(t.loop):.1f} µs per "
              "probe)")
        r.row(f"{label}: probes/s, failed",
              f"{t.probes / t.elapsed:,.1f} (expected {expected:,.1f}); "
              f"failed {t.failed:,.0f}")
        r.row(f"{label}: probe duration p50 / p99 (the lookup included)",
              f"{b.fmt_quantile(b.histogram_quantile(0.5, t.duration))} / "
              f"{b.fmt_quantile(b.histogram_quantile(0.99, t.duration))}")
        r.row(f"{label}: supervisord CPU", f"{t.pct(t.supervisord):.2f}% of "
              "a core")
    ratio = with_supervisor.cpu / max(with_pidfiles.cpu, 1e-9)
    r.row("watchd CPU, supervisord / pidfiles", f"{ratio:.2f}",
          f"<= {args.target:g}", ratio <= args.target)
    loop_ratio = with_supervisor.loop / max(with_pidfiles.loop, 1e-9)
    r.row("event loop CPU, supervisord / pidfiles", f"{loop_ratio:.2f}")
    r.note(f"{args.rounds} rounds of {args.duration:g}s windows after "
           f"{args.warmup:g}s warm-up, supervisor case first; CPU from "
           f"/proc/PID/stat in ticks (1/{b.CLK_TCK} s): "
           f"+-{100 / b.CLK_TCK / with_pidfiles.elapsed:.3f}% over a case's "
           "windows; the programs are `/bin/sleep 100000` under one "
           "supervisord, which the pidfiles name too")
    r.print()


if __name__ == "__main__":
    b.run_main(main)
