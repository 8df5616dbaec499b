#!/usr/bin/env python3
"""Live reload (issue 9): `watchctl reload` of a configuration of N checks
(10,000) with one check changed between reloads, while they run; then
`monit reload` of an equivalent control file; run through bench/reload.sh.

One nginx (`return 200 "ok"`) serves both tools, one after the other (the
nginx request counter, sampled every 20 ms, then tells each tool's probes).

watchd: N services of one http check (bench/gen_config.py N, interval
--interval, default 10s, jitter 10%: ~N/10 probes/s), log_level info (for
the "reloaded ..." line), its control socket and state file in the temp
dir. Once `watchctl summary` reports every service ok, three windows of
--window seconds (default 20), each between two scrapes of /metrics:

  before    no reload
  reloads   --reloads `watchctl reload` (default 6), evenly spaced over
            all but the last --margin (4) seconds of the window; before
            each, one more service's check gets another `timeout` (the
            file is replaced by a rename), so each reload finds exactly
            one changed check
  after     no reload

  reload time    wall time of `watchctl reload` (fork to reap: it returns
                 once the new configuration is in force); median and max;
                 the verdict is on the max
  loop time      from watchd's "control: reload by" log line to its
                 "reloaded" line (millisecond stamps: the time the reload
                 held the loop); the loop thread's CPU time across each
                 call (/proc/PID/task/PID/schedstat), less the before
                 window's rate, and its time runnable but waiting for a CPU
  stall          the longest stretch around each reload in which nginx saw
                 no request (20 ms samples): how long probes stopped
  lateness       p50/p99/p99.9 of watchd_scheduler_lateness_seconds from
                 the bucket deltas of each window (interpolated in a bucket,
                 as Prometheus' histogram_quantile), runs later than 5 ms
  failures       probes of each window that did not succeed (a reload
                 holding the loop longer than a check's --timeout turns
                 probes in flight into timeouts), beside the probes in
                 flight on average (Little's law over the before window)
  counters       every watchd_probes_total series of an unchanged check at
                 the end of the reloads window >= at its start (a sanity
                 assertion: MISS when one dropped or vanished); the changed
                 checks' series are reported apart
  log            each reload's "reloaded ...: N services; added: ...;
                 removed: ...; changed: ...; K checks unchanged" line must
                 name exactly the service changed

Then, outside the windows: --sighup-reloads (3) reloads by SIGHUP, each
with one more check changed, timed from watchd's own log (its "received
...: reloading" and "reloaded" lines, millisecond stamps: the time the
reload held the loop, the client excluded); --noop-reloads (3) `watchctl
reload` with nothing changed; and `watchd --check-config` on the same file
(3 runs), the parsing and validation a reload starts with. With --perf,
`perf record` of the loop thread (cpu-clock, dwarf call chains) over three
more reloads, its samples split by the reload's steps.

Monit 5.33: N `check host` with one `if failed port P protocol http` test
each (bench/gen_monitrc.py N), `set daemon` = the interval, its HTTP
interface on a unix socket, in the foreground (`monit -I`). After its
first full cycle, --monit-reloads (4) reloads, each with one more host's
test changed (a `timeout`), each sent while Monit sleeps between cycles:
the wall time of `monit reload` (the client parses the control file, then
sends SIGHUP), the time to Monit's "Reinitializing Monit" and "Monit
reloaded" log lines (the file polled every 5 ms), to its first probe
after it (nginx's counter), and to N probes after it (every host checked
again). Monit's reload re-initialises everything: it stops its HTTP
interface, saves its state, frees every service, parses the whole file,
restores what its state file keeps, restarts the interface, then runs a
full cycle at once.

Targets: `watchctl reload` < 1 s (max); lateness p99 across the reloads
<= max(1.5 x the before window's, 0.5 ms); no unchanged check's counter
dropped; every reload's log line names the one changed service.
"""
import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time

import benchlib as b

RELOADED = re.compile(r"reloaded (\S+): (\d+) services; added: (.*); "
                      r"removed: (.*); changed: (.*); (\d+) checks unchanged")
STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})")
PROBES = re.compile(r'^watchd_probes_total(\{[^}]*\})\s+(\S+)')
LATENESS = re.compile(r'^watchd_scheduler_lateness_seconds_bucket'
                      r'\{le="([^"]+)"\}\s+(\S+)')
SERVICE = re.compile(r'service="([^"]*)"')


def watchctl_binary(path, watchd):
    path = path or os.environ.get("WATCHCTL") or os.path.join(
        os.path.dirname(watchd), "watchctl")
    if not os.access(path, os.X_OK):
        raise b.SetupError(f"no watchctl binary at {path} (set WATCHCTL or "
                           "--watchctl)")
    return path


# --- helpers -------------------------------------------------------------


