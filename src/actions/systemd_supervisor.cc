#include "actions/systemd_supervisor.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "actions/command_supervisor.h"
#include "actions/status_batcher.h"
#include "core/event_loop.h"
#include "os/child_process.h"

namespace watchd {
namespace {

// Room for one unit's block of `systemctl show` properties.
constexpr size_t kShowBytesPerUnit = 256;

// One unit's block of "Key=value" lines from `systemctl show`.
StatusReply ParseShowBlock(std::string_view block, const std::string& unit) {
  const std::string label = "systemctl show " + unit + ": ";
  std::optional<pid_t> pid;
  ProgramStatus status;
  std::string_view load_state, sub_state, result;
  std::string_view rest = block;
  while (!rest.empty()) {
    size_t end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? "" : rest.substr(end + 1);
    if (line.starts_with("MainPID=")) {
      std::string_view value = line.substr(8);
      pid_t parsed = 0;
      auto [ptr, ec] =
          std::from_chars(value.data(), value.data() + value.size(), parsed);
      if (ec != std::errc() || ptr != value.data() + value.size() ||
          parsed < 0) {
        return {
            Status::Error(label + "bad MainPID '" + std::string(value) + "'")};
      }
      pid = parsed;
    } else if (line.starts_with("ActiveState=")) {
      status.state = std::string(line.substr(12));
    } else if (line.starts_with("LoadState=")) {
      load_state = line.substr(10);
    } else if (line.starts_with("SubState=")) {
      sub_state = line.substr(9);
    } else if (line.starts_with("Result=")) {
      result = line.substr(7);
    }
  }
  // A unit whose file went while it runs is not-found too, but has a pid.
  if (load_state == "not-found" && pid.value_or(0) == 0) {
    return {Status::Error("systemd has no unit '" + unit + "'"), true};
  }
  if (!pid) return {Status::Error(label + "no MainPID in its output")};
  status.pid = *pid;
  if (status.pid == 0) {
    // A unit failed for its start limit stays down until reset-failed;
    // one in auto-restart has its next start scheduled by systemd.
    if (status.state == "failed" && result == "start-limit-hit") {
      status.hold = ProgramHold::kGaveUp;
      status.hold_reason = result;
    } else if (sub_state == "auto-restart") {
      status.hold = ProgramHold::kBackingOff;
      status.hold_reason = sub_state;
    }
  }
  return {std::move(status)};
}

// `systemctl show UNIT...` prints one block per unit, in the order asked,
// the blocks separated by an empty line.
std::vector<std::string_view> SplitBlocks(std::string_view output) {
  std::vector<std::string_view> blocks;
  size_t begin = 0;
  while (begin < output.size()) {
    size_t end = output.find("\n\n", begin);
    if (end == std::string_view::npos) end = output.size();
    if (end > begin) blocks.push_back(output.substr(begin, end - begin));
    begin = end + 2;
  }
  return blocks;
}

// What a failure of one `systemctl show` of several units is called.
std::string ShowLabel(const std::vector<std::string>& units) {
  std::string label = "systemctl show " + units.front();
  if (units.size() > 1) {
    label += " and " + std::to_string(units.size() - 1) + " more";
  }
  return label;
}

Result<std::vector<StatusReply>> ParseShow(
    const ChildResult& result, const std::vector<std::string>& units) {
  const std::string label = ShowLabel(units);
  if (!result.success()) {
    return Status::Error(label + ": " + DescribeChildFailure(result));
  }
  if (result.output_truncated) {
    return Status::Error(label + ": more output than expected");
  }
  std::vector<std::string_view> blocks = SplitBlocks(result.output);
  if (units.size() == 1 && blocks.empty()) blocks.push_back("");
  if (blocks.size() != units.size()) {
    return Status::Error(label + ": answered for " +
                         std::to_string(blocks.size()) + " of " +
                         std::to_string(units.size()) + " units");
  }
  std::vector<StatusReply> replies;
  replies.reserve(units.size());
  for (size_t i = 0; i < units.size(); ++i) {
    replies.push_back(ParseShowBlock(blocks[i], units[i]));
  }
  return replies;
}

// systemctl runs one after another, each once the one before succeeded,
// all within one timeout; the first failure ends the call.
class ChainCall final : public SupervisorCall {
 public:
  ChainCall(EventLoop* loop, std::vector<std::vector<std::string>> steps,
            std::vector<std::string> labels, Duration timeout,
            Supervisor::Done done)
      : loop_(loop),
        steps_(std::move(steps)),
        labels_(std::move(labels)),
        timeout_(timeout),
        deadline_(loop->Now() + timeout),
        done_(std::move(done)) {}

  void Begin() { RunStep(); }

