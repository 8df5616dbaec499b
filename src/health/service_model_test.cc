// Model-based, randomised test of the supervision core: two Services (web
// depends_on db), each with its ProcessTracker and RestartPolicy, driven by
// random sequences of events against a fake world (FakeProcessTable, a fake
// loop clock, fake supervisors the sequence answers, probes whose outcome
// the sequence sets) and checked against invariants after every step:
//
//   - no signal to any process but the one the service recorded (pid +
//     start time) as its restart began, or that process's descendants then,
//     and no signal the fake table would refuse;
//   - a process is recorded only as docs/supervision.md allows (the
//     pidfile names it and is trusted, or its owner runs it; the supervisor
//     reports it or is its ancestor; never a protected pid, a zombie);
//   - no restart (but the operator's) inside start_grace, while paused or
//     unmonitored, while a dependency's health is not ok, before the backoff
//     allows, or past restart_limit counted from the supervisor's side;
//   - no start or restart (but the operator's) of a program the supervisor
//     was last seen to have given up (or to be backing off), and no
//     recovery of it unless recover_supervisor_giveup is set and it was;
//   - one restart in flight at most; every OnRestart is one supervisor call
//     and ends in exactly one OnRestartDone; a restart reported done was done;
//   - the state agrees with the checks, the process record and the grace;
//   - no check counts a failure inside the start_grace the service began,
//     whether it ran then already or a reload added it meanwhile;
//   - a reload's ReplaceChecks (keep, redefine, drop and add checks, also
//     while their runs or a restart are in flight) leaves the list it was
//     given: kept checks are the same objects with their counters, verdict
//     and schedule untouched, new ones start afresh, dropped ones are
//     destroyed then and there; no reporter hears of a check after it was
//     dropped, nor of another check than its own;
//   - SetDependencies (re-wiring depends_on either way, or not at all)
//     replaces the list: only the dependencies of now block a restart or
//     name a blocked state's reason; either service may be destroyed first;
//   - after the world heals (the settle phase at the end of each sequence),
//     every service comes back to ok with every check passing; Stop() then
//     leaves no call or timer.
//
// Each sequence is generated from its own seed; a failure prints that seed,
// the violation, a shrunk event list and the log of its last run. Knobs:
//   WATCHD_MODEL_SEQUENCES  sequences to run (default 2000: about 20 s, 45 s
//                           under ASan+UBSan)
//   WATCHD_MODEL_EVENTS     events per sequence (default 200)
//   WATCHD_MODEL_SEED       seed of the first sequence (sequence k uses
//                           seed + k; default below)
//   WATCHD_MODEL_STRICT=1   fail on the known issues too (kKnownIssues)
//   WATCHD_MODEL_TOLERATE   more violation kinds not to fail on (a,b,...)
//   WATCHD_MODEL_VERBOSE=1  every check's runs in the printed log
//   WATCHD_MODEL_SHRINK=0   print the failing sequence as it is
// A printed failure replays with WATCHD_MODEL_SEED=<seed>
// WATCHD_MODEL_SEQUENCES=1; a long run is e.g. WATCHD_MODEL_SEQUENCES=100000
// (about 10 ms a sequence).
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "actions/supervisor.h"
#include "config/config.h"
#include "core/event_loop.h"
#include "core/fake_clock.h"
#include "core/random.h"
#include "health/check.h"
#include "health/service.h"
#include "os/fake_process_table.h"
#include "probes/memory_probe.h"
#include "probes/process_probe.h"

namespace watchd {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr uint64_t kDefaultSeed = 20240611;
constexpr int kDefaultSequences = 2000;
constexpr int kDefaultEvents = 200;

// Pids of the world that never change: init, the supervisord daemon (the
// parent of the services' processes when the supervisor reports pids),
// watchd's parent and watchd (protected).
constexpr pid_t kInit = 1;
constexpr pid_t kSupervisord = 20;
constexpr pid_t kShell = 40;
constexpr pid_t kWatchd = 50;
// Spawned processes take pids from a small range, so that a pid is often
// reused soon after its process ended (the case identities exist for).
constexpr pid_t kPidLo = 100;
constexpr pid_t kPidHi = 160;
constexpr int kMaxStrangers = 20;
constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kRssMax = 256 * kMiB;

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* v = getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return strtoll(v, nullptr, 0);
}

// Violations of bugs found by this test and reported, not yet fixed: they
// are counted and printed, but neither fail the test nor end their
// sequence (so that other bugs still show behind them). Matched as
// substrings of the violation's kind. WATCHD_MODEL_STRICT=1 fails on them
// too; WATCHD_MODEL_TOLERATE=kind,kind adds to them (to look past a new
// bug for others). Remove an entry once its bug is fixed.
const char* const kKnownIssues[] = {
    // A process the supervisor started by itself within the clock tick
    // (10 ms) in which a restart call began, which then failed, counts as
    // that call's work: start times cannot tell them apart, and a real
    // restart's new process is often spawned within that very tick.
    "restart-counted-but-not-done/stale-record",
    // A trusted pidfile rewritten, while a failed call is looked into, to
    // name another process that started after the call is believed: watchd
    // cannot tell it from the call's work (docs/supervision.md: the trust
    // rule believes root's pidfiles).
    "restart-counted-but-not-done/no-record",
    // The same with the record right as the call began, but a trusted
    // pidfile rewritten before it to name a process that started within the
    // call's first clock tick: start times cannot tell it from the call's
    // work (in the model, where a sequence's first events share a tick).
    "restart-counted-but-not-done/right-record/same-tick",
    // The earliest boot time is only sampled at looks: a wall clock
    // stepped back, a pidfile written, the clock stepped forward again, all
    // between two looks, and the pidfile looks older than its process.
    "false-recycled/step-between-looks",
};

bool Tolerated(const std::string& kind) {
  static const std::vector<std::string>* list = [] {
    auto* out = new std::vector<std::string>();
    if (EnvInt("WATCHD_MODEL_STRICT", 0) == 0) {
      for (const char* k : kKnownIssues) out->push_back(k);
    }
    const char* v = getenv("WATCHD_MODEL_TOLERATE");
    std::string s = v ? v : "";
    size_t at = 0;
    while (at <= s.size()) {
      size_t comma = s.find(',', at);
      if (comma == std::string::npos) comma = s.size();
      if (comma > at) out->push_back(s.substr(at, comma - at));
      at = comma + 1;
    }
    return out;
  }();
  for (const std::string& t : *list) {
    if (kind.find(t) != std::string::npos) return true;
  }
  return false;
}

// The seed of a stream derived from a sequence's seed: mixed, since
// splitmix streams from seeds a multiple of its increment apart are the
// same stream shifted (consecutive sequences would replay each other).
uint64_t Mix(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : r_(seed) {}
  uint64_t Next() { return r_.Next(); }
  // Uniform in [lo, hi].
  int64_t Range(int64_t lo, int64_t hi) {
    return lo +
           static_cast<int64_t>(Next() % static_cast<uint64_t>(hi - lo + 1));
  }
  bool Chance(double p) { return r_.Uniform() < p; }
  // An index drawn by weight.
  size_t Weighted(const std::vector<int>& weights) {
    int total = 0;
    for (int w : weights) total += w;
    int64_t x = Range(0, total - 1);
    for (size_t i = 0; i < weights.size(); ++i) {
      if (x < weights[i]) return i;
      x -= weights[i];
    }
    return weights.size() - 1;
  }

 private:
  Random r_;
};

// --- events ------------------------------------------------------------------

enum class Ev {
  kAdvance,  // a: ms
  kCrash,    // a: 1 leaves a zombie; b: ms until the supervisor
             // respawns it (0: it does not)
  kRespawn,  // the supervisor replaces the process by itself
  kReap,     // a zombie main is reaped (the supervisor notices)
  kHang,     // the process stops answering (health times out)
  kUnhang,
  kSigstop,  // the process is stopped (state T)
  kSigcont,
  kStopIgnored,     // a: 1 the process ignores SIGTERM, 0 it obeys again
  kWorker,          // a child of the process starts; a: 1 it is stopped
  kMemory,          // a: the process's RSS in MiB
  kPidfileRewrite,  // names the current process (or a dead pid)
  kPidfileDelete,
  kPidfileGarbage,    // a: which garbage
  kPidfileForeign,    // a: names which other process
  kPidfileUntrusted,  // a: chown to another uid, or chmod g+w,o+w
  kPidfileTrusted,    // chown root, chmod 0644
  kPidfileFifo,       // a FIFO in its place
  kPidfileOld,        // a: mtime set back by that many seconds
  kProbeMode,         // a: ProbeMode of the health check
  kStatusMode,        // a: StatusMode of the supervisor's status calls
  kNextCall,          // a: Plan of the next restart/start call
  kAnswerNow,         // a: answer the pending restart now (0 ok, 1 fail,
                      // 2 timed out); b: 1 the timed-out call did its work
  kPause,
  kResume,
  kRestartNow,
  kWallStep,       // a: ms the wall clock is stepped by (signed)
  kStranger,       // a: an unrelated process starts (a % 3 != 0) or one ends
  kGiveUp,         // the supervisor holds the program by its own policy: a 0 it
                   // gave up (FATAL), 1 it backs off and respawns it b ms later
  kReplaceChecks,  // a reload changes the service's checks; a: the seed of
                   // the plan (which to keep, redefine, drop and add)
  kRewire,  // a reload re-wires depends_on: a 0 none, 1 web on db, 2 db on
            // web; b: 1 web is re-wired first
};

const char* EvName(Ev e) {
  switch (e) {
    case Ev::kAdvance:
      return "advance";
    case Ev::kCrash:
      return "crash";
    case Ev::kRespawn:
      return "respawn";
    case Ev::kReap:
      return "reap";
    case Ev::kHang:
      return "hang";
    case Ev::kUnhang:
      return "unhang";
    case Ev::kSigstop:
      return "sigstop";
    case Ev::kSigcont:
      return "sigcont";
    case Ev::kStopIgnored:
      return "stop-ignored";
    case Ev::kWorker:
      return "worker";
    case Ev::kMemory:
      return "memory";
    case Ev::kPidfileRewrite:
      return "pidfile-rewrite";
    case Ev::kPidfileDelete:
      return "pidfile-delete";
    case Ev::kPidfileGarbage:
      return "pidfile-garbage";
    case Ev::kPidfileForeign:
      return "pidfile-foreign";
    case Ev::kPidfileUntrusted:
      return "pidfile-untrusted";
    case Ev::kPidfileTrusted:
      return "pidfile-trusted";
    case Ev::kPidfileFifo:
      return "pidfile-fifo";
    case Ev::kPidfileOld:
      return "pidfile-old";
    case Ev::kProbeMode:
      return "probe-mode";
    case Ev::kStatusMode:
      return "status-mode";
    case Ev::kNextCall:
      return "next-call";
    case Ev::kAnswerNow:
      return "answer-now";
    case Ev::kPause:
      return "pause";
    case Ev::kResume:
      return "resume";
    case Ev::kRestartNow:
      return "restart-now";
    case Ev::kWallStep:
      return "wall-step";
    case Ev::kStranger:
      return "stranger";
    case Ev::kGiveUp:
      return "give-up";
    case Ev::kReplaceChecks:
      return "replace-checks";
    case Ev::kRewire:
      return "rewire";
  }
  return "?";
}

struct Event {
  Ev kind = Ev::kAdvance;
  int svc = 0;
  int64_t a = 0;
  int64_t b = 0;
};

enum class ProbeMode { kAuto, kSuccess, kFailure, kTimeout, kError, kFlaky };
const char* const kProbeModeNames[] = {"auto",    "success", "failure",
                                       "timeout", "error",   "flaky"};
// kUnknownProgram: the supervisor answers that it has no such program (a
// mistake in the configuration, told apart by GetStatusReply).
enum class StatusMode {
  kPrompt,
  kSlow,
  kError,
  kTimeout,
  kHang,
  kUnknownProgram
};
const char* const kStatusModeNames[] = {"prompt",  "slow", "error",
                                        "timeout", "hang", "unknown-program"};
// How a restart/start call ends. kTimeoutDone: the supervisor did the work
// but its answer is "timed out"; kFailAfterStop: the old process was
// stopped and the start failed.
enum class Plan {
  kSucceed,
  kFail,
  kFailAfterStop,
  kTimeout,
  kTimeoutDone,
  kHang
};
const char* const kPlanNames[] = {"succeed", "fail",         "fail-after-stop",
                                  "timeout", "timeout-done", "hang"};

const char* const kSvcNames[] = {"db", "web"};
const char* const kWirings[] = {"none", "web->db", "db->web"};

std::string ToString(const Event& e) {
  std::string s = std::string(EvName(e.kind));
  if (e.kind != Ev::kAdvance && e.kind != Ev::kWallStep &&
      e.kind != Ev::kStranger && e.kind != Ev::kRewire) {
    s += " ";
    s += kSvcNames[e.svc];
  }
  switch (e.kind) {
    case Ev::kAdvance:
    case Ev::kWallStep:
      s += " " + FormatDuration(milliseconds(e.a));
      break;
    case Ev::kProbeMode:
      s += " " + std::string(kProbeModeNames[e.a]);
      break;
    case Ev::kStatusMode:
      s += " " + std::string(kStatusModeNames[e.a]);
      break;
    case Ev::kNextCall:
      s += " " + std::string(kPlanNames[e.a]);
      break;
    case Ev::kAnswerNow:
      s += std::string(e.a == 0   ? " ok"
                       : e.a == 1 ? " fail"
                                  : " timed-out") +
           (e.a == 2 && e.b ? " (work done)" : "");
      break;
    case Ev::kGiveUp:
      s += e.a == 0
               ? " fatal"
               : " backoff respawn-after " + FormatDuration(milliseconds(e.b));
      break;
    case Ev::kRewire:
      s += std::string(" ") + kWirings[e.a] + (e.b ? " (web first)" : "");
      break;
    case Ev::kCrash:
      s += std::string(e.a ? " zombie" : "") +
           (e.b ? " respawn-after " + FormatDuration(milliseconds(e.b))
                : std::string(" no-respawn"));
      break;
    case Ev::kReap:
    case Ev::kRespawn:
    case Ev::kHang:
    case Ev::kUnhang:
    case Ev::kSigstop:
    case Ev::kSigcont:
    case Ev::kPidfileRewrite:
    case Ev::kPidfileDelete:
    case Ev::kPidfileTrusted:
    case Ev::kPidfileFifo:
    case Ev::kPause:
    case Ev::kResume:
    case Ev::kRestartNow:
      break;
    default:
      s += " " + std::to_string(e.a);
      break;
  }
  return s;
}