def timed(argv, ok_codes=(0,)):
    """(wall seconds, stdout) of one client run (fork to reap)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate(timeout=10)
        raise b.SetupError(f"{' '.join(argv)} did not finish within 120s")
    wall = time.perf_counter() - start
    if proc.returncode not in ok_codes:
        raise b.SetupError(f"{' '.join(argv)} exited with {proc.returncode}:"
                           f"\n{err.decode(errors='replace')[-2000:]}")
    return wall, out.decode(errors="replace")


def run_rc(argv, timeout=120):
    try:
        out = subprocess.run(argv, stdin=subprocess.DEVNULL,
                             capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    return out.returncode


def wait_until(what, predicate, timeout, procs, period=0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in procs:
            if p.poll() is not None:
                raise b.SetupError(f"{what}: {p.args[0]} exited with status "
                                   f"{p.returncode}\n"
                                   f"{b.tail(getattr(p, 'log_path', ''))}")
        if predicate():
            return time.monotonic()
        time.sleep(period)
    raise b.SetupError(f"{what} within {timeout:.0f}s")


def sleep_until(t, procs):
    b.sleep_while_alive(max(0.0, t - time.monotonic()), procs)


class LogWatch:
    """Reads a growing log file every `period` seconds on a thread and
    stamps each complete new line with the monotonic time it was seen."""

    def __init__(self, path, period=0.005):
        self.path = path
        self.period = period
        self.lines = []  # (monotonic, text)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        pos, partial = 0, b""
        while not self._stop.is_set():
            try:
                with open(self.path, "rb") as f:
                    f.seek(pos)
                    data = f.read()
            except OSError:
                data = b""
            if data:
                pos += len(data)
                now = time.monotonic()
                parts = (partial + data).split(b"\n")
                partial = parts.pop()
                with self._lock:
                    self.lines += [(now, p.decode(errors="replace"))
                                   for p in parts]
            self._stop.wait(self.period)

    def since(self, index):
        with self._lock:
            return self.lines[index:]

    def mark(self):
        with self._lock:
            return len(self.lines)

    def wait_for(self, start, pattern, timeout, procs=()):
        """The first line from index `start` matching `pattern`: (time seen,
        text); bounded by `timeout`."""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while time.monotonic() < deadline:
            for t, line in self.since(start):
                if rx.search(line):
                    return t, line
            for p in procs:
                if p.poll() is not None:
                    raise b.SetupError(f"{p.args[0]} exited (status "
                                       f"{p.returncode})")
            time.sleep(0.005)
        raise b.SetupError(f"no log line matching {pattern!r} within "
                           f"{timeout:.0f}s in {self.path}")

    def stop(self):
        self._stop.set()
        self._thread.join(5)


class CounterSampler:
    """nginx's request counter every `period` seconds on a thread, less
    the sampler's own requests."""

    def __init__(self, nginx, period=0.02):
        self.nginx = nginx
        self.period = period
        self.samples = []  # (monotonic, requests)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        asked = 0  # this sampler's own earlier requests, which nginx counts
        while not self._stop.is_set():
            try:
                n = self.nginx.requests() - asked
            except OSError:
                n = None
            asked += 1
            if n is not None:
                with self._lock:
                    self.samples.append((time.monotonic(), n))
            self._stop.wait(self.period)

    def between(self, t0, t1):
        with self._lock:
            return [s for s in self.samples if t0 <= s[0] <= t1]

    def latest(self):
        with self._lock:
            return self.samples[-1] if self.samples else (time.monotonic(), 0)

    def stop(self):
        self._stop.set()
        self._thread.join(5)


def longest_stall(samples):
    """The longest time between two samples of the counter in which it did
    not grow (from the last sample that saw growth to the next that
    does), in seconds."""
    worst = 0.0
    start = None
    for i in range(1, len(samples)):
        (ta, na), (tb, nb) = samples[i - 1], samples[i]
        if nb == na:
            if start is None:
                start = ta
        else:
            if start is not None:
                worst = max(worst, tb - start)
                start = None
    if start is not None:
        worst = max(worst, samples[-1][0] - start)
    return worst


def parse_scrape(text):
    """{labels: count} of watchd_probes_total, {le: cumulative} of the
    lateness histogram, and the sum of the probe durations (seconds)."""
    probes, lateness = {}, {}
    durations = 0.0
    for line in text.splitlines():
        if line.startswith("watchd_probe_duration_seconds_sum{"):
            durations += float(line.rsplit(None, 1)[1])
        elif line.startswith("watchd_probes_total{"):
            m = PROBES.match(line)
            if m:
                probes[m.group(1)] = float(m.group(2))
        elif line.startswith("watchd_scheduler_lateness_seconds_bucket"):
            m = LATENESS.match(line)
            if m:
                le = float("inf") if m.group(1) == "+Inf" else float(m.group(1))
                lateness[le] = float(m.group(2))
    return probes, lateness, durations


