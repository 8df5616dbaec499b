#!/usr/bin/env python3
"""State file writes under a restart storm (issue 9): 100 services whose
checks fail at once, all restarted, cost under 1% of a core in state
writing; run through bench/state_storm.sh.

Services: --services (100), each with its own process (`sleep`) named by a
pidfile, the `command` supervisor restarting it with `/bin/sh bounce.sh
{service}` (the script ends the service's process, starts a new one and
rewrites its pidfile: a restart that really replaces the process, so the
state file records new pids), and one `tcp` check (interval 1s, timeout
500ms, jitter 10%, failures 3, on_failure restart) of one TCP listener of
this script on 127.0.0.1; start_grace 2s, restart_backoff {initial: 0s},
restart_limit 1000 in 1h.

A storm: every service ok; the listener closes (connections refused), so
every check fails at once and every service turns hung and is restarted;
once watchd_restarts_total has grown by --services, the listener opens
again and the services pass their grace and turn ok; the storm ends 1.5 s
after the last one is ok (the state file is written about a second after a
change). --storms storms back to back make one run's window.

Runs: with `daemon.state_file` in the temp dir and without, alternately,
--rounds of each, a fresh watchd each. Without is `state_file: ""` if
watchd accepts it, else a state file in a directory that does not exist
(the snapshot is still taken; its save fails at open(), so no write and no
fsync); the report says which.

Measured over a run's window: watchd's CPU (utime+stime of all threads,
/proc/PID/stat, 10 ms ticks), the event loop's and the state writer
thread's CPU from /proc/PID/task/TID/schedstat (ns), and the state file's
writes (its inode, new at every rename, polled every 20 ms). The writer
thread (the one whose wchar grows by kilobytes) does the write, the
fsyncs and the rename; the loop takes the snapshot (the state's text)
once per write.

With perf (unless --no-perf), one more run with the state file under `perf
record --call-graph dwarf --no-inherit` attributes watchd's CPU samples to
the state code (a StateWriter, StateKeeper or StateFile function or
SerializeState in the call chain): on the loop, that is the snapshot.
The state's CPU = the writer thread's (schedstat) + the snapshot's (perf
share x watchd's CPU).

Target: the CPU watchd spends on the state file during a storm < 1% of a
core over the storm.
"""
import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time

import benchlib as b

_RESTARTS = re.compile(r'^watchd_restarts_total\{[^}]*\}\s+(\S+)', re.M)
_STATE_OK = re.compile(r'^watchd_service_state\{[^}]*state="ok"[^}]*\}\s+'
                       r'(\S+)', re.M)