std::vector<Event> Generate(uint64_t seed, int n) {
  Rng r(Mix(seed ^ 0x9e3779b97f4a7c15ull));
  struct Kind {
    Ev ev;
    int weight;
  };
  static const Kind kKinds[] = {
      {Ev::kAdvance, 360},       {Ev::kCrash, 25},
      {Ev::kRespawn, 25},        {Ev::kReap, 12},
      {Ev::kHang, 25},           {Ev::kUnhang, 25},
      {Ev::kSigstop, 8},         {Ev::kSigcont, 10},
      {Ev::kStopIgnored, 15},    {Ev::kWorker, 12},
      {Ev::kMemory, 12},         {Ev::kPidfileRewrite, 30},
      {Ev::kPidfileDelete, 8},   {Ev::kPidfileGarbage, 8},
      {Ev::kPidfileForeign, 12}, {Ev::kPidfileUntrusted, 14},
      {Ev::kPidfileTrusted, 14}, {Ev::kPidfileFifo, 3},
      {Ev::kPidfileOld, 5},      {Ev::kProbeMode, 60},
      {Ev::kStatusMode, 30},     {Ev::kNextCall, 40},
      {Ev::kAnswerNow, 30},      {Ev::kPause, 7},
      {Ev::kResume, 12},         {Ev::kRestartNow, 12},
      {Ev::kWallStep, 10},       {Ev::kStranger, 20},
      {Ev::kGiveUp, 15},         {Ev::kReplaceChecks, 15},
      {Ev::kRewire, 8},
  };
  std::vector<int> weights;
  for (const Kind& k : kKinds) weights.push_back(k.weight);
  std::vector<Event> out;
  out.reserve(n);
  for (int i = 0; i < n; ++i) {
    Event e;
    e.kind = kKinds[r.Weighted(weights)].ev;
    e.svc = static_cast<int>(r.Range(0, 1));
    switch (e.kind) {
      case Ev::kAdvance: {
        size_t k = r.Weighted({55, 33, 10, 2});
        e.a = k == 0   ? r.Range(1, 500)
              : k == 1 ? r.Range(500, 5000)
              : k == 2 ? r.Range(5000, 40000)
                       : r.Range(60000, 600000);
        break;
      }
      case Ev::kCrash:
        e.a = r.Chance(0.3);
        e.b = r.Chance(0.6) ? r.Range(10, 8000) : 0;
        break;
      case Ev::kStopIgnored:
      case Ev::kWorker:
        e.a = r.Chance(0.6);
        break;
      case Ev::kMemory:
        e.a = r.Range(32, 512);
        break;
      case Ev::kPidfileGarbage:
        e.a = r.Range(0, 6);
        break;
      case Ev::kPidfileForeign:
        e.a = r.Range(0, 6);
        break;
      case Ev::kPidfileUntrusted:
        e.a = r.Range(0, 2);
        break;
      case Ev::kPidfileOld:
        e.a = r.Range(60, 7200);
        break;
      case Ev::kProbeMode:
        e.a = static_cast<int64_t>(r.Weighted({40, 10, 15, 12, 10, 13}));
        break;
      case Ev::kStatusMode:
        e.a = static_cast<int64_t>(r.Weighted({50, 15, 15, 15, 5, 5}));
        break;
      case Ev::kNextCall:
        e.a = static_cast<int64_t>(r.Weighted({45, 15, 8, 12, 15, 5}));
        break;
      case Ev::kAnswerNow:
        e.a = r.Range(0, 2);
        e.b = r.Chance(0.5);
        break;
      case Ev::kWallStep:
        e.a =
            (r.Chance(0.5) ? 1 : -1) *
            (r.Chance(0.5) ? r.Range(1000, 120000) : r.Range(120000, 7200000));
        break;
      case Ev::kStranger:
        e.a = r.Range(0, 1000);
        break;
      case Ev::kGiveUp:
        e.a = r.Chance(0.6) ? 0 : 1;
        e.b = r.Range(200, 6000);
        break;
      case Ev::kReplaceChecks:
        e.a = static_cast<int64_t>(r.Next() >> 1);
        break;
      case Ev::kRewire:
        e.a = r.Range(0, 2);
        e.b = r.Chance(0.5);
        break;
      default:
        break;
    }
    out.push_back(e);
  }
  return out;
}

// --- the sequence's setup ----------------------------------------------------

// A check with random timings, as the loader would make it.
CheckConfig RandomCheck(Rng& r, const std::string& name, ProbeConfig probe,
                        OnFailure on_failure) {
  CheckConfig k;
  k.name = name;
  k.probe = std::move(probe);
  k.interval = milliseconds(r.Range(500, 5000));
  k.timeout = std::chrono::duration_cast<Duration>(
      k.interval * (0.3 + 0.6 * static_cast<double>(r.Range(0, 100)) / 100));
  k.jitter = r.Chance(0.5) ? 0 : 0.1;
  k.failures = static_cast<int>(r.Range(1, 3));
  k.successes = static_cast<int>(r.Range(1, 2));
  k.on_failure = on_failure;
  return k;
}

struct Setup {
  ServiceConfig config[2];
  bool has_supervisor[2] = {true, true};
  bool reports_pid[2] = {true, true};
  bool has_pidfile[2] = {false, false};
  bool pidfile_late[2] = {false, false};  // not there yet at Start()
  uint32_t uid[2] = {0, 0};
  Duration sup_timeout[2];
  std::vector<CheckConfig> checks[2];  // [0] is the health check
  std::string summary;
};

Setup MakeSetup(uint64_t seed) {
  Rng r(Mix(seed ^ 0x5bd1e9955bd1e995ull));
  Setup s;
  std::ostringstream sum;
  for (int i = 0; i < 2; ++i) {
    ServiceConfig& c = s.config[i];
    c.name = kSvcNames[i];
    c.program = kSvcNames[i];
    // db is sometimes only watched (no supervisor).
    s.has_supervisor[i] = i == 1 || r.Chance(0.85);
    if (s.has_supervisor[i]) c.supervisor = "sup";
    s.reports_pid[i] = r.Chance(0.6);
    s.has_pidfile[i] = r.Chance(0.6);
    // The loader allows it only with a supervisor that reports pids.
    c.recover_supervisor_giveup =
        s.has_supervisor[i] && s.reports_pid[i] && r.Chance(0.5);
    if (s.has_pidfile[i])
      c.pidfile = std::string("/run/") + kSvcNames[i] + ".pid";
    s.pidfile_late[i] = s.has_pidfile[i] && r.Chance(0.2);
    s.uid[i] = r.Chance(0.5) ? 0 : 1000;
    c.start_grace =
        r.Chance(0.1) ? Duration::zero() : milliseconds(r.Range(500, 20000));
    c.stop_timeout = milliseconds(r.Range(500, 15000));
    c.restart_limit.max = static_cast<int>(r.Range(1, 5));
    c.restart_limit.within = seconds(r.Range(30, 900));
    c.restart_limit.then = r.Chance(0.6) ? RestartLimitAction::kUnmonitor
                                         : RestartLimitAction::kAlert;
    c.restart_backoff.initial = milliseconds(r.Range(200, 5000));
    c.restart_backoff.max =
        c.restart_backoff.initial * static_cast<int>(r.Range(1, 12));
    s.sup_timeout[i] = milliseconds(r.Range(1000, 30000));

    auto check = [&](const std::string& name, ProbeConfig probe,
                     OnFailure on_failure) {
      return RandomCheck(r, name, std::move(probe), on_failure);
    };
    // The health check restarts on failure (for db only sometimes, so that
    // db is also seen failing without a restart of its own).
    s.checks[i].push_back(check(
        "health", ExecProbeConfig{{"/bin/true"}, {}},
        i == 1 || r.Chance(0.7) ? OnFailure::kRestart : OnFailure::kAlert));
    // The config loader refuses process and memory checks without a pid
    // source.
    const bool source =
        s.has_pidfile[i] || (s.has_supervisor[i] && s.reports_pid[i]);
    if (source && r.Chance(0.7)) {
      s.checks[i].push_back(
          check("alive", ProcessProbeConfig{},
                r.Chance(0.5) ? OnFailure::kRestart : OnFailure::kAlert));
    }
    if (source && r.Chance(0.4)) {
      s.checks[i].push_back(
          check("mem", MemoryProbeConfig{kRssMax, false},
                r.Chance(0.5) ? OnFailure::kRestart : OnFailure::kAlert));
    }
    sum << c.name << ": supervisor=" << (s.has_supervisor[i] ? "yes" : "no")
        << " reports_pid=" << s.reports_pid[i]
        << " pidfile=" << (s.has_pidfile[i] ? *c.pidfile : "-")
        << (s.pidfile_late[i] ? " (late)" : "") << " uid=" << s.uid[i]
        << " start_grace=" << FormatDuration(c.start_grace)
        << " stop_timeout=" << FormatDuration(c.stop_timeout)
        << " limit=" << c.restart_limit.max << "/"
        << FormatDuration(c.restart_limit.within)
        << (c.restart_limit.then == RestartLimitAction::kUnmonitor
                ? " unmonitor"
                : " alert")
        << " backoff=" << FormatDuration(c.restart_backoff.initial) << ".."
        << FormatDuration(c.restart_backoff.max)
        << " sup_timeout=" << FormatDuration(s.sup_timeout[i])
        << (c.recover_supervisor_giveup ? " recover_supervisor_giveup" : "")
        << "; checks:";
    for (const CheckConfig& k : s.checks[i]) {
      sum << " " << k.name << "(" << FormatDuration(k.interval) << "/"
          << FormatDuration(k.timeout) << " f" << k.failures << " s"
          << k.successes << (k.jitter > 0 ? " jitter" : "")
          << (k.on_failure == OnFailure::kRestart ? " restart" : " alert")
          << ")";
    }
    sum << "\n";
  }
  s.summary = sum.str();
  return s;
}

// --- coverage, summed over all sequences -------------------------------------

struct Stats {
  int64_t sequences = 0, events = 0, restarts = 0, starts = 0,
          operator_restarts = 0, done_ok = 0, done_failed = 0,
          counted_after_failure = 0, undercounted = 0, escalations = 0,
          signals = 0, grace_notices = 0, limit_notices = 0, status_calls = 0,
          limit_passed_unseen = 0, recovers = 0, give_ups_seen = 0,
          give_ups_left = 0, replaces = 0, replaces_mid_restart = 0,
          checks_kept = 0, checks_kept_running = 0, checks_added = 0,
          checks_redefined = 0, checks_dropped = 0, checks_dropped_running = 0,
          rewires = 0;
  std::map<std::string, int64_t> states;
  std::map<std::string, int64_t> tolerated;  // sequences per kind
};
Stats g_stats;

// --- the harness -------------------------------------------------------------

class Harness;

// One Check the harness had a service build (at setup, or as a new or
// redefined check of ReplaceChecks), with the reporter it was given and
// what became of it. Slots outlive the services.
struct CheckSlot {
  int svc = 0;
  CheckConfig config;
  const Check* check = nullptr;  // once the service has built it
  bool dropped = false;          // ReplaceChecks was told to drop it
  bool destroyed = false;        // its probe is gone, so the Check is
  std::unique_ptr<CheckObserver> reporter;
};

// The reporter of one check: whatever it hears must be of that check,
// and never after the check was dropped.
class SlotReporter : public CheckObserver {
 public:
  SlotReporter(Harness* h, CheckSlot* slot) : h_(h), slot_(slot) {}
  void OnProbeDone(const Check& check, const ProbeResult& result, Duration,
                   Duration) override;
  void OnStateChange(const Check& check, CheckState from,
                     CheckState to) override;

 private:
  Harness* h_;
  CheckSlot* slot_;
};

// Wraps each check's probe: its destruction marks the slot, and a dropped
// check's probe must neither start nor answer.
class GuardedProbe : public Probe {
 public:
  GuardedProbe(Harness* h, CheckSlot* slot, std::unique_ptr<Probe> inner)
      : h_(h), slot_(slot), inner_(std::move(inner)) {}
  ~GuardedProbe() override {
    inner_.reset();
    slot_->destroyed = true;
  }
  void Start(Duration timeout, DoneCallback done) override;
  void Cancel() override { inner_->Cancel(); }
  ProbeResult TimedOut(Duration timeout) override {
    return inner_->TimedOut(timeout);
  }

 private:
  Harness* h_;
  CheckSlot* slot_;
  std::unique_ptr<Probe> inner_;
};

// The health check's probe: its outcome follows the world (the process
// answers, hangs, or is gone) or is forced by the sequence; it answers at
// once (inside Start), after a delay, or never (the Check times it out).
class ModelProbe : public Probe {
 public:
  ModelProbe(Harness* h, int svc);
  ~ModelProbe() override { Cancel(); }
  void Start(Duration timeout, DoneCallback done) override;
  void Cancel() override;

 private:
  void Answer() {
    DoneCallback done = std::move(done_);
    done_ = nullptr;
    if (done) done(std::move(result_));
  }
  Harness* h_;
  int svc_;
  DoneCallback done_;
  ProbeResult result_;
  Timer timer_;
};

class ModelSupervisor : public Supervisor {
 public:
  ModelSupervisor(Harness* h, int svc, bool reports_pid)
      : h_(h), svc_(svc), reports_pid_(reports_pid) {}
  std::unique_ptr<SupervisorCall> Restart(const ProgramRef& p,
                                          Done done) override;
  std::unique_ptr<SupervisorCall> Start(const ProgramRef& p,
                                        Done done) override;
  std::unique_ptr<SupervisorCall> Recover(const ProgramRef& p,
                                          Done done) override;
  std::unique_ptr<SupervisorCall> GetStatusReply(const ProgramRef& p,
                                                 StatusReplyDone done) override;
  bool reports_pid() const override { return reports_pid_; }

 private:
  Harness* h_;
  int svc_;
  bool reports_pid_;
};

// Each service sees the shared table through its own view, so that a
// signal is known to come from that service.
class TableView : public ProcessTable {
 public:
  TableView(Harness* h, int svc, FakeProcessTable* table)
      : h_(h), svc_(svc), t_(table) {}
  Result<ProcStat> Stat(pid_t pid) override { return t_->Stat(pid); }
  Result<ProcessUids> Uids(pid_t pid) override { return t_->Uids(pid); }
  std::vector<pid_t> Descendants(pid_t pid) override {
    return t_->Descendants(pid);
  }
  Result<FileStamp> Stamp(const std::string& path) override {
    return t_->Stamp(path);
  }
  Result<PidfileContents> ReadPidfile(const std::string& path) override {
    return t_->ReadPidfile(path);
  }
  Status Signal(const ProcessIdentity& process, int signo) override;
  int64_t WallClockNs() override { return t_->WallClockNs(); }
  int64_t BootWallClockNs() override {
    const int64_t v = t_->BootWallClockNs();
    if (min_boot_wall_ == INT64_MAX) first_boot_wall_ = v;
    min_boot_wall_ = std::min(min_boot_wall_, v);
    return v;
  }
  int64_t first_boot_wall_read() const { return first_boot_wall_; }
  int64_t TicksPerSecond() override { return t_->TicksPerSecond(); }
  bool IsProtected(pid_t pid) override { return t_->IsProtected(pid); }
  // The earliest boot time this service's tracker has read.
  int64_t min_boot_wall() const { return min_boot_wall_; }

