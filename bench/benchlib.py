"""Shared pieces of the load benchmarks (bench/*.sh): the processes they
start (nginx, watchd, monit) and stop, /proc and /metrics readings, and the
report. Python 3 standard library only; every wait is bounded in time.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
DEFAULT_WATCHD = os.path.join(REPO_DIR, "build-bench", "watchd")
CLK_TCK = os.sysconf("SC_CLK_TCK")


class SetupError(Exception):
    """A benchmark could not run (missing tool, server did not start)."""


def die(message):
    sys.stderr.write(f"{os.path.basename(sys.argv[0])}: {message}\n")
    sys.exit(2)


def log(message):
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


def require_tools(*tools):
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        raise SetupError("missing tool(s): " + ", ".join(missing) +
                         " (Debian: apt-get install nginx-light wrk monit)")


def watchd_binary(path):
    path = path or os.environ.get("WATCHD") or DEFAULT_WATCHD
    if not os.access(path, os.X_OK):
        raise SetupError(
            f"no watchd binary at {path}; build it with:\n"
            f"  cmake -S {REPO_DIR} -B {REPO_DIR}/build-bench -G Ninja "
            "-DCMAKE_BUILD_TYPE=RelWithDebInfo -DWATCHD_TESTS=OFF && "
            f"cmake --build {REPO_DIR}/build-bench --target watchd")
    return path


def raise_nofile(wanted):
    """Raises RLIMIT_NOFILE for this process and its children."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE,
                           (wanted, max(hard, wanted)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SetupError(f"{what} exited with status {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise SetupError(f"{what} did not listen on 127.0.0.1:{port} "
                     f"within {timeout:.0f}s")


def http_get(url, timeout=30.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


class Session:
    """A temp directory and every process started in it; close() stops
    the processes (TERM, then KILL) and removes the directory."""

    def __init__(self, name, keep=False):
        self.dir = tempfile.mkdtemp(prefix=f"watchd-bench-{name}-")
        self.keep = keep
        self.procs = []
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._on_signal)

    @staticmethod
    def _on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, text, mode=0o644):
        path = self.path(name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def spawn(self, argv, log_name):
        out = open(self.path(log_name), "wb")
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT,
                                start_new_session=True)
        out.close()
        proc.log_path = self.path(log_name)
        self.procs.append(proc)
        return proc

    def stop(self, proc, sig=signal.SIGTERM, timeout=10.0):
        if proc.poll() is None:
            try:
                proc.send_signal(sig)
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if proc in self.procs:
            self.procs.remove(proc)
        return proc.returncode

    def close(self):
        for proc in reversed(list(self.procs)):
            self.stop(proc)
        if self.keep:
            log(f"kept {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


def tail(path, lines=20):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


# --- nginx -----------------------------------------------------------------


class Nginx:
    """nginx with its own minimal config: `return 200 "ok"` on every path,
    stub_status at /nginx_status (requests served, for cross-checks)."""

    def __init__(self, session, workers=1):
        require_tools("nginx")
        self.port = free_port()
        d = session.path("nginx")
        for sub in ("", "tmp"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        temps = "\n".join(f"  {kind}_temp_path {d}/tmp/{kind};"
                          for kind in ("client_body", "proxy", "fastcgi",
                                       "uwsgi", "scgi"))
        conf = session.write("nginx/nginx.conf", f"""\
worker_processes {workers};
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{
  worker_connections 16384;
}}
http {{
  access_log off;
{temps}
  server {{
    listen 127.0.0.1:{self.port} backlog=4096;
    location = /nginx_status {{ stub_status; }}
    location / {{ return 200 "ok"; }}
  }}
}}
""")
        self.proc = session.spawn(
            ["nginx", "-c", conf, "-p", d, "-e", f"{d}/error.log", "-g",
             "daemon off;"], "nginx/stdout.log")
        try:
            wait_for_port(self.port, self.proc, "nginx")
        except SetupError as e:
            raise SetupError(f"{e}\n{tail(d + '/error.log')}")
        self.url = f"http://127.0.0.1:{self.port}/"

    def requests(self):
        """Requests served so far (not counting this one)."""
        text = http_get(f"http://127.0.0.1:{self.port}/nginx_status",
                        10).decode()
        # "server accepts handled requests\n A H R"
        numbers = text.split("\n")[2].split()
        return int(numbers[2]) - 1

    def worker_pids(self):
        out = subprocess.run(["ps", "-o", "pid=", "--ppid",
                              str(self.proc.pid)], capture_output=True,
                             text=True).stdout
        return [int(p) for p in out.split()]


class BlackHole:
    """A TCP port that never answers: a listener with a backlog of 0 that
    never accepts. Once its queue is full the kernel drops further SYNs, so
    clients hang in connect (or, for the one queued connection, in recv)
    until their own timeout. Closed with the session's process."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        # Fill the accept queue now, so the probes find it full.
        self.fillers = []
        for _ in range(4):
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            c.setblocking(False)
            try:
                c.connect(("127.0.0.1", self.port))
            except BlockingIOError:
                pass
            self.fillers.append(c)
        time.sleep(0.2)

    def close(self):
        for c in self.fillers:
            c.close()
        self.sock.close()


# --- watchd ----------------------------------------------------------------


def gen_config(n, out_path, **options):
    """Runs bench/gen_config.py N with --key value options."""
    argv = [sys.executable, os.path.join(BENCH_DIR, "gen_config.py"), str(n)]
    for key, value in options.items():
        if value is not None:
            argv += ["--" + key.replace("_", "-"), str(value)]
    with open(out_path, "w") as f:
        subprocess.run(argv, stdout=f, check=True)
    return out_path


class Watchd:
    def __init__(self, session, binary, config, metrics_port):
        out = subprocess.run([binary, "-c", config, "--check-config"],
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise SetupError("generated config is invalid:\n" +
                             out.stderr[-2000:])
        self.proc = session.spawn([binary, "-c", config], "watchd.log")
        self.pid = self.proc.pid
        self.metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        try:
            wait_for_port(metrics_port, self.proc, "watchd", timeout=60)
        except SetupError as e:
            raise SetupError(f"{e}\n{tail(self.proc.log_path)}")

    def alive(self):
        return self.proc.poll() is None

    def scrape(self):
        return Metrics(http_get(self.metrics_url, 60).decode())

    def scrape_raw(self):
        """(text, time) of a scrape, left unparsed: parsing 22 MiB in Python
        takes a core for seconds, which must not fall inside a window."""
        text = http_get(self.metrics_url, 60).decode()
        return text, time.monotonic()


# --- /proc -----------------------------------------------------------------


def cpu_times(pid):
    """(utime, stime) of the whole process (all threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state): utime is field 14, stime field 15.
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def cpu_seconds(pid):
    return sum(cpu_times(pid))


def loop_schedstat(pid):
    """(ns on a CPU, ns runnable but waiting for a CPU) of the main thread
    (watchd's event loop), from /proc/PID/task/PID/schedstat."""
    with open(f"/proc/{pid}/task/{pid}/schedstat") as f:
        run, wait, _ = f.read().split()
    return int(run), int(wait)


def memory_kib(pid):
    """(VmRSS, VmHWM) in KiB."""
    rss = hwm = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    return rss, hwm


class MemorySampler:
    """Samples VmRSS, VmHWM and the number of open fds (sockets in flight)
    of a pid every second on a thread."""

    def __init__(self, pid, period=1.0):
        self.pid = pid
        self.period = period
        self.max_rss = 0
        self.hwm = 0
        self.max_fds = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.period)

    def sample(self):
        try:
            rss, hwm = memory_kib(self.pid)
            fds = len(os.listdir(f"/proc/{self.pid}/fd"))
        except (OSError, ValueError):
            return
        self.max_rss = max(self.max_rss, rss)
        self.hwm = max(self.hwm, hwm)
        self.max_fds = max(self.max_fds, fds)

    def stop(self):
        self._stop.set()
        self._thread.join(5)
        self.sample()


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} x {model}"