def results_delta(after, before):
    """{result label: probes} between two scrapes."""
    out = {}
    for key, value in after.items():
        m = re.search(r'result="([^"]*)"', key)
        result = m.group(1) if m else "?"
        out[result] = out.get(result, 0) + value - before.get(key, 0)
    return out


def fmt_lateness(buckets):
    p50 = b.histogram_quantile(0.5, buckets)
    p99 = b.histogram_quantile(0.99, buckets)
    p999 = b.histogram_quantile(0.999, buckets)
    total = buckets.get(float("inf"), 0)
    top = min((le for le, n in buckets.items() if n >= total),
              default=float("inf"))
    late = total - buckets.get(0.005, 0)
    top_s = "+Inf" if top == float("inf") else f"{top * 1000:g} ms"
    return (f"p50 {b.fmt_quantile(p50)}, p99 {b.fmt_quantile(p99)}, "
            f"p99.9 {b.fmt_quantile(p999)}; all <= {top_s}; "
            f"{late:,.0f} runs > 5 ms of {total:,.0f}")


def ms(seconds):
    return f"{1000 * seconds:.0f} ms"


def spread(values):
    return (f"median {ms(statistics.median(values))}, max {ms(max(values))}"
            f" ({', '.join(f'{1000 * v:.0f}' for v in values)})")


def log_time(line):
    """The millisecond stamp of a watchd log line, in seconds of the day's
    clock (only differences are used)."""
    m = STAMP.match(line)
    if not m:
        return None
    stamp = m.group(1)
    hh, mm, rest = stamp[11:13], stamp[14:16], stamp[17:]
    return int(hh) * 3600 + int(mm) * 60 + float(rest)


# --- watchd ----------------------------------------------------------------


class Configs:
    """The generated file, and copies of it with some services' checks
    given another timeout (`changes`: {service index: timeout ms})."""

    def __init__(self, base_path, out_path):
        with open(base_path) as f:
            self.lines = f.read().split("\n")
        self.out_path = out_path
        # index of each service's check interval line, by service index
        self.where = {}
        self.timeout_at = {}  # the check's own timeout line, if any
        service = None
        for i, line in enumerate(self.lines):
            m = re.match(r"^  (svc|hole)(\d+):$", line)
            if m:
                service = int(m.group(2))
            elif service is not None and line.startswith("        interval:"):
                self.where[service] = i
            elif service is not None and line.startswith("        timeout:"):
                self.timeout_at[service] = i
        self.width = len(str(len(self.where)))
        self.changes = {}

    def name(self, index):
        return f"svc{index:0{self.width}d}"

    def write(self):
        after, instead = {}, {}
        for svc, ms in self.changes.items():
            if svc in self.timeout_at:
                instead[self.timeout_at[svc]] = ms
            else:
                after[self.where[svc]] = ms
        out = []
        for i, line in enumerate(self.lines):
            out.append(f"        timeout: {instead[i]}ms" if i in instead
                       else line)
            if i in after:
                out.append(f"        timeout: {after[i]}ms")
        tmp = self.out_path + ".tmp"
        with open(tmp, "w") as f:
            f.write("\n".join(out))
        os.replace(tmp, self.out_path)

    def change(self, k):
        """One more service's check changed; returns its name."""
        n = len(self.where)
        index = (k * 1237 + 17) % n
        while index in self.changes:
            index = (index + 1) % n
        self.changes[index] = 1500 + (k % 400)
        self.write()
        return self.name(index)


def perf_split(path, tid):
    """The loop thread's samples in the perf file, by the reload step in
    their chain, and the hottest leaf functions inside reloads."""
    out = subprocess.run(
        ["perf", "script", "-i", path, "--no-inline", "-F", "tid,ip,sym"],
        capture_output=True, text=True, timeout=600)
    steps = {"LoadConfig, in yaml-cpp": 0, "LoadConfig, the rest": 0,
             "PlanReload": 0,
             "ApplyReload": 0, "Reload, other": 0, "loop, not reloading": 0}
    leaves = {}
    total = 0
    for block in out.stdout.split("\n\n"):
        lines = [x for x in block.strip("\n").split("\n") if x.strip()]
        if not lines:
            continue
        head = lines[0].split()
        try:
            t = int(head[0])
        except (ValueError, IndexError):
            continue
        if t != tid:
            continue
        total += 1
        frames = lines[1:] if len(head) <= 1 else lines
        chain = " ".join(frames)
        if "Daemon::Reload" not in chain:
            steps["loop, not reloading"] += 1
            continue
        if "LoadConfig" in chain:
            steps["LoadConfig, in yaml-cpp" if "YAML::" in chain else
                  "LoadConfig, the rest"] += 1
        elif "PlanReload" in chain:
            steps["PlanReload"] += 1
        elif "ApplyReload" in chain:
            steps["ApplyReload"] += 1
        else:
            steps["Reload, other"] += 1
        syms = [" ".join(f.split()[1:]) for f in frames]
        leaf = next((x for x in syms if x and x != "[unknown]"),
                    "[unknown]")[:90]
        leaves[leaf] = leaves.get(leaf, 0) + 1
    return total, steps, sorted(leaves.items(), key=lambda kv: -kv[1])[:8]