 private:
  int64_t min_boot_wall_ = INT64_MAX;
  int64_t first_boot_wall_ = INT64_MAX;
  Harness* h_;
  int svc_;
  FakeProcessTable* t_;
};

class Observer : public ServiceObserver {
 public:
  Observer(Harness* h, int svc) : h_(h), svc_(svc) {}
  void OnServiceStateChange(const Service&, ServiceState from, ServiceState to,
                            const std::string& reason) override;
  void OnRestart(const Service&, const std::string& reason,
                 const std::string& detail) override;
  void OnRestartDone(const Service&, const Status& result) override;
  void OnEscalation(const Service&, const ProcessIdentity& process,
                    int descendants, const Status& result) override;
  void OnResidentMemory(const Service&, uint64_t) override {}
  void OnNotice(const Service&, const std::string& text) override;

 private:
  Harness* h_;
  int svc_;
};

struct Outcome {
  std::string kind;  // empty: no violation
  std::string message;
  std::vector<std::string> log;
};

class Harness {
 public:
  enum CallKind {
    kRestartCall = 0,
    kStartCall = 1,
    kStatusCall = 2,
    kRecoverCall = 3
  };

  Harness(uint64_t seed, bool keep_log);
  ~Harness();

  Outcome Run(const std::vector<Event>& events);

  // For the fakes.
  EventLoop& loop() { return loop_; }
  Rng& exec() { return exec_; }
  bool settling() const { return settling_; }
  ProbeOutcome HealthOutcome(int svc, std::string* reason);
  std::unique_ptr<SupervisorCall> NewCall(
      int svc, int kind, const ProgramRef& ref, Supervisor::Done done,
      Supervisor::StatusDone status_done,
      Supervisor::StatusReplyDone reply_done = nullptr);
  void CancelCall(uint64_t id);
  void OnSignal(int svc, const ProcessIdentity& p, int signo);
  // The supervisor sees its process killed, and may respawn it.
  void AfterSignal(const ProcessIdentity& p);
  void OnStateChange(int svc, ServiceState from, ServiceState to,
                     const std::string& reason);
  void OnRestart(int svc, const std::string& reason, const std::string& detail);
  void OnRestartDone(int svc, const Status& result);
  void OnEscalation(int svc, const ProcessIdentity& p, int descendants,
                    const Status& result);
  void OnNotice(int svc, const std::string& text);
  // A check's reporter heard `what` of `check`.
  void OnCheckEvent(const CheckSlot& slot, const Check& check,
                    const std::string& what);
  // The probe of a dropped check was started, or answered.
  void OnDroppedProbe(const CheckSlot& slot, const std::string& what);

 private:
  struct CallInfo {
    std::string reason;
    // The call OnRestart's reason asks for; -1: a restart or a recovery
    // (the operator's, which recovers what the service saw given up).
    int expect_kind = kRestartCall;
    uint64_t call_id = 0;
    bool answered = false;
    bool answered_ok = false;
    bool work_done = false;
    bool counted = false;  // a successful restart, from the supervisor
    TimePoint counted_at{};
    bool reported_ok = false;
    bool before_resume = false;  // the policy was reset since
    bool reported = false;
    ProcessIdentity main_at_ask;
    std::optional<ProcessIdentity> record_at_ask;
    // The clock tick the call began in, as the service reckons it.
    uint64_t began_tick = 0;
  };
  struct PendingCall {
    int svc = 0;
    int kind = kStatusCall;
    Supervisor::Done done;
    Supervisor::StatusDone status_done;
    Supervisor::StatusReplyDone reply_done;  // GetStatusReply's, if so
    TimePoint asked_at{};
    Plan plan = Plan::kSucceed;
    StatusMode status_mode = StatusMode::kPrompt;
    int info = -1;
  };
  struct Model {
    // The world.
    pid_t main = 0;  // the supervisor's process for the program, 0: none
    bool hung = false;
    ProbeMode mode = ProbeMode::kAuto;
    StatusMode status = StatusMode::kPrompt;
    // The supervisor's own hold on the program (only while main is 0).
    ProgramHold hold = ProgramHold::kNone;
    // What the last status answer the service got said of it.
    ProgramHold answered_hold = ProgramHold::kNone;
    std::optional<Plan> next_plan;
    // What was seen of the service.
    std::vector<CallInfo> calls;
    int asked = 0, done = 0;
    // Operator restarts whose answer has not come (each comes once).
    int waiting = 0;
    std::vector<ProcessIdentity> allowed;     // may be signalled
    std::optional<TimePoint> escalation_due;  // when they must be gone
    std::optional<TimePoint> escalated_at;    // the last signal
    TimePoint grace_until{};
    // The grace the service itself began (after a restart, or with a "new
    // process" notice); grace_until also has the model's own new processes.
    TimePoint own_grace_until{};
    std::optional<ProcessIdentity> prev_record, last_record;
    std::optional<TimePoint> last_end;  // of a restart, since Resume
    ServiceState last_state = ServiceState::kOk;
  };
  class Handle : public SupervisorCall {
   public:
    Handle(Harness* h, uint64_t id) : h_(h), id_(id) {}
    ~Handle() override { h_->CancelCall(id_); }

   private:
    Harness* h_;
    uint64_t id_;
  };
  struct AgendaItem {
    uint64_t call = 0;  // the call it answers, 0: a world action
    std::function<void()> fn;
  };

  TimePoint Now() const { return clock_.Now(); }
  std::string T() const;
  void Log(const std::string& line);
  void Violation(const std::string& kind, const std::string& message);
  bool InFlight(int i) const { return m_[i].asked > m_[i].done; }
  bool HasSource(int i) const {
    return setup_.has_pidfile[i] ||
           (setup_.has_supervisor[i] && setup_.reports_pid[i]);
  }
  // The supervisor refuses to act on a program it gave up but to recover
  // it (systemd's start limit).
  bool Refuses(int i, int kind) const {
    return m_[i].hold == ProgramHold::kGaveUp && kind != kRecoverCall;
  }
  static const char* CallName(int kind) {
    return kind == kRestartCall ? "Restart"
           : kind == kStartCall ? "Start"
                                : "Recover";
  }
  bool MainAlive(int i) {
    const FakeProcessTable::Process* p = table_.Find(m_[i].main);
    return p != nullptr && p->state != 'Z';
  }
  ProcessIdentity MainIdentity(int i) {
    return m_[i].main ? table_.IdentityOf(m_[i].main) : ProcessIdentity{};
  }
  std::string Describe(pid_t pid);
  std::string WorldSummary();

  // Time.
  void Pump();
  void AdvanceBy(Duration d, Duration max_step);
  void RunAgenda();
  void Schedule(TimePoint at, uint64_t call, std::function<void()> fn);
  void Unschedule(uint64_t call);

  // The world.
  void Apply(const Event& e);
  void WritePid(int i, pid_t pid);
  void DoReplace(int i, int info);
  void TryComplete(uint64_t id);
  void AnswerCall(uint64_t id, Status status);
  void AnswerStatus(uint64_t id);
  void RecordSuccess(int i, int info);
  void Settle();
  // Reloads.
  CheckSlot* NewSlot(int i, CheckConfig config);
  std::unique_ptr<Probe> MakeProbe(CheckSlot* slot);
  void ReplaceChecks(int i, uint64_t plan_seed);
  void Rewire(int wiring, bool web_first);
  static std::string SlotName(const CheckSlot& slot) {
    return std::string(kSvcNames[slot.svc]) + "/" + slot.config.name;
  }

  // Invariants.
  void ExpectStop(int i);
  void CheckAll();
  void CheckRecord(int i);
  void CheckState(int i);
  void CheckRecycled(int i);
  void CheckEscalation(int i);

  const uint64_t seed_;
  const bool keep_log_;
  // WATCHD_MODEL_VERBOSE=1: every check's runs go to the log too.
  const bool verbose_ = keep_log_ && EnvInt("WATCHD_MODEL_VERBOSE", 0) != 0;
  Setup setup_;
  Rng exec_;
  FakeClock clock_;
  const TimePoint start_ = clock_.Now();
  EventLoop loop_{&clock_};
  FakeProcessTable table_{&clock_};
  const int64_t start_boot_wall_ = table_.BootWallClockNs();
  Random service_random_;
  std::multimap<TimePoint, AgendaItem> agenda_;
  std::map<uint64_t, PendingCall> calls_;
  uint64_t next_call_ = 0;
  Model m_[2];
  std::vector<pid_t> strangers_;
  // depends_on as the model has it: deps_[i] are the services i depends on.
  std::vector<int> deps_[2] = {{}, {0}};
  // Every check ever built, kept after the services are gone (their probes
  // mark them as they go).
  std::vector<std::unique_ptr<CheckSlot>> slots_;
  size_t signals_seen_ = 0;
  bool stopping_ = false;  // inside Stop(): calls may be cancelled
  bool settling_ = false;
  std::string kind_, message_;
  std::set<std::string> tolerated_;
  std::vector<std::string> log_;
  std::unique_ptr<TableView> views_[2];
  std::unique_ptr<ModelSupervisor> sups_[2];
  std::unique_ptr<Observer> observers_[2];
  // Last: destroyed first, while everything they call into is whole.
  std::unique_ptr<Service> svcs_[2];
};

// --- fakes' bodies -----------------------------------------------------------

void SlotReporter::OnProbeDone(const Check& check, const ProbeResult& result,
                               Duration, Duration) {
  h_->OnCheckEvent(*slot_, check,
                   std::string(ProbeOutcomeName(result.outcome)) + " (" +
                       result.reason + ")");
}

void SlotReporter::OnStateChange(const Check& check, CheckState from,
                                 CheckState to) {
  h_->OnCheckEvent(
      *slot_, check,
      std::string(CheckStateName(from)) + " -> " + CheckStateName(to));
}

void GuardedProbe::Start(Duration timeout, DoneCallback done) {
  if (slot_->dropped) h_->OnDroppedProbe(*slot_, "started");
  inner_->Start(timeout, [h = h_, slot = slot_,
                          done = std::move(done)](ProbeResult result) {
    if (slot->dropped) {
      h->OnDroppedProbe(*slot, "answered");
      return;
    }
    done(std::move(result));
  });
}

ModelProbe::ModelProbe(Harness* h, int svc)
    : h_(h), svc_(svc), timer_([this] { Answer(); }) {}

void ModelProbe::Start(Duration timeout, DoneCallback done) {
  done_ = std::move(done);
  std::string reason;
  ProbeOutcome o = h_->HealthOutcome(svc_, &reason);
  // A timeout is a probe that never answers: the Check ends the run.
  if (o == ProbeOutcome::kTimeout) return;
  result_ = ProbeResult(o, reason);
  Rng& r = h_->exec();
  // Some answers come after the Check's timeout (a slow service), but not
  // once the world has healed.
  size_t k = r.Weighted({30, 50, h_->settling() ? 0 : 20});
  if (k == 0) {
    Answer();  // inside Start: the Check defers it to the loop
    return;
  }
  const int64_t t = std::max<int64_t>(
      2, std::chrono::duration_cast<milliseconds>(timeout).count());
  Duration delay = k == 1 ? milliseconds(r.Range(1, t / 2))
                          : milliseconds(r.Range(t / 2, t + t / 3));
  h_->loop().ScheduleAfter(&timer_, delay);
}

void ModelProbe::Cancel() {
  h_->loop().Cancel(&timer_);
  done_ = nullptr;
}

std::unique_ptr<SupervisorCall> ModelSupervisor::Restart(const ProgramRef& p,
                                                         Done done) {
  return h_->NewCall(svc_, Harness::kRestartCall, p, std::move(done), nullptr);
}
std::unique_ptr<SupervisorCall> ModelSupervisor::Start(const ProgramRef& p,
                                                       Done done) {
  return h_->NewCall(svc_, Harness::kStartCall, p, std::move(done), nullptr);
}
std::unique_ptr<SupervisorCall> ModelSupervisor::Recover(const ProgramRef& p,
                                                         Done done) {
  return h_->NewCall(svc_, Harness::kRecoverCall, p, std::move(done), nullptr);
}
std::unique_ptr<SupervisorCall> ModelSupervisor::GetStatusReply(
    const ProgramRef& p, StatusReplyDone done) {
  return h_->NewCall(svc_, Harness::kStatusCall, p, nullptr, nullptr,
                     std::move(done));
}

Status TableView::Signal(const ProcessIdentity& process, int signo) {
  h_->OnSignal(svc_, process, signo);
  Status s = t_->Signal(process, signo);
  h_->AfterSignal(process);
  return s;
}

void Observer::OnServiceStateChange(const Service&, ServiceState from,
                                    ServiceState to,
                                    const std::string& reason) {
  h_->OnStateChange(svc_, from, to, reason);
}
void Observer::OnRestart(const Service&, const std::string& reason,
                         const std::string& detail) {
  h_->OnRestart(svc_, reason, detail);
}
void Observer::OnRestartDone(const Service&, const Status& result) {
  h_->OnRestartDone(svc_, result);
}
void Observer::OnEscalation(const Service&, const ProcessIdentity& process,
                            int descendants, const Status& result) {
  h_->OnEscalation(svc_, process, descendants, result);
}
void Observer::OnNotice(const Service&, const std::string& text) {
  h_->OnNotice(svc_, text);
}

// --- harness: setup ----------------------------------------------------------