def wait_quiet(max_load, max_wait):
    """Waits (bounded) until the 1-minute load average is below max_load."""
    deadline = time.monotonic() + max_wait
    while True:
        one = float(loadavg().split()[0])
        if one <= max_load or time.monotonic() >= deadline:
            return one
        log(f"load average {one:.2f} > {max_load}: waiting")
        time.sleep(min(15, max(0.0, deadline - time.monotonic())))


# --- /metrics ----------------------------------------------------------------

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


class Metrics:
    """The samples of the families the benchmarks read. Per-check series
    are summed by group: the service name without its digits (gen_config.py
    names services svc123 and hole7)."""

    FAMILIES = ("watchd_probes_total", "watchd_scheduler_lateness_seconds",
                "watchd_probe_duration_seconds_bucket")

    def __init__(self, text, at=None):
        self.time = time.monotonic() if at is None else at
        self.bytes = len(text)
        self.probes = {}  # group -> result -> count
        self.lateness = {}  # le -> cumulative count
        self.lateness_sum = 0.0
        self.duration = {}  # group -> le -> cumulative count
        for line in text.splitlines():
            if not line.startswith(self.FAMILIES):
                continue
            m = _SAMPLE.match(line)
            if not m:
                continue
            name, value = m.group(1), float(m.group(3))
            labels = dict(_LABEL.findall(m.group(2) or ""))
            group = labels.get("service", "").rstrip("0123456789")
            if name == "watchd_probes_total":
                results = self.probes.setdefault(group, {})
                result = labels.get("result", "")
                results[result] = results.get(result, 0) + value
            elif name == "watchd_scheduler_lateness_seconds_bucket":
                le = _le(labels)
                self.lateness[le] = self.lateness.get(le, 0) + value
            elif name == "watchd_scheduler_lateness_seconds_sum":
                self.lateness_sum += value
            elif name == "watchd_probe_duration_seconds_bucket":
                buckets = self.duration.setdefault(group, {})
                le = _le(labels)
                buckets[le] = buckets.get(le, 0) + value