 private:
  void RunStep() {
    // The child's own timeout is what is left of the call's, and is at
    // least a tick: RunChildCall answers from the loop, never inside.
    const Duration left = std::max<Duration>(deadline_ - loop_->Now(),
                                             std::chrono::milliseconds(1));
    current_ =
        RunChildCall(loop_, steps_[step_], left,
                     [this](const ChildResult& result) { OnStep(result); });
  }

  void OnStep(const ChildResult& result) {
    if (!result.success()) {
      Finish(Status::Error(labels_[step_] + ": " +
                           (result.kind == ChildResult::kTimedOut
                                ? "timed out after " + FormatDuration(timeout_)
                                : DescribeChildFailure(result))));
      return;
    }
    if (++step_ == steps_.size()) {
      Finish(Status::Ok());
      return;
    }
    // Replaces the finished child, whose callback this is: ChildProcess
    // allows that (its callback is its last act).
    RunStep();
  }

  void Finish(Status status) {
    // A local: `done` may destroy this call.
    Supervisor::Done done = std::move(done_);
    done(std::move(status));
  }

  EventLoop* loop_;
  const std::vector<std::vector<std::string>> steps_;
  const std::vector<std::string> labels_;
  const Duration timeout_;
  const TimePoint deadline_;
  Supervisor::Done done_;
  size_t step_ = 0;
  std::unique_ptr<SupervisorCall> current_;
};

class SystemdSupervisor final : public Supervisor {
 public:
  SystemdSupervisor(const SupervisorConfig& config, EventLoop* loop)
      : loop_(loop),
        systemctl_(config.systemctl),
        timeout_(config.timeout),
        batcher_(StatusBatcher::Create(
            loop,
            // The batcher may outlive this supervisor: copies, not `this`.
            [loop,
             argv = Argv({"show", "-p", "LoadState", "-p", "MainPID", "-p",
                          "ActiveState", "-p", "SubState", "-p", "Result"}),
             timeout = config.timeout](const std::vector<std::string>& units,
                                       StatusBatcher::FetchDone done) {
              std::vector<std::string> show = argv;
              show.insert(show.end(), units.begin(), units.end());
              SpawnOptions options;
              options.max_output += kShowBytesPerUnit * units.size();
              return RunChildCall(
                  loop, show, timeout,
                  [units, done = std::move(done)](const ChildResult& result) {
                    done(ParseShow(result, units));
                  },
                  options);
            },
            {})) {}

  std::unique_ptr<SupervisorCall> Restart(const ProgramRef& program,
                                          Done done) override {
    return Act("restart", program.program, std::move(done));
  }

  std::unique_ptr<SupervisorCall> Start(const ProgramRef& program,
                                        Done done) override {
    return Act("start", program.program, std::move(done));
  }

  // --no-block: systemd takes the start up at once, and how the unit
  // fares is for the looks after (a start that waited would fail with a
  // unit that fails again, and not count as taken up).
  std::unique_ptr<SupervisorCall> Recover(const ProgramRef& program,
                                          Done done) override {
    const std::string& unit = program.program;
    auto call = std::make_unique<ChainCall>(
        loop_,
        std::vector<std::vector<std::string>>{
            Argv({"reset-failed", unit}), Argv({"--no-block", "start", unit})},
        std::vector<std::string>{"systemctl reset-failed " + unit,
                                 "systemctl start " + unit},
        timeout_, std::move(done));
    call->Begin();
    return call;
  }

  std::unique_ptr<SupervisorCall> GetStatusReply(
      const ProgramRef& program, StatusReplyDone done) override {
    return batcher_->Add(program.program, std::move(done));
  }

  bool reports_pid() const override { return true; }

 private:
  std::vector<std::string> Argv(std::vector<std::string> args) const {
    std::vector<std::string> argv = systemctl_;
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  std::unique_ptr<SupervisorCall> Act(const std::string& verb,
                                      const std::string& unit, Done done) {
    std::string label = "systemctl " + verb + " " + unit;
    return RunChildCall(
        loop_, Argv({verb, unit}), timeout_,
        [done = std::move(done), label](const ChildResult& result) {
          done(result.success() ? Status::Ok()
                                : Status::Error(label + ": " +
                                                DescribeChildFailure(result)));
        });
  }

  EventLoop* loop_;
  std::vector<std::string> systemctl_;
  Duration timeout_;
  const std::shared_ptr<StatusBatcher> batcher_;
};

}  // namespace

Result<std::unique_ptr<Supervisor>> MakeSystemdSupervisor(
    const SupervisorConfig& config, EventLoop* loop) {
  if (config.systemctl.empty() || config.systemctl[0].empty()) {
    return Status::Error("type systemd needs a systemctl command");
  }
  return std::unique_ptr<Supervisor>(new SystemdSupervisor(config, loop));
}

}  // namespace watchd