Harness::Harness(uint64_t seed, bool keep_log)
    : seed_(seed),
      keep_log_(keep_log),
      setup_(MakeSetup(seed)),
      exec_(Mix(seed ^ 0xa0761d6478bd642full)),
      service_random_(Mix(seed ^ 0xe7037ed1a0b428dbull)) {
  if (!loop_.Init().ok()) ADD_FAILURE() << "EventLoop::Init failed";
  table_.SetPidRange(kPidLo, kPidHi);
  table_.Spawn(0, 0, "init", kInit);
  table_.Spawn(kInit, 0, "supervisord", kSupervisord);
  table_.Spawn(kInit, 0, "sh", kShell);
  table_.Spawn(kShell, 0, "watchd", kWatchd);
  table_.Protect(kShell);
  table_.Protect(kWatchd);
  for (int k = 0; k < 5; ++k) {
    pid_t p =
        table_.Spawn(kInit, k % 2 ? 1000 : 0, "stranger", 0, exec_.Next());
    if (p) strangers_.push_back(p);
  }
  for (int i = 0; i < 2; ++i) {
    const pid_t parent = setup_.reports_pid[i] ? kSupervisord : kInit;
    m_[i].main =
        table_.Spawn(parent, setup_.uid[i], kSvcNames[i], 0, exec_.Next());
    // Sometimes watchd starts before the service has written its pidfile.
    if (setup_.has_pidfile[i] && !setup_.pidfile_late[i]) {
      WritePid(i, m_[i].main);
    }
    views_[i] = std::make_unique<TableView>(this, i, &table_);
    sups_[i] =
        std::make_unique<ModelSupervisor>(this, i, setup_.reports_pid[i]);
    observers_[i] = std::make_unique<Observer>(this, i);
    svcs_[i] = std::make_unique<Service>(
        setup_.config[i], setup_.has_supervisor[i] ? sups_[i].get() : nullptr,
        &loop_, &service_random_, observers_[i].get(), views_[i].get());
    for (const CheckConfig& k : setup_.checks[i]) {
      CheckSlot* slot = NewSlot(i, k);
      svcs_[i]->AddCheck(k, MakeProbe(slot), slot->reporter.get());
      slot->check = svcs_[i]->checks().back().get();
    }
  }
  svcs_[1]->SetDependencies({svcs_[0].get()});
}

Harness::~Harness() {
  stopping_ = true;
  // Either may go first: a destroyed service leaves the other's lists.
  const int first = static_cast<int>(Mix(seed_) & 1);
  svcs_[first].reset();
  svcs_[1 - first].reset();
  agenda_.clear();
}

CheckSlot* Harness::NewSlot(int i, CheckConfig config) {
  slots_.push_back(std::make_unique<CheckSlot>());
  CheckSlot* slot = slots_.back().get();
  slot->svc = i;
  slot->config = std::move(config);
  slot->reporter = std::make_unique<SlotReporter>(this, slot);
  return slot;
}

// By the kind of check: exec checks are the sequence's ModelProbe, process
// and memory checks the real probes on the service's process record.
std::unique_ptr<Probe> Harness::MakeProbe(CheckSlot* slot) {
  Service* svc = svcs_[slot->svc].get();
  std::unique_ptr<Probe> inner;
  if (std::holds_alternative<ProcessProbeConfig>(slot->config.probe)) {
    inner = std::make_unique<ProcessProbe>(svc);
  } else if (const auto* mem =
                 std::get_if<MemoryProbeConfig>(&slot->config.probe)) {
    inner = std::make_unique<MemoryProbe>(*mem, svc);
  } else {
    inner = std::make_unique<ModelProbe>(this, slot->svc);
  }
  return std::make_unique<GuardedProbe>(this, slot, std::move(inner));
}

std::string Harness::T() const {
  char buf[32];
  snprintf(buf, sizeof(buf), "[%9.3fs] ", ToSeconds(Now() - start_));
  return buf;
}

void Harness::Log(const std::string& line) {
  if (keep_log_) log_.push_back(T() + line);
}

void Harness::Violation(const std::string& kind, const std::string& message) {
  if (!kind_.empty() || stopping_) return;
  if (Tolerated(kind)) {
    // Counted once per sequence, and the sequence goes on: other bugs
    // still show behind a known one.
    if (tolerated_.insert(kind).second) ++g_stats.tolerated[kind];
    Log("tolerated " + kind + ": " + message);
    return;
  }
  kind_ = kind;
  message_ = T() + message + "\n  world: " + WorldSummary();
  Log("VIOLATION " + kind + ": " + message);
}

std::string Harness::Describe(pid_t pid) {
  const FakeProcessTable::Process* p = table_.Find(pid);
  if (p == nullptr) return std::to_string(pid) + "(gone)";
  return std::to_string(pid) + "@" + std::to_string(p->start_time) + "(" +
         p->comm + " " + p->state + " uid " + std::to_string(p->uid) +
         " ppid " + std::to_string(p->ppid) + ")";
}

std::string Harness::WorldSummary() {
  std::string s;
  for (int i = 0; i < 2; ++i) {
    const Service& svc = *svcs_[i];
    s += std::string(kSvcNames[i]) + ": state " +
         ServiceStateName(svc.state()) + " health " +
         ServiceStateName(svc.health()) + " (" + svc.reason() + ") main " +
         (m_[i].main ? Describe(m_[i].main) : "none") + " record " +
         (svc.process() ? std::to_string(svc.process()->pid) + "@" +
                              std::to_string(svc.process()->start_time)
                        : "none") +
         " checks";
    for (const auto& c : svc.checks()) {
      s += std::string(" ") + c->name() + "=" + CheckStateName(c->state()) +
           "/" + std::to_string(c->consecutive_failures());
    }
    if (setup_.has_pidfile[i]) {
      const FakeProcessTable::Pidfile* f =
          table_.FindFile(*setup_.config[i].pidfile);
      s += " pidfile ";
      if (f == nullptr) {
        s += "missing";
      } else {
        s += (f->regular ? "'" + f->contents.substr(0, 12) + "'" : "fifo") +
             " owner " + std::to_string(f->owner) + " mode " +
             std::to_string(f->mode);
      }
    }
    s += "; ";
  }
  return s;
}

// --- harness: time -----------------------------------------------------------

void Harness::Schedule(TimePoint at, uint64_t call, std::function<void()> fn) {
  agenda_.emplace(at, AgendaItem{call, std::move(fn)});
}

void Harness::Unschedule(uint64_t call) {
  for (auto it = agenda_.begin(); it != agenda_.end();) {
    it = it->second.call == call ? agenda_.erase(it) : std::next(it);
  }
}

void Harness::RunAgenda() {
  while (!agenda_.empty() && agenda_.begin()->first <= Now() && kind_.empty()) {
    std::function<void()> fn = std::move(agenda_.begin()->second.fn);
    agenda_.erase(agenda_.begin());
    fn();
  }
}

void Harness::Pump() {
  // Each pass runs the timers due twice; chains of zero-delay tasks (a
  // lookup's task, the status answer, the restart's end) take a few.
  for (int k = 0; k < 2; ++k) loop_.RunOnce(Duration::zero());
  CheckAll();
}

void Harness::AdvanceBy(Duration d, Duration max_step) {
  const TimePoint end = Now() + d;
  const Duration step =
      std::min(max_step, d <= seconds(5)    ? Duration(milliseconds(200))
                         : d <= seconds(60) ? Duration(milliseconds(500))
                                            : Duration(seconds(2)));
  while (Now() < end && kind_.empty()) {
    TimePoint next = std::min(end, Now() + step);
    if (!agenda_.empty() && agenda_.begin()->first > Now() &&
        agenda_.begin()->first < next) {
      next = agenda_.begin()->first;
    }
    clock_.Set(next);
    RunAgenda();
    Pump();
  }
}

// --- harness: the world ------------------------------------------------------

ProbeOutcome Harness::HealthOutcome(int i, std::string* reason) {
  ProbeMode mode = m_[i].mode;
  if (settling_) mode = ProbeMode::kAuto;
  if (mode == ProbeMode::kFlaky) {
    mode = exec_.Chance(0.5) ? ProbeMode::kSuccess : ProbeMode::kFailure;
  }
  switch (mode) {
    case ProbeMode::kSuccess:
      *reason = "forced success";
      return ProbeOutcome::kSuccess;
    case ProbeMode::kFailure:
      *reason = "forced failure";
      return ProbeOutcome::kFailure;
    case ProbeMode::kTimeout:
      return ProbeOutcome::kTimeout;
    case ProbeMode::kError:
      *reason = "forced error";
      return ProbeOutcome::kError;
    case ProbeMode::kAuto:
    case ProbeMode::kFlaky:
      break;
  }
  const FakeProcessTable::Process* p = table_.Find(m_[i].main);
  if (p == nullptr || p->state == 'Z') {
    *reason = "connection refused";
    return ProbeOutcome::kFailure;
  }
  if (p->state == 'T' || m_[i].hung) return ProbeOutcome::kTimeout;
  *reason = "200 OK";
  return ProbeOutcome::kSuccess;
}

void Harness::WritePid(int i, pid_t pid) {
  if (!setup_.has_pidfile[i]) return;
  const std::string& path = *setup_.config[i].pidfile;
  uint32_t owner = 0, mode = 0644;
  // Rewritten in place: it keeps its owner and mode.
  if (const FakeProcessTable::Pidfile* f = table_.FindFile(path);
      f != nullptr && f->regular) {
    owner = f->owner;
    mode = f->mode;
  }
  table_.WritePidfile(path, std::to_string(pid) + "\n", owner, mode);
}

// The supervisor ends the program's process (and, as often as not, its
// children) and starts a new one, which writes its pidfile (mostly at once).
void Harness::DoReplace(int i, int info) {
  Model& m = m_[i];
  if (m.main != 0) {
    if (const FakeProcessTable::Process* p = table_.Find(m.main)) {
      if (p->state == 'Z') {
        table_.Reap(m.main);
      } else {
        for (pid_t child : table_.Descendants(m.main)) {
          if (exec_.Chance(0.5)) table_.Exit(child);
        }
        table_.Exit(m.main);
      }
    }
  }
  const pid_t parent = setup_.reports_pid[i] ? kSupervisord : kInit;
  m.main = table_.Spawn(parent, setup_.uid[i], kSvcNames[i], 0, exec_.Next());
  m.hung = false;
  m.hold = ProgramHold::kNone;
  Log(std::string("world: ") + kSvcNames[i] + " now runs " +
      (m.main ? Describe(m.main) : "nothing (no free pid)"));
  if (m.main == 0) return;
  if (exec_.Chance(0.3)) {
    table_.Spawn(m.main, setup_.uid[i], std::string(kSvcNames[i]) + "-worker",
                 0, exec_.Next());
  }
  if (exec_.Chance(0.85) || settling_) WritePid(i, m.main);
  if (info >= 0) {
    m.calls[info].work_done = true;
    RecordSuccess(i, info);
  }
}

void Harness::RecordSuccess(int i, int info) {
  CallInfo& c = m_[i].calls[info];
  if (c.counted || c.before_resume) return;
  c.counted = true;
  c.counted_at = Now();
}

std::unique_ptr<SupervisorCall> Harness::NewCall(
    int i, int kind, const ProgramRef& ref, Supervisor::Done done,
    Supervisor::StatusDone status_done,
    Supervisor::StatusReplyDone reply_done) {
  Model& m = m_[i];
  const uint64_t id = ++next_call_;
  PendingCall c;
  c.svc = i;
  c.kind = kind;
  c.done = std::move(done);
  c.status_done = std::move(status_done);
  c.reply_done = std::move(reply_done);
  c.asked_at = Now();
  const Duration timeout = setup_.sup_timeout[i];
  if (kind == kStatusCall) {
    ++g_stats.status_calls;
    c.status_mode = settling_ ? StatusMode::kPrompt : m.status;
    Duration delay{};
    switch (c.status_mode) {
      case StatusMode::kPrompt:
        // Once healed, faster than any check's timeout.
        delay = milliseconds(exec_.Range(0, settling_ ? 50 : 300));
        break;
      case StatusMode::kSlow:
        delay = milliseconds(exec_.Range(500, 4000));
        break;
      case StatusMode::kError:
      case StatusMode::kUnknownProgram:
        delay = milliseconds(exec_.Range(0, 500));
        break;
      case StatusMode::kTimeout:
        delay = timeout;
        break;
      case StatusMode::kHang:
        break;
    }
    calls_.emplace(id, std::move(c));
    if (calls_[id].status_mode != StatusMode::kHang) {
      Schedule(Now() + delay, id, [this, id] { AnswerStatus(id); });
    }
    return std::make_unique<Handle>(this, id);
  }

  // A restart or a start: it must be the one OnRestart announced.
  ++(kind == kRestartCall ? g_stats.restarts
     : kind == kStartCall ? g_stats.starts
                          : g_stats.recovers);
  for (const auto& [other, pc] : calls_) {
    if (pc.svc == i && pc.kind != kStatusCall) {
      Violation("two-restarts-in-flight",
                std::string(kSvcNames[i]) + ": a " + CallName(kind) +
                    " call while call #" + std::to_string(other) +
                    " is still unanswered");
    }
  }
  if (!InFlight(i) || m.calls.empty() || m.calls.back().call_id != 0) {
    Violation("call-without-onrestart",
              std::string(kSvcNames[i]) +
                  ": a supervisor call that no OnRestart announced");
  } else {
    CallInfo& info = m.calls.back();
    info.call_id = id;
    c.info = static_cast<int>(m.calls.size()) - 1;
    const bool fits = info.expect_kind < 0
                          ? kind == kRestartCall || kind == kRecoverCall
                          : kind == info.expect_kind;
    if (!fits) {
      Violation("wrong-call-kind",
                std::string(kSvcNames[i]) + ": OnRestart reason '" +
                    info.reason + "' but the supervisor got " + CallName(kind));
    }
    // The supervisor's give-up is the operator's or the key's to clear;
    // while it backs off, the new process is its to start. The service
    // acts on a look it has just made, whose answer is the last one.
    const std::string name = kSvcNames[i];
    const std::string what =
        std::string(CallName(kind)) + " call (" + info.reason + ")";
    if (info.reason != "operator") {
      if (kind != kRecoverCall && m.answered_hold == ProgramHold::kGaveUp) {
        Violation("start-while-supervisor-gave-up",
                  name + ": " + what +
                      " though the supervisor said it gave "
                      "the program up");
      }
      if (kind == kStartCall && m.answered_hold == ProgramHold::kBackingOff) {
        Violation("start-while-supervisor-backs-off",
                  name + ": " + what +
                      " though the supervisor said it is backing off");
      }
      if (kind == kRecoverCall && !setup_.config[i].recover_supervisor_giveup) {
        Violation("recover-without-key",
                  name + ": " + what + " without recover_supervisor_giveup");
      }
      if (kind == kRecoverCall && m.answered_hold != ProgramHold::kGaveUp) {
        Violation("recover-without-give-up",
                  name + ": " + what +
                      " though the supervisor did not say it gave up");
      }
    } else if (kind == kRecoverCall &&
               m.answered_hold != ProgramHold::kGaveUp) {
      Violation("recover-without-give-up",
                name + ": operator's " + what +
                    " though the supervisor did not say it gave up");
    }
  }
  if (kind == kRestartCall) ExpectStop(i);
  const ProcessIdentity recorded =
      svcs_[i]->process().value_or(ProcessIdentity{});
  if (ref.pid != recorded.pid) {
    Violation("program-ref-pid",
              std::string(kSvcNames[i]) + ": ProgramRef names pid " +
                  std::to_string(ref.pid) + " but the record is pid " +
                  std::to_string(recorded.pid));
  }
  Plan plan = Plan::kSucceed;
  if (settling_) {
    plan = Plan::kSucceed;
  } else if (m.next_plan) {
    plan = *m.next_plan;
    m.next_plan.reset();
  } else {
    plan = static_cast<Plan>(exec_.Weighted({62, 10, 5, 8, 10, 2}));
  }
  c.plan = plan;
  const int info = c.info;
  Log(std::string("sup ") + kSvcNames[i] + ": " + CallName(kind) + " call #" +
      std::to_string(id) + " (pid " + std::to_string(ref.pid) + "), plan " +
      kPlanNames[static_cast<int>(plan)]);
  calls_.emplace(id, std::move(c));
  switch (plan) {
    case Plan::kSucceed:
      Schedule(Now() + milliseconds(exec_.Range(50, 3000)), id,
               [this, id] { TryComplete(id); });
      break;
    case Plan::kFail:
      Schedule(Now() + milliseconds(exec_.Range(10, 800)), id, [this, id] {
        AnswerCall(id, Status::Error("supervisord: SPAWN_ERROR"));
      });
      break;
    case Plan::kFailAfterStop:
      Schedule(Now() + milliseconds(exec_.Range(100, 2000)), id, [this, id, i] {
        const FakeProcessTable::Process* p = table_.Find(m_[i].main);
        if (p != nullptr && !p->ignores_term && p->state != 'T') {
          Log(std::string("world: ") + kSvcNames[i] + " stopped, start failed");
          table_.Exit(m_[i].main);
          m_[i].main = 0;
        }
        AnswerCall(id, Status::Error("supervisord: exited too quickly"));
      });
      break;
    case Plan::kTimeout:
      Schedule(Now() + timeout, id, [this, id, timeout] {
        AnswerCall(id,
                   Status::Error("timed out after " + FormatDuration(timeout)));
      });
      break;
    case Plan::kTimeoutDone: {
      Schedule(
          Now() +
              milliseconds(exec_.Range(
                  100,
                  std::chrono::duration_cast<milliseconds>(timeout).count())),
          id, [this, i, info, kind] {
            // The work, if the old process can be stopped.
            const FakeProcessTable::Process* p = table_.Find(m_[i].main);
            const bool alive = p != nullptr && p->state != 'Z';
            if (!Refuses(i, kind) &&
                (kind != kRestartCall
                     ? !alive
                     : !(alive && (p->ignores_term || p->state == 'T')))) {
              DoReplace(i, info);
            }
          });
      Schedule(Now() + timeout, id, [this, id, timeout] {
        AnswerCall(id,
                   Status::Error("timed out after " + FormatDuration(timeout)));
      });
      break;
    }
    case Plan::kHang:
      break;
  }
  return std::make_unique<Handle>(this, id);
}