class Listener:
    """A TCP listener on 127.0.0.1 that accepts and closes every connection
    on a thread; close() refuses connections (the port stays reserved for
    this script until open() binds it again)."""

    def __init__(self):
        self.port = b.free_port()
        self.sock = None
        self.thread = None
        self.stop = threading.Event()

    def open(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        deadline = time.monotonic() + 10
        while True:
            try:
                s.bind(("127.0.0.1", self.port))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise b.SetupError(f"cannot bind 127.0.0.1:{self.port}")
                time.sleep(0.05)
        s.listen(1024)
        s.settimeout(0.1)
        self.sock = s
        self.stop.clear()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            try:
                c, _ = self.sock.accept()
                c.close()
            except socket.timeout:
                continue
            except OSError:
                return

    def close(self):
        if self.sock is None:
            return
        self.stop.set()
        self.thread.join(5)
        self.sock.close()
        self.sock = None


class StateFileWatch:
    """Counts the state file's writes (a new inode at every rename) by
    polling it every 20 ms on a thread."""

    def __init__(self, path):
        self.path = path
        self.writes = 0
        self.size = 0
        self.last = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                st = os.stat(self.path)
                key = (st.st_ino, st.st_mtime_ns, st.st_size)
                if key != self.last:
                    if self.last is not None:
                        self.writes += 1
                    self.last = key
                    self.size = st.st_size
            except OSError:
                pass
            self._stop.wait(0.02)

    def stop(self):
        self._stop.set()
        self._thread.join(5)


def tasks(pid):
    """{tid: (ns on a CPU, bytes written by write(2) and the like)} of
    every thread. The state writer is the thread that writes kilobytes:
    the scrape server's workers send() (not counted) and write 8 bytes to
    an eventfd per scrape."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                run = int(f.read().split()[0])
            with open(f"/proc/{pid}/task/{tid}/io") as f:
                wchar = int(next(line for line in f
                                 if line.startswith("wchar:")).split()[1])
        except (OSError, StopIteration, ValueError):
            continue
        out[int(tid)] = (run, wchar)
    return out


def scrape(watchd):
    text = b.http_get(watchd.metrics_url, 30).decode()
    restarts = sum(float(v) for v in _RESTARTS.findall(text))
    ok = sum(1 for v in _STATE_OK.findall(text) if float(v) == 1)
    return restarts, ok


def wait_for(what, predicate, timeout, procs, period=0.25):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise b.SetupError(f"{what} within {timeout:.0f}s")
        b.sleep_while_alive(period, procs)


BOUNCE = """\
#!/bin/sh
# bounce SERVICE: ends the service's process, starts a new one, rewrites
# its pidfile (atomically).
f={dir}/pids/$1.pid
[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
sleep {tag} </dev/null >/dev/null 2>&1 &
echo $! > "$f.tmp" && mv -f "$f.tmp" "$f"
"""


def config(args, session, listener, metrics_port, state_file):
    d = session.dir
    lines = [
        "daemon:",
        f"  metrics_listen: 127.0.0.1:{metrics_port}",
        "  log_level: warn",
        f"  control_socket: \"{d}/control.sock\"",
        f"  state_file: \"{state_file}\"",
        "supervisors:",
        f"  bounce: {{type: command, restart: [/bin/sh, \"{d}/bounce.sh\", "
        "\"{service}\"], timeout: 10s}",
        "defaults:",
        f"  interval: {args.interval}",
        "  timeout: 500ms",
        "  jitter: 10%",
        f"  failures: {args.failures}",
        "services:",
    ]
    width = len(str(args.services))
    for i in range(args.services):
        name = f"svc{i:0{width}d}"
        lines += [
            f"  {name}:",
            "    supervisor: bounce",
            f"    pidfile: \"{d}/pids/{name}.pid\"",
            f"    start_grace: {args.start_grace}",
            "    stop_timeout: 10s",
            "    restart_limit: {max: 1000, within: 1h}",
            "    restart_backoff: {initial: 0s, max: 1s}",
            "    checks:",
            "      port:",
            f"        tcp: {{host: 127.0.0.1, port: {listener.port}}}",
            "        on_failure: restart",
        ]
    name = "state" if state_file.startswith(session.path("state")) else \
        "nostate"
    return session.write(f"watchd-{name}.yaml", "\n".join(lines) + "\n")


def service_names(args):
    width = len(str(args.services))
    return [f"svc{i:0{width}d}" for i in range(args.services)]


def kill_tagged(tag):
    """Ends every `sleep TAG` left (the services' processes)."""
    want = f"sleep\0{tag}\0".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if f.read() == want:
                    os.kill(int(entry), 9)
        except OSError:
            pass


def storm(args, watchd, listener, procs):
    """One storm; returns its duration, restarts and time to restart."""
    n = args.services
    r0, ok = scrape(watchd)
    if ok != n:
        raise b.SetupError(f"only {ok} of {n} services ok before a storm")
    t0 = time.monotonic()
    listener.close()
    wait_for("not every service restarted",
             lambda: scrape(watchd)[0] >= r0 + n, 60, procs)
    t_restarted = time.monotonic()
    listener.open()
    wait_for("not every service ok again after the storm",
             lambda: scrape(watchd)[1] == n, 60, procs)
    b.sleep_while_alive(1.5, procs)
    t1 = time.monotonic()
    r1, _ = scrape(watchd)
    return {"duration": t1 - t0, "restarts": r1 - r0,
            "to_restart": t_restarted - t0}


def run(args, session, binary, listener, with_state, perf=None):
    """A fresh watchd, warm-up, --storms storms; what the window saw."""
    d = session.dir
    state_dir = os.path.join(d, "state")
    shutil.rmtree(state_dir, ignore_errors=True)
    os.makedirs(state_dir)
    state_path = (os.path.join(state_dir, "state.json") if with_state else
                  args.baseline_path)
    metrics_port = b.free_port()
    path = config(args, session, listener, metrics_port, state_path)
    watchd = b.Watchd(session, binary, path, metrics_port)
    procs = [watchd.proc]
    try:
        wait_for("not every service ok after the start",
                 lambda: scrape(watchd)[1] == args.services,
                 30 + 5 * args.failures, procs, period=0.5)
        b.sleep_while_alive(args.warmup, procs)
        watch = StateFileWatch(state_path) if with_state else None
        if watch:
            time.sleep(0.1)
        perf_proc = None
        if perf:
            perf_proc = subprocess.Popen(
                ["perf", "record", "-q", "-F", str(args.perf_freq), "-e",
                 "cpu-clock", "--call-graph", "dwarf,16384", "--no-inherit",
                 "-p",
                 str(watchd.pid), "-o", perf], stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=open(perf + ".log", "wb"))
            time.sleep(1)
        load = b.loadavg()
        t0 = time.monotonic()
        c0 = b.cpu_times(watchd.pid)
        k0 = tasks(watchd.pid)
        storms = [storm(args, watchd, listener, procs)
                  for _ in range(args.storms)]
        t1 = time.monotonic()
        c1 = b.cpu_times(watchd.pid)
        k1 = tasks(watchd.pid)
        if perf_proc:
            perf_proc.send_signal(2)
            try:
                perf_proc.wait(60)
            except subprocess.TimeoutExpired:
                perf_proc.kill()
                perf_proc.wait(5)
        if watch:
            watch.stop()
        rss, hwm = b.memory_kib(watchd.pid)
    finally:
        session.stop(watchd.proc)
    threads = {}
    for tid, (run_ns, wchar) in k1.items():
        r0, w0 = k0.get(tid, (0, 0))
        threads[tid] = (run_ns - r0, wchar - w0)
    loop_ns = threads.get(watchd.pid, (0, 0))[0]
    others = {tid: v for tid, v in threads.items() if tid != watchd.pid}
    writer = max(others.items(), key=lambda kv: kv[1][1], default=None)
    writer_ns = writer[1][0] if writer and writer[1][1] >= 1024 else None
    return b.Window(
        with_state=with_state,
        load=load,
        elapsed=t1 - t0,
        cpu=sum(c1) - sum(c0),
        utime=c1[0] - c0[0],
        stime=c1[1] - c0[1],
        loop_ns=loop_ns,
        threads=others,
        writer_ns=writer_ns,
        storms=storms,
        writes=watch.writes if watch else 0,
        state_bytes=watch.size if watch else 0,
        rss=rss,
        pid=watchd.pid,
    )


STATE_FRAMES = ("StateWriter::", "StateKeeper::", "StateFile::",
                "SerializeState")


def perf_state(path, pid):
    """Of watchd's samples (its own threads, not its children): how many,
    and how many have a state function in their call chain, on the loop
    thread and on the others (the writer), from `perf script`."""
    out = subprocess.run(
        ["perf", "script", "-i", path, "--no-inline", "-F",
         "pid,tid,ip,sym"],
        capture_output=True, text=True, timeout=600)
    total = loop = other = 0
    for block in out.stdout.split("\n\n"):
        lines = block.strip("\n").split("\n")
        if not lines or "/" not in lines[0]:
            continue
        p, t = lines[0].split()[0].split("/")
        if int(p) != pid:
            continue
        total += 1
        if any(f in line for line in lines[1:] for f in STATE_FRAMES):
            if int(t) == pid:
                loop += 1
            else:
                other += 1
    return {"total": total, "loop": loop, "other": other}


def baseline(args, session, binary, listener):
    """The state_file of the runs without one: "" (off), if this watchd
    accepts it; else a path in a directory that does not exist (the
    snapshot is still taken, its save fails at open(): no write, no
    fsync)."""
    path = config(args, session, listener, b.free_port(), "")
    check = subprocess.run([binary, "-c", path, "--check-config"],
                           capture_output=True, text=True)
    if check.returncode == 0:
        return "", '`state_file: ""` (off)'
    missing = session.path("missing-dir/state.json")
    why = (check.stderr.strip().splitlines() or ["?"])[0]
    why = why.replace(session.dir + "/", "")
    return missing, ('`state_file: ""` is refused by this watchd ('
                     f"{why}): a state_file in a missing directory instead "
                     "(snapshot taken, save fails at open: no write, no "
                     "fsync)")


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[1:]))
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--storms", type=int, default=3,
                        help="storms per run (default 3)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="runs with and without the state file, "
                        "alternately (default 2 each)")
    parser.add_argument("--interval", default="1s")
    parser.add_argument("--failures", type=int, default=3)
    parser.add_argument("--start-grace", default="2s")
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--target", type=float, default=1.0,
                        help="%% of a core (default 1)")
    parser.add_argument("--no-perf", action="store_true",
                        help="skip the perf run")
    parser.add_argument("--perf-freq", type=int, default=1999)
    b.add_common_args(parser)
    args = parser.parse_args()
    if args.services < 1 or args.storms < 1 or args.rounds < 1:
        parser.error("--services, --storms and --rounds must be >= 1")

    binary = b.watchd_binary(args.watchd)
    use_perf = not args.no_perf and shutil.which("perf") is not None
    b.raise_nofile(65536)
    b.wait_quiet(args.quiet_load, args.quiet_wait)
    load_start = b.loadavg()
    runs = []
    perf_run = None
    perf = None
    listener = Listener()
    tag = f"{99999 + os.getpid() % 1000}.{int(time.time()) % 100000}"
    try:
        with b.Session("state-storm", keep=args.keep) as session:
            os.makedirs(session.path("pids"))
            session.write("bounce.sh", BOUNCE.format(dir=session.dir,
                                                     tag=tag), 0o755)
            for name in service_names(args):
                subprocess.run(["/bin/sh", session.path("bounce.sh"), name],
                               check=True)
            time.sleep(0.1)
            args.baseline_path, args.baseline = baseline(args, session,
                                                         binary, listener)
            b.log(f"baseline: {args.baseline}")
            listener.open()
            for i in range(args.rounds):
                order = (True, False) if i % 2 == 0 else (False, True)
                for with_state in order:
                    b.log(f"round {i + 1}/{args.rounds}: "
                          f"{'with' if with_state else 'without'} state file"
                          f", {args.storms} storms (load {b.loadavg()})")
                    w = run(args, session, binary, listener, with_state)
                    b.log(f"  watchd CPU {1000 * w.cpu:.0f} ms in "
                          f"{w.elapsed:.1f}s, writes {w.writes}")
                    runs.append(w)
            if use_perf:
                b.log(f"perf run with state file (load {b.loadavg()})")
                perf_path = session.path("perf.data")
                perf_run = run(args, session, binary, listener, True,
                               perf=perf_path)
                b.log("perf script (the call chains)")
                perf = perf_state(perf_path, perf_run.pid)
    finally:
        listener.close()
        kill_tagged(tag)
    report(args, runs, perf_run, perf, load_start)