def _le(labels):
    le = labels["le"]
    return float("inf") if le == "+Inf" else float(le)


def bucket_delta(after, before):
    return {le: after[le] - before.get(le, 0) for le in after}


def histogram_quantile(q, buckets):
    """Prometheus' histogram_quantile over cumulative {le: count}: linear
    interpolation inside the bucket holding the q-th observation. A quantile
    in the +Inf bucket is reported as the highest finite bound, flagged by
    returning (value, True)."""
    bounds = sorted(buckets)
    total = buckets[bounds[-1]] if bounds else 0
    if total <= 0:
        return None, False
    rank = q * total
    prev_bound, prev_count = 0.0, 0.0
    for le in bounds:
        count = buckets[le]
        if count >= rank:
            if le == float("inf"):
                return prev_bound, True
            if count == prev_count:
                return le, False
            return (prev_bound + (le - prev_bound) * (rank - prev_count) /
                    (count - prev_count)), False
        prev_bound, prev_count = le, count
    return prev_bound, True


def fraction_above(bound, buckets):
    """Fraction of observations above `bound` (a bucket bound)."""
    total = buckets.get(float("inf"), 0)
    if total <= 0:
        return 0.0
    return 1.0 - buckets.get(bound, 0) / total


# --- measuring a window ----------------------------------------------------


def sleep_while_alive(seconds, procs):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for p in procs:
            if p.poll() is not None:
                raise SetupError(f"{p.args[0]} exited with status "
                                 f"{p.returncode} during the run; log: "
                                 f"{getattr(p, 'log_path', '?')}\n"
                                 f"{tail(getattr(p, 'log_path', ''))}")
        time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))


class Window:
    """What one measuring window saw of watchd (and nginx)."""

    def __init__(self, **kw):
        self.__dict__.update(kw)

    def count(self, group=None, result=None):
        groups = [group] if group is not None else list(self.probes)
        return sum(n for g in groups for r, n in self.probes.get(g, {}).items()
                   if result is None or r == result)

    def rate(self, group=None, result=None):
        return self.count(group, result) / self.span

    def failed(self, group=None):
        return self.count(group) - self.count(group, "success")

    def lateness_q(self, q):
        return histogram_quantile(q, self.lateness)

    def duration_q(self, q, group):
        return histogram_quantile(q, self.duration.get(group, {}))


def measure_watchd(watchd, duration, nginx=None, procs=()):
    """Scrapes /metrics, reads CPU, waits `duration`, reads CPU, scrapes.
    The scrapes stand outside the CPU window (their cost is the scrape
    server's, not the probes'); the probe rate is over the span between the
    two scrapes. Both are parsed only after the second, so the harness's own
    parsing does not compete with watchd inside the window."""
    load = loadavg()
    n0 = nginx.requests() if nginx else 0
    raw0 = watchd.scrape_raw()
    t0, c0 = time.monotonic(), cpu_times(watchd.pid)
    s0 = loop_schedstat(watchd.pid)
    w0 = [cpu_seconds(p) for p in nginx.worker_pids()] if nginx else []
    sleep_while_alive(duration, [watchd.proc, *procs])
    w1 = [cpu_seconds(p) for p in nginx.worker_pids()] if nginx else []
    t1, c1 = time.monotonic(), cpu_times(watchd.pid)
    s1 = loop_schedstat(watchd.pid)
    raw1 = watchd.scrape_raw()
    n1 = nginx.requests() if nginx else 0
    m0, m1 = Metrics(*raw0), Metrics(*raw1)
    del raw0, raw1
    elapsed = t1 - t0
    probes = {}
    for group in set(m1.probes) | set(m0.probes):
        after, before = m1.probes.get(group, {}), m0.probes.get(group, {})
        probes[group] = {r: after[r] - before.get(r, 0) for r in after}
    return Window(
        load=load,
        elapsed=elapsed,
        utime=c1[0] - c0[0],
        stime=c1[1] - c0[1],
        cpu_seconds=sum(c1) - sum(c0),
        cpu_pct=100.0 * (sum(c1) - sum(c0)) / elapsed,
        loop_run_pct=100.0 * (s1[0] - s0[0]) / 1e9 / elapsed,
        loop_wait_pct=100.0 * (s1[1] - s0[1]) / 1e9 / elapsed,
        span=m1.time - m0.time,
        probes=probes,
        lateness=bucket_delta(m1.lateness, m0.lateness),
        duration={g: bucket_delta(b, m0.duration.get(g, {}))
                  for g, b in m1.duration.items()},
        scrape_bytes=m1.bytes,
        nginx_requests=n1 - n0,
        nginx_cpu_pct=(100.0 * (sum(w1) - sum(w0)) / elapsed
                       if len(w1) == len(w0) else float("nan")),
    )