void Harness::TryComplete(uint64_t id) {
  auto it = calls_.find(id);
  if (it == calls_.end()) return;
  const PendingCall& c = it->second;
  const int i = c.svc;
  if (Refuses(i, c.kind)) {
    AnswerCall(id, Status::Error("start request repeated too quickly"));
    return;
  }
  if (c.kind != kRestartCall) {
    if (MainAlive(i)) {
      // Already running: systemctl start does nothing and succeeds.
      AnswerCall(id, Status::Ok());
      return;
    }
    DoReplace(i, c.info);
    AnswerCall(id, Status::Ok());
    return;
  }
  const FakeProcessTable::Process* p = table_.Find(m_[i].main);
  if (p != nullptr && p->state != 'Z' && (p->ignores_term || p->state == 'T')) {
    // The stop waits for a process that ignores it, up to the timeout.
    const TimePoint limit = c.asked_at + setup_.sup_timeout[i];
    if (Now() < limit) {
      Schedule(std::min(limit, Now() + milliseconds(200)), id,
               [this, id] { TryComplete(id); });
      return;
    }
    AnswerCall(id, Status::Error("timed out after " +
                                 FormatDuration(setup_.sup_timeout[i]) +
                                 " waiting for the stop"));
    return;
  }
  DoReplace(i, c.info);
  AnswerCall(id, Status::Ok());
}

void Harness::AnswerCall(uint64_t id, Status status) {
  auto it = calls_.find(id);
  if (it == calls_.end()) return;
  PendingCall c = std::move(it->second);
  calls_.erase(it);
  Unschedule(id);
  if (c.info >= 0) {
    CallInfo& info = m_[c.svc].calls[c.info];
    info.answered = true;
    info.answered_ok = status.ok();
    if (status.ok()) RecordSuccess(c.svc, c.info);
  }
  Log(std::string("sup ") + kSvcNames[c.svc] + ": call #" + std::to_string(id) +
      " answers " + status.ToString());
  c.done(std::move(status));
}

void Harness::AnswerStatus(uint64_t id) {
  auto it = calls_.find(id);
  if (it == calls_.end()) return;
  PendingCall c = std::move(it->second);
  calls_.erase(it);
  Unschedule(id);
  const int i = c.svc;
  auto answer = [&](Result<ProgramStatus> status, bool unknown_program) {
    if (!status.ok()) m_[i].answered_hold = ProgramHold::kNone;
    if (c.reply_done) {
      c.reply_done(StatusReply{std::move(status), unknown_program});
    } else {
      c.status_done(std::move(status));
    }
  };
  switch (c.status_mode) {
    case StatusMode::kError:
      answer(Status::Error("cannot reach supervisord"), false);
      return;
    case StatusMode::kTimeout:
      answer(Status::Error("timed out after " +
                           FormatDuration(setup_.sup_timeout[i])),
             false);
      return;
    case StatusMode::kUnknownProgram:
      // Only GetStatusReply can say so; GetStatus says it failed.
      answer(Status::Error(std::string("supervisord has no program '") +
                           kSvcNames[i] + "'"),
             true);
      return;
    case StatusMode::kPrompt:
    case StatusMode::kSlow:
    case StatusMode::kHang:
      break;
  }
  // A zombie not yet reaped is still the supervisor's RUNNING process.
  const bool running = m_[i].main != 0 && table_.Find(m_[i].main) != nullptr;
  ProgramStatus status{running ? m_[i].main : 0,
                       running ? "RUNNING" : "EXITED"};
  if (!running && m_[i].hold != ProgramHold::kNone) {
    const bool gave_up = m_[i].hold == ProgramHold::kGaveUp;
    status.state = gave_up ? "FATAL" : "BACKOFF";
    status.hold = m_[i].hold;
    status.hold_reason = status.state + " (Exited too quickly)";
    g_stats.give_ups_seen += gave_up;
  }
  m_[i].answered_hold = status.hold;
  answer(std::move(status), false);
}

void Harness::CancelCall(uint64_t id) {
  auto it = calls_.find(id);
  if (it == calls_.end()) return;
  const PendingCall& c = it->second;
  if (c.kind != kStatusCall && !stopping_) {
    Violation("restart-call-dropped",
              std::string(kSvcNames[c.svc]) + ": restart call #" +
                  std::to_string(id) +
                  " cancelled before its answer, outside Stop()");
  }
  calls_.erase(it);
  Unschedule(id);
}

void Harness::Apply(const Event& e) {
  const int i = e.svc;
  Model& m = m_[i];
  Service& svc = *svcs_[i];
  FakeProcessTable::Process* main = table_.Find(m.main);
  const bool alive = main != nullptr && main->state != 'Z';
  const std::string pidfile =
      setup_.has_pidfile[i] ? *setup_.config[i].pidfile : std::string();
  switch (e.kind) {
    case Ev::kAdvance:
      AdvanceBy(milliseconds(e.a), seconds(2));
      return;
    case Ev::kCrash:
      if (!alive) return;
      table_.Exit(m.main, e.a != 0);
      if (e.a == 0) m.main = 0;
      if (e.b > 0) {
        Schedule(Now() + milliseconds(e.b), 0, [this, i] {
          if (!MainAlive(i)) DoReplace(i, -1);
        });
      }
      break;
    case Ev::kRespawn:
      DoReplace(i, -1);
      break;
    case Ev::kReap:
      if (main != nullptr && main->state == 'Z') {
        table_.Reap(m.main);
        m.main = 0;
      }
      break;
    case Ev::kHang:
      m.hung = true;
      break;
    case Ev::kUnhang:
      m.hung = false;
      break;
    case Ev::kSigstop:
      if (alive) main->state = 'T';
      break;
    case Ev::kSigcont:
      if (alive && main->state == 'T') main->state = 'S';
      break;
    case Ev::kStopIgnored:
      if (alive) main->ignores_term = e.a != 0;
      break;
    case Ev::kWorker:
      if (alive) {
        pid_t w = table_.Spawn(m.main, setup_.uid[i],
                               std::string(kSvcNames[i]) + "-worker", 0,
                               exec_.Next());
        if (w && e.a) table_.Find(w)->state = 'T';
      }
      break;
    case Ev::kMemory:
      if (alive) main->rss_bytes = static_cast<uint64_t>(e.a) * kMiB;
      break;
    case Ev::kPidfileRewrite:
      WritePid(i, m.main ? m.main : 99);
      break;
    case Ev::kPidfileDelete:
      if (!pidfile.empty()) table_.RemoveFile(pidfile);
      break;
    case Ev::kPidfileGarbage: {
      static const char* const kGarbage[] = {
          "", "abc\n", "-5\n", "0\n", "12345678901\n", "4 2\n", "\n\n"};
      if (!pidfile.empty()) table_.WritePidfile(pidfile, kGarbage[e.a]);
      break;
    }
    case Ev::kPidfileForeign: {
      if (pidfile.empty()) return;
      pid_t target = 0;
      switch (e.a) {
        case 0:
          target = kInit;
          break;
        case 1:
          target = kWatchd;
          break;
        case 2:
          target = m_[1 - i].main;
          break;
        case 3:
          target = strangers_.empty() ? 99 : strangers_[0];
          break;
        case 4: {
          std::vector<pid_t> d = table_.Descendants(m.main);
          target = d.empty() ? 98 : d[0];
          break;
        }
        case 5:
          target = kSupervisord;
          break;
        default:
          target = strangers_.empty() ? 97 : strangers_.back();
          break;
      }
      WritePid(i, target ? target : 96);
      break;
    }
    case Ev::kPidfileUntrusted:
      if (pidfile.empty()) return;
      if (e.a == 0) table_.Chown(pidfile, 1000);
      if (e.a == 1) table_.Chown(pidfile, 1001);
      if (e.a == 2) table_.Chmod(pidfile, 0666);
      break;
    case Ev::kPidfileTrusted:
      if (pidfile.empty()) return;
      table_.Chown(pidfile, 0);
      table_.Chmod(pidfile, 0644);
      break;
    case Ev::kPidfileFifo:
      if (!pidfile.empty()) table_.ReplaceWithFifo(pidfile);
      break;
    case Ev::kPidfileOld:
      if (!pidfile.empty()) {
        table_.SetMtime(pidfile, table_.WallClockNs() - e.a * 1000000000LL);
      }
      break;
    case Ev::kProbeMode:
      m.mode = static_cast<ProbeMode>(e.a);
      break;
    case Ev::kStatusMode:
      m.status = static_cast<StatusMode>(e.a);
      break;
    case Ev::kNextCall:
      m.next_plan = static_cast<Plan>(e.a);
      break;
    case Ev::kAnswerNow: {
      uint64_t id = 0;
      for (const auto& [cid, c] : calls_) {
        if (c.svc == i && c.kind != kStatusCall && c.plan != Plan::kHang) {
          id = cid;
        }
      }
      if (id == 0) return;
      Unschedule(id);
      if (e.a == 0) {
        TryComplete(id);
      } else if (e.a == 1) {
        AnswerCall(id, Status::Error("supervisord: FAILED"));
      } else {
        const PendingCall& c = calls_[id];
        if (e.b && !Refuses(i, c.kind) &&
            (c.kind != kRestartCall
                 ? !alive
                 : !(alive && (main->ignores_term || main->state == 'T')))) {
          DoReplace(i, c.info);
        }
        AnswerCall(id, Status::Error("timed out"));
      }
      break;
    }
    case Ev::kPause:
      svc.Pause();
      break;
    case Ev::kResume:
      // The policy starts afresh: so does the count of the supervisor's
      // restarts it is held to.
      for (CallInfo& c : m.calls) c.before_resume = true;
      m.last_end.reset();
      svc.Resume();
      break;
    case Ev::kRestartNow: {
      const bool busy = InFlight(i);
      const int asked = m.asked;
      Model* mp = &m;
      const std::string name = kSvcNames[i];
      Status s = svc.RestartNow([this, mp, name](const Status&) {
        if (--mp->waiting < 0) {
          Violation("restart-now-answered-twice",
                    name + ": an operator restart was answered twice");
        }
      });
      if (s.ok()) ++m.waiting;
      // A restart in flight is joined, not asked again.
      if (s.ok() != setup_.has_supervisor[i]) {
        Violation("restart-now-result",
                  name + ": RestartNow() returned " + s.ToString());
      }
      if (s.ok() && m.asked != asked + (busy ? 0 : 1)) {
        Violation("restart-now-unannounced",
                  name + ": RestartNow() ok but " +
                      std::to_string(m.asked - asked) + " OnRestart");
      }
      break;
    }
    case Ev::kWallStep:
      table_.StepWallClock(milliseconds(e.a));
      break;
    case Ev::kGiveUp:
      // Only a supervisor that reports pids can say so.
      if (!setup_.has_supervisor[i] || !setup_.reports_pid[i]) return;
      if (main != nullptr) {
        if (main->state == 'Z') {
          table_.Reap(m.main);
        } else {
          table_.Exit(m.main);
        }
      }
      m.main = 0;
      m.hold = e.a == 0 ? ProgramHold::kGaveUp : ProgramHold::kBackingOff;
      if (m.hold == ProgramHold::kBackingOff) {
        Schedule(Now() + milliseconds(e.b), 0, [this, i] {
          if (m_[i].hold == ProgramHold::kBackingOff) DoReplace(i, -1);
        });
      }
      break;
    case Ev::kReplaceChecks:
      ReplaceChecks(i, static_cast<uint64_t>(e.a));
      break;
    case Ev::kRewire:
      Rewire(static_cast<int>(e.a), e.b != 0);
      break;
    case Ev::kStranger:
      if (e.a % 3 == 0 && !strangers_.empty()) {
        size_t k = static_cast<size_t>(e.a) % strangers_.size();
        table_.Exit(strangers_[k]);
        strangers_.erase(strangers_.begin() + static_cast<long>(k));
      } else if (static_cast<int>(strangers_.size()) < kMaxStrangers) {
        const uint32_t uid = e.a % 2 ? 1000 : 0;
        pid_t p = table_.Spawn(kInit, uid, "stranger", 0, exec_.Next());
        if (p) strangers_.push_back(p);
        // Often with a child: a pid reused by a parent is where a tree
        // taken by pid alone goes wrong.
        if (p && e.a % 5 < 3) {
          table_.Spawn(p, uid, "stranger-child", 0, exec_.Next());
        }
      }
      break;
  }
  Pump();
}