def watchd_phase(session, args, nginx, binary, watchctl):
    d = session.path("watchd")
    os.makedirs(os.path.join(d, "state"))
    sock = os.path.join(d, "control.sock")
    metrics_port = b.free_port()
    base = b.gen_config(
        args.checks, os.path.join(d, "base.yaml"), port=nginx.port,
        interval=args.interval, timeout=args.timeout, jitter="10%",
        metrics_listen=f"127.0.0.1:{metrics_port}", log_level="info",
        control_socket=sock,
        state_file=os.path.join(d, "state", "state.json"))
    configs = Configs(base, os.path.join(d, "watchd.yaml"))
    configs.write()
    config_bytes = os.path.getsize(configs.out_path)

    b.log(f"watchd: {args.checks:,} http checks at {args.interval} "
          f"(load {b.loadavg()})")
    watchd = b.Watchd(session, binary, configs.out_path, metrics_port)
    procs = [watchd.proc, nginx.proc]
    log = LogWatch(watchd.proc.log_path)
    ctl = [watchctl, "-s", sock, "--no-color"]
    started = time.monotonic()
    warm = b.parse_seconds(args.interval) * 1.1 + 2
    b.log(f"warm-up: every service ok in watchctl summary (>= {warm:.0f}s)")
    wait_until("watchctl summary did not show every service ok",
               lambda: run_rc(ctl + ["summary"]) == 0, args.settle_timeout,
               procs, period=1)
    sleep_until(started + warm, procs)
    timed([watchctl, "--help"])  # page cache
    client = statistics.median(timed([watchctl, "--help"])[0]
                               for _ in range(5))

    counter = CounterSampler(nginx)
    res = {"config_bytes": config_bytes, "client": client}

    b.log(f"before window {args.window:g}s (load {b.loadavg()})")
    res["load_before"] = b.loadavg()
    raw0 = watchd.scrape_raw()
    t0, l0 = time.monotonic(), b.loop_schedstat(watchd.pid)
    sleep_until(t0 + args.window, procs)
    t1, l1 = time.monotonic(), b.loop_schedstat(watchd.pid)
    raw1 = watchd.scrape_raw()
    base_run = (l1[0] - l0[0]) / 1e9 / (t1 - t0)
    base_wait = (l1[1] - l0[1]) / 1e9 / (t1 - t0)
    res["loop_base"] = (base_run, base_wait)

    b.log(f"reloads window {args.window:g}s: {args.reloads} x watchctl "
          f"reload (load {b.loadavg()})")
    res["load_reloads"] = b.loadavg()
    t2 = time.monotonic()
    # The last reload ends well before the window does: the runs it held
    # up are counted in this window, not the next.
    step = max(0.0, args.window - args.margin - 0.5) / args.reloads
    reloads = []
    for i in range(args.reloads):
        sleep_until(t2 + 0.5 + i * step, procs)
        name = configs.change(i)
        mark = log.mark()
        sa, ta = b.loop_schedstat(watchd.pid), time.monotonic()
        wall, out = timed(ctl + ["reload"])
        sb, tb = b.loop_schedstat(watchd.pid), time.monotonic()
        _, line = log.wait_for(mark, r"reloaded ", 10, procs)
        _, begin = log.wait_for(mark, r"control: reload by", 10, procs)
        a, z = log_time(begin), log_time(line)
        reloads.append({
            "logged": (z - a + (86400 if z < a else 0)
                       if a is not None and z is not None else None),
            "service": name, "wall": wall, "t": (ta, tb),
            "loop_run": (sb[0] - sa[0]) / 1e9 - base_run * (tb - ta),
            "loop_wait": (sb[1] - sa[1]) / 1e9 - base_wait * (tb - ta),
            "line": line, "reply": out.strip()})
    sleep_until(t2 + args.window, procs)
    raw2 = watchd.scrape_raw()
    t3 = time.monotonic()

    b.log(f"after window {args.window:g}s (load {b.loadavg()})")
    sleep_until(t3 + args.window, procs)
    raw3 = watchd.scrape_raw()
    res["load_after"] = b.loadavg()

    # Stalls: around each reload, from 0.2 s before its call to 0.5 s
    # after; and the same length of the before window, as a reference.
    for r in reloads:
        ta, tb = r["t"]
        r["stall"] = longest_stall(counter.between(ta - 0.2, tb + 0.5))
    span = statistics.median(r["t"][1] - r["t"][0] for r in reloads) + 0.7
    ref = [longest_stall(counter.between(t0 + k, t0 + k + span))
           for k in range(1, int(args.window - span))]
    res["stall_ref"] = max(ref) if ref else float("nan")

    b.log(f"{args.sighup_reloads} reloads by SIGHUP, {args.noop_reloads} "
          f"with nothing changed, {args.check_config} --check-config")
    sighup = []
    for i in range(args.sighup_reloads):
        configs.change(args.reloads + i)
        mark = log.mark()
        os.kill(watchd.pid, signal.SIGHUP)
        _, begin = log.wait_for(mark, r"received .*: reloading", 30, procs)
        _, end = log.wait_for(mark, r"reloaded ", 30, procs)
        a, z = log_time(begin), log_time(end)
        if a is not None and z is not None:
            sighup.append(z - a + (86400 if z < a else 0))
        b.sleep_while_alive(1.0, procs)
    noop = []
    for _ in range(args.noop_reloads):
        mark = log.mark()
        noop.append(timed(ctl + ["reload"])[0])
        _, line = log.wait_for(mark, r"reloaded ", 10, procs)
        res["noop_line"] = line
        b.sleep_while_alive(1.0, procs)
    check = [timed([binary, "-c", configs.out_path, "--check-config"])[0]
             for _ in range(args.check_config)]
    res.update(sighup=sighup, noop=noop, check=check)

    if args.perf:
        b.log("perf record of the loop thread over 3 reloads")
        path = session.path("perf.data")
        perf = subprocess.Popen(
            ["perf", "record", "-q", "-F", str(args.perf_freq), "-e",
             "cpu-clock", "--call-graph", "dwarf,16384", "-t",
             str(watchd.pid), "-o", path], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(path + ".log", "wb"))
        time.sleep(1)
        perf_walls = []
        for i in range(3):
            configs.change(args.reloads + args.sighup_reloads + i)
            perf_walls.append(timed(ctl + ["reload"])[0])
            time.sleep(0.5)
        perf.send_signal(signal.SIGINT)
        try:
            perf.wait(60)
        except subprocess.TimeoutExpired:
            perf.kill()
            perf.wait(5)
        b.log("perf script")
        res["perf"] = perf_split(path, watchd.pid) + (perf_walls,)

    counter.stop()
    rss = b.memory_kib(watchd.pid)
    code = session.stop(watchd.proc)
    log.stop()
    if code != 0:
        raise b.SetupError(f"watchd exited with status {code}:\n"
                           f"{b.tail(watchd.proc.log_path)}")

    b.log("parsing the scrapes")
    scrapes = [parse_scrape(raw[0]) for raw in (raw0, raw1, raw2, raw3)]
    del raw0, raw1, raw2, raw3
    res["windows"] = [
        b.bucket_delta(scrapes[i + 1][1], scrapes[i][1]) for i in range(3)]
    res["probes"] = [sum(s[0].values()) for s in scrapes]
    res["results"] = [results_delta(scrapes[i + 1][0], scrapes[i][0])
                      for i in range(3)]
    # Little's law over the before window: probes in flight on average.
    res["in_flight"] = (scrapes[1][2] - scrapes[0][2]) / (t1 - t0)
    changed = {r["service"] for r in reloads}
    p_start, p_end = scrapes[1][0], scrapes[2][0]
    dropped, vanished, kept, changed_series = [], [], 0, []
    for key, value in p_start.items():
        svc = SERVICE.search(key)
        svc = svc.group(1) if svc else ""
        after = p_end.get(key)
        if svc in changed:
            changed_series.append((svc, value, after))
            continue
        if after is None:
            vanished.append(key)
        elif after < value:
            dropped.append((key, value, after))
        else:
            kept += 1
    res.update(reloads=reloads, kept=kept, dropped=dropped,
               vanished=vanished, changed_series=changed_series,
               series=(len(p_start), len(p_end)), rss=rss)
    return res