def report(args, runs, perf_run, perf, load_start):
    with_s = [w for w in runs if w.with_state]
    without = [w for w in runs if not w.with_state]
    n_storms = args.storms

    def per_storm_ms(ws, f):
        return [1000 * f(w) / n_storms for w in ws]

    def fmt_list(values, digits=1):
        return ", ".join(f"{v:.{digits}f}" for v in values)

    storm_s = statistics.median(s["duration"] for w in runs
                                for s in w.storms)
    restarts = [s["restarts"] for w in runs for s in w.storms]
    to_restart = [s["to_restart"] for w in runs for s in w.storms]
    cpu_with = per_storm_ms(with_s, lambda w: w.cpu)
    cpu_without = per_storm_ms(without, lambda w: w.cpu)
    loop_with = per_storm_ms(with_s, lambda w: w.loop_ns / 1e9)
    loop_without = per_storm_ms(without, lambda w: w.loop_ns / 1e9)
    others_with = per_storm_ms(
        with_s, lambda w: sum(ns for ns, _ in w.threads.values()) / 1e9)
    others_without = per_storm_ms(
        without, lambda w: sum(ns for ns, _ in w.threads.values()) / 1e9)
    writer = per_storm_ms(
        [w for w in with_s if w.writer_ns is not None],
        lambda w: w.writer_ns / 1e9)
    writes = [w.writes / n_storms for w in with_s]

    r = b.Report(f"State file writes under a restart storm of "
                 f"{args.services} services", sys.argv, load_start)
    r.row("storm", f"{args.services} services hung at once, restarted "
          f"(restarts per storm: {min(restarts):.0f}-{max(restarts):.0f}); "
          f"all restarted {statistics.median(to_restart):.1f}s after the "
          f"listener closed; storm to all ok + 1.5s: median {storm_s:.1f}s")
    r.row("state file writes per storm", f"{fmt_list(writes)} "
          f"(file {with_s[0].state_bytes / 1024:.1f} KiB)")
    r.row("watchd CPU per storm, with state file",
          f"{fmt_list(cpu_with)} ms (median "
          f"{statistics.median(cpu_with):.1f})")
    r.row("watchd CPU per storm, without (baseline below)",
          f"{fmt_list(cpu_without)} ms (median "
          f"{statistics.median(cpu_without):.1f})")
    r.row("event loop CPU per storm, with / without",
          f"{fmt_list(loop_with)} / {fmt_list(loop_without)} ms (medians "
          f"{statistics.median(loop_with):.1f} / "
          f"{statistics.median(loop_without):.1f})")
    r.row("other threads (state writer, scrape server, reaper): CPU per "
          "storm, with / without",
          f"{fmt_list(others_with, 2)} / {fmt_list(others_without, 2)} ms")
    saves = sum(w.writes for w in with_s)
    if writer:
        r.row("state writer thread: CPU per storm (write, fsyncs, rename)",
              f"{fmt_list(writer, 2)} ms; "
              f"{1000 * sum(writer) * n_storms / max(1, saves):.0f} µs per "
              "save")
    diff = statistics.median(cpu_with) - statistics.median(cpu_without)
    r.row("with - without, medians, per storm",
          f"{diff:.1f} ms = {diff / 10 / storm_s:.2f}% of a core over a "
          f"{storm_s:.1f}s storm")
    writer_ms = statistics.median(writer) if writer else 0.0
    state_ms = writer_ms
    state_ms_s = (f"{writer_ms:.2f} ms per storm (the writer thread, "
                  "schedstat; no perf: the snapshot on the loop not counted)")
    if perf_run is not None and perf and perf["total"]:
        perf_cpu = 1000 * perf_run.cpu / n_storms
        snapshot_ms = perf["loop"] / perf["total"] * perf_cpu
        r.row("perf: watchd's samples with the state code in their chain",
              f"{perf['loop']} on the loop (the snapshot: "
              f"{snapshot_ms:.2f} ms per storm), {perf['other']} on the "
              f"writer ({perf['other'] / perf['total'] * perf_cpu:.2f} ms), "
              f"of {perf['total']:,}; watchd CPU {perf_cpu:.1f} ms per storm "
              "under perf")
        state_ms = writer_ms + snapshot_ms
        state_ms_s = (f"{state_ms:.2f} ms per storm (writer thread "
                      f"{writer_ms:.2f}, schedstat; snapshot on the loop "
                      f"{snapshot_ms:.2f}, perf)")
    pct = state_ms / 10 / storm_s
    r.row("CPU of the state file per storm", f"{state_ms_s} = {pct:.3f}% "
          f"of a core over a {storm_s:.1f}s storm",
          f"< {args.target:g}% of a core", pct < args.target)
    r.note(f"{args.rounds} runs each with and without the state file, "
           f"alternately, {n_storms} storms per run, a fresh watchd per run; "
           f"checks tcp every {args.interval}, failures {args.failures}, "
           f"start_grace {args.start_grace}; the restart is /bin/sh "
           "bounce.sh (a new `sleep`, a new pidfile), whose CPU is not "
           "watchd's")
    r.note(f"without: {args.baseline}")
    r.note("watchd CPU: utime+stime in 10 ms ticks; loop and writer: "
           "schedstat (ns)")
    r.print()


if __name__ == "__main__":
    b.run_main(main)