// The world heals: processes run and answer, pidfiles are right, the
// supervisors answer promptly and succeed. Every service must come back to
// ok on its own (restarting whatever it still judges hung).
void Harness::Settle() {
  settling_ = true;
  Log("settle");
  for (int i = 0; i < 2; ++i) {
    Model& m = m_[i];
    m.mode = ProbeMode::kAuto;
    m.status = StatusMode::kPrompt;
    m.next_plan.reset();
    m.hung = false;
    if (!MainAlive(i)) {
      DoReplace(i, -1);
    } else {
      FakeProcessTable::Process* p = table_.Find(m.main);
      p->state = 'S';
      p->ignores_term = false;
      p->rss_bytes = 64 * kMiB;
    }
    if (setup_.has_pidfile[i]) {
      table_.WritePidfile(*setup_.config[i].pidfile,
                          std::to_string(m.main) + "\n", 0, 0644);
    }
  }
  // Calls that hang are answered now (the supervisor recovered).
  for (const auto& [id, c] : calls_) {
    if (c.kind == kStatusCall && c.status_mode == StatusMode::kHang) {
      calls_[id].status_mode = StatusMode::kPrompt;
      Schedule(Now(), id, [this, id = id] { AnswerStatus(id); });
    } else if (c.kind != kStatusCall) {
      // Whatever was planned (a failure that stops the process, say), the
      // healed supervisor succeeds.
      Unschedule(id);
      Schedule(Now() + milliseconds(exec_.Range(0, 1000)), id,
               [this, id = id] { TryComplete(id); });
    }
  }
  Pump();
  Duration longest{};
  for (int i = 0; i < 2; ++i) {
    const ServiceConfig& c = setup_.config[i];
    Duration checks{};
    for (const auto& slot : slots_) {
      if (slot->svc != i || slot->dropped) continue;
      const CheckConfig& k = slot->config;
      checks = std::max(
          checks, (k.interval + k.timeout) * (k.failures + k.successes + 2));
    }
    longest =
        std::max(longest, c.start_grace + c.restart_backoff.max +
                              setup_.sup_timeout[i] + c.stop_timeout + checks);
  }
  // Twice the longest cycle (a restart may be judged needed once more just
  // as the world healed), plus a dependency's own cycle for web.
  AdvanceBy(longest * 3 + seconds(10), seconds(1));
  if (!kind_.empty()) return;
  for (int i = 0; i < 2; ++i) {
    if (svcs_[i]->health() != ServiceState::kOk) {
      Violation("no-recovery",
                std::string(kSvcNames[i]) +
                    " did not come back to ok once the world healed: health " +
                    ServiceStateName(svcs_[i]->health()) + " (" +
                    svcs_[i]->reason() + ")");
      return;
    }
    if (InFlight(i)) {
      Violation(
          "restart-never-done",
          std::string(kSvcNames[i]) + ": a restart was never reported done");
      return;
    }
    // Every check, the ones a reload added too, runs and passes.
    for (const auto& c : svcs_[i]->checks()) {
      if (c->state() != CheckState::kPassing) {
        Violation(
            "no-recovery/check",
            std::string(kSvcNames[i]) + "/" + c->name() + " is " +
                CheckStateName(c->state()) +
                " once the world healed (last run " +
                (c->last_result() ? ProbeOutcomeName(c->last_result()->outcome)
                                  : "none") +
                ")");
        return;
      }
    }
  }
}

// --- harness: reloads --------------------------------------------------------

// A reload's new list of checks for service i, drawn from `plan_seed` and
// the checks it has now: each is kept, redefined (a new check of the same
// name) or dropped, new ones may come, and the order may change. Then the
// list is checked against the plan and what was there before.
void Harness::ReplaceChecks(int i, uint64_t plan_seed) {
  Service& svc = *svcs_[i];
  Rng r(Mix(plan_seed));
  const std::string name = kSvcNames[i];
  struct Kept {
    const Check* check;
    ::watchd::CheckState state;
    int failures, successes;
    std::optional<ProbeResult> last;
    TimePoint last_at, since, next_run;
    bool running;
  };
  std::map<std::string, Kept> kept;
  std::set<const Check*> before;
  std::vector<CheckSlot*> gone;   // dropped, or replaced by a new definition
  std::vector<CheckSlot*> fresh;  // new and redefined
  std::vector<Service::CheckPlan> plan;
  std::string story;
  auto config_for = [&](const std::string& check) {
    ProbeConfig probe = ExecProbeConfig{{"/bin/true"}, {}};
    if (check == "alive") probe = ProcessProbeConfig{};
    if (check == "mem") probe = MemoryProbeConfig{kRssMax, false};
    // The loader refuses on_failure: restart without a supervisor.
    const OnFailure on_failure = setup_.has_supervisor[i] && r.Chance(0.5)
                                     ? OnFailure::kRestart
                                     : OnFailure::kAlert;
    return RandomCheck(r, check, std::move(probe), on_failure);
  };
  auto add = [&](CheckConfig config, const std::string& how) {
    CheckSlot* slot = NewSlot(i, std::move(config));
    fresh.push_back(slot);
    plan.push_back({slot->config.name, &slot->config, MakeProbe(slot),
                    slot->reporter.get()});
    story += " " + how + " " + slot->config.name;
  };
  for (const auto& c : svc.checks()) {
    before.insert(c.get());
    const size_t choice = r.Weighted({50, 25, 25});
    if (choice == 0) {
      kept[c->name()] = {c.get(),
                         c->state(),
                         c->consecutive_failures(),
                         c->consecutive_successes(),
                         c->last_result(),
                         c->last_at(),
                         c->since(),
                         c->next_run(),
                         c->running()};
      plan.push_back({c->name(), nullptr, nullptr, nullptr});
      story += " keep " + c->name() + (c->running() ? " (running)" : "");
      ++g_stats.checks_kept;
      g_stats.checks_kept_running += c->running();
      continue;
    }
    CheckSlot* old = nullptr;
    for (const auto& slot : slots_) {
      if (slot->check == c.get() && !slot->dropped) old = slot.get();
    }
    if (old == nullptr) {
      Violation("replace/unknown-check",
                name + "/" + c->name() + " is no check the harness made");
      return;
    }
    gone.push_back(old);
    g_stats.checks_dropped_running += c->running();
    const std::string running = c->running() ? " (running)" : "";
    if (choice == 1) {
      add(config_for(c->name()), "redefine");
      story += running;
      ++g_stats.checks_redefined;
    } else {
      story += " drop " + c->name() + running;
      ++g_stats.checks_dropped;
    }
  }
  // New checks, under names the list does not hold (a name dropped just
  // now may come back: a new check all the same).
  std::vector<std::string> pool = {"health", "extra"};
  if (HasSource(i)) {
    pool.push_back("alive");
    pool.push_back("mem");
  }
  for (int n = r.Chance(0.5) + r.Chance(0.2); n > 0; --n) {
    std::vector<std::string> free;
    for (const std::string& p : pool) {
      bool taken = false;
      for (const Service::CheckPlan& e : plan) taken |= e.name == p;
      if (!taken) free.push_back(p);
    }
    if (free.empty()) break;
    add(config_for(free[static_cast<size_t>(
            r.Range(0, static_cast<int64_t>(free.size()) - 1))]),
        "add");
    ++g_stats.checks_added;
  }
  if (plan.size() > 1 && r.Chance(0.3)) {
    for (size_t k = plan.size(); k > 1; --k) {
      std::swap(
          plan[k - 1],
          plan[static_cast<size_t>(r.Range(0, static_cast<int64_t>(k) - 1))]);
    }
    story += "; reordered";
  }
  std::vector<std::string> order;
  for (const Service::CheckPlan& e : plan) order.push_back(e.name);
  for (CheckSlot* slot : gone) slot->dropped = true;
  ++g_stats.replaces;
  g_stats.replaces_mid_restart += InFlight(i);
  Log(name + ": replace checks:" + story +
      (InFlight(i) ? " (a restart is in flight)" : ""));

  svc.ReplaceChecks(std::move(plan));
  if (!kind_.empty()) return;

  std::vector<std::string> now;
  for (const auto& c : svc.checks()) now.push_back(c->name());
  if (now != order) {
    std::string want, got;
    for (const std::string& n : order) want += " " + n;
    for (const std::string& n : now) got += " " + n;
    Violation("replace/order",
              name + ": checks" + got + " after a plan of" + want);
    return;
  }
  for (const CheckSlot* slot : gone) {
    if (!slot->destroyed) {
      Violation("replace/dropped-not-destroyed",
                SlotName(*slot) + " was dropped, but its check still exists");
    }
  }
  for (const auto& c : svc.checks()) {
    const std::string which = name + "/" + c->name();
    if (auto k = kept.find(c->name()); k != kept.end()) {
      const Kept& was = k->second;
      if (c.get() != was.check) {
        Violation("replace/kept-check-rebuilt",
                  which + " was kept, but is another object now");
        continue;
      }
      std::string changed;
      if (c->state() != was.state) changed += " state";
      if (c->consecutive_failures() != was.failures) changed += " failures";
      if (c->consecutive_successes() != was.successes) changed += " successes";
      if (c->last_result().has_value() != was.last.has_value() ||
          (was.last && (c->last_result()->outcome != was.last->outcome ||
                        c->last_result()->reason != was.last->reason))) {
        changed += " last-result";
      }
      if (c->last_at() != was.last_at) changed += " last-at";
      if (c->since() != was.since) changed += " since";
      if (c->next_run() != was.next_run) changed += " next-run";
      if (c->running() != was.running) changed += " running";
      if (!changed.empty()) {
        Violation("replace/kept-check-changed",
                  which + " was kept, but its" + changed + " changed");
      }
      continue;
    }
    CheckSlot* slot = nullptr;
    for (CheckSlot* f : fresh) {
      if (f->config.name == c->name()) slot = f;
    }
    if (slot == nullptr) {
      Violation("replace/unplanned-check", which + " was not in the plan");
      continue;
    }
    slot->check = c.get();
    const Duration slack = c->interval() / 100 + milliseconds(20);
    const TimePoint latest =
        Now() + std::min(c->interval(), Check::kMaxFirstSpread) + slack;
    if (before.count(c.get()) != 0) {
      Violation("replace/new-check-not-new",
                which + " is new, but is a check that was there before");
    } else if (c->state() != ::watchd::CheckState::kPending ||
               c->consecutive_failures() != 0 ||
               c->consecutive_successes() != 0 || c->last_result() ||
               c->running()) {
      Violation("replace/new-check-not-fresh",
                which + " is new, but has counters or a run already");
    } else if (c->next_run() < Now() - slack || c->next_run() > latest) {
      Violation("replace/new-check-not-started",
                which + " is new, but its first run is planned " +
                    std::to_string(std::chrono::duration_cast<milliseconds>(
                                       c->next_run() - Now())
                                       .count()) +
                    " ms from now");
    }
  }
}

// A reload's Rewire: each service's list set anew, one after the other.
void Harness::Rewire(int wiring, bool web_first) {
  std::vector<int> next[2];
  if (wiring == 1) next[1] = {0};
  if (wiring == 2) next[0] = {1};
  ++g_stats.rewires;
  Log(std::string("rewire: ") + kWirings[wiring] +
      (web_first ? " (web first)" : ""));
  // Until both have their new list, a service may be judged by its old
  // one or its new one: only what both hold must block a restart.
  for (int i = 0; i < 2; ++i) {
    std::erase_if(deps_[i], [&](int d) {
      return std::find(next[i].begin(), next[i].end(), d) == next[i].end();
    });
  }
  for (int k = 0; k < 2; ++k) {
    const int i = web_first ? 1 - k : k;
    std::vector<Service*> list;
    for (int d : next[i]) list.push_back(svcs_[d].get());
    svcs_[i]->SetDependencies(list);
  }
  deps_[0] = next[0];
  deps_[1] = next[1];
}

// --- harness: invariants -----------------------------------------------------

void Harness::OnSignal(int i, const ProcessIdentity& p, int signo) {
  ++g_stats.signals;
  Log(std::string(kSvcNames[i]) + " sends signal " + std::to_string(signo) +
      " to " + Describe(p.pid) + " as " + std::to_string(p.pid) + "@" +
      std::to_string(p.start_time));
  m_[i].escalated_at = Now();
  const auto& allowed = m_[i].allowed;
  if (std::find(allowed.begin(), allowed.end(), p) == allowed.end()) {
    Violation("signal-to-unrecorded",
              std::string(kSvcNames[i]) + " signals " + std::to_string(p.pid) +
                  "@" + std::to_string(p.start_time) +
                  ", neither the process recorded when the restart began nor "
                  "one of its descendants then");
  } else if (!m_[i].escalation_due || Now() < *m_[i].escalation_due) {
    Violation("escalation-early",
              std::string(kSvcNames[i]) + " signals " + std::to_string(p.pid) +
                  " before stop_timeout has passed since its stop began");
  }
}

void Harness::AfterSignal(const ProcessIdentity& p) {
  for (int i = 0; i < 2; ++i) {
    if (m_[i].main != p.pid || MainAlive(i)) continue;
    m_[i].main = 0;
    // As supervisord's autorestart (always, once the world heals).
    if (settling_ || exec_.Chance(0.5)) {
      Schedule(Now() + milliseconds(exec_.Range(100, 3000)), 0, [this, i] {
        if (!MainAlive(i)) DoReplace(i, -1);
      });
    }
  }
}

void Harness::OnStateChange(int i, ServiceState from, ServiceState to,
                            const std::string& reason) {
  ++g_stats.states[ServiceStateName(to)];
  Log(std::string(kSvcNames[i]) + ": " + ServiceStateName(from) + " -> " +
      ServiceStateName(to) + " (" + reason + ")");
  if (from != m_[i].last_state) {
    Violation("state-change-from",
              std::string(kSvcNames[i]) + ": a change from " +
                  ServiceStateName(from) + " but the last change went to " +
                  ServiceStateName(m_[i].last_state));
  }
  m_[i].last_state = to;
}