# --- Monit -----------------------------------------------------------------


class MonitConfigs:
    def __init__(self, path, n, port, monit_dir, daemon, sock):
        with open(path, "w") as f:
            subprocess.run([sys.executable,
                            os.path.join(b.BENCH_DIR, "gen_monitrc.py"),
                            str(n), "--port", str(port), "--dir", monit_dir,
                            "--daemon", str(daemon), "--httpd-socket", sock],
                           stdout=f, check=True)
        os.chmod(path, 0o600)
        with open(path) as f:
            self.lines = f.read().split("\n")
        self.path = path
        self.tests = {}
        host = None
        for i, line in enumerate(self.lines):
            m = re.match(r"^check host h(\d+) ", line)
            if m:
                host = int(m.group(1))
            elif host is not None and line.startswith("  if failed port"):
                self.tests[host] = i
        self.changes = {}

    def change(self, k):
        n = len(self.tests)
        index = (k * 1237 + 17) % n
        while index in self.changes:
            index = (index + 1) % n
        self.changes[index] = 3 + k % 20
        out = list(self.lines)
        for host, secs in self.changes.items():
            at = self.tests[host]
            out[at] = out[at].replace(" protocol http then",
                                      f" protocol http timeout {secs} "
                                      "seconds then")
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.write("\n".join(out))
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)


