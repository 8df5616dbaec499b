#include "actions/systemd_supervisor.h"

#include <charconv>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "actions/command_supervisor.h"
#include "os/child_process.h"

namespace watchd {
namespace {

// `systemctl show -p MainPID -p ActiveState` prints "Key=value" lines.
Result<ProgramStatus> ParseShow(const std::string& output) {
  std::optional<pid_t> pid;
  ProgramStatus status;
  std::string_view rest = output;
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
        return Status::Error("bad MainPID '" + std::string(value) + "'");
      }
      pid = parsed;
    } else if (line.starts_with("ActiveState=")) {
      status.state = std::string(line.substr(12));
    }
  }
  if (!pid) return Status::Error("no MainPID in its output");
  status.pid = *pid;
  return status;
}

class SystemdSupervisor final : public Supervisor {
 public:
  SystemdSupervisor(const SupervisorConfig& config, EventLoop* loop)
      : loop_(loop), systemctl_(config.systemctl), timeout_(config.timeout) {}

  std::unique_ptr<SupervisorCall> Restart(const ProgramRef& program,
                                          Done done) override {
    return Act("restart", program.program, std::move(done));
  }

  std::unique_ptr<SupervisorCall> Start(const ProgramRef& program,
                                        Done done) override {
    return Act("start", program.program, std::move(done));
  }

  std::unique_ptr<SupervisorCall> GetStatus(const ProgramRef& program,
                                            StatusDone done) override {
    std::string label = "systemctl show " + program.program;
    return RunChildCall(
        loop_,
        Argv({"show", "-p", "MainPID", "-p", "ActiveState", program.program}),
        timeout_, [done = std::move(done), label](const ChildResult& result) {
          if (!result.success()) {
            done(Status::Error(label + ": " + DescribeChildFailure(result)));
            return;
          }
          Result<ProgramStatus> status = ParseShow(result.output);
          if (!status.ok()) {
            done(Status::Error(label + ": " + status.status().message()));
            return;
          }
          done(std::move(status));
        });
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