void Harness::OnRestart(int i, const std::string& reason,
                        const std::string& detail) {
  Model& m = m_[i];
  Service& svc = *svcs_[i];
  const std::string name = kSvcNames[i];
  const ServiceState before = svc.state();
  Log(name + ": OnRestart reason=" + reason + " (" + detail + ") in state " +
      ServiceStateName(before));
  if (InFlight(i)) {
    Violation("two-restarts-in-flight",
              name + ": OnRestart while a restart is in flight");
  }
  if (reason == "operator") {
    ++g_stats.operator_restarts;
  } else {
    const TimePoint now = Now();
    if (svc.paused()) {
      Violation("restart-while-paused", name + ": restart while paused");
    }
    if (before != ServiceState::kHung && before != ServiceState::kDead) {
      Violation("restart-in-wrong-state", name + ": restart (" + reason +
                                              ") asked in state " +
                                              ServiceStateName(before));
    }
    if ((reason == "dead" || reason == kGiveUpRestartReason) !=
        (before == ServiceState::kDead)) {
      Violation("restart-reason", name + ": reason '" + reason + "' in state " +
                                      ServiceStateName(before));
    }
    if (now < m.grace_until) {
      Violation(
          now < m.own_grace_until ? "restart-in-grace"
                                  : "restart-in-grace/unnoticed-new-process",
          name + ": restart asked " + FormatDuration(m.grace_until - now) +
              " before start_grace ends");
    }
    for (int d : deps_[i]) {
      if (svcs_[d]->health() != ServiceState::kOk) {
        Violation("restart-while-dependency-not-ok",
                  name + ": restart while dependency " + kSvcNames[d] +
                      " has health " + ServiceStateName(svcs_[d]->health()));
      }
      for (const auto& c : svcs_[d]->checks()) {
        if (c->consecutive_failures() > 0) {
          Violation("restart-while-dependency-not-ok",
                    name + ": restart while dependency " + kSvcNames[d] +
                        "'s check " + c->name() + " failed its last run");
        }
      }
    }
    // hung: a restart check is failing and its last run failed or timed
    // out (docs/supervision.md).
    if (before != ServiceState::kDead) {
      bool failed = false;
      for (const auto& c : svc.checks()) {
        failed |= c->state() == CheckState::kFailing &&
                  c->on_failure() == OnFailure::kRestart && c->last_result() &&
                  (c->last_result()->outcome == ProbeOutcome::kFailure ||
                   c->last_result()->outcome == ProbeOutcome::kTimeout);
      }
      if (!failed) {
        Violation("restart-without-failed-run",
                  name + ": restart (" + reason +
                      ") though no failing restart check's last run failed "
                      "or timed out");
      }
    }
    const RestartLimit& limit = setup_.config[i].restart_limit;
    int recent = 0, unseen = 0;
    for (const CallInfo& c : m.calls) {
      if (c.counted && !c.before_resume && now - c.counted_at <= limit.within) {
        ++recent;
        // Done by the supervisor, but the call failed and the look after it
        // did not find the new process (a stale pidfile, say).
        unseen += c.work_done && !c.answered_ok && !c.reported_ok;
      }
    }
    // Restarts the supervisor did but the service could not see (its call
    // failed, and the look after it found no new process: a stale pidfile)
    // are not held against it: it cannot count what it cannot see.
    if (recent >= limit.max && recent - unseen < limit.max) {
      ++g_stats.limit_passed_unseen;
    }
    if (recent - unseen >= limit.max) {
      Violation("restart-past-limit",
                name + ": restart asked with " + std::to_string(recent) +
                    " restarts done within " + FormatDuration(limit.within) +
                    " (max " + std::to_string(limit.max) +
                    ") as the supervisor counts them");
    }
    if (m.last_end &&
        now - *m.last_end < setup_.config[i].restart_backoff.initial) {
      Violation("restart-inside-backoff",
                name + ": restart asked " + FormatDuration(now - *m.last_end) +
                    " after the last one ended (backoff initial " +
                    FormatDuration(setup_.config[i].restart_backoff.initial) +
                    ")");
    }
  }
  CallInfo info;
  info.reason = reason;
  info.expect_kind = reason == "dead"                 ? kStartCall
                     : reason == kGiveUpRestartReason ? kRecoverCall
                     : reason == "operator"           ? -1
                                                      : kRestartCall;
  info.main_at_ask = MainIdentity(i);
  info.record_at_ask = svc.process();
  info.began_tick =
      static_cast<uint64_t>((table_.WallClockNs() - table_.BootWallClockNs()) /
                            FakeProcessTable::kTickNs);
  m.calls.push_back(info);
  ++m.asked;
}

// What escalation may end, and when: the recorded process and its tree as
// a Restart call began, stop_timeout later. A start or a recovery leaves
// the escalation of an earlier stop armed, and a retry of the same stop
// before its deadline keeps that stop's tree and deadline.
void Harness::ExpectStop(int i) {
  Model& m = m_[i];
  const std::optional<ProcessIdentity> p = svcs_[i]->process();
  // Past its deadline the escalation timer may not have run yet (a timer
  // scheduled with no delay from outside the loop's timers takes the
  // wheel's last tick and runs before timers due since): it has run if
  // it signalled since, or if nothing it would end is alive.
  bool same_stop = false;
  if (p && !m.allowed.empty() && m.allowed[0] == *p && m.escalation_due) {
    bool alive = false;
    for (const ProcessIdentity& q : m.allowed) alive |= table_.IsAlive(q);
    const bool fired = m.escalated_at && *m.escalated_at >= *m.escalation_due;
    same_stop = Now() < *m.escalation_due || (!fired && alive);
  }
  if (!p) {
    m.allowed.clear();
    m.escalation_due.reset();
  } else if (!same_stop) {
    // Its tree is the recorded process's own: none once it is gone (the
    // children of a pid reused since are someone else's).
    m.allowed.assign(1, *p);
    if (table_.IsAlive(*p)) {
      for (pid_t d : table_.Descendants(p->pid)) {
        m.allowed.push_back(table_.IdentityOf(d));
      }
    }
    m.escalation_due = Now() + setup_.config[i].stop_timeout;
  }
}

void Harness::OnRestartDone(int i, const Status& result) {
  Model& m = m_[i];
  const std::string name = kSvcNames[i];
  Log(name + ": OnRestartDone " + result.ToString());
  if (!InFlight(i) || m.calls.empty() || m.calls.back().reported) {
    Violation("restart-done-twice",
              name + ": OnRestartDone with no restart in flight");
    return;
  }
  CallInfo& c = m.calls.back();
  c.reported = true;
  c.reported_ok = result.ok();
  ++m.done;
  m.last_end = Now();
  if (!c.answered) {
    Violation("restart-done-unanswered",
              name + ": OnRestartDone before the supervisor answered");
  }
  if (result.ok()) {
    ++g_stats.done_ok;
    if (!c.answered_ok) ++g_stats.counted_after_failure;
    // Done means a restart happened: the supervisor's, or a replacement
    // the service saw (the supervisor respawned the process meanwhile).
    const bool replaced = MainIdentity(i) != c.main_at_ask;
    if (!c.answered_ok && !c.work_done && !replaced) {
      // Told apart by what the service had recorded as the call began: a
      // stale record (the process had been replaced before), none, or the
      // right one.
      std::string why = !c.record_at_ask                    ? "no-record"
                        : *c.record_at_ask != c.main_at_ask ? "stale-record"
                                                            : "right-record";
      // What it counted started within the tick the call began in.
      const std::optional<ProcessIdentity> now = svcs_[i]->process();
      if (why == "right-record" && now && now->start_time == c.began_tick) {
        why += "/same-tick";
      }
      Violation("restart-counted-but-not-done/" + why,
                name + ": the call failed, nothing replaced the process (" +
                    (m.main ? Describe(m.main) : "none") +
                    "), yet the restart is reported done");
    }
    // The process is new: whatever is found now gets its grace.
    m.grace_until = m.own_grace_until = Now() + setup_.config[i].start_grace;
    m.last_record.reset();
  } else {
    ++g_stats.done_failed;
    if (c.work_done) ++g_stats.undercounted;
  }
}

void Harness::OnEscalation(int i, const ProcessIdentity& p, int descendants,
                           const Status& result) {
  ++g_stats.escalations;
  Log(std::string(kSvcNames[i]) + ": escalation to " + std::to_string(p.pid) +
      " +" + std::to_string(descendants) + ": " + result.ToString());
  const auto& allowed = m_[i].allowed;
  if (allowed.empty() || allowed[0] != p) {
    Violation("escalation-of-unrecorded",
              std::string(kSvcNames[i]) + ": escalation names " +
                  std::to_string(p.pid) + "@" + std::to_string(p.start_time) +
                  ", not the process recorded when the restart began");
  }
}

void Harness::OnNotice(int i, const std::string& text) {
  Log(std::string(kSvcNames[i]) + ": notice: " + text);
  if (text.rfind("new process pid", 0) == 0) {
    ++g_stats.grace_notices;
    m_[i].grace_until = m_[i].own_grace_until =
        Now() + setup_.config[i].start_grace;
  }
  if (text.find("restart limit reached") != std::string::npos) {
    ++g_stats.limit_notices;
  }
  if (text.find("recover_supervisor_giveup is off") != std::string::npos) {
    ++g_stats.give_ups_left;
  }
}

void Harness::OnCheckEvent(const CheckSlot& slot, const Check& check,
                           const std::string& what) {
  if (verbose_) Log(SlotName(slot) + ": " + what);
  // A dropped check is gone: `check` must not be looked at.
  if (slot.dropped || slot.destroyed) {
    Violation("replace/callback-after-drop", "the reporter of dropped check " +
                                                 SlotName(slot) +
                                                 " was told: " + what);
  } else if (check.name() != slot.config.name ||
             (slot.check != nullptr && slot.check != &check)) {
    Violation("replace/reporter-mismatch",
              "the reporter of " + SlotName(slot) + " was told of " +
                  check.service() + "/" + check.name() + ": " + what);
  }
}

void Harness::OnDroppedProbe(const CheckSlot& slot, const std::string& what) {
  Violation("replace/dropped-check-probe",
            "the probe of dropped check " + SlotName(slot) + " " + what);
}

void Harness::CheckAll() {
  if (!kind_.empty()) return;
  for (size_t k = 0; k < table_.errors().size(); ++k) {
    Violation("table-error", table_.errors()[k]);
    return;
  }
  for (int i = 0; i < 2; ++i) {
    const Model& m = m_[i];
    int calls = 0;
    for (const auto& [id, c] : calls_) {
      if (c.svc == i && c.kind != kStatusCall) ++calls;
    }
    if (calls > 1 || m.asked - m.done > 1) {
      Violation("two-restarts-in-flight",
                std::string(kSvcNames[i]) + ": " + std::to_string(calls) +
                    " supervisor calls and " +
                    std::to_string(m.asked - m.done) + " restarts in flight");
    }
    int linked = 0;
    for (const CallInfo& c : m.calls) linked += c.call_id != 0;
    if (linked != m.asked) {
      Violation("onrestart-without-call",
                std::string(kSvcNames[i]) + ": " + std::to_string(m.asked) +
                    " OnRestart but " + std::to_string(linked) +
                    " supervisor Restart/Start calls");
    }
    CheckRecord(i);
    CheckState(i);
    CheckRecycled(i);
    CheckEscalation(i);
  }
  signals_seen_ = table_.signals().size();
}

// A newly recorded process must be one the rules of docs/supervision.md
// allow. Checked only when the record changed, so against the world the
// look that changed it saw (the world changes only between loop passes).
void Harness::CheckRecord(int i) {
  Model& m = m_[i];
  const std::optional<ProcessIdentity> rec = svcs_[i]->process();
  if (rec == m.prev_record) return;
  m.prev_record = rec;
  if (!rec) return;
  const std::string name = kSvcNames[i];
  if (m.last_record && *m.last_record != *rec && !InFlight(i)) {
    // A new process (not one a restart brought): its start_grace.
    m.grace_until = Now() + setup_.config[i].start_grace;
  }
  m.last_record = rec;
  const std::string who = std::to_string(rec->pid) + "@" +
                          std::to_string(rec->start_time) + " " +
                          Describe(rec->pid);
  const FakeProcessTable::Process* p = table_.Find(rec->pid);
  bool killed_now = false;
  for (size_t k = signals_seen_; k < table_.signals().size(); ++k) {
    killed_now |= table_.signals()[k].target == *rec;
  }
  if (killed_now) return;
  if (p == nullptr || p->start_time != rec->start_time || p->state == 'Z') {
    Violation("record-not-alive", name + " records " + who);
    return;
  }
  if (table_.IsProtected(rec->pid)) {
    Violation("record-protected", name + " records protected " + who);
    return;
  }
  const bool sup_decides = setup_.has_supervisor[i] && setup_.reports_pid[i];
  if (setup_.has_pidfile[i]) {
    const FakeProcessTable::Pidfile* f =
        table_.FindFile(*setup_.config[i].pidfile);
    auto contents = table_.ReadPidfile(*setup_.config[i].pidfile);
    if (f == nullptr || !contents.ok() || contents->pid != rec->pid) {
      Violation("record-not-in-pidfile",
                name + " records " + who + " which its pidfile does not name");
      return;
    }
    if (sup_decides) {
      pid_t q = rec->pid;
      for (int k = 0; k < 64 && q > 1 && q != m.main; ++k) {
        const FakeProcessTable::Process* pq = table_.Find(q);
        q = pq ? pq->ppid : 0;
      }
      if (m.main == 0 || q != m.main) {
        Violation("record-not-supervisors",
                  name + " records " + who +
                      " from its pidfile, which is not the supervisor's "
                      "process or a descendant of it (" +
                      (m.main ? Describe(m.main) : "none") + ")");
      }
    } else if (!contents->untrusted.empty() &&
               (f->owner == 0 || p->uid != f->owner)) {
      Violation("record-untrusted",
                name + " records " + who + " from an untrusted pidfile (" +
                    contents->untrusted + ") owned by uid " +
                    std::to_string(f->owner));
    }
  } else if (sup_decides && rec->pid != m.main) {
    Violation("record-not-supervisors",
              name + " records " + who + " but the supervisor runs " +
                  (m.main ? Describe(m.main) : "nothing"));
  }
}

// "Recycled pid" must mean the pidfile is older than its process: the pid
// was reused after the pidfile was written, or its mtime was set back. A
// wall clock step must never make it so (docs/supervision.md, Clocks).
// Judged only on a pidfile and process that have stood still for longer
// than the poll of a missing process, so that the verdict is a fresh one.
void Harness::CheckRecycled(int i) {
  const Service& svc = *svcs_[i];
  if (!setup_.has_pidfile[i] || svc.health() != ServiceState::kDead ||
      svc.reason().find("recycled pid") == std::string::npos) {
    return;
  }
  const std::string& path = *setup_.config[i].pidfile;
  const FakeProcessTable::Pidfile* f = table_.FindFile(path);
  auto contents = table_.ReadPidfile(path);
  if (f == nullptr || !contents.ok() || f->backdated) return;
  const FakeProcessTable::Process* p = table_.Find(contents->pid);
  const int64_t now = table_.BootNs();
  const int64_t settled = std::chrono::nanoseconds(seconds(2)).count();
  if (p == nullptr || now - f->changed_boot_ns < settled) return;
  const int64_t started =
      static_cast<int64_t>(p->start_time) * FakeProcessTable::kTickNs;
  if (now - started < settled) return;
  if (started <= f->written_boot_ns + 5 * FakeProcessTable::kTickNs) {
    // Told apart: the pidfile was written while the wall clock read a boot
    // time earlier than any the tracker ever read (stepped back, then
    // forward, between two of its looks), or not.
    Violation(f->written_boot_wall_ns >= views_[i]->min_boot_wall()
                  ? "false-recycled"
              : views_[i]->first_boot_wall_read() > start_boot_wall_
                  ? "false-recycled/step-before-first-read"
                  : "false-recycled/step-between-looks",
              std::string(kSvcNames[i]) + ": " + svc.reason() + ", but pid " +
                  std::to_string(p->pid) + " started " +
                  FormatDuration(Duration(f->written_boot_ns - started)) +
                  " before the pidfile was written");
  }
}