def wait_quiet_counter(counter, quiet, timeout, procs):
    """Until nginx's counter has not moved for `quiet` seconds (Monit
    asleep between cycles)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        t, n = counter.latest()
        recent = counter.between(t - quiet, t)
        if recent and recent[0][0] <= t - quiet + 0.05 and recent[0][1] == n:
            return
        b.sleep_while_alive(0.05, procs)
    raise b.SetupError(f"Monit never paused {quiet:g}s between cycles "
                       f"within {timeout:.0f}s")


def wait_counter(counter, at_least, timeout, procs):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for t, n in counter.between(0, time.monotonic()):
            if n >= at_least:
                return t
        b.sleep_while_alive(0.02, procs)
    raise b.SetupError(f"nginx did not reach {at_least:,} requests within "
                       f"{timeout:.0f}s")


def first_after(counter, t0, value):
    """The time of the first sample after t0 whose count exceeds value."""
    for t, n in counter.between(t0, time.monotonic()):
        if n > value:
            return t
    return None


def monit_phase(session, args, nginx):
    d = session.path("monit")
    os.makedirs(os.path.join(d, "files"))
    daemon = max(1, round(b.parse_seconds(args.interval)))
    rc = MonitConfigs(os.path.join(d, "monitrc"), args.checks, nginx.port,
                      os.path.join(d, "files"), daemon,
                      os.path.join(d, "monit.sock"))
    check = subprocess.run(["monit", "-t", "-c", rc.path],
                           capture_output=True, text=True)
    if check.returncode != 0:
        raise b.SetupError("monit -t rejected the control file:\n" +
                           check.stdout + check.stderr)
    rc.change(10_000)  # the changed test's syntax, checked once
    check = subprocess.run(["monit", "-t", "-c", rc.path],
                           capture_output=True, text=True)
    if check.returncode != 0:
        raise b.SetupError("monit -t rejected the changed control file:\n" +
                           check.stdout + check.stderr)

    counter = CounterSampler(nginx)
    b.log(f"Monit: {args.checks:,} hosts, set daemon {daemon} "
          f"(load {b.loadavg()})")
    n0 = nginx.requests()
    monit = session.spawn(["monit", "-I", "-c", rc.path], "monit.out")
    procs = [monit, nginx.proc]
    log = LogWatch(os.path.join(d, "files", "monit.log"))
    log.wait_for(0, r"Monit .* started", 60, procs)
    t_first = wait_counter(counter, n0 + args.checks, 120, procs)
    b.log("Monit's first cycle done")
    res = {"load": b.loadavg(), "reloads": []}
    for i in range(args.monit_reloads):
        wait_quiet_counter(counter, 0.5, 3 * daemon + 30, procs)
        rc.change(i)
        mark = log.mark()
        _, n_before = counter.latest()
        t0 = time.monotonic()
        wall, _ = timed(["monit", "-c", rc.path, "reload"])
        t_begin, _ = log.wait_for(mark, r"Reinitializing Monit --", 120, procs)
        t_done, _ = log.wait_for(mark, r"Monit reloaded", 120, procs)
        t_full = wait_counter(counter, n_before + args.checks,
                              120 + 3 * daemon, procs)
        t_probe = first_after(counter, t_begin, n_before)
        res["reloads"].append({
            "client": wall, "begin": t_begin - t0, "done": t_done - t0,
            "reinit": t_done - t_begin,
            "probe": (t_probe - t0) if t_probe else float("nan"),
            "full": t_full - t0})
        b.log(f"monit reload {i + 1}: Monit reloaded after "
              f"{t_done - t0:.2f}s, every host checked after "
              f"{t_full - t0:.2f}s")
    # Its state after a reload: which events it logs anew.
    res["log_tail"] = [line for _, line in log.since(0)
                       if "Reinit" in line or "reloaded" in line][:3]
    res["cpu"] = b.cpu_seconds(monit.pid)
    res["first_cycle"] = t_first
    session.stop(monit)
    log.stop()
    counter.stop()
    return res


# --- report ----------------------------------------------------------------


def report(args, w, m, load_start):
    r = b.Report(f"Reload of {args.checks:,} checks with one changed, vs "
                 "Monit 5.33", sys.argv, load_start)
    reloads = w["reloads"]
    walls = [x["wall"] for x in reloads]
    worst = max(walls)
    r.row("`watchctl reload`, one check changed (wall, fork to reap)",
          spread(walls), "max < 1 s", worst < 1.0)
    logged = [x["logged"] for x in reloads if x["logged"] is not None]
    if logged:
        r.row("... of which on the loop: from watchd's \"control: reload "
              "by\" to its \"reloaded\" line (ms stamps)", spread(logged))
    r.row("... the event loop thread's CPU per reload (schedstat, less its "
          "idle rate) / runnable but waiting for a CPU",
          f"median {ms(statistics.median(x['loop_run'] for x in reloads))} "
          f"/ {ms(statistics.median(x['loop_wait'] for x in reloads))}; "
          f"max {ms(max(x['loop_run'] for x in reloads))} / "
          f"{ms(max(x['loop_wait'] for x in reloads))}")
    if w["sighup"]:
        r.row("reload by SIGHUP, one check changed: from watchd's "
              "\"received ...: reloading\" to its \"reloaded\" line (ms "
              "stamps; the loop held)", spread(w["sighup"]))
    if w["noop"]:
        r.row("`watchctl reload`, nothing changed", spread(w["noop"]))
    if w["check"]:
        r.row("`watchd --check-config` on the same file "
              f"({w['config_bytes'] / 1e6:.1f} MB)", spread(w["check"]))
    r.row("watchctl's own start (`watchctl --help`)", ms(w["client"]))
    stalls = [x["stall"] for x in reloads]
    r.row("longest stretch without a probe reaching nginx, around each "
          "reload (20 ms samples)",
          f"{spread(stalls)}; any {w['stalls_span']:.1f} s of the before "
          f"window: {ms(w['stall_ref'])}")

    before, during, after = w["windows"]
    p99 = {k: b.histogram_quantile(0.99, v)
           for k, v in (("b", before), ("d", during), ("a", after))}
    r.row("lateness, before (no reload)", fmt_lateness(before))
    limit = max(1.5 * (p99["b"][0] or 0), 0.0005)
    ok = (p99["d"][0] is not None and not p99["d"][1]
          and p99["d"][0] <= limit)
    r.row(f"lateness across the {len(reloads)} reloads "
          f"({args.window:g} s window)", fmt_lateness(during),
          f"p99 <= max(1.5 x before, 0.5 ms) = {1000 * limit:.2f} ms", ok)
    r.row("lateness, after", fmt_lateness(after))
    late_extra = ((during[float("inf")] - during.get(0.005, 0)) -
                  (before[float("inf")] - before.get(0.005, 0)))
    r.row("runs > 5 ms late per reload (across, less before)",
          f"{late_extra / len(reloads):,.0f} (at "
          f"{args.checks / b.parse_seconds(args.interval):,.0f} runs/s)")
    probes = w["probes"]
    failed = [sum(v for k, v in res.items() if k != "success")
              for res in w["results"]]
    r.row("probes in the windows (before / across / after); not successes",
          " / ".join(f"{probes[i + 1] - probes[i]:,.0f}" for i in range(3)) +
          "; " + " / ".join(f"{f:,.0f}" for f in failed) +
          (" (" + ", ".join(f"{k} {v:,.0f}" for k, v in
                            sorted(w["results"][1].items()) if v) + ")"
           if failed[1] else "") +
          f"; probes in flight on average {w['in_flight']:.1f} (before "
          "window: probe time / window)")

    bad = len(w["dropped"]) + len(w["vanished"])
    r.row("unchanged checks' `watchd_probes_total` series, start -> end of "
          "the reloads window",
          f"{w['kept']:,} kept and grew or held; {len(w['dropped'])} "
          f"dropped, {len(w['vanished'])} vanished (series {w['series'][0]:,}"
          f" -> {w['series'][1]:,})", "none dropped", bad == 0)
    reset = sum(1 for _, v, a in w["changed_series"]
                if a is not None and a < v)
    gone = sum(1 for _, _, a in w["changed_series"] if a is None)
    r.row("changed checks' series",
          f"{len(w['changed_series'])}: {reset} restarted from 0, {gone} "
          "vanished, the others went on")
    good = 0
    for x in reloads:
        mm = RELOADED.search(x["line"])
        if (mm and mm.group(5) == x["service"] and mm.group(3) == "none"
                and mm.group(4) == "none"
                and int(mm.group(6)) == args.checks - 1):
            good += 1
    sample = RELOADED.search(reloads[0]["line"])
    r.row("log lines \"reloaded ...\" naming exactly the changed service",
          f"{good} of {len(reloads)}; e.g. `reloaded ...: "
          f"{sample.group(0).split(': ', 1)[1] if sample else '?'}`",
          f"{len(reloads)}", good == len(reloads))
    if "perf" in w:
        total, steps, leaves, perf_walls = w["perf"]
        reload_samples = total - steps["loop, not reloading"]
        r.row("perf, loop thread over 3 reloads "
              f"({', '.join(ms(x) for x in perf_walls)}): samples by step",
              "; ".join(f"{k} {100 * v / max(1, reload_samples):.0f}%"
                        for k, v in steps.items()
                        if k != "loop, not reloading") +
              f" (of {reload_samples:,} in reloads; "
              f"{steps['loop, not reloading']:,} outside)")
        r.row("perf, hottest leaves in reloads",
              "; ".join(f"{k} {100 * v / max(1, reload_samples):.0f}%"
                        for k, v in leaves))
    r.row("watchd load average: before / reloads / after",
          f"{w['load_before']} / {w['load_reloads']} / {w['load_after']}")

    if m:
        mr = m["reloads"]
        r.row("Monit: `monit reload` client (parses the file, then SIGHUP)",
              spread([x["client"] for x in mr]))
        r.row("Monit: reload to \"Reinitializing Monit\" in its log",
              spread([x["begin"] for x in mr]))
        r.row("Monit: reinit (\"Reinitializing\" to \"Monit reloaded\")",
              spread([x["reinit"] for x in mr]))
        r.row("Monit: reload to \"Monit reloaded\" (checking again)",
              spread([x["done"] for x in mr]))
        r.row("Monit: reload to its first probe after it",
              spread([x["probe"] for x in mr]))
        r.row(f"Monit: reload to every host checked again ({args.checks:,} "
              "probes)", spread([x["full"] for x in mr]))
        r.row("Monit load average", m["load"])
        wmed = statistics.median(walls)
        mdone = statistics.median(x["done"] for x in mr)
        mfull = statistics.median(x["full"] for x in mr)
        r.row("watchd / Monit: `watchctl reload` vs reload to \"Monit "
              "reloaded\" (medians)", f"{wmed / mdone:.3f} "
              f"({ms(wmed)} vs {ms(mdone)}); vs every host checked again: "
              f"{wmed / mfull:.3f} ({ms(mfull)})")
    r.note(f"{args.checks:,} http checks at {args.interval} (jitter 10%, "
           f"timeout {args.timeout or '2s'}) against one nginx on "
           "127.0.0.1; each reload gives one more service's check another "
           "`timeout` (file replaced by rename); windows "
           f"{args.window:g} s between scrapes of /metrics; reloads evenly "
           f"spaced in theirs, the last {args.margin:g} s left free")
    r.note("Monit: as many `check host` with one `protocol http` test, "
           "`set daemon` = the interval, reloads sent while it sleeps "
           "between cycles, one more host's test changed each time; "
           "Monit's reload stops its HTTP interface, saves its state, "
           "frees every service, parses the whole file again, restores "
           "the state file's part and runs a full cycle at once")
    r.note("lateness buckets are 0.1, 0.5, 1, 2, 5, 10, 25, 50, 100, "
           "250 ms...: a p99 is interpolated inside its bucket")
    r.print()


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[1:]))
    parser.add_argument("--checks", type=int, default=10000)
    parser.add_argument("--interval", default="10s",
                        help="checks' interval, and Monit's cycle (10s)")
    parser.add_argument("--timeout", default=None,
                        help="checks' timeout (default: watchd's 2s)")
    parser.add_argument("--window", type=float, default=20,
                        help="each lateness window, seconds (default 20)")
    parser.add_argument("--reloads", type=int, default=6,
                        help="watchctl reloads in the reloads window (6)")
    parser.add_argument("--margin", type=float, default=4,
                        help="seconds left after the last reload's start "
                        "in its window (default 4)")
    parser.add_argument("--sighup-reloads", type=int, default=3)
    parser.add_argument("--noop-reloads", type=int, default=3)
    parser.add_argument("--check-config", type=int, default=3,
                        help="runs of watchd --check-config (3)")
    parser.add_argument("--monit-reloads", type=int, default=4)
    parser.add_argument("--no-monit", action="store_true",
                        help="watchd only")
    parser.add_argument("--perf", action="store_true",
                        help="perf record of the loop over 3 more reloads")
    parser.add_argument("--perf-freq", type=int, default=999)
    parser.add_argument("--settle-timeout", type=float, default=90)
    parser.add_argument("--watchctl", default=None,
                        help="watchctl binary (default: $WATCHCTL, else "
                        "beside watchd)")
    b.add_common_args(parser)
    args = parser.parse_args()
    if args.reloads < 1 or args.window < args.margin + 1:
        parser.error("--reloads >= 1 and --window >= --margin + 1")

    tools = ["nginx"] + ([] if args.no_monit else ["monit"])
    if args.perf:
        tools.append("perf")
    b.require_tools(*tools)
    binary = b.watchd_binary(args.watchd)
    watchctl = watchctl_binary(args.watchctl, binary)
    b.raise_nofile(65536)
    b.wait_quiet(args.quiet_load, args.quiet_wait)
    load_start = b.loadavg()
    with b.Session("reload", keep=args.keep) as session:
        nginx = b.Nginx(session, args.nginx_workers)
        w = watchd_phase(session, args, nginx, binary, watchctl)
        w["stalls_span"] = statistics.median(
            x["t"][1] - x["t"][0] for x in w["reloads"]) + 0.7
        if args.no_monit:
            m = None
        else:
            time.sleep(2)
            m = monit_phase(session, args, nginx)
    report(args, w, m, load_start)


if __name__ == "__main__":
    b.run_main(main)