def fmt_quantile(qv):
    value, overflow = qv
    if value is None:
        return "n/a"
    return (">" if overflow else "") + f"{value * 1000:.2f} ms"


# --- report ------------------------------------------------------------------


def cpu_rows(report, window, target_pct, expected_rate, precision=2):
    """The rows every CPU benchmark reports: watchd's CPU against
    `target_pct`, the probe rate against `expected_rate`, CPU per probe."""
    report.row("watchd CPU", f"{window.cpu_pct:.{precision}f}% of a core "
               f"({window.cpu_seconds:.2f}s in {window.elapsed:.1f}s; user "
               f"{window.utime:.2f}s, sys {window.stime:.2f}s)",
               f"<= {target_pct:g}%", window.cpu_pct <= target_pct)
    report.row("completed probes/s", f"{window.rate():,.1f} (expected "
               f"{expected_rate:,.1f}); failed {window.failed():,.0f}")
    report.row("CPU per probe",
               f"{1e6 * window.cpu_seconds / max(1, window.count()):.1f} µs")


def lateness_row(report, window):
    report.row("lateness p50 / p99", f"{fmt_quantile(window.lateness_q(0.5))}"
               f" / {fmt_quantile(window.lateness_q(0.99))}")


class Report:
    """Rows of (measure, value, target, PASS/MISS/-) printed as a Markdown
    table on stdout, with a header of machine, load and command."""

    def __init__(self, title, argv, load_before=None):
        self.title = title
        self.command = os.environ.get("BENCH_COMMAND") or " ".join(argv)
        self.rows = []
        self.notes = []
        self.load_before = load_before or loadavg()

    def row(self, measure, value, target="", ok=None):
        verdict = "-" if ok is None else ("PASS" if ok else "MISS")
        self.rows.append((measure, value, target, verdict))

    def note(self, text):
        self.notes.append(text)

    def print(self):
        out = [
            f"### {self.title}",
            "",
            f"- command: `{self.command}`",
            f"- machine: {machine()}; load average (1/5/15 min) at the start: "
            f"{self.load_before}; at the end: {loadavg()}",
            f"- date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}",
            "",
            "| measure | value | target | verdict |",
            "|---|---|---|---|",
        ]
        out += [f"| {m} | {v} | {t} | {k} |" for m, v, t, k in self.rows]
        if self.notes:
            out.append("")
            out += [f"- {n}" for n in self.notes]
        sys.stdout.write("\n".join(out) + "\n\n")
        sys.stdout.flush()


def run_main(main):
    """Runs main(); setup errors exit 2 with their message."""
    try:
        main()
    except SetupError as e:
        die(str(e))
    except KeyboardInterrupt:
        die("interrupted")


# --- command lines -----------------------------------------------------------


def add_common_args(parser):
    parser.add_argument("--watchd", default=None,
                        help="watchd binary (default: $WATCHD, else "
                        "build-bench/watchd)")
    parser.add_argument("--nginx-workers", type=int, default=1,
                        help="nginx worker_processes (default 1)")
    parser.add_argument("--quiet-load", type=float, default=1.0,
                        help="wait for the 1-min load average to fall to "
                        "this before measuring (default 1.0) ...")
    parser.add_argument("--quiet-wait", type=float, default=0,
                        help="... for at most this many seconds (default 0: "
                        "do not wait, just report the load)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temp directory (configs, logs)")


def parse_percent(text):
    text = text.strip()
    return float(text[:-1]) / 100 if text.endswith("%") else float(text)


def parse_seconds(text):
    """'900ms', '1s', '1.5s', '2m' -> seconds (the subset the benches use)."""
    m = re.fullmatch(r"([0-9.]+)(ms|s|m)", text.strip())
    if not m:
        raise SetupError(f"bad duration {text!r}: use e.g. 900ms, 1s, 2m")
    return float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60}[m.group(2)]