// Once stop_timeout has passed since a stop began, nothing of what it
// stopped (the recorded process and its tree then) is left alive.
void Harness::CheckEscalation(int i) {
  Model& m = m_[i];
  if (!m.escalation_due || Now() < *m.escalation_due) return;
  m.escalation_due.reset();
  for (const ProcessIdentity& p : m.allowed) {
    if (table_.IsAlive(p)) {
      Violation("escalation-missed",
                std::string(kSvcNames[i]) + ": " + Describe(p.pid) +
                    " outlived the stop_timeout of the restart that recorded "
                    "it");
      return;
    }
  }
}

void Harness::CheckState(int i) {
  const Service& svc = *svcs_[i];
  const Model& m = m_[i];
  const std::string name = kSvcNames[i];
  const ServiceState st = svc.state();
  const ServiceState h = svc.health();
  if (st != m.last_state) {
    Violation("state-unreported", name + ": state " + ServiceStateName(st) +
                                      " but the last change reported went to " +
                                      ServiceStateName(m.last_state));
  }
  if (Now() < m.own_grace_until) {
    for (const auto& c : svc.checks()) {
      if (c->consecutive_failures() != 0) {
        Violation("failure-counted-in-grace",
                  name + "/" + c->name() + " counts " +
                      std::to_string(c->consecutive_failures()) +
                      " failures with start_grace until " +
                      FormatDuration(m.own_grace_until - Now()) + " from now");
        break;
      }
    }
  }
  if (svc.paused() && st != ServiceState::kUnmonitored) {
    Violation("paused-but-monitored",
              name + ": paused but state " + ServiceStateName(st));
  }
  if (st != ServiceState::kUnmonitored && st != h) {
    Violation("state-not-health", name + ": state " + ServiceStateName(st) +
                                      " but health " + ServiceStateName(h));
  }
  if (st == ServiceState::kUnmonitored && !svc.paused() &&
      svc.reason().find("restart limit") == std::string::npos) {
    Violation("unmonitored-why",
              name + ": unmonitored, not paused: " + svc.reason());
  }
  // A failing restart check is sure (its last run failed or timed out:
  // hung) or unsure (its last run could not be made: unknown).
  bool any_failing = false, sure = false, unsure = false, recovering = false;
  for (const auto& c : svc.checks()) {
    if (c->state() != CheckState::kFailing) continue;
    any_failing = true;
    if (c->on_failure() != OnFailure::kRestart) continue;
    const ProbeOutcome o =
        c->last_result() ? c->last_result()->outcome : ProbeOutcome::kFailure;
    if (o == ProbeOutcome::kError) unsure = true;
    // A failing check whose last run succeeded (it needs more successes)
    // is neither: docs/supervision.md's hung wants a failed run.
    if (o == ProbeOutcome::kFailure || o == ProbeOutcome::kTimeout) sure = true;
    if (o == ProbeOutcome::kSuccess) recovering = true;
  }
  const bool in_flight = InFlight(i);
  const bool source = HasSource(i);
  const bool recorded = svc.process().has_value();
  const bool grace = Now() < m.grace_until;
  // tag: what is wrong, for telling violations apart.
  auto bad = [&](const std::string& tag, const std::string& why) {
    Violation(std::string("state/") + ServiceStateName(h) + "/" + tag,
              name + ": health " + ServiceStateName(h) + " but " + why);
  };
  if (in_flight && h != ServiceState::kRestarting) {
    bad("in-flight", "a restart is in flight");
  }
  if (!in_flight && grace && h != ServiceState::kStarting) {
    bad("new-process-no-grace", "the process is new (start_grace until " +
                                    FormatDuration(m.grace_until - Now()) +
                                    " from now)");
  }
  switch (h) {
    case ServiceState::kOk:
      if (any_failing) bad("check-failing", "a check is failing");
      break;
    case ServiceState::kHung:
      if (!sure)
        bad(recovering ? "last-run-passed" : "no-failed-run",
            "no failing restart check's last run failed or timed out");
      // With a pidfile, an untrusted one leaves the process unnamed and
      // the restart goes on by name; from the supervisor alone (which never
      // names a protected pid here) the process must be known.
      if (source && !recorded && !setup_.has_pidfile[i]) {
        bad("no-record", "no process is recorded");
      }
      break;
    case ServiceState::kDead:
      if (!source || recorded)
        bad("record", "it has a process or no pid source");
      break;
    case ServiceState::kBlocked: {
      // Whether the dependency is still bad is not checked: a dependency's
      // passing run does not re-judge its dependants, so blocked may last
      // until their own next run; acting on it is checked in OnRestart.
      if (!sure)
        bad(recovering ? "last-run-passed" : "no-failed-run",
            "no failing restart check's last run failed or timed out");
      // But it is one of the dependencies of now (SetDependencies judges
      // again at once).
      bool named = false;
      for (int d : deps_[i]) {
        named |=
            svc.reason().starts_with(std::string("dependency ") + kSvcNames[d]);
      }
      if (st == h && !named) {
        bad("not-a-dependency",
            "its reason is not one of its dependencies: " + svc.reason());
      }
      break;
    }
    case ServiceState::kFailing:
      if (!any_failing || sure || unsure)
        bad("checks", "the checks say otherwise");
      break;
    case ServiceState::kRestarting:
      if (!in_flight) bad("not-in-flight", "no restart is in flight");
      break;
    case ServiceState::kStarting:
      if (!grace) bad("grace-over", "start_grace is over");
      break;
    case ServiceState::kUnknown:
      if (!(unsure && !sure) && !(source && !recorded)) {
        bad("nothing-in-doubt", "neither the process nor a check is in doubt");
      }
      break;
    case ServiceState::kUnmonitored:
      bad("unmonitored", "health is never unmonitored");
      break;
  }
}

Outcome Harness::Run(const std::vector<Event>& events) {
  Log("seed " + std::to_string(seed_) + ", setup:\n" + setup_.summary);
  svcs_[0]->Start();
  svcs_[1]->Start();
  Pump();
  for (const Event& e : events) {
    if (!kind_.empty()) break;
    Log("event: " + ToString(e));
    Apply(e);
  }
  if (kind_.empty()) Settle();
  if (kind_.empty()) {
    // Stop() cancels every timer, probe and supervisor call.
    stopping_ = true;
    svcs_[1]->Stop();
    svcs_[0]->Stop();
    stopping_ = false;
    for (int i = 0; i < 2; ++i) {
      if (m_[i].waiting != 0) {
        Violation("restart-now-unanswered",
                  std::string(kSvcNames[i]) + ": " +
                      std::to_string(m_[i].waiting) +
                      " operator restarts never answered");
      }
    }
    if (!calls_.empty() || loop_.pending_timers() != 0) {
      Violation("stop-leaves-work", std::to_string(calls_.size()) +
                                        " supervisor calls and " +
                                        std::to_string(loop_.pending_timers()) +
                                        " timers outlive Stop()");
    }
  }
  ++g_stats.sequences;
  g_stats.events += static_cast<int64_t>(events.size());
  return {kind_, message_, std::move(log_)};
}

// --- the test ----------------------------------------------------------------

Outcome RunOnce(uint64_t seed, const std::vector<Event>& events,
                bool keep_log) {
  Harness h(seed, keep_log);
  return h.Run(events);
}

// Fewer events that still fail the same way: chunks, then single events,
// then shorter advances, again while a pass makes progress. The sequence's
// own randomness (supervisor plans, probe delays) is drawn as it runs, so a
// shorter sequence draws differently: the result is a sequence that fails
// the same way, not necessarily the same story.
std::vector<Event> Shrink(uint64_t seed, std::vector<Event> events,
                          const std::string& kind, int budget) {
  auto fails = [&](const std::vector<Event>& candidate) {
    --budget;
    return RunOnce(seed, candidate, false).kind == kind;
  };
  for (bool progress = true; progress && budget > 0;) {
    progress = false;
    for (size_t chunk = std::max<size_t>(events.size() / 2, 1);
         chunk >= 1 && budget > 0; chunk /= 2) {
      for (size_t at = 0; at < events.size() && budget > 0;) {
        std::vector<Event> candidate = events;
        candidate.erase(candidate.begin() + static_cast<long>(at),
                        candidate.begin() + static_cast<long>(std::min(
                                                at + chunk, events.size())));
        if (fails(candidate)) {
          events = std::move(candidate);
          progress = true;
        } else {
          at += chunk;
        }
      }
    }
    for (size_t at = 0; at < events.size() && budget > 0; ++at) {
      if (events[at].kind != Ev::kAdvance || events[at].a <= 1) continue;
      std::vector<Event> candidate = events;
      candidate[at].a /= 2;
      if (fails(candidate)) {
        events = std::move(candidate);
        progress = true;
      }
    }
  }
  return events;
}

// The fake's own promise, which the model's first invariant rests on: a
// signal for an identity that is not the live process is recorded as an
// error, and SIGKILL ends exactly the process asked for.
TEST(ServiceModelTest, FakeTableRecordsSignalsToAnotherIdentity) {
  FakeClock clock;
  FakeProcessTable table(&clock);
  table.SetPidRange(100, 101);
  const pid_t parent = table.Spawn(1, 0, "parent");
  const pid_t child = table.Spawn(parent, 0, "child");
  EXPECT_EQ(table.Descendants(parent), std::vector<pid_t>{child});
  const ProcessIdentity old = table.IdentityOf(parent);
  EXPECT_TRUE(table.Signal(old, SIGKILL).ok());
  EXPECT_FALSE(table.IsAlive(old));
  EXPECT_EQ(table.Find(child)->ppid, 1) << "reparented to init";
  EXPECT_TRUE(table.errors().empty());
  clock.Advance(seconds(1));
  // The pid comes back as another process: the old identity is refused.
  ASSERT_EQ(table.Spawn(1, 0, "other"), parent);
  EXPECT_FALSE(table.Signal(old, SIGKILL).ok());
  EXPECT_TRUE(table.Find(parent) != nullptr);
  EXPECT_EQ(table.errors().size(), 1u);
}

TEST(ServiceModelTest, RandomSequencesKeepTheInvariants) {
  const uint64_t seed =
      static_cast<uint64_t>(EnvInt("WATCHD_MODEL_SEED", kDefaultSeed));
  const int sequences =
      static_cast<int>(EnvInt("WATCHD_MODEL_SEQUENCES", kDefaultSequences));
  const int length =
      static_cast<int>(EnvInt("WATCHD_MODEL_EVENTS", kDefaultEvents));
  std::map<std::string, int> found;  // violation kind -> sequences
  for (int k = 0; k < sequences; ++k) {
    const uint64_t s = seed + static_cast<uint64_t>(k);
    std::vector<Event> events = Generate(s, length);
    Outcome out = RunOnce(s, events, false);
    if (out.kind.empty()) continue;
    if (found[out.kind]++ > 0) continue;  // one report per kind
    std::vector<Event> small = EnvInt("WATCHD_MODEL_SHRINK", 1)
                                   ? Shrink(s, events, out.kind, 500)
                                   : events;
    Outcome again = RunOnce(s, small, true);
    std::ostringstream msg;
    msg << "violation '" << out.kind << "' with seed " << s
        << " (replay: WATCHD_MODEL_SEED=" << s << " WATCHD_MODEL_SEQUENCES=1)\n"
        << out.message << "\nshrunk to " << small.size() << " of "
        << events.size() << " events";
    if (again.kind != out.kind) msg << " (the shrunk run differs!)";
    msg << ":\n";
    for (const Event& e : small) msg << "  " << ToString(e) << "\n";
    msg << "its run" << (again.kind.empty() ? "" : ": " + again.message)
        << "\nlog:\n";
    const size_t from = again.log.size() > 150 ? again.log.size() - 150 : 0;
    if (from > 0) msg << "  ... (" << from << " lines)\n";
    // The setup is the first line.
    if (from > 0 && !again.log.empty()) msg << "  " << again.log[0] << "\n";
    for (size_t j = from; j < again.log.size(); ++j) {
      msg << "  " << again.log[j] << "\n";
    }
    ADD_FAILURE() << msg.str();
  }
  std::ostringstream sum;
  sum << "model: " << g_stats.sequences << " runs (with shrinking), "
      << g_stats.events << " events; restarts " << g_stats.restarts
      << " starts " << g_stats.starts << " operator "
      << g_stats.operator_restarts << "; done ok " << g_stats.done_ok
      << " (after a failed call " << g_stats.counted_after_failure
      << ") failed " << g_stats.done_failed << " (work done but uncounted "
      << g_stats.undercounted << "); escalations " << g_stats.escalations
      << " signals " << g_stats.signals << "; new-process graces "
      << g_stats.grace_notices << "; limit notices " << g_stats.limit_notices
      << "; status calls " << g_stats.status_calls << "; recoveries "
      << g_stats.recovers << " (give-ups answered " << g_stats.give_ups_seen
      << ", left to the operator " << g_stats.give_ups_left << ")"
      << "; restart_limit passed only through unseen work "
      << g_stats.limit_passed_unseen << "\nreloads: check lists replaced "
      << g_stats.replaces << " (with a restart in flight "
      << g_stats.replaces_mid_restart << "), checks kept "
      << g_stats.checks_kept << " (running " << g_stats.checks_kept_running
      << ") added " << g_stats.checks_added << " redefined "
      << g_stats.checks_redefined << " dropped " << g_stats.checks_dropped
      << " (redefined or dropped while running "
      << g_stats.checks_dropped_running << "); re-wirings " << g_stats.rewires
      << "\nstates entered:";
  for (const auto& [state, n] : g_stats.states) sum << " " << state << "=" << n;
  sum << "\nknown issues and WATCHD_MODEL_TOLERATE (not failing), sequences "
         "by kind:";
  for (const auto& [kind, n] : g_stats.tolerated)
    sum << " " << kind << "=" << n;
  sum << "\nviolations by kind:";
  for (const auto& [kind, n] : found) sum << " " << kind << "=" << n;
  printf("%s\n", sum.str().c_str());
}

}  // namespace
}  // namespace watchd
